/*
 * session.c - the host state machine of proto/PROTOCOL.md, one function per
 * state (st_*), driven by session_run(). See session.h for the contract.
 *
 * Data objects (init packet, firmware) go through one go-back-N engine
 * (run_object): up to `window` DATA frames in flight, each remembered in a
 * ring with its seq; a reply is matched to its frame by seq; WRONG_OFFSET
 * rewinds to the device's offset and marks the frames still in flight
 * obsolete (they still occupy device buffers, so they still count against
 * the window until answered); a silence longer than the reply timeout sends
 * the frames again from the device's last acknowledged offset. Everything
 * the device says about its progress replaces what the host believed. The
 * payload of each frame is chosen for the best expected goodput on what the
 * link has shown (session_link.h): its loss rate, round trip and baud.
 *
 * Reply timeouts. Every request is remembered by seq (sent[]) with the time
 * its last byte leaves the host, from a model of the host's UART queue at
 * the baud, so a reply - a late one too, after its request timed out - times
 * one round trip (session_rtt_t). Late replies make the wait longer, prompt
 * ones shrink it back: a timeout after which the resent frame is answered
 * promptly was a lost frame, and teaches nothing about the link's speed.
 *
 * A fresh run probes bank 1 before the firmware (st_probe): an earlier
 * process may have staged most of this image before it and the device died,
 * and only the device's flash remembers that.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/session.h"
#include "proto/crc32.h"
#include "proto/frame.h"

#define RING_MAX 256u /* window is a u8: at most 255 DATA frames plus one QUERY */
#define RX_CHUNK 512u
#define SENT_MAX 512u /* requests remembered by seq: window, QUERYs, HELLOs, stale ones */

typedef enum {
    ST_HELLO,
    ST_START,
    ST_INIT,
    ST_RESUME,
    ST_PROBE,
    ST_FIRMWARE,
    ST_COMMIT,
    ST_REBOOT,
    ST_DONE,
    ST_FAIL,
    ST_STAY, /* not a state: "keep going in the current one" */
} st_t;

typedef struct {
    uint16_t seq;
    uint8_t type;      /* MSG_DATA or MSG_QUERY */
    bool obsolete;     /* sent before a rewind: its reply carries no news */
    uint32_t off, end; /* DATA: [off, end) of the object */
} flight_t;

/* A request as sent, found by seq when its reply comes (sess_t.sent[seq % SENT_MAX]). */
typedef struct {
    uint16_t seq;
    bool pending;    /* no reply seen yet */
    bool timed;      /* its reply is a round-trip sample (RESUME and COMMIT do long device work) */
    uint64_t tx_end; /* bytes written by the session up to its end */
    uint64_t dep_us; /* when its last byte leaves the host, as modelled at send time */
} sent_t;

typedef struct {
    uint8_t type, status;
    uint16_t seq;
    msg_status_body_t st; /* MSG_STATUS */
    msg_info_t info;      /* MSG_INFO */
} reply_t;

typedef struct {
    uint8_t obj; /* FRAME_OBJ_INIT or FRAME_OBJ_FW; 0 before the first */
    const uint8_t *data;
    uint32_t total;
    uint32_t acked; /* the device's next offset, from its latest reply */
    uint32_t next;  /* next offset to send */
} xfer_t;

/*
 * Binary search for the longest prefix of the image bank 1 holds. Candidate k
 * (1..n) is the prefix of min(k * page, bin_len) bytes, so candidate n is the
 * whole image. Invariant: candidate lo matched (0: the empty prefix, which
 * always does), candidate hi did not (n + 1: beyond the image).
 */
typedef struct {
    uint32_t n, lo, hi;
    uint32_t last; /* candidate of the RESUME the device answered last (0: none yet) */
    bool last_ok;  /* ...and it matched: the device's position is that prefix */
    uint32_t sent; /* RESUMEs of this probe */
} probe_t;

typedef struct {
    const session_config_t *cfg;
    const session_image_t *img;
    session_result_t *res;
    uint64_t t0;
    uint16_t seq;
    uint16_t max_payload; /* INFO's max_payload (capped at FRAME_MAX_PAYLOAD) */
    uint8_t window;
    uint32_t page; /* INFO's page_size: RESUME continues at a multiple of it */
    uint32_t dat_crc, bin_crc;
    msg_status_body_t dev; /* the device's latest STATUS */
    xfer_t x;              /* the object being sent */
    uint32_t fw_acked;     /* last acknowledged firmware offset: what RESUME claims */
    uint32_t high[3];      /* per object: the highest offset ever acknowledged */
    uint32_t failures;     /* consecutive, since the last progress past high[] */
    session_rtt_t rtt;     /* the reply wait learnt from the link */
    session_loss_t loss;   /* how often the link loses request frames */
    uint64_t tx_total;     /* bytes written */
    uint64_t line_free_us; /* when the host's UART will have sent all of them (modelled) */
    uint64_t last_rx_us;   /* arrival of the latest reply to a remembered request */
    uint64_t deadline;     /* reply deadline while DATA is in flight */
    uint32_t wait_ms;      /* the reply wait that set it, after the frame left (for messages) */
    bool flush;            /* the next DATA starts with a 0x00: after a silence (send_req) */
    bool lost;             /* the device lost its session: the next firmware start resumes */
    bool probed;           /* bank 1 was probed: once per run (a later VERIFY_FAILED must not
                              trust bank 1 again) */
    probe_t probe;
    char lost_reason[160];
    unsigned ring_head, ring_count;
    flight_t ring[RING_MAX];
    sent_t sent[SENT_MAX];
    frame_decoder_t dec;
    size_t rx_pos, rx_len;
    uint8_t rx[RX_CHUNK];
    uint8_t dec_buf[FRAME_MAX_PACKET];
    uint8_t tx[1 + FRAME_MAX_WIRE]; /* a leading 0x00 (flush) + one frame */
} sess_t;

/* ---- small helpers ----------------------------------------------------------------- */

static uint64_t now(const sess_t *s)
{
    return s->cfg->now_ms(s->cfg->clock_ctx);
}

static void emit(const sess_t *s, session_event_t *ev)
{
    ev->t_ms = now(s);
    if (s->cfg->on_event)
        s->cfg->on_event(s->cfg->event_ctx, ev);
}

