/*
 * exitcode.h - dfuart's exit codes: its API for scripts and CI.
 * sysexits values where one fits; 80+ for verdicts sysexits has no word for.
 * The README's exit-code table must list exactly these.
 */
#ifndef CLI_EXITCODE_H
#define CLI_EXITCODE_H

enum dfuart_exit {
    DFUART_EXIT_OK = 0,           /* package sound / command succeeded */
    DFUART_EXIT_USAGE = 64,       /* EX_USAGE: bad command line */
    DFUART_EXIT_INVALID = 65,     /* EX_DATAERR: package or key file is not usable */
    DFUART_EXIT_NOINPUT = 66,     /* EX_NOINPUT: package or key file cannot be read */
    DFUART_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: serial port cannot be opened/listed */
    DFUART_EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: internal error (out of memory, ...) */
    DFUART_EXIT_IOERR = 74,       /* EX_IOERR: link failed, or retry budget spent */
    DFUART_EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: device silent (at start / after COMMIT) */
    DFUART_EXIT_PROTOCOL = 76,    /* EX_PROTOCOL: device refused (status) or broke the protocol */
    DFUART_EXIT_INTEGRITY = 80,   /* image size, hash or boot validation wrong */
    DFUART_EXIT_SIGNATURE = 81,   /* init packet signature missing or not verifying */
    DFUART_EXIT_REJECTED = 82,    /* bootloader kept the old application after COMMIT */
};

#endif
