/*
 * bl_settings.h - nRF5 SDK bootloader settings page (nrf_dfu_settings_t), host side.
 *
 * Byte layout, CRCs, backup-page rules and the v1->v2 upgrade follow
 * shared/spec/nrf5-bootloader.md §2 (SDK 15.3-17.1); emulator/SETTINGS.md
 * has our reading. Everything is explicit little-endian get/put over byte
 * arrays: no packed structs, so the codec is the same on any host.
 *
 * Two representations:
 *  - raw:   uint8_t[BL_SETTINGS_SIZE] (896 bytes) exactly as in flash at the
 *           settings page (0x7F000 / 0xFF000) and the backup page
 *           (0x7E000 / 0xFE000). CRC, forbidden-range and reinit functions
 *           work on raw bytes because the bootloader does.
 *  - struct bl_settings_t: every field decoded, for inspection and display.
 *
 * Offsets are those of *serial* (UART/USB) bootloader builds: peer_data at
 * 803 and adv_name at 867. BLE builds put them at 804/868 (peer_data is a
 * struct with a u32 there, so byte 803 is padding); nothing else differs.
 *
 * Ownership: all buffers and structs are caller-allocated; no function keeps a
 * pointer after it returns. Only the ECDSA functions allocate (inside
 * OpenSSL) and they free before returning. Functions are reentrant.
 */
#ifndef EMULATOR_BL_SETTINGS_H
#define EMULATOR_BL_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef BL_SETTINGS_MUST_CHECK
#define BL_SETTINGS_MUST_CHECK __attribute__((warn_unused_result))
#endif

/* Sizes (§2.1-§2.3). */
#define BL_SETTINGS_SIZE         896u  /* sizeof(nrf_dfu_settings_t), bytes written by the SDK */
#define BL_SETTINGS_PAGE_SIZE    4096u /* flash page holding it */
#define BL_SETTINGS_INIT_CMD_MAX 512u  /* INIT_COMMAND_MAX_SIZE (v2) */
#define BL_SETTINGS_INIT_CMD_V1  256u  /* INIT_COMMAND_MAX_SIZE_v1 */
#define BL_SETTINGS_BV_BYTES     64u   /* boot_validation_t.bytes */
#define BL_SETTINGS_PEER_LEN     64u   /* NRF_DFU_PEER_DATA_LEN */
#define BL_SETTINGS_ADV_NAME_LEN 28u   /* NRF_DFU_ADV_NAME_LEN */
#define BL_SETTINGS_V1_SIZE      440u  /* 92 + 256 + 64 + 28: v1 BLE struct */

/* Byte offsets in the raw page (§2.2 v2; §2.3 v1 where named _V1). */
#define BL_SETTINGS_OFF_CRC           0u
#define BL_SETTINGS_OFF_VERSION       4u
#define BL_SETTINGS_OFF_APP_VERSION   8u
#define BL_SETTINGS_OFF_BL_VERSION    12u
#define BL_SETTINGS_OFF_BANK_LAYOUT   16u
#define BL_SETTINGS_OFF_BANK_CURRENT  20u
#define BL_SETTINGS_OFF_BANK_0        24u /* {image_size, image_crc, bank_code} */
#define BL_SETTINGS_OFF_BANK_1        36u
#define BL_SETTINGS_OFF_WRITE_OFFSET  48u
#define BL_SETTINGS_OFF_SD_SIZE       52u
#define BL_SETTINGS_OFF_PROGRESS      56u /* 8 words, 56..87 */
#define BL_SETTINGS_OFF_ENTER_BTNLESS 88u
#define BL_SETTINGS_OFF_INIT_CMD      92u
#define BL_SETTINGS_OFF_BV_CRC        604u
#define BL_SETTINGS_OFF_BV_SD         608u /* {u8 type; u8 bytes[64]} */
#define BL_SETTINGS_OFF_BV_APP        673u
#define BL_SETTINGS_OFF_BV_BL         738u
#define BL_SETTINGS_OFF_BV_END        803u /* one past the last boot-validation byte */
#define BL_SETTINGS_OFF_PEER_DATA     803u /* serial builds */
#define BL_SETTINGS_OFF_ADV_NAME      867u /* serial builds */
#define BL_SETTINGS_OFF_PEER_DATA_BLE 804u /* BLE builds, for reference */
#define BL_SETTINGS_OFF_ADV_NAME_BLE  868u
#define BL_SETTINGS_OFF_PEER_DATA_V1  348u /* v1 BLE builds */
#define BL_SETTINGS_OFF_ADV_NAME_V1   412u

