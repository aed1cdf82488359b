/*
 * flash.c - nRF52 flash model; contract and definitions in flash.h.
 *
 * Design notes:
 *  - Every device-side call goes validate -> (count op, maybe cut) -> apply.
 *    Validation never changes flash, so a faulted call leaves no trace
 *    except its fault log entry.
 *  - The array is kept as bytes (what a device file stores) and words are
 *    read/written through explicit little-endian helpers.
 *  - Limits that silicon does not enforce (nWRITE, endurance) are counted
 *    and logged as violations; only what the chip turns into a fault is
 *    refused.
 */
#include "emulator/flash.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_SIZE     4u
#define ERASED_WORD   0xFFFFFFFFu
#define FAULT_LOG_CAP 64u  /* the first faults are the interesting ones */
#define VIOL_LOG_CAP  256u /* one entry per unit per cycle, so rarely many */

/*
 * Chip table. Sources: shared spec nrf5-bootloader.md §1.1 (geometry) and
 * §9.1 (physics).
 * TIMING IS A PLACEHOLDER: the spec (§9.1, §12) marks every figure except
 * the 89.7 ms nRF52 maximum page erase as [UNVERIFIED], recalled from the
 * product specifications. nRF52840: tWRITE 41 us, tERASEPAGE 85 ms (typical);
 * nRF52832: tWRITE 67.5 us (min), tERASEPAGE 89.7 ms (max). Correct them here
 * against PS nRF52832 v1.4 / PS nRF52840 "NVMC electrical specification".
 * nWRITE: nRF52840 = 2 writes per word is itself [UNVERIFIED] (value taken
 * from the nRF5340 PS); nRF52832 = 181 writes per 512-byte block [DOC].
 * ACL: 8 regions, at most half of the flash each (the SDK HAL caps 512 KiB).
 */
static const flash_chip_desc_t chip_table[FLASH_CHIP_COUNT] = {
    [FLASH_CHIP_NRF52832] =
        {
            .name = "nRF52832",
            .size = 0x80000,
            .page_size = 4096,
            .t_write_ns = 67500,    /* placeholder, see above */
            .t_erase_ns = 89700000, /* placeholder, see above */
            .nwrite_unit = 512,
            .nwrite_max = 181,
            .endurance = 10000,
            .prot = FLASH_PROT_BPROT,
            .max_regions = 0,
            .max_region_size = 0,
        },
    [FLASH_CHIP_NRF52840] =
        {
            .name = "nRF52840",
            .size = 0x100000,
            .page_size = 4096,
            .t_write_ns = 41000,    /* placeholder, see above */
            .t_erase_ns = 85000000, /* placeholder, see above */
            .nwrite_unit = 4,
            .nwrite_max = 2,
            .endurance = 10000,
            .prot = FLASH_PROT_ACL,
            .max_regions = 8,
            .max_region_size = 0x80000,
        },
};

typedef struct region {
    uint32_t start;
    uint32_t end; /* exclusive */
    char name[FLASH_NAME_MAX];
} region_t;

typedef struct cut_state {
    bool armed;
    uint64_t remaining; /* ops until the cut, counting the cut op */
    flash_cut_mode_t mode;
    uint64_t rng; /* splitmix64 state, seeded at arming */
} cut_state_t;

struct flash {
    const flash_chip_desc_t *chip;
    uint8_t *mem;
    uint32_t *word_writes; /* per word, since its page was erased */
    uint32_t *unit_writes; /* per nWRITE unit, since its page was erased */
    uint32_t *page_erases; /* per page, since creation */
    vclock_t *clock;       /* borrowed, may be NULL */
    region_t *regions;
    size_t n_regions;
    size_t cap_regions;
    bool sd_enabled;
    bool power_cut;
    cut_state_t cut;
    flash_stats_t stats;
    flash_fault_t faults[FAULT_LOG_CAP];
    size_t n_faults; /* total, may exceed FAULT_LOG_CAP */
    flash_violation_t viols[VIOL_LOG_CAP];
    size_t n_viols; /* total, may exceed VIOL_LOG_CAP */
};

