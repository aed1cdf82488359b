/*
 * Unit tests of proto/initpkt: decoding nrfutil .dat files (dfu.Packet) with
 * the bootloader's bounds, and locating the signed InitCommand bytes.
 *
 * Expected values come from the spec (section 4.6 worked example) and from
 * nrfutil's own decoding in tests/fixtures/nrfutil/packages.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "dfu-cc.pb-c.h"
#include "proto/initpkt.h"

/* ---- helpers ------------------------------------------------------------ */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(strlen(hex) % 2 == 0);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
        out[i] = (uint8_t)strtoul(pair, NULL, 16);
    }
    return n;
}

static size_t pack(const Dfu__Packet *p, uint8_t *buf, size_t cap)
{
    size_t n = dfu__packet__get_packed_size(p);
    assert_true(n <= cap);
    assert_int_equal(dfu__packet__pack(p, buf), n);
    return n;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Decodes and expects an error: `want`, a field name containing `field_part`,
 * and a fully zeroed result. */
static void expect_err(const uint8_t *dat, size_t len, initpkt_err_t want, const char *field_part)
{
    initpkt_t out;
    memset(&out, 0xA5, sizeof(out));
    const char *field = "untouched";
    initpkt_err_t e = initpkt_decode(dat, len, &out, &field);
    assert_int_equal(e, want);
    assert_non_null(field);
    if (field_part && !strstr(field, field_part))
        fail_msg("field '%s' does not name '%s'", field, field_part);
    assert_true(all_zero(&out, sizeof(out)));
}

static initpkt_t decode_ok(const uint8_t *dat, size_t len)
{
    initpkt_t out;
    const char *field = "untouched";
    initpkt_err_t e = initpkt_decode(dat, len, &out, &field);
    if (e != INITPKT_OK)
        fail_msg("decode failed: %d (%s) at %s", e, initpkt_strerror(e), field ? field : "?");
    assert_null(field);
    assert_true(out.has_init);
    assert_true(out.init_off + out.init_len <= len);
    return out;
}

/* A plain InitCommand with everything nrfutil sets, in caller storage. */
typedef struct {
    Dfu__InitCommand ic;
    Dfu__Hash hash;
    uint8_t digest[64];
    uint32_t sd_req[32];
    Dfu__BootValidation bv[8];
    Dfu__BootValidation *bvp[8];
    uint8_t bv_bytes[8][80];
    Dfu__Command cmd;
    Dfu__SignedCommand sc;
    uint8_t sig[80];
    Dfu__Packet pkt;
} fab_t;

static void fab_init(fab_t *f, int is_signed)
{
    memset(f, 0, sizeof(*f));
    dfu__init_command__init(&f->ic);
    dfu__hash__init(&f->hash);
    f->ic.has_fw_version = 1;
    f->ic.fw_version = 1;
    f->ic.has_hw_version = 1;
    f->ic.hw_version = 52;
    f->sd_req[0] = 0x0101;
    f->ic.n_sd_req = 1;
    f->ic.sd_req = f->sd_req;
    f->ic.has_type = 1;
    f->ic.type = DFU__FW_TYPE__APPLICATION;
    f->ic.has_sd_size = f->ic.has_bl_size = f->ic.has_app_size = 1;
    f->ic.app_size = 1000;
    for (size_t i = 0; i < 32; i++)
        f->digest[i] = (uint8_t)(0xA0 + i);
    f->hash.hash_type = DFU__HASH_TYPE__SHA256;
    f->hash.hash.data = f->digest;
    f->hash.hash.len = 32;
    f->ic.hash = &f->hash;
    f->ic.has_is_debug = 1;
    for (size_t i = 0; i < 8; i++) {
        dfu__boot_validation__init(&f->bv[i]);
        f->bv[i].type = DFU__VALIDATION_TYPE__VALIDATE_GENERATED_CRC;
        f->bv[i].bytes.data = f->bv_bytes[i];
        f->bvp[i] = &f->bv[i];
    }
    f->ic.n_boot_validation = 1;
    f->ic.boot_validation = f->bvp;
    dfu__command__init(&f->cmd);
    f->cmd.has_op_code = 1;
    f->cmd.op_code = DFU__OP_CODE__INIT;
    f->cmd.init = &f->ic;
    dfu__packet__init(&f->pkt);
    if (is_signed) {
        dfu__signed_command__init(&f->sc);
        f->sc.command = &f->cmd;
        f->sc.signature_type = DFU__SIGNATURE_TYPE__ECDSA_P256_SHA256;
        memset(f->sig, 0x5A, sizeof(f->sig));
        f->sc.signature.data = f->sig;
        f->sc.signature.len = 64;
        f->pkt.signed_command = &f->sc;
    } else {
        f->pkt.command = &f->cmd;
    }
}

/* ---- spec 4.6 worked example -------------------------------------------- */

static void spec_example_init(uint8_t init[62], uint8_t fw_digest_le[32])
{
    uint8_t fw[1000];
    for (size_t i = 0; i < sizeof(fw); i++)
        fw[i] = (uint8_t)(7u * i % 256u);
    uint8_t d[32];
    unsigned int dn = 32;
    assert_int_equal(EVP_Digest(fw, sizeof(fw), d, &dn, EVP_sha256(), NULL), 1);
    uint8_t want[32];
    unhex("89f4ff56a25dd1db06a4ce6033603775d705fb96f30f8693733fef602a1ca532", want, 32);
    assert_memory_equal(d, want, 32);
    for (size_t i = 0; i < 32; i++)
        fw_digest_le[i] = d[31 - i];
    unhex("32a51c2a60ef3f7393860ff396fb05d77537603360cea406dbd15da256fff489", want, 32);
    assert_memory_equal(fw_digest_le, want, 32);

    static const uint8_t head[] = {0x08, 0x01, 0x10, 0x34, 0x1a, 0x01, 0x00, 0x20,
                                   0x00, 0x28, 0x00, 0x30, 0x00, 0x38, 0xe8, 0x07,
                                   0x42, 0x24, 0x08, 0x03, 0x12, 0x20};
    static const uint8_t tail[] = {0x48, 0x00, 0x52, 0x04, 0x08, 0x01, 0x12, 0x00};
    memcpy(init, head, sizeof(head));
    memcpy(init + sizeof(head), fw_digest_le, 32);
    memcpy(init + sizeof(head) + 32, tail, sizeof(tail));
}

static void check_spec_example_fields(const initpkt_t *p, const uint8_t digest_le[32])
{
    assert_true(p->has_op_code);
    assert_int_equal(p->op_code, 1);
    assert_true(p->has_fw_version && p->has_hw_version && p->has_type);
    assert_int_equal(p->fw_version, 1);
    assert_int_equal(p->hw_version, 52);
    assert_int_equal(p->sd_req_count, 1);
    assert_int_equal(p->sd_req[0], 0);
    assert_int_equal(p->type, INITPKT_FW_APPLICATION);
    assert_true(p->has_sd_size && p->has_bl_size && p->has_app_size);
    assert_int_equal(p->sd_size, 0);
    assert_int_equal(p->bl_size, 0);
    assert_int_equal(p->app_size, 1000);
    assert_true(p->has_hash);
    assert_int_equal(p->hash_type, INITPKT_HASH_SHA256);
    assert_int_equal(p->hash_len, 32);
    assert_memory_equal(p->hash, digest_le, 32);
    assert_true(p->has_is_debug);
    assert_false(p->is_debug);
    assert_int_equal(p->bv_count, 1);
    assert_int_equal(p->bv[0].type, INITPKT_BV_CRC);
    assert_int_equal(p->bv[0].len, 0);
    assert_int_equal(initpkt_image_size(p), 1000);
}

static void test_initpkt_spec_example_unsigned(void **state)
{
    (void)state;
    uint8_t init[62], digest[32];
    spec_example_init(init, digest);
    uint8_t dat[68] = {0x0a, 0x42, 0x08, 0x01, 0x12, 0x3e};
    memcpy(dat + 6, init, 62);

    /* protobuf-c serializes the same structure to the same bytes. */
    fab_t f;
    fab_init(&f, 0);
    f.sd_req[0] = 0;
    memcpy(f.digest, digest, 32);
    uint8_t packed[128];
    assert_int_equal(pack(&f.pkt, packed, sizeof(packed)), 68);
    assert_memory_equal(packed, dat, 68);

    initpkt_t p = decode_ok(dat, sizeof(dat));
    assert_false(p.is_signed);
    check_spec_example_fields(&p, digest);
    assert_int_equal(p.init_off, 6);
    assert_int_equal(p.init_len, 62);
    assert_memory_equal(dat + p.init_off, init, 62);
}

static void test_initpkt_spec_example_signed(void **state)
{
    (void)state;
    uint8_t init[62], digest[32];
    spec_example_init(init, digest);
    uint8_t dat[139] = {0x12, 0x88, 0x01, 0x0a, 0x42, 0x08, 0x01, 0x12, 0x3e};
    memcpy(dat + 9, init, 62);
    dat[71] = 0x10;
    dat[72] = 0x00;
    dat[73] = 0x1a;
    dat[74] = 0x40;
    for (size_t i = 0; i < 64; i++)
        dat[75 + i] = (uint8_t)(0xC0 ^ i);

    fab_t f;
    fab_init(&f, 1);
    f.sd_req[0] = 0;
    memcpy(f.digest, digest, 32);
    memcpy(f.sig, dat + 75, 64);
    uint8_t packed[160];
    assert_int_equal(pack(&f.pkt, packed, sizeof(packed)), 139);
    assert_memory_equal(packed, dat, 139);

    initpkt_t p = decode_ok(dat, sizeof(dat));
    assert_true(p.is_signed);
    check_spec_example_fields(&p, digest);
    assert_int_equal(p.sig_type, INITPKT_SIG_ECDSA_P256_SHA256);
    assert_int_equal(p.sig_len, 64);
    assert_memory_equal(p.sig, dat + 75, 64);
    /* "the signed region starts at offset 9 and ends at offset 71" */
    assert_int_equal(p.init_off, 9);
    assert_int_equal(p.init_len, 71 - 9);
}

/* ---- genuine nrfutil .dat files (packages.json) ------------------------- */

typedef struct {
    const char *what;
    const char *dat_hex;
    const char *init_command_hex;
    const char *hash_le_hex;
    const char *sig_le_hex; /* NULL: unsigned */
    uint32_t fw_version, hw_version, type, sd_size, bl_size, app_size;
    size_t sd_req_count;
    uint32_t sd_req[4];
    size_t bv_count;
    uint32_t bv_type[3];
    uint64_t image_size;
} genuine_t;

#define HASH_APP "28c969128554157921695a671039424fac41760e37dd2b65a92c5cea43be8027"

static const genuine_t g_app_signed = {
    "app_signed.zip",
    "128a010a4408011240080110341a02810220002800300038e0860342240803122028c969128554157921695a67"
    "1039424fac41760e37dd2b65a92c5cea43be8027480052040801120010001a409dde811946d2fe77ca5846c803"
    "f4904f23405f150daa05f65f5566d7a3459ed65d26bd4ccbb93be7c4c270aa0d99484e2c624d52707a7fc9e9a6"
    "f0c5684f8f60",
    "080110341a02810220002800300038e0860342240803122028c969128554157921695a671039424fac41760e37"
    "dd2b65a92c5cea43be80274800520408011200",
    HASH_APP,
    "9dde811946d2fe77ca5846c803f4904f23405f150daa05f65f5566d7a3459ed65d26bd4ccbb93be7c4c270aa0d"
    "99484e2c624d52707a7fc9e9a6f0c5684f8f60",
    1,
    52,
    0,
    0,
    0,
    50016,
    1,
    {0x0101},
    1,
    {1},
    50016,
};

static const genuine_t g_app_unsigned = {
    "app_unsigned.zip",
    "0a4408011240080110341a02810220002800300038e0860342240803122028c969128554157921695a67103942"
    "4fac41760e37dd2b65a92c5cea43be80274800520408011200",
    "080110341a02810220002800300038e0860342240803122028c969128554157921695a671039424fac41760e37"
    "dd2b65a92c5cea43be80274800520408011200",
    HASH_APP,
    NULL,
    1,
    52,
    0,
    0,
    0,
    50016,
    1,
    {0x0101},
    1,
    {1},
    50016,
};

static const genuine_t g_sd_bl_signed = {
    "sd_bl_signed.zip",
    "1291010a4b08011247080310341a02810220032880a00930d4033800422408031220bc4bbfc3b0f9b9b3c5007c"
    "6c4cbdcb45408a55815be5ff61683b3cd30ec9f270480052040801120052040801120010001a4022912583f8b9"
    "9647b705c798695a31d2ac6f6ce36031c9ef16f1f57c2c68653266bb0a7ce8ef1cde83d5836887278325f9666b"
    "3079e3228e780c5c24b5fffb00",
    "080310341a02810220032880a00930d4033800422408031220bc4bbfc3b0f9b9b3c5007c6c4cbdcb45408a5581"
    "5be5ff61683b3cd30ec9f2704800520408011200520408011200",
    "bc4bbfc3b0f9b9b3c5007c6c4cbdcb45408a55815be5ff61683b3cd30ec9f270",
    "22912583f8b99647b705c798695a31d2ac6f6ce36031c9ef16f1f57c2c68653266bb0a7ce8ef1cde83d5836887"
    "278325f9666b3079e3228e780c5c24b5fffb00",
    3,
    52,
    3,
    151552,
    468,
    0,
    1,
    {0x0101},
    2,
    {1, 1},
    151552 + 468,
};

static const genuine_t g_sdreq_multi = {
    "app_signed_sdreq_multi.zip",
    "128e010a4808011244080110341a068102cb01a40220002800300038e0860342240803122028c969128554157921"
    "695a671039424fac41760e37dd2b65a92c5cea43be8027480052040801120010001a403009198ea4e10c25069c"
    "e8fdbbd5669357563750c2c8ee011a25ceb539bacffe9753ac8e71cac156e13658e882f815c3ae7d647ed0bfcf"
    "994c8e2a572bd6f5a3",
    "080110341a068102cb01a40220002800300038e0860342240803122028c969128554157921695a671039424fac"
    "41760e37dd2b65a92c5cea43be80274800520408011200",
    HASH_APP,
    "3009198ea4e10c25069ce8fdbbd5669357563750c2c8ee011a25ceb539bacffe9753ac8e71cac156e13658e882"
    "f815c3ae7d647ed0bfcf994c8e2a572bd6f5a3",
    1,
    52,
    0,
    0,
    0,
    50016,
    3,
    {0x0101, 0x00CB, 0x0124},
    1,
    {1},
    50016,
};

static void check_genuine(const genuine_t *g)
{
    uint8_t dat[INITPKT_MAX_SIZE], init[INITPKT_MAX_SIZE], hash[32], sig[64];
    size_t len = unhex(g->dat_hex, dat, sizeof(dat));
    size_t init_len = unhex(g->init_command_hex, init, sizeof(init));
    unhex(g->hash_le_hex, hash, 32);
    initpkt_t p = decode_ok(dat, len);

    assert_int_equal(p.is_signed, g->sig_le_hex != NULL);
    assert_true(p.has_op_code);
    assert_int_equal(p.op_code, 1);
    assert_string_equal(initpkt_op_code_name(p.op_code), "INIT");
    assert_true(p.has_fw_version && p.has_hw_version && p.has_type && p.has_sd_size &&
                p.has_bl_size && p.has_app_size && p.has_is_debug && p.has_hash);
    assert_int_equal(p.fw_version, g->fw_version);
    assert_int_equal(p.hw_version, g->hw_version);
    assert_int_equal(p.type, g->type);
    assert_int_equal(p.sd_size, g->sd_size);
    assert_int_equal(p.bl_size, g->bl_size);
    assert_int_equal(p.app_size, g->app_size);
    assert_false(p.is_debug);
    assert_int_equal(p.sd_req_count, g->sd_req_count);
    for (size_t i = 0; i < g->sd_req_count; i++)
        assert_int_equal(p.sd_req[i], g->sd_req[i]);
    assert_int_equal(p.hash_type, INITPKT_HASH_SHA256);
    assert_int_equal(p.hash_len, 32);
    assert_memory_equal(p.hash, hash, 32);
    assert_int_equal(p.bv_count, g->bv_count);
    for (size_t i = 0; i < g->bv_count; i++) {
        assert_int_equal(p.bv[i].type, g->bv_type[i]);
        assert_int_equal(p.bv[i].len, 0);
    }
    if (g->sig_le_hex) {
        unhex(g->sig_le_hex, sig, 64);
        assert_int_equal(p.sig_type, INITPKT_SIG_ECDSA_P256_SHA256);
        assert_int_equal(p.sig_len, 64);
        assert_memory_equal(p.sig, sig, 64);
    } else {
        assert_int_equal(p.sig_len, 0);
    }
    /* init_off/init_len select exactly nrfutil's serialized InitCommand. */
    assert_int_equal(p.init_len, init_len);
    assert_memory_equal(dat + p.init_off, init, init_len);
    assert_int_equal(initpkt_image_size(&p), g->image_size);
}

static void test_initpkt_genuine_signed_app(void **state)
{
    (void)state;
    check_genuine(&g_app_signed);
}

static void test_initpkt_genuine_unsigned_app(void **state)
{
    (void)state;
    check_genuine(&g_app_unsigned);
}

static void test_initpkt_genuine_sd_bl_two_boot_validations(void **state)
{
    (void)state;
    check_genuine(&g_sd_bl_signed);
    uint8_t dat[INITPKT_MAX_SIZE];
    initpkt_t p = decode_ok(dat, unhex(g_sd_bl_signed.dat_hex, dat, sizeof(dat)));
    assert_string_equal(initpkt_fw_type_name(p.type), "SOFTDEVICE_BOOTLOADER");
}

static void test_initpkt_genuine_sdreq_multi(void **state)
{
    (void)state;
    check_genuine(&g_sdreq_multi);
}

static void test_initpkt_result_holds_no_pointer_into_input(void **state)
{
    (void)state;
    uint8_t dat[INITPKT_MAX_SIZE];
    size_t len = unhex(g_app_signed.dat_hex, dat, sizeof(dat));
    initpkt_t a = decode_ok(dat, len);
    initpkt_t copy = a;
    memset(dat, 0, sizeof(dat));
    assert_memory_equal(&a, &copy, sizeof(a));
    uint8_t hash[32];
    unhex(HASH_APP, hash, 32);
    assert_memory_equal(a.hash, hash, 32);
}

/* ---- errors ------------------------------------------------------------- */

static void test_initpkt_empty(void **state)
{
    (void)state;
    uint8_t one = 0;
    expect_err(&one, 0, INITPKT_ERR_EMPTY, "packet");
    expect_err(NULL, 0, INITPKT_ERR_EMPTY, "packet");
}

/* A valid unsigned packet padded with an unknown Packet field to `total` bytes. */
static size_t padded_packet(uint8_t *buf, size_t total)
{
    fab_t f;
    fab_init(&f, 0);
    size_t n = pack(&f.pkt, buf, total);
    /* field 15, wire type 2, two-byte length varint */
    size_t pad = total - n - 3;
    assert_true(pad >= 128 && pad < 16384);
    buf[n] = 0x7a;
    buf[n + 1] = (uint8_t)(0x80u | (pad & 0x7Fu));
    buf[n + 2] = (uint8_t)(pad >> 7);
    memset(buf + n + 3, 0xEE, pad);
    return total;
}

static void test_initpkt_too_large(void **state)
{
    (void)state;
    uint8_t buf[INITPKT_MAX_SIZE + 1];
    /* 512 bytes: the bootloader's limit, still accepted. */
    initpkt_t p = decode_ok(buf, padded_packet(buf, INITPKT_MAX_SIZE));
    assert_int_equal(p.app_size, 1000);
    assert_int_equal(p.init_off, 6);
    /* 513 bytes: refused before decoding. */
    expect_err(buf, padded_packet(buf, INITPKT_MAX_SIZE + 1), INITPKT_ERR_TOO_LARGE, "packet");
    static uint8_t big[4096];
    expect_err(big, sizeof(big), INITPKT_ERR_TOO_LARGE, "packet");
}

static void test_initpkt_garbage(void **state)
{
    (void)state;
    static const uint8_t ff[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_err(ff, sizeof(ff), INITPKT_ERR_DECODE, "packet");
    static const uint8_t short_len[] = {0x0a, 0x05, 0x08, 0x01}; /* length past end */
    expect_err(short_len, sizeof(short_len), INITPKT_ERR_DECODE, "packet");
    static const uint8_t bad_wire[] = {0x0f, 0x00}; /* wire type 7 */
    expect_err(bad_wire, sizeof(bad_wire), INITPKT_ERR_DECODE, "packet");
    static const uint8_t field0[] = {0x00, 0x00}; /* field number 0 */
    expect_err(field0, sizeof(field0), INITPKT_ERR_DECODE, "packet");
    static const char text[] = "{\"manifest\": {}}\n";
    expect_err((const uint8_t *)text, sizeof(text) - 1, INITPKT_ERR_DECODE, "packet");
    /* SignedCommand lacking its required signature. */
    static const uint8_t no_sig[] = {0x12, 0x06, 0x0a, 0x02, 0x08, 0x01, 0x10, 0x00};
    expect_err(no_sig, sizeof(no_sig), INITPKT_ERR_DECODE, "packet");
    /* Hash without its required bytes. */
    static const uint8_t no_hash_bytes[] = {0x0a, 0x06, 0x12, 0x04, 0x42, 0x02, 0x08, 0x03};
    expect_err(no_hash_bytes, sizeof(no_hash_bytes), INITPKT_ERR_DECODE, "packet");
}

/* Every prefix of a genuine .dat: an error with a zeroed result, never a crash. */
static void truncate_all(const char *hex)
{
    uint8_t dat[INITPKT_MAX_SIZE];
    size_t len = unhex(hex, dat, sizeof(dat));
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, dat, n);
        initpkt_t out;
        memset(&out, 0xA5, sizeof(out));
        const char *field = NULL;
        initpkt_err_t e = initpkt_decode(copy, n, &out, &field);
        free(copy);
        /* The packet is one top-level field spanning all bytes: any cut breaks it. */
        if (e == INITPKT_OK)
            fail_msg("prefix of %zu/%zu bytes decoded", n, len);
        assert_int_equal(e, n == 0 ? INITPKT_ERR_EMPTY : INITPKT_ERR_DECODE);
        assert_non_null(field);
        assert_true(all_zero(&out, sizeof(out)));
    }
}

