/* errors.c — names for WP_E* codes and the small enum parsers. */
#include <string.h>
#include <time.h>

#include "wpool.h"

const char *wp_strerror(int err) {
  switch (err) {
  case 0: return "success";
#define WP_CASE(name, val, msg) case (val): return msg;
    WP_ERRORS(WP_CASE)
#undef WP_CASE
  default: return "unknown error";
  }
}

const char *wp_errname(int err) {
  switch (err) {
  case 0: return "OK";
#define WP_CASE(name, val, msg) case (val): return "WP_" #name;
    WP_ERRORS(WP_CASE)
#undef WP_CASE
  default: return "WP_E?";
  }
}

int wp_mode_parse(const char *s, wp_mode_t *out) {
  if (!s) return WP_EINVAL;
  if (strcmp(s, "concurrent") == 0) *out = WP_MODE_CONCURRENT;
  else if (strcmp(s, "sequential") == 0) *out = WP_MODE_SEQUENTIAL;
  else return WP_EINVAL;
  return 0;
}

int wp_transport_parse(const char *s, wp_transport_t *out) {
  if (!s) return WP_EINVAL;
  if (strcmp(s, "pipe") == 0) *out = WP_TRANSPORT_PIPE;
  else if (strcmp(s, "grpc") == 0) *out = WP_TRANSPORT_GRPC;
  else return WP_EINVAL;
  return 0;
}

int wp_spawn_parse(const char *s, wp_spawn_t *out) {
  if (!s) return WP_EINVAL;
  if (strcmp(s, "exec") == 0) *out = WP_SPAWN_EXEC;
  else if (strcmp(s, "zygote") == 0) *out = WP_SPAWN_ZYGOTE;
  else return WP_EINVAL;
  return 0;
}

const char *wp_spawn_name(wp_spawn_t s) {
  return s == WP_SPAWN_ZYGOTE ? "zygote" : "exec";
}

const char *wp_mode_name(wp_mode_t m) {
  return m == WP_MODE_SEQUENTIAL ? "sequential" : "concurrent";
}

const char *wp_transport_name(wp_transport_t t) {
  return t == WP_TRANSPORT_GRPC ? "grpc" : "pipe";
}

uint64_t wp_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
