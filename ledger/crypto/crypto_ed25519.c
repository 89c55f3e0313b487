/* crypto_ed25519: Ed25519 keys, signing and verification (RFC 8032, pure
 * Ed25519) through libgcrypt S-expressions. The 32-byte seed lives in
 * libgcrypt secure memory; the public key is derived once and cached.
 * Verification dominates append throughput, so it does the minimum per call:
 * two byte-level screens, three gcry_sexp_build calls, one gcry_pk_verify. */
#include "crypto/crypto_int.h"

#include <limits.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define MLA_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MLA_LSAN 1
#endif
#endif
#ifdef MLA_LSAN
#include <sanitizer/lsan_interface.h>
#endif

struct mla_privkey {
    uint8_t *seed; /* MLA_ED25519_SEED_LEN bytes of gcry_malloc_secure memory */
    mla_pubkey pub;
};

/* The group order L = 2^252 + 27742317777372353535851937790883648493,
 * little-endian as Ed25519 encodes scalars (RFC 8032 §5.1). */
static const uint8_t group_order_le[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* The field prime p = 2^255 - 19, little-endian. */
static const uint8_t field_prime_le[32] = {
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};

/* The y coordinates (sign bit cleared) of the eight points of small order:
 * y = 0, 1, p-1 and the two y of the order-8 points. A public key there can
 * be "signed for" without any secret, and libgcrypt 1.10.1 aborts the whole
 * process ("mulm_25519: different sizes") verifying against y = 0, 1 or
 * p-1, so they are refused before libgcrypt sees them. */
static const uint8_t small_order_y[5][32] = {
    {0},
    {1},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
};

/* a < b for 32-byte little-endian integers. Inputs are public (signature,
 * public key), so an early exit leaks nothing. */
static bool le_less(const uint8_t a[32], const uint8_t b[32])
{
    for (size_t i = 32; i-- > 0;) {
        if (a[i] != b[i]) return a[i] < b[i];
    }
    return false;
}

static mla_status check_public(const mla_pubkey *pub)
{
    uint8_t y[32];
    memcpy(y, pub->b, sizeof y);
    y[31] &= 0x7f; /* bit 255 is the sign of x */
    /* RFC 8032 §5.1.3: "If the resulting value is >= p, decoding fails." */
    if (!le_less(y, field_prime_le))
        return mla_err(MLA_EINVAL, "public key: non-canonical encoding (y >= 2^255-19)");
    for (size_t i = 0; i < sizeof small_order_y / sizeof small_order_y[0]; i++) {
        if (memcmp(y, small_order_y[i], sizeof y) == 0)
            return mla_err(MLA_EINVAL, "public key: point of small order");
    }
    return MLA_OK;
}

static mla_status gcry_status(gcry_error_t e, const char *what)
{
    if (gcry_err_code(e) == GPG_ERR_ENOMEM)
        return mla_err(MLA_ENOMEM, "%s: out of memory in libgcrypt", what);
    return mla_err(MLA_EIO, "%s: libgcrypt: %s", what, gcry_strerror(e));
}

/* Writes the 32-byte big-endian form of a non-negative MPI below 2^256. */
static mla_status mpi_be32(uint8_t out[32], gcry_mpi_t m)
{
    size_t n = 0;
    if (gcry_mpi_print(GCRYMPI_FMT_USG, NULL, 0, &n, m) || n > 32)
        return mla_err(MLA_EIO, "key: libgcrypt returned a %zu-byte coordinate", n);
    memset(out, 0, 32);
    if (n && gcry_mpi_print(GCRYMPI_FMT_USG, out + 32 - n, n, NULL, m))
        return mla_err(MLA_EIO, "key: libgcrypt could not print a coordinate");
    return MLA_OK;
}

/* RFC 8032 §5.1.5: hash the seed with SHA-512, prune the low half into the
 * scalar s (clear the lowest three bits and the highest bit, set the second
 * highest), A = [s]B, encode A. Done with libgcrypt's EC primitives so every
 * copy of secret material (digest, scalar) is in secure memory and wiped:
 * asking a gcry_mpi_ec_new context for "q@eddsa" would also work, but the
 * context keeps d in ordinary heap memory that is freed unwiped. */
static mla_status derive_public(mla_pubkey *out, const uint8_t *seed)
{
    gcry_md_hd_t md = NULL;
    gcry_ctx_t ctx = NULL;
    gcry_mpi_t scalar = NULL, x = NULL, y = NULL;
    gcry_mpi_point_t base = NULL, point = NULL;
    uint8_t *be = NULL; /* the scalar big-endian, in secure memory */
    uint8_t enc[32];
    mla_status rc = MLA_OK;
    gcry_error_t e = gcry_md_open(&md, GCRY_MD_SHA512, GCRY_MD_FLAG_SECURE);
    if (e) {
        rc = gcry_status(e, "key");
        goto out;
    }
    gcry_md_write(md, seed, MLA_ED25519_SEED_LEN);
    const uint8_t *h = gcry_md_read(md, GCRY_MD_SHA512);
    if (!(be = gcry_malloc_secure(32))) {
        rc = mla_err(MLA_ENOMEM, "key: libgcrypt secure memory exhausted");
        goto out;
    }
    for (size_t i = 0; i < 32; i++) be[i] = h[31 - i]; /* little- to big-endian */
    be[31] &= 0xf8;
    be[0] &= 0x7f;
    be[0] |= 0x40;
    /* A secure buffer gives a secure MPI, and a secure scalar takes
     * libgcrypt's constant-time multiplication. */
    if ((e = gcry_mpi_scan(&scalar, GCRYMPI_FMT_USG, be, 32, NULL)) != 0 ||
        (e = gcry_mpi_ec_new(&ctx, NULL, "Ed25519")) != 0) {
        rc = gcry_status(e, "key");
        goto out;
    }
    base = gcry_mpi_ec_get_point("g", ctx, 1);
    point = gcry_mpi_point_new(0);
    x = gcry_mpi_new(0);
    y = gcry_mpi_new(0);
    if (!base || !point || !x || !y) {
        rc = mla_err(MLA_ENOMEM, "key: out of memory in libgcrypt");
        goto out;
    }
    gcry_mpi_ec_mul(point, scalar, base, ctx);
    if (gcry_mpi_ec_get_affine(x, y, point, ctx)) {
        rc = mla_err(MLA_EIO, "key: public point at infinity");
        goto out;
    }
    /* RFC 8032 §5.1.2: y little-endian, the low bit of x in bit 255. */
    if ((rc = mpi_be32(enc, y)) != MLA_OK) goto out;
    for (size_t i = 0; i < 32; i++) out->b[i] = enc[31 - i];
    if (gcry_mpi_test_bit(x, 0)) out->b[31] |= 0x80;
out:
    if (be) {
        mla_wipe(be, 32);
        gcry_free(be);
    }
    gcry_mpi_release(y);
    gcry_mpi_release(x);
    gcry_mpi_point_release(point);
    gcry_mpi_point_release(base);
    gcry_ctx_release(ctx);
    gcry_mpi_release(scalar); /* secure: wiped on free */
    gcry_md_close(md); /* secure: wiped on close */
    return rc;
}

/* Takes a seed already in secure memory; frees it on failure. */
static mla_status key_new(mla_privkey **out, uint8_t *seed)
{
    mla_privkey *k = mla_calloc(1, sizeof *k);
    if (!k) {
        gcry_free(seed); /* secure memory is wiped on free */
        return mla_err(MLA_ENOMEM, "key: out of memory");
    }
    k->seed = seed;
    mla_status rc = derive_public(&k->pub, k->seed);
    if (rc != MLA_OK) {
        mla_crypto_key_free(k);
        return rc;
    }
    *out = k;
    return MLA_OK;
}

static mla_status seed_alloc(uint8_t **out)
{
    *out = gcry_malloc_secure(MLA_ED25519_SEED_LEN);
    if (!*out) return mla_err(MLA_ENOMEM, "key: libgcrypt secure memory exhausted");
    return MLA_OK;
}

mla_status mla_crypto_key_generate(mla_privkey **out)
{
    *out = NULL;
    MLA_TRY(mla_crypto_init());
    uint8_t *seed;
    MLA_TRY(seed_alloc(&seed));
    /* A signing key is long-lived: the strongest level libgcrypt offers.
     * Its first use makes libgcrypt's jitter entropy collector allocate a
     * 128 KiB buffer it keeps for the life of the process, referenced only
     * from secure memory, which LeakSanitizer does not scan; it would report
     * that one-off allocation as a leak, so LSan ignores what is allocated
     * during this call alone. */
#ifdef MLA_LSAN
    __lsan_disable();
#endif
    gcry_randomize(seed, MLA_ED25519_SEED_LEN, GCRY_VERY_STRONG_RANDOM);
#ifdef MLA_LSAN
    __lsan_enable();
#endif
    return key_new(out, seed);
}

mla_status mla_crypto_key_from_seed(mla_privkey **out, const uint8_t seed[MLA_ED25519_SEED_LEN])
{
    *out = NULL;
    MLA_TRY(mla_crypto_init());
    uint8_t *s;
    MLA_TRY(seed_alloc(&s));
    memcpy(s, seed, MLA_ED25519_SEED_LEN);
    return key_new(out, s);
}

void mla_crypto_key_free(mla_privkey *k)
{
    if (!k) return;
    if (k->seed) {
        mla_wipe(k->seed, MLA_ED25519_SEED_LEN);
        gcry_free(k->seed);
    }
    mla_free(k);
}

const mla_pubkey *mla_crypto_key_public(const mla_privkey *k) { return &k->pub; }

const uint8_t *mla_crypto__key_seed(const mla_privkey *k) { return k->seed; }

/* Copy r or s (one 32-byte token) out of a sig-val S-expression. */
static mla_status sig_part(uint8_t out[32], gcry_sexp_t sig, const char *token)
{
    gcry_sexp_t part = gcry_sexp_find_token(sig, token, 0);
    size_t n = 0;
    const char *p = part ? gcry_sexp_nth_data(part, 1, &n) : NULL;
    mla_status rc = MLA_OK;
    if (!p || n != 32)
        rc = mla_err(MLA_EIO, "signature: libgcrypt returned a %zu-byte %s, want 32", n, token);
    else
        memcpy(out, p, 32);
    gcry_sexp_release(part);
    return rc;
}

static mla_status check_msg_len(mla_slice msg)
{
    /* libgcrypt stores the message as one S-expression token with a 16-bit
     * length (sexp.c DATALEN) and aborts the process on anything longer. */
    if (msg.len > MLA_CRYPTO_MESSAGE_MAX)
        return mla_err(MLA_EINVAL, "message: %zu bytes exceeds limit %d", msg.len,
                       MLA_CRYPTO_MESSAGE_MAX);
    return MLA_OK;
}

mla_status mla_crypto_sign(uint8_t sig_out[MLA_ED25519_SIG_LEN], const mla_privkey *k,
                           mla_slice msg)
{
    MLA_TRY(check_msg_len(msg));
    mla_crypto__require_init();
    gcry_sexp_t key = NULL, data = NULL, sig = NULL;
    mla_status rc = MLA_OK;
    /* Giving q spares libgcrypt a scalar multiplication per signature. */
    gcry_error_t e =
        gcry_sexp_build(&key, NULL, "(private-key(ecc(curve Ed25519)(flags eddsa)(q %b)(d %b)))",
                        MLA_ED25519_PUB_LEN, k->pub.b, MLA_ED25519_SEED_LEN, k->seed);
    if (!e)
        e = gcry_sexp_build(&data, NULL, "(data(flags eddsa)(hash-algo sha512)(value %b))",
                            (int)msg.len, msg.len ? msg.ptr : (const uint8_t *)"");
    if (!e) e = gcry_pk_sign(&sig, data, key);
    if (e) {
        rc = gcry_status(e, "signature");
        goto out;
    }
    if ((rc = sig_part(sig_out, sig, "r")) != MLA_OK) goto out;
    rc = sig_part(sig_out + 32, sig, "s");
out:
    gcry_sexp_release(sig);
    gcry_sexp_release(data);
    gcry_sexp_release(key);
    return rc;
}

mla_status mla_crypto_verify(const mla_pubkey *pub, mla_slice msg, mla_slice sig)
{
    if (sig.len != MLA_ED25519_SIG_LEN)
        return mla_err(MLA_EINVAL, "signature: %zu bytes, want %d", sig.len, MLA_ED25519_SIG_LEN);
    MLA_TRY(check_msg_len(msg));
    MLA_TRY(check_public(pub));
    /* RFC 8032 §5.1.7: "If any of the decodings fail (including S being out
     * of range), the signature is invalid." libgcrypt 1.10.1 accepts S + L,
     * which would make every signature malleable. */
    if (!le_less(sig.ptr + 32, group_order_le))
        return mla_err(MLA_EDENIED, "signature: does not verify (S is not below the group order)");
    mla_crypto__require_init();

    gcry_sexp_t key = NULL, data = NULL, sv = NULL;
    mla_status rc = MLA_OK;
    gcry_error_t e =
        gcry_sexp_build(&key, NULL, "(public-key(ecc(curve Ed25519)(flags eddsa)(q %b)))",
                        MLA_ED25519_PUB_LEN, pub->b);
    if (!e)
        e = gcry_sexp_build(&sv, NULL, "(sig-val(eddsa(r %b)(s %b)))", 32, sig.ptr, 32,
                            sig.ptr + 32);
    if (!e)
        e = gcry_sexp_build(&data, NULL, "(data(flags eddsa)(hash-algo sha512)(value %b))",
                            (int)msg.len, msg.len ? msg.ptr : (const uint8_t *)"");
    if (e) {
        rc = gcry_status(e, "signature");
        goto out;
    }
    e = gcry_pk_verify(sv, data, key);
    switch (gcry_err_code(e)) {
    case GPG_ERR_NO_ERROR: break;
    case GPG_ERR_BAD_SIGNATURE: rc = mla_err(MLA_EDENIED, "signature: does not verify"); break;
    case GPG_ERR_ENOMEM: rc = gcry_status(e, "signature"); break;
    default:
        /* GPG_ERR_BROKEN_PUBKEY and friends: the key is not on the curve. */
        rc = mla_err(MLA_EINVAL, "public key: not a valid Ed25519 point (%s)", gcry_strerror(e));
        break;
    }
out:
    gcry_sexp_release(data);
    gcry_sexp_release(sv);
    gcry_sexp_release(key);
    return rc;
}

void mla_crypto_keyid_hash(mla_hash *out, const mla_pubkey *pub)
{
    /* SPEC §3: keyid = lowercase hex SHA-256 of the raw 32-byte public key. */
    mla_crypto_sha256(out, mla_slice_make(pub->b, sizeof pub->b));
}

void mla_crypto_keyid(char out[MLA_KEYID_HEX_LEN + 1], const mla_pubkey *pub)
{
    mla_hash h;
    mla_crypto_keyid_hash(&h, pub);
    mla_hex_encode_to(out, h.b, sizeof h.b);
}
