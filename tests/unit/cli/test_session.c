/*
 * The host session (cli/session.h) against a fake device written here: it
 * decodes requests with the proto codec, keeps its offsets as
 * proto/PROTOCOL.md says, stores firmware in a fake bank 1 that survives its
 * resets, reboots through a toy bootloader after COMMIT, and can lose, corrupt
 * or refuse frames on cue. The link is in memory and the clock is fake: a
 * read with nothing to deliver advances the clock by its whole timeout (or to
 * the moment a delayed reply is due), so a timeout costs no real time and no
 * test sleeps.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cli/progress.h"
#ifdef DFUART_HAVE_DFW_RX
#include "cli/pkg.h"
#include "device_fw/dfw_rx.h"
#endif
#include "cli/session.h"
#include "proto/crc32.h"
#include "proto/frame.h"
#include "proto/msg.h"

#define BIN_LEN     50016u /* not a multiple of any payload or page size */
#define DAT_LEN     141u
#define PAGE        4096u
#define OLD_VERSION 1u
#define NEW_VERSION 2u
#define OUT_MAX     (64u * 1024u)
#define MARKS_MAX   1024u
#define EVENTS_MAX  4096u
#define NONE        UINT32_MAX

/* ---- the fake device ------------------------------------------------------------------- */

typedef struct {
    /* geometry and chip state */
    uint16_t max_payload;
    uint8_t window;
    uint32_t max_image;
    uint32_t app_version, bank0_size, bank0_crc;
    bool pending;
    uint8_t bank1[BIN_LEN + PAGE];
    /* RAM session */
    bool session;
    uint8_t phase;
    msg_start_t start;
    uint32_t dat_next, bin_next;
    /* faults (NONE = off); each fires once unless said otherwise */
    uint32_t drop_data_at;       /* lose the DATA frame with this firmware offset */
    uint32_t corrupt_write;      /* flip a bit in the host's Nth write */
    uint32_t drop_reply_at;      /* lose the reply to DATA at this firmware offset */
    uint32_t drop_reply_at2;     /* ... and at this one */
    uint32_t drop_reply_nth;     /* lose the reply to the Nth firmware DATA frame (1-based) */
    uint32_t lose_every;         /* lose each firmware DATA frame that carries a multiple of this
                                    in its count of firmware bytes sent (a line that loses one
                                    frame per lose_every bytes); 0: off, fires every time */
    uint32_t slow_from, slow_to; /* replies leave slow_ms late while bin_next is in [from, to) */
    uint32_t slow_ms;
    uint32_t reset_at;          /* reset on DATA at or past this firmware offset */
    uint32_t mute_at;           /* go silent for good on DATA at or past this offset */
    bool tear_flash_on_reset;   /* the reset also corrupts acknowledged flash */
    uint8_t refuse_init;        /* status to answer the last init byte with (0: none) */
    uint8_t info_status;        /* INFO header status (SETTINGS_INVALID, ...) */
    uint8_t refuse_data;        /* status to answer every firmware DATA with (0: none) */
    bool drop_commit_reply;     /* the COMMIT reply is lost in the reset */
    bool reject_update;         /* the bootloader keeps the old application */
    bool never_returns;         /* no answer after COMMIT */
    uint32_t pending_hellos;    /* after the reboot, INFOs still showing the update pending */
    uint32_t staged_len;        /* what COMMIT staged */
    bool silent;                /* never answers anything */
    bool resume_mismatch;       /* every RESUME answers CRC_MISMATCH, whatever bank 1 holds */
    uint32_t drop_resume_reply; /* lose the reply to the Nth RESUME (1-based; 0: none) */
    uint32_t dead_ms;           /* reboot time after a reset or COMMIT */
    /* link */
    uint64_t now, dead_until;
    bool muted, reboot_when_sent;
    frame_decoder_t dec;
    uint8_t dec_buf[FRAME_MAX_PACKET];
    uint8_t out[OUT_MAX];
    size_t out_len, out_pos;
    struct {
        size_t end;
        bool data;
        uint32_t acked; /* firmware offset an OK reply acknowledges, else 0 */
        uint64_t ready; /* when it may reach the host (never before an earlier reply) */
    } marks[MARKS_MAX];
    size_t nmarks;
    /* what the device saw */
    uint32_t writes, hellos, starts, resumes_rx, commits, data_frames, aborts, queries;
    uint32_t fw_frames, fw_bytes; /* firmware DATA frames (and their bytes) sent, lost ones too */
    uint32_t short_frames;        /* ... shorter than max_payload and not the image's last */
    uint32_t last_claim;          /* offset of the latest RESUME */
    uint32_t inflight, max_inflight;
    uint32_t max_acked, resent_bytes;
    uint8_t rx_count[BIN_LEN]; /* how often each firmware byte was accepted */
    transport_t link;
} fake_t;

static const uint8_t *g_bin, *g_dat;

static void fake_init(fake_t *fk, uint16_t max_payload, uint8_t window)
{
    memset(fk, 0, sizeof(*fk));
    fk->max_payload = max_payload;
    fk->window = window;
    fk->max_image = 0x40000u;
    fk->app_version = OLD_VERSION;
    fk->bank0_size = 30000u;
    fk->bank0_crc = 0x12345678u;
    fk->dead_ms = 400u;
    fk->drop_data_at = fk->drop_reply_at = fk->drop_reply_at2 = fk->reset_at = fk->mute_at = NONE;
    fk->corrupt_write = NONE;
    fk->now = 1000u;
    memset(fk->bank1, 0xFF, sizeof(fk->bank1));
    frame_decoder_init(&fk->dec, fk->dec_buf, sizeof(fk->dec_buf));
}

static uint8_t cur_object(const fake_t *fk)
{
    if (fk->phase == MSG_PHASE_INIT)
        return FRAME_OBJ_INIT;
    return fk->phase == MSG_PHASE_FIRMWARE || fk->phase == MSG_PHASE_READY ? FRAME_OBJ_FW : 0;
}

/* A slow spell (a modem stall, a busy device): replies leave late, in order. */
static uint64_t reply_ready(const fake_t *fk)
{
    bool slow = fk->bin_next >= fk->slow_from && fk->bin_next < fk->slow_to;
    uint64_t at = fk->now + (slow ? fk->slow_ms : 0u);
    if (fk->nmarks && fk->marks[fk->nmarks - 1].ready > at)
        at = fk->marks[fk->nmarks - 1].ready;
    return at;
}

static void queue_frame(fake_t *fk, const frame_t *f, bool is_data, uint32_t acked)
{
    size_t n = 0;
    assert_int_equal(frame_encode(f, fk->out + fk->out_len, OUT_MAX - fk->out_len, &n), FRAME_OK);
    fk->out_len += n;
    assert_true(fk->nmarks < MARKS_MAX);
    fk->marks[fk->nmarks].end = fk->out_len;
    fk->marks[fk->nmarks].acked = acked;
    fk->marks[fk->nmarks].ready = reply_ready(fk);
    fk->marks[fk->nmarks++].data = is_data;
}

static void reply_status(fake_t *fk, uint16_t seq, uint8_t status, bool is_data)
{
    uint8_t obj = cur_object(fk);
    msg_status_body_t b = {
        fk->phase,         fk->window,       0,
        fk->dat_next,      fk->bin_next,     crc32_compute(fk->bank1, fk->bin_next),
        fk->start.dat_len, fk->start.bin_len};
    uint8_t p[MSG_STATUS_LEN];
    msg_status_pack(&b, p);
    frame_t f = {
        MSG_STATUS,     status, obj, seq, obj == FRAME_OBJ_INIT ? fk->dat_next : fk->bin_next,
        MSG_STATUS_LEN, p};
    queue_frame(fk, &f, is_data, status == MSG_OK ? fk->bin_next : 0);
}

static void fake_activate(fake_t *fk);

static void reply_info(fake_t *fk, uint16_t seq)
{
    /* A slow bootloader: the update stays pending for a few answers, then it is done. */
    if (fk->pending && fk->phase == MSG_PHASE_IDLE && fk->pending_hellos-- == 0)
        fake_activate(fk);
    msg_info_t i = {fk->max_payload,
                    fk->window,
                    (uint8_t)((fk->pending ? MSG_INFO_UPDATE_PENDING : 0) |
                              (fk->session ? MSG_INFO_SESSION : 0)),
                    fk->app_version,
                    fk->bank0_size,
                    fk->bank0_crc,
                    0x26000u,
                    fk->max_image,
                    0x80000u,
                    PAGE,
                    0};
    uint8_t p[MSG_INFO_LEN];
    msg_info_pack(&i, p);
    frame_t f = {MSG_INFO, fk->info_status, 0, seq, 0, MSG_INFO_LEN, p};
    queue_frame(fk, &f, false, 0);
}

/* RAM is gone, flash stays; silent until it has rebooted. */
static void fake_reset(fake_t *fk)
{
    fk->session = false;
    fk->phase = MSG_PHASE_IDLE;
    fk->dat_next = fk->bin_next = 0;
    memset(&fk->start, 0, sizeof(fk->start));
    fk->out_len = fk->out_pos = fk->nmarks = 0;
    fk->inflight = 0;
    fk->dead_until = fk->now + fk->dead_ms;
    frame_decoder_reset(&fk->dec);
}

static void dev_start(fake_t *fk, const frame_t *f)
{
    msg_start_t m;
    fk->starts++;
    if (f->len != MSG_START_LEN) {
        reply_status(fk, f->seq, MSG_BAD_REQUEST, false);
        return;
    }
    msg_start_unpack(f->payload, &m);
    if (!fk->session || memcmp(&m, &fk->start, sizeof(m)) != 0) {
        fk->session = true;
        fk->start = m;
        fk->phase = MSG_PHASE_INIT;
        fk->dat_next = fk->bin_next = 0;
    }
    reply_status(fk, f->seq, MSG_OK, false);
}

