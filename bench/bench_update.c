/*
 * bench_update.c - dfuart-bench: how close `dfuart update` comes to the
 * wire's and the flash's limits (issue "Throughput at the wire's limit,
 * measured"). See bench/README.md.
 *
 *  1. Virtual time (tests/sim/sim.h): the real host session, link model,
 *     device receiver, flash timing model and bootloader replay, one row per
 *     (chip, baud, image, window, pre-erase). The window is the device's
 *     (INFO), i.e. DFW_RX_BUFFERS: this binary has the default; sibling
 *     binaries built with other values (bench/CMakeLists.txt) are run with
 *     --sim-rows and their rows merged.
 *  2. Targets (a)-(g), PASS/FAIL with the numbers.
 *  3. Real time (bench_rt.c): first byte of `dfuart update` on a pty; a 300 KB
 *     update over `dfuart-emu serve --baud 1000000` vs the virtual prediction;
 *     peak RSS of `dfuart update`/`verify` on a synthetic 1 MiB package.
 *  4. Device footprint from the Cortex-M4 build (scripts/build-arm.sh).
 *
 * Exit status 0 even when a target fails (it is a benchmark); --strict: 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench_pkg.h"
#include "bench_rt.h"
#include "cli/pkg.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "proto/sig.h"
#include "sim.h"

#ifndef BENCH_SRC_DIR
#error "BENCH_SRC_DIR must be defined (bench/CMakeLists.txt)"
#endif
#ifndef BENCH_DFUART
#define BENCH_DFUART ""
#endif
#ifndef BENCH_EMU
#define BENCH_EMU ""
#endif
#ifndef BENCH_VARIANTS
#define BENCH_VARIANTS ""
#endif
#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE ""
#endif
#ifndef BENCH_BUILD_SANITIZE
#define BENCH_BUILD_SANITIZE 0
#endif

#define FIX      BENCH_SRC_DIR "/tests/fixtures/nrfutil/"
#define IMAGES   FIX "images/"
#define PKGS     FIX "packages/"
#define NS       1e-9
#define MS       1000000ull
#define MAX_ROWS 64

/* Targets (issue "Throughput at the wire's limit, measured"). */
#define TGT_WIRE_FACTOR    1.03    /* (a) transfer <= 1.03 x wire limit at 115200 */
#define TGT_FLASH_FRACTION 0.98    /* (b) >= 98 % of the serialized erase+write ceiling at 1M */
#define TGT_PREERASE_BPS   90000.0 /* (c) >= 90 KB/s at 1M with bank 1 pre-erased */
#define TGT_FIRST_BYTE_S   0.050   /* (d) first byte on the wire <= 50 ms after start */
#define TGT_RSS_KB         10240L  /* (e) peak RSS of `dfuart update`, 1 MiB package */
#define TGT_CODE_B         8192L   /* (f) dfuart libraries' code on Cortex-M4 */
#define TGT_RAM_B          6144L   /* (g) device RAM: .data + .bss + stack */

/* ---- the virtual-time rows ------------------------------------------------------------ */

typedef enum { BANK1_STALE, BANK1_FRESH } bank1_t;

typedef struct {
    const char *chip_name;
    bl_chip_t chip;
    flash_chip_t fchip;
    emu_sd_t sd;
    uint16_t sd_fwid; /* sim.h: the ~300 KB package is built for S132, sd_req 0x0101 */
    const char *old_app, *pkg, *link;
    bool preerase;     /* the device's idle pre-erase of bank 1 (dfw_rx_idle) */
    bank1_t bank1;     /* STALE: every page of the image's span holds old data */
    bool flash_timing; /* false: flash instant (`dfuart-emu serve` without --flash-timing) */
    bool aux;          /* not a table row: the real-time comparison */
} spec_t;

#define S840  "nRF52840", BL_CHIP_NRF52840, FLASH_CHIP_NRF52840, EMU_SD_S140_7_2_0, 0x0101
#define S832  "nRF52832", BL_CHIP_NRF52832, FLASH_CHIP_NRF52832, EMU_SD_S132_7_2_0, 0
#define LARGE "app_s132.bin", "app_signed_large.zip"
#define V2    "app_s132.bin", "app_signed_v2.zip"

static const spec_t SPECS[] = {
    {S840, LARGE, "clean-115200", false, BANK1_STALE, true, false},
    {S840, LARGE, "clean-115200", true, BANK1_STALE, true, false},
    {S840, LARGE, "clean-1M", false, BANK1_STALE, true, false},
    {S840, LARGE, "clean-1M", true, BANK1_STALE, true, false},
    {S832, V2, "clean-115200", false, BANK1_STALE, true, false},
    {S832, V2, "clean-115200", true, BANK1_STALE, true, false},
    {S832, V2, "clean-1M", false, BANK1_STALE, true, false},
    {S832, V2, "clean-1M", true, BANK1_STALE, true, false},
    /* the real-time check's predictions: a freshly created device (bank 1 blank), like serve's */
    {S840, LARGE, "clean-1M", true, BANK1_FRESH, true, true},
    {S840, LARGE, "clean-1M", true, BANK1_FRESH, false, true},
};
#define N_SPECS     (sizeof(SPECS) / sizeof(SPECS[0]))
#define SPEC_A      0u /* 115200, pre-erase off */
#define SPEC_B      2u /* 1M, pre-erase off */
#define SPEC_C      3u /* 1M, pre-erase on */
#define SPEC_RT     8u
#define SPEC_RT_OFF 9u

typedef struct {
    unsigned spec;
    unsigned window; /* from the device's INFO */
    int err;         /* session_err_t */
    int activated;   /* bank 0 holds the image afterwards */
    /* virtual ns relative to session_run() being called */
    uint64_t t_first_byte, t_start_ev, t_first_ack, t_last_ack, t_commit, t_done;
    uint32_t erase_pages; /* pages of the image's span in bank 1 not blank when the session began */
    uint64_t bytes_h2d;
    unsigned retries, resumes, no_buffer;
    char msg[160];
} row_t;

typedef struct {
    uint32_t len, pages, words, ff_words;
} img_stats_t;

typedef struct {
    double first_byte, first_ack, transfer, app, wire, flash_full, flash_row, bound, rate, ratio;
    img_stats_t st;
    uint32_t baud;
    const flash_chip_desc_t *fc;
} derived_t;

static uint8_t g_pk[64];

static uint32_t baud_of(const char *profile)
{
    const link_profile_t *p = link_profile_find(profile);
    return p ? p->baud : 0;
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1u) / a * a;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Bank 1 as a device that was updated before leaves it: a copy of the running image (what an
 * activation leaves), then an older, longer image's bytes: every page of the new image's span
 * must be erased before it is programmed. The pre-erase may erase it (dfw_stage.h). */
static int make_stale(sim_t *s, uint32_t old_len, uint32_t new_len, uint32_t page)
{
    emu_device_t *dev = sim_device(s);
    uint32_t b0 = emu_bank0_start(dev), b1 = emu_bank1_start(dev, old_len);
    uint32_t span = align_up(new_len, page);
    uint8_t *buf = malloc(span);
    if (!buf)
        return -1;
    uint32_t keep = old_len < span ? old_len : span;
    memcpy(buf, flash_bytes(dev->flash) + b0, keep);
    uint64_t x = 0x5DEECE66Dull;
    for (uint32_t i = keep; i < span; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)(x >> 32);
    }
    int rc = flash_load(dev->flash, b1, buf, span) == FLASH_OK ? 0 : -1;
    free(buf);
    return rc;
}