/* What nrfutil 6.1.7 `settings generate` puts in its .hex per page (learned from fixtures). */
#define BL_SETTINGS_NRFUTIL_LEN_V2 804u /* 0..802 then byte 803 = 0xFF */
#define BL_SETTINGS_NRFUTIL_LEN_V1 92u  /* header only */

/* Bank codes (§3.1) and current-bank values. */
#define BL_SETTINGS_BANK_INVALID       0x00u
#define BL_SETTINGS_BANK_VALID_APP     0x01u
#define BL_SETTINGS_BANK_VALID_SD      0xA5u
#define BL_SETTINGS_BANK_VALID_BL      0xAAu
#define BL_SETTINGS_BANK_VALID_SD_BL   0xACu
#define BL_SETTINGS_BANK_VALID_EXT_APP 0xB1u
#define BL_SETTINGS_CURRENT_BANK_0     0u
#define BL_SETTINGS_CURRENT_BANK_1     1u

/*
 * Errors. (caller) = bug in the calling code, (input) = the data is not
 * acceptable, (system) = OpenSSL failed unexpectedly.
 */
typedef enum bl_settings_err {
    BL_SETTINGS_OK = 0,
    BL_SETTINGS_ERR_ARG = -1,       /* (caller) NULL pointer, missing ECDSA signature/key */
    BL_SETTINGS_ERR_VERSION = -2,   /* (caller) settings version other than 1 or 2 */
    BL_SETTINGS_ERR_BV_TYPE = -3,   /* (input) boot-validation type > 3 */
    BL_SETTINGS_ERR_MISMATCH = -4,  /* (input) CRC / SHA-256 boot validation does not match */
    BL_SETTINGS_ERR_SIGNATURE = -5, /* (input) ECDSA signature does not verify */
    BL_SETTINGS_ERR_CRYPTO = -6,    /* (system) OpenSSL error, or the key is not on P-256 */
} bl_settings_err_t;

const char *bl_settings_strerror(bl_settings_err_t err);

/* Chip family as nrfutil's --family names it. */
typedef enum bl_settings_family {
    BL_SETTINGS_FAMILY_NRF52 = 0,    /* nRF52832 (QFAA, 512 KiB) */
    BL_SETTINGS_FAMILY_NRF52840 = 1, /* nRF52840 (1 MiB) */
} bl_settings_family_t;

/* Settings page: 0x7F000 / 0xFF000; backup (MBR params page): 0x7E000 / 0xFE000 (§1.1). */
uint32_t bl_settings_addr(bl_settings_family_t family);
uint32_t bl_settings_backup_addr(bl_settings_family_t family);
/* The family name nrfutil prints: "nRF52" or "NRF52840". */
const char *bl_settings_family_name(bl_settings_family_t family);

/* boot_validation_type_t (1 byte in flash, -fshort-enums). */
typedef enum bl_settings_bv_type {
    BL_SETTINGS_BV_NONE = 0,
    BL_SETTINGS_BV_CRC = 1,    /* bytes[0..3] = CRC-32 LE, rest 0 */
    BL_SETTINGS_BV_SHA256 = 2, /* bytes[0..31] = SHA-256 in normal order, rest 0 */
    BL_SETTINGS_BV_ECDSA = 3,  /* bytes = r || s, each 32 bytes little-endian (§4.4) */
} bl_settings_bv_type_t;

typedef struct bl_settings_bank {
    uint32_t image_size;
    uint32_t image_crc;
    uint32_t bank_code;
} bl_settings_bank_t;

