/*
 * emu_cmd_serve.c - `dfuart-emu serve DEV --pty LINK [--baud N] [--json]`:
 * run the emulated device's application, dfuart's protocol receiver
 * (dfw_rx.h), behind a pseudo-terminal, so the real `dfuart update` can
 * talk to it as to a board on /dev/ttyACM0.
 *
 * One thread, one poll() loop. Bytes from the host go through dfw_rx_input()
 * (optionally paced like a UART), every complete frame is handled with
 * dfw_rx_poll(), and replies leave through an output queue (paced the same
 * way), so both directions run at once as on a real UART.
 *
 * Durability. `kill -9` of serve models a power cut, and PROTOCOL.md says an
 * acknowledged DATA is in flash. So a reply is never written to the pty
 * while the flash has changes the device file does not hold: the link's tx
 * callback only parks replies ("held"); once every frame read in one go has
 * been handled, the device file is checkpointed if any flash operation
 * happened (flash_op_count), and only then are the parked replies released.
 * Frames that arrive together share one checkpoint. Checkpoints replace the
 * file atomically (rename) without fsync: a killed process loses nothing the
 * page cache holds. The boots and the final save go through emu_file_save()
 * (fsync'ed).
 *
 * Degraded lines (--link PROFILE). The virtual-time link model
 * (linkmodel.h) runs on the monotonic clock between the pty and the device:
 * whatever the host writes enters the host->device direction when serve
 * reads it, and reaches dfw_rx_input() when the model delivers it (paced at
 * the profile's baud, delayed, dropped, flipped, duplicated, stalled); replies
 * released after their checkpoint enter the device->host direction the same
 * way. SIGUSR1 pulls the cable (both directions lose everything in flight and
 * everything sent) and the next SIGUSR1 plugs it back in.
 *
 * Write fence (emu_hal.h): an erase or write of the device code outside bank
 * 1 and the settings page is refused and stops serve (exit 70) before any
 * further acknowledgement or checkpoint.
 */
#define _GNU_SOURCE /* ppoll(): waits to the nanosecond, not rounded up to a millisecond */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device_fw/dfw_rx.h"
#include "emu_cmd.h"
#include "emu_pty.h"
#include "emu_serve.h"
#include "emulator/bl_boot.h"
#include "emulator/emu_file.h"
#include "emulator/emu_hal.h"
#include "emulator/linkmodel.h"

#define READ_CHUNK     4096u
#define TICK_MS        100u  /* dfw_rx_tick() wants a call every DFW_RX_IDLE_MS / 4 at least */
#define HUP_BACKOFF_MS 20u   /* master hung up: poll() would return at once, so wait a little */
#define DRAIN_MS       2000u /* how long the COMMIT reply may wait for the host to take it */
#define MAX_BAUD       100000000u
#define NS_PER_MS      1000000ull

#define LINK_SEED_D2H 0x5DEECE66Dull /* the reply direction draws other dice */

enum { O_PTY = 256, O_BAUD, O_JSON, O_LINK, O_LINK_SEED, O_FLASH_TIMING };

static const emu_opt_t serve_opts[] = {
    {{"pty", required_argument, NULL, O_PTY},
     "LINK",
     "make LINK a symlink to the pseudo-terminal the device answers on (required)"},
    {{"baud", required_argument, NULL, O_BAUD},
     "N",
     "pace both directions like a UART at N baud, 10 bits per byte (default: no pacing;\n"
     "with --link: the profile's baud)"},
    {{"link", required_argument, NULL, O_LINK},
     "PROFILE",
     "degrade the line like PROFILE (faults, latency, its baud); 'list' prints the profiles;\n"
     "SIGUSR1 pulls the cable, the next one plugs it back"},
    {{"link-seed", required_argument, NULL, O_LINK_SEED},
     "N",
     "seed of --link's faults (default 1): the same seed, the same dice"},
    {{"flash-timing", no_argument, NULL, O_FLASH_TIMING},
     NULL,
     "the chip is busy while its flash works: each erase/write takes the chip's time\n"
     "(the virtual clock's nRF52 table) before the next frame is handled or a reply leaves"},
    {{"json", no_argument, NULL, O_JSON},
     NULL,
     "print events as JSON Lines (serving, reset, exit)"},
};

