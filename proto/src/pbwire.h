/*
 * pbwire.h - just enough protobuf wire-format walking to locate the signed
 * bytes of an init packet. protobuf-c decodes values but cannot report where
 * a sub-message sat in the input, and the bootloader verifies the signature
 * over raw input bytes, not over a re-serialization (spec 4.5).
 */
#ifndef PROTO_PBWIRE_H
#define PROTO_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * In a serialized dfu.Packet, find the span the bootloader hashes for the
 * signature: from the first byte of the InitCommand payload to the end of the
 * Command that holds it (Packet.command or Packet.signed_command.command).
 * Returns false if the wire data is malformed or an init field does not occur
 * exactly once in the packet.
 */
bool pbwire_init_span(const uint8_t *buf, size_t len, size_t *off, size_t *span);

#endif
