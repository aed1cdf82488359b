/*
 * fuzz_dfw_rx.c - the device-side receiver (device_fw/dfw_rx.h) driven by an
 * arbitrary script of link bytes, polls, clock ticks and RAM resets, on a
 * realistic emulated nRF52832 (fuzz_device.h: S132, app_s132 v1, booted).
 *
 * The device is built once per process; its flash is snapshotted and
 * restored with flash_load_raw() before each run (protection and counters
 * stay as the boot left them). After a run that booted the device, the
 * snapshot is restored and booted again so the next run starts from the same
 * protection state.
 *
 * Input: a sequence of ops (fuzz_dfw_rx.h); `op & 15` selects, the high bits
 * modify. Frame ops encode a request with frame_encode() so the fuzzer does
 * not have to find CRCs; RAW feeds wire bytes as they are (the receiver's
 * decoder sees cut frames, noise, foreign versions). Frame ops with bit 6
 * flip one wire byte, with bit 7 lose the delimiter. For DATA/START/RESUME,
 * bit 4 picks the package (0 app_signed_tiny, 1 app_signed_v2) and the
 * payload is taken from it, so a short script can run a whole session; bit 5
 * perturbs START/RESUME values. IDLE runs the idle pre-erase of bank 1 as a
 * main loop with nothing to do would. POWER_CUT arms a flash power cut; when it
 * fires the device reboots (bootloader replay) and the script goes on, as a
 * host reconnecting would. A successful COMMIT reboots the device too. At
 * the end every queued frame is polled.
 *
 * Invariants:
 *  - every reply decodes as exactly one frame: version 1, INFO (32 bytes) or
 *    STATUS (24 bytes), a known status other than INTERNAL; INFO of a healthy
 *    device reports its real layout; STATUS offsets are consistent, and an
 *    acknowledged, word-aligned firmware offset is durable: the CRC-32 of
 *    bank 1 in flash over [0, bin_next) is STATUS's bin_crc;
 *  - between boots the flash model logs no fault, every word programmed was
 *    erased before (no overwrite, no lost bit), and nothing changes outside
 *    bank 1 [bank 1, app data) and the settings page;
 *  - a successful COMMIT leaves a valid settings page with bank_current = 1;
 *  - after COMMIT or a power cut at any flash operation (receiver or
 *    bootloader), the bootloader replay starts an application - never DFU
 *    mode, never a fault: the device is not bricked - and that application
 *    really passes boot validation.
 */
#include <zlib.h>

#include "device_fw/dfw_rx.h"
#include "emulator/bl_settings.h"
#include "emulator/emu_hal.h"
#include "fuzz_device.h"
#include "fuzz_dfw_rx.h"
#include "proto/crc32.h"

static emu_device_t *dev;
static uint8_t *snapshot; /* the device as built: every run starts from it */
static uint8_t *base;     /* the flash since the last boot: what the receiver may change */
static uint32_t flash_size, bank1, app_data, settings;
static bool dirty;           /* a boot changed protection: restore and boot before the next run */
static flash_stats_t stats0; /* flash counters at the start of the run */
static fuzz_pkg_t pkgs[2];
static uint32_t dat_crc[2], bin_crc[2]; /* START's values, computed once */

static emu_hal_t hal_ctx;
static dfw_hal_t hal;
static dfw_layout_t layout;
static dfw_rx_t rx;
static uint8_t *dec_buf;
static bool verbose; /* FUZZ_VERBOSE=1: print every reply and boot (to follow one input) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dev = fuzz_device_new();
    flash_size = flash_chip(dev->flash)->size;
    snapshot = malloc(flash_size);
    base = malloc(flash_size);
    dec_buf = malloc(FRAME_MAX_PACKET);
    FUZZ_CHECK(snapshot && base && dec_buf, "out of memory");
    memcpy(snapshot, flash_bytes(dev->flash), flash_size);
    settings = dev->cfg.settings_addr;
    app_data = fuzz_app_data_start(dev);
    emu_hal_init(&hal_ctx, dev, emu_hal_app_actor(dev), &hal);
    emu_hal_layout(dev, &layout);
    fuzz_pkg_load(&pkgs[0], "app_signed_tiny.zip", "app_tiny.bin");
    fuzz_pkg_load(&pkgs[1], "app_signed_v2.zip", "app_v2.bin");
    for (int i = 0; i < 2; i++) {
        dat_crc[i] = crc32_compute(pkgs[i].dat, pkgs[i].dat_len);
        bin_crc[i] = crc32_compute(pkgs[i].bin, pkgs[i].bin_len);
    }
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    return 0;
}

/* ------------------------------------------------------------- reply checks */

