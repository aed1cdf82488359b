/*
 * Unit tests of cli/manifest: parsing nrfutil's manifest.json, every shape
 * error with the JSON field named, legacy formats and unsafe member names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/manifest.h"

static manifest_t parse_ok(const char *json)
{
    manifest_t m;
    char why[200] = "untouched";
    manifest_err_t e = manifest_parse(json, strlen(json), &m, why, sizeof(why));
    if (e != MANIFEST_OK)
        fail_msg("parse failed (%d): %s\n%s", e, why, json);
    assert_string_equal(why, "");
    return m;
}

/* Expects `want`, a one-line `why` containing `part`, and a zeroed result. */
static void expect_err(const char *json, size_t len, manifest_err_t want, const char *part)
{
    manifest_t m;
    memset(&m, 0xA5, sizeof(m));
    char why[200] = "";
    manifest_err_t e = manifest_parse(json, len, &m, why, sizeof(why));
    if (e != want)
        fail_msg("got %d (%s), want %d for: %s", e, why, want, json);
    if (!strstr(why, part))
        fail_msg("why '%s' lacks '%s'", why, part);
    if (strchr(why, '\n'))
        fail_msg("why is not one line: '%s'", why);
    static const manifest_t zero;
    assert_memory_equal(&m, &zero, sizeof(m));
}

static void expect_err_s(const char *json, manifest_err_t want, const char *part)
{
    expect_err(json, strlen(json), want, part);
}

#define APP "\"application\": {\"bin_file\": \"app.bin\", \"dat_file\": \"app.dat\"}"
#define SDBL(meta)                                                                                 \
    "\"softdevice_bootloader\": {\"bin_file\": \"sd_bl.bin\", \"dat_file\": \"sd_bl.dat\"" meta "}"

/* ---- valid manifests ---------------------------------------------------- */

static void test_manifest_genuine_application(void **state)
{
    (void)state;
    /* app_signed.zip's manifest.json, verbatim. */
    manifest_t m = parse_ok("{\n    \"manifest\": {\n        \"application\": {\n"
                            "            \"bin_file\": \"app_s132.bin\",\n"
                            "            \"dat_file\": \"app_s132.dat\"\n        }\n    }\n}");
    assert_int_equal(m.count, 1);
    assert_int_equal(m.image[0].kind, PKG_KIND_APPLICATION);
    assert_string_equal(m.image[0].bin_file, "app_s132.bin");
    assert_string_equal(m.image[0].dat_file, "app_s132.dat");
    assert_false(m.image[0].has_metadata);
}

static void test_manifest_softdevice_bootloader_metadata(void **state)
{
    (void)state;
    manifest_t m = parse_ok("{\"manifest\": {" SDBL(
        ", \"info_read_only_metadata\": {\"bl_size\": 468, \"sd_size\": 151552}") "}}");
    assert_int_equal(m.count, 1);
    assert_int_equal(m.image[0].kind, PKG_KIND_SOFTDEVICE_BOOTLOADER);
    assert_true(m.image[0].has_metadata);
    assert_int_equal(m.image[0].sd_size, 151552);
    assert_int_equal(m.image[0].bl_size, 468);
    /* Bounds: 0 and 2^32-1 are valid sizes. */
    m = parse_ok("{\"manifest\": {" SDBL(
        ", \"info_read_only_metadata\": {\"bl_size\": 0, \"sd_size\": 4294967295}") "}}");
    assert_int_equal(m.image[0].sd_size, UINT32_MAX);
    assert_int_equal(m.image[0].bl_size, 0);
}

