/* client_read: the read calls — checkpoint, entries, entries with their
 * inclusion proofs in batches, inclusion and consistency proofs, health.
 * What the server claims is checked as far as the call allows: checkpoints
 * against the log's key, entries against their leaf hashes, proofs against
 * the sizes and leaves asked for. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

mla_status mla_client__encode(mla_buf *out, const ProtobufCMessage *m)
{
    mla_buf_init(out, MLA_LIMIT_RPC_BYTES);
    return mla_codec_rpc_encode(out, m);
}

mla_status mla_client__call_msg(mla_client *c, const char *method, const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *d, const char *root,
                                ProtobufCMessage **resp)
{
    mla_buf b;
    mla_status rc = mla_client__encode(&b, req);
    if (rc == MLA_OK) rc = mla_client__call(c, method, mla_buf_slice(&b), d, root, resp);
    mla_buf_dispose(&b);
    return rc;
}

/* ---- checkpoint --------------------------------------------------------- */

mla_status mla_client_checkpoint(mla_client *c, mla_buf *note_out, mla_checkpoint *cp_out)
{
    MLA_ASSERT(c && note_out && cp_out);
    Mlaudit__V1__GetCheckpointRequest req = MLAUDIT__V1__GET_CHECKPOINT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    MLA_TRY(mla_client__call_msg(c, MLA_CLIENT_METHOD("GetCheckpoint"), &req.base,
                                 &mlaudit__v1__get_checkpoint_response__descriptor,
                                 "GetCheckpointResponse", &resp));
    const Mlaudit__V1__GetCheckpointResponse *r = (const Mlaudit__V1__GetCheckpointResponse *)resp;
    mla_status rc;
    if (!r->checkpoint || r->checkpoint->note.len == 0) {
        rc = mla_err(MLA_ECORRUPT, "checkpoint: missing from the server's answer");
        goto out;
    }
    if ((rc = mla_buf_set(note_out, mla_slice_make(r->checkpoint->note.data,
                                                   r->checkpoint->note.len))) != MLA_OK)
        goto out;
    /* Parsed from note_out, so cp_out's extensions borrow from the caller's
     * buffer rather than from the response freed below. */
    if ((rc = mla_client__open_note(cp_out, mla_buf_slice(note_out), &c->verifier, "checkpoint")) !=
        MLA_OK)
        mla_buf_clear(note_out);
out:
    mla_codec_rpc_free(resp);
    return rc;
}

mla_status mla_client_consistency_verify(mla_client *c, const mla_checkpoint *older,
                                         const mla_checkpoint *newer)
{
    MLA_ASSERT(c && older && newer);
    if (strcmp(older->origin, newer->origin) != 0)
        return mla_err(MLA_EINVAL, "checkpoint.origin: \"%s\" and \"%s\" are different logs",
                       older->origin, newer->origin);
    if (older->size > newer->size)
        return mla_err(MLA_EINVAL, "checkpoint.size: older %llu is larger than newer %llu",
                       (unsigned long long)older->size, (unsigned long long)newer->size);
    /* Every tree extends the empty one; a proof from size 0 is refused
     * (SPEC §3), and none is needed. */
    if (older->size == 0) return MLA_OK;
    if (older->size == newer->size) {
        if (!mla_hash_eq(&older->root, &newer->root))
            return mla_err(MLA_ECORRUPT,
                           "checkpoint.root: two roots for size %llu: the log has forked",
                           (unsigned long long)older->size);
        return MLA_OK;
    }
    mla_merkle_proof p;
    MLA_TRY(mla_client_consistency_proof(c, older->size, newer->size, &p));
    if (mla_merkle_consistency_verify(older->size, newer->size, &older->root, &newer->root, &p) !=
        MLA_OK)
        return mla_client__corrupt("consistency");
    return MLA_OK;
}

/* ---- entries ------------------------------------------------------------ */

