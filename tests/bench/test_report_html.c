/*
 * test_report_html.c — bench/report --html as a reader opens it: pages
 * for a baseline-like results file (charts and floors), a compare with a
 * regression and a trend, made from real results files (libwpresults).
 * An A/B page from rounds judged by wpool-ab, too.
 * Each page must be self-contained (no script, no image file, nothing
 * fetched: no src=, no <link>) with every chart an inline SVG; then,
 * when Debian's chromium is installed, each is loaded headless: any
 * console message fails (the pages have no script, so there should be
 * none), and a check script injected into a copy measures every <svg>'s
 * rendered box (getBBox: an empty or broken chart has none). A control
 * page with a console error and an empty SVG must fail the same check,
 * so the check is known to bite. Without chromium those checks skip,
 * saying why (it is not in scripts/deps.sh: 137 MB and about 65 s to
 * install here, for one test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "build.h"
#include "results.h"
#include "testutil.h"

static char g_dir[256], g_bin[512];

/* A results file like bench/baseline's: start-up against its floor, pipe
 * throughput at two concurrencies; start-up times scale by slow. */
static void write_results(const char *name, double slow, const char *at) {
  json_t *doc = wb_results_new("wpool-baseline", json_pack("{s:[i]}", "cpus", 0), wb_build_facts());
  char id[128];
  for (int n = 1; n <= 8; n *= 2) {
    double f[3] = {0.4 * n, 0.42 * n, 0.45 * n}, s[3] = {0.6 * n * slow, 0.62 * n * slow, 0.7 * n * slow};
    snprintf(id, sizeof id, "floor.spawn/concurrent/n=%d", n);
    assert_non_null(wb_metric_add(doc, id, "ms", "lower", json_pack("{s:s,s:i}", "mode", "concurrent", "n", n), f, 3));
    snprintf(id, sizeof id, "startup.all_ready/pipe/concurrent/n=%d", n);
    json_t *m = wb_metric_add(doc, id, "ms", "lower",
                              json_pack("{s:s,s:s,s:i}", "transport", "pipe", "mode", "concurrent", "n", n), s, 3);
    assert_non_null(m);
    snprintf(id, sizeof id, "floor.spawn/concurrent/n=%d", n);
    json_object_set_new(m, "floor", json_string(id));
    json_object_set_new(m, "ratio_to_floor", json_real(s[1] / f[1]));
  }
  for (int c = 1; c <= 10; c *= 10) {
    double r[5] = {90e3 * c, 95e3 * c, 99e3 * c, 101e3 * c, 104e3 * c};
    snprintf(id, sizeof id, "ping.rps/pipe/checkout/n=1/c=%d", c);
    assert_non_null(wb_metric_add(doc, id, "req/s", "higher",
                                  json_pack("{s:s,s:s,s:i,s:i}", "transport", "pipe", "mode", "checkout", "n", 1, "c", c), r, 5));
  }
  if (at) json_object_set_new(doc, "created_at", json_string(at));
  char path[512];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  assert_int_equal(wb_results_write(doc, path), 0);
  json_decref(doc);
}

/* The page's text. */
static char *page(const char *sub) {
  static char buf[1 << 20];
  char path[512];
  snprintf(path, sizeof path, "%s/%s/report.html", g_dir, sub);
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("%s was not written", path);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)) != NULL; p++) n++;
  return n;
}

/* Self-contained: nothing for the browser to fetch, every chart inline. */
static void self_contained(const char *html, int charts) {
  assert_null(strstr(html, "<script"));
  assert_null(strstr(html, "<img"));
  assert_null(strstr(html, "<link"));
  assert_null(strstr(html, " src="));
  assert_null(strstr(html, "e+0"));
  assert_int_equal(count(html, "<svg"), charts);
}

static bool have_chromium(void) {
  return tu_sh("command -v chromium >/dev/null") == 0;
}

