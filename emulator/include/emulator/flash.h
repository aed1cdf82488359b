/*
 * flash.h - host-side model of nRF52832 / nRF52840 internal flash (NVMC).
 *
 * What it enforces (shared spec nrf5-bootloader.md §9):
 *  - erased = 0xFF; a page erase sets a whole 4 KiB page back to 0xFF;
 *  - programming is `word &= value`, only whole, word-aligned 32-bit words;
 *    anything else is a hard fault on the chip, so here it is a FAULT:
 *    recorded in the fault log, returned as an error, and NOT performed;
 *  - BPROT (52832) / ACL (52840) regions set by the bootloader replay; a
 *    write or erase into one by anyone but the programmer is a fault;
 *  - touching the NVMC directly while the SoftDevice is enabled is the
 *    SoftDevice fault NRF_FAULT_ID_APP_MEMACC;
 *  - per-word write counters, nWRITE limits and the 10 000-cycle page
 *    endurance are counted and FLAGGED (violation log), never refused,
 *    because on silicon they are reliability limits, not faults.
 * Every erase and word write charges an optional virtual clock, and a power
 * cut can be armed before/after/in the middle of any operation.
 *
 * Definitions used throughout:
 *  - An "operation" (op) is one flash_erase_page() call or one flash_write*()
 *    call (a run of words) that passed every check and so reached the
 *    NVMC. Faulted or refused calls are not ops. Reads and the programmer
 *    load path (flash_load*) are never ops.
 *  - Addresses are offsets into the code flash, 0 .. size-1 (the nRF52 maps
 *    code flash at 0, so these are also the CPU addresses).
 *  - Word values are little-endian, as on the Cortex-M4.
 *
 * Threading: none. A flash_t must be used by one thread at a time.
 */
#ifndef EMULATOR_FLASH_H
#define EMULATOR_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/vclock.h"

#if defined(__GNUC__) || defined(__clang__)
#define FLASH_MUST_CHECK __attribute__((warn_unused_result))
#else
#define FLASH_MUST_CHECK
#endif

/*
 * Errors. 0 is success, every error is negative.
 * Caller bugs (a harness or adapter passing nonsense): ARG, NOMEM.
 * Device behaviour the firmware under test caused (each also logged as a
 * flash_fault_t): RANGE, ALIGN, PROTECTED, SD_MEMACC.
 * Scenario state: POWER_CUT (until flash_reset()).
 * Protection setup refused, as the real peripheral would: ACL_FULL,
 * REGION_SIZE (not logged as faults; the bootloader sees an error code).
 */
typedef enum flash_err {
    FLASH_OK = 0,
    FLASH_ERR_ARG = -1,         /* NULL pointer, unknown chip/actor/mode, bad protect range */
    FLASH_ERR_NOMEM = -2,       /* host allocation failed */
    FLASH_ERR_RANGE = -3,       /* address/length outside the flash array */
    FLASH_ERR_ALIGN = -4,       /* unaligned, partial-word or non-page erase: hard fault */
    FLASH_ERR_PROTECTED = -5,   /* BPROT hard fault (52832) / ACL bus fault (52840) */
    FLASH_ERR_SD_MEMACC = -6,   /* app used NVMC while SoftDevice enabled */
    FLASH_ERR_POWER_CUT = -7,   /* power is off: nothing happens until flash_reset() */
    FLASH_ERR_ACL_FULL = -8,    /* all ACL regions in use (nRF52840 has 8) */
    FLASH_ERR_REGION_SIZE = -9, /* region larger than the ACL allows (512 KiB) */
} flash_err_t;

typedef enum flash_chip {
    FLASH_CHIP_NRF52832 = 0, /* QFAA, 512 KiB */
    FLASH_CHIP_NRF52840 = 1, /* 1 MiB */
    FLASH_CHIP_COUNT
} flash_chip_t;

/* Who issues a write or erase. Only the programmer bypasses protection. */
typedef enum flash_actor {
    FLASH_ACTOR_PROGRAMMER = 0, /* SWD programmer/debugger building a device image */
    FLASH_ACTOR_MBR,            /* Nordic MBR (e.g. COPY_BL after its reset) */
    FLASH_ACTOR_BOOTLOADER,     /* secure bootloader, NVMC backend */
    FLASH_ACTOR_APP_NVMC,       /* application poking NVMC registers itself */
    FLASH_ACTOR_APP_SD,         /* application through sd_flash_write/_page_erase */
    FLASH_ACTOR_COUNT
} flash_actor_t;

