/*
 * main.c — build/wpool-report (run it as bench/report):
 *
 *   bench/report FILE.json [--out DIR] [--html]
 *
 * Reads a results file (schema wpool.bench/1, from bench/baseline,
 * bench/tune, ...) or the JSON of bench/trend, bench/compare or bench/ab,
 * writes DIR/charts.gp and its data files, runs gnuplot to draw every
 * chart as PNG and SVG, and writes DIR/report.md embedding them with
 * their tables; with --html also DIR/report.html, the same as one
 * self-contained page (html.c). DIR defaults to charts/<FILE's name>
 * beside the file. Exit: 0 ok, 1 gnuplot failed or a file could not be
 * written, 2 bad input or usage.
 */
#include <errno.h>
#include <stdbool.h>
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
  fprintf(f, "usage: bench/report FILE.json [--out DIR] [--html]\n"
             "Draws the charts of a results file (PNG and SVG, with gnuplot) and a\n"
             "markdown report embedding them: DIR/report.md. FILE may also be the\n"
             "--json output of bench/trend, bench/compare or bench/ab. --html: also\n"
             "DIR/report.html, one self-contained page (charts inline as SVG).\n"
             "DIR defaults to charts/<name of FILE> beside FILE.\n");
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

static int draw_results(rp_ctx_t *c) {
  int (*const charts[])(rp_ctx_t *) = {rp_chart_tune, rp_chart_startup, rp_chart_throughput,
                                        rp_chart_latency, rp_chart_openloop, rp_chart_payload,
                                        rp_chart_peers, rp_chart_load, rp_table_counts,
                                        rp_table_floors};
  rp_markdown_head(c, c->path);
  for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++)
    if (charts[i](c) != 0) return -1;
  if (c->charts == 0) fprintf(c->md, "\nNo chartable metrics in this file.\n");
  return 0;
}

/* What the file is, by its schema: how to draw it. NULL (and a reason)
 * for anything else. */
static int (*kind_of(const json_t *doc, char *why, size_t whylen))(rp_ctx_t *) {
  const char *schema = json_string_value(json_object_get(doc, "schema"));
  if (schema && !strcmp(schema, "wpool.trend/1")) return rp_report_trend;
  if (schema && !strcmp(schema, "wpool.compare/1")) return rp_report_compare;
  if (schema && !strcmp(schema, "wpool.ab/1")) return rp_report_ab;
  if (schema && strcmp(schema, WB_SCHEMA) != 0) {
    snprintf(why, whylen, "schema \"%s\": bench/report reads %s, wpool.trend/1, "
             "wpool.compare/1 and wpool.ab/1", schema, WB_SCHEMA);
    return NULL;
  }
  return wb_results_validate(doc, why, whylen) == 0 ? draw_results : NULL;
}

static FILE *open_in(const char *dir, const char *name) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return fopen(path, "w");
}

/* Writes the script and the markdown, then draws; the exit code. */
static int report(const json_t *doc, int (*draw)(rp_ctx_t *), const char *result,
                  const char *dir, bool html) {
  char data[4200];
  snprintf(data, sizeof data, "%s/data", dir);
  if (mkdirs(data) != 0) {
    fprintf(stderr, "report: cannot create %s: %s\n", data, strerror(errno));
    return WB_EXIT_RUNTIME;
  }
  rp_ctx_t c = {.doc = doc, .dir = dir, .path = result, .gp = open_in(dir, "charts.gp"),
                .md = open_in(dir, "report.md")};
  int rc = c.gp && c.md ? WB_EXIT_OK : WB_EXIT_RUNTIME;
  if (rc == WB_EXIT_OK) {
    fprintf(c.gp, "# Written by bench/report from %s; run from this directory: gnuplot charts.gp\n", result);
    if (draw(&c) != 0) rc = WB_EXIT_RUNTIME;
  }
  if ((c.gp && fclose(c.gp) != 0) || (c.md && fclose(c.md) != 0) || rc != WB_EXIT_OK) {
    fprintf(stderr, "report: cannot write into %s\n", dir);
    return WB_EXIT_RUNTIME;
  }
  if (c.charts > 0 && run_gnuplot(dir) != 0) {
    fprintf(stderr, "report: gnuplot failed on %s/charts.gp (is gnuplot-nox installed?)\n", dir);
    return WB_EXIT_RUNTIME;
  }
  char page[4400];
  const char *tool = json_string_value(json_object_get(doc, "tool"));
  if (html && rp_html_write(dir, tool ? tool : "wpool report", page, sizeof page) != 0)
    return WB_EXIT_RUNTIME;
  printf("report: %d chart(s), PNG and SVG, and %s/report.md%s%s\n", c.charts, dir,
         html ? " and " : "", html ? page : "");
  return WB_EXIT_OK;
}

int main(int argc, char **argv) {
  const char *result = NULL, *out = NULL;
  bool html = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout, WB_EXIT_OK);
    if (!strcmp(argv[i], "--html")) html = true;
    else
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strncmp(argv[i], "--out=", 6)) out = argv[i] + 6;
    else if (argv[i][0] != '-' && !result) result = argv[i];
    else return usage(stderr, WB_EXIT_USAGE);
  }
  if (!result) return usage(stderr, WB_EXIT_USAGE);
  json_error_t err;
  json_t *doc = json_load_file(result, 0, &err);
  char why[512] = "", dir[4096];
  int (*draw)(rp_ctx_t *) = doc ? kind_of(doc, why, sizeof why) : NULL;
  if (!draw) {
    if (!doc && err.line < 0) snprintf(why, sizeof why, "unreadable (%s)", err.text);
    else if (!doc) snprintf(why, sizeof why, "not JSON (line %d: %s)", err.line, err.text);
    fprintf(stderr, "report: %s: %s\n", result, why);
    json_decref(doc);
    return WB_EXIT_USAGE;
  }
  if (out) snprintf(dir, sizeof dir, "%s", out);
  else default_dir(result, dir, sizeof dir);
  int rc = report(doc, draw, result, dir, html);
  json_decref(doc);
  return rc;
}
