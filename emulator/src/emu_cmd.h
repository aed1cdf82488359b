/*
 * emu_cmd.h - private to the dfuart-emu executable: exit codes, the option
 * table that drives both getopt_long and --help, strict number parsing, and
 * device-file load/save with their one-line errors.
 *
 * Every message goes to stderr as one line "dfuart-emu <cmd>: <what>", naming
 * the file or the option at fault. Exit codes are documented in EMULATOR.md.
 */
#ifndef EMULATOR_EMU_CMD_H
#define EMULATOR_EMU_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "emulator/emu_device.h"

enum emu_exit {
    EMU_EXIT_OK = 0,
    EMU_EXIT_USAGE = 64,     /* EX_USAGE: bad command line */
    EMU_EXIT_DATAERR = 65,   /* EX_DATAERR: bad device file, package, image or key */
    EMU_EXIT_NOINPUT = 66,   /* EX_NOINPUT: an input file cannot be opened */
    EMU_EXIT_SOFTWARE = 70,  /* EX_SOFTWARE: out of memory, internal error */
    EMU_EXIT_CANTCREAT = 73, /* EX_CANTCREAT: output (or its temporary file) cannot be created */
    EMU_EXIT_IOERR = 74,     /* EX_IOERR: read/write/fsync/rename failed */
    EMU_EXIT_REFUSED = 80,   /* stage: the device refused the package before any flash write */
    EMU_EXIT_NOT_APP = 81,   /* stage, serve: the device did not start its application */
    EMU_EXIT_FAULT = 82,     /* the firmware faulted or failed after writing flash; saved */
    EMU_EXIT_POWER_CUT = 83, /* the requested power cut fired; device saved in that state */
};

/* One option: what getopt_long needs plus its --help line. */
typedef struct emu_opt {
    struct option opt;
    const char *arg;  /* metavariable, NULL for flags */
    const char *help; /* one line; "(required)" / defaults are part of it */
} emu_opt_t;

typedef struct emu_cmd {
    const char *name;     /* "create" */
    const char *synopsis; /* after "dfuart-emu <name> " */
    const char *summary;
    const emu_opt_t *opts;
    size_t n_opts;
    size_t n_pos; /* positional arguments required */
} emu_cmd_t;

/* Called for each option: returns -1 to go on, else the exit code to stop with. */
typedef int (*emu_opt_fn)(void *args, int id, const char *val);

/*
 * Parse argv (argv[0] is the command name) with cmd's table. Fills pos[0..n_pos).
 * Returns -1 to go on, 0 after printing --help, or EMU_EXIT_USAGE (message printed).
 */
int emu_cmd_parse(const emu_cmd_t *cmd, int argc, char **argv, emu_opt_fn fn, void *args,
                  const char **pos);
void emu_cmd_usage(FILE *out, const emu_cmd_t *cmd);

/* One-line error on stderr: "dfuart-emu <cmd>: ...". */
__attribute__((format(printf, 2, 3))) void emu_err(const char *cmd, const char *fmt, ...);

/* Strict unsigned parse (decimal or 0x hex, whole string, <= max): 0 or EMU_EXIT_USAGE. */
int emu_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t max, uint32_t *out);

/* Load/save with messages; return EMU_EXIT_OK or the exit code (message printed). */
int emu_cmd_load(const char *cmd, const char *path, emu_device_t **out);
int emu_cmd_save(const char *cmd, const emu_device_t *dev, const char *path);

/* Flash-model logs as arrays of one-line strings (flash_fault_format). */
void emu_json_logs(cJSON *obj, const flash_t *f);
/* The same logs as text lines, prefixed with `indent`. */
void emu_print_logs(FILE *out, const flash_t *f, const char *indent);
/* Print and free `obj`; EMU_EXIT_SOFTWARE if it could not be built. */
int emu_json_emit(cJSON *obj);

const char *emu_chip_name(bl_chip_t chip);
const char *emu_sdk_name(bl_sdk_t sdk);

/* Subcommands (argv[0] is the command name). */
int emu_cmd_create(int argc, char **argv);
int emu_cmd_stage(int argc, char **argv);
int emu_cmd_boot(int argc, char **argv);
int emu_cmd_settings(int argc, char **argv);
int emu_cmd_export(int argc, char **argv);
int emu_cmd_info(int argc, char **argv);
int emu_cmd_serve(int argc, char **argv);

#endif
