/*
 * dfw_testkit.h - an emulated nRF52 for the device_fw unit tests.
 *
 * One job: give a test a device that device_fw can run on, built from genuine
 * material, and the means to check what device_fw did to it. It owns
 *  - the fake flash behind dfw_hal_t: it enforces the nRF52 NVMC rules (spec
 *    §9.1), counts every call and every program of every word, and injects
 *    faults (failing calls, a stuck bit);
 *  - devices: nRF52832/52840 flash holding an nrfutil settings page, an SD
 *    info struct, the running application and non-0xFF "stale" bytes
 *    everywhere else, so that a missing erase shows;
 *  - the fixture readers those need (Intel HEX, a package's .dat, an image's
 *    .bin; tests/fixtures/nrfutil through tests/support/fixtures.h);
 *  - the expectations built without device_fw: the settings page the staging
 *    recipe must produce (spec §8.3 step 5), and a small protobuf writer for
 *    hand-made init packets.
 *
 * Test-only code: every function fails the running CMocka test (fail_msg,
 * assert_*) rather than return an error, and a fake-flash call that breaks a
 * flash rule fails the test at once. Memory: what a function allocates is
 * freed by the caller with the function named at it; nothing here keeps
 * global state, so a test may run several devices at once.
 */
#ifndef TESTS_UNIT_DEVICE_FW_DFW_TESTKIT_H
#define TESTS_UNIT_DEVICE_FW_DFW_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_fw/dfw_hal.h"
#include "device_fw/dfw_config.h"

#define DFWT_PAGE          4096u /* flash page of every nRF52 (and DFW_PAGE_SIZE) */
#define DFWT_SETTINGS_USED 896u  /* bytes of the settings page the recipe defines */

/* ====================================================== little-endian words */

uint32_t dfwt_get32(const uint8_t *p);
void dfwt_put32(uint8_t *p, uint32_t v);

/* ========================================== fixtures (tests/fixtures/nrfutil) */

/* A heap buffer and its length. Free d with free() or dfwt_blob_free(). */
typedef struct dfwt_blob {
    uint8_t *d;
    size_t n;
} dfwt_blob_t;

void dfwt_blob_free(dfwt_blob_t *b);

/* images/<name>.bin, e.g. "app_s132". */
dfwt_blob_t dfwt_image(const char *name);

/* Image 0's .dat of packages/<zip> (e.g. "app_signed.zip") into out; returns its length. */
size_t dfwt_package_dat(const char *zip, uint8_t out[DFW_INITCMD_MAX_SIZE]);

/* An update as the device receives it: init packet and firmware image. */
typedef struct dfwt_pkg {
    uint8_t dat[DFW_INITCMD_MAX_SIZE];
    size_t dat_len;
    dfwt_blob_t img;
} dfwt_pkg_t;

/* dfwt_package_dat(zip) and dfwt_image(bin). Free with dfwt_pkg_free(). */
void dfwt_pkg_load(dfwt_pkg_t *p, const char *zip, const char *bin);
void dfwt_pkg_free(dfwt_pkg_t *p);

/*
 * Intel HEX file `rel` (below tests/fixtures/nrfutil, e.g.
 * "settings/s52832_v1.hex") into mem: records 00, 01, 02 and 04, every
 * checksum verified, every byte inside [0, mem_size). Bytes the file does not
 * cover keep their value.
 */
void dfwt_load_ihex(const char *rel, uint8_t *mem, uint32_t mem_size);

/* ================================================================ fake flash */

typedef struct dfwt_flash {
    uint8_t *mem;
    uint32_t size;
    /* Counters: calls to read / write_words / erase_page, failed ones included. */
    unsigned reads, writes, erases;
    uint8_t *since_erase;  /* per word: programs since its page was last erased */
    uint8_t *programs;     /* per word: programs during the test (tests may reset it) */
    uint8_t *erased;       /* per page: erased at least once during the test */
    uint16_t *erase_count; /* per page: erases during the test (tests may reset it) */
    /* Rules beyond the NVMC's own (a word is programmed once per erase, only 1 -> 0). */
    bool require_erase; /* programming a page needs an erase of it during the test */
    /* Fault injection; all 0 = none. Counts are 1-based and include failed calls. */
    unsigned fail_op;    /* fail the n-th write or erase call (writes + erases == n) */
    unsigned fail_write; /* fail the n-th write call */
    unsigned fail_read;  /* fail the n-th read call */
    uint32_t stuck_addr; /* the word at stuck_addr never programs the bits of stuck_mask */
    uint32_t stuck_mask;
    bool failed;             /* set by an injected failure */
    unsigned ops_after_fail; /* calls of any kind after `failed` was set */
} dfwt_flash_t;

