/*
 * R2: complete updates over faulty links in the co-simulation (sim.h), for
 * each named link profile and many seeds: the update completes, bank 0 is
 * byte-exact, no corrupted frame ever reaches flash, and the session's
 * retry/resume events account for the link's faults.
 *
 * "No corrupted frame reaches flash" is checked on the flash model itself:
 * whenever the device acknowledges firmware offset N (any STATUS reply for
 * the firmware object, as it leaves the device), bank 1 [0, N) must equal
 * the .bin byte for byte, and after COMMIT the whole image plus 0xFF padding
 * (sim_report_t.bad_acks counts violations).
 *
 * "Events account for every fault", made checkable. The sim matches every
 * frame sent with what arrives (links are FIFO), so it knows per direction
 * how many frames were damaged or lost (dropped bytes, flipped bits, merged
 * garbage, a pulled cable) and how many arrived twice. With F = damaged +
 * duplicated frames in both directions + frames the receiver dropped for
 * want of a buffer:
 *   1. No fault, no recovery: F = 0 and no stall => 0 retries, 0 resumes.
 *   2. Every lost request surfaces: a damaged request other than HELLO (the
 *      host re-sends HELLO by design until INFO) => retries > 0. Each such
 *      request is awaited; its loss is either a gap (WRONG_OFFSET) or a
 *      timeout.
 *   3. No invented failures: retries whose cause is not a timeout
 *      (wrong_offset, lost_session, busy, unexpected, verify) <= F: each
 *      names a frame that did not arrive, or arrived twice.
 *   4. Timeouts <= damaged frames + stalls + L. A timeout without a damaged
 *      frame is a reply late by a stall, or by latency the host has not
 *      measured yet: every reply times a round trip (the INFO answering the
 *      first HELLO already does), and until the first one the wait is
 *      SESSION_FLASH_MS, doubling per timeout. L = the doublings until it
 *      covers the round trip plus the device's SESSION_FLASH_MS (0 without
 *      latency). Late or lost, every timeout is still counted as one.
 *   5. The report's retry count equals the RETRY events emitted.
 * A lost reply that a later reply makes redundant (replies acknowledge
 * cumulatively) is harmless, which is why 2 is stated for requests only.
 *
 * Virtual times are printed, never asserted. To measure: `--stats [SEEDS]`
 * runs every profile with SEEDS seeds (default 50; the same checks) and
 * prints mean/max virtual update time, its ratio to clean-115200 and the
 * retries per update; `--trace PROFILE SEED` prints every event of one run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/pkg.h"
#include "fixtures.h"
#include "sim.h"

#define PKG     FIX_NRFUTIL "/packages/app_signed_v2.zip"
#define OLD_APP FIX_NRFUTIL "/images/app_s132.bin"

static cJSON *g_pkgs;
static pkg_t *g_pkg;
static session_image_t g_img;

typedef struct {
    unsigned runs, retries, timeouts, resumes, max_retries;
    uint64_t damaged, dups, vtime_ns, max_vtime_ns;
} tally_t;

static sim_plan_t plan(const char *profile, uint64_t seed)
{
    return (sim_plan_t){.link_h2d = profile,
                        .link_d2h = profile,
                        .seed_h2d = seed,
                        .seed_d2h = seed ^ 0x9E3779B97F4A7C15ull};
}

static sim_t *make(const char *profile, uint64_t seed)
{
    sim_config_t c = {.chip = BL_CHIP_NRF52832,
                      .sd = EMU_SD_S132_7_2_0,
                      .app_path = OLD_APP,
                      .app_version = 1,
                      .profile = BL_PROFILE_UPDATE_FROM_APP,
                      .sdk = BL_SDK_17_1};
    fix_public_key(g_pkgs, c.public_key);
    c.plan = plan(profile, seed);
    char err[320];
    sim_t *s = sim_new(&c, err, sizeof(err));
    if (!s)
        fail_msg("%s", err);
    return s;
}

static unsigned count_retries(const sim_report_t *r, bool timeouts)
{
    unsigned n = 0;
    for (size_t i = 0; i < r->n_events; i++)
        if (r->events[i].kind == SESSION_EV_RETRY &&
            (r->events[i].cause == SESSION_CAUSE_TIMEOUT) == timeouts)
            n++;
    return n;
}

/* Timeouts before the host's wait covers a round trip of `rtt_ms` unmeasured (rule 4). */
static unsigned latency_allowance(uint64_t rtt_ms)
{
    unsigned n = 0;
    for (uint64_t wait = SESSION_FLASH_MS; wait < rtt_ms + SESSION_FLASH_MS; wait *= 2u)
        n++;
    return n;
}

