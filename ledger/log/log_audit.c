/* log_audit: the auditor's full check of a store, with no server and no
 * trust in anything stored but the entries: recompute the hash chain, the
 * back-links, the identity rule, the key registry and every signature, and
 * the Merkle tree, then compare with the stored nodes and the last signed
 * checkpoint. The first disagreement is reported with its seq. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log/log_int.h"

/* ---- a string -> 40-byte value map (scope heads, identities) ---------- */

typedef struct amap_slot {
    char *key; /* NULL = empty */
    size_t key_len;
    uint8_t val[40];
} amap_slot;

typedef struct amap {
    amap_slot *slots;
    size_t cap, n;
} amap;

static uint64_t amap_hash(mla_slice k)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < k.len; i++) h = (h ^ k.ptr[i]) * 1099511628211u;
    return h;
}

static amap_slot *amap_find(const amap *m, mla_slice k)
{
    if (!m->cap) return NULL;
    for (size_t i = amap_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        amap_slot *s = &m->slots[i];
        if (!s->key) return s;
        if (s->key_len == k.len && memcmp(s->key, k.ptr, k.len) == 0) return s;
    }
}

static mla_status amap_grow(amap *m)
{
    amap bigger = {NULL, m->cap ? m->cap * 2 : 1024, 0};
    bigger.slots = mla_calloc(bigger.cap, sizeof *bigger.slots);
    if (!bigger.slots) return mla_err(MLA_ENOMEM, "audit: out of memory");
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        *amap_find(&bigger, mla_slice_make(m->slots[i].key, m->slots[i].key_len)) = m->slots[i];
        bigger.n++;
    }
    mla_free(m->slots);
    *m = bigger;
    return MLA_OK;
}

/* Put or replace. */
static mla_status amap_put(amap *m, mla_slice k, const uint8_t val[40])
{
    if ((m->n + 1) * 2 > m->cap) MLA_TRY(amap_grow(m));
    amap_slot *s = amap_find(m, k);
    if (!s->key) {
        if (!(s->key = mla_strndup((const char *)k.ptr, k.len)))
            return mla_err(MLA_ENOMEM, "audit: out of memory");
        s->key_len = k.len;
        m->n++;
    }
    memcpy(s->val, val, 40);
    return MLA_OK;
}

static void amap_free(amap *m)
{
    for (size_t i = 0; i < m->cap; i++) mla_free(m->slots[i].key);
    mla_free(m->slots);
}

/* ---- parallel signature checks -------------------------------------------
 * The walk resolves each signature's key in log order (KEY entries change the
 * registry as it goes) and hands the pure Ed25519 checks to one worker per
 * core, so an audit runs at the machine's verify rate, not one core's. */

#define VERIFY_QUEUE 256
#define VERIFY_THREADS_MAX 8

typedef struct verify_job {
    uint64_t seq;
    mla_pb_entry *entry; /* owned by the job */
    mla_pubkey keys[MLA_LIMIT_SIGNATURES];
} verify_job;

typedef struct verify_pool {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    verify_job ring[VERIFY_QUEUE];
    size_t head, count;
    bool closing;
    pthread_t threads[VERIFY_THREADS_MAX];
    int n_threads;
    /* The earliest failure found by a worker. */
    mla_status failed_rc;
    uint64_t failed_seq;
    char failed_msg[MLA_ERROR_MSG_MAX];
} verify_pool;

static void verify_one(verify_pool *p, verify_job *j)
{
    const mla_pb_envelope *env = j->entry->envelope;
    for (size_t i = 0; i < env->n_signatures; i++) {
        mla_status rc = mla_crypto_dsse_verify(
            &j->keys[i], mla_slice_cstr(env->payload_type),
            mla_slice_make(env->payload.data, env->payload.len),
            mla_slice_make(env->signatures[i]->sig.data, env->signatures[i]->sig.len));
        if (rc == MLA_OK) continue;
        pthread_mutex_lock(&p->lock);
        if (p->failed_rc == MLA_OK || j->seq < p->failed_seq) {
            p->failed_rc = rc == MLA_ENOMEM ? MLA_ENOMEM : MLA_EDENIED;
            p->failed_seq = j->seq;
            snprintf(p->failed_msg, sizeof p->failed_msg,
                     "envelope.signatures[%zu]: signature by key %s does not verify", i,
                     env->signatures[i]->keyid);
        }
        pthread_mutex_unlock(&p->lock);
        break;
    }
}

