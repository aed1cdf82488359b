/*
 * The real `dfuart` binary against every package Nordic's nrfutil made
 * (tests/fixtures/nrfutil/packages.json is the external truth): inspect
 * reproduces every field nrfutil decoded, verify passes with the signing
 * key and fails with another, and every tampered package fails with its
 * documented exit code and a one-line message.
 *
 * Bad inputs (zips fabricated with zipfab.c, key files, command lines,
 * ports): each case carries the id of its row in the README's "Bad inputs"
 * table (B01, ...) and asserts that row's exit code and one-line message
 * shape; tests/cli/check_badinput_table.sh keeps the table and these ids in
 * step.
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
#include <cjson/cJSON.h>

#include "fixtures.h"
#include "ptyport.h"
#include "run.h"
#include "zipfab.h"

#define FIX        FIX_NRFUTIL
#define PKG(name)  FIX "/packages/" name
#define APP_SIGNED PKG("app_signed.zip")

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 64,
    EXIT_INVALID = 65,
    EXIT_NOINPUT = 66,
    EXIT_UNAVAILABLE = 69,
    EXIT_TEMPFAIL = 75,
    EXIT_INTEGRITY = 80,
    EXIT_SIGNATURE = 81,
};

static char *g_dir; /* fabricated zips and key files; removed by the group teardown */

static int group_setup(void **state)
{
    (void)state;
    g_dir = zipfab_mkdtemp();
    return g_dir ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    zipfab_rmdir(g_dir);
    return 0;
}

static cJSON *packages_json(void)
{
    return fix_packages_json();
}

/* Runs dfuart with printf-style arguments; fails the test if it cannot run. */
__attribute__((format(printf, 2, 3))) static void dfuart(run_result_t *r, const char *fmt, ...)
{
    char args[1024], cmd[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s %s", DFUART_BIN, args);
    assert_int_equal(run_cmd(cmd, r), 0);
}

/* README "Bad inputs" row `row`: exit `code`, and stderr is one line of `shape` (fnmatch). */
static void expect_line(run_result_t *r, const char *row, int code, const char *shape)
{
    if (r->status != code || !run_one_line_like(r->err, shape))
        fail_msg("%s: want exit %d and one line like \"%s\"; got exit %d, stderr \"%s\"", row, code,
                 shape, r->status, r->err);
    run_free(r);
}

static const cJSON *get(const cJSON *o, const char *key)
{
    return fix_get(o, key);
}

/* Same JSON value (numbers compared exactly, strings case-sensitively). */
static void assert_json_same(const cJSON *want, const cJSON *have, const char *what)
{
    if (!cJSON_Compare(want, have, 1)) {
        char *w = cJSON_PrintUnformatted(want), *h = cJSON_PrintUnformatted(have);
        fail_msg("%s: nrfutil says %s, dfuart says %s", what, w, h);
    }
}

static void compare_field(const cJSON *want_init, const cJSON *have_init, const char *key,
                          const char *pkg)
{
    char what[256];
    snprintf(what, sizeof(what), "%s: init.%s", pkg, key);
    assert_json_same(get(want_init, key), get(have_init, key), what);
}

/* nrfutil's Python names one ValidationType differently; compare the values. */
static void compare_boot_validation(const cJSON *want, const cJSON *have, const char *pkg)
{
    const cJSON *w = get(want, "boot_validation"), *h = get(have, "boot_validation");
    assert_int_equal(cJSON_GetArraySize(w), cJSON_GetArraySize(h));
    for (int i = 0; i < cJSON_GetArraySize(w); i++) {
        const cJSON *we = cJSON_GetArrayItem(w, i), *he = cJSON_GetArrayItem(h, i);
        char what[256];
        snprintf(what, sizeof(what), "%s: boot_validation[%d]", pkg, i);
        assert_json_same(get(we, "type_value"), get(he, "type_value"), what);
        assert_json_same(get(we, "bytes_hex"), get(he, "bytes_hex"), what);
    }
}

static void compare_init(const cJSON *want, const cJSON *have, const char *pkg)
{
    static const char *const same[] = {
        "packet_kind",      "op_code",    "fw_version",     "hw_version",
        "sd_req",           "sd_req_hex", "type",           "type_value",
        "sd_size",          "bl_size",    "app_size",       "hash_type",
        "hash_le_hex",      "is_debug",   "signature_type", "signature_le_hex",
        "init_command_hex",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, same[i]);
        if (w) /* packages.json omits signature fields of unsigned packets */
            compare_field(want, have, same[i], pkg);
        else
            assert_true(cJSON_IsNull(get(have, same[i])));
    }
    compare_boot_validation(want, have, pkg);
}

