/*
 * test_dfw_initcmd.c - the device's bounded init-packet (.dat) reader.
 *
 * Ground truth: every genuine .dat that nrfutil 6.1.7 produced for
 * tests/fixtures/nrfutil/packages.json, compared with nrfutil's own decode of
 * it (the `init` objects there), plus hand-built packets for the edges.
 * Decoding always runs on a heap buffer of exactly the input length, so
 * AddressSanitizer catches a read of even one byte past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_fw/dfw_initcmd.h"

/* ------------------------------------------------------------------ helpers */

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decode hex digits up to the closing quote; returns the byte count. */
static size_t hex_decode(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] != '"' && s[0] != '\0') {
        int hi = hex_nibble(s[0]), lo = hex_nibble(s[1]);
        assert_true(hi >= 0 && lo >= 0);
        assert_true(n < cap);
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return n;
}

/* Decode `bytes` from a heap block of exactly `len` bytes (ASan-visible bounds). */
static dfw_err_t decode_exact(const uint8_t *bytes, size_t len, dfw_initcmd_t *ic)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, bytes, len);
    }
    dfw_err_t err = dfw_initcmd_decode(copy, len, ic);
    free(copy);
    return err;
}

static void assert_zeroed(const dfw_initcmd_t *ic)
{
    static const dfw_initcmd_t zero;
    assert_memory_equal(ic, &zero, sizeof(zero));
}

/* Tiny protobuf writer for hand-made packets. */
typedef struct pb {
    uint8_t d[1200];
    size_t n;
} pb_t;

static void pb_raw(pb_t *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->d));
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void pb_varint(pb_t *b, uint64_t v)
{
    do {
        uint8_t byte = (uint8_t)(v & 0x7Fu);
        v >>= 7;
        if (v != 0) {
            byte |= 0x80u;
        }
        pb_raw(b, &byte, 1);
    } while (v != 0);
}

static void pb_u32(pb_t *b, uint32_t field, uint64_t v)
{
    pb_varint(b, (uint64_t)field << 3 | 0u);
    pb_varint(b, v);
}

static void pb_bytes(pb_t *b, uint32_t field, const void *p, size_t n)
{
    pb_varint(b, (uint64_t)field << 3 | 2u);
    pb_varint(b, n);
    pb_raw(b, p, n);
}

static void pb_msg(pb_t *b, uint32_t field, const pb_t *sub)
{
    pb_bytes(b, field, sub->d, sub->n);
}

/* InitCommand as nrfutil writes it for an application (spec §4.3, §4.6). */
static void build_init(pb_t *init, uint32_t type, uint32_t app_size)
{
    static const uint8_t digest[32] = {0x32, 0xa5, 0x1c, 0x2a};
    pb_t hash = {0}, bv = {0};
    uint8_t sdreq_packed[] = {0x00};
    memset(init, 0, sizeof(*init));
    pb_u32(init, 1, 1);  /* fw_version */
    pb_u32(init, 2, 52); /* hw_version */
    pb_bytes(init, 3, sdreq_packed, sizeof(sdreq_packed));
    pb_u32(init, 4, type);
    pb_u32(init, 5, 0); /* sd_size */
    pb_u32(init, 6, 0); /* bl_size */
    pb_u32(init, 7, app_size);
    pb_u32(&hash, 1, 3); /* SHA256 */
    pb_bytes(&hash, 2, digest, sizeof(digest));
    pb_msg(init, 8, &hash);
    pb_u32(init, 9, 0); /* is_debug */
    pb_u32(&bv, 1, 1);  /* VALIDATE_GENERATED_CRC */
    pb_bytes(&bv, 2, "", 0);
    pb_msg(init, 10, &bv);
}

/* Packet{command{op_code INIT, init}} (unsigned) or Packet{signed_command{...}}. */
static void build_packet(pb_t *pkt, const pb_t *init, int is_signed)
{
    pb_t cmd = {0};
    memset(pkt, 0, sizeof(*pkt));
    pb_u32(&cmd, 1, 1);
    pb_msg(&cmd, 2, init);
    if (!is_signed) {
        pb_msg(pkt, 1, &cmd);
        return;
    }
    uint8_t sig[64];
    memset(sig, 0xA5, sizeof(sig));
    pb_t sc = {0};
    pb_msg(&sc, 1, &cmd);
    pb_u32(&sc, 2, 0);
    pb_bytes(&sc, 3, sig, sizeof(sig));
    pb_msg(pkt, 2, &sc);
}

