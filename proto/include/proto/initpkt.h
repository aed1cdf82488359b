/*
 * initpkt.h - decode an nrfutil init packet (.dat) into plain C values.
 *
 * The .dat of an nrfutil DFU zip is one serialized `dfu.Packet` (proto/dfu-cc.proto):
 * either an unsigned `command` or a `signed_command` carrying an ECDSA P-256
 * signature over the serialized InitCommand. Decoding uses protobuf-c; the
 * bounds the nRF5 bootloader's nanopb decoder enforces (sd_req <= 16 entries,
 * boot_validation <= 3, hash <= 32 bytes, signature <= 64, validation bytes
 * <= 64, whole packet <= 512) are enforced here too, so a packet we accept is
 * one the bootloader can decode.
 *
 * Host only. The result owns no heap memory: an initpkt_t is a value that can
 * be copied freely, and holds no pointer into the caller's buffer.
 */
#ifndef PROTO_INITPKT_H
#define PROTO_INITPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INITPKT_MAX_SIZE     512u /* INIT_COMMAND_MAX_SIZE of settings v2 */
#define INITPKT_SD_REQ_MAX   16u
#define INITPKT_BV_MAX       3u
#define INITPKT_HASH_MAX     32u
#define INITPKT_SIG_MAX      64u
#define INITPKT_BV_BYTES_MAX 64u

/* Enum values of dfu-cc.proto (spec section 4.1). */
enum initpkt_fw_type {
    INITPKT_FW_APPLICATION = 0,
    INITPKT_FW_SOFTDEVICE = 1,
    INITPKT_FW_BOOTLOADER = 2,
    INITPKT_FW_SOFTDEVICE_BOOTLOADER = 3,
    INITPKT_FW_EXTERNAL_APPLICATION = 4,
};
enum initpkt_hash_type {
    INITPKT_HASH_NONE = 0,
    INITPKT_HASH_CRC = 1,
    INITPKT_HASH_SHA128 = 2,
    INITPKT_HASH_SHA256 = 3,
    INITPKT_HASH_SHA512 = 4,
};
enum initpkt_validation {
    INITPKT_BV_NONE = 0,
    INITPKT_BV_CRC = 1,
    INITPKT_BV_SHA256 = 2,
    INITPKT_BV_ECDSA_P256_SHA256 = 3,
};
enum initpkt_sig_type {
    INITPKT_SIG_ECDSA_P256_SHA256 = 0,
    INITPKT_SIG_ED25519 = 1,
};

/*
 * Errors are all "bad input": the caller passed bytes that are not a usable
 * init packet. initpkt_decode() also names the offending field.
 */
typedef enum {
    INITPKT_OK = 0,
    INITPKT_ERR_EMPTY = -1,     /* zero bytes */
    INITPKT_ERR_TOO_LARGE = -2, /* more than INITPKT_MAX_SIZE bytes */
    INITPKT_ERR_DECODE = -3,    /* not a dfu.Packet (protobuf error, missing required field) */
    INITPKT_ERR_NO_INIT = -4,   /* no InitCommand, or both command and signed_command */
    INITPKT_ERR_LIMIT = -5,     /* a field exceeds the bootloader's decoder bound */
} initpkt_err_t;

typedef struct {
    uint32_t type; /* enum initpkt_validation, or any other value found */
    size_t len;
    uint8_t bytes[INITPKT_BV_BYTES_MAX];
} initpkt_bv_t;

typedef struct {
    bool is_signed; /* signed_command (true) or command (false) */

    bool has_op_code;
    uint32_t op_code;

    bool has_init; /* always true after a successful decode */
    bool has_fw_version, has_hw_version, has_type;
    bool has_sd_size, has_bl_size, has_app_size, has_hash, has_is_debug;
    uint32_t fw_version, hw_version, type;
    uint32_t sd_size, bl_size, app_size;
    bool is_debug;

    size_t sd_req_count;
    uint32_t sd_req[INITPKT_SD_REQ_MAX];

    uint32_t hash_type; /* enum initpkt_hash_type or an unknown value */
    size_t hash_len;
    uint8_t hash[INITPKT_HASH_MAX]; /* as stored: nrfutil reverses SHA-256 */

    size_t bv_count;
    initpkt_bv_t bv[INITPKT_BV_MAX];

    uint32_t sig_type; /* valid when is_signed */
    size_t sig_len;
    uint8_t sig[INITPKT_SIG_MAX]; /* r || s, each 32 bytes little-endian */

    /*
     * The serialized InitCommand as offsets into the decoded .dat: from the
     * first byte of its payload to the end of the enclosing Command. For a
     * signed packet these are exactly the bytes the bootloader verifies the
     * signature over (spec 4.5).
     */
    size_t init_off, init_len;
} initpkt_t;

/*
 * Decode `len` bytes at `dat` into `*out` (zeroed first). On error `*field`
 * (if not NULL) is set to a static string naming the offending field, e.g.
 * "init.sd_req"; on success it is set to NULL.
 */
__attribute__((warn_unused_result)) initpkt_err_t
initpkt_decode(const uint8_t *dat, size_t len, initpkt_t *out, const char **field);

const char *initpkt_strerror(initpkt_err_t err);

/* Names as in dfu-cc.proto; NULL for values the schema does not define. */
const char *initpkt_fw_type_name(uint32_t type);
const char *initpkt_hash_type_name(uint32_t type);
const char *initpkt_validation_name(uint32_t type);
const char *initpkt_sig_type_name(uint32_t type);
const char *initpkt_op_code_name(uint32_t op);

/*
 * Size of the firmware image the init packet describes, as the bootloader
 * computes it (spec 5.3 step 6): app_size for APPLICATION/EXTERNAL, else
 * sd_size (types with bit 0) plus bl_size (types with bit 1). 0 if absent.
 */
uint64_t initpkt_image_size(const initpkt_t *p);

#endif
