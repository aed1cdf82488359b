/* run.h - run a command line, capture stdout and stderr (test helper). */
#ifndef TESTS_RUN_H
#define TESTS_RUN_H

#include <stddef.h>

typedef struct {
    int status; /* exit code, or -1 if it did not exit normally */
    char *out;  /* heap, NUL-terminated; free with run_free() */
    char *err;
} run_result_t;

/* Runs `/bin/sh -c cmd`. Returns 0 on success (the command ran). */
int run_cmd(const char *cmd, run_result_t *r);
void run_free(run_result_t *r);
/* Number of '\n'-terminated lines in s. */
size_t run_count_lines(const char *s);
/*
 * 1 when `err` is exactly one '\n'-terminated line and that line matches the
 * fnmatch(3) pattern `shape` ('*' stands for the variable parts, e.g. a CRC).
 * Used by the tests behind the README's "Bad inputs" table: every failure is
 * one line of a documented shape.
 */
int run_one_line_like(const char *err, const char *shape);

#endif
