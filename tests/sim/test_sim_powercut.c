/*
 * R1: power cuts at every flash operation of a complete update, in the
 * co-simulation (sim.h). A clean run counts the operations of the whole flow
 * as the device sees it: idle pre-erase, staging over the protocol, the
 * settings commit, the bootloader's post-validation, the activation copy and
 * its settings writes, the INFO the new application sends, and the new
 * application's own idle pre-erase until the device is quiet. Then, for
 * every operation i and every mode (before / torn / after), a fresh device
 * (sim_reset: the pristine snapshot) loses power at operation i, reboots
 * through the bootloader replay, and the host, which keeps running, recovers
 * by its own retry/resume logic. Afterwards the device must run the old or
 * the new image, byte for byte (a wrong or corrupt image and a device stuck
 * in DFU mode or faulting are counted); if the session gave up, it is run
 * again and the new image must then run. The firmware bytes sent beyond one
 * copy of the image (a clean run sends each byte once) must stay bounded.
 *
 * Scenarios: a blank bank 1 (as `dfuart-emu create` leaves it), and bank 1
 * holding what an earlier activation left (issue #6), so that the device
 * pre-erases it while idle before the host comes; the clean run must show
 * those erases, or the scenario would silently be the blank one again. The
 * image keeps its size, grows or shrinks; whichever, the new app must
 * pre-erase what its activation left in bank 1 (dfw_stage.h), and the clean
 * run must show that too.
 *
 * Usage: test_sim_powercut [--sweep]. Without --sweep (CTest labels unit,
 * sim) a deterministic subset: every 97th operation (241st for 300 KB) plus
 * the operations from COMMIT on (the settings commit, the boot's first
 * settings writes) and the last ones of the activation (its last copy and
 * settings writes); the ops of the idle phases, i.e. before the host and
 * once the new app runs (every one, or a stride: idle_stride), and for the
 * idle scenarios a stride of the rest (every 797th for 300 KB), since what
 * follows the pre-erase is the blank-bank flow the others cover. With
 * --sweep (label sweep) every operation, except that the 300 KB idle
 * scenario takes every op of its idle phases and every 7th of the rest, to
 * keep the sweep's time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/pkg.h"
#include "emulator/emu_hal.h"
#include "fixtures.h"
#include "sim.h"

#define IMAGES FIX_NRFUTIL "/images/"
#define PKGS   FIX_NRFUTIL "/packages/"
#define PAGE   4096u
/* The replay's verdict when bank 0 does not hold bank 1's image after the copy (spec 7.2). */
#define COPY_CRC_FAILED "bank 0 CRC after the copy differs: activation failed"

static cJSON *g_pkgs;
static bool g_sweep;

typedef struct {
    const char *name;
    bl_chip_t chip;
    const char *old_app, *pkg;
    uint32_t stride;                /* subset: every stride-th op ... */
    uint32_t near_commit, near_end; /* ... the ops from COMMIT on, and the activation's last */
    /*
     * Idle pre-erase scenarios (all 0 for a blank bank 1). Bank 1 starts as an
     * activation leaves it: a copy of the running app, then (up to stale_len)
     * an older, longer image's bytes. The host starts at host_start_ms.
     */
    uint32_t stale_len;
    uint64_t host_start_ms;
    uint32_t idle_stride;  /* subset: every idle_stride-th op of the idle phases */
    uint32_t sweep_stride; /* --sweep: every op of the idle phases, every sweep_stride-th
                              of the rest (0 or 1: every op) */
} scenario_t;

typedef struct {
    const scenario_t *sc;
    sim_t *sim;
    pkg_t *pkg;
    session_image_t img;
    uint8_t *old;
    size_t old_len;
    uint64_t ops, commit_op;      /* of the clean run, idle work after the session included */
    uint64_t host_op, session_op; /* ops before the host's first byte, and until it ended */
    uint64_t app_op;              /* ops until the new app started: then only its pre-erase */
    uint64_t idle_erases;         /* page erases before the host's first byte */
    /* results */
    unsigned tried, bricks, wrong, dfu, dfu_spec, reruns;
    uint64_t max_resent, max_resent_resumed;
    uint64_t worst_op; /* where max_resent happened */
    flash_cut_mode_t worst_mode;
} sweep_t;

