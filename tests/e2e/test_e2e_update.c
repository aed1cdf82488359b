/*
 * End to end over a real pseudo-terminal: `dfuart-emu serve` runs an
 * emulated nRF52 behind a pty, the real `dfuart update` sends nrfutil's
 * packages to it, and the device file is then checked with `dfuart-emu boot`
 * and `export` (the bootloader's verdict and the flash bytes, not what the
 * host believes).
 *
 * Every child runs under proc.h: bounded waits for a line, a file or an
 * exit, never a fixed sleep; teardown kills whatever still runs.
 *
 * argv[1] names one group of tests ("update", "resume", "link"), so CTest
 * runs the resume test and the degraded-line tests as entries of their own.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "fixtures.h"
#include "proc.h"

#define PKG(name) FIX_NRFUTIL "/packages/" name
#define IMG(name) FIX_NRFUTIL "/images/" name
#define KEY       FIX_NRFUTIL "/keys/public_key.c"

/* Bounds for the waits (ASan build on a loaded CI machine); never reached when all is well. */
#define T_CMD_MS    30000
#define T_UPDATE_MS 120000

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

/* Exit codes as documented: dfuart (README), dfuart-emu (EMULATOR.md). */
enum { DX_OK = 0, DX_PROTOCOL = 76, DX_REJECTED = 82 };
enum { EX_USAGE = 64, EX_CANTCREAT = 73 };

#define LARGE_SIZE 302280u /* app_large.bin */

static char g_dir[64], g_dev[128], g_link[128];
static proc_t g_serve, g_update, g_cmd;

