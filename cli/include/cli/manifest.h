/*
 * manifest.h - parse and check the manifest.json of an nrfutil DFU package.
 *
 * Pure parsing of text the caller already holds: no zip, no file I/O, so
 * every malformed shape can be unit-tested directly. A manifest_t is a plain
 * value (fixed-size arrays, no heap).
 */
#ifndef CLI_MANIFEST_H
#define CLI_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_NAME_MAX   256u /* longest member name we accept, with NUL */
#define MANIFEST_IMAGES_MAX 4u

/* Manifest image kinds, in the order nrfutil transfers them (SD+BL, SD, BL, app). */
typedef enum {
    PKG_KIND_SOFTDEVICE_BOOTLOADER,
    PKG_KIND_SOFTDEVICE,
    PKG_KIND_BOOTLOADER,
    PKG_KIND_APPLICATION,
} pkg_kind_t;

typedef struct {
    pkg_kind_t kind;
    char bin_file[MANIFEST_NAME_MAX];
    char dat_file[MANIFEST_NAME_MAX];
    bool has_metadata; /* info_read_only_metadata of softdevice_bootloader */
    uint32_t sd_size, bl_size;
} manifest_image_t;

typedef struct {
    size_t count;
    manifest_image_t image[MANIFEST_IMAGES_MAX]; /* sorted in transfer order */
} manifest_t;

typedef enum {
    MANIFEST_OK = 0,
    MANIFEST_ERR_JSON = -1,   /* not JSON */
    MANIFEST_ERR_SHAPE = -2,  /* JSON, but not an nrfutil manifest */
    MANIFEST_ERR_LEGACY = -3, /* legacy (nrfutil 0.5, SDK <= 11) manifest */
    MANIFEST_ERR_NAME = -4,   /* a file name that is unsafe to use as a member */
} manifest_err_t;

/*
 * Parse `len` bytes of JSON. On error `why` receives a one-line reason naming
 * the JSON field (e.g. "application.bin_file: not a string").
 */
__attribute__((warn_unused_result)) manifest_err_t
manifest_parse(const char *text, size_t len, manifest_t *out, char *why, size_t why_cap);

/*
 * True when `name` is safe as a zip member name: not empty, relative, no ".."
 * component (either separator), no drive letter, no control characters.
 */
bool manifest_name_safe(const char *name);

/* "application", "softdevice", "bootloader", "softdevice_bootloader". */
const char *manifest_kind_key(pkg_kind_t kind);

#endif
