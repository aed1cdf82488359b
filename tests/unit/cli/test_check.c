/*
 * Unit tests of cli/check: every check item on genuine nrfutil packages (with
 * the signing key, without a key, with another key) and on packages
 * fabricated here from genuine members with init packets re-encoded by
 * protobuf-c and re-signed with keys/private.pem through OpenSSL directly.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <zlib.h>

#include "cli/check.h"
#include "dfu-cc.pb-c.h"
#include "zipfab.h"

#define NRFUTIL DFUART_FIXTURES "/nrfutil/"
#define SD_SIZE 151552u
#define BL_SIZE 468u

typedef struct {
    char *dir;
    sig_key_t *key, *other;
    EVP_PKEY *sk;
    uint8_t *app; /* images/app_s132.bin */
    size_t app_len;
    zipfab_set_t sd_bl; /* sd_bl_signed.zip */
    const uint8_t *sdbl_bin;
    size_t sdbl_len;
} fx_t;

static fx_t *g;

static int setup(void **state)
{
    (void)state;
    g = calloc(1, sizeof(*g));
    if (!g || !(g->dir = zipfab_mkdtemp()))
        return -1;
    if (sig_key_load(NRFUTIL "keys/public.pem", &g->key) != SIG_OK ||
        sig_key_load(NRFUTIL "keys/other_public.pem", &g->other) != SIG_OK)
        return -1;
    FILE *fp = fopen(NRFUTIL "keys/private.pem", "r");
    if (!fp)
        return -1;
    g->sk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    g->app = zipfab_read_file(NRFUTIL "images/app_s132.bin", &g->app_len);
    if (!g->sk || !g->app || zipfab_load(NRFUTIL "packages/sd_bl_signed.zip", &g->sd_bl) != 0)
        return -1;
    const zipfab_member_t *m = zipfab_find(&g->sd_bl, "sd_bl.bin");
    if (!m)
        return -1;
    g->sdbl_bin = m->data;
    g->sdbl_len = m->len;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sig_key_free(g->key);
    sig_key_free(g->other);
    EVP_PKEY_free(g->sk);
    free(g->app);
    zipfab_free(&g->sd_bl);
    zipfab_rmdir(g->dir);
    free(g);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void rev(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}

/* nrfutil-order ECDSA signature (reversed r || reversed s), by OpenSSL. */
static void sign_le(const void *msg, size_t len, uint8_t out[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    unsigned char der[128];
    size_t dl = sizeof(der);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, g->sk), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &dl, msg, len), 1);
    EVP_MD_CTX_free(ctx);
    const unsigned char *q = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)dl);
    assert_non_null(es);
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    assert_int_equal(BN_bn2binpad(r, out, 32), 32);
    assert_int_equal(BN_bn2binpad(s, out + 32, 32), 32);
    ECDSA_SIG_free(es);
    rev(out, 32);
    rev(out + 32, 32);
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
}

static uint32_t zcrc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* An InitCommand as nrfutil writes it, to be varied by the tests. */
typedef struct {
    Dfu__InitCommand ic;
    Dfu__Hash hash;
    uint8_t digest[32];
    uint32_t sd_req[1];
    Dfu__BootValidation bv[3];
    Dfu__BootValidation *bvp[3];
    uint8_t bv_bytes[3][64];
    int is_signed;
    uint32_t sig_type;
    size_t sig_len;
} fab_t;

static void fab_init(fab_t *f, uint32_t type, const uint8_t *bin, size_t len)
{
    memset(f, 0, sizeof(*f));
    dfu__init_command__init(&f->ic);
    dfu__hash__init(&f->hash);
    f->ic.has_fw_version = f->ic.has_hw_version = f->ic.has_type = 1;
    f->ic.fw_version = 1;
    f->ic.hw_version = 52;
    f->sd_req[0] = 0x0101;
    f->ic.n_sd_req = 1;
    f->ic.sd_req = f->sd_req;
    f->ic.type = (Dfu__FwType)type;
    f->ic.has_sd_size = f->ic.has_bl_size = f->ic.has_app_size = 1;
    if (type == INITPKT_FW_SOFTDEVICE_BOOTLOADER) {
        f->ic.sd_size = SD_SIZE;
        f->ic.bl_size = (uint32_t)len - SD_SIZE;
    } else {
        f->ic.app_size = (uint32_t)len;
    }
    sha256(bin, len, f->digest);
    rev(f->digest, 32);
    f->hash.hash_type = DFU__HASH_TYPE__SHA256;
    f->hash.hash.data = f->digest;
    f->hash.hash.len = 32;
    f->ic.hash = &f->hash;
    f->ic.has_is_debug = 1;
    for (size_t i = 0; i < 3; i++) {
        dfu__boot_validation__init(&f->bv[i]);
        f->bv[i].type = DFU__VALIDATION_TYPE__VALIDATE_GENERATED_CRC;
        f->bv[i].bytes.data = f->bv_bytes[i];
        f->bvp[i] = &f->bv[i];
    }
    f->ic.n_boot_validation = type == INITPKT_FW_SOFTDEVICE_BOOTLOADER ? 2 : 1;
    f->ic.boot_validation = f->bvp;
    f->is_signed = 1;
    f->sig_type = INITPKT_SIG_ECDSA_P256_SHA256;
    f->sig_len = 64;
}

