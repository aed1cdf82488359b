/*
 * The real `dfuart update` against a scripted device that answers badly:
 * silence, noise, refusals, impossible INFO, a hang-up, no return after
 * COMMIT, a rejected update. The device is a child process speaking the
 * wire protocol (proto/frame.h, proto/msg.h) on the master of a pty whose
 * slave is the host's --port, so the whole host path runs: transport,
 * session, exit code and the one stderr line. Each case carries the id of
 * its row in the README's "Bad inputs" table.
 *
 * The device is deliberately small: it keeps offsets as proto/PROTOCOL.md
 * says and has no flash. A clean run first proves it completes an update,
 * so every refusal below is the scripted fault and not a broken fake.
 */
#define _DEFAULT_SOURCE /* kill, usleep */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "proto/crc32.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "ptyport.h"
#include "run.h"

/* 124-byte image, one page, fw_version 4: every case runs in about a second. */
#define TINY      FIX_NRFUTIL "/packages/app_signed_tiny.zip"
#define TINY_SIZE 124u
#define OLD_APP   1u
#define BIN_MAX   4096u

enum { DX_OK = 0, DX_IOERR = 74, DX_TEMPFAIL = 75, DX_PROTOCOL = 76, DX_REJECTED = 82 };

/* ---- the scripted device ------------------------------------------------------------- */

typedef struct {
    bool silent;            /* answers nothing at all */
    bool noise;             /* answers HELLO with bytes that decode to no frame */
    uint8_t info_status;    /* INFO's header status (SETTINGS_INVALID, ...) */
    uint8_t window;         /* INFO's window */
    uint32_t max_image;     /* INFO's max_image */
    uint8_t start_status;   /* START is answered with this status */
    uint8_t data_status;    /* firmware DATA is answered with this status ... */
    int16_t data_detail;    /* ... and this detail */
    bool mute_on_firmware;  /* silent from the first firmware DATA on */
    bool hangup_on_start;   /* closes the line when START arrives */
    bool gone_after_commit; /* never answers again after COMMIT */
    bool stuck_pending;     /* after COMMIT, INFO says "update pending" for ever */
    bool reject;            /* after COMMIT the bootloader keeps the old application */
    unsigned retries;       /* the host's --retries: slack for a loaded machine, except B33 */
} script_t;

static const script_t clean = {.window = 2, .max_image = 0x40000u, .retries = 5};

typedef struct {
    const script_t *sc;
    int fd, slave, report;
    bool session, committed, muted;
    uint8_t phase;
    msg_start_t start;
    uint32_t dat_next, bin_next, app_version, bank0_size, bank0_crc;
    uint8_t bin[BIN_MAX];
} device_t;

static void send_bytes(device_t *d, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(d->fd, p, n);
        if (w < 0 && errno != EINTR && errno != EAGAIN)
            _exit(3);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
}

static void send_frame(device_t *d, uint8_t type, uint8_t status, uint16_t seq, const uint8_t *p,
                       uint16_t len)
{
    frame_t f = {type, status, FRAME_OBJ_NONE, seq, 0, len, p};
    uint8_t wire[FRAME_WIRE_LEN(FRAME_HDR_LEN + MSG_INFO_LEN + FRAME_CRC_LEN)];
    size_t n = 0;
    if (frame_encode(&f, wire, sizeof(wire), &n) != FRAME_OK)
        _exit(4);
    send_bytes(d, wire, n);
}

static void reply_info(device_t *d, uint16_t seq)
{
    msg_info_t i = {
        .max_payload = 512,
        .window = d->sc->window,
        .flags = (uint8_t)((d->session ? MSG_INFO_SESSION : 0) |
                           (d->committed && d->sc->stuck_pending ? MSG_INFO_UPDATE_PENDING : 0)),
        .app_version = d->app_version,
        .bank0_size = d->bank0_size,
        .bank0_crc = d->bank0_crc,
        .bank1_addr = 0x27000u,
        .max_image = d->sc->max_image,
        .flash_size = 0x80000u,
        .page_size = 4096u};
    uint8_t p[MSG_INFO_LEN];
    msg_info_pack(&i, p);
    send_frame(d, MSG_INFO, d->sc->info_status, seq, p, MSG_INFO_LEN);
}

