/* fuzz_device.c - the fuzz targets' emulated device and flash invariants (fuzz_device.h). */
#include "fuzz_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "emulator/bl_settings.h"
#include "emulator/emu_create.h"
#include "emulator/emu_hal.h"
#include "proto/sig.h"

#define SETUP(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz setup: " __VA_ARGS__);                                           \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

uint8_t *fuzz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    SETUP(f, "cannot open %s", path);
    SETUP(fseek(f, 0, SEEK_END) == 0, "cannot seek %s", path);
    long n = ftell(f);
    SETUP(n >= 0 && fseek(f, 0, SEEK_SET) == 0, "cannot size %s", path);
    uint8_t *buf = malloc((size_t)n + 1);
    SETUP(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    SETUP(n <= cap && strlen(hex) % 2 == 0, "hex string too long");
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        SETUP(sscanf(hex + 2 * i, "%2x", &v) == 1, "not hex");
        out[i] = (uint8_t)v;
    }
    return n;
}

static cJSON *packages_json(void)
{
    size_t n;
    char *text = (char *)fuzz_read_file(FUZZ_FIX "/packages.json", &n);
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    SETUP(j, "packages.json does not parse");
    return j;
}

/* The string at obj.key, which must exist. */
static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    SETUP(cJSON_IsString(v), "packages.json: no string '%s'", key);
    return v->valuestring;
}

void fuzz_pkg_load(fuzz_pkg_t *pkg, const char *zip, const char *bin)
{
    memset(pkg, 0, sizeof(*pkg));
    cJSON *all = packages_json();
    char file[256];
    snprintf(file, sizeof(file), "packages/%s", zip);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(all, "packages"))
    {
        if (strcmp(json_str(p, "file"), file) == 0) {
            const cJSON *img = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "images"), 0);
            pkg->dat_len = unhex(json_str(img, "dat_hex"), pkg->dat, sizeof(pkg->dat));
        }
    }
    cJSON_Delete(all);
    SETUP(pkg->dat_len > 0, "packages.json has no %s", file);
    char path[512];
    snprintf(path, sizeof(path), FUZZ_FIX "/images/%s", bin);
    pkg->bin = fuzz_read_file(path, &pkg->bin_len);
}

void fuzz_pkg_free(fuzz_pkg_t *pkg)
{
    free(pkg->bin);
    pkg->bin = NULL;
}

emu_device_t *fuzz_device_new(void)
{
    emu_create_params_t p = {0};
    bl_config_defaults(&p.cfg, BL_CHIP_NRF52832, BL_PROFILE_UPDATE_FROM_APP);
    cJSON *all = packages_json();
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(all, "keys");
    SETUP(unhex(json_str(keys, "public_key_le_hex"), p.cfg.public_key, 64) == 64, "public key");
    cJSON_Delete(all);

    emu_app_image_t app;
    emu_create_diag_t d;
    SETUP(emu_app_load(FUZZ_FIX "/images/app_s132.bin", &app, &d) == EMU_CREATE_OK, "%s", d.msg);
    p.sd = EMU_SD_S132_7_2_0;
    p.app = &app;
    p.app_version = 1;
    p.bootloader_version = 1;
    p.app_bv = BL_SETTINGS_BV_CRC;
    emu_device_t *dev = NULL;
    SETUP(emu_create_device(&p, &dev, &d) == EMU_CREATE_OK, "%s", d.msg);
    emu_app_free(&app);

    bl_boot_report_t rep;
    bl_boot_run(dev, &rep);
    SETUP(rep.state == BL_STATE_APP, "fresh device does not boot: %s", bl_state_name(rep.state));
    return dev;
}

void fuzz_device_stage(emu_device_t *dev, const fuzz_pkg_t *pkg)
{
    emu_stage_report_t rep;
    dfw_err_t e = emu_stage_app(dev, emu_hal_app_actor(dev), pkg->dat, pkg->dat_len, pkg->bin,
                                pkg->bin_len, 2048, &rep);
    SETUP(e == DFW_RESET_REQUIRED, "staging failed at %s: %d", rep.step, (int)e);
}

