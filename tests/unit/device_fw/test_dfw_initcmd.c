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
#include "dfw_testkit.h"
#include "fixtures.h"

/* ------------------------------------------------------------------ helpers */

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

/* InitCommand as nrfutil writes it for an application (spec §4.3, §4.6). */
static void build_init(dfwt_pb_t *init, uint32_t type, uint32_t app_size)
{
    static const uint8_t digest[32] = {0x32, 0xa5, 0x1c, 0x2a};
    dfwt_pb_t hash = {0}, bv = {0};
    uint8_t sdreq_packed[] = {0x00};
    memset(init, 0, sizeof(*init));
    dfwt_pb_u32(init, 1, 1);  /* fw_version */
    dfwt_pb_u32(init, 2, 52); /* hw_version */
    dfwt_pb_bytes(init, 3, sdreq_packed, sizeof(sdreq_packed));
    dfwt_pb_u32(init, 4, type);
    dfwt_pb_u32(init, 5, 0); /* sd_size */
    dfwt_pb_u32(init, 6, 0); /* bl_size */
    dfwt_pb_u32(init, 7, app_size);
    dfwt_pb_u32(&hash, 1, 3); /* SHA256 */
    dfwt_pb_bytes(&hash, 2, digest, sizeof(digest));
    dfwt_pb_msg(init, 8, &hash);
    dfwt_pb_u32(init, 9, 0); /* is_debug */
    dfwt_pb_u32(&bv, 1, 1);  /* VALIDATE_GENERATED_CRC */
    dfwt_pb_bytes(&bv, 2, "", 0);
    dfwt_pb_msg(init, 10, &bv);
}

/* Packet{command{op_code INIT, init}} (unsigned) or Packet{signed_command{...}}. */
static void build_packet(dfwt_pb_t *pkt, const dfwt_pb_t *init, int is_signed)
{
    dfwt_pb_t cmd = {0};
    memset(pkt, 0, sizeof(*pkt));
    dfwt_pb_u32(&cmd, 1, 1);
    dfwt_pb_msg(&cmd, 2, init);
    if (!is_signed) {
        dfwt_pb_msg(pkt, 1, &cmd);
        return;
    }
    uint8_t sig[64];
    memset(sig, 0xA5, sizeof(sig));
    dfwt_pb_t sc = {0};
    dfwt_pb_msg(&sc, 1, &cmd);
    dfwt_pb_u32(&sc, 2, 0);
    dfwt_pb_bytes(&sc, 3, sig, sizeof(sig));
    dfwt_pb_msg(pkt, 2, &sc);
}

/* ------------------------------------------------- genuine packets (JSON) */

/* Fields of one image in packages.json: nrfutil's own decode of its .dat. */
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

static unsigned long long json_u64(const cJSON *obj, const char *key)
{
    const cJSON *v = fix_get(obj, key);
    assert_true(cJSON_IsNumber(v) && v->valuedouble >= 0);
    return (unsigned long long)v->valuedouble;
}

static void parse_genuine(const cJSON *image, genuine_t *g)
{
    const cJSON *init = fix_get(image, "init");
    memset(g, 0, sizeof(*g));
    g->dat_len = fix_unhex(fix_get(image, "dat_hex")->valuestring, g->dat, sizeof(g->dat));
    g->init_cmd_len =
        fix_unhex(fix_get(init, "init_command_hex")->valuestring, g->init_cmd, sizeof(g->init_cmd));
    g->is_signed = strcmp(fix_get(init, "packet_kind")->valuestring, "signed_command") == 0;
    g->type = json_u64(init, "type_value"); /* FwType */
    g->fw_version = json_u64(init, "fw_version");
    g->hw_version = json_u64(init, "hw_version");
    g->sd_size = json_u64(init, "sd_size");
    g->bl_size = json_u64(init, "bl_size");
    g->app_size = json_u64(init, "app_size");
    g->is_debug = cJSON_IsTrue(fix_get(init, "is_debug"));
    g->sd_req_count = (unsigned)cJSON_GetArraySize(fix_get(init, "sd_req"));
    g->bv_count = (unsigned)cJSON_GetArraySize(fix_get(init, "boot_validation"));
}

