/* log_decisions: decision receipts (SPEC §3). A DECISION_BATCH entry commits
 * to an RFC 6962 tree over its decisions; the decisions themselves and their
 * id index are written in the same group commit (index.h layout). Batches
 * come sealed by a serving process (signed by the serving key its target's
 * DEPLOYMENT named) or are sealed here, signed with the log's own key. */
#include <stdio.h>
#include <string.h>

#include "log/log_int.h"

void mla_log__decisions_free(mla_index_decision *ds, size_t n)
{
    if (!ds) return;
    for (size_t i = 0; i < n; i++) {
        mla_codec_decision_free((mla_pb_decision *)(uintptr_t)ds[i].d);
        ds[i].d = NULL;
    }
}

/* Decode decisions (ds_out has n slots; on error none is left decoded). */
static mla_status decode_all(mla_index_decision *ds, const mla_slice *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) ds[i].d = NULL;
    for (size_t i = 0; i < n; i++) {
        mla_pb_decision *d;
        mla_status rc = mla_codec_decision_decode(&d, bytes[i]);
        if (rc != MLA_OK) {
            mla_error e = *mla_error_last();
            mla_log__decisions_free(ds, i);
            return mla_error_set(rc, e.file, e.line, "decisions[%zu]: %s", i, e.msg);
        }
        ds[i].bytes = bytes[i];
        ds[i].d = d;
    }
    return MLA_OK;
}

/* What a batch over the decoded decisions ds[0..n) must say: its RFC 6962
 * root and its time range. */
static mla_status summarize(const mla_index_decision *ds, size_t n, mla_hash *root, int64_t *first,
                            int64_t *last)
{
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    for (size_t i = 0; i < n; i++) {
        const mla_index_decision *x = &ds[i];
        /* SPEC §3: a decision leaf is SHA-256(0x00 || decision bytes). */
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, x->bytes);
        MLA_TRY(mla_merkle_frontier_append(&f, &leaf, NULL, NULL));
        if (i == 0 || x->d->time_ns < *first) *first = x->d->time_ns;
        if (i == 0 || x->d->time_ns > *last) *last = x->d->time_ns;
    }
    mla_merkle_frontier_root(&f, root);
    return MLA_OK;
}

mla_status mla_log__decisions_check(const mla_index_decision **ds_out, mla_index_decision *own,
                                    const mla_pb_change *c, const mla_log_decisions *dl)
{
    size_t n = dl->n;
    const char *p = "change.decision_batch";
    if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH)
        return mla_err(MLA_EINVAL, "%s: missing", p);
    const Mlaudit__V1__DecisionBatch *b = c->decision_batch;
    if (n == 0 || n > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "decisions: %zu not in 1..%d", n, MLA_INDEX_BATCH_DECISIONS_MAX);
    if (b->count != n)
        return mla_err(MLA_EINVAL, "%s.count: %llu, but %zu decisions came with it", p,
                       (unsigned long long)b->count, n);
    mla_hash root;
    int64_t first = 0, last = 0;
    const mla_index_decision *ds = dl->ds;
    if (!ds) {
        MLA_TRY(decode_all(own, dl->bytes, n));
        ds = own;
    }
    mla_status rc = summarize(ds, n, &root, &first, &last);
    if (rc == MLA_OK && (b->root.len != 32 || memcmp(b->root.data, root.b, 32) != 0))
        rc = mla_err(MLA_EINVAL, "%s.root: is not the RFC 6962 root of its %zu decisions", p, n);
    else if (rc == MLA_OK && (b->first_time_ns != first || b->last_time_ns != last))
        rc = mla_err(MLA_EINVAL,
                     "%s.first_time_ns: [%lld, %lld] is not the decisions' time range [%lld, %lld]",
                     p, (long long)b->first_time_ns, (long long)b->last_time_ns, (long long)first,
                     (long long)last);
    for (size_t i = 0; rc == MLA_OK && i < n; i++)
        if (strcmp(ds[i].d->target, b->target) != 0)
            rc = mla_err(MLA_EINVAL, "decisions[%zu].target: \"%s\" is not the batch's \"%s\"", i,
                         ds[i].d->target, b->target);
    if (rc != MLA_OK && ds == own) mla_log__decisions_free(own, n);
    if (rc == MLA_OK) *ds_out = ds;
    return rc;
}

