/*
 * cmd_ports.c - `dfuart ports [--json]`: the serial ports libserialport
 * enumerates, with description and USB VID:PID where known. Pseudo-
 * terminals are not enumerated by the OS's serial-port list; `update --port`
 * still takes their path.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <libserialport.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/exitcode.h"
#include "commands.h"

typedef struct {
    char name[128];
    char desc[160];
    const char *transport; /* "native", "usb", "bluetooth" */
    bool has_usb;
    int vid, pid;
    const char *manufacturer, *product, *serial; /* borrowed from the port; may be NULL */
} port_row_t;

typedef struct {
    struct option opt;
    const char *help;
} ports_opt_t;

static const ports_opt_t ports_opts[] = {
    {{"json", no_argument, NULL, 'j'}, "print one JSON document instead of text"},
    {{"help", no_argument, NULL, 'h'}, "show this help"},
};
#define PORTS_OPT_COUNT (sizeof(ports_opts) / sizeof(ports_opts[0]))

static void ports_usage(FILE *out)
{
    fprintf(out, "usage: dfuart ports [--json]\n\noptions:\n");
    for (size_t i = 0; i < PORTS_OPT_COUNT; i++)
        fprintf(out, "  --%-12s %s\n", ports_opts[i].opt.name, ports_opts[i].help);
}

/* Returns -1 to go on, or the exit code to stop with. */
static int parse_args(int argc, char **argv, bool *json)
{
    struct option longopts[PORTS_OPT_COUNT + 1];
    for (size_t i = 0; i < PORTS_OPT_COUNT; i++)
        longopts[i] = ports_opts[i].opt;
    memset(&longopts[PORTS_OPT_COUNT], 0, sizeof(longopts[0]));
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'j') {
            *json = true;
        } else if (c == 'h') {
            ports_usage(stdout);
            return DFUART_EXIT_OK;
        } else {
            fprintf(stderr, "dfuart ports: unknown option '%s' (try 'dfuart ports --help')\n",
                    argv[optind - 1]);
            return DFUART_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "dfuart ports: unexpected argument '%s'\n", argv[optind]);
        return DFUART_EXIT_USAGE;
    }
    return -1;
}

static const char *transport_word(enum sp_transport t)
{
    return t == SP_TRANSPORT_USB ? "usb" : t == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native";
}

static void describe(const struct sp_port *sp, port_row_t *r)
{
    const char *name = sp_get_port_name(sp), *desc = sp_get_port_description(sp);
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name ? name : "?");
    snprintf(r->desc, sizeof(r->desc), "%s", desc ? desc : "");
    r->transport = transport_word(sp_get_port_transport(sp));
    if (sp_get_port_transport(sp) == SP_TRANSPORT_USB &&
        sp_get_port_usb_vid_pid(sp, &r->vid, &r->pid) == SP_OK) {
        r->has_usb = true;
        r->manufacturer = sp_get_port_usb_manufacturer(sp);
        r->product = sp_get_port_usb_product(sp);
        r->serial = sp_get_port_usb_serial(sp);
    }
}

static void print_text(const port_row_t *r)
{
    char id[16] = "-";
    if (r->has_usb)
        snprintf(id, sizeof(id), "%04x:%04x", (unsigned)r->vid & 0xFFFFu,
                 (unsigned)r->pid & 0xFFFFu);
    printf("%-22s %-9s %-9s %s\n", r->name, r->transport, id, r->desc);
}

static void add_str(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *row_json(const port_row_t *r)
{
    cJSON *o = cJSON_CreateObject();
    char hex[8];
    add_str(o, "name", r->name);
    add_str(o, "description", r->desc);
    add_str(o, "transport", r->transport);
    snprintf(hex, sizeof(hex), "%04x", (unsigned)r->vid & 0xFFFFu);
    add_str(o, "usb_vid", r->has_usb ? hex : NULL);
    snprintf(hex, sizeof(hex), "%04x", (unsigned)r->pid & 0xFFFFu);
    add_str(o, "usb_pid", r->has_usb ? hex : NULL);
    add_str(o, "usb_manufacturer", r->manufacturer);
    add_str(o, "usb_product", r->product);
    add_str(o, "usb_serial", r->serial);
    return o;
}

static int print_json(struct sp_port **list)
{
    cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "ports");
    for (size_t i = 0; arr && list[i]; i++) {
        port_row_t r;
        describe(list[i], &r);
        cJSON_AddItemToArray(arr, row_json(&r));
    }
    char *text = arr ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) {
        fprintf(stderr, "dfuart: out of memory\n");
        return DFUART_EXIT_SOFTWARE;
    }
    printf("%s\n", text);
    cJSON_free(text);
    return DFUART_EXIT_OK;
}

static int list_ports(bool json)
{
    struct sp_port **list = NULL;
    if (sp_list_ports(&list) != SP_OK) {
        char *msg = sp_last_error_message();
        fprintf(stderr, "dfuart: cannot list serial ports: %s\n", msg ? msg : "unknown error");
        sp_free_error_message(msg);
        return DFUART_EXIT_UNAVAILABLE;
    }
    int rc = DFUART_EXIT_OK;
    if (json) {
        rc = print_json(list);
    } else if (!list[0]) {
        printf("no serial ports found (pseudo-terminals are not listed: pass their path to "
               "'update --port')\n");
    } else {
        for (size_t i = 0; list[i]; i++) {
            port_row_t r;
            describe(list[i], &r);
            print_text(&r);
        }
    }
    sp_free_port_list(list);
    return rc;
}

int cmd_ports(int argc, char **argv)
{
    bool json = false;
    int rc = parse_args(argc, argv, &json);
    return rc >= 0 ? rc : list_ports(json);
}
