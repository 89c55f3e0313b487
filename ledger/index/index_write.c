/* index_write: the index records of one entry, and the decision records of a
 * DECISION_BATCH (layout in index.h). The sequencer puts them into the same
 * synced group commit as the entry, so they exist exactly when it does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "index/index.h"

/* A key under construction: prefix bytes, text parts separated by 00, and
 * big-endian integers. Overflow is caught once, at the end. */
typedef struct key {
    uint8_t b[MLA_STORE_KEY_MAX];
    size_t len;
    bool over;
} key;

static void k_start(key *k, uint8_t sub)
{
    k->b[0] = MLA_INDEX_K_PREFIX;
    k->b[1] = sub;
    k->len = 2;
    k->over = false;
}

static void k_bytes(key *k, const void *p, size_t n)
{
    if (k->over || n > sizeof k->b - k->len) {
        k->over = true;
        return;
    }
    if (n) memcpy(k->b + k->len, p, n);
    k->len += n;
}

static void k_text(key *k, mla_slice s)
{
    k_bytes(k, s.ptr, s.len);
    k_bytes(k, "", 1); /* the 00 separator */
}

static void k_u64(key *k, uint64_t v)
{
    uint8_t b[8];
    mla_put_be64(b, v);
    k_bytes(k, b, 8);
}

static mla_status k_put(const key *k, mla_slice value, mla_index_put put, void *ctx)
{
    if (k->over)
        return mla_err(MLA_EINVAL, "index: key of over %u bytes (names too long)",
                       MLA_STORE_KEY_MAX);
    return put(ctx, mla_slice_make(k->b, k->len), value);
}

/* The subject identity of the entry at seq (an APPROVAL's approved_seq). */
static mla_status subject_of(mla_buf *out, const mla_index_reader *r, uint64_t seq)
{
    mla_buf bytes;
    mla_pb_entry *e = NULL;
    mla_pb_change *c = NULL;
    mla_buf_init(&bytes, MLA_LIMIT_ENTRY_BYTES);
    mla_status rc = mla_index_entry_load(r, seq, &bytes, true, &e, &c);
    if (rc == MLA_OK)
        rc = c && c->subject ? mla_codec_artifact_identity(out, c->subject) : MLA_ENOTFOUND;
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    mla_buf_dispose(&bytes);
    return rc;
}

static mla_status approval_put(const mla_index_reader *r, uint64_t seq, const mla_pb_change *c,
                               mla_index_put put, void *ctx, mla_buf *id)
{
    const Mlaudit__V1__Approval *a = c->approval;
    key k;
    mla_buf approved;
    mla_status rc = MLA_OK;
    mla_buf_init(&approved, MLA_STORE_KEY_MAX);
    if (a->approved) {
        mla_buf_clear(id);
        MLA_TRY(mla_codec_artifact_identity(id, a->approved));
        k_start(&k, 'p');
        k_text(&k, mla_buf_slice(id));
        k_u64(&k, seq);
        MLA_TRY(k_put(&k, mla_slice_make(NULL, 0), put, ctx));
    }
    if (a->approved_seq > 0 || !a->approved) {
        if (a->approved_seq >= seq)
            return mla_err(MLA_EINVAL,
                           "change.approval.approved_seq: %llu is not an earlier entry (this is "
                           "seq %llu)",
                           (unsigned long long)a->approved_seq, (unsigned long long)seq);
        rc = subject_of(&approved, r, a->approved_seq);
        if (rc == MLA_ENOTFOUND) {
            rc = MLA_OK; /* an approval of an entry with no subject: nothing to index */
        } else if (rc == MLA_OK &&
                   !(a->approved && mla_slice_eq(mla_buf_slice(&approved), mla_buf_slice(id)))) {
            k_start(&k, 'p');
            k_text(&k, mla_buf_slice(&approved));
            k_u64(&k, seq);
            rc = k_put(&k, mla_slice_make(NULL, 0), put, ctx);
        }
    }
    mla_buf_dispose(&approved);
    return rc;
}