static uint32_t nonblank_pages(sim_t *s, uint32_t old_len, uint32_t new_len, uint32_t page)
{
    emu_device_t *dev = sim_device(s);
    const uint8_t *f = flash_bytes(dev->flash) + emu_bank1_start(dev, old_len);
    uint32_t n = 0;
    for (uint32_t p = 0; p < align_up(new_len, page); p += page)
        for (uint32_t i = 0; i < page; i++)
            if (f[p + i] != 0xFF) {
                n++;
                break;
            }
    return n;
}

static uint64_t ev_ns(const sim_report_t *r, uint64_t t_ms)
{
    uint64_t t = t_ms * MS;
    return t > r->t_start_ns ? t - r->t_start_ns : 0;
}

/* Fill the row's times from the session's events (virtual ms; +-1 ms). */
static void row_events(const sim_report_t *r, row_t *row)
{
    for (size_t i = 0; i < r->n_events; i++) {
        const sim_event_t *e = &r->events[i];
        switch (e->kind) {
        case SESSION_EV_START:
            if (!row->t_start_ev)
                row->t_start_ev = ev_ns(r, e->t_ms);
            break;
        case SESSION_EV_PROGRESS:
            if (e->object != FRAME_OBJ_FW)
                break;
            if (!row->t_first_ack && e->offset > 0) /* offset 0: the init packet's reply */
                row->t_first_ack = ev_ns(r, e->t_ms);
            if (e->offset == e->total)
                row->t_last_ack = ev_ns(r, e->t_ms);
            break;
        case SESSION_EV_COMMIT:
            row->t_commit = ev_ns(r, e->t_ms);
            break;
        case SESSION_EV_DONE:
            row->t_done = ev_ns(r, e->t_ms);
            break;
        default:
            break;
        }
    }
}

static int run_spec(unsigned idx, row_t *row)
{
    const spec_t *sp = &SPECS[idx];
    memset(row, 0, sizeof(*row));
    row->spec = idx;
    row->err = SESSION_ERR_ARG;
    char old_path[512], pkg_path[512];
    snprintf(old_path, sizeof(old_path), IMAGES "%s", sp->old_app);
    snprintf(pkg_path, sizeof(pkg_path), PKGS "%s", sp->pkg);
    long old_len = file_size(old_path);
    pkg_t *pkg = NULL;
    pkg_diag_t diag;
    if (old_len <= 0 || pkg_open(pkg_path, &pkg, &diag) != PKG_OK || !pkg_image_count(pkg)) {
        snprintf(row->msg, sizeof(row->msg), "cannot open %.70s / %.70s", old_path, pkg_path);
        pkg_close(pkg);
        return -1;
    }
    session_image_t img = sim_image_of(pkg_image(pkg, 0));

    sim_config_t c = {.chip = sp->chip,
                      .sd = sp->sd,
                      .app_path = old_path,
                      .app_version = 1,
                      .profile = BL_PROFILE_UPDATE_FROM_APP,
                      .sdk = BL_SDK_17_1,
                      .sd_fwid = sp->sd_fwid,
                      .no_idle_work = !sp->preerase};
    memcpy(c.public_key, g_pk, sizeof(g_pk));
    c.plan.link_h2d = c.plan.link_d2h = sp->link;
    char err[320];
    sim_t *s = sim_new(&c, err, sizeof(err));
    if (!s) {
        snprintf(row->msg, sizeof(row->msg), "sim_new: %.140s", err);
        pkg_close(pkg);
        return -1;
    }
    if (!sp->flash_timing)
        flash_attach_clock(sim_device(s)->flash, NULL);
    uint32_t page = flash_chip_info(sp->fchip)->page_size;
    if (sp->bank1 == BANK1_STALE && make_stale(s, (uint32_t)old_len, img.bin_len, page) != 0) {
        snprintf(row->msg, sizeof(row->msg), "cannot fill bank 1");
        sim_free(s);
        pkg_close(pkg);
        return -1;
    }
    sim_report_t rep;
    if (sp->preerase) {
        /*
         * The device idles before the update: a host asks (HELLO) with an image no device
         * can take, is refused before START, and goes away. The sim then runs the world
         * until it is quiet, i.e. until the idle pre-erase has nothing left to do.
         */
        static uint8_t huge[(1u << 20) + 4096u];
        session_image_t dummy = {img.dat, img.dat_len, huge, (uint32_t)sizeof(huge), false, 0};
        session_err_t e = sim_run_image(s, &dummy, &rep);
        if (e != SESSION_ERR_TOO_LARGE) {
            snprintf(row->msg, sizeof(row->msg), "idle run: %s", session_strerror(e));
            sim_free(s);
            pkg_close(pkg);
            return -1;
        }
    }
    row->erase_pages = nonblank_pages(s, (uint32_t)old_len, img.bin_len, page);
    session_err_t e = sim_run_image(s, &img, &rep);
    row->err = e;
    row->window = rep.res.have_before ? rep.res.before.window : 0;
    row->activated = e == SESSION_OK && sim_bank0_equals(s, img.bin, img.bin_len);
    row->t_first_byte =
        rep.t_first_byte_ns > rep.t_start_ns ? rep.t_first_byte_ns - rep.t_start_ns : 0;
    row_events(&rep, row);
    row->bytes_h2d = rep.bytes_h2d;
    row->retries = rep.res.retries;
    row->resumes = rep.res.resumes;
    row->no_buffer = rep.rx.no_buffer;
    if (e != SESSION_OK)
        snprintf(row->msg, sizeof(row->msg), "%s: %.120s", session_strerror(e), rep.res.msg);
    sim_free(s);
    pkg_close(pkg);
    return e == SESSION_OK ? 0 : -1;
}

/* --sim-rows: one line per row, for the parent (a binary built with another window). */
static void print_row_line(FILE *f, const row_t *r)
{
    fprintf(f,
            "ROW %u %u %d %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
            " %u %" PRIu64 " %u %u %u\n",
            r->spec, r->window, r->err, r->activated, r->t_first_byte, r->t_start_ev,
            r->t_first_ack, r->t_last_ack, r->t_commit, r->t_done, r->erase_pages, r->bytes_h2d,
            r->retries, r->resumes, r->no_buffer);
}

static bool parse_row_line(const char *l, row_t *r)
{
    memset(r, 0, sizeof(*r));
    int n = sscanf(l,
                   "ROW %u %u %d %d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %u %" SCNu64 " %u %u %u",
                   &r->spec, &r->window, &r->err, &r->activated, &r->t_first_byte, &r->t_start_ev,
                   &r->t_first_ack, &r->t_last_ack, &r->t_commit, &r->t_done, &r->erase_pages,
                   &r->bytes_h2d, &r->retries, &r->resumes, &r->no_buffer);
    if (n == 15 && r->err != SESSION_OK)
        snprintf(r->msg, sizeof(r->msg), "%s", session_strerror((session_err_t)r->err));
    return n == 15 && r->spec < N_SPECS;
}

/* ---- derived numbers -------------------------------------------------------------------- */

static img_stats_t g_stats[N_SPECS];

