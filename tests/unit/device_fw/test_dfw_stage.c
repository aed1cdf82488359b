/*
 * test_dfw_stage.c - the bank-1 staging core (spec §8.3) against a fake flash.
 *
 * Devices come from dfw_testkit.h: genuine material (nrfutil settings pages,
 * packages' .dat, images, an SD info struct at 0x3000 as S132/S140 have it)
 * on a fake flash that enforces the nRF52 NVMC rules (spec §9.1) and fails the
 * test on a breach, counts every operation and every programmed word, can
 * fail the n-th operation and can have a stuck bit. All other flash holds
 * non-0xFF "stale" patterns, so a missing erase is caught.
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
#include "dfw_testkit.h"
#include "proto/crc32.h"

#define PAGE DFWT_PAGE

/* ================================================================= updates */

/* Synthetic image: deterministic bytes of any length. */
static dfwt_blob_t make_image(size_t n, uint32_t seed)
{
    dfwt_blob_t b = {malloc(n + 1), n};
    assert_non_null(b.d);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b.d[i] = (uint8_t)(seed >> 16);
    }
    return b;
}

/* Unsigned Packet{command{INIT, init{type, app_size, hash{hash_type, 32 bytes}}}}. */
static size_t make_dat(uint8_t *out, uint32_t type, uint32_t app_size, uint32_t hash_type)
{
    static const uint8_t digest[32] = {1, 2, 3};
    dfwt_pb_t hash = {0}, init = {0}, cmd = {0}, pkt = {0};
    dfwt_pb_u32(&hash, 1, hash_type);
    dfwt_pb_bytes(&hash, 2, digest, sizeof(digest));
    dfwt_pb_u32(&init, 1, 1);
    dfwt_pb_u32(&init, 2, 52);
    dfwt_pb_u32(&init, 4, type);
    dfwt_pb_u32(&init, 7, app_size);
    dfwt_pb_msg(&init, 8, &hash);
    dfwt_pb_u32(&cmd, 1, 1);
    dfwt_pb_msg(&cmd, 2, &init);
    dfwt_pb_msg(&pkt, 1, &cmd);
    assert_true(pkt.n <= DFW_INITCMD_MAX_SIZE);
    memcpy(out, pkt.d, pkt.n);
    return pkt.n;
}

/* An application of n synthetic bytes with its unsigned init packet. Free with dfwt_pkg_free(). */
static void pkg_synthetic(dfwt_pkg_t *p, size_t n, uint32_t seed)
{
    p->dat_len = make_dat(p->dat, 0, (uint32_t)n, 3);
    p->img = make_image(n, seed);
}

/* ================================================================== checks */

/*
 * After a successful stage: bank 1 holds the image (0xFF after it up to the
 * page end), the settings page holds the recipe's result, and every other
 * byte of flash, the backup page included, is what it was. Every bank-1 page
 * that was not blank before and the settings page were erased exactly once, no
 * other page at all (blank pages are not erased), and no word outside bank 1
 * and the settings record was ever programmed.
 */
static void check_staged(const dfwt_device_t *d, uint32_t bank1, const dfwt_pkg_t *p)
{
    const dfwt_flash_t *f = d->f;
    uint32_t img_end = bank1 + (uint32_t)p->img.n;
    uint32_t pages_end = (img_end + PAGE - 1) / PAGE * PAGE;
    uint32_t set = d->layout.settings_addr;
    assert_memory_equal(f->mem + bank1, p->img.d, p->img.n);
    for (uint32_t a = img_end; a < pages_end; a++) {
        assert_int_equal(f->mem[a], 0xFF);
    }
    uint8_t want[DFWT_SETTINGS_USED];
    dfwt_expected_settings(d->before + set, p->dat, p->dat_len, want);
    assert_memory_equal(f->mem + set, want, sizeof(want));
    for (uint32_t a = set + DFWT_SETTINGS_USED; a < set + PAGE; a++) {
        assert_int_equal(f->mem[a], 0xFF);
    }
    assert_memory_equal(f->mem, d->before, bank1);
    assert_memory_equal(f->mem + pages_end, d->before + pages_end, set - pages_end);
    assert_memory_equal(f->mem + set + PAGE, d->before + set + PAGE, f->size - set - PAGE);
    for (uint32_t pg = 0; pg < f->size / PAGE; pg++) {
        uint32_t a = pg * PAGE;
        int staged = (a >= bank1 && a < pages_end && !dfwt_page_is_blank(d->before, a)) || a == set;
        if (f->erase_count[pg] != (staged ? 1 : 0)) {
            fail_msg("page 0x%x erased %u times", a, f->erase_count[pg]);
        }
    }
    for (uint32_t w = 0; w < f->size / 4; w++) {
        uint32_t a = 4 * w;
        int allowed =
            (a >= bank1 && a < (img_end + 3) / 4 * 4) || (a >= set && a < set + DFWT_SETTINGS_USED);
        if (f->programs[w] != 0 && !allowed) {
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
static void write_range(dfw_stage_t *st, const dfwt_blob_t *img, size_t from, size_t chunk,
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

static void stage_whole(dfwt_device_t *d, const dfwt_pkg_t *p, size_t chunk, uint32_t seed)
{
    dfw_stage_t st;
    uint32_t scratch[DFW_SETTINGS_WORDS];
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d->hal, &d->layout, p->dat, p->dat_len), DFW_OK);
    assert_int_equal(dfwt_flash_ops(d->f), 0);
    write_range(&st, &p->img, 0, chunk, seed);
    assert_int_equal(dfw_stage_finish(&st, scratch), DFW_RESET_REQUIRED);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_DONE);
}

/* What most tests start from: a device, an update for it, a stage state (not begun). */
typedef struct bench {
    dfwt_device_t d;
    dfwt_pkg_t p;
    dfw_stage_t st;
    uint32_t scratch[DFW_SETTINGS_WORDS];
} bench_t;

static void bench_open(bench_t *b, dfwt_kind_t kind, const char *zip, const char *bin)
{
    dfwt_device_make(&b->d, kind);
    dfwt_pkg_load(&b->p, zip, bin);
    dfw_stage_init(&b->st);
}

static void bench_begin(bench_t *b)
{
    assert_int_equal(dfw_stage_begin(&b->st, &b->d.hal, &b->d.layout, b->p.dat, b->p.dat_len),
                     DFW_OK);
}

/* The stage is complete: finish asks for the reset that activates it. */
static void bench_finish(bench_t *b)
{
    assert_int_equal(dfw_stage_finish(&b->st, b->scratch), DFW_RESET_REQUIRED);
}

static void bench_close(bench_t *b)
{
    dfwt_device_free(&b->d);
    dfwt_pkg_free(&b->p);
}

/* CMocka fixture: the prestate names the update, *state becomes a bench on an S132 device. */
typedef struct bench_spec {
    const char *zip, *bin;
} bench_spec_t;

static const bench_spec_t APP = {"app_signed.zip", "app_s132"};
static const bench_spec_t TINY = {"app_signed_tiny.zip", "app_tiny"};

static int bench_setup(void **state)
{
    const bench_spec_t *spec = *state;
    bench_t *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    bench_open(b, DFWT_52832_S132, spec->zip, spec->bin);
    *state = b;
    return 0;
}

static int bench_teardown(void **state)
{
    bench_close(*state);
    free(*state);
    return 0;
}

/* A test on the bench `spec` names (APP or TINY). */
#define BENCH_TEST(test, spec)                                                                     \
    cmocka_unit_test_prestate_setup_teardown(test, bench_setup, bench_teardown, (void *)&(spec))

/* ==================================================================== tests */

static void test_dfw_stage_any_chunking_gives_identical_flash(void **state)
{
    (void)state;
    static const struct {
        size_t chunk;
        uint32_t seed;
    } runs[] = {{1, 0},    {3, 0},    {4, 0},     {64, 0}, {2048, 0},
                {4096, 0}, {4099, 0}, {50016, 0}, {0, 1},  {0, 0xC0FFEE}};
    dfwt_pkg_t p;
    dfwt_pkg_load(&p, "app_signed.zip", "app_s132");
    assert_int_equal(p.img.n, 50016);
    uint8_t *reference = NULL;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        dfwt_device_t d;
        dfwt_device_make(&d, DFWT_52832_S132);
        stage_whole(&d, &p, runs[i].chunk, runs[i].seed);
        check_staged(&d, 0x33000, &p);
        if (reference == NULL) {
            reference = malloc(d.f->size);
            assert_non_null(reference);
            memcpy(reference, d.f->mem, d.f->size);
        } else {
            assert_memory_equal(d.f->mem, reference, d.f->size);
        }
        dfwt_device_free(&d);
    }
    free(reference);
    dfwt_pkg_free(&p);
}

