/* registry_replay: the key registry rebuilt from the entries, for those who
 * verify a log from its entries alone: the log's audit, the bundle verifier
 * and reports/. The registry's own keys, plus for a DECISION_BATCH the log's
 * key and the serving keys DEPLOYMENTs on its target named earlier. */
#include <string.h>

#include "registry/registry.h"

struct mla_registry_replay {
    mla_registry *keys; /* trust root, put and registered keys */
    /* Serving keys by SHA-256(target 00 keyid): a key names a target. The
     * first naming is kept, as the index keeps it (index_write.c). */
    mla_registry *serving;
    mla_keyrec *log_keys;
    size_t n_log_keys;
};

static void serving_id(mla_hash *out, const char *target, const mla_hash *keyid)
{
    static const uint8_t zero = 0;
    const mla_slice parts[3] = {mla_slice_cstr(target), mla_slice_make(&zero, 1),
                                mla_slice_make(keyid->b, 32)};
    mla_crypto_sha256_v(out, parts, 3);
}

mla_status mla_registry_replay_new(mla_registry_replay **out, const mla_pubkey *admin_keys,
                                   size_t n_admin_keys)
{
    *out = NULL;
    mla_registry_replay *r = mla_calloc(1, sizeof *r);
    if (!r) return mla_err(MLA_ENOMEM, "registry: out of memory");
    mla_status rc = mla_registry_new(&r->keys);
    if (rc == MLA_OK) rc = mla_registry_new(&r->serving);
    for (size_t i = 0; rc == MLA_OK && i < n_admin_keys; i++) {
        mla_keyrec rec;
        mla_registry_keyrec_init(&rec, &admin_keys[i], MLAUDIT__V1__KEY_ROLE__KEY_ROLE_ADMIN, 0,
                                 UINT64_MAX);
        rec.config_admin = true;
        rc = mla_registry_put(r->keys, &rec);
    }
    if (rc != MLA_OK) {
        mla_registry_replay_free(r);
        return rc;
    }
    *out = r;
    return MLA_OK;
}

void mla_registry_replay_free(mla_registry_replay *r)
{
    if (!r) return;
    mla_registry_free(r->keys);
    mla_registry_free(r->serving);
    mla_free(r->log_keys);
    mla_free(r);
}

mla_status mla_registry_replay_log_key(mla_registry_replay *r, const mla_pubkey *pub)
{
    size_t bytes;
    if (!mla_mul_size(&bytes, r->n_log_keys + 1, sizeof *r->log_keys))
        return mla_err(MLA_ENOMEM, "registry: too many log keys");
    mla_keyrec *k = mla_realloc(r->log_keys, bytes);
    if (!k) return mla_err(MLA_ENOMEM, "registry: out of memory");
    r->log_keys = k;
    mla_registry_keyrec_init(&k[r->n_log_keys++], pub, MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING,
                             MLA_REGISTRY_BATCH_KINDS, UINT64_MAX);
    return MLA_OK;
}

mla_status mla_registry_replay_put(mla_registry_replay *r, const mla_keyrec *rec)
{
    /* The trust root wins over any other record, as the configuration's
     * admin keys do when the log opens. */
    mla_keyrec cur;
    if (mla_registry_get(r->keys, &rec->keyid, &cur) && cur.config_admin) return MLA_OK;
    return mla_registry_put(r->keys, rec);
}

size_t mla_registry_replay_count(const mla_registry_replay *r)
{
    return mla_registry_count(r->keys);
}

typedef struct lookup_ctx {
    const mla_registry_replay *r;
    const char *target; /* of the DECISION_BATCH being authorised, else NULL */
} lookup_ctx;

static bool lookup(void *ctx, const mla_hash *keyid, mla_keyrec *out)
{
    const lookup_ctx *l = ctx;
    if (mla_registry_get(l->r->keys, keyid, out)) return true;
    if (!l->target) return false;
    /* SPEC §3: a decision batch may also be sealed by the log itself or by a
     * serving key its target's DEPLOYMENT named. */
    for (size_t i = 0; i < l->r->n_log_keys; i++) {
        if (mla_hash_eq(&l->r->log_keys[i].keyid, keyid)) {
            *out = l->r->log_keys[i];
            return true;
        }
    }
    mla_hash id;
    serving_id(&id, l->target, keyid);
    if (!mla_registry_get(l->r->serving, &id, out)) return false;
    out->keyid = *keyid;
    return true;
}

mla_status mla_registry_replay_authorize(mla_pubkey *keys_out, size_t *unknown_out,
                                         const mla_registry_replay *r, const mla_pb_envelope *env,
                                         const mla_pb_change *c, bool check_sigs)
{
    lookup_ctx l = {r, c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH
                           ? c->decision_batch->target
                           : NULL};
    return mla_registry_envelope_authorize(keys_out, unknown_out, env,
                                           c ? c->kind : MLAUDIT__V1__KIND__KIND_UNSPECIFIED,
                                           lookup, &l, check_sigs);
}

mla_status mla_registry_replay_apply(mla_registry_replay *r, uint64_t seq, const mla_pb_change *c)
{
    if (!c) return MLA_OK;
    if (c->kind == MLAUDIT__V1__KIND__KIND_KEY) {
        if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_KEY)
            return mla_err(MLA_EINVAL, "change.key: required for a KEY change");
        const Mlaudit__V1__KeyChange *kc = c->key;
        mla_keyrec cur, next;
        bool known = false;
        if (kc->public_key.len == MLA_ED25519_PUB_LEN) {
            mla_pubkey pub;
            memcpy(pub.b, kc->public_key.data, 32);
            mla_crypto_keyid_hash(&cur.keyid, &pub);
            known = mla_registry_get(r->keys, &cur.keyid, &cur);
        }
        MLA_TRY(mla_registry_keychange_apply(&next, known ? &cur : NULL, kc, seq));
        return mla_registry_put(r->keys, &next);
    }
    if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT ||
        c->deployment->serving_key.len != MLA_ED25519_PUB_LEN)
        return MLA_OK;
    mla_pubkey pub;
    mla_keyrec rec, first;
    memcpy(pub.b, c->deployment->serving_key.data, 32);
    mla_registry_keyrec_init(&rec, &pub, MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING,
                             MLA_REGISTRY_BATCH_KINDS, seq);
    mla_hash id;
    serving_id(&id, c->deployment->target, &rec.keyid);
    rec.keyid = id; /* lookup() puts the key's own keyid back */
    if (mla_registry_get(r->serving, &id, &first)) return MLA_OK;
    return mla_registry_put(r->serving, &rec);
}