static void reply_status(device_t *d, uint16_t seq, uint8_t status, int16_t detail)
{
    msg_status_body_t b = {d->phase,         2,
                           detail,           d->dat_next,
                           d->bin_next,      crc32_compute(d->bin, d->bin_next),
                           d->start.dat_len, d->start.bin_len};
    uint8_t p[MSG_STATUS_LEN];
    msg_status_pack(&b, p);
    send_frame(d, MSG_STATUS, status, seq, p, MSG_STATUS_LEN);
}

static void on_hello(device_t *d, const frame_t *f)
{
    static const uint8_t noise[] = "AT+CSQ\r\n+CSQ: 17,99\r\nOK\r\n\x00\x55\xAA\x01\x00";
    if (d->committed && d->sc->gone_after_commit)
        return;
    if (d->sc->noise)
        send_bytes(d, noise, sizeof(noise));
    else
        reply_info(d, f->seq);
}

static void on_start(device_t *d, const frame_t *f)
{
    if (d->sc->hangup_on_start) { /* the far end of the line goes away */
        close(d->fd);
        close(d->slave);
        _exit(0);
    }
    if (d->sc->start_status != MSG_OK || f->len != MSG_START_LEN) {
        reply_status(d, f->seq, f->len != MSG_START_LEN ? MSG_BAD_REQUEST : d->sc->start_status, 0);
        return;
    }
    msg_start_unpack(f->payload, &d->start);
    d->session = true;
    d->phase = MSG_PHASE_INIT;
    d->dat_next = d->bin_next = 0;
    reply_status(d, f->seq, d->start.bin_len > BIN_MAX ? MSG_TOO_LARGE : MSG_OK, 0);
}

static void on_data(device_t *d, const frame_t *f)
{
    bool fw = f->object == FRAME_OBJ_FW;
    if (fw && d->sc->mute_on_firmware)
        d->muted = true;
    if (d->muted)
        return;
    if (fw && d->sc->data_status != MSG_OK) {
        reply_status(d, f->seq, d->sc->data_status, d->sc->data_detail);
        return;
    }
    uint32_t *next = fw ? &d->bin_next : &d->dat_next;
    uint32_t total = fw ? d->start.bin_len : d->start.dat_len;
    if (f->offset != *next || f->len > total - *next ||
        d->phase != (fw ? MSG_PHASE_FIRMWARE : MSG_PHASE_INIT)) {
        reply_status(d, f->seq, MSG_WRONG_OFFSET, 0);
        return;
    }
    if (fw)
        memcpy(d->bin + *next, f->payload, f->len);
    *next += f->len;
    if (!fw && d->dat_next >= d->start.dat_len)
        d->phase = MSG_PHASE_FIRMWARE;
    if (fw && d->bin_next >= d->start.bin_len)
        d->phase = MSG_PHASE_READY;
    reply_status(d, f->seq, MSG_OK, 0);
}

/* Bank 1 holds nothing of ours: every claim is a CRC mismatch, continue from 0. */
static void on_resume(device_t *d, const frame_t *f)
{
    d->bin_next = 0;
    reply_status(d, f->seq, d->phase == MSG_PHASE_FIRMWARE ? MSG_CRC_MISMATCH : MSG_NO_SESSION, 0);
}

/* The reply leaves, then the device "restarts" through the bootloader. */
static void on_commit(device_t *d, const frame_t *f)
{
    if (d->phase != MSG_PHASE_READY) {
        reply_status(d, f->seq, MSG_INCOMPLETE, 0);
        return;
    }
    d->phase = MSG_PHASE_COMMITTED;
    reply_status(d, f->seq, MSG_OK, 0);
    d->session = false;
    d->committed = true;
    d->phase = MSG_PHASE_IDLE;
    if (!d->sc->reject) {
        d->app_version = 4; /* the package's fw_version */
        d->bank0_size = d->start.bin_len;
        d->bank0_crc = d->start.bin_crc;
    }
}

static void on_frame(device_t *d, const frame_t *f)
{
    uint8_t type = f->type;
    if (write(d->report, &type, 1) != 1) /* what the device saw, for the test to check */
        _exit(5);
    if (d->sc->silent)
        return;
    if (type == MSG_HELLO)
        on_hello(d, f);
    else if (type == MSG_START)
        on_start(d, f);
    else if (type == MSG_DATA)
        on_data(d, f);
    else if (type == MSG_RESUME)
        on_resume(d, f);
    else if (type == MSG_COMMIT)
        on_commit(d, f);
    else if (type == MSG_QUERY && !d->muted)
        reply_status(d, f->seq, MSG_OK, 0);
}

