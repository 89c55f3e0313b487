/* log_int.h: private to ledger/log: the store layout, the key registry, the
 * group overlay, and the log handle shared by the sequencer and readers. */
#ifndef MLA_LOG_INT_H
#define MLA_LOG_INT_H

#include <pthread.h>

#include "codec/codec.h"
#include "log/log.h"
#include "registry/registry.h"

/* ---- store layout ------------------------------------------------------
 * One byte of prefix, then big-endian integers so keys sort by number.
 *   'e' seq            -> Entry bytes (verbatim, hashed)
 *   'n' level index    -> Merkle perfect-subtree hash (level 0 = leaf hash)
 *   'L' leaf hash      -> seq                       (proof by leaf hash)
 *   'd' SHA-256(env)   -> seq, ledger_time_ns       (retries are safe)
 *   'i' identity       -> sha256 digest, seq        (one digest per identity)
 *   'h' scope key      -> seq, leaf hash            (head of a back-link scope)
 *   'k' keyid          -> registry record           (KEY entries, SPEC §6)
 *   'C' size           -> signed checkpoint note    (every group's)
 *   'c'                -> latest signed checkpoint note
 *   't'                -> tail: size, last ledger time, last leaf hash
 */
#define MLA_LOG_K_ENTRY 'e'
#define MLA_LOG_K_NODE 'n'
#define MLA_LOG_K_LEAF 'L'
#define MLA_LOG_K_DEDUPE 'd'
#define MLA_LOG_K_IDENTITY 'i'
#define MLA_LOG_K_HEAD 'h'
#define MLA_LOG_K_KEY 'k'
#define MLA_LOG_K_CHECKPOINT_AT 'C'
#define MLA_LOG_K_CHECKPOINT 'c'
#define MLA_LOG_K_TAIL 't'

#define MLA_LOG_KEY_MAX 600

typedef struct mla_log_key {
    uint8_t b[MLA_LOG_KEY_MAX];
    size_t len;
} mla_log_key;

static inline mla_slice mla_log__key_slice(const mla_log_key *k)
{
    return mla_slice_make(k->b, k->len);
}
void mla_log__key_seq(mla_log_key *k, uint8_t prefix, uint64_t seq);
void mla_log__key_node(mla_log_key *k, unsigned level, uint64_t index);
void mla_log__key_hash(mla_log_key *k, uint8_t prefix, const mla_hash *h);
/** Prefix + arbitrary bytes (identity, scope). MLA_EINVAL if too long. */
mla_status mla_log__key_bytes(mla_log_key *k, uint8_t prefix, uint8_t sub,
                              mla_slice s) MLA_MUST_USE;
void mla_log__key_single(mla_log_key *k, uint8_t prefix);

typedef struct mla_log_tail {
    uint64_t size;
    int64_t last_time_ns;
    mla_hash last_leaf; /* zero when size == 0 */
} mla_log_tail;
#define MLA_LOG_TAIL_LEN (8 + 8 + 32)
void mla_log__tail_encode(uint8_t out[MLA_LOG_TAIL_LEN], const mla_log_tail *t);
mla_status mla_log__tail_decode(mla_log_tail *t, mla_slice in) MLA_MUST_USE;

/* ---- key registry (SPEC §6): the rules and the table are registry/'s ---- */

typedef mla_keyrec mla_log_keyrec;
typedef mla_registry mla_log_registry;
typedef mla_registry_lookup mla_log_key_lookup;
#define MLA_LOG_KEYREC_LEN (32 + 1 + 1 + 4 + 8)

void mla_log__keyrec_encode(uint8_t out[MLA_LOG_KEYREC_LEN], const mla_log_keyrec *r);
mla_status mla_log__keyrec_decode(mla_log_keyrec *r, mla_slice in) MLA_MUST_USE;

/* The names log_open.c and log_sequencer.c call registry/ by. */
static inline MLA_MUST_USE mla_status mla_log__registry_new(mla_log_registry **out)
{
    return mla_registry_new(out);
}
static inline void mla_log__registry_free(mla_log_registry *r) { mla_registry_free(r); }
static inline MLA_MUST_USE mla_status mla_log__registry_put(mla_log_registry *r,
                                                            const mla_log_keyrec *rec)
{
    return mla_registry_put(r, rec);
}
static inline bool mla_log__registry_get(const mla_log_registry *r, const mla_hash *keyid,
                                         mla_log_keyrec *out)
{
    return mla_registry_get(r, keyid, out);
}
static inline MLA_MUST_USE mla_status mla_log__keychange_apply(mla_log_keyrec *next,
                                                               const mla_log_keyrec *cur,
                                                               const Mlaudit__V1__KeyChange *kc,
                                                               uint64_t seq)
{
    return mla_registry_keychange_apply(next, cur, kc, seq);
}
static inline MLA_MUST_USE mla_status mla_log__envelope_authorize(const mla_pb_envelope *env,
                                                                  mla_kind kind,
                                                                  mla_log_key_lookup get, void *ctx,
                                                                  bool check_sigs)
{
    return mla_registry_envelope_authorize(NULL, NULL, env, kind, get, ctx, check_sigs);
}

