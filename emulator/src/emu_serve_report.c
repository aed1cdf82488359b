/* emu_serve_report.c - what `dfuart-emu serve` prints (emu_serve.h, EMULATOR.md). */
#include <stdio.h>

#include "emu_cmd.h"
#include "emu_serve.h"

void serve_emit_json(cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (text)
        printf("%s\n", text);
    cJSON_free(text);
    fflush(stdout);
}

static bool has_verdict(const bl_boot_report_t *r)
{
    return r->update == BL_UPDATE_ACTIVATED || r->update == BL_UPDATE_REJECTED;
}

static void add_str_or_null(cJSON *j, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(j, key, v);
    else
        cJSON_AddNullToObject(j, key);
}

static void report_reset_json(const bl_boot_report_t *r, bool answering)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", "reset");
    cJSON_AddStringToObject(j, "state", bl_state_name(r->state));
    cJSON_AddStringToObject(j, "update", bl_update_name(r->update));
    add_str_or_null(j, "result_name", has_verdict(r) ? bl_result_name(r->verdict.result) : NULL);
    add_str_or_null(j, "ext_error_name", has_verdict(r) ? bl_ext_name(r->verdict.ext) : NULL);
    add_str_or_null(j, "reason", r->reason);
    cJSON_AddNumberToObject(j, "app_version", r->app_version);
    cJSON_AddNumberToObject(j, "copied_bytes", r->copied_bytes);
    cJSON_AddBoolToObject(j, "answering", answering);
    serve_emit_json(j);
}

void serve_report_reset(const serve_t *s, const bl_boot_report_t *r)
{
    bool answering = r->state == BL_STATE_APP;
    if (s->a->json) {
        report_reset_json(r, answering);
        return;
    }
    printf("reset: state %s, update %s", bl_state_name(r->state), bl_update_name(r->update));
    if (has_verdict(r))
        printf(" (%s%s%s)", bl_result_name(r->verdict.result),
               r->verdict.result == BL_RES_EXT_ERROR ? " " : "",
               r->verdict.result == BL_RES_EXT_ERROR ? bl_ext_name(r->verdict.ext) : "");
    printf("%s%s, app version %u%s\n", r->reason ? ": " : "", r->reason ? r->reason : "",
           r->app_version,
           answering ? "" : "; the device stays in its bootloader and answers nothing");
    fflush(stdout);
}

void serve_announce_serving(const serve_t *s, uint32_t app_version)
{
    if (!s->a->json) {
        printf("serving %s on %s (%s)", s->dev_path, s->a->link, s->pty.path);
        if (s->linked)
            printf(" over link %s at %u baud, seed %u", s->h2d.p.name, s->h2d.p.baud, s->a->seed);
        printf("%s\n", s->a->flash_timing ? ", with flash timing" : "");
        fflush(stdout);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", "serving");
    cJSON_AddStringToObject(j, "device", s->dev_path);
    cJSON_AddStringToObject(j, "link", s->a->link);
    cJSON_AddStringToObject(j, "pty", s->pty.path);
    if (s->a->baud || s->linked)
        cJSON_AddNumberToObject(j, "baud", s->linked ? s->h2d.p.baud : s->a->baud);
    else
        cJSON_AddNullToObject(j, "baud");
    add_str_or_null(j, "link_profile", s->linked ? s->h2d.p.name : NULL);
    if (s->linked)
        cJSON_AddNumberToObject(j, "link_seed", s->a->seed);
    else
        cJSON_AddNullToObject(j, "link_seed");
    cJSON_AddBoolToObject(j, "flash_timing", s->a->flash_timing);
    cJSON_AddNumberToObject(j, "clock_ns", (double)vclock_now(&s->dev->clock));
    cJSON_AddStringToObject(j, "state", "app");
    cJSON_AddNumberToObject(j, "app_version", app_version);
    serve_emit_json(j);
}

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : NULL;
}

static void print_link_stats(const char *dir, const link_stats_t *t)
{
    printf("link %s: %llu bytes sent, %llu delivered, %llu dropped, %llu bits flipped, %llu "
           "garbage, %llu frames repeated, %llu stalls\n",
           dir, (unsigned long long)t->sent, (unsigned long long)t->delivered,
           (unsigned long long)t->dropped, (unsigned long long)t->flipped_bits,
           (unsigned long long)t->garbage, (unsigned long long)t->dup_frames,
           (unsigned long long)t->stalls);
}

static void add_link_stats(cJSON *j, const char *key, const link_stats_t *t)
{
    cJSON *o = cJSON_AddObjectToObject(j, key);
    cJSON_AddNumberToObject(o, "sent", (double)t->sent);
    cJSON_AddNumberToObject(o, "delivered", (double)t->delivered);
    cJSON_AddNumberToObject(o, "dropped", (double)t->dropped);
    cJSON_AddNumberToObject(o, "flipped_bits", (double)t->flipped_bits);
    cJSON_AddNumberToObject(o, "garbage", (double)t->garbage);
    cJSON_AddNumberToObject(o, "dup_frames", (double)t->dup_frames);
    cJSON_AddNumberToObject(o, "stalls", (double)t->stalls);
}

void serve_announce_exit(const serve_t *s, int code, int sig)
{
    const serve_stats_t *t = &s->st;
    double total_ms = (double)t->ckpt_ns / 1e6, max_ms = (double)t->ckpt_max_ns / 1e6;
    if (!s->a->json) {
        if (s->linked) {
            print_link_stats("host->device", &s->h2d.stats);
            print_link_stats("device->host", &s->d2h.stats);
        }
        if (code == EMU_EXIT_OK)
            printf("stopped serving %s (%s): saved; %u checkpoints, %.1f ms in total, max %.2f "
                   "ms\n",
                   s->dev_path, signal_name(sig), t->checkpoints, total_ms, max_ms);
        fflush(stdout);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", "exit");
    add_str_or_null(j, "signal", signal_name(sig));
    cJSON_AddNumberToObject(j, "exit_code", code);
    cJSON_AddBoolToObject(j, "saved", code == EMU_EXIT_OK);
    cJSON_AddNumberToObject(j, "checkpoints", t->checkpoints);
    cJSON_AddNumberToObject(j, "checkpoint_ms", total_ms);
    cJSON_AddNumberToObject(j, "checkpoint_max_ms", max_ms);
    cJSON_AddNumberToObject(j, "resets", t->resets);
    cJSON_AddNumberToObject(j, "bytes_in", (double)t->bytes_in);
    cJSON_AddNumberToObject(j, "bytes_out", (double)t->bytes_out);
    cJSON_AddNumberToObject(j, "replies_dropped", t->dropped);
    cJSON_AddNumberToObject(j, "flash_busy_ms", (double)s->busy_ns / 1e6);
    if (s->linked) {
        add_link_stats(j, "link_host_to_device", &s->h2d.stats);
        add_link_stats(j, "link_device_to_host", &s->d2h.stats);
    } else {
        cJSON_AddNullToObject(j, "link_host_to_device");
        cJSON_AddNullToObject(j, "link_device_to_host");
    }
    serve_emit_json(j);
}