static void check_info(const frame_t *f)
{
    msg_info_t m;
    msg_info_unpack(f->payload, &m);
    FUZZ_CHECK(m.max_payload == FRAME_MAX_PAYLOAD && m.window == DFW_RX_BUFFERS &&
                   m.flash_size == flash_size && m.page_size == DFW_PAGE_SIZE,
               "INFO: max_payload %u window %u flash %u page %u", m.max_payload, m.window,
               m.flash_size, m.page_size);
    FUZZ_CHECK(f->payload[31] == 0, "INFO reserved byte %u", f->payload[31]);
    if (f->status == MSG_OK)
        FUZZ_CHECK(m.bank1_addr == bank1 && m.max_image == app_data - bank1,
                   "INFO: bank 1 at 0x%X (+%u), expected 0x%X (+%u)", m.bank1_addr, m.max_image,
                   bank1, app_data - bank1);
}

static void check_status(const frame_t *f)
{
    msg_status_body_t b;
    msg_status_unpack(f->payload, &b);
    FUZZ_CHECK(b.phase <= MSG_PHASE_FAILED && b.window == DFW_RX_BUFFERS, "STATUS phase %u win %u",
               b.phase, b.window);
    FUZZ_CHECK(b.dat_next <= b.dat_len && b.bin_next <= b.bin_len, "STATUS: dat %u/%u, bin %u/%u",
               b.dat_next, b.dat_len, b.bin_next, b.bin_len);
    if (f->object == FRAME_OBJ_INIT)
        FUZZ_CHECK(f->offset == b.dat_next && b.phase == MSG_PHASE_INIT,
                   "STATUS: init offset %u, dat_next %u, phase %u", f->offset, b.dat_next, b.phase);
    else if (f->object == FRAME_OBJ_FW)
        FUZZ_CHECK(f->offset == b.bin_next, "STATUS: firmware offset %u, bin_next %u", f->offset,
                   b.bin_next);
    else
        FUZZ_CHECK(f->object == FRAME_OBJ_NONE && f->offset == 0 && b.bin_next == 0,
                   "STATUS: object %u offset %u bin_next %u", f->object, f->offset, b.bin_next);
    if (b.phase == MSG_PHASE_READY || b.phase == MSG_PHASE_COMMITTED)
        FUZZ_CHECK(b.bin_next == b.bin_len && b.bin_len > 0, "STATUS: phase %u at %u of %u",
                   b.phase, b.bin_next, b.bin_len);
    bool staging = b.phase == MSG_PHASE_FIRMWARE || b.phase == MSG_PHASE_READY;
    if (staging && b.bin_next % 4 == 0) { /* acknowledged bytes are in flash (PROTOCOL.md §3) */
        /* zlib: the same CRC-32, uninstrumented and fast (this runs on every STATUS) */
        uint32_t crc = (uint32_t)crc32(0L, flash_bytes(dev->flash) + bank1, b.bin_next);
        FUZZ_CHECK(crc == b.bin_crc, "STATUS acknowledges %u bytes (CRC %08X), bank 1 holds %08X",
                   b.bin_next, b.bin_crc, crc);
    }
}

/* link->tx: each reply must be one well-formed frame. */
static int check_reply(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    uint8_t *wire = fuzz_dup(data, len);
    frame_decoder_t d;
    frame_decoder_init(&d, dec_buf, FRAME_MAX_PACKET);
    size_t used = 0;
    frame_t f;
    frame_result_t r = frame_decoder_push(&d, wire, len, &used, &f);
    FUZZ_CHECK(r == FRAME_READY && used == len, "reply of %zu bytes decodes as %s after %zu", len,
               frame_result_name(r), used);
    FUZZ_CHECK(dec_buf[0] == FRAME_VERSION, "reply version %u", dec_buf[0]);
    FUZZ_CHECK(f.status <= MSG_INTERNAL, "reply status %u", f.status);
    FUZZ_CHECK(f.status != MSG_INTERNAL, "device reports an internal error (detail in STATUS)");
    if (verbose)
        fprintf(stderr, "reply seq %u %s status %s object %u offset %u phase %s\n", f.seq,
                msg_type_name(f.type), msg_status_name(f.status), f.object, f.offset,
                f.type == MSG_STATUS ? msg_phase_name(f.payload[0]) : "-");
    if (f.type == MSG_INFO) {
        FUZZ_CHECK(f.len == MSG_INFO_LEN, "INFO of %u bytes", f.len);
        check_info(&f);
    } else {
        FUZZ_CHECK(f.type == MSG_STATUS && f.len == MSG_STATUS_LEN, "reply type 0x%02X len %u",
                   f.type, f.len);
        check_status(&f);
    }
    free(wire);
    return 0;
}

