/*
 * dfw_stage.c - the bank-1 staging core (spec §8.3), plus dfw_strerror().
 *
 * Layout of this file: HAL wrappers that turn any failure into a FAILED stage;
 * the write path (feed -> batch -> flush -> blank-then-program); begin's
 * read-only checks; finish; resume; idle pre-erase; accessors.
 */
#include "device_fw/dfw_stage.h"

#include <stddef.h>
#include <string.h>

#include "device_fw/dfw_initcmd.h"
#include "proto/crc32.h"

#define ERASED_WORD       0xFFFFFFFFu /* what an erased word reads; programming it changes nothing */
#define BLANK_CHECK_WORDS 16u         /* blank check read size: 64 bytes of stack */
#define IDLE_DONE         0xFFFFFFFFu /* erased_end between stages: no (more) idle pre-erase */
enum { IDLE_UNKNOWN = 0, IDLE_STALE = 1, IDLE_KEEP = 2 }; /* dfw_stage_t.idle_keep */
#define BANK_CODE_APP  0x01u                              /* NRF_DFU_BANK_VALID_APP (spec §3) */
#define BANK_CODE_NONE 0x00u /* bank zeroed: holds nothing the bootloader or app wants */

_Static_assert(DFW_PAGE_SIZE % (4u * BLANK_CHECK_WORDS) == 0u, "blank check reads whole pages");
_Static_assert(offsetof(dfw_stage_t, dat) + DFW_INITCMD_MAX_SIZE == sizeof(dfw_stage_t),
               "dat is last: begin resets everything before it");

static uint64_t align_up_page(uint64_t v)
{
    return (v + DFW_PAGE_SIZE - 1u) / DFW_PAGE_SIZE * DFW_PAGE_SIZE;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* ------------------------------------------------------------------ HAL calls */

static dfw_err_t hal_failed(dfw_stage_t *st, int rc)
{
    st->hal_rc = rc;
    st->phase = DFW_PHASE_FAILED;
    return DFW_ERR_FLASH;
}

static dfw_err_t hal_read(dfw_stage_t *st, uint32_t addr, void *dst, uint32_t len)
{
    int rc = st->hal.read(st->hal.ctx, addr, dst, len);
    return rc != 0 ? hal_failed(st, rc) : DFW_OK;
}

/*
 * Last line of defence for our own invariants: nothing is erased or programmed
 * outside the image's pages of bank 1. Cannot trigger unless this file has a bug.
 */
static bool in_image_pages(const dfw_stage_t *st, uint32_t addr, uint32_t len)
{
    uint64_t end = align_up_page((uint64_t)st->bank1 + st->size);
    return addr >= st->bank1 && (uint64_t)addr + len <= end;
}

static dfw_err_t hal_erase_image_page(dfw_stage_t *st, uint32_t page)
{
    if (!in_image_pages(st, page, DFW_PAGE_SIZE)) {
        st->phase = DFW_PHASE_FAILED;
        return DFW_ERR_STATE;
    }
    int rc = st->hal.erase_page(st->hal.ctx, page);
    return rc != 0 ? hal_failed(st, rc) : DFW_OK;
}

static dfw_err_t hal_program(dfw_stage_t *st, uint32_t addr, const uint32_t *w, uint32_t n)
{
    int rc = st->hal.write_words(st->hal.ctx, addr, w, n);
    return rc != 0 ? hal_failed(st, rc) : DFW_OK;
}

/* CRC-32 of flash [addr, addr + len), continuing `*crc`; uses the (empty) batch as buffer. */
static dfw_err_t flash_crc(dfw_stage_t *st, uint32_t addr, uint32_t len, uint32_t *crc)
{
    uint8_t *buf = (uint8_t *)st->batch;
    while (len > 0u) {
        uint32_t n = min_u32(len, (uint32_t)sizeof(st->batch));
        dfw_err_t err = hal_read(st, addr, buf, n);
        if (err != DFW_OK) {
            return err;
        }
        *crc = crc32_update(*crc, buf, n);
        addr += n;
        len -= n;
    }
    return DFW_OK;
}

/* ----------------------------------------------------------------- write path */

/* Does every byte of the page read 0xFF? Exact: one 0 bit (torn erase or write) says no. */
static dfw_err_t page_blank(dfw_stage_t *st, uint32_t page, bool *blank)
{
    uint32_t buf[BLANK_CHECK_WORDS];
    *blank = true;
    for (uint32_t off = 0; off < DFW_PAGE_SIZE && *blank; off += (uint32_t)sizeof(buf)) {
        dfw_err_t err = hal_read(st, page + off, buf, (uint32_t)sizeof(buf));
        if (err != DFW_OK) {
            return err;
        }
        for (uint32_t i = 0; i < BLANK_CHECK_WORDS; i++) {
            *blank = *blank && buf[i] == ERASED_WORD;
        }
    }
    return DFW_OK;
}

/* Make the page blank: erase it unless it already is (a read costs ~1/500 of an erase). */
static dfw_err_t blank_page(dfw_stage_t *st, uint32_t page, bool *erased)
{
    bool blank = false;
    dfw_err_t err = page_blank(st, page, &blank);
    *erased = err == DFW_OK && !blank;
    return *erased ? hal_erase_image_page(st, page) : err;
}

/* Blank, in order, every page up to and including the one holding `addr`. */
static dfw_err_t erase_through(dfw_stage_t *st, uint32_t addr)
{
    while (st->erased_end <= addr) {
        bool erased;
        dfw_err_t err = blank_page(st, st->erased_end, &erased);
        if (err != DFW_OK) {
            return err;
        }
        st->erased_end += DFW_PAGE_SIZE;
    }
    return DFW_OK;
}

/* Program n words at addr (one page, blank), leaving out the 0xFFFFFFFF words it already holds. */
static dfw_err_t program_non_blank(dfw_stage_t *st, uint32_t addr, const uint32_t *w, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        while (i < n && w[i] == ERASED_WORD) {
            i++;
        }
        uint32_t run = 0;
        while (i + run < n && w[i + run] != ERASED_WORD) {
            run++;
        }
        if (run > 0u) {
            dfw_err_t err = hal_program(st, addr + 4u * i, &w[i], run);
            if (err != DFW_OK) {
                return err;
            }
        }
        i += run;
    }
    return DFW_OK;
}

