/*
 * The bootloader replay's verdicts (spec 7, 8.2, 8.3) on updates staged by
 * hand here, exactly per the spec's recipe - independently of dfuart's
 * device code, so the replay is judged by the spec alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <zlib.h>

#include "emulator/bl_boot.h"
#include "emulator/bl_settings.h"
#include "fixtures.h"

#define FIX FIX_NRFUTIL

static cJSON *g_pkgs;

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

/* The .dat of the first image of package `name` (e.g. "app_signed_v2.zip"). */
static size_t package_dat(const char *name, uint8_t *out)
{
    return fix_package_dat(g_pkgs, name, 0, out);
}

typedef struct {
    emu_device_t *dev;
    uint8_t *old_app, *new_app;
    size_t old_len, new_len;
} rig_t;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/* nRF52832 + S132 7.2.0 stand-in + app v`ver` in bank 0, nrfutil-style settings. */
static void make_device(rig_t *r, bl_profile_t profile, uint32_t ver)
{
    bl_config_t cfg;
    bl_config_defaults(&cfg, BL_CHIP_NRF52832, profile);
    fix_public_key(g_pkgs, cfg.public_key);
    r->dev = emu_device_new(&cfg);
    assert_non_null(r->dev);
    uint8_t info[16];
    put32(info, 0x2C);
    put32(info + 4, EMU_SD_MAGIC);
    put32(info + 8, 0x26000);
    put32(info + 12, 0x0101);
    assert_int_equal(flash_load(r->dev->flash, EMU_SD_INFO_ADDR, info, 16), FLASH_OK);
    r->old_app = fix_read_file(FIX "/images/app_s132.bin", &r->old_len);
    r->new_app = fix_read_file(FIX "/images/app_v2.bin", &r->new_len);
    assert_int_equal(flash_load(r->dev->flash, 0x26000, r->old_app, (uint32_t)r->old_len),
                     FLASH_OK);
    static bl_settings_pages_t pages;
    bl_settings_gen_t gen = {.family = BL_SETTINGS_FAMILY_NRF52,
                             .settings_version = 2,
                             .app_version = ver,
                             .bootloader_version = 1,
                             .app = r->old_app,
                             .app_len = r->old_len,
                             .app_bv = BL_SETTINGS_BV_CRC};
    assert_int_equal(bl_settings_generate(&gen, &pages), BL_SETTINGS_OK);
    assert_int_equal(flash_load(r->dev->flash, pages.settings_addr, pages.settings, 4096),
                     FLASH_OK);
    assert_int_equal(flash_load(r->dev->flash, pages.backup_addr, pages.backup, 4096), FLASH_OK);
}

static void free_rig(rig_t *r)
{
    emu_device_free(r->dev);
    free(r->old_app);
    free(r->new_app);
}

static void read_settings(rig_t *r, uint32_t addr, bl_settings_t *s)
{
    uint8_t raw[BL_SETTINGS_SIZE];
    assert_int_equal(flash_read(r->dev->flash, addr, raw, sizeof(raw)), FLASH_OK);
    bl_settings_decode(raw, s);
}

/* Spec 8.3 steps 1-6, with the programmer's pen: bank 1 + the main settings page. */
static void stage(rig_t *r, const char *pkg, const uint8_t *img, size_t len)
{
    uint8_t dat[512], raw[BL_SETTINGS_SIZE];
    size_t n = package_dat(pkg, dat);
    bl_settings_t s;
    read_settings(r, 0x7F000, &s);
    uint32_t bank1 = emu_bank1_start(r->dev, s.bank_0.image_size);
    assert_int_equal(bank1, 0x26000 + 0xD000);
    assert_int_equal(flash_load(r->dev->flash, bank1, img, (uint32_t)len), FLASH_OK);
    memset(s.init_command, 0xFF, sizeof(s.init_command));
    memcpy(s.init_command, dat, n);
    memset(&s.progress, 0, sizeof(s.progress));
    s.progress.command_size = s.progress.command_offset = (uint32_t)n;
    s.progress.command_crc = (uint32_t)crc32(0, dat, (uInt)n);
    s.write_offset = 0;
    s.bank_current = 1;
    bl_settings_encode(&s, raw);
    put32(raw, bl_settings_crc_compute(raw));
    assert_int_equal(flash_load(r->dev->flash, 0x7F000, raw, sizeof(raw)), FLASH_OK);
}

static int bank0_is(const rig_t *r, const uint8_t *img, size_t len)
{
    return memcmp(flash_bytes(r->dev->flash) + 0x26000, img, len) == 0;
}

