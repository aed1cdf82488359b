/*
 * bl_settings.c - settings-page codec, CRCs, backup rules, generator and
 * display. Contract in emulator/bl_settings.h; layout in
 * shared/spec/nrf5-bootloader.md §2 and emulator/SETTINGS.md.
 */
#include "emulator/bl_settings.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <zlib.h>

_Static_assert(BL_SETTINGS_OFF_BV_SD + 3 * (1 + BL_SETTINGS_BV_BYTES) == BL_SETTINGS_OFF_BV_END,
               "three 65-byte boot_validation_t end at 803");
_Static_assert(BL_SETTINGS_OFF_ADV_NAME + BL_SETTINGS_ADV_NAME_LEN + 1 == BL_SETTINGS_SIZE,
               "serial build: adv_name ends at 895, one byte of tail padding");
_Static_assert(BL_SETTINGS_OFF_ADV_NAME_BLE + BL_SETTINGS_ADV_NAME_LEN == BL_SETTINGS_SIZE,
               "BLE build: adv_name ends at 896");
_Static_assert(BL_SETTINGS_OFF_INIT_CMD + BL_SETTINGS_INIT_CMD_MAX == BL_SETTINGS_OFF_BV_CRC,
               "init_command[512] ends where boot_validation_crc starts");

#define SHA256_LEN 32u

/// Little-endian helpers ///

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* zlib's crc32 takes a uInt length; chunk so any size_t works. */
static uint32_t crc32_of(const uint8_t *data, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, data, n);
        data += n;
        len -= n;
    }
    return (uint32_t)crc;
}

/// Family ///

uint32_t bl_settings_addr(bl_settings_family_t family)
{
    return family == BL_SETTINGS_FAMILY_NRF52840 ? 0xFF000u : 0x7F000u;
}

uint32_t bl_settings_backup_addr(bl_settings_family_t family)
{
    return bl_settings_addr(family) - BL_SETTINGS_PAGE_SIZE;
}

const char *bl_settings_family_name(bl_settings_family_t family)
{
    /* Spelled the way nrfutil 6.1.7 prints them (its arch_str). */
    return family == BL_SETTINGS_FAMILY_NRF52840 ? "NRF52840" : "nRF52";
}

/// Codec ///

/* Bytes 0..91 are identical in v1 and v2. */
static void decode_header(const uint8_t *raw, bl_settings_t *s)
{
    uint32_t w[23];
    for (size_t i = 0; i < 23; i++) {
        w[i] = get_le32(raw + 4 * i);
    }
    s->crc = w[0];
    s->settings_version = w[1];
    s->app_version = w[2];
    s->bootloader_version = w[3];
    s->bank_layout = w[4];
    s->bank_current = w[5];
    s->bank_0 = (bl_settings_bank_t){w[6], w[7], w[8]};
    s->bank_1 = (bl_settings_bank_t){w[9], w[10], w[11]};
    s->write_offset = w[12];
    s->sd_size = w[13];
    s->progress.command_size = w[14];
    s->progress.command_offset = w[15];
    s->progress.command_crc = w[16];
    s->progress.data_object_size = w[17];
    s->progress.firmware_image_crc = w[18];
    s->progress.firmware_image_crc_last = w[19];
    s->progress.firmware_image_offset = w[20];
    s->progress.firmware_image_offset_last = w[21];
    s->enter_buttonless_dfu = w[22];
}

static void encode_header(const bl_settings_t *s, uint8_t *raw)
{
    const uint32_t w[23] = {
        s->crc,
        s->settings_version,
        s->app_version,
        s->bootloader_version,
        s->bank_layout,
        s->bank_current,
        s->bank_0.image_size,
        s->bank_0.image_crc,
        s->bank_0.bank_code,
        s->bank_1.image_size,
        s->bank_1.image_crc,
        s->bank_1.bank_code,
        s->write_offset,
        s->sd_size,
        s->progress.command_size,
        s->progress.command_offset,
        s->progress.command_crc,
        s->progress.data_object_size,
        s->progress.firmware_image_crc,
        s->progress.firmware_image_crc_last,
        s->progress.firmware_image_offset,
        s->progress.firmware_image_offset_last,
        s->enter_buttonless_dfu,
    };
    for (size_t i = 0; i < 23; i++) {
        put_le32(raw + 4 * i, w[i]);
    }
}