/* Program the batch at the programming pointer: per page touched, one write per non-0xFF run. */
static dfw_err_t flush(dfw_stage_t *st)
{
    uint32_t done = 0;
    while (done < st->batch_n) {
        uint32_t addr = st->bank1 + st->programmed;
        uint32_t room = (DFW_PAGE_SIZE - addr % DFW_PAGE_SIZE) / 4u;
        uint32_t n = min_u32(st->batch_n - done, room);
        if (!in_image_pages(st, addr, 4u * n)) {
            st->phase = DFW_PHASE_FAILED;
            return DFW_ERR_STATE;
        }
        dfw_err_t err = erase_through(st, addr); /* even if every word is 0xFF */
        if (err == DFW_OK) {
            err = program_non_blank(st, addr, &st->batch[done], n);
        }
        if (err != DFW_OK) {
            return err;
        }
        st->programmed += 4u * n;
        done += n;
    }
    st->batch_n = 0;
    return DFW_OK;
}

/* Complete words go to the batch (little-endian, as the NVMC stores them). */
static dfw_err_t push_word(dfw_stage_t *st)
{
    st->batch[st->batch_n++] = dfw_le32_get(st->tail);
    st->tail_len = 0;
    return st->batch_n == DFW_WRITE_BATCH_WORDS ? flush(st) : DFW_OK;
}

static dfw_err_t feed(dfw_stage_t *st, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        st->tail[st->tail_len++] = data[i];
        if (st->tail_len == 4u) {
            dfw_err_t err = push_word(st);
            if (err != DFW_OK) {
                return err;
            }
        }
    }
    return flush(st);
}

