/*
 * test_report.c — bench/report's program (build/wpool-report) draws every
 * chart family from a small crafted results file: each PNG starts with the
 * PNG signature, each SVG holds an <svg> element, report.md embeds them and
 * its tables print values with units to 3 significant digits (units.h),
 * never in exponent form; bad input exits 2 with nothing drawn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "build.h"
#include "results.h"
#include "series.h"
#include "testutil.h"
#include "units.h"

static char g_dir[256];

static void add(json_t *doc, const char *id, const char *unit, const char *better,
                json_t *params, double base) {
  double runs[3] = {base * 0.97, base, base * 1.04};
  assert_non_null(wb_metric_add(doc, id, unit, better, params, runs, 3));
}

static void add_startup(json_t *doc) {
  static const int ns[] = {1, 4, 16};
  char id[128];
  for (int i = 0; i < 3; i++) {
    int n = ns[i];
    snprintf(id, sizeof id, "startup.all_ready/pipe/concurrent/n=%d", n);
    add(doc, id, "ms", "lower", json_pack("{s:s,s:s,s:i}", "transport", "pipe", "mode", "concurrent", "n", n), 1 + 0.5 * n);
    snprintf(id, sizeof id, "startup.all_ready/pipe/sequential/n=%d", n);
    add(doc, id, "ms", "lower", json_pack("{s:s,s:s,s:i}", "transport", "pipe", "mode", "sequential", "n", n), 1.0 * n);
    snprintf(id, sizeof id, "floor.spawn/concurrent/n=%d", n);
    add(doc, id, "ms", "lower", json_pack("{s:s,s:i}", "mode", "concurrent", "n", n), 0.5 + 0.4 * n);
  }
}

static void add_ping(json_t *doc) {
  static const int cs[] = {1, 10, 100};
  char id[128];
  for (int n = 1; n <= 4; n *= 4)
    for (int i = 0; i < 3; i++) {
      int c = cs[i];
      snprintf(id, sizeof id, "ping.rps/pipe/checkout/n=%d/c=%d", n, c);
      add(doc, id, "req/s", "higher", json_pack("{s:s,s:s,s:i,s:i}", "transport", "pipe", "mode", "checkout", "n", n, "c", c), 10000.0 * n * (c > n ? n : c));
      snprintf(id, sizeof id, "ping.p99/pipe/checkout/n=%d/c=%d", n, c);
      add(doc, id, "us", "lower", json_pack("{s:s,s:s,s:i,s:i,s:f}", "transport", "pipe", "mode", "checkout", "n", n, "c", c, "percentile", 99.0), 50.0 * c);
    }
  add(doc, "floor.rps/pipe/c=10", "req/s", "higher", json_pack("{s:s,s:i}", "transport", "pipe", "c", 10), 90000);
}

static void add_open_payload(json_t *doc) {
  static const double pcts[] = {50, 90, 99, 99.9};
  static const char *names[] = {"p50", "p90", "p99", "p99_9"};
  char id[128];
  for (int k = 0; k < 4; k++) {
    snprintf(id, sizeof id, "openloop.%s/pipe/load=50", names[k]);
    add(doc, id, "us", "lower", json_pack("{s:s,s:i,s:i,s:f,s:f}", "transport", "pipe", "n", 2, "load_pct", 50, "rate", 5000.0, "percentile", pcts[k]), 30.0 * (k + 1));
  }
  for (int b = 64; b <= 1 << 20; b *= 16) {
    snprintf(id, sizeof id, "payload.mbps/grpc/bytes=%d", b);
    add(doc, id, "MB/s", "higher", json_pack("{s:s,s:i}", "transport", "grpc", "bytes", b), b / 100.0);
    snprintf(id, sizeof id, "payload.p99/grpc/bytes=%d", b);
    add(doc, id, "us", "lower", json_pack("{s:s,s:i,s:f}", "transport", "grpc", "bytes", b, "percentile", 99.0), 100 + b / 1000.0);
  }
}

static void add_tune(json_t *doc) {
  char id[64];
  for (int n = 1; n <= 6; n++) {
    double x = 1000.0 * n / (1 + 0.1 * (n - 1) + 0.02 * n * (n - 1));
    snprintf(id, sizeof id, "tune.rps/pipe/n=%d", n);
    add(doc, id, "req/s", "higher", json_pack("{s:s,s:i,s:i}", "transport", "pipe", "n", n, "c", 2 * n), x);
    snprintf(id, sizeof id, "tune.p50/pipe/n=%d", n);
    add(doc, id, "ms", "lower", json_pack("{s:s,s:i,s:i}", "transport", "pipe", "n", n, "c", 2 * n), 1.0 * n);
    snprintf(id, sizeof id, "tune.p99/pipe/n=%d", n);
    add(doc, id, "ms", "lower", json_pack("{s:s,s:i,s:i}", "transport", "pipe", "n", n, "c", 2 * n), 2.0 * n);
  }
  json_object_set_new(doc, "usl", json_pack("{s:f,s:f,s:f,s:f,s:f}", "lambda", 1000.0, "sigma", 0.1, "kappa", 0.02, "r2", 1.0, "n_star", 6.7));
  json_object_set_new(doc, "recommendation", json_pack("{s:i,s:f,s:f,s:f,s:i,s:s}", "size", 4, "rps", 2900.0, "p99_ms", 8.0, "best_rps", 3000.0, "best_n", 5, "reason", "test"));
}

/* A wpool load file's run: a spike's series, built by series.c. */
static void add_load(json_t *doc) {
  wb_series_t s;
  assert_int_equal(wb_series_init(&s, 0, 100000000), 0);
  for (uint64_t t = 0; t < 3000000000ull; t += 1000000) {
    wb_series_offer(&s, t);
    wb_series_answer(&s, t + 500000, 0, t > 1000000000 && t < 2000000000 ? 50000000 : 300000);
  }
  wb_series_finish(&s);
  json_object_set_new(doc, "config", json_pack("{s:s,s:i}", "transport", "pipe", "n", 2));
  json_object_set_new(doc, "load", json_pack("{s:s,s:{s:f},s:o}", "profile", "spike", "figures",
                                             "recovery", 1200.0, "series", wb_series_json(&s)));
  wb_series_free(&s);
}

