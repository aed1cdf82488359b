/*
 * check.h - judge a decoded package the way the bootloader will.
 *
 * For every image: its init packet type matches the manifest, the .bin has
 * the size the init packet declares, its SHA-256 matches the init packet's
 * hash, every boot_validation entry is one the bootloader can honour (and an
 * ECDSA one verifies over the right part of the image), and, with a key,
 * the init packet's signature verifies over the signed bytes (spec 4.5).
 *
 * A check_report_t is a plain value filled by check_package(); it keeps no
 * pointer into the package.
 */
#ifndef CLI_CHECK_H
#define CLI_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "cli/pkg.h"
#include "proto/sig.h"

#define CHECK_ITEMS_MAX 8u

typedef enum { CHECK_PASS, CHECK_SKIP, CHECK_FAIL } check_status_t;

/* What a failure means; each class has its own exit code (see exitcode.h). */
typedef enum {
    CHECK_CLASS_INVALID,   /* the package cannot be used at all */
    CHECK_CLASS_INTEGRITY, /* the image is not the one the init packet describes */
    CHECK_CLASS_SIGNATURE, /* the init packet is not signed by the given key */
} check_class_t;

typedef struct {
    char name[24]; /* "type", "size", "hash", "boot_validation[0]", "signature" */
    check_status_t status;
    check_class_t cls;
    char detail[200]; /* one line, no newline */
} check_item_t;

typedef struct {
    size_t count;
    check_item_t item[CHECK_ITEMS_MAX];
    uint8_t bin_sha256[32]; /* normal (big-endian) order */
    uint32_t bin_crc32;
} check_image_t;

typedef struct {
    size_t count;
    check_image_t image[MANIFEST_IMAGES_MAX];
    int key_given;
} check_report_t;

/* Run every check on every image. `key` may be NULL (signature not checked). */
void check_package(const pkg_t *pkg, const sig_key_t *key, check_report_t *out);

/* The first failing item, in the order invalid > signature > integrity, or NULL. */
const check_item_t *check_worst(const check_report_t *r, size_t *image_index);

const char *check_status_name(check_status_t s);
const char *check_class_name(check_class_t c);

#endif
