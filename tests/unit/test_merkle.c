/* Unit suite for ledger/merkle: RFC 6962 hashing, the published reference
 * vectors (tests/vectors/rfc6962_merkle.txt), properties over random trees
 * held in a test-local node store, and failure paths (reader and writer
 * errors, bad proof lengths, refused sizes). */
#include <stdio.h>
#include <string.h>

#include "merkle/merkle.h"
#include "testutil.h"

/* ---- a test-local in-memory node store -------------------------------- */

typedef struct store {
    mla_hash *level[MLA_MERKLE_MAX_DEPTH];
    uint64_t count[MLA_MERKLE_MAX_DEPTH], cap[MLA_MERKLE_MAX_DEPTH];
    long reads, writes;
    bool sparse; /* count writes but keep nothing (for frontiers not starting at 0) */
    long fail_read_at, fail_write_at; /* fail the k-th call (0-based); -1: never */
    mla_status fail_with;
} store;

static void store_init(store *s)
{
    memset(s, 0, sizeof *s);
    s->fail_read_at = s->fail_write_at = -1;
    s->fail_with = MLA_EIO;
}

static void store_dispose(store *s)
{
    for (unsigned l = 0; l < MLA_MERKLE_MAX_DEPTH; l++) free(s->level[l]);
}

static mla_status store_read(void *ctx, unsigned level, uint64_t index, mla_hash *out)
{
    store *s = ctx;
    if (s->reads++ == s->fail_read_at) return mla_err(s->fail_with, "store: injected read failure");
    ck_assert_uint_lt(level, MLA_MERKLE_MAX_DEPTH);
    if (index >= s->count[level])
        return mla_err(MLA_ENOTFOUND, "store: no node %u/%llu", level, (unsigned long long)index);
    *out = s->level[level][index];
    return MLA_OK;
}

/* Nodes must arrive in order: each level is filled left to right. */
static mla_status store_write(void *ctx, unsigned level, uint64_t index, const mla_hash *node)
{
    store *s = ctx;
    if (s->writes++ == s->fail_write_at)
        return mla_err(s->fail_with, "store: injected write failure");
    ck_assert_uint_lt(level, MLA_MERKLE_MAX_DEPTH);
    if (s->sparse) return MLA_OK; /* only counted: a sparse store is never read */
    ck_assert_uint_eq(index, s->count[level]);
    if (s->count[level] == s->cap[level]) {
        s->cap[level] = s->cap[level] ? 2 * s->cap[level] : 16;
        s->level[level] = realloc(s->level[level], s->cap[level] * sizeof(mla_hash));
        ck_assert_ptr_nonnull(s->level[level]);
    }
    s->level[level][s->count[level]++] = *node;
    return MLA_OK;
}

/* Distinct leaves: leaf i is the leaf hash of its 8-byte big-endian index. */
static void leaf_for(mla_hash *out, uint64_t i)
{
    uint8_t b[8];
    mla_put_be64(b, i);
    mla_merkle_leaf_hash(out, mla_slice_make(b, sizeof b));
}

typedef struct tree {
    store st;
    uint64_t n;
    mla_hash *leaves; /* [n] */
    mla_hash *roots; /* [n + 1]: frontier root after k appends */
    mla_merkle_frontier *frs; /* [n + 1]: frontier after k appends */
} tree;

static void tree_build(tree *t, uint64_t n)
{
    store_init(&t->st);
    t->n = n;
    t->leaves = calloc(n ? n : 1, sizeof *t->leaves);
    t->roots = calloc(n + 1, sizeof *t->roots);
    t->frs = calloc(n + 1, sizeof *t->frs);
    ck_assert(t->leaves && t->roots && t->frs);
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    for (uint64_t i = 0;; i++) {
        mla_merkle_frontier_root(&f, &t->roots[i]);
        t->frs[i] = f;
        if (i == n) break;
        leaf_for(&t->leaves[i], i);
        tu_assert_ok(mla_merkle_frontier_append(&f, &t->leaves[i], store_write, &t->st));
    }
    t->st.reads = 0;
}

static void tree_dispose(tree *t)
{
    store_dispose(&t->st);
    free(t->leaves);
    free(t->roots);
    free(t->frs);
}

/* ---- reference: RFC 6962 §2.1 / RFC 9162 §2.1 by direct recursion ------- */

static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}

static void ref_mth(mla_hash *out, const mla_hash *lh, uint64_t b, uint64_t e)
{
    if (e - b == 1) {
        *out = lh[b];
        return;
    }
    uint64_t k = split(e - b);
    mla_hash l, r;
    ref_mth(&l, lh, b, b + k);
    ref_mth(&r, lh, b + k, e);
    mla_merkle_node_hash(out, &l, &r);
}

static void push_mth(mla_merkle_proof *p, const mla_hash *lh, uint64_t b, uint64_t e)
{
    ck_assert_uint_lt(p->n, MLA_MERKLE_PROOF_MAX);
    ref_mth(&p->h[p->n++], lh, b, e);
}

static void ref_path(mla_merkle_proof *p, uint64_t m, const mla_hash *lh, uint64_t b, uint64_t e)
{
    if (e - b == 1) return;
    uint64_t k = split(e - b);
    if (m < k) {
        ref_path(p, m, lh, b, b + k);
        push_mth(p, lh, b + k, e);
    } else {
        ref_path(p, m - k, lh, b + k, e);
        push_mth(p, lh, b, b + k);
    }
}

static void ref_subproof(mla_merkle_proof *p, uint64_t m, const mla_hash *lh, uint64_t b,
                         uint64_t e, bool whole)
{
    if (m == e - b) {
        if (!whole) push_mth(p, lh, b, e);
        return;
    }
    uint64_t k = split(e - b);
    if (m <= k) {
        ref_subproof(p, m, lh, b, b + k, whole);
        push_mth(p, lh, b + k, e);
    } else {
        ref_subproof(p, m - k, lh, b + k, e, false);
        push_mth(p, lh, b, b + k);
    }
}

