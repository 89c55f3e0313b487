/* merkle_tree: the right-hand frontier of an append-only tree (a compact
 * range [0, size)), and roots of past sizes read from stored perfect nodes.
 * Appends hash O(log n) times and never read; the writer persists each
 * perfect subtree as it completes, which is all root_at and proofs need. */
#include <string.h>

#include "merkle/merkle_int.h"

void mla_merkle_frontier_init(mla_merkle_frontier *f) { memset(f, 0, sizeof *f); }

/* The perfect subtree of 2^level leaves that ends a range of `size` leaves
 * when bit `level` of size is set: index (size >> level) - 1. */
static uint64_t frontier_index(uint64_t size, unsigned level) { return (size >> level) - 1; }

mla_status mla_merkle_frontier_load(mla_merkle_frontier *f, uint64_t size,
                                    mla_merkle_node_reader rd, void *ctx)
{
    mla_merkle_frontier next;
    mla_merkle_frontier_init(&next);
    for (unsigned l = 0; l < MLA_MERKLE_MAX_DEPTH; l++) {
        if (!(size >> l & 1)) continue;
        MLA_TRY(rd(ctx, l, frontier_index(size, l), &next.nodes[l]));
    }
    next.size = size;
    *f = next; /* only now: a failed read leaves f as it was */
    return MLA_OK;
}

mla_status mla_merkle_frontier_append(mla_merkle_frontier *f, const mla_hash *leaf,
                                      mla_merkle_node_writer wr, void *ctx)
{
    uint64_t size = f->size;
    if (size == UINT64_MAX)
        return mla_err(MLA_ELIMIT, "merkle.frontier.size: tree is full (%llu leaves)",
                       (unsigned long long)size);
    /* The new leaf is node (0, size). Each set low bit of size is a perfect
     * sibling on its left at the same level: merge them carry-wise, like
     * incrementing a binary counter, writing every subtree completed. */
    mla_hash h = *leaf;
    if (wr) MLA_TRY(wr(ctx, 0, size, &h));
    unsigned l = 0;
    while (size >> l & 1) {
        mla_merkle_node_hash(&h, &f->nodes[l], &h);
        l++;
        if (wr) MLA_TRY(wr(ctx, l, size >> l, &h));
    }
    /* Every write succeeded: commit. Levels below l are now clear in size + 1
     * and their stale nodes are ignored (validity is by bit). */
    f->nodes[l] = h;
    f->size = size + 1;
    return MLA_OK;
}

void mla_merkle_frontier_root(const mla_merkle_frontier *f, mla_hash *out)
{
    if (f->size == 0) {
        mla_merkle_empty_root(out);
        return;
    }
    /* RFC 6962 §2.1 splits at the largest power of two below n, so the root
     * is the right fold of the frontier's subtrees: smallest first, each
     * larger one hashed in on the left. */
    unsigned l = (unsigned)__builtin_ctzll(f->size);
    mla_hash acc = f->nodes[l];
    for (l++; l < MLA_MERKLE_MAX_DEPTH; l++)
        if (f->size >> l & 1) mla_merkle_node_hash(&acc, &f->nodes[l], &acc);
    *out = acc;
}

mla_status mla_merkle__range_hash(mla_hash *out, uint64_t begin, uint64_t end,
                                  mla_merkle_node_reader rd, void *ctx)
{
    MLA_ASSERT(begin < end);
    uint64_t count = end - begin;
    unsigned top = 63u - (unsigned)__builtin_clzll(count);
    /* Aligned to the largest piece, the range is a sequence of perfect
     * aligned subtrees of decreasing size; fold them from the right. */
    MLA_ASSERT((begin & (((uint64_t)1 << top) - 1)) == 0);
    unsigned l = (unsigned)__builtin_ctzll(count);
    mla_hash acc, node;
    MLA_TRY(rd(ctx, l, (end >> l) - 1, &acc));
    uint64_t right = end - ((uint64_t)1 << l); /* start of the pieces folded so far */
    for (l++; l <= top; l++) {
        if (!(count >> l & 1)) continue;
        MLA_TRY(rd(ctx, l, (right >> l) - 1, &node));
        mla_merkle_node_hash(&acc, &node, &acc);
        right -= (uint64_t)1 << l;
    }
    MLA_ASSERT(right == begin);
    *out = acc;
    return MLA_OK;
}

mla_status mla_merkle_root_at(mla_hash *out, uint64_t size, mla_merkle_node_reader rd, void *ctx)
{
    if (size == 0) {
        mla_merkle_empty_root(out);
        return MLA_OK;
    }
    return mla_merkle__range_hash(out, 0, size, rd, ctx);
}
