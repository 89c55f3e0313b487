/* client_receipt: what makes a receipt worth having. A receipt is accepted
 * only when its checkpoint is signed by the log's key and its inclusion proof
 * leads from the leaf hash at seq to that checkpoint's root (SPEC §3: "a proof
 * means something only against a tree size and root taken from a verified
 * checkpoint"). Also the wire form of receipts, to keep them offline. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

mla_status mla_client__corrupt(const char *field)
{
    char inner[MLA_ERROR_MSG_MAX];
    snprintf(inner, sizeof inner, "%s", mla_error_last()->msg);
    return mla_err(MLA_ECORRUPT, "%s: %s", field, inner);
}

mla_status mla_client__hash(mla_hash *out, ProtobufCBinaryData b, const char *field)
{
    if (b.len != sizeof out->b)
        return mla_err(MLA_ECORRUPT, "%s: %zu bytes, want 32", field, b.len);
    memcpy(out->b, b.data, sizeof out->b);
    return MLA_OK;
}

mla_status mla_client__proof(mla_merkle_proof *out, const ProtobufCBinaryData *hashes, size_t n,
                             const char *field)
{
    if (n > MLA_MERKLE_PROOF_MAX)
        return mla_err(MLA_ECORRUPT, "%s: %zu hashes exceeds limit %d", field, n,
                       MLA_MERKLE_PROOF_MAX);
    for (size_t i = 0; i < n; i++) {
        if (hashes[i].len != sizeof out->h[i].b)
            return mla_err(MLA_ECORRUPT, "%s[%zu]: %zu bytes, want 32", field, i, hashes[i].len);
        memcpy(out->h[i].b, hashes[i].data, sizeof out->h[i].b);
    }
    out->n = n;
    return MLA_OK;
}

/* Notes this process has already verified, keyed by SHA-256 over the
 * verifier and the note. Concurrent appenders share group commits, hence
 * checkpoints: most receipts repeat a note whose Ed25519 signature was just
 * checked; a resolution checks its one checkpoint at several steps, and a
 * run of calls sees the same few checkpoints. A signature check costs as
 * much as the rest of a small call. */
#define VERIFIED_SLOTS 64
static pthread_mutex_t verified_mu = PTHREAD_MUTEX_INITIALIZER;
static mla_hash verified[VERIFIED_SLOTS];
static bool verified_used[VERIFIED_SLOTS];
static unsigned verified_next;

/* The note's length goes in too, so (name, note) pairs cannot run into one
 * another. */
static void verified_key(mla_hash *out, mla_slice note, const mla_note_verifier *v)
{
    uint8_t kh[4] = {(uint8_t)(v->key_hash >> 24), (uint8_t)(v->key_hash >> 16),
                     (uint8_t)(v->key_hash >> 8), (uint8_t)v->key_hash};
    uint8_t len[8];
    mla_put_be64(len, note.len);
    mla_slice parts[5] = {mla_slice_cstr(v->name), mla_slice_make(kh, 4),
                          mla_slice_make(v->pub.b, 32), mla_slice_make(len, 8), note};
    mla_crypto_sha256_v(out, parts, 5);
}

static bool verified_seen(const mla_hash *k)
{
    bool hit = false;
    pthread_mutex_lock(&verified_mu);
    for (unsigned i = 0; i < VERIFIED_SLOTS && !hit; i++)
        hit = verified_used[i] && mla_hash_eq(&verified[i], k);
    pthread_mutex_unlock(&verified_mu);
    return hit;
}

static void verified_add(const mla_hash *k)
{
    pthread_mutex_lock(&verified_mu);
    verified[verified_next] = *k;
    verified_used[verified_next] = true;
    verified_next = (verified_next + 1) % VERIFIED_SLOTS;
    pthread_mutex_unlock(&verified_mu);
}

/* The signed text of a note already verified: up to and including the
 * newline before its last blank line (c2sp.org/signed-note). */
static bool note_text(mla_slice *text, mla_slice note)
{
    for (size_t i = note.len; i-- > 1;) {
        if (note.ptr[i] == '\n' && note.ptr[i - 1] == '\n') {
            *text = mla_slice_make(note.ptr, i);
            return true;
        }
    }
    return false;
}

/* Verify and parse a note, its signature once per process; the note
 * module's error otherwise. */
static mla_status note_open(mla_checkpoint *cp, mla_slice note, const mla_note_verifier *v)
{
    mla_hash key;
    mla_slice text;
    verified_key(&key, note, v);
    if (verified_seen(&key) && note_text(&text, note) &&
        mla_note_checkpoint_parse(cp, text) == MLA_OK)
        return MLA_OK;
    MLA_TRY(mla_note_checkpoint_open(cp, note, v, 1));
    verified_add(&key);
    return MLA_OK;
}