/* ------------------------------------------------- genuine packets (JSON) */

/* Fields of one image in packages.json, read from the text between two "dat_hex" keys. */
typedef struct genuine {
    uint8_t dat[600];
    size_t dat_len;
    uint8_t init_cmd[600];
    size_t init_cmd_len;
    int is_signed;
    unsigned long long type, fw_version, hw_version, sd_size, bl_size, app_size;
    int is_debug;
    unsigned sd_req_count, bv_count;
} genuine_t;

/* Position of `"key": ` inside [from, to), or NULL. */
static const char *json_key(const char *from, const char *to, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    const char *p = strstr(from, pat);
    return (p != NULL && p < to) ? p + strlen(pat) : NULL;
}

static unsigned long long json_num(const char *from, const char *to, const char *key)
{
    const char *p = json_key(from, to, key);
    assert_non_null(p);
    return strtoull(p, NULL, 10);
}

static unsigned count_in(const char *from, const char *to, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(from, needle); p != NULL && p < to; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void parse_genuine(const char *dat_key, const char *to, genuine_t *g)
{
    memset(g, 0, sizeof(*g));
    g->dat_len = hex_decode(dat_key, g->dat, sizeof(g->dat));
    const char *init = json_key(dat_key, to, "init");
    assert_non_null(init);
    const char *kind = json_key(init, to, "packet_kind");
    assert_non_null(kind);
    g->is_signed = strncmp(kind, "\"signed_command\"", 16) == 0;
    g->type = json_num(init, to, "type_value"); /* first type_value after init = FwType */
    g->fw_version = json_num(init, to, "fw_version");
    g->hw_version = json_num(init, to, "hw_version");
    g->sd_size = json_num(init, to, "sd_size");
    g->bl_size = json_num(init, to, "bl_size");
    g->app_size = json_num(init, to, "app_size");
    const char *dbg = json_key(init, to, "is_debug");
    assert_non_null(dbg);
    g->is_debug = strncmp(dbg, "true", 4) == 0;
    const char *sdreq = json_key(init, to, "sd_req");
    const char *sdreq_end = strchr(sdreq, ']');
    g->sd_req_count = sdreq[1] == ']' ? 0 : count_in(sdreq, sdreq_end, ",") + 1;
    g->bv_count = count_in(init, to, "\"bytes_hex\"");
    const char *ic = json_key(init, to, "init_command_hex");
    assert_non_null(ic);
    g->init_cmd_len = hex_decode(ic + 1, g->init_cmd, sizeof(g->init_cmd));
}

/* Calls fn for every image of every genuine package; returns how many. */
static unsigned for_each_genuine(void (*fn)(const genuine_t *g))
{
    char *json = read_text_file(DFUART_FIXTURES "/nrfutil/packages.json");
    static const char key[] = "\"dat_hex\": \"";
    unsigned n = 0;
    for (const char *p = strstr(json, key); p != NULL;) {
        const char *next = strstr(p + 1, key);
        const char *to = next != NULL ? next : json + strlen(json);
        genuine_t *g = malloc(sizeof(*g));
        assert_non_null(g);
        parse_genuine(p + strlen(key), to, g);
        fn(g);
        free(g);
        n++;
        p = next;
    }
    free(json);
    return n;
}

static void check_genuine(const genuine_t *g)
{
    dfw_initcmd_t ic;
    assert_int_equal(decode_exact(g->dat, g->dat_len, &ic), DFW_OK);
    assert_int_equal(ic.is_signed, g->is_signed);
    if (g->is_signed) {
        assert_int_equal(ic.signature_type, 0);
        assert_int_equal(ic.signature_len, 64);
    }
    assert_true(ic.has_type && ic.has_fw_version && ic.has_hw_version);
    assert_true(ic.has_sd_size && ic.has_bl_size && ic.has_app_size);
    assert_int_equal(ic.type, g->type);
    assert_int_equal(ic.fw_version, g->fw_version);
    assert_int_equal(ic.hw_version, g->hw_version);
    assert_int_equal(ic.sd_size, g->sd_size);
    assert_int_equal(ic.bl_size, g->bl_size);
    assert_int_equal(ic.app_size, g->app_size);
    assert_int_equal(ic.is_debug, g->is_debug);
    assert_int_equal(ic.sd_req_count, g->sd_req_count);
    assert_int_equal(ic.boot_validation_count, g->bv_count);
    assert_true(ic.has_hash);
    assert_int_equal(ic.hash_type, DFW_HASH_SHA256);
    assert_int_equal(ic.hash_len, 32);
    /* The signed region is exactly the serialized InitCommand nrfutil signed (spec §4.5). */
    assert_int_equal(ic.signed_len, g->init_cmd_len);
    assert_true(ic.signed_off + ic.signed_len <= g->dat_len);
    assert_memory_equal(g->dat + ic.signed_off, g->init_cmd, g->init_cmd_len);
    /* Image size per spec §5.3 step 6. */
    unsigned long long want = g->type == 0 || g->type == 4 ? g->app_size
                                                           : ((g->type & 1) ? g->sd_size : 0) +
                                                                 ((g->type & 2) ? g->bl_size : 0);
    uint32_t size;
    assert_int_equal(dfw_initcmd_image_size(&ic, &size), DFW_OK);
    assert_int_equal(size, want);
}

static void test_dfw_initcmd_decodes_every_genuine_dat(void **state)
{
    (void)state;
    /* 32 packages, 34 images (two multi-image packages). */
    assert_int_equal(for_each_genuine(check_genuine), 34);
}

static void check_truncations(const genuine_t *g)
{
    dfw_initcmd_t ic;
    for (size_t n = 0; n < g->dat_len; n++) {
        /* A Packet is one top-level field, so every proper prefix is malformed. */
        dfw_err_t err = decode_exact(g->dat, n, &ic);
        assert_int_equal(err, n == 0 ? DFW_ERR_INITCMD_SIZE : DFW_ERR_INITCMD_MALFORMED);
        assert_zeroed(&ic);
    }
}

static void test_dfw_initcmd_truncated_genuine_dat_fails_cleanly(void **state)
{
    (void)state;
    assert_int_equal(for_each_genuine(check_truncations), 34);
}

/* ---------------------------------------------------- hand-made packets */

static void test_dfw_initcmd_decodes_spec_worked_example(void **state)
{
    (void)state;
    pb_t init, pkt;
    build_init(&init, DFW_FW_APPLICATION, 1000);
    assert_int_equal(init.n, 62); /* spec §4.6: InitCommand is 62 bytes */
    build_packet(&pkt, &init, 0);
    assert_int_equal(pkt.n, 68);

    dfw_initcmd_t ic;
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_OK);
    assert_false(ic.is_signed);
    assert_int_equal(ic.app_size, 1000);
    assert_int_equal(ic.fw_version, 1);
    assert_int_equal(ic.hw_version, 52);
    assert_int_equal(ic.sd_req_count, 1);
    assert_int_equal(ic.signed_off, 6);
    assert_int_equal(ic.signed_len, 62);

    build_packet(&pkt, &init, 1);
    assert_int_equal(pkt.n, 139);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_OK);
    assert_true(ic.is_signed);
    assert_int_equal(ic.signed_off, 9); /* "signed region starts at offset 9 and ends at 71" */
    assert_int_equal(ic.signed_off + ic.signed_len, 71);
}

