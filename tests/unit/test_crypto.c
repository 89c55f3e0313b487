/* Unit suite for ledger/crypto: SHA-256, Ed25519 (RFC 8032 vectors, bit
 * flips, malformed keys and signatures), keyids, key files, DSSE PAE and
 * signatures, and allocation failures. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct ed_vector {
    char name[32];
    mla_buf seed, pub, msg, sig;
} ed_vector;

#define MAX_VECTORS 8

/* Reads tests/vectors/rfc8032_ed25519.txt (format documented there). */
static size_t load_rfc8032(ed_vector v[MAX_VECTORS])
{
    mla_buf file;
    tu_read_file(&file, tu_vector_path("rfc8032_ed25519.txt"));
    static const char *const fields[] = {
        "name: ", "seed: ", "public: ", "message: ", "signature: "};
    size_t n = 0, field = 0, off = 0;
    while (off < file.len) {
        const uint8_t *start = file.ptr + off;
        const uint8_t *lf = memchr(start, '\n', file.len - off);
        size_t len = lf ? (size_t)(lf - start) : file.len - off;
        off += len + 1;
        if (len == 0 || start[0] == '#') continue;
        size_t plen = strlen(fields[field]);
        ck_assert_msg(len >= plen && memcmp(start, fields[field], plen) == 0,
                      "vector file: want \"%s\" line", fields[field]);
        char *value = strndup((const char *)start + plen, len - plen);
        ck_assert_ptr_nonnull(value);
        ed_vector *e = &v[n];
        switch (field) {
        case 0:
            ck_assert_uint_lt(strlen(value), sizeof e->name);
            memcpy(e->name, value, strlen(value) + 1);
            break;
        case 1: tu_hex(&e->seed, value); break;
        case 2: tu_hex(&e->pub, value); break;
        case 3: tu_hex(&e->msg, value); break;
        default: tu_hex(&e->sig, value); break;
        }
        free(value);
        if (++field == 5) {
            field = 0;
            ck_assert_uint_lt(++n, MAX_VECTORS);
        }
    }
    ck_assert_uint_eq(field, 0);
    mla_buf_dispose(&file);
    return n;
}

static void free_vectors(ed_vector *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mla_buf_dispose(&v[i].seed);
        mla_buf_dispose(&v[i].pub);
        mla_buf_dispose(&v[i].msg);
        mla_buf_dispose(&v[i].sig);
    }
}

static mla_pubkey pub_of(const mla_buf *b)
{
    mla_pubkey p;
    ck_assert_uint_eq(b->len, sizeof p.b);
    memcpy(p.b, b->ptr, sizeof p.b);
    return p;
}

static mla_privkey *key_of_hex_seed(const char *hex)
{
    mla_buf seed;
    tu_hex(&seed, hex);
    ck_assert_uint_eq(seed.len, MLA_ED25519_SEED_LEN);
    mla_privkey *k;
    tu_assert_ok(mla_crypto_key_from_seed(&k, seed.ptr));
    mla_buf_dispose(&seed);
    return k;
}

#define TEST1_SEED "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define TEST1_PUB "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define TEST1_SIG                                                                                  \
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9" \
    "b"                                                                                            \
    "46bd25bf5f0595bbe24655141438e7a100b"

static void write_raw(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    ck_assert(write(fd, text, n) == (ssize_t)n);
    ck_assert(fchmod(fd, mode) == 0);
    close(fd);
}

static char *path_in(const char *dir, const char *name)
{
    static _Thread_local char path[2][4096];
    static _Thread_local int which;
    which ^= 1;
    ck_assert(snprintf(path[which], sizeof path[which], "%s/%s", dir, name) < 4096);
    return path[which];
}

/* ---- sha256 ----------------------------------------------------------- */