/* Image sizes that are not a multiple of 4 or of a page; last word padded with 0xFF. */
static void test_dfw_stage_odd_sizes_pad_last_word(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 5, 4095, 4096, 4097, 4098, 8191, 12290};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t chunk = 1; chunk <= 7; chunk += 3) {
            dfwt_pkg_t p;
            pkg_synthetic(&p, sizes[i], (uint32_t)i);
            dfwt_device_t d;
            dfwt_device_make(&d, DFWT_52832_MBR);
            stage_whole(&d, &p, chunk, 0);
            check_staged(&d, 0xE000, &p);
            dfwt_device_free(&d);
            dfwt_pkg_free(&p);
        }
    }
}

static uint32_t begin_bank1(dfwt_device_t *d, const uint8_t *dat, size_t dat_len)
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
    uint8_t dat[DFW_INITCMD_MAX_SIZE];
    size_t dat_len = make_dat(dat, 0, 1000, 3);
    dfwt_device_t d;

    dfwt_device_make(&d, DFWT_52832_S132); /* 0x26000 + 50016 -> 0x33000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x33000);
    dfwt_put32(d.f->mem + 0x3008, 0x26100); /* unaligned SD end: bank0 rounds up to 0x27000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x34000);
    dfwt_put32(d.f->mem + 0x3004, 0x51B1E5DAu); /* no magic: MBR only, bank0 = 0x1000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0xE000);
    dfwt_device_free(&d);

    dfwt_device_make(&d, DFWT_52832_MBR);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0xE000);
    /* No installed app (nrfutil settings without --application): bank1 == bank0. */
    dfwt_load_ihex("settings/s52832_noapp.hex", d.f->mem, d.f->size);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x1000);
    dfwt_device_free(&d);

    dfwt_device_make(&d, DFWT_52840_S140); /* 0x27000 + 302280 -> 0x71000 */
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x71000);
    dfwt_device_free(&d);
}

static void test_dfw_stage_stages_large_image_on_nrf52840(void **state)
{
    (void)state;
    bench_t b;
    bench_open(&b, DFWT_52840_S140, "app_signed_large.zip", "app_large");
    assert_int_equal(b.p.img.n, 302280);
    stage_whole(&b.d, &b.p, 2048, 0);
    check_staged(&b.d, 0x71000, &b.p);
    dfwt_device_free(&b.d);

    dfwt_device_make(&b.d, DFWT_52832_MBR); /* fits from 0xE000 on a 52832 without SoftDevice */
    stage_whole(&b.d, &b.p, 0, 7);
    check_staged(&b.d, 0xE000, &b.p);
    bench_close(&b);
}

static void expect_refused(dfwt_device_t *d, const uint8_t *dat, size_t dat_len, dfw_err_t want)
{
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d->hal, &d->layout, dat, dat_len), want);
    assert_int_equal(dfwt_flash_ops(d->f), 0);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_IDLE);
    /* A refused stage accepts nothing. */
    assert_int_equal(dfw_stage_write(&st, 0, dat, 1), DFW_ERR_STATE);
    assert_memory_equal(d->f->mem, d->before, d->f->size);
}

static void test_dfw_stage_refuses_too_large_image_before_any_flash_op(void **state)
{
    (void)state;
    uint8_t dat[DFW_INITCMD_MAX_SIZE];
    size_t dat_len = dfwt_package_dat("app_signed_large.zip", dat);
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132); /* 0x33000 + 302280 > 0x75000 */
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);

    /* Exactly up to the app-data area fits; one byte more does not. */
    uint32_t room = 0x75000 - 0x33000;
    dat_len = make_dat(dat, 0, room + 1, 3);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    dat_len = make_dat(dat, 0, 0xFFFFFFFFu, 3);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    dat_len = make_dat(dat, 0, room, 3);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x33000);
    assert_int_equal(dfwt_flash_ops(d.f), 0);
    /* A bogus bank_0.image_size pushes bank 1 past the end: refused, no wrap-around. */
    dfwt_settings_put(&d, 24, 0xFFFFF000u);
    dat_len = make_dat(dat, 0, 4, 3);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    dfwt_device_free(&d);
}

/* SD magic with a size word below 0x1000 and no app: bank 1 would be the MBR page. */
static void test_dfw_stage_refuses_corrupt_sd_info_pointing_at_mbr(void **state)
{
    (void)state;
    uint8_t dat[DFW_INITCMD_MAX_SIZE];
    size_t dat_len = make_dat(dat, 0, 4096, 3);
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132);
    dfwt_load_ihex("settings/s52832_noapp.hex", d.f->mem, d.f->size);
    assert_int_equal(begin_bank1(&d, dat, dat_len), 0x26000);
    dfwt_put32(d.f->mem + 0x3008, 0);
    dfwt_device_snapshot(&d);
    expect_refused(&d, dat, dat_len, DFW_ERR_NO_SPACE);
    dfwt_device_free(&d);
}

static void test_dfw_stage_full_image_up_to_app_data_area(void **state)
{
    (void)state;
    dfwt_pkg_t p;
    pkg_synthetic(&p, 0x75000 - 0x33000, 99);
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132);
    stage_whole(&d, &p, 0, 3);
    check_staged(&d, 0x33000, &p); /* app data 0x75000.. untouched */
    dfwt_device_free(&d);
    dfwt_pkg_free(&p);
}

static void test_dfw_stage_refuses_out_of_order_offset(void **state)
{
    bench_t *b = *state;
    const uint8_t *img = b->p.img.d;
    assert_int_equal(b->p.img.n, 124);
    bench_begin(b);
    assert_int_equal(dfw_stage_write(&b->st, 0, img, 50), DFW_OK);
    unsigned ops = dfwt_flash_ops(b->d.f);
    uint32_t crc = dfw_stage_running_crc(&b->st);
    static const uint32_t wrong[] = {0, 49, 51, 100, 124, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_int_equal(dfw_stage_write(&b->st, wrong[i], img, 1), DFW_ERR_OFFSET);
        assert_int_equal(dfw_stage_next_offset(&b->st), 50); /* the resume point */
        assert_int_equal(dfw_stage_running_crc(&b->st), crc);
    }
    assert_int_equal(dfwt_flash_ops(b->d.f), ops);
    assert_int_equal(dfw_stage_write(&b->st, 50, img + 50, 0), DFW_OK); /* empty write */
    assert_int_equal(dfw_stage_write(&b->st, 50, img + 50, 74), DFW_OK);
    bench_finish(b);
    check_staged(&b->d, 0x33000, &b->p);
}

static void test_dfw_stage_refuses_bytes_past_image_end(void **state)
{
    (void)state;
    uint8_t dat[DFW_INITCMD_MAX_SIZE], data[200] = {0};
    size_t dat_len = make_dat(dat, 0, 100, 3);
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132);
    dfw_stage_t st;
    dfw_stage_init(&st);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, dat, dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, data, 101), DFW_ERR_OVERRUN);
    assert_int_equal(dfwt_flash_ops(d.f), 0);
    assert_int_equal(dfw_stage_write(&st, 0, data, 99), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 99, data, 2), DFW_ERR_OVERRUN);
    assert_int_equal(dfw_stage_next_offset(&st), 99);
    assert_int_equal(dfw_stage_phase(&st), DFW_PHASE_RECEIVING);
    dfwt_device_free(&d);
}

