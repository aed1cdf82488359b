#include "fixtures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

uint8_t *fix_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

size_t fix_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    if (n > cap || strlen(hex) % 2)
        fail_msg("hex string of %zu digits does not fit %zu bytes", strlen(hex), cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            fail_msg("not hex at digit %zu", 2 * i);
        out[i] = (uint8_t)v;
    }
    return n;
}

cJSON *fix_packages_json(void)
{
    size_t n;
    char *text = (char *)fix_read_file(FIX_NRFUTIL "/packages.json", &n);
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    assert_non_null(j);
    return j;
}

const cJSON *fix_get(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        fail_msg("missing JSON key '%s'", key);
    return v;
}

const cJSON *fix_package(const cJSON *all, const char *name)
{
    const cJSON *pkg;
    cJSON_ArrayForEach(pkg, fix_get(all, "packages"))
    {
        const char *file = fix_get(pkg, "file")->valuestring;
        const char *base = strrchr(file, '/');
        if (strcmp(base ? base + 1 : file, name) == 0)
            return pkg;
    }
    fail_msg("no package %s in packages.json", name);
    return NULL;
}

size_t fix_package_dat(const cJSON *all, const char *name, int img, uint8_t *out)
{
    const cJSON *im = cJSON_GetArrayItem(fix_get(fix_package(all, name), "images"), img);
    assert_non_null(im);
    return fix_unhex(fix_get(im, "dat_hex")->valuestring, out, 512);
}

void fix_public_key(const cJSON *all, uint8_t out[64])
{
    const cJSON *keys = fix_get(all, "keys");
    assert_int_equal(fix_unhex(fix_get(keys, "public_key_le_hex")->valuestring, out, 64), 64);
}
