/* merkle: the RFC 6962 / RFC 9162 §2.1 Merkle tree. Pure: no I/O. Stored
 * trees are reached through a node-reader callback over perfect subtrees, so
 * roots and proofs are computed without loading the tree, and appends keep
 * only the right-hand frontier (O(log n) hashes, no reads).
 * Node (level, index) is the root of the perfect subtree over leaves
 * [index << level, (index + 1) << level); level 0 nodes are leaf hashes.
 * Threads: pure functions; a frontier belongs to one thread. */
#ifndef MLA_MERKLE_H
#define MLA_MERKLE_H

#include "base/base.h"

#define MLA_MERKLE_MAX_DEPTH 64
/* RFC 9162: an inclusion proof has at most 64 nodes, a consistency proof at
 * most 64 + 1 for 64-bit sizes; we cap both at this. */
#define MLA_MERKLE_PROOF_MAX 66

/** SHA-256(0x00 || entry) */
void mla_merkle_leaf_hash(mla_hash *out, mla_slice entry);
/** SHA-256(0x01 || left || right) */
void mla_merkle_node_hash(mla_hash *out, const mla_hash *left, const mla_hash *right);
/** SHA-256("") — the root of the empty tree. */
void mla_merkle_empty_root(mla_hash *out);

/** Reads a stored perfect-subtree node. Returns MLA_OK, or the reader's error
 * (e.g. MLA_ENOTFOUND, MLA_EIO), which proof functions pass upward. */
typedef mla_status (*mla_merkle_node_reader)(void *ctx, unsigned level, uint64_t index,
                                             mla_hash *out);
/** Receives a node that became complete on append; the caller persists it.
 * A non-OK return aborts the append with that status. */
typedef mla_status (*mla_merkle_node_writer)(void *ctx, unsigned level, uint64_t index,
                                             const mla_hash *node);

/* ---- the right-hand frontier (a compact range [0, size)) ------------- */

typedef struct mla_merkle_frontier {
    uint64_t size;
    /* nodes[l] is the perfect subtree of 2^l leaves ending the range, valid
     * when bit l of size is set. */
    mla_hash nodes[MLA_MERKLE_MAX_DEPTH];
} mla_merkle_frontier;

void mla_merkle_frontier_init(mla_merkle_frontier *f);
/** Rebuild the frontier of a stored tree of `size` leaves (popcount reads).
 * Reader errors pass upward unchanged; on error f is unchanged. */
mla_status mla_merkle_frontier_load(mla_merkle_frontier *f, uint64_t size,
                                    mla_merkle_node_reader rd, void *ctx) MLA_MUST_USE;
/** Append one leaf hash: calls `wr` (if not NULL: a root over leaves held
 * in memory needs no nodes kept) for the leaf node and every node it
 * completes (level 0 first), then updates f. On error f is unchanged.
 * MLA_ELIMIT naming merkle.frontier.size when the tree holds 2^64 - 1 leaves. */
mla_status mla_merkle_frontier_append(mla_merkle_frontier *f, const mla_hash *leaf,
                                      mla_merkle_node_writer wr, void *ctx) MLA_MUST_USE;
/** Root hash of the frontier's tree (SHA-256("") when empty). */
void mla_merkle_frontier_root(const mla_merkle_frontier *f, mla_hash *out);

/* ---- proofs ----------------------------------------------------------- */

typedef struct mla_merkle_proof {
    size_t n;
    mla_hash h[MLA_MERKLE_PROOF_MAX];
} mla_merkle_proof;

/** Root of the tree of the first `size` leaves of a stored tree (which may be
 * larger). */
mla_status mla_merkle_root_at(mla_hash *out, uint64_t size, mla_merkle_node_reader rd,
                              void *ctx) MLA_MUST_USE;
/** RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in the tree of `size`.
 * MLA_EINVAL if index >= size. */
mla_status mla_merkle_inclusion_prove(mla_merkle_proof *out, uint64_t index, uint64_t size,
                                      mla_merkle_node_reader rd, void *ctx) MLA_MUST_USE;
/** RFC 9162 §2.1.4.1 consistency proof from size `m` to size `n`.
 * MLA_EINVAL unless 0 < m <= n. */
mla_status mla_merkle_consistency_prove(mla_merkle_proof *out, uint64_t m, uint64_t n,
                                        mla_merkle_node_reader rd, void *ctx) MLA_MUST_USE;

/** RFC 9162 §2.1.3.2. MLA_OK if the proof shows `leaf` at `index` in the tree
 * of `size` with `root`; MLA_EINVAL naming the problem otherwise. */
mla_status mla_merkle_inclusion_verify(const mla_hash *leaf, uint64_t index, uint64_t size,
                                       const mla_merkle_proof *proof,
                                       const mla_hash *root) MLA_MUST_USE;
/** RFC 9162 §2.1.4.2. A proof from size 0 is refused (as transparency-dev/merkle),
 * even 0 -> 0. m == n requires an empty proof and equal roots. */
mla_status mla_merkle_consistency_verify(uint64_t m, uint64_t n, const mla_hash *root_m,
                                         const mla_hash *root_n,
                                         const mla_merkle_proof *proof) MLA_MUST_USE;

/** Decode a proof from concatenated 32-byte hashes (the wire form's bytes).
 * MLA_EINVAL naming `field` if the length is not a multiple of 32 or exceeds
 * MLA_MERKLE_PROOF_MAX hashes. */
mla_status mla_merkle_proof_decode(mla_merkle_proof *out, mla_slice in,
                                   const char *field) MLA_MUST_USE;
/** Append the concatenated hashes to out. */
mla_status mla_merkle_proof_encode(mla_buf *out, const mla_merkle_proof *p) MLA_MUST_USE;

#endif