/* Common entry check for calls that need a RECEIVING stage. */
static dfw_err_t require_receiving(const dfw_stage_t *st)
{
    if (st == NULL) {
        return DFW_ERR_PARAM;
    }
    if (st->phase == DFW_PHASE_FAILED) {
        return DFW_ERR_ABORTED;
    }
    return st->phase == DFW_PHASE_RECEIVING ? DFW_OK : DFW_ERR_STATE;
}

dfw_err_t dfw_stage_write(dfw_stage_t *st, uint32_t offset, const uint8_t *data, size_t len)
{
    dfw_err_t err = require_receiving(st);
    if (err != DFW_OK) {
        return err;
    }
    if (data == NULL && len > 0u) {
        return DFW_ERR_PARAM;
    }
    if (offset != st->received) {
        return DFW_ERR_OFFSET;
    }
    if (len > st->size - st->received) {
        return DFW_ERR_OVERRUN;
    }
    err = feed(st, data, len);
    if (err != DFW_OK) {
        return err;
    }
    st->received += (uint32_t)len;
    st->crc = crc32_update(st->crc, data, len);
    return DFW_OK;
}

/* ---------------------------------------------------------------------- begin */

static bool hal_ok(const dfw_hal_t *hal)
{
    return hal != NULL && hal->read != NULL && hal->write_words != NULL &&
           hal->erase_page != NULL && hal->page_size == DFW_PAGE_SIZE;
}

/* Page-aligned, inside the flash, and the staging area below both settings pages. */
static bool layout_ok(const dfw_layout_t *l)
{
    const uint32_t pg = DFW_PAGE_SIZE;
    if (l == NULL || (l->flash_size | l->bootloader_start | l->app_data_size | l->settings_addr |
                      l->backup_addr) %
                             pg !=
                         0u) {
        return false;
    }
    if (l->bootloader_start > l->flash_size || l->settings_addr >= l->flash_size ||
        l->backup_addr >= l->flash_size || l->settings_addr == l->backup_addr) {
        return false;
    }
    if (l->bootloader_start < DFW_MBR_SIZE ||
        l->app_data_size > l->bootloader_start - DFW_MBR_SIZE) {
        return false;
    }
    uint32_t dfu_end = l->bootloader_start - l->app_data_size;
    return dfu_end <= l->settings_addr && dfu_end <= l->backup_addr;
}

/* Decode and vet the .dat; on success *size is the image size. */
static dfw_err_t check_dat(const uint8_t *dat, size_t len, uint32_t *size)
{
    dfw_initcmd_t ic;
    dfw_err_t err = dfw_initcmd_decode(dat, len, &ic);
    if (err != DFW_OK) {
        return err;
    }
    if (!ic.has_type || !ic.has_hash || ic.hash_type != DFW_HASH_SHA256) {
        return DFW_ERR_INITCMD_INVALID; /* spec §5.3 5a/5b: refused by every bootloader build */
    }
    if (ic.type != DFW_FW_APPLICATION) {
        return DFW_ERR_UNSUPPORTED_TYPE;
    }
    return dfw_initcmd_image_size(&ic, size);
}

bool dfw_bank1_place(const uint8_t sd_info[8], uint32_t bank0_size, const dfw_layout_t *layout,
                     uint32_t *bank1, uint32_t *room)
{
    /* bank0_start exactly as nrf_dfu_bank0_start_addr() */
    uint64_t bank0 = DFW_MBR_SIZE;
    if (dfw_le32_get(sd_info) == DFW_SD_MAGIC_VALUE) {
        bank0 = align_up_page(dfw_le32_get(sd_info + 4));
    }
    uint64_t b1 = align_up_page(bank0 + bank0_size);
    uint64_t end = layout->app_data_size <= layout->bootloader_start
                       ? (uint64_t)layout->bootloader_start - layout->app_data_size
                       : 0u;
    if (bank0 < DFW_MBR_SIZE || b1 > end) {
        return false;
    }
    *bank1 = (uint32_t)b1;
    *room = (uint32_t)(end - b1);
    return true;
}