static const emu_cmd_t serve_cmd = {
    "serve",
    "DEV --pty LINK [options]",
    "Boot DEV into its application and run dfuart's protocol receiver on a pseudo-terminal\n"
    "until SIGINT/SIGTERM, e.g. for 'dfuart update PKG.zip --port LINK'. Every acknowledged\n"
    "byte is in DEV before its acknowledgement leaves; after a COMMIT the device resets and\n"
    "the bootloader activates the update, then serving goes on.",
    serve_opts,
    sizeof(serve_opts) / sizeof(serve_opts[0]),
    1};

/* The signal handler's only channels: the flag and a self-pipe that wakes poll(). */
static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_cable_flips; /* SIGUSR1s received */
static int g_wake[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGUSR1)
        g_cable_flips++;
    else
        g_signal = sig;
    if (g_wake[1] >= 0) {
        ssize_t r = write(g_wake[1], "", 1);
        (void)r; /* a full pipe already wakes poll() */
    }
    errno = saved;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/*
 * poll() for at most `ns`: paced bytes and flash work end at nanosecond
 * deadlines, and poll()'s millisecond timeout, rounded up at every wait,
 * would add up to a few percent of an update at 1 Mbaud.
 */
static int wait_for(struct pollfd *fds, nfds_t n, uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    return ppoll(fds, n, &ts, NULL);
}

/* ---- options -------------------------------------------------------------------------- */

static void list_profiles(void)
{
    const link_profile_t *p;
    for (size_t i = 0; (p = link_profile_at(i)) != NULL; i++)
        printf("%-13s %s\n", p->name, p->about);
}

/* Like --help, `--link list` answers and ends the command. */
static int on_link(serve_args_t *a, const char *val)
{
    if (strcmp(val, "list") == 0) {
        list_profiles();
        return EMU_EXIT_OK;
    }
    a->profile = link_profile_find(val);
    if (a->profile)
        return -1;
    emu_err("serve", "--link: unknown profile '%s' (try '--link list')", val);
    return EMU_EXIT_USAGE;
}

static int on_opt(void *args, int id, const char *val)
{
    serve_args_t *a = args;
    if (id == O_JSON || id == O_FLASH_TIMING) {
        *(id == O_JSON ? &a->json : &a->flash_timing) = true;
        return -1;
    }
    if (id == O_PTY) {
        a->link = val;
        return -1;
    }
    if (id == O_LINK)
        return on_link(a, val);
    if (id == O_LINK_SEED)
        return emu_parse_u32("serve", "link-seed", val, UINT32_MAX, &a->seed) == EMU_EXIT_OK
                   ? -1
                   : EMU_EXIT_USAGE;
    if (emu_parse_u32("serve", "baud", val, MAX_BAUD, &a->baud) != EMU_EXIT_OK)
        return EMU_EXIT_USAGE;
    if (a->baud == 0) {
        emu_err("serve", "--baud: must be at least 1");
        return EMU_EXIT_USAGE;
    }
    return -1;
}

/* ---- device file ---------------------------------------------------------------------- */

/* Write DEV if the flash changed since the last save. Sets s->fatal on failure. */
static void checkpoint(serve_t *s)
{
    uint64_t ops = flash_op_count(s->dev->flash);
    if (ops == s->saved_ops || s->fatal)
        return;
    uint64_t t0 = mono_ns();
    emu_file_diag_t d;
    if (emu_file_checkpoint(s->dev, s->dev_path, &d) != EMU_FILE_OK) {
        emu_err("serve",
                "%s: checkpoint failed, stopping (the file holds everything acknowledged so far)",
                d.msg);
        s->fatal = EMU_EXIT_IOERR;
        return;
    }
    s->saved_ops = ops;
    uint64_t dt = mono_ns() - t0;
    s->st.checkpoints++;
    s->st.ckpt_ns += dt;
    if (dt > s->st.ckpt_max_ns)
        s->st.ckpt_max_ns = dt;
}

