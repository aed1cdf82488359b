/*
 * dfw_stage.h - stage a firmware update in bank 1 from the running application.
 *
 * Implements spec §8.3 ("exact recipe for an application that writes bank 1
 * itself") for an nRF52 whose SDK 15.3-17.1 secure bootloader was built with
 * NRF_BL_DFU_ALLOW_UPDATE_FROM_APP=1:
 *
 *   dfw_stage_init(&st);
 *   dfw_stage_begin(&st, &hal, &layout, dat, dat_len);   // checks only, no flash writes
 *   dfw_stage_write(&st, offset, chunk, n);               // repeat, any chunking, in order
 *   dfw_stage_finish(&st, scratch);                       // verify, rewrite settings page
 *   -> DFW_RESET_REQUIRED: the caller resets (NVIC_SystemReset); the bootloader
 *      then validates the image (signature, versions, SHA-256) and activates it.
 *
 * Supported package types: APPLICATION only. Other types are refused by
 * dfw_stage_begin() with DFW_ERR_UNSUPPORTED_TYPE, before any flash work:
 *  - SOFTDEVICE / SOFTDEVICE_BOOTLOADER: the boot-time post-validation does run
 *    for them, but a major SoftDevice change invalidates bank 0, i.e. the very
 *    application that receives updates over the modem; a remote device would
 *    be left in DFU mode with no host to talk to. Activation also goes through
 *    rules (SD_ID match, bl_size <= BOOTLOADER_SIZE) this core would have to
 *    duplicate without being able to test them against a real MBR.
 *  - BOOTLOADER: activated through the MBR's COPY_BL; out of scope for the
 *    same reasons (no recovery path if it goes wrong in the field).
 *  - EXTERNAL_APPLICATION: never activated by the bootloader (bank code 0xB1).
 * Use the bootloader's own serial DFU for those.
 *
 * What the device checks (the bootloader checks the rest at boot, notably the
 * signature, hw/sd/fw versions and the SHA-256; none of that is repeated here):
 *  - the .dat decodes as the bootloader would decode it, has a type, a SHA-256
 *    hash and a non-zero size (checks every bootloader config makes);
 *  - the settings page has a valid CRC and is version 2 (else the bootloader
 *    would ignore our edit);
 *  - bank1 + size <= bootloader_start - app_data_size. The boot-time path does
 *    no space check (spec §8.2), so an oversized image would otherwise
 *    overwrite the app-data area.
 *
 * Flash discipline: bank 1 pages are made blank one by one just before the
 * first word is programmed into them, and only up to the image's last page:
 * a page is read first and erased only if some byte is not 0xFF (reads are
 * cheap, an erase is ~85 ms; the check is exact, so a page left almost blank
 * by a torn erase is erased). Only whole aligned words are programmed, each
 * at most once per erase; words of 0xFFFFFFFF are not programmed at all (the
 * blank page already holds them) but count for offsets and the CRC like any
 * other, and dfw_stage_finish() reads every byte back. The final partial word
 * is padded with 0xFF (so up to 3 bytes past bank1+size are "written" with
 * 0xFF). The only other page touched is the settings page, once, in
 * dfw_stage_finish(). The backup page, bank 0, the app-data area and the
 * bootloader are never written.
 *
 * Power loss: before finish, the settings page is untouched and the old
 * application keeps running. If power fails between the settings erase and
 * its programming, the main page is invalid and the bootloader restores the
 * backup (spec §2.5), again booting the old application.
 *
 * Resume:
 *  - Link loss, same boot: dfw_stage_next_offset() and dfw_stage_running_crc()
 *    give the device's real progress (bytes accepted and their CRC-32); the
 *    host continues with dfw_stage_write() at that offset.
 *  - Device reset: call dfw_stage_begin() again with the same .dat, then
 *    dfw_stage_resume() with the number of bytes the host believes are staged
 *    and their CRC-32. The device checks that flash holds exactly those bytes
 *    and continues from the start of the page holding that offset (that page
 *    may have been written further than the host knows, so it is re-erased:
 *    at most one page is resent, and no word is ever programmed twice). The
 *    blank check keeps this safe: a page holding any programmed bit, torn
 *    words included, is not blank and is erased; a page that reads all 0xFF
 *    holds nothing an erase would change.
 *
 * Idle pre-erase (dfw_stage_idle_erase): between stages the caller may let
 * the stage erase bank 1 ahead of time, one non-blank page of
 * [bank1, bootloader_start - app_data_size) per call, so a later update finds
 * blank pages and skips their erases. Only when the settings page is valid
 * and says bank 1 is free: bank_current 0 (no update pending), bank_0 a valid
 * application (the bootloader started us, so bank 1 lies past our code) and
 * bank_1 empty (bank code 0: not an external application the app still
 * needs). Bank 1 may also hold an update interrupted by a power cut, which the
 * host will RESUME (its bytes are not yet in the settings page): idle erasing
 * starts only when bank 1 provably holds nothing worth keeping, or when the
 * caller passes may_discard (dfw_rx: no byte from a host for DFW_RX_DISCARD_S).
 * Provably nothing: what an activation leaves, which an interrupted update
 * (it starts at bank 1's page 0 with the new image's page 0, its vector
 * table) never looks like. Bank 1 sits at ALIGN_UP_4K(bank0 + size), so an
 * activation that changed the size moved it; the staged copy started at the
 * old place and the activation copied it into bank 0. Pages are compared by
 * the CRC-32 of the whole 4 KiB page:
 *  - its first page is blank;
 *  - same size: it starts with a copy of the running image (CRC over the
 *    image's size, against bank_0's CRC in the settings; the first page
 *    alone proves nothing: a new build often starts like the old one);
 *  - the image grew by k pages: its page 0 equals the running image's page
 *    k, for some k in 1..pages(image)-1 (the staged copy's tail);
 *  - the image shrank by j pages: its page j equals the running image's page
 *    0, for some j in 1..pages(area)-pages(image) (the staged copy, which
 *    fitted below the app data; the pages before it hold the old image's
 *    tail). That page is erased first, so that an update started before the
 *    pre-erase reached it and cut short of it is not taken for this layout
 *    (one that starts during the scan itself, within ~0.2 s of the boot, and
 *    is cut before page j still would be: it then restarts from 0).
 * The verdict scan takes one page CRC per call (~1 ms on a 64 MHz M4), about
 * one per page between bank 0 and the app data, and then erasing starts.
 * A power cut during an idle erase leaves a torn page that is
 * not blank, so the next idle pass or staging erases it again. Like staging,
 * it assumes this state is the only writer of bank 1.
 *
 * Ownership: the state is caller-allocated and holds copies of the HAL
 * struct, the layout and the .dat, so none of those need to outlive
 * dfw_stage_begin() (hal->ctx must stay valid while the stage is used). A
 * caller that receives the .dat piecewise may assemble it directly in the
 * stage's own copy (dfw_stage_dat_buf()) instead of keeping a second 512-byte
 * buffer. No heap, no globals: any number of stages can run in one process.
 * Not thread-safe: one caller at a time per state.
 *
 * RAM: sizeof(dfw_stage_t) = 4 * max(DFW_WRITE_BATCH_WORDS, 23) +
 * DFW_INITCMD_MAX_SIZE + 84 bytes: 724 bytes on Cortex-M4 with the defaults
 * (arm-none-eabi-gcc 12). dfw_stage_finish() also needs an 896-byte, 4-byte
 * aligned scratch buffer from the caller (e.g. the idle modem receive
 * buffer), only during the call. Stack (GCC 12 -Os, -fstack-usage): about
 * 370 bytes worst case, in dfw_stage_begin() while it decodes the .dat (the
 * settings header is read into the state, not the stack); about 210 bytes in
 * write/finish (88 of them in the blank check), about 200 in idle_erase and
 * under 100 in resume; plus whatever the HAL needs.
 */
