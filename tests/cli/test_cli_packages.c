/*
 * The real `dfuart` binary against every package Nordic's nrfutil made
 * (tests/fixtures/nrfutil/packages.json is the external truth): inspect
 * reproduces every field nrfutil decoded, verify passes with the signing
 * key and fails with another, and every tampered package fails with its
 * documented exit code and a one-line message.
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
#include "run.h"

#define FIX FIX_NRFUTIL

enum { EXIT_OK = 0, EXIT_INVALID = 65, EXIT_INTEGRITY = 80, EXIT_SIGNATURE = 81 };

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

static void verify_one(const cJSON *pkg)
{
    const char *file = get(pkg, "file")->valuestring;
    const char *key = signing_key(pkg);
    if (!key) { /* unsigned: sound without a key, a signature failure with one */
        assert_int_equal(verify_status(file, NULL), EXIT_OK);
        assert_int_equal(verify_status(file, "keys/public.pem"), EXIT_SIGNATURE);
        return;
    }
    int ours = strcmp(key, "keys/private.pem") == 0;
    const char *right_pem = ours ? "keys/public.pem" : "keys/other_public.pem";
    const char *right_c = ours ? "keys/public_key.c" : "keys/other_public_key.c";
    const char *wrong = ours ? "keys/other_public.pem" : "keys/public.pem";
    assert_int_equal(verify_status(file, right_pem), EXIT_OK);
    assert_int_equal(verify_status(file, right_c), EXIT_OK);
    assert_int_equal(verify_status(file, wrong), EXIT_SIGNATURE);
}

static void test_cli_verify_genuine_packages_with_signing_and_other_key(void **state)
{
    (void)state;
    cJSON *all = packages_json();
    const cJSON *pkg;
    cJSON_ArrayForEach(pkg, get(all, "packages")) verify_one(pkg);
    cJSON_Delete(all);
}

/* Our documented verdict for each tampered package of packages.json. */
static const struct {
    const char *name;
    int code;
    const char *says; /* a word the one-line message must contain */
    int needs_key;    /* only a key can expose it, so inspect passes */
} tampered[] = {
    {"bin_byte_flip.zip", EXIT_INTEGRITY, "hash", 0},
    {"sig_byte_flip.zip", EXIT_SIGNATURE, "signature", 1},
    {"dat_truncated.zip", EXIT_INVALID, "app_s132.dat", 0},
    {"dat_empty.zip", EXIT_INVALID, "empty", 0},
    {"init_fw_version_changed.zip", EXIT_SIGNATURE, "signature", 1},
    {"signature_stripped.zip", EXIT_SIGNATURE, "unsigned", 1},
    {"bin_truncated.zip", EXIT_INTEGRITY, "size", 0},
    {"bin_swapped_same_size.zip", EXIT_INTEGRITY, "hash", 0},
    {"manifest_missing_bin.zip", EXIT_INVALID, "app_missing.bin", 0},
    {"manifest_absent.zip", EXIT_INVALID, "manifest.json", 0},
    {"manifest_bad_json.zip", EXIT_INVALID, "JSON", 0},
    {"zip_slip_bin.zip", EXIT_INVALID, "../app_s132.bin", 0},
    {"zip_slip_extra_entry.zip", EXIT_INVALID, "../../evil.txt", 0},
    {"bv_ecdsa_sig_flip_resigned.zip", EXIT_INTEGRITY, "boot_validation", 1},
};

static int tampered_index(const char *file)
{
    for (size_t i = 0; i < sizeof(tampered) / sizeof(tampered[0]); i++)
        if (strstr(file, tampered[i].name))
            return (int)i;
    fail_msg("no documented verdict for %s", file);
    return -1;
}

static void check_tampered(const char *file, const char *cmd, int want, const char *says)
{
    run_result_t r;
    dfuart(&r, "%s %s/%s", cmd, FIX, file);
    if (r.status != want)
        fail_msg("%s %s: exit %d, want %d (%s)", cmd, file, r.status, want, r.err);
    assert_int_equal(run_count_lines(r.err), 1);
    assert_non_null(strstr(r.err, file));
    if (!strstr(r.err, says))
        fail_msg("%s: message '%s' does not mention '%s'", file, r.err, says);
    run_free(&r);
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
    cJSON *all = packages_json();
    const cJSON *t;
    int count = 0;
    cJSON_ArrayForEach(t, get(all, "tampered"))
    {
        const char *file = get(t, "file")->valuestring;
        int i = tampered_index(file);
        check_tampered(file, "verify --key " FIX "/keys/public.pem", tampered[i].code,
                       tampered[i].says);
        /* inspect checks everything a key is not needed for */
        if (tampered[i].needs_key)
            assert_int_equal(run_status_inspect(file), EXIT_OK);
        else
            check_tampered(file, "inspect", tampered[i].code, tampered[i].says);
        count++;
    }
    assert_int_equal(count, (int)(sizeof(tampered) / sizeof(tampered[0])));
    cJSON_Delete(all);
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

static void test_cli_usage_errors_exit_64(void **state)
{
    (void)state;
    static const char *const bad[] = {"",
                                      "frobnicate",
                                      "inspect",
                                      "verify --key",
                                      "inspect --bogus x.zip",
                                      "inspect a.zip b.zip",
                                      "inspect --key k x.zip"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run_result_t r;
        dfuart(&r, "%s", bad[i]);
        if (r.status != 64)
            fail_msg("'dfuart %s' exited %d, want 64", bad[i], r.status);
        assert_true(run_count_lines(r.err) >= 1);
        run_free(&r);
    }
}

static void test_cli_key_file_errors(void **state)
{
    (void)state;
    run_result_t r;
    dfuart(&r, "verify --key /nonexistent.pem %s/packages/app_signed.zip", FIX);
    assert_int_equal(r.status, 66);
    assert_non_null(strstr(r.err, "/nonexistent.pem"));
    run_free(&r);
    dfuart(&r, "verify --key %s/packages.json %s/packages/app_signed.zip", FIX, FIX);
    assert_int_equal(r.status, EXIT_INVALID);
    assert_non_null(strstr(r.err, "packages.json"));
    assert_int_equal(run_count_lines(r.err), 1);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_inspect_json_reproduces_nrfutil_decoding),
        cmocka_unit_test(test_cli_verify_genuine_packages_with_signing_and_other_key),
        cmocka_unit_test(test_cli_tampered_packages_fail_with_documented_code),
        cmocka_unit_test(test_cli_inspect_text_shows_every_image),
        cmocka_unit_test(test_cli_usage_errors_exit_64),
        cmocka_unit_test(test_cli_key_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
