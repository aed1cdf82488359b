/*
 * bl_config.h - the build-time configuration of the emulated nRF5 SDK
 * bootloader: every sdk_config.h knob that changes a verdict (spec 5.2,
 * 11.2), with the SDK example defaults.
 *
 * Two profiles:
 *   - "stock": exactly the SDK 17.1 pca10040_uart / pca10056_uart example
 *     defaults. An application that stages an update itself is silently
 *     ignored (ALLOW_UPDATE_FROM_APP = 0) - the symptom users report.
 *   - "update-from-app" (dfuart's default): the same, plus
 *     NRF_BL_DFU_ALLOW_UPDATE_FROM_APP = 1, which the bank-1 path requires.
 */
#ifndef EMULATOR_BL_CONFIG_H
#define EMULATOR_BL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { BL_SDK_15_3, BL_SDK_16_0, BL_SDK_17_0, BL_SDK_17_1 } bl_sdk_t;
typedef enum { BL_CHIP_NRF52832, BL_CHIP_NRF52840 } bl_chip_t;

typedef struct {
    bl_sdk_t sdk;
    bl_chip_t chip;
    uint32_t bl_start;            /* BOOTLOADER_START_ADDR: 0x78000 / 0xF8000 */
    uint32_t bootloader_size;     /* BOOTLOADER_SIZE: params page - bl_start = 0x6000 */
    uint32_t app_data_area_size;  /* NRF_DFU_APP_DATA_AREA_SIZE: 12288 */
    uint32_t settings_addr;       /* BOOTLOADER_SETTINGS_ADDRESS */
    uint32_t backup_addr;         /* NRF_MBR_PARAMS_PAGE_ADDRESS */
    uint32_t hw_version;          /* NRF_DFU_HW_VERSION: 52 */
    bool require_signed_app;      /* NRF_DFU_REQUIRE_SIGNED_APP_UPDATE: 1 */
    bool downgrade_prevention;    /* NRF_DFU_APP_DOWNGRADE_PREVENTION: 1 */
    bool accept_same_version;     /* NRF_DFU_APP_ACCEPT_SAME_VERSION: 1 */
    bool external_app_versioning; /* NRF_DFU_EXTERNAL_APP_VERSIONING: 1 */
    bool supports_external_app;   /* NRF_DFU_SUPPORTS_EXTERNAL_APP: 0 */
    bool single_bank;             /* NRF_DFU_SINGLE_BANK_APP_UPDATES: 0 */
    bool force_dual_bank;         /* NRF_DFU_FORCE_DUAL_BANK_APP_UPDATES: 0 */
    bool allow_update_from_app;   /* NRF_BL_DFU_ALLOW_UPDATE_FROM_APP: 0 stock, 1 ours */
    bool app_signature_required;  /* NRF_BL_APP_SIGNATURE_CHECK_REQUIRED: 0 */
    bool debug_build;             /* NRF_DFU_DEBUG (the *_debug bootloaders): 0 */
    bool ble_transport;           /* BLE/ANT bootloader: requires an SD. UART: 0 */
    uint32_t copy_step_pages;     /* NRF_BL_FW_COPY_PROGRESS_STORE_STEP: 8 */
    uint8_t public_key[64];       /* pk[] as in public_key.c (X, Y reversed) */
} bl_config_t;

typedef enum { BL_PROFILE_UPDATE_FROM_APP, BL_PROFILE_STOCK } bl_profile_t;

/* Fill `cfg` with the SDK 17.1 release defaults for `chip` and `profile`. */
void bl_config_defaults(bl_config_t *cfg, bl_chip_t chip, bl_profile_t profile);

/* MBR-only bootloader (UART/USB): it may delete the SoftDevice (spec 3.2). */
static inline bool bl_config_mbr_only(const bl_config_t *cfg)
{
    return !cfg->ble_transport;
}

#endif
