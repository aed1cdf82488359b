/*
 * flash_nvmc.c - dfw_hal_t on the nRF52 NVMC, for an application running
 * WITHOUT an enabled SoftDevice (spec nrf5-bootloader.md §9.1).
 *
 * Sequence per operation: wait READY, set CONFIG (erase or write enable), do
 * the work, wait READY, set CONFIG back to read-only. CONFIG is never left
 * writable: a stray store into flash then just does nothing, instead of
 * programming a word. The CPU stalls while the NVMC works when code runs from
 * flash (up to ~90 ms per page erase), so every call is synchronous, as the
 * dfw_hal_t contract requires; interrupts are left enabled and simply run late.
 *
 * Why this file must not be used while a SoftDevice is enabled (spec §9.3):
 * the SoftDevice owns the NVMC (it protects the peripheral's registers) and
 * times flash operations between radio events. An application that writes
 * NVMC registers itself gets the SoftDevice's fault handler
 * (NRF_FAULT_ID_APP_MEMACC), i.e. a reset in a release build. With a
 * SoftDevice, implement the same three callbacks on the SoftDevice API instead:
 *
 *   write_words(ctx, addr, words, n):
 *       rc = sd_flash_write((uint32_t *)addr, words, n);     n <= 1024 words
 *       NRF_ERROR_BUSY -> another flash operation is pending: retry later.
 *       NRF_SUCCESS    -> the call returned at once; wait for the one SoC event
 *                         NRF_EVT_FLASH_OPERATION_SUCCESS (return 0) or
 *                         _ERROR (the radio left no time slot: retry a few
 *                         times, then return non-zero). `words` stays
 *                         untouched until then, as the dfw_hal_t contract
 *                         already guarantees.
 *   erase_page(ctx, addr): sd_flash_page_erase(addr / 4096), same waiting.
 *   read(ctx, addr, dst, len): plain memory reads, as here.
 *
 * The wait must keep SoC events flowing: either pull them with sd_evt_get()
 * in the wait loop, or (with the SDK's event dispatch) run dfw_rx_poll() from
 * a context below the SoftDevice event interrupt and spin on a flag the SoC
 * event observer sets. The linker script then also changes: FLASH ORIGIN =
 * SoftDevice end (0x26000 for S132 7.x) and RAM ORIGIN = the SoftDevice's RAM
 * requirement (sd_ble_enable() reports it); see README.md.
 */
#include <stdint.h>

#include "nrf52_port.h"

#define NVMC_PAGE_SIZE 4096u

static void nvmc_wait_ready(void)
{
    while ((NVMC_READY & NVMC_READY_READY) == 0u) {
    }
}

static void nvmc_set_config(uint32_t mode)
{
    nvmc_wait_ready();
    NVMC_CONFIG = mode;
    nrf52_dsb(); /* the mode must be set before the first store into flash */
}

/* [addr, addr + len) lies inside the flash; written so it cannot overflow. */
static int nvmc_in_range(const nvmc_flash_t *f, uint32_t addr, uint32_t len)
{
    return addr <= f->flash_size && len <= f->flash_size - addr;
}

/*
 * Is the 4 KiB block holding `addr` write-protected (nRF52832 BPROT)? Checked
 * before every write and erase: the hardware would hard-fault, which the
 * dfw_hal_t contract forbids. Under a debugger BPROT may be inactive
 * (DISABLEINDEBUG), so this check can be stricter than the hardware there.
 */
static int nvmc_protected(uint32_t addr)
{
    static volatile uint32_t *const config[4] = {&BPROT_CONFIG0, &BPROT_CONFIG1, &BPROT_CONFIG2,
                                                 &BPROT_CONFIG3};
    uint32_t block = addr / NVMC_PAGE_SIZE;
    if (block >= 128u) {
        return 0; /* beyond the 512 KiB BPROT covers */
    }
    return ((*config[block / 32u] >> (block % 32u)) & 1u) != 0u;
}

static int nvmc_read(void *ctx, uint32_t addr, void *dst, uint32_t len)
{
    const nvmc_flash_t *f = ctx;
    if (!nvmc_in_range(f, addr, len)) {
        return NVMC_ERR_RANGE;
    }
    /*
     * Byte loop through a volatile pointer, not memcpy(): address 0 (the MBR)
     * is valid flash here, and the compiler may assume a dereferenced null
     * pointer cannot happen. 4 KiB at 64 MHz is a few tens of microseconds.
     */
    const volatile uint8_t *src = (const volatile uint8_t *)(uintptr_t)addr;
    uint8_t *out = dst;
    for (uint32_t i = 0; i < len; i++) {
        out[i] = src[i];
    }
    return 0;
}

static int nvmc_write_words(void *ctx, uint32_t addr, const uint32_t *words, uint32_t n_words)
{
    const nvmc_flash_t *f = ctx;
    if (n_words == 0u || n_words > NVMC_PAGE_SIZE / 4u || (addr & 3u) != 0u) {
        return NVMC_ERR_ALIGN;
    }
    if (!nvmc_in_range(f, addr, n_words * 4u)) {
        return NVMC_ERR_RANGE;
    }
    if (nvmc_protected(addr) || nvmc_protected(addr + n_words * 4u - 1u)) {
        return NVMC_ERR_PROTECTED;
    }
    nvmc_set_config(NVMC_CONFIG_WEN);
    volatile uint32_t *dst = (volatile uint32_t *)(uintptr_t)addr;
    for (uint32_t i = 0; i < n_words; i++) {
        dst[i] = words[i]; /* one 32-bit store = one word programmed */
        nvmc_wait_ready();
    }
    nvmc_set_config(NVMC_CONFIG_REN);
    return 0;
}

static int nvmc_erase_page(void *ctx, uint32_t page_addr)
{
    const nvmc_flash_t *f = ctx;
    if ((page_addr % NVMC_PAGE_SIZE) != 0u) {
        return NVMC_ERR_ALIGN;
    }
    if (!nvmc_in_range(f, page_addr, NVMC_PAGE_SIZE)) {
        return NVMC_ERR_RANGE;
    }
    if (nvmc_protected(page_addr)) {
        return NVMC_ERR_PROTECTED;
    }
    nvmc_set_config(NVMC_CONFIG_EEN);
    NVMC_ERASEPAGE = page_addr;
    nvmc_wait_ready();
    nvmc_set_config(NVMC_CONFIG_REN);
    return 0;
}

void nvmc_flash_hal(dfw_hal_t *hal, nvmc_flash_t *flash, uint32_t flash_size)
{
    flash->flash_size = flash_size;
    hal->ctx = flash;
    hal->page_size = NVMC_PAGE_SIZE;
    hal->read = nvmc_read;
    hal->write_words = nvmc_write_words;
    hal->erase_page = nvmc_erase_page;
}
