/*
 * sim.h - an in-process, virtual-time co-simulation of a complete update:
 * the host session (cli/session.h) over a custom transport_t, a serial link
 * in each direction (emulator/linkmodel.h, seeded faults), the device
 * receiver (device_fw/dfw_rx.h) staging through the emulator HAL onto the
 * flash model, and the SDK bootloader replay (bl_boot_run) at every reset.
 *
 * One virtual timeline (ns), charged by everything: bytes on the links, the
 * device's flash operations, boots. Nothing sleeps and nothing reads a wall
 * clock: a 5-minute GSM update runs in milliseconds and is reproducible bit
 * for bit from its seeds.
 *
 * Scheduling (conservative co-simulation). The host session runs on the
 * caller's stack. Its write() queues bytes on the host->device link at the
 * world time and returns at once (the host OS buffers). Its read(timeout)
 * runs the world until device->host bytes have arrived or the deadline
 * passes. The device has its own clock, to which the flash model is attached
 * (flash_attach_clock): it starts a step (one turn of the port's main loop:
 * dfw_rx_poll() of one frame, else dfw_rx_idle()) only once the world has
 * reached its time, with every byte that arrived by then handed to
 * dfw_rx_input(); the step's flash work, a reset and a whole bootloader
 * replay then advance the device clock alone, and its replies are sent at
 * device time, so the host sees each byte exactly when it arrives. The world
 * jumps from event to event: a frame delimiter arriving, the end of the
 * device's step or reboot, the receiver's tick while bytes trickle in, the
 * cable, the host's deadline.
 *
 * Resets. After COMMIT (DFW_RX_RESET, once the reply has left the UART) or a
 * power cut (checked after every device step and in the receiver's tx
 * callback: a dead device sends nothing), the receiver's RAM and every byte
 * reaching the device while it reboots are lost; bl_boot_run() replays the
 * bootloader (again while a cut fires inside the boot itself), a boot time
 * is charged, and a fresh receiver runs as the (new or old) application. If
 * the bootloader stays in DFU mode or faults, the device stays silent.
 *
 * Ownership: sim_new() allocates; sim_free() releases everything. Reports
 * point into the sim (events) and stay valid until the next run, reset or
 * free. One thread at a time.
 */
#ifndef TESTS_SIM_SIM_H
#define TESTS_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/pkg.h"
#include "cli/session.h"
#include "device_fw/dfw_rx.h"
#include "emulator/bl_boot.h"
#include "emulator/bl_config.h"
#include "emulator/emu_create.h"
#include "emulator/emu_device.h"
#include "emulator/flash.h"
#include "emulator/linkmodel.h"

#define SIM_REASON_MAX   120u
#define SIM_BOOT_MS      250u   /* default: reset to the application answering */
#define SIM_TIMEOUT_MS   10000u /* `dfuart update` defaults (cmd_update.c) */
#define SIM_RETRIES      10u
#define SIM_DEFAULT_LINK "clean-1M"
#define SIM_NEVER        UINT64_MAX

/* What changes between runs on the same device: links, seeds and faults. */
typedef struct sim_plan {
    const char *link_h2d, *link_d2h; /* profile names (linkmodel.h); NULL: SIM_DEFAULT_LINK */
    uint64_t seed_h2d, seed_d2h;
    uint64_t cut_op;           /* cut power at this flash op of the update (1-based); 0: never */
    flash_cut_mode_t cut_mode; /* before / torn / after */
    uint64_t cut_seed;         /* drives a torn operation's outcome */
    uint64_t disconnect_at_ms; /* pull the cable (both directions) at this virtual time; 0: never */
    uint64_t disconnect_ms;    /* ... for this long */
    /*
     * The host starts its session this long after the device booted (first
     * run after sim_new()/sim_reset() only); meanwhile the device runs alone
     * and does its idle work (bank-1 pre-erase), cut included. 0: at once.
     */
    uint64_t host_start_ms;
} sim_plan_t;

