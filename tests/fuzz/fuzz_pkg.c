/*
 * fuzz_pkg.c - pkg_open() (cli/pkg.h) on an arbitrary file: zip parsing via
 * libzip, member checks, manifest, init packets. The input is written to one
 * temporary file per process (pkg_open takes a path, as `dfuart inspect` does).
 *
 * Invariants: never crash or leak (LeakSanitizer runs at exit and on every
 * -runs batch); on failure *out is NULL and the message is one non-empty line
 * naming the file; on success the message is empty and every image has safe
 * member names, a decoded init packet and its bytes, in transfer order.
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "cli/pkg.h"
#include "fuzz_common.h"

static char path[256];

static void remove_tmp(void)
{
    if (path[0])
        unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/fuzz_pkg.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0, "cannot create %s", path);
    close(fd);
    atexit(remove_tmp);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f && fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write %s", path);

    pkg_t *pkg = (pkg_t *)&path; /* poison: pkg_open must set *out on every path */
    pkg_diag_t diag;
    memset(&diag, 'x', sizeof(diag));
    pkg_err_t e = pkg_open(path, &pkg, &diag);
    size_t n = strnlen(diag.msg, sizeof(diag.msg));
    FUZZ_CHECK(n < sizeof(diag.msg), "message not NUL-terminated");
    if (e != PKG_OK) {
        FUZZ_CHECK(pkg == NULL, "failure (%d) but *out set", (int)e);
        FUZZ_CHECK(e >= PKG_ERR_NOMEM && e <= PKG_ERR_IO, "error %d", (int)e);
        FUZZ_CHECK(n > 0 && strncmp(diag.msg, path, strlen(path)) == 0,
                   "message does not name the file: %s", diag.msg);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK((unsigned char)diag.msg[i] >= 0x20 && diag.msg[i] != 0x7f,
                       "control character 0x%02x in message: %s", (unsigned char)diag.msg[i],
                       diag.msg);
        return 0;
    }
    FUZZ_CHECK(pkg != NULL && n == 0, "success with message '%s'", diag.msg);
    size_t count = pkg_image_count(pkg);
    FUZZ_CHECK(count >= 1 && count <= MANIFEST_IMAGES_MAX, "%zu images", count);
    for (size_t i = 0; i < count; i++) {
        const pkg_image_t *img = pkg_image(pkg, i);
        FUZZ_CHECK(img && manifest_name_safe(img->bin_name) && manifest_name_safe(img->dat_name),
                   "image %zu: unsafe member name", i);
        FUZZ_CHECK(img->init.has_init && img->dat && img->dat_len > 0 &&
                       img->dat_len <= INITPKT_MAX_SIZE,
                   "image %zu: init packet not decoded", i);
        FUZZ_CHECK(img->bin && img->bin_len <= PKG_MEMBER_MAX, "image %zu: no image bytes", i);
        FUZZ_CHECK(i == 0 || img->kind > pkg_image(pkg, i - 1)->kind, "image %zu out of order", i);
    }
    FUZZ_CHECK(pkg_image(pkg, count) == NULL, "image past the count");
    pkg_close(pkg);
    return 0;
}
