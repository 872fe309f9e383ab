/* charts.c — see charts.h. */
#include "charts.h"

#include "proc.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int wb_charts_draw(const char *tool, const char *path, bool latest) {
  char report[PATH_MAX], result[PATH_MAX];
  const char *why = "wpool-report above";
  const char *slash = strrchr(path, '/');
  if (!latest)
    snprintf(result, sizeof result, "%s", path);
  else if (slash)
    snprintf(result, sizeof result, "%.*s/latest.json", (int)(slash - path), path);
  else
    snprintf(result, sizeof result, "latest.json");
  if (wb_sibling_path("wpool-report", report, sizeof report) != 0) {
    why = "cannot locate wpool-report";
    goto fail;
  }
  fflush(stdout);
  fflush(stderr);
  /* The benchmarks ignore SIGPIPE; the report (and its gnuplot) need not. */
  posix_spawnattr_t attr;
  sigset_t dflt;
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigdefault(&attr, &dflt);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  char *argv[] = {report, result, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, report, NULL, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    why = strerror(rc);
    goto fail;
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) {
      why = strerror(errno);
      goto fail;
    }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
fail:
  fprintf(stderr, "%s: charts failed (%s); results are saved\n", tool, why);
  return -1;
}
