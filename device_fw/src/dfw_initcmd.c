/*
 * dfw_initcmd.c - minimal protobuf wire reader for the init packet.
 *
 * Structure: a bounded cursor (pbr_t) with varint/tag/length primitives, and
 * one decode function per message of the schema. Each message function only
 * calls the functions of the messages it contains, so nesting depth (and
 * stack use) is fixed at Packet > SignedCommand > Command > InitCommand >
 * Hash/BootValidation, whatever the input says.
 *
 * The limits mirror the nanopb options of the SDK (dfu-cc.options, spec
 * §4.1): a packet the bootloader cannot decode must not be staged, because the
 * bootloader would silently ignore the update after the reset.
 *
 * The message functions repeat one loop shape on purpose. Folding them into a
 * generic walker with per-message field callbacks was tried: 36 bytes less
 * code, but the decoder's deepest stack path (it is the device's worst case,
 * see nrf52832_app.ld) grew from ~250 to ~540 bytes (GCC 12 -Os,
 * -fstack-usage), because the indirect calls stop GCC inlining the nested
 * messages. The device has 88 bytes of stack margin.
 */
#include "device_fw/dfw_initcmd.h"

#include <string.h>

/* Protobuf wire types; 3/4 (groups) do not occur in dfu-cc.proto and are rejected. */
enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

/* nanopb array/bytes bounds from dfu-cc.options. */
enum {
    MAX_SD_REQ = 16,
    MAX_BOOT_VALIDATION = 3,
    MAX_HASH_BYTES = 32,
    MAX_SIGNATURE_BYTES = 64,
    MAX_BV_BYTES = 64,
};

/* A read window [p, end) inside the .dat; reads never pass `end`. */
typedef struct pbr {
    const uint8_t *p;
    const uint8_t *end;
} pbr_t;

/* Decoder state shared by the message functions. */
typedef struct dec {
    const uint8_t *base; /* start of the .dat, for offsets */
    dfw_initcmd_t *out;
    uint32_t inits; /* Command.init occurrences seen (must end at exactly 1) */
} dec_t;

static size_t pbr_left(const pbr_t *r)
{
    return (size_t)(r->end - r->p);
}

/* Base-128 varint, at most 10 bytes and 64 bits; false if truncated or longer. */
static bool pbr_varint(pbr_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10u; i++) {
        if (r->p == r->end) {
            return false;
        }
        uint8_t b = *r->p++;
        if (i == 9u && b > 1u) {
            return false; /* bit 64 or beyond, or an 11th byte */
        }
        x |= (uint64_t)(b & 0x7Fu) << (7u * i);
        if ((b & 0x80u) == 0u) {
            *v = x;
            return true;
        }
    }
    return false;
}

static bool pbr_tag(pbr_t *r, uint32_t *field, uint8_t *wt)
{
    uint64_t v;
    if (!pbr_varint(r, &v) || v > UINT32_MAX) {
        return false;
    }
    *field = (uint32_t)(v >> 3);
    *wt = (uint8_t)(v & 7u);
    return *field != 0u; /* field 0 is invalid in protobuf */
}

/* Length-delimited payload: `sub` covers it, `r` moves past it. */
static bool pbr_sub(pbr_t *r, uint8_t wt, pbr_t *sub)
{
    uint64_t n;
    if (wt != WT_LEN || !pbr_varint(r, &n) || n > (uint64_t)pbr_left(r)) {
        return false;
    }
    sub->p = r->p;
    sub->end = r->p + (size_t)n;
    r->p = sub->end;
    return true;
}

static bool pbr_advance(pbr_t *r, size_t n)
{
    if (n > pbr_left(r)) {
        return false;
    }
    r->p += n;
    return true;
}

static bool pbr_skip(pbr_t *r, uint8_t wt)
{
    uint64_t v;
    pbr_t sub;
    switch (wt) {
    case WT_VARINT:
        return pbr_varint(r, &v);
    case WT_FIXED64:
        return pbr_advance(r, 8u);
    case WT_LEN:
        return pbr_sub(r, wt, &sub);
    case WT_FIXED32:
        return pbr_advance(r, 4u);
    default:
        return false;
    }
}

