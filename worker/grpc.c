/* grpc.c — placeholder until the gRPC transport lands (issue 3). */
#include <stdio.h>

#include "worker.h"

int wk_grpc_serve(const wk_config_t *cfg) {
  (void)cfg;
  fprintf(stderr, "wpool-worker: gRPC transport not built yet\n");
  return 1;
}
