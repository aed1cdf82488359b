/*
 * emu_hal.h - device_fw's flash seam (dfw_hal_t) on top of the flash model,
 * and a helper that runs the device staging core as the running application.
 *
 * The adapter issues every read/erase/write through the emulated device's
 * flash_t as an application actor, so every rule applies to device_fw as it
 * would on silicon: BPROT/ACL regions the bootloader set before starting the
 * app, the SoftDevice owning the NVMC, word alignment, power cuts. The actor
 * is FLASH_ACTOR_APP_SD when a SoftDevice is present (the running app must
 * use sd_flash_write()/sd_flash_page_erase()), else FLASH_ACTOR_APP_NVMC; a
 * test can force another actor to show what a wrong port would do.
 *
 * Return values (dfw_hal.h contract): 0 on success, else the negative
 * flash_err_t, which device_fw keeps as dfw_stage_hal_rc(). The adapter also
 * keeps the last failing flash_err_t, operation and address for messages.
 *
 * Write fence. The application may change exactly two places: bank 1 (from
 * the page after bank 0's image, as the settings page the bootloader left
 * says, up to the app data area below the bootloader) and the settings page.
 * The adapter works that out from the device when it is bound - not from
 * device_fw's own layout, which is what is under test - and refuses any
 * erase or write elsewhere before it reaches the flash, returning
 * EMU_HAL_FENCE_RC and counting it. Every harness that runs device code (serve,
 * stage, the co-simulation, the fuzzers) treats a hit as a failure.
 *
 * Ownership: emu_hal_t is caller-allocated and borrows the device; it must
 * not outlive it. The dfw_hal_t filled in points at the emu_hal_t (ctx).
 */
#ifndef EMULATOR_EMU_HAL_H
#define EMULATOR_EMU_HAL_H

#include <stddef.h>
#include <stdint.h>

#include "device_fw/dfw_hal.h"
#include "device_fw/dfw_stage.h"
#include "emulator/emu_device.h"
#include "emulator/flash.h"

/* Not a flash_err_t: the fence stopped the call before the flash saw it. */
#define EMU_HAL_FENCE_RC (-100)

typedef struct emu_fence {
    uint32_t bank1_lo, bank1_hi; /* [lo, hi): bank 1 when the application started */
    uint32_t settings;           /* the settings page (one page) */
    uint64_t hits;               /* erases and writes refused */
    const char *call;            /* the first refused: "write" or "erase" */
    uint32_t addr, len;
} emu_fence_t;

typedef struct emu_hal {
    flash_t *flash; /* borrowed from the device */
    flash_actor_t actor;
    flash_err_t last_err;  /* FLASH_OK until a call fails */
    const char *last_call; /* "read", "write", "erase" of the failing call, or NULL */
    uint32_t last_addr;
    emu_fence_t fence;
} emu_hal_t;

/* The actor a correct application port uses on `dev`: APP_SD with a SoftDevice, else APP_NVMC. */
flash_actor_t emu_hal_app_actor(const emu_device_t *dev);

/*
 * Bind `ctx` to `dev` as `actor` and fill `hal` (page size 4096) with the
 * adapter. Call it when the application starts (after each boot): the fence
 * is taken from the settings page at that moment.
 */
void emu_hal_init(emu_hal_t *ctx, emu_device_t *dev, flash_actor_t actor, dfw_hal_t *hal);

/* The fence `dev` gives its application now (see above); hits zeroed. */
void emu_fence_of(const emu_device_t *dev, emu_fence_t *fence);

/* One line on the first refused call, e.g. for a harness's failure message; "" if none. */
void emu_fence_format(const emu_fence_t *fence, char *buf, size_t cap);

/* The layout device_fw needs, from the bootloader configuration of `dev`. */
void emu_hal_layout(const emu_device_t *dev, dfw_layout_t *layout);

/* What emu_stage_app() did. */
typedef struct emu_stage_report {
    dfw_err_t err;         /* DFW_RESET_REQUIRED on success */
    const char *step;      /* where it stopped or ended: "begin", "write", "finish" */
    uint32_t accepted;     /* image bytes the device accepted */
    uint32_t bank1, size;  /* from the device, after a successful begin */
    uint64_t ops;          /* flash operations issued during the stage */
    emu_fence_t fence;     /* what the write fence saw (fence.hits 0 if all was in place) */
    flash_err_t flash_err; /* the adapter's last flash error (FLASH_OK if none) */
    const char *flash_call;
    uint32_t flash_addr;
} emu_stage_report_t;

/*
 * Run the staging core on `dev` as its application: dfw_stage_begin() with
 * `dat`, dfw_stage_write() of `bin` in `chunk`-byte pieces (as if they arrived
 * over the link; 0 means 2048), dfw_stage_finish(). The device should have
 * been booted into its application first (bl_boot_run) so protection is set.
 * A power cut armed on dev->flash beforehand fires inside. Returns rep->err.
 */
dfw_err_t emu_stage_app(emu_device_t *dev, flash_actor_t actor, const uint8_t *dat, size_t dat_len,
                        const uint8_t *bin, size_t bin_len, uint32_t chunk,
                        emu_stage_report_t *rep);

#endif
