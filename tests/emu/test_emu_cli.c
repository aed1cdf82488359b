/*
 * The real `dfuart-emu` binary, end to end: create -> stage -> boot with
 * nrfutil's packages, every kind of bad argument with its documented exit
 * code and one-line message, device files refused and left untouched, and
 * the settings / export views checked against the device file itself.
 * Cases that back a row of the README's "Bad inputs" table carry its id
 * (B37, ...; tests/cli/check_badinput_table.sh checks the pairing).
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
#include <unistd.h>
#include <zlib.h>

#include "emulator/emu_file.h"
#include "emulator/ihex.h"
#include "fixtures.h"
#include "run.h"

#define FIX FIX_NRFUTIL

enum {
    XC_OK = 0,
    XC_USAGE = 64,
    XC_DATAERR = 65,
    XC_NOINPUT = 66,
    XC_CANTCREAT = 73,
    XC_REFUSED = 80,
    XC_NOT_APP = 81,
    XC_FAULT = 82,
    XC_POWER_CUT = 83,
};

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/emu-cli-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs dfuart-emu with printf-style arguments; fails the test if it cannot run. */
__attribute__((format(printf, 2, 3))) static void emu(run_result_t *r, const char *fmt, ...)
{
    char args[2048], cmd[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "cd '%s' && %s %s", g_dir, DFUART_EMU_BIN, args);
    assert_int_equal(run_cmd(cmd, r), 0);
}

/* Exit code as documented and exactly one line on stderr that says `needle`. */
static void expect_error(run_result_t *r, int code, const char *needle)
{
    if (r->status != code || run_count_lines(r->err) != 1 || !strstr(r->err, needle))
        fail_msg("want exit %d with one line containing '%s'; got %d: %s", code, needle, r->status,
                 r->err);
    assert_int_equal(strncmp(r->err, "dfuart-emu", 10), 0);
    run_free(r);
}

/* README "Bad inputs" row `row`: exit `code`, and stderr is one line of `shape` (fnmatch). */
static void expect_line(run_result_t *r, const char *row, int code, const char *shape)
{
    if (r->status != code || !run_one_line_like(r->err, shape))
        fail_msg("%s: want exit %d and one line like \"%s\"; got exit %d, stderr \"%s\"", row, code,
                 shape, r->status, r->err);
    run_free(r);
}

static void expect_ok(run_result_t *r)
{
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    run_free(r);
}

#define CREATE_ARGS                                                                                \
    "--chip nrf52832 --softdevice s132-7.2.0 --app " FIX "/images/app_s132.hex --app-version 1 "   \
    "--bootloader-version 1 --hw-version 52 --public-key " FIX "/keys/public.pem"

static void create(const char *dev, const char *extra)
{
    run_result_t r;
    emu(&r, "create %s " CREATE_ARGS " %s", dev, extra);
    expect_ok(&r);
}

static cJSON *json_of(run_result_t *r)
{
    cJSON *j = cJSON_Parse(r->out);
    if (!j)
        fail_msg("not JSON (exit %d): %s", r->status, r->out);
    return j;
}

