/* log_open: opening a log on a store. Loads the key registry, rebuilds the
 * Merkle frontier, and checks the stored tree against the last signed
 * checkpoint and the chain tail before accepting any write (SPEC §5); on a
 * mismatch it runs the full audit to name the first bad seq. */
#include <stdio.h>
#include <string.h>

#include "log/log_int.h"

static mla_status load_registry(mla_log *log, const mla_log_options *opts)
{
    mla_store_iter *it = NULL;
    mla_slice k, v;
    uint8_t lo = MLA_LOG_K_KEY, hi = MLA_LOG_K_KEY + 1;
    mla_status rc =
        mla_store_iter_new(&it, log->store, mla_slice_make(&lo, 1), mla_slice_make(&hi, 1));
    if (rc != MLA_OK) return rc;
    while ((rc = mla_store_iter_next(it, &k, &v)) == MLA_OK) {
        mla_log_keyrec rec;
        if ((rc = mla_log__keyrec_decode(&rec, v)) != MLA_OK) break;
        if (k.len != 33 || memcmp(k.ptr + 1, rec.keyid.b, 32) != 0) {
            rc = mla_err(MLA_ECORRUPT, "store: key record filed under the wrong keyid");
            break;
        }
        if ((rc = mla_log__registry_put(log->registry, &rec)) != MLA_OK) break;
    }
    mla_store_iter_free(it);
    if (rc != MLA_ENOTFOUND) return rc;
    /* The configuration's admin keys are the trust root and win over any
     * record with the same keyid. */
    for (size_t i = 0; i < opts->n_admin_keys; i++) {
        mla_log_keyrec rec;
        memset(&rec, 0, sizeof rec);
        rec.pub = opts->admin_keys[i];
        mla_crypto_keyid_hash(&rec.keyid, &rec.pub);
        rec.role = MLAUDIT__V1__KEY_ROLE__KEY_ROLE_ADMIN;
        rec.config_admin = true;
        rec.seq = UINT64_MAX;
        MLA_TRY(mla_log__registry_put(log->registry, &rec));
    }
    return MLA_OK;
}

static mla_status corrupt_with_audit(mla_log *log, const char *what)
{
    /* Name the first bad seq: recompute everything from the entries. */
    mla_audit_result res;
    mla_audit_options ao;
    memset(&ao, 0, sizeof ao);
    ao.log_verifiers = &log->verifier;
    ao.n_log_verifiers = 1;
    ao.check_signatures = false;
    char first[MLA_ERROR_MSG_MAX];
    snprintf(first, sizeof first, "%s", what);
    mla_status rc = mla_log_audit(&res, log->store, &ao);
    if (rc == MLA_OK && !res.ok)
        return mla_err(MLA_ECORRUPT, "store: refusing to open: %s", res.problem);
    return mla_err(MLA_ECORRUPT, "store: refusing to open: %s", first);
}

/* Parse a stored checkpoint note's body without checking its signature,
 * only to tell a misconfiguration from tampering in the error message. */
static bool unverified_origin(mla_checkpoint *out, mla_slice note)
{
    for (size_t i = note.len; i-- > 1;) {
        if (note.ptr[i] == '\n' && note.ptr[i - 1] == '\n')
            return mla_note_checkpoint_parse(out, mla_slice_make(note.ptr, i)) == MLA_OK;
    }
    return false;
}

static mla_status init_empty(mla_log *log)
{
    mla_merkle_frontier_init(&log->frontier);
    memset(&log->tail, 0, sizeof log->tail);
    log->size = 0;
    mla_merkle_empty_root(&log->root);
    /* Every log has a checkpoint, even the empty one, so clients can start. */
    return mla_log__checkpoint_sign(log, 0, &log->root, log->checkpoint, &log->checkpoint_len);
}

