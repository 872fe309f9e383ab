/*
 * noise.h — this VM's run-to-run noise as the change-point tests model it
 * (test_changepoint.c, test_trend.c): a run's median is the level times
 * exp(N(0, 4 %)), and one run in ten is hit by a neighbour's burst
 * (+10..25 %). Seeded (splitmix64 + Box–Muller): a history is the same on
 * every machine.
 */
#ifndef WP_NOISE_H
#define WP_NOISE_H

#include <math.h>
#include <stdint.h>

static uint64_t noise_state;

static inline void noise_seed(uint64_t s) { noise_state = s; }

/* Uniform in [0, 1). */
static inline double noise_uniform(void) {
  uint64_t z = (noise_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return ((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* One run's median at this level. */
static inline double noise_run(double level) {
  double u1 = noise_uniform(), u2 = noise_uniform();
  double v = level * exp(0.04 * sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2));
  return noise_uniform() < 0.1 ? v * (1.10 + 0.15 * noise_uniform()) : v;
}

#endif