typedef struct bad_case {
    const char *what;
    uint8_t bytes[24];
    size_t len;
} bad_case_t;

static void test_dfw_initcmd_rejects_malformed_wire_data(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"truncated tag varint", {0x8A}, 1},
        {"11-byte tag varint",
         {0x8A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
         11},
        {"length varint with 10th byte > 1 (65 bits)",
         {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02},
         11},
        {"field number 0", {0x02, 0x00}, 2},
        {"tag beyond 32 bits", {0xFA, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00}, 7},
        {"length past end", {0x0A, 0x05, 0x08, 0x01}, 4},
        {"huge length", {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x08, 0x01}, 8},
        {"length past enclosing message", {0x0A, 0x02, 0x12, 0x05, 0x08, 0x01, 0x08, 0x01}, 8},
        {"group start wire type (unknown field)", {0x1B, 0x1C}, 2},
        {"wire type 6 (unknown field)", {0x1E, 0x00}, 2},
        {"command with wrong wire type", {0x08, 0x01}, 2},
        {"uint32 field above 2^32-1",
         {0x0A, 0x0A, 0x12, 0x08, 0x08, 0x80, 0x80, 0x80, 0x80, 0x10, 0x20, 0x00},
         12},
        {"unknown fixed64 field truncated", {0x19, 0x01, 0x02, 0x03}, 4},
        {"unknown fixed32 field truncated", {0x1D, 0x01, 0x02}, 3},
        {"no init at all", {0x0A, 0x02, 0x08, 0x01}, 4},
        {"empty packet body", {0x0A, 0x00}, 2},
        {"unknown field only", {0x18, 0x01}, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dfw_initcmd_t ic;
        dfw_err_t err = decode_exact(cases[i].bytes, cases[i].len, &ic);
        if (err != DFW_ERR_INITCMD_MALFORMED) {
            fail_msg("case '%s': got %d", cases[i].what, err);
        }
        assert_zeroed(&ic);
    }
}

