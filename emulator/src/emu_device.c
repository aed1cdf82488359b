#include "emulator/emu_device.h"

#include <stdlib.h>

static uint32_t align_up_page(uint32_t v)
{
    return (v + EMU_PAGE - 1u) & ~(EMU_PAGE - 1u);
}

emu_device_t *emu_device_new(const bl_config_t *cfg)
{
    emu_device_t *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return NULL;
    dev->cfg = *cfg;
    flash_chip_t chip = cfg->chip == BL_CHIP_NRF52840 ? FLASH_CHIP_NRF52840 : FLASH_CHIP_NRF52832;
    dev->flash = flash_create(chip);
    if (!dev->flash) {
        free(dev);
        return NULL;
    }
    vclock_init(&dev->clock, 0);
    flash_attach_clock(dev->flash, &dev->clock);
    return dev;
}

void emu_device_free(emu_device_t *dev)
{
    if (!dev)
        return;
    flash_destroy(dev->flash);
    free(dev);
}

uint32_t emu_read32(const emu_device_t *dev, uint32_t addr)
{
    uint8_t b[4];
    if (flash_read(dev->flash, addr, b, 4) != FLASH_OK)
        return 0xFFFFFFFFu;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

int emu_sd_present(const emu_device_t *dev)
{
    return emu_read32(dev, EMU_SD_MAGIC_ADDR) == EMU_SD_MAGIC;
}

uint32_t emu_bank0_start(const emu_device_t *dev)
{
    return emu_sd_present(dev) ? align_up_page(emu_read32(dev, EMU_SD_SIZE_ADDR)) : EMU_MBR_SIZE;
}

uint32_t emu_bank1_start(const emu_device_t *dev, uint32_t bank0_image_size)
{
    return align_up_page(emu_bank0_start(dev) + bank0_image_size);
}
