/*
 * runs.c — the history: every saved run of the results directory, grouped
 * by host class (CPU model, CPU count, architecture) and placement
 * (config.cpus), each group in commit order.
 *
 * Why groups: a figure from another machine or another placement is a
 * different series (a wake-up on the other vCPU costs more than a whole
 * request here); mixed into one, its change points would be the moves
 * between machines. Why commit time: the question is "which commit moved
 * it", and runs are often made out of order (a bisect, a re-run of an old
 * build); runs of one commit keep their run order. When git does not know
 * a commit (another clone, a deleted branch) the group falls back on run
 * time and says so.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "trend.h"

static const char *str(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

static void host_of(const json_t *doc, char *buf, size_t cap) {
  const json_t *h = json_object_get(doc, "host");
  const char *model = str(h, "cpu_model"), *arch = str(h, "arch");
  snprintf(buf, cap, "%s, %lld CPUs, %s", model ? model : "unknown CPU",
           (long long)json_integer_value(json_object_get(h, "cpus")), arch ? arch : "?");
}

static void placement_of(const json_t *doc, char *buf, size_t cap) {
  const json_t *cpus = json_object_get(json_object_get(doc, "config"), "cpus"), *c;
  size_t i, len;
  if (!json_is_array(cpus) || json_array_size(cpus) == 0) {
    snprintf(buf, cap, "unpinned");
    return;
  }
  len = (size_t)snprintf(buf, cap, "cpus ");
  json_array_foreach(cpus, i, c) {
    if (len >= cap) break;
    len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "",
                            (long long)json_integer_value(c));
  }
}

/* The commit's time from git in the working directory; -1 unknown. Only a
 * hex id goes to the shell. */
static long long commit_time(const char *commit) {
  char cmd[160], line[64];
  size_t len = commit ? strlen(commit) : 0;
  if (len < 7 || len > 64) return -1;
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)commit[i])) return -1;
  snprintf(cmd, sizeof cmd, "git show -s --format=%%ct %s 2>/dev/null", commit);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  long long t = -1;
  if (fgets(line, sizeof line, p)) t = strtoll(line, NULL, 10);
  if (pclose(p) != 0 || t <= 0) return -1;
  return t;
}

static tr_group_t *group_for(tr_history_t *h, const json_t *doc) {
  char host[320], place[128];
  host_of(doc, host, sizeof host);
  placement_of(doc, place, sizeof place);
  for (size_t i = 0; i < h->n; i++)
    if (!strcmp(h->g[i].host, host) && !strcmp(h->g[i].placement, place)) return &h->g[i];
  tr_group_t *g = realloc(h->g, (h->n + 1) * sizeof *g);
  if (!g) return NULL;
  h->g = g;
  g = &h->g[h->n++];
  memset(g, 0, sizeof *g);
  snprintf(g->host, sizeof g->host, "%s", host);
  snprintf(g->placement, sizeof g->placement, "%s", place);
  return g;
}

static int add_run(tr_history_t *h, const tr_opts_t *o, const char *path) {
  char why[512];
  json_t *doc;
  if (wb_results_load(path, &doc, why, sizeof why) != 0) {
    fprintf(stderr, "trend: warning: skipping %s: %s\n", path, why);
    h->skipped++;
    return 0;
  }
  const char *at = str(doc, "created_at");
  if (o->since && (!at || strcmp(at, o->since) < 0)) {
    json_decref(doc);
    return 0;
  }
  tr_group_t *g = group_for(h, doc);
  tr_run_t *runs = g ? realloc(g->runs, (g->n + 1) * sizeof *runs) : NULL;
  char *p = strdup(path);
  if (!runs || !p) {
    free(p);
    json_decref(doc);
    return -1;
  }
  g->runs = runs;
  const json_t *git = json_object_get(doc, "git");
  runs[g->n++] = (tr_run_t){p, doc, str(git, "commit"), at ? at : "",
                            json_is_true(json_object_get(git, "dirty")), -1};
  return 0;
}

static int by_commit_time(const void *pa, const void *pb) {
  const tr_run_t *a = pa, *b = pb;
  if (a->commit_time != b->commit_time) return a->commit_time < b->commit_time ? -1 : 1;
  int c = strcmp(a->created_at, b->created_at);
  return c ? c : strcmp(a->path, b->path);
}

static int by_run_time(const void *pa, const void *pb) {
  const tr_run_t *a = pa, *b = pb;
  int c = strcmp(a->created_at, b->created_at);
  return c ? c : strcmp(a->path, b->path);
}

/* Commit times once per distinct commit (runs of one commit are many). */
static void order(tr_group_t *g) {
  for (size_t i = 0; i < g->n; i++) {
    for (size_t j = 0; j < i && g->runs[i].commit_time < 0; j++)
      if (g->runs[j].commit && g->runs[i].commit && !strcmp(g->runs[j].commit, g->runs[i].commit))
        g->runs[i].commit_time = g->runs[j].commit_time;
    if (g->runs[i].commit_time < 0) g->runs[i].commit_time = commit_time(g->runs[i].commit);
    if (g->runs[i].commit_time < 0) g->unknown_commits++;
  }
  g->by_commit = g->unknown_commits == 0;
  qsort(g->runs, g->n, sizeof *g->runs, g->by_commit ? by_commit_time : by_run_time);
}

static bool is_candidate(const char *name) {
  size_t len = strlen(name);
  return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json") &&
         strcmp(name, "latest.json") != 0;
}

int tr_history_load(const tr_opts_t *o, tr_history_t *h, char *why, size_t whylen) {
  memset(h, 0, sizeof *h);
  DIR *d = opendir(o->dir);
  if (!d) {
    snprintf(why, whylen, "%s: results directory unreadable (%s)", o->dir, strerror(errno));
    return -1;
  }
  struct dirent *e;
  int rc = 0;
  char path[4096];
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (!is_candidate(e->d_name)) continue;
    snprintf(path, sizeof path, "%s/%s", o->dir, e->d_name);
    if (add_run(h, o, path) != 0) {
      snprintf(why, whylen, "out of memory");
      rc = -1;
    }
  }
  closedir(d);
  if (rc == 0 && h->n == 0)
    rc = -1, snprintf(why, whylen, "%s: no results files%s%s (run bench/baseline)", o->dir,
                      o->since ? " made since " : "", o->since ? o->since : "");
  for (size_t i = 0; rc == 0 && i < h->n; i++) order(&h->g[i]);
  if (rc != 0) tr_history_free(h);
  return rc;
}

void tr_history_free(tr_history_t *h) {
  for (size_t i = 0; i < h->n; i++) {
    for (size_t j = 0; j < h->g[i].n; j++) {
      free(h->g[i].runs[j].path);
      json_decref(h->g[i].runs[j].doc);
    }
    free(h->g[i].runs);
  }
  free(h->g);
  memset(h, 0, sizeof *h);
}
