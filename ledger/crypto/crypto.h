/* crypto: SHA-256, Ed25519 on raw 32-byte keys, key files, DSSE envelopes.
 * The only module that calls gcry_*. Call mla_crypto_init() once before use
 * (idempotent, thread-safe). Every function may be called from any thread. */
#ifndef MLA_CRYPTO_H
#define MLA_CRYPTO_H

#include "base/base.h"

#define MLA_ED25519_PUB_LEN 32
#define MLA_ED25519_SEED_LEN 32
#define MLA_ED25519_SIG_LEN 64
#define MLA_KEYID_HEX_LEN 64
/* Longest message Ed25519 signs or verifies here. libgcrypt 1.10 keeps it in
 * an S-expression with 16-bit lengths: near 65,450 bytes it fails, a little
 * further it aborts the whole process (sexp.c "Ohhhh jeeee"). 0xff00 leaves a
 * margin for the S-expression's own framing. */
#define MLA_CRYPTO_MESSAGE_MAX 65280

/** Initialise libgcrypt once: version check, secure memory for private keys.
 * MLA_EIO if the library is too old or cannot initialise. */
mla_status mla_crypto_init(void) MLA_MUST_USE;

/* ---- SHA-256 --------------------------------------------------------- */

void mla_crypto_sha256(mla_hash *out, mla_slice in);
/** SHA-256 of the concatenation of n parts, without copying them (for
 * Merkle leaf and node hashing: 0x00 || entry, 0x01 || left || right). */
void mla_crypto_sha256_v(mla_hash *out, const mla_slice *parts, size_t n);

typedef struct mla_sha256 mla_sha256; /* incremental hasher, opaque */
mla_status mla_crypto_sha256_new(mla_sha256 **out) MLA_MUST_USE;
void mla_crypto_sha256_update(mla_sha256 *h, mla_slice in);
/** Write the digest and reset the hasher for reuse. */
void mla_crypto_sha256_final(mla_sha256 *h, mla_hash *out);
void mla_crypto_sha256_free(mla_sha256 *h);

/* ---- Ed25519 --------------------------------------------------------- */

typedef struct mla_pubkey {
    uint8_t b[MLA_ED25519_PUB_LEN];
} mla_pubkey;

typedef struct mla_privkey mla_privkey; /* seed in secure memory, opaque */

/** A new random key. */
mla_status mla_crypto_key_generate(mla_privkey **out) MLA_MUST_USE;
/** The key for a 32-byte RFC 8032 seed ("private key" in the RFC vectors). */
mla_status mla_crypto_key_from_seed(mla_privkey **out,
                                    const uint8_t seed[MLA_ED25519_SEED_LEN]) MLA_MUST_USE;
/** Wipes and frees; NULL is a no-op. */
void mla_crypto_key_free(mla_privkey *k);
/** The public half; borrowed, valid until the key is freed. */
const mla_pubkey *mla_crypto_key_public(const mla_privkey *k);

/** Ed25519 (RFC 8032, pure) signature over msg. */
mla_status mla_crypto_sign(uint8_t sig_out[MLA_ED25519_SIG_LEN], const mla_privkey *k,
                           mla_slice msg) MLA_MUST_USE;
/** MLA_OK if sig is a valid signature of msg by pub; MLA_EDENIED (message
 * "signature: does not verify") if not, including an S not below the group
 * order (RFC 8032 §5.1.7: no malleable signatures); MLA_EINVAL naming
 * "signature" if sig is not 64 bytes, naming "public key" if pub is not a
 * point, not canonically encoded (y >= p) or of small order (such keys are
 * refused up front: libgcrypt 1.10.1 aborts the process on some of them). */
mla_status mla_crypto_verify(const mla_pubkey *pub, mla_slice msg, mla_slice sig) MLA_MUST_USE;

/** keyid = lowercase hex SHA-256 of the raw public key (SPEC §3), NUL-ended. */
void mla_crypto_keyid(char out[MLA_KEYID_HEX_LEN + 1], const mla_pubkey *pub);
/** The keyid as bytes (the SHA-256 itself). */
void mla_crypto_keyid_hash(mla_hash *out, const mla_pubkey *pub);

/* ---- key files --------------------------------------------------------
 * Strict text format, documented in crypto_keyfile.c; every line LF-ended,
 * in this order and nothing else, at most 4 KiB:
 *   mlaudit-private-key-v1   (or mlaudit-public-key-v1)
 *   algorithm: ed25519
 *   public: <base64 of the 32-byte public key>
 *   seed: <base64 of the 32-byte RFC 8032 private key>   (private files only)
 * Writers never overwrite (MLA_EEXISTS naming the path); private files are
 * created 0600, public ones 0644, both fsync'd with their directory. Readers
 * name the path, line and field of any fault (MLA_EINVAL); a missing file is
 * MLA_ENOTFOUND. read_private refuses a file with any group/other permission
 * bit (MLA_EDENIED naming the mode and "chmod 600 PATH") and a public line
 * that is not the seed's key (MLA_EINVAL). */
mla_status mla_crypto_keyfile_write_private(const char *path, const mla_privkey *k) MLA_MUST_USE;
mla_status mla_crypto_keyfile_write_public(const char *path, const mla_pubkey *pub) MLA_MUST_USE;
mla_status mla_crypto_keyfile_read_private(mla_privkey **out, const char *path) MLA_MUST_USE;
/** Reads a public key file, or the public line of a private key file (any
 * mode; the whole file must still be well-formed). */
mla_status mla_crypto_keyfile_read_public(mla_pubkey *out, const char *path) MLA_MUST_USE;

/* ---- DSSE (in-toto / Sigstore signing envelope) ----------------------- */

/** PAE = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload, appended. */
mla_status mla_crypto_dsse_pae(mla_buf *out, mla_slice payload_type,
                               mla_slice payload) MLA_MUST_USE;
/** Sign PAE(type, payload) with k. */
mla_status mla_crypto_dsse_sign(uint8_t sig_out[MLA_ED25519_SIG_LEN], const mla_privkey *k,
                                mla_slice payload_type, mla_slice payload) MLA_MUST_USE;
/** Verify one DSSE signature by pub; statuses as mla_crypto_verify. */
mla_status mla_crypto_dsse_verify(const mla_pubkey *pub, mla_slice payload_type, mla_slice payload,
                                  mla_slice sig) MLA_MUST_USE;

#endif
