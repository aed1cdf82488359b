/*
 * Complete updates in the co-simulation (sim.h): the real host session, the
 * link model, the device receiver on the flash model and the SDK bootloader
 * replay, on one virtual clock. Clean links here; faults are in
 * test_sim_powercut.c and test_sim_linkfaults.c.
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

#define PKGS FIX_NRFUTIL "/packages/"

static cJSON *g_pkgs;

static sim_config_t device(bl_chip_t chip, const char *app, uint32_t version)
{
    sim_config_t c = {.chip = chip,
                      .sd = chip == BL_CHIP_NRF52840 ? EMU_SD_S140_7_2_0 : EMU_SD_S132_7_2_0,
                      .app_path = app,
                      .app_version = version,
                      .profile = BL_PROFILE_UPDATE_FROM_APP,
                      .sdk = BL_SDK_17_1};
    /* The ~300 KB fixture package is built for S132 (sd_req 0x0101): see sim.h. */
    if (chip == BL_CHIP_NRF52840)
        c.sd_fwid = 0x0101;
    fix_public_key(g_pkgs, c.public_key);
    return c;
}

static sim_t *make(const sim_config_t *c)
{
    char err[320];
    sim_t *s = sim_new(c, err, sizeof(err));
    if (!s)
        fail_msg("%s", err);
    return s;
}

static pkg_t *open_pkg(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), PKGS "%s", name);
    pkg_t *p = NULL;
    pkg_diag_t d;
    if (pkg_open(path, &p, &d) != PKG_OK)
        fail_msg("%s", d.msg);
    return p;
}

static void print_report(const char *what, const sim_report_t *r)
{
    char line[512];
    sim_report_line(r, line, sizeof(line));
    printf("%s: %s\n", what, line);
}

/* One clean update over `link`: activated, byte-exact, one COMMIT reset, nothing repeated. */
static void clean_update(bl_chip_t chip, const char *old_app, const char *pkg_name,
                         const char *link)
{
    sim_config_t c = device(chip, old_app, 1);
    c.plan.link_h2d = c.plan.link_d2h = link;
    sim_t *s = make(&c);
    pkg_t *pkg = open_pkg(pkg_name);
    session_image_t img = sim_image_of(pkg_image(pkg, 0));
    sim_report_t r;
    session_err_t e = sim_run_image(s, &img, &r);
    char what[128];
    snprintf(what, sizeof(what), "%s on %s over %s", pkg_name,
             chip == BL_CHIP_NRF52840 ? "nRF52840" : "nRF52832", link);
    print_report(what, &r);
    if (e != SESSION_OK)
        fail_msg("%s: %s", session_strerror(e), r.res.msg);
    assert_true(sim_bank0_equals(s, img.bin, img.bin_len));
    assert_int_equal(sim_app_version(s), img.fw_version);
    assert_int_equal(r.res.after.app_version, img.fw_version);
    assert_int_equal(r.device_resets, 1); /* the COMMIT reset ... */
    assert_int_equal(r.commit_resets, 1);
    assert_int_equal(r.bootloader_resets, 1); /* ... and the one after activation */
    assert_int_equal(r.boot.update, BL_UPDATE_ACTIVATED);
    assert_int_equal(r.res.retries, 0);
    assert_int_equal(r.res.resumes, 0);
    assert_int_equal(r.fw_payload, img.bin_len); /* every byte exactly once */
    assert_int_equal(r.fw_resent, 0);
    assert_int_equal(r.bad_acks, 0);
    assert_int_equal(r.fence_hits, 0);
    assert_int_equal(r.flash_faults, 0);
    assert_int_equal(r.fr_h2d.damaged + r.fr_d2h.damaged, 0);
    assert_int_equal(r.rx.no_buffer, 0); /* the host kept to the window */
    assert_true(r.t_first_byte_ns >= r.t_start_ns);
    pkg_close(pkg);
    sim_free(s);
}

static void test_sim_v2_on_52832_clean_115200(void **state)
{
    (void)state;
    clean_update(BL_CHIP_NRF52832, FIX_NRFUTIL "/images/app_s132.bin", "app_signed_v2.zip",
                 "clean-115200");
}

static void test_sim_v2_on_52832_usb_1m(void **state)
{
    (void)state;
    clean_update(BL_CHIP_NRF52832, FIX_NRFUTIL "/images/app_s132.bin", "app_signed_v2.zip",
                 "usb-1M");
}

