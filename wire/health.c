/*
 * health.c — grpc.health.v1 messages both ways; see health.h. The generated
 * protobuf-c code does the encoding: nothing here is hand-packed.
 */
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "health.pb-c.h"

size_t wpi_health_request_pack(uint8_t *buf, size_t cap) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  size_t n = grpc__health__v1__health_check_request__get_packed_size(&req);
  return n <= cap ? grpc__health__v1__health_check_request__pack(&req, buf) : 0;
}

int wpi_health_status(const uint8_t *f, size_t len) {
  Grpc__Health__V1__HealthCheckResponse *r =
      grpc__health__v1__health_check_response__unpack(NULL, len, f);
  if (!r) return -1;
  int st = (int)r->status;
  grpc__health__v1__health_check_response__free_unpacked(r, NULL);
  return st;
}

int wpi_health_service(const uint8_t *f, size_t len, char *buf, size_t cap) {
  Grpc__Health__V1__HealthCheckRequest *r =
      grpc__health__v1__health_check_request__unpack(NULL, len, f);
  if (!r) return -1;
  snprintf(buf, cap, "%s", r->service ? r->service : "");
  grpc__health__v1__health_check_request__free_unpacked(r, NULL);
  return 0;
}

size_t wpi_health_response_pack(int status, uint8_t *buf, size_t cap) {
  Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  r.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
  size_t n = grpc__health__v1__health_check_response__get_packed_size(&r);
  return n <= cap ? grpc__health__v1__health_check_response__pack(&r, buf) : 0;
}
