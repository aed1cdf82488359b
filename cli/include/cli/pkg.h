/*
 * pkg.h - open an nrfutil DFU package (zip) and decode everything in it.
 *
 * pkg_open() reads manifest.json and every .bin/.dat it names into memory,
 * refusing anything unsafe before inflating it (path traversal in any member
 * name, members over PKG_MEMBER_MAX, sizes the archive misstates), and
 * decodes each init packet. It does not judge integrity (sizes against the
 * init packet, hashes, signatures): that is check.h's job, so that `inspect`
 * can still show a package whose image is corrupt.
 *
 * A pkg_t is heap-allocated by pkg_open() and owned by the caller, who frees
 * it with pkg_close(). Every pointer obtained from it stays valid until then.
 */
#ifndef CLI_PKG_H
#define CLI_PKG_H

#include <stddef.h>
#include <stdint.h>

#include "cli/manifest.h"
#include "proto/initpkt.h"

/* Largest nRF52 flash (nRF52840): no real image or member can be larger. */
#define PKG_MEMBER_MAX (1024u * 1024u)
/* manifest.json of nrfutil is ~400 bytes; allow generous metadata. */
#define PKG_MANIFEST_MAX (64u * 1024u)

typedef enum {
    PKG_OK = 0,
    PKG_ERR_IO = -1,       /* the package file cannot be opened or read */
    PKG_ERR_ZIP = -2,      /* not a zip archive, or a corrupt one */
    PKG_ERR_MEMBER = -3,   /* unsafe, missing, oversized or lying zip member */
    PKG_ERR_MANIFEST = -4, /* manifest.json missing, not JSON, or wrong shape */
    PKG_ERR_LEGACY = -5,   /* legacy (SDK <= 11) package format */
    PKG_ERR_INITPKT = -6,  /* a .dat that is not a usable init packet */
    PKG_ERR_NOMEM = -7,
} pkg_err_t;

typedef struct {
    pkg_kind_t kind;
    const char *manifest_key; /* "application", "softdevice", ... (static) */
    char *bin_name, *dat_name;
    uint8_t *bin, *dat;
    size_t bin_len, dat_len;
    int has_metadata; /* softdevice_bootloader's info_read_only_metadata */
    uint32_t meta_sd_size, meta_bl_size;
    initpkt_t init;
} pkg_image_t;

typedef struct pkg pkg_t;

/* One-line reason for a failure: names the file, member and field involved. */
typedef struct {
    char msg[320];
} pkg_diag_t;

/*
 * Open and decode `path`. On success *out owns everything; on failure *out is
 * NULL and `diag->msg` says what is wrong (no trailing newline).
 */
__attribute__((warn_unused_result)) pkg_err_t pkg_open(const char *path, pkg_t **out,
                                                       pkg_diag_t *diag);
void pkg_close(pkg_t *pkg);

const char *pkg_path(const pkg_t *pkg);
size_t pkg_image_count(const pkg_t *pkg);
/* Images in transfer order; i < pkg_image_count(). */
const pkg_image_t *pkg_image(const pkg_t *pkg, size_t i);

const char *pkg_strerror(pkg_err_t err);

#endif