typedef struct sim_config {
    bl_chip_t chip;
    emu_sd_t sd;
    const char *app_path;   /* the application the device runs first (.bin or .hex) */
    uint32_t app_version;   /* its settings app_version */
    uint8_t public_key[64]; /* the bootloader's pk[] (fixtures: fix_public_key) */
    bl_profile_t profile;   /* BL_PROFILE_UPDATE_FROM_APP for dfuart */
    bl_sdk_t sdk;           /* BL_SDK_17_1 */
    /*
     * Non-zero: the SoftDevice stand-in reports this FWID instead of its own
     * (the programmer patches the info struct). The fixtures' ~300 KB package
     * is built for S132 (sd_req 0x0101) but only fits an nRF52840, whose S140
     * is 0x0100: without this the bootloader rightly rejects it.
     */
    uint16_t sd_fwid;
    bool no_idle_work; /* the main loop without dfw_rx_idle() (bank-1 pre-erase): to compare */
    /*
     * Bank 1 as an earlier update left it, e.g. a copy of the running image
     * (what an activation leaves): loaded at bank 1's start (placed for the
     * running app, as the bootloader places it) into the pristine snapshot.
     * NULL: blank, as `dfuart-emu create` leaves it. Read during sim_new() only.
     */
    const uint8_t *bank1_init;
    uint32_t bank1_init_len;
    uint32_t boot_ms;    /* reset to the application answering; 0: SIM_BOOT_MS */
    uint32_t timeout_ms; /* session timeout; 0: SIM_TIMEOUT_MS */
    uint32_t retries;    /* session retry budget; 0: SIM_RETRIES */
    sim_plan_t plan;     /* for the first run (sim_reset() replaces it) */
} sim_config_t;

/* A session event, copied (session events' strings live only during the callback). */
typedef struct sim_event {
    session_event_kind_t kind;
    uint64_t t_ms;
    uint8_t object;
    uint32_t offset, total, acked, attempt;
    session_cause_t cause;
    char reason[SIM_REASON_MAX];
} sim_event_t;

/*
 * Frames of one link direction, matched sender -> receiver in order (links
 * are FIFO): every frame sent is delivered intact, damaged/lost by the link,
 * or (host -> device) lost because the device was rebooting.
 */
typedef struct sim_frames {
    uint32_t sent;      /* frames handed to the link */
    uint32_t delivered; /* arrived CRC-valid (first copies) */
    uint32_t damaged;   /* never arrived intact: dropped bytes, bit flips, garbage, disconnect */
    uint32_t damaged_hello; /* of those: HELLO (h2d) or INFO (d2h), which polling repeats */
    uint32_t dups;          /* extra CRC-valid copies (the link's duplicated frames) */
    uint32_t while_dead;    /* h2d: delivered while the device was rebooting (lost to it) */
} sim_frames_t;

