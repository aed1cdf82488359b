/*
 * emu_cmd_export.c - `dfuart-emu export` (the whole flash as raw binary or
 * Intel HEX) and `dfuart-emu info` (chip, bootloader knobs, flash map).
 * Both are read-only on the device file.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "emu_cmd.h"
#include "emulator/bl_settings.h"
#include "emulator/emu_file.h"
#include "emulator/ihex.h"

/* ---- export --------------------------------------------------------------------------- */

static const emu_opt_t export_opts[] = {
    {{"output", required_argument, NULL, 'o'},
     "FILE",
     "write here (required): FILE.hex = Intel HEX without erased runs, else raw binary"},
};

static const emu_cmd_t export_cmd = {
    "export",
    "DEV -o FILE",
    "Write DEV's whole flash to FILE (replaced atomically): raw bytes 0..size-1, or Intel HEX\n"
    "(16 bytes per record, all-0xFF records left out) when FILE ends in .hex.",
    export_opts,
    sizeof(export_opts) / sizeof(export_opts[0]),
    1};

typedef struct {
    const char *out;
} export_args_t;

static int on_export_opt(void *args, int id, const char *val)
{
    (void)id;
    ((export_args_t *)args)->out = val;
    return -1;
}

typedef struct {
    char *buf;
    size_t len, cap;
} membuf_t;

static int emit_mem(void *ctx, const char *line, size_t len)
{
    membuf_t *m = ctx;
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->len + len)
            cap *= 2;
        char *b = realloc(m->buf, cap);
        if (!b)
            return -1;
        m->buf = b;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, line, len);
    m->len += len;
    return 0;
}

static bool is_hex_name(const char *p)
{
    size_t n = strlen(p);
    return n >= 4 && p[n - 4] == '.' && tolower((unsigned char)p[n - 3]) == 'h' &&
           tolower((unsigned char)p[n - 2]) == 'e' && tolower((unsigned char)p[n - 1]) == 'x';
}

static int write_out(const char *path, const void *data, size_t len)
{
    emu_file_diag_t d;
    emu_file_err_t e = emu_file_write_atomic(path, data, len, &d);
    if (e == EMU_FILE_OK)
        return EMU_EXIT_OK;
    emu_err("export", "%s", d.msg);
    return e == EMU_FILE_ERR_CREATE  ? EMU_EXIT_CANTCREAT
           : e == EMU_FILE_ERR_NOMEM ? EMU_EXIT_SOFTWARE
                                     : EMU_EXIT_IOERR;
}

static int export_hex(const char *path, const flash_t *f)
{
    membuf_t m = {NULL, 0, 0};
    ihex_writer_t w;
    ihex_err_t e = ihex_writer_init(&w, 16, true, emit_mem, &m);
    if (e == IHEX_OK)
        e = ihex_writer_data(&w, 0, flash_bytes(f), flash_chip(f)->size);
    if (e == IHEX_OK)
        e = ihex_writer_end(&w);
    int rc = EMU_EXIT_SOFTWARE;
    if (e == IHEX_OK)
        rc = write_out(path, m.buf, m.len);
    else
        emu_err("export", "%s: %s", path, ihex_strerror(e));
    free(m.buf);
    return rc;
}

int emu_cmd_export(int argc, char **argv)
{
    export_args_t a = {NULL};
    const char *pos[1];
    int rc = emu_cmd_parse(&export_cmd, argc, argv, on_export_opt, &a, pos);
    if (rc >= 0)
        return rc;
    if (!a.out) {
        emu_err("export", "missing -o FILE (required; try 'dfuart-emu export --help')");
        return EMU_EXIT_USAGE;
    }
    emu_device_t *dev = NULL;
    rc = emu_cmd_load("export", pos[0], &dev);
    if (rc == EMU_EXIT_OK && is_hex_name(a.out))
        rc = export_hex(a.out, dev->flash);
    else if (rc == EMU_EXIT_OK)
        rc = write_out(a.out, flash_bytes(dev->flash), flash_chip(dev->flash)->size);
    emu_device_free(dev);
    return rc;
}

/* ---- info ------------------------------------------------------------------------------- */

static const emu_opt_t info_opts[] = {
    {{"json", no_argument, NULL, 256}, NULL, "print one JSON document instead of text"},
};

static const emu_cmd_t info_cmd = {"info",
                                   "DEV [options]",
                                   "Show DEV's chip, bootloader configuration and flash map "
                                   "(read-only).",
                                   info_opts,
                                   sizeof(info_opts) / sizeof(info_opts[0]),
                                   1};

static int on_info_opt(void *args, int id, const char *val)
{
    (void)id;
    (void)val;
    *(bool *)args = true;
    return -1;
}

