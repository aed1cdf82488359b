/*
 * main.c - example nRF52832 application that takes firmware updates over
 * UARTE0 with the dfuart wire protocol (proto/PROTOCOL.md).
 *
 * What it does: starts the 64 MHz crystal and a 1 ms SysTick, wires the NVMC
 * flash HAL and the UARTE to a dfw_rx receiver laid out for the nRF52832
 * release bootloaders (DFW_LAYOUT_NRF52832), then loops: dfw_rx_tick(),
 * dfw_rx_poll(), and when nothing is queued dfw_rx_idle() (pre-erases one
 * stale bank-1 page per turn while no update is in progress), else sleep
 * until the next interrupt. When a COMMIT has staged an
 * update (DFW_RX_RESET) it lets the reply leave the UART and resets; the SDK
 * 15.3-17.1 bootloader (built with NRF_BL_DFU_ALLOW_UPDATE_FROM_APP=1) then
 * validates and activates bank 1.
 *
 * What it does not do: no SoftDevice (flash_nvmc.c explains why that matters),
 * no watchdog, no low-power tuning (DC/DC, UART off while idle), no chip
 * errata workarounds, no logging. A real product runs its own work in this
 * loop; dfw_rx_poll() then blocks for at most one page erase plus one frame's
 * programming (~100 ms worst case), or the COMMIT, and dfw_rx_idle() for at
 * most one page erase (~85 ms).
 */
#include <stdint.h>

#include "device_fw/dfw_hal.h"
#include "device_fw/dfw_rx.h"
#include "nrf52_port.h"

#define HFXO_START_TIMEOUT_MS 100u

static dfw_rx_t s_rx; /* ~5.0 KiB: two 2 KiB frame buffers and the staging state */
static nvmc_flash_t s_flash;
static volatile uint32_t s_ms;

void SysTick_Handler(void); /* vector table entry (startup.c) */

void SysTick_Handler(void)
{
    s_ms++;
}

uint32_t nrf52_millis(void)
{
    return s_ms;
}

void nrf52_delay_ms(uint32_t ms)
{
    uint32_t start = s_ms;
    while (s_ms - start <= ms) { /* <=: the first tick may come at once */
    }
}

static void systick_init(void)
{
    SYST_RVR = NRF52_CPU_HZ / 1000u - 1u;
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

/*
 * Run HFCLK from the crystal: the internal RC oscillator's tolerance is too
 * loose for reliable UART timing at high baud rates. A board without a
 * working crystal keeps running on the RC oscillator after the timeout.
 */
static void hfxo_start(void)
{
    CLOCK_EVENTS_HFCLKSTARTED = 0u;
    CLOCK_TASKS_HFCLKSTART = 1u;
    uint32_t start = nrf52_millis();
    while (CLOCK_EVENTS_HFCLKSTARTED == 0u && nrf52_millis() - start < HFXO_START_TIMEOUT_MS) {
    }
}

/* UARTE0 ISR -> receiver: decode and queue only (dfw_rx_input is ISR-safe). */
static void on_uart_rx(void *user, const uint8_t *bytes, size_t n)
{
    (void)dfw_rx_input(user, bytes, n);
}

/* Receiver -> UARTE0: replies, from dfw_rx_poll() in the main loop. */
static int link_tx(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    return uarte_tx(data, len);
}

static void receiver_init(void)
{
    static const dfw_layout_t layout = DFW_LAYOUT_NRF52832;
    const dfw_link_t link = {.ctx = NULL, .tx = link_tx};
    dfw_hal_t hal;
    nvmc_flash_hal(&hal, &s_flash, layout.flash_size);
    dfw_rx_init(&s_rx, &hal, &layout, &link); /* before the UART interrupt is on */
}

/*
 * Sleep until an interrupt. A frame queued between dfw_rx_poll() returning
 * IDLE and this WFI waits for the next interrupt: at most one SysTick (1 ms).
 */
static void wait_for_interrupt(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

int main(void)
{
    systick_init();
    hfxo_start();
    receiver_init();
    uarte_init(on_uart_rx, &s_rx);

    for (;;) {
        dfw_rx_tick(&s_rx, nrf52_millis());
        dfw_rx_event_t ev = dfw_rx_poll(&s_rx);
        if (ev == DFW_RX_RESET) {
            uarte_tx_drain(); /* the COMMIT reply must reach the host first */
            nrf52_system_reset();
        }
        /* Idle pre-erase one page per turn, so a frame never waits more than one erase. */
        if (ev == DFW_RX_IDLE && !dfw_rx_idle(&s_rx)) {
            wait_for_interrupt();
        }
    }
}