static void check_accounting(const char *what, const sim_report_t *r, const link_profile_t *p)
{
    uint64_t damaged = (uint64_t)r->fr_h2d.damaged + r->fr_d2h.damaged;
    uint64_t faults = damaged + r->fr_h2d.dups + r->fr_d2h.dups + r->rx.no_buffer;
    uint64_t stalls = r->link_h2d.stalls + r->link_d2h.stalls;
    unsigned timeouts = count_retries(r, true), others = count_retries(r, false);
    unsigned allow = latency_allowance(2u * p->latency_ns / 1000000u);
    if (faults == 0 && stalls == 0 && (r->res.retries || r->res.resumes))
        fail_msg("%s: %u retries, %u resumes on a fault-free link", what, r->res.retries,
                 r->res.resumes);
    if (r->fr_h2d.damaged > r->fr_h2d.damaged_hello && r->res.retries == 0)
        fail_msg("%s: %u requests damaged but no retry", what,
                 r->fr_h2d.damaged - r->fr_h2d.damaged_hello);
    if (others > faults)
        fail_msg("%s: %u non-timeout retries for %llu faulty frames", what, others,
                 (unsigned long long)faults);
    if (timeouts > damaged + stalls + allow)
        fail_msg("%s: %u timeouts for %llu damaged frames, %llu stalls, %u latency", what, timeouts,
                 (unsigned long long)damaged, (unsigned long long)stalls, allow);
    assert_int_equal(timeouts + others, r->res.retries);
}

/* One update on the pristine device (sim_reset) over `profile` with `seed`. */
static void one_run(sim_t *s, const char *profile, uint64_t seed, tally_t *t)
{
    sim_plan_t p = plan(profile, seed);
    assert_int_equal(sim_reset(s, &p), 0);
    sim_report_t r;
    session_err_t e = sim_run_image(s, &g_img, &r);
    char what[96];
    snprintf(what, sizeof(what), "%s seed %llu", profile, (unsigned long long)seed);
    if (e != SESSION_OK)
        fail_msg("%s: %s: %s", what, session_strerror(e), r.res.msg);
    if (r.bad_acks)
        fail_msg("%s: corrupted data in flash: %s", what, r.bad_ack_msg);
    if (r.fence_hits)
        fail_msg("%s: %s", what, r.fence_msg);
    assert_true(sim_bank0_equals(s, g_img.bin, g_img.bin_len));
    assert_int_equal(sim_app_version(s), g_img.fw_version);
    assert_int_equal(r.flash_faults, 0);
    check_accounting(what, &r, link_profile_find(profile));
    t->runs++;
    t->retries += r.res.retries;
    t->timeouts += count_retries(&r, true);
    t->resumes += r.res.resumes;
    if (r.res.retries > t->max_retries)
        t->max_retries = r.res.retries;
    t->damaged += (uint64_t)r.fr_h2d.damaged + r.fr_d2h.damaged;
    t->dups += (uint64_t)r.fr_h2d.dups + r.fr_d2h.dups;
    t->vtime_ns += r.t_total_ns;
    if (r.t_total_ns > t->max_vtime_ns)
        t->max_vtime_ns = r.t_total_ns;
}

