/*
 * transport.h - the byte link under `dfuart update`: a serial port, a
 * pseudo-terminal, or (in tests) an in-memory fake.
 *
 * A transport_t is a plain struct of function pointers plus a context, so a
 * test can fill one in by hand and hand it to the session. transport_open()
 * fills one for a real path, trying two backends in order:
 *
 *   serialport  libserialport: real UARTs and USB CDC/serial adapters (it
 *               looks the port up in sysfs, so it refuses ptys);
 *   tty         POSIX termios on the path itself: pseudo-terminals (socat,
 *               modem-simulation scripts, `dfuart-emu serve`) and any other
 *               terminal libserialport will not take.
 *
 * Both are 8N1, raw, with the requested baud and flow control.
 *
 * Ownership: transport_open() allocates the backend's context; the caller
 * owns the transport_t storage and must call transport_close() exactly once
 * after a successful open (a failed open leaves nothing to free). The path
 * is copied. A transport_t is used by one thread at a time.
 */
#ifndef CLI_TRANSPORT_H
#define CLI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_PATH_MAX 256u
#define TRANSPORT_ERR_MAX  320u

/*
 * Results. Negative values only; read returns a byte count >= 0 instead.
 * ARG is a caller bug; the others describe the port or the link.
 */
typedef enum {
    TRANSPORT_OK = 0,
    TRANSPORT_ERR_ARG = -1,       /* NULL, empty path, unknown flow control (caller bug) */
    TRANSPORT_ERR_NOT_FOUND = -2, /* no such port (or the backend does not know it) */
    TRANSPORT_ERR_OPEN = -3,      /* exists but cannot be opened (busy, permission) */
    TRANSPORT_ERR_CONFIG = -4,    /* baud, framing or flow control not accepted */
    TRANSPORT_ERR_IO = -5,        /* read/write failed: disconnected, hang-up */
    TRANSPORT_ERR_TIMEOUT = -6,   /* a write did not complete in time (flow control held?) */
    TRANSPORT_ERR_NOMEM = -7,
} transport_err_t;

typedef enum {
    TRANSPORT_FLOW_NONE = 0,
    TRANSPORT_FLOW_RTSCTS = 1,
    TRANSPORT_FLOW_XONXOFF = 2, /* not offered by the CLI: binary frames contain 0x11/0x13 */
} transport_flow_t;

typedef enum {
    TRANSPORT_BACKEND_AUTO = 0, /* open: libserialport, then termios if it refuses the path */
    TRANSPORT_BACKEND_SERIALPORT = 1,
    TRANSPORT_BACKEND_TTY = 2,
    TRANSPORT_BACKEND_CUSTOM = 3, /* filled in by hand (tests) */
} transport_backend_t;

typedef struct {
    const char *path; /* "/dev/ttyACM0", "/dev/pts/3", ... */
    uint32_t baud;    /* e.g. 115200; ptys accept and ignore it */
    transport_flow_t flow;
    transport_backend_t backend; /* AUTO unless a test forces one */
} transport_config_t;

typedef struct transport transport_t;

struct transport {
    transport_backend_t backend; /* which backend transport_open() chose */
    void *ctx;                   /* backend state; owned by the backend */
    /*
     * Read up to `cap` bytes, waiting at most `timeout_ms` for the first one
     * (0: do not wait). Returns the count (0 on timeout) or a transport_err_t.
     */
    int (*read)(transport_t *t, uint8_t *buf, size_t cap, uint32_t timeout_ms);
    /* Write all `n` bytes (blocking) or fail. */
    transport_err_t (*write)(transport_t *t, const uint8_t *buf, size_t n);
    /* Wait until everything written has left the host. May be NULL. */
    transport_err_t (*drain)(transport_t *t);
    /* Release ctx. May be NULL. */
    void (*close)(transport_t *t);
    uint32_t baud; /* as configured, for timing estimates; 0 if unknown */
    char path[TRANSPORT_PATH_MAX];
    char err[TRANSPORT_ERR_MAX]; /* last failure: one line naming the port, no newline */
};

/*
 * Open `cfg->path`. On success `t` is ready and t->backend says which
 * backend took it. On failure t->err holds one line naming the path and
 * nothing needs closing. With TRANSPORT_BACKEND_AUTO a path libserialport
 * does not know (TRANSPORT_ERR_NOT_FOUND from it) is retried with termios.
 */
__attribute__((warn_unused_result)) transport_err_t transport_open(const transport_config_t *cfg,
                                                                   transport_t *t);

/* The two backends, used by transport_open(); public so tests can force one. */
__attribute__((warn_unused_result)) transport_err_t transport_sp_open(const transport_config_t *cfg,
                                                                      transport_t *t);
__attribute__((warn_unused_result)) transport_err_t
transport_tty_open(const transport_config_t *cfg, transport_t *t);

/* Thin wrappers over the function pointers (same contracts as above). */
__attribute__((warn_unused_result)) int transport_read(transport_t *t, uint8_t *buf, size_t cap,
                                                       uint32_t timeout_ms);
__attribute__((warn_unused_result)) transport_err_t transport_write(transport_t *t,
                                                                    const uint8_t *buf, size_t n);
__attribute__((warn_unused_result)) transport_err_t transport_drain(transport_t *t);
/* Safe on a zeroed or already closed transport_t. */
void transport_close(transport_t *t);

/*
 * For backends: check `cfg` (path present and short enough, known flow
 * control), zero `t`, copy the path and baud. TRANSPORT_ERR_ARG otherwise.
 */
__attribute__((warn_unused_result)) transport_err_t transport_prepare(const transport_config_t *cfg,
                                                                      transport_t *t);

/* Record a one-line error in t->err ("PATH: ..."); returns `e`. For backends. */
transport_err_t transport_fail(transport_t *t, transport_err_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *transport_strerror(transport_err_t e);
/* "serialport", "tty", "custom", "auto". */
const char *transport_backend_name(transport_backend_t b);

#endif
