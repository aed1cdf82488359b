#define _POSIX_C_SOURCE 200809L
#include "zipfab.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

char *zipfab_mkdtemp(void)
{
    char *dir = strdup("/tmp/dfuart-ut-XXXXXX");
    if (dir && !mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

void zipfab_rmdir(char *dir)
{
    if (!dir)
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            const char *p = zipfab_path(dir, e->d_name);
            if (unlink(p) != 0)
                (void)rmdir(p);
        }
        closedir(d);
    }
    (void)rmdir(dir);
    free(dir);
}

const char *zipfab_path(const char *dir, const char *name)
{
    static char slots[4][512];
    static unsigned next;
    char *p = slots[next++ % 4];
    snprintf(p, sizeof(slots[0]), "%s/%s", dir, name);
    return p;
}

int zipfab_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = len ? fwrite(data, 1, len, f) : 0;
    return (fclose(f) == 0 && n == len) ? 0 : -1;
}

uint8_t *zipfab_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

int zipfab_load(const char *zip, zipfab_set_t *set)
{
    zipfab_free(set);
    int err = 0;
    zip_t *z = zip_open(zip, ZIP_RDONLY, &err);
    if (!z)
        return -1;
    zip_int64_t n = zip_get_num_entries(z, 0);
    int rc = 0;
    for (zip_int64_t i = 0; rc == 0 && i < n && i < ZIPFAB_MEMBERS_MAX; i++) {
        zip_stat_t st;
        zip_file_t *zf = NULL;
        rc = -1;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &st) != 0)
            break;
        uint8_t *buf = malloc(st.size + 1);
        if (buf && (zf = zip_fopen_index(z, (zip_uint64_t)i, 0)) != NULL &&
            zip_fread(zf, buf, st.size) == (zip_int64_t)st.size) {
            zipfab_member_t *m = &set->m[set->count++];
            m->name = strdup(st.name);
            m->data = buf;
            m->len = (size_t)st.size;
            m->store = 0;
            rc = 0;
        } else {
            free(buf);
        }
        if (zf)
            zip_fclose(zf);
    }
    zip_discard(z);
    if (rc != 0)
        zipfab_free(set);
    return rc;
}

zipfab_member_t *zipfab_find(zipfab_set_t *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->m[i].name, name) == 0)
            return &set->m[i];
    return NULL;
}

void zipfab_put(zipfab_set_t *set, const char *name, const void *data, size_t len)
{
    zipfab_member_t *m = zipfab_find(set, name);
    if (!m) {
        if (set->count >= ZIPFAB_MEMBERS_MAX)
            abort();
        m = &set->m[set->count++];
        m->name = strdup(name);
        m->store = 0;
    } else {
        free(m->data);
    }
    m->data = malloc(len ? len : 1);
    if (!m->name || !m->data)
        abort();
    if (len)
        memcpy(m->data, data, len);
    m->len = len;
}

void zipfab_put_str(zipfab_set_t *set, const char *name, const char *text)
{
    zipfab_put(set, name, text, strlen(text));
}

void zipfab_remove(zipfab_set_t *set, const char *name)
{
    zipfab_member_t *m = zipfab_find(set, name);
    if (!m)
        return;
    free(m->name);
    free(m->data);
    size_t i = (size_t)(m - set->m);
    memmove(&set->m[i], &set->m[i + 1], (set->count - i - 1) * sizeof(set->m[0]));
    set->count--;
}

void zipfab_free(zipfab_set_t *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->m[i].name);
        free(set->m[i].data);
    }
    set->count = 0;
}

int zipfab_save(const zipfab_set_t *set, const char *path)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z)
        return -1;
    for (size_t i = 0; i < set->count; i++) {
        const zipfab_member_t *m = &set->m[i];
        zip_source_t *src = zip_source_buffer(z, m->data, m->len, 0);
        zip_int64_t idx = src ? zip_file_add(z, m->name, src, ZIP_FL_ENC_RAW) : -1;
        if (idx < 0) {
            zip_source_free(src);
            zip_discard(z);
            return -1;
        }
        zip_set_file_compression(z, (zip_uint64_t)idx, m->store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0);
    }
    if (zip_close(z) != 0) {
        zip_discard(z);
        return -1;
    }
    return 0;
}

static uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | rd16(p + 2) << 16;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Calls `fn` for every central-directory entry and its local header. */
typedef int (*entry_fn)(uint8_t *cd, uint8_t *lh, void *arg);

static int walk(const char *path, entry_fn fn, void *arg)
{
    size_t len;
    uint8_t *z = zipfab_read_file(path, &len);
    if (!z)
        return -1;
    int rc = -1, hits = 0;
    size_t eocd = len >= 22 ? len - 22 : 0;
    while (eocd > 0 && rd32(z + eocd) != 0x06054b50u)
        eocd--;
    if (len >= 22 && rd32(z + eocd) == 0x06054b50u) {
        size_t n = rd16(z + eocd + 10), off = rd32(z + eocd + 16);
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (off + 46 > len || rd32(z + off) != 0x02014b50u) {
                rc = -1;
                break;
            }
            size_t lh = rd32(z + off + 42);
            if (lh + 30 > len || rd32(z + lh) != 0x04034b50u) {
                rc = -1;
                break;
            }
            int r = fn(z + off, z + lh, arg);
            if (r < 0)
                rc = -1;
            hits += r;
            off += 46 + rd16(z + off + 28) + rd16(z + off + 30) + rd16(z + off + 32);
        }
    }
    if (rc == 0 && hits == 0)
        rc = -1;
    if (rc == 0)
        rc = zipfab_write_file(path, z, len);
    free(z);
    return rc;
}

typedef struct {
    const char *name;
    uint32_t usize;
    int local, central;
} usize_arg_t;

static int name_is(const uint8_t *cd, const char *name)
{
    size_t n = rd16(cd + 28);
    return n == strlen(name) && memcmp(cd + 46, name, n) == 0;
}

static int patch_usize(uint8_t *cd, uint8_t *lh, void *arg)
{
    const usize_arg_t *a = arg;
    if (!name_is(cd, a->name))
        return 0;
    if (a->central)
        wr32(cd + 24, a->usize);
    if (a->local)
        wr32(lh + 22, a->usize);
    return 1;
}

int zipfab_patch_usize(const char *path, const char *name, uint32_t usize, int local, int central)
{
    usize_arg_t a = {name, usize, local, central};
    return walk(path, patch_usize, &a);
}

typedef struct {
    const char *from, *to;
} name_arg_t;

static int patch_name(uint8_t *cd, uint8_t *lh, void *arg)
{
    const name_arg_t *a = arg;
    if (!name_is(cd, a->from))
        return 0;
    size_t n = strlen(a->to);
    if (n != strlen(a->from) || rd16(lh + 26) != n || memcmp(lh + 30, a->from, n) != 0)
        return -1;
    memcpy(cd + 46, a->to, n);
    memcpy(lh + 30, a->to, n);
    return 1;
}

int zipfab_patch_name(const char *path, const char *from, const char *to)
{
    name_arg_t a = {from, to};
    return walk(path, patch_name, &a);
}
