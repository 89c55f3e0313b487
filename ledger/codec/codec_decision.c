/* codec_decision: a decision receipt (SPEC §3, "Decision receipts"). Its leaf
 * is SHA-256(0x00 || decision bytes); the ledger holds digests only, never the
 * inputs or outputs themselves. */
#include "codec/codec_int.h"

mla_status mla_codec_decision_validate(const mla_pb_decision *m)
{
    const char *p = "decision";
    const unsigned name = MLA_CODEC_TEXT_REQUIRED | MLA_CODEC_TEXT_NAME;
    MLA_TRY(mla_codec__text_check(p, "id", m->id, MLA_LIMIT_DECISION_ID, name));
    MLA_TRY(mla_codec__text_check(p, "target", m->target, MLA_LIMIT_NAME, name));
    MLA_TRY(
        mla_codec__bytes_check(p, "input_digest", m->input_digest, MLA_CODEC_DIGEST_BYTES, true));
    MLA_TRY(
        mla_codec__bytes_check(p, "output_digest", m->output_digest, MLA_CODEC_DIGEST_BYTES, true));
    if (m->model) MLA_TRY(mla_codec__artifact_check("decision.model", m->model, false));
    MLA_TRY(mla_codec__text_check(p, "reviewer", m->reviewer, MLA_LIMIT_NAME, MLA_CODEC_TEXT_NAME));
    if (m->override) {
        const char *o = "decision.override";
        MLA_TRY(mla_codec__text_check(o, "by", m->override->by, MLA_LIMIT_NAME, name));
        MLA_TRY(mla_codec__bytes_check(o, "reason_digest", m->override->reason_digest,
                                       MLA_CODEC_DIGEST_BYTES, false));
        MLA_TRY(mla_codec__bytes_check(o, "new_output_digest", m->override->new_output_digest,
                                       MLA_CODEC_DIGEST_BYTES, false));
    }
    return mla_codec__bytes_check(p, "explanation_digest", m->explanation_digest,
                                  MLA_CODEC_DIGEST_BYTES, false);
}

mla_status mla_codec_decision_decode(mla_pb_decision **out, mla_slice in)
{
    ProtobufCMessage *m;
    *out = NULL;
    MLA_TRY(mla_codec__message_unpack(&m, &mlaudit__v1__decision__descriptor, in,
                                      MLA_LIMIT_DECISION_BYTES, "decision"));
    mla_pb_decision *d = (mla_pb_decision *)m;
    mla_status rc = mla_codec_decision_validate(d);
    if (rc != MLA_OK) {
        mla_codec_decision_free(d);
        return rc;
    }
    *out = d;
    return MLA_OK;
}

void mla_codec_decision_free(mla_pb_decision *m)
{
    if (m) mla_codec__message_free(&m->base);
}

mla_status mla_codec_decision_encode(mla_buf *out, const mla_pb_decision *m)
{
    MLA_TRY(mla_codec_decision_validate(m));
    return mla_codec__message_pack(out, &m->base, MLA_LIMIT_DECISION_BYTES, "decision");
}
