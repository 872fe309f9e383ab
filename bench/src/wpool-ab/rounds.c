/*
 * rounds.c — loading a rounds directory (layout in ab.h) into paired
 * per-round values per metric, and the failures of either side.
 *
 * A side fails at a point when its run exited non-zero (SIDE-POINT.rc), wrote
 * no results file while the other side did, or recorded a "failures" array
 * in its file; the after side also fails for every metric the before side
 * had and it lacks. Each is one line naming the side, the point and the
 * round. A file that is there but unreadable, from a run that did not fail,
 * is bad input.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab.h"
#include "results.h"

static const char *const side_names[2] = {"before", "after"};

typedef struct {
  const char *dir; /* the round's directory */
  const char *round;
  const char *point;
} where_t;

static int is_round_name(const char *s) {
  if (s[0] != 'r' || !s[1])
    return 0;
  for (s++; *s; s++)
    if (!isdigit((unsigned char)*s))
      return 0;
  return 1;
}

static int by_round_number(const struct dirent **a, const struct dirent **b) {
  long x = atol((*a)->d_name + 1), y = atol((*b)->d_name + 1);
  return (x > y) - (x < y);
}

static int round_filter(const struct dirent *e) {
  return is_round_name(e->d_name);
}

static void add_line(json_t *list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_line(json_t *list, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  json_array_append_new(list, json_string(buf));
}

/* The last non-empty line of a small text file, or "" (no file). */
static void last_line(const char *path, char *out, size_t n) {
  FILE *f = fopen(path, "r");
  char line[512];
  out[0] = '\0';
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0])
      snprintf(out, n, "%s", line);
  }
  fclose(f);
}

/* The exit code in SIDE-POINT.rc; 0 when there is no such file. */
static int read_rc(const where_t *w, const char *side) {
  char path[4096];
  int rc = 0;
  snprintf(path, sizeof path, "%s/%s-%s.rc", w->dir, side, w->point);
  FILE *f = fopen(path, "r");
  if (f) {
    if (fscanf(f, "%d", &rc) != 1)
      rc = -1;
    fclose(f);
  }
  return rc;
}

/* One element of a results file's "failures" array (wb_failure_add:
 * scenario, point, error, message), as words: "point: message (error)". */
static void failure_words(const json_t *f, char *out, size_t n) {
  const char *point = json_string_value(json_object_get(f, "point"));
  const char *scn = json_string_value(json_object_get(f, "scenario"));
  const char *msg = json_string_value(json_object_get(f, "message"));
  const char *err = json_string_value(json_object_get(f, "error"));
  const char *what = point ? point : scn;
  if (json_is_string(f))
    snprintf(out, n, "%s", json_string_value(f));
  else if (what || msg || err)
    snprintf(out, n, "%s%s%s%s%s%s", what ? what : "", what && (msg || err) ? ": " : "",
             msg ? msg : "", err ? (msg ? " (" : "") : "", err ? err : "",
             err && msg ? ")" : "");
  else {
    char *s = json_dumps(f, JSON_COMPACT);
    snprintf(out, n, "%s", s ? s : "?");
    free(s);
  }
}

/* Loads one side's file at a point; *doc NULL when the run failed. 0, or
 * -1 (bad input: a file from a run that did not fail, unreadable). */
static int load_side(ab_set_t *s, const where_t *w, int side, json_t **doc,
                     char *why, size_t n) {
  char path[4096], err[512];
  int rc = read_rc(w, side_names[side]);
  *doc = NULL;
  if (rc != 0) {
    snprintf(path, sizeof path, "%s/%s-%s.err", w->dir, side_names[side], w->point);
    last_line(path, err, sizeof err);
    add_line(s->failures, "%s failed at %s in round %ld (exit %d)%s%s",
             side_names[side], w->point, atol(w->round + 1), rc, err[0] ? ": " : "", err);
    return 0;
  }
  snprintf(path, sizeof path, "%s/%s-%s.json", w->dir, side_names[side], w->point);
  if (access(path, F_OK) != 0) {
    add_line(s->failures, "%s wrote no results at %s in round %ld",
             side_names[side], w->point, atol(w->round + 1));
    return 0;
  }
  if (wb_results_load(path, doc, err, sizeof err) != 0) {
    snprintf(why, n, "%s: %s", path, err);
    return -1;
  }
  const json_t *fails = json_object_get(*doc, "failures");
  if (json_array_size(fails) > 0) {
    failure_words(json_array_get(fails, 0), err, sizeof err);
    add_line(s->failures, "%s recorded %zu failure(s) at %s in round %ld: %s",
             side_names[side], json_array_size(fails), w->point, atol(w->round + 1), err);
  }
  return 0;
}

static ab_metric_t *metric_slot(ab_set_t *s, json_t *index, const json_t *m) {
  const char *id = json_string_value(json_object_get(m, "id"));
  json_t *at = json_object_get(index, id);
  if (at)
    return &s->m[json_integer_value(at)];
  ab_metric_t *grown = realloc(s->m, (s->nm + 1) * sizeof *grown);
  if (!grown)
    return NULL;
  s->m = grown;
  ab_metric_t *x = &s->m[s->nm];
  memset(x, 0, sizeof *x);
  x->id = strdup(id);
  x->unit = strdup(json_string_value(json_object_get(m, "unit")));
  x->better = strdup(json_string_value(json_object_get(m, "better")));
  json_object_set_new(index, id, json_integer((json_int_t)s->nm++));
  return x->id && x->unit && x->better ? x : NULL;
}

