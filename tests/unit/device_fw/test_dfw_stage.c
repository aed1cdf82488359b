/*
 * test_dfw_stage.c - the bank-1 staging core (spec §8.3) against a fake flash.
 *
 * The fake flash enforces the nRF52 NVMC rules (spec §9.1): aligned whole
 * words only, no write across a page, programming only clears bits and may
 * only target erased words (the test fails otherwise), one program per word
 * per erase. It counts operations, records every word ever programmed, can
 * fail the n-th operation, and can have a stuck bit.
 *
 * Devices are built from genuine material: nrfutil settings pages
 * (fixtures/nrfutil/settings), nrfutil packages' .dat (packages.json) and
 * images (fixtures/nrfutil/images), an SD info struct at 0x3000 as S132/S140
 * have it. All other flash holds non-0xFF "stale" patterns, so a missing erase
 * is caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_fw/dfw_initcmd.h"
#include "device_fw/dfw_stage.h"
#include "proto/crc32.h"

#define PAGE      4096u
#define FLASH_MAX 0x100000u

/* =============================================================== fake flash */

typedef struct fake_flash {
    uint8_t *mem;
    uint32_t size;
    uint8_t *word_writes; /* per word: programs since its page was erased */
    uint8_t *touched;     /* per word: ever programmed */
    uint16_t erase_count[FLASH_MAX / PAGE];
    unsigned reads, writes, erases;
    unsigned fail_op;   /* fail the n-th write/erase call (1-based), 0 = never */
    unsigned fail_read; /* fail the n-th read call, 0 = never */
    int failed;
    unsigned ops_after_fail;
    uint32_t stuck_addr; /* word whose bits in stuck_mask never program to 0 */
    uint32_t stuck_mask;
} fake_flash_t;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void ff_count_after_fail(fake_flash_t *f)
{
    if (f->failed) {
        f->ops_after_fail++;
    }
}

static int ff_read(void *ctx, uint32_t addr, void *dst, uint32_t len)
{
    fake_flash_t *f = ctx;
    ff_count_after_fail(f);
    f->reads++;
    if (f->fail_read != 0 && f->reads == f->fail_read) {
        f->failed = 1;
        return -7;
    }
    if ((uint64_t)addr + len > f->size) {
        fail_msg("read outside flash: 0x%x + %u", addr, len);
    }
    memcpy(dst, f->mem + addr, len);
    return 0;
}

static int ff_write(void *ctx, uint32_t addr, const uint32_t *w, uint32_t n)
{
    fake_flash_t *f = ctx;
    ff_count_after_fail(f);
    f->writes++;
    if (f->fail_op != 0 && f->writes + f->erases == f->fail_op) {
        f->failed = 1;
        return -5;
    }
    if (addr % 4 != 0 || n == 0 || (uint64_t)addr + 4ull * n > f->size ||
        addr / PAGE != (addr + 4 * n - 1) / PAGE || ((uintptr_t)w & 3u) != 0) {
        fail_msg("illegal write: addr 0x%x, %u words", addr, n);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = addr + 4 * i, old = get32(f->mem + a);
        if (f->word_writes[a / 4] != 0) {
            fail_msg("word 0x%x programmed twice without erase", a);
        }
        if ((old & w[i]) != w[i]) {
            fail_msg("programming non-erased word 0x%x (0x%08x <- 0x%08x)", a, old, w[i]);
        }
        uint32_t stuck = a == f->stuck_addr ? f->stuck_mask : 0;
        put32(f->mem + a, old & (w[i] | stuck)); /* NVMC: AND */
        f->word_writes[a / 4]++;
        f->touched[a / 4] = 1;
    }
    return 0;
}

static int ff_erase(void *ctx, uint32_t page)
{
    fake_flash_t *f = ctx;
    ff_count_after_fail(f);
    f->erases++;
    if (f->fail_op != 0 && f->writes + f->erases == f->fail_op) {
        f->failed = 1;
        return -6;
    }
    if (page % PAGE != 0 || page >= f->size) {
        fail_msg("illegal erase 0x%x", page);
    }
    memset(f->mem + page, 0xFF, PAGE);
    memset(f->word_writes + page / 4, 0, PAGE / 4);
    f->erase_count[page / PAGE]++;
    return 0;
}

/* ================================================================ fixtures */

static uint8_t *read_file(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", DFUART_FIXTURES, rel);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = 0;
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static size_t hex_decode(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (hex_nibble(s[0]) >= 0 && hex_nibble(s[1]) >= 0) {
        assert_true(n < cap);
        out[n++] = (uint8_t)(hex_nibble(s[0]) << 4 | hex_nibble(s[1]));
        s += 2;
    }
    return n;
}

/* Test-only Intel HEX reader (types 00, 01, 02, 04), checksums verified. */
static void load_ihex(const char *rel, uint8_t *mem, uint32_t mem_size)
{
    size_t len;
    char *text = (char *)read_file(rel, &len);
    uint32_t base = 0;
    for (char *line = strtok(text, "\r\n"); line != NULL; line = strtok(NULL, "\r\n")) {
        if (line[0] != ':') {
            continue;
        }
        uint8_t rec[300];
        size_t n = hex_decode(line + 1, rec, sizeof(rec));
        assert_true(n >= 5 && n == (size_t)rec[0] + 5u);
        uint8_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            sum = (uint8_t)(sum + rec[i]);
        }
        assert_int_equal(sum, 0);
        uint32_t addr = base + ((uint32_t)rec[1] << 8 | rec[2]);
        if (rec[3] == 0) {
            assert_true(addr + rec[0] <= mem_size);
            memcpy(mem + addr, rec + 4, rec[0]);
        } else if (rec[3] == 2) {
            base = ((uint32_t)rec[4] << 8 | rec[5]) << 4;
        } else if (rec[3] == 4) {
            base = ((uint32_t)rec[4] << 8 | rec[5]) << 16;
        }
    }
    free(text);
}

/* The .dat of a single-image package in packages.json, by zip name. */
static size_t load_dat(const char *pkg, uint8_t *out, size_t cap)
{
    size_t len;
    char *json = (char *)read_file("nrfutil/packages.json", &len);
    char key[128];
    snprintf(key, sizeof(key), "\"file\": \"packages/%s.zip\"", pkg);
    const char *p = strstr(json, key);
    assert_non_null(p);
    p = strstr(p, "\"dat_hex\": \"");
    assert_non_null(p);
    size_t n = hex_decode(p + strlen("\"dat_hex\": \""), out, cap);
    free(json);
    return n;
}

typedef struct blob {
    uint8_t *d;
    size_t n;
} blob_t;

static blob_t load_bin(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "nrfutil/images/%s.bin", name);
    blob_t b;
    b.d = read_file(rel, &b.n);
    return b;
}

/* Synthetic image: deterministic bytes of any length. */
static blob_t make_image(size_t n, uint32_t seed)
{
    blob_t b = {malloc(n + 1), n};
    assert_non_null(b.d);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b.d[i] = (uint8_t)(seed >> 16);
    }
    return b;
}

/* Tiny protobuf writer for synthetic (unsigned) init packets. */
typedef struct pb {
    uint8_t d[600];
    size_t n;
} pb_t;

static void pb_varint(pb_t *b, uint64_t v)
{
    do {
        assert_true(b->n < sizeof(b->d));
        b->d[b->n++] = (uint8_t)((v & 0x7Fu) | (v > 0x7Fu ? 0x80u : 0u));
        v >>= 7;
    } while (v != 0);
}

static void pb_u32(pb_t *b, uint32_t field, uint32_t v)
{
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, v);
}

