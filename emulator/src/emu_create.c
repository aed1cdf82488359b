/*
 * emu_create.c - a new device, laid down as a programmer would (emu_create.h).
 *
 * Order: validate everything (so a refusal allocates nothing that outlives
 * the call), then load MBR, SoftDevice, application, bootloader and the two
 * settings pages with flash_load() (the programmer path: no ops, no clock).
 */
#include "emulator/emu_create.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulator/ihex.h"

#define APP_MAX (1024u * 1024u) /* no nRF52 has more flash */

static const emu_sd_desc_t sd_table[EMU_SD_COUNT] = {
    [EMU_SD_S132_7_2_0] = {"s132-7.2.0", BL_CHIP_NRF52832, 0x2C, 0x26000u, 0x0101u, 132u, 7002000u},
    [EMU_SD_S140_7_2_0] = {"s140-7.2.0", BL_CHIP_NRF52840, 0x2C, 0x27000u, 0x0100u, 140u, 7002000u},
};

__attribute__((format(printf, 2, 3))) static void diag_set(emu_create_diag_t *d, const char *fmt,
                                                           ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

const emu_sd_desc_t *emu_sd_info(emu_sd_t sd)
{
    return sd > EMU_SD_NONE && sd < EMU_SD_COUNT ? &sd_table[sd] : NULL;
}

const char *emu_sd_name(emu_sd_t sd)
{
    const emu_sd_desc_t *d = emu_sd_info(sd);
    return d ? d->name : (sd == EMU_SD_NONE ? "none" : "?");
}

bool emu_sd_parse(const char *name, emu_sd_t *out)
{
    for (int i = 0; i < EMU_SD_COUNT; i++)
        if (name && strcmp(name, emu_sd_name((emu_sd_t)i)) == 0) {
            *out = (emu_sd_t)i;
            return true;
        }
    return false;
}

/* ---- application file -------------------------------------------------------------- */

static bool ends_with_hex(const char *path)
{
    size_t n = strlen(path);
    if (n < 4)
        return false;
    const char *e = path + n - 4;
    return e[0] == '.' && tolower((unsigned char)e[1]) == 'h' &&
           tolower((unsigned char)e[2]) == 'e' && tolower((unsigned char)e[3]) == 'x';
}

static emu_create_err_t load_bin(const char *path, emu_app_image_t *out, emu_create_diag_t *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_set(d, "%s: cannot open: %s", path, strerror(errno));
        return EMU_CREATE_ERR_IO;
    }
    uint8_t *b = malloc(APP_MAX + 1);
    size_t n = b ? fread(b, 1, APP_MAX + 1, f) : 0;
    bool err = ferror(f) != 0;
    fclose(f);
    if (!b || err || n == 0 || n > APP_MAX) {
        free(b);
        diag_set(d, "%s: %s", path,
                 !b       ? "out of memory"
                 : err    ? "read error"
                 : n == 0 ? "empty image"
                          : "larger than 1 MiB");
        return !b ? EMU_CREATE_ERR_NOMEM : err ? EMU_CREATE_ERR_IO : EMU_CREATE_ERR_IMAGE;
    }
    *out = (emu_app_image_t){b, n, false, 0};
    return EMU_CREATE_OK;
}

static emu_create_err_t flatten_hex(const char *path, const ihex_image_t *img, emu_app_image_t *out,
                                    emu_create_diag_t *d)
{
    uint32_t lo;
    uint64_t hi;
    if (ihex_image_bounds(img, &lo, &hi) != IHEX_OK) {
        diag_set(d, "%s: no data records", path);
        return EMU_CREATE_ERR_IMAGE;
    }
    if (hi - lo > APP_MAX) {
        diag_set(d, "%s: spans 0x%08X..0x%08llX, more than 1 MiB (UICR or other non-flash data?)",
                 path, lo, (unsigned long long)hi);
        return EMU_CREATE_ERR_IMAGE;
    }
    uint8_t *b = malloc((size_t)(hi - lo));
    if (!b || ihex_image_flatten(img, lo, hi, b) != IHEX_OK) {
        free(b);
        diag_set(d, "%s: out of memory", path);
        return EMU_CREATE_ERR_NOMEM;
    }
    *out = (emu_app_image_t){b, (size_t)(hi - lo), true, lo};
    return EMU_CREATE_OK;
}