static double num(const cJSON *o, const char *path1, const char *path2)
{
    const cJSON *v = fix_get(o, path1);
    if (path2)
        v = fix_get(v, path2);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *path1, const char *path2)
{
    const cJSON *v = fix_get(o, path1);
    if (path2)
        v = fix_get(v, path2);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static uint8_t *read_dev(const char *dev, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", g_dir, dev);
    return fix_read_file(path, len);
}

static void test_emu_cli_create_stage_boot_shows_new_version(void **state)
{
    (void)state;
    create("flow.emu", "");
    run_result_t r;
    emu(&r, "stage flow.emu %s/packages/app_signed_v2.zip", FIX);
    assert_non_null(strstr(r.out, "staged"));
    expect_ok(&r);
    emu(&r, "boot flow.emu --json");
    cJSON *j = json_of(&r);
    expect_ok(&r);
    assert_string_equal(str(j, "state", NULL), "app");
    assert_int_equal(num(j, "app_version", NULL), 2);
    assert_string_equal(str(j, "update", "outcome"), "activated");
    assert_string_equal(str(j, "update", "result_name"), "SUCCESS");
    assert_int_equal(num(j, "bank0", "start"), 0x26000);
    assert_int_equal(num(j, "bank0", "size"), 50016);
    assert_true(cJSON_IsTrue(fix_get(fix_get(j, "bank0"), "valid")));
    assert_int_equal(cJSON_GetArraySize(fix_get(j, "faults")), 0);
    assert_int_equal(cJSON_GetArraySize(fix_get(j, "violations")), 0);
    cJSON_Delete(j);
    emu(&r, "boot flow.emu"); /* text: readable at a glance */
    assert_non_null(strstr(r.out, "app (application started)"));
    assert_non_null(strstr(r.out, "version 2"));
    expect_ok(&r);
}

static void test_emu_cli_bad_arguments(void **state)
{
    (void)state;
    static const struct {
        const char *row, *args, *shape;
    } bad[] = {
        {"B42", "", "dfuart-emu: no command given (try 'dfuart-emu --help')"},
        {"B42", "frobnicate args.emu",
         "dfuart-emu: unknown command 'frobnicate' (try 'dfuart-emu --help')"},
        {"B42", "boot args.emu --bogus",
         "dfuart-emu boot: unknown option '--bogus' (try 'dfuart-emu boot --help')"},
        {"B42", "boot args.emu --power-cut-after",
         "dfuart-emu boot: missing value for option '--power-cut-after' (try 'dfuart-emu boot "
         "--help')"},
        {"B43", "boot",
         "dfuart-emu boot: expected DEV [[]options], got 0 argument(s) (try 'dfuart-emu boot "
         "--help')"},
        {"B43", "boot args.emu b.emu",
         "dfuart-emu boot: expected DEV [[]options], got 2 argument(s) (try 'dfuart-emu boot "
         "--help')"},
        {"B43", "export args.emu",
         "dfuart-emu export: missing -o FILE (required; try 'dfuart-emu export --help')"},
        {"B43", "create new.emu --chip nrf52832 --softdevice none --app a.bin",
         "dfuart-emu create: missing --app-version (required; try 'dfuart-emu create --help')"},
        {"B44", "boot args.emu --power-cut-after 0",
         "dfuart-emu boot: --power-cut-after: must be at least 1 (the first flash op)"},
        {"B44", "stage args.emu x.zip --power-cut-after 12x",
         "dfuart-emu stage: --power-cut-after: '12x' is not a number in 0..4294967295 (decimal or "
         "0x hex)"},
        {"B44", "create new.emu " CREATE_ARGS " --app-version -1",
         "dfuart-emu create: --app-version: '-1' is not a number in 0..4294967295 (decimal or 0x "
         "hex)"},
        {"B44", "create new.emu " CREATE_ARGS " --hw-version 4294967296",
         "dfuart-emu create: --hw-version: '4294967296' is not a number in 0..4294967295 (decimal "
         "or 0x hex)"},
        {"B44", "create new.emu " CREATE_ARGS " --chip nrf51822",
         "dfuart-emu create: --chip: 'nrf51822' is not one of nrf52832, nrf52840"},
        {"B44", "create new.emu " CREATE_ARGS " --profile fast",
         "dfuart-emu create: --profile: 'fast' is not one of *"},
        {"B44", "create new.emu " CREATE_ARGS " --sdk 14.2",
         "dfuart-emu create: --sdk: '14.2' is not one of 15.3, 16.0, 17.0, 17.1"},
        {"B46", "serve args.emu",
         "dfuart-emu serve: --pty LINK is required (try 'dfuart-emu serve --help')"},
        {"B46", "serve args.emu --pty tty --baud 0",
         "dfuart-emu serve: --baud: must be at least 1"},
        {"B46", "serve args.emu --pty tty --link bogus",
         "dfuart-emu serve: --link: unknown profile 'bogus' (try '--link list')"},
        {"B46", "serve args.emu --pty tty --link noisy --link-seed x",
         "dfuart-emu serve: --link-seed: 'x' is not a number in 0..4294967295 (decimal or 0x hex)"},
    };
    create("args.emu", "");
    size_t len, len2;
    uint8_t *before = read_dev("args.emu", &len);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run_result_t r;
        emu(&r, "%s", bad[i].args);
        expect_line(&r, bad[i].row, XC_USAGE, bad[i].shape);
    }
    uint8_t *after = read_dev("args.emu", &len2); /* no command line above touched it */
    assert_int_equal(len, len2);
    assert_memory_equal(before, after, len);
    free(before);
    free(after);
    run_result_t r;
    emu(&r, "create new.emu " CREATE_ARGS " --app-boot-validation ecdsa");
    expect_error(&r, XC_USAGE, "private key");
    emu(&r, "create new.emu " CREATE_ARGS " --softdevice s140-7.2.0");
    expect_error(&r, XC_USAGE, "s140-7.2.0");
    emu(&r, "create new.emu " CREATE_ARGS " --app-data-size 100");
    expect_error(&r, XC_USAGE, "--app-data-size");
    char path[256];
    snprintf(path, sizeof(path), "%s/new.emu", g_dir);
    assert_int_equal(access(path, F_OK), -1); /* nothing was created */
}