/* The shape of a proof: the sequence of hash operations the RFC 9162
 * verifiers perform for given sizes. Two claims with the same shape compute
 * the same root from the same proof (RFC 9162 does not pin the size by the
 * proof alone; SPEC §3), so a changed size is rejected exactly when the shape
 * changes. */
typedef struct shape {
    bool valid, prepend;
    size_t len;
    uint8_t kind[2 * MLA_MERKLE_PROOF_MAX];
} shape;

static void shape_walk(shape *s, uint64_t fn, uint64_t sn)
{
    while (sn != 0) {
        ck_assert_uint_lt(s->len, sizeof s->kind);
        if ((fn & 1) || fn == sn) {
            s->kind[s->len++] = 1;
            while (!(fn & 1) && fn != 0) fn >>= 1, sn >>= 1;
        } else {
            s->kind[s->len++] = 0;
        }
        fn >>= 1, sn >>= 1;
    }
}

static shape inclusion_shape(uint64_t index, uint64_t size)
{
    shape s;
    memset(&s, 0, sizeof s);
    if (index >= size) return s;
    s.valid = true;
    shape_walk(&s, index, size - 1);
    return s;
}

static shape consistency_shape(uint64_t m, uint64_t n)
{
    shape s;
    memset(&s, 0, sizeof s);
    if (m == 0 || m >= n) return s; /* refused, or needs an empty proof */
    s.valid = true;
    s.prepend = (m & (m - 1)) == 0;
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) fn >>= 1, sn >>= 1;
    shape_walk(&s, fn, sn);
    return s;
}

static bool shape_eq(const shape *a, const shape *b)
{
    return a->valid && b->valid && a->prepend == b->prepend && a->len == b->len &&
           memcmp(a->kind, b->kind, a->len) == 0;
}

static void flip(mla_hash *h, unsigned bit) { h->b[bit / 8] ^= (uint8_t)(1u << (bit % 8)); }

/* ---- vectors ----------------------------------------------------------- */

typedef struct vec_proof {
    uint64_t a, b;
    mla_merkle_proof p;
} vec_proof;

typedef struct vectors {
    uint8_t leaf[8][16];
    size_t leaf_len[8], n_leaves;
    struct {
        unsigned level;
        uint64_t index;
        mla_hash h;
    } node[16];
    size_t n_nodes;
    mla_hash root[9];
    size_t n_roots;
    vec_proof incl[8], cons[8];
    size_t n_incl, n_cons;
} vectors;

static bool next_tok(const char **p, const char *end, mla_slice *tok)
{
    while (*p < end && **p == ' ') (*p)++;
    const char *s = *p;
    while (*p < end && **p != ' ') (*p)++;
    *tok = mla_slice_make(s, (size_t)(*p - s));
    return tok->len > 0;
}

static uint64_t tok_u64(mla_slice t)
{
    char tmp[32];
    ck_assert_uint_lt(t.len, sizeof tmp);
    memcpy(tmp, t.ptr, t.len);
    tmp[t.len] = 0;
    char *endp;
    unsigned long long v = strtoull(tmp, &endp, 10);
    ck_assert(*endp == 0);
    return v;
}

static void read_proof(vec_proof *v, const char **p, const char *end)
{
    mla_slice t;
    ck_assert(next_tok(p, end, &t));
    v->a = tok_u64(t);
    ck_assert(next_tok(p, end, &t));
    v->b = tok_u64(t);
    v->p.n = 0;
    while (next_tok(p, end, &t)) tu_assert_ok(mla_hash_from_hex(&v->p.h[v->p.n++], t, "vector"));
}

static void vectors_load(vectors *v)
{
    memset(v, 0, sizeof *v);
    mla_buf file;
    tu_read_file(&file, tu_vector_path("rfc6962_merkle.txt"));
    const char *p = (const char *)file.ptr, *fend = p + file.len;
    while (p < fend) {
        const char *nl = memchr(p, '\n', (size_t)(fend - p));
        const char *end = nl ? nl : fend;
        mla_slice kw, t;
        const char *q = p;
        p = nl ? nl + 1 : fend;
        if (end == q || *q == '#' || !next_tok(&q, end, &kw)) continue;
        if (mla_slice_eq(kw, mla_slice_cstr("leaf"))) {
            ck_assert(next_tok(&q, end, &t));
            ck_assert_uint_eq(tok_u64(t), v->n_leaves);
            mla_buf b;
            mla_buf_init(&b, 16);
            if (next_tok(&q, end, &t)) tu_assert_ok(mla_hex_decode(&b, t, "vector"));
            if (b.len) memcpy(v->leaf[v->n_leaves], b.ptr, b.len);
            v->leaf_len[v->n_leaves++] = b.len;
            mla_buf_dispose(&b);
        } else if (mla_slice_eq(kw, mla_slice_cstr("node"))) {
            ck_assert(next_tok(&q, end, &t));
            v->node[v->n_nodes].level = (unsigned)tok_u64(t);
            ck_assert(next_tok(&q, end, &t));
            v->node[v->n_nodes].index = tok_u64(t);
            ck_assert(next_tok(&q, end, &t));
            tu_assert_ok(mla_hash_from_hex(&v->node[v->n_nodes++].h, t, "vector"));
        } else if (mla_slice_eq(kw, mla_slice_cstr("root"))) {
            ck_assert(next_tok(&q, end, &t));
            ck_assert_uint_eq(tok_u64(t), v->n_roots);
            ck_assert(next_tok(&q, end, &t));
            tu_assert_ok(mla_hash_from_hex(&v->root[v->n_roots++], t, "vector"));
        } else if (mla_slice_eq(kw, mla_slice_cstr("inclusion"))) {
            read_proof(&v->incl[v->n_incl++], &q, end);
        } else if (mla_slice_eq(kw, mla_slice_cstr("consistency"))) {
            read_proof(&v->cons[v->n_cons++], &q, end);
        } else {
            ck_abort_msg("unknown vector line");
        }
    }
    mla_buf_dispose(&file);
    ck_assert_uint_eq(v->n_leaves, 8);
    ck_assert_uint_eq(v->n_nodes, 15);
    ck_assert_uint_eq(v->n_roots, 9);
    ck_assert_uint_eq(v->n_incl, 5);
    ck_assert_uint_eq(v->n_cons, 5);
}

