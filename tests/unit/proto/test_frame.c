/*
 * Wire frames (proto/PROTOCOL.md 1-2): round trips, every corruption is
 * detected, the decoder resynchronises after garbage, cut frames and resets,
 * and never overruns its buffer whatever the chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"
#include "proto/msg.h"

static uint8_t wire[FRAME_MAX_WIRE];
static uint8_t dbuf[FRAME_MAX_PACKET];

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static size_t encode(const frame_t *f)
{
    size_t n = 0;
    assert_int_equal(frame_encode(f, wire, sizeof(wire), &n), FRAME_OK);
    return n;
}

static void assert_same(const frame_t *a, const frame_t *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->object, b->object);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->len, b->len);
    if (a->len)
        assert_memory_equal(a->payload, b->payload, a->len);
}

/* Feeds `n` bytes in chunks of `chunk` (0 = random sizes); collects READY frames. */
static size_t feed(frame_decoder_t *d, const uint8_t *in, size_t n, size_t chunk, frame_t *got,
                   size_t max_got, uint8_t copies[][FRAME_MAX_PACKET])
{
    size_t found = 0, pos = 0;
    while (pos < n) {
        size_t c = chunk ? chunk : 1 + rnd() % 300;
        if (c > n - pos)
            c = n - pos;
        size_t off = 0;
        while (off < c) {
            size_t used = 0;
            frame_t f;
            frame_result_t r = frame_decoder_push(d, in + pos + off, c - off, &used, &f);
            assert_true(used <= c - off);
            off += used;
            if (r == FRAME_READY && found < max_got) {
                memcpy(copies[found], f.payload, f.len); /* payload lives in dbuf */
                f.payload = copies[found];
                got[found++] = f;
            }
            if (r == FRAME_NEED_MORE)
                assert_int_equal(off, c);
        }
        pos += c;
    }
    return found;
}

static void fill(uint8_t *p, size_t n, int zeros)
{
    for (size_t i = 0; i < n; i++)
        p[i] = zeros ? (uint8_t)rnd() : (uint8_t)(1 + rnd() % 255);
}

static void test_frame_round_trip_every_size_and_chunking(void **state)
{
    (void)state;
    static uint8_t payload[FRAME_MAX_PAYLOAD], copies[4][FRAME_MAX_PACKET];
    static const size_t sizes[] = {0,   1,   2,   238, 239, 240,  241,  242,
                                   253, 254, 255, 508, 509, 1000, 2047, 2048};
    static const size_t chunks[] = {1, 2, 7, 254, 255, 4096, 0};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int zeros = 0; zeros < 2; zeros++)
            for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
                fill(payload, sizes[s], zeros);
                frame_t f = {MSG_DATA,           0,      FRAME_OBJ_FW, (uint16_t)rnd(), rnd(),
                             (uint16_t)sizes[s], payload};
                size_t n = encode(&f);
                assert_true(n <= FRAME_WIRE_LEN(FRAME_HDR_LEN + sizes[s] + FRAME_CRC_LEN));
                assert_int_equal(wire[n - 1], 0);
                assert_null(memchr(wire, 0, n - 1)); /* the only zero is the delimiter */
                frame_decoder_t d;
                frame_decoder_init(&d, dbuf, sizeof(dbuf));
                frame_t got[4];
                assert_int_equal(feed(&d, wire, n, chunks[c], got, 4, copies), 1);
                assert_same(&f, &got[0]);
            }
}

static void test_frame_all_zero_and_all_ff_payloads(void **state)
{
    (void)state;
    static uint8_t payload[FRAME_MAX_PAYLOAD], copies[1][FRAME_MAX_PACKET];
    for (int v = 0; v < 2; v++) {
        memset(payload, v ? 0xFF : 0x00, sizeof(payload));
        frame_t f = {MSG_DATA, 0, 2, 1, 0, FRAME_MAX_PAYLOAD, payload};
        size_t n = encode(&f);
        assert_true(n <= FRAME_MAX_WIRE);
        frame_decoder_t d;
        frame_decoder_init(&d, dbuf, sizeof(dbuf));
        frame_t got[1];
        assert_int_equal(feed(&d, wire, n, 1, got, 1, copies), 1);
        assert_same(&f, &got[0]);
    }
}

/* Flipping any single bit of an encoded frame never yields a wrong frame. */
static void test_frame_every_bit_flip_detected(void **state)
{
    (void)state;
    uint8_t payload[300], copies[4][FRAME_MAX_PACKET];
    fill(payload, sizeof(payload), 1);
    frame_t f = {MSG_DATA, 0, 2, 7, 4096, sizeof(payload), payload};
    size_t n = encode(&f);
    static uint8_t bad[FRAME_MAX_WIRE];
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(bad, wire, n);
            bad[i] ^= (uint8_t)(1u << bit);
            frame_decoder_t d;
            frame_decoder_init(&d, dbuf, sizeof(dbuf));
            frame_t got[4];
            size_t k = feed(&d, bad, n, 0, got, 4, copies);
            /* a flip may split the frame in two at a new zero; neither part may pass */
            assert_int_equal(k, 0);
            uint8_t zero = 0;
            k = feed(&d, &zero, 1, 1, got, 4, copies); /* flush a frame left open */
            assert_int_equal(k, 0);
        }
}

