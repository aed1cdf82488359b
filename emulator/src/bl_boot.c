/*
 * bl_boot.c - the bootloader's start-up, step by step as spec 7.1 lists it.
 * Each step cites the spec section it replays; the RAM copy of the settings
 * is `b->s`, written back through the flash model exactly when the SDK's
 * nrf_dfu_settings_write()/..._backup() would.
 */
#include "emulator/bl_boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "emulator/bl_settings.h"
#include "proto/sig.h"

/* One replay. Any flash error stops it: the first one is kept. */
typedef struct {
    emu_device_t *dev;
    flash_t *f;
    const bl_config_t *cfg;
    bl_settings_t s; /* the bootloader's RAM copy (s_dfu_settings) */
    bl_boot_report_t *rep;
    flash_err_t ferr;
} boot_t;

typedef enum { ACT_NONE, ACT_SUCCESS, ACT_EXPECT_ADDITIONAL, ACT_ERROR } act_t;

static uint32_t align4k(uint32_t v)
{
    return (v + EMU_PAGE - 1u) & ~(EMU_PAGE - 1u);
}

static bool fl(boot_t *b, flash_err_t e)
{
    if (e != FLASH_OK && b->ferr == FLASH_OK)
        b->ferr = e;
    return e == FLASH_OK && b->ferr == FLASH_OK;
}

/* Flash contents for hashing; NULL if [addr, addr+len) is not all in flash. */
static const uint8_t *region(const boot_t *b, uint32_t addr, uint32_t len)
{
    uint32_t size = flash_chip(b->f)->size;
    if (addr > size || len > size - addr)
        return NULL;
    return flash_bytes(b->f) + addr;
}

static uint32_t crc_of(const uint8_t *p, uint32_t len)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, len);
}

/* ---- settings page I/O (spec 2.5) ------------------------------------------------ */

static bool program_page(boot_t *b, uint32_t page, const uint8_t raw[BL_SETTINGS_SIZE])
{
    const uint8_t *now = region(b, page, BL_SETTINGS_SIZE);
    if (now && memcmp(now, raw, BL_SETTINGS_SIZE) == 0)
        return true; /* the SDK skips identical writes */
    return fl(b, flash_erase_page(b->f, FLASH_ACTOR_BOOTLOADER, page)) &&
           fl(b, flash_write(b->f, FLASH_ACTOR_BOOTLOADER, page, raw, BL_SETTINGS_SIZE));
}

/* nrf_dfu_settings_write_and_backup(): CRCs, main page, then backup from RAM. */
static bool write_and_backup(boot_t *b)
{
    uint8_t raw[BL_SETTINGS_SIZE];
    bl_settings_encode(&b->s, raw);
    bl_settings_update_crcs(raw);
    bl_settings_decode(raw, &b->s);
    return program_page(b, b->cfg->settings_addr, raw) && program_page(b, b->cfg->backup_addr, raw);
}

/* nrf_dfu_settings_backup(): copy the main page as it is in flash. */
static bool backup_from_flash(boot_t *b)
{
    uint8_t raw[BL_SETTINGS_SIZE];
    memcpy(raw, region(b, b->cfg->settings_addr, BL_SETTINGS_SIZE), BL_SETTINGS_SIZE);
    return program_page(b, b->cfg->backup_addr, raw);
}

/* Progress reset of the request handler: init buffer 0xFF, progress 0. */
static void reset_progress(bl_settings_t *s)
{
    memset(s->init_command, 0xFF, sizeof(s->init_command));
    memset(&s->progress, 0, sizeof(s->progress));
    s->write_offset = 0;
}

/* ---- step 1-3: MBR words, protection, settings load -------------------------------- */

static bool populate_mbr_words(boot_t *b)
{
    if (b->cfg->sdk == BL_SDK_15_3) /* 15.3's hex carries them (spec 1.1) */
        return true;
    uint32_t words[2] = {b->cfg->bl_start, b->cfg->backup_addr};
    uint32_t addrs[2] = {EMU_MBR_BL_ADDR, EMU_MBR_PARAMS};
    for (int i = 0; i < 2; i++)
        if (emu_read32(b->dev, addrs[i]) == 0xFFFFFFFFu &&
            !fl(b, flash_write(b->f, FLASH_ACTOR_BOOTLOADER, addrs[i], &words[i], 4)))
            return false;
    return true;
}

static bool protect(boot_t *b, uint32_t start, uint32_t end, const char *name)
{
    return start >= end || fl(b, flash_protect(b->f, start, end, name));
}