static void decode_bv(const uint8_t *p, bl_settings_bv_t *bv)
{
    bv->type = p[0];
    memcpy(bv->bytes, p + 1, BL_SETTINGS_BV_BYTES);
}

static void encode_bv(const bl_settings_bv_t *bv, uint8_t *p)
{
    p[0] = bv->type;
    memcpy(p + 1, bv->bytes, BL_SETTINGS_BV_BYTES);
}

void bl_settings_decode(const uint8_t raw[BL_SETTINGS_SIZE], bl_settings_t *out)
{
    decode_header(raw, out);
    memcpy(out->init_command, raw + BL_SETTINGS_OFF_INIT_CMD, BL_SETTINGS_INIT_CMD_MAX);
    out->boot_validation_crc = get_le32(raw + BL_SETTINGS_OFF_BV_CRC);
    decode_bv(raw + BL_SETTINGS_OFF_BV_SD, &out->boot_validation_softdevice);
    decode_bv(raw + BL_SETTINGS_OFF_BV_APP, &out->boot_validation_app);
    decode_bv(raw + BL_SETTINGS_OFF_BV_BL, &out->boot_validation_bootloader);
    memcpy(out->peer_data, raw + BL_SETTINGS_OFF_PEER_DATA, BL_SETTINGS_PEER_LEN);
    memcpy(out->adv_name, raw + BL_SETTINGS_OFF_ADV_NAME, BL_SETTINGS_ADV_NAME_LEN);
    out->pad_895 = raw[BL_SETTINGS_SIZE - 1];
}

void bl_settings_encode(const bl_settings_t *s, uint8_t raw[BL_SETTINGS_SIZE])
{
    encode_header(s, raw);
    memcpy(raw + BL_SETTINGS_OFF_INIT_CMD, s->init_command, BL_SETTINGS_INIT_CMD_MAX);
    put_le32(raw + BL_SETTINGS_OFF_BV_CRC, s->boot_validation_crc);
    encode_bv(&s->boot_validation_softdevice, raw + BL_SETTINGS_OFF_BV_SD);
    encode_bv(&s->boot_validation_app, raw + BL_SETTINGS_OFF_BV_APP);
    encode_bv(&s->boot_validation_bootloader, raw + BL_SETTINGS_OFF_BV_BL);
    memcpy(raw + BL_SETTINGS_OFF_PEER_DATA, s->peer_data, BL_SETTINGS_PEER_LEN);
    memcpy(raw + BL_SETTINGS_OFF_ADV_NAME, s->adv_name, BL_SETTINGS_ADV_NAME_LEN);
    raw[BL_SETTINGS_SIZE - 1] = s->pad_895;
}

void bl_settings_decode_v1(const uint8_t raw[BL_SETTINGS_V1_SIZE], bl_settings_t *out)
{
    memset(out, 0, sizeof(*out));
    decode_header(raw, out);
    memcpy(out->init_command, raw + BL_SETTINGS_OFF_INIT_CMD, BL_SETTINGS_INIT_CMD_V1);
    memcpy(out->peer_data, raw + BL_SETTINGS_OFF_PEER_DATA_V1, BL_SETTINGS_PEER_LEN);
    memcpy(out->adv_name, raw + BL_SETTINGS_OFF_ADV_NAME_V1, BL_SETTINGS_ADV_NAME_LEN);
}

void bl_settings_encode_v1(const bl_settings_t *s, uint8_t raw[BL_SETTINGS_V1_SIZE])
{
    encode_header(s, raw);
    memcpy(raw + BL_SETTINGS_OFF_INIT_CMD, s->init_command, BL_SETTINGS_INIT_CMD_V1);
    memcpy(raw + BL_SETTINGS_OFF_PEER_DATA_V1, s->peer_data, BL_SETTINGS_PEER_LEN);
    memcpy(raw + BL_SETTINGS_OFF_ADV_NAME_V1, s->adv_name, BL_SETTINGS_ADV_NAME_LEN);
}

/// CRCs and validity ///

uint32_t bl_settings_crc_compute(const uint8_t raw[BL_SETTINGS_SIZE])
{
    return crc32_of(raw + BL_SETTINGS_OFF_VERSION,
                    BL_SETTINGS_OFF_INIT_CMD - BL_SETTINGS_OFF_VERSION);
}

