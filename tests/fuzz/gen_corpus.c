/*
 * gen_corpus.c - writes the seed corpora of the fuzz targets from the nrfutil
 * fixtures, so every target starts from inputs that go deep (valid sessions,
 * real packages, real settings pages) rather than from random bytes.
 *
 *   gen_corpus OUT_DIR      # writes OUT_DIR/<target>/<seed>, e.g. tests/fuzz/corpus
 *
 * Deterministic: the same fixtures give the same files, so regenerating shows
 * no diff unless a fixture or a seed recipe changed. Host program, not a fuzz
 * target; any failure aborts (a half-written corpus must not be committed).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <zip.h>

#include "emulator/bl_settings.h"
#include "emulator/ihex.h"
#include "fuzz_device.h"
#include "fuzz_dfw_rx.h"
#include "proto/crc32.h"
#include "proto/frame.h"
#include "proto/msg.h"

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "gen_corpus: " __VA_ARGS__);                                               \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

static const char *out_dir;
static size_t files, bytes;

/* ---------------------------------------------------------------- output */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf_t;

static void put(buf_t *b, const void *src, size_t n)
{
    if (n == 0)
        return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            DIE("out of memory");
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put8(buf_t *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put16(buf_t *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(b, x, 2);
}

static void put32(buf_t *b, uint32_t v)
{
    uint8_t x[4];
    frame_put32(x, v);
    put(b, x, 4);
}

static void mkdir_p(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        DIE("cannot create %s: %s", dir, strerror(errno));
}

static void emit(const char *target, const char *name, const void *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", out_dir, target);
    mkdir_p(path);
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        DIE("cannot write %s", path);
    files++;
    bytes += n;
}

static void emit_buf(const char *target, const char *name, buf_t *b)
{
    emit(target, name, b->p, b->n);
    free(b->p);
    *b = (buf_t){0};
}

/* ------------------------------------------------------------- fuzz_frame */

static void wire_frame(buf_t *b, uint8_t type, uint8_t status, uint8_t object, uint16_t seq,
                       uint32_t offset, const uint8_t *payload, uint16_t len)
{
    frame_t f = {type, status, object, seq, offset, len, payload};
    uint8_t wire[FRAME_MAX_WIRE];
    size_t n;
    if (frame_encode(&f, wire, sizeof(wire), &n) != FRAME_OK)
        DIE("frame_encode");
    put(b, wire, n);
}

/* COBS of an arbitrary packet (frame_encode only writes version 1). */
static void wire_raw_packet(buf_t *b, const uint8_t *pkt, size_t n)
{
    size_t code_at = b->n;
    put8(b, 0);
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (pkt[i] == 0) {
            b->p[code_at] = code;
            code_at = b->n;
            put8(b, 0);
            code = 1;
            continue;
        }
        put8(b, pkt[i]);
        if (++code == 0xFF) {
            b->p[code_at] = code;
            code_at = b->n;
            put8(b, 0);
            code = 1;
        }
    }
    b->p[code_at] = code;
    put8(b, 0);
}

/* [k-1][k chunk sizes][small-decoder cap] in front of the wire bytes. */
static void frame_prefix(buf_t *b, const uint8_t *sizes, size_t k, uint8_t cap)
{
    put8(b, (uint8_t)(k - 1));
    put(b, sizes, k);
    put8(b, cap);
}

static void gen_frame(const fuzz_pkg_t *tiny)
{
    static const uint8_t whole[] = {255}, ones[] = {1}, mix[] = {1, 7, 64, 3, 200};
    uint8_t start[MSG_START_LEN], pay[2048];
    msg_start_t m = {(uint32_t)tiny->dat_len, crc32_compute(tiny->dat, tiny->dat_len),
                     (uint32_t)tiny->bin_len, crc32_compute(tiny->bin, tiny->bin_len)};
    msg_start_pack(&m, start);
    buf_t b = {0};

    frame_prefix(&b, whole, 1, 0);
    wire_frame(&b, MSG_HELLO, 0, 0, 1, 0, NULL, 0);
    emit_buf("fuzz_frame", "hello", &b);

    frame_prefix(&b, mix, sizeof(mix), 20);
    wire_frame(&b, MSG_START, 0, 0, 2, 0, start, MSG_START_LEN);
    wire_frame(&b, MSG_DATA, 0, FRAME_OBJ_INIT, 3, 0, tiny->dat, (uint16_t)tiny->dat_len);
    wire_frame(&b, MSG_DATA, 0, FRAME_OBJ_FW, 4, 0, tiny->bin, (uint16_t)tiny->bin_len);
    wire_frame(&b, MSG_COMMIT, 0, 0, 5, 0, NULL, 0);
    emit_buf("fuzz_frame", "session_tiny_mixed_chunks", &b);

    /* 2048-byte payload with runs around COBS's 254-byte block limit. */
    for (size_t i = 0; i < sizeof(pay); i++)
        pay[i] = (uint8_t)(i < 254 ? 1 + i % 255 : (i % 509 == 0 ? 0 : 0xA5));
    frame_prefix(&b, whole, 1, 255);
    wire_frame(&b, MSG_DATA, 0, FRAME_OBJ_FW, 9, 4096, pay, sizeof(pay));
    emit_buf("fuzz_frame", "data_2048_cobs_blocks", &b);

    frame_prefix(&b, ones, 1, 0);
    for (uint16_t n = 253; n <= 255; n++) {
        memset(pay, 0x5A, n);
        wire_frame(&b, MSG_DATA, 0, FRAME_OBJ_FW, n, 0, pay, n);
    }
    emit_buf("fuzz_frame", "block_edges_bytewise", &b);

    /* Noise, an empty frame, a cut frame, a foreign version, a good frame. */
    frame_prefix(&b, mix, sizeof(mix), 2);
    static const uint8_t noise[] = {0x00, 0x00, 0x03, 0x11, 0x22, 0x00, 0x05, 0x01, 0x02};
    put(&b, noise, sizeof(noise));
    size_t at = b.n;
    wire_frame(&b, MSG_QUERY, 0, 0, 7, 0, NULL, 0);
    b.n = at + (b.n - at) / 2; /* cut in the middle: merges with the next frame */
    uint8_t pkt[16] = {2, MSG_HELLO, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0};
    frame_put32(pkt + 12, crc32_compute(pkt, 12));
    wire_raw_packet(&b, pkt, sizeof(pkt));
    wire_frame(&b, MSG_ABORT, 0, 0, 9, 0, NULL, 0);
    emit_buf("fuzz_frame", "noise_cut_foreign", &b);

    /* Replies as the device sends them. */
    msg_info_t info = {2048, 2, 0, 1, 50016, 0x12345678, 0x33000, 0x42000, 0x80000, 4096, 0};
    msg_status_body_t st = {MSG_PHASE_FIRMWARE, 2, 0, 139, 2048, 0xCAFEF00D, 139, 50016};
    uint8_t ip[MSG_INFO_LEN], sp[MSG_STATUS_LEN];
    msg_info_pack(&info, ip);
    msg_status_pack(&st, sp);
    frame_prefix(&b, mix, 2, 40);
    wire_frame(&b, MSG_INFO, 0, 0, 1, 0, ip, MSG_INFO_LEN);
    wire_frame(&b, MSG_STATUS, MSG_WRONG_OFFSET, FRAME_OBJ_FW, 2, 2048, sp, MSG_STATUS_LEN);
    emit_buf("fuzz_frame", "replies", &b);

    /* Longer than any buffer, then a good frame. */
    frame_prefix(&b, whole, 1, 0);
    for (int i = 0; i < 2100; i++)
        put8(&b, (uint8_t)(1 + i % 200));
    put8(&b, 0);
    wire_frame(&b, MSG_HELLO, 0, 0, 1, 0, NULL, 0);
    emit_buf("fuzz_frame", "overflow_then_hello", &b);
}

/* ------------------------------------------------------------ fuzz_dfw_rx */

static void op(buf_t *b, uint8_t o)
{
    put8(b, o);
}

static void op_simple(buf_t *b, unsigned which)
{
    op(b, (uint8_t)(FUZZ_OP_SIMPLE | which << 4));
}

static void op_poll(buf_t *b)
{
    op(b, FUZZ_OP_POLL | 0x30); /* up to 4: drains both buffers */
}

static void op_start(buf_t *b, uint8_t v2)
{
    op(b, FUZZ_OP_START | v2);
}

static void op_dat(buf_t *b, uint8_t v2, uint16_t off, uint16_t len)
{
    op(b, FUZZ_OP_DATA_DAT | v2);
    put16(b, off);
    put16(b, len);
}

static void op_fw(buf_t *b, uint8_t v2, uint32_t off, uint16_t len)
{
    op(b, FUZZ_OP_DATA_FW | v2);
    put32(b, off);
    put16(b, len);
}

static void op_commit(buf_t *b)
{
    op_simple(b, FUZZ_SIMPLE_COMMIT);
    op_poll(b);
}

/* START for app_signed_v2 and its whole init packet in one DATA. */
static void op_v2_begin(buf_t *b)
{
    op_start(b, FUZZ_OP_V2);
    op_dat(b, FUZZ_OP_V2, 0, 2048);
    op_poll(b);
}

/* v2's firmware [from, to) in 2048-byte DATA frames, each answered before the next. */
static void op_v2_fw(buf_t *b, uint32_t from, uint32_t to)
{
    for (uint32_t off = from; off < to; off += 2048) {
        op_fw(b, FUZZ_OP_V2, off, 2048);
        op_poll(b);
    }
}

static void op_v2_resume(buf_t *b, uint32_t claim)
{
    op(b, FUZZ_OP_RESUME | FUZZ_OP_V2);
    put32(b, claim);
    op_poll(b);
}

static void op_frame(buf_t *b, uint8_t type, uint8_t object, uint16_t seq, uint32_t offset,
                     const uint8_t *payload, uint16_t len)
{
    op(b, FUZZ_OP_FRAME);
    put8(b, type);
    put8(b, object);
    put16(b, seq);
    put32(b, offset);
    put16(b, len);
    put(b, payload, len);
}

/* Wire bytes as RAW ops of at most 256 bytes each. */
static void op_raw(buf_t *b, const uint8_t *p, size_t n)
{
    for (size_t off = 0; off < n; off += 256) {
        size_t len = n - off < 256 ? n - off : 256;
        op(b, FUZZ_OP_RAW);
        put8(b, (uint8_t)(len - 1));
        put(b, p + off, len);
    }
}

/* A complete session with the package ops: HELLO, START, .dat, image, COMMIT. */
static void session(buf_t *b, uint8_t v2, const fuzz_pkg_t *pkg, uint16_t dat_step,
                    uint16_t fw_step)
{
    op_simple(b, FUZZ_SIMPLE_HELLO);
    op_poll(b);
    op_start(b, v2);
    op_poll(b);
    for (size_t off = 0; off < pkg->dat_len; off += dat_step) {
        op_dat(b, v2, (uint16_t)off, dat_step);
        op_poll(b);
    }
    for (size_t off = 0; off < pkg->bin_len; off += fw_step) {
        op_fw(b, v2, (uint32_t)off, fw_step);
        op_poll(b);
    }
    op_commit(b);
}

static void gen_dfw_rx(const fuzz_pkg_t *tiny, const fuzz_pkg_t *v2)
{
    const uint8_t V2 = FUZZ_OP_V2;
    buf_t b = {0};

    session(&b, 0, tiny, 2048, 2048);
    emit_buf("fuzz_dfw_rx", "tiny_session", &b);

    session(&b, 0, tiny, 50, 32);
    emit_buf("fuzz_dfw_rx", "tiny_session_small_frames", &b);

    /* The same session with generic FRAME ops: every request byte is in the input. */
    uint8_t start[MSG_START_LEN];
    msg_start_t m = {(uint32_t)tiny->dat_len, crc32_compute(tiny->dat, tiny->dat_len),
                     (uint32_t)tiny->bin_len, crc32_compute(tiny->bin, tiny->bin_len)};
    msg_start_pack(&m, start);
    uint8_t resume[4];
    frame_put32(resume, crc32_compute(tiny->bin, 64));
    op_frame(&b, MSG_HELLO, 0, 1, 0, NULL, 0);
    op_poll(&b);
    op_frame(&b, MSG_START, 0, 2, 0, start, MSG_START_LEN);
    op_frame(&b, MSG_DATA, FRAME_OBJ_INIT, 3, 0, tiny->dat, (uint16_t)tiny->dat_len);
    op_poll(&b);
    op_frame(&b, MSG_DATA, FRAME_OBJ_FW, 4, 0, tiny->bin, 64);
    op_poll(&b);
    op(&b, FUZZ_OP_RAM_RESET);
    op_frame(&b, MSG_START, 0, 5, 0, start, MSG_START_LEN);
    op_frame(&b, MSG_DATA, FRAME_OBJ_INIT, 6, 0, tiny->dat, (uint16_t)tiny->dat_len);
    op_poll(&b);
    op_frame(&b, MSG_RESUME, FRAME_OBJ_FW, 7, 64, resume, 4);
    op_poll(&b);
    op_frame(&b, MSG_DATA, FRAME_OBJ_FW, 8, 0, tiny->bin, (uint16_t)tiny->bin_len);
    op_poll(&b);
    op_frame(&b, MSG_QUERY, 0, 9, 0, NULL, 0);
    op_frame(&b, MSG_COMMIT, 0, 10, 0, NULL, 0);
    op_poll(&b);
    emit_buf("fuzz_dfw_rx", "tiny_frames_reset_resume", &b);

    /* The wire bytes of a session, fed raw one byte at a time; a frame cut by the link
     * is dropped after 1250 ms of silence (idle cut) and sent again. */
    buf_t w = {0};
    size_t ends[6], nf = 0;
    wire_frame(&w, MSG_HELLO, 0, 0, 1, 0, NULL, 0);
    ends[nf++] = w.n;
    wire_frame(&w, MSG_START, 0, 0, 2, 0, start, MSG_START_LEN);
    ends[nf++] = w.n;
    wire_frame(&w, MSG_DATA, 0, FRAME_OBJ_INIT, 3, 0, tiny->dat, (uint16_t)tiny->dat_len);
    ends[nf++] = w.n;
    wire_frame(&w, MSG_DATA, 0, FRAME_OBJ_FW, 4, 0, tiny->bin, (uint16_t)tiny->bin_len);
    ends[nf++] = w.n;
    wire_frame(&w, MSG_COMMIT, 0, 0, 5, 0, NULL, 0);
    ends[nf++] = w.n;
    op(&b, FUZZ_OP_CHUNK);
    put8(&b, 1);
    for (size_t i = 0, from = 0; i < nf; from = ends[i++]) {
        if (i == 2) {
            op_raw(&b, w.p + from, 40);
            for (int t = 0; t < 6; t++) { /* a tick every 250 ms, as DFW_RX_IDLE_MS / 4 */
                op(&b, FUZZ_OP_TICK);
                put16(&b, 250);
            }
        }
        op_raw(&b, w.p + from, ends[i] - from);
        op_poll(&b);
    }
    emit_buf("fuzz_dfw_rx", "tiny_raw_wire_idle_cut", &b);
    free(w.p);

    /* app_signed_v2: 25 DATA frames of 2048 bytes, two in flight (the INFO window). */
    op_simple(&b, FUZZ_SIMPLE_HELLO);
    op_poll(&b);
    op_v2_begin(&b);
    op_fw(&b, V2, 0, 2048);
    for (uint32_t off = 2048; off < v2->bin_len; off += 2048) {
        op_fw(&b, V2, off, 2048);
        op(&b, FUZZ_OP_POLL); /* one reply frees one buffer */
    }
    op_poll(&b);
    op_commit(&b);
    emit_buf("fuzz_dfw_rx", "v2_windowed_session", &b);

    /* v2 interrupted by a reset, resumed mid-page, finished. */
    op_v2_begin(&b);
    op_v2_fw(&b, 0, 20000);
    op(&b, FUZZ_OP_RAM_RESET);
    op_simple(&b, FUZZ_SIMPLE_HELLO);
    op_poll(&b);
    op_v2_begin(&b);
    op_v2_resume(&b, 18432);
    op_v2_fw(&b, 16384, v2->bin_len);
    op_commit(&b);
    emit_buf("fuzz_dfw_rx", "v2_reset_resume", &b);

    /* Mutations of the tiny session: each one a refusal path the host must survive. */
    op_fw(&b, 0, 0, 124); /* DATA before START */
    op_commit(&b);
    op(&b, FUZZ_OP_START | FUZZ_OP_PERTURB); /* wrong dat_crc */
    put8(&b, 1);
    put32(&b, 0x10);
    op_dat(&b, 0, 0, 139);
    op_poll(&b);
    op_start(&b, 0);
    op_dat(&b, 0, 0, 100);
    op_dat(&b, 0, 100, 100);
    op_poll(&b);
    op_dat(&b, 0, 50, 100); /* overlapping retransmission */
    op_fw(&b, 0, 60, 64);   /* gap */
    op_poll(&b);
    op_fw(&b, 0, 0, 100);
    op_fw(&b, 0, 0, 100); /* duplicate */
    op_poll(&b);
    op_simple(&b, FUZZ_SIMPLE_COMMIT); /* incomplete */
    op_simple(&b, FUZZ_SIMPLE_QUERY);
    op_poll(&b);
    op_simple(&b, FUZZ_SIMPLE_ABORT);
    op_poll(&b);
    emit_buf("fuzz_dfw_rx", "tiny_refusals", &b);

    /* Noise on the link: bit flips, lost delimiters, a foreign-version HELLO. */
    op(&b, FUZZ_OP_SIMPLE | FUZZ_OP_FLIP);
    put16(&b, 3);
    put8(&b, 0x40);
    op(&b, FUZZ_OP_START | FUZZ_OP_CUT);
    op_start(&b, 0); /* merges with the cut one: dropped */
    op_poll(&b);
    op_start(&b, 0);
    op_poll(&b);
    buf_t fw = {0};
    uint8_t pkt[16] = {2, MSG_HELLO, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0};
    frame_put32(pkt + 12, crc32_compute(pkt, 12));
    wire_raw_packet(&fw, pkt, sizeof(pkt));
    op_raw(&b, fw.p, fw.n);
    free(fw.p);
    op_poll(&b);
    op_dat(&b, 0, 0, 139);
    op_fw(&b, 0, 0, 124);
    op_fw(&b, 0, 0, 124); /* window exceeded: dropped for want of a buffer */
    op_poll(&b);
    op_commit(&b);
    emit_buf("fuzz_dfw_rx", "tiny_noisy_link", &b);

    /* Power cuts: torn in COMMIT's settings write, in the bootloader's activation copy, and
     * mid-image with a reconnect that RESUMEs. The device must always boot an app. */
    static const struct {
        const char *name;
        uint8_t mode, nth;
    } cuts[] = {{"tiny_cut_commit_erase", 2, 1},    /* COMMIT: settings erase (op 1) */
                {"tiny_cut_commit_write", 2, 2},    /* settings write (op 2), torn */
                {"tiny_cut_after_settings", 1, 2},  /* right after it: the update is staged */
                {"tiny_cut_in_activation", 1, 10}}; /* the bootloader's copy */
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        op_start(&b, 0);
        op_dat(&b, 0, 0, 139);
        op_poll(&b);
        op_fw(&b, 0, 0, 124);
        op_poll(&b);
        op(&b, (uint8_t)(FUZZ_OP_POWER_CUT | cuts[i].mode << 4));
        put8(&b, (uint8_t)(cuts[i].nth - 1)); /* the op counts from 1 */
        put8(&b, (uint8_t)(0x5A + i));
        op_simple(&b, FUZZ_SIMPLE_COMMIT);
        op_poll(&b);
        session(&b, 0, tiny, 2048, 2048); /* the host reconnects and tries again */
        emit_buf("fuzz_dfw_rx", cuts[i].name, &b);
    }
    op_v2_begin(&b);
    op_v2_fw(&b, 0, 5 * 2048);
    op(&b, FUZZ_OP_POWER_CUT | 2 << 4); /* torn, in the third flash op from here */
    put8(&b, 3 - 1);
    put8(&b, 7);
    op_v2_fw(&b, 5 * 2048, 8 * 2048);
    op_simple(&b, FUZZ_SIMPLE_HELLO);
    op_poll(&b);
    op_v2_begin(&b);
    op_v2_resume(&b, 10240);
    op_v2_fw(&b, 8192, v2->bin_len);
    op_commit(&b);
    emit_buf("fuzz_dfw_rx", "v2_cut_mid_image_resume", &b);

    /* Idle pre-erase: on a fresh device, then of an interrupted upload after 10 minutes
     * without a host (the stale pages go, and RESUME then starts over from 0). */
    op(&b, FUZZ_OP_TICK);
    put16(&b, 0);
    op(&b, FUZZ_OP_IDLE | 0xF0);
    session(&b, 0, tiny, 2048, 2048);
    emit_buf("fuzz_dfw_rx", "idle_erase_then_tiny", &b);
    op_v2_begin(&b);
    op_v2_fw(&b, 0, 3 * 2048);
    op(&b, FUZZ_OP_RAM_RESET);
    op(&b, FUZZ_OP_TICK);
    put16(&b, 0);
    op(&b, FUZZ_OP_IDLE | 0x30); /* not yet: the upload may still be resumed */
    op(&b, FUZZ_OP_TICK | 0x10);
    put16(&b, 700); /* 700 s of silence */
    op(&b, FUZZ_OP_IDLE | 0xF0);
    op_v2_begin(&b);
    op_v2_resume(&b, 6144);
    emit_buf("fuzz_dfw_rx", "v2_interrupted_idle_discard", &b);

    /* Wrong package for the START (v2 .dat with the tiny lengths), unknown request type. */
    op_start(&b, 0);
    op_dat(&b, V2, 0, 139);
    op_poll(&b);
    op_frame(&b, 0x42, 0, 1, 0, NULL, 0);
    op_frame(&b, MSG_INFO, 0, 2, 0, NULL, 0);
    op_poll(&b);
    emit_buf("fuzz_dfw_rx", "mismatched_package", &b);
}