/* Serializes the Packet, signing the InitCommand bytes with keys/private.pem. */
static size_t fab_dat(fab_t *f, uint8_t *out, size_t cap)
{
    uint8_t init[512], sig[64];
    size_t il = dfu__init_command__get_packed_size(&f->ic);
    assert_true(il <= sizeof(init));
    dfu__init_command__pack(&f->ic, init);
    sign_le(init, il, sig);
    Dfu__Command cmd = DFU__COMMAND__INIT;
    cmd.has_op_code = 1;
    cmd.op_code = DFU__OP_CODE__INIT;
    cmd.init = &f->ic;
    Dfu__SignedCommand sc = DFU__SIGNED_COMMAND__INIT;
    sc.command = &cmd;
    sc.signature_type = (Dfu__SignatureType)f->sig_type;
    sc.signature.data = sig;
    sc.signature.len = f->sig_len;
    Dfu__Packet pkt = DFU__PACKET__INIT;
    if (f->is_signed)
        pkt.signed_command = &sc;
    else
        pkt.command = &cmd;
    size_t n = dfu__packet__get_packed_size(&pkt);
    assert_true(n <= cap);
    assert_int_equal(dfu__packet__pack(&pkt, out), n);
    return n;
}

static pkg_t *open_ok(const char *path)
{
    pkg_t *p = NULL;
    pkg_diag_t d;
    pkg_err_t e = pkg_open(path, &p, &d);
    if (e != PKG_OK)
        fail_msg("%s: %d: %s", path, e, d.msg);
    return p;
}

/* One-image package: `manifest_key` -> app.bin / app.dat. */
static pkg_t *fab_pkg(const char *manifest_key, const uint8_t *bin, size_t len, fab_t *f)
{
    uint8_t dat[512];
    size_t dl = fab_dat(f, dat, sizeof(dat));
    char manifest[300];
    snprintf(manifest, sizeof(manifest),
             "{\"manifest\": {\"%s\": {\"bin_file\": \"app.bin\", \"dat_file\": \"app.dat\"%s}}}",
             manifest_key,
             strcmp(manifest_key, "softdevice_bootloader") == 0
                 ? ", \"info_read_only_metadata\": {\"sd_size\": 151552, \"bl_size\": 468}"
                 : "");
    zipfab_set_t s = {0};
    zipfab_put_str(&s, "manifest.json", manifest);
    zipfab_put(&s, "app.dat", dat, dl);
    zipfab_put(&s, "app.bin", bin, len);
    const char *path = zipfab_path(g->dir, "fab.zip");
    assert_int_equal(zipfab_save(&s, path), 0);
    zipfab_free(&s);
    return open_ok(path);
}

static const check_item_t *find_item(const check_report_t *r, size_t img, const char *name)
{
    assert_true(img < r->count);
    for (size_t i = 0; i < r->image[img].count; i++)
        if (strcmp(r->image[img].item[i].name, name) == 0)
            return &r->image[img].item[i];
    fail_msg("no check item '%s' in image %zu", name, img);
    return NULL;
}

static void expect_item(const check_report_t *r, size_t img, const char *name,
                        check_status_t status, check_class_t cls, const char *detail_part)
{
    const check_item_t *it = find_item(r, img, name);
    if (it->status != status || it->cls != cls)
        fail_msg("%s: %s/%s (%s), want %s/%s", name, check_status_name(it->status),
                 check_class_name(it->cls), it->detail, check_status_name(status),
                 check_class_name(cls));
    if (detail_part && !strstr(it->detail, detail_part))
        fail_msg("%s: detail '%s' lacks '%s'", name, it->detail, detail_part);
    assert_null(strchr(it->detail, '\n'));
}

