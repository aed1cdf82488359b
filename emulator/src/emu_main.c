/*
 * dfuart-emu - an emulated nRF52 (flash, SDK 15.3-17.1 secure bootloader,
 * dfuart's device staging core) kept in one device file between commands.
 * main() only dispatches; each subcommand parses, validates, then runs.
 * Reference: emulator/EMULATOR.md.
 */
#include <stdio.h>
#include <string.h>

#include "emu_cmd.h"

#ifndef DFUART_VERSION
#define DFUART_VERSION "0.0.0"
#endif

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"create", emu_cmd_create, "build a device file: MBR, SoftDevice, app, bootloader, settings"},
    {"stage", emu_cmd_stage, "boot into the app and let it stage a package in bank 1"},
    {"boot", emu_cmd_boot, "reset the device and replay the bootloader"},
    {"settings", emu_cmd_settings, "decode the settings and backup pages"},
    {"export", emu_cmd_export, "write the whole flash as raw binary or Intel HEX"},
    {"info", emu_cmd_info, "chip, bootloader configuration and flash map"},
    {"serve", emu_cmd_serve, "answer dfuart's protocol on a pseudo-terminal until stopped"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: dfuart-emu <command> DEV [options]\n"
                 "       dfuart-emu --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'dfuart-emu <command> --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        /* One line, like every other failure (EMULATOR.md "Exit codes"). */
        emu_err(NULL, "no command given (try 'dfuart-emu --help')");
        return EMU_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EMU_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dfuart-emu %s\n", DFUART_VERSION);
        return EMU_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    emu_err(NULL, "unknown command '%s' (try 'dfuart-emu --help')", argv[1]);
    return EMU_EXIT_USAGE;
}
