/*
 * wpool-ab — judges interleaved A/B rounds (bench/ab runs them; layout and
 * modules in ab.h, the rule in judge.c).
 *
 * Exit: 0 no regression, 1 regression, 2 bad input or usage (one line on
 * stderr), 3 inconclusive.
 */
#include <stdio.h>

#include "ab.h"

enum { EXIT_OK = 0, EXIT_REGRESSION = 1, EXIT_BAD_INPUT = 2, EXIT_INCONCLUSIVE = 3 };

static int bad_input(const char *why) {
  fprintf(stderr, "ab: %s\n", why);
  return EXIT_BAD_INPUT;
}

static int verdict_exit(ab_verdict_t v) {
  return v == AB_REGRESSION ? EXIT_REGRESSION
       : v == AB_NO_REGRESSION ? EXIT_OK : EXIT_INCONCLUSIVE;
}

int main(int argc, char **argv) {
  ab_opts_t o;
  ab_set_t s = {0};
  char why[1024];
  int rc = ab_opts_parse(argc, argv, &o, why, sizeof why);
  if (rc == 1)
    return EXIT_OK;
  if (rc != 0)
    return bad_input(why);
  if (ab_rounds_load(o.dir, &s, why, sizeof why) != 0)
    rc = bad_input(why);
  else if (s.nm == 0 && json_array_size(s.failures) == 0)
    rc = bad_input("no metric in common between the two sides");
  else if (ab_judge(&s, &o) != 0 || ab_render(&s, &o, stdout) != 0)
    rc = bad_input("out of memory");
  else
    rc = verdict_exit(s.verdict);
  if (fflush(stdout) != 0 && rc != EXIT_BAD_INPUT)
    rc = bad_input("stdout: write failed");
  ab_set_free(&s);
  return rc;
}