static void test_manifest_transfer_order(void **state)
{
    (void)state;
    /* JSON order is the reverse of nrfutil's transfer order. */
    manifest_t m =
        parse_ok("{\"manifest\": {" APP ","
                 "\"bootloader\": {\"bin_file\": \"bl.bin\", \"dat_file\": \"bl.dat\"},"
                 "\"softdevice\": {\"bin_file\": \"sd.bin\", \"dat_file\": \"sd.dat\"}," SDBL(
                     ", \"info_read_only_metadata\": {\"bl_size\": 1, \"sd_size\": 2}") "}}");
    assert_int_equal(m.count, 4);
    assert_int_equal(m.image[0].kind, PKG_KIND_SOFTDEVICE_BOOTLOADER);
    assert_string_equal(m.image[0].bin_file, "sd_bl.bin");
    assert_int_equal(m.image[1].kind, PKG_KIND_SOFTDEVICE);
    assert_string_equal(m.image[1].dat_file, "sd.dat");
    assert_int_equal(m.image[2].kind, PKG_KIND_BOOTLOADER);
    assert_string_equal(m.image[2].bin_file, "bl.bin");
    assert_int_equal(m.image[3].kind, PKG_KIND_APPLICATION);
    assert_string_equal(m.image[3].bin_file, "app.bin");
    assert_false(m.image[1].has_metadata);

    /* sd_bl_app_signed.zip order (application first in the JSON). */
    m = parse_ok("{\"manifest\": {" APP "," SDBL(
        ", \"info_read_only_metadata\": {\"bl_size\": 468, \"sd_size\": 151552}") "}}");
    assert_int_equal(m.count, 2);
    assert_int_equal(m.image[0].kind, PKG_KIND_SOFTDEVICE_BOOTLOADER);
    assert_int_equal(m.image[1].kind, PKG_KIND_APPLICATION);
}

static void test_manifest_extra_fields_ignored(void **state)
{
    (void)state;
    manifest_t m = parse_ok("{\"manifest\": {\"application\": {\"bin_file\": \"a.bin\", "
                            "\"dat_file\": \"a.dat\", \"note\": 5}}, \"other\": [1, 2]}");
    assert_int_equal(m.count, 1);
    assert_string_equal(m.image[0].bin_file, "a.bin");
}

static void test_manifest_length_is_honoured(void **state)
{
    (void)state;
    /* Only the first `len` bytes are JSON; the rest of the buffer is not read. */
    const char text[] = "{\"manifest\": {" APP "}}GARBAGE";
    manifest_t m;
    char why[200];
    assert_int_equal(manifest_parse(text, strlen(text) - 7, &m, why, sizeof(why)), MANIFEST_OK);
    assert_int_equal(m.count, 1);
    expect_err(text, strlen(text) - 8, MANIFEST_ERR_JSON, "JSON");
}

/* ---- shape errors ------------------------------------------------------- */

static void test_manifest_not_json(void **state)
{
    (void)state;
    expect_err_s("", MANIFEST_ERR_JSON, "JSON");
    expect_err_s("not json", MANIFEST_ERR_JSON, "JSON");
    expect_err_s("{\"manifest\": {" APP "}", MANIFEST_ERR_JSON, "JSON");
    expect_err_s("{\"manifest\": {\"application\": {\"bin_file\": \"a.bin\",}}}", MANIFEST_ERR_JSON,
                 "JSON");
}

static void test_manifest_not_an_object(void **state)
{
    (void)state;
    expect_err_s("[1, 2, 3]", MANIFEST_ERR_SHAPE, "manifest");
    expect_err_s("\"manifest\"", MANIFEST_ERR_SHAPE, "manifest");
    expect_err_s("42", MANIFEST_ERR_SHAPE, "manifest");
    expect_err_s("null", MANIFEST_ERR_SHAPE, "manifest");
}

static void test_manifest_no_manifest_key(void **state)
{
    (void)state;
    expect_err_s("{}", MANIFEST_ERR_SHAPE, "manifest: missing");
    expect_err_s("{\"Manifest\": {" APP "}}", MANIFEST_ERR_SHAPE, "manifest: missing");
    expect_err_s("{\"application\": {\"bin_file\": \"a\", \"dat_file\": \"b\"}}",
                 MANIFEST_ERR_SHAPE, "manifest: missing");
}

