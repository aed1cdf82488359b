/*
 * dfw_rx.h - device side of the dfuart wire protocol v1 (proto/PROTOCOL.md).
 *
 * The nRF52 application feeds the bytes it receives (UART, modem) into a
 * dfw_rx_t; the receiver answers through a dfw_link_t and stages the image
 * in bank 1 with dfw_stage (spec §8.3). Typical port:
 *
 *   static dfw_rx_t rx;                                  // ~5.0 KiB, see RAM below
 *   dfw_rx_init(&rx, &hal, &layout, &link);              // UART IRQ still off
 *   UART ISR:   dfw_rx_input(&rx, bytes, n);             // decode + queue only
 *   main loop:  dfw_rx_tick(&rx, now_ms);
 *               ev = dfw_rx_poll(&rx);
 *               if (ev == DFW_RX_RESET) { drain UART TX; NVIC_SystemReset(); }
 *               if (ev == DFW_RX_IDLE && !dfw_rx_idle(&rx)) { sleep until an interrupt; }
 *
 * Contexts. dfw_rx_input() is the only producer: it COBS-decodes into one of
 * DFW_RX_BUFFERS frame buffers and queues complete, CRC-valid frames; it
 * never touches flash or the link and does bounded work per byte, so it may
 * run in an ISR. dfw_rx_poll() is the only consumer: it handles one queued
 * frame (all flash work happens here) and sends its reply. The two share a
 * single-producer/single-consumer ring (one volatile counter each, compiler
 * fences), so input() may interrupt poll() and vice versa on one core without
 * locks. dfw_rx_tick() only posts a request that the next input() carries
 * out, so it may run in either context. dfw_rx_idle() belongs to the
 * consumer's context (never concurrent with dfw_rx_poll()). Everything else
 * (init, accessors) belongs to the main loop. Not safe for two producers or
 * two consumers.
 *
 * Flow control. When every buffer is full, the frame arriving is dropped and
 * counted (no_buffer); a host that respects INFO's `window` never causes
 * that, and the host's go-back-N retransmission covers it when it happens.
 * A buffer is released before its reply is sent, so a host that sends the
 * next frame as soon as it sees a reply always finds a free buffer.
 *
 * Ownership. The state is caller-allocated (static storage is typical); its
 * fields are private. dfw_rx_init() copies *hal, *layout and *link, so those
 * structs need not outlive it; hal->ctx and link->ctx must stay valid while
 * the receiver is used. No heap, no globals: several receivers can run in one
 * process (e.g. an emulator serving several devices).
 *
 * Idle pre-erase. While no session is open, dfw_rx_idle() lets the stage
 * erase bank 1 ahead of time, one page (~85 ms on nRF52) per call, so that
 * the next update skips those erases (dfw_stage.h: only when the settings say
 * bank 1 is free). A request that arrives during that erase is answered up to
 * one page erase later; on an nRF52 the CPU also stalls during the erase, so
 * keep UART flow control on (as for staging). START stops it at once.
 *
 * RAM: sizeof(dfw_rx_t) = DFW_RX_BUFFERS * 2088 + 932 bytes: 5108 bytes on
 * Cortex-M4 with the defaults (arm-none-eabi-gcc 12): 2 x 2064-byte frame
 * buffers (+24 bytes of queue slot each), the 724-byte dfw_stage_t (which
 * also holds the init packet while it arrives: no second 512-byte copy), a
 * 50-byte reply buffer and ~160 bytes of decoder, HAL/layout/link copies,
 * counters and session state. Nothing else: COMMIT uses the request's own
 * frame buffer as dfw_stage_finish()'s 896-byte scratch.
 * Stack (GCC 12 -Os, -fstack-usage): about 570 bytes worst case in
 * dfw_rx_poll() (the DATA that completes the init packet runs
 * dfw_stage_begin()), about 140 bytes in dfw_rx_input() on the ISR stack,
 * about 280 in dfw_rx_idle() (the idle verdict's page CRC); plus whatever the HAL and
 * link->tx need.
 */
