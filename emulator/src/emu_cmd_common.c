/* emu_cmd_common.c - option table parsing, numbers, device-file I/O and log output for dfuart-emu.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "emu_cmd.h"
#include "emulator/emu_file.h"

#define MAX_OPTS 32

void emu_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dfuart-emu%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void emu_cmd_usage(FILE *out, const emu_cmd_t *cmd)
{
    fprintf(out, "usage: dfuart-emu %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->synopsis,
            cmd->summary);
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const emu_opt_t *o = &cmd->opts[i];
        char left[48], shortname[8] = "";
        if (o->opt.val > 0 && o->opt.val < 128 && isalpha(o->opt.val))
            snprintf(shortname, sizeof(shortname), "-%c, ", o->opt.val);
        snprintf(left, sizeof(left), "%s--%s%s%s", shortname, o->opt.name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        fprintf(out, "  %-28s %s\n", left, o->help);
    }
    fprintf(out, "  %-28s %s\n", "-h, --help", "show this help");
}

static void build_longopts(const emu_cmd_t *cmd, struct option *lo)
{
    size_t n = 0;
    for (; n < cmd->n_opts && n < MAX_OPTS - 2; n++)
        lo[n] = cmd->opts[n].opt;
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n] = (struct option){NULL, 0, NULL, 0};
}

/* ":h" plus a letter for every table option whose id is a printable character (-o). */
static void build_shortopts(const emu_cmd_t *cmd, char *so, size_t cap)
{
    size_t n = 0;
    so[n++] = ':';
    so[n++] = 'h';
    for (size_t i = 0; i < cmd->n_opts && n + 3 < cap; i++) {
        int v = cmd->opts[i].opt.val;
        if (v > 0 && v < 128 && isalpha(v)) {
            so[n++] = (char)v;
            if (cmd->opts[i].opt.has_arg == required_argument)
                so[n++] = ':';
        }
    }
    so[n] = '\0';
}

static int bad_option(const emu_cmd_t *cmd, int c, char **argv)
{
    const char *what = argv[optind - 1];
    if (c == '?' && optopt && optopt < 256 && isprint(optopt))
        emu_err(cmd->name, "unknown option '-%c' (try 'dfuart-emu %s --help')", optopt, cmd->name);
    else
        emu_err(cmd->name, "%s option '%s' (try 'dfuart-emu %s --help')",
                c == ':' ? "missing value for" : "unknown", what, cmd->name);
    return EMU_EXIT_USAGE;
}

static int check_positionals(const emu_cmd_t *cmd, int argc, char **argv, const char **pos)
{
    if ((size_t)(argc - optind) != cmd->n_pos) {
        emu_err(cmd->name, "expected %s, got %d argument(s) (try 'dfuart-emu %s --help')",
                cmd->synopsis, argc - optind, cmd->name);
        return EMU_EXIT_USAGE;
    }
    for (size_t i = 0; i < cmd->n_pos; i++)
        pos[i] = argv[optind + (int)i];
    return -1;
}

int emu_cmd_parse(const emu_cmd_t *cmd, int argc, char **argv, emu_opt_fn fn, void *args,
                  const char **pos)
{
    struct option lo[MAX_OPTS];
    char so[2 * MAX_OPTS + 4];
    build_longopts(cmd, lo);
    build_shortopts(cmd, so, sizeof(so));
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        if (c == 'h') {
            emu_cmd_usage(stdout, cmd);
            return EMU_EXIT_OK;
        }
        if (c == '?' || c == ':')
            return bad_option(cmd, c, argv);
        int rc = fn(args, c, optarg);
        if (rc >= 0)
            return rc;
    }
    return check_positionals(cmd, argc, argv, pos);
}

