/*
 * dfuart's device staging core (device_fw) run as the application of an
 * emulated nRF52 through the emu_hal adapter, with nrfutil's own packages,
 * judged by the bootloader replay at the next boot. Every protection rule
 * of the flash model applies, and power is cut at every flash op.
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
#include "emulator/bl_boot.h"
#include "emulator/emu_create.h"
#include "emulator/emu_hal.h"
#include "proto/sig.h"

#define FIX DFUART_FIXTURES "/nrfutil"

typedef struct {
    bl_chip_t chip;
    emu_sd_t sd;
    const char *app; /* fixture image name */
    uint32_t version;
    bl_profile_t profile;
    bl_sdk_t sdk;
} dev_spec_t;

static const dev_spec_t S132_V1 = {BL_CHIP_NRF52832,           EMU_SD_S132_7_2_0, "app_s132.bin", 1,
                                   BL_PROFILE_UPDATE_FROM_APP, BL_SDK_17_1};

static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), FIX "/images/%s", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static pkg_t *open_pkg(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), FIX "/packages/%s", name);
    pkg_t *pkg = NULL;
    pkg_diag_t d;
    if (pkg_open(path, &pkg, &d) != PKG_OK)
        fail_msg("%s", d.msg);
    return pkg;
}

static emu_device_t *make_dev(const dev_spec_t *s)
{
    emu_create_params_t p = {0};
    bl_config_defaults(&p.cfg, s->chip, s->profile);
    p.cfg.sdk = s->sdk;
    sig_key_t *key = NULL;
    assert_int_equal(sig_key_load(FIX "/keys/public.pem", &key), SIG_OK);
    sig_key_raw_le(key, p.cfg.public_key);
    sig_key_free(key);
    char path[512];
    snprintf(path, sizeof(path), FIX "/images/%s", s->app);
    emu_app_image_t app;
    emu_create_diag_t d;
    assert_int_equal(emu_app_load(path, &app, &d), EMU_CREATE_OK);
    p.sd = s->sd;
    p.app = &app;
    p.app_version = s->version;
    p.bootloader_version = 1;
    p.app_bv = BL_SETTINGS_BV_CRC;
    emu_device_t *dev = NULL;
    if (emu_create_device(&p, &dev, &d) != EMU_CREATE_OK)
        fail_msg("%s", d.msg);
    emu_app_free(&app);
    return dev;
}

static void boot(emu_device_t *dev, bl_boot_report_t *rep)
{
    bl_boot_run(dev, rep);
    assert_int_equal(rep->state, BL_STATE_APP);
}

static dfw_err_t stage_as(emu_device_t *dev, const pkg_t *pkg, flash_actor_t actor,
                          emu_stage_report_t *rep)
{
    const pkg_image_t *img = pkg_image(pkg, 0);
    dfw_err_t e =
        emu_stage_app(dev, actor, img->dat, img->dat_len, img->bin, img->bin_len, 2048, rep);
    char why[256];
    emu_fence_format(&rep->fence, why, sizeof(why));
    if (rep->fence.hits)
        fail_msg("%s", why); /* R5: device code stays in bank 1 and the settings page */
    return e;
}

static dfw_err_t stage(emu_device_t *dev, const pkg_t *pkg, emu_stage_report_t *rep)
{
    return stage_as(dev, pkg, emu_hal_app_actor(dev), rep);
}

static bool bank0_eq(const emu_device_t *dev, const uint8_t *want, size_t len)
{
    return memcmp(flash_bytes(dev->flash) + emu_bank0_start(dev), want, len) == 0;
}

static bool bank0_is(const emu_device_t *dev, const char *image)
{
    size_t len;
    uint8_t *want = read_fixture(image, &len);
    bool same = bank0_eq(dev, want, len);
    free(want);
    return same;
}

static uint32_t align4k(uint32_t v)
{
    return (v + 0xFFFu) & ~0xFFFu;
}

