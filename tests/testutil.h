/*
 * testutil.h — shared by the C test suites: paths to the built programs and
 * running a libuv loop until a condition holds, bounded in time so a bug
 * fails the test instead of hanging CI.
 */
#ifndef WP_TESTUTIL_H
#define WP_TESTUTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "run.h"
#include "wpool.h"

/* The build directory under test: build, or build/san for make check. */
static inline const char *tu_build(void) {
  const char *b = getenv("WPOOL_BUILD");
  return b && *b ? b : "build";
}

/* A suite that runs a built program on files in a fresh temp directory:
 * bin = "<build>/<prog>", dir = a new /tmp/<prog>-XXXXXX. 0, or -1 (said on
 * stderr) when the program is not built or no directory could be made. */
static inline int tu_prog_setup(const char *prog, char *bin, size_t bincap,
                                char *dir, size_t dircap) {
  snprintf(bin, bincap, "%s/%s", tu_build(), prog);
  snprintf(dir, dircap, "/tmp/%s-XXXXXX", prog);
  if (!mkdtemp(dir) || access(bin, X_OK) != 0) {
    fprintf(stderr, "no %s or no temp dir\n", bin);
    return -1;
  }
  return 0;
}

/* rm -rf dir: 0, or -1. */
static inline int tu_rm_rf(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Runs a shell command made like printf: its exit status (-1 when it did
 * not exit). For suites that drive programs by their command lines. */
static inline int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int tu_sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* "<build>/<rel>" in a static buffer (one at a time). */
static inline const char *tu_path(const char *rel) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", tu_build(), rel);
  return buf;
}

static inline void tu_wake(uv_timer_t *t) { (void)t; }

/* Runs loop until *flag is true or seconds pass; returns *flag. */
static inline bool tu_run_until(uv_loop_t *loop, const bool *flag, double seconds) {
  return wb_run_until_flag(loop, flag, (uint64_t)(seconds * 1e9));
}

/* Runs the loop for a fixed time (to let restarts etc. happen). */
static inline void tu_run_for(uv_loop_t *loop, double seconds) {
  bool never = false;
  tu_run_until(loop, &never, seconds);
}

/* Is a pid still alive (and not a zombie)? */
static inline bool tu_alive(int pid) {
  char path[64], state = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  int n = fscanf(f, "%*d %*s %c", &state);
  fclose(f);
  return n == 1 && state != 'Z' && state != 'X';
}

/* Counts the processes in /proc for which match(state, ppid, pgrp, arg)
 * holds. comm is read as one word: true for the programs we start. */
typedef bool (*tu_proc_match)(char state, int ppid, int pgrp, int arg);

static inline int tu_proc_count(tu_proc_match match, int arg) {
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)) != NULL) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    char path[64], state = 0;
    int ppid = 0, pgrp = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fscanf(f, "%*d %*s %c %d %d", &state, &ppid, &pgrp) == 3 &&
        match(state, ppid, pgrp, arg))
      n++;
    fclose(f);
  }
  closedir(d);
  return n;
}

static inline bool tu_live_in_group(char state, int ppid, int pgrp, int pgid) {
  (void)ppid;
  return pgrp == pgid && state != 'Z' && state != 'X';
}

/* Is any live (non-zombie) process in process group pgid? Zombies are
 * excluded: whoever inherited them reaps them on its own schedule. */
static inline bool tu_group_alive(int pgid) {
  return tu_proc_count(tu_live_in_group, pgid) > 0;
}

#endif
