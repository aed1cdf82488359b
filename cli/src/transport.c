/* transport.c - backend selection and the thin wrappers of transport.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/transport.h"

transport_err_t transport_prepare(const transport_config_t *cfg, transport_t *t)
{
    if (!t)
        return TRANSPORT_ERR_ARG;
    memset(t, 0, sizeof(*t));
    if (!cfg || !cfg->path || !cfg->path[0])
        return transport_fail(t, TRANSPORT_ERR_ARG, "no port given");
    if (strlen(cfg->path) >= sizeof(t->path))
        return transport_fail(t, TRANSPORT_ERR_ARG, "port path longer than %u bytes",
                              (unsigned)sizeof(t->path) - 1u);
    if (cfg->flow > TRANSPORT_FLOW_XONXOFF)
        return transport_fail(t, TRANSPORT_ERR_ARG, "%s: unknown flow control %d", cfg->path,
                              (int)cfg->flow);
    memcpy(t->path, cfg->path, strlen(cfg->path) + 1);
    t->baud = cfg->baud;
    t->backend = cfg->backend;
    return TRANSPORT_OK;
}

transport_err_t transport_open(const transport_config_t *cfg, transport_t *t)
{
    transport_err_t e = transport_prepare(cfg, t);
    if (e != TRANSPORT_OK)
        return e;
    if (cfg->backend == TRANSPORT_BACKEND_TTY)
        return transport_tty_open(cfg, t);
    e = transport_sp_open(cfg, t);
    /*
     * libserialport finds ports through sysfs, so it answers "not found" for
     * ptys and symlinks it cannot resolve; termios opens the path as given.
     * Any other refusal (busy, permission, bad baud) is the real answer.
     */
    if (e == TRANSPORT_ERR_NOT_FOUND && cfg->backend == TRANSPORT_BACKEND_AUTO)
        e = transport_tty_open(cfg, t);
    return e;
}

int transport_read(transport_t *t, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    if (!t || !t->read || (!buf && cap))
        return TRANSPORT_ERR_ARG;
    return t->read(t, buf, cap, timeout_ms);
}

transport_err_t transport_write(transport_t *t, const uint8_t *buf, size_t n)
{
    if (!t || !t->write || (!buf && n))
        return TRANSPORT_ERR_ARG;
    return n ? t->write(t, buf, n) : TRANSPORT_OK;
}

transport_err_t transport_drain(transport_t *t)
{
    if (!t)
        return TRANSPORT_ERR_ARG;
    return t->drain ? t->drain(t) : TRANSPORT_OK;
}

void transport_close(transport_t *t)
{
    if (!t)
        return;
    if (t->close)
        t->close(t);
    t->ctx = NULL;
    t->read = NULL;
    t->write = NULL;
    t->drain = NULL;
    t->close = NULL;
}

transport_err_t transport_fail(transport_t *t, transport_err_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
    return e;
}

const char *transport_strerror(transport_err_t e)
{
    switch (e) {
    case TRANSPORT_OK:
        return "ok";
    case TRANSPORT_ERR_ARG:
        return "invalid argument";
    case TRANSPORT_ERR_NOT_FOUND:
        return "no such port";
    case TRANSPORT_ERR_OPEN:
        return "port cannot be opened";
    case TRANSPORT_ERR_CONFIG:
        return "port settings not accepted";
    case TRANSPORT_ERR_IO:
        return "link I/O failed";
    case TRANSPORT_ERR_TIMEOUT:
        return "write timed out";
    case TRANSPORT_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown transport error";
}

const char *transport_backend_name(transport_backend_t b)
{
    switch (b) {
    case TRANSPORT_BACKEND_AUTO:
        return "auto";
    case TRANSPORT_BACKEND_SERIALPORT:
        return "serialport";
    case TRANSPORT_BACKEND_TTY:
        return "tty";
    case TRANSPORT_BACKEND_CUSTOM:
        return "custom";
    }
    return "unknown";
}