static void test_initpkt_truncated_every_length(void **state)
{
    (void)state;
    truncate_all(g_app_signed.dat_hex);
    truncate_all(g_app_unsigned.dat_hex);
    truncate_all(g_sd_bl_signed.dat_hex);
}

/* Random byte corruptions: any outcome but a crash or an inconsistent result. */
static void test_initpkt_mutations_stay_consistent(void **state)
{
    (void)state;
    uint8_t dat[INITPKT_MAX_SIZE];
    size_t len = unhex(g_sd_bl_signed.dat_hex, dat, sizeof(dat));
    uint32_t s = 0x9E3779B9u;
    size_t ok = 0;
    for (int round = 0; round < 3000; round++) {
        uint8_t *m = malloc(len);
        assert_non_null(m);
        memcpy(m, dat, len);
        for (int k = 0; k < 1 + round % 3; k++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            m[s % len] = (uint8_t)(s >> 8);
        }
        initpkt_t out;
        const char *field = NULL;
        initpkt_err_t e = initpkt_decode(m, len, &out, &field);
        if (e == INITPKT_OK) {
            ok++;
            assert_null(field);
            assert_true(out.has_init);
            assert_true(out.init_off + out.init_len <= len);
            assert_true(out.sd_req_count <= INITPKT_SD_REQ_MAX);
            assert_true(out.bv_count <= INITPKT_BV_MAX);
            assert_true(out.hash_len <= INITPKT_HASH_MAX);
            assert_true(out.sig_len <= INITPKT_SIG_MAX);
        } else {
            assert_non_null(field);
            assert_true(all_zero(&out, sizeof(out)));
        }
        free(m);
    }
    /* Flips inside the hash or signature bytes still decode. */
    assert_true(ok > 0);
}

