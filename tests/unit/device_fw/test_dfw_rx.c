/*
 * test_dfw_rx.c - the device-side protocol receiver (proto/PROTOCOL.md v1)
 * driven by a tiny in-test host over a rule-enforcing fake flash.
 *
 * The device is a realistic nRF52832 with S132: SD info struct at 0x3000
 * (SoftDevice end 0x26000), the nrfutil settings page
 * s52832_app_v3_crc.hex (app_version 3), the running app in bank 0, stale
 * non-0xFF bytes everywhere else. The package is the genuine app_signed_v2
 * (.dat from packages.json, app_v2.bin). The host encodes requests with
 * frame_encode(), feeds them to dfw_rx_input() in configurable chunks
 * (optionally letting the "main loop" poll between chunks) and decodes every
 * reply with the frame decoder; every reply's seq, object, offset, status
 * and phase is checked.
 *
 * The fake flash (dfw_testkit.h) enforces the nRF52 NVMC rules (spec §9.1)
 * and, here, also that a word is programmed only after its page was erased
 * during the test. It counts programs per word over the whole test, so
 * "written once" is checked, not assumed. The end state of a session is
 * compared byte for byte with a twin device staged directly through dfw_stage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_fw/dfw_rx.h"
#include "device_fw/dfw_stage.h"
#include "dfw_testkit.h"
#include "proto/crc32.h"
#include "proto/frame.h"
#include "proto/msg.h"

#define PAGE         DFWT_PAGE
#define FLASH_SIZE   0x80000u
#define BANK1        0x33000u /* ALIGN_UP(0x26000 + 50016): the S132 layout of the fixture */
#define DFU_END      0x75000u /* bootloader 0x78000 - 12 KiB app data */
#define SETTINGS     0x7F000u
#define MAX_REPLIES  64u
#define CHUNK_RANDOM SIZE_MAX

/* ================================================================== device */

/*
 * The testkit's nRF52832 + S132 7.x + the v3 application (bank 1 at BANK1),
 * on a flash that also wants every programmed page erased during the test.
 */
static void device_make(dfwt_device_t *d)
{
    dfwt_device_make(d, DFWT_52832_S132);
    d->f->require_erase = true;
    assert_int_equal(d->f->size, FLASH_SIZE);
}

/* Flash of a twin device staged directly through dfw_stage (the reference). */
static uint8_t *reference_flash(const dfwt_pkg_t *p)
{
    dfwt_device_t d;
    device_make(&d);
    dfw_stage_t st;
    uint32_t scratch[DFW_SETTINGS_WORDS];
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, p->dat, p->dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, p->img.d, p->img.n), DFW_OK);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    uint8_t *mem = malloc(FLASH_SIZE);
    assert_non_null(mem);
    memcpy(mem, d.f->mem, FLASH_SIZE);
    dfwt_device_free(&d);
    return mem;
}

/* ==================================================================== host */

typedef struct reply {
    frame_t f; /* payload pointer not kept: see payload */
    uint8_t payload[MSG_INFO_LEN];
    msg_status_body_t st; /* type STATUS */
    msg_info_t info;      /* type INFO */
} reply_t;

typedef struct host {
    dfw_rx_t *rx;
    frame_decoder_t dec;
    uint8_t dec_buf[FRAME_MAX_PACKET];
    reply_t q[MAX_REPLIES];
    size_t q_head, q_len;
    uint16_t seq;
    bool tx_fail;      /* link->tx reports failure (reply lost) */
    size_t chunk;      /* bytes per dfw_rx_input(): 0 = whole frame, CHUNK_RANDOM = 1..700 */
    bool poll_between; /* the main loop may poll between any two input chunks */
    uint32_t rng;
    unsigned resets;                  /* DFW_RX_RESET events */
    size_t fw_bytes;                  /* firmware payload bytes sent */
    void (*on_reply)(struct host *h); /* runs inside link->tx, like a UART ISR would */
    void *user;
} host_t;

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void store_reply(host_t *h, const frame_t *f)
{
    assert_true(h->q_len < MAX_REPLIES);
    reply_t *r = &h->q[(h->q_head + h->q_len++) % MAX_REPLIES];
    memset(r, 0, sizeof(*r));
    r->f = *f;
    r->f.payload = NULL;
    assert_true(f->len <= sizeof(r->payload));
    memcpy(r->payload, f->payload, f->len);
    if (f->type == MSG_STATUS) {
        assert_int_equal(f->len, MSG_STATUS_LEN);
        msg_status_unpack(r->payload, &r->st);
    } else {
        assert_int_equal(f->type, MSG_INFO);
        assert_int_equal(f->len, MSG_INFO_LEN);
        msg_info_unpack(r->payload, &r->info);
    }
}

/* link->tx: every call must carry exactly one whole, valid frame. */
static int host_link_tx(void *ctx, const uint8_t *data, size_t len)
{
    host_t *h = ctx;
    if (h->tx_fail) {
        return -1;
    }
    size_t used = 0;
    frame_t f;
    assert_int_equal(frame_decoder_push(&h->dec, data, len, &used, &f), FRAME_READY);
    assert_int_equal(used, len);
    store_reply(h, &f);
    if (h->on_reply != NULL) {
        h->on_reply(h);
    }
    return 0;
}

static dfw_rx_event_t poll_one(host_t *h)
{
    dfw_rx_event_t ev = dfw_rx_poll(h->rx);
    if (ev == DFW_RX_RESET) {
        h->resets++;
    }
    return ev;
}

static void poll_all(host_t *h)
{
    while (poll_one(h) != DFW_RX_IDLE) {
    }
}

/* Bytes into the receiver in the host's chunking; polls interleave when asked. */
static void feed(host_t *h, const uint8_t *wire, size_t n)
{
    size_t off = 0;
    while (off < n) {
        size_t k = h->chunk == 0              ? n - off
                   : h->chunk == CHUNK_RANDOM ? 1u + rng_next(&h->rng) % 700u
                                              : h->chunk;
        k = k < n - off ? k : n - off;
        assert_int_equal(dfw_rx_input(h->rx, wire + off, k), k);
        off += k;
        if (h->poll_between && rng_next(&h->rng) % 3u == 0u) {
            (void)poll_one(h);
        }
    }
}

static size_t encode(frame_t *f, uint8_t *wire, size_t cap)
{
    size_t n = 0;
    assert_int_equal(frame_encode(f, wire, cap, &n), FRAME_OK);
    return n;
}

static uint16_t host_send(host_t *h, uint8_t type, uint8_t object, uint32_t offset,
                          const void *payload, size_t len)
{
    static uint8_t wire[FRAME_MAX_WIRE];
    frame_t f = {.type = type,
                 .object = object,
                 .seq = h->seq++,
                 .offset = offset,
                 .len = (uint16_t)len,
                 .payload = payload};
    if (type == MSG_DATA && object == FRAME_OBJ_FW) {
        h->fw_bytes += len;
    }
    feed(h, wire, encode(&f, wire, sizeof(wire)));
    return f.seq;
}

static reply_t pop_reply(host_t *h)
{
    if (h->q_len == 0) {
        fail_msg("expected a reply, got none");
    }
    reply_t r = h->q[h->q_head];
    h->q_head = (h->q_head + 1) % MAX_REPLIES;
    h->q_len--;
    return r;
}

/* One request, all queued work done, exactly one reply with the request's seq. */
static reply_t transact(host_t *h, uint8_t type, uint8_t object, uint32_t offset,
                        const void *payload, size_t len)
{
    uint16_t seq = host_send(h, type, object, offset, payload, len);
    poll_all(h);
    reply_t r = pop_reply(h);
    assert_int_equal(r.f.seq, seq);
    assert_int_equal(h->q_len, 0);
    return r;
}

static reply_t send_start(host_t *h, const msg_start_t *s)
{
    uint8_t b[MSG_START_LEN];
    msg_start_pack(s, b);
    return transact(h, MSG_START, 0, 0, b, sizeof(b));
}

static reply_t send_resume(host_t *h, uint32_t offset, uint32_t crc)
{
    uint8_t b[4];
    dfwt_put32(b, crc);
    return transact(h, MSG_RESUME, FRAME_OBJ_FW, offset, b, sizeof(b));
}

#define EXPECT_STATUS(r, status, object, offset, phase)                                            \
    expect_status(&(r), status, object, offset, phase, __LINE__)

/* A STATUS reply with these header fields and a consistent payload. */
static void expect_status(const reply_t *r, uint8_t status, uint8_t object, uint32_t offset,
                          uint8_t phase, int line)
{
    _assert_int_equal(r->f.type, MSG_STATUS, __FILE__, line);
    if (r->f.status != status) {
        fail_msg("line %d: status %s, expected %s (detail %d)", line, msg_status_name(r->f.status),
                 msg_status_name(status), r->st.detail);
    }
    _assert_int_equal(r->f.object, object, __FILE__, line);
    _assert_int_equal(r->f.offset, offset, __FILE__, line);
    _assert_int_equal(r->st.phase, phase, __FILE__, line);
    _assert_int_equal(r->st.window, DFW_RX_BUFFERS, __FILE__, line);
    if (object == FRAME_OBJ_INIT) {
        _assert_int_equal(r->st.dat_next, offset, __FILE__, line);
    } else if (object == FRAME_OBJ_FW) {
        _assert_int_equal(r->st.bin_next, offset, __FILE__, line);
    }
}