static void dev_init_data(fake_t *fk, const frame_t *f)
{
    uint32_t end = f->offset + f->len;
    if (fk->phase != MSG_PHASE_INIT || end <= fk->dat_next) {
        reply_status(fk, f->seq, MSG_OK, true); /* duplicate */
        return;
    }
    if (f->offset > fk->dat_next) {
        reply_status(fk, f->seq, MSG_WRONG_OFFSET, true);
        return;
    }
    fk->dat_next = end;
    if (fk->dat_next < fk->start.dat_len) {
        reply_status(fk, f->seq, MSG_OK, true);
        return;
    }
    if (fk->refuse_init) {
        fk->phase = MSG_PHASE_FAILED;
        reply_status(fk, f->seq, fk->refuse_init, true);
        return;
    }
    fk->phase = MSG_PHASE_FIRMWARE;
    reply_status(fk, f->seq, MSG_OK, true);
}

static void accept_fw(fake_t *fk, const frame_t *f)
{
    uint32_t from = fk->bin_next, end = f->offset + f->len;
    memcpy(fk->bank1 + from, f->payload + (from - f->offset), end - from);
    for (uint32_t i = from; i < end; i++) {
        fk->rx_count[i]++;
        fk->resent_bytes += i < fk->max_acked;
    }
    fk->bin_next = end;
    if (end == fk->start.bin_len)
        fk->phase =
            crc32_compute(fk->bank1, end) == fk->start.bin_crc ? MSG_PHASE_READY : MSG_PHASE_FAILED;
}

/* What the host sent: frame sizes, and the faults counted in bytes sent. */
static bool fw_sent(fake_t *fk, const frame_t *f)
{
    uint32_t before = fk->fw_bytes;
    fk->fw_frames++;
    fk->fw_bytes += f->len;
    uint16_t max = fk->max_payload < FRAME_MAX_PAYLOAD ? fk->max_payload : FRAME_MAX_PAYLOAD;
    if (f->len < max && f->offset + f->len < fk->start.bin_len)
        fk->short_frames++;
    return fk->lose_every && fk->fw_bytes / fk->lose_every != before / fk->lose_every;
}

/* Faults that happen to a firmware frame before the device acts on it; true: swallowed. */
static bool fw_fault(fake_t *fk, const frame_t *f)
{
    if (fw_sent(fk, f))
        return true;
    if (f->offset == fk->drop_data_at) {
        fk->drop_data_at = NONE;
        return true;
    }
    if (f->offset >= fk->reset_at) {
        fk->reset_at = NONE;
        if (fk->tear_flash_on_reset)
            fk->bank1[100] ^= 0xFF;
        fake_reset(fk);
        return true;
    }
    if (f->offset >= fk->mute_at) {
        fk->muted = true;
        return true;
    }
    return false;
}

static void dev_fw_data(fake_t *fk, const frame_t *f)
{
    bool drop_reply = f->offset == fk->drop_reply_at || f->offset == fk->drop_reply_at2 ||
                      fk->fw_frames == fk->drop_reply_nth;
    if (f->offset == fk->drop_reply_at)
        fk->drop_reply_at = NONE;
    else if (f->offset == fk->drop_reply_at2)
        fk->drop_reply_at2 = NONE;
    size_t before = fk->out_len;
    uint32_t end = f->offset + f->len;
    if (fk->refuse_data)
        reply_status(fk, f->seq, fk->refuse_data, true);
    else if (fk->phase != MSG_PHASE_FIRMWARE || end <= fk->bin_next)
        reply_status(fk, f->seq, fk->phase >= MSG_PHASE_FIRMWARE ? MSG_OK : MSG_WRONG_OFFSET, true);
    else if (f->offset > fk->bin_next)
        reply_status(fk, f->seq, MSG_WRONG_OFFSET, true);
    else {
        accept_fw(fk, f);
        reply_status(fk, f->seq, fk->phase == MSG_PHASE_FAILED ? MSG_VERIFY_FAILED : MSG_OK, true);
    }
    if (drop_reply) { /* lost on the wire: the host never sees it */
        fk->out_len = before;
        fk->nmarks--;
        fk->inflight--;
    }
}

static void dev_data(fake_t *fk, const frame_t *f)
{
    fk->data_frames++;
    if (f->object == FRAME_OBJ_FW && fw_fault(fk, f))
        return;
    if (++fk->inflight > fk->max_inflight)
        fk->max_inflight = fk->inflight;
    if (!fk->session)
        reply_status(fk, f->seq, MSG_NO_SESSION, true);
    else if (f->object == FRAME_OBJ_INIT)
        dev_init_data(fk, f);
    else
        dev_fw_data(fk, f);
}

static void dev_resume(fake_t *fk, const frame_t *f)
{
    fk->resumes_rx++;
    fk->last_claim = f->offset;
    if (!fk->session) {
        reply_status(fk, f->seq, MSG_NO_SESSION, false);
        return;
    }
    uint32_t claim = f->offset;
    bool ok = !fk->resume_mismatch && f->len == MSG_RESUME_LEN && claim <= fk->start.bin_len &&
              crc32_compute(fk->bank1, claim) == frame_get32(f->payload);
    fk->bin_next = ok ? claim / PAGE * PAGE : 0; /* the page being written may be torn */
    /* As dfw_rx: any RESUME (again) positions the session; a whole image verified is READY. */
    fk->phase = fk->bin_next == fk->start.bin_len ? MSG_PHASE_READY : MSG_PHASE_FIRMWARE;
    size_t before = fk->out_len;
    reply_status(fk, f->seq, ok ? MSG_OK : MSG_CRC_MISMATCH, false);
    if (fk->resumes_rx == fk->drop_resume_reply) { /* lost on the wire */
        fk->out_len = before;
        fk->nmarks--;
    }
}

static void fake_reboot(fake_t *fk);

static void dev_commit(fake_t *fk, const frame_t *f)
{
    fk->commits++;
    if (!fk->session) {
        reply_status(fk, f->seq, MSG_NO_SESSION, false);
        return;
    }
    if (fk->phase != MSG_PHASE_READY) {
        reply_status(fk, f->seq, MSG_INCOMPLETE, false);
        return;
    }
    fk->pending = true;
    fk->staged_len = fk->start.bin_len;
    fk->phase = MSG_PHASE_COMMITTED;
    if (fk->drop_commit_reply) { /* the reply dies with the reset */
        fake_reboot(fk);
        return;
    }
    reply_status(fk, f->seq, MSG_OK, false);
    fk->reboot_when_sent = true;
}

static void dev_handle(fake_t *fk, const frame_t *f)
{
    switch (f->type) {
    case MSG_HELLO:
        fk->hellos++;
        reply_info(fk, f->seq);
        break;
    case MSG_START:
        dev_start(fk, f);
        break;
    case MSG_DATA:
        dev_data(fk, f);
        break;
    case MSG_RESUME:
        dev_resume(fk, f);
        break;
    case MSG_COMMIT:
        dev_commit(fk, f);
        break;
    case MSG_QUERY:
        fk->queries++;
        reply_status(fk, f->seq, MSG_OK, false);
        break;
    case MSG_ABORT:
        fk->aborts++;
        fk->session = false;
        fk->phase = MSG_PHASE_IDLE;
        reply_status(fk, f->seq, MSG_OK, false);
        break;
    default:
        reply_status(fk, f->seq, MSG_BAD_REQUEST, false);
    }
}

/* The toy bootloader: activates the staged image unless told to reject it. */
static void fake_activate(fake_t *fk)
{
    fk->pending = false;
    if (fk->reject_update)
        return;
    fk->app_version = NEW_VERSION;
    fk->bank0_size = fk->staged_len;
    fk->bank0_crc = crc32_compute(fk->bank1, fk->staged_len);
}

static void fake_reboot(fake_t *fk)
{
    fk->reboot_when_sent = false;
    fake_reset(fk);
    if (fk->never_returns)
        fk->muted = true;
    if (fk->pending_hellos == 0)
        fake_activate(fk);
}

static bool fake_deaf(const fake_t *fk)
{
    return fk->silent || fk->muted || fk->now < fk->dead_until;
}

static transport_err_t fake_write(transport_t *t, const uint8_t *buf, size_t n)
{
    fake_t *fk = t->ctx;
    uint8_t copy[FRAME_MAX_WIRE + 1];
    assert_true(n <= sizeof(copy));
    memcpy(copy, buf, n);
    fk->now += 1; /* a frame takes time on the wire */
    if (fk->writes++ == fk->corrupt_write)
        copy[n / 2] ^= 0x20;
    if (fake_deaf(fk)) {
        frame_decoder_reset(&fk->dec);
        return TRANSPORT_OK;
    }
    size_t pos = 0;
    while (pos < n) {
        size_t used = 0;
        frame_t f;
        frame_result_t r = frame_decoder_push(&fk->dec, copy + pos, n - pos, &used, &f);
        pos += used;
        if (r == FRAME_READY && !(f.type & MSG_REPLY_BIT))
            dev_handle(fk, &f);
        if (fake_deaf(fk) || r == FRAME_NEED_MORE)
            break;
    }
    return TRANSPORT_OK;
}

/* A reply counts as received when its last byte has been handed to the host. */
static void settle_marks(fake_t *fk)
{
    size_t k = 0;
    while (k < fk->nmarks && fk->marks[k].end <= fk->out_pos) {
        if (fk->marks[k].data)
            fk->inflight--;
        if (fk->marks[k].acked > fk->max_acked) /* the host now knows this much is stored */
            fk->max_acked = fk->marks[k].acked;
        k++;
    }
    memmove(fk->marks, fk->marks + k, (fk->nmarks - k) * sizeof(fk->marks[0]));
    fk->nmarks -= k;
}

/* End of the replies that have reached the host by now (marks[0] is the first not read). */
static size_t fake_arrived(const fake_t *fk)
{
    size_t end = fk->out_pos;
    for (size_t k = 0; k < fk->nmarks && fk->marks[k].ready <= fk->now; k++)
        end = fk->marks[k].end;
    return end;
}