static void test_bl_boot_fresh_device_runs_its_app(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.state, BL_STATE_APP);
    assert_int_equal(rep.update, BL_UPDATE_NONE);
    assert_true(rep.app_valid);
    assert_int_equal(rep.bank0_start, 0x26000);
    assert_int_equal(rep.resets, 1);
    /* 16.0+ populate the MBR words the MBR uses to find the bootloader. */
    assert_int_equal(emu_read32(r.dev, EMU_MBR_BL_ADDR), 0x78000);
    assert_int_equal(emu_read32(r.dev, EMU_MBR_PARAMS), 0x7E000);
    free_rig(&r);
}

static void test_bl_boot_staged_update_is_activated(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    stage(&r, "app_signed_v2.zip", r.new_app, r.new_len);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.state, BL_STATE_APP);
    assert_int_equal(rep.update, BL_UPDATE_ACTIVATED);
    assert_int_equal(rep.verdict.result, BL_RES_SUCCESS);
    assert_int_equal(rep.app_version, 2);
    assert_int_equal(rep.resets, 2); /* activation ends in a reset */
    assert_true(bank0_is(&r, r.new_app, r.new_len));
    assert_int_equal(rep.copied_bytes, r.new_len);
    bl_settings_t s, b;
    read_settings(&r, 0x7F000, &s);
    read_settings(&r, 0x7E000, &b);
    assert_int_equal(s.bank_current, 0);
    assert_int_equal(s.bank_1.bank_code, 0);
    assert_int_equal(s.bank_0.image_crc, (uint32_t)crc32(0, r.new_app, (uInt)r.new_len));
    assert_memory_equal(&s, &b, sizeof(s)); /* backup follows */
    free_rig(&r);
}

static void test_bl_boot_stock_profile_drops_the_update(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_STOCK, 1);
    stage(&r, "app_signed_v2.zip", r.new_app, r.new_len);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.state, BL_STATE_APP);
    assert_int_equal(rep.update, BL_UPDATE_IGNORED);
    assert_int_equal(rep.settings_load, BL_SETTINGS_LOADED_MAIN_RESTORED);
    assert_int_equal(rep.app_version, 1);
    assert_true(bank0_is(&r, r.old_app, r.old_len));
    bl_settings_t s;
    read_settings(&r, 0x7F000, &s);
    assert_int_equal(s.bank_current, 0); /* restored from the backup and rewritten */
    /* And the settings page is write-protected for the app from then on. */
    assert_int_equal(flash_erase_page(r.dev->flash, FLASH_ACTOR_APP_SD, 0x7F000),
                     FLASH_ERR_PROTECTED);
    free_rig(&r);
}

static void expect_rejected(const char *pkg, uint32_t ver, bl_result_t res, bl_ext_t ext)
{
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, ver);
    stage(&r, pkg, r.new_app, r.new_len);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.state, BL_STATE_APP);
    assert_int_equal(rep.update, BL_UPDATE_REJECTED);
    assert_int_equal(rep.verdict.result, res);
    if (res == BL_RES_EXT_ERROR)
        assert_int_equal(rep.verdict.ext, ext);
    assert_true(bank0_is(&r, r.old_app, r.old_len));
    assert_int_equal(rep.app_version, ver);
    bl_settings_t s;
    read_settings(&r, 0x7F000, &s);
    assert_int_equal(s.bank_current, 0);
    free_rig(&r);
}

static void test_bl_boot_rejections_keep_the_old_app(void **state)
{
    (void)state;
    /* app_v2.bin under app_signed.zip's init: hash mismatch after staging. */
    expect_rejected("app_signed.zip", 1, BL_RES_EXT_ERROR, BL_EXT_VERIFICATION_FAILED);
    expect_rejected("app_signed_otherkey.zip", 1, BL_RES_INVALID_OBJECT, 0);
    expect_rejected("app_signed_v2.zip", 3, BL_RES_EXT_ERROR, BL_EXT_FW_VERSION_FAILURE);
    expect_rejected("app_signed_hw52840.zip", 1, BL_RES_EXT_ERROR, BL_EXT_HW_VERSION_FAILURE);
    expect_rejected("app_signed_sdreq_fffe.zip", 1, BL_RES_EXT_ERROR, BL_EXT_SD_VERSION_FAILURE);
    expect_rejected("app_unsigned.zip", 1, BL_RES_EXT_ERROR, BL_EXT_SIGNATURE_MISSING);
}