typedef struct bl_settings_progress {
    uint32_t command_size;     /* 56 */
    uint32_t command_offset;   /* 60 */
    uint32_t command_crc;      /* 64 */
    uint32_t data_object_size; /* 68 */
    union {                    /* 72: the SDK reuses the word after post-validation */
        uint32_t firmware_image_crc;
        uint32_t update_start_address;
    };
    uint32_t firmware_image_crc_last;    /* 76 */
    uint32_t firmware_image_offset;      /* 80 */
    uint32_t firmware_image_offset_last; /* 84 */
} bl_settings_progress_t;

typedef struct bl_settings_bv {
    uint8_t type; /* raw byte; bl_settings_bv_type_t when valid */
    uint8_t bytes[BL_SETTINGS_BV_BYTES];
} bl_settings_bv_t;

/* Every field of nrf_dfu_settings_t v2 (§2.2), serial-build offsets. */
typedef struct bl_settings {
    uint32_t crc;                                   /* 0: CRC-32 of bytes 4..91 */
    uint32_t settings_version;                      /* 4 */
    uint32_t app_version;                           /* 8 */
    uint32_t bootloader_version;                    /* 12 */
    uint32_t bank_layout;                           /* 16: never read by the SDK */
    uint32_t bank_current;                          /* 20 */
    bl_settings_bank_t bank_0;                      /* 24 */
    bl_settings_bank_t bank_1;                      /* 36 */
    uint32_t write_offset;                          /* 48 */
    uint32_t sd_size;                               /* 52 */
    bl_settings_progress_t progress;                /* 56..87 */
    uint32_t enter_buttonless_dfu;                  /* 88 */
    uint8_t init_command[BL_SETTINGS_INIT_CMD_MAX]; /* 92 (v1: first 256 bytes used) */
    uint32_t boot_validation_crc;                   /* 604: CRC-32 of bytes 608..802 */
    bl_settings_bv_t boot_validation_softdevice;    /* 608 */
    bl_settings_bv_t boot_validation_app;           /* 673 */
    bl_settings_bv_t boot_validation_bootloader;    /* 738 */
    uint8_t peer_data[BL_SETTINGS_PEER_LEN];        /* 803 (BLE build: 804) */
    uint8_t adv_name[BL_SETTINGS_ADV_NAME_LEN];     /* 867 (BLE build: 868) */
    uint8_t pad_895; /* struct tail padding in serial builds; kept for byte-exact round trips */
} bl_settings_t;

/// Codec ///

/* Decodes the v2 layout (what an SDK 15.3+ bootloader sees, whatever the version word says). */
void bl_settings_decode(const uint8_t raw[BL_SETTINGS_SIZE], bl_settings_t *out);

/* Encodes every field back; decode + encode reproduces all 896 bytes. CRCs are taken as-is. */
void bl_settings_encode(const bl_settings_t *s, uint8_t raw[BL_SETTINGS_SIZE]);

/*
 * Decodes the v1 layout (§2.3) from BL_SETTINGS_V1_SIZE bytes: header 0..91,
 * init_command[256] at 92, peer_data at 348, adv_name at 412 (BLE builds;
 * serial v1 builds leave those bytes unused). Fields v1 does not have
 * (init_command[256..], boot validation, boot_validation_crc, pad) are zero,
 * which is also how nrfutil displays a v1 page.
 */
void bl_settings_decode_v1(const uint8_t raw[BL_SETTINGS_V1_SIZE], bl_settings_t *out);

/* Encodes the v1 layout into BL_SETTINGS_V1_SIZE bytes (fields v1 lacks are dropped). */
void bl_settings_encode_v1(const bl_settings_t *s, uint8_t raw[BL_SETTINGS_V1_SIZE]);

/// CRCs and validity (§2.4) ///

/* CRC-32 of bytes 4..91 (the value `crc` must hold). */
uint32_t bl_settings_crc_compute(const uint8_t raw[BL_SETTINGS_SIZE]);
/* CRC-32 of bytes 608..802 (the value `boot_validation_crc` must hold). */
uint32_t bl_settings_bv_crc_compute(const uint8_t raw[BL_SETTINGS_SIZE]);
/* Stores both CRCs, as nrf_dfu_settings_write() does before every write. */
void bl_settings_update_crcs(uint8_t raw[BL_SETTINGS_SIZE]);

