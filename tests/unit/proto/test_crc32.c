/* Unit tests of proto/crc32: the IEEE CRC-32 of frames and settings pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "proto/crc32.h"

/* Deterministic xorshift32 so a failure reproduces. */
static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static uint32_t zlib_crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static void test_crc32_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32_compute("123456789", 9), 0xCBF43926u);
    assert_int_equal(crc32_update(CRC32_INIT, "123456789", 9), 0xCBF43926u);
}

static void test_crc32_empty_is_zero(void **state)
{
    (void)state;
    assert_int_equal(crc32_compute(NULL, 0), 0u);
    assert_int_equal(crc32_update(0xCBF43926u, NULL, 0), 0xCBF43926u);
}

static void test_crc32_known_vectors(void **state)
{
    (void)state;
    /* Independent reference values (zlib / RFC 3720 style tables). */
    assert_int_equal(crc32_compute("a", 1), 0xE8B7BE43u);
    assert_int_equal(crc32_compute("abc", 3), 0x352441C2u);
    static const uint8_t zeros[32];
    assert_int_equal(crc32_compute(zeros, sizeof(zeros)), 0x190A55ADu);
    uint8_t ff[32];
    memset(ff, 0xFF, sizeof(ff));
    assert_int_equal(crc32_compute(ff, sizeof(ff)), 0xFF6CAB0Bu);
}

static void test_crc32_chunked_equals_whole(void **state)
{
    (void)state;
    uint8_t buf[1031];
    uint32_t s = 0x12345678u;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rng_next(&s);
    uint32_t whole = crc32_compute(buf, sizeof(buf));
    /* Every split point of two chunks. */
    for (size_t cut = 0; cut <= sizeof(buf); cut++) {
        uint32_t c = crc32_update(CRC32_INIT, buf, cut);
        c = crc32_update(c, buf + cut, sizeof(buf) - cut);
        assert_int_equal(c, whole);
    }
    /* Byte at a time, and uneven chunk sizes. */
    uint32_t c = CRC32_INIT;
    for (size_t i = 0; i < sizeof(buf); i++)
        c = crc32_update(c, buf + i, 1);
    assert_int_equal(c, whole);
    c = CRC32_INIT;
    for (size_t off = 0, n = 1; off < sizeof(buf); off += n, n = n * 3 % 97 + 1) {
        size_t take = n < sizeof(buf) - off ? n : sizeof(buf) - off;
        c = crc32_update(c, buf + off, take);
    }
    assert_int_equal(c, whole);
}

static void test_crc32_equals_zlib_on_random_buffers(void **state)
{
    (void)state;
    uint32_t s = 0xC0FFEE11u;
    static uint8_t buf[8192];
    for (int round = 0; round < 200; round++) {
        size_t len = rng_next(&s) % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng_next(&s);
        assert_int_equal(crc32_compute(buf, len), zlib_crc(buf, len));
    }
    /* Chaining matches zlib's chaining too. */
    uint32_t mine = crc32_update(CRC32_INIT, buf, 100);
    uint32_t theirs = (uint32_t)crc32(zlib_crc(buf, 100), buf + 100, 50);
    assert_int_equal(crc32_update(mine, buf + 100, 50), theirs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test(test_crc32_empty_is_zero),
        cmocka_unit_test(test_crc32_known_vectors),
        cmocka_unit_test(test_crc32_chunked_equals_whole),
        cmocka_unit_test(test_crc32_equals_zlib_on_random_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
