/*
 * charts.h — a program's results file drawn as charts when it asks
 * (--charts of wpool-baseline and wpool-tune), by the wpool-report built
 * beside it (found with wb_sibling_path, proc.h).
 *
 * Owns: nothing but the child it waits for. Calls: posix_spawn, waitpid.
 */
#ifndef WB_CHARTS_H
#define WB_CHARTS_H

#include <stdbool.h>
#include <stddef.h>

/* Runs the sibling wpool-report on the file saved at path (charts into
 * charts/<name>/ beside it; its lines go to this program's stdout and
 * stderr) and waits. latest: the run was saved with a copy latest.json
 * beside it: draw from that one (charts/latest/, what `bench/report
 * results/latest.json` draws). 0, or -1 after one line "<tool>: charts
 * failed (...); results are saved": a chart failure never fails the
 * benchmark that saved the file. */
int wb_charts_draw(const char *tool, const char *path, bool latest);

#endif
