/*
 * zygote.c — the C worker SDK's template mode (wire/zygote.h): started by
 * the pool with WPOOL_ZYGOTE=FD, the worker does its set-up once (the
 * dynamic loader, wpw_method registrations, whatever main did before
 * wpw_run) and then forks one worker per request from the pool.
 *
 * The template: a SPAWN brings the child's stdin/stdout[/stderr]
 * (SCM_RIGHTS, received close-on-exec); it clones a child with
 * CLONE_PARENT, closes its copies, and goes back to waiting. EOF on the
 * socket: the pool is done or gone, the template exits.
 *
 * Why CLONE_PARENT: the child's parent is then the supervisor, exactly as
 * for an exec'd worker, so it outlives its template (a template crash
 * fails no call) and the supervisor reaps it and sees its wait status
 * itself: the template never waits for nor reports its children. The
 * clone is the raw syscall (glibc's fork has no flags): no atfork handlers
 * run and glibc's cached thread id in the child's TCB stays the
 * template's. That is sound here because the template is single-threaded
 * (no lock can be held by another thread) and glibc >= 2.34 asks the
 * kernel for the tid where it matters to a single-threaded child (raise,
 * abort); getpid is not cached since glibc 2.25.
 *
 * The child: its own process group (the pool's stop signals it as for
 * exec), PR_SET_PDEATHSIG SIGKILL armed against the supervisor and
 * checked against WPOOL_PPID (the supervisor's pid, left as the pool set
 * it: a supervisor that died before the prctl is seen), then it reports
 * FORKED {tag, pid} itself (so a template that dies right after the clone
 * cannot lose the report), makes the received descriptors its 0/1/2 and
 * closes every other one (the template's socket, anything set-up opened);
 * then wpw_run goes on with the normal worker loop.
 *
 * Owns: the template's loop. May call: libc; wk_die_with_parent (handle.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "worker.h"
#include "zygote.h"

static int report(int sock, uint32_t op, uint32_t tag, pid_t pid, int status) {
  wpi_zyg_msg_t m = {.op = op, .tag = tag, .pid = (int32_t)pid, .status = status};
  ssize_t n;
  do n = send(sock, &m, sizeof m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof m ? 0 : -1;
}

/* In the child, right after the clone: report itself, then become the
 * worker of fds. */
static void become_worker(int sock, uint32_t tag, const int *fds, int nfds) {
  setpgid(0, 0);
  wk_die_with_parent(); /* the supervisor, WPOOL_PPID: it died first? exit */
  if (report(sock, WPI_ZYG_FORKED, tag, getpid(), 0) != 0) _exit(1);
  for (int i = 0; i < nfds; i++) {
    if (fds[i] == i) fcntl(i, F_SETFD, 0); /* dup2 onto itself keeps CLOEXEC */
    else dup2(fds[i], i);
  }
  close_range(3, ~0u, 0); /* the socket, the received copies, the rest */
  unsetenv(WPI_ZYG_ENV);
}

/* fork(), but the child's parent is our parent (the supervisor). */
static pid_t clone_parent(void) {
  return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

/* Receives one SPAWN; its descriptors into fds, its flags into args
 * (NUL-separated, *nargs bytes). 0 on EOF, -1 on error. */
static int recv_ask(int sock, wpi_zyg_msg_t *m, int *fds, int *nfds, char *args,
                    size_t *nargs) {
  struct iovec iov[2] = {{.iov_base = m, .iov_len = sizeof *m},
                         {.iov_base = args, .iov_len = WPI_ZYG_ARGS_MAX}};
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  ssize_t n;
  do n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return (int)n;
  *nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      memcpy(fds, CMSG_DATA(c), (size_t)k * sizeof(int));
      *nfds = k;
    }
  if (n < (ssize_t)sizeof *m || (mh.msg_flags & MSG_TRUNC)) return -1;
  *nargs = (size_t)n - sizeof *m;
  if (*nargs && args[*nargs - 1] != '\0') return -1;
  return m->op == WPI_ZYG_SPAWN && *nfds >= 2 && *nfds <= 3 ? 1 : -1;
}

int wk_zygote_run(int sock, int *code, char *args, size_t *nargs) {
  pid_t self = getpid();
  fcntl(sock, F_SETFD, FD_CLOEXEC);
  if (report(sock, WPI_ZYG_READY, 0, self, 0) != 0) {
    *code = 1;
    return 0;
  }
  for (;;) {
    wpi_zyg_msg_t m;
    int fds[3] = {-1, -1, -1}, nfds = 0;
    int r = recv_ask(sock, &m, fds, &nfds, args, nargs);
    if (r == 0) break; /* EOF: the pool is done or gone */
    if (r < 0) {
      for (int i = 0; i < nfds; i++) close(fds[i]);
      if (errno == EAGAIN) continue;
      fprintf(stderr, "wpool zygote[%d]: bad message from the pool\n", (int)self);
      break;
    }
    pid_t pid = clone_parent();
    if (pid == 0) {
      become_worker(sock, m.tag, fds, nfds);
      return 1;
    }
    int e = errno;
    for (int i = 0; i < nfds; i++) close(fds[i]);
    /* The child reports FORKED itself; a failure is ours to report. */
    if (pid < 0 && report(sock, WPI_ZYG_FAILED, m.tag, 0, e) != 0) break;
  }
  *code = 0;
  return 0;
}
