/* log_registry: the key registry of SPEC §6. The trust root is the admin
 * keys of the configuration; KEY entries signed by an admin register writer,
 * auditor, admin or serving keys with the kinds they may sign, or revoke
 * them. A revoked key signs nothing new; its old entries stay valid. The
 * in-memory table is an open-addressing hash on the keyid. */
#include <stdio.h>
#include <string.h>

#include "log/log_int.h"

struct mla_log_registry {
    mla_log_keyrec *slots;
    bool *used;
    size_t cap, n;
};

static size_t slot_of(const mla_log_registry *r, const mla_hash *keyid)
{
    uint64_t h = mla_get_be64(keyid->b); /* keyids are SHA-256 outputs: uniform */
    return (size_t)h & (r->cap - 1);
}

mla_status mla_log__registry_new(mla_log_registry **out)
{
    *out = NULL;
    mla_log_registry *r = mla_calloc(1, sizeof *r);
    if (!r) return mla_err(MLA_ENOMEM, "registry: out of memory");
    r->cap = 64;
    r->slots = mla_calloc(r->cap, sizeof *r->slots);
    r->used = mla_calloc(r->cap, sizeof *r->used);
    if (!r->slots || !r->used) {
        mla_log__registry_free(r);
        return mla_err(MLA_ENOMEM, "registry: out of memory");
    }
    *out = r;
    return MLA_OK;
}

void mla_log__registry_free(mla_log_registry *r)
{
    if (!r) return;
    mla_free(r->slots);
    mla_free(r->used);
    mla_free(r);
}

static void insert(mla_log_registry *r, const mla_log_keyrec *rec)
{
    size_t i = slot_of(r, &rec->keyid);
    while (r->used[i] && memcmp(r->slots[i].keyid.b, rec->keyid.b, 32) != 0)
        i = (i + 1) & (r->cap - 1);
    if (!r->used[i]) r->n++;
    r->used[i] = true;
    r->slots[i] = *rec;
}

mla_status mla_log__registry_put(mla_log_registry *r, const mla_log_keyrec *rec)
{
    if ((r->n + 1) * 2 > r->cap) {
        mla_log_registry bigger = {NULL, NULL, r->cap * 2, 0};
        bigger.slots = mla_calloc(bigger.cap, sizeof *bigger.slots);
        bigger.used = mla_calloc(bigger.cap, sizeof *bigger.used);
        if (!bigger.slots || !bigger.used) {
            mla_free(bigger.slots);
            mla_free(bigger.used);
            return mla_err(MLA_ENOMEM, "registry: out of memory");
        }
        for (size_t i = 0; i < r->cap; i++)
            if (r->used[i]) insert(&bigger, &r->slots[i]);
        mla_free(r->slots);
        mla_free(r->used);
        *r = bigger;
    }
    insert(r, rec);
    return MLA_OK;
}

bool mla_log__registry_get(const mla_log_registry *r, const mla_hash *keyid, mla_log_keyrec *out)
{
    for (size_t i = slot_of(r, keyid); r->used[i]; i = (i + 1) & (r->cap - 1)) {
        if (memcmp(r->slots[i].keyid.b, keyid->b, 32) == 0) {
            *out = r->slots[i];
            return true;
        }
    }
    return false;
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

mla_status mla_log__keyrec_authorize(const mla_log_keyrec *rec, mla_kind kind, const char *field)
{
    char keyid[MLA_KEYID_HEX_LEN + 1];
    mla_hex_encode_to(keyid, rec->keyid.b, 32);
    if (rec->revoked)
        return mla_err(MLA_EDENIED, "%s: key %s was revoked (seq %llu) and signs nothing new",
                       field, keyid, (unsigned long long)rec->seq);
    if (rec->role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_ADMIN) return MLA_OK;
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

mla_status mla_log__keychange_apply(mla_log_keyrec *next, const mla_log_keyrec *cur,
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

mla_status mla_log__envelope_authorize(const mla_pb_envelope *env, mla_kind kind,
                                       mla_log_key_lookup get, void *ctx, bool check_sigs)
{
    char field[64];
    for (size_t i = 0; i < env->n_signatures; i++) {
        const mla_pb_signature *s = env->signatures[i];
        mla_hash keyid;
        mla_log_keyrec rec;
        snprintf(field, sizeof field, "envelope.signatures[%zu]", i);
        MLA_TRY(mla_hash_from_hex(&keyid, mla_slice_cstr(s->keyid), field));
        if (!get(ctx, &keyid, &rec))
            return mla_err(MLA_EDENIED, "%s: unknown key %s (register it with a KEY entry)", field,
                           s->keyid);
        MLA_TRY(mla_log__keyrec_authorize(&rec, kind, field));
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
