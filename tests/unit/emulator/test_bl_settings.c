/*
 * test_bl_settings.c - settings-page codec against nrfutil 6.1.7's own pages:
 * decode vs `settings display`, generate vs `settings generate` (byte for
 * byte), CRC/validity rules, forbidden ranges, v1->v2 upgrade, ECDSA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "emulator/bl_settings.h"
#include "emulator/ihex.h"

#define NRFUTIL DFUART_FIXTURES "/nrfutil"

/// Helpers ///

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static ihex_image_t *load_hex(const char *path)
{
    ihex_image_t *img = NULL;
    size_t line = 0;
    ihex_err_t err = ihex_load_file(path, &img, &line);
    if (err != IHEX_OK) {
        fail_msg("%s:%zu: %s", path, line, ihex_strerror(err));
    }
    return img;
}

/*
 * What nrfutil makes of an input .hex (normalize_firmware_to_bin): bytes from
 * the lowest to the highest address at or above `min_addr`, gaps 0xFF.
 * SoftDevice: min_addr 0x1000 strips the MBR region as nrfutil does.
 */
static uint8_t *image_bin(const char *name, uint32_t min_addr, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), NRFUTIL "/images/%s.hex", name);
    ihex_image_t *img = load_hex(path);
    uint32_t lo = 0xFFFFFFFFu;
    uint64_t hi = 0;
    for (size_t i = 0; i < ihex_image_segment_count(img); i++) {
        const ihex_segment_t *s = ihex_image_segment(img, i);
        if (s->addr >= min_addr && s->addr < 0x10000000u) { /* UICR is not firmware */
            lo = s->addr < lo ? s->addr : lo;
            hi = (uint64_t)s->addr + s->len;
        }
    }
    assert_true(hi > lo);
    uint8_t *bin = malloc((size_t)(hi - lo));
    assert_non_null(bin);
    assert_int_equal(ihex_image_flatten(img, lo, hi, bin), IHEX_OK);
    ihex_image_free(img);
    *len = (size_t)(hi - lo);
    return bin;
}

/* Key as `nrfutil keys display --format hex`: second line, x||y each little-endian. */
static void load_pk_le(uint8_t pk[64])
{
    size_t len = 0;
    char *text = (char *)read_all(NRFUTIL "/keys/public_key_hex.txt", &len);
    char *hex = strchr(text, '\n');
    assert_non_null(hex);
    hex++;
    for (size_t i = 0; i < 64; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        pk[i] = (uint8_t)v;
    }
    free(text);
}

/// Fixture table (inputs transcribed from settings/commands.txt) ///

typedef struct fixture {
    const char *name;
    bl_settings_family_t family;
    uint32_t version, app_version, bl_version;
    const char *app; /* images/<app>.hex, NULL = no --application */
    bl_settings_bv_type_t app_bv;
    const char *sd;
    bl_settings_bv_type_t sd_bv;
} fixture_t;

static const fixture_t fixtures[] = {
    {"s52832_app_v3_crc", BL_SETTINGS_FAMILY_NRF52, 2, 3, 2, "app_s132", BL_SETTINGS_BV_CRC, NULL,
     BL_SETTINGS_BV_NONE},
    /* no --app-boot-validation: nrfutil 6.1.7 still writes CRC */
    {"s52832_app_v3_default", BL_SETTINGS_FAMILY_NRF52, 2, 3, 2, "app_s132", BL_SETTINGS_BV_CRC,
     NULL, BL_SETTINGS_BV_NONE},
    {"s52832_app_v7_sha256", BL_SETTINGS_FAMILY_NRF52, 2, 7, 1, "app_v2", BL_SETTINGS_BV_SHA256,
     NULL, BL_SETTINGS_BV_NONE},
    {"s52832_app_ecdsa", BL_SETTINGS_FAMILY_NRF52, 2, 4, 2, "app_s132", BL_SETTINGS_BV_ECDSA, NULL,
     BL_SETTINGS_BV_NONE},
    {"s52832_sd_app_crc", BL_SETTINGS_FAMILY_NRF52, 2, 3, 2, "app_s132", BL_SETTINGS_BV_CRC,
     "softdevice", BL_SETTINGS_BV_CRC},
    {"s52840_app_large", BL_SETTINGS_FAMILY_NRF52840, 2, 12, 3, "app_large", BL_SETTINGS_BV_CRC,
     NULL, BL_SETTINGS_BV_NONE},
    {"s52832_v1", BL_SETTINGS_FAMILY_NRF52, 1, 3, 2, "app_s132", BL_SETTINGS_BV_CRC, NULL,
     BL_SETTINGS_BV_NONE},
    {"s52832_noapp", BL_SETTINGS_FAMILY_NRF52, 2, 0, 2, NULL, BL_SETTINGS_BV_NONE, NULL,
     BL_SETTINGS_BV_NONE},
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static ihex_image_t *load_fixture(const fixture_t *fx)
{
    char path[512];
    snprintf(path, sizeof(path), NRFUTIL "/settings/%s.hex", fx->name);
    return load_hex(path);
}

/* 896 bytes at `addr` as flash would hold them after programming the hex. */
static void fixture_raw(const ihex_image_t *img, uint32_t addr, uint8_t raw[BL_SETTINGS_SIZE])
{
    assert_true(ihex_image_covers(img, addr, addr + 4));
    assert_int_equal(ihex_image_flatten(img, addr, (uint64_t)addr + BL_SETTINGS_SIZE, raw),
                     IHEX_OK);
}

static void fixture_main_raw(const fixture_t *fx, uint8_t raw[BL_SETTINGS_SIZE])
{
    ihex_image_t *img = load_fixture(fx);
    fixture_raw(img, bl_settings_addr(fx->family), raw);
    ihex_image_free(img);
}

static void decode_any(const uint8_t raw[BL_SETTINGS_SIZE], bl_settings_t *s)
{
    if (raw[BL_SETTINGS_OFF_VERSION] == 1) {
        bl_settings_decode_v1(raw, s);
    } else {
        bl_settings_decode(raw, s);
    }
}

/// nrfutil `settings display` text ///

typedef struct disp_line {
    char label[64];
    char value[256];
} disp_line_t;

/* Parses "* Label:   value" lines; other lines (banner, nrfutil's probe noise) are skipped. */
static size_t parse_display(const char *text, disp_line_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *colon = strchr(p, ':'), *eol = strchr(p, '\n');
        if (strncmp(p, "* ", 2) != 0 || colon == NULL || (eol && colon > eol)) {
            continue;
        }
        assert_true(n < cap);
        snprintf(out[n].label, sizeof(out[n].label), "%.*s", (int)(colon - p - 2), p + 2);
        const char *v = colon + 1;
        while (*v == ' ') {
            v++;
        }
        size_t vlen = eol ? (size_t)(eol - v) : strlen(v);
        snprintf(out[n].value, sizeof(out[n].value), "%.*s", (int)vlen, v);
        n++;
    }
    return n;
}