/* Calls fn for every image of every genuine package; returns how many. */
static unsigned for_each_genuine(void (*fn)(const genuine_t *g))
{
    cJSON *all = fix_packages_json();
    const cJSON *pkg, *image;
    unsigned n = 0;
    cJSON_ArrayForEach(pkg, fix_get(all, "packages"))
    {
        cJSON_ArrayForEach(image, fix_get(pkg, "images"))
        {
            genuine_t *g = malloc(sizeof(*g));
            assert_non_null(g);
            parse_genuine(image, g);
            fn(g);
            free(g);
            n++;
        }
    }
    cJSON_Delete(all);
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
    dfwt_pb_t init, pkt;
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
    dfwt_pb_t init, pkt;
    build_init(&init, 0, 100);
    build_packet(&pkt, &init, 1);
    dfw_initcmd_t ic;
    dfwt_pb_t ok = pkt;
    /* The longest legal varint (10 bytes, top byte 1) is fine. */
    static const uint8_t max64[] = {0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                    0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    dfwt_pb_raw(&ok, max64, sizeof(max64));
    assert_int_equal(decode_exact(ok.d, ok.n, &ic), DFW_OK);
    for (size_t i = 0; i < sizeof(trailers) / sizeof(trailers[0]); i++) {
        dfwt_pb_t bad = pkt;
        dfwt_pb_raw(&bad, trailers[i].bytes, trailers[i].len);
        dfw_err_t err = decode_exact(bad.d, bad.n, &ic);
        if (err != DFW_ERR_INITCMD_MALFORMED) {
            fail_msg("trailer '%s': got %d", trailers[i].what, err);
        }
    }
}

static void test_dfw_initcmd_accepts_max_varint_u32(void **state)
{
    (void)state;
    dfwt_pb_t init = {0}, pkt;
    /* fw_version 0xFFFFFFFF padded to a 10-byte varint: legal protobuf. */
    static const uint8_t fw[] = {0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x8F, 0x80, 0x80, 0x80, 0x80, 0x00};
    dfwt_pb_raw(&init, fw, sizeof(fw));
    dfwt_pb_u32(&init, 4, 0);
    build_packet(&pkt, &init, 0);
    dfw_initcmd_t ic;
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_OK);
    assert_true(ic.has_fw_version);
    assert_int_equal(ic.fw_version, 0xFFFFFFFFu);
    assert_false(ic.has_app_size);
}

/* Packet{command{init{field: {1: 3, 2: n zero bytes}}}}: a Hash or a BootValidation. */
static void packet_with_typed_bytes(dfwt_pb_t *pkt, uint32_t field, size_t n)
{
    static const uint8_t zeros[80];
    dfwt_pb_t init = {0}, sub = {0};
    assert_true(n <= sizeof(zeros));
    dfwt_pb_u32(&sub, 1, 3);
    dfwt_pb_bytes(&sub, 2, zeros, n);
    dfwt_pb_msg(&init, field, &sub);
    build_packet(pkt, &init, 0);
}

/* sd_req: 16 (+over) entries, split over a packed and an unpacked run. */
static void limit_sd_req(dfwt_pb_t *pkt, int over)
{
    static const uint8_t packed[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    dfwt_pb_t init = {0};
    dfwt_pb_bytes(&init, 3, packed, sizeof(packed));
    for (int i = 0; i < 6 + over; i++) {
        dfwt_pb_u32(&init, 3, 0x101);
    }
    build_packet(pkt, &init, 0);
}

static void limit_hash_bytes(dfwt_pb_t *pkt, int over)
{
    packet_with_typed_bytes(pkt, 8, 32u + (size_t)over);
}

static void limit_boot_validation_bytes(dfwt_pb_t *pkt, int over)
{
    packet_with_typed_bytes(pkt, 10, 64u + (size_t)over);
}

static void limit_boot_validation_count(dfwt_pb_t *pkt, int over)
{
    dfwt_pb_t init = {0}, bv = {0};
    dfwt_pb_u32(&bv, 1, 1);
    dfwt_pb_bytes(&bv, 2, "", 0);
    for (int i = 0; i < 3 + over; i++) {
        dfwt_pb_msg(&init, 10, &bv);
    }
    build_packet(pkt, &init, 0);
}

static void limit_signature_bytes(dfwt_pb_t *pkt, int over)
{
    static const uint8_t zeros[65];
    dfwt_pb_t init = {0}, cmd = {0}, sc = {0};
    dfwt_pb_u32(&init, 4, 0);
    dfwt_pb_u32(&cmd, 1, 1);
    dfwt_pb_msg(&cmd, 2, &init);
    dfwt_pb_msg(&sc, 1, &cmd);
    dfwt_pb_u32(&sc, 2, 0);
    dfwt_pb_bytes(&sc, 3, zeros, 64u + (size_t)over);
    memset(pkt, 0, sizeof(*pkt));
    dfwt_pb_msg(pkt, 2, &sc);
}

/* Limits from dfu-cc.options: exactly at the limit decodes, one more does not. */
static void test_dfw_initcmd_enforces_nanopb_limits(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        void (*build)(dfwt_pb_t *pkt, int over);
    } limits[] = {
        {"16 sd_req entries", limit_sd_req},
        {"32 hash bytes", limit_hash_bytes},
        {"64 boot_validation bytes", limit_boot_validation_bytes},
        {"3 boot_validation entries", limit_boot_validation_count},
        {"64 signature bytes", limit_signature_bytes},
    };
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        for (int over = 0; over <= 1; over++) {
            dfw_err_t want = over ? DFW_ERR_INITCMD_MALFORMED : DFW_OK;
            dfwt_pb_t pkt;
            dfw_initcmd_t ic;
            limits[i].build(&pkt, over);
            dfw_err_t err = decode_exact(pkt.d, pkt.n, &ic);
            if (err != want) {
                fail_msg("%s%s: got %d, expected %d", limits[i].what, over ? " + 1" : "", err,
                         want);
            }
        }
    }
}