static void *verify_worker(void *arg)
{
    verify_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->count == 0 && !p->closing) pthread_cond_wait(&p->not_empty, &p->lock);
        if (p->count == 0) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        verify_job j = p->ring[p->head];
        p->head = (p->head + 1) % VERIFY_QUEUE;
        p->count--;
        pthread_cond_signal(&p->not_full);
        pthread_mutex_unlock(&p->lock);
        verify_one(p, &j);
        mla_codec_entry_free(j.entry);
    }
}

static mla_status verify_pool_start(verify_pool *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->not_empty, NULL);
    pthread_cond_init(&p->not_full, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cores < 1 ? 1 : cores > VERIFY_THREADS_MAX ? VERIFY_THREADS_MAX : (int)cores;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&p->threads[i], NULL, verify_worker, p) != 0) break;
        p->n_threads++;
    }
    if (p->n_threads == 0) return mla_err(MLA_ENOMEM, "audit: cannot start verify threads");
    return MLA_OK;
}

/* Takes ownership of entry. */
static void verify_pool_submit(verify_pool *p, uint64_t seq, mla_pb_entry *entry,
                               const mla_pubkey *keys, size_t n)
{
    pthread_mutex_lock(&p->lock);
    while (p->count == VERIFY_QUEUE) pthread_cond_wait(&p->not_full, &p->lock);
    verify_job *j = &p->ring[(p->head + p->count) % VERIFY_QUEUE];
    j->seq = seq;
    j->entry = entry;
    memcpy(j->keys, keys, n * sizeof *keys);
    p->count++;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
}

static void verify_pool_finish(verify_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->closing = true;
    pthread_cond_broadcast(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->lock);
}

/* ---- the audit ---------------------------------------------------------- */

typedef struct audit {
    mla_store *store;
    const mla_audit_options *opts;
    mla_audit_result *res;
    mla_registry_replay *registry; /* rebuilt from the entries, in log order */
    amap heads, identities;
    mla_merkle_frontier frontier;
    mla_buf tmp;
    uint64_t seq; /* the entry being checked */
    verify_pool *pool; /* signature checks, when enabled */
    mla_index_digest rebuilt; /* the index records the entries call for */
    mla_buf dtmp;
} audit;

/* A finding: the store does not verify. Recorded once; the first wins. */
static mla_status bad(audit *a, uint64_t seq, const char *fmt, ...) MLA_PRINTF(3, 4);
static mla_status bad(audit *a, uint64_t seq, const char *fmt, ...)
{
    char msg[MLA_ERROR_MSG_MAX - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (a->res->ok) {
        a->res->ok = false;
        a->res->first_bad_seq = seq;
        if (seq == UINT64_MAX)
            snprintf(a->res->problem, sizeof a->res->problem, "%s", msg);
        else
            snprintf(a->res->problem, sizeof a->res->problem, "seq %llu: %s",
                     (unsigned long long)seq, msg);
    }
    return MLA_ECORRUPT; /* stops the walk; mla_log_audit maps it to OK + !ok */
}

static mla_status audit_read_entry(void *ctx, uint64_t seq, mla_buf *out)
{
    audit *a = ctx;
    mla_log_key k;
    mla_log__key_seq(&k, MLA_LOG_K_ENTRY, seq);
    return mla_store_get(a->store, mla_log__key_slice(&k), out);
}

/* SPEC §3: a batch's stored decisions must be the leaves of its root. */
static mla_status check_decisions(audit *a, const mla_pb_change *c)
{
    const Mlaudit__V1__DecisionBatch *b = c->decision_batch;
    uint8_t k[MLA_INDEX_DECISIONS_KEY_LEN];
    mla_index_decisions_key(k, a->seq);
    mla_status rc = mla_store_get(a->store, mla_slice_make(k, sizeof k), &a->dtmp);
    if (rc == MLA_ENOTFOUND) return bad(a, a->seq, "the decisions of this batch are missing");
    if (rc != MLA_OK) return rc;
    mla_reader r;
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    mla_reader_init(&r, mla_buf_slice(&a->dtmp));
    mla_slice d;
    while ((rc = mla_index_decisions_next(&r, &d)) == MLA_OK) {
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, d);
        MLA_TRY(mla_merkle_frontier_append(&f, &leaf, NULL, NULL));
    }
    if (rc != MLA_ENOTFOUND)
        return bad(a, a->seq, "the stored decisions of this batch are truncated");
    mla_hash root;
    mla_merkle_frontier_root(&f, &root);
    if (f.size != b->count || b->root.len != 32 || memcmp(root.b, b->root.data, 32) != 0)
        return bad(a, a->seq, "the %llu stored decisions do not hash to the batch's root",
                   (unsigned long long)f.size);
    return MLA_OK;
}

