/* log_sequencer: the one writer (SPEC §5). Appenders decode and verify their
 * envelopes on their own threads, in parallel, then queue a request; the
 * sequencer thread takes everything waiting (group commit), assigns seq,
 * time, prev_hash and back-links, extends the tree, and writes the group's
 * entries, nodes, indexes and one signed checkpoint in one synced batch.
 * Only then is any caller answered. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log/log_int.h"

typedef struct log_item {
    mla_slice bytes; /* the caller's envelope bytes, borrowed while it waits */
    const mla_pb_envelope *env; /* env_own, or the sealer's (borrowed) */
    const mla_pb_change *change; /* change_own, or the sealer's (borrowed) */
    mla_pb_envelope *env_own; /* decoded here from bytes */
    mla_pb_change *change_own;
    mla_hash env_hash;
    const mla_index_decision *ds; /* a DECISION_BATCH's decisions: the caller's or ds_own */
    mla_index_decision *ds_own; /* decoded here from the caller's bytes */
    size_t n_ds;
    mla_buf *entry_out; /* the caller's, for the entry's bytes; may be NULL */
    /* results */
    uint64_t seq;
    int64_t time_ns;
    mla_hash leaf;
    bool duplicate;
    mla_merkle_proof inclusion; /* in the group's tree size */
} log_item;

struct mla_log_request {
    log_item *items;
    size_t n;
    const char *submitter;
    /* results, written by the sequencer before `done` */
    mla_status rc;
    mla_error err;
    uint64_t tree_size;
    mla_hash root;
    uint8_t checkpoint[MLA_LOG_CHECKPOINT_MAX];
    size_t checkpoint_len;
    bool done;
    mla_log_request *next;
};

/* Registry updates of the current group, applied in memory after commit. */
typedef struct pending_keys {
    mla_log_keyrec recs[MLA_LOG_GROUP_MAX];
    size_t n;
} pending_keys;

/* ---- reads through the group overlay ---------------------------------- */

static mla_status seq_get(mla_log *log, mla_slice key, mla_buf *tmp, mla_slice *out)
{
    if (mla_log__overlay_get(log->overlay, key, out) == MLA_OK) return MLA_OK;
    mla_status rc = mla_store_get(log->store, key, tmp);
    if (rc == MLA_OK) *out = mla_buf_slice(tmp);
    return rc;
}

mla_status mla_log__node_read(void *ctx, unsigned level, uint64_t index, mla_hash *out)
{
    mla_log_nodes *nodes = ctx;
    mla_log_key k;
    mla_slice v;
    /* The tree before the group is its frontier: every older node a proof
     * for a new entry needs is one of these, so receipts need no reads. */
    const mla_merkle_frontier *f = nodes->frontier;
    if (f && level < MLA_MERKLE_MAX_DEPTH && (f->size >> level & 1) &&
        index == (f->size >> level) - 1) {
        *out = f->nodes[level];
        return MLA_OK;
    }
    if (mla_log__nodecache_get(nodes->cache, level, index, out)) return MLA_OK;
    mla_log__key_node(&k, level, index);
    if (!nodes->overlay ||
        mla_log__overlay_get(nodes->overlay, mla_log__key_slice(&k), &v) != MLA_OK) {
        mla_status rc = mla_store_get(nodes->store, mla_log__key_slice(&k), &nodes->buf);
        if (rc == MLA_ENOTFOUND)
            return mla_err(MLA_ECORRUPT, "store: Merkle node (%u, %llu) is missing", level,
                           (unsigned long long)index);
        if (rc != MLA_OK) return rc;
        v = mla_buf_slice(&nodes->buf);
    }
    if (v.len != 32)
        return mla_err(MLA_ECORRUPT, "store: Merkle node (%u, %llu) has %zu bytes", level,
                       (unsigned long long)index, v.len);
    memcpy(out->b, v.ptr, 32);
    /* Only committed nodes: the overlay's may yet be rolled back. */
    if (v.ptr == nodes->buf.ptr) mla_log__nodecache_put(nodes->cache, level, index, out);
    return MLA_OK;
}

static mla_status node_write(void *ctx, unsigned level, uint64_t index, const mla_hash *node)
{
    mla_log *log = ctx;
    mla_log_key k;
    mla_log__key_node(&k, level, index);
    return mla_log__overlay_put(log->overlay, mla_log__key_slice(&k), mla_slice_make(node->b, 32));
}

/* The index view inside the sequencer: the group's pending writes over the
 * store, so checks see the entries sequenced earlier in the same group. */
static mla_status pending_get(void *ctx, mla_slice key, mla_slice *value)
{
    return mla_log__overlay_get(ctx, key, value);
}

static mla_status pending_scan(void *ctx, mla_slice prefix, mla_index_visit fn, void *fn_ctx)
{
    return mla_log__overlay_scan(ctx, prefix, fn, fn_ctx);
}