static const disp_line_t *disp_find(const disp_line_t *d, size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(d[i].label, label) == 0) {
            return &d[i];
        }
    }
    fail_msg("display has no '%s'", label);
    return NULL;
}

static char *read_display(const fixture_t *fx)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), NRFUTIL "/settings/%s.display.txt", fx->name);
    return (char *)read_all(path, &len);
}

/// Decode vs display ///

static void check_fields_against_display(const fixture_t *fx, const bl_settings_t *s,
                                         const disp_line_t *d, size_t nd)
{
    size_t compared = 0;
    bl_settings_field_t f;
    for (size_t i = 0; bl_settings_field(s, i, &f); i++) {
        if (!f.nrfutil) {
            continue;
        }
        const disp_line_t *l = disp_find(d, nd, f.label);
        unsigned long want = strtoul(l->value, NULL, 16);
        if (want != f.value) {
            fail_msg("%s: %s = 0x%08X, display says %s", fx->name, f.label, f.value, l->value);
        }
        compared++;
    }
    assert_int_equal(compared + 3, nd); /* + File, Family, Start Address */
}

static void test_bl_settings_decode_matches_nrfutil_display(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const fixture_t *fx = &fixtures[i];
        uint8_t raw[BL_SETTINGS_SIZE];
        bl_settings_t s;
        fixture_main_raw(fx, raw);
        decode_any(raw, &s);
        char *text = read_display(fx);
        disp_line_t d[32];
        size_t nd = parse_display(text, d, 32);
        check_fields_against_display(fx, &s, d, nd);
        assert_string_equal(disp_find(d, nd, "Family")->value, bl_settings_family_name(fx->family));
        assert_int_equal(strtoul(disp_find(d, nd, "Start Address")->value, NULL, 16),
                         bl_settings_backup_addr(fx->family));
        assert_true(bl_settings_main_valid(raw));
        assert_int_equal(s.settings_version, fx->version);
        free(text);
    }
}

static void test_bl_settings_backup_page_equal_and_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const fixture_t *fx = &fixtures[i];
        ihex_image_t *img = load_fixture(fx);
        uint8_t main_raw[BL_SETTINGS_SIZE], backup_raw[BL_SETTINGS_SIZE];
        fixture_raw(img, bl_settings_addr(fx->family), main_raw);
        fixture_raw(img, bl_settings_backup_addr(fx->family), backup_raw);
        assert_memory_equal(main_raw, backup_raw, BL_SETTINGS_SIZE);
        assert_true(bl_settings_main_valid(backup_raw));
        assert_true(bl_settings_backup_valid(backup_raw));
        bl_settings_t s;
        decode_any(backup_raw, &s);
        assert_int_equal(s.crc, bl_settings_crc_compute(backup_raw));
        if (fx->version == 2) {
            assert_int_equal(s.boot_validation_crc, bl_settings_bv_crc_compute(backup_raw));
        }
        ihex_image_free(img);
    }
}

