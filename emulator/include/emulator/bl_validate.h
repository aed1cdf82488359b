/*
 * bl_validate.h - the nRF5 SDK bootloader's verdict on an init command,
 * in the SDK's own order and with its own result codes (spec 5.1, 5.3-5.5).
 *
 * Pure functions over already-decoded values: the replay (bl_boot) reads the
 * settings page and flash, then asks these functions what the bootloader
 * would answer.
 */
#ifndef EMULATOR_BL_VALIDATE_H
#define EMULATOR_BL_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/bl_config.h"
#include "proto/initpkt.h"

/* nrf_dfu_result_t */
typedef enum {
    BL_RES_INVALID = 0x00,
    BL_RES_SUCCESS = 0x01,
    BL_RES_OP_CODE_NOT_SUPPORTED = 0x02,
    BL_RES_INVALID_PARAMETER = 0x03,
    BL_RES_INSUFFICIENT_RESOURCES = 0x04,
    BL_RES_INVALID_OBJECT = 0x05,
    BL_RES_UNSUPPORTED_TYPE = 0x07,
    BL_RES_OPERATION_NOT_PERMITTED = 0x08,
    BL_RES_OPERATION_FAILED = 0x0A,
    BL_RES_EXT_ERROR = 0x0B,
} bl_result_t;

/* nrf_dfu_ext_error_code_t */
typedef enum {
    BL_EXT_NO_ERROR = 0x00,
    BL_EXT_INVALID_ERROR_CODE = 0x01,
    BL_EXT_WRONG_COMMAND_FORMAT = 0x02,
    BL_EXT_UNKNOWN_COMMAND = 0x03,
    BL_EXT_INIT_COMMAND_INVALID = 0x04,
    BL_EXT_FW_VERSION_FAILURE = 0x05,
    BL_EXT_HW_VERSION_FAILURE = 0x06,
    BL_EXT_SD_VERSION_FAILURE = 0x07,
    BL_EXT_SIGNATURE_MISSING = 0x08,
    BL_EXT_WRONG_HASH_TYPE = 0x09,
    BL_EXT_HASH_FAILED = 0x0A,
    BL_EXT_WRONG_SIGNATURE_TYPE = 0x0B,
    BL_EXT_VERIFICATION_FAILED = 0x0C,
    BL_EXT_INSUFFICIENT_SPACE = 0x0D,
} bl_ext_t;

typedef struct {
    bl_result_t result;
    bl_ext_t ext; /* meaningful when result == BL_RES_EXT_ERROR */
} bl_verdict_t;

/* What the checks read from the device besides the init command. */
typedef struct {
    bool sd_present;             /* u32 @0x3004 == 0x51B1E5DB */
    uint16_t sd_fwid;            /* u16 @0x300C */
    uint32_t app_version;        /* settings */
    uint32_t bootloader_version; /* settings */
} bl_device_view_t;

#define BL_VERDICT_OK ((bl_verdict_t){BL_RES_SUCCESS, BL_EXT_NO_ERROR})

/*
 * Steps 4-5 of spec 5.3 (nrf_dfu_validation_prevalidate): the signature when
 * one is required, then type, hash type, hw_version, sd_req and fw_version.
 * `dat` is the stored init command the packet was decoded from (the signed
 * bytes are taken from it, as the bootloader does).
 */
bl_verdict_t bl_prevalidate(const bl_config_t *cfg, const initpkt_t *p, const uint8_t *dat,
                            const bl_device_view_t *dev);

/*
 * Step 6: the firmware size the init command describes. On failure the
 * verdict says why and *size is 0.
 */
bl_verdict_t bl_image_size(const bl_config_t *cfg, const initpkt_t *p, uint32_t *size);

/* The sd_req rule (spec 5.4) and the fw_version rule (spec 5.5). */
bool bl_sd_req_ok(const bl_config_t *cfg, const initpkt_t *p, const bl_device_view_t *dev);
bool bl_fw_version_ok(const bl_config_t *cfg, const initpkt_t *p, const bl_device_view_t *dev);

const char *bl_result_name(bl_result_t r);
const char *bl_ext_name(bl_ext_t e);

#endif
