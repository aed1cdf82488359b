/*
 * emu_file.c - the device file (format in emu_file.h and EMULATOR.md).
 *
 * Layout of this file: little-endian helpers; the header fields as a table
 * (so encode, decode and the documentation walk the same list); decode's
 * checks, in the order that gives the most useful message (a truncated file
 * says "truncated", not "CRC mismatch"); file I/O with the atomic replace.
 */
#define _POSIX_C_SOURCE 200809L
#include "emulator/emu_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

/* Byte offsets of the header (EMULATOR.md "Device file format"). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_HDR_SIZE = 12,
    OFF_CHIP = 16,
    OFF_FLASH_SIZE = 20,
    OFF_RESETS = 24,
    OFF_CLOCK = 28, /* u64 */
    OFF_SDK = 36,   /* bl_sdk_t as u32: 0 = 15.3, 1 = 16.0, 2 = 17.0, 3 = 17.1 */
    OFF_U32_FIELDS = 40,
    OFF_BOOLS = 68,
    OFF_RESERVED = 79,
    OFF_KEY = 80,
    OFF_HDR_CRC = 144,
};
_Static_assert(OFF_HDR_CRC + 4 == EMU_FILE_HEADER_SIZE, "header table and size disagree");

/* The u32 fields of bl_config_t, in file order from OFF_U32_FIELDS. */
typedef struct {
    const char *name;
    size_t off;
} cfg_field_t;

#define CFG(m)                                                                                     \
    {                                                                                              \
#m, offsetof(bl_config_t, m)                                                               \
    }
