/* results.c — the "wpool.bench/1" results document; see results.h. */
#include "results.h"

#include "stats.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ---- provenance: when, which commit, which host, which build ----------- */

static json_t *created_at(void) {
  struct timespec ts;
  struct tm tm;
  char buf[64];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  /* Microseconds: compare orders runs by this string, and two runs saved
   * within one second (a script, a test) must still sort. */
  snprintf(buf + len, sizeof buf - len, ".%06ldZ", ts.tv_nsec / 1000);
  return json_string(buf);
}

/* First line of a command's output, stripped; NULL when the command fails.
 * *any_output tells whether it printed anything at all. */
static char *command_line(const char *cmd, int *any_output) {
  char buf[256] = "";
  FILE *p = popen(cmd, "r");
  if (!p)
    return NULL;
  int got = fgets(buf, sizeof buf, p) != NULL;
  while (fgetc(p) != EOF) /* drain so the child never blocks on a pipe */
    ;
  int st = pclose(p);
  if (any_output)
    *any_output = got;
  if (st != 0)
    return NULL;
  buf[strcspn(buf, "\n")] = '\0';
  return strdup(buf);
}

static json_t *git_info(void) {
  char *commit = command_line("git rev-parse HEAD 2>/dev/null", NULL);
  json_t *g = json_object();
  if (!commit) { /* not a checkout (or no git): say so, never guess */
    json_object_set_new(g, "commit", json_null());
    json_object_set_new(g, "dirty", json_null());
    return g;
  }
  int dirty = 0;
  char *st = command_line("git status --porcelain 2>/dev/null", &dirty);
  json_object_set_new(g, "commit", json_string(commit));
  json_object_set_new(g, "dirty", st ? json_boolean(dirty) : json_null());
  free(commit);
  free(st);
  return g;
}

/* The value of the first "key : value" line of a /proc-style file. */
static json_t *file_field(const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  char line[512];
  size_t klen = strlen(key);
  json_t *v = json_null();
  if (!f)
    return v;
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, key, klen) != 0 || !colon)
      continue;
    char *val = colon + 1 + strspn(colon + 1, " \t");
    val[strcspn(val, "\n")] = '\0';
    json_decref(v);
    v = json_string(val);
    break;
  }
  fclose(f);
  return v;
}

/* First line of a sysfs file, or null when it is absent (no cpuidle). */
static json_t *file_line(const char *path) {
  char buf[128];
  FILE *f = fopen(path, "r");
  if (!f)
    return json_null();
  int ok = fgets(buf, sizeof buf, f) != NULL;
  fclose(f);
  if (!ok)
    return json_null();
  buf[strcspn(buf, "\n")] = '\0';
  return json_string(buf);
}

static json_t *loadavg(void) {
  double l[3];
  if (getloadavg(l, 3) != 3)
    return json_null();
  return json_pack("[f,f,f]", l[0], l[1], l[2]);
}

/* The CPUs this process may run on: placement is a benchmark parameter
 * (a cross-CPU wake-up costs ~50 µs here), so it is recorded. */
static json_t *cpu_affinity(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return json_null();
  json_t *a = json_array();
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set))
      json_array_append_new(a, json_integer(c));
  return a;
}

