/*
 * html.c — DIR/report.html: the report.md of the same run rendered as one
 * self-contained page (bench/report --html). Markdown to HTML is
 * cmark-gfm's (GFM tables); here only what a page needs beyond it: each
 * chart image NAME.png replaced by the chart itself, NAME.svg inline, a
 * style sheet, and nothing fetched from anywhere — no script, no font, no
 * image file — so the page opens the same from a CI artifact, a mail or
 * a laptop offline.
 *
 * Inline SVGs share one id space: gnuplot names its clip paths and
 * markers alike in every chart, so each chart's ids get a prefix
 * ("c3-gpPt1") before it goes in.
 */
#include <stdlib.h>
#include <string.h>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "report.h"

static const char *const css =
    "body{font:15px/1.45 'DejaVu Sans',Arial,sans-serif;color:#222;margin:0;background:#f6f7f9}"
    "main{max-width:1060px;margin:0 auto;padding:18px 24px;background:#fff}"
    "h1{font-size:24px;margin:6px 0 12px}h2{font-size:19px;margin:28px 0 8px;"
    "border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:16px}"
    "table{border-collapse:collapse;margin:8px 0;font-size:13.5px}"
    "th,td{border:1px solid #d5d8dc;padding:3px 8px}th{background:#eef1f4}"
    "thead:has(th:first-child:empty+th:last-child:empty){display:none}" /* facts: | | | */
    "td[align=right],th[align=right]{text-align:right;font-variant-numeric:tabular-nums}"
    "svg{display:block;max-width:100%;height:auto;border:1px solid #e3e6ea}"
    "code{font-size:12.5px}.v-bad{background:#c0392b;color:#fff;padding:1px 5px;border-radius:3px}"
    ".v-good{background:#1e8449;color:#fff;padding:1px 5px;border-radius:3px}"
    ".v-warn{background:#d68910;color:#fff;padding:1px 5px;border-radius:3px}"
    ".v-same{color:#555}";

/* The whole file, NUL-terminated; NULL when unreadable. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, r;
  do {
    if (n + 65536 + 1 > cap) {
      char *b = realloc(buf, cap = 2 * cap + 65536 + 1);
      if (!b) return free(buf), fclose(f), NULL;
      buf = b;
    }
    n += r = fread(buf + n, 1, cap - n - 1, f);
  } while (r > 0);
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* The <svg> element of a gnuplot SVG file with every id and reference to
 * one prefixed by "cK-"; malloc'ed, NULL when unreadable or not an SVG. */
static char *svg_inline(const char *path, int k) {
  size_t len;
  char *src = slurp(path, &len), *start = src ? strstr(src, "<svg") : NULL;
  if (!start) return free(src), NULL;
  static const char *const pats[] = {"id=\"", "id='", "url(#", "href=\"#", "href='#"};
  char pre[16];
  int pl = snprintf(pre, sizeof pre, "c%d-", k);
  char *out = malloc(2 * len + 64), *o = out; /* each prefix follows a 4+ byte pattern */
  if (!out) return free(src), NULL;
  for (const char *p = start; *p;) {
    size_t m = 0;
    for (size_t i = 0; i < sizeof pats / sizeof pats[0] && !m; i++)
      if (!strncmp(p, pats[i], strlen(pats[i]))) m = strlen(pats[i]);
    if (m) {
      memcpy(o, p, m), o += m, p += m;
      memcpy(o, pre, (size_t)pl), o += pl;
    } else *o++ = *p++;
  }
  *o = '\0';
  free(src);
  return out;
}

/* The nodes of doc of this type whose url ends in ext, in document order
 * (collected first: the callers replace them, which an iterator must not
 * see happen). malloc'ed; *n of them. */
static cmark_node **nodes_with(cmark_node *doc, cmark_node_type type, const char *ext, size_t *n) {
  cmark_iter *it = cmark_iter_new(doc);
  cmark_node **v = NULL;
  size_t cap = 0, el = strlen(ext);
  *n = 0;
  while (cmark_iter_next(it) != CMARK_EVENT_DONE) {
    cmark_node *x = cmark_iter_get_node(it);
    const char *url = cmark_node_get_type(x) == type ? cmark_node_get_url(x) : NULL;
    size_t ul = url ? strlen(url) : 0;
    if (ul <= el || strcmp(url + ul - el, ext) != 0) continue;
    if (*n && v[*n - 1] == x) continue; /* its exit event */
    if (*n == cap) {
      cmark_node **w = realloc(v, (cap = 2 * cap + 16) * sizeof *w);
      if (!w) break;
      v = w;
    }
    v[(*n)++] = x;
  }
  cmark_iter_free(it);
  return v;
}