/* Name/value rows shared by the text and JSON views. */
typedef struct {
    const char *key;
    uint32_t value;
    bool is_bool, hex;
} row_t;

static size_t info_rows(const emu_device_t *dev, row_t *r)
{
    const bl_config_t *c = &dev->cfg;
    uint8_t raw[BL_SETTINGS_SIZE];
    memcpy(raw, flash_bytes(dev->flash) + c->settings_addr, sizeof(raw));
    bl_settings_t s;
    bl_settings_decode(raw, &s);
    size_t n = 0;
    r[n++] = (row_t){"flash_size", flash_chip(dev->flash)->size, false, true};
    r[n++] = (row_t){"sd_present", (uint32_t)emu_sd_present(dev), true, false};
    r[n++] = (row_t){"sd_fwid", emu_read32(dev, EMU_SD_FWID_ADDR) & 0xFFFFu, false, true};
    r[n++] = (row_t){"bank0_start", emu_bank0_start(dev), false, true};
    r[n++] = (row_t){"bank1_start", emu_bank1_start(dev, s.bank_0.image_size), false, true};
    r[n++] = (row_t){"app_data_start", c->bl_start - c->app_data_area_size, false, true};
    r[n++] = (row_t){"app_data_area_size", c->app_data_area_size, false, false};
    r[n++] = (row_t){"bl_start", c->bl_start, false, true};
    r[n++] = (row_t){"bootloader_size", c->bootloader_size, false, true};
    r[n++] = (row_t){"backup_addr", c->backup_addr, false, true};
    r[n++] = (row_t){"settings_addr", c->settings_addr, false, true};
    r[n++] = (row_t){"hw_version", c->hw_version, false, false};
    r[n++] = (row_t){"require_signed_app", c->require_signed_app, true, false};
    r[n++] = (row_t){"downgrade_prevention", c->downgrade_prevention, true, false};
    r[n++] = (row_t){"accept_same_version", c->accept_same_version, true, false};
    r[n++] = (row_t){"allow_update_from_app", c->allow_update_from_app, true, false};
    r[n++] = (row_t){"app_signature_required", c->app_signature_required, true, false};
    r[n++] = (row_t){"debug_build", c->debug_build, true, false};
    r[n++] = (row_t){"copy_step_pages", c->copy_step_pages, false, false};
    r[n++] = (row_t){"resets", dev->resets, false, false};
    return n;
}

static void key_hex(const emu_device_t *dev, char out[129])
{
    for (size_t i = 0; i < 64; i++)
        snprintf(out + 2 * i, 3, "%02x", dev->cfg.public_key[i]);
}

static int info_show(bool json, const char *path, const emu_device_t *dev)
{
    row_t rows[32];
    size_t n = info_rows(dev, rows);
    char key[129];
    key_hex(dev, key);
    const char *profile = dev->cfg.allow_update_from_app ? "update-from-app" : "stock";
    if (!json) {
        printf("%s: %s, bootloader SDK %s, profile %s\n", path, emu_chip_name(dev->cfg.chip),
               emu_sdk_name(dev->cfg.sdk), profile);
        for (size_t i = 0; i < n; i++)
            printf(rows[i].hex ? "  %-24s 0x%05X\n" : "  %-24s %u\n", rows[i].key, rows[i].value);
        printf("  %-24s %llu\n  %-24s %s\n", "clock_ns",
               (unsigned long long)vclock_now(&dev->clock), "public_key", key);
        return EMU_EXIT_OK;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", path);
    cJSON_AddStringToObject(j, "chip", emu_chip_name(dev->cfg.chip));
    cJSON_AddStringToObject(j, "sdk", emu_sdk_name(dev->cfg.sdk));
    cJSON_AddStringToObject(j, "profile", profile);
    for (size_t i = 0; i < n; i++)
        if (rows[i].is_bool)
            cJSON_AddBoolToObject(j, rows[i].key, rows[i].value != 0);
        else
            cJSON_AddNumberToObject(j, rows[i].key, rows[i].value);
    cJSON_AddNumberToObject(j, "clock_ns", (double)vclock_now(&dev->clock));
    cJSON_AddStringToObject(j, "public_key", key);
    return emu_json_emit(j);
}

int emu_cmd_info(int argc, char **argv)
{
    bool json = false;
    const char *pos[1];
    int rc = emu_cmd_parse(&info_cmd, argc, argv, on_info_opt, &json, pos);
    if (rc >= 0)
        return rc;
    emu_device_t *dev = NULL;
    rc = emu_cmd_load("info", pos[0], &dev);
    if (rc == EMU_EXIT_OK)
        rc = info_show(json, pos[0], dev);
    emu_device_free(dev);
    return rc;
}