mla_status mla_client__open_note(mla_checkpoint *cp, mla_slice note, const mla_note_verifier *v,
                                 const char *field)
{
    if (note.len == 0) return mla_err(MLA_ECORRUPT, "%s: missing", field);
    if (note_open(cp, note, v) != MLA_OK)
        return mla_error_last()->code == MLA_ENOMEM ? MLA_ENOMEM : mla_client__corrupt(field);
    return MLA_OK;
}

/* Open a checkpoint note: a batch's receipts repeat theirs, kept in cache. */
static mla_status open_checkpoint(mla_checkpoint *out, mla_slice note, const mla_note_verifier *v,
                                  mla_client__cp_cache *cache, const char *field)
{
    if (cache && cache->valid && mla_slice_eq(cache->note, note)) {
        *out = cache->cp;
        return MLA_OK;
    }
    if (note_open(out, note, v) != MLA_OK) {
        if (mla_error_last()->code == MLA_ENOMEM) return MLA_ENOMEM;
        char f[128];
        snprintf(f, sizeof f, "%s.checkpoint", field);
        return mla_client__corrupt(f);
    }
    if (cache) {
        cache->note = note;
        cache->cp = *out;
        cache->valid = true;
    }
    return MLA_OK;
}

/* The inclusion half: seq < size, then RFC 9162 §2.1.3.2 to the root. */
static mla_status check_inclusion(const mla_receipt *r, const char *field)
{
    if (r->seq >= r->tree_size)
        return mla_err(MLA_ECORRUPT, "%s.inclusion: seq %llu is not in a tree of size %llu", field,
                       (unsigned long long)r->seq, (unsigned long long)r->tree_size);
    if (mla_merkle_inclusion_verify(&r->leaf_hash, r->seq, r->tree_size, &r->inclusion, &r->root) !=
        MLA_OK) {
        char f[128];
        snprintf(f, sizeof f, "%s.inclusion", field);
        return mla_client__corrupt(f);
    }
    return MLA_OK;
}

mla_status mla_client__receipt_from_pb(mla_receipt *out, const Mlaudit__V1__Receipt *r,
                                       const Mlaudit__V1__Checkpoint *fallback,
                                       const mla_note_verifier *v, mla_client__cp_cache *cache,
                                       const char *field)
{
    memset(out, 0, sizeof *out);
    if (!r) return mla_err(MLA_ECORRUPT, "%s: missing", field);
    const Mlaudit__V1__Checkpoint *cpm = r->checkpoint ? r->checkpoint : fallback;
    if (!cpm || cpm->note.len == 0) return mla_err(MLA_ECORRUPT, "%s.checkpoint: missing", field);
    if (cpm->note.len > sizeof out->checkpoint)
        return mla_err(MLA_ECORRUPT, "%s.checkpoint: %zu bytes exceeds limit %zu", field,
                       cpm->note.len, sizeof out->checkpoint);
    if (!r->inclusion) return mla_err(MLA_ECORRUPT, "%s.inclusion: missing", field);
    char f[128];
    snprintf(f, sizeof f, "%s.leaf_hash", field);
    MLA_TRY(mla_client__hash(&out->leaf_hash, r->leaf_hash, f));
    snprintf(f, sizeof f, "%s.inclusion.hashes", field);
    MLA_TRY(mla_client__proof(&out->inclusion, r->inclusion->hashes, r->inclusion->n_hashes, f));
    out->seq = r->seq;
    out->ledger_time_ns = r->ledger_time_ns;
    out->duplicate = r->duplicate;
    out->tree_size = r->inclusion->tree_size;
    memcpy(out->checkpoint, cpm->note.data, cpm->note.len);
    out->checkpoint_len = cpm->note.len;
    if (r->inclusion->leaf_index != r->seq)
        return mla_err(MLA_ECORRUPT,
                       "%s.inclusion.leaf_index: %llu, but the receipt is for seq %llu", field,
                       (unsigned long long)r->inclusion->leaf_index, (unsigned long long)r->seq);
    mla_checkpoint cp;
    MLA_TRY(open_checkpoint(&cp, mla_slice_make(cpm->note.data, cpm->note.len), v, cache, field));
    if (cp.size != out->tree_size)
        return mla_err(MLA_ECORRUPT,
                       "%s.inclusion.tree_size: %llu, but the checkpoint's size is %llu", field,
                       (unsigned long long)out->tree_size, (unsigned long long)cp.size);
    out->root = cp.root;
    return check_inclusion(out, field);
}

static mla_status canonical_envelope(mla_buf *out, const mla_pb_envelope *env)
{
    mla_buf_init(out, MLA_LIMIT_ENVELOPE_BYTES);
    return mla_codec_envelope_encode(out, env);
}

