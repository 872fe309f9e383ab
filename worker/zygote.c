/*
 * zygote.c — the C worker SDK's template mode (wire/zygote.h): started by
 * the pool with WPOOL_ZYGOTE=FD, the worker does its set-up once (the
 * dynamic loader, wpw_method registrations, whatever main did before
 * wpw_run) and then forks one worker per request from the pool.
 *
 * The template: SIGCHLD through a signalfd, the pool's socket polled with
 * it; a SPAWN brings the child's stdin/stdout[/stderr] (SCM_RIGHTS, received
 * close-on-exec); it forks, closes its copies, reports FORKED {pid}. A
 * child that exits is killed with its group (the pid is still held by the
 * zombie, so the group cannot be a stranger's), reaped, and reported as
 * EXITED {pid, status}. EOF on the socket: the pool is done or gone, the
 * template exits and its children die with it (PR_SET_PDEATHSIG).
 *
 * The child: default SIGCHLD and mask, its own process group (the pool's
 * stop signals it as for exec), PR_SET_PDEATHSIG SIGKILL on the template,
 * the received descriptors as 0/1/2, every other descriptor closed (the
 * template's socket, its signalfd, anything set-up opened), WPOOL_PPID the
 * template's pid; then wpw_run goes on with the normal worker loop.
 *
 * Owns: the template's loop. May call: libc; nothing of the pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/* Kills each exited child's group, reaps it, reports it. */
static int reap_children(int sock) {
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0) return 0;
    pid_t pid = si.si_pid;
    kill(-pid, SIGKILL);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return 0;
    if (report(sock, WPI_ZYG_EXITED, 0, pid, st) != 0) return -1;
  }
}

/* In the child, right after the fork: become the worker of fds. */
static void become_worker(const int *fds, int nfds, pid_t tmpl, const sigset_t *old) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != tmpl) _exit(1); /* the template died before the prctl */
  signal(SIGCHLD, SIG_DFL);
  sigprocmask(SIG_SETMASK, old, NULL);
  for (int i = 0; i < nfds; i++) {
    if (fds[i] == i) fcntl(i, F_SETFD, 0); /* dup2 onto itself keeps CLOEXEC */
    else dup2(fds[i], i);
  }
  close_range(3, ~0u, 0); /* socket, signalfd, the received copies, the rest */
  unsetenv(WPI_ZYG_ENV);
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
  char buf[24];
  snprintf(buf, sizeof buf, "%d", (int)self);
  setenv("WPOOL_PPID", buf, 1); /* the children's parent is us */
  fcntl(sock, F_SETFD, FD_CLOEXEC);
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0 || report(sock, WPI_ZYG_READY, 0, self, 0) != 0) {
    *code = 1;
    return 0;
  }
  for (;;) {
    struct pollfd pf[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(pf, 2, -1) < 0 && errno != EINTR) break;
    if (pf[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      if (reap_children(sock) != 0) break;
    }
    if (!pf[0].revents) continue;
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
    pid_t pid = fork();
    if (pid == 0) {
      become_worker(fds, nfds, self, &old);
      return 1;
    }
    int e = errno;
    for (int i = 0; i < nfds; i++) close(fds[i]);
    if (report(sock, pid > 0 ? WPI_ZYG_FORKED : WPI_ZYG_FAILED, m.tag, pid, pid > 0 ? 0 : e) != 0)
      break;
  }
  *code = 0;
  return 0;
}