static bool load_settings(boot_t *b, bool *staged_in_main)
{
    uint8_t main_page[BL_SETTINGS_SIZE], backup[BL_SETTINGS_SIZE], ram[BL_SETTINGS_SIZE];
    memcpy(main_page, region(b, b->cfg->settings_addr, BL_SETTINGS_SIZE), BL_SETTINGS_SIZE);
    memcpy(backup, region(b, b->cfg->backup_addr, BL_SETTINGS_SIZE), BL_SETTINGS_SIZE);
    bl_settings_t as_written;
    bl_settings_decode(main_page, &as_written);
    *staged_in_main =
        bl_settings_main_valid(main_page) && as_written.bank_current == BL_SETTINGS_CURRENT_BANK_1;
    bl_settings_mode_t mode =
        b->cfg->allow_update_from_app ? BL_SETTINGS_MODE_A : BL_SETTINGS_MODE_B;
    bl_settings_source_t src = bl_settings_reinit(main_page, backup, mode, ram, NULL);
    /* "restored" only when the backup actually overrode something the main page said */
    if (src == BL_SETTINGS_SRC_MAIN_RESTORED && memcmp(ram, main_page, sizeof(ram)) == 0)
        src = BL_SETTINGS_SRC_MAIN;
    b->rep->settings_load = (bl_settings_load_t)src;
    bl_settings_decode(ram, &b->s);
    return write_and_backup(b);
}

/* ---- boot-time post-validation (spec 8.2, 5.3, 6.2, 6.3) --------------------------- */

static bl_device_view_t device_view(const boot_t *b)
{
    bl_device_view_t v = {emu_sd_present(b->dev) != 0,
                          (uint16_t)(emu_read32(b->dev, EMU_SD_FWID_ADDR) & 0xFFFFu),
                          b->s.app_version, b->s.bootloader_version};
    return v;
}

static void reject(boot_t *b, bl_verdict_t v, const char *why)
{
    b->rep->update = BL_UPDATE_REJECTED;
    b->rep->verdict = v;
    b->rep->reason = why;
}

/* Step 3 of 5.3: what counts as a stored, decodable init command. */
static bool stored_init(const boot_t *b, initpkt_t *p)
{
    uint32_t n = b->s.progress.command_size;
    return n != 0 && n <= BL_SETTINGS_INIT_CMD_MAX &&
           initpkt_decode(b->s.init_command, n, p, NULL) == INITPKT_OK;
}

static bool app_boot_validation(boot_t *b, const initpkt_t *p, const uint8_t *img, uint32_t len)
{
    uint32_t type = p->bv_count ? p->bv[0].type : BL_SETTINGS_BV_CRC;
    const uint8_t *sig = type == BL_SETTINGS_BV_ECDSA && p->bv[0].len == 64 ? p->bv[0].bytes : NULL;
    bl_settings_bv_t bv;
    if (type > BL_SETTINGS_BV_ECDSA || (type == BL_SETTINGS_BV_ECDSA && !sig))
        return false;
    if (bl_settings_bv_make((bl_settings_bv_type_t)type, img, len, sig, &bv) != BL_SETTINGS_OK ||
        bl_settings_bv_check(&bv, img, len, b->cfg->public_key) != BL_SETTINGS_OK)
        return false;
    if (b->cfg->app_signature_required && type != BL_SETTINGS_BV_ECDSA)
        return false;
    b->s.boot_validation_app = bv;
    return true;
}

/* nrf_dfu_softdevice_invalidate() (spec 3.2): MBR-only bootloaders, SD present. */
static bool softdevice_invalidate(boot_t *b)
{
    if (!emu_sd_present(b->dev))
        return true;
    uint32_t sd_end = emu_read32(b->dev, EMU_SD_SIZE_ADDR), zero = 0;
    if (!fl(b, flash_write(b->f, FLASH_ACTOR_BOOTLOADER, EMU_SD_MAGIC_ADDR, &zero, 4)))
        return false;
    if (b->s.bank_0.bank_code == BL_SETTINGS_BANK_VALID_APP)
        b->s.bank_0.bank_code = BL_SETTINGS_BANK_INVALID;
    b->s.bank_0.image_size += sd_end - EMU_MBR_SIZE; /* bank 1 stays where it was */
    return true;
}