/* bank1 = ALIGN_UP(bank0_start + bank_0.image_size); image must end below the app data. */
static dfw_err_t place_bank1(dfw_stage_t *st, const uint8_t *hdr)
{
    uint8_t sd[8];
    dfw_err_t err = hal_read(st, DFW_SD_MAGIC_ADDR, sd, sizeof(sd));
    if (err != DFW_OK) {
        return err;
    }
    uint32_t bank1, room;
    if (!dfw_bank1_place(sd, dfw_le32_get(hdr + DFW_SO_BANK0_IMAGE_SIZE), &st->layout, &bank1,
                         &room) ||
        st->size > room) {
        return DFW_ERR_NO_SPACE;
    }
    st->bank1 = bank1;
    return DFW_OK;
}

/* Forget everything but the .dat buffer, which may hold the caller's init packet. */
static void reset_keep_dat(dfw_stage_t *st)
{
    memset(st, 0, offsetof(dfw_stage_t, dat));
    st->phase = DFW_PHASE_IDLE;
}

/* Read the settings header into the (empty) batch and check it; NULL after an error. */
static const uint8_t *read_settings_hdr(dfw_stage_t *st, dfw_err_t *err)
{
    uint8_t *hdr = (uint8_t *)st->batch; /* not on the stack: begin's path is the deepest */
    *err = hal_read(st, st->layout.settings_addr, hdr, DFW_SETTINGS_HDR_LEN);
    if (*err == DFW_OK) {
        *err = dfw_settings_check(hdr, DFW_SETTINGS_HDR_LEN);
    }
    return *err == DFW_OK ? hdr : NULL;
}

dfw_err_t dfw_stage_begin(dfw_stage_t *st, const dfw_hal_t *hal, const dfw_layout_t *layout,
                          const uint8_t *dat, size_t dat_len)
{
    if (st == NULL) {
        return DFW_ERR_PARAM;
    }
    reset_keep_dat(st);
    if (!hal_ok(hal) || !layout_ok(layout)) {
        return DFW_ERR_PARAM;
    }
    st->hal = *hal;
    st->layout = *layout;
    uint32_t size;
    dfw_err_t err = check_dat(dat, dat_len, &size);
    if (err != DFW_OK) {
        return err;
    }
    st->size = size;
    const uint8_t *hdr = read_settings_hdr(st, &err);
    if (err == DFW_OK) {
        err = place_bank1(st, hdr);
    }
    if (err != DFW_OK) {
        return err; /* phase stays IDLE, or FAILED after a HAL error */
    }
    st->settings_crc = dfw_le32_get(hdr + DFW_SO_CRC);
    st->erased_end = st->bank1;
    if (dat != st->dat) {
        memcpy(st->dat, dat, dat_len);
    }
    st->dat_len = (uint16_t)dat_len;
    st->phase = DFW_PHASE_RECEIVING;
    return DFW_OK;
}

/* --------------------------------------------------------------------- finish */

/* Pad and program the last partial word, then check what bank 1 now holds. */
static dfw_err_t seal_image(dfw_stage_t *st)
{
    dfw_err_t err = DFW_OK;
    if (st->tail_len > 0u) {
        memset(st->tail + st->tail_len, 0xFF, 4u - st->tail_len);
        err = push_word(st);
    }
    if (err == DFW_OK) {
        err = flush(st);
    }
    uint32_t crc = CRC32_INIT;
    if (err == DFW_OK) {
        err = flash_crc(st, st->bank1, st->size, &crc);
    }
    if (err == DFW_OK && crc != st->crc) {
        st->phase = DFW_PHASE_FAILED;
        err = DFW_ERR_VERIFY;
    }
    return err;
}