/* FIPS 180-2 Appendix B.1 ("abc") and the empty message. */
START_TEST(test_sha256_fips_vectors)
{
    mla_hash h, want;
    tu_assert_ok(mla_crypto_init());
    mla_crypto_sha256(&h, mla_slice_cstr("abc"));
    tu_assert_ok(mla_hash_from_hex(
        &want, mla_slice_cstr("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        "want"));
    ck_assert(mla_hash_eq(&h, &want));
    mla_crypto_sha256(&h, mla_slice_make(NULL, 0));
    tu_assert_ok(mla_hash_from_hex(
        &want, mla_slice_cstr("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "want"));
    ck_assert(mla_hash_eq(&h, &want));
}
END_TEST

START_TEST(test_sha256_vectored_and_incremental_agree_with_one_shot)
{
    uint8_t data[1000];
    uint64_t st = 42;
    tu_rand_bytes(&st, data, sizeof data);
    mla_hash one, vec, inc;
    mla_crypto_sha256(&one, mla_slice_make(data, sizeof data));
    mla_slice parts[3] = {mla_slice_make(data, 1), mla_slice_make(data + 1, 0),
                          mla_slice_make(data + 1, sizeof data - 1)};
    mla_crypto_sha256_v(&vec, parts, 3);
    ck_assert(mla_hash_eq(&one, &vec));
    mla_sha256 *h;
    tu_assert_ok(mla_crypto_sha256_new(&h));
    for (size_t i = 0; i < sizeof data; i += 77)
        mla_crypto_sha256_update(
            h, mla_slice_make(data + i, i + 77 > sizeof data ? sizeof data - i : 77));
    mla_crypto_sha256_final(h, &inc);
    ck_assert(mla_hash_eq(&one, &inc));
    /* final resets: the hasher is reusable */
    mla_crypto_sha256_update(h, mla_slice_make(data, sizeof data));
    mla_crypto_sha256_final(h, &inc);
    ck_assert(mla_hash_eq(&one, &inc));
    mla_crypto_sha256_free(h);
    mla_crypto_sha256_free(NULL);
}
END_TEST

/* ---- ed25519 ---------------------------------------------------------- */

START_TEST(test_ed25519_rfc8032_vectors)
{
    ed_vector v[MAX_VECTORS];
    size_t n = load_rfc8032(v);
    ck_assert_uint_eq(n, 5); /* TEST 1, 2, 3, 1024, SHA(abc) */
    for (size_t i = 0; i < n; i++) {
        mla_privkey *k;
        tu_assert_ok(mla_crypto_key_from_seed(&k, v[i].seed.ptr));
        ck_assert_msg(memcmp(mla_crypto_key_public(k)->b, v[i].pub.ptr, 32) == 0, "%s: public key",
                      v[i].name);
        uint8_t sig[MLA_ED25519_SIG_LEN];
        tu_assert_ok(mla_crypto_sign(sig, k, mla_buf_slice(&v[i].msg)));
        ck_assert_msg(memcmp(sig, v[i].sig.ptr, sizeof sig) == 0, "%s: signature", v[i].name);
        mla_pubkey pub = pub_of(&v[i].pub);
        tu_assert_ok(mla_crypto_verify(&pub, mla_buf_slice(&v[i].msg), mla_buf_slice(&v[i].sig)));
        mla_crypto_key_free(k);
    }
    free_vectors(v, n);
}
END_TEST

START_TEST(test_ed25519_rejects_every_signature_bit_flip)
{
    ed_vector v[MAX_VECTORS];
    size_t n = load_rfc8032(v);
    for (size_t i = 0; i < n; i++) {
        mla_pubkey pub = pub_of(&v[i].pub);
        for (size_t bit = 0; bit < 8 * MLA_ED25519_SIG_LEN; bit++) {
            v[i].sig.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            tu_assert_fail_with(
                mla_crypto_verify(&pub, mla_buf_slice(&v[i].msg), mla_buf_slice(&v[i].sig)),
                MLA_EDENIED, "signature: does not verify");
            v[i].sig.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
    free_vectors(v, n);
}
END_TEST

START_TEST(test_ed25519_rejects_every_message_bit_flip)
{
    ed_vector v[MAX_VECTORS];
    size_t n = load_rfc8032(v);
    for (size_t i = 0; i < n; i++) {
        mla_pubkey pub = pub_of(&v[i].pub);
        for (size_t bit = 0; bit < 8 * v[i].msg.len; bit++) {
            v[i].msg.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            tu_assert_fail_with(
                mla_crypto_verify(&pub, mla_buf_slice(&v[i].msg), mla_buf_slice(&v[i].sig)),
                MLA_EDENIED, "signature: does not verify");
            v[i].msg.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
    free_vectors(v, n);
}
END_TEST

START_TEST(test_ed25519_rejects_every_public_key_bit_flip)
{
    ed_vector v[MAX_VECTORS];
    size_t n = load_rfc8032(v);
    for (size_t i = 0; i < n; i++) {
        for (size_t bit = 0; bit < 8 * MLA_ED25519_PUB_LEN; bit++) {
            mla_pubkey pub = pub_of(&v[i].pub);
            pub.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            mla_status rc =
                mla_crypto_verify(&pub, mla_buf_slice(&v[i].msg), mla_buf_slice(&v[i].sig));
            /* Either the flipped key is a point and the signature fails, or
             * it is not a point at all. */
            if (rc == MLA_EDENIED)
                ck_assert_str_eq(mla_error_last()->msg, "signature: does not verify");
            else
                tu_assert_fail_with(rc, MLA_EINVAL, "public key");
        }
    }
    free_vectors(v, n);
}
END_TEST

START_TEST(test_ed25519_rejects_signature_of_wrong_length)
{
    mla_privkey *k = key_of_hex_seed(TEST1_SEED);
    uint8_t sig[65] = {0};
    tu_assert_fail_with(mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(NULL, 0),
                                          mla_slice_make(sig, 63)),
                        MLA_EINVAL, "signature: 63 bytes, want 64");
    tu_assert_fail_with(mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(NULL, 0),
                                          mla_slice_make(sig, 65)),
                        MLA_EINVAL, "signature");
    tu_assert_fail_with(mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(NULL, 0),
                                          mla_slice_make(NULL, 0)),
                        MLA_EINVAL, "signature");
    mla_crypto_key_free(k);
}
END_TEST

/* RFC 8032 §5.1.7: S must be below L; S + L is the same signature to a
 * verifier that reduces mod L (as libgcrypt 1.10.1 does), a malleability the
 * ledger refuses. */
START_TEST(test_ed25519_rejects_s_not_below_group_order)
{
    static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    mla_buf sig;
    tu_hex(&sig, TEST1_SIG);
    mla_privkey *k = key_of_hex_seed(TEST1_SEED);
    const mla_pubkey *pub = mla_crypto_key_public(k);
    tu_assert_ok(mla_crypto_verify(pub, mla_slice_make(NULL, 0), mla_buf_slice(&sig)));
    unsigned carry = 0;
    for (size_t i = 0; i < 32; i++) {
        unsigned s = sig.ptr[32 + i] + L[i] + carry;
        sig.ptr[32 + i] = (uint8_t)s;
        carry = s >> 8;
    }
    tu_assert_fail_with(mla_crypto_verify(pub, mla_slice_make(NULL, 0), mla_buf_slice(&sig)),
                        MLA_EDENIED, "signature: does not verify");
    memset(sig.ptr + 32, 0xff, 32);
    tu_assert_fail_with(mla_crypto_verify(pub, mla_slice_make(NULL, 0), mla_buf_slice(&sig)),
                        MLA_EDENIED, "signature: does not verify");
    mla_crypto_key_free(k);
    mla_buf_dispose(&sig);
}
END_TEST

/* Small-order and non-canonical public keys are refused before libgcrypt,
 * which aborts the process on some of them. */
START_TEST(test_ed25519_rejects_small_order_and_noncanonical_keys)
{
    static const char *const bad[] = {
        "0100000000000000000000000000000000000000000000000000000000000000", /* identity */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* order 2 */
        "0000000000000000000000000000000000000000000000000000000000000000", /* order 4 */
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    static const char *const noncanonical[] = {
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p */
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p + 1 */
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    mla_buf sig, b;
    tu_hex(&sig, TEST1_SIG);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_hex(&b, bad[i]);
        mla_pubkey pub = pub_of(&b);
        tu_assert_fail_with(mla_crypto_verify(&pub, mla_slice_make(NULL, 0), mla_buf_slice(&sig)),
                            MLA_EINVAL, "public key: point of small order");
        mla_buf_dispose(&b);
    }
    for (size_t i = 0; i < sizeof noncanonical / sizeof noncanonical[0]; i++) {
        tu_hex(&b, noncanonical[i]);
        mla_pubkey pub = pub_of(&b);
        tu_assert_fail_with(mla_crypto_verify(&pub, mla_slice_make(NULL, 0), mla_buf_slice(&sig)),
                            MLA_EINVAL, "public key: non-canonical");
        mla_buf_dispose(&b);
    }
    mla_buf_dispose(&sig);
}
END_TEST

/* Keys with a small-order component (TEST 1's key plus a point of order 8,
 * 4 and 2, computed independently in Python) are points: the signature
 * simply fails. Random keys and signatures never crash the verifier. */
START_TEST(test_ed25519_survives_mixed_order_and_random_keys)
{
    static const char *const mixed[] = {
        "9158312a9a8d6e3b34c891d6d61444f8b8211c5117ebad15bdb0bd68b07e0245",
        "40c7570f4dd54835b9131184410ed4a0cc93e7d9ad053cbc6d07a62426999582",
        "16a567fe7d4ef5482ab4012c369bf8c5f11e8d0c2559dcda50fde59708f8aee5",
    };
    mla_buf sig, b;
    tu_hex(&sig, TEST1_SIG);
    for (size_t i = 0; i < 3; i++) {
        tu_hex(&b, mixed[i]);
        mla_pubkey pub = pub_of(&b);
        tu_assert_fail_with(mla_crypto_verify(&pub, mla_slice_make(NULL, 0), mla_buf_slice(&sig)),
                            MLA_EDENIED, "signature: does not verify");
        mla_buf_dispose(&b);
    }
    uint64_t st = 7;
    uint8_t msg[64], rsig[64];
    for (int i = 0; i < 300; i++) {
        mla_pubkey pub;
        tu_rand_bytes(&st, pub.b, sizeof pub.b);
        tu_rand_bytes(&st, msg, sizeof msg);
        tu_rand_bytes(&st, rsig, sizeof rsig);
        if (i % 2) memcpy(rsig, sig.ptr, sizeof rsig);
        rsig[63] &= 0x0f; /* S below L more often than not */
        mla_status rc =
            mla_crypto_verify(&pub, mla_slice_make(msg, sizeof msg), mla_slice_make(rsig, 64));
        ck_assert_msg(rc == MLA_EDENIED || rc == MLA_EINVAL, "random key %d: %s", i,
                      mla_status_name(rc));
    }
    mla_buf_dispose(&sig);
}
END_TEST

static void *sign_verify_loop(void *arg)
{
    const mla_privkey *k = arg;
    uint8_t msg[128], sig[64];
    for (int i = 0; i < 40; i++) {
        memset(msg, i, sizeof msg);
        if (mla_crypto_sign(sig, k, mla_slice_make(msg, sizeof msg)) != MLA_OK) return (void *)1;
        if (mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(msg, sizeof msg),
                              mla_slice_make(sig, sizeof sig)) != MLA_OK)
            return (void *)1;
        sig[0] ^= 1;
        if (mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(msg, sizeof msg),
                              mla_slice_make(sig, sizeof sig)) != MLA_EDENIED)
            return (void *)1;
    }
    return NULL;
}

/* The log verifies on several worker threads at once (SPEC §5). */
START_TEST(test_ed25519_sign_and_verify_from_several_threads)
{
    mla_privkey *k = key_of_hex_seed(TEST1_SEED);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, sign_verify_loop, k), 0);
    for (int i = 0; i < 4; i++) {
        void *res;
        ck_assert_int_eq(pthread_join(th[i], &res), 0);
        ck_assert_ptr_null(res);
    }
    mla_crypto_key_free(k);
}
END_TEST

START_TEST(test_ed25519_generated_keys_differ_and_sign)
{
    mla_privkey *a, *b;
    tu_assert_ok(mla_crypto_key_generate(&a));
    tu_assert_ok(mla_crypto_key_generate(&b));
    ck_assert(memcmp(mla_crypto_key_public(a)->b, mla_crypto_key_public(b)->b, 32) != 0);
    uint8_t msg[512], sig[64];
    memset(msg, 'm', sizeof msg);
    tu_assert_ok(mla_crypto_sign(sig, a, mla_slice_make(msg, sizeof msg)));
    tu_assert_ok(mla_crypto_verify(mla_crypto_key_public(a), mla_slice_make(msg, sizeof msg),
                                   mla_slice_make(sig, sizeof sig)));
    tu_assert_fail_with(mla_crypto_verify(mla_crypto_key_public(b), mla_slice_make(msg, sizeof msg),
                                          mla_slice_make(sig, sizeof sig)),
                        MLA_EDENIED, "signature: does not verify");
    mla_crypto_key_free(a);
    mla_crypto_key_free(b);
    mla_crypto_key_free(NULL);
}
END_TEST

/* ---- keyid ------------------------------------------------------------ */

/* SHA-256 of the RFC 8032 TEST 1 public key, computed independently with
 * python3 hashlib.sha256(bytes.fromhex(TEST1_PUB)).hexdigest(). */
START_TEST(test_keyid_is_hex_sha256_of_public_key)
{
    mla_privkey *k = key_of_hex_seed(TEST1_SEED);
    char id[MLA_KEYID_HEX_LEN + 1];
    mla_crypto_keyid(id, mla_crypto_key_public(k));
    ck_assert_str_eq(id, "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
    mla_hash h, want;
    mla_crypto_keyid_hash(&h, mla_crypto_key_public(k));
    tu_assert_ok(mla_hash_from_hex(&want, mla_slice_cstr(id), "keyid"));
    ck_assert(mla_hash_eq(&h, &want));
    mla_crypto_key_free(k);
}
END_TEST

/* ---- keyfile ---------------------------------------------------------- */

START_TEST(test_keyfile_private_round_trip_is_0600_and_exact)
{
    char *dir = tu_tmpdir_new();
    const char *path = path_in(dir, "signer.key");
    mla_privkey *k = key_of_hex_seed(TEST1_SEED), *back;
    tu_assert_ok(mla_crypto_keyfile_write_private(path, k));
    struct stat st;
    ck_assert(stat(path, &st) == 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    mla_buf text;
    tu_read_file(&text, path);
    static const char want[] = "mlaudit-private-key-v1\n"
                               "algorithm: ed25519\n"
                               "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                               "seed: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n";
    ck_assert_uint_eq(text.len, strlen(want));
    ck_assert(memcmp(text.ptr, want, text.len) == 0);
    mla_buf_dispose(&text);
    tu_assert_ok(mla_crypto_keyfile_read_private(&back, path));
    ck_assert(memcmp(mla_crypto_key_public(back)->b, mla_crypto_key_public(k)->b, 32) == 0);
    uint8_t s1[64], s2[64];
    tu_assert_ok(mla_crypto_sign(s1, k, mla_slice_cstr("x")));
    tu_assert_ok(mla_crypto_sign(s2, back, mla_slice_cstr("x")));
    ck_assert(memcmp(s1, s2, 64) == 0);
    mla_pubkey pub;
    tu_assert_ok(mla_crypto_keyfile_read_public(&pub, path));
    ck_assert(memcmp(pub.b, mla_crypto_key_public(k)->b, 32) == 0);
    mla_crypto_key_free(back);
    mla_crypto_key_free(k);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_keyfile_public_round_trip)
{
    char *dir = tu_tmpdir_new();
    const char *path = path_in(dir, "signer.pub");
    mla_privkey *k = key_of_hex_seed(TEST1_SEED), *none = NULL;
    tu_assert_ok(mla_crypto_keyfile_write_public(path, mla_crypto_key_public(k)));
    mla_buf text;
    tu_read_file(&text, path);
    static const char want[] = "mlaudit-public-key-v1\n"
                               "algorithm: ed25519\n"
                               "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n";
    ck_assert_uint_eq(text.len, strlen(want));
    ck_assert(memcmp(text.ptr, want, text.len) == 0);
    mla_buf_dispose(&text);
    mla_pubkey pub;
    tu_assert_ok(mla_crypto_keyfile_read_public(&pub, path));
    ck_assert(memcmp(pub.b, mla_crypto_key_public(k)->b, 32) == 0);
    /* a public file is no private key, whatever its mode */
    ck_assert(chmod(path, 0600) == 0);
    tu_assert_fail_with(mla_crypto_keyfile_read_private(&none, path), MLA_EINVAL, "header");
    ck_assert_ptr_null(none);
    tu_assert_fail_with(mla_crypto_keyfile_write_public(path, &pub), MLA_EEXISTS, path);
    mla_crypto_key_free(k);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_keyfile_refuses_group_readable_private_key)
{
    char *dir = tu_tmpdir_new();
    const char *path = path_in(dir, "signer.key");
    mla_privkey *k = key_of_hex_seed(TEST1_SEED), *back = NULL;
    tu_assert_ok(mla_crypto_keyfile_write_private(path, k));
    ck_assert(chmod(path, 0644) == 0);
    tu_assert_fail_with(mla_crypto_keyfile_read_private(&back, path), MLA_EDENIED, "chmod 600");
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, path));
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, "0644"));
    ck_assert_ptr_null(back);
    ck_assert(chmod(path, 0640) == 0);
    tu_assert_fail_with(mla_crypto_keyfile_read_private(&back, path), MLA_EDENIED, "chmod 600");
    /* the public half may still be read */
    mla_pubkey pub;
    tu_assert_ok(mla_crypto_keyfile_read_public(&pub, path));
    ck_assert(memcmp(pub.b, mla_crypto_key_public(k)->b, 32) == 0);
    ck_assert(chmod(path, 0400) == 0);
    tu_assert_ok(mla_crypto_keyfile_read_private(&back, path));
    mla_crypto_key_free(back);
    mla_crypto_key_free(k);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_keyfile_refuses_to_overwrite)
{
    char *dir = tu_tmpdir_new();
    const char *path = path_in(dir, "signer.key");
    mla_privkey *k = key_of_hex_seed(TEST1_SEED);
    write_raw(path, "precious\n", 0600);
    tu_assert_fail_with(mla_crypto_keyfile_write_private(path, k), MLA_EEXISTS, path);
    mla_buf text;
    tu_read_file(&text, path);
    ck_assert_uint_eq(text.len, 9);
    mla_buf_dispose(&text);
    tu_assert_fail_with(mla_crypto_keyfile_write_private(path_in(dir, "no/such/dir"), k), MLA_EIO,
                        "no/such/dir");
    mla_crypto_key_free(k);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

#define HDR "mlaudit-private-key-v1\n"
#define ALG "algorithm: ed25519\n"
#define PUB "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
#define SEED "seed: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n"

START_TEST(test_keyfile_rejects_malformed_files_naming_the_field)
{
    static const struct {
        const char *text, *field;
    } cases[] = {
        {"", ":1: header: missing"},
        {"mlaudit-private-key-v2\n" ALG PUB SEED, ":1: header"},
        {"mlaudit-private-key-v1\r\n" ALG PUB SEED, ":1: header"},
        {HDR, ":2: algorithm: missing"},
        {HDR "algorithm: ed448\n" PUB SEED, ":2: algorithm"},
        {HDR ALG, ":3: public: missing"},
        {HDR ALG "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR==\n" SEED, ":3: public"},
        {HDR ALG "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR\n" SEED,
         ":3: public: 42 base64"},
        {HDR ALG "public:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n" SEED, ":3: public"},
        {HDR ALG "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= \n" SEED, ":3: public"},
        {HDR ALG SEED PUB, ":3: public"},
        {HDR ALG PUB, ":4: seed: missing"},
        {HDR ALG PUB "seed: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
         ":4: seed: line is not terminated"},
        {HDR ALG PUB "seed: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyu*2A=\n",
         ":4: seed: invalid base64"},
        {HDR ALG PUB "seed: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B=\n",
         ":4: seed: non-canonical"},
        {HDR ALG PUB SEED "\n", ":5: unexpected content"},
        {HDR ALG PUB SEED "comment: hi\n", ":5: unexpected content"},
        /* TEST 2's public key with TEST 1's seed */
        {HDR ALG "public: PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=\n" SEED,
         ":3: public: does not match"},
    };
    char *dir = tu_tmpdir_new();
    const char *path = path_in(dir, "bad.key");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(path, cases[i].text, 0600);
        mla_privkey *k = (mla_privkey *)1;
        mla_status rc = mla_crypto_keyfile_read_private(&k, path);
        ck_assert_msg(rc == MLA_EINVAL, "case %zu: %s", i, mla_error_last()->msg);
        ck_assert_msg(strstr(mla_error_last()->msg, cases[i].field) != NULL,
                      "case %zu: \"%s\" does not name \"%s\"", i, mla_error_last()->msg,
                      cases[i].field);
        ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, path));
        ck_assert_ptr_null(k);
    }
    /* read_public is as strict about the rest of the file */
    mla_pubkey pub;
    write_raw(path, HDR ALG PUB SEED "x\n", 0644);
    tu_assert_fail_with(mla_crypto_keyfile_read_public(&pub, path), MLA_EINVAL,
                        ":5: unexpected content");
    write_raw(path, "mlaudit-public-key-v1\n" ALG PUB SEED, 0644);
    tu_assert_fail_with(mla_crypto_keyfile_read_public(&pub, path), MLA_EINVAL,
                        ":4: unexpected content");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_keyfile_rejects_oversized_missing_and_odd_files)
{
    char *dir = tu_tmpdir_new();
    const char *path = path_in(dir, "big.key");
    static char big[5000];
    memset(big, 'a', sizeof big - 1);
    write_raw(path, big, 0600);
    mla_privkey *k = NULL;
    tu_assert_fail_with(mla_crypto_keyfile_read_private(&k, path), MLA_EINVAL, "4096-byte limit");
    mla_pubkey pub;
    tu_assert_fail_with(mla_crypto_keyfile_read_public(&pub, path_in(dir, "absent.pub")),
                        MLA_ENOTFOUND, "absent.pub");
    tu_assert_fail_with(mla_crypto_keyfile_read_public(&pub, dir), MLA_EINVAL,
                        "not a regular file");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- dsse ------------------------------------------------------------- */

/* The example of DSSE protocol.md, read from tests/vectors/dsse_pae.txt. */
START_TEST(test_dsse_pae_matches_spec_example)
{
    mla_buf file;
    tu_read_file(&file, tu_vector_path("dsse_pae.txt"));
    mla_slice type = {0}, payload = {0}, pae = {0};
    size_t off = 0;
    while (off < file.len) {
        const uint8_t *start = file.ptr + off;
        const uint8_t *lf = memchr(start, '\n', file.len - off);
        ck_assert_ptr_nonnull(lf);
        size_t len = (size_t)(lf - start);
        off += len + 1;
        if (len > 6 && memcmp(start, "type: ", 6) == 0) type = mla_slice_make(start + 6, len - 6);
        if (len > 9 && memcmp(start, "payload: ", 9) == 0)
            payload = mla_slice_make(start + 9, len - 9);
        if (len > 5 && memcmp(start, "pae: ", 5) == 0) pae = mla_slice_make(start + 5, len - 5);
    }
    ck_assert_uint_eq(type.len, 29);
    ck_assert_uint_eq(payload.len, 11);
    mla_buf out;
    mla_buf_init(&out, 1024);
    tu_assert_ok(mla_crypto_dsse_pae(&out, type, payload));
    ck_assert(mla_slice_eq(mla_buf_slice(&out), pae));
    /* PAE appends */
    tu_assert_ok(mla_crypto_dsse_pae(&out, mla_slice_make(NULL, 0), mla_slice_make(NULL, 0)));
    ck_assert_uint_eq(out.len, pae.len + 12);
    ck_assert(memcmp(out.ptr + pae.len, "DSSEv1 0  0 ", 12) == 0);
    mla_buf_dispose(&out);
    /* over the buffer's limit: ELIMIT, buffer unchanged */
    mla_buf_init(&out, 20);
    tu_assert_ok(mla_buf_append_cstr(&out, "keep"));
    tu_assert_fail_with(mla_crypto_dsse_pae(&out, type, payload), MLA_ELIMIT, "limit");
    ck_assert_uint_eq(out.len, 4);
    mla_buf_dispose(&out);
    mla_buf_dispose(&file);
}
END_TEST

START_TEST(test_dsse_pae_lengths_are_byte_counts_without_leading_zeros)
{
    static uint8_t payload[100000];
    memset(payload, 'p', sizeof payload);
    mla_buf out;
    mla_buf_init(&out, 1u << 20);
    tu_assert_ok(
        mla_crypto_dsse_pae(&out, mla_slice_cstr("t/\xe2\x82\xac"), mla_slice_make(payload, 10)));
    ck_assert_uint_eq(out.len, strlen("DSSEv1 5 t/\xe2\x82\xac 10 pppppppppp"));
    ck_assert(memcmp(out.ptr, "DSSEv1 5 t/\xe2\x82\xac 10 pppppppppp", out.len) == 0);
    mla_buf_clear(&out);
    tu_assert_ok(
        mla_crypto_dsse_pae(&out, mla_slice_cstr("x"), mla_slice_make(payload, sizeof payload)));
    ck_assert(memcmp(out.ptr, "DSSEv1 1 x 100000 p", 19) == 0);
    ck_assert_uint_eq(out.len, 18 + sizeof payload);
    mla_buf_dispose(&out);
}
END_TEST

/* The longest message we let libgcrypt take signs and verifies, from several
 * threads at once; longer ones, which abort libgcrypt 1.10, are refused. */
static void *sign_big(void *arg)
{
    mla_privkey *k = arg;
    static uint8_t big[MLA_CRYPTO_MESSAGE_MAX];
    uint8_t sig[64];
    for (int i = 0; i < 2; i++) {
        if (mla_crypto_sign(sig, k, mla_slice_make(big, sizeof big)) != MLA_OK) return (void *)1;
        if (mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(big, sizeof big),
                              mla_slice_make(sig, 64)) != MLA_OK)
            return (void *)1;
    }
    return NULL;
}