static int fake_read(transport_t *t, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    fake_t *fk = t->ctx;
    if (fk->out_pos == fk->out_len) {
        fk->now += timeout_ms; /* nothing comes: the whole timeout passes, instantly */
        return 0;
    }
    if (fake_arrived(fk) == fk->out_pos) { /* the next reply is late */
        if (fk->marks[0].ready > fk->now + timeout_ms) {
            fk->now += timeout_ms;
            return 0;
        }
        fk->now = fk->marks[0].ready;
    }
    size_t n = fake_arrived(fk) - fk->out_pos;
    n = n < cap ? n : cap;
    memcpy(buf, fk->out + fk->out_pos, n);
    fk->out_pos += n;
    settle_marks(fk);
    if (fk->out_pos == fk->out_len) {
        for (size_t k = 0; k < fk->nmarks; k++)
            fk->marks[k].end -= fk->out_len;
        fk->out_pos = fk->out_len = 0;
        if (fk->reboot_when_sent)
            fake_reboot(fk);
    }
    return (int)n;
}

static uint64_t fake_now(void *ctx)
{
    return ((fake_t *)ctx)->now;
}

static void fake_link(fake_t *fk)
{
    fk->link = (transport_t){.backend = TRANSPORT_BACKEND_CUSTOM,
                             .ctx = fk,
                             .read = fake_read,
                             .write = fake_write,
                             .baud = 115200};
    snprintf(fk->link.path, sizeof(fk->link.path), "fake");
}

/* ---- events and running ------------------------------------------------------------ */

typedef struct {
    size_t n;
    session_event_t ev[EVENTS_MAX];
    char last_resume_reason[256];
    char last_retry_reason[256];
    size_t n_timeouts;
    uint32_t timeout_wait_ms[16]; /* "within N ms" of the first timeouts */
} events_t;

static void record(void *ctx, const session_event_t *ev)
{
    events_t *e = ctx;
    assert_true(e->n < EVENTS_MAX);
    e->ev[e->n] = *ev;
    e->ev[e->n].reason = NULL; /* only valid during the callback */
    e->ev[e->n].info = NULL;
    e->n++;
    if (ev->kind == SESSION_EV_RESUME)
        snprintf(e->last_resume_reason, sizeof(e->last_resume_reason), "%s", ev->reason);
    if (ev->kind == SESSION_EV_RETRY)
        snprintf(e->last_retry_reason, sizeof(e->last_retry_reason), "%s", ev->reason);
    const char *within = ev->kind == SESSION_EV_RETRY ? strstr(ev->reason, " within ") : NULL;
    if (within && e->n_timeouts < sizeof(e->timeout_wait_ms) / sizeof(e->timeout_wait_ms[0]))
        e->timeout_wait_ms[e->n_timeouts++] = (uint32_t)strtoul(within + 8, NULL, 10);
}

static size_t count_kind(const events_t *e, session_event_kind_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        n += e->ev[i].kind == k;
    return n;
}

static const session_event_t *first_kind(const events_t *e, session_event_kind_t k)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->ev[i].kind == k)
            return &e->ev[i];
    return NULL;
}

typedef struct {
    fake_t fk;
    events_t ev;
    session_result_t res;
    session_image_t img;
    uint32_t bin_len; /* the image is g_bin's first bin_len bytes; 0: BIN_LEN */
} run_t;

static session_err_t run_with(run_t *r, uint32_t retries,
                              void (*sink)(void *, const session_event_t *), void *sink_ctx)
{
    fake_link(&r->fk);
    uint32_t len = r->bin_len ? r->bin_len : BIN_LEN;
    r->img = (session_image_t){g_dat, DAT_LEN, g_bin, len, true, NEW_VERSION};
    session_config_t cfg = {
        &r->fk.link, fake_now, &r->fk, sink ? sink : record, sink ? sink_ctx : &r->ev,
        115200,      5000,     retries};
    return session_run(&cfg, &r->img, &r->res);
}

static session_err_t run(run_t *r)
{
    return run_with(r, 10, NULL, NULL);
}

static run_t *new_run(uint16_t max_payload, uint8_t window)
{
    run_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    fake_init(&r->fk, max_payload, window);
    return r;
}

static void assert_activated(const run_t *r)
{
    assert_int_equal(r->res.err, SESSION_OK);
    assert_int_equal(r->fk.app_version, NEW_VERSION);
    assert_memory_equal(r->fk.bank1, g_bin, BIN_LEN);
    assert_int_equal(count_kind(&r->ev, SESSION_EV_DONE), 1);
    assert_int_equal(r->res.after.app_version, NEW_VERSION);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_session_clean_run_sends_each_byte_once_within_the_window(void **state)
{
    (void)state;
    static const struct {
        uint16_t payload;
        uint8_t window;
    } geo[] = {{2048, 2}, {2048, 1}, {512, 4}, {100, 3}, {4000, 8}};
    for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
        run_t *r = new_run(geo[g].payload, geo[g].window);
        assert_int_equal(run(r), SESSION_OK);
        assert_activated(r);
        for (uint32_t i = 0; i < BIN_LEN; i++)
            assert_int_equal(r->fk.rx_count[i], 1);
        uint16_t payload = geo[g].payload < 2048 ? geo[g].payload : 2048;
        assert_int_equal(r->fk.data_frames,
                         (DAT_LEN + payload - 1) / payload + (BIN_LEN + payload - 1) / payload);
        assert_true(r->fk.max_inflight <= geo[g].window);
        if (geo[g].window > 1)
            assert_int_equal(r->fk.max_inflight, geo[g].window); /* the window is used */
        assert_int_equal(count_kind(&r->ev, SESSION_EV_RETRY), 0);
        assert_int_equal(count_kind(&r->ev, SESSION_EV_RESUME), 0);
        assert_int_equal(count_kind(&r->ev, SESSION_EV_COMMIT), 1);
        assert_int_equal(r->fk.starts, 1);
        assert_int_equal(r->fk.commits, 1);
        assert_int_equal(r->res.retries, 0);
        free(r);
    }
}

static void test_session_lost_data_frame_rewinds_on_wrong_offset(void **state)
{
    (void)state;
    for (uint8_t window = 2; window <= 5; window++) {
        run_t *r = new_run(2048, window);
        r->fk.drop_data_at = 8192;
        assert_int_equal(run(r), SESSION_OK);
        assert_activated(r);
        const session_event_t *retry = first_kind(&r->ev, SESSION_EV_RETRY);
        assert_non_null(retry);
        assert_int_equal(retry->cause, SESSION_CAUSE_WRONG_OFFSET);
        assert_int_equal(retry->offset, 8192);
        /* The frames behind the lost one are answered WRONG_OFFSET too: ignored as obsolete. */
        assert_int_equal(count_kind(&r->ev, SESSION_EV_RETRY), 1);
        assert_non_null(strstr(r->ev.last_retry_reason, "WRONG_OFFSET"));
        /* Obsolete frames still fill device buffers: they count against the window. */
        assert_true(r->fk.max_inflight <= window);
        for (uint32_t i = 0; i < BIN_LEN; i++)
            assert_int_equal(r->fk.rx_count[i], 1); /* go-back-N: nothing stored twice */
        free(r);
    }
}

static void test_session_corrupted_frame_is_dropped_and_resent(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.corrupt_write = 10; /* a firmware DATA frame, well inside the image */
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_true(count_kind(&r->ev, SESSION_EV_RETRY) >= 1);
    free(r);
}

static void test_session_lost_reply_times_out_and_queries(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 1);
    r->fk.drop_reply_at = 6144;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    const session_event_t *retry = first_kind(&r->ev, SESSION_EV_RETRY);
    assert_non_null(retry);
    assert_int_equal(retry->cause, SESSION_CAUSE_TIMEOUT);
    assert_int_equal(count_kind(&r->ev, SESSION_EV_RETRY), 1);
    /* QUERY told the host the frame had arrived: it is not sent again. */
    for (uint32_t i = 0; i < BIN_LEN; i++)
        assert_int_equal(r->fk.rx_count[i], 1);
    free(r);
}

static void test_session_lost_last_reply_times_out_and_queries(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.drop_reply_at = BIN_LEN / 2048u * 2048u; /* the last, partial frame */
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_int_equal(first_kind(&r->ev, SESSION_EV_RETRY)->cause, SESSION_CAUSE_TIMEOUT);
    free(r);
}

static void test_session_device_reset_resumes_from_the_page_boundary(void **state)
{
    (void)state;
    run_t *r = new_run(1000, 2); /* frames straddle pages: the resume point is mid-frame */
    r->fk.reset_at = 21000;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    const session_event_t *res = first_kind(&r->ev, SESSION_EV_RESUME);
    assert_non_null(res);
    assert_int_equal(count_kind(&r->ev, SESSION_EV_RESUME), 1);
    assert_int_equal(res->offset % PAGE, 0);
    assert_true(res->acked >= 20000 && res->acked <= 21000);
    assert_true(res->acked - res->offset < PAGE);
    assert_true(r->fk.resent_bytes > 0);
    assert_true(r->fk.resent_bytes < PAGE);
    assert_int_equal(r->res.probes, 1); /* the fresh start: bank 1 was blank */
    assert_int_equal(r->fk.resumes_rx, 2);
    assert_int_equal(r->fk.starts, 2);
    assert_int_equal(r->res.resumes, 1);
    assert_non_null(strstr(r->ev.last_resume_reason, "verified"));
    free(r);
}

static void test_session_resume_with_torn_flash_restarts_from_zero(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.reset_at = 30000;
    r->fk.tear_flash_on_reset = true;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    const session_event_t *res = first_kind(&r->ev, SESSION_EV_RESUME);
    assert_non_null(res);
    assert_int_equal(res->offset, 0);
    assert_non_null(strstr(r->ev.last_resume_reason, "CRC_MISMATCH"));
    free(r);
}