static mla_status seq_read_entry(void *ctx, uint64_t seq, mla_buf *out)
{
    mla_log *log = ctx;
    mla_log_key k;
    mla_slice v;
    mla_log__key_seq(&k, MLA_LOG_K_ENTRY, seq);
    if (mla_log__overlay_get(log->overlay, mla_log__key_slice(&k), &v) == MLA_OK) {
        mla_buf_clear(out);
        return mla_buf_append_slice(out, v);
    }
    return mla_store_get(log->store, mla_log__key_slice(&k), out);
}

static mla_status overlay_put_cb(void *ctx, mla_slice key, mla_slice value)
{
    return mla_log__overlay_put(ctx, key, value);
}

typedef struct seq_lookup_ctx {
    mla_log *log;
    const pending_keys *pending;
    const char *batch_target; /* a DECISION_BATCH's target, else NULL */
    const mla_index_view *view;
} seq_lookup_ctx;

/* The registry as of this point in the group: the group's own KEY entries
 * first, then the committed registry (only the sequencer writes it); for a
 * decision batch, then the log's own key and the target's serving keys. */
static bool seq_key_lookup(void *ctx, const mla_hash *keyid, mla_log_keyrec *out)
{
    seq_lookup_ctx *c = ctx;
    for (size_t i = c->pending->n; i-- > 0;) {
        if (memcmp(c->pending->recs[i].keyid.b, keyid->b, 32) == 0) {
            *out = c->pending->recs[i];
            return true;
        }
    }
    if (mla_log__registry_get(c->log->registry, keyid, out)) return true;
    return c->batch_target &&
           mla_log__batch_key_lookup(c->log, c->view, c->batch_target, keyid, out);
}

static const char *batch_target(const mla_pb_change *c)
{
    return c->kind == MLAUDIT__V1__KIND__KIND_DECISION_BATCH &&
                   c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH
               ? c->decision_batch->target
               : NULL;
}

/* Per-kind rules always; the configured policy if any. Enforce mode refuses
 * with every unmet rule; audit mode returns them in violations, to be
 * recorded beside the entry. */
static mla_status check_policy(mla_log *log, const mla_index_reader *rd, const log_item *it,
                               uint64_t seq, int64_t t, mla_buf *violations)
{
    mla_policy_candidate cand = {seq, t, it->change};
    MLA_TRY(mla_policy_kind_check(rd, &cand));
    if (!log->policy) return MLA_OK;
    MLA_TRY(mla_policy_check(log->policy, rd, &cand, violations));
    if (violations->len == 0 || mla_policy_mode_of(log->policy) == MLA_POLICY_AUDIT) return MLA_OK;
    /* One line per rule becomes "; "-separated in the one-line message. */
    for (size_t i = 0; i + 1 < violations->len; i++)
        if (violations->ptr[i] == '\n') violations->ptr[i] = ';';
    size_t len = violations->len;
    while (len > 0 && violations->ptr[len - 1] == '\n') len--;
    return mla_err(MLA_EPOLICY, "policy (enforce) refused the %s change: %.*s",
                   mla_codec_kind_name(it->change->kind), (int)len, (const char *)violations->ptr);
}

/* ---- one identity: type:name@version has one sha256 digest ------------ */

static mla_status check_identity(mla_log *log, const mla_pb_artifact *a, uint64_t seq,
                                 const char *field, mla_buf *tmp)
{
    if (!a || a->digest.len != 32) return MLA_OK; /* nothing to pin */
    mla_buf id;
    mla_log_key k;
    mla_slice v;
    mla_status rc;
    mla_buf_init(&id, MLA_LOG_KEY_MAX);
    if ((rc = mla_codec_artifact_identity(&id, a)) != MLA_OK) goto out;
    if ((rc = mla_log__key_bytes(&k, MLA_LOG_K_IDENTITY, 0, mla_buf_slice(&id))) != MLA_OK)
        goto out;
    rc = seq_get(log, mla_log__key_slice(&k), tmp, &v);
    if (rc == MLA_OK) {
        if (v.len != 40) {
            rc = mla_err(MLA_ECORRUPT, "store: identity record of %zu bytes", v.len);
        } else if (memcmp(v.ptr, a->digest.data, 32) != 0) {
            char have[65];
            mla_hex_encode_to(have, v.ptr, 32);
            rc = mla_err(MLA_EEXISTS, "%s: %.*s is already recorded with digest %s (seq %llu)",
                         field, (int)id.len, (const char *)id.ptr, have,
                         (unsigned long long)mla_get_be64(v.ptr + 32));
        }
        goto out;
    }
    if (rc != MLA_ENOTFOUND) goto out;
    uint8_t rec[40];
    memcpy(rec, a->digest.data, 32);
    mla_put_be64(rec + 32, seq);
    rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&k), mla_slice_make(rec, 40));
out:
    mla_buf_dispose(&id);
    return rc;
}

/* ---- sequencing one item ------------------------------------------------ */

