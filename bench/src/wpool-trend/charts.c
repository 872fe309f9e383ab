/*
 * charts.c — bench/trend --charts DIR: the trend's JSON saved as
 * DIR/trend.json and handed to wpool-report (the program beside this
 * one), which draws every chart of the project: one place for chart
 * styles, and the trend's page is the same as any report's.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results.h"
#include "trend.h"

extern char **environ;

/* "<directory of this program>/wpool-report". */
static int report_path(char *buf, size_t cap) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = '\0';
  return snprintf(buf, cap, "%s/wpool-report", dirname(self)) < (int)cap ? 0 : -1;
}

int tr_charts(const char *dir, json_t *doc) {
  char json[PATH_MAX], report[PATH_MAX];
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "trend: cannot create %s: %s\n", dir, strerror(errno));
    return -1;
  }
  snprintf(json, sizeof json, "%s/trend.json", dir);
  if (wb_results_write(doc, json) != 0) {
    fprintf(stderr, "trend: cannot write %s: %s\n", json, strerror(errno));
    return -1;
  }
  if (report_path(report, sizeof report) != 0 || access(report, X_OK) != 0) {
    fprintf(stderr, "trend: no wpool-report beside this program to draw the charts (make)\n");
    return -1;
  }
  char *argv[] = {report, json, "--out", (char *)dir, "--html", NULL};
  pid_t pid;
  int st;
  /* its "report: ..." line goes to stderr: stdout may be our JSON */
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
  fflush(stdout);
  int rc = posix_spawn(&pid, report, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