static st_t fail_set(sess_t *s, session_err_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static st_t fail_set(sess_t *s, session_err_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->msg, sizeof(s->res->msg), fmt, ap);
    va_end(ap);
    s->res->err = e;
    return ST_FAIL;
}

static st_t link_failed(sess_t *s)
{
    return fail_set(s, SESSION_ERR_LINK, "%s", s->cfg->link->err);
}

static bool status_fatal(uint8_t status)
{
    switch (status) {
    case MSG_OK:
    case MSG_NO_SESSION:
    case MSG_WRONG_OFFSET:
    case MSG_VERIFY_FAILED:
    case MSG_CRC_MISMATCH:
    case MSG_INCOMPLETE:
    case MSG_BUSY:
        return false;
    default: /* BAD_REQUEST, BAD_VERSION, TOO_LARGE, ..., INTERNAL and unknown codes */
        return true;
    }
}

static st_t refused(sess_t *s, const reply_t *r, const char *request)
{
    s->res->status = r->status;
    char detail[32] = "";
    if (r->type == MSG_STATUS && r->st.detail != 0)
        snprintf(detail, sizeof(detail), " (device detail %d)", r->st.detail);
    return fail_set(s, SESSION_ERR_REFUSED, "device refused %s: %s: %s%s", request,
                    msg_status_name(r->status), msg_status_text(r->status), detail);
}

