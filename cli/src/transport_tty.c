/*
 * transport_tty.c - the termios backend: opens the path itself, so it works
 * on pseudo-terminals (socat, modem simulators, the emulator) that
 * libserialport cannot look up. Non-blocking fd + poll(), so reads honour
 * their timeout and a stalled write fails instead of hanging.
 */
#define _DEFAULT_SOURCE /* cfmakeraw, cfsetspeed, CRTSCTS, B460800 and up */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/transport.h"

/* A write may wait this long beyond its own transmission time (flow control, a busy pty). */
#define TTY_WRITE_SLACK_MS 2000u

typedef struct {
    int fd;
} tty_t;

static const struct {
    uint32_t baud;
    speed_t code;
} tty_speeds[] = {
    {1200, B1200},       {2400, B2400},       {4800, B4800},       {9600, B9600},
    {19200, B19200},     {38400, B38400},     {57600, B57600},     {115200, B115200},
    {230400, B230400},   {460800, B460800},   {500000, B500000},   {576000, B576000},
    {921600, B921600},   {1000000, B1000000}, {1152000, B1152000}, {1500000, B1500000},
    {2000000, B2000000}, {3000000, B3000000}, {4000000, B4000000},
};

static int tty_speed(uint32_t baud, speed_t *code)
{
    for (size_t i = 0; i < sizeof(tty_speeds) / sizeof(tty_speeds[0]); i++)
        if (tty_speeds[i].baud == baud) {
            *code = tty_speeds[i].code;
            return 1;
        }
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* 1: `events` ready; 0: timed out; <0: hang-up or poll failure. */
static int tty_wait(transport_t *t, short events, uint32_t timeout_ms)
{
    const tty_t *c = t->ctx;
    uint64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        uint64_t now = mono_ms();
        int left = now >= deadline ? 0 : (int)(deadline - now);
        struct pollfd p = {c->fd, events, 0};
        int rc = poll(&p, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return transport_fail(t, TRANSPORT_ERR_IO, "%s: poll failed: %s", t->path,
                                  strerror(errno));
        if (rc == 0)
            return 0;
        if (p.revents & events)
            return 1;
        return transport_fail(t, TRANSPORT_ERR_IO, "%s: hang-up (the other end closed the port)",
                              t->path);
    }
}

static int tty_read(transport_t *t, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    const tty_t *c = t->ctx;
    int w = tty_wait(t, POLLIN, timeout_ms);
    if (w <= 0)
        return w;
    ssize_t n = read(c->fd, buf, cap > INT_MAX ? INT_MAX : cap);
    if (n > 0)
        return (int)n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    /*
     * poll() said readable but there is nothing: the line was hung up. Linux
     * reports a pty whose master closed as POLLIN|POLLHUP, then EOF (or EIO),
     * so this is the same event tty_wait() names: say it the same way.
     */
    if (n == 0 || errno == EIO)
        return transport_fail(t, TRANSPORT_ERR_IO, "%s: hang-up (the other end closed the port)",
                              t->path);
    return transport_fail(t, TRANSPORT_ERR_IO, "%s: read failed: %s", t->path, strerror(errno));
}

static uint32_t wire_ms(size_t n, uint32_t baud)
{
    /* 10 bits per byte on an 8N1 line. */
    return baud ? (uint32_t)(((uint64_t)n * 10000u + baud - 1u) / baud) : 0u;
}

static transport_err_t tty_write(transport_t *t, const uint8_t *buf, size_t n)
{
    const tty_t *c = t->ctx;
    uint64_t deadline = mono_ms() + TTY_WRITE_SLACK_MS + wire_ms(n, t->baud);
    while (n > 0) {
        ssize_t w = write(c->fd, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return transport_fail(t, TRANSPORT_ERR_IO, "%s: write failed: %s", t->path,
                                  strerror(errno));
        uint64_t now = mono_ms();
        int rc = now < deadline ? tty_wait(t, POLLOUT, (uint32_t)(deadline - now)) : 0;
        if (rc < 0)
            return (transport_err_t)rc;
        if (rc == 0)
            return transport_fail(t, TRANSPORT_ERR_TIMEOUT,
                                  "%s: write stalled (%zu bytes not accepted; flow control?)",
                                  t->path, n);
    }
    return TRANSPORT_OK;
}

static transport_err_t tty_drain(transport_t *t)
{
    const tty_t *c = t->ctx;
    while (tcdrain(c->fd) != 0)
        if (errno != EINTR)
            return transport_fail(t, TRANSPORT_ERR_IO, "%s: drain failed: %s", t->path,
                                  strerror(errno));
    return TRANSPORT_OK;
}

static void tty_close(transport_t *t)
{
    tty_t *c = t->ctx;
    if (!c)
        return;
    close(c->fd);
    free(c);
}

static void tty_set_raw(struct termios *tio, speed_t speed, transport_flow_t flow)
{
    cfmakeraw(tio);
    tio->c_cflag &= ~(tcflag_t)(CSIZE | CSTOPB | PARENB | CRTSCTS);
    tio->c_cflag |= CS8 | CLOCAL | CREAD; /* CLOCAL: no modem-control lines needed */
    tio->c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    if (flow == TRANSPORT_FLOW_RTSCTS)
        tio->c_cflag |= CRTSCTS;
    else if (flow == TRANSPORT_FLOW_XONXOFF)
        tio->c_iflag |= IXON | IXOFF;
    /* Non-canonical, no inter-byte timer: poll() does the waiting. */
    tio->c_cc[VMIN] = 0;
    tio->c_cc[VTIME] = 0;
    cfsetspeed(tio, speed);
}

static transport_err_t tty_configure(transport_t *t, int fd, speed_t speed, transport_flow_t flow)
{
    struct termios tio;
    if (!isatty(fd))
        return transport_fail(t, TRANSPORT_ERR_CONFIG, "%s: not a terminal", t->path);
    if (tcgetattr(fd, &tio) != 0)
        return transport_fail(t, TRANSPORT_ERR_CONFIG, "%s: cannot read settings: %s", t->path,
                              strerror(errno));
    tty_set_raw(&tio, speed, flow);
    if (tcsetattr(fd, TCSANOW, &tio) != 0)
        return transport_fail(t, TRANSPORT_ERR_CONFIG, "%s: cannot apply 8N1 raw at %u baud: %s",
                              t->path, t->baud, strerror(errno));
    /* tcsetattr() succeeds if any change took; read back what matters. */
    struct termios got;
    if (tcgetattr(fd, &got) != 0 || cfgetospeed(&got) != speed || (got.c_lflag & ICANON))
        return transport_fail(t, TRANSPORT_ERR_CONFIG, "%s: the driver did not accept %u baud raw",
                              t->path, t->baud);
    tcflush(fd, TCIFLUSH); /* stale bytes from before we opened are not ours */
    return TRANSPORT_OK;
}

static transport_err_t tty_open_fd(transport_t *t, int *fd_out)
{
    int fd = open(t->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        *fd_out = fd;
        return TRANSPORT_OK;
    }
    int e = errno;
    return transport_fail(
        t, e == ENOENT || e == ENOTDIR || e == ENXIO ? TRANSPORT_ERR_NOT_FOUND : TRANSPORT_ERR_OPEN,
        "%s: cannot open: %s", t->path, strerror(e));
}

transport_err_t transport_tty_open(const transport_config_t *cfg, transport_t *t)
{
    transport_err_t e = transport_prepare(cfg, t);
    if (e != TRANSPORT_OK)
        return e;
    speed_t speed;
    if (!tty_speed(cfg->baud, &speed))
        return transport_fail(t, TRANSPORT_ERR_CONFIG,
                              "%s: baud %u is not a termios speed (e.g. 115200, 1000000)", t->path,
                              cfg->baud);
    int fd = -1;
    if ((e = tty_open_fd(t, &fd)) != TRANSPORT_OK)
        return e;
    tty_t *c = malloc(sizeof(*c));
    if (!c)
        e = transport_fail(t, TRANSPORT_ERR_NOMEM, "%s: out of memory", t->path);
    else
        e = tty_configure(t, fd, speed, cfg->flow);
    if (e != TRANSPORT_OK) {
        free(c);
        close(fd);
        return e;
    }
    c->fd = fd;
    t->backend = TRANSPORT_BACKEND_TTY;
    t->ctx = c;
    t->read = tty_read;
    t->write = tty_write;
    t->drain = tty_drain;
    t->close = tty_close;
    return TRANSPORT_OK;
}