static int image_stats(unsigned idx, img_stats_t *st)
{
    char path[512];
    snprintf(path, sizeof(path), PKGS "%s", SPECS[idx].pkg);
    pkg_t *pkg = NULL;
    pkg_diag_t d;
    if (pkg_open(path, &pkg, &d) != PKG_OK || !pkg_image_count(pkg)) {
        pkg_close(pkg);
        return -1;
    }
    const pkg_image_t *a = pkg_image(pkg, 0);
    uint32_t page = flash_chip_info(SPECS[idx].fchip)->page_size;
    st->len = (uint32_t)a->bin_len;
    st->pages = align_up(st->len, page) / page;
    st->words = align_up(st->len, 4) / 4;
    st->ff_words = 0;
    for (uint32_t w = 0; w < st->words; w++) {
        uint8_t b[4] = {0xFF, 0xFF, 0xFF, 0xFF};
        for (uint32_t k = 0; k < 4 && 4 * w + k < st->len; k++)
            b[k] = a->bin[4 * w + k];
        st->ff_words += b[0] == 0xFF && b[1] == 0xFF && b[2] == 0xFF && b[3] == 0xFF;
    }
    pkg_close(pkg);
    return 0;
}

static derived_t derive(const row_t *r)
{
    const spec_t *sp = &SPECS[r->spec];
    derived_t d;
    memset(&d, 0, sizeof(d));
    d.st = g_stats[r->spec];
    d.baud = baud_of(sp->link);
    d.fc = flash_chip_info(sp->fchip);
    d.first_byte = (double)r->t_first_byte * NS;
    if (r->err == SESSION_OK && r->t_first_ack >= r->t_first_byte &&
        r->t_commit >= r->t_first_byte && r->t_done >= r->t_first_byte) {
        d.first_ack = (double)(r->t_first_ack - r->t_first_byte) * NS;
        d.transfer = (double)(r->t_commit - r->t_first_byte) * NS;
        d.app = (double)(r->t_done - r->t_first_byte) * NS;
    }
    d.wire = d.baud ? (double)d.st.len * 10.0 / d.baud : 0;
    double te = (double)d.fc->t_erase_ns * NS, tw = (double)d.fc->t_write_ns * NS;
    d.flash_full = d.st.pages * te + d.st.words * tw;
    d.flash_row = sp->flash_timing ? r->erase_pages * te + d.st.words * tw : 0;
    d.bound = d.wire > d.flash_row ? d.wire : d.flash_row;
    d.rate = d.transfer > 0 ? d.st.len / d.transfer : 0;
    d.ratio = d.transfer > 0 ? d.bound / d.transfer : 0;
    return d;
}

static const char *baud_name(uint32_t b, char *buf, size_t n)
{
    if (b % 1000000u == 0)
        snprintf(buf, n, "%uM", b / 1000000u);
    else
        snprintf(buf, n, "%u", b);
    return buf;
}

static const char *image_name(const spec_t *sp)
{
    return strstr(sp->pkg, "large") ? "app_large" : "app_v2";
}

/* ---- the real-time parts ------------------------------------------------------------------ */

typedef struct {
    bool ran;
    char note[512];
    /* (d) first byte */
    int fb_runs, fb_ok;
    double fb_median, fb_min, fb_max;
    char fb_err[160];
    /* real-time check */
    bool rt_ok;
    int rt_exit;
    double rt_wall, rt_wall_total;
    long rt_rss_kb;
    int serve_checkpoints;
    double serve_ckpt_ms, serve_ckpt_max_ms;
    char rt_err[200];
    /* RSS */
    bool rss_ok;
    long rss_update_kb, rss_verify_kb;
    int update_exit, verify_exit;
    char update_kind[32];
    char rss_err[200];
} rt_res_t;

typedef struct {
    const char *dfuart, *emu;
    char dir[64];
    int runs;
} rt_ctx_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void rt_first_byte_runs(const rt_ctx_t *c, rt_res_t *r)
{
    char *argv[] = {(char *)c->dfuart, "update", PKGS "app_signed_large.zip",
                    "--port",          "@PORT@", "--json",
                    "--timeout",       "2",      NULL};
    double t[101];
    int n = c->runs > 101 ? 101 : c->runs;
    r->fb_runs = n;
    for (int i = 0; i < n; i++) {
        double v = rt_first_byte(argv, 3000, r->fb_err, sizeof(r->fb_err));
        if (v >= 0)
            t[r->fb_ok++] = v;
    }
    if (r->fb_ok == 0)
        return;
    qsort(t, (size_t)r->fb_ok, sizeof(t[0]), cmp_double);
    r->fb_median = r->fb_ok % 2 ? t[r->fb_ok / 2] : (t[r->fb_ok / 2 - 1] + t[r->fb_ok / 2]) / 2;
    r->fb_min = t[0];
    r->fb_max = t[r->fb_ok - 1];
}

static int run_quiet(char *const argv[], int timeout_ms, rt_proc_t *p)
{
    if (rt_spawn(p, argv, false) != 0)
        return -1;
    return rt_wait(p, timeout_ms);
}

static int create_device(const rt_ctx_t *c, const char *dev)
{
    char *argv[] = {(char *)c->emu,
                    "create",
                    (char *)dev,
                    "--chip",
                    "nrf52840",
                    "--softdevice",
                    "s140-7.2.0",
                    "--app",
                    IMAGES "app_s132.bin",
                    "--app-version",
                    "1",
                    "--bootloader-version",
                    "1",
                    "--hw-version",
                    "52",
                    "--public-key",
                    FIX "keys/public_key.c",
                    NULL};
    rt_proc_t p;
    int st = run_quiet(argv, 20000, &p);
    rt_free(&p);
    return st;
}

/*
 * serve DEV on LINK (baud NULL: unpaced; with it the chip also spends the
 * flash model's erase/write times, --flash-timing); waits for "serving".
 */
static int serve_start(const rt_ctx_t *c, rt_proc_t *p, const char *dev, const char *link,
                       const char *baud)
{
    char *argv[12];
    int n = 0;
    argv[n++] = (char *)c->emu;
    argv[n++] = "serve";
    argv[n++] = (char *)dev;
    argv[n++] = "--pty";
    argv[n++] = (char *)link;
    argv[n++] = "--json";
    if (baud) {
        argv[n++] = "--baud";
        argv[n++] = (char *)baud;
        argv[n++] = "--flash-timing";
    }
    argv[n] = NULL;
    if (rt_spawn(p, argv, false) != 0)
        return -1;
    const char *l;
    while ((l = rt_next_line(p, 15000)) != NULL)
        if (strstr(l, "\"serving\""))
            return 0;
    rt_stop(p, SIGKILL, 2000);
    return -1;
}

/* SIGTERM; the serve's "exit" event has its checkpoint statistics. */
static void serve_stop(rt_proc_t *p, rt_res_t *r)
{
    rt_stop(p, SIGTERM, 10000);
    const char *l;
    while ((l = rt_next_line(p, 0)) != NULL) {
        if (!r || !strstr(l, "\"exit\""))
            continue;
        cJSON *j = cJSON_Parse(l);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "checkpoints");
        if (cJSON_IsNumber(k))
            r->serve_checkpoints = k->valueint;
        k = cJSON_GetObjectItemCaseSensitive(j, "checkpoint_ms");
        if (cJSON_IsNumber(k))
            r->serve_ckpt_ms = k->valuedouble;
        k = cJSON_GetObjectItemCaseSensitive(j, "checkpoint_max_ms");
        if (cJSON_IsNumber(k))
            r->serve_ckpt_max_ms = k->valuedouble;
        cJSON_Delete(j);
    }
    rt_free(p);
}

