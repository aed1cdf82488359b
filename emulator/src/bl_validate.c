#include "emulator/bl_validate.h"

#include "proto/sig.h"

#define SD_REQ_ANY_VERSION 0xFFFEu

static bl_verdict_t ext(bl_ext_t e)
{
    return (bl_verdict_t){BL_RES_EXT_ERROR, e};
}

static bl_verdict_t res(bl_result_t r)
{
    return (bl_verdict_t){r, BL_EXT_NO_ERROR};
}

static bool ok(bl_verdict_t v)
{
    return v.result == BL_RES_SUCCESS;
}

/* A missing type counts as APPLICATION here (spec 5.3 note). */
static bool signature_required(const bl_config_t *cfg, uint32_t type)
{
    if (type == INITPKT_FW_APPLICATION)
        return cfg->require_signed_app;
    if (type == INITPKT_FW_SOFTDEVICE && bl_config_mbr_only(cfg))
        return cfg->require_signed_app;
    return true;
}

static bl_verdict_t check_signature(const bl_config_t *cfg, const initpkt_t *p, const uint8_t *dat)
{
    if (!signature_required(cfg, p->has_type ? p->type : 0))
        return BL_VERDICT_OK;
    if (!p->is_signed)
        return ext(BL_EXT_SIGNATURE_MISSING);
    if (p->sig_type != INITPKT_SIG_ECDSA_P256_SHA256)
        return ext(BL_EXT_WRONG_SIGNATURE_TYPE);
    if (p->sig_len != SIG_RAW_LEN)
        return res(BL_RES_OPERATION_FAILED);
    sig_key_t *key;
    if (sig_key_from_raw_le(cfg->public_key, &key) != SIG_OK)
        return res(BL_RES_INVALID_OBJECT); /* a bootloader with a bad pk verifies nothing */
    sig_err_t e = sig_verify_le(key, dat + p->init_off, p->init_len, p->sig, p->sig_len);
    sig_key_free(key);
    /* A failed ECDSA verify is a plain INVALID_OBJECT, not an ext error (spec 11.3 #7). */
    return e == SIG_OK ? BL_VERDICT_OK : res(BL_RES_INVALID_OBJECT);
}

static bool type_known(const bl_config_t *cfg, const initpkt_t *p)
{
    if (!p->has_type)
        return false;
    if (p->type <= INITPKT_FW_SOFTDEVICE_BOOTLOADER)
        return true;
    return p->type == INITPKT_FW_EXTERNAL_APPLICATION && cfg->supports_external_app;
}

static bool sd_req_match(const initpkt_t *p, const bl_device_view_t *dev)
{
    for (size_t i = 0; i < p->sd_req_count; i++) {
        if (dev->sd_present && p->sd_req[i] == dev->sd_fwid)
            return true;
        if (p->type == INITPKT_FW_EXTERNAL_APPLICATION && p->sd_req[i] == SD_REQ_ANY_VERSION)
            return true;
    }
    return false;
}

static bool sd_req_ok_with_sd(const bl_config_t *cfg, const initpkt_t *p,
                              const bl_device_view_t *dev, bool prevent)
{
    if (p->sd_req_count == 0)
        return false;
    if (p->sd_req[0] != 0)
        return sd_req_match(p, dev);
    if (p->type == INITPKT_FW_APPLICATION) {
        if (prevent && p->sd_req_count > 1)
            return cfg->ble_transport ? false : sd_req_match(p, dev);
        return true; /* the app overwrites the SD */
    }
    if (p->type == INITPKT_FW_EXTERNAL_APPLICATION)
        return false;
    return !prevent || p->type != INITPKT_FW_SOFTDEVICE;
}

bool bl_sd_req_ok(const bl_config_t *cfg, const initpkt_t *p, const bl_device_view_t *dev)
{
    bool prevent =
        cfg->downgrade_prevention || (cfg->ble_transport && p->type == INITPKT_FW_SOFTDEVICE);
    if (dev->sd_present)
        return sd_req_ok_with_sd(cfg, p, dev, prevent);
    if (p->sd_req_count > 0 && p->sd_req[0] != 0) {
        bool ext_app = cfg->supports_external_app && p->type == INITPKT_FW_EXTERNAL_APPLICATION;
        return ext_app && sd_req_match(p, dev);
    }
    return !prevent || p->has_fw_version;
}

bool bl_fw_version_ok(const bl_config_t *cfg, const initpkt_t *p, const bl_device_view_t *dev)
{
    uint32_t v = p->fw_version;
    switch (p->type) {
    case INITPKT_FW_APPLICATION:
    case INITPKT_FW_SOFTDEVICE: /* yes: SD updates compare with app_version (spec 5.5) */
        return !cfg->downgrade_prevention || v > dev->app_version ||
               (v == dev->app_version && cfg->accept_same_version);
    case INITPKT_FW_EXTERNAL_APPLICATION:
        return !cfg->external_app_versioning || v >= dev->app_version;
    case INITPKT_FW_BOOTLOADER:
    case INITPKT_FW_SOFTDEVICE_BOOTLOADER:
        return v > dev->bootloader_version;
    default:
        return false;
    }
}