static mla_status compare_node(void *ctx, unsigned level, uint64_t index, const mla_hash *node)
{
    audit *a = ctx;
    mla_log_key k;
    mla_log__key_node(&k, level, index);
    mla_status rc = mla_store_get(a->store, mla_log__key_slice(&k), &a->tmp);
    if (rc == MLA_ENOTFOUND)
        return bad(a, a->seq, "Merkle node (%u, %llu) is missing", level,
                   (unsigned long long)index);
    if (rc == MLA_ECORRUPT) return bad(a, a->seq, "%s", mla_error_last()->msg);
    if (rc != MLA_OK) return rc;
    if (a->tmp.len != 32 || memcmp(a->tmp.ptr, node->b, 32) != 0)
        return bad(a, a->seq, "stored Merkle node (%u, %llu) differs from the recomputed tree",
                   level, (unsigned long long)index);
    return MLA_OK;
}

static mla_status check_identity(audit *a, const mla_pb_artifact *art, const char *field)
{
    if (!art || art->digest.len != 32) return MLA_OK;
    mla_buf id;
    mla_buf_init(&id, MLA_LOG_KEY_MAX);
    mla_status rc = mla_codec_artifact_identity(&id, art);
    if (rc == MLA_OK) {
        amap_slot *s = amap_find(&a->identities, mla_buf_slice(&id));
        if (s && s->key) {
            if (memcmp(s->val, art->digest.data, 32) != 0)
                rc = bad(a, a->seq,
                         "%s: %.*s recorded again with another digest (first at seq %llu)", field,
                         (int)id.len, (const char *)id.ptr,
                         (unsigned long long)mla_get_be64(s->val + 32));
        } else {
            uint8_t val[40];
            memcpy(val, art->digest.data, 32);
            mla_put_be64(val + 32, a->seq);
            rc = amap_put(&a->identities, mla_buf_slice(&id), val);
        }
    }
    mla_buf_dispose(&id);
    return rc;
}

