/* service_read: the read side of the Ledger service: GetEntries (a server
 * stream over a seq range, bounded per message), GetCheckpoint,
 * GetInclusionProof (by seq or leaf hash, for a tree size) and
 * GetConsistencyProof. Requests are checked against the current tree size
 * before the log is asked, so errors name the request's fields. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "service/service_int.h"

/* ---- a StoredEntry, as GetEntries, Query, GetProvenEntries and Subscribe send it */

void mla_service__stored_entry_fill(Mlaudit__V1__StoredEntry *se, uint64_t seq, mla_slice entry,
                                    const mla_hash *leaf)
{
    Mlaudit__V1__StoredEntry se0 = MLAUDIT__V1__STORED_ENTRY__INIT;
    *se = se0;
    se->seq = seq;
    se->entry.data = (uint8_t *)(uintptr_t)entry.ptr; /* protobuf-c fields are not const */
    se->entry.len = entry.len;
    se->leaf_hash.data = (uint8_t *)(uintptr_t)leaf->b;
    se->leaf_hash.len = sizeof leaf->b;
}

mla_status mla_service__stored_entry_load(Mlaudit__V1__StoredEntry *se, mla_buf *bytes,
                                          mla_hash *leaf, mla_log *log, uint64_t seq)
{
    MLA_TRY(mla_log_entry(log, seq, bytes));
    MLA_TRY(mla_log_leaf_hash(log, seq, leaf));
    mla_service__stored_entry_fill(se, seq, mla_buf_slice(bytes), leaf);
    return MLA_OK;
}

/* ---- GetEntries --------------------------------------------------------- */

typedef struct entries_state {
    uint64_t next, end;
} entries_state;

static void send_entries(mla_service_call *c)
{
    entries_state *st = mla_service__state(c);
    const mla_service_options *o = mla_service__options(c);
    mla_log *log = mla_service__log(c);
    size_t max_n = o->stream_entries;
    mla_buf *bufs = mla_calloc(max_n, sizeof *bufs);
    mla_hash *leaves = mla_calloc(max_n, sizeof *leaves);
    Mlaudit__V1__StoredEntry *items = mla_calloc(max_n, sizeof *items);
    Mlaudit__V1__StoredEntry **ptrs = mla_calloc(max_n, sizeof *ptrs);
    size_t n = 0, bytes = 0;
    mla_status rc = MLA_OK;
    if (!bufs || !leaves || !items || !ptrs) {
        rc = mla_err(MLA_ENOMEM, "GetEntries: out of memory");
        goto out;
    }
    /* At most stream_entries entries and stream_bytes of message per
     * message, but always at least one entry so the stream advances. */
    while (st->next < st->end && n < max_n) {
        mla_buf_init(&bufs[n], MLA_LIMIT_ENTRY_BYTES);
        rc = mla_service__stored_entry_load(&items[n], &bufs[n], &leaves[n], log, st->next);
        if (rc != MLA_OK) goto out;
        size_t cost = bufs[n].len + MLA_SERVICE__STORED_ENTRY_OVERHEAD;
        if (n > 0 && bytes + cost > o->stream_bytes) {
            mla_buf_dispose(&bufs[n]);
            break;
        }
        ptrs[n] = &items[n];
        bytes += cost;
        n++;
        st->next++;
    }
    Mlaudit__V1__GetEntriesResponse resp = MLAUDIT__V1__GET_ENTRIES_RESPONSE__INIT;
    resp.n_entries = n;
    resp.entries = ptrs;
    mla_service__stream_send(c, &resp.base, st->next == st->end);
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    if (bufs)
        for (size_t i = 0; i < max_n; i++) mla_buf_dispose(&bufs[i]); /* zeroed: no-op */
    mla_free(bufs);
    mla_free(leaves);
    mla_free(items);
    mla_free(ptrs);
}

void mla_service__get_entries(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__get_entries_request__descriptor, request,
                                         "GetEntriesRequest");
    if (rc != MLA_OK) {
        mla_service__fail(c, rc);
        return;
    }
    const Mlaudit__V1__GetEntriesRequest *req = (const Mlaudit__V1__GetEntriesRequest *)m;
    uint64_t size = mla_log_size(mla_service__log(c));
    uint64_t start = req->start, end = req->end ? req->end : size;
    mla_codec_rpc_free(m);
    if (start > size) {
        rc =
            mla_err(MLA_EINVAL, "start: %" PRIu64 " is beyond the tree size %" PRIu64, start, size);
    } else if (end > size) {
        rc = mla_err(MLA_EINVAL, "end: %" PRIu64 " is beyond the tree size %" PRIu64, end, size);
    } else if (start > end) {
        rc = mla_err(MLA_EINVAL, "end: %" PRIu64 " is below start %" PRIu64, end, start);
    }
    if (rc != MLA_OK) {
        mla_service__fail(c, rc);
        return;
    }
    if (start == end) { /* an empty range is an empty stream */
        mla_service__stream_end(c);
        return;
    }
    entries_state *st = mla_malloc(sizeof *st);
    if (!st) {
        mla_service__fail(c, mla_err(MLA_ENOMEM, "GetEntries: out of memory"));
        return;
    }
    st->next = start;
    st->end = end;
    mla_service__set_state(c, st, mla_free);
    send_entries(c);
}

void mla_service__get_entries_resume(mla_service_call *c) { send_entries(c); }

/* ---- GetCheckpoint ------------------------------------------------------ */

