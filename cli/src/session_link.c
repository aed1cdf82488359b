/*
 * session_link.c - the link estimators of the host session: the reply wait
 * (RFC 6298 style) and the DATA payload that maximises expected goodput
 * from the loss rate, round trip and baud the session has measured. See
 * cli/session_link.h for the model.
 */
#include "cli/session_link.h"
#include "proto/frame.h"
#include "proto/msg.h"

#define BACKOFF_MAX 5u /* timeouts in a row that double the wait (x32 is past the cap) */

/* ---- the reply wait ------------------------------------------------------------------- */

uint64_t session_wire_us(uint32_t baud, uint64_t bytes)
{
    return baud ? (bytes * 10000000u + baud - 1u) / baud : 0u; /* 8N1: 10 bits a byte */
}

void session_rtt_sample(session_rtt_t *r, uint32_t us)
{
    if (r->samples == 0) { /* RFC 6298 2.2 */
        r->srtt_us = us;
        r->rttvar_us = us / 2u;
        r->min_us = us;
    } else { /* 2.3, with alpha 1/8 and beta 1/4 */
        uint32_t dev = us > r->srtt_us ? us - r->srtt_us : r->srtt_us - us;
        r->rttvar_us = r->rttvar_us - r->rttvar_us / 4u + dev / 4u;
        r->srtt_us = r->srtt_us - r->srtt_us / 8u + us / 8u;
        if (us < r->min_us)
            r->min_us = us;
    }
    if (r->samples < UINT32_MAX)
        r->samples++;
    r->backoff = 0;
}

void session_rtt_timeout(session_rtt_t *r)
{
    if (r->backoff < BACKOFF_MAX)
        r->backoff++;
}

uint32_t session_rtt_wait_ms(const session_rtt_t *r)
{
    uint64_t us = (uint64_t)SESSION_FLASH_MS * 1000u;
    if (r->samples) {
        uint64_t least = r->min_us + us; /* the link's latency plus a page erase's margin */
        uint64_t est = r->srtt_us + 4u * (uint64_t)r->rttvar_us;
        us = est > least ? est : least;
    }
    uint64_t ms = ((us << r->backoff) + 999u) / 1000u;
    return ms > SESSION_WAIT_MAX_MS ? SESSION_WAIT_MAX_MS : (uint32_t)ms;
}

/* ---- frame loss ----------------------------------------------------------------------- */

static void loss_add(session_loss_t *l, double lost, double bytes)
{
    l->lost += lost;
    l->bytes += bytes;
    if (l->bytes > SESSION_LOSS_HORIZON) { /* older evidence weighs half from here on */
        l->lost /= 2.0;
        l->bytes /= 2.0;
    }
}

static uint32_t data_wire(uint16_t payload)
{
    return FRAME_WIRE_LEN(FRAME_HDR_LEN + payload + FRAME_CRC_LEN);
}

void session_loss_delivered(session_loss_t *l, uint16_t payload)
{
    loss_add(l, 0.0, data_wire(payload));
}

void session_loss_lost(session_loss_t *l, uint16_t payload)
{
    loss_add(l, 1.0, data_wire(payload) / 2.0); /* the fault fell half way, on average */
}

void session_loss_doubt(session_loss_t *l, uint32_t end, uint16_t payload)
{
    if (l->n_doubt < SESSION_DOUBT_MAX) {
        l->doubt_end[l->n_doubt] = end;
        l->doubt_len[l->n_doubt++] = payload;
    }
}

void session_loss_settle(session_loss_t *l, uint32_t dev_next, bool by_query)
{
    for (uint32_t i = 0; i < l->n_doubt; i++) {
        if (by_query && dev_next >= l->doubt_end[i])
            session_loss_delivered(l, l->doubt_len[i]);
        else
            session_loss_lost(l, l->doubt_len[i]);
    }
    l->n_doubt = 0;
}

void session_loss_forget(session_loss_t *l)
{
    l->n_doubt = 0;
}

double session_loss_rate(const session_loss_t *l)
{
    return l->lost > 0.0 ? l->lost / (l->bytes + SESSION_LOSS_PRIOR) : 0.0;
}

/* ---- the payload ---------------------------------------------------------------------- */

/* (1 - p)^n, by squaring: each of n bytes survives with probability 1 - p. */
static double survival(double p, uint32_t n)
{
    double s = 1.0, b = p < 1.0 ? 1.0 - p : 0.0;
    for (; n; n >>= 1, b *= b)
        if (n & 1u)
            s *= b;
    return s;
}

static double wire_s(const session_path_t *p, uint32_t bytes)
{
    return (double)session_wire_us(p->baud, bytes) / 1e6;
}

double session_goodput(const session_path_t *p, uint16_t payload)
{
    uint32_t n = data_wire(payload);
    double t = wire_s(p, n);
    double trip =
        p->rtt_us / 1e6 + wire_s(p, FRAME_WIRE_LEN(FRAME_HDR_LEN + MSG_STATUS_LEN + FRAME_CRC_LEN));
    double window = p->window ? p->window : 1u;
    double slot = (t + trip) / window > t ? (t + trip) / window : t;
    double s = survival(p->loss_rate, n), wait = p->wait_ms / 1e3;
    if (s < 1e-9) /* a frame that (almost) never arrives: keep the arithmetic finite */
        s = 1e-9;
    double cost = p->window > 1u ? 2.0 * t + s * trip + (1.0 - s) * wait : t + wait;
    return payload / (slot + (1.0 - s) / s * cost);
}

uint16_t session_payload_choose(const session_path_t *p)
{
    if (p->loss_rate <= 0.0 || p->max_payload <= SESSION_PAYLOAD_STEP)
        return p->max_payload;
    uint16_t best = p->max_payload;
    double best_rate = session_goodput(p, best);
    for (uint32_t size = SESSION_PAYLOAD_STEP; size < p->max_payload;
         size += SESSION_PAYLOAD_STEP) {
        double rate = session_goodput(p, (uint16_t)size);
        if (rate > best_rate) {
            best = (uint16_t)size;
            best_rate = rate;
        }
    }
    return best;
}

session_path_t session_path(uint32_t baud, uint8_t window, uint16_t max_payload,
                            const session_rtt_t *rtt, const session_loss_t *loss)
{
    return (session_path_t){
        baud, window, max_payload, rtt->srtt_us, session_rtt_wait_ms(rtt), session_loss_rate(loss)};
}

bool session_resend_pays(const session_path_t *p, uint16_t payload)
{
    return p->loss_rate > 0.0 && p->rtt_us > session_wire_us(p->baud, data_wire(payload));
}