static void test_initpkt_no_init_command(void **state)
{
    (void)state;
    uint8_t buf[INITPKT_MAX_SIZE];
    fab_t f;

    /* Packet.command without init. */
    fab_init(&f, 0);
    f.cmd.init = NULL;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_NO_INIT, "command.init");

    /* signed_command.command without init. */
    fab_init(&f, 1);
    f.cmd.init = NULL;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_NO_INIT, "command.init");

    /* Neither command nor signed_command: only an unknown field. */
    static const uint8_t unknown_only[] = {0x28, 0x01};
    expect_err(unknown_only, sizeof(unknown_only), INITPKT_ERR_NO_INIT, "packet.command");
}

static void test_initpkt_both_command_and_signed_command(void **state)
{
    (void)state;
    uint8_t buf[INITPKT_MAX_SIZE];
    fab_t f;
    fab_init(&f, 1);
    f.pkt.command = &f.cmd;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_NO_INIT, "both");
}

static void test_initpkt_limits(void **state)
{
    (void)state;
    uint8_t buf[INITPKT_MAX_SIZE];
    fab_t f;

    /* sd_req: 16 is the bound, 17 is over it. */
    fab_init(&f, 1);
    for (uint32_t i = 0; i < 17; i++)
        f.sd_req[i] = 0x100 + i;
    f.ic.n_sd_req = 16;
    initpkt_t p = decode_ok(buf, pack(&f.pkt, buf, sizeof(buf)));
    assert_int_equal(p.sd_req_count, 16);
    assert_int_equal(p.sd_req[15], 0x10F);
    f.ic.n_sd_req = 17;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_LIMIT, "init.sd_req");

    /* hash: 32 / 33 bytes. */
    fab_init(&f, 1);
    f.hash.hash.len = 32;
    decode_ok(buf, pack(&f.pkt, buf, sizeof(buf)));
    f.hash.hash.len = 33;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_LIMIT, "init.hash.hash");

    /* signature: 64 / 65 bytes. */
    fab_init(&f, 1);
    f.sc.signature.len = 65;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_LIMIT, "signed_command.signature");

    /* boot_validation: 3 / 4 entries. */
    fab_init(&f, 1);
    f.ic.n_boot_validation = 3;
    f.bv[2].type = DFU__VALIDATION_TYPE__VALIDATE_SHA256;
    p = decode_ok(buf, pack(&f.pkt, buf, sizeof(buf)));
    assert_int_equal(p.bv_count, 3);
    assert_int_equal(p.bv[2].type, INITPKT_BV_SHA256);
    f.ic.n_boot_validation = 4;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_LIMIT, "init.boot_validation");

    /* boot_validation bytes: 64 / 65. */
    fab_init(&f, 1);
    f.bv[0].type = DFU__VALIDATION_TYPE__VALIDATE_ECDSA_P256_SHA256;
    for (size_t i = 0; i < 65; i++)
        f.bv_bytes[0][i] = (uint8_t)i;
    f.bv[0].bytes.len = 64;
    p = decode_ok(buf, pack(&f.pkt, buf, sizeof(buf)));
    assert_int_equal(p.bv[0].len, 64);
    assert_memory_equal(p.bv[0].bytes, f.bv_bytes[0], 64);
    f.bv[0].bytes.len = 65;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_LIMIT,
               "init.boot_validation.bytes");
    /* ... also in the second entry. */
    f.bv[0].bytes.len = 0;
    f.ic.n_boot_validation = 2;
    f.bv[1].bytes.len = 65;
    expect_err(buf, pack(&f.pkt, buf, sizeof(buf)), INITPKT_ERR_LIMIT,
               "init.boot_validation.bytes");
}

