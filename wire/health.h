/*
 * health.h — the standard gRPC health-checking messages (proto/health.proto,
 * grpc.health.v1), both ways: the pool asks Check before it trusts an
 * attached worker, the C worker answers it.
 *
 * Owns: the method path and encoding/decoding of HealthCheckRequest and
 * HealthCheckResponse. May call: protobuf-c's generated code only.
 */
#ifndef WPI_HEALTH_H
#define WPI_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#define WPI_HEALTH_CHECK_METHOD "/grpc.health.v1.Health/Check"

/* HealthCheckResponse.ServingStatus, as the .proto numbers it. */
enum {
  WPI_HEALTH_UNKNOWN = 0,
  WPI_HEALTH_SERVING = 1,
  WPI_HEALTH_NOT_SERVING = 2,
  WPI_HEALTH_SERVICE_UNKNOWN = 3,
};

/* A HealthCheckRequest for service "" (the whole server) into buf; its
 * length (0: empty message, which is what proto3 encodes for ""). */
size_t wpi_health_request_pack(uint8_t *buf, size_t cap);
/* The status a HealthCheckResponse carries, or -1 when the bytes are not
 * one. */
int wpi_health_status(const uint8_t *f, size_t len);
/* The service a HealthCheckRequest names ("" for the server), copied into
 * buf (NUL-terminated, cut at cap); -1 when the bytes are not one. */
int wpi_health_service(const uint8_t *f, size_t len, char *buf, size_t cap);
/* A HealthCheckResponse with status into buf (cap >= 8); its length. */
size_t wpi_health_response_pack(int status, uint8_t *buf, size_t cap);

#endif