static mla_status check_links(audit *a, const mla_pb_entry *e, const mla_pb_change *c,
                              const mla_hash *leaf)
{
    mla_log_scope scopes[MLA_LOG_MAX_SCOPES];
    size_t n = 0;
    mla_status rc;
    for (size_t i = 0; i < MLA_LOG_MAX_SCOPES; i++) mla_buf_init(&scopes[i].key, MLA_LOG_KEY_MAX);
    if ((rc = mla_log__change_scopes(scopes, &n, c)) != MLA_OK) goto out;
    if (e->n_links != n) {
        rc = bad(a, a->seq, "entry has %zu back-links, its change needs %zu", e->n_links, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const mla_pb_link *l = e->links[i];
        if ((int)l->scope != scopes[i].scope ||
            !mla_slice_eq(mla_slice_cstr(l->key), mla_buf_slice(&scopes[i].key))) {
            rc = bad(a, a->seq, "links[%zu]: scope does not match the change", i);
            goto out;
        }
        uint8_t scope_key[MLA_LOG_KEY_MAX];
        mla_log_key hk;
        if ((rc = mla_log__key_bytes(&hk, MLA_LOG_K_HEAD, (uint8_t)scopes[i].scope,
                                     mla_buf_slice(&scopes[i].key))) != MLA_OK)
            goto out;
        memcpy(scope_key, hk.b, hk.len);
        amap_slot *s = amap_find(&a->heads, mla_slice_make(scope_key, hk.len));
        bool has_prev = s && s->key;
        if (!has_prev ? (l->prev_leaf_hash.len != 0 || l->prev_seq != 0)
                      : (l->prev_leaf_hash.len != 32 || l->prev_seq != mla_get_be64(s->val) ||
                         memcmp(l->prev_leaf_hash.data, s->val + 8, 32) != 0)) {
            rc = bad(a, a->seq,
                     "links[%zu] (%s): back-link does not name the previous entry of "
                     "its scope%s",
                     i, l->key, has_prev ? "" : " (there is none)");
            goto out;
        }
        uint8_t val[40];
        mla_put_be64(val, a->seq);
        memcpy(val + 8, leaf->b, 32);
        if ((rc = amap_put(&a->heads, mla_slice_make(scope_key, hk.len), val)) != MLA_OK) goto out;
    }
out:
    for (size_t i = 0; i < MLA_LOG_MAX_SCOPES; i++) mla_buf_dispose(&scopes[i].key);
    return rc;
}

static mla_status check_entry(audit *a, mla_slice bytes, mla_hash *prev_leaf, int64_t *prev_time)
{
    mla_pb_entry *e = NULL;
    mla_pb_change *c = NULL;
    mla_hash leaf;
    mla_status rc;
    mla_merkle_leaf_hash(&leaf, bytes);
    if ((rc = mla_codec_entry_decode(&e, bytes)) != MLA_OK) {
        if (rc == MLA_ENOMEM) return rc;
        return bad(a, a->seq, "entry does not decode: %s", mla_error_last()->msg);
    }
    if (e->seq != a->seq) {
        rc = bad(a, a->seq, "entry says seq %llu", (unsigned long long)e->seq);
        goto out;
    }
    if (memcmp(e->prev_hash.data, prev_leaf->b, 32) != 0) {
        rc = bad(a, a->seq, "prev_hash is not the leaf hash of the previous entry (chain broken)");
        goto out;
    }
    if (e->ledger_time_ns < *prev_time) {
        rc = bad(a, a->seq, "ledger time goes backwards");
        goto out;
    }
    if (strcmp(e->envelope->payload_type, MLA_PAYLOAD_TYPE_CHANGE) != 0) {
        rc = bad(a, a->seq, "unsupported payload type");
        goto out;
    }
    rc = mla_codec_change_decode(
        &c, mla_slice_make(e->envelope->payload.data, e->envelope->payload.len));
    if (rc != MLA_OK) {
        if (rc != MLA_ENOMEM)
            rc = bad(a, a->seq, "change does not decode: %s", mla_error_last()->msg);
        goto out;
    }
    /* Without signature checks the audit covers the chain and the tree only
     * (open-time diagnosis, measurement), so it needs no trust root. With
     * them, keys are resolved and authorised here, in log order, and the
     * signatures themselves checked by the pool. */
    mla_pubkey keys[MLA_LIMIT_SIGNATURES];
    if (a->opts->check_signatures) {
        rc = mla_registry_replay_authorize(keys, NULL, a->registry, e->envelope, c, false);
        if (rc == MLA_EDENIED || rc == MLA_EINVAL) {
            rc = bad(a, a->seq, "%s", mla_error_last()->msg);
            goto out;
        }
        if (rc != MLA_OK) goto out;
    }
    if ((rc = mla_registry_replay_apply(a->registry, a->seq, c)) != MLA_OK) {
        if (rc != MLA_ENOMEM) rc = bad(a, a->seq, "KEY change: %s", mla_error_last()->msg);
        goto out;
    }
    if ((rc = check_identity(a, c->subject, "subject")) != MLA_OK) goto out;
    for (size_t i = 0; i < c->n_inputs; i++)
        if ((rc = check_identity(a, c->inputs[i]->artifact, "input")) != MLA_OK) goto out;
    if ((rc = check_links(a, e, c, &leaf)) != MLA_OK) goto out;
    if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH &&
        (rc = check_decisions(a, c)) != MLA_OK)
        goto out;
    /* The indexes this entry calls for, to compare with the stored ones. */
    mla_index_reader rd = {{a->store, NULL}, audit_read_entry, a, a->seq};
    rc = mla_index_entry_put(&rd, a->seq, c, mla_index_digest_put, &a->rebuilt);
    if (rc != MLA_OK) {
        if (rc != MLA_ENOMEM && rc != MLA_EIO)
            rc = bad(a, a->seq, "indexing: %s", mla_error_last()->msg);
        goto out;
    }
    if ((rc = mla_merkle_frontier_append(&a->frontier, &leaf, compare_node, a)) != MLA_OK) goto out;
    *prev_leaf = leaf;
    *prev_time = e->ledger_time_ns;
    if (a->opts->check_signatures) {
        verify_pool_submit(a->pool, a->seq, e, keys, e->envelope->n_signatures);
        e = NULL;
    }
out:
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    return rc;
}