/* ================================================================== world */

typedef struct world {
    dfwt_device_t dev;
    dfwt_pkg_t pkg;
    msg_start_t start; /* START as the host sends it for pkg */
    host_t *h;
    dfw_rx_t *rx;
} world_t;

static dfw_rx_t *rx_new(const dfwt_device_t *d, host_t *h)
{
    dfw_rx_t *rx = malloc(sizeof(*rx));
    assert_non_null(rx);
    memset(rx, 0xA5, sizeof(*rx)); /* init must not rely on zeroed storage */
    const dfw_link_t link = {.ctx = h, .tx = host_link_tx};
    dfw_rx_init(rx, &d->hal, &d->layout, &link);
    return rx;
}

static void world_make_pkg(world_t *w, const char *zip, const char *bin)
{
    memset(w, 0, sizeof(*w));
    device_make(&w->dev);
    dfwt_pkg_load(&w->pkg, zip, bin);
    w->start = (msg_start_t){.dat_len = (uint32_t)w->pkg.dat_len,
                             .dat_crc = crc32_compute(w->pkg.dat, w->pkg.dat_len),
                             .bin_len = (uint32_t)w->pkg.img.n,
                             .bin_crc = crc32_compute(w->pkg.img.d, w->pkg.img.n)};
    w->h = calloc(1, sizeof(*w->h));
    assert_non_null(w->h);
    frame_decoder_init(&w->h->dec, w->h->dec_buf, sizeof(w->h->dec_buf));
    w->h->seq = 0xFFF0; /* wraps during the session */
    w->rx = rx_new(&w->dev, w->h);
    w->h->rx = w->rx;
}

static void world_make(world_t *w)
{
    world_make_pkg(w, "app_signed_v2.zip", "app_v2");
}

/* CMocka fixtures: *state is a world with app_signed_v2, app_signed_large or bl_signed. */
static int world_setup_pkg(void **state, const char *zip, const char *bin)
{
    world_t *w = malloc(sizeof(*w));
    assert_non_null(w);
    world_make_pkg(w, zip, bin);
    *state = w;
    return 0;
}

static int world_setup(void **state)
{
    return world_setup_pkg(state, "app_signed_v2.zip", "app_v2");
}

static int world_setup_large(void **state)
{
    return world_setup_pkg(state, "app_signed_large.zip", "app_large");
}

static int world_setup_bootloader(void **state)
{
    return world_setup_pkg(state, "bl_signed.zip", "bootloader");
}

/* The device resets: RAM is gone, flash stays; a new receiver starts over the same flash. */
static void world_reboot(world_t *w)
{
    free(w->rx);
    w->rx = rx_new(&w->dev, w->h);
    w->h->rx = w->rx;
    w->h->q_len = 0;
    frame_decoder_reset(&w->h->dec);
}

static void world_free(world_t *w)
{
    free(w->rx);
    free(w->h);
    dfwt_pkg_free(&w->pkg);
    dfwt_device_free(&w->dev);
}

static int world_teardown(void **state)
{
    world_free(*state);
    free(*state);
    return 0;
}

/* A test on a fresh world with app_signed_v2 (world_setup). */
#define WORLD_TEST(test) cmocka_unit_test_setup_teardown(test, world_setup, world_teardown)

static dfw_rx_stats_t stats(const world_t *w)
{
    dfw_rx_stats_t s;
    dfw_rx_get_stats(w->rx, &s);
    return s;
}

/* ========================================================== session drivers */

static reply_t hello(world_t *w)
{
    reply_t r = transact(w->h, MSG_HELLO, 0, 0, NULL, 0);
    assert_int_equal(r.f.type, MSG_INFO);
    assert_int_equal(r.f.object, 0);
    assert_int_equal(r.f.offset, 0);
    return r;
}

/* START and the whole init packet: the device accepts the package. */
static void start_and_dat(world_t *w)
{
    reply_t r = send_start(w->h, &w->start);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_INIT, 0, MSG_PHASE_INIT);
    assert_int_equal(r.st.dat_len, w->pkg.dat_len);
    assert_int_equal(r.st.bin_len, w->pkg.img.n);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, w->pkg.dat_len);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 0, MSG_PHASE_FIRMWARE);
    assert_int_equal(r.st.dat_next, w->pkg.dat_len);
}

/*
 * Go-back-N for the firmware from `from` to the end, at most `window` DATA
 * frames unacknowledged; every reply must acknowledge exactly its frame.
 */
static void send_firmware(world_t *w, uint32_t from, uint32_t payload, unsigned window)
{
    struct {
        uint16_t seq;
        uint32_t end;
    } out[8];
    size_t n_out = 0;
    uint32_t next = from, total = (uint32_t)w->pkg.img.n;
    assert_true(window <= 8);
    for (;;) {
        while (n_out < window && next < total) {
            uint32_t len = payload < total - next ? payload : total - next;
            out[n_out].seq =
                host_send(w->h, MSG_DATA, FRAME_OBJ_FW, next, w->pkg.img.d + next, len);
            out[n_out++].end = next + len;
            next += len;
        }
        if (n_out == 0) {
            return;
        }
        if (w->h->q_len == 0) {
            assert_int_equal(poll_one(w->h), DFW_RX_WORKED);
        }
        reply_t r = pop_reply(w->h);
        assert_int_equal(r.f.seq, out[0].seq);
        uint8_t phase = out[0].end == total ? MSG_PHASE_READY : MSG_PHASE_FIRMWARE;
        EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, out[0].end, phase);
        assert_int_equal(r.st.bin_crc, crc32_compute(w->pkg.img.d, out[0].end));
        memmove(&out[0], &out[1], --n_out * sizeof(out[0]));
    }
}

static void commit_ok(world_t *w)
{
    unsigned resets = w->h->resets;
    reply_t r = transact(w->h, MSG_COMMIT, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, w->pkg.img.n, MSG_PHASE_COMMITTED);
    assert_int_equal(w->h->resets, resets + 1);
}

/* HELLO (answered OK, announcing our window), then START and the whole init packet. */
static void open_session(world_t *w)
{
    reply_t r = hello(w);
    assert_int_equal(r.f.status, MSG_OK);
    assert_int_equal(r.info.window, DFW_RX_BUFFERS);
    start_and_dat(w);
}

static void full_session(world_t *w, uint32_t payload, unsigned window)
{
    open_session(w);
    send_firmware(w, 0, payload, window);
    commit_ok(w);
}

/* Bank 1 holds the .bin, the settings page is staged, flash equals a direct dfw_stage run. */
static void check_staged(const world_t *w)
{
    const uint8_t *mem = w->dev.f->mem;
    assert_memory_equal(mem + BANK1, w->pkg.img.d, w->pkg.img.n);
    uint8_t want[896];
    dfwt_expected_settings(w->dev.before + SETTINGS, w->pkg.dat, w->pkg.dat_len, want);
    assert_memory_equal(mem + SETTINGS, want, sizeof(want));
    uint8_t *ref = reference_flash(&w->pkg);
    assert_memory_equal(mem, ref, FLASH_SIZE);
    free(ref);
}

