/*
 * zipfab.h - test helper: fabricate DFU zips with libzip in a temp dir.
 *
 * A zipfab_set_t is an in-memory list of members (name, bytes, stored or
 * deflated). Load one from a genuine package, change it, save it as a new
 * zip; or patch a saved zip's headers to make it lie.
 */
#ifndef TESTS_ZIPFAB_H
#define TESTS_ZIPFAB_H

#include <stddef.h>
#include <stdint.h>

#define ZIPFAB_MEMBERS_MAX 80

typedef struct {
    char *name;
    uint8_t *data;
    size_t len;
    int store; /* 1: ZIP_CM_STORE, 0: deflate */
} zipfab_member_t;

typedef struct {
    size_t count;
    zipfab_member_t m[ZIPFAB_MEMBERS_MAX];
} zipfab_set_t;

/* A fresh directory under /tmp (malloc'd path); zipfab_rmdir() removes it and its entries. */
char *zipfab_mkdtemp(void);
void zipfab_rmdir(char *dir);
/* "<dir>/<name>" in a static buffer rotated over 4 slots. */
const char *zipfab_path(const char *dir, const char *name);

/* Plain file helpers; 0 on success. */
int zipfab_write_file(const char *path, const void *data, size_t len);
uint8_t *zipfab_read_file(const char *path, size_t *len);

/* Replace the (zero-initialized or loaded) set by every member of a zip; 0 on success. */
int zipfab_load(const char *zip, zipfab_set_t *set);
zipfab_member_t *zipfab_find(zipfab_set_t *set, const char *name);
/* Replace (or append) a member with a copy of `data`. */
void zipfab_put(zipfab_set_t *set, const char *name, const void *data, size_t len);
void zipfab_put_str(zipfab_set_t *set, const char *name, const char *text);
void zipfab_remove(zipfab_set_t *set, const char *name);
void zipfab_free(zipfab_set_t *set);
/* Write the set as a zip at `path` (overwritten); 0 on success. */
int zipfab_save(const zipfab_set_t *set, const char *path);

/*
 * Patch the stored zip at `path` in place: set the uncompressed size of
 * member `name` in its local header (if `local`) and central directory (if
 * `central`). Returns 0 on success.
 */
int zipfab_patch_usize(const char *path, const char *name, uint32_t usize, int local, int central);
/* Rename member `from` to `to` (same length) in both headers, bypassing libzip. */
int zipfab_patch_name(const char *path, const char *from, const char *to);

#endif
