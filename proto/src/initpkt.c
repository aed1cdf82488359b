#include "proto/initpkt.h"

#include <string.h>

#include "dfu-cc.pb-c.h"
#include "pbwire.h"

/* Records the offending field name and returns the error. */
static initpkt_err_t fail(const char **field, const char *name, initpkt_err_t err)
{
    if (field)
        *field = name;
    return err;
}

static initpkt_err_t copy_bytes(uint8_t *dst, size_t *dst_len, size_t cap,
                                const ProtobufCBinaryData *src, const char *name,
                                const char **field)
{
    if (src->len > cap)
        return fail(field, name, INITPKT_ERR_LIMIT);
    if (src->len)
        memcpy(dst, src->data, src->len);
    *dst_len = src->len;
    return INITPKT_OK;
}

static void copy_scalars(const Dfu__InitCommand *in, initpkt_t *out)
{
    out->has_fw_version = in->has_fw_version;
    out->fw_version = in->fw_version;
    out->has_hw_version = in->has_hw_version;
    out->hw_version = in->hw_version;
    out->has_type = in->has_type;
    out->type = (uint32_t)in->type;
    out->has_sd_size = in->has_sd_size;
    out->sd_size = in->sd_size;
    out->has_bl_size = in->has_bl_size;
    out->bl_size = in->bl_size;
    out->has_app_size = in->has_app_size;
    out->app_size = in->app_size;
    out->has_is_debug = in->has_is_debug;
    out->is_debug = in->is_debug;
}

static initpkt_err_t copy_init(const Dfu__InitCommand *in, initpkt_t *out, const char **field)
{
    copy_scalars(in, out);
    if (in->n_sd_req > INITPKT_SD_REQ_MAX)
        return fail(field, "init.sd_req", INITPKT_ERR_LIMIT);
    out->sd_req_count = in->n_sd_req;
    for (size_t i = 0; i < in->n_sd_req; i++)
        out->sd_req[i] = in->sd_req[i];

    if (in->hash) {
        out->has_hash = true;
        out->hash_type = (uint32_t)in->hash->hash_type;
        initpkt_err_t e = copy_bytes(out->hash, &out->hash_len, INITPKT_HASH_MAX, &in->hash->hash,
                                     "init.hash.hash", field);
        if (e)
            return e;
    }
    if (in->n_boot_validation > INITPKT_BV_MAX)
        return fail(field, "init.boot_validation", INITPKT_ERR_LIMIT);
    out->bv_count = in->n_boot_validation;
    for (size_t i = 0; i < in->n_boot_validation; i++) {
        const Dfu__BootValidation *bv = in->boot_validation[i];
        out->bv[i].type = (uint32_t)bv->type;
        initpkt_err_t e = copy_bytes(out->bv[i].bytes, &out->bv[i].len, INITPKT_BV_BYTES_MAX,
                                     &bv->bytes, "init.boot_validation.bytes", field);
        if (e)
            return e;
    }
    return INITPKT_OK;
}

static initpkt_err_t copy_signed(const Dfu__SignedCommand *sc, initpkt_t *out, const char **field)
{
    out->is_signed = true;
    out->sig_type = (uint32_t)sc->signature_type;
    initpkt_err_t e = copy_bytes(out->sig, &out->sig_len, INITPKT_SIG_MAX, &sc->signature,
                                 "signed_command.signature", field);
    if (e)
        return e;
    return INITPKT_OK;
}

/* Picks the one Command the bootloader would use (spec 5.3 step 3). */
static const Dfu__Command *pick_command(const Dfu__Packet *pkt, const char **field)
{
    if (pkt->command && pkt->signed_command) {
        fail(field, "packet (both command and signed_command)", INITPKT_ERR_NO_INIT);
        return NULL;
    }
    const Dfu__Command *cmd = pkt->signed_command ? pkt->signed_command->command : pkt->command;
    if (!cmd) {
        fail(field, "packet.command", INITPKT_ERR_NO_INIT);
        return NULL;
    }
    if (!cmd->init) {
        fail(field, "command.init", INITPKT_ERR_NO_INIT);
        return NULL;
    }
    return cmd;
}