uint32_t bl_settings_bv_crc_compute(const uint8_t raw[BL_SETTINGS_SIZE])
{
    return crc32_of(raw + BL_SETTINGS_OFF_BV_SD, BL_SETTINGS_OFF_BV_END - BL_SETTINGS_OFF_BV_SD);
}

void bl_settings_update_crcs(uint8_t raw[BL_SETTINGS_SIZE])
{
    put_le32(raw + BL_SETTINGS_OFF_CRC, bl_settings_crc_compute(raw));
    put_le32(raw + BL_SETTINGS_OFF_BV_CRC, bl_settings_bv_crc_compute(raw));
}

bool bl_settings_main_valid(const uint8_t raw[BL_SETTINGS_SIZE])
{
    uint32_t crc = get_le32(raw + BL_SETTINGS_OFF_CRC);
    /* 0xFFFFFFFF is "erased/never computed", rejected even if it happened to match. */
    return crc != 0xFFFFFFFFu && crc == bl_settings_crc_compute(raw);
}

bool bl_settings_backup_valid(const uint8_t raw[BL_SETTINGS_SIZE])
{
    /* A v1 page has no boot-validation area, so its bv CRC cannot be required. */
    return bl_settings_main_valid(raw) &&
           (get_le32(raw + BL_SETTINGS_OFF_VERSION) == 1 ||
            get_le32(raw + BL_SETTINGS_OFF_BV_CRC) == bl_settings_bv_crc_compute(raw));
}

/// Forbidden ranges ///

typedef struct range {
    uint16_t from, to; /* [from, to) */
} range_t;

/* §2.6, as [offsetof(A), offsetof(B)) pairs of the SDK's REGION_COPY_BY_MEMBER. */
static const range_t forbidden_a[] = {
    {BL_SETTINGS_OFF_VERSION, BL_SETTINGS_OFF_BANK_CURRENT},
    {BL_SETTINGS_OFF_BANK_0, BL_SETTINGS_OFF_WRITE_OFFSET},
    {BL_SETTINGS_OFF_SD_SIZE, BL_SETTINGS_OFF_PROGRESS},
    {BL_SETTINGS_OFF_BV_CRC, BL_SETTINGS_OFF_PEER_DATA},
};
static const range_t forbidden_b[] = {
    {BL_SETTINGS_OFF_VERSION, BL_SETTINGS_OFF_ENTER_BTNLESS},
    {BL_SETTINGS_OFF_INIT_CMD, BL_SETTINGS_OFF_PEER_DATA},
};

void bl_settings_forbidden_copy(uint8_t dst[BL_SETTINGS_SIZE],
                                const uint8_t backup[BL_SETTINGS_SIZE], bl_settings_mode_t mode)
{
    const range_t *r = mode == BL_SETTINGS_MODE_A ? forbidden_a : forbidden_b;
    size_t n = mode == BL_SETTINGS_MODE_A ? sizeof(forbidden_a) / sizeof(forbidden_a[0])
                                          : sizeof(forbidden_b) / sizeof(forbidden_b[0]);
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + r[i].from, backup + r[i].from, (size_t)(r[i].to - r[i].from));
    }
}

bool bl_settings_forbidden_equal(const uint8_t ram[BL_SETTINGS_SIZE],
                                 const uint8_t backup[BL_SETTINGS_SIZE], bl_settings_mode_t mode)
{
    /* Same two steps as settings_forbidden_parts_equal_to_backup(), on purpose. */
    uint8_t tmp[BL_SETTINGS_SIZE];
    memcpy(tmp, ram, sizeof(tmp));
    bl_settings_forbidden_copy(tmp, backup, mode);
    return memcmp(tmp, ram, sizeof(tmp)) == 0;
}

/// Boot-time load ///