static void test_frame_resync_after_garbage_and_cut_frames(void **state)
{
    (void)state;
    uint8_t payload[500], copies[8][FRAME_MAX_PACKET];
    static uint8_t stream[8 * FRAME_MAX_WIRE];
    fill(payload, sizeof(payload), 1);
    size_t pos = 0;
    frame_t f = {MSG_DATA, 0, 2, 1, 0, sizeof(payload), payload};
    /* garbage, a frame cut in half, then two good frames */
    fill(stream, 100, 1);
    pos = 100;
    size_t n = encode(&f);
    memcpy(stream + pos, wire, n / 2);
    pos += n / 2;
    stream[pos++] = 0x00; /* reset mid-frame: the other side starts over */
    f.seq = 2;
    n = encode(&f);
    memcpy(stream + pos, wire, n);
    pos += n;
    stream[pos++] = 0x00; /* stray delimiters are ignored */
    stream[pos++] = 0x00;
    f.seq = 3;
    n = encode(&f);
    memcpy(stream + pos, wire, n);
    pos += n;
    frame_decoder_t d;
    frame_decoder_init(&d, dbuf, sizeof(dbuf));
    frame_t got[8];
    assert_int_equal(feed(&d, stream, pos, 0, got, 8, copies), 2);
    assert_int_equal(got[0].seq, 2);
    assert_int_equal(got[1].seq, 3);
    assert_true(d.stats.crc + d.stats.malformed >= 1);
}

static void test_frame_overflow_is_dropped_and_recovered(void **state)
{
    (void)state;
    uint8_t small[64], payload[100], copies[2][FRAME_MAX_PACKET];
    fill(payload, sizeof(payload), 0);
    frame_t big = {MSG_DATA, 0, 2, 1, 0, sizeof(payload), payload};
    frame_t tiny = {MSG_QUERY, 0, 0, 2, 0, 0, NULL};
    frame_decoder_t d;
    frame_decoder_init(&d, small, sizeof(small));
    frame_t got[2];
    size_t n = encode(&big);
    assert_int_equal(feed(&d, wire, n, 0, got, 2, copies), 0);
    assert_int_equal(d.stats.overflow, 1);
    n = encode(&tiny);
    assert_int_equal(feed(&d, wire, n, 0, got, 2, copies), 1);
    assert_int_equal(got[0].type, MSG_QUERY);
}

static void test_frame_random_bytes_never_overrun(void **state)
{
    (void)state;
    static uint8_t noise[1 << 16], copies[64][FRAME_MAX_PACKET];
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(noise); i++) /* sparse zeros: long frames too */
            noise[i] = (rnd() % 97 == 0) ? 0 : (uint8_t)rnd();
        frame_decoder_t d;
        frame_decoder_init(&d, dbuf, sizeof(dbuf));
        frame_t got[64];
        size_t k = feed(&d, noise, sizeof(noise), 0, got, 64, copies);
        assert_true(k <= 1); /* a 2^-32 CRC accident at most */
        assert_true(d.len <= d.cap);
    }
}

static void test_frame_header_checks(void **state)
{
    (void)state;
    frame_t f = {MSG_HELLO, 0, 0, 9, 0, 0, NULL};
    size_t n = 0;
    assert_int_equal(frame_encode(&f, wire, 10, &n), FRAME_ERR_SPACE);
    f.len = FRAME_MAX_PAYLOAD + 1;
    uint8_t big[FRAME_MAX_PAYLOAD + 1] = {0};
    f.payload = big;
    assert_int_equal(frame_encode(&f, wire, sizeof(wire), &n), FRAME_ERR_ARG);
    /* a 3-byte frame is too short to hold a header */
    const uint8_t shorty[] = {0x04, 0x01, 0x02, 0x03, 0x00};
    frame_decoder_t d;
    frame_decoder_init(&d, dbuf, sizeof(dbuf));
    size_t used;
    frame_t out;
    assert_int_equal(frame_decoder_push(&d, shorty, sizeof(shorty), &used, &out), FRAME_DROP_SHORT);
    assert_int_equal(used, sizeof(shorty));
}

static void test_msg_payloads_round_trip(void **state)
{
    (void)state;
    msg_info_t i = {2048, 2, 3, 7, 50016, 0xB2A87E96u, 0x33000, 0x42000, 0x80000, 4096, 5}, i2;
    uint8_t b[MSG_INFO_LEN];
    msg_info_pack(&i, b);
    msg_info_unpack(b, &i2);
    assert_memory_equal(&i, &i2, sizeof(i));
    msg_status_body_t s = {2, 2, -21, 141, 8192, 0x12345678u, 141, 50016}, s2;
    uint8_t c[MSG_STATUS_LEN];
    msg_status_pack(&s, c);
    msg_status_unpack(c, &s2);
    assert_memory_equal(&s, &s2, sizeof(s));
    assert_string_equal(msg_status_name(MSG_TOO_LARGE), "TOO_LARGE");
    assert_string_equal(msg_status_name(200), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_round_trip_every_size_and_chunking),
        cmocka_unit_test(test_frame_all_zero_and_all_ff_payloads),
        cmocka_unit_test(test_frame_every_bit_flip_detected),
        cmocka_unit_test(test_frame_resync_after_garbage_and_cut_frames),
        cmocka_unit_test(test_frame_overflow_is_dropped_and_recovered),
        cmocka_unit_test(test_frame_random_bytes_never_overrun),
        cmocka_unit_test(test_frame_header_checks),
        cmocka_unit_test(test_msg_payloads_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