static void test_emu_cli_bad_input_files(void **state)
{
    (void)state;
    run_result_t r;
    create("in.emu", "");
    emu(&r, "create new.emu " CREATE_ARGS " --app nope.bin");
    expect_error(&r, XC_NOINPUT, "nope.bin");
    emu(&r, "create new.emu " CREATE_ARGS " --public-key nope.pem");
    expect_error(&r, XC_NOINPUT, "nope.pem");
    emu(&r, "create new.emu " CREATE_ARGS " --public-key %s/settings/commands.txt", FIX);
    expect_error(&r, XC_DATAERR, "commands.txt");
    emu(&r, "create new.emu " CREATE_ARGS " --softdevice none");
    expect_error(&r, XC_DATAERR, "linked at 0x26000");
    emu(&r, "create new.emu " CREATE_ARGS " --app %s/images/app_large.bin --app-data-size 0x10000",
        FIX);
    expect_error(&r, XC_DATAERR, "app-data area");
    emu(&r, "boot missing.emu");
    expect_error(&r, XC_NOINPUT, "missing.emu");
    size_t len, len2;
    uint8_t *before = read_dev("in.emu", &len);
    emu(&r, "stage in.emu nope.zip");
    expect_line(&r, "B45", XC_NOINPUT,
                "dfuart-emu stage: nope.zip: cannot open: No such file or directory");
    emu(&r, "stage in.emu %s/packages/tampered/manifest_bad_json.zip", FIX);
    expect_line(&r, "B45", XC_DATAERR,
                "dfuart-emu stage: " FIX "/packages/tampered/manifest_bad_json.zip: manifest.json: "
                "not valid JSON");
    emu(&r, "stage in.emu %s/packages/tampered/zip_slip_bin.zip", FIX);
    expect_line(&r, "B45", XC_DATAERR,
                "dfuart-emu stage: " FIX "/packages/tampered/zip_slip_bin.zip: member "
                "'../app_s132.bin': unsafe path (absolute or '..')");
    uint8_t *after = read_dev("in.emu", &len2); /* a package refused: the device untouched */
    assert_int_equal(len, len2);
    assert_memory_equal(before, after, len);
    free(before);
    free(after);
    emu(&r, "export in.emu -o /nonexistent/out.bin");
    expect_error(&r, XC_CANTCREAT, "/nonexistent/out.bin");
}

