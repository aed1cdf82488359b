/*
 * sim.c - the co-simulation of sim.h: world clock and scheduler, the host's
 * transport, the device main loop and its resets, and the observers that
 * make reports checkable (frame accounting per link direction, and a check
 * of every acknowledged bank-1 byte against the image).
 */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pkg.h"
#include "emulator/emu_hal.h"
#include "proto/crc32.h"
#include "proto/frame.h"
#include "proto/msg.h"

#define NS_PER_MS      1000000ull
#define RX_CHUNK       4096u
#define DRAIN_LIMIT_NS (600ull * 1000000000ull)          /* quiet links long before this */
#define BOOT_LIMIT     64u                               /* cuts inside one boot sequence */
#define TICK_NS        (DFW_RX_IDLE_MS / 4u * NS_PER_MS) /* dfw_rx_tick() period (dfw_rx.h) */

/* ---- frame accounting: what was sent vs what arrived intact, per direction ------------ */

typedef struct {
    uint32_t id;  /* hash of the frame's contents */
    uint8_t type; /* for "harmless" classification */
} sent_frame_t;

typedef struct {
    frame_decoder_t tx_dec, rx_dec; /* sender side (all valid) and receiver side */
    uint8_t tx_buf[FRAME_MAX_PACKET], rx_buf[FRAME_MAX_PACKET];
    sent_frame_t *q; /* sent, not yet matched: FIFO */
    size_t head, count, cap;
    sim_frames_t fr;
} monitor_t;

typedef enum { DEV_RUNNING, DEV_REBOOTING, DEV_DFU, DEV_DEAD } dev_state_t;

typedef struct {
    sim_event_t *v;
    size_t n, cap;
} events_t;

struct sim {
    sim_config_t cfg;
    bl_config_t bl; /* the device's bootloader build */
    sim_plan_t plan;
    uint8_t *pristine; /* flash after the first boot */
    uint32_t flash_size;
    emu_device_t *dev;
    vclock_t clk;  /* world time: the host, the links, the device when it waits */
    vclock_t dclk; /* device time: ahead of clk only during the device's current step */
    link_dir_t h2d, d2h;
    bool links_up;
    /* device */
    emu_hal_t hal_ctx;
    uint64_t fence_hits; /* refused by the HAL's write fence since run_begin() */
    char fence_msg[256];
    dfw_hal_t hal;
    dfw_layout_t layout;
    dfw_rx_t rx;
    dfw_rx_stats_t rx_sum;  /* counters of earlier boots */
    bool rx_live;           /* rx holds counters not yet in rx_sum */
    dfw_rx_stats_t rx_base; /* rx's counters when the run began (earlier runs' share) */
    dev_state_t state;
    uint64_t wake_ns;    /* DEV_REBOOTING: the application answers from then on */
    uint64_t tx_done_ns; /* the device's UART is busy until then */
    uint64_t fed_ns;     /* world time the receiver last got bytes */
    uint64_t tick_ns;    /* world time of the last dfw_rx_tick() */
    bool mid_frame;      /* the receiver got part of a frame (its last byte was not 0x00) */
    bl_boot_report_t boot;
    uint32_t bank1;   /* where the bootloader looks for bank 1, from the last boot */
    bool cut_pending; /* plan's cut not armed yet */
    bool host_wait;   /* plan's host_start_ms not waited yet */
    bool cable_out;   /* plan's disconnect in effect */
    bool cable_done;
    /* the run in progress */
    sim_report_t *rep;
    const session_image_t *img;
    uint64_t ops0, faults0, erases0;
    uint32_t checked;    /* bank-1 bytes [0, checked) verified against the image */
    uint32_t acked_max;  /* highest firmware offset acknowledged in this run */
    uint64_t fw_sent_hi; /* highest firmware offset sent in this run */
    link_stats_t h2d0, d2h0;
    monitor_t mh2d, md2h;
    events_t ev;
    uint8_t trash[RX_CHUNK];
};

static uint64_t now_ns(const sim_t *s)
{
    return vclock_now(&s->clk);
}

/* The device's own time: its flash work charges it (the flash model is attached to it). */
static uint64_t dev_now(const sim_t *s)
{
    return vclock_now(&s->dclk);
}

static void dev_catch_up(sim_t *s)
{
    if (dev_now(s) < now_ns(s))
        vclock_advance(&s->dclk, now_ns(s) - dev_now(s));
}

/* Page erases so far, whole or torn (the flash model's running total). */
static uint64_t erase_count(const sim_t *s)
{
    flash_stats_t st;
    flash_get_stats(s->dev->flash, &st);
    return st.pages_erased;
}