static mla_status sequence_item(mla_log *log, log_item *it, const char *submitter,
                                pending_keys *pending, mla_buf *tmp)
{
    mla_log_key k;
    mla_slice v;
    mla_status rc;

    /* SPEC §4: resending an identical envelope returns the original receipt. */
    mla_log__key_hash(&k, MLA_LOG_K_DEDUPE, &it->env_hash);
    rc = seq_get(log, mla_log__key_slice(&k), tmp, &v);
    if (rc == MLA_OK) {
        if (v.len != 16) return mla_err(MLA_ECORRUPT, "store: dedupe record of %zu bytes", v.len);
        it->duplicate = true;
        it->seq = mla_get_be64(v.ptr);
        it->time_ns = (int64_t)mla_get_be64(v.ptr + 8);
        mla_log_nodes nodes = {log->store, log->nodecache, log->overlay, NULL, *tmp};
        rc = mla_log__node_read(&nodes, 0, it->seq, &it->leaf);
        *tmp = nodes.buf;
        if (rc == MLA_OK && it->entry_out) rc = seq_read_entry(log, it->seq, it->entry_out);
        return rc;
    }
    if (rc != MLA_ENOTFOUND) return rc;

    const mla_index_pending pend = {pending_get, pending_scan, log->overlay};
    mla_index_reader rd = {{log->store, &pend}, seq_read_entry, log, log->frontier.size};

    /* Re-check the keys at this point of the log: a revocation sequenced
     * after the appender verified must still win. Signatures were checked. */
    seq_lookup_ctx lc = {log, pending, batch_target(it->change), &rd.view};
    MLA_TRY(mla_log__envelope_authorize(it->env, it->change->kind, seq_key_lookup, &lc, false));

    uint64_t seq = log->frontier.size;
    if (it->change->kind == MLAUDIT__V1__KIND__KIND_KEY) {
        if (it->change->detail_case != MLAUDIT__V1__CHANGE__DETAIL_KEY)
            return mla_err(MLA_EINVAL, "change.key: required for a KEY change");
        mla_log_keyrec cur, next;
        mla_pubkey pub;
        mla_hash keyid;
        if (it->change->key->public_key.len != 32)
            return mla_err(MLA_EINVAL, "change.key.public_key: %zu bytes, want 32",
                           it->change->key->public_key.len);
        memcpy(pub.b, it->change->key->public_key.data, 32);
        mla_crypto_keyid_hash(&keyid, &pub);
        bool known = seq_key_lookup(&lc, &keyid, &cur);
        MLA_TRY(mla_log__keychange_apply(&next, known ? &cur : NULL, it->change->key, seq));
        if (pending->n == MLA_LOG_GROUP_MAX)
            return mla_err(MLA_ELIMIT, "log: too many KEY changes in one group");
        uint8_t rec[MLA_LOG_KEYREC_LEN];
        mla_log__keyrec_encode(rec, &next);
        mla_log__key_hash(&k, MLA_LOG_K_KEY, &next.keyid);
        MLA_TRY(mla_log__overlay_put(log->overlay, mla_log__key_slice(&k),
                                     mla_slice_make(rec, sizeof rec)));
        pending->recs[pending->n++] = next;
    }

    MLA_TRY(check_identity(log, it->change->subject, seq, "change.subject", tmp));
    for (size_t i = 0; i < it->change->n_inputs; i++) {
        char field[48];
        snprintf(field, sizeof field, "change.inputs[%zu].artifact", i);
        MLA_TRY(check_identity(log, it->change->inputs[i]->artifact, seq, field, tmp));
    }

    /* Ledger time never decreases, even if the wall clock steps back. */
    int64_t now = mla_log__clock_now(log);
    int64_t t = now > log->tail.last_time_ns ? now : log->tail.last_time_ns;

    mla_buf violations;
    mla_buf_init(&violations, MLA_LIMIT_REASON);
    mla_log_scope scopes[MLA_LOG_MAX_SCOPES];
    mla_pb_link links[MLA_LOG_MAX_SCOPES], *link_ptrs[MLA_LOG_MAX_SCOPES];
    mla_log_key head_keys[MLA_LOG_MAX_SCOPES];
    uint8_t prev_leaf[MLA_LOG_MAX_SCOPES][32];
    char *scope_cstr[MLA_LOG_MAX_SCOPES] = {NULL, NULL};
    size_t n_scopes = 0;
    for (size_t i = 0; i < MLA_LOG_MAX_SCOPES; i++) mla_buf_init(&scopes[i].key, MLA_LOG_KEY_MAX);
    if ((rc = check_policy(log, &rd, it, seq, t, &violations)) != MLA_OK) goto out;
    if ((rc = mla_log__change_scopes(scopes, &n_scopes, it->change)) != MLA_OK) goto out;
    for (size_t i = 0; i < n_scopes; i++) {
        mla_pb_link l = MLAUDIT__V1__LINK__INIT;
        links[i] = l;
        links[i].scope = (Mlaudit__V1__LinkScope)scopes[i].scope;
        if (!(scope_cstr[i] = mla_buf_cstr_new(&scopes[i].key))) {
            rc = mla_err(MLA_ENOMEM, "log: out of memory");
            goto out;
        }
        links[i].key = scope_cstr[i];
        rc = mla_log__key_bytes(&head_keys[i], MLA_LOG_K_HEAD, (uint8_t)scopes[i].scope,
                                mla_buf_slice(&scopes[i].key));
        if (rc != MLA_OK) goto out;
        rc = seq_get(log, mla_log__key_slice(&head_keys[i]), tmp, &v);
        if (rc == MLA_OK) {
            if (v.len != 40) {
                rc = mla_err(MLA_ECORRUPT, "store: scope head of %zu bytes", v.len);
                goto out;
            }
            links[i].prev_seq = mla_get_be64(v.ptr);
            memcpy(prev_leaf[i], v.ptr + 8, 32);
            links[i].prev_leaf_hash.data = prev_leaf[i];
            links[i].prev_leaf_hash.len = 32;
        } else if (rc != MLA_ENOTFOUND) {
            goto out;
        }
        link_ptrs[i] = &links[i];
    }

    const mla_hash *prev = &log->tail.last_leaf; /* zero for seq 0 (SPEC §3) */
    rc = mla_log__entry_encode(&log->entry_buf, seq, t, prev, it->env, submitter, link_ptrs,
                               n_scopes);
    if (rc != MLA_OK) goto out;
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, mla_buf_slice(&log->entry_buf));
    if (it->entry_out) {
        /* The caller's copy, so it need not read back what was just made. */
        mla_buf_clear(it->entry_out);
        if ((rc = mla_buf_append_slice(it->entry_out, mla_buf_slice(&log->entry_buf))) != MLA_OK)
            goto out;
    }

    uint8_t val[40];
    mla_log__key_seq(&k, MLA_LOG_K_ENTRY, seq);
    if ((rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&k),
                                   mla_buf_slice(&log->entry_buf))) != MLA_OK)
        goto out;
    mla_log__key_hash(&k, MLA_LOG_K_LEAF, &leaf);
    mla_put_be64(val, seq);
    if ((rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&k), mla_slice_make(val, 8))) !=
        MLA_OK)
        goto out;
    mla_log__key_hash(&k, MLA_LOG_K_DEDUPE, &it->env_hash);
    mla_put_be64(val + 8, (uint64_t)t);
    if ((rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&k),
                                   mla_slice_make(val, 16))) != MLA_OK)
        goto out;
    memcpy(val + 8, leaf.b, 32);
    for (size_t i = 0; i < n_scopes; i++) {
        rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&head_keys[i]),
                                  mla_slice_make(val, 40));
        if (rc != MLA_OK) goto out;
    }
    /* Indexes, decisions and violations in the same group commit as the
     * entry (SPEC §5): a crash never leaves one without the other. */
    if ((rc = mla_index_entry_put(&rd, seq, it->change, overlay_put_cb, log->overlay)) != MLA_OK)
        goto out;
    if (it->n_ds && (rc = mla_index_decisions_put(&rd.view, seq, lc.batch_target, it->ds, it->n_ds,
                                                  overlay_put_cb, log->overlay)) != MLA_OK)
        goto out;
    if (violations.len && (rc = mla_index_violation_put(seq, mla_buf_slice(&violations),
                                                        overlay_put_cb, log->overlay)) != MLA_OK)
        goto out;
    if ((rc = mla_merkle_frontier_append(&log->frontier, &leaf, node_write, log)) != MLA_OK)
        goto out;

    log->tail.size = seq + 1;
    log->tail.last_time_ns = t;
    log->tail.last_leaf = leaf;
    it->seq = seq;
    it->time_ns = t;
    it->leaf = leaf;
    it->duplicate = false;
