/* merkle_proof: inclusion and consistency proofs. Generated per RFC 9162
 * §2.1.3.1 / §2.1.4.1 from stored perfect nodes only (O(log n) reads),
 * verified exactly per RFC 9162 §2.1.3.2 / §2.1.4.2, and their wire form
 * (concatenated 32-byte hashes). */
#include <string.h>

#include "merkle/merkle_int.h"

#define HASH_LEN 32

typedef struct range {
    uint64_t begin, end;
} range;

/* Emit MTH of each sibling range, deepest first: the RFC's recursions append
 * the sibling after the recursive part, so the path is the reverse of the
 * top-down walk. */
static mla_status emit_siblings(mla_merkle_proof *out, const range *sib, size_t n_sib,
                                mla_merkle_node_reader rd, void *ctx)
{
    for (size_t i = 0; i < n_sib; i++) {
        const range *s = &sib[n_sib - 1 - i];
        MLA_ASSERT(out->n < MLA_MERKLE_PROOF_MAX);
        MLA_TRY(mla_merkle__range_hash(&out->h[out->n], s->begin, s->end, rd, ctx));
        out->n++;
    }
    return MLA_OK;
}

mla_status mla_merkle_inclusion_prove(mla_merkle_proof *out, uint64_t index, uint64_t size,
                                      mla_merkle_node_reader rd, void *ctx)
{
    out->n = 0;
    if (index >= size)
        return mla_err(MLA_EINVAL, "inclusion.index: %llu >= tree size %llu",
                       (unsigned long long)index, (unsigned long long)size);
    /* RFC 9162 §2.1.3.1:
     *   PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])   for m < k
     *   PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k]) for m >= k
     * with k the largest power of two smaller than n, and PATH(0, {d(0)}) = {}.
     * Every left sibling is perfect; a right sibling may be a partial range,
     * but only once (below it the range is perfect), so reads stay O(log n). */
    range sib[MLA_MERKLE_MAX_DEPTH];
    size_t n_sib = 0;
    uint64_t b = 0, e = size;
    while (e - b > 1) {
        uint64_t k = mla_merkle__split(e - b);
        MLA_ASSERT(n_sib < MLA_MERKLE_MAX_DEPTH);
        if (index - b < k) {
            sib[n_sib++] = (range){b + k, e};
            e = b + k;
        } else {
            sib[n_sib++] = (range){b, b + k};
            b += k;
        }
    }
    mla_status rc = emit_siblings(out, sib, n_sib, rd, ctx);
    if (rc != MLA_OK) out->n = 0;
    return rc;
}

mla_status mla_merkle_consistency_prove(mla_merkle_proof *out, uint64_t m, uint64_t n,
                                        mla_merkle_node_reader rd, void *ctx)
{
    out->n = 0;
    if (m == 0) return mla_err(MLA_EINVAL, "consistency: from size 0");
    if (m > n)
        return mla_err(MLA_EINVAL, "consistency: from size %llu > to size %llu",
                       (unsigned long long)m, (unsigned long long)n);
    if (m == n) return MLA_OK; /* RFC 9162 §2.1.4.1: SUBPROOF(m, D[m], true) = {} */
    /* RFC 9162 §2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true), where
     *   SUBPROOF(m, D[m], true) = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])},
     *   SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) for m <= k,
     *   SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) for m > k. */
    range sib[MLA_MERKLE_MAX_DEPTH];
    size_t n_sib = 0;
    uint64_t b = 0, e = n, mm = m;
    bool whole = true;
    while (mm != e - b) {
        uint64_t k = mla_merkle__split(e - b);
        MLA_ASSERT(n_sib < MLA_MERKLE_MAX_DEPTH);
        if (mm <= k) {
            sib[n_sib++] = (range){b + k, e};
            e = b + k;
        } else {
            sib[n_sib++] = (range){b, b + k};
            b += k;
            mm -= k;
            whole = false;
        }
    }
    /* The walk stops on a perfect subtree [b, e) (entered through m <= k with
     * e - b = k, or b aligned to it), the old tree's last full piece. */
    mla_status rc = MLA_OK;
    if (!whole) {
        rc = mla_merkle__range_hash(&out->h[0], b, e, rd, ctx);
        if (rc == MLA_OK) out->n = 1;
    }
    if (rc == MLA_OK) rc = emit_siblings(out, sib, n_sib, rd, ctx);
    if (rc != MLA_OK) out->n = 0;
    return rc;
}