static const cfg_field_t u32_fields[] = {
    CFG(bl_start),    CFG(bootloader_size), CFG(app_data_area_size), CFG(settings_addr),
    CFG(backup_addr), CFG(hw_version),      CFG(copy_step_pages),
};
/* The bool fields, one byte each (0 or 1) from OFF_BOOLS. */
static const cfg_field_t bool_fields[] = {
    CFG(require_signed_app),     CFG(downgrade_prevention),
    CFG(accept_same_version),    CFG(external_app_versioning),
    CFG(supports_external_app),  CFG(single_bank),
    CFG(force_dual_bank),        CFG(allow_update_from_app),
    CFG(app_signature_required), CFG(debug_build),
    CFG(ble_transport),
};
#undef CFG
#define N_U32  (sizeof(u32_fields) / sizeof(u32_fields[0]))
#define N_BOOL (sizeof(bool_fields) / sizeof(bool_fields[0]))
_Static_assert(OFF_U32_FIELDS + 4 * N_U32 == OFF_BOOLS, "u32 fields overflow");
_Static_assert(OFF_BOOLS + N_BOOL == OFF_RESERVED, "bool fields overflow");

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc_of(const uint8_t *p, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (len > 0) { /* zlib takes uInt lengths */
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

static uint32_t *cfg_u32(bl_config_t *cfg, size_t i)
{
    return (uint32_t *)((unsigned char *)cfg + u32_fields[i].off);
}

static bool *cfg_bool(bl_config_t *cfg, size_t i)
{
    return (bool *)((unsigned char *)cfg + bool_fields[i].off);
}

__attribute__((format(printf, 2, 3))) static void diag_set(emu_file_diag_t *d, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
}

/* ---- encode ------------------------------------------------------------------------ */

static void encode_config(const bl_config_t *in, uint8_t *h)
{
    bl_config_t cfg = *in; /* writable copy for the accessors */
    put32(h + OFF_SDK, (uint32_t)cfg.sdk);
    for (size_t i = 0; i < N_U32; i++)
        put32(h + OFF_U32_FIELDS + 4 * i, *cfg_u32(&cfg, i));
    for (size_t i = 0; i < N_BOOL; i++)
        h[OFF_BOOLS + i] = *cfg_bool(&cfg, i) ? 1u : 0u;
    h[OFF_RESERVED] = 0;
    memcpy(h + OFF_KEY, cfg.public_key, sizeof(cfg.public_key));
}

static void encode_header(const emu_device_t *dev, uint32_t flash_size, uint8_t *h)
{
    uint64_t ns = vclock_now(&dev->clock);
    memcpy(h + OFF_MAGIC, EMU_FILE_MAGIC, 8);
    put32(h + OFF_VERSION, EMU_FILE_VERSION);
    put32(h + OFF_HDR_SIZE, EMU_FILE_HEADER_SIZE);
    put32(h + OFF_CHIP, (uint32_t)dev->cfg.chip);
    put32(h + OFF_FLASH_SIZE, flash_size);
    put32(h + OFF_RESETS, dev->resets);
    put32(h + OFF_CLOCK, (uint32_t)ns);
    put32(h + OFF_CLOCK + 4, (uint32_t)(ns >> 32));
    encode_config(&dev->cfg, h);
    put32(h + OFF_HDR_CRC, crc_of(h, OFF_HDR_CRC));
}

emu_file_err_t emu_file_encode(const emu_device_t *dev, uint8_t **buf, size_t *len)
{
    if (!dev || !dev->flash || !buf || !len)
        return EMU_FILE_ERR_ARG;
    uint32_t size = flash_chip(dev->flash)->size;
    size_t total = EMU_FILE_HEADER_SIZE + (size_t)size + 4u;
    uint8_t *b = malloc(total);
    if (!b)
        return EMU_FILE_ERR_NOMEM;
    encode_header(dev, size, b);
    memcpy(b + EMU_FILE_HEADER_SIZE, flash_bytes(dev->flash), size);
    put32(b + EMU_FILE_HEADER_SIZE + size, crc_of(b + EMU_FILE_HEADER_SIZE, size));
    *buf = b;
    *len = total;
    return EMU_FILE_OK;
}

/* ---- decode ------------------------------------------------------------------------ */

static const char *nm(const char *name)
{
    return name ? name : "device file";
}

/* Magic, version, header size, header length and CRC: is this our header at all? */
static emu_file_err_t check_header(const uint8_t *b, size_t len, const char *name,
                                   emu_file_diag_t *d)
{
    if (len < OFF_HDR_SIZE + 4) {
        bool ours = memcmp(b, EMU_FILE_MAGIC, len < 8 ? len : 8) == 0;
        diag_set(d, "%s: %s (%zu bytes)", nm(name),
                 ours ? "truncated header" : "not a dfuart-emu device file", len);
        return ours ? EMU_FILE_ERR_TRUNCATED : EMU_FILE_ERR_MAGIC;
    }
    if (memcmp(b, EMU_FILE_MAGIC, 8) != 0) {
        diag_set(d, "%s: not a dfuart-emu device file (magic is not \"%s\")", nm(name),
                 EMU_FILE_MAGIC);
        return EMU_FILE_ERR_MAGIC;
    }
    uint32_t ver = get32(b + OFF_VERSION), hsize = get32(b + OFF_HDR_SIZE);
    if (ver != EMU_FILE_VERSION || hsize != EMU_FILE_HEADER_SIZE) {
        diag_set(d,
                 "%s: format version %u / header size %u not supported (this build reads %u / %u)",
                 nm(name), ver, hsize, EMU_FILE_VERSION, EMU_FILE_HEADER_SIZE);
        return EMU_FILE_ERR_VERSION;
    }
    if (len < EMU_FILE_HEADER_SIZE) {
        diag_set(d, "%s: truncated header (%zu of %u bytes)", nm(name), len, EMU_FILE_HEADER_SIZE);
        return EMU_FILE_ERR_TRUNCATED;
    }
    uint32_t stored = get32(b + OFF_HDR_CRC), calc = crc_of(b, OFF_HDR_CRC);
    if (stored != calc) {
        diag_set(d, "%s: header CRC mismatch (stored 0x%08X, computed 0x%08X)", nm(name), stored,
                 calc);
        return EMU_FILE_ERR_HEADER_CRC;
    }
    return EMU_FILE_OK;
}

/* Chip, flash size, then the body's length and CRC. */
static emu_file_err_t check_body(const uint8_t *b, size_t len, const char *name, emu_file_diag_t *d)
{
    uint32_t chip = get32(b + OFF_CHIP), size = get32(b + OFF_FLASH_SIZE);
    const flash_chip_desc_t *desc =
        chip <= BL_CHIP_NRF52840 ? flash_chip_info((flash_chip_t)chip) : NULL;
    if (!desc || desc->size != size) {
        diag_set(d, "%s: field 'flash_size' = 0x%X does not match chip %u (%s)", nm(name), size,
                 chip, desc ? desc->name : "unknown chip");
        return EMU_FILE_ERR_CHIP;
    }
    size_t want = EMU_FILE_HEADER_SIZE + (size_t)size + 4u;
    if (len != want) {
        diag_set(d, "%s: %s (%zu bytes, expected %zu)", nm(name),
                 len < want ? "truncated flash image" : "trailing bytes after the flash CRC", len,
                 want);
        return len < want ? EMU_FILE_ERR_TRUNCATED : EMU_FILE_ERR_TRAILING;
    }
    uint32_t stored = get32(b + want - 4), calc = crc_of(b + EMU_FILE_HEADER_SIZE, size);
    if (stored != calc) {
        diag_set(d, "%s: flash CRC mismatch (stored 0x%08X, computed 0x%08X)", nm(name), stored,
                 calc);
        return EMU_FILE_ERR_FLASH_CRC;
    }
    return EMU_FILE_OK;
}

static bool page_aligned(uint32_t v)
{
    return v % EMU_PAGE == 0;
}

/* Is the layout usable by the replay (every page it touches inside flash)? */
static const char *layout_problem(const bl_config_t *c, uint32_t size)
{
    if (!page_aligned(c->bl_start) || !page_aligned(c->bootloader_size) ||
        c->bl_start < EMU_MBR_SIZE || c->bl_start >= size ||
        c->bootloader_size > size - c->bl_start)
        return "bl_start/bootloader_size";
    if (!page_aligned(c->app_data_area_size) || c->app_data_area_size > c->bl_start - EMU_MBR_SIZE)
        return "app_data_area_size";
    if (!page_aligned(c->settings_addr) || c->settings_addr > size - EMU_PAGE)
        return "settings_addr";
    if (!page_aligned(c->backup_addr) || c->backup_addr > size - EMU_PAGE)
        return "backup_addr";
    if (c->copy_step_pages == 0)
        return "copy_step_pages";
    return NULL;
}

static emu_file_err_t decode_config(const uint8_t *h, bl_config_t *cfg, const char *name,
                                    emu_file_diag_t *d)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->chip = (bl_chip_t)get32(h + OFF_CHIP);
    uint32_t sdk = get32(h + OFF_SDK);
    if (sdk > BL_SDK_17_1) {
        diag_set(d, "%s: field 'sdk' = %u out of range (0..%d)", nm(name), sdk, BL_SDK_17_1);
        return EMU_FILE_ERR_FIELD;
    }
    cfg->sdk = (bl_sdk_t)sdk;
    for (size_t i = 0; i < N_U32; i++)
        *cfg_u32(cfg, i) = get32(h + OFF_U32_FIELDS + 4 * i);
    for (size_t i = 0; i < N_BOOL; i++) {
        uint8_t v = h[OFF_BOOLS + i];
        if (v > 1) {
            diag_set(d, "%s: field '%s' = %u is not 0 or 1", nm(name), bool_fields[i].name, v);
            return EMU_FILE_ERR_FIELD;
        }
        *cfg_bool(cfg, i) = v == 1;
    }
    memcpy(cfg->public_key, h + OFF_KEY, sizeof(cfg->public_key));
    const char *bad = layout_problem(cfg, get32(h + OFF_FLASH_SIZE));
    if (h[OFF_RESERVED] != 0 || bad) {
        diag_set(d, "%s: field '%s' out of range for the chip's flash", nm(name),
                 bad ? bad : "reserved");
        return EMU_FILE_ERR_FIELD;
    }
    return EMU_FILE_OK;
}

static emu_file_err_t build_device(const uint8_t *b, const bl_config_t *cfg, emu_device_t **out)
{
    emu_device_t *dev = emu_device_new(cfg);
    if (!dev)
        return EMU_FILE_ERR_NOMEM;
    uint32_t size = get32(b + OFF_FLASH_SIZE);
    if (flash_load_raw(dev->flash, b + EMU_FILE_HEADER_SIZE, size) != FLASH_OK) {
        emu_device_free(dev); /* cannot happen: the size was checked against the chip */
        return EMU_FILE_ERR_CHIP;
    }
    dev->resets = get32(b + OFF_RESETS);
    vclock_init(&dev->clock, (uint64_t)get32(b + OFF_CLOCK) | (uint64_t)get32(b + OFF_CLOCK + 4)
                                                                  << 32);
    *out = dev;
    return EMU_FILE_OK;
}

emu_file_err_t emu_file_decode(const uint8_t *buf, size_t len, const char *name, emu_device_t **out,
                               emu_file_diag_t *diag)
{
    if (!out || (!buf && len > 0)) {
        diag_set(diag, "%s: invalid argument", nm(name));
        return EMU_FILE_ERR_ARG;
    }
    *out = NULL;
    static const uint8_t empty[1];
    const uint8_t *b = buf ? buf : empty;
    emu_file_err_t e = check_header(b, len, name, diag);
    if (e == EMU_FILE_OK)
        e = check_body(b, len, name, diag);
    bl_config_t cfg;
    if (e == EMU_FILE_OK)
        e = decode_config(b, &cfg, name, diag);
    if (e == EMU_FILE_OK)
        e = build_device(b, &cfg, out);
    if (e == EMU_FILE_ERR_NOMEM)
        diag_set(diag, "%s: out of memory", nm(name));
    return e;
}

/* ---- file I/O ------------------------------------------------------------------------ */

/* Reads at most `cap` bytes; *len = cap + 1 means "more than cap". */
static emu_file_err_t read_all(FILE *f, size_t cap, uint8_t **out, size_t *len)
{
    uint8_t *b = malloc(cap + 1);
    if (!b)
        return EMU_FILE_ERR_NOMEM;
    size_t n = fread(b, 1, cap + 1, f);
    if (ferror(f)) {
        free(b);
        return EMU_FILE_ERR_READ;
    }
    *out = b;
    *len = n;
    return EMU_FILE_OK;
}

emu_file_err_t emu_file_load(const char *path, emu_device_t **out, emu_file_diag_t *diag)
{
    if (!path || !out) {
        diag_set(diag, "device file: invalid argument");
        return EMU_FILE_ERR_ARG;
    }
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_set(diag, "%s: cannot open: %s", path, strerror(errno));
        return EMU_FILE_ERR_OPEN;
    }
    /* The largest valid file is the nRF52840's; one more byte tells "trailing". */
    size_t cap = EMU_FILE_HEADER_SIZE + flash_chip_info(FLASH_CHIP_NRF52840)->size + 4u;
    uint8_t *buf = NULL;
    size_t len = 0;
    emu_file_err_t e = read_all(f, cap, &buf, &len);
    int saved = errno;
    fclose(f);
    if (e == EMU_FILE_OK)
        e = emu_file_decode(buf, len, path, out, diag);
    else if (e == EMU_FILE_ERR_READ)
        diag_set(diag, "%s: read error: %s", path, strerror(saved));
    else
        diag_set(diag, "%s: out of memory", path);
    free(buf);
    return e;
}