static void test_session_device_refusing_too_large_stops_with_its_status(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.refuse_init = MSG_TOO_LARGE;
    assert_int_equal(run(r), SESSION_ERR_REFUSED);
    assert_int_equal(r->res.status, MSG_TOO_LARGE);
    assert_non_null(strstr(r->res.msg, "TOO_LARGE"));
    assert_non_null(strstr(r->res.msg, msg_status_text(MSG_TOO_LARGE)));
    assert_int_equal(r->fk.bin_next, 0);
    assert_int_equal(r->fk.commits, 0);
    free(r);
}

static void test_session_rerun_aborts_the_devices_failed_session(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.refuse_init = MSG_TOO_LARGE;
    assert_int_equal(run(r), SESSION_ERR_REFUSED);
    assert_int_equal(r->fk.phase, MSG_PHASE_FAILED);
    /* Same package again: START finds the FAILED session, ABORTs it, and asks afresh. */
    assert_int_equal(run(r), SESSION_ERR_REFUSED);
    assert_int_equal(r->res.status, MSG_TOO_LARGE);
    assert_int_equal(r->fk.aborts, 1);
    assert_int_equal(r->fk.starts, 3);
    free(r);
}

static void test_session_flash_fault_is_fatal(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.refuse_data = MSG_FLASH_FAULT;
    assert_int_equal(run(r), SESSION_ERR_REFUSED);
    assert_int_equal(r->res.status, MSG_FLASH_FAULT);
    assert_non_null(strstr(r->res.msg, "FLASH_FAULT"));
    assert_int_equal(r->fk.commits, 0);
    free(r);
}

static void test_session_image_over_max_image_sends_nothing(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.max_image = BIN_LEN - 1;
    assert_int_equal(run(r), SESSION_ERR_TOO_LARGE);
    assert_int_equal(r->fk.starts, 0);
    assert_int_equal(r->fk.data_frames, 0);
    assert_non_null(strstr(r->res.msg, "TOO_LARGE"));
    free(r);
}

static void test_session_invalid_settings_in_info_stop_before_start(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.info_status = MSG_SETTINGS_INVALID;
    r->fk.max_image = 0; /* as the device reports it: nothing can be staged */
    assert_int_equal(run(r), SESSION_ERR_REFUSED);
    assert_int_equal(r->res.status, MSG_SETTINGS_INVALID);
    assert_non_null(strstr(r->res.msg, "SETTINGS_INVALID"));
    assert_int_equal(r->fk.starts, 0);
    free(r);
}

static void test_session_rejected_update_reports_the_old_version(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.reject_update = true;
    assert_int_equal(run(r), SESSION_ERR_REJECTED);
    assert_non_null(strstr(r->res.msg, "the bootloader rejected the update"));
    assert_non_null(strstr(r->res.msg, "still runs version 1"));
    assert_true(r->res.have_after);
    assert_int_equal(r->res.after.app_version, OLD_VERSION);
    assert_int_equal(count_kind(&r->ev, SESSION_EV_DONE), 0);
    free(r);
}

static void test_session_lost_commit_reply_still_learns_the_outcome(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.drop_commit_reply = true;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_int_equal(r->fk.commits, 1); /* not committed twice */
    free(r);
}

static void test_session_waits_while_the_update_is_still_pending(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.pending_hellos = 3;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_true(r->fk.hellos >= 5); /* the first, three pending, the one that saw it done */
    free(r);
}

static void test_session_device_that_never_returns_is_a_timeout(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.never_returns = true;
    assert_int_equal(run(r), SESSION_ERR_NO_RETURN);
    assert_non_null(strstr(r->res.msg, "did not come back"));
    free(r);
}

static void test_session_retry_budget_exhausted_is_an_error(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.mute_at = 20480;
    assert_int_equal(run_with(r, 4, NULL, NULL), SESSION_ERR_RETRIES);
    assert_int_equal(count_kind(&r->ev, SESSION_EV_RETRY), 4);
    assert_int_equal(r->res.retries, 5);
    assert_non_null(strstr(r->res.msg, "5 consecutive failures"));
    assert_non_null(strstr(r->res.msg, "no reply"));
    assert_int_equal(r->fk.commits, 0);
    free(r);
}

static void test_session_silent_device_is_no_answer_after_polling_hello(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.silent = true;
    assert_int_equal(run(r), SESSION_ERR_NO_ANSWER);
    /* 5000 ms at one HELLO per 250 ms */
    assert_true(r->fk.writes >= 19 && r->fk.writes <= 21);
    assert_int_equal(count_kind(&r->ev, SESSION_EV_START), 0);
    free(r);
}

static void test_session_second_run_continues_the_devices_session(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.mute_at = 20480;
    assert_int_equal(run_with(r, 2, NULL, NULL), SESSION_ERR_RETRIES);
    uint32_t had = r->fk.bin_next;
    assert_true(had >= 16384);
    /* the link comes back; a new `dfuart update` of the same package */
    r->fk.muted = false;
    r->fk.mute_at = NONE;
    memset(&r->ev, 0, sizeof(r->ev));
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    const session_event_t *res = first_kind(&r->ev, SESSION_EV_RESUME);
    assert_non_null(res);
    assert_int_equal(res->offset, had);
    for (uint32_t i = 0; i < BIN_LEN; i++)
        assert_int_equal(r->fk.rx_count[i], 1);
    free(r);
}

/* JSON Lines from the progress renderer: one parseable object per event. */
static void test_session_events_render_as_json_lines(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    progress_t p;
    progress_target_t t = {"app.zip", "fake",  "custom", 115200,
                           BIN_LEN,   DAT_LEN, true,     NEW_VERSION};
    progress_init(&p, mem, PROGRESS_JSON, &t);
    run_t *r = new_run(2048, 2);
    r->fk.drop_data_at = 4096;
    assert_int_equal(run_with(r, 10, progress_event, &p), SESSION_OK);
    progress_error(&p, 76, "refused", "TOO_LARGE", "a \"quoted\"\nline");
    fclose(mem);
    size_t kinds[8] = {0};
    static const char *const names[] = {"start",  "progress", "retry", "resume",
                                        "commit", "done",     "error"};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(o, "event"));
        assert_non_null(ev);
        for (size_t k = 0; k < 7; k++)
            kinds[k] += strcmp(ev, names[k]) == 0;
        if (strcmp(ev, "progress") == 0) {
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "offset")));
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "total")));
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "rate_bps")));
        }
        if (strcmp(ev, "error") == 0)
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")),
                                "a \"quoted\"\nline");
        cJSON_Delete(o);
    }
    assert_int_equal(kinds[0], 1);
    assert_true(kinds[1] > 25);
    assert_int_equal(kinds[2], 1);
    assert_int_equal(kinds[4], 1);
    assert_int_equal(kinds[5], 1);
    assert_int_equal(kinds[6], 1);
    free(text);
    free(r);
}

static void test_session_rejects_bad_arguments(void **state)
{
    (void)state;
    session_result_t res;
    session_image_t img = {g_dat, 0, g_bin, BIN_LEN, false, 0};
    fake_t *fk = calloc(1, sizeof(*fk));
    fake_init(fk, 2048, 2);
    fake_link(fk);
    session_config_t cfg = {&fk->link, fake_now, fk, NULL, NULL, 0, 1000, 1};
    assert_int_equal(session_run(&cfg, &img, &res), SESSION_ERR_ARG);
    img.dat_len = MSG_INIT_MAX + 1;
    assert_int_equal(session_run(&cfg, &img, &res), SESSION_ERR_ARG);
    cfg.now_ms = NULL;
    img.dat_len = DAT_LEN;
    assert_int_equal(session_run(&cfg, &img, &res), SESSION_ERR_ARG);
    assert_int_equal(session_run(&cfg, &img, NULL), SESSION_ERR_ARG);
    assert_int_equal(fk->writes, 0);
    free(fk);
}

static void test_session_wire_time_is_8n1_at_the_baud(void **state)
{
    (void)state;
    assert_int_equal(session_wire_us(0, 4000), 0); /* no baud: no allowance */
    /* 2 x 2074 bytes at 115200 baud 8N1 = 360.07 ms on the wire, rounded up */
    assert_int_equal(session_wire_us(115200, 4148), 360070);
    assert_int_equal(session_wire_us(1000000, 4148), 41480);
}

/* ---- the reply wait: learnt from every reply, late or prompt (session_rtt_t) --------------- */

static void test_session_wait_doubles_per_timeout_until_a_reply_is_timed(void **state)
{
    (void)state;
    session_rtt_t r = {0};
    assert_int_equal(session_rtt_wait_ms(&r), SESSION_FLASH_MS);
    uint32_t want = SESSION_FLASH_MS;
    for (int i = 0; i < 8; i++) {
        session_rtt_timeout(&r);
        want = 2u * want < SESSION_WAIT_MAX_MS ? 2u * want : SESSION_WAIT_MAX_MS;
        assert_int_equal(session_rtt_wait_ms(&r), want);
    }
    session_rtt_sample(&r, 3000); /* a reply 3 ms after its request: the backoff is over */
    assert_int_equal(r.backoff, 0);
    assert_int_equal(session_rtt_wait_ms(&r), 3 + SESSION_FLASH_MS);
}

/*
 * Issue #5: the wait learnt from one slow spell used to stay for the rest of
 * the update. A late reply (2 s, a modem stall) lengthens it past its round
 * trip; prompt replies shrink it step by step back to the floor.
 */
static void test_session_wait_shrinks_back_after_a_late_reply(void **state)
{
    (void)state;
    session_rtt_t r = {0};
    for (int i = 0; i < 10; i++)
        session_rtt_sample(&r, 5000);
    assert_int_equal(session_rtt_wait_ms(&r), 5 + SESSION_FLASH_MS);
    session_rtt_sample(&r, 2000000);
    uint32_t wait = session_rtt_wait_ms(&r);
    assert_true(wait >= 2000);
    int prompt = 0;
    while (wait > 5 + SESSION_FLASH_MS) {
        session_rtt_sample(&r, 5000);
        uint32_t next = session_rtt_wait_ms(&r);
        assert_true(next <= wait);
        wait = next;
        assert_true(++prompt <= 20);
    }
    assert_int_equal(prompt, 19);
}