bool mla_log__batch_key_lookup(mla_log *log, const mla_index_view *view, const char *target,
                               const mla_hash *keyid, mla_log_keyrec *out)
{
    memset(out, 0, sizeof *out);
    out->keyid = *keyid;
    out->role = MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING;
    out->allowed = 1u << MLAUDIT__V1__KIND__KIND_DECISION_BATCH;
    if (memcmp(keyid->b, log->own_keyid.b, 32) == 0) {
        out->pub = *mla_crypto_key_public(log->signing_key);
        out->seq = UINT64_MAX;
        return true;
    }
    uint64_t seq;
    if (!target || mla_index_serving_key_find(view, target, keyid, &seq, out->pub.b) != MLA_OK)
        return false;
    out->seq = seq;
    return true;
}

mla_status mla_log_append_decisions_decoded(mla_log *log, mla_slice envelope,
                                            const mla_index_decision *decisions, size_t n,
                                            mla_slice submitter, mla_receipt *out)
{
    if (n == 0 || n > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "decisions: %zu not in 1..%d", n, MLA_INDEX_BATCH_DECISIONS_MAX);
    mla_log_decisions d = {NULL, decisions, n, NULL, NULL};
    return mla_log__append(log, &envelope, 1, submitter, out, NULL, &d);
}

mla_status mla_log_append_decisions(mla_log *log, mla_slice envelope, const mla_slice *decisions,
                                    size_t n, mla_slice submitter, mla_receipt *out)
{
    if (n == 0 || n > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "decisions: %zu not in 1..%d", n, MLA_INDEX_BATCH_DECISIONS_MAX);
    mla_log_decisions d = {decisions, NULL, n, NULL, NULL};
    return mla_log__append(log, &envelope, 1, submitter, out, NULL, &d);
}

/* ---- sealing here ------------------------------------------------------- */

static mla_status entry_time(mla_log *log, uint64_t seq, int64_t *out)
{
    mla_buf b;
    mla_pb_entry *e = NULL;
    mla_buf_init(&b, MLA_LIMIT_ENTRY_BYTES);
    mla_status rc = mla_log_entry(log, seq, &b);
    if (rc == MLA_OK) rc = mla_codec_entry_decode(&e, mla_buf_slice(&b));
    if (rc == MLA_OK) *out = e->ledger_time_ns;
    mla_codec_entry_free(e);
    mla_buf_dispose(&b);
    return rc;
}

/* One batch's stored decisions, read once and walked forward: a retried
 * seal asks for them in the order they were sealed, so a whole retried
 * batch costs one read and one pass. */
typedef struct stored_batch {
    bool loaded;
    uint64_t seq;
    mla_buf all;
    mla_reader r;
    uint32_t next; /* the index r reads next */
} stored_batch;

/* The stored bytes of decision `index` of the batch at batch_seq (borrowed
 * from sb until its next call). */
static mla_status stored_decision(mla_log *log, stored_batch *sb, uint64_t batch_seq,
                                  uint32_t index, mla_slice *out)
{
    bool other = !sb->loaded || sb->seq != batch_seq;
    if (other) {
        uint8_t k[MLA_INDEX_DECISIONS_KEY_LEN];
        mla_index_decisions_key(k, batch_seq);
        sb->loaded = false;
        MLA_TRY(mla_store_get(log->store, mla_slice_make(k, sizeof k), &sb->all));
        sb->loaded = true;
        sb->seq = batch_seq;
    }
    if (other || index < sb->next) {
        mla_reader_init(&sb->r, mla_buf_slice(&sb->all));
        sb->next = 0;
    }
    for (;;) {
        mla_status rc = mla_index_decisions_next(&sb->r, out);
        if (rc == MLA_ENOTFOUND)
            return mla_err(MLA_ECORRUPT, "store.decisions: batch %llu has no decision %u",
                           (unsigned long long)batch_seq, index);
        if (rc != MLA_OK || sb->next++ == index) return rc;
    }
}