static void test_bl_settings_format_reproduces_nrfutil_display(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const fixture_t *fx = &fixtures[i];
        uint8_t raw[BL_SETTINGS_SIZE];
        bl_settings_t s;
        fixture_main_raw(fx, raw);
        decode_any(raw, &s);
        char file[128], out[2048];
        snprintf(file, sizeof(file), "settings/%s.hex", fx->name);
        bl_settings_display_t d = {file, fx->family, bl_settings_backup_addr(fx->family), false};
        size_t n = bl_settings_format(&s, &d, out, sizeof(out) - 1);
        assert_true(n < sizeof(out) - 2);
        strcat(out, "\n"); /* nrfutil's print() adds one */
        char *text = read_display(fx);
        const char *from = strstr(text, "\nBootloader DFU Settings:");
        assert_non_null(from);
        assert_string_equal(out, from);
        free(text);
    }
}

/// Generator vs nrfutil ///

typedef struct gen_inputs {
    uint8_t *app, *sd;
    size_t app_len, sd_len;
    uint8_t sig[64];
} gen_inputs_t;

static void gen_params(const fixture_t *fx, gen_inputs_t *io, bl_settings_gen_t *g)
{
    memset(io, 0, sizeof(*io));
    if (fx->app) {
        io->app = image_bin(fx->app, 0, &io->app_len);
    }
    if (fx->sd) {
        io->sd = image_bin(fx->sd, 0x1000, &io->sd_len);
    }
    if (fx->app_bv == BL_SETTINGS_BV_ECDSA) {
        /* ECDSA signatures are randomised: reuse the one nrfutil made. */
        uint8_t raw[BL_SETTINGS_SIZE];
        fixture_main_raw(fx, raw);
        memcpy(io->sig, raw + BL_SETTINGS_OFF_BV_APP + 1, 64);
    }
    *g = (bl_settings_gen_t){.family = fx->family,
                             .settings_version = fx->version,
                             .app_version = fx->app_version,
                             .bootloader_version = fx->bl_version,
                             .app = io->app,
                             .app_len = io->app_len,
                             .app_bv = fx->app_bv,
                             .app_sig = io->sig,
                             .sd = io->sd,
                             .sd_len = io->sd_len,
                             .sd_bv = fx->sd_bv,
                             .sd_sig = NULL,
                             .no_backup = false};
}

static int sink_emit(void *ctx, const char *line, size_t len)
{
    char **buf = ctx;
    size_t have = *buf ? strlen(*buf) : 0;
    *buf = realloc(*buf, have + len + 1);
    assert_non_null(*buf);
    memcpy(*buf + have, line, len);
    (*buf)[have + len] = '\0';
    return 0;
}

/* The pages, written as nrfutil writes its .hex, must give the fixture file itself. */
static void check_hex_text(const fixture_t *fx, const bl_settings_pages_t *p)
{
    char *text = NULL, path[512];
    ihex_writer_t w;
    assert_int_equal(ihex_writer_init(&w, 16, false, sink_emit, &text), IHEX_OK);
    assert_int_equal(ihex_writer_data(&w, p->backup_addr, p->backup, p->written), IHEX_OK);
    assert_int_equal(ihex_writer_data(&w, p->settings_addr, p->settings, p->written), IHEX_OK);
    assert_int_equal(ihex_writer_end(&w), IHEX_OK);
    size_t len;
    snprintf(path, sizeof(path), NRFUTIL "/settings/%s.hex", fx->name);
    char *want = (char *)read_all(path, &len);
    assert_string_equal(text, want);
    free(want);
    free(text);
}

static void test_bl_settings_generate_matches_nrfutil_byte_for_byte(void **state)
{
    (void)state;
    static bl_settings_pages_t pages;
    uint8_t want[BL_SETTINGS_PAGE_SIZE];
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const fixture_t *fx = &fixtures[i];
        gen_inputs_t io;
        bl_settings_gen_t g;
        gen_params(fx, &io, &g);
        assert_int_equal(bl_settings_generate(&g, &pages), BL_SETTINGS_OK);

        ihex_image_t *img = load_fixture(fx);
        uint32_t a = bl_settings_addr(fx->family), b = bl_settings_backup_addr(fx->family);
        assert_int_equal(pages.settings_addr, a);
        assert_int_equal(pages.backup_addr, b);
        assert_true(pages.has_backup);
        assert_int_equal(ihex_image_segment(img, 1)->len, pages.written);
        assert_int_equal(ihex_image_flatten(img, a, a + BL_SETTINGS_PAGE_SIZE, want), IHEX_OK);
        assert_memory_equal(pages.settings, want, BL_SETTINGS_PAGE_SIZE);
        assert_int_equal(ihex_image_flatten(img, b, b + BL_SETTINGS_PAGE_SIZE, want), IHEX_OK);
        assert_memory_equal(pages.backup, want, BL_SETTINGS_PAGE_SIZE);
        check_hex_text(fx, &pages);
        ihex_image_free(img);
        free(io.app);
        free(io.sd);
    }
}