/* ----------------------------------------------------------- fuzz_initpkt */

static void gen_initpkt(void)
{
    size_t n;
    char *text = (char *)fuzz_read_file(FUZZ_FIX "/packages.json", &n);
    cJSON *all = cJSON_ParseWithLength(text, n);
    free(text);
    if (!all)
        DIE("packages.json");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(all, "packages"))
    {
        const char *file = cJSON_GetObjectItemCaseSensitive(p, "file")->valuestring;
        const cJSON *img;
        cJSON_ArrayForEach(img, cJSON_GetObjectItemCaseSensitive(p, "images"))
        {
            const char *hex = cJSON_GetObjectItemCaseSensitive(img, "dat_hex")->valuestring;
            const char *dat = cJSON_GetObjectItemCaseSensitive(img, "dat_file")->valuestring;
            uint8_t buf[600];
            size_t len = strlen(hex) / 2;
            if (len > sizeof(buf))
                DIE("dat too long");
            for (size_t i = 0; i < len; i++) {
                unsigned v;
                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                    DIE("bad hex");
                buf[i] = (uint8_t)v;
            }
            const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
            char name[256];
            snprintf(name, sizeof(name), "%.*s__%s", (int)(strlen(base) - 4), base, dat);
            emit("fuzz_initpkt", name, buf, len);
        }
    }
    cJSON_Delete(all);
}