/* Flash-model record: bytes and erase counters outside the allowed ranges are unchanged. */
static void assert_only_bank1_and_settings(const emu_device_t *dev, const uint8_t *before,
                                           const uint32_t *erases, const emu_stage_report_t *r)
{
    const uint8_t *now = flash_bytes(dev->flash);
    uint32_t size = flash_chip(dev->flash)->size, b1_end = align4k(r->bank1 + r->size);
    uint32_t st = dev->cfg.settings_addr;
    for (uint32_t a = 0; a < size; a += 4096) {
        bool allowed = (a >= r->bank1 && a < b1_end) || a == st;
        if (allowed)
            continue;
        if (memcmp(now + a, before + a, 4096) != 0 ||
            flash_page_erase_count(dev->flash, a) != erases[a / 4096])
            fail_msg("staging touched page 0x%05X outside bank 1 and the settings page", a);
    }
}

static void test_emu_stage_update_is_activated_at_next_boot(void **state)
{
    (void)state;
    emu_device_t *dev = make_dev(&S132_V1);
    pkg_t *pkg = open_pkg("app_signed_v2.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    uint32_t size = flash_chip(dev->flash)->size, erases[256];
    uint8_t *before = malloc(size);
    memcpy(before, flash_bytes(dev->flash), size);
    for (uint32_t a = 0; a < size; a += 4096)
        erases[a / 4096] = flash_page_erase_count(dev->flash, a);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r), DFW_RESET_REQUIRED);
    assert_int_equal(r.bank1, 0x33000);
    assert_int_equal(flash_fault_count(dev->flash), 0);
    assert_only_bank1_and_settings(dev, before, erases, &r);
    boot(dev, &rep);
    assert_int_equal(rep.update, BL_UPDATE_ACTIVATED);
    assert_int_equal(rep.app_version, 2);
    assert_true(bank0_is(dev, "app_v2.bin"));
    free(before);
    pkg_close(pkg);
    emu_device_free(dev);
}