static void compare_image(const cJSON *want, const cJSON *have, const char *pkg)
{
    char what[256];
    snprintf(what, sizeof(what), "%s image", pkg);
    assert_json_same(get(want, "manifest_key"), get(have, "manifest_key"), what);
    assert_json_same(get(want, "bin_file"), get(have, "bin_file"), what);
    assert_json_same(get(want, "bin_size"), get(have, "bin_size"), what);
    assert_json_same(get(want, "bin_sha256"), get(have, "bin_sha256"), what);
    assert_json_same(get(want, "dat_file"), get(have, "dat_file"), what);
    assert_json_same(get(want, "dat_size"), get(have, "dat_size"), what);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(want, "manifest_metadata");
    if (meta)
        assert_json_same(meta, get(have, "manifest_metadata"), what);
    else
        assert_true(cJSON_IsNull(get(have, "manifest_metadata")));
    compare_init(get(want, "init"), get(have, "init"), pkg);
}

static void test_cli_inspect_json_reproduces_nrfutil_decoding(void **state)
{
    (void)state;
    cJSON *all = packages_json();
    const cJSON *pkg;
    int count = 0;
    cJSON_ArrayForEach(pkg, get(all, "packages"))
    {
        const char *file = get(pkg, "file")->valuestring;
        run_result_t r;
        dfuart(&r, "inspect --json %s/%s", FIX, file);
        assert_int_equal(r.status, EXIT_OK);
        cJSON *doc = cJSON_Parse(r.out);
        assert_non_null(doc);
        assert_string_equal(get(doc, "verdict")->valuestring, "sound");
        const cJSON *want = get(pkg, "images"), *have = get(doc, "images");
        assert_int_equal(cJSON_GetArraySize(want), cJSON_GetArraySize(have));
        for (int i = 0; i < cJSON_GetArraySize(want); i++)
            compare_image(cJSON_GetArrayItem(want, i), cJSON_GetArrayItem(have, i), file);
        cJSON_Delete(doc);
        run_free(&r);
        count++;
    }
    assert_int_equal(count, 32);
    cJSON_Delete(all);
}

/* The key nrfutil signed with (all images of a package share it), or NULL. */
static const char *signing_key(const cJSON *pkg)
{
    const cJSON *img = cJSON_GetArrayItem(get(pkg, "images"), 0);
    const cJSON *k = get(get(img, "init"), "signature_verifies_with");
    return cJSON_IsString(k) ? k->valuestring : NULL;
}

static int verify_status(const char *file, const char *key)
{
    run_result_t r;
    if (key)
        dfuart(&r, "verify --key %s/%s %s/%s", FIX, key, FIX, file);
    else
        dfuart(&r, "verify %s/%s", FIX, file);
    int st = r.status;
    /* Success is silent on stderr; failure is exactly one line there. */
    assert_int_equal(run_count_lines(r.err), st == 0 ? 0 : 1);
    run_free(&r);
    return st;
}

/* A genuine package checked with a key that did not sign it: README row `row`. */
static void verify_refused(const char *file, const char *key, const char *row, const char *why)
{
    run_result_t r;
    char shape[512];
    dfuart(&r, "verify --key %s/%s %s/%s", FIX, key, FIX, file);
    snprintf(shape, sizeof(shape), "dfuart: %s/%s: *: signature: %s", FIX, file, why);
    expect_line(&r, row, EXIT_SIGNATURE, shape);
}