typedef struct sim_report {
    session_err_t err;
    session_result_t res;
    /* time, virtual */
    uint64_t t_start_ns;      /* session_run() called */
    uint64_t t_first_byte_ns; /* first host byte on the wire */
    uint64_t t_total_ns;      /* session start to end */
    /* host -> device */
    uint64_t bytes_h2d;              /* every byte the host wrote */
    uint64_t fw_payload;             /* firmware DATA payload bytes sent */
    uint64_t fw_resent;              /* of those: at offsets already sent before in this run */
    uint64_t bytes_d2h;              /* every byte the device sent */
    link_stats_t link_h2d, link_d2h; /* the links' fault counters during this run */
    sim_frames_t fr_h2d, fr_d2h;
    /* device */
    uint64_t flash_ops;          /* flash operations during this run, boots included */
    uint64_t ops_session;        /* of those, until session_run() returned (the rest: idle work) */
    uint64_t ops_before_commit;  /* ops of this run before the device handled COMMIT */
    uint64_t ops_before_host;    /* ops of this run before the host's first byte (idle work) */
    uint64_t erases_before_host; /* of those, page erases (whole or torn) */
    uint64_t ops_before_app;     /* ops of this run until the last boot replay ended: after
                                    it, only the application's idle work (pre-erase) */
    uint32_t device_resets;      /* resets the device went through: COMMIT + power cuts */
    uint32_t commit_resets, cut_resets;
    uint32_t boot_runs;         /* bl_boot_run() calls (> resets when a cut hit a boot) */
    uint32_t bootloader_resets; /* extra resets the bootloader did itself (activation) */
    bool cut_fired;
    uint64_t cut_at_ns;
    uint32_t acked_at_cut; /* highest firmware offset the device had acknowledged */
    bool dfu_stuck;        /* the bootloader stayed in DFU mode: no app answers */
    bool bricked;          /* the replay faulted or looped */
    bl_boot_report_t boot; /* the last boot replay */
    dfw_rx_stats_t rx;     /* the receivers' counters, summed over boots */
    uint32_t bad_acks;     /* acknowledged bank-1 bytes that differed from the image */
    char bad_ack_msg[160]; /* the first of them */
    uint64_t fence_hits;   /* device-code erases/writes outside bank 1 + settings (emu_hal.h) */
    char fence_msg[256];   /* the first of them */
    uint64_t flash_faults; /* new entries in the flash model's fault log */
    /* session events, in order */
    const sim_event_t *events;
    size_t n_events;
} sim_report_t;

typedef struct sim sim_t;

/*
 * Build the device like `dfuart-emu create` (emu_create_device), patch the
 * SoftDevice FWID if asked, boot it to the application (the pristine
 * snapshot every sim_reset() returns to), and apply cfg->plan. NULL on
 * failure, with one line in err.
 */
sim_t *sim_new(const sim_config_t *cfg, char *err, size_t err_len);
void sim_free(sim_t *sim);

/*
 * Back to the pristine device (flash_load_raw of the snapshot into the same
 * flash model, a boot to set protection again), clocks at 0, new links and
 * faults from `plan` (NULL: no faults, default links). Cheap: no allocation
 * of a device, no image parsing, no emu_create. The flash model's op count
 * and logs carry on; reports count differences.
 */
int sim_reset(sim_t *sim, const sim_plan_t *plan);

/*
 * Run one session to its end with `img` (borrowed). The plan's power cut is
 * armed at the start of the first run after sim_new()/sim_reset(), and that
 * run's host starts at plan.host_start_ms; a second run continues on the
 * same device, clock and links at once (e.g. re-running a session that gave
 * up). After the session the world runs until the links are quiet and the
 * device's idle work is done, so the frame and op counts are final. Returns
 * rep->err.
 */
session_err_t sim_run_image(sim_t *sim, const session_image_t *img, sim_report_t *rep);

/* What the session sends of a package image; borrows `a` (it must outlive the session). */
session_image_t sim_image_of(const pkg_image_t *a);

/* Same, for the first image of an nrfutil package (its fw_version judges the outcome). */
session_err_t sim_run_update(sim_t *sim, const char *pkg_path, sim_report_t *rep);

/* The device and what it runs. */
emu_device_t *sim_device(sim_t *sim);
uint64_t sim_now_ns(const sim_t *sim);
/* BL_STATE_APP while an application runs, DFU/FAULT/LOOP when the device is stuck. */
bl_state_t sim_device_state(const sim_t *sim);
/* The running application's version and size, from the last boot replay. */
uint32_t sim_app_version(const sim_t *sim);
/* true if bank 0 holds exactly `img` (and the settings say bank 0 is `len` bytes). */
bool sim_bank0_equals(const sim_t *sim, const uint8_t *img, size_t len);

/* "host HELLO->INFO ..."-style one-line summary of a report, for test logs. */
int sim_report_line(const sim_report_t *rep, char *buf, size_t n);

#endif