static const dfw_link_t link_ = {NULL, check_reply};

/* ---------------------------------------------------------------- the run */

typedef struct {
    fuzz_in_t in;
    uint32_t now;
    uint16_t seq;
    uint8_t chunk;
} run_t;

static void input(run_t *r, const uint8_t *bytes, size_t n)
{
    size_t step = r->chunk ? r->chunk : (n ? n : 1);
    for (size_t off = 0; off < n; off += step) {
        size_t len = n - off < step ? n - off : step;
        uint8_t *copy = fuzz_dup(bytes + off, len); /* exact size: over-reads are reported */
        FUZZ_CHECK(dfw_rx_input(&rx, copy, len) == len, "input() did not take every byte");
        free(copy);
    }
}

/* The adapter refused nothing: the receiver stayed in bank 1 and the settings page. */
static void check_fence(void)
{
    char fence[256];
    emu_fence_format(&hal_ctx.fence, fence, sizeof(fence));
    FUZZ_CHECK(hal_ctx.fence.hits == 0, "write fence: %s", fence);
}

/* A new baseline after a boot: flash bytes, counters, where bank 1 now starts, the fence. */
static void rebase(void)
{
    check_fence();
    emu_fence_of(dev, &hal_ctx.fence); /* what the bootloader now gives the application */
    memcpy(base, flash_bytes(dev->flash), flash_size);
    flash_get_stats(dev->flash, &stats0);
    bl_settings_t s;
    bl_settings_decode(base + settings, &s);
    bank1 = emu_bank1_start(dev, s.bank_0.image_size);
}

/* The flash as the receiver may leave it: only bank 1 and the settings page changed. */
static void check_receiver_flash(void)
{
    fuzz_check_no_fault(dev, "receiver");
    check_fence();
    /* Every word programmed was erased first (a page is erased before its first byte). */
    flash_stats_t st;
    flash_get_stats(dev->flash, &st);
    FUZZ_CHECK(st.overwrites == stats0.overwrites && st.lost_bits == stats0.lost_bits,
               "receiver programmed %llu word(s) that were not erased (%llu lost bits)",
               (unsigned long long)(st.overwrites - stats0.overwrites),
               (unsigned long long)(st.lost_bits - stats0.lost_bits));
    uint32_t a = fuzz_first_change(base, dev, 0, bank1);
    if (a == UINT32_MAX)
        a = fuzz_first_change(base, dev, app_data, settings);
    if (a == UINT32_MAX)
        a = fuzz_first_change(base, dev, settings + EMU_PAGE, flash_size);
    FUZZ_CHECK(a == UINT32_MAX, "receiver changed flash at 0x%05X (outside bank 1 and settings)",
               a);
}

/*
 * The chip resets (COMMIT, or power back after a cut): the bootloader runs, again if power
 * is lost during it, and must always start a valid application - whatever the receiver
 * did or was doing, the device is never bricked. Then the app starts the receiver afresh.
 */
static void reboot(const char *why)
{
    bl_boot_report_t rep;
    for (int i = 0; i < 4; i++) {
        bl_boot_run(dev, &rep);
        if (verbose)
            fprintf(stderr, "boot after %s: %s, update %s%s%s\n", why, bl_state_name(rep.state),
                    bl_update_name(rep.update), rep.reason ? ": " : "",
                    rep.reason ? rep.reason : "");
        if (rep.state != BL_STATE_POWER_LOST)
            break;
    }
    fuzz_check_no_fault(dev, "bootloader");
    flash_stats_t st;
    flash_get_stats(dev->flash, &st);
    FUZZ_CHECK(st.lost_bits == stats0.lost_bits, "bootloader programmed bits it cannot hold");
    FUZZ_CHECK(rep.state == BL_STATE_APP, "after %s the device boots to %s (update %s: %s)", why,
               bl_state_name(rep.state), bl_update_name(rep.update),
               rep.reason ? rep.reason : rep.note);
    fuzz_check_app_bootable(dev, why);
    dirty = true;
    dfw_rx_init(&rx, &hal, &layout, &link_);
    rebase();
}