static void test_initpkt_init_twice(void **state)
{
    (void)state;
    uint8_t init[INITPKT_MAX_SIZE], buf[INITPKT_MAX_SIZE];
    size_t il = unhex(g_app_signed.init_command_hex, init, sizeof(init));
    assert_true(il < 128);

    /* Packet.command { op_code, init, init }: protobuf merges, the bootloader refuses. */
    size_t n = 0;
    size_t cmd_len = 2 + 2 * (2 + il);
    assert_true(cmd_len >= 128 && cmd_len < 16384);
    buf[n++] = 0x0a;
    buf[n++] = (uint8_t)(0x80u | (cmd_len & 0x7Fu)); /* two-byte varint */
    buf[n++] = (uint8_t)(cmd_len >> 7);
    buf[n++] = 0x08;
    buf[n++] = 0x01;
    for (int k = 0; k < 2; k++) {
        buf[n++] = 0x12;
        buf[n++] = (uint8_t)il;
        memcpy(buf + n, init, il);
        n += il;
    }
    expect_err(buf, n, INITPKT_ERR_NO_INIT, "more than once");

    /* Two Packet.command fields, each with an init. */
    n = 0;
    for (int k = 0; k < 2; k++) {
        buf[n++] = 0x0a;
        buf[n++] = (uint8_t)(2 + il);
        buf[n++] = 0x12;
        buf[n++] = (uint8_t)il;
        memcpy(buf + n, init, il);
        n += il;
    }
    expect_err(buf, n, INITPKT_ERR_NO_INIT, "more than once");
}