static initpkt_err_t decode_packet(const uint8_t *dat, size_t len, const Dfu__Packet *pkt,
                                   initpkt_t *out, const char **field)
{
    const Dfu__Command *cmd = pick_command(pkt, field);
    if (!cmd)
        return INITPKT_ERR_NO_INIT;
    out->has_op_code = cmd->has_op_code;
    out->op_code = (uint32_t)cmd->op_code;
    out->has_init = true;
    initpkt_err_t e = copy_init(cmd->init, out, field);
    if (e == INITPKT_OK && pkt->signed_command)
        e = copy_signed(pkt->signed_command, out, field);
    if (e == INITPKT_OK && !pbwire_init_span(dat, len, &out->init_off, &out->init_len))
        e = fail(field, "command.init (occurs more than once)", INITPKT_ERR_NO_INIT);
    return e;
}

initpkt_err_t initpkt_decode(const uint8_t *dat, size_t len, initpkt_t *out, const char **field)
{
    memset(out, 0, sizeof(*out));
    if (field)
        *field = NULL;
    if (len == 0)
        return fail(field, "packet", INITPKT_ERR_EMPTY);
    if (len > INITPKT_MAX_SIZE)
        return fail(field, "packet", INITPKT_ERR_TOO_LARGE);

    Dfu__Packet *pkt = dfu__packet__unpack(NULL, len, dat);
    if (!pkt)
        return fail(field, "packet", INITPKT_ERR_DECODE);
    initpkt_err_t e = decode_packet(dat, len, pkt, out, field);
    dfu__packet__free_unpacked(pkt, NULL);
    if (e != INITPKT_OK) {
        const char *name = field ? *field : NULL;
        memset(out, 0, sizeof(*out));
        if (field)
            *field = name;
    }
    return e;
}

const char *initpkt_strerror(initpkt_err_t err)
{
    switch (err) {
    case INITPKT_OK:
        return "ok";
    case INITPKT_ERR_EMPTY:
        return "init packet is empty";
    case INITPKT_ERR_TOO_LARGE:
        return "init packet is larger than the bootloader's 512-byte init_command";
    case INITPKT_ERR_DECODE:
        return "not a dfu.Packet (protobuf decoding failed)";
    case INITPKT_ERR_NO_INIT:
        return "packet holds no usable InitCommand";
    case INITPKT_ERR_LIMIT:
        return "field exceeds the bootloader decoder's size bound";
    }
    return "unknown init packet error";
}

static const char *name_at(const char *const *names, size_t n, uint32_t v)
{
    return v < n ? names[v] : NULL;
}

#define NAMES(arr, v) name_at(arr, sizeof(arr) / sizeof(arr[0]), v)

const char *initpkt_fw_type_name(uint32_t type)
{
    static const char *const n[] = {"APPLICATION", "SOFTDEVICE", "BOOTLOADER",
                                    "SOFTDEVICE_BOOTLOADER", "EXTERNAL_APPLICATION"};
    return NAMES(n, type);
}

const char *initpkt_hash_type_name(uint32_t type)
{
    static const char *const n[] = {"NO_HASH", "CRC", "SHA128", "SHA256", "SHA512"};
    return NAMES(n, type);
}

const char *initpkt_validation_name(uint32_t type)
{
    static const char *const n[] = {"NO_VALIDATION", "VALIDATE_GENERATED_CRC", "VALIDATE_SHA256",
                                    "VALIDATE_ECDSA_P256_SHA256"};
    return NAMES(n, type);
}

const char *initpkt_sig_type_name(uint32_t type)
{
    static const char *const n[] = {"ECDSA_P256_SHA256", "ED25519"};
    return NAMES(n, type);
}

const char *initpkt_op_code_name(uint32_t op)
{
    static const char *const n[] = {"RESET", "INIT"};
    return NAMES(n, op);
}

uint64_t initpkt_image_size(const initpkt_t *p)
{
    if (p->type == INITPKT_FW_APPLICATION || p->type == INITPKT_FW_EXTERNAL_APPLICATION)
        return p->has_app_size ? p->app_size : 0;
    uint64_t size = 0;
    if ((p->type & 1u) && p->has_sd_size)
        size += p->sd_size;
    if ((p->type & 2u) && p->has_bl_size)
        size += p->bl_size;
    return size;
}
