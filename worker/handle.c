/* handle.c — what a request does, whatever transport carried it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"
#include "worker.h"

/* This thread's CPU time, ns. */
static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burns us microseconds of this thread's CPU time, not of wall time: with
 * more workers than CPUs a worker is preempted mid-burn, and a wall-clock
 * burn would then finish having used a fraction of the CPU it stands for,
 * so an oversubscribed pool would look faster than the CPUs allow (on
 * 2 vCPUs, 8 workers of cpu_us=1000 measured 2,050 req/s). */
void wk_burn_us(uint32_t us) {
  if (us == 0) return;
  uint64_t end = cpu_ns() + (uint64_t)us * 1000u;
  /* volatile so the loop is real work the compiler cannot drop. */
  volatile uint64_t x = 0;
  while (cpu_ns() < end)
    for (int i = 0; i < 64; i++) x += (uint64_t)i * 2654435761u;
}

static void sleep_us(uint32_t us) {
  struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* How much of a Work runs between two cancellation checks. */
#define SLICE_US 1000u

/* Burns us of CPU in slices, asking cancelled between them; 1 if it
 * stopped. CPU time is counted per slice, so slicing adds nothing. */
static int burn_sliced(uint32_t us, wk_cancelled_fn cancelled, void *arg) {
  if (!cancelled) {
    wk_burn_us(us);
    return 0;
  }
  for (; us > 0; us -= us < SLICE_US ? us : SLICE_US) {
    if (cancelled(arg)) return 1;
    wk_burn_us(us < SLICE_US ? us : SLICE_US);
  }
  return 0;
}

static struct timespec ts_add_us(struct timespec t, uint64_t us) {
  uint64_t ns = (uint64_t)t.tv_nsec + us * 1000u;
  t.tv_sec += (time_t)(ns / 1000000000u);
  t.tv_nsec = (long)(ns % 1000000000u);
  return t;
}

static int ts_before(struct timespec a, struct timespec b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Sleeps us in slices, asking cancelled between them; 1 if it stopped.
 * Each slice sleeps to an absolute time, so the total does not grow by a
 * timer's slack per slice. */
static int sleep_sliced(uint32_t us, wk_cancelled_fn cancelled, void *arg) {
  if (!cancelled) {
    sleep_us(us);
    return 0;
  }
  struct timespec now, end;
  clock_gettime(CLOCK_MONOTONIC, &now);
  end = ts_add_us(now, us);
  while (ts_before(now, end)) {
    if (cancelled(arg)) return 1;
    struct timespec next = ts_add_us(now, SLICE_US);
    if (ts_before(end, next)) next = end;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
  }
  return 0;
}

/* Scratch buffer for Work replies; grows to the largest reply asked for. */
static uint8_t *scratch;
static size_t scratch_cap;

static uint8_t *scratch_get(size_t n) {
  if (n > scratch_cap) {
    uint8_t *p = realloc(scratch, n);
    if (!p) return NULL;
    memset(p + scratch_cap, 'w', n - scratch_cap);
    scratch = p;
    scratch_cap = n;
  }
  return scratch;
}

static void set_error(wk_result_t *out, Wpool__V1__Status st, const char *msg) {
  out->reply.status = st;
  out->reply.error = (char *)msg;
}

void wk_handle(const wk_config_t *cfg, const Wpool__V1__Request *req,
               wk_result_t *out) {
  wk_handle_until(cfg, req, out, NULL, NULL);
}

void wk_handle_until(const wk_config_t *cfg, const Wpool__V1__Request *req,
                     wk_result_t *out, wk_cancelled_fn cancelled, void *arg) {
  wpool__v1__reply__init(&out->reply);
  out->shutdown = 0;
  out->cancelled = 0;
  out->reply.id = req->id;
  switch (req->kind_case) {
  case WPOOL__V1__REQUEST__KIND_PING:
    out->reply.payload = req->ping->payload;
    break;
  case WPOOL__V1__REQUEST__KIND_WORK: {
    const Wpool__V1__Work *w = req->work;
    if (burn_sliced(w->cpu_us, cancelled, arg) ||
        sleep_sliced(w->sleep_us, cancelled, arg)) {
      out->cancelled = 1;
      set_error(out, WPOOL__V1__STATUS__STATUS_WORKER_ERROR, "cancelled");
      break;
    }
    if (w->reply_bytes > 0) {
      uint8_t *p = scratch_get(w->reply_bytes);
      if (!p) {
        set_error(out, WPOOL__V1__STATUS__STATUS_WORKER_ERROR, "out of memory");
        break;
      }
      out->reply.payload.data = p;
      out->reply.payload.len = w->reply_bytes;
    } else {
      out->reply.payload = w->payload;
    }
    break;
  }
  case WPOOL__V1__REQUEST__KIND_CALL:
    wk_call(req->call, cfg->compact, &out->reply);
    break;
  case WPOOL__V1__REQUEST__KIND_SHUTDOWN:
    out->shutdown = 1;
    break;
  default:
    set_error(out, WPOOL__V1__STATUS__STATUS_BAD_REQUEST, "request has no kind");
    break;
  }
  wk_burn_us(cfg->delay_us);
}

int wk_write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int wk_write_hello(int fd, int transport, const char *address, uint32_t version) {
  wpi_hello_info_t h = {.pid = (uint32_t)getpid(),
                        .version = version,
                        .grpc = transport == WPOOL__V1__TRANSPORT__TRANSPORT_GRPC,
                        .address = address};
  h.methods = wk_method_names(&h.nmethods);
  /* On the stack as a rule: this is on every worker's start path. */
  uint8_t small[WPI_FRAME_HDR + 512];
  size_t n = wpi_hello_frame(&h, small, sizeof small);
  uint8_t *buf = n <= sizeof small ? small : malloc(n);
  if (!buf) return -1;
  if (buf != small) wpi_hello_frame(&h, buf, n);
  int rc = wk_write_all(fd, buf, n);
  if (buf != small) free(buf);
  return rc;
}

/* PR_SET_PDEATHSIG fires when the parent *thread* that spawned us exits:
 * libwpool spawns from its loop thread, which lives as long as the pool. */
void wk_die_with_parent(void) {
  pid_t seen = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != seen) _exit(1);
  /* The supervisor may have died before the prctl: then we were already
   * re-parented and the signal will never come. libwpool passes its pid in
   * WPOOL_PPID; without it (started by hand) only the parent we saw at
   * startup can be compared. A supervisor that is PID 1 is fine. */
  const char *env = getenv("WPOOL_PPID");
  if (env && *env) {
    if (getppid() != (pid_t)atoi(env)) _exit(1);
  }
}
