#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli/exitcode.h"
#include "cli/hex.h"
#include "cli/report.h"

/* Adds "key": hex, or null when there are no bytes to show. */
static void add_hex(cJSON *obj, const char *key, const uint8_t *data, size_t len, bool present)
{
    char hex[2 * INITPKT_MAX_SIZE + 1];
    if (!present || len > INITPKT_MAX_SIZE)
        cJSON_AddNullToObject(obj, key);
    else
        cJSON_AddStringToObject(obj, key, hex_encode(data, len, hex));
}

static void add_u32(cJSON *obj, const char *key, bool has, uint32_t v)
{
    if (has)
        cJSON_AddNumberToObject(obj, key, v);
    else
        cJSON_AddNullToObject(obj, key);
}

/* "name" + "name_value", both null when absent; name null for unknown values. */
static void add_enum(cJSON *obj, const char *key, bool has, uint32_t v, const char *name)
{
    char vkey[48];
    snprintf(vkey, sizeof(vkey), "%s_value", key);
    if (has && name)
        cJSON_AddStringToObject(obj, key, name);
    else
        cJSON_AddNullToObject(obj, key);
    add_u32(obj, vkey, has, v);
}

static void add_sd_req(cJSON *init, const initpkt_t *p)
{
    cJSON *list = cJSON_AddArrayToObject(init, "sd_req");
    cJSON *hex = cJSON_AddArrayToObject(init, "sd_req_hex");
    for (size_t i = 0; i < p->sd_req_count; i++) {
        char s[16];
        snprintf(s, sizeof(s), "0x%04X", (unsigned)p->sd_req[i]);
        cJSON_AddItemToArray(list, cJSON_CreateNumber(p->sd_req[i]));
        cJSON_AddItemToArray(hex, cJSON_CreateString(s));
    }
}

static void add_bv(cJSON *init, const initpkt_t *p)
{
    cJSON *list = cJSON_AddArrayToObject(init, "boot_validation");
    for (size_t i = 0; i < p->bv_count; i++) {
        cJSON *e = cJSON_CreateObject();
        add_enum(e, "type", true, p->bv[i].type, initpkt_validation_name(p->bv[i].type));
        add_hex(e, "bytes_hex", p->bv[i].bytes, p->bv[i].len, true);
        cJSON_AddItemToArray(list, e);
    }
}

static cJSON *init_json(const pkg_image_t *img)
{
    const initpkt_t *p = &img->init;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "packet_kind", p->is_signed ? "signed_command" : "command");
    add_enum(o, "op_code", p->has_op_code, p->op_code, initpkt_op_code_name(p->op_code));
    add_u32(o, "fw_version", p->has_fw_version, p->fw_version);
    add_u32(o, "hw_version", p->has_hw_version, p->hw_version);
    add_sd_req(o, p);
    add_enum(o, "type", p->has_type, p->type, initpkt_fw_type_name(p->type));
    add_u32(o, "sd_size", p->has_sd_size, p->sd_size);
    add_u32(o, "bl_size", p->has_bl_size, p->bl_size);
    add_u32(o, "app_size", p->has_app_size, p->app_size);
    add_enum(o, "hash_type", p->has_hash, p->hash_type, initpkt_hash_type_name(p->hash_type));
    add_hex(o, "hash_le_hex", p->hash, p->hash_len, p->has_hash);
    if (p->has_is_debug)
        cJSON_AddBoolToObject(o, "is_debug", p->is_debug);
    else
        cJSON_AddNullToObject(o, "is_debug");
    add_bv(o, p);
    add_enum(o, "signature_type", p->is_signed, p->sig_type, initpkt_sig_type_name(p->sig_type));
    add_hex(o, "signature_le_hex", p->sig, p->sig_len, p->is_signed);
    add_hex(o, "init_command_hex", img->dat + p->init_off, p->init_len, true);
    return o;
}

static cJSON *checks_json(const check_image_t *ci)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t k = 0; k < ci->count; k++) {
        const check_item_t *it = &ci->item[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", it->name);
        cJSON_AddStringToObject(e, "status", check_status_name(it->status));
        cJSON_AddStringToObject(e, "class", check_class_name(it->cls));
        cJSON_AddStringToObject(e, "detail", it->detail);
        cJSON_AddItemToArray(list, e);
    }
    return list;
}

static cJSON *image_json(const pkg_image_t *img, const check_image_t *ci)
{
    char hex[65];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "manifest_key", img->manifest_key);
    cJSON_AddStringToObject(o, "bin_file", img->bin_name);
    cJSON_AddNumberToObject(o, "bin_size", (double)img->bin_len);
    cJSON_AddStringToObject(o, "bin_sha256", hex_encode(ci->bin_sha256, 32, hex));
    cJSON_AddNumberToObject(o, "bin_crc32", ci->bin_crc32);
    cJSON_AddStringToObject(o, "dat_file", img->dat_name);
    cJSON_AddNumberToObject(o, "dat_size", (double)img->dat_len);
    if (img->has_metadata) {
        cJSON *m = cJSON_AddObjectToObject(o, "manifest_metadata");
        cJSON_AddNumberToObject(m, "sd_size", img->meta_sd_size);
        cJSON_AddNumberToObject(m, "bl_size", img->meta_bl_size);
    } else {
        cJSON_AddNullToObject(o, "manifest_metadata");
    }
    cJSON_AddItemToObject(o, "init", init_json(img));
    cJSON_AddItemToObject(o, "checks", checks_json(ci));
    return o;
}

static const char *json_verdict(int code)
{
    switch (code) {
    case DFUART_EXIT_OK:
        return "sound";
    case DFUART_EXIT_INTEGRITY:
        return "integrity_failure";
    case DFUART_EXIT_SIGNATURE:
        return "signature_failure";
    case DFUART_EXIT_NOINPUT:
        return "unreadable";
    default:
        return "invalid";
    }
}

static void add_key(cJSON *root, const report_t *r)
{
    if (!r->key) {
        cJSON_AddNullToObject(root, "key");
        return;
    }
    uint8_t raw[SIG_RAW_LEN];
    sig_key_raw_le(r->key, raw);
    cJSON *k = cJSON_AddObjectToObject(root, "key");
    cJSON_AddStringToObject(k, "file", r->key_path);
    add_hex(k, "public_key_le_hex", raw, sizeof(raw), true);
}

void report_json(FILE *out, const report_t *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", r->path);
    cJSON_AddStringToObject(root, "verdict", json_verdict(r->exit_code));
    cJSON_AddNumberToObject(root, "exit_code", r->exit_code);
    if (r->error)
        cJSON_AddStringToObject(root, "error", r->error);
    else
        cJSON_AddNullToObject(root, "error");
    add_key(root, r);
    cJSON *images = cJSON_AddArrayToObject(root, "images");
    for (size_t i = 0; r->pkg && i < pkg_image_count(r->pkg); i++)
        cJSON_AddItemToArray(images, image_json(pkg_image(r->pkg, i), &r->checks->image[i]));
    char *text = cJSON_Print(root);
    if (text)
        fprintf(out, "%s\n", text);
    free(text);
    cJSON_Delete(root);
}
