#include "dfw_testkit.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "proto/crc32.h"

/* ====================================================== little-endian words */

uint32_t dfwt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void dfwt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ================================================================== fixtures */

void dfwt_blob_free(dfwt_blob_t *b)
{
    free(b->d);
    b->d = NULL;
    b->n = 0;
}

dfwt_blob_t dfwt_image(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/images/%s.bin", FIX_NRFUTIL, name);
    dfwt_blob_t b;
    b.d = fix_read_file(path, &b.n);
    assert_true(b.n > 0);
    return b;
}

size_t dfwt_package_dat(const char *zip, uint8_t out[DFW_INITCMD_MAX_SIZE])
{
    cJSON *all = fix_packages_json();
    size_t n = fix_package_dat(all, zip, 0, out);
    cJSON_Delete(all);
    return n;
}

void dfwt_pkg_load(dfwt_pkg_t *p, const char *zip, const char *bin)
{
    p->dat_len = dfwt_package_dat(zip, p->dat);
    p->img = dfwt_image(bin);
}

void dfwt_pkg_free(dfwt_pkg_t *p)
{
    dfwt_blob_free(&p->img);
}

/* One record's bytes (count, address, type, data, checksum), checksum verified. */
static size_t ihex_record(const char *line, uint8_t rec[300])
{
    size_t n = 0;
    for (const char *s = line + 1; isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1]);
         s += 2) {
        char digits[3] = {s[0], s[1], '\0'};
        assert_true(n < 300);
        rec[n++] = (uint8_t)strtoul(digits, NULL, 16);
    }
    assert_true(n >= 5 && n == (size_t)rec[0] + 5u);
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum = (uint8_t)(sum + rec[i]);
    }
    assert_int_equal(sum, 0);
    return n;
}

void dfwt_load_ihex(const char *rel, uint8_t *mem, uint32_t mem_size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", FIX_NRFUTIL, rel);
    size_t len;
    char *text = (char *)fix_read_file(path, &len);
    uint32_t base = 0;
    for (char *line = strtok(text, "\r\n"); line != NULL; line = strtok(NULL, "\r\n")) {
        if (line[0] != ':') {
            continue;
        }
        uint8_t rec[300];
        (void)ihex_record(line, rec);
        uint32_t addr = base + ((uint32_t)rec[1] << 8 | rec[2]);
        if (rec[3] == 0) {
            assert_true((uint64_t)addr + rec[0] <= mem_size);
            memcpy(mem + addr, rec + 4, rec[0]);
        } else if (rec[3] == 2) {
            base = ((uint32_t)rec[4] << 8 | rec[5]) << 4;
        } else if (rec[3] == 4) {
            base = ((uint32_t)rec[4] << 8 | rec[5]) << 16;
        }
    }
    free(text);
}

/* ================================================================ fake flash */

dfwt_flash_t *dfwt_flash_new(uint32_t size)
{
    assert_true(size % DFWT_PAGE == 0);
    uint32_t pages = size / DFWT_PAGE, words = size / 4;
    dfwt_flash_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    /* One zeroed block holds the records: erase_count first, for its alignment. */
    uint8_t *rec = calloc(1, (size_t)pages * sizeof(uint16_t) + 2u * words + pages);
    f->mem = malloc(size);
    assert_true(rec != NULL && f->mem != NULL);
    f->erase_count = (uint16_t *)(void *)rec;
    f->since_erase = rec + (size_t)pages * sizeof(uint16_t);
    f->programs = f->since_erase + words;
    f->erased = f->programs + words;
    memset(f->mem, 0xFF, size);
    f->size = size;
    return f;
}

void dfwt_flash_free(dfwt_flash_t *f)
{
    if (f != NULL) {
        free(f->erase_count); /* the records' block */
        free(f->mem);
        free(f);
    }
}

static void count_after_fail(dfwt_flash_t *f)
{
    if (f->failed) {
        f->ops_after_fail++;
    }
}

static int ff_read(void *ctx, uint32_t addr, void *dst, uint32_t len)
{
    dfwt_flash_t *f = ctx;
    count_after_fail(f);
    f->reads++;
    if (f->fail_read != 0 && f->reads == f->fail_read) {
        f->failed = true;
        return -7;
    }
    if ((uint64_t)addr + len > f->size) {
        fail_msg("read outside flash: 0x%x + %u", addr, len);
    }
    memcpy(dst, f->mem + addr, len);
    return 0;
}

