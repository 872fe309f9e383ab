/* payloads.c — see payloads.h. */
#include "payloads.h"

#include "cmdline.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

static int push(wb_payloads_t *p, uint8_t *data, size_t len) {
  wb_payload_t *it = realloc(p->items, (p->n + 1) * sizeof *it);
  if (!it) return -1;
  p->items = it;
  p->items[p->n++] = (wb_payload_t){data, len};
  p->total_bytes += len;
  return 0;
}

static int too_big(const char *what, size_t len, size_t max, char *err, size_t errlen) {
  return wb_why(err, errlen, "payload %s is %zu bytes, over the frame limit (%zu bytes)",
              what, len, max);
}

/* One file, whole, as one payload. */
static int load_file(const char *path, size_t max, wb_payloads_t *out, char *err,
                     size_t errlen) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  int e = !f ? errno : fstat(fileno(f), &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : EISDIR;
  if (e) {
    if (f) fclose(f);
    return wb_why(err, errlen, "cannot read payload file %s: %s", path,
                e == EISDIR ? "not a regular file" : strerror(e));
  }
  if ((uint64_t)st.st_size > max) {
    fclose(f);
    return too_big(path, (size_t)st.st_size, max, err, errlen);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *data = malloc(n ? n : 1);
  size_t got = data ? fread(data, 1, n, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!data || got != n || bad || push(out, data, n) != 0) {
    free(data);
    return wb_why(err, errlen, "cannot read payload file %s: %s", path,
                data ? "short read" : "out of memory");
  }
  return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int load_dir(const char *dir, size_t max, wb_payloads_t *out, char *err,
                    size_t errlen) {
  struct dirent **ents;
  int n = scandir(dir, &ents, NULL, by_name);
  if (n < 0) return wb_why(err, errlen, "cannot read payload directory %s: %s", dir, strerror(errno));
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
    if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
      rc = load_file(path, max, out, err, errlen);
    free(ents[i]);
  }
  free(ents);
  return rc;
}

/* A .jsonl line's payload: a string, or {"payload": string}. */
static const char *line_payload(json_t *j, size_t *len) {
  if (json_is_object(j)) j = json_object_get(j, "payload");
  if (!json_is_string(j)) return NULL;
  *len = json_string_length(j);
  return json_string_value(j);
}

static int load_jsonl(const char *path, size_t max, wb_payloads_t *out, char *err,
                      size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) return wb_why(err, errlen, "cannot read payload file %s: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0, lineno = 0;
  while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if (strspn(line, " \t\r\n") == (size_t)n) continue;
    json_error_t je;
    json_t *j = json_loadb(line, (size_t)n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    size_t len = 0;
    const char *s = j ? line_payload(j, &len) : NULL;
    char what[4200];
    snprintf(what, sizeof what, "%s:%d", path, lineno);
    if (!s) rc = wb_why(err, errlen, "%s: not a JSON string or {\"payload\": string}", what);
    else if (len > max) rc = too_big(what, len, max, err, errlen);
    else {
      uint8_t *data = malloc(len ? len : 1);
      if (data) memcpy(data, s, len);
      if (!data || push(out, data, len) != 0) {
        free(data);
        rc = wb_why(err, errlen, "out of memory reading %s", path);
      }
    }
    json_decref(j);
  }
  free(line);
  fclose(f);
  return rc;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

int wb_payloads_load(const char *path, int set, size_t max, wb_payloads_t *out,
                     char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  struct stat st;
  int rc;
  if (!set) rc = load_file(path, max, out, err, errlen);
  else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) rc = load_dir(path, max, out, err, errlen);
  else if (ends_with(path, ".jsonl")) rc = load_jsonl(path, max, out, err, errlen);
  else rc = wb_why(err, errlen, "--payloads %s: give a directory or a .jsonl file", path);
  if (rc == 0 && out->n == 0) rc = wb_why(err, errlen, "no payloads in %s", path);
  if (rc) wb_payloads_free(out);
  return rc;
}

int wb_call_opt(wb_call_t *c, int what, const char *arg, char *err, size_t errlen) {
  if (what == 0) {
    size_t n = strlen(arg);
    if (n == 0 || n > 255) return wb_why(err, errlen, "--call: bad method name '%s'", arg);
    c->method = arg;
    return 0;
  }
  if (c->src) return wb_why(err, errlen, "--payload-file and --payloads exclude each other");
  c->src = arg;
  c->set = what == 2;
  return 0;
}

int wb_call_load(wb_call_t *c, uint32_t max_frame, char *err, size_t errlen) {
  if (c->src && !c->method) return wb_why(err, errlen, "--payload-file/--payloads need --call METHOD");
  if (!c->src) return 0;
  /* What a request adds around its payload: the pool's envelope (64) and
   * the method's name. */
  size_t extra = 64 + (c->method ? strlen(c->method) : 0);
  size_t max = max_frame > extra ? max_frame - extra : 0;
  return wb_payloads_load(c->src, c->set, max, &c->payloads, err, errlen);
}

void wb_call_free(wb_call_t *c) { wb_payloads_free(&c->payloads); }

json_t *wb_call_config(const wb_call_t *c) {
  if (!c->method) return json_null();
  return json_pack("{s:s, s:s?, s:I, s:I}", "method", c->method, "payload_source", c->src,
                   "payloads", (json_int_t)c->payloads.n, "payload_total_bytes",
                   (json_int_t)c->payloads.total_bytes);
}

void wb_payloads_free(wb_payloads_t *p) {
  for (size_t i = 0; i < p->n; i++) free(p->items[i].data);
  free(p->items);
  memset(p, 0, sizeof *p);
}
