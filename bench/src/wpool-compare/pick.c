/* pick.c — resolving BEFORE/AFTER to files; see pick.h. */
#include "pick.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

typedef struct {
  char *path;
  char *created_at;
} run_entry_t;

typedef struct {
  run_entry_t *v;
  size_t n;
} run_list_t;

static void run_list_free(run_list_t *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].path);
    free(l->v[i].created_at);
  }
  free(l->v);
}

/* Newest first; equal timestamps fall back to the file name, newest-looking
 * (largest) first, so the order never depends on readdir. */
static int newest_first(const void *pa, const void *pb) {
  const run_entry_t *a = pa, *b = pb;
  int c = strcmp(b->created_at, a->created_at);
  return c ? c : strcmp(b->path, a->path);
}

static int is_candidate(const char *name) {
  size_t len = strlen(name);
  return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".json") == 0 &&
         strcmp(name, "latest.json") != 0;
}

/* Loads one candidate just to learn when it was made. */
static int add_entry(run_list_t *l, const char *dir, const char *name) {
  char path[4096], why[512];
  json_t *doc;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (wb_results_load(path, &doc, why, sizeof why) != 0) {
    fprintf(stderr, "compare: warning: skipping %s: %s\n", path, why);
    return 0;
  }
  const char *at = json_string_value(json_object_get(doc, "created_at"));
  run_entry_t e = {strdup(path), strdup(at ? at : "")};
  run_entry_t *v = realloc(l->v, (l->n + 1) * sizeof *v);
  json_decref(doc);
  if (v)
    l->v = v;
  if (!v || !e.path || !e.created_at) {
    free(e.path);
    free(e.created_at);
    return -1;
  }
  v[l->n++] = e;
  return 0;
}

static int list_runs(const char *dir, run_list_t *l, char *why, size_t whylen) {
  DIR *d = opendir(dir);
  struct dirent *e;
  memset(l, 0, sizeof *l);
  if (!d) {
    snprintf(why, whylen, "%s: results directory unreadable (%s)", dir,
             strerror(errno));
    return -1;
  }
  while ((e = readdir(d)) != NULL)
    if (is_candidate(e->d_name) && add_entry(l, dir, e->d_name) != 0)
      break;
  closedir(d);
  qsort(l->v, l->n, sizeof *l->v, newest_first);
  return 0;
}

/* "latest" → 0, "previous" → 1, a path → -1. */
static int name_index(const char *arg) {
  if (strcmp(arg, "latest") == 0)
    return 0;
  if (strcmp(arg, "previous") == 0)
    return 1;
  return -1;
}

static char *resolve(const char *arg, int dflt, const run_list_t *l,
                     const char *dir, char *why, size_t whylen) {
  int idx = arg ? name_index(arg) : dflt;
  if (idx < 0)
    return strdup(arg);
  if ((size_t)idx >= l->n) {
    snprintf(why, whylen,
             "%s: %zu results found, '%s' needs %d (run bench/baseline, or "
             "name the files)", dir, l->n, idx ? "previous" : "latest", idx + 1);
    return NULL;
  }
  return strdup(l->v[idx].path);
}

int cmp_pick(const cmp_opts_t *o, char **before, char **after, char *why,
             size_t whylen) {
  run_list_t l = {0};
  int need_dir = !o->before || !o->after || name_index(o->before) >= 0 ||
                 name_index(o->after) >= 0;
  *before = *after = NULL;
  if (need_dir && list_runs(o->results_dir, &l, why, whylen) != 0)
    return -1;
  *before = resolve(o->before, 1, &l, o->results_dir, why, whylen);
  if (*before)
    *after = resolve(o->after, 0, &l, o->results_dir, why, whylen);
  run_list_free(&l);
  if (*before && *after)
    return 0;
  free(*before);
  *before = NULL;
  return -1;
}