static void put_varint(uint8_t *buf, size_t *n, size_t v)
{
    while (v >= 0x80u) {
        buf[(*n)++] = (uint8_t)(0x80u | (v & 0x7Fu));
        v >>= 7;
    }
    buf[(*n)++] = (uint8_t)v;
}

static void test_initpkt_init_twice_in_signed_command(void **state)
{
    (void)state;
    uint8_t init[INITPKT_MAX_SIZE], buf[INITPKT_MAX_SIZE];
    size_t il = unhex(g_app_signed.init_command_hex, init, sizeof(init));
    size_t cmd_len = 2 * (2 + il);
    size_t sc_len = 1 + (cmd_len < 128 ? 1 : 2) + cmd_len + 2 + 2 + 64;
    size_t n = 0;
    buf[n++] = 0x12;
    put_varint(buf, &n, sc_len);
    buf[n++] = 0x0a;
    put_varint(buf, &n, cmd_len);
    for (int k = 0; k < 2; k++) {
        buf[n++] = 0x12;
        put_varint(buf, &n, il);
        memcpy(buf + n, init, il);
        n += il;
    }
    static const uint8_t sig_head[] = {0x10, 0x00, 0x1a, 0x40};
    memcpy(buf + n, sig_head, 4);
    n += 4;
    memset(buf + n, 0x33, 64);
    n += 64;
    expect_err(buf, n, INITPKT_ERR_NO_INIT, "more than once");
}

