/* registry_rules: SPEC §6's rules, once. Who may sign what (a revoked key
 * nothing new; key management and erasure admins alone; writers and serving
 * keys their allowed kinds), what a KEY change may do, and the check of every
 * signature of an envelope against a caller's lookup. */
#include <stdio.h>
#include <string.h>

#include "registry/registry.h"

void mla_registry_keyrec_init(mla_keyrec *out, const mla_pubkey *pub, uint8_t role,
                              uint32_t allowed, uint64_t seq)
{
    memset(out, 0, sizeof *out);
    out->pub = *pub;
    mla_crypto_keyid_hash(&out->keyid, pub);
    out->role = role;
    out->allowed = allowed;
    out->seq = seq;
}

static const char *role_name(uint8_t role)
{
    switch (role) {
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER: return "writer";
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_AUDITOR: return "auditor";
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_ADMIN: return "admin";
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING: return "serving";
    default: return "unknown";
    }
}

mla_status mla_registry_keyrec_authorize(const mla_keyrec *rec, mla_kind kind, const char *field)
{
    char keyid[MLA_KEYID_HEX_LEN + 1];
    mla_hex_encode_to(keyid, rec->keyid.b, 32);
    if (rec->revoked)
        return mla_err(MLA_EDENIED, "%s: key %s was revoked (seq %llu) and signs nothing new",
                       field, keyid, (unsigned long long)rec->seq);
    /* The log accepts only changes; offline verifiers meeting another payload
     * type ask only that its key be registered and not revoked. */
    if (rec->role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_ADMIN ||
        kind == MLAUDIT__V1__KIND__KIND_UNSPECIFIED)
        return MLA_OK;
    /* Key management and erasure belong to admins alone (SPEC §6, §8). */
    bool allowed = kind != MLAUDIT__V1__KIND__KIND_KEY &&
                   kind != MLAUDIT__V1__KIND__KIND_REDACTION &&
                   (rec->role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER ||
                    rec->role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING) &&
                   (unsigned)kind < 32 && (rec->allowed >> (unsigned)kind & 1u);
    if (!allowed)
        return mla_err(MLA_EDENIED, "%s: %s key %s may not sign %s changes", field,
                       role_name(rec->role), keyid, mla_codec_kind_name(kind));
    return MLA_OK;
}

mla_status mla_registry_keychange_apply(mla_keyrec *next, const mla_keyrec *cur,
                                        const Mlaudit__V1__KeyChange *kc, uint64_t seq)
{
    if (kc->public_key.len != MLA_ED25519_PUB_LEN)
        return mla_err(MLA_EINVAL, "change.key.public_key: %zu bytes, want 32", kc->public_key.len);
    memset(next, 0, sizeof *next);
    memcpy(next->pub.b, kc->public_key.data, 32);
    mla_crypto_keyid_hash(&next->keyid, &next->pub);
    char keyid[MLA_KEYID_HEX_LEN + 1];
    mla_hex_encode_to(keyid, next->keyid.b, 32);
    if (cur && cur->config_admin)
        return mla_err(MLA_EDENIED,
                       "change.key: %s is an admin key from the configuration; change the "
                       "configuration instead",
                       keyid);
    if (cur && cur->revoked)
        return mla_err(MLA_EDENIED, "change.key: %s was revoked at seq %llu and cannot return",
                       keyid, (unsigned long long)cur->seq);
    if (kc->revoke) {
        if (!cur) return mla_err(MLA_ENOTFOUND, "change.key: cannot revoke unknown key %s", keyid);
        *next = *cur;
        next->revoked = true;
        next->seq = seq;
        return MLA_OK;
    }
    switch (kc->role) {
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER:
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_AUDITOR:
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_ADMIN:
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING: break;
    default: return mla_err(MLA_EINVAL, "change.key.role: %d is not a role", (int)kc->role);
    }
    next->role = (uint8_t)kc->role;
    for (size_t i = 0; i < kc->n_allowed_kinds; i++) {
        int k = (int)kc->allowed_kinds[i];
        if (k <= 0 || k >= 32 || !strcmp(mla_codec_kind_name((mla_kind)k), "UNSPECIFIED"))
            return mla_err(MLA_EINVAL, "change.key.allowed_kinds[%zu]: %d is not a kind", i, k);
        next->allowed |= 1u << (unsigned)k;
    }
    if ((kc->role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER ||
         kc->role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING) &&
        next->allowed == 0)
        return mla_err(MLA_EINVAL, "change.key.allowed_kinds: a %s key needs at least one kind",
                       role_name(next->role));
    next->seq = seq;
    return MLA_OK;
}

mla_status mla_registry_envelope_authorize(mla_pubkey *keys_out, size_t *unknown_out,
                                           const mla_pb_envelope *env, mla_kind kind,
                                           mla_registry_lookup get, void *ctx, bool check_sigs)
{
    char field[64];
    if (unknown_out) *unknown_out = SIZE_MAX;
    for (size_t i = 0; i < env->n_signatures; i++) {
        const mla_pb_signature *s = env->signatures[i];
        mla_hash keyid;
        mla_keyrec rec;
        snprintf(field, sizeof field, "envelope.signatures[%zu]", i);
        MLA_TRY(mla_hash_from_hex(&keyid, mla_slice_cstr(s->keyid), field));
        if (!get(ctx, &keyid, &rec)) {
            if (unknown_out) *unknown_out = i;
            return mla_err(MLA_EDENIED, "%s: unknown key %s (register it with a KEY entry)", field,
                           s->keyid);
        }
        MLA_TRY(mla_registry_keyrec_authorize(&rec, kind, field));
        if (keys_out) keys_out[i] = rec.pub;
        if (!check_sigs) continue;
        mla_status rc = mla_crypto_dsse_verify(&rec.pub, mla_slice_cstr(env->payload_type),
                                               mla_slice_make(env->payload.data, env->payload.len),
                                               mla_slice_make(s->sig.data, s->sig.len));
        if (rc == MLA_EDENIED || rc == MLA_EINVAL)
            return mla_err(MLA_EDENIED, "%s: signature by key %s does not verify", field, s->keyid);
        if (rc != MLA_OK) return rc;
    }
    return MLA_OK;
}