#ifndef DEVICE_FW_DFW_RX_H
#define DEVICE_FW_DFW_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_fw/dfw_config.h"
#include "device_fw/dfw_hal.h"
#include "device_fw/dfw_stage.h"
#include "proto/frame.h"
#include "proto/msg.h"

/*
 * Reply bytes out. tx() sends `len` encoded bytes (one whole frame) and
 * returns 0 once they are handed to the UART (blocking is fine: it runs in
 * dfw_rx_poll()), non-zero if they could not be sent (the reply is lost and
 * counted; the host's timeout recovers). Never called from dfw_rx_input().
 */
typedef struct dfw_link {
    void *ctx;
    int (*tx)(void *ctx, const uint8_t *data, size_t len);
} dfw_link_t;

typedef enum dfw_rx_event {
    DFW_RX_IDLE = 0,   /* nothing queued: the main loop may sleep until the next byte */
    DFW_RX_WORKED = 1, /* one frame handled and its reply sent; call again */
    DFW_RX_RESET = 2,  /* COMMIT done and its reply handed to tx: reset the chip now */
} dfw_rx_event_t;

/* Counters since dfw_rx_init(); each one is written by exactly one context. */
typedef struct dfw_rx_stats {
    uint32_t frames;    /* input: CRC-valid frames queued */
    uint32_t crc;       /* input: dropped, CRC-32 mismatch (noise, cut frames) */
    uint32_t malformed; /* input: dropped, bad COBS, too short, or len field wrong */
    uint32_t version;   /* input: CRC-valid frames of another protocol version */
    uint32_t overflow;  /* input: dropped, longer than a frame buffer */
    uint32_t no_buffer; /* input: dropped, every buffer full (host exceeded the window) */
    uint32_t idle_cuts; /* input: partial frames dropped after DFW_RX_IDLE_MS of silence */
    uint32_t replies;   /* poll: replies handed to link->tx */
    uint32_t tx_errors; /* poll: link->tx failures (reply lost) */
} dfw_rx_stats_t;

/* ---- Receiver state. Declared so the caller can allocate it; fields private. ---- */

typedef struct dfw_rx_slot {
    frame_t req;  /* header of the queued frame; payload points into the slot's buffer */
    bool foreign; /* a HELLO of another protocol version: answered BAD_VERSION */
} dfw_rx_slot_t;

typedef struct dfw_rx {
    /* Producer side (dfw_rx_input). */
    frame_decoder_t dec;        /* decodes into buf[wr % N], or nowhere when all are full */
    volatile uint8_t wr;        /* frames published, modulo 2N */
    volatile bool mid_frame;    /* bytes of an unfinished frame have arrived */
    bool no_buf;                /* the current frame is being discarded: no free buffer */
    uint8_t cut_done;           /* idle cuts carried out (follows cut_req) */
    volatile uint32_t bytes_in; /* bytes seen, for dfw_rx_tick() */
    /* Consumer side (dfw_rx_poll). */
    volatile uint8_t rd; /* frames released, modulo 2N */
    /* Clock side (dfw_rx_tick). */
    volatile uint8_t cut_req; /* idle cuts requested */
    uint16_t quiet_s;         /* seconds without a byte (saturating); QUIET_UNKNOWN before a tick */
    uint32_t tick_bytes;      /* bytes_in at the last tick that saw progress */
    uint32_t tick_ms;         /* when that was */
    dfw_rx_stats_t stats;
    /* Session (owned by dfw_rx_poll). */
    dfw_hal_t hal;
    dfw_layout_t layout;
    dfw_link_t link;
    msg_start_t start; /* START of the open session (zero if none) */
    uint32_t dat_next; /* init-packet bytes received */
    uint8_t phase;     /* msg_phase_t */
    uint8_t last_status;
    uint8_t tx[FRAME_WIRE_LEN(FRAME_HDR_LEN + MSG_INFO_LEN + FRAME_CRC_LEN)];
    dfw_stage_t stage; /* also assembles the init packet (dfw_stage_dat_buf) */
    dfw_rx_slot_t slot[DFW_RX_BUFFERS];
    uint32_t buf[DFW_RX_BUFFERS][FRAME_MAX_PACKET / 4u]; /* words: COMMIT's aligned scratch */
} dfw_rx_t;