uint32_t fuzz_app_data_start(const emu_device_t *dev)
{
    return dev->cfg.bl_start - dev->cfg.app_data_area_size;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One boot_validation_t over [addr, addr + len), recomputed without bl_settings_bv_check(). */
static const char *bv_mismatch(const emu_device_t *dev, const bl_settings_bv_t *bv, uint32_t addr,
                               uint32_t len)
{
    uint32_t size = flash_chip(dev->flash)->size;
    if (addr > size || len > size - addr)
        return "image runs past the end of flash";
    const uint8_t *img = flash_bytes(dev->flash) + addr;
    switch (bv->type) {
    case BL_SETTINGS_BV_NONE:
        return NULL;
    case BL_SETTINGS_BV_CRC: {
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), img, len);
        bool debug_pass = dev->cfg.debug_build; /* debug builds boot despite a CRC mismatch */
        return crc == le32(bv->bytes) || debug_pass ? NULL : "CRC differs";
    }
    case BL_SETTINGS_BV_SHA256: {
        uint8_t md[32];
        sig_sha256(img, len, md);
        return memcmp(md, bv->bytes, 32) == 0 ? NULL : "SHA-256 differs";
    }
    case BL_SETTINGS_BV_ECDSA:
        return bl_settings_ecdsa_verify(dev->cfg.public_key, bv->bytes, img, len) == BL_SETTINGS_OK
                   ? NULL
                   : "ECDSA signature does not verify";
    default:
        return "unknown validation type";
    }
}

void fuzz_check_app_bootable(const emu_device_t *dev, const char *who)
{
    uint8_t raw[BL_SETTINGS_SIZE];
    memcpy(raw, flash_bytes(dev->flash) + dev->cfg.settings_addr, sizeof(raw));
    bl_settings_t s;
    bl_settings_decode(raw, &s);
    FUZZ_CHECK(bl_settings_main_valid(raw), "%s: app started but the settings page is invalid",
               who);
    FUZZ_CHECK(s.bank_0.bank_code == BL_SETTINGS_BANK_VALID_APP,
               "%s: app started but bank_0.bank_code is 0x%X", who, s.bank_0.bank_code);
    FUZZ_CHECK(!dev->cfg.app_signature_required ||
                   s.boot_validation_app.type == BL_SETTINGS_BV_ECDSA,
               "%s: app started without the required ECDSA boot validation", who);
    uint32_t bank0 = emu_bank0_start(dev);
    const char *why = bv_mismatch(dev, &s.boot_validation_app, bank0, s.bank_0.image_size);
    FUZZ_CHECK(why == NULL, "%s: app started but bank 0 [0x%X, +%u) fails its validation: %s", who,
               bank0, s.bank_0.image_size, why);
    if (emu_sd_present(dev)) {
        why = bv_mismatch(dev, &s.boot_validation_softdevice, EMU_MBR_SIZE, s.sd_size);
        FUZZ_CHECK(why == NULL, "%s: app started but the SoftDevice fails its validation: %s", who,
                   why);
    }
}

uint32_t fuzz_first_change(const uint8_t *before, const emu_device_t *dev, uint32_t lo, uint32_t hi)
{
    const uint8_t *now = flash_bytes(dev->flash);
    if (hi <= lo || memcmp(before + lo, now + lo, hi - lo) == 0)
        return UINT32_MAX;
    for (uint32_t a = lo; a < hi; a++)
        if (before[a] != now[a])
            return a;
    return UINT32_MAX;
}

void fuzz_check_no_fault(const emu_device_t *dev, const char *who)
{
    size_t n = flash_fault_count(dev->flash);
    if (n == 0)
        return;
    char line[256] = "(not stored)";
    const flash_fault_t *ft = flash_fault_at(dev->flash, 0);
    if (ft)
        flash_fault_format(ft, line, sizeof(line));
    FUZZ_CHECK(n == 0, "%s: %zu flash fault(s), first: %s", who, n, line);
}
