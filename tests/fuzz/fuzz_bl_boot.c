/*
 * fuzz_bl_boot.c - the SDK 17.1 bootloader replay (emulator/bl_boot.h) on an
 * arbitrary settings page, over a realistic device that has an update staged:
 * the fuzz_device.h nRF52832 (S132, app_s132 v1) whose application staged
 * app_signed_v2 in bank 1 through device_fw, so a page close to the staged
 * one activates a 50 KB image in two copy steps. The flash is snapshotted
 * once and restored before every run.
 *
 * Input: [ctl][settings page: up to 896 bytes, padded with 0xFF].
 *   ctl bit 0: the page is also written as the backup (a "crafted" device);
 *       bit 1: recompute the page's CRCs first (gets past the CRC gate);
 *       bit 2: erase the backup instead (also crafted: the page is trusted);
 *       bits 3-4: SDK 15.3 / 16.0 / 17.0 / 17.1;
 *       bit 5: stock profile (no update from the app);
 *       bit 6: debug bootloader;  bit 7: app signature required.
 * Without bits 0 and 2 the backup is the device's genuine one, as on a real
 * nRF52 where the application cannot write the backup page.
 *
 * Invariants:
 *  - the replay settles: never POWER_LOST (no cut is armed) nor a reset
 *    loop, and every flash fault it hit is the bootloader's and reported as
 *    BL_STATE_FAULT;
 *  - no word is programmed with a value that needs a 0->1 change (the
 *    replay erases before it writes);
 *  - BL_STATE_APP means the app really passes boot validation against the
 *    settings the replay left (CRC recomputed with zlib, SHA-256, ECDSA);
 *  - with the genuine backup (a device whose app can only write the main
 *    page) it also never faults and writes only what a bootloader may: the
 *    MBR words 0xFF8/0xFFC, bank 0 (from 0x1000 when an MBR-only bootloader
 *    deletes the SoftDevice), the settings and backup pages - never the
 *    app-data area, the bootloader or the rest of the MBR page; bank 1 is
 *    only read: changes in [0x1000, app data) lie in the copy destination
 *    (plus the SD magic word), none at all when nothing was copied.
 *    A crafted page is trusted whole by the SDK, which then copies wherever
 *    it says (spec 7.2, no bounds check), so crafted runs are held only to
 *    the first two invariants.
 */
#include "emulator/bl_settings.h"
#include "fuzz_device.h"

static emu_device_t *dev;
static uint8_t *snapshot;
static bl_config_t cfg0;
static uint32_t flash_size;
static uint8_t orig_settings[BL_SETTINGS_SIZE], orig_backup[BL_SETTINGS_SIZE];
static bool verbose; /* FUZZ_VERBOSE=1: print the replay's report (to follow one input) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dev = fuzz_device_new();
    fuzz_pkg_t v2;
    fuzz_pkg_load(&v2, "app_signed_v2.zip", "app_v2.bin");
    fuzz_device_stage(dev, &v2);
    fuzz_pkg_free(&v2);
    cfg0 = dev->cfg;
    flash_size = flash_chip(dev->flash)->size;
    snapshot = malloc(flash_size);
    FUZZ_CHECK(snapshot, "out of memory");
    memcpy(snapshot, flash_bytes(dev->flash), flash_size);
    memcpy(orig_settings, snapshot + cfg0.settings_addr, BL_SETTINGS_SIZE);
    memcpy(orig_backup, snapshot + cfg0.backup_addr, BL_SETTINGS_SIZE);
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    return 0;
}

static bool in_range(uint32_t a, uint32_t lo, uint32_t hi)
{
    return a >= lo && a < hi;
}

/* Where any bootloader may write (spec 1.1, 3.2, 7.2). */
static bool bl_may_write(uint32_t a)
{
    return in_range(a, EMU_MBR_BL_ADDR, EMU_MBR_SIZE) ||
           in_range(a, EMU_MBR_SIZE, fuzz_app_data_start(dev)) ||
           in_range(a, cfg0.settings_addr, cfg0.settings_addr + EMU_PAGE) ||
           in_range(a, cfg0.backup_addr, cfg0.backup_addr + EMU_PAGE);
}