static void test_manifest_manifest_not_object(void **state)
{
    (void)state;
    expect_err_s("{\"manifest\": [1]}", MANIFEST_ERR_SHAPE, "manifest");
    expect_err_s("{\"manifest\": \"application\"}", MANIFEST_ERR_SHAPE, "not an object");
    expect_err_s("{\"manifest\": null}", MANIFEST_ERR_SHAPE, "not an object");
}

static void test_manifest_empty_manifest(void **state)
{
    (void)state;
    expect_err_s("{\"manifest\": {}}", MANIFEST_ERR_SHAPE, "names no image");
}

static void test_manifest_unknown_image_kind(void **state)
{
    (void)state;
    expect_err_s("{\"manifest\": {\"firmware\": {\"bin_file\": \"a\", \"dat_file\": \"b\"}}}",
                 MANIFEST_ERR_SHAPE, "firmware: unknown image kind");
    expect_err_s("{\"manifest\": {" APP ", \"Application\": {}}}", MANIFEST_ERR_SHAPE,
                 "Application: unknown image kind");
    /* A key with a newline still gives a one-line reason. */
    expect_err_s("{\"manifest\": {\"ev\\nil\": {}}}", MANIFEST_ERR_SHAPE, "ev?il: unknown");
}

static void test_manifest_image_kind_twice(void **state)
{
    (void)state;
    expect_err_s("{\"manifest\": {" APP ", " APP "}}", MANIFEST_ERR_SHAPE,
                 "application: appears twice");
}

static void test_manifest_image_not_object(void **state)
{
    (void)state;
    expect_err_s("{\"manifest\": {\"application\": \"app.bin\"}}", MANIFEST_ERR_SHAPE,
                 "application: not an object");
    expect_err_s("{\"manifest\": {\"bootloader\": [\"bl.bin\"]}}", MANIFEST_ERR_SHAPE,
                 "bootloader: not an object");
}

static void test_manifest_bin_file_missing_or_not_string(void **state)
{
    (void)state;
    expect_err_s("{\"manifest\": {\"application\": {\"dat_file\": \"a.dat\"}}}", MANIFEST_ERR_SHAPE,
                 "application.bin_file: missing");
    expect_err_s("{\"manifest\": {\"application\": {\"bin_file\": 7, \"dat_file\": \"a.dat\"}}}",
                 MANIFEST_ERR_SHAPE, "application.bin_file: not a string");
    expect_err_s("{\"manifest\": {\"softdevice\": {\"bin_file\": null, \"dat_file\": \"a\"}}}",
                 MANIFEST_ERR_SHAPE, "softdevice.bin_file: not a string");
    expect_err_s("{\"manifest\": {\"bootloader\": {\"bin_file\": \"bl.bin\"}}}", MANIFEST_ERR_SHAPE,
                 "bootloader.dat_file: missing");
    expect_err_s("{\"manifest\": {\"bootloader\": {\"bin_file\": \"bl.bin\", \"dat_file\": {}}}}",
                 MANIFEST_ERR_SHAPE, "bootloader.dat_file: not a string");
    /* Case matters. */
    expect_err_s("{\"manifest\": {\"application\": {\"Bin_File\": \"a\", \"dat_file\": \"b\"}}}",
                 MANIFEST_ERR_SHAPE, "application.bin_file: missing");
}

