/*
 * dfw_settings.h - the device's view of the bootloader settings page.
 *
 * Format: `nrf_dfu_settings_t` version 2 as built by the SDK 15.3-17.1 secure
 * bootloader (`#pragma pack(4)`, `-fshort-enums`), 896 bytes, all integers
 * little-endian (spec §2.2). It is handled as a byte array with explicit
 * get/put at the fixed offsets below: no packed structs, so the code means the
 * same on Cortex-M4 and on any host.
 *
 * CRCs (spec §2.4): `crc` at offset 0 covers bytes 4..91 only; the page is
 * valid iff crc != 0xFFFFFFFF and crc == CRC-32(4..91). boot_validation_crc
 * (604) covers 608..802 and is only checked by the bootloader on the backup.
 *
 * What an application may change (spec §2.6 mode A, NRF_BL_DFU_ALLOW_UPDATE_
 * FROM_APP=1): crc, bank_current, write_offset, progress (56..87),
 * enter_buttonless_dfu, init_command, peer_data, adv_name. Anything else that
 * differs from the backup page is silently restored at the next boot.
 */
#ifndef DEVICE_FW_DFW_SETTINGS_H
#define DEVICE_FW_DFW_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "device_fw/dfw_config.h"
#include "device_fw/dfw_err.h"
#include "device_fw/dfw_hal.h"

#define DFW_SETTINGS_SIZE    896u /* sizeof(nrf_dfu_settings_t), bytes written to flash */
#define DFW_SETTINGS_WORDS   (DFW_SETTINGS_SIZE / 4u)
#define DFW_SETTINGS_HDR_LEN 92u /* bytes 0..91: everything up to init_command */
#define DFW_SETTINGS_VERSION 2u  /* the only layout this module understands */

/* Byte offsets (spec §2.2). */
enum {
    DFW_SO_CRC = 0,
    DFW_SO_SETTINGS_VERSION = 4,
    DFW_SO_APP_VERSION = 8,
    DFW_SO_BOOTLOADER_VERSION = 12,
    DFW_SO_BANK_LAYOUT = 16,
    DFW_SO_BANK_CURRENT = 20,
    DFW_SO_BANK0_IMAGE_SIZE = 24,
    DFW_SO_BANK0_IMAGE_CRC = 28,
    DFW_SO_BANK0_BANK_CODE = 32,
    DFW_SO_BANK1_IMAGE_SIZE = 36,
    DFW_SO_BANK1_IMAGE_CRC = 40,
    DFW_SO_BANK1_BANK_CODE = 44,
    DFW_SO_WRITE_OFFSET = 48,
    DFW_SO_SD_SIZE = 52,
    DFW_SO_COMMAND_SIZE = 56,
    DFW_SO_COMMAND_OFFSET = 60,
    DFW_SO_COMMAND_CRC = 64,
    DFW_SO_DATA_OBJECT_SIZE = 68, /* 68..87: data progress, zeroed by the §8.3 recipe */
    DFW_SO_PROGRESS_END = 88,
    DFW_SO_ENTER_BUTTONLESS = 88,
    DFW_SO_INIT_COMMAND = 92,
    DFW_SO_INIT_COMMAND_LEN = 512,
    DFW_SO_BOOT_VALIDATION_CRC = 604,
    DFW_SO_BOOT_VALIDATION = 608, /* 3 x {u8 type; u8 bytes[64]} = 608..802 */
    DFW_SO_BOOT_VALIDATION_END = 803,
};

#define DFW_BANK_CURRENT_1 1u /* "update staged in bank 1, post-validate at boot" */

uint32_t dfw_le32_get(const uint8_t *p);
void dfw_le32_put(uint8_t *p, uint32_t v);

/* CRC-32 over bytes 4..91 of `page` (at least DFW_SETTINGS_HDR_LEN bytes). */
uint32_t dfw_settings_crc(const uint8_t *page);

/*
 * Is this settings image usable? `len` >= DFW_SETTINGS_HDR_LEN.
 * DFW_ERR_SETTINGS_CRC: crc is 0xFFFFFFFF or wrong (erased or torn page: the
 * bootloader would ignore the page and fall back to the backup, so an edit we
 * make would be lost). DFW_ERR_SETTINGS_VERSION: not a v2 page.
 */
DFW_MUST_CHECK dfw_err_t dfw_settings_check(const uint8_t *page, size_t len);

/*
 * Read `len` bytes (DFW_SETTINGS_HDR_LEN..DFW_SETTINGS_SIZE) of the settings
 * page at `addr` into `buf` and check them. DFW_ERR_FLASH if the read fails.
 */
DFW_MUST_CHECK dfw_err_t dfw_settings_load(const dfw_hal_t *hal, uint32_t addr, uint8_t *buf,
                                           size_t len);

/*
 * Spec §8.3 step 5, in place on a full 896-byte page image read from flash:
 * init_command <- dat[0..n) then 0xFF up to 512; command_size = command_offset
 * = n; command_crc = CRC-32(dat); bytes 68..87 = 0; write_offset = 0;
 * bank_current = 1; crc recomputed over 4..91. Every other byte (versions,
 * banks, sd_size, enter_buttonless_dfu, boot validation and its CRC,
 * peer_data, adv_name) is left byte-identical.
 * DFW_ERR_PARAM if page/dat is NULL or page_len != 896;
 * DFW_ERR_INITCMD_SIZE if n is 0 or > 512. The page is unchanged on error.
 */
DFW_MUST_CHECK dfw_err_t dfw_settings_stage_app(uint8_t *page, size_t page_len, const uint8_t *dat,
                                                size_t n);

#endif
