/*
 * floor_proc.c — the floors' bare child process: posix_spawn with two
 * pipes, blocking reads with a time limit, whole writes (counting the
 * write() calls: the floors record requests per write), and the end of a child.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floor.h"
#include "wpool.h"

extern char **environ;

int fl_child_spawn(char *const argv[], fl_child_t *ch) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return -1;
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  /* dup2 clears FD_CLOEXEC on 0 and 1 only. */
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  pid_t pid;
  ch->t_spawn = wp_now_ns();
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    errno = rc;
    return -1;
  }
  ch->pid = pid;
  ch->in = in[1];
  ch->out = out[0];
  ch->t_byte = 0;
  return 0;
}

void fl_child_end(fl_child_t *ch) {
  if (ch->in >= 0) close(ch->in);
  if (ch->out >= 0) close(ch->out);
  ch->in = ch->out = -1;
  if (ch->pid > 0)
    while (waitpid(ch->pid, NULL, 0) < 0 && errno == EINTR) {
    }
  ch->pid = 0;
}

int fl_read_full(int fd, void *buf, size_t n, int timeout_ms) {
  char *p = buf;
  while (n > 0) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return -1;
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

int fl_write_all(int fd, const void *buf, size_t n, uint64_t *calls) {
  const char *p = buf;
  while (n > 0) {
    (*calls)++;
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}