/* Malformed trailers after a complete, valid packet: only the trailer can be at fault. */
static void test_dfw_initcmd_rejects_malformed_trailer_after_valid_packet(void **state)
{
    (void)state;
    static const bad_case_t trailers[] = {
        {"65-bit varint in unknown field",
         {0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02},
         11},
        {"11-byte varint in unknown field",
         {0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
         12},
        {"tag beyond 32 bits", {0xFA, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00}, 7},
        /* nanopb would skip this (and stop at a 0x00 tag); nrfutil never emits either. */
        {"field number 0", {0x02, 0x00}, 2},
        {"truncated varint", {0x18, 0x80}, 2},
    };
    pb_t init, pkt;
    build_init(&init, 0, 100);
    build_packet(&pkt, &init, 1);
    dfw_initcmd_t ic;
    pb_t ok = pkt;
    /* The longest legal varint (10 bytes, top byte 1) is fine. */
    static const uint8_t max64[] = {0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                    0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    pb_raw(&ok, max64, sizeof(max64));
    assert_int_equal(decode_exact(ok.d, ok.n, &ic), DFW_OK);
    for (size_t i = 0; i < sizeof(trailers) / sizeof(trailers[0]); i++) {
        pb_t bad = pkt;
        pb_raw(&bad, trailers[i].bytes, trailers[i].len);
        dfw_err_t err = decode_exact(bad.d, bad.n, &ic);
        if (err != DFW_ERR_INITCMD_MALFORMED) {
            fail_msg("trailer '%s': got %d", trailers[i].what, err);
        }
    }
}

static void test_dfw_initcmd_accepts_max_varint_u32(void **state)
{
    (void)state;
    pb_t init = {0}, pkt;
    /* fw_version 0xFFFFFFFF padded to a 10-byte varint: legal protobuf. */
    static const uint8_t fw[] = {0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x8F, 0x80, 0x80, 0x80, 0x80, 0x00};
    pb_raw(&init, fw, sizeof(fw));
    pb_u32(&init, 4, 0);
    build_packet(&pkt, &init, 0);
    dfw_initcmd_t ic;
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_OK);
    assert_true(ic.has_fw_version);
    assert_int_equal(ic.fw_version, 0xFFFFFFFFu);
    assert_false(ic.has_app_size);
}

/* Limits from dfu-cc.options: exactly at the limit decodes, one more does not. */
static void test_dfw_initcmd_enforces_nanopb_limits(void **state)
{
    (void)state;
    uint8_t zeros[80] = {0};
    for (int over = 0; over <= 1; over++) {
        dfw_err_t want = over ? DFW_ERR_INITCMD_MALFORMED : DFW_OK;
        dfw_initcmd_t ic;
        pb_t init = {0}, pkt, hash = {0}, bv = {0}, sc = {0}, cmd = {0};

        /* sd_req: 16 entries, split over a packed and an unpacked run. */
        uint8_t packed[16];
        memset(packed, 0x01, sizeof(packed));
        pb_bytes(&init, 3, packed, 10);
        for (int i = 0; i < 6 + over; i++) {
            pb_u32(&init, 3, 0x101);
        }
        build_packet(&pkt, &init, 0);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), want);

        pb_u32(&hash, 1, 3);
        pb_bytes(&hash, 2, zeros, 32u + (size_t)over);
        memset(&init, 0, sizeof(init));
        pb_msg(&init, 8, &hash);
        build_packet(&pkt, &init, 0);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), want);

        pb_u32(&bv, 1, 3);
        pb_bytes(&bv, 2, zeros, 64u + (size_t)over);
        memset(&init, 0, sizeof(init));
        pb_msg(&init, 10, &bv);
        build_packet(&pkt, &init, 0);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), want);

        memset(&bv, 0, sizeof(bv));
        pb_u32(&bv, 1, 1);
        pb_bytes(&bv, 2, "", 0);
        memset(&init, 0, sizeof(init));
        for (int i = 0; i < 3 + over; i++) {
            pb_msg(&init, 10, &bv);
        }
        build_packet(&pkt, &init, 0);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), want);

        memset(&init, 0, sizeof(init));
        pb_u32(&init, 4, 0);
        pb_u32(&cmd, 1, 1);
        pb_msg(&cmd, 2, &init);
        pb_msg(&sc, 1, &cmd);
        pb_u32(&sc, 2, 0);
        pb_bytes(&sc, 3, zeros, 64u + (size_t)over);
        memset(&pkt, 0, sizeof(pkt));
        pb_msg(&pkt, 2, &sc);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), want);
    }
}

