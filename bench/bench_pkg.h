/*
 * bench_pkg.h - a synthetic, signed nrfutil application package of any size,
 * built exactly as nrfutil 6.1.7 would (shared spec nrf5-bootloader.md §4.3-4.5):
 * the .bin, an InitCommand (op INIT, type APPLICATION, fw/hw version, sd_req,
 * sd/bl/app size with zeros present, SHA-256 of the .bin byte-reversed,
 * is_debug false, one boot_validation {GENERATED_CRC, ""}) serialized with
 * protobuf-c (proto/dfu-cc.proto), signed over the InitCommand bytes with an
 * ECDSA P-256 PEM key via OpenSSL and stored as reverse(r) || reverse(s), in
 * Packet{signed_command}; zipped with libzip with nrfutil's manifest.json.
 * For dfuart-bench's host-RSS measurement (there is no 1 MiB fixture).
 */
#ifndef BENCH_PKG_H
#define BENCH_PKG_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_pkg_spec {
    size_t bin_len; /* multiple of 4, as nrfutil pads */
    uint64_t seed;  /* deterministic .bin bytes (xorshift) */
    uint32_t fw_version, hw_version;
    uint32_t sd_req;     /* one value */
    const char *key_pem; /* private key (PEM) */
    const char *base;    /* member names: BASE.bin, BASE.dat */
} bench_pkg_spec_t;

/* Write the zip to `zip_path`. 0 on success, else -1 with one line in err. */
int bench_pkg_make(const bench_pkg_spec_t *spec, const char *zip_path, char *err, size_t err_len);

#endif
