/* markdown.c — the head of report.md: what ran, when, where, from what. */
#include <stdio.h>

#include "report.h"

static const char *s_or(const json_t *o, const char *k, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : dflt;
}

void rp_markdown_head(rp_ctx_t *c, const char *result_path) {
  const json_t *d = c->doc, *git = json_object_get(d, "git"), *host = json_object_get(d, "host");
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
  fprintf(md, "| metrics | %zu |\n", json_array_size(json_object_get(d, "metrics")));
}