mla_status mla_index_entry_put(const mla_index_reader *r, uint64_t seq, const mla_pb_change *c,
                               mla_index_put put, void *ctx)
{
    uint8_t kind = (uint8_t)c->kind;
    mla_slice kind_v = mla_slice_make(&kind, 1);
    mla_buf id, scope, in_id;
    key k;
    mla_status rc;
    mla_buf_init(&id, MLA_STORE_KEY_MAX);
    mla_buf_init(&scope, MLA_STORE_KEY_MAX);
    mla_buf_init(&in_id, MLA_STORE_KEY_MAX);

    k_start(&k, 'k');
    k_bytes(&k, &kind, 1);
    k_u64(&k, seq);
    if ((rc = k_put(&k, mla_slice_make(NULL, 0), put, ctx)) != MLA_OK) goto out;

    if (c->actor && c->actor[0]) {
        k_start(&k, 'a');
        k_text(&k, mla_slice_cstr(c->actor));
        k_u64(&k, seq);
        if ((rc = k_put(&k, kind_v, put, ctx)) != MLA_OK) goto out;
    }

    const char *target = mla_codec_change_target(c);
    if (target && target[0]) {
        k_start(&k, 'g');
        k_text(&k, mla_slice_cstr(target));
        k_u64(&k, seq);
        if ((rc = k_put(&k, kind_v, put, ctx)) != MLA_OK) goto out;
    }
    if (target && target[0] && c->kind != MLAUDIT__V1__KIND__KIND_DECISION_BATCH) {
        /* The timeline's own record: a replay (every ResolveDecision, every
         * policy check) walks only the entries that change what serves,
         * not the target's many DECISION_BATCHes. */
        k_start(&k, 'h');
        k_text(&k, mla_slice_cstr(target));
        k_u64(&k, seq);
        if ((rc = k_put(&k, kind_v, put, ctx)) != MLA_OK) goto out;
    }
    if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT &&
        c->deployment->serving_key.len == 32) {
        /* Signatures name keys by keyid; keep the key itself beside it. */
        uint8_t v[40];
        mla_hash keyid;
        mla_put_be64(v, seq);
        memcpy(v + 8, c->deployment->serving_key.data, 32);
        mla_crypto_sha256(&keyid, mla_slice_make(v + 8, 32));
        /* One record per naming (seq in the key): a key named again by a
         * later DEPLOYMENT keeps its first naming, which is what decides
         * whether a batch before the second one could use it. */
        k_start(&k, 'q');
        k_text(&k, mla_slice_cstr(target));
        k_bytes(&k, keyid.b, 32);
        k_u64(&k, seq);
        if ((rc = k_put(&k, mla_slice_make(v, 40), put, ctx)) != MLA_OK) goto out;
    }

    if (c->subject) {
        if ((rc = mla_codec_artifact_identity(&id, c->subject)) != MLA_OK) goto out;
        if ((rc = mla_codec_artifact_scope(&scope, c->subject)) != MLA_OK) goto out;
        k_start(&k, 's');
        k_text(&k, mla_buf_slice(&id));
        k_u64(&k, seq);
        if ((rc = k_put(&k, kind_v, put, ctx)) != MLA_OK) goto out;
        k_start(&k, 'n');
        k_text(&k, mla_buf_slice(&scope));
        k_u64(&k, seq);
        if ((rc = k_put(&k, kind_v, put, ctx)) != MLA_OK) goto out;
        /* SPEC §6: inputs are lineage edges, indexed both ways so upstream
         * and downstream are each one pass. */
        for (size_t i = 0; i < c->n_inputs; i++) {
            const mla_pb_input *in = c->inputs[i];
            mla_slice role = mla_slice_cstr(in->role);
            mla_buf_clear(&in_id);
            if ((rc = mla_codec_artifact_identity(&in_id, in->artifact)) != MLA_OK) goto out;
            k_start(&k, 'u');
            k_text(&k, mla_buf_slice(&id));
            k_text(&k, mla_buf_slice(&in_id));
            k_u64(&k, seq);
            if ((rc = k_put(&k, role, put, ctx)) != MLA_OK) goto out;
            k_start(&k, 'w');
            k_text(&k, mla_buf_slice(&in_id));
            k_text(&k, mla_buf_slice(&id));
            k_u64(&k, seq);
            if ((rc = k_put(&k, role, put, ctx)) != MLA_OK) goto out;
        }
    }
    if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_APPROVAL)
        rc = approval_put(r, seq, c, put, ctx, &in_id);