static int write_fully(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding `path`, so the rename itself is durable. Best effort. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static mode_t target_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
}

static emu_file_err_t fill_temp(int fd, const char *tmp, const char *path, const void *data,
                                size_t len, emu_file_diag_t *d)
{
    if (fchmod(fd, target_mode(path)) != 0 || write_fully(fd, data, len) != 0 || fsync(fd) != 0) {
        diag_set(d, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        return EMU_FILE_ERR_WRITE;
    }
    return EMU_FILE_OK;
}

emu_file_err_t emu_file_write_atomic(const char *path, const void *data, size_t len,
                                     emu_file_diag_t *diag)
{
    if (!path || (!data && len > 0)) {
        diag_set(diag, "output file: invalid argument");
        return EMU_FILE_ERR_ARG;
    }
    size_t n = strlen(path) + sizeof(".tmp-XXXXXX");
    char *tmp = malloc(n);
    if (!tmp) {
        diag_set(diag, "%s: out of memory", path);
        return EMU_FILE_ERR_NOMEM;
    }
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        diag_set(diag, "%s: cannot create a temporary file next to it: %s", path, strerror(errno));
        free(tmp);
        return EMU_FILE_ERR_CREATE;
    }
    emu_file_err_t e = fill_temp(fd, tmp, path, data, len, diag);
    if (close(fd) != 0 && e == EMU_FILE_OK) {
        diag_set(diag, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        e = EMU_FILE_ERR_WRITE;
    }
    if (e == EMU_FILE_OK && rename(tmp, path) != 0) {
        diag_set(diag, "%s: cannot replace it: %s", path, strerror(errno));
        e = EMU_FILE_ERR_WRITE;
    }
    if (e != EMU_FILE_OK)
        unlink(tmp);
    else
        sync_dir(path);
    free(tmp);
    return e;
}

emu_file_err_t emu_file_save(const emu_device_t *dev, const char *path, emu_file_diag_t *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    emu_file_err_t e = emu_file_encode(dev, &buf, &len);
    if (e != EMU_FILE_OK) {
        diag_set(diag, "%s: %s", path ? path : "device file", emu_file_strerror(e));
        return e;
    }
    e = emu_file_write_atomic(path, buf, len, diag);
    free(buf);
    return e;
}

/* The checkpoint's temporary: written in full, not synced (see emu_file.h). */
static emu_file_err_t write_plain(const char *tmp, const char *path, const uint8_t *data,
                                  size_t len, emu_file_diag_t *diag)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && fchmod(fd, target_mode(path)) == 0 && write_fully(fd, data, len) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok)
        return EMU_FILE_OK;
    diag_set(diag, "%s: cannot write %s: %s", path, tmp, strerror(saved));
    return EMU_FILE_ERR_WRITE;
}