/* --------------------------------------------------- fuzz_manifest, fuzz_pkg */

/* A member of a zip, read whole; NULL if absent. */
static uint8_t *zip_member(const char *zip_path, const char *name, size_t *len)
{
    int err = 0;
    zip_t *z = zip_open(zip_path, ZIP_RDONLY, &err);
    if (!z)
        DIE("cannot open %s", zip_path);
    zip_stat_t st;
    uint8_t *buf = NULL;
    if (zip_stat(z, name, 0, &st) == 0) {
        zip_file_t *f = zip_fopen(z, name, 0);
        buf = malloc(st.size + 1);
        if (!f || !buf || zip_fread(f, buf, st.size) != (zip_int64_t)st.size)
            DIE("cannot read %s:%s", zip_path, name);
        zip_fclose(f);
        *len = st.size;
    }
    zip_discard(z);
    return buf;
}

static void manifest_seed(const char *name, const char *json, size_t len)
{
    buf_t b = {0};
    put8(&b, 200); /* `why` capacity, as pkg.c uses */
    put(&b, json, len);
    emit_buf("fuzz_manifest", name, &b);
}

static void gen_manifest(void)
{
    static const char *const zips[] = {"app_signed_tiny.zip",
                                       "bl_signed.zip",
                                       "sd_signed.zip",
                                       "sd_bl_signed.zip",
                                       "sd_app_signed.zip",
                                       "sd_bl_app_signed.zip",
                                       "tampered/manifest_bad_json.zip",
                                       "tampered/manifest_missing_bin.zip",
                                       "tampered/zip_slip_bin.zip"};
    for (size_t i = 0; i < sizeof(zips) / sizeof(zips[0]); i++) {
        char path[512], name[128];
        snprintf(path, sizeof(path), FUZZ_FIX "/packages/%s", zips[i]);
        size_t len;
        uint8_t *m = zip_member(path, "manifest.json", &len);
        if (!m)
            DIE("%s has no manifest.json", zips[i]);
        snprintf(name, sizeof(name), "%s",
                 strrchr(zips[i], '/') ? strrchr(zips[i], '/') + 1 : zips[i]);
        name[strlen(name) - 4] = '\0';
        manifest_seed(name, (const char *)m, len);
        free(m);
    }
    static const char legacy[] =
        "{\"manifest\":{\"application\":{\"bin_file\":\"a.bin\",\"dat_file\":\"a.dat\","
        "\"init_packet_data\":{\"application_version\":4294967295}},\"dfu_version\":0.5}}";
    manifest_seed("legacy", legacy, sizeof(legacy) - 1);
    static const char unsafe[] = "{\"manifest\":{\"bootloader\":{\"bin_file\":\"..\\\\x.bin\","
                                 "\"dat_file\":\"C:x.dat\"},\"application\":{}}}";
    manifest_seed("unsafe_names", unsafe, sizeof(unsafe) - 1);
}