/* `dfuart update --json` lines: t_ms of the events, the error's kind. */
typedef struct {
    double start_ms, commit_ms, done_ms, last_ms;
    bool have_start, have_commit, have_done;
    char kind[32];
} upd_events_t;

static void scan_update_events(const char *out, upd_events_t *u)
{
    memset(u, 0, sizeof(*u));
    const char *p = out;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, n);
        cJSON *j = line ? cJSON_Parse(line) : NULL;
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t_ms");
        if (cJSON_IsString(ev)) {
            double tm = cJSON_IsNumber(t) ? t->valuedouble : 0;
            u->last_ms = tm;
            if (strcmp(ev->valuestring, "start") == 0)
                u->start_ms = tm, u->have_start = true;
            else if (strcmp(ev->valuestring, "commit") == 0)
                u->commit_ms = tm, u->have_commit = true;
            else if (strcmp(ev->valuestring, "done") == 0)
                u->done_ms = tm, u->have_done = true;
            else if (strcmp(ev->valuestring, "error") == 0) {
                const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
                if (cJSON_IsString(k))
                    snprintf(u->kind, sizeof(u->kind), "%s", k->valuestring);
            }
        }
        cJSON_Delete(j);
        free(line);
        p = nl ? nl + 1 : NULL;
    }
}

static void rt_update_1m(const rt_ctx_t *c, rt_res_t *r)
{
    char dev[128], link[128];
    snprintf(dev, sizeof(dev), "%s/rt.emu", c->dir);
    snprintf(link, sizeof(link), "%s/rt.tty", c->dir);
    if (create_device(c, dev) != 0) {
        snprintf(r->rt_err, sizeof(r->rt_err), "dfuart-emu create failed");
        return;
    }
    rt_proc_t serve;
    if (serve_start(c, &serve, dev, link, "1000000") != 0) {
        snprintf(r->rt_err, sizeof(r->rt_err), "dfuart-emu serve did not start");
        rt_free(&serve);
        return;
    }
    char *argv[] = {(char *)c->dfuart,
                    "update",
                    PKGS "app_signed_large.zip",
                    "--port",
                    link,
                    "--baud",
                    "1000000",
                    "--json",
                    "--timeout",
                    "30",
                    NULL};
    rt_proc_t p;
    r->rt_exit = run_quiet(argv, 180000, &p);
    upd_events_t u;
    scan_update_events(p.out ? p.out : "", &u);
    r->rt_rss_kb = p.maxrss_kb;
    r->rt_wall_total = p.t_exit - p.t_spawn;
    if (u.have_start && u.have_commit) {
        r->rt_ok = true;
        r->rt_wall = (u.commit_ms - u.start_ms) / 1e3;
    } else {
        snprintf(r->rt_err, sizeof(r->rt_err), "no start/commit events (exit %d, %s)", r->rt_exit,
                 u.kind[0] ? u.kind : "no error event");
    }
    rt_free(&p);
    serve_stop(&serve, r);
}

static void rt_rss(const rt_ctx_t *c, rt_res_t *r)
{
    char zip[128], dev[128], link[128], err[256];
    snprintf(zip, sizeof(zip), "%s/app_1mib.zip", c->dir);
    snprintf(dev, sizeof(dev), "%s/rss.emu", c->dir);
    snprintf(link, sizeof(link), "%s/rss.tty", c->dir);
    bench_pkg_spec_t ps = {.bin_len = 1u << 20,
                           .seed = 0x1234567ull,
                           .fw_version = 2,
                           .hw_version = 52,
                           .sd_req = 0x0100, /* S140 7.2.0 */
                           .key_pem = FIX "keys/private.pem",
                           .base = "app_1mib"};
    if (bench_pkg_make(&ps, zip, err, sizeof(err)) != 0) {
        snprintf(r->rss_err, sizeof(r->rss_err), "synthetic package: %.170s", err);
        return;
    }
    char *vargv[] = {(char *)c->dfuart, "verify", zip, "--key", FIX "keys/public.pem", NULL};
    rt_proc_t p;
    r->verify_exit = run_quiet(vargv, 60000, &p);
    r->rss_verify_kb = p.maxrss_kb;
    rt_free(&p);

    if (create_device(c, dev) != 0) {
        snprintf(r->rss_err, sizeof(r->rss_err), "dfuart-emu create failed");
        return;
    }
    rt_proc_t serve;
    if (serve_start(c, &serve, dev, link, NULL) != 0) {
        snprintf(r->rss_err, sizeof(r->rss_err), "dfuart-emu serve did not start");
        rt_free(&serve);
        return;
    }
    char *uargv[] = {(char *)c->dfuart,     "update", zip,         "--port", link, "--key",
                     FIX "keys/public.pem", "--json", "--timeout", "5",      NULL};
    r->update_exit = run_quiet(uargv, 60000, &p);
    r->rss_update_kb = p.maxrss_kb;
    upd_events_t u;
    scan_update_events(p.out ? p.out : "", &u);
    snprintf(r->update_kind, sizeof(r->update_kind), "%s", u.kind[0] ? u.kind : "none");
    rt_free(&p);
    serve_stop(&serve, NULL);
    r->rss_ok = r->rss_update_kb > 0 && r->rss_verify_kb > 0;
}