/* Re-read the settings page (must be the one begin saw) and apply spec §8.3 step 5. */
static dfw_err_t build_settings(dfw_stage_t *st, uint8_t *page)
{
    dfw_err_t err = hal_read(st, st->layout.settings_addr, page, DFW_SETTINGS_SIZE);
    if (err != DFW_OK) {
        return err;
    }
    err = dfw_settings_check(page, DFW_SETTINGS_SIZE);
    if (err != DFW_OK || dfw_le32_get(page + DFW_SO_CRC) != st->settings_crc) {
        /* bank 1 may no longer be where begin put it: never point the bootloader at it. */
        st->phase = DFW_PHASE_FAILED;
        return DFW_ERR_SETTINGS_CHANGED;
    }
    return dfw_settings_stage_app(page, DFW_SETTINGS_SIZE, st->dat, st->dat_len);
}

/* Erase the settings page, program the new image (words, in place) and read it back. */
static dfw_err_t write_settings(dfw_stage_t *st, uint32_t *words)
{
    uint8_t *bytes = (uint8_t *)words;
    uint32_t want = crc32_compute(bytes, DFW_SETTINGS_SIZE);
    for (uint32_t i = 0; i < DFW_SETTINGS_WORDS; i++) {
        words[i] = dfw_le32_get(bytes + 4u * i); /* byte image -> NVMC word values */
    }
    uint32_t addr = st->layout.settings_addr;
    int rc = st->hal.erase_page(st->hal.ctx, addr);
    if (rc == 0) {
        rc = st->hal.write_words(st->hal.ctx, addr, words, DFW_SETTINGS_WORDS);
    }
    if (rc != 0) {
        return hal_failed(st, rc);
    }
    uint32_t got = CRC32_INIT;
    dfw_err_t err = flash_crc(st, addr, DFW_SETTINGS_SIZE, &got);
    if (err == DFW_OK && got != want) {
        st->phase = DFW_PHASE_FAILED;
        err = DFW_ERR_VERIFY;
    }
    return err;
}

dfw_err_t dfw_stage_finish(dfw_stage_t *st, uint32_t *scratch)
{
    dfw_err_t err = require_receiving(st);
    if (err != DFW_OK) {
        return err;
    }
    if (scratch == NULL) {
        return DFW_ERR_PARAM;
    }
    if (st->received != st->size) {
        return DFW_ERR_INCOMPLETE;
    }
    err = seal_image(st);
    if (err == DFW_OK) {
        err = build_settings(st, (uint8_t *)scratch);
    }
    if (err == DFW_OK) {
        err = write_settings(st, scratch);
    }
    if (err != DFW_OK) {
        return err;
    }
    st->phase = DFW_PHASE_DONE;
    return DFW_RESET_REQUIRED;
}

/* --------------------------------------------------------------------- resume */

dfw_err_t dfw_stage_resume(dfw_stage_t *st, uint32_t staged_len, uint32_t staged_crc)
{
    dfw_err_t err = require_receiving(st);
    if (err != DFW_OK) {
        return err;
    }
    if (staged_len > st->size) {
        return DFW_ERR_OVERRUN;
    }
    /* One pass over flash: the CRC at the page boundary is where we continue from. */
    uint32_t keep = staged_len / DFW_PAGE_SIZE * DFW_PAGE_SIZE;
    uint32_t crc_keep = CRC32_INIT;
    err = flash_crc(st, st->bank1, keep, &crc_keep);
    uint32_t crc_all = crc_keep;
    if (err == DFW_OK) {
        err = flash_crc(st, st->bank1 + keep, staged_len - keep, &crc_all);
    }
    if (err != DFW_OK) {
        return err;
    }
    if (crc_all != staged_crc) {
        return DFW_ERR_CRC_MISMATCH;
    }
    st->received = keep;
    st->programmed = keep;
    st->crc = crc_keep;
    st->tail_len = 0;
    st->batch_n = 0;
    st->erased_end = st->bank1 + keep; /* re-erase the page holding staged_len */
    return DFW_OK;
}

/* ------------------------------------------------------------- idle pre-erase */

/* bank_current 0, bank 0 the valid app the bootloader started, bank 1 zeroed (dfw_stage.h). */
static bool bank1_free(const uint8_t *hdr)
{
    return dfw_le32_get(hdr + DFW_SO_BANK_CURRENT) == 0u &&
           dfw_le32_get(hdr + DFW_SO_BANK0_BANK_CODE) == BANK_CODE_APP &&
           dfw_le32_get(hdr + DFW_SO_BANK1_BANK_CODE) == BANK_CODE_NONE;
}

