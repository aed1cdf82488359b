#include "cli/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

/* What one image's checks need, gathered once. */
typedef struct {
    const pkg_image_t *img;
    const initpkt_t *p;
    const sig_key_t *key;
    check_image_t *out;
} ctx_t;

__attribute__((format(printf, 5, 6))) static void add(ctx_t *c, const char *name, check_status_t st,
                                                      check_class_t cls, const char *fmt, ...)
{
    if (c->out->count >= CHECK_ITEMS_MAX)
        return;
    check_item_t *it = &c->out->item[c->out->count++];
    snprintf(it->name, sizeof(it->name), "%s", name);
    it->status = st;
    it->cls = cls;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
    va_end(ap);
}

static const char *or_unknown(const char *name)
{
    return name ? name : "(unknown)";
}

static uint32_t crc32_of(const uint8_t *data, size_t len)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
}

/* The init packet type each manifest key may carry. */
static int type_fits_kind(uint32_t type, pkg_kind_t kind)
{
    switch (kind) {
    case PKG_KIND_APPLICATION:
        return type == INITPKT_FW_APPLICATION || type == INITPKT_FW_EXTERNAL_APPLICATION;
    case PKG_KIND_SOFTDEVICE:
        return type == INITPKT_FW_SOFTDEVICE;
    case PKG_KIND_BOOTLOADER:
        return type == INITPKT_FW_BOOTLOADER;
    case PKG_KIND_SOFTDEVICE_BOOTLOADER:
        return type == INITPKT_FW_SOFTDEVICE_BOOTLOADER;
    }
    return 0;
}

static void check_type(ctx_t *c)
{
    const char *name = initpkt_fw_type_name(c->p->type);
    if (!c->p->has_type)
        add(c, "type", CHECK_FAIL, CHECK_CLASS_INVALID,
            "init.type is absent (the bootloader answers INIT_COMMAND_INVALID)");
    else if (!name)
        add(c, "type", CHECK_FAIL, CHECK_CLASS_INVALID, "init.type %u is not a known FwType",
            c->p->type);
    else if (!type_fits_kind(c->p->type, c->img->kind))
        add(c, "type", CHECK_FAIL, CHECK_CLASS_INVALID, "init.type %s under manifest key '%s'",
            name, c->img->manifest_key);
    else
        add(c, "type", CHECK_PASS, CHECK_CLASS_INVALID, "%s under manifest key '%s'", name,
            c->img->manifest_key);
}

static void check_metadata(ctx_t *c)
{
    const pkg_image_t *img = c->img;
    if (!img->has_metadata)
        return;
    if (img->meta_sd_size != c->p->sd_size || img->meta_bl_size != c->p->bl_size)
        add(c, "metadata", CHECK_FAIL, CHECK_CLASS_INTEGRITY,
            "manifest sd_size %u / bl_size %u differ from init sd_size %u / bl_size %u",
            img->meta_sd_size, img->meta_bl_size, c->p->sd_size, c->p->bl_size);
}

static void check_size(ctx_t *c)
{
    uint64_t want = initpkt_image_size(c->p);
    size_t have = c->img->bin_len;
    if (want == 0)
        add(c, "size", CHECK_FAIL, CHECK_CLASS_INTEGRITY,
            "init packet declares no image size for type %s",
            or_unknown(initpkt_fw_type_name(c->p->type)));
    else if (want != have)
        add(c, "size", CHECK_FAIL, CHECK_CLASS_INTEGRITY,
            "%s is %zu bytes, init packet declares %llu", c->img->bin_name, have,
            (unsigned long long)want);
    else
        add(c, "size", CHECK_PASS, CHECK_CLASS_INTEGRITY, "%zu bytes as declared", have);
    check_metadata(c);
}

static void check_hash(ctx_t *c)
{
    const initpkt_t *p = c->p;
    const char *tname = initpkt_hash_type_name(p->hash_type);
    if (!p->has_hash) {
        add(c, "hash", CHECK_FAIL, CHECK_CLASS_INVALID, "init.hash is absent");
        return;
    }
    if (p->hash_type != INITPKT_HASH_SHA256 || p->hash_len != 32) {
        add(c, "hash", CHECK_FAIL, CHECK_CLASS_INVALID,
            "init.hash: hash_type %s (%u) of %zu bytes; the bootloader only takes a 32-byte "
            "SHA256",
            or_unknown(tname), p->hash_type, p->hash_len);
        return;
    }
    uint8_t le[32];
    memcpy(le, c->out->bin_sha256, 32);
    sig_reverse(le, 32);
    if (memcmp(le, p->hash, 32) != 0)
        add(c, "hash", CHECK_FAIL, CHECK_CLASS_INTEGRITY,
            "SHA-256 of %s does not match the init packet", c->img->bin_name);
    else
        add(c, "hash", CHECK_PASS, CHECK_CLASS_INTEGRITY, "SHA-256 of %s matches",
            c->img->bin_name);
}

/* Region of the .bin an entry covers (spec 6.2): SD+BL splits at sd_size. */
static void bv_region(const ctx_t *c, size_t idx, size_t *off, size_t *len, const char **what)
{
    size_t n = c->img->bin_len, sd = c->p->sd_size < n ? c->p->sd_size : n;
    *off = 0;
    *len = n;
    *what = c->img->bin_name;
    if (c->p->type == INITPKT_FW_SOFTDEVICE) {
        *len = sd;
        *what = "the SoftDevice";
    } else if (c->p->type == INITPKT_FW_SOFTDEVICE_BOOTLOADER) {
        *off = idx == 0 ? 0 : sd;
        *len = idx == 0 ? sd : n - sd;
        *what = idx == 0 ? "the SoftDevice part" : "the bootloader part";
    }
}

