/* proc.c — see proc.h. */
#include "proc.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wordexp.h>

int wb_split_command(const char *s, char ***argv) {
  wordexp_t we;
  if (!s || wordexp(s, &we, WRDE_NOCMD | WRDE_UNDEF) != 0) return -1;
  if (we.we_wordc == 0) {
    wordfree(&we);
    return -1;
  }
  char **v = calloc(we.we_wordc + 1, sizeof *v);
  for (size_t i = 0; v && i < we.we_wordc; i++) v[i] = strdup(we.we_wordv[i]);
  wordfree(&we);
  if (!v) return -1;
  *argv = v;
  return 0;
}

void wb_argv_free(char **argv) {
  for (size_t i = 0; argv && argv[i]; i++) free(argv[i]);
  free(argv);
}

int wb_split_list(const char *s, char sep, char ***list) {
  wb_argv_free(*list);
  *list = NULL;
  if (!s || !*s) return -1;
  size_t n = 1;
  for (const char *p = s; *p; p++) n += *p == sep;
  char **v = calloc(n + 1, sizeof *v);
  if (!v) return -1;
  const char *p = s;
  for (size_t i = 0; i < n; i++) {
    const char *end = strchr(p, sep);
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == 0 || !(v[i] = strndup(p, len))) {
      wb_argv_free(v);
      return -1;
    }
    p += len + 1;
  }
  *list = v;
  return (int)n;
}

static int parse_cpus(const char *s, int *cpus, int max) {
  int n = 0;
  const char *p = s;
  while (p && *p) {
    char *end;
    long a = strtol(p, &end, 10), b;
    if (end == p || a < 0 || a >= CPU_SETSIZE) return -1;
    b = a;
    if (*end == '-') {
      p = end + 1;
      b = strtol(p, &end, 10);
      if (end == p || b < a || b >= CPU_SETSIZE) return -1;
    }
    for (long c = a; c <= b; c++) {
      if (n >= max) return -1;
      cpus[n++] = (int)c;
    }
    if (*end == ',') end++;
    else if (*end != '\0') return -1;
    p = end;
  }
  return n > 0 ? n : -1;
}

int wb_cpus_parse(const char *s, wb_cpus_t *out) {
  return out->n = parse_cpus(s, out->cpu, WB_MAX_CPUS);
}

int wb_cpus_pin(const wb_cpus_t *c) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < c->n; i++) CPU_SET(c->cpu[i], &set);
  return sched_setaffinity(0, sizeof set, &set);
}

int wb_cpus_usable(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

int wb_cpus_first(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) return cpu;
  return -1;
}

long long wb_rss_bytes(int pid) {
  char path[64], line[256];
  if (pid) snprintf(path, sizeof path, "/proc/%d/status", pid);
  else snprintf(path, sizeof path, "/proc/self/status");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) break;
  fclose(f);
  return kib < 0 ? -1 : kib * 1024;
}

int wb_sibling_path(const char *rel, char *buf, size_t cap) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  int w = snprintf(buf, cap, "%s/%s", slash ? exe : ".", rel);
  return w < 0 || (size_t)w >= cap ? -1 : 0;
}
