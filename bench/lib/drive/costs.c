/* costs.c — per-operation cost counters of a process tree; see costs.h. */
#include "costs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- small /proc readers ------------------------------------------------ */

/* Reads a small file whole into buf (NUL-terminated); bytes read or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

static uint64_t field_u64(const char *text, const char *key) {
  const char *at = strstr(text, key);
  return at ? strtoull(at + strlen(key), NULL, 10) : 0;
}

typedef struct task {
  int tid;
  uint64_t cpu_ns, csw;
} task_t;

static int read_task(int pid, int tid, task_t *t) {
  char path[96], buf[2048];
  t->tid = tid;
  snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", pid, tid);
  if (slurp(path, buf, sizeof buf) < 0) return -1;
  t->cpu_ns = strtoull(buf, NULL, 10);
  snprintf(path, sizeof path, "/proc/%d/task/%d/status", pid, tid);
  if (slurp(path, buf, sizeof buf) < 0) return -1;
  /* "\nvoluntary" so the nonvoluntary line cannot match the first key. */
  t->csw = field_u64(buf, "\nvoluntary_ctxt_switches:") +
           field_u64(buf, "\nnonvoluntary_ctxt_switches:");
  return 0;
}

/* The live threads of pid, read now. Why a list, not a sum: a thread that
 * exits between two snapshots would otherwise subtract its whole life. */
typedef struct proc_snap {
  int pid;
  task_t *tasks;
  size_t n;
} proc_snap_t;

/* The thread ids of pid into a malloc'ed array; -1 when pid is gone. */
static int list_tids(int pid, int **tids, size_t *n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  *tids = NULL;
  *n = 0;
  if (!d) return -1;
  size_t cap = 0;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d)) && rc == 0) {
    int tid = atoi(e->d_name);
    if (tid <= 0) continue;
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      int *v = realloc(*tids, cap * sizeof *v);
      if (!v) rc = -1;
      else *tids = v;
    }
    if (rc == 0) (*tids)[(*n)++] = tid;
  }
  closedir(d);
  return rc;
}

static int snap_proc(int pid, proc_snap_t *s) {
  int *tids;
  size_t n;
  s->pid = pid;
  s->n = 0;
  s->tasks = NULL;
  if (list_tids(pid, &tids, &n) != 0) return -1;
  s->tasks = calloc(n ? n : 1, sizeof *s->tasks);
  for (size_t i = 0; s->tasks && i < n; i++)
    if (read_task(pid, tids[i], &s->tasks[s->n]) == 0) s->n++;
  free(tids);
  return s->tasks && s->n ? 0 : -1; /* no thread readable: the process is gone */
}

static const task_t *find_task(const proc_snap_t *s, int tid) {
  for (size_t i = 0; i < s->n; i++)
    if (s->tasks[i].tid == tid) return &s->tasks[i];
  return NULL;
}

uint64_t wb_costs_self_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t self_csw(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

int wb_costs_proc_cpu_ns(int pid, uint64_t *ns) {
  proc_snap_t s;
  *ns = 0;
  int rc = snap_proc(pid, &s);
  for (size_t i = 0; i < s.n; i++) *ns += s.tasks[i].cpu_ns;
  free(s.tasks);
  return rc;
}

/* ---- syscall counters --------------------------------------------------- */

static const char *const TP_ID[] = {
    "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
    "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
};

static long tracepoint_id(void) {
  char buf[32];
  for (size_t i = 0; i < sizeof TP_ID / sizeof TP_ID[0]; i++)
    if (slurp(TP_ID[i], buf, sizeof buf) > 0) return strtol(buf, NULL, 10);
  return -1;
}

static long tp_id = -1;

/* A counting (not sampling) counter of sys_enter on one task; inherit, so
 * the threads it starts later are counted in it. */
static int open_counter(int tid) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_TRACEPOINT;
  a.size = sizeof a;
  a.config = (uint64_t)tp_id;
  a.inherit = 1;
  return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

const char *wb_costs_syscalls_unavailable(void) {
  static int probed;
  static const char *why;
  static char buf[160];
  if (probed) return why;
  probed = 1;
  tp_id = tracepoint_id();
  if (tp_id < 0) { /* tracefs not mounted yet: root may mount it, once */
    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
    tp_id = tracepoint_id();
  }
  if (tp_id < 0)
    return why = "unavailable: no tracefs (raw_syscalls/sys_enter/id unreadable "
                 "under /sys/kernel/tracing and /sys/kernel/debug/tracing)";
  int fd = open_counter(0);
  if (fd < 0) {
    snprintf(buf, sizeof buf, "unavailable: perf_event_open(raw_syscalls:sys_enter): %s",
             strerror(errno));
    return why = buf;
  }
  close(fd);
  return why = NULL;
}

/* ---- a window ----------------------------------------------------------- */

typedef struct counter {
  int fd;
  int owner; /* -1: the supervisor, else the index of a worker */
} counter_t;

struct wb_costs {
  int npids;
  proc_snap_t *procs;    /* [npids], at the window's start */
  counter_t *ctr;
  size_t nctr, capctr;
  bool syscalls;
  uint64_t sup_cpu0, sup_csw0;
};

static int add_counter(wb_costs_t *w, int tid, int owner) {
  if (w->nctr == w->capctr) {
    size_t cap = w->capctr ? 2 * w->capctr : 32;
    counter_t *v = realloc(w->ctr, cap * sizeof *v);
    if (!v) return -1;
    w->ctr = v;
    w->capctr = cap;
  }
  int fd = open_counter(tid);
  if (fd < 0) return errno == ESRCH ? 0 : -1; /* a thread that just ended */
  w->ctr[w->nctr++] = (counter_t){fd, owner};
  return 0;
}

static int count_tasks_of(wb_costs_t *w, int pid, int owner) {
  int *tids;
  size_t n;
  if (list_tids(pid, &tids, &n) != 0) return -1;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) rc = add_counter(w, tids[i], owner);
  free(tids);
  return rc;
}

