/*
 * bl_boot.h - replay of the nRF5 SDK 17.1 secure bootloader's start-up on an
 * emulated device (spec 7.1): settings load with backup recovery and the
 * forbidden-range restore, boot-time post-validation of an update staged by
 * the application (8.2, 5.3, 6), the activation copy with power-loss resume
 * (7.2), boot validation of bank 0 (7.4), then "start the app" or "stay in
 * DFU mode". Every flash access goes through the device's flash model as the
 * bootloader actor, so power cuts and protection apply to it too.
 *
 * The verdicts come from the spec's rules, not from what dfuart's device
 * code writes: the replay reads the settings page and flash and decides.
 */
#ifndef EMULATOR_BL_BOOT_H
#define EMULATOR_BL_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/bl_validate.h"
#include "emulator/emu_device.h"

/* Where a boot settled. */
typedef enum {
    BL_STATE_APP,        /* the application was started */
    BL_STATE_DFU,        /* the bootloader stays in DFU mode (no valid app) */
    BL_STATE_POWER_LOST, /* a power cut stopped the replay; boot again */
    BL_STATE_FAULT,      /* a flash fault the real bootloader would hard-fault on */
    BL_STATE_LOOP,       /* too many resets without settling */
} bl_state_t;

typedef enum {
    BL_UPDATE_NONE,      /* nothing was staged (bank_current was 0) */
    BL_UPDATE_ACTIVATED, /* post-validated and copied into bank 0 */
    BL_UPDATE_REJECTED,  /* post-validation refused it: the old app stays */
    BL_UPDATE_IGNORED,   /* staged, but this bootloader does not look (stock profile) */
} bl_update_t;

/* How the settings were loaded at the last reset (spec 2.5). */
typedef enum {
    BL_SETTINGS_LOADED_MAIN,
    BL_SETTINGS_LOADED_MAIN_RESTORED, /* forbidden ranges taken from the backup */
    BL_SETTINGS_LOADED_BACKUP,        /* main page invalid */
    BL_SETTINGS_LOADED_DEFAULTS,      /* both invalid */
} bl_settings_load_t;

#define BL_BOOT_MAX_RESETS 8
#define BL_BOOT_NOTE_MAX   160

typedef struct {
    bl_state_t state;
    bl_update_t update;
    bl_verdict_t verdict; /* of the post-validation, when update != NONE */
    const char *reason;   /* static text: why rejected / faulted, or NULL */
    unsigned resets;      /* resets performed by this replay */
    bl_settings_load_t settings_load;
    bool app_valid;
    uint32_t app_version;
    uint32_t bank0_start, bank0_size, bank0_crc;
    uint32_t copied_bytes;       /* bytes moved by activation during this replay */
    char note[BL_BOOT_NOTE_MAX]; /* one line for a person (e.g. fault detail) */
} bl_boot_report_t;

/*
 * Reset the device and replay the bootloader until it starts the app, stays
 * in DFU mode, or power is lost (a power cut armed on the flash). Protection
 * registers are cleared by the reset and set again as the bootloader does, so
 * after BL_STATE_APP the flash enforces what the running application may
 * touch.
 */
void bl_boot_run(emu_device_t *dev, bl_boot_report_t *rep);

const char *bl_state_name(bl_state_t s);
const char *bl_update_name(bl_update_t u);
const char *bl_settings_load_name(bl_settings_load_t l);

#endif