static void test_dfw_stage_refuses_unusable_settings_page(void **state)
{
    (void)state;
    uint8_t dat[DFW_INITCMD_MAX_SIZE];
    size_t dat_len = dfwt_package_dat("app_signed.zip", dat);
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132);
    d.f->mem[0x7F000 + 30] ^= 0x40; /* bank_0.image_crc: covered by the settings CRC */
    dfwt_device_snapshot(&d);
    expect_refused(&d, dat, dat_len, DFW_ERR_SETTINGS_CRC);
    memset(d.f->mem + 0x7F000, 0xFF, PAGE); /* erased */
    dfwt_device_snapshot(&d);
    expect_refused(&d, dat, dat_len, DFW_ERR_SETTINGS_CRC);
    dfwt_load_ihex("settings/s52832_v1.hex", d.f->mem, d.f->size);
    dfwt_device_snapshot(&d);
    expect_refused(&d, dat, dat_len, DFW_ERR_SETTINGS_VERSION);
    dfwt_device_free(&d);
}

/* Only APPLICATION is staged from the app (see dfw_stage.h for why). */
static void test_dfw_stage_refuses_non_application_types(void **state)
{
    (void)state;
    static const char *const zips[] = {"bl_signed.zip", "bl_unsigned.zip", "sd_signed.zip",
                                       "sd_bl_signed.zip", "app_external_signed.zip"};
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132);
    for (size_t i = 0; i < sizeof(zips) / sizeof(zips[0]); i++) {
        uint8_t dat[DFW_INITCMD_MAX_SIZE];
        size_t dat_len = dfwt_package_dat(zips[i], dat);
        expect_refused(&d, dat, dat_len, DFW_ERR_UNSUPPORTED_TYPE);
    }
    dfwt_device_free(&d);
}

static void test_dfw_stage_refuses_bad_init_packets(void **state)
{
    (void)state;
    uint8_t dat[DFW_INITCMD_MAX_SIZE], big[DFW_INITCMD_MAX_SIZE + 1];
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132);
    size_t dat_len = dfwt_package_dat("app_signed.zip", dat);
    expect_refused(&d, dat, dat_len - 1, DFW_ERR_INITCMD_MALFORMED);
    expect_refused(&d, dat, 0, DFW_ERR_INITCMD_SIZE);
    memset(big, 0, sizeof(big));
    memcpy(big, dat, dat_len);
    expect_refused(&d, big, sizeof(big), DFW_ERR_INITCMD_SIZE);
    dat_len = make_dat(dat, 0, 1000, 2); /* SHA128: every bootloader rejects (spec §5.3 5b) */
    expect_refused(&d, dat, dat_len, DFW_ERR_INITCMD_INVALID);
    dat_len = make_dat(dat, 0, 0, 3); /* app_size 0 */
    expect_refused(&d, dat, dat_len, DFW_ERR_INITCMD_INVALID);
    dfwt_device_free(&d);
}

/* Run a stage that fails at the n-th flash op or read (0 = never); returns the first error. */
static dfw_err_t run_with_failure(dfwt_device_t *d, dfw_stage_t *st, const dfwt_pkg_t *p,
                                  unsigned fail_op, unsigned fail_read)
{
    uint32_t scratch[DFW_SETTINGS_WORDS];
    d->f->fail_op = fail_op;
    d->f->fail_read = fail_read;
    dfw_stage_init(st);
    dfw_err_t err = dfw_stage_begin(st, &d->hal, &d->layout, p->dat, p->dat_len);
    for (size_t off = 0; err == DFW_OK && off < p->img.n; off += 1000) {
        size_t k = p->img.n - off < 1000 ? p->img.n - off : 1000;
        err = dfw_stage_write(st, (uint32_t)off, p->img.d + off, k);
    }
    return err != DFW_OK ? err : dfw_stage_finish(st, scratch);
}

static void check_aborted(dfwt_device_t *d, dfw_stage_t *st, dfw_err_t err)
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

/*
 * Stage one update once per fault: the k-th write/erase call fails (or, with
 * `reads`, the k-th read), for every k up to what a clean run makes. Each run
 * must abort at once (check_aborted); `after` checks more on that device.
 */
static void fail_at_every_call(bool reads,
                               void (*after)(dfwt_device_t *d, dfw_stage_t *st, const dfwt_pkg_t *p,
                                             unsigned k, unsigned total))
{
    dfwt_pkg_t p;
    dfwt_device_t d;
    dfw_stage_t st;
    pkg_synthetic(&p, 9001, 5);
    dfwt_device_make(&d, DFWT_52832_S132);
    assert_int_equal(run_with_failure(&d, &st, &p, 0, 0), DFW_RESET_REQUIRED);
    unsigned total = reads ? d.f->reads : dfwt_flash_ops(d.f);
    dfwt_device_free(&d);
    assert_true(total > 10);
    for (unsigned k = 1; k <= total; k++) {
        dfwt_device_make(&d, DFWT_52832_S132);
        check_aborted(&d, &st, run_with_failure(&d, &st, &p, reads ? 0 : k, reads ? k : 0));
        if (after != NULL) {
            after(&d, &st, &p, k, total);
        }
        dfwt_device_free(&d);
    }
    dfwt_pkg_free(&p);
}

/* After the k-th of `total` write/erase calls failed (the last ones erase and program settings). */
static void check_op_fault(dfwt_device_t *d, dfw_stage_t *st, const dfwt_pkg_t *p, unsigned k,
                           unsigned total)
{
    assert_int_equal(dfwt_flash_ops(d->f), k);
    if (k < total) { /* settings page untouched until its erase succeeded */
        assert_memory_equal(d->f->mem + 0x7F000, d->before + 0x7F000, PAGE);
    } else if (k == total) { /* erased, never programmed: bootloader uses the backup */
        for (uint32_t a = 0x7F000; a < 0x80000; a++) {
            assert_int_equal(d->f->mem[a], 0xFF);
        }
    }
    if (k == total / 2) { /* the same state object can start over */
        d->f->fail_op = 0;
        d->f->failed = false;
        memcpy(d->f->mem + 0x7F000, d->before + 0x7F000, PAGE);
        dfwt_flash_forget(d->f);
        assert_int_equal(run_with_failure(d, st, p, 0, 0), DFW_RESET_REQUIRED);
        check_staged(d, 0x33000, p);
    }
}

/* A HAL error at each write/erase of a whole stage stops all further flash work. */
static void test_dfw_stage_hal_error_at_any_op_aborts_stage(void **state)
{
    (void)state;
    fail_at_every_call(false, check_op_fault);
}

static void test_dfw_stage_hal_read_error_aborts_stage(void **state)
{
    (void)state;
    fail_at_every_call(true, NULL);
}

/* app_signed with a bit at stuck_addr that does not program: finish's read-back fails. */
static void expect_verify_failure(bench_t *b, uint32_t stuck_addr, uint32_t stuck_mask,
                                  size_t chunk)
{
    b->d.f->stuck_addr = stuck_addr;
    b->d.f->stuck_mask = stuck_mask;
    bench_begin(b);
    write_range(&b->st, &b->p.img, 0, chunk, 0);
    assert_int_equal(dfw_stage_finish(&b->st, b->scratch), DFW_ERR_VERIFY);
    assert_int_equal(dfw_stage_phase(&b->st), DFW_PHASE_FAILED);
}

static void test_dfw_stage_readback_mismatch_fails_verify(void **state)
{
    (void)state;
    bench_t b;

    /* A bit in bank 1 that does not program: image CRC differs, settings untouched. */
    bench_open(&b, DFWT_52832_S132, "app_signed.zip", "app_s132");
    uint32_t zeros = ~dfwt_get32(b.p.img.d + 0x2000);
    assert_true(zeros != 0);
    /* the lowest bit the image wants programmed to 0 */
    expect_verify_failure(&b, 0x33000 + 0x2000, zeros & (0u - zeros), 2048);
    assert_memory_equal(b.d.f->mem + 0x7F000, b.d.before + 0x7F000, PAGE);
    assert_int_equal(b.d.f->erase_count[0x7F], 0);
    bench_close(&b);

    /* A bit in the settings record that does not program: detected by read-back. */
    bench_open(&b, DFWT_52832_S132, "app_signed.zip", "app_s132");
    /* bank_current: 1 must be programmed over 0xFFFFFFFF */
    expect_verify_failure(&b, 0x7F000 + 20, 0x2u, 4096);
    bench_close(&b);
}

