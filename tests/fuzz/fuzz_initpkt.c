/*
 * fuzz_initpkt.c - differential fuzz of the two init-packet decoders:
 * the host's initpkt_decode() (protobuf-c plus pbwire for the signed span)
 * and the device's dfw_initcmd_decode() (bounded hand-written reader).
 *
 * The input is the .dat. Both decoders see an exact-size heap copy, so a read
 * past the packet is an ASan report. They may disagree on *whether* a packet
 * is acceptable (protobuf-c merges repeated sub-messages, truncates
 * over-long uint32 varints, ... where the device reader is stricter), but
 * when both accept they must agree on every value the device acts on: a
 * packet the host shows as "application, 124 bytes, signed" must be staged
 * by the device as exactly that, and the signature must cover the same bytes.
 *
 * Invariants:
 *  - each decoder alone: success is deterministic, the signed span lies
 *    inside the packet, and a failed dfw decode leaves its output zeroed;
 *  - when both accept: is_signed, signature type/length, type, fw/hw
 *    version, sd/bl/app size (with presence), is_debug, hash presence, type
 *    and length, sd_req and boot-validation counts, and the signed span
 *    (init_off/init_len == signed_off/signed_len) are equal, and the image
 *    size both compute is the same.
 */
#include "device_fw/dfw_initcmd.h"
#include "fuzz_common.h"
#include "proto/initpkt.h"

static const dfw_initcmd_t zero_ic;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *dat = fuzz_dup(data, size);
    initpkt_t h;
    const char *field = NULL;
    initpkt_err_t he = initpkt_decode(dat, size, &h, &field);
    dfw_initcmd_t d;
    dfw_err_t de = dfw_initcmd_decode(dat, size, &d);

    FUZZ_CHECK(he == INITPKT_OK ? field == NULL : field != NULL,
               "initpkt_decode: result %d with field %s", (int)he, field ? field : "(null)");
    if (he == INITPKT_OK)
        FUZZ_CHECK(h.has_init && h.init_len <= size && h.init_off <= size - h.init_len,
                   "host signed span [%zu, +%zu) outside a %zu-byte packet", h.init_off, h.init_len,
                   size);
    if (de == DFW_OK)
        FUZZ_CHECK(d.signed_len <= size && d.signed_off <= size - d.signed_len,
                   "device signed span [%u, +%u) outside a %zu-byte packet", d.signed_off,
                   d.signed_len, size);
    else
        FUZZ_CHECK(memcmp(&d, &zero_ic, sizeof(d)) == 0,
                   "dfw_initcmd_decode failed (%d) but "
                   "left output behind",
                   (int)de);
    /* The size limits are the same number on both sides. */
    FUZZ_CHECK((he == INITPKT_ERR_EMPTY || he == INITPKT_ERR_TOO_LARGE) ==
                   (de == DFW_ERR_INITCMD_SIZE),
               "size verdicts differ for %zu bytes: host %d, device %d", size, (int)he, (int)de);

    if (he == INITPKT_OK && de == DFW_OK) {
        FUZZ_CHECK(h.is_signed == d.is_signed, "is_signed: host %d, device %d", h.is_signed,
                   d.is_signed);
        if (h.is_signed)
            FUZZ_CHECK(h.sig_type == d.signature_type && h.sig_len == d.signature_len,
                       "signature: host type %u len %zu, device type %u len %u", h.sig_type,
                       h.sig_len, d.signature_type, d.signature_len);
        FUZZ_CHECK(h.init_off == d.signed_off && h.init_len == d.signed_len,
                   "signed span: host [%zu, +%zu), device [%u, +%u)", h.init_off, h.init_len,
                   d.signed_off, d.signed_len);
        FUZZ_CHECK(h.has_type == d.has_type && (!h.has_type || h.type == d.type),
                   "type: host %d/%u, device %d/%u", h.has_type, h.type, d.has_type, d.type);
        FUZZ_CHECK(h.has_fw_version == d.has_fw_version &&
                       (!h.has_fw_version || h.fw_version == d.fw_version),
                   "fw_version: host %d/%u, device %d/%u", h.has_fw_version, h.fw_version,
                   d.has_fw_version, d.fw_version);
        FUZZ_CHECK(h.has_hw_version == d.has_hw_version &&
                       (!h.has_hw_version || h.hw_version == d.hw_version),
                   "hw_version: host %d/%u, device %d/%u", h.has_hw_version, h.hw_version,
                   d.has_hw_version, d.hw_version);
        FUZZ_CHECK(h.has_sd_size == d.has_sd_size && (!h.has_sd_size || h.sd_size == d.sd_size),
                   "sd_size: host %d/%u, device %d/%u", h.has_sd_size, h.sd_size, d.has_sd_size,
                   d.sd_size);
        FUZZ_CHECK(h.has_bl_size == d.has_bl_size && (!h.has_bl_size || h.bl_size == d.bl_size),
                   "bl_size: host %d/%u, device %d/%u", h.has_bl_size, h.bl_size, d.has_bl_size,
                   d.bl_size);
        FUZZ_CHECK(h.has_app_size == d.has_app_size &&
                       (!h.has_app_size || h.app_size == d.app_size),
                   "app_size: host %d/%u, device %d/%u", h.has_app_size, h.app_size, d.has_app_size,
                   d.app_size);
        FUZZ_CHECK(h.is_debug == d.is_debug, "is_debug: host %d, device %d", h.is_debug,
                   d.is_debug);
        FUZZ_CHECK(h.has_hash == d.has_hash &&
                       (!h.has_hash || (h.hash_type == d.hash_type && h.hash_len == d.hash_len)),
                   "hash: host %d/%u/%zu, device %d/%u/%u", h.has_hash, h.hash_type, h.hash_len,
                   d.has_hash, d.hash_type, d.hash_len);
        FUZZ_CHECK(h.sd_req_count == d.sd_req_count, "sd_req count: host %zu, device %u",
                   h.sd_req_count, d.sd_req_count);
        FUZZ_CHECK(h.bv_count == d.boot_validation_count,
                   "boot_validation count: host %zu, device %u", h.bv_count,
                   d.boot_validation_count);

        uint32_t dev_size = 0;
        dfw_err_t se = dfw_initcmd_image_size(&d, &dev_size);
        uint64_t host_size = initpkt_image_size(&h);
        if (se == DFW_OK)
            FUZZ_CHECK(host_size == dev_size, "image size: host %llu, device %u",
                       (unsigned long long)host_size, dev_size);
    }
    free(dat);
    return 0;
}
