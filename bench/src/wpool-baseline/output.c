/*
 * output.c — where a run's document goes: --out FILE, or the results
 * directory as <UTC time>-<short commit>.json plus a copy as latest.json.
 *
 * The directory is $WPOOL_RESULTS_DIR (bench/baseline points it at the
 * repository's results/), else ./results. Both files are written by
 * wb_results_write (temporary file, fsync, rename), so a reader — compare's
 * `latest`, a CI step — never sees half a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "output.h"
#include "results.h"

/* "2024-05-01T12:34:56.123456Z" → "20240501T123456Z". */
static void stamp(const json_t *doc, char *buf, size_t cap) {
  const char *ca = json_string_value(json_object_get(doc, "created_at"));
  size_t n = 0;
  for (const char *p = ca ? ca : ""; *p && *p != '.' && n + 2 < cap; p++)
    if (*p != '-' && *p != ':') buf[n++] = *p;
  buf[n++] = 'Z';
  buf[n] = '\0';
}

static void short_sha(const json_t *doc, char *buf, size_t cap) {
  const char *sha = json_string_value(json_object_get(json_object_get(doc, "git"), "commit"));
  snprintf(buf, cap, "%.7s", sha ? sha : "nogit");
}

int bl_output_write(json_t *doc, const char *out, char *path, size_t cap) {
  if (out) {
    snprintf(path, cap, "%s", out);
    return wb_results_write(doc, path);
  }
  const char *dir = getenv("WPOOL_RESULTS_DIR");
  if (!dir || !*dir) dir = "results";
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    snprintf(path, cap, "%s", dir);
    return -1;
  }
  char ts[32], sha[16], latest[4096];
  stamp(doc, ts, sizeof ts);
  short_sha(doc, sha, sizeof sha);
  snprintf(path, cap, "%s/%s-%s.json", dir, ts, sha);
  if (wb_results_write(doc, path) != 0) return -1;
  snprintf(latest, sizeof latest, "%s/latest.json", dir);
  if (wb_results_write(doc, latest) != 0) {
    snprintf(path, cap, "%s", latest);
    return -1;
  }
  return 0;
}
