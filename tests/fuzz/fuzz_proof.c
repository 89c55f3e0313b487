/* fuzz_proof: mla_merkle_proof_decode and both RFC 9162 verifiers on
 * fuzzer-chosen bytes. Input: flags(1) a(8) b(8) hash1(32) hash2(32) proof...
 * (short inputs are zero-padded). Must never crash; a decoded proof must
 * re-encode to its input; and proofs generated for the sizes taken from the
 * input (over a tree of identical leaves, which needs no storage) must verify,
 * while the fuzzed proof is checked against those genuine roots. */
#include <stdlib.h>
#include <string.h>

#include "merkle/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER (1 + 8 + 8 + 32 + 32)

/* Node (level, index) of a tree whose leaves all hash to the same value. */
static mla_status uniform_read(void *ctx, unsigned level, uint64_t index, mla_hash *out)
{
    (void)ctx, (void)index;
    static const uint8_t leaf = 0x5a;
    mla_merkle_leaf_hash(out, mla_slice_make(&leaf, 1));
    for (unsigned l = 0; l < level; l++) mla_merkle_node_hash(out, out, out);
    return MLA_OK;
}

static void check_genuine(uint64_t a, uint64_t b, const mla_merkle_proof *fuzzed)
{
    if (b == 0) return;
    uint64_t index = a % b, m = 1 + a % b;
    mla_hash leaf, root_b, root_m;
    mla_merkle_proof p;
    if (uniform_read(NULL, 0, index, &leaf) != MLA_OK) abort();
    if (mla_merkle_root_at(&root_b, b, uniform_read, NULL) != MLA_OK) abort();
    if (mla_merkle_root_at(&root_m, m, uniform_read, NULL) != MLA_OK) abort();
    if (mla_merkle_inclusion_prove(&p, index, b, uniform_read, NULL) != MLA_OK) abort();
    if (mla_merkle_inclusion_verify(&leaf, index, b, &p, &root_b) != MLA_OK) abort();
    if (mla_merkle_consistency_prove(&p, m, b, uniform_read, NULL) != MLA_OK) abort();
    if (mla_merkle_consistency_verify(m, b, &root_m, &root_b, &p) != MLA_OK) abort();
    /* The fuzzed proof against genuine roots: any answer, no crash. */
    mla_ignore(mla_merkle_inclusion_verify(&leaf, index, b, fuzzed, &root_b));
    mla_ignore(mla_merkle_consistency_verify(m, b, &root_m, &root_b, fuzzed));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t head[HEADER];
    memset(head, 0, sizeof head);
    memcpy(head, data, size < HEADER ? size : HEADER);
    mla_slice rest =
        size > HEADER ? mla_slice_make(data + HEADER, size - HEADER) : mla_slice_make(NULL, 0);
    uint8_t flags = head[0];
    uint64_t a = mla_get_be64(head + 1), b = mla_get_be64(head + 9);
    mla_hash h1, h2;
    memcpy(h1.b, head + 17, 32);
    memcpy(h2.b, head + 49, 32);
    if (flags & 2) a %= 4096, b %= 4096; /* small sizes, where proofs are dense */

    mla_merkle_proof proof;
    if (mla_merkle_proof_decode(&proof, rest, "fuzz.proof") != MLA_OK) {
        if (proof.n != 0) abort(); /* a failed decode hands back nothing */
        return 0;
    }
    mla_buf enc;
    mla_buf_init(&enc, 1u << 16);
    if (mla_merkle_proof_encode(&enc, &proof) != MLA_OK) abort();
    if (!mla_slice_eq(mla_buf_slice(&enc), rest)) abort();
    mla_buf_dispose(&enc);

    /* Whatever the verdict, the verifiers must not crash. */
    mla_ignore(mla_merkle_inclusion_verify(&h1, a, b, &proof, &h2));
    mla_ignore(mla_merkle_consistency_verify(a, b, &h1, &h2, &proof));
    if (flags & 1) check_genuine(a, b, &proof);
    return 0;
}