/* Count one failure and report it; true when the budget is spent (res filled). */
static bool count_failure(sess_t *s, session_cause_t cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool count_failure(sess_t *s, session_cause_t cause, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (cause == SESSION_CAUSE_TIMEOUT) /* late or lost: wait longer until a reply tells */
        session_rtt_timeout(&s->rtt);
    s->failures++;
    s->res->retries++;
    if (s->failures > s->cfg->retries) {
        fail_set(s, SESSION_ERR_RETRIES,
                 "gave up after %u consecutive failures without progress: %s", s->failures, why);
        return true;
    }
    session_event_t ev = {.kind = SESSION_EV_RETRY,
                          .object = s->x.obj,
                          .offset = s->x.acked,
                          .total = s->x.total,
                          .attempt = s->failures,
                          .limit = s->cfg->retries,
                          .cause = cause,
                          .reason = why};
    emit(s, &ev);
    return false;
}

/* A failure that repeats the current step: `again` unless the budget is spent. */
static st_t retry_state(sess_t *s, st_t again, session_cause_t cause, const char *what)
{
    return count_failure(s, cause, "%s", what) ? ST_FAIL : again;
}

/* ---- when requests leave and replies should come ---------------------------------------- */

static uint64_t now_us(const sess_t *s)
{
    return now(s) * 1000u;
}

static uint64_t wire_us(const sess_t *s, uint64_t bytes)
{
    return session_wire_us(s->cfg->baud, bytes);
}

/* The round trip a reply typically takes (no floor, no backoff); 0 before the first. */
static uint64_t rtt_typical_us(const sess_t *s)
{
    return s->rtt.samples ? s->rtt.srtt_us + 4u * (uint64_t)s->rtt.rttvar_us : 0u;
}

static sent_t *sent_find(sess_t *s, uint16_t seq)
{
    sent_t *e = &s->sent[seq % SENT_MAX];
    return e->seq == seq && e->pending ? e : NULL;
}

/*
 * A write returns once the OS holds the bytes; they leave at the baud behind
 * whatever was written before. `timed`: the reply is a round-trip sample.
 */
static void sent_note(sess_t *s, uint16_t seq, size_t bytes, bool timed)
{
    uint64_t t = now_us(s);
    s->line_free_us = (s->line_free_us > t ? s->line_free_us : t) + wire_us(s, bytes);
    s->tx_total += bytes;
    s->sent[seq % SENT_MAX] = (sent_t){seq, true, timed, s->tx_total, s->line_free_us};
}

/*
 * When the request's last byte leaves the host: the model at send time, or
 * earlier when replies have shown the line to be faster than the baud (a
 * pty ignores it) - the bytes after it still have to leave before the line
 * is free.
 */
static uint64_t sent_departure(const sess_t *s, const sent_t *e)
{
    uint64_t after = wire_us(s, s->tx_total - e->tx_end);
    uint64_t latest = s->line_free_us > after ? s->line_free_us - after : 0;
    return e->dep_us < latest ? e->dep_us : latest;
}

static uint64_t reply_wire_us(const sess_t *s, uint8_t type)
{
    uint32_t len = type == MSG_INFO ? MSG_INFO_LEN : MSG_STATUS_LEN;
    return wire_us(s, FRAME_WIRE_LEN(FRAME_HDR_LEN + len + FRAME_CRC_LEN));
}

/*
 * A reply to a remembered request: one round-trip sample, and proof that
 * every byte up to the request has left (FIFO), so the line model may not
 * lag behind it.
 */
static void sent_answered(sess_t *s, const reply_t *r)
{
    sent_t *e = sent_find(s, r->seq);
    if (!e)
        return; /* a duplicate, or noise that decoded */
    uint64_t t = now_us(s), left = sent_departure(s, e) + reply_wire_us(s, r->type);
    if (e->timed) {
        uint64_t us = t > left ? t - left : 0;
        session_rtt_sample(&s->rtt, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
    }
    uint64_t free_by = t + wire_us(s, s->tx_total - e->tx_end);
    if (s->line_free_us > free_by)
        s->line_free_us = free_by;
    e->pending = false;
    s->last_rx_us = t;
}

/* When the STATUS answering `seq` is due (us), if it comes `wait_us` after the request left. */
static uint64_t reply_due_us(sess_t *s, uint16_t seq, uint64_t wait_us)
{
    const sent_t *e = sent_find(s, seq);
    uint64_t from = e ? sent_departure(s, e) : now_us(s);
    if (s->last_rx_us > from) /* the device answered its predecessor only then */
        from = s->last_rx_us;
    return from + reply_wire_us(s, MSG_STATUS) + wait_us;
}

/* The deadline (ms) for the STATUS answering `seq`: the learnt wait plus `extra_ms` of work. */
static uint64_t reply_deadline(sess_t *s, uint16_t seq, uint32_t extra_ms)
{
    s->wait_ms = session_rtt_wait_ms(&s->rtt) + extra_ms;
    return (reply_due_us(s, seq, 1000u * (uint64_t)s->wait_ms) + 999u) / 1000u;
}

/* ---- frames out and in --------------------------------------------------------------- */

/*
 * Send one request. `flush` puts a 0x00 first so a half-received frame at the
 * device is cut off (used for HELLO, after silences). Returns the seq, or -1
 * (res filled) if the link failed.
 */
static int send_req(sess_t *s, uint8_t type, uint8_t obj, uint32_t off, const uint8_t *p,
                    uint16_t len, bool flush)
{
    bool timed = type != MSG_RESUME && type != MSG_COMMIT;
    frame_t f = {type, 0, obj, s->seq, off, len, p};
    size_t at = flush ? 1u : 0u, n = 0;
    s->tx[0] = 0;
    if (frame_encode(&f, s->tx + at, sizeof(s->tx) - at, &n) != FRAME_OK) {
        fail_set(s, SESSION_ERR_ARG, "internal error: cannot encode %s", msg_type_name(type));
        return -1;
    }
    if (transport_write(s->cfg->link, s->tx, n + at) != TRANSPORT_OK) {
        link_failed(s);
        return -1;
    }
    sent_note(s, s->seq, n + at, timed);
    return s->seq++;
}

/* Keep only well-formed replies; everything else on the link is noise. */
static bool parse_reply(const frame_t *f, reply_t *r)
{
    r->type = f->type;
    r->status = f->status;
    r->seq = f->seq;
    if (f->type == MSG_STATUS && f->len == MSG_STATUS_LEN) {
        msg_status_unpack(f->payload, &r->st);
        return true;
    }
    if (f->type == MSG_INFO && f->len == MSG_INFO_LEN) {
        msg_info_unpack(f->payload, &r->info);
        return true;
    }
    return false;
}

/* Decode what is buffered: true with a reply in *r. */
static bool decode_buffered(sess_t *s, reply_t *r)
{
    while (s->rx_pos < s->rx_len) {
        size_t used = 0;
        frame_t f;
        frame_result_t fr =
            frame_decoder_push(&s->dec, s->rx + s->rx_pos, s->rx_len - s->rx_pos, &used, &f);
        s->rx_pos += used;
        if (fr == FRAME_READY && parse_reply(&f, r))
            return true;
        if (fr == FRAME_NEED_MORE || used == 0)
            s->rx_pos = s->rx_len; /* all consumed (or a decoder that stalls: drop the rest) */
    }
    return false;
}

/* 1: a reply in *r; 0: `deadline` passed; -1: the link failed (res filled). */
static int await_reply(sess_t *s, uint64_t deadline, reply_t *r)
{
    for (;;) {
        if (decode_buffered(s, r)) {
            sent_answered(s, r);
            return 1;
        }
        uint64_t t = now(s);
        if (t >= deadline)
            return 0;
        uint64_t wait = deadline - t;
        int n = transport_read(s->cfg->link, s->rx, sizeof(s->rx),
                               wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait);
        if (n < 0) {
            link_failed(s);
            return -1;
        }
        s->rx_pos = 0;
        s->rx_len = (size_t)n;
    }
}

/*
 * Send a control request and wait for the STATUS with its seq: 1 / 0 timeout
 * / -1. The wait is the learnt one plus `extra_ms` of device work.
 */
static int exchange(sess_t *s, uint8_t type, uint32_t off, const uint8_t *p, uint16_t len,
                    uint32_t extra_ms, reply_t *r)
{
    uint8_t obj = type == MSG_RESUME ? FRAME_OBJ_FW : FRAME_OBJ_NONE;
    s->ring_count = 0; /* DATA still in flight is answered before this; those replies are stale */
    int seq = send_req(s, type, obj, off, p, len, false);
    if (seq < 0)
        return -1;
    uint64_t deadline = reply_deadline(s, (uint16_t)seq, extra_ms);
    for (;;) {
        int rc = await_reply(s, deadline, r);
        if (rc <= 0)
            return rc;
        if (r->type == MSG_STATUS && r->seq == (uint16_t)seq)
            return 1;
    }
}

/* Wait without sending, dropping replies, until `until` (pacing HELLO). 0, or -1. */
static int idle_until(sess_t *s, uint64_t until)
{
    reply_t r;
    int rc;
    do
        rc = await_reply(s, until, &r);
    while (rc == 1);
    return rc;
}

/*
 * HELLO every SESSION_HELLO_INTERVAL_MS until an INFO (or a STATUS answering
 * HELLO, e.g. BAD_VERSION) arrives: 1 with it in *r; 0 at `deadline`; -1.
 */
static int hello_until(sess_t *s, uint64_t deadline, reply_t *r)
{
    for (;;) {
        int seq = send_req(s, MSG_HELLO, FRAME_OBJ_NONE, 0, NULL, 0, true);
        if (seq < 0)
            return -1;
        uint64_t next = now(s) + SESSION_HELLO_INTERVAL_MS;
        if (next > deadline)
            next = deadline;
        int rc;
        while ((rc = await_reply(s, next, r)) == 1)
            if (r->type == MSG_INFO || (r->seq == (uint16_t)seq && status_fatal(r->status)))
                return 1;
        if (rc < 0)
            return -1;
        if (now(s) >= deadline)
            return 0;
    }
}

/* ---- the in-flight ring -------------------------------------------------------------- */

static flight_t *ring_at(sess_t *s, unsigned i)
{
    return &s->ring[(s->ring_head + i) % RING_MAX];
}

static void ring_push(sess_t *s, const flight_t *f)
{
    *ring_at(s, s->ring_count++) = *f;
}

static int ring_find(sess_t *s, uint16_t seq)
{
    for (unsigned i = 0; i < s->ring_count; i++)
        if (ring_at(s, i)->seq == seq)
            return (int)i;
    return -1;
}

/* Replies come in request order: answering entry i settles every earlier one. */
static flight_t ring_pop_through(sess_t *s, unsigned i)
{
    flight_t f = *ring_at(s, i);
    s->ring_head = (s->ring_head + i + 1u) % RING_MAX;
    s->ring_count -= i + 1u;
    return f;
}

static unsigned ring_data_count(sess_t *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->ring_count; i++)
        n += ring_at(s, i)->type == MSG_DATA;
    return n;
}

static bool ring_has_query(sess_t *s)
{
    for (unsigned i = 0; i < s->ring_count; i++)
        if (ring_at(s, i)->type == MSG_QUERY)
            return true;
    return false;
}

static void ring_obsolete_all(sess_t *s)
{
    for (unsigned i = 0; i < s->ring_count; i++)
        ring_at(s, i)->obsolete = true;
}

/*
 * The oldest request's reply is due first. But while the newest one's reply
 * would typically still be on its way (a 2 KiB frame is a second on the wire
 * at 19200 baud), wait for it: replies acknowledge cumulatively, so it tells
 * what became of the older ones (WRONG_OFFSET names a lost frame, OK covers a
 * lost reply) sooner than a timeout would. With none in flight, from now.
 */
static void arm(sess_t *s)
{
    if (s->ring_count) {
        uint64_t oldest = reply_deadline(s, ring_at(s, 0)->seq, 0);
        uint64_t newest = reply_due_us(s, ring_at(s, s->ring_count - 1u)->seq, rtt_typical_us(s));
        newest = (newest + 999u) / 1000u;
        s->deadline = oldest > newest ? oldest : newest;
    } else {
        s->wait_ms = session_rtt_wait_ms(&s->rtt);
        s->deadline = now(s) + s->wait_ms;
    }
}

/* ---- object transfer: progress, rewind, loss ------------------------------------------ */

static void xfer_begin(sess_t *s, uint8_t obj, uint32_t at)
{
    bool fw = obj == FRAME_OBJ_FW;
    s->x = (xfer_t){obj, fw ? s->img->bin : s->img->dat, fw ? s->img->bin_len : s->img->dat_len, at,
                    at};
    s->ring_count = 0;
    session_event_t ev = {
        .kind = SESSION_EV_PROGRESS, .object = obj, .offset = at, .total = s->x.total};
    emit(s, &ev);
}

/* The device says its next offset is `next`: believe it. */
static void set_acked(sess_t *s, uint32_t next)
{
    bool moved = next != s->x.acked;
    s->x.acked = next;
    if (s->x.obj == FRAME_OBJ_FW)
        s->fw_acked = next;
    if (next > s->high[s->x.obj]) {
        s->high[s->x.obj] = next;
        s->failures = 0;
    }
    if (moved) {
        session_event_t ev = {
            .kind = SESSION_EV_PROGRESS, .object = s->x.obj, .offset = next, .total = s->x.total};
        emit(s, &ev);
    }
}

/* Go-back-N: continue from the device's offset; frames in flight carry no news. */
static void rewind_to(sess_t *s, uint32_t off)
{
    ring_obsolete_all(s);
    set_acked(s, off);
    s->x.next = off;
}

static uint32_t dev_next(const sess_t *s, const reply_t *r)
{
    return s->x.obj == FRAME_OBJ_INIT ? r->st.dat_next : r->st.bin_next;
}

static st_t session_lost(sess_t *s, session_cause_t cause, const char *why)
{
    session_loss_forget(&s->loss); /* not the line's doing */
    if (count_failure(s, cause, "%s", why))
        return ST_FAIL;
    s->lost = true;
    snprintf(s->lost_reason, sizeof(s->lost_reason), "%s", why);
    s->ring_count = 0;
    return ST_START;
}

static void emit_resume(sess_t *s, uint32_t before, session_cause_t cause, const char *why)
{
    session_event_t ev = {.kind = SESSION_EV_RESUME,
                          .object = FRAME_OBJ_FW,
                          .offset = s->x.acked,
                          .total = s->x.total,
                          .acked = before,
                          .cause = cause,
                          .reason = why};
    s->res->resumes++;
    s->lost = false;
    emit(s, &ev);
}

/*
 * Firmware starts (or continues) at the device's offset `at`. After a loss,
 * or when the device kept an earlier session, that is a resume event.
 */
static st_t begin_firmware(sess_t *s, uint32_t at, const char *note)
{
    uint32_t before = s->fw_acked;
    xfer_begin(s, FRAME_OBJ_FW, at);
    s->fw_acked = at;
    if (!s->lost && at == 0)
        return ST_FIRMWARE;
    char why[240];
    snprintf(why, sizeof(why), "%s%s", s->lost ? s->lost_reason : "the device kept its session",
             note);
    emit_resume(s, before, SESSION_CAUSE_LOST_SESSION, why);
    return ST_FIRMWARE;
}

static void probe_begin(sess_t *s)
{
    uint32_t n = (uint32_t)(((uint64_t)s->img->bin_len + s->page - 1u) / s->page);
    s->probe = (probe_t){.n = n, .lo = 0, .hi = n + 1u};
}

/* The init packet is in: firmware from the device's offset, or RESUME first. */
static st_t after_init(sess_t *s)
{
    if (s->dev.bin_next == 0 && s->fw_acked > 0)
        return ST_RESUME;
    if (s->dev.bin_next == 0 && !s->probed) {
        /* Nothing acknowledged in this process: bank 1 may still hold an earlier one's work. */
        probe_begin(s);
        return ST_PROBE;
    }
    if (s->dev.bin_next > s->img->bin_len)
        return retry_state(s, ST_START, SESSION_CAUSE_UNEXPECTED,
                           "device reports a firmware offset past the image");
    return begin_firmware(s, s->dev.bin_next, "");
}

/* ---- replies during a data object ---------------------------------------------------- */

static st_t data_ok(sess_t *s, const flight_t *f, const reply_t *r)
{
    uint32_t next = dev_next(s, r);
    if (next > s->x.total)
        return retry_state(s, ST_STAY, SESSION_CAUSE_UNEXPECTED,
                           "device acknowledged an offset past the object");
    if (next < f->end) {
        /* The device stored less than the frame: its word, not ours. */
        if (count_failure(s, SESSION_CAUSE_UNEXPECTED,
                          "device acknowledged offset %u for the frame [%u, %u)", next, f->off,
                          f->end))
            return ST_FAIL;
        rewind_to(s, next);
    } else if (next > s->x.next) {
        rewind_to(s, next); /* the device is ahead of us: skip what it has */
    } else {
        set_acked(s, next);
    }
    return ST_STAY;
}

static st_t data_verify_failed(sess_t *s, const reply_t *r)
{
    if (s->x.obj == FRAME_OBJ_INIT) { /* the init packet starts over, same session */
        if (count_failure(s, SESSION_CAUSE_VERIFY, "init packet CRC differs at the device"))
            return ST_FAIL;
        rewind_to(s, r->st.dat_next);
        return ST_STAY;
    }
    /* The firmware CRC differs: the device dropped the session, and bank 1 is not ours. */
    s->fw_acked = 0;
    return retry_state(s, ST_START, SESSION_CAUSE_VERIFY,
                       "firmware CRC differs at the device: starting over");
}

static st_t query_reply(sess_t *s, const reply_t *r)
{
    bool fw = s->x.obj == FRAME_OBJ_FW;
    if (r->st.phase == MSG_PHASE_IDLE || r->st.phase == MSG_PHASE_FAILED ||
        (fw && r->st.phase == MSG_PHASE_INIT))
        return session_lost(s, SESSION_CAUSE_LOST_SESSION, "device has no session (it reset?)");
    if (dev_next(s, r) > s->x.total)
        return retry_state(s, ST_STAY, SESSION_CAUSE_UNEXPECTED,
                           "QUERY: device offset past the object");
    s->dev = r->st;
    rewind_to(s, dev_next(s, r));
    return ST_STAY;
}

static st_t data_status(sess_t *s, const flight_t *f, const reply_t *r)
{
    char why[96];
    if (s->x.obj == FRAME_OBJ_FW && r->status != MSG_NO_SESSION && r->st.phase <= MSG_PHASE_INIT)
        /* The device wants the init packet (again): its session is not the one we fed. */
        return session_lost(s, SESSION_CAUSE_LOST_SESSION, "device is back at phase IDLE/INIT");
    switch (r->status) {
    case MSG_OK:
        return data_ok(s, f, r);
    case MSG_WRONG_OFFSET:
    case MSG_BUSY:
        snprintf(why, sizeof(why), "DATA @%u: %s, device expects offset %u", f->off,
                 msg_status_name(r->status), dev_next(s, r));
        if (count_failure(s,
                          r->status == MSG_BUSY ? SESSION_CAUSE_BUSY : SESSION_CAUSE_WRONG_OFFSET,
                          "%s", why))
            return ST_FAIL;
        rewind_to(s, dev_next(s, r) > s->x.total ? s->x.acked : dev_next(s, r));
        return ST_STAY;
    case MSG_NO_SESSION:
        return session_lost(s, SESSION_CAUSE_LOST_SESSION,
                            "device answered NO_SESSION (it reset?)");
    case MSG_VERIFY_FAILED:
        return data_verify_failed(s, r);
    default:
        snprintf(why, sizeof(why), "DATA @%u answered %s", f->off, msg_status_name(r->status));
        return retry_state(s, ST_STAY, SESSION_CAUSE_UNEXPECTED, why);
    }
}

static uint16_t flight_len(const flight_t *f)
{
    return (uint16_t)(f->end - f->off);
}

/*
 * What the reply to ring entry i shows about the frames it settles (the loss
 * rate that sizes the payload): entry i reached the device, since it was
 * answered; an earlier, unanswered one reached it if the device is past its
 * end (its reply was lost), and was lost if a WRONG_OFFSET names its start
 * (a later frame arrived first). Anything else stays unknown, uncounted.
 */
static void learn_loss(sess_t *s, unsigned i, const reply_t *r)
{
    uint32_t next = dev_next(s, r);
    for (unsigned j = 0; j <= i; j++) {
        const flight_t *f = ring_at(s, j);
        if (f->type != MSG_DATA)
            continue;
        if (j == i || next >= f->end)
            session_loss_delivered(&s->loss, flight_len(f));
        else if (r->status == MSG_WRONG_OFFSET && next == f->off)
            session_loss_lost(&s->loss, flight_len(f));
    }
}

static st_t data_reply(sess_t *s, const reply_t *r)
{
    if (r->type != MSG_STATUS)
        return ST_STAY; /* a late INFO */
    int i = ring_find(s, r->seq);
    if (i < 0) {
        arm(s); /* a request from before a timeout: the device got that far only now */
        return ST_STAY;
    }
    learn_loss(s, (unsigned)i, r);
    flight_t f = ring_pop_through(s, (unsigned)i);
    arm(s);
    if (f.obsolete)
        return ST_STAY;
    if (status_fatal(r->status))
        return refused(s, r, f.type == MSG_QUERY ? "QUERY" : "DATA");
    s->dev = r->st;
    st_t next = f.type == MSG_QUERY ? query_reply(s, r) : data_status(s, &f, r);
    if (next == ST_STAY) /* the device is there: what the last silence lost, if anything */
        session_loss_settle(&s->loss, dev_next(s, r), f.type == MSG_QUERY);
    return next;
}

/* The link as the session has measured it so far. */
static session_path_t path(const sess_t *s)
{
    return session_path(s->cfg->baud, s->window, s->max_payload, &s->rtt, &s->loss);
}

static st_t send_query(sess_t *s)
{
    int seq = send_req(s, MSG_QUERY, FRAME_OBJ_NONE, 0, NULL, 0, true);
    if (seq < 0)
        return ST_FAIL;
    flight_t q = {(uint16_t)seq, MSG_QUERY, false, 0, 0};
    ring_push(s, &q);
    arm(s);
    return ST_STAY;
}

/*
 * Silence with frames in flight: they are presumed lost. Go back to the
 * device's last acknowledged offset and send again (the first frame flushes
 * one the device may hold half-received), or ask (session_resend_pays(): a
 * second silence in a row suggests a device or line that is down, and a
 * QUERY costs nothing to repeat).
 */
static st_t data_timeout(sess_t *s)
{
    bool query = ring_has_query(s);
    session_path_t p = path(s);
    bool resend = s->rtt.backoff == 0 && s->ring_count && !query &&
                  session_resend_pays(&p, flight_len(ring_at(s, 0)));
    uint32_t off = s->ring_count ? ring_at(s, 0)->off : s->x.next;
    bool failed = query ? count_failure(s, SESSION_CAUSE_TIMEOUT, "no reply to QUERY within %u ms",
                                        s->wait_ms)
                        : count_failure(s, SESSION_CAUSE_TIMEOUT,
                                        "no reply to DATA @%u within %u ms", off, s->wait_ms);
    if (failed)
        return ST_FAIL;
    for (unsigned i = 0; i < s->ring_count; i++) /* lost, or only their replies? */
        if (ring_at(s, i)->type == MSG_DATA)
            session_loss_doubt(&s->loss, ring_at(s, i)->end, flight_len(ring_at(s, i)));
    s->ring_count = 0; /* count_failure() has doubled the wait */
    if (!resend)
        return send_query(s);
    s->x.next = s->x.acked;
    s->flush = true;
    arm(s);
    return ST_STAY;
}

static int fill_window(sess_t *s)
{
    while (!ring_has_query(s) && ring_data_count(s) < s->window && s->x.next < s->x.total) {
        uint32_t left = s->x.total - s->x.next;
        session_path_t p = path(s);
        uint16_t payload = session_payload_choose(&p);
        uint16_t len = left < payload ? (uint16_t)left : payload;
        int seq = send_req(s, MSG_DATA, s->x.obj, s->x.next, s->x.data + s->x.next, len, s->flush);
        if (seq < 0)
            return -1;
        s->flush = false;
        flight_t f = {(uint16_t)seq, MSG_DATA, false, s->x.next, s->x.next + len};
        ring_push(s, &f);
        s->x.next += len;
        arm(s);
    }
    return 0;
}

/* ---- states -------------------------------------------------------------------------- */

static st_t check_info(sess_t *s, const msg_info_t *info)
{
    s->res->before = *info;
    s->res->have_before = true;
    if (info->max_payload == 0 || info->window == 0)
        return fail_set(s, SESSION_ERR_PROTOCOL, "device reports max_payload %u, window %u",
                        info->max_payload, info->window);
    if (s->img->bin_len > info->max_image)
        return fail_set(s, SESSION_ERR_TOO_LARGE,
                        "application is %u bytes but the device's bank 1 holds at most %u "
                        "(TOO_LARGE); nothing was sent",
                        s->img->bin_len, info->max_image);
    s->max_payload = info->max_payload < FRAME_MAX_PAYLOAD ? info->max_payload : FRAME_MAX_PAYLOAD;
    s->window = info->window;
    s->page = info->page_size ? info->page_size : SESSION_DEFAULT_PAGE;
    session_event_t ev = {.kind = SESSION_EV_START, .total = s->img->bin_len, .info = info};
    emit(s, &ev);
    return ST_START;
}

static st_t st_hello(sess_t *s)
{
    reply_t r;
    int rc = hello_until(s, now(s) + s->cfg->timeout_ms, &r);
    if (rc < 0)
        return ST_FAIL;
    if (rc == 0)
        return fail_set(s, SESSION_ERR_NO_ANSWER,
                        "no answer to HELLO within %u ms (is the dfuart receiver running, at "
                        "this baud?)",
                        s->cfg->timeout_ms);
    /* INFO's status says whether anything can be staged (SETTINGS_INVALID, ...). */
    if (r.type != MSG_INFO || status_fatal(r.status))
        return refused(s, &r, "HELLO");
    return check_info(s, &r.info);
}

/*
 * START found the device holding a dead session with our values (FAILED, or
 * COMMITTED without a restart): it would keep answering so. ABORT forgets it
 * (flash is untouched before COMMIT), then START begins afresh.
 */
static st_t abort_and_restart(sess_t *s, const reply_t *r)
{
    if (count_failure(s, SESSION_CAUSE_UNEXPECTED, "START answered phase %s: sending ABORT",
                      msg_phase_name(r->st.phase)))
        return ST_FAIL;
    reply_t a;
    return exchange(s, MSG_ABORT, 0, NULL, 0, 0, &a) < 0 ? ST_FAIL : ST_START;
}

static st_t st_start(sess_t *s)
{
    uint8_t p[MSG_START_LEN];
    msg_start_t m = {s->img->dat_len, s->dat_crc, s->img->bin_len, s->bin_crc};
    msg_start_pack(&m, p);
    reply_t r;
    int rc = exchange(s, MSG_START, 0, p, sizeof(p), 0, &r);
    if (rc < 0)
        return ST_FAIL;
    if (rc == 0)
        return retry_state(s, ST_START, SESSION_CAUSE_TIMEOUT, "no reply to START");
    if (status_fatal(r.status))
        return refused(s, &r, "START");
    if (r.status != MSG_OK)
        return retry_state(s, ST_START,
                           r.status == MSG_BUSY ? SESSION_CAUSE_BUSY : SESSION_CAUSE_UNEXPECTED,
                           msg_status_name(r.status));
    s->dev = r.st;
    if (r.st.phase == MSG_PHASE_INIT && r.st.dat_next < s->img->dat_len) {
        xfer_begin(s, FRAME_OBJ_INIT, r.st.dat_next);
        return ST_INIT;
    }
    if (r.st.phase == MSG_PHASE_FIRMWARE || r.st.phase == MSG_PHASE_READY)
        return after_init(s); /* the device kept this very session */
    return abort_and_restart(s, &r);
}

/* The go-back-N engine, for the init packet and the firmware alike. */
static st_t st_object(sess_t *s)
{
    arm(s);
    for (;;) {
        if (s->x.acked >= s->x.total && !ring_has_query(s))
            return s->x.obj == FRAME_OBJ_INIT ? after_init(s) : ST_COMMIT;
        if (fill_window(s) < 0)
            return ST_FAIL;
        reply_t r;
        int rc = await_reply(s, s->deadline, &r);
        if (rc < 0)
            return ST_FAIL;
        st_t next = rc == 0 ? data_timeout(s) : data_reply(s, &r);
        if (next != ST_STAY)
            return next;
    }
}

/*
 * RESUME claiming that bank 1 holds the image's first `claim` bytes. ST_STAY
 * with a usable reply in *r (OK or CRC_MISMATCH, the device's offset at most
 * `claim`); otherwise the next state (`again` repeats the claim).
 */
static st_t resume_exchange(sess_t *s, uint32_t claim, st_t again, reply_t *r)
{
    uint8_t p[MSG_RESUME_LEN];
    frame_put32(p, crc32_compute(s->img->bin, claim));
    int rc = exchange(s, MSG_RESUME, claim, p, sizeof(p), SESSION_RESUME_MS, r);
    if (rc < 0)
        return ST_FAIL;
    if (rc == 0)
        return retry_state(s, again, SESSION_CAUSE_TIMEOUT, "no reply to RESUME");
    if (status_fatal(r->status))
        return refused(s, r, "RESUME");
    if (r->status == MSG_NO_SESSION || r->st.phase <= MSG_PHASE_INIT)
        return session_lost(s, SESSION_CAUSE_LOST_SESSION, "device lost its session before RESUME");
    if ((r->status != MSG_OK && r->status != MSG_CRC_MISMATCH) || r->st.bin_next > claim)
        return retry_state(s, again, SESSION_CAUSE_UNEXPECTED, "unexpected reply to RESUME");
    s->dev = r->st;
    return ST_STAY;
}

static st_t st_resume(sess_t *s)
{
    reply_t r;
    st_t next = resume_exchange(s, s->fw_acked, ST_RESUME, &r);
    if (next != ST_STAY)
        return next;
    return begin_firmware(s, r.st.bin_next,
                          r.status == MSG_OK
                              ? "; device verified its flash"
                              : "; device flash does not hold the acknowledged bytes "
                                "(CRC_MISMATCH)");
}

/* ---- probing bank 1 (a fresh run) ------------------------------------------------------ */

static uint32_t probe_bytes(const sess_t *s, uint32_t k)
{
    uint64_t b = (uint64_t)k * s->page;
    return b < s->img->bin_len ? (uint32_t)b : s->img->bin_len;
}

/*
 * The next candidate to claim, 0 when the search is over. The first page
 * first: if even that differs, bank 1 holds nothing of ours and one small
 * RESUME was the whole cost. Then the whole image (a run killed just before
 * COMMIT left all of it). Then bisection, which is sound because a matching
 * prefix implies every shorter one matches. Last, the winner again if the
 * device's latest RESUME was a loser: a mismatch put the device back at 0.
 */
static uint32_t probe_pick(const probe_t *p)
{
    if (p->lo == 0 && p->hi == p->n + 1u)
        return 1u;
    if (p->lo == 1u && p->hi == p->n + 1u && p->n > 1u)
        return p->n; /* with one page, page 1 was the whole image: only its check is left */
    if (p->hi - p->lo > 1u)
        return p->lo + (p->hi - p->lo) / 2u;
    return p->lo > 0 && !(p->last == p->lo && p->last_ok) ? p->lo : 0u;
}

static void probe_learn(probe_t *p, uint32_t k, bool match)
{
    p->last = k;
    p->last_ok = match;
    if (match && k > p->lo) {
        p->lo = k;
    } else if (!match && k <= p->lo) {
        /* A prefix that matched before no longer does: bank 1 changed; trust none of it. */
        p->lo = 0;
        p->hi = 1;
    } else if (!match && k < p->hi) {
        p->hi = k;
    }
}

/* The search is over: firmware continues where the device's last RESUME left it. */
static st_t probe_done(sess_t *s)
{
    s->probed = true;
    uint32_t at = s->dev.bin_next;
    if (s->probe.lo == 0 || at == 0)
        return begin_firmware(s, at, s->lost ? "; bank 1 held nothing to reuse" : "");
    uint32_t before = s->fw_acked;
    xfer_begin(s, FRAME_OBJ_FW, at);
    s->fw_acked = at;
    char why[sizeof(s->lost_reason) + 160];
    snprintf(why, sizeof(why),
             "%s%sthe device already held the first %u bytes of this image in bank 1 (found "
             "with %u RESUMEs)",
             s->lost ? s->lost_reason : "", s->lost ? "; " : "", probe_bytes(s, s->probe.lo),
             s->probe.sent);
    emit_resume(s, before, SESSION_CAUSE_FOUND_IN_FLASH, why);
    return ST_FIRMWARE;
}

/* One probe RESUME per call; a timeout repeats the same claim (counted as a retry). */
static st_t st_probe(sess_t *s)
{
    uint32_t k = probe_pick(&s->probe);
    if (k == 0)
        return probe_done(s);
    s->probe.sent++;
    s->res->probes++;
    reply_t r;
    st_t next = resume_exchange(s, probe_bytes(s, k), ST_PROBE, &r);
    if (next != ST_STAY)
        return next;
    probe_learn(&s->probe, k, r.status == MSG_OK);
    return ST_PROBE;
}

static st_t commit_status(sess_t *s, const reply_t *r)
{
    switch (r->status) {
    case MSG_OK: {
        session_event_t ev = {.kind = SESSION_EV_COMMIT, .total = s->img->bin_len};
        emit(s, &ev);
        return ST_REBOOT;
    }
    case MSG_INCOMPLETE:
        if (count_failure(s, SESSION_CAUSE_UNEXPECTED, "COMMIT: INCOMPLETE at offset %u",
                          r->st.bin_next))
            return ST_FAIL;
        rewind_to(s, r->st.bin_next < s->x.total ? r->st.bin_next : 0);
        return ST_FIRMWARE;
    case MSG_NO_SESSION:
        return session_lost(s, SESSION_CAUSE_LOST_SESSION, "device answered COMMIT: NO_SESSION");
    case MSG_VERIFY_FAILED:
        s->fw_acked = 0;
        return retry_state(s, ST_START, SESSION_CAUSE_VERIFY,
                           "COMMIT: bank 1 read back wrong: starting over");
    default:
        return retry_state(s, ST_COMMIT,
                           r->status == MSG_BUSY ? SESSION_CAUSE_BUSY : SESSION_CAUSE_UNEXPECTED,
                           "COMMIT not accepted");
    }
}

static st_t st_commit(sess_t *s)
{
    reply_t r; /* the learnt wait covers the link, SESSION_COMMIT_MS the device's work */
    int rc = exchange(s, MSG_COMMIT, 0, NULL, 0, SESSION_COMMIT_MS, &r);
    if (rc < 0)
        return ST_FAIL;
    if (rc == 0) /* the reply may be lost in the reset: the INFO after it will tell */
        return retry_state(s, ST_REBOOT, SESSION_CAUSE_TIMEOUT, "no reply to COMMIT");
    if (status_fatal(r.status))
        return refused(s, &r, "COMMIT");
    return commit_status(s, &r);
}

/* Activated: bank 0 now holds our image, or the version moved to the package's. */
static bool activated(const sess_t *s, const msg_info_t *a)
{
    const msg_info_t *b = &s->res->before;
    const session_image_t *img = s->img;
    if (a->bank0_size == img->bin_len && a->bank0_crc == s->bin_crc)
        return true;
    if (!img->has_fw_version || a->app_version != img->fw_version)
        return false;
    bool bank0_changed = a->bank0_size != b->bank0_size || a->bank0_crc != b->bank0_crc;
    return b->app_version != img->fw_version || bank0_changed;
}

static st_t outcome(sess_t *s, const msg_info_t *info)
{
    s->res->after = *info;
    s->res->have_after = true;
    if (activated(s, info)) {
        session_event_t ev = {.kind = SESSION_EV_DONE, .total = s->img->bin_len, .info = info};
        emit(s, &ev);
        return ST_DONE;
    }
    if (info->app_version == s->res->before.app_version)
        return fail_set(s, SESSION_ERR_REJECTED,
                        "the bootloader rejected the update (device still runs version %u)",
                        info->app_version);
    return fail_set(s, SESSION_ERR_REJECTED,
                    "the bootloader rejected the update (device runs version %u, the package "
                    "has %u)",
                    info->app_version, s->img->fw_version);
}

/*
 * After COMMIT the bootloader post-validates the image and copies it page by
 * page (erase + program, settings writes between chunks) before the new
 * application answers: ~12 s for 300 KB on an nRF52840 at its 85 ms page
 * erase, longer than the default timeout. So the wait after COMMIT is
 * timeout_ms plus SESSION_FLASH_MS per image page.
 */
static uint64_t activation_ms(const sess_t *s)
{
    uint32_t page = s->res->before.page_size ? s->res->before.page_size : 4096u;
    return ((uint64_t)s->img->bin_len + page - 1u) / page * SESSION_FLASH_MS;
}

static st_t st_reboot(sess_t *s)
{
    uint64_t deadline = now(s) + s->cfg->timeout_ms + activation_ms(s);
    bool pending = false;
    for (;;) {
        reply_t r;
        int rc = hello_until(s, deadline, &r);
        if (rc < 0)
            return ST_FAIL;
        if (rc == 0)
            return fail_set(s, SESSION_ERR_NO_RETURN,
                            "device did not come back within %llu ms of COMMIT%s",
                            (unsigned long long)(s->cfg->timeout_ms + activation_ms(s)),
                            pending ? " (it still reports the update pending)" : "");
        if (r.type != MSG_INFO || status_fatal(r.status))
            return refused(s, &r, "HELLO after COMMIT");
        if (r.info.flags & MSG_INFO_UPDATE_PENDING) {
            /* Not restarted yet, or the bootloader has not run: ask again later. */
            pending = true;
            if (idle_until(s, now(s) + SESSION_HELLO_INTERVAL_MS) < 0)
                return ST_FAIL;
            continue;
        }
        if (r.info.flags & MSG_INFO_SESSION)
            return retry_state(s, ST_COMMIT, SESSION_CAUSE_UNEXPECTED,
                               "device still holds its session: COMMIT did not reach it");
        return outcome(s, &r.info);
    }
}

static st_t (*const states[])(sess_t *) = {
    [ST_HELLO] = st_hello,   [ST_START] = st_start,   [ST_INIT] = st_object,
    [ST_RESUME] = st_resume, [ST_PROBE] = st_probe,   [ST_FIRMWARE] = st_object,
    [ST_COMMIT] = st_commit, [ST_REBOOT] = st_reboot,
};

/* ---- entry ------------------------------------------------------------------------- */

static const char *check_args(const session_config_t *cfg, const session_image_t *img)
{
    if (!cfg || !img || !cfg->link || !cfg->now_ms)
        return "no configuration, link or clock";
    if (!img->dat || img->dat_len == 0 || img->dat_len > MSG_INIT_MAX)
        return "init packet missing or over 512 bytes";
    if (!img->bin || img->bin_len == 0)
        return "firmware image missing or empty";
    return NULL;
}

session_err_t session_run(const session_config_t *cfg, const session_image_t *img,
                          session_result_t *res)
{
    if (!res)
        return SESSION_ERR_ARG;
    memset(res, 0, sizeof(*res));
    const char *bad = check_args(cfg, img);
    if (bad) {
        snprintf(res->msg, sizeof(res->msg), "internal error: %s", bad);
        return res->err = SESSION_ERR_ARG;
    }
    sess_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(res->msg, sizeof(res->msg), "out of memory");
        return res->err = SESSION_ERR_NOMEM;
    }
    *s = (sess_t){.cfg = cfg, .img = img, .res = res};
    s->t0 = now(s);
    s->dat_crc = crc32_compute(img->dat, img->dat_len);
    s->bin_crc = crc32_compute(img->bin, img->bin_len);
    frame_decoder_init(&s->dec, s->dec_buf, sizeof(s->dec_buf));
    st_t st = ST_HELLO;
    while (st != ST_DONE && st != ST_FAIL)
        st = states[st](s);
    res->elapsed_ms = now(s) - s->t0;
    free(s);
    return res->err;
}