/* The durable save (fsync'ed): after a boot and at exit. */
static int save_durable(serve_t *s)
{
    int rc = emu_cmd_save("serve", s->dev, s->dev_path);
    if (rc == EMU_EXIT_OK)
        s->saved_ops = flash_op_count(s->dev->flash);
    return rc;
}

/* ---- flash time (--flash-timing) ---------------------------------------------------------- */

/*
 * The flash model charged the device's virtual clock for every erase and
 * write; with --flash-timing the chip is busy that long in wall time: like
 * the nRF52's CPU during an NVMC operation, the main loop handles nothing,
 * while the UART (the ISR, dfw_rx_input) still takes bytes.
 */
static void charge(serve_t *s)
{
    uint64_t v = vclock_now(&s->dev->clock), spent = v - s->vclock_seen;
    s->vclock_seen = v;
    if (!s->a->flash_timing || spent == 0)
        return;
    uint64_t now = mono_ns();
    s->busy_until = (s->busy_until > now ? s->busy_until : now) + spent;
    s->busy_ns += spent;
}

static bool busy(const serve_t *s, uint64_t now)
{
    return now < s->busy_until;
}

/* ---- replies: held until checkpointed, then paced onto the pty ------------------------ */

static void queue_out(serve_t *s, const uint8_t *p, size_t n)
{
    if (s->out_len == 0) {
        s->out_head = 0;
        uint64_t now = mono_ns(), start = now > s->busy_until ? now : s->busy_until;
        if (s->tx_next < start)
            s->tx_next = start; /* the line was idle: the first byte starts now */
    }
    if (s->out_head + s->out_len + n > OUT_CAP) {
        memmove(s->out, s->out + s->out_head, s->out_len);
        s->out_head = 0;
    }
    if (s->out_len + n > OUT_CAP) {
        s->st.dropped++; /* nobody reads the port: the host's timeout recovers */
        return;
    }
    memcpy(s->out + s->out_head + s->out_len, p, n);
    s->out_len += n;
}

/* The device code stepped outside bank 1 and the settings page: a device_fw bug. */
static bool fence_tripped(serve_t *s)
{
    if (!s->hal_ctx.fence.hits || s->fatal)
        return s->fatal != 0;
    char line[256];
    emu_fence_format(&s->hal_ctx.fence, line, sizeof(line));
    emu_err("serve", "%s: %s; stopping without saving", s->dev_path, line);
    s->fatal = EMU_EXIT_SOFTWARE;
    return true;
}

/* A reply leaves the device's UART: onto the degraded line, or straight to the pty queue. */
static void emit(serve_t *s, const uint8_t *p, size_t n)
{
    if (!s->linked) {
        queue_out(s, p, n);
        return;
    }
    uint64_t now = mono_ns(); /* the reply leaves when the step that made it ends */
    if (link_dir_send(&s->d2h, now > s->busy_until ? now : s->busy_until, p, n, NULL) != LINK_OK) {
        emu_err("serve", "link model: out of memory");
        s->fatal = EMU_EXIT_SOFTWARE;
    }
}

/* Checkpoint, then let the held replies go. Never acknowledge what DEV does not hold. */
static void release(serve_t *s)
{
    if (!fence_tripped(s))
        checkpoint(s);
    if (!s->fatal && s->held_len > 0)
        emit(s, s->held, s->held_len);
    s->held_len = 0;
}

/* Replies the degraded line has delivered by `now` join the pty queue (while it has room). */
static void deliver_out(serve_t *s, uint64_t now)
{
    uint8_t buf[READ_CHUNK];
    while (s->linked && s->out_len < OUT_CAP) {
        size_t room = OUT_CAP - s->out_len;
        size_t n = link_dir_recv(&s->d2h, now, buf, room < sizeof(buf) ? room : sizeof(buf));
        if (n == 0)
            break;
        queue_out(s, buf, n);
    }
}

/* dfw_link_t.tx: park the reply; release() sends it after the checkpoint. */
static int link_tx(void *ctx, const uint8_t *data, size_t len)
{
    serve_t *s = ctx;
    if (s->held_len + len > HELD_CAP)
        release(s);
    if (s->fatal || s->held_len + len > HELD_CAP) {
        s->st.dropped++;
        return -1;
    }
    memcpy(s->held + s->held_len, data, len);
    s->held_len += len;
    return 0;
}