/* Loads a copy of the page in headless chromium with a check that sets
 * data-check="svgs=N bad=B" on the body: B counts SVGs that render to an
 * empty box and any <img>. 0 when no console message was logged and the
 * check says svgs=charts bad=0; else -1 (what it saw on stderr). */
static int chromium_check(const char *sub, int charts) {
  const char *check =
      "<script>var s=document.querySelectorAll('svg'),b=document.images.length;"
      "for(var e of s){var r=e.getBBox();if(!(r.width>0&&r.height>0))b++;}"
      "document.body.setAttribute('data-check','svgs='+s.length+' bad='+b);</script>";
  char d[600], path[700];
  snprintf(d, sizeof d, "%s/%s", g_dir, sub);
  char *html = strdup(page(sub)), *end = strstr(html, "</main></body>");
  assert_non_null(end);
  snprintf(path, sizeof path, "%s/check.html", d);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "%.*s%s%s", (int)(end - html), html, check, end);
  assert_int_equal(fclose(f), 0);
  free(html);
  if (tu_sh("timeout 60 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 "
         "--dump-dom 'file://%s/check.html' > '%s/dom' 2> '%s/log'", d, d, d) != 0)
    return fprintf(stderr, "chromium failed on %s\n", d), -1;
  if (tu_sh("grep CONSOLE '%s/log' >&2", d) == 0) return fprintf(stderr, "console messages above\n"), -1;
  if (tu_sh("grep -q 'data-check=\"svgs=%d bad=0\"' '%s/dom'", charts, d) != 0) {
    tu_sh("grep -o 'data-check=\"[^\"]*\"' '%s/dom' >&2", d);
    return -1;
  }
  return 0;
}

static void results_page(void **state) {
  (void)state;
  write_results("base.json", 1, NULL);
  assert_int_equal(tu_sh("'%s' '%s/base.json' --out '%s/base' --html >/dev/null", g_bin, g_dir, g_dir), 0);
  const char *html = page("base");
  self_contained(html, 2); /* start-up, throughput */
  assert_non_null(strstr(html, "Ratios to floors"));
  assert_non_null(strstr(html, "pinned to cpus 0"));
  assert_non_null(strstr(html, "<td align=\"right\">99.0k req/s</td>"));
  if (!have_chromium()) skip();
  assert_int_equal(chromium_check("base", 2), 0);
}

static void compare_page(void **state) {
  (void)state;
  write_results("slow.json", 3, NULL); /* start-up 3x slower: a regression */
  assert_int_equal(tu_sh("'%s' --json '%s/base.json' '%s/slow.json' > '%s/cmp.json'",
                      tu_path("wpool-compare"), g_dir, g_dir, g_dir), 1);
  assert_int_equal(tu_sh("'%s' '%s/cmp.json' --out '%s/cmp' --html >/dev/null", g_bin, g_dir, g_dir), 0);
  const char *html = page("cmp");
  self_contained(html, 0);
  assert_non_null(strstr(html, "wpool compare: <span class=\"v-bad\">regression</span>"));
  assert_true(count(html, "<span class=\"v-bad\">regression</span>") >= 4);
  if (!have_chromium()) skip();
  assert_int_equal(chromium_check("cmp", 0), 0);
}

static void trend_page(void **state) {
  (void)state;
  char name[64], at[64];
  assert_int_equal(tu_sh("mkdir -p '%s/hist'", g_dir), 0);
  for (int i = 0; i < 12; i++) {
    snprintf(name, sizeof name, "hist/run%02d.json", i);
    snprintf(at, sizeof at, "2026-12-0%dT%02d:00:00.000000Z", 1 + i / 10, i);
    write_results(name, i < 6 ? 1 : 1.5, at);
  }
  char trend[PATH_MAX];
  assert_non_null(realpath(tu_path("wpool-trend"), trend));
  assert_int_equal(tu_sh("cd '%s' && '%s' --results-dir hist --metric 'startup.*' --charts trend >/dev/null",
                      g_dir, trend), 0);
  const char *html = page("trend");
  self_contained(html, 4);
  if (!have_chromium()) skip();
  assert_int_equal(chromium_check("trend", 4), 0);
}