/* A link with 600 ms of latency: the wait settles at latency + device time, never below. */
static void test_session_wait_keeps_the_links_latency_plus_device_time(void **state)
{
    (void)state;
    session_rtt_t r = {0};
    session_rtt_sample(&r, 600000);
    assert_int_equal(session_rtt_wait_ms(&r), 1800); /* srtt + 4 x srtt / 2: unsure yet */
    for (int i = 0; i < 40; i++) {
        session_rtt_sample(&r, 600000 + (i % 2) * 10000);
        assert_true(session_rtt_wait_ms(&r) >= 600 + SESSION_FLASH_MS);
    }
    assert_int_equal(session_rtt_wait_ms(&r), 600 + SESSION_FLASH_MS);
}

/* Milliseconds from the last PROGRESS before the last RETRY to that RETRY. */
static uint64_t last_retry_silence_ms(const events_t *e)
{
    uint64_t progress = 0, silence = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (e->ev[i].kind == SESSION_EV_PROGRESS)
            progress = e->ev[i].t_ms;
        else if (e->ev[i].kind == SESSION_EV_RETRY)
            silence = e->ev[i].t_ms - progress;
    }
    return silence;
}

/*
 * A QUERY answered promptly after a timeout: only the reply was lost, the
 * link is not slow, so the next loss costs the same wait; and the frame had
 * arrived, so the link loses nothing and the frames stay at 2048 bytes
 * (offsets 6144 and 30720 both start frames). The fake link is far
 * faster than its 115200 baud (as a pty is): replies keep the host's model
 * of its UART queue from drifting ahead, so the timeout still comes one
 * frame's wire time plus the wait after the frame was sent.
 */
static void test_session_lost_replies_do_not_lengthen_later_waits(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 1);
    r->fk.drop_reply_at = 6144;
    r->fk.drop_reply_at2 = 30720;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_int_equal(r->ev.n_timeouts, 2);
    assert_int_equal(r->fk.short_frames, 0);
    assert_int_equal(r->fk.queries, 2);
    assert_int_equal(r->ev.timeout_wait_ms[0], SESSION_FLASH_MS);
    assert_int_equal(r->ev.timeout_wait_ms[1], SESSION_FLASH_MS);
    uint64_t frame_ms = session_wire_us(115200, FRAME_MAX_WIRE) / 1000u + 1u;
    assert_true(last_retry_silence_ms(&r->ev) <= frame_ms + SESSION_FLASH_MS + 10u);
    free(r);
}

/*
 * The device answers 1.5 s late while it stores [2048, 6144) (a stall on the
 * link): the late replies, recognised by seq after their timeouts, teach the
 * wait, so the spell costs two timeouts, not one per frame; the prompt
 * replies after it shrink the wait back, so a reply lost near the end costs
 * the floor again, not the spell's wait.
 */
static void test_session_wait_follows_a_slow_spell_and_recovers(void **state)
{
    (void)state;
    run_t *r = new_run(1024, 1);
    r->fk.slow_from = 2048;
    r->fk.slow_to = 6144;
    r->fk.slow_ms = 1500;
    r->fk.drop_reply_at = 46080; /* a frame start: late replies are no loss, frames stay 1024 */
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    /* The first reply of the spell, then its QUERY (the wait doubled); then none. */
    assert_int_equal(r->ev.n_timeouts, 3);
    assert_int_equal(r->ev.timeout_wait_ms[0], SESSION_FLASH_MS);
    assert_int_equal(r->ev.timeout_wait_ms[1], 2 * SESSION_FLASH_MS);
    assert_int_equal(r->ev.timeout_wait_ms[2], SESSION_FLASH_MS); /* the lost reply at 46080 */
    for (uint32_t i = 0; i < BIN_LEN; i++)
        assert_int_equal(r->fk.rx_count[i], 1); /* QUERY, not a resend, after every timeout */
    free(r);
}

/* ---- the payload: best expected goodput from the loss rate, round trip and baud --------- */

static bool near(double a, double b)
{
    return a - b < 0.01 && b - a < 0.01;
}

/* A gsm-like path: 19200 baud, window 2, 600 ms round trip, 1 s reply wait. */
static session_path_t gsm_path(double loss_rate)
{
    return (session_path_t){19200, 2, 2048, 600000, 1000, loss_rate};
}

/*
 * The model by hand. A 2048-byte frame is 2074 wire bytes, 1.080209 s at 19200
 * baud: the line is the limit. A 256-byte one is 275 bytes, 0.14323 s, and the
 * window is: two per 0.14323 + 0.6 + 0.021875 (the reply) s. At 1e-3 lost per
 * byte it arrives with 0.999^275 = 0.759468, and each loss costs two frames'
 * wire time plus the round trip (or, when the next frame dies too, the wait).
 */
static void test_session_goodput_is_what_the_window_and_the_line_allow(void **state)
{
    (void)state;
    session_path_t p = gsm_path(0.0);
    assert_true(near(session_goodput(&p, 2048), 2048 / 1.080209));
    assert_true(near(session_goodput(&p, 256), 256 / ((0.14323 + 0.621875) / 2)));
    p.loss_rate = 1e-3;
    double s = 0.759467619568, slot = (0.14323 + 0.621875) / 2;
    double cost = 2 * 0.14323 + s * 0.621875 + (1 - s) * 1.0;
    assert_true(near(session_goodput(&p, 256), 256 / (slot + (1 - s) / s * cost)));
    p.window = 1; /* every loss waits for the timeout; frames go one per round trip */
    cost = 0.14323 + 1.0;
    assert_true(near(session_goodput(&p, 256), 256 / (0.14323 + 0.621875 + (1 - s) / s * cost)));
}

/* Nothing lost yet: the largest frames, whatever the link (clean links keep their speed). */
static void test_session_payload_is_max_payload_until_a_loss(void **state)
{
    (void)state;
    static const uint32_t bauds[] = {0, 9600, 115200, 1000000};
    static const uint32_t rtts_us[] = {0, 1000, 600000, 3000000};
    static const uint16_t maxes[] = {50, 100, 2048};
    for (size_t b = 0; b < 4; b++)
        for (size_t t = 0; t < 4; t++)
            for (size_t m = 0; m < 3; m++)
                for (uint8_t w = 1; w <= 8; w *= 2) {
                    session_path_t p = {bauds[b], w, maxes[m], rtts_us[t], 900, 0.0};
                    assert_int_equal(session_payload_choose(&p), maxes[m]);
                }
}

/*
 * More loss, smaller frames; a longer round trip, larger ones (the window
 * idles the line unless frames are long). Measured gsm (5e-4 lost per byte,
 * 650 ms) gives 640 bytes, the best fixed payload in the co-simulation too;
 * a noisy cable without latency the smallest frames.
 */
static void test_session_payload_shrinks_with_loss_and_grows_with_the_round_trip(void **state)
{
    (void)state;
    session_path_t p = {19200, 2, 2048, 650000, 900, 5e-4};
    assert_int_equal(session_payload_choose(&p), 640);
    session_path_t noisy = {115200, 2, 2048, 2000, 200, 9e-4};
    assert_int_equal(session_payload_choose(&noisy), 64);
    uint16_t last = 2048;
    for (double rate = 1e-6; rate < 0.1; rate *= 3) {
        p.loss_rate = rate;
        uint16_t size = session_payload_choose(&p);
        assert_true(size <= last && size % SESSION_PAYLOAD_STEP == 0);
        last = size;
    }
    assert_int_equal(last, SESSION_PAYLOAD_STEP);
    p.loss_rate = 5e-4;
    last = 0;
    for (uint32_t rtt = 0; rtt <= 4000000; rtt += 250000) {
        p.rtt_us = rtt;
        uint16_t size = session_payload_choose(&p);
        assert_true(size >= last);
        last = size;
    }
    session_path_t dead = {19200, 2, 100, 650000, 900, 1.0}; /* every frame dies: no NaN */
    uint16_t size = session_payload_choose(&dead);
    assert_true(size == SESSION_PAYLOAD_STEP || size == 100);
}

/* A 1000-byte payload is 1022 bytes on the wire: header, CRC, COBS, delimiter. */
static void test_session_loss_rate_is_lost_frames_per_byte_exposed(void **state)
{
    (void)state;
    session_loss_t *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    assert_true(session_loss_rate(l) == 0.0);
    for (int i = 0; i < 10; i++)
        session_loss_delivered(l, 1000);
    assert_true(session_loss_rate(l) == 0.0);
    session_loss_lost(l, 1000); /* the fault fell half way on average */
    assert_true(near(session_loss_rate(l) * 1e6, 1e6 / (10 * 1022 + 511 + SESSION_LOSS_PRIOR)));
    while (l->lost == 1.0) /* past the horizon the evidence so far weighs half */
        session_loss_delivered(l, 1000);
    assert_true(l->lost == 0.5 && l->bytes <= SESSION_LOSS_HORIZON);
    free(l);
}

/*
 * A silence leaves two frames, [0, 1000) and [1000, 2000), in doubt. A QUERY
 * finding the device at 1000 shows the first arrived and the second was
 * lost; after a resend nothing can be told, and both count as lost; a device
 * that reset settles nothing.
 */
static void test_session_loss_after_a_silence_is_settled_by_the_next_reply(void **state)
{
    (void)state;
    session_loss_t *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    session_loss_doubt(l, 1000, 1000);
    session_loss_doubt(l, 2000, 1000);
    session_loss_settle(l, 1000, true);
    assert_true(l->lost == 1.0 && l->bytes == 1022 + 511 && l->n_doubt == 0);
    session_loss_doubt(l, 3000, 1000);
    session_loss_doubt(l, 4000, 1000);
    session_loss_settle(l, 4000, false);
    assert_true(l->lost == 3.0 && l->bytes == 1022 + 3 * 511);
    session_loss_doubt(l, 5000, 1000);
    session_loss_forget(l);
    session_loss_settle(l, 0, true);
    assert_true(l->lost == 3.0 && l->bytes == 1022 + 3 * 511);
    free(l);
}

