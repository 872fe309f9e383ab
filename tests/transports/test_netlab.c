/*
 * test_netlab.c — attached workers over a real network: three network
 * namespaces joined to this one by veth pairs (scripts/netlab.sh), a
 * standalone gRPC worker in each. A pool over them answers 10,000 calls;
 * one worker's link set down mid-run loses nothing (every call answered,
 * or failed with WP_ETRANSPORT, exactly once; idempotent ones retried), the
 * pool goes on with two, and takes the third back once the link is up.
 *
 * The suite re-runs itself under `netlab.sh run` (NETLAB_ADDRS unset), so
 * the lab is removed on any exit, a crash included. Where namespaces
 * cannot be made (not root, no CAP_NET_ADMIN) every test is skipped, and
 * the reason said.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "poolfx.h"

#define NW 3

static const char *g_skip;      /* why the lab could not be made, or NULL */
static char *g_targets[NW];
static int g_lab;

static void lab_parse(void) {
  const char *a = getenv("NETLAB_ADDRS"), *id = getenv("NETLAB_ID");
  g_lab = id ? atoi(id) : 0;
  char *copy = strdup(a), *save = NULL;
  int n = 0;
  for (char *t = strtok_r(copy, ",", &save); t && n < NW; t = strtok_r(NULL, ",", &save))
    g_targets[n++] = strdup(t);
  free(copy);
  if (n != NW || g_lab <= 0) g_skip = "NETLAB_ADDRS/NETLAB_ID malformed";
}

static void fx_lab(fx_t *f) {
  fx_init(f, 1);
  f->o.connect = (const char *const *)g_targets;
  f->o.nconnect = NW;
  f->o.max_inflight = 10;
  f->o.restart_cap_ns = 500 * MS;
}

static void link_set(int worker, const char *how) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "scripts/netlab.sh link %d %d %s", g_lab, worker, how);
  assert_int_equal(system(cmd), 0);
}

static void answers_10k(void **state) {
  (void)state;
  if (g_skip) skip();
  fx_t f;
  fx_lab(&f);
  assert_int_equal(fx_start(&f), 0);
  assert_int_equal(wp_pool_ready_count(f.pool), NW);
  fx_load_t l;
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "net", .payload_len = 3};
  fx_run_load(&f, &l, 10000, 30, &req, 60);
  assert_int_equal(l.ok, 10000);
  fx_finish(&f);
}

static void link2_down(void *arg) {
  (void)arg;
  link_set(2, "down");
}

/* Ready count, waited for (bounded). */
static bool wait_ready(fx_t *f, int n, double seconds) {
  uint64_t end = wp_now_ns() + (uint64_t)(seconds * 1e9);
  while (wp_pool_ready_count(f->pool) != n && wp_now_ns() < end) tu_run_for(&f->loop, 0.005);
  return wp_pool_ready_count(f->pool) == n;
}

/* One phase of the link-down test: total calls, the link goes down after
 * a third of them; every call is answered or failed WP_ETRANSPORT exactly
 * once (idempotent: none fails), the pool goes on with two. Then the link
 * comes back and the third worker serves again: how long that took. */
static void link_down_phase(fx_t *f, int idempotent) {
  fx_load_t l;
  wp_request_t req = {.kind = WP_REQ_WORK, .sleep_us = 100, .idempotent = idempotent};
  fx_run_load_at(f, &l, 10000, 30, &req, 60, 3000, link2_down, NULL);
  assert_int_equal(l.ok + l.failed, 10000);
  if (idempotent) assert_int_equal(l.failed, 0);
  else assert_true(l.failed == 0 || l.first_err == WP_ETRANSPORT);
  assert_int_equal(l.other_err, 0);
  fprintf(stderr, "# link down mid-run (%s): %d answered, %d failed %s\n",
          idempotent ? "idempotent" : "plain", l.ok, l.failed,
          l.failed ? wp_errname(l.first_err) : "");
  /* The pool goes on with two: keepalive finds the dead link in ~2 s even
   * if no call was on it. */
  assert_true(wait_ready(f, NW - 1, 10));
  assert_false(wp_pool_slot_ready(f->pool, 2));
  fx_run_load(f, &l, 2000, 30, &req, 30);
  assert_int_equal(l.ok, 2000);
  uint64_t up = wp_now_ns();
  link_set(2, "up");
  assert_true(wait_ready(f, NW, 15));
  fprintf(stderr, "# link up -> worker 2 serving again: %.0f ms (%s calls)\n",
          (double)(wp_now_ns() - up) / 1e6, idempotent ? "idempotent" : "plain");
}

static void link_down_and_back(void **state) {
  (void)state;
  if (g_skip) skip();
  fx_t f;
  fx_lab(&f);
  assert_int_equal(fx_start(&f), 0);
  link_down_phase(&f, 1);
  link_down_phase(&f, 0);
  fx_finish(&f);
}

/* Why namespaces cannot be made here, or NULL: root, and a probe. */
static const char *lab_impossible(void) {
  if (geteuid() != 0) return "not root: ip netns needs CAP_SYS_ADMIN/CAP_NET_ADMIN";
  char probe[64], cmd[200];
  snprintf(probe, sizeof probe, "wpool-probe-%d", (int)getpid());
  snprintf(cmd, sizeof cmd, "ip netns add %s >/dev/null 2>&1 && ip netns del %s", probe, probe);
  if (system(cmd) != 0) return "cannot create a network namespace (ip netns add failed)";
  return NULL;
}

int main(int argc, char **argv) {
  (void)argc;
  signal(SIGPIPE, SIG_IGN);
  if (!getenv("NETLAB_ADDRS")) {
    g_skip = lab_impossible();
    if (!g_skip) { /* the lab's lifetime is netlab.sh run's: gone on any exit */
      char worker[4200];
      snprintf(worker, sizeof worker, "%s", tu_path("wpool-worker-grpc"));
      execl("scripts/netlab.sh", "netlab.sh", "run", "-k", "3", "--port", "50051", "--worker",
            worker, "--", argv[0], (char *)NULL);
      g_skip = "cannot run scripts/netlab.sh";
    }
    fprintf(stderr, "# test_netlab: skipped: %s\n", g_skip);
  } else {
    lab_parse();
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(answers_10k),
      cmocka_unit_test(link_down_and_back),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  for (int i = 0; i < NW; i++) free(g_targets[i]);
  return rc;
}