out:
    for (size_t i = 0; i < MLA_LOG_MAX_SCOPES; i++) {
        mla_buf_dispose(&scopes[i].key);
        mla_free(scope_cstr[i]);
    }
    mla_buf_dispose(&violations);
    return rc;
}

mla_status mla_log__checkpoint_sign(const mla_log *log, uint64_t size, const mla_hash *root,
                                    uint8_t *out, size_t *out_len)
{
    mla_checkpoint cp;
    mla_buf note;
    memset(&cp, 0, sizeof cp);
    memcpy(cp.origin, log->origin, sizeof cp.origin);
    cp.size = size;
    cp.root = *root;
    mla_buf_init(&note, MLA_LOG_CHECKPOINT_MAX);
    mla_status rc =
        mla_note_checkpoint_sign(&note, &cp, mla_slice_cstr(log->key_name), log->signing_key);
    if (rc == MLA_OK) {
        memcpy(out, note.ptr, note.len);
        *out_len = note.len;
    }
    mla_buf_dispose(&note);
    return rc;
}

/* Inclusion proofs for every answered item, in the group's final tree, from
 * the group's overlay and the frontier it started from (store reads only for
 * duplicates of older entries). Done before the write, so an acknowledged
 * append cannot then fail for want of memory or a read. */
static mla_status prove_group(mla_log *log, mla_log_request *reqs,
                              const mla_merkle_frontier *before, uint64_t size, mla_buf *tmp)
{
    mla_log_nodes nodes = {log->store, log->nodecache, log->overlay, before, *tmp};
    mla_status rc = MLA_OK;
    for (mla_log_request *r = reqs; r && rc == MLA_OK; r = r->next) {
        if (r->rc != MLA_OK) continue;
        for (size_t i = 0; i < r->n && rc == MLA_OK; i++) {
            log_item *it = &r->items[i];
            /* Nodes of a duplicate's older path may lie inside frontier
             * subtrees; the reader falls back to the store for those. */
            rc = mla_merkle_inclusion_prove(&it->inclusion, it->seq, size, mla_log__node_read,
                                            &nodes);
        }
    }
    *tmp = nodes.buf;
    return rc;
}

