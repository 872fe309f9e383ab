/*
 * payloads.h — the user's call as the commands take it (wpool ping,
 * bench/baseline's workload, bench/tune): --call METHOD with its payloads,
 * read from files: one file (--payload-file), every regular file of a
 * directory, or the lines of a .jsonl file (--payloads).
 *
 * Owns: those three options, reading and checking the payloads (readable,
 * not empty as a set, each one under the frame limit with the method), and
 * how a results file records them. A bad set is the user's input: the
 * loader says why in one line (into the caller's buffer) and the command
 * exits 2.
 *
 * May call: libc, jansson and cmdline (stat/).
 */
#ifndef WB_PAYLOADS_H
#define WB_PAYLOADS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wb_payload {
  uint8_t *data;
  size_t len;
} wb_payload_t;

typedef struct wb_payloads {
  wb_payload_t *items;
  size_t n;
  size_t total_bytes;
} wb_payloads_t;

/* Loads `path`: set = 0 reads the one file whole; set = 1 reads a
 * directory (each regular file one payload, in name order) or a .jsonl
 * file (each non-empty line a JSON string — its UTF-8 bytes — or an object
 * whose "payload" member is one). Each payload may be at most `max` bytes.
 * 0, or -1 with why (one line, no newline) in err. */
int wb_payloads_load(const char *path, int set, size_t max, wb_payloads_t *out,
                     char *err, size_t errlen);
void wb_payloads_free(wb_payloads_t *p);

typedef struct wb_call {
  const char *method;       /* --call, or NULL */
  const char *src;          /* --payload-file / --payloads, or NULL */
  int set;                  /* src is a set (--payloads) */
  wb_payloads_t payloads;   /* filled by wb_call_load (owned) */
} wb_call_t;

/* The long options, for a getopt table: name, has_arg, NULL, val. */
#define WB_CALL_LONGOPTS(call_val, file_val, set_val)        \
  {"call", required_argument, 0, (call_val)},                \
  {"payload-file", required_argument, 0, (file_val)},        \
  {"payloads", required_argument, 0, (set_val)}

/* Records --call (what 0), --payload-file (1) or --payloads (2). 0, or -1
 * with why in err (a bad method name, both payload options). */
int wb_call_opt(wb_call_t *c, int what, const char *arg, char *err, size_t errlen);
/* After the options: payloads need --call; loads them for frames of
 * max_frame bytes. 0, or -1 with why. No source: no payloads (n = 0). */
int wb_call_load(wb_call_t *c, uint32_t max_frame, char *err, size_t errlen);
void wb_call_free(wb_call_t *c);
/* {"method", "payload_source", "payloads", "payload_total_bytes"}, or
 * JSON null without --call (new reference). */
json_t *wb_call_config(const wb_call_t *c);

#endif