/* Every item of image `img` passes or is skipped, except those named in `fails` (NULL-ended). */
static void expect_fails_only(const check_report_t *r, size_t img, const char *const *fails)
{
    for (size_t i = 0; i < r->image[img].count; i++) {
        const check_item_t *it = &r->image[img].item[i];
        int listed = 0;
        for (const char *const *f = fails; f && *f; f++)
            listed |= strcmp(*f, it->name) == 0;
        if (listed != (it->status == CHECK_FAIL))
            fail_msg("item %s is %s (%s)", it->name, check_status_name(it->status), it->detail);
    }
}

static void check_with(const pkg_t *p, const sig_key_t *key, check_report_t *r)
{
    memset(r, 0xA5, sizeof(*r));
    check_package(p, key, r);
    assert_int_equal(r->count, pkg_image_count(p));
    assert_int_equal(r->key_given, key != NULL);
}

/* ---- genuine packages --------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Expected status of one genuine image's items, from packages.json. */
static void check_genuine_image(const check_report_t *r, size_t img, const pkg_image_t *im,
                                const cJSON *ij, int which_key)
{
    const cJSON *init = cJSON_GetObjectItemCaseSensitive(ij, "init");
    const char *signer = jstr(init, "signature_verifies_with");
    const cJSON *bvs = cJSON_GetObjectItemCaseSensitive(init, "boot_validation");
    size_t nbv = (size_t)cJSON_GetArraySize(bvs);
    const check_image_t *ci = &r->image[img];

    assert_int_equal(ci->count, 3 + nbv + 1);
    static const char *const first[] = {"type", "size", "hash"};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(ci->item[i].name, first[i]);
        assert_int_equal(ci->item[i].status, CHECK_PASS);
    }
    assert_string_equal(ci->item[ci->count - 1].name, "signature");

    char hex[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", ci->bin_sha256[i]);
    assert_string_equal(hex, jstr(ij, "bin_sha256"));
    assert_int_equal(ci->bin_crc32, zcrc(im->bin, im->bin_len));

    const char *want_signer = which_key == 1   ? "keys/private.pem"
                              : which_key == 2 ? "keys/other_private.pem"
                                               : NULL;
    for (size_t i = 0; i < nbv; i++) {
        const cJSON *bv = cJSON_GetArrayItem(bvs, (int)i);
        char name[48];
        snprintf(name, sizeof(name), "boot_validation[%zu]", i);
        if (cJSON_GetObjectItemCaseSensitive(bv, "type_value")->valueint != 3) {
            expect_item(r, img, name, CHECK_PASS, CHECK_CLASS_INTEGRITY, NULL);
        } else if (!want_signer) {
            expect_item(r, img, name, CHECK_SKIP, CHECK_CLASS_INTEGRITY, "no --key");
        } else {
            int ok = strcmp(jstr(bv, "signature_verifies_with"), want_signer) == 0;
            expect_item(r, img, name, ok ? CHECK_PASS : CHECK_FAIL, CHECK_CLASS_INTEGRITY,
                        ok ? "verifies" : "does not verify");
        }
    }
    if (!want_signer)
        expect_item(r, img, "signature", CHECK_SKIP, CHECK_CLASS_SIGNATURE, NULL);
    else if (!signer)
        expect_item(r, img, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, "unsigned");
    else if (strcmp(signer, want_signer) == 0)
        expect_item(r, img, "signature", CHECK_PASS, CHECK_CLASS_SIGNATURE, NULL);
    else
        expect_item(r, img, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, "does not verify");
}

static void test_check_genuine_packages(void **state)
{
    (void)state;
    size_t len;
    uint8_t *text = zipfab_read_file(NRFUTIL "packages.json", &len);
    assert_non_null(text);
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    assert_non_null(root);
    const cJSON *pj;
    size_t passed_with_key = 0;
    cJSON_ArrayForEach(pj, cJSON_GetObjectItemCaseSensitive(root, "packages"))
    {
        char path[300];
        snprintf(path, sizeof(path), NRFUTIL "%s", jstr(pj, "file"));
        pkg_t *p = open_ok(path);
        const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(pj, "images");
        const sig_key_t *keys[3] = {NULL, g->key, g->other};
        static const char *const signer_of[3] = {NULL, "keys/private.pem",
                                                 "keys/other_private.pem"};
        for (int k = 0; k < 3; k++) {
            check_report_t r;
            check_with(p, keys[k], &r);
            int all_by_key = 1;
            for (size_t i = 0; i < r.count; i++) {
                const cJSON *ij = cJSON_GetArrayItem(imgs, (int)i);
                check_genuine_image(&r, i, pkg_image(p, i), ij, k);
                const char *signer =
                    jstr(cJSON_GetObjectItemCaseSensitive(ij, "init"), "signature_verifies_with");
                all_by_key &= k > 0 && signer && strcmp(signer, signer_of[k]) == 0;
            }
            const check_item_t *w = check_worst(&r, NULL);
            if (k == 0 || all_by_key) {
                if (w)
                    fail_msg("%s: %s fails: %s", path, w->name, w->detail);
                passed_with_key += k == 1;
            } else {
                /* Wrong signer or unsigned: the signature failure ranks first. */
                assert_non_null(w);
                assert_string_equal(w->name, "signature");
            }
        }
        pkg_close(p);
    }
    assert_true(passed_with_key >= 25);
    cJSON_Delete(root);
}