/*
 * Read the settings now (an update may have been staged since the last call)
 * and, if bank 1 is free, put the whole staging area in bank1/size, placed
 * exactly as begin would place an image.
 */
static dfw_err_t idle_area(dfw_stage_t *st, bool *is_free, const uint8_t **hdr_out)
{
    dfw_err_t err;
    const uint8_t *hdr = read_settings_hdr(st, &err);
    *hdr_out = hdr;
    *is_free = err == DFW_OK && bank1_free(hdr);
    if (!*is_free) {
        return err;
    }
    st->size = 0; /* place_bank1() then only checks that bank 1 starts below the app data */
    err = place_bank1(st, hdr);
    if (err == DFW_OK) {
        st->size = st->layout.bootloader_start - st->layout.app_data_size - st->bank1;
    }
    return err;
}

/*
 * The idle verdict: is bank 1 safe to pre-erase without losing an update
 * interrupted by a power cut, which a host would RESUME? Yes if it holds
 * one of the layouts an activation leaves (a partial image always starts
 * at bank 1's page 0 with its own vector table, which matches none of them):
 *  - page 0 blank: nothing was staged since;
 *  - a copy of the running image at page 0 (same size; CRC from the settings);
 *  - the image grew: bank 1 moved up by k pages and starts with the tail of
 *    the staged copy, so its page 0 equals the running image's page k > 0;
 *  - the image shrank: bank 1 moved down by j pages and the staged copy sits
 *    intact at its page j > 0, equal to the running image's page 0.
 * A page test compares CRC-32s of whole pages. Page 0 alone is no proof of
 * anything (a new image often starts with the running image's page 0).
 *
 * The scan costs a CRC of about every page between bank 0 and the app data
 * (up to ~210 on an nRF52840, ~1 ms each on a 64 MHz M4), so it runs one
 * page per call, like the erases: a call costs at most one page of CRC and
 * one erase. Between stages the staging counters are free, so the scan keeps
 * its step in `programmed` and its reference CRC in `settings_crc` (init and
 * begin clear both).
 */

/* The running image as the settings describe it; bank 1 follows it, page aligned. */
typedef struct idle_image {
    uint32_t start, pages, size, crc;
} idle_image_t;

static idle_image_t running_image(const dfw_stage_t *st, const uint8_t *hdr)
{
    idle_image_t im;
    im.size = dfw_le32_get(hdr + DFW_SO_BANK0_IMAGE_SIZE);
    im.crc = dfw_le32_get(hdr + DFW_SO_BANK0_IMAGE_CRC);
    im.pages = (uint32_t)(align_up_page(im.size) / DFW_PAGE_SIZE);
    im.start = st->bank1 - im.pages * DFW_PAGE_SIZE; /* bank 0 is page aligned */
    return im;
}

/* Copy test, page i of bank 1 [0, size): continue the CRC; equal to crc after the last page? */
static dfw_err_t copy_step(dfw_stage_t *st, const idle_image_t *im, uint32_t i, bool *stale)
{
    uint32_t off = i * DFW_PAGE_SIZE;
    uint32_t crc = i == 0u ? CRC32_INIT : st->settings_crc;
    dfw_err_t err = flash_crc(st, st->bank1 + off, min_u32(DFW_PAGE_SIZE, im->size - off), &crc);
    st->settings_crc = crc;
    *stale = err == DFW_OK && i + 1u == im->pages && crc == im->crc;
    return err;
}

/*
 * Search step i for the page at `ref` among the pages at cand + n * 4 KiB,
 * n = 1..count: step 0 takes ref's CRC, step n compares candidate n's.
 */
