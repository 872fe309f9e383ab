/*
 * results.h — the results document every benchmark run saves and
 * bench/compare reads (schema "wpool.bench/1", documented field by field in
 * results/README.md).
 *
 * Owns: building the document (provenance: when, which commit, which host,
 * which build), adding metrics with all their runs, writing it atomically,
 * and loading + validating one. Measuring and comparing live elsewhere.
 * May call: jansson, libc and the statistics library (stat/); never libuv,
 * gRPC or libwpool, so a program that only reads results links none.
 * The build facts (compiler, flags, versions) come from the program.
 *
 * Ownership: documents are jansson values; the caller holds the reference
 * returned by wb_results_new / wb_results_load and json_decref()s it.
 * Arguments marked "stolen" are owned by the callee from the call on, even
 * when the call fails.
 */
#ifndef WB_RESULTS_H
#define WB_RESULTS_H

#include <jansson.h>
#include <stddef.h>

#define WB_SCHEMA "wpool.bench/1"

/* What the program was built with and against: the document's build block.
 * The program fills it (drive/build.h, wb_build_facts) so that this library
 * links none of those libraries; a NULL field is recorded as null. */
typedef struct wb_build {
  const char *version;      /* wp_version() */
  const char *compiler;
  const char *cflags;
  const char *libuv;
  const char *grpc;
  const char *protobuf_c;
} wb_build_t;

/* A new document: schema, tool, created_at (UTC ISO-8601, microseconds),
 * git {commit, dirty} (both null outside a checkout), host {cpu_model, cpus,
 * kernel, arch, mem_bytes, loadavg, cpuidle_governor, cpu_affinity}, build
 * {version, compiler, cflags, libuv, grpc, protobuf_c} from build (NULL: all null),
 * config (stolen; NULL → {}), metrics []. Facts that cannot be read are
 * null, never guessed. NULL only when out of memory. */
json_t *wb_results_new(const char *tool, json_t *config, const wb_build_t *build);

/* Appends a metric: id (unique in the document), unit ("ms", "us", "req/s",
 * "MiB", "ratio", ...), better ("lower" or "higher"), params (stolen; NULL →
 * {}), runs[0..n) (every repetition, in order) → stores id, unit, better,
 * params, n, median, min, max, runs. Returns the metric (borrowed, so a
 * caller can add "floor" / "ratio_to_floor"), or NULL when an argument is
 * invalid (empty id, unknown better, n == 0, a non-finite run), the id is
 * already present, or out of memory. */
json_t *wb_metric_add(json_t *doc, const char *id, const char *unit,
                      const char *better, json_t *params, const double *runs,
                      size_t n);

/* A metric's class, which sets how finely compare can judge it: "cost"
 * (cost.*: CPU time, context switches, syscalls per operation),
 * "instructions" (instr.*: counted under valgrind) or "wall" (every other
 * figure: times, rates, memory). wb_class_of_id decides by the id's prefix;
 * wb_metric_class reads the metric's "class" field, falling back on the
 * prefix for files written before the field existed. Static strings. */
const char *wb_class_of_id(const char *id);
const char *wb_metric_class(const json_t *metric);

/* Records a point that failed in the document's "failures" array (created
 * on first use): {scenario, point, error, message}, each a string or null
 * (error: the WP_E* name, when there was one). Compare treats any failure
 * in AFTER as a regression. 0, or -1 when out of memory. */
int wb_failure_add(json_t *doc, const char *scenario, const char *point,
                   const char *error, const char *message);

/* The metric with this id (borrowed), or NULL. */
json_t *wb_metric_find(json_t *doc, const char *id);

/* The runs of a metric as a malloc'ed array (caller frees) of *n values;
 * NULL when runs is missing, empty, holds a non-number, or out of memory. */
double *wb_metric_runs(const json_t *metric, size_t *n);

/* Writes doc to path atomically: a temporary file beside it, fsync, then
 * rename, so a reader never sees half a file. 0, or -1 with errno set. */
int wb_results_write(json_t *doc, const char *path);

/* Loads and validates a results file. 0 with *out set (caller decrefs), or
 * -1 with a one-line reason in why: unreadable (with strerror), not JSON
 * (line N: ...), schema missing or unknown, metrics missing or malformed. */
int wb_results_load(const char *path, json_t **out, char *why, size_t whylen);

/* Checks an in-memory document the way wb_results_load does. */
int wb_results_validate(const json_t *doc, char *why, size_t whylen);

/* JSON has no NaN or infinity: those become null. */
json_t *wb_json_num(double v);

#endif