/* The image word at bank-1 address `a`, the last one padded with 0xFF. */
static uint32_t image_word(const world_t *w, uint32_t a)
{
    uint8_t b[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    size_t off = a - BANK1;
    memcpy(b, w->pkg.img.d + off, w->pkg.img.n - off < 4 ? w->pkg.img.n - off : 4);
    return dfwt_get32(b);
}

/*
 * Every word of the image and of the settings record programmed exactly once,
 * nothing else; image words of 0xFFFFFFFF are never programmed (the blank page
 * holds them already).
 */
static void check_written_once(const world_t *w)
{
    uint32_t img_end = BANK1 + ((uint32_t)w->pkg.img.n + 3u) / 4u * 4u;
    for (uint32_t a = 0; a < FLASH_SIZE; a += 4) {
        bool staged = (a >= BANK1 && a < img_end && image_word(w, a) != 0xFFFFFFFFu) ||
                      (a >= SETTINGS && a < SETTINGS + 896);
        if (w->dev.f->programs[a / 4] != (staged ? 1 : 0)) {
            fail_msg("word 0x%x programmed %u times", a, w->dev.f->programs[a / 4]);
        }
    }
}

/* check_staged(), and no word programmed twice: no page was staged twice. */
static void check_staged_once(const world_t *w)
{
    check_staged(w);
    check_written_once(w);
}

static void check_flash_untouched(const world_t *w)
{
    assert_int_equal(dfwt_flash_ops(w->dev.f), 0);
    assert_memory_equal(w->dev.f->mem, w->dev.before, FLASH_SIZE);
}

/* The firmware from `from` on in 2048-byte frames, COMMIT, and flash as dfw_stage makes it. */
static void finish_update(world_t *w, uint32_t from, unsigned window)
{
    send_firmware(w, from, 2048, window);
    commit_ok(w);
    check_staged(w);
}

/* ==================================================================== tests */

static void test_dfw_rx_session_in_whole_frames_stages_like_dfw_stage(void **state)
{
    world_t *w = *state;
    full_session(w, FRAME_MAX_PAYLOAD, 1);
    check_staged_once(w);
    dfw_rx_stats_t s = stats(w);
    assert_int_equal(s.frames, 4 + (w->pkg.img.n + 2047) / 2048);
    assert_int_equal(s.replies, s.frames);
    assert_int_equal(s.crc + s.malformed + s.overflow + s.no_buffer + s.tx_errors, 0);
    assert_int_equal(dfw_rx_phase(w->rx), MSG_PHASE_COMMITTED);
}

static void test_dfw_rx_session_byte_by_byte(void **state)
{
    world_t *w = *state;
    w->h->chunk = 1;
    w->h->poll_between = true;
    w->h->rng = 7;
    full_session(w, FRAME_MAX_PAYLOAD, 1);
    check_staged_once(w);
}

static void test_dfw_rx_session_random_chunkings(void **state)
{
    (void)state;
    static const struct {
        uint32_t seed, payload;
        unsigned window;
    } runs[] = {{1, 2048, 1}, {2, 1000, 2}, {0xC0FFEE, 17, 2}, {42, 2047, 2}, {9, 4, 1}};
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        world_t w;
        world_make(&w);
        w.h->chunk = CHUNK_RANDOM;
        w.h->poll_between = true;
        w.h->rng = runs[i].seed;
        full_session(&w, runs[i].payload, runs[i].window);
        check_staged_once(&w);
        world_free(&w);
    }
}

/* Two DATA frames fully received before the device handles the first (window 2). */
static void test_dfw_rx_session_with_two_frames_in_flight(void **state)
{
    (void)state;
    static const uint32_t payloads[] = {2048, 1024, 333};
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        world_t w;
        world_make(&w);
        full_session(&w, payloads[i], 2);
        check_staged_once(&w);
        assert_int_equal(stats(&w).no_buffer, 0);
        world_free(&w);
    }
}

static void test_dfw_rx_duplicates_and_overlaps_are_harmless(void **state)
{
    world_t *w = *state;
    open_session(w);
    const uint8_t *bin = w->pkg.img.d;
    reply_t r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, bin, 2048);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 2048, MSG_PHASE_FIRMWARE);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, bin, 2048); /* exact duplicate */
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 2048, MSG_PHASE_FIRMWARE);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 100, bin + 100, 50); /* old bytes */
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 2048, MSG_PHASE_FIRMWARE);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 1024, bin + 1024, 2048); /* overlap: tail taken */
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 3072, MSG_PHASE_FIRMWARE);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 3071, bin + 3071, 2048); /* one byte overlap */
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 5119, MSG_PHASE_FIRMWARE);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, w->pkg.dat_len); /* .dat again */
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 5119, MSG_PHASE_FIRMWARE);
    /* The rest, every frame sent twice in a row (a duplicating link). */
    for (uint32_t off = 5119; off < w->pkg.img.n; off += 2048) {
        uint32_t len = (uint32_t)w->pkg.img.n - off < 2048 ? (uint32_t)w->pkg.img.n - off : 2048;
        for (int k = 0; k < 2; k++) {
            r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, off, bin + off, len);
            uint8_t phase = off + len == w->pkg.img.n ? MSG_PHASE_READY : MSG_PHASE_FIRMWARE;
            EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, off + len, phase);
        }
    }
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, bin, 2048); /* duplicate while READY */
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, w->pkg.img.n, MSG_PHASE_READY);
    commit_ok(w);
    check_staged_once(w);
}

static void test_dfw_rx_gap_answers_wrong_offset_then_recovers(void **state)
{
    world_t *w = *state;
    open_session(w);
    reply_t r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 1000);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 1000, MSG_PHASE_FIRMWARE);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 3000, w->pkg.img.d + 3000,
                 2048); /* 1000..3000 lost */
    EXPECT_STATUS(r, MSG_WRONG_OFFSET, FRAME_OBJ_FW, 1000, MSG_PHASE_FIRMWARE);
    assert_int_equal(r.st.detail, DFW_ERR_OFFSET);
    assert_int_equal(r.st.bin_crc, crc32_compute(w->pkg.img.d, 1000));
    assert_int_equal(hello(w).info.last_status, MSG_WRONG_OFFSET);
    /* A gap in the init packet's object while firmware is expected: the .dat is complete. */
    finish_update(w, r.f.offset, 2);
    check_written_once(w);
}

static void test_dfw_rx_gap_in_init_packet_answers_wrong_offset(void **state)
{
    world_t *w = *state;
    reply_t r = send_start(w->h, &w->start);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, 40);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_INIT, 40, MSG_PHASE_INIT);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 60, w->pkg.dat + 60, 20);
    EXPECT_STATUS(r, MSG_WRONG_OFFSET, FRAME_OBJ_INIT, 40, MSG_PHASE_INIT);
    /* Firmware before the init packet is complete: pointed back at the init packet. */
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 2048);
    EXPECT_STATUS(r, MSG_WRONG_OFFSET, FRAME_OBJ_INIT, 40, MSG_PHASE_INIT);
    r = send_resume(w->h, 0, 0);
    EXPECT_STATUS(r, MSG_WRONG_OFFSET, FRAME_OBJ_INIT, 40, MSG_PHASE_INIT);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 30, w->pkg.dat + 30, w->pkg.dat_len - 30);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 0, MSG_PHASE_FIRMWARE);
    assert_int_equal(dfwt_flash_ops(w->dev.f), 0);
    finish_update(w, 0, 2);
}

/* COBS-encode `n` packet bytes + delimiter (test-side, for frames frame_encode cannot make). */
static size_t cobs(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
            continue;
        }
        out[o++] = in[i];
        if (++code == 0xFF) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        }
    }
    out[code_at] = code;
    out[o++] = 0;
    return o;
}

static void test_dfw_rx_garbage_and_cut_frames_resync(void **state)
{
    world_t *w = *state;
    w->h->chunk = CHUNK_RANDOM;
    w->h->poll_between = true;
    w->h->rng = 3;
    open_session(w);
    dfw_rx_stats_t s0 = stats(w);
    static uint8_t wire[FRAME_MAX_WIRE], junk[3000];
    static const uint8_t zeros[3] = {0, 0, 0};
    uint32_t rng = 99;
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(1u + rng_next(&rng) % 255u); /* no 0x00: one long run */
    }
    /* Noise ending in a delimiter: dropped. */
    feed(w->h, junk, 40);
    feed(w->h, zeros, 1);
    reply_t r = transact(w->h, MSG_QUERY, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 0, MSG_PHASE_FIRMWARE);
    /* A frame cut in half, then the next frame with no delimiter between: both lost. */
    frame_t f = {.type = MSG_DATA, .object = 2, .seq = 500, .len = 2048, .payload = w->pkg.img.d};
    size_t n = encode(&f, wire, sizeof(wire));
    feed(w->h, wire, n / 2);
    (void)host_send(w->h, MSG_QUERY, 0, 0, NULL, 0);
    poll_all(w->h);
    assert_int_equal(w->h->q_len, 0);
    /* One corrupted byte (never 0x00, so the frame stays one frame): dropped by the CRC. */
    n = encode(&f, wire, sizeof(wire));
    wire[n / 2] = wire[n / 2] == 0x5A ? 0x5B : 0x5A;
    feed(w->h, wire, n);
    poll_all(w->h);
    assert_int_equal(w->h->q_len, 0);
    /* Longer than any frame buffer: dropped, counted as overflow. Extra delimiters are empty. */
    feed(w->h, junk, sizeof(junk));
    feed(w->h, zeros, sizeof(zeros));
    r = transact(w->h, MSG_QUERY, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 0, MSG_PHASE_FIRMWARE); /* nothing was written */
    assert_int_equal(dfwt_flash_ops(w->dev.f), 0);

    finish_update(w, 0, 2);
    check_written_once(w);
    dfw_rx_stats_t s = stats(w);
    assert_int_equal(s.crc + s.malformed, s0.crc + s0.malformed + 3);
    assert_int_equal(s.overflow, 1);
    assert_int_equal(s.no_buffer + s.idle_cuts, 0);
}

