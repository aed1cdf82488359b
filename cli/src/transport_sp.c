/*
 * transport_sp.c - the libserialport backend: real UARTs and USB serial
 * adapters, 8N1 at any baud the driver takes, flow control none/RTS-CTS/
 * XON-XOFF. libserialport 0.1.1 finds ports through sysfs, so a pty or a
 * path it cannot resolve comes back as TRANSPORT_ERR_NOT_FOUND and
 * transport_open() hands it to the termios backend.
 */
#include <limits.h>
#include <libserialport.h>
#include <stdlib.h>

#include "cli/transport.h"

/* A write may wait this long beyond its own transmission time (flow control held). */
#define SP_WRITE_SLACK_MS 2000u

/* One line from libserialport's last error (its message is heap; freed here). */
static transport_err_t sp_fail(transport_t *t, transport_err_t e, const char *what)
{
    char *msg = sp_last_error_message();
    transport_fail(t, e, "%s: %s: %s", t->path, what, msg ? msg : "unknown error");
    sp_free_error_message(msg);
    return e;
}

static int sp_read(transport_t *t, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    size_t n = cap > INT_MAX ? INT_MAX : cap;
    /* sp_blocking_read_next() waits forever when given 0. */
    enum sp_return r = timeout_ms ? sp_blocking_read_next(t->ctx, buf, n, timeout_ms)
                                  : sp_nonblocking_read(t->ctx, buf, n);
    if (r >= 0)
        return (int)r;
    return sp_fail(t, TRANSPORT_ERR_IO, "read failed");
}

static transport_err_t sp_write(transport_t *t, const uint8_t *buf, size_t n)
{
    uint32_t ms = SP_WRITE_SLACK_MS;
    if (t->baud)
        ms += (uint32_t)(((uint64_t)n * 10000u + t->baud - 1u) / t->baud);
    enum sp_return r = sp_blocking_write(t->ctx, buf, n, ms);
    if (r < 0)
        return sp_fail(t, TRANSPORT_ERR_IO, "write failed");
    if ((size_t)r < n)
        return transport_fail(t, TRANSPORT_ERR_TIMEOUT,
                              "%s: write stalled (%zu of %zu bytes sent; flow control?)", t->path,
                              (size_t)r, n);
    return TRANSPORT_OK;
}

static transport_err_t sp_drain_port(transport_t *t)
{
    return sp_drain(t->ctx) == SP_OK ? TRANSPORT_OK : sp_fail(t, TRANSPORT_ERR_IO, "drain failed");
}

static void sp_close_port(transport_t *t)
{
    if (!t->ctx)
        return;
    sp_close(t->ctx);
    sp_free_port(t->ctx);
}

static enum sp_flowcontrol sp_flow(transport_flow_t f)
{
    if (f == TRANSPORT_FLOW_RTSCTS)
        return SP_FLOWCONTROL_RTSCTS;
    return f == TRANSPORT_FLOW_XONXOFF ? SP_FLOWCONTROL_XONXOFF : SP_FLOWCONTROL_NONE;
}

static transport_err_t sp_configure(transport_t *t, struct sp_port *p,
                                    const transport_config_t *cfg)
{
    if (cfg->baud == 0 || cfg->baud > INT_MAX || sp_set_baudrate(p, (int)cfg->baud) != SP_OK)
        return sp_fail(t, TRANSPORT_ERR_CONFIG, "baud not accepted");
    if (sp_set_bits(p, 8) != SP_OK || sp_set_parity(p, SP_PARITY_NONE) != SP_OK ||
        sp_set_stopbits(p, 1) != SP_OK)
        return sp_fail(t, TRANSPORT_ERR_CONFIG, "8N1 not accepted");
    if (sp_set_flowcontrol(p, sp_flow(cfg->flow)) != SP_OK)
        return sp_fail(t, TRANSPORT_ERR_CONFIG, "flow control not accepted");
    sp_flush(p, SP_BUF_INPUT); /* stale bytes from before we opened are not ours */
    return TRANSPORT_OK;
}

transport_err_t transport_sp_open(const transport_config_t *cfg, transport_t *t)
{
    transport_err_t e = transport_prepare(cfg, t);
    if (e != TRANSPORT_OK)
        return e;
    struct sp_port *p = NULL;
    if (sp_get_port_by_name(cfg->path, &p) != SP_OK)
        return sp_fail(t, TRANSPORT_ERR_NOT_FOUND, "not a serial port libserialport knows");
    if (sp_open(p, SP_MODE_READ_WRITE) != SP_OK) {
        e = sp_fail(t, TRANSPORT_ERR_OPEN, "cannot open");
        sp_free_port(p);
        return e;
    }
    if ((e = sp_configure(t, p, cfg)) != TRANSPORT_OK) {
        sp_close(p);
        sp_free_port(p);
        return e;
    }
    t->backend = TRANSPORT_BACKEND_SERIALPORT;
    t->ctx = p;
    t->read = sp_read;
    t->write = sp_write;
    t->drain = sp_drain_port;
    t->close = sp_close_port;
    return TRANSPORT_OK;
}