/* How the nRF52 family member enforces protection. */
typedef enum flash_prot_kind {
    FLASH_PROT_BPROT = 0, /* nRF52832: per-4 KiB bits, violation = hard fault */
    FLASH_PROT_ACL,       /* nRF52840: 8 regions, violation = bus fault */
} flash_prot_kind_t;

/*
 * Chip descriptor. The table lives in flash.c (one row per chip) so that
 * figures can be corrected in one place; see the comment there for sources.
 */
typedef struct flash_chip_desc {
    const char *name;
    uint32_t size;            /* bytes of code flash */
    uint32_t page_size;       /* erase unit, bytes */
    uint64_t t_write_ns;      /* charged per programmed word */
    uint64_t t_erase_ns;      /* charged per page erase */
    uint32_t nwrite_unit;     /* bytes the nWRITE limit counts over (4 = per word) */
    uint32_t nwrite_max;      /* writes allowed in one unit between erases */
    uint32_t endurance;       /* erase cycles per page */
    flash_prot_kind_t prot;   /* BPROT or ACL */
    uint32_t max_regions;     /* 0 = unlimited (BPROT is a bitmap) */
    uint32_t max_region_size; /* 0 = unlimited */
} flash_chip_desc_t;

typedef enum flash_op {
    FLASH_OP_WRITE = 0,
    FLASH_OP_ERASE,
} flash_op_t;

typedef enum flash_fault_kind {
    FLASH_FAULT_RANGE = 0, /* access outside flash (bus fault on chip) */
    FLASH_FAULT_ALIGN,     /* unaligned / partial word / non-page erase (hard fault) */
    FLASH_FAULT_BPROT,     /* nRF52832 BPROT: hard fault */
    FLASH_FAULT_ACL,       /* nRF52840 ACL: bus fault */
    FLASH_FAULT_SD_MEMACC, /* SoftDevice fault handler, id NRF_FAULT_ID_APP_MEMACC */
} flash_fault_kind_t;

#define FLASH_NRF_FAULT_ID_APP_MEMACC 0x00001001u
#define FLASH_SD_MEMACC_MESSAGE       "SOFTDEVICE: INVALID MEMORY ACCESS"
#define FLASH_NAME_MAX                48 /* region names are copied, truncated to 47 chars */

/* One entry of the fault log. `what` is the region name or a message. */
typedef struct flash_fault {
    flash_fault_kind_t kind;
    flash_op_t op;
    flash_actor_t actor;
    uint32_t addr;   /* first address of the refused call */
    uint32_t len;    /* bytes (write) or page size (erase) */
    uint32_t nrf_id; /* NRF_FAULT_ID_* for SD_MEMACC, else 0 */
    char what[FLASH_NAME_MAX];
} flash_fault_t;

typedef enum flash_violation_kind {
    FLASH_VIOL_NWRITE = 0, /* more writes than nWRITE in a word/block between erases */
    FLASH_VIOL_ENDURANCE,  /* more erases of a page than its endurance */
} flash_violation_kind_t;

/*
 * One entry of the violation log. Recorded once per unit per erase cycle
 * (nWRITE: at the first write past the limit) or once per page ever
 * (endurance: at the first erase past it); the counters keep counting.
 */
typedef struct flash_violation {
    flash_violation_kind_t kind;
    flash_actor_t actor; /* who did the write/erase that crossed the limit */
    uint32_t addr;       /* start of the word, block or page */
    uint32_t count;      /* counter value that crossed the limit (= limit + 1) */
    uint32_t limit;
} flash_violation_t;

typedef enum flash_cut_mode {
    FLASH_CUT_BEFORE = 0, /* the op does not happen at all */
    FLASH_CUT_AFTER,      /* the op completes, then power is lost */
    FLASH_CUT_TORN,       /* power is lost in the middle of the op */
} flash_cut_mode_t;

