/* client_envelope: a Change signed into a DSSE envelope (SPEC §3), the unit
 * a service appends. The change is validated by the codec before anything is
 * signed, so a refused field is named here rather than by the server. */
#include <string.h>

#include "client/client_int.h"

mla_status mla_client_envelope_sign(mla_buf *out, const mla_pb_change *change,
                                    const mla_privkey *const *keys, size_t n_keys)
{
    MLA_ASSERT(out && change && (n_keys == 0 || keys));
    if (n_keys == 0) return mla_err(MLA_EINVAL, "keys: none given (at least one signs)");
    if (n_keys > MLA_LIMIT_SIGNATURES)
        return mla_err(MLA_EINVAL, "keys: %zu exceeds limit %d", n_keys, MLA_LIMIT_SIGNATURES);
    for (size_t i = 0; i < n_keys; i++) {
        if (!keys[i]) return mla_err(MLA_EINVAL, "keys[%zu]: NULL", i);
        for (size_t j = 0; j < i; j++)
            if (memcmp(mla_crypto_key_public(keys[i])->b, mla_crypto_key_public(keys[j])->b,
                       MLA_ED25519_PUB_LEN) == 0)
                return mla_err(MLA_EINVAL, "keys[%zu]: the same key as keys[%zu]", i, j);
    }
    mla_status rc;
    mla_buf payload;
    mla_buf_init(&payload, MLA_LIMIT_PAYLOAD_BYTES);
    mla_pb_signature sigs[MLA_LIMIT_SIGNATURES], *sigp[MLA_LIMIT_SIGNATURES];
    uint8_t sigbytes[MLA_LIMIT_SIGNATURES][MLA_ED25519_SIG_LEN];
    char keyids[MLA_LIMIT_SIGNATURES][MLA_KEYID_HEX_LEN + 1];
    /* Validates the change first (MLA_EINVAL naming the field). */
    if ((rc = mla_codec_change_encode(&payload, change)) != MLA_OK) goto out;
    const mla_slice type = mla_slice_cstr(MLA_PAYLOAD_TYPE_CHANGE);
    for (size_t i = 0; i < n_keys; i++) {
        /* SPEC §3: Ed25519 over PAE(type, payload); keyid = hex SHA-256 of
         * the raw public key, a lookup hint only. */
        if ((rc = mla_crypto_dsse_sign(sigbytes[i], keys[i], type, mla_buf_slice(&payload))) !=
            MLA_OK)
            goto out;
        mla_crypto_keyid(keyids[i], mla_crypto_key_public(keys[i]));
        mla_pb_signature s = MLAUDIT__V1__SIGNATURE__INIT;
        s.keyid = keyids[i];
        s.sig.data = sigbytes[i];
        s.sig.len = MLA_ED25519_SIG_LEN;
        sigs[i] = s;
        sigp[i] = &sigs[i];
    }
    mla_pb_envelope env = MLAUDIT__V1__ENVELOPE__INIT;
    env.payload_type = (char *)(uintptr_t)MLA_PAYLOAD_TYPE_CHANGE;
    env.payload.data = payload.ptr;
    env.payload.len = payload.len;
    env.signatures = sigp;
    env.n_signatures = n_keys;
    rc = mla_codec_envelope_encode(out, &env); /* leaves out as it was on error */
out:
    mla_buf_dispose(&payload);
    return rc;
}
