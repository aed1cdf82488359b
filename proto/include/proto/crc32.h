/*
 * crc32.h - the CRC-32 every dfuart frame and the nRF5 bootloader settings use.
 *
 * Reflected IEEE 802.3 CRC-32 (polynomial 0xEDB88320, init 0xFFFFFFFF, final
 * XOR 0xFFFFFFFF), identical to zlib's crc32() and the SDK's crc32_compute().
 * Pure: no tables in RAM, no globals, so it runs unchanged on Cortex-M4 and in
 * the host tools. Check value: crc32("123456789") == 0xCBF43926.
 */
#ifndef PROTO_CRC32_H
#define PROTO_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Start value for a running CRC: crc32_update(CRC32_INIT, ...) == crc32_compute(...). */
#define CRC32_INIT 0u

/*
 * Continue a CRC over `len` more bytes. `crc` is a previous result (or
 * CRC32_INIT), so a CRC over chunks equals the CRC of their concatenation.
 * `data` may be NULL only when `len` is 0.
 */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

/* CRC-32 of one buffer. */
uint32_t crc32_compute(const void *data, size_t len);

#endif
