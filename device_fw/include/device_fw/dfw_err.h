/*
 * dfw_err.h - the one error type of device_fw (style practice 3).
 *
 * 0 is success, negative values are errors. The only positive value is
 * DFW_RESET_REQUIRED, returned by dfw_stage_finish() on success.
 * Values are grouped by who can fix the problem; the numeric gaps keep the
 * groups apart so a log line with just the number is still readable.
 */
#ifndef DEVICE_FW_DFW_ERR_H
#define DEVICE_FW_DFW_ERR_H

typedef enum dfw_err {
    DFW_OK = 0,
    /* dfw_stage_finish(): image and settings page written; the caller must reset now. */
    DFW_RESET_REQUIRED = 1,

    /* --- Bad input from the link or the package: reject, the host can retry/fix. --- */
    DFW_ERR_INITCMD_SIZE = -1,      /* .dat empty or longer than DFW_INITCMD_MAX_SIZE */
    DFW_ERR_INITCMD_MALFORMED = -2, /* not a decodable dfu.Packet (bootloader: INVALID_OBJECT) */
    DFW_ERR_INITCMD_INVALID = -3,   /* decodes, but every bootloader config rejects it */
    DFW_ERR_UNSUPPORTED_TYPE = -4,  /* not an APPLICATION package (see dfw_stage.h) */
    DFW_ERR_NO_SPACE = -5,          /* image does not fit below the app-data area */
    DFW_ERR_OFFSET = -6,            /* data not at the next expected offset (resume point) */
    DFW_ERR_OVERRUN = -7,           /* data beyond the image size from the .dat */
    DFW_ERR_INCOMPLETE = -8,        /* finish requested before every image byte arrived */
    DFW_ERR_CRC_MISMATCH = -9,      /* resume: flash does not hold what the host says it sent */

    /* --- Device state: the flash contents do not allow an update. --- */
    DFW_ERR_SETTINGS_CRC = -20,     /* settings page CRC bad or never computed (0xFFFFFFFF) */
    DFW_ERR_SETTINGS_VERSION = -21, /* settings_version is not 2 */
    DFW_ERR_SETTINGS_CHANGED = -22, /* settings page changed between begin and finish */

    /* --- Flash/HAL failure: the stage is aborted, nothing more is written. --- */
    DFW_ERR_FLASH = -30,   /* a HAL read/write/erase returned an error */
    DFW_ERR_VERIFY = -31,  /* read-back of programmed data does not match */
    DFW_ERR_ABORTED = -32, /* an earlier failure aborted this stage; call dfw_stage_begin() */

    /* --- Caller bug: fix the code that calls device_fw. --- */
    DFW_ERR_PARAM = -40, /* NULL pointer, inconsistent HAL or layout */
    DFW_ERR_STATE = -41, /* call not allowed in the current stage state */
} dfw_err_t;

/* Short English description of `err`; never NULL, static storage. */
const char *dfw_strerror(dfw_err_t err);

#endif