/* Link loss, same boot: the device's offset and CRC are the host's resume point. */
static void test_dfw_stage_reports_progress_for_same_boot_resume(void **state)
{
    bench_t *b = *state;
    const dfwt_blob_t *img = &b->p.img;
    bench_begin(b);
    assert_int_equal(dfw_stage_next_offset(&b->st), 0);
    assert_int_equal(dfw_stage_running_crc(&b->st), 0);
    assert_int_equal(dfw_stage_image_size(&b->st), 50016);
    size_t off = 0;
    uint32_t seed = 42;
    while (off < img->n) {
        /* "link drops": host forgets, asks the device, checks the CRC, continues there */
        uint32_t next = dfw_stage_next_offset(&b->st);
        assert_int_equal(next, off);
        assert_int_equal(dfw_stage_running_crc(&b->st), crc32_compute(img->d, next));
        size_t k = 1 + rng_next(&seed) % 3000;
        k = k > img->n - off ? img->n - off : k;
        assert_int_equal(dfw_stage_write(&b->st, next, img->d + next, k), DFW_OK);
        off += k;
    }
    bench_finish(b);
    check_staged(&b->d, 0x33000, &b->p);
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
    dfwt_pkg_t p;
    dfwt_pkg_load(&p, "app_signed.zip", "app_s132");
    const uint8_t *img = p.img.d;
    /* The device programmed 10000 bytes (byte 10000 waits in RAM as a partial word). A
     * claim reaching a byte that is not in flash (and not 0xFF by chance) must fail. */
    uint32_t beyond = 10000;
    while (img[beyond] == 0xFF) {
        beyond++;
    }
    const uint32_t host_says[] = {6000, 8192, 10000, 3, 0, beyond + 1};
    for (size_t i = 0; i < sizeof(host_says) / sizeof(host_says[0]); i++) {
        dfwt_device_t d;
        dfwt_device_make(&d, DFWT_52832_S132);
        dfw_stage_t st;
        dfw_stage_init(&st);
        assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, p.dat, p.dat_len), DFW_OK);
        assert_int_equal(dfw_stage_write(&st, 0, img, 10001), DFW_OK);

        dfw_stage_t st2; /* after the reset: RAM state lost */
        uint32_t scratch[DFW_SETTINGS_WORDS];
        dfw_stage_init(&st2);
        assert_int_equal(dfw_stage_begin(&st2, &d.hal, &d.layout, p.dat, p.dat_len), DFW_OK);
        uint32_t n = host_says[i];
        uint32_t reads = d.f->reads;
        unsigned ops = dfwt_flash_ops(d.f);
        dfw_err_t want = n <= 10000 ? DFW_OK : DFW_ERR_CRC_MISMATCH;
        assert_int_equal(dfw_stage_resume(&st2, n, crc32_compute(img, n)), want);
        assert_true(d.f->reads > reads || n == 0);
        assert_int_equal(dfwt_flash_ops(d.f), ops);
        uint32_t next = want == DFW_OK ? n / PAGE * PAGE : 0;
        assert_int_equal(dfw_stage_next_offset(&st2), next);
        assert_int_equal(dfw_stage_running_crc(&st2), crc32_compute(img, next));
        write_range(&st2, &p.img, next, 777, 0);
        assert_int_equal(dfw_stage_finish(&st2, scratch), DFW_RESET_REQUIRED);
        assert_memory_equal(d.f->mem + 0x33000, img, p.img.n);
        uint8_t want_set[DFWT_SETTINGS_USED];
        dfwt_expected_settings(d.before + 0x7F000, p.dat, p.dat_len, want_set);
        assert_memory_equal(d.f->mem + 0x7F000, want_set, sizeof(want_set));
        assert_memory_equal(d.f->mem + 0x7E000, d.before + 0x7E000, PAGE);
        dfwt_device_free(&d);
    }
    dfwt_pkg_free(&p);
}

static void test_dfw_stage_resume_rejects_wrong_crc_or_length(void **state)
{
    bench_t *b = *state;
    const uint8_t *img = b->p.img.d;
    assert_int_equal(dfw_stage_resume(&b->st, 0, 0), DFW_ERR_STATE);
    bench_begin(b);
    assert_int_equal(dfw_stage_write(&b->st, 0, img, 9000), DFW_OK);
    assert_int_equal(dfw_stage_resume(&b->st, 8000, crc32_compute(img, 8000) ^ 1),
                     DFW_ERR_CRC_MISMATCH);
    assert_int_equal(dfw_stage_next_offset(&b->st), 9000); /* unchanged */
    assert_int_equal(dfw_stage_resume(&b->st, 50017, 0), DFW_ERR_OVERRUN);
    /* Same-boot rewind also works: back to page 1, then on to the end. */
    assert_int_equal(dfw_stage_resume(&b->st, 8000, crc32_compute(img, 8000)), DFW_OK);
    assert_int_equal(dfw_stage_next_offset(&b->st), 4096);
    write_range(&b->st, &b->p.img, 4096, 1500, 0);
    bench_finish(b);
    assert_memory_equal(b->d.f->mem + 0x33000, img, b->p.img.n);
}

static void test_dfw_stage_refuses_settings_changed_since_begin(void **state)
{
    bench_t *b = *state;
    bench_begin(b);
    assert_int_equal(dfw_stage_write(&b->st, 0, b->p.img.d, b->p.img.n), DFW_OK);
    /* Someone else rewrote the settings (valid CRC, different bank 0 size). */
    dfwt_settings_put(&b->d, 24, 0x20000);
    uint8_t snap[PAGE];
    memcpy(snap, b->d.f->mem + 0x7F000, PAGE);
    assert_int_equal(dfw_stage_finish(&b->st, b->scratch), DFW_ERR_SETTINGS_CHANGED);
    assert_int_equal(dfw_stage_phase(&b->st), DFW_PHASE_FAILED);
    assert_memory_equal(b->d.f->mem + 0x7F000, snap, PAGE);
    assert_int_equal(b->d.f->erase_count[0x7F], 0);
}

static void test_dfw_stage_rejects_api_misuse(void **state)
{
    bench_t *b = *state;
    dfw_stage_t *st = &b->st;
    const dfwt_device_t *d = &b->d;
    const uint8_t *dat = b->p.dat, *img = b->p.img.d;
    size_t dat_len = b->p.dat_len;
    assert_int_equal(dfw_stage_write(st, 0, img, 4), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_finish(st, b->scratch), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_begin(NULL, &d->hal, &d->layout, dat, dat_len), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_begin(st, NULL, &d->layout, dat, dat_len), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_begin(st, &d->hal, NULL, dat, dat_len), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_begin(st, &d->hal, &d->layout, NULL, dat_len), DFW_ERR_PARAM);
    dfw_hal_t hal = d->hal;
    hal.page_size = 2048;
    assert_int_equal(dfw_stage_begin(st, &hal, &d->layout, dat, dat_len), DFW_ERR_PARAM);
    hal = d->hal;
    hal.erase_page = NULL;
    assert_int_equal(dfw_stage_begin(st, &hal, &d->layout, dat, dat_len), DFW_ERR_PARAM);
    static const dfw_layout_t bad[] = {
        {0x80000, 0x78100, 0x3000, 0x7F000, 0x7E000},  /* unaligned bootloader start */
        {0x80000, 0x78000, 0x3000, 0x7F000, 0x7F000},  /* settings == backup */
        {0x80000, 0x78000, 0x3000, 0x80000, 0x7E000},  /* settings outside flash */
        {0x80000, 0x78000, 0x0000, 0x70000, 0x7E000},  /* staging area over settings */
        {0x80000, 0x78000, 0x78000, 0x7F000, 0x7E000}, /* app data over the MBR */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dfw_stage_begin(st, &d->hal, &bad[i], dat, dat_len), DFW_ERR_PARAM);
    }
    assert_int_equal(dfwt_flash_ops(d->f), 0);

    bench_begin(b);
    assert_int_equal(dfw_stage_write(st, 0, NULL, 4), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_write(st, 0, img, 100), DFW_OK);
    assert_int_equal(dfw_stage_finish(st, b->scratch), DFW_ERR_INCOMPLETE);
    assert_int_equal(dfw_stage_phase(st), DFW_PHASE_RECEIVING); /* can still complete */
    assert_int_equal(dfw_stage_finish(st, NULL), DFW_ERR_PARAM);
    assert_int_equal(dfw_stage_write(st, 100, img + 100, 24), DFW_OK);
    bench_finish(b);
    assert_int_equal(dfw_stage_finish(st, b->scratch), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_write(st, 124, img, 0), DFW_ERR_STATE);
    assert_int_equal(dfw_stage_write(NULL, 0, img, 1), DFW_ERR_PARAM);
    check_staged(d, 0x33000, &b->p);
}