/* Every image NAME.png of the document becomes NAME.svg inline (an image
 * whose SVG is missing stays an image: the page test then fails on it). */
static int inline_charts(cmark_node *doc, const char *dir) {
  size_t n;
  cmark_node **imgs = nodes_with(doc, CMARK_NODE_IMAGE, ".png", &n);
  int rc = 0;
  for (size_t k = 0; k < n; k++) {
    const char *url = cmark_node_get_url(imgs[k]);
    char path[4400];
    snprintf(path, sizeof path, "%s/%.*s.svg", dir, (int)(strlen(url) - 4), url);
    char *svg = svg_inline(path, (int)k + 1);
    if (!svg) {
      fprintf(stderr, "report: %s: missing or not an SVG\n", path);
      rc = -1;
      continue;
    }
    cmark_node *h = cmark_node_new(CMARK_NODE_HTML_INLINE);
    cmark_node_set_literal(h, svg);
    free(svg);
    cmark_node_replace(imgs[k], h);
    cmark_node_free(imgs[k]);
  }
  free(imgs);
  return rc;
}

/* Links to a chart's SVG file ("[SVG](NAME.svg) · ...") go: the chart is
 * on the page, and the page must not point at files beside it. */
static void drop_svg_links(cmark_node *doc) {
  size_t n;
  cmark_node **links = nodes_with(doc, CMARK_NODE_LINK, ".svg", &n);
  for (size_t k = 0; k < n; k++) {
    cmark_node *next = cmark_node_next(links[k]);
    const char *t = next && cmark_node_get_type(next) == CMARK_NODE_TEXT ? cmark_node_get_literal(next) : NULL;
    if (t && !strncmp(t, " · ", strlen(" · "))) {
      char *rest = strdup(t + strlen(" · "));
      if (rest) cmark_node_set_literal(next, rest);
      free(rest);
    }
    cmark_node_free(links[k]);
  }
  free(links);
}

/* cmark-gfm with its table extension: report.md's markup to HTML. */
static char *render(const char *md, size_t len, const char *dir, int *rc) {
  cmark_gfm_core_extensions_ensure_registered();
  cmark_parser *p = cmark_parser_new(CMARK_OPT_UNSAFE);
  cmark_syntax_extension *table = cmark_find_syntax_extension("table");
  if (!p || !table) return cmark_parser_free(p), NULL;
  cmark_parser_attach_syntax_extension(p, table);
  cmark_parser_feed(p, md, len);
  cmark_node *doc = cmark_parser_finish(p);
  *rc = inline_charts(doc, dir);
  drop_svg_links(doc);
  char *html = cmark_render_html(doc, CMARK_OPT_UNSAFE, cmark_parser_get_syntax_extensions(p));
  cmark_node_free(doc);
  cmark_parser_free(p);
  return html;
}

int rp_html_write(const char *dir, const char *title, char *out_path, size_t cap) {
  char path[4400];
  size_t len;
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = slurp(path, &len);
  if (!md) return fprintf(stderr, "report: cannot read %s\n", path), -1;
  int rc = 0;
  char *html = render(md, len, dir, &rc);
  free(md);
  snprintf(out_path, cap, "%s/report.html", dir);
  FILE *f = html ? fopen(out_path, "w") : NULL;
  if (f) {
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>");
    for (const char *t = title; *t; t++) /* the tool's name, from the file: escaped */
      fputs(*t == '<' ? "&lt;" : *t == '>' ? "&gt;" : *t == '&' ? "&amp;" : (char[]){*t, 0}, f);
    fprintf(f, "%s</title>\n<style>%s</style></head>\n<body><main>\n%s</main></body></html>\n",
            "", css, html);
    if (fclose(f) != 0) f = NULL;
  }
  free(html);
  if (!f) return fprintf(stderr, "report: cannot write %s\n", out_path), -1;
  return rc;
}