static void test_manifest_sd_bl_metadata_errors(void **state)
{
    (void)state;
    const char *path = "softdevice_bootloader.info_read_only_metadata";
    char want[120];
    expect_err_s("{\"manifest\": {" SDBL("") "}}", MANIFEST_ERR_SHAPE, path);
    expect_err_s("{\"manifest\": {" SDBL("") "}}", MANIFEST_ERR_SHAPE, "missing");
    expect_err_s("{\"manifest\": {" SDBL(", \"info_read_only_metadata\": 5") "}}",
                 MANIFEST_ERR_SHAPE, "info_read_only_metadata: not an object");
    snprintf(want, sizeof(want), "%s.sd_size: missing", path);
    expect_err_s("{\"manifest\": {" SDBL(", \"info_read_only_metadata\": {\"bl_size\": 1}") "}}",
                 MANIFEST_ERR_SHAPE, want);
    snprintf(want, sizeof(want), "%s.bl_size: missing", path);
    expect_err_s("{\"manifest\": {" SDBL(", \"info_read_only_metadata\": {\"sd_size\": 1}") "}}",
                 MANIFEST_ERR_SHAPE, want);

    static const char *const bad_sd[] = {"-1",      "-0.5", "1.5",  "4294967296", "1e10",
                                         "\"100\"", "true", "null", "[1]"};
    snprintf(want, sizeof(want), "%s.sd_size: not an unsigned 32-bit integer", path);
    for (size_t i = 0; i < sizeof(bad_sd) / sizeof(bad_sd[0]); i++) {
        char json[300];
        snprintf(json, sizeof(json),
                 "{\"manifest\": {" SDBL(", \"info_read_only_metadata\": "
                                         "{\"bl_size\": 468, \"sd_size\": %s}") "}}",
                 bad_sd[i]);
        expect_err_s(json, MANIFEST_ERR_SHAPE, want);
    }
    snprintf(want, sizeof(want), "%s.bl_size: not an unsigned 32-bit integer", path);
    expect_err_s("{\"manifest\": {" SDBL(", \"info_read_only_metadata\": "
                                         "{\"bl_size\": 4.25, \"sd_size\": 1}") "}}",
                 MANIFEST_ERR_SHAPE, want);
}

static void test_manifest_legacy_formats(void **state)
{
    (void)state;
    /* nrfutil 0.5 (SDK <= 11) manifests. */
    expect_err_s("{\"manifest\": {\"application\": {\"bin_file\": \"a.bin\", \"dat_file\": "
                 "\"a.dat\", \"init_packet_data\": {\"application_version\": 4294967295, "
                 "\"device_revision\": 65535, \"device_type\": 65535, \"firmware_crc16\": 1234, "
                 "\"softdevice_req\": [65534]}}, \"dfu_version\": 0.5}}",
                 MANIFEST_ERR_LEGACY, "legacy");
    expect_err_s("{\"manifest\": {\"dfu_version\": 0.5, " APP "}}", MANIFEST_ERR_LEGACY,
                 "dfu_version");
    expect_err_s("{\"manifest\": {\"application\": {\"bin_file\": \"a.bin\", \"dat_file\": "
                 "\"a.dat\", \"init_packet_data\": {}}}}",
                 MANIFEST_ERR_LEGACY, "application.init_packet_data");
}

static void test_manifest_unsafe_names(void **state)
{
    (void)state;
    static const char *const bad[] = {"../x.bin",     "/abs.bin",        "a/../../b",
                                      "C:evil",       "..\\\\x",         "a\\nb.bin",
                                      "\\u0001x.bin", "\\\\server\\\\x", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[300];
        snprintf(json, sizeof(json),
                 "{\"manifest\": {\"application\": {\"bin_file\": \"%s\", \"dat_file\": "
                 "\"a.dat\"}}}",
                 bad[i]);
        expect_err_s(json, MANIFEST_ERR_NAME, "application.bin_file");
        snprintf(json, sizeof(json),
                 "{\"manifest\": {\"softdevice\": {\"bin_file\": \"sd.bin\", \"dat_file\": "
                 "\"%s\"}}}",
                 bad[i]);
        expect_err_s(json, MANIFEST_ERR_NAME, "softdevice.dat_file");
    }
    /* 255 characters fit, 256 do not. */
    char name[300], json[400];
    memset(name, 'n', sizeof(name));
    name[MANIFEST_NAME_MAX - 1] = 0;
    snprintf(json, sizeof(json),
             "{\"manifest\": {\"application\": {\"bin_file\": \"%s\", \"dat_file\": \"a\"}}}",
             name);
    manifest_t m = parse_ok(json);
    assert_int_equal(strlen(m.image[0].bin_file), MANIFEST_NAME_MAX - 1);
    name[MANIFEST_NAME_MAX - 1] = 'n';
    name[MANIFEST_NAME_MAX] = 0;
    snprintf(json, sizeof(json),
             "{\"manifest\": {\"application\": {\"bin_file\": \"%s\", \"dat_file\": \"a\"}}}",
             name);
    expect_err_s(json, MANIFEST_ERR_NAME, "application.bin_file");
}

