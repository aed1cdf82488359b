/*
 * frame.h - dfuart wire frames: packet layout, CRC-32 and COBS framing
 * (proto/PROTOCOL.md sections 1-2).
 *
 * Pure: no I/O, no heap, no globals, no clock. The same code runs in the
 * device firmware, the emulator and the host CLI. All storage is the
 * caller's: the decoder writes decoded packets into a buffer the caller
 * provides, and a decoded frame's payload points into that buffer (valid
 * until the next call that feeds the decoder).
 */
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_VERSION     1u
#define FRAME_HDR_LEN     12u
#define FRAME_CRC_LEN     4u
#define FRAME_MAX_PAYLOAD 2048u
#define FRAME_MAX_PACKET  (FRAME_HDR_LEN + FRAME_MAX_PAYLOAD + FRAME_CRC_LEN)
/* COBS adds one byte per 254 (rounded up) plus the leading code; then the delimiter. */
#define FRAME_WIRE_LEN(packet) ((packet) + (packet) / 254u + 2u)
#define FRAME_MAX_WIRE         FRAME_WIRE_LEN(FRAME_MAX_PACKET)

typedef enum {
    FRAME_OBJ_NONE = 0,
    FRAME_OBJ_INIT = 1, /* the init packet (.dat) */
    FRAME_OBJ_FW = 2,   /* the firmware image (.bin) */
} frame_object_t;

typedef struct {
    uint8_t type;
    uint8_t status;
    uint8_t object;
    uint16_t seq;
    uint32_t offset;
    uint16_t len;
    const uint8_t *payload; /* len bytes; NULL allowed when len == 0 */
} frame_t;

/*
 * Results. FRAME_NEED_MORE and FRAME_READY are the normal decoder results;
 * FRAME_DROP_* tell the caller a frame was discarded (bad input, counted) and
 * decoding goes on; FRAME_ERR_* are caller bugs.
 */
typedef enum {
    FRAME_NEED_MORE = 1, /* all input consumed, no complete frame */
    FRAME_READY = 2,     /* *out holds a valid frame */
    FRAME_OK = 0,
    FRAME_DROP_CRC = -1,      /* CRC-32 mismatch */
    FRAME_DROP_COBS = -2,     /* a block ran past the delimiter */
    FRAME_DROP_SHORT = -3,    /* fewer bytes than a header and CRC */
    FRAME_DROP_LEN = -4,      /* header len does not match the packet */
    FRAME_DROP_VERSION = -5,  /* not protocol version 1 */
    FRAME_DROP_OVERFLOW = -6, /* longer than the decoder's buffer */
    FRAME_ERR_ARG = -20,      /* NULL, or payload over FRAME_MAX_PAYLOAD */
    FRAME_ERR_SPACE = -21,    /* output buffer too small */
} frame_result_t;

/*
 * Encode `f` as a packet, COBS-stuff it and append the 0x00 delimiter into
 * `out` (cap bytes; FRAME_WIRE_LEN(FRAME_HDR_LEN + f->len + FRAME_CRC_LEN)
 * always suffices). *written gets the wire length. FRAME_OK or FRAME_ERR_*.
 */
__attribute__((warn_unused_result)) frame_result_t frame_encode(const frame_t *f, uint8_t *out,
                                                                size_t cap, size_t *written);

/* Statistics a link owner can report: every drop is counted by kind. */
typedef struct {
    uint32_t frames;    /* valid frames delivered */
    uint32_t crc;       /* dropped: CRC */
    uint32_t malformed; /* dropped: COBS, short, len, version */
    uint32_t overflow;  /* dropped: too long */
} frame_stats_t;

/* Streaming decoder state: caller-allocated, fields private. */
typedef struct {
    uint8_t *buf; /* decoded packet bytes (caller storage) */
    size_t cap;
    size_t len;
    uint8_t code;    /* current COBS block code */
    uint8_t left;    /* block bytes still to come */
    bool started;    /* at least one byte of this frame seen */
    bool overflowed; /* discarding until the next delimiter */
    frame_stats_t stats;
} frame_decoder_t;

/* `buf` should hold FRAME_MAX_PACKET bytes (smaller buffers drop longer frames). */
void frame_decoder_init(frame_decoder_t *d, uint8_t *buf, size_t cap);

/*
 * Feed `n` bytes. Stops at the first frame boundary that produced a frame or
 * a drop: returns FRAME_READY (frame in *out) or a FRAME_DROP_* code, with
 * *consumed bytes used; call again with the rest. Returns FRAME_NEED_MORE
 * when everything was consumed without reaching a boundary. Never reads
 * past `in + n`, never writes past `buf + cap`.
 */
__attribute__((warn_unused_result)) frame_result_t
frame_decoder_push(frame_decoder_t *d, const uint8_t *in, size_t n, size_t *consumed, frame_t *out);

/* Forget a partial frame (e.g. after a long silence on the link). */
void frame_decoder_reset(frame_decoder_t *d);

const char *frame_result_name(frame_result_t r);

/* Little-endian helpers shared by every protocol user. */
static inline void frame_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void frame_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint16_t frame_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}
static inline uint32_t frame_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