/* ---- one group ----------------------------------------------------------- */

static void fail_request(mla_log_request *r, mla_status rc)
{
    r->rc = rc;
    r->err = *mla_error_last();
    r->err.code = rc;
}

static void process_group(mla_log *log, mla_log_request *reqs, pending_keys *pending, mla_buf *tmp)
{
    mla_merkle_frontier group_frontier = log->frontier;
    mla_log_tail group_tail = log->tail;
    size_t appended = 0;
    mla_status rc;

    mla_log__overlay_clear(log->overlay);
    pending->n = 0;
    for (mla_log_request *r = reqs; r; r = r->next) {
        r->rc = MLA_OK;
        if (log->failed != MLA_OK) {
            r->rc = log->failed;
            mla_error_set(log->failed, __FILE__, __LINE__, "%s", log->failed_msg);
            fail_request(r, log->failed);
            continue;
        }
        mla_log_savepoint sp = mla_log__overlay_savepoint(log->overlay);
        mla_merkle_frontier fr = log->frontier;
        mla_log_tail tl = log->tail;
        size_t pk = pending->n, fresh = 0;
        rc = MLA_OK;
        for (size_t i = 0; i < r->n && rc == MLA_OK; i++) {
            rc = sequence_item(log, &r->items[i], r->submitter, pending, tmp);
            if (rc != MLA_OK && r->n > 1) {
                /* Name the envelope within the batch. */
                mla_error e = *mla_error_last();
                rc = mla_error_set(rc, e.file, e.line, "envelopes[%zu]: %s", i, e.msg);
            }
            if (rc == MLA_OK && !r->items[i].duplicate) fresh++;
        }
        if (rc != MLA_OK) {
            /* AppendBatch is all or nothing: undo this request only. */
            mla_log__overlay_rollback(log->overlay, sp);
            log->frontier = fr;
            log->tail = tl;
            pending->n = pk;
            fail_request(r, rc);
            continue;
        }
        appended += fresh;
    }

    uint64_t size = log->frontier.size;
    mla_hash root;
    uint8_t note[MLA_LOG_CHECKPOINT_MAX];
    size_t note_len = 0;
    if (appended > 0) {
        mla_store_batch *batch = NULL;
        mla_log_key k;
        uint8_t tail[MLA_LOG_TAIL_LEN];
        mla_merkle_frontier_root(&log->frontier, &root);
        mla_log__tail_encode(tail, &log->tail);
        rc = mla_log__checkpoint_sign(log, size, &root, note, &note_len);
        if (rc == MLA_OK) {
            mla_log__key_single(&k, MLA_LOG_K_CHECKPOINT);
            rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&k),
                                      mla_slice_make(note, note_len));
        }
        if (rc == MLA_OK) {
            mla_log__key_seq(&k, MLA_LOG_K_CHECKPOINT_AT, size);
            rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&k),
                                      mla_slice_make(note, note_len));
        }
        if (rc == MLA_OK) {
            mla_log__key_single(&k, MLA_LOG_K_TAIL);
            rc = mla_log__overlay_put(log->overlay, mla_log__key_slice(&k),
                                      mla_slice_make(tail, sizeof tail));
        }
        if (rc == MLA_OK) rc = prove_group(log, reqs, &group_frontier, size, tmp);
        if (rc == MLA_OK) rc = mla_store_batch_new(&batch);
        if (rc == MLA_OK) rc = mla_log__overlay_to_batch(log->overlay, batch);
        bool wrote = false;
        if (rc == MLA_OK) {
            /* SPEC §5: answer only after the synced batch. */
            rc = mla_store_write(log->store, batch, true);
            wrote = true;
        }
        mla_store_batch_free(batch);
        if (rc != MLA_OK) {
            mla_error e = *mla_error_last();
            if (wrote && rc != MLA_ENOMEM) {
                /* Failure is sticky: the store's state is unknown until a
                 * restart re-verifies it (LMDB's MDB_TXN_ERROR). */
                pthread_mutex_lock(&log->lock);
                log->failed = rc;
                snprintf(log->failed_msg, sizeof log->failed_msg,
                         "log: writes stopped after a failed write (%.400s); restart to re-verify",
                         e.msg);
                pthread_mutex_unlock(&log->lock);
            }
            log->frontier = group_frontier;
            log->tail = group_tail;
            for (mla_log_request *r = reqs; r; r = r->next) {
                if (r->rc != MLA_OK) continue;
                mla_error_set(rc, e.file, e.line, "%s", e.msg);
                fail_request(r, rc);
            }
            mla_log__overlay_clear(log->overlay);
            return;
        }
        if (pending->n) {
            pthread_rwlock_wrlock(&log->registry_lock);
            for (size_t i = 0; i < pending->n; i++) {
                /* The registry grows by doubling; if that fails the key is
                 * durable but unusable until restart, which reloads it. */
                mla_status prc = mla_log__registry_put(log->registry, &pending->recs[i]);
                if (prc != MLA_OK) {
                    pthread_mutex_lock(&log->lock);
                    log->failed = prc;
                    snprintf(log->failed_msg, sizeof log->failed_msg,
                             "log: out of memory loading a committed key; restart");
                    pthread_mutex_unlock(&log->lock);
                }
            }
            pthread_rwlock_unlock(&log->registry_lock);
        }
        pthread_mutex_lock(&log->lock);
        log->n_groups++;
        log->size = size;
        log->root = root;
        memcpy(log->checkpoint, note, note_len);
        log->checkpoint_len = note_len;
        pthread_mutex_unlock(&log->lock);
        if (log->on_commit) log->on_commit(log->on_commit_ctx, size);
    } else {
        pthread_mutex_lock(&log->lock);
        root = log->root;
        memcpy(note, log->checkpoint, log->checkpoint_len);
        note_len = log->checkpoint_len;
        size = log->size;
        pthread_mutex_unlock(&log->lock);
        /* Only duplicates (or failures): their proofs come from the store. */
        rc = prove_group(log, reqs, NULL, size, tmp);
        if (rc != MLA_OK) {
            mla_error e = *mla_error_last();
            for (mla_log_request *r = reqs; r; r = r->next) {
                if (r->rc != MLA_OK) continue;
                mla_error_set(rc, e.file, e.line, "%s", e.msg);
                fail_request(r, rc);
            }
        }
    }
    for (mla_log_request *r = reqs; r; r = r->next) {
        if (r->rc != MLA_OK) continue;
        r->tree_size = size;
        r->root = root;
        memcpy(r->checkpoint, note, note_len);
        r->checkpoint_len = note_len;
    }
    mla_log__overlay_clear(log->overlay);
}

