/* emu_hal.c - dfw_hal_t over the flash model, and the in-process staging run (emu_hal.h). */
#include "emulator/emu_hal.h"

#include <stdio.h>
#include <string.h>

#include "emulator/bl_settings.h"

#define DEFAULT_CHUNK 2048u /* what the GSM modem case delivers per message */

static int failed(emu_hal_t *h, flash_err_t e, const char *call, uint32_t addr)
{
    if (e == FLASH_OK)
        return 0;
    h->last_err = e;
    h->last_call = call;
    h->last_addr = addr;
    return (int)e; /* negative, so never 0 */
}

static bool inside(uint32_t addr, uint32_t len, uint32_t lo, uint32_t hi)
{
    return addr >= lo && addr <= hi && len <= hi - addr;
}

/* true if the call may go ahead; else counted, and the first one kept for the message. */
static bool fence_pass(emu_fence_t *f, const char *call, uint32_t addr, uint32_t len)
{
    if (inside(addr, len, f->bank1_lo, f->bank1_hi) ||
        inside(addr, len, f->settings, f->settings + EMU_PAGE))
        return true;
    if (f->hits++ == 0) {
        f->call = call;
        f->addr = addr;
        f->len = len;
    }
    return false;
}

static int hal_read(void *ctx, uint32_t addr, void *dst, uint32_t len)
{
    emu_hal_t *h = ctx;
    return failed(h, flash_read(h->flash, addr, dst, len), "read", addr);
}

static int hal_write_words(void *ctx, uint32_t addr, const uint32_t *words, uint32_t n_words)
{
    emu_hal_t *h = ctx;
    if (!fence_pass(&h->fence, "write", addr, n_words > UINT32_MAX / 4 ? UINT32_MAX : 4 * n_words))
        return EMU_HAL_FENCE_RC;
    return failed(h, flash_write_words(h->flash, h->actor, addr, words, n_words), "write", addr);
}

static int hal_erase_page(void *ctx, uint32_t page_addr)
{
    emu_hal_t *h = ctx;
    if (!fence_pass(&h->fence, "erase", page_addr, EMU_PAGE))
        return EMU_HAL_FENCE_RC;
    return failed(h, flash_erase_page(h->flash, h->actor, page_addr), "erase", page_addr);
}

void emu_fence_of(const emu_device_t *dev, emu_fence_t *fence)
{
    const bl_config_t *c = &dev->cfg;
    bl_settings_t s;
    bl_settings_decode(flash_bytes(dev->flash) + c->settings_addr, &s);
    uint32_t hi = c->bl_start - c->app_data_area_size;
    uint32_t lo = emu_bank1_start(dev, s.bank_0.image_size);
    *fence = (emu_fence_t){lo < hi ? lo : hi, hi, c->settings_addr, 0, NULL, 0, 0};
}

void emu_fence_format(const emu_fence_t *f, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    buf[0] = '\0';
    if (f->hits)
        snprintf(buf, cap,
                 "device code tried to %s [0x%05X, +%u), outside bank 1 [0x%05X, 0x%05X) and the "
                 "settings page 0x%05X (%llu call(s) refused)",
                 f->call, f->addr, f->len, f->bank1_lo, f->bank1_hi, f->settings,
                 (unsigned long long)f->hits);
}

flash_actor_t emu_hal_app_actor(const emu_device_t *dev)
{
    return emu_sd_present(dev) ? FLASH_ACTOR_APP_SD : FLASH_ACTOR_APP_NVMC;
}

void emu_hal_init(emu_hal_t *ctx, emu_device_t *dev, flash_actor_t actor, dfw_hal_t *hal)
{
    *ctx = (emu_hal_t){dev->flash, actor, FLASH_OK, NULL, 0, {0}};
    emu_fence_of(dev, &ctx->fence);
    *hal = (dfw_hal_t){ctx, EMU_PAGE, hal_read, hal_write_words, hal_erase_page};
}

void emu_hal_layout(const emu_device_t *dev, dfw_layout_t *layout)
{
    const bl_config_t *c = &dev->cfg;
    *layout = (dfw_layout_t){flash_chip(dev->flash)->size, c->bl_start, c->app_data_area_size,
                             c->settings_addr, c->backup_addr};
}

static dfw_err_t write_chunks(dfw_stage_t *st, const uint8_t *bin, size_t len, uint32_t chunk,
                              emu_stage_report_t *rep)
{
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        dfw_err_t e = dfw_stage_write(st, (uint32_t)off, bin + off, n);
        if (e != DFW_OK)
            return e;
        off += n;
        rep->accepted = (uint32_t)off;
    }
    return DFW_OK;
}

static dfw_err_t run_stage(dfw_stage_t *st, const dfw_hal_t *hal, const dfw_layout_t *layout,
                           const uint8_t *dat, size_t dat_len, const uint8_t *bin, size_t bin_len,
                           uint32_t chunk, emu_stage_report_t *rep)
{
    uint32_t scratch[DFW_SETTINGS_WORDS]; /* finish's 896-byte work buffer (host stack is ample) */
    rep->step = "begin";
    dfw_err_t e = dfw_stage_begin(st, hal, layout, dat, dat_len);
    if (e != DFW_OK)
        return e;
    rep->bank1 = dfw_stage_bank1_addr(st);
    rep->size = dfw_stage_image_size(st);
    rep->step = "write";
    e = write_chunks(st, bin, bin_len, chunk, rep);
    if (e != DFW_OK)
        return e;
    rep->step = "finish";
    return dfw_stage_finish(st, scratch);
}

dfw_err_t emu_stage_app(emu_device_t *dev, flash_actor_t actor, const uint8_t *dat, size_t dat_len,
                        const uint8_t *bin, size_t bin_len, uint32_t chunk, emu_stage_report_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    emu_hal_t ctx;
    dfw_hal_t hal;
    dfw_layout_t layout;
    dfw_stage_t st;
    emu_hal_init(&ctx, dev, actor, &hal);
    emu_hal_layout(dev, &layout);
    dfw_stage_init(&st);
    uint64_t ops0 = flash_op_count(dev->flash);
    rep->err = run_stage(&st, &hal, &layout, dat, dat_len, bin, bin_len,
                         chunk ? chunk : DEFAULT_CHUNK, rep);
    rep->ops = flash_op_count(dev->flash) - ops0;
    rep->flash_err = ctx.last_err;
    rep->flash_call = ctx.last_call;
    rep->flash_addr = ctx.last_addr;
    rep->fence = ctx.fence;
    return rep->err;
}
