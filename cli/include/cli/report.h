/*
 * report.h - print a decoded package and its check results, for people
 * (aligned text) or for programs (one JSON document; field names are stable
 * and documented in the README).
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/check.h"
#include "cli/pkg.h"

typedef struct {
    const char *path;             /* package path as given */
    const pkg_t *pkg;             /* NULL when the package could not be opened */
    const check_report_t *checks; /* NULL with pkg */
    const char *key_path;         /* NULL without --key */
    const sig_key_t *key;
    int exit_code;
    const char *error; /* the one-line error, or NULL */
} report_t;

/* Every decoded field of every image, then the checks. */
void report_inspect_text(FILE *out, const report_t *r);
/* Only the checks, one line each, and the verdict. */
void report_verify_text(FILE *out, const report_t *r);
/* One JSON document (both commands; verify omits nothing either). */
void report_json(FILE *out, const report_t *r);

const char *report_verdict(int exit_code);

#endif
