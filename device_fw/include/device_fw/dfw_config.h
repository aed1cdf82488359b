/*
 * dfw_config.h - compile-time sizes of the device-side staging core.
 *
 * Every value can be overridden with -D on the compiler command line (or a
 * project-wide prefix header); the defaults match the Nordic SDK 15.3-17.1
 * secure bootloader on nRF52832/nRF52840 (shared spec nrf5-bootloader.md).
 * Values that are fixed by the bootloader's on-flash formats are not here but
 * in dfw_settings.h, because changing them would break compatibility.
 */
#ifndef DEVICE_FW_DFW_CONFIG_H
#define DEVICE_FW_DFW_CONFIG_H

/* Flash page = erase unit and the bootloader's ALIGN_UP for bank 1 (CODE_PAGE_SIZE, spec §1.1). */
#ifndef DFW_PAGE_SIZE
#define DFW_PAGE_SIZE 4096u
#endif

/* Largest .dat accepted: INIT_COMMAND_MAX_SIZE of settings v2 (spec §2.1, §4.2). */
#ifndef DFW_INITCMD_MAX_SIZE
#define DFW_INITCMD_MAX_SIZE 512u
#endif

/*
 * Words handed to one hal->write_words() call while staging (128 B of state).
 * Bigger batches mean fewer SoftDevice flash events (one per call, spec §9.3).
 */
#ifndef DFW_WRITE_BATCH_WORDS
#define DFW_WRITE_BATCH_WORDS 32u
#endif

/*
 * dfw_rx frame buffers of FRAME_MAX_PACKET (2064) bytes each; also the `window` the device
 * announces. Two let the next DATA frame arrive while the previous one is programmed.
 */
#ifndef DFW_RX_BUFFERS
#define DFW_RX_BUFFERS 2u
#endif

/*
 * Inter-byte silence (ms) after which dfw_rx_tick() drops a partial frame: longer than a
 * GSM data-channel stall (hundreds of ms), shorter than any host reply timeout.
 */
#ifndef DFW_RX_IDLE_MS
#define DFW_RX_IDLE_MS 1000u
#endif

/*
 * Idle pre-erase gives up on an interrupted update left in bank 1 (which a
 * host could still RESUME) only after this long without a byte from any
 * host: long enough for a modem link to come back after a power cut, short
 * enough that the next update usually finds bank 1 blank.
 */
#ifndef DFW_RX_DISCARD_S
#define DFW_RX_DISCARD_S 600u
#endif

/*
 * Compiler hook: make a dropped error code a build error under -Werror
 * (style practice 4). Empty for compilers without the attribute.
 */
#ifndef DFW_MUST_CHECK
#if defined(__GNUC__) || defined(__clang__)
#define DFW_MUST_CHECK __attribute__((warn_unused_result))
#else
#define DFW_MUST_CHECK
#endif
#endif

_Static_assert(DFW_PAGE_SIZE % 4u == 0u && DFW_PAGE_SIZE >= 1024u,
               "flash page must hold whole words and the 896-byte settings record");
_Static_assert(DFW_INITCMD_MAX_SIZE > 0u && DFW_INITCMD_MAX_SIZE <= 512u,
               "the .dat is stored in the 512-byte init_command field of the settings page");
_Static_assert(DFW_INITCMD_MAX_SIZE <= 0xFFFFu, "dat length is kept in a uint16_t");
_Static_assert(DFW_WRITE_BATCH_WORDS >= 1u && DFW_WRITE_BATCH_WORDS <= DFW_PAGE_SIZE / 4u,
               "a write batch never spans more than one page");
_Static_assert(DFW_RX_BUFFERS >= 1u && DFW_RX_BUFFERS <= 8u,
               "at least one frame buffer; each costs 2 KiB of RAM");
_Static_assert(DFW_RX_IDLE_MS >= 1u, "an idle timeout of 0 would cut every frame");

#endif