typedef struct {
    const char *name;
    const void *data;
    size_t len;
} member_t;

static void pkg_seed(const char *seed, const member_t *m, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fuzz_pkg", out_dir);
    mkdir_p(path);
    snprintf(path, sizeof(path), "%s/fuzz_pkg/%s", out_dir, seed);
    remove(path);
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z)
        DIE("cannot create %s", path);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(z, m[i].data, m[i].len, 0);
        zip_int64_t idx = src ? zip_file_add(z, m[i].name, src, ZIP_FL_ENC_RAW) : -1;
        if (idx < 0)
            DIE("zip_file_add %s", m[i].name);
        zip_file_set_mtime(z, (zip_uint64_t)idx, 315532800, 0); /* 1980-01-01: reproducible */
        if (i % 2) /* both stored and deflated members */
            zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    }
    if (zip_close(z) != 0)
        DIE("cannot write %s", path);
    struct stat st;
    files++;
    bytes += stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static void gen_pkg(const fuzz_pkg_t *tiny)
{
    static const char *const copies[] = {"app_signed_tiny.zip", "bl_signed.zip", "bl_unsigned.zip"};
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof(path), FUZZ_FIX "/packages/%s", copies[i]);
        size_t len;
        uint8_t *zip = fuzz_read_file(path, &len);
        emit("fuzz_pkg", copies[i], zip, len);
        free(zip);
    }
    static const char man[] = "{\"manifest\":{\"application\":{\"bin_file\":\"app_tiny.bin\",\"dat_"
                              "file\":\"app_tiny.dat\"}}}";
    static const char man2[] =
        "{\"manifest\":{\"bootloader\":{\"bin_file\":\"b.bin\",\"dat_file\":\"app_tiny.dat\"},"
        "\"application\":{\"bin_file\":\"app_tiny.bin\",\"dat_file\":\"app_tiny.dat\"}}}";
    static const char legacy[] = "{\"manifest\":{\"dfu_version\":0.5}}";
    member_t mf = {"manifest.json", man, sizeof(man) - 1};
    member_t dat = {"app_tiny.dat", tiny->dat, tiny->dat_len};
    member_t bin = {"app_tiny.bin", tiny->bin, tiny->bin_len};

    member_t ok[] = {mf, dat, bin};
    pkg_seed("tiny_rebuilt.zip", ok, 3);
    member_t two[] = {
        {"manifest.json", man2, sizeof(man2) - 1}, dat, bin, {"b.bin", "\1\2\3\4", 4}};
    pkg_seed("two_images.zip", two, 4);
    member_t no_dat[] = {mf, bin};
    pkg_seed("missing_dat.zip", no_dat, 2);
    member_t slip[] = {mf, dat, bin, {"../evil.bin", "x", 1}};
    pkg_seed("zip_slip.zip", slip, 4);
    member_t old[] = {{"manifest.json", legacy, sizeof(legacy) - 1}, dat, bin};
    pkg_seed("legacy.zip", old, 3);
    member_t bad_dat[] = {mf, {"app_tiny.dat", tiny->dat, 40}, bin};
    pkg_seed("truncated_dat.zip", bad_dat, 3);
}

