/* wire.c — see wire.h. */
#include "wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "wpool.h"
#include "wpool.pb-c.h"

/* The names packed back to back, each NUL-terminated: one allocation the
 * slot keeps for as long as its worker lives. */
static int pack_methods(char **names, size_t n, wpi_hello_t *out) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += strlen(names[i]) + 1;
  if (n == 0) return 0;
  if (!(out->methods = malloc(total))) return WP_ENOMEM;
  char *w = out->methods;
  for (size_t i = 0; i < n; i++) w = stpcpy(w, names[i]) + 1;
  out->nmethods = (uint32_t)n;
  return 0;
}

int wpi_parse_hello(const uint8_t *f, size_t len, int transport, wpi_hello_t *out) {
  memset(out, 0, sizeof *out);
  Wpool__V1__Hello *h = wpool__v1__hello__unpack(NULL, len, f);
  if (!h) return WP_EPROTO;
  bool grpc = transport == WP_TRANSPORT_GRPC;
  int rc = 0;
  if (h->protocol_version < 1 || h->protocol_version > WPI_PROTOCOL_VERSION ||
      (int)h->transport != (grpc ? WPOOL__V1__TRANSPORT__TRANSPORT_GRPC
                                 : WPOOL__V1__TRANSPORT__TRANSPORT_PIPE) ||
      (grpc && (!h->address || !*h->address)))
    rc = WP_EPROTO;
  else if (grpc && !(out->address = strdup(h->address)))
    rc = WP_ENOMEM;
  if (rc == 0) rc = pack_methods(h->methods, h->n_methods, out);
  if (rc == 0) out->version = h->protocol_version;
  else wpi_hello_free(out);
  wpool__v1__hello__free_unpacked(h, NULL);
  return rc;
}

void wpi_hello_free(wpi_hello_t *h) {
  free(h->address);
  free(h->methods);
  memset(h, 0, sizeof *h);
}

int wpi_parse_reply(const uint8_t *f, size_t len, wpi_reply_msg_t *out) {
  memset(out, 0, sizeof *out);
  Wpool__V1__Reply *r = wpool__v1__reply__unpack(NULL, len, f);
  if (!r) return WP_EPROTO;
  out->id = r->id;
  out->status = (int)r->status;
  out->err = r->status == WPOOL__V1__STATUS__STATUS_OK               ? 0
             : r->status == WPOOL__V1__STATUS__STATUS_UNKNOWN_METHOD ? WP_EUNKNOWN_METHOD
                                                                     : WP_EREMOTE;
  out->error = r->error ? r->error : "";
  out->payload = r->payload.data;
  out->payload_len = r->payload.len;
  out->msg = r;
  return 0;
}

void wpi_reply_msg_free(wpi_reply_msg_t *m) {
  if (m->msg) wpool__v1__reply__free_unpacked(m->msg, NULL);
  m->msg = NULL;
}
