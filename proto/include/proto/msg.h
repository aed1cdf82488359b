/*
 * msg.h - dfuart protocol messages: types, status codes, and the fixed
 * payloads of START, INFO and STATUS (proto/PROTOCOL.md sections 3-4).
 * Pure; explicit little-endian packing, no struct dumps.
 */
#ifndef PROTO_MSG_H
#define PROTO_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/frame.h"

typedef enum {
    MSG_HELLO = 0x01,
    MSG_START = 0x02,
    MSG_DATA = 0x03,
    MSG_RESUME = 0x04,
    MSG_COMMIT = 0x05,
    MSG_QUERY = 0x06,
    MSG_ABORT = 0x07,
    MSG_INFO = 0x81,
    MSG_STATUS = 0x82,
} msg_type_t;

#define MSG_REPLY_BIT 0x80u

typedef enum {
    MSG_OK = 0,
    MSG_BAD_REQUEST = 1,
    MSG_BAD_VERSION = 2,
    MSG_NO_SESSION = 3,
    MSG_WRONG_OFFSET = 4,
    MSG_TOO_LARGE = 5,
    MSG_BAD_INIT_PACKET = 6,
    MSG_UNSUPPORTED_TYPE = 7,
    MSG_SETTINGS_INVALID = 8,
    MSG_FLASH_FAULT = 9,
    MSG_VERIFY_FAILED = 10,
    MSG_CRC_MISMATCH = 11,
    MSG_INCOMPLETE = 12,
    MSG_BUSY = 13,
    MSG_INTERNAL = 14,
} msg_status_t;

typedef enum {
    MSG_PHASE_IDLE = 0,
    MSG_PHASE_INIT = 1,
    MSG_PHASE_FIRMWARE = 2,
    MSG_PHASE_READY = 3,
    MSG_PHASE_COMMITTED = 4,
    MSG_PHASE_FAILED = 5,
} msg_phase_t;

#define MSG_START_LEN  16u
#define MSG_INFO_LEN   32u
#define MSG_STATUS_LEN 24u
#define MSG_RESUME_LEN 4u
#define MSG_INIT_MAX   512u /* largest init packet: the settings page's init_command */

typedef struct {
    uint32_t dat_len, dat_crc, bin_len, bin_crc;
} msg_start_t;

#define MSG_INFO_UPDATE_PENDING 0x01u
#define MSG_INFO_SESSION        0x02u

typedef struct {
    uint16_t max_payload;
    uint8_t window;
    uint8_t flags;
    uint32_t app_version, bank0_size, bank0_crc, bank1_addr, max_image, flash_size;
    uint16_t page_size;
    uint8_t last_status;
} msg_info_t;

typedef struct {
    uint8_t phase, window;
    int16_t detail;
    uint32_t dat_next, bin_next, bin_crc, dat_len, bin_len;
} msg_status_body_t;

void msg_start_pack(const msg_start_t *m, uint8_t out[MSG_START_LEN]);
void msg_start_unpack(const uint8_t in[MSG_START_LEN], msg_start_t *m);
void msg_info_pack(const msg_info_t *m, uint8_t out[MSG_INFO_LEN]);
void msg_info_unpack(const uint8_t in[MSG_INFO_LEN], msg_info_t *m);
void msg_status_pack(const msg_status_body_t *m, uint8_t out[MSG_STATUS_LEN]);
void msg_status_unpack(const uint8_t in[MSG_STATUS_LEN], msg_status_body_t *m);

/* "WRONG_OFFSET", "TOO_LARGE", ...; "UNKNOWN" for other values. */
const char *msg_status_name(uint8_t status);
/* One-line explanation for people, e.g. "the image does not fit in bank 1". */
const char *msg_status_text(uint8_t status);
const char *msg_phase_name(uint8_t phase);
const char *msg_type_name(uint8_t type);

#endif
