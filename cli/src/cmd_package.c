/* cmd_package.c - `dfuart inspect` and `dfuart verify`. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

#include "cli/check.h"
#include "cli/exitcode.h"
#include "cli/pkg.h"
#include "cli/report.h"
#include "commands.h"

typedef struct {
    const char *name; /* "inspect" or "verify" */
    const char *path;
    const char *key_path;
    bool json;
} pkg_args_t;

typedef struct {
    struct option opt;
    const char *arg; /* metavariable, NULL for flags */
    const char *help;
} opt_doc_t;

/* One table drives getopt_long and --help; verify adds --key. */
static const opt_doc_t pkg_opts[] = {
    {{"json", no_argument, NULL, 'j'}, NULL, "print one JSON document instead of text"},
    {{"key", required_argument, NULL, 'k'},
     "FILE",
     "public key: PEM (public or private) or nrfutil public_key.c / hex"},
    {{"help", no_argument, NULL, 'h'}, NULL, "show this help"},
};
#define PKG_OPT_COUNT (sizeof(pkg_opts) / sizeof(pkg_opts[0]))

static bool opt_allowed(const char *cmd, const struct option *o)
{
    return strcmp(o->name, "key") != 0 || strcmp(cmd, "verify") == 0;
}

static void pkg_usage(FILE *out, const char *cmd)
{
    fprintf(out, "usage: dfuart %s PACKAGE.zip [options]\n\noptions:\n", cmd);
    for (size_t i = 0; i < PKG_OPT_COUNT; i++) {
        const opt_doc_t *d = &pkg_opts[i];
        if (!opt_allowed(cmd, &d->opt))
            continue;
        char left[32];
        snprintf(left, sizeof(left), "--%s%s%s", d->opt.name, d->arg ? " " : "",
                 d->arg ? d->arg : "");
        fprintf(out, "  %-14s %s\n", left, d->help);
    }
}

/* Returns -1 to go on, or the exit code to stop with. */
static int parse_args(int argc, char **argv, pkg_args_t *a)
{
    struct option longopts[PKG_OPT_COUNT + 1];
    size_t n = 0;
    for (size_t i = 0; i < PKG_OPT_COUNT; i++)
        if (opt_allowed(a->name, &pkg_opts[i].opt))
            longopts[n++] = pkg_opts[i].opt;
    memset(&longopts[n], 0, sizeof(longopts[n]));
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'j')
            a->json = true;
        else if (c == 'k')
            a->key_path = optarg;
        else if (c == 'h') {
            pkg_usage(stdout, a->name);
            return DFUART_EXIT_OK;
        } else {
            fprintf(stderr, "dfuart %s: %s option '%s' (try 'dfuart %s --help')\n", a->name,
                    c == ':' ? "missing value for" : "unknown", argv[optind - 1], a->name);
            return DFUART_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "dfuart %s: expected exactly one PACKAGE.zip (try 'dfuart %s --help')\n",
                a->name, a->name);
        return DFUART_EXIT_USAGE;
    }
    a->path = argv[optind];
    return -1;
}

static int pkg_exit_code(pkg_err_t e)
{
    if (e == PKG_ERR_IO)
        return DFUART_EXIT_NOINPUT;
    return e == PKG_ERR_NOMEM ? DFUART_EXIT_SOFTWARE : DFUART_EXIT_INVALID;
}

static int load_key(const pkg_args_t *a, sig_key_t **key)
{
    *key = NULL;
    if (!a->key_path)
        return DFUART_EXIT_OK;
    sig_err_t e = sig_key_load(a->key_path, key);
    if (e == SIG_OK)
        return DFUART_EXIT_OK;
    const char *why = e == SIG_ERR_IO ? strerror(errno) : NULL;
    fprintf(stderr, "dfuart: %s: %s%s%s\n", a->key_path, sig_strerror(e), why ? ": " : "",
            why ? why : "");
    return e == SIG_ERR_IO ? DFUART_EXIT_NOINPUT : DFUART_EXIT_INVALID;
}

static int verdict_code(const check_report_t *cr, const pkg_t *pkg, char *err, size_t cap)
{
    size_t idx = 0;
    const check_item_t *worst = check_worst(cr, &idx);
    if (!worst)
        return DFUART_EXIT_OK;
    snprintf(err, cap, "%s: %s: %s: %s", pkg_path(pkg), pkg_image(pkg, idx)->manifest_key,
             worst->name, worst->detail);
    if (worst->cls == CHECK_CLASS_INVALID)
        return DFUART_EXIT_INVALID;
    return worst->cls == CHECK_CLASS_SIGNATURE ? DFUART_EXIT_SIGNATURE : DFUART_EXIT_INTEGRITY;
}

static void emit(const pkg_args_t *a, const report_t *r)
{
    if (a->json)
        report_json(stdout, r);
    else if (r->pkg && strcmp(a->name, "inspect") == 0)
        report_inspect_text(stdout, r);
    else if (r->pkg)
        report_verify_text(stdout, r);
    if (r->error)
        fprintf(stderr, "dfuart: %s\n", r->error);
}

static int run(const pkg_args_t *a, const sig_key_t *key)
{
    static check_report_t checks; /* large; one per process run */
    char err[sizeof(((pkg_diag_t *)0)->msg) + 64] = "";
    pkg_diag_t diag;
    pkg_t *pkg = NULL;
    report_t r = {a->path, NULL, NULL, a->key_path, key, 0, NULL};
    pkg_err_t pe = pkg_open(a->path, &pkg, &diag);
    if (pe != PKG_OK) {
        r.exit_code = pkg_exit_code(pe);
        r.error = diag.msg;
    } else {
        check_package(pkg, key, &checks);
        r.pkg = pkg;
        r.checks = &checks;
        r.exit_code = verdict_code(&checks, pkg, err, sizeof(err));
        r.error = r.exit_code ? err : NULL;
    }
    emit(a, &r);
    pkg_close(pkg);
    return r.exit_code;
}

static int cmd_package(int argc, char **argv)
{
    pkg_args_t a = {argv[0], NULL, NULL, false};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    sig_key_t *key;
    rc = load_key(&a, &key);
    if (rc == DFUART_EXIT_OK)
        rc = run(&a, key);
    sig_key_free(key);
    return rc;
}

int cmd_inspect(int argc, char **argv)
{
    return cmd_package(argc, argv);
}

int cmd_verify(int argc, char **argv)
{
    return cmd_package(argc, argv);
}
