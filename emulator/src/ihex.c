/*
 * ihex.c - Intel HEX reader/writer. Contract in emulator/ihex.h.
 *
 * Record format (Intel "Hexadecimal Object File Format Specification" rev A):
 *   ':' LL AAAA TT DD...DD CC   (all pairs of hex digits)
 * LL = data byte count, AAAA = 16-bit offset, TT = type, CC = two's
 * complement of the sum of all preceding bytes (so the whole record sums to 0).
 */
#include "emulator/ihex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest record: 5 header/checksum bytes + 255 data bytes. */
#define REC_MAX_BYTES  (5u + 255u)
#define ADDR_SPACE_END ((uint64_t)1 << 32)

/// Image ///

typedef struct seg {
    ihex_segment_t pub; /* pub.data aliases buf */
    uint8_t *buf;
    size_t cap;
} seg_t;

struct ihex_image {
    seg_t *segs;
    size_t count;
    size_t cap;
};

static uint64_t seg_end(const seg_t *s)
{
    return (uint64_t)s->pub.addr + s->pub.len;
}

ihex_image_t *ihex_image_new(void)
{
    return calloc(1, sizeof(ihex_image_t));
}

void ihex_image_free(ihex_image_t *img)
{
    if (img == NULL) {
        return;
    }
    for (size_t i = 0; i < img->count; i++) {
        free(img->segs[i].buf);
    }
    free(img->segs);
    free(img);
}

