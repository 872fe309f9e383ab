/*
 * sha256.c — an example C worker on the SDK (wpw.h): the method "sha256"
 * answers the 32-byte SHA-256 digest of its payload, computed by OpenSSL's
 * EVP interface (libcrypto), and "sha256_hex" the same as 64 hex digits.
 *
 *   make                                   # builds build/wpool-example-sha256
 *   build/wpool ping -n 2 --worker build/wpool-example-sha256 \
 *        --call sha256_hex --payload-file README.md --requests 10000
 */
#include <stdio.h>

#include <openssl/evp.h>

#include "wpw.h"

static int digest(wpw_ctx_t *ctx, const uint8_t *in, size_t len,
                  unsigned char md[EVP_MAX_MD_SIZE], unsigned *mdlen) {
  if (!EVP_Digest(in, len, md, mdlen, EVP_sha256(), NULL))
    return wpw_fail(ctx, "EVP_Digest failed");
  return 0;
}

static int sha256(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  (void)arg;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n;
  if (digest(ctx, in, len, md, &n)) return -1;
  return wpw_reply(ctx, md, n) ? wpw_fail(ctx, "out of memory") : 0;
}

static int sha256_hex(wpw_ctx_t *ctx, const uint8_t *in, size_t len, void *arg) {
  (void)arg;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n;
  if (digest(ctx, in, len, md, &n)) return -1;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return wpw_reply(ctx, hex, 2 * n) ? wpw_fail(ctx, "out of memory") : 0;
}

int main(int argc, char **argv) {
  wpw_method("sha256", sha256, NULL);
  wpw_method("sha256_hex", sha256_hex, NULL);
  return wpw_run(argc, argv);
}
