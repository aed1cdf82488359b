#include "pbwire.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

typedef struct {
    const uint8_t *buf;
    size_t pos, end;
} cursor_t;

static bool read_varint(cursor_t *c, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->pos >= c->end)
            return false;
        uint8_t b = c->buf[c->pos++];
        *v |= (uint64_t)(b & 0x7Fu) << shift;
        if (!(b & 0x80u))
            return true;
    }
    return false;
}

/* Reads one field header and, for length-delimited fields, its payload bounds. */
static bool next_field(cursor_t *c, uint32_t *field, size_t *start, size_t *stop)
{
    uint64_t key, n;
    if (!read_varint(c, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return false;
    *field = (uint32_t)(key >> 3);
    *start = *stop = c->pos;
    switch (key & 7u) {
    case WT_VARINT:
        return read_varint(c, &n);
    case WT_FIXED64:
        n = 8;
        break;
    case WT_FIXED32:
        n = 4;
        break;
    case WT_LEN:
        if (!read_varint(c, &n))
            return false;
        *start = c->pos;
        break;
    default: /* groups never occur in dfu-cc.proto */
        return false;
    }
    if (n > c->end - c->pos)
        return false;
    c->pos += (size_t)n;
    if ((key & 7u) == WT_LEN) {
        *stop = c->pos;
        return true;
    }
    *field = 0; /* not length-delimited: callers only look for sub-messages */
    return true;
}

/* Counts Command.init fields in [start, stop) and remembers the last one. */
static bool scan_command(const uint8_t *buf, size_t start, size_t stop, unsigned *inits,
                         size_t *init_start)
{
    cursor_t c = {buf, start, stop};
    while (c.pos < c.end) {
        uint32_t f;
        size_t s, e;
        if (!next_field(&c, &f, &s, &e))
            return false;
        if (f == 2) {
            (*inits)++;
            *init_start = s;
        }
    }
    return true;
}

static bool scan_signed_command(const uint8_t *buf, size_t start, size_t stop, unsigned *inits,
                                size_t *init_start, size_t *cmd_end)
{
    cursor_t c = {buf, start, stop};
    while (c.pos < c.end) {
        uint32_t f;
        size_t s, e;
        if (!next_field(&c, &f, &s, &e))
            return false;
        if (f == 1) {
            unsigned before = *inits;
            if (!scan_command(buf, s, e, inits, init_start))
                return false;
            if (*inits != before)
                *cmd_end = e; /* the span ends with the Command holding init */
        }
    }
    return true;
}

bool pbwire_init_span(const uint8_t *buf, size_t len, size_t *off, size_t *span)
{
    cursor_t c = {buf, 0, len};
    unsigned inits = 0;
    size_t init_start = 0, cmd_end = 0;
    while (c.pos < c.end) {
        uint32_t f;
        size_t s, e;
        if (!next_field(&c, &f, &s, &e))
            return false;
        bool ok = true;
        unsigned before = inits;
        if (f == 1) {
            ok = scan_command(buf, s, e, &inits, &init_start);
            if (inits != before)
                cmd_end = e;
        } else if (f == 2)
            ok = scan_signed_command(buf, s, e, &inits, &init_start, &cmd_end);
        if (!ok)
            return false;
    }
    if (inits != 1 || cmd_end < init_start)
        return false;
    *off = init_start;
    *span = cmd_end - init_start;
    return true;
}