START_TEST(test_ed25519_signs_longest_message_concurrently_and_refuses_longer)
{
    mla_privkey *k = key_of_hex_seed(TEST1_SEED);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, sign_big, k), 0);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        ck_assert_ptr_null(ret);
    }
    static uint8_t over[MLA_CRYPTO_MESSAGE_MAX + 1];
    uint8_t sig[64] = {0};
    tu_assert_fail_with(mla_crypto_sign(sig, k, mla_slice_make(over, sizeof over)), MLA_EINVAL,
                        "message: 65281 bytes exceeds limit 65280");
    tu_assert_fail_with(
        mla_crypto_dsse_sign(sig, k, mla_slice_cstr("t"), mla_slice_make(over, sizeof over - 10)),
        MLA_EINVAL, "exceeds limit 65280");
    tu_assert_fail_with(mla_crypto_verify(mla_crypto_key_public(k),
                                          mla_slice_make(over, sizeof over),
                                          mla_slice_make(sig, 64)),
                        MLA_EINVAL, "message");
    mla_crypto_key_free(k);
}
END_TEST

START_TEST(test_dsse_sign_verify_round_trip_and_tamper)
{
    mla_privkey *k = key_of_hex_seed(TEST1_SEED);
    const mla_pubkey *pub = mla_crypto_key_public(k);
    mla_slice type = mla_slice_cstr("application/vnd.mlaudit.change.v1+protobuf");
    static uint8_t big[10000];
    memset(big, 'b', sizeof big);
    const mla_slice payloads[] = {mla_slice_cstr("hello world"), mla_slice_make(NULL, 0),
                                  mla_slice_make(big, sizeof big)};
    for (size_t i = 0; i < 3; i++) {
        uint8_t sig[64];
        tu_assert_ok(mla_crypto_dsse_sign(sig, k, type, payloads[i]));
        tu_assert_ok(mla_crypto_dsse_verify(pub, type, payloads[i], mla_slice_make(sig, 64)));
        /* it is a signature over the PAE, not the payload */
        mla_buf pae;
        mla_buf_init(&pae, 1u << 20);
        tu_assert_ok(mla_crypto_dsse_pae(&pae, type, payloads[i]));
        tu_assert_ok(mla_crypto_verify(pub, mla_buf_slice(&pae), mla_slice_make(sig, 64)));
        mla_buf_dispose(&pae);
        tu_assert_fail_with(mla_crypto_dsse_verify(pub,
                                                   mla_slice_cstr("application/vnd.in-toto+json"),
                                                   payloads[i], mla_slice_make(sig, 64)),
                            MLA_EDENIED, "signature: does not verify");
        tu_assert_fail_with(mla_crypto_dsse_verify(pub, type, mla_slice_cstr("hello worle"),
                                                   mla_slice_make(sig, 64)),
                            MLA_EDENIED, "signature: does not verify");
        tu_assert_fail_with(mla_crypto_dsse_verify(pub, type, payloads[i], mla_slice_make(sig, 32)),
                            MLA_EINVAL, "signature");
    }
    /* moving bytes between type and payload changes the PAE */
    uint8_t sig[64];
    tu_assert_ok(mla_crypto_dsse_sign(sig, k, mla_slice_cstr("ab"), mla_slice_cstr("cd")));
    tu_assert_fail_with(mla_crypto_dsse_verify(pub, mla_slice_cstr("abc"), mla_slice_cstr("d"),
                                               mla_slice_make(sig, 64)),
                        MLA_EDENIED, "signature: does not verify");
    mla_crypto_key_free(k);
}
END_TEST