static void pb_bytes(pb_t *b, uint32_t field, const uint8_t *p, size_t n)
{
    pb_varint(b, (uint64_t)field << 3 | 2u);
    pb_varint(b, n);
    assert_true(b->n + n <= sizeof(b->d));
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

/* Unsigned Packet{command{INIT, init{type, app_size, hash{hash_type, 32 bytes}}}}. */
static size_t make_dat(uint8_t *out, uint32_t type, uint32_t app_size, uint32_t hash_type)
{
    uint8_t digest[32] = {1, 2, 3};
    pb_t hash = {0}, init = {0}, cmd = {0}, pkt = {0};
    pb_u32(&hash, 1, hash_type);
    pb_bytes(&hash, 2, digest, sizeof(digest));
    pb_u32(&init, 1, 1);
    pb_u32(&init, 2, 52);
    pb_u32(&init, 4, type);
    pb_u32(&init, 7, app_size);
    pb_bytes(&init, 8, hash.d, hash.n);
    pb_u32(&cmd, 1, 1);
    pb_bytes(&cmd, 2, init.d, init.n);
    pb_bytes(&pkt, 1, cmd.d, cmd.n);
    memcpy(out, pkt.d, pkt.n);
    return pkt.n;
}

/* ================================================================= devices */

typedef enum { DEV_52832_S132, DEV_52832_MBR, DEV_52840_S140 } dev_kind_t;

typedef struct device {
    fake_flash_t *f;
    dfw_hal_t hal;
    dfw_layout_t layout;
    uint8_t *before; /* flash contents right after setup */
} device_t;

static void fill(uint8_t *mem, uint32_t from, uint32_t to, uint8_t seed)
{
    for (uint32_t a = from; a < to; a++) {
        mem[a] = (uint8_t)(seed + a * 13u);
    }
}

/* SD info struct (spec §1.2) as S132/S140 7.x carry it at 0x3000. */
static void put_sd_info(uint8_t *mem, uint32_t sd_end, uint16_t fwid)
{
    memset(mem + 0x3000, 0, 0x2C);
    mem[0x3000] = 0x2C;
    put32(mem + 0x3004, 0x51B1E5DBu);
    put32(mem + 0x3008, sd_end);
    mem[0x300C] = (uint8_t)fwid;
    mem[0x300D] = (uint8_t)(fwid >> 8);
}

static void device_make(device_t *d, dev_kind_t kind)
{
    static const dfw_layout_t l32 = DFW_LAYOUT_NRF52832, l40 = DFW_LAYOUT_NRF52840;
    memset(d, 0, sizeof(*d));
    d->layout = kind == DEV_52840_S140 ? l40 : l32;
    fake_flash_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->size = d->layout.flash_size;
    f->mem = malloc(f->size);
    f->word_writes = calloc(f->size / 4, 1);
    f->touched = calloc(f->size / 4, 1);
    assert_true(f->mem && f->word_writes && f->touched);
    d->f = f;
    d->hal = (dfw_hal_t){.ctx = f,
                         .page_size = PAGE,
                         .read = ff_read,
                         .write_words = ff_write,
                         .erase_page = ff_erase};

    /* Stale data everywhere (free space is not erased), then the real parts. */
    fill(f->mem, 0, f->size, 0x3C);
    const char *settings = kind == DEV_52840_S140 ? "nrfutil/settings/s52840_app_large.hex"
                                                  : "nrfutil/settings/s52832_app_v3_crc.hex";
    memset(f->mem + d->layout.backup_addr, 0xFF, 2 * PAGE); /* backup + settings pages */
    load_ihex(settings, f->mem, f->size);
    uint32_t bank0 = 0x1000;
    if (kind == DEV_52832_S132) {
        put_sd_info(f->mem, 0x26000, 0x0101);
        bank0 = 0x26000;
    } else if (kind == DEV_52840_S140) {
        put_sd_info(f->mem, 0x27000, 0x0100);
        bank0 = 0x27000;
    }
    blob_t app = load_bin(kind == DEV_52840_S140 ? "app_large" : "app_s132");
    memcpy(f->mem + bank0, app.d, app.n); /* the running application (bank 0) */
    free(app.d);
    d->before = malloc(f->size);
    assert_non_null(d->before);
    memcpy(d->before, f->mem, f->size);
}

static void device_free(device_t *d)
{
    free(d->f->mem);
    free(d->f->word_writes);
    free(d->f->touched);
    free(d->f);
    free(d->before);
}

static unsigned flash_ops(const device_t *d)
{
    return d->f->writes + d->f->erases;
}

/* Every byte 0xFF? */
static bool page_is_blank(const uint8_t *mem, uint32_t page)
{
    for (uint32_t i = 0; i < PAGE; i++) {
        if (mem[page + i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* Settings page the recipe must produce, built independently (spec §8.3 step 5). */
static void expected_settings(const uint8_t *old, const uint8_t *dat, size_t n, uint8_t *out)
{
    memcpy(out, old, 896);
    memcpy(out + 92, dat, n);
    memset(out + 92 + n, 0xFF, 512 - n);
    put32(out + 56, (uint32_t)n);
    put32(out + 60, (uint32_t)n);
    put32(out + 64, crc32_compute(dat, n));
    memset(out + 68, 0, 20);
    put32(out + 48, 0);
    put32(out + 20, 1);
    put32(out + 0, crc32_compute(out + 4, 88));
}

/*
 * After a successful stage: bank 1 holds the image (0xFF after it up to the
 * page end), the settings page holds the recipe's result, and every other
 * byte of flash, the backup page included, is what it was. Every bank-1 page
 * that was not blank before and the settings page were erased exactly once, no
 * other page at all (blank pages are not erased), and no word outside bank 1
 * and the settings record was ever programmed.
 */
static void check_staged(const device_t *d, uint32_t bank1, const blob_t *img, const uint8_t *dat,
                         size_t dat_len)
{
    const fake_flash_t *f = d->f;
    uint32_t img_end = bank1 + (uint32_t)img->n;
    uint32_t pages_end = (img_end + PAGE - 1) / PAGE * PAGE;
    uint32_t set = d->layout.settings_addr;
    assert_memory_equal(f->mem + bank1, img->d, img->n);
    for (uint32_t a = img_end; a < pages_end; a++) {
        assert_int_equal(f->mem[a], 0xFF);
    }
    uint8_t want[896];
    expected_settings(d->before + set, dat, dat_len, want);
    assert_memory_equal(f->mem + set, want, 896);
    for (uint32_t a = set + 896; a < set + PAGE; a++) {
        assert_int_equal(f->mem[a], 0xFF);
    }
    assert_memory_equal(f->mem, d->before, bank1);
    assert_memory_equal(f->mem + pages_end, d->before + pages_end, set - pages_end);
    assert_memory_equal(f->mem + set + PAGE, d->before + set + PAGE, f->size - set - PAGE);
    for (uint32_t p = 0; p < f->size / PAGE; p++) {
        uint32_t a = p * PAGE;
        int staged = (a >= bank1 && a < pages_end && !page_is_blank(d->before, a)) || a == set;
        if (f->erase_count[p] != (staged ? 1 : 0)) {
            fail_msg("page 0x%x erased %u times", a, f->erase_count[p]);
        }
    }
    for (uint32_t w = 0; w < f->size / 4; w++) {
        uint32_t a = 4 * w;
        int allowed = (a >= bank1 && a < (img_end + 3) / 4 * 4) || (a >= set && a < set + 896);
        if (f->touched[w] && !allowed) {
            fail_msg("word 0x%x programmed outside bank 1 / settings", a);
        }
    }
}

/* ============================================================ stage drivers */

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Feed img[from, n) in chunks of `chunk` bytes, or random 1..5000 when chunk is 0. */
static void write_range(dfw_stage_t *st, const blob_t *img, size_t from, size_t chunk,
                        uint32_t seed)
{
    size_t off = from;
    while (off < img->n) {
        size_t k = chunk != 0 ? chunk : 1 + rng_next(&seed) % 5000u;
        if (k > img->n - off) {
            k = img->n - off;
        }
        assert_int_equal(dfw_stage_write(st, (uint32_t)off, img->d + off, k), DFW_OK);
        off += k;
        assert_int_equal(dfw_stage_next_offset(st), off);
    }
}

static void stage_whole(device_t *d, const uint8_t *dat, size_t dat_len, const blob_t *img,
                        size_t chunk, uint32_t seed)
{
    dfw_stage_t st;
    uint32_t scratch[DFW_SETTINGS_WORDS];
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d->hal, &d->layout, dat, dat_len), DFW_OK);
    assert_int_equal(flash_ops(d), 0);
    write_range(&st, img, 0, chunk, seed);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_DONE);
}

/* ==================================================================== tests */

static void test_dfw_stage_any_chunking_gives_identical_flash(void **state)
{
    (void)state;
    static const struct {
        size_t chunk;
        uint32_t seed;
    } runs[] = {{1, 0},    {3, 0},    {4, 0},     {64, 0}, {2048, 0},
                {4096, 0}, {4099, 0}, {50016, 0}, {0, 1},  {0, 0xC0FFEE}};
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    assert_int_equal(img.n, 50016);
    uint8_t *reference = NULL;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        device_t d;
        device_make(&d, DEV_52832_S132);
        stage_whole(&d, dat, dat_len, &img, runs[i].chunk, runs[i].seed);
        check_staged(&d, 0x33000, &img, dat, dat_len);
        if (reference == NULL) {
            reference = malloc(d.f->size);
            memcpy(reference, d.f->mem, d.f->size);
        } else {
            assert_memory_equal(d.f->mem, reference, d.f->size);
        }
        device_free(&d);
    }
    free(reference);
    free(img.d);
}

/* Image sizes that are not a multiple of 4 or of a page; last word padded with 0xFF. */
static void test_dfw_stage_odd_sizes_pad_last_word(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 5, 4095, 4096, 4097, 4098, 8191, 12290};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t chunk = 1; chunk <= 7; chunk += 3) {
            uint8_t dat[600];
            size_t dat_len = make_dat(dat, 0, (uint32_t)sizes[i], 3);
            blob_t img = make_image(sizes[i], (uint32_t)i);
            device_t d;
            device_make(&d, DEV_52832_MBR);
            stage_whole(&d, dat, dat_len, &img, chunk, 0);
            check_staged(&d, 0xE000, &img, dat, dat_len);
            device_free(&d);
            free(img.d);
        }
    }
}