/* Spec 4.5: the signed span runs from the InitCommand payload to the end of
 * the enclosing Command, so a field after init is part of it. */
static void test_initpkt_signed_span_ends_with_command(void **state)
{
    (void)state;
    uint8_t init[INITPKT_MAX_SIZE], buf[INITPKT_MAX_SIZE];
    size_t il = unhex(g_app_signed.init_command_hex, init, sizeof(init));
    size_t n = 0;
    buf[n++] = 0x0a;
    put_varint(buf, &n, 2 + il + 2);
    buf[n++] = 0x12;
    put_varint(buf, &n, il);
    size_t init_at = n;
    memcpy(buf + n, init, il);
    n += il;
    buf[n++] = 0x08; /* op_code INIT after init */
    buf[n++] = 0x01;
    initpkt_t p = decode_ok(buf, n);
    assert_int_equal(p.op_code, 1);
    assert_int_equal(p.init_off, init_at);
    assert_int_equal(p.init_len, il + 2);
    assert_int_equal(p.app_size, 50016);
}

static void test_initpkt_unknown_enum_values(void **state)
{
    (void)state;
    uint8_t buf[INITPKT_MAX_SIZE];
    fab_t f;
    fab_init(&f, 1);
    f.ic.type = (Dfu__FwType)9;
    f.hash.hash_type = (Dfu__HashType)7;
    f.sc.signature_type = (Dfu__SignatureType)5;
    f.bv[0].type = (Dfu__ValidationType)6;
    f.cmd.op_code = (Dfu__OpCode)4;
    initpkt_t p = decode_ok(buf, pack(&f.pkt, buf, sizeof(buf)));
    assert_int_equal(p.type, 9);
    assert_int_equal(p.hash_type, 7);
    assert_int_equal(p.sig_type, 5);
    assert_int_equal(p.bv[0].type, 6);
    assert_int_equal(p.op_code, 4);
    assert_null(initpkt_fw_type_name(p.type));
    assert_null(initpkt_hash_type_name(p.hash_type));
    assert_null(initpkt_sig_type_name(p.sig_type));
    assert_null(initpkt_validation_name(p.bv[0].type));
    assert_null(initpkt_op_code_name(p.op_code));
}

