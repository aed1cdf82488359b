/*
 * fuzz_device.h - the emulated nRF52832 the device-level fuzz targets run on,
 * fixture access, and the flash invariants they share (fuzz_dfw_rx,
 * fuzz_bl_boot, and gen_corpus, which must build the very same device).
 *
 * Every function here aborts on a setup failure: a harness that cannot build
 * its device must not report "no crashes".
 */
#ifndef TESTS_FUZZ_DEVICE_H
#define TESTS_FUZZ_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/bl_boot.h"
#include "emulator/emu_device.h"
#include "fuzz_common.h"

#define FUZZ_FIX DFUART_FIXTURES "/nrfutil"

/* A package of tests/fixtures/nrfutil: its .dat (from packages.json) and .bin. */
typedef struct fuzz_pkg {
    uint8_t dat[512];
    size_t dat_len;
    uint8_t *bin; /* owned */
    size_t bin_len;
} fuzz_pkg_t;

/* Whole file into a NUL-terminated heap buffer (*len excludes the NUL). */
uint8_t *fuzz_read_file(const char *path, size_t *len);

/* `zip` is the package file name ("app_signed_tiny.zip"), `bin` its image file. */
void fuzz_pkg_load(fuzz_pkg_t *pkg, const char *zip, const char *bin);
void fuzz_pkg_free(fuzz_pkg_t *pkg);

/*
 * A realistic device: nRF52832, S132 7.2.0, images/app_s132.bin as version 1
 * with CRC boot validation, SDK 17.1 bootloader that accepts updates staged by
 * the application, keys/public.pem as its key. Booted once (bl_boot_run), so
 * it is running its application: the MBR words are written and the protection
 * a running app sees is in force.
 */
emu_device_t *fuzz_device_new(void);

/*
 * The same device after its application staged `pkg` in bank 1 through
 * device_fw (emu_stage_app): the settings page holds bank_current = 1 and the
 * init command; the next boot activates the update.
 */
void fuzz_device_stage(emu_device_t *dev, const fuzz_pkg_t *pkg);

/* First byte of the app-data area (NRF_DFU_APP_DATA_AREA_SIZE below the bootloader). */
uint32_t fuzz_app_data_start(const emu_device_t *dev);

/*
 * The boot validation the bootloader uses to start the app (spec 7.4) holds
 * for the settings page now in flash, recomputed here independently of
 * bl_boot.c: bank_0 is VALID_APP and its boot_validation_app (CRC with zlib,
 * SHA-256, ECDSA) matches bank 0; the SoftDevice's, if one is present. Aborts
 * with `who` in the message otherwise.
 */
void fuzz_check_app_bootable(const emu_device_t *dev, const char *who);

/*
 * Bytes of [lo, hi) that differ between `before` (a whole-flash snapshot) and
 * the device now: returns the first differing address, or UINT32_MAX if none.
 */
uint32_t fuzz_first_change(const uint8_t *before, const emu_device_t *dev, uint32_t lo,
                           uint32_t hi);

/* Aborts if the flash model logged a fault, naming the first one and `who`. */
void fuzz_check_no_fault(const emu_device_t *dev, const char *who);

#endif