typedef struct entries_ctx {
    mla_client_entry_fn fn;
    void *ctx;
    uint64_t next; /* the seq the next entry must have */
    uint64_t end; /* 0: open-ended */
} entries_ctx;

static mla_status on_entries(void *ctx, const ProtobufCMessage *msg)
{
    entries_ctx *x = ctx;
    const Mlaudit__V1__GetEntriesResponse *r = (const Mlaudit__V1__GetEntriesResponse *)msg;
    for (size_t i = 0; i < r->n_entries; i++) {
        const Mlaudit__V1__StoredEntry *e = r->entries[i];
        if (e->seq != x->next)
            return mla_err(MLA_ECORRUPT, "entries: got seq %llu, want %llu",
                           (unsigned long long)e->seq, (unsigned long long)x->next);
        if (x->end != 0 && e->seq >= x->end)
            return mla_err(MLA_ECORRUPT, "entries: seq %llu is past the end %llu asked for",
                           (unsigned long long)e->seq, (unsigned long long)x->end);
        char field[64];
        snprintf(field, sizeof field, "entries[seq %llu].leaf_hash", (unsigned long long)e->seq);
        mla_hash leaf, got;
        MLA_TRY(mla_client__hash(&leaf, e->leaf_hash, field));
        mla_slice bytes = mla_slice_make(e->entry.data, e->entry.len);
        if (e->redacted) {
            /* SPEC §8: a redacted entry is its leaf hash alone. */
            bytes = mla_slice_make(NULL, 0);
        } else {
            mla_merkle_leaf_hash(&got, bytes);
            if (!mla_hash_eq(&got, &leaf))
                return mla_err(MLA_ECORRUPT, "%s: does not match the entry's bytes", field);
        }
        MLA_TRY(x->fn(x->ctx, e->seq, bytes, &leaf, e->redacted));
        x->next++;
    }
    return MLA_OK;
}

mla_status mla_client_entries(mla_client *c, uint64_t start, uint64_t end, mla_client_entry_fn fn,
                              void *ctx)
{
    MLA_ASSERT(c && fn);
    if (end != 0 && end <= start)
        return mla_err(MLA_EINVAL, "end: %llu is not after start %llu", (unsigned long long)end,
                       (unsigned long long)start);
    Mlaudit__V1__GetEntriesRequest req = MLAUDIT__V1__GET_ENTRIES_REQUEST__INIT;
    req.start = start;
    req.end = end;
    mla_buf b;
    entries_ctx x = {.fn = fn, .ctx = ctx, .next = start, .end = end};
    mla_status rc = mla_client__encode(&b, &req.base);
    if (rc == MLA_OK)
        rc = mla_client__stream(c, MLA_CLIENT_METHOD("GetEntries"), mla_buf_slice(&b),
                                &mlaudit__v1__get_entries_response__descriptor,
                                "GetEntriesResponse", on_entries, &x);
    mla_buf_dispose(&b);
    if (rc == MLA_OK && end != 0 && x.next != end)
        rc = mla_err(MLA_ECORRUPT, "entries: the stream ended at seq %llu, before the end %llu",
                     (unsigned long long)x.next, (unsigned long long)end);
    return rc;
}

/* ---- proofs ------------------------------------------------------------- */

/* The shape of an inclusion proof answer: a proof for the leaf asked for, in
 * the size asked for (when one was), with well-formed hashes. */
static mla_status inclusion_answer(const Mlaudit__V1__GetInclusionProofResponse *r,
                                   uint64_t tree_size, mla_merkle_proof *out, mla_hash *leaf_out)
{
    if (!r->proof) return mla_err(MLA_ECORRUPT, "proof: missing from the server's answer");
    const Mlaudit__V1__InclusionProof *p = r->proof;
    if (tree_size != 0 && p->tree_size != tree_size)
        return mla_err(MLA_ECORRUPT, "proof.tree_size: %llu, asked for %llu",
                       (unsigned long long)p->tree_size, (unsigned long long)tree_size);
    if (p->leaf_index >= p->tree_size)
        return mla_err(MLA_ECORRUPT, "proof.leaf_index: %llu is not in a tree of size %llu",
                       (unsigned long long)p->leaf_index, (unsigned long long)p->tree_size);
    MLA_TRY(mla_client__hash(leaf_out, r->leaf_hash, "leaf_hash"));
    return mla_client__proof(out, p->hashes, p->n_hashes, "proof.hashes");
}

