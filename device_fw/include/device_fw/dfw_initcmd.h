/*
 * dfw_initcmd.h - bounded reader for the nrfutil init packet (.dat).
 *
 * The .dat is one serialized protobuf `dfu.Packet` (spec §4.1):
 *   Packet        { 1 Command command; 2 SignedCommand signed_command }
 *   SignedCommand { 1 Command command; 2 SignatureType signature_type; 3 bytes signature }
 *   Command       { 1 OpCode op_code; 2 InitCommand init }
 *   InitCommand   { 1 fw_version; 2 hw_version; 3 repeated sd_req (packed); 4 FwType type;
 *                   5 sd_size; 6 bl_size; 7 app_size; 8 Hash hash; 9 bool is_debug;
 *                   10 repeated BootValidation boot_validation }
 *   Hash          { 1 HashType hash_type; 2 bytes hash }
 *   BootValidation{ 1 ValidationType type; 2 bytes bytes }
 *
 * Trust: the bytes come from the link and are untrusted. The reader
 *  - never reads outside [dat, dat + len), and needs no heap and O(1) stack
 *    (one function per message type, nesting exactly as the schema has it);
 *  - rejects anything the bootloader's nanopb decoder rejects (spec §4.1,
 *    §5.3 step 3): truncated or over-long varints, lengths past the enclosing
 *    message, group wire types, uint32 values above 2^32-1, more than 16
 *    sd_req / 3 boot_validation entries, hash > 32 / signature > 64 /
 *    boot-validation bytes > 64, missing required fields, both `command` and
 *    `signed_command`, and anything but exactly one `init`;
 *  - is stricter than nanopb in two respects, both irrelevant to nrfutil's
 *    output: a known field with the wrong wire type is rejected instead of
 *    being misparsed, and field number 0 is rejected (nanopb skips it, and
 *    treats a 0x00 tag byte as "end of message").
 * Unknown fields are skipped, as nanopb does. Nothing is verified
 * cryptographically: the bootloader checks the signature at boot.
 */
#ifndef DEVICE_FW_DFW_INITCMD_H
#define DEVICE_FW_DFW_INITCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_fw/dfw_config.h"
#include "device_fw/dfw_err.h"

/* dfu.FwType (spec §4.1). */
enum {
    DFW_FW_APPLICATION = 0,
    DFW_FW_SOFTDEVICE = 1,
    DFW_FW_BOOTLOADER = 2,
    DFW_FW_SOFTDEVICE_BOOTLOADER = 3,
    DFW_FW_EXTERNAL_APPLICATION = 4,
};

/* dfu.HashType SHA256: the only hash type any bootloader accepts (spec §5.3 5b). */
#define DFW_HASH_SHA256 3u

/*
 * What the device needs from an init packet. `has_*` mirror proto2 presence
 * (nrfutil writes every field, zeros included, spec §4.3). Plain data; the
 * offsets refer to the buffer that was decoded.
 */
typedef struct dfw_initcmd {
    bool is_signed;          /* packet used signed_command */
    uint32_t signature_type; /* valid if is_signed (0 = ECDSA_P256_SHA256) */
    uint32_t signature_len;  /* valid if is_signed */
    bool has_fw_version, has_hw_version, has_type, has_sd_size, has_bl_size, has_app_size;
    uint32_t fw_version, hw_version, type, sd_size, bl_size, app_size;
    bool has_hash;
    uint32_t hash_type, hash_len;
    bool is_debug;
    uint8_t sd_req_count;
    uint8_t boot_validation_count;
    /*
     * Bytes the signature covers (spec §4.5): from the first byte of the
     * InitCommand payload to the end of the enclosing Command.
     */
    uint32_t signed_off, signed_len;
} dfw_initcmd_t;

/*
 * Decode `len` bytes at `dat` into `*out`.
 * Returns DFW_OK; DFW_ERR_INITCMD_SIZE if len is 0 or > DFW_INITCMD_MAX_SIZE;
 * DFW_ERR_INITCMD_MALFORMED for anything the bootloader could not decode;
 * DFW_ERR_PARAM if dat or out is NULL. `*out` is zeroed on every failure.
 */
DFW_MUST_CHECK dfw_err_t dfw_initcmd_decode(const uint8_t *dat, size_t len, dfw_initcmd_t *out);

/*
 * Image size exactly as the bootloader computes it (spec §5.3 step 6):
 * APPLICATION/EXTERNAL_APPLICATION with app_size -> app_size; otherwise
 * (type & 1 ? sd_size : 0) + (type & 2 ? bl_size : 0), absent fields as 0.
 * Returns DFW_ERR_INITCMD_INVALID (and *size = 0) when the result is 0, would
 * overflow 32 bits, or `type` is absent or unknown.
 */
DFW_MUST_CHECK dfw_err_t dfw_initcmd_image_size(const dfw_initcmd_t *ic, uint32_t *size);

#endif