/* Main page valid: crc != 0xFFFFFFFF and crc == CRC(4..91). boot_validation_crc is ignored. */
bool bl_settings_main_valid(const uint8_t raw[BL_SETTINGS_SIZE]);
/* Backup page valid: main test and (settings_version == 1 or boot_validation_crc ok). */
bool bl_settings_backup_valid(const uint8_t raw[BL_SETTINGS_SIZE]);

/// Forbidden ranges (§2.6) ///

typedef enum bl_settings_mode {
    /* NRF_DFU_IN_APP=1 or NRF_BL_DFU_ALLOW_UPDATE_FROM_APP=1: 4..19, 24..47, 52..55, 604..802 */
    BL_SETTINGS_MODE_A = 0,
    /* default bootloader: 4..87, 92..802 */
    BL_SETTINGS_MODE_B = 1,
} bl_settings_mode_t;

/* Copies the mode's forbidden byte ranges from `backup` into `dst`. */
void bl_settings_forbidden_copy(uint8_t dst[BL_SETTINGS_SIZE],
                                const uint8_t backup[BL_SETTINGS_SIZE], bl_settings_mode_t mode);

/*
 * True if `ram` equals `backup` in every forbidden byte of `mode`, computed
 * exactly as the SDK does: copy forbidden ranges from backup into a temporary
 * copy of ram, then memcmp all 896 bytes. The backup's validity is not checked.
 */
bool bl_settings_forbidden_equal(const uint8_t ram[BL_SETTINGS_SIZE],
                                 const uint8_t backup[BL_SETTINGS_SIZE], bl_settings_mode_t mode);

/// Boot-time load (§2.5, §2.3) ///

/*
 * v1->v2 upgrade of nrf_dfu_settings_reinit(): if settings_version == 1,
 * copies 64 bytes 348->803 and 28 bytes 412->867, sets SD type NONE, app type
 * CRC with bytes[0..3] = bank_0.image_crc, BL type NONE (other bv bytes stay),
 * version = 2. CRCs are not touched (the following write recomputes them).
 * Returns true if it upgraded.
 */
bool bl_settings_upgrade_v1(uint8_t raw[BL_SETTINGS_SIZE]);

typedef enum bl_settings_source {
    BL_SETTINGS_SRC_MAIN = 0,      /* main valid, backup invalid: main as-is */
    BL_SETTINGS_SRC_MAIN_RESTORED, /* main valid, forbidden ranges restored from backup */
    BL_SETTINGS_SRC_BACKUP,        /* main invalid: whole backup */
    BL_SETTINGS_SRC_DEFAULTS,      /* both invalid: zeros, settings_version = 2 */
} bl_settings_source_t;

/*
 * What a bootloader build (not in-app) holds in RAM after
 * nrf_dfu_settings_reinit(), before its write_and_backup: fills `ram`, and
 * *upgraded (may be NULL) tells whether the v1 upgrade ran. CRCs in `ram` are
 * the loaded ones; call bl_settings_update_crcs() to model the write.
 */
bl_settings_source_t bl_settings_reinit(const uint8_t main_page[BL_SETTINGS_SIZE],
                                        const uint8_t backup_page[BL_SETTINGS_SIZE],
                                        bl_settings_mode_t mode, uint8_t ram[BL_SETTINGS_SIZE],
                                        bool *upgraded);

/// Boot validation (§2.2, §4.4, §7.4) ///

/*
 * Builds a boot_validation_t for `data`. CRC and SHA-256 are computed;
 * ECDSA copies `signature` (64 bytes, r||s each LE; required for ECDSA,
 * ignored otherwise) because ECDSA signatures are randomised.
 */
BL_SETTINGS_MUST_CHECK bl_settings_err_t bl_settings_bv_make(bl_settings_bv_type_t type,
                                                             const uint8_t *data, size_t len,
                                                             const uint8_t *signature,
                                                             bl_settings_bv_t *out);

/*
 * Verifies `bv` over `data` like the bootloader: NONE passes; CRC and SHA
 * compare; ECDSA verifies with `pk_le` (64 bytes, x||y each LE, as in
 * dfu_public_key.c; may be NULL for other types).
 */