mla_status mla_client_inclusion_proof(mla_client *c, uint64_t seq, uint64_t tree_size,
                                      mla_merkle_proof *out, mla_hash *leaf_out,
                                      uint64_t *tree_size_out)
{
    MLA_ASSERT(c && out && leaf_out && tree_size_out);
    Mlaudit__V1__GetInclusionProofRequest req = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__INIT;
    req.leaf_case = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_SEQ;
    req.seq = seq;
    req.tree_size = tree_size;
    ProtobufCMessage *resp = NULL;
    MLA_TRY(mla_client__call_msg(c, MLA_CLIENT_METHOD("GetInclusionProof"), &req.base,
                                 &mlaudit__v1__get_inclusion_proof_response__descriptor,
                                 "GetInclusionProofResponse", &resp));
    const Mlaudit__V1__GetInclusionProofResponse *r =
        (const Mlaudit__V1__GetInclusionProofResponse *)resp;
    mla_status rc = inclusion_answer(r, tree_size, out, leaf_out);
    if (rc == MLA_OK && r->proof->leaf_index != seq)
        rc = mla_err(MLA_ECORRUPT, "proof.leaf_index: %llu, asked for seq %llu",
                     (unsigned long long)r->proof->leaf_index, (unsigned long long)seq);
    if (rc == MLA_OK) *tree_size_out = r->proof->tree_size;
    mla_codec_rpc_free(resp);
    return rc;
}

mla_status mla_client_inclusion_proof_by_leaf(mla_client *c, const mla_hash *leaf,
                                              uint64_t tree_size, mla_merkle_proof *out,
                                              uint64_t *seq_out, uint64_t *tree_size_out)
{
    MLA_ASSERT(c && leaf && out && seq_out && tree_size_out);
    Mlaudit__V1__GetInclusionProofRequest req = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__INIT;
    req.leaf_case = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH;
    req.leaf_hash.data = (uint8_t *)(uintptr_t)leaf->b;
    req.leaf_hash.len = sizeof leaf->b;
    req.tree_size = tree_size;
    ProtobufCMessage *resp = NULL;
    MLA_TRY(mla_client__call_msg(c, MLA_CLIENT_METHOD("GetInclusionProof"), &req.base,
                                 &mlaudit__v1__get_inclusion_proof_response__descriptor,
                                 "GetInclusionProofResponse", &resp));
    const Mlaudit__V1__GetInclusionProofResponse *r =
        (const Mlaudit__V1__GetInclusionProofResponse *)resp;
    mla_hash got;
    mla_status rc = inclusion_answer(r, tree_size, out, &got);
    if (rc == MLA_OK && !mla_hash_eq(&got, leaf))
        rc = mla_err(MLA_ECORRUPT, "leaf_hash: the server answered for another leaf");
    if (rc == MLA_OK) {
        *seq_out = r->proof->leaf_index;
        *tree_size_out = r->proof->tree_size;
    }
    mla_codec_rpc_free(resp);
    return rc;
}

