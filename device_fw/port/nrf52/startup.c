/*
 * startup.c - vector table and reset handler for the nRF52832 example, in C.
 *
 * The image is linked at 0x1000, behind Nordic's MBR (nrf52832_app.ld). After
 * a reset the MBR (or the bootloader, through it) jumps to Reset_Handler with
 * the stack pointer taken from our table. Reset_Handler points VTOR at our
 * table, so interrupts reach this image directly whether or not the MBR's
 * interrupt forwarding was set up for it.
 *
 * Not done here (the nRF5 SDK's SystemInit does it): the chip-revision errata
 * workarounds. None of them concerns the UARTE, NVMC, CLOCK or SysTick use of
 * this example; a product that adds peripherals should check the errata sheet.
 */
#include <stdint.h>
#include <string.h>

#include "nrf52_port.h"

/* Linker script symbols (nrf52832_app.ld). */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_top[];

int main(void);

/* Prototypes for -Wmissing-prototypes; the names are what the table uses. */
void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void UARTE0_UART0_IRQHandler(void);

/* nRF52832 peripheral interrupts 0..38 (PS "Instantiation" table). */
#define NRF52832_IRQ_COUNT 39u

typedef void (*vector_fn)(void);

/* Cortex-M vector table: initial SP, 15 system exceptions, then the IRQs. */
typedef struct vector_table {
    uint32_t *initial_sp;
    vector_fn system[15]; /* Reset, NMI, HardFault, ... SysTick (exceptions 1..15) */
    vector_fn irq[NRF52832_IRQ_COUNT];
} vector_table_t;

__attribute__((section(".isr_vector"), used)) const vector_table_t g_vectors = {
    .initial_sp = __stack_top,
    .system =
        {
            [0] = Reset_Handler,
            [1] = Default_Handler,  /* NMI */
            [2] = Default_Handler,  /* HardFault */
            [3] = Default_Handler,  /* MemManage */
            [4] = Default_Handler,  /* BusFault */
            [5] = Default_Handler,  /* UsageFault */
            [10] = Default_Handler, /* SVCall */
            [11] = Default_Handler, /* DebugMonitor */
            [13] = Default_Handler, /* PendSV */
            [14] = SysTick_Handler,
        },
    .irq =
        {
            [0] = Default_Handler,                   /* POWER_CLOCK */
            [1] = Default_Handler,                   /* RADIO */
            [UARTE0_IRQN] = UARTE0_UART0_IRQHandler, /* 2: UARTE0_UART0 */
            [3] = Default_Handler,                   /* SPIM0_SPIS0_TWIM0_TWIS0_SPI0_TWI0 */
            [4] = Default_Handler,                   /* SPIM1_SPIS1_TWIM1_TWIS1_SPI1_TWI1 */
            [5] = Default_Handler,                   /* NFCT */
            [6] = Default_Handler,                   /* GPIOTE */
            [7] = Default_Handler,                   /* SAADC */
            [8] = Default_Handler,                   /* TIMER0 */
            [9] = Default_Handler,                   /* TIMER1 */
            [10] = Default_Handler,                  /* TIMER2 */
            [11] = Default_Handler,                  /* RTC0 */
            [12] = Default_Handler,                  /* TEMP */
            [13] = Default_Handler,                  /* RNG */
            [14] = Default_Handler,                  /* ECB */
            [15] = Default_Handler,                  /* CCM_AAR */
            [16] = Default_Handler,                  /* WDT */
            [17] = Default_Handler,                  /* RTC1 */
            [18] = Default_Handler,                  /* QDEC */
            [19] = Default_Handler,                  /* COMP_LPCOMP */
            [20] = Default_Handler,                  /* SWI0_EGU0 */
            [21] = Default_Handler,                  /* SWI1_EGU1 */
            [22] = Default_Handler,                  /* SWI2_EGU2 */
            [23] = Default_Handler,                  /* SWI3_EGU3 */
            [24] = Default_Handler,                  /* SWI4_EGU4 */
            [25] = Default_Handler,                  /* SWI5_EGU5 */
            [26] = Default_Handler,                  /* TIMER3 */
            [27] = Default_Handler,                  /* TIMER4 */
            [28] = Default_Handler,                  /* PWM0 */
            [29] = Default_Handler,                  /* PDM */
            [30] = Default_Handler,                  /* (reserved) */
            [31] = Default_Handler,                  /* (reserved) */
            [32] = Default_Handler,                  /* MWU */
            [33] = Default_Handler,                  /* PWM1 */
            [34] = Default_Handler,                  /* PWM2 */
            [35] = Default_Handler,                  /* SPIM2_SPIS2_SPI2 */
            [36] = Default_Handler,                  /* RTC2 */
            [37] = Default_Handler,                  /* I2S */
            [38] = Default_Handler,                  /* FPU */
        },
};

/*
 * An unexpected interrupt or a fault. A field device must not hang: reset, so
 * the bootloader boots whichever image is valid. With a debugger attached,
 * stop first so the fault can be inspected.
 */
void Default_Handler(void)
{
    if ((CORE_DHCSR & CORE_DHCSR_C_DEBUGEN) != 0u) {
        __asm__ volatile("bkpt #0");
    }
    nrf52_system_reset();
}

void nrf52_system_reset(void)
{
    nrf52_dsb(); /* finish outstanding memory and register writes first */
    SCB_AIRCR = SCB_AIRCR_VECTKEY | (SCB_AIRCR & SCB_AIRCR_PRIGROUP_M) | SCB_AIRCR_SYSRESETREQ;
    nrf52_dsb();
    for (;;) {
    }
}

void Reset_Handler(void)
{
    /* FPU access before any code compiled with -mfloat-abi=hard may use it. */
    SCB_CPACR |= SCB_CPACR_CP10_CP11_FULL;
    SCB_VTOR = (uint32_t)(uintptr_t)&g_vectors;
    nrf52_dsb();
    nrf52_isb();

    size_t data_len = (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start);
    size_t bss_len = (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start);
    memcpy(__data_start, __data_load, data_len);
    memset(__bss_start, 0, bss_len);

    (void)main();
    nrf52_system_reset(); /* main() does not return; if it did, start over */
}