static void test_check_unsigned_with_key_fails_signature(void **state)
{
    (void)state;
    static const char *const files[] = {"app_unsigned.zip", "app_unsigned_bv_sha256.zip",
                                        "app_debug_unsigned.zip", "bl_unsigned.zip"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[300];
        snprintf(path, sizeof(path), NRFUTIL "packages/%s", files[i]);
        pkg_t *p = open_ok(path);
        check_report_t r;
        check_with(p, g->key, &r);
        expect_item(&r, 0, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, "unsigned");
        static const char *const fails[] = {"signature", NULL};
        expect_fails_only(&r, 0, fails);
        size_t idx = 99;
        const check_item_t *w = check_worst(&r, &idx);
        assert_non_null(w);
        assert_string_equal(w->name, "signature");
        assert_int_equal(idx, 0);
        check_with(p, NULL, &r);
        expect_item(&r, 0, "signature", CHECK_SKIP, CHECK_CLASS_SIGNATURE, "unsigned");
        assert_null(check_worst(&r, NULL));
        pkg_close(p);
    }
}

static void test_check_other_key_fails_signature(void **state)
{
    (void)state;
    pkg_t *p = open_ok(NRFUTIL "packages/app_signed.zip");
    check_report_t r;
    check_with(p, g->other, &r);
    expect_item(&r, 0, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, "does not verify");
    static const char *const fails[] = {"signature", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
    /* ... and the package signed with the other key passes with it. */
    p = open_ok(NRFUTIL "packages/app_signed_otherkey.zip");
    check_with(p, g->other, &r);
    expect_item(&r, 0, "signature", CHECK_PASS, CHECK_CLASS_SIGNATURE, NULL);
    check_with(p, g->key, &r);
    expect_item(&r, 0, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, NULL);
    pkg_close(p);
}

static void test_check_ecdsa_boot_validation_packages(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *region;
    } t[] = {
        {"app_signed_bv_ecdsa.zip", "app_s132.bin"},
        {"sd_signed_bv_ecdsa.zip", "the SoftDevice"},
        {"sd_bl_signed_bv_ecdsa.zip", "the SoftDevice part"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char path[300];
        snprintf(path, sizeof(path), NRFUTIL "packages/%s", t[i].file);
        pkg_t *p = open_ok(path);
        check_report_t r;
        check_with(p, g->key, &r);
        expect_item(&r, 0, "boot_validation[0]", CHECK_PASS, CHECK_CLASS_INTEGRITY, t[i].region);
        expect_fails_only(&r, 0, NULL);
        check_with(p, NULL, &r);
        expect_item(&r, 0, "boot_validation[0]", CHECK_SKIP, CHECK_CLASS_INTEGRITY, t[i].region);
        assert_null(check_worst(&r, NULL));
        check_with(p, g->other, &r);
        expect_item(&r, 0, "boot_validation[0]", CHECK_FAIL, CHECK_CLASS_INTEGRITY, t[i].region);
        pkg_close(p);
    }
    /* Resigned init packet, flipped boot-validation signature. */
    pkg_t *p = open_ok(NRFUTIL "packages/tampered/bv_ecdsa_sig_flip_resigned.zip");
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "boot_validation[0]", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "does not verify");
    expect_item(&r, 0, "signature", CHECK_PASS, CHECK_CLASS_SIGNATURE, NULL);
    pkg_close(p);
}