/* A store holding the 8 vector leaves, filled through frontier_append. */
static void vectors_store(store *s, const vectors *v, mla_hash leaves[8])
{
    store_init(s);
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    for (size_t i = 0; i < 8; i++) {
        mla_merkle_leaf_hash(&leaves[i], mla_slice_make(v->leaf[i], v->leaf_len[i]));
        tu_assert_ok(mla_merkle_frontier_append(&f, &leaves[i], store_write, s));
    }
}

static void assert_proof_eq(const mla_merkle_proof *got, const mla_merkle_proof *want)
{
    ck_assert_uint_eq(got->n, want->n);
    for (size_t i = 0; i < got->n; i++)
        ck_assert_msg(memcmp(got->h[i].b, want->h[i].b, 32) == 0, "proof hash %zu differs", i);
}

/* ---- hashing ------------------------------------------------------------ */

START_TEST(test_merkle_empty_root_is_sha256_of_nothing)
{
    mla_hash got, want;
    tu_assert_ok(mla_hash_from_hex(
        &want, mla_slice_cstr("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "want"));
    mla_merkle_empty_root(&got);
    ck_assert(mla_hash_eq(&got, &want));
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    mla_merkle_frontier_root(&f, &got);
    ck_assert(mla_hash_eq(&got, &want));
    store s;
    store_init(&s);
    tu_assert_ok(mla_merkle_root_at(&got, 0, store_read, &s));
    ck_assert(mla_hash_eq(&got, &want));
    ck_assert_int_eq(s.reads, 0);
}
END_TEST

START_TEST(test_merkle_leaf_and_node_hashes_are_domain_separated)
{
    /* RFC 6962 §2.1: leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r). */
    mla_hash leaf, want, a, b, ab;
    mla_merkle_leaf_hash(&leaf, mla_slice_make(NULL, 0));
    tu_assert_ok(mla_hash_from_hex(
        &want, mla_slice_cstr("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        "want"));
    ck_assert(mla_hash_eq(&leaf, &want));
    uint8_t zero = 0;
    mla_merkle_leaf_hash(&a, mla_slice_make(&zero, 1));
    mla_merkle_node_hash(&ab, &leaf, &a);
    tu_assert_ok(mla_hash_from_hex(
        &want, mla_slice_cstr("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        "want"));
    ck_assert(mla_hash_eq(&ab, &want));
    /* The output may alias an input. */
    b = leaf;
    mla_merkle_node_hash(&b, &b, &a);
    ck_assert(mla_hash_eq(&b, &want));
    b = a;
    mla_merkle_node_hash(&b, &leaf, &b);
    ck_assert(mla_hash_eq(&b, &want));
    /* A node's 65 input bytes hashed as a leaf do not give the node hash. */
    uint8_t raw[64];
    memcpy(raw, leaf.b, 32);
    memcpy(raw + 32, a.b, 32);
    mla_merkle_leaf_hash(&b, mla_slice_make(raw, sizeof raw));
    ck_assert(!mla_hash_eq(&b, &ab));
}
END_TEST

/* ---- vectors ------------------------------------------------------------- */

START_TEST(test_merkle_vector_nodes_and_roots)
{
    vectors v;
    vectors_load(&v);
    store s;
    store_init(&s);
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    mla_hash leaf, root;
    for (size_t i = 0; i <= 8; i++) {
        mla_merkle_frontier_root(&f, &root);
        ck_assert_msg(mla_hash_eq(&root, &v.root[i]), "frontier root of size %zu", i);
        if (i == 8) break;
        mla_merkle_leaf_hash(&leaf, mla_slice_make(v.leaf[i], v.leaf_len[i]));
        tu_assert_ok(mla_merkle_frontier_append(&f, &leaf, store_write, &s));
    }
    /* The writer saw exactly the 15 published perfect subtrees. */
    ck_assert_int_eq(s.writes, 15);
    for (size_t i = 0; i < v.n_nodes; i++) {
        unsigned l = v.node[i].level;
        ck_assert_uint_lt(v.node[i].index, s.count[l]);
        ck_assert(mla_hash_eq(&s.level[l][v.node[i].index], &v.node[i].h));
    }
    for (uint64_t k = 0; k <= 8; k++) {
        tu_assert_ok(mla_merkle_root_at(&root, k, store_read, &s));
        ck_assert_msg(mla_hash_eq(&root, &v.root[k]), "root_at(%llu)", (unsigned long long)k);
    }
    store_dispose(&s);
}
END_TEST

START_TEST(test_merkle_vector_inclusion_proofs_match_and_verify)
{
    vectors v;
    vectors_load(&v);
    store s;
    mla_hash leaves[8];
    vectors_store(&s, &v, leaves);
    for (size_t i = 0; i < v.n_incl; i++) {
        const vec_proof *w = &v.incl[i];
        mla_merkle_proof got;
        tu_assert_ok(mla_merkle_inclusion_prove(&got, w->a, w->b, store_read, &s));
        assert_proof_eq(&got, &w->p);
        tu_assert_ok(mla_merkle_inclusion_verify(&leaves[w->a], w->a, w->b, &w->p, &v.root[w->b]));
        /* The wire form is the concatenated hashes, and decodes back. */
        mla_buf b;
        mla_buf_init(&b, 4096);
        tu_assert_ok(mla_merkle_proof_encode(&b, &got));
        ck_assert_uint_eq(b.len, 32 * w->p.n);
        for (size_t j = 0; j < w->p.n; j++)
            ck_assert_int_eq(memcmp(b.ptr + 32 * j, w->p.h[j].b, 32), 0);
        mla_merkle_proof again;
        tu_assert_ok(mla_merkle_proof_decode(&again, mla_buf_slice(&b), "proof"));
        assert_proof_eq(&again, &w->p);
        mla_buf_dispose(&b);
    }
    store_dispose(&s);
}
END_TEST

START_TEST(test_merkle_vector_consistency_proofs_match_and_verify)
{
    vectors v;
    vectors_load(&v);
    store s;
    mla_hash leaves[8];
    vectors_store(&s, &v, leaves);
    for (size_t i = 0; i < v.n_cons; i++) {
        const vec_proof *w = &v.cons[i];
        mla_merkle_proof got;
        tu_assert_ok(mla_merkle_consistency_prove(&got, w->a, w->b, store_read, &s));
        assert_proof_eq(&got, &w->p);
        tu_assert_ok(
            mla_merkle_consistency_verify(w->a, w->b, &v.root[w->a], &v.root[w->b], &w->p));
        if (w->a != w->b) {
            /* Swapped roots are not consistent. */
            tu_assert_fail_with(
                mla_merkle_consistency_verify(w->a, w->b, &v.root[w->b], &v.root[w->a], &w->p),
                MLA_EINVAL, "consistency");
        }
    }
    store_dispose(&s);
}
END_TEST

/* ---- properties ---------------------------------------------------------- */

#define PROP_N 2000
#define PROP_PAIRS 1500
#define FULL_FLIP_PAIRS 6
#define MAX_READS (2 * MLA_MERKLE_MAX_DEPTH)

static void check_inclusion_mutations(const tree *t, uint64_t index, uint64_t size,
                                      const mla_merkle_proof *proof, bool every_bit, uint64_t *rng)
{
    const mla_hash *root = &t->roots[size];
    mla_hash leaf = t->leaves[index], r = *root;
    mla_merkle_proof bad = *proof;
    /* Any single-bit flip of a proof hash, the leaf or the root is rejected. */
    for (size_t i = 0; i < proof->n + 2; i++) {
        mla_hash *target = i < proof->n ? &bad.h[i] : i == proof->n ? &leaf : &r;
        for (unsigned bit = 0; bit < 256; bit++) {
            unsigned b = every_bit ? bit : (unsigned)(tu_rand(rng) % 256);
            flip(target, b);
            tu_assert_fail_with(mla_merkle_inclusion_verify(&leaf, index, size, &bad, &r),
                                MLA_EINVAL, "inclusion");
            flip(target, b);
            if (!every_bit) break;
        }
    }
    /* A proof with a hash more or a hash less is rejected. */
    if (bad.n < MLA_MERKLE_PROOF_MAX) {
        bad.h[bad.n++] = *root;
        tu_assert_fail_with(mla_merkle_inclusion_verify(&leaf, index, size, &bad, root), MLA_EINVAL,
                            "inclusion.proof");
        bad.n--;
    }
    if (bad.n > 0) {
        bad.n--;
        tu_assert_fail_with(mla_merkle_inclusion_verify(&leaf, index, size, &bad, root), MLA_EINVAL,
                            "inclusion.proof");
        bad.n++;
    }
    /* Index or size moved by one: rejected unless the verifier performs the
     * very same operations (then it computes the same root, see shape). */
    shape want = inclusion_shape(index, size);
    const uint64_t alt[4][2] = {
        {index - 1, size}, {index + 1, size}, {index, size - 1}, {index, size + 1}};
    for (size_t i = 0; i < 4; i++) {
        shape s = inclusion_shape(alt[i][0], alt[i][1]);
        mla_status rc = mla_merkle_inclusion_verify(&leaf, alt[i][0], alt[i][1], proof, root);
        if (shape_eq(&s, &want))
            tu_assert_ok(rc);
        else
            tu_assert_fail_with(rc, MLA_EINVAL, "inclusion");
    }
}

static void check_consistency_mutations(const tree *t, uint64_t m, uint64_t n,
                                        const mla_merkle_proof *proof, bool every_bit,
                                        uint64_t *rng)
{
    mla_hash rm = t->roots[m], rn = t->roots[n];
    mla_merkle_proof bad = *proof;
    for (size_t i = 0; i < proof->n + 2; i++) {
        mla_hash *target = i < proof->n ? &bad.h[i] : i == proof->n ? &rm : &rn;
        for (unsigned bit = 0; bit < 256; bit++) {
            unsigned b = every_bit ? bit : (unsigned)(tu_rand(rng) % 256);
            flip(target, b);
            tu_assert_fail_with(mla_merkle_consistency_verify(m, n, &rm, &rn, &bad), MLA_EINVAL,
                                "consistency");
            flip(target, b);
            if (!every_bit) break;
        }
    }
    if (bad.n < MLA_MERKLE_PROOF_MAX) {
        bad.h[bad.n++] = rn;
        tu_assert_fail_with(mla_merkle_consistency_verify(m, n, &rm, &rn, &bad), MLA_EINVAL,
                            "consistency.proof");
        bad.n--;
    }
    bad.n--;
    tu_assert_fail_with(mla_merkle_consistency_verify(m, n, &rm, &rn, &bad), MLA_EINVAL,
                        "consistency");
    bad.n++;
    shape want = consistency_shape(m, n);
    const uint64_t alt[4][2] = {{m - 1, n}, {m + 1, n}, {m, n - 1}, {m, n + 1}};
    for (size_t i = 0; i < 4; i++) {
        shape s = consistency_shape(alt[i][0], alt[i][1]);
        mla_status rc = mla_merkle_consistency_verify(alt[i][0], alt[i][1], &rm, &rn, proof);
        if (shape_eq(&s, &want))
            tu_assert_ok(rc);
        else
            tu_assert_fail_with(rc, MLA_EINVAL, "consistency");
    }
}

START_TEST(test_merkle_random_inclusion_proofs_verify_and_resist_tampering)
{
    tree t;
    tree_build(&t, PROP_N);
    uint64_t rng = 0x6d65726b6c65u;
    for (int i = 0; i < PROP_PAIRS; i++) {
        uint64_t size = 1 + tu_rand(&rng) % PROP_N;
        uint64_t index = tu_rand(&rng) % size;
        if (i == 0) size = PROP_N, index = PROP_N - 1;
        mla_merkle_proof p;
        t.st.reads = 0;
        tu_assert_ok(mla_merkle_inclusion_prove(&p, index, size, store_read, &t.st));
        ck_assert_int_le(t.st.reads, MAX_READS);
        tu_assert_ok(
            mla_merkle_inclusion_verify(&t.leaves[index], index, size, &p, &t.roots[size]));
        check_inclusion_mutations(&t, index, size, &p, i < FULL_FLIP_PAIRS, &rng);
    }
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_random_consistency_proofs_verify_and_resist_tampering)
{
    tree t;
    tree_build(&t, PROP_N);
    uint64_t rng = 0x636f6e73u;
    for (int i = 0; i < PROP_PAIRS; i++) {
        uint64_t n = 2 + tu_rand(&rng) % (PROP_N - 1);
        uint64_t m = 1 + tu_rand(&rng) % (n - 1);
        if (i == 0) n = PROP_N, m = PROP_N - 1;
        mla_merkle_proof p;
        t.st.reads = 0;
        tu_assert_ok(mla_merkle_consistency_prove(&p, m, n, store_read, &t.st));
        ck_assert_int_le(t.st.reads, MAX_READS);
        tu_assert_ok(mla_merkle_consistency_verify(m, n, &t.roots[m], &t.roots[n], &p));
        check_consistency_mutations(&t, m, n, &p, i < FULL_FLIP_PAIRS, &rng);
        /* m == n: an empty proof between equal roots. */
        tu_assert_ok(mla_merkle_consistency_prove(&p, m, m, store_read, &t.st));
        ck_assert_uint_eq(p.n, 0);
        tu_assert_ok(mla_merkle_consistency_verify(m, m, &t.roots[m], &t.roots[m], &p));
    }
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_proofs_equal_the_rfc_recursion)
{
    tree t;
    tree_build(&t, 300);
    uint64_t rng = 0x726566u;
    for (int i = 0; i < 300; i++) {
        uint64_t n = 1 + tu_rand(&rng) % t.n;
        uint64_t idx = tu_rand(&rng) % n;
        mla_merkle_proof got, want = {0};
        tu_assert_ok(mla_merkle_inclusion_prove(&got, idx, n, store_read, &t.st));
        ref_path(&want, idx, t.leaves, 0, n);
        assert_proof_eq(&got, &want);
        uint64_t m = 1 + tu_rand(&rng) % n;
        want.n = 0;
        tu_assert_ok(mla_merkle_consistency_prove(&got, m, n, store_read, &t.st));
        if (m < n) ref_subproof(&want, m, t.leaves, 0, n, true);
        assert_proof_eq(&got, &want);
        mla_hash root;
        ref_mth(&root, t.leaves, 0, n);
        ck_assert(mla_hash_eq(&root, &t.roots[n]));
    }
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_root_at_equals_fresh_tree_root)
{
    tree t;
    tree_build(&t, PROP_N);
    for (uint64_t k = 0; k <= t.n; k++) {
        mla_hash root;
        t.st.reads = 0;
        tu_assert_ok(mla_merkle_root_at(&root, k, store_read, &t.st));
        ck_assert_msg(mla_hash_eq(&root, &t.roots[k]), "root_at(%llu)", (unsigned long long)k);
        ck_assert_int_eq(t.st.reads, __builtin_popcountll(k));
    }
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_frontier_load_reproduces_frontier)
{
    tree t;
    tree_build(&t, PROP_N);
    for (uint64_t k = 0; k <= t.n; k++) {
        mla_merkle_frontier f;
        memset(&f, 0xa5, sizeof f);
        t.st.reads = 0;
        tu_assert_ok(mla_merkle_frontier_load(&f, k, store_read, &t.st));
        ck_assert_int_eq(t.st.reads, __builtin_popcountll(k));
        ck_assert_uint_eq(f.size, k);
        for (unsigned l = 0; l < MLA_MERKLE_MAX_DEPTH; l++)
            if (k >> l & 1) ck_assert(mla_hash_eq(&f.nodes[l], &t.frs[k].nodes[l]));
        mla_hash root;
        mla_merkle_frontier_root(&f, &root);
        ck_assert(mla_hash_eq(&root, &t.roots[k]));
    }
    /* A loaded frontier keeps appending where the stored tree left off. */
    mla_merkle_frontier f;
    tu_assert_ok(mla_merkle_frontier_load(&f, 1000, store_read, &t.st));
    store other;
    store_init(&other);
    other.sparse = true;
    for (uint64_t i = 1000; i < t.n; i++)
        tu_assert_ok(mla_merkle_frontier_append(&f, &t.leaves[i], store_write, &other));
    mla_hash root;
    mla_merkle_frontier_root(&f, &root);
    ck_assert(mla_hash_eq(&root, &t.roots[t.n]));
    store_dispose(&other);
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_append_writes_each_perfect_subtree_once)
{
    tree t;
    tree_build(&t, PROP_N);
    /* Every perfect subtree of the tree, level 0 included: 2n - popcount(n). */
    ck_assert_int_eq(t.st.writes, 2 * PROP_N - __builtin_popcountll(PROP_N));
    for (unsigned l = 0; l < MLA_MERKLE_MAX_DEPTH; l++)
        ck_assert_uint_eq(t.st.count[l], (uint64_t)PROP_N >> l);
    tree_dispose(&t);
}
END_TEST

/* ---- failure paths -------------------------------------------------------- */

START_TEST(test_merkle_reader_error_passes_up_unchanged)
{
    tree t;
    tree_build(&t, 1000);
    const mla_status codes[2] = {MLA_EIO, MLA_ECORRUPT};
    for (size_t c = 0; c < 2; c++) {
        for (int op = 0; op < 4; op++) {
            /* Count the reads of a successful run, then fail each one. */
            long total = 0;
            for (long k = -1; k < total; k++) {
                t.st.reads = 0;
                t.st.fail_read_at = k;
                t.st.fail_with = codes[c];
                mla_merkle_proof p;
                mla_hash root = {{0}};
                mla_merkle_frontier f;
                mla_merkle_frontier_init(&f);
                mla_status rc = MLA_OK;
                switch (op) {
                case 0: rc = mla_merkle_inclusion_prove(&p, 700, 999, store_read, &t.st); break;
                case 1: rc = mla_merkle_consistency_prove(&p, 699, 999, store_read, &t.st); break;
                case 2: rc = mla_merkle_root_at(&root, 999, store_read, &t.st); break;
                default: rc = mla_merkle_frontier_load(&f, 999, store_read, &t.st); break;
                }
                if (k < 0) {
                    tu_assert_ok(rc);
                    total = t.st.reads;
                    ck_assert_int_gt(total, 0);
                    continue;
                }
                tu_assert_fail_with(rc, codes[c], "store: injected read failure");
                if (op <= 1) ck_assert_uint_eq(p.n, 0);
                if (op == 2) ck_assert(mla_hash_eq(&root, &(mla_hash){{0}}));
                if (op == 3) ck_assert_uint_eq(f.size, 0);
            }
        }
    }
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_missing_nodes_report_notfound)
{
    tree t;
    tree_build(&t, 10);
    mla_merkle_proof p;
    mla_hash root;
    tu_assert_fail_with(mla_merkle_inclusion_prove(&p, 3, 11, store_read, &t.st), MLA_ENOTFOUND,
                        "store: no node");
    tu_assert_fail_with(mla_merkle_consistency_prove(&p, 3, 12, store_read, &t.st), MLA_ENOTFOUND,
                        "store: no node");
    tu_assert_fail_with(mla_merkle_root_at(&root, 11, store_read, &t.st), MLA_ENOTFOUND,
                        "store: no node");
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_writer_error_leaves_frontier_unchanged)
{
    tree t;
    tree_build(&t, 7); /* size 7 = 0b111: the next append writes 4 nodes */
    for (long k = 0; k < 4; k++) {
        mla_merkle_frontier f = t.frs[7], before = f;
        store s;
        store_init(&s);
        s.sparse = true;
        s.fail_write_at = k;
        mla_hash leaf;
        leaf_for(&leaf, 7);
        tu_assert_fail_with(mla_merkle_frontier_append(&f, &leaf, store_write, &s), MLA_EIO,
                            "store: injected write failure");
        ck_assert_int_eq(s.writes, k + 1);
        ck_assert_int_eq(memcmp(&f, &before, sizeof f), 0);
        store_dispose(&s);
    }
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_full_frontier_refuses_append)
{
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    f.size = UINT64_MAX;
    mla_merkle_frontier before = f;
    store s;
    store_init(&s);
    mla_hash leaf;
    leaf_for(&leaf, 0);
    tu_assert_fail_with(mla_merkle_frontier_append(&f, &leaf, store_write, &s), MLA_ELIMIT,
                        "merkle.frontier.size");
    ck_assert_int_eq(s.writes, 0);
    ck_assert_int_eq(memcmp(&f, &before, sizeof f), 0);
}
END_TEST

START_TEST(test_merkle_proof_decode_rejects_bad_lengths)
{
    uint8_t bytes[32 * (MLA_MERKLE_PROOF_MAX + 1)];
    memset(bytes, 7, sizeof bytes);
    mla_merkle_proof p;
    tu_assert_fail_with(mla_merkle_proof_decode(&p, mla_slice_make(bytes, 31), "receipt.proof"),
                        MLA_EINVAL, "receipt.proof: 31 bytes is not a multiple of 32");
    ck_assert_uint_eq(p.n, 0);
    tu_assert_fail_with(mla_merkle_proof_decode(&p, mla_slice_make(bytes, 33), "receipt.proof"),
                        MLA_EINVAL, "receipt.proof: 33 bytes is not a multiple of 32");
    tu_assert_fail_with(
        mla_merkle_proof_decode(&p, mla_slice_make(bytes, sizeof bytes), "cp.proof"), MLA_EINVAL,
        "cp.proof: 67 hashes exceeds limit 66");
    ck_assert_uint_eq(p.n, 0);
    tu_assert_ok(
        mla_merkle_proof_decode(&p, mla_slice_make(bytes, 32 * MLA_MERKLE_PROOF_MAX), "x"));
    ck_assert_uint_eq(p.n, MLA_MERKLE_PROOF_MAX);
    ck_assert_int_eq(p.h[MLA_MERKLE_PROOF_MAX - 1].b[31], 7);
    tu_assert_ok(mla_merkle_proof_decode(&p, mla_slice_make(NULL, 0), "x"));
    ck_assert_uint_eq(p.n, 0);
}
END_TEST

START_TEST(test_merkle_proof_encode_failure_leaves_buffer_unchanged)
{
    mla_merkle_proof p;
    memset(&p, 3, sizeof p);
    p.n = 3;
    mla_buf b;
    mla_buf_init(&b, 1024);
    mla_alloc_fail_after(0);
    tu_assert_fail_with(mla_merkle_proof_encode(&b, &p), MLA_ENOMEM, "");
    mla_alloc_fail_reset();
    ck_assert_uint_eq(b.len, 0);
    mla_buf small;
    mla_buf_init(&small, 95);
    tu_assert_fail_with(mla_merkle_proof_encode(&small, &p), MLA_ELIMIT, "");
    ck_assert_uint_eq(small.len, 0);
    p.n = MLA_MERKLE_PROOF_MAX + 1;
    tu_assert_fail_with(mla_merkle_proof_encode(&b, &p), MLA_EINVAL, "proof: 67 hashes exceeds");
    ck_assert_uint_eq(b.len, 0);
    mla_buf_dispose(&b);
    mla_buf_dispose(&small);
}
END_TEST

START_TEST(test_merkle_consistency_refuses_size_zero_and_backwards)
{
    tree t;
    tree_build(&t, 8);
    mla_merkle_proof p = {0}, one = {.n = 1};
    tu_assert_fail_with(mla_merkle_consistency_prove(&p, 0, 5, store_read, &t.st), MLA_EINVAL,
                        "consistency: from size 0");
    tu_assert_fail_with(mla_merkle_consistency_prove(&p, 0, 0, store_read, &t.st), MLA_EINVAL,
                        "consistency: from size 0");
    tu_assert_fail_with(mla_merkle_consistency_prove(&p, 6, 5, store_read, &t.st), MLA_EINVAL,
                        "consistency: from size 6 > to size 5");
    ck_assert_int_eq(t.st.reads, 0);
    tu_assert_fail_with(mla_merkle_consistency_verify(0, 5, &t.roots[0], &t.roots[5], &p),
                        MLA_EINVAL, "consistency: from size 0");
    tu_assert_fail_with(mla_merkle_consistency_verify(0, 0, &t.roots[0], &t.roots[0], &p),
                        MLA_EINVAL, "consistency: from size 0");
    tu_assert_fail_with(mla_merkle_consistency_verify(6, 5, &t.roots[6], &t.roots[5], &p),
                        MLA_EINVAL, "consistency: from size 6 > to size 5");
    /* m == n: an empty proof and equal roots, nothing else. */
    tu_assert_ok(mla_merkle_consistency_verify(5, 5, &t.roots[5], &t.roots[5], &p));
    tu_assert_fail_with(mla_merkle_consistency_verify(5, 5, &t.roots[5], &t.roots[6], &p),
                        MLA_EINVAL, "consistency: roots differ");
    one.h[0] = t.roots[5];
    tu_assert_fail_with(mla_merkle_consistency_verify(5, 5, &t.roots[5], &t.roots[5], &one),
                        MLA_EINVAL, "consistency.proof: 1 hashes for equal sizes, want 0");
    /* m < n needs a non-empty proof (RFC 9162 §2.1.4.2 step 1). */
    tu_assert_fail_with(mla_merkle_consistency_verify(4, 8, &t.roots[4], &t.roots[8], &p),
                        MLA_EINVAL, "consistency.proof: empty");
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_inclusion_refuses_index_at_or_past_size)
{
    tree t;
    tree_build(&t, 8);
    mla_merkle_proof p = {0};
    tu_assert_fail_with(mla_merkle_inclusion_prove(&p, 5, 5, store_read, &t.st), MLA_EINVAL,
                        "inclusion.index: 5 >= tree size 5");
    tu_assert_fail_with(mla_merkle_inclusion_prove(&p, 0, 0, store_read, &t.st), MLA_EINVAL,
                        "inclusion.index: 0 >= tree size 0");
    ck_assert_int_eq(t.st.reads, 0);
    tu_assert_fail_with(mla_merkle_inclusion_verify(&t.leaves[0], 0, 0, &p, &t.roots[0]),
                        MLA_EINVAL, "inclusion.index: 0 >= tree size 0");
    tu_assert_fail_with(mla_merkle_inclusion_verify(&t.leaves[7], 8, 8, &p, &t.roots[8]),
                        MLA_EINVAL, "inclusion.index: 8 >= tree size 8");
    /* Size 1: the leaf is the root and the proof is empty. */
    tu_assert_ok(mla_merkle_inclusion_prove(&p, 0, 1, store_read, &t.st));
    ck_assert_uint_eq(p.n, 0);
    tu_assert_ok(mla_merkle_inclusion_verify(&t.leaves[0], 0, 1, &p, &t.roots[1]));
    tu_assert_fail_with(mla_merkle_inclusion_verify(&t.leaves[1], 0, 1, &p, &t.roots[1]),
                        MLA_EINVAL, "inclusion: computed root does not match");
    tree_dispose(&t);
}
END_TEST

START_TEST(test_merkle_verify_names_wrong_proof_length)
{
    tree t;
    tree_build(&t, 8);
    mla_merkle_proof p;
    tu_assert_ok(mla_merkle_inclusion_prove(&p, 5, 8, store_read, &t.st));
    ck_assert_uint_eq(p.n, 3);
    p.h[3] = p.h[0];
    p.n = 4;
    tu_assert_fail_with(mla_merkle_inclusion_verify(&t.leaves[5], 5, 8, &p, &t.roots[8]),
                        MLA_EINVAL, "inclusion.proof: 4 hashes, want 3");
    p.n = 2;
    tu_assert_fail_with(mla_merkle_inclusion_verify(&t.leaves[5], 5, 8, &p, &t.roots[8]),
                        MLA_EINVAL, "inclusion.proof: 2 hashes, want 3");
    p.n = MLA_MERKLE_PROOF_MAX + 1;
    tu_assert_fail_with(mla_merkle_inclusion_verify(&t.leaves[5], 5, 8, &p, &t.roots[8]),
                        MLA_EINVAL, "inclusion.proof: 67 hashes exceeds limit 66");
    tu_assert_ok(mla_merkle_consistency_prove(&p, 6, 8, store_read, &t.st));
    ck_assert_uint_eq(p.n, 3);
    p.h[3] = p.h[0];
    p.n = 4;
    tu_assert_fail_with(mla_merkle_consistency_verify(6, 8, &t.roots[6], &t.roots[8], &p),
                        MLA_EINVAL, "consistency.proof: 4 hashes, want 3");
    p.n = 2;
    tu_assert_fail_with(mla_merkle_consistency_verify(6, 8, &t.roots[6], &t.roots[8], &p),
                        MLA_EINVAL, "consistency.proof: 2 hashes, want 3");
    /* From a power of two the old root is implied (step 2), not sent. */
    tu_assert_ok(mla_merkle_consistency_prove(&p, 4, 8, store_read, &t.st));
    ck_assert_uint_eq(p.n, 1);
    tu_assert_ok(mla_merkle_consistency_verify(4, 8, &t.roots[4], &t.roots[8], &p));
    p.h[1] = p.h[0];
    p.n = 2;
    tu_assert_fail_with(mla_merkle_consistency_verify(4, 8, &t.roots[4], &t.roots[8], &p),
                        MLA_EINVAL, "consistency.proof: 2 hashes, want 1");
    p.n = MLA_MERKLE_PROOF_MAX + 1;
    tu_assert_fail_with(mla_merkle_consistency_verify(4, 8, &t.roots[4], &t.roots[8], &p),
                        MLA_EINVAL, "consistency.proof: 67 hashes exceeds limit 66");
    tree_dispose(&t);
}
END_TEST

/* Sizes near 2^64: the proof walks stay within 64 levels and never overflow.
 * Every leaf is the same, so node (level, index) is the same for every index
 * and a consistent tree of any size needs no storage. */
static mla_status uniform_read(void *ctx, unsigned level, uint64_t index, mla_hash *out)
{
    long *reads = ctx;
    (*reads)++;
    (void)index;
    leaf_for(out, 42);
    for (unsigned l = 0; l < level; l++) mla_merkle_node_hash(out, out, out);
    return MLA_OK;
}

START_TEST(test_merkle_proofs_at_the_largest_sizes)
{
    const uint64_t sizes[][2] = {{UINT64_MAX - 1, UINT64_MAX},
                                 {1, UINT64_MAX},
                                 {(uint64_t)1 << 63, UINT64_MAX},
                                 {((uint64_t)1 << 63) + 1, UINT64_MAX},
                                 {12345, (uint64_t)1 << 63}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t m = sizes[i][0], n = sizes[i][1];
        long reads = 0;
        mla_merkle_proof p;
        mla_hash rm, rn, leaf;
        tu_assert_ok(mla_merkle_root_at(&rm, m, uniform_read, &reads));
        tu_assert_ok(mla_merkle_root_at(&rn, n, uniform_read, &reads));
        reads = 0;
        tu_assert_ok(mla_merkle_consistency_prove(&p, m, n, uniform_read, &reads));
        ck_assert_int_le(reads, MAX_READS);
        ck_assert_uint_le(p.n, MLA_MERKLE_PROOF_MAX);
        tu_assert_ok(mla_merkle_consistency_verify(m, n, &rm, &rn, &p));
        reads = 0;
        tu_assert_ok(mla_merkle_inclusion_prove(&p, m - 1, n, uniform_read, &reads));
        ck_assert_int_le(reads, MAX_READS);
        tu_assert_ok(uniform_read(&reads, 0, m - 1, &leaf));
        tu_assert_ok(mla_merkle_inclusion_verify(&leaf, m - 1, n, &p, &rn));
    }
}
END_TEST

static Suite *merkle_suite(void)
{
    Suite *s = suite_create("merkle");
    TCase *tc = tcase_create("hashing");
    tcase_add_test(tc, test_merkle_empty_root_is_sha256_of_nothing);
    tcase_add_test(tc, test_merkle_leaf_and_node_hashes_are_domain_separated);
    suite_add_tcase(s, tc);

    tc = tcase_create("vectors");
    tcase_add_test(tc, test_merkle_vector_nodes_and_roots);
    tcase_add_test(tc, test_merkle_vector_inclusion_proofs_match_and_verify);
    tcase_add_test(tc, test_merkle_vector_consistency_proofs_match_and_verify);
    suite_add_tcase(s, tc);

    tc = tcase_create("properties");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_merkle_random_inclusion_proofs_verify_and_resist_tampering);
    tcase_add_test(tc, test_merkle_random_consistency_proofs_verify_and_resist_tampering);
    tcase_add_test(tc, test_merkle_proofs_equal_the_rfc_recursion);
    tcase_add_test(tc, test_merkle_root_at_equals_fresh_tree_root);
    tcase_add_test(tc, test_merkle_frontier_load_reproduces_frontier);
    tcase_add_test(tc, test_merkle_append_writes_each_perfect_subtree_once);
    tcase_add_test(tc, test_merkle_proofs_at_the_largest_sizes);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_add_test(tc, test_merkle_reader_error_passes_up_unchanged);
    tcase_add_test(tc, test_merkle_missing_nodes_report_notfound);
    tcase_add_test(tc, test_merkle_writer_error_leaves_frontier_unchanged);
    tcase_add_test(tc, test_merkle_full_frontier_refuses_append);
    tcase_add_test(tc, test_merkle_proof_decode_rejects_bad_lengths);
    tcase_add_test(tc, test_merkle_proof_encode_failure_leaves_buffer_unchanged);
    tcase_add_test(tc, test_merkle_consistency_refuses_size_zero_and_backwards);
    tcase_add_test(tc, test_merkle_inclusion_refuses_index_at_or_past_size);
    tcase_add_test(tc, test_merkle_verify_names_wrong_proof_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(merkle_suite()); }