emu_file_err_t emu_file_checkpoint(const emu_device_t *dev, const char *path, emu_file_diag_t *diag)
{
    if (!path) {
        diag_set(diag, "device file: invalid argument");
        return EMU_FILE_ERR_ARG;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    emu_file_err_t e = emu_file_encode(dev, &buf, &len);
    size_t n = strlen(path) + sizeof(".serve-tmp");
    char *tmp = e == EMU_FILE_OK ? malloc(n) : NULL;
    if (e == EMU_FILE_OK && !tmp)
        e = EMU_FILE_ERR_NOMEM;
    if (e != EMU_FILE_OK) {
        diag_set(diag, "%s: %s", path, emu_file_strerror(e));
        free(buf);
        return e;
    }
    snprintf(tmp, n, "%s.serve-tmp", path);
    e = write_plain(tmp, path, buf, len, diag);
    if (e == EMU_FILE_OK && rename(tmp, path) != 0) {
        diag_set(diag, "%s: cannot replace it: %s", path, strerror(errno));
        e = EMU_FILE_ERR_WRITE;
    }
    if (e != EMU_FILE_OK)
        unlink(tmp);
    free(tmp);
    free(buf);
    return e;
}

const char *emu_file_strerror(emu_file_err_t err)
{
    switch (err) {
    case EMU_FILE_OK:
        return "success";
    case EMU_FILE_ERR_ARG:
        return "invalid argument";
    case EMU_FILE_ERR_NOMEM:
        return "out of memory";
    case EMU_FILE_ERR_OPEN:
        return "cannot open the file";
    case EMU_FILE_ERR_READ:
        return "read error";
    case EMU_FILE_ERR_CREATE:
        return "cannot create the output file";
    case EMU_FILE_ERR_WRITE:
        return "write error";
    case EMU_FILE_ERR_MAGIC:
        return "not a dfuart-emu device file";
    case EMU_FILE_ERR_VERSION:
        return "unsupported device file version";
    case EMU_FILE_ERR_TRUNCATED:
        return "truncated device file";
    case EMU_FILE_ERR_TRAILING:
        return "trailing bytes after the device file";
    case EMU_FILE_ERR_HEADER_CRC:
        return "device file header CRC mismatch";
    case EMU_FILE_ERR_FLASH_CRC:
        return "device file flash CRC mismatch";
    case EMU_FILE_ERR_CHIP:
        return "flash size does not match the chip";
    case EMU_FILE_ERR_FIELD:
        return "device file field out of range";
    }
    return "unknown device file error";
}