static void test_check_crc_boot_validation_detail(void **state)
{
    (void)state;
    pkg_t *p = open_ok(NRFUTIL "packages/app_signed.zip");
    check_report_t r;
    check_with(p, NULL, &r);
    /* 0xB2A87E96: app_s132.bin's CRC-32 (zip listing and settings fixtures). */
    expect_item(&r, 0, "boot_validation[0]", CHECK_PASS, CHECK_CLASS_INTEGRITY,
                "CRC-32 0xB2A87E96 of app_s132.bin");
    assert_int_equal(r.image[0].bin_crc32, 0xB2A87E96u);
    pkg_close(p);

    /* SD+BL: entry 0 over the SoftDevice part, entry 1 over the bootloader part. */
    p = open_ok(NRFUTIL "packages/sd_bl_signed.zip");
    check_with(p, NULL, &r);
    const pkg_image_t *im = pkg_image(p, 0);
    assert_int_equal(im->bin_len, SD_SIZE + BL_SIZE);
    char want[80];
    snprintf(want, sizeof(want), "CRC-32 0x%08X of the SoftDevice part", zcrc(im->bin, SD_SIZE));
    expect_item(&r, 0, "boot_validation[0]", CHECK_PASS, CHECK_CLASS_INTEGRITY, want);
    snprintf(want, sizeof(want), "CRC-32 0x%08X of the bootloader part",
             zcrc(im->bin + SD_SIZE, BL_SIZE));
    expect_item(&r, 0, "boot_validation[1]", CHECK_PASS, CHECK_CLASS_INTEGRITY, want);
    pkg_close(p);
}

static void test_check_tampered_packages(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *fail1, *fail2;
        check_class_t worst;
    } t[] = {
        {"bin_byte_flip.zip", "hash", NULL, CHECK_CLASS_INTEGRITY},
        {"bin_swapped_same_size.zip", "hash", NULL, CHECK_CLASS_INTEGRITY},
        {"bin_truncated.zip", "size", "hash", CHECK_CLASS_INTEGRITY},
        {"sig_byte_flip.zip", "signature", NULL, CHECK_CLASS_SIGNATURE},
        {"init_fw_version_changed.zip", "signature", NULL, CHECK_CLASS_SIGNATURE},
        {"signature_stripped.zip", "signature", NULL, CHECK_CLASS_SIGNATURE},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char path[300];
        snprintf(path, sizeof(path), NRFUTIL "packages/tampered/%s", t[i].file);
        pkg_t *p = open_ok(path);
        check_report_t r;
        check_with(p, g->key, &r);
        const char *fails[] = {t[i].fail1, t[i].fail2, NULL};
        expect_fails_only(&r, 0, fails);
        const check_item_t *w = check_worst(&r, NULL);
        assert_non_null(w);
        assert_string_equal(w->name, t[i].fail1);
        assert_int_equal(w->cls, t[i].worst);
        pkg_close(p);
    }
    pkg_t *p = open_ok(NRFUTIL "packages/tampered/bin_truncated.zip");
    check_report_t r;
    check_with(p, NULL, &r);
    expect_item(&r, 0, "size", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "50012");
    expect_item(&r, 0, "hash", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "does not match");
    pkg_close(p);
}

/* ---- fabricated packages ------------------------------------------------ */

static void test_check_fabricated_baseline_passes(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_fails_only(&r, 0, NULL);
    expect_item(&r, 0, "signature", CHECK_PASS, CHECK_CLASS_SIGNATURE, NULL);
    assert_null(check_worst(&r, NULL));
    pkg_close(p);
}

static void test_check_bin_changed(void **state)
{
    (void)state;
    zipfab_set_t s = {0};
    assert_int_equal(zipfab_load(NRFUTIL "packages/app_signed.zip", &s), 0);
    zipfab_member_t *bin = zipfab_find(&s, "app_s132.bin");
    bin->data[0] ^= 0x80;
    const char *path = zipfab_path(g->dir, "binchanged.zip");
    assert_int_equal(zipfab_save(&s, path), 0);
    zipfab_free(&s);
    pkg_t *p = open_ok(path);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "hash", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "app_s132.bin");
    static const char *const fails[] = {"hash", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
}

static void test_check_hash_sha512(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.hash.hash_type = DFU__HASH_TYPE__SHA512;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "hash", CHECK_FAIL, CHECK_CLASS_INVALID, "SHA512");
    static const char *const fails[] = {"hash", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
}

static void test_check_hash_len_31(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.hash.hash.len = 31;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, NULL, &r);
    expect_item(&r, 0, "hash", CHECK_FAIL, CHECK_CLASS_INVALID, "31 bytes");
    pkg_close(p);
}