static void rm_tree_flat(const char *dir)
{
    static const char *names[] = {"app_1mib.zip", "rss.emu", "rss.tty",         "rss.emu.serve-tmp",
                                  "rt.emu",       "rt.tty",  "rt.emu.serve-tmp"};
    char p[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

static void run_realtime(const char *dfuart, const char *emu, int runs, rt_res_t *r)
{
    memset(r, 0, sizeof(*r));
    if (access(dfuart, X_OK) != 0 || access(emu, X_OK) != 0) {
        snprintf(r->note, sizeof(r->note), "real-time part skipped: %s or %s not executable",
                 dfuart, emu);
        return;
    }
    rt_ctx_t c = {dfuart, emu, "", runs};
    snprintf(c.dir, sizeof(c.dir), "/tmp/dfuart-bench-XXXXXX");
    if (!mkdtemp(c.dir)) {
        snprintf(r->note, sizeof(r->note), "mkdtemp: %s", strerror(errno));
        return;
    }
    r->ran = true;
    rt_first_byte_runs(&c, r);
    rt_update_1m(&c, r);
    rt_rss(&c, r);
    rm_tree_flat(c.dir);
}

/* ---- device footprint ---------------------------------------------------------------------- */

typedef struct {
    bool ok;
    char note[256];
    long code_libs, flash_image, data, bss, stack;
    char elf[512];
} fp_t;

static void footprint(const char *arm_dir, fp_t *fp)
{
    memset(fp, 0, sizeof(*fp));
    char map[512], cmd[1536], line[512];
    snprintf(fp->elf, sizeof(fp->elf), "%s/device_fw/port/nrf52/dfuart-nrf52832-example.elf",
             arm_dir);
    snprintf(map, sizeof(map), "%s/device_fw/port/nrf52/dfuart-nrf52832-example.map", arm_dir);
    if (access(fp->elf, R_OK) != 0 || access(map, R_OK) != 0) {
        snprintf(fp->note, sizeof(fp->note), "no Cortex-M4 build in %s (scripts/build-arm.sh %s)",
                 arm_dir, arm_dir);
        return;
    }
    snprintf(cmd, sizeof(cmd), "cmake -DMAP='%s' -P '%s/device_fw/port/nrf52/map-sizes.cmake' 2>&1",
             map, BENCH_SRC_DIR);
    FILE *f = popen(cmd, "r");
    fp->code_libs = -1;
    while (f && fgets(line, sizeof(line), f)) {
        long t, d, b, fl, ram;
        const char *k = strstr(line, "dfuart libraries (fw+proto)");
        if (k && sscanf(k + strlen("dfuart libraries (fw+proto)"), "%ld %ld %ld %ld %ld", &t, &d,
                        &b, &fl, &ram) == 5)
            fp->code_libs = fl;
    }
    if (f)
        pclose(f);
    snprintf(cmd, sizeof(cmd), "arm-none-eabi-size -A '%s' 2>&1", fp->elf);
    f = popen(cmd, "r");
    fp->data = fp->bss = fp->stack = -1;
    while (f && fgets(line, sizeof(line), f)) {
        char name[64];
        long size;
        if (sscanf(line, "%63s %ld", name, &size) != 2)
            continue;
        if (strcmp(name, ".data") == 0)
            fp->data = size;
        else if (strcmp(name, ".bss") == 0)
            fp->bss = size;
        else if (strcmp(name, ".stack") == 0)
            fp->stack = size;
        else if (strcmp(name, ".isr_vector") == 0 || strcmp(name, ".text") == 0 ||
                 strcmp(name, ".ARM.exidx") == 0)
            fp->flash_image += size;
    }
    if (f)
        pclose(f);
    if (fp->data < 0)
        fp->data = 0; /* no .data section at all */
    fp->ok = fp->code_libs >= 0 && fp->bss >= 0 && fp->stack >= 0;
    if (!fp->ok)
        snprintf(fp->note, sizeof(fp->note), "could not read sizes from %.200s", fp->elf);
    else
        fp->flash_image += fp->data;
}

/* ---- targets --------------------------------------------------------------------------------- */

typedef struct {
    const char *id, *what;
    int verdict; /* 1 PASS, 0 FAIL, -1 not measured */
    char detail[320];
} target_t;

static const row_t *find_row(const row_t *rows, size_t n, unsigned spec, unsigned window)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].spec == spec && rows[i].window == window)
            return &rows[i];
    for (size_t i = 0; i < n; i++) /* the device's own window, whatever it is */
        if (rows[i].spec == spec && rows[i].window == DFW_RX_BUFFERS)
            return &rows[i];
    return NULL;
}

static void set_target(target_t *t, const char *id, const char *what, int verdict, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));
static void set_target(target_t *t, const char *id, const char *what, int verdict, const char *fmt,
                       ...)
{
    t->id = id;
    t->what = what;
    t->verdict = verdict;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->detail, sizeof(t->detail), fmt, ap);
    va_end(ap);
}

static const char *verdict_name(int v)
{
    return v > 0 ? "PASS" : v == 0 ? "FAIL" : "n/a";
}

static size_t eval_targets(const row_t *rows, size_t n, const rt_res_t *rt, const fp_t *fp,
                           target_t *t)
{
    size_t k = 0;
    const row_t *r = find_row(rows, n, SPEC_A, 2);
    if (r && r->err == SESSION_OK) {
        derived_t d = derive(r);
        set_target(&t[k++], "a", "300 KB at 115200 (nRF52840): transfer <= 1.03 x wire limit",
                   d.transfer <= TGT_WIRE_FACTOR * d.wire,
                   "transfer %.3f s vs wire limit %.3f s = %.4f x (limit 1.03 x; window %u, "
                   "pre-erase off)",
                   d.transfer, d.wire, d.transfer / d.wire, r->window);
    } else {
        set_target(&t[k++], "a", "300 KB at 115200 (nRF52840): transfer <= 1.03 x wire limit", 0,
                   "the update failed: %s", r ? r->msg : "no row");
    }
    r = find_row(rows, n, SPEC_B, 2);
    if (r && r->err == SESSION_OK) {
        derived_t d = derive(r);
        set_target(&t[k++], "b",
                   "1 Mbaud, pre-erase off: >= 98 % of the serialized erase+write ceiling",
                   d.transfer <= d.flash_full / TGT_FLASH_FRACTION,
                   "transfer %.3f s vs ceiling %.3f s (%u erases + %u words) = %.2f %% "
                   "(need >= 98 %%, i.e. <= %.3f s; window %u)",
                   d.transfer, d.flash_full, d.st.pages, d.st.words,
                   100.0 * d.flash_full / d.transfer, d.flash_full / TGT_FLASH_FRACTION, r->window);
    } else {
        set_target(&t[k++], "b",
                   "1 Mbaud, pre-erase off: >= 98 % of the serialized erase+write ceiling", 0,
                   "the update failed: %s", r ? r->msg : "no row");
    }
    r = find_row(rows, n, SPEC_C, 2);
    if (r && r->err == SESSION_OK) {
        derived_t d = derive(r);
        set_target(&t[k++], "c", "1 Mbaud, bank 1 pre-erased while idle: >= 90 KB/s (nRF52840)",
                   d.rate >= TGT_PREERASE_BPS,
                   "%.0f B/s (%.3f s for %u B; need >= 90000 B/s; erases left at start %u; "
                   "window %u)",
                   d.rate, d.transfer, d.st.len, r->erase_pages, r->window);
    } else {
        set_target(&t[k++], "c", "1 Mbaud, bank 1 pre-erased while idle: >= 90 KB/s (nRF52840)", 0,
                   "the update failed: %s", r ? r->msg : "no row");
    }
    const char *dw = "`dfuart update` start -> first byte on a real pty: <= 50 ms (median)";
    if (rt->ran && rt->fb_ok > 0)
        set_target(&t[k++], "d", dw, rt->fb_median <= TGT_FIRST_BYTE_S,
                   "median %.1f ms of %d runs (min %.1f, max %.1f)", rt->fb_median * 1e3, rt->fb_ok,
                   rt->fb_min * 1e3, rt->fb_max * 1e3);
    else
        set_target(&t[k++], "d", dw, rt->ran ? 0 : -1, "%s", rt->ran ? rt->fb_err : rt->note);
    const char *ew = "peak RSS of `dfuart update` with a 1 MiB package: <= 10 MB";
    if (rt->ran && rt->rss_ok)
        set_target(&t[k++], "e", ew, rt->rss_update_kb <= TGT_RSS_KB,
                   "update %ld KiB (exit %d, %s), verify %ld KiB (exit %d)", rt->rss_update_kb,
                   rt->update_exit, rt->update_kind, rt->rss_verify_kb, rt->verify_exit);
    else
        set_target(&t[k++], "e", ew, rt->ran ? 0 : -1, "%s", rt->ran ? rt->rss_err : rt->note);
    const char *fw = "device code (dfuart libraries, Cortex-M4 -Os): <= 8 KiB";
    const char *gw = "device RAM (.data + .bss + stack): <= 6 KiB";
    if (fp->ok) {
        set_target(&t[k++], "f", fw, fp->code_libs <= TGT_CODE_B,
                   "%ld B of 8192 (whole example image %ld B)", fp->code_libs, fp->flash_image);
        long ram = fp->data + fp->bss + fp->stack;
        set_target(&t[k++], "g", gw, ram <= TGT_RAM_B,
                   "%ld B of 6144 (.data %ld + .bss %ld + stack %ld)", ram, fp->data, fp->bss,
                   fp->stack);
    } else {
        set_target(&t[k++], "f", fw, -1, "%s", fp->note);
        set_target(&t[k++], "g", gw, -1, "%s", fp->note);
    }
    return k;
}