static void print_tally(const char *profile, const tally_t *t)
{
    printf("link %s: %u updates ok, frames damaged %llu, duplicated %llu, retries %u (%u "
           "timeouts, max %u in one update), resumes %u, virtual time mean %.1f s, max %.1f s\n",
           profile, t->runs, (unsigned long long)t->damaged, (unsigned long long)t->dups,
           t->retries, t->timeouts, t->max_retries, t->resumes, (double)t->vtime_ns / t->runs / 1e9,
           (double)t->max_vtime_ns / 1e9);
}

static tally_t profile_runs(const char *profile, unsigned seeds)
{
    tally_t t = {0};
    sim_t *s = make(profile, 0);
    for (unsigned i = 1; i <= seeds; i++)
        one_run(s, profile, 1000u * i + 17u, &t);
    sim_free(s);
    print_tally(profile, &t);
    return t;
}

static void test_sim_link_clean_115200(void **state)
{
    (void)state;
    (void)profile_runs("clean-115200", 20);
}

static void test_sim_link_clean_1m(void **state)
{
    (void)state;
    (void)profile_runs("clean-1M", 20);
}

static void test_sim_link_usb_115200(void **state)
{
    (void)state;
    (void)profile_runs("usb-115200", 20);
}

static void test_sim_link_usb_1m(void **state)
{
    (void)state;
    (void)profile_runs("usb-1M", 20);
}

static void test_sim_link_noisy(void **state)
{
    (void)state;
    (void)profile_runs("noisy", 20);
}

static void test_sim_link_gsm(void **state)
{
    (void)state;
    (void)profile_runs("gsm", 10);
}

static void test_sim_link_gsm_9600(void **state)
{
    (void)state;
    (void)profile_runs("gsm-9600", 6);
}

/* The cable is pulled for a virtual second mid-transfer: timeouts, then the host carries on. */
static void test_sim_link_disconnect_mid_transfer(void **state)
{
    (void)state;
    sim_t *s = make("clean-115200", 1);
    sim_report_t clean;
    assert_int_equal(sim_run_image(s, &g_img, &clean), SESSION_OK);
    sim_plan_t p = {.link_h2d = "clean-115200",
                    .link_d2h = "clean-115200",
                    .disconnect_at_ms = clean.t_total_ns / 2u / 1000000u,
                    .disconnect_ms = 1000};
    assert_int_equal(sim_reset(s, &p), 0);
    sim_report_t r;
    session_err_t e = sim_run_image(s, &g_img, &r);
    char line[512];
    sim_report_line(&r, line, sizeof(line));
    printf("cable pulled at %llu ms for 1 s: %s\n", (unsigned long long)p.disconnect_at_ms, line);
    if (e != SESSION_OK)
        fail_msg("%s", r.res.msg);
    assert_true(sim_bank0_equals(s, g_img.bin, g_img.bin_len));
    assert_int_equal(r.bad_acks, 0);
    assert_int_equal(r.fence_hits, 0);
    assert_true(r.fr_h2d.damaged + r.fr_d2h.damaged > 0);
    assert_true(count_retries(&r, true) > 0);
    assert_true(r.t_total_ns > clean.t_total_ns + 1000000000ull); /* the second was lost */
    check_accounting("disconnect", &r, link_profile_find("clean-115200"));
    sim_free(s);
}

static int setup(void **state)
{
    (void)state;
    g_pkgs = fix_packages_json();
    pkg_diag_t d;
    if (pkg_open(PKG, &g_pkg, &d) != PKG_OK)
        return -1;
    g_img = sim_image_of(pkg_image(g_pkg, 0));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pkg_close(g_pkg);
    cJSON_Delete(g_pkgs);
    return 0;
}

/* ---- measuring (not a test): --stats [SEEDS], --trace PROFILE SEED ---------------------- */

static const char *const kind_names[] = {"start", "progress", "retry", "resume", "commit", "done"};