static const char *const mode_name[] = {"before", "after", "torn"};

/*
 * Bank 1 as a device updated before holds it: the copy of the running image
 * that the activation copied from (0xFF to its page end, as staging leaves
 * it), then an older image's bytes up to sc->stale_len. The device's idle
 * verdict (dfw_stage.c idle_verdict) sees the copy and pre-erases.
 */
static uint8_t *stale_bank1(const scenario_t *sc, const uint8_t *old, size_t old_len, uint32_t *len)
{
    size_t copy_end = (old_len + PAGE - 1u) / PAGE * PAGE;
    *len = sc->stale_len > copy_end ? sc->stale_len : (uint32_t)copy_end;
    uint8_t *b = malloc(*len);
    if (!b)
        return NULL;
    memcpy(b, old, old_len);
    memset(b + old_len, 0xFF, copy_end - old_len);
    uint64_t x = 0x5DEECE66Dull; /* xorshift: arbitrary, fixed */
    for (size_t i = copy_end; i < *len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (uint8_t)(x >> 32);
    }
    return b;
}

static sim_config_t device(const scenario_t *sc)
{
    sim_config_t c = {.chip = sc->chip,
                      .sd = sc->chip == BL_CHIP_NRF52840 ? EMU_SD_S140_7_2_0 : EMU_SD_S132_7_2_0,
                      .app_path = sc->old_app,
                      .app_version = 1,
                      .profile = BL_PROFILE_UPDATE_FROM_APP,
                      .sdk = BL_SDK_17_1};
    if (sc->chip == BL_CHIP_NRF52840)
        c.sd_fwid = 0x0101; /* the fixture package's sd_req (see sim.h) */
    fix_public_key(g_pkgs, c.public_key);
    c.plan.link_h2d = c.plan.link_d2h = "usb-1M";
    return c;
}

static sim_plan_t plan_for(const scenario_t *sc, uint64_t op, flash_cut_mode_t mode)
{
    sim_plan_t p = {.link_h2d = "usb-1M",
                    .link_d2h = "usb-1M",
                    .cut_op = op,
                    .cut_mode = mode,
                    .cut_seed = op * 2654435761u + (uint64_t)mode,
                    .host_start_ms = sc->host_start_ms};
    return p;
}

static void sweep_open(sweep_t *w, const scenario_t *sc)
{
    memset(w, 0, sizeof(*w));
    w->sc = sc;
    w->old = fix_read_file(sc->old_app, &w->old_len);
    sim_config_t c = device(sc);
    uint8_t *stale = NULL;
    if (sc->host_start_ms) {
        stale = stale_bank1(sc, w->old, w->old_len, &c.bank1_init_len);
        assert_non_null(stale);
        c.bank1_init = stale;
    }
    c.plan = plan_for(sc, 0, FLASH_CUT_BEFORE);
    char err[320];
    w->sim = sim_new(&c, err, sizeof(err));
    free(stale);
    if (!w->sim)
        fail_msg("%s", err);
    pkg_diag_t d;
    if (pkg_open(sc->pkg, &w->pkg, &d) != PKG_OK)
        fail_msg("%s", d.msg);
    w->img = sim_image_of(pkg_image(w->pkg, 0));
}

static void sweep_close(sweep_t *w)
{
    free(w->old);
    pkg_close(w->pkg);
    sim_free(w->sim);
}

/*
 * What the activation left in the new bank 1 (a copy, the staged copy's tail,
 * or the staged copy above the old image's tail) holds nothing to resume, so
 * the new app must have pre-erased it all: [bank 1, app data) blank.
 */