static void test_bl_settings_generate_no_backup_and_bad_inputs(void **state)
{
    (void)state;
    static bl_settings_pages_t pages;
    static const uint8_t app[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    bl_settings_gen_t g = {.family = BL_SETTINGS_FAMILY_NRF52840,
                           .settings_version = 2,
                           .app = app,
                           .app_len = sizeof(app),
                           .app_bv = BL_SETTINGS_BV_SHA256,
                           .no_backup = true};
    assert_int_equal(bl_settings_generate(&g, &pages), BL_SETTINGS_OK);
    assert_false(pages.has_backup);
    for (size_t i = 0; i < BL_SETTINGS_PAGE_SIZE; i++) {
        assert_int_equal(pages.backup[i], 0xFF);
    }
    assert_true(bl_settings_main_valid(pages.settings));
    bl_settings_t s;
    bl_settings_decode(pages.settings, &s);
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, sizeof(app), NULL),
                     BL_SETTINGS_OK);

    g.settings_version = 3;
    assert_int_equal(bl_settings_generate(&g, &pages), BL_SETTINGS_ERR_VERSION);
    g.settings_version = 2;
    g.app_bv = BL_SETTINGS_BV_ECDSA; /* no signature supplied */
    assert_int_equal(bl_settings_generate(&g, &pages), BL_SETTINGS_ERR_ARG);
    g.app_bv = (bl_settings_bv_type_t)9;
    assert_int_equal(bl_settings_generate(&g, &pages), BL_SETTINGS_ERR_BV_TYPE);
    g.app_bv = BL_SETTINGS_BV_CRC;
    g.family = (bl_settings_family_t)7;
    assert_int_equal(bl_settings_generate(&g, &pages), BL_SETTINGS_ERR_ARG);
    assert_int_equal(bl_settings_generate(NULL, &pages), BL_SETTINGS_ERR_ARG);
}

/// ECDSA boot validation (§4.4) ///

/* Verifies with OpenSSL and a PEM key directly, independent of bl_settings_ecdsa_verify(). */
static int pem_verify(const char *pem, const uint8_t sig_le[64], const uint8_t *d, size_t n)
{
    FILE *f = fopen(pem, "r");
    assert_non_null(f);
    EVP_PKEY *key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(key);
    uint8_t r[32], s[32];
    for (size_t i = 0; i < 32; i++) {
        r[i] = sig_le[31 - i];
        s[i] = sig_le[63 - i];
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(r, 32, NULL), BN_bin2bn(s, 32, NULL)), 1);
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    assert_true(der_len > 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    int ok = EVP_DigestVerify(md, der, (size_t)der_len, d, n);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    EVP_PKEY_free(key);
    return ok;
}

static void test_bl_settings_ecdsa_fixture_signature_verifies(void **state)
{
    (void)state;
    const fixture_t *fx = &fixtures[3];
    assert_string_equal(fx->name, "s52832_app_ecdsa");
    uint8_t raw[BL_SETTINGS_SIZE], pk[64];
    bl_settings_t s;
    fixture_main_raw(fx, raw);
    bl_settings_decode(raw, &s);
    assert_int_equal(s.boot_validation_app.type, BL_SETTINGS_BV_ECDSA);
    size_t len = 0;
    uint8_t *app = read_all(NRFUTIL "/images/app_s132.bin", &len);
    load_pk_le(pk);

    assert_int_equal(pem_verify(NRFUTIL "/keys/public.pem", s.boot_validation_app.bytes, app, len),
                     1);
    assert_int_not_equal(
        pem_verify(NRFUTIL "/keys/other_public.pem", s.boot_validation_app.bytes, app, len), 1);
    assert_int_equal(bl_settings_ecdsa_verify(pk, s.boot_validation_app.bytes, app, len),
                     BL_SETTINGS_OK);
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, len, pk), BL_SETTINGS_OK);

    app[100] ^= 1;
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, len, pk),
                     BL_SETTINGS_ERR_SIGNATURE);
    app[100] ^= 1;
    s.boot_validation_app.bytes[0] ^= 1; /* r changes: still well-formed, must not verify */
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, len, pk),
                     BL_SETTINGS_ERR_SIGNATURE);
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, len, NULL),
                     BL_SETTINGS_ERR_ARG);
    pk[5] ^= 1; /* almost surely no longer a curve point */
    assert_int_not_equal(bl_settings_ecdsa_verify(pk, raw + BL_SETTINGS_OFF_BV_APP + 1, app, len),
                         BL_SETTINGS_OK);
    free(app);
}

static void test_bl_settings_bv_check_crc_and_sha256(void **state)
{
    (void)state;
    uint8_t raw[BL_SETTINGS_SIZE];
    bl_settings_t s;
    size_t len = 0;
    fixture_main_raw(&fixtures[2], raw); /* app_v7_sha256 */
    bl_settings_decode(raw, &s);
    uint8_t *app = read_all(NRFUTIL "/images/app_v2.bin", &len);
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, len, NULL), BL_SETTINGS_OK);
    app[len - 1] ^= 0x80;
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, len, NULL),
                     BL_SETTINGS_ERR_MISMATCH);
    app[len - 1] ^= 0x80;

    bl_settings_bv_t bv;
    assert_int_equal(bl_settings_bv_make(BL_SETTINGS_BV_CRC, app, len, NULL, &bv), BL_SETTINGS_OK);
    assert_int_equal(bv.bytes[0] | bv.bytes[1] << 8 | bv.bytes[2] << 16 |
                         (uint32_t)bv.bytes[3] << 24,
                     s.bank_0.image_crc);
    assert_int_equal(bl_settings_bv_check(&bv, app, len, NULL), BL_SETTINGS_OK);
    app[0] ^= 1;
    assert_int_equal(bl_settings_bv_check(&bv, app, len, NULL), BL_SETTINGS_ERR_MISMATCH);
    bv.type = BL_SETTINGS_BV_NONE;
    assert_int_equal(bl_settings_bv_check(&bv, app, len, NULL), BL_SETTINGS_OK);
    bv.type = 4;
    assert_int_equal(bl_settings_bv_check(&bv, app, len, NULL), BL_SETTINGS_ERR_BV_TYPE);
    free(app);
}

