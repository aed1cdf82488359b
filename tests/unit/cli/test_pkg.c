/*
 * Unit tests of cli/pkg: opening nrfutil DFU zips. Genuine packages come from
 * tests/fixtures/nrfutil (expected values from packages.json); hostile ones
 * are fabricated here with libzip (zipfab.c) in a temp dir.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "cli/pkg.h"
#include "zipfab.h"

#define NRFUTIL    DFUART_FIXTURES "/nrfutil/"
#define APP_SIGNED NRFUTIL "packages/app_signed.zip"

typedef struct {
    char *dir;
    zipfab_set_t set; /* app_signed.zip's members, to modify */
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    if (!f || !(f->dir = zipfab_mkdtemp()) || zipfab_load(APP_SIGNED, &f->set) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    zipfab_free(&f->set);
    zipfab_rmdir(f->dir);
    free(f);
    return 0;
}

static const char *save(fx_t *f, const char *name)
{
    const char *p = zipfab_path(f->dir, name);
    assert_int_equal(zipfab_save(&f->set, p), 0);
    return p;
}

static pkg_t *open_ok(const char *path)
{
    pkg_t *p = NULL;
    pkg_diag_t d;
    pkg_err_t e = pkg_open(path, &p, &d);
    if (e != PKG_OK)
        fail_msg("%s: %d: %s", path, e, d.msg);
    assert_non_null(p);
    return p;
}

/*
 * pkg_open must fail with one of `want`/`alt` (alt < 1: only want), leave
 * *out NULL, and give a one-line message naming the path and every part.
 */
static void expect_fail2(const char *path, pkg_err_t want, pkg_err_t alt, const char *part1,
                         const char *part2)
{
    pkg_t *p = (pkg_t *)&p;
    pkg_diag_t d;
    memset(&d, 'x', sizeof(d));
    pkg_err_t e = pkg_open(path, &p, &d);
    if (e != want && e != alt)
        fail_msg("%s: got %d (%s), want %d: %s", path, e, pkg_strerror(e), want,
                 e == PKG_OK ? "" : d.msg);
    assert_null(p);
    assert_true(memchr(d.msg, '\0', sizeof(d.msg)) != NULL);
    if (strchr(d.msg, '\n') || strchr(d.msg, '\r'))
        fail_msg("diag is not one line: '%s'", d.msg);
    if (!strstr(d.msg, path))
        fail_msg("diag '%s' lacks the path", d.msg);
    if (part1 && !strstr(d.msg, part1))
        fail_msg("diag '%s' lacks '%s'", d.msg, part1);
    if (part2 && !strstr(d.msg, part2))
        fail_msg("diag '%s' lacks '%s'", d.msg, part2);
}

static void expect_fail(const char *path, pkg_err_t want, const char *part1, const char *part2)
{
    expect_fail2(path, want, (pkg_err_t)1, part1, part2);
}