void mla_service__get_checkpoint(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_buf note;
    mla_buf_init(&note, MLA_LOG_CHECKPOINT_MAX);
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__get_checkpoint_request__descriptor,
                                         request, "GetCheckpointRequest");
    if (rc == MLA_OK) rc = mla_log_checkpoint(mla_service__log(c), &note);
    if (rc == MLA_OK) {
        Mlaudit__V1__Checkpoint cp = MLAUDIT__V1__CHECKPOINT__INIT;
        Mlaudit__V1__GetCheckpointResponse resp = MLAUDIT__V1__GET_CHECKPOINT_RESPONSE__INIT;
        cp.note.data = note.ptr;
        cp.note.len = note.len;
        resp.checkpoint = &cp;
        mla_service__reply(c, &resp.base);
    } else {
        mla_service__fail(c, rc);
    }
    mla_buf_dispose(&note);
    if (m) mla_codec_rpc_free(m);
}

/* ---- proofs ------------------------------------------------------------- */

mla_status mla_service__resolve_size(uint64_t *out, uint64_t want, uint64_t size, const char *field)
{
    if (want > size)
        return mla_err(MLA_EINVAL, "%s: %" PRIu64 " is larger than the tree size %" PRIu64, field,
                       want, size);
    *out = want ? want : size;
    return MLA_OK;
}

void mla_service__get_inclusion_proof(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_log *log = mla_service__log(c);
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__get_inclusion_proof_request__descriptor,
                                         request, "GetInclusionProofRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__GetInclusionProofRequest *req =
        (const Mlaudit__V1__GetInclusionProofRequest *)m;
    uint64_t tree_size = 0, seq = 0;
    mla_hash leaf;
    if ((rc = mla_service__resolve_size(&tree_size, req->tree_size, mla_log_size(log),
                                        "tree_size")) != MLA_OK)
        goto out;
    if (tree_size == 0) {
        rc = mla_err(MLA_EINVAL, "tree_size: the log is empty, so nothing is included");
        goto out;
    }
    switch (req->leaf_case) {
    case MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_SEQ:
        seq = req->seq;
        if (seq >= tree_size) {
            rc = mla_err(MLA_EINVAL, "seq: %" PRIu64 " is not in the tree of size %" PRIu64, seq,
                         tree_size);
            goto out;
        }
        if ((rc = mla_log_leaf_hash(log, seq, &leaf)) != MLA_OK) goto out;
        break;
    case MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH:
        if (req->leaf_hash.len != sizeof leaf.b) {
            rc = mla_err(MLA_EINVAL, "leaf_hash: %zu bytes, want 32", req->leaf_hash.len);
            goto out;
        }
        memcpy(leaf.b, req->leaf_hash.data, sizeof leaf.b);
        if ((rc = mla_log_seq_by_leaf(log, &leaf, &seq)) != MLA_OK) goto out;
        if (seq >= tree_size) {
            rc = mla_err(MLA_EINVAL,
                         "tree_size: the leaf is at seq %" PRIu64
                         ", not in the tree of size %" PRIu64,
                         seq, tree_size);
            goto out;
        }
        break;
    default: rc = mla_err(MLA_EINVAL, "leaf: set seq or leaf_hash"); goto out;
    }
    mla_merkle_proof proof;
    if ((rc = mla_log_inclusion_proof(log, seq, tree_size, &proof)) != MLA_OK) goto out;
    ProtobufCBinaryData hashes[MLA_MERKLE_PROOF_MAX];
    Mlaudit__V1__InclusionProof ip = MLAUDIT__V1__INCLUSION_PROOF__INIT;
    Mlaudit__V1__GetInclusionProofResponse resp = MLAUDIT__V1__GET_INCLUSION_PROOF_RESPONSE__INIT;
    ip.leaf_index = seq;
    ip.tree_size = tree_size;
    mla_service__proof_fill(&ip.n_hashes, hashes, &proof);
    ip.hashes = hashes;
    resp.proof = &ip;
    resp.leaf_hash.data = leaf.b;
    resp.leaf_hash.len = sizeof leaf.b;
    mla_service__reply(c, &resp.base);
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    if (m) mla_codec_rpc_free(m);
}

void mla_service__get_consistency_proof(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_log *log = mla_service__log(c);
    mla_status rc =
        mla_codec_rpc_decode(&m, &mlaudit__v1__get_consistency_proof_request__descriptor, request,
                             "GetConsistencyProofRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__GetConsistencyProofRequest *req =
        (const Mlaudit__V1__GetConsistencyProofRequest *)m;
    uint64_t to = 0;
    /* SPEC §3: a consistency proof from size 0 is refused. */
    if (req->from_size == 0) {
        rc = mla_err(MLA_EINVAL, "from_size: 0 is refused (a proof from the empty tree proves "
                                 "nothing)");
        goto out;
    }
    if ((rc = mla_service__resolve_size(&to, req->to_size, mla_log_size(log), "to_size")) != MLA_OK)
        goto out;
    if (req->from_size > to) {
        rc = mla_err(MLA_EINVAL, "from_size: %" PRIu64 " is larger than to_size %" PRIu64,
                     req->from_size, to);
        goto out;
    }
    mla_merkle_proof proof;
    if ((rc = mla_log_consistency_proof(log, req->from_size, to, &proof)) != MLA_OK) goto out;
    ProtobufCBinaryData hashes[MLA_MERKLE_PROOF_MAX];
    Mlaudit__V1__ConsistencyProof cp = MLAUDIT__V1__CONSISTENCY_PROOF__INIT;
    Mlaudit__V1__GetConsistencyProofResponse resp =
        MLAUDIT__V1__GET_CONSISTENCY_PROOF_RESPONSE__INIT;
    cp.from_size = req->from_size;
    cp.to_size = to;
    mla_service__proof_fill(&cp.n_hashes, hashes, &proof);
    cp.hashes = hashes;
    resp.proof = &cp;
    mla_service__reply(c, &resp.base);
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    if (m) mla_codec_rpc_free(m);
}
