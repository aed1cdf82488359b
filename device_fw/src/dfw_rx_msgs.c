/*
 * dfw_rx_msgs.c - session side of the device receiver: one handler per
 * request type (PROTOCOL.md §3), a dispatch table, and the replies' common
 * part (header object/offset, STATUS payload, last_status).
 *
 * Session phases (rx->phase, reported in STATUS):
 *   IDLE      no session (after init, ABORT, or a refused package)
 *   INIT      START accepted, init packet arriving into the stage's .dat buffer
 *   FIRMWARE  package accepted by dfw_stage_begin(), firmware arriving in bank 1
 *   READY     every firmware byte in flash and its CRC equal to START's bin_crc
 *   COMMITTED settings page staged; the caller resets (sticky until then)
 *   FAILED    a flash operation failed; a new START may try again
 * Flash is written only by DATA (bank 1, through dfw_stage) and COMMIT.
 */
#include <string.h>

#include "device_fw/dfw_settings.h"
#include "dfw_rx_priv.h"
#include "proto/crc32.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ session state */

static bool session_open(const dfw_rx_t *rx)
{
    return rx->phase == MSG_PHASE_INIT || rx->phase == MSG_PHASE_FIRMWARE ||
           rx->phase == MSG_PHASE_READY;
}

/* Forget the session; `phase` is IDLE, or FAILED after a flash fault. */
static void drop_session(dfw_rx_t *rx, msg_phase_t phase)
{
    memset(&rx->start, 0, sizeof(rx->start));
    rx->dat_next = 0;
    dfw_stage_init(&rx->stage);
    rx->phase = (uint8_t)phase;
}

void dfw_rx_session_init(dfw_rx_t *rx)
{
    drop_session(rx, MSG_PHASE_IDLE);
    rx->last_status = MSG_OK;
}

/* PROTOCOL.md §4 for each dfw_err_t the stage can return; anything else is our bug. */
static const struct {
    dfw_err_t err;
    uint8_t status;
} err_status[] = {
    {DFW_ERR_INITCMD_SIZE, MSG_BAD_INIT_PACKET},
    {DFW_ERR_INITCMD_MALFORMED, MSG_BAD_INIT_PACKET},
    {DFW_ERR_INITCMD_INVALID, MSG_BAD_INIT_PACKET},
    {DFW_ERR_UNSUPPORTED_TYPE, MSG_UNSUPPORTED_TYPE},
    {DFW_ERR_NO_SPACE, MSG_TOO_LARGE},
    {DFW_ERR_OFFSET, MSG_WRONG_OFFSET},
    {DFW_ERR_OVERRUN, MSG_BAD_REQUEST},
    {DFW_ERR_INCOMPLETE, MSG_INCOMPLETE},
    {DFW_ERR_CRC_MISMATCH, MSG_CRC_MISMATCH},
    {DFW_ERR_SETTINGS_CRC, MSG_SETTINGS_INVALID},
    {DFW_ERR_SETTINGS_VERSION, MSG_SETTINGS_INVALID},
    {DFW_ERR_SETTINGS_CHANGED, MSG_SETTINGS_INVALID},
    {DFW_ERR_FLASH, MSG_FLASH_FAULT},
    {DFW_ERR_VERIFY, MSG_VERIFY_FAILED},
};

static uint8_t status_of(dfw_err_t err)
{
    for (size_t i = 0; i < ARRAY_LEN(err_status); i++) {
        if (err_status[i].err == err) {
            return err_status[i].status;
        }
    }
    return MSG_INTERNAL;
}

static void refuse(dfw_rx_call_t *c, uint8_t status, dfw_err_t detail)
{
    c->status = status;
    c->detail = (int16_t)detail;
}

/* A stage call failed: report it and drop the session (a failed stage cannot go on). */
static void fail(dfw_rx_t *rx, dfw_rx_call_t *c, dfw_err_t err)
{
    refuse(c, status_of(err), err);
    bool flash_broke = dfw_stage_phase(&rx->stage) == DFW_PHASE_FAILED;
    drop_session(rx, flash_broke ? MSG_PHASE_FAILED : MSG_PHASE_IDLE);
}

/* DATA, RESUME and COMMIT need an open session; after COMMIT only a reset helps. */
static bool need_session(const dfw_rx_t *rx, dfw_rx_call_t *c)
{
    if (rx->phase == MSG_PHASE_COMMITTED) {
        refuse(c, MSG_BUSY, DFW_ERR_STATE);
        return false;
    }
    if (!session_open(rx)) {
        refuse(c, MSG_NO_SESSION, DFW_OK);
        return false;
    }
    return true;
}

