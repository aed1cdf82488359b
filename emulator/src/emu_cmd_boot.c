/*
 * emu_cmd_boot.c - `dfuart-emu boot`: reset the device, replay the bootloader
 * (bl_boot_run) until it starts the app, stays in DFU mode or loses power,
 * and save the result. The verdict is data (exit 0); only a power cut or a
 * fault gets its own exit code, so a script can tell "settled" from "stopped".
 */
#include <string.h>

#include "emu_cmd.h"
#include "emulator/bl_boot.h"

enum { O_CUT = 256, O_JSON };

static const emu_opt_t boot_opts[] = {
    {{"power-cut-after", required_argument, NULL, O_CUT},
     "N",
     "cut power (TORN, seed N) at the Nth flash op of the boot replay"},
    {{"json", no_argument, NULL, O_JSON}, NULL, "print one JSON document instead of text"},
};

static const emu_cmd_t boot_cmd = {
    "boot",
    "DEV [options]",
    "Reset DEV and replay the SDK secure bootloader: settings load, post-validation\n"
    "of a staged update, activation copy, boot validation; save the result.",
    boot_opts,
    sizeof(boot_opts) / sizeof(boot_opts[0]),
    1};

typedef struct {
    bool json;
    uint32_t cut;
} boot_args_t;

static int on_opt(void *args, int id, const char *val)
{
    boot_args_t *a = args;
    if (id == O_JSON) {
        a->json = true;
        return -1;
    }
    if (emu_parse_u32("boot", "power-cut-after", val, UINT32_MAX, &a->cut) != EMU_EXIT_OK)
        return EMU_EXIT_USAGE;
    if (a->cut == 0) {
        emu_err("boot", "--power-cut-after: must be at least 1 (the first flash op)");
        return EMU_EXIT_USAGE;
    }
    return -1;
}

/* The verdict fields only mean something when the bootloader looked at an update. */
static bool has_verdict(const bl_boot_report_t *r)
{
    return r->update == BL_UPDATE_ACTIVATED || r->update == BL_UPDATE_REJECTED;
}

static void add_update(cJSON *j, const bl_boot_report_t *r)
{
    cJSON *u = cJSON_AddObjectToObject(j, "update");
    cJSON_AddStringToObject(u, "outcome", bl_update_name(r->update));
    if (has_verdict(r)) {
        cJSON_AddNumberToObject(u, "result", r->verdict.result);
        cJSON_AddStringToObject(u, "result_name", bl_result_name(r->verdict.result));
        cJSON_AddNumberToObject(u, "ext_error", r->verdict.ext);
        cJSON_AddStringToObject(u, "ext_error_name", bl_ext_name(r->verdict.ext));
    } else {
        cJSON_AddNullToObject(u, "result");
        cJSON_AddNullToObject(u, "result_name");
        cJSON_AddNullToObject(u, "ext_error");
        cJSON_AddNullToObject(u, "ext_error_name");
    }
    if (r->reason)
        cJSON_AddStringToObject(u, "reason", r->reason);
    else
        cJSON_AddNullToObject(u, "reason");
}

static int print_json(const char *path, const emu_device_t *dev, const bl_boot_report_t *r,
                      uint64_t ops)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", path);
    cJSON_AddStringToObject(j, "state", bl_state_name(r->state));
    cJSON_AddNumberToObject(j, "app_version", r->app_version);
    cJSON *b = cJSON_AddObjectToObject(j, "bank0");
    cJSON_AddNumberToObject(b, "start", r->bank0_start);
    cJSON_AddNumberToObject(b, "size", r->bank0_size);
    cJSON_AddNumberToObject(b, "crc32", r->bank0_crc);
    cJSON_AddBoolToObject(b, "valid", r->app_valid);
    add_update(j, r);
    cJSON_AddNumberToObject(j, "copied_bytes", r->copied_bytes);
    cJSON_AddNumberToObject(j, "resets", r->resets);
    cJSON_AddNumberToObject(j, "device_resets", dev->resets);
    cJSON_AddStringToObject(j, "settings_load", bl_settings_load_name(r->settings_load));
    cJSON_AddNumberToObject(j, "flash_ops", (double)ops);
    cJSON_AddNumberToObject(j, "clock_ns", (double)vclock_now(&dev->clock));
    if (r->note[0])
        cJSON_AddStringToObject(j, "note", r->note);
    else
        cJSON_AddNullToObject(j, "note");
    emu_json_logs(j, dev->flash);
    return emu_json_emit(j);
}

