/*
 * fixtures.h - shared test helpers for reading the nrfutil fixtures
 * (tests/fixtures/nrfutil). Test-only code: failures abort the current
 * CMocka test with fail_msg(), never return bad data.
 */
#ifndef TESTS_SUPPORT_FIXTURES_H
#define TESTS_SUPPORT_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define FIX_NRFUTIL DFUART_FIXTURES "/nrfutil"

/* Whole file into a heap buffer (NUL-terminated, *len excludes it). Caller frees. */
uint8_t *fix_read_file(const char *path, size_t *len);

/* Hex text to bytes; fails the test if longer than cap or not hex. Returns length. */
size_t fix_unhex(const char *hex, uint8_t *out, size_t cap);

/* tests/fixtures/nrfutil/packages.json, parsed. Caller frees with cJSON_Delete. */
cJSON *fix_packages_json(void);

/* JSON member that must exist (fails the test otherwise). */
const cJSON *fix_get(const cJSON *obj, const char *key);

/* The packages.json entry whose file name is `name` (e.g. "app_signed.zip"). */
const cJSON *fix_package(const cJSON *all, const char *name);

/* The .dat of image `img` of package `name`, into out (>= 512 bytes). Returns length. */
size_t fix_package_dat(const cJSON *all, const char *name, int img, uint8_t *out);

/* keys.public_key_le_hex as 64 bytes (X, Y reversed: the bootloader's pk[]). */
void fix_public_key(const cJSON *all, uint8_t out[64]);

#endif
