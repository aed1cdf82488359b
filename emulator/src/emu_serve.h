/*
 * emu_serve.h - private to `dfuart-emu serve`: the state the command
 * (emu_cmd_serve.c) keeps while it serves, and its event reports
 * (emu_serve_report.c: the text lines and JSON Lines EMULATOR.md documents).
 *
 * serve_t is owned by emu_cmd_serve(), which allocates and frees it; the
 * report functions only read it and print to stdout.
 */
#ifndef EMULATOR_EMU_SERVE_H
#define EMULATOR_EMU_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "device_fw/dfw_rx.h"
#include "emu_pty.h"
#include "emulator/bl_boot.h"
#include "emulator/emu_hal.h"
#include "emulator/linkmodel.h"

#define HELD_CAP 8192u  /* replies waiting for their checkpoint */
#define OUT_CAP  16384u /* replies cleared to leave, waiting for the wire */
typedef struct serve_args {
    const char *link;
    uint32_t baud; /* 0: no pacing (or the profile's with --link) */
    bool json;
    const link_profile_t *profile; /* --link, or NULL */
    uint32_t seed;
    bool flash_timing;
} serve_args_t;

typedef struct {
    uint32_t checkpoints, resets, dropped;
    uint64_t ckpt_ns, ckpt_max_ns;
    uint64_t bytes_in, bytes_out;
} serve_stats_t;

typedef struct {
    const char *dev_path;
    const serve_args_t *a;
    emu_device_t *dev;
    emu_pty_t pty;
    emu_hal_t hal_ctx;
    dfw_rx_t rx;
    bool linked;             /* --link: h2d and d2h carry the bytes */
    link_dir_t h2d, d2h;     /* host->device, device->host */
    bool cable_out;          /* SIGUSR1 pulled it */
    sig_atomic_t cable_seen; /* g_cable_flips already acted on */
    bool answering;          /* false: the device sits in its bootloader (DFU mode) */
    bool idle_more;          /* the receiver has idle pre-erase work left (dfw_rx_idle) */
    uint64_t byte_ns;        /* wire time of one byte (10 bits); 0 = no pacing */
    uint64_t rx_next;        /* ingress: the next byte is complete at rx_next + byte_ns */
    bool rx_idle;            /* ingress ran dry: the next byte restarts the wire clock */
    uint64_t tx_next;        /* egress: the same for the output queue */
    bool tx_blocked;         /* the pty took nothing: wait for POLLOUT */
    bool hup;                /* the master reported a hang-up: back off instead of spinning */
    uint64_t vclock_seen;    /* the device clock when flash time was last charged */
    uint64_t busy_until;     /* --flash-timing: the chip's flash work ends (monotonic ns) */
    uint64_t busy_ns;        /* total flash time charged */
    bool rebooting;          /* busy in the bootloader: host bytes are lost, nothing answers */
    uint8_t held[HELD_CAP];
    size_t held_len;
    uint8_t out[OUT_CAP];
    size_t out_head, out_len;
    uint64_t saved_ops; /* flash_op_count() when DEV was last written */
    int fatal;          /* exit code of a fatal error (message printed), 0 if none */
    serve_stats_t st;
} serve_t;

/* Print and free one JSON Lines event (NULL: nothing). */
void serve_emit_json(cJSON *j);

/* The bootloader ran after a reset: its verdict, one line or one `reset` event. */
void serve_report_reset(const serve_t *s, const bl_boot_report_t *r);

/* "serving DEV on LINK ..." or the `serving` event: the host may open LINK now. */
void serve_announce_serving(const serve_t *s, uint32_t app_version);

/* The last line or the `exit` event; `sig` the signal that stopped serving (0: none). */
void serve_announce_exit(const serve_t *s, int code, int sig);

#endif
