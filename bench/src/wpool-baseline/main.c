/*
 * main.c — build/wpool-baseline (run it as bench/baseline): the benchmark
 * suite a user runs before and after a change, for bench/compare.
 *
 * main only wires the steps: options (opts.c), placement (--cpus, before
 * the document records the host's affinity), the scenarios of the registry
 * in order (registry.c), floor ratios (metrics.c), the file (output.c), the
 * summary (summary.c). Exit: 0 ok; 1 a point failed or the file could not
 * be written; 2 usage.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "baseline.h"
#include "cmdline.h"
#include "interrupt.h"
#include "output.h"
#include "ping.h"
#include "build.h"
#include "results.h"
#include "summary.h"

static void run_scenarios(wb_ctx_t *c) {
  for (size_t i = 0; i < bl_nscenarios; i++) {
    if (!(c->opt->only & (1u << i))) continue;
    c->scenario = bl_scenarios[i]->name;
    wb_interrupt_doing("the %s scenario (no results saved)", c->scenario);
    bl_scenarios[i]->run(c);
  }
  c->scenario = NULL;
}

/* Runs the suite into doc; the number of failed points. */
static int run_suite(const bl_opts_t *o, json_t *doc, double *elapsed_s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  cpu_set_t set;
  bool one_cpu = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1;
  wb_ctx_t c = {.opt = o, .doc = doc, .loop = &loop, .t_start = wp_now_ns(),
                .one_cpu = one_cpu};
  run_scenarios(&c);
  bl_ping_free(&c);
  bl_floors_resolve(doc);
  *elapsed_s = (double)(wp_now_ns() - c.t_start) / 1e9;
  json_object_set_new(doc, "elapsed_s", json_real(*elapsed_s));
  bl_status_end();
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "baseline: internal: handles left open on the loop\n");
    c.failures++;
  }
  return c.failures;
}

int main(int argc, char **argv) {
  /* A worker that dies mid-write must not kill the benchmark. */
  signal(SIGPIPE, SIG_IGN);
  wb_interrupt_name("baseline");
  bl_opts_t o;
  int rc = bl_opts_parse(argc, argv, &o);
  if (rc != 0) {
    bl_opts_free(&o);
    return rc > 0 ? WB_EXIT_OK : WB_EXIT_USAGE;
  }
  /* Workers inherit the supervisor's affinity at spawn. */
  if (o.cpus.n && wb_cpus_pin(&o.cpus) != 0) {
    fprintf(stderr, "baseline: --cpus: cannot pin to those CPUs: %s\n", strerror(errno));
    bl_opts_free(&o);
    return WB_EXIT_USAGE;
  }
  json_t *doc = wb_results_new("wpool-baseline", bl_opts_config(&o), wb_build_facts());
  if (!doc) {
    fprintf(stderr, "baseline: out of memory\n");
    bl_opts_free(&o);
    return WB_EXIT_RUNTIME;
  }
  bl_costs_config(doc);
  double elapsed;
  int failures = run_suite(&o, doc, &elapsed);
  char path[4096];
  rc = failures ? WB_EXIT_RUNTIME : WB_EXIT_OK;
  if (bl_output_write(doc, o.out, path, sizeof path) != 0) {
    fprintf(stderr, "baseline: cannot write %s: %s\n", path, strerror(errno));
    rc = WB_EXIT_RUNTIME;
  } else {
    bl_summary_print(stdout, &o, doc, path, elapsed);
    if (o.charts) wb_charts_draw("baseline", path, !o.out);
  }
  if (failures)
    fprintf(stderr, "baseline: %d point(s) failed (see above; recorded in the file's failures)\n", failures);
  json_decref(doc);
  bl_opts_free(&o);
  return rc;
}