static uint32_t begin_bank1(device_t *d, const uint8_t *dat, size_t dat_len)
{
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d->hal, &d->layout, dat, dat_len), DFW_OK);
    return dfw_stage_bank1_addr(&st);
}

/* bank1 = ALIGN_UP_4K(bank0_start + bank_0.image_size), bank0 from the SD info (spec §3.2). */
static void test_dfw_stage_bank1_address_follows_bootloader(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = make_dat(dat, 0, 1000, 3);
    device_t d;

    device_make(&d, DEV_52832_S132); /* 0x26000 + 50016 -> 0x33000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x33000);
    put32(d.f->mem + 0x3008, 0x26100); /* unaligned SD end: bank0 rounds up to 0x27000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x34000);
    put32(d.f->mem + 0x3004, 0x51B1E5DAu); /* no magic: MBR only, bank0 = 0x1000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0xE000);
    device_free(&d);

    device_make(&d, DEV_52832_MBR);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0xE000);
    /* No installed app (nrfutil settings without --application): bank1 == bank0. */
    load_ihex("nrfutil/settings/s52832_noapp.hex", d.f->mem, d.f->size);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x1000);
    device_free(&d);

    device_make(&d, DEV_52840_S140); /* 0x27000 + 302280 -> 0x71000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x71000);
    device_free(&d);
}

static void test_dfw_stage_stages_large_image_on_nrf52840(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed_large", dat, sizeof(dat));
    blob_t img = load_bin("app_large");
    assert_int_equal(img.n, 302280);
    device_t d;
    device_make(&d, DEV_52840_S140);
    stage_whole(&d, dat, dat_len, &img, 2048, 0);
    check_staged(&d, 0x71000, &img, dat, dat_len);
    device_free(&d);

    device_make(&d, DEV_52832_MBR); /* fits from 0xE000 on a 52832 without SoftDevice */
    stage_whole(&d, dat, dat_len, &img, 0, 7);
    check_staged(&d, 0xE000, &img, dat, dat_len);
    device_free(&d);
    free(img.d);
}

static void expect_refused(device_t *d, const uint8_t *dat, size_t dat_len, dfw_err_t want)
{
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d->hal, &d->layout, dat, dat_len), want);
    assert_int_equal(flash_ops(d), 0);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_IDLE);
    /* A refused stage accepts nothing. */
    assert_int_equal(dfw_stage_write(&st, 0, dat, 1), DFW_ERR_STATE);
    assert_memory_equal(d->f->mem, d->before, d->f->size);
}

static void test_dfw_stage_refuses_too_large_image_before_any_flash_op(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed_large", dat, sizeof(dat));
    device_t d;
    device_make(&d, DEV_52832_S132); /* 0x33000 + 302280 > 0x75000 */
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);

    /* Exactly up to the app-data area fits; one byte more does not. */
    uint32_t room = 0x75000 - 0x33000;
    dat_len = make_dat(dat, 0, room + 1, 3);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    dat_len = make_dat(dat, 0, 0xFFFFFFFFu, 3);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    dat_len = make_dat(dat, 0, room, 3);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x33000);
    assert_int_equal(flash_ops(&d), 0);
    /* A bogus bank_0.image_size pushes bank 1 past the end: refused, no wrap-around. */
    put32(d.f->mem + 0x7F000 + 24, 0xFFFFF000u);
    put32(d.f->mem + 0x7F000, crc32_compute(d.f->mem + 0x7F004, 88));
    memcpy(d.before, d.f->mem, d.f->size);
    dat_len = make_dat(dat, 0, 4, 3);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    device_free(&d);
}

/* SD magic with a size word below 0x1000 and no app: bank 1 would be the MBR page. */
static void test_dfw_stage_refuses_corrupt_sd_info_pointing_at_mbr(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = make_dat(dat, 0, 4096, 3);
    device_t d;
    device_make(&d, DEV_52832_S132);
    load_ihex("nrfutil/settings/s52832_noapp.hex", d.f->mem, d.f->size);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x26000);
    put32(d.f->mem + 0x3008, 0);
    memcpy(d.before, d.f->mem, d.f->size);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    device_free(&d);
}

static void test_dfw_stage_full_image_up_to_app_data_area(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t room = 0x75000 - 0x33000;
    size_t dat_len = make_dat(dat, 0, room, 3);
    blob_t img = make_image(room, 99);
    device_t d;
    device_make(&d, DEV_52832_S132);
    stage_whole(&d, dat, dat_len, &img, 0, 3);
    check_staged(&d, 0x33000, &img, dat, dat_len); /* app data 0x75000.. untouched */
    device_free(&d);
    free(img.d);
}

static void test_dfw_stage_refuses_out_of_order_offset(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed_tiny", dat, sizeof(dat));
    blob_t img = load_bin("app_tiny");
    assert_int_equal(img.n, 124);
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, img.d, 50), DFW_OK);
    unsigned ops = flash_ops(&d);
    uint32_t crc = dfw_stage_running_crc(&st);
    static const uint32_t wrong[] = {0, 49, 51, 100, 124, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_int_equal(dfw_stage_write(&st, wrong[i], img.d, 1), DFW_ERR_OFFSET);
        assert_int_equal(dfw_stage_next_offset(&st), 50); /* the resume point */
        assert_int_equal(dfw_stage_running_crc(&st), crc);
    }
    assert_int_equal(flash_ops(&d), ops);
    assert_int_equal(dfw_stage_write(&st, 50, img.d + 50, 0), DFW_OK); /* empty write */
    assert_int_equal(dfw_stage_write(&st, 50, img.d + 50, 74), DFW_OK);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    check_staged(&d, 0x33000, &img, dat, dat_len);
    device_free(&d);
    free(img.d);
}

static void test_dfw_stage_refuses_bytes_past_image_end(void **state)
{
    (void)state;
    uint8_t dat[600], data[200] = {0};
    size_t dat_len = make_dat(dat, 0, 100, 3);
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, data, 101), DFW_ERR_OVERRUN);
    assert_int_equal(flash_ops(&d), 0);
    assert_int_equal(dfw_stage_write(&st, 0, data, 99), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 99, data, 2), DFW_ERR_OVERRUN);
    assert_int_equal(dfw_stage_next_offset(&st), 99);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_RECEIVING);
    device_free(&d);
}