/* One word, by the NVMC rules plus ours: once per erase, bits only 1 -> 0, AND. */
static void program_word(dfwt_flash_t *f, uint32_t a, uint32_t w)
{
    uint32_t old = dfwt_get32(f->mem + a);
    if (f->since_erase[a / 4] != 0) {
        fail_msg("word 0x%x programmed twice without erase", a);
    }
    if ((old & w) != w) {
        fail_msg("programming non-erased word 0x%x (0x%08x <- 0x%08x)", a, old, w);
    }
    uint32_t stuck = a == f->stuck_addr ? f->stuck_mask : 0;
    dfwt_put32(f->mem + a, old & (w | stuck));
    f->since_erase[a / 4]++;
    f->programs[a / 4]++;
}

static int ff_write(void *ctx, uint32_t addr, const uint32_t *w, uint32_t n)
{
    dfwt_flash_t *f = ctx;
    count_after_fail(f);
    f->writes++;
    if ((f->fail_op != 0 && f->writes + f->erases == f->fail_op) ||
        (f->fail_write != 0 && f->writes == f->fail_write)) {
        f->failed = true;
        return -5;
    }
    if (addr % 4 != 0 || n == 0 || (uint64_t)addr + 4ull * n > f->size ||
        addr / DFWT_PAGE != (addr + 4 * n - 1) / DFWT_PAGE || ((uintptr_t)w & 3u) != 0) {
        fail_msg("illegal write: addr 0x%x, %u words", addr, n);
    }
    if (f->require_erase && !f->erased[addr / DFWT_PAGE]) {
        fail_msg("programming page 0x%x that was never erased", addr / DFWT_PAGE * DFWT_PAGE);
    }
    for (uint32_t i = 0; i < n; i++) {
        program_word(f, addr + 4 * i, w[i]);
    }
    return 0;
}

static int ff_erase(void *ctx, uint32_t page)
{
    dfwt_flash_t *f = ctx;
    count_after_fail(f);
    f->erases++;
    if (f->fail_op != 0 && f->writes + f->erases == f->fail_op) {
        f->failed = true;
        return -6;
    }
    if (page % DFWT_PAGE != 0 || page >= f->size) {
        fail_msg("illegal erase 0x%x", page);
    }
    memset(f->mem + page, 0xFF, DFWT_PAGE);
    memset(f->since_erase + page / 4, 0, DFWT_PAGE / 4);
    f->erased[page / DFWT_PAGE] = 1;
    f->erase_count[page / DFWT_PAGE]++;
    return 0;
}

dfw_hal_t dfwt_flash_hal(dfwt_flash_t *f)
{
    return (dfw_hal_t){.ctx = f,
                       .page_size = DFWT_PAGE,
                       .read = ff_read,
                       .write_words = ff_write,
                       .erase_page = ff_erase};
}

void dfwt_flash_forget(dfwt_flash_t *f)
{
    f->reads = f->writes = f->erases = 0;
    memset(f->erase_count, 0, f->size / DFWT_PAGE * sizeof(f->erase_count[0]));
    memset(f->programs, 0, f->size / 4);
}

unsigned dfwt_flash_ops(const dfwt_flash_t *f)
{
    return f->writes + f->erases;
}