/* Write what the wire has had time to carry. */
static void pump_out(serve_t *s, uint64_t now)
{
    if (s->out_len == 0)
        return;
    size_t n = s->out_len;
    if (now < s->tx_next)
        return; /* still made while the flash works */
    if (s->byte_ns) {
        uint64_t due = now > s->tx_next ? (now - s->tx_next) / s->byte_ns : 0;
        if (due == 0)
            return;
        n = (size_t)min_u64(due, n);
    }
    ssize_t w = write(s->pty.master, s->out + s->out_head, n);
    if (w > 0) {
        s->out_head += (size_t)w;
        s->out_len -= (size_t)w;
        s->tx_next += (uint64_t)w * s->byte_ns;
        s->st.bytes_out += (uint64_t)w;
        s->tx_blocked = false;
    } else if (w < 0 && errno == EAGAIN) {
        s->tx_blocked = true; /* the slave's input queue is full */
    } else if (w < 0 && errno != EINTR) {
        s->st.dropped++; /* no slave side: a reply into the void, as on an unplugged UART */
        s->out_len = 0;
    }
}

static bool in_flight_out(const serve_t *s)
{
    return s->linked && link_dir_next_arrival(&s->d2h) != UINT64_MAX;
}

/* When the next reply byte can move: paced egress, or the degraded line delivering one. */
static uint64_t out_ready(const serve_t *s)
{
    uint64_t t = s->out_len > 0 ? s->tx_next + s->byte_ns : UINT64_MAX;
    return s->linked ? min_u64(t, link_dir_next_arrival(&s->d2h)) : t;
}

/* Let the COMMIT reply leave before the reset, as the firmware drains its UART. */
static void drain_out(serve_t *s)
{
    uint64_t start = mono_ns();
    uint64_t deadline = start + DRAIN_MS * NS_PER_MS + s->out_len * s->byte_ns;
    if (s->linked)
        deadline +=
            link_dir_last_arrival(&s->d2h) > start ? link_dir_last_arrival(&s->d2h) - start : 0;
    while ((s->out_len > 0 || in_flight_out(s)) && !g_signal) {
        uint64_t now = mono_ns();
        if (now >= deadline) {
            s->st.dropped++;
            s->out_len = 0;
            break;
        }
        deliver_out(s, now);
        pump_out(s, now);
        if (s->out_len == 0 && !in_flight_out(s))
            break;
        uint64_t ready = out_ready(s);
        uint64_t wait = s->tx_blocked ? deadline - now : ready > now ? ready - now : 0;
        struct pollfd p = {s->pty.master, (short)(s->tx_blocked ? POLLOUT : 0), 0};
        (void)wait_for(&p, 1, min_u64(wait, deadline - now));
    }
}

/* ---- the device: receiver, reset --------------------------------------------------------- */

static void start_receiver(serve_t *s)
{
    dfw_hal_t hal;
    dfw_layout_t layout;
    emu_hal_init(&s->hal_ctx, s->dev, emu_hal_app_actor(s->dev), &hal);
    emu_hal_layout(s->dev, &layout);
    dfw_link_t link = {s, link_tx};
    dfw_rx_init(&s->rx, &hal, &layout, &link);
}

/* Bytes the host sent while the chip rebooted are lost, as on a real UART. */
static void discard_input(serve_t *s)
{
    uint8_t buf[READ_CHUNK];
    for (int i = 0; i < 64 && read(s->pty.master, buf, sizeof(buf)) > 0; i++)
        ;
    uint64_t now = mono_ns();
    while (s->linked && link_dir_recv(&s->h2d, now, buf, sizeof(buf)) > 0)
        ;
    s->rx_idle = true;
}

/* After COMMIT: reply out, reset, bootloader (activation), a new receiver. */
static void do_reset(serve_t *s)
{
    release(s);
    drain_out(s);
    checkpoint(s); /* clean already: the COMMIT reply waited for the settings page */
    if (s->fatal)
        return;
    bl_boot_report_t r;
    bl_boot_run(s->dev, &r);
    charge(s); /* the activation copy: seconds for a large image */
    s->rebooting = s->busy_until > mono_ns();
    s->st.resets++;
    s->fatal = save_durable(s);
    if (s->fatal)
        return;
    serve_report_reset(s, &r);
    discard_input(s);
    s->answering = r.state == BL_STATE_APP;
    start_receiver(s); /* the (new or old) application runs the receiver again */
}