static void check_bv_ecdsa(ctx_t *c, const char *name, const initpkt_bv_t *bv, size_t idx)
{
    size_t off, len;
    const char *what;
    bv_region(c, idx, &off, &len, &what);
    if (bv->len != 64)
        add(c, name, CHECK_FAIL, CHECK_CLASS_INTEGRITY,
            "ECDSA boot validation holds %zu bytes, not a 64-byte signature", bv->len);
    else if (!c->key)
        add(c, name, CHECK_SKIP, CHECK_CLASS_INTEGRITY,
            "ECDSA signature over %s not checked (no --key)", what);
    else if (sig_verify_le(c->key, c->img->bin + off, len, bv->bytes, bv->len) != SIG_OK)
        add(c, name, CHECK_FAIL, CHECK_CLASS_INTEGRITY,
            "ECDSA signature over %s does not verify with the key", what);
    else
        add(c, name, CHECK_PASS, CHECK_CLASS_INTEGRITY, "ECDSA signature over %s verifies", what);
}

static void check_bv_entry(ctx_t *c, size_t idx)
{
    const initpkt_bv_t *bv = &c->p->bv[idx];
    char name[24];
    size_t off, len;
    const char *what;
    snprintf(name, sizeof(name), "boot_validation[%zu]", idx);
    bv_region(c, idx, &off, &len, &what);
    switch (bv->type) {
    case INITPKT_BV_NONE:
        add(c, name, CHECK_PASS, CHECK_CLASS_INTEGRITY, "no boot validation");
        break;
    case INITPKT_BV_CRC:
        add(c, name, CHECK_PASS, CHECK_CLASS_INTEGRITY, "bootloader will store CRC-32 0x%08X of %s",
            crc32_of(c->img->bin + off, len), what);
        break;
    case INITPKT_BV_SHA256:
        add(c, name, CHECK_PASS, CHECK_CLASS_INTEGRITY, "bootloader will store SHA-256 of %s",
            what);
        break;
    case INITPKT_BV_ECDSA_P256_SHA256:
        check_bv_ecdsa(c, name, bv, idx);
        break;
    default:
        add(c, name, CHECK_FAIL, CHECK_CLASS_INTEGRITY,
            "type %u is not a ValidationType (post-validation fails with INVALID_OBJECT)",
            bv->type);
    }
}

static void check_signature(ctx_t *c)
{
    const initpkt_t *p = c->p;
    const char *tname = initpkt_sig_type_name(p->sig_type);
    if (!p->is_signed) {
        if (c->key)
            add(c, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE,
                "--key given but the init packet is unsigned");
        else
            add(c, "signature", CHECK_SKIP, CHECK_CLASS_SIGNATURE,
                "unsigned init packet (bootloaders require signed updates by default)");
    } else if (p->sig_type != INITPKT_SIG_ECDSA_P256_SHA256 || p->sig_len != 64) {
        add(c, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE,
            "signature_type %s (%u) with %zu bytes; the bootloader only takes 64-byte "
            "ECDSA_P256_SHA256",
            or_unknown(tname), p->sig_type, p->sig_len);
    } else if (!c->key) {
        add(c, "signature", CHECK_SKIP, CHECK_CLASS_SIGNATURE, "not checked (no --key)");
    } else if (sig_verify_le(c->key, c->img->dat + p->init_off, p->init_len, p->sig, p->sig_len) !=
               SIG_OK) {
        add(c, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE,
            "init packet signature does not verify with the key");
    } else {
        add(c, "signature", CHECK_PASS, CHECK_CLASS_SIGNATURE, "verifies with the key");
    }
}

static void check_image(const pkg_image_t *img, const sig_key_t *key, check_image_t *out)
{
    ctx_t c = {img, &img->init, key, out};
    memset(out, 0, sizeof(*out));
    sig_sha256(img->bin, img->bin_len, out->bin_sha256);
    out->bin_crc32 = crc32_of(img->bin, img->bin_len);
    check_type(&c);
    check_size(&c);
    check_hash(&c);
    for (size_t i = 0; i < img->init.bv_count; i++)
        check_bv_entry(&c, i);
    check_signature(&c);
}

void check_package(const pkg_t *pkg, const sig_key_t *key, check_report_t *out)
{
    memset(out, 0, sizeof(*out));
    out->key_given = key != NULL;
    out->count = pkg_image_count(pkg);
    for (size_t i = 0; i < out->count; i++)
        check_image(pkg_image(pkg, i), key, &out->image[i]);
}

static const check_item_t *first_fail(const check_report_t *r, check_class_t cls, size_t *img)
{
    for (size_t i = 0; i < r->count; i++)
        for (size_t k = 0; k < r->image[i].count; k++) {
            const check_item_t *it = &r->image[i].item[k];
            if (it->status == CHECK_FAIL && it->cls == cls) {
                if (img)
                    *img = i;
                return it;
            }
        }
    return NULL;
}

const check_item_t *check_worst(const check_report_t *r, size_t *image_index)
{
    /* An init packet that is not authentic makes its hash meaningless, so a
     * signature failure outranks an integrity failure. */
    static const check_class_t order[] = {CHECK_CLASS_INVALID, CHECK_CLASS_SIGNATURE,
                                          CHECK_CLASS_INTEGRITY};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const check_item_t *it = first_fail(r, order[i], image_index);
        if (it)
            return it;
    }
    return NULL;
}

const char *check_status_name(check_status_t s)
{
    return s == CHECK_PASS ? "pass" : s == CHECK_SKIP ? "skip" : "fail";
}

const char *check_class_name(check_class_t c)
{
    return c == CHECK_CLASS_INVALID     ? "invalid"
           : c == CHECK_CLASS_SIGNATURE ? "signature"
                                        : "integrity";
}
