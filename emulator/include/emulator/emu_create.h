/*
 * emu_create.h - build an emulated device the way the real tools would:
 * programmer erase-all, then MBR, SoftDevice, application, bootloader, and the
 * settings + backup pages `nrfutil settings generate` would produce for the
 * same inputs (spec §1, §2; bl_settings_generate() is the byte-exact model).
 *
 * Nordic binaries are not shipped, so the MBR, SoftDevice and bootloader are
 * deterministic stand-ins: recognisable filler that no one could mistake for
 * Nordic code, plus exactly the words the bootloader replay reads:
 *  - MBR page: ASCII filler; words 0xFF8/0xFFC left erased (SDK 16.0+ writes
 *    them at first boot, spec §1.1), or set to BL start / params page for
 *    SDK 15.3, whose bootloader .hex carries them;
 *  - SoftDevice: the info struct at 0x3000 (spec §1.2) with the real size,
 *    FWID, ID and version of S132/S140 7.2.0, a fixed 20-byte marker as the
 *    "unique string", and a deterministic word pattern over the rest of
 *    [0x1000, end);
 *  - bootloader: one page of ASCII filler at BOOTLOADER_START_ADDR.
 *
 * Ownership: emu_create_device() allocates the device (free with
 * emu_device_free()); emu_app_load() allocates the image bytes (free with
 * emu_app_free()). Parameters are only read during the call.
 */
#ifndef EMULATOR_EMU_CREATE_H
#define EMULATOR_EMU_CREATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/bl_config.h"
#include "emulator/bl_settings.h"
#include "emulator/emu_device.h"

#if defined(__GNUC__) || defined(__clang__)
#define EMU_CREATE_MUST_CHECK __attribute__((warn_unused_result))
#else
#define EMU_CREATE_MUST_CHECK
#endif

typedef enum emu_create_err {
    EMU_CREATE_OK = 0,
    EMU_CREATE_ERR_ARG = -1,         /* (caller) NULL pointer, unknown enum value */
    EMU_CREATE_ERR_NOMEM = -2,       /* (system) allocation failed */
    EMU_CREATE_ERR_IO = -3,          /* (input) the application file cannot be read */
    EMU_CREATE_ERR_IMAGE = -4,       /* (input) empty image, bad Intel HEX */
    EMU_CREATE_ERR_ADDR = -5,        /* (input) .hex not linked at bank 0 start */
    EMU_CREATE_ERR_FIT = -6,         /* (input) image overlaps the app-data area */
    EMU_CREATE_ERR_UNSUPPORTED = -7, /* (input) ECDSA boot validation, SD/chip mismatch, ... */
    EMU_CREATE_ERR_LAYOUT = -8,      /* (input) knobs give an impossible flash map */
} emu_create_err_t;

typedef struct emu_create_diag {
    char msg[320]; /* one line naming the file or option and the problem */
} emu_create_diag_t;

const char *emu_create_strerror(emu_create_err_t err);

/* SoftDevices the stand-in can imitate. */
typedef enum emu_sd {
    EMU_SD_NONE = 0,
    EMU_SD_S132_7_2_0, /* nRF52832 */
    EMU_SD_S140_7_2_0, /* nRF52840 */
    EMU_SD_COUNT
} emu_sd_t;

/* Values of the SoftDevice info struct (spec §1.2). */
typedef struct emu_sd_desc {
    const char *name;  /* "s132-7.2.0", the --softdevice spelling */
    bl_chip_t chip;    /* the chip this SoftDevice is built for */
    uint8_t info_size; /* byte at 0x3000 */
    uint32_t end;      /* u32 at 0x3008: SD end incl. MBR = bank 0 start */
    uint16_t fwid;     /* u16 at 0x300C: what sd_req is compared with */
    uint32_t id;       /* u32 at 0x3010 */
    uint32_t version;  /* u32 at 0x3014: major*1000000 + minor*1000 + bugfix */
} emu_sd_desc_t;

/* Descriptor of `sd`, NULL for EMU_SD_NONE or an unknown value. Static storage. */
const emu_sd_desc_t *emu_sd_info(emu_sd_t sd);

/* "none", "s132-7.2.0", "s140-7.2.0" -> enum; false if unknown. */
bool emu_sd_parse(const char *name, emu_sd_t *out);
const char *emu_sd_name(emu_sd_t sd);

/* An application image read from a .bin or .hex file. */
typedef struct emu_app_image {
    uint8_t *data; /* owned; free with emu_app_free() */
    size_t len;
    bool has_addr; /* true for .hex: the lowest address it holds */
    uint32_t addr;
} emu_app_image_t;

/*
 * Read `path`: Intel HEX if it ends in ".hex" (any case; gaps filled with
 * 0xFF, as nrfutil's hex-to-bin does), else raw binary. Empty images and
 * images over 1 MiB are refused.
 */
EMU_CREATE_MUST_CHECK emu_create_err_t emu_app_load(const char *path, emu_app_image_t *out,
                                                    emu_create_diag_t *diag);
void emu_app_free(emu_app_image_t *img);

typedef struct emu_create_params {
    bl_config_t cfg; /* complete bootloader config: chip, knobs, public key */
    emu_sd_t sd;
    const emu_app_image_t *app;
    const char *app_name;         /* for messages only; may be NULL */
    uint32_t app_version;         /* --application-version */
    uint32_t bootloader_version;  /* --bootloader-version */
    bl_settings_bv_type_t app_bv; /* NONE, CRC or SHA256 (nrfutil default: CRC) */
    bl_settings_bv_type_t sd_bv;  /* NONE unless asked; needs a SoftDevice */
} emu_create_params_t;

/*
 * Lay down a new device. Refuses (nothing allocated, *out NULL): a
 * SoftDevice built for the other chip, a .hex whose lowest address is not
 * bank 0's start, an image that does not end below the app-data area
 * (BL start - app_data_area_size), ECDSA boot validation (needs the private
 * key, which create does not take), SD boot validation without a SoftDevice.
 */
EMU_CREATE_MUST_CHECK emu_create_err_t emu_create_device(const emu_create_params_t *p,
                                                         emu_device_t **out,
                                                         emu_create_diag_t *diag);

#endif