static bool new_bank1_blank(const sweep_t *w)
{
    emu_device_t *dev = sim_device(w->sim);
    dfw_layout_t l;
    emu_hal_layout(dev, &l);
    const uint8_t *mem = flash_bytes(dev->flash);
    uint32_t end = l.bootloader_start - l.app_data_size;
    for (uint32_t a = emu_bank1_start(dev, w->img.bin_len); a < end; a++)
        if (mem[a] != 0xFF)
            return false;
    return true;
}

/*
 * The clean reference run: how many operations the flow has, and where COMMIT
 * is. The flow ends when the world is quiet, not when the session returns:
 * the new app's idle pre-erase after the activation is part of it, and must
 * happen (else this would silently test a shorter flow).
 */
static void count_ops(sweep_t *w)
{
    sim_report_t r;
    sim_plan_t clean = plan_for(w->sc, 0, FLASH_CUT_BEFORE); /* as the cut runs, no cut */
    assert_int_equal(sim_reset(w->sim, &clean), 0);
    assert_int_equal(sim_run_image(w->sim, &w->img, &r), SESSION_OK);
    assert_int_equal(r.fw_payload, w->img.bin_len);
    assert_int_equal(r.bad_acks, 0);
    assert_int_equal(r.fence_hits, 0);
    assert_true(sim_bank0_equals(w->sim, w->img.bin, w->img.bin_len));
    w->ops = r.flash_ops;
    w->commit_op = r.ops_before_commit;
    w->host_op = r.ops_before_host;
    w->session_op = r.ops_session;
    w->app_op = r.ops_before_app;
    w->idle_erases = r.erases_before_host;
    assert_true(w->commit_op > 0 && w->commit_op < w->app_op);
    assert_true(w->app_op < w->ops); /* the new app pre-erased after the activation ... */
    assert_true(new_bank1_blank(w)); /* ... everything the activation left in bank 1 */
    /* An idle scenario must really pre-erase, or it is the blank-bank case again. */
    if (w->sc->host_start_ms)
        assert_true(w->idle_erases > 0);
}

static bool runs_new(const sweep_t *w)
{
    return sim_device_state(w->sim) == BL_STATE_APP &&
           sim_bank0_equals(w->sim, w->img.bin, w->img.bin_len) &&
           sim_app_version(w->sim) == w->img.fw_version;
}

static bool runs_old(const sweep_t *w)
{
    return sim_device_state(w->sim) == BL_STATE_APP &&
           sim_bank0_equals(w->sim, w->old, w->old_len) && sim_app_version(w->sim) == 1;
}

static void note(const sweep_t *w, uint64_t op, flash_cut_mode_t mode, const char *what,
                 const sim_report_t *r)
{
    printf("  cut %s at op %llu/%llu: %s (session: %s; boot: %s, %s%s%s)\n", mode_name[mode],
           (unsigned long long)op, (unsigned long long)w->ops, what, r->res.msg,
           bl_state_name(r->boot.state), bl_update_name(r->boot.update), r->boot.reason ? ": " : "",
           r->boot.reason ? r->boot.reason : "");
}

/*
 * The one way the specified bootloader itself ends in DFU mode after a cut
 * (spec 2.6 + 7.2, mode A): power dies between the main and the backup
 * settings write that closes the activation. The next boot takes the main
 * page but restores the "forbidden" bank_0/bank_1 from the older backup,
 * while write_offset (not forbidden in mode A) is already 0: it copies the
 * whole image again from bank 1, whose pages the first copy has overwritten
 * when the image is longer than the gap between the banks, and bank 0's CRC
 * fails. So: after COMMIT, reason "copy CRC", and only for such an image.
 */
static bool dfu_per_spec(const sweep_t *w, uint64_t op, const sim_report_t *r)
{
    emu_device_t *dev = sim_device(w->sim);
    uint32_t gap = emu_bank1_start(dev, (uint32_t)w->old_len) - emu_bank0_start(dev);
    return op > w->commit_op && w->img.bin_len > gap && r->boot.reason &&
           strcmp(r->boot.reason, COPY_CRC_FAILED) == 0;
}

