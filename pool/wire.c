/* wire.c — see wire.h. */
#include "wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wpool.h"
#include "wpool.pb-c.h"

int wp_parse_hello(const uint8_t *f, size_t len, int transport, char **address,
                   uint32_t *version) {
  *address = NULL;
  *version = 0;
  Wpool__V1__Hello *h = wpool__v1__hello__unpack(NULL, len, f);
  if (!h) return WP_EPROTO;
  bool grpc = transport == WP_TRANSPORT_GRPC;
  int rc = 0;
  if (h->protocol_version < 1 || h->protocol_version > WP_PROTOCOL_VERSION ||
      (int)h->transport != (grpc ? WPOOL__V1__TRANSPORT__TRANSPORT_GRPC
                                 : WPOOL__V1__TRANSPORT__TRANSPORT_PIPE) ||
      (grpc && (!h->address || !*h->address)))
    rc = WP_EPROTO;
  else if (grpc && !(*address = strdup(h->address)))
    rc = WP_ENOMEM;
  if (rc == 0) *version = h->protocol_version;
  wpool__v1__hello__free_unpacked(h, NULL);
  return rc;
}

int wp_parse_reply(const uint8_t *f, size_t len, wp_reply_msg_t *out) {
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

void wp_reply_msg_free(wp_reply_msg_t *m) {
  if (m->msg) wpool__v1__reply__free_unpacked(m->msg, NULL);
  m->msg = NULL;
}