/*
 * Handle queued frames until none is left or the flash keeps the chip busy.
 * true if the device reset (the rest of the input is lost).
 */
static bool run_polls(serve_t *s)
{
    while (!busy(s, mono_ns())) {
        dfw_rx_event_t ev = dfw_rx_poll(&s->rx);
        charge(s);
        if (ev == DFW_RX_IDLE)
            return false;
        if (ev == DFW_RX_RESET) {
            do_reset(s);
            return true;
        }
    }
    return false;
}

/*
 * Input split at frame delimiters, each frame handled as soon as it is
 * complete (the device's main loop keeps up with its UART ISR, so a host
 * within its window never meets full buffers); one checkpoint at the end.
 */
static void feed(serve_t *s, const uint8_t *b, size_t n)
{
    while (n > 0 && s->answering && !s->fatal) {
        const uint8_t *z = memchr(b, 0, n);
        size_t k = z ? (size_t)(z - b) + 1 : n;
        dfw_rx_input(&s->rx, b, k);
        if (z && run_polls(s))
            return;
        b += k;
        n -= k;
    }
    release(s);
}

/* ---- the loop ------------------------------------------------------------------------- */

/* Bytes the wire has delivered by `now` (everything without pacing). */
static size_t rx_due(const serve_t *s, uint64_t now)
{
    if (!s->byte_ns)
        return READ_CHUNK;
    uint64_t due = now > s->rx_next ? (now - s->rx_next) / s->byte_ns : 0;
    return (size_t)min_u64(due, READ_CHUNK);
}

static void pump_in(serve_t *s, short revents, uint64_t now)
{
    if (!(revents & POLLIN)) {
        s->hup = (revents & (POLLHUP | POLLERR)) != 0;
        return;
    }
    if (s->rx_idle && s->byte_ns) {
        s->rx_next = now > s->rx_next ? now : s->rx_next; /* the first byte starts now */
        s->rx_idle = false;
    }
    size_t want = rx_due(s, now);
    if (want == 0)
        return;
    uint8_t buf[READ_CHUNK];
    ssize_t got = read(s->pty.master, buf, want);
    if (got <= 0) {
        s->rx_idle = true;
        s->hup = got < 0 && errno == EIO; /* no slave open (cannot happen while we hold one) */
        return;
    }
    s->rx_next += (uint64_t)got * s->byte_ns;
    s->st.bytes_in += (uint64_t)got;
    if ((size_t)got < want)
        s->rx_idle = true;
    if (s->linked && link_dir_send(&s->h2d, now, buf, (size_t)got, NULL) != LINK_OK) {
        emu_err("serve", "link model: out of memory");
        s->fatal = EMU_EXIT_SOFTWARE;
    } else if (!s->linked && s->answering && !s->rebooting) {
        feed(s, buf, (size_t)got);
    }
}

/* Host bytes the degraded line has delivered by `now` reach the receiver. */
static void deliver_in(serve_t *s, uint64_t now)
{
    uint8_t buf[READ_CHUNK];
    size_t n;
    while (s->linked && !s->fatal && (n = link_dir_recv(&s->h2d, now, buf, sizeof(buf))) > 0)
        if (s->answering && !s->rebooting)
            feed(s, buf, n); /* a reset inside drops the rest it was given: a rebooting chip */
}