/* Index of the first segment whose start is > addr (binary search). */
static size_t upper_bound(const ihex_image_t *img, uint32_t addr)
{
    size_t lo = 0, hi = img->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->segs[mid].pub.addr <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Makes room for `need` bytes in s->buf, doubling so appends stay linear. */
static ihex_err_t seg_reserve(seg_t *s, size_t need)
{
    if (need <= s->cap) {
        return IHEX_OK;
    }
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *p = realloc(s->buf, cap);
    if (p == NULL) {
        return IHEX_ERR_NOMEM;
    }
    s->buf = p;
    s->cap = cap;
    s->pub.data = p;
    return IHEX_OK;
}

static ihex_err_t seg_append(seg_t *s, const uint8_t *data, size_t len)
{
    ihex_err_t err = seg_reserve(s, (size_t)s->pub.len + len);
    if (err != IHEX_OK) {
        return err;
    }
    memcpy(s->buf + s->pub.len, data, len);
    s->pub.len += (uint32_t)len;
    return IHEX_OK;
}

/* Prepends: only hit when records come in descending address order. */
static ihex_err_t seg_prepend(seg_t *s, const uint8_t *data, size_t len)
{
    ihex_err_t err = seg_reserve(s, (size_t)s->pub.len + len);
    if (err != IHEX_OK) {
        return err;
    }
    memmove(s->buf + len, s->buf, s->pub.len);
    memcpy(s->buf, data, len);
    s->pub.len += (uint32_t)len;
    s->pub.addr -= (uint32_t)len;
    return IHEX_OK;
}

static void remove_seg(ihex_image_t *img, size_t i)
{
    free(img->segs[i].buf);
    memmove(&img->segs[i], &img->segs[i + 1], (img->count - i - 1) * sizeof(seg_t));
    img->count--;
}

static ihex_err_t insert_seg(ihex_image_t *img, size_t i, uint32_t addr, const uint8_t *data,
                             size_t len)
{
    if (img->count == img->cap) {
        size_t cap = img->cap ? img->cap * 2 : 8;
        seg_t *p = realloc(img->segs, cap * sizeof(seg_t));
        if (p == NULL) {
            return IHEX_ERR_NOMEM;
        }
        img->segs = p;
        img->cap = cap;
    }
    seg_t s = {.pub = {.addr = addr, .len = 0, .data = NULL}, .buf = NULL, .cap = 0};
    ihex_err_t err = seg_append(&s, data, len);
    if (err != IHEX_OK) {
        return err;
    }
    memmove(&img->segs[i + 1], &img->segs[i], (img->count - i) * sizeof(seg_t));
    img->segs[i] = s;
    img->count++;
    return IHEX_OK;
}

/* Appends to `prev`, then swallows `next` if the new bytes close the gap. */
static ihex_err_t join_after(ihex_image_t *img, size_t prev, bool join_next, const uint8_t *data,
                             size_t len)
{
    ihex_err_t err = seg_append(&img->segs[prev], data, len);
    if (err != IHEX_OK || !join_next) {
        return err;
    }
    seg_t *next = &img->segs[prev + 1];
    err = seg_append(&img->segs[prev], next->buf, next->pub.len);
    if (err == IHEX_OK) {
        remove_seg(img, prev + 1);
    }
    return err;
}

ihex_err_t ihex_image_add(ihex_image_t *img, uint32_t addr, const uint8_t *data, size_t len)
{
    if (img == NULL || (data == NULL && len != 0)) {
        return IHEX_ERR_ARG;
    }
    if (len == 0) {
        return IHEX_OK;
    }
    uint64_t end = (uint64_t)addr + len;
    if (len > UINT32_MAX || end > ADDR_SPACE_END) {
        return IHEX_ERR_ADDRESS;
    }
    size_t i = upper_bound(img, addr); /* segs[i-1].addr <= addr < segs[i].addr */
    bool has_prev = i > 0, has_next = i < img->count;
    if ((has_prev && seg_end(&img->segs[i - 1]) > addr) ||
        (has_next && img->segs[i].pub.addr < end)) {
        return IHEX_ERR_OVERLAP;
    }
    bool join_prev = has_prev && seg_end(&img->segs[i - 1]) == addr;
    bool join_next = has_next && img->segs[i].pub.addr == end;
    if (join_prev) {
        return join_after(img, i - 1, join_next, data, len);
    }
    if (join_next) {
        return seg_prepend(&img->segs[i], data, len);
    }
    return insert_seg(img, i, addr, data, len);
}

size_t ihex_image_segment_count(const ihex_image_t *img)
{
    return img ? img->count : 0;
}

const ihex_segment_t *ihex_image_segment(const ihex_image_t *img, size_t i)
{
    if (img == NULL || i >= img->count) {
        return NULL;
    }
    return &img->segs[i].pub;
}

uint64_t ihex_image_size(const ihex_image_t *img)
{
    uint64_t n = 0;
    for (size_t i = 0; img && i < img->count; i++) {
        n += img->segs[i].pub.len;
    }
    return n;
}

ihex_err_t ihex_image_bounds(const ihex_image_t *img, uint32_t *lo, uint64_t *hi)
{
    if (img == NULL || lo == NULL || hi == NULL) {
        return IHEX_ERR_ARG;
    }
    if (img->count == 0) {
        return IHEX_ERR_RANGE;
    }
    *lo = img->segs[0].pub.addr;
    *hi = seg_end(&img->segs[img->count - 1]);
    return IHEX_OK;
}

bool ihex_image_covers(const ihex_image_t *img, uint32_t lo, uint64_t hi)
{
    if (hi <= lo) {
        return true;
    }
    if (img == NULL) {
        return false;
    }
    /* Segments are maximal, so a covered range lies inside a single one. */
    size_t i = upper_bound(img, lo);
    return i > 0 && seg_end(&img->segs[i - 1]) >= hi;
}

ihex_err_t ihex_image_flatten(const ihex_image_t *img, uint32_t lo, uint64_t hi, uint8_t *out)
{
    if (img == NULL || hi < lo || hi > ADDR_SPACE_END || (out == NULL && hi != lo)) {
        return IHEX_ERR_ARG;
    }
    if (hi == lo) {
        return IHEX_OK;
    }
    memset(out, 0xFF, (size_t)(hi - lo));
    size_t i = upper_bound(img, lo);
    if (i > 0) {
        i--; /* the segment starting at or before lo may reach into the range */
    }
    for (; i < img->count && img->segs[i].pub.addr < hi; i++) {
        const seg_t *s = &img->segs[i];
        uint64_t from = s->pub.addr > lo ? s->pub.addr : lo;
        uint64_t to = seg_end(s) < hi ? seg_end(s) : hi;
        if (from < to) {
            memcpy(out + (from - lo), s->buf + (from - s->pub.addr), (size_t)(to - from));
        }
    }
    return IHEX_OK;
}

ihex_err_t ihex_image_read(const ihex_image_t *img, uint32_t addr, uint8_t *out, size_t len)
{
    uint64_t end = (uint64_t)addr + len;
    if (img == NULL || (out == NULL && len != 0) || end > ADDR_SPACE_END) {
        return IHEX_ERR_ARG;
    }
    if (!ihex_image_covers(img, addr, end)) {
        return IHEX_ERR_RANGE;
    }
    return ihex_image_flatten(img, addr, end, out);
}

/// Reader ///

typedef struct parser {
    ihex_image_t *img;
    uint32_t base; /* from the last 02 (segment << 4) or 04 (upper << 16) record */
    bool seen_eof;
} parser_t;

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Turns the characters after ':' into bytes; checks digits, length, checksum. */
static ihex_err_t decode_record(const char *s, size_t n, uint8_t *rec, size_t *rec_len)
{
    for (size_t i = 0; i < n; i++) {
        if (hex_val(s[i]) < 0) {
            return IHEX_ERR_HEX_DIGIT;
        }
    }
    if (n % 2 != 0 || n < 10 || n > 2 * REC_MAX_BYTES) {
        return IHEX_ERR_LENGTH;
    }
    size_t count = n / 2;
    uint8_t sum = 0;
    for (size_t i = 0; i < count; i++) {
        rec[i] = (uint8_t)(hex_val(s[2 * i]) << 4 | hex_val(s[2 * i + 1]));
        sum = (uint8_t)(sum + rec[i]);
    }
    if ((size_t)rec[0] + 5 != count) {
        return IHEX_ERR_LENGTH;
    }
    if (sum != 0) {
        return IHEX_ERR_CHECKSUM;
    }
    *rec_len = count;
    return IHEX_OK;
}

/*
 * Data address = base + 16-bit offset, without wrapping at 64 KiB. That is
 * how nrfutil's intelhex reads type-02 files too; real files never rely on
 * the wrap.
 */
static ihex_err_t apply_data(parser_t *p, const uint8_t *rec)
{
    uint32_t offset = (uint32_t)rec[1] << 8 | rec[2];
    uint64_t addr = (uint64_t)p->base + offset;
    if (addr + rec[0] > ADDR_SPACE_END) {
        return IHEX_ERR_ADDRESS;
    }
    return ihex_image_add(p->img, (uint32_t)addr, rec + 4, rec[0]);
}

static ihex_err_t apply_record(parser_t *p, const uint8_t *rec)
{
    static const int want_len[6] = {-1, 0, 2, 4, 2, 4}; /* -1: any */
    uint8_t type = rec[3];
    if (type > 5) {
        return IHEX_ERR_RECORD_TYPE;
    }
    if (want_len[type] >= 0 && rec[0] != want_len[type]) {
        return IHEX_ERR_RECORD;
    }
    uint32_t word = (uint32_t)rec[4] << 8 | rec[5]; /* only read for types 02/04 */
    switch (type) {
    case 0:
        return apply_data(p, rec);
    case 1:
        p->seen_eof = true;
        return IHEX_OK;
    case 2:
        p->base = word << 4;
        return IHEX_OK;
    case 4:
        p->base = word << 16;
        return IHEX_OK;
    default: /* 03, 05: start address, meaningless for a flash image */
        return IHEX_OK;
    }
}

static ihex_err_t parse_line(parser_t *p, const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '\r') {
        n--;
    }
    if (n == 0) {
        return IHEX_OK;
    }
    if (p->seen_eof) {
        return IHEX_ERR_AFTER_EOF;
    }
    if (s[0] != ':') {
        return IHEX_ERR_NO_COLON;
    }
    uint8_t rec[REC_MAX_BYTES];
    size_t rec_len = 0;
    ihex_err_t err = decode_record(s + 1, n - 1, rec, &rec_len);
    if (err != IHEX_OK) {
        return err;
    }
    return apply_record(p, rec);
}

