/*
 * build.h — the facts of this build a results file records (its build
 * block): libwpool's version, the compiler, the flags and the versions of
 * the libraries linked.
 *
 * Owns: reading them from the libraries this program links (libuv, gRPC,
 * protobuf-c, libwpool) and from the compiler; the flags come from the Makefile
 * (WP_CFLAGS on this one object). May call: those libraries' version
 * functions. The results library (results.h) takes them as an argument.
 */
#ifndef WB_BUILD_H
#define WB_BUILD_H

#include "results.h"

/* Static strings, valid for the program's life. */
const wb_build_t *wb_build_facts(void);

#endif