static emu_create_err_t load_hex(const char *path, emu_app_image_t *out, emu_create_diag_t *d)
{
    ihex_image_t *img = NULL;
    size_t line = 0;
    ihex_err_t e = ihex_load_file(path, &img, &line);
    if (e == IHEX_ERR_IO) {
        diag_set(d, "%s: cannot read: %s", path, strerror(errno));
        return EMU_CREATE_ERR_IO;
    }
    if (e == IHEX_ERR_NOMEM) {
        diag_set(d, "%s: out of memory", path);
        return EMU_CREATE_ERR_NOMEM;
    }
    if (e != IHEX_OK) {
        diag_set(d, "%s:%zu: %s", path, line, ihex_strerror(e));
        return EMU_CREATE_ERR_IMAGE;
    }
    emu_create_err_t ce = flatten_hex(path, img, out, d);
    ihex_image_free(img);
    return ce;
}

emu_create_err_t emu_app_load(const char *path, emu_app_image_t *out, emu_create_diag_t *diag)
{
    if (!path || !out) {
        diag_set(diag, "application: invalid argument");
        return EMU_CREATE_ERR_ARG;
    }
    memset(out, 0, sizeof(*out));
    return ends_with_hex(path) ? load_hex(path, out, diag) : load_bin(path, out, diag);
}

void emu_app_free(emu_app_image_t *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof(*img));
}

/* ---- checks ------------------------------------------------------------------------- */

static uint32_t bank0_of(const emu_create_params_t *p)
{
    const emu_sd_desc_t *sd = emu_sd_info(p->sd);
    return sd ? (sd->end + EMU_PAGE - 1u) / EMU_PAGE * EMU_PAGE : EMU_MBR_SIZE;
}

static const char *bv_problem(const emu_create_params_t *p)
{
    if (p->app_bv > BL_SETTINGS_BV_ECDSA || p->sd_bv > BL_SETTINGS_BV_ECDSA)
        return "unknown boot validation type";
    if (p->app_bv == BL_SETTINGS_BV_ECDSA || p->sd_bv == BL_SETTINGS_BV_ECDSA)
        return "ECDSA boot validation needs a signature made with the private key; "
               "create takes only the public key (use crc or sha256)";
    if (p->sd_bv != BL_SETTINGS_BV_NONE && p->sd == EMU_SD_NONE)
        return "SoftDevice boot validation without a SoftDevice";
    return NULL;
}

static emu_create_err_t check_layout(const bl_config_t *c, uint32_t bank0, emu_create_diag_t *d)
{
    const flash_chip_desc_t *fc = flash_chip_info((flash_chip_t)c->chip);
    if (!fc || c->bl_start % EMU_PAGE || c->bl_start >= fc->size ||
        c->bootloader_size > fc->size - c->bl_start || c->settings_addr > fc->size - EMU_PAGE ||
        c->backup_addr > fc->size - EMU_PAGE) {
        diag_set(d, "bootloader layout does not fit the chip's flash");
        return EMU_CREATE_ERR_LAYOUT;
    }
    if (c->bl_start <= bank0 || c->app_data_area_size % EMU_PAGE ||
        c->app_data_area_size >= c->bl_start - bank0) {
        diag_set(d, "--app-data-size %u: must be a multiple of 4096 below 0x%X",
                 c->app_data_area_size, c->bl_start - bank0);
        return EMU_CREATE_ERR_LAYOUT;
    }
    return EMU_CREATE_OK;
}

static emu_create_err_t check_app(const emu_create_params_t *p, uint32_t bank0,
                                  emu_create_diag_t *d)
{
    const char *name = p->app_name ? p->app_name : "application";
    const emu_app_image_t *a = p->app;
    if (a->has_addr && a->addr != bank0) {
        diag_set(d, "%s: linked at 0x%05X, but bank 0 starts at 0x%05X with --softdevice %s", name,
                 a->addr, bank0, emu_sd_name(p->sd));
        return EMU_CREATE_ERR_ADDR;
    }
    uint32_t limit = p->cfg.bl_start - p->cfg.app_data_area_size;
    if (a->len > limit - bank0) {
        diag_set(d, "%s: %zu bytes at 0x%05X overlap the app-data area at 0x%05X", name, a->len,
                 bank0, limit);
        return EMU_CREATE_ERR_FIT;
    }
    return EMU_CREATE_OK;
}

