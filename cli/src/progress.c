/* progress.c - render session events as a status line, plain lines or JSON Lines. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "cli/progress.h"
#include "proto/frame.h"

#define BAR_WIDTH   24
#define REDRAW_MS   100u /* a status line redrawn faster than this only flickers */
#define CLEAR_LINE  "\r\033[K"
#define OBJ_NAME(o) ((o) == FRAME_OBJ_INIT ? "init" : (o) == FRAME_OBJ_FW ? "firmware" : "none")

progress_mode_t progress_mode_for(FILE *out, bool json)
{
    if (json)
        return PROGRESS_JSON;
    return isatty(fileno(out)) ? PROGRESS_TTY : PROGRESS_PLAIN;
}

void progress_init(progress_t *p, FILE *out, progress_mode_t mode, const progress_target_t *t)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->mode = mode;
    p->target = *t;
    p->last_decile = -1;
}

void progress_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

/* ---- measurements --------------------------------------------------------------------- */

static uint64_t rel_ms(const progress_t *p, uint64_t t)
{
    return t >= p->t0 ? t - p->t0 : 0;
}

/* Effective firmware rate in bytes/s since the firmware started (retries included). */
static uint32_t rate_bps(const progress_t *p, const session_event_t *ev)
{
    if (!p->have_fw || ev->object != FRAME_OBJ_FW || ev->t_ms <= p->fw_t0 ||
        ev->offset <= p->fw_base)
        return 0;
    return (uint32_t)((uint64_t)(ev->offset - p->fw_base) * 1000u / (ev->t_ms - p->fw_t0));
}

static uint32_t eta_s(uint32_t left, uint32_t rate)
{
    return rate ? (left + rate - 1u) / rate : 0u;
}

static void note_time(progress_t *p, const session_event_t *ev)
{
    if (!p->have_t0) {
        p->have_t0 = true;
        p->t0 = ev->t_ms;
    }
    if (!p->have_fw && ev->kind == SESSION_EV_PROGRESS && ev->object == FRAME_OBJ_FW) {
        p->have_fw = true;
        p->fw_t0 = ev->t_ms;
        p->fw_base = ev->offset;
    }
}

/* ---- JSON Lines ----------------------------------------------------------------------- */

static void json_head(progress_t *p, const char *event, const session_event_t *ev)
{
    fprintf(p->out, "{\"event\":\"%s\",\"t_ms\":%" PRIu64, event, rel_ms(p, ev->t_ms));
}

static void json_start(progress_t *p, const session_event_t *ev)
{
    const progress_target_t *t = &p->target;
    const msg_info_t *i = ev->info;
    json_head(p, "start", ev);
    fputs(",\"package\":", p->out);
    progress_json_string(p->out, t->package);
    fputs(",\"port\":", p->out);
    progress_json_string(p->out, t->port);
    fprintf(p->out,
            ",\"backend\":\"%s\",\"baud\":%" PRIu32 ",\"bin_size\":%" PRIu32
            ",\"dat_size\":%" PRIu32,
            t->backend, t->baud, t->bin_size, t->dat_size);
    if (t->has_fw_version)
        fprintf(p->out, ",\"fw_version\":%" PRIu32, t->fw_version);
    else
        fputs(",\"fw_version\":null", p->out);
    fprintf(p->out,
            ",\"app_version\":%" PRIu32 ",\"update_pending\":%s,\"max_payload\":%u,\"window\":%u"
            ",\"max_image\":%" PRIu32 ",\"page_size\":%u}\n",
            i->app_version, (i->flags & MSG_INFO_UPDATE_PENDING) ? "true" : "false", i->max_payload,
            i->window, i->max_image, i->page_size);
}

static void json_event(progress_t *p, const session_event_t *ev)
{
    switch (ev->kind) {
    case SESSION_EV_START:
        json_start(p, ev);
        return;
    case SESSION_EV_PROGRESS: {
        uint32_t rate = rate_bps(p, ev);
        json_head(p, "progress", ev);
        fprintf(p->out,
                ",\"object\":\"%s\",\"offset\":%" PRIu32 ",\"total\":%" PRIu32
                ",\"rate_bps\":%" PRIu32 ",\"eta_s\":%" PRIu32 "}\n",
                OBJ_NAME(ev->object), ev->offset, ev->total, rate,
                eta_s(ev->total - ev->offset, rate));
        return;
    }
    case SESSION_EV_RETRY:
        json_head(p, "retry", ev);
        fprintf(p->out,
                ",\"object\":\"%s\",\"offset\":%" PRIu32 ",\"total\":%" PRIu32
                ",\"attempt\":%" PRIu32 ",\"limit\":%" PRIu32 ",\"cause\":\"%s\",\"reason\":",
                OBJ_NAME(ev->object), ev->offset, ev->total, ev->attempt, ev->limit,
                session_cause_name(ev->cause));
        progress_json_string(p->out, ev->reason);
        fputs("}\n", p->out);
        return;
    case SESSION_EV_RESUME:
        json_head(p, "resume", ev);
        fprintf(p->out,
                ",\"object\":\"firmware\",\"offset\":%" PRIu32 ",\"acked\":%" PRIu32
                ",\"total\":%" PRIu32 ",\"reason\":",
                ev->offset, ev->acked, ev->total);
        progress_json_string(p->out, ev->reason);
        fputs("}\n", p->out);
        return;
    case SESSION_EV_COMMIT:
        json_head(p, "commit", ev);
        fputs("}\n", p->out);
        return;
    case SESSION_EV_DONE:
        json_head(p, "done", ev);
        fprintf(p->out,
                ",\"app_version\":%" PRIu32 ",\"bin_size\":%" PRIu32 ",\"retries\":%" PRIu32
                ",\"resumes\":%" PRIu32 "}\n",
                ev->info->app_version, ev->total, p->retries, p->resumes);
        return;
    }
}

