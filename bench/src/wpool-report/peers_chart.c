/*
 * peers_chart.c — bench/peers files: wpool and the Python pools side by
 * side (bench/peers_lib/README.md lists the ids). One series per system
 * (params.system), so each chart's table of medians is the side-by-side
 * table:
 *
 *   peers_startup   peers.startup.all_ready vs pool size
 *   peers_rps       peers.ping.rps vs requests in flight
 *   peers_latency   peers.ping P50 and P99 vs requests in flight
 *   peers_ratio_*   wpool-pipe ÷ peer, start-up vs size and req/s vs C
 *
 * Draws nothing for a file without peers.* metrics.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

typedef struct peers_pick {
  const char *prefix;       /* id group, e.g. "peers.startup.all_ready/" */
  const char *x;            /* the params key on the x axis */
  bool pcts;                /* label by percentile too (P50 and P99 only) */
} peers_pick_t;

static bool pick_peers(const char *id, const json_t *p, char *label, size_t cap,
                       double *x, const void *arg) {
  const peers_pick_t *pk = arg;
  const char *sys = json_string_value(json_object_get(p, "system"));
  if (strncmp(id, pk->prefix, strlen(pk->prefix)) != 0 || !sys) return false;
  *x = json_number_value(json_object_get(p, pk->x));
  if (!pk->pcts) {
    snprintf(label, cap, "%s", sys);
  } else {
    double pct = json_number_value(json_object_get(p, "percentile"));
    if (pct != 50 && pct != 99) return false;
    snprintf(label, cap, "%s P%.0f", sys, pct);
  }
  return isfinite(*x) && *x > 0;
}

static int draw(rp_ctx_t *c, const rp_chart_t *ch, const peers_pick_t *pk,
                const char *xunit) {
  rp_set_t set;
  int rc = rp_collect(c->doc, pick_peers, pk, &set);
  if (rc == 0 && rp_set_points(&set) > 0) rc = rp_draw(c, ch, &set, NULL, xunit);
  rp_set_free(&set);
  if (rc) fprintf(stderr, "report: %s: cannot write the chart's files\n", ch->name);
  return rc;
}

int rp_chart_peers(rp_ctx_t *c) {
  static const peers_pick_t startup = {"peers.startup.all_ready/", "n", false},
                            rps = {"peers.ping.rps/", "c", false},
                            lat = {"peers.ping.p", "c", true},
                            rstart = {"peers.ratio.startup/", "n", false},
                            rrps = {"peers.ratio.rps/", "c", false};
  const rp_chart_t charts[] = {
      {"peers_startup", "Start-up, every worker served: wpool vs Python pools",
       "pool size (workers)", "time to all served (ms)", true, true, NULL},
      {"peers_rps", "Ping throughput, closed loop: wpool vs Python pools",
       "requests in flight", "throughput (req/s)", true, true, NULL},
      {"peers_latency", "Ping latency, closed loop: P50 and P99",
       "requests in flight", "latency (µs)", true, true, NULL},
      {"peers_ratio_startup", "Start-up, wpool-pipe ÷ peer (below 1: wpool faster)",
       "pool size (workers)", "ratio", true, true, NULL},
      {"peers_ratio_rps", "Throughput, wpool-pipe ÷ peer (above 1: wpool faster)",
       "requests in flight", "ratio", true, false, NULL}};
  const peers_pick_t *picks[] = {&startup, &rps, &lat, &rstart, &rrps};
  const char *xunits[] = {"workers", "in flight", "in flight", "workers", "in flight"};
  for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++)
    if (draw(c, &charts[i], picks[i], xunits[i])) return -1;
  return 0;
}
