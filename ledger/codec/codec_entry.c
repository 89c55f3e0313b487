/* codec_entry: the Entry the ledger stores and hashes (SPEC §3). The leaf hash
 * is taken over the caller's verbatim bytes, so decoding never hands back a
 * re-encoding; these checks make sure the bytes mean what a verifier reads. */
#include "codec/codec_int.h"

#include <string.h>

static bool all_zero(ProtobufCBinaryData b)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < b.len; i++) acc |= b.data[i];
    return acc == 0;
}

static mla_status link_check(const char *p, const mla_pb_link *l, uint64_t seq)
{
    if (l->scope != MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_SUBJECT &&
        l->scope != MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_TARGET &&
        l->scope != MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_DECISIONS)
        return mla_err(MLA_EINVAL, "%s.scope: %d is not a link scope", p, (int)l->scope);
    MLA_TRY(mla_codec__text_check(p, "key", l->key, MLA_LIMIT_LINK_KEY,
                                  MLA_CODEC_TEXT_REQUIRED | MLA_CODEC_TEXT_NAME));
    /* entry.proto: prev_leaf_hash is empty (and prev_seq 0) for the first
     * entry of a scope. */
    MLA_TRY(mla_codec__bytes_check(p, "prev_leaf_hash", l->prev_leaf_hash, MLA_CODEC_DIGEST_BYTES,
                                   false));
    if (l->prev_leaf_hash.len == 0) {
        if (l->prev_seq != 0)
            return mla_err(MLA_EINVAL, "%s.prev_seq: %llu without prev_leaf_hash", p,
                           (unsigned long long)l->prev_seq);
    } else if (l->prev_seq >= seq) {
        return mla_err(MLA_EINVAL, "%s.prev_seq: %llu not before seq %llu", p,
                       (unsigned long long)l->prev_seq, (unsigned long long)seq);
    }
    return MLA_OK;
}

mla_status mla_codec_entry_validate(const mla_pb_entry *m)
{
    char p[MLA_CODEC_PATH_MAX];
    if (m->ledger_time_ns < 0)
        return mla_err(MLA_EINVAL, "entry.ledger_time_ns: %lld is negative",
                       (long long)m->ledger_time_ns);
    MLA_TRY(
        mla_codec__bytes_check("entry", "prev_hash", m->prev_hash, MLA_CODEC_DIGEST_BYTES, true));
    /* SPEC §3: prev_hash is 32 zero bytes for seq 0. */
    if (m->seq == 0 && !all_zero(m->prev_hash))
        return mla_err(MLA_EINVAL, "entry.prev_hash: not 32 zero bytes for seq 0");
    if (!m->envelope) return mla_err(MLA_EINVAL, "entry.envelope: missing");
    MLA_TRY(mla_codec__envelope_check("entry.envelope", m->envelope));
    MLA_TRY(mla_codec__text_check("entry", "submitter", m->submitter, MLA_LIMIT_NAME,
                                  MLA_CODEC_TEXT_NAME));
    if (m->n_links > MLA_LIMIT_LINKS)
        return mla_err(MLA_EINVAL, "entry.links: %zu exceeds limit %d", m->n_links,
                       MLA_LIMIT_LINKS);
    for (size_t i = 0; i < m->n_links; i++) {
        mla_codec__path(p, sizeof p, "entry.links[%zu]", i);
        if (!m->links[i]) return mla_err(MLA_EINVAL, "%s: missing", p);
        MLA_TRY(link_check(p, m->links[i], m->seq));
        /* One back-link per scope: two would let a timeline fork. */
        for (size_t j = 0; j < i; j++)
            if (m->links[j]->scope == m->links[i]->scope &&
                strcmp(m->links[j]->key, m->links[i]->key) == 0)
                return mla_err(MLA_EINVAL, "%s: duplicate of links[%zu]", p, j);
    }
    return MLA_OK;
}

mla_status mla_codec_entry_decode(mla_pb_entry **out, mla_slice in)
{
    ProtobufCMessage *m;
    *out = NULL;
    MLA_TRY(mla_codec__message_unpack(&m, &mlaudit__v1__entry__descriptor, in,
                                      MLA_LIMIT_ENTRY_BYTES, "entry"));
    mla_pb_entry *e = (mla_pb_entry *)m;
    mla_status rc = mla_codec_entry_validate(e);
    if (rc != MLA_OK) {
        mla_codec_entry_free(e);
        return rc;
    }
    *out = e;
    return MLA_OK;
}

void mla_codec_entry_free(mla_pb_entry *m)
{
    if (m) mla_codec__message_free(&m->base);
}

mla_status mla_codec_entry_encode(mla_buf *out, const mla_pb_entry *m)
{
    MLA_TRY(mla_codec_entry_validate(m));
    return mla_codec__message_pack(out, &m->base, MLA_LIMIT_ENTRY_BYTES, "entry");
}