/* --------------------------------------------------------------------- INFO */

/*
 * Where dfw_stage_begin() would put bank 1 and how much fits there, without
 * starting a stage. Both 0 when nothing can be staged.
 */
static dfw_err_t bank1_room(const dfw_rx_t *rx, uint32_t bank0_size, msg_info_t *info)
{
    uint8_t sd[8];
    if (rx->hal.read == NULL || rx->hal.read(rx->hal.ctx, DFW_SD_MAGIC_ADDR, sd, sizeof(sd)) != 0) {
        return DFW_ERR_FLASH;
    }
    uint32_t bank1, room;
    if (dfw_bank1_place(sd, bank0_size, &rx->layout, &bank1, &room)) {
        info->bank1_addr = bank1;
        info->max_image = room;
    }
    return DFW_OK;
}

/* The settings-page facts of INFO; bank 1 only if the page is valid (else staging would fail). */
static dfw_err_t device_facts(const dfw_rx_t *rx, msg_info_t *info)
{
    uint8_t hdr[DFW_SETTINGS_HDR_LEN];
    dfw_err_t err = dfw_settings_load(&rx->hal, rx->layout.settings_addr, hdr, sizeof(hdr));
    if (err == DFW_ERR_FLASH || err == DFW_ERR_PARAM) {
        return err;
    }
    info->app_version = dfw_le32_get(hdr + DFW_SO_APP_VERSION);
    info->bank0_size = dfw_le32_get(hdr + DFW_SO_BANK0_IMAGE_SIZE);
    info->bank0_crc = dfw_le32_get(hdr + DFW_SO_BANK0_IMAGE_CRC);
    if (dfw_le32_get(hdr + DFW_SO_BANK_CURRENT) == DFW_BANK_CURRENT_1) {
        info->flags |= MSG_INFO_UPDATE_PENDING;
    }
    return err != DFW_OK ? err : bank1_room(rx, info->bank0_size, info);
}

static void on_hello(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    msg_info_t info = {.max_payload = FRAME_MAX_PAYLOAD,
                       .window = DFW_RX_BUFFERS,
                       .flags = rx->phase != MSG_PHASE_IDLE && rx->phase != MSG_PHASE_FAILED
                                    ? MSG_INFO_SESSION
                                    : 0u,
                       .flash_size = rx->layout.flash_size,
                       .page_size = DFW_PAGE_SIZE,
                       .last_status = rx->last_status};
    dfw_err_t err = device_facts(rx, &info);
    if (err != DFW_OK) {
        refuse(c, status_of(err), err); /* still a full INFO: what could be read */
    }
    if (c->foreign) {
        refuse(c, MSG_BAD_VERSION, DFW_OK);
    }
    c->type = MSG_INFO;
    c->len = MSG_INFO_LEN;
    msg_info_pack(&info, c->payload);
}

/* -------------------------------------------------------------------- START */

static void on_start(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    msg_start_t s;
    msg_start_unpack(c->req->payload, &s);
    if (rx->phase == MSG_PHASE_COMMITTED) {
        refuse(c, MSG_BUSY, DFW_ERR_STATE);
        return;
    }
    if (session_open(rx) && memcmp(&s, &rx->start, sizeof(s)) == 0) {
        return; /* the host resumes after a link loss: report real progress */
    }
    drop_session(rx, MSG_PHASE_IDLE);
    if (s.bin_len == 0u) {
        refuse(c, MSG_BAD_REQUEST, DFW_OK);
    } else if (s.dat_len == 0u || s.dat_len > DFW_INITCMD_MAX_SIZE) {
        refuse(c, MSG_BAD_INIT_PACKET, DFW_ERR_INITCMD_SIZE);
    } else {
        rx->start = s;
        rx->phase = MSG_PHASE_INIT;
    }
}

/* --------------------------------------------------------------------- DATA */

typedef enum { RANGE_NEW, RANGE_DUP, RANGE_GAP, RANGE_PAST } range_t;

/*
 * PROTOCOL.md §3 DATA rules for bytes [off, off + len) of an object of
 * `total` bytes whose next expected offset is `next`. *skip: bytes already held.
 */
static range_t classify(uint32_t off, uint32_t len, uint32_t next, uint32_t total, uint32_t *skip)
{
    if ((uint64_t)off + len > total) {
        return RANGE_PAST;
    }
    if (off > next) {
        return RANGE_GAP;
    }
    if (off + len <= next) {
        return RANGE_DUP;
    }
    *skip = next - off;
    return RANGE_NEW;
}

