/* registry: the key registry of SPEC §6 and its replay. The trust root is the
 * admin keys of the configuration; KEY entries signed by an admin register
 * writer, auditor, admin or serving keys with the kinds they may sign, or
 * revoke them; a revoked key signs nothing new. These rules exist only here:
 * the log's sequencer and audit, the bundle verifier (cli/) and reports/ all
 * apply them. Pure code on base, crypto and codec: no I/O. Threads: a
 * registry or replay belongs to one thread at a time (the log guards its own
 * with a lock); the rule functions are pure. */
#ifndef MLA_REGISTRY_H
#define MLA_REGISTRY_H

#include "codec/codec.h"
#include "crypto/crypto.h"

/** What the registry knows of one key. */
typedef struct mla_keyrec {
    mla_hash keyid;
    mla_pubkey pub;
    uint8_t role; /* Mlaudit__V1__KeyRole */
    bool revoked;
    bool config_admin; /* trust root from the configuration: not revocable */
    uint32_t allowed; /* bit k = may sign kind k (writers, serving keys) */
    uint64_t seq; /* KEY entry that last changed it; UINT64_MAX for config */
} mla_keyrec;

/** What a serving key or the log's own key may sign (SPEC §3). */
#define MLA_REGISTRY_BATCH_KINDS (1u << MLAUDIT__V1__KIND__KIND_DECISION_BATCH)

/** Fill out for pub (keyid computed; not revoked, not from the
 * configuration). */
void mla_registry_keyrec_init(mla_keyrec *out, const mla_pubkey *pub, uint8_t role,
                              uint32_t allowed, uint64_t seq);

/* ---- the table (registry_table.c) ------------------------------------------- */

/** Records by keyid: an open-addressing hash table. */
typedef struct mla_registry mla_registry;
/** An empty registry into *out (free with mla_registry_free). MLA_ENOMEM. */
mla_status mla_registry_new(mla_registry **out) MLA_MUST_USE;
/** Free r; NULL is a no-op. */
void mla_registry_free(mla_registry *r);
/** Insert or replace the record for rec->keyid (copying rec). MLA_ENOMEM. */
mla_status mla_registry_put(mla_registry *r, const mla_keyrec *rec) MLA_MUST_USE;
/** Copy the record for keyid into out; false if absent. */
bool mla_registry_get(const mla_registry *r, const mla_hash *keyid, mla_keyrec *out);
/** How many keys r holds (revoked ones included). */
size_t mla_registry_count(const mla_registry *r);

/* ---- the rules (registry_rules.c) -------------------------------------------- */

/** May a key with this record sign a change of this kind? MLA_EDENIED naming
 * field, the keyid and the reason otherwise. kind UNSPECIFIED stands for a
 * payload that is not a change: any registered key not revoked may sign it. */
mla_status mla_registry_keyrec_authorize(const mla_keyrec *rec, mla_kind kind,
                                         const char *field) MLA_MUST_USE;
/** The registry state a KEY change leads to: validates the change against
 * the current record `cur` (NULL if unknown) and fills `next`. Statuses:
 * MLA_EINVAL, MLA_ENOTFOUND (revoking an unknown key), MLA_EDENIED. */
mla_status mla_registry_keychange_apply(mla_keyrec *next, const mla_keyrec *cur,
                                        const Mlaudit__V1__KeyChange *kc,
                                        uint64_t seq) MLA_MUST_USE;

/** A key's record for keyid into out, or false if the caller knows none. */
typedef bool (*mla_registry_lookup)(void *ctx, const mla_hash *keyid, mla_keyrec *out);
/** Authorise every signature of an envelope: each keyid must name a key `get`
 * knows, not revoked and allowed for `kind`; with check_sigs its DSSE
 * signature must verify too. keys_out (room for MLA_LIMIT_SIGNATURES; may be
 * NULL) receives each signature's key, for callers that verify later.
 * unknown_out (may be NULL) is the index of the signature whose keyid named
 * no key when that was the refusal, else SIZE_MAX. MLA_EDENIED/MLA_EINVAL
 * naming "envelope.signatures[i]" and the keyid. */
mla_status mla_registry_envelope_authorize(mla_pubkey *keys_out, size_t *unknown_out,
                                           const mla_pb_envelope *env, mla_kind kind,
                                           mla_registry_lookup get, void *ctx,
                                           bool check_sigs) MLA_MUST_USE;

/* ---- the replay (registry_replay.c) -------------------------------------------
 * A verifier's walk over the entries in seq order: each entry's signatures are
 * authorised against the registry as it stood just before it, then its change
 * applied. Besides registered keys, a DECISION_BATCH may be signed by the
 * log's own key or by a serving key a DEPLOYMENT on the batch's target named
 * earlier in the walk (SPEC §3). */

typedef struct mla_registry_replay mla_registry_replay;
/** A replay whose trust root is admin_keys (configuration admins: neither
 * revocable nor changed by KEY entries). MLA_ENOMEM. */
mla_status mla_registry_replay_new(mla_registry_replay **out, const mla_pubkey *admin_keys,
                                   size_t n_admin_keys) MLA_MUST_USE;
/** Free r; NULL is a no-op. */
void mla_registry_replay_free(mla_registry_replay *r);
/** Trust pub, the log's own key, to sign any target's DECISION_BATCH. */
mla_status mla_registry_replay_log_key(mla_registry_replay *r, const mla_pubkey *pub) MLA_MUST_USE;
/** Put a record as if a KEY entry had registered it (keys a verifier trusts
 * besides the trust root; a trust root key keeps its record). MLA_ENOMEM. */
mla_status mla_registry_replay_put(mla_registry_replay *r, const mla_keyrec *rec) MLA_MUST_USE;
/** How many keys the replay knows (trust root, put and registered). */
size_t mla_registry_replay_count(const mla_registry_replay *r);
/** Authorise env, whose payload decoded to c (NULL: not a change), as
 * mla_registry_envelope_authorize does, with the replay as the lookup. */
mla_status mla_registry_replay_authorize(mla_pubkey *keys_out, size_t *unknown_out,
                                         const mla_registry_replay *r, const mla_pb_envelope *env,
                                         const mla_pb_change *c, bool check_sigs) MLA_MUST_USE;
/** Apply what entry seq's change c (NULL: none) does to the registry: a KEY
 * change (statuses as mla_registry_keychange_apply; MLA_EINVAL without its
 * detail), or the serving key a DEPLOYMENT names. Call it after the entry's
 * signatures were authorised, in seq order. */
mla_status mla_registry_replay_apply(mla_registry_replay *r, uint64_t seq,
                                     const mla_pb_change *c) MLA_MUST_USE;

#endif
