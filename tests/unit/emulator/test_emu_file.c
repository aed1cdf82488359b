/*
 * emu_file: the device file round-trips everything it promises to keep, and
 * every kind of damage is refused with a message naming the file; a failed
 * save leaves the previous file byte-identical.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "emulator/emu_file.h"

#define HDR EMU_FILE_HEADER_SIZE

/* A device with every config field away from its default and varied flash. */
static emu_device_t *make_device(bl_chip_t chip)
{
    bl_config_t cfg;
    bl_config_defaults(&cfg, chip, BL_PROFILE_STOCK);
    cfg.sdk = BL_SDK_16_0;
    cfg.hw_version = 0xDEADBEEFu;
    cfg.app_data_area_size = 0x5000;
    cfg.copy_step_pages = 3;
    cfg.require_signed_app = cfg.downgrade_prevention = cfg.accept_same_version = false;
    cfg.external_app_versioning = false;
    cfg.supports_external_app = cfg.single_bank = cfg.force_dual_bank = true;
    cfg.allow_update_from_app = cfg.app_signature_required = cfg.debug_build = true;
    cfg.ble_transport = true;
    for (int i = 0; i < 64; i++)
        cfg.public_key[i] = (uint8_t)(i * 7 + 1);
    emu_device_t *dev = emu_device_new(&cfg);
    assert_non_null(dev);
    uint8_t buf[4096];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 31 + 5);
    assert_int_equal(flash_load(dev->flash, 0x1000, buf, sizeof(buf)), FLASH_OK);
    assert_int_equal(flash_load(dev->flash, flash_chip(dev->flash)->size - 4096, buf, 4096),
                     FLASH_OK);
    dev->resets = 41;
    vclock_advance(&dev->clock, 0x123456789ABull);
    return dev;
}

static void assert_same_device(const emu_device_t *a, const emu_device_t *b)
{
    const bl_config_t *x = &a->cfg, *y = &b->cfg;
    assert_int_equal(x->sdk, y->sdk);
    assert_int_equal(x->chip, y->chip);
    assert_int_equal(x->bl_start, y->bl_start);
    assert_int_equal(x->bootloader_size, y->bootloader_size);
    assert_int_equal(x->app_data_area_size, y->app_data_area_size);
    assert_int_equal(x->settings_addr, y->settings_addr);
    assert_int_equal(x->backup_addr, y->backup_addr);
    assert_int_equal(x->hw_version, y->hw_version);
    assert_int_equal(x->copy_step_pages, y->copy_step_pages);
    const bool bx[] = {x->require_signed_app,     x->downgrade_prevention,
                       x->accept_same_version,    x->external_app_versioning,
                       x->supports_external_app,  x->single_bank,
                       x->force_dual_bank,        x->allow_update_from_app,
                       x->app_signature_required, x->debug_build,
                       x->ble_transport};
    const bool by[] = {y->require_signed_app,     y->downgrade_prevention,
                       y->accept_same_version,    y->external_app_versioning,
                       y->supports_external_app,  y->single_bank,
                       y->force_dual_bank,        y->allow_update_from_app,
                       y->app_signature_required, y->debug_build,
                       y->ble_transport};
    assert_memory_equal(bx, by, sizeof(bx));
    assert_memory_equal(x->public_key, y->public_key, 64);
    assert_int_equal(a->resets, b->resets);
    assert_int_equal(vclock_now(&a->clock), vclock_now(&b->clock));
    uint32_t size = flash_chip(a->flash)->size;
    assert_int_equal(size, flash_chip(b->flash)->size);
    assert_memory_equal(flash_bytes(a->flash), flash_bytes(b->flash), size);
}

