/*
 * Unit tests of proto/sig: loading keys in every format nrfutil writes, and
 * ECDSA P-256 verification in nrfutil's byte order (spec 4.4).
 *
 * Expected key and signature bytes come from tests/fixtures/nrfutil/packages.json;
 * signatures made here use OpenSSL directly, independent of the module.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "proto/sig.h"

#define KEYS DFUART_FIXTURES "/nrfutil/keys/"

/* packages.json keys.public_key_le_hex */
static const char PK_LE_HEX[] = "167d9117d436c8e312811f18274e1dccb742e5a1119678a1938a33083230e446"
                                "23eaeb99135cc661cc907b2947472c465754a2f638d6eab4d0941c4e0a69c021";
/* keys/other_public_key.c */
static const char OTHER_PK_LE_HEX[] =
    "ec6dee66da8c3721138aa2551e8b699895a6afa0284eeaeaae6aea64ee8aed02"
    "6fdbe4bf6f8118e6760b56ca2ba4cbce50e0df3fb5ba7197270753f12d2ec261";
/* app_signed.zip: init_command_hex and signature_le_hex */
static const char INIT_HEX[] =
    "080110341a02810220002800300038e0860342240803122028c969128554157921695a671039424fac41760e37"
    "dd2b65a92c5cea43be80274800520408011200";
static const char SIG_HEX[] =
    "9dde811946d2fe77ca5846c803f4904f23405f150daa05f65f5566d7a3459ed65d26bd4ccbb93be7c4c270aa0d"
    "99484e2c624d52707a7fc9e9a6f0c5684f8f60";
/* app_signed_bv_ecdsa.zip: boot_validation[0].bytes_hex, over images/app_s132.bin */
static const char BV_SIG_HEX[] =
    "ab90bfcddc98af9d5f456df8a9acaf00c8c8a886c62b6bb4a3790632d96470fc03f3fe8458fbbc6f4579cb2834"
    "89ddfd784c7b1da5c30bb8711bb3921bd41c75";

/* ---- helpers ------------------------------------------------------------ */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
        out[i] = (uint8_t)strtoul(pair, NULL, 16);
    }
    return n;
}

static void rev(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}

typedef struct {
    char dir[64];
    char path[160];
} tmp_t;

static int setup_tmp(void **state)
{
    tmp_t *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/dfuart-sig-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown_tmp(void **state)
{
    static const char *const names[] = {"k.txt", "k.pem", "dir"};
    tmp_t *t = *state;
    char p[200];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", t->dir, names[i]);
        if (unlink(p) != 0)
            (void)rmdir(p);
    }
    int rc = rmdir(t->dir);
    free(t);
    return rc;
}