static void test_dfw_rx_idle_tick_cuts_a_stalled_partial_frame(void **state)
{
    world_t *w = *state;
    open_session(w);
    static uint8_t wire[FRAME_MAX_WIRE];
    frame_t f = {.type = MSG_DATA, .object = 2, .seq = 77, .len = 2048, .payload = w->pkg.img.d};
    size_t n = encode(&f, wire, sizeof(wire));
    uint32_t t = 0xFFFFFE00u; /* the millisecond counter wraps during the test */

    /* Bytes trickling in slower than DFW_RX_IDLE_MS in total, but never silent that long. */
    size_t off = 0;
    for (; off < n; off += 500) {
        size_t k = n - off < 500 ? n - off : 500;
        dfw_rx_tick(w->rx, t);
        feed(w->h, wire + off, k);
        t += DFW_RX_IDLE_MS / 2;
    }
    dfw_rx_tick(w->rx, t);
    poll_all(w->h);
    reply_t r = pop_reply(w->h);
    assert_int_equal(r.f.seq, 77);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 2048, MSG_PHASE_FIRMWARE);

    /* Half a frame, then silence: not cut one millisecond early, cut on time. */
    f.offset = 2048;
    f.payload = w->pkg.img.d + 2048;
    f.seq = 78;
    n = encode(&f, wire, sizeof(wire));
    feed(w->h, wire, n / 2);
    dfw_rx_tick(w->rx, t);
    dfw_rx_tick(w->rx, t + DFW_RX_IDLE_MS - 1);
    assert_int_equal(stats(w).idle_cuts, 0);
    dfw_rx_tick(w->rx, t + DFW_RX_IDLE_MS);
    /* The next frame starts clean although the cut frame's delimiter never came. */
    r = transact(w->h, MSG_QUERY, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 2048, MSG_PHASE_FIRMWARE);
    dfw_rx_stats_t s = stats(w);
    assert_int_equal(s.idle_cuts, 1);
    assert_int_equal(s.crc + s.malformed, 0);
    /* A tick with no partial frame pending never cuts anything. */
    dfw_rx_tick(w->rx, t + 10 * DFW_RX_IDLE_MS);
    r = transact(w->h, MSG_QUERY, 0, 0, NULL, 0);
    assert_int_equal(stats(w).idle_cuts, 1);
}

static void test_dfw_rx_frames_beyond_buffers_are_dropped_then_retransmitted(void **state)
{
    world_t *w = *state;
    open_session(w);
    const uint8_t *bin = w->pkg.img.d;
    /* Three frames before the main loop runs: only DFW_RX_BUFFERS fit. */
    for (uint32_t k = 0; k < 3; k++) {
        (void)host_send(w->h, MSG_DATA, FRAME_OBJ_FW, k * 2048, bin + k * 2048, 2048);
    }
    assert_int_equal(stats(w).no_buffer, 1);
    poll_all(w->h);
    assert_int_equal(w->h->q_len, 2);
    reply_t r = pop_reply(w->h);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 2048, MSG_PHASE_FIRMWARE);
    r = pop_reply(w->h);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 4096, MSG_PHASE_FIRMWARE);

    /*
     * The host times out on the third frame and goes back to 4096. This time a
     * buffer frees up while a dropped frame is still arriving: that frame stays
     * dropped, the one after it is received again.
     */
    static uint8_t wire[FRAME_MAX_WIRE];
    (void)host_send(w->h, MSG_DATA, FRAME_OBJ_FW, 4096, bin + 4096, 2048);
    (void)host_send(w->h, MSG_DATA, FRAME_OBJ_FW, 6144, bin + 6144, 2048);
    frame_t f = {.type = MSG_DATA,
                 .object = 2,
                 .seq = 900,
                 .offset = 8192,
                 .len = 2048,
                 .payload = bin + 8192};
    size_t n = encode(&f, wire, sizeof(wire));
    feed(w->h, wire, n / 2);
    assert_int_equal(poll_one(w->h), DFW_RX_WORKED);
    feed(w->h, wire + n / 2, n - n / 2);
    assert_int_equal(stats(w).no_buffer, 2);
    uint16_t seq = host_send(w->h, MSG_DATA, FRAME_OBJ_FW, 10240, bin + 10240, 2048);
    poll_all(w->h);
    assert_int_equal(w->h->q_len, 3);
    r = pop_reply(w->h);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 6144, MSG_PHASE_FIRMWARE);
    r = pop_reply(w->h);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 8192, MSG_PHASE_FIRMWARE);
    r = pop_reply(w->h);
    assert_int_equal(r.f.seq, seq);
    EXPECT_STATUS(r, MSG_WRONG_OFFSET, FRAME_OBJ_FW, 8192, MSG_PHASE_FIRMWARE);

    finish_update(w, r.f.offset, 2);
    check_written_once(w);
}

static void test_dfw_rx_too_large_image_is_refused_without_flash_writes(void **state)
{
    world_t *w = *state;
    reply_t r = hello(w);
    assert_true(r.info.max_image < w->pkg.img.n);
    r = send_start(w->h, &w->start);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_INIT, 0, MSG_PHASE_INIT);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, w->pkg.dat_len);
    EXPECT_STATUS(r, MSG_TOO_LARGE, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(r.st.detail, DFW_ERR_NO_SPACE);
    assert_int_equal(r.st.bin_len, 0);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 2048);
    EXPECT_STATUS(r, MSG_NO_SESSION, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(hello(w).info.last_status, MSG_NO_SESSION);
    check_flash_untouched(w);
}

static void test_dfw_rx_bootloader_package_is_unsupported_type(void **state)
{
    world_t *w = *state;
    reply_t r = send_start(w->h, &w->start);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_INIT, 0, MSG_PHASE_INIT);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, w->pkg.dat_len);
    EXPECT_STATUS(r, MSG_UNSUPPORTED_TYPE, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(r.st.detail, DFW_ERR_UNSUPPORTED_TYPE);
    assert_int_equal(hello(w).info.last_status, MSG_UNSUPPORTED_TYPE);
    check_flash_untouched(w);
}

static void test_dfw_rx_corrupt_settings_crc_is_settings_invalid(void **state)
{
    world_t *w = *state;
    w->dev.f->mem[SETTINGS + 8] ^= 0x01; /* app_version 3 -> 2, CRC no longer matches */
    w->dev.before[SETTINGS + 8] ^= 0x01;
    reply_t r = hello(w);
    assert_int_equal(r.f.status, MSG_SETTINGS_INVALID);
    assert_int_equal(r.info.app_version, 2); /* what the page says, for diagnosis */
    assert_int_equal(r.info.bank1_addr, 0);  /* nothing can be staged */
    assert_int_equal(r.info.max_image, 0);
    r = send_start(w->h, &w->start);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, w->pkg.dat_len);
    EXPECT_STATUS(r, MSG_SETTINGS_INVALID, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(r.st.detail, DFW_ERR_SETTINGS_CRC);
    check_flash_untouched(w);
}

static void test_dfw_rx_dat_crc_mismatch_restarts_the_init_packet(void **state)
{
    world_t *w = *state;
    msg_start_t bad = w->start;
    bad.dat_crc ^= 1u;
    reply_t r = send_start(w->h, &bad);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, w->pkg.dat_len);
    EXPECT_STATUS(r, MSG_VERIFY_FAILED, FRAME_OBJ_INIT, 0, MSG_PHASE_INIT);
    assert_int_equal(dfwt_flash_ops(w->dev.f), 0);
    /* The host fixes its START: a different START is a new session. */
    start_and_dat(w);
    finish_update(w, 0, 1);
}

static void test_dfw_rx_bin_crc_mismatch_drops_the_session(void **state)
{
    world_t *w = *state;
    msg_start_t bad = w->start;
    bad.bin_crc ^= 1u;
    w->start = bad;
    start_and_dat(w);
    uint32_t total = (uint32_t)w->pkg.img.n, off = 0;
    reply_t r;
    for (; total - off > 2048; off += 2048) {
        r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, off, w->pkg.img.d + off, 2048);
        EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, off + 2048, MSG_PHASE_FIRMWARE);
    }
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, off, w->pkg.img.d + off, total - off);
    EXPECT_STATUS(r, MSG_VERIFY_FAILED, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(r.st.bin_len, 0);
    r = transact(w->h, MSG_COMMIT, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_NO_SESSION, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(w->h->resets, 0);
    assert_memory_equal(w->dev.f->mem + SETTINGS - PAGE, w->dev.before + SETTINGS - PAGE, 2 * PAGE);
}

/* Link loss: the host reconnects, sends the same START and continues from the device's offset. */
static void test_dfw_rx_same_start_after_link_loss_keeps_progress(void **state)
{
    world_t *w = *state;
    open_session(w);
    for (uint32_t off = 0; off < 20000; off += 2000) {
        (void)transact(w->h, MSG_DATA, FRAME_OBJ_FW, off, w->pkg.img.d + off, 2000);
    }
    reply_t r = hello(w);
    assert_int_equal(r.info.flags, MSG_INFO_SESSION);
    r = send_start(w->h, &w->start);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 20000, MSG_PHASE_FIRMWARE);
    assert_int_equal(r.st.bin_crc, crc32_compute(w->pkg.img.d, 20000));
    assert_int_equal(r.st.dat_next, w->pkg.dat_len);
    finish_update(w, r.f.offset, 2);
    check_written_once(w);
}