/* Every command refuses a damaged device file and leaves it byte-identical. */
static void test_emu_cli_corrupt_device_file_refused_untouched(void **state)
{
    (void)state;
    create("bad.emu", "");
    size_t len, len2;
    uint8_t *b = read_dev("bad.emu", &len);
    b[EMU_FILE_HEADER_SIZE + 0x30000] ^= 0x01; /* flash byte: flash CRC mismatch */
    char path[256];
    snprintf(path, sizeof(path), "%s/bad.emu", g_dir);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
    static const char *const cmds[] = {"boot bad.emu",
                                       "boot bad.emu --json",
                                       "settings bad.emu",
                                       "info bad.emu",
                                       "export bad.emu -o out.bin",
                                       "stage bad.emu " FIX "/packages/app_signed_v2.zip"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        run_result_t r;
        emu(&r, "%s", cmds[i]);
        expect_error(&r, XC_DATAERR, "bad.emu: flash CRC mismatch");
        uint8_t *now = read_dev("bad.emu", &len2);
        assert_int_equal(len, len2);
        assert_memory_equal(b, now, len);
        free(now);
    }
    f = fopen(path, "wb");
    assert_int_equal(fwrite(b, 1, 1000, f), 1000);
    fclose(f);
    run_result_t r;
    emu(&r, "boot bad.emu");
    expect_error(&r, XC_DATAERR, "truncated");
    free(b);
}

/* ---- damaged device files (README "Bad inputs" B37-B41) ---------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the header CRC (EMULATOR.md: CRC-32 of bytes 0..143 at 144). */
static void fix_header_crc(uint8_t *b)
{
    put_le32(b + 144, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, 144));
}