static emu_create_err_t check_params(const emu_create_params_t *p, emu_create_diag_t *d)
{
    const emu_sd_desc_t *sd = emu_sd_info(p->sd);
    if ((unsigned)p->sd >= EMU_SD_COUNT || !p->app || !p->app->data || p->app->len == 0) {
        diag_set(d, "create: invalid argument");
        return EMU_CREATE_ERR_ARG;
    }
    if (sd && sd->chip != p->cfg.chip) {
        diag_set(d, "--softdevice %s is not built for this chip", sd->name);
        return EMU_CREATE_ERR_UNSUPPORTED;
    }
    const char *bv = bv_problem(p);
    if (bv) {
        diag_set(d, "boot validation: %s", bv);
        return EMU_CREATE_ERR_UNSUPPORTED;
    }
    emu_create_err_t e = check_layout(&p->cfg, bank0_of(p), d);
    return e != EMU_CREATE_OK ? e : check_app(p, bank0_of(p), d);
}

/* ---- stand-ins ---------------------------------------------------------------------- */

static void fill_text(uint8_t *dst, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < len; i++)
        dst[i] = (uint8_t)text[i % n];
}

static flash_err_t load_mbr(emu_device_t *dev)
{
    uint8_t page[EMU_MBR_SIZE];
    fill_text(page, sizeof(page), "dfuart-emu MBR stand-in, not Nordic code. ");
    /* 0xFF8/0xFFC: erased for 16.0+ (populated at first boot); 15.3's .hex carries them. */
    memset(page + EMU_MBR_BL_ADDR, 0xFF, 8);
    if (dev->cfg.sdk == BL_SDK_15_3) {
        put32(page + EMU_MBR_BL_ADDR, dev->cfg.bl_start);
        put32(page + EMU_MBR_PARAMS, dev->cfg.backup_addr);
    }
    return flash_load(dev->flash, 0, page, sizeof(page));
}

/* xorshift32 of the address: deterministic, varied, never all 0xFF. */
static uint32_t sd_word(uint32_t addr)
{
    uint32_t x = addr ^ 0x5D0FD5EEu;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x == 0xFFFFFFFFu ? 0x5D5D5D5Du : x;
}

static void sd_info_struct(const emu_sd_desc_t *sd, uint8_t info[0x2C])
{
    memset(info, 0xFF, 0x2C);
    info[0] = sd->info_size;
    put32(info + 0x04, EMU_SD_MAGIC);
    put32(info + 0x08, sd->end);
    info[0x0C] = (uint8_t)sd->fwid;
    info[0x0D] = (uint8_t)(sd->fwid >> 8);
    put32(info + 0x10, sd->id);
    put32(info + 0x14, sd->version);
    char marker[32] = ""; /* the 20-byte "unique string": "DFUEMU-SD-s132-7.2.0" */
    snprintf(marker, sizeof(marker), "DFUEMU-SD-%s", sd->name);
    memcpy(info + 0x18, marker, 20);
}

static flash_err_t load_softdevice(emu_device_t *dev, const emu_sd_desc_t *sd)
{
    uint32_t len = sd->end - EMU_MBR_SIZE;
    uint8_t *img = malloc(len);
    if (!img)
        return FLASH_ERR_NOMEM;
    for (uint32_t off = 0; off < len; off += 4)
        put32(img + off, sd_word(EMU_MBR_SIZE + off));
    sd_info_struct(sd, img + (EMU_SD_INFO_ADDR - EMU_MBR_SIZE));
    flash_err_t e = flash_load(dev->flash, EMU_MBR_SIZE, img, len);
    free(img);
    return e;
}

static flash_err_t load_bootloader(emu_device_t *dev)
{
    static const char *const sdk[] = {"15.3", "16.0", "17.0", "17.1"};
    char text[96];
    snprintf(text, sizeof(text),
             "dfuart-emu secure bootloader stand-in (SDK %s), not Nordic code. ",
             sdk[dev->cfg.sdk <= BL_SDK_17_1 ? dev->cfg.sdk : BL_SDK_17_1]);
    uint8_t page[EMU_PAGE];
    fill_text(page, sizeof(page), text);
    return flash_load(dev->flash, dev->cfg.bl_start, page, sizeof(page));
}