/* The steps of the RFC 9162 §2.1.3.2 / §2.1.4.2 loops, without hashing:
 * how many more proof hashes (fn, sn) consume before sn reaches 0. Used only
 * to say in an error how long the proof should have been. */
static size_t steps_left(uint64_t fn, uint64_t sn)
{
    size_t steps = 0;
    while (sn != 0) {
        if ((fn & 1) || fn == sn) {
            while (!(fn & 1) && fn != 0) fn >>= 1, sn >>= 1;
        }
        fn >>= 1, sn >>= 1;
        steps++;
    }
    return steps;
}

static mla_status check_count(const mla_merkle_proof *proof, const char *field)
{
    if (proof->n > MLA_MERKLE_PROOF_MAX)
        return mla_err(MLA_EINVAL, "%s: %zu hashes exceeds limit %d", field, proof->n,
                       MLA_MERKLE_PROOF_MAX);
    return MLA_OK;
}

mla_status mla_merkle_inclusion_verify(const mla_hash *leaf, uint64_t index, uint64_t size,
                                       const mla_merkle_proof *proof, const mla_hash *root)
{
    MLA_TRY(check_count(proof, "inclusion.proof"));
    /* 1. "If leaf_index is greater than or equal to tree_size, then fail the
     *    proof verification." */
    if (index >= size)
        return mla_err(MLA_EINVAL, "inclusion.index: %llu >= tree size %llu",
                       (unsigned long long)index, (unsigned long long)size);
    /* 2. "Set fn to leaf_index and sn to tree_size - 1."  3. "Set r to hash." */
    uint64_t fn = index, sn = size - 1;
    mla_hash r = *leaf;
    /* 4. "For each value p in the inclusion_path array:" */
    for (size_t i = 0; i < proof->n; i++) {
        const mla_hash *p = &proof->h[i];
        /* a. "If sn is 0, then stop the iteration and fail the proof verification." */
        if (sn == 0)
            return mla_err(MLA_EINVAL, "inclusion.proof: %zu hashes, want %zu", proof->n, i);
        /* b. "If LSB(fn) is set, or if fn is equal to sn, then: 1. Set r to
         *    HASH(0x01 || p || r). 2. If LSB(fn) is not set, then right-shift
         *    both fn and sn equally until either LSB(fn) is set or fn is 0.
         *    Otherwise: 1. Set r to HASH(0x01 || r || p)." */
        if ((fn & 1) || fn == sn) {
            mla_merkle_node_hash(&r, p, &r);
            while (!(fn & 1) && fn != 0) fn >>= 1, sn >>= 1;
        } else {
            mla_merkle_node_hash(&r, &r, p);
        }
        /* c. "Finally, right-shift both fn and sn one time." */
        fn >>= 1, sn >>= 1;
    }
    /* 5. "Compare sn to 0. Compare r against the root_hash. If sn is equal to
     *    0 and r and the root_hash are equal, then the log has proven the
     *    inclusion of hash. Otherwise, fail the proof verification." */
    if (sn != 0)
        return mla_err(MLA_EINVAL, "inclusion.proof: %zu hashes, want %zu", proof->n,
                       proof->n + steps_left(fn, sn));
    if (!mla_hash_eq(&r, root))
        return mla_err(MLA_EINVAL, "inclusion: computed root does not match the tree root");
    return MLA_OK;
}