static mla_status check_checkpoint(audit *a)
{
    mla_log_key k;
    mla_log__key_single(&k, MLA_LOG_K_CHECKPOINT);
    mla_status rc = mla_store_get(a->store, mla_log__key_slice(&k), &a->tmp);
    if (rc == MLA_ENOTFOUND) {
        if (a->frontier.size == 0) return MLA_OK;
        return bad(a, UINT64_MAX, "the store holds no signed checkpoint");
    }
    if (rc != MLA_OK) return rc;
    mla_checkpoint cp;
    if (mla_note_checkpoint_open(&cp, mla_buf_slice(&a->tmp), a->opts->log_verifiers,
                                 a->opts->n_log_verifiers) != MLA_OK)
        return bad(a, UINT64_MAX, "the latest checkpoint does not verify: %s",
                   mla_error_last()->msg);
    a->res->checkpoint_size = cp.size;
    mla_hash root;
    mla_merkle_frontier_root(&a->frontier, &root);
    a->res->root = root;
    if (cp.size != a->frontier.size) {
        /* Name the first seq the checkpoint and the entries disagree on. */
        uint64_t at = cp.size < a->frontier.size ? cp.size : a->frontier.size;
        return bad(a, at, "the checkpoint covers %llu entries but the store holds %llu",
                   (unsigned long long)cp.size, (unsigned long long)a->frontier.size);
    }
    if (!mla_hash_eq(&root, &cp.root))
        return bad(a, UINT64_MAX, "the recomputed root differs from the signed checkpoint's");
    return MLA_OK;
}

