/*
 * units.h — a measured value as a person reads it: three significant
 * digits and a unit ("250k req/s", "5.38 ms"), never "2.496e+05".
 *
 * Owns the display rules only; values are stored in the results files in
 * their metric's own unit, unrounded. For reading at a glance (report.md);
 * table.h's wb_fmt_value keeps more digits, for seeing a few-% change.
 *
 * May call: libc and libm only (statistics library).
 */
#ifndef WB_UNITS_H
#define WB_UNITS_H

#include <stddef.h>

/* Writes v in unit into buf and returns buf. Times (ns, us, ms, s) move to
 * the unit that keeps the number in [1, 1000) ("2.50 ms" for 2496 us);
 * any other unit keeps its name and takes k, M, G, T on the number from
 * 1000 up ("250k req/s"); "ratio" prints as "x1.50". Not finite: "n/a". */
const char *wb_fmt_human(double v, const char *unit, char *buf, size_t cap);

/* The number alone, three significant digits, no exponent ("0.00123",
 * "12.3", "250"); values of 1000 and more print whole ("1048576"). */
const char *wb_fmt_sig3(double v, char *buf, size_t cap);

#endif