static dfw_err_t search_step(dfw_stage_t *st, uint32_t ref, uint32_t cand, uint32_t i,
                             uint32_t *found)
{
    uint32_t page = i == 0u ? ref : cand + i * DFW_PAGE_SIZE;
    uint32_t crc = CRC32_INIT;
    dfw_err_t err = flash_crc(st, page, DFW_PAGE_SIZE, &crc);
    *found = err == DFW_OK && i > 0u && crc == st->settings_crc ? page : 0u;
    if (i == 0u) {
        st->settings_crc = crc;
    }
    return err;
}

/*
 * Scan step s: page 0 blank?, the copy test (a step per page), then the two
 * searches. *proof: the bank-1 page a shrunk match found, else 0. *end: there
 * is no step s (every test failed).
 */
static dfw_err_t scan_step(dfw_stage_t *st, const idle_image_t *im, uint32_t s, bool *stale,
                           uint32_t *proof, bool *end)
{
    uint32_t area = st->size / DFW_PAGE_SIZE;
    const struct {
        uint32_t ref, cand, count;
    } search[2] = {
        /* grown: bank 1's page 0 among bank 0's pages 1..pages-1 */
        {st->bank1, im->start, im->pages > 1u ? im->pages - 1u : 0u},
        /* shrunk: bank 0's page 0 among bank 1's pages 1..area-pages (the copy fitted) */
        {im->start, st->bank1, im->pages > 0u && area > im->pages ? area - im->pages : 0u},
    };
    uint32_t copy = im->size <= st->size ? im->pages : 0u;
    *proof = 0;
    *end = false;
    if (s == 0u) {
        return page_blank(st, st->bank1, stale);
    }
    if (--s < copy) {
        return copy_step(st, im, s, stale);
    }
    s -= copy;
    for (uint32_t i = 0; i < 2u; i++) {
        uint32_t count = search[i].count;
        if (count > 0u && s <= count) {
            uint32_t found;
            dfw_err_t err = search_step(st, search[i].ref, search[i].cand, s, &found);
            *stale = found != 0u;
            *proof = i == 1u ? found : 0u;
            return err;
        }
        s -= count > 0u ? count + 1u : 0u;
    }
    *end = true;
    return DFW_OK;
}

/*
 * One page of the verdict scan; sets idle_keep once decided. A shrunk
 * layout's proof (the staged copy's first page) is erased at once: it would
 * still match after a new session had overwritten bank 1 below it and been
 * cut, and that session's bytes must then be kept. `hdr` is read before
 * flash_crc() reuses the batch it lives in.
 */
static dfw_err_t idle_scan(dfw_stage_t *st, const uint8_t *hdr)
{
    idle_image_t im = running_image(st, hdr);
    bool stale = false, end = false, erased = false;
    uint32_t proof = 0;
    dfw_err_t err = scan_step(st, &im, st->programmed++, &stale, &proof, &end);
    if (err == DFW_OK && proof != 0u) {
        err = blank_page(st, proof, &erased);
    }
    if (err == DFW_OK && (stale || end)) {
        st->idle_keep = stale ? IDLE_STALE : IDLE_KEEP;
    }
    return err;
}

/* Blank the next non-blank page of the staging area from `next` on: at most one erase. */
static dfw_err_t idle_erase_next(dfw_stage_t *st, uint32_t next, bool *more)
{
    uint32_t end = st->bank1 + st->size;
    bool erased = false;
    for (next = next < st->bank1 ? st->bank1 : next; next < end && !erased; next += DFW_PAGE_SIZE) {
        dfw_err_t err = blank_page(st, next, &erased);
        if (err != DFW_OK) {
            return err;
        }
    }
    *more = next < end;
    st->erased_end = *more ? next : IDLE_DONE;
    return DFW_OK;
}