/* `wrong_key_row` / `unsigned_row`: the README rows the two refusals back. */
static void verify_one(const cJSON *pkg, const char *wrong_key_row, const char *unsigned_row)
{
    const char *file = get(pkg, "file")->valuestring;
    const char *key = signing_key(pkg);
    if (!key) { /* unsigned: sound without a key, a signature failure with one */
        assert_int_equal(verify_status(file, NULL), EXIT_OK);
        verify_refused(file, "keys/public.pem", unsigned_row,
                       "--key given but the init packet is unsigned");
        return;
    }
    int ours = strcmp(key, "keys/private.pem") == 0;
    const char *right_pem = ours ? "keys/public.pem" : "keys/other_public.pem";
    const char *right_c = ours ? "keys/public_key.c" : "keys/other_public_key.c";
    const char *wrong = ours ? "keys/other_public.pem" : "keys/public.pem";
    assert_int_equal(verify_status(file, right_pem), EXIT_OK);
    assert_int_equal(verify_status(file, right_c), EXIT_OK);
    verify_refused(file, wrong, wrong_key_row,
                   "init packet signature does not verify with the key");
}

static void test_cli_verify_genuine_packages_with_signing_and_other_key(void **state)
{
    (void)state;
    cJSON *all = packages_json();
    const cJSON *pkg;
    cJSON_ArrayForEach(pkg, get(all, "packages")) verify_one(pkg, "B16", "B17");
    cJSON_Delete(all);
}

/* Our documented verdict for one tampered package of packages.json. */
typedef struct {
    const char *name;
    const char *row; /* README "Bad inputs" row */
    int code;
    const char *shape; /* the stderr line after "dfuart: FILE: " (fnmatch; '[' escaped) */
    int needs_key;     /* only a key can expose it, so inspect passes */
} tampered_t;

static const tampered_t *tampered_find(const tampered_t *t, size_t n, const char *file)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(file, t[i].name))
            return &t[i];
    fail_msg("no documented verdict for %s", file);
    return NULL;
}

static void check_tampered(const char *file, const char *cmd, const tampered_t *t)
{
    run_result_t r;
    char shape[512];
    dfuart(&r, "%s %s/%s", cmd, FIX, file);
    snprintf(shape, sizeof(shape), "dfuart: %s/%s: %s", FIX, file, t->shape);
    expect_line(&r, t->row, t->code, shape);
}

static int run_status_inspect(const char *file)
{
    run_result_t r;
    dfuart(&r, "inspect %s/%s", FIX, file);
    int st = r.status;
    run_free(&r);
    return st;
}

static void test_cli_tampered_packages_fail_with_documented_code(void **state)
{
    (void)state;
    static const tampered_t tampered[] = {
        {"bin_byte_flip.zip", "B14", EXIT_INTEGRITY,
         "application: hash: SHA-256 of app_s132.bin does not match the init packet", 0},
        {"sig_byte_flip.zip", "B16", EXIT_SIGNATURE,
         "application: signature: init packet signature does not verify with the key", 1},
        {"dat_truncated.zip", "B10", EXIT_INVALID,
         "member 'app_s132.dat': not a dfu.Packet (protobuf decoding failed)", 0},
        {"dat_empty.zip", "B10", EXIT_INVALID, "member 'app_s132.dat': init packet is empty", 0},
        {"init_fw_version_changed.zip", "B16", EXIT_SIGNATURE,
         "application: signature: init packet signature does not verify with the key", 1},
        {"signature_stripped.zip", "B17", EXIT_SIGNATURE,
         "application: signature: --key given but the init packet is unsigned", 1},
        {"bin_truncated.zip", "B13", EXIT_INTEGRITY,
         "application: size: app_s132.bin is 50012 bytes, init packet declares 50016", 0},
        {"bin_swapped_same_size.zip", "B14", EXIT_INTEGRITY,
         "application: hash: SHA-256 of app_s132.bin does not match the init packet", 0},
        {"manifest_missing_bin.zip", "B08", EXIT_INVALID,
         "member 'app_missing.bin': named by manifest.json but not in the zip", 0},
        {"manifest_absent.zip", "B03", EXIT_INVALID,
         "manifest.json: not in the zip (not an nrfutil package)", 0},
        {"manifest_bad_json.zip", "B06", EXIT_INVALID, "manifest.json: not valid JSON", 0},
        {"zip_slip_bin.zip", "B04", EXIT_INVALID,
         "member '../app_s132.bin': unsafe path (absolute or '..')", 0},
        {"zip_slip_extra_entry.zip", "B04", EXIT_INVALID,
         "member '../../evil.txt': unsafe path (absolute or '..')", 0},
        {"bv_ecdsa_sig_flip_resigned.zip", "B15", EXIT_INTEGRITY,
         "application: boot_validation\\[0\\]: ECDSA signature over app_s132.bin does not verify "
         "with the key",
         1},
    };
    const size_t n = sizeof(tampered) / sizeof(tampered[0]);
    cJSON *all = packages_json();
    const cJSON *t;
    size_t count = 0;
    cJSON_ArrayForEach(t, get(all, "tampered"))
    {
        const char *file = get(t, "file")->valuestring;
        const tampered_t *want = tampered_find(tampered, n, file);
        check_tampered(file, "verify --key " FIX "/keys/public.pem", want);
        /* inspect checks everything a key is not needed for */
        if (want->needs_key)
            assert_int_equal(run_status_inspect(file), EXIT_OK);
        else
            check_tampered(file, "inspect", want);
        count++;
    }
    assert_int_equal(count, n);
    cJSON_Delete(all);
}

