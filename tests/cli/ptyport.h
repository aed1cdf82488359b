/*
 * ptyport.h - a pseudo-terminal standing in for a serial port (test helper).
 *
 * `dfuart update --port NAME` opens the slave by name; the test holds the
 * master and so sees every byte the host writes. The test also keeps a slave
 * descriptor open, so the master never reads a hang-up while no host is
 * attached: "no bytes" then really means nothing reached the port.
 */
#ifndef TESTS_PTYPORT_H
#define TESTS_PTYPORT_H

#include <stddef.h>

typedef struct {
    int master, slave; /* -1 when closed */
    char name[64];     /* the slave's path, e.g. /dev/pts/7 */
} ptyport_t;

/* Opens a pty pair (slave in raw mode, master non-blocking). 0 on success. */
int ptyport_open(ptyport_t *p);
/* Reads and discards everything the host wrote so far; returns how many bytes. */
size_t ptyport_drain(ptyport_t *p);
void ptyport_close(ptyport_t *p);

#endif