/* The child's whole life: decode what the host sends, answer per script. Never returns. */
static void device_run(const script_t *sc, int fd, int slave, int report)
{
    static device_t d;
    d = (device_t){.sc = sc, .fd = fd, .slave = slave, .report = report};
    d.app_version = OLD_APP;
    d.bank0_size = 50016u;
    d.bank0_crc = 0x12345678u;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    uint8_t buf[FRAME_MAX_PACKET], in[4096];
    frame_decoder_t dec;
    frame_decoder_init(&dec, buf, sizeof(buf));
    for (;;) {
        ssize_t n = read(fd, in, sizeof(in));
        if (n < 0 && errno != EINTR && errno != EIO)
            _exit(2);
        for (size_t pos = 0; n > 0 && pos < (size_t)n;) {
            size_t used = 0;
            frame_t f;
            frame_result_t fr = frame_decoder_push(&dec, in + pos, (size_t)n - pos, &used, &f);
            pos += used;
            if (fr == FRAME_READY)
                on_frame(&d, &f);
            if (fr == FRAME_NEED_MORE || used == 0)
                break;
        }
    }
}

/* ---- running the host against it ------------------------------------------------------ */

typedef struct {
    run_result_t r;
    char port[64];
    uint32_t seen[256]; /* frames the device received, by type */
} outcome_t;

static void reap(pid_t pid, int report, outcome_t *o)
{
    kill(pid, SIGKILL);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0) /* 0: it hung up on purpose */
        fail_msg("the scripted device failed (exit %d)", WEXITSTATUS(st));
    uint8_t t;
    while (read(report, &t, 1) == 1)
        o->seen[t]++;
    close(report);
}

/* `dfuart update TINY --port PTY --timeout 1 --retries N` against a device playing `sc`. */
static void update_against(const script_t *sc, outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    ptyport_t pty;
    int report[2];
    assert_int_equal(ptyport_open(&pty), 0);
    assert_int_equal(pipe(report), 0);
    snprintf(o->port, sizeof(o->port), "%s", pty.name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(report[0]);
        device_run(sc, pty.master, pty.slave, report[1]);
    }
    close(report[1]);
    ptyport_close(&pty); /* the device holds both ends now */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s update %s --port %s --timeout 1 --retries %u", DFUART_BIN, TINY,
             o->port, sc->retries);
    assert_int_equal(run_cmd(cmd, &o->r), 0);
    reap(pid, report[0], o);
}