static void sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t d[32];
    unsigned int n = 32;
    assert_int_equal(EVP_Digest(data, len, d, &n, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static cJSON *packages_json(void)
{
    size_t len;
    uint8_t *text = zipfab_read_file(NRFUTIL "packages.json", &len);
    assert_non_null(text);
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    assert_non_null(root);
    return root;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        fail_msg("packages.json: %s is not a number", k);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- genuine packages --------------------------------------------------- */

static void test_pkg_genuine_packages_open(void **state)
{
    (void)state;
    cJSON *root = packages_json();
    const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(root, "packages");
    assert_true(cJSON_GetArraySize(pkgs) >= 30);
    const cJSON *pj;
    size_t images_seen = 0;
    cJSON_ArrayForEach(pj, pkgs)
    {
        char path[300];
        snprintf(path, sizeof(path), NRFUTIL "%s", str(pj, "file"));
        pkg_t *p = open_ok(path);
        assert_string_equal(pkg_path(p), path);
        const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(pj, "images");
        assert_int_equal(pkg_image_count(p), (size_t)cJSON_GetArraySize(imgs));
        size_t i = 0;
        const cJSON *ij;
        cJSON_ArrayForEach(ij, imgs)
        {
            const pkg_image_t *im = pkg_image(p, i++);
            const cJSON *init = cJSON_GetObjectItemCaseSensitive(ij, "init");
            assert_non_null(im);
            assert_string_equal(im->manifest_key, str(ij, "manifest_key"));
            assert_string_equal(im->bin_name, str(ij, "bin_file"));
            assert_string_equal(im->dat_name, str(ij, "dat_file"));
            assert_int_equal(im->bin_len, (size_t)num(ij, "bin_size"));
            assert_int_equal(im->dat_len, (size_t)num(ij, "dat_size"));
            char hex[65];
            sha256_hex(im->bin, im->bin_len, hex);
            assert_string_equal(hex, str(ij, "bin_sha256"));
            assert_int_equal(im->init.type, (uint32_t)num(init, "type_value"));
            assert_int_equal(im->init.fw_version, (uint32_t)num(init, "fw_version"));
            assert_int_equal(im->init.hw_version, (uint32_t)num(init, "hw_version"));
            assert_int_equal(im->init.app_size, (uint32_t)num(init, "app_size"));
            assert_int_equal(im->init.sd_size, (uint32_t)num(init, "sd_size"));
            assert_int_equal(im->init.bl_size, (uint32_t)num(init, "bl_size"));
            assert_int_equal(im->init.is_signed,
                             strcmp(str(init, "packet_kind"), "signed_command") == 0);
            const cJSON *meta = cJSON_GetObjectItemCaseSensitive(ij, "manifest_metadata");
            assert_int_equal(im->has_metadata, meta != NULL);
            if (meta) {
                assert_int_equal(im->meta_sd_size, (uint32_t)num(meta, "sd_size"));
                assert_int_equal(im->meta_bl_size, (uint32_t)num(meta, "bl_size"));
            }
            images_seen++;
        }
        assert_null(pkg_image(p, i));
        pkg_close(p);
    }
    assert_true(images_seen >= 34);
    cJSON_Delete(root);
}

static void test_pkg_multi_image_transfer_order(void **state)
{
    (void)state;
    pkg_t *p = open_ok(NRFUTIL "packages/sd_bl_app_signed.zip");
    assert_int_equal(pkg_image_count(p), 2);
    assert_int_equal(pkg_image(p, 0)->kind, PKG_KIND_SOFTDEVICE_BOOTLOADER);
    assert_int_equal(pkg_image(p, 1)->kind, PKG_KIND_APPLICATION);
    assert_int_equal(pkg_image(p, 0)->init.sd_req_count, 2);
    pkg_close(p);
    p = open_ok(NRFUTIL "packages/sd_app_signed.zip");
    assert_int_equal(pkg_image(p, 0)->kind, PKG_KIND_SOFTDEVICE);
    assert_string_equal(pkg_image(p, 0)->bin_name, "softdevice.bin");
    assert_int_equal(pkg_image(p, 1)->kind, PKG_KIND_APPLICATION);
    pkg_close(p);
    pkg_close(NULL);
}

static void test_pkg_tampered_packages(void **state)
{
    (void)state;
    /* These open: the damage is for check.c to find. */
    static const char *const opens[] = {
        "bin_byte_flip.zip",
        "sig_byte_flip.zip",
        "init_fw_version_changed.zip",
        "signature_stripped.zip",
        "bin_truncated.zip",
        "bin_swapped_same_size.zip",
        "bv_ecdsa_sig_flip_resigned.zip",
    };
    for (size_t i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
        char path[300];
        snprintf(path, sizeof(path), NRFUTIL "packages/tampered/%s", opens[i]);
        pkg_close(open_ok(path));
    }
    static const struct {
        const char *file;
        pkg_err_t err;
        const char *part;
    } bad[] = {
        {"dat_truncated.zip", PKG_ERR_INITPKT, "app_s132.dat"},
        {"dat_empty.zip", PKG_ERR_INITPKT, "app_s132.dat"},
        {"manifest_missing_bin.zip", PKG_ERR_MEMBER, "app_missing.bin"},
        {"manifest_absent.zip", PKG_ERR_MANIFEST, "manifest.json"},
        {"manifest_bad_json.zip", PKG_ERR_MANIFEST, "manifest.json"},
        {"zip_slip_bin.zip", PKG_ERR_MEMBER, "../app_s132.bin"},
        {"zip_slip_extra_entry.zip", PKG_ERR_MEMBER, "../../evil.txt"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[300];
        snprintf(path, sizeof(path), NRFUTIL "packages/tampered/%s", bad[i].file);
        expect_fail(path, bad[i].err, bad[i].part, NULL);
    }
}

/* ---- the file itself ---------------------------------------------------- */

static void test_pkg_missing_file(void **state)
{
    fx_t *f = *state;
    expect_fail(zipfab_path(f->dir, "nope.zip"), PKG_ERR_IO, NULL, NULL);
}

static void test_pkg_directory_path(void **state)
{
    fx_t *f = *state;
    const char *p = zipfab_path(f->dir, "dir.zip");
    assert_int_equal(mkdir(p, 0700), 0);
    expect_fail(p, PKG_ERR_IO, NULL, NULL);
}

static void test_pkg_empty_file(void **state)
{
    fx_t *f = *state;
    const char *p = zipfab_path(f->dir, "empty.zip");
    assert_int_equal(zipfab_write_file(p, "", 0), 0);
    expect_fail(p, PKG_ERR_ZIP, NULL, NULL);
}

static void test_pkg_not_a_zip(void **state)
{
    fx_t *f = *state;
    const char *p = zipfab_path(f->dir, "text.zip");
    const char *text = "This is a text file, not a DFU package.\n";
    assert_int_equal(zipfab_write_file(p, text, strlen(text)), 0);
    expect_fail(p, PKG_ERR_ZIP, "not a zip", NULL);
    /* The first bytes of a zip and nothing else. */
    size_t len;
    uint8_t *z = zipfab_read_file(APP_SIGNED, &len);
    assert_non_null(z);
    assert_int_equal(zipfab_write_file(p, z, 100), 0);
    expect_fail(p, PKG_ERR_ZIP, NULL, NULL);
    /* Everything but the end of central directory record. */
    assert_int_equal(zipfab_write_file(p, z, len - 22), 0);
    expect_fail(p, PKG_ERR_ZIP, NULL, NULL);
    free(z);
}

/* ---- manifest ----------------------------------------------------------- */

static void test_pkg_zip_without_manifest(void **state)
{
    fx_t *f = *state;
    zipfab_remove(&f->set, "manifest.json");
    expect_fail(save(f, "nomanifest.zip"), PKG_ERR_MANIFEST, "manifest.json", NULL);
    /* A manifest in a subdirectory does not count. */
    zipfab_put_str(&f->set, "sub/manifest.json", "{}");
    expect_fail(save(f, "submanifest.zip"), PKG_ERR_MANIFEST, "manifest.json", NULL);
}

static void test_pkg_manifest_not_json(void **state)
{
    fx_t *f = *state;
    zipfab_put_str(&f->set, "manifest.json", "{\"manifest\": {\"application\": ");
    expect_fail(save(f, "badjson.zip"), PKG_ERR_MANIFEST, "manifest.json", "JSON");
    zipfab_put(&f->set, "manifest.json", "", 0);
    expect_fail(save(f, "emptyjson.zip"), PKG_ERR_MANIFEST, "manifest.json", NULL);
}

static void test_pkg_manifest_wrong_shape(void **state)
{
    fx_t *f = *state;
    zipfab_put_str(&f->set, "manifest.json",
                   "{\"manifest\": {\"application\": {\"bin_file\": 5, \"dat_file\": \"a\"}}}");
    expect_fail(save(f, "shape.zip"), PKG_ERR_MANIFEST, "manifest.json", "application.bin_file");
    zipfab_put_str(&f->set, "manifest.json",
                   "{\"manifest\": {\"application\": {\"bin_file\": \"app_s132.bin\", "
                   "\"dat_file\": \"app_s132.dat\", \"init_packet_data\": {}}}}");
    expect_fail(save(f, "legacy.zip"), PKG_ERR_LEGACY, "manifest.json", "init_packet_data");
    zipfab_put_str(&f->set, "manifest.json",
                   "{\"manifest\": {\"application\": {\"bin_file\": \"../app_s132.bin\", "
                   "\"dat_file\": \"app_s132.dat\"}}}");
    expect_fail(save(f, "unsafe.zip"), PKG_ERR_MANIFEST, "manifest.json", "../app_s132.bin");
}

static void test_pkg_manifest_too_large(void **state)
{
    fx_t *f = *state;
    size_t n = PKG_MANIFEST_MAX + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    const char *head = "{\"manifest\": {\"application\": {\"bin_file\": \"app_s132.bin\", "
                       "\"dat_file\": \"app_s132.dat\"}}, \"pad\": \"";
    memset(big, 'p', n);
    memcpy(big, head, strlen(head));
    memcpy(big + n - 2, "\"}", 2);
    big[n] = 0;
    zipfab_put(&f->set, "manifest.json", big, n);
    expect_fail(save(f, "bigmanifest.zip"), PKG_ERR_MEMBER, "manifest.json", NULL);
    /* The same at exactly the limit opens. */
    memcpy(big + n - 3, "\"}", 2);
    zipfab_put(&f->set, "manifest.json", big, n - 1);
    pkg_close(open_ok(save(f, "maxmanifest.zip")));
    free(big);
}

static void test_pkg_manifest_names_missing_member(void **state)
{
    fx_t *f = *state;
    zipfab_remove(&f->set, "app_s132.bin");
    expect_fail(save(f, "nobin.zip"), PKG_ERR_MEMBER, "app_s132.bin", NULL);
    assert_int_equal(zipfab_load(APP_SIGNED, &f->set), 0);
    zipfab_remove(&f->set, "app_s132.dat");
    expect_fail(save(f, "nodat.zip"), PKG_ERR_MEMBER, "app_s132.dat", NULL);
}

/* ---- member names ------------------------------------------------------- */

static void test_pkg_member_dotdot_anywhere(void **state)
{
    fx_t *f = *state;
    static const char *const evil[] = {"../evil", "a/../../evil", "x/..", "..\\evil.txt", ".."};
    for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
        assert_int_equal(zipfab_load(APP_SIGNED, &f->set), 0);
        zipfab_put_str(&f->set, evil[i], "owned");
        expect_fail(save(f, "slip.zip"), PKG_ERR_MEMBER, evil[i], NULL);
    }
    /* Even as the first member, before manifest.json. */
    zipfab_set_t s = {0};
    zipfab_put_str(&s, "../evil", "owned");
    for (size_t i = 0; i < f->set.count; i++)
        zipfab_put(&s, f->set.m[i].name, f->set.m[i].data, f->set.m[i].len);
    const char *p = zipfab_path(f->dir, "slipfirst.zip");
    assert_int_equal(zipfab_save(&s, p), 0);
    zipfab_free(&s);
    expect_fail(p, PKG_ERR_MEMBER, "../evil", NULL);
}

static void test_pkg_member_absolute(void **state)
{
    fx_t *f = *state;
    static const char *const abs_names[] = {"/abs.bin", "/etc/passwd", "C:evil", "\\abs.bin"};
    for (size_t i = 0; i < sizeof(abs_names) / sizeof(abs_names[0]); i++) {
        assert_int_equal(zipfab_load(APP_SIGNED, &f->set), 0);
        zipfab_put_str(&f->set, abs_names[i], "owned");
        expect_fail(save(f, "abs.zip"), PKG_ERR_MEMBER, abs_names[i], NULL);
    }
}

static void test_pkg_member_control_chars_one_line_diag(void **state)
{
    fx_t *f = *state;
    zipfab_put_str(&f->set, "evil\nname.txt", "x");
    expect_fail(save(f, "ctl.zip"), PKG_ERR_MEMBER, "evil?name.txt", NULL);
}

static void test_pkg_duplicate_member_names(void **state)
{
    fx_t *f = *state;
    /* libzip refuses duplicates, so write two names and rename one in the headers. */
    zipfab_put_str(&f->set, "app_s132.biX", "a second, different body");
    const char *p = save(f, "dup.zip");
    assert_int_equal(zipfab_patch_name(p, "app_s132.biX", "app_s132.bin"), 0);
    /* libzip itself refuses such an archive ("File already exists"). */
    expect_fail2(p, PKG_ERR_MEMBER, PKG_ERR_ZIP, NULL, NULL);
}

static void test_pkg_too_many_members(void **state)
{
    fx_t *f = *state;
    for (int i = 0; f->set.count < 65; i++) {
        char name[32];
        snprintf(name, sizeof(name), "extra%02d.txt", i);
        zipfab_put_str(&f->set, name, "x");
    }
    expect_fail(save(f, "many.zip"), PKG_ERR_MEMBER, "65", NULL);
    zipfab_remove(&f->set, "extra00.txt");
    pkg_close(open_ok(save(f, "64.zip")));
}

/* ---- member sizes ------------------------------------------------------- */

static void test_pkg_member_over_1mib(void **state)
{
    fx_t *f = *state;
    size_t n = PKG_MEMBER_MAX + 1;
    uint8_t *big = calloc(1, n); /* deflates to about 1 KiB */
    assert_non_null(big);
    zipfab_put(&f->set, "app_s132.bin", big, n);
    const char *p = save(f, "big.zip");
    size_t zl;
    free(zipfab_read_file(p, &zl));
    assert_true(zl < 64 * 1024);
    expect_fail(p, PKG_ERR_MEMBER, "app_s132.bin", "limit");
    /* Exactly the limit is accepted (the size check against app_size is check.c's). */
    zipfab_put(&f->set, "app_s132.bin", big, n - 1);
    pkg_t *pkg = open_ok(save(f, "max.zip"));
    assert_int_equal(pkg_image(pkg, 0)->bin_len, PKG_MEMBER_MAX);
    pkg_close(pkg);
    free(big);
}

static void test_pkg_member_declared_size_lies(void **state)
{
    fx_t *f = *state;
    static const struct {
        const char *member;
        int64_t delta;
        int local, central;
        pkg_err_t err;
        const char *part; /* in the diag besides the member name */
    } cases[] = {
        /* Both headers lie alike: only inflating shows it. */
        {"app_s132.bin", -1, 1, 1, PKG_ERR_MEMBER, "more than its declared 50015"},
        {"app_s132.bin", -25000, 1, 1, PKG_ERR_MEMBER, "more than its declared 25016"},
        {"app_s132.bin", -50016, 1, 1, PKG_ERR_MEMBER, "more than its declared 0"},
        {"app_s132.bin", +1, 1, 1, PKG_ERR_MEMBER, "fewer than its declared 50017"},
        {"app_s132.bin", +4096, 1, 1, PKG_ERR_MEMBER, "fewer than its declared 54112"},
        {"app_s132.dat", -1, 1, 1, PKG_ERR_MEMBER, "more than its declared 140"},
        {"app_s132.dat", +1, 1, 1, PKG_ERR_MEMBER, "fewer than its declared 142"},
        {"manifest.json", -1, 1, 1, PKG_ERR_MEMBER, "more than"},
        {"manifest.json", +7, 1, 1, PKG_ERR_MEMBER, "fewer than"},
        /* Central directory and local header disagree: libzip refuses the archive. */
        {"app_s132.bin", -100, 0, 1, PKG_ERR_ZIP, "inconsistent"},
        {"app_s132.bin", +100, 0, 1, PKG_ERR_ZIP, "inconsistent"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int store = 0; store <= 1; store++) {
            assert_int_equal(zipfab_load(APP_SIGNED, &f->set), 0);
            for (size_t k = 0; k < f->set.count; k++)
                f->set.m[k].store = store;
            const zipfab_member_t *m = zipfab_find(&f->set, cases[i].member);
            uint32_t lie = (uint32_t)((int64_t)m->len + cases[i].delta);
            const char *p = save(f, "lies.zip");
            assert_int_equal(
                zipfab_patch_usize(p, cases[i].member, lie, cases[i].local, cases[i].central), 0);
            expect_fail(p, cases[i].err, cases[i].err == PKG_ERR_MEMBER ? cases[i].member : NULL,
                        cases[i].part);
        }
    }
    /* A declared size over the limit is refused before inflating anything. */
    assert_int_equal(zipfab_load(APP_SIGNED, &f->set), 0);
    const char *p = save(f, "lies_big.zip");
    assert_int_equal(zipfab_patch_usize(p, "app_s132.bin", 0x7FFFFFFFu, 1, 1), 0);
    expect_fail(p, PKG_ERR_MEMBER, "app_s132.bin", "2147483647");
}

/* ---- init packets ------------------------------------------------------- */

static void test_pkg_dat_truncated(void **state)
{
    fx_t *f = *state;
    zipfab_member_t *dat = zipfab_find(&f->set, "app_s132.dat");
    assert_int_equal(dat->len, 141);
    dat->len = 125;
    expect_fail(save(f, "dat125.zip"), PKG_ERR_INITPKT, "app_s132.dat", NULL);
    dat->len = 1;
    expect_fail(save(f, "dat1.zip"), PKG_ERR_INITPKT, "app_s132.dat", NULL);
}

static void test_pkg_dat_empty(void **state)
{
    fx_t *f = *state;
    zipfab_put(&f->set, "app_s132.dat", "", 0);
    expect_fail(save(f, "dat0.zip"), PKG_ERR_INITPKT, "app_s132.dat", "empty");
}

static void test_pkg_dat_not_a_packet(void **state)
{
    fx_t *f = *state;
    zipfab_put_str(&f->set, "app_s132.dat", "this is not a protobuf");
    expect_fail(save(f, "dattext.zip"), PKG_ERR_INITPKT, "app_s132.dat", NULL);
    /* Valid protobuf, but a Command without init: the field is named. */
    static const uint8_t no_init[] = {0x0a, 0x02, 0x08, 0x01};
    zipfab_put(&f->set, "app_s132.dat", no_init, sizeof(no_init));
    expect_fail(save(f, "datnoinit.zip"), PKG_ERR_INITPKT, "app_s132.dat", "command.init");
    /* Over 512 bytes. */
    uint8_t big[600];
    memset(big, 0, sizeof(big));
    zipfab_put(&f->set, "app_s132.dat", big, sizeof(big));
    expect_fail(save(f, "datbig.zip"), PKG_ERR_INITPKT, "app_s132.dat", "512");
}

static void test_pkg_strerror_distinct(void **state)
{
    (void)state;
    const pkg_err_t all[] = {PKG_OK,           PKG_ERR_IO,     PKG_ERR_ZIP,     PKG_ERR_MEMBER,
                             PKG_ERR_MANIFEST, PKG_ERR_LEGACY, PKG_ERR_INITPKT, PKG_ERR_NOMEM};
    for (size_t i = 0; i < 8; i++)
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(pkg_strerror(all[i]), pkg_strerror(all[k]));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pkg_genuine_packages_open),
        T(test_pkg_multi_image_transfer_order),
        T(test_pkg_tampered_packages),
        T(test_pkg_missing_file),
        T(test_pkg_directory_path),
        T(test_pkg_empty_file),
        T(test_pkg_not_a_zip),
        T(test_pkg_zip_without_manifest),
        T(test_pkg_manifest_not_json),
        T(test_pkg_manifest_wrong_shape),
        T(test_pkg_manifest_too_large),
        T(test_pkg_manifest_names_missing_member),
        T(test_pkg_member_dotdot_anywhere),
        T(test_pkg_member_absolute),
        T(test_pkg_member_control_chars_one_line_diag),
        T(test_pkg_duplicate_member_names),
        T(test_pkg_too_many_members),
        T(test_pkg_member_over_1mib),
        T(test_pkg_member_declared_size_lies),
        T(test_pkg_dat_truncated),
        T(test_pkg_dat_empty),
        T(test_pkg_dat_not_a_packet),
        T(test_pkg_strerror_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
