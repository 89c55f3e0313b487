/* index_decision: decision receipts (SPEC §3): find where decision (target,
 * id) was recorded, and prove it in its DECISION_BATCH tree, checking the
 * stored decisions against the root the batch entry committed to. */
#include <string.h>

#include "index/index.h"
#include "merkle/merkle.h"

static mla_status text_check(const char *s, const char *field, size_t max)
{
    if (!s || s[0] == '\0') return mla_err(MLA_EINVAL, "%s: empty", field);
    size_t n = strlen(s);
    if (n > max) return mla_err(MLA_EINVAL, "%s: %zu bytes exceeds limit %zu", field, n, max);
    return MLA_OK;
}

/* ---- finding the target of an id -------------------------------------- */

typedef struct byid {
    const mla_index_reader *r;
    const char *id;
    size_t prefix_len;
    char *targets[2]; /* the first two targets with the id below the tree size */
    size_t n;
} byid;

static mla_status byid_visit(void *ctx, mla_slice key, mla_slice value)
{
    byid *b = ctx;
    (void)value;
    if (key.len <= b->prefix_len)
        return mla_err(MLA_ECORRUPT, "index: decision id key of %zu bytes", key.len);
    char *target = mla_strndup((const char *)key.ptr + b->prefix_len, key.len - b->prefix_len);
    if (!target) return mla_err(MLA_ENOMEM, "decision: out of memory for a target");
    uint64_t batch;
    uint32_t index;
    mla_status rc = mla_index_decision_find(&b->r->view, target, b->id, &batch, &index);
    if (rc == MLA_ENOTFOUND)
        rc = mla_err(MLA_ECORRUPT, "index: decision \"%.256s\" on \"%.256s\" has no 'X' record",
                     b->id, target);
    if (rc != MLA_OK || batch >= b->r->tree_size) {
        mla_free(target);
        return rc;
    }
    b->targets[b->n++] = target;
    return b->n == 2 ? MLA_ENOTFOUND : MLA_OK; /* two are enough to refuse */
}

static mla_status target_of(char **out, const mla_index_reader *r, const char *id)
{
    uint8_t kb[2 + MLA_LIMIT_DECISION_ID];
    byid b;
    memset(&b, 0, sizeof b);
    b.r = r;
    b.id = id;
    size_t n = strlen(id);
    kb[0] = MLA_INDEX_K_DECISION_BY_ID;
    memcpy(kb + 1, id, n);
    kb[1 + n] = 0;
    b.prefix_len = n + 2;
    mla_status rc = mla_index_view_scan(&r->view, mla_slice_make(kb, b.prefix_len), byid_visit, &b);
    if (rc == MLA_ENOTFOUND && b.n == 2) {
        rc = mla_err(MLA_EINVAL,
                     "target: decision id \"%.128s\" is recorded on targets %.128s and %.128s; "
                     "name one",
                     id, b.targets[0], b.targets[1]);
    } else if (rc == MLA_OK && b.n == 0) {
        rc = mla_err(MLA_ENOTFOUND, "id: decision \"%.256s\" not recorded", id);
    }
    if (rc == MLA_OK) {
        *out = b.targets[0];
        b.targets[0] = NULL;
    }
    mla_free(b.targets[0]);
    mla_free(b.targets[1]);
    return rc;
}

/* ---- the batch tree ------------------------------------------------------ */

/* Every perfect subtree of the batch: levels[l][i] covers leaves
 * [i << l, (i + 1) << l). A batch is at most 4096 leaves, so all of it fits. */
typedef struct tree {
    mla_hash *levels[MLA_MERKLE_MAX_DEPTH];
    uint64_t width[MLA_MERKLE_MAX_DEPTH];
    unsigned n_levels;
} tree;

static void tree_dispose(tree *t)
{
    for (unsigned l = 0; l < t->n_levels; l++) mla_free(t->levels[l]);
    memset(t, 0, sizeof *t);
}