/* ---------------------------------------------------------- fuzz_settings */

/* The settings and backup pages of a fixture .hex (erased where it has no bytes). */
static void hex_pages(const char *file, uint8_t *main_page, uint8_t *backup)
{
    char path[512];
    snprintf(path, sizeof(path), FUZZ_FIX "/settings/%s", file);
    ihex_image_t *img = NULL;
    size_t line = 0;
    if (ihex_load_file(path, &img, &line) != IHEX_OK)
        DIE("%s: line %zu", path, line);
    bool big = strstr(file, "52840") != NULL;
    uint32_t s = big ? 0xFF000u : 0x7F000u, bk = big ? 0xFE000u : 0x7E000u;
    if (ihex_image_flatten(img, s, s + BL_SETTINGS_SIZE, main_page) != IHEX_OK ||
        ihex_image_flatten(img, bk, bk + BL_SETTINGS_SIZE, backup) != IHEX_OK)
        DIE("%s: flatten", path);
    ihex_image_free(img);
}

static void settings_seed(const char *name, uint8_t ctl, const uint8_t *main_page,
                          const uint8_t *backup)
{
    buf_t b = {0};
    put8(&b, ctl);
    put(&b, main_page, BL_SETTINGS_SIZE);
    if ((ctl & 3) == 0)
        put(&b, backup, BL_SETTINGS_SIZE);
    if ((ctl & 3) == 3) {
        put16(&b, 20); /* flip bank_current in the backup */
        put8(&b, 1);
    }
    put16(&b, 700); /* format into 700 bytes: truncates the display */
    emit_buf("fuzz_settings", name, &b);
}