/// CRCs and validity (§2.4) ///

static void test_bl_settings_crc_spec_test_vector(void **state)
{
    (void)state;
    uint8_t raw[BL_SETTINGS_SIZE] = {0};
    bl_settings_t s;
    bl_settings_decode(raw, &s);
    s.settings_version = 2;
    s.app_version = 1;
    s.bootloader_version = 2;
    s.bank_0 = (bl_settings_bank_t){0x1000, 0x12345678, 1};
    s.boot_validation_app.type = BL_SETTINGS_BV_CRC;
    memcpy(s.boot_validation_app.bytes, "\x78\x56\x34\x12", 4);
    bl_settings_encode(&s, raw);
    assert_int_equal(bl_settings_bv_crc_compute(raw), 0x80C055D2u);
    assert_int_equal(bl_settings_crc_compute(raw), 0x7E8F8F2Cu);
    assert_false(bl_settings_main_valid(raw)); /* crc field still 0 */
    bl_settings_update_crcs(raw);
    bl_settings_decode(raw, &s);
    assert_int_equal(s.crc, 0x7E8F8F2Cu);
    assert_int_equal(s.boot_validation_crc, 0x80C055D2u);
    assert_true(bl_settings_main_valid(raw));
    assert_true(bl_settings_backup_valid(raw));
}

static void test_bl_settings_main_ignores_bv_crc_backup_requires_it(void **state)
{
    (void)state;
    uint8_t raw[BL_SETTINGS_SIZE];
    fixture_main_raw(&fixtures[0], raw);
    raw[BL_SETTINGS_OFF_BV_CRC] ^= 0x01;
    assert_true(bl_settings_main_valid(raw));
    assert_false(bl_settings_backup_valid(raw));

    fixture_main_raw(&fixtures[0], raw);
    raw[BL_SETTINGS_OFF_BV_APP + 10] ^= 0x01; /* bv data changed, bv CRC stale */
    assert_true(bl_settings_main_valid(raw));
    assert_false(bl_settings_backup_valid(raw));

    /* v1 pages have no bv area: backup valid although 604..607 read 0xFF. */
    fixture_main_raw(&fixtures[6], raw);
    assert_int_equal(raw[BL_SETTINGS_OFF_BV_CRC], 0xFF);
    assert_true(bl_settings_backup_valid(raw));

    fixture_main_raw(&fixtures[0], raw);
    raw[BL_SETTINGS_OFF_APP_VERSION] ^= 0x01;
    assert_false(bl_settings_main_valid(raw));
    assert_false(bl_settings_backup_valid(raw));

    memset(raw, 0xFF, sizeof(raw)); /* erased page */
    assert_false(bl_settings_main_valid(raw));
    assert_false(bl_settings_backup_valid(raw));
}

/// Forbidden ranges and reinit (§2.5, §2.6) ///

/* What an application does to request an update (§8.3), plus a forbidden bank_1 write. */
static void app_requests_update(uint8_t raw[BL_SETTINGS_SIZE], bool touch_bank_1)
{
    bl_settings_t s;
    bl_settings_decode(raw, &s);
    s.bank_current = BL_SETTINGS_CURRENT_BANK_1;
    memset(s.init_command, 0xA5, 20);
    s.progress.command_size = 20;
    s.progress.command_offset = 20;
    if (touch_bank_1) {
        s.bank_1 = (bl_settings_bank_t){0x100, 0xDEADBEEF, BL_SETTINGS_BANK_VALID_APP};
    }
    bl_settings_encode(&s, raw);
    bl_settings_update_crcs(raw);
}