/* ---- output ------------------------------------------------------------------------------------
 */

static int row_cmp(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    const spec_t *p = &SPECS[x->spec], *q = &SPECS[y->spec];
    if (p->chip != q->chip)
        return p->chip == BL_CHIP_NRF52840 ? -1 : 1;
    uint32_t bx = baud_of(p->link), by = baud_of(q->link);
    if (bx != by)
        return bx < by ? -1 : 1;
    if (x->window != y->window)
        return x->window < y->window ? -1 : 1;
    return (int)p->preerase - (int)q->preerase;
}

static void print_table(const row_t *rows, size_t n)
{
    printf("== Virtual time (tests/sim: host session + link model + device receiver + flash "
           "timing + bootloader replay)\n");
    printf("   transfer = first byte on the wire -> COMMIT accepted; rate = image bytes / "
           "transfer;\n");
    printf("   wire = image x 10 / baud; flash = erases needed at start x t_erase + words x "
           "t_write;\n");
    printf("   ratio = max(wire, flash) / transfer; app runs = first byte -> the host sees the "
           "new app's INFO;\n");
    printf("   1st byte is virtual (the host costs no virtual time: see (d) for a real pty); "
           "erase = bank-1 pages to erase at start\n");
    printf("%-8s %-9s %6s %3s %-4s %6s %8s %8s %9s %8s %9s %9s %6s %9s\n", "chip", "image", "baud",
           "win", "pre", "erase", "1st byte", "1st ACK", "transfer", "rate B/s", "wire lim",
           "flash", "ratio", "app runs");
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        const spec_t *sp = &SPECS[r->spec];
        if (sp->aux)
            continue;
        derived_t d = derive(r);
        char bn[16];
        if (r->err != SESSION_OK) {
            printf("%-8s %-9s %6s %3u %-4s  FAILED: %s\n", sp->chip_name, image_name(sp),
                   baud_name(d.baud, bn, sizeof(bn)), r->window, sp->preerase ? "on" : "off",
                   r->msg);
            continue;
        }
        printf("%-8s %-9s %6s %3u %-4s %3u pg %5.1f ms %6.0f ms %7.3f s %8.0f %7.3f s %7.3f s "
               "%6.3f %7.3f s%s\n",
               sp->chip_name, image_name(sp), baud_name(d.baud, bn, sizeof(bn)), r->window,
               sp->preerase ? "on" : "off", r->erase_pages, d.first_byte * 1e3, d.first_ack * 1e3,
               d.transfer, d.rate, d.wire, d.flash_row, d.ratio, d.app,
               r->activated ? "" : "  (not activated!)");
    }
}

static void print_limits(const row_t *rows, size_t n)
{
    const uint32_t data_wire = FRAME_WIRE_LEN(FRAME_MAX_PACKET);
    const uint32_t status_wire = FRAME_WIRE_LEN(FRAME_HDR_LEN + MSG_STATUS_LEN + FRAME_CRC_LEN);
    const flash_chip_desc_t *c40 = flash_chip_info(FLASH_CHIP_NRF52840);
    const flash_chip_desc_t *c32 = flash_chip_info(FLASH_CHIP_NRF52832);
    uint32_t wpf = FRAME_MAX_PAYLOAD / 4u;
    printf("\n== Limits (per full DATA frame of %u payload bytes)\n", FRAME_MAX_PAYLOAD);
    printf("   wire: <= %u B (12 header + 4 CRC + <= %u COBS + 1 delimiter: +%.2f %%): "
           "%.1f ms at 115200, %.2f ms at 1M; STATUS reply %u B: %.2f / %.2f ms\n",
           data_wire, FRAME_MAX_PACKET / 254u + 1u,
           100.0 * (data_wire - FRAME_MAX_PAYLOAD) / FRAME_MAX_PAYLOAD, data_wire * 1e4 / 115200.0,
           data_wire * 1e-2, status_wire, status_wire * 1e4 / 115200.0, status_wire * 1e-2);
    printf("   flash %s: %u words x %.1f us = %.2f ms per frame, page erase %.1f ms "
           "(1 per %u frames)\n",
           c40->name, wpf, c40->t_write_ns / 1e3, wpf * c40->t_write_ns / 1e6,
           c40->t_erase_ns / 1e6, c40->page_size / FRAME_MAX_PAYLOAD);
    printf("   flash %s: %u words x %.1f us = %.2f ms per frame, page erase %.1f ms\n", c32->name,
           wpf, c32->t_write_ns / 1e3, wpf * c32->t_write_ns / 1e6, c32->t_erase_ns / 1e6);
    printf("   where the time goes (target rows: handshake = first byte -> INFO; to 1st ACK; "
           "stream = 1st -> last ACK; commit = last ACK -> COMMIT accepted):\n");
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        if (SPECS[r->spec].aux || r->err != SESSION_OK)
            continue;
        if (r->spec != SPEC_A && r->spec != SPEC_B && r->spec != SPEC_C)
            continue;
        derived_t d = derive(r);
        const img_stats_t *st = &d.st;
        double te = d.fc->t_erase_ns * NS, tw = d.fc->t_write_ns * NS;
        double busy = r->erase_pages * te + (st->words - st->ff_words) * tw;
        char bn[16];
        printf("   %s %s win %u pre-erase %-3s: handshake %.1f ms, 1st ACK %.1f ms, stream "
               "%.3f s, commit %.1f ms; flash busy %.3f s (%u erases, %u of %u words: %u are "
               "0xFFFFFFFF, skipped) = %.1f %% of the transfer; h2d %" PRIu64
               " B in the whole session\n",
               baud_name(d.baud, bn, sizeof(bn)), image_name(&SPECS[r->spec]), r->window,
               SPECS[r->spec].preerase ? "on" : "off", (r->t_start_ev - r->t_first_byte) / 1e6,
               d.first_ack * 1e3, (r->t_last_ack - r->t_first_ack) * NS,
               (r->t_commit - r->t_last_ack) / 1e6, busy, r->erase_pages, st->words - st->ff_words,
               st->words, st->ff_words, 100.0 * busy / d.transfer, r->bytes_h2d);
    }
}

