/*
 * dfuart - update nRF52 firmware over a UART, and prove the update first.
 * main() only dispatches; each subcommand parses, validates, then runs.
 */
#include <stdio.h>
#include <string.h>

#include "cli/exitcode.h"
#include "commands.h"

#ifndef DFUART_VERSION
#define DFUART_VERSION "0.0.0"
#endif

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"inspect", cmd_inspect, "decode an nrfutil DFU package and check its images"},
    {"verify", cmd_verify, "check a package's sizes, hashes, boot validation and signature"},
    {"update", cmd_update, "verify a package, then send its application to a device over a port"},
    {"ports", cmd_ports, "list the serial ports (name, description, USB VID:PID)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: dfuart <command> [options]\n       dfuart --help | --version\n\n");
    fprintf(out, "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'dfuart <command> --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        /* One line, like every other failure: scripts read stderr as the reason. */
        fprintf(stderr, "dfuart: no command given (try 'dfuart --help')\n");
        return DFUART_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return DFUART_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("dfuart %s\n", DFUART_VERSION);
        return DFUART_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dfuart: unknown command '%s' (try 'dfuart --help')\n", argv[1]);
    return DFUART_EXIT_USAGE;
}