out:
    mla_buf_dispose(&in_id);
    mla_buf_dispose(&scope);
    mla_buf_dispose(&id);
    return rc;
}

mla_status mla_index_violation_put(uint64_t seq, mla_slice text, mla_index_put put, void *ctx)
{
    uint8_t k[9];
    k[0] = MLA_INDEX_K_VIOLATION;
    mla_put_be64(k + 1, seq);
    return put(ctx, mla_slice_make(k, sizeof k), text);
}

static void decision_key(key *k, const char *target, const char *id)
{
    k->b[0] = MLA_INDEX_K_DECISION_ID;
    k->len = 1;
    k->over = false;
    k_text(k, mla_slice_cstr(target));
    k_bytes(k, id, strlen(id));
}

void mla_index_decisions_key(uint8_t out[MLA_INDEX_DECISIONS_KEY_LEN], uint64_t batch_seq)
{
    out[0] = MLA_INDEX_K_DECISIONS;
    mla_put_be64(out + 1, batch_seq);
}

mla_status mla_index_decisions_next(mla_reader *r, mla_slice *out)
{
    mla_slice len;
    if (mla_reader_left(r) == 0) return MLA_ENOTFOUND;
    if (mla_reader_bytes(r, &len, 4, "store.decisions") != MLA_OK ||
        mla_reader_bytes(r, out, mla_get_be32(len.ptr), "store.decisions") != MLA_OK)
        return mla_err(MLA_ECORRUPT, "store.decisions: truncated record");
    return MLA_OK;
}

mla_status mla_index_decision_find(const mla_index_view *view, const char *target, const char *id,
                                   uint64_t *batch_seq_out, uint32_t *index_out)
{
    key k;
    mla_buf tmp;
    mla_slice v;
    decision_key(&k, target, id);
    if (k.over) return mla_err(MLA_EINVAL, "decision id: too long");
    mla_buf_init(&tmp, 64);
    mla_status rc = mla_index_view_get(view, mla_slice_make(k.b, k.len), &tmp, &v);
    if (rc == MLA_OK && v.len != 12)
        rc = mla_err(MLA_ECORRUPT, "store: decision record of %zu bytes", v.len);
    if (rc == MLA_OK) {
        *batch_seq_out = mla_get_be64(v.ptr);
        *index_out = mla_get_be32(v.ptr + 8);
    }
    mla_buf_dispose(&tmp);
    return rc;
}

typedef struct first_naming {
    bool found;
    uint64_t seq;
    uint8_t pub[32];
} first_naming;

static mla_status first_visit(void *ctx, mla_slice k, mla_slice value)
{
    (void)k;
    first_naming *f = ctx;
    if (value.len != 40)
        return mla_err(MLA_ECORRUPT, "store: serving key record of %zu bytes", value.len);
    f->found = true;
    f->seq = mla_get_be64(value.ptr);
    memcpy(f->pub, value.ptr + 8, 32);
    return MLA_ENOTFOUND; /* the first (lowest seq) is the one wanted */
}

mla_status mla_index_serving_key_find(const mla_index_view *view, const char *target,
                                      const mla_hash *keyid, uint64_t *seq_out, uint8_t pub_out[32])
{
    key k;
    k_start(&k, 'q');
    k_text(&k, mla_slice_cstr(target));
    k_bytes(&k, keyid->b, 32);
    if (k.over) return mla_err(MLA_EINVAL, "target: too long");
    first_naming f = {false, 0, {0}};
    mla_status rc = mla_index_view_scan(view, mla_slice_make(k.b, k.len), first_visit, &f);
    if (rc != MLA_OK && rc != MLA_ENOTFOUND) return rc;
    if (!f.found)
        return mla_err(MLA_ENOTFOUND, "target %s: no DEPLOYMENT named this serving key", target);
    *seq_out = f.seq;
    memcpy(pub_out, f.pub, 32);
    return MLA_OK;
}