#ifndef DEVICE_FW_DFW_STAGE_H
#define DEVICE_FW_DFW_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_fw/dfw_config.h"
#include "device_fw/dfw_err.h"
#include "device_fw/dfw_hal.h"
#include "device_fw/dfw_settings.h"

typedef enum dfw_phase {
    DFW_PHASE_IDLE = 0,  /* after dfw_stage_init() or a refused dfw_stage_begin() */
    DFW_PHASE_RECEIVING, /* begin succeeded; image bytes accepted */
    DFW_PHASE_DONE,      /* finish succeeded; reset pending */
    DFW_PHASE_FAILED,    /* a flash/HAL failure aborted the stage */
} dfw_phase_t;

/* The batch doubles as a read buffer for the settings header (begin, idle pre-erase). */
#define DFW_STAGE_BUF_WORDS                                                                        \
    (DFW_WRITE_BATCH_WORDS > DFW_SETTINGS_HDR_LEN / 4u ? DFW_WRITE_BATCH_WORDS                     \
                                                       : DFW_SETTINGS_HDR_LEN / 4u)

/*
 * Staging state. Declared here so the caller can allocate it; fields private.
 * Between stages (phase IDLE), idle pre-erase keeps the staging area in
 * bank1/size and its progress in erased_end.
 */