/* Reply for anything but new bytes; true when the caller has new bytes to take. */
static bool take_range(dfw_rx_call_t *c, range_t r)
{
    if (r == RANGE_PAST) {
        refuse(c, MSG_BAD_REQUEST, DFW_ERR_OVERRUN);
    } else if (r == RANGE_GAP) {
        refuse(c, MSG_WRONG_OFFSET, DFW_ERR_OFFSET);
    }
    return r == RANGE_NEW;
}

/*
 * The whole init packet is in: check it against START, then let dfw_stage vet
 * the package. The .dat was assembled in the stage's own buffer, so begin
 * copies nothing and the receiver needs no 512-byte buffer of its own.
 */
static void init_complete(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    const uint8_t *dat = dfw_stage_dat_buf(&rx->stage);
    if (crc32_compute(dat, rx->start.dat_len) != rx->start.dat_crc) {
        refuse(c, MSG_VERIFY_FAILED, DFW_OK);
        rx->dat_next = 0; /* PROTOCOL.md: the init packet starts over */
        return;
    }
    dfw_err_t err = dfw_stage_begin(&rx->stage, &rx->hal, &rx->layout, dat, rx->start.dat_len);
    if (err == DFW_OK && dfw_stage_image_size(&rx->stage) != rx->start.bin_len) {
        err = DFW_ERR_INITCMD_INVALID; /* app_size disagrees with START: never completes */
    }
    if (err != DFW_OK) {
        fail(rx, c, err);
        return;
    }
    rx->phase = MSG_PHASE_FIRMWARE;
}

static void data_init(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    const frame_t *f = c->req;
    uint32_t skip = 0;
    if (!take_range(c, classify(f->offset, f->len, rx->dat_next, rx->start.dat_len, &skip))) {
        return;
    }
    /* The stage is IDLE during INIT (START reset it), so its .dat buffer is ours to fill. */
    memcpy(dfw_stage_dat_buf(&rx->stage) + rx->dat_next, f->payload + skip, f->len - skip);
    rx->dat_next += f->len - skip;
    if (rx->dat_next == rx->start.dat_len) {
        init_complete(rx, c);
    }
}

/* The last firmware byte is in flash: the running CRC must be START's. */
static void firmware_complete(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    if (dfw_stage_running_crc(&rx->stage) != rx->start.bin_crc) {
        refuse(c, MSG_VERIFY_FAILED, DFW_OK);
        drop_session(rx, MSG_PHASE_IDLE); /* settings untouched: bank 1 is just junk */
        return;
    }
    rx->phase = MSG_PHASE_READY;
}

static void data_firmware(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    const frame_t *f = c->req;
    if (rx->phase == MSG_PHASE_INIT) {
        refuse(c, MSG_WRONG_OFFSET, DFW_ERR_STATE); /* reply points at the init packet */
        return;
    }
    uint32_t next = dfw_stage_next_offset(&rx->stage), skip = 0;
    if (!take_range(c, classify(f->offset, f->len, next, rx->start.bin_len, &skip))) {
        return;
    }
    dfw_err_t err = dfw_stage_write(&rx->stage, next, f->payload + skip, f->len - skip);
    if (err != DFW_OK) {
        fail(rx, c, err);
    } else if (dfw_stage_next_offset(&rx->stage) == rx->start.bin_len) {
        firmware_complete(rx, c);
    }
}

static void on_data(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    if (!need_session(rx, c)) {
        return;
    }
    if (c->req->object == FRAME_OBJ_INIT) {
        data_init(rx, c);
    } else if (c->req->object == FRAME_OBJ_FW) {
        data_firmware(rx, c);
    } else {
        refuse(c, MSG_BAD_REQUEST, DFW_OK);
    }
}

/* ------------------------------------------------- RESUME, COMMIT, QUERY, ABORT */

static void on_resume(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    const frame_t *f = c->req;
    if (!need_session(rx, c)) {
        return;
    }
    if (f->object != FRAME_OBJ_FW || f->offset > rx->start.bin_len) {
        refuse(c, MSG_BAD_REQUEST, DFW_ERR_OVERRUN);
        return;
    }
    if (rx->phase == MSG_PHASE_INIT) {
        refuse(c, MSG_WRONG_OFFSET, DFW_ERR_STATE); /* the init packet comes first */
        return;
    }
    dfw_err_t err = dfw_stage_resume(&rx->stage, f->offset, frame_get32(f->payload));
    if (err == DFW_ERR_CRC_MISMATCH) {
        refuse(c, MSG_CRC_MISMATCH, err);
        err = dfw_stage_resume(&rx->stage, 0, CRC32_INIT); /* from 0: trivially matches */
    }
    if (err != DFW_OK) {
        fail(rx, c, err);
        return;
    }
    rx->phase = MSG_PHASE_FIRMWARE;
    if (dfw_stage_next_offset(&rx->stage) == rx->start.bin_len) {
        firmware_complete(rx, c); /* a page-multiple image resumed at its very end */
    }
}

