/*
 * dfw_settings.c - read, check and edit the bootloader settings page (v2).
 */
#include "device_fw/dfw_settings.h"

#include <string.h>

#include "proto/crc32.h"

_Static_assert(DFW_SO_INIT_COMMAND + DFW_SO_INIT_COMMAND_LEN == DFW_SO_BOOT_VALIDATION_CRC,
               "settings v2: init_command ends where boot validation begins");
_Static_assert(DFW_SO_BOOT_VALIDATION + 3 * 65 == DFW_SO_BOOT_VALIDATION_END,
               "three 65-byte boot_validation_t (short enums)");
_Static_assert(DFW_SETTINGS_HDR_LEN == DFW_SO_INIT_COMMAND, "CRC region ends at init_command");
_Static_assert(DFW_INITCMD_MAX_SIZE <= DFW_SO_INIT_COMMAND_LEN, ".dat must fit init_command");
_Static_assert(DFW_SETTINGS_SIZE % 4u == 0u && DFW_SETTINGS_SIZE <= DFW_PAGE_SIZE,
               "settings record is whole words within one page");

uint32_t dfw_le32_get(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void dfw_le32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t dfw_settings_crc(const uint8_t *page)
{
    return crc32_compute(page + DFW_SO_SETTINGS_VERSION,
                         DFW_SETTINGS_HDR_LEN - DFW_SO_SETTINGS_VERSION);
}

dfw_err_t dfw_settings_check(const uint8_t *page, size_t len)
{
    if (page == NULL || len < DFW_SETTINGS_HDR_LEN) {
        return DFW_ERR_PARAM;
    }
    uint32_t stored = dfw_le32_get(page + DFW_SO_CRC);
    if (stored == 0xFFFFFFFFu || stored != dfw_settings_crc(page)) {
        return DFW_ERR_SETTINGS_CRC;
    }
    /* v1 pages have a 256-byte init_command and no boot validation (spec §2.3). */
    if (dfw_le32_get(page + DFW_SO_SETTINGS_VERSION) != DFW_SETTINGS_VERSION) {
        return DFW_ERR_SETTINGS_VERSION;
    }
    return DFW_OK;
}

dfw_err_t dfw_settings_load(const dfw_hal_t *hal, uint32_t addr, uint8_t *buf, size_t len)
{
    if (hal == NULL || hal->read == NULL || buf == NULL || len < DFW_SETTINGS_HDR_LEN ||
        len > DFW_SETTINGS_SIZE) {
        return DFW_ERR_PARAM;
    }
    if (hal->read(hal->ctx, addr, buf, (uint32_t)len) != 0) {
        return DFW_ERR_FLASH;
    }
    return dfw_settings_check(buf, len);
}

dfw_err_t dfw_settings_stage_app(uint8_t *page, size_t page_len, const uint8_t *dat, size_t n)
{
    if (page == NULL || dat == NULL || page_len != DFW_SETTINGS_SIZE) {
        return DFW_ERR_PARAM;
    }
    if (n == 0u || n > DFW_INITCMD_MAX_SIZE) {
        return DFW_ERR_INITCMD_SIZE;
    }
    /* 0xFF fill mimics the bootloader's own reset of the init command buffer (spec §8.3). */
    memcpy(page + DFW_SO_INIT_COMMAND, dat, n);
    memset(page + DFW_SO_INIT_COMMAND + n, 0xFF, DFW_SO_INIT_COMMAND_LEN - n);

    dfw_le32_put(page + DFW_SO_COMMAND_SIZE, (uint32_t)n);
    dfw_le32_put(page + DFW_SO_COMMAND_OFFSET, (uint32_t)n);
    dfw_le32_put(page + DFW_SO_COMMAND_CRC, crc32_compute(dat, n));
    memset(page + DFW_SO_DATA_OBJECT_SIZE, 0, DFW_SO_PROGRESS_END - DFW_SO_DATA_OBJECT_SIZE);
    dfw_le32_put(page + DFW_SO_WRITE_OFFSET, 0u);
    dfw_le32_put(page + DFW_SO_BANK_CURRENT, DFW_BANK_CURRENT_1);
    dfw_le32_put(page + DFW_SO_CRC, dfw_settings_crc(page));
    return DFW_OK;
}