dfw_err_t dfw_stage_idle_erase(dfw_stage_t *st, const dfw_hal_t *hal, const dfw_layout_t *layout,
                               bool may_discard, bool *more)
{
    if (more != NULL) {
        *more = false;
    }
    if (more == NULL || st == NULL || !hal_ok(hal) || !layout_ok(layout)) {
        return DFW_ERR_PARAM;
    }
    if (st->phase != DFW_PHASE_IDLE) {
        return st->phase == DFW_PHASE_FAILED ? DFW_ERR_ABORTED : DFW_ERR_STATE;
    }
    uint32_t next = st->erased_end; /* 0 on the first call */
    if (next == IDLE_DONE) {
        return DFW_OK;
    }
    st->erased_end = IDLE_DONE; /* whatever goes wrong below ends idle erasing */
    st->hal = *hal;
    st->layout = *layout;
    bool is_free = false;
    const uint8_t *hdr = NULL;
    dfw_err_t err = idle_area(st, &is_free, &hdr);
    if (err != DFW_OK || !is_free) {
        return err;
    }
    if (may_discard || st->idle_keep == IDLE_STALE) {
        return idle_erase_next(st, next, more);
    }
    if (st->idle_keep == IDLE_UNKNOWN && (err = idle_scan(st, hdr)) != DFW_OK) {
        return err;
    }
    st->erased_end = next; /* not done: scanning, or ask again when the caller may discard */
    *more = st->idle_keep != IDLE_KEEP;
    return DFW_OK;
}

/* ------------------------------------------------------------------ accessors */

void dfw_stage_init(dfw_stage_t *st)
{
    if (st != NULL) {
        memset(st, 0, sizeof(*st));
        st->phase = DFW_PHASE_IDLE;
    }
}

uint8_t *dfw_stage_dat_buf(dfw_stage_t *st)
{
    return st != NULL ? st->dat : NULL;
}

uint32_t dfw_stage_next_offset(const dfw_stage_t *st)
{
    return st != NULL ? st->received : 0u;
}

uint32_t dfw_stage_running_crc(const dfw_stage_t *st)
{
    return st != NULL ? st->crc : 0u;
}

uint32_t dfw_stage_bank1_addr(const dfw_stage_t *st)
{
    return st != NULL ? st->bank1 : 0u;
}

uint32_t dfw_stage_image_size(const dfw_stage_t *st)
{
    return st != NULL ? st->size : 0u;
}

dfw_phase_t dfw_stage_phase(const dfw_stage_t *st)
{
    return st != NULL ? (dfw_phase_t)st->phase : DFW_PHASE_IDLE;
}

int dfw_stage_hal_rc(const dfw_stage_t *st)
{
    return st != NULL ? st->hal_rc : 0;
}

const char *dfw_strerror(dfw_err_t err)
{
    switch (err) {
    case DFW_OK:
        return "ok";
    case DFW_RESET_REQUIRED:
        return "update staged; reset required";
    case DFW_ERR_INITCMD_SIZE:
        return "init packet empty or larger than 512 bytes";
    case DFW_ERR_INITCMD_MALFORMED:
        return "init packet is not a decodable dfu.Packet";
    case DFW_ERR_INITCMD_INVALID:
        return "init packet lacks type, SHA-256 hash or image size";
    case DFW_ERR_UNSUPPORTED_TYPE:
        return "only APPLICATION packages can be staged from the app";
    case DFW_ERR_NO_SPACE:
        return "image does not fit between bank 1 and the app data area";
    case DFW_ERR_OFFSET:
        return "data not at the expected offset";
    case DFW_ERR_OVERRUN:
        return "data beyond the image size";
    case DFW_ERR_INCOMPLETE:
        return "image incomplete";
    case DFW_ERR_CRC_MISMATCH:
        return "staged data does not match the given CRC";
    case DFW_ERR_SETTINGS_CRC:
        return "bootloader settings page has a bad CRC";
    case DFW_ERR_SETTINGS_VERSION:
        return "bootloader settings page is not version 2";
    case DFW_ERR_SETTINGS_CHANGED:
        return "bootloader settings page changed during the update";
    case DFW_ERR_FLASH:
        return "flash operation failed";
    case DFW_ERR_VERIFY:
        return "flash read-back does not match";
    case DFW_ERR_ABORTED:
        return "stage aborted by an earlier failure";
    case DFW_ERR_PARAM:
        return "invalid argument";
    case DFW_ERR_STATE:
        return "call not allowed in this state";
    }
    return "unknown error";
}
