#define _DEFAULT_SOURCE /* openpty, cfmakeraw */
#include "ptyport.h"

#include <fcntl.h>
#include <pty.h>
#include <stdint.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int ptyport_open(ptyport_t *p)
{
    p->master = p->slave = -1;
    if (openpty(&p->master, &p->slave, p->name, NULL, NULL) != 0)
        return -1;
    struct termios tio;
    /* Raw from the start: no echo or line discipline may invent or eat bytes. */
    if (tcgetattr(p->slave, &tio) != 0)
        return -1;
    cfmakeraw(&tio);
    if (tcsetattr(p->slave, TCSANOW, &tio) != 0)
        return -1;
    int fl = fcntl(p->master, F_GETFL);
    return fl < 0 || fcntl(p->master, F_SETFL, fl | O_NONBLOCK) != 0 ? -1 : 0;
}

size_t ptyport_drain(ptyport_t *p)
{
    uint8_t buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = read(p->master, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    return total;
}

void ptyport_close(ptyport_t *p)
{
    if (p->master >= 0)
        close(p->master);
    if (p->slave >= 0)
        close(p->slave);
    p->master = p->slave = -1;
}