static void write_dev(const char *dev, const uint8_t *b, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", g_dir, dev);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/*
 * `good` (len bytes) damaged by `edit` into bad.emu (`new_len` bytes): boot
 * and stage must refuse it as row `row` says and leave it byte-identical.
 */
static void expect_damaged(const uint8_t *good, size_t len, size_t new_len, void (*edit)(uint8_t *),
                           const char *row, const char *why)
{
    uint8_t *b = calloc(1, new_len > len ? new_len : len);
    assert_non_null(b);
    memcpy(b, good, len);
    if (edit)
        edit(b);
    write_dev("bad.emu", b, new_len);
    static const char *const cmds[] = {"boot", "stage"};
    for (size_t i = 0; i < 2; i++) {
        run_result_t r;
        char shape[300];
        emu(&r, "%s bad.emu%s", cmds[i], i ? " " FIX "/packages/app_signed_v2.zip" : "");
        snprintf(shape, sizeof(shape), "dfuart-emu %s: bad.emu: %s", cmds[i], why);
        expect_line(&r, row, XC_DATAERR, shape);
        size_t now_len;
        uint8_t *now = read_dev("bad.emu", &now_len);
        assert_int_equal(now_len, new_len);
        assert_memory_equal(now, b, new_len);
        free(now);
    }
    free(b);
}

static void bad_magic(uint8_t *b)
{
    b[0] = 'X';
}

static void other_version(uint8_t *b)
{
    b[8] = 2;
}

static void header_byte_flip(uint8_t *b)
{
    b[24] ^= 0x01; /* reset counter */
}

static void flash_byte_flip(uint8_t *b)
{
    b[EMU_FILE_HEADER_SIZE + 0x30000] ^= 0x01;
}

static void sdk_out_of_range(uint8_t *b)
{
    put_le32(b + 36, 9);
    fix_header_crc(b);
}

static void bool_not_0_1(uint8_t *b)
{
    b[68] = 2; /* require_signed_app */
    fix_header_crc(b);
}

static void bl_start_misaligned(uint8_t *b)
{
    b[40] |= 0x01; /* bl_start no longer on a page boundary */
    fix_header_crc(b);
}

static void test_emu_cli_damaged_device_files_refused_untouched(void **state)
{
    (void)state;
    run_result_t r;
    emu(&r, "boot missing.emu");
    expect_line(&r, "B37", XC_NOINPUT,
                "dfuart-emu boot: missing.emu: cannot open: No such file or directory");
    char path[256];
    snprintf(path, sizeof(path), "%s/missing.emu", g_dir);
    assert_int_equal(access(path, F_OK), -1); /* not created by the attempt */

    create("good.emu", "");
    size_t n;
    uint8_t *good = read_dev("good.emu", &n);
    assert_int_equal(n, EMU_FILE_HEADER_SIZE + 0x80000u + 4u);
    expect_damaged(good, n, n, bad_magic, "B38",
                   "not a dfuart-emu device file (magic is not \"DFUEMU01\")");
    expect_damaged(good, n, n, other_version, "B38",
                   "format version 2 / header size 148 not supported (this build reads 1 / 148)");
    expect_damaged(good, n, 100, NULL, "B39", "truncated header (100 of 148 bytes)");
    expect_damaged(good, n, 1000, NULL, "B39",
                   "truncated flash image (1000 bytes, expected 524440)");
    expect_damaged(good, n, n + 1, NULL, "B39",
                   "trailing bytes after the flash CRC (524441 bytes, expected 524440)");
    expect_damaged(good, n, n, header_byte_flip, "B40",
                   "header CRC mismatch (stored 0x*, computed 0x*)");
    expect_damaged(good, n, n, flash_byte_flip, "B40",
                   "flash CRC mismatch (stored 0x*, computed 0x*)");
    expect_damaged(good, n, n, sdk_out_of_range, "B41", "field 'sdk' = 9 out of range (0..3)");
    expect_damaged(good, n, n, bl_start_misaligned, "B41",
                   "field 'bl_start/bootloader_size' out of range for the chip's flash");
    expect_damaged(good, n, n, bool_not_0_1, "B41", "field 'require_signed_app' = 2 is not 0 or 1");
    free(good);
}

static void test_emu_cli_stage_refusals_and_faults(void **state)
{
    (void)state;
    run_result_t r;
    size_t len, len2;
    emu(&r, "create big.emu " CREATE_ARGS " --app %s/images/app_large.bin", FIX);
    expect_ok(&r);
    uint8_t *before = read_dev("big.emu", &len);
    emu(&r, "stage big.emu %s/packages/app_signed_large.zip", FIX);
    expect_error(&r, XC_REFUSED, "does not fit");
    uint8_t *after = read_dev("big.emu", &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(before, after, len); /* refused: not even the boot is saved */
    free(before);
    free(after);
    create("stock.emu", "--profile stock");
    emu(&r, "stage stock.emu %s/packages/app_signed_v2.zip --json", FIX);
    cJSON *j = json_of(&r);
    expect_error(&r, XC_FAULT, "bootloader settings page");
    assert_string_equal(str(j, "outcome", NULL), "fault");
    assert_non_null(strstr(cJSON_GetArrayItem(fix_get(j, "faults"), 0)->valuestring,
                           "'bootloader settings page'"));
    cJSON_Delete(j);
    emu(&r, "boot stock.emu --json");
    j = json_of(&r);
    expect_ok(&r);
    assert_int_equal(num(j, "app_version", NULL), 1);
    cJSON_Delete(j);
}

static void test_emu_cli_device_in_dfu_mode_cannot_stage(void **state)
{
    (void)state;
    create("dfu.emu", "");
    char path[256];
    snprintf(path, sizeof(path), "%s/dfu.emu", g_dir);
    emu_device_t *dev = NULL;
    assert_int_equal(emu_file_load(path, &dev, NULL), EMU_FILE_OK);
    uint8_t zero[4] = {0};
    assert_int_equal(flash_load(dev->flash, 0x26000 + 512, zero, 4), FLASH_OK);
    assert_int_equal(emu_file_save(dev, path, NULL), EMU_FILE_OK);
    emu_device_free(dev);
    size_t len, len2;
    uint8_t *before = read_dev("dfu.emu", &len);
    run_result_t r;
    emu(&r, "stage dfu.emu %s/packages/app_signed_v2.zip", FIX);
    expect_error(&r, XC_NOT_APP, "did not start its application");
    uint8_t *after = read_dev("dfu.emu", &len2);
    assert_memory_equal(before, after, len);
    free(before);
    free(after);
    emu(&r, "boot dfu.emu --json"); /* staying in DFU mode is a verdict, not an error */
    cJSON *j = json_of(&r);
    expect_ok(&r);
    assert_string_equal(str(j, "state", NULL), "dfu");
    cJSON_Delete(j);
}

static void test_emu_cli_power_cut_then_recovery(void **state)
{
    (void)state;
    create("cut.emu", "");
    run_result_t r;
    emu(&r, "stage cut.emu %s/packages/app_signed_v2.zip --power-cut-after 10", FIX);
    expect_error(&r, XC_POWER_CUT, "power cut");
    emu(&r, "boot cut.emu --json");
    cJSON *j = json_of(&r);
    expect_ok(&r);
    assert_string_equal(str(j, "state", NULL), "app");
    assert_int_equal(num(j, "app_version", NULL), 1);
    cJSON_Delete(j);
    emu(&r, "stage cut.emu %s/packages/app_signed_v2.zip", FIX);
    expect_ok(&r);
    emu(&r, "boot cut.emu --power-cut-after 5");
    expect_error(&r, XC_POWER_CUT, "power cut");
    emu(&r, "boot cut.emu --json");
    j = json_of(&r);
    expect_ok(&r);
    assert_int_equal(num(j, "app_version", NULL), 2);
    cJSON_Delete(j);
}

static void test_emu_cli_settings_json_fields(void **state)
{
    (void)state;
    create("set.emu", "");
    run_result_t r;
    emu(&r, "stage set.emu %s/packages/app_signed_v2.zip", FIX);
    expect_ok(&r);
    emu(&r, "settings set.emu --json");
    cJSON *j = json_of(&r);
    expect_ok(&r);
    const cJSON *s = fix_get(j, "settings"), *b = fix_get(j, "backup");
    assert_true(cJSON_IsTrue(fix_get(s, "valid")));
    assert_true(cJSON_IsTrue(fix_get(b, "valid")));
    assert_int_equal(num(s, "addr", NULL), 0x7F000);
    assert_int_equal(num(b, "addr", NULL), 0x7E000);
    assert_int_equal(num(s, "bank_current", NULL), 1); /* staged, not yet booted */
    assert_int_equal(num(b, "bank_current", NULL), 0);
    assert_int_equal(num(s, "app_version", NULL), 1);
    assert_int_equal(num(s, "bank_0_image_size", NULL), 50016);
    assert_int_equal(num(s, "app_boot_validation_type", NULL), 1);
    uint8_t dat[512];
    cJSON *all = fix_packages_json();
    size_t n = fix_package_dat(all, "app_signed_v2.zip", 0, dat);
    cJSON_Delete(all);
    assert_int_equal(num(s, "command_size", NULL), n);
    assert_int_equal(strlen(str(s, "init_command_hex", NULL)), 2 * n);
    cJSON_Delete(j);
    emu(&r, "settings set.emu");
    assert_non_null(strstr(r.out, "* App Version:              0x00000001 (1)"));
    expect_ok(&r);
}

/* With no --app-boot-validation, create writes what nrfutil's default writes. */
static void test_emu_cli_create_default_matches_nrfutil(void **state)
{
    (void)state;
    run_result_t r;
    emu(&r, "create def.emu " CREATE_ARGS " --app-version 3 --bootloader-version 2");
    expect_ok(&r);
    char path[256];
    snprintf(path, sizeof(path), "%s/def.emu", g_dir);
    emu_device_t *dev = NULL;
    assert_int_equal(emu_file_load(path, &dev, NULL), EMU_FILE_OK);
    ihex_image_t *img = NULL;
    assert_int_equal(ihex_load_file(FIX "/settings/s52832_app_v3_default.hex", &img, NULL),
                     IHEX_OK);
    uint8_t want[8192];
    assert_int_equal(ihex_image_flatten(img, 0x7E000, 0x80000, want), IHEX_OK);
    assert_memory_equal(flash_bytes(dev->flash) + 0x7E000, want, sizeof(want));
    ihex_image_free(img);
    emu_device_free(dev);
}

static void test_emu_cli_export_raw_and_hex(void **state)
{
    (void)state;
    create("exp.emu", "");
    run_result_t r;
    emu(&r, "export exp.emu -o flash.bin");
    expect_ok(&r);
    emu(&r, "export exp.emu --output flash.hex");
    expect_ok(&r);
    char path[256];
    snprintf(path, sizeof(path), "%s/exp.emu", g_dir);
    emu_device_t *dev = NULL;
    assert_int_equal(emu_file_load(path, &dev, NULL), EMU_FILE_OK);
    size_t len;
    uint8_t *raw = read_dev("flash.bin", &len);
    assert_int_equal(len, 0x80000);
    assert_memory_equal(raw, flash_bytes(dev->flash), len);
    free(raw);
    snprintf(path, sizeof(path), "%s/flash.hex", g_dir);
    ihex_image_t *img = NULL;
    assert_int_equal(ihex_load_file(path, &img, NULL), IHEX_OK);
    uint8_t *flat = malloc(0x80000);
    assert_int_equal(ihex_image_flatten(img, 0, 0x80000, flat), IHEX_OK);
    assert_memory_equal(flat, flash_bytes(dev->flash), 0x80000);
    assert_true(ihex_image_size(img) < 0x80000); /* erased runs left out */
    free(flat);
    ihex_image_free(img);
    emu_device_free(dev);
}

static void test_emu_cli_help_lists_every_option(void **state)
{
    (void)state;
    run_result_t r;
    emu(&r, "create --help");
    static const char *const opts[] = {"--chip",
                                       "--softdevice",
                                       "--app ",
                                       "--app-version",
                                       "--bootloader-version",
                                       "--hw-version",
                                       "--public-key",
                                       "--profile",
                                       "--sdk",
                                       "--no-require-signed",
                                       "--no-downgrade-prevention",
                                       "--no-accept-same-version",
                                       "--app-signature-required",
                                       "--debug-bootloader",
                                       "--app-data-size",
                                       "--app-boot-validation",
                                       "--sd-boot-validation"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strstr(r.out, opts[i]))
            fail_msg("create --help does not list %s", opts[i]);
    expect_ok(&r);
    emu(&r, "--help");
    assert_non_null(strstr(r.out, "export"));
    expect_ok(&r);
    emu(&r, "info --json --help");
    assert_non_null(strstr(r.out, "--json"));
    expect_ok(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emu_cli_create_stage_boot_shows_new_version),
        cmocka_unit_test(test_emu_cli_bad_arguments),
        cmocka_unit_test(test_emu_cli_bad_input_files),
        cmocka_unit_test(test_emu_cli_corrupt_device_file_refused_untouched),
        cmocka_unit_test(test_emu_cli_damaged_device_files_refused_untouched),
        cmocka_unit_test(test_emu_cli_stage_refusals_and_faults),
        cmocka_unit_test(test_emu_cli_device_in_dfu_mode_cannot_stage),
        cmocka_unit_test(test_emu_cli_power_cut_then_recovery),
        cmocka_unit_test(test_emu_cli_settings_json_fields),
        cmocka_unit_test(test_emu_cli_create_default_matches_nrfutil),
        cmocka_unit_test(test_emu_cli_export_raw_and_hex),
        cmocka_unit_test(test_emu_cli_help_lists_every_option),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
