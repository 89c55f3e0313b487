/* client_append: Append and AppendBatch. Envelopes are checked locally first
 * (a malformed one fails here, naming its field, without a round trip) and
 * sent verbatim: the request is framed around the caller's bytes rather than
 * re-serialised, so the server sees exactly what was signed. Every receipt is
 * verified before success is reported. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

mla_status mla_client__frame(mla_buf *out, uint8_t tag, mla_slice bytes)
{
    uint8_t hdr[11];
    size_t n = 0;
    hdr[n++] = tag;
    for (uint64_t v = bytes.len;; v >>= 7) {
        if (v < 0x80) {
            hdr[n++] = (uint8_t)v;
            break;
        }
        hdr[n++] = (uint8_t)(v | 0x80);
    }
    MLA_TRY(mla_buf_append(out, hdr, n));
    return mla_buf_append_slice(out, bytes);
}

/* AppendRequest.envelope and AppendBatchRequest.envelopes: field 1. */
#define TAG_ENVELOPE 0x0a

/* Decode the envelope so a malformed one is refused here, naming `field`. */
static mla_status check_envelope(mla_slice env, const char *field)
{
    if (env.len == 0) return mla_err(MLA_EINVAL, "%s: empty", field);
    if (env.len > MLA_LIMIT_ENVELOPE_BYTES)
        return mla_err(MLA_EINVAL, "%s: %zu bytes exceeds limit %d", field, env.len,
                       MLA_LIMIT_ENVELOPE_BYTES);
    mla_pb_envelope *m = NULL;
    if (mla_codec_envelope_decode(&m, env) != MLA_OK) {
        if (mla_error_last()->code != MLA_EINVAL) return mla_error_last()->code;
        char inner[MLA_ERROR_MSG_MAX];
        snprintf(inner, sizeof inner, "%s", mla_error_last()->msg);
        return mla_err(MLA_EINVAL, "%s: %s", field, inner);
    }
    mla_codec_envelope_free(m);
    return MLA_OK;
}

mla_status mla_client_append(mla_client *c, mla_slice envelope, mla_receipt *out)
{
    MLA_ASSERT(c && out);
    memset(out, 0, sizeof *out);
    MLA_TRY(check_envelope(envelope, "envelope"));
    mla_buf req;
    mla_buf_init(&req, MLA_LIMIT_RPC_BYTES);
    ProtobufCMessage *resp = NULL;
    mla_status rc = mla_client__frame(&req, TAG_ENVELOPE, envelope);
    if (rc != MLA_OK) goto out;
    rc = mla_client__call(c, MLA_CLIENT_METHOD("Append"), mla_buf_slice(&req),
                          &mlaudit__v1__append_response__descriptor, "AppendResponse", &resp);
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__AppendResponse *r = (const Mlaudit__V1__AppendResponse *)resp;
    rc = mla_client__receipt_from_pb(out, r->receipt, NULL, &c->verifier, NULL, "receipt");
    if (rc == MLA_OK) rc = mla_client__receipt_entry_check(r->receipt, out, envelope, "receipt");
out:
    if (rc != MLA_OK) memset(out, 0, sizeof *out);
    mla_codec_rpc_free(resp);
    mla_buf_dispose(&req);
    return rc;
}

mla_status mla_client_append_batch(mla_client *c, const mla_slice *envelopes, size_t n,
                                   mla_receipt *receipts_out)
{
    MLA_ASSERT(c && (n == 0 || (envelopes && receipts_out)));
    if (n == 0) return mla_err(MLA_EINVAL, "envelopes: empty batch");
    if (n > MLA_LOG_BATCH_MAX)
        return mla_err(MLA_EINVAL, "envelopes: %zu exceeds limit %d", n, MLA_LOG_BATCH_MAX);
    mla_buf req;
    mla_buf_init(&req, MLA_LIMIT_RPC_BYTES);
    ProtobufCMessage *resp = NULL;
    mla_status rc = MLA_OK;
    char field[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(field, sizeof field, "envelopes[%zu]", i);
        if ((rc = check_envelope(envelopes[i], field)) != MLA_OK) goto out;
        if ((rc = mla_client__frame(&req, TAG_ENVELOPE, envelopes[i])) != MLA_OK) {
            if (rc == MLA_ELIMIT)
                rc = mla_err(MLA_ELIMIT, "envelopes: batch exceeds %u bytes at %s",
                             MLA_LIMIT_RPC_BYTES, field);
            goto out;
        }
    }
    rc = mla_client__call(c, MLA_CLIENT_METHOD("AppendBatch"), mla_buf_slice(&req),
                          &mlaudit__v1__append_batch_response__descriptor, "AppendBatchResponse",
                          &resp);
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__AppendBatchResponse *r = (const Mlaudit__V1__AppendBatchResponse *)resp;
    if (r->n_receipts != n) {
        rc = mla_err(MLA_ECORRUPT, "receipts: %zu for a batch of %zu envelopes", r->n_receipts, n);
        goto out;
    }
    /* One checkpoint covers the batch: its signature is checked once. */
    mla_client__cp_cache cache = {.valid = false};
    for (size_t i = 0; i < n; i++) {
        snprintf(field, sizeof field, "receipts[%zu]", i);
        rc = mla_client__receipt_from_pb(&receipts_out[i], r->receipts[i], r->checkpoint,
                                         &c->verifier, &cache, field);
        if (rc == MLA_OK)
            rc = mla_client__receipt_entry_check(r->receipts[i], &receipts_out[i], envelopes[i],
                                                 field);
        if (rc != MLA_OK) goto out;
    }
out:
    if (rc != MLA_OK && receipts_out) memset(receipts_out, 0, n * sizeof *receipts_out);
    mla_codec_rpc_free(resp);
    mla_buf_dispose(&req);
    return rc;
}