mla_status mla_client_consistency_proof(mla_client *c, uint64_t from_size, uint64_t to_size,
                                        mla_merkle_proof *out)
{
    MLA_ASSERT(c && out);
    Mlaudit__V1__GetConsistencyProofRequest req = MLAUDIT__V1__GET_CONSISTENCY_PROOF_REQUEST__INIT;
    req.from_size = from_size;
    req.to_size = to_size;
    ProtobufCMessage *resp = NULL;
    MLA_TRY(mla_client__call_msg(c, MLA_CLIENT_METHOD("GetConsistencyProof"), &req.base,
                                 &mlaudit__v1__get_consistency_proof_response__descriptor,
                                 "GetConsistencyProofResponse", &resp));
    const Mlaudit__V1__GetConsistencyProofResponse *r =
        (const Mlaudit__V1__GetConsistencyProofResponse *)resp;
    mla_status rc = MLA_OK;
    if (!r->proof)
        rc = mla_err(MLA_ECORRUPT, "proof: missing from the server's answer");
    else if (r->proof->from_size != from_size || r->proof->to_size != to_size)
        rc = mla_err(MLA_ECORRUPT, "proof: for sizes %llu -> %llu, asked for %llu -> %llu",
                     (unsigned long long)r->proof->from_size, (unsigned long long)r->proof->to_size,
                     (unsigned long long)from_size, (unsigned long long)to_size);
    else
        rc = mla_client__proof(out, r->proof->hashes, r->proof->n_hashes, "proof.hashes");
    mla_codec_rpc_free(resp);
    return rc;
}

/* ---- entries with proofs ------------------------------------------------ */

/* One answer of GetProvenEntries for seqs[0..n): a prefix of them (at least
 * one), each checked against cp before fn sees it. *done_out = how many. */
static mla_status proven_answer(const Mlaudit__V1__GetProvenEntriesResponse *r,
                                const uint64_t *seqs, size_t n, const mla_checkpoint *cp,
                                mla_client_proven_fn fn, void *ctx, size_t *done_out)
{
    if (r->tree_size != cp->size)
        return mla_err(MLA_ECORRUPT, "proven.tree_size: %llu, asked for %llu",
                       (unsigned long long)r->tree_size, (unsigned long long)cp->size);
    /* The server may answer a prefix (its message limit) but never nothing,
     * which would loop, nor more than was asked. */
    if (r->n_entries == 0 || r->n_entries > n)
        return mla_err(MLA_ECORRUPT, "proven.entries: %zu entries for %zu seqs asked", r->n_entries,
                       n);
    for (size_t i = 0; i < r->n_entries; i++) {
        const Mlaudit__V1__ProvenEntry *pe = r->entries[i];
        char field[64];
        snprintf(field, sizeof field, "proven[seq %llu]", (unsigned long long)seqs[i]);
        if (!pe->entry || !pe->inclusion)
            return mla_err(MLA_ECORRUPT, "%s: the entry or its inclusion proof is missing", field);
        const Mlaudit__V1__StoredEntry *e = pe->entry;
        if (e->seq != seqs[i])
            return mla_err(MLA_ECORRUPT, "%s: the server answered seq %llu", field,
                           (unsigned long long)e->seq);
        mla_merkle_proof proof;
        MLA_TRY(mla_client__proven_check(&proof, e, pe->inclusion, cp, field));
        /* SPEC §8: a redacted entry is its leaf alone (checked to carry no
         * bytes). */
        MLA_TRY(fn(ctx, seqs[i], mla_slice_make(e->entry.data, e->entry.len), &proof));
    }
    *done_out = r->n_entries;
    return MLA_OK;
}