static void postvalidate_fail(boot_t *b, uint32_t addr, bl_verdict_t v, const char *why)
{
    memset(&b->s.bank_1, 0, sizeof(b->s.bank_1));
    reset_progress(&b->s);
    b->s.progress.update_start_address = addr;
    reject(b, v, why);
}

static bool postvalidate_app(boot_t *b, const initpkt_t *p, uint32_t addr, const uint8_t *img,
                             uint32_t len)
{
    if (!app_boot_validation(b, p, img, len)) {
        postvalidate_fail(b, addr, (bl_verdict_t){BL_RES_INVALID_OBJECT, BL_EXT_NO_ERROR},
                          "boot validation of the staged image failed");
        return true;
    }
    b->s.bank_1.bank_code = BL_SETTINGS_BANK_VALID_APP;
    b->s.bank_0.bank_code = BL_SETTINGS_BANK_INVALID;
    bool needs_sd = p->sd_req_count > 0 && p->sd_req[0] != 0;
    if (bl_config_mbr_only(b->cfg) && !needs_sd && !softdevice_invalidate(b))
        return false;
    if (!(b->cfg->debug_build && p->is_debug))
        b->s.app_version = p->fw_version;
    b->s.bank_1.image_crc = crc_of(img, len);
    b->s.bank_1.image_size = len;
    reset_progress(&b->s);
    b->s.progress.update_start_address = addr;
    b->rep->verdict = BL_VERDICT_OK;
    return true;
}

/* Trusted post-validation (activation_prepare) of [addr, addr+len). */
static bool activation_prepare(boot_t *b, const initpkt_t *p, uint32_t addr, uint32_t len)
{
    const uint8_t *img = region(b, addr, len);
    uint8_t digest[32];
    if (img)
        sig_sha256(img, len, digest);
    sig_reverse(digest, 32);
    if (!img || p->hash_len < 32 || memcmp(digest, p->hash, 32) != 0) {
        postvalidate_fail(b, addr, (bl_verdict_t){BL_RES_EXT_ERROR, BL_EXT_VERIFICATION_FAILED},
                          "SHA-256 of bank 1 does not match the init command's hash");
        return true;
    }
    if (p->type != INITPKT_FW_APPLICATION) {
        /* dfuart's device refuses these; a hand-made page gets an honest no. */
        postvalidate_fail(b, addr, (bl_verdict_t){BL_RES_INVALID_OBJECT, BL_EXT_NO_ERROR},
                          "SoftDevice/bootloader activation from bank 1 is not modelled");
        return true;
    }
    return postvalidate_app(b, p, addr, img, len);
}

static bool postvalidate(boot_t *b)
{
    initpkt_t p;
    if (!stored_init(b, &p)) {
        reject(b, (bl_verdict_t){BL_RES_INVALID_OBJECT, BL_EXT_NO_ERROR},
               "the stored init command does not decode");
        return true;
    }
    if (b->s.progress.command_offset != b->s.progress.command_size) {
        reject(b, (bl_verdict_t){BL_RES_OPERATION_NOT_PERMITTED, BL_EXT_NO_ERROR},
               "command_offset != command_size: init command incomplete");
        return true;
    }
    uint32_t len, addr = emu_bank1_start(b->dev, b->s.bank_0.image_size);
    bl_verdict_t v = bl_image_size(b->cfg, &p, &len);
    bl_device_view_t view = device_view(b);
    if (v.result == BL_RES_SUCCESS)
        v = bl_prevalidate(b->cfg, &p, b->s.init_command, &view);
    if (v.result != BL_RES_SUCCESS) {
        reject(b, v, "the init command failed the bootloader's checks");
        return true; /* the init command stays in flash (spec 8.2 note) */
    }
    return activation_prepare(b, &p, addr, len);
}

/* ---- activation (spec 7.2) ------------------------------------------------------- */

static bool copy_chunk(boot_t *b, uint32_t dst, uint32_t src, uint32_t bytes, uint32_t pages)
{
    uint32_t prog = (bytes + 3u) & ~3u;
    const uint8_t *from = region(b, src, prog);
    uint8_t *buf = from ? malloc(prog) : NULL;
    if (!buf)
        return fl(b, from ? FLASH_ERR_NOMEM : FLASH_ERR_RANGE);
    memcpy(buf, from, prog); /* the source is read before the destination changes */
    bool ok = true;
    for (uint32_t i = 0; ok && i < pages; i++)
        ok = fl(b, flash_erase_page(b->f, FLASH_ACTOR_BOOTLOADER, dst + i * EMU_PAGE));
    ok = ok && fl(b, flash_write(b->f, FLASH_ACTOR_BOOTLOADER, dst, buf, prog));
    free(buf);
    return ok;
}