static void test_dfw_stage_refuses_unusable_settings_page(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    device_t d;
    device_make(&d, DEV_52832_S132);
    d.f->mem[0x7F000 + 30] ^= 0x40; /* bank_0.image_crc: covered by the settings CRC */
    memcpy(d.before, d.f->mem, d.f->size);
    expect_refused(&d, dat, dat_len, DFW_ERR_SETTINGS_CRC);
    memset(d.f->mem + 0x7F000, 0xFF, PAGE); /* erased */
    memcpy(d.before, d.f->mem, d.f->size);
    expect_refused(&d, dat, dat_len, DFW_ERR_SETTINGS_CRC);
    load_ihex("nrfutil/settings/s52832_v1.hex", d.f->mem, d.f->size);
    memcpy(d.before, d.f->mem, d.f->size);
    expect_refused(&d, dat, dat_len, DFW_ERR_SETTINGS_VERSION);
    device_free(&d);
}

/* Only APPLICATION is staged from the app (see dfw_stage.h for why). */
static void test_dfw_stage_refuses_non_application_types(void **state)
{
    (void)state;
    static const char *const pkgs[] = {"bl_signed", "bl_unsigned", "sd_signed", "sd_bl_signed",
                                       "app_external_signed"};
    device_t d;
    device_make(&d, DEV_52832_S132);
    for (size_t i = 0; i < sizeof(pkgs) / sizeof(pkgs[0]); i++) {
        uint8_t dat[600];
        size_t dat_len = load_dat(pkgs[i], dat, sizeof(dat));
        expect_refused(&d, dat, dat_len, DFW_ERR_UNSUPPORTED_TYPE);
    }
    device_free(&d);
}

static void test_dfw_stage_refuses_bad_init_packets(void **state)
{
    (void)state;
    uint8_t dat[600], big[DFW_INITCMD_MAX_SIZE + 1];
    device_t d;
    device_make(&d, DEV_52832_S132);
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    expect_refused(&d, dat, dat_len - 1, DFW_ERR_INITCMD_MALFORMED);
    expect_refused(&d, dat, 0, DFW_ERR_INITCMD_SIZE);
    memset(big, 0, sizeof(big));
    memcpy(big, dat, dat_len);
    expect_refused(&d, big, sizeof(big), DFW_ERR_INITCMD_SIZE);
    dat_len = make_dat(dat, 0, 1000, 2); /* SHA128: every bootloader rejects (spec §5.3 5b) */
    expect_refused(&d, dat, dat_len, DFW_ERR_INITCMD_INVALID);
    dat_len = make_dat(dat, 0, 0, 3); /* app_size 0 */
    expect_refused(&d, dat, dat_len, DFW_ERR_INITCMD_INVALID);
    device_free(&d);
}

/* Run a stage that fails at the n-th flash op (0 = no failure); returns the first error. */
static dfw_err_t run_with_failure(device_t *d, dfw_stage_t *st, const uint8_t *dat, size_t dat_len,
                                  const blob_t *img, unsigned fail_op, unsigned fail_read)
{
    uint32_t scratch[DFW_SETTINGS_WORDS];
    d->f->fail_op = fail_op;
    d->f->fail_read = fail_read;
    dfw_stage_init(st);
    dfw_err_t err = dfw_stage_begin(st, &d->hal, &d->layout, dat, dat_len);
    for (size_t off = 0; err == DFW_OK && off < img->n; off += 1000) {
        size_t k = img->n - off < 1000 ? img->n - off : 1000;
        err = dfw_stage_write(st, (uint32_t)off, img->d + off, k);
    }
    return err != DFW_OK ? err : dfw_stage_finish(st, scratch);
}

static void check_aborted(device_t *d, dfw_stage_t *st, dfw_err_t err)
{
    uint32_t scratch[DFW_SETTINGS_WORDS];
    assert_int_equal(err, DFW_ERR_FLASH);
    assert_int_equal(dfw_stage_phase(st), DFW_PHASE_FAILED);
    assert_true(dfw_stage_hal_rc(st) < 0);
    assert_int_equal(dfw_stage_write(st, dfw_stage_next_offset(st), d->before, 4), DFW_ERR_ABORTED);
    assert_int_equal(dfw_stage_finish(st, scratch), DFW_ERR_ABORTED);
    assert_int_equal(dfw_stage_resume(st, 0, 0), DFW_ERR_ABORTED);
    assert_int_equal(d->f->ops_after_fail, 0); /* nothing more was read, written or erased */
    assert_memory_equal(d->f->mem + 0x7E000, d->before + 0x7E000, PAGE); /* backup */
}

/* A HAL error at each write/erase of a whole stage stops all further flash work. */
static void test_dfw_stage_hal_error_at_any_op_aborts_stage(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = make_dat(dat, 0, 9001, 3);
    blob_t img = make_image(9001, 5);
    device_t d;
    dfw_stage_t st;
    device_make(&d, DEV_52832_S132);
    assert_int_equal(run_with_failure(&d, &st, dat, dat_len, &img, 0, 0), DFW_RESET_REQUIRED);
    unsigned total = flash_ops(&d); /* ... erase settings, program settings */
    device_free(&d);
    assert_true(total > 10);

    for (unsigned k = 1; k <= total; k++) {
        device_make(&d, DEV_52832_S132);
        dfw_err_t err = run_with_failure(&d, &st, dat, dat_len, &img, k, 0);
        check_aborted(&d, &st, err);
        assert_int_equal(flash_ops(&d), k);
        if (k < total) { /* settings page untouched until its erase succeeded */
            assert_memory_equal(d.f->mem + 0x7F000, d.before + 0x7F000, PAGE);
        } else if (k == total) { /* erased, never programmed: bootloader uses the backup */
            for (uint32_t a = 0x7F000; a < 0x80000; a++) {
                assert_int_equal(d.f->mem[a], 0xFF);
            }
        }
        if (k == total / 2) { /* the same state object can start over */
            d.f->fail_op = 0;
            d.f->failed = 0;
            memcpy(d.f->mem + 0x7F000, d.before + 0x7F000, PAGE);
            memset(d.f->erase_count, 0, sizeof(d.f->erase_count));
            memset(d.f->touched, 0, d.f->size / 4);
            assert_int_equal(run_with_failure(&d, &st, dat, dat_len, &img, 0, 0),
                             DFW_RESET_REQUIRED);
            check_staged(&d, 0x33000, &img, dat, dat_len);
        }
        device_free(&d);
    }
    free(img.d);
}

static void test_dfw_stage_hal_read_error_aborts_stage(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = make_dat(dat, 0, 9001, 3);
    blob_t img = make_image(9001, 5);
    device_t d;
    dfw_stage_t st;
    device_make(&d, DEV_52832_S132);
    assert_int_equal(run_with_failure(&d, &st, dat, dat_len, &img, 0, 0), DFW_RESET_REQUIRED);
    unsigned total_reads = d.f->reads;
    device_free(&d);
    for (unsigned k = 1; k <= total_reads; k++) {
        device_make(&d, DEV_52832_S132);
        dfw_err_t err = run_with_failure(&d, &st, dat, dat_len, &img, 0, k);
        check_aborted(&d, &st, err);
        device_free(&d);
    }
    free(img.d);
}

static void test_dfw_stage_readback_mismatch_fails_verify(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    device_t d;
    dfw_stage_t st;

    /* A bit in bank 1 that does not program: image CRC differs, settings untouched. */
    device_make(&d, DEV_52832_S132);
    d.f->stuck_addr = 0x33000 + 0x2000;
    uint32_t zeros = ~get32(img.d + 0x2000);
    assert_true(zeros != 0);
    d.f->stuck_mask = zeros & (0u - zeros); /* lowest bit the image wants programmed to 0 */
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    write_range(&st, &img, 0, 2048, 0);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_ERR_VERIFY);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_FAILED);
    assert_memory_equal(d.f->mem + 0x7F000, d.before + 0x7F000, PAGE);
    assert_int_equal(d.f->erase_count[0x7F], 0);
    device_free(&d);

    /* A bit in the settings record that does not program: detected by read-back. */
    device_make(&d, DEV_52832_S132);
    d.f->stuck_addr = 0x7F000 + 20; /* bank_current: 1 must be programmed over 0xFFFFFFFF */
    d.f->stuck_mask = 0x2u;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    write_range(&st, &img, 0, 4096, 0);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_ERR_VERIFY);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_FAILED);
    device_free(&d);
    free(img.d);
}