typedef struct flash_stats {
    uint64_t ops;           /* ops issued since creation (see top), including the cut one */
    uint64_t words_written; /* word programs, whole or torn */
    uint64_t pages_erased;  /* page erases, whole or torn */
    uint64_t overwrites;    /* word programs onto a word that was not erased */
    uint64_t lost_bits;     /* word programs whose value needed a 0->1 change (result != value) */
} flash_stats_t;

/* Opaque handle. */
typedef struct flash flash_t;

/* ---- lifetime ---------------------------------------------------------- */

/*
 * Create an erased flash of `chip`. Returns NULL for an unknown chip or when
 * the host is out of memory. The caller owns the handle and frees it with
 * flash_destroy(). No clock is attached, power is on, nothing is protected,
 * the SoftDevice flag is off.
 */
flash_t *flash_create(flash_chip_t chip);

/* Free `f` and everything it owns. NULL is ignored. Borrowed pointers
 * (attached clock) are not touched. */
void flash_destroy(flash_t *f);

/* Static descriptor of `chip` (never freed), or NULL if unknown. */
const flash_chip_desc_t *flash_chip_info(flash_chip_t chip);

/* Descriptor of the chip `f` was created for; lives as long as the program. */
const flash_chip_desc_t *flash_chip(const flash_t *f);

/*
 * Charge erases and word writes to `clk` from now on. `clk` is borrowed: it
 * must outlive `f` or be detached first with flash_attach_clock(f, NULL).
 */
void flash_attach_clock(flash_t *f, vclock_t *clk);

/* ---- device-side access (what a firmware HAL adapter calls) ------------- */

/*
 * Program `len` bytes from `src` at `addr` as `actor`, word by word with
 * AND semantics. `addr` and `len` must be multiples of 4; len 0 is a no-op.
 * Checks, in the order the hardware would hit them: power, SoftDevice
 * ownership of the NVMC, range, alignment, protection. The first failing
 * check is logged (except POWER_CUT) and nothing at all is written, even
 * the words that precede a protected page (the model refuses the whole call).
 */
FLASH_MUST_CHECK flash_err_t flash_write(flash_t *f, flash_actor_t actor, uint32_t addr,
                                         const void *src, uint32_t len);

/*
 * Same as flash_write() for `n_words` host-order words stored at
 * addr + 4*i in little-endian order: the natural shape for a HAL adapter
 * whose write takes `const uint32_t *`. Nothing is copied; `words` is only
 * read during the call.
 */
FLASH_MUST_CHECK flash_err_t flash_write_words(flash_t *f, flash_actor_t actor, uint32_t addr,
                                               const uint32_t *words, uint32_t n_words);

/* Erase the page starting at `addr` (must be page-aligned) as `actor`.
 * Same checks and logging as flash_write(). */
FLASH_MUST_CHECK flash_err_t flash_erase_page(flash_t *f, flash_actor_t actor, uint32_t addr);

/*
 * Copy `len` bytes at `addr` into `dst`. Any alignment; no protection (the
 * model has no read protection) and no clock charge. Out-of-range returns
 * FLASH_ERR_RANGE without a log entry and leaves `dst` untouched. Returns
 * FLASH_ERR_POWER_CUT while power is off: a dead CPU reads nothing (a test
 * inspects a dead device with flash_bytes()).
 */
FLASH_MUST_CHECK flash_err_t flash_read(const flash_t *f, uint32_t addr, void *dst, uint32_t len);

/* ---- programmer / device-file access ------------------------------------ */

/*
 * Lay down `len` bytes at `addr`, any alignment, as a raw copy (not AND):
 * this builds a device image, like a programmer's erase-all + program. It
 * bypasses protection, counters, clock, power state and power-cut arming,
 * and is not an op. Returns FLASH_ERR_RANGE if it does not fit.
 */
FLASH_MUST_CHECK flash_err_t flash_load(flash_t *f, uint32_t addr, const void *src, uint32_t len);

/* Replace the whole array from a saved device file; `len` must equal the
 * chip's flash size. Same bypasses as flash_load(). Counters are kept. */
FLASH_MUST_CHECK flash_err_t flash_load_raw(flash_t *f, const void *data, uint32_t len);

/* The whole array (flash_chip(f)->size bytes), e.g. to save a device file.
 * Valid until flash_destroy(f); reflects later writes. */
const uint8_t *flash_bytes(const flash_t *f);

/* ---- protection and system state ---------------------------------------- */

