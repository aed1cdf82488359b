/*
 * ihex.h - strict Intel HEX reader and writer for the emulator's flash images.
 *
 * Reader: parses HEX text into a sparse image (sorted, non-overlapping,
 * maximal contiguous segments). Records 00 (data), 01 (EOF), 02 (extended
 * segment address) and 04 (extended linear address) are interpreted; 03 and
 * 05 (start address) are checked and ignored. Everything else is an error that
 * names the offending line, so a caller can print `file.hex:LINE: bad checksum`.
 * Input is untrusted: no input makes the reader crash, assert or read out of
 * bounds; it returns an error instead.
 *
 * Writer: emits data ranges as HEX text through a caller-supplied line sink,
 * with a type-04 record before the first data record and whenever the upper
 * 16 address bits change, and an EOF record at the end.
 *
 * Ownership: an ihex_image_t is created by ihex_image_new()/ihex_parse()/
 * ihex_load_file() and owned by the caller, who frees it with
 * ihex_image_free(). Segment pointers returned by ihex_image_segment() are
 * borrowed: valid until the next call that modifies or frees that image.
 * Not thread-safe per image; distinct images are independent.
 */
#ifndef EMULATOR_IHEX_H
#define EMULATOR_IHEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef IHEX_MUST_CHECK
#define IHEX_MUST_CHECK __attribute__((warn_unused_result))
#endif

/*
 * Errors. 0 is success. Values marked (input) mean the HEX text is bad and
 * come with a line number; (caller) means a bug in the calling code;
 * (system) means memory or I/O failed.
 */
typedef enum ihex_err {
    IHEX_OK = 0,
    IHEX_ERR_ARG = -1,          /* (caller) NULL pointer, bad option, lo > hi */
    IHEX_ERR_NOMEM = -2,        /* (system) allocation failed */
    IHEX_ERR_IO = -3,           /* (system) cannot read the file / the sink failed */
    IHEX_ERR_NO_COLON = -4,     /* (input) a non-empty line does not start with ':' */
    IHEX_ERR_HEX_DIGIT = -5,    /* (input) a character that is not a hex digit */
    IHEX_ERR_LENGTH = -6,       /* (input) line length disagrees with the byte count */
    IHEX_ERR_CHECKSUM = -7,     /* (input) record checksum does not sum to zero */
    IHEX_ERR_RECORD_TYPE = -8,  /* (input) record type other than 00..05 */
    IHEX_ERR_RECORD = -9,       /* (input) type 01..05 with a wrong byte count/address */
    IHEX_ERR_MISSING_EOF = -10, /* (input) text ends without a type-01 record */
    IHEX_ERR_AFTER_EOF = -11,   /* (input) a non-empty line after the EOF record */
    IHEX_ERR_OVERLAP = -12,     /* (input) a data byte is given twice */
    IHEX_ERR_ADDRESS = -13,     /* (input) data runs past address 0xFFFFFFFF */
    IHEX_ERR_RANGE = -14,       /* (query) requested bytes are not all present */
} ihex_err_t;

/* Static, human-readable text for an error ("bad checksum"). Never NULL. */
const char *ihex_strerror(ihex_err_t err);

/* One contiguous run of bytes. Borrowed view; see the ownership note above. */
typedef struct ihex_segment {
    uint32_t addr;       /* address of data[0] */
    uint32_t len;        /* >= 1 */
    const uint8_t *data; /* len bytes, owned by the image */
} ihex_segment_t;

/* Sparse image: opaque; segments are kept sorted and merged when adjacent. */
typedef struct ihex_image ihex_image_t;

/* New empty image, or NULL on allocation failure. Free with ihex_image_free(). */
ihex_image_t *ihex_image_new(void);

/* Frees the image and all its data. NULL is allowed. */
void ihex_image_free(ihex_image_t *img);

/*
 * Adds `len` bytes at `addr`. Fails with IHEX_ERR_OVERLAP if any byte is
 * already present (the image is then unchanged) and IHEX_ERR_ADDRESS if the
 * range passes 0xFFFFFFFF. `len` 0 is a no-op.
 */
IHEX_MUST_CHECK ihex_err_t ihex_image_add(ihex_image_t *img, uint32_t addr, const uint8_t *data,
                                          size_t len);

/* Number of segments (0 for an empty image). */
size_t ihex_image_segment_count(const ihex_image_t *img);

/* Segment `i` (0-based, ascending addresses), or NULL if i is out of range. */
const ihex_segment_t *ihex_image_segment(const ihex_image_t *img, size_t i);