static bool fw_version_required(const bl_config_t *cfg, uint32_t type)
{
    switch (type) {
    case INITPKT_FW_BOOTLOADER:
    case INITPKT_FW_SOFTDEVICE_BOOTLOADER:
        return true;
    case INITPKT_FW_APPLICATION:
        return cfg->downgrade_prevention;
    case INITPKT_FW_EXTERNAL_APPLICATION:
        return cfg->external_app_versioning;
    default:
        return false;
    }
}

/* Steps 5d-5h: skipped entirely for is_debug packets on debug bootloaders. */
static bl_verdict_t check_versions(const bl_config_t *cfg, const initpkt_t *p,
                                   const bl_device_view_t *dev)
{
    if (!p->has_hw_version)
        return ext(BL_EXT_INIT_COMMAND_INVALID);
    if (p->hw_version != cfg->hw_version)
        return ext(BL_EXT_HW_VERSION_FAILURE);
    if (!bl_sd_req_ok(cfg, p, dev))
        return ext(BL_EXT_SD_VERSION_FAILURE);
    if (p->has_fw_version && !bl_fw_version_ok(cfg, p, dev))
        return ext(BL_EXT_FW_VERSION_FAILURE);
    if (!p->has_fw_version && fw_version_required(cfg, p->type))
        return ext(BL_EXT_INIT_COMMAND_INVALID);
    return BL_VERDICT_OK;
}

bl_verdict_t bl_prevalidate(const bl_config_t *cfg, const initpkt_t *p, const uint8_t *dat,
                            const bl_device_view_t *dev)
{
    bl_verdict_t v = check_signature(cfg, p, dat);
    if (!ok(v))
        return v;
    if (!type_known(cfg, p))
        return ext(BL_EXT_INIT_COMMAND_INVALID);
    if (!p->has_hash || p->hash_type != INITPKT_HASH_SHA256)
        return ext(BL_EXT_WRONG_HASH_TYPE);
    if (cfg->debug_build && p->is_debug)
        return BL_VERDICT_OK;
    return check_versions(cfg, p, dev);
}

bl_verdict_t bl_image_size(const bl_config_t *cfg, const initpkt_t *p, uint32_t *size)
{
    *size = 0;
    bool app = p->type == INITPKT_FW_APPLICATION || p->type == INITPKT_FW_EXTERNAL_APPLICATION;
    uint64_t total = 0;
    if (app && p->has_app_size) {
        total = p->app_size;
    } else {
        if ((p->type & 1u) && p->has_sd_size)
            total += p->sd_size;
        if ((p->type & 2u) && p->has_bl_size) {
            if (p->bl_size > cfg->bootloader_size)
                return res(BL_RES_INSUFFICIENT_RESOURCES);
            total += p->bl_size;
        }
    }
    if (total == 0 || total > UINT32_MAX)
        return ext(BL_EXT_INIT_COMMAND_INVALID);
    *size = (uint32_t)total;
    return BL_VERDICT_OK;
}

const char *bl_result_name(bl_result_t r)
{
    switch (r) {
    case BL_RES_INVALID:
        return "INVALID";
    case BL_RES_SUCCESS:
        return "SUCCESS";
    case BL_RES_OP_CODE_NOT_SUPPORTED:
        return "OP_CODE_NOT_SUPPORTED";
    case BL_RES_INVALID_PARAMETER:
        return "INVALID_PARAMETER";
    case BL_RES_INSUFFICIENT_RESOURCES:
        return "INSUFFICIENT_RESOURCES";
    case BL_RES_INVALID_OBJECT:
        return "INVALID_OBJECT";
    case BL_RES_UNSUPPORTED_TYPE:
        return "UNSUPPORTED_TYPE";
    case BL_RES_OPERATION_NOT_PERMITTED:
        return "OPERATION_NOT_PERMITTED";
    case BL_RES_OPERATION_FAILED:
        return "OPERATION_FAILED";
    case BL_RES_EXT_ERROR:
        return "EXT_ERROR";
    }
    return "UNKNOWN";
}

const char *bl_ext_name(bl_ext_t e)
{
    static const char *const names[] = {
        "NO_ERROR",
        "INVALID_ERROR_CODE",
        "WRONG_COMMAND_FORMAT",
        "UNKNOWN_COMMAND",
        "INIT_COMMAND_INVALID",
        "FW_VERSION_FAILURE",
        "HW_VERSION_FAILURE",
        "SD_VERSION_FAILURE",
        "SIGNATURE_MISSING",
        "WRONG_HASH_TYPE",
        "HASH_FAILED",
        "WRONG_SIGNATURE_TYPE",
        "VERIFICATION_FAILED",
        "INSUFFICIENT_SPACE",
    };
    return (size_t)e < sizeof(names) / sizeof(names[0]) ? names[e] : "UNKNOWN";
}