/* After the cut run: old or new image, never neither; returns false if the device is stuck. */
static bool judge_after_cut(sweep_t *w, uint64_t op, flash_cut_mode_t mode, const sim_report_t *r)
{
    bl_state_t st = sim_device_state(w->sim);
    if (st == BL_STATE_DFU) {
        w->dfu++;
        w->dfu_spec += dfu_per_spec(w, op, r);
        note(w, op, mode, "stays in DFU mode", r);
        return false;
    }
    if (st != BL_STATE_APP) {
        w->bricks++;
        note(w, op, mode, "BRICK", r);
        return false;
    }
    if (!runs_new(w) && !runs_old(w)) {
        w->wrong++;
        note(w, op, mode, "WRONG IMAGE in bank 0", r);
    }
    return true;
}

static void cut_once(sweep_t *w, uint64_t op, flash_cut_mode_t mode)
{
    sim_plan_t p = plan_for(w->sc, op, mode);
    sim_report_t r;
    assert_int_equal(sim_reset(w->sim, &p), 0);
    session_err_t e = sim_run_image(w->sim, &w->img, &r);
    w->tried++;
    if (!r.cut_fired)
        fail_msg("cut %s at op %llu did not fire", mode_name[mode], (unsigned long long)op);
    if (r.bad_acks || r.fence_hits)
        fail_msg("cut %s at op %llu: %s", mode_name[mode], (unsigned long long)op,
                 r.bad_acks ? r.bad_ack_msg : r.fence_msg);
    uint64_t sent = r.fw_payload;
    if (!judge_after_cut(w, op, mode, &r))
        return;
    if (e != SESSION_OK) { /* the session gave up: a second `dfuart update` must finish it */
        w->reruns++;
        note(w, op, mode, runs_old(w) ? "old image runs, re-run" : "re-run", &r);
        e = sim_run_image(w->sim, &w->img, &r);
        sent += r.fw_payload;
        if (r.bad_acks || r.fence_hits)
            fail_msg("re-run after cut at op %llu: %s", (unsigned long long)op,
                     r.bad_acks ? r.bad_ack_msg : r.fence_msg);
    } else if (sent - w->img.bin_len > w->max_resent_resumed) {
        w->max_resent_resumed = sent - w->img.bin_len;
    }
    if (e != SESSION_OK || !runs_new(w)) {
        w->wrong++;
        note(w, op, mode, e != SESSION_OK ? "re-run failed" : "new image not running", &r);
    }
    if (sent - w->img.bin_len > w->max_resent) {
        w->max_resent = sent - w->img.bin_len;
        w->worst_op = op;
        w->worst_mode = mode;
    }
}

/* Idle work: before the host's first byte, and once the new app runs (its pre-erase). */
static bool in_idle_phase(const sweep_t *w, uint64_t op)
{
    return op <= w->host_op || op > w->app_op;
}

static bool every(uint64_t op, uint32_t stride)
{
    return stride <= 1u || op % stride == 1u;
}

/*
 * Deterministic subset: every stride-th op, the ops from COMMIT on, the last
 * ones of the activation, and (a stride of) the idle phases.
 */
static bool in_subset(const sweep_t *w, uint64_t op)
{
    const scenario_t *sc = w->sc;
    return op % sc->stride == 1u || (op >= w->commit_op && op <= w->commit_op + sc->near_commit) ||
           (op <= w->app_op && op + sc->near_end > w->app_op) ||
           (in_idle_phase(w, op) && every(op, sc->idle_stride));
}

/*
 * --sweep: every op, but a sampled scenario (sweep_stride > 1) takes every op
 * of its idle phases and the subset, and a stride of the rest: after the
 * pre-erase, its update is the blank-bank flow another scenario sweeps whole.
 */
static bool in_sweep(const sweep_t *w, uint64_t op)
{
    return every(op, w->sc->sweep_stride) || in_idle_phase(w, op) || in_subset(w, op);
}

