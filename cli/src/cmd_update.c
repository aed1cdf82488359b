/*
 * cmd_update.c - `dfuart update PKG.zip --port PORT ...`: verify the package
 * exactly like `dfuart verify`, open the port, run the protocol session
 * (session.h), and turn its outcome into one exit code and one line.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/check.h"
#include "cli/exitcode.h"
#include "cli/pkg.h"
#include "cli/progress.h"
#include "cli/session.h"
#include "cli/transport.h"
#include "commands.h"

#define DEFAULT_BAUD      115200u
#define DEFAULT_TIMEOUT_S 10u
#define DEFAULT_RETRIES   10u
#define MAX_TIMEOUT_S     3600u
#define MAX_RETRIES       1000u

typedef struct {
    const char *pkg_path, *port, *key_path;
    uint32_t baud, timeout_s, retries;
    transport_flow_t flow;
    bool json;
} update_args_t;

typedef struct {
    struct option opt;
    const char *arg; /* metavariable, NULL for flags */
    const char *help;
} opt_doc_t;

/* One table drives getopt_long and --help. */
static const opt_doc_t update_opts[] = {
    {{"port", required_argument, NULL, 'p'},
     "PORT",
     "serial port (required): /dev/ttyACM0, /dev/ttyUSB0, a pty such as /dev/pts/3"},
    {{"baud", required_argument, NULL, 'b'}, "N", "baud rate, 8N1 (default 115200)"},
    {{"flow", required_argument, NULL, 'f'}, "MODE", "flow control: none or rtscts (default none)"},
    {{"timeout", required_argument, NULL, 't'},
     "S",
     "seconds to wait for the device to answer, at the start and after COMMIT (default 10)"},
    {{"retries", required_argument, NULL, 'r'},
     "N",
     "consecutive failures without progress before giving up (default 10)"},
    {{"key", required_argument, NULL, 'k'},
     "FILE",
     "public key: the init packet must be signed by it (as for verify)"},
    {{"json", no_argument, NULL, 'j'}, NULL, "print JSON Lines events instead of a progress bar"},
    {{"help", no_argument, NULL, 'h'}, NULL, "show this help"},
};
#define UPDATE_OPT_COUNT (sizeof(update_opts) / sizeof(update_opts[0]))

static void update_usage(FILE *out)
{
    fprintf(out, "usage: dfuart update PACKAGE.zip --port PORT [options]\n\n"
                 "Sends the package's application to a dfuart receiver and waits until the\n"
                 "device runs it.\n\noptions:\n");
    for (size_t i = 0; i < UPDATE_OPT_COUNT; i++) {
        const opt_doc_t *d = &update_opts[i];
        char left[32];
        snprintf(left, sizeof(left), "--%s%s%s", d->opt.name, d->arg ? " " : "",
                 d->arg ? d->arg : "");
        fprintf(out, "  %-16s %s\n", left, d->help);
    }
}

/* ---- arguments ------------------------------------------------------------------------ */

/* Decimal only, no sign, no trailing text, within [min, max]. */
static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static int bad_value(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "dfuart update: invalid value '%s' for --%s (expected %s)\n", val, opt, want);
    return DFUART_EXIT_USAGE;
}

/* Returns -1 to go on, or the exit code to stop with. */
static int apply_opt(update_args_t *a, int c, const char *v)
{
    switch (c) {
    case 'p':
        a->port = v;
        return -1;
    case 'b':
        return parse_u32(v, 1, 20000000u, &a->baud) ? -1 : bad_value("baud", v, "a number of baud");
    case 'f':
        /* No xonxoff: binary frames contain 0x11/0x13 and the line would eat them. */
        if (strcmp(v, "none") == 0 || strcmp(v, "rtscts") == 0) {
            a->flow = v[0] == 'n' ? TRANSPORT_FLOW_NONE : TRANSPORT_FLOW_RTSCTS;
            return -1;
        }
        return bad_value("flow", v, "none or rtscts");
    case 't':
        return parse_u32(v, 1, MAX_TIMEOUT_S, &a->timeout_s) ? -1
                                                             : bad_value("timeout", v, "1..3600");
    case 'r':
        return parse_u32(v, 0, MAX_RETRIES, &a->retries) ? -1 : bad_value("retries", v, "0..1000");
    case 'k':
        a->key_path = v;
        return -1;
    case 'j':
        a->json = true;
        return -1;
    default:
        return DFUART_EXIT_USAGE;
    }
}