mla_status mla_log__verify_tail(mla_log *log)
{
    mla_buf v;
    mla_log_key k;
    mla_status rc;
    mla_buf_init(&v, MLA_STORE_VALUE_MAX);

    mla_log__key_single(&k, MLA_LOG_K_TAIL);
    rc = mla_store_get(log->store, mla_log__key_slice(&k), &v);
    if (rc == MLA_ENOTFOUND) {
        /* A new log: nothing else may be there. */
        mla_buf_dispose(&v);
        mla_log__key_seq(&k, MLA_LOG_K_ENTRY, 0);
        rc = mla_store_get(log->store, mla_log__key_slice(&k), &v);
        mla_buf_dispose(&v);
        if (rc == MLA_OK) return corrupt_with_audit(log, "entry 0 exists but the tail is missing");
        if (rc != MLA_ENOTFOUND) return rc;
        return init_empty(log);
    }
    if (rc != MLA_OK) goto out;
    if ((rc = mla_log__tail_decode(&log->tail, mla_buf_slice(&v))) != MLA_OK) {
        rc = corrupt_with_audit(log, "the tail record is malformed");
        goto out;
    }
    if (log->tail.size == 0) {
        rc = init_empty(log);
        goto out;
    }

    mla_log__key_single(&k, MLA_LOG_K_CHECKPOINT);
    if ((rc = mla_store_get(log->store, mla_log__key_slice(&k), &v)) != MLA_OK) {
        if (rc == MLA_ENOTFOUND) rc = corrupt_with_audit(log, "the latest checkpoint is missing");
        goto out;
    }
    mla_checkpoint cp;
    /* A configuration for another log is the likelier mistake than
     * tampering: name the origin or key the store was written with. */
    if (unverified_origin(&cp, mla_buf_slice(&v)) && strcmp(cp.origin, log->origin) != 0) {
        rc = mla_err(MLA_EINVAL,
                     "origin: the store's checkpoints are for \"%s\", not \"%s\" (set the "
                     "origin it was created with)",
                     cp.origin, log->origin);
        goto out;
    }
    if (v.len > MLA_LOG_CHECKPOINT_MAX ||
        mla_note_checkpoint_open(&cp, mla_buf_slice(&v), &log->verifier, 1) != MLA_OK) {
        rc = mla_err(MLA_ECORRUPT,
                     "store: refusing to open: the latest checkpoint is not signed by key %s "
                     "(wrong signing key or key name, or the checkpoint was altered)",
                     log->key_name);
        goto out;
    }
    if (cp.size != log->tail.size) {
        char msg[128];
        snprintf(msg, sizeof msg, "checkpoint size %llu differs from tail size %llu",
                 (unsigned long long)cp.size, (unsigned long long)log->tail.size);
        rc = corrupt_with_audit(log, msg);
        goto out;
    }
    memcpy(log->checkpoint, v.ptr, v.len);
    log->checkpoint_len = v.len;
    log->size = cp.size;
    log->root = cp.root;

    mla_log_nodes nodes = {log->store, log->nodecache, NULL, NULL, {0}};
    mla_buf_init(&nodes.buf, 64);
    rc = mla_merkle_frontier_load(&log->frontier, cp.size, mla_log__node_read, &nodes);
    mla_hash root, last;
    if (rc == MLA_OK) mla_merkle_frontier_root(&log->frontier, &root);
    if (rc == MLA_OK) rc = mla_log__node_read(&nodes, 0, cp.size - 1, &last);
    mla_buf_dispose(&nodes.buf);
    if (rc != MLA_OK || !mla_hash_eq(&root, &cp.root) ||
        !mla_hash_eq(&last, &log->tail.last_leaf)) {
        rc = corrupt_with_audit(log, "the stored tree does not match the latest checkpoint");
        goto out;
    }
    /* The chain tail: the last entry hashes to the last leaf, and nothing
     * lies beyond it (batches are atomic, so anything there is tampering). */
    mla_log__key_seq(&k, MLA_LOG_K_ENTRY, cp.size - 1);
    if ((rc = mla_store_get(log->store, mla_log__key_slice(&k), &v)) != MLA_OK) {
        if (rc == MLA_ENOTFOUND) rc = corrupt_with_audit(log, "the last entry is missing");
        goto out;
    }
    mla_merkle_leaf_hash(&root, mla_buf_slice(&v));
    if (!mla_hash_eq(&root, &last)) {
        rc = corrupt_with_audit(log, "the last entry does not hash to the last leaf");
        goto out;
    }
    mla_log__key_seq(&k, MLA_LOG_K_ENTRY, cp.size);
    rc = mla_store_get(log->store, mla_log__key_slice(&k), &v);
    if (rc == MLA_OK) {
        rc = mla_err(MLA_ECORRUPT,
                     "store: refusing to open: entry %llu lies beyond checkpoint size %llu",
                     (unsigned long long)cp.size, (unsigned long long)cp.size);
        goto out;
    }
    if (rc == MLA_ENOTFOUND) rc = MLA_OK;
out:
    mla_buf_dispose(&v);
    return rc;
}

/* Make what was found durable before serving it. A write that reached the
 * store without its fsync (a torn sync before a restart) would otherwise be
 * served, signed checkpoint and all, and could vanish on power loss, after
 * which a new entry at the same seq would fork the log. A synced write makes
 * every earlier write durable. */
