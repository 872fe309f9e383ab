/* arena.c — see arena.h. */
#include "arena.h"

#include <stdlib.h>

static void *arena_alloc(void *data, size_t n) {
  wpi_arena_t *a = data;
  size_t at = (a->used + 15) & ~(size_t)15; /* malloc's alignment */
  if (n <= sizeof a->buf && at <= sizeof a->buf - n) {
    a->used = at + n;
    return a->buf + at;
  }
  a->spilled++;
  return malloc(n);
}

static void arena_free(void *data, void *p) {
  wpi_arena_t *a = data;
  if ((uint8_t *)p >= a->buf && (uint8_t *)p < a->buf + sizeof a->buf) return;
  free(p);
}

void wpi_arena_init(wpi_arena_t *a) {
  a->pa.alloc = arena_alloc;
  a->pa.free = arena_free;
  a->pa.allocator_data = a;
  a->used = a->spilled = 0;
}

void wpi_arena_release(wpi_arena_t *a, ProtobufCMessage *m) {
  /* Nothing malloc'd: the blocks all lie in buf, and emptying it is all. */
  if (m && a->spilled) protobuf_c_message_free_unpacked(m, &a->pa);
  a->used = a->spilled = 0;
}
