/*
 * test_ihex.c - Intel HEX reader/writer against nrfutil's fixtures, every
 * error kind with its line, writer round trips and a seeded mutation fuzz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emulator/ihex.h"

#define NRFUTIL DFUART_FIXTURES "/nrfutil"

/// Helpers ///

/* Whole file into a malloc'ed buffer (NUL-terminated for convenience). */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static ihex_image_t *load(const char *path)
{
    ihex_image_t *img = NULL;
    size_t line = 99;
    ihex_err_t err = ihex_load_file(path, &img, &line);
    if (err != IHEX_OK) {
        fail_msg("%s:%zu: %s", path, line, ihex_strerror(err));
    }
    assert_int_equal(line, 0);
    return img;
}

/* Growable text sink for the writer. */
typedef struct sink {
    char *buf;
    size_t len, cap;
    int fail_at; /* fail the n-th call (1-based); 0 = never */
    int calls;
} sink_t;

static int sink_emit(void *ctx, const char *line, size_t len)
{
    sink_t *s = ctx;
    if (++s->calls == s->fail_at) {
        return -1;
    }
    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
        assert_non_null(s->buf);
    }
    memcpy(s->buf + s->len, line, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return 0;
}

/* Builds one record; `count` may lie about the data length, `ck` adjusts the checksum. */
static void rec(char *out, unsigned count, unsigned off, unsigned type, const uint8_t *d, size_t n,
                int ck)
{
    unsigned sum = count + (off >> 8) + (off & 0xFF) + type;
    out += sprintf(out, ":%02X%04X%02X", count, off, type);
    for (size_t i = 0; i < n; i++) {
        out += sprintf(out, "%02X", d[i]);
        sum += d[i];
    }
    sprintf(out, "%02X\n", (unsigned)((0x100 - (sum & 0xFF) + ck) & 0xFF));
}

static void assert_images_equal(const ihex_image_t *a, const ihex_image_t *b)
{
    assert_int_equal(ihex_image_segment_count(a), ihex_image_segment_count(b));
    for (size_t i = 0; i < ihex_image_segment_count(a); i++) {
        const ihex_segment_t *x = ihex_image_segment(a, i), *y = ihex_image_segment(b, i);
        assert_int_equal(x->addr, y->addr);
        assert_int_equal(x->len, y->len);
        assert_memory_equal(x->data, y->data, x->len);
    }
}

/// Fixtures ///

typedef struct seg_ref {
    uint32_t lo, hi;
} seg_ref_t;

static const struct {
    const char *name;
    size_t nsegs;
    seg_ref_t segs[2];
} settings_hex[] = {
    {"s52832_app_ecdsa", 2, {{0x7E000, 0x7E324}, {0x7F000, 0x7F324}}},
    {"s52832_app_v3_crc", 2, {{0x7E000, 0x7E324}, {0x7F000, 0x7F324}}},
    {"s52832_app_v3_default", 2, {{0x7E000, 0x7E324}, {0x7F000, 0x7F324}}},
    {"s52832_app_v7_sha256", 2, {{0x7E000, 0x7E324}, {0x7F000, 0x7F324}}},
    {"s52832_noapp", 2, {{0x7E000, 0x7E324}, {0x7F000, 0x7F324}}},
    {"s52832_sd_app_crc", 2, {{0x7E000, 0x7E324}, {0x7F000, 0x7F324}}},
    {"s52832_v1", 2, {{0x7E000, 0x7E05C}, {0x7F000, 0x7F05C}}},
    {"s52840_app_large", 2, {{0xFE000, 0xFE324}, {0xFF000, 0xFF324}}},
};

static void test_ihex_parse_settings_fixtures_segments(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(settings_hex) / sizeof(settings_hex[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), NRFUTIL "/settings/%s.hex", settings_hex[i].name);
        ihex_image_t *img = load(path);
        assert_int_equal(ihex_image_segment_count(img), settings_hex[i].nsegs);
        for (size_t k = 0; k < settings_hex[i].nsegs; k++) {
            const ihex_segment_t *s = ihex_image_segment(img, k);
            assert_int_equal(s->addr, settings_hex[i].segs[k].lo);
            assert_int_equal(s->addr + s->len, settings_hex[i].segs[k].hi);
        }
        /* nrfutil writes the backup as an exact copy of the main page. */
        const ihex_segment_t *bk = ihex_image_segment(img, 0), *mn = ihex_image_segment(img, 1);
        assert_memory_equal(bk->data, mn->data, mn->len);
        ihex_image_free(img);
    }
}

