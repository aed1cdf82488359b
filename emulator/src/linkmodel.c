#include "emulator/linkmodel.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

/*
 * Named links. Figures are illustrative of each medium, chosen to exercise
 * the protocol's recovery paths; they are not measurements of one product.
 */
static const link_profile_t profiles[] = {
    {"clean-115200", "USB-UART at 115200 baud, no faults", 115200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"clean-1M", "USB-UART at 1 Mbaud, no faults", 1000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"usb-115200", "USB-UART at 115200 with 1 ms USB frame latency", 115200, 1 * MS, 0, 0, 0, 0, 0,
     0, 0, 0, 0},
    {"usb-1M", "USB-UART at 1 Mbaud with 1 ms USB frame latency", 1000000, 1 * MS, 0, 0, 0, 0, 0, 0,
     0, 0, 0},
    {"gsm", "GSM modem data channel: 19200 baud, 300 ms latency, loss bursts, stalls", 19200,
     300 * MS, 0, 0.0002, 0.0002, 64, 0.0002, 8, 0.002, 2000 * MS, 150 * MS},
    {"gsm-9600", "slow GSM: 9600 baud, 600 ms latency, loss bursts, stalls", 9600, 600 * MS, 0,
     0.0002, 0.0002, 32, 0.0002, 8, 0.002, 3000 * MS, 300 * MS},
    {"noisy", "noisy cable at 115200: bit error rate 1e-4, some garbage", 115200, 0, 1e-4, 0, 0, 0,
     0.0001, 4, 0, 0, 0},
};

#define PROFILE_COUNT (sizeof(profiles) / sizeof(profiles[0]))

