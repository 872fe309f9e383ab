/*
 * pick.h — which two results files to compare.
 *
 * Owns: turning BEFORE/AFTER (a path, the names "latest"/"previous", or
 * nothing) into two paths. The names are looked up in the results
 * directory: every *.json there except latest.json (a copy of the newest
 * run, kept for people and scripts), ordered by created_at. Files there
 * that do not load are skipped with a warning line.
 */
#ifndef CMP_PICK_H
#define CMP_PICK_H

#include <stddef.h>

#include "cli.h"

/* 0 with *before and *after set (malloc'ed, caller frees), or -1 with a
 * one-line reason in why. Missing BEFORE means "previous", missing AFTER
 * "latest"; a path that is literally named latest is given as ./latest. */
int cmp_pick(const cmp_opts_t *o, char **before, char **after, char *why,
             size_t whylen);

#endif