/* No globals: two devices staged in one process, interleaved chunk by chunk. */
static void test_dfw_stage_two_devices_interleaved(void **state)
{
    (void)state;
    bench_t a, b;
    bench_open(&a, DFWT_52832_S132, "app_signed.zip", "app_s132");
    bench_open(&b, DFWT_52840_S140, "app_signed_large.zip", "app_large");
    bench_begin(&a);
    bench_begin(&b);
    const dfwt_blob_t *ia = &a.p.img, *ib = &b.p.img;
    size_t oa = 0, ob = 0;
    while (oa < ia->n || ob < ib->n) {
        size_t ka = ia->n - oa < 1001 ? ia->n - oa : 1001;
        size_t kb = ib->n - ob < 2048 ? ib->n - ob : 2048;
        assert_int_equal(dfw_stage_write(&a.st, (uint32_t)oa, ia->d + oa, ka), DFW_OK);
        assert_int_equal(dfw_stage_write(&b.st, (uint32_t)ob, ib->d + ob, kb), DFW_OK);
        oa += ka;
        ob += kb;
    }
    bench_finish(&a);
    bench_finish(&b);
    check_staged(&a.d, 0x33000, &a.p);
    check_staged(&b.d, 0x71000, &b.p);
    bench_close(&a);
    bench_close(&b);
}

/* ==================================================== flash ceiling: blank skip */

/* Make [from, to) erased flash in the device and in its "before" snapshot. */
static void blank_range(dfwt_device_t *d, uint32_t from, uint32_t to)
{
    memset(d->f->mem + from, 0xFF, to - from);
    memset(d->before + from, 0xFF, to - from);
}

static unsigned erases_in(const dfwt_device_t *d, uint32_t from, uint32_t to)
{
    unsigned n = 0;
    for (uint32_t a = from; a < to; a += PAGE) {
        n += d->f->erase_count[a / PAGE];
    }
    return n;
}

static unsigned touched_words(const dfwt_device_t *d, uint32_t from, uint32_t to)
{
    unsigned n = 0;
    for (uint32_t a = from; a < to; a += 4) {
        n += d->f->programs[a / 4] != 0;
    }
    return n;
}

/* Bank 1 already erased (e.g. by idle pre-erase): the whole stage erases only the settings page. */
static void test_dfw_stage_blank_bank1_needs_no_erase(void **state)
{
    bench_t *b = *state;
    blank_range(&b->d, 0x33000, 0x75000);
    stage_whole(&b->d, &b->p, 2048, 0);
    assert_int_equal(erases_in(&b->d, 0x33000, 0x75000), 0);
    assert_int_equal(b->d.f->erases, 1); /* the settings page */
    check_staged(&b->d, 0x33000, &b->p);
}

/* The blank check is exact: one byte (or one bit) that is not 0xFF anywhere in a page erases it. */
static void test_dfw_stage_almost_blank_page_is_erased(void **state)
{
    bench_t *b = *state; /* app_s132 is 50016 bytes: pages 0x33000..0x3F000 */
    uint8_t *mem = b->d.f->mem;
    blank_range(&b->d, 0x33000, 0x75000);
    mem[0x34000] = 0x00;        /* first byte of page 1 */
    mem[0x36FFF] = 0xFE;        /* last byte of page 3, one bit */
    mem[0x3F000 + 3000] = 0x7F; /* last page, past the image end (50016 = 0xC360) */
    dfwt_device_snapshot(&b->d);
    stage_whole(&b->d, &b->p, 1000, 0);
    for (uint32_t a = 0x33000; a < 0x75000; a += PAGE) {
        unsigned want = a == 0x34000 || a == 0x36000 || a == 0x3F000 ? 1 : 0;
        if (b->d.f->erase_count[a / PAGE] != want) {
            fail_msg("page 0x%x erased %u times", a, b->d.f->erase_count[a / PAGE]);
        }
    }
    check_staged(&b->d, 0x33000, &b->p);
}

/*
 * n synthetic bytes with 0xFF words: a run over a whole page, runs across a
 * page boundary, single words.
 */
static void pkg_with_ff_runs(dfwt_pkg_t *p, size_t n)
{
    pkg_synthetic(p, n, 77);
    uint8_t *img = p->img.d;
    memset(img + 4096, 0xFF, 4096);       /* page 1 entirely */
    memset(img + 12288 - 40, 0xFF, 80);   /* run across the page 2/3 boundary */
    memset(img + 20000, 0xFF, 4);         /* one aligned word */
    memset(img + 20010, 0xFF, 4);         /* unaligned: no whole 0xFF word */
    memset(img + 16384 - 124, 0xFF, 124); /* end of page 3 */
    memset(img + n - 3, 0xFF, 3);         /* last partial word, 0xFF padded: all 0xFF */
}

static unsigned non_ff_words(const dfwt_blob_t *img)
{
    unsigned n = 0;
    for (size_t off = 0; off < img->n; off += 4) {
        uint8_t w[4] = {0xFF, 0xFF, 0xFF, 0xFF};
        memcpy(w, img->d + off, img->n - off < 4 ? img->n - off : 4);
        n += dfwt_get32(w) != 0xFFFFFFFFu;
    }
    return n;
}

/* 0xFFFFFFFF words are left out, in any chunking; offsets, CRC and the read-back still hold. */
static void test_dfw_stage_skips_programming_ff_words(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 3, 4, 2048, 0};
    const size_t n = 23003; /* 6 pages, last word partial */
    dfwt_pkg_t p;
    pkg_with_ff_runs(&p, n);
    unsigned want = non_ff_words(&p.img);
    assert_true(want < (n + 3) / 4 - 1024 - 20);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        for (int pre_blank = 0; pre_blank <= 1; pre_blank++) {
            dfwt_device_t d;
            dfwt_device_make(&d, DFWT_52832_MBR);
            if (pre_blank) {
                blank_range(&d, 0xE000, 0x75000);
            }
            stage_whole(&d, &p, chunks[i], 5);
            assert_int_equal(touched_words(&d, 0xE000, 0x75000), want);
            check_staged(&d, 0xE000, &p); /* stale page 1 still erased */
            assert_int_equal(erases_in(&d, 0xE000, 0x75000), pre_blank ? 0 : 6);
            dfwt_device_free(&d);
        }
    }
    dfwt_pkg_free(&p);
}

/*
 * The image's last pages hold only 0xFF: nothing is programmed there, but the
 * stale pages must still be erased, or bank 1 would not hold the image.
 */