static void test_check_hash_absent_or_unknown_type(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.ic.hash = NULL;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "hash", CHECK_FAIL, CHECK_CLASS_INVALID, "absent");
    pkg_close(p);
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.hash.hash_type = (Dfu__HashType)7;
    p = fab_pkg("application", g->app, g->app_len, &f);
    check_with(p, g->key, &r);
    expect_item(&r, 0, "hash", CHECK_FAIL, CHECK_CLASS_INVALID, "unknown");
    pkg_close(p);
}

static void test_check_signature_type_ed25519(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.sig_type = INITPKT_SIG_ED25519;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    /* The bootloader refuses the type whatever key it holds (spec 5.3 step 4b). */
    check_with(p, g->key, &r);
    expect_item(&r, 0, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, "ED25519");
    static const char *const fails[] = {"signature", NULL};
    expect_fails_only(&r, 0, fails);
    check_with(p, NULL, &r);
    expect_item(&r, 0, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, "ED25519");
    pkg_close(p);
}

static void test_check_signature_short(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.sig_len = 63;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE, "63 bytes");
    pkg_close(p);
}

static void test_check_boot_validation_type_7(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.bv[0].type = (Dfu__ValidationType)7;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "boot_validation[0]", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "type 7");
    static const char *const fails[] = {"boot_validation[0]", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
}

static void test_check_boot_validation_ecdsa_10_bytes(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.bv[0].type = DFU__VALIDATION_TYPE__VALIDATE_ECDSA_P256_SHA256;
    f.bv[0].bytes.len = 10;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "boot_validation[0]", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "10 bytes");
    check_with(p, NULL, &r);
    expect_item(&r, 0, "boot_validation[0]", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "10 bytes");
    pkg_close(p);
}

static void test_check_boot_validation_ecdsa_own_signature(void **state)
{
    (void)state;
    /* Valid over the image, then over the wrong bytes. */
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.bv[0].type = DFU__VALIDATION_TYPE__VALIDATE_ECDSA_P256_SHA256;
    f.bv[0].bytes.len = 64;
    sign_le(g->app, g->app_len, f.bv_bytes[0]);
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "boot_validation[0]", CHECK_PASS, CHECK_CLASS_INTEGRITY, "verifies");
    expect_fails_only(&r, 0, NULL);
    pkg_close(p);
    sign_le(g->app, g->app_len - 4, f.bv_bytes[0]);
    p = fab_pkg("application", g->app, g->app_len, &f);
    check_with(p, g->key, &r);
    expect_item(&r, 0, "boot_validation[0]", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "does not verify");
    pkg_close(p);
}

static void test_check_sd_bl_ecdsa_regions(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_SOFTDEVICE_BOOTLOADER, g->sdbl_bin, g->sdbl_len);
    for (size_t i = 0; i < 2; i++) {
        f.bv[i].type = DFU__VALIDATION_TYPE__VALIDATE_ECDSA_P256_SHA256;
        f.bv[i].bytes.len = 64;
    }
    sign_le(g->sdbl_bin, SD_SIZE, f.bv_bytes[0]);
    sign_le(g->sdbl_bin + SD_SIZE, BL_SIZE, f.bv_bytes[1]);
    pkg_t *p = fab_pkg("softdevice_bootloader", g->sdbl_bin, g->sdbl_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "boot_validation[0]", CHECK_PASS, CHECK_CLASS_INTEGRITY,
                "the SoftDevice part");
    expect_item(&r, 0, "boot_validation[1]", CHECK_PASS, CHECK_CLASS_INTEGRITY,
                "the bootloader part");
    expect_fails_only(&r, 0, NULL);
    pkg_close(p);
    /* Entry 0 signed over the whole image instead of the SoftDevice part. */
    sign_le(g->sdbl_bin, g->sdbl_len, f.bv_bytes[0]);
    p = fab_pkg("softdevice_bootloader", g->sdbl_bin, g->sdbl_len, &f);
    check_with(p, g->key, &r);
    static const char *const fails[] = {"boot_validation[0]", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
}

static void test_check_type_under_wrong_manifest_key(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    pkg_t *p = fab_pkg("softdevice", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "type", CHECK_FAIL, CHECK_CLASS_INVALID,
                "init.type APPLICATION under manifest key 'softdevice'");
    static const char *const fails[] = {"type", NULL};
    expect_fails_only(&r, 0, fails);
    size_t idx = 9;
    const check_item_t *w = check_worst(&r, &idx);
    assert_non_null(w);
    assert_string_equal(w->name, "type");
    assert_int_equal(idx, 0);
    pkg_close(p);

    fab_init(&f, INITPKT_FW_BOOTLOADER, g->app, g->app_len);
    f.ic.bl_size = (uint32_t)g->app_len;
    p = fab_pkg("application", g->app, g->app_len, &f);
    check_with(p, g->key, &r);
    expect_item(&r, 0, "type", CHECK_FAIL, CHECK_CLASS_INVALID, "BOOTLOADER");
    expect_item(&r, 0, "size", CHECK_PASS, CHECK_CLASS_INTEGRITY, NULL);
    pkg_close(p);
}

