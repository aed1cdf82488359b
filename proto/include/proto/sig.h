/*
 * sig.h - ECDSA P-256 keys and signatures in the byte orders nrfutil and the
 * nRF5 bootloader use (spec 4.4), on top of OpenSSL libcrypto.
 *
 * nrfutil stores a signature as reverse(r) || reverse(s) and a raw public key
 * as reverse(X) || reverse(Y), each half 32 bytes. This module hides that:
 * callers pass the bytes exactly as they appear in a .dat, a settings page
 * or nrfutil's public_key.c.
 *
 * Host only. A sig_key_t is heap-allocated by sig_key_load()/sig_key_from_raw_le()
 * and owned by the caller, who frees it with sig_key_free().
 */
#ifndef PROTO_SIG_H
#define PROTO_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_SHA256_LEN 32u
#define SIG_RAW_LEN    64u /* signature (r||s) or public key (X||Y) */

typedef struct sig_key sig_key_t;

typedef enum {
    SIG_OK = 0,
    SIG_ERR_IO = -1,      /* key file cannot be read; errno says why */
    SIG_ERR_FORMAT = -2,  /* key file is none of the accepted formats */
    SIG_ERR_CURVE = -3,   /* a key, but not on P-256 */
    SIG_ERR_BAD_SIG = -4, /* signature does not verify */
    SIG_ERR_SIG_LEN = -5, /* signature is not 64 bytes */
    SIG_ERR_CRYPTO = -6,  /* libcrypto failed internally (out of memory, ...) */
} sig_err_t;

/*
 * Load a key from `path`: a PEM public key, a PEM EC private key (the public
 * half is used; nrfutil's "keys display" output with its warning header is
 * accepted), nrfutil's C source `public_key.c` (`pk[64]`), or a text file of
 * 128 hex digits (nrfutil `--format hex`). On error *out is NULL.
 */
__attribute__((warn_unused_result)) sig_err_t sig_key_load(const char *path, sig_key_t **out);

/* A public key from 64 raw bytes in nrfutil order (reversed X || reversed Y). */
__attribute__((warn_unused_result)) sig_err_t sig_key_from_raw_le(const uint8_t raw[SIG_RAW_LEN],
                                                                  sig_key_t **out);

/* The public key in nrfutil order, e.g. to print or compare with public_key.c. */
void sig_key_raw_le(const sig_key_t *key, uint8_t raw[SIG_RAW_LEN]);

void sig_key_free(sig_key_t *key);

/* SHA-256 in normal (big-endian) byte order. */
void sig_sha256(const void *data, size_t len, uint8_t out[SIG_SHA256_LEN]);

/*
 * Verify an nrfutil-order signature (reversed r || reversed s) over `msg`
 * with ECDSA P-256 / SHA-256. SIG_OK only when it verifies.
 */
__attribute__((warn_unused_result)) sig_err_t sig_verify_le(const sig_key_t *key, const void *msg,
                                                            size_t msg_len, const uint8_t *sig,
                                                            size_t sig_len);

const char *sig_strerror(sig_err_t err);

/* Reverse `n` bytes in place (nrfutil's little-endian hash/signature halves). */
void sig_reverse(uint8_t *buf, size_t n);

#endif