/* What `nrfutil settings generate` writes for these inputs. */
static flash_err_t load_settings(emu_device_t *dev, const emu_create_params_t *p)
{
    const emu_sd_desc_t *sd = emu_sd_info(p->sd);
    bool sd_bv = sd && p->sd_bv != BL_SETTINGS_BV_NONE;
    bl_settings_gen_t gen = {
        .family = p->cfg.chip == BL_CHIP_NRF52840 ? BL_SETTINGS_FAMILY_NRF52840
                                                  : BL_SETTINGS_FAMILY_NRF52,
        .settings_version = 2,
        .app_version = p->app_version,
        .bootloader_version = p->bootloader_version,
        .app = p->app->data,
        .app_len = p->app->len,
        .app_bv = p->app_bv,
        .sd = sd_bv ? flash_bytes(dev->flash) + EMU_MBR_SIZE : NULL,
        .sd_len = sd_bv ? sd->end - EMU_MBR_SIZE : 0,
        .sd_bv = sd_bv ? p->sd_bv : BL_SETTINGS_BV_NONE,
    };
    bl_settings_pages_t *pages = malloc(sizeof(*pages));
    if (!pages)
        return FLASH_ERR_NOMEM;
    flash_err_t e = FLASH_ERR_ARG;
    if (bl_settings_generate(&gen, pages) == BL_SETTINGS_OK) {
        e = flash_load(dev->flash, dev->cfg.settings_addr, pages->settings, BL_SETTINGS_PAGE_SIZE);
        if (e == FLASH_OK)
            e = flash_load(dev->flash, dev->cfg.backup_addr, pages->backup, BL_SETTINGS_PAGE_SIZE);
    }
    free(pages);
    return e;
}

static flash_err_t lay_down(emu_device_t *dev, const emu_create_params_t *p)
{
    const emu_sd_desc_t *sd = emu_sd_info(p->sd);
    flash_err_t e = load_mbr(dev);
    if (e == FLASH_OK && sd)
        e = load_softdevice(dev, sd);
    if (e == FLASH_OK)
        e = flash_load(dev->flash, bank0_of(p), p->app->data, (uint32_t)p->app->len);
    if (e == FLASH_OK)
        e = load_bootloader(dev);
    if (e == FLASH_OK)
        e = load_settings(dev, p); /* last: SD boot validation hashes the SD bytes above */
    return e;
}

emu_create_err_t emu_create_device(const emu_create_params_t *p, emu_device_t **out,
                                   emu_create_diag_t *diag)
{
    if (!p || !out) {
        diag_set(diag, "create: invalid argument");
        return EMU_CREATE_ERR_ARG;
    }
    *out = NULL;
    emu_create_err_t ce = check_params(p, diag);
    if (ce != EMU_CREATE_OK)
        return ce;
    emu_device_t *dev = emu_device_new(&p->cfg);
    flash_err_t e = dev ? lay_down(dev, p) : FLASH_ERR_NOMEM;
    if (e != FLASH_OK) {
        emu_device_free(dev);
        diag_set(diag, "create: %s", e == FLASH_ERR_NOMEM ? "out of memory" : flash_strerror(e));
        return e == FLASH_ERR_NOMEM ? EMU_CREATE_ERR_NOMEM : EMU_CREATE_ERR_LAYOUT;
    }
    *out = dev;
    return EMU_CREATE_OK;
}

const char *emu_create_strerror(emu_create_err_t err)
{
    switch (err) {
    case EMU_CREATE_OK:
        return "success";
    case EMU_CREATE_ERR_ARG:
        return "invalid argument";
    case EMU_CREATE_ERR_NOMEM:
        return "out of memory";
    case EMU_CREATE_ERR_IO:
        return "cannot read the application file";
    case EMU_CREATE_ERR_IMAGE:
        return "bad application image";
    case EMU_CREATE_ERR_ADDR:
        return "application not linked at bank 0";
    case EMU_CREATE_ERR_FIT:
        return "application overlaps the app-data area";
    case EMU_CREATE_ERR_UNSUPPORTED:
        return "unsupported combination";
    case EMU_CREATE_ERR_LAYOUT:
        return "impossible flash layout";
    }
    return "unknown create error";
}