/* image_copy(): chunks never larger than the gap, progress saved after each. */
static bool image_copy(boot_t *b, uint32_t dst, uint32_t src, uint32_t left)
{
    uint32_t step = b->cfg->copy_step_pages, gap = (src - dst) / EMU_PAGE;
    if (gap < step)
        step = gap;
    if (left && step == 0)
        return fl(b, FLASH_ERR_ARG); /* source overlaps destination: refuse to loop */
    uint32_t pages_left = (left + EMU_PAGE - 1u) / EMU_PAGE;
    while (left > 0) {
        uint32_t n = pages_left <= step ? pages_left : step;
        uint32_t bytes = pages_left <= step ? left : step * EMU_PAGE;
        if (!copy_chunk(b, dst, src, bytes, n))
            return false;
        dst += bytes, src += bytes, left -= bytes, pages_left -= n;
        b->s.write_offset += bytes;
        b->rep->copied_bytes += bytes;
        if (!write_and_backup(b))
            return false;
    }
    return true;
}

static bool app_activate(boot_t *b)
{
    uint32_t size = b->s.bank_1.image_size, off = b->s.write_offset;
    uint32_t src = b->s.progress.update_start_address + off;
    uint32_t dst = emu_bank0_start(b->dev) + off;
    uint32_t left = src == dst || off > size ? 0 : size - off;
    if (!image_copy(b, dst, src, left))
        return false;
    const uint8_t *img = region(b, emu_bank0_start(b->dev), size);
    uint32_t crc = img ? crc_of(img, size) : 0;
    if (img && crc == b->s.bank_1.image_crc) {
        b->s.bank_0 = (bl_settings_bank_t){size, crc, BL_SETTINGS_BANK_VALID_APP};
        b->rep->update = BL_UPDATE_ACTIVATED;
    } else {
        b->rep->reason = "bank 0 CRC after the copy differs: activation failed";
    }
    return true;
}

static act_t fw_activate(boot_t *b)
{
    if (b->s.bank_1.bank_code != BL_SETTINGS_BANK_VALID_APP)
        return ACT_NONE; /* SD/BL codes are never produced by the bank-1 path we model */
    if (!app_activate(b))
        return ACT_ERROR;
    /* Success is reported even when the copy's CRC failed (spec 7.2, quirk 12). */
    memset(&b->s.bank_1, 0, sizeof(b->s.bank_1));
    b->s.write_offset = 0;
    return write_and_backup(b) ? ACT_SUCCESS : ACT_ERROR;
}

/* ---- boot validation and app start (spec 7.4, 7.1) -------------------------------- */

static bool bv_ok(const boot_t *b, const bl_settings_bv_t *bv, uint32_t addr, uint32_t len)
{
    const uint8_t *p = region(b, addr, len);
    if (!p)
        return false;
    bl_settings_err_t e = bl_settings_bv_check(bv, p, len, b->cfg->public_key);
    /* Debug bootloaders return NRF_DFU_DEBUG on a CRC mismatch: a pass (quirk 15). */
    if (e == BL_SETTINGS_ERR_MISMATCH && bv->type == BL_SETTINGS_BV_CRC && b->cfg->debug_build)
        return true;
    return e == BL_SETTINGS_OK;
}

static bool app_is_valid(const boot_t *b)
{
    if (b->s.bank_0.bank_code != BL_SETTINGS_BANK_VALID_APP)
        return false;
    if (b->cfg->app_signature_required && b->s.boot_validation_app.type != BL_SETTINGS_BV_ECDSA)
        return false;
    if (emu_sd_present(b->dev) &&
        !bv_ok(b, &b->s.boot_validation_softdevice, EMU_MBR_SIZE, b->s.sd_size))
        return false;
    return bv_ok(b, &b->s.boot_validation_app, emu_bank0_start(b->dev), b->s.bank_0.image_size);
}

