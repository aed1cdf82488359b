/*
 * fuzz_dfw_rx.h - the script format fuzz_dfw_rx reads, shared with
 * gen_corpus so the seeds it writes are scripts the harness understands.
 * One op byte, `op & 15` selects, then the op's arguments (little-endian).
 */
#ifndef TESTS_FUZZ_DFW_RX_H
#define TESTS_FUZZ_DFW_RX_H

enum {
    FUZZ_OP_RAW = 0,      /* u8 n-1, n bytes: wire bytes as they are */
    FUZZ_OP_FRAME = 1,    /* type, object, seq16, offset32, len16, payload: any request */
    FUZZ_OP_DATA_FW = 2,  /* offset32, len16: DATA object 2 with the package's image bytes */
    FUZZ_OP_DATA_DAT = 3, /* offset16, len16: DATA object 1 with the package's .dat bytes */
    FUZZ_OP_START = 4,    /* START with the package's lengths and CRCs; bit 5: which8, xor32 */
    FUZZ_OP_RESUME = 5, /* offset32: RESUME with the CRC of the image's first bytes; bit 5: xor32 */
    FUZZ_OP_SIMPLE = 6, /* HELLO, COMMIT, QUERY or ABORT (bits 4-5) */
    FUZZ_OP_POLL = 7,   /* poll up to (op >> 4) + 1 times, until idle */
    FUZZ_OP_TICK = 8,   /* dt16: advance the millisecond clock and tick */
    FUZZ_OP_RAM_RESET = 9,  /* the device resets without a commit: RAM gone, flash kept */
    FUZZ_OP_CHUNK = 10,     /* u8: input() chunk size from now on (0 = whole frames) */
    FUZZ_OP_POWER_CUT = 11, /* nth8, seed8: cut power at flash op nth+1 from now; bits 4-5:
                               before, after, torn, torn (flash_cut_arm) */
    FUZZ_OP_IDLE = 12,      /* the main loop is idle: dfw_rx_idle() up to (op >> 4) + 1 times */
    /* 13..15: poll once. */
};

/* Modifier bits of the frame ops (FRAME, DATA_*, START, RESUME, SIMPLE). */
#define FUZZ_OP_V2      0x10u /* DATA_*, START, RESUME: app_signed_v2 instead of app_signed_tiny */
#define FUZZ_OP_PERTURB 0x20u /* START, RESUME: xor a value (arguments follow) */
#define FUZZ_OP_FLIP    0x40u /* u16 position, u8 mask: flip wire bits */
#define FUZZ_OP_CUT     0x80u /* the delimiter is lost */

/* FUZZ_OP_SIMPLE's bits 4-5. */
enum {
    FUZZ_SIMPLE_HELLO = 0,
    FUZZ_SIMPLE_COMMIT = 1,
    FUZZ_SIMPLE_QUERY = 2,
    FUZZ_SIMPLE_ABORT = 3
};

#endif