static cJSON *row_json(const row_t *r)
{
    const spec_t *sp = &SPECS[r->spec];
    derived_t d = derive(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "chip", sp->chip_name);
    cJSON_AddStringToObject(o, "package", sp->pkg);
    cJSON_AddNumberToObject(o, "image_bytes", d.st.len);
    cJSON_AddNumberToObject(o, "baud", d.baud);
    cJSON_AddNumberToObject(o, "window", r->window);
    cJSON_AddBoolToObject(o, "pre_erase", sp->preerase);
    cJSON_AddStringToObject(o, "bank1_at_start", sp->bank1 == BANK1_STALE ? "stale" : "blank");
    cJSON_AddBoolToObject(o, "flash_timing", sp->flash_timing);
    cJSON_AddNumberToObject(o, "erase_pages_at_start", r->erase_pages);
    cJSON_AddStringToObject(o, "result", session_strerror((session_err_t)r->err));
    cJSON_AddBoolToObject(o, "activated", r->activated);
    cJSON_AddNumberToObject(o, "first_byte_s", d.first_byte);
    cJSON_AddNumberToObject(o, "first_ack_s", d.first_ack);
    cJSON_AddNumberToObject(o, "transfer_s", d.transfer);
    cJSON_AddNumberToObject(o, "rate_Bps", d.rate);
    cJSON_AddNumberToObject(o, "wire_limit_s", d.wire);
    cJSON_AddNumberToObject(o, "flash_ceiling_s", d.flash_row);
    cJSON_AddNumberToObject(o, "flash_ceiling_all_pages_s", d.flash_full);
    cJSON_AddNumberToObject(o, "ratio", d.ratio);
    cJSON_AddNumberToObject(o, "app_runs_s", d.app);
    bool ok = d.transfer > 0 && r->t_start_ev >= r->t_first_byte && r->t_commit >= r->t_last_ack;
    cJSON_AddNumberToObject(o, "handshake_s", ok ? (r->t_start_ev - r->t_first_byte) * NS : 0);
    cJSON_AddNumberToObject(o, "commit_phase_s", ok ? (r->t_commit - r->t_last_ack) * NS : 0);
    cJSON_AddNumberToObject(o, "bytes_h2d", (double)r->bytes_h2d);
    cJSON_AddNumberToObject(o, "retries", r->retries);
    cJSON_AddNumberToObject(o, "resumes", r->resumes);
    cJSON_AddNumberToObject(o, "no_buffer", r->no_buffer);
    return o;
}

/* ---- main
 * ---------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dfuart-bench [--json] [--strict] [--no-realtime] [--runs N] [--arm-build DIR]\n"
            "                    [--dfuart PATH] [--emu PATH]\n\n"
            "Throughput of `dfuart update` against the wire and flash limits (virtual time),\n"
            "first byte / real-time / RSS on real processes, device footprint. See "
            "bench/README.md.\n"
            "  --json          one JSON document on stdout instead of the table\n"
            "  --strict        exit 1 if any target FAILs (default: always 0)\n"
            "  --no-realtime   skip the real processes (first byte, serve, RSS)\n"
            "  --runs N        first-byte probe runs (default 11; the median counts)\n"
            "  --arm-build DIR Cortex-M4 build to read the footprint from (default "
            "build-bench-arm)\n"
            "  --dfuart PATH, --emu PATH   the binaries (default: this build's)\n");
}

static int load_public_key(void)
{
    sig_key_t *k = NULL;
    if (sig_key_load(FIX "keys/public.pem", &k) != SIG_OK)
        return -1;
    sig_key_raw_le(k, g_pk);
    sig_key_free(k);
    return 0;
}

/* The directory this executable lives in (sibling variants are there). */
static void self_dir(char *out, size_t n)
{
    char buf[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (k <= 0) {
        snprintf(out, n, ".");
        return;
    }
    buf[k] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, n, "%s", buf);
}