/* ---- group overlay: the pending writes of one group commit -------------
 * Reads during sequencing see the group's own writes first; a savepoint lets
 * one failed request be undone without touching the rest of the group. */
typedef struct mla_log_overlay mla_log_overlay;
typedef struct mla_log_savepoint {
    size_t n, arena_len;
} mla_log_savepoint;
mla_status mla_log__overlay_new(mla_log_overlay **out) MLA_MUST_USE;
void mla_log__overlay_free(mla_log_overlay *o);
void mla_log__overlay_clear(mla_log_overlay *o);
mla_status mla_log__overlay_put(mla_log_overlay *o, mla_slice key, mla_slice value) MLA_MUST_USE;
/** MLA_OK with value borrowed until the next put/rollback/clear, or ENOTFOUND. */
mla_status mla_log__overlay_get(const mla_log_overlay *o, mla_slice key,
                                mla_slice *value) MLA_MUST_USE;
mla_log_savepoint mla_log__overlay_savepoint(const mla_log_overlay *o);
void mla_log__overlay_rollback(mla_log_overlay *o, mla_log_savepoint sp);
size_t mla_log__overlay_count(const mla_log_overlay *o);
/** Visit the pending writes whose key starts with prefix, in put order;
 * fn's non-OK stops and is returned. */
mla_status mla_log__overlay_scan(const mla_log_overlay *o, mla_slice prefix,
                                 mla_status (*fn)(void *ctx, mla_slice key, mla_slice value),
                                 void *ctx) MLA_MUST_USE;
/** Move every pending write, in order, into batch. */
mla_status mla_log__overlay_to_batch(const mla_log_overlay *o, mla_store_batch *batch) MLA_MUST_USE;

/* ---- the chain: building one entry -------------------------------------- */

#define MLA_LOG_MAX_SCOPES 2
typedef struct mla_log_scope {
    int scope; /* Mlaudit__V1__LinkScope */
    mla_buf key;
} mla_log_scope;

/** The back-link scopes of a change: its subject ("type:name") and its
 * deployment target, if any. scopes_out has MLA_LOG_MAX_SCOPES initialised
 * bufs; *n_out set. */
mla_status mla_log__change_scopes(mla_log_scope *scopes_out, size_t *n_out,
                                  const mla_pb_change *c) MLA_MUST_USE;
/** Encode an Entry (replacing out's contents). */
mla_status mla_log__entry_encode(mla_buf *out, uint64_t seq, int64_t ledger_time_ns,
                                 const mla_hash *prev_hash, const mla_pb_envelope *env,
                                 const char *submitter, mla_pb_link *const *links,
                                 size_t n_links) MLA_MUST_USE;

/* ---- the handle -------------------------------------------------------- */

typedef struct mla_log_request mla_log_request;
typedef struct mla_log_nodecache mla_log_nodecache;

struct mla_log {
    mla_store *store;
    const mla_privkey *signing_key;
    char origin[MLA_NOTE_NAME_MAX + 1];
    char key_name[MLA_NOTE_NAME_MAX + 1];
    mla_note_verifier verifier;
    mla_log_clock clock;
    void *clock_ctx;
    size_t group_max;
    const mla_policy *policy;
    mla_log_commit_fn on_commit;
    void *on_commit_ctx;
    mla_hash own_keyid; /* of signing_key: it may sign the DECISION_BATCHes it seals */
    bool skip_sig_checks; /* measurement hook (tests/bench): never in a daemon */

    /* Registry: written by the sequencer after a commit, read by appenders. */
    pthread_rwlock_t registry_lock;
    mla_log_registry *registry;

    /* Sequencer state: owned by the sequencer thread once it runs. */
    mla_merkle_frontier frontier;
    mla_log_tail tail;
    mla_log_overlay *overlay;
    mla_buf entry_buf;
    mla_log_nodecache *nodecache;