static json_t *host_info(void) {
  struct utsname u;
  int have_uname = uname(&u) == 0;
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  json_t *h = json_object();
  json_object_set_new(h, "cpu_model", file_field("/proc/cpuinfo", "model name"));
  json_object_set_new(h, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  json_object_set_new(h, "kernel", have_uname ? json_string(u.release) : json_null());
  json_object_set_new(h, "arch", have_uname ? json_string(u.machine) : json_null());
  json_object_set_new(h, "mem_bytes", pages > 0 && psize > 0
                          ? json_integer((json_int_t)pages * psize) : json_null());
  json_object_set_new(h, "loadavg", loadavg());
  json_object_set_new(h, "cpuidle_governor",
                      file_line("/sys/devices/system/cpu/cpuidle/current_governor"));
  json_object_set_new(h, "cpu_affinity", cpu_affinity());
  return h;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *build_info(const wb_build_t *b) {
  static const wb_build_t none;
  if (!b) b = &none;
  json_t *o = json_object();
  json_object_set_new(o, "version", str_or_null(b->version));
  json_object_set_new(o, "compiler", str_or_null(b->compiler));
  json_object_set_new(o, "cflags", str_or_null(b->cflags));
  json_object_set_new(o, "libuv", str_or_null(b->libuv));
  json_object_set_new(o, "grpc", str_or_null(b->grpc));
  json_object_set_new(o, "protobuf_c", str_or_null(b->protobuf_c));
  return o;
}

json_t *wb_results_new(const char *tool, json_t *config, const wb_build_t *build) {
  json_t *doc = json_object();
  if (!config)
    config = json_object();
  if (!doc || !config) {
    json_decref(doc);
    json_decref(config);
    return NULL;
  }
  json_object_set_new(doc, "schema", json_string(WB_SCHEMA));
  json_object_set_new(doc, "tool", tool ? json_string(tool) : json_null());
  json_object_set_new(doc, "created_at", created_at());
  json_object_set_new(doc, "git", git_info());
  json_object_set_new(doc, "host", host_info());
  json_object_set_new(doc, "build", build_info(build));
  json_object_set_new(doc, "config", config);
  json_object_set_new(doc, "metrics", json_array());
  return doc;
}

/* ---- metrics ------------------------------------------------------------ */

static int is_better(const char *s) {
  return s && (strcmp(s, "lower") == 0 || strcmp(s, "higher") == 0);
}

static int all_finite(const double *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return 0;
  return 1;
}

static json_t *runs_array(const double *runs, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    json_array_append_new(a, json_real(runs[i]));
  return a;
}

json_t *wb_metric_find(json_t *doc, const char *id) {
  json_t *metrics = json_object_get(doc, "metrics"), *m;
  size_t i;
  json_array_foreach(metrics, i, m) {
    const char *mid = json_string_value(json_object_get(m, "id"));
    if (mid && id && strcmp(mid, id) == 0)
      return m;
  }
  return NULL;
}

static int metric_args_ok(json_t *doc, const char *id, const char *unit,
                          const char *better, const double *runs, size_t n) {
  return json_is_array(json_object_get(doc, "metrics")) && id && *id && unit &&
         is_better(better) && runs && n > 0 && all_finite(runs, n) &&
         !wb_metric_find(doc, id);
}

json_t *wb_metric_add(json_t *doc, const char *id, const char *unit,
                      const char *better, json_t *params, const double *runs,
                      size_t n) {
  wb_stats_t s;
  if (!params)
    params = json_object();
  if (!metric_args_ok(doc, id, unit, better, runs, n) || !params ||
      wb_stats_summary(runs, n, &s) != 0) {
    json_decref(params);
    return NULL;
  }
  json_t *m = json_pack("{s:s, s:s, s:s, s:o, s:I, s:f, s:f, s:f, s:o}",
                        "id", id, "unit", unit, "better", better,
                        "params", params, "n", (json_int_t)n,
                        "median", s.median, "min", s.min, "max", s.max,
                        "runs", runs_array(runs, n));
  if (!m || json_array_append_new(json_object_get(doc, "metrics"), m) != 0)
    return NULL;
  return m;
}

const char *wb_class_of_id(const char *id) {
  if (id && strncmp(id, "cost.", 5) == 0)
    return "cost";
  if (id && strncmp(id, "instr.", 6) == 0)
    return "instructions";
  return "wall";
}

const char *wb_metric_class(const json_t *metric) {
  static const char *const known[] = {"cost", "instructions", "wall"};
  const char *c = json_string_value(json_object_get(metric, "class"));
  for (size_t i = 0; c && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(c, known[i]) == 0)
      return known[i];
  return wb_class_of_id(json_string_value(json_object_get(metric, "id")));
}

static json_t *string_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

int wb_failure_add(json_t *doc, const char *scenario, const char *point,
                   const char *error, const char *message) {
  json_t *list = json_object_get(doc, "failures");
  if (!list) {
    list = json_array();
    if (!list || json_object_set_new(doc, "failures", list) != 0)
      return -1;
  }
  json_t *f = json_pack("{s:o, s:o, s:o, s:o}", "scenario", string_or_null(scenario),
                        "point", string_or_null(point), "error",
                        string_or_null(error), "message", string_or_null(message));
  return f && json_array_append_new(list, f) == 0 ? 0 : -1;
}

double *wb_metric_runs(const json_t *metric, size_t *n) {
  json_t *runs = json_object_get(metric, "runs"), *v;
  size_t i, len = json_array_size(runs);
  *n = 0;
  if (len == 0)
    return NULL;
  double *x = malloc(len * sizeof *x);
  if (!x)
    return NULL;
  json_array_foreach(runs, i, v) {
    if (!json_is_number(v)) {
      free(x);
      return NULL;
    }
    x[i] = json_number_value(v);
  }
  *n = len;
  return x;
}

/* ---- files -------------------------------------------------------------- */

/* Dumps doc to an open file and makes it durable before the rename. */
static int dump_durable(json_t *doc, FILE *f) {
  /* 12 significant digits: far beyond what a run measures, and no
   * 0.10000000000000001 noise in a file people read. */
  if (json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0 ||
      fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
    if (errno == 0) /* jansson's own failures leave errno alone */
      errno = EIO;
    return -1;
  }
  return 0;
}

int wb_results_write(json_t *doc, const char *path) {
  char tmp[4096];
  if (!doc || !path ||
      snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
    errno = EINVAL;
    return -1;
  }
  FILE *f = fopen(tmp, "w");
  if (!f)
    return -1;
  errno = 0;
  int rc = dump_durable(doc, f);
  int saved = errno;
  if (fclose(f) != 0 && rc == 0) {
    rc = -1;
    saved = errno;
  }
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = -1;
    saved = errno;
  }
  if (rc != 0) {
    unlink(tmp);
    errno = saved;
  }
  return rc;
}

/* ---- loading and validation --------------------------------------------- */

/* Formats a reason into why and returns -1, so callers can `return bad(..)`. */
__attribute__((format(printf, 3, 4)))
static int bad(char *why, size_t whylen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (why && whylen)
    vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return -1;
}

static int runs_ok(const json_t *runs) {
  json_t *v;
  size_t i;
  if (!json_is_array(runs) || json_array_size(runs) == 0)
    return 0;
  json_array_foreach(runs, i, v) {
    if (!json_is_number(v))
      return 0;
  }
  return 1;
}

/* One metric entry: the fields compare relies on, with their types. */
static int metric_ok(const json_t *m, size_t i, char *why, size_t whylen) {
  const char *id = json_string_value(json_object_get(m, "id"));
  if (!json_is_object(m) || !id || !*id)
    return bad(why, whylen, "metric %zu: not an object with a string id", i);
  if (!json_is_string(json_object_get(m, "unit")))
    return bad(why, whylen, "metric %s: unit missing", id);
  if (!is_better(json_string_value(json_object_get(m, "better"))))
    return bad(why, whylen, "metric %s: better must be \"lower\" or \"higher\"", id);
  if (!runs_ok(json_object_get(m, "runs")))
    return bad(why, whylen, "metric %s: runs missing, empty or not numbers", id);
  if (!json_is_number(json_object_get(m, "median")))
    return bad(why, whylen, "metric %s: median missing", id);
  return 0;
}

static int metrics_ok(const json_t *metrics, char *why, size_t whylen) {
  json_t *seen = json_object(), *m;
  size_t i;
  int rc = 0;
  json_array_foreach(metrics, i, m) {
    if ((rc = metric_ok(m, i, why, whylen)) != 0)
      break;
    const char *id = json_string_value(json_object_get(m, "id"));
    if (json_object_get(seen, id)) {
      rc = bad(why, whylen, "metric %s appears twice", id);
      break;
    }
    json_object_set_new(seen, id, json_true());
  }
  json_decref(seen);
  return rc;
}

int wb_results_validate(const json_t *doc, char *why, size_t whylen) {
  if (!json_is_object(doc))
    return bad(why, whylen, "not a results document (top level is not an object)");
  json_t *schema = json_object_get(doc, "schema");
  if (!json_is_string(schema))
    return bad(why, whylen, "schema missing (not a wpool results file)");
  if (strcmp(json_string_value(schema), WB_SCHEMA) != 0)
    return bad(why, whylen, "unknown schema \"%s\" (expected \"%s\")",
               json_string_value(schema), WB_SCHEMA);
  json_t *metrics = json_object_get(doc, "metrics");
  if (!json_is_array(metrics))
    return bad(why, whylen, "metrics missing");
  json_t *failures = json_object_get(doc, "failures");
  if (failures && !json_is_array(failures))
    return bad(why, whylen, "failures is not an array");
  return metrics_ok(metrics, why, whylen);
}

/* Opens path for reading, refusing what is not a regular file (a directory
 * opens fine on Linux and would then fail as "not JSON"). */
static FILE *open_regular(const char *path, char *why, size_t whylen) {
  struct stat st;
  FILE *f = fopen(path, "r");
  if (!f) {
    bad(why, whylen, "unreadable (%s)", strerror(errno));
    return NULL;
  }
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    bad(why, whylen, "unreadable (not a regular file)");
    fclose(f);
    return NULL;
  }
  return f;
}

int wb_results_load(const char *path, json_t **out, char *why, size_t whylen) {
  json_error_t err;
  *out = NULL;
  FILE *f = open_regular(path, why, whylen);
  if (!f)
    return -1;
  json_t *doc = json_loadf(f, 0, &err);
  fclose(f);
  if (!doc)
    return bad(why, whylen, "not JSON (line %d: %s)", err.line, err.text);
  if (wb_results_validate(doc, why, whylen) != 0) {
    json_decref(doc);
    return -1;
  }
  *out = doc;
  return 0;
}

json_t *wb_json_num(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}
