#include "proto/sig.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

/* Key files are a few hundred bytes; anything this large is not a key. */
#define KEY_FILE_MAX (64u * 1024u)

struct sig_key {
    EVP_PKEY *pkey;
};

void sig_reverse(uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = buf[i];
        buf[i] = buf[n - 1 - i];
        buf[n - 1 - i] = t;
    }
}

void sig_sha256(const void *data, size_t len, uint8_t out[SIG_SHA256_LEN])
{
    unsigned int n = SIG_SHA256_LEN;
    /* Only fails on allocation failure inside libcrypto; leave a defined value. */
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
        memset(out, 0, SIG_SHA256_LEN);
}

static sig_err_t wrap_pkey(EVP_PKEY *pkey, sig_key_t **out)
{
    char group[64] = "";
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        strcmp(group, "prime256v1") != 0) {
        EVP_PKEY_free(pkey);
        return SIG_ERR_CURVE;
    }
    sig_key_t *k = malloc(sizeof(*k));
    if (!k) {
        EVP_PKEY_free(pkey);
        return SIG_ERR_CRYPTO;
    }
    k->pkey = pkey;
    *out = k;
    return SIG_OK;
}

sig_err_t sig_key_from_raw_le(const uint8_t raw[SIG_RAW_LEN], sig_key_t **out)
{
    *out = NULL;
    uint8_t point[1 + SIG_RAW_LEN];
    point[0] = 0x04; /* uncompressed SEC1 point */
    memcpy(point + 1, raw, SIG_RAW_LEN);
    sig_reverse(point + 1, 32);
    sig_reverse(point + 33, 32);

    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return SIG_ERR_FORMAT; /* not a point on the curve */
    }
    return wrap_pkey(pkey, out);
}

static EVP_PKEY *pem_key(const char *text, size_t len)
{
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    if (!bio)
        return NULL;
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (!pkey) {
        /* PEM readers skip leading prose, e.g. nrfutil's warning header. */
        (void)BIO_reset(bio);
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    return pkey;
}

/* Parses `count` bytes written as hex, either "0x12, 0x34" (C) or "1234" (plain). */
static bool parse_hex_bytes(const char *s, uint8_t *out, size_t count, bool c_style)
{
    size_t n = 0;
    while (*s && n < count) {
        if (c_style) {
            const char *x = strstr(s, "0x");
            if (!x)
                return false;
            s = x + 2;
        } else if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return false;
        char pair[3] = {s[0], s[1], 0};
        out[n++] = (uint8_t)strtoul(pair, NULL, 16);
        s += 2;
    }
    if (n != count)
        return false;
    if (c_style) { /* the array must close right after its 64th byte */
        const char *end = strchr(s, '}');
        const char *more = strstr(s, "0x");
        return end && (!more || more > end);
    }
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

static sig_err_t raw_key_text(const char *text, sig_key_t **out)
{
    uint8_t raw[SIG_RAW_LEN];
    const char *pk = strstr(text, "pk[64]");
    bool ok;
    if (pk) {
        const char *brace = strchr(pk, '{');
        ok = brace && parse_hex_bytes(brace, raw, sizeof(raw), true);
    } else {
        /* nrfutil --format hex starts with a "Public (verification) key pk:" label. */
        const char *colon = strrchr(text, ':');
        ok = parse_hex_bytes(colon ? colon + 1 : text, raw, sizeof(raw), false);
    }
    return ok ? sig_key_from_raw_le(raw, out) : SIG_ERR_FORMAT;
}

static sig_err_t read_text(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return SIG_ERR_IO;
    char *buf = malloc(KEY_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, KEY_FILE_MAX + 1, f) : 0;
    int err = ferror(f), saved = errno;
    fclose(f);
    if (!buf || err) {
        free(buf);
        errno = saved; /* the caller's message says why (sig.h) */
        return buf ? SIG_ERR_IO : SIG_ERR_CRYPTO;
    }
    if (n > KEY_FILE_MAX || memchr(buf, '\0', n)) {
        free(buf);
        return SIG_ERR_FORMAT;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return SIG_OK;
}

sig_err_t sig_key_load(const char *path, sig_key_t **out)
{
    *out = NULL;
    char *text;
    size_t len;
    sig_err_t e = read_text(path, &text, &len);
    if (e)
        return e;
    EVP_PKEY *pkey = strstr(text, "-----BEGIN") ? pem_key(text, len) : NULL;
    if (pkey)
        e = wrap_pkey(pkey, out);
    else if (strstr(text, "-----BEGIN"))
        e = SIG_ERR_FORMAT;
    else
        e = raw_key_text(text, out);
    free(text);
    return e;
}

void sig_key_raw_le(const sig_key_t *key, uint8_t raw[SIG_RAW_LEN])
{
    BIGNUM *x = NULL, *y = NULL;
    memset(raw, 0, SIG_RAW_LEN);
    if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
        BN_bn2binpad(x, raw, 32) == 32 && BN_bn2binpad(y, raw + 32, 32) == 32) {
        sig_reverse(raw, 32);
        sig_reverse(raw + 32, 32);
    }
    BN_free(x);
    BN_free(y);
}

void sig_key_free(sig_key_t *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* DER-encodes (r, s) from nrfutil's reversed halves, as EVP_DigestVerify wants. */
static int sig_to_der(const uint8_t *sig, unsigned char **der)
{
    uint8_t half[32];
    ECDSA_SIG *es = ECDSA_SIG_new();
    memcpy(half, sig, 32);
    sig_reverse(half, 32);
    BIGNUM *r = BN_bin2bn(half, 32, NULL);
    memcpy(half, sig + 32, 32);
    sig_reverse(half, 32);
    BIGNUM *s = BN_bin2bn(half, 32, NULL);
    int len = -1;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* now owned by es */
        *der = NULL;
        len = i2d_ECDSA_SIG(es, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return len;
}

sig_err_t sig_verify_le(const sig_key_t *key, const void *msg, size_t msg_len, const uint8_t *sig,
                        size_t sig_len)
{
    if (sig_len != SIG_RAW_LEN)
        return SIG_ERR_SIG_LEN;
    unsigned char *der = NULL;
    int der_len = sig_to_der(sig, &der);
    if (der_len <= 0)
        return SIG_ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1)
        rc = EVP_DigestVerify(ctx, der, (size_t)der_len, msg, msg_len);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    /* rc < 0 covers r or s out of range: still just a signature that fails. */
    return rc == 1 ? SIG_OK : SIG_ERR_BAD_SIG;
}

const char *sig_strerror(sig_err_t err)
{
    switch (err) {
    case SIG_OK:
        return "ok";
    case SIG_ERR_IO:
        return "cannot read key file";
    case SIG_ERR_FORMAT:
        return "not a PEM key, nrfutil public_key.c or 128-digit hex key";
    case SIG_ERR_CURVE:
        return "key is not an ECDSA P-256 (prime256v1) key";
    case SIG_ERR_BAD_SIG:
        return "signature does not verify";
    case SIG_ERR_SIG_LEN:
        return "signature is not 64 bytes";
    case SIG_ERR_CRYPTO:
        return "libcrypto failure";
    }
    return "unknown signature error";
}