/* Runs build/wpool-report with args; its exit status. */
static int run_report(const char *a1, const char *a2, const char *a3) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tu_path("wpool-report"));
    freopen("/dev/null", "w", stdout);
    execl(prog, prog, a1, a2, a3, (char *)NULL);
    _exit(127);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first bytes of DIR/name, and its size. */
static long head_of(const char *name, char *buf, size_t cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/out/%s", g_dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("%s was not written", path);
  memset(buf, 0, cap);
  size_t got = fread(buf, 1, cap - 1, f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  assert_true(got > 0);
  return size;
}

static void check_chart(const char *stem) {
  char name[128], buf[512];
  snprintf(name, sizeof name, "%s.png", stem);
  assert_true(head_of(name, buf, sizeof buf) > 1000);
  assert_memory_equal(buf, "\x89PNG\r\n\x1a\n", 8);
  snprintf(name, sizeof name, "%s.svg", stem);
  assert_true(head_of(name, buf, sizeof buf) > 1000);
  assert_non_null(strstr(buf, "<svg"));
}

/* Writes doc as g_dir/NAME (and frees it), reports it into g_dir/out. */
static void report_doc(json_t *doc, const char *name) {
  char path[512], out[512];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  snprintf(out, sizeof out, "%s/out", g_dir);
  assert_int_equal(wb_results_write(doc, path), 0);
  json_decref(doc);
  assert_int_equal(run_report(path, "--out", out), 0);
}

static void draws_every_family(void **state) {
  (void)state;
  json_t *doc = wb_results_new("test", NULL, wb_build_facts());
  add_startup(doc);
  add_ping(doc);
  add_open_payload(doc);
  add_tune(doc);
  add_load(doc);
  report_doc(doc, "result.json");
  static const char *charts[] = {"startup", "throughput_pipe", "latency_pipe", "openloop",
                                 "payload_mbps", "payload_latency", "tune", "tune_latency",
                                 "load_1"};
  for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) check_chart(charts[i]);
  static char md[65536];
  head_of("report.md", md, sizeof md);
  assert_non_null(strstr(md, "![Throughput vs pool size"));
  assert_non_null(strstr(md, "(startup.png)"));
  assert_non_null(strstr(md, "**4 workers**"));
  assert_non_null(strstr(md, "| recovery | 1200 |"));
  /* Tables: units and 3 digits. ping.rps n=4 c=10: 160,000 req/s; the
   * bare floor 90,000; start-up n=16: 9 ms; P99 at C=100: 5,000 us. */
  assert_non_null(strstr(md, "| 160k req/s |"));
  assert_non_null(strstr(md, "| 90.0k req/s |"));
  assert_non_null(strstr(md, "| 9.00 ms |"));
  assert_non_null(strstr(md, "| 5.00 ms |"));
  assert_null(strstr(md, "e+0"));
  assert_null(strstr(md, "e-0"));
}