static void test_bl_boot_signature_failure_leaves_init_command(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    stage(&r, "app_signed_otherkey.zip", r.new_app, r.new_len);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    bl_settings_t s;
    read_settings(&r, 0x7F000, &s);
    uint8_t dat[512];
    size_t n = package_dat("app_signed_otherkey.zip", dat);
    /* Spec 8.2 note: not cleared; a product should clear it itself. */
    assert_memory_equal(s.init_command, dat, n);
    assert_int_equal(s.progress.command_size, n);
    free_rig(&r);
}

static void test_bl_boot_hash_mismatch_zeroes_bank1(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    r.new_app[100] ^= 1;
    stage(&r, "app_signed_v2.zip", r.new_app, r.new_len);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.update, BL_UPDATE_REJECTED);
    assert_int_equal(rep.verdict.ext, BL_EXT_VERIFICATION_FAILED);
    bl_settings_t s;
    read_settings(&r, 0x7F000, &s);
    assert_int_equal(s.bank_1.bank_code, 0);
    assert_int_equal(s.bank_1.image_size, 0);
    assert_int_equal(s.progress.command_size, 0);
    assert_int_equal(s.progress.update_start_address, 0x33000);
    free_rig(&r);
}

static void test_bl_boot_incomplete_init_command(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    stage(&r, "app_signed_v2.zip", r.new_app, r.new_len);
    uint8_t raw[BL_SETTINGS_SIZE];
    assert_int_equal(flash_read(r.dev->flash, 0x7F000, raw, sizeof(raw)), FLASH_OK);
    put32(raw + 60, 10); /* command_offset != command_size */
    put32(raw, bl_settings_crc_compute(raw));
    assert_int_equal(flash_load(r.dev->flash, 0x7F000, raw, sizeof(raw)), FLASH_OK);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.update, BL_UPDATE_REJECTED);
    assert_int_equal(rep.verdict.result, BL_RES_OPERATION_NOT_PERMITTED);
    assert_true(bank0_is(&r, r.old_app, r.old_len));
    free_rig(&r);
}

static void test_bl_boot_bad_settings_crc_uses_backup(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    stage(&r, "app_signed_v2.zip", r.new_app, r.new_len);
    uint8_t raw[BL_SETTINGS_SIZE];
    assert_int_equal(flash_read(r.dev->flash, 0x7F000, raw, sizeof(raw)), FLASH_OK);
    raw[0] ^= 0xFF; /* the app forgot to recompute the CRC */
    assert_int_equal(flash_load(r.dev->flash, 0x7F000, raw, sizeof(raw)), FLASH_OK);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.settings_load, BL_SETTINGS_LOADED_BACKUP);
    assert_int_equal(rep.update, BL_UPDATE_NONE);
    assert_int_equal(rep.state, BL_STATE_APP);
    assert_true(bank0_is(&r, r.old_app, r.old_len));
    free_rig(&r);
}

static void test_bl_boot_both_settings_invalid_stays_in_dfu(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    uint8_t junk[BL_SETTINGS_SIZE];
    memset(junk, 0xA5, sizeof(junk));
    assert_int_equal(flash_load(r.dev->flash, 0x7F000, junk, sizeof(junk)), FLASH_OK);
    assert_int_equal(flash_load(r.dev->flash, 0x7E000, junk, sizeof(junk)), FLASH_OK);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.settings_load, BL_SETTINGS_LOADED_DEFAULTS);
    assert_int_equal(rep.state, BL_STATE_DFU);
    assert_false(rep.app_valid);
    free_rig(&r);
}

static void test_bl_boot_corrupt_bank0_stays_in_dfu(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    uint8_t zero[4] = {0};
    assert_int_equal(flash_load(r.dev->flash, 0x26000 + 512, zero, 4), FLASH_OK);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.state, BL_STATE_DFU); /* boot validation (CRC) fails */
    r.dev->cfg.debug_build = true;             /* debug bootloaders pass it (quirk 15) */
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.state, BL_STATE_APP);
    free_rig(&r);
}

/* Quirk 12 (spec 7.2): a copy whose CRC does not match still reports success,
 * then the device resets into DFU mode because bank 0 is no longer valid. */
