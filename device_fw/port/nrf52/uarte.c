/*
 * uarte.c - UARTE0 for the dfuart link: interrupt-driven EasyDMA receive,
 * blocking EasyDMA transmit.
 *
 * Receive: two RX buffers. On ENDRX (buffer full) the interrupt points EasyDMA
 * at the other buffer and restarts it FIRST, then hands the full buffer to the
 * callback, so the hardware is already receiving the next bytes while the
 * protocol decoder runs. The restart is done by the ISR and not by the
 * ENDRX->STARTRX short on purpose: with the short, EasyDMA keeps draining the
 * hardware FIFO even when the ISR is late (e.g. the CPU is stalled by a 90 ms
 * page erase), re-using the last RXD.PTR and silently overwriting bytes not
 * yet consumed. Without the short a late ISR just leaves bytes in the FIFO:
 * with RTS/CTS the UARTE then holds the host off, without it the overrun is
 * reported (ERROR, counted) and the frame's CRC drops the damage.
 *
 * Buffer size: 1 byte, like Nordic's own serial DFU transport. EasyDMA only
 * reports bytes when a buffer is full (RXD.AMOUNT is valid after ENDRX), and a
 * request/reply protocol must see a frame's final 0x00 at once; a bigger
 * buffer would need an idle flush (a TIMER counting RXDRDY through PPI, then
 * STOPRX/RXTO/FLUSHRX) to return a partly filled buffer. Cost: one interrupt
 * per byte, negligible at 115200 baud; at 1 Mbaud (100k interrupts/s, each
 * with entry/exit and the decoder's per-byte work) an estimated quarter of
 * the 64 MHz CPU, not measured. That is the point to add the idle flush.
 *
 * Transmit: EasyDMA reads RAM only and at most 255 bytes per transfer on the
 * nRF52832, so replies are sent in chunks, through a small RAM copy when the
 * caller's bytes live in flash.
 */
#include <stdint.h>
#include <string.h>

#include "nrf52_port.h"

#define UARTE_RX_CHUNK  1u  /* bytes per EasyDMA RX buffer; see above before raising it */
#define UARTE_TX_BOUNCE 64u /* RAM copy for TX data that is not in RAM */

#define NRF52_RAM_START 0x20000000u
#define NRF52_RAM_END   0x20010000u /* nRF52832 QFAA: 64 KiB */

static struct {
    uarte_rx_fn on_rx;
    void *user;
    uint8_t rx_buf[2][UARTE_RX_CHUNK];
    uint8_t rx_cur; /* buffer EasyDMA is filling */
    volatile uint32_t rx_errors;
    uint8_t tx_bounce[UARTE_TX_BOUNCE];
} s_uarte;

/* Prototype for -Wmissing-prototypes; referenced from startup.c's vector table. */
void UARTE0_UART0_IRQHandler(void);

static void rx_arm(uint8_t idx)
{
    UARTE0_RXD_PTR = (uint32_t)(uintptr_t)s_uarte.rx_buf[idx];
    UARTE0_RXD_MAXCNT = UARTE_RX_CHUNK;
    UARTE0_TASKS_STARTRX = 1u;
}

void UARTE0_UART0_IRQHandler(void)
{
    if (UARTE0_EVENTS_ERROR != 0u) {
        nrf52_event_clear(&UARTE0_EVENTS_ERROR);
        UARTE0_ERRORSRC = UARTE0_ERRORSRC; /* write-1-to-clear what was seen */
        s_uarte.rx_errors++;
    }
    if (UARTE0_EVENTS_ENDRX != 0u) {
        nrf52_event_clear(&UARTE0_EVENTS_ENDRX);
        uint32_t n = UARTE0_RXD_AMOUNT;
        uint8_t full = s_uarte.rx_cur;
        s_uarte.rx_cur = (uint8_t)(full ^ 1u);
        rx_arm(s_uarte.rx_cur);
        if (n > 0u && n <= UARTE_RX_CHUNK) {
            s_uarte.on_rx(s_uarte.user, s_uarte.rx_buf[full], n);
        }
    }
}