static void values_read_with_units(void **state) {
  (void)state;
  static const struct {
    double v;
    const char *unit, *want;
  } cases[] = {
      {249600, "req/s", "250k req/s"}, {5.3812, "ms", "5.38 ms"},
      {2496, "us", "2.50 ms"},         {999.7, "req/s", "1.00k req/s"},
      {0.5, "ms", "500 µs"},           {15.5e6, "req/s", "15.5M req/s"},
      {3683.4, "instr", "3.68k instr"}, {12.34, "MiB", "12.3 MiB"},
      {0, "us", "0 µs"},               {0.00123, "ms", "1.23 µs"},
      {1.5, "ratio", "×1.50"},         {42, "", "42.0"},
      {-3.5, "ms", "-3.50 ms"},        {1e300 * 1e300, "ms", "n/a"},
  };
  char b[64];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_string_equal(wb_fmt_human(cases[i].v, cases[i].unit, b, sizeof b), cases[i].want);
}

/* cost.* and instr.*: one table per family and kind, a row per point, a
 * column per metric name (each once), the medians with their units. */
static void counts_tables(void **state) {
  (void)state;
  json_t *doc = wb_results_new("test", NULL, wb_build_facts());
  static const char *pts[] = {"pipe/checkout/n=1/c=1", "pipe/pipelined/n=1/c=10"};
  char id[128];
  for (int i = 0; i < 2; i++) {
    snprintf(id, sizeof id, "cost.sup_cpu_us/%s", pts[i]);
    add(doc, id, "us", "lower", NULL, 2.47 / (i + 1));
    snprintf(id, sizeof id, "cost.sup_csw/%s", pts[i]);
    add(doc, id, "csw", "lower", NULL, 1.0 / (i + 1));
    snprintf(id, sizeof id, "instr.sup/%s", pts[i]);
    add(doc, id, "instr", "lower", NULL, 3867 - 800 * i);
  }
  add(doc, "cost.start_sup_cpu_us/pipe/concurrent/n=8", "us", "lower", NULL, 64.09);
  add(doc, "instr.start_wrk/pipe/n=16", "instr", "lower", NULL, 169643);
  char md[8192];
  report_doc(doc, "counts.json");
  head_of("report.md", md, sizeof md);
  assert_non_null(strstr(md, "| point | sup_cpu_us | sup_csw |\n"));
  assert_non_null(strstr(md, "| pipe/checkout/n=1/c=1 | 2.47 µs | 1.00 csw |"));
  assert_non_null(strstr(md, "| pipe/pipelined/n=1/c=10 | 1.24 µs | 0.500 csw |"));
  assert_non_null(strstr(md, "| point | start_sup_cpu_us |\n"));
  assert_non_null(strstr(md, "| pipe/concurrent/n=8 | 64.1 µs |"));
  assert_non_null(strstr(md, "| pipe/checkout/n=1/c=1 | 3.87k instr |"));
  assert_non_null(strstr(md, "| pipe/n=16 | 170k instr |"));
}

static void bad_input_exits_2(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/nope.json", g_dir);
  assert_int_equal(run_report(path, NULL, NULL), 2);
  assert_int_equal(run_report("--bogus", NULL, NULL), 2);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/wpool-test-report.XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(draws_every_family),
      cmocka_unit_test(values_read_with_units),
      cmocka_unit_test(counts_tables),
      cmocka_unit_test(bad_input_exits_2),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
