/*
 * The bootloader's init-command verdicts (spec 5.3-5.5) on nrfutil's own
 * packages: each check's result code, in the SDK's order.
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

#include "emulator/bl_validate.h"
#include "fixtures.h"

static cJSON *g_pkgs;

static int load_packages(void **state)
{
    (void)state;
    g_pkgs = fix_packages_json();
    return 0;
}

static int free_packages(void **state)
{
    (void)state;
    cJSON_Delete(g_pkgs);
    return 0;
}

typedef struct {
    uint8_t dat[INITPKT_MAX_SIZE];
    initpkt_t p;
} pkt_t;

/* Decodes image `img` of package `name` (e.g. "app_signed.zip"). */
static void load_pkt(const char *name, int img, pkt_t *out)
{
    size_t n = fix_package_dat(g_pkgs, name, img, out->dat);
    assert_int_equal(initpkt_decode(out->dat, n, &out->p, NULL), INITPKT_OK);
}

static void config(bl_config_t *cfg)
{
    bl_config_defaults(cfg, BL_CHIP_NRF52832, BL_PROFILE_UPDATE_FROM_APP);
    fix_public_key(g_pkgs, cfg->public_key);
}

/* S132 7.2.0 installed (FWID 0x0101), app_version 1, bootloader_version 1. */
static const bl_device_view_t s132 = {true, 0x0101, 1, 1};
static const bl_device_view_t mbr_only = {false, 0, 1, 1};

static void expect(const char *pkg, const bl_config_t *cfg, const bl_device_view_t *dev,
                   bl_result_t r, bl_ext_t e)
{
    pkt_t k;
    load_pkt(pkg, 0, &k);
    bl_verdict_t v = bl_prevalidate(cfg, &k.p, k.dat, dev);
    if (v.result != r || (r == BL_RES_EXT_ERROR && v.ext != e))
        fail_msg("%s: got %s/%s, want %s/%s", pkg, bl_result_name(v.result), bl_ext_name(v.ext),
                 bl_result_name(r), bl_ext_name(e));
}

#define EXT(x) BL_RES_EXT_ERROR, BL_EXT_##x
#define OK     BL_RES_SUCCESS, BL_EXT_NO_ERROR

static void test_bl_validate_genuine_app_accepted(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    expect("app_signed.zip", &cfg, &s132, OK);
    expect("app_signed_v2.zip", &cfg, &s132, OK);
    expect("app_signed_large.zip", &cfg, &s132, OK);
    expect("app_signed_bv_ecdsa.zip", &cfg, &s132, OK);
}

static void test_bl_validate_signature_checked_first(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    /* A failing ECDSA verify is a plain INVALID_OBJECT (quirk 7) ... */
    expect("app_signed_otherkey.zip", &cfg, &s132, BL_RES_INVALID_OBJECT, 0);
    /* ... and comes before the hw_version check that would also fail. */
    cfg.hw_version = 99;
    expect("app_signed_otherkey.zip", &cfg, &s132, BL_RES_INVALID_OBJECT, 0);
    expect("app_signed.zip", &cfg, &s132, EXT(HW_VERSION_FAILURE));
}

static void test_bl_validate_unsigned_needs_config(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    expect("app_unsigned.zip", &cfg, &s132, EXT(SIGNATURE_MISSING));
    cfg.require_signed_app = false;
    expect("app_unsigned.zip", &cfg, &s132, OK);
    /* Bootloader images always need a signature. */
    expect("bl_unsigned.zip", &cfg, &s132, EXT(SIGNATURE_MISSING));
}

static void test_bl_validate_hw_and_fw_version(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    expect("app_signed_hw52840.zip", &cfg, &s132, EXT(HW_VERSION_FAILURE));
    bl_device_view_t newer = s132;
    newer.app_version = 2;
    expect("app_signed.zip", &cfg, &newer, EXT(FW_VERSION_FAILURE));
    expect("app_signed_v2.zip", &cfg, &newer, OK);
    cfg.accept_same_version = false;
    expect("app_signed_v2.zip", &cfg, &newer, EXT(FW_VERSION_FAILURE));
    cfg.downgrade_prevention = false;
    expect("app_signed.zip", &cfg, &newer, OK);
}

static void test_bl_validate_sd_req_rules(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    /* 0xFFFE means "any SoftDevice" only for external apps (quirk 6). */
    expect("app_signed_sdreq_fffe.zip", &cfg, &s132, EXT(SD_VERSION_FAILURE));
    expect("app_signed_sdreq_fffe.zip", &cfg, &mbr_only, EXT(SD_VERSION_FAILURE));
    /* 0x00: the app replaces the SoftDevice, or there is none. */
    expect("app_signed_sdreq_0.zip", &cfg, &s132, OK);
    expect("app_signed_sdreq_0.zip", &cfg, &mbr_only, OK);
    expect("app_signed.zip", &cfg, &mbr_only, EXT(SD_VERSION_FAILURE));
    bl_device_view_t other_sd = s132;
    other_sd.sd_fwid = 0x00CB;
    expect("app_signed.zip", &cfg, &other_sd, EXT(SD_VERSION_FAILURE));
}