static ihex_err_t parse_text(parser_t *p, const char *text, size_t len, size_t *line)
{
    size_t pos = 0;
    *line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        ++*line;
        ihex_err_t err = parse_line(p, text + pos, n);
        if (err != IHEX_OK) {
            return err;
        }
        pos += n + (nl ? 1 : 0);
    }
    if (!p->seen_eof) {
        ++*line;
        return IHEX_ERR_MISSING_EOF;
    }
    return IHEX_OK;
}

static bool is_input_error(ihex_err_t err)
{
    return err <= IHEX_ERR_NO_COLON && err >= IHEX_ERR_ADDRESS;
}

ihex_err_t ihex_parse(const char *text, size_t len, ihex_image_t **out, size_t *line)
{
    size_t where = 0;
    if (line != NULL) {
        *line = 0;
    }
    if (out == NULL || (text == NULL && len != 0)) {
        return IHEX_ERR_ARG;
    }
    *out = NULL;
    parser_t p = {.img = ihex_image_new(), .base = 0, .seen_eof = false};
    if (p.img == NULL) {
        return IHEX_ERR_NOMEM;
    }
    ihex_err_t err = parse_text(&p, text, len, &where);
    if (err != IHEX_OK) {
        ihex_image_free(p.img);
        if (line != NULL && is_input_error(err)) {
            *line = where;
        }
        return err;
    }
    *out = p.img;
    return IHEX_OK;
}