static void test_manifest_why_optional_and_truncated(void **state)
{
    (void)state;
    manifest_t m;
    const char *json = "{\"manifest\": {\"firmware\": {}}}";
    assert_int_equal(manifest_parse(json, strlen(json), &m, NULL, 0), MANIFEST_ERR_SHAPE);
    char why[8];
    memset(why, 'x', sizeof(why));
    assert_int_equal(manifest_parse(json, strlen(json), &m, why, sizeof(why)), MANIFEST_ERR_SHAPE);
    assert_int_equal(strlen(why), sizeof(why) - 1);
    assert_memory_equal(why, "firmwar", 8);
}

static void test_manifest_name_safe_table(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool safe;
    } t[] = {
        {"app.bin", true}, {"dir/app.bin", true}, {"a..b", true},       {"...", true},
        {".hidden", true}, {"a/./b", true},       {"..a/b..", true},    {"ab:c", true},
        {"", false},       {"/abs.bin", false},   {"\\abs.bin", false}, {"../x.bin", false},
        {"..", false},     {"a/..", false},       {"a/../../b", false}, {"a/../b", false},
        {"..\\x", false},  {"a\\..\\b", false},   {"a\\..", false},     {"C:evil", false},
        {"x:y", false},    {"c:\\x.bin", false},  {"a\nb", false},      {"\tx", false},
        {"x\x1f", false},  {"\x01", false},       {"a/\r/b", false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (manifest_name_safe(t[i].name) != t[i].safe)
            fail_msg("manifest_name_safe(\"%s\") != %d", t[i].name, t[i].safe);
    char name[MANIFEST_NAME_MAX + 1];
    memset(name, 'a', sizeof(name));
    name[MANIFEST_NAME_MAX - 1] = 0;
    assert_true(manifest_name_safe(name));
    name[MANIFEST_NAME_MAX - 1] = 'a';
    name[MANIFEST_NAME_MAX] = 0;
    assert_false(manifest_name_safe(name));
}

static void test_manifest_kind_keys(void **state)
{
    (void)state;
    assert_string_equal(manifest_kind_key(PKG_KIND_SOFTDEVICE_BOOTLOADER), "softdevice_bootloader");
    assert_string_equal(manifest_kind_key(PKG_KIND_SOFTDEVICE), "softdevice");
    assert_string_equal(manifest_kind_key(PKG_KIND_BOOTLOADER), "bootloader");
    assert_string_equal(manifest_kind_key(PKG_KIND_APPLICATION), "application");
    assert_string_equal(manifest_kind_key((pkg_kind_t)17), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_genuine_application),
        cmocka_unit_test(test_manifest_softdevice_bootloader_metadata),
        cmocka_unit_test(test_manifest_transfer_order),
        cmocka_unit_test(test_manifest_extra_fields_ignored),
        cmocka_unit_test(test_manifest_length_is_honoured),
        cmocka_unit_test(test_manifest_not_json),
        cmocka_unit_test(test_manifest_not_an_object),
        cmocka_unit_test(test_manifest_no_manifest_key),
        cmocka_unit_test(test_manifest_manifest_not_object),
        cmocka_unit_test(test_manifest_empty_manifest),
        cmocka_unit_test(test_manifest_unknown_image_kind),
        cmocka_unit_test(test_manifest_image_kind_twice),
        cmocka_unit_test(test_manifest_image_not_object),
        cmocka_unit_test(test_manifest_bin_file_missing_or_not_string),
        cmocka_unit_test(test_manifest_sd_bl_metadata_errors),
        cmocka_unit_test(test_manifest_legacy_formats),
        cmocka_unit_test(test_manifest_unsafe_names),
        cmocka_unit_test(test_manifest_why_optional_and_truncated),
        cmocka_unit_test(test_manifest_name_safe_table),
        cmocka_unit_test(test_manifest_kind_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