static mla_status tree_build(tree *t, mla_hash *leaves, size_t n)
{
    memset(t, 0, sizeof *t);
    t->levels[0] = leaves; /* adopted */
    t->width[0] = n;
    t->n_levels = 1;
    while (t->width[t->n_levels - 1] >= 2) {
        unsigned l = t->n_levels;
        uint64_t w = t->width[l - 1] / 2;
        t->levels[l] = mla_calloc((size_t)w, sizeof(mla_hash));
        if (!t->levels[l]) return mla_err(MLA_ENOMEM, "decision: out of memory for a tree level");
        for (uint64_t i = 0; i < w; i++)
            mla_merkle_node_hash(&t->levels[l][i], &t->levels[l - 1][2 * i],
                                 &t->levels[l - 1][2 * i + 1]);
        t->width[l] = w;
        t->n_levels++;
    }
    return MLA_OK;
}

static mla_status tree_node(void *ctx, unsigned level, uint64_t index, mla_hash *out)
{
    const tree *t = ctx;
    if (level >= t->n_levels || index >= t->width[level])
        return mla_err(MLA_ENOTFOUND, "decision: no node (%u, %llu) in the batch tree", level,
                       (unsigned long long)index);
    *out = t->levels[level][index];
    return MLA_OK;
}

/* The root the batch entry at seq committed to, and its decision count. */
static mla_status batch_root(const mla_index_reader *r, uint64_t seq, mla_hash *root,
                             uint64_t *count)
{
    mla_buf bytes;
    mla_pb_entry *e = NULL;
    mla_pb_change *c = NULL;
    mla_status rc;
    mla_buf_init(&bytes, MLA_LIMIT_ENTRY_BYTES);
    if ((rc = mla_index_entry_load(r, seq, &bytes, true, &e, &c)) != MLA_OK) goto out;
    if (!c) {
        rc = mla_err(MLA_ECORRUPT, "entry %llu: is no decision batch", (unsigned long long)seq);
        goto out;
    }
    if (c->kind != MLAUDIT__V1__KIND__KIND_DECISION_BATCH ||
        c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH) {
        rc = mla_err(MLA_ECORRUPT, "entry %llu: is a %s, not the decision batch the index names",
                     (unsigned long long)seq, mla_codec_kind_name(c->kind));
        goto out;
    }
    memcpy(root->b, c->decision_batch->root.data, sizeof root->b); /* validated: 32 bytes */
    *count = c->decision_batch->count;
out:
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    mla_buf_dispose(&bytes);
    return rc;
}

/* Split the 'D' record (be32 length, Decision bytes, repeated) into leaf
 * hashes, keeping the slice of decision `want`. */
static mla_status split(mla_slice rec, uint64_t seq, uint32_t want, mla_hash **leaves_out,
                        size_t *n_out, mla_slice *wanted)
{
    size_t n = 0;
    mla_hash *leaves;
    mla_reader rd;
    mla_slice d;
    mla_status rc;
    mla_reader_init(&rd, rec);
    /* Count first, so the leaf array is sized once and bounded. */
    while ((rc = mla_index_decisions_next(&rd, &d)) == MLA_OK)
        if (++n > MLA_INDEX_BATCH_DECISIONS_MAX) goto bad;
    if (rc != MLA_ENOTFOUND || n == 0 || want >= n) goto bad;
    leaves = mla_calloc(n, sizeof *leaves);
    if (!leaves) return mla_err(MLA_ENOMEM, "decision: out of memory for %zu leaves", n);
    mla_reader_init(&rd, rec);
    for (size_t i = 0; i < n; i++) {
        mla_ignore(mla_index_decisions_next(&rd, &d)); /* checked above */
        /* SPEC §3: a decision leaf is SHA-256(0x00 || decision bytes). */
        mla_merkle_leaf_hash(&leaves[i], d);
        if (i == want) *wanted = d;
    }
    *leaves_out = leaves;
    *n_out = n;
    return MLA_OK;
bad:
    return mla_err(MLA_ECORRUPT, "decisions of batch %llu: malformed record (decision %u of %zu)",
                   (unsigned long long)seq, want, n);
}