static int by_id(const void *a, const void *b)
{
    const mla_index_decision *x = *(const mla_index_decision *const *)a;
    const mla_index_decision *y = *(const mla_index_decision *const *)b;
    int c = strcmp(x->d->id, y->d->id);
    return c ? c : (x < y ? -1 : x > y);
}

/* Ids twice in one batch, found by sorting (batches hold thousands). */
static mla_status unique_ids(const mla_index_decision *ds, size_t n)
{
    const mla_index_decision **p = mla_calloc(n, sizeof *p);
    if (!p) return mla_err(MLA_ENOMEM, "decisions: out of memory");
    for (size_t i = 0; i < n; i++) p[i] = &ds[i];
    qsort(p, n, sizeof *p, by_id);
    mla_status rc = MLA_OK;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(p[i - 1]->d->id, p[i]->d->id) == 0) {
            rc = mla_err(MLA_EEXISTS, "decisions[%zu].id: \"%s\" appears twice in the batch",
                         (size_t)(p[i] - ds), p[i]->d->id);
            break;
        }
    }
    mla_free(p);
    return rc;
}

mla_status mla_index_decisions_put(const mla_index_view *view, uint64_t batch_seq,
                                   const char *target, const mla_index_decision *ds, size_t n,
                                   mla_index_put put, void *ctx)
{
    if (n == 0 || n > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "decisions: %zu not in 1..%d", n, MLA_INDEX_BATCH_DECISIONS_MAX);
    mla_buf all;
    key k;
    mla_status rc = MLA_OK;
    if ((rc = unique_ids(ds, n)) != MLA_OK) return rc;
    mla_buf_init(&all, MLA_STORE_VALUE_MAX);
    for (size_t i = 0; i < n && rc == MLA_OK; i++) {
        const mla_pb_decision *d = ds[i].d;
        if (strcmp(d->target, target) != 0) {
            rc = mla_err(MLA_EINVAL, "decisions[%zu].target: \"%s\" is not the batch's \"%s\"", i,
                         d->target, target);
            break;
        }
        /* Ids are unique per target: earlier batches, and earlier in this one. */
        uint64_t seq;
        uint32_t idx;
        rc = mla_index_decision_find(view, target, d->id, &seq, &idx);
        if (rc == MLA_OK) {
            rc = mla_err(MLA_EEXISTS,
                         "decisions[%zu].id: \"%s\" is already recorded on target \"%s\" "
                         "(batch seq %llu)",
                         i, d->id, target, (unsigned long long)seq);
            break;
        }
        if (rc != MLA_ENOTFOUND) break;
        rc = MLA_OK;
        uint8_t len[4];
        mla_put_be32(len, (uint32_t)ds[i].bytes.len);
        if ((rc = mla_buf_append(&all, len, 4)) != MLA_OK) break;
        if ((rc = mla_buf_append(&all, ds[i].bytes.ptr, ds[i].bytes.len)) != MLA_OK) break;
        uint8_t v[12];
        mla_put_be64(v, batch_seq);
        mla_put_be32(v + 8, (uint32_t)i);
        decision_key(&k, target, d->id);
        if ((rc = k_put(&k, mla_slice_make(v, 12), put, ctx)) != MLA_OK) break;
        k.b[0] = MLA_INDEX_K_DECISION_BY_ID;
        k.len = 1;
        k_text(&k, mla_slice_cstr(d->id));
        k_bytes(&k, target, strlen(target));
        if ((rc = k_put(&k, mla_slice_make(NULL, 0), put, ctx)) != MLA_OK) break;
    }
    if (rc == MLA_OK) {
        uint8_t kb[MLA_INDEX_DECISIONS_KEY_LEN];
        mla_index_decisions_key(kb, batch_seq);
        rc = put(ctx, mla_slice_make(kb, sizeof kb), mla_buf_slice(&all));
    }
    mla_buf_dispose(&all);
    return rc;
}