static void test_check_type_absent_or_unknown(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.ic.has_type = 0;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "type", CHECK_FAIL, CHECK_CLASS_INVALID, "absent");
    pkg_close(p);
    fab_init(&f, 9, g->app, g->app_len);
    p = fab_pkg("application", g->app, g->app_len, &f);
    check_with(p, g->key, &r);
    expect_item(&r, 0, "type", CHECK_FAIL, CHECK_CLASS_INVALID, "init.type 9");
    pkg_close(p);
}

static void test_check_app_without_app_size(void **state)
{
    (void)state;
    fab_t f;
    fab_init(&f, INITPKT_FW_APPLICATION, g->app, g->app_len);
    f.ic.has_app_size = 0;
    pkg_t *p = fab_pkg("application", g->app, g->app_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    /* README: a size failure is an integrity failure. */
    expect_item(&r, 0, "size", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "no image size");
    static const char *const fails[] = {"size", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
}

static void test_check_sd_bl_metadata_disagrees(void **state)
{
    (void)state;
    zipfab_put_str(&g->sd_bl, "manifest.json",
                   "{\"manifest\": {\"softdevice_bootloader\": {\"bin_file\": \"sd_bl.bin\", "
                   "\"dat_file\": \"sd_bl.dat\", \"info_read_only_metadata\": "
                   "{\"bl_size\": 468, \"sd_size\": 151548}}}}");
    const char *path = zipfab_path(g->dir, "meta.zip");
    assert_int_equal(zipfab_save(&g->sd_bl, path), 0);
    pkg_t *p = open_ok(path);
    check_report_t r;
    check_with(p, g->key, &r);
    expect_item(&r, 0, "metadata", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "151548");
    expect_item(&r, 0, "metadata", CHECK_FAIL, CHECK_CLASS_INTEGRITY, "151552");
    static const char *const fails[] = {"metadata", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
}

static void test_check_full_item_list_keeps_signature(void **state)
{
    (void)state;
    /* type, size, metadata, hash, 3 x boot_validation, signature = CHECK_ITEMS_MAX. */
    fab_t f;
    fab_init(&f, INITPKT_FW_SOFTDEVICE_BOOTLOADER, g->sdbl_bin, g->sdbl_len);
    f.ic.n_boot_validation = 3;
    f.ic.sd_size = SD_SIZE + 4;
    f.ic.bl_size = BL_SIZE - 4;
    pkg_t *p = fab_pkg("softdevice_bootloader", g->sdbl_bin, g->sdbl_len, &f);
    check_report_t r;
    check_with(p, g->key, &r);
    assert_int_equal(r.image[0].count, CHECK_ITEMS_MAX);
    assert_string_equal(r.image[0].item[CHECK_ITEMS_MAX - 1].name, "signature");
    expect_item(&r, 0, "signature", CHECK_PASS, CHECK_CLASS_SIGNATURE, NULL);
    expect_item(&r, 0, "boot_validation[2]", CHECK_PASS, CHECK_CLASS_INTEGRITY,
                "the bootloader part");
    static const char *const fails[] = {"metadata", NULL};
    expect_fails_only(&r, 0, fails);
    pkg_close(p);
}

/* ---- check_worst -------------------------------------------------------- */

static void put(check_report_t *r, size_t img, const char *name, check_status_t st,
                check_class_t cls)
{
    check_image_t *ci = &r->image[img];
    check_item_t *it = &ci->item[ci->count++];
    snprintf(it->name, sizeof(it->name), "%s", name);
    it->status = st;
    it->cls = cls;
    if (img >= r->count)
        r->count = img + 1;
}

static void test_check_worst_priority(void **state)
{
    (void)state;
    check_report_t r;
    memset(&r, 0, sizeof(r));
    size_t idx = 77;
    assert_null(check_worst(&r, &idx));
    assert_int_equal(idx, 77);

    put(&r, 0, "type", CHECK_PASS, CHECK_CLASS_INVALID);
    put(&r, 0, "size", CHECK_FAIL, CHECK_CLASS_INTEGRITY);
    put(&r, 0, "signature", CHECK_SKIP, CHECK_CLASS_SIGNATURE);
    put(&r, 1, "type", CHECK_SKIP, CHECK_CLASS_INVALID);
    put(&r, 1, "hash", CHECK_FAIL, CHECK_CLASS_INTEGRITY);
    const check_item_t *w = check_worst(&r, &idx);
    assert_ptr_equal(w, &r.image[0].item[1]); /* first integrity failure */
    assert_int_equal(idx, 0);

    put(&r, 1, "signature", CHECK_FAIL, CHECK_CLASS_SIGNATURE);
    w = check_worst(&r, &idx);
    assert_ptr_equal(w, &r.image[1].item[2]); /* signature > integrity */
    assert_int_equal(idx, 1);

    put(&r, 2, "hash", CHECK_FAIL, CHECK_CLASS_INVALID);
    w = check_worst(&r, NULL);
    assert_ptr_equal(w, &r.image[2].item[0]); /* invalid > signature */
    w = check_worst(&r, &idx);
    assert_int_equal(idx, 2);

    r.image[2].item[0].status = CHECK_PASS;
    r.image[1].item[2].status = CHECK_SKIP;
    assert_ptr_equal(check_worst(&r, &idx), &r.image[0].item[1]);
    r.image[0].item[1].status = CHECK_PASS;
    r.image[1].item[1].status = CHECK_PASS;
    assert_null(check_worst(&r, NULL));
}

static void test_check_worst_on_package(void **state)
{
    (void)state;
    /* An unsigned package with a changed image: signature outranks the hash. */
    zipfab_set_t s = {0};
    assert_int_equal(zipfab_load(NRFUTIL "packages/app_unsigned.zip", &s), 0);
    zipfab_find(&s, "app_s132.bin")->data[100] ^= 1;
    const char *path = zipfab_path(g->dir, "worst.zip");
    assert_int_equal(zipfab_save(&s, path), 0);
    zipfab_free(&s);
    pkg_t *p = open_ok(path);
    check_report_t r;
    check_with(p, g->key, &r);
    const check_item_t *w = check_worst(&r, NULL);
    assert_non_null(w);
    assert_string_equal(w->name, "signature");
    check_with(p, NULL, &r);
    w = check_worst(&r, NULL);
    assert_non_null(w);
    assert_string_equal(w->name, "hash");
    assert_int_equal(w->cls, CHECK_CLASS_INTEGRITY);
    pkg_close(p);
}

static void test_check_names(void **state)
{
    (void)state;
    assert_string_equal(check_status_name(CHECK_PASS), "pass");
    assert_string_equal(check_status_name(CHECK_SKIP), "skip");
    assert_string_equal(check_status_name(CHECK_FAIL), "fail");
    assert_string_equal(check_class_name(CHECK_CLASS_INVALID), "invalid");
    assert_string_equal(check_class_name(CHECK_CLASS_INTEGRITY), "integrity");
    assert_string_equal(check_class_name(CHECK_CLASS_SIGNATURE), "signature");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_genuine_packages),
        cmocka_unit_test(test_check_unsigned_with_key_fails_signature),
        cmocka_unit_test(test_check_other_key_fails_signature),
        cmocka_unit_test(test_check_ecdsa_boot_validation_packages),
        cmocka_unit_test(test_check_crc_boot_validation_detail),
        cmocka_unit_test(test_check_tampered_packages),
        cmocka_unit_test(test_check_fabricated_baseline_passes),
        cmocka_unit_test(test_check_bin_changed),
        cmocka_unit_test(test_check_hash_sha512),
        cmocka_unit_test(test_check_hash_len_31),
        cmocka_unit_test(test_check_hash_absent_or_unknown_type),
        cmocka_unit_test(test_check_signature_type_ed25519),
        cmocka_unit_test(test_check_signature_short),
        cmocka_unit_test(test_check_boot_validation_type_7),
        cmocka_unit_test(test_check_boot_validation_ecdsa_10_bytes),
        cmocka_unit_test(test_check_boot_validation_ecdsa_own_signature),
        cmocka_unit_test(test_check_sd_bl_ecdsa_regions),
        cmocka_unit_test(test_check_type_under_wrong_manifest_key),
        cmocka_unit_test(test_check_type_absent_or_unknown),
        cmocka_unit_test(test_check_app_without_app_size),
        cmocka_unit_test(test_check_sd_bl_metadata_disagrees),
        cmocka_unit_test(test_check_full_item_list_keeps_signature),
        cmocka_unit_test(test_check_worst_priority),
        cmocka_unit_test(test_check_worst_on_package),
        cmocka_unit_test(test_check_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