mla_status mla_index_decision_prove(mla_index_decision_found *out, const mla_index_reader *r,
                                    const char *target, const char *id)
{
    char *found_target = NULL;
    mla_hash *leaves = NULL;
    mla_pb_decision *dec = NULL;
    tree t;
    mla_buf rec;
    mla_status rc;
    memset(&t, 0, sizeof t);
    mla_buf_init(&rec, MLA_STORE_VALUE_MAX);
    MLA_TRY(text_check(id, "id", MLA_LIMIT_DECISION_ID));
    if (target && target[0]) {
        MLA_TRY(text_check(target, "target", MLA_LIMIT_NAME));
    } else {
        MLA_TRY(target_of(&found_target, r, id));
        target = found_target;
    }
    uint64_t batch;
    uint32_t index;
    rc = mla_index_decision_find(&r->view, target, id, &batch, &index);
    if (rc != MLA_OK && rc != MLA_ENOTFOUND) goto out;
    if (rc == MLA_ENOTFOUND || batch >= r->tree_size) {
        rc = mla_err(MLA_ENOTFOUND, "id: decision \"%.256s\" not recorded on target \"%.256s\"", id,
                     target);
        goto out;
    }

    uint8_t kb[MLA_INDEX_DECISIONS_KEY_LEN];
    mla_slice v;
    mla_index_decisions_key(kb, batch);
    rc = mla_index_view_get(&r->view, mla_slice_make(kb, sizeof kb), &rec, &v);
    if (rc == MLA_ENOTFOUND)
        rc = mla_err(MLA_ECORRUPT, "decisions of batch %llu: missing", (unsigned long long)batch);
    if (rc != MLA_OK) goto out;
    size_t n = 0;
    mla_slice d;
    if ((rc = split(v, batch, index, &leaves, &n, &d)) != MLA_OK) goto out;

    /* The decision at that place must be the one asked for: the index maps
     * an id to a place, and only the root binds what is there. */
    if ((rc = mla_codec_decision_decode(&dec, d)) != MLA_OK) {
        if (rc != MLA_ENOMEM)
            rc = mla_err(MLA_ECORRUPT, "decisions of batch %llu: decision %u does not decode",
                         (unsigned long long)batch, index);
        goto out;
    }
    if (strcmp(dec->id, id) != 0 || strcmp(dec->target, target) != 0) {
        rc = mla_err(MLA_ECORRUPT, "decisions of batch %llu: decision %u is not \"%.256s\"",
                     (unsigned long long)batch, index, id);
        goto out;
    }

    mla_hash want_root, root;
    uint64_t want_count = 0;
    if ((rc = batch_root(r, batch, &want_root, &want_count)) != MLA_OK) goto out;
    mla_hash *adopted = leaves;
    leaves = NULL;
    if ((rc = tree_build(&t, adopted, n)) != MLA_OK) goto out;
    if ((rc = mla_merkle_root_at(&root, n, tree_node, &t)) != MLA_OK) goto out;
    if (want_count != n || !mla_hash_eq(&root, &want_root)) {
        rc = mla_err(MLA_ECORRUPT,
                     "decisions of batch %llu: %zu stored decisions do not hash to the batch "
                     "entry's change.decision_batch.root (count %llu)",
                     (unsigned long long)batch, n, (unsigned long long)want_count);
        goto out;
    }
    mla_merkle_proof proof;
    if ((rc = mla_merkle_inclusion_prove(&proof, index, n, tree_node, &t)) != MLA_OK) goto out;
    MLA_ASSERT(proof.n <= sizeof out->path / sizeof out->path[0]);
    if ((rc = mla_buf_set(&out->decision, d)) != MLA_OK) goto out;
    out->batch_seq = batch;
    out->index = index;
    out->count = (uint32_t)n;
    out->leaf = t.levels[0][index];
    out->root = root;
    memcpy(out->path, proof.h, proof.n * sizeof proof.h[0]);
    out->path_len = proof.n;
out:
    mla_codec_decision_free(dec);
    tree_dispose(&t);
    mla_free(leaves);
    mla_buf_dispose(&rec);
    mla_free(found_target);
    return rc;
}
