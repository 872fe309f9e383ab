/*
 * wpool-ab — judges interleaved A/B rounds (bench/ab runs them; layout and
 * modules in ab.h, the rule in judge.c).
 *
 * Exit: 0 no regression, 1 regression, 2 bad input or usage (one line on
 * stderr), 3 inconclusive.
 */
#include <stdio.h>

#include "ab.h"
#include "cmdline.h"

static int bad_input(const char *why) {
  fprintf(stderr, "ab: %s\n", why);
  return WB_EXIT_USAGE;
}

static int verdict_exit(ab_verdict_t v) {
  return v == AB_REGRESSION ? WB_EXIT_REGRESSION
       : v == AB_NO_REGRESSION ? WB_EXIT_OK : WB_EXIT_INCONCLUSIVE;
}

int main(int argc, char **argv) {
  ab_opts_t o;
  ab_set_t s = {0};
  char why[1024];
  int rc = ab_opts_parse(argc, argv, &o, why, sizeof why);
  if (rc == 1)
    return WB_EXIT_OK;
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
  if (fflush(stdout) != 0 && rc != WB_EXIT_USAGE)
    rc = bad_input("stdout: write failed");
  ab_set_free(&s);
  return rc;
}
