/*
 * nrf52_port.h - board configuration and the internal API of the nRF52 port
 * (flash_nvmc.c, uarte.c, startup.c, main.c). Not a public device_fw header.
 *
 * Every board value is #ifndef-guarded: override with -D (CMake:
 * target_compile_definitions on dfuart-nrf52832-example) instead of editing.
 * Defaults are the nRF52 DK (PCA10040) wiring that Nordic's serial DFU uses
 * (spec nrf5-bootloader.md §10.1): 115200 8N1, RTS/CTS on.
 */
#ifndef NRF52_PORT_H
#define NRF52_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "device_fw/dfw_hal.h"
#include "nrf52_regs.h"

/* ---- board configuration ---------------------------------------------- */

#ifndef NRF52_UART_PIN_RXD
#define NRF52_UART_PIN_RXD 8u
#endif
#ifndef NRF52_UART_PIN_TXD
#define NRF52_UART_PIN_TXD 6u
#endif
#ifndef NRF52_UART_PIN_CTS
#define NRF52_UART_PIN_CTS 7u
#endif
#ifndef NRF52_UART_PIN_RTS
#define NRF52_UART_PIN_RTS 5u
#endif
/* One of the UARTE_BAUD_* register values from nrf52_regs.h (115200 .. 1000000). */
#ifndef NRF52_UART_BAUD
#define NRF52_UART_BAUD UARTE_BAUD_115200
#endif
/*
 * RTS/CTS. Keep it on: the CPU stalls for up to ~90 ms during a flash page
 * erase (spec §9.1), and only flow control stops the host while it does. With
 * it off, the host must keep its window at 1 frame, or frames are lost (and
 * retried) whenever a page is erased.
 */
#ifndef NRF52_UART_HWFC
#define NRF52_UART_HWFC 1
#endif
/* NVIC priority 0 (highest) .. 7; nothing else in this example uses interrupts. */
#ifndef NRF52_UART_IRQ_PRIO
#define NRF52_UART_IRQ_PRIO 6u
#endif
/* A blocked transmitter (CTS held off, host gone) gives up after this long. */
#ifndef NRF52_UART_TX_TIMEOUT_MS
#define NRF52_UART_TX_TIMEOUT_MS 500u
#endif

/* Core clock after reset (HFCLK, crystal or RC): fixed on every nRF52. */
#define NRF52_CPU_HZ 64000000u

/* ---- startup.c / main.c ------------------------------------------------ */

/* Milliseconds since boot from SysTick (wraps after 49 days). */
uint32_t nrf52_millis(void);

/* Busy-wait at least `ms` milliseconds. */
void nrf52_delay_ms(uint32_t ms);

/* Reset the chip through SCB->AIRCR.SYSRESETREQ; never returns. */
__attribute__((noreturn)) void nrf52_system_reset(void);

/* ---- flash_nvmc.c -------------------------------------------------------- */

/* Non-zero HAL return codes of the NVMC backend (dfw_stage_hal_rc()). */
enum {
    NVMC_ERR_RANGE = 1, /* address range outside [0, flash_size) */
    NVMC_ERR_ALIGN = 2, /* unaligned word address, bad page address or zero length */
    /*
     * Block write-protected by BPROT. Returned instead of letting the NVMC
     * hard-fault. For the settings page it means the bootloader was built
     * without NRF_BL_DFU_ALLOW_UPDATE_FROM_APP (SDK 16.0+ protect it then).
     */
    NVMC_ERR_PROTECTED = 3,
};

/* State of one NVMC-backed flash; the caller owns it for as long as the HAL is used. */
typedef struct nvmc_flash {
    uint32_t flash_size; /* bytes of code flash (0x80000 on nRF52832 QFAA) */
} nvmc_flash_t;

/*
 * Fill `hal` with the NVMC implementation of dfw_hal_t, using `flash` (which
 * must outlive every use of `hal`) as its ctx. MUST NOT be used while a
 * SoftDevice is enabled (see flash_nvmc.c).
 */
void nvmc_flash_hal(dfw_hal_t *hal, nvmc_flash_t *flash, uint32_t flash_size);

/* ---- uarte.c ------------------------------------------------------------- */

/*
 * Receive callback: runs in the UARTE0 interrupt with `n` >= 1 bytes that are
 * valid only during the call. Must be short (it delays the next byte's DMA
 * re-arm; the hardware FIFO plus RTS/CTS absorbs a few byte times).
 */
typedef void (*uarte_rx_fn)(void *user, const uint8_t *bytes, size_t n);

/* Configure pins, baud and flow control from the NRF52_UART_* settings, enable
 * UARTE0 and start receiving into `on_rx`. Call once, with HFCLK running. */
void uarte_init(uarte_rx_fn on_rx, void *user);

/*
 * Send `n` bytes and return when the last one has left EasyDMA. Blocking, main
 * loop only (not from the RX callback). `data` may be in flash or RAM.
 * Returns 0, or -1 if the transmitter stalled for NRF52_UART_TX_TIMEOUT_MS
 * (CTS held off) and the rest was dropped.
 */
int uarte_tx(const uint8_t *data, size_t n);

/* Stop the transmitter and wait until the last byte is on the wire (before a reset). */
void uarte_tx_drain(void);

/* Receive errors (overrun, framing, break) seen since boot; for diagnostics. */
uint32_t uarte_rx_errors(void);

#endif
