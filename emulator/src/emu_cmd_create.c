/* emu_cmd_create.c - `dfuart-emu create`: a new device file from an app, a key and knobs. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "emu_cmd.h"
#include "emulator/emu_create.h"
#include "emulator/emu_file.h"
#include "proto/sig.h"

enum {
    O_CHIP = 256,
    O_SD,
    O_APP,
    O_APP_VERSION,
    O_BL_VERSION,
    O_HW_VERSION,
    O_KEY,
    O_PROFILE,
    O_SDK,
    O_NO_SIGNED,
    O_NO_DOWNGRADE,
    O_NO_SAME,
    O_SIG_REQUIRED,
    O_DEBUG,
    O_APP_DATA,
    O_APP_BV,
    O_SD_BV,
};

static const emu_opt_t create_opts[] = {
    {{"chip", required_argument, NULL, O_CHIP}, "CHIP", "nrf52832 | nrf52840 (required)"},
    {{"softdevice", required_argument, NULL, O_SD},
     "SD",
     "s132-7.2.0 | s140-7.2.0 | none (required)"},
    {{"app", required_argument, NULL, O_APP},
     "FILE",
     "application .bin, or .hex linked at bank 0 (required)"},
    {{"app-version", required_argument, NULL, O_APP_VERSION},
     "N",
     "settings app_version (required)"},
    {{"bootloader-version", required_argument, NULL, O_BL_VERSION},
     "N",
     "settings bootloader_version (required)"},
    {{"hw-version", required_argument, NULL, O_HW_VERSION},
     "N",
     "bootloader NRF_DFU_HW_VERSION (required; SDK examples: 52)"},
    {{"public-key", required_argument, NULL, O_KEY},
     "FILE",
     "bootloader key: PEM, nrfutil public_key.c or hex (required)"},
    {{"profile", required_argument, NULL, O_PROFILE},
     "P",
     "update-from-app (default) | stock (SDK example config)"},
    {{"sdk", required_argument, NULL, O_SDK}, "V", "15.3 | 16.0 | 17.0 | 17.1 (default 17.1)"},
    {{"no-require-signed", no_argument, NULL, O_NO_SIGNED},
     NULL,
     "NRF_DFU_REQUIRE_SIGNED_APP_UPDATE=0 (default 1)"},
    {{"no-downgrade-prevention", no_argument, NULL, O_NO_DOWNGRADE},
     NULL,
     "NRF_DFU_APP_DOWNGRADE_PREVENTION=0 (default 1)"},
    {{"no-accept-same-version", no_argument, NULL, O_NO_SAME},
     NULL,
     "NRF_DFU_APP_ACCEPT_SAME_VERSION=0 (default 1)"},
    {{"app-signature-required", no_argument, NULL, O_SIG_REQUIRED},
     NULL,
     "NRF_BL_APP_SIGNATURE_CHECK_REQUIRED=1 (default 0)"},
    {{"debug-bootloader", no_argument, NULL, O_DEBUG},
     NULL,
     "NRF_DFU_DEBUG=1, a *_debug bootloader build (default 0)"},
    {{"app-data-size", required_argument, NULL, O_APP_DATA},
     "N",
     "NRF_DFU_APP_DATA_AREA_SIZE, multiple of 4096 (default 12288)"},
    {{"app-boot-validation", required_argument, NULL, O_APP_BV},
     "T",
     "none | crc (default) | sha256 (ecdsa: refused, needs the private key)"},
    {{"sd-boot-validation", required_argument, NULL, O_SD_BV},
     "T",
     "none (default) | crc | sha256 (needs a SoftDevice)"},
};

static const emu_cmd_t create_cmd = {
    "create",
    "DEV --chip CHIP --softdevice SD --app FILE --app-version N "
    "--bootloader-version N --hw-version N --public-key FILE [options]",
    "Write a new device file DEV (replaced atomically if it exists).",
    create_opts,
    sizeof(create_opts) / sizeof(create_opts[0]),
    1};

typedef struct {
    const char *chip, *sd, *app, *key, *profile, *sdk, *app_bv, *sd_bv;
    uint32_t app_version, bl_version, hw_version, app_data_size;
    unsigned have; /* bit per required number option */
    bool no_signed, no_downgrade, no_same, sig_required, debug, have_app_data;
} create_args_t;

enum { HAVE_APP_VERSION = 1, HAVE_BL_VERSION = 2, HAVE_HW_VERSION = 4 };

