#include <inttypes.h>
#include <string.h>

#include "cli/exitcode.h"
#include "cli/hex.h"
#include "cli/report.h"

#define LABEL "  %-17s"

static void print_enum(FILE *out, const char *label, bool has, uint32_t v, const char *name)
{
    if (!has)
        fprintf(out, LABEL "(absent)\n", label);
    else
        fprintf(out, LABEL "%s (%" PRIu32 ")\n", label, name ? name : "unknown", v);
}

static void print_u32(FILE *out, const char *label, bool has, uint32_t v)
{
    if (!has)
        fprintf(out, LABEL "(absent)\n", label);
    else
        fprintf(out, LABEL "%" PRIu32 " (0x%08" PRIX32 ")\n", label, v, v);
}

static void print_sd_req(FILE *out, const initpkt_t *p)
{
    fprintf(out, LABEL, "sd_req");
    if (p->sd_req_count == 0)
        fprintf(out, "(none)");
    for (size_t i = 0; i < p->sd_req_count; i++)
        fprintf(out, "%s0x%04" PRIX32, i ? ", " : "", p->sd_req[i]);
    fprintf(out, "\n");
}

static void print_hash(FILE *out, const initpkt_t *p, const check_image_t *ci)
{
    char hex[2 * INITPKT_HASH_MAX + 1];
    if (!p->has_hash) {
        fprintf(out, LABEL "(absent)\n", "hash");
        return;
    }
    const char *t = initpkt_hash_type_name(p->hash_type);
    fprintf(out, LABEL "%s %s (as stored: little-endian)\n", "hash", t ? t : "unknown",
            hex_encode(p->hash, p->hash_len, hex));
    fprintf(out, LABEL "%s (SHA-256 of the .bin, big-endian)\n", "",
            hex_encode(ci->bin_sha256, 32, hex));
}

static void print_bv(FILE *out, const initpkt_t *p)
{
    char hex[2 * INITPKT_BV_BYTES_MAX + 1];
    if (p->bv_count == 0)
        fprintf(out, LABEL "(none)\n", "boot_validation");
    for (size_t i = 0; i < p->bv_count; i++) {
        const char *t = initpkt_validation_name(p->bv[i].type);
        fprintf(out, LABEL "[%zu] %s (%" PRIu32 ") %s\n", i ? "" : "boot_validation", i,
                t ? t : "unknown", p->bv[i].type,
                p->bv[i].len ? hex_encode(p->bv[i].bytes, p->bv[i].len, hex) : "(no bytes)");
    }
}

static void print_signature(FILE *out, const initpkt_t *p)
{
    char hex[2 * INITPKT_SIG_MAX + 1];
    if (!p->is_signed) {
        fprintf(out, LABEL "(unsigned: Packet.command)\n", "signature");
        return;
    }
    const char *t = initpkt_sig_type_name(p->sig_type);
    fprintf(out, LABEL "%s (%" PRIu32 "), %zu bytes over init bytes [%zu, %zu) of the .dat\n",
            "signature", t ? t : "unknown", p->sig_type, p->sig_len, p->init_off,
            p->init_off + p->init_len);
    size_t half = p->sig_len / 2;
    fprintf(out, LABEL "r %s\n", "", hex_encode(p->sig, half, hex));
    fprintf(out, LABEL "s %s (each little-endian)\n", "",
            hex_encode(p->sig + half, p->sig_len - half, hex));
}

static void print_checks(FILE *out, const check_image_t *ci, const char *indent)
{
    for (size_t k = 0; k < ci->count; k++) {
        const check_item_t *it = &ci->item[k];
        const char *st = it->status == CHECK_PASS ? "ok" : it->status == CHECK_SKIP ? "--" : "FAIL";
        fprintf(out, "%s%-4s %-19s %s\n", indent, st, it->name, it->detail);
    }
}

static void print_header(FILE *out, const pkg_image_t *img, size_t i, size_t n)
{
    fprintf(out, "\n[%zu/%zu] %s: %s (%zu bytes), %s (%zu bytes)\n", i + 1, n, img->manifest_key,
            img->bin_name, img->bin_len, img->dat_name, img->dat_len);
    if (img->has_metadata)
        fprintf(out, LABEL "sd_size %" PRIu32 ", bl_size %" PRIu32 "\n", "metadata",
                img->meta_sd_size, img->meta_bl_size);
}

static void print_image(FILE *out, const pkg_image_t *img, const check_image_t *ci)
{
    const initpkt_t *p = &img->init;
    fprintf(out, LABEL "%s, %s\n", "packet", p->is_signed ? "signed_command" : "command",
            p->is_debug ? "is_debug true" : "is_debug false");
    print_enum(out, "op_code", p->has_op_code, p->op_code, initpkt_op_code_name(p->op_code));
    print_enum(out, "type", p->has_type, p->type, initpkt_fw_type_name(p->type));
    print_u32(out, "fw_version", p->has_fw_version, p->fw_version);
    print_u32(out, "hw_version", p->has_hw_version, p->hw_version);
    print_sd_req(out, p);
    print_u32(out, "sd_size", p->has_sd_size, p->sd_size);
    print_u32(out, "bl_size", p->has_bl_size, p->bl_size);
    print_u32(out, "app_size", p->has_app_size, p->app_size);
    print_hash(out, p, ci);
    print_bv(out, p);
    print_signature(out, p);
    fprintf(out, "  checks\n");
    print_checks(out, ci, "    ");
}

static void print_verdict(FILE *out, const report_t *r)
{
    fprintf(out, "\n%s: %s", r->path, report_verdict(r->exit_code));
    if (r->key_path)
        fprintf(out, " (key %s)", r->key_path);
    else
        fprintf(out, " (signatures not checked: no --key)");
    fprintf(out, "\n");
}

void report_inspect_text(FILE *out, const report_t *r)
{
    size_t n = pkg_image_count(r->pkg);
    fprintf(out, "%s: nrfutil DFU package, %zu image%s\n", r->path, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        print_header(out, pkg_image(r->pkg, i), i, n);
        print_image(out, pkg_image(r->pkg, i), &r->checks->image[i]);
    }
    print_verdict(out, r);
}

void report_verify_text(FILE *out, const report_t *r)
{
    size_t n = pkg_image_count(r->pkg);
    for (size_t i = 0; i < n; i++) {
        const pkg_image_t *img = pkg_image(r->pkg, i);
        fprintf(out, "[%zu/%zu] %s (%s, %zu bytes)\n", i + 1, n, img->manifest_key, img->bin_name,
                img->bin_len);
        print_checks(out, &r->checks->image[i], "  ");
    }
    print_verdict(out, r);
}

const char *report_verdict(int exit_code)
{
    switch (exit_code) {
    case DFUART_EXIT_OK:
        return "SOUND";
    case DFUART_EXIT_INTEGRITY:
        return "INTEGRITY FAILURE";
    case DFUART_EXIT_SIGNATURE:
        return "SIGNATURE FAILURE";
    case DFUART_EXIT_NOINPUT:
        return "UNREADABLE";
    default:
        return "INVALID";
    }
}
