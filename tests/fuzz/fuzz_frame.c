/*
 * fuzz_frame.c - the COBS/CRC frame decoder (proto/frame.h) on arbitrary wire
 * bytes, fed in chunks whose sizes come from the input.
 *
 * Input: [k][k chunk sizes][cap][wire bytes...]; k = (byte & 15) + 1, chunk
 * sizes are used in rotation (0 counts as 1), `cap` sizes a second, small
 * decoder (16 + 8*cap bytes).
 *
 * Invariants:
 *  - chunking does not matter: the chunked decoder reports exactly the
 *    boundaries, drop codes and frames of a decoder fed everything at once;
 *  - the decoder makes progress (a boundary consumes >= 1 byte) and never
 *    reads past a chunk or writes past its buffer (every chunk and every
 *    buffer is a heap block of exactly its size, so ASan sees any overrun);
 *  - every READY frame is sane (payload inside the buffer, len <= 2048),
 *    re-encodes with frame_encode() into FRAME_WIRE_LEN bytes with no 0x00
 *    but the delimiter, and decodes back (into a buffer of exactly the packet
 *    size) to the same fields and payload; one byte less of output space is
 *    refused;
 *  - a small decoder agrees frame for frame: same frame when it fits, an
 *    overflow drop when it does not;
 *  - the statistics count what was returned.
 */
#include "fuzz_common.h"
#include "proto/crc32.h"
#include "proto/frame.h"

typedef struct {
    frame_result_t r;
    frame_t f;         /* payload pointer not kept: it dies with the next push */
    uint32_t pay_crc;  /* CRC-32 of the payload, to compare frames across decoders */
    size_t packet_len; /* decoded bytes of a READY frame */
} result_t;

typedef struct {
    result_t *v;
    size_t n, cap;
} results_t;

static void add_result(results_t *rs, frame_result_t r, const frame_t *f)
{
    FUZZ_CHECK(rs->n < rs->cap, "more boundaries than delimiters in the input");
    result_t *x = &rs->v[rs->n++];
    memset(x, 0, sizeof(*x));
    x->r = r;
    if (r == FRAME_READY) {
        x->f = *f;
        x->f.payload = NULL;
        x->pay_crc = crc32_compute(f->payload, f->len);
        x->packet_len = FRAME_HDR_LEN + (size_t)f->len + FRAME_CRC_LEN;
    }
}

static bool same_frame(const frame_t *a, const frame_t *b)
{
    return a->type == b->type && a->status == b->status && a->object == b->object &&
           a->seq == b->seq && a->offset == b->offset && a->len == b->len;
}

/* A READY frame from `d`: sane, and frame_encode() + decode gives it back. */
static void check_ready(const frame_decoder_t *d, const frame_t *f)
{
    FUZZ_CHECK(f->len <= FRAME_MAX_PAYLOAD, "payload of %u bytes", f->len);
    FUZZ_CHECK(f->payload == d->buf + FRAME_HDR_LEN, "payload does not follow the header");
    FUZZ_CHECK(FRAME_HDR_LEN + (size_t)f->len + FRAME_CRC_LEN <= d->cap,
               "frame of %u bytes from a %zu-byte buffer", f->len, d->cap);

    size_t packet = FRAME_HDR_LEN + (size_t)f->len + FRAME_CRC_LEN;
    size_t cap = FRAME_WIRE_LEN(packet), written = 0;
    uint8_t *wire = malloc(cap);
    FUZZ_CHECK(wire, "out of memory");
    FUZZ_CHECK(frame_encode(f, wire, cap - 1, &written) == FRAME_ERR_SPACE,
               "encode accepted %zu bytes of space for a %zu-byte worst case", cap - 1, cap);
    frame_result_t e = frame_encode(f, wire, cap, &written);
    FUZZ_CHECK(e == FRAME_OK, "re-encoding a decoded frame: %s", frame_result_name(e));
    FUZZ_CHECK(written >= packet + 2 && written <= cap, "encoded %zu bytes (cap %zu)", written,
               cap);
    FUZZ_CHECK(memchr(wire, 0, written - 1) == NULL && wire[written - 1] == 0,
               "encoded frame has a 0x00 before its delimiter");

    uint8_t *buf = malloc(packet);
    FUZZ_CHECK(buf, "out of memory");
    frame_decoder_t d2;
    frame_decoder_init(&d2, buf, packet);
    size_t used = 0;
    frame_t back;
    frame_result_t r = frame_decoder_push(&d2, wire, written, &used, &back);
    FUZZ_CHECK(r == FRAME_READY && used == written, "re-encoded frame decodes as %s after %zu/%zu",
               frame_result_name(r), used, written);
    FUZZ_CHECK(same_frame(&back, f), "re-encoded frame decodes to other header fields");
    FUZZ_CHECK(f->len == 0 || memcmp(back.payload, f->payload, f->len) == 0,
               "re-encoded frame decodes to another payload");
    free(buf);
    free(wire);
}