static int on_number(create_args_t *a, int id, const char *val)
{
    const char *name = id == O_APP_VERSION  ? "app-version"
                       : id == O_BL_VERSION ? "bootloader-version"
                       : id == O_HW_VERSION ? "hw-version"
                                            : "app-data-size";
    uint32_t *dst = id == O_APP_VERSION  ? &a->app_version
                    : id == O_BL_VERSION ? &a->bl_version
                    : id == O_HW_VERSION ? &a->hw_version
                                         : &a->app_data_size;
    if (emu_parse_u32("create", name, val, UINT32_MAX, dst) != EMU_EXIT_OK)
        return EMU_EXIT_USAGE;
    a->have |= id == O_APP_VERSION  ? HAVE_APP_VERSION
               : id == O_BL_VERSION ? HAVE_BL_VERSION
               : id == O_HW_VERSION ? HAVE_HW_VERSION
                                    : 0;
    a->have_app_data = a->have_app_data || id == O_APP_DATA;
    return -1;
}

/* Where each string or flag option lands in create_args_t; numbers go through on_number(). */
typedef struct {
    int id;
    size_t off;
    bool flag;
} arg_slot_t;

#define SLOT(id, m, flag)                                                                          \
    {                                                                                              \
        id, offsetof(create_args_t, m), flag                                                       \
    }
static const arg_slot_t slots[] = {
    SLOT(O_CHIP, chip, false),
    SLOT(O_SD, sd, false),
    SLOT(O_APP, app, false),
    SLOT(O_KEY, key, false),
    SLOT(O_PROFILE, profile, false),
    SLOT(O_SDK, sdk, false),
    SLOT(O_APP_BV, app_bv, false),
    SLOT(O_SD_BV, sd_bv, false),
    SLOT(O_NO_SIGNED, no_signed, true),
    SLOT(O_NO_DOWNGRADE, no_downgrade, true),
    SLOT(O_NO_SAME, no_same, true),
    SLOT(O_SIG_REQUIRED, sig_required, true),
    SLOT(O_DEBUG, debug, true),
};
#undef SLOT

static int on_opt(void *args, int id, const char *val)
{
    unsigned char *base = args;
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        if (slots[i].id != id)
            continue;
        if (slots[i].flag)
            *(bool *)(base + slots[i].off) = true;
        else
            *(const char **)(base + slots[i].off) = val;
        return -1;
    }
    return on_number(args, id, val);
}

static int missing(const create_args_t *a)
{
    const char *m = !a->chip                        ? "chip"
                    : !a->sd                        ? "softdevice"
                    : !a->app                       ? "app"
                    : !(a->have & HAVE_APP_VERSION) ? "app-version"
                    : !(a->have & HAVE_BL_VERSION)  ? "bootloader-version"
                    : !(a->have & HAVE_HW_VERSION)  ? "hw-version"
                    : !a->key                       ? "public-key"
                                                    : NULL;
    if (!m)
        return EMU_EXIT_OK;
    emu_err("create", "missing --%s (required; try 'dfuart-emu create --help')", m);
    return EMU_EXIT_USAGE;
}

/* Index of `s` in `names` (n entries), or -1. */
static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int bad_value(const char *opt, const char *val, const char *allowed)
{
    emu_err("create", "--%s: '%s' is not one of %s", opt, val, allowed);
    return EMU_EXIT_USAGE;
}

/* Enumerated options -> chip, profile, SDK, SoftDevice and boot validation types. */
static int parse_enums(const create_args_t *a, bl_chip_t *chip, bl_profile_t *profile,
                       emu_create_params_t *p)
{
    static const char *const chips[] = {"nrf52832", "nrf52840"};
    static const char *const profiles[] = {"update-from-app", "stock"};
    static const char *const sdks[] = {"15.3", "16.0", "17.0", "17.1"};
    static const char *const bvs[] = {"none", "crc", "sha256", "ecdsa"};
    int c = lookup(a->chip, chips, 2), pr = a->profile ? lookup(a->profile, profiles, 2) : 0;
    int sdk = a->sdk ? lookup(a->sdk, sdks, 4) : 3;
    int abv = a->app_bv ? lookup(a->app_bv, bvs, 4) : 1,
        sbv = a->sd_bv ? lookup(a->sd_bv, bvs, 4) : 0;
    if (c < 0)
        return bad_value("chip", a->chip, "nrf52832, nrf52840");
    if (!emu_sd_parse(a->sd, &p->sd))
        return bad_value("softdevice", a->sd, "s132-7.2.0, s140-7.2.0, none");
    if (pr < 0)
        return bad_value("profile", a->profile, "update-from-app, stock");
    if (sdk < 0)
        return bad_value("sdk", a->sdk, "15.3, 16.0, 17.0, 17.1");
    if (abv < 0 || sbv < 0)
        return bad_value(abv < 0 ? "app-boot-validation" : "sd-boot-validation",
                         abv < 0 ? a->app_bv : a->sd_bv, "none, crc, sha256, ecdsa");
    *chip = (bl_chip_t)c;
    *profile = (bl_profile_t)pr;
    p->cfg.sdk = (bl_sdk_t)sdk;
    p->app_bv = (bl_settings_bv_type_t)abv;
    p->sd_bv = (bl_settings_bv_type_t)sbv;
    return EMU_EXIT_OK;
}