/* Segments from packages.json "images"; bin_lo = where nrfutil's .bin starts. */
static const struct {
    const char *name;
    uint32_t bin_lo;
    size_t nsegs;
    seg_ref_t segs[5];
} image_hex[] = {
    {"app_s132", 0x26000, 3, {{0x26000, 0x260DC}, {0x26100, 0x319A9}, {0x319AC, 0x32360}}},
    {"app_v2", 0x26000, 3, {{0x26000, 0x260DC}, {0x26100, 0x319A9}, {0x319AC, 0x32360}}},
    {"app_large", 0x26000, 2, {{0x26000, 0x260DC}, {0x26100, 0x6FCC8}}},
    {"app_tiny", 0x26000, 1, {{0x26000, 0x2607C}}},
    {"bootloader", 0x78000, 2, {{0x78000, 0x781D4}, {0x10001014, 0x1000101C}}},
    {"softdevice",
     0x1000,
     5,
     {{0x0, 0x24}, {0x1000, 0x1040}, {0x3000, 0x3018}, {0x3100, 0x1ED88}, {0x25FFC, 0x26000}}},
};

static void test_ihex_parse_image_fixtures_flatten_equals_bin(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(image_hex) / sizeof(image_hex[0]); i++) {
        char path[512];
        size_t bin_len = 0;
        snprintf(path, sizeof(path), NRFUTIL "/images/%s.hex", image_hex[i].name);
        ihex_image_t *img = load(path);
        snprintf(path, sizeof(path), NRFUTIL "/images/%s.bin", image_hex[i].name);
        char *bin = read_all(path, &bin_len);

        assert_int_equal(ihex_image_segment_count(img), image_hex[i].nsegs);
        for (size_t k = 0; k < image_hex[i].nsegs; k++) {
            const ihex_segment_t *s = ihex_image_segment(img, k);
            assert_int_equal(s->addr, image_hex[i].segs[k].lo);
            assert_int_equal(s->addr + s->len, image_hex[i].segs[k].hi);
        }
        uint8_t *flat = malloc(bin_len);
        assert_non_null(flat);
        uint32_t lo = image_hex[i].bin_lo;
        assert_int_equal(ihex_image_flatten(img, lo, (uint64_t)lo + bin_len, flat), IHEX_OK);
        assert_memory_equal(flat, bin, bin_len);
        free(flat);
        free(bin);
        ihex_image_free(img);
    }
}

/* app_tiny.hex and bootloader.hex use type-02 records; bootloader.hex also has a type-03. */
static void test_ihex_parse_segment_and_start_records(void **state)
{
    (void)state;
    ihex_image_t *img = load(NRFUTIL "/images/bootloader.hex");
    uint8_t uicr[8];
    assert_int_equal(ihex_image_read(img, 0x10001014, uicr, sizeof(uicr)), IHEX_OK);
    static const uint8_t want[8] = {0x00, 0x80, 0x07, 0x00, 0x00, 0xE0, 0x07, 0x00};
    assert_memory_equal(uicr, want, sizeof(want));
    ihex_image_free(img);
}

/// Errors with line numbers ///

typedef struct err_case {
    const char *what;
    char text[512];
    ihex_err_t err;
    size_t line;
} err_case_t;

static const uint8_t d4[4] = {1, 2, 3, 4};
static const uint8_t up_7[2] = {0x00, 0x07};