/*
 * Protect [start, end) against writes and erases by every actor except the
 * programmer, naming the region `name` (copied) for fault reports.
 * start/end must be page-aligned and start < end (else FLASH_ERR_ARG, the
 * SDK's NRF_ERROR_INVALID_PARAM), end <= size (else FLASH_ERR_RANGE).
 * nRF52840: each call takes one ACL region; a 9th returns FLASH_ERR_ACL_FULL
 * and a region over 512 KiB FLASH_ERR_REGION_SIZE. Regions only go away with
 * flash_reset(), as the registers are write-once until reset.
 */
FLASH_MUST_CHECK flash_err_t flash_protect(flash_t *f, uint32_t start, uint32_t end,
                                           const char *name);

/* Number of protect calls in effect (ACL regions in use on nRF52840). */
size_t flash_region_count(const flash_t *f);

/*
 * Chip reset (also what "power on" means after a cut): clears all protection
 * regions, the SoftDevice-enabled flag and the power-cut state. Flash
 * contents, counters, logs, the op count and the clock survive. An armed,
 * not yet fired cut stays armed.
 */
void flash_reset(flash_t *f);

/* Mark the SoftDevice as enabled (sd_softdevice_enable) or not. */
void flash_set_softdevice_enabled(flash_t *f, bool enabled);
bool flash_softdevice_enabled(const flash_t *f);

/* ---- power-cut injection --------------------------------------------------- */

/*
 * Cut power at the `nth` op (1 = the next one) counted from now, in `mode`.
 * `seed` drives the TORN outcome and nothing else: the same seed and the
 * same op sequence give the same bytes. The cut op returns
 * FLASH_ERR_POWER_CUT in every mode (the firmware never sees it complete);
 * afterwards every call returns FLASH_ERR_POWER_CUT and does nothing until
 * flash_reset(). Re-arming replaces a pending cut. nth == 0 -> FLASH_ERR_ARG.
 */
FLASH_MUST_CHECK flash_err_t flash_cut_arm(flash_t *f, uint64_t nth, flash_cut_mode_t mode,
                                           uint64_t seed);

/* Forget a pending cut (power state is unchanged). */
void flash_cut_disarm(flash_t *f);

bool flash_power_is_cut(const flash_t *f);

/* Ops issued since creation; run a scenario clean, take the difference N,
 * then arm a cut at every i in 1..N. */
uint64_t flash_op_count(const flash_t *f);

/* Copy the running totals into `*out` (zeroed if f is NULL). */
void flash_get_stats(const flash_t *f, flash_stats_t *out);

/* ---- counters (0 for an address outside flash) --------------------------- */

/* Programs of the word containing `addr` since its page was last erased. */
uint32_t flash_word_write_count(const flash_t *f, uint32_t addr);

/* The counter nWRITE is checked against for `addr` (word on 52840,
 * 512-byte block on 52832), since the last erase. */
uint32_t flash_nwrite_count(const flash_t *f, uint32_t addr);

/* Erases of the page containing `addr` since creation. */
uint32_t flash_page_erase_count(const flash_t *f, uint32_t addr);

/* ---- logs ------------------------------------------------------------------ */

/*
 * Faults and violations recorded since creation or flash_clear_logs().
 * Counts include entries beyond the stored capacity; flash_*_at() returns
 * NULL for those and for i >= count. Returned pointers are owned by `f` and
 * stay valid until flash_clear_logs() or flash_destroy().
 */
size_t flash_fault_count(const flash_t *f);
const flash_fault_t *flash_fault_at(const flash_t *f, size_t i);
size_t flash_violation_count(const flash_t *f);
const flash_violation_t *flash_violation_at(const flash_t *f, size_t i);
void flash_clear_logs(flash_t *f);

/*
 * One-line description of a fault into `buf` (always NUL-terminated if
 * n > 0), e.g. "ACL bus fault: bootloader write at 0x000F8000 (4 bytes) into
 * protected region 'bootloader'". Returns what snprintf returns.
 */
int flash_fault_format(const flash_fault_t *ft, char *buf, size_t n);

/* Static strings, never NULL ("unknown ..." for out-of-range values). */
const char *flash_strerror(flash_err_t err);
const char *flash_actor_name(flash_actor_t actor);

#endif