bool dfwt_page_is_blank(const uint8_t *mem, uint32_t page)
{
    for (uint32_t i = 0; i < DFWT_PAGE; i++) {
        if (mem[page + i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* =================================================================== devices */

/* SD info struct (spec §1.2) as S132/S140 7.x carry it at 0x3000. */
static void put_sd_info(uint8_t *mem, uint32_t sd_end, uint16_t fwid)
{
    memset(mem + 0x3000, 0, 0x2C);
    mem[0x3000] = 0x2C;
    dfwt_put32(mem + 0x3004, 0x51B1E5DBu); /* written out: not device_fw's constants */
    dfwt_put32(mem + 0x3008, sd_end);
    mem[0x300C] = (uint8_t)fwid;
    mem[0x300D] = (uint8_t)(fwid >> 8);
}

void dfwt_device_make(dfwt_device_t *d, dfwt_kind_t kind)
{
    static const dfw_layout_t l32 = DFW_LAYOUT_NRF52832, l40 = DFW_LAYOUT_NRF52840;
    static const struct {
        const char *settings, *app;
        uint32_t sd_end; /* 0: no SoftDevice */
        uint16_t fwid;
    } kinds[] = {
        [DFWT_52832_S132] = {"settings/s52832_app_v3_crc.hex", "app_s132", 0x26000, 0x0101},
        [DFWT_52832_MBR] = {"settings/s52832_app_v3_crc.hex", "app_s132", 0, 0},
        [DFWT_52840_S140] = {"settings/s52840_app_large.hex", "app_large", 0x27000, 0x0100},
    };
    memset(d, 0, sizeof(*d));
    d->layout = kind == DFWT_52840_S140 ? l40 : l32;
    d->f = dfwt_flash_new(d->layout.flash_size);
    d->hal = dfwt_flash_hal(d->f);
    uint8_t *mem = d->f->mem;

    /* Stale data everywhere (free space is not erased), then the real parts. */
    for (uint32_t a = 0; a < d->f->size; a++) {
        mem[a] = (uint8_t)(0x3C + a * 13u);
    }
    memset(mem + d->layout.backup_addr, 0xFF, 2 * DFWT_PAGE); /* backup + settings pages */
    dfwt_load_ihex(kinds[kind].settings, mem, d->f->size);
    uint32_t bank0 = 0x1000; /* right after the MBR */
    if (kinds[kind].sd_end != 0) {
        put_sd_info(mem, kinds[kind].sd_end, kinds[kind].fwid);
        bank0 = kinds[kind].sd_end;
    }
    dfwt_blob_t app = dfwt_image(kinds[kind].app);
    memcpy(mem + bank0, app.d, app.n); /* the running application (bank 0) */
    dfwt_blob_free(&app);
    d->before = malloc(d->f->size);
    assert_non_null(d->before);
    dfwt_device_snapshot(d);
}

void dfwt_device_free(dfwt_device_t *d)
{
    dfwt_flash_free(d->f);
    free(d->before);
    d->f = NULL;
    d->before = NULL;
}

void dfwt_device_snapshot(dfwt_device_t *d)
{
    memcpy(d->before, d->f->mem, d->f->size);
}

void dfwt_put_pages(dfwt_device_t *d, uint32_t addr, const dfwt_blob_t *img, uint32_t first,
                    uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t off = (size_t)(first + i) * DFWT_PAGE;
        uint8_t *page = d->f->mem + addr + i * DFWT_PAGE;
        assert_true(off < img->n && addr + (i + 1) * DFWT_PAGE <= d->f->size);
        memset(page, 0xFF, DFWT_PAGE);
        memcpy(page, img->d + off, img->n - off < DFWT_PAGE ? img->n - off : DFWT_PAGE);
    }
    dfwt_device_snapshot(d);
}

void dfwt_settings_put(dfwt_device_t *d, uint32_t off, uint32_t v)
{
    uint8_t *set = d->f->mem + d->layout.settings_addr;
    dfwt_put32(set + off, v);
    dfwt_put32(set, crc32_compute(set + 4, 88));
    dfwt_device_snapshot(d);
}

void dfwt_expected_settings(const uint8_t *old, const uint8_t *dat, size_t n,
                            uint8_t out[DFWT_SETTINGS_USED])
{
    assert_true(n <= 512);
    memcpy(out, old, DFWT_SETTINGS_USED);
    memcpy(out + 92, dat, n); /* init_command */
    memset(out + 92 + n, 0xFF, 512 - n);
    dfwt_put32(out + 56, (uint32_t)n);           /* command_size */
    dfwt_put32(out + 60, (uint32_t)n);           /* command_offset */
    dfwt_put32(out + 64, crc32_compute(dat, n)); /* command_crc */
    memset(out + 68, 0, 20);                     /* data object progress */
    dfwt_put32(out + 48, 0);                     /* write_offset */
    dfwt_put32(out + 20, 1);                     /* bank_current */
    dfwt_put32(out + 0, crc32_compute(out + 4, 88));
}

/* =========================================================== protobuf writer */

void dfwt_pb_raw(dfwt_pb_t *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->d));
    if (n > 0) {
        memcpy(b->d + b->n, p, n);
    }
    b->n += n;
}

void dfwt_pb_varint(dfwt_pb_t *b, uint64_t v)
{
    do {
        uint8_t byte = (uint8_t)(v & 0x7Fu);
        v >>= 7;
        if (v != 0) {
            byte |= 0x80u;
        }
        dfwt_pb_raw(b, &byte, 1);
    } while (v != 0);
}

void dfwt_pb_u32(dfwt_pb_t *b, uint32_t field, uint64_t v)
{
    dfwt_pb_varint(b, (uint64_t)field << 3 | 0u);
    dfwt_pb_varint(b, v);
}

void dfwt_pb_bytes(dfwt_pb_t *b, uint32_t field, const void *p, size_t n)
{
    dfwt_pb_varint(b, (uint64_t)field << 3 | 2u);
    dfwt_pb_varint(b, n);
    dfwt_pb_raw(b, p, n);
}

void dfwt_pb_msg(dfwt_pb_t *b, uint32_t field, const dfwt_pb_t *sub)
{
    dfwt_pb_bytes(b, field, sub->d, sub->n);
}