static void test_initpkt_enum_names(void **state)
{
    (void)state;
    static const char *const fw[] = {"APPLICATION", "SOFTDEVICE", "BOOTLOADER",
                                     "SOFTDEVICE_BOOTLOADER", "EXTERNAL_APPLICATION"};
    for (uint32_t i = 0; i < 5; i++)
        assert_string_equal(initpkt_fw_type_name(i), fw[i]);
    assert_null(initpkt_fw_type_name(5));
    assert_null(initpkt_fw_type_name(UINT32_MAX));
    static const char *const ht[] = {"NO_HASH", "CRC", "SHA128", "SHA256", "SHA512"};
    for (uint32_t i = 0; i < 5; i++)
        assert_string_equal(initpkt_hash_type_name(i), ht[i]);
    assert_null(initpkt_hash_type_name(5));
    assert_string_equal(initpkt_validation_name(0), "NO_VALIDATION");
    assert_string_equal(initpkt_validation_name(1), "VALIDATE_GENERATED_CRC");
    assert_string_equal(initpkt_validation_name(2), "VALIDATE_SHA256");
    assert_string_equal(initpkt_validation_name(3), "VALIDATE_ECDSA_P256_SHA256");
    assert_null(initpkt_validation_name(4));
    assert_string_equal(initpkt_sig_type_name(0), "ECDSA_P256_SHA256");
    assert_string_equal(initpkt_sig_type_name(1), "ED25519");
    assert_null(initpkt_sig_type_name(2));
    assert_string_equal(initpkt_op_code_name(0), "RESET");
    assert_string_equal(initpkt_op_code_name(1), "INIT");
    assert_null(initpkt_op_code_name(2));
    /* Every error has its own message. */
    const initpkt_err_t errs[] = {INITPKT_OK,         INITPKT_ERR_EMPTY,   INITPKT_ERR_TOO_LARGE,
                                  INITPKT_ERR_DECODE, INITPKT_ERR_NO_INIT, INITPKT_ERR_LIMIT};
    for (size_t i = 0; i < 6; i++)
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(initpkt_strerror(errs[i]), initpkt_strerror(errs[k]));
}