/* COMMIT succeeded: the settings page is staged and the device resets. */
static void committed(void)
{
    check_receiver_flash();
    uint8_t raw[BL_SETTINGS_SIZE];
    memcpy(raw, flash_bytes(dev->flash) + settings, sizeof(raw));
    bl_settings_t s;
    bl_settings_decode(raw, &s);
    FUZZ_CHECK(bl_settings_main_valid(raw) && s.bank_current == BL_SETTINGS_CURRENT_BANK_1,
               "COMMIT left settings valid=%d bank_current=%u", bl_settings_main_valid(raw),
               s.bank_current);
    reboot("COMMIT");
}

static void poll(unsigned times)
{
    for (unsigned i = 0; i < times; i++) {
        dfw_rx_event_t ev = dfw_rx_poll(&rx);
        if (flash_power_is_cut(dev->flash)) { /* the cut fired inside this request */
            check_receiver_flash();
            reboot("power cut");
            return;
        }
        if (ev == DFW_RX_RESET)
            committed();
        if (ev != DFW_RX_WORKED)
            break;
    }
}

/* Encode a request and feed it, with the op's wire faults. */
static void send(run_t *r, uint8_t op, const frame_t *f)
{
    size_t cap = FRAME_WIRE_LEN(FRAME_HDR_LEN + (size_t)f->len + FRAME_CRC_LEN), n = 0;
    uint8_t *wire = malloc(cap);
    FUZZ_CHECK(wire, "out of memory");
    FUZZ_CHECK(frame_encode(f, wire, cap, &n) == FRAME_OK, "harness frame does not encode");
    if (op & FUZZ_OP_FLIP) {
        uint16_t at = fuzz_u16(&r->in);
        wire[at % n] ^= (uint8_t)(fuzz_u8(&r->in) | 1u);
    }
    if (op & FUZZ_OP_CUT)
        n--; /* the delimiter is lost on the link */
    input(r, wire, n);
    free(wire);
}

/* Payload bytes [off, off + len) of `src`, clipped to it. */
static uint16_t clip(size_t total, uint32_t off, uint16_t len)
{
    if (off >= total)
        return 0;
    return (uint16_t)(total - off < len ? total - off : len);
}

