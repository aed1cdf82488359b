/* The virtual-time serial link: pacing, latency, and each fault kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "emulator/linkmodel.h"

static link_profile_t base(uint32_t baud)
{
    link_profile_t p = *link_profile_find("clean-115200");
    p.baud = baud;
    return p;
}

static void test_link_paces_bytes_at_the_baud_rate(void **state)
{
    (void)state;
    link_profile_t p = base(115200);
    p.latency_ns = 1000000;
    link_dir_t d;
    assert_int_equal(link_dir_init(&d, &p, 1), LINK_OK);
    uint8_t msg[100], out[200];
    memset(msg, 0x55, sizeof(msg));
    uint64_t done;
    assert_int_equal(link_dir_send(&d, 0, msg, sizeof(msg), &done), LINK_OK);
    assert_int_equal(done, 100 * link_byte_ns(115200)); /* 10 bit times a byte */
    assert_int_equal(link_byte_ns(115200), 86805);
    assert_int_equal(link_dir_next_arrival(&d), link_byte_ns(115200) + 1000000);
    /* nothing before the first byte's arrival, everything after the last one's */
    assert_int_equal(link_dir_recv(&d, link_dir_next_arrival(&d) - 1, out, sizeof(out)), 0);
    assert_int_equal(link_dir_recv(&d, done + 1000000, out, sizeof(out)), 100);
    assert_memory_equal(out, msg, 100);
    assert_int_equal(link_dir_next_arrival(&d), UINT64_MAX);
    /* a later write waits for the line, not for the caller's clock */
    assert_int_equal(link_dir_send(&d, 0, msg, 1, &done), LINK_OK);
    assert_int_equal(done, 101 * link_byte_ns(115200));
    link_dir_free(&d);
}

static void test_link_clean_profile_delivers_everything(void **state)
{
    (void)state;
    link_dir_t d;
    assert_int_equal(link_dir_init(&d, link_profile_find("clean-1M"), 7), LINK_OK);
    static uint8_t msg[20000], out[20000];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 31);
    uint64_t done;
    assert_int_equal(link_dir_send(&d, 0, msg, sizeof(msg), &done), LINK_OK);
    assert_int_equal(link_dir_recv(&d, done, out, sizeof(out)), sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));
    assert_int_equal(d.stats.dropped + d.stats.flipped_bits + d.stats.garbage, 0);
    link_dir_free(&d);
}

/* Sends 100 kB through `p` and returns the stats. */
static link_stats_t run(const link_profile_t *p, uint64_t seed, size_t *received)
{
    link_dir_t d;
    assert_int_equal(link_dir_init(&d, p, seed), LINK_OK);
    static uint8_t msg[100000], out[200000];
    memset(msg, 0xA5, sizeof(msg));
    for (size_t i = 999; i < sizeof(msg); i += 1000)
        msg[i] = 0x00; /* 1000-byte frames, for duplication */
    uint64_t done;
    assert_int_equal(link_dir_send(&d, 0, msg, sizeof(msg), &done), LINK_OK);
    *received = link_dir_recv(&d, UINT64_MAX, out, sizeof(out));
    link_stats_t s = d.stats;
    link_dir_free(&d);
    return s;
}

static void test_link_each_fault_kind_happens_and_is_counted(void **state)
{
    (void)state;
    size_t got;
    link_profile_t p = base(115200);
    p.drop = 0.01;
    link_stats_t s = run(&p, 1, &got);
    assert_true(s.dropped > 500 && s.dropped < 1500);
    assert_int_equal(got, 100000 - s.dropped);
    p = base(115200);
    p.ber = 1e-3;
    s = run(&p, 2, &got);
    assert_true(s.flipped_bits > 400 && s.flipped_bits < 1200);
    assert_int_equal(got, 100000);
    p = base(115200);
    p.garbage = 0.01, p.garbage_max = 4;
    s = run(&p, 3, &got);
    assert_int_equal(got, 100000 + s.garbage);
    assert_true(s.garbage > 0);
    p = base(115200);
    p.dup_frame = 0.5;
    s = run(&p, 4, &got);
    assert_true(s.dup_frames > 20);
    assert_int_equal(got, 100000 + s.dup_frames * 1000);
    p = base(115200);
    p.burst = 0.001, p.burst_len = 50;
    s = run(&p, 5, &got);
    assert_true(s.dropped >= 50);
}

static void test_link_stalls_delay_the_line(void **state)
{
    (void)state;
    link_profile_t p = base(1000000);
    p.stall_period_ns = 10000000, p.stall_ns = 5000000; /* stalled half the time */
    link_dir_t d;
    assert_int_equal(link_dir_init(&d, &p, 1), LINK_OK);
    static uint8_t msg[2000];
    uint64_t done;
    assert_int_equal(link_dir_send(&d, 0, msg, sizeof(msg), &done), LINK_OK);
    /* 2000 bytes = 20 ms of line time, plus at least two 5 ms stalls */
    assert_true(done >= 30000000);
    assert_true(d.stats.stalls >= 2);
    link_dir_free(&d);
}

static void test_link_same_seed_same_faults(void **state)
{
    (void)state;
    size_t a, b;
    const link_profile_t *gsm = link_profile_find("gsm");
    assert_non_null(gsm);
    link_stats_t s1 = run(gsm, 99, &a), s2 = run(gsm, 99, &b), s3 = run(gsm, 100, &b);
    assert_memory_equal(&s1, &s2, sizeof(s1));
    assert_true(memcmp(&s1, &s3, sizeof(s1)) != 0);
}

static void test_link_disconnect_loses_bytes_until_reconnect(void **state)
{
    (void)state;
    link_dir_t d;
    assert_int_equal(link_dir_init(&d, link_profile_find("clean-115200"), 1), LINK_OK);
    uint8_t msg[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, out[20];
    uint64_t done;
    assert_int_equal(link_dir_send(&d, 0, msg, 10, &done), LINK_OK);
    link_dir_disconnect(&d);
    assert_int_equal(link_dir_send(&d, done, msg, 10, &done), LINK_OK);
    assert_int_equal(link_dir_recv(&d, UINT64_MAX, out, sizeof(out)), 0);
    link_dir_reconnect(&d, done);
    assert_int_equal(link_dir_send(&d, done, msg, 10, &done), LINK_OK);
    assert_int_equal(link_dir_recv(&d, UINT64_MAX, out, sizeof(out)), 10);
    assert_int_equal(d.stats.dropped, 20);
    link_dir_free(&d);
}

static void test_link_profiles_are_listed_and_found(void **state)
{
    (void)state;
    size_t n = 0;
    while (link_profile_at(n))
        assert_ptr_equal(link_profile_find(link_profile_at(n)->name), link_profile_at(n)), n++;
    assert_true(n >= 5);
    assert_null(link_profile_find("carrier-pigeon"));
    assert_non_null(link_profile_find("noisy"));
    assert_true(link_profile_find("noisy")->ber > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_paces_bytes_at_the_baud_rate),
        cmocka_unit_test(test_link_clean_profile_delivers_everything),
        cmocka_unit_test(test_link_each_fault_kind_happens_and_is_counted),
        cmocka_unit_test(test_link_stalls_delay_the_line),
        cmocka_unit_test(test_link_same_seed_same_faults),
        cmocka_unit_test(test_link_disconnect_loses_bytes_until_reconnect),
        cmocka_unit_test(test_link_profiles_are_listed_and_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