static void check_writes(const bl_boot_report_t *rep, bool genuine)
{
    const uint8_t *now = flash_bytes(dev->flash);
    uint32_t app_data = fuzz_app_data_start(dev);
    for (size_t i = 0; i < flash_fault_count(dev->flash); i++) {
        const flash_fault_t *ft = flash_fault_at(dev->flash, i);
        FUZZ_CHECK(!ft || ft->actor == FLASH_ACTOR_BOOTLOADER, "fault by %s",
                   flash_actor_name(ft->actor));
    }
    FUZZ_CHECK(flash_fault_count(dev->flash) == 0 || rep->state == BL_STATE_FAULT,
               "%zu flash fault(s) but the replay reports %s", flash_fault_count(dev->flash),
               bl_state_name(rep->state));
    /*
     * A crafted page (both pages forged, or the backup erased) is trusted as a whole, and the
     * SDK's app_activate() copies wherever it says: src < dst underflows the gap, release
     * builds have no ASSERT (spec 7.2). The replay faithfully does the same, so the location
     * invariants below hold only with the genuine backup, as on a real device.
     */
    if (!genuine)
        return;
    /* Compare pages first (fast), then the bytes of the pages that differ. */
    for (uint32_t page = 0; page < flash_size; page += EMU_PAGE) {
        if (memcmp(now + page, snapshot + page, EMU_PAGE) == 0)
            continue;
        for (uint32_t a = page; a < page + EMU_PAGE; a++)
            FUZZ_CHECK(now[a] == snapshot[a] || bl_may_write(a), "bootloader changed 0x%05X", a);
    }
    fuzz_check_no_fault(dev, "bootloader (genuine backup)");
    /* Bank 0/1 area: only the copy destination, and the SD magic word (MBR-only invalidate). */
    uint32_t lo = 0, hi = 0;
    if (rep->copied_bytes > 0) {
        lo = rep->bank0_start;
        hi = rep->bank0_start + ((rep->copied_bytes + EMU_PAGE - 1u) & ~(EMU_PAGE - 1u));
    }
    for (uint32_t page = EMU_MBR_SIZE; page < app_data; page += EMU_PAGE) {
        if (memcmp(now + page, snapshot + page, EMU_PAGE) == 0)
            continue;
        for (uint32_t a = page; a < page + EMU_PAGE; a++)
            FUZZ_CHECK(now[a] == snapshot[a] || in_range(a, lo, hi) ||
                           in_range(a, EMU_SD_MAGIC_ADDR, EMU_SD_MAGIC_ADDR + 4),
                       "bootloader changed 0x%05X outside the copy destination [0x%X, 0x%X)", a, lo,
                       hi);
    }
}

/* Lay a page at `addr` into the device and into `snapshot`, which is this run's "before". */
static void put_page(uint32_t addr, const uint8_t *bytes, size_t n)
{
    FUZZ_CHECK(flash_load(dev->flash, addr, bytes, (uint32_t)n) == FLASH_OK, "load 0x%X", addr);
    memcpy(snapshot + addr, bytes, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t ctl = fuzz_u8(&in);
    uint8_t page[BL_SETTINGS_SIZE];
    size_t got;
    const uint8_t *p = fuzz_take(&in, sizeof(page), &got);
    memset(page, 0xFF, sizeof(page));
    memcpy(page, p, got);
    if (ctl & 2)
        bl_settings_update_crcs(page);

    FUZZ_CHECK(flash_load_raw(dev->flash, snapshot, flash_size) == FLASH_OK, "restore");
    put_page(cfg0.settings_addr, page, sizeof(page));
    bool genuine = !(ctl & 5);
    if (ctl & 1) {
        put_page(cfg0.backup_addr, page, sizeof(page));
    } else if (ctl & 4) {
        uint8_t erased[BL_SETTINGS_SIZE];
        memset(erased, 0xFF, sizeof(erased));
        put_page(cfg0.backup_addr, erased, sizeof(erased));
    }
    static const bl_sdk_t sdks[] = {BL_SDK_15_3, BL_SDK_16_0, BL_SDK_17_0, BL_SDK_17_1};
    dev->cfg = cfg0;
    dev->cfg.sdk = sdks[(ctl >> 3) & 3];
    dev->cfg.allow_update_from_app = !(ctl & 0x20);
    dev->cfg.debug_build = (ctl & 0x40) != 0;
    dev->cfg.app_signature_required = (ctl & 0x80) != 0;
    flash_clear_logs(dev->flash);
    flash_stats_t st0, st;
    flash_get_stats(dev->flash, &st0);

    bl_boot_report_t rep;
    bl_boot_run(dev, &rep);
    if (verbose)
        fprintf(stderr, "boot: %s, update %s, settings %s, resets %u, copied %u, %s%s\n",
                bl_state_name(rep.state), bl_update_name(rep.update),
                bl_settings_load_name(rep.settings_load), rep.resets, rep.copied_bytes,
                rep.reason ? rep.reason : "", rep.note);
    FUZZ_CHECK(rep.state != BL_STATE_POWER_LOST, "power lost without a cut");
    FUZZ_CHECK(rep.state != BL_STATE_LOOP, "reset loop after %u resets (update %s, %s)", rep.resets,
               bl_update_name(rep.update), rep.reason ? rep.reason : "-");
    check_writes(&rep, genuine);
    flash_get_stats(dev->flash, &st); /* programming only clears bits; erases come first */
    FUZZ_CHECK(st.lost_bits == st0.lost_bits, "bootloader programmed %llu word(s) needing 0->1",
               (unsigned long long)(st.lost_bits - st0.lost_bits));
    if (rep.state == BL_STATE_APP)
        fuzz_check_app_bootable(dev, "bootloader replay");

    memcpy(snapshot + cfg0.settings_addr, orig_settings, BL_SETTINGS_SIZE);
    memcpy(snapshot + cfg0.backup_addr, orig_backup, BL_SETTINGS_SIZE);
    return 0;
}