static void advance_to(sim_t *s, uint64_t t)
{
    if (t > now_ns(s))
        vclock_advance(&s->clk, t - now_ns(s));
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/*
 * Arrival time of the next frame delimiter in flight, SIM_NEVER if none. Only
 * a complete frame can make a receiver act, so the world steps from frame to
 * frame rather than byte to byte (the link is read directly: its queue is a
 * plain ring, linkmodel.h).
 */
static uint64_t next_delim(const link_dir_t *d)
{
    for (size_t i = 0; i < d->count; i++) {
        size_t k = (d->head + i) % d->cap;
        if (d->byte[k] == 0x00)
            return d->arrive[k];
    }
    return SIM_NEVER;
}

/*
 * A frame's identity for matching sender and receiver: its own CRC-32, which
 * follows the payload in the decoder's packet buffer (PROTOCOL.md §2); every
 * frame the monitors see comes out of a frame_decoder_t.
 */
static uint32_t frame_id(const frame_t *f)
{
    return frame_get32(f->payload + f->len);
}

static void mon_init(monitor_t *m)
{
    frame_decoder_init(&m->tx_dec, m->tx_buf, sizeof(m->tx_buf));
    frame_decoder_init(&m->rx_dec, m->rx_buf, sizeof(m->rx_buf));
    m->head = m->count = 0;
    memset(&m->fr, 0, sizeof(m->fr));
}

static bool is_polling(uint8_t type)
{
    return type == MSG_HELLO || type == MSG_INFO;
}

static int mon_push(monitor_t *m, const frame_t *f)
{
    if (m->count == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        sent_frame_t *q = malloc(cap * sizeof(*q));
        if (!q)
            return -1;
        for (size_t i = 0; i < m->count; i++)
            q[i] = m->q[(m->head + i) % m->cap];
        free(m->q);
        m->q = q, m->cap = cap, m->head = 0;
    }
    m->q[(m->head + m->count++) % m->cap] = (sent_frame_t){frame_id(f), f->type};
    m->fr.sent++;
    return 0;
}

static void mon_drop_head(monitor_t *m)
{
    m->fr.damaged++;
    m->fr.damaged_hello += is_polling(m->q[m->head].type);
    m->head = (m->head + 1) % m->cap;
    m->count--;
}

/* A frame arrived intact: everything sent before it and still unmatched was damaged. */
static void mon_match(monitor_t *m, const frame_t *f)
{
    uint32_t id = frame_id(f);
    size_t k = 0;
    while (k < m->count && m->q[(m->head + k) % m->cap].id != id)
        k++;
    if (k == m->count) {
        m->fr.dups++; /* a copy of a frame that already arrived */
        return;
    }
    while (k-- > 0)
        mon_drop_head(m);
    m->head = (m->head + 1) % m->cap;
    m->count--;
    m->fr.delivered++;
}

/* Feed `n` bytes to decoder `d`; call fn for each valid frame. */
static void decode_all(frame_decoder_t *d, const uint8_t *b, size_t n,
                       void (*fn)(sim_t *, const frame_t *), sim_t *s)
{
    size_t pos = 0;
    while (pos < n) {
        size_t used = 0;
        frame_t f;
        frame_result_t r = frame_decoder_push(d, b + pos, n - pos, &used, &f);
        pos += used;
        if (r == FRAME_READY)
            fn(s, &f);
        if (r == FRAME_NEED_MORE || used == 0)
            break;
    }
}

/* ---- bank-1 check: every acknowledged byte equals the image --------------------------- */

static void bad_ack(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad_ack(sim_t *s, const char *fmt, ...)
{
    if (s->rep->bad_acks++ > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->rep->bad_ack_msg, sizeof(s->rep->bad_ack_msg), fmt, ap);
    va_end(ap);
}

/*
 * The device says firmware [0, next) is stored. Whole words must be in bank 1
 * already (a partial last word may wait in RAM); after COMMIT (`sealed`) the
 * whole image, its last word padded with 0xFF. Only bytes not yet checked
 * are compared, so the check stays linear; a lower offset (RESUME, a new
 * session) moves the mark back.
 */
static void check_acked(sim_t *s, uint32_t next, bool sealed)
{
    const session_image_t *img = s->img;
    if (next > img->bin_len) {
        bad_ack(s, "device acknowledged offset %u of a %u-byte image", next, img->bin_len);
        return;
    }
    uint32_t upto = sealed ? img->bin_len : next & ~3u;
    if (upto < s->checked)
        s->checked = upto;
    const uint8_t *b1 = flash_bytes(s->dev->flash) + s->bank1;
    if ((uint64_t)s->bank1 + img->bin_len + 3u > s->flash_size) {
        bad_ack(s, "bank 1 at 0x%X cannot hold the image", s->bank1);
        return;
    }
    for (uint32_t i = s->checked; i < upto; i++)
        if (b1[i] != img->bin[i]) {
            bad_ack(s, "bank 1 byte %u is 0x%02X, image 0x%02X (acknowledged up to %u)", i, b1[i],
                    img->bin[i], next);
            break;
        }
    for (uint32_t i = img->bin_len; sealed && i % 4u; i++)
        if (b1[i] != 0xFF)
            bad_ack(s, "bank 1 pad byte %u is 0x%02X, not 0xFF", i, b1[i]);
    s->checked = upto;
    if (next > s->acked_max)
        s->acked_max = next;
}

/* ---- the device ---------------------------------------------------------------------- */

static void on_d2h_sent(sim_t *s, const frame_t *f)
{
    if (mon_push(&s->md2h, f) != 0)
        return;
    if (f->type == MSG_STATUS && f->object == FRAME_OBJ_FW && f->len == MSG_STATUS_LEN) {
        msg_status_body_t b;
        msg_status_unpack(f->payload, &b);
        check_acked(s, f->offset, b.phase == MSG_PHASE_COMMITTED);
    }
}

/* dfw_link_t.tx: the reply goes onto the line; a dead device sends nothing. */
static int dev_tx(void *ctx, const uint8_t *data, size_t len)
{
    sim_t *s = ctx;
    if (flash_power_is_cut(s->dev->flash) || s->state != DEV_RUNNING)
        return -1;
    decode_all(&s->md2h.tx_dec, data, len, on_d2h_sent, s);
    s->rep->bytes_d2h += len;
    uint64_t done = 0;
    if (link_dir_send(&s->d2h, dev_now(s), data, len, &done) != LINK_OK)
        return -1;
    s->tx_done_ns = done;
    return 0;
}

/* a += b - base (base: what an earlier run already counted of the same receiver's b) */
static void add_rx_stats(dfw_rx_stats_t *a, const dfw_rx_stats_t *b, const dfw_rx_stats_t *base)
{
    a->frames += b->frames - base->frames, a->crc += b->crc - base->crc;
    a->malformed += b->malformed - base->malformed, a->version += b->version - base->version;
    a->overflow += b->overflow - base->overflow, a->no_buffer += b->no_buffer - base->no_buffer;
    a->idle_cuts += b->idle_cuts - base->idle_cuts, a->replies += b->replies - base->replies;
    a->tx_errors += b->tx_errors - base->tx_errors;
}

/* Move what the write fence refused into the run's totals (the HAL is re-bound per boot). */
static void fence_collect(sim_t *s)
{
    emu_fence_t *f = &s->hal_ctx.fence;
    if (f->hits && s->fence_hits == 0)
        emu_fence_format(f, s->fence_msg, sizeof(s->fence_msg));
    s->fence_hits += f->hits;
    f->hits = 0;
}

/* The application starts: a fresh receiver on the device's flash, as its actor. */
static void app_start(sim_t *s)
{
    fence_collect(s);
    emu_hal_init(&s->hal_ctx, s->dev, emu_hal_app_actor(s->dev), &s->hal);
    emu_hal_layout(s->dev, &s->layout);
    dfw_link_t link = {s, dev_tx};
    dfw_rx_init(&s->rx, &s->hal, &s->layout, &link);
    s->rx_live = true;
    s->mid_frame = false;
    s->bank1 = emu_bank1_start(s->dev, s->boot.bank0_size);
}

/* Power back or reset: the bootloader replay, again while a cut hits the boot itself. */
static void bootloader(sim_t *s)
{
    unsigned n = 0;
    do {
        bl_boot_run(s->dev, &s->boot);
        sim_report_t *r = s->rep;
        if (!r)
            continue;
        r->boot_runs++;
        r->bootloader_resets += s->boot.resets - 1u;
        if (s->boot.state == BL_STATE_POWER_LOST) { /* the cut hit the boot itself */
            r->device_resets++;
            r->cut_resets++;
            r->cut_fired = true;
            r->cut_at_ns = dev_now(s);
            r->acked_at_cut = s->acked_max;
        }
    } while (s->boot.state == BL_STATE_POWER_LOST && ++n < BOOT_LIMIT);
}

/* The chip resets: RAM is gone (receiver, bytes in its buffers), flash stays. */
static void dev_reset(sim_t *s, bool cut)
{
    sim_report_t *r = s->rep;
    dfw_rx_stats_t st;
    dfw_rx_get_stats(&s->rx, &st);
    if (s->rx_live)
        add_rx_stats(&s->rx_sum, &st, &s->rx_base);
    memset(&s->rx_base, 0, sizeof(s->rx_base));
    s->rx_live = false;
    r->device_resets++;
    if (cut) {
        r->cut_resets++;
        r->cut_fired = true;
        r->cut_at_ns = dev_now(s);
        r->acked_at_cut = s->acked_max;
    } else {
        r->commit_resets++;
    }
    bootloader(s);
    r->boot = s->boot;
    r->ops_before_app = flash_op_count(s->dev->flash) - s->ops0;
    if (s->boot.state == BL_STATE_APP) {
        app_start(s);
        s->state = DEV_REBOOTING;
        s->wake_ns = dev_now(s) + (uint64_t)s->cfg.boot_ms * NS_PER_MS;
    } else {
        s->state = s->boot.state == BL_STATE_DFU ? DEV_DFU : DEV_DEAD;
        r->dfu_stuck = s->boot.state == BL_STATE_DFU;
        r->bricked = s->boot.state != BL_STATE_DFU;
    }
}

static void on_h2d_arrived(sim_t *s, const frame_t *f)
{
    mon_match(&s->mh2d, f);
    if (s->state != DEV_RUNNING)
        s->mh2d.fr.while_dead++;
}

/* Host bytes that arrived by `t`: into the receiver if an application listens, else lost. */
static void feed_until(sim_t *s, uint64_t t)
{
    size_t n;
    while ((n = link_dir_recv(&s->h2d, t, s->trash, sizeof(s->trash))) > 0) {
        decode_all(&s->mh2d.rx_dec, s->trash, n, on_h2d_arrived, s);
        if (s->state == DEV_RUNNING) {
            (void)dfw_rx_input(&s->rx, s->trash, n); /* the UART ISR queues them */
            s->fed_ns = t;
            s->mid_frame = s->trash[n - 1] != 0x00;
        }
    }
}

static void feed(sim_t *s)
{
    feed_until(s, now_ns(s));
}

/* Due events of the world that are not bytes: the cable, the end of a reboot. */
static void timers(sim_t *s)
{
    uint64_t t = now_ns(s);
    const sim_plan_t *p = &s->plan;
    if (p->disconnect_at_ms && !s->cable_out && !s->cable_done &&
        t >= p->disconnect_at_ms * NS_PER_MS) {
        link_dir_disconnect(&s->h2d);
        link_dir_disconnect(&s->d2h);
        s->cable_out = true;
    }
    if (s->cable_out && t >= (p->disconnect_at_ms + p->disconnect_ms) * NS_PER_MS) {
        link_dir_reconnect(&s->h2d, t);
        link_dir_reconnect(&s->d2h, t);
        s->cable_out = false;
        s->cable_done = true;
    }
    if (s->state == DEV_REBOOTING && t >= s->wake_ns) {
        feed_until(s, s->wake_ns - 1u); /* what arrived before the app came up is lost */
        s->state = DEV_RUNNING;
        s->mid_frame = false;
    }
}

/*
 * One turn of the port's main loop (device_fw/port/nrf52/main.c) at device
 * time: handle one queued frame; with nothing queued, the idle work
 * (dfw_rx_idle: bank-1 pre-erase, one page per call); after COMMIT, drain the
 * UART and reset. true if the device may have more to do.
 */
static bool dev_step(sim_t *s)
{
    dfw_rx_tick(&s->rx, (uint32_t)(dev_now(s) / NS_PER_MS));
    s->tick_ns = now_ns(s);
    uint64_t ops = flash_op_count(s->dev->flash);
    dfw_rx_event_t ev = dfw_rx_poll(&s->rx);
    bool more =
        ev == DFW_RX_WORKED || (ev == DFW_RX_IDLE && !s->cfg.no_idle_work && dfw_rx_idle(&s->rx));
    if (flash_power_is_cut(s->dev->flash)) {
        dev_reset(s, true);
        return true;
    }
    if (ev == DFW_RX_RESET) {
        s->rep->ops_before_commit = ops - s->ops0;
        if (s->tx_done_ns > dev_now(s)) /* the reply leaves the UART first */
            vclock_advance(&s->dclk, s->tx_done_ns - dev_now(s));
        dev_reset(s, false);
        return true;
    }
    return more;
}

/*
 * Conservative co-simulation: a device step starts only once the world has
 * reached the device's time (so every byte that arrives before it has been
 * queued), then runs to its end in device time (flash operations, a reset
 * and the bootloader's whole replay) while the world waits; what the device
 * sends is timestamped in device time, so the host sees it exactly when it
 * arrives. The device stops for the host at `until` (its read deadline) and
 * whenever bytes are due at the host.
 */
static void dev_run(sim_t *s, uint64_t until)
{
    for (;;) {
        timers(s);
        feed(s);
        if (s->state != DEV_RUNNING || dev_now(s) > now_ns(s) || now_ns(s) >= until ||
            next_delim(&s->d2h) <= now_ns(s))
            return;
        dev_catch_up(s);
        if (!dev_step(s))
            return;
    }
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/*
 * When something next happens on its own: a frame arrives, the device's step
 * ends, a reboot ends, the cable moves; and, while bytes trickle in or a
 * frame is left partial, the receiver's tick (its idle cut needs its clock).
 * Always later than now, so the world cannot stall.
 */
static uint64_t next_event(const sim_t *s)
{
    uint64_t t = min_u64(next_delim(&s->h2d), next_delim(&s->d2h));
    const sim_plan_t *p = &s->plan;
    bool trickle = s->h2d.count > 0 ||
                   (s->mid_frame && now_ns(s) < s->fed_ns + 2u * VCLOCK_MS(DFW_RX_IDLE_MS));
    if (s->state == DEV_RUNNING && trickle)
        t = min_u64(t, max_u64(s->tick_ns + TICK_NS, dev_now(s)));
    if (s->state == DEV_REBOOTING)
        t = min_u64(t, s->wake_ns);
    else if (s->state == DEV_RUNNING && dev_now(s) > now_ns(s))
        t = min_u64(t, dev_now(s)); /* the device's step ends: it may have more to do */
    if (p->disconnect_at_ms && !s->cable_done)
        t = min_u64(t, (p->disconnect_at_ms + (s->cable_out ? p->disconnect_ms : 0)) * NS_PER_MS);
    return max_u64(t, now_ns(s) + 1u);
}

/* ---- the host's transport ------------------------------------------------------------- */

static void on_h2d_sent(sim_t *s, const frame_t *f)
{
    (void)mon_push(&s->mh2d, f);
    if (f->type != MSG_DATA || f->object != FRAME_OBJ_FW)
        return;
    uint64_t off = f->offset, end = off + f->len;
    s->rep->fw_payload += f->len;
    if (off < s->fw_sent_hi)
        s->rep->fw_resent += min_u64(end, s->fw_sent_hi) - off;
    if (end > s->fw_sent_hi)
        s->fw_sent_hi = end;
}

static transport_err_t tp_write(transport_t *t, const uint8_t *buf, size_t n)
{
    sim_t *s = t->ctx;
    if (s->rep->bytes_h2d == 0 && n > 0) {
        s->rep->t_first_byte_ns = now_ns(s);
        s->rep->ops_before_host = flash_op_count(s->dev->flash) - s->ops0;
        s->rep->erases_before_host = erase_count(s) - s->erases0;
    }
    s->rep->bytes_h2d += n;
    decode_all(&s->mh2d.tx_dec, buf, n, on_h2d_sent, s);
    /* The host OS buffers: the session does not wait for the line. */
    if (link_dir_send(&s->h2d, now_ns(s), buf, n, NULL) != LINK_OK)
        return transport_fail(t, TRANSPORT_ERR_NOMEM, "link model out of memory");
    return TRANSPORT_OK;
}

static void on_d2h_arrived(sim_t *s, const frame_t *f)
{
    mon_match(&s->md2h, f);
}

/* Device bytes that have reached the host, into buf (and the frame monitor). */
static size_t host_recv(sim_t *s, uint8_t *buf, size_t cap)
{
    size_t n = link_dir_recv(&s->d2h, now_ns(s), buf, cap);
    decode_all(&s->md2h.rx_dec, buf, n, on_d2h_arrived, s);
    return n;
}

static int tp_read(transport_t *t, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    sim_t *s = t->ctx;
    uint64_t deadline = now_ns(s) + (uint64_t)timeout_ms * NS_PER_MS;
    for (;;) {
        dev_run(s, deadline);
        size_t n = host_recv(s, buf, cap);
        if (n > 0 || now_ns(s) >= deadline)
            return (int)n;
        /* The device is idle (dev_run returned before the deadline): skip to what comes next. */
        uint64_t next = next_event(s);
        advance_to(s, next < deadline ? next : deadline);
    }
}

static transport_err_t tp_drain(transport_t *t)
{
    (void)t;
    return TRANSPORT_OK;
}

static uint64_t host_now_ms(void *ctx)
{
    return now_ns(ctx) / NS_PER_MS;
}

static void on_event(void *ctx, const session_event_t *e)
{
    sim_t *s = ctx;
    events_t *v = &s->ev;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 512;
        sim_event_t *p = realloc(v->v, cap * sizeof(*p));
        if (!p)
            return;
        v->v = p, v->cap = cap;
    }
    sim_event_t *o = &v->v[v->n++];
    *o = (sim_event_t){e->kind,  e->t_ms,    e->object, e->offset, e->total,
                       e->acked, e->attempt, e->cause,  ""};
    if (e->reason)
        snprintf(o->reason, sizeof(o->reason), "%s", e->reason);
}

/* ---- runs -------------------------------------------------------------------------------- */

/*
 * Before the host starts (plan.host_start_ms): the device alone, from event to
 * event, doing its idle work (and rebooting if the armed cut fires there).
 */
static void device_alone_until(sim_t *s, uint64_t t)
{
    while (now_ns(s) < t) {
        dev_run(s, t);
        uint64_t next = next_event(s);
        advance_to(s, next < t ? next : t);
    }
}

/* After the session: let the world run until nothing is in flight, so frame counts are final. */
static void drain(sim_t *s)
{
    uint64_t limit = now_ns(s) + DRAIN_LIMIT_NS;
    for (;;) {
        dev_run(s, limit);
        bool got = false;
        while (host_recv(s, s->trash, sizeof(s->trash)) > 0)
            got = true;
        uint64_t next = next_event(s);
        if (got && s->state == DEV_RUNNING)
            continue; /* the device may have been waiting for the host to read */
        if (next == SIM_NEVER || next > limit || now_ns(s) >= limit)
            break;
        advance_to(s, next);
    }
    while (s->mh2d.count)
        mon_drop_head(&s->mh2d);
    while (s->md2h.count)
        mon_drop_head(&s->md2h);
}

static link_stats_t link_diff(const link_stats_t *a, const link_stats_t *b)
{
    return (link_stats_t){a->sent - b->sent,       a->delivered - b->delivered,
                          a->dropped - b->dropped, a->flipped_bits - b->flipped_bits,
                          a->garbage - b->garbage, a->dup_frames - b->dup_frames,
                          a->stalls - b->stalls};
}

static void run_begin(sim_t *s, const session_image_t *img, sim_report_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    s->rep = rep;
    s->img = img;
    s->ev.n = 0;
    s->ops0 = flash_op_count(s->dev->flash);
    s->faults0 = flash_fault_count(s->dev->flash);
    s->hal_ctx.fence.hits = 0;
    s->fence_hits = 0;
    s->erases0 = erase_count(s);
    s->checked = s->acked_max = 0;
    s->fw_sent_hi = 0;
    s->h2d0 = s->h2d.stats;
    s->d2h0 = s->d2h.stats;
    memset(&s->rx_sum, 0, sizeof(s->rx_sum));
    dfw_rx_get_stats(&s->rx, &s->rx_base);
    mon_init(&s->mh2d);
    mon_init(&s->md2h);
    rep->boot = s->boot;
    if (s->cut_pending && s->plan.cut_op) {
        if (flash_cut_arm(s->dev->flash, s->plan.cut_op, s->plan.cut_mode, s->plan.cut_seed) !=
            FLASH_OK)
            rep->bad_acks++; /* cannot happen with cut_op > 0; make it loud if it does */
    }
    s->cut_pending = false;
}

static void run_end(sim_t *s, sim_report_t *rep)
{
    drain(s);
    dfw_rx_stats_t st;
    dfw_rx_get_stats(&s->rx, &st);
    rep->rx = s->rx_sum;
    if (s->rx_live)
        add_rx_stats(&rep->rx, &st, &s->rx_base);
    rep->flash_ops = flash_op_count(s->dev->flash) - s->ops0;
    rep->flash_faults = flash_fault_count(s->dev->flash) - s->faults0;
    fence_collect(s);
    rep->fence_hits = s->fence_hits;
    snprintf(rep->fence_msg, sizeof(rep->fence_msg), "%s", s->fence_hits ? s->fence_msg : "");
    rep->link_h2d = link_diff(&s->h2d.stats, &s->h2d0);
    rep->link_d2h = link_diff(&s->d2h.stats, &s->d2h0);
    rep->fr_h2d = s->mh2d.fr;
    rep->fr_d2h = s->md2h.fr;
    rep->events = s->ev.v;
    rep->n_events = s->ev.n;
    s->rep = NULL;
}

session_err_t sim_run_image(sim_t *s, const session_image_t *img, sim_report_t *rep)
{
    run_begin(s, img, rep);
    transport_t tp = {.backend = TRANSPORT_BACKEND_CUSTOM,
                      .ctx = s,
                      .read = tp_read,
                      .write = tp_write,
                      .drain = tp_drain,
                      .baud = s->h2d.p.baud};
    snprintf(tp.path, sizeof(tp.path), "sim:%s", s->h2d.p.name);
    if (s->host_wait)
        device_alone_until(s, s->plan.host_start_ms * NS_PER_MS);
    s->host_wait = false;
    session_config_t cfg = {&tp,           host_now_ms, s, on_event, s, tp.baud, s->cfg.timeout_ms,
                            s->cfg.retries};
    rep->t_start_ns = now_ns(s);
    rep->err = session_run(&cfg, img, &rep->res);
    rep->t_total_ns = now_ns(s) - rep->t_start_ns;
    rep->ops_session = flash_op_count(s->dev->flash) - s->ops0;
    run_end(s, rep);
    return rep->err;
}

session_image_t sim_image_of(const pkg_image_t *a)
{
    return (session_image_t){a->dat,
                             (uint32_t)a->dat_len,
                             a->bin,
                             (uint32_t)a->bin_len,
                             a->init.has_fw_version,
                             a->init.fw_version};
}

session_err_t sim_run_update(sim_t *s, const char *pkg_path, sim_report_t *rep)
{
    pkg_t *pkg = NULL;
    pkg_diag_t diag;
    if (pkg_open(pkg_path, &pkg, &diag) != PKG_OK || pkg_image_count(pkg) == 0) {
        memset(rep, 0, sizeof(*rep));
        snprintf(rep->res.msg, sizeof(rep->res.msg), "%s", diag.msg);
        pkg_close(pkg);
        return rep->err = rep->res.err = SESSION_ERR_ARG;
    }
    const pkg_image_t *a = pkg_image(pkg, 0);
    session_image_t img = sim_image_of(a);
    session_err_t e = sim_run_image(s, &img, rep);
    pkg_close(pkg);
    return e;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static int open_links(sim_t *s, const sim_plan_t *p)
{
    const char *a = p->link_h2d ? p->link_h2d : SIM_DEFAULT_LINK;
    const char *b = p->link_d2h ? p->link_d2h : SIM_DEFAULT_LINK;
    const link_profile_t *pa = link_profile_find(a), *pb = link_profile_find(b);
    if (s->links_up) {
        link_dir_free(&s->h2d);
        link_dir_free(&s->d2h);
        s->links_up = false;
    }
    if (!pa || !pb || link_dir_init(&s->h2d, pa, p->seed_h2d) != LINK_OK)
        return -1;
    if (link_dir_init(&s->d2h, pb, p->seed_d2h) != LINK_OK) {
        link_dir_free(&s->h2d);
        return -1;
    }
    s->links_up = true;
    return 0;
}

int sim_reset(sim_t *s, const sim_plan_t *plan)
{
    static const sim_plan_t none = {0};
    s->plan = plan ? *plan : none;
    /*
     * The same flash object, reloaded: no allocation per run. Its op count and
     * logs carry on (reports use differences); a cut armed by an earlier run
     * that never fired must not fire in this one.
     */
    flash_cut_disarm(s->dev->flash);
    if (flash_load_raw(s->dev->flash, s->pristine, s->flash_size) != FLASH_OK)
        return -1;
    vclock_init(&s->clk, 0);
    vclock_init(&s->dclk, 0);
    flash_attach_clock(s->dev->flash, &s->dclk);
    /* Protection and the SoftDevice flag are chip state, not flash: boot to set them again. */
    bootloader(s);
    if (s->boot.state != BL_STATE_APP)
        return -1;
    vclock_init(&s->clk, 0);
    vclock_init(&s->dclk, 0);
    s->state = DEV_RUNNING;
    s->tx_done_ns = 0;
    s->cut_pending = s->plan.cut_op != 0;
    s->host_wait = s->plan.host_start_ms != 0;
    s->cable_out = s->cable_done = false;
    app_start(s);
    return open_links(s, &s->plan);
}

__attribute__((format(printf, 4, 5))) static sim_t *sim_fail(sim_t *s, char *err, size_t n,
                                                             const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    sim_free(s);
    return NULL;
}

/* `dfuart-emu create`: MBR, SoftDevice stand-in, the app, bootloader, settings + backup. */
static emu_create_err_t create_device(sim_t *s, emu_create_diag_t *d)
{
    emu_app_image_t app;
    emu_create_err_t e = emu_app_load(s->cfg.app_path, &app, d);
    if (e != EMU_CREATE_OK)
        return e;
    emu_create_params_t p = {.cfg = s->bl,
                             .sd = s->cfg.sd,
                             .app = &app,
                             .app_name = s->cfg.app_path,
                             .app_version = s->cfg.app_version,
                             .bootloader_version = 1,
                             .app_bv = BL_SETTINGS_BV_CRC};
    e = emu_create_device(&p, &s->dev, d);
    emu_app_free(&app);
    return e;
}

/* The programmer rewrites the SoftDevice info struct's FWID (see sim_config_t.sd_fwid). */
static int patch_fwid(sim_t *s)
{
    uint8_t w[2] = {(uint8_t)s->cfg.sd_fwid, (uint8_t)(s->cfg.sd_fwid >> 8)};
    if (!s->cfg.sd_fwid)
        return 0;
    return flash_load(s->dev->flash, EMU_SD_FWID_ADDR, w, sizeof(w)) == FLASH_OK ? 0 : -1;
}

/*
 * An earlier update's leftovers in bank 1 (sim_config_t.bank1_init), where the
 * running app's next update will be staged. Loaded like a programmer would:
 * the bootloader ignores bank 1 while no update is pending, so the boot that
 * preceded this stays valid.
 */
static int load_bank1(sim_t *s)
{
    uint32_t b1 = emu_bank1_start(s->dev, s->boot.bank0_size);
    if (!s->cfg.bank1_init || !s->cfg.bank1_init_len)
        return 0;
    if ((uint64_t)b1 + s->cfg.bank1_init_len > s->flash_size)
        return -1;
    flash_err_t e = flash_load(s->dev->flash, b1, s->cfg.bank1_init, s->cfg.bank1_init_len);
    return e == FLASH_OK ? 0 : -1;
}

sim_t *sim_new(const sim_config_t *cfg, char *err, size_t err_len)
{
    sim_t *s = calloc(1, sizeof(*s));
    if (!s || !cfg || !cfg->app_path)
        return sim_fail(s, err, err_len, "sim_new: no memory or no configuration");
    s->cfg = *cfg;
    s->cfg.boot_ms = cfg->boot_ms ? cfg->boot_ms : SIM_BOOT_MS;
    s->cfg.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : SIM_TIMEOUT_MS;
    s->cfg.retries = cfg->retries ? cfg->retries : SIM_RETRIES;
    bl_config_defaults(&s->bl, cfg->chip, cfg->profile);
    s->bl.sdk = cfg->sdk;
    memcpy(s->bl.public_key, cfg->public_key, sizeof(s->bl.public_key));
    emu_create_diag_t d = {""};
    if (create_device(s, &d) != EMU_CREATE_OK)
        return sim_fail(s, err, err_len, "emu_create: %s", d.msg);
    s->bl = s->dev->cfg; /* as created: what every reset rebuilds */
    if (patch_fwid(s) != 0)
        return sim_fail(s, err, err_len, "cannot patch the SoftDevice FWID");
    bootloader(s);
    if (s->boot.state != BL_STATE_APP)
        return sim_fail(s, err, err_len, "the new device does not boot its app: %s (%s)",
                        bl_state_name(s->boot.state), s->boot.reason ? s->boot.reason : "");
    s->flash_size = flash_chip(s->dev->flash)->size;
    if (load_bank1(s) != 0)
        return sim_fail(s, err, err_len, "cannot load %u bytes into bank 1", cfg->bank1_init_len);
    s->cfg.bank1_init = NULL; /* borrowed for sim_new() only */
    s->pristine = malloc(s->flash_size);
    if (!s->pristine)
        return sim_fail(s, err, err_len, "sim_new: no memory for the snapshot");
    memcpy(s->pristine, flash_bytes(s->dev->flash), s->flash_size);
    if (sim_reset(s, &cfg->plan) != 0)
        return sim_fail(s, err, err_len, "sim_reset failed (unknown link profile?)");
    return s;
}

void sim_free(sim_t *s)
{
    if (!s)
        return;
    if (s->links_up) {
        link_dir_free(&s->h2d);
        link_dir_free(&s->d2h);
    }
    emu_device_free(s->dev);
    free(s->pristine);
    free(s->mh2d.q);
    free(s->md2h.q);
    free(s->ev.v);
    free(s);
}

/* ---- inspection --------------------------------------------------------------------------- */

emu_device_t *sim_device(sim_t *s)
{
    return s->dev;
}

uint64_t sim_now_ns(const sim_t *s)
{
    return now_ns(s);
}

bl_state_t sim_device_state(const sim_t *s)
{
    switch (s->state) {
    case DEV_RUNNING:
    case DEV_REBOOTING:
        return BL_STATE_APP;
    case DEV_DFU:
        return BL_STATE_DFU;
    case DEV_DEAD:
        break;
    }
    return s->boot.state == BL_STATE_APP ? BL_STATE_FAULT : s->boot.state;
}

uint32_t sim_app_version(const sim_t *s)
{
    return s->boot.app_version;
}

bool sim_bank0_equals(const sim_t *s, const uint8_t *img, size_t len)
{
    uint32_t b0 = emu_bank0_start(s->dev);
    if (s->boot.bank0_size != len || (uint64_t)b0 + len > s->flash_size)
        return false;
    return memcmp(flash_bytes(s->dev->flash) + b0, img, len) == 0;
}

int sim_report_line(const sim_report_t *r, char *buf, size_t n)
{
    return snprintf(
        buf, n,
        "%s: %.3f s (first byte %.3f s), h2d %llu B (fw %llu, re-sent %llu), retries %u, "
        "resumes %u, resets %u (+%u by the bootloader), flash ops %llu, frames h2d %u sent/%u "
        "damaged/%u dup, d2h %u sent/%u damaged/%u dup",
        session_strerror(r->err), (double)r->t_total_ns / 1e9,
        (double)(r->t_first_byte_ns - r->t_start_ns) / 1e9, (unsigned long long)r->bytes_h2d,
        (unsigned long long)r->fw_payload, (unsigned long long)r->fw_resent, r->res.retries,
        r->res.resumes, r->device_resets, r->bootloader_resets, (unsigned long long)r->flash_ops,
        r->fr_h2d.sent, r->fr_h2d.damaged, r->fr_h2d.dups, r->fr_d2h.sent, r->fr_d2h.damaged,
        r->fr_d2h.dups);
}