/* Push `n` bytes (one heap block of exactly n) until consumed, recording each boundary. */
static void feed(frame_decoder_t *d, const uint8_t *src, size_t n, results_t *rs)
{
    uint8_t *chunk = fuzz_dup(src, n);
    size_t done = 0;
    while (done < n) {
        size_t used = SIZE_MAX;
        frame_t f;
        frame_result_t r = frame_decoder_push(d, chunk + done, n - done, &used, &f);
        FUZZ_CHECK(used <= n - done, "consumed %zu of %zu bytes", used, n - done);
        done += used;
        if (r == FRAME_NEED_MORE) {
            FUZZ_CHECK(done == n, "NEED_MORE with %zu bytes left", n - done);
            break;
        }
        FUZZ_CHECK(used > 0, "a boundary that consumed nothing (no progress)");
        FUZZ_CHECK(r == FRAME_READY || (r <= FRAME_DROP_CRC && r >= FRAME_DROP_OVERFLOW),
                   "push returned %d", (int)r);
        FUZZ_CHECK(chunk[done - 1] == 0, "a boundary not at a delimiter");
        if (r == FRAME_READY)
            check_ready(d, &f);
        add_result(rs, r, &f);
    }
    free(chunk);
}

static void check_stats(const frame_decoder_t *d, const results_t *rs)
{
    uint32_t ready = 0, crc = 0, overflow = 0, other = 0;
    for (size_t i = 0; i < rs->n; i++) {
        frame_result_t r = rs->v[i].r;
        ready += r == FRAME_READY;
        crc += r == FRAME_DROP_CRC;
        overflow += r == FRAME_DROP_OVERFLOW;
        other += r != FRAME_READY && r != FRAME_DROP_CRC && r != FRAME_DROP_OVERFLOW;
    }
    FUZZ_CHECK(d->stats.frames == ready && d->stats.crc == crc && d->stats.overflow == overflow &&
                   d->stats.malformed == other,
               "stats %u/%u/%u/%u, results %u/%u/%u/%u", d->stats.frames, d->stats.crc,
               d->stats.overflow, d->stats.malformed, ready, crc, overflow, other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    size_t k = (size_t)(fuzz_u8(&in) & 15u) + 1u, got;
    const uint8_t *sizes = fuzz_take(&in, k, &got);
    if (got < k)
        return 0;
    size_t small_cap = 16u + 8u * fuzz_u8(&in);
    const uint8_t *wire = in.p;
    size_t n = in.left;

    /* At most one boundary per delimiter. */
    size_t max_results = 1;
    for (size_t i = 0; i < n; i++)
        max_results += wire[i] == 0;
    results_t chunked = {calloc(max_results, sizeof(result_t)), 0, max_results};
    results_t whole = {calloc(max_results, sizeof(result_t)), 0, max_results};
    results_t small = {calloc(max_results, sizeof(result_t)), 0, max_results};
    uint8_t *buf_a = malloc(FRAME_MAX_PACKET), *buf_b = malloc(FRAME_MAX_PACKET);
    uint8_t *buf_c = malloc(small_cap);
    FUZZ_CHECK(chunked.v && whole.v && small.v && buf_a && buf_b && buf_c, "out of memory");

    frame_decoder_t a, b, c;
    frame_decoder_init(&a, buf_a, FRAME_MAX_PACKET);
    frame_decoder_init(&b, buf_b, FRAME_MAX_PACKET);
    frame_decoder_init(&c, buf_c, small_cap);
    size_t off = 0;
    for (size_t i = 0; off < n; i++) {
        size_t len = sizes[i % k] ? sizes[i % k] : 1u;
        len = len < n - off ? len : n - off;
        feed(&a, wire + off, len, &chunked);
        feed(&c, wire + off, len, &small);
        off += len;
    }
    feed(&b, wire, n, &whole);

    FUZZ_CHECK(chunked.n == whole.n, "%zu boundaries chunked, %zu whole", chunked.n, whole.n);
    FUZZ_CHECK(small.n == whole.n, "%zu boundaries with a small buffer, %zu with a full one",
               small.n, whole.n);
    for (size_t i = 0; i < whole.n; i++) {
        const result_t *x = &chunked.v[i], *y = &whole.v[i], *s = &small.v[i];
        FUZZ_CHECK(x->r == y->r, "boundary %zu: %s chunked, %s whole", i, frame_result_name(x->r),
                   frame_result_name(y->r));
        FUZZ_CHECK(x->r != FRAME_READY || (same_frame(&x->f, &y->f) && x->pay_crc == y->pay_crc),
                   "boundary %zu: chunked and whole decoders disagree on the frame", i);
        if (y->r == FRAME_READY && y->packet_len <= small_cap)
            FUZZ_CHECK(s->r == FRAME_READY && same_frame(&s->f, &y->f) && s->pay_crc == y->pay_crc,
                       "boundary %zu: a frame that fits the small buffer came out as %s", i,
                       frame_result_name(s->r));
        else if (y->r == FRAME_READY || y->r == FRAME_DROP_OVERFLOW)
            FUZZ_CHECK(s->r == FRAME_DROP_OVERFLOW, "boundary %zu: %zu-byte frame in %zu: %s", i,
                       y->packet_len, small_cap, frame_result_name(s->r));
        if (s->r == FRAME_READY)
            FUZZ_CHECK(y->r == FRAME_READY, "boundary %zu: only the small decoder saw a frame", i);
    }
    check_stats(&a, &chunked);
    check_stats(&b, &whole);
    check_stats(&c, &small);

    free(buf_a);
    free(buf_b);
    free(buf_c);
    free(chunked.v);
    free(whole.v);
    free(small.v);
    return 0;
}