static void test_emu_file_round_trip_keeps_everything(void **state)
{
    (void)state;
    for (int chip = 0; chip < 2; chip++) {
        emu_device_t *dev = make_device((bl_chip_t)chip), *back = NULL;
        uint8_t *buf;
        size_t len;
        assert_int_equal(emu_file_encode(dev, &buf, &len), EMU_FILE_OK);
        assert_int_equal(len, HDR + flash_chip(dev->flash)->size + 4);
        assert_memory_equal(buf, "DFUEMU01", 8);
        assert_int_equal(emu_file_decode(buf, len, "x", &back, NULL), EMU_FILE_OK);
        assert_same_device(dev, back);
        assert_int_equal(flash_op_count(back->flash), 0); /* counters are not persisted */
        free(buf);
        emu_device_free(dev);
        emu_device_free(back);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Re-seal the header after an edit, so a check other than the CRC must catch it. */
static void reseal(uint8_t *buf)
{
    put32(buf + HDR - 4, (uint32_t)crc32(0L, buf, HDR - 4));
}

static void expect(const uint8_t *buf, size_t len, emu_file_err_t want, const char *needle)
{
    emu_device_t *dev = NULL;
    emu_file_diag_t d;
    assert_int_equal(emu_file_decode(buf, len, "dev.emu", &dev, &d), want);
    assert_null(dev);
    assert_non_null(strstr(d.msg, "dev.emu"));
    if (!strstr(d.msg, needle))
        fail_msg("message '%s' does not mention '%s'", d.msg, needle);
    assert_null(strchr(d.msg, '\n'));
}

static void test_emu_file_corruption_is_refused(void **state)
{
    (void)state;
    emu_device_t *dev = make_device(BL_CHIP_NRF52832);
    uint8_t *good, *b;
    size_t len;
    assert_int_equal(emu_file_encode(dev, &good, &len), EMU_FILE_OK);
    b = malloc(len + 1);
#define FRESH() memcpy(b, good, len)
    FRESH(), b[0] ^= 1;
    expect(b, len, EMU_FILE_ERR_MAGIC, "not a dfuart-emu device file");
    FRESH(), put32(b + 8, 2);
    expect(b, len, EMU_FILE_ERR_VERSION, "version 2");
    FRESH(), put32(b + 12, HDR + 4);
    expect(b, len, EMU_FILE_ERR_VERSION, "header size");
    const size_t cuts[] = {0, 3, 15, 100, HDR - 1, HDR, HDR + 4096, len - 4, len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        expect(good, cuts[i], EMU_FILE_ERR_TRUNCATED, "truncated");
    FRESH(), b[len] = 0;
    expect(b, len + 1, EMU_FILE_ERR_TRAILING, "trailing");
    FRESH(), b[100] ^= 0x80; /* a public-key byte */
    expect(b, len, EMU_FILE_ERR_HEADER_CRC, "header CRC");
    FRESH(), b[HDR + 0x1234] ^= 0x01;
    expect(b, len, EMU_FILE_ERR_FLASH_CRC, "flash CRC");
    FRESH(), put32(b + 16, 1), reseal(b); /* nRF52840 with 512 KiB of flash */
    expect(b, len, EMU_FILE_ERR_CHIP, "flash_size");
    FRESH(), put32(b + 20, 0x100000), reseal(b);
    expect(b, len, EMU_FILE_ERR_CHIP, "flash_size");
    FRESH(), put32(b + 16, 7), reseal(b);
    expect(b, len, EMU_FILE_ERR_CHIP, "unknown chip");
    FRESH(), put32(b + 36, 9), reseal(b);
    expect(b, len, EMU_FILE_ERR_FIELD, "sdk");
    FRESH(), b[68] = 2, reseal(b);
    expect(b, len, EMU_FILE_ERR_FIELD, "require_signed_app");
    FRESH(), put32(b + 40, 0x7F800), reseal(b); /* bl_start not page aligned */
    expect(b, len, EMU_FILE_ERR_FIELD, "bl_start");
    FRESH(), put32(b + 52, 0x80000), reseal(b); /* settings page past the end */
    expect(b, len, EMU_FILE_ERR_FIELD, "settings_addr");
#undef FRESH
    free(b);
    free(good);
    emu_device_free(dev);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(2u << 20);
    *len = fread(buf, 1, 2u << 20, f);
    fclose(f);
    return buf;
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_emu_file_save_and_load_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/emu-file-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/dev.emu", dir);
    emu_device_t *dev = make_device(BL_CHIP_NRF52840), *back = NULL;
    emu_file_diag_t d;
    assert_int_equal(emu_file_save(dev, path, &d), EMU_FILE_OK);
    assert_int_equal(emu_file_load(path, &back, &d), EMU_FILE_OK);
    assert_same_device(dev, back);
    assert_int_equal(dir_entries(dir), 1); /* no temporary file left behind */
    emu_device_free(back);
    assert_int_equal(emu_file_load("/nonexistent/dev.emu", &back, &d), EMU_FILE_ERR_OPEN);
    assert_non_null(strstr(d.msg, "/nonexistent/dev.emu"));
    assert_int_equal(emu_file_save(dev, "/nonexistent/dev.emu", &d), EMU_FILE_ERR_CREATE);
    remove(path);
    rmdir(dir);
    emu_device_free(dev);
}

typedef emu_file_err_t (*writer_fn)(const emu_device_t *dev, const char *path,
                                    emu_file_diag_t *diag);

/* `write` under a 64 KiB file size limit: it fails half-way with EFBIG, not a signal. */
static emu_file_err_t write_cut_short(writer_fn write, const emu_device_t *dev, const char *path,
                                      emu_file_diag_t *d)
{
    struct rlimit saved, small = {65536, 0};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small.rlim_max = saved.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    emu_file_err_t e = write(dev, path, d);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);
    return e;
}

/* `path` still holds exactly `before` and is the only file in `dir` (no temporary left). */
static void expect_untouched(const char *dir, const char *path, const char *before, size_t len)
{
    size_t now_len;
    char *now = slurp(path, &now_len);
    assert_int_equal(now_len, len);
    assert_memory_equal(before, now, len);
    assert_int_equal(dir_entries(dir), 1);
    free(now);
}

/* A save that fails half-way (file size limit) must leave the old file alone. */
static void test_emu_file_failed_save_keeps_old_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/emu-file-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/dev.emu", dir);
    emu_device_t *old = make_device(BL_CHIP_NRF52832), *next = make_device(BL_CHIP_NRF52832);
    emu_file_diag_t d;
    assert_int_equal(emu_file_save(old, path, &d), EMU_FILE_OK);
    size_t len0;
    char *before = slurp(path, &len0);
    next->resets = 99;
    assert_int_equal(write_cut_short(emu_file_save, next, path, &d), EMU_FILE_ERR_WRITE);
    assert_non_null(strstr(d.msg, path));
    expect_untouched(dir, path, before, len0);
    if (geteuid() != 0) { /* root ignores directory permissions */
        assert_int_equal(chmod(dir, 0555), 0);
        assert_int_equal(emu_file_save(next, path, &d), EMU_FILE_ERR_CREATE);
        assert_int_equal(chmod(dir, 0755), 0);
        expect_untouched(dir, path, before, len0);
    }
    free(before);
    remove(path);
    rmdir(dir);
    emu_device_free(old);
    emu_device_free(next);
}

/*
 * serve's checkpoint: the same bytes as a save, mode kept, no temporary left;
 * a stale temporary from a killed serve is reused; a failed one (file size
 * limit) leaves the old file as it was and removes its temporary.
 */
static void test_emu_file_checkpoint(void **state)
{
    (void)state;
    char dir[] = "/tmp/emu-file-XXXXXX", path[64], tmp[80];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/dev.emu", dir);
    snprintf(tmp, sizeof(tmp), "%s.serve-tmp", path);
    emu_device_t *dev = make_device(BL_CHIP_NRF52832), *back = NULL;
    emu_file_diag_t d;
    assert_int_equal(emu_file_save(dev, path, &d), EMU_FILE_OK);
    assert_int_equal(chmod(path, 0600), 0);
    FILE *stale = fopen(tmp, "w"); /* what a serve killed mid-checkpoint leaves */
    assert_non_null(stale);
    fputs("half a device file", stale);
    fclose(stale);
    dev->resets = 7;
    assert_int_equal(emu_file_checkpoint(dev, path, &d), EMU_FILE_OK);
    assert_int_equal(dir_entries(dir), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(emu_file_load(path, &back, &d), EMU_FILE_OK);
    assert_same_device(dev, back);
    emu_device_free(back);
    size_t len0;
    char *before = slurp(path, &len0);
    dev->resets = 8;
    assert_int_equal(write_cut_short(emu_file_checkpoint, dev, path, &d), EMU_FILE_ERR_WRITE);
    assert_non_null(strstr(d.msg, tmp));
    expect_untouched(dir, path, before, len0);
    free(before);
    remove(path);
    rmdir(dir);
    emu_device_free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emu_file_round_trip_keeps_everything),
        cmocka_unit_test(test_emu_file_corruption_is_refused),
        cmocka_unit_test(test_emu_file_save_and_load_files),
        cmocka_unit_test(test_emu_file_failed_save_keeps_old_file),
        cmocka_unit_test(test_emu_file_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