/* A receipt for an already recorded batch (every decision was a retry). */
static mla_status receipt_of(mla_log *log, uint64_t seq, mla_receipt *out)
{
    memset(out, 0, sizeof *out);
    out->seq = seq;
    out->duplicate = true;
    MLA_TRY(entry_time(log, seq, &out->ledger_time_ns));
    MLA_TRY(mla_log_leaf_hash(log, seq, &out->leaf_hash));
    pthread_mutex_lock(&log->lock);
    out->tree_size = log->size;
    out->root = log->root;
    memcpy(out->checkpoint, log->checkpoint, log->checkpoint_len);
    out->checkpoint_len = log->checkpoint_len;
    pthread_mutex_unlock(&log->lock);
    return mla_log_inclusion_proof(log, seq, out->tree_size, &out->inclusion);
}

mla_status mla_log_seal_decisions(mla_log *log, const mla_slice *decisions, size_t n,
                                  mla_slice submitter, mla_receipt *out, size_t *skipped_out)
{
    *skipped_out = 0;
    if (n == 0 || n > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "decisions: %zu not in 1..%d", n, MLA_INDEX_BATCH_DECISIONS_MAX);
    mla_index_decision *ds = mla_calloc(n, sizeof *ds);
    if (!ds) return mla_err(MLA_ENOMEM, "decisions: out of memory");
    mla_status rc = decode_all(ds, decisions, n);
    if (rc == MLA_OK) {
        rc = mla_log_seal_decisions_decoded(log, ds, n, submitter, out, skipped_out);
        mla_log__decisions_free(ds, n);
    }
    mla_free(ds);
    return rc;
}