static void test_bl_validate_sd_req_table(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    initpkt_t p = {0};
    p.type = INITPKT_FW_APPLICATION;
    p.has_fw_version = true;
    /* SD present, no entries: always fail. */
    assert_false(bl_sd_req_ok(&cfg, &p, &s132));
    /* sd_req [0, 0x0101] with downgrade prevention: must match (UART). */
    p.sd_req_count = 2;
    p.sd_req[0] = 0;
    p.sd_req[1] = 0x0101;
    assert_true(bl_sd_req_ok(&cfg, &p, &s132));
    p.sd_req[1] = 0x00CB;
    assert_false(bl_sd_req_ok(&cfg, &p, &s132));
    /* ... and always fails on a BLE bootloader. */
    p.sd_req[1] = 0x0101;
    cfg.ble_transport = true;
    assert_false(bl_sd_req_ok(&cfg, &p, &s132));
    /* No SD, [0]: needs fw_version when downgrade prevention is on. */
    cfg.ble_transport = false;
    p.sd_req_count = 1;
    p.has_fw_version = false;
    assert_false(bl_sd_req_ok(&cfg, &p, &mbr_only));
    cfg.downgrade_prevention = false;
    assert_true(bl_sd_req_ok(&cfg, &p, &mbr_only));
}

static void test_bl_validate_types(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    expect("app_external_signed.zip", &cfg, &s132, EXT(INIT_COMMAND_INVALID));
    /* Bootloader updates compare with bootloader_version, strictly. */
    pkt_t k;
    load_pkt("bl_signed.zip", 0, &k);
    bl_device_view_t dev = s132;
    dev.bootloader_version = k.p.fw_version - 1;
    assert_true(bl_fw_version_ok(&cfg, &k.p, &dev));
    dev.bootloader_version = k.p.fw_version;
    assert_false(bl_fw_version_ok(&cfg, &k.p, &dev));
    /* SoftDevice updates compare with app_version, not bootloader_version (quirk 8). */
    load_pkt("sd_signed.zip", 0, &k);
    k.p.fw_version = 3;
    dev.app_version = 4;
    dev.bootloader_version = 0;
    assert_false(bl_fw_version_ok(&cfg, &k.p, &dev));
    dev.app_version = 3;
    dev.bootloader_version = 9;
    assert_true(bl_fw_version_ok(&cfg, &k.p, &dev));
}

static void test_bl_validate_debug_packet(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    expect("app_debug_signed.zip", &cfg, &s132, OK);
    /* is_debug is ignored by release bootloaders: hw 0xFFFFFFFF fails ... */
    cfg.require_signed_app = false;
    expect("app_debug_unsigned.zip", &cfg, &s132, EXT(HW_VERSION_FAILURE));
    /* ... while a debug bootloader skips the hw/sd/fw checks for it (5c). */
    cfg.debug_build = true;
    expect("app_debug_unsigned.zip", &cfg, &s132, OK);
}

static void test_bl_validate_image_size(void **state)
{
    (void)state;
    bl_config_t cfg;
    config(&cfg);
    pkt_t k;
    uint32_t size;
    load_pkt("app_signed.zip", 0, &k);
    assert_int_equal(bl_image_size(&cfg, &k.p, &size).result, BL_RES_SUCCESS);
    assert_int_equal(size, 50016);
    load_pkt("sd_bl_signed.zip", 0, &k);
    assert_int_equal(bl_image_size(&cfg, &k.p, &size).result, BL_RES_SUCCESS);
    assert_int_equal(size, k.p.sd_size + k.p.bl_size);
    k.p.bl_size = cfg.bootloader_size + 4;
    assert_int_equal(bl_image_size(&cfg, &k.p, &size).result, BL_RES_INSUFFICIENT_RESOURCES);
    load_pkt("app_signed.zip", 0, &k);
    k.p.has_app_size = false;
    bl_verdict_t v = bl_image_size(&cfg, &k.p, &size);
    assert_int_equal(v.result, BL_RES_EXT_ERROR);
    assert_int_equal(v.ext, BL_EXT_INIT_COMMAND_INVALID);
    assert_int_equal(size, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bl_validate_genuine_app_accepted),
        cmocka_unit_test(test_bl_validate_signature_checked_first),
        cmocka_unit_test(test_bl_validate_unsigned_needs_config),
        cmocka_unit_test(test_bl_validate_hw_and_fw_version),
        cmocka_unit_test(test_bl_validate_sd_req_rules),
        cmocka_unit_test(test_bl_validate_sd_req_table),
        cmocka_unit_test(test_bl_validate_types),
        cmocka_unit_test(test_bl_validate_debug_packet),
        cmocka_unit_test(test_bl_validate_image_size),
    };
    return cmocka_run_group_tests(tests, load_packages, free_packages);
}