const link_profile_t *link_profile_find(const char *name)
{
    for (size_t i = 0; name && i < PROFILE_COUNT; i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

const link_profile_t *link_profile_at(size_t i)
{
    return i < PROFILE_COUNT ? &profiles[i] : NULL;
}

uint64_t link_byte_ns(uint32_t baud)
{
    return baud ? 10ull * 1000000000ull / baud : 0;
}

/* splitmix64: tiny, seedable, good enough for fault dice. */
static uint64_t next_rand(link_dir_t *d)
{
    uint64_t z = (d->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static bool chance(link_dir_t *d, double p)
{
    return p > 0 && (double)(next_rand(d) >> 11) * 0x1.0p-53 < p;
}

link_err_t link_dir_init(link_dir_t *d, const link_profile_t *p, uint64_t seed)
{
    if (!d || !p || p->baud == 0)
        return LINK_ERR_ARG;
    memset(d, 0, sizeof(*d));
    d->p = *p;
    d->rng = seed;
    d->connected = true;
    return LINK_OK;
}

void link_dir_free(link_dir_t *d)
{
    free(d->byte);
    free(d->arrive);
    free(d->frame);
    memset(d, 0, sizeof(*d));
}

static link_err_t grow(link_dir_t *d)
{
    size_t cap = d->cap ? 2 * d->cap : 4096;
    uint8_t *b = malloc(cap);
    uint64_t *a = malloc(cap * sizeof(*a));
    if (!b || !a) {
        free(b);
        free(a);
        return LINK_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->count; i++) {
        b[i] = d->byte[(d->head + i) % d->cap];
        a[i] = d->arrive[(d->head + i) % d->cap];
    }
    free(d->byte);
    free(d->arrive);
    d->byte = b, d->arrive = a, d->cap = cap, d->head = 0;
    return LINK_OK;
}

static link_err_t enqueue(link_dir_t *d, uint8_t b, uint64_t at)
{
    if (d->count == d->cap && grow(d) != LINK_OK)
        return LINK_ERR_NOMEM;
    size_t i = (d->head + d->count++) % d->cap;
    d->byte[i] = b;
    d->arrive[i] = at;
    return LINK_OK;
}

/* When the next byte may start: after the line is free and outside stalls. */
static uint64_t line_slot(link_dir_t *d, uint64_t now)
{
    uint64_t t = now > d->line_free_ns ? now : d->line_free_ns;
    if (d->p.stall_ns && d->p.stall_period_ns && t % d->p.stall_period_ns < d->p.stall_ns) {
        t += d->p.stall_ns - t % d->p.stall_period_ns;
        d->stats.stalls++;
    }
    return t;
}

static uint8_t corrupt(link_dir_t *d, uint8_t b)
{
    for (int bit = 0; bit < 8; bit++)
        if (chance(d, d->p.ber)) {
            b ^= (uint8_t)(1u << bit);
            d->stats.flipped_bits++;
        }
    return b;
}

static bool lost(link_dir_t *d)
{
    if (d->burst_left == 0 && chance(d, d->p.burst))
        d->burst_left = d->p.burst_len;
    if (d->burst_left) {
        d->burst_left--;
        return true;
    }
    return chance(d, d->p.drop) || !d->connected;
}

static link_err_t add_garbage(link_dir_t *d, uint64_t at)
{
    if (!chance(d, d->p.garbage))
        return LINK_OK;
    uint32_t n = 1 + (uint32_t)(next_rand(d) % (d->p.garbage_max ? d->p.garbage_max : 1));
    d->stats.garbage += n;
    link_err_t e = LINK_OK;
    for (uint32_t i = 0; i < n && e == LINK_OK; i++)
        e = enqueue(d, (uint8_t)next_rand(d), at);
    return e;
}

/* One byte onto the line: time, faults, queue. */
static link_err_t send_byte(link_dir_t *d, uint64_t now, uint8_t b)
{
    uint64_t start = line_slot(d, now);
    d->line_free_ns = start + link_byte_ns(d->p.baud);
    uint64_t at = d->line_free_ns + d->p.latency_ns;
    d->stats.sent++;
    link_err_t e = add_garbage(d, at);
    if (e != LINK_OK)
        return e;
    if (lost(d)) {
        d->stats.dropped++;
        return LINK_OK;
    }
    return enqueue(d, corrupt(d, b), at);
}

static link_err_t remember(link_dir_t *d, uint8_t b)
{
    if (d->frame_len == d->frame_cap) {
        size_t cap = d->frame_cap ? 2 * d->frame_cap : 4096;
        uint8_t *f = realloc(d->frame, cap);
        if (!f)
            return LINK_ERR_NOMEM;
        d->frame = f, d->frame_cap = cap;
    }
    d->frame[d->frame_len++] = b;
    return LINK_OK;
}

/* A frame just ended: maybe the line repeats it (a modem's retransmission). */
static link_err_t maybe_duplicate(link_dir_t *d, uint64_t now)
{
    link_err_t e = LINK_OK;
    if (chance(d, d->p.dup_frame)) {
        d->stats.dup_frames++;
        for (size_t i = 0; i < d->frame_len && e == LINK_OK; i++)
            e = send_byte(d, now, d->frame[i]);
    }
    d->frame_len = 0;
    return e;
}

link_err_t link_dir_send(link_dir_t *d, uint64_t now, const uint8_t *data, size_t n,
                         uint64_t *done_ns)
{
    if (!d || (n && !data))
        return LINK_ERR_ARG;
    link_err_t e = LINK_OK;
    for (size_t i = 0; i < n && e == LINK_OK; i++) {
        e = send_byte(d, now, data[i]);
        if (e == LINK_OK && d->p.dup_frame > 0)
            e = remember(d, data[i]);
        if (e == LINK_OK && data[i] == 0x00 && d->p.dup_frame > 0)
            e = maybe_duplicate(d, now);
    }
    if (done_ns)
        *done_ns = d->line_free_ns > now ? d->line_free_ns : now;
    return e;
}

size_t link_dir_recv(link_dir_t *d, uint64_t now, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (n < cap && d->count && d->arrive[d->head] <= now) {
        out[n++] = d->byte[d->head];
        d->head = (d->head + 1) % d->cap;
        d->count--;
    }
    d->stats.delivered += n;
    return n;
}

uint64_t link_dir_next_arrival(const link_dir_t *d)
{
    return d->count ? d->arrive[d->head] : UINT64_MAX;
}

uint64_t link_dir_last_arrival(const link_dir_t *d)
{
    return d->count ? d->arrive[(d->head + d->count - 1) % d->cap] : 0;
}

void link_dir_disconnect(link_dir_t *d)
{
    d->stats.dropped += d->count;
    d->count = 0;
    d->head = 0;
    d->frame_len = 0;
    d->connected = false;
}

void link_dir_reconnect(link_dir_t *d, uint64_t now)
{
    d->connected = true;
    if (d->line_free_ns < now)
        d->line_free_ns = now;
}