/*
 * Prepare `rx`: no session, empty queue, counters zero. Call before any other
 * function and before the UART interrupt that feeds dfw_rx_input() is
 * enabled. hal, layout and link must not be NULL (copied; see Ownership).
 * Reads nothing: the settings page is read on HELLO and when a package arrives.
 */
void dfw_rx_init(dfw_rx_t *rx, const dfw_hal_t *hal, const dfw_layout_t *layout,
                 const dfw_link_t *link);

/*
 * Feed `n` received bytes (any chunking, any garbage). Frames are checked
 * (COBS, CRC-32, length, version) and queued; everything else is dropped and
 * counted. Bounded and flash-free: callable from the UART ISR. Returns the
 * bytes consumed, always n (0 if rx or bytes is NULL).
 */
size_t dfw_rx_input(dfw_rx_t *rx, const uint8_t *bytes, size_t n);

/*
 * Handle at most one queued frame in arrival order: run the request (flash
 * work happens here, up to one page erase plus a 2 KiB program, or the
 * commit), then send exactly one reply through link->tx. Returns
 * DFW_RX_IDLE, DFW_RX_WORKED or DFW_RX_RESET (see dfw_rx_event_t): after
 * DFW_RX_RESET the bootloader settings page is staged and the caller must let
 * the UART drain and reset; until then every further COMMIT answers the same.
 */
dfw_rx_event_t dfw_rx_poll(dfw_rx_t *rx);

/*
 * Optional clock: call with a millisecond counter (wrapping is fine) at least
 * every DFW_RX_IDLE_MS / 4. When a frame has been partial for DFW_RX_IDLE_MS
 * with no byte arriving, the next dfw_rx_input() discards it first (counted
 * as idle_cuts), so a frame cut on the link cannot merge with the next one
 * even if its delimiter was lost. Without tick the next delimiter does the
 * same job, one frame later (the CRC rejects the merged frame).
 */
void dfw_rx_tick(dfw_rx_t *rx, uint32_t now_ms);

/*
 * Idle work, for the consumer's context when dfw_rx_poll() returned
 * DFW_RX_IDLE: with no session open (phase IDLE or FAILED), erase at most ONE
 * non-blank page of bank 1 ([bank1, app data)) through dfw_stage_idle_erase()
 * and return true if more may remain, so the caller calls again before it
 * sleeps. Returns false, doing nothing, while a session is open, after
 * COMMIT, when the settings page is invalid or says bank 1 is not free (an
 * update pending), once bank 1 is blank, and after a flash error. Returns
 * true without erasing when a frame is already queued (poll first). Every
 * session start stops it; the next idle pass after the session ends starts
 * over and only erases what is not blank. Nothing changes on the wire except
 * that a reply may come up to one page erase later.
 */
bool dfw_rx_idle(dfw_rx_t *rx);

/* Snapshot of the counters (each field is read atomically; zeroed if rx is NULL). */
void dfw_rx_get_stats(const dfw_rx_t *rx, dfw_rx_stats_t *out);

/* Session phase as reported in STATUS (msg_phase_t: IDLE, INIT, FIRMWARE, ...). */
msg_phase_t dfw_rx_phase(const dfw_rx_t *rx);

/* Status code of the last refused request since init (INFO's last_status), 0 if none. */
uint8_t dfw_rx_last_status(const dfw_rx_t *rx);

#endif