/* What nanopb and the SDK reject as a whole (spec §4.1, §4.5, §5.3 step 3). */
static void test_dfw_initcmd_rejects_ambiguous_or_incomplete_packets(void **state)
{
    (void)state;
    pb_t init, cmd = {0}, pkt = {0}, sc = {0}, hash = {0}, bv = {0};
    dfw_initcmd_t ic;
    build_init(&init, 0, 100);
    pb_msg(&cmd, 2, &init);

    /* both command and signed_command, even though only one carries the init */
    pb_t bare = {0};
    pb_u32(&bare, 1, 1);
    pb_msg(&sc, 1, &cmd);
    pb_u32(&sc, 2, 0);
    pb_bytes(&sc, 3, "sig", 3);
    pb_msg(&pkt, 2, &sc);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_OK);
    pb_msg(&pkt, 1, &bare);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);

    /* init twice in one command */
    pb_t cmd2 = cmd;
    pb_msg(&cmd2, 2, &init);
    memset(&pkt, 0, sizeof(pkt));
    pb_msg(&pkt, 1, &cmd2);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);

    /* signed_command missing each required field in turn */
    for (int drop = 0; drop < 3; drop++) {
        memset(&sc, 0, sizeof(sc));
        memset(&pkt, 0, sizeof(pkt));
        if (drop != 0) {
            pb_msg(&sc, 1, &cmd);
        }
        if (drop != 1) {
            pb_u32(&sc, 2, 0);
        }
        if (drop != 2) {
            pb_bytes(&sc, 3, "sig", 3);
        }
        pb_msg(&pkt, 2, &sc);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);
    }

    /* Hash and BootValidation without one of their required fields */
    for (int sub = 0; sub < 4; sub++) {
        memset(&hash, 0, sizeof(hash));
        memset(&bv, 0, sizeof(bv));
        memset(&init, 0, sizeof(init));
        if (sub == 0) {
            pb_u32(&hash, 1, 3);
        } else if (sub == 1) {
            pb_bytes(&hash, 2, "0123456789abcdef0123456789abcdef", 32);
        } else if (sub == 2) {
            pb_u32(&bv, 1, 1);
        } else {
            pb_bytes(&bv, 2, "", 0);
        }
        if (sub < 2) {
            pb_msg(&init, 8, &hash);
        } else {
            pb_msg(&init, 10, &bv);
        }
        build_packet(&pkt, &init, 0);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);
    }
}

