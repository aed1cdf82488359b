/* emu_pty.c - the pseudo-terminal and its symlink for `dfuart-emu serve` (emu_pty.h). */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname; O_CLOEXEC (POSIX 2008) */
#include "emu_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* cfmakeraw() spelled out with POSIX flags only, plus 8N1 and CLOCAL. */
static int make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0)
        return -1;
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |
                             IXOFF | IXANY);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB);
    t.c_cflag |= CS8 | CREAD | CLOCAL;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSANOW, &t);
}

static int set_fd_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fd_fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fd_fl < 0)
        return -1;
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    return fcntl(fd, F_SETFD, fd_fl | FD_CLOEXEC);
}

static int open_master(emu_pty_t *p, char *err, size_t n)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (p->master < 0)
        return fail(err, n, "cannot open a pseudo-terminal: %s", strerror(errno));
    if (grantpt(p->master) != 0 || unlockpt(p->master) != 0 || set_fd_flags(p->master) != 0)
        return fail(err, n, "cannot set up the pseudo-terminal: %s", strerror(errno));
    const char *name = ptsname(p->master); /* static buffer: copied at once */
    if (!name || strlen(name) >= sizeof(p->path))
        return fail(err, n, "cannot name the pseudo-terminal's slave");
    snprintf(p->path, sizeof(p->path), "%s", name);
    return 0;
}

int emu_pty_open(emu_pty_t *p, char *err, size_t err_len)
{
    *p = (emu_pty_t){-1, -1, ""};
    if (open_master(p, err, err_len) != 0) {
        emu_pty_close(p);
        return -1;
    }
    p->slave = open(p->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->slave < 0 || make_raw(p->slave) != 0) {
        fail(err, err_len, "%s: cannot open it in raw mode: %s", p->path, strerror(errno));
        emu_pty_close(p);
        return -1;
    }
    return 0;
}

void emu_pty_close(emu_pty_t *p)
{
    if (p->slave >= 0)
        close(p->slave);
    if (p->master >= 0)
        close(p->master);
    p->slave = p->master = -1;
}

/* What may be replaced: nothing there yet, or a symlink. */
static int check_link_slot(const char *link, char *err, size_t n)
{
    struct stat st;
    if (lstat(link, &st) != 0)
        return errno == ENOENT ? 0 : fail(err, n, "%s: %s", link, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return 0;
    return fail(err, n, "%s: exists and is not a symlink; refusing to replace it", link);
}

int emu_link_publish(const char *link, const char *target, char *err, size_t err_len)
{
    if (check_link_slot(link, err, err_len) != 0)
        return -1;
    size_t n = strlen(link) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return fail(err, err_len, "%s: out of memory", link);
    /* rename() over the old link: a host never sees LINK missing or half made. */
    snprintf(tmp, n, "%s.serve-%ld", link, (long)getpid());
    (void)unlink(tmp); /* a leftover of a killed serve with the same pid */
    int rc = 0;
    if (symlink(target, tmp) != 0)
        rc =
            fail(err, err_len, "%s: cannot create a symlink next to it: %s", link, strerror(errno));
    else if (rename(tmp, link) != 0) {
        rc = fail(err, err_len, "%s: cannot replace it: %s", link, strerror(errno));
        (void)unlink(tmp);
    }
    free(tmp);
    return rc;
}

void emu_link_remove(const char *link, const char *target)
{
    char now[256];
    ssize_t n = readlink(link, now, sizeof(now) - 1);
    if (n < 0)
        return;
    now[n] = '\0';
    if (strcmp(now, target) == 0)
        (void)unlink(link);
}