void *mla_log__sequencer_main(void *arg)
{
    mla_log *log = arg;
    pending_keys *pending = mla_malloc(sizeof *pending);
    mla_buf tmp;
    mla_buf_init(&tmp, MLA_STORE_VALUE_MAX);
    for (;;) {
        pthread_mutex_lock(&log->lock);
        while (!log->queue_head && !log->closing) pthread_cond_wait(&log->wake, &log->lock);
        if (!log->queue_head) {
            pthread_mutex_unlock(&log->lock);
            break;
        }
        /* Take everything waiting, up to group_max envelopes (at least one request). */
        mla_log_request *head = log->queue_head, *last = head;
        size_t items = head->n;
        while (last->next && items + last->next->n <= log->group_max) {
            last = last->next;
            items += last->n;
        }
        log->queue_head = last->next;
        if (!log->queue_head) log->queue_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&log->lock);

        if (pending) {
            process_group(log, head, pending, &tmp);
        } else {
            for (mla_log_request *r = head; r; r = r->next) {
                r->rc = mla_err(MLA_ENOMEM, "log: sequencer out of memory");
                fail_request(r, r->rc);
            }
        }

        pthread_mutex_lock(&log->lock);
        for (mla_log_request *r = head, *next; r; r = next) {
            next = r->next;
            r->done = true;
        }
        pthread_cond_broadcast(&log->done);
        pthread_mutex_unlock(&log->lock);
    }
    mla_buf_dispose(&tmp);
    mla_free(pending);
    return NULL;
}

/* ---- the appender side ---------------------------------------------------- */

typedef struct appender_ctx {
    mla_log *log;
    const char *batch_target;
} appender_ctx;

static bool appender_key_lookup(void *ctx, const mla_hash *keyid, mla_log_keyrec *out)
{
    appender_ctx *a = ctx;
    pthread_rwlock_rdlock(&a->log->registry_lock);
    bool found = mla_log__registry_get(a->log->registry, keyid, out);
    pthread_rwlock_unlock(&a->log->registry_lock);
    if (found || !a->batch_target) return found;
    /* Committed state; the sequencer looks again with its group's writes. */
    mla_index_view view = {a->log->store, NULL};
    return mla_log__batch_key_lookup(a->log, &view, a->batch_target, keyid, out);
}

