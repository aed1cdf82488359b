/*
 * emu_file.h - save and load an emulated device (emu_device_t) as one file.
 *
 * Format "DFUEMU01", version 1 (emulator/EMULATOR.md has the byte table).
 * All integers little-endian, every field written explicitly (no struct
 * dumps), so a file means the same on any host:
 *
 *   header (EMU_FILE_HEADER_SIZE bytes): magic, format version, header size,
 *          chip, flash size, reset counter, virtual clock (ns), every field
 *          of bl_config_t, the public key, then CRC-32 of the header bytes
 *          before it;
 *   flash  (flash size bytes): the raw flash array;
 *   CRC-32 of the flash bytes.
 *
 * Persisted: flash contents, bootloader configuration and key, reset
 * counter, virtual clock. Not persisted (by design, say so to users): the
 * flash model's per-word write counters, per-page erase counters, op count,
 * fault/violation logs and statistics, protection registers, the
 * SoftDevice-enabled flag and any power-cut state. A loaded device is a
 * device that has just been powered on: every command that runs firmware on
 * it starts with a reset, which sets protection up again.
 *
 * Ownership: emu_file_load()/emu_file_decode() allocate the device; the
 * caller frees it with emu_device_free(). emu_file_encode() allocates the
 * buffer; the caller frees it with free(). Nothing keeps pointers to the
 * arguments. Reentrant.
 */
#ifndef EMULATOR_EMU_FILE_H
#define EMULATOR_EMU_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "emulator/emu_device.h"

#if defined(__GNUC__) || defined(__clang__)
#define EMU_FILE_MUST_CHECK __attribute__((warn_unused_result))
#else
#define EMU_FILE_MUST_CHECK
#endif

#define EMU_FILE_MAGIC       "DFUEMU01" /* 8 bytes, no NUL in the file */
#define EMU_FILE_VERSION     1u
#define EMU_FILE_HEADER_SIZE 148u /* including the trailing header CRC */

/*
 * Errors: 0 success, negative failure. (input) = the file is not a usable
 * device file; (system) = the host could not do it; (caller) = a bug.
 */
typedef enum emu_file_err {
    EMU_FILE_OK = 0,
    EMU_FILE_ERR_ARG = -1,         /* (caller) NULL pointer, device without flash */
    EMU_FILE_ERR_NOMEM = -2,       /* (system) allocation failed */
    EMU_FILE_ERR_OPEN = -3,        /* (system) the file cannot be opened for reading */
    EMU_FILE_ERR_READ = -4,        /* (system) read error */
    EMU_FILE_ERR_CREATE = -5,      /* (system) the temporary file cannot be created */
    EMU_FILE_ERR_WRITE = -6,       /* (system) write, fsync or rename failed */
    EMU_FILE_ERR_MAGIC = -7,       /* (input) not a dfuart-emu device file */
    EMU_FILE_ERR_VERSION = -8,     /* (input) other format version or header size */
    EMU_FILE_ERR_TRUNCATED = -9,   /* (input) file shorter than its header says */
    EMU_FILE_ERR_TRAILING = -10,   /* (input) bytes after the flash CRC */
    EMU_FILE_ERR_HEADER_CRC = -11, /* (input) header CRC mismatch */
    EMU_FILE_ERR_FLASH_CRC = -12,  /* (input) flash CRC mismatch */
    EMU_FILE_ERR_CHIP = -13,       /* (input) unknown chip, or flash size not the chip's */
    EMU_FILE_ERR_FIELD = -14,      /* (input) a configuration field out of range */
} emu_file_err_t;

/* One line saying what is wrong, naming the file and the field (no newline). */
typedef struct emu_file_diag {
    char msg[320];
} emu_file_diag_t;

const char *emu_file_strerror(emu_file_err_t err);

/*
 * Serialize `dev` into a new buffer (*buf, *len). The caller frees *buf.
 */
EMU_FILE_MUST_CHECK emu_file_err_t emu_file_encode(const emu_device_t *dev, uint8_t **buf,
                                                   size_t *len);

/*
 * Parse a device file image. On success *out is a new device (flash
 * contents, config, resets, clock restored; counters and logs fresh). On
 * failure *out is NULL and diag->msg names `name` (used only for messages;
 * may be NULL) and what is wrong. `diag` may be NULL.
 */
EMU_FILE_MUST_CHECK emu_file_err_t emu_file_decode(const uint8_t *buf, size_t len, const char *name,
                                                   emu_device_t **out, emu_file_diag_t *diag);

/* Read `path` and emu_file_decode() it. */
EMU_FILE_MUST_CHECK emu_file_err_t emu_file_load(const char *path, emu_device_t **out,
                                                 emu_file_diag_t *diag);

/*
 * Write `dev` to `path` atomically: a temporary file in the same directory
 * is written, fsync'ed and renamed over `path`, then the directory is
 * fsync'ed. On any failure the temporary file is removed and `path` is left
 * exactly as it was. An existing file keeps its permission bits; a new one
 * gets 0644.
 */
EMU_FILE_MUST_CHECK emu_file_err_t emu_file_save(const emu_device_t *dev, const char *path,
                                                 emu_file_diag_t *diag);

/*
 * A fast replace for frequent checkpoints (serve): `dev` is written to the
 * fixed temporary `path`.serve-tmp and renamed over `path`, without fsync.
 * Atomic against a killed process (the page cache keeps what was written),
 * not against a crash of the host machine. A leftover temporary from a
 * killed writer is reused. On failure the temporary is removed, `path` stays.
 */
EMU_FILE_MUST_CHECK emu_file_err_t emu_file_checkpoint(const emu_device_t *dev, const char *path,
                                                       emu_file_diag_t *diag);

/*
 * The same atomic replace for any bytes (used by `export` too): `path`
 * either keeps its old contents or gets exactly `data`.
 */
EMU_FILE_MUST_CHECK emu_file_err_t emu_file_write_atomic(const char *path, const void *data,
                                                         size_t len, emu_file_diag_t *diag);

#endif
