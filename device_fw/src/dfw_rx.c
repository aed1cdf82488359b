/*
 * dfw_rx.c - link side of the device receiver: bytes in, frames queued,
 * replies out (PROTOCOL.md §1, §2, §5). The session logic is in dfw_rx_msgs.c.
 *
 * Queue: buffers are used in strict rotation, so a ring of DFW_RX_BUFFERS
 * slots with two free-running counters modulo 2N is enough: input() fills
 * slot wr % N and publishes it by advancing wr; poll() handles slot rd % N
 * and releases it by advancing rd. wr - rd (mod 2N) frames are queued, and
 * input() may fill a slot only while fewer than N are. Each counter has one
 * writer, so neither side ever needs a lock.
 */
#include <stdatomic.h>
#include <string.h>

#include "dfw_rx_priv.h"

#define RING_MOD (2u * DFW_RX_BUFFERS)

_Static_assert(FRAME_MAX_PACKET % 4u == 0u, "frame buffers are whole words");
_Static_assert(FRAME_MAX_PACKET / 4u >= DFW_SETTINGS_WORDS,
               "a frame buffer doubles as dfw_stage_finish()'s scratch");

static uint8_t ring_next(uint8_t count)
{
    return (uint8_t)((count + 1u) % RING_MOD);
}

static uint32_t ring_used(const dfw_rx_t *rx)
{
    return ((uint32_t)rx->wr + RING_MOD - rx->rd) % RING_MOD;
}

static uint8_t *slot_bytes(dfw_rx_t *rx, uint32_t count)
{
    return (uint8_t *)rx->buf[count % DFW_RX_BUFFERS];
}

/* ----------------------------------------------------------------- producer */

/* Point the decoder at the next free buffer, or at none (frame dropped) when all are queued. */
static void arm(dfw_rx_t *rx)
{
    rx->no_buf = ring_used(rx) >= DFW_RX_BUFFERS;
    if (rx->no_buf) {
        frame_decoder_init(&rx->dec, NULL, 0); /* cap 0: every byte overflows, nothing stored */
    } else {
        frame_decoder_init(&rx->dec, slot_bytes(rx, rx->wr), FRAME_MAX_PACKET);
    }
}

static void publish(dfw_rx_t *rx, const frame_t *f, bool foreign)
{
    dfw_rx_slot_t *s = &rx->slot[rx->wr % DFW_RX_BUFFERS];
    s->req = *f;
    s->foreign = foreign;
    atomic_signal_fence(memory_order_release); /* slot contents before the counter */
    rx->wr = ring_next(rx->wr);
}

/*
 * A CRC-valid packet of another version still sits in the buffer. PROTOCOL.md
 * §2: a HELLO of any version gets an answer (BAD_VERSION); the rest are dropped.
 */
static void foreign_version(dfw_rx_t *rx)
{
    const uint8_t *p = slot_bytes(rx, rx->wr);
    rx->stats.version++;
    if (p[1] == MSG_HELLO) {
        frame_t f = {.type = MSG_HELLO, .seq = frame_get16(p + 4)};
        publish(rx, &f, true);
    }
}

/* One frame boundary: queue the frame or count why it was dropped, then re-arm. */
static void frame_end(dfw_rx_t *rx, frame_result_t r, const frame_t *f)
{
    if (rx->no_buf) {
        rx->stats.no_buffer++;
    } else if (r == FRAME_READY) {
        rx->stats.frames++;
        publish(rx, f, false);
    } else if (r == FRAME_DROP_VERSION) {
        foreign_version(rx);
    } else if (r == FRAME_DROP_CRC) {
        rx->stats.crc++;
    } else if (r == FRAME_DROP_OVERFLOW) {
        rx->stats.overflow++;
    } else {
        rx->stats.malformed++;
    }
    rx->mid_frame = false;
    arm(rx);
}

/* Carry out an idle cut that dfw_rx_tick() asked for, before decoding new bytes. */
static void take_cut(dfw_rx_t *rx)
{
    uint8_t req = rx->cut_req;
    if (req == rx->cut_done) {
        return;
    }
    rx->cut_done = req;
    if (rx->mid_frame) {
        rx->stats.idle_cuts++;
        rx->mid_frame = false;
        arm(rx);
    }
}

size_t dfw_rx_input(dfw_rx_t *rx, const uint8_t *bytes, size_t n)
{
    if (rx == NULL || bytes == NULL) {
        return 0;
    }
    take_cut(rx);
    if (rx->no_buf && !rx->mid_frame) {
        arm(rx); /* poll() may have freed a buffer since the last frame ended */
    }
    size_t done = 0;
    while (done < n) {
        size_t used = 0;
        frame_t f;
        frame_result_t r = frame_decoder_push(&rx->dec, bytes + done, n - done, &used, &f);
        done += used;
        if (r == FRAME_NEED_MORE) {
            /*
             * No boundary in these bytes, so any 0x00 among them ended an empty
             * frame: we are inside a frame exactly when the last byte is not 0x00.
             */
            rx->mid_frame = used > 0u ? bytes[done - 1u] != 0u : rx->mid_frame;
            break;
        }
        frame_end(rx, r, &f);
    }
    rx->bytes_in += (uint32_t)n;
    return n;
}