static void test_dfw_initcmd_rejects_known_field_with_wrong_wire_type(void **state)
{
    (void)state;
    pb_t init = {0}, pkt;
    pb_bytes(&init, 7, "\x10", 1); /* app_size as length-delimited */
    build_packet(&pkt, &init, 0);
    dfw_initcmd_t ic;
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);

    memset(&init, 0, sizeof(init));
    pb_u32(&init, 8, 3); /* hash as varint */
    build_packet(&pkt, &init, 0);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);
}

/* Unknown fields of every wire type at every level are skipped, as nanopb does. */
static void test_dfw_initcmd_skips_unknown_fields(void **state)
{
    (void)state;
    static const uint8_t unknown[] = {
        0xA0, 0x01, 0x05,                            /* field 20 varint */
        0xA9, 0x01, 1,    2,    3,    4, 5, 6, 7, 8, /* field 21 fixed64 */
        0xB2, 0x01, 0x02, 0xAA, 0xBB,                /* field 22 bytes */
        0xBD, 0x01, 1,    2,    3,    4,             /* field 23 fixed32 */
    };
    pb_t init, cmd = {0}, pkt = {0};
    build_init(&init, 0, 4096);
    pb_raw(&init, unknown, sizeof(unknown));
    pb_raw(&cmd, unknown, sizeof(unknown));
    pb_u32(&cmd, 1, 1);
    pb_msg(&cmd, 2, &init);
    pb_raw(&pkt, unknown, sizeof(unknown));
    pb_msg(&pkt, 1, &cmd);
    pb_raw(&pkt, unknown, sizeof(unknown));

    dfw_initcmd_t ic;
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_OK);
    assert_int_equal(ic.app_size, 4096);
    assert_int_equal(ic.hash_len, 32);
    assert_int_equal(ic.boot_validation_count, 1);
}

static void test_dfw_initcmd_rejects_bad_lengths_and_args(void **state)
{
    (void)state;
    uint8_t big[DFW_INITCMD_MAX_SIZE + 1];
    pb_t init, pkt;
    dfw_initcmd_t ic;
    build_init(&init, 0, 100);
    build_packet(&pkt, &init, 0);
    memset(big, 0, sizeof(big));
    memcpy(big, pkt.d, pkt.n);
    assert_int_equal(decode_exact(big, sizeof(big), &ic), DFW_ERR_INITCMD_SIZE);
    assert_int_equal(decode_exact(big, 0, &ic), DFW_ERR_INITCMD_SIZE);
    assert_int_equal(dfw_initcmd_decode(NULL, 10, &ic), DFW_ERR_PARAM);
    assert_int_equal(dfw_initcmd_decode(pkt.d, pkt.n, NULL), DFW_ERR_PARAM);

    /* A valid packet padded with unknown bytes up to exactly 512 still decodes. */
    pb_t pad = pkt;
    size_t fill = DFW_INITCMD_MAX_SIZE - pad.n - 3; /* tag + 2-byte length */
    static uint8_t junk[DFW_INITCMD_MAX_SIZE];
    pb_bytes(&pad, 15, junk, fill);
    assert_int_equal(pad.n, DFW_INITCMD_MAX_SIZE);
    assert_int_equal(decode_exact(pad.d, pad.n, &ic), DFW_OK);
}

