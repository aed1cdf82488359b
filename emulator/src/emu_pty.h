/*
 * emu_pty.h - private to dfuart-emu: the pseudo-terminal `serve` answers on,
 * and the symlink that gives it a stable name.
 *
 * The master side is the emulated device's UART; a host opens the slave
 * (through the symlink) exactly as it would open /dev/ttyACM0. serve keeps
 * one slave descriptor open itself, for two reasons: the slave's raw termios
 * settings then survive hosts opening and closing it, and the master never
 * sees a hang-up between two hosts (which poll() would report on every call,
 * turning the loop into a busy wait). Replies written while no host is
 * connected wait in the slave's input queue; a host flushes them when it
 * opens the port (dfuart's tty transport does).
 */
#ifndef EMULATOR_EMU_PTY_H
#define EMULATOR_EMU_PTY_H

#include <stddef.h>

typedef struct emu_pty {
    int master;    /* non-blocking, close-on-exec; -1 when closed */
    int slave;     /* held open by serve itself (see above); -1 when closed */
    char path[64]; /* the slave's name, e.g. /dev/pts/3 */
} emu_pty_t;

/*
 * Open a master, grant and unlock its slave, open the slave and put it in
 * raw 8N1 mode (no echo, no line editing, no CR/LF or XON/XOFF translation:
 * every byte passes untouched). 0 on success; -1 with one line in err.
 */
int emu_pty_open(emu_pty_t *p, char *err, size_t err_len);

/* Close both sides (safe on a closed or half-opened pty). */
void emu_pty_close(emu_pty_t *p);

/*
 * Make `link` a symlink to `target`. An existing symlink is replaced
 * atomically (a temporary symlink renamed over it); anything else at `link`
 * (a regular file, a directory, a device) is refused and left alone.
 * 0 on success; -1 with one line naming the link in err.
 */
int emu_link_publish(const char *link, const char *target, char *err, size_t err_len);

/* Remove `link` if it still points at `target` (another serve may have taken it over). */
void emu_link_remove(const char *link, const char *target);

#endif