static void build_err_cases(err_case_t *c, size_t *n)
{
    char r1[128], r2[128], eof[] = ":00000001FF\n";
    size_t k = 0;
    rec(r1, 2, 0, 4, up_7, 2, 0);
    rec(r2, 4, 0x1000, 0, d4, 4, 0);

    c[k] = (err_case_t){"no colon", "", IHEX_ERR_NO_COLON, 2};
    snprintf(c[k++].text, 512, "%s;%s", r1, r2 + 1);
    c[k] = (err_case_t){"hex digit", "", IHEX_ERR_HEX_DIGIT, 3};
    snprintf(c[k++].text, 512, "%s%s:04100000010G030400\n%s", r1, r2, eof);
    c[k] = (err_case_t){"odd length", "", IHEX_ERR_LENGTH, 2};
    snprintf(c[k++].text, 512, "%s:0410000001020304E\n%s", r1, eof);
    c[k] = (err_case_t){"short line", "", IHEX_ERR_LENGTH, 1};
    snprintf(c[k++].text, 512, ":0000\n%s", eof);
    rec(r2, 5, 0x1000, 0, d4, 4, 0); /* count says 5, 4 bytes given */
    c[k] = (err_case_t){"count vs length", "", IHEX_ERR_LENGTH, 2};
    snprintf(c[k++].text, 512, "%s%s%s", r1, r2, eof);
    rec(r2, 4, 0x1000, 0, d4, 4, 1);
    c[k] = (err_case_t){"checksum", "", IHEX_ERR_CHECKSUM, 2};
    snprintf(c[k++].text, 512, "%s%s%s", r1, r2, eof);
    rec(r2, 4, 0x1000, 6, d4, 4, 0);
    c[k] = (err_case_t){"record type", "", IHEX_ERR_RECORD_TYPE, 2};
    snprintf(c[k++].text, 512, "%s%s%s", r1, r2, eof);
    rec(r2, 1, 0, 4, up_7, 1, 0);
    c[k] = (err_case_t){"short type 04", "", IHEX_ERR_RECORD, 1};
    snprintf(c[k++].text, 512, "%s%s", r2, eof);
    rec(r2, 1, 0, 1, up_7, 1, 0);
    c[k] = (err_case_t){"EOF with data", "", IHEX_ERR_RECORD, 2};
    snprintf(c[k++].text, 512, "%s%s", r1, r2);
    rec(r2, 4, 0x1000, 0, d4, 4, 0);
    c[k] = (err_case_t){"missing EOF", "", IHEX_ERR_MISSING_EOF, 3};
    snprintf(c[k++].text, 512, "%s%s", r1, r2);
    c[k++] = (err_case_t){"empty text", "", IHEX_ERR_MISSING_EOF, 1};
    c[k] = (err_case_t){"after EOF", "", IHEX_ERR_AFTER_EOF, 3};
    snprintf(c[k++].text, 512, "%s%s\r\n%s", eof, "", r2);
    c[k] = (err_case_t){"overlap", "", IHEX_ERR_OVERLAP, 3};
    snprintf(c[k++].text, 512, "%s%s%s%s", r1, r2, r2, eof);
    static const uint8_t up_ffff[2] = {0xFF, 0xFF};
    rec(r1, 2, 0, 4, up_ffff, 2, 0);
    rec(r2, 4, 0xFFFE, 0, d4, 4, 0);
    c[k] = (err_case_t){"past 4 GiB", "", IHEX_ERR_ADDRESS, 2};
    snprintf(c[k++].text, 512, "%s%s%s", r1, r2, eof);
    *n = k;
}

static void test_ihex_parse_reports_each_error_with_line(void **state)
{
    (void)state;
    err_case_t cases[20];
    size_t n = 0;
    build_err_cases(cases, &n);
    for (size_t i = 0; i < n; i++) {
        ihex_image_t *img = (ihex_image_t *)&img; /* must be reset to NULL */
        size_t line = 0;
        ihex_err_t err = ihex_parse(cases[i].text, strlen(cases[i].text), &img, &line);
        if (err != cases[i].err || line != cases[i].line) {
            fail_msg("%s: got %d (%s) at line %zu, want %d at line %zu", cases[i].what, err,
                     ihex_strerror(err), line, cases[i].err, cases[i].line);
        }
        assert_null(img);
    }
}

static void test_ihex_parse_accepts_crlf_blank_lines_and_no_final_newline(void **state)
{
    (void)state;
    char r1[128], r2[128], text[512];
    rec(r1, 2, 0, 4, up_7, 2, 0);
    rec(r2, 4, 0xF000, 0, d4, 4, 0);
    r1[strlen(r1) - 1] = '\0'; /* drop '\n' to add "\r\n" */
    snprintf(text, sizeof(text), "%s\r\n\n%s:0400000300001234B3\n:00000001FF", r1, r2);
    ihex_image_t *img = NULL;
    size_t line = 7;
    assert_int_equal(ihex_parse(text, strlen(text), &img, &line), IHEX_OK);
    assert_int_equal(line, 0);
    uint8_t got[4];
    assert_int_equal(ihex_image_read(img, 0x7F000, got, 4), IHEX_OK);
    assert_memory_equal(got, d4, 4);
    ihex_image_free(img);
}

