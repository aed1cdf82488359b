/*
 * emu_cmd_stage.c - `dfuart-emu stage`: boot the device into its application,
 * then run dfuart's device staging core in-process as that application, fed
 * with a package's image in 2048-byte chunks as if they came over the link.
 *
 * The device file is written only if staging touched the device (any flash
 * op, fault or power cut): a refusal before the first write (too large,
 * unsupported type, bad settings page) leaves it byte-identical, boot
 * included, as if the command had never run.
 */
#include <string.h>

#include "cli/pkg.h"
#include "emu_cmd.h"
#include "emulator/bl_boot.h"
#include "emulator/emu_hal.h"

#define STAGE_CHUNK 2048u

enum { O_CUT = 256, O_JSON };

static const emu_opt_t stage_opts[] = {
    {{"power-cut-after", required_argument, NULL, O_CUT},
     "N",
     "cut power (TORN, seed N) at the Nth flash op of staging; save that state"},
    {{"json", no_argument, NULL, O_JSON}, NULL, "print one JSON document instead of text"},
};

static const emu_cmd_t stage_cmd = {
    "stage",
    "DEV PKG.zip [options]",
    "Reset DEV into its application, which stages the package's first image in bank 1\n"
    "and rewrites the settings page (spec 8.3). Run 'boot' afterwards to let the\n"
    "bootloader validate and activate it.",
    stage_opts,
    sizeof(stage_opts) / sizeof(stage_opts[0]),
    2};

typedef struct {
    bool json;
    uint32_t cut; /* 0 = none */
} stage_args_t;

typedef enum { OUT_STAGED, OUT_REFUSED, OUT_FAULT, OUT_POWER_CUT } outcome_t;
static const char *const outcome_names[] = {"staged", "refused", "fault", "power_cut"};

static int on_opt(void *args, int id, const char *val)
{
    stage_args_t *a = args;
    if (id == O_JSON) {
        a->json = true;
        return -1;
    }
    if (emu_parse_u32("stage", "power-cut-after", val, UINT32_MAX, &a->cut) != EMU_EXIT_OK)
        return EMU_EXIT_USAGE;
    if (a->cut == 0) {
        emu_err("stage", "--power-cut-after: must be at least 1 (the first flash op)");
        return EMU_EXIT_USAGE;
    }
    return -1;
}

static int open_package(const char *path, pkg_t **pkg)
{
    pkg_diag_t d;
    pkg_err_t e = pkg_open(path, pkg, &d);
    if (e == PKG_OK && pkg_image_count(*pkg) > 0)
        return EMU_EXIT_OK;
    if (e == PKG_OK) {
        pkg_close(*pkg);
        *pkg = NULL;
        snprintf(d.msg, sizeof(d.msg), "%s: no images in the package", path);
    }
    emu_err("stage", "%s", d.msg);
    return e == PKG_ERR_IO      ? EMU_EXIT_NOINPUT
           : e == PKG_ERR_NOMEM ? EMU_EXIT_SOFTWARE
                                : EMU_EXIT_DATAERR;
}

/* The application must be running before it can stage anything. */
static int boot_to_app(const char *dev_path, emu_device_t *dev, bl_boot_report_t *boot)
{
    bl_boot_run(dev, boot);
    if (boot->state == BL_STATE_APP)
        return EMU_EXIT_OK;
    emu_err("stage", "%s: the device did not start its application (boot state %s%s%s)", dev_path,
            bl_state_name(boot->state), boot->reason || boot->note[0] ? ": " : "",
            boot->reason ? boot->reason : boot->note);
    return EMU_EXIT_NOT_APP;
}

/* Flash-level failures are faults; anything else the device said no to is a refusal. */
static outcome_t classify(const emu_stage_report_t *r, const flash_t *f)
{
    if (r->err == DFW_RESET_REQUIRED)
        return OUT_STAGED;
    if (r->flash_err == FLASH_ERR_POWER_CUT)
        return OUT_POWER_CUT;
    if (r->err == DFW_ERR_FLASH || r->err == DFW_ERR_VERIFY || r->err == DFW_ERR_ABORTED ||
        flash_fault_count(f) > 0)
        return OUT_FAULT;
    return OUT_REFUSED;
}

/* Save whenever the device changed: anything but a refusal before the first flash op. */
static bool must_save(outcome_t o, const emu_stage_report_t *r)
{
    return o != OUT_REFUSED || r->ops > 0;
}

static void report_error(const char *dev_path, const char *pkg_path, outcome_t o,
                         const emu_stage_report_t *r, const flash_t *f)
{
    char fault[256] = "";
    if (flash_fault_at(f, 0))
        flash_fault_format(flash_fault_at(f, 0), fault, sizeof(fault));
    if (o == OUT_REFUSED)
        emu_err("stage", "%s: the device refused %s in %s: %s%s", dev_path, pkg_path, r->step,
                dfw_strerror(r->err), must_save(o, r) ? " (device saved)" : "");
    else if (o == OUT_POWER_CUT)
        emu_err("stage", "%s: power cut during %s after %llu flash ops (device saved)", dev_path,
                r->step, (unsigned long long)r->ops);
    else
        emu_err("stage", "%s: staging failed in %s: %s%s%s (device saved)", dev_path, r->step,
                dfw_strerror(r->err), fault[0] ? ": " : "", fault[0] ? fault : "");
}