/* ---- fabricated packages (README "Bad inputs" B01-B12) ------------------------------ */

/* app_signed.zip with `edit` applied, saved as g_dir/name; returns the path (zipfab slot). */
static const char *fabricate(const char *name, void (*edit)(zipfab_set_t *))
{
    zipfab_set_t set = {0};
    assert_int_equal(zipfab_load(APP_SIGNED, &set), 0);
    edit(&set);
    const char *p = zipfab_path(g_dir, name);
    assert_int_equal(zipfab_save(&set, p), 0);
    zipfab_free(&set);
    return p;
}

/* `dfuart verify PATH` must fail as row `row` says; `tail` follows "dfuart: PATH: ". */
static void verify_fails(const char *path, const char *row, int code, const char *tail)
{
    run_result_t r;
    char shape[600];
    dfuart(&r, "verify %s", path);
    snprintf(shape, sizeof(shape), "dfuart: %s: %s", path, tail);
    expect_line(&r, row, code, shape);
}

static void add_dotdot(zipfab_set_t *s)
{
    zipfab_put_str(s, "../evil", "owned");
}

static void add_absolute(zipfab_set_t *s)
{
    zipfab_put_str(s, "/etc/evil", "owned");
}

static void drop_manifest(zipfab_set_t *s)
{
    zipfab_remove(s, "manifest.json");
}

static void bin_over_1mib(zipfab_set_t *s)
{
    size_t n = 1024u * 1024u + 1u;
    uint8_t *big = calloc(1, n);
    assert_non_null(big);
    zipfab_put(s, "app_s132.bin", big, n);
    free(big);
}

static void no_edit(zipfab_set_t *s)
{
    (void)s;
}

static void test_cli_bad_zip_container(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/nope.zip", g_dir);
    verify_fails(path, "B01", EXIT_NOINPUT, "cannot open: No such file or directory");
    verify_fails(g_dir, "B01", EXIT_NOINPUT, "not a regular file");

    snprintf(path, sizeof(path), "%s/empty.zip", g_dir);
    assert_int_equal(zipfab_write_file(path, "", 0), 0);
    verify_fails(path, "B02", EXIT_INVALID, "empty file, not a zip archive");
    snprintf(path, sizeof(path), "%s/text.zip", g_dir);
    assert_int_equal(zipfab_write_file(path, "just some text\n", 15), 0);
    verify_fails(path, "B02", EXIT_INVALID, "not a zip archive");

    verify_fails(fabricate("nomanifest.zip", drop_manifest), "B03", EXIT_INVALID,
                 "manifest.json: not in the zip (not an nrfutil package)");
    verify_fails(fabricate("dotdot.zip", add_dotdot), "B04", EXIT_INVALID,
                 "member '../evil': unsafe path (absolute or '..')");
    verify_fails(fabricate("absolute.zip", add_absolute), "B04", EXIT_INVALID,
                 "member '/etc/evil': unsafe path (absolute or '..')");

    verify_fails(fabricate("big.zip", bin_over_1mib), "B05", EXIT_INVALID,
                 "member 'app_s132.bin': declared size 1048577 exceeds the 1048576-byte limit");
    /* Both headers claim one byte less than the member inflates to. */
    const char *lies = fabricate("lies.zip", no_edit);
    assert_int_equal(zipfab_patch_usize(lies, "app_s132.bin", 50015u, 1, 1), 0);
    verify_fails(lies, "B05", EXIT_INVALID,
                 "member 'app_s132.bin': inflates to more than its declared 50015 bytes");
}