static void test_bl_settings_forbidden_copy_mode_a_keeps_request_mode_b_reverts(void **state)
{
    (void)state;
    uint8_t backup[BL_SETTINGS_SIZE], main_raw[BL_SETTINGS_SIZE], ram[BL_SETTINGS_SIZE];
    fixture_main_raw(&fixtures[0], backup);
    memcpy(main_raw, backup, sizeof(main_raw));
    app_requests_update(main_raw, true);
    bl_settings_t s;

    assert_int_equal(bl_settings_reinit(main_raw, backup, BL_SETTINGS_MODE_A, ram, NULL),
                     BL_SETTINGS_SRC_MAIN_RESTORED);
    bl_settings_decode(ram, &s);
    assert_int_equal(s.bank_current, 1);
    assert_int_equal(s.progress.command_size, 20);
    assert_int_equal(s.init_command[19], 0xA5);
    assert_int_equal(s.bank_1.bank_code, 0); /* forbidden in A too */
    assert_int_equal(s.bank_1.image_crc, 0);

    assert_int_equal(bl_settings_reinit(main_raw, backup, BL_SETTINGS_MODE_B, ram, NULL),
                     BL_SETTINGS_SRC_MAIN_RESTORED);
    bl_settings_decode(ram, &s);
    assert_int_equal(s.bank_current, 0);
    assert_int_equal(s.progress.command_size, 0);
    assert_int_equal(s.init_command[0], 0x00);
    assert_int_equal(s.bank_1.bank_code, 0);
    /* Only crc (0..3) differs from the backup: the bootloader's write recomputes it. */
    assert_memory_equal(ram + 4, backup + 4, BL_SETTINGS_SIZE - 4);
}

static void test_bl_settings_forbidden_equal_per_mode(void **state)
{
    (void)state;
    uint8_t backup[BL_SETTINGS_SIZE], ram[BL_SETTINGS_SIZE];
    fixture_main_raw(&fixtures[0], backup);

    memcpy(ram, backup, sizeof(ram));
    app_requests_update(ram, false);
    assert_true(bl_settings_forbidden_equal(ram, backup, BL_SETTINGS_MODE_A));
    assert_false(bl_settings_forbidden_equal(ram, backup, BL_SETTINGS_MODE_B));

    memcpy(ram, backup, sizeof(ram));
    app_requests_update(ram, true);
    assert_false(bl_settings_forbidden_equal(ram, backup, BL_SETTINGS_MODE_A));

    /* Allowed in both: crc, enter_buttonless_dfu, peer_data, adv_name, tail pad. */
    static const size_t allowed[] = {0, 88, 91, 803, 866, 867, 894, 895};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        memcpy(ram, backup, sizeof(ram));
        ram[allowed[i]] ^= 0x5A;
        assert_true(bl_settings_forbidden_equal(ram, backup, BL_SETTINGS_MODE_A));
        assert_true(bl_settings_forbidden_equal(ram, backup, BL_SETTINGS_MODE_B));
    }
    /* Edges of the forbidden ranges. */
    static const struct {
        size_t off;
        bool a, b; /* forbidden in mode A / B */
    } edges[] = {{4, true, true},   {19, true, true},   {20, false, true}, {23, false, true},
                 {24, true, true},  {47, true, true},   {48, false, true}, {51, false, true},
                 {52, true, true},  {55, true, true},   {56, false, true}, {87, false, true},
                 {92, false, true}, {603, false, true}, {604, true, true}, {802, true, true}};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        memcpy(ram, backup, sizeof(ram));
        ram[edges[i].off] ^= 0x5A;
        assert_int_equal(bl_settings_forbidden_equal(ram, backup, BL_SETTINGS_MODE_A), !edges[i].a);
        assert_int_equal(bl_settings_forbidden_equal(ram, backup, BL_SETTINGS_MODE_B), !edges[i].b);
    }
}

static void test_bl_settings_reinit_sources(void **state)
{
    (void)state;
    uint8_t good[BL_SETTINGS_SIZE], bad[BL_SETTINGS_SIZE], ram[BL_SETTINGS_SIZE];
    fixture_main_raw(&fixtures[0], good);
    memcpy(bad, good, sizeof(bad));
    bad[BL_SETTINGS_OFF_CRC] ^= 1;

    assert_int_equal(bl_settings_reinit(bad, good, BL_SETTINGS_MODE_B, ram, NULL),
                     BL_SETTINGS_SRC_BACKUP);
    assert_memory_equal(ram, good, sizeof(ram));

    bool up = true;
    assert_int_equal(bl_settings_reinit(bad, bad, BL_SETTINGS_MODE_B, ram, &up),
                     BL_SETTINGS_SRC_DEFAULTS);
    assert_false(up);
    bl_settings_t s;
    bl_settings_decode(ram, &s);
    assert_int_equal(s.settings_version, 2);
    assert_int_equal(s.bank_0.bank_code, 0);

    /* Backup invalid (bv CRC): the app's request survives even in mode B. */
    uint8_t main_raw[BL_SETTINGS_SIZE];
    memcpy(main_raw, good, sizeof(main_raw));
    app_requests_update(main_raw, true);
    memcpy(bad, good, sizeof(bad));
    bad[BL_SETTINGS_OFF_BV_CRC] ^= 1;
    assert_int_equal(bl_settings_reinit(main_raw, bad, BL_SETTINGS_MODE_B, ram, NULL),
                     BL_SETTINGS_SRC_MAIN);
    assert_memory_equal(ram, main_raw, sizeof(ram));
}

/// v1 -> v2 upgrade (§2.3) ///

