/*
 * emu_create: a created device holds exactly what the real tools would have
 * put in flash. The settings and backup pages are compared byte for byte,
 * all 4 KiB of each, with the pages real nrfutil 6.1.7 wrote for the same
 * inputs (tests/fixtures/nrfutil/settings/, commands in commands.txt).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "emulator/bl_boot.h"
#include "emulator/emu_create.h"
#include "emulator/ihex.h"
#include "proto/sig.h"

#define FIX DFUART_FIXTURES "/nrfutil"

typedef struct {
    const char *fixture; /* settings/<name>.hex */
    bl_chip_t chip;
    emu_sd_t sd;
    const char *app; /* images/<name> */
    uint32_t app_version, bl_version;
    bl_settings_bv_type_t app_bv;
} case_t;

/* The create-able lines of commands.txt (noapp, v1, ecdsa, sd_app_crc are not: see EMULATOR.md). */
static const case_t cases[] = {
    {"s52832_app_v3_crc", BL_CHIP_NRF52832, EMU_SD_S132_7_2_0, "app_s132.hex", 3, 2,
     BL_SETTINGS_BV_CRC},
    /* nrfutil's default app boot validation is CRC; so is create's */
    {"s52832_app_v3_default", BL_CHIP_NRF52832, EMU_SD_S132_7_2_0, "app_s132.hex", 3, 2,
     BL_SETTINGS_BV_CRC},
    {"s52832_app_v7_sha256", BL_CHIP_NRF52832, EMU_SD_S132_7_2_0, "app_v2.hex", 7, 1,
     BL_SETTINGS_BV_SHA256},
    /* app_large.hex is linked at 0x26000 (after S132); S140 ends at 0x27000, so the .bin */
    {"s52840_app_large", BL_CHIP_NRF52840, EMU_SD_S140_7_2_0, "app_large.bin", 12, 3,
     BL_SETTINGS_BV_CRC},
};

static void init_params(emu_create_params_t *p, const case_t *c, emu_app_image_t *app)
{
    memset(p, 0, sizeof(*p));
    bl_config_defaults(&p->cfg, c->chip, BL_PROFILE_UPDATE_FROM_APP);
    sig_key_t *key = NULL;
    assert_int_equal(sig_key_load(FIX "/keys/public.pem", &key), SIG_OK);
    sig_key_raw_le(key, p->cfg.public_key);
    sig_key_free(key);
    char path[512];
    snprintf(path, sizeof(path), FIX "/images/%s", c->app);
    emu_create_diag_t d;
    if (emu_app_load(path, app, &d) != EMU_CREATE_OK)
        fail_msg("%s", d.msg);
    p->sd = c->sd;
    p->app = app;
    p->app_name = c->app;
    p->app_version = c->app_version;
    p->bootloader_version = c->bl_version;
    p->app_bv = c->app_bv;
}

static emu_device_t *create_ok(const emu_create_params_t *p)
{
    emu_device_t *dev = NULL;
    emu_create_diag_t d;
    if (emu_create_device(p, &dev, &d) != EMU_CREATE_OK)
        fail_msg("create: %s", d.msg);
    return dev;
}

static void assert_page_equals_fixture(const emu_device_t *dev, const ihex_image_t *img,
                                       uint32_t addr, const char *what)
{
    uint8_t want[4096];
    assert_int_equal(ihex_image_flatten(img, addr, addr + 4096u, want), IHEX_OK);
    const uint8_t *got = flash_bytes(dev->flash) + addr;
    for (size_t i = 0; i < sizeof(want); i++)
        if (got[i] != want[i])
            fail_msg("%s page 0x%05X differs at byte %zu: 0x%02X, nrfutil 0x%02X", what, addr, i,
                     got[i], want[i]);
}

static void test_emu_create_settings_pages_match_nrfutil(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        emu_create_params_t p;
        emu_app_image_t app;
        init_params(&p, &cases[i], &app);
        emu_device_t *dev = create_ok(&p);
        char path[512];
        snprintf(path, sizeof(path), FIX "/settings/%s.hex", cases[i].fixture);
        ihex_image_t *img = NULL;
        assert_int_equal(ihex_load_file(path, &img, NULL), IHEX_OK);
        assert_page_equals_fixture(dev, img, dev->cfg.settings_addr, cases[i].fixture);
        assert_page_equals_fixture(dev, img, dev->cfg.backup_addr, cases[i].fixture);
        ihex_image_free(img);
        emu_device_free(dev);
        emu_app_free(&app);
    }
}

static void test_emu_create_app_sd_and_mbr_words(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        emu_create_params_t p;
        emu_app_image_t app;
        init_params(&p, &cases[i], &app);
        emu_device_t *dev = create_ok(&p);
        const emu_sd_desc_t *sd = emu_sd_info(cases[i].sd);
        uint32_t bank0 = cases[i].chip == BL_CHIP_NRF52840 ? 0x27000u : 0x26000u;
        assert_int_equal(emu_bank0_start(dev), bank0);
        assert_int_equal(emu_bank1_start(dev, (uint32_t)app.len),
                         (bank0 + app.len + 0xFFFu) & ~0xFFFu);
        assert_memory_equal(flash_bytes(dev->flash) + bank0, app.data, app.len);
        assert_int_equal(emu_read32(dev, 0x3000) & 0xFF, 0x2C);
        assert_int_equal(emu_read32(dev, EMU_SD_MAGIC_ADDR), 0x51B1E5DBu);
        assert_int_equal(emu_read32(dev, EMU_SD_SIZE_ADDR), sd->end);
        assert_int_equal(emu_read32(dev, EMU_SD_FWID_ADDR) & 0xFFFF, sd->fwid);
        assert_int_equal(emu_read32(dev, 0x3010), sd->id);
        assert_int_equal(emu_read32(dev, 0x3014), 7002000u);
        /* SDK 16+ bootloaders populate these at first boot (spec 1.1) */
        assert_int_equal(emu_read32(dev, EMU_MBR_BL_ADDR), 0xFFFFFFFFu);
        assert_int_equal(emu_read32(dev, EMU_MBR_PARAMS), 0xFFFFFFFFu);
        assert_int_not_equal(emu_read32(dev, 0), 0xFFFFFFFFu); /* MBR stand-in present */
        assert_int_not_equal(emu_read32(dev, dev->cfg.bl_start), 0xFFFFFFFFu);
        bl_boot_report_t rep;
        bl_boot_run(dev, &rep);
        assert_int_equal(rep.state, BL_STATE_APP);
        assert_int_equal(rep.app_version, cases[i].app_version);
        emu_device_free(dev);
        emu_app_free(&app);
    }
}