static void test_dfw_rx_different_start_begins_a_new_session(void **state)
{
    world_t *w = *state;
    start_and_dat(w);
    (void)transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 2048);
    msg_start_t other = w->start;
    other.bin_crc ^= 0x80000000u;
    reply_t r = send_start(w->h, &other);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_INIT, 0, MSG_PHASE_INIT);
    assert_int_equal(r.st.bin_next, 0);
    assert_int_equal(r.st.bin_crc, 0);
}

/* Firmware up to `acked` in frames of `payload`; every reply checked. */
static void send_prefix(world_t *w, uint32_t acked, uint32_t payload)
{
    for (uint32_t off = 0; off < acked; off += payload) {
        reply_t r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, off, w->pkg.img.d + off, payload);
        EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, off + payload, MSG_PHASE_FIRMWARE);
    }
}

static void test_dfw_rx_device_reset_resumes_from_page_boundary(void **state)
{
    world_t *w = *state;
    open_session(w);
    const uint32_t acked = 20 * 1500; /* 30000: inside bank 1's 8th page */
    send_prefix(w, acked, 1500);

    world_reboot(w);
    reply_t r = hello(w);
    assert_int_equal(r.info.flags, 0); /* no session, no update pending */
    r = send_resume(w->h, acked, crc32_compute(w->pkg.img.d, acked));
    EXPECT_STATUS(r, MSG_NO_SESSION, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    start_and_dat(w);
    size_t sent_before = w->h->fw_bytes;
    r = send_resume(w->h, acked, crc32_compute(w->pkg.img.d, acked));
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, acked / PAGE * PAGE, MSG_PHASE_FIRMWARE);
    assert_int_equal(r.st.bin_crc, crc32_compute(w->pkg.img.d, r.f.offset));
    send_firmware(w, r.f.offset, 2048, 2);
    size_t resent = w->h->fw_bytes - sent_before - (w->pkg.img.n - acked);
    assert_true(resent > 0 && resent < PAGE);
    commit_ok(w);
    check_staged(w);
    /* Only the page holding the claimed offset was erased again. */
    for (uint32_t p = 0; p < FLASH_SIZE / PAGE; p++) {
        unsigned want = p == (BANK1 + acked) / PAGE ? 2 : w->dev.f->erase_count[p] != 0 ? 1 : 0;
        assert_int_equal(w->dev.f->erase_count[p], want);
    }
}

static void test_dfw_rx_resume_with_wrong_crc_restarts_from_zero(void **state)
{
    world_t *w = *state;
    start_and_dat(w);
    send_prefix(w, 12000, 2000);
    world_reboot(w);
    start_and_dat(w);
    reply_t r = send_resume(w->h, 12000, crc32_compute(w->pkg.img.d, 12000));
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 8192, MSG_PHASE_FIRMWARE);
    /* A claim flash does not back: the device forgets even what it had and restarts at 0. */
    r = send_resume(w->h, 12000, crc32_compute(w->pkg.img.d, 12000) ^ 1u);
    EXPECT_STATUS(r, MSG_CRC_MISMATCH, FRAME_OBJ_FW, 0, MSG_PHASE_FIRMWARE);
    assert_int_equal(r.st.bin_crc, 0);
    assert_int_equal(r.st.detail, DFW_ERR_CRC_MISMATCH);
    r = send_resume(w->h, (uint32_t)w->pkg.img.n + 1, 0); /* beyond the image */
    EXPECT_STATUS(r, MSG_BAD_REQUEST, FRAME_OBJ_FW, 0, MSG_PHASE_FIRMWARE);
    finish_update(w, 0, 2);
}

static void test_dfw_rx_commit_before_complete_is_incomplete(void **state)
{
    world_t *w = *state;
    reply_t r = transact(w->h, MSG_COMMIT, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_NO_SESSION, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    start_and_dat(w);
    send_prefix(w, 4096, 2048);
    r = transact(w->h, MSG_COMMIT, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_INCOMPLETE, FRAME_OBJ_FW, 4096, MSG_PHASE_FIRMWARE);
    assert_int_equal(w->h->resets, 0);
    assert_memory_equal(w->dev.f->mem + SETTINGS, w->dev.before + SETTINGS, PAGE);
    send_firmware(w, 4096, 2048, 2);
    assert_memory_equal(w->dev.f->mem + SETTINGS, w->dev.before + SETTINGS, PAGE);
    commit_ok(w);
    check_staged_once(w);
}

/* After COMMIT only a reset helps: a repeated COMMIT asks for it again, the rest is BUSY. */
static void test_dfw_rx_after_commit_device_waits_for_reset(void **state)
{
    world_t *w = *state;
    full_session(w, 2048, 2);
    commit_ok(w); /* the first reply was lost: same answer, reset again */
    reply_t r = send_start(w->h, &w->start);
    EXPECT_STATUS(r, MSG_BUSY, FRAME_OBJ_FW, w->pkg.img.n, MSG_PHASE_COMMITTED);
    r = transact(w->h, MSG_ABORT, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_BUSY, FRAME_OBJ_FW, w->pkg.img.n, MSG_PHASE_COMMITTED);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 16);
    EXPECT_STATUS(r, MSG_BUSY, FRAME_OBJ_FW, w->pkg.img.n, MSG_PHASE_COMMITTED);
    check_staged_once(w);

    /* Reset without the bootloader acting (as in a test rig): the commit shows as pending. */
    world_reboot(w);
    r = hello(w);
    assert_int_equal(r.f.status, MSG_OK);
    assert_int_equal(r.info.flags, MSG_INFO_UPDATE_PENDING);
    assert_int_equal(r.info.app_version, 3);
}

static void test_dfw_rx_info_reports_the_device(void **state)
{
    world_t *w = *state;
    reply_t r = hello(w);
    assert_int_equal(r.f.status, MSG_OK);
    assert_int_equal(r.info.max_payload, FRAME_MAX_PAYLOAD);
    assert_int_equal(r.info.window, DFW_RX_BUFFERS);
    assert_int_equal(r.info.flags, 0);
    assert_int_equal(r.info.app_version, 3);
    assert_int_equal(r.info.bank0_size, 50016);
    assert_int_equal(r.info.bank0_crc, 0xB2A87E96u);
    assert_int_equal(r.info.bank1_addr, BANK1);
    assert_int_equal(r.info.max_image, DFU_END - BANK1);
    assert_int_equal(r.info.flash_size, FLASH_SIZE);
    assert_int_equal(r.info.page_size, PAGE);
    assert_int_equal(r.info.last_status, 0);
    assert_int_equal(r.payload[31], 0);
    start_and_dat(w);
    r = hello(w);
    assert_int_equal(r.info.flags, MSG_INFO_SESSION);
    /* Without a SoftDevice bank 0 starts right after the MBR. */
    w->dev.f->mem[0x3004] ^= 0xFF;
    r = hello(w);
    assert_int_equal(r.info.bank1_addr, 0x1000 + 0xD000);
    assert_int_equal(dfwt_flash_ops(w->dev.f), 0);
}

static void test_dfw_rx_hal_write_failure_is_flash_fault(void **state)
{
    world_t *w = *state;
    start_and_dat(w);
    w->dev.f->fail_write = 3;
    reply_t r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 2048);
    EXPECT_STATUS(r, MSG_FLASH_FAULT, FRAME_OBJ_NONE, 0, MSG_PHASE_FAILED);
    assert_int_equal(r.st.detail, DFW_ERR_FLASH);
    unsigned writes = w->dev.f->writes;
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 2048);
    EXPECT_STATUS(r, MSG_NO_SESSION, FRAME_OBJ_NONE, 0, MSG_PHASE_FAILED);
    assert_int_equal(w->dev.f->writes, writes); /* nothing more written */
    r = hello(w);
    assert_int_equal(r.info.flags, 0);
    assert_int_equal(r.info.last_status, MSG_NO_SESSION);
    assert_memory_equal(w->dev.f->mem + SETTINGS, w->dev.before + SETTINGS, PAGE);
    /* The fault is gone (e.g. the SoftDevice was busy): a new START works. */
    w->dev.f->fail_write = 0;
    start_and_dat(w);
    finish_update(w, 0, 2);
}