static void test_dfw_stage_erases_stale_pages_under_trailing_ff(void **state)
{
    (void)state;
    const size_t n = 3 * 4096 + 1001;
    dfwt_pkg_t p;
    pkg_synthetic(&p, n, 3);
    memset(p.img.d + 4096 + 2000, 0xFF, n - 4096 - 2000); /* pages 2 and 3 all 0xFF */
    for (size_t chunk = 4; chunk <= 8192; chunk *= 8) {
        dfwt_device_t d;
        dfwt_device_make(&d, DFWT_52832_MBR);
        stage_whole(&d, &p, chunk, 0);
        check_staged(&d, 0xE000, &p);
        assert_int_equal(erases_in(&d, 0xE000, 0x75000), 4);
        assert_int_equal(touched_words(&d, 0xE000 + 8192, 0x75000), 0);
        dfwt_device_free(&d);
    }
    dfwt_pkg_free(&p);
}

/* A skipped word is still verified: finish reads every byte back, so a 0 bit there is caught. */
static void test_dfw_stage_finish_verifies_skipped_words(void **state)
{
    (void)state;
    bench_t b;
    dfwt_device_make(&b.d, DFWT_52832_MBR);
    pkg_with_ff_runs(&b.p, 23003);
    dfw_stage_init(&b.st);
    bench_begin(&b);
    write_range(&b.st, &b.p.img, 0, 4096, 0);
    b.d.f->mem[0xE000 + 4096 + 100] = 0xEF; /* a bit drops in the all-0xFF page after its check */
    assert_int_equal(dfw_stage_finish(&b.st, b.scratch), DFW_ERR_VERIFY);
    assert_int_equal(b.d.f->erase_count[0x7F], 0); /* settings untouched */
    bench_close(&b);
}

/*
 * Reset while the page at the resume point held a torn word (a few bits 0, the
 * rest 0xFF) past what the host knows: not blank, so RESUME's page is erased
 * again (the fake flash fails the test on a program over a 0 bit).
 */
static void test_dfw_stage_resume_reerases_page_with_torn_word(void **state)
{
    bench_t *b = *state;
    const uint8_t *img = b->p.img.d;
    blank_range(&b->d, 0x33000, 0x75000);
    bench_begin(b);
    assert_int_equal(dfw_stage_write(&b->st, 0, img, 8192), DFW_OK);
    b->d.f->mem[0x33000 + 8192 + 5] &= 0xF7; /* power cut mid-program of the next word */
    dfw_stage_t st2;                         /* after the reset */
    dfw_stage_init(&st2);
    assert_int_equal(dfw_stage_begin(&st2, &b->d.hal, &b->d.layout, b->p.dat, b->p.dat_len),
                     DFW_OK);
    assert_int_equal(dfw_stage_resume(&st2, 8192, crc32_compute(img, 8192)), DFW_OK);
    assert_int_equal(dfw_stage_next_offset(&st2), 8192);
    write_range(&st2, &b->p.img, 8192, 2048, 0);
    assert_int_equal(dfw_stage_finish(&st2, b->scratch), DFW_RESET_REQUIRED);
    assert_memory_equal(b->d.f->mem + 0x33000, img, b->p.img.n);
    assert_int_equal(b->d.f->erase_count[(0x33000 + 8192) / PAGE], 1); /* the torn page */
    assert_int_equal(erases_in(&b->d, 0x33000, 0x75000), 1);
}

/* ================================================ flash ceiling: idle pre-erase */

/* Run idle calls until *more is false; each call erases at most one page, never programs. */
static unsigned idle_until_done(dfwt_device_t *d, dfw_stage_t *st, unsigned max_calls)
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
static void check_idle_erased(const dfwt_device_t *d, uint32_t bank1, uint32_t end)
{
    const dfwt_flash_t *f = d->f;
    for (uint32_t a = 0; a < f->size; a += PAGE) {
        bool area = a >= bank1 && a < end;
        unsigned want = area && !dfwt_page_is_blank(d->before, a) ? 1 : 0;
        if (f->erase_count[a / PAGE] != want) {
            fail_msg("page 0x%x erased %u times", a, f->erase_count[a / PAGE]);
        }
        if (area) {
            assert_true(dfwt_page_is_blank(f->mem, a));
        } else {
            assert_memory_equal(f->mem + a, d->before + a, PAGE);
        }
    }
}

/* One idle_erase call on a state that has decided: *more false, `rc`, flash not even read. */
static void expect_idle_settled(dfwt_device_t *d, dfw_stage_t *st, dfw_err_t rc)
{
    unsigned reads = d->f->reads;
    bool more = true;
    assert_int_equal(dfw_stage_idle_erase(st, &d->hal, &d->layout, true, &more), rc);
    assert_false(more);
    assert_int_equal(d->f->reads, reads);
}

static void test_dfw_stage_idle_erases_nonblank_pages_one_per_call(void **state)
{
    (void)state;
    static const struct {
        dfwt_kind_t kind;
        uint32_t bank1, end;
    } devs[] = {{DFWT_52832_S132, 0x33000, 0x75000},
                {DFWT_52832_MBR, 0xE000, 0x75000},
                {DFWT_52840_S140, 0x71000, 0xF5000}};
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
        dfwt_device_t d;
        dfwt_device_make(&d, devs[i].kind);
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
        expect_idle_settled(&d, &st, DFW_OK);
        /* A fresh state (next boot) scans again and finds nothing to do. */
        dfw_stage_init(&st);
        assert_int_equal(idle_until_done(&d, &st, 2), 1);
        check_idle_erased(&d, devs[i].bank1, devs[i].end);
        dfwt_device_free(&d);
    }
}

/* Bank 1 is not free, or its place is unknown: idle erasing touches nothing. */
static void test_dfw_stage_idle_does_nothing_unless_bank1_is_free(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint32_t off, value; /* off 0: flip a bit the settings CRC covers instead */
        dfw_err_t err;
    } cases[] = {
        {"bank_current 1: an update is pending", 20, 1, DFW_OK},
        {"bank_0 not a valid app: we may be running from there", 32, 0, DFW_OK},
        {"bank_1 holds an external application", 44, 0xB1, DFW_OK},
        {"bank_1 holds an image awaiting activation", 44, 0x01, DFW_OK},
        {"bank_0 size puts bank 1 past the app data", 24, 0x80000, DFW_ERR_NO_SPACE},
        {"torn settings page", 0, 0, DFW_ERR_SETTINGS_CRC},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dfwt_device_t d;
        dfwt_device_make(&d, DFWT_52832_S132);
        if (cases[i].off != 0) {
            dfwt_settings_put(&d, cases[i].off, cases[i].value);
        } else {
            d.f->mem[0x7F000 + 30] ^= 1;
        }
        dfw_stage_t st;
        dfw_stage_init(&st);
        bool more = true;
        dfw_err_t err = dfw_stage_idle_erase(&st, &d.hal, &d.layout, true, &more);
        if (err != cases[i].err || more) {
            fail_msg("%s: idle_erase gave %d (want %d), more %d", cases[i].what, err, cases[i].err,
                     more);
        }
        expect_idle_settled(&d, &st, DFW_OK); /* decided once per state */
        assert_int_equal(dfwt_flash_ops(d.f), 0);
        dfwt_device_free(&d);
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
    bench_t *b = *state; /* app_s132: pages 0x33000..0x3F000 */
    dfwt_device_t *d = &b->d;
    bool more = false;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(dfw_stage_idle_erase(&b->st, &d->hal, &d->layout, true, &more), DFW_OK);
        assert_true(more);
    }
    assert_int_equal(d->f->erases, 5);
    bench_begin(b);
    assert_int_equal(dfw_stage_idle_erase(&b->st, &d->hal, &d->layout, true, &more), DFW_ERR_STATE);
    assert_false(more);
    assert_int_equal(d->f->erases, 5);
    write_range(&b->st, &b->p.img, 0, 2048, 0);
    bench_finish(b);
    assert_int_equal(dfw_stage_idle_erase(&b->st, &d->hal, &d->layout, true, &more), DFW_ERR_STATE);
    check_staged(d, 0x33000, &b->p); /* every image page erased exactly once */
    dfw_stage_init(&b->st);
    unsigned ops = dfwt_flash_ops(d->f);
    assert_int_equal(dfw_stage_idle_erase(&b->st, &d->hal, &d->layout, true, &more), DFW_OK);
    assert_false(more);
    assert_int_equal(dfwt_flash_ops(d->f), ops);
    assert_memory_equal(d->f->mem + 0x33000, b->p.img.d, b->p.img.n);
}