/* Resend after a silence when the round trip outlasts the frame, on a link known to lose. */
static void test_session_resend_pays_when_the_round_trip_outlasts_the_frame(void **state)
{
    (void)state;
    session_path_t p = gsm_path(5e-4);           /* 600 ms */
    assert_true(session_resend_pays(&p, 640));   /* 0.34 s on the wire */
    assert_false(session_resend_pays(&p, 2048)); /* 1.08 s */
    p.loss_rate = 0.0;
    assert_false(session_resend_pays(&p, 640));
}

static double mean_frame(const fake_t *fk)
{
    return (double)fk->fw_bytes / fk->fw_frames;
}

/*
 * A line losing a frame per 4 KiB sent: frames shrink below 2048 (half of
 * those would die); with 400 ms of latency they shrink less, as two frames
 * per round trip would otherwise leave the line idle.
 */
static void test_session_lossy_link_sends_smaller_frames_unless_the_round_trip_is_long(void **state)
{
    (void)state;
    double mean[2];
    for (int slow = 0; slow < 2; slow++) {
        run_t *r = new_run(2048, 2);
        r->fk.lose_every = 4096;
        r->fk.slow_to = slow ? BIN_LEN + 1 : 0;
        r->fk.slow_ms = 400;
        assert_int_equal(run(r), SESSION_OK);
        assert_activated(r);
        for (uint32_t i = 0; i < BIN_LEN; i++)
            assert_int_equal(r->fk.rx_count[i], 1);
        assert_true(r->fk.short_frames > 0);
        mean[slow] = mean_frame(&r->fk);
        free(r);
    }
    assert_true(mean[0] < 1024);
    assert_true(mean[1] > mean[0]);
}

/*
 * Window 1: the lost frame at 4096 costs a timeout and a QUERY (nothing was
 * lost before, so a silence may be anything), which shows it lost. Later a
 * lost reply: on a link with 500 ms of latency the frame is resent at once,
 * as waiting for a QUERY's answer would cost more than the frame; with no
 * latency, QUERY again.
 */
static void test_session_silence_on_a_slow_lossy_link_resends_instead_of_querying(void **state)
{
    (void)state;
    for (int slow = 0; slow < 2; slow++) {
        run_t *r = new_run(2048, 1);
        r->fk.drop_data_at = 4096;
        r->fk.drop_reply_nth = 12;
        r->fk.slow_to = slow ? BIN_LEN + 1 : 0;
        r->fk.slow_ms = 500;
        assert_int_equal(run(r), SESSION_OK);
        assert_activated(r);
        assert_int_equal(r->ev.n_timeouts, 2);
        assert_int_equal(r->fk.queries, slow ? 1 : 2);
        for (uint32_t i = 0; i < BIN_LEN; i++)
            assert_int_equal(r->fk.rx_count[i], 1); /* the resent frame was a harmless duplicate */
        free(r);
    }
}

/* The frames that died with a device's session are no sign of a lossy line. */
static void test_session_device_reset_keeps_the_payload(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->fk.reset_at = 20480;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_int_equal(r->res.resumes, 1);
    assert_true(count_kind(&r->ev, SESSION_EV_RETRY) >= 2); /* silences, then the lost session */
    assert_int_equal(r->fk.short_frames, 0);
    free(r);
}

/* ---- a fresh run probes what bank 1 already holds ---------------------------------------- */

static uint32_t ceil_log2(uint32_t v)
{
    uint32_t k = 0;
    while ((1ull << k) < v)
        k++;
    return k;
}

static uint32_t probe_bound(uint32_t bin_len)
{
    return SESSION_PROBE_MAX(ceil_log2((bin_len + PAGE - 1) / PAGE));
}

/* Firmware bytes from `at` on were each sent once; none below `at` was sent at all. */
static void assert_sent_from(const fake_t *fk, uint32_t at, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(fk->rx_count[i], i >= at);
}

/* One resume event at `at` naming the `held` bytes found, or none when nothing was reused. */
static void assert_probe_resume(const run_t *r, uint32_t at, uint32_t held)
{
    if (at == 0) {
        assert_int_equal(count_kind(&r->ev, SESSION_EV_RESUME), 0);
        assert_int_equal(r->res.resumes, 0);
        return;
    }
    const session_event_t *ev = first_kind(&r->ev, SESSION_EV_RESUME);
    assert_int_equal(count_kind(&r->ev, SESSION_EV_RESUME), 1);
    assert_int_equal(ev->offset, at);
    assert_int_equal(ev->acked, 0); /* this process had acknowledged nothing */
    assert_int_equal(ev->cause, SESSION_CAUSE_FOUND_IN_FLASH);
    char want[64];
    snprintf(want, sizeof(want), "already held the first %u bytes", held);
    assert_non_null(strstr(r->ev.last_resume_reason, want));
    assert_int_equal(r->res.resumes, 1);
}

/*
 * An earlier process (and device) died mid-update: bank 1 holds some prefix
 * of the image. BIN_LEN is 12 pages + 864 bytes, so 13 candidates and at most
 * 3 + ceil(log2 13) = 7 probes. `claim` is the last RESUME the device sees.
 */
static void test_session_fresh_run_reuses_what_bank1_already_holds(void **state)
{
    (void)state;
    static const struct {
        uint32_t held;  /* bytes of the image at the start of bank 1 */
        bool stale;     /* from 2 pages on, bank 1 holds another image of the same length */
        uint32_t at;    /* where firmware must continue */
        uint32_t claim; /* the winning claim: the last RESUME */
        uint32_t probes;
    } cases[] = {
        {0, false, 0, PAGE, 1},                   /* blank: one small RESUME, from 0 */
        {1000, false, 0, PAGE, 1},                /* less than a page: nothing to reuse */
        {3 * PAGE, false, 3 * PAGE, 3 * PAGE, 6}, /* exact pages: the search ends on it */
        {10000, false, 2 * PAGE, 2 * PAGE, 7},    /* mid-page: the winner is re-issued */
        {BIN_LEN, false, 12 * PAGE, BIN_LEN, 2},  /* killed before COMMIT: all of it */
        {BIN_LEN, true, 2 * PAGE, 2 * PAGE, 7},   /* stale bank 1 sharing two pages */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        run_t *r = new_run(2048, 2);
        memcpy(r->fk.bank1, g_bin, cases[c].held);
        for (uint32_t i = 2 * PAGE; cases[c].stale && i < BIN_LEN; i++)
            r->fk.bank1[i] ^= 0x5A;
        assert_int_equal(run(r), SESSION_OK);
        assert_activated(r);
        assert_sent_from(&r->fk, cases[c].at, BIN_LEN);
        assert_probe_resume(r, cases[c].at, cases[c].claim);
        assert_int_equal(r->res.probes, cases[c].probes);
        assert_true(r->res.probes <= probe_bound(BIN_LEN));
        assert_int_equal(r->fk.resumes_rx, cases[c].probes);
        assert_int_equal(r->fk.last_claim, cases[c].claim);
        assert_int_equal(r->res.retries, 0);
        assert_int_equal(r->fk.starts, 1);
        free(r);
    }
}

/* A page-multiple image wholly staged: the RESUME leaves the device READY; no DATA at all. */
static void test_session_fresh_run_with_the_whole_page_multiple_image_only_commits(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    r->bin_len = 12 * PAGE;
    memcpy(r->fk.bank1, g_bin, r->bin_len);
    assert_int_equal(run(r), SESSION_OK);
    assert_int_equal(r->fk.app_version, NEW_VERSION);
    assert_int_equal(r->fk.staged_len, 12 * PAGE);
    assert_int_equal(r->fk.data_frames, 1); /* the init packet */
    assert_sent_from(&r->fk, 12 * PAGE, 12 * PAGE);
    assert_probe_resume(r, 12 * PAGE, 12 * PAGE);
    assert_int_equal(r->res.probes, 2);
    assert_int_equal(r->fk.commits, 1);
    free(r);
}

/*
 * A one-page image (n == 1 candidate): the search is one claim, then the
 * winner's check. It once claimed page 1 forever (found by the power-cut
 * sweep with app_signed_tiny.zip after a cut).
 */
static void test_session_probe_of_a_one_page_image_ends(void **state)
{
    (void)state;
    static const struct {
        uint32_t len, at; /* the image; where firmware continues (a partial page is redone) */
    } cases[] = {{1000, 0}, {PAGE, PAGE}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        run_t *r = new_run(2048, 2);
        r->bin_len = cases[c].len;
        memcpy(r->fk.bank1, g_bin, cases[c].len);
        assert_int_equal(run(r), SESSION_OK);
        assert_int_equal(r->fk.app_version, NEW_VERSION);
        assert_int_equal(r->fk.staged_len, cases[c].len);
        assert_probe_resume(r, cases[c].at, cases[c].at);
        assert_int_equal(r->res.probes, 1);
        assert_int_equal(r->fk.last_claim, cases[c].len);
        assert_int_equal(r->fk.data_frames, cases[c].at ? 1u : 2u); /* init (+ the page) */
        assert_int_equal(r->fk.commits, 1);
        free(r);
    }
}

/* The device refuses the first claim: no search, firmware from 0, one RESUME spent. */
static void test_session_probe_mismatch_at_the_first_page_sends_everything(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    memcpy(r->fk.bank1, g_bin, BIN_LEN);
    r->fk.resume_mismatch = true;
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_sent_from(&r->fk, 0, BIN_LEN);
    assert_probe_resume(r, 0, 0);
    assert_int_equal(r->res.probes, 1);
    assert_int_equal(r->fk.resumes_rx, 1);
    assert_int_equal(r->fk.last_claim, PAGE);
    assert_int_equal(r->res.retries, 0);
    free(r);
}