static void test_dfw_rx_unknown_type_and_bad_length_are_bad_request(void **state)
{
    world_t *w = *state;
    static const uint8_t types[] = {0x00, 0x08, 0x7F, MSG_INFO, MSG_STATUS, 0xFF};
    uint8_t junk[MSG_START_LEN + 1] = {0};
    for (size_t i = 0; i < sizeof(types); i++) {
        reply_t r = transact(w->h, types[i], 0, 0, NULL, 0);
        EXPECT_STATUS(r, MSG_BAD_REQUEST, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    }
    reply_t r = transact(w->h, MSG_HELLO, 0, 0, junk, 1);
    EXPECT_STATUS(r, MSG_BAD_REQUEST, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    r = transact(w->h, MSG_START, 0, 0, junk, MSG_START_LEN - 1);
    EXPECT_STATUS(r, MSG_BAD_REQUEST, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    r = transact(w->h, MSG_START, 0, 0, junk, MSG_START_LEN + 1);
    EXPECT_STATUS(r, MSG_BAD_REQUEST, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);

    /* In a session: refused requests leave it as it was. */
    start_and_dat(w);
    (void)transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 100);
    const struct {
        uint8_t type, object;
        uint32_t offset;
        size_t len;
    } bad[] = {
        {MSG_DATA, FRAME_OBJ_FW, 100, 0},                             /* empty DATA */
        {MSG_DATA, 3, 100, 10},                                       /* no such object */
        {MSG_DATA, FRAME_OBJ_NONE, 100, 10},                          /* no object */
        {MSG_DATA, FRAME_OBJ_FW, (uint32_t)w->pkg.img.n - 5, 10},     /* past the image */
        {MSG_DATA, FRAME_OBJ_INIT, (uint32_t)w->pkg.dat_len - 5, 10}, /* past the .dat */
        {MSG_RESUME, FRAME_OBJ_FW, 0, 3},
        {MSG_RESUME, FRAME_OBJ_INIT, 0, 4},
        {MSG_COMMIT, 0, 0, 1},
        {MSG_QUERY, 0, 0, 4},
        {MSG_ABORT, 0, 0, 2},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = transact(w->h, bad[i].type, bad[i].object, bad[i].offset, w->pkg.img.d, bad[i].len);
        EXPECT_STATUS(r, MSG_BAD_REQUEST, FRAME_OBJ_FW, 100, MSG_PHASE_FIRMWARE);
    }
    assert_int_equal(hello(w).info.last_status, MSG_BAD_REQUEST);

    /* A START the device cannot take drops the session it replaces. */
    msg_start_t s = w->start;
    s.dat_len = DFW_INITCMD_MAX_SIZE + 1;
    r = send_start(w->h, &s);
    EXPECT_STATUS(r, MSG_BAD_INIT_PACKET, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(r.st.detail, DFW_ERR_INITCMD_SIZE);
    s = w->start;
    s.bin_len = 0;
    r = send_start(w->h, &s);
    EXPECT_STATUS(r, MSG_BAD_REQUEST, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    /* START's bin_len must be the init packet's app_size. */
    s = w->start;
    s.bin_len += 4;
    (void)send_start(w->h, &s);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, w->pkg.dat_len);
    EXPECT_STATUS(r, MSG_BAD_INIT_PACKET, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(r.st.detail, DFW_ERR_INITCMD_INVALID);
}

/* A packet of another protocol version, COBS-framed by hand (frame_encode only writes v1). */
static size_t foreign_frame(uint8_t type, uint16_t seq, uint16_t len, uint8_t *wire)
{
    uint8_t pkt[FRAME_HDR_LEN + 16 + FRAME_CRC_LEN] = {2, type, 0, 0};
    dfwt_put32(pkt + 4, (uint32_t)seq | (uint32_t)len << 16);
    dfwt_put32(pkt + 8, 0);
    memset(pkt + FRAME_HDR_LEN, 0x11, len);
    dfwt_put32(pkt + FRAME_HDR_LEN + len, crc32_compute(pkt, FRAME_HDR_LEN + len));
    return cobs(pkt, FRAME_HDR_LEN + len + FRAME_CRC_LEN, wire);
}

static void test_dfw_rx_hello_of_other_version_gets_bad_version(void **state)
{
    world_t *w = *state;
    uint8_t wire[64];
    feed(w->h, wire, foreign_frame(MSG_HELLO, 0x1234, 0, wire));
    poll_all(w->h);
    reply_t r = pop_reply(w->h);
    assert_int_equal(r.f.type, MSG_INFO);
    assert_int_equal(r.f.seq, 0x1234);
    assert_int_equal(r.f.status, MSG_BAD_VERSION);
    assert_int_equal(r.info.window, DFW_RX_BUFFERS);
    feed(w->h, wire, foreign_frame(MSG_START, 0x1235, 16, wire)); /* anything else: silence */
    poll_all(w->h);
    assert_int_equal(w->h->q_len, 0);
    assert_int_equal(stats(w).version, 2);
    r = hello(w);
    assert_int_equal(r.f.status, MSG_OK);
    assert_int_equal(r.info.last_status, MSG_BAD_VERSION);
}

static void test_dfw_rx_abort_forgets_the_session(void **state)
{
    world_t *w = *state;
    start_and_dat(w);
    send_prefix(w, 4096, 2048);
    reply_t r = transact(w->h, MSG_ABORT, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_int_equal(r.st.dat_len + r.st.bin_len + r.st.dat_next, 0);
    r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 4096, w->pkg.img.d + 4096, 2048);
    EXPECT_STATUS(r, MSG_NO_SESSION, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    r = transact(w->h, MSG_QUERY, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    assert_memory_equal(w->dev.f->mem + SETTINGS, w->dev.before + SETTINGS, PAGE);
}

/* A reply lost on the way out: counted; the host's retransmission is a harmless duplicate. */
/* The eager host: each reply is answered with the next DATA frame at once. */
typedef struct eager {
    world_t *w;
    uint32_t next;
} eager_t;

static void eager_next(host_t *h)
{
    eager_t *e = h->user;
    uint32_t total = (uint32_t)e->w->pkg.img.n;
    if (e->next < total) {
        uint32_t len = total - e->next < 2048 ? total - e->next : 2048;
        (void)host_send(h, MSG_DATA, FRAME_OBJ_FW, e->next, e->w->pkg.img.d + e->next, len);
        e->next += len;
    }
}

/*
 * The next frame arrives while the device is still inside link->tx (its UART
 * ISR runs during the blocking send): the handled frame's buffer must already
 * be free, so a host keeping `window` frames in flight never loses one.
 */
static void test_dfw_rx_buffer_is_free_before_the_reply_leaves(void **state)
{
    world_t *w = *state;
    start_and_dat(w);
    eager_t e = {w, 0};
    w->h->user = &e;
    for (unsigned k = 0; k < DFW_RX_BUFFERS; k++) {
        eager_next(w->h);
    }
    w->h->on_reply = eager_next;
    poll_all(w->h);
    w->h->on_reply = NULL;
    uint32_t total = (uint32_t)w->pkg.img.n;
    for (uint32_t end = 2048;; end += 2048) {
        end = end < total ? end : total;
        reply_t r = pop_reply(w->h);
        EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, end,
                      end == total ? MSG_PHASE_READY : MSG_PHASE_FIRMWARE);
        if (end == total) {
            break;
        }
    }
    assert_int_equal(stats(w).no_buffer, 0);
    commit_ok(w);
    check_staged_once(w);
}

static void test_dfw_rx_lost_reply_is_counted_and_retransmit_is_duplicate(void **state)
{
    world_t *w = *state;
    start_and_dat(w);
    w->h->tx_fail = true;
    (void)host_send(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 2048);
    assert_int_equal(poll_one(w->h), DFW_RX_WORKED);
    assert_int_equal(w->h->q_len, 0);
    assert_int_equal(stats(w).tx_errors, 1);
    w->h->tx_fail = false;
    reply_t r = transact(w->h, MSG_DATA, FRAME_OBJ_FW, 0, w->pkg.img.d, 2048);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 2048, MSG_PHASE_FIRMWARE);
    finish_update(w, 2048, 2);
    check_written_once(w);
}

/* ============================================================ idle pre-erase */

/*
 * Bank 1 in these worlds holds bytes that are neither blank nor a copy of the
 * running image, i.e. possibly an interrupted update: the receiver pre-erases
 * it only after DFW_RX_DISCARD_S seconds without a byte from a host.
 */
static void make_quiet(world_t *w)
{
    dfw_rx_tick(w->rx, 1000u);
    dfw_rx_tick(w->rx, 1000u + DFW_RX_DISCARD_S * 1000u);
}

/* dfw_rx_idle() until it says done; each call erases at most one page and programs nothing. */
static unsigned idle_all(world_t *w)
{
    unsigned calls = 0;
    bool more = true;
    while (more) {
        assert_true(calls <= (DFU_END - BANK1) / PAGE);
        unsigned erases = w->dev.f->erases, writes = w->dev.f->writes;
        more = dfw_rx_idle(w->rx);
        assert_true(w->dev.f->erases - erases <= 1);
        assert_int_equal(w->dev.f->writes, writes);
        calls++;
    }
    return calls;
}

/*
 * At start-up with stale data in bank 1: the idle pass erases exactly the
 * non-blank pages of [bank1, app data), one per call, nothing else; then the
 * update erases no bank-1 page at all and the result equals a direct stage.
 */
static void test_dfw_rx_idle_pre_erases_bank1_then_update_skips_erases(void **state)
{
    world_t *w = *state;
    make_quiet(w);
    /* Two pages already blank (erased before this boot, as far as the fake flash knows). */
    memset(w->dev.f->mem + BANK1 + 3 * PAGE, 0xFF, 2 * PAGE);
    w->dev.f->erased[BANK1 / PAGE + 3] = w->dev.f->erased[BANK1 / PAGE + 4] = 1;
    memcpy(w->dev.before, w->dev.f->mem, FLASH_SIZE);
    unsigned pages = (DFU_END - BANK1) / PAGE;
    /* One call per erase: the call erasing the last page (not blank) already says "done". */
    assert_int_equal(idle_all(w), pages - 2);
    for (uint32_t a = 0; a < FLASH_SIZE; a += PAGE) {
        bool area = a >= BANK1 && a < DFU_END;
        unsigned want = area && !dfwt_page_is_blank(w->dev.before, a) ? 1 : 0;
        assert_int_equal(w->dev.f->erase_count[a / PAGE], want);
        if (area) {
            assert_true(dfwt_page_is_blank(w->dev.f->mem, a));
        } else {
            assert_memory_equal(w->dev.f->mem + a, w->dev.before + a, PAGE);
        }
    }
    unsigned reads = w->dev.f->reads;
    assert_false(dfw_rx_idle(w->rx)); /* done: not even a read */
    assert_int_equal(w->dev.f->reads, reads);

    dfwt_flash_forget(w->dev.f);
    full_session(w, FRAME_MAX_PAYLOAD, 2);
    assert_memory_equal(w->dev.f->mem + BANK1, w->pkg.img.d, w->pkg.img.n);
    for (uint32_t a = 0; a < FLASH_SIZE; a += PAGE) {
        assert_int_equal(w->dev.f->erase_count[a / PAGE], a == SETTINGS ? 1 : 0);
    }
    check_written_once(w);
    uint8_t want[896];
    dfwt_expected_settings(w->dev.before + SETTINGS, w->pkg.dat, w->pkg.dat_len, want);
    assert_memory_equal(w->dev.f->mem + SETTINGS, want, sizeof(want));
    /* After COMMIT the staged image is never pre-erased, nor after the reset (update pending). */
    unsigned ops = dfwt_flash_ops(w->dev.f);
    assert_false(dfw_rx_idle(w->rx));
    world_reboot(w);
    assert_false(dfw_rx_idle(w->rx));
    assert_int_equal(dfwt_flash_ops(w->dev.f), ops);
}

/*
 * START stops idle erasing at once (also while only the init packet has
 * arrived); staging then skips the pages already erased and erases the rest
 * of the image's pages once. ABORT lets the idle pass start over: it erases
 * what the aborted session wrote.
 */
static void test_dfw_rx_idle_stops_when_a_session_starts(void **state)
{
    world_t *w = *state;
    make_quiet(w);
    for (int i = 0; i < 4; i++) {
        assert_true(dfw_rx_idle(w->rx));
    }
    assert_int_equal(w->dev.f->erases, 4);
    reply_t r = send_start(w->h, &w->start);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_INIT, 0, MSG_PHASE_INIT);
    assert_false(dfw_rx_idle(w->rx));
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 0, w->pkg.dat, 10);
    assert_false(dfw_rx_idle(w->rx));
    r = transact(w->h, MSG_DATA, FRAME_OBJ_INIT, 10, w->pkg.dat + 10, w->pkg.dat_len - 10);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, 0, MSG_PHASE_FIRMWARE);
    assert_false(dfw_rx_idle(w->rx));
    assert_int_equal(w->dev.f->erases, 4);
    send_prefix(w, 6 * 2048, 2048); /* pages 0-2 of bank 1 */
    assert_false(dfw_rx_idle(w->rx));
    for (uint32_t p = 0; p < 6; p++) {
        assert_int_equal(w->dev.f->erase_count[BANK1 / PAGE + p], p < 4 ? 1 : 0);
    }
    r = transact(w->h, MSG_ABORT, 0, 0, NULL, 0);
    EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_NONE, 0, MSG_PHASE_IDLE);
    unsigned erases = w->dev.f->erases;
    assert_true(dfw_rx_idle(w->rx)); /* starts over at bank 1: page 0 holds firmware */
    assert_int_equal(w->dev.f->erases, erases + 1);
    assert_int_equal(w->dev.f->erase_count[BANK1 / PAGE], 2);
    idle_all(w);
    for (uint32_t a = BANK1; a < DFU_END; a += PAGE) {
        assert_true(dfwt_page_is_blank(w->dev.f->mem, a));
        /* pages 0-2: idle, then firmware, then idle again; the rest once */
        assert_int_equal(w->dev.f->erase_count[a / PAGE], a < BANK1 + 3 * PAGE ? 2 : 1);
    }
    /* The whole update again: bank 1 is blank, so no page needs erasing. */
    dfwt_flash_forget(w->dev.f);
    full_session(w, 1500, 2);
    for (uint32_t a = 0; a < FLASH_SIZE; a += PAGE) {
        assert_int_equal(w->dev.f->erase_count[a / PAGE], a == SETTINGS ? 1 : 0);
    }
    check_written_once(w);
}