/* ---- allocation failure ----------------------------------------------- */

START_TEST(test_alloc_failure_key_generate_and_from_seed)
{
    mla_buf seed;
    tu_hex(&seed, TEST1_SEED);
    for (int which = 0; which < 2; which++) {
        long k = 0;
        for (;; k++) {
            mla_privkey *key = (mla_privkey *)1;
            mla_alloc_fail_after(k);
            mla_status rc =
                which ? mla_crypto_key_from_seed(&key, seed.ptr) : mla_crypto_key_generate(&key);
            mla_alloc_fail_reset();
            if (rc == MLA_OK) {
                ck_assert_ptr_nonnull(key);
                mla_crypto_key_free(key);
                break;
            }
            tu_assert_fail_with(rc, MLA_ENOMEM, "key");
            ck_assert_ptr_null(key);
            ck_assert_int_lt(k, 50);
        }
        ck_assert_int_ge(k, 1); /* at least one failure was injected */
    }
    mla_buf_dispose(&seed);
}
END_TEST

START_TEST(test_alloc_failure_dsse_sign)
{
    mla_privkey *key = key_of_hex_seed(TEST1_SEED);
    static uint8_t payload[8192]; /* larger than the stack PAE */
    memset(payload, 'x', sizeof payload);
    mla_slice type = mla_slice_cstr("t");
    uint8_t want[64], sig[64];
    tu_assert_ok(mla_crypto_dsse_sign(want, key, type, mla_slice_make(payload, sizeof payload)));
    long k = 0;
    for (;; k++) {
        mla_alloc_fail_after(k);
        mla_status rc =
            mla_crypto_dsse_sign(sig, key, type, mla_slice_make(payload, sizeof payload));
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        tu_assert_fail_with(rc, MLA_ENOMEM, "dsse");
        ck_assert_int_lt(k, 50);
    }
    ck_assert_int_ge(k, 1);
    ck_assert(memcmp(sig, want, 64) == 0);
    k = 0;
    for (;; k++) {
        mla_alloc_fail_after(k);
        mla_status rc = mla_crypto_dsse_verify(mla_crypto_key_public(key), type,
                                               mla_slice_make(payload, sizeof payload),
                                               mla_slice_make(sig, 64));
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        tu_assert_fail_with(rc, MLA_ENOMEM, "dsse");
        ck_assert_int_lt(k, 50);
    }
    mla_crypto_key_free(key);
}
END_TEST