/* One summary line per scenario (the format CI logs are read for), then the details. */
static void print_summary(const sweep_t *w)
{
    char how[64] = "subset";
    if (g_sweep && w->sc->sweep_stride > 1u)
        snprintf(how, sizeof(how), "idle phases and every %uth other op x 3 modes",
                 w->sc->sweep_stride);
    else if (g_sweep)
        snprintf(how, sizeof(how), "every operation x 3 modes");
    printf("power cuts %s: operations %llu, cuts tried %u, bricks %u, wrong images %u, max bytes "
           "re-sent %llu\n",
           w->sc->name, (unsigned long long)w->ops, w->tried, w->bricks, w->wrong,
           (unsigned long long)w->max_resent);
    printf("  (%s; host's first byte after op %llu (%llu idle erases), COMMIT at op %llu, new app "
           "pre-erases after op %llu, session ends at op %llu; sessions re-run %u; stayed in DFU "
           "mode %u, all as the spec says: %s; max re-sent without a re-run %llu; worst: cut %s at "
           "op %llu)\n",
           how, (unsigned long long)w->host_op, (unsigned long long)w->idle_erases,
           (unsigned long long)w->commit_op, (unsigned long long)w->app_op,
           (unsigned long long)w->session_op, w->reruns, w->dfu,
           w->dfu == w->dfu_spec ? "yes" : "NO", (unsigned long long)w->max_resent_resumed,
           mode_name[w->worst_mode], (unsigned long long)w->worst_op);
}

static void power_cuts(const scenario_t *sc)
{
    sweep_t w;
    sweep_open(&w, sc);
    count_ops(&w);
    static const flash_cut_mode_t modes[] = {FLASH_CUT_BEFORE, FLASH_CUT_TORN, FLASH_CUT_AFTER};
    unsigned want = 0;
    for (size_t m = 0; m < 3; m++)
        for (uint64_t op = 1; op <= w.ops; op++)
            if (g_sweep ? in_sweep(&w, op) : in_subset(&w, op)) {
                cut_once(&w, op, modes[m]);
                want++;
            }
    print_summary(&w);
    assert_int_equal(w.tried, want);
    assert_int_equal(w.bricks, 0);
    assert_int_equal(w.wrong, 0);
    assert_int_equal(w.dfu, w.dfu_spec); /* DFU mode only where the spec puts it ... */
    assert_true(w.dfu <= 3u);            /* ... the three cuts around that one write */
    /*
     * Bound: a session that survives the cut repeats at most the page being
     * written (RESUME restarts at its boundary) plus the window in flight.
     * One that gave up is re-run, and the re-run's probe finds bank 1's
     * staged prefix, so it repeats no more than that either.
     */
    assert_true(w.max_resent <= PAGE + 2u * FRAME_MAX_PAYLOAD);
    sweep_close(&w);
}

/*
 * Subsets: all of the 52832's post-COMMIT ops; the 52840's COMMIT and first boot writes, and
 * the end of its activation (its last copy chunk and settings writes). After either activation
 * the new app pre-erases what it left in bank 1 (the 52832: a copy of v2; the 52840, whose
 * image grew by 61 pages: the staged copy's last 13 pages), every op of which is in the subset.
 */
static const scenario_t LARGE_52840 = {.name = "nRF52840 300 KB (app_signed_large.zip)",
                                       .chip = BL_CHIP_NRF52840,
                                       .old_app = IMAGES "app_s132.bin",
                                       .pkg = PKGS "app_signed_large.zip",
                                       .stride = 241,
                                       .near_commit = 8,
                                       .near_end = 10};
static const scenario_t V2_52832 = {.name = "nRF52832 50 KB (app_signed_v2.zip)",
                                    .chip = BL_CHIP_NRF52832,
                                    .old_app = IMAGES "app_s132.bin",
                                    .pkg = PKGS "app_signed_v2.zip",
                                    .stride = 97,
                                    .near_commit = 64};

/*
 * Idle pre-erase (issue #6). The 52832 device booted with bank 1 holding a copy of its app
 * (what an activation of a same-size image leaves); the host comes while it pre-erases (0.5 s
 * after the boot: ~5 of 13 pages done), so HELLO waits for an erase, START stops the pre-erase
 * and staging erases the rest; after the activation bank 1 again holds a copy of the running
 * app (v2), which the new app pre-erases while the flow runs to its quiet end. Every op.
 */