    /* Published state, under `lock`. */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* sequencer: work arrived or closing */
    pthread_cond_t done; /* appenders: a group finished */
    mla_log_request *queue_head, *queue_tail;
    bool closing;
    mla_status failed; /* sticky failure after a failed durable write */
    char failed_msg[MLA_ERROR_MSG_MAX];
    uint64_t size; /* committed tree size */
    uint64_t n_groups; /* group commits written since open */
    uint8_t checkpoint[MLA_LOG_CHECKPOINT_MAX];
    size_t checkpoint_len;
    mla_hash root;
    pthread_t thread;
    bool thread_started;
};

/** Read a node for merkle functions: ctx is an mla_log_nodes. */
/* In-memory cache of the tree's upper levels (log_nodecache.c). */
#define MLA_LOG_NODECACHE_MIN_LEVEL 6
mla_status mla_log__nodecache_new(mla_log_nodecache **out) MLA_MUST_USE;
void mla_log__nodecache_free(mla_log_nodecache *c);
/** Copy a cached node into out; false if absent (or c is NULL). */
bool mla_log__nodecache_get(mla_log_nodecache *c, unsigned level, uint64_t index, mla_hash *out);
void mla_log__nodecache_put(mla_log_nodecache *c, unsigned level, uint64_t index,
                            const mla_hash *h);

typedef struct mla_log_nodes {
    mla_store *store;
    mla_log_nodecache *cache; /* stored nodes already read; may be NULL */
    const mla_log_overlay *overlay; /* the group's new nodes; may be NULL */
    const mla_merkle_frontier *frontier; /* the tree before the group; may be NULL */
    mla_buf buf;
} mla_log_nodes;
mla_status mla_log__node_read(void *ctx, unsigned level, uint64_t index, mla_hash *out);

/** Group commits written since open (benchmarks). */
uint64_t mla_log__group_count(mla_log *log);

/** Benchmark hook: skip DSSE signature verification on append (keys are
 * still looked up and authorised), to measure the sequencer's own ceiling. */
void mla_log__bench_skip_signature_checks(mla_log *log, bool skip);
/** The log's wall clock: the option's clock if set (tests), else UTC now. */
int64_t mla_log__clock_now(const mla_log *log);

/* ---- decisions and key lookup shared by the appender and the sequencer -- */

/** The decisions travelling with a DECISION_BATCH envelope, in leaf order:
 * their verbatim bytes, or (ds) the bytes with their decoding (borrowed for
 * the append). */
typedef struct mla_log_decisions {
    const mla_slice *bytes; /* when ds is NULL */
    const mla_index_decision *ds;
    size_t n;
    /* Set by mla_log_seal_decisions: the envelope and change it just built
     * from ds and signed with this log's key (borrowed). The appender adopts
     * them: nothing is decoded again, and neither the root the seal computed
     * nor the log's own signature is checked again. */
    const mla_pb_envelope *sealed_env;
    const mla_pb_change *sealed_change;
} mla_log_decisions;

/** Append with decisions for the single envelope (log_sequencer.c);
 * entries_out as for mla_log_append_batch_ex. */
mla_status mla_log__append(mla_log *log, const mla_slice *envelopes, size_t n, mla_slice submitter,
                           mla_receipt *receipts_out, mla_buf *entries_out,
                           const mla_log_decisions *decisions) MLA_MUST_USE;
/** Check a batch's decisions against its DecisionBatch (count, root, times,
 * target). Decisions given as bytes are decoded into own (dl->n slots;
 * freed with _decisions_free, and on error here). *ds_out: the decisions
 * checked (dl->ds or own). */
mla_status mla_log__decisions_check(const mla_index_decision **ds_out, mla_index_decision *own,
                                    const mla_pb_change *batch,
                                    const mla_log_decisions *dl) MLA_MUST_USE;
void mla_log__decisions_free(mla_index_decision *ds, size_t n);
/** A key that is not in the registry but may sign a DECISION_BATCH on
 * target: this log's own key, or a serving key a DEPLOYMENT on target
 * named. Fills a SERVING record allowed DECISION_BATCH only. */
bool mla_log__batch_key_lookup(mla_log *log, const mla_index_view *view, const char *target,
                               const mla_hash *keyid, mla_log_keyrec *out);

/** Open-time check of the stored tree (log_open.c). */
mla_status mla_log__verify_tail(mla_log *log) MLA_MUST_USE;
/** The sequencer thread body (log_sequencer.c). */
void *mla_log__sequencer_main(void *arg);
/** Sign a checkpoint for (size, root) into out/out_len. */
mla_status mla_log__checkpoint_sign(const mla_log *log, uint64_t size, const mla_hash *root,
                                    uint8_t *out, size_t *out_len) MLA_MUST_USE;

#endif
