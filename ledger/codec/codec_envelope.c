/* codec_envelope: the DSSE envelope (SPEC §3): decode, validate, encode. The
 * checks are structural; signatures are verified by crypto/ against the key
 * registry, never against anything the envelope carries. */
#include "codec/codec_int.h"

#include <string.h>

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

static mla_status signature_check(const char *path, const mla_pb_signature *s)
{
    /* SPEC §3: Ed25519 over the PAE, 64 bytes. */
    MLA_TRY(mla_codec__bytes_check(path, "sig", s->sig, MLA_CODEC_SIG_BYTES, true));
    /* SPEC §3: keyid = lowercase hex SHA-256 of the raw public key. */
    size_t n = s->keyid ? strlen(s->keyid) : 0;
    if (n != MLA_CODEC_KEYID_CHARS)
        return mla_err(MLA_EINVAL, "%s.keyid: %zu chars, want %d lowercase hex", path, n,
                       MLA_CODEC_KEYID_CHARS);
    if (!is_lower_hex(s->keyid, n)) return mla_err(MLA_EINVAL, "%s.keyid: not lowercase hex", path);
    return MLA_OK;
}

mla_status mla_codec__envelope_check(const char *path, const mla_pb_envelope *m)
{
    char p[MLA_CODEC_PATH_MAX];
    MLA_TRY(mla_codec__text_check(path, "payload_type", m->payload_type, MLA_LIMIT_PAYLOAD_TYPE,
                                  MLA_CODEC_TEXT_REQUIRED | MLA_CODEC_TEXT_NAME));
    if (m->payload.len == 0) return mla_err(MLA_EINVAL, "%s.payload: empty", path);
    if (m->payload.len > MLA_LIMIT_PAYLOAD_BYTES)
        return mla_err(MLA_EINVAL, "%s.payload: %zu bytes exceeds limit %d", path, m->payload.len,
                       MLA_LIMIT_PAYLOAD_BYTES);
    if (m->n_signatures == 0) return mla_err(MLA_EINVAL, "%s.signatures: none", path);
    if (m->n_signatures > MLA_LIMIT_SIGNATURES)
        return mla_err(MLA_EINVAL, "%s.signatures: %zu exceeds limit %d", path, m->n_signatures,
                       MLA_LIMIT_SIGNATURES);
    for (size_t i = 0; i < m->n_signatures; i++) {
        mla_codec__path(p, sizeof p, "%s.signatures[%zu]", path, i);
        if (!m->signatures[i]) return mla_err(MLA_EINVAL, "%s: missing", p);
        MLA_TRY(signature_check(p, m->signatures[i]));
        /* One key signing twice adds nothing and would let one signer pass
         * for two in a co-signature count. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->signatures[j]->keyid, m->signatures[i]->keyid) == 0)
                return mla_err(MLA_EINVAL, "%s.keyid: duplicate of signatures[%zu]", p, j);
    }
    return MLA_OK;
}

mla_status mla_codec_envelope_validate(const mla_pb_envelope *m)
{
    return mla_codec__envelope_check("envelope", m);
}

mla_status mla_codec_envelope_decode(mla_pb_envelope **out, mla_slice in)
{
    ProtobufCMessage *m;
    *out = NULL;
    MLA_TRY(mla_codec__message_unpack(&m, &mlaudit__v1__envelope__descriptor, in,
                                      MLA_LIMIT_ENVELOPE_BYTES, "envelope"));
    mla_pb_envelope *e = (mla_pb_envelope *)m;
    mla_status rc = mla_codec_envelope_validate(e);
    if (rc != MLA_OK) {
        mla_codec_envelope_free(e);
        return rc;
    }
    *out = e;
    return MLA_OK;
}

void mla_codec_envelope_free(mla_pb_envelope *m)
{
    if (m) mla_codec__message_free(&m->base);
}

mla_status mla_codec_envelope_encode(mla_buf *out, const mla_pb_envelope *m)
{
    MLA_TRY(mla_codec_envelope_validate(m));
    return mla_codec__message_pack(out, &m->base, MLA_LIMIT_ENVELOPE_BYTES, "envelope");
}