BL_SETTINGS_MUST_CHECK bl_settings_err_t bl_settings_bv_check(const bl_settings_bv_t *bv,
                                                              const uint8_t *data, size_t len,
                                                              const uint8_t *pk_le);

/* ECDSA P-256 / SHA-256 verify of `data`; key and signature in nrfutil's reversed-halves form. */
BL_SETTINGS_MUST_CHECK bl_settings_err_t bl_settings_ecdsa_verify(const uint8_t pk_le[64],
                                                                  const uint8_t sig_le[64],
                                                                  const uint8_t *data, size_t len);

/// Generator: `nrfutil settings generate` ///

typedef struct bl_settings_gen {
    bl_settings_family_t family;
    uint32_t settings_version; /* --bl-settings-version: 1 or 2 */
    uint32_t app_version;      /* --application-version (nrfutil default 0) */
    uint32_t bootloader_version;
    const uint8_t *app; /* application .bin bytes, NULL = no --application */
    size_t app_len;
    bl_settings_bv_type_t app_bv; /* nrfutil 6.1.7 defaults to CRC when an app is given */
    const uint8_t *app_sig;       /* 64 bytes when app_bv == ECDSA */
    const uint8_t *sd;            /* SoftDevice bytes from 0x1000 (MBR stripped), NULL = none */
    size_t sd_len;
    bl_settings_bv_type_t sd_bv;
    const uint8_t *sd_sig;
    bool no_backup; /* --no-backup */
} bl_settings_gen_t;

typedef struct bl_settings_pages {
    uint32_t settings_addr; /* 0x7F000 / 0xFF000 */
    uint32_t backup_addr;   /* 0x7E000 / 0xFE000 */
    uint32_t written;       /* bytes nrfutil's .hex holds per page (804 or 92) */
    bool has_backup;
    uint8_t settings[BL_SETTINGS_PAGE_SIZE]; /* 0xFF past `written` (never programmed) */
    uint8_t backup[BL_SETTINGS_PAGE_SIZE];   /* copy of settings, or all 0xFF without backup */
} bl_settings_pages_t;

/*
 * Produces the pages nrfutil 6.1.7 would write for the same inputs, byte for
 * byte. Types are ignored for an absent image (nrfutil writes NONE then).
 */
BL_SETTINGS_MUST_CHECK bl_settings_err_t bl_settings_generate(const bl_settings_gen_t *in,
                                                              bl_settings_pages_t *out);

/// Display ///

typedef enum bl_settings_fmt {
    BL_SETTINGS_FMT_HEX,       /* 0x0000000C */
    BL_SETTINGS_FMT_HEX_DEC,   /* 0x0000000C (12) */
    BL_SETTINGS_FMT_HEX_BYTES, /* 0x0000000C (12 bytes) */
} bl_settings_fmt_t;

/* One numeric field: JSON key, nrfutil-style label, value. */
typedef struct bl_settings_field {
    const char *key;   /* e.g. "app_version"; stable, for JSON */
    const char *label; /* e.g. "App Version" */
    bool nrfutil;      /* printed by `nrfutil settings display` */
    bl_settings_fmt_t fmt;
    uint32_t value;
} bl_settings_field_t;

/* Number of numeric fields; nrfutil's come first, in its order. */
size_t bl_settings_field_count(void);

/* Field `i` of `s` into *out (static strings). False if i is out of range. */
bool bl_settings_field(const bl_settings_t *s, size_t i, bl_settings_field_t *out);

typedef struct bl_settings_display {
    const char *file; /* printed after "File:" */
    bl_settings_family_t family;
    uint32_t start_addr; /* nrfutil prints the lowest address of the .hex (backup page) */
    bool extras;         /* also print the fields nrfutil omits, after its own */
} bl_settings_display_t;

/*
 * Formats `s` like `nrfutil settings display` (same labels, order and
 * column), snprintf-style: writes at most cap-1 chars plus NUL into `buf`
 * and returns the length the full text needs.
 */
size_t bl_settings_format(const bl_settings_t *s, const bl_settings_display_t *d, char *buf,
                          size_t cap);

#endif