/* Link loss, same boot: the device's offset and CRC are the host's resume point. */
static void test_dfw_stage_reports_progress_for_same_boot_resume(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_next_offset(&st), 0);
    assert_int_equal(dfw_stage_running_crc(&st), 0);
    assert_int_equal(dfw_stage_image_size(&st), 50016);
    size_t off = 0;
    uint32_t seed = 42;
    while (off < img.n) {
        /* "link drops": host forgets, asks the device, checks the CRC, continues there */
        uint32_t next = dfw_stage_next_offset(&st);
        assert_int_equal(next, off);
        assert_int_equal(dfw_stage_running_crc(&st), crc32_compute(img.d, next));
        size_t k = 1 + rng_next(&seed) % 3000;
        k = k > img.n - off ? img.n - off : k;
        assert_int_equal(dfw_stage_write(&st, next, img.d + next, k), DFW_OK);
        off += k;
    }
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    check_staged(&d, 0x33000, &img, dat, dat_len);
    device_free(&d);
    free(img.d);
}

/*
 * Device reset mid-transfer: a new stage adopts what flash holds (checked by
 * CRC) and continues at the page start. The device had written further than
 * the host knows (10000 vs 6000): the fake flash fails the test if a word is
 * programmed without an erase, so this proves the page is re-erased.
 */
static void test_dfw_stage_resume_after_reset_continues_from_page_start(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    /* The device programmed 10000 bytes (byte 10000 waits in RAM as a partial word). A
     * claim reaching a byte that is not in flash (and not 0xFF by chance) must fail. */
    uint32_t beyond = 10000;
    while (img.d[beyond] == 0xFF) {
        beyond++;
    }
    const uint32_t host_says[] = {6000, 8192, 10000, 3, 0, beyond + 1};
    for (size_t i = 0; i < sizeof(host_says) / sizeof(host_says[0]); i++) {
        device_t d;
        device_make(&d, DEV_52832_S132);
        dfw_stage_t st;
        dfw_stage_init(&st);
        assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
        assert_int_equal(dfw_stage_write(&st, 0, img.d, 10001), DFW_OK);

        dfw_stage_t st2; /* after the reset: RAM state lost */
        dfw_stage_init(&st2);
        assert_int_equal(dfw_stage_begin(&st2, &d.hal, &d.layout, dat, dat_len), DFW_OK);
        uint32_t n = host_says[i];
        uint32_t reads = d.f->reads;
        unsigned ops = flash_ops(&d);
        dfw_err_t want = n <= 10000 ? DFW_OK : DFW_ERR_CRC_MISMATCH;
        assert_int_equal(dfw_stage_resume(&st2, n, crc32_compute(img.d, n)), want);
        assert_true(d.f->reads > reads || n == 0);
        assert_int_equal(flash_ops(&d), ops);
        uint32_t next = want == DFW_OK ? n / PAGE * PAGE : 0;
        assert_int_equal(dfw_stage_next_offset(&st2), next);
        assert_int_equal(dfw_stage_running_crc(&st2), crc32_compute(img.d, next));
        write_range(&st2, &img, next, 777, 0);
        assert_int_equal(dfw_stage_finish(&st2, scratch), DFW_RESET_REQUIRED);
        assert_memory_equal(d.f->mem + 0x33000, img.d, img.n);
        uint8_t want_set[896];
        expected_settings(d.before + 0x7F000, dat, dat_len, want_set);
        assert_memory_equal(d.f->mem + 0x7F000, want_set, 896);
        assert_memory_equal(d.f->mem + 0x7E000, d.before + 0x7E000, PAGE);
        device_free(&d);
    }
    free(img.d);
}

static void test_dfw_stage_resume_rejects_wrong_crc_or_length(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_resume(&st, 0, 0), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, img.d, 9000), DFW_OK);
    assert_int_equal(dfw_stage_resume(&st, 8000, crc32_compute(img.d, 8000) ^ 1),
                     DFW_ERR_CRC_MISMATCH);
    assert_int_equal(dfw_stage_next_offset(&st), 9000); /* unchanged */
    assert_int_equal(dfw_stage_resume(&st, 50017, 0), DFW_ERR_OVERRUN);
    /* Same-boot rewind also works: back to page 1, then on to the end. */
    assert_int_equal(dfw_stage_resume(&st, 8000, crc32_compute(img.d, 8000)), DFW_OK);
    assert_int_equal(dfw_stage_next_offset(&st), 4096);
    write_range(&st, &img, 4096, 1500, 0);
    uint32_t scratch[DFW_SETTINGS_WORDS];
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    assert_memory_equal(d.f->mem + 0x33000, img.d, img.n);
    device_free(&d);
    free(img.d);
}

static void test_dfw_stage_refuses_settings_changed_since_begin(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed_tiny", dat, sizeof(dat));
    blob_t img = load_bin("app_tiny");
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, img.d, img.n), DFW_OK);
    /* Someone else rewrote the settings (valid CRC, different bank 0 size). */
    put32(d.f->mem + 0x7F000 + 24, 0x20000);
    put32(d.f->mem + 0x7F000, crc32_compute(d.f->mem + 0x7F004, 88));
    uint8_t snap[PAGE];
    memcpy(snap, d.f->mem + 0x7F000, PAGE);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_ERR_SETTINGS_CHANGED);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_FAILED);
    assert_memory_equal(d.f->mem + 0x7F000, snap, PAGE);
    assert_int_equal(d.f->erase_count[0x7F], 0);
    device_free(&d);
    free(img.d);
}

static void test_dfw_stage_rejects_api_misuse(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed_tiny", dat, sizeof(dat));
    blob_t img = load_bin("app_tiny");
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_write(&st, 0, img.d, 4), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_begin(NULL, &d.hal, &d.layout, dat, dat_len), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_begin(&st, NULL, &d.layout, dat, dat_len), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, NULL, dat, dat_len), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, NULL, dat_len), DFW_ERR_PARAM);
    dfw_hal_t hal = d.hal;
    hal.page_size = 2048;
    assert_int_equal(dfw_stage_begin(&st, &hal, &d.layout, dat, dat_len), DFW_ERR_PARAM);
    hal = d.hal;
    hal.erase_page = NULL;
    assert_int_equal(dfw_stage_begin(&st, &hal, &d.layout, dat, dat_len), DFW_ERR_PARAM);
    static const dfw_layout_t bad[] = {
        {0x80000, 0x78100, 0x3000, 0x7F000, 0x7E000},  /* unaligned bootloader start */
        {0x80000, 0x78000, 0x3000, 0x7F000, 0x7F000},  /* settings == backup */
        {0x80000, 0x78000, 0x3000, 0x80000, 0x7E000},  /* settings outside flash */
        {0x80000, 0x78000, 0x0000, 0x70000, 0x7E000},  /* staging area over settings */
        {0x80000, 0x78000, 0x78000, 0x7F000, 0x7E000}, /* app data over the MBR */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dfw_stage_begin(&st, &d.hal, &bad[i], dat, dat_len), DFW_ERR_PARAM);
    }
    assert_int_equal(flash_ops(&d), 0);

    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, NULL, 4), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_write(&st, 0, img.d, 100), DFW_OK);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_ERR_INCOMPLETE);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_RECEIVING); /* can still complete */
    assert_int_equal(dfw_stage_finish(&st, NULL), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_write(&st, 100, img.d + 100, 24), DFW_OK);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_write(&st, 124, img.d, 0), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_write(NULL, 0, img.d, 1), DFW_ERR_PARAM);
    check_staged(&d, 0x33000, &img, dat, dat_len);
    device_free(&d);
    free(img.d);
}

