/*
 * nrf52_regs.h - the few nRF52832 and Cortex-M4 registers the dfuart example
 * firmware touches, written for this port from the nRF52832 Product
 * Specification v1.4 and the Armv7-M Architecture Reference Manual.
 *
 * Deliberately not the vendor's MDK: no structs with reserved padding arrays,
 * just one volatile lvalue per register at its absolute address, so each line
 * can be checked against the PS register table on its own. Only what the port
 * uses is here; add registers next to their peripheral, with the PS offset.
 *
 * Conventions (PS §"Peripheral interface"): writing 1 to a TASKS_* register
 * starts the task; an EVENTS_* register reads 1 once the event happened and is
 * cleared by writing 0 (the write must reach the peripheral before the ISR
 * returns, or the interrupt fires again: see nrf52_event_clear()).
 * Peripheral ID = bits 12..17 of the base address = its IRQ number.
 */
#ifndef NRF52_REGS_H
#define NRF52_REGS_H

#include <stdint.h>

#define NRF52_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ------------------------------------------------------------------------ */
/* CLOCK (base 0x40000000, ID 0, IRQ shared with POWER)                       */
/* ------------------------------------------------------------------------ */
#define CLOCK_BASE                0x40000000u
#define CLOCK_TASKS_HFCLKSTART    NRF52_REG(CLOCK_BASE + 0x000u) /* start HFXO (crystal) */
#define CLOCK_EVENTS_HFCLKSTARTED NRF52_REG(CLOCK_BASE + 0x100u) /* HFXO running and stable */

/* ------------------------------------------------------------------------ */
/* BPROT (base 0x40000000, nRF52832 only; the nRF52840 has ACL instead)       */
/* ------------------------------------------------------------------------ */
/*
 * One bit per 4 KiB flash block: block n is bit n%32 of CONFIG[n/32]. Set by
 * the bootloader before it starts the application (spec §9.2); only a reset
 * clears it. Writing or erasing a protected block hard-faults.
 */
#define BPROT_CONFIG0 NRF52_REG(0x40000600u) /* blocks 0..31 */
#define BPROT_CONFIG1 NRF52_REG(0x40000604u) /* blocks 32..63 */
#define BPROT_CONFIG2 NRF52_REG(0x40000610u) /* blocks 64..95 (0x608 is DISABLEINDEBUG) */
#define BPROT_CONFIG3 NRF52_REG(0x40000614u) /* blocks 96..127 */

/* ------------------------------------------------------------------------ */
/* UARTE0 (base 0x40002000, ID 2): UART with EasyDMA                         */
/* ------------------------------------------------------------------------ */
#define UARTE0_BASE             0x40002000u
#define UARTE0_IRQN             2u /* UARTE0_UART0: shares the ID with the legacy UART0 */
#define UARTE0_TASKS_STARTRX    NRF52_REG(UARTE0_BASE + 0x000u)
#define UARTE0_TASKS_STARTTX    NRF52_REG(UARTE0_BASE + 0x008u)
#define UARTE0_TASKS_STOPTX     NRF52_REG(UARTE0_BASE + 0x00Cu)
#define UARTE0_EVENTS_ENDRX     NRF52_REG(UARTE0_BASE + 0x110u) /* RX buffer full, or RX stopped */
#define UARTE0_EVENTS_ENDTX     NRF52_REG(UARTE0_BASE + 0x120u) /* last byte of TX buffer sent */
#define UARTE0_EVENTS_ERROR     NRF52_REG(UARTE0_BASE + 0x124u) /* cause in ERRORSRC */
#define UARTE0_EVENTS_TXSTOPPED NRF52_REG(UARTE0_BASE + 0x158u) /* transmitter stopped (STOPTX) */
#define UARTE0_INTENSET         NRF52_REG(UARTE0_BASE + 0x304u)
#define UARTE0_INT_ENDRX        (1u << 4)
#define UARTE0_INT_ERROR        (1u << 9)
#define UARTE0_ERRORSRC         NRF52_REG(UARTE0_BASE + 0x480u) /* write 1s to clear */
#define UARTE0_ENABLE           NRF52_REG(UARTE0_BASE + 0x500u)
#define UARTE0_ENABLE_ENABLED   8u /* 8 = UARTE (EasyDMA); 4 would be the legacy UART */
#define UARTE0_PSEL_RTS         NRF52_REG(UARTE0_BASE + 0x508u)
#define UARTE0_PSEL_TXD         NRF52_REG(UARTE0_BASE + 0x50Cu)
#define UARTE0_PSEL_CTS         NRF52_REG(UARTE0_BASE + 0x510u)
#define UARTE0_PSEL_RXD         NRF52_REG(UARTE0_BASE + 0x514u)
#define UARTE0_PSEL_DISCONNECT  (1u << 31) /* PSEL.* bit 31: 1 = pin not connected */
#define UARTE0_BAUDRATE         NRF52_REG(UARTE0_BASE + 0x524u)
#define UARTE0_RXD_PTR          NRF52_REG(UARTE0_BASE + 0x534u) /* latched at STARTRX */
#define UARTE0_RXD_MAXCNT       NRF52_REG(UARTE0_BASE + 0x538u)
#define UARTE0_RXD_AMOUNT       NRF52_REG(UARTE0_BASE + 0x53Cu) /* valid after ENDRX */
#define UARTE0_TXD_PTR          NRF52_REG(UARTE0_BASE + 0x544u)
#define UARTE0_TXD_MAXCNT       NRF52_REG(UARTE0_BASE + 0x548u)
#define UARTE0_CONFIG           NRF52_REG(UARTE0_BASE + 0x56Cu)
#define UARTE0_CONFIG_HWFC      (1u << 0) /* RTS/CTS flow control; parity bits 1..3 = 0: none */
/*
 * EasyDMA on the nRF52832 has 8-bit MAXCNT registers (255 bytes per transfer;
 * the nRF52840 has 16 bits), and its pointers must point into Data RAM (the PS
 * warns that anything else may hard-fault or corrupt RAM), so TX data held in
 * flash is copied to RAM first.
 */