static void test_bl_boot_activation_crc_failure_ends_in_dfu(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    uint8_t raw[BL_SETTINGS_SIZE];
    bl_settings_t s;
    read_settings(&r, 0x7F000, &s);
    assert_int_equal(flash_load(r.dev->flash, 0x33000, r.new_app, (uint32_t)r.new_len), FLASH_OK);
    s.bank_1 = (bl_settings_bank_t){(uint32_t)r.new_len, 0xDEADBEEF, BL_SETTINGS_BANK_VALID_APP};
    s.bank_0.bank_code = BL_SETTINGS_BANK_INVALID;
    s.progress.update_start_address = 0x33000;
    bl_settings_encode(&s, raw);
    bl_settings_update_crcs(raw);
    /* as post-validation leaves it: both pages agree */
    assert_int_equal(flash_load(r.dev->flash, 0x7F000, raw, sizeof(raw)), FLASH_OK);
    assert_int_equal(flash_load(r.dev->flash, 0x7E000, raw, sizeof(raw)), FLASH_OK);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    assert_int_equal(rep.resets, 2); /* "success": the bootloader reset once */
    assert_int_equal(rep.state, BL_STATE_DFU);
    assert_false(rep.app_valid);
    assert_non_null(rep.reason);
    assert_true(bank0_is(&r, r.new_app, r.new_len)); /* copied, but not trusted */
    read_settings(&r, 0x7F000, &s);
    assert_int_equal(s.bank_1.bank_code, 0);
    free_rig(&r);
}

/* After a cut and a clean boot: old or new app, never neither; a retry completes. */
static int recover_and_retry(rig_t *r, uint64_t i, size_t m)
{
    bl_boot_report_t rep;
    bl_boot_run(r->dev, &rep); /* power back */
    int is_new = bank0_is(r, r->new_app, r->new_len);
    if (rep.state != BL_STATE_APP || (!is_new && !bank0_is(r, r->old_app, r->old_len)))
        fail_msg("cut mode %zu at op %llu: state %s, bank 0 neither old nor new", m,
                 (unsigned long long)i, bl_state_name(rep.state));
    assert_int_equal(rep.app_version, is_new ? 2 : 1);
    if (!is_new) { /* the update was lost (see spec 2.6): stage it again */
        stage(r, "app_signed_v2.zip", r->new_app, r->new_len);
        bl_boot_run(r->dev, &rep);
        assert_int_equal(rep.state, BL_STATE_APP);
        assert_true(bank0_is(r, r->new_app, r->new_len));
    }
    return !is_new;
}

/*
 * Cut power at every flash operation of the boot replay (post-validation,
 * the activation copy and every settings write), in every mode.
 */
static void test_bl_boot_power_cut_at_every_operation(void **state)
{
    (void)state;
    rig_t r;
    make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
    stage(&r, "app_signed_v2.zip", r.new_app, r.new_len);
    uint64_t before = flash_op_count(r.dev->flash);
    bl_boot_report_t rep;
    bl_boot_run(r.dev, &rep);
    uint64_t ops = flash_op_count(r.dev->flash) - before;
    assert_true(ops > 20);
    free_rig(&r);
    static const flash_cut_mode_t modes[] = {FLASH_CUT_BEFORE, FLASH_CUT_TORN, FLASH_CUT_AFTER};
    unsigned lost = 0;
    for (size_t m = 0; m < 3; m++)
        for (uint64_t i = 1; i <= ops; i++) {
            make_device(&r, BL_PROFILE_UPDATE_FROM_APP, 1);
            stage(&r, "app_signed_v2.zip", r.new_app, r.new_len);
            assert_int_equal(flash_cut_arm(r.dev->flash, i, modes[m], i * 7919u + m), FLASH_OK);
            bl_boot_run(r.dev, &rep);
            assert_int_equal(rep.state, BL_STATE_POWER_LOST);
            lost += (unsigned)recover_and_retry(&r, i, m);
            free_rig(&r);
        }
    /* Report, not assert: how often the SDK's own write order loses the request. */
    printf("boot replay power cuts: %llu ops x 3 modes, 0 bricks, %u updates lost and retried\n",
           (unsigned long long)ops, lost);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bl_boot_fresh_device_runs_its_app),
        cmocka_unit_test(test_bl_boot_staged_update_is_activated),
        cmocka_unit_test(test_bl_boot_stock_profile_drops_the_update),
        cmocka_unit_test(test_bl_boot_rejections_keep_the_old_app),
        cmocka_unit_test(test_bl_boot_signature_failure_leaves_init_command),
        cmocka_unit_test(test_bl_boot_hash_mismatch_zeroes_bank1),
        cmocka_unit_test(test_bl_boot_incomplete_init_command),
        cmocka_unit_test(test_bl_boot_bad_settings_crc_uses_backup),
        cmocka_unit_test(test_bl_boot_both_settings_invalid_stays_in_dfu),
        cmocka_unit_test(test_bl_boot_corrupt_bank0_stays_in_dfu),
        cmocka_unit_test(test_bl_boot_activation_crc_failure_ends_in_dfu),
        cmocka_unit_test(test_bl_boot_power_cut_at_every_operation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