/* SIGUSR1: the cable comes out, or goes back in. Only a --link line has a cable to pull. */
static void cable_flip(serve_t *s)
{
    s->cable_seen = g_cable_flips;
    if (!s->linked) {
        emu_err("serve", "SIGUSR1 ignored: there is no cable to pull without --link");
        return;
    }
    s->cable_out = !s->cable_out;
    uint64_t now = mono_ns();
    if (s->cable_out) {
        link_dir_disconnect(&s->h2d);
        link_dir_disconnect(&s->d2h);
    } else {
        link_dir_reconnect(&s->h2d, now);
        link_dir_reconnect(&s->d2h, now);
    }
    if (!s->a->json) {
        printf("link: cable %s\n", s->cable_out ? "pulled" : "plugged back in");
        fflush(stdout);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", "cable");
    cJSON_AddBoolToObject(j, "connected", !s->cable_out);
    serve_emit_json(j);
}

static short master_events(const serve_t *s, uint64_t now)
{
    short ev = 0;
    if (!s->byte_ns || s->rx_idle || rx_due(s, now) > 0)
        ev |= POLLIN;
    if (s->out_len > 0 && s->tx_blocked)
        ev |= POLLOUT;
    return ev;
}

static uint64_t wait_ns(const serve_t *s, uint64_t now)
{
    if (s->hup)
        return HUP_BACKOFF_MS * NS_PER_MS;
    if (busy(s, now))
        return s->busy_until - now;
    if (s->idle_more)
        return 0; /* like the firmware's main loop: no sleep while bank 1 is being prepared */
    uint64_t wait = TICK_MS * NS_PER_MS;
    if (s->byte_ns && !s->rx_idle) {
        uint64_t t = s->rx_next + s->byte_ns;
        wait = min_u64(wait, t > now ? t - now : 0);
    }
    if (s->out_len > 0 && !s->tx_blocked) {
        uint64_t t = s->tx_next + s->byte_ns;
        wait = min_u64(wait, t > now ? t - now : 0);
    }
    if (s->linked) {
        /* A reply arriving for a full pty queue waits for POLLOUT, not for the clock. */
        uint64_t t = link_dir_next_arrival(&s->h2d);
        if (s->out_len < OUT_CAP)
            t = min_u64(t, link_dir_next_arrival(&s->d2h));
        wait = min_u64(wait, t > now ? t - now : 0);
    }
    return wait;
}

/*
 * One turn of the firmware's main loop once the chip is free: frames that
 * arrived while the flash worked, else one page of idle pre-erase (saved
 * with the next checkpoint).
 */
static void device_turn(serve_t *s)
{
    s->idle_more = false;
    if (busy(s, mono_ns()) || !s->answering || s->fatal)
        return;
    s->rebooting = false;
    if (run_polls(s))
        return;
    release(s);
    s->idle_more = !busy(s, mono_ns()) && dfw_rx_idle(&s->rx);
    charge(s);
}

static void serve_loop(serve_t *s)
{
    while (!g_signal && !s->fatal) {
        uint64_t now = mono_ns();
        struct pollfd fds[2] = {{s->hup ? -1 : s->pty.master, master_events(s, now), 0},
                                {g_wake[0], POLLIN, 0}};
        uint64_t timeout = wait_ns(s, now);
        s->hup = false; /* after the back-off, look at the master again */
        if (wait_for(fds, 2, timeout) < 0 && errno != EINTR) {
            emu_err("serve", "%s: poll failed: %s", s->pty.path, strerror(errno));
            s->fatal = EMU_EXIT_IOERR;
            break;
        }
        if (g_cable_flips != s->cable_seen)
            cable_flip(s);
        now = mono_ns();
        pump_in(s, fds[0].revents, now);
        deliver_in(s, now);
        dfw_rx_tick(&s->rx, (uint32_t)(now / NS_PER_MS));
        device_turn(s);
        if (fence_tripped(s))
            break;
        now = mono_ns();
        deliver_out(s, now);
        pump_out(s, now);
    }
}

/* ---- set-up and tear-down ---------------------------------------------------------------- */

static int install_signals(void)
{
    if (pipe(g_wake) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        if (fcntl(g_wake[i], F_SETFL, O_NONBLOCK) != 0 || fcntl(g_wake[i], F_SETFD, FD_CLOEXEC))
            return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return -1;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill us before the save */
    return 0;
}

static void close_wake(void)
{
    for (int i = 0; i < 2; i++) {
        int fd = g_wake[i];
        g_wake[i] = -1;
        if (fd >= 0)
            close(fd);
    }
}

/*
 * Boot as the chip does at power-on; serving needs a running application.
 * Not saved here: a serve that fails before serving leaves DEV byte-identical.
 */
static int boot_initial(serve_t *s, uint32_t *app_version)
{
    bl_boot_report_t r;
    bl_boot_run(s->dev, &r);
    *app_version = r.app_version;
    if (r.state == BL_STATE_APP)
        return EMU_EXIT_OK;
    emu_err("serve",
            "%s: the device did not start its application (boot state %s%s%s): no receiver "
            "to serve (device file untouched)",
            s->dev_path, bl_state_name(r.state), r.reason || r.note[0] ? ": " : "",
            r.reason ? r.reason : r.note);
    return r.state == BL_STATE_DFU ? EMU_EXIT_NOT_APP : EMU_EXIT_FAULT;
}

static int open_link(serve_t *s)
{
    char err[320];
    if (emu_pty_open(&s->pty, err, sizeof(err)) != 0 ||
        emu_link_publish(s->a->link, s->pty.path, err, sizeof(err)) != 0) {
        emu_err("serve", "%s", err);
        return EMU_EXIT_CANTCREAT;
    }
    return EMU_EXIT_OK;
}

static int serve(serve_t *s)
{
    uint32_t app_version = 0;
    int rc = boot_initial(s, &app_version);
    if (rc == EMU_EXIT_OK)
        rc = open_link(s);
    if (rc == EMU_EXIT_OK)
        rc = save_durable(s); /* the boot changed DEV (reset counter, maybe an activation) */
    if (rc != EMU_EXIT_OK) {
        if (s->pty.master >= 0)
            emu_link_remove(s->a->link, s->pty.path);
        return rc;
    }
    s->answering = true;
    s->vclock_seen = vclock_now(&s->dev->clock); /* the first boot is not charged */
    s->rx_idle = true;
    start_receiver(s);
    serve_announce_serving(s, app_version);
    serve_loop(s);
    rc = s->fatal ? s->fatal : save_durable(s);
    emu_link_remove(s->a->link, s->pty.path);
    serve_announce_exit(s, rc, g_signal);
    return rc;
}

/* --link: both directions with the profile (its baud unless --baud), other dice each way. */
static int open_model(serve_t *s)
{
    if (!s->a->profile)
        return EMU_EXIT_OK;
    link_profile_t p = *s->a->profile;
    if (s->a->baud)
        p.baud = s->a->baud;
    if (link_dir_init(&s->h2d, &p, s->a->seed) != LINK_OK ||
        link_dir_init(&s->d2h, &p, s->a->seed ^ LINK_SEED_D2H) != LINK_OK) {
        emu_err("serve", "--link %s: cannot set up the link model", p.name);
        return EMU_EXIT_SOFTWARE;
    }
    s->linked = true;
    s->byte_ns = 0; /* the model paces the line */
    return EMU_EXIT_OK;
}

int emu_cmd_serve(int argc, char **argv)
{
    serve_args_t a = {NULL, 0, false, NULL, 1, false};
    const char *pos[1];
    int rc = emu_cmd_parse(&serve_cmd, argc, argv, on_opt, &a, pos);
    if (rc >= 0)
        return rc;
    if (!a.link) {
        emu_err("serve", "--pty LINK is required (try 'dfuart-emu serve --help')");
        return EMU_EXIT_USAGE;
    }
    serve_t *s = calloc(1, sizeof(*s));
    if (!s || install_signals() != 0) {
        emu_err("serve", "cannot set up: %s", s ? strerror(errno) : "out of memory");
        free(s);
        close_wake();
        return EMU_EXIT_SOFTWARE;
    }
    s->dev_path = pos[0];
    s->a = &a;
    s->pty = (emu_pty_t){-1, -1, ""};
    s->byte_ns = a.baud ? (10ull * 1000000000ull + a.baud - 1u) / a.baud : 0;
    rc = open_model(s);
    if (rc == EMU_EXIT_OK)
        rc = emu_cmd_load("serve", pos[0], &s->dev);
    if (rc == EMU_EXIT_OK)
        rc = serve(s);
    if (s->linked) {
        link_dir_free(&s->h2d);
        link_dir_free(&s->d2h);
    }
    emu_pty_close(&s->pty);
    emu_device_free(s->dev);
    free(s);
    close_wake();
    return rc;
}