static void pins_init(void)
{
    /* Idle-high outputs before the UARTE takes them, so the host sees no start bit. */
    GPIO_OUTSET = (1u << NRF52_UART_PIN_TXD) | (1u << NRF52_UART_PIN_RTS);
    GPIO_PIN_CNF(NRF52_UART_PIN_TXD) = GPIO_PIN_CNF_OUTPUT | GPIO_PIN_CNF_INPUT_DISCONNECT;
    GPIO_PIN_CNF(NRF52_UART_PIN_RXD) = GPIO_PIN_CNF_INPUT;
    UARTE0_PSEL_TXD = NRF52_UART_PIN_TXD;
    UARTE0_PSEL_RXD = NRF52_UART_PIN_RXD;
    if (NRF52_UART_HWFC) {
        GPIO_PIN_CNF(NRF52_UART_PIN_RTS) = GPIO_PIN_CNF_OUTPUT | GPIO_PIN_CNF_INPUT_DISCONNECT;
        /* Pull-up: an unconnected CTS reads "not clear", so TX waits instead of garbling. */
        GPIO_PIN_CNF(NRF52_UART_PIN_CTS) = GPIO_PIN_CNF_INPUT | GPIO_PIN_CNF_PULLUP;
        UARTE0_PSEL_RTS = NRF52_UART_PIN_RTS;
        UARTE0_PSEL_CTS = NRF52_UART_PIN_CTS;
    } else {
        UARTE0_PSEL_RTS = UARTE0_PSEL_DISCONNECT;
        UARTE0_PSEL_CTS = UARTE0_PSEL_DISCONNECT;
    }
}

static void irq_enable(void)
{
    uint32_t bit = 1u << UARTE0_IRQN;
    NVIC_IPR_BYTE(UARTE0_IRQN) = (uint8_t)(NRF52_UART_IRQ_PRIO << (8u - NVIC_PRIO_BITS));
    NVIC_ICPR0 = bit;
    NVIC_ISER0 = bit;
}

void uarte_init(uarte_rx_fn on_rx, void *user)
{
    s_uarte.on_rx = on_rx;
    s_uarte.user = user;
    s_uarte.rx_cur = 0u;
    pins_init();
    UARTE0_BAUDRATE = NRF52_UART_BAUD;
    UARTE0_CONFIG = NRF52_UART_HWFC ? UARTE0_CONFIG_HWFC : 0u; /* 8 data bits, no parity, 1 stop */
    UARTE0_ERRORSRC = UARTE0_ERRORSRC;
    UARTE0_EVENTS_ENDRX = 0u;
    UARTE0_EVENTS_ERROR = 0u;
    UARTE0_ENABLE = UARTE0_ENABLE_ENABLED;
    UARTE0_INTENSET = UARTE0_INT_ENDRX | UARTE0_INT_ERROR;
    irq_enable();
    rx_arm(0u);
}

static int ram_range(const uint8_t *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    return a >= NRF52_RAM_START && a <= NRF52_RAM_END && n <= NRF52_RAM_END - a;
}

/* One EasyDMA transfer of n (1..255) RAM bytes; 0 or -1 on timeout. */
static int tx_chunk(const uint8_t *ram, uint32_t n)
{
    UARTE0_EVENTS_ENDTX = 0u;
    UARTE0_TXD_PTR = (uint32_t)(uintptr_t)ram;
    UARTE0_TXD_MAXCNT = n;
    UARTE0_TASKS_STARTTX = 1u;
    uint32_t start = nrf52_millis();
    while (UARTE0_EVENTS_ENDTX == 0u) {
        if (nrf52_millis() - start > NRF52_UART_TX_TIMEOUT_MS) {
            uarte_tx_drain(); /* STOPTX ends the stalled transfer */
            return -1;
        }
    }
    return 0;
}

int uarte_tx(const uint8_t *data, size_t n)
{
    while (n > 0u) {
        const uint8_t *src = data;
        size_t k;
        if (ram_range(data, n)) {
            k = n < UARTE0_EASYDMA_MAXCNT ? n : UARTE0_EASYDMA_MAXCNT;
        } else {
            k = n < UARTE_TX_BOUNCE ? n : UARTE_TX_BOUNCE;
            memcpy(s_uarte.tx_bounce, data, k);
            src = s_uarte.tx_bounce;
        }
        if (tx_chunk(src, (uint32_t)k) != 0) {
            return -1;
        }
        data += k;
        n -= k;
    }
    return 0;
}

void uarte_tx_drain(void)
{
    UARTE0_EVENTS_TXSTOPPED = 0u;
    UARTE0_TASKS_STOPTX = 1u;
    uint32_t start = nrf52_millis();
    while (UARTE0_EVENTS_TXSTOPPED == 0u && nrf52_millis() - start < 10u) {
    }
    /*
     * TXSTOPPED can come while the last character is still being shifted out;
     * two character times (< 2 ms from 9600 baud up) make sure it is on the wire.
     */
    nrf52_delay_ms(2u);
}

uint32_t uarte_rx_errors(void)
{
    return s_uarte.rx_errors;
}
