/*
 * registry.c — the scenarios of the suite, in the order they run.
 *
 * Floors come first so that every pool figure after them can be read
 * against a floor measured minutes earlier on the same machine state. A new
 * scenario is one file plus one line here (see baseline.h).
 */
#include <string.h>

#include "baseline.h"

const wb_scenario_t *const bl_scenarios[] = {
    &scn_floors,
    &scn_startup,
    &scn_throughput,
    &scn_latency,
    &scn_openloop,
    &scn_payload,
    &scn_memory,
    &scn_recovery,
    &scn_workload,
    &scn_instructions,
};
const size_t bl_nscenarios = sizeof bl_scenarios / sizeof bl_scenarios[0];

int bl_scenario_find(const char *name) {
  for (size_t i = 0; i < bl_nscenarios; i++)
    if (strcmp(bl_scenarios[i]->name, name) == 0) return (int)i;
  return -1;
}