/* No globals: two devices staged in one process, interleaved chunk by chunk. */
static void test_dfw_stage_two_devices_interleaved(void **state)
{
    (void)state;
    uint8_t dat_a[600], dat_b[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t la = load_dat("app_signed", dat_a, sizeof(dat_a));
    size_t lb = load_dat("app_signed_large", dat_b, sizeof(dat_b));
    blob_t a = load_bin("app_s132"), b = load_bin("app_large");
    device_t da, db;
    device_make(&da, DEV_52832_S132);
    device_make(&db, DEV_52840_S140);
    dfw_stage_t sa, sb;
    dfw_stage_init(&sa);
    dfw_stage_init(&sb);
    assert_int_equal(dfw_stage_begin(&sa, &da.hal, &da.layout, dat_a, la), DFW_OK);
    assert_int_equal(dfw_stage_begin(&sb, &db.hal, &db.layout, dat_b, lb), DFW_OK);
    size_t oa = 0, ob = 0;
    while (oa < a.n || ob < b.n) {
        size_t ka = a.n - oa < 1001 ? a.n - oa : 1001, kb = b.n - ob < 2048 ? b.n - ob : 2048;
        assert_int_equal(dfw_stage_write(&sa, (uint32_t)oa, a.d + oa, ka), DFW_OK);
        assert_int_equal(dfw_stage_write(&sb, (uint32_t)ob, b.d + ob, kb), DFW_OK);
        oa += ka;
        ob += kb;
    }
    assert_int_equal(dfw_stage_finish(&sa, scratch), DFW_RESET_REQUIRED);
    assert_int_equal(dfw_stage_finish(&sb, scratch), DFW_RESET_REQUIRED);
    check_staged(&da, 0x33000, &a, dat_a, la);
    check_staged(&db, 0x71000, &b, dat_b, lb);
    device_free(&da);
    device_free(&db);
    free(a.d);
    free(b.d);
}

/* ==================================================== flash ceiling: blank skip */

/* Make [from, to) erased flash in the device and in its "before" snapshot. */
static void blank_range(device_t *d, uint32_t from, uint32_t to)
{
    memset(d->f->mem + from, 0xFF, to - from);
    memset(d->before + from, 0xFF, to - from);
}

static unsigned erases_in(const device_t *d, uint32_t from, uint32_t to)
{
    unsigned n = 0;
    for (uint32_t a = from; a < to; a += PAGE) {
        n += d->f->erase_count[a / PAGE];
    }
    return n;
}

static unsigned touched_words(const device_t *d, uint32_t from, uint32_t to)
{
    unsigned n = 0;
    for (uint32_t a = from; a < to; a += 4) {
        n += d->f->touched[a / 4];
    }
    return n;
}

/* Bank 1 already erased (e.g. by idle pre-erase): the whole stage erases only the settings page. */
static void test_dfw_stage_blank_bank1_needs_no_erase(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    device_t d;
    device_make(&d, DEV_52832_S132);
    blank_range(&d, 0x33000, 0x75000);
    stage_whole(&d, dat, dat_len, &img, 2048, 0);
    assert_int_equal(erases_in(&d, 0x33000, 0x75000), 0);
    assert_int_equal(d.f->erases, 1); /* the settings page */
    check_staged(&d, 0x33000, &img, dat, dat_len);
    device_free(&d);
    free(img.d);
}

/* The blank check is exact: one byte (or one bit) that is not 0xFF anywhere in a page erases it. */
static void test_dfw_stage_almost_blank_page_is_erased(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132"); /* 50016 bytes: pages 0x33000..0x3F000 */
    device_t d;
    device_make(&d, DEV_52832_S132);
    blank_range(&d, 0x33000, 0x75000);
    d.f->mem[0x34000] = 0x00;        /* first byte of page 1 */
    d.f->mem[0x36FFF] = 0xFE;        /* last byte of page 3, one bit */
    d.f->mem[0x3F000 + 3000] = 0x7F; /* last page, past the image end (50016 = 0xC360) */
    memcpy(d.before, d.f->mem, d.f->size);
    stage_whole(&d, dat, dat_len, &img, 1000, 0);
    for (uint32_t a = 0x33000; a < 0x75000; a += PAGE) {
        unsigned want = a == 0x34000 || a == 0x36000 || a == 0x3F000 ? 1 : 0;
        if (d.f->erase_count[a / PAGE] != want) {
            fail_msg("page 0x%x erased %u times", a, d.f->erase_count[a / PAGE]);
        }
    }
    check_staged(&d, 0x33000, &img, dat, dat_len);
    device_free(&d);
    free(img.d);
}

/* Image with 0xFF words: a run over a whole page, runs across a page boundary, single words. */
static blob_t image_with_ff_runs(size_t n)
{
    blob_t img = make_image(n, 77);
    memset(img.d + 4096, 0xFF, 4096);       /* page 1 entirely */
    memset(img.d + 12288 - 40, 0xFF, 80);   /* run across the page 2/3 boundary */
    memset(img.d + 20000, 0xFF, 4);         /* one aligned word */
    memset(img.d + 20010, 0xFF, 4);         /* unaligned: no whole 0xFF word */
    memset(img.d + 16384 - 124, 0xFF, 124); /* end of page 3 */
    memset(img.d + n - 3, 0xFF, 3);         /* last partial word, 0xFF padded: all 0xFF */
    return img;
}

static unsigned non_ff_words(const blob_t *img)
{
    unsigned n = 0;
    for (size_t off = 0; off < img->n; off += 4) {
        uint8_t w[4] = {0xFF, 0xFF, 0xFF, 0xFF};
        memcpy(w, img->d + off, img->n - off < 4 ? img->n - off : 4);
        n += get32(w) != 0xFFFFFFFFu;
    }
    return n;
}

/* 0xFFFFFFFF words are left out, in any chunking; offsets, CRC and the read-back still hold. */
static void test_dfw_stage_skips_programming_ff_words(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 3, 4, 2048, 0};
    uint8_t dat[600];
    const size_t n = 23003; /* 6 pages, last word partial */
    size_t dat_len = make_dat(dat, 0, (uint32_t)n, 3);
    blob_t img = image_with_ff_runs(n);
    unsigned want = non_ff_words(&img);
    assert_true(want < (n + 3) / 4 - 1024 - 20);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        for (int pre_blank = 0; pre_blank <= 1; pre_blank++) {
            device_t d;
            device_make(&d, DEV_52832_MBR);
            if (pre_blank) {
                blank_range(&d, 0xE000, 0x75000);
            }
            stage_whole(&d, dat, dat_len, &img, chunks[i], 5);
            assert_int_equal(touched_words(&d, 0xE000, 0x75000), want);
            check_staged(&d, 0xE000, &img, dat, dat_len); /* stale page 1 still erased */
            assert_int_equal(erases_in(&d, 0xE000, 0x75000), pre_blank ? 0 : 6);
            device_free(&d);
        }
    }
    free(img.d);
}

/*
 * The image's last pages hold only 0xFF: nothing is programmed there, but the
 * stale pages must still be erased, or bank 1 would not hold the image.
 */
static void test_dfw_stage_erases_stale_pages_under_trailing_ff(void **state)
{
    (void)state;
    uint8_t dat[600];
    const size_t n = 3 * 4096 + 1001;
    size_t dat_len = make_dat(dat, 0, (uint32_t)n, 3);
    blob_t img = make_image(n, 3);
    memset(img.d + 4096 + 2000, 0xFF, n - 4096 - 2000); /* pages 2 and 3 all 0xFF */
    for (size_t chunk = 4; chunk <= 8192; chunk *= 8) {
        device_t d;
        device_make(&d, DEV_52832_MBR);
        stage_whole(&d, dat, dat_len, &img, chunk, 0);
        check_staged(&d, 0xE000, &img, dat, dat_len);
        assert_int_equal(erases_in(&d, 0xE000, 0x75000), 4);
        assert_int_equal(touched_words(&d, 0xE000 + 8192, 0x75000), 0);
        device_free(&d);
    }
    free(img.d);
}

/* A skipped word is still verified: finish reads every byte back, so a 0 bit there is caught. */
static void test_dfw_stage_finish_verifies_skipped_words(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    const size_t n = 23003;
    size_t dat_len = make_dat(dat, 0, (uint32_t)n, 3);
    blob_t img = image_with_ff_runs(n);
    device_t d;
    device_make(&d, DEV_52832_MBR);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    write_range(&st, &img, 0, 4096, 0);
    d.f->mem[0xE000 + 4096 + 100] = 0xEF; /* a bit drops in the all-0xFF page after its check */
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_ERR_VERIFY);
    assert_int_equal(d.f->erase_count[0x7F], 0); /* settings untouched */
    device_free(&d);
    free(img.d);
}