static int build_config(const create_args_t *a, emu_create_params_t *p)
{
    bl_chip_t chip;
    bl_profile_t profile;
    emu_create_params_t tmp = {0};
    int rc = parse_enums(a, &chip, &profile, &tmp);
    if (rc != EMU_EXIT_OK)
        return rc;
    bl_config_defaults(&p->cfg, chip, profile);
    p->cfg.sdk = tmp.cfg.sdk;
    p->sd = tmp.sd;
    p->app_bv = tmp.app_bv;
    p->sd_bv = tmp.sd_bv;
    p->cfg.hw_version = a->hw_version;
    p->cfg.require_signed_app = !a->no_signed;
    p->cfg.downgrade_prevention = !a->no_downgrade;
    p->cfg.accept_same_version = !a->no_same;
    p->cfg.app_signature_required = a->sig_required;
    p->cfg.debug_build = a->debug;
    if (a->have_app_data)
        p->cfg.app_data_area_size = a->app_data_size;
    p->app_version = a->app_version;
    p->bootloader_version = a->bl_version;
    return EMU_EXIT_OK;
}

static int load_key(const char *path, bl_config_t *cfg)
{
    sig_key_t *key = NULL;
    sig_err_t e = sig_key_load(path, &key);
    if (e != SIG_OK) {
        emu_err("create", "%s: %s", path, sig_strerror(e));
        return e == SIG_ERR_IO ? EMU_EXIT_NOINPUT : EMU_EXIT_DATAERR;
    }
    sig_key_raw_le(key, cfg->public_key);
    sig_key_free(key);
    return EMU_EXIT_OK;
}

static int create_exit(emu_create_err_t e)
{
    switch (e) {
    case EMU_CREATE_OK:
        return EMU_EXIT_OK;
    case EMU_CREATE_ERR_IO:
        return EMU_EXIT_NOINPUT;
    case EMU_CREATE_ERR_NOMEM:
    case EMU_CREATE_ERR_ARG:
        return EMU_EXIT_SOFTWARE;
    case EMU_CREATE_ERR_UNSUPPORTED:
    case EMU_CREATE_ERR_LAYOUT:
        return EMU_EXIT_USAGE; /* the options asked for something impossible */
    default:
        return EMU_EXIT_DATAERR; /* the application file does not fit/match */
    }
}

static void summary(const char *path, const emu_device_t *dev, const emu_create_params_t *p)
{
    printf("%s: %s, SoftDevice %s, app %zu bytes at 0x%05X (version %u), bootloader SDK %s %s\n",
           path, emu_chip_name(dev->cfg.chip), emu_sd_name(p->sd), p->app->len,
           emu_bank0_start(dev), p->app_version, emu_sdk_name(dev->cfg.sdk),
           dev->cfg.allow_update_from_app ? "update-from-app" : "stock");
}

static int make_device(const char *path, emu_create_params_t *p, const char *app_path)
{
    emu_app_image_t app;
    emu_create_diag_t d;
    emu_create_err_t e = emu_app_load(app_path, &app, &d);
    emu_device_t *dev = NULL;
    if (e == EMU_CREATE_OK) {
        p->app = &app;
        p->app_name = app_path;
        e = emu_create_device(p, &dev, &d);
    }
    int rc = create_exit(e);
    if (e != EMU_CREATE_OK)
        emu_err("create", "%s", d.msg);
    else
        rc = emu_cmd_save("create", dev, path);
    if (rc == EMU_EXIT_OK)
        summary(path, dev, p);
    emu_device_free(dev);
    emu_app_free(&app);
    return rc;
}

int emu_cmd_create(int argc, char **argv)
{
    create_args_t a = {0};
    const char *pos[1];
    int rc = emu_cmd_parse(&create_cmd, argc, argv, on_opt, &a, pos);
    if (rc >= 0)
        return rc;
    emu_create_params_t p = {0};
    rc = missing(&a);
    if (rc == EMU_EXIT_OK)
        rc = build_config(&a, &p);
    if (rc == EMU_EXIT_OK)
        rc = load_key(a.key, &p.cfg);
    return rc == EMU_EXIT_OK ? make_device(pos[0], &p, a.app) : rc;
}