static int setup(void **state)
{
    (void)state;
    memset(&g_serve, 0, sizeof(g_serve));
    memset(&g_update, 0, sizeof(g_update));
    memset(&g_cmd, 0, sizeof(g_cmd));
    snprintf(g_dir, sizeof(g_dir), "/tmp/dfuart-e2e-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_dev, sizeof(g_dev), "%s/dev.emu", g_dir);
    snprintf(g_link, sizeof(g_link), "%s/ttyEMU0", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proc_free(&g_update);
    proc_free(&g_serve);
    proc_free(&g_cmd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- commands ------------------------------------------------------------------------ */

static void fail_proc(const char *what, proc_t *p, int status)
{
    char *err = proc_stderr(p);
    fail_msg("%s: status %d\nstdout: %s\nstderr: %s", what, status, p->out ? p->out : "",
             err ? err : "");
}

/* Run a short command to completion in g_cmd; its exit status must be `want`. */
static void run_expect(char *const argv[], int want)
{
    proc_free(&g_cmd);
    int st = proc_run(&g_cmd, argv, T_CMD_MS);
    if (st != want)
        fail_proc(argv[1], &g_cmd, st);
}

static void create_device(char *chip, char *sd, char *app, char *version)
{
    run_expect(ARGV(DFUART_EMU_BIN, "create", g_dev, "--chip", chip, "--softdevice", sd, "--app",
                    app, "--app-version", version, "--bootloader-version", "1", "--hw-version",
                    "52", "--public-key", KEY),
               0);
}

static bool is_symlink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* Start serve (baud NULL: no pacing) and wait for its "serving" line. */
static void serve_start(const char *baud)
{
    proc_free(&g_serve);
    int rc = baud ? proc_spawn(&g_serve, ARGV(DFUART_EMU_BIN, "serve", g_dev, "--pty", g_link,
                                              "--baud", (char *)baud))
                  : proc_spawn(&g_serve, ARGV(DFUART_EMU_BIN, "serve", g_dev, "--pty", g_link));
    assert_int_equal(rc, 0);
    char want[320];
    snprintf(want, sizeof(want), "serving %s on %s (/dev/pts/", g_dev, g_link);
    if (!proc_wait_for(&g_serve, want, T_CMD_MS))
        fail_proc("serve did not say it is serving", &g_serve, -1);
    assert_true(is_symlink(g_link));
}

/* Stop serve with `sig`: exit 0, device saved, symlink gone. */
static void serve_stop(int sig)
{
    proc_kill(&g_serve, sig);
    int st = proc_wait(&g_serve, T_CMD_MS);
    if (st != 0 || !strstr(g_serve.out, "stopped serving"))
        fail_proc("serve did not stop cleanly", &g_serve, st);
    assert_false(is_symlink(g_link));
}

static char *const *update_argv(const char *pkg, const char *baud)
{
    static char *argv[10];
    int n = 0;
    argv[n++] = DFUART_BIN;
    argv[n++] = "update";
    argv[n++] = (char *)pkg;
    argv[n++] = "--port";
    argv[n++] = g_link;
    argv[n++] = "--json";
    if (baud) {
        argv[n++] = "--baud";
        argv[n++] = (char *)baud;
    }
    argv[n] = NULL;
    return argv;
}

/* `dfuart update PKG --port LINK --json` to its end; returns the exit status. */
static int update(const char *pkg)
{
    proc_free(&g_update);
    int st = proc_run(&g_update, update_argv(pkg, NULL), T_UPDATE_MS);
    if (st < 0)
        fail_proc("dfuart update did not finish", &g_update, st);
    return st;
}

/* ---- JSON ----------------------------------------------------------------------------- */

/*
 * The last JSON Lines event named `name` in `out` whose `key` (if given) is
 * the string `val`; NULL if none. Caller deletes.
 */
static cJSON *last_event(const char *out, const char *name, const char *key, const char *val)
{
    cJSON *found = NULL;
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        cJSON *ev = cJSON_ParseWithLength(l, len);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "event");
        const cJSON *k = key ? cJSON_GetObjectItemCaseSensitive(ev, key) : NULL;
        if (cJSON_IsString(e) && !strcmp(e->valuestring, name) &&
            (!key || (cJSON_IsString(k) && !strcmp(k->valuestring, val)))) {
            cJSON_Delete(found);
            found = ev;
        } else {
            cJSON_Delete(ev);
        }
        l = nl ? nl + 1 : NULL;
    }
    return found;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = fix_get(obj, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = fix_get(obj, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* Run `dfuart-emu CMD DEV --json` and parse its document. Caller deletes. */
static cJSON *emu_json(const char *cmd)
{
    run_expect(ARGV(DFUART_EMU_BIN, (char *)cmd, g_dev, "--json"), 0);
    cJSON *j = cJSON_Parse(g_cmd.out);
    if (!j)
        fail_msg("dfuart-emu %s --json printed no JSON: %s", cmd, g_cmd.out);
    return j;
}

/* Whole flash of the device, via `dfuart-emu export`. Caller frees. */
static uint8_t *export_flash(size_t *len)
{
    char out[160];
    snprintf(out, sizeof(out), "%s/flash.bin", g_dir);
    run_expect(ARGV(DFUART_EMU_BIN, "export", g_dev, "-o", out), 0);
    return fix_read_file(out, len);
}

/* The bootloader's verdict: app `version` runs, and bank 0 holds `image` byte for byte. */
static void expect_running(uint32_t version, const char *image)
{
    cJSON *boot = emu_json("boot");
    assert_string_equal(str(boot, "state"), "app");
    assert_int_equal((uint32_t)num(boot, "app_version"), version);
    const cJSON *bank0 = fix_get(boot, "bank0");
    uint32_t start = (uint32_t)num(bank0, "start");
    size_t img_len = 0, flash_len = 0;
    uint8_t *img = fix_read_file(image, &img_len);
    uint8_t *flash = export_flash(&flash_len);
    assert_int_equal((uint32_t)num(bank0, "size"), img_len);
    assert_true(start + img_len <= flash_len);
    assert_memory_equal(flash + start, img, img_len);
    free(img);
    free(flash);
    cJSON_Delete(boot);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_update_v2_over_pty(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_s132.bin"), "1");
    serve_start(NULL);
    int st = update(PKG("app_signed_v2.zip"));
    if (st != DX_OK)
        fail_proc("dfuart update app_signed_v2.zip", &g_update, st);
    cJSON *start = last_event(g_update.out, "start", NULL, NULL);
    cJSON *commit = last_event(g_update.out, "commit", NULL, NULL);
    cJSON *done = last_event(g_update.out, "done", NULL, NULL);
    cJSON *err = last_event(g_update.out, "error", NULL, NULL);
    assert_non_null(start);
    assert_non_null(commit);
    assert_non_null(done);
    assert_null(err);
    assert_int_equal((int)num(start, "app_version"), 1);
    assert_int_equal((int)num(done, "app_version"), 2);
    cJSON_Delete(start);
    cJSON_Delete(commit);
    cJSON_Delete(done);
    assert_true(proc_wait_for(&g_serve, "reset: state app, update activated", T_CMD_MS));
    serve_stop(SIGTERM);
    expect_running(2, IMG("app_v2.bin"));
}

/*
 * The rejected packages carry app_s132.bin; the device runs app_v2.bin's
 * bytes (as version 1) so the old application differs from the package's
 * image and "rejected" is visible to the host. Then, on the same serve, a good
 * package: serve re-inits the receiver after each reset and hosts reopen.
 */
static void test_rejected_update_keeps_old_app(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_v2.bin"), "1");
    serve_start(NULL);
    int st = update(PKG("app_signed_sdreq_fffe.zip"));
    if (st != DX_REJECTED)
        fail_proc("dfuart update app_signed_sdreq_fffe.zip", &g_update, st);
    cJSON *err = last_event(g_update.out, "error", NULL, NULL);
    assert_non_null(err);
    assert_string_equal(str(err, "kind"), "rejected");
    assert_int_equal((int)num(err, "exit_code"), DX_REJECTED);
    cJSON_Delete(err);
    assert_true(
        proc_wait_for(&g_serve, "update rejected (EXT_ERROR SD_VERSION_FAILURE)", T_CMD_MS));

    st = update(PKG("app_signed_v2.zip"));
    if (st != DX_OK)
        fail_proc("dfuart update app_signed_v2.zip after a rejection", &g_update, st);
    serve_stop(SIGINT);
    expect_running(2, IMG("app_v2.bin"));
}

/*
 * nRF52832 with S132 (ends 0x26000) and app_s132.bin (50016 bytes): bank 1 at
 * 0x33000, the app-data area at 0x75000, so 270336 bytes fit; app_large.bin
 * has 302280. Refused before anything is written.
 */
static void test_too_large_refused_before_flash(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_s132.bin"), "1");
    cJSON *info = emu_json("info");
    uint32_t bank1 = (uint32_t)num(info, "bank1_start");
    uint32_t limit = (uint32_t)num(info, "app_data_start");
    cJSON_Delete(info);
    assert_int_equal(bank1, 0x33000);
    assert_true(limit - bank1 < LARGE_SIZE);
    size_t len0 = 0, len1 = 0;
    uint8_t *before = export_flash(&len0);

    serve_start(NULL);
    int st = update(PKG("app_signed_large.zip"));
    if (st != DX_PROTOCOL)
        fail_proc("dfuart update app_signed_large.zip", &g_update, st);
    cJSON *err = last_event(g_update.out, "error", NULL, NULL);
    assert_non_null(err);
    assert_string_equal(str(err, "kind"), "too_large");
    assert_string_equal(str(err, "status"), "TOO_LARGE");
    cJSON_Delete(err);
    serve_stop(SIGTERM);

    uint8_t *after = export_flash(&len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before + bank1, after + bank1, limit - bank1);
    free(before);
    free(after);
    expect_running(1, IMG("app_s132.bin"));
}

/* Firmware `progress` events of `out` (acknowledged offsets): lowest, highest, image size. */
typedef struct {
    uint32_t min, max, total, count;
} fw_acks_t;

static fw_acks_t fw_acks(const char *out)
{
    fw_acks_t a = {UINT32_MAX, 0, 0, 0};
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        cJSON *ev = cJSON_ParseWithLength(l, nl ? (size_t)(nl - l) : strlen(l));
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "event");
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(ev, "object");
        if (cJSON_IsString(e) && !strcmp(e->valuestring, "progress") && cJSON_IsString(o) &&
            !strcmp(o->valuestring, "firmware")) {
            uint32_t off = (uint32_t)num(ev, "offset");
            a.total = (uint32_t)num(ev, "total");
            a.min = off < a.min ? off : a.min;
            a.max = off > a.max ? off : a.max;
            a.count++;
        }
        cJSON_Delete(ev);
        l = nl ? nl + 1 : NULL;
    }
    return a;
}

/* Follow the running update's events until `pct` % of the firmware is acknowledged. */
static void wait_for_percent(unsigned pct)
{
    fw_acks_t a = {0, 0, 0, 0};
    while (a.total == 0 || (uint64_t)a.max * 100u < (uint64_t)a.total * pct) {
        const char *line = proc_next_line(&g_update, T_UPDATE_MS);
        if (!line)
            fail_proc("dfuart update ended before the wanted progress", &g_update, -1);
        fw_acks_t l = fw_acks(line);
        if (l.count) {
            a.total = l.total;
            a.max = l.max > a.max ? l.max : a.max;
        }
    }
}

/*
 * Every byte the host saw acknowledged is in the device file's bank 1 (the
 * power-cut promise). Returns how many leading bytes of the image bank 1
 * holds: at least `acked`, more if frames were stored whose replies the
 * killed host never read.
 */
static uint32_t expect_acked_bytes_saved(uint32_t acked)
{
    cJSON *info = emu_json("info");
    uint32_t bank1 = (uint32_t)num(info, "bank1_start");
    cJSON_Delete(info);
    size_t img_len = 0, flash_len = 0;
    uint8_t *img = fix_read_file(IMG("app_large.bin"), &img_len);
    uint8_t *flash = export_flash(&flash_len);
    assert_true(acked <= img_len && bank1 + acked <= flash_len);
    assert_memory_equal(flash + bank1, img, acked);
    uint32_t held = 0;
    while (held < img_len && bank1 + held < flash_len && flash[bank1 + held] == img[held])
        held++;
    free(img);
    free(flash);
    return held;
}

/*
 * Power cut mid-transfer: serve (paced at 115200 baud so there is time) is
 * killed with SIGKILL once 40 % of app_signed_large.zip is acknowledged. The
 * device file must hold every acknowledged byte; a restarted serve and a
 * second `dfuart update` then finish the job by resuming, not restarting.
 * nRF52832 + S132 with app_tiny.bin: bank 1 at 0x27000 takes 319488 bytes.
 */
static void test_interrupted_update_resumes(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_tiny.bin"), "1");
    serve_start("115200");
    proc_free(&g_update);
    assert_int_equal(proc_spawn(&g_update, update_argv(PKG("app_signed_large.zip"), "115200")), 0);
    wait_for_percent(40);
    proc_kill(&g_serve, SIGKILL);
    assert_int_equal(proc_wait(&g_serve, T_CMD_MS), 128 + SIGKILL);
    int st = proc_wait(&g_update, T_UPDATE_MS);
    if (st <= 0)
        fail_proc("dfuart update went on without its device", &g_update, st);
    fw_acks_t first = fw_acks(g_update.out);
    uint32_t acked = first.max, total = first.total;
    assert_int_equal(total, LARGE_SIZE);
    assert_true((uint64_t)acked * 10u >= (uint64_t)total * 4u);
    uint32_t held = expect_acked_bytes_saved(acked);

    serve_start(NULL); /* unpaced now: the test need not wait for the rest at 115200 */
    st = update(PKG("app_signed_large.zip"));
    if (st != DX_OK)
        fail_proc("second dfuart update app_signed_large.zip", &g_update, st);
    serve_stop(SIGTERM);
    expect_running(3, IMG("app_large.bin"));

    cJSON *start = last_event(g_update.out, "start", NULL, NULL);
    assert_non_null(start);
    uint32_t page = (uint32_t)num(start, "page_size");
    cJSON_Delete(start);
    cJSON *resume = last_event(g_update.out, "resume", NULL, NULL);
    if (!resume)
        fail_msg("the second dfuart update did not resume (no 'resume' event; %u of %u bytes "
                 "were acknowledged and saved before the cut): it sent the whole image again",
                 acked, total);
    uint32_t at = (uint32_t)num(resume, "offset");
    cJSON_Delete(resume);
    print_message("resume: %u of %u bytes acknowledged before the cut, %u in bank 1; the new "
                  "process continued at %u and sent %u firmware bytes\n",
                  acked, total, held, at, total - at);
    /*
     * The new process knows only bank 1: it resumes at the longest page-aligned
     * prefix there, which may lie past what the killed host saw acknowledged.
     */
    assert_true(page > 0 && at > 0);
    assert_int_equal(at, held / page * page);
    assert_true(at >= acked / page * page);
    /* Nothing below the resume point was sent again: firmware bytes sent < the image. */
    fw_acks_t second = fw_acks(strstr(g_update.out, "\"event\":\"resume\""));
    assert_true(second.count > 0 && second.min >= at && second.max == total);
    assert_true(total - at < total);
}

/* ---- serve over a degraded line (--link) ------------------------------------------------- */

/* serve --json over `profile` with `seed` at `baud` (NULL: the profile's); wait until serving. */
static void serve_start_link(const char *profile, const char *seed, const char *baud)
{
    proc_free(&g_serve);
    char *argv[16] = {DFUART_EMU_BIN, "serve",         g_dev,         "--pty",      g_link,
                      "--link",       (char *)profile, "--link-seed", (char *)seed, "--json"};
    if (baud) {
        argv[10] = "--baud";
        argv[11] = (char *)baud;
    }
    assert_int_equal(proc_spawn(&g_serve, argv), 0);
    if (!proc_wait_for(&g_serve, "\"event\":\"serving\"", T_CMD_MS))
        fail_proc("serve --link did not say it is serving", &g_serve, -1);
    cJSON *ev = last_event(g_serve.out, "serving", NULL, NULL);
    assert_non_null(ev);
    assert_string_equal(str(ev, "link_profile"), profile);
    cJSON_Delete(ev);
}

/* SIGTERM; serve must exit 0 (no write-fence hit, saved). Returns its `exit` event. */
static cJSON *serve_stop_json(void)
{
    proc_kill(&g_serve, SIGTERM);
    int st = proc_wait(&g_serve, T_CMD_MS);
    cJSON *ev = last_event(g_serve.out, "exit", NULL, NULL);
    if (st != 0 || !ev)
        fail_proc("serve --json did not stop cleanly", &g_serve, st);
    assert_true(cJSON_IsTrue(fix_get(ev, "saved")));
    return ev;
}

/* Bytes the line damaged in one direction of serve's `exit` event. */
static double link_damage(const cJSON *exit_ev, const char *dir)
{
    const cJSON *d = fix_get(exit_ev, dir);
    return num(d, "dropped") + num(d, "flipped_bits") + num(d, "garbage") + num(d, "dup_frames");
}

/* `dfuart update PKG` over the line at `baud`: activated, `done` event returned. */
static cJSON *update_done(const char *pkg, const char *baud)
{
    proc_free(&g_update);
    int st = proc_run(&g_update, update_argv(pkg, baud), T_UPDATE_MS);
    cJSON *done = last_event(g_update.out, "done", NULL, NULL);
    if (st != DX_OK || !done)
        fail_proc("dfuart update over a degraded line", &g_update, st);
    return done;
}

/*
 * A noisy cable (bit error rate 1e-4, garbage) at 1 Mbaud between the real
 * CLI and serve: the update completes, bank 0 is exact, and the host's retries
 * answer the damage the line did (the seed makes the damage certain).
 */
static void test_link_noisy_update(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_s132.bin"), "1");
    serve_start_link("noisy", "3", "1000000");
    cJSON *done = update_done(PKG("app_signed_v2.zip"), "1000000");
    cJSON *exit_ev = serve_stop_json();
    double damage = link_damage(exit_ev, "link_host_to_device");
    print_message("noisy link: %.0f damaged bytes host->device, %.0f device->host, %.0f retries\n",
                  damage, link_damage(exit_ev, "link_device_to_host"), num(done, "retries"));
    assert_true(num(fix_get(exit_ev, "link_host_to_device"), "flipped_bits") > 0);
    assert_true(num(done, "retries") >= 1);
    cJSON_Delete(done);
    cJSON_Delete(exit_ev);
    expect_running(2, IMG("app_v2.bin"));
}

/* A GSM modem at its own 19200 baud, 300 ms latency, stalls: a small image gets through. */
static void test_link_gsm_update(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_s132.bin"), "1");
    serve_start_link("gsm", "11", NULL);
    cJSON *done = update_done(PKG("app_signed_tiny.zip"), "19200");
    cJSON *exit_ev = serve_stop_json();
    assert_true(num(fix_get(exit_ev, "link_host_to_device"), "delivered") > 0);
    cJSON_Delete(done);
    cJSON_Delete(exit_ev);
    expect_running(4, IMG("app_tiny.bin"));
}

/* Wait for serve's `cable` event saying `connected`. */
static void wait_cable(bool connected)
{
    const char *want = connected ? "\"event\":\"cable\",\"connected\":true"
                                 : "\"event\":\"cable\",\"connected\":false";
    if (!proc_wait_for(&g_serve, want, T_CMD_MS))
        fail_proc("serve did not report the cable", &g_serve, -1);
}

/*
 * The cable is pulled (SIGUSR1) once 20 % is acknowledged and plugged back in
 * after the host noticed (a retry event): the same session continues from the
 * device's offset, nothing is restarted.
 */
static void test_link_cable_pulled_and_replugged(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_s132.bin"), "1");
    serve_start_link("clean-115200", "1", NULL);
    proc_free(&g_update);
    assert_int_equal(proc_spawn(&g_update, update_argv(PKG("app_signed_v2.zip"), "115200")), 0);
    wait_for_percent(20);
    proc_kill(&g_serve, SIGUSR1);
    wait_cable(false);
    if (!proc_wait_for(&g_update, "\"event\":\"retry\"", T_UPDATE_MS))
        fail_proc("the host did not notice the pulled cable", &g_update, -1);
    proc_kill(&g_serve, SIGUSR1);
    wait_cable(true);
    int st = proc_wait(&g_update, T_UPDATE_MS);
    cJSON *done = last_event(g_update.out, "done", NULL, NULL);
    if (st != DX_OK || !done)
        fail_proc("dfuart update after the cable came back", &g_update, st);
    assert_true(num(done, "retries") >= 1);
    assert_int_equal((int)num(done, "resumes"), 0); /* the device kept its session */
    cJSON_Delete(done);
    cJSON_Delete(serve_stop_json());
    expect_running(2, IMG("app_v2.bin"));
}

/*
 * --flash-timing: the chip is busy for every erase and write the flash model
 * charges. The update still activates, and serve charged exactly the device's
 * virtual clock (from its `serving` event to the file's clock after the stop).
 */
static void test_update_with_flash_timing(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_s132.bin"), "1");
    proc_free(&g_serve);
    assert_int_equal(proc_spawn(&g_serve, ARGV(DFUART_EMU_BIN, "serve", g_dev, "--pty", g_link,
                                               "--flash-timing", "--json")),
                     0);
    if (!proc_wait_for(&g_serve, "\"event\":\"serving\"", T_CMD_MS))
        fail_proc("serve --flash-timing did not say it is serving", &g_serve, -1);
    cJSON *serving = last_event(g_serve.out, "serving", NULL, NULL);
    assert_true(cJSON_IsTrue(fix_get(serving, "flash_timing")));
    double clock0 = num(serving, "clock_ns");
    cJSON_Delete(serving);
    int st = update(PKG("app_signed_v2.zip"));
    if (st != DX_OK)
        fail_proc("dfuart update over serve --flash-timing", &g_update, st);
    assert_true(proc_wait_for(&g_serve, "\"update\":\"activated\"", T_CMD_MS));
    cJSON *exit_ev = serve_stop_json();
    cJSON *info = emu_json("info");
    double charged_ms = (num(info, "clock_ns") - clock0) / 1e6;
    print_message("flash timing: %.1f ms of flash work charged\n", num(exit_ev, "flash_busy_ms"));
    assert_true(charged_ms > 1000.0); /* 13 page erases alone are ~1.2 s on an nRF52832 */
    assert_true(num(exit_ev, "flash_busy_ms") > charged_ms - 0.001 &&
                num(exit_ev, "flash_busy_ms") < charged_ms + 0.001);
    cJSON_Delete(info);
    cJSON_Delete(exit_ev);
    expect_running(2, IMG("app_v2.bin"));
}

static void test_serve_refuses_to_replace_a_file(void **state)
{
    (void)state;
    create_device("nrf52832", "s132-7.2.0", IMG("app_s132.bin"), "1");
    FILE *f = fopen(g_link, "w");
    assert_non_null(f);
    fputs("keep me\n", f);
    fclose(f);
    size_t dev_len0 = 0, dev_len1 = 0;
    uint8_t *dev0 = fix_read_file(g_dev, &dev_len0);
    run_expect(ARGV(DFUART_EMU_BIN, "serve", g_dev, "--pty", g_link), EX_CANTCREAT);
    uint8_t *dev1 = fix_read_file(g_dev, &dev_len1); /* a serve that never served saves nothing */
    assert_int_equal(dev_len0, dev_len1);
    assert_memory_equal(dev0, dev1, dev_len0);
    free(dev0);
    free(dev1);
    char *err = proc_stderr(&g_cmd), want[256];
    snprintf(want, sizeof(want),
             "dfuart-emu serve: %s: exists and is not a symlink; refusing to replace it\n", g_link);
    if (strcmp(err, want) != 0)
        fail_msg("%s: want \"%s\", got \"%s\"", "B47", want, err);
    free(err);
    size_t len = 0;
    char *kept = (char *)fix_read_file(g_link, &len);
    assert_string_equal(kept, "keep me\n");
    free(kept);
    run_expect(ARGV(DFUART_EMU_BIN, "serve", g_dev), EX_USAGE);
}

/* argv[1]: the group to run ("update", "resume", "link"); none: all three. */
int main(int argc, char **argv)
{
    const struct CMUnitTest update[] = {
        cmocka_unit_test_setup_teardown(test_update_v2_over_pty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_update_keeps_old_app, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_refused_before_flash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_refuses_to_replace_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_with_flash_timing, setup, teardown),
    };
    const struct CMUnitTest resume[] = {
        cmocka_unit_test_setup_teardown(test_interrupted_update_resumes, setup, teardown)};
    const struct CMUnitTest link[] = {
        cmocka_unit_test_setup_teardown(test_link_noisy_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_gsm_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_cable_pulled_and_replugged, setup, teardown),
    };
    const char *g = argc > 1 ? argv[1] : NULL;
    int failed = 0;
    if (!g || !strcmp(g, "update"))
        failed += cmocka_run_group_tests_name("update", update, NULL, NULL);
    if (!g || !strcmp(g, "resume"))
        failed += cmocka_run_group_tests_name("resume", resume, NULL, NULL);
    if (!g || !strcmp(g, "link"))
        failed += cmocka_run_group_tests_name("link", link, NULL, NULL);
    return failed;
}
