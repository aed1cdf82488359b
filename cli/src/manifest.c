#include "cli/manifest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char *const kind_keys[] = {
    [PKG_KIND_SOFTDEVICE_BOOTLOADER] = "softdevice_bootloader",
    [PKG_KIND_SOFTDEVICE] = "softdevice",
    [PKG_KIND_BOOTLOADER] = "bootloader",
    [PKG_KIND_APPLICATION] = "application",
};
#define KIND_COUNT (sizeof(kind_keys) / sizeof(kind_keys[0]))

const char *manifest_kind_key(pkg_kind_t kind)
{
    return (size_t)kind < KIND_COUNT ? kind_keys[kind] : "?";
}

__attribute__((format(printf, 4, 5))) static manifest_err_t fail(manifest_err_t err, char *why,
                                                                 size_t cap, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
        for (char *c = why; *c; c++) /* names may hold control characters: keep one line */
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
    }
    return err;
}

static bool is_dotdot(const char *start, size_t n)
{
    return n == 2 && start[0] == '.' && start[1] == '.';
}

bool manifest_name_safe(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= MANIFEST_NAME_MAX || name[0] == '/' || name[0] == '\\')
        return false;
    if (len >= 2 && name[1] == ':') /* "C:evil" is absolute on Windows */
        return false;
    const char *seg = name;
    for (const char *p = name;; p++) {
        if (*p && (unsigned char)*p < 0x20)
            return false;
        if (*p == '/' || *p == '\\' || *p == '\0') {
            if (is_dotdot(seg, (size_t)(p - seg)))
                return false;
            if (!*p)
                return true;
            seg = p + 1;
        }
    }
}

static manifest_err_t get_name(const cJSON *img, const char *kind, const char *field, char *dst,
                               char *why, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(img, field);
    if (!v)
        return fail(MANIFEST_ERR_SHAPE, why, cap, "%s.%s: missing", kind, field);
    if (!cJSON_IsString(v))
        return fail(MANIFEST_ERR_SHAPE, why, cap, "%s.%s: not a string", kind, field);
    if (!manifest_name_safe(v->valuestring))
        return fail(MANIFEST_ERR_NAME, why, cap, "%s.%s: unsafe member name '%.64s'", kind, field,
                    v->valuestring);
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return MANIFEST_OK;
}

static manifest_err_t get_u32(const cJSON *obj, const char *path, const char *field, uint32_t *dst,
                              char *why, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return fail(MANIFEST_ERR_SHAPE, why, cap, "%s.%s: missing", path, field);
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    if (d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d)
        return fail(MANIFEST_ERR_SHAPE, why, cap, "%s.%s: not an unsigned 32-bit integer", path,
                    field);
    *dst = (uint32_t)d;
    return MANIFEST_OK;
}

static manifest_err_t parse_metadata(const cJSON *img, manifest_image_t *out, char *why, size_t cap)
{
    const char *path = "softdevice_bootloader.info_read_only_metadata";
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(img, "info_read_only_metadata");
    if (!meta)
        return fail(MANIFEST_ERR_SHAPE, why, cap, "%s: missing", path);
    if (!cJSON_IsObject(meta))
        return fail(MANIFEST_ERR_SHAPE, why, cap, "%s: not an object", path);
    manifest_err_t e = get_u32(meta, path, "sd_size", &out->sd_size, why, cap);
    if (e == MANIFEST_OK)
        e = get_u32(meta, path, "bl_size", &out->bl_size, why, cap);
    out->has_metadata = (e == MANIFEST_OK);
    return e;
}

static manifest_err_t parse_image(const cJSON *img, pkg_kind_t kind, manifest_image_t *out,
                                  char *why, size_t cap)
{
    const char *key = kind_keys[kind];
    if (!cJSON_IsObject(img))
        return fail(MANIFEST_ERR_SHAPE, why, cap, "%s: not an object", key);
    if (cJSON_GetObjectItemCaseSensitive(img, "init_packet_data"))
        return fail(MANIFEST_ERR_LEGACY, why, cap,
                    "%s.init_packet_data: legacy (SDK <= 11) package format is not supported", key);
    memset(out, 0, sizeof(*out));
    out->kind = kind;
    manifest_err_t e = get_name(img, key, "bin_file", out->bin_file, why, cap);
    if (e == MANIFEST_OK)
        e = get_name(img, key, "dat_file", out->dat_file, why, cap);
    if (e == MANIFEST_OK && kind == PKG_KIND_SOFTDEVICE_BOOTLOADER)
        e = parse_metadata(img, out, why, cap);
    return e;
}

static manifest_err_t check_keys(const cJSON *m, char *why, size_t cap)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, m)
    {
        if (strcmp(item->string, "dfu_version") == 0)
            return fail(MANIFEST_ERR_LEGACY, why, cap,
                        "dfu_version: legacy (SDK <= 11) package format is not supported");
        size_t k = 0;
        while (k < KIND_COUNT && strcmp(item->string, kind_keys[k]) != 0)
            k++;
        if (k == KIND_COUNT)
            return fail(MANIFEST_ERR_SHAPE, why, cap, "%.64s: unknown image kind", item->string);
        if (cJSON_GetObjectItemCaseSensitive(m, item->string) != item)
            return fail(MANIFEST_ERR_SHAPE, why, cap, "%s: appears twice", item->string);
    }
    return MANIFEST_OK;
}

static manifest_err_t parse_root(const cJSON *root, manifest_t *out, char *why, size_t cap)
{
    const cJSON *m =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "manifest") : NULL;
    if (!cJSON_IsObject(m))
        return fail(MANIFEST_ERR_SHAPE, why, cap, "manifest: missing or not an object");
    manifest_err_t e = check_keys(m, why, cap);
    for (size_t k = 0; e == MANIFEST_OK && k < KIND_COUNT; k++) {
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(m, kind_keys[k]);
        if (img)
            e = parse_image(img, (pkg_kind_t)k, &out->image[out->count++], why, cap);
    }
    if (e == MANIFEST_OK && out->count == 0)
        return fail(MANIFEST_ERR_SHAPE, why, cap, "manifest: names no image");
    return e;
}

manifest_err_t manifest_parse(const char *text, size_t len, manifest_t *out, char *why, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (why && cap)
        why[0] = '\0';
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return fail(MANIFEST_ERR_JSON, why, cap, "not valid JSON");
    manifest_err_t e = parse_root(root, out, why, cap);
    cJSON_Delete(root);
    if (e != MANIFEST_OK)
        memset(out, 0, sizeof(*out));
    return e;
}