/*
 * Power cut during an idle erase: the page is left torn (mostly 0xFF, some
 * bits still 0). The next boot's idle pass erases it again, and so does
 * staging if an update comes first.
 */
static void test_dfw_stage_torn_idle_erase_is_erased_again(void **state)
{
    (void)state;
    for (int update_first = 0; update_first <= 1; update_first++) {
        bench_t b;
        bench_open(&b, DFWT_52832_S132, "app_signed.zip", "app_s132");
        dfwt_flash_t *f = b.d.f;
        bool more = false;
        for (int i = 0; i < 3; i++) {
            assert_int_equal(dfw_stage_idle_erase(&b.st, &b.d.hal, &b.d.layout, true, &more),
                             DFW_OK);
        }
        /* The cut hits the erase of the 4th page (0x36000): a few stale bits survive. */
        memset(f->mem + 0x36000, 0xFF, PAGE);
        f->mem[0x36000 + 17] = 0xFB;
        f->mem[0x36000 + 4000] = 0x7F;
        dfwt_flash_forget(f);
        dfw_stage_init(&b.st); /* the reboot */
        if (update_first) {
            stage_whole(&b.d, &b.p, 4096, 0);
            assert_memory_equal(f->mem + 0x33000, b.p.img.d, b.p.img.n);
            assert_int_equal(f->erase_count[0x36], 1);
            assert_int_equal(erases_in(&b.d, 0x33000, 0x36000), 0); /* blank: skipped */
        } else {
            assert_int_equal(dfw_stage_idle_erase(&b.st, &b.d.hal, &b.d.layout, true, &more),
                             DFW_OK);
            assert_true(more);
            assert_int_equal(f->erase_count[0x36], 1); /* the torn page comes first */
            assert_int_equal(f->erases, 1);
            assert_true(dfwt_page_is_blank(f->mem, 0x36000));
        }
        bench_close(&b);
    }
}

static void test_dfw_stage_idle_rejects_misuse_and_stops_on_hal_error(void **state)
{
    (void)state;
    dfwt_device_t d;
    dfwt_device_make(&d, DFWT_52832_S132);
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
    assert_int_equal(dfwt_flash_ops(d.f), 0);
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
    dfwt_device_free(&d);
}

/* ============================================ idle verdict: what bank 1 holds */

/*
 * Bank 1 as an earlier update left it: `n` pages of an image (NULL: the
 * running one) from its page `first`, at bank 1's page `at`.
 */
typedef struct {
    const char *img;
    uint32_t first, n, at;
} bank1_put_t;

typedef struct {
    const char *what;
    dfwt_kind_t kind;
    bank1_put_t put[2];
    int erase_first; /* stale: the bank-1 page erased first; -1: kept until may_discard */
} verdict_case_t;

typedef struct {
    uint32_t bank0, bank1, end, pages0; /* the device's running image and staging area */
} idle_dev_t;

/*
 * A device of that kind whose bank 0 is as an activation leaves it (0xFF
 * after the image in its last page) and whose bank 1 holds c->put.
 */
static idle_dev_t verdict_device(dfwt_device_t *d, const verdict_case_t *c)
{
    static const idle_dev_t devs[] = {
        [DFWT_52832_S132] = {0x26000, 0x33000, 0x75000, 13},
        [DFWT_52832_MBR] = {0x1000, 0xE000, 0x75000, 13},
        [DFWT_52840_S140] = {0x27000, 0x71000, 0xF5000, 74},
    };
    idle_dev_t v = devs[c->kind];
    dfwt_device_make(d, c->kind);
    dfwt_blob_t run = dfwt_image(c->kind == DFWT_52840_S140 ? "app_large" : "app_s132");
    dfwt_put_pages(d, v.bank0, &run, 0, v.pages0);
    for (size_t i = 0; i < 2 && c->put[i].n > 0; i++) {
        const bank1_put_t *p = &c->put[i];
        dfwt_blob_t other = p->img != NULL ? dfwt_image(p->img) : run;
        dfwt_put_pages(d, v.bank1 + p->at * PAGE, &other, p->first, p->n);
        if (p->img != NULL) {
            dfwt_blob_free(&other);
        }
    }
    dfwt_blob_free(&run);
    dfwt_flash_forget(d->f);
    return v;
}

/*
 * Idle calls that may not discard, until one erases or *more is false: each
 * reads at most the settings, the SD info and one page (the scan goes a page
 * per call) and erases at most one page. Returns the calls.
 */
static unsigned idle_scan(dfwt_device_t *d, dfw_stage_t *st, const idle_dev_t *v)
{
    unsigned max = 4 + 2 * v->pages0 + (v->end - v->bank1) / PAGE, calls = 0;
    bool more = true;
    while (more && d->f->erases == 0) {
        assert_true(++calls <= max);
        unsigned reads = d->f->reads;
        assert_int_equal(dfw_stage_idle_erase(st, &d->hal, &d->layout, false, &more), DFW_OK);
        assert_true(d->f->reads - reads <= 2 + PAGE / 64);
        assert_true(d->f->erases <= 1);
    }
    assert_int_equal(d->f->writes, 0);
    return calls;
}

/* The bank-1 page idle erasing erased (exactly one erase so far). */
static int erased_page(const dfwt_device_t *d, const idle_dev_t *v)
{
    assert_int_equal(d->f->erases, 1);
    for (uint32_t a = v->bank1; a < v->end; a += PAGE) {
        if (d->f->erase_count[a / PAGE] == 1) {
            return (int)((a - v->bank1) / PAGE);
        }
    }
    fail_msg("no bank-1 page erased");
    return -1;
}

/*
 * What an activation leaves in bank 1 is pre-erased without waiting: a copy
 * of the running image (same size), the staged copy's tail (the image grew
 * by k pages: bank 1's page 0 is bank 0's page k), the staged copy above
 * the old image's tail (it shrank by j pages: bank 1's page j is bank 0's
 * page 0; that page is erased first). Anything else may be an interrupted
 * update and waits for may_discard, even when its page 0 is the running
 * image's (a new build often starts like the old one) or its later pages are.
 * Each at the edges of k and j, and on both chips.
 */