static void step(run_t *r)
{
    uint8_t op = fuzz_u8(&r->in);
    int which = (op & FUZZ_OP_V2) ? 1 : 0;
    const fuzz_pkg_t *pkg = &pkgs[which];
    frame_t f = {.seq = r->seq++};
    uint8_t start[MSG_START_LEN], resume[MSG_RESUME_LEN];
    size_t got;
    switch (op & 15) {
    case FUZZ_OP_RAW: {
        const uint8_t *p = fuzz_take(&r->in, (size_t)fuzz_u8(&r->in) + 1, &got);
        input(r, p, got);
        return;
    }
    case FUZZ_OP_FRAME:
        f.type = fuzz_u8(&r->in);
        f.object = fuzz_u8(&r->in);
        f.seq = fuzz_u16(&r->in);
        f.offset = fuzz_u32(&r->in);
        f.payload = fuzz_take(&r->in, fuzz_u16(&r->in) % (FRAME_MAX_PAYLOAD + 1u), &got);
        f.len = (uint16_t)got;
        break;
    case FUZZ_OP_DATA_FW:
        f.type = MSG_DATA;
        f.object = FRAME_OBJ_FW;
        f.offset = fuzz_u32(&r->in);
        f.len = clip(pkg->bin_len, f.offset, fuzz_u16(&r->in) % (FRAME_MAX_PAYLOAD + 1u));
        f.payload = f.len ? pkg->bin + f.offset : NULL;
        break;
    case FUZZ_OP_DATA_DAT:
        f.type = MSG_DATA;
        f.object = FRAME_OBJ_INIT;
        f.offset = fuzz_u16(&r->in);
        f.len = clip(pkg->dat_len, f.offset, fuzz_u16(&r->in) % (FRAME_MAX_PAYLOAD + 1u));
        f.payload = f.len ? pkg->dat + f.offset : NULL;
        break;
    case FUZZ_OP_START: {
        msg_start_t m = {(uint32_t)pkg->dat_len, dat_crc[which], (uint32_t)pkg->bin_len,
                         bin_crc[which]};
        if (op & FUZZ_OP_PERTURB) {
            uint8_t pick = fuzz_u8(&r->in);
            uint32_t x = fuzz_u32(&r->in);
            uint32_t *field[] = {&m.dat_len, &m.dat_crc, &m.bin_len, &m.bin_crc};
            *field[pick & 3] ^= x;
        }
        msg_start_pack(&m, start);
        f.type = MSG_START;
        f.payload = start;
        f.len = MSG_START_LEN;
        break;
    }
    case FUZZ_OP_RESUME: {
        f.type = MSG_RESUME;
        f.object = FRAME_OBJ_FW;
        f.offset = fuzz_u32(&r->in) % ((uint32_t)pkg->bin_len + 1u);
        uint32_t crc = (uint32_t)crc32(0L, pkg->bin, f.offset); /* zlib: fast, same CRC */
        if (op & FUZZ_OP_PERTURB)
            crc ^= fuzz_u32(&r->in);
        frame_put32(resume, crc);
        f.payload = resume;
        f.len = MSG_RESUME_LEN;
        break;
    }
    case FUZZ_OP_SIMPLE: {
        static const uint8_t types[] = {MSG_HELLO, MSG_COMMIT, MSG_QUERY, MSG_ABORT};
        f.type = types[(op >> 4) & 3];
        break;
    }
    case FUZZ_OP_POLL:
        poll((unsigned)(op >> 4) + 1u);
        return;
    case FUZZ_OP_TICK:
        r->now += fuzz_u16(&r->in) * ((op & 0x10) ? 1000u : 1u);
        dfw_rx_tick(&rx, r->now);
        return;
    case FUZZ_OP_IDLE:
        /* Whenever the script says so, queued frames or not: idle() must cope with both. */
        for (unsigned i = 0; i <= (unsigned)(op >> 4); i++) {
            bool more = dfw_rx_idle(&rx);
            if (flash_power_is_cut(dev->flash)) {
                check_receiver_flash();
                reboot("power cut in idle erase");
                break;
            }
            if (!more)
                break;
        }
        return;
    case FUZZ_OP_RAM_RESET:
        dfw_rx_init(&rx, &hal, &layout, &link_);
        return;
    case FUZZ_OP_CHUNK:
        r->chunk = fuzz_u8(&r->in);
        return;
    case FUZZ_OP_POWER_CUT: {
        static const flash_cut_mode_t modes[] = {FLASH_CUT_BEFORE, FLASH_CUT_AFTER, FLASH_CUT_TORN,
                                                 FLASH_CUT_TORN};
        uint64_t nth = (uint64_t)fuzz_u8(&r->in) + 1u;
        uint8_t seed = fuzz_u8(&r->in);
        FUZZ_CHECK(flash_cut_arm(dev->flash, nth, modes[(op >> 4) & 3], seed) == FLASH_OK, "arm");
        return;
    }
    default:
        poll(1);
        return;
    }
    send(r, op, &f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    flash_cut_disarm(dev->flash); /* a cut the last run armed but never reached */
    FUZZ_CHECK(flash_load_raw(dev->flash, snapshot, flash_size) == FLASH_OK, "restore");
    if (dirty || flash_power_is_cut(dev->flash)) {
        /* The last run booted: protection must be what this snapshot's boot sets. */
        bl_boot_report_t rep;
        bl_boot_run(dev, &rep);
        FUZZ_CHECK(rep.state == BL_STATE_APP &&
                       fuzz_first_change(snapshot, dev, 0, flash_size) == UINT32_MAX,
                   "the snapshot does not boot back to itself");
        dirty = false;
    }
    flash_clear_logs(dev->flash);
    dfw_rx_init(&rx, &hal, &layout, &link_);
    rebase();

    run_t r = {.in = {data, size}};
    while (r.in.left > 0)
        step(&r);
    poll(2u * DFW_RX_BUFFERS + 1u); /* whatever is still queued */
    check_receiver_flash();
    return 0;
}