/* ---- small helpers ---------------------------------------------------------- */

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* splitmix64: tiny, seedable with any value (including 0), good enough to
 * pick torn outcomes; we need reproducibility, not cryptographic quality. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void copy_name(char dst[FLASH_NAME_MAX], const char *src)
{
    size_t n = strlen(src);
    if (n >= FLASH_NAME_MAX) {
        n = FLASH_NAME_MAX - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Overflow-safe: addr + len may not fit in 32 bits. */
static bool in_range(const flash_t *f, uint32_t addr, uint32_t len)
{
    return len <= f->chip->size && addr <= f->chip->size - len;
}

static bool actor_valid(flash_actor_t actor)
{
    return (unsigned)actor < FLASH_ACTOR_COUNT;
}

/* ---- logs ------------------------------------------------------------------- */

typedef struct fault_site {
    flash_op_t op;
    flash_actor_t actor;
    uint32_t addr;
    uint32_t len;
} fault_site_t;

static flash_err_t log_fault(flash_t *f, flash_fault_kind_t kind, const fault_site_t *site,
                             const char *what, flash_err_t err)
{
    if (f->n_faults < FAULT_LOG_CAP) {
        flash_fault_t *ft = &f->faults[f->n_faults];
        ft->kind = kind;
        ft->op = site->op;
        ft->actor = site->actor;
        ft->addr = site->addr;
        ft->len = site->len;
        ft->nrf_id = kind == FLASH_FAULT_SD_MEMACC ? FLASH_NRF_FAULT_ID_APP_MEMACC : 0;
        copy_name(ft->what, what);
    }
    f->n_faults++;
    return err;
}

static void log_violation(flash_t *f, const flash_violation_t *v)
{
    if (f->n_viols < VIOL_LOG_CAP) {
        f->viols[f->n_viols] = *v;
    }
    f->n_viols++;
}

/* ---- validation (never changes flash) ---------------------------------------- */

static const region_t *find_region(const flash_t *f, uint32_t start, uint32_t end)
{
    for (size_t i = 0; i < f->n_regions; i++) {
        const region_t *r = &f->regions[i];
        if (start < r->end && r->start < end) {
            return r;
        }
    }
    return NULL;
}

static flash_err_t check_protection(flash_t *f, const fault_site_t *site)
{
    if (site->actor == FLASH_ACTOR_PROGRAMMER) {
        return FLASH_OK; /* the debugger is outside BPROT/ACL by design */
    }
    const region_t *r = find_region(f, site->addr, site->addr + site->len);
    if (r == NULL) {
        return FLASH_OK;
    }
    flash_fault_kind_t kind =
        f->chip->prot == FLASH_PROT_BPROT ? FLASH_FAULT_BPROT : FLASH_FAULT_ACL;
    return log_fault(f, kind, site, r->name, FLASH_ERR_PROTECTED);
}

/*
 * Order follows what the CPU hits first: an application that touches the
 * NVMC while the SoftDevice owns it is stopped at the CONFIG register,
 * before any address is even issued; then the bus (range), then the NVMC
 * word rule, then BPROT/ACL on the target block.
 */
static flash_err_t check_access(flash_t *f, const fault_site_t *site)
{
    if (site->actor == FLASH_ACTOR_APP_NVMC && f->sd_enabled) {
        return log_fault(f, FLASH_FAULT_SD_MEMACC, site, FLASH_SD_MEMACC_MESSAGE,
                         FLASH_ERR_SD_MEMACC);
    }
    if (!in_range(f, site->addr, site->len)) {
        return log_fault(f, FLASH_FAULT_RANGE, site, "address outside flash", FLASH_ERR_RANGE);
    }
    if (site->op == FLASH_OP_WRITE && (site->addr % WORD_SIZE != 0 || site->len % WORD_SIZE != 0)) {
        return log_fault(f, FLASH_FAULT_ALIGN, site, "unaligned or partial-word write",
                         FLASH_ERR_ALIGN);
    }
    if (site->op == FLASH_OP_ERASE && site->addr % f->chip->page_size != 0) {
        return log_fault(f, FLASH_FAULT_ALIGN, site, "erase address not page-aligned",
                         FLASH_ERR_ALIGN);
    }
    return check_protection(f, site);
}

static flash_err_t check_call(const flash_t *f, flash_actor_t actor, const void *buf, uint32_t len)
{
    if (f == NULL || (buf == NULL && len > 0) || !actor_valid(actor)) {
        return FLASH_ERR_ARG;
    }
    return f->power_cut ? FLASH_ERR_POWER_CUT : FLASH_OK;
}

/* Count the op; true if power is to be cut at it, with the mode in *mode. */
static bool op_begin(flash_t *f, flash_cut_mode_t *mode)
{
    f->stats.ops++;
    if (!f->cut.armed || --f->cut.remaining != 0) {
        return false;
    }
    f->cut.armed = false;
    *mode = f->cut.mode;
    return true;
}

/* ---- programming ------------------------------------------------------------- */

static void count_write(flash_t *f, flash_actor_t actor, uint32_t addr)
{
    const flash_chip_desc_t *c = f->chip;
    uint32_t unit = addr / c->nwrite_unit;

    f->word_writes[addr / WORD_SIZE]++;
    f->stats.words_written++;
    if (++f->unit_writes[unit] == c->nwrite_max + 1) {
        flash_violation_t v = {FLASH_VIOL_NWRITE, actor, unit * c->nwrite_unit,
                               f->unit_writes[unit], c->nwrite_max};
        log_violation(f, &v);
    }
}

/*
 * Program one word. Bits set in `spared` keep their old value even where
 * `value` would clear them: that is how a torn word is modelled, and it
 * keeps the result AND-consistent (no bit can ever go 0 -> 1).
 */
static void program_word(flash_t *f, flash_actor_t actor, uint32_t addr, uint32_t value,
                         uint32_t spared)
{
    uint8_t *p = f->mem + addr;
    uint32_t old = get_le32(p);

    if (old != ERASED_WORD) {
        f->stats.overwrites++;
    }
    if ((old & value) != value) {
        f->stats.lost_bits++;
    }
    put_le32(p, old & (value | spared));
    count_write(f, actor, addr);
}

/* Source of a write: LE bytes (flash_write) or host words (flash_write_words). */
typedef struct word_src {
    const uint8_t *bytes;
    const uint32_t *words;
} word_src_t;

static uint32_t src_word(const word_src_t *src, uint32_t i)
{
    return src->words != NULL ? src->words[i] : get_le32(src->bytes + i * WORD_SIZE);
}

static void program_run(flash_t *f, flash_actor_t actor, uint32_t addr, const word_src_t *src,
                        uint32_t words)
{
    for (uint32_t i = 0; i < words; i++) {
        program_word(f, actor, addr + i * WORD_SIZE, src_word(src, i), 0);
    }
    vclock_advance(f->clock, (uint64_t)words * f->chip->t_write_ns);
}

/*
 * Power lost mid-write: a random prefix of words is complete, the next word
 * got a random subset of its 1->0 transitions, the rest are untouched.
 * Only completed words are charged to the clock.
 */
static void program_torn(flash_t *f, flash_actor_t actor, uint32_t addr, const word_src_t *src,
                         uint32_t words)
{
    uint32_t done = (uint32_t)(rng_next(&f->cut.rng) % words);

    program_run(f, actor, addr, src, done);
    program_word(f, actor, addr + done * WORD_SIZE, src_word(src, done),
                 (uint32_t)rng_next(&f->cut.rng));
}

/* Shared tail of both write entry points, after argument checks. */
static flash_err_t write_op(flash_t *f, flash_actor_t actor, uint32_t addr, uint32_t len,
                            const word_src_t *src)
{
    fault_site_t site = {FLASH_OP_WRITE, actor, addr, len};
    flash_err_t err = check_access(f, &site);
    if (err != FLASH_OK) {
        return err;
    }
    flash_cut_mode_t mode;
    if (!op_begin(f, &mode)) {
        program_run(f, actor, addr, src, len / WORD_SIZE);
        return FLASH_OK;
    }
    if (mode == FLASH_CUT_AFTER) {
        program_run(f, actor, addr, src, len / WORD_SIZE);
    } else if (mode == FLASH_CUT_TORN) {
        program_torn(f, actor, addr, src, len / WORD_SIZE);
    }
    f->power_cut = true;
    return FLASH_ERR_POWER_CUT;
}

flash_err_t flash_write(flash_t *f, flash_actor_t actor, uint32_t addr, const void *src,
                        uint32_t len)
{
    flash_err_t err = check_call(f, actor, src, len);
    if (err != FLASH_OK || len == 0) {
        return err;
    }
    word_src_t ws = {.bytes = src, .words = NULL};
    return write_op(f, actor, addr, len, &ws);
}

flash_err_t flash_write_words(flash_t *f, flash_actor_t actor, uint32_t addr, const uint32_t *words,
                              uint32_t n_words)
{
    flash_err_t err = check_call(f, actor, words, n_words);
    if (err != FLASH_OK || n_words == 0) {
        return err;
    }
    /* A count this large cannot fit; clamp so len stays a 32-bit byte count. */
    uint32_t len = n_words > UINT32_MAX / WORD_SIZE ? UINT32_MAX & ~3u : n_words * WORD_SIZE;
    word_src_t ws = {.bytes = NULL, .words = words};
    return write_op(f, actor, addr, len, &ws);
}

/* ---- erasing ------------------------------------------------------------------- */

static void count_erase(flash_t *f, flash_actor_t actor, uint32_t addr)
{
    const flash_chip_desc_t *c = f->chip;
    uint32_t page = addr / c->page_size;

    f->stats.pages_erased++;
    if (++f->page_erases[page] == c->endurance + 1) {
        flash_violation_t v = {FLASH_VIOL_ENDURANCE, actor, addr, f->page_erases[page],
                               c->endurance};
        log_violation(f, &v);
    }
}

static void erase_full(flash_t *f, flash_actor_t actor, uint32_t addr)
{
    const flash_chip_desc_t *c = f->chip;
    uint32_t units_per_page = c->page_size / c->nwrite_unit;

    memset(f->mem + addr, 0xFF, c->page_size);
    memset(&f->word_writes[addr / WORD_SIZE], 0, c->page_size / WORD_SIZE * sizeof(uint32_t));
    memset(&f->unit_writes[addr / c->nwrite_unit], 0, units_per_page * sizeof(uint32_t));
    count_erase(f, actor, addr);
    vclock_advance(f->clock, c->t_erase_ns);
}

/*
 * Power lost mid-erase: each word independently stays as it was, is fully
 * erased, or has a random subset of its bits set (erasing only ever sets
 * bits). The erase cycle counts for endurance, but write counters are kept:
 * the page was not erased, so its words are not ready for fresh writes.
 * No clock charge, as the erase did not complete.
 */
static void erase_torn(flash_t *f, flash_actor_t actor, uint32_t addr)
{
    for (uint32_t off = 0; off < f->chip->page_size; off += WORD_SIZE) {
        uint8_t *p = f->mem + addr + off;
        uint64_t r = rng_next(&f->cut.rng);
        switch (r % 3) {
        case 0:
            break;
        case 1:
            put_le32(p, ERASED_WORD);
            break;
        default:
            put_le32(p, get_le32(p) | (uint32_t)(r >> 32));
            break;
        }
    }
    count_erase(f, actor, addr);
}

flash_err_t flash_erase_page(flash_t *f, flash_actor_t actor, uint32_t addr)
{
    flash_err_t err = check_call(f, actor, NULL, 0);
    if (err != FLASH_OK) {
        return err;
    }
    fault_site_t site = {FLASH_OP_ERASE, actor, addr, f->chip->page_size};
    err = check_access(f, &site);
    if (err != FLASH_OK) {
        return err;
    }
    flash_cut_mode_t mode;
    if (!op_begin(f, &mode)) {
        erase_full(f, actor, addr);
        return FLASH_OK;
    }
    if (mode == FLASH_CUT_AFTER) {
        erase_full(f, actor, addr);
    } else if (mode == FLASH_CUT_TORN) {
        erase_torn(f, actor, addr);
    }
    f->power_cut = true;
    return FLASH_ERR_POWER_CUT;
}

flash_err_t flash_read(const flash_t *f, uint32_t addr, void *dst, uint32_t len)
{
    flash_err_t err = check_call(f, FLASH_ACTOR_PROGRAMMER, dst, len);
    if (err != FLASH_OK) {
        return err;
    }
    if (!in_range(f, addr, len)) {
        return FLASH_ERR_RANGE;
    }
    if (len > 0) {
        memcpy(dst, f->mem + addr, len);
    }
    return FLASH_OK;
}

/* ---- lifetime ----------------------------------------------------------------- */

const flash_chip_desc_t *flash_chip_info(flash_chip_t chip)
{
    return (unsigned)chip < FLASH_CHIP_COUNT ? &chip_table[chip] : NULL;
}

const flash_chip_desc_t *flash_chip(const flash_t *f)
{
    return f != NULL ? f->chip : NULL;
}

flash_t *flash_create(flash_chip_t chip)
{
    const flash_chip_desc_t *c = flash_chip_info(chip);
    if (c == NULL) {
        return NULL;
    }
    /* Our own table's invariants: counters are cleared per page. */
    assert(c->page_size % c->nwrite_unit == 0 && c->nwrite_unit % WORD_SIZE == 0);
    assert(c->size % c->page_size == 0);

    flash_t *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->chip = c;
    f->mem = malloc(c->size);
    f->word_writes = calloc(c->size / WORD_SIZE, sizeof(uint32_t));
    f->unit_writes = calloc(c->size / c->nwrite_unit, sizeof(uint32_t));
    f->page_erases = calloc(c->size / c->page_size, sizeof(uint32_t));
    if (f->mem == NULL || f->word_writes == NULL || f->unit_writes == NULL ||
        f->page_erases == NULL) {
        flash_destroy(f);
        return NULL;
    }
    memset(f->mem, 0xFF, c->size);
    return f;
}

void flash_destroy(flash_t *f)
{
    if (f == NULL) {
        return;
    }
    free(f->mem);
    free(f->word_writes);
    free(f->unit_writes);
    free(f->page_erases);
    free(f->regions);
    free(f);
}

void flash_attach_clock(flash_t *f, vclock_t *clk)
{
    if (f != NULL) {
        f->clock = clk;
    }
}

/* ---- programmer / device file --------------------------------------------------- */

flash_err_t flash_load(flash_t *f, uint32_t addr, const void *src, uint32_t len)
{
    if (f == NULL || (src == NULL && len > 0)) {
        return FLASH_ERR_ARG;
    }
    if (!in_range(f, addr, len)) {
        return FLASH_ERR_RANGE;
    }
    if (len > 0) {
        memcpy(f->mem + addr, src, len);
    }
    return FLASH_OK;
}

flash_err_t flash_load_raw(flash_t *f, const void *data, uint32_t len)
{
    if (f == NULL || data == NULL) {
        return FLASH_ERR_ARG;
    }
    if (len != f->chip->size) {
        return FLASH_ERR_RANGE;
    }
    return flash_load(f, 0, data, len);
}

const uint8_t *flash_bytes(const flash_t *f)
{
    return f != NULL ? f->mem : NULL;
}

/* ---- protection and system state ---------------------------------------------- */

static flash_err_t check_region(const flash_t *f, uint32_t start, uint32_t end)
{
    const flash_chip_desc_t *c = f->chip;

    if (start >= end || start % c->page_size != 0 || end % c->page_size != 0) {
        return FLASH_ERR_ARG;
    }
    if (end > c->size) {
        return FLASH_ERR_RANGE;
    }
    if (c->max_region_size != 0 && end - start > c->max_region_size) {
        return FLASH_ERR_REGION_SIZE;
    }
    if (c->max_regions != 0 && f->n_regions >= c->max_regions) {
        return FLASH_ERR_ACL_FULL;
    }
    return FLASH_OK;
}

static flash_err_t grow_regions(flash_t *f)
{
    if (f->n_regions < f->cap_regions) {
        return FLASH_OK;
    }
    size_t cap = f->cap_regions != 0 ? f->cap_regions * 2 : 8;
    region_t *r = realloc(f->regions, cap * sizeof(*r));
    if (r == NULL) {
        return FLASH_ERR_NOMEM;
    }
    f->regions = r;
    f->cap_regions = cap;
    return FLASH_OK;
}

flash_err_t flash_protect(flash_t *f, uint32_t start, uint32_t end, const char *name)
{
    if (f == NULL || name == NULL) {
        return FLASH_ERR_ARG;
    }
    if (f->power_cut) {
        return FLASH_ERR_POWER_CUT;
    }
    flash_err_t err = check_region(f, start, end);
    if (err == FLASH_OK) {
        err = grow_regions(f);
    }
    if (err != FLASH_OK) {
        return err;
    }
    region_t *r = &f->regions[f->n_regions++];
    r->start = start;
    r->end = end;
    copy_name(r->name, name);
    return FLASH_OK;
}

size_t flash_region_count(const flash_t *f)
{
    return f != NULL ? f->n_regions : 0;
}

void flash_reset(flash_t *f)
{
    if (f == NULL) {
        return;
    }
    f->n_regions = 0;
    f->sd_enabled = false;
    f->power_cut = false;
}

void flash_set_softdevice_enabled(flash_t *f, bool enabled)
{
    if (f != NULL) {
        f->sd_enabled = enabled;
    }
}

bool flash_softdevice_enabled(const flash_t *f)
{
    return f != NULL && f->sd_enabled;
}

/* ---- power cut ------------------------------------------------------------------- */

flash_err_t flash_cut_arm(flash_t *f, uint64_t nth, flash_cut_mode_t mode, uint64_t seed)
{
    if (f == NULL || nth == 0 || (unsigned)mode > FLASH_CUT_TORN) {
        return FLASH_ERR_ARG;
    }
    f->cut = (cut_state_t){.armed = true, .remaining = nth, .mode = mode, .rng = seed};
    return FLASH_OK;
}

void flash_cut_disarm(flash_t *f)
{
    if (f != NULL) {
        f->cut.armed = false;
    }
}

bool flash_power_is_cut(const flash_t *f)
{
    return f != NULL && f->power_cut;
}

uint64_t flash_op_count(const flash_t *f)
{
    return f != NULL ? f->stats.ops : 0;
}

void flash_get_stats(const flash_t *f, flash_stats_t *out)
{
    if (out == NULL) {
        return;
    }
    if (f == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = f->stats;
}

/* ---- counters ------------------------------------------------------------------- */

uint32_t flash_word_write_count(const flash_t *f, uint32_t addr)
{
    return f != NULL && addr < f->chip->size ? f->word_writes[addr / WORD_SIZE] : 0;
}

uint32_t flash_nwrite_count(const flash_t *f, uint32_t addr)
{
    return f != NULL && addr < f->chip->size ? f->unit_writes[addr / f->chip->nwrite_unit] : 0;
}

uint32_t flash_page_erase_count(const flash_t *f, uint32_t addr)
{
    return f != NULL && addr < f->chip->size ? f->page_erases[addr / f->chip->page_size] : 0;
}

/* ---- log access and text ------------------------------------------------------ */

size_t flash_fault_count(const flash_t *f)
{
    return f != NULL ? f->n_faults : 0;
}

const flash_fault_t *flash_fault_at(const flash_t *f, size_t i)
{
    return f != NULL && i < f->n_faults && i < FAULT_LOG_CAP ? &f->faults[i] : NULL;
}

size_t flash_violation_count(const flash_t *f)
{
    return f != NULL ? f->n_viols : 0;
}

const flash_violation_t *flash_violation_at(const flash_t *f, size_t i)
{
    return f != NULL && i < f->n_viols && i < VIOL_LOG_CAP ? &f->viols[i] : NULL;
}

void flash_clear_logs(flash_t *f)
{
    if (f != NULL) {
        f->n_faults = 0;
        f->n_viols = 0;
    }
}

static const char *fault_kind_label(flash_fault_kind_t kind)
{
    static const char *const labels[] = {
        [FLASH_FAULT_RANGE] = "bus fault",
        [FLASH_FAULT_ALIGN] = "hard fault",
        [FLASH_FAULT_BPROT] = "BPROT hard fault",
        [FLASH_FAULT_ACL] = "ACL bus fault",
        [FLASH_FAULT_SD_MEMACC] = "SoftDevice fault 0x00001001",
    };
    return (unsigned)kind < sizeof(labels) / sizeof(labels[0]) ? labels[kind] : "unknown fault";
}

int flash_fault_format(const flash_fault_t *ft, char *buf, size_t n)
{
    if (ft == NULL || (buf == NULL && n > 0)) {
        return -1;
    }
    const char *op = ft->op == FLASH_OP_ERASE ? "erase" : "write";
    bool region = ft->kind == FLASH_FAULT_BPROT || ft->kind == FLASH_FAULT_ACL;
    const char *pre = region ? "protected region '" : "";
    const char *post = region ? "'" : "";
    return snprintf(buf, n, "%s: %s %s at 0x%08" PRIX32 " (%" PRIu32 " bytes): %s%s%s",
                    fault_kind_label(ft->kind), flash_actor_name(ft->actor), op, ft->addr, ft->len,
                    pre, ft->what, post);
}

const char *flash_strerror(flash_err_t err)
{
    static const char *const msgs[] = {
        [0] = "ok",
        [1] = "invalid argument",
        [2] = "out of memory",
        [3] = "address outside flash",
        [4] = "unaligned or partial-word access (hard fault)",
        [5] = "write or erase of a protected region",
        [6] = "SOFTDEVICE: INVALID MEMORY ACCESS (NVMC used while SoftDevice enabled)",
        [7] = "power cut",
        [8] = "no free ACL region",
        [9] = "protection region too large for the ACL",
    };
    _Static_assert(sizeof(msgs) / sizeof(msgs[0]) == 1 - FLASH_ERR_REGION_SIZE,
                   "one message per flash_err_t value");
    unsigned idx = err <= 0 ? (unsigned)-(int)err : ~0u;
    return idx < sizeof(msgs) / sizeof(msgs[0]) ? msgs[idx] : "unknown flash error";
}

const char *flash_actor_name(flash_actor_t actor)
{
    static const char *const names[] = {
        [FLASH_ACTOR_PROGRAMMER] = "programmer",
        [FLASH_ACTOR_MBR] = "MBR",
        [FLASH_ACTOR_BOOTLOADER] = "bootloader",
        [FLASH_ACTOR_APP_NVMC] = "application (NVMC)",
        [FLASH_ACTOR_APP_SD] = "application (SoftDevice flash API)",
    };
    return actor_valid(actor) ? names[actor] : "unknown actor";
}
