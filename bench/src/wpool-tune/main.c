/*
 * main.c — build/wpool-tune (run it as bench/tune): which pool size?
 *
 * main only wires the steps: options (opts.c), placement, the sweep
 * (sweep.c), the fit and the choice (decide.c), the table and the file
 * (output.c). Exit: 0 ok; 1 a size failed, no size met the SLO or the file
 * could not be written; 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charts.h"
#include "cmdline.h"
#include "interrupt.h"
#include "tune.h"

/* Sweeps, decides, prints, saves; the exit code. */
static int run(const tune_opts_t *o) {
  tune_point_t *pts = calloc((size_t)o->max_size, sizeof *pts);
  if (!pts) {
    fprintf(stderr, "tune: out of memory\n");
    return WB_EXIT_RUNTIME;
  }
  int failed = tune_sweep(o, pts);
  tune_verdict_t v;
  tune_decide(o, pts, o->max_size, &v);
  tune_print(stdout, o, pts, o->max_size, &v);
  int rc = failed || !v.pick ? WB_EXIT_RUNTIME : WB_EXIT_OK;
  json_t *doc = tune_document(o, pts, o->max_size, &v);
  char path[4096] = "";
  if (!doc || tune_write(doc, o->out, path, sizeof path) != 0) {
    fprintf(stderr, "tune: cannot write %s: %s\n", path, doc ? strerror(errno) : "out of memory");
    rc = WB_EXIT_RUNTIME;
  } else {
    printf("saved %s\n", path);
    if (o->charts) wb_charts_draw("tune", path, !o->out);
  }
  json_decref(doc);
  free(pts);
  return rc;
}

int main(int argc, char **argv) {
  /* A worker that dies mid-write must not kill the benchmark. */
  signal(SIGPIPE, SIG_IGN);
  wb_interrupt_name("tune");
  tune_opts_t o;
  int rc = tune_opts_parse(argc, argv, &o);
  if (rc != 0) {
    tune_opts_free(&o);
    return rc > 0 ? WB_EXIT_OK : WB_EXIT_USAGE;
  }
  if (o.cpus.n && wb_cpus_pin(&o.cpus) != 0) {
    fprintf(stderr, "tune: --cpus: cannot pin to those CPUs: %s\n", strerror(errno));
    tune_opts_free(&o);
    return WB_EXIT_USAGE;
  }
  rc = run(&o);
  tune_opts_free(&o);
  return rc;
}
