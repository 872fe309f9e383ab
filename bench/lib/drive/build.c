/* build.c — see build.h. */
#include "build.h"

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "wpool.h"

#if defined(__GNUC__) && !defined(__clang__)
#define WB_COMPILER "gcc " __VERSION__ /* gcc's __VERSION__ is bare digits */
#else
#define WB_COMPILER __VERSION__
#endif

const wb_build_t *wb_build_facts(void) {
  static wb_build_t b;
  b = (wb_build_t){
      .version = wp_version(),
      .compiler = WB_COMPILER,
#ifdef WP_CFLAGS
      .cflags = WP_CFLAGS,
#endif
      .libuv = uv_version_string(),
      .grpc = grpc_version_string(),
      .protobuf_c = protobuf_c_version(),
  };
  return &b;
}
