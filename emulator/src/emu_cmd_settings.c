/*
 * emu_cmd_settings.c - `dfuart-emu settings`: the settings page and its
 * backup decoded like `nrfutil settings display` (plus the fields nrfutil
 * omits), each with the validity rule the bootloader applies (spec 2.4).
 * Read-only: the device file is never written.
 */
#include <stdlib.h>
#include <string.h>

#include "emu_cmd.h"
#include "emulator/bl_settings.h"

enum { O_JSON = 256 };

static const emu_opt_t settings_opts[] = {
    {{"json", no_argument, NULL, O_JSON}, NULL, "print one JSON document instead of text"},
};

static const emu_cmd_t settings_cmd = {
    "settings",
    "DEV [options]",
    "Decode DEV's bootloader settings page and backup page (read-only).",
    settings_opts,
    sizeof(settings_opts) / sizeof(settings_opts[0]),
    1};

typedef struct {
    bool json;
} settings_args_t;

typedef struct {
    const char *name; /* "settings" / "backup" */
    uint32_t addr;
    bool valid;
    bl_settings_t s;
    uint8_t raw[BL_SETTINGS_SIZE];
} page_t;

static int on_opt(void *args, int id, const char *val)
{
    (void)id;
    (void)val;
    ((settings_args_t *)args)->json = true;
    return -1;
}

static void read_page(const emu_device_t *dev, const char *name, uint32_t addr, bool backup,
                      page_t *p)
{
    p->name = name;
    p->addr = addr;
    memcpy(p->raw, flash_bytes(dev->flash) + addr, BL_SETTINGS_SIZE);
    p->valid = backup ? bl_settings_backup_valid(p->raw) : bl_settings_main_valid(p->raw);
    bl_settings_decode(p->raw, &p->s);
}

static bl_settings_family_t family_of(const emu_device_t *dev)
{
    return dev->cfg.chip == BL_CHIP_NRF52840 ? BL_SETTINGS_FAMILY_NRF52840
                                             : BL_SETTINGS_FAMILY_NRF52;
}

static int print_page_text(const char *path, const emu_device_t *dev, const page_t *p)
{
    bl_settings_display_t d = {path, family_of(dev), p->addr, true};
    size_t need = bl_settings_format(&p->s, &d, NULL, 0) + 1;
    char *text = malloc(need);
    if (!text) {
        emu_err("settings", "out of memory");
        return EMU_EXIT_SOFTWARE;
    }
    bl_settings_format(&p->s, &d, text, need);
    printf("%s page at 0x%08X: %s\n%s\n", p->name, p->addr, p->valid ? "valid" : "NOT valid", text);
    free(text);
    return EMU_EXIT_OK;
}

static void add_init_command(cJSON *o, const bl_settings_t *s)
{
    uint32_t n = s->progress.command_size;
    if (n == 0 || n > BL_SETTINGS_INIT_CMD_MAX) {
        cJSON_AddNullToObject(o, "init_command_hex");
        return;
    }
    char hex[2 * BL_SETTINGS_INIT_CMD_MAX + 1];
    for (uint32_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", s->init_command[i]);
    cJSON_AddStringToObject(o, "init_command_hex", hex);
}

static void add_page_json(cJSON *j, const page_t *p)
{
    cJSON *o = cJSON_AddObjectToObject(j, p->name);
    cJSON_AddNumberToObject(o, "addr", p->addr);
    cJSON_AddBoolToObject(o, "valid", p->valid);
    bl_settings_field_t f;
    for (size_t i = 0; bl_settings_field(&p->s, i, &f); i++)
        cJSON_AddNumberToObject(o, f.key, f.value);
    add_init_command(o, &p->s);
}

static int show(const settings_args_t *a, const char *path, const emu_device_t *dev)
{
    static page_t pages[2]; /* ~2 KiB each with the decoded copy; one run per process */
    read_page(dev, "settings", dev->cfg.settings_addr, false, &pages[0]);
    read_page(dev, "backup", dev->cfg.backup_addr, true, &pages[1]);
    if (!a->json) {
        int rc = print_page_text(path, dev, &pages[0]);
        return rc != EMU_EXIT_OK ? rc : print_page_text(path, dev, &pages[1]);
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", path);
    cJSON_AddStringToObject(j, "family", bl_settings_family_name(family_of(dev)));
    add_page_json(j, &pages[0]);
    add_page_json(j, &pages[1]);
    return emu_json_emit(j);
}

int emu_cmd_settings(int argc, char **argv)
{
    settings_args_t a = {false};
    const char *pos[1];
    int rc = emu_cmd_parse(&settings_cmd, argc, argv, on_opt, &a, pos);
    if (rc >= 0)
        return rc;
    emu_device_t *dev = NULL;
    rc = emu_cmd_load("settings", pos[0], &dev);
    if (rc == EMU_EXIT_OK)
        rc = show(&a, pos[0], dev);
    emu_device_free(dev);
    return rc;
}