/* `size` bytes (a multiple of DFWT_PAGE) of 0xFF flash. Free with dfwt_flash_free(). */
dfwt_flash_t *dfwt_flash_new(uint32_t size);
void dfwt_flash_free(dfwt_flash_t *f);

/* A HAL over f (page size DFWT_PAGE); f must outlive every use of it. */
dfw_hal_t dfwt_flash_hal(dfwt_flash_t *f);

/*
 * Forget the history so far: call counters, erase_count and programs go to 0.
 * What the flash rules need (since_erase, erased) stays.
 */
void dfwt_flash_forget(dfwt_flash_t *f);

/* write_words + erase_page calls so far. */
unsigned dfwt_flash_ops(const dfwt_flash_t *f);

/* Every byte of the page at `page` in mem 0xFF? */
bool dfwt_page_is_blank(const uint8_t *mem, uint32_t page);

/* ==================================================================== devices */

typedef enum {
    DFWT_52832_S132, /* S132 7.x ends at 0x26000, app_s132 (v3 settings): bank 1 at 0x33000 */
    DFWT_52832_MBR,  /* no SoftDevice (MBR only), same settings: bank 1 at 0xE000 */
    DFWT_52840_S140, /* S140 ends at 0x27000, app_large: bank 1 at 0x71000 */
} dfwt_kind_t;

typedef struct dfwt_device {
    dfwt_flash_t *f; /* owned */
    dfw_hal_t hal;   /* over f */
    dfw_layout_t layout;
    uint8_t *before; /* owned: f->size bytes, flash as dfwt_device_make() left it */
} dfwt_device_t;

/* A fresh device of that kind; all counters 0. Free with dfwt_device_free(). */
void dfwt_device_make(dfwt_device_t *d, dfwt_kind_t kind);
void dfwt_device_free(dfwt_device_t *d);

/* Take flash as it is now as the "before" picture (after a test changed it). */
void dfwt_device_snapshot(dfwt_device_t *d);

/*
 * Pages [first, first + n) of `img` at `addr`, the last one padded with 0xFF
 * to its page end (what staging leaves of a copy, and an activation's page
 * copy leaves in bank 0), then snapshot. E.g. bank 1 as an update left it.
 */
void dfwt_put_pages(dfwt_device_t *d, uint32_t addr, const dfwt_blob_t *img, uint32_t first,
                    uint32_t n);

/* Put v at `off` in the settings page, fix its CRC, and snapshot. */
void dfwt_settings_put(dfwt_device_t *d, uint32_t off, uint32_t v);

/*
 * The first DFWT_SETTINGS_USED bytes of the settings page the staging recipe
 * must make of `old` for the init packet dat[0, n) (spec §8.3 step 5).
 */
void dfwt_expected_settings(const uint8_t *old, const uint8_t *dat, size_t n,
                            uint8_t out[DFWT_SETTINGS_USED]);

/* ============================================================ protobuf writer */

typedef struct dfwt_pb {
    uint8_t d[1200];
    size_t n;
} dfwt_pb_t;

void dfwt_pb_raw(dfwt_pb_t *b, const void *p, size_t n);
void dfwt_pb_varint(dfwt_pb_t *b, uint64_t v);
void dfwt_pb_u32(dfwt_pb_t *b, uint32_t field, uint64_t v);                /* wire type 0 */
void dfwt_pb_bytes(dfwt_pb_t *b, uint32_t field, const void *p, size_t n); /* wire type 2 */
void dfwt_pb_msg(dfwt_pb_t *b, uint32_t field, const dfwt_pb_t *sub);

#endif
