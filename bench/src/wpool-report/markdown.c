/* markdown.c — the head of report.md: what ran, when, where (host and
 * placement), from what (commit and build). */
#include <stdio.h>

#include "report.h"

static const char *s_or(const json_t *o, const char *k, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : dflt;
}

/* "cpus 0,1" (config.cpus), or "unpinned". */
static void placement(FILE *md, const json_t *doc) {
  const json_t *cpus = json_object_get(json_object_get(doc, "config"), "cpus"), *v;
  size_t i;
  if (!json_array_size(cpus)) {
    fprintf(md, "unpinned (the scheduler's choice)");
    return;
  }
  fprintf(md, "pinned to cpus ");
  json_array_foreach(cpus, i, v) fprintf(md, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
}

void rp_markdown_head(rp_ctx_t *c, const char *result_path) {
  const json_t *d = c->doc, *git = json_object_get(d, "git"), *host = json_object_get(d, "host"),
               *build = json_object_get(d, "build"), *load = json_object_get(host, "loadavg");
  FILE *md = c->md;
  fprintf(md, "# wpool benchmark report: %s\n\n", s_or(d, "tool", "unknown tool"));
  fprintf(md, "| | |\n|---|---|\n");
  fprintf(md, "| results file | `%s` |\n", result_path);
  fprintf(md, "| run at (UTC) | %s |\n", s_or(d, "created_at", "?"));
  fprintf(md, "| commit | `%s`%s |\n", s_or(git, "commit", "unknown"),
          json_is_true(json_object_get(git, "dirty")) ? " (dirty: uncommitted changes)" : "");
  fprintf(md, "| host | %s, %lld CPUs, kernel %s |\n", s_or(host, "cpu_model", "?"),
          (long long)json_integer_value(json_object_get(host, "cpus")),
          s_or(host, "kernel", "?"));
  if (json_array_size(load) == 3)
    fprintf(md, "| load average at start | %.2f, %.2f, %.2f (1, 5, 15 min) |\n",
            json_number_value(json_array_get(load, 0)), json_number_value(json_array_get(load, 1)),
            json_number_value(json_array_get(load, 2)));
  fprintf(md, "| placement | ");
  placement(md, d);
  fprintf(md, " |\n| build | wpool %s, %s, `%s` |\n", s_or(build, "version", "?"),
          s_or(build, "compiler", "?"), s_or(build, "cflags", "?"));
  fprintf(md, "| libraries | libuv %s, gRPC %s, protobuf-c %s |\n", s_or(build, "libuv", "?"),
          s_or(build, "grpc", "?"), s_or(build, "protobuf_c", "?"));
  fprintf(md, "| metrics | %zu |\n", json_array_size(json_object_get(d, "metrics")));
}
