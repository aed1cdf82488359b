/*
 * vclock.c - see vclock.h. Deliberately tiny: the point of the module is
 * that time is data the caller owns, not that the arithmetic is clever.
 */
#include "emulator/vclock.h"

#include <stddef.h>

void vclock_init(vclock_t *c, uint64_t start_ns)
{
    if (c != NULL) {
        c->now_ns = start_ns;
    }
}

uint64_t vclock_now(const vclock_t *c)
{
    return c != NULL ? c->now_ns : 0;
}

void vclock_advance(vclock_t *c, uint64_t ns)
{
    if (c == NULL) {
        return;
    }
    c->now_ns = (ns > UINT64_MAX - c->now_ns) ? UINT64_MAX : c->now_ns + ns;
}