/* Total number of data bytes present. */
uint64_t ihex_image_size(const ihex_image_t *img);

/*
 * Lowest address and one past the highest present byte (as uint64_t, so an
 * image ending at 0xFFFFFFFF is representable). IHEX_ERR_RANGE if empty.
 */
IHEX_MUST_CHECK ihex_err_t ihex_image_bounds(const ihex_image_t *img, uint32_t *lo, uint64_t *hi);

/* True if every byte of [lo, hi) is present (true for an empty range). */
bool ihex_image_covers(const ihex_image_t *img, uint32_t lo, uint64_t hi);

/*
 * Copies [lo, hi) into `out` (hi - lo bytes, caller-owned), filling bytes the
 * image does not have with 0xFF (erased flash). IHEX_ERR_ARG if lo > hi.
 */
IHEX_MUST_CHECK ihex_err_t ihex_image_flatten(const ihex_image_t *img, uint32_t lo, uint64_t hi,
                                              uint8_t *out);

/*
 * Like ihex_image_flatten() but every byte must be present: IHEX_ERR_RANGE
 * otherwise (out is then unspecified). Use for "give me the settings page".
 */
IHEX_MUST_CHECK ihex_err_t ihex_image_read(const ihex_image_t *img, uint32_t addr, uint8_t *out,
                                           size_t len);

/*
 * Parses `len` bytes of HEX text (need not be NUL-terminated). On success
 * *out is a new image owned by the caller. On failure *out is NULL and, if
 * `line` is not NULL, *line is the 1-based line of the error (for
 * IHEX_ERR_MISSING_EOF: number of lines + 1; 0 for non-input errors).
 * Accepts LF and CRLF line ends and empty lines; nothing else is tolerated.
 */
IHEX_MUST_CHECK ihex_err_t ihex_parse(const char *text, size_t len, ihex_image_t **out,
                                      size_t *line);

/* ihex_parse() on a whole file. IHEX_ERR_IO (line 0) if it cannot be read. */
IHEX_MUST_CHECK ihex_err_t ihex_load_file(const char *path, ihex_image_t **out, size_t *line);

/*
 * Line sink for the writer: receives one record including its trailing '\n'
 * (not NUL-terminated in general; `len` counts all bytes). Returns 0 on
 * success; anything else aborts the write with IHEX_ERR_IO.
 */
typedef int (*ihex_emit_fn)(void *ctx, const char *line, size_t len);

/* Ready-made sink: ctx is a FILE * opened for writing. */
int ihex_emit_stdio(void *ctx, const char *line, size_t len);

/* Writer state: caller-allocated, fields private; set up by ihex_writer_init(). */
typedef struct ihex_writer {
    ihex_emit_fn emit;
    void *ctx;
    unsigned bytes_per_line; /* 1..255; 16 (nrfutil, objcopy) or 32 usual */
    bool skip_erased;        /* drop records whose bytes are all 0xFF */
    bool have_upper;         /* false until the first type-04 record */
    uint16_t upper;          /* upper 16 address bits of the last type-04 record */
    bool ended;              /* EOF written; further data is a caller bug */
} ihex_writer_t;

/*
 * Prepares `w`. bytes_per_line must be 1..255 (IHEX_ERR_ARG otherwise).
 * With skip_erased, a record whose bytes are all 0xFF is not written (erased
 * flash reads 0xFF anyway), which keeps exports of mostly-empty flash small.
 */
IHEX_MUST_CHECK ihex_err_t ihex_writer_init(ihex_writer_t *w, unsigned bytes_per_line,
                                            bool skip_erased, ihex_emit_fn emit, void *ctx);

/*
 * Emits `len` bytes at `addr`. Records never cross a 64 KiB boundary (so each
 * stays addressable by one type-04 base) and hold at most bytes_per_line
 * bytes, starting at `addr` (no alignment). Calls may come in any order.
 */
IHEX_MUST_CHECK ihex_err_t ihex_writer_data(ihex_writer_t *w, uint32_t addr, const uint8_t *data,
                                            size_t len);

/* Emits the EOF record ":00000001FF". */
IHEX_MUST_CHECK ihex_err_t ihex_writer_end(ihex_writer_t *w);

/* Writes every segment of `img` in address order, then EOF. */
IHEX_MUST_CHECK ihex_err_t ihex_write_image(const ihex_image_t *img, unsigned bytes_per_line,
                                            bool skip_erased, ihex_emit_fn emit, void *ctx);

#endif