/* Reads the whole stream into a malloc'ed buffer (caller frees). */
static ihex_err_t slurp(FILE *f, char **buf, size_t *len)
{
    size_t cap = 0, n = 0;
    char *p = NULL;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *q = realloc(p, ncap);
            if (q == NULL) {
                free(p);
                return IHEX_ERR_NOMEM;
            }
            p = q;
            cap = ncap;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(p);
        return IHEX_ERR_IO;
    }
    *buf = p;
    *len = n;
    return IHEX_OK;
}

ihex_err_t ihex_load_file(const char *path, ihex_image_t **out, size_t *line)
{
    if (line != NULL) {
        *line = 0;
    }
    if (path == NULL || out == NULL) {
        return IHEX_ERR_ARG;
    }
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return IHEX_ERR_IO;
    }
    char *text = NULL;
    size_t len = 0;
    ihex_err_t err = slurp(f, &text, &len);
    fclose(f);
    if (err != IHEX_OK) {
        return err;
    }
    err = ihex_parse(text, len, out, line);
    free(text);
    return err;
}

/// Writer ///

int ihex_emit_stdio(void *ctx, const char *line, size_t len)
{
    return fwrite(line, 1, len, (FILE *)ctx) == len ? 0 : -1;
}

ihex_err_t ihex_writer_init(ihex_writer_t *w, unsigned bytes_per_line, bool skip_erased,
                            ihex_emit_fn emit, void *ctx)
{
    if (w == NULL || emit == NULL || bytes_per_line < 1 || bytes_per_line > 255) {
        return IHEX_ERR_ARG;
    }
    *w = (ihex_writer_t){.emit = emit,
                         .ctx = ctx,
                         .bytes_per_line = bytes_per_line,
                         .skip_erased = skip_erased,
                         .have_upper = false,
                         .upper = 0,
                         .ended = false};
    return IHEX_OK;
}

/* Formats and emits one record; appends the checksum and '\n'. */
static ihex_err_t emit_record(ihex_writer_t *w, uint8_t type, uint16_t offset, const uint8_t *data,
                              size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    char line[1 + 2 * REC_MAX_BYTES + 1];
    uint8_t head[4] = {(uint8_t)n, (uint8_t)(offset >> 8), (uint8_t)offset, type};
    uint8_t sum = 0;
    size_t k = 0;
    line[k++] = ':';
    for (size_t i = 0; i < 4 + n; i++) {
        uint8_t b = i < 4 ? head[i] : data[i - 4];
        sum = (uint8_t)(sum + b);
        line[k++] = digits[b >> 4];
        line[k++] = digits[b & 0x0F];
    }
    sum = (uint8_t)(0x100 - sum);
    line[k++] = digits[sum >> 4];
    line[k++] = digits[sum & 0x0F];
    line[k++] = '\n';
    return w->emit(w->ctx, line, k) == 0 ? IHEX_OK : IHEX_ERR_IO;
}