static int parse_args(int argc, char **argv, update_args_t *a)
{
    struct option longopts[UPDATE_OPT_COUNT + 1];
    for (size_t i = 0; i < UPDATE_OPT_COUNT; i++)
        longopts[i] = update_opts[i].opt;
    memset(&longopts[UPDATE_OPT_COUNT], 0, sizeof(longopts[0]));
    optind = 1;
    opterr = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            update_usage(stdout);
            return DFUART_EXIT_OK;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "dfuart update: %s option '%s' (try 'dfuart update --help')\n",
                    c == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return DFUART_EXIT_USAGE;
        }
        if ((rc = apply_opt(a, c, optarg)) >= 0)
            return rc;
    }
    if (argc - optind != 1 || !a->port) {
        fprintf(stderr, "dfuart update: expected one PACKAGE.zip and --port PORT (try 'dfuart "
                        "update --help')\n");
        return DFUART_EXIT_USAGE;
    }
    a->pkg_path = argv[optind];
    return -1;
}

/* ---- failures ------------------------------------------------------------------------- */

/* The one line on stderr, and in JSON mode the `error` event on stdout. */
static int failed(progress_t *p, int code, const char *kind, const char *status, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

static int failed(progress_t *p, int code, const char *kind, const char *status, const char *fmt,
                  ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    progress_error(p, code, kind, status, msg);
    fprintf(stderr, "dfuart: %s\n", msg);
    return code;
}

/* ---- package: the same verdict as `dfuart verify` -------------------------------------- */

static int load_key(const update_args_t *a, progress_t *p, sig_key_t **key)
{
    *key = NULL;
    if (!a->key_path)
        return DFUART_EXIT_OK;
    sig_err_t e = sig_key_load(a->key_path, key);
    if (e == SIG_OK)
        return DFUART_EXIT_OK;
    const char *why = e == SIG_ERR_IO ? strerror(errno) : NULL;
    return failed(p, e == SIG_ERR_IO ? DFUART_EXIT_NOINPUT : DFUART_EXIT_INVALID, "key", NULL,
                  "%s: %s%s%s", a->key_path, sig_strerror(e), why ? ": " : "", why ? why : "");
}

static int verdict(progress_t *p, const pkg_t *pkg, const check_report_t *cr)
{
    size_t idx = 0;
    const check_item_t *worst = check_worst(cr, &idx);
    if (!worst)
        return DFUART_EXIT_OK;
    int code = worst->cls == CHECK_CLASS_INVALID     ? DFUART_EXIT_INVALID
               : worst->cls == CHECK_CLASS_SIGNATURE ? DFUART_EXIT_SIGNATURE
                                                     : DFUART_EXIT_INTEGRITY;
    return failed(p, code, "package", NULL, "%s: %s: %s: %s (not sending)", pkg_path(pkg),
                  pkg_image(pkg, idx)->manifest_key, worst->name, worst->detail);
}

/* The application image; a one-line note when other images are left out. */
static int pick_application(progress_t *p, const pkg_t *pkg, const pkg_image_t **app)
{
    *app = NULL;
    char others[96] = "";
    for (size_t i = 0; i < pkg_image_count(pkg); i++) {
        const pkg_image_t *im = pkg_image(pkg, i);
        if (im->kind == PKG_KIND_APPLICATION)
            *app = im;
        else
            snprintf(others + strlen(others), sizeof(others) - strlen(others), "%s%s",
                     others[0] ? ", " : "", im->manifest_key);
    }
    if (!*app)
        return failed(p, DFUART_EXIT_INVALID, "package", NULL,
                      "%s: no application image (%s); SoftDevice and bootloader updates need "
                      "Nordic's serial DFU",
                      pkg_path(pkg), others);
    if (others[0])
        fprintf(stderr,
                "dfuart: %s: sending only the application; the other images (%s) need "
                "Nordic's serial DFU\n",
                pkg_path(pkg), others);
    return DFUART_EXIT_OK;
}

static int load_package(const update_args_t *a, progress_t *p, const sig_key_t *key, pkg_t **pkg)
{
    static check_report_t checks; /* large; one per process run */
    pkg_diag_t diag;
    pkg_err_t e = pkg_open(a->pkg_path, pkg, &diag);
    if (e != PKG_OK) {
        int code = e == PKG_ERR_IO      ? DFUART_EXIT_NOINPUT
                   : e == PKG_ERR_NOMEM ? DFUART_EXIT_SOFTWARE
                                        : DFUART_EXIT_INVALID;
        return failed(p, code, "package", NULL, "%s", diag.msg);
    }
    check_package(*pkg, key, &checks);
    return verdict(p, *pkg, &checks);
}

/* ---- port and session ----------------------------------------------------------------- */

static int open_port(const update_args_t *a, progress_t *p, transport_t *link)
{
    transport_config_t cfg = {a->port, a->baud, a->flow, TRANSPORT_BACKEND_AUTO};
    transport_err_t e = transport_open(&cfg, link);
    if (e == TRANSPORT_OK)
        return DFUART_EXIT_OK;
    int code = e == TRANSPORT_ERR_ARG     ? DFUART_EXIT_USAGE
               : e == TRANSPORT_ERR_NOMEM ? DFUART_EXIT_SOFTWARE
                                          : DFUART_EXIT_UNAVAILABLE;
    return failed(p, code, "port", NULL, "%s", link->err);
}

static uint64_t mono_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const struct {
    session_err_t err;
    int code;
    const char *kind;
} session_exits[] = {
    {SESSION_ERR_ARG, DFUART_EXIT_SOFTWARE, "internal"},
    {SESSION_ERR_NOMEM, DFUART_EXIT_SOFTWARE, "internal"},
    {SESSION_ERR_LINK, DFUART_EXIT_IOERR, "link"},
    {SESSION_ERR_RETRIES, DFUART_EXIT_IOERR, "retries"},
    {SESSION_ERR_NO_ANSWER, DFUART_EXIT_TEMPFAIL, "no_answer"},
    {SESSION_ERR_NO_RETURN, DFUART_EXIT_TEMPFAIL, "no_return"},
    {SESSION_ERR_TOO_LARGE, DFUART_EXIT_PROTOCOL, "too_large"},
    {SESSION_ERR_REFUSED, DFUART_EXIT_PROTOCOL, "refused"},
    {SESSION_ERR_PROTOCOL, DFUART_EXIT_PROTOCOL, "protocol"},
    {SESSION_ERR_REJECTED, DFUART_EXIT_REJECTED, "rejected"},
};

static int session_failed(progress_t *p, const char *port, const session_result_t *r)
{
    int code = DFUART_EXIT_SOFTWARE;
    const char *kind = "internal";
    for (size_t i = 0; i < sizeof(session_exits) / sizeof(session_exits[0]); i++)
        if (session_exits[i].err == r->err) {
            code = session_exits[i].code;
            kind = session_exits[i].kind;
        }
    const char *status = r->err == SESSION_ERR_REFUSED     ? msg_status_name(r->status)
                         : r->err == SESSION_ERR_TOO_LARGE ? "TOO_LARGE"
                                                           : NULL;
    if (r->err == SESSION_ERR_LINK) /* the transport's message names the port already */
        return failed(p, code, kind, status, "%s", r->msg);
    return failed(p, code, kind, status, "%s: %s", port, r->msg);
}

static int run_session(const update_args_t *a, progress_t *p, const pkg_image_t *app,
                       transport_t *link)
{
    session_image_t img = {app->dat,
                           (uint32_t)app->dat_len,
                           app->bin,
                           (uint32_t)app->bin_len,
                           app->init.has_fw_version,
                           app->init.fw_version};
    session_config_t cfg = {
        link, mono_ms, NULL, progress_event, p, a->baud, a->timeout_s * 1000u, a->retries};
    session_result_t res;
    if (session_run(&cfg, &img, &res) == SESSION_OK)
        return DFUART_EXIT_OK;
    return session_failed(p, a->port, &res);
}

static int update(const update_args_t *a, progress_t *p)
{
    sig_key_t *key = NULL;
    pkg_t *pkg = NULL;
    const pkg_image_t *app = NULL;
    transport_t link;
    memset(&link, 0, sizeof(link));
    int rc = load_key(a, p, &key);
    if (rc == DFUART_EXIT_OK)
        rc = load_package(a, p, key, &pkg);
    if (rc == DFUART_EXIT_OK)
        rc = pick_application(p, pkg, &app);
    if (rc == DFUART_EXIT_OK)
        rc = open_port(a, p, &link);
    if (rc == DFUART_EXIT_OK) {
        p->target = (progress_target_t){a->pkg_path,
                                        a->port,
                                        transport_backend_name(link.backend),
                                        a->baud,
                                        (uint32_t)app->bin_len,
                                        (uint32_t)app->dat_len,
                                        app->init.has_fw_version,
                                        app->init.fw_version};
        rc = run_session(a, p, app, &link);
    }
    transport_close(&link);
    pkg_close(pkg);
    sig_key_free(key);
    return rc;
}

int cmd_update(int argc, char **argv)
{
    update_args_t a = {
        NULL, NULL, NULL, DEFAULT_BAUD, DEFAULT_TIMEOUT_S, DEFAULT_RETRIES, TRANSPORT_FLOW_NONE,
        false};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    progress_t p;
    progress_target_t t = {a.pkg_path, a.port, "none", a.baud, 0, 0, false, 0};
    progress_init(&p, stdout, progress_mode_for(stdout, a.json), &t);
    return update(&a, &p);
}
