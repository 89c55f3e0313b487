/* merkle_int.h: private to ledger/merkle. Subtree hashing over stored perfect
 * nodes, shared by the tree (root_at) and the proofs. */
#ifndef MLA_MERKLE_INT_H
#define MLA_MERKLE_INT_H

#include "merkle/merkle.h"

/** MTH(D[begin:end]) (RFC 6962 §2.1) of a non-empty range whose begin is a
 * multiple of the largest power of two <= end - begin, read as the right fold
 * of the perfect aligned subtrees the range decomposes into, largest first
 * (popcount(end - begin) reads). Reader errors pass upward unchanged. */
mla_status mla_merkle__range_hash(mla_hash *out, uint64_t begin, uint64_t end,
                                  mla_merkle_node_reader rd, void *ctx) MLA_MUST_USE;

/** Largest power of two strictly less than n (n >= 2): RFC 6962's k. */
static inline uint64_t mla_merkle__split(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

#endif