static mla_status prepare_item(mla_log *log, log_item *it, mla_slice bytes,
                               const mla_log_decisions *decisions)
{
    it->bytes = bytes;
    mla_crypto_sha256(&it->env_hash, bytes);
    if (decisions && decisions->sealed_env) {
        /* Sealed here from these decisions and signed with our own key:
         * adopted as built, nothing to decode or verify again. */
        it->env = decisions->sealed_env;
        it->change = decisions->sealed_change;
        it->ds = decisions->ds;
        it->n_ds = decisions->n;
        return MLA_OK;
    }
    MLA_TRY(mla_codec_envelope_decode(&it->env_own, bytes));
    it->env = it->env_own;
    if (strcmp(it->env->payload_type, MLA_PAYLOAD_TYPE_CHANGE) != 0)
        return mla_err(MLA_EINVAL, "envelope.payload_type: \"%.64s\" is not supported (want %s)",
                       it->env->payload_type, MLA_PAYLOAD_TYPE_CHANGE);
    MLA_TRY(mla_codec_change_decode(&it->change_own,
                                    mla_slice_make(it->env->payload.data, it->env->payload.len)));
    it->change = it->change_own;
    const char *target = batch_target(it->change);
    if (target && !decisions)
        return mla_err(MLA_EINVAL, "change.decision_batch: a batch must come with its decisions "
                                   "(record decisions with RecordDecisions)");
    if (!target && decisions)
        return mla_err(MLA_EINVAL,
                       "change.kind: decisions came with a %s change, not a "
                       "DECISION_BATCH",
                       mla_codec_kind_name(it->change->kind));
    if (decisions) {
        if (!decisions->ds && !(it->ds_own = mla_calloc(decisions->n, sizeof *it->ds_own)))
            return mla_err(MLA_ENOMEM, "decisions: out of memory");
        MLA_TRY(mla_log__decisions_check(&it->ds, it->ds_own, it->change, decisions));
        it->n_ds = decisions->n;
    }
    /* The expensive part, on the caller's thread so appenders verify in parallel. */
    appender_ctx ac = {log, target};
    return mla_log__envelope_authorize(it->env, it->change->kind, appender_key_lookup, &ac,
                                       !log->skip_sig_checks);
}

/* A batch's envelopes are decoded and verified by up to one thread per core
 * (SPEC §5: signature checks in parallel), each taking every k-th one. The
 * first failing envelope, by index, is the one reported. */
#define PREPARE_THREADS_MAX 8
#define PREPARE_PARALLEL_MIN 16 /* below this, threads cost more than they save */

typedef struct prepare_job {
    mla_log *log;
    const mla_log_decisions *decisions;
    log_item *items;
    const mla_slice *envelopes;
    size_t n, first, step;
    size_t failed_at; /* n if none */
    mla_status rc;
    mla_error err;
} prepare_job;

static void *prepare_run(void *arg)
{
    prepare_job *j = arg;
    j->failed_at = j->n;
    for (size_t i = j->first; i < j->n; i += j->step) {
        mla_status rc = prepare_item(j->log, &j->items[i], j->envelopes[i], j->decisions);
        if (rc != MLA_OK) {
            j->failed_at = i;
            j->rc = rc;
            j->err = *mla_error_last();
            break;
        }
    }
    return NULL;
}

static mla_status prepare_items(mla_log *log, log_item *items, const mla_slice *envelopes, size_t n,
                                const mla_log_decisions *decisions)
{
    /* Small batches (nearly every append) never ask how many cores there are. */
    long cores = n < PREPARE_PARALLEL_MIN ? 1 : sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = cores < 2                             ? 1
                     : (size_t)cores > PREPARE_THREADS_MAX ? PREPARE_THREADS_MAX
                                                           : (size_t)cores;
    prepare_job jobs[PREPARE_THREADS_MAX];
    pthread_t tids[PREPARE_THREADS_MAX];
    bool started[PREPARE_THREADS_MAX] = {false};
    for (size_t t = 0; t < threads; t++)
        jobs[t] = (prepare_job){log, decisions, items, envelopes, n, t, threads, n, MLA_OK, {0}};
    /* This thread takes share 0; a thread that cannot start leaves its share
     * to this one, after. */
    for (size_t t = 1; t < threads; t++)
        started[t] = pthread_create(&tids[t], NULL, prepare_run, &jobs[t]) == 0;
    prepare_run(&jobs[0]);
    for (size_t t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            prepare_run(&jobs[t]);
    }
    size_t first = n;
    const prepare_job *bad = NULL;
    for (size_t t = 0; t < threads; t++) {
        if (jobs[t].failed_at < first) {
            first = jobs[t].failed_at;
            bad = &jobs[t];
        }
    }
    if (!bad) return MLA_OK;
    if (n == 1) return mla_error_set(bad->rc, bad->err.file, bad->err.line, "%s", bad->err.msg);
    return mla_error_set(bad->rc, bad->err.file, bad->err.line, "envelopes[%zu]: %s", first,
                         bad->err.msg);
}

