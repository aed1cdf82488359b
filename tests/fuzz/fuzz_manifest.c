/*
 * fuzz_manifest.c - manifest_parse() (cli/manifest.h) on arbitrary text, and
 * manifest_name_safe() against a reference reading of its contract.
 *
 * Input: [cap][JSON text...]; `cap` (0..255) sizes the `why` buffer, which is
 * a heap block of exactly that size, so a message written past it is an ASan
 * report. The text is an exact-size heap copy without a NUL, as a zip member
 * arrives.
 *
 * Invariants:
 *  - success: 1 <= count <= 4, kinds strictly increasing (transfer order:
 *    SD+BL, SD, BL, app), every bin/dat name NUL-terminated in its array and
 *    manifest_name_safe(), metadata only on softdevice_bootloader, `why` empty;
 *  - failure: a known error code, the output zeroed, `why` one non-empty
 *    line without control characters (when cap > 1);
 *  - manifest_name_safe(s) is true exactly when s is non-empty, shorter than
 *    MANIFEST_NAME_MAX, not absolute ('/', '\\', drive letter), has no '..'
 *    component and no control character.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "cli/manifest.h"
#include "fuzz_common.h"

static const manifest_t zero_manifest;

/* manifest.h's contract, written independently of manifest.c. */
static bool reference_safe(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MANIFEST_NAME_MAX || s[0] == '/' || s[0] == '\\' || (n >= 2 && s[1] == ':'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20)
            return false;
        bool starts = i == 0 || s[i - 1] == '/' || s[i - 1] == '\\';
        bool ends = i + 2 == n || s[i + 2] == '/' || s[i + 2] == '\\';
        if (starts && i + 1 < n && s[i] == '.' && s[i + 1] == '.' && ends)
            return false;
    }
    return true;
}

static void check_one_line(const char *why, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = strnlen(why, cap);
    FUZZ_CHECK(n < cap, "why is not NUL-terminated within its %zu bytes", cap);
    FUZZ_CHECK(cap == 1 || n > 0, "failure without a reason");
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)why[i] >= 0x20 && why[i] != 0x7f,
                   "why has control character 0x%02x at %zu: %s", (unsigned char)why[i], i, why);
}

static void check_name(const char *name, const char *what)
{
    FUZZ_CHECK(memchr(name, 0, MANIFEST_NAME_MAX) != NULL, "%s is not NUL-terminated", what);
    FUZZ_CHECK(manifest_name_safe(name), "accepted unsafe %s '%s'", what, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    size_t cap = fuzz_u8(&in);
    char *text = (char *)fuzz_dup(in.p, in.left);
    char *why = malloc(cap ? cap : 1);
    FUZZ_CHECK(why, "out of memory");
    manifest_t m;
    manifest_err_t e = manifest_parse(text, in.left, &m, cap ? why : NULL, cap);

    if (e == MANIFEST_OK) {
        FUZZ_CHECK(m.count >= 1 && m.count <= MANIFEST_IMAGES_MAX, "%zu images", m.count);
        FUZZ_CHECK(cap == 0 || why[0] == '\0', "success with a reason: %s", why);
        for (size_t i = 0; i < m.count; i++) {
            const manifest_image_t *img = &m.image[i];
            FUZZ_CHECK(img->kind <= PKG_KIND_APPLICATION, "image %zu: kind %d", i, (int)img->kind);
            FUZZ_CHECK(i == 0 || img->kind > m.image[i - 1].kind,
                       "image %zu (%s) is not in transfer order", i, manifest_kind_key(img->kind));
            check_name(img->bin_file, "bin_file");
            check_name(img->dat_file, "dat_file");
            FUZZ_CHECK(!img->has_metadata || img->kind == PKG_KIND_SOFTDEVICE_BOOTLOADER,
                       "metadata on %s", manifest_kind_key(img->kind));
        }
    } else {
        FUZZ_CHECK(e >= MANIFEST_ERR_NAME && e <= MANIFEST_ERR_JSON, "error %d", (int)e);
        FUZZ_CHECK(memcmp(&m, &zero_manifest, sizeof(m)) == 0, "failure left images behind");
        check_one_line(why, cap);
    }

    /* The same bytes as one member name: the safety predicate against its contract. */
    char name[MANIFEST_NAME_MAX + 8];
    size_t n = in.left < sizeof(name) - 1 ? in.left : sizeof(name) - 1;
    memcpy(name, text, n);
    name[n] = '\0';
    FUZZ_CHECK(manifest_name_safe(name) == reference_safe(name), "manifest_name_safe(\"%s\") = %d",
               name, manifest_name_safe(name));

    free(why);
    free(text);
    return 0;
}