bool bl_settings_upgrade_v1(uint8_t raw[BL_SETTINGS_SIZE])
{
    if (get_le32(raw + BL_SETTINGS_OFF_VERSION) != 1) {
        return false;
    }
    memcpy(raw + BL_SETTINGS_OFF_PEER_DATA, raw + BL_SETTINGS_OFF_PEER_DATA_V1,
           BL_SETTINGS_PEER_LEN);
    memcpy(raw + BL_SETTINGS_OFF_ADV_NAME, raw + BL_SETTINGS_OFF_ADV_NAME_V1,
           BL_SETTINGS_ADV_NAME_LEN);
    raw[BL_SETTINGS_OFF_BV_SD] = BL_SETTINGS_BV_NONE;
    raw[BL_SETTINGS_OFF_BV_APP] = BL_SETTINGS_BV_CRC;
    /* bank_0.image_crc is already little-endian in flash: copy the 4 bytes. */
    memcpy(raw + BL_SETTINGS_OFF_BV_APP + 1, raw + BL_SETTINGS_OFF_BANK_0 + 4, 4);
    raw[BL_SETTINGS_OFF_BV_BL] = BL_SETTINGS_BV_NONE;
    put_le32(raw + BL_SETTINGS_OFF_VERSION, 2);
    return true;
}

bl_settings_source_t bl_settings_reinit(const uint8_t main_page[BL_SETTINGS_SIZE],
                                        const uint8_t backup_page[BL_SETTINGS_SIZE],
                                        bl_settings_mode_t mode, uint8_t ram[BL_SETTINGS_SIZE],
                                        bool *upgraded)
{
    bool main_ok = bl_settings_main_valid(main_page);
    bool backup_ok = bl_settings_backup_valid(backup_page);
    bl_settings_source_t src;
    if (main_ok) {
        memcpy(ram, main_page, BL_SETTINGS_SIZE);
        src = BL_SETTINGS_SRC_MAIN;
        if (backup_ok) {
            bl_settings_forbidden_copy(ram, backup_page, mode);
            src = BL_SETTINGS_SRC_MAIN_RESTORED;
        }
    } else if (backup_ok) {
        memcpy(ram, backup_page, BL_SETTINGS_SIZE);
        src = BL_SETTINGS_SRC_BACKUP;
    } else {
        memset(ram, 0, BL_SETTINGS_SIZE);
        put_le32(ram + BL_SETTINGS_OFF_VERSION, 2);
        src = BL_SETTINGS_SRC_DEFAULTS;
    }
    bool up = bl_settings_upgrade_v1(ram);
    if (upgraded != NULL) {
        *upgraded = up;
    }
    return src;
}

/// Boot validation and ECDSA ///

static bool sha256_of(const uint8_t *data, size_t len, uint8_t md[SHA256_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) == 1 && n == SHA256_LEN;
}

static void reverse_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[n - 1 - i];
    }
}

bl_settings_err_t bl_settings_bv_make(bl_settings_bv_type_t type, const uint8_t *data, size_t len,
                                      const uint8_t *signature, bl_settings_bv_t *out)
{
    if (out == NULL || (data == NULL && len != 0)) {
        return BL_SETTINGS_ERR_ARG;
    }
    memset(out, 0, sizeof(*out));
    out->type = (uint8_t)type;
    switch (type) {
    case BL_SETTINGS_BV_NONE:
        return BL_SETTINGS_OK;
    case BL_SETTINGS_BV_CRC:
        put_le32(out->bytes, crc32_of(data, len));
        return BL_SETTINGS_OK;
    case BL_SETTINGS_BV_SHA256:
        return sha256_of(data, len, out->bytes) ? BL_SETTINGS_OK : BL_SETTINGS_ERR_CRYPTO;
    case BL_SETTINGS_BV_ECDSA:
        if (signature == NULL) {
            return BL_SETTINGS_ERR_ARG;
        }
        memcpy(out->bytes, signature, BL_SETTINGS_BV_BYTES);
        return BL_SETTINGS_OK;
    }
    out->type = 0;
    return BL_SETTINGS_ERR_BV_TYPE;
}

