/*
 * dfw_hal.h - the flash seam of device_fw, and the chip layout it needs.
 *
 * device_fw never touches NVMC registers or the SoftDevice itself: it calls
 * the three functions below through a dfw_hal_t the caller fills in (one per
 * flash, so the emulator and tests can run several devices in one process).
 * The nRF52 port implements them with the NVMC (no SoftDevice) or with
 * sd_flash_write()/sd_flash_page_erase() plus a wait for the SoC event.
 *
 * Contract every implementation must meet (spec §9.1, §9.3):
 *  - Erased flash reads 0xFF. Programming can only clear bits (the new
 *    contents of a word are old AND value); device_fw only programs words it
 *    erased since, so a correct HAL never needs to check that.
 *  - write_words(): `addr` is 4-byte aligned, `n_words` >= 1, the range
 *    [addr, addr + 4*n_words) never crosses a page boundary, and `words` is a
 *    4-byte aligned buffer that stays untouched until the call returns. Word i
 *    is stored at addr + 4*i in little-endian byte order (as the nRF52 NVMC
 *    stores a uint32_t), so a host fake must store it with an explicit LE put.
 *    The call must not return before the data is programmed (an asynchronous
 *    SoftDevice backend waits for NRF_EVT_FLASH_OPERATION_SUCCESS/ERROR).
 *  - erase_page(): `page_addr` is a multiple of page_size; erases that page.
 *  - read(): any address and length (byte granularity) inside the flash.
 *  - Every function returns 0 on success and any non-zero value on failure
 *    (busy, timeout, protected page, ...). Failures are returned, never
 *    faulted: device_fw then aborts the stage and writes nothing more. The
 *    value is kept for diagnostics (dfw_stage_hal_rc()).
 *  - device_fw calls the HAL only from within its own API calls, never
 *    re-entrantly, and never holds a pointer into `words` after return.
 */
#ifndef DEVICE_FW_DFW_HAL_H
#define DEVICE_FW_DFW_HAL_H

#include <stdint.h>

typedef struct dfw_hal {
    void *ctx;          /* passed back to every call; owned by the caller */
    uint32_t page_size; /* erase granularity in bytes; must equal DFW_PAGE_SIZE (4096) */
    int (*read)(void *ctx, uint32_t addr, void *dst, uint32_t len);
    int (*write_words)(void *ctx, uint32_t addr, const uint32_t *words, uint32_t n_words);
    int (*erase_page)(void *ctx, uint32_t page_addr);
} dfw_hal_t;

/*
 * Where things are on the chip (spec §1.1). All addresses absolute, all
 * values multiples of the page size. The staging area (bank 1) always lies in
 * [bank0_start, bootloader_start - app_data_size): device_fw never erases or
 * writes the app-data pages, the bootloader, or the backup page.
 */
typedef struct dfw_layout {
    uint32_t flash_size;       /* bytes of code flash */
    uint32_t bootloader_start; /* BOOTLOADER_START_ADDR of the installed bootloader */
    uint32_t app_data_size;    /* NRF_DFU_APP_DATA_AREA_SIZE of that bootloader build */
    uint32_t settings_addr;    /* BOOTLOADER_SETTINGS_ADDRESS (the page we rewrite) */
    uint32_t backup_addr;      /* NRF_MBR_PARAMS_PAGE_ADDRESS (settings backup; never written) */
} dfw_layout_t;

/* Release bootloaders (*_uart, *_ble) of SDK 15.3-17.1, default 12 KiB app data. */
#define DFW_LAYOUT_NRF52832                                                                        \
    {                                                                                              \
        .flash_size = 0x80000u, .bootloader_start = 0x78000u, .app_data_size = 0x3000u,            \
        .settings_addr = 0x7F000u, .backup_addr = 0x7E000u                                         \
    }
#define DFW_LAYOUT_NRF52840                                                                        \
    {                                                                                              \
        .flash_size = 0x100000u, .bootloader_start = 0xF8000u, .app_data_size = 0x3000u,           \
        .settings_addr = 0xFF000u, .backup_addr = 0xFE000u                                         \
    }

/* Fixed by the MBR/SoftDevice on every nRF52 (spec §1.2). */
#define DFW_MBR_SIZE       0x1000u     /* bank 0 starts here when no SoftDevice is present */
#define DFW_SD_MAGIC_ADDR  0x3004u     /* SD info struct (SD base 0x1000 + 0x2000) + 4 */
#define DFW_SD_SIZE_ADDR   0x3008u     /* SD end incl. MBR; page-aligned up = bank 0 start */
#define DFW_SD_MAGIC_VALUE 0x51B1E5DBu /* SD_MAGIC_NUMBER */

#endif