static bool all_erased(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* One data record, preceded by a type-04 record if the upper bits changed. */
static ihex_err_t write_chunk(ihex_writer_t *w, uint32_t addr, const uint8_t *data, size_t n)
{
    if (w->skip_erased && all_erased(data, n)) {
        return IHEX_OK;
    }
    uint16_t upper = (uint16_t)(addr >> 16);
    if (!w->have_upper || upper != w->upper) {
        uint8_t be[2] = {(uint8_t)(upper >> 8), (uint8_t)upper};
        ihex_err_t err = emit_record(w, 4, 0, be, 2);
        if (err != IHEX_OK) {
            return err;
        }
        w->have_upper = true;
        w->upper = upper;
    }
    return emit_record(w, 0, (uint16_t)addr, data, n);
}

ihex_err_t ihex_writer_data(ihex_writer_t *w, uint32_t addr, const uint8_t *data, size_t len)
{
    if (w == NULL || w->ended || (data == NULL && len != 0)) {
        return IHEX_ERR_ARG;
    }
    if ((uint64_t)addr + len > ADDR_SPACE_END) {
        return IHEX_ERR_ADDRESS;
    }
    size_t done = 0;
    while (done < len) {
        uint32_t a = addr + (uint32_t)done;
        size_t to_64k = 0x10000u - (a & 0xFFFFu);
        size_t n = len - done;
        n = n < w->bytes_per_line ? n : w->bytes_per_line;
        n = n < to_64k ? n : to_64k;
        ihex_err_t err = write_chunk(w, a, data + done, n);
        if (err != IHEX_OK) {
            return err;
        }
        done += n;
    }
    return IHEX_OK;
}

ihex_err_t ihex_writer_end(ihex_writer_t *w)
{
    if (w == NULL || w->ended) {
        return IHEX_ERR_ARG;
    }
    w->ended = true;
    return emit_record(w, 1, 0, NULL, 0);
}

ihex_err_t ihex_write_image(const ihex_image_t *img, unsigned bytes_per_line, bool skip_erased,
                            ihex_emit_fn emit, void *ctx)
{
    if (img == NULL) {
        return IHEX_ERR_ARG;
    }
    ihex_writer_t w;
    ihex_err_t err = ihex_writer_init(&w, bytes_per_line, skip_erased, emit, ctx);
    for (size_t i = 0; err == IHEX_OK && i < img->count; i++) {
        err = ihex_writer_data(&w, img->segs[i].pub.addr, img->segs[i].buf, img->segs[i].pub.len);
    }
    return err == IHEX_OK ? ihex_writer_end(&w) : err;
}

/// Errors ///

const char *ihex_strerror(ihex_err_t err)
{
    switch (err) {
    case IHEX_OK:
        return "success";
    case IHEX_ERR_ARG:
        return "invalid argument";
    case IHEX_ERR_NOMEM:
        return "out of memory";
    case IHEX_ERR_IO:
        return "I/O error";
    case IHEX_ERR_NO_COLON:
        return "record does not start with ':'";
    case IHEX_ERR_HEX_DIGIT:
        return "invalid hex digit";
    case IHEX_ERR_LENGTH:
        return "record length does not match its byte count";
    case IHEX_ERR_CHECKSUM:
        return "bad checksum";
    case IHEX_ERR_RECORD_TYPE:
        return "unknown record type";
    case IHEX_ERR_RECORD:
        return "malformed address or EOF record";
    case IHEX_ERR_MISSING_EOF:
        return "missing EOF record";
    case IHEX_ERR_AFTER_EOF:
        return "data after EOF record";
    case IHEX_ERR_OVERLAP:
        return "data overlaps earlier data";
    case IHEX_ERR_ADDRESS:
        return "data beyond the 4 GiB address space";
    case IHEX_ERR_RANGE:
        return "requested bytes not present in image";
    }
    return "unknown ihex error";
}