/* The settings say bank 1 is not free, or cannot be read: idle does nothing. */
static void test_dfw_rx_idle_does_nothing_while_update_pending(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint32_t off, value; /* off 0: the CRC itself, left wrong */
    } cases[] = {
        {"bank_current 1 (update pending)", 20, 1},
        {"bank_0 not a valid app", 32, 0},
        {"bank_1 holds an external app", 44, 0xB1},
        {"settings CRC wrong", 0, 0x12345678},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        world_t w;
        world_make(&w);
        if (cases[i].off != 0) {
            dfwt_settings_put(&w.dev, cases[i].off, cases[i].value);
        } else {
            dfwt_put32(w.dev.f->mem + SETTINGS, cases[i].value);
            dfwt_device_snapshot(&w.dev);
        }
        /* Past the quiet time, stale bank-1 pages would be erased: only the settings stop it. */
        make_quiet(&w);
        for (int call = 1; call <= 2; call++) {
            if (dfw_rx_idle(w.rx)) {
                fail_msg("%s: idle call %d reports work", cases[i].what, call);
            }
        }
        check_flash_untouched(&w);
        world_free(&w);
    }
}

/* A frame that arrived since the last poll is answered before any erase. */
static void test_dfw_rx_idle_yields_to_a_queued_frame(void **state)
{
    world_t *w = *state;
    make_quiet(w);
    assert_true(dfw_rx_idle(w->rx));
    unsigned erases = w->dev.f->erases;
    uint16_t seq = host_send(w->h, MSG_HELLO, 0, 0, NULL, 0);
    assert_true(dfw_rx_idle(w->rx)); /* "poll first" */
    assert_int_equal(w->dev.f->erases, erases);
    assert_int_equal(poll_one(w->h), DFW_RX_WORKED);
    reply_t r = pop_reply(w->h);
    assert_int_equal(r.f.seq, seq);
    assert_int_equal(r.f.type, MSG_INFO);
    assert_int_equal(r.info.flags, 0); /* idle work is invisible on the wire */
    assert_true(dfw_rx_idle(w->rx));
    assert_int_equal(w->dev.f->erases, erases + 1);
}

/*
 * Reset during an idle erase: the page is torn (almost blank). After the
 * reboot an update comes first: staging erases the torn page again, skips the
 * pages the idle pass finished, and the image is right.
 */
static void test_dfw_rx_torn_idle_erase_is_erased_by_staging(void **state)
{
    world_t *w = *state;
    make_quiet(w);
    for (int i = 0; i < 5; i++) {
        assert_true(dfw_rx_idle(w->rx));
    }
    uint32_t torn = BANK1 + 5 * PAGE; /* the 6th erase is cut */
    memset(w->dev.f->mem + torn, 0xFF, PAGE);
    w->dev.f->mem[torn + 2049] = 0xDF;
    world_reboot(w);
    dfwt_flash_forget(w->dev.f);
    full_session(w, 2048, 2);
    assert_memory_equal(w->dev.f->mem + BANK1, w->pkg.img.d, w->pkg.img.n);
    uint32_t img_pages_end = BANK1 + ((uint32_t)w->pkg.img.n + PAGE - 1) / PAGE * PAGE;
    for (uint32_t a = BANK1; a < img_pages_end; a += PAGE) {
        assert_int_equal(w->dev.f->erase_count[a / PAGE], a < torn ? 0 : 1);
    }
    check_written_once(w);
}

