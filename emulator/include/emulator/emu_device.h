/*
 * emu_device.h - one emulated nRF52: its flash, its virtual clock and the
 * configuration of the bootloader it runs. Several devices can live in one
 * process (each owns its flash).
 *
 * emu_device_new() allocates; the caller owns the result and frees it with
 * emu_device_free(), which also frees the flash.
 */
#ifndef EMULATOR_EMU_DEVICE_H
#define EMULATOR_EMU_DEVICE_H

#include <stdint.h>

#include "emulator/bl_config.h"
#include "emulator/flash.h"
#include "emulator/vclock.h"

#define EMU_MBR_SIZE      0x1000u
#define EMU_SD_INFO_ADDR  0x3000u /* SoftDevice info struct: SD base + 0x2000 */
#define EMU_SD_MAGIC      0x51B1E5DBu
#define EMU_SD_MAGIC_ADDR 0x3004u
#define EMU_SD_SIZE_ADDR  0x3008u
#define EMU_SD_FWID_ADDR  0x300Cu
#define EMU_MBR_BL_ADDR   0x0FF8u /* MBR_BOOTLOADER_ADDR */
#define EMU_MBR_PARAMS    0x0FFCu /* MBR_PARAM_PAGE_ADDR */
#define EMU_PAGE          0x1000u

typedef struct emu_device {
    bl_config_t cfg;
    flash_t *flash;  /* owned */
    vclock_t clock;  /* charged by every flash operation */
    uint32_t resets; /* resets since the device was created */
} emu_device_t;

/* A device with erased flash and `cfg`; NULL on allocation failure. */
emu_device_t *emu_device_new(const bl_config_t *cfg);
void emu_device_free(emu_device_t *dev);

/* Little-endian word at `addr` (0xFFFFFFFF outside flash, like an erased word). */
uint32_t emu_read32(const emu_device_t *dev, uint32_t addr);

/* Where the bootloader and the device locate the banks (spec 1.2, 3.2). */
int emu_sd_present(const emu_device_t *dev);
uint32_t emu_bank0_start(const emu_device_t *dev);
uint32_t emu_bank1_start(const emu_device_t *dev, uint32_t bank0_image_size);

#endif