static void print_text(const char *pkg_path, const pkg_image_t *img, const emu_stage_report_t *r,
                       outcome_t o, const flash_t *f)
{
    if (o == OUT_STAGED)
        printf("staged %s (%s, %u bytes) in bank 1 at 0x%05X: %llu flash ops; "
               "run 'dfuart-emu boot' to activate\n",
               pkg_path, img->manifest_key, r->size, r->bank1, (unsigned long long)r->ops);
    else
        printf("%s: %s in %s after %u bytes, %llu flash ops\n", pkg_path, outcome_names[o], r->step,
               r->accepted, (unsigned long long)r->ops);
    emu_print_logs(stdout, f, "  ");
}

static int print_json(const char *dev_path, const char *pkg_path, const emu_stage_report_t *r,
                      outcome_t o, const bl_boot_report_t *boot, const flash_t *f)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", dev_path);
    cJSON_AddStringToObject(j, "package", pkg_path);
    cJSON_AddStringToObject(j, "outcome", outcome_names[o]);
    cJSON_AddNumberToObject(j, "error", r->err);
    cJSON_AddStringToObject(j, "error_name", dfw_strerror(r->err));
    cJSON_AddStringToObject(j, "step", r->step ? r->step : "begin");
    cJSON_AddNumberToObject(j, "bank1", r->bank1);
    cJSON_AddNumberToObject(j, "size", r->size);
    cJSON_AddNumberToObject(j, "accepted", r->accepted);
    cJSON_AddNumberToObject(j, "flash_ops", (double)r->ops);
    if (r->flash_err != FLASH_OK)
        cJSON_AddStringToObject(j, "flash_error", flash_strerror(r->flash_err));
    else
        cJSON_AddNullToObject(j, "flash_error");
    cJSON_AddBoolToObject(j, "saved", must_save(o, r));
    cJSON *b = cJSON_AddObjectToObject(j, "boot");
    cJSON_AddStringToObject(b, "state", bl_state_name(boot->state));
    cJSON_AddNumberToObject(b, "app_version", boot->app_version);
    cJSON_AddNumberToObject(b, "resets", boot->resets);
    emu_json_logs(j, f);
    return emu_json_emit(j);
}

/* A device_fw bug, not a verdict on the package: nothing of it is saved. */
static int fence_hit(const char *dev_path, const emu_fence_t *fence)
{
    char line[256];
    emu_fence_format(fence, line, sizeof(line));
    emu_err("stage", "%s: %s; device file untouched", dev_path, line);
    return EMU_EXIT_SOFTWARE;
}

static int exit_of(outcome_t o)
{
    static const int codes[] = {EMU_EXIT_OK, EMU_EXIT_REFUSED, EMU_EXIT_FAULT, EMU_EXIT_POWER_CUT};
    return codes[o];
}

static int stage_image(const stage_args_t *a, const char *const *pos, emu_device_t *dev,
                       const pkg_image_t *img)
{
    bl_boot_report_t boot;
    int rc = boot_to_app(pos[0], dev, &boot);
    if (rc != EMU_EXIT_OK)
        return rc;
    flash_clear_logs(dev->flash); /* report what staging did, not the boot */
    if (a->cut && flash_cut_arm(dev->flash, a->cut, FLASH_CUT_TORN, a->cut) != FLASH_OK)
        return EMU_EXIT_SOFTWARE;
    emu_stage_report_t r;
    emu_stage_app(dev, emu_hal_app_actor(dev), img->dat, img->dat_len, img->bin, img->bin_len,
                  STAGE_CHUNK, &r);
    flash_cut_disarm(dev->flash);
    if (r.fence.hits)
        return fence_hit(pos[0], &r.fence);
    outcome_t o = classify(&r, dev->flash);
    if (o != OUT_STAGED)
        report_error(pos[0], pos[1], o, &r, dev->flash);
    rc = must_save(o, &r) ? emu_cmd_save("stage", dev, pos[0]) : EMU_EXIT_OK;
    if (rc != EMU_EXIT_OK)
        return rc;
    if (a->json)
        rc = print_json(pos[0], pos[1], &r, o, &boot, dev->flash);
    else
        print_text(pos[1], img, &r, o, dev->flash);
    if (a->cut && o != OUT_POWER_CUT && !a->json)
        printf("  (power cut at op %u not reached: staging did %llu ops)\n", a->cut,
               (unsigned long long)r.ops);
    return rc != EMU_EXIT_OK ? rc : exit_of(o);
}

int emu_cmd_stage(int argc, char **argv)
{
    stage_args_t a = {false, 0};
    const char *pos[2];
    int rc = emu_cmd_parse(&stage_cmd, argc, argv, on_opt, &a, pos);
    if (rc >= 0)
        return rc;
    emu_device_t *dev = NULL;
    pkg_t *pkg = NULL;
    rc = emu_cmd_load("stage", pos[0], &dev);
    if (rc == EMU_EXIT_OK)
        rc = open_package(pos[1], &pkg);
    if (rc == EMU_EXIT_OK)
        rc = stage_image(&a, pos, dev, pkg_image(pkg, 0)); /* first image, transfer order */
    pkg_close(pkg);
    emu_device_free(dev);
    return rc;
}