mla_status mla_merkle_consistency_verify(uint64_t m, uint64_t n, const mla_hash *root_m,
                                         const mla_hash *root_n, const mla_merkle_proof *proof)
{
    MLA_TRY(check_count(proof, "consistency.proof"));
    /* SPEC §3 and transparency-dev/merkle: a proof from the empty tree proves
     * nothing, so it is refused rather than vacuously accepted. */
    if (m == 0) return mla_err(MLA_EINVAL, "consistency: from size 0");
    if (m > n)
        return mla_err(MLA_EINVAL, "consistency: from size %llu > to size %llu",
                       (unsigned long long)m, (unsigned long long)n);
    if (m == n) {
        /* RFC 9162 §2.1.4.1: the proof between equal sizes is empty; the
         * trees are consistent only if their roots are the same. */
        if (proof->n != 0)
            return mla_err(MLA_EINVAL, "consistency.proof: %zu hashes for equal sizes, want 0",
                           proof->n);
        if (!mla_hash_eq(root_m, root_n))
            return mla_err(MLA_EINVAL, "consistency: roots differ for equal sizes %llu",
                           (unsigned long long)m);
        return MLA_OK;
    }
    /* 1. "If consistency_path is an empty array, stop and fail the proof
     *    verification." */
    if (proof->n == 0) return mla_err(MLA_EINVAL, "consistency.proof: empty");
    /* 2. "If first is an exact power of 2, then prepend first_hash to the
     *    consistency_path array." Read through path() rather than copied. */
    bool prepend = (m & (m - 1)) == 0;
    size_t len = proof->n + (prepend ? 1 : 0);
#define PATH(i) (prepend ? ((i) == 0 ? root_m : &proof->h[(i)-1]) : &proof->h[(i)])
    /* 3. "Set fn to first - 1 and sn to second - 1." */
    uint64_t fn = m - 1, sn = n - 1;
    /* 4. "If LSB(fn) is set, then right-shift both fn and sn equally until
     *    LSB(fn) is not set." */
    while (fn & 1) fn >>= 1, sn >>= 1;
    /* 5. "Set both fr and sr to the first value in the consistency_path array." */
    mla_hash fr = *PATH(0), sr = fr;
    /* 6. "For each subsequent value c in the consistency_path array:" */
    for (size_t i = 1; i < len; i++) {
        const mla_hash *c = PATH(i);
        /* a. "If sn is 0, then stop the iteration and fail the proof verification." */
        if (sn == 0)
            return mla_err(MLA_EINVAL, "consistency.proof: %zu hashes, want %zu", proof->n,
                           i - (prepend ? 1 : 0));
        /* b. "If LSB(fn) is set, or if fn is equal to sn, then: 1. Set fr to
         *    HASH(0x01 || c || fr). 2. Set sr to HASH(0x01 || c || sr).
         *    3. If LSB(fn) is not set, then right-shift both fn and sn equally
         *    until either LSB(fn) is set or fn is 0. Otherwise: 1. Set sr to
         *    HASH(0x01 || sr || c)." */
        if ((fn & 1) || fn == sn) {
            mla_merkle_node_hash(&fr, c, &fr);
            mla_merkle_node_hash(&sr, c, &sr);
            while (!(fn & 1) && fn != 0) fn >>= 1, sn >>= 1;
        } else {
            mla_merkle_node_hash(&sr, &sr, c);
        }
        /* c. "Finally, right-shift both fn and sn one time." */
        fn >>= 1, sn >>= 1;
    }
#undef PATH
    /* 7. "verify that the fr calculated is equal to the first_hash supplied,
     *    that the sr calculated is equal to the second_hash supplied, and that
     *    sn is 0." */
    if (sn != 0)
        return mla_err(MLA_EINVAL, "consistency.proof: %zu hashes, want %zu", proof->n,
                       proof->n + steps_left(fn, sn));
    if (!mla_hash_eq(&fr, root_m))
        return mla_err(MLA_EINVAL, "consistency: computed old root does not match root_m");
    if (!mla_hash_eq(&sr, root_n))
        return mla_err(MLA_EINVAL, "consistency: computed new root does not match root_n");
    return MLA_OK;
}

mla_status mla_merkle_proof_decode(mla_merkle_proof *out, mla_slice in, const char *field)
{
    out->n = 0;
    if (in.len % HASH_LEN != 0)
        return mla_err(MLA_EINVAL, "%s: %zu bytes is not a multiple of %d", field, in.len,
                       HASH_LEN);
    if (in.len / HASH_LEN > MLA_MERKLE_PROOF_MAX)
        return mla_err(MLA_EINVAL, "%s: %zu hashes exceeds limit %d", field, in.len / HASH_LEN,
                       MLA_MERKLE_PROOF_MAX);
    mla_reader r;
    mla_reader_init(&r, in);
    size_t n = in.len / HASH_LEN;
    for (size_t i = 0; i < n; i++) MLA_TRY(mla_reader_hash(&r, &out->h[i], field));
    MLA_TRY(mla_reader_end(&r, field));
    out->n = n;
    return MLA_OK;
}

mla_status mla_merkle_proof_encode(mla_buf *out, const mla_merkle_proof *p)
{
    MLA_TRY(check_count(p, "proof"));
    /* Reserve first so a failure leaves out unchanged. */
    MLA_TRY(mla_buf_reserve(out, p->n * HASH_LEN));
    for (size_t i = 0; i < p->n; i++) MLA_TRY(mla_buf_append(out, p->h[i].b, HASH_LEN));
    return MLA_OK;
}