static void gen_settings(const uint8_t *dev_main, const uint8_t *dev_backup,
                         const uint8_t *staged_main)
{
    static const char *const hexes[] = {"s52832_app_ecdsa.hex",     "s52832_app_v3_crc.hex",
                                        "s52832_app_v7_sha256.hex", "s52832_noapp.hex",
                                        "s52832_sd_app_crc.hex",    "s52832_v1.hex",
                                        "s52840_app_large.hex"};
    uint8_t m[BL_SETTINGS_SIZE], bk[BL_SETTINGS_SIZE];
    for (size_t i = 0; i < sizeof(hexes) / sizeof(hexes[0]); i++) {
        hex_pages(hexes[i], m, bk);
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(strlen(hexes[i]) - 4), hexes[i]);
        settings_seed(name, (uint8_t)(i % 2 ? 0x20 : 0), m, bk);
    }
    settings_seed("device_booted", 0, dev_main, dev_backup);
    settings_seed("device_staged_restore", 0x30, staged_main, dev_backup);
    settings_seed("device_staged_copy", 1, staged_main, NULL);
    settings_seed("device_staged_flip_fix", 3 | 4 | 8, staged_main, NULL);
    memset(m, 0xFF, sizeof(m));
    settings_seed("erased", 2, m, NULL);
}