/* Public key from nrfutil's reversed x || reversed y; NULL if not a P-256 point. */
static EVP_PKEY *pkey_from_le(const uint8_t pk_le[64])
{
    uint8_t point[65];
    char group[] = "prime256v1";
    point[0] = 0x04; /* SEC1 uncompressed */
    reverse_copy(point + 1, pk_le, 32);
    reverse_copy(point + 33, pk_le + 32, 32);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* DER ECDSA-Sig-Value from r || s each little-endian. Returns length, 0 on failure. */
static int sig_der_from_le(const uint8_t sig_le[64], unsigned char **der)
{
    uint8_t r_be[32], s_be[32];
    reverse_copy(r_be, sig_le, 32);
    reverse_copy(s_be, sig_le + 32, 32);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(r_be, 32, NULL);
    BIGNUM *s = BN_bin2bn(s_be, 32, NULL);
    int len = 0;
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* now owned by sig */
        len = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return len > 0 ? len : 0;
}

static bl_settings_err_t verify_der(EVP_PKEY *pkey, const unsigned char *der, size_t der_len,
                                    const uint8_t *data, size_t len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bl_settings_err_t err = BL_SETTINGS_ERR_CRYPTO;
    if (md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1) {
        /* 0 = bad signature; <0 = malformed (e.g. r or s out of range): also "does not verify". */
        err = EVP_DigestVerify(md, der, der_len, data, len) == 1 ? BL_SETTINGS_OK
                                                                 : BL_SETTINGS_ERR_SIGNATURE;
    }
    EVP_MD_CTX_free(md);
    return err;
}

bl_settings_err_t bl_settings_ecdsa_verify(const uint8_t pk_le[64], const uint8_t sig_le[64],
                                           const uint8_t *data, size_t len)
{
    if (pk_le == NULL || sig_le == NULL || (data == NULL && len != 0)) {
        return BL_SETTINGS_ERR_ARG;
    }
    static const uint8_t empty[1] = {0};
    EVP_PKEY *pkey = pkey_from_le(pk_le);
    unsigned char *der = NULL;
    int der_len = pkey ? sig_der_from_le(sig_le, &der) : 0;
    bl_settings_err_t err = BL_SETTINGS_ERR_CRYPTO;
    if (der_len > 0) {
        err = verify_der(pkey, der, (size_t)der_len, data ? data : empty, len);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
    ERR_clear_error(); /* leave no stale entries in this thread's OpenSSL error queue */
    return err;
}

bl_settings_err_t bl_settings_bv_check(const bl_settings_bv_t *bv, const uint8_t *data, size_t len,
                                       const uint8_t *pk_le)
{
    if (bv == NULL || (data == NULL && len != 0)) {
        return BL_SETTINGS_ERR_ARG;
    }
    if (bv->type == BL_SETTINGS_BV_ECDSA) {
        return pk_le ? bl_settings_ecdsa_verify(pk_le, bv->bytes, data, len) : BL_SETTINGS_ERR_ARG;
    }
    if (bv->type > BL_SETTINGS_BV_ECDSA) {
        return BL_SETTINGS_ERR_BV_TYPE;
    }
    bl_settings_bv_t want;
    bl_settings_err_t err =
        bl_settings_bv_make((bl_settings_bv_type_t)bv->type, data, len, NULL, &want);
    if (err != BL_SETTINGS_OK) {
        return err;
    }
    /* The bootloader compares only the digest bytes, not the zero tail. */
    size_t n = bv->type == BL_SETTINGS_BV_CRC ? 4 : bv->type == BL_SETTINGS_BV_SHA256 ? 32 : 0;
    return memcmp(want.bytes, bv->bytes, n) == 0 ? BL_SETTINGS_OK : BL_SETTINGS_ERR_MISMATCH;
}

/// Generator ///

/* Boot validation for one optional image; nrfutil writes NONE for an absent one. */
static bl_settings_err_t gen_bv(const uint8_t *img, size_t len, bl_settings_bv_type_t type,
                                const uint8_t *sig, uint8_t *dst)
{
    bl_settings_bv_t bv = {0};
    if (img != NULL) {
        bl_settings_err_t err = bl_settings_bv_make(type, img, len, sig, &bv);
        if (err != BL_SETTINGS_OK) {
            return err;
        }
    }
    encode_bv(&bv, dst);
    return BL_SETTINGS_OK;
}

static bl_settings_err_t gen_raw(const bl_settings_gen_t *in, uint8_t raw[BL_SETTINGS_SIZE])
{
    /* nrfutil zero-fills its struct first; bank_layout, bank_current, bank_1, progress stay 0. */
    memset(raw, 0, BL_SETTINGS_SIZE);
    put_le32(raw + BL_SETTINGS_OFF_VERSION, in->settings_version);
    put_le32(raw + BL_SETTINGS_OFF_APP_VERSION, in->app_version);
    put_le32(raw + BL_SETTINGS_OFF_BL_VERSION, in->bootloader_version);
    if (in->app != NULL) {
        put_le32(raw + BL_SETTINGS_OFF_BANK_0, (uint32_t)in->app_len);
        put_le32(raw + BL_SETTINGS_OFF_BANK_0 + 4, crc32_of(in->app, in->app_len));
        put_le32(raw + BL_SETTINGS_OFF_BANK_0 + 8, BL_SETTINGS_BANK_VALID_APP);
    }
    /* sd_size is written for v1 too: it is inside the common 92-byte header. */
    put_le32(raw + BL_SETTINGS_OFF_SD_SIZE, in->sd ? (uint32_t)in->sd_len : 0);
    if (in->settings_version == 2) {
        bl_settings_err_t err =
            gen_bv(in->sd, in->sd_len, in->sd_bv, in->sd_sig, raw + BL_SETTINGS_OFF_BV_SD);
        if (err == BL_SETTINGS_OK) {
            err =
                gen_bv(in->app, in->app_len, in->app_bv, in->app_sig, raw + BL_SETTINGS_OFF_BV_APP);
        }
        if (err != BL_SETTINGS_OK) {
            return err;
        }
    }
    if (in->settings_version == 2) {
        put_le32(raw + BL_SETTINGS_OFF_BV_CRC, bl_settings_bv_crc_compute(raw));
    }
    /* Last: the header CRC must see the final header words. */
    put_le32(raw + BL_SETTINGS_OFF_CRC, bl_settings_crc_compute(raw));
    return BL_SETTINGS_OK;
}

bl_settings_err_t bl_settings_generate(const bl_settings_gen_t *in, bl_settings_pages_t *out)
{
    if (in == NULL || out == NULL || (in->app == NULL && in->app_len != 0) ||
        (in->sd == NULL && in->sd_len != 0) || in->app_len > UINT32_MAX ||
        in->sd_len > UINT32_MAX ||
        (in->family != BL_SETTINGS_FAMILY_NRF52 && in->family != BL_SETTINGS_FAMILY_NRF52840)) {
        return BL_SETTINGS_ERR_ARG;
    }
    if (in->settings_version != 1 && in->settings_version != 2) {
        return BL_SETTINGS_ERR_VERSION;
    }
    uint8_t raw[BL_SETTINGS_SIZE];
    bl_settings_err_t err = gen_raw(in, raw);
    if (err != BL_SETTINGS_OK) {
        return err;
    }
    /*
     * nrfutil's .hex holds bytes 0..802 (v2; byte 803 is an explicit 0xFF) or
     * 0..91 (v1). The rest of the page is never programmed, i.e. stays 0xFF.
     */
    size_t zeroed = in->settings_version == 2 ? BL_SETTINGS_OFF_BV_END : BL_SETTINGS_NRFUTIL_LEN_V1;
    out->settings_addr = bl_settings_addr(in->family);
    out->backup_addr = bl_settings_backup_addr(in->family);
    out->written =
        in->settings_version == 2 ? BL_SETTINGS_NRFUTIL_LEN_V2 : BL_SETTINGS_NRFUTIL_LEN_V1;
    out->has_backup = !in->no_backup;
    memset(out->settings, 0xFF, sizeof(out->settings));
    memcpy(out->settings, raw, zeroed);
    memset(out->backup, 0xFF, sizeof(out->backup));
    if (out->has_backup) {
        memcpy(out->backup, out->settings, sizeof(out->backup));
    }
    return BL_SETTINGS_OK;
}

/// Display ///

typedef struct field_def {
    const char *key;
    const char *label;
    bool nrfutil;
    bl_settings_fmt_t fmt;
    size_t off;  /* offsetof in bl_settings_t */
    size_t size; /* 4 = uint32_t, 1 = uint8_t */
} field_def_t;

#define F32(k, l, n, f, m)                                                                         \
    {                                                                                              \
        k, l, n, f, offsetof(bl_settings_t, m), 4                                                  \
    }
#define F8(k, l, n, f, m)                                                                          \
    {                                                                                              \
        k, l, n, f, offsetof(bl_settings_t, m), 1                                                  \
    }

/* nrfutil 6.1.7 `settings display` order first, then what it does not print. */
static const field_def_t fields[] = {
    F32("crc", "CRC", true, BL_SETTINGS_FMT_HEX, crc),
    F32("settings_version", "Settings Version", true, BL_SETTINGS_FMT_HEX_DEC, settings_version),
    F32("app_version", "App Version", true, BL_SETTINGS_FMT_HEX_DEC, app_version),
    F32("bootloader_version", "Bootloader Version", true, BL_SETTINGS_FMT_HEX_DEC,
        bootloader_version),
    F32("bank_layout", "Bank Layout", true, BL_SETTINGS_FMT_HEX, bank_layout),
    F32("bank_current", "Current Bank", true, BL_SETTINGS_FMT_HEX, bank_current),
    F32("bank_0_image_size", "Application Size", true, BL_SETTINGS_FMT_HEX_BYTES,
        bank_0.image_size),
    F32("bank_0_image_crc", "Application CRC", true, BL_SETTINGS_FMT_HEX, bank_0.image_crc),
    F32("bank_0_bank_code", "Bank0 Bank Code", true, BL_SETTINGS_FMT_HEX, bank_0.bank_code),
    F32("sd_size", "Softdevice Size", true, BL_SETTINGS_FMT_HEX_BYTES, sd_size),
    F32("boot_validation_crc", "Boot Validation CRC", true, BL_SETTINGS_FMT_HEX,
        boot_validation_crc),
    F8("sd_boot_validation_type", "SD Boot Validation Type", true, BL_SETTINGS_FMT_HEX_DEC,
       boot_validation_softdevice.type),
    F8("app_boot_validation_type", "App Boot Validation Type", true, BL_SETTINGS_FMT_HEX_DEC,
       boot_validation_app.type),
    F8("bl_boot_validation_type", "BL Boot Validation Type", false, BL_SETTINGS_FMT_HEX_DEC,
       boot_validation_bootloader.type),
    F32("bank_1_image_size", "Bank1 Size", false, BL_SETTINGS_FMT_HEX_BYTES, bank_1.image_size),
    F32("bank_1_image_crc", "Bank1 CRC", false, BL_SETTINGS_FMT_HEX, bank_1.image_crc),
    F32("bank_1_bank_code", "Bank1 Bank Code", false, BL_SETTINGS_FMT_HEX, bank_1.bank_code),
    F32("write_offset", "Write Offset", false, BL_SETTINGS_FMT_HEX_DEC, write_offset),
    F32("command_size", "Command Size", false, BL_SETTINGS_FMT_HEX_BYTES, progress.command_size),
    F32("command_offset", "Command Offset", false, BL_SETTINGS_FMT_HEX_DEC,
        progress.command_offset),
    F32("command_crc", "Command CRC", false, BL_SETTINGS_FMT_HEX, progress.command_crc),
    F32("data_object_size", "Data Object Size", false, BL_SETTINGS_FMT_HEX_BYTES,
        progress.data_object_size),
    /* union: running image CRC during transfer, bank-1 address after post-validation */
    F32("firmware_image_crc", "Image CRC / Start Addr", false, BL_SETTINGS_FMT_HEX,
        progress.firmware_image_crc),
    F32("firmware_image_crc_last", "Image CRC Last", false, BL_SETTINGS_FMT_HEX,
        progress.firmware_image_crc_last),
    F32("firmware_image_offset", "Image Offset", false, BL_SETTINGS_FMT_HEX_DEC,
        progress.firmware_image_offset),
    F32("firmware_image_offset_last", "Image Offset Last", false, BL_SETTINGS_FMT_HEX_DEC,
        progress.firmware_image_offset_last),
    F32("enter_buttonless_dfu", "Enter Buttonless DFU", false, BL_SETTINGS_FMT_HEX,
        enter_buttonless_dfu),
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

size_t bl_settings_field_count(void)
{
    return N_FIELDS;
}

bool bl_settings_field(const bl_settings_t *s, size_t i, bl_settings_field_t *out)
{
    if (s == NULL || out == NULL || i >= N_FIELDS) {
        return false;
    }
    const field_def_t *f = &fields[i];
    const unsigned char *p = (const unsigned char *)s + f->off;
    uint32_t v = 0;
    if (f->size == 4) {
        memcpy(&v, p, sizeof(v)); /* host order: it is a struct member, not flash */
    } else {
        v = *p;
    }
    *out = (bl_settings_field_t){f->key, f->label, f->nrfutil, f->fmt, v};
    return true;
}

typedef struct outbuf {
    char *buf;
    size_t cap;
    size_t len; /* length the full text needs so far */
} outbuf_t;

__attribute__((format(printf, 2, 3))) static void out_printf(outbuf_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) {
        o->len += (size_t)n;
    }
}

/* "* Label:<pad to 25> " as nrfutil aligns values in column 28. */
static void out_label(outbuf_t *o, const char *label)
{
    char with_colon[64];
    snprintf(with_colon, sizeof(with_colon), "%s:", label);
    out_printf(o, "* %-25s ", with_colon);
}

static void out_field(outbuf_t *o, const bl_settings_field_t *f)
{
    out_label(o, f->label);
    switch (f->fmt) {
    case BL_SETTINGS_FMT_HEX:
        out_printf(o, "0x%08" PRIX32 "\n", f->value);
        break;
    case BL_SETTINGS_FMT_HEX_DEC:
        out_printf(o, "0x%08" PRIX32 " (%" PRIu32 ")\n", f->value, f->value);
        break;
    case BL_SETTINGS_FMT_HEX_BYTES:
        out_printf(o, "0x%08" PRIX32 " (%" PRIu32 " bytes)\n", f->value, f->value);
        break;
    }
}

static void out_bytes(outbuf_t *o, const char *label, const uint8_t *p, size_t n)
{
    out_label(o, label);
    for (size_t i = 0; i < n; i++) {
        out_printf(o, "%02X", p[i]);
    }
    out_printf(o, "%s\n", n ? "" : "(none)");
}

static void out_extra_bytes(outbuf_t *o, const bl_settings_t *s)
{
    size_t cmd = s->progress.command_size;
    out_bytes(o, "SD BV Bytes", s->boot_validation_softdevice.bytes, BL_SETTINGS_BV_BYTES);
    out_bytes(o, "App BV Bytes", s->boot_validation_app.bytes, BL_SETTINGS_BV_BYTES);
    out_bytes(o, "BL BV Bytes", s->boot_validation_bootloader.bytes, BL_SETTINGS_BV_BYTES);
    /* command_size comes from flash: clamp so a corrupt page cannot over-read. */
    out_bytes(o, "Init Command", s->init_command,
              cmd < BL_SETTINGS_INIT_CMD_MAX ? cmd : BL_SETTINGS_INIT_CMD_MAX);
    out_bytes(o, "Peer Data", s->peer_data, BL_SETTINGS_PEER_LEN);
    out_bytes(o, "Adv Name", s->adv_name, BL_SETTINGS_ADV_NAME_LEN);
}

size_t bl_settings_format(const bl_settings_t *s, const bl_settings_display_t *d, char *buf,
                          size_t cap)
{
    outbuf_t o = {buf, buf ? cap : 0, 0};
    if (o.cap > 0) {
        buf[0] = '\0';
    }
    if (s == NULL || d == NULL) {
        return 0;
    }
    out_printf(&o, "\nBootloader DFU Settings:\n");
    out_label(&o, "File");
    out_printf(&o, "%s\n", d->file ? d->file : "");
    out_label(&o, "Family");
    out_printf(&o, "%s\n", bl_settings_family_name(d->family));
    out_label(&o, "Start Address");
    out_printf(&o, "0x%08" PRIX32 "\n", d->start_addr);
    bl_settings_field_t f;
    for (size_t i = 0; bl_settings_field(s, i, &f); i++) {
        if (f.nrfutil || d->extras) {
            out_field(&o, &f);
        }
    }
    if (d->extras) {
        out_extra_bytes(&o, s);
    }
    return o.len;
}

/// Errors ///

const char *bl_settings_strerror(bl_settings_err_t err)
{
    switch (err) {
    case BL_SETTINGS_OK:
        return "success";
    case BL_SETTINGS_ERR_ARG:
        return "invalid argument";
    case BL_SETTINGS_ERR_VERSION:
        return "unsupported settings version (1 or 2)";
    case BL_SETTINGS_ERR_BV_TYPE:
        return "unknown boot validation type";
    case BL_SETTINGS_ERR_MISMATCH:
        return "boot validation mismatch";
    case BL_SETTINGS_ERR_SIGNATURE:
        return "ECDSA signature does not verify";
    case BL_SETTINGS_ERR_CRYPTO:
        return "crypto library error or invalid public key";
    }
    return "unknown bl_settings error";
}