static int push_pair(ab_metric_t *x, double b, double a) {
  if (x->n == x->cap) {
    size_t cap = x->cap ? 2 * x->cap : 64;
    double *nb = realloc(x->before, cap * sizeof *nb);
    if (nb)
      x->before = nb;
    double *na = realloc(x->after, cap * sizeof *na);
    if (na)
      x->after = na;
    if (!nb || !na)
      return -1;
    x->cap = cap;
  }
  x->before[x->n] = b;
  x->after[x->n++] = a;
  return 0;
}

static int same_kind(const json_t *b, const json_t *a) {
  return json_equal(json_object_get(b, "unit"), json_object_get(a, "unit")) &&
         json_equal(json_object_get(b, "better"), json_object_get(a, "better"));
}

/* Pairs every metric of b with a's; a metric a lacks is a failure, said
 * once per id however many rounds lack it. */
static int pair_point(ab_set_t *s, json_t *index, json_t *lost, const where_t *w,
                      json_t *b, json_t *a) {
  json_t *mb;
  size_t i;
  json_array_foreach(json_object_get(b, "metrics"), i, mb) {
    const char *id = json_string_value(json_object_get(mb, "id"));
    json_t *ma = wb_metric_find(a, id);
    if (!ma) {
      if (!json_object_get(lost, id)) {
        add_line(s->failures, "after lacks %s, which before has (%s, round %ld)",
                 id, w->point, atol(w->round + 1));
        json_object_set_new(lost, id, json_true());
      }
      continue;
    }
    if (!same_kind(mb, ma)) {
      add_line(s->warnings, "%s changed unit or better: not judged", id);
      continue;
    }
    ab_metric_t *x = metric_slot(s, index, mb);
    if (!x || push_pair(x, json_number_value(json_object_get(mb, "median")),
                        json_number_value(json_object_get(ma, "median"))))
      return -1;
  }
  return 0;
}

/* "before-n1-c1.json" → "n1-c1" in out; 0, or -1 when not a side's file. */
static int point_of(const char *name, char *out, size_t n) {
  for (int side = 0; side < 2; side++) {
    size_t pl = strlen(side_names[side]);
    if (strncmp(name, side_names[side], pl) != 0 || name[pl] != '-')
      continue;
    const char *p = name + pl + 1, *dot = strrchr(p, '.');
    if (!dot || dot == p || (strcmp(dot, ".json") && strcmp(dot, ".rc")))
      return -1;
    snprintf(out, n, "%.*s", (int)(dot - p), p);
    return 0;
  }
  return -1;
}

/* The points of one round: every POINT some SIDE-POINT.json/.rc names. */
static json_t *round_points(const char *dir) {
  json_t *pts = json_object();
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[256];
  while (d && pts && (e = readdir(d)))
    if (point_of(e->d_name, p, sizeof p) == 0)
      json_object_set_new(pts, p, json_true());
  if (d)
    closedir(d);
  return pts;
}

static void keep_provenance(ab_set_t *s, json_t *b, json_t *a) {
  if (!s->before_doc && b)
    s->before_doc = json_incref(b);
  if (!s->after_doc && a)
    s->after_doc = json_incref(a);
}

static int load_round(ab_set_t *s, json_t *index, json_t *lost,
                      const char *top, const char *round, char *why, size_t n) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", top, round);
  json_t *pts = round_points(dir), *v;
  const char *point;
  int rc = pts ? 0 : -1;
  json_object_foreach(pts, point, v) {
    where_t w = {dir, round, point};
    json_t *b = NULL, *a = NULL;
    rc = load_side(s, &w, 0, &b, why, n);
    if (rc == 0)
      rc = load_side(s, &w, 1, &a, why, n);
    if (rc == 0 && b && a)
      rc = pair_point(s, index, lost, &w, b, a);
    keep_provenance(s, b, a);
    json_decref(b);
    json_decref(a);
    if (rc)
      break;
  }
  json_decref(pts);
  return rc;
}

int ab_rounds_load(const char *dir, ab_set_t *s, char *why, size_t n) {
  struct dirent **names = NULL;
  memset(s, 0, sizeof *s);
  s->failures = json_array();
  s->warnings = json_array();
  int nr = scandir(dir, &names, round_filter, by_round_number), rc = 0;
  if (nr < 0) {
    snprintf(why, n, "%s: %s", dir, strerror(errno));
    return -1;
  }
  json_t *index = json_object(), *lost = json_object();
  for (int i = 0; i < nr; i++) {
    if (rc == 0)
      rc = load_round(s, index, lost, dir, names[i]->d_name, why, n);
    free(names[i]);
  }
  free(names);
  json_decref(index);
  json_decref(lost);
  s->rounds = (size_t)nr;
  if (rc == 0 && nr == 0) {
    snprintf(why, n, "%s: no rounds (subdirectories r0001, r0002, ...)", dir);
    rc = -1;
  }
  return rc;
}

void ab_set_free(ab_set_t *s) {
  for (size_t i = 0; i < s->nm; i++) {
    free(s->m[i].id);
    free(s->m[i].unit);
    free(s->m[i].better);
    free(s->m[i].before);
    free(s->m[i].after);
  }
  free(s->m);
  json_decref(s->failures);
  json_decref(s->warnings);
  json_decref(s->before_doc);
  json_decref(s->after_doc);
  memset(s, 0, sizeof *s);
}