/*
 * Reset while the page at the resume point held a torn word (a few bits 0, the
 * rest 0xFF) past what the host knows: not blank, so RESUME's page is erased
 * again (the fake flash fails the test on a program over a 0 bit).
 */
static void test_dfw_stage_resume_reerases_page_with_torn_word(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    device_t d;
    device_make(&d, DEV_52832_S132);
    blank_range(&d, 0x33000, 0x75000);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, img.d, 8192), DFW_OK);
    d.f->mem[0x33000 + 8192 + 5] &= 0xF7; /* power cut mid-program of the next word */
    dfw_stage_t st2;                      /* after the reset */
    dfw_stage_init(&st2);
    assert_int_equal(dfw_stage_begin(&st2, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_resume(&st2, 8192, crc32_compute(img.d, 8192)), DFW_OK);
    assert_int_equal(dfw_stage_next_offset(&st2), 8192);
    write_range(&st2, &img, 8192, 2048, 0);
    assert_int_equal(dfw_stage_finish(&st2, scratch), DFW_RESET_REQUIRED);
    assert_memory_equal(d.f->mem + 0x33000, img.d, img.n);
    assert_int_equal(d.f->erase_count[(0x33000 + 8192) / PAGE], 1); /* the torn page */
    assert_int_equal(erases_in(&d, 0x33000, 0x75000), 1);
    device_free(&d);
    free(img.d);
}

/* ================================================ flash ceiling: idle pre-erase */

/* Run idle calls until *more is false; each call erases at most one page, never programs. */
static unsigned idle_until_done(device_t *d, dfw_stage_t *st, unsigned max_calls)
{
    bool more = true;
    unsigned calls = 0;
    while (more) {
        assert_true(calls < max_calls);
        unsigned erases = d->f->erases;
        assert_int_equal(dfw_stage_idle_erase(st, &d->hal, &d->layout, true, &more), DFW_OK);
        assert_true(d->f->erases - erases <= 1);
        assert_true(d->f->erases - erases == 1 || !more);
        calls++;
    }
    assert_int_equal(d->f->writes, 0);
    return calls;
}

/* Idle erasing leaves flash as `before` except the non-blank pages of [bank1, end), now blank. */
static void check_idle_erased(const device_t *d, uint32_t bank1, uint32_t end)
{
    const fake_flash_t *f = d->f;
    for (uint32_t a = 0; a < f->size; a += PAGE) {
        bool area = a >= bank1 && a < end;
        unsigned want = area && !page_is_blank(d->before, a) ? 1 : 0;
        if (f->erase_count[a / PAGE] != want) {
            fail_msg("page 0x%x erased %u times", a, f->erase_count[a / PAGE]);
        }
        if (area) {
            assert_true(page_is_blank(f->mem, a));
        } else {
            assert_memory_equal(f->mem + a, d->before + a, PAGE);
        }
    }
}

static void test_dfw_stage_idle_erases_nonblank_pages_one_per_call(void **state)
{
    (void)state;
    static const struct {
        dev_kind_t kind;
        uint32_t bank1, end;
    } devs[] = {{DEV_52832_S132, 0x33000, 0x75000},
                {DEV_52832_MBR, 0xE000, 0x75000},
                {DEV_52840_S140, 0x71000, 0xF5000}};
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
        device_t d;
        device_make(&d, devs[i].kind);
        uint32_t pages = (devs[i].end - devs[i].bank1) / PAGE;
        /* Some pages already blank: the first, two in the middle, the last. */
        blank_range(&d, devs[i].bank1, devs[i].bank1 + PAGE);
        blank_range(&d, devs[i].bank1 + 5 * PAGE, devs[i].bank1 + 7 * PAGE);
        blank_range(&d, devs[i].end - PAGE, devs[i].end);
        dfw_stage_t st;
        dfw_stage_init(&st);
        unsigned calls = idle_until_done(&d, &st, pages + 1);
        assert_int_equal(d.f->erases, pages - 4);
        assert_int_equal(calls, pages - 4 + 1); /* the last call finds only blank pages */
        check_idle_erased(&d, devs[i].bank1, devs[i].end);
        /* Done: further calls touch nothing, not even by reading. */
        unsigned reads = d.f->reads;
        bool more = true;
        assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
        assert_false(more);
        assert_int_equal(d.f->reads, reads);
        /* A fresh state (next boot) scans again and finds nothing to do. */
        dfw_stage_init(&st);
        assert_int_equal(idle_until_done(&d, &st, 2), 1);
        check_idle_erased(&d, devs[i].bank1, devs[i].end);
        device_free(&d);
    }
}

/* Put a u32 into the settings page and fix its CRC. */
static void settings_put(device_t *d, uint32_t off, uint32_t v)
{
    uint8_t *set = d->f->mem + d->layout.settings_addr;
    put32(set + off, v);
    put32(set, crc32_compute(set + 4, 88));
    memcpy(d->before, d->f->mem, d->f->size);
}

/* Bank 1 is not free, or its place is unknown: idle erasing touches nothing. */
static void test_dfw_stage_idle_does_nothing_unless_bank1_is_free(void **state)
{
    (void)state;
    static const struct {
        uint32_t off, value;
        dfw_err_t err;
    } cases[] = {
        {20, 1, DFW_OK},                 /* bank_current 1: an update is pending */
        {32, 0, DFW_OK},                 /* bank_0 not a valid app: we may be running from there */
        {44, 0xB1, DFW_OK},              /* bank_1 holds an external application */
        {44, 0x01, DFW_OK},              /* bank_1 holds an image awaiting activation */
        {24, 0x80000, DFW_ERR_NO_SPACE}, /* bank_0 size puts bank 1 past the app data */
    };
    for (size_t i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
        device_t d;
        device_make(&d, DEV_52832_S132);
        dfw_err_t want = DFW_ERR_SETTINGS_CRC; /* last round: a torn settings page */
        if (i < sizeof(cases) / sizeof(cases[0])) {
            settings_put(&d, cases[i].off, cases[i].value);
            want = cases[i].err;
        } else {
            d.f->mem[0x7F000 + 30] ^= 1;
        }
        dfw_stage_t st;
        dfw_stage_init(&st);
        bool more = true;
        assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), want);
        assert_false(more);
        unsigned reads = d.f->reads;
        assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
        assert_false(more);
        assert_int_equal(d.f->reads, reads); /* decided once per state */
        assert_int_equal(flash_ops(&d), 0);
        device_free(&d);
    }
}

/*
 * Idle erasing some pages, then an update: begin ends idle erasing, staging
 * skips the pages already erased and erases the rest once. After finish the
 * settings say "update pending": a new state (as after a reset that did not
 * activate yet) does not erase the staged image.
 */
static void test_dfw_stage_idle_stops_at_begin_and_staging_skips_its_pages(void **state)
{
    (void)state;
    uint8_t dat[600];
    uint32_t scratch[DFW_SETTINGS_WORDS];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132"); /* pages 0x33000..0x3F000 */
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    bool more = false;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
        assert_true(more);
    }
    assert_int_equal(d.f->erases, 5);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_ERR_STATE);
    assert_false(more);
    assert_int_equal(d.f->erases, 5);
    write_range(&st, &img, 0, 2048, 0);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_ERR_STATE);
    check_staged(&d, 0x33000, &img, dat, dat_len); /* every image page erased exactly once */
    dfw_stage_init(&st);
    unsigned ops = flash_ops(&d);
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
    assert_false(more);
    assert_int_equal(flash_ops(&d), ops);
    assert_memory_equal(d.f->mem + 0x33000, img.d, img.n);
    device_free(&d);
    free(img.d);
}

/*
 * Power cut during an idle erase: the page is left torn (mostly 0xFF, some
 * bits still 0). The next boot's idle pass erases it again, and so does
 * staging if an update comes first.
 */
