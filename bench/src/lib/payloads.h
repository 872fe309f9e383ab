/*
 * payloads.h — the user's request payloads, read from files: one file
 * (--payload-file), every regular file of a directory, or the lines of a
 * .jsonl file (--payloads), for the commands that run the user's calls
 * (wpool ping, bench/baseline's workload, bench/tune).
 *
 * Owns: reading and checking them (readable, not empty as a set, each one
 * under the frame limit). A bad set is the user's input: the loader says
 * why in one line (into the caller's buffer) and the command exits 2.
 */
#ifndef WB_PAYLOADS_H
#define WB_PAYLOADS_H

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

#endif