/* An A/B run's page: 30 rounds written as bench/ab writes them (rNNNN/
 * before-n1-c1.json, after-...), the after side 20 % slower per request,
 * judged by build/wpool-ab --json. */
static void ab_page(void **state) {
  (void)state;
  char path[600];
  for (int r = 1; r <= 30; r++)
    for (int side = 0; side < 2; side++) {
      double us = (side ? 24.0 : 20.0) * (1 + 0.01 * (r % 5)), rps = 1e6 / us;
      json_t *doc = wb_results_new("wpool-baseline", NULL, wb_build_facts());
      assert_non_null(wb_metric_add(doc, "ping.p50/pipe/checkout/n=1/c=1", "us", "lower", NULL, &us, 1));
      assert_non_null(wb_metric_add(doc, "ping.rps/pipe/checkout/n=1/c=1", "req/s", "higher", NULL, &rps, 1));
      snprintf(path, sizeof path, "%s/ab/r%04d", g_dir, r);
      assert_int_equal(tu_sh("mkdir -p '%s'", path), 0);
      snprintf(path, sizeof path, "%s/ab/r%04d/%s-n1-c1.json", g_dir, r, side ? "after" : "before");
      assert_int_equal(wb_results_write(doc, path), 0);
      json_decref(doc);
    }
  assert_int_equal(tu_sh("'%s' --json '%s/ab' > '%s/ab.json'", tu_path("wpool-ab"), g_dir, g_dir), 1);
  assert_int_equal(tu_sh("'%s' '%s/ab.json' --out '%s/abpage' --html >/dev/null", g_bin, g_dir, g_dir), 0);
  const char *html = page("abpage");
  self_contained(html, 0);
  assert_non_null(strstr(html, "wpool A/B: <span class=\"v-bad\">regression</span>"));
  assert_non_null(strstr(html, "<td align=\"right\">1.200</td>")); /* the ratio */
  if (!have_chromium()) skip();
  assert_int_equal(chromium_check("abpage", 0), 0);
}

/* The control: a page with a console error and an empty SVG fails. */
static void check_bites(void **state) {
  (void)state;
  if (!have_chromium()) {
    fprintf(stderr, "skipped: chromium is not installed (apt-get install chromium; "
                    "not in scripts/deps.sh: 137 MB, about 65 s)\n");
    skip();
  }
  assert_int_equal(tu_sh("mkdir -p '%s/bad' && printf '%%s' '<!DOCTYPE html><html><body><main>"
                      "<svg width=\"10\" height=\"10\"></svg><script>console.error(\"x\")</script>"
                      "</main></body></html>' > '%s/bad/report.html'", g_dir, g_dir), 0);
  assert_int_equal(chromium_check("bad", 1), -1);
  assert_int_equal(tu_sh("sed -i 's|<script>[^<]*</script>||' '%s/bad/report.html'", g_dir), 0);
  assert_int_equal(chromium_check("bad", 1), -1); /* the empty SVG alone */
}

static int setup(void **state) {
  (void)state;
  return tu_prog_setup("wpool-report", g_bin, sizeof g_bin, g_dir, sizeof g_dir);
}

static int teardown(void **state) {
  (void)state;
  return getenv("KEEP") ? 0 : tu_rm_rf(g_dir);
}

int main(void) {
  if (!have_chromium())
    fprintf(stderr, "test_report_html: chromium is not installed: the headless checks skip "
                    "(apt-get install chromium)\n");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(results_page),
      cmocka_unit_test(compare_page),
      cmocka_unit_test(trend_page),
      cmocka_unit_test(ab_page),
      cmocka_unit_test(check_bites),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