/* -------------------------------------------------------------------- clock */

/* dfw_rx_t.quiet_s: not measured yet / saturated. */
#define QUIET_UNKNOWN 0xFFFFu
#define QUIET_MAX_S   0xFFFEu

void dfw_rx_tick(dfw_rx_t *rx, uint32_t now_ms)
{
    if (rx == NULL) {
        return;
    }
    uint32_t seen = rx->bytes_in;
    if (seen != rx->tick_bytes || rx->quiet_s == QUIET_UNKNOWN) {
        rx->tick_bytes = seen; /* progress (or the first tick): restart the silence timer */
        rx->tick_ms = now_ms;
        rx->quiet_s = 0;
        return;
    }
    uint32_t quiet_ms = now_ms - rx->tick_ms;
    rx->quiet_s = (uint16_t)(quiet_ms / 1000u < QUIET_MAX_S ? quiet_ms / 1000u : QUIET_MAX_S);
    if (rx->mid_frame && quiet_ms >= DFW_RX_IDLE_MS) {
        rx->cut_req = (uint8_t)(rx->cut_req + 1u);
        rx->tick_ms = now_ms; /* one cut per silence; the quiet count restarts, a second late */
    }
}

/* ----------------------------------------------------------------- consumer */

/* Encode the reply into rx->tx; 0 if it does not fit (cannot happen: sizes are static). */
static size_t encode_reply(dfw_rx_t *rx, const dfw_rx_call_t *c)
{
    frame_t out = {.type = c->type,
                   .status = c->status,
                   .object = c->object,
                   .seq = c->req->seq,
                   .offset = c->offset,
                   .len = c->len,
                   .payload = c->payload};
    size_t n = 0;
    return frame_encode(&out, rx->tx, sizeof(rx->tx), &n) == FRAME_OK ? n : 0u;
}

static void send_reply(dfw_rx_t *rx, size_t n)
{
    if (n > 0u && rx->link.tx != NULL && rx->link.tx(rx->link.ctx, rx->tx, n) == 0) {
        rx->stats.replies++;
    } else {
        rx->stats.tx_errors++;
    }
}

dfw_rx_event_t dfw_rx_poll(dfw_rx_t *rx)
{
    if (rx == NULL || ring_used(rx) == 0u) {
        return DFW_RX_IDLE;
    }
    atomic_signal_fence(memory_order_acquire); /* counter before slot contents */
    uint32_t i = rx->rd % DFW_RX_BUFFERS;
    dfw_rx_call_t c = {
        .req = &rx->slot[i].req, .foreign = rx->slot[i].foreign, .scratch = rx->buf[i]};
    dfw_rx_handle(rx, &c);
    size_t n = encode_reply(rx, &c);
    /* Release before sending: the host may answer the reply with a frame at once. */
    atomic_signal_fence(memory_order_release);
    rx->rd = ring_next(rx->rd);
    send_reply(rx, n);
    return c.reset ? DFW_RX_RESET : DFW_RX_WORKED;
}

/* --------------------------------------------------------------- idle work */

bool dfw_rx_idle(dfw_rx_t *rx)
{
    if (rx == NULL || (rx->phase != MSG_PHASE_IDLE && rx->phase != MSG_PHASE_FAILED)) {
        return false; /* a session owns bank 1, or a COMMIT waits for the reset */
    }
    if (ring_used(rx) != 0u) {
        return true; /* a frame arrived since the last poll: no erase before it is answered */
    }
    bool more = false;
    bool may_discard = rx->quiet_s != QUIET_UNKNOWN && rx->quiet_s >= DFW_RX_DISCARD_S;
    dfw_err_t err = dfw_stage_idle_erase(&rx->stage, &rx->hal, &rx->layout, may_discard, &more);
    return err == DFW_OK && more;
}

/* ------------------------------------------------------------ init, getters */

void dfw_rx_init(dfw_rx_t *rx, const dfw_hal_t *hal, const dfw_layout_t *layout,
                 const dfw_link_t *link)
{
    if (rx == NULL) {
        return;
    }
    memset(rx, 0, sizeof(*rx));
    rx->quiet_s = QUIET_UNKNOWN; /* no tick yet: never discard an interrupted update */
    if (hal != NULL) {
        rx->hal = *hal;
    }
    if (layout != NULL) {
        rx->layout = *layout;
    }
    if (link != NULL) {
        rx->link = *link;
    }
    dfw_rx_session_init(rx);
    arm(rx);
}

void dfw_rx_get_stats(const dfw_rx_t *rx, dfw_rx_stats_t *out)
{
    if (out != NULL) {
        if (rx != NULL) {
            *out = rx->stats;
        } else {
            memset(out, 0, sizeof(*out));
        }
    }
}

msg_phase_t dfw_rx_phase(const dfw_rx_t *rx)
{
    return rx != NULL ? (msg_phase_t)rx->phase : MSG_PHASE_IDLE;
}

uint8_t dfw_rx_last_status(const dfw_rx_t *rx)
{
    return rx != NULL ? rx->last_status : 0u;
}