int emu_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t max, uint32_t *out)
{
    /* base 0 would read "010" as octal: only decimal and 0x hex are documented */
    bool hex = s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = s ? s + (hex ? 2 : 0) : "";
    char *end = NULL;
    errno = 0;
    /* strtoull accepts leading space and '-' (wrapping): require a digit first */
    bool ok = isxdigit((unsigned char)digits[0]) && (hex || isdigit((unsigned char)digits[0]));
    unsigned long long v = ok ? strtoull(digits, &end, hex ? 16 : 10) : 0;
    if (!ok || errno != 0 || *end != '\0' || v > max) {
        emu_err(cmd, "--%s: '%s' is not a number in 0..%lu (decimal or 0x hex)", opt, s ? s : "",
                (unsigned long)max);
        return EMU_EXIT_USAGE;
    }
    *out = (uint32_t)v;
    return EMU_EXIT_OK;
}

static int file_exit(emu_file_err_t e)
{
    switch (e) {
    case EMU_FILE_OK:
        return EMU_EXIT_OK;
    case EMU_FILE_ERR_OPEN:
        return EMU_EXIT_NOINPUT;
    case EMU_FILE_ERR_READ:
    case EMU_FILE_ERR_WRITE:
        return EMU_EXIT_IOERR;
    case EMU_FILE_ERR_CREATE:
        return EMU_EXIT_CANTCREAT;
    case EMU_FILE_ERR_NOMEM:
    case EMU_FILE_ERR_ARG:
        return EMU_EXIT_SOFTWARE;
    default:
        return EMU_EXIT_DATAERR;
    }
}

int emu_cmd_load(const char *cmd, const char *path, emu_device_t **out)
{
    emu_file_diag_t d;
    emu_file_err_t e = emu_file_load(path, out, &d);
    if (e != EMU_FILE_OK)
        emu_err(cmd, "%s", d.msg);
    return file_exit(e);
}

int emu_cmd_save(const char *cmd, const emu_device_t *dev, const char *path)
{
    emu_file_diag_t d;
    emu_file_err_t e = emu_file_save(dev, path, &d);
    if (e != EMU_FILE_OK)
        emu_err(cmd, "%s", d.msg);
    return file_exit(e);
}

static void format_violation(const flash_violation_t *v, char *buf, size_t n)
{
    snprintf(buf, n, "%s limit exceeded: %s at 0x%08X (count %u > limit %u)",
             v->kind == FLASH_VIOL_NWRITE ? "nWRITE" : "endurance", flash_actor_name(v->actor),
             v->addr, v->count, v->limit);
}

void emu_json_logs(cJSON *obj, const flash_t *f)
{
    char line[256];
    cJSON *faults = cJSON_AddArrayToObject(obj, "faults");
    for (size_t i = 0; faults && flash_fault_at(f, i); i++) {
        flash_fault_format(flash_fault_at(f, i), line, sizeof(line));
        cJSON_AddItemToArray(faults, cJSON_CreateString(line));
    }
    cJSON *viol = cJSON_AddArrayToObject(obj, "violations");
    for (size_t i = 0; viol && flash_violation_at(f, i); i++) {
        format_violation(flash_violation_at(f, i), line, sizeof(line));
        cJSON_AddItemToArray(viol, cJSON_CreateString(line));
    }
}

void emu_print_logs(FILE *out, const flash_t *f, const char *indent)
{
    char line[256];
    for (size_t i = 0; flash_fault_at(f, i); i++) {
        flash_fault_format(flash_fault_at(f, i), line, sizeof(line));
        fprintf(out, "%sfault: %s\n", indent, line);
    }
    for (size_t i = 0; flash_violation_at(f, i); i++) {
        format_violation(flash_violation_at(f, i), line, sizeof(line));
        fprintf(out, "%sviolation: %s\n", indent, line);
    }
}

int emu_json_emit(cJSON *obj)
{
    char *text = obj ? cJSON_Print(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        emu_err(NULL, "out of memory building JSON");
        return EMU_EXIT_SOFTWARE;
    }
    puts(text);
    cJSON_free(text);
    return EMU_EXIT_OK;
}

const char *emu_chip_name(bl_chip_t chip)
{
    return chip == BL_CHIP_NRF52840 ? "nrf52840" : "nrf52832";
}

const char *emu_sdk_name(bl_sdk_t sdk)
{
    static const char *const n[] = {"15.3", "16.0", "17.0", "17.1"};
    return (unsigned)sdk < 4 ? n[sdk] : "?";
}