/* ----------------------------------------------------------- fuzz_bl_boot */

static void boot_seed(const char *name, uint8_t ctl, const uint8_t *page)
{
    buf_t b = {0};
    put8(&b, ctl);
    put(&b, page, BL_SETTINGS_SIZE);
    emit_buf("fuzz_bl_boot", name, &b);
}

static void gen_bl_boot(const uint8_t *booted, const uint8_t *staged, const uint8_t *mid_copy)
{
    const uint8_t sdk17_1 = 3 << 3;
    boot_seed("staged_activates", sdk17_1, staged);
    boot_seed("staged_sdk15_3", 0, staged);
    boot_seed("staged_stock_ignored", sdk17_1 | 0x20, staged);
    boot_seed("staged_debug_sigreq", sdk17_1 | 0x40 | 0x80, staged);
    boot_seed("staged_no_backup", sdk17_1 | 4, staged);
    boot_seed("booted_plain", sdk17_1, booted);
    boot_seed("mid_copy_both_pages", sdk17_1 | 1, mid_copy);
    uint8_t p[BL_SETTINGS_SIZE];
    memcpy(p, staged, sizeof(p));
    frame_put32(p + 60, 7); /* command_offset != command_size */
    boot_seed("staged_incomplete_fixcrc", sdk17_1 | 2, p);
    memcpy(p, staged, sizeof(p));
    p[92 + 20] ^= 1; /* init command no longer matches its signature */
    boot_seed("staged_bad_signature_fixcrc", sdk17_1 | 2, p);
    uint8_t v1[BL_SETTINGS_SIZE], unused[BL_SETTINGS_SIZE];
    hex_pages("s52832_v1.hex", v1, unused);
    boot_seed("v1_page_both", sdk17_1 | 1, v1);
    memset(p, 0xFF, sizeof(p));
    boot_seed("erased_main", sdk17_1, p);
    boot_seed("erased_both", sdk17_1 | 1, p);
}