static void test_ihex_load_file_missing_is_io_error(void **state)
{
    (void)state;
    ihex_image_t *img = NULL;
    size_t line = 5;
    assert_int_equal(ihex_load_file(NRFUTIL "/does-not-exist.hex", &img, &line), IHEX_ERR_IO);
    assert_null(img);
    assert_int_equal(line, 0);
}

/// Image container ///

static void test_ihex_image_add_merges_in_any_order_and_rejects_overlap(void **state)
{
    (void)state;
    ihex_image_t *img = ihex_image_new();
    uint8_t a[16];
    for (size_t i = 0; i < sizeof(a); i++) {
        a[i] = (uint8_t)i;
    }
    assert_int_equal(ihex_image_add(img, 0x108, a + 8, 8), IHEX_OK);
    assert_int_equal(ihex_image_add(img, 0x100, a, 4), IHEX_OK); /* gap 0x104..0x107 */
    assert_int_equal(ihex_image_segment_count(img), 2);
    assert_int_equal(ihex_image_add(img, 0x104, a + 4, 4), IHEX_OK); /* closes the gap */
    assert_int_equal(ihex_image_segment_count(img), 1);
    assert_int_equal(ihex_image_add(img, 0xF0, a, 16), IHEX_OK); /* prepends */
    assert_int_equal(ihex_image_segment_count(img), 1);
    assert_int_equal(ihex_image_add(img, 0x10F, a, 2), IHEX_ERR_OVERLAP);
    assert_int_equal(ihex_image_add(img, 0xEF, a, 2), IHEX_ERR_OVERLAP);
    assert_int_equal(ihex_image_add(img, 0xFFFFFFFF, a, 2), IHEX_ERR_ADDRESS);
    assert_int_equal(ihex_image_add(img, 0xFFFFFFFF, a, 1), IHEX_OK);

    const ihex_segment_t *s = ihex_image_segment(img, 0);
    assert_int_equal(s->addr, 0xF0);
    assert_int_equal(s->len, 32);
    assert_memory_equal(s->data, a, 16);
    assert_memory_equal(s->data + 16, a, 16);
    uint32_t lo = 0;
    uint64_t hi = 0;
    assert_int_equal(ihex_image_bounds(img, &lo, &hi), IHEX_OK);
    assert_int_equal(lo, 0xF0);
    assert_true(hi == 0x100000000ull);
    assert_int_equal(ihex_image_size(img), 33);
    assert_null(ihex_image_segment(img, 2));
    ihex_image_free(img);
}

static void test_ihex_image_read_requires_all_bytes_flatten_fills_ff(void **state)
{
    (void)state;
    ihex_image_t *img = ihex_image_new();
    assert_int_equal(ihex_image_add(img, 0x10, d4, 4), IHEX_OK);
    assert_int_equal(ihex_image_add(img, 0x18, d4, 4), IHEX_OK);
    uint8_t out[16];
    assert_int_equal(ihex_image_read(img, 0x10, out, 12), IHEX_ERR_RANGE);
    assert_true(ihex_image_covers(img, 0x18, 0x1C));
    assert_false(ihex_image_covers(img, 0x12, 0x19));
    assert_int_equal(ihex_image_flatten(img, 0x0E, 0x1E, out), IHEX_OK);
    static const uint8_t want[16] = {0xFF, 0xFF, 1, 2, 3, 4, 0xFF, 0xFF,
                                     0xFF, 0xFF, 1, 2, 3, 4, 0xFF, 0xFF};
    assert_memory_equal(out, want, 16);
    assert_int_equal(ihex_image_flatten(img, 0x20, 0x10, out), IHEX_ERR_ARG);
    ihex_image_t *empty = ihex_image_new();
    uint32_t lo;
    uint64_t hi;
    assert_int_equal(ihex_image_bounds(empty, &lo, &hi), IHEX_ERR_RANGE);
    ihex_image_free(empty);
    ihex_image_free(img);
}

/// Writer ///