static void test_bl_settings_upgrade_v1_to_v2(void **state)
{
    (void)state;
    uint8_t raw[BL_SETTINGS_SIZE];
    fixture_main_raw(&fixtures[6], raw); /* s52832_v1: 92 bytes, rest 0xFF */
    for (size_t i = 0; i < BL_SETTINGS_PEER_LEN + BL_SETTINGS_ADV_NAME_LEN; i++) {
        raw[BL_SETTINGS_OFF_PEER_DATA_V1 + i] = (uint8_t)(0x40 + i);
    }
    uint8_t v1[BL_SETTINGS_SIZE], ram[BL_SETTINGS_SIZE];
    memcpy(v1, raw, sizeof(v1));
    assert_true(bl_settings_upgrade_v1(raw));
    assert_false(bl_settings_upgrade_v1(raw));

    bl_settings_t s;
    bl_settings_decode(raw, &s);
    assert_int_equal(s.settings_version, 2);
    assert_int_equal(s.boot_validation_softdevice.type, BL_SETTINGS_BV_NONE);
    assert_int_equal(s.boot_validation_app.type, BL_SETTINGS_BV_CRC);
    assert_memory_equal(s.boot_validation_app.bytes, "\x96\x7E\xA8\xB2", 4);
    assert_int_equal(s.boot_validation_app.bytes[4], 0xFF); /* rest left as loaded */
    assert_int_equal(s.boot_validation_softdevice.bytes[0], 0xFF);
    assert_int_equal(s.boot_validation_bootloader.type, BL_SETTINGS_BV_NONE);
    assert_memory_equal(s.peer_data, v1 + BL_SETTINGS_OFF_PEER_DATA_V1, BL_SETTINGS_PEER_LEN);
    assert_memory_equal(s.adv_name, v1 + BL_SETTINGS_OFF_ADV_NAME_V1, BL_SETTINGS_ADV_NAME_LEN);
    assert_int_equal(s.pad_895, 0xFF);
    assert_false(bl_settings_main_valid(raw)); /* version word changed, CRC not yet */
    bl_settings_update_crcs(raw);
    assert_true(bl_settings_backup_valid(raw));

    size_t len = 0;
    uint8_t *app = read_all(NRFUTIL "/images/app_s132.bin", &len);
    assert_int_equal(bl_settings_bv_check(&s.boot_validation_app, app, len, NULL), BL_SETTINGS_OK);
    free(app);

    bool up = false;
    assert_int_equal(bl_settings_reinit(v1, v1, BL_SETTINGS_MODE_B, ram, &up),
                     BL_SETTINGS_SRC_MAIN_RESTORED);
    assert_true(up);
    bl_settings_update_crcs(ram);
    assert_memory_equal(ram, raw, sizeof(ram));
}

/// Codec ///

static void test_bl_settings_decode_offsets_and_round_trip(void **state)
{
    (void)state;
    uint8_t raw[BL_SETTINGS_SIZE], back[BL_SETTINGS_SIZE];
    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (uint8_t)i;
    }
    bl_settings_t s;
    bl_settings_decode(raw, &s);
    assert_int_equal(s.crc, 0x03020100u);
    assert_int_equal(s.bank_current, 0x17161514u);
    assert_int_equal(s.bank_0.image_size, 0x1B1A1918u);
    assert_int_equal(s.bank_1.bank_code, 0x2F2E2D2Cu);
    assert_int_equal(s.write_offset, 0x33323130u);
    assert_int_equal(s.sd_size, 0x37363534u);
    assert_int_equal(s.progress.command_size, 0x3B3A3938u);
    assert_int_equal(s.progress.update_start_address, 0x4B4A4948u);
    assert_int_equal(s.progress.firmware_image_crc, 0x4B4A4948u);
    assert_int_equal(s.progress.firmware_image_offset_last, 0x57565554u);
    assert_int_equal(s.enter_buttonless_dfu, 0x5B5A5958u);
    assert_int_equal(s.init_command[0], 0x5C);
    assert_int_equal(s.init_command[511], (603 & 0xFF));
    assert_int_equal(s.boot_validation_crc, 0x5F5E5D5Cu);
    assert_int_equal(s.boot_validation_softdevice.type, 0x60);
    assert_int_equal(s.boot_validation_app.type, (673 & 0xFF));
    assert_int_equal(s.boot_validation_app.bytes[0], (674 & 0xFF));
    assert_int_equal(s.boot_validation_bootloader.type, (738 & 0xFF));
    assert_int_equal(s.boot_validation_bootloader.bytes[63], (802 & 0xFF));
    assert_int_equal(s.peer_data[0], (803 & 0xFF));
    assert_int_equal(s.adv_name[0], (867 & 0xFF));
    assert_int_equal(s.pad_895, (895 & 0xFF));
    bl_settings_encode(&s, back);
    assert_memory_equal(back, raw, sizeof(raw));

    uint32_t seed = 12345;
    for (int iter = 0; iter < 50; iter++) {
        for (size_t i = 0; i < sizeof(raw); i++) {
            seed = seed * 1103515245u + 12345u;
            raw[i] = (uint8_t)(seed >> 16);
        }
        bl_settings_decode(raw, &s);
        bl_settings_encode(&s, back);
        assert_memory_equal(back, raw, sizeof(raw));
    }
}