static void test_sim_large_on_52840_clean_115200(void **state)
{
    (void)state;
    clean_update(BL_CHIP_NRF52840, FIX_NRFUTIL "/images/app_s132.bin", "app_signed_large.zip",
                 "clean-115200");
}

static void test_sim_large_on_52840_usb_1m(void **state)
{
    (void)state;
    clean_update(BL_CHIP_NRF52840, FIX_NRFUTIL "/images/app_s132.bin", "app_signed_large.zip",
                 "usb-1M");
}

/* sd_req 0xFFFE with a SoftDevice present: staged fine, refused by post-validation. */
static void test_sim_rejected_package_keeps_the_old_app(void **state)
{
    (void)state;
    /* Not app_s132.bin: that is the package's own image, so it would count as activated. */
    sim_config_t c = device(BL_CHIP_NRF52832, FIX_NRFUTIL "/images/app_tiny.bin", 1);
    sim_t *s = make(&c);
    size_t old_len;
    uint8_t *old = fix_read_file(FIX_NRFUTIL "/images/app_tiny.bin", &old_len);
    sim_report_t r;
    assert_int_equal(sim_run_update(s, PKGS "app_signed_sdreq_fffe.zip", &r), SESSION_ERR_REJECTED);
    print_report("app_signed_sdreq_fffe.zip", &r);
    assert_non_null(strstr(r.res.msg, "still runs version 1"));
    assert_int_equal(r.boot.update, BL_UPDATE_REJECTED);
    assert_int_equal(r.boot.verdict.ext, BL_EXT_SD_VERSION_FAILURE);
    assert_int_equal(sim_device_state(s), BL_STATE_APP);
    assert_true(sim_bank0_equals(s, old, old_len));
    assert_int_equal(sim_app_version(s), 1);
    assert_int_equal(r.device_resets, 1);
    assert_int_equal(r.bad_acks, 0);
    assert_int_equal(r.fence_hits, 0);
    free(old);
    sim_free(s);
}

/* 300 KB after a 50 KB app on an nRF52832: INFO's max_image says no before any flash op. */
static void test_sim_too_large_sends_nothing_and_writes_nothing(void **state)
{
    (void)state;
    sim_config_t c = device(BL_CHIP_NRF52832, FIX_NRFUTIL "/images/app_s132.bin", 1);
    sim_t *s = make(&c);
    sim_report_t r;
    assert_int_equal(sim_run_update(s, PKGS "app_signed_large.zip", &r), SESSION_ERR_TOO_LARGE);
    print_report("app_signed_large.zip on nRF52832", &r);
    assert_int_equal(r.flash_ops, 0);
    assert_int_equal(r.fw_payload, 0);
    assert_int_equal(r.device_resets, 0);
    assert_true(r.res.have_before);
    assert_true(r.res.before.max_image < 302280u);
    assert_int_equal(sim_app_version(s), 1);
    sim_free(s);
}

/* sim_reset() returns to the pristine device: the same update twice gives the same report. */
static void test_sim_reset_replays_identically(void **state)
{
    (void)state;
    sim_config_t c = device(BL_CHIP_NRF52832, FIX_NRFUTIL "/images/app_s132.bin", 1);
    c.plan.link_h2d = c.plan.link_d2h = "noisy";
    c.plan.seed_h2d = 7, c.plan.seed_d2h = 8;
    sim_t *s = make(&c);
    pkg_t *pkg = open_pkg("app_signed_v2.zip");
    session_image_t img = sim_image_of(pkg_image(pkg, 0));
    sim_report_t a, b;
    assert_int_equal(sim_run_image(s, &img, &a), SESSION_OK);
    uint64_t ta = a.t_total_ns, ra = a.res.retries, ops = a.flash_ops;
    assert_int_equal(sim_reset(s, &c.plan), 0);
    assert_int_equal(sim_app_version(s), 1);
    assert_int_equal(sim_run_image(s, &img, &b), SESSION_OK);
    assert_int_equal(b.t_total_ns, ta);
    assert_int_equal(b.res.retries, ra);
    assert_int_equal(b.flash_ops, ops);
    pkg_close(pkg);
    sim_free(s);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_v2_on_52832_clean_115200),
        cmocka_unit_test(test_sim_v2_on_52832_usb_1m),
        cmocka_unit_test(test_sim_large_on_52840_clean_115200),
        cmocka_unit_test(test_sim_large_on_52840_usb_1m),
        cmocka_unit_test(test_sim_rejected_package_keeps_the_old_app),
        cmocka_unit_test(test_sim_too_large_sends_nothing_and_writes_nothing),
        cmocka_unit_test(test_sim_reset_replays_identically),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
