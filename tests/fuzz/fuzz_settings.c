/*
 * fuzz_settings.c - the bootloader settings-page codec (emulator/bl_settings.h)
 * on arbitrary pages: round trips, CRC validity, forbidden ranges, the boot-
 * time reinit in both modes, and the nrfutil-style display.
 *
 * Input: [ctl][main page: 896 bytes][backup page: 896 bytes][fmt cap: 2 bytes].
 * Short pages are padded with 0xFF (erased flash). ctl bits 0-1 choose the
 * backup: 0 from the input, 1 a copy of main, 2 erased, 3 main with one byte
 * flipped; bit 2/3 recompute main's/backup's CRCs first (so the fuzzer gets
 * past the CRC gate); bit 4 nRF52840 display; bit 5 display extras.
 *
 * Invariants (each written from bl_settings.h's contract, not from the .c):
 *  - decode + encode reproduces all 896 bytes; v1 decode + encode the 440;
 *  - main_valid == (crc != 0xFFFFFFFF && crc == CRC(4..91)); backup_valid
 *    additionally needs version 1 or a matching boot_validation_crc;
 *  - update_crcs changes only the two CRC words, and makes both valid
 *    unless the CRC is 0xFFFFFFFF;
 *  - forbidden_equal compares exactly the mode's forbidden bytes;
 *    forbidden_copy changes only those and makes forbidden_equal true;
 *  - reinit picks main / main+restore / backup / defaults by validity, fills
 *    RAM accordingly, and upgrades exactly the v1 pages (version becomes 2);
 *  - format: snprintf semantics on a heap buffer of exactly `cap` bytes,
 *    the truncated text a prefix of the full one; every field is listed.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <zlib.h>

#include "emulator/bl_settings.h"
#include "fuzz_common.h"

#define N BL_SETTINGS_SIZE

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Forbidden byte ranges [lo, hi] (inclusive) of SETTINGS.md / bl_settings.h. */
static bool forbidden(bl_settings_mode_t mode, size_t i)
{
    if (mode == BL_SETTINGS_MODE_A)
        return (i >= 4 && i <= 19) || (i >= 24 && i <= 47) || (i >= 52 && i <= 55) ||
               (i >= 604 && i <= 802);
    return (i >= 4 && i <= 87) || (i >= 92 && i <= 802);
}

static bool ref_main_valid(const uint8_t *p)
{
    uint32_t crc = le32(p);
    return crc != 0xFFFFFFFFu && crc == crc_of(p + 4, 88);
}

static bool ref_backup_valid(const uint8_t *p)
{
    return ref_main_valid(p) && (le32(p + 4) == 1 || le32(p + 604) == crc_of(p + 608, 195));
}

static void check_codec(const uint8_t *raw)
{
    bl_settings_t s;
    uint8_t back[N];
    bl_settings_decode(raw, &s);
    bl_settings_encode(&s, back);
    FUZZ_CHECK(memcmp(raw, back, N) == 0, "decode + encode changed the page");
    FUZZ_CHECK(s.crc == le32(raw) && s.settings_version == le32(raw + 4) &&
                   s.bank_0.image_size == le32(raw + 24) && s.bank_1.bank_code == le32(raw + 44),
               "decoded fields are not at their documented offsets");

    uint8_t v1[BL_SETTINGS_V1_SIZE];
    bl_settings_decode_v1(raw, &s);
    bl_settings_encode_v1(&s, v1);
    FUZZ_CHECK(memcmp(raw, v1, sizeof(v1)) == 0, "v1 decode + encode changed the page");

    FUZZ_CHECK(bl_settings_main_valid(raw) == ref_main_valid(raw), "main_valid disagrees");
    FUZZ_CHECK(bl_settings_backup_valid(raw) == ref_backup_valid(raw), "backup_valid disagrees");
    FUZZ_CHECK(bl_settings_crc_compute(raw) == crc_of(raw + 4, 88), "settings CRC range");
    FUZZ_CHECK(bl_settings_bv_crc_compute(raw) == crc_of(raw + 608, 195), "bv CRC range");

    uint8_t fixed[N];
    memcpy(fixed, raw, N);
    bl_settings_update_crcs(fixed);
    FUZZ_CHECK(memcmp(fixed + 4, raw + 4, 600) == 0 && memcmp(fixed + 608, raw + 608, N - 608) == 0,
               "update_crcs changed more than the CRC words");
    bool usable = le32(fixed) != 0xFFFFFFFFu;
    FUZZ_CHECK(bl_settings_main_valid(fixed) == usable && bl_settings_backup_valid(fixed) == usable,
               "a page with fresh CRCs is not valid");
}

static void check_forbidden(const uint8_t *main_page, const uint8_t *backup)
{
    for (int m = 0; m < 2; m++) {
        bl_settings_mode_t mode = (bl_settings_mode_t)m;
        bool equal = true;
        for (size_t i = 0; i < N; i++)
            equal = equal && (!forbidden(mode, i) || main_page[i] == backup[i]);
        FUZZ_CHECK(bl_settings_forbidden_equal(main_page, backup, mode) == equal,
                   "forbidden_equal (mode %d) is %d", m, !equal);
        uint8_t dst[N];
        memcpy(dst, main_page, N);
        bl_settings_forbidden_copy(dst, backup, mode);
        for (size_t i = 0; i < N; i++)
            FUZZ_CHECK(dst[i] == (forbidden(mode, i) ? backup[i] : main_page[i]),
                       "forbidden_copy (mode %d) byte %zu", m, i);
        FUZZ_CHECK(bl_settings_forbidden_equal(dst, backup, mode), "copy is not equal (mode %d)",
                   m);
    }
}

