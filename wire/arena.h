/*
 * arena.h — a decode arena: protobuf-c's allocator over a buffer the
 * caller holds (on its stack, in its struct), so decoding a small message
 * costs no malloc and dropping it no free walk.
 *
 * Why: a ping's Request or Reply unpacks into three or four small blocks
 * (the message, its oneof, the bytes); their malloc/free and protobuf-c's
 * free_unpacked walk were ~15 % of the supervisor's instructions per
 * request and ~25 % of the worker's (make profile). What does not fit (a
 * large payload) is malloc'd as before and freed one block at a time.
 *
 * Owns: nothing beyond the arena itself. May call: libc, protobuf-c.
 */
#ifndef WPI_ARENA_H
#define WPI_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Room for a Request or Reply with a few hundred bytes of payload. */
#define WPI_ARENA_BYTES 1024

typedef struct wpi_arena {
  ProtobufCAllocator pa;   /* what protobuf-c's unpack and free are given */
  size_t used;             /* bytes of buf handed out */
  size_t spilled;          /* blocks malloc'd because buf was full */
  _Alignas(16) uint8_t buf[WPI_ARENA_BYTES];
} wpi_arena_t;

/* Empties a (and sets it up: call before each decode into it). */
void wpi_arena_init(wpi_arena_t *a);
/* Drops message m decoded with a's allocator: frees only what spilled to
 * malloc (free_unpacked with the arena's free), then empties a. */
void wpi_arena_release(wpi_arena_t *a, ProtobufCMessage *m);

#endif
