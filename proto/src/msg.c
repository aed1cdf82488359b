#include "proto/msg.h"

void msg_start_pack(const msg_start_t *m, uint8_t out[MSG_START_LEN])
{
    frame_put32(out, m->dat_len);
    frame_put32(out + 4, m->dat_crc);
    frame_put32(out + 8, m->bin_len);
    frame_put32(out + 12, m->bin_crc);
}

void msg_start_unpack(const uint8_t in[MSG_START_LEN], msg_start_t *m)
{
    m->dat_len = frame_get32(in);
    m->dat_crc = frame_get32(in + 4);
    m->bin_len = frame_get32(in + 8);
    m->bin_crc = frame_get32(in + 12);
}

void msg_info_pack(const msg_info_t *m, uint8_t out[MSG_INFO_LEN])
{
    frame_put16(out, m->max_payload);
    out[2] = m->window;
    out[3] = m->flags;
    frame_put32(out + 4, m->app_version);
    frame_put32(out + 8, m->bank0_size);
    frame_put32(out + 12, m->bank0_crc);
    frame_put32(out + 16, m->bank1_addr);
    frame_put32(out + 20, m->max_image);
    frame_put32(out + 24, m->flash_size);
    frame_put16(out + 28, m->page_size);
    out[30] = m->last_status;
    out[31] = 0;
}

void msg_info_unpack(const uint8_t in[MSG_INFO_LEN], msg_info_t *m)
{
    m->max_payload = frame_get16(in);
    m->window = in[2];
    m->flags = in[3];
    m->app_version = frame_get32(in + 4);
    m->bank0_size = frame_get32(in + 8);
    m->bank0_crc = frame_get32(in + 12);
    m->bank1_addr = frame_get32(in + 16);
    m->max_image = frame_get32(in + 20);
    m->flash_size = frame_get32(in + 24);
    m->page_size = frame_get16(in + 28);
    m->last_status = in[30];
}

void msg_status_pack(const msg_status_body_t *m, uint8_t out[MSG_STATUS_LEN])
{
    out[0] = m->phase;
    out[1] = m->window;
    frame_put16(out + 2, (uint16_t)m->detail);
    frame_put32(out + 4, m->dat_next);
    frame_put32(out + 8, m->bin_next);
    frame_put32(out + 12, m->bin_crc);
    frame_put32(out + 16, m->dat_len);
    frame_put32(out + 20, m->bin_len);
}

void msg_status_unpack(const uint8_t in[MSG_STATUS_LEN], msg_status_body_t *m)
{
    m->phase = in[0];
    m->window = in[1];
    m->detail = (int16_t)frame_get16(in + 2);
    m->dat_next = frame_get32(in + 4);
    m->bin_next = frame_get32(in + 8);
    m->bin_crc = frame_get32(in + 12);
    m->dat_len = frame_get32(in + 16);
    m->bin_len = frame_get32(in + 20);
}

typedef struct {
    const char *name, *text;
} status_doc_t;

static const status_doc_t status_docs[] = {
    [MSG_OK] = {"OK", "done"},
    [MSG_BAD_REQUEST] = {"BAD_REQUEST", "the device did not understand a request"},
    [MSG_BAD_VERSION] = {"BAD_VERSION", "the device speaks another protocol version"},
    [MSG_NO_SESSION] = {"NO_SESSION", "the device has no update session open"},
    [MSG_WRONG_OFFSET] = {"WRONG_OFFSET", "the device expected another offset"},
    [MSG_TOO_LARGE] = {"TOO_LARGE", "the image does not fit in bank 1"},
    [MSG_BAD_INIT_PACKET] = {"BAD_INIT_PACKET", "the device cannot use the init packet"},
    [MSG_UNSUPPORTED_TYPE] = {"UNSUPPORTED_TYPE", "only application images can be staged"},
    [MSG_SETTINGS_INVALID] = {"SETTINGS_INVALID",
                              "the device's bootloader settings page is invalid"},
    [MSG_FLASH_FAULT] = {"FLASH_FAULT", "a flash operation failed on the device"},
    [MSG_VERIFY_FAILED] = {"VERIFY_FAILED", "the data on the device does not match its CRC"},
    [MSG_CRC_MISMATCH] = {"CRC_MISMATCH", "bank 1 does not hold the bytes the host expected"},
    [MSG_INCOMPLETE] = {"INCOMPLETE", "commit before all firmware was received"},
    [MSG_BUSY] = {"BUSY", "the device is busy"},
    [MSG_INTERNAL] = {"INTERNAL", "internal error on the device"},
};

#define STATUS_COUNT (sizeof(status_docs) / sizeof(status_docs[0]))

const char *msg_status_name(uint8_t status)
{
    return status < STATUS_COUNT ? status_docs[status].name : "UNKNOWN";
}

const char *msg_status_text(uint8_t status)
{
    return status < STATUS_COUNT ? status_docs[status].text : "unknown device status";
}

const char *msg_phase_name(uint8_t phase)
{
    static const char *const n[] = {"IDLE", "INIT", "FIRMWARE", "READY", "COMMITTED", "FAILED"};
    return phase < sizeof(n) / sizeof(n[0]) ? n[phase] : "UNKNOWN";
}

const char *msg_type_name(uint8_t type)
{
    switch (type) {
    case MSG_HELLO:
        return "HELLO";
    case MSG_START:
        return "START";
    case MSG_DATA:
        return "DATA";
    case MSG_RESUME:
        return "RESUME";
    case MSG_COMMIT:
        return "COMMIT";
    case MSG_QUERY:
        return "QUERY";
    case MSG_ABORT:
        return "ABORT";
    case MSG_INFO:
        return "INFO";
    case MSG_STATUS:
        return "STATUS";
    default:
        return "UNKNOWN";
    }
}