static mla_status check_submitter(mla_slice s)
{
    if (s.len > MLA_LOG_SUBMITTER_MAX)
        return mla_err(MLA_EINVAL, "submitter: %zu bytes exceeds limit %d", s.len,
                       MLA_LOG_SUBMITTER_MAX);
    if (!mla_utf8_valid(s) || memchr(s.ptr, 0, s.len))
        return mla_err(MLA_EINVAL, "submitter: not valid UTF-8 text");
    return MLA_OK;
}

mla_status mla_log_append_batch(mla_log *log, const mla_slice *envelopes, size_t n,
                                mla_slice submitter, mla_receipt *receipts)
{
    return mla_log__append(log, envelopes, n, submitter, receipts, NULL, NULL);
}

mla_status mla_log_append_batch_ex(mla_log *log, const mla_slice *envelopes, size_t n,
                                   mla_slice submitter, mla_receipt *receipts, mla_buf *entries_out)
{
    return mla_log__append(log, envelopes, n, submitter, receipts, entries_out, NULL);
}

mla_status mla_log__append(mla_log *log, const mla_slice *envelopes, size_t n, mla_slice submitter,
                           mla_receipt *receipts, mla_buf *entries_out,
                           const mla_log_decisions *decisions)
{
    MLA_ASSERT(!decisions || n == 1);
    if (n == 0) return mla_err(MLA_EINVAL, "envelopes: empty batch");
    if (n > MLA_LOG_BATCH_MAX)
        return mla_err(MLA_EINVAL, "envelopes: %zu exceeds limit %d", n, MLA_LOG_BATCH_MAX);
    MLA_TRY(check_submitter(submitter));

    mla_status rc = MLA_OK;
    mla_log_request *req = mla_calloc(1, sizeof *req);
    log_item *items = mla_calloc(n, sizeof *items);
    char *sub = mla_strndup(submitter.len ? (const char *)submitter.ptr : "", submitter.len);
    if (!req || !items || !sub) {
        rc = mla_err(MLA_ENOMEM, "log: out of memory for an append");
        goto out;
    }
    if ((rc = prepare_items(log, items, envelopes, n, decisions)) != MLA_OK) goto out;
    for (size_t i = 0; entries_out && i < n; i++) items[i].entry_out = &entries_out[i];
    req->items = items;
    req->n = n;
    req->submitter = sub;

    pthread_mutex_lock(&log->lock);
    if (log->closing) {
        pthread_mutex_unlock(&log->lock);
        rc = mla_err(MLA_ESHUTDOWN, "log: shutting down");
        goto out;
    }
    if (log->failed != MLA_OK) {
        rc = mla_error_set(log->failed, __FILE__, __LINE__, "%s", log->failed_msg);
        pthread_mutex_unlock(&log->lock);
        goto out;
    }
    if (log->queue_tail)
        log->queue_tail->next = req;
    else
        log->queue_head = req;
    log->queue_tail = req;
    pthread_cond_signal(&log->wake);
    while (!req->done) pthread_cond_wait(&log->done, &log->lock);
    pthread_mutex_unlock(&log->lock);

    if (req->rc != MLA_OK) {
        rc = mla_error_set(req->rc, req->err.file, req->err.line, "%s", req->err.msg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        mla_receipt *r = &receipts[i];
        r->seq = items[i].seq;
        r->ledger_time_ns = items[i].time_ns;
        r->leaf_hash = items[i].leaf;
        r->duplicate = items[i].duplicate;
        r->tree_size = req->tree_size;
        r->root = req->root;
        memcpy(r->checkpoint, req->checkpoint, req->checkpoint_len);
        r->checkpoint_len = req->checkpoint_len;
        r->inclusion = items[i].inclusion;
    }
out:
    if (items) {
        for (size_t i = 0; i < n; i++) {
            mla_codec_envelope_free(items[i].env_own);
            mla_codec_change_free(items[i].change_own);
            mla_log__decisions_free(items[i].ds_own, items[i].n_ds); /* n_ds 0: none left */
            mla_free(items[i].ds_own);
        }
    }
    mla_free(sub);
    mla_free(items);
    mla_free(req);
    return rc;
}

mla_status mla_log_append(mla_log *log, mla_slice envelope, mla_slice submitter, mla_receipt *out)
{
    return mla_log__append(log, &envelope, 1, submitter, out, NULL, NULL);
}

mla_status mla_log_append_ex(mla_log *log, mla_slice envelope, mla_slice submitter,
                             mla_receipt *out, mla_buf *entry_out)
{
    return mla_log__append(log, &envelope, 1, submitter, out, entry_out, NULL);
}

void mla_log__bench_skip_signature_checks(mla_log *log, bool skip) { log->skip_sig_checks = skip; }

int64_t mla_log__clock_now(const mla_log *log)
{
    return log->clock ? log->clock(log->clock_ctx) : mla_time_now_ns();
}

uint64_t mla_log__group_count(mla_log *log)
{
    pthread_mutex_lock(&log->lock);
    uint64_t n = log->n_groups;
    pthread_mutex_unlock(&log->lock);
    return n;
}
