/*
 * linkmodel.h - one direction of a serial link in virtual time, with faults.
 *
 * Bytes written at simulated time `now` occupy the line for 10 bit times each
 * (8N1 at `baud`), arrive `latency` later, and may be lost, corrupted,
 * duplicated, delayed by a stall, or joined by garbage, each with a seeded,
 * reproducible random choice. Two link_dir_t make a full-duplex link: one
 * host -> device, one device -> host. Nothing here sleeps or reads a wall
 * clock; callers move their vclock to link_dir_next_arrival() to wait.
 *
 * Profiles are named, documented sets of parameters (see link_profiles[]).
 * A link_dir_t owns a heap queue: link_dir_init() allocates, link_dir_free()
 * releases.
 */
#ifndef EMULATOR_LINKMODEL_H
#define EMULATOR_LINKMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const char *about;        /* one line for --help and the README */
    uint32_t baud;            /* 8N1: 10 bit times per byte */
    uint64_t latency_ns;      /* added to every byte */
    double ber;               /* probability that any one data bit flips */
    double drop;              /* probability that a byte is lost */
    double burst;             /* probability that a loss burst starts at a byte */
    uint32_t burst_len;       /* bytes lost in a burst */
    double garbage;           /* probability of noise bytes before a byte */
    uint32_t garbage_max;     /* 1..garbage_max noise bytes */
    double dup_frame;         /* probability a complete frame (ending 0x00) is sent twice */
    uint64_t stall_period_ns; /* every period the line stalls ... */
    uint64_t stall_ns;        /* ... for this long (0: never) */
} link_profile_t;

/* NULL if `name` is not a known profile. */
const link_profile_t *link_profile_find(const char *name);
/* Profiles in table order, for listing; NULL past the end. */
const link_profile_t *link_profile_at(size_t i);

typedef struct {
    uint64_t sent, delivered, dropped, flipped_bits, garbage, dup_frames, stalls;
} link_stats_t;

typedef struct {
    link_profile_t p;
    uint64_t rng;
    uint64_t line_free_ns; /* when the sender's line is idle again */
    uint32_t burst_left;
    bool connected;
    /* in-flight bytes: ring buffer, arrival times non-decreasing */
    uint8_t *byte;
    uint64_t *arrive;
    size_t head, count, cap;
    /* bytes of the frame being sent, for duplication */
    uint8_t *frame;
    size_t frame_len, frame_cap;
    link_stats_t stats;
} link_dir_t;

typedef enum {
    LINK_OK = 0,
    LINK_ERR_NOMEM = -1,
    LINK_ERR_ARG = -2,
} link_err_t;

__attribute__((warn_unused_result)) link_err_t link_dir_init(link_dir_t *d, const link_profile_t *p,
                                                             uint64_t seed);
void link_dir_free(link_dir_t *d);

/*
 * Send `n` bytes starting at `now_ns`. Returns the time the last byte has
 * left the sender (a UART writer is busy until then). While disconnected,
 * bytes are lost.
 */
__attribute__((warn_unused_result)) link_err_t
link_dir_send(link_dir_t *d, uint64_t now_ns, const uint8_t *data, size_t n, uint64_t *done_ns);

/* Bytes that have arrived by `now_ns`, oldest first, at most `cap`. */
size_t link_dir_recv(link_dir_t *d, uint64_t now_ns, uint8_t *out, size_t cap);

/* Arrival time of the next byte in flight, or UINT64_MAX if none. */
uint64_t link_dir_next_arrival(const link_dir_t *d);
/* Arrival time of the last byte in flight (when the line will be empty), or 0 if none. */
uint64_t link_dir_last_arrival(const link_dir_t *d);

/* Cable pulled: everything in flight is lost, later sends too, until reconnect. */
void link_dir_disconnect(link_dir_t *d);
void link_dir_reconnect(link_dir_t *d, uint64_t now_ns);

/* Nanoseconds one byte occupies the line at `baud` (8N1). */
uint64_t link_byte_ns(uint32_t baud);

#endif