/* bl_settings_upgrade_v1 as its header describes it. */
static void ref_upgrade(uint8_t *p)
{
    memmove(p + 803, p + 348, 64);
    memmove(p + 867, p + 412, 28);
    p[608] = BL_SETTINGS_BV_NONE;
    p[673] = BL_SETTINGS_BV_CRC;
    memmove(p + 674, p + 28, 4);
    p[738] = BL_SETTINGS_BV_NONE;
    p[4] = 2, p[5] = p[6] = p[7] = 0;
}

static void check_reinit(const uint8_t *main_page, const uint8_t *backup)
{
    bool mv = ref_main_valid(main_page), bv = ref_backup_valid(backup);
    for (int m = 0; m < 2; m++) {
        bl_settings_mode_t mode = (bl_settings_mode_t)m;
        uint8_t ram[N], want[N];
        bool up = !mv;
        bl_settings_source_t src = bl_settings_reinit(main_page, backup, mode, ram, &up);
        bl_settings_source_t want_src =
            mv ? (bv ? BL_SETTINGS_SRC_MAIN_RESTORED : BL_SETTINGS_SRC_MAIN)
               : (bv ? BL_SETTINGS_SRC_BACKUP : BL_SETTINGS_SRC_DEFAULTS);
        FUZZ_CHECK(src == want_src, "reinit (mode %d) chose source %d, expected %d", m, (int)src,
                   (int)want_src);
        if (src == BL_SETTINGS_SRC_DEFAULTS) {
            memset(want, 0, N);
            want[4] = 2;
        } else {
            memcpy(want, src == BL_SETTINGS_SRC_BACKUP ? backup : main_page, N);
            if (src == BL_SETTINGS_SRC_MAIN_RESTORED)
                for (size_t i = 0; i < N; i++)
                    want[i] = forbidden(mode, i) ? backup[i] : want[i];
        }
        bool v1 = le32(want + 4) == 1;
        if (v1)
            ref_upgrade(want);
        FUZZ_CHECK(up == v1, "reinit (mode %d): upgraded %d for version %u", m, up, le32(want + 4));
        FUZZ_CHECK(memcmp(ram, want, N) == 0, "reinit (mode %d, source %d) RAM differs", m,
                   (int)src);
        uint8_t again[N];
        memcpy(again, ram, N);
        FUZZ_CHECK(!bl_settings_upgrade_v1(again) && memcmp(again, ram, N) == 0,
                   "upgrade after reinit changed the page again");
    }
}

static void check_format(const uint8_t *raw, uint8_t ctl, size_t cap)
{
    bl_settings_t s;
    bl_settings_decode(raw, &s);
    bl_settings_display_t d = {"fuzz.hex",
                               ctl & 0x10 ? BL_SETTINGS_FAMILY_NRF52840 : BL_SETTINGS_FAMILY_NRF52,
                               le32(raw + 8), (ctl & 0x20) != 0};
    size_t need = bl_settings_format(&s, &d, NULL, 0);
    char *full = malloc(need + 1);
    char *cut = malloc(cap ? cap : 1);
    FUZZ_CHECK(full && cut, "out of memory");
    FUZZ_CHECK(bl_settings_format(&s, &d, full, need + 1) == need && strlen(full) == need,
               "format needs %zu but wrote %zu", need, strlen(full));
    FUZZ_CHECK(bl_settings_format(&s, &d, cut, cap) == need, "format result depends on cap");
    if (cap > 0) {
        size_t got = strnlen(cut, cap);
        FUZZ_CHECK(got == (need < cap - 1 ? need : cap - 1) && memcmp(cut, full, got) == 0,
                   "format into %zu bytes wrote %zu of %zu, or not a prefix", cap, got, need);
    }
    size_t fields = bl_settings_field_count();
    bl_settings_field_t f;
    for (size_t i = 0; i < fields; i++)
        FUZZ_CHECK(bl_settings_field(&s, i, &f) && f.key && f.label, "field %zu", i);
    FUZZ_CHECK(!bl_settings_field(&s, fields, &f), "field past the count");
    free(full);
    free(cut);
}

static void read_page(fuzz_in_t *in, uint8_t *page)
{
    size_t got;
    const uint8_t *p = fuzz_take(in, N, &got);
    memset(page, 0xFF, N);
    memcpy(page, p, got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t ctl = fuzz_u8(&in);
    uint8_t *main_page = malloc(N), *backup = malloc(N);
    FUZZ_CHECK(main_page && backup, "out of memory");
    read_page(&in, main_page);
    switch (ctl & 3) {
    case 0:
        read_page(&in, backup);
        break;
    case 1:
        memcpy(backup, main_page, N);
        break;
    case 2:
        memset(backup, 0xFF, N);
        break;
    default:
        memcpy(backup, main_page, N);
        backup[fuzz_u16(&in) % N] ^= (uint8_t)(fuzz_u8(&in) | 1u);
        break;
    }
    if (ctl & 4)
        bl_settings_update_crcs(main_page);
    if (ctl & 8)
        bl_settings_update_crcs(backup);
    size_t cap = fuzz_u16(&in) % 4096u;

    check_codec(main_page);
    check_codec(backup);
    check_forbidden(main_page, backup);
    check_reinit(main_page, backup);
    check_format(main_page, ctl, cap);
    free(main_page);
    free(backup);
    return 0;
}