#define UARTE0_EASYDMA_MAXCNT 255u

/*
 * BAUDRATE register values for the UARTE (PS table "BAUDRATE"). They are not
 * the legacy UART's values: the two peripherals round differently. They are
 * close to baud * 2^32 / 16 MHz but not equal to it, so take them from the PS
 * table, never compute them; the comments give the rate actually produced.
 */
#define UARTE_BAUD_115200  0x01D60000u /* 115108 baud actual */
#define UARTE_BAUD_230400  0x03B00000u /* 231884 */
#define UARTE_BAUD_250000  0x04000000u
#define UARTE_BAUD_460800  0x07400000u /* 457143 */
#define UARTE_BAUD_921600  0x0F000000u /* 941176 */
#define UARTE_BAUD_1000000 0x10000000u

/* ------------------------------------------------------------------------ */
/* NVMC (base 0x4001E000): flash programming (spec nrf5-bootloader.md §9.1)   */
/* ------------------------------------------------------------------------ */
#define NVMC_BASE        0x4001E000u
#define NVMC_READY       NRF52_REG(NVMC_BASE + 0x400u) /* bit 0: 1 = ready, 0 = busy */
#define NVMC_READY_READY (1u << 0)
#define NVMC_CONFIG      NRF52_REG(NVMC_BASE + 0x504u) /* WEN field, bits 0..1 */
#define NVMC_CONFIG_REN  0u                            /* read only */
#define NVMC_CONFIG_WEN  1u                            /* write enabled (word writes only) */
#define NVMC_CONFIG_EEN  2u /* erase enabled (never both write and erase) */
#define NVMC_ERASEPAGE   NRF52_REG(NVMC_BASE + 0x508u) /* write a page address to erase it */

/* ------------------------------------------------------------------------ */
/* GPIO P0 (base 0x50000000)                                                 */
/* ------------------------------------------------------------------------ */
#define GPIO_P0_BASE                  0x50000000u
#define GPIO_OUTSET                   NRF52_REG(GPIO_P0_BASE + 0x508u) /* 1 bits drive the pin high */
#define GPIO_PIN_CNF(pin)             NRF52_REG(GPIO_P0_BASE + 0x700u + 4u * (uint32_t)(pin))
#define GPIO_PIN_CNF_OUTPUT           (1u << 0) /* DIR = output */
#define GPIO_PIN_CNF_INPUT_DISCONNECT (1u << 1) /* input buffer off */
#define GPIO_PIN_CNF_PULLUP           (3u << 2) /* PULL field = 3 */
/* An input: DIR = 0, input buffer connected (INPUT = 0), no pull: the value 0. */
#define GPIO_PIN_CNF_INPUT 0u

/* ------------------------------------------------------------------------ */
/* Cortex-M4 system control space (Armv7-M ARM, B3.2)                         */
/* ------------------------------------------------------------------------ */
#define SYST_CSR           NRF52_REG(0xE000E010u) /* SysTick control and status */
#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)              /* 1 = processor clock */
#define SYST_RVR           NRF52_REG(0xE000E014u) /* reload value (24 bits) */
#define SYST_CVR           NRF52_REG(0xE000E018u) /* current value; any write clears it */

#define NVIC_ISER0 NRF52_REG(0xE000E100u) /* set-enable, IRQs 0..31 */
#define NVIC_ICPR0 NRF52_REG(0xE000E280u) /* clear-pending */
/* Priority of IRQ n: byte n from 0xE000E400; the nRF52 implements the top 3 bits. */
#define NVIC_IPR_BYTE(n) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (uint32_t)(n)))
#define NVIC_PRIO_BITS   3u

#define SCB_VTOR                 NRF52_REG(0xE000ED08u) /* vector table offset */
#define SCB_AIRCR                NRF52_REG(0xE000ED0Cu)
#define SCB_AIRCR_VECTKEY        (0x05FAu << 16) /* writes without this key are ignored */
#define SCB_AIRCR_PRIGROUP_M     (7u << 8)       /* kept as is on reset request */
#define SCB_AIRCR_SYSRESETREQ    (1u << 2)
#define SCB_CPACR                NRF52_REG(0xE000ED88u) /* coprocessor access */
#define SCB_CPACR_CP10_CP11_FULL (0xFu << 20)           /* FPU: full access for CP10 and CP11 */
#define CORE_DHCSR               NRF52_REG(0xE000EDF0u) /* debug halting control and status */
#define CORE_DHCSR_C_DEBUGEN     (1u << 0)              /* a debugger is attached */

/* Barriers (Armv7-M A3.7.3): make register writes take effect in program order. */
static inline void nrf52_dsb(void)
{
    __asm__ volatile("dsb 0xF" ::: "memory");
}
static inline void nrf52_isb(void)
{
    __asm__ volatile("isb 0xF" ::: "memory");
}

/*
 * Clear an event register and read it back: the read forces the write through
 * the bus before an ISR returns, so the interrupt does not fire a second time
 * for the same event (a well-known Cortex-M4 + nRF52 pitfall).
 */
static inline void nrf52_event_clear(volatile uint32_t *event)
{
    *event = 0u;
    (void)*event;
}

#endif
