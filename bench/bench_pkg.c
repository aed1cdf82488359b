/*
 * bench_pkg.c - a synthetic signed nrfutil application package (bench_pkg.h).
 */
#include "bench_pkg.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <zip.h>

#include "dfu-cc.pb-c.h"

#define INIT_MAX 512u

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static void reverse(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}

/* nrfutil's signature format: raw r || s (big-endian each), every half reversed. */
static int sign_nrfutil(const char *key_pem, const uint8_t *msg, size_t len, uint8_t sig[64],
                        char *err, size_t err_len)
{
    FILE *fp = fopen(key_pem, "r");
    if (!fp)
        return fail(err, err_len, "%s: cannot open", key_pem);
    EVP_PKEY *sk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    if (!sk)
        return fail(err, err_len, "%s: not a PEM private key", key_pem);
    int rc = -1;
    unsigned char der[128];
    size_t dl = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ECDSA_SIG *es = NULL;
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, sk) == 1 &&
        EVP_DigestSign(ctx, der, &dl, msg, len) == 1) {
        const unsigned char *q = der;
        es = d2i_ECDSA_SIG(NULL, &q, (long)dl);
    }
    if (es) {
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(es, &r, &s);
        if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32) {
            reverse(sig, 32);
            reverse(sig + 32, 32);
            rc = 0;
        }
    }
    if (rc != 0)
        fail(err, err_len, "%s: ECDSA signing failed", key_pem);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(sk);
    return rc;
}

/* The serialized dfu.Packet{signed_command} for `bin`; returns its length, 0 on failure. */
static size_t make_dat(const bench_pkg_spec_t *sp, const uint8_t *bin, uint8_t *out, size_t cap,
                       char *err, size_t err_len)
{
    uint8_t digest[32];
    unsigned int dn = sizeof(digest);
    if (EVP_Digest(bin, sp->bin_len, digest, &dn, EVP_sha256(), NULL) != 1 || dn != 32) {
        fail(err, err_len, "SHA-256 failed");
        return 0;
    }
    reverse(digest, sizeof(digest)); /* nrfutil stores the digest byte-reversed */

    Dfu__Hash hash = DFU__HASH__INIT;
    hash.hash_type = DFU__HASH_TYPE__SHA256;
    hash.hash.data = digest;
    hash.hash.len = sizeof(digest);
    Dfu__BootValidation bv = DFU__BOOT_VALIDATION__INIT;
    bv.type = DFU__VALIDATION_TYPE__VALIDATE_GENERATED_CRC;
    bv.bytes.data = NULL;
    bv.bytes.len = 0;
    Dfu__BootValidation *bvp[1] = {&bv};
    uint32_t sd_req[1] = {sp->sd_req};

    Dfu__InitCommand ic = DFU__INIT_COMMAND__INIT;
    ic.has_fw_version = ic.has_hw_version = ic.has_type = 1;
    ic.fw_version = sp->fw_version;
    ic.hw_version = sp->hw_version;
    ic.n_sd_req = 1;
    ic.sd_req = sd_req;
    ic.type = DFU__FW_TYPE__APPLICATION;
    ic.has_sd_size = ic.has_bl_size = ic.has_app_size = 1; /* zeros present, as nrfutil */
    ic.sd_size = 0;
    ic.bl_size = 0;
    ic.app_size = (uint32_t)sp->bin_len;
    ic.hash = &hash;
    ic.has_is_debug = 1;
    ic.is_debug = 0;
    ic.n_boot_validation = 1;
    ic.boot_validation = bvp;

    uint8_t init[INIT_MAX], sig[64];
    size_t il = dfu__init_command__get_packed_size(&ic);
    if (il > sizeof(init)) {
        fail(err, err_len, "InitCommand too large (%zu bytes)", il);
        return 0;
    }
    dfu__init_command__pack(&ic, init);
    if (sign_nrfutil(sp->key_pem, init, il, sig, err, err_len) != 0)
        return 0;

    Dfu__Command cmd = DFU__COMMAND__INIT;
    cmd.has_op_code = 1;
    cmd.op_code = DFU__OP_CODE__INIT;
    cmd.init = &ic;
    Dfu__SignedCommand sc = DFU__SIGNED_COMMAND__INIT;
    sc.command = &cmd;
    sc.signature_type = DFU__SIGNATURE_TYPE__ECDSA_P256_SHA256;
    sc.signature.data = sig;
    sc.signature.len = sizeof(sig);
    Dfu__Packet pkt = DFU__PACKET__INIT;
    pkt.signed_command = &sc;
    size_t n = dfu__packet__get_packed_size(&pkt);
    if (n > cap) {
        fail(err, err_len, "init packet too large (%zu bytes)", n);
        return 0;
    }
    return dfu__packet__pack(&pkt, out);
}

static bool add_member(zip_t *z, const char *name, const void *data, size_t len)
{
    zip_source_t *src = zip_source_buffer(z, data, len, 0);
    if (!src)
        return false;
    if (zip_file_add(z, name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
        zip_source_free(src);
        return false;
    }
    return true;
}

int bench_pkg_make(const bench_pkg_spec_t *sp, const char *zip_path, char *err, size_t err_len)
{
    if (!sp || sp->bin_len == 0 || sp->bin_len % 4u)
        return fail(err, err_len, "the .bin must be a non-empty multiple of 4 bytes");
    uint8_t *bin = malloc(sp->bin_len);
    if (!bin)
        return fail(err, err_len, "no memory for %zu bytes", sp->bin_len);
    uint64_t x = sp->seed ? sp->seed : 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sp->bin_len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        bin[i] = (uint8_t)(x >> 24);
    }
    uint8_t dat[INIT_MAX];
    size_t dat_len = make_dat(sp, bin, dat, sizeof(dat), err, err_len);
    if (dat_len == 0) {
        free(bin);
        return -1;
    }
    char bin_name[96], dat_name[96], manifest[512];
    snprintf(bin_name, sizeof(bin_name), "%s.bin", sp->base);
    snprintf(dat_name, sizeof(dat_name), "%s.dat", sp->base);
    snprintf(manifest, sizeof(manifest),
             "{\n    \"manifest\": {\n        \"application\": {\n"
             "            \"bin_file\": \"%s\",\n            \"dat_file\": \"%s\"\n"
             "        }\n    }\n}",
             bin_name, dat_name);

    int zerr = 0;
    zip_t *z = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) {
        free(bin);
        return fail(err, err_len, "%s: cannot create the zip (libzip error %d)", zip_path, zerr);
    }
    /* nrfutil's member order: .dat, .bin, manifest.json */
    bool ok = add_member(z, dat_name, dat, dat_len) && add_member(z, bin_name, bin, sp->bin_len) &&
              add_member(z, "manifest.json", manifest, strlen(manifest));
    if (!ok) {
        zip_discard(z);
        free(bin);
        return fail(err, err_len, "%s: cannot add members", zip_path);
    }
    /* zip_close() reads the buffers: free them only afterwards. */
    int rc = zip_close(z);
    if (rc != 0) {
        fail(err, err_len, "%s: %s", zip_path, zip_strerror(z));
        zip_discard(z);
    }
    free(bin);
    return rc == 0 ? 0 : -1;
}