/* Rows of the sibling binaries built with other DFW_RX_BUFFERS values. */
static size_t variant_rows(row_t *rows, size_t n, size_t cap, char *note, size_t note_len)
{
    char dir[PATH_MAX], list[512];
    self_dir(dir, sizeof(dir));
    snprintf(list, sizeof(list), "%s", BENCH_VARIANTS);
    for (char *save = NULL, *v = strtok_r(list, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", dir, v);
        if (access(path, X_OK) != 0) {
            snprintf(note, note_len, "%s not built: its window's rows are missing", v);
            continue;
        }
        char *argv[] = {path, "--sim-rows", NULL};
        rt_proc_t p;
        if (rt_spawn(&p, argv, true) != 0)
            continue;
        const char *l;
        while ((l = rt_next_line(&p, 120000)) != NULL)
            if (n < cap && parse_row_line(l, &rows[n]))
                n++;
        rt_wait(&p, 10000);
        rt_free(&p);
    }
    return n;
}

int main(int argc, char **argv)
{
    enum { O_JSON = 1, O_STRICT, O_NORT, O_RUNS, O_ARM, O_DFUART, O_EMU, O_SIMROWS, O_HELP };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"strict", no_argument, NULL, O_STRICT},
                                         {"no-realtime", no_argument, NULL, O_NORT},
                                         {"runs", required_argument, NULL, O_RUNS},
                                         {"arm-build", required_argument, NULL, O_ARM},
                                         {"dfuart", required_argument, NULL, O_DFUART},
                                         {"emu", required_argument, NULL, O_EMU},
                                         {"sim-rows", no_argument, NULL, O_SIMROWS},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    bool json = false, strict = false, realtime = true, sim_rows = false;
    int runs = 11;
    const char *arm = BENCH_SRC_DIR "/build-bench-arm", *dfuart = BENCH_DFUART, *emu = BENCH_EMU;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON:
            json = true;
            break;
        case O_STRICT:
            strict = true;
            break;
        case O_NORT:
            realtime = false;
            break;
        case O_RUNS:
            runs = atoi(optarg);
            break;
        case O_ARM:
            arm = optarg;
            break;
        case O_DFUART:
            dfuart = optarg;
            break;
        case O_EMU:
            emu = optarg;
            break;
        case O_SIMROWS:
            sim_rows = true;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 64;
        }
    }
    if (optind != argc || runs < 1) {
        usage(stderr);
        return 64;
    }
    if (load_public_key() != 0) {
        fprintf(stderr, "dfuart-bench: cannot load %s\n", FIX "keys/public.pem");
        return 66;
    }

    static row_t rows[MAX_ROWS];
    size_t n = 0;
    for (unsigned i = 0; i < N_SPECS; i++) {
        if (sim_rows && SPECS[i].aux)
            continue;
        if (run_spec(i, &rows[n]) != 0)
            fprintf(stderr, "dfuart-bench: row %u (window %u): %s\n", i, rows[n].window,
                    rows[n].msg);
        if (sim_rows)
            print_row_line(stdout, &rows[n]);
        n++;
    }
    if (sim_rows)
        return 0;
    for (unsigned i = 0; i < N_SPECS; i++)
        if (image_stats(i, &g_stats[i]) != 0) {
            fprintf(stderr, "dfuart-bench: cannot open %s\n", SPECS[i].pkg);
            return 66;
        }
    char vnote[256] = "";
    n = variant_rows(rows, n, MAX_ROWS, vnote, sizeof(vnote));
    qsort(rows, n, sizeof(rows[0]), row_cmp);

    rt_res_t rt;
    memset(&rt, 0, sizeof(rt));
    if (realtime) {
        if (!json)
            fprintf(stderr,
                    "dfuart-bench: real-time part (pty probe x %d, a 300 KB update at "
                    "1 Mbaud, RSS)...\n",
                    runs);
        run_realtime(dfuart, emu, runs, &rt);
    } else {
        snprintf(rt.note, sizeof(rt.note), "real-time part skipped (--no-realtime)");
    }
    fp_t fp;
    footprint(arm, &fp);
    target_t t[8];
    size_t nt = eval_targets(rows, n, &rt, &fp, t);
    int fails = 0;
    for (size_t i = 0; i < nt; i++)
        fails += t[i].verdict == 0;

    const row_t *pr = find_row(rows, n, SPEC_RT, 2), *pr0 = find_row(rows, n, SPEC_RT_OFF, 2);
    double v_on = pr && pr->err == SESSION_OK ? (pr->t_commit - pr->t_start_ev) * NS : 0;
    double v_off = pr0 && pr0->err == SESSION_OK ? (pr0->t_commit - pr0->t_start_ev) * NS : 0;

    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON *jr = cJSON_AddArrayToObject(root, "rows");
        for (size_t i = 0; i < n; i++)
            if (!SPECS[rows[i].spec].aux)
                cJSON_AddItemToArray(jr, row_json(&rows[i]));
        cJSON *jt = cJSON_AddArrayToObject(root, "targets");
        for (size_t i = 0; i < nt; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", t[i].id);
            cJSON_AddStringToObject(o, "what", t[i].what);
            cJSON_AddStringToObject(o, "verdict", verdict_name(t[i].verdict));
            cJSON_AddStringToObject(o, "detail", t[i].detail);
            cJSON_AddItemToArray(jt, o);
        }
        cJSON *jrt = cJSON_AddObjectToObject(root, "realtime");
        cJSON_AddBoolToObject(jrt, "ran", rt.ran);
        cJSON_AddStringToObject(jrt, "note", rt.note);
        cJSON_AddNumberToObject(jrt, "first_byte_median_s", rt.fb_median);
        cJSON_AddNumberToObject(jrt, "first_byte_min_s", rt.fb_min);
        cJSON_AddNumberToObject(jrt, "first_byte_max_s", rt.fb_max);
        cJSON_AddNumberToObject(jrt, "first_byte_runs", rt.fb_ok);
        cJSON_AddNumberToObject(jrt, "update_1m_wall_s", rt.rt_ok ? rt.rt_wall : 0);
        cJSON_AddNumberToObject(jrt, "update_1m_virtual_s", v_on);
        cJSON_AddNumberToObject(jrt, "update_1m_virtual_no_flash_timing_s", v_off);
        cJSON_AddNumberToObject(jrt, "update_1m_ratio",
                                rt.rt_ok && v_on > 0 ? rt.rt_wall / v_on : 0);
        cJSON_AddNumberToObject(jrt, "update_1m_exit", rt.rt_exit);
        cJSON_AddNumberToObject(jrt, "serve_checkpoints", rt.serve_checkpoints);
        cJSON_AddNumberToObject(jrt, "serve_checkpoint_ms", rt.serve_ckpt_ms);
        cJSON_AddNumberToObject(jrt, "rss_update_kib", (double)rt.rss_update_kb);
        cJSON_AddNumberToObject(jrt, "rss_verify_kib", (double)rt.rss_verify_kb);
        cJSON_AddNumberToObject(jrt, "rss_update_300k_1m_kib", (double)rt.rt_rss_kb);
        cJSON *jf = cJSON_AddObjectToObject(root, "footprint");
        cJSON_AddBoolToObject(jf, "measured", fp.ok);
        cJSON_AddNumberToObject(jf, "code_dfuart_libs", (double)fp.code_libs);
        cJSON_AddNumberToObject(jf, "flash_image", (double)fp.flash_image);
        cJSON_AddNumberToObject(jf, "ram_data", (double)fp.data);
        cJSON_AddNumberToObject(jf, "ram_bss", (double)fp.bss);
        cJSON_AddNumberToObject(jf, "ram_stack", (double)fp.stack);
        cJSON_AddStringToObject(root, "build_type", BENCH_BUILD_TYPE);
        cJSON_AddBoolToObject(root, "sanitizers", BENCH_BUILD_SANITIZE);
        cJSON_AddNumberToObject(root, "fails", fails);
        char *s = cJSON_Print(root);
        puts(s);
        free(s);
        cJSON_Delete(root);
    } else {
        printf("dfuart-bench: %s build%s\n\n", BENCH_BUILD_TYPE[0] ? BENCH_BUILD_TYPE : "untyped",
               BENCH_BUILD_SANITIZE ? ", SANITIZERS ON: the real-time numbers (d), (e) are not "
                                      "representative (use scripts/bench.sh)"
                                    : ", no sanitizers");
        print_table(rows, n);
        if (vnote[0])
            printf("   note: %s\n", vnote);
        print_limits(rows, n);
        printf("\n== Targets\n");
        for (size_t i = 0; i < nt; i++)
            printf("(%s) %-4s %s\n         %s\n", t[i].id, verdict_name(t[i].verdict), t[i].what,
                   t[i].detail);
        printf("\n== Real time (report only)\n");
        if (!rt.ran) {
            printf("   %s\n", rt.note);
        } else {
            if (rt.rt_ok)
                printf("   300 KB over `dfuart-emu serve --baud 1000000 --flash-timing` (pty, "
                       "nRF52840): INFO -> COMMIT accepted %.3f s wall\n"
                       "     vs virtual %.3f s (flash timing on) = ratio %.3f%s; vs %.3f s "
                       "(flash instant) = %.3f\n"
                       "     serve: %d checkpoints, %.0f ms in total; whole `dfuart update` "
                       "%.2f s wall, exit %d (the S132 package is rejected on S140 after "
                       "COMMIT: expected)\n",
                       rt.rt_wall, v_on, v_on > 0 ? rt.rt_wall / v_on : 0,
                       v_on > 0 && rt.rt_wall / v_on <= 1.15 && rt.rt_wall / v_on >= 0.85
                           ? " (within 15 %)"
                           : " (NOT within 15 %)",
                       v_off, v_off > 0 ? rt.rt_wall / v_off : 0, rt.serve_checkpoints,
                       rt.serve_ckpt_ms, rt.rt_wall_total, rt.rt_exit);
            else
                printf("   300 KB at 1 Mbaud over serve: %s\n", rt.rt_err);
            printf(
                "   peak RSS: `dfuart update --key` 1 MiB package %ld KiB (refused: %s, exit %d); "
                "`dfuart verify --key` %ld KiB (exit %d); `dfuart update` 300 KB at 1M %ld "
                "KiB\n",
                rt.rss_update_kb, rt.update_kind, rt.update_exit, rt.rss_verify_kb, rt.verify_exit,
                rt.rt_rss_kb);
        }
        printf("\n== Device footprint (Cortex-M4, %s)\n", fp.ok ? fp.elf : "not measured");
        if (fp.ok)
            printf("   dfuart libraries code %ld B (<= 8192), RAM .data %ld + .bss %ld + stack %ld "
                   "= %ld B (<= 6144); whole example image flash %ld B\n",
                   fp.code_libs, fp.data, fp.bss, fp.stack, fp.data + fp.bss + fp.stack,
                   fp.flash_image);
        else
            printf("   %s\n", fp.note);
        printf("\n%d target(s) FAILED%s\n", fails, strict ? " (--strict)" : "");
    }
    return strict && fails ? 1 : 0;
}