static void test_dfw_stage_idle_verdict_recognises_what_an_activation_leaves(void **state)
{
    (void)state;
    static const verdict_case_t cases[] = {
        {"same size: a copy of the running image", DFWT_52832_S132, {{NULL, 0, 13, 0}}, 0},
        {"grown by 5 pages: the tail from page 5", DFWT_52832_S132, {{NULL, 5, 8, 0}}, 0},
        {"grown by 12 pages: only the last, partial page", DFWT_52832_S132, {{NULL, 12, 1, 0}}, 0},
        {"grown by 61 pages (50 -> 300 KB)", DFWT_52840_S140, {{NULL, 61, 13, 0}}, 0},
        {"shrunk by 7 pages: the copy at page 7", DFWT_52832_S132, {{NULL, 0, 13, 7}}, 7},
        {"shrunk by 53 pages: the copy ends at the app data",
         DFWT_52832_S132,
         {{NULL, 0, 13, 53}},
         53},
        {"shrunk by 58 pages on the 52840", DFWT_52840_S140, {{NULL, 0, 74, 58}}, 58},
        {"shrunk by 1 page, no SoftDevice", DFWT_52832_MBR, {{NULL, 0, 13, 1}}, 1},
        {"interrupted: the running image's page 0, then another build",
         DFWT_52832_S132,
         {{NULL, 0, 1, 0}, {"app_large", 1, 4, 1}},
         -1},
        {"interrupted: v2's first 6 pages (its pages 1-12 are the running image's)",
         DFWT_52832_S132,
         {{"app_v2", 0, 6, 0}},
         -1},
        {"interrupted: v2's first 3 pages on the 52840",
         DFWT_52840_S140,
         {{"app_v2", 0, 3, 0}},
         -1},
        {"stale bytes only", DFWT_52832_S132, {{NULL, 0, 0, 0}}, -1},
        {"the running image's page 0 where no copy could fit (page 54 of 66)",
         DFWT_52832_S132,
         {{NULL, 0, 1, 54}},
         -1},
        {"the running image's pages 1-12 at page 0 (a copy missing its page 0)",
         DFWT_52832_S132,
         {{NULL, 1, 12, 1}},
         -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const verdict_case_t *c = &cases[i];
        dfwt_device_t d;
        idle_dev_t v = verdict_device(&d, c);
        dfw_stage_t st;
        dfw_stage_init(&st);
        idle_scan(&d, &st, &v);
        int got = d.f->erases == 0 ? -1 : erased_page(&d, &v);
        if (got != c->erase_first) {
            fail_msg("%s: first erase at bank-1 page %d, want %d", c->what, got, c->erase_first);
        }
        bool more = true;
        if (got < 0) { /* kept: settled, until the caller may discard */
            assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, false, &more), DFW_OK);
            assert_false(more);
            assert_int_equal(dfwt_flash_ops(d.f), 0);
            more = true;
        }
        while (more) {
            assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, got < 0, &more), DFW_OK);
        }
        check_idle_erased(&d, v.bank1, v.end);
        dfwt_device_free(&d);
    }
}

/*
 * After a shrinking activation a new update may start before the pre-erase
 * reaches the staged copy, and be cut. Its page j then still matches the
 * running image's page 0 unless the pre-erase erased that page first: it
 * does, so the next boot keeps the update's bytes and RESUME finds them.
 */
static void test_dfw_stage_idle_keeps_an_update_started_after_a_shrink(void **state)
{
    (void)state;
    const verdict_case_t shrunk = {"shrunk by 7", DFWT_52832_S132, {{NULL, 0, 13, 7}}, 7};
    dfwt_device_t d;
    idle_dev_t v = verdict_device(&d, &shrunk);
    dfw_stage_t st;
    dfw_stage_init(&st);
    idle_scan(&d, &st, &v); /* decides, erases the copy's first page */
    bool more = false;
    assert_int_equal(dfw_stage_idle_erase(&st, &d.hal, &d.layout, false, &more), DFW_OK);
    assert_int_equal(d.f->erases, 2); /* and then page 0: the update comes now */
    dfwt_pkg_t p;
    dfwt_pkg_load(&p, "app_signed_v2.zip", "app_v2");
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, p.dat, p.dat_len), DFW_OK);
    assert_int_equal(dfw_stage_write(&st, 0, p.img.d, 3 * PAGE), DFW_OK);
    dfw_stage_init(&st); /* power cut after 3 pages, below page 7 */
    dfwt_flash_forget(d.f);
    idle_scan(&d, &st, &v);
    assert_int_equal(dfwt_flash_ops(d.f), 0);
    assert_int_equal(dfw_stage_begin(&st, &d.hal, &d.layout, p.dat, p.dat_len), DFW_OK);
    assert_int_equal(dfw_stage_resume(&st, 3 * PAGE, crc32_compute(p.img.d, 3 * PAGE)), DFW_OK);
    dfwt_pkg_free(&p);
    dfwt_device_free(&d);
}

/* The caller may assemble the .dat in the stage's own buffer; begin then copies nothing. */
static void test_dfw_stage_dat_assembled_in_place(void **state)
{
    bench_t *b = *state;
    dfwt_device_t *d = &b->d;
    const uint8_t *dat = b->p.dat;
    size_t dat_len = b->p.dat_len;
    uint8_t *buf = dfw_stage_dat_buf(&b->st);
    assert_non_null(buf);
    bool more = false;
    assert_int_equal(dfw_stage_idle_erase(&b->st, &d->hal, &d->layout, true, &more), DFW_OK);
    for (size_t off = 0; off < dat_len; off += 50) { /* piecewise, with idle work between */
        memcpy(buf + off, dat + off, dat_len - off < 50 ? dat_len - off : 50);
        assert_int_equal(dfw_stage_idle_erase(&b->st, &d->hal, &d->layout, true, &more), DFW_OK);
    }
    /* A refused begin (settings unreadable for a moment) keeps the assembled bytes. */
    d->f->fail_read = d->f->reads + 1;
    assert_int_equal(dfw_stage_begin(&b->st, &d->hal, &d->layout, buf, dat_len), DFW_ERR_FLASH);
    d->f->fail_read = 0;
    d->f->failed = false;
    assert_memory_equal(buf, dat, dat_len);
    assert_int_equal(dfw_stage_begin(&b->st, &d->hal, &d->layout, buf, dat_len), DFW_OK);
    write_range(&b->st, &b->p.img, 0, 2048, 0);
    bench_finish(b);
    uint8_t want[DFWT_SETTINGS_USED];
    dfwt_expected_settings(d->before + 0x7F000, dat, dat_len, want);
    assert_memory_equal(d->f->mem + 0x7F000, want, sizeof(want));
    assert_memory_equal(d->f->mem + 0x33000, b->p.img.d, b->p.img.n);
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
        BENCH_TEST(test_dfw_stage_refuses_out_of_order_offset, TINY),
        cmocka_unit_test(test_dfw_stage_refuses_bytes_past_image_end),
        cmocka_unit_test(test_dfw_stage_refuses_unusable_settings_page),
        cmocka_unit_test(test_dfw_stage_refuses_non_application_types),
        cmocka_unit_test(test_dfw_stage_refuses_bad_init_packets),
        cmocka_unit_test(test_dfw_stage_hal_error_at_any_op_aborts_stage),
        cmocka_unit_test(test_dfw_stage_hal_read_error_aborts_stage),
        cmocka_unit_test(test_dfw_stage_readback_mismatch_fails_verify),
        BENCH_TEST(test_dfw_stage_reports_progress_for_same_boot_resume, APP),
        cmocka_unit_test(test_dfw_stage_resume_after_reset_continues_from_page_start),
        BENCH_TEST(test_dfw_stage_resume_rejects_wrong_crc_or_length, APP),
        BENCH_TEST(test_dfw_stage_refuses_settings_changed_since_begin, TINY),
        BENCH_TEST(test_dfw_stage_rejects_api_misuse, TINY),
        cmocka_unit_test(test_dfw_stage_two_devices_interleaved),
        BENCH_TEST(test_dfw_stage_blank_bank1_needs_no_erase, APP),
        BENCH_TEST(test_dfw_stage_almost_blank_page_is_erased, APP),
        cmocka_unit_test(test_dfw_stage_skips_programming_ff_words),
        cmocka_unit_test(test_dfw_stage_erases_stale_pages_under_trailing_ff),
        cmocka_unit_test(test_dfw_stage_finish_verifies_skipped_words),
        BENCH_TEST(test_dfw_stage_resume_reerases_page_with_torn_word, APP),
        cmocka_unit_test(test_dfw_stage_idle_erases_nonblank_pages_one_per_call),
        cmocka_unit_test(test_dfw_stage_idle_does_nothing_unless_bank1_is_free),
        BENCH_TEST(test_dfw_stage_idle_stops_at_begin_and_staging_skips_its_pages, APP),
        cmocka_unit_test(test_dfw_stage_torn_idle_erase_is_erased_again),
        cmocka_unit_test(test_dfw_stage_idle_rejects_misuse_and_stops_on_hal_error),
        cmocka_unit_test(test_dfw_stage_idle_verdict_recognises_what_an_activation_leaves),
        cmocka_unit_test(test_dfw_stage_idle_keeps_an_update_started_after_a_shrink),
        BENCH_TEST(test_dfw_stage_dat_assembled_in_place, APP),
        cmocka_unit_test(test_dfw_stage_strerror_covers_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