/* One counter per task of this process and of each worker; all or none. */
static void start_syscalls(wb_costs_t *w, const int *pids) {
  if (wb_costs_syscalls_unavailable()) return;
  int rc = count_tasks_of(w, getpid(), -1);
  for (int i = 0; i < w->npids && rc == 0; i++) rc = count_tasks_of(w, pids[i], i);
  w->syscalls = rc == 0;
}

static void free_window(wb_costs_t *w) {
  for (size_t i = 0; i < w->nctr; i++) close(w->ctr[i].fd);
  for (int i = 0; w->procs && i < w->npids; i++) free(w->procs[i].tasks);
  free(w->procs);
  free(w->ctr);
  free(w);
}

wb_costs_t *wb_costs_begin(const int *pids, int npids, bool count_syscalls) {
  wb_costs_t *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->npids = npids;
  w->procs = calloc(npids > 0 ? (size_t)npids : 1, sizeof *w->procs);
  if (!w->procs) {
    free(w);
    return NULL;
  }
  if (count_syscalls) start_syscalls(w, pids);
  for (int i = 0; i < npids; i++) snap_proc(pids[i], &w->procs[i]);
  /* Last, so the supervisor's reading of /proc above is not in its window. */
  w->sup_cpu0 = wb_costs_self_cpu_ns();
  w->sup_csw0 = self_csw();
  return w;
}

static void read_syscalls(const wb_costs_t *w, wb_cost_t *out) {
  for (size_t i = 0; i < w->nctr; i++) {
    uint64_t v = 0;
    if (read(w->ctr[i].fd, &v, sizeof v) != (ssize_t)sizeof v) v = 0;
    if (w->ctr[i].owner < 0) out->sup_syscalls += (double)v;
    else out->wrk_syscalls += (double)v;
  }
  out->syscalls = true;
}

/* Worker i's CPU and switches since the window began, thread by thread. */
static int worker_delta(const wb_costs_t *w, int i, wb_cost_t *out) {
  const proc_snap_t *then = &w->procs[i];
  proc_snap_t now = {0};
  int rc = then->n ? snap_proc(then->pid, &now) : -1;
  for (size_t k = 0; rc == 0 && k < now.n; k++) {
    const task_t *t = &now.tasks[k], *t0 = find_task(then, t->tid);
    out->wrk_cpu_ns += (double)(t->cpu_ns - (t0 ? t0->cpu_ns : 0));
    out->wrk_csw += (double)(t->csw - (t0 ? t0->csw : 0));
  }
  free(now.tasks);
  return rc;
}

int wb_costs_end(wb_costs_t *w, wb_cost_t *out) {
  memset(out, 0, sizeof *out);
  out->sup_cpu_ns = (double)(wb_costs_self_cpu_ns() - w->sup_cpu0);
  out->sup_csw = (double)(self_csw() - w->sup_csw0);
  if (w->syscalls) read_syscalls(w, out);
  int rc = 0;
  for (int i = 0; i < w->npids && rc == 0; i++) rc = worker_delta(w, i, out);
  if (rc != 0) memset(out, 0, sizeof *out);
  free_window(w);
  return rc;
}