static void test_bl_settings_decode_v1_layout(void **state)
{
    (void)state;
    uint8_t raw[BL_SETTINGS_V1_SIZE], back[BL_SETTINGS_V1_SIZE];
    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (uint8_t)i;
    }
    bl_settings_t s;
    bl_settings_decode_v1(raw, &s);
    assert_int_equal(s.sd_size, 0x37363534u);
    assert_int_equal(s.init_command[255], (347 & 0xFF));
    assert_int_equal(s.init_command[256], 0);
    assert_int_equal(s.peer_data[0], (348 & 0xFF));
    assert_int_equal(s.adv_name[27], (439 & 0xFF));
    assert_int_equal(s.boot_validation_crc, 0);
    assert_int_equal(s.boot_validation_app.type, 0);
    bl_settings_encode_v1(&s, back);
    assert_memory_equal(back, raw, sizeof(raw));
}

/// Display extras and accessor ///

static void test_bl_settings_fields_nrfutil_first_keys_unique(void **state)
{
    (void)state;
    bl_settings_t s = {0};
    bl_settings_field_t f, g;
    size_t n = bl_settings_field_count();
    assert_true(n > 13);
    for (size_t i = 0; i < n; i++) {
        assert_true(bl_settings_field(&s, i, &f));
        assert_int_equal(f.nrfutil, i < 13);
        assert_true(strlen(f.label) + 1 <= 25); /* keeps nrfutil's value column */
        for (size_t k = 0; k < i; k++) {
            assert_true(bl_settings_field(&s, k, &g));
            assert_string_not_equal(f.key, g.key);
        }
    }
    assert_false(bl_settings_field(&s, n, &f));
}

static void test_bl_settings_format_extras_and_truncation(void **state)
{
    (void)state;
    uint8_t raw[BL_SETTINGS_SIZE];
    bl_settings_t s;
    fixture_main_raw(&fixtures[0], raw);
    bl_settings_decode(raw, &s);
    s.progress.command_size = 3;
    s.init_command[0] = 0x12;
    bl_settings_display_t d = {"x.hex", BL_SETTINGS_FAMILY_NRF52, 0x7F000, true};
    char buf[8192];
    size_t n = bl_settings_format(&s, &d, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    const char *app_type = strstr(buf, "* App Boot Validation Type: 0x00000001 (1)\n");
    const char *bank1 = strstr(buf, "* Bank1 Bank Code:          0x00000000\n");
    assert_non_null(app_type);
    assert_non_null(bank1);
    assert_true(bank1 > app_type); /* extras come after nrfutil's fields */
    assert_non_null(strstr(buf, "* App BV Bytes:             967EA8B200"));
    assert_non_null(strstr(buf, "* Init Command:             120000\n"));

    char small[10];
    assert_int_equal(bl_settings_format(&s, &d, small, sizeof(small)), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(bl_settings_format(&s, &d, NULL, 0), n);
}

static void test_bl_settings_addresses_and_strerror(void **state)
{
    (void)state;
    assert_int_equal(bl_settings_addr(BL_SETTINGS_FAMILY_NRF52), 0x7F000);
    assert_int_equal(bl_settings_backup_addr(BL_SETTINGS_FAMILY_NRF52), 0x7E000);
    assert_int_equal(bl_settings_addr(BL_SETTINGS_FAMILY_NRF52840), 0xFF000);
    assert_int_equal(bl_settings_backup_addr(BL_SETTINGS_FAMILY_NRF52840), 0xFE000);
    for (int e = 0; e >= BL_SETTINGS_ERR_CRYPTO; e--) {
        assert_string_not_equal(bl_settings_strerror((bl_settings_err_t)e),
                                "unknown bl_settings error");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bl_settings_decode_matches_nrfutil_display),
        cmocka_unit_test(test_bl_settings_backup_page_equal_and_valid),
        cmocka_unit_test(test_bl_settings_format_reproduces_nrfutil_display),
        cmocka_unit_test(test_bl_settings_generate_matches_nrfutil_byte_for_byte),
        cmocka_unit_test(test_bl_settings_generate_no_backup_and_bad_inputs),
        cmocka_unit_test(test_bl_settings_ecdsa_fixture_signature_verifies),
        cmocka_unit_test(test_bl_settings_bv_check_crc_and_sha256),
        cmocka_unit_test(test_bl_settings_crc_spec_test_vector),
        cmocka_unit_test(test_bl_settings_main_ignores_bv_crc_backup_requires_it),
        cmocka_unit_test(test_bl_settings_forbidden_copy_mode_a_keeps_request_mode_b_reverts),
        cmocka_unit_test(test_bl_settings_forbidden_equal_per_mode),
        cmocka_unit_test(test_bl_settings_reinit_sources),
        cmocka_unit_test(test_bl_settings_upgrade_v1_to_v2),
        cmocka_unit_test(test_bl_settings_decode_offsets_and_round_trip),
        cmocka_unit_test(test_bl_settings_decode_v1_layout),
        cmocka_unit_test(test_bl_settings_fields_nrfutil_first_keys_unique),
        cmocka_unit_test(test_bl_settings_format_extras_and_truncation),
        cmocka_unit_test(test_bl_settings_addresses_and_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