static void test_emu_create_hex_and_bin_give_same_device(void **state)
{
    (void)state;
    case_t c = cases[0];
    emu_create_params_t p;
    emu_app_image_t hex, bin;
    init_params(&p, &c, &hex);
    assert_true(hex.has_addr);
    assert_int_equal(hex.addr, 0x26000);
    emu_device_t *a = create_ok(&p);
    c.app = "app_s132.bin";
    init_params(&p, &c, &bin);
    assert_false(bin.has_addr);
    emu_device_t *b = create_ok(&p);
    assert_memory_equal(flash_bytes(a->flash), flash_bytes(b->flash), 0x80000);
    emu_device_free(a);
    emu_device_free(b);
    emu_app_free(&hex);
    emu_app_free(&bin);
}

static void test_emu_create_sdk_15_3_carries_mbr_words(void **state)
{
    (void)state;
    emu_create_params_t p;
    emu_app_image_t app;
    init_params(&p, &cases[0], &app);
    p.cfg.sdk = BL_SDK_15_3;
    emu_device_t *dev = create_ok(&p);
    assert_int_equal(emu_read32(dev, EMU_MBR_BL_ADDR), 0x78000);
    assert_int_equal(emu_read32(dev, EMU_MBR_PARAMS), 0x7E000);
    emu_device_free(dev);
    emu_app_free(&app);
}

static void expect_refused(const emu_create_params_t *p, emu_create_err_t want, const char *needle)
{
    emu_device_t sentinel, *dev = &sentinel; /* must come back NULL */
    emu_create_diag_t d;
    assert_int_equal(emu_create_device(p, &dev, &d), want);
    assert_null(dev);
    if (!strstr(d.msg, needle))
        fail_msg("message '%s' does not mention '%s'", d.msg, needle);
    assert_null(strchr(d.msg, '\n'));
}

static void test_emu_create_refusals(void **state)
{
    (void)state;
    emu_create_params_t p;
    emu_app_image_t app;
    init_params(&p, &cases[0], &app); /* app_s132.hex, linked at 0x26000 */
    p.sd = EMU_SD_NONE;
    expect_refused(&p, EMU_CREATE_ERR_ADDR, "app_s132.hex");
    p.sd = EMU_SD_S140_7_2_0;
    expect_refused(&p, EMU_CREATE_ERR_UNSUPPORTED, "s140-7.2.0");
    p.sd = EMU_SD_S132_7_2_0;
    p.app_bv = BL_SETTINGS_BV_ECDSA;
    expect_refused(&p, EMU_CREATE_ERR_UNSUPPORTED, "private key");
    p.app_bv = BL_SETTINGS_BV_CRC;
    p.cfg.app_data_area_size = 0x3001;
    expect_refused(&p, EMU_CREATE_ERR_LAYOUT, "app-data-size");
    emu_app_free(&app);
    /* 302280 bytes from 0x26000 end at 0x6FCC8: fits below 0x75000, not below 0x68000 */
    case_t big = {"", BL_CHIP_NRF52832,  EMU_SD_S132_7_2_0, "app_large.bin", 1,
                  1,  BL_SETTINGS_BV_CRC};
    init_params(&p, &big, &app);
    emu_device_t *dev = create_ok(&p);
    emu_device_free(dev);
    p.cfg.app_data_area_size = 0x10000;
    expect_refused(&p, EMU_CREATE_ERR_FIT, "app-data area");
    emu_app_free(&app);
}

static void test_emu_create_bad_app_files(void **state)
{
    (void)state;
    emu_app_image_t app;
    emu_create_diag_t d;
    assert_int_equal(emu_app_load(FIX "/images/no_such.bin", &app, &d), EMU_CREATE_ERR_IO);
    assert_non_null(strstr(d.msg, "no_such.bin"));
    assert_int_equal(emu_app_load(FIX "/settings/commands.txt", &app, &d), EMU_CREATE_OK);
    emu_app_free(&app); /* any bytes are a .bin */
    char dir[] = "/tmp/emu-create-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/bad.hex", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(":10000000FF\n", f); /* byte count says 16, none follow */
    fclose(f);
    assert_int_equal(emu_app_load(path, &app, &d), EMU_CREATE_ERR_IMAGE);
    assert_non_null(strstr(d.msg, "bad.hex:1:")); /* names the file and line */
    remove(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emu_create_settings_pages_match_nrfutil),
        cmocka_unit_test(test_emu_create_app_sd_and_mbr_words),
        cmocka_unit_test(test_emu_create_hex_and_bin_give_same_device),
        cmocka_unit_test(test_emu_create_sdk_15_3_carries_mbr_words),
        cmocka_unit_test(test_emu_create_refusals),
        cmocka_unit_test(test_emu_create_bad_app_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