/* ---- text ----------------------------------------------------------------------------- */

static void close_line(progress_t *p)
{
    if (p->line_open)
        fputs(CLEAR_LINE, p->out);
    p->line_open = false;
}

static void text_start(progress_t *p, const session_event_t *ev)
{
    const progress_target_t *t = &p->target;
    const msg_info_t *i = ev->info;
    fprintf(p->out,
            "device on %s (%s, %" PRIu32 " baud): app version %" PRIu32
            ", max payload %u, window %u, bank 1 up to %" PRIu32 " bytes\n",
            t->port, t->backend, t->baud, i->app_version, i->max_payload, i->window, i->max_image);
    fprintf(p->out, "sending %" PRIu32 "-byte init packet and %" PRIu32 "-byte application",
            t->dat_size, t->bin_size);
    if (t->has_fw_version)
        fprintf(p->out, " (version %" PRIu32 ")", t->fw_version);
    fputs("\n", p->out);
}

static void bar_text(char *bar, uint32_t offset, uint32_t total)
{
    int fill = total ? (int)((uint64_t)offset * BAR_WIDTH / total) : BAR_WIDTH;
    for (int k = 0; k < BAR_WIDTH; k++)
        bar[k] = k < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
}

static void text_progress(progress_t *p, const session_event_t *ev)
{
    if (ev->object != FRAME_OBJ_FW || ev->total == 0)
        return; /* the init packet is a few hundred bytes: not worth a bar */
    unsigned pct = (unsigned)((uint64_t)ev->offset * 100u / ev->total);
    uint32_t rate = rate_bps(p, ev);
    bool last = ev->offset == ev->total;
    if (p->mode == PROGRESS_PLAIN) {
        if ((int)(pct / 10u) == p->last_decile)
            return;
        p->last_decile = (int)(pct / 10u);
        fprintf(p->out, "firmware %3u%%  %" PRIu32 "/%" PRIu32 " bytes  %.1f KiB/s\n", pct,
                ev->offset, ev->total, rate / 1024.0);
        return;
    }
    if (!last && p->line_open && ev->t_ms - p->last_draw < REDRAW_MS)
        return;
    char bar[BAR_WIDTH + 1];
    bar_text(bar, ev->offset, ev->total);
    uint32_t eta = eta_s(ev->total - ev->offset, rate);
    fprintf(p->out,
            CLEAR_LINE "firmware %3u%% [%s] %" PRIu32 "/%" PRIu32 " B  %.1f KiB/s  ETA %" PRIu32
                       ":%02" PRIu32,
            pct, bar, ev->offset, ev->total, rate / 1024.0, eta / 60u, eta % 60u);
    p->line_open = !last; /* the finished bar stays on screen */
    if (last)
        fputc('\n', p->out);
    fflush(p->out);
    p->last_draw = ev->t_ms;
}

static void text_event(progress_t *p, const session_event_t *ev)
{
    if (ev->kind == SESSION_EV_PROGRESS) {
        text_progress(p, ev);
        return;
    }
    close_line(p);
    if (ev->kind == SESSION_EV_START)
        text_start(p, ev);
    else if (ev->kind == SESSION_EV_RETRY)
        fprintf(p->out, "retry %" PRIu32 "/%" PRIu32 " (%s): %s\n", ev->attempt, ev->limit,
                session_cause_name(ev->cause), ev->reason);
    else if (ev->kind == SESSION_EV_RESUME)
        fprintf(p->out, "resume at %" PRIu32 " of %" PRIu32 " (had %" PRIu32 " acknowledged): %s\n",
                ev->offset, ev->total, ev->acked, ev->reason);
    else if (ev->kind == SESSION_EV_COMMIT)
        fprintf(p->out, "firmware complete and verified; committed, waiting for the device "
                        "to restart\n");
    else if (ev->kind == SESSION_EV_DONE)
        fprintf(p->out,
                "done: device runs version %" PRIu32 " (%.1f s, %" PRIu32 " retries, %" PRIu32
                " resumes)\n",
                ev->info->app_version, (double)rel_ms(p, ev->t_ms) / 1000.0, p->retries,
                p->resumes);
    fflush(p->out);
}

void progress_event(void *ctx, const session_event_t *ev)
{
    progress_t *p = ctx;
    note_time(p, ev);
    p->retries += ev->kind == SESSION_EV_RETRY;
    p->resumes += ev->kind == SESSION_EV_RESUME;
    if (p->mode == PROGRESS_JSON) {
        json_event(p, ev);
        fflush(p->out);
    } else {
        text_event(p, ev);
    }
}

void progress_error(progress_t *p, int exit_code, const char *kind, const char *status,
                    const char *msg)
{
    if (p->mode != PROGRESS_JSON) {
        close_line(p);
        fflush(p->out);
        return;
    }
    fprintf(p->out, "{\"event\":\"error\",\"exit_code\":%d,\"kind\":", exit_code);
    progress_json_string(p->out, kind);
    fputs(",\"status\":", p->out);
    if (status)
        progress_json_string(p->out, status);
    else
        fputs("null", p->out);
    fputs(",\"message\":", p->out);
    progress_json_string(p->out, msg);
    fputs("}\n", p->out);
    fflush(p->out);
}