static mla_status sync_store(mla_log *log)
{
    mla_store_batch *b = NULL;
    mla_log_key k;
    uint8_t tail[MLA_LOG_TAIL_LEN];
    if (log->size == 0) return MLA_OK;
    mla_log__tail_encode(tail, &log->tail);
    mla_log__key_single(&k, MLA_LOG_K_TAIL);
    mla_status rc = mla_store_batch_new(&b);
    if (rc == MLA_OK)
        rc = mla_store_batch_put(b, mla_log__key_slice(&k), mla_slice_make(tail, sizeof tail));
    if (rc == MLA_OK) rc = mla_store_write(log->store, b, true);
    mla_store_batch_free(b);
    return rc;
}

mla_status mla_log_open(mla_log **out, mla_store *store, const mla_log_options *opts)
{
    *out = NULL;
    MLA_TRY(mla_crypto_init());
    if (!opts || !opts->origin || !opts->origin[0])
        return mla_err(MLA_EINVAL, "origin: required (e.g. \"example.com/mlaudit\")");
    if (strlen(opts->origin) > MLA_NOTE_NAME_MAX)
        return mla_err(MLA_EINVAL, "origin: longer than %d bytes", MLA_NOTE_NAME_MAX);
    const char *key_name = opts->key_name ? opts->key_name : opts->origin;
    if (strlen(key_name) > MLA_NOTE_NAME_MAX)
        return mla_err(MLA_EINVAL, "key_name: longer than %d bytes", MLA_NOTE_NAME_MAX);
    if (!opts->signing_key) return mla_err(MLA_EINVAL, "signing_key: required");
    if (opts->n_admin_keys == 0)
        return mla_err(MLA_EINVAL, "admin_keys: at least one admin public key is required");
    if (opts->group_max > MLA_LOG_GROUP_MAX)
        return mla_err(MLA_EINVAL, "group_max: %zu exceeds limit %d", opts->group_max,
                       MLA_LOG_GROUP_MAX);

    mla_status rc;
    mla_log *log = mla_calloc(1, sizeof *log);
    if (!log) return mla_err(MLA_ENOMEM, "log: out of memory");
    log->store = store;
    log->signing_key = opts->signing_key;
    memcpy(log->origin, opts->origin, strlen(opts->origin) + 1);
    memcpy(log->key_name, key_name, strlen(key_name) + 1);
    log->clock = opts->clock;
    log->clock_ctx = opts->clock_ctx;
    log->group_max = opts->group_max ? opts->group_max : MLA_LOG_GROUP_MAX;
    log->policy = opts->policy;
    log->on_commit = opts->on_commit;
    log->on_commit_ctx = opts->on_commit_ctx;
    mla_crypto_keyid_hash(&log->own_keyid, mla_crypto_key_public(opts->signing_key));
    mla_buf_init(&log->entry_buf, MLA_LIMIT_ENTRY_BYTES);
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->wake, NULL);
    pthread_cond_init(&log->done, NULL);
    pthread_rwlock_init(&log->registry_lock, NULL);

    if ((rc = mla_note_verifier_init(&log->verifier, mla_slice_cstr(key_name),
                                     mla_crypto_key_public(opts->signing_key))) != MLA_OK)
        goto fail;
    if ((rc = mla_log__registry_new(&log->registry)) != MLA_OK) goto fail;
    if ((rc = mla_log__overlay_new(&log->overlay)) != MLA_OK) goto fail;
    if ((rc = mla_log__nodecache_new(&log->nodecache)) != MLA_OK) goto fail;
    if ((rc = load_registry(log, opts)) != MLA_OK) goto fail;
    if ((rc = mla_log__verify_tail(log)) != MLA_OK) goto fail;
    if ((rc = sync_store(log)) != MLA_OK) goto fail;
    if (pthread_create(&log->thread, NULL, mla_log__sequencer_main, log) != 0) {
        rc = mla_err(MLA_ENOMEM, "log: cannot start the sequencer thread");
        goto fail;
    }
    log->thread_started = true;
    *out = log;
    return MLA_OK;
fail:
    mla_log_close(log);
    return rc;
}

void mla_log_close(mla_log *log)
{
    if (!log) return;
    if (log->thread_started) {
        pthread_mutex_lock(&log->lock);
        log->closing = true;
        pthread_cond_broadcast(&log->wake);
        pthread_mutex_unlock(&log->lock);
        /* The sequencer drains what was queued before it stops. */
        pthread_join(log->thread, NULL);
    }
    mla_log__overlay_free(log->overlay);
    mla_log__nodecache_free(log->nodecache);
    mla_log__registry_free(log->registry);
    mla_buf_dispose(&log->entry_buf);
    pthread_rwlock_destroy(&log->registry_lock);
    pthread_cond_destroy(&log->done);
    pthread_cond_destroy(&log->wake);
    pthread_mutex_destroy(&log->lock);
    mla_free(log);
}
