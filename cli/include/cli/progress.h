/*
 * progress.h - what `dfuart update` shows while it runs.
 *
 * Three renderings of the session's events (session.h):
 *   PROGRESS_TTY    one status line redrawn in place (percent, bytes, rate,
 *                   ETA), with retries and resumes on their own lines;
 *   PROGRESS_PLAIN  whole lines only (every 10 %), for logs and pipes;
 *   PROGRESS_JSON   JSON Lines, one object per event; field names are stable
 *                   and documented in the README (start, progress, retry,
 *                   resume, commit, done, error).
 *
 * A progress_t is a plain value owned by the caller; the strings it points
 * to are borrowed and must outlive it. No heap is used.
 */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/session.h"

typedef enum { PROGRESS_TTY, PROGRESS_PLAIN, PROGRESS_JSON } progress_mode_t;

/* What is being sent where: shown in the start line / event. */
typedef struct {
    const char *package; /* path as given */
    const char *port;
    const char *backend; /* transport_backend_name() */
    uint32_t baud;
    uint32_t bin_size, dat_size;
    bool has_fw_version;
    uint32_t fw_version;
} progress_target_t;

typedef struct {
    FILE *out;
    progress_mode_t mode;
    progress_target_t target;
    /* private */
    bool have_t0, have_fw, line_open;
    uint64_t t0;      /* first event */
    uint64_t fw_t0;   /* first firmware event: rate and ETA are measured from it */
    uint32_t fw_base; /* firmware offset at fw_t0 */
    uint64_t last_draw;
    int last_decile;
    uint32_t retries, resumes;
} progress_t;

/* TTY when `out` is a terminal, PLAIN otherwise; JSON when asked. */
progress_mode_t progress_mode_for(FILE *out, bool json);

void progress_init(progress_t *p, FILE *out, progress_mode_t mode, const progress_target_t *t);

/* A session_event_fn: pass the progress_t as its context. */
void progress_event(void *ctx, const session_event_t *ev);

/*
 * The final failure: JSON mode prints an `error` event (`status` is the
 * device's status name or NULL; `kind` a stable word such as "link"); the
 * text modes only close an open status line (the caller prints the one-line
 * error on stderr).
 */
void progress_error(progress_t *p, int exit_code, const char *kind, const char *status,
                    const char *msg);

/* Writes `s` as a JSON string literal (quotes, escapes, control characters). */
void progress_json_string(FILE *out, const char *s);

#endif