/* Writes `len` bytes to <tmp>/<name> and returns the path (valid until the next call). */
static const char *tmp_file(tmp_t *t, const char *name, const void *data, size_t len)
{
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
    FILE *f = fopen(t->path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return t->path;
}

static const char *tmp_text(tmp_t *t, const char *text)
{
    return tmp_file(t, "k.txt", text, strlen(text));
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static sig_key_t *load_ok(const char *path)
{
    sig_key_t *k = (sig_key_t *)1;
    sig_err_t e = sig_key_load(path, &k);
    if (e != SIG_OK)
        fail_msg("%s: %d (%s)", path, e, sig_strerror(e));
    assert_non_null(k);
    return k;
}

static void expect_load_err(const char *path, sig_err_t want)
{
    sig_key_t *k = (sig_key_t *)1;
    sig_err_t e = sig_key_load(path, &k);
    if (e != want)
        fail_msg("%s: got %d (%s), want %d", path, e, sig_strerror(e), want);
    assert_null(k);
}

/* nrfutil-order signature (reversed r || reversed s) by OpenSSL directly. */
static void sign_le(EVP_PKEY *sk, const void *msg, size_t len, uint8_t out[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    unsigned char der[128];
    size_t dl = sizeof(der);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, sk), 1);
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

static EVP_PKEY *read_private(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

/* ---- loading ------------------------------------------------------------ */

static void test_sig_load_every_format_gives_same_key(void **state)
{
    (void)state;
    static const char *const files[] = {
        KEYS "public.pem",   KEYS "private.pem",        KEYS "private_key_display.txt",
        KEYS "public_key.c", KEYS "public_key_hex.txt",
    };
    uint8_t want[64], init[128], sig[64];
    unhex(PK_LE_HEX, want, sizeof(want));
    size_t il = unhex(INIT_HEX, init, sizeof(init));
    unhex(SIG_HEX, sig, sizeof(sig));
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        sig_key_t *k = load_ok(files[i]);
        uint8_t raw[64];
        memset(raw, 0xAA, sizeof(raw));
        sig_key_raw_le(k, raw);
        if (memcmp(raw, want, 64) != 0)
            fail_msg("%s: raw key differs from packages.json", files[i]);
        assert_int_equal(sig_verify_le(k, init, il, sig, 64), SIG_OK);
        sig_key_free(k);
    }
}

static void test_sig_other_key_differs(void **state)
{
    (void)state;
    static const char *const files[] = {KEYS "other_public.pem", KEYS "other_private.pem",
                                        KEYS "other_public_key.c"};
    uint8_t mine[64], other[64];
    unhex(PK_LE_HEX, mine, sizeof(mine));
    unhex(OTHER_PK_LE_HEX, other, sizeof(other));
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        sig_key_t *k = load_ok(files[i]);
        uint8_t raw[64];
        sig_key_raw_le(k, raw);
        assert_memory_not_equal(raw, mine, 64);
        assert_memory_equal(raw, other, 64);
        sig_key_free(k);
    }
}

static void test_sig_load_missing_file(void **state)
{
    tmp_t *t = *state;
    expect_load_err(KEYS "no_such_key.pem", SIG_ERR_IO);
    char p[200];
    snprintf(p, sizeof(p), "%s/dir", t->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    expect_load_err(p, SIG_ERR_IO);
}

static void test_sig_load_bad_text(void **state)
{
    tmp_t *t = *state;
    expect_load_err(tmp_text(t, ""), SIG_ERR_FORMAT);
    expect_load_err(tmp_text(t, "this is not a key\nat all\n"), SIG_ERR_FORMAT);
    expect_load_err(
        tmp_text(t, "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n"),
        SIG_ERR_FORMAT);
    /* Hex: one digit short, two digits (a byte) long, a non-hex digit. */
    char hex[160];
    snprintf(hex, sizeof(hex), "%.127s\n", PK_LE_HEX);
    expect_load_err(tmp_text(t, hex), SIG_ERR_FORMAT);
    snprintf(hex, sizeof(hex), "%s00\n", PK_LE_HEX);
    expect_load_err(tmp_text(t, hex), SIG_ERR_FORMAT);
    snprintf(hex, sizeof(hex), "%s\n", PK_LE_HEX);
    hex[10] = 'g';
    expect_load_err(tmp_text(t, hex), SIG_ERR_FORMAT);
    /* 128 hex digits that are not a point on P-256. */
    snprintf(hex, sizeof(hex), "%s\n", PK_LE_HEX);
    hex[0] = hex[0] == '0' ? '1' : '0';
    expect_load_err(tmp_text(t, hex), SIG_ERR_FORMAT);
    /* The 32-byte private scalar in nrfutil's hex format is not a public key. */
    expect_load_err(KEYS "private_key_hex.txt", SIG_ERR_FORMAT);
    /* Binary with NUL bytes; a file too large to be a key. */
    static const uint8_t bin[] = {0x30, 0x59, 0x00, 0x13, 0x06, 0x07};
    expect_load_err(tmp_file(t, "k.txt", bin, sizeof(bin)), SIG_ERR_FORMAT);
    size_t big_len = 70000;
    char *big = malloc(big_len);
    assert_non_null(big);
    memset(big, 'a', big_len);
    expect_load_err(tmp_file(t, "k.txt", big, big_len), SIG_ERR_FORMAT);
    free(big);
}

static void test_sig_load_truncated_public_key_c(void **state)
{
    tmp_t *t = *state;
    size_t len;
    char *c = (char *)slurp(KEYS "public_key.c", &len);
    /* The file cut to its first 63 bytes. */
    expect_load_err(tmp_file(t, "k.txt", c, 63), SIG_ERR_FORMAT);
    /* The array with only 63 of its 64 bytes (drop the last ", 0x21"). */
    char *last = strstr(c, ", 0x21");
    assert_non_null(last);
    memmove(last, last + 6, strlen(last + 6) + 1);
    expect_load_err(tmp_text(t, c), SIG_ERR_FORMAT);
    /* 65 bytes: one extra before the closing brace. */
    free(c);
    c = (char *)slurp(KEYS "public_key.c", &len);
    char *brace = strrchr(c, '}');
    assert_non_null(brace);
    char *longer = malloc(len + 16);
    assert_non_null(longer);
    snprintf(longer, len + 16, "%.*s, 0x00%s", (int)(brace - c - 1), c, brace - 1);
    expect_load_err(tmp_text(t, longer), SIG_ERR_FORMAT);
    free(longer);
    free(c);
}

static void write_pem(tmp_t *t, EVP_PKEY *k, int private_too)
{
    snprintf(t->path, sizeof(t->path), "%s/k.pem", t->dir);
    FILE *f = fopen(t->path, "w");
    assert_non_null(f);
    if (private_too)
        assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    assert_int_equal(fclose(f), 0);
}

static void test_sig_load_non_p256_key(void **state)
{
    tmp_t *t = *state;
    EVP_PKEY *keys[3] = {
        EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1"),
        EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024),
        EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
    };
    for (size_t i = 0; i < 3; i++) {
        assert_non_null(keys[i]);
        for (int priv = 0; priv <= 1; priv++) {
            write_pem(t, keys[i], priv);
            expect_load_err(t->path, SIG_ERR_CURVE);
        }
        EVP_PKEY_free(keys[i]);
    }
}

/* ---- verification ------------------------------------------------------- */

static void test_sig_verify_genuine_signature(void **state)
{
    (void)state;
    uint8_t init[128], sig[64];
    size_t il = unhex(INIT_HEX, init, sizeof(init));
    unhex(SIG_HEX, sig, sizeof(sig));
    sig_key_t *k = load_ok(KEYS "public.pem");
    sig_key_t *other = load_ok(KEYS "other_public.pem");

    assert_int_equal(sig_verify_le(k, init, il, sig, 64), SIG_OK);
    assert_int_equal(sig_verify_le(other, init, il, sig, 64), SIG_ERR_BAD_SIG);
    /* A single flipped bit anywhere in the message or the signature. */
    for (size_t i = 0; i < il; i++) {
        init[i] ^= 0x01;
        assert_int_equal(sig_verify_le(k, init, il, sig, 64), SIG_ERR_BAD_SIG);
        init[i] ^= 0x01;
    }
    for (size_t i = 0; i < 64; i++) {
        sig[i] ^= 0x80;
        assert_int_equal(sig_verify_le(k, init, il, sig, 64), SIG_ERR_BAD_SIG);
        sig[i] ^= 0x80;
    }
    /* One byte short or long of the message. */
    assert_int_equal(sig_verify_le(k, init, il - 1, sig, 64), SIG_ERR_BAD_SIG);
    /* The halves in big-endian order are not nrfutil's format. */
    uint8_t be[64];
    memcpy(be, sig, 64);
    rev(be, 32);
    rev(be + 32, 32);
    assert_int_equal(sig_verify_le(k, init, il, be, 64), SIG_ERR_BAD_SIG);
    assert_int_equal(sig_verify_le(k, init, il, sig, 64), SIG_OK);
    sig_key_free(k);
    sig_key_free(other);
}

static void test_sig_verify_wrong_length(void **state)
{
    (void)state;
    uint8_t init[128], sig[65] = {0};
    size_t il = unhex(INIT_HEX, init, sizeof(init));
    unhex(SIG_HEX, sig, sizeof(sig));
    sig_key_t *k = load_ok(KEYS "public_key.c");
    assert_int_equal(sig_verify_le(k, init, il, sig, 63), SIG_ERR_SIG_LEN);
    assert_int_equal(sig_verify_le(k, init, il, sig, 65), SIG_ERR_SIG_LEN);
    assert_int_equal(sig_verify_le(k, init, il, sig, 0), SIG_ERR_SIG_LEN);
    assert_int_equal(sig_verify_le(k, init, il, sig, 64), SIG_OK);
    sig_key_free(k);
}

static void test_sig_verify_out_of_range_values(void **state)
{
    (void)state;
    uint8_t msg[4] = {1, 2, 3, 4}, sig[64];
    sig_key_t *k = load_ok(KEYS "public.pem");
    memset(sig, 0, sizeof(sig)); /* r = s = 0 */
    assert_int_equal(sig_verify_le(k, msg, sizeof(msg), sig, 64), SIG_ERR_BAD_SIG);
    memset(sig, 0xFF, sizeof(sig)); /* r, s >= n */
    assert_int_equal(sig_verify_le(k, msg, sizeof(msg), sig, 64), SIG_ERR_BAD_SIG);
    sig_key_free(k);
}

static void test_sig_verify_own_signature(void **state)
{
    (void)state;
    EVP_PKEY *sk = read_private(KEYS "private.pem");
    sig_key_t *k = load_ok(KEYS "public_key_hex.txt");
    sig_key_t *other = load_ok(KEYS "other_public_key.c");
    uint8_t msg[300], sig[64];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    for (size_t len = 0; len <= sizeof(msg); len += 75) {
        sign_le(sk, msg, len, sig);
        assert_int_equal(sig_verify_le(k, msg, len, sig, 64), SIG_OK);
        assert_int_equal(sig_verify_le(other, msg, len, sig, 64), SIG_ERR_BAD_SIG);
    }
    EVP_PKEY_free(sk);
    sig_key_free(k);
    sig_key_free(other);
}

static void test_sig_verify_genuine_boot_validation(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = slurp(DFUART_FIXTURES "/nrfutil/images/app_s132.bin", &len);
    assert_int_equal(len, 50016);
    uint8_t sig[64];
    unhex(BV_SIG_HEX, sig, sizeof(sig));
    sig_key_t *k = load_ok(KEYS "private_key_display.txt");
    assert_int_equal(sig_verify_le(k, bin, len, sig, 64), SIG_OK);
    bin[25008] ^= 1;
    assert_int_equal(sig_verify_le(k, bin, len, sig, 64), SIG_ERR_BAD_SIG);
    sig_key_free(k);
    free(bin);
}

/* ---- raw keys and helpers ----------------------------------------------- */

static void test_sig_raw_key_roundtrip(void **state)
{
    (void)state;
    uint8_t raw[64], back[64];
    unhex(PK_LE_HEX, raw, sizeof(raw));
    sig_key_t *k = (sig_key_t *)1;
    assert_int_equal(sig_key_from_raw_le(raw, &k), SIG_OK);
    assert_non_null(k);
    sig_key_raw_le(k, back);
    assert_memory_equal(back, raw, 64);
    uint8_t init[128], sig[64];
    size_t il = unhex(INIT_HEX, init, sizeof(init));
    unhex(SIG_HEX, sig, sizeof(sig));
    assert_int_equal(sig_verify_le(k, init, il, sig, 64), SIG_OK);
    sig_key_free(k);

    /* Big-endian halves are a different (here: invalid) point. */
    rev(raw, 32);
    rev(raw + 32, 32);
    k = (sig_key_t *)1;
    assert_int_equal(sig_key_from_raw_le(raw, &k), SIG_ERR_FORMAT);
    assert_null(k);
    memset(raw, 0, sizeof(raw));
    k = (sig_key_t *)1;
    assert_int_equal(sig_key_from_raw_le(raw, &k), SIG_ERR_FORMAT);
    assert_null(k);
    sig_key_free(NULL);
}

static void test_sig_sha256_and_reverse(void **state)
{
    (void)state;
    uint8_t d[32], want[32];
    sig_sha256("abc", 3, d);
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    assert_memory_equal(d, want, 32);
    sig_sha256(NULL, 0, d);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    assert_memory_equal(d, want, 32);

    uint8_t b[5] = {1, 2, 3, 4, 5};
    sig_reverse(b, 5);
    assert_memory_equal(b, ((uint8_t[]){5, 4, 3, 2, 1}), 5);
    sig_reverse(b, 4);
    assert_memory_equal(b, ((uint8_t[]){2, 3, 4, 5, 1}), 5);
    sig_reverse(b, 1);
    sig_reverse(b, 0);
    assert_memory_equal(b, ((uint8_t[]){2, 3, 4, 5, 1}), 5);
}

static void test_sig_strerror_distinct(void **state)
{
    (void)state;
    const sig_err_t all[] = {SIG_OK,          SIG_ERR_IO,      SIG_ERR_FORMAT, SIG_ERR_CURVE,
                             SIG_ERR_BAD_SIG, SIG_ERR_SIG_LEN, SIG_ERR_CRYPTO};
    for (size_t i = 0; i < 7; i++) {
        assert_non_null(sig_strerror(all[i]));
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(sig_strerror(all[i]), sig_strerror(all[k]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sig_load_every_format_gives_same_key),
        cmocka_unit_test(test_sig_other_key_differs),
        cmocka_unit_test_setup_teardown(test_sig_load_missing_file, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_sig_load_bad_text, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_sig_load_truncated_public_key_c, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_sig_load_non_p256_key, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_sig_verify_genuine_signature),
        cmocka_unit_test(test_sig_verify_wrong_length),
        cmocka_unit_test(test_sig_verify_out_of_range_values),
        cmocka_unit_test(test_sig_verify_own_signature),
        cmocka_unit_test(test_sig_verify_genuine_boot_validation),
        cmocka_unit_test(test_sig_raw_key_roundtrip),
        cmocka_unit_test(test_sig_sha256_and_reverse),
        cmocka_unit_test(test_sig_strerror_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