/* README row `row`: exit `code` and one stderr line of `shape`, where PORT is the pty. */
__attribute__((format(printf, 4, 5))) static void expect_line(outcome_t *o, const char *row,
                                                              int code, const char *fmt, ...)
{
    char tail[400], shape[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof(tail), fmt, ap);
    va_end(ap);
    snprintf(shape, sizeof(shape), "dfuart: %s: %s", o->port, tail);
    if (o->r.status != code || !run_one_line_like(o->r.err, shape))
        fail_msg("%s: want exit %d and one line like \"%s\"; got exit %d, stderr \"%s\"", row, code,
                 shape, o->r.status, o->r.err);
    run_free(&o->r);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_badreply_clean_device_completes_update(void **state)
{
    (void)state;
    outcome_t o;
    update_against(&clean, &o);
    if (o.r.status != DX_OK || o.r.err[0] != '\0')
        fail_msg("the clean device should take the update: exit %d, stderr \"%s\"", o.r.status,
                 o.r.err);
    assert_int_equal(o.seen[MSG_COMMIT], 1);
    run_free(&o.r);
}

static void test_badreply_no_answer(void **state)
{
    (void)state;
    script_t silent = clean, noise = clean;
    silent.silent = true;
    noise.noise = true;
    const script_t *scripts[] = {&silent, &noise};
    for (size_t i = 0; i < 2; i++) {
        outcome_t o;
        update_against(scripts[i], &o);
        assert_true(o.seen[MSG_HELLO] >= 2); /* HELLO repeats until the timeout */
        assert_int_equal(o.seen[MSG_START], 0);
        expect_line(&o, "B29", DX_TEMPFAIL,
                    "no answer to HELLO within 1000 ms (is the dfuart receiver running, at this "
                    "baud?)");
    }
}

static void test_badreply_device_refuses(void **state)
{
    (void)state;
    outcome_t o;
    script_t sc = clean;
    sc.info_status = MSG_SETTINGS_INVALID;
    update_against(&sc, &o);
    assert_int_equal(o.seen[MSG_START], 0);
    expect_line(&o, "B30", DX_PROTOCOL, "device refused HELLO: SETTINGS_INVALID: %s",
                msg_status_text(MSG_SETTINGS_INVALID));
    sc = clean;
    sc.start_status = MSG_TOO_LARGE;
    update_against(&sc, &o);
    assert_int_equal(o.seen[MSG_DATA], 0);
    expect_line(&o, "B30", DX_PROTOCOL, "device refused START: TOO_LARGE: %s",
                msg_status_text(MSG_TOO_LARGE));
    sc = clean;
    sc.data_status = MSG_FLASH_FAULT;
    sc.data_detail = -5;
    update_against(&sc, &o);
    assert_int_equal(o.seen[MSG_COMMIT], 0);
    expect_line(&o, "B30", DX_PROTOCOL, "device refused DATA: FLASH_FAULT: %s (device detail -5)",
                msg_status_text(MSG_FLASH_FAULT));
}

static void test_badreply_info_makes_no_sense(void **state)
{
    (void)state;
    outcome_t o;
    script_t sc = clean;
    sc.window = 0;
    update_against(&sc, &o);
    assert_int_equal(o.seen[MSG_START], 0);
    expect_line(&o, "B31", DX_PROTOCOL, "device reports max_payload 512, window 0");
}

static void test_badreply_image_over_max_image_sends_nothing(void **state)
{
    (void)state;
    outcome_t o;
    script_t sc = clean;
    sc.max_image = TINY_SIZE - 1u;
    update_against(&sc, &o);
    for (int t = 0; t < 256; t++) /* nothing but HELLO reached the device */
        if (t != MSG_HELLO && o.seen[t])
            fail_msg("B32: the device received %u frame(s) of type 0x%02X", o.seen[t], t);
    expect_line(&o, "B32", DX_PROTOCOL,
                "application is 124 bytes but the device's bank 1 holds at most 123 (TOO_LARGE); "
                "nothing was sent");
}

static void test_badreply_silent_mid_transfer_spends_retries(void **state)
{
    (void)state;
    outcome_t o;
    script_t sc = clean;
    sc.mute_on_firmware = true;
    sc.retries = 0; /* the first silence is the last */
    update_against(&sc, &o);
    assert_int_equal(o.seen[MSG_COMMIT], 0);
    expect_line(&o, "B33", DX_IOERR,
                "gave up after 1 consecutive failures without progress: no reply to DATA @0 "
                "within * ms");
}

static void test_badreply_hang_up(void **state)
{
    (void)state;
    outcome_t o;
    script_t sc = clean;
    sc.hangup_on_start = true;
    update_against(&sc, &o);
    expect_line(&o, "B34", DX_IOERR, "hang-up (the other end closed the port)");
}

static void test_badreply_no_return_after_commit(void **state)
{
    (void)state;
    outcome_t o;
    script_t sc = clean;
    sc.gone_after_commit = true;
    update_against(&sc, &o);
    assert_int_equal(o.seen[MSG_COMMIT], 1);
    /* --timeout 1 s plus 200 ms for the one page the bootloader copies */
    expect_line(&o, "B35", DX_TEMPFAIL, "device did not come back within 1200 ms of COMMIT");
    sc = clean;
    sc.stuck_pending = true; /* answers, but the bootloader never gets to run */
    update_against(&sc, &o);
    expect_line(&o, "B35", DX_TEMPFAIL,
                "device did not come back within 1200 ms of COMMIT (it still reports the update "
                "pending)");
}

static void test_badreply_bootloader_rejects(void **state)
{
    (void)state;
    outcome_t o;
    script_t sc = clean;
    sc.reject = true;
    update_against(&sc, &o);
    assert_int_equal(o.seen[MSG_COMMIT], 1);
    expect_line(&o, "B36", DX_REJECTED,
                "the bootloader rejected the update (device still runs version 1)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_badreply_clean_device_completes_update),
        cmocka_unit_test(test_badreply_no_answer),
        cmocka_unit_test(test_badreply_device_refuses),
        cmocka_unit_test(test_badreply_info_makes_no_sense),
        cmocka_unit_test(test_badreply_image_over_max_image_sends_nothing),
        cmocka_unit_test(test_badreply_silent_mid_transfer_spends_retries),
        cmocka_unit_test(test_badreply_hang_up),
        cmocka_unit_test(test_badreply_no_return_after_commit),
        cmocka_unit_test(test_badreply_bootloader_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