mla_status mla_log_seal_decisions_decoded(mla_log *log, const mla_index_decision *ds, size_t n,
                                          mla_slice submitter, mla_receipt *out,
                                          size_t *skipped_out)
{
    *skipped_out = 0;
    if (n == 0 || n > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "decisions: %zu not in 1..%d", n, MLA_INDEX_BATCH_DECISIONS_MAX);
    mla_index_decision *fresh = mla_calloc(n, sizeof *fresh);
    stored_batch sb = {0};
    mla_buf payload, env, id0, idi, reason;
    mla_buf_init(&sb.all, MLA_STORE_VALUE_MAX);
    mla_buf_init(&payload, MLA_LIMIT_PAYLOAD_BYTES);
    mla_buf_init(&env, MLA_LIMIT_ENVELOPE_BYTES);
    mla_buf_init(&id0, MLA_STORE_KEY_MAX);
    mla_buf_init(&idi, MLA_STORE_KEY_MAX);
    mla_buf_init(&reason, MLA_LIMIT_REASON);
    size_t n_fresh = 0;
    uint64_t first_dup_seq = 0;
    mla_status rc = MLA_OK;
    if (!fresh) {
        rc = mla_err(MLA_ENOMEM, "decisions: out of memory");
        goto out;
    }
    int64_t t0 = 0, t1 = 0;
    mla_index_view view = {log->store, NULL};
    bool same_model = ds[0].d->model != NULL;
    if (same_model && (rc = mla_codec_artifact_identity(&id0, ds[0].d->model)) != MLA_OK) goto out;
    for (size_t i = 0; i < n; i++) {
        const mla_pb_decision *d = ds[i].d;
        if (strcmp(d->target, ds[0].d->target) != 0) {
            rc = mla_err(MLA_EINVAL,
                         "decisions[%zu].target: \"%s\" differs from decisions[0]'s \"%s\" (one "
                         "batch is one target)",
                         i, d->target, ds[0].d->target);
            goto out;
        }
        if (same_model && i > 0) {
            mla_buf_clear(&idi);
            same_model = d->model && mla_codec_artifact_identity(&idi, d->model) == MLA_OK &&
                         mla_slice_eq(mla_buf_slice(&idi), mla_buf_slice(&id0));
        }
        /* Retries are safe: a decision already recorded with the same bytes
         * is skipped; the same id with other bytes is a conflict. */
        uint64_t bseq;
        uint32_t bidx;
        rc = mla_index_decision_find(&view, d->target, d->id, &bseq, &bidx);
        if (rc == MLA_OK) {
            mla_slice have;
            if ((rc = stored_decision(log, &sb, bseq, bidx, &have)) != MLA_OK) goto out;
            if (!mla_slice_eq(have, ds[i].bytes)) {
                rc = mla_err(MLA_EEXISTS,
                             "decisions[%zu].id: \"%s\" is already recorded on target \"%s\" "
                             "with other contents (batch seq %llu)",
                             i, d->id, d->target, (unsigned long long)bseq);
                goto out;
            }
            if (*skipped_out == 0) first_dup_seq = bseq;
            (*skipped_out)++;
            continue;
        }
        if (rc != MLA_ENOTFOUND) goto out;
        rc = MLA_OK;
        fresh[n_fresh++] = ds[i];
    }
    if (n_fresh == 0) {
        rc = receipt_of(log, first_dup_seq, out);
        goto out;
    }
    /* The batch's range and root are over the decisions it really holds. */
    mla_hash root;
    if ((rc = summarize(fresh, n_fresh, &root, &t0, &t1)) != MLA_OK) goto out;

    Mlaudit__V1__DecisionBatch batch = MLAUDIT__V1__DECISION_BATCH__INIT;
    batch.target = ds[0].d->target;
    batch.model = same_model ? ds[0].d->model : NULL;
    batch.first_time_ns = t0;
    batch.last_time_ns = t1;
    batch.count = n_fresh;
    batch.root.data = root.b;
    batch.root.len = 32;
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = MLAUDIT__V1__KIND__KIND_DECISION_BATCH;
    c.actor = (char *)(uintptr_t) "mlauditd";
    if ((rc = mla_buf_append_cstr(
             &reason, "decision receipts streamed over RecordDecisions by ")) != MLA_OK ||
        (rc = mla_buf_append_slice(&reason, submitter)) != MLA_OK ||
        (rc = mla_buf_append_cstr(&reason, ", sealed by the ledger")) != MLA_OK ||
        (rc = mla_buf_append_byte(&reason, 0)) != MLA_OK)
        goto out;
    c.reason = (char *)reason.ptr;
    c.client_time_ns = mla_log__clock_now(log); /* a test clock applies here too */
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    c.decision_batch = &batch;
    if ((rc = mla_codec_change_encode(&payload, &c)) != MLA_OK) goto out;

    uint8_t sig[MLA_ED25519_SIG_LEN];
    char keyid[MLA_KEYID_HEX_LEN + 1];
    const mla_slice type = mla_slice_cstr(MLA_PAYLOAD_TYPE_CHANGE);
    if ((rc = mla_crypto_dsse_sign(sig, log->signing_key, type, mla_buf_slice(&payload))) != MLA_OK)
        goto out;
    mla_crypto_keyid(keyid, mla_crypto_key_public(log->signing_key));
    mla_pb_signature s = MLAUDIT__V1__SIGNATURE__INIT, *sp = &s;
    s.keyid = keyid;
    s.sig.data = sig;
    s.sig.len = sizeof sig;
    mla_pb_envelope e = MLAUDIT__V1__ENVELOPE__INIT;
    e.payload_type = (char *)(uintptr_t)MLA_PAYLOAD_TYPE_CHANGE;
    e.payload.data = payload.ptr;
    e.payload.len = payload.len;
    e.n_signatures = 1;
    e.signatures = &sp;
    if ((rc = mla_codec_envelope_encode(&env, &e)) != MLA_OK) goto out;
    /* The appender adopts the envelope and change built here. */
    mla_log_decisions dl = {NULL, fresh, n_fresh, &e, &c};
    rc = mla_log__append(log, (const mla_slice[]){mla_buf_slice(&env)}, 1, submitter, out, NULL,
                         &dl);
out:
    mla_free(fresh);
    mla_buf_dispose(&reason);
    mla_buf_dispose(&idi);
    mla_buf_dispose(&id0);
    mla_buf_dispose(&env);
    mla_buf_dispose(&payload);
    mla_buf_dispose(&sb.all);
    return rc;
}

/* ---- a committed reader for index.h's queries ----------------------------- */

static mla_status read_committed(void *ctx, uint64_t seq, mla_buf *out)
{
    return mla_log_entry(ctx, seq, out);
}

void mla_log_index_reader(mla_log *log, mla_index_reader *out)
{
    memset(out, 0, sizeof *out);
    out->view.store = log->store;
    out->view.pending = NULL;
    out->read_entry = read_committed;
    out->read_ctx = log;
    out->tree_size = mla_log_size(log);
}