mla_status mla_log_audit(mla_audit_result *res, mla_store *store, const mla_audit_options *opts)
{
    memset(res, 0, sizeof *res);
    res->ok = true;
    MLA_TRY(mla_crypto_init());
    audit a;
    memset(&a, 0, sizeof a);
    a.store = store;
    a.opts = opts;
    a.res = res;
    mla_merkle_frontier_init(&a.frontier);
    mla_buf_init(&a.tmp, MLA_STORE_VALUE_MAX);
    mla_buf_init(&a.dtmp, MLA_STORE_VALUE_MAX);
    mla_index_digest_init(&a.rebuilt);
    mla_store_iter *it = NULL;
    /* The log may seal DECISION_BATCHes with its own key. */
    mla_status rc = mla_registry_replay_new(&a.registry, opts->admin_keys, opts->n_admin_keys);
    for (size_t i = 0; rc == MLA_OK && i < opts->n_log_verifiers; i++)
        rc = mla_registry_replay_log_key(a.registry, &opts->log_verifiers[i].pub);
    verify_pool pool;
    bool pool_started = false;
    if (rc == MLA_OK && opts->check_signatures) {
        rc = verify_pool_start(&pool);
        pool_started = rc == MLA_OK;
        a.pool = &pool;
    }
    uint8_t lo = MLA_LOG_K_ENTRY, hi = MLA_LOG_K_ENTRY + 1;
    if (rc == MLA_OK)
        rc = mla_store_iter_new(&it, store, mla_slice_make(&lo, 1), mla_slice_make(&hi, 1));
    mla_hash prev_leaf;
    int64_t prev_time = INT64_MIN;
    memset(&prev_leaf, 0, sizeof prev_leaf);
    mla_slice k, v;
    while (rc == MLA_OK && (rc = mla_store_iter_next(it, &k, &v)) == MLA_OK) {
        if (k.len != 9 || mla_get_be64(k.ptr + 1) != a.seq) {
            rc = bad(&a, a.seq, "entry %llu is missing (next stored key is %s)",
                     (unsigned long long)a.seq, k.len == 9 ? "a later seq" : "malformed");
            break;
        }
        rc = check_entry(&a, v, &prev_leaf, &prev_time);
        if (rc == MLA_OK) a.seq++;
    }
    if (rc == MLA_ENOTFOUND) rc = MLA_OK;
    /* The store's own checksums failed: a finding about the data, not an
     * inability to audit. */
    if (rc == MLA_ECORRUPT && res->ok) rc = bad(&a, a.seq, "%s", mla_error_last()->msg);
    if (pool_started) {
        verify_pool_finish(&pool);
        /* A bad signature earlier in the log than the walk's own finding
         * is the first bad seq. */
        if (pool.failed_rc == MLA_ENOMEM && rc == MLA_OK) {
            rc = mla_err(MLA_ENOMEM, "audit: out of memory checking signatures");
        } else if (pool.failed_rc != MLA_OK && (res->ok || pool.failed_seq < res->first_bad_seq)) {
            res->ok = true;
            rc = bad(&a, pool.failed_seq, "%s", pool.failed_msg);
            a.seq = pool.failed_seq;
        }
    }
    res->n_entries = a.seq;
    if (rc == MLA_OK) rc = check_checkpoint(&a);
    if (rc == MLA_OK && res->ok) {
        /* SPEC §5 writes indexes with their entries; rebuild and compare. */
        mla_index_digest stored;
        rc = mla_index_digest_store(&stored, store);
        if (rc == MLA_OK && (stored.count != a.rebuilt.count ||
                             memcmp(stored.sum, a.rebuilt.sum, sizeof stored.sum) != 0))
            rc = bad(&a, UINT64_MAX,
                     "the indexes differ from those rebuilt from the entries (%llu records "
                     "stored, %llu expected)",
                     (unsigned long long)stored.count, (unsigned long long)a.rebuilt.count);
    }
    if (rc == MLA_ECORRUPT && !res->ok) rc = MLA_OK; /* a finding, not a failure */
    mla_store_iter_free(it);
    mla_buf_dispose(&a.tmp);
    mla_buf_dispose(&a.dtmp);
    amap_free(&a.heads);
    amap_free(&a.identities);
    mla_registry_replay_free(a.registry);
    return rc;
}

mla_status mla_log_entry_verify(mla_slice entry, const mla_pubkey *keys, size_t n_keys)
{
    mla_pb_entry *e = NULL;
    MLA_TRY(mla_crypto_init());
    MLA_TRY(mla_codec_entry_decode(&e, entry));
    mla_status rc = MLA_OK;
    for (size_t i = 0; i < e->envelope->n_signatures && rc == MLA_OK; i++) {
        const mla_pb_signature *s = e->envelope->signatures[i];
        const mla_pubkey *pub = NULL;
        for (size_t j = 0; j < n_keys && !pub; j++) {
            char keyid[MLA_KEYID_HEX_LEN + 1];
            mla_crypto_keyid(keyid, &keys[j]);
            if (strcmp(keyid, s->keyid) == 0) pub = &keys[j];
        }
        if (!pub) {
            rc =
                mla_err(MLA_EDENIED, "envelope.signatures[%zu]: key %s is not among the given keys",
                        i, s->keyid);
            break;
        }
        rc = mla_crypto_dsse_verify(
            pub, mla_slice_cstr(e->envelope->payload_type),
            mla_slice_make(e->envelope->payload.data, e->envelope->payload.len),
            mla_slice_make(s->sig.data, s->sig.len));
        if (rc != MLA_OK && rc != MLA_ENOMEM)
            rc = mla_err(MLA_EDENIED,
                         "envelope.signatures[%zu]: signature by key %s does not verify", i,
                         s->keyid);
    }
    mla_codec_entry_free(e);
    return rc;
}