/* uint32/enum/bool field: varint wire type, value must fit 32 bits. */
static bool pbr_u32(pbr_t *r, uint8_t wt, uint32_t *out)
{
    uint64_t v;
    if (wt != WT_VARINT || !pbr_varint(r, &v) || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* bytes field of at most `max` bytes; only its length is kept. */
static bool pbr_bytes(pbr_t *r, uint8_t wt, size_t max, uint32_t *len)
{
    pbr_t sub;
    if (!pbr_sub(r, wt, &sub) || pbr_left(&sub) > max) {
        return false;
    }
    *len = (uint32_t)pbr_left(&sub);
    return true;
}

/* --- Hash { 1 required hash_type; 2 required bytes hash (max 32) } --- */
static bool decode_hash(dec_t *d, pbr_t r)
{
    bool has_type = false, has_hash = false;
    uint32_t field;
    uint8_t wt;
    while (pbr_left(&r) > 0u) {
        bool ok;
        if (!pbr_tag(&r, &field, &wt)) {
            return false;
        }
        if (field == 1u) {
            ok = has_type = pbr_u32(&r, wt, &d->out->hash_type);
        } else if (field == 2u) {
            ok = has_hash = pbr_bytes(&r, wt, MAX_HASH_BYTES, &d->out->hash_len);
        } else {
            ok = pbr_skip(&r, wt);
        }
        if (!ok) {
            return false;
        }
    }
    d->out->has_hash = true;
    return has_type && has_hash;
}

/* --- BootValidation { 1 required type; 2 required bytes (max 64) } --- */
static bool decode_boot_validation(pbr_t r)
{
    bool has_type = false, has_bytes = false;
    uint32_t field, v;
    uint8_t wt;
    while (pbr_left(&r) > 0u) {
        bool ok;
        if (!pbr_tag(&r, &field, &wt)) {
            return false;
        }
        if (field == 1u) {
            ok = has_type = pbr_u32(&r, wt, &v);
        } else if (field == 2u) {
            ok = has_bytes = pbr_bytes(&r, wt, MAX_BV_BYTES, &v);
        } else {
            ok = pbr_skip(&r, wt);
        }
        if (!ok) {
            return false;
        }
    }
    return has_type && has_bytes;
}

/* repeated uint32 sd_req: accepted packed (as nrfutil writes it) or unpacked. */
static bool decode_sd_req(dec_t *d, pbr_t *r, uint8_t wt)
{
    uint32_t v;
    pbr_t sub;
    if (wt == WT_VARINT) {
        return pbr_u32(r, wt, &v) && ++d->out->sd_req_count <= MAX_SD_REQ;
    }
    if (!pbr_sub(r, wt, &sub)) {
        return false;
    }
    while (pbr_left(&sub) > 0u) {
        if (!pbr_u32(&sub, WT_VARINT, &v) || ++d->out->sd_req_count > MAX_SD_REQ) {
            return false;
        }
    }
    return true;
}

/* The optional uint32 fields of InitCommand, as (value, presence) slots; false if not one. */
static bool init_u32_slot(dfw_initcmd_t *o, uint32_t field, uint32_t **val, bool **has)
{
    switch (field) {
    case 1:
        *val = &o->fw_version, *has = &o->has_fw_version;
        return true;
    case 2:
        *val = &o->hw_version, *has = &o->has_hw_version;
        return true;
    case 4:
        *val = &o->type, *has = &o->has_type;
        return true;
    case 5:
        *val = &o->sd_size, *has = &o->has_sd_size;
        return true;
    case 6:
        *val = &o->bl_size, *has = &o->has_bl_size;
        return true;
    case 7:
        *val = &o->app_size, *has = &o->has_app_size;
        return true;
    default:
        return false;
    }
}

static bool decode_init_field(dec_t *d, pbr_t *r, uint32_t field, uint8_t wt)
{
    uint32_t *val, v;
    bool *has;
    pbr_t sub;
    if (init_u32_slot(d->out, field, &val, &has)) {
        return (*has = pbr_u32(r, wt, val));
    }
    switch (field) {
    case 3:
        return decode_sd_req(d, r, wt);
    case 8:
        return pbr_sub(r, wt, &sub) && decode_hash(d, sub);
    case 9:
        if (!pbr_u32(r, wt, &v)) {
            return false;
        }
        d->out->is_debug = v != 0u;
        return true;
    case 10:
        return pbr_sub(r, wt, &sub) && decode_boot_validation(sub) &&
               ++d->out->boot_validation_count <= MAX_BOOT_VALIDATION;
    default:
        return pbr_skip(r, wt);
    }
}

/* --- InitCommand (all fields optional) --- */
static bool decode_init(dec_t *d, pbr_t r)
{
    uint32_t field;
    uint8_t wt;
    while (pbr_left(&r) > 0u) {
        if (!pbr_tag(&r, &field, &wt) || !decode_init_field(d, &r, field, wt)) {
            return false;
        }
    }
    return true;
}

/* --- Command { 1 op_code; 2 InitCommand init } --- */
static bool decode_command(dec_t *d, pbr_t r)
{
    uint32_t field, v;
    uint8_t wt;
    pbr_t sub;
    while (pbr_left(&r) > 0u) {
        bool ok;
        if (!pbr_tag(&r, &field, &wt)) {
            return false;
        }
        if (field == 1u) {
            ok = pbr_u32(&r, wt, &v); /* op_code: the bootloader does not look at it */
        } else if (field == 2u) {
            ok = pbr_sub(&r, wt, &sub);
            if (ok) {
                /* Signed region: init payload up to the end of this Command (spec §4.5). */
                d->out->signed_off = (uint32_t)(sub.p - d->base);
                d->out->signed_len = (uint32_t)(r.end - sub.p);
                d->inits++;
                ok = decode_init(d, sub);
            }
        } else {
            ok = pbr_skip(&r, wt);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* --- SignedCommand { 1 required command; 2 required signature_type; 3 required signature } --- */
static bool decode_signed(dec_t *d, pbr_t r)
{
    bool has_cmd = false, has_type = false, has_sig = false;
    uint32_t field;
    uint8_t wt;
    pbr_t sub;
    while (pbr_left(&r) > 0u) {
        bool ok;
        if (!pbr_tag(&r, &field, &wt)) {
            return false;
        }
        if (field == 1u) {
            ok = has_cmd = pbr_sub(&r, wt, &sub) && decode_command(d, sub);
        } else if (field == 2u) {
            ok = has_type = pbr_u32(&r, wt, &d->out->signature_type);
        } else if (field == 3u) {
            ok = has_sig = pbr_bytes(&r, wt, MAX_SIGNATURE_BYTES, &d->out->signature_len);
        } else {
            ok = pbr_skip(&r, wt);
        }
        if (!ok) {
            return false;
        }
    }
    d->out->is_signed = true;
    return has_cmd && has_type && has_sig;
}

/* --- Packet { 1 Command command; 2 SignedCommand signed_command } --- */
static bool decode_packet(dec_t *d, pbr_t r)
{
    bool has_cmd = false, has_signed = false;
    uint32_t field;
    uint8_t wt;
    pbr_t sub;
    while (pbr_left(&r) > 0u) {
        bool ok;
        if (!pbr_tag(&r, &field, &wt)) {
            return false;
        }
        if (field == 1u) {
            ok = has_cmd = pbr_sub(&r, wt, &sub) && decode_command(d, sub);
        } else if (field == 2u) {
            ok = has_signed = pbr_sub(&r, wt, &sub) && decode_signed(d, sub);
        } else {
            ok = pbr_skip(&r, wt);
        }
        if (!ok) {
            return false;
        }
    }
    /* Bootloader rejects both kinds at once, and zero or several init messages (spec §4.5). */
    return !(has_cmd && has_signed) && d->inits == 1u;
}

dfw_err_t dfw_initcmd_decode(const uint8_t *dat, size_t len, dfw_initcmd_t *out)
{
    if (out == NULL) {
        return DFW_ERR_PARAM;
    }
    memset(out, 0, sizeof(*out));
    if (dat == NULL) {
        return DFW_ERR_PARAM;
    }
    if (len == 0u || len > DFW_INITCMD_MAX_SIZE) {
        return DFW_ERR_INITCMD_SIZE;
    }
    dec_t d = {.base = dat, .out = out, .inits = 0};
    pbr_t r = {.p = dat, .end = dat + len};
    if (!decode_packet(&d, r)) {
        memset(out, 0, sizeof(*out));
        return DFW_ERR_INITCMD_MALFORMED;
    }
    return DFW_OK;
}

dfw_err_t dfw_initcmd_image_size(const dfw_initcmd_t *ic, uint32_t *size)
{
    if (ic == NULL || size == NULL) {
        return DFW_ERR_PARAM;
    }
    *size = 0;
    if (!ic->has_type || ic->type > DFW_FW_EXTERNAL_APPLICATION) {
        return DFW_ERR_INITCMD_INVALID;
    }
    bool app = ic->type == DFW_FW_APPLICATION || ic->type == DFW_FW_EXTERNAL_APPLICATION;
    uint64_t total;
    if (app && ic->has_app_size) {
        total = ic->app_size;
    } else {
        uint64_t sd = ((ic->type & 1u) != 0u && ic->has_sd_size) ? ic->sd_size : 0u;
        uint64_t bl = ((ic->type & 2u) != 0u && ic->has_bl_size) ? ic->bl_size : 0u;
        total = sd + bl;
    }
    if (total == 0u || total > UINT32_MAX) {
        return DFW_ERR_INITCMD_INVALID;
    }
    *size = (uint32_t)total;
    return DFW_OK;
}