/* A lost probe reply: the same claim again after the timeout; the search is unchanged. */
static void test_session_probe_reply_lost_repeats_the_claim(void **state)
{
    (void)state;
    run_t *r = new_run(2048, 2);
    memcpy(r->fk.bank1, g_bin, 3 * PAGE);
    r->fk.drop_resume_reply = 2; /* the claim of the whole image */
    assert_int_equal(run(r), SESSION_OK);
    assert_activated(r);
    assert_sent_from(&r->fk, 3 * PAGE, BIN_LEN);
    assert_probe_resume(r, 3 * PAGE, 3 * PAGE);
    assert_int_equal(r->res.probes, 7); /* 6 claims, one of them twice */
    assert_int_equal(r->res.retries, 1);
    assert_int_equal(first_kind(&r->ev, SESSION_EV_RETRY)->cause, SESSION_CAUSE_TIMEOUT);
    free(r);
}

#ifdef DFUART_HAVE_DFW_RX
/* ---- the real device receiver (device_fw/dfw_rx) over a fake flash ---------------------
 *
 * The session talks to dfw_rx in-process: host bytes go into dfw_rx_input(), the "main
 * loop" polls after every write, replies come back through link->tx. The flash is a
 * rule-enforcing fake (erase before program, each word programmed once per erase, AND
 * semantics) holding an nRF52832 + S132 with nrfutil's settings page
 * s52832_app_v3_crc.hex. After DFW_RX_RESET a toy bootloader (not the SDK replay: that
 * is the emulator's job) activates bank 1 when the init packet's version is not older,
 * then a fresh receiver starts, as the rebooted application would.
 */
#define RX_FLASH    0x80000u
#define RX_BANK0    0x26000u
#define RX_BANK1    0x33000u /* ALIGN_UP(0x26000 + 50016) */
#define RX_SETTINGS 0x7F000u
#define RX_BACKUP   0x7E000u

typedef struct {
    uint8_t mem[RX_FLASH];
    uint8_t since_erase[RX_FLASH / 4]; /* programs of each word since its page's erase */
    uint8_t erased[RX_FLASH / PAGE];
} rx_flash_t;

typedef struct {
    rx_flash_t *fl;
    dfw_hal_t hal;
    dfw_layout_t layout;
    dfw_rx_t rx;
    uint64_t now, dead_until;
    bool reset_pending;
    uint32_t reset_at; /* RAM reset on the firmware DATA at this offset (NONE: never) */
    uint32_t fw_version;
    frame_decoder_t peek; /* reads the host's frames, only to find reset_at */
    uint8_t peek_buf[FRAME_MAX_PACKET];
    uint8_t out[OUT_MAX];
    size_t out_len, out_pos;
    unsigned boots;
    uint32_t no_buffer, dropped; /* receiver counters summed over its boots */
    uint32_t preload;            /* bank 1 starts with the image's first `preload` bytes */
    transport_t link;
} rx_dev_t;

static int rxf_read(void *ctx, uint32_t addr, void *dst, uint32_t len)
{
    rx_flash_t *f = ctx;
    if ((uint64_t)addr + len > RX_FLASH)
        return -1;
    memcpy(dst, f->mem + addr, len);
    return 0;
}

static int rxf_write(void *ctx, uint32_t addr, const uint32_t *w, uint32_t n)
{
    rx_flash_t *f = ctx;
    assert_true(addr % 4 == 0 && n > 0 && (uint64_t)addr + 4ull * n <= RX_FLASH);
    assert_int_equal(addr / PAGE, (addr + 4 * n - 1) / PAGE);
    assert_true(f->erased[addr / PAGE]);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *m = f->mem + addr + 4 * i;
        assert_int_equal(f->since_erase[(addr + 4 * i) / 4]++, 0);
        uint8_t b[4];
        frame_put32(b, w[i]);
        for (int k = 0; k < 4; k++)
            m[k] &= b[k];
    }
    return 0;
}

static int rxf_erase(void *ctx, uint32_t page)
{
    rx_flash_t *f = ctx;
    assert_true(page % PAGE == 0 && page < RX_FLASH);
    memset(f->mem + page, 0xFF, PAGE);
    memset(f->since_erase + page / 4, 0, PAGE / 4);
    f->erased[page / PAGE] = 1;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* Test-only Intel HEX reader: data (00) and extended linear address (04) records. */
static void load_hex(const char *path, uint8_t *mem)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[600];
    uint32_t base = 0;
    while (fgets(line, sizeof(line), fp)) {
        uint8_t rec[260];
        size_t n = 0;
        for (const char *c = line + 1; line[0] == ':' && hexval(c[0]) >= 0 && hexval(c[1]) >= 0;
             c += 2)
            rec[n++] = (uint8_t)(hexval(c[0]) << 4 | hexval(c[1]));
        if (n < 5)
            continue;
        uint32_t addr = base + ((uint32_t)rec[1] << 8 | rec[2]);
        if (rec[3] == 0 && addr + rec[0] <= RX_FLASH)
            memcpy(mem + addr, rec + 4, rec[0]);
        else if (rec[3] == 4)
            base = ((uint32_t)rec[4] << 8 | rec[5]) << 16;
    }
    fclose(fp);
}

static void settings_set(uint8_t *page, uint32_t off, uint32_t v)
{
    frame_put32(page + off, v);
    frame_put32(page, crc32_compute(page + 4, 88)); /* settings CRC covers 4..91 */
}

static int rx_tx(void *ctx, const uint8_t *data, size_t len)
{
    rx_dev_t *d = ctx;
    assert_true(d->out_len + len <= OUT_MAX);
    memcpy(d->out + d->out_len, data, len);
    d->out_len += len;
    return 0;
}

static void rx_boot_app(rx_dev_t *d)
{
    dfw_rx_stats_t st;
    dfw_rx_get_stats(&d->rx, &st); /* zero on the first boot: rx is calloc'd */
    d->no_buffer += st.no_buffer;
    d->dropped += st.crc + st.malformed + st.overflow;
    dfw_link_t link = {d, rx_tx};
    dfw_rx_init(&d->rx, &d->hal, &d->layout, &link);
    frame_decoder_init(&d->peek, d->peek_buf, sizeof(d->peek_buf));
    d->dead_until = d->now + 300u;
    d->boots++;
}

/* The toy bootloader: bank_current 1 and a version not older -> copy bank 1 to bank 0. */
static void rx_toy_bootloader(rx_dev_t *d, uint32_t bin_len)
{
    uint8_t *set = d->fl->mem + RX_SETTINGS;
    if (frame_get32(set + 20) != 1)
        return;
    if (d->fw_version >= frame_get32(set + 8)) {
        memmove(d->fl->mem + RX_BANK0, d->fl->mem + RX_BANK1, bin_len);
        settings_set(set, 8, d->fw_version);
        settings_set(set, 24, bin_len);
        settings_set(set, 28, crc32_compute(d->fl->mem + RX_BANK0, bin_len));
    }
    settings_set(set, 20, 0);
}

/* Firmware DATA at reset_at: the chip resets before handling it (RAM gone, flash kept). */
static bool rx_fault(rx_dev_t *d, const uint8_t *buf, size_t n)
{
    size_t pos = 0;
    while (d->reset_at != NONE && pos < n) {
        size_t used = 0;
        frame_t f;
        frame_result_t r = frame_decoder_push(&d->peek, buf + pos, n - pos, &used, &f);
        pos += used;
        if (r == FRAME_READY && f.type == MSG_DATA && f.object == FRAME_OBJ_FW &&
            f.offset >= d->reset_at) {
            d->reset_at = NONE;
            d->out_len = d->out_pos = 0;
            rx_boot_app(d);
            return true;
        }
        if (r == FRAME_NEED_MORE)
            break;
    }
    return false;
}

static transport_err_t rx_write(transport_t *t, const uint8_t *buf, size_t n)
{
    rx_dev_t *d = t->ctx;
    d->now += 1;
    if (d->now < d->dead_until || d->reset_pending || rx_fault(d, buf, n))
        return TRANSPORT_OK;
    /* Only queued here: the device works while the host waits (rx_read), so a host
     * that sent more than `window` frames would find them dropped (stats.no_buffer). */
    assert_int_equal(dfw_rx_input(&d->rx, buf, n), n);
    return TRANSPORT_OK;
}

static void rx_main_loop(rx_dev_t *d)
{
    dfw_rx_event_t ev;
    while (!d->reset_pending && (ev = dfw_rx_poll(&d->rx)) != DFW_RX_IDLE)
        if (ev == DFW_RX_RESET)
            d->reset_pending = true; /* reset once the reply has left */
}

static int rx_read(transport_t *t, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    rx_dev_t *d = t->ctx;
    if (d->now >= d->dead_until)
        rx_main_loop(d);
    if (d->out_pos == d->out_len) {
        d->now += timeout_ms;
        return 0;
    }
    size_t n = d->out_len - d->out_pos < cap ? d->out_len - d->out_pos : cap;
    memcpy(buf, d->out + d->out_pos, n);
    d->out_pos += n;
    if (d->out_pos == d->out_len) {
        d->out_pos = d->out_len = 0;
        if (d->reset_pending) {
            d->reset_pending = false;
            rx_toy_bootloader(d, BIN_LEN);
            rx_boot_app(d);
        }
    }
    return (int)n;
}

static uint64_t rx_now(void *ctx)
{
    return ((rx_dev_t *)ctx)->now;
}