static const scenario_t V2_52832_IDLE = {.name = "nRF52832 50 KB (app_signed_v2.zip), bank 1 "
                                                 "pre-erased while idle, host at 0.5 s",
                                         .chip = BL_CHIP_NRF52832,
                                         .old_app = IMAGES "app_s132.bin",
                                         .pkg = PKGS "app_signed_v2.zip",
                                         .stride = 97,
                                         .host_start_ms = 500,
                                         .idle_stride = 1};
/*
 * The 52840 device booted with bank 1 holding the copy of its app and then an older image
 * over the whole new image's span (74 pages); the host comes 8 s later, when the pre-erase
 * has finished: the common case, an update long after the boot. From then on the flow is the
 * blank-bank one LARGE_52840 sweeps whole, so the sweep samples it (sweep_stride) and takes
 * every idle-phase op: the pre-erase before the host and the new app's after the activation
 * (bank 1 moved up 61 pages and starts with the staged copy's tail: 13 pages).
 */
static const scenario_t LARGE_52840_IDLE = {.name = "nRF52840 300 KB (app_signed_large.zip), bank "
                                                    "1 pre-erased while idle, host at 8 s",
                                            .chip = BL_CHIP_NRF52840,
                                            .old_app = IMAGES "app_s132.bin",
                                            .pkg = PKGS "app_signed_large.zip",
                                            .stride = 797,       /* the update: the blank flow */
                                            .stale_len = 303104, /* ALIGN_UP_4K(302 280) */
                                            .host_start_ms = 8000,
                                            .idle_stride = 15,
                                            .sweep_stride = 7};

/*
 * The image shrinks: the 52840 runs the 300 KB app (as version 1) and gets the 50 KB v2. Bank 1
 * moves down 61 pages, to just past v2, and then holds the old app's pages 13..73 and, at its
 * page 61, the staged copy of v2 (13 pages): the new app recognises that, erases the copy's first
 * page first and then the rest (74 erases). Up to COMMIT the flow is the 52832's blank-bank one;
 * the subset takes the COMMIT, a stride and every 4th op of that pre-erase.
 */
static const scenario_t V2_52840_SHRINK = {.name = "nRF52840 300 KB -> 50 KB "
                                                   "(app_signed_v2.zip), image shrinks",
                                           .chip = BL_CHIP_NRF52840,
                                           .old_app = IMAGES "app_large.bin",
                                           .pkg = PKGS "app_signed_v2.zip",
                                           .stride = 241,
                                           .idle_stride = 4};

static void test_sim_power_cut_52840_shrink(void **state)
{
    (void)state;
    power_cuts(&V2_52840_SHRINK);
}

static void test_sim_power_cut_52832_v2_idle_erase(void **state)
{
    (void)state;
    power_cuts(&V2_52832_IDLE);
}

static void test_sim_power_cut_52840_large_idle_erase(void **state)
{
    (void)state;
    power_cuts(&LARGE_52840_IDLE);
}

static void test_sim_power_cut_52840_large(void **state)
{
    (void)state;
    power_cuts(&LARGE_52840);
}

static void test_sim_power_cut_52832_v2(void **state)
{
    (void)state;
    power_cuts(&V2_52832);
}

static int setup(void **state)
{
    (void)state;
    g_pkgs = fix_packages_json();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cJSON_Delete(g_pkgs);
    return 0;
}

int main(int argc, char **argv)
{
    g_sweep = argc > 1 && strcmp(argv[1], "--sweep") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_power_cut_52832_v2),
        cmocka_unit_test(test_sim_power_cut_52840_large),
        cmocka_unit_test(test_sim_power_cut_52832_v2_idle_erase),
        cmocka_unit_test(test_sim_power_cut_52840_large_idle_erase),
        cmocka_unit_test(test_sim_power_cut_52840_shrink),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
