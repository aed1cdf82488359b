/*
 * vclock.h - virtual clock for the emulator: simulated time, never wall time.
 *
 * Everything in the emulator that "takes time" (NVMC word writes, page
 * erases, later UART bytes and timeouts) advances a vclock_t instead of
 * sleeping, so a test is deterministic and a 30-minute update replays in
 * milliseconds. There is no global clock: whoever builds a scenario owns
 * one vclock_t and lends a pointer to the models that charge it.
 *
 * Ownership: vclock_t is a plain value type held in caller storage; nothing
 * here allocates. Fields are public only so it can live on the stack: read
 * and change them through the functions below.
 */
#ifndef EMULATOR_VCLOCK_H
#define EMULATOR_VCLOCK_H

#include <stdint.h>

/* Unit conversions; the clock counts nanoseconds. */
#define VCLOCK_NS_PER_US 1000ull
#define VCLOCK_NS_PER_MS 1000000ull
#define VCLOCK_US(x)     ((uint64_t)(x)*VCLOCK_NS_PER_US)
#define VCLOCK_MS(x)     ((uint64_t)(x)*VCLOCK_NS_PER_MS)

typedef struct vclock {
    uint64_t now_ns; /* private: simulated nanoseconds since vclock_init */
} vclock_t;

/* Start the clock at `start_ns`. A NULL clock is ignored. */
void vclock_init(vclock_t *c, uint64_t start_ns);

/* Current simulated time in ns; 0 for a NULL clock. */
uint64_t vclock_now(const vclock_t *c);

/*
 * Move time forward by `ns`. Saturates at UINT64_MAX instead of wrapping
 * (584 years of simulated time), so "later" always compares greater.
 * A NULL clock is ignored, which lets models charge an optional clock.
 */
void vclock_advance(vclock_t *c, uint64_t ns);

#endif