/* nRF52832 + S132 (SD ends 0x26000), nrfutil's settings with `app_version`, app in bank 0. */
static rx_dev_t *rx_dev_new(uint32_t app_version)
{
    rx_dev_t *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->fl = calloc(1, sizeof(*d->fl));
    assert_non_null(d->fl);
    uint8_t *mem = d->fl->mem;
    for (uint32_t a = 0; a < RX_FLASH; a++)
        mem[a] = (uint8_t)(0x3C + a * 13u); /* stale bytes: a missing erase shows */
    memset(mem + RX_BACKUP, 0xFF, 2 * PAGE);
    load_hex(DFUART_FIXTURES "/nrfutil/settings/s52832_app_v3_crc.hex", mem);
    settings_set(mem + RX_SETTINGS, 8, app_version);
    memset(mem + 0x3000, 0, 0x2C); /* SoftDevice info struct */
    mem[0x3000] = 0x2C;
    frame_put32(mem + 0x3004, 0x51B1E5DBu);
    frame_put32(mem + 0x3008, RX_BANK0);
    static const dfw_layout_t l32 = DFW_LAYOUT_NRF52832;
    d->layout = l32;
    d->hal = (dfw_hal_t){d->fl, PAGE, rxf_read, rxf_write, rxf_erase};
    d->reset_at = NONE;
    d->now = 5000;
    rx_boot_app(d);
    d->dead_until = 0;
    d->boots = 0;
    d->link = (transport_t){.backend = TRANSPORT_BACKEND_CUSTOM,
                            .ctx = d,
                            .read = rx_read,
                            .write = rx_write,
                            .baud = 1000000};
    return d;
}

static void rx_dev_free(rx_dev_t *d)
{
    free(d->fl);
    free(d);
}

static session_err_t rx_run(rx_dev_t *d, events_t *ev, session_result_t *res)
{
    pkg_t *pkg = NULL;
    pkg_diag_t diag;
    assert_int_equal(pkg_open(DFUART_FIXTURES "/nrfutil/packages/app_signed_v2.zip", &pkg, &diag),
                     PKG_OK);
    const pkg_image_t *app = pkg_image(pkg, 0);
    assert_int_equal(app->bin_len, BIN_LEN);
    d->fw_version = app->init.fw_version;
    memcpy(d->fl->mem + RX_BANK1, app->bin, d->preload); /* an earlier process's work */
    session_image_t img = {app->dat, (uint32_t)app->dat_len, app->bin, (uint32_t)app->bin_len,
                           true,     app->init.fw_version};
    session_config_t cfg = {&d->link, rx_now, d, record, ev, 1000000, 5000, 10};
    session_err_t e = session_run(&cfg, &img, res);
    if (e == SESSION_OK)
        assert_memory_equal(d->fl->mem + RX_BANK0, app->bin, BIN_LEN);
    pkg_close(pkg);
    return e;
}

static void test_session_real_receiver_stages_and_activates(void **state)
{
    (void)state;
    rx_dev_t *d = rx_dev_new(1);
    events_t *ev = calloc(1, sizeof(*ev));
    session_result_t res;
    assert_non_null(ev);
    assert_int_equal(rx_run(d, ev, &res), SESSION_OK);
    assert_int_equal(res.before.app_version, 1);
    assert_int_equal(res.before.window, DFW_RX_BUFFERS);
    assert_int_equal(res.after.app_version, 2);
    assert_int_equal(d->boots, 1);
    assert_int_equal(count_kind(ev, SESSION_EV_RETRY), 0);
    rx_boot_app(d);                    /* sums the last boot's counters */
    assert_int_equal(d->no_buffer, 0); /* the window was respected: no frame found buffers full */
    assert_int_equal(d->dropped, 0);
    free(ev);
    rx_dev_free(d);
}

static void test_session_real_receiver_resumes_after_a_reset(void **state)
{
    (void)state;
    rx_dev_t *d = rx_dev_new(1);
    d->reset_at = 22528; /* mid-page: the resume point is the page start below */
    events_t *ev = calloc(1, sizeof(*ev));
    session_result_t res;
    assert_non_null(ev);
    assert_int_equal(rx_run(d, ev, &res), SESSION_OK);
    const session_event_t *r = first_kind(ev, SESSION_EV_RESUME);
    assert_non_null(r);
    assert_int_equal(r->offset % PAGE, 0);
    assert_true(r->offset > 0 && r->acked - r->offset < PAGE);
    assert_int_equal(res.resumes, 1);
    free(ev);
    rx_dev_free(d);
}

/*
 * dfw_rx accepts RESUME after RESUME before any DATA: the probe's misses put
 * it back at 0, the re-issued winner positions it again, and the flash rules
 * (erase before program, each word once) hold for the page rewritten there.
 */
static void test_session_real_receiver_reuses_what_bank1_already_holds(void **state)
{
    (void)state;
    static const struct {
        uint32_t preload, at;
    } cases[] = {{30000, 7 * PAGE}, {BIN_LEN, 12 * PAGE}, {100, 0}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        rx_dev_t *d = rx_dev_new(1);
        d->preload = cases[c].preload;
        events_t *ev = calloc(1, sizeof(*ev));
        session_result_t res;
        assert_non_null(ev);
        assert_int_equal(rx_run(d, ev, &res), SESSION_OK);
        assert_int_equal(res.after.app_version, 2);
        assert_true(res.probes >= 1 && res.probes <= probe_bound(BIN_LEN));
        assert_int_equal(count_kind(ev, SESSION_EV_RETRY), 0);
        assert_int_equal(res.resumes, cases[c].at > 0);
        const session_event_t *r = first_kind(ev, SESSION_EV_RESUME);
        if (cases[c].at > 0)
            assert_int_equal(r->offset, cases[c].at);
        free(ev);
        rx_dev_free(d);
    }
}

static void test_session_real_receiver_older_version_is_rejected(void **state)
{
    (void)state;
    rx_dev_t *d = rx_dev_new(3); /* the package is version 2: the bootloader keeps v3 */
    events_t *ev = calloc(1, sizeof(*ev));
    session_result_t res;
    assert_non_null(ev);
    assert_int_equal(rx_run(d, ev, &res), SESSION_ERR_REJECTED);
    assert_non_null(strstr(res.msg, "still runs version 3"));
    free(ev);
    rx_dev_free(d);
}
#endif /* DFUART_HAVE_DFW_RX */

static int group_setup(void **state)
{
    (void)state;
    static uint8_t bin[BIN_LEN], dat[DAT_LEN];
    uint32_t x = 0x9E3779B9u;
    for (size_t i = 0; i < BIN_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bin[i] = (uint8_t)x;
    }
    for (size_t i = 0; i < DAT_LEN; i++)
        dat[i] = (uint8_t)(i * 3u); /* includes zeros: the init packet is COBS-stuffed too */
    g_bin = bin;
    g_dat = dat;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_clean_run_sends_each_byte_once_within_the_window),
        cmocka_unit_test(test_session_lost_data_frame_rewinds_on_wrong_offset),
        cmocka_unit_test(test_session_corrupted_frame_is_dropped_and_resent),
        cmocka_unit_test(test_session_lost_reply_times_out_and_queries),
        cmocka_unit_test(test_session_lost_last_reply_times_out_and_queries),
        cmocka_unit_test(test_session_device_reset_resumes_from_the_page_boundary),
        cmocka_unit_test(test_session_resume_with_torn_flash_restarts_from_zero),
        cmocka_unit_test(test_session_device_refusing_too_large_stops_with_its_status),
        cmocka_unit_test(test_session_rerun_aborts_the_devices_failed_session),
        cmocka_unit_test(test_session_flash_fault_is_fatal),
        cmocka_unit_test(test_session_image_over_max_image_sends_nothing),
        cmocka_unit_test(test_session_invalid_settings_in_info_stop_before_start),
        cmocka_unit_test(test_session_rejected_update_reports_the_old_version),
        cmocka_unit_test(test_session_lost_commit_reply_still_learns_the_outcome),
        cmocka_unit_test(test_session_waits_while_the_update_is_still_pending),
        cmocka_unit_test(test_session_device_that_never_returns_is_a_timeout),
        cmocka_unit_test(test_session_retry_budget_exhausted_is_an_error),
        cmocka_unit_test(test_session_silent_device_is_no_answer_after_polling_hello),
        cmocka_unit_test(test_session_second_run_continues_the_devices_session),
        cmocka_unit_test(test_session_events_render_as_json_lines),
        cmocka_unit_test(test_session_rejects_bad_arguments),
        cmocka_unit_test(test_session_wire_time_is_8n1_at_the_baud),
        cmocka_unit_test(test_session_wait_doubles_per_timeout_until_a_reply_is_timed),
        cmocka_unit_test(test_session_wait_shrinks_back_after_a_late_reply),
        cmocka_unit_test(test_session_wait_keeps_the_links_latency_plus_device_time),
        cmocka_unit_test(test_session_lost_replies_do_not_lengthen_later_waits),
        cmocka_unit_test(test_session_wait_follows_a_slow_spell_and_recovers),
        cmocka_unit_test(test_session_goodput_is_what_the_window_and_the_line_allow),
        cmocka_unit_test(test_session_payload_is_max_payload_until_a_loss),
        cmocka_unit_test(test_session_payload_shrinks_with_loss_and_grows_with_the_round_trip),
        cmocka_unit_test(test_session_loss_rate_is_lost_frames_per_byte_exposed),
        cmocka_unit_test(test_session_loss_after_a_silence_is_settled_by_the_next_reply),
        cmocka_unit_test(test_session_resend_pays_when_the_round_trip_outlasts_the_frame),
        cmocka_unit_test(
            test_session_lossy_link_sends_smaller_frames_unless_the_round_trip_is_long),
        cmocka_unit_test(test_session_silence_on_a_slow_lossy_link_resends_instead_of_querying),
        cmocka_unit_test(test_session_device_reset_keeps_the_payload),
        cmocka_unit_test(test_session_fresh_run_reuses_what_bank1_already_holds),
        cmocka_unit_test(test_session_fresh_run_with_the_whole_page_multiple_image_only_commits),
        cmocka_unit_test(test_session_probe_of_a_one_page_image_ends),
        cmocka_unit_test(test_session_probe_mismatch_at_the_first_page_sends_everything),
        cmocka_unit_test(test_session_probe_reply_lost_repeats_the_claim),
#ifdef DFUART_HAVE_DFW_RX
        cmocka_unit_test(test_session_real_receiver_stages_and_activates),
        cmocka_unit_test(test_session_real_receiver_resumes_after_a_reset),
        cmocka_unit_test(test_session_real_receiver_reuses_what_bank1_already_holds),
        cmocka_unit_test(test_session_real_receiver_older_version_is_rejected),
#endif
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