static ihex_image_t *sample_image(void)
{
    ihex_image_t *img = ihex_image_new();
    static uint8_t big[0x2345];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 7 + 3);
    }
    assert_int_equal(ihex_image_add(img, 0x0, big, 5), IHEX_OK);
    assert_int_equal(ihex_image_add(img, 0x1FFF0, big, sizeof(big)), IHEX_OK); /* crosses 64K */
    assert_int_equal(ihex_image_add(img, 0x7F000, big, 803), IHEX_OK);
    assert_int_equal(ihex_image_add(img, 0x10001014, big, 8), IHEX_OK);
    assert_int_equal(ihex_image_add(img, 0xFFFFFFF0, big, 16), IHEX_OK);
    return img;
}

/* Checks record lengths and that a type-04 record comes exactly when the upper bits change. */
static void check_writer_text(const char *text, unsigned bpl)
{
    int have_upper = 0;
    unsigned upper = 0, records = 0;
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        unsigned n, off, type;
        assert_int_equal(sscanf(p, ":%2x%4x%2x", &n, &off, &type), 3);
        if (type == 4) {
            unsigned hi;
            assert_int_equal(sscanf(p + 9, "%4x", &hi), 1);
            assert_true(!have_upper || hi != upper);
            have_upper = 1;
            upper = hi;
        } else if (type == 0) {
            assert_true(have_upper);
            assert_true(n <= bpl);
            assert_true(off + n <= 0x10000);
        }
        records++;
    }
    assert_true(records > 0);
}

static void test_ihex_writer_round_trip_16_and_32(void **state)
{
    (void)state;
    ihex_image_t *img = sample_image();
    static const unsigned bpls[] = {16, 32, 255, 1};
    for (size_t k = 0; k < sizeof(bpls) / sizeof(bpls[0]); k++) {
        sink_t s = {0};
        assert_int_equal(ihex_write_image(img, bpls[k], false, sink_emit, &s), IHEX_OK);
        check_writer_text(s.buf, bpls[k]);
        ihex_image_t *back = NULL;
        size_t line = 0;
        assert_int_equal(ihex_parse(s.buf, s.len, &back, &line), IHEX_OK);
        assert_images_equal(img, back);
        ihex_image_free(back);
        free(s.buf);
    }
    ihex_image_free(img);
}

/* nrfutil writes 16-byte records and one type-04 record: our writer reproduces its files. */
static void test_ihex_writer_reproduces_nrfutil_settings_hex(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(settings_hex) / sizeof(settings_hex[0]); i++) {
        char path[512];
        size_t len = 0;
        snprintf(path, sizeof(path), NRFUTIL "/settings/%s.hex", settings_hex[i].name);
        char *text = read_all(path, &len);
        ihex_image_t *img = load(path);
        sink_t s = {0};
        assert_int_equal(ihex_write_image(img, 16, false, sink_emit, &s), IHEX_OK);
        assert_int_equal(s.len, len);
        assert_memory_equal(s.buf, text, len);
        free(s.buf);
        free(text);
        ihex_image_free(img);
    }
}

static void test_ihex_writer_skip_erased_drops_ff_records(void **state)
{
    (void)state;
    uint8_t page[256];
    memset(page, 0xFF, sizeof(page));
    memcpy(page + 40, d4, 4);
    ihex_writer_t w;
    sink_t s = {0};
    assert_int_equal(ihex_writer_init(&w, 16, true, sink_emit, &s), IHEX_OK);
    assert_int_equal(ihex_writer_data(&w, 0x7E000, page, sizeof(page)), IHEX_OK);
    assert_int_equal(ihex_writer_end(&w), IHEX_OK);
    assert_int_equal(ihex_writer_data(&w, 0, page, 1), IHEX_ERR_ARG); /* after end */
    assert_string_equal(s.buf, ":020000040007F3\n"
                               ":10E02000FFFFFFFFFFFFFFFF01020304FFFFFFFFF2\n"
                               ":00000001FF\n");
    ihex_image_t *back = NULL;
    assert_int_equal(ihex_parse(s.buf, s.len, &back, NULL), IHEX_OK);
    uint8_t flat[256];
    assert_int_equal(ihex_image_flatten(back, 0x7E000, 0x7E100, flat), IHEX_OK);
    assert_memory_equal(flat, page, sizeof(page));
    ihex_image_free(back);
    free(s.buf);
}

