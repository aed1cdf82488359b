/*
 * session_link.h - what the host session learns about its link while it
 * runs, and the choices it makes from that: the reply wait (session_rtt_t)
 * and the DATA payload (session_loss_t, session_payload_choose()).
 *
 * Pure arithmetic on what the session measured: no I/O, no clock. Included
 * by cli/session.h; the session (session.c) is the only caller besides tests.
 */
#ifndef CLI_SESSION_LINK_H
#define CLI_SESSION_LINK_H

#include <stdbool.h>
#include <stdint.h>

#define SESSION_FLASH_MS    200u  /* device time per reply: page erase <= 90 ms + margin */
#define SESSION_WAIT_MAX_MS 4200u /* cap of the reply wait beyond wire time */

/* Wire time of `bytes` at `baud` (8N1, rounded up; 0 when baud is 0), in microseconds. */
uint64_t session_wire_us(uint32_t baud, uint64_t bytes);

/*
 * The reply wait beyond wire time, learnt from the link as TCP learns its
 * retransmission timeout (RFC 6298), with one difference: every request has
 * its own seq, so every reply is an unambiguous sample, a late one included.
 * A sample is the time from the request's last byte leaving the host (the
 * host models its UART queue at the baud) to the reply's arrival, less the
 * reply's own wire time: link latency both ways plus device time. RESUME
 * and COMMIT are not sampled (their device work is long); their waits add
 * SESSION_RESUME_MS and SESSION_COMMIT_MS.
 *
 * wait = max(min + SESSION_FLASH_MS, srtt + 4 * rttvar), doubled per timeout
 * since the last sample, capped at SESSION_WAIT_MAX_MS; SESSION_FLASH_MS
 * before the first sample. The floor is the fastest round trip seen (the
 * link's latency) plus the device time a request may take (a page erase),
 * so prompt replies shrink the wait back to what the link needs, and a
 * lost frame costs that, not the worst wait ever seen.
 */
typedef struct {
    uint32_t samples;
    uint32_t srtt_us;   /* smoothed sample */
    uint32_t rttvar_us; /* smoothed deviation from it */
    uint32_t min_us;    /* smallest sample */
    uint8_t backoff;    /* timeouts since the last sample */
} session_rtt_t;

void session_rtt_sample(session_rtt_t *r, uint32_t sample_us);
/* A timeout without a reply: the next waits double until a sample arrives. */
void session_rtt_timeout(session_rtt_t *r);
uint32_t session_rtt_wait_ms(const session_rtt_t *r);

/*
 * How often the link loses a request frame, as a rate per wire byte: every
 * byte of a frame is a chance for the line to drop, flip or insert one, and
 * any of those loses the whole frame, so a frame of n wire bytes arrives
 * with probability (1 - rate)^n. The session reports what the device's
 * replies show: a frame it answered, or acknowledged past, arrived (all its
 * bytes are exposure); a frame whose start a WRONG_OFFSET names was lost (a
 * later frame arrived first). Frames in flight at a timeout are in doubt
 * until the next reply settles them (session_loss_settle()). A lost frame
 * counts half its bytes, where the fault fell on average. The counts halve
 * whenever the exposure passes SESSION_LOSS_HORIZON, so the rate follows a
 * link that changes.
 */
#define SESSION_LOSS_HORIZON (64u * 1024u)
/*
 * Loss-free bytes assumed before the first frame, so that the first loss
 * (a 2 KiB frame: rate 1 / 3 KiB) says "half such frames die", not "all".
 */
#define SESSION_LOSS_PRIOR (2u * 1024u)
/* Payloads tried: multiples of this up to max_payload, and max_payload itself. */
#define SESSION_PAYLOAD_STEP 64u

#define SESSION_DOUBT_MAX 256u /* frames a silence can leave in doubt: a window's worth */

