/* hex.h - lowercase hex text for byte strings (hashes, signatures, keys). */
#ifndef CLI_HEX_H
#define CLI_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len hex digits and a NUL into `out` (capacity >= 2*len+1); returns out. */
char *hex_encode(const uint8_t *data, size_t len, char *out);

#endif
