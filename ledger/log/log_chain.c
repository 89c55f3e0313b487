/* log_chain: the hash chain and back-links of one entry (SPEC §3). Each
 * entry carries prev_hash (the leaf hash of entry seq-1) and, for each scope
 * it belongs to (its subject "type:name", its deployment target, or for a
 * decision batch its target's batches), the seq and
 * leaf hash of the previous entry in that scope, so a verifier can prove a
 * timeline omits nothing. */
#include <string.h>

#include "log/log_int.h"

mla_status mla_log__change_scopes(mla_log_scope *scopes, size_t *n_out, const mla_pb_change *c)
{
    size_t n = 0;
    *n_out = 0;
    if (c->subject && c->subject->name && c->subject->name[0]) {
        scopes[n].scope = MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_SUBJECT;
        mla_buf_clear(&scopes[n].key);
        MLA_TRY(mla_codec_artifact_scope(&scopes[n].key, c->subject));
        n++;
    }
    const char *target = mla_codec_change_target(c);
    if (target && target[0]) {
        /* A target's deployment timeline and its decision batches are two
         * chains: proving "nothing deployed in between" must not require
         * walking every batch. */
        scopes[n].scope = c->kind == MLAUDIT__V1__KIND__KIND_DECISION_BATCH
                              ? MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_DECISIONS
                              : MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_TARGET;
        mla_buf_clear(&scopes[n].key);
        MLA_TRY(mla_buf_append_cstr(&scopes[n].key, target));
        n++;
    }
    *n_out = n;
    return MLA_OK;
}

mla_status mla_log__entry_encode(mla_buf *out, uint64_t seq, int64_t ledger_time_ns,
                                 const mla_hash *prev_hash, const mla_pb_envelope *env,
                                 const char *submitter, mla_pb_link *const *links, size_t n_links)
{
    mla_pb_entry e = MLAUDIT__V1__ENTRY__INIT;
    e.seq = seq;
    e.ledger_time_ns = ledger_time_ns;
    e.prev_hash.data = (uint8_t *)(uintptr_t)prev_hash->b; /* protobuf-c fields are not const */
    e.prev_hash.len = 32;
    e.envelope = (mla_pb_envelope *)(uintptr_t)env;
    e.submitter = (char *)(uintptr_t)submitter;
    e.links = (mla_pb_link **)(uintptr_t)links;
    e.n_links = n_links;
    mla_buf_clear(out);
    return mla_codec_entry_encode(out, &e);
}
