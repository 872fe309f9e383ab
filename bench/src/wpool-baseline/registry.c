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
    &scn_stress, &scn_spike, &scn_soak,
    &scn_remote,
};
const size_t bl_nscenarios = sizeof bl_scenarios / sizeof bl_scenarios[0];

int bl_scenario_find(const char *name) {
  for (size_t i = 0; i < bl_nscenarios; i++)
    if (strcmp(bl_scenarios[i]->name, name) == 0) return (int)i;
  return -1;
}

/* The load shapes take minutes: never in the default suite. */
static const wb_scenario_t *const opt_in[] = {&scn_stress, &scn_spike, &scn_soak,
                                              &scn_remote};

bool bl_scenario_opt_in(size_t i) {
  for (size_t k = 0; k < sizeof opt_in / sizeof opt_in[0]; k++)
    if (i < bl_nscenarios && bl_scenarios[i] == opt_in[k]) return true;
  return false;
}