static void print_text(const char *path, const emu_device_t *dev, const bl_boot_report_t *r,
                       uint64_t ops)
{
    static const char *const what[] = {"application started", "stays in DFU mode",
                                       "power lost: boot again", "bootloader fault", "reset loop"};
    printf("%s: %s (%s) after %u reset(s)\n", path, bl_state_name(r->state),
           (unsigned)r->state < 5 ? what[r->state] : "?", r->resets);
    printf("  update:    %s", bl_update_name(r->update));
    if (has_verdict(r))
        printf(" (%s%s%s)", bl_result_name(r->verdict.result),
               r->verdict.result == BL_RES_EXT_ERROR ? " " : "",
               r->verdict.result == BL_RES_EXT_ERROR ? bl_ext_name(r->verdict.ext) : "");
    printf("%s%s\n", r->reason ? ": " : "", r->reason ? r->reason : "");
    printf("  app:       version %u, bank 0 at 0x%05X, %u bytes, CRC32 0x%08X, %s\n",
           r->app_version, r->bank0_start, r->bank0_size, r->bank0_crc,
           r->app_valid ? "valid" : "not valid");
    printf("  settings:  loaded from %s\n", bl_settings_load_name(r->settings_load));
    printf("  flash:     %llu ops, %u bytes copied\n", (unsigned long long)ops, r->copied_bytes);
    if (r->note[0])
        printf("  note:      %s\n", r->note);
    emu_print_logs(stdout, dev->flash, "  ");
}

static int exit_of(bl_state_t s)
{
    if (s == BL_STATE_APP || s == BL_STATE_DFU)
        return EMU_EXIT_OK;
    return s == BL_STATE_POWER_LOST ? EMU_EXIT_POWER_CUT : EMU_EXIT_FAULT;
}

static int run_boot(const boot_args_t *a, const char *path, emu_device_t *dev)
{
    if (a->cut && flash_cut_arm(dev->flash, a->cut, FLASH_CUT_TORN, a->cut) != FLASH_OK)
        return EMU_EXIT_SOFTWARE;
    bl_boot_report_t r;
    uint64_t ops0 = flash_op_count(dev->flash);
    bl_boot_run(dev, &r);
    uint64_t ops = flash_op_count(dev->flash) - ops0;
    flash_cut_disarm(dev->flash);
    int rc = emu_cmd_save("boot", dev, path);
    if (rc != EMU_EXIT_OK)
        return rc;
    if (a->json)
        rc = print_json(path, dev, &r, ops);
    else
        print_text(path, dev, &r, ops);
    if (a->cut && r.state != BL_STATE_POWER_LOST && !a->json)
        printf("  (power cut at op %u not reached: the replay did %llu ops)\n", a->cut,
               (unsigned long long)ops);
    if (r.state == BL_STATE_POWER_LOST)
        emu_err("boot", "%s: power cut at flash op %u of the boot replay (device saved)", path,
                a->cut);
    else if (exit_of(r.state) != EMU_EXIT_OK)
        emu_err("boot", "%s: bootloader stopped: %s", path,
                r.note[0] ? r.note : bl_state_name(r.state));
    return rc != EMU_EXIT_OK ? rc : exit_of(r.state);
}

int emu_cmd_boot(int argc, char **argv)
{
    boot_args_t a = {false, 0};
    const char *pos[1];
    int rc = emu_cmd_parse(&boot_cmd, argc, argv, on_opt, &a, pos);
    if (rc >= 0)
        return rc;
    emu_device_t *dev = NULL;
    rc = emu_cmd_load("boot", pos[0], &dev);
    if (rc == EMU_EXIT_OK)
        rc = run_boot(&a, pos[0], dev);
    emu_device_free(dev);
    return rc;
}