/* Every event of one update, with the virtual time: to see what a profile costs and why. */
static void trace_run(void **state)
{
    const char *const *arg = *state;
    uint64_t seed = strtoull(arg[1], NULL, 0);
    sim_t *s = make(arg[0], seed);
    sim_report_t r;
    session_err_t e = sim_run_image(s, &g_img, &r);
    for (size_t i = 0; i < r.n_events; i++) {
        const sim_event_t *ev = &r.events[i];
        if (ev->kind == SESSION_EV_PROGRESS)
            printf("%8llu ms progress %u/%u\n", (unsigned long long)ev->t_ms, ev->offset,
                   ev->total);
        else
            printf("%8llu ms %s %s @%u: %s\n", (unsigned long long)ev->t_ms, kind_names[ev->kind],
                   ev->kind == SESSION_EV_RETRY ? session_cause_name(ev->cause) : "", ev->offset,
                   ev->reason);
    }
    char line[512];
    sim_report_line(&r, line, sizeof(line));
    printf("%s\ndevice frames: %u queued, %u CRC, %u malformed, %u overflow, %u no buffer, %u "
           "idle cuts\n",
           line, r.rx.frames, r.rx.crc, r.rx.malformed, r.rx.overflow, r.rx.no_buffer,
           r.rx.idle_cuts);
    sim_free(s);
    assert_int_equal(e, SESSION_OK);
}

/* Every profile, `seeds` seeds each (the same checks as the tests), and a summary table. */
static void stats_runs(void **state)
{
    unsigned seeds = *(unsigned *)*state;
    double clean = 0;
    printf("%-14s %5s %9s %9s %7s %8s %8s %6s\n", "profile", "runs", "mean s", "max s", "x clean",
           "retries", "timeouts", "max r");
    for (size_t i = 0; link_profile_at(i); i++) {
        const char *name = link_profile_at(i)->name;
        tally_t t = profile_runs(name, seeds);
        double mean = (double)t.vtime_ns / t.runs / 1e9;
        if (strcmp(name, "clean-115200") == 0)
            clean = mean;
        printf("%-14s %5u %9.2f %9.2f %7.2f %8.1f %8.1f %6u\n", name, t.runs, mean,
               (double)t.max_vtime_ns / 1e9, clean > 0 ? mean / clean : 0.0,
               (double)t.retries / t.runs, (double)t.timeouts / t.runs, t.max_retries);
    }
}

/* --stats [SEEDS] / --trace PROFILE SEED: 1 when it ran (result in *rc), 0 for the tests. */
static int measure(int argc, char **argv, int *rc)
{
    static unsigned seeds;
    static const char *trace[2];
    if (argc >= 2 && strcmp(argv[1], "--stats") == 0) {
        seeds = argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 50u;
        seeds = seeds ? seeds : 1u;
        const struct CMUnitTest t[] = {cmocka_unit_test_prestate(stats_runs, &seeds)};
        *rc = cmocka_run_group_tests(t, setup, teardown);
        return 1;
    }
    if (argc == 4 && strcmp(argv[1], "--trace") == 0 && link_profile_find(argv[2])) {
        trace[0] = argv[2];
        trace[1] = argv[3];
        const struct CMUnitTest t[] = {cmocka_unit_test_prestate(trace_run, (void *)trace)};
        *rc = cmocka_run_group_tests(t, setup, teardown);
        return 1;
    }
    if (argc >= 2) {
        fprintf(stderr, "usage: %s [--stats [SEEDS] | --trace PROFILE SEED]\n", argv[0]);
        *rc = 64;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 0;
    if (measure(argc, argv, &rc))
        return rc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_link_clean_115200),
        cmocka_unit_test(test_sim_link_clean_1m),
        cmocka_unit_test(test_sim_link_usb_115200),
        cmocka_unit_test(test_sim_link_usb_1m),
        cmocka_unit_test(test_sim_link_noisy),
        cmocka_unit_test(test_sim_link_gsm),
        cmocka_unit_test(test_sim_link_gsm_9600),
        cmocka_unit_test(test_sim_link_disconnect_mid_transfer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
