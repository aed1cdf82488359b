#include "proto/frame.h"

#include <string.h>

#include "proto/crc32.h"

/* ---- encoding ---------------------------------------------------------------------- */

/* COBS encoder writing straight into `out`; `code_at` is the pending code byte. */
typedef struct {
    uint8_t *out;
    size_t cap, pos, code_at;
    uint8_t code;
    bool full;
} cobs_enc_t;

static void enc_start_block(cobs_enc_t *e)
{
    e->code_at = e->pos++;
    e->code = 1;
}

static void enc_byte(cobs_enc_t *e, uint8_t b)
{
    if (e->pos >= e->cap) {
        e->full = true;
        return;
    }
    if (b == 0) {
        e->out[e->code_at] = e->code;
        enc_start_block(e);
        return;
    }
    e->out[e->pos++] = b;
    if (++e->code == 0xFF) { /* 254 data bytes: block ends without an implied zero */
        e->out[e->code_at] = e->code;
        enc_start_block(e);
    }
}

static void enc_bytes(cobs_enc_t *e, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && !e->full; i++)
        enc_byte(e, p[i]);
}

frame_result_t frame_encode(const frame_t *f, uint8_t *out, size_t cap, size_t *written)
{
    if (!f || !out || !written || f->len > FRAME_MAX_PAYLOAD || (f->len && !f->payload))
        return FRAME_ERR_ARG;
    *written = 0;
    if (cap < FRAME_WIRE_LEN(FRAME_HDR_LEN + (size_t)f->len + FRAME_CRC_LEN))
        return FRAME_ERR_SPACE;
    uint8_t hdr[FRAME_HDR_LEN], crc[FRAME_CRC_LEN];
    hdr[0] = FRAME_VERSION;
    hdr[1] = f->type;
    hdr[2] = f->status;
    hdr[3] = f->object;
    frame_put16(hdr + 4, f->seq);
    frame_put16(hdr + 6, f->len);
    frame_put32(hdr + 8, f->offset);
    frame_put32(crc, crc32_update(crc32_compute(hdr, sizeof(hdr)), f->payload, f->len));

    cobs_enc_t e = {out, cap, 0, 0, 1, false};
    enc_start_block(&e);
    enc_bytes(&e, hdr, sizeof(hdr));
    enc_bytes(&e, f->payload, f->len);
    enc_bytes(&e, crc, sizeof(crc));
    if (e.full || e.pos >= cap)
        return FRAME_ERR_SPACE;
    out[e.code_at] = e.code;
    out[e.pos++] = 0x00;
    *written = e.pos;
    return FRAME_OK;
}

/* ---- decoding ---------------------------------------------------------------------- */

void frame_decoder_init(frame_decoder_t *d, uint8_t *buf, size_t cap)
{
    memset(d, 0, sizeof(*d));
    d->buf = buf;
    d->cap = cap;
}

void frame_decoder_reset(frame_decoder_t *d)
{
    d->len = 0;
    d->code = 0;
    d->left = 0;
    d->started = false;
    d->overflowed = false;
}

static void emit(frame_decoder_t *d, uint8_t b)
{
    if (d->len >= d->cap)
        d->overflowed = true;
    else
        d->buf[d->len++] = b;
}

/* One non-delimiter byte of COBS input. */
static void cobs_byte(frame_decoder_t *d, uint8_t b)
{
    if (d->overflowed)
        return;
    if (d->left > 0) {
        emit(d, b);
        d->left--;
        return;
    }
    if (d->started && d->code != 0xFF) /* the zero between two blocks */
        emit(d, 0x00);
    d->started = true;
    d->code = b;
    d->left = (uint8_t)(b - 1u);
}

/* Checks a complete decoded packet; fills *out on success. */
static frame_result_t check_packet(const frame_decoder_t *d, frame_t *out)
{
    const uint8_t *p = d->buf;
    if (d->len < FRAME_HDR_LEN + FRAME_CRC_LEN)
        return FRAME_DROP_SHORT;
    size_t body = d->len - FRAME_CRC_LEN;
    if (crc32_compute(p, body) != frame_get32(p + body))
        return FRAME_DROP_CRC;
    if (p[0] != FRAME_VERSION)
        return FRAME_DROP_VERSION;
    if (frame_get16(p + 6) != body - FRAME_HDR_LEN)
        return FRAME_DROP_LEN;
    out->type = p[1];
    out->status = p[2];
    out->object = p[3];
    out->seq = frame_get16(p + 4);
    out->len = frame_get16(p + 6);
    out->offset = frame_get32(p + 8);
    out->payload = p + FRAME_HDR_LEN;
    return FRAME_READY;
}

static void count(frame_decoder_t *d, frame_result_t r)
{
    if (r == FRAME_READY)
        d->stats.frames++;
    else if (r == FRAME_DROP_CRC)
        d->stats.crc++;
    else if (r == FRAME_DROP_OVERFLOW)
        d->stats.overflow++;
    else
        d->stats.malformed++;
}

/* At a delimiter: what the bytes since the last one amount to. */
static frame_result_t end_of_frame(frame_decoder_t *d, frame_t *out)
{
    frame_result_t r;
    if (d->overflowed)
        r = FRAME_DROP_OVERFLOW;
    else if (d->left != 0)
        r = FRAME_DROP_COBS;
    else
        r = check_packet(d, out);
    count(d, r);
    return r;
}

frame_result_t frame_decoder_push(frame_decoder_t *d, const uint8_t *in, size_t n, size_t *consumed,
                                  frame_t *out)
{
    if (!d || !consumed || !out || (n && !in))
        return FRAME_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != 0x00) {
            cobs_byte(d, in[i]);
            continue;
        }
        bool empty = !d->started && !d->overflowed;
        frame_result_t r = empty ? FRAME_NEED_MORE : end_of_frame(d, out);
        frame_decoder_reset(d);
        if (!empty) {
            *consumed = i + 1;
            return r;
        }
    }
    *consumed = n;
    return FRAME_NEED_MORE;
}

const char *frame_result_name(frame_result_t r)
{
    switch (r) {
    case FRAME_NEED_MORE:
        return "need more";
    case FRAME_READY:
        return "ready";
    case FRAME_OK:
        return "ok";
    case FRAME_DROP_CRC:
        return "CRC mismatch";
    case FRAME_DROP_COBS:
        return "COBS block cut by delimiter";
    case FRAME_DROP_SHORT:
        return "frame too short";
    case FRAME_DROP_LEN:
        return "length field mismatch";
    case FRAME_DROP_VERSION:
        return "unsupported protocol version";
    case FRAME_DROP_OVERFLOW:
        return "frame longer than the buffer";
    case FRAME_ERR_ARG:
        return "invalid argument";
    case FRAME_ERR_SPACE:
        return "output buffer too small";
    }
    return "unknown";
}
