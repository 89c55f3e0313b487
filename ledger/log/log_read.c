/* log_read: what readers ask of a log: its size and checkpoint, entries,
 * leaf hashes, proofs. Any thread; reads go to the store, which only holds
 * committed groups, bounded by the committed size. */
#include <string.h>

#include "log/log_int.h"

uint64_t mla_log_size(mla_log *log)
{
    pthread_mutex_lock(&log->lock);
    uint64_t n = log->size;
    pthread_mutex_unlock(&log->lock);
    return n;
}

const mla_note_verifier *mla_log_verifier(mla_log *log) { return &log->verifier; }

mla_status mla_log_checkpoint(mla_log *log, mla_buf *out)
{
    uint8_t note[MLA_LOG_CHECKPOINT_MAX];
    pthread_mutex_lock(&log->lock);
    size_t len = log->checkpoint_len;
    memcpy(note, log->checkpoint, len);
    pthread_mutex_unlock(&log->lock);
    return mla_buf_set(out, mla_slice_make(note, len));
}

static mla_status check_seq(mla_log *log, uint64_t seq, const char *field)
{
    uint64_t size = mla_log_size(log);
    if (seq >= size)
        return mla_err(MLA_ENOTFOUND, "%s: %llu is beyond the log's size %llu", field,
                       (unsigned long long)seq, (unsigned long long)size);
    return MLA_OK;
}

mla_status mla_log_entry(mla_log *log, uint64_t seq, mla_buf *out)
{
    MLA_TRY(check_seq(log, seq, "seq"));
    mla_log_key k;
    mla_log__key_seq(&k, MLA_LOG_K_ENTRY, seq);
    mla_status rc = mla_store_get(log->store, mla_log__key_slice(&k), out);
    if (rc == MLA_ENOTFOUND)
        return mla_err(MLA_ECORRUPT, "store: entry %llu is missing", (unsigned long long)seq);
    return rc;
}

mla_status mla_log_leaf_hash(mla_log *log, uint64_t seq, mla_hash *out)
{
    MLA_TRY(check_seq(log, seq, "seq"));
    mla_log_nodes nodes = {log->store, log->nodecache, NULL, NULL, {0}};
    mla_buf_init(&nodes.buf, 64);
    mla_status rc = mla_log__node_read(&nodes, 0, seq, out);
    mla_buf_dispose(&nodes.buf);
    return rc;
}

mla_status mla_log_seq_by_leaf(mla_log *log, const mla_hash *leaf, uint64_t *seq_out)
{
    mla_log_key k;
    mla_buf v;
    mla_buf_init(&v, 64);
    mla_log__key_hash(&k, MLA_LOG_K_LEAF, leaf);
    mla_status rc = mla_store_get(log->store, mla_log__key_slice(&k), &v);
    if (rc == MLA_ENOTFOUND) {
        char hex[65];
        mla_hex_encode_to(hex, leaf->b, 32);
        rc = mla_err(MLA_ENOTFOUND, "leaf_hash: no entry has leaf hash %s", hex);
    } else if (rc == MLA_OK && v.len != 8) {
        rc = mla_err(MLA_ECORRUPT, "store: leaf index record of %zu bytes", v.len);
    } else if (rc == MLA_OK) {
        *seq_out = mla_get_be64(v.ptr);
        if (*seq_out >= mla_log_size(log))
            rc = mla_err(MLA_ENOTFOUND, "leaf_hash: not yet committed");
    }
    mla_buf_dispose(&v);
    return rc;
}

static mla_status check_size(mla_log *log, uint64_t tree_size, const char *field)
{
    uint64_t size = mla_log_size(log);
    if (tree_size > size)
        return mla_err(MLA_EINVAL, "%s: %llu is larger than the log (%llu entries)", field,
                       (unsigned long long)tree_size, (unsigned long long)size);
    return MLA_OK;
}

mla_status mla_log_inclusion_proof(mla_log *log, uint64_t seq, uint64_t tree_size,
                                   mla_merkle_proof *out)
{
    MLA_TRY(check_size(log, tree_size, "tree_size"));
    if (seq >= tree_size)
        return mla_err(MLA_EINVAL, "seq: %llu is not in a tree of size %llu",
                       (unsigned long long)seq, (unsigned long long)tree_size);
    mla_log_nodes nodes = {log->store, log->nodecache, NULL, NULL, {0}};
    mla_buf_init(&nodes.buf, 64);
    mla_status rc = mla_merkle_inclusion_prove(out, seq, tree_size, mla_log__node_read, &nodes);
    mla_buf_dispose(&nodes.buf);
    return rc;
}

mla_status mla_log_consistency_proof(mla_log *log, uint64_t from_size, uint64_t to_size,
                                     mla_merkle_proof *out)
{
    MLA_TRY(check_size(log, to_size, "to_size"));
    if (from_size == 0)
        return mla_err(MLA_EINVAL, "from_size: a consistency proof from size 0 proves nothing");
    if (from_size > to_size)
        return mla_err(MLA_EINVAL, "from_size: %llu is larger than to_size %llu",
                       (unsigned long long)from_size, (unsigned long long)to_size);
    mla_log_nodes nodes = {log->store, log->nodecache, NULL, NULL, {0}};
    mla_buf_init(&nodes.buf, 64);
    mla_status rc =
        mla_merkle_consistency_prove(out, from_size, to_size, mla_log__node_read, &nodes);
    mla_buf_dispose(&nodes.buf);
    return rc;
}

mla_status mla_log_root_at(mla_log *log, uint64_t tree_size, mla_hash *out)
{
    MLA_TRY(check_size(log, tree_size, "tree_size"));
    mla_log_nodes nodes = {log->store, log->nodecache, NULL, NULL, {0}};
    mla_buf_init(&nodes.buf, 64);
    mla_status rc = mla_merkle_root_at(out, tree_size, mla_log__node_read, &nodes);
    mla_buf_dispose(&nodes.buf);
    return rc;
}