/* nrf_bootloader_app_start(): what the running application may no longer touch. */
static bool start_app(boot_t *b)
{
    const bl_config_t *c = b->cfg;
    uint32_t bank0 = emu_bank0_start(b->dev);
    bool lock_settings = c->sdk != BL_SDK_15_3 && !c->allow_update_from_app;
    if (!backup_from_flash(b) ||
        !protect(b, c->bl_start, c->bl_start + c->bootloader_size + EMU_PAGE,
                 "bootloader + MBR params (backup) page") ||
        (lock_settings &&
         !protect(b, c->settings_addr, c->settings_addr + EMU_PAGE, "bootloader settings page")) ||
        !protect(b, EMU_MBR_SIZE, bank0, "SoftDevice") ||
        !protect(b, bank0, bank0 + align4k(b->s.bank_0.image_size), "application (running image)"))
        return false;
    flash_set_softdevice_enabled(b->f, emu_sd_present(b->dev) != 0);
    return true;
}

/* ---- the loop --------------------------------------------------------------------- */

typedef enum { STEP_RESET, STEP_SETTLED, STEP_STOPPED } step_t;

static step_t settle(boot_t *b, act_t act)
{
    if (act == ACT_SUCCESS)
        return backup_from_flash(b) ? STEP_RESET : STEP_STOPPED;
    if (act == ACT_ERROR)
        return b->ferr ? STEP_STOPPED : STEP_RESET; /* APP_ERROR_CHECK -> reset */
    b->rep->app_valid = app_is_valid(b);
    if (act == ACT_EXPECT_ADDITIONAL || !b->rep->app_valid) {
        b->rep->state = BL_STATE_DFU;
        return STEP_SETTLED;
    }
    if (!start_app(b))
        return STEP_STOPPED;
    b->rep->state = BL_STATE_APP;
    return STEP_SETTLED;
}

static step_t boot_once(boot_t *b)
{
    bool staged = false;
    if (!populate_mbr_words(b) || !protect(b, 0, EMU_MBR_SIZE, "MBR") ||
        !protect(b, b->cfg->bl_start, b->cfg->bl_start + b->cfg->bootloader_size, "bootloader") ||
        !load_settings(b, &staged))
        return STEP_STOPPED;
    if (b->cfg->allow_update_from_app && b->s.bank_current == BL_SETTINGS_CURRENT_BANK_1) {
        if (!postvalidate(b))
            return STEP_STOPPED;
        b->s.bank_current = BL_SETTINGS_CURRENT_BANK_0;
        if (!write_and_backup(b))
            return STEP_STOPPED;
    } else if (staged && b->rep->update == BL_UPDATE_NONE) {
        b->rep->update = BL_UPDATE_IGNORED;
        b->rep->reason = "bootloader built without NRF_BL_DFU_ALLOW_UPDATE_FROM_APP: "
                         "bank_current, progress and init_command restored from the backup";
    }
    act_t act = fw_activate(b);
    return b->ferr ? STEP_STOPPED : settle(b, act);
}

static void finish_report(boot_t *b)
{
    bl_boot_report_t *r = b->rep;
    if (b->ferr == FLASH_ERR_POWER_CUT) {
        r->state = BL_STATE_POWER_LOST;
    } else if (b->ferr != FLASH_OK) {
        r->state = BL_STATE_FAULT;
        snprintf(r->note, sizeof(r->note), "bootloader flash access failed: %s",
                 flash_strerror(b->ferr));
    }
    r->app_version = b->s.app_version;
    r->bank0_start = emu_bank0_start(b->dev);
    r->bank0_size = b->s.bank_0.image_size;
    r->bank0_crc = b->s.bank_0.image_crc;
}

void bl_boot_run(emu_device_t *dev, bl_boot_report_t *rep)
{
    boot_t b = {.dev = dev, .f = dev->flash, .cfg = &dev->cfg, .rep = rep};
    memset(rep, 0, sizeof(*rep));
    rep->state = BL_STATE_LOOP;
    step_t st = STEP_RESET;
    while (st == STEP_RESET && rep->resets < BL_BOOT_MAX_RESETS) {
        flash_reset(dev->flash); /* a reset clears protection and power */
        dev->resets++;
        rep->resets++;
        st = boot_once(&b);
    }
    finish_report(&b);
}

const char *bl_state_name(bl_state_t s)
{
    static const char *const n[] = {"app", "dfu", "power_lost", "fault", "reset_loop"};
    return (size_t)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

const char *bl_update_name(bl_update_t u)
{
    static const char *const n[] = {"none", "activated", "rejected", "ignored"};
    return (size_t)u < sizeof(n) / sizeof(n[0]) ? n[u] : "?";
}

const char *bl_settings_load_name(bl_settings_load_t l)
{
    static const char *const n[] = {"main", "main_restored_from_backup", "backup", "defaults"};
    return (size_t)l < sizeof(n) / sizeof(n[0]) ? n[l] : "?";
}