static void test_dfw_stage_torn_idle_erase_is_erased_again(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    for (int update_first = 0; update_first <= 1; update_first++) {
        device_t d;
        device_make(&d, DEV_52832_S132);
        dfw_stage_t st;
        dfw_stage_init(&st);
        bool more = false;
        for (int i = 0; i < 3; i++) {
            assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
        }
        /* The cut hits the erase of the 4th page (0x36000): a few stale bits survive. */
        memset(d.f->mem + 0x36000, 0xFF, PAGE);
        d.f->mem[0x36000 + 17] = 0xFB;
        d.f->mem[0x36000 + 4000] = 0x7F;
        memset(d.f->erase_count, 0, sizeof(d.f->erase_count));
        d.f->erases = d.f->writes = 0;
        dfw_stage_init(&st); /* the reboot */
        if (update_first) {
            stage_whole(&d, dat, dat_len, &img, 4096, 0);
            assert_memory_equal(d.f->mem + 0x33000, img.d, img.n);
            assert_int_equal(d.f->erase_count[0x36], 1);
            assert_int_equal(erases_in(&d, 0x33000, 0x36000), 0); /* blank: skipped */
        } else {
            assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
            assert_true(more);
            assert_int_equal(d.f->erase_count[0x36], 1); /* the torn page comes first */
            assert_int_equal(d.f->erases, 1);
            assert_true(page_is_blank(d.f->mem, 0x36000));
        }
        device_free(&d);
    }
    free(img.d);
}

static void test_dfw_stage_idle_rejects_misuse_and_stops_on_hal_error(void **state)
{
    (void)state;
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    bool more = true;
    dfw_hal_t hal = d.hal;
    hal.page_size = 2048;
    assert_int_equal(dfw_stage_idle_erase(NULL, &d.hal, &d.layout, true, &more), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, NULL), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_idle_erase(&st, NULL, &d.layout, true, &more), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_idle_erase(&st, &hal, &d.layout, true, &more), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, NULL, true, &more), DFW_ERR_PARAM);
    assert_false(more);
    assert_int_equal(flash_ops(&d), 0);
    assert_null(dfw_stage_dat_buf(NULL));

    d.f->fail_op = 2; /* the second erase fails */
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
    assert_true(more);
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_ERR_FLASH);
    assert_false(more);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_FAILED);
    assert_true(dfw_stage_hal_rc(&st) < 0);
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_ERR_ABORTED);
    assert_int_equal(d.f->ops_after_fail, 0);
    device_free(&d);
}

/* The caller may assemble the .dat in the stage's own buffer; begin then copies nothing. */
static void test_dfw_stage_dat_assembled_in_place(void **state)
{
    (void)state;
    uint8_t dat[600];
    size_t dat_len = load_dat("app_signed", dat, sizeof(dat));
    blob_t img = load_bin("app_s132");
    device_t d;
    device_make(&d, DEV_52832_S132);
    dfw_stage_t st;
    uint32_t scratch[DFW_SETTINGS_WORDS];
    dfw_stage_init(&st);
    uint8_t *buf = dfw_stage_dat_buf(&st);
    assert_non_null(buf);
    bool more = false;
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
    for (size_t off = 0; off < dat_len; off += 50) { /* piecewise, with idle work between */
        memcpy(buf + off, dat + off, dat_len - off < 50 ? dat_len - off : 50);
        assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more), DFW_OK);
    }
    /* A refused begin (settings unreadable for a moment) keeps the assembled bytes. */
    d.f->fail_read = d.f->reads + 1;
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, buf, dat_len), DFW_ERR_FLASH);
    d.f->fail_read = 0;
    d.f->failed = 0;
    assert_memory_equal(buf, dat, dat_len);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, buf, dat_len), DFW_OK);
    write_range(&st, &img, 0, 2048, 0);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    uint8_t want[896];
    expected_settings(d.before + 0x7F000, dat, dat_len, want);
    assert_memory_equal(d.f->mem + 0x7F000, want, sizeof(want));
    assert_memory_equal(d.f->mem + 0x33000, img.d, img.n);
    device_free(&d);
    free(img.d);
}

static void test_dfw_stage_strerror_covers_every_code(void **state)
{
    (void)state;
    static const dfw_err_t all[] = {
        DFW_OK,
        DFW_RESET_REQUIRED,
        DFW_ERR_INITCMD_SIZE,
        DFW_ERR_INITCMD_MALFORMED,
        DFW_ERR_INITCMD_INVALID,
        DFW_ERR_UNSUPPORTED_TYPE,
        DFW_ERR_NO_SPACE,
        DFW_ERR_OFFSET,
        DFW_ERR_OVERRUN,
        DFW_ERR_INCOMPLETE,
        DFW_ERR_CRC_MISMATCH,
        DFW_ERR_SETTINGS_CRC,
        DFW_ERR_SETTINGS_VERSION,
        DFW_ERR_SETTINGS_CHANGED,
        DFW_ERR_FLASH,
        DFW_ERR_VERIFY,
        DFW_ERR_ABORTED,
        DFW_ERR_PARAM,
        DFW_ERR_STATE,
    };
    const char *unknown = dfw_strerror((dfw_err_t)-99);
    assert_string_equal(unknown, "unknown error");
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *s = dfw_strerror(all[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, unknown);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(s, dfw_strerror(all[j]));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dfw_stage_any_chunking_gives_identical_flash),
        cmocka_unit_test(test_dfw_stage_odd_sizes_pad_last_word),
        cmocka_unit_test(test_dfw_stage_bank1_address_follows_bootloader),
        cmocka_unit_test(test_dfw_stage_stages_large_image_on_nrf52840),
        cmocka_unit_test(test_dfw_stage_refuses_too_large_image_before_any_flash_op),
        cmocka_unit_test(test_dfw_stage_refuses_corrupt_sd_info_pointing_at_mbr),
        cmocka_unit_test(test_dfw_stage_full_image_up_to_app_data_area),
        cmocka_unit_test(test_dfw_stage_refuses_out_of_order_offset),
        cmocka_unit_test(test_dfw_stage_refuses_bytes_past_image_end),
        cmocka_unit_test(test_dfw_stage_refuses_unusable_settings_page),
        cmocka_unit_test(test_dfw_stage_refuses_non_application_types),
        cmocka_unit_test(test_dfw_stage_refuses_bad_init_packets),
        cmocka_unit_test(test_dfw_stage_hal_error_at_any_op_aborts_stage),
        cmocka_unit_test(test_dfw_stage_hal_read_error_aborts_stage),
        cmocka_unit_test(test_dfw_stage_readback_mismatch_fails_verify),
        cmocka_unit_test(test_dfw_stage_reports_progress_for_same_boot_resume),
        cmocka_unit_test(test_dfw_stage_resume_after_reset_continues_from_page_start),
        cmocka_unit_test(test_dfw_stage_resume_rejects_wrong_crc_or_length),
        cmocka_unit_test(test_dfw_stage_refuses_settings_changed_since_begin),
        cmocka_unit_test(test_dfw_stage_rejects_api_misuse),
        cmocka_unit_test(test_dfw_stage_two_devices_interleaved),
        cmocka_unit_test(test_dfw_stage_blank_bank1_needs_no_erase),
        cmocka_unit_test(test_dfw_stage_almost_blank_page_is_erased),
        cmocka_unit_test(test_dfw_stage_skips_programming_ff_words),
        cmocka_unit_test(test_dfw_stage_erases_stale_pages_under_trailing_ff),
        cmocka_unit_test(test_dfw_stage_finish_verifies_skipped_words),
        cmocka_unit_test(test_dfw_stage_resume_reerases_page_with_torn_word),
        cmocka_unit_test(test_dfw_stage_idle_erases_nonblank_pages_one_per_call),
        cmocka_unit_test(test_dfw_stage_idle_does_nothing_unless_bank1_is_free),
        cmocka_unit_test(test_dfw_stage_idle_stops_at_begin_and_staging_skips_its_pages),
        cmocka_unit_test(test_dfw_stage_torn_idle_erase_is_erased_again),
        cmocka_unit_test(test_dfw_stage_idle_rejects_misuse_and_stops_on_hal_error),
        cmocka_unit_test(test_dfw_stage_dat_assembled_in_place),
        cmocka_unit_test(test_dfw_stage_strerror_covers_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