static void on_commit(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    if (rx->phase == MSG_PHASE_COMMITTED) {
        c->reset = true; /* our reply was lost and the caller has not reset yet */
        return;
    }
    if (!need_session(rx, c)) {
        return;
    }
    if (rx->phase != MSG_PHASE_READY) {
        refuse(c, MSG_INCOMPLETE, DFW_ERR_INCOMPLETE);
        return;
    }
    dfw_err_t err = dfw_stage_finish(&rx->stage, c->scratch);
    if (err != DFW_RESET_REQUIRED) {
        fail(rx, c, err);
        return;
    }
    rx->phase = MSG_PHASE_COMMITTED;
    c->reset = true;
}

static void on_query(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    (void)rx;
    (void)c;
}

static void on_abort(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    if (rx->phase == MSG_PHASE_COMMITTED) {
        refuse(c, MSG_BUSY, DFW_ERR_STATE); /* the settings page is already staged */
    } else {
        drop_session(rx, MSG_PHASE_IDLE);
    }
}

/* ----------------------------------------------------------------- dispatch */

typedef struct {
    void (*fn)(dfw_rx_t *rx, dfw_rx_call_t *c);
    uint16_t min_len, max_len; /* payload bytes the request type allows (PROTOCOL.md §3) */
} route_t;

static const route_t routes[] = {
    [MSG_HELLO - 1] = {on_hello, 0, 0},
    [MSG_START - 1] = {on_start, MSG_START_LEN, MSG_START_LEN},
    [MSG_DATA - 1] = {on_data, 1, FRAME_MAX_PAYLOAD},
    [MSG_RESUME - 1] = {on_resume, MSG_RESUME_LEN, MSG_RESUME_LEN},
    [MSG_COMMIT - 1] = {on_commit, 0, 0},
    [MSG_QUERY - 1] = {on_query, 0, 0},
    [MSG_ABORT - 1] = {on_abort, 0, 0},
};

static void route(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    uint8_t t = c->req->type;
    const route_t *r = t >= 1u && t <= ARRAY_LEN(routes) ? &routes[t - 1u] : NULL;
    if (r == NULL || r->fn == NULL || c->req->len < r->min_len || c->req->len > r->max_len) {
        refuse(c, MSG_BAD_REQUEST, DFW_OK);
        return;
    }
    r->fn(rx, c);
}

/* Header object/offset: the object the device expects next and where (PROTOCOL.md §2). */
static void where_next(const dfw_rx_t *rx, dfw_rx_call_t *c)
{
    if (rx->phase == MSG_PHASE_INIT) {
        c->object = FRAME_OBJ_INIT;
        c->offset = rx->dat_next;
    } else if (rx->phase == MSG_PHASE_FIRMWARE || rx->phase == MSG_PHASE_READY ||
               rx->phase == MSG_PHASE_COMMITTED) {
        c->object = FRAME_OBJ_FW;
        c->offset = dfw_stage_next_offset(&rx->stage);
    }
}

static void status_payload(const dfw_rx_t *rx, dfw_rx_call_t *c)
{
    bool firmware = c->object == FRAME_OBJ_FW;
    msg_status_body_t b = {
        .phase = rx->phase,
        .window = DFW_RX_BUFFERS,
        .detail = c->detail,
        .dat_next = rx->dat_next,
        .bin_next = firmware ? dfw_stage_next_offset(&rx->stage) : 0u,
        .bin_crc = firmware ? dfw_stage_running_crc(&rx->stage) : 0u,
        .dat_len = rx->start.dat_len,
        .bin_len = rx->start.bin_len,
    };
    c->len = MSG_STATUS_LEN;
    msg_status_pack(&b, c->payload);
}

void dfw_rx_handle(dfw_rx_t *rx, dfw_rx_call_t *c)
{
    c->type = MSG_STATUS;
    c->status = MSG_OK;
    if (c->foreign) {
        on_hello(rx, c);
    } else {
        route(rx, c);
    }
    if (c->type == MSG_STATUS) {
        where_next(rx, c);
        status_payload(rx, c);
    }
    if (c->status != MSG_OK) {
        rx->last_status = c->status;
    }
}