/* Spec §5.3 step 6, row by row. */
static void test_dfw_initcmd_image_size_follows_bootloader_rule(void **state)
{
    (void)state;
    static const struct {
        int has_type;
        uint32_t type;
        int has_sd, has_bl, has_app;
        uint32_t sd, bl, app;
        dfw_err_t err;
        uint32_t size;
    } rows[] = {
        {1, 0, 1, 1, 1, 5, 7, 100, DFW_OK, 100},                /* APP: app_size only */
        {1, 0, 1, 1, 0, 5, 7, 0, DFW_ERR_INITCMD_INVALID, 0},   /* APP without app_size */
        {1, 0, 1, 1, 1, 0, 0, 0, DFW_ERR_INITCMD_INVALID, 0},   /* APP with app_size 0 */
        {1, 1, 1, 1, 1, 5, 7, 100, DFW_OK, 5},                  /* SD */
        {1, 2, 1, 1, 1, 5, 7, 100, DFW_OK, 7},                  /* BL */
        {1, 3, 1, 1, 1, 5, 7, 100, DFW_OK, 12},                 /* SD+BL */
        {1, 3, 0, 1, 1, 5, 7, 100, DFW_OK, 7},                  /* SD+BL, sd_size absent */
        {1, 4, 1, 1, 1, 5, 7, 100, DFW_OK, 100},                /* EXT_APP */
        {1, 4, 1, 1, 0, 5, 7, 100, DFW_ERR_INITCMD_INVALID, 0}, /* EXT_APP without app_size */
        {1, 3, 1, 1, 0, 0xFFFFFFFFu, 1, 0, DFW_ERR_INITCMD_INVALID, 0}, /* 32-bit overflow */
        {0, 0, 1, 1, 1, 5, 7, 100, DFW_ERR_INITCMD_INVALID, 0},         /* no type */
        {1, 5, 1, 1, 1, 5, 7, 100, DFW_ERR_INITCMD_INVALID, 0},         /* unknown type */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        dfw_initcmd_t ic = {0};
        ic.has_type = rows[i].has_type;
        ic.type = rows[i].type;
        ic.has_sd_size = rows[i].has_sd;
        ic.has_bl_size = rows[i].has_bl;
        ic.has_app_size = rows[i].has_app;
        ic.sd_size = rows[i].sd;
        ic.bl_size = rows[i].bl;
        ic.app_size = rows[i].app;
        uint32_t size = 1234;
        dfw_err_t err = dfw_initcmd_image_size(&ic, &size);
        if (err != rows[i].err || size != rows[i].size) {
            fail_msg("row %zu: err %d size %u", i, err, size);
        }
    }
}

/* Property: random mutations of a genuine packet never read out of bounds, and
 * whatever decodes satisfies the documented invariants. */
static void test_dfw_initcmd_random_mutations_stay_in_bounds(void **state)
{
    (void)state;
    pb_t init, base;
    build_init(&init, 0, 50016);
    build_packet(&base, &init, 1);
    uint32_t seed = 0x5EEDu;
    unsigned ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t buf[300];
        size_t n = base.n;
        memcpy(buf, base.d, n);
        int edits = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % n;
            switch ((seed >> 4) % 3) {
            case 0:
                buf[pos] ^= (uint8_t)(1u << ((seed >> 20) % 8));
                break;
            case 1:
                buf[pos] = (uint8_t)(seed >> 24);
                break;
            default:
                n = pos + 1;
                break; /* truncate */
            }
        }
        dfw_initcmd_t ic;
        dfw_err_t err = decode_exact(buf, n, &ic);
        if (err == DFW_OK) {
            ok++;
            assert_true((size_t)ic.signed_off + ic.signed_len <= n);
            assert_true(ic.sd_req_count <= 16 && ic.boot_validation_count <= 3);
            assert_true(ic.hash_len <= 32 && ic.signature_len <= 64);
        } else {
            assert_int_equal(err, DFW_ERR_INITCMD_MALFORMED);
            assert_zeroed(&ic);
        }
    }
    /* Flips inside hash/signature bytes keep the packet decodable: both outcomes occur. */
    assert_true(ok > 0 && ok < 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dfw_initcmd_decodes_every_genuine_dat),
        cmocka_unit_test(test_dfw_initcmd_truncated_genuine_dat_fails_cleanly),
        cmocka_unit_test(test_dfw_initcmd_decodes_spec_worked_example),
        cmocka_unit_test(test_dfw_initcmd_rejects_malformed_wire_data),
        cmocka_unit_test(test_dfw_initcmd_rejects_malformed_trailer_after_valid_packet),
        cmocka_unit_test(test_dfw_initcmd_accepts_max_varint_u32),
        cmocka_unit_test(test_dfw_initcmd_enforces_nanopb_limits),
        cmocka_unit_test(test_dfw_initcmd_rejects_ambiguous_or_incomplete_packets),
        cmocka_unit_test(test_dfw_initcmd_rejects_known_field_with_wrong_wire_type),
        cmocka_unit_test(test_dfw_initcmd_skips_unknown_fields),
        cmocka_unit_test(test_dfw_initcmd_rejects_bad_lengths_and_args),
        cmocka_unit_test(test_dfw_initcmd_image_size_follows_bootloader_rule),
        cmocka_unit_test(test_dfw_initcmd_random_mutations_stay_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