static void manifest_not_json(zipfab_set_t *s)
{
    zipfab_put_str(s, "manifest.json", "{\"manifest\": {\"application\": ");
}

static void manifest_no_dat(zipfab_set_t *s)
{
    zipfab_put_str(s, "manifest.json",
                   "{\"manifest\": {\"application\": {\"bin_file\": "
                   "\"app_s132.bin\"}}}");
}

static void manifest_unknown_kind(zipfab_set_t *s)
{
    zipfab_put_str(s, "manifest.json", "{\"manifest\": {\"firmware\": {}}}");
}

static void manifest_without_dat_member(zipfab_set_t *s)
{
    zipfab_remove(s, "app_s132.dat");
}

/* nrfutil 0.5 (SDK <= 11) wrote init_packet_data and dfu_version. */
static void manifest_legacy(zipfab_set_t *s)
{
    zipfab_put_str(s, "manifest.json",
                   "{\"manifest\": {\"application\": {\"bin_file\": \"app_s132.bin\", "
                   "\"dat_file\": \"app_s132.dat\", \"init_packet_data\": "
                   "{\"application_version\": 1}}, \"dfu_version\": 0.5}}");
}

/* The same without dfu_version: the image's init_packet_data alone gives it away. */
static void manifest_legacy_image(zipfab_set_t *s)
{
    zipfab_put_str(s, "manifest.json",
                   "{\"manifest\": {\"application\": {\"bin_file\": \"app_s132.bin\", "
                   "\"dat_file\": \"app_s132.dat\", \"init_packet_data\": {}}}}");
}

static void test_cli_bad_manifest(void **state)
{
    (void)state;
    verify_fails(fabricate("notjson.zip", manifest_not_json), "B06", EXIT_INVALID,
                 "manifest.json: not valid JSON");
    verify_fails(fabricate("nodat.zip", manifest_no_dat), "B07", EXIT_INVALID,
                 "manifest.json: application.dat_file: missing");
    verify_fails(fabricate("kind.zip", manifest_unknown_kind), "B07", EXIT_INVALID,
                 "manifest.json: firmware: unknown image kind");
    verify_fails(fabricate("nodatmember.zip", manifest_without_dat_member), "B08", EXIT_INVALID,
                 "member 'app_s132.dat': named by manifest.json but not in the zip");
    verify_fails(fabricate("legacy.zip", manifest_legacy), "B09", EXIT_INVALID,
                 "manifest.json: dfu_version: legacy (SDK <= 11) package format is not supported");
    verify_fails(fabricate("legacy_image.zip", manifest_legacy_image), "B09", EXIT_INVALID,
                 "manifest.json: application.init_packet_data: legacy (SDK <= 11) package format "
                 "is not supported");
}

static void dat_empty(zipfab_set_t *s)
{
    zipfab_put(s, "app_s132.dat", "", 0);
}

static void dat_truncated(zipfab_set_t *s)
{
    zipfab_find(s, "app_s132.dat")->len = 125; /* of 141: cut inside the signature */
}

static void dat_over_512(zipfab_set_t *s)
{
    static const uint8_t big[600];
    zipfab_put(s, "app_s132.dat", big, sizeof(big));
}

/* Packet{command{op_code INIT, init{sd_req: 17 x 1}}}: the bootloader's decoder takes 16. */
static void dat_17_sd_req(zipfab_set_t *s)
{
    uint8_t d[25] = {0x0a, 23, 0x08, 0x01, 0x12, 19, 0x1a, 17};
    memset(d + 8, 0x01, 17);
    zipfab_put(s, "app_s132.dat", d, sizeof(d));
}