static void test_ihex_writer_sink_failure_and_bad_options(void **state)
{
    (void)state;
    ihex_image_t *img = sample_image();
    for (int at = 1; at <= 3; at++) {
        sink_t s = {.fail_at = at};
        assert_int_equal(ihex_write_image(img, 16, false, sink_emit, &s), IHEX_ERR_IO);
        free(s.buf);
    }
    ihex_writer_t w;
    assert_int_equal(ihex_writer_init(&w, 0, false, sink_emit, NULL), IHEX_ERR_ARG);
    assert_int_equal(ihex_writer_init(&w, 256, false, sink_emit, NULL), IHEX_ERR_ARG);
    assert_int_equal(ihex_writer_init(&w, 16, false, NULL, NULL), IHEX_ERR_ARG);
    assert_int_equal(ihex_writer_init(&w, 16, false, sink_emit, NULL), IHEX_OK);
    assert_int_equal(ihex_writer_data(&w, 0xFFFFFFFF, d4, 2), IHEX_ERR_ADDRESS);
    ihex_image_free(img);
}

/// Robustness ///

static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static size_t count_lines(const char *t, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) {
        lines += t[i] == '\n' || (i == n - 1);
    }
    return lines;
}

static void mutate(char *t, size_t *n, size_t cap)
{
    size_t pos = *n ? rnd() % *n : 0;
    switch (rnd() % 4) {
    case 0:
        if (*n) {
            t[pos] = (char)(rnd() & 0xFF);
        }
        break;
    case 1:
        if (*n) {
            memmove(t + pos, t + pos + 1, *n - pos - 1);
            (*n)--;
        }
        break;
    case 2:
        if (*n < cap) {
            memmove(t + pos + 1, t + pos, *n - pos);
            t[pos] = "0123456789ABCDEF:\r\nG"[rnd() % 20];
            (*n)++;
        }
        break;
    default:
        *n = pos;
        break;
    }
}

/* Every mutation either parses or yields an input error whose line exists. Run under ASan. */
static void test_ihex_parse_survives_seeded_mutations(void **state)
{
    (void)state;
    size_t base_len = 0;
    char *base = read_all(NRFUTIL "/images/bootloader.hex", &base_len);
    char *t = malloc(base_len + 64);
    assert_non_null(t);
    rng_state = 0x2545F491u;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = base_len;
        memcpy(t, base, n);
        int muts = 1 + (int)(rnd() % 4);
        for (int m = 0; m < muts; m++) {
            mutate(t, &n, base_len + 64);
        }
        ihex_image_t *img = NULL;
        size_t line = 0;
        ihex_err_t err = ihex_parse(t, n, &img, &line);
        if (err == IHEX_OK) {
            assert_non_null(img);
            ihex_image_free(img);
            continue;
        }
        assert_null(img);
        assert_true(err <= IHEX_ERR_NO_COLON && err >= IHEX_ERR_ADDRESS);
        assert_true(line >= 1 && line <= count_lines(t, n) + 1);
    }
    free(t);
    free(base);
}

static void test_ihex_strerror_names_every_code(void **state)
{
    (void)state;
    for (int e = 0; e >= IHEX_ERR_RANGE; e--) {
        const char *s = ihex_strerror((ihex_err_t)e);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown ihex error");
    }
    assert_string_equal(ihex_strerror(IHEX_ERR_CHECKSUM), "bad checksum");
    assert_string_equal(ihex_strerror((ihex_err_t)-99), "unknown ihex error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ihex_parse_settings_fixtures_segments),
        cmocka_unit_test(test_ihex_parse_image_fixtures_flatten_equals_bin),
        cmocka_unit_test(test_ihex_parse_segment_and_start_records),
        cmocka_unit_test(test_ihex_parse_reports_each_error_with_line),
        cmocka_unit_test(test_ihex_parse_accepts_crlf_blank_lines_and_no_final_newline),
        cmocka_unit_test(test_ihex_load_file_missing_is_io_error),
        cmocka_unit_test(test_ihex_image_add_merges_in_any_order_and_rejects_overlap),
        cmocka_unit_test(test_ihex_image_read_requires_all_bytes_flatten_fills_ff),
        cmocka_unit_test(test_ihex_writer_round_trip_16_and_32),
        cmocka_unit_test(test_ihex_writer_reproduces_nrfutil_settings_hex),
        cmocka_unit_test(test_ihex_writer_skip_erased_drops_ff_records),
        cmocka_unit_test(test_ihex_writer_sink_failure_and_bad_options),
        cmocka_unit_test(test_ihex_parse_survives_seeded_mutations),
        cmocka_unit_test(test_ihex_strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