typedef struct {
    double lost;  /* frames lost (decayed) */
    double bytes; /* wire bytes of exposure (decayed) */
    uint32_t n_doubt;
    uint32_t doubt_end[SESSION_DOUBT_MAX]; /* DATA frames in flight at a silence: their */
    uint16_t doubt_len[SESSION_DOUBT_MAX]; /* ends (offsets) and payload lengths */
} session_loss_t;

/* A DATA frame with `payload` bytes reached the device. */
void session_loss_delivered(session_loss_t *l, uint16_t payload);
/* A DATA frame with `payload` bytes was lost. */
void session_loss_lost(session_loss_t *l, uint16_t payload);
/* A DATA frame ending at object offset `end` was in flight at a silence: lost, or its reply? */
void session_loss_doubt(session_loss_t *l, uint32_t end, uint16_t payload);
/*
 * The first reply after a silence, from a device that kept its session,
 * settles the frames in doubt. A QUERY's offset `dev_next` tells which
 * arrived (`by_query`). After a resend it cannot (the resent frame fills the
 * same gap), and they count as lost: the session resends only on a link
 * known to lose frames, where that is the likely cause.
 */
void session_loss_settle(session_loss_t *l, uint32_t dev_next, bool by_query);
/* The device lost its session: frames in doubt died with it, not on the line. */
void session_loss_forget(session_loss_t *l);
/* Frames lost per wire byte: 0 until a loss is seen. */
double session_loss_rate(const session_loss_t *l);

/* What the payload choice needs to know about the link, all measured or reported. */
typedef struct {
    uint32_t baud;        /* 0: wire time unknown (taken as 0) */
    uint8_t window;       /* DATA frames in flight (INFO) */
    uint16_t max_payload; /* largest DATA payload (INFO, at most FRAME_MAX_PAYLOAD) */
    uint32_t rtt_us;      /* smoothed round trip beyond wire time (session_rtt_t.srtt_us) */
    uint32_t wait_ms;     /* the reply wait now: what a loss no later reply reveals costs */
    double loss_rate;     /* frames lost per wire byte (session_loss_rate()) */
} session_path_t;

/* The path from what the session knows: INFO's window and max_payload, the estimators. */
session_path_t session_path(uint32_t baud, uint8_t window, uint16_t max_payload,
                            const session_rtt_t *rtt, const session_loss_t *loss);

/*
 * Expected firmware bytes per second with DATA payloads of `payload` bytes,
 * go-back-N with the window. A frame of n wire bytes takes t = n / line;
 * the window refills one round trip after a frame left, so frames go out
 * every max(t, (t + rtt + reply) / window) seconds. It arrives with
 * probability s = (1 - rate)^n. A lost one costs the time until it is
 * sent again: its own and the next frame's wire time plus the round trip
 * that brings the next frame's WRONG_OFFSET, or, when that frame is lost
 * too (or the window is 1), the reply wait. Per delivered frame that is
 * slot + (1 - s) / s * cost, so
 *   goodput = payload / (slot + (1 - s) / s * cost).
 * Small frames pay header and round trip per byte; large ones die more
 * often and cost more when they do.
 */
double session_goodput(const session_path_t *p, uint16_t payload);

/*
 * The payload with the highest session_goodput() among the multiples of
 * SESSION_PAYLOAD_STEP below max_payload and max_payload itself. With no
 * loss seen it is max_payload, whatever the round trip: a clean link keeps
 * the largest frames.
 */
uint16_t session_payload_choose(const session_path_t *p);

/*
 * After a silence with DATA in flight (the oldest with `payload` bytes),
 * resend from the last acknowledged offset rather than QUERY? The resent
 * frame's reply says where the device is as QUERY's would, and carries the
 * frame: a round trip sooner when the frame was lost, its wire time wasted
 * when it was not (a duplicate is harmless: PROTOCOL.md §DATA). Losses being
 * the usual cause, it pays when the round trip is longer than the frame;
 * but only on a link that has lost frames before: on one that has not, a
 * stall or a device reset is as likely, and bytes sent into that are wasted.
 */
bool session_resend_pays(const session_path_t *p, uint16_t payload);

#endif