/* bl_signed.zip's bootloader image filed under the manifest key "application". */
static const char *bootloader_as_application(void)
{
    zipfab_set_t set = {0};
    assert_int_equal(zipfab_load(PKG("bl_signed.zip"), &set), 0);
    zipfab_put_str(&set, "manifest.json",
                   "{\"manifest\": {\"application\": {\"bin_file\": \"bootloader.bin\", "
                   "\"dat_file\": \"bootloader.dat\"}}}");
    const char *p = zipfab_path(g_dir, "bl_as_app.zip");
    assert_int_equal(zipfab_save(&set, p), 0);
    zipfab_free(&set);
    return p;
}

static void test_cli_bad_init_packet(void **state)
{
    (void)state;
    verify_fails(fabricate("dat0.zip", dat_empty), "B10", EXIT_INVALID,
                 "member 'app_s132.dat': init packet is empty");
    verify_fails(fabricate("dat125.zip", dat_truncated), "B10", EXIT_INVALID,
                 "member 'app_s132.dat': not a dfu.Packet (protobuf decoding failed)");
    verify_fails(fabricate("dat600.zip", dat_over_512), "B10", EXIT_INVALID,
                 "member 'app_s132.dat': init packet is larger than the bootloader's 512-byte "
                 "init_command");
    verify_fails(fabricate("sdreq17.zip", dat_17_sd_req), "B11", EXIT_INVALID,
                 "member 'app_s132.dat': init.sd_req: field exceeds the bootloader decoder's size "
                 "bound");
    verify_fails(bootloader_as_application(), "B12", EXIT_INVALID,
                 "application: type: init.type BOOTLOADER under manifest key 'application'");
}

static void test_cli_inspect_text_shows_every_image(void **state)
{
    (void)state;
    run_result_t r;
    dfuart(&r, "inspect %s/packages/sd_bl_app_signed.zip", FIX);
    assert_int_equal(r.status, EXIT_OK);
    assert_non_null(strstr(r.out, "[1/2] softdevice_bootloader: sd_bl.bin (152020 bytes)"));
    assert_non_null(strstr(r.out, "[2/2] application: app_s132.bin (50016 bytes)"));
    assert_non_null(strstr(r.out, "SOFTDEVICE_BOOTLOADER (3)"));
    assert_non_null(strstr(r.out, "sd_req           0x0101, 0x00CB"));
    assert_non_null(strstr(r.out, "SOUND"));
    assert_string_equal(r.err, "");
    run_free(&r);
}

/* ---- command lines, key files, ports (README "Bad inputs" B20-B28) ------------------ */