typedef struct dfw_stage {
    dfw_hal_t hal;
    dfw_layout_t layout;
    uint32_t bank1;        /* absolute start of the staging area */
    uint32_t size;         /* image size (spec §5.3 step 6) */
    uint32_t received;     /* bytes accepted = next expected offset */
    uint32_t crc;          /* CRC-32 of image bytes [0, received) */
    uint32_t programmed;   /* bytes programmed (multiple of 4) */
    uint32_t erased_end;   /* absolute; pages in [bank1, erased_end) blank or programmed */
    uint32_t settings_crc; /* settings page crc word seen by begin */
    int hal_rc;            /* last non-zero HAL return value */
    uint16_t dat_len;
    uint8_t phase; /* dfw_phase_t */
    uint8_t tail_len;
    uint8_t tail[4]; /* image bytes of the next, incomplete word */
    uint16_t batch_n;
    uint8_t idle_keep; /* idle pre-erase verdict on bank 1: 0 unknown, 1 stale, 2 keep */
    uint8_t reserved;
    uint32_t batch[DFW_STAGE_BUF_WORDS]; /* words waiting for one write_words() call */
    uint8_t dat[DFW_INITCMD_MAX_SIZE];   /* the .dat, written at finish; must stay last */
} dfw_stage_t;

/* Put `st` into DFW_PHASE_IDLE. Call once before anything else. */
void dfw_stage_init(dfw_stage_t *st);

/*
 * Start a new stage (from any phase; a previous stage is forgotten). Validates
 * the HAL and layout (DFW_ERR_PARAM), the .dat (DFW_ERR_INITCMD_SIZE,
 * _MALFORMED, _INVALID, DFW_ERR_UNSUPPORTED_TYPE), the settings page
 * (DFW_ERR_SETTINGS_CRC, _VERSION) and the space (DFW_ERR_NO_SPACE). Only
 * reads flash. On success the phase is RECEIVING with next offset 0. `dat`
 * is copied, unless it is dfw_stage_dat_buf(st) itself; it must not
 * otherwise overlap `st`.
 */
DFW_MUST_CHECK dfw_err_t dfw_stage_begin(dfw_stage_t *st, const dfw_hal_t *hal,
                                         const dfw_layout_t *layout, const uint8_t *dat,
                                         size_t dat_len);

/*
 * Accept image bytes [offset, offset + len). `offset` must equal
 * dfw_stage_next_offset(), else DFW_ERR_OFFSET (nothing changes; the expected
 * offset is dfw_stage_next_offset()). Bytes past the image size:
 * DFW_ERR_OVERRUN, nothing accepted. len 0 is a no-op. On return every
 * complete word accepted so far is in flash (programmed, or 0xFFFFFFFF left
 * as erased); at most 3 bytes wait in RAM.
 * DFW_ERR_FLASH: the HAL failed, the stage is FAILED (later calls return
 * DFW_ERR_ABORTED).
 */
DFW_MUST_CHECK dfw_err_t dfw_stage_write(dfw_stage_t *st, uint32_t offset, const uint8_t *data,
                                         size_t len);

/*
 * Complete the stage once every byte has arrived (else DFW_ERR_INCOMPLETE):
 * program the last partial word (0xFF padded), check the CRC-32 read back from
 * bank 1 against the running CRC (DFW_ERR_VERIFY), re-read the settings page
 * into `scratch` (must be unchanged since begin: DFW_ERR_SETTINGS_CHANGED),
 * apply dfw_settings_stage_app(), erase and program the settings page and read
 * it back (DFW_ERR_VERIFY). Returns DFW_RESET_REQUIRED on success: the caller
 * must reset the chip for the bootloader to act. On any error after the image
 * was accepted the stage is FAILED; the settings page is either untouched or
 * (failure after its erase) invalid, which the bootloader repairs from the
 * backup. `scratch` is DFW_SETTINGS_WORDS words, clobbered.
 */
DFW_MUST_CHECK dfw_err_t dfw_stage_finish(dfw_stage_t *st, uint32_t *scratch);