const char *session_strerror(session_err_t e)
{
    switch (e) {
    case SESSION_OK:
        return "update activated";
    case SESSION_ERR_ARG:
        return "invalid argument";
    case SESSION_ERR_NOMEM:
        return "out of memory";
    case SESSION_ERR_LINK:
        return "link failed";
    case SESSION_ERR_NO_ANSWER:
        return "device did not answer";
    case SESSION_ERR_TOO_LARGE:
        return "image larger than the device's bank 1";
    case SESSION_ERR_REFUSED:
        return "device refused the update";
    case SESSION_ERR_PROTOCOL:
        return "device broke the protocol";
    case SESSION_ERR_RETRIES:
        return "retry budget spent";
    case SESSION_ERR_NO_RETURN:
        return "device did not come back after COMMIT";
    case SESSION_ERR_REJECTED:
        return "bootloader rejected the update";
    }
    return "unknown session error";
}

const char *session_cause_name(session_cause_t c)
{
    static const char *const names[] = {
        [SESSION_CAUSE_TIMEOUT] = "timeout",
        [SESSION_CAUSE_WRONG_OFFSET] = "wrong_offset",
        [SESSION_CAUSE_LOST_SESSION] = "lost_session",
        [SESSION_CAUSE_VERIFY] = "verify_failed",
        [SESSION_CAUSE_BUSY] = "busy",
        [SESSION_CAUSE_UNEXPECTED] = "unexpected",
        [SESSION_CAUSE_FOUND_IN_FLASH] = "found_in_flash",
    };
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}