/* ------------------------------------------------------------------- main */

static void page_of(const emu_device_t *dev, uint32_t addr, uint8_t *out)
{
    memcpy(out, flash_bytes(dev->flash) + addr, BL_SETTINGS_SIZE);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        DIE("usage: gen_corpus OUT_DIR");
    out_dir = argv[1];
    mkdir_p(out_dir);

    fuzz_pkg_t tiny, v2;
    fuzz_pkg_load(&tiny, "app_signed_tiny.zip", "app_tiny.bin");
    fuzz_pkg_load(&v2, "app_signed_v2.zip", "app_v2.bin");

    /* The devices fuzz_dfw_rx and fuzz_bl_boot run on, and their pages. */
    uint8_t booted[BL_SETTINGS_SIZE], backup[BL_SETTINGS_SIZE], staged[BL_SETTINGS_SIZE];
    uint8_t mid_copy[BL_SETTINGS_SIZE];
    emu_device_t *dev = fuzz_device_new();
    page_of(dev, dev->cfg.settings_addr, booted);
    page_of(dev, dev->cfg.backup_addr, backup);
    fuzz_device_stage(dev, &v2);
    page_of(dev, dev->cfg.settings_addr, staged);
    emu_device_free(dev);
    /* Power lost after a copy step: both pages hold the activation progress. */
    bl_boot_report_t rep;
    bool found = false;
    for (uint64_t n = 1; n < 200 && !found; n++) {
        dev = fuzz_device_new();
        fuzz_device_stage(dev, &v2);
        if (flash_cut_arm(dev->flash, n, FLASH_CUT_AFTER, 0) != FLASH_OK)
            DIE("cannot arm a cut");
        bl_boot_run(dev, &rep);
        page_of(dev, dev->cfg.settings_addr, mid_copy);
        bl_settings_t s;
        bl_settings_decode(mid_copy, &s);
        found = rep.state == BL_STATE_POWER_LOST && bl_settings_main_valid(mid_copy) &&
                s.write_offset > 0 && s.bank_1.bank_code == BL_SETTINGS_BANK_VALID_APP;
        emu_device_free(dev);
    }
    if (!found)
        DIE("no power cut leaves a page mid-activation");

    gen_frame(&tiny);
    gen_dfw_rx(&tiny, &v2);
    gen_initpkt();
    gen_manifest();
    gen_pkg(&tiny);
    gen_settings(booted, backup, staged);
    gen_bl_boot(booted, staged, mid_copy);
    fuzz_pkg_free(&tiny);
    fuzz_pkg_free(&v2);
    printf("gen_corpus: %zu files, %zu bytes in %s\n", files, bytes, out_dir);
    return 0;
}