mla_status mla_client_entries_proven(mla_client *c, const uint64_t *seqs, size_t n,
                                     const mla_checkpoint *cp, mla_client_proven_fn fn, void *ctx)
{
    MLA_ASSERT(c && (seqs || n == 0) && cp && fn);
    /* Refused here rather than by the server, so no entry reaches fn
     * before the error. */
    for (size_t i = 0; i < n; i++)
        if (seqs[i] >= cp->size)
            return mla_err(MLA_EINVAL,
                           "seqs[%zu]: %llu is not in the checkpoint's tree of size %llu", i,
                           (unsigned long long)seqs[i], (unsigned long long)cp->size);
    for (size_t at = 0; at < n;) {
        size_t k = n - at < MLA_LIMIT_PROVEN_SEQS ? n - at : MLA_LIMIT_PROVEN_SEQS;
        Mlaudit__V1__GetProvenEntriesRequest req = MLAUDIT__V1__GET_PROVEN_ENTRIES_REQUEST__INIT;
        req.seqs = (uint64_t *)(uintptr_t)(seqs + at);
        req.n_seqs = k;
        req.tree_size = cp->size;
        ProtobufCMessage *resp = NULL;
        MLA_TRY(mla_client__call_msg(c, MLA_CLIENT_METHOD("GetProvenEntries"), &req.base,
                                     &mlaudit__v1__get_proven_entries_response__descriptor,
                                     "GetProvenEntriesResponse", &resp));
        size_t done = 0;
        mla_status rc = proven_answer((const Mlaudit__V1__GetProvenEntriesResponse *)resp,
                                      seqs + at, k, cp, fn, ctx, &done);
        mla_codec_rpc_free(resp);
        MLA_TRY(rc);
        at += done;
    }
    return MLA_OK;
}

/* ---- health ------------------------------------------------------------- */

static mla_status varint(mla_reader *r, uint64_t *out, const char *root)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        MLA_TRY(mla_reader_u8(r, &b, root));
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return MLA_OK;
        }
    }
    return mla_err(MLA_EINVAL, "%s: varint longer than 10 bytes", root);
}

mla_status mla_client__wire_field(mla_reader *r, uint64_t *key, uint64_t *value, mla_slice *bytes,
                                  const char *root)
{
    uint64_t len;
    *value = 0;
    *bytes = mla_slice_make(NULL, 0);
    MLA_TRY(varint(r, key, root));
    switch (*key & 7) {
    case 0: return varint(r, value, root);
    case 1: return mla_reader_bytes(r, bytes, 8, root);
    case 2:
        MLA_TRY(varint(r, &len, root));
        if (len > mla_reader_left(r))
            return mla_err(MLA_EINVAL, "%s: field longer than the message", root);
        return mla_reader_bytes(r, bytes, (size_t)len, root);
    case 5: return mla_reader_bytes(r, bytes, 4, root);
    default: return mla_err(MLA_EINVAL, "%s: wire type %u", root, (unsigned)(*key & 7));
    }
}

/* grpc.health.v1 HealthCheckResponse { ServingStatus status = 1; } with
 * SERVING = 1, read by hand: the message is one varint field, and unknown
 * fields are skipped as protobuf requires. */
static mla_status health_status(uint64_t *status, mla_slice msg)
{
    mla_reader r;
    mla_reader_init(&r, msg);
    *status = 0; /* UNKNOWN: proto3 default when the field is absent */
    while (mla_reader_left(&r) > 0) {
        uint64_t key, v;
        mla_slice skip;
        MLA_TRY(mla_client__wire_field(&r, &key, &v, &skip, "HealthCheckResponse"));
        if (key == (1 << 3 | 0)) *status = v;
    }
    return MLA_OK;
}

mla_status mla_client_health(mla_client *c)
{
    MLA_ASSERT(c);
    static const char *const names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
    mla_buf resp;
    mla_buf_init(&resp, 4096);
    uint64_t status = 0;
    /* HealthCheckRequest{service: ""}: the server as a whole, zero bytes. */
    mla_status rc =
        mla_client__call_raw(c, MLA_CLIENT_HEALTH_CHECK, mla_slice_make(NULL, 0), &resp);
    if (rc == MLA_OK && health_status(&status, mla_buf_slice(&resp)) != MLA_OK)
        rc = mla_client__corrupt("health");
    if (rc == MLA_OK && status != 1)
        rc = mla_err(MLA_EIO, "health: server is %s",
                     status < 4 ? names[status] : "in an unknown state");
    mla_buf_dispose(&resp);
    return rc;
}
