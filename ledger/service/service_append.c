/* service_append: Append and AppendBatch. The envelope is decoded and
 * re-encoded canonically (so retry dedupe works on one encoding), then
 * mla_log_append checks its signatures on this worker thread and waits for
 * the group commit: the answer leaves only once the entry is durable
 * (SPEC §5). A refused request changes nothing (SPEC §4). */
#include <stdio.h>
#include <string.h>

#include "service/service_int.h"

void mla_service__proof_fill(size_t *n_out, ProtobufCBinaryData *hashes, const mla_merkle_proof *p)
{
    for (size_t i = 0; i < p->n; i++) {
        hashes[i].data = (uint8_t *)(uintptr_t)p->h[i].b;
        hashes[i].len = sizeof p->h[i].b;
    }
    *n_out = p->n;
}

void mla_service__receipt_fill(mla_service__receipt_pb *pb, const mla_receipt *r, mla_slice entry)
{
    Mlaudit__V1__Receipt rc0 = MLAUDIT__V1__RECEIPT__INIT;
    Mlaudit__V1__Checkpoint cp0 = MLAUDIT__V1__CHECKPOINT__INIT;
    Mlaudit__V1__InclusionProof ip0 = MLAUDIT__V1__INCLUSION_PROOF__INIT;
    pb->receipt = rc0;
    pb->checkpoint = cp0;
    pb->inclusion = ip0;
    pb->receipt.seq = r->seq;
    pb->receipt.ledger_time_ns = r->ledger_time_ns;
    pb->receipt.leaf_hash.data = (uint8_t *)(uintptr_t)r->leaf_hash.b;
    pb->receipt.leaf_hash.len = sizeof r->leaf_hash.b;
    pb->checkpoint.note.data = (uint8_t *)(uintptr_t)r->checkpoint;
    pb->checkpoint.note.len = r->checkpoint_len;
    pb->inclusion.leaf_index = r->seq;
    pb->inclusion.tree_size = r->tree_size;
    mla_service__proof_fill(&pb->inclusion.n_hashes, pb->hashes, &r->inclusion);
    pb->inclusion.hashes = pb->hashes;
    pb->receipt.checkpoint = &pb->checkpoint;
    pb->receipt.inclusion = &pb->inclusion;
    pb->receipt.duplicate = r->duplicate;
    pb->receipt.entry.data = (uint8_t *)(uintptr_t)entry.ptr;
    pb->receipt.entry.len = entry.len;
}

/* The canonical bytes of a decoded envelope (validated by the encoder,
 * which names the field of anything wrong). */
static mla_status envelope_bytes(mla_buf *out, const mla_pb_envelope *env, const char *field)
{
    mla_buf_init(out, MLA_LIMIT_ENVELOPE_BYTES);
    if (!env) return mla_err(MLA_EINVAL, "%s: missing", field);
    mla_status rc = mla_codec_envelope_encode(out, env);
    if (rc == MLA_ELIMIT)
        return mla_err(MLA_EINVAL, "%s: over the limit of %d bytes", field,
                       MLA_LIMIT_ENVELOPE_BYTES);
    return rc;
}

void mla_service__append(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_buf env, entry;
    mla_buf_init(&env, 0);
    mla_buf_init(&entry, MLA_LIMIT_ENTRY_BYTES);
    mla_receipt r;
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__append_request__descriptor, request,
                                         "AppendRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__AppendRequest *req = (const Mlaudit__V1__AppendRequest *)m;
    if ((rc = envelope_bytes(&env, req->envelope, "envelope")) != MLA_OK) goto out;
    /* The entry travels with its receipt, so the client can check that the
     * proven leaf holds its envelope. */
    if ((rc = mla_log_append_ex(mla_service__log(c), mla_buf_slice(&env), mla_service__submitter(c),
                                &r, &entry)) != MLA_OK)
        goto out;
    mla_service__receipt_pb pb;
    mla_service__receipt_fill(&pb, &r, mla_buf_slice(&entry));
    Mlaudit__V1__AppendResponse resp = MLAUDIT__V1__APPEND_RESPONSE__INIT;
    resp.receipt = &pb.receipt;
    mla_service__reply(c, &resp.base);
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    mla_buf_dispose(&entry);
    mla_buf_dispose(&env);
    if (m) mla_codec_rpc_free(m);
}

void mla_service__append_batch(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_buf *bufs = NULL, *entries = NULL;
    mla_slice *slices = NULL;
    mla_receipt *receipts = NULL;
    mla_service__receipt_pb *pbs = NULL;
    Mlaudit__V1__Receipt **ptrs = NULL;
    size_t n = 0;
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__append_batch_request__descriptor,
                                         request, "AppendBatchRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__AppendBatchRequest *req = (const Mlaudit__V1__AppendBatchRequest *)m;
    n = req->n_envelopes;
    if (n == 0) {
        rc = mla_err(MLA_EINVAL, "envelopes: empty (send at least one)");
        goto out;
    }
    if (n > MLA_LOG_BATCH_MAX) {
        rc = mla_err(MLA_EINVAL, "envelopes: %zu exceeds limit %d", n, MLA_LOG_BATCH_MAX);
        goto out;
    }
    bufs = mla_calloc(n, sizeof *bufs);
    entries = mla_calloc(n, sizeof *entries);
    slices = mla_calloc(n, sizeof *slices);
    receipts = mla_calloc(n, sizeof *receipts);
    pbs = mla_calloc(n, sizeof *pbs);
    ptrs = mla_calloc(n, sizeof *ptrs);
    if (!bufs || !entries || !slices || !receipts || !pbs || !ptrs) {
        rc = mla_err(MLA_ENOMEM, "envelopes: out of memory for %zu", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char field[40];
        snprintf(field, sizeof field, "envelopes[%zu]", i);
        if ((rc = envelope_bytes(&bufs[i], req->envelopes[i], field)) != MLA_OK) {
            /* Name the envelope: codec messages start at "envelope". */
            char msg[MLA_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
            if (strncmp(msg, field, strlen(field)) != 0) rc = mla_err(rc, "%s: %.400s", field, msg);
            goto out;
        }
        slices[i] = mla_buf_slice(&bufs[i]);
    }
    /* SPEC §4: atomically, one receipt each and one checkpoint. */
    for (size_t i = 0; i < n; i++) mla_buf_init(&entries[i], MLA_LIMIT_ENTRY_BYTES);
    if ((rc = mla_log_append_batch_ex(mla_service__log(c), slices, n, mla_service__submitter(c),
                                      receipts, entries)) != MLA_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        mla_service__receipt_fill(&pbs[i], &receipts[i], mla_buf_slice(&entries[i]));
        ptrs[i] = &pbs[i].receipt;
    }
    Mlaudit__V1__AppendBatchResponse resp = MLAUDIT__V1__APPEND_BATCH_RESPONSE__INIT;
    resp.n_receipts = n;
    resp.receipts = ptrs;
    resp.checkpoint = &pbs[n - 1].checkpoint;
    mla_service__reply(c, &resp.base);
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    if (bufs)
        for (size_t i = 0; i < n; i++) mla_buf_dispose(&bufs[i]);
    if (entries)
        for (size_t i = 0; i < n; i++) mla_buf_dispose(&entries[i]);
    mla_free(entries);
    mla_free(bufs);
    mla_free(slices);
    mla_free(receipts);
    mla_free(pbs);
    mla_free(ptrs);
    if (m) mla_codec_rpc_free(m);
}