static void test_initpkt_image_size_per_type(void **state)
{
    (void)state;
    initpkt_t p;
    memset(&p, 0, sizeof(p));
    p.has_sd_size = p.has_bl_size = p.has_app_size = true;
    p.sd_size = 0x25000;
    p.bl_size = 0x6000;
    p.app_size = 50016;

    p.type = INITPKT_FW_APPLICATION;
    assert_int_equal(initpkt_image_size(&p), 50016);
    p.type = INITPKT_FW_EXTERNAL_APPLICATION;
    assert_int_equal(initpkt_image_size(&p), 50016);
    p.type = INITPKT_FW_SOFTDEVICE;
    assert_int_equal(initpkt_image_size(&p), 0x25000);
    p.type = INITPKT_FW_BOOTLOADER;
    assert_int_equal(initpkt_image_size(&p), 0x6000);
    p.type = INITPKT_FW_SOFTDEVICE_BOOTLOADER;
    assert_int_equal(initpkt_image_size(&p), 0x25000 + 0x6000);

    /* No 32-bit overflow in the SD+BL sum. */
    p.sd_size = p.bl_size = UINT32_MAX;
    assert_true(initpkt_image_size(&p) == 2ull * UINT32_MAX);
    p.sd_size = 0x25000;
    p.bl_size = 0x6000;

    /* Absent fields count as zero (spec 5.3 step 6). */
    p.has_bl_size = false;
    assert_int_equal(initpkt_image_size(&p), 0x25000);
    p.has_sd_size = false;
    assert_int_equal(initpkt_image_size(&p), 0);
    p.has_app_size = false;
    p.type = INITPKT_FW_APPLICATION;
    assert_int_equal(initpkt_image_size(&p), 0);
    p.type = INITPKT_FW_EXTERNAL_APPLICATION;
    assert_int_equal(initpkt_image_size(&p), 0);
}

static void test_initpkt_missing_app_size_decodes(void **state)
{
    (void)state;
    uint8_t buf[INITPKT_MAX_SIZE];
    fab_t f;
    fab_init(&f, 0);
    f.ic.has_app_size = 0;
    f.ic.has_type = 0;
    f.ic.hash = NULL;
    f.ic.n_boot_validation = 0;
    initpkt_t p = decode_ok(buf, pack(&f.pkt, buf, sizeof(buf)));
    assert_false(p.has_app_size);
    assert_false(p.has_type);
    assert_false(p.has_hash);
    assert_int_equal(p.bv_count, 0);
    assert_int_equal(initpkt_image_size(&p), 0);
}

static void test_initpkt_field_pointer_optional(void **state)
{
    (void)state;
    initpkt_t out;
    static const uint8_t ff[] = {0xff, 0xff};
    assert_int_equal(initpkt_decode(ff, sizeof(ff), &out, NULL), INITPKT_ERR_DECODE);
    uint8_t dat[INITPKT_MAX_SIZE];
    size_t len = unhex(g_app_signed.dat_hex, dat, sizeof(dat));
    assert_int_equal(initpkt_decode(dat, len, &out, NULL), INITPKT_OK);
    assert_int_equal(out.app_size, 50016);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initpkt_spec_example_unsigned),
        cmocka_unit_test(test_initpkt_spec_example_signed),
        cmocka_unit_test(test_initpkt_genuine_signed_app),
        cmocka_unit_test(test_initpkt_genuine_unsigned_app),
        cmocka_unit_test(test_initpkt_genuine_sd_bl_two_boot_validations),
        cmocka_unit_test(test_initpkt_genuine_sdreq_multi),
        cmocka_unit_test(test_initpkt_result_holds_no_pointer_into_input),
        cmocka_unit_test(test_initpkt_empty),
        cmocka_unit_test(test_initpkt_too_large),
        cmocka_unit_test(test_initpkt_garbage),
        cmocka_unit_test(test_initpkt_truncated_every_length),
        cmocka_unit_test(test_initpkt_mutations_stay_consistent),
        cmocka_unit_test(test_initpkt_no_init_command),
        cmocka_unit_test(test_initpkt_both_command_and_signed_command),
        cmocka_unit_test(test_initpkt_limits),
        cmocka_unit_test(test_initpkt_init_twice),
        cmocka_unit_test(test_initpkt_init_twice_in_signed_command),
        cmocka_unit_test(test_initpkt_signed_span_ends_with_command),
        cmocka_unit_test(test_initpkt_unknown_enum_values),
        cmocka_unit_test(test_initpkt_enum_names),
        cmocka_unit_test(test_initpkt_image_size_per_type),
        cmocka_unit_test(test_initpkt_missing_app_size_decodes),
        cmocka_unit_test(test_initpkt_field_pointer_optional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
