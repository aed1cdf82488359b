#include "emulator/bl_config.h"

#include <string.h>

void bl_config_defaults(bl_config_t *cfg, bl_chip_t chip, bl_profile_t profile)
{
    memset(cfg, 0, sizeof(*cfg));
    bool big = chip == BL_CHIP_NRF52840;
    cfg->sdk = BL_SDK_17_1;
    cfg->chip = chip;
    /* Release *_uart bootloaders of SDK 15.3-17.1 (spec 1.1). */
    cfg->bl_start = big ? 0xF8000u : 0x78000u;
    cfg->bootloader_size = 0x6000u;
    cfg->app_data_area_size = 12288u;
    cfg->settings_addr = big ? 0xFF000u : 0x7F000u;
    cfg->backup_addr = big ? 0xFE000u : 0x7E000u;
    cfg->hw_version = 52u;
    cfg->require_signed_app = true;
    cfg->downgrade_prevention = true;
    cfg->accept_same_version = true;
    cfg->external_app_versioning = true;
    cfg->allow_update_from_app = profile == BL_PROFILE_UPDATE_FROM_APP;
    cfg->copy_step_pages = 8u;
}
