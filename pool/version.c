/*
 * version.c — wp_version(): libwpool's version. The one source is the
 * repository's VERSION file; the Makefile passes it here as WP_VERSION
 * (and rebuilds this file when VERSION changes). Calls nothing.
 */
#include "wpool.h"

#ifndef WP_VERSION
#error "WP_VERSION comes from the VERSION file, through the Makefile"
#endif

const char *wp_version(void) { return WP_VERSION; }