static void test_emu_stage_large_image_refused_without_flash_op(void **state)
{
    (void)state;
    dev_spec_t s = S132_V1;
    s.app = "app_large.bin"; /* bank 1 then starts at 0x70000: 20 KiB left */
    emu_device_t *dev = make_dev(&s);
    pkg_t *pkg = open_pkg("app_signed_large.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r), DFW_ERR_NO_SPACE);
    assert_string_equal(r.step, "begin");
    assert_int_equal(r.ops, 0);
    assert_int_equal(flash_fault_count(dev->flash), 0);
    pkg_close(pkg);
    emu_device_free(dev);
}

/* Try one erase and one single-word write at `addr` through the adapter. */
static void poke(const dfw_hal_t *hal, uint32_t addr, int want)
{
    const uint32_t word = 0x12345678u;
    assert_int_equal(hal->erase_page(hal->ctx, addr & ~(EMU_PAGE - 1u)), want);
    assert_int_equal(hal->write_words(hal->ctx, addr, &word, 1), want);
}

static void test_emu_stage_fence_refuses_outside_bank1_and_settings(void **state)
{
    (void)state;
    emu_device_t *dev = make_dev(&S132_V1);
    bl_boot_report_t rep;
    boot(dev, &rep);
    emu_hal_t ctx;
    dfw_hal_t hal;
    emu_hal_init(&ctx, dev, emu_hal_app_actor(dev), &hal);
    const emu_fence_t *f = &ctx.fence;
    const bl_config_t *c = &dev->cfg;
    size_t len;
    uint8_t *app = read_fixture("app_s132.bin", &len);
    assert_int_equal(f->bank1_lo, align4k(emu_bank0_start(dev) + (uint32_t)len));
    assert_int_equal(f->bank1_hi, c->bl_start - c->app_data_area_size);
    uint8_t *before = malloc(1 << 20);
    assert_non_null(before);
    memcpy(before, flash_bytes(dev->flash), flash_chip(dev->flash)->size);
    /* Bank 0, the last app page, the app data area, the backup page, the bootloader, MBR. */
    const uint32_t bad[] = {
        emu_bank0_start(dev), f->bank1_lo - EMU_PAGE, f->bank1_hi, c->backup_addr, c->bl_start, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        poke(&hal, bad[i], EMU_HAL_FENCE_RC);
    assert_memory_equal(before, flash_bytes(dev->flash), flash_chip(dev->flash)->size);
    assert_int_equal(f->hits, 2 * (sizeof(bad) / sizeof(bad[0])));
    assert_string_equal(f->call, "erase");
    assert_int_equal(f->addr, emu_bank0_start(dev));
    /* A write that starts in bank 1 and runs into the app data area is refused too. */
    const uint32_t two[2] = {0, 0};
    assert_int_equal(hal.write_words(hal.ctx, f->bank1_hi - 4, two, 2), EMU_HAL_FENCE_RC);
    /* Bank 1's first and last pages and the settings page are the application's. */
    poke(&hal, f->bank1_lo, 0);
    poke(&hal, f->bank1_hi - 4, 0);
    poke(&hal, c->settings_addr, 0);
    assert_int_equal(f->hits, 2 * (sizeof(bad) / sizeof(bad[0])) + 1);
    char line[256];
    emu_fence_format(f, line, sizeof(line));
    assert_non_null(strstr(line, "device code tried to erase [0x26000, +4096), outside bank 1"));
    free(before);
    free(app);
    emu_device_free(dev);
}

static void test_emu_stage_stock_17_settings_write_faults(void **state)
{
    (void)state;
    dev_spec_t s = S132_V1;
    s.profile = BL_PROFILE_STOCK;
    emu_device_t *dev = make_dev(&s);
    pkg_t *pkg = open_pkg("app_signed_v2.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r), DFW_ERR_FLASH);
    assert_string_equal(r.step, "finish");
    assert_int_equal(r.flash_err, FLASH_ERR_PROTECTED);
    assert_int_equal(r.flash_addr, 0x7F000);
    assert_int_equal(flash_fault_count(dev->flash), 1);
    const flash_fault_t *ft = flash_fault_at(dev->flash, 0);
    assert_int_equal(ft->kind, FLASH_FAULT_BPROT);
    assert_string_equal(ft->what, "bootloader settings page");
    boot(dev, &rep); /* the hard fault resets the chip */
    assert_int_equal(rep.update, BL_UPDATE_NONE);
    assert_int_equal(rep.app_version, 1);
    assert_true(bank0_is(dev, "app_s132.bin"));
    pkg_close(pkg);
    emu_device_free(dev);
}

static void test_emu_stage_stock_15_3_update_silently_dropped(void **state)
{
    (void)state;
    dev_spec_t s = S132_V1;
    s.profile = BL_PROFILE_STOCK;
    s.sdk = BL_SDK_15_3;
    emu_device_t *dev = make_dev(&s);
    pkg_t *pkg = open_pkg("app_signed_v2.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r), DFW_RESET_REQUIRED); /* 15.3 never locks the page */
    assert_int_equal(flash_fault_count(dev->flash), 0);
    boot(dev, &rep);
    assert_int_equal(rep.update, BL_UPDATE_IGNORED);
    assert_int_equal(rep.app_version, 1);
    assert_true(bank0_is(dev, "app_s132.bin"));
    pkg_close(pkg);
    emu_device_free(dev);
}

static void test_emu_stage_nvmc_with_softdevice_faults(void **state)
{
    (void)state;
    emu_device_t *dev = make_dev(&S132_V1);
    pkg_t *pkg = open_pkg("app_signed_v2.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    assert_int_equal(emu_hal_app_actor(dev), FLASH_ACTOR_APP_SD);
    emu_stage_report_t r;
    assert_int_equal(stage_as(dev, pkg, FLASH_ACTOR_APP_NVMC, &r), DFW_ERR_FLASH);
    assert_int_equal(r.flash_err, FLASH_ERR_SD_MEMACC);
    assert_int_equal(r.ops, 0);
    const flash_fault_t *ft = flash_fault_at(dev->flash, 0);
    assert_non_null(ft);
    assert_int_equal(ft->kind, FLASH_FAULT_SD_MEMACC);
    assert_string_equal(ft->what, "SOFTDEVICE: INVALID MEMORY ACCESS");
    pkg_close(pkg);
    emu_device_free(dev);
}

static void test_emu_stage_mbr_only_device_uses_nvmc(void **state)
{
    (void)state;
    dev_spec_t s = S132_V1;
    s.sd = EMU_SD_NONE; /* the .bin lands at 0x1000 */
    emu_device_t *dev = make_dev(&s);
    pkg_t *pkg = open_pkg("app_signed_sdreq_0.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    assert_int_equal(emu_hal_app_actor(dev), FLASH_ACTOR_APP_NVMC);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r), DFW_RESET_REQUIRED);
    assert_int_equal(r.bank1, 0x1000 + align4k(50016));
    boot(dev, &rep);
    assert_int_equal(rep.update, BL_UPDATE_ACTIVATED);
    assert_int_equal(rep.bank0_start, 0x1000);
    pkg_close(pkg);
    emu_device_free(dev);
}

static void test_emu_stage_sd_req_fffe_rejected_at_boot(void **state)
{
    (void)state;
    emu_device_t *dev = make_dev(&S132_V1);
    pkg_t *pkg = open_pkg("app_signed_sdreq_fffe.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r),
                     DFW_RESET_REQUIRED); /* the device does not judge sd_req */
    boot(dev, &rep);
    assert_int_equal(rep.update, BL_UPDATE_REJECTED);
    assert_int_equal(rep.verdict.result, BL_RES_EXT_ERROR);
    assert_int_equal(rep.verdict.ext, BL_EXT_SD_VERSION_FAILURE);
    assert_int_equal(rep.app_version, 1);
    assert_true(bank0_is(dev, "app_s132.bin"));
    pkg_close(pkg);
    emu_device_free(dev);
}

static void test_emu_stage_corrupt_bank1_rejected_by_hash(void **state)
{
    (void)state;
    emu_device_t *dev = make_dev(&S132_V1);
    pkg_t *pkg = open_pkg("app_signed_v2.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r), DFW_RESET_REQUIRED);
    uint8_t b = (uint8_t)(flash_bytes(dev->flash)[r.bank1 + 1000] ^ 0x01);
    assert_int_equal(flash_load(dev->flash, r.bank1 + 1000, &b, 1), FLASH_OK);
    boot(dev, &rep);
    assert_int_equal(rep.update, BL_UPDATE_REJECTED);
    assert_int_equal(rep.verdict.ext, BL_EXT_VERIFICATION_FAILED);
    assert_true(bank0_is(dev, "app_s132.bin"));
    pkg_close(pkg);
    emu_device_free(dev);
}

static void test_emu_stage_unsupported_type_refused(void **state)
{
    (void)state;
    emu_device_t *dev = make_dev(&S132_V1);
    pkg_t *pkg = open_pkg("bl_signed.zip");
    bl_boot_report_t rep;
    boot(dev, &rep);
    emu_stage_report_t r;
    assert_int_equal(stage(dev, pkg, &r), DFW_ERR_UNSUPPORTED_TYPE);
    assert_int_equal(r.ops, 0);
    pkg_close(pkg);
    emu_device_free(dev);
}

/* ---- power cuts ------------------------------------------------------------------------ */

typedef struct {
    const emu_device_t *tmpl; /* created, never booted */
    const pkg_t *pkg;
    uint8_t *old_img, *new_img;
    size_t old_len, new_len;
    uint32_t new_version;
    unsigned bricks, wrong, tried, lost;
} cut_run_t;

static emu_device_t *clone(const emu_device_t *tmpl)
{
    emu_device_t *dev = emu_device_new(&tmpl->cfg);
    assert_non_null(dev);
    assert_int_equal(
        flash_load_raw(dev->flash, flash_bytes(tmpl->flash), flash_chip(tmpl->flash)->size),
        FLASH_OK);
    return dev;
}

/* After power returns: old or new image, never neither; returns 1 if new. */
static int check_after_boot(cut_run_t *c, emu_device_t *dev, const bl_boot_report_t *rep)
{
    bool is_new = bank0_eq(dev, c->new_img, c->new_len);
    bool is_old = bank0_eq(dev, c->old_img, c->old_len);
    if (rep->state != BL_STATE_APP)
        c->bricks++;
    else if (!(is_new || is_old) || rep->app_version != (is_new ? c->new_version : 1u))
        c->wrong++;
    return is_new;
}

static void cut_once(cut_run_t *c, uint64_t i, flash_cut_mode_t mode)
{
    emu_device_t *dev = clone(c->tmpl);
    bl_boot_report_t rep;
    emu_stage_report_t r;
    boot(dev, &rep);
    assert_int_equal(flash_cut_arm(dev->flash, i, mode, i * 2654435761u + mode), FLASH_OK);
    assert_int_not_equal(stage(dev, c->pkg, &r), DFW_RESET_REQUIRED);
    assert_int_equal(r.flash_err, FLASH_ERR_POWER_CUT);
    bl_boot_run(dev, &rep); /* power back */
    c->tried++;
    if (!check_after_boot(c, dev, &rep)) {
        c->lost++;
        if (stage(dev, c->pkg, &r) != DFW_RESET_REQUIRED)
            c->bricks++; /* the app could not retry: as good as stuck */
        bl_boot_run(dev, &rep);
        if (!check_after_boot(c, dev, &rep))
            c->wrong++; /* the retry must land the new image */
    }
    emu_device_free(dev);
}

static void power_cuts(const char *pkg_name, const char *new_image, uint32_t new_version)
{
    emu_device_t *tmpl = make_dev(&S132_V1);
    pkg_t *pkg = open_pkg(pkg_name);
    cut_run_t c = {tmpl, pkg, NULL, NULL, 0, 0, new_version, 0, 0, 0, 0};
    c.old_img = read_fixture("app_s132.bin", &c.old_len);
    c.new_img = read_fixture(new_image, &c.new_len);
    emu_device_t *dev = clone(tmpl);
    bl_boot_report_t rep;
    emu_stage_report_t r;
    boot(dev, &rep);
    assert_int_equal(stage(dev, pkg, &r), DFW_RESET_REQUIRED);
    uint64_t ops = r.ops;
    emu_device_free(dev);
    static const flash_cut_mode_t modes[] = {FLASH_CUT_BEFORE, FLASH_CUT_TORN, FLASH_CUT_AFTER};
    for (size_t m = 0; m < 3; m++)
        for (uint64_t i = 1; i <= ops; i++)
            cut_once(&c, i, modes[m]);
    printf("power cuts while staging %s: %llu ops, %u cuts tried, %u bricks, %u wrong images "
           "(%u updates lost and retried)\n",
           pkg_name, (unsigned long long)ops, c.tried, c.bricks, c.wrong, c.lost);
    assert_int_equal(c.tried, 3 * ops);
    assert_int_equal(c.bricks, 0);
    assert_int_equal(c.wrong, 0);
    free(c.old_img);
    free(c.new_img);
    pkg_close(pkg);
    emu_device_free(tmpl);
}

static void test_emu_stage_power_cut_tiny_at_every_op(void **state)
{
    (void)state;
    power_cuts("app_signed_tiny.zip", "app_tiny.bin", 4);
}

static void test_emu_stage_power_cut_v2_at_every_op(void **state)
{
    (void)state;
    power_cuts("app_signed_v2.zip", "app_v2.bin", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emu_stage_update_is_activated_at_next_boot),
        cmocka_unit_test(test_emu_stage_large_image_refused_without_flash_op),
        cmocka_unit_test(test_emu_stage_fence_refuses_outside_bank1_and_settings),
        cmocka_unit_test(test_emu_stage_stock_17_settings_write_faults),
        cmocka_unit_test(test_emu_stage_stock_15_3_update_silently_dropped),
        cmocka_unit_test(test_emu_stage_nvmc_with_softdevice_faults),
        cmocka_unit_test(test_emu_stage_mbr_only_device_uses_nvmc),
        cmocka_unit_test(test_emu_stage_sd_req_fffe_rejected_at_boot),
        cmocka_unit_test(test_emu_stage_corrupt_bank1_rejected_by_hash),
        cmocka_unit_test(test_emu_stage_unsupported_type_refused),
        cmocka_unit_test(test_emu_stage_power_cut_tiny_at_every_op),
        cmocka_unit_test(test_emu_stage_power_cut_v2_at_every_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