static void test_cli_usage_errors_exit_64(void **state)
{
    (void)state;
    static const struct {
        const char *row, *args, *shape;
    } bad[] = {
        {"B23", "", "dfuart: no command given (try 'dfuart --help')"},
        {"B23", "frobnicate", "dfuart: unknown command 'frobnicate' (try 'dfuart --help')"},
        {"B24", "inspect --bogus x.zip",
         "dfuart inspect: unknown option '--bogus' (try 'dfuart inspect --help')"},
        {"B24", "inspect --key k x.zip",
         "dfuart inspect: unknown option '--key' (try 'dfuart inspect --help')"},
        {"B24", "verify --key",
         "dfuart verify: missing value for option '--key' (try 'dfuart verify --help')"},
        {"B24", "update x.zip --port /dev/null --bogus",
         "dfuart update: unknown option '--bogus' (try 'dfuart update --help')"},
        {"B24", "ports --bogus",
         "dfuart ports: unknown option '--bogus' (try 'dfuart ports --help')"},
        {"B25", "inspect",
         "dfuart inspect: expected exactly one PACKAGE.zip (try 'dfuart inspect --help')"},
        {"B25", "verify a.zip b.zip",
         "dfuart verify: expected exactly one PACKAGE.zip (try 'dfuart verify --help')"},
        {"B25", "update x.zip",
         "dfuart update: expected one PACKAGE.zip and --port PORT (try 'dfuart update --help')"},
        {"B26", "update x.zip --port p --baud 0",
         "dfuart update: invalid value '0' for --baud (expected a number of baud)"},
        {"B26", "update x.zip --port p --baud 9600x",
         "dfuart update: invalid value '9600x' for --baud (expected a number of baud)"},
        {"B26", "update x.zip --port p --timeout 0",
         "dfuart update: invalid value '0' for --timeout (expected 1..3600)"},
        {"B26", "update x.zip --port p --timeout 3601",
         "dfuart update: invalid value '3601' for --timeout (expected 1..3600)"},
        {"B26", "update x.zip --port p --retries -1",
         "dfuart update: invalid value '-1' for --retries (expected 0..1000)"},
        {"B26", "update x.zip --port p --flow xonxoff",
         "dfuart update: invalid value 'xonxoff' for --flow (expected none or rtscts)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run_result_t r;
        dfuart(&r, "%s", bad[i].args);
        expect_line(&r, bad[i].row, EXIT_USAGE, bad[i].shape);
    }
}

/* A P-256 verifier cannot use it: the bootloader's key is prime256v1. */
static const char p384_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEHwe86BkN6Ki+70sji0ovNwKr1b//HFQQ\n"
                               "plX57/gKexYFgvnIAP/PyEYHtmzyUxnx+AK33wVpqDsdPyVNbQduGUoigQPEIg3Y\n"
                               "9H3azbKG9beQ56VOkNtbzJfbbS4WEZkL\n"
                               "-----END PUBLIC KEY-----\n";

static void test_cli_key_file_errors(void **state)
{
    (void)state;
    run_result_t r;
    dfuart(&r, "verify --key /nonexistent.pem %s", APP_SIGNED);
    expect_line(&r, "B20", EXIT_NOINPUT,
                "dfuart: /nonexistent.pem: cannot read key file: No such file or directory");
    dfuart(&r, "verify --key %s/packages.json %s", FIX, APP_SIGNED);
    expect_line(&r, "B21", EXIT_INVALID,
                "dfuart: " FIX "/packages.json: not a PEM key, nrfutil public_key.c or 128-digit "
                "hex key");
    char key[512], shape[600];
    snprintf(key, sizeof(key), "%s/p384.pem", g_dir);
    assert_int_equal(zipfab_write_file(key, p384_pem, strlen(p384_pem)), 0);
    dfuart(&r, "verify --key %s %s", key, APP_SIGNED);
    snprintf(shape, sizeof(shape), "dfuart: %s: key is not an ECDSA P-256 (prime256v1) key", key);
    expect_line(&r, "B22", EXIT_INVALID, shape);
}

static void test_cli_port_errors(void **state)
{
    (void)state;
    run_result_t r;
    char path[512], shape[600];
    dfuart(&r, "update %s --port /nonexistent/tty", PKG("app_signed_tiny.zip"));
    expect_line(&r, "B27", EXIT_UNAVAILABLE,
                "dfuart: /nonexistent/tty: cannot open: No such file or directory");
    snprintf(path, sizeof(path), "%s/not_a_tty", g_dir);
    assert_int_equal(zipfab_write_file(path, "", 0), 0);
    dfuart(&r, "update %s --port %s", PKG("app_signed_tiny.zip"), path);
    snprintf(shape, sizeof(shape), "dfuart: %s: not a terminal", path);
    expect_line(&r, "B27", EXIT_UNAVAILABLE, shape);
    size_t len = 1;
    free(zipfab_read_file(path, &len));
    assert_int_equal(len, 0); /* not a terminal: nothing was written to it either */

    ptyport_t pty;
    assert_int_equal(ptyport_open(&pty), 0);
    dfuart(&r, "update %s --port %s --baud 12345", PKG("app_signed_tiny.zip"), pty.name);
    snprintf(shape, sizeof(shape),
             "dfuart: %s: baud 12345 is not a termios speed (e.g. 115200, 1000000)", pty.name);
    expect_line(&r, "B28", EXIT_UNAVAILABLE, shape);
    assert_int_equal(ptyport_drain(&pty), 0);
    ptyport_close(&pty);
}

/*
 * `dfuart update` judges the package, the key and its arguments before it
 * opens the port: for each refusal not one byte reaches the pty. The last
 * case, a sound package to a silent port, shows that the pty does see what
 * the host sends (so "0 bytes" above is not vacuous).
 */
static void test_cli_update_refuses_bad_input_before_port(void **state)
{
    (void)state;
    static const struct {
        const char *row, *args;
        int code;
        const char *shape; /* "PORT" in it is the pty's name */
    } cases[] = {
        {"B18", PKG("tampered/bin_byte_flip.zip"), EXIT_INTEGRITY,
         "dfuart: " PKG("tampered/bin_byte_flip.zip") ": application: hash: SHA-256 of "
                                                      "app_s132.bin does not match the init packet "
                                                      "(not sending)"},
        {"B18", "--key " FIX "/keys/other_public.pem " APP_SIGNED, EXIT_SIGNATURE,
         "dfuart: " APP_SIGNED ": application: signature: init packet signature does not verify "
         "with the key (not sending)"},
        {"B18", "--key " FIX "/keys/public.pem " PKG("app_unsigned.zip"), EXIT_SIGNATURE,
         "dfuart: " PKG("app_unsigned.zip") ": application: signature: --key given but the init "
                                            "packet is unsigned (not sending)"},
        {"B19", PKG("sd_signed.zip"), EXIT_INVALID,
         "dfuart: " PKG("sd_signed.zip") ": no application image (softdevice); SoftDevice and "
                                         "bootloader updates need Nordic's serial DFU"},
        {"B04", PKG("tampered/zip_slip_bin.zip"), EXIT_INVALID,
         "dfuart: " PKG("tampered/zip_slip_bin.zip") ": member '../app_s132.bin': unsafe path "
                                                     "(absolute or '..')"},
        {"B10", PKG("tampered/dat_truncated.zip"), EXIT_INVALID,
         "dfuart: " PKG("tampered/dat_truncated.zip") ": member 'app_s132.dat': not a dfu.Packet "
                                                      "(protobuf decoding failed)"},
        {"B20", "--key /nonexistent.pem " APP_SIGNED, EXIT_NOINPUT,
         "dfuart: /nonexistent.pem: cannot read key file: No such file or directory"},
        {"B26", APP_SIGNED " --timeout 0", EXIT_USAGE,
         "dfuart update: invalid value '0' for --timeout (expected 1..3600)"},
        {"B29", PKG("app_signed_tiny.zip") " --timeout 1", EXIT_TEMPFAIL,
         "dfuart: PORT: no answer to HELLO within 1000 ms (is the dfuart receiver running, at "
         "this baud?)"},
    };
    ptyport_t pty;
    assert_int_equal(ptyport_open(&pty), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_result_t r;
        char shape[600];
        const char *port = strstr(cases[i].shape, "PORT");
        if (port)
            snprintf(shape, sizeof(shape), "%.*s%s%s", (int)(port - cases[i].shape), cases[i].shape,
                     pty.name, port + 4);
        else
            snprintf(shape, sizeof(shape), "%s", cases[i].shape);
        dfuart(&r, "update --port %s %s", pty.name, cases[i].args);
        expect_line(&r, cases[i].row, cases[i].code, shape);
        size_t sent = ptyport_drain(&pty);
        if (cases[i].code == EXIT_TEMPFAIL ? sent == 0 : sent != 0)
            fail_msg("%s: %zu bytes reached the port (%s)", cases[i].row, sent, cases[i].args);
    }
    ptyport_close(&pty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_inspect_json_reproduces_nrfutil_decoding),
        cmocka_unit_test(test_cli_verify_genuine_packages_with_signing_and_other_key),
        cmocka_unit_test(test_cli_tampered_packages_fail_with_documented_code),
        cmocka_unit_test(test_cli_inspect_text_shows_every_image),
        cmocka_unit_test(test_cli_bad_zip_container),
        cmocka_unit_test(test_cli_bad_manifest),
        cmocka_unit_test(test_cli_bad_init_packet),
        cmocka_unit_test(test_cli_usage_errors_exit_64),
        cmocka_unit_test(test_cli_key_file_errors),
        cmocka_unit_test(test_cli_port_errors),
        cmocka_unit_test(test_cli_update_refuses_bad_input_before_port),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
