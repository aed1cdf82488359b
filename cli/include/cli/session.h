/*
 * session.h - the host side of the dfuart wire protocol (proto/PROTOCOL.md):
 * HELLO/INFO, START, the init packet, the firmware with a window of frames
 * in flight (go-back-N), RESUME after a device reset, COMMIT, and the
 * outcome read from the INFO the device sends after it restarts.
 *
 * The session is logic only: every byte goes through the injected
 * transport_t, every time comes from the injected clock, and everything a
 * user should see is reported through the event callback. With an in-memory
 * transport whose read() advances a fake clock, a whole update (timeouts,
 * resets, reboots) runs in microseconds and deterministically.
 *
 * The device owns progress: the host always continues from the offset the
 * device's last reply names, never from what it has sent.
 *
 * A fresh run (no offset acknowledged in this process, the device at
 * firmware offset 0) first probes what bank 1 already holds, e.g. after an
 * earlier `dfuart update` died with the device: RESUME claims of growing
 * page-aligned prefixes, binary-searched (PROTOCOL.md §RESUME). At most
 * SESSION_PROBE_MAX(ceil(log2(pages))) RESUMEs when nothing fails; once per
 * run (after a VERIFY_FAILED the firmware goes from 0).
 */
#ifndef CLI_SESSION_H
#define CLI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/session_link.h"
#include "cli/transport.h"
#include "proto/msg.h"

/*
 * Timing (ms). A reply is awaited for the wire time of the request (queued
 * behind what was sent before it, at the baud) and of the reply, plus the
 * reply wait that session_rtt_t learns (session_link.h, with SESSION_FLASH_MS
 * and SESSION_WAIT_MAX_MS).
 */
#define SESSION_HELLO_INTERVAL_MS 250u  /* HELLO is repeated this often until INFO */
#define SESSION_RESUME_MS         1000u /* RESUME: the device CRCs up to 1 MiB of flash */
#define SESSION_COMMIT_MS         3000u /* COMMIT: read-back CRC + settings page write */

/* Page size assumed when INFO reports 0 (PROTOCOL.md: nRF52's 4 KiB). */
#define SESSION_DEFAULT_PAGE 4096u
/*
 * Probe RESUMEs for an image of `pages` pages (ceil(bin_len / page)), given
 * ceil(log2(pages)) as `log2_pages`: the first page, the whole image, the
 * binary search between them, and one re-issue of the winning claim.
 */
#define SESSION_PROBE_MAX(log2_pages) ((log2_pages) + 3u)

/* The images to send; borrowed, must outlive session_run(). */
typedef struct {
    const uint8_t *dat; /* init packet, 1..MSG_INIT_MAX bytes */
    uint32_t dat_len;
    const uint8_t *bin; /* application image, >= 1 byte */
    uint32_t bin_len;
    bool has_fw_version; /* the init packet's fw_version, to judge the outcome */
    uint32_t fw_version;
} session_image_t;

typedef enum {
    SESSION_EV_START,    /* the device answered: info; the transfer begins */
    SESSION_EV_PROGRESS, /* the device acknowledged `object` up to `offset` of `total` */
    SESSION_EV_RETRY,    /* a failure; `attempt` of `limit` consecutive ones */
    SESSION_EV_RESUME,   /* the device lost its session or the link, or (cause FOUND_IN_FLASH)
                            bank 1 already held a prefix of the image; continuing at `offset` */
    SESSION_EV_COMMIT,   /* everything verified, COMMIT accepted; waiting for the restart */
    SESSION_EV_DONE,     /* the new application runs: info is the INFO after the restart */
} session_event_kind_t;

/* Why a retry or a resume happened (stable names: session_cause_name()). */
typedef enum {
    SESSION_CAUSE_TIMEOUT,        /* no reply in time */
    SESSION_CAUSE_WRONG_OFFSET,   /* a frame was lost: the device expects an earlier offset */
    SESSION_CAUSE_LOST_SESSION,   /* the device reset or dropped its session */
    SESSION_CAUSE_VERIFY,         /* the device's CRC check failed: that object starts over */
    SESSION_CAUSE_BUSY,           /* the device asked to retry later */
    SESSION_CAUSE_UNEXPECTED,     /* a reply that does not fit (wrong phase, odd offset) */
    SESSION_CAUSE_FOUND_IN_FLASH, /* RESUME only: probing found the image's first bytes staged */
} session_cause_t;

