#define _POSIX_C_SOURCE 200809L
#include "cli/pkg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zip.h>

/* nrfutil packages hold at most 7 members; anything far beyond is hostile. */
#define PKG_ENTRIES_MAX 64

struct pkg {
    char *path;
    size_t count;
    pkg_image_t image[MANIFEST_IMAGES_MAX];
};

/* State of one pkg_open() call, so helpers can report with the path. */
typedef struct {
    const char *path;
    zip_t *zip;
    pkg_diag_t *diag;
} opener_t;

__attribute__((format(printf, 3, 4))) static pkg_err_t fail(opener_t *o, pkg_err_t err,
                                                            const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(o->diag->msg, sizeof(o->diag->msg), "%s: %s", o->path, detail);
    for (char *c = o->diag->msg; *c; c++) /* member names may hold control characters */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return err;
}

static pkg_err_t open_zip(opener_t *o)
{
    struct stat st;
    if (stat(o->path, &st) != 0)
        return fail(o, PKG_ERR_IO, "cannot open: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(o, PKG_ERR_IO, "not a regular file");
    if (st.st_size == 0)
        return fail(o, PKG_ERR_ZIP, "empty file, not a zip archive");
    int zerr = 0;
    o->zip = zip_open(o->path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (o->zip)
        return PKG_OK;
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    pkg_err_t e = zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ ? PKG_ERR_IO : PKG_ERR_ZIP;
    e = fail(o, e, "%s", zerr == ZIP_ER_NOZIP ? "not a zip archive" : zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return e;
}

/* Every member is checked, not only the ones the manifest names: an
 * extractor run later on the same zip must not be able to escape either. */
static pkg_err_t check_entries(opener_t *o)
{
    zip_int64_t n = zip_get_num_entries(o->zip, 0);
    if (n > PKG_ENTRIES_MAX)
        return fail(o, PKG_ERR_MEMBER, "%lld members, more than %d", (long long)n, PKG_ENTRIES_MAX);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(o->zip, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!name)
            return fail(o, PKG_ERR_ZIP, "member #%lld: unreadable name", (long long)i);
        if (!manifest_name_safe(name))
            return fail(o, PKG_ERR_MEMBER, "member '%.64s': unsafe path (absolute or '..')", name);
        if (zip_name_locate(o->zip, name, ZIP_FL_ENC_RAW) != i)
            return fail(o, PKG_ERR_MEMBER, "member '%.64s': appears twice", name);
    }
    return PKG_OK;
}

/* Reads exactly the declared size, and proves the member inflates to no more. */
static pkg_err_t read_body(opener_t *o, zip_file_t *zf, const char *name, uint8_t *buf, size_t size)
{
    zip_int64_t got = size ? zip_fread(zf, buf, size) : 0;
    uint8_t extra;
    zip_int64_t more = got == (zip_int64_t)size ? zip_fread(zf, &extra, 1) : 0;
    if (got < 0 || more < 0)
        return fail(o, PKG_ERR_ZIP, "member '%s': %s", name, zip_file_strerror(zf));
    if (got != (zip_int64_t)size || more != 0)
        return fail(o, PKG_ERR_MEMBER, "member '%s': inflates to %s than its declared %zu bytes",
                    name, more ? "more" : "fewer", size);
    return PKG_OK;
}

static pkg_err_t read_member(opener_t *o, const char *name, size_t max, uint8_t **out,
                             size_t *out_len)
{
    zip_stat_t st;
    zip_int64_t idx = zip_name_locate(o->zip, name, ZIP_FL_ENC_RAW);
    if (idx < 0)
        return fail(o, PKG_ERR_MEMBER, "member '%s': named by manifest.json but not in the zip",
                    name);
    if (zip_stat_index(o->zip, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return fail(o, PKG_ERR_ZIP, "member '%s': %s", name, zip_strerror(o->zip));
    if (st.size > max)
        return fail(o, PKG_ERR_MEMBER, "member '%s': declared size %llu exceeds the %zu-byte limit",
                    name, (unsigned long long)st.size, max);
    zip_file_t *zf = zip_fopen_index(o->zip, (zip_uint64_t)idx, 0);
    if (!zf)
        return fail(o, PKG_ERR_ZIP, "member '%s': %s", name, zip_strerror(o->zip));
    uint8_t *buf = malloc((size_t)st.size + 1); /* +1: a NUL for text members */
    pkg_err_t e = buf ? read_body(o, zf, name, buf, (size_t)st.size) : PKG_ERR_NOMEM;
    zip_fclose(zf);
    if (e == PKG_ERR_NOMEM)
        fail(o, e, "member '%s': out of memory", name);
    if (e != PKG_OK) {
        free(buf);
        return e;
    }
    buf[st.size] = 0;
    *out = buf;
    *out_len = (size_t)st.size;
    return PKG_OK;
}

static pkg_err_t load_manifest(opener_t *o, manifest_t *m)
{
    if (zip_name_locate(o->zip, "manifest.json", ZIP_FL_ENC_RAW) < 0)
        return fail(o, PKG_ERR_MANIFEST, "manifest.json: not in the zip (not an nrfutil package)");
    uint8_t *text;
    size_t len;
    pkg_err_t e = read_member(o, "manifest.json", PKG_MANIFEST_MAX, &text, &len);
    if (e)
        return e;
    char why[200];
    manifest_err_t me = manifest_parse((const char *)text, len, m, why, sizeof(why));
    free(text);
    if (me == MANIFEST_ERR_LEGACY)
        return fail(o, PKG_ERR_LEGACY, "manifest.json: %s", why);
    return me ? fail(o, PKG_ERR_MANIFEST, "manifest.json: %s", why) : PKG_OK;
}

static pkg_err_t decode_dat(opener_t *o, pkg_image_t *img)
{
    const char *field;
    initpkt_err_t e = initpkt_decode(img->dat, img->dat_len, &img->init, &field);
    if (e == INITPKT_OK)
        return PKG_OK;
    if (!field || strcmp(field, "packet") == 0)
        return fail(o, PKG_ERR_INITPKT, "member '%s': %s", img->dat_name, initpkt_strerror(e));
    return fail(o, PKG_ERR_INITPKT, "member '%s': %s: %s", img->dat_name, field,
                initpkt_strerror(e));
}

static pkg_err_t load_image(opener_t *o, const manifest_image_t *mi, pkg_image_t *img)
{
    img->kind = mi->kind;
    img->manifest_key = manifest_kind_key(mi->kind);
    img->has_metadata = mi->has_metadata;
    img->meta_sd_size = mi->sd_size;
    img->meta_bl_size = mi->bl_size;
    img->bin_name = strdup(mi->bin_file);
    img->dat_name = strdup(mi->dat_file);
    if (!img->bin_name || !img->dat_name)
        return fail(o, PKG_ERR_NOMEM, "out of memory");
    /* Read the .dat first: a bad init packet is reported before a large .bin is inflated. */
    pkg_err_t e = read_member(o, mi->dat_file, PKG_MEMBER_MAX, &img->dat, &img->dat_len);
    if (e == PKG_OK)
        e = decode_dat(o, img);
    if (e == PKG_OK)
        e = read_member(o, mi->bin_file, PKG_MEMBER_MAX, &img->bin, &img->bin_len);
    return e;
}

static pkg_err_t load_all(opener_t *o, pkg_t *pkg)
{
    static const manifest_t empty;
    manifest_t m = empty;
    pkg_err_t e = open_zip(o);
    if (e == PKG_OK)
        e = check_entries(o);
    if (e == PKG_OK)
        e = load_manifest(o, &m);
    for (size_t i = 0; e == PKG_OK && i < m.count; i++) {
        e = load_image(o, &m.image[i], &pkg->image[i]);
        pkg->count = i + 1;
    }
    return e;
}

pkg_err_t pkg_open(const char *path, pkg_t **out, pkg_diag_t *diag)
{
    *out = NULL;
    diag->msg[0] = '\0';
    opener_t o = {path, NULL, diag};
    pkg_t *pkg = calloc(1, sizeof(*pkg));
    if (!pkg || !(pkg->path = strdup(path))) {
        free(pkg);
        return fail(&o, PKG_ERR_NOMEM, "out of memory");
    }
    pkg_err_t e = load_all(&o, pkg);
    if (o.zip)
        zip_discard(o.zip);
    if (e != PKG_OK) {
        pkg_close(pkg);
        return e;
    }
    *out = pkg;
    return PKG_OK;
}

void pkg_close(pkg_t *pkg)
{
    if (!pkg)
        return;
    for (size_t i = 0; i < pkg->count; i++) {
        free(pkg->image[i].bin_name);
        free(pkg->image[i].dat_name);
        free(pkg->image[i].bin);
        free(pkg->image[i].dat);
    }
    free(pkg->path);
    free(pkg);
}

const char *pkg_path(const pkg_t *pkg)
{
    return pkg->path;
}

size_t pkg_image_count(const pkg_t *pkg)
{
    return pkg->count;
}

const pkg_image_t *pkg_image(const pkg_t *pkg, size_t i)
{
    return i < pkg->count ? &pkg->image[i] : NULL;
}

const char *pkg_strerror(pkg_err_t err)
{
    switch (err) {
    case PKG_OK:
        return "ok";
    case PKG_ERR_IO:
        return "cannot read package file";
    case PKG_ERR_ZIP:
        return "not a valid zip archive";
    case PKG_ERR_MEMBER:
        return "bad zip member";
    case PKG_ERR_MANIFEST:
        return "bad manifest.json";
    case PKG_ERR_LEGACY:
        return "legacy package format";
    case PKG_ERR_INITPKT:
        return "bad init packet";
    case PKG_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown package error";
}