mla_status mla_client__receipt_entry_check(const Mlaudit__V1__Receipt *r, const mla_receipt *out,
                                           mla_slice sent, const char *field)
{
    if (r->entry.len == 0)
        return mla_err(MLA_ECORRUPT,
                       "%s.entry: missing: the server did not show the entry it proved", field);
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, mla_slice_make(r->entry.data, r->entry.len));
    if (!mla_hash_eq(&leaf, &out->leaf_hash))
        return mla_err(MLA_ECORRUPT, "%s.entry: does not hash to the receipt's leaf hash", field);
    mla_pb_entry *e = NULL;
    mla_pb_envelope *s = NULL;
    mla_buf a, b;
    mla_buf_init(&a, 0);
    mla_buf_init(&b, 0);
    mla_status rc = mla_codec_entry_decode(&e, mla_slice_make(r->entry.data, r->entry.len));
    if (rc != MLA_OK) {
        if (rc != MLA_ENOMEM)
            rc = mla_err(MLA_ECORRUPT, "%s.entry: does not decode: %.300s", field,
                         mla_error_last()->msg);
        goto out;
    }
    if (e->seq != out->seq) {
        rc = mla_err(MLA_ECORRUPT, "%s.entry: is entry %llu, not %llu", field,
                     (unsigned long long)e->seq, (unsigned long long)out->seq);
        goto out;
    }
    if ((rc = mla_codec_envelope_decode(&s, sent)) != MLA_OK) goto out;
    if ((rc = canonical_envelope(&a, e->envelope)) != MLA_OK) goto out;
    if ((rc = canonical_envelope(&b, s)) != MLA_OK) goto out;
    if (!mla_slice_eq(mla_buf_slice(&a), mla_buf_slice(&b)))
        rc = mla_err(MLA_ECORRUPT, "%s.entry: holds a different envelope than the one sent", field);
out:
    mla_buf_dispose(&a);
    mla_buf_dispose(&b);
    mla_codec_envelope_free(s);
    mla_codec_entry_free(e);
    return rc;
}

mla_status mla_client_receipt_verify(const mla_receipt *r, const mla_note_verifier *v)
{
    MLA_ASSERT(r && v);
    if (r->checkpoint_len == 0 || r->checkpoint_len > sizeof r->checkpoint)
        return mla_err(MLA_ECORRUPT, "receipt.checkpoint: %zu bytes", r->checkpoint_len);
    mla_checkpoint cp;
    MLA_TRY(
        open_checkpoint(&cp, mla_slice_make(r->checkpoint, r->checkpoint_len), v, NULL, "receipt"));
    if (cp.size != r->tree_size)
        return mla_err(MLA_ECORRUPT, "receipt.tree_size: %llu, but the checkpoint's size is %llu",
                       (unsigned long long)r->tree_size, (unsigned long long)cp.size);
    if (!mla_hash_eq(&cp.root, &r->root))
        return mla_err(MLA_ECORRUPT, "receipt.root: differs from the checkpoint's root");
    return check_inclusion(r, "receipt");
}

mla_status mla_client_receipt_encode(mla_buf *out, const mla_receipt *r)
{
    MLA_ASSERT(out && r);
    if (r->inclusion.n > MLA_MERKLE_PROOF_MAX || r->checkpoint_len > sizeof r->checkpoint)
        return mla_err(MLA_EINVAL, "receipt: inclusion or checkpoint over its limit");
    ProtobufCBinaryData hashes[MLA_MERKLE_PROOF_MAX];
    for (size_t i = 0; i < r->inclusion.n; i++) {
        hashes[i].data = (uint8_t *)(uintptr_t)r->inclusion.h[i].b;
        hashes[i].len = sizeof r->inclusion.h[i].b;
    }
    Mlaudit__V1__Checkpoint cp = MLAUDIT__V1__CHECKPOINT__INIT;
    cp.note.data = (uint8_t *)(uintptr_t)r->checkpoint;
    cp.note.len = r->checkpoint_len;
    Mlaudit__V1__InclusionProof inc = MLAUDIT__V1__INCLUSION_PROOF__INIT;
    inc.leaf_index = r->seq;
    inc.tree_size = r->tree_size;
    inc.hashes = hashes;
    inc.n_hashes = r->inclusion.n;
    Mlaudit__V1__Receipt m = MLAUDIT__V1__RECEIPT__INIT;
    m.seq = r->seq;
    m.ledger_time_ns = r->ledger_time_ns;
    m.leaf_hash.data = (uint8_t *)(uintptr_t)r->leaf_hash.b;
    m.leaf_hash.len = sizeof r->leaf_hash.b;
    m.checkpoint = &cp;
    m.inclusion = &inc;
    return mla_codec_rpc_encode(out, &m.base);
}

mla_status mla_client_receipt_decode(mla_receipt *out, mla_slice in, const mla_note_verifier *v)
{
    MLA_ASSERT(out && v);
    ProtobufCMessage *m = NULL;
    memset(out, 0, sizeof *out);
    MLA_TRY(mla_codec_rpc_decode(&m, &mlaudit__v1__receipt__descriptor, in, "receipt"));
    mla_status rc =
        mla_client__receipt_from_pb(out, (const Mlaudit__V1__Receipt *)m, NULL, v, NULL, "receipt");
    if (rc != MLA_OK) memset(out, 0, sizeof *out);
    mla_codec_rpc_free(m);
    return rc;
}
