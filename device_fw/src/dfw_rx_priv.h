/*
 * dfw_rx_priv.h - seam between the two halves of dfw_rx:
 *   dfw_rx.c       link side: byte input, frame queue, idle cut, reply encoding;
 *   dfw_rx_msgs.c  session side: one handler per request type (PROTOCOL.md §3).
 */
#ifndef DEVICE_FW_DFW_RX_PRIV_H
#define DEVICE_FW_DFW_RX_PRIV_H

#include "device_fw/dfw_rx.h"

/* One request being handled and the reply it gets; lives on dfw_rx_poll()'s stack. */
typedef struct dfw_rx_call {
    const frame_t *req;
    bool foreign;      /* HELLO of another protocol version */
    uint32_t *scratch; /* the request's own frame buffer, free once req is parsed */
    /* Reply: filled by dfw_rx_handle(). */
    uint8_t type;   /* MSG_STATUS or MSG_INFO */
    uint8_t status; /* msg_status_t */
    uint8_t object; /* the object the device expects next */
    int16_t detail; /* dfw_err_t behind `status`, 0 if none */
    uint32_t offset;
    uint16_t len;
    bool reset; /* COMMIT succeeded */
    uint8_t payload[MSG_INFO_LEN];
} dfw_rx_call_t;

_Static_assert(MSG_STATUS_LEN <= MSG_INFO_LEN, "one payload buffer serves both replies");

/* Reset the session state of a freshly zeroed receiver. */
void dfw_rx_session_init(dfw_rx_t *rx);

/* Run the request in c->req and fill in the reply fields of `c`. */
void dfw_rx_handle(dfw_rx_t *rx, dfw_rx_call_t *c);

#endif