typedef struct {
    session_event_kind_t kind;
    uint64_t t_ms;         /* the injected clock at the event */
    uint8_t object;        /* FRAME_OBJ_INIT or FRAME_OBJ_FW (PROGRESS, RETRY); else 0 */
    uint32_t offset;       /* PROGRESS: acknowledged; RETRY: device's offset; RESUME: continue at */
    uint32_t total;        /* size of `object` (PROGRESS, RETRY, RESUME) */
    uint32_t acked;        /* RESUME: the firmware offset acknowledged before the loss (0 when
                              found by probing: this process had none) */
    uint32_t attempt;      /* RETRY: consecutive failures so far (1-based) */
    uint32_t limit;        /* RETRY: the budget */
    session_cause_t cause; /* RETRY, RESUME */
    const char *reason;    /* RETRY, RESUME: one line; valid during the callback only */
    const msg_info_t *info; /* START, DONE: the device's INFO; valid during the callback */
} session_event_t;

typedef void (*session_event_fn)(void *ctx, const session_event_t *ev);

typedef struct {
    transport_t *link;             /* borrowed, open */
    uint64_t (*now_ms)(void *ctx); /* monotonic milliseconds */
    void *clock_ctx;
    session_event_fn on_event; /* may be NULL */
    void *event_ctx;
    uint32_t baud;       /* link speed for reply timeouts; 0: no wire-time allowance */
    uint32_t timeout_ms; /* wait for INFO at the start and after COMMIT */
    uint32_t retries;    /* consecutive failures without progress allowed before giving up */
} session_config_t;

/* Results: 0 the update is active; negatives say why not (each has an exit code). */
typedef enum {
    SESSION_OK = 0,
    SESSION_ERR_ARG = -1,       /* caller bug: NULL, empty image, no clock */
    SESSION_ERR_NOMEM = -2,     /* the session's buffers could not be allocated */
    SESSION_ERR_LINK = -3,      /* the transport failed (read/write error, hang-up) */
    SESSION_ERR_NO_ANSWER = -4, /* no INFO within timeout_ms of the first HELLO */
    SESSION_ERR_TOO_LARGE = -5, /* image larger than the device's max_image: nothing sent */
    SESSION_ERR_REFUSED = -6,   /* the device answered a fatal status (res.status) */
    SESSION_ERR_PROTOCOL = -7,  /* the device's INFO/replies make no sense (window 0, ...) */
    SESSION_ERR_RETRIES = -8,   /* `retries` consecutive failures without progress */
    SESSION_ERR_NO_RETURN = -9, /* no INFO (or still pending) within timeout_ms of COMMIT,
                                   plus SESSION_FLASH_MS per image page for the activation */
    SESSION_ERR_REJECTED = -10, /* after the restart the old application still runs */
} session_err_t;

typedef struct {
    session_err_t err;
    uint8_t status;   /* SESSION_ERR_REFUSED: the device's status code */
    bool have_before; /* `before` holds the first INFO */
    bool have_after;  /* `after` holds the INFO after the restart */
    msg_info_t before, after;
    uint32_t retries;    /* failures in total */
    uint32_t resumes;    /* RESUME events */
    uint32_t probes;     /* RESUME requests sent to probe bank 1 (retransmissions included) */
    uint64_t elapsed_ms; /* first HELLO to the end */
    char msg[320];       /* one line (no newline) when err != SESSION_OK; only LINK's names
                            the port (it is the transport's message), so callers prefix it */
} session_result_t;

/*
 * Run one update to its end. Blocks, calling cfg->link's read with timeouts
 * computed from cfg->now_ms. Allocates its buffers once (no per-frame
 * allocation) and frees them before returning. `res` is always filled.
 */
__attribute__((warn_unused_result)) session_err_t
session_run(const session_config_t *cfg, const session_image_t *img, session_result_t *res);

const char *session_strerror(session_err_t e);
/* "timeout", "wrong_offset", "lost_session", "verify_failed", "busy", "unexpected",
 * "found_in_flash". */
const char *session_cause_name(session_cause_t c);

#endif
