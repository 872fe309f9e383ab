/*
 * main.c — build/wpool-report (run it as bench/report):
 *
 *   bench/report RESULT.json [--out DIR]
 *
 * Reads a results file (schema wpool.bench/1, from bench/baseline or
 * bench/tune), writes DIR/charts.gp and its data files, runs gnuplot to
 * draw every chart as PNG and SVG, and writes DIR/report.md embedding
 * them with their tables. DIR defaults to charts/<RESULT's name> beside
 * the results file. Exit: 0 ok, 1 gnuplot failed or a file could not be
 * written, 2 bad input or usage.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmdline.h"
#include "report.h"
#include "results.h"

static int usage(FILE *f, int rc) {
  fprintf(f, "usage: bench/report RESULT.json [--out DIR]\n"
             "Draws the charts of a results file (PNG and SVG, with gnuplot) and a\n"
             "markdown report embedding them: DIR/report.md. DIR defaults to\n"
             "charts/<name of RESULT> beside RESULT.\n");
  return rc;
}

/* mkdir -p. 0 or -1. */
static int mkdirs(const char *path) {
  char buf[4200];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static void default_dir(const char *result, char *out, size_t cap) {
  char a[4096], b[4096];
  snprintf(a, sizeof a, "%s", result);
  snprintf(b, sizeof b, "%s", result);
  char *base = basename(b), *dot = strrchr(base, '.');
  if (dot && !strcmp(dot, ".json")) *dot = '\0';
  snprintf(out, cap, "%s/charts/%s", dirname(a), base);
}

/* Runs gnuplot on DIR/charts.gp from DIR (the script's paths are
 * relative). 0, or -1 when it could not run or failed. */
static int run_gnuplot(const char *dir) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (chdir(dir) != 0) _exit(127);
    execlp("gnuplot", "gnuplot", "charts.gp", (char *)NULL);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int draw_all(rp_ctx_t *c) {
  int (*const charts[])(rp_ctx_t *) = {rp_chart_tune, rp_chart_startup, rp_chart_throughput,
                                        rp_chart_latency, rp_chart_openloop, rp_chart_payload,
                                        rp_chart_peers, rp_chart_load, rp_table_counts};
  for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++)
    if (charts[i](c) != 0) return -1;
  return 0;
}

static FILE *open_in(const char *dir, const char *name) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return fopen(path, "w");
}

/* Writes the script and the markdown, then draws; the exit code. */
static int report(const json_t *doc, const char *result, const char *dir) {
  char data[4200];
  snprintf(data, sizeof data, "%s/data", dir);
  if (mkdirs(data) != 0) {
    fprintf(stderr, "report: cannot create %s: %s\n", data, strerror(errno));
    return WB_EXIT_RUNTIME;
  }
  rp_ctx_t c = {.doc = doc, .dir = dir, .gp = open_in(dir, "charts.gp"),
                .md = open_in(dir, "report.md")};
  int rc = c.gp && c.md ? WB_EXIT_OK : WB_EXIT_RUNTIME;
  if (rc == WB_EXIT_OK) {
    fprintf(c.gp, "# Written by bench/report from %s; run from this directory: gnuplot charts.gp\n", result);
    rp_markdown_head(&c, result);
    if (draw_all(&c) != 0) rc = WB_EXIT_RUNTIME;
    if (c.charts == 0) fprintf(c.md, "\nNo chartable metrics in this file.\n");
  }
  if ((c.gp && fclose(c.gp) != 0) || (c.md && fclose(c.md) != 0) || rc != WB_EXIT_OK) {
    fprintf(stderr, "report: cannot write into %s\n", dir);
    return WB_EXIT_RUNTIME;
  }
  if (c.charts > 0 && run_gnuplot(dir) != 0) {
    fprintf(stderr, "report: gnuplot failed on %s/charts.gp (is gnuplot-nox installed?)\n", dir);
    return WB_EXIT_RUNTIME;
  }
  printf("report: %d chart(s), PNG and SVG, and %s/report.md\n", c.charts, dir);
  return WB_EXIT_OK;
}

int main(int argc, char **argv) {
  const char *result = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout, WB_EXIT_OK);
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strncmp(argv[i], "--out=", 6)) out = argv[i] + 6;
    else if (argv[i][0] != '-' && !result) result = argv[i];
    else return usage(stderr, WB_EXIT_USAGE);
  }
  if (!result) return usage(stderr, WB_EXIT_USAGE);
  json_t *doc;
  char why[512], dir[4096];
  if (wb_results_load(result, &doc, why, sizeof why) != 0) {
    fprintf(stderr, "report: %s: %s\n", result, why);
    return WB_EXIT_USAGE;
  }
  if (out) snprintf(dir, sizeof dir, "%s", out);
  else default_dir(result, dir, sizeof dir);
  int rc = report(doc, result, dir);
  json_decref(doc);
  return rc;
}