START_TEST(test_alloc_failure_keyfile_leaves_no_file)
{
    char *dir = tu_tmpdir_new();
    const char *path = path_in(dir, "signer.key");
    mla_privkey *key = key_of_hex_seed(TEST1_SEED), *back;
    long k = 0;
    for (;; k++) {
        mla_alloc_fail_after(k);
        mla_status rc = mla_crypto_keyfile_write_private(path, key);
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        ck_assert_int_eq(rc, MLA_ENOMEM);
        ck_assert_int_ne(access(path, F_OK), 0); /* nothing written */
        ck_assert_int_lt(k, 50);
    }
    ck_assert_int_ge(k, 1);
    for (k = 0;; k++) {
        back = (mla_privkey *)1;
        mla_alloc_fail_after(k);
        mla_status rc = mla_crypto_keyfile_read_private(&back, path);
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        ck_assert_int_eq(rc, MLA_ENOMEM);
        ck_assert_ptr_null(back);
        ck_assert_int_lt(k, 50);
    }
    ck_assert_int_ge(k, 1);
    ck_assert(memcmp(mla_crypto_key_public(back)->b, mla_crypto_key_public(key)->b, 32) == 0);
    mla_crypto_key_free(back);
    mla_crypto_key_free(key);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *t = tcase_create("sha256");
    tcase_add_test(t, test_sha256_fips_vectors);
    tcase_add_test(t, test_sha256_vectored_and_incremental_agree_with_one_shot);
    suite_add_tcase(s, t);
    t = tcase_create("ed25519");
    /* the bit-flip tests make thousands of verifications */
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_ed25519_rfc8032_vectors);
    tcase_add_test(t, test_ed25519_rejects_every_signature_bit_flip);
    tcase_add_test(t, test_ed25519_rejects_every_message_bit_flip);
    tcase_add_test(t, test_ed25519_rejects_every_public_key_bit_flip);
    tcase_add_test(t, test_ed25519_rejects_signature_of_wrong_length);
    tcase_add_test(t, test_ed25519_rejects_s_not_below_group_order);
    tcase_add_test(t, test_ed25519_rejects_small_order_and_noncanonical_keys);
    tcase_add_test(t, test_ed25519_survives_mixed_order_and_random_keys);
    tcase_add_test(t, test_ed25519_sign_and_verify_from_several_threads);
    tcase_add_test(t, test_ed25519_generated_keys_differ_and_sign);
    suite_add_tcase(s, t);
    t = tcase_create("keyid");
    tcase_add_test(t, test_keyid_is_hex_sha256_of_public_key);
    suite_add_tcase(s, t);
    t = tcase_create("keyfile");
    tcase_add_test(t, test_keyfile_private_round_trip_is_0600_and_exact);
    tcase_add_test(t, test_keyfile_public_round_trip);
    tcase_add_test(t, test_keyfile_refuses_group_readable_private_key);
    tcase_add_test(t, test_keyfile_refuses_to_overwrite);
    tcase_add_test(t, test_keyfile_rejects_malformed_files_naming_the_field);
    tcase_add_test(t, test_keyfile_rejects_oversized_missing_and_odd_files);
    suite_add_tcase(s, t);
    t = tcase_create("dsse");
    tcase_add_test(t, test_dsse_pae_matches_spec_example);
    tcase_add_test(t, test_dsse_pae_lengths_are_byte_counts_without_leading_zeros);
    tcase_add_test(t, test_dsse_sign_verify_round_trip_and_tamper);
    tcase_add_test(t, test_ed25519_signs_longest_message_concurrently_and_refuses_longer);
    suite_add_tcase(s, t);
    t = tcase_create("alloc");
    tcase_add_test(t, test_alloc_failure_key_generate_and_from_seed);
    tcase_add_test(t, test_alloc_failure_dsse_sign);
    tcase_add_test(t, test_alloc_failure_keyfile_leaves_no_file);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(crypto_suite()); }