static void test_dfw_rx_null_arguments_are_harmless(void **state)
{
    (void)state;
    dfw_rx_stats_t s;
    memset(&s, 0xFF, sizeof(s));
    dfw_rx_init(NULL, NULL, NULL, NULL);
    assert_int_equal(dfw_rx_input(NULL, (const uint8_t *)"x", 1), 0);
    assert_int_equal(dfw_rx_poll(NULL), DFW_RX_IDLE);
    dfw_rx_tick(NULL, 0);
    assert_false(dfw_rx_idle(NULL));
    dfw_rx_get_stats(NULL, &s);
    assert_int_equal(s.frames + s.replies, 0);
    assert_int_equal(dfw_rx_phase(NULL), MSG_PHASE_IDLE);
    world_t w;
    world_make(&w);
    assert_int_equal(dfw_rx_input(w.rx, NULL, 5), 0);
    assert_int_equal(dfw_rx_poll(w.rx), DFW_RX_IDLE);
    world_free(&w);
}

/*
 * Bank 1 of a fresh world (stale bytes) with, for each put, `n` pages of an
 * image (NULL: the running app_s132) from its page `first` at bank 1's page
 * `at`; or with `sent_pages` pages of v2 sent over the protocol, then cut.
 */
typedef struct {
    const char *what;
    struct {
        const char *img;
        uint32_t first, n, at;
    } put[2];
    uint32_t sent_pages;
    int erase_first; /* pre-erased at once, from this bank-1 page; -1: kept */
} layout_case_t;

static void layout_make(world_t *w, const layout_case_t *c)
{
    world_make(w);
    for (size_t i = 0; i < 2 && c->put[i].n > 0; i++) {
        dfwt_blob_t img = dfwt_image(c->put[i].img != NULL ? c->put[i].img : "app_s132");
        dfwt_put_pages(&w->dev, BANK1 + c->put[i].at * PAGE, &img, c->put[i].first, c->put[i].n);
        dfwt_blob_free(&img);
    }
    if (c->sent_pages > 0) {
        start_and_dat(w);
        send_prefix(w, c->sent_pages * PAGE, 2048);
        world_reboot(w); /* the power cut */
    }
    dfwt_flash_forget(w->dev.f);
    memcpy(w->dev.before, w->dev.f->mem, FLASH_SIZE);
    dfw_rx_tick(w->rx, 1000u);
    dfw_rx_tick(w->rx, 1000u + (DFW_RX_DISCARD_S - 1u) * 1000u); /* not yet quiet enough */
}

/* dfw_rx_idle() until it erases a page or says done; the bank-1 page erased, or -1. */
static int idle_first_erase(world_t *w)
{
    unsigned calls = 0;
    while (w->dev.f->erases == 0 && dfw_rx_idle(w->rx)) {
        assert_true(++calls <= 2 * 13 + (DFU_END - BANK1) / PAGE + 4); /* the scan's steps */
    }
    assert_int_equal(w->dev.f->writes, 0);
    for (uint32_t a = BANK1; a < DFU_END && w->dev.f->erases == 1; a += PAGE) {
        if (w->dev.f->erase_count[a / PAGE] == 1) {
            return (int)((a - BANK1) / PAGE);
        }
    }
    assert_int_equal(w->dev.f->erases, 0);
    return -1;
}

/*
 * What an activation leaves in bank 1 (a copy of the running image; the
 * staged copy's tail after the image grew; the staged copy higher up after
 * it shrank, which goes first) is pre-erased at once. An update interrupted
 * by a power cut survives until the host has been silent for
 * DFW_RX_DISCARD_S, also when it starts with the running image's page 0, and
 * the host can RESUME it meanwhile.
 */
static void test_dfw_rx_idle_keeps_an_interrupted_update(void **state)
{
    (void)state;
    static const layout_case_t cases[] = {
        {"stale bytes", {{NULL, 0, 0, 0}}, 0, -1},
        {"v2 sent up to page 3, then cut", {{NULL, 0, 0, 0}}, 3, -1},
        {"the running image's page 0, then another build's",
         {{NULL, 0, 1, 0}, {"app_large", 1, 4, 1}},
         0,
         -1},
        {"a copy of the running image", {{NULL, 0, 13, 0}}, 0, 0},
        {"grown by 5 pages: the running image's pages 5-12", {{NULL, 5, 8, 0}}, 0, 0},
        {"shrunk by 7 pages: the running image at page 7", {{NULL, 0, 13, 7}}, 0, 7},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const layout_case_t *c = &cases[i];
        world_t w;
        layout_make(&w, c);
        int got = idle_first_erase(&w);
        if (got != c->erase_first) {
            fail_msg("%s: first erase at bank-1 page %d, want %d", c->what, got, c->erase_first);
        }
        if (got < 0) {
            assert_false(dfw_rx_idle(w.rx)); /* settled: waits for the quiet time */
            assert_int_equal(dfwt_flash_ops(w.dev.f), 0);
            assert_memory_equal(w.dev.f->mem, w.dev.before, FLASH_SIZE);
        }
        if (c->sent_pages > 0) { /* its bytes are still there for RESUME */
            start_and_dat(&w);
            uint32_t n = c->sent_pages * PAGE;
            reply_t r = send_resume(w.h, n, crc32_compute(w.pkg.img.d, n));
            EXPECT_STATUS(r, MSG_OK, FRAME_OBJ_FW, n, MSG_PHASE_FIRMWARE);
            world_reboot(&w);
            dfw_rx_tick(w.rx, 1000u);
        }
        dfw_rx_tick(w.rx, 1000u + DFW_RX_DISCARD_S * 1000u);
        idle_all(&w);
        for (uint32_t a = BANK1; a < DFU_END; a += PAGE) {
            assert_true(dfwt_page_is_blank(w.dev.f->mem, a));
        }
        world_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        WORLD_TEST(test_dfw_rx_session_in_whole_frames_stages_like_dfw_stage),
        WORLD_TEST(test_dfw_rx_session_byte_by_byte),
        cmocka_unit_test(test_dfw_rx_session_random_chunkings),
        cmocka_unit_test(test_dfw_rx_session_with_two_frames_in_flight),
        WORLD_TEST(test_dfw_rx_duplicates_and_overlaps_are_harmless),
        WORLD_TEST(test_dfw_rx_gap_answers_wrong_offset_then_recovers),
        WORLD_TEST(test_dfw_rx_gap_in_init_packet_answers_wrong_offset),
        WORLD_TEST(test_dfw_rx_garbage_and_cut_frames_resync),
        WORLD_TEST(test_dfw_rx_idle_tick_cuts_a_stalled_partial_frame),
        WORLD_TEST(test_dfw_rx_frames_beyond_buffers_are_dropped_then_retransmitted),
        cmocka_unit_test_setup_teardown(test_dfw_rx_too_large_image_is_refused_without_flash_writes,
                                        world_setup_large, world_teardown),
        cmocka_unit_test_setup_teardown(test_dfw_rx_bootloader_package_is_unsupported_type,
                                        world_setup_bootloader, world_teardown),
        WORLD_TEST(test_dfw_rx_corrupt_settings_crc_is_settings_invalid),
        WORLD_TEST(test_dfw_rx_dat_crc_mismatch_restarts_the_init_packet),
        WORLD_TEST(test_dfw_rx_bin_crc_mismatch_drops_the_session),
        WORLD_TEST(test_dfw_rx_same_start_after_link_loss_keeps_progress),
        WORLD_TEST(test_dfw_rx_different_start_begins_a_new_session),
        WORLD_TEST(test_dfw_rx_device_reset_resumes_from_page_boundary),
        WORLD_TEST(test_dfw_rx_resume_with_wrong_crc_restarts_from_zero),
        WORLD_TEST(test_dfw_rx_commit_before_complete_is_incomplete),
        WORLD_TEST(test_dfw_rx_after_commit_device_waits_for_reset),
        WORLD_TEST(test_dfw_rx_info_reports_the_device),
        WORLD_TEST(test_dfw_rx_hal_write_failure_is_flash_fault),
        WORLD_TEST(test_dfw_rx_unknown_type_and_bad_length_are_bad_request),
        WORLD_TEST(test_dfw_rx_hello_of_other_version_gets_bad_version),
        WORLD_TEST(test_dfw_rx_abort_forgets_the_session),
        WORLD_TEST(test_dfw_rx_buffer_is_free_before_the_reply_leaves),
        WORLD_TEST(test_dfw_rx_lost_reply_is_counted_and_retransmit_is_duplicate),
        WORLD_TEST(test_dfw_rx_idle_pre_erases_bank1_then_update_skips_erases),
        WORLD_TEST(test_dfw_rx_idle_stops_when_a_session_starts),
        cmocka_unit_test(test_dfw_rx_idle_keeps_an_interrupted_update),
        cmocka_unit_test(test_dfw_rx_idle_does_nothing_while_update_pending),
        WORLD_TEST(test_dfw_rx_idle_yields_to_a_queued_frame),
        WORLD_TEST(test_dfw_rx_torn_idle_erase_is_erased_by_staging),
        cmocka_unit_test(test_dfw_rx_null_arguments_are_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