/*
 * Adopt bytes already in bank 1 (e.g. staged before a device reset): CRC-32 of
 * flash [bank1, bank1 + staged_len) must equal `staged_crc`, else
 * DFW_ERR_CRC_MISMATCH and nothing changes. On success the stage continues at
 * staged_len rounded down to a page boundary (read it with
 * dfw_stage_next_offset()); that page is re-erased when data arrives.
 * DFW_ERR_OVERRUN if staged_len > image size. Reads flash only.
 */
DFW_MUST_CHECK dfw_err_t dfw_stage_resume(dfw_stage_t *st, uint32_t staged_len,
                                          uint32_t staged_crc);

/*
 * The stage's own DFW_INITCMD_MAX_SIZE-byte .dat buffer (NULL if st is NULL).
 * A caller may assemble the init packet there and pass the same pointer to
 * dfw_stage_begin(), which then copies nothing. Write it only while no stage
 * is RECEIVING or DONE (it then holds the .dat that finish writes into the
 * settings page). dfw_stage_init() clears it; dfw_stage_begin(), a failed one
 * included, and dfw_stage_idle_erase() leave it alone.
 */
uint8_t *dfw_stage_dat_buf(dfw_stage_t *st);

/*
 * Idle pre-erase (see the top of this file): call between stages, i.e. in
 * phase IDLE after dfw_stage_init(), with the HAL and layout staging will
 * use, e.g. from the main loop while nothing else is pending. Each call reads
 * the settings page (a few hundred bytes) and, if bank 1 is free, looks for
 * the next page of the staging area that is not blank and erases it: at most
 * ONE erase (~85 ms on nRF52) per call, plus reads. *more is true while pages
 * may remain; once it is false, further calls do nothing and read nothing
 * until dfw_stage_init() or dfw_stage_begin() (which end idle erasing; pages
 * already erased are then skipped by the blank check). DFW_OK also when bank 1
 * is not free (update pending, no valid application, bank 1 in use): nothing
 * is erased, *more false; likewise while bank 1 may hold an interrupted
 * update and !may_discard. Without may_discard the verdict comes first: a
 * scan of one page CRC per call (*more true, no erase, except the shrunk
 * layout's staged copy at the call that finds it), computed once per pass
 * and cached; with may_discard erasing starts at once. Errors (*more false): DFW_ERR_PARAM
 * (NULL, bad HAL or layout), DFW_ERR_STATE (a stage is RECEIVING or DONE), DFW_ERR_ABORTED
 * (FAILED), DFW_ERR_SETTINGS_CRC/_VERSION (unusable settings page: nothing
 * touched), DFW_ERR_NO_SPACE (bank 1 would start past the app data),
 * DFW_ERR_FLASH (a HAL call failed: the stage is FAILED, so idle erasing
 * stops until dfw_stage_init()). Never touches anything outside
 * [bank1, bootloader_start - app_data_size) and never programs.
 */
DFW_MUST_CHECK dfw_err_t dfw_stage_idle_erase(dfw_stage_t *st, const dfw_hal_t *hal,
                                              const dfw_layout_t *layout, bool may_discard,
                                              bool *more);

/*
 * Where the bootloader places bank 1 (spec §1.2, §3.2) and how many image
 * bytes fit there below the app data: `sd_info` is the 8 bytes read at
 * DFW_SD_MAGIC_ADDR (magic, SD size), `bank0_size` the settings page's
 * bank_0.image_size. False (outputs untouched) when nothing can be staged: a
 * corrupt SD size puts bank 0 below the MBR end, or bank 1 starts past the
 * app data. Pure: dfw_stage_begin() and the receiver's INFO both use it, so
 * the two can never disagree.
 */
bool dfw_bank1_place(const uint8_t sd_info[8], uint32_t bank0_size, const dfw_layout_t *layout,
                     uint32_t *bank1, uint32_t *room);

/* Progress and facts; meaningful after a successful dfw_stage_begin(). */
uint32_t dfw_stage_next_offset(const dfw_stage_t *st);
uint32_t dfw_stage_running_crc(const dfw_stage_t *st);
uint32_t dfw_stage_bank1_addr(const dfw_stage_t *st);
uint32_t dfw_stage_image_size(const dfw_stage_t *st);
dfw_phase_t dfw_stage_phase(const dfw_stage_t *st);
int dfw_stage_hal_rc(const dfw_stage_t *st); /* last HAL error code, 0 if none */

#endif