/* What nanopb and the SDK reject as a whole (spec §4.1, §4.5, §5.3 step 3). */
static void test_dfw_initcmd_rejects_ambiguous_or_incomplete_packets(void **state)
{
    (void)state;
    dfwt_pb_t init, cmd = {0}, pkt = {0}, sc = {0}, hash = {0}, bv = {0};
    dfw_initcmd_t ic;
    build_init(&init, 0, 100);
    dfwt_pb_msg(&cmd, 2, &init);

    /* both command and signed_command, even though only one carries the init */
    dfwt_pb_t bare = {0};
    dfwt_pb_u32(&bare, 1, 1);
    dfwt_pb_msg(&sc, 1, &cmd);
    dfwt_pb_u32(&sc, 2, 0);
    dfwt_pb_bytes(&sc, 3, "sig", 3);
    dfwt_pb_msg(&pkt, 2, &sc);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_OK);
    dfwt_pb_msg(&pkt, 1, &bare);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);

    /* init twice in one command */
    dfwt_pb_t cmd2 = cmd;
    dfwt_pb_msg(&cmd2, 2, &init);
    memset(&pkt, 0, sizeof(pkt));
    dfwt_pb_msg(&pkt, 1, &cmd2);
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);

    /* signed_command missing each required field in turn */
    for (int drop = 0; drop < 3; drop++) {
        memset(&sc, 0, sizeof(sc));
        memset(&pkt, 0, sizeof(pkt));
        if (drop != 0) {
            dfwt_pb_msg(&sc, 1, &cmd);
        }
        if (drop != 1) {
            dfwt_pb_u32(&sc, 2, 0);
        }
        if (drop != 2) {
            dfwt_pb_bytes(&sc, 3, "sig", 3);
        }
        dfwt_pb_msg(&pkt, 2, &sc);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);
    }

    /* Hash and BootValidation without one of their required fields */
    for (int sub = 0; sub < 4; sub++) {
        memset(&hash, 0, sizeof(hash));
        memset(&bv, 0, sizeof(bv));
        memset(&init, 0, sizeof(init));
        if (sub == 0) {
            dfwt_pb_u32(&hash, 1, 3);
        } else if (sub == 1) {
            dfwt_pb_bytes(&hash, 2, "0123456789abcdef0123456789abcdef", 32);
        } else if (sub == 2) {
            dfwt_pb_u32(&bv, 1, 1);
        } else {
            dfwt_pb_bytes(&bv, 2, "", 0);
        }
        if (sub < 2) {
            dfwt_pb_msg(&init, 8, &hash);
        } else {
            dfwt_pb_msg(&init, 10, &bv);
        }
        build_packet(&pkt, &init, 0);
        assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);
    }
}

static void test_dfw_initcmd_rejects_known_field_with_wrong_wire_type(void **state)
{
    (void)state;
    dfwt_pb_t init = {0}, pkt;
    dfwt_pb_bytes(&init, 7, "\x10", 1); /* app_size as length-delimited */
    build_packet(&pkt, &init, 0);
    dfw_initcmd_t ic;
    assert_int_equal(decode_exact(pkt.d, pkt.n, &ic), DFW_ERR_INITCMD_MALFORMED);

    memset(&init, 0, sizeof(init));
    dfwt_pb_u32(&init, 8, 3); /* hash as varint */
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
    dfwt_pb_t init, cmd = {0}, pkt = {0};
    build_init(&init, 0, 4096);
    dfwt_pb_raw(&init, unknown, sizeof(unknown));
    dfwt_pb_raw(&cmd, unknown, sizeof(unknown));
    dfwt_pb_u32(&cmd, 1, 1);
    dfwt_pb_msg(&cmd, 2, &init);
    dfwt_pb_raw(&pkt, unknown, sizeof(unknown));
    dfwt_pb_msg(&pkt, 1, &cmd);
    dfwt_pb_raw(&pkt, unknown, sizeof(unknown));

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
    dfwt_pb_t init, pkt;
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
    dfwt_pb_t pad = pkt;
    size_t fill = DFW_INITCMD_MAX_SIZE - pad.n - 3; /* tag + 2-byte length */
    static uint8_t junk[DFW_INITCMD_MAX_SIZE];
    dfwt_pb_bytes(&pad, 15, junk, fill);
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
    dfwt_pb_t init, base;
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
