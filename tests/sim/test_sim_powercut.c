/*
 * R1: power cuts at every flash operation of a complete update, in the
 * co-simulation (sim.h). A clean run counts the operations of the whole flow
 * as the device sees it: idle pre-erase, staging over the protocol, the
 * settings commit, the bootloader's post-validation, the activation copy and
 * its settings writes, up to the INFO the new application sends. Then, for
 * every operation i and every mode (before / torn / after), a fresh device
 * (sim_reset: the pristine snapshot) loses power at operation i, reboots
 * through the bootloader replay, and the host, which keeps running, recovers
 * by its own retry/resume logic. Afterwards the device must run the old or
 * the new image, byte for byte (a wrong or corrupt image and a device stuck
 * in DFU mode or faulting are counted); if the session gave up, it is run
 * again and the new image must then run. The firmware bytes sent beyond one
 * copy of the image (a clean run sends each byte once) must stay bounded.
 *
 * Usage: test_sim_powercut [--sweep]. Without --sweep (CTest labels unit,
 * sim) a deterministic subset: every 97th operation (241st for 300 KB) plus
 * the operations from COMMIT on (the settings commit, the boot's first
 * settings writes) and the last ones (the end of the activation and its
 * settings writes). With --sweep (label sweep) every operation.
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
    uint32_t near_commit, near_end; /* ... the ops from COMMIT on, and the last ops */
} scenario_t;

typedef struct {
    const scenario_t *sc;
    sim_t *sim;
    pkg_t *pkg;
    session_image_t img;
    uint8_t *old;
    size_t old_len;
    uint64_t ops, commit_op; /* of the clean run */
    /* results */
    unsigned tried, bricks, wrong, dfu, dfu_spec, reruns;
    uint64_t max_resent, max_resent_resumed;
    uint64_t worst_op; /* where max_resent happened */
    flash_cut_mode_t worst_mode;
} sweep_t;

static const char *const mode_name[] = {"before", "after", "torn"};

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

static void sweep_open(sweep_t *w, const scenario_t *sc)
{
    memset(w, 0, sizeof(*w));
    w->sc = sc;
    sim_config_t c = device(sc);
    char err[320];
    w->sim = sim_new(&c, err, sizeof(err));
    if (!w->sim)
        fail_msg("%s", err);
    pkg_diag_t d;
    if (pkg_open(sc->pkg, &w->pkg, &d) != PKG_OK)
        fail_msg("%s", d.msg);
    const pkg_image_t *a = pkg_image(w->pkg, 0);
    w->img = (session_image_t){a->dat,
                               (uint32_t)a->dat_len,
                               a->bin,
                               (uint32_t)a->bin_len,
                               a->init.has_fw_version,
                               a->init.fw_version};
    w->old = fix_read_file(sc->old_app, &w->old_len);
}

static void sweep_close(sweep_t *w)
{
    free(w->old);
    pkg_close(w->pkg);
    sim_free(w->sim);
}

static sim_plan_t plan_for(uint64_t op, flash_cut_mode_t mode)
{
    sim_plan_t p = {.link_h2d = "usb-1M",
                    .link_d2h = "usb-1M",
                    .cut_op = op,
                    .cut_mode = mode,
                    .cut_seed = op * 2654435761u + (uint64_t)mode};
    return p;
}

/* The clean reference run: how many operations the flow has, and where COMMIT is. */
static void count_ops(sweep_t *w)
{
    sim_report_t r;
    sim_plan_t clean = plan_for(0, FLASH_CUT_BEFORE); /* same links as the cut runs, no cut */
    assert_int_equal(sim_reset(w->sim, &clean), 0);
    assert_int_equal(sim_run_image(w->sim, &w->img, &r), SESSION_OK);
    assert_int_equal(r.fw_payload, w->img.bin_len);
    assert_int_equal(r.bad_acks, 0);
    assert_true(sim_bank0_equals(w->sim, w->img.bin, w->img.bin_len));
    w->ops = r.ops_session;
    w->commit_op = r.ops_before_commit;
    assert_true(w->commit_op > 0 && w->commit_op < w->ops);
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
    sim_plan_t p = plan_for(op, mode);
    sim_report_t r;
    assert_int_equal(sim_reset(w->sim, &p), 0);
    session_err_t e = sim_run_image(w->sim, &w->img, &r);
    w->tried++;
    if (!r.cut_fired)
        fail_msg("cut %s at op %llu did not fire", mode_name[mode], (unsigned long long)op);
    if (r.bad_acks)
        fail_msg("cut %s at op %llu: %s", mode_name[mode], (unsigned long long)op, r.bad_ack_msg);
    uint64_t sent = r.fw_payload;
    if (!judge_after_cut(w, op, mode, &r))
        return;
    if (e != SESSION_OK) { /* the session gave up: a second `dfuart update` must finish it */
        w->reruns++;
        note(w, op, mode, runs_old(w) ? "old image runs, re-run" : "re-run", &r);
        e = sim_run_image(w->sim, &w->img, &r);
        sent += r.fw_payload;
        if (r.bad_acks)
            fail_msg("re-run after cut at op %llu: %s", (unsigned long long)op, r.bad_ack_msg);
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

/* Deterministic subset: every 97th op, the ops from COMMIT on, and the last ones. */
static bool in_subset(const sweep_t *w, uint64_t op)
{
    return op % w->sc->stride == 1u ||
           (op >= w->commit_op && op <= w->commit_op + w->sc->near_commit) ||
           op + w->sc->near_end > w->ops;
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
            if (g_sweep || in_subset(&w, op)) {
                cut_once(&w, op, modes[m]);
                want++;
            }
    printf("power cuts %s: operations %llu, cuts tried %u, bricks %u, wrong images %u, max bytes "
           "re-sent %llu\n",
           sc->name, (unsigned long long)w.ops, w.tried, w.bricks, w.wrong,
           (unsigned long long)w.max_resent);
    printf("  (%s; COMMIT at op %llu; sessions re-run %u; stayed in DFU mode %u, all as the spec "
           "says: %s; max re-sent without a re-run %llu; worst: cut %s at op %llu)\n",
           g_sweep ? "every operation x 3 modes" : "subset", (unsigned long long)w.commit_op,
           w.reruns, w.dfu, w.dfu == w.dfu_spec ? "yes" : "NO",
           (unsigned long long)w.max_resent_resumed, mode_name[w.worst_mode],
           (unsigned long long)w.worst_op);
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

/* Subsets: all of the 52832's post-COMMIT ops; the 52840's COMMIT and first boot writes, and
 * the end of its activation (its last copy chunk and settings writes). */
static const scenario_t LARGE_52840 = {"nRF52840 300 KB (app_signed_large.zip)",
                                       BL_CHIP_NRF52840,
                                       IMAGES "app_s132.bin",
                                       PKGS "app_signed_large.zip",
                                       241,
                                       8,
                                       10};
static const scenario_t V2_52832 = {"nRF52832 50 KB (app_signed_v2.zip)",
                                    BL_CHIP_NRF52832,
                                    IMAGES "app_s132.bin",
                                    PKGS "app_signed_v2.zip",
                                    97,
                                    64,
                                    0};

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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
