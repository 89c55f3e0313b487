/* merkle_hash: the RFC 6962 §2.1 hash functions (leaf, interior node, empty
 * tree), domain-separated so a leaf can never be read as a node. */
#include "merkle/merkle.h"

#include "crypto/crypto.h"

/* RFC 6962 §2.1: "MTH({d(0)}) = SHA-256(0x00 || d(0))". */
void mla_merkle_leaf_hash(mla_hash *out, mla_slice entry)
{
    static const uint8_t prefix = 0x00;
    mla_slice parts[2] = {mla_slice_make(&prefix, 1), entry};
    mla_crypto_sha256_v(out, parts, 2);
}

/* RFC 6962 §2.1: "MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))". */
void mla_merkle_node_hash(mla_hash *out, const mla_hash *left, const mla_hash *right)
{
    static const uint8_t prefix = 0x01;
    mla_slice parts[3] = {mla_slice_make(&prefix, 1), mla_slice_make(left->b, sizeof left->b),
                          mla_slice_make(right->b, sizeof right->b)};
    mla_hash h; /* out may alias left or right: callers fold in place */
    mla_crypto_sha256_v(&h, parts, 3);
    *out = h;
}

/* RFC 6962 §2.1: "The hash of an empty list is the hash of an empty string:
 * MTH({}) = SHA-256()". */
void mla_merkle_empty_root(mla_hash *out) { mla_crypto_sha256(out, mla_slice_make(NULL, 0)); }
