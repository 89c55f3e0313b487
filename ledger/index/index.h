/* index: the ledger's secondary indexes (SPEC §6) and the questions they
 * answer: query by kind/subject/target/actor/time, lineage up and down,
 * deployment timelines ("what served target X at time T") and decision
 * lookup. The sequencer writes an entry's index records in the same synced
 * batch as the entry (index_write.c), so a crash never leaves them behind.
 * Readers take a view: the committed store, plus in the sequencer (policy
 * checks) the group's pending writes. Depends on codec, merkle (decision
 * batch trees) and store; callers attach the log's inclusion proofs.
 * Threads: the read functions may run on any thread concurrently. */
#ifndef MLA_INDEX_H
#define MLA_INDEX_H

#include "base/base.h"
#include "codec/codec.h"
#include "codec/codec_timeline.h"
#include "store/store.h"

/* ---- store layout -------------------------------------------------------
 * Everything derived from entries lives under prefix 'I' so an audit can
 * rebuild it and compare. Text parts are validated names (no control
 * characters), so 0x00 separates them; integers are big-endian.
 *   'I' 's' identity 00 seq      -> kind (1 byte)   subject type:name@version
 *   'I' 'n' scope 00 seq         -> kind            subject type:name (every version)
 *   'I' 'k' kind(1) seq          -> ""              by kind
 *   'I' 'a' actor 00 seq         -> kind            by actor (non-empty actors)
 *   'I' 'g' target 00 seq        -> kind            deployment target: DEPLOYMENT,
 *                                                   ROLLBACK, RETIREMENT, DECISION_BATCH
 *   'I' 'h' target 00 seq        -> kind            the target's timeline: DEPLOYMENT,
 *                                                   ROLLBACK, RETIREMENT (what replays read)
 *   'I' 'u' subject 00 input 00 seq -> role         lineage edge, upstream (identities)
 *   'I' 'w' input 00 subject 00 seq -> role         the same edge, downstream
 *   'I' 'p' approved 00 seq      -> ""              APPROVAL of an identity (approved,
 *                                                   or the subject of approved_seq)
 *   'I' 'q' target 00 keyid(32) seq -> seq (8), public key (32)
 *                                                   serving key a DEPLOYMENT named
 *                                                   (each naming; lookups take the first)
 * Policy violations (audit mode) depend on the policy in force, so they are
 * not rebuilt from entries and live outside 'I':
 *   'V' seq                      -> violation text, one line per unmet rule
 * Decisions (not derivable from entries: the batch entry only commits to
 * their root; an audit checks them against it):
 *   'D' batch seq                -> the batch's decisions: for each, be32
 *                                   length then the Decision bytes, in leaf order
 *   'X' target 00 id             -> batch seq (8), index in batch (4)
 *   'Y' id 00 target             -> ""              lookup by id alone
 */
#define MLA_INDEX_K_PREFIX 'I'
#define MLA_INDEX_K_DECISIONS 'D'
#define MLA_INDEX_K_DECISION_ID 'X'
#define MLA_INDEX_K_DECISION_BY_ID 'Y'
#define MLA_INDEX_K_VIOLATION 'V'

/* Most decisions in one DECISION_BATCH (its decisions are one store value). */
#define MLA_INDEX_BATCH_DECISIONS_MAX 4096
/* Most entries one query page returns; most lineage edges one answer has. */
#define MLA_INDEX_PAGE_MAX 1000
#define MLA_INDEX_LINEAGE_EDGES_MAX 100000
#define MLA_INDEX_LINEAGE_DEPTH_MAX 64
/* Most models live on one target at once (the replay's limit). */
#define MLA_INDEX_SERVING_MAX MLA_TIMELINE_SERVING_MAX

/* ---- a view: committed store plus, in the sequencer, the group's pending
 * writes. Readers outside the sequencer pass pending = NULL. ------------- */
typedef mla_status (*mla_index_visit)(void *ctx, mla_slice key, mla_slice value);
typedef struct mla_index_pending {
    /** Value of key among the pending writes: MLA_OK (borrowed until the next
     * pending put) or MLA_ENOTFOUND. */
    mla_status (*get)(void *ctx, mla_slice key, mla_slice *value);
    /** Visit pending writes whose key starts with prefix, in the order they
     * were put; stops early when fn returns non-MLA_OK (returned). */
    mla_status (*scan)(void *ctx, mla_slice prefix, mla_index_visit fn, void *fn_ctx);
    void *ctx;
} mla_index_pending;

typedef struct mla_index_view {
    mla_store *store;
    const mla_index_pending *pending; /* NULL outside the sequencer */
} mla_index_view;

/** Value of key: pending first, then the store (copied into tmp).
 * MLA_ENOTFOUND when absent. */
mla_status mla_index_view_get(const mla_index_view *v, mla_slice key, mla_buf *tmp,
                              mla_slice *value) MLA_MUST_USE;
/** Visit every key with this prefix: the store's in key order, then the
 * pending ones (whose seq suffixes are all higher). fn's non-OK stops the
 * scan and is returned (MLA_ENOTFOUND from fn is the usual "stop"; the
 * caller maps it back to OK). */
mla_status mla_index_view_scan(const mla_index_view *v, mla_slice prefix, mla_index_visit fn,
                               void *ctx) MLA_MUST_USE;

/* ---- writing (called by the sequencer) ---------------------------------- */

typedef struct mla_index_reader mla_index_reader;

typedef mla_status (*mla_index_put)(void *ctx, mla_slice key, mla_slice value);

/** Put the index records of one new entry (seq, its decoded change) through
 * put. The reader resolves an APPROVAL's approved_seq to its subject (an
 * approved_seq at or past seq is MLA_EINVAL "change.approval.approved_seq"). */
mla_status mla_index_entry_put(const mla_index_reader *r, uint64_t seq, const mla_pb_change *c,
                               mla_index_put put, void *put_ctx) MLA_MUST_USE;
/** Put a policy violation record for seq (text: one line per unmet rule). */
mla_status mla_index_violation_put(uint64_t seq, mla_slice text, mla_index_put put,
                                   void *put_ctx) MLA_MUST_USE;

/** A decision of a batch, as received: its verbatim bytes and decoded form. */
typedef struct mla_index_decision {
    mla_slice bytes;
    const mla_pb_decision *d;
} mla_index_decision;

/** Put the decision records of the batch entry at batch_seq. Every decision
 * must have the batch's target (MLA_EINVAL "decisions[i].target"); an id
 * already recorded for that target, or twice in the batch, is MLA_EEXISTS
 * naming it (ids are unique per target). */
mla_status mla_index_decisions_put(const mla_index_view *view, uint64_t batch_seq,
                                   const char *target, const mla_index_decision *ds, size_t n,
                                   mla_index_put put, void *put_ctx) MLA_MUST_USE;

/** The first DEPLOYMENT on target that named the serving key with this
 * keyid (SHA-256 of the public key): its seq and the key. MLA_OK or
 * MLA_ENOTFOUND. */
mla_status mla_index_serving_key_find(const mla_index_view *view, const char *target,
                                      const mla_hash *keyid, uint64_t *seq_out,
                                      uint8_t pub_out[32]) MLA_MUST_USE;

#define MLA_INDEX_DECISIONS_KEY_LEN 9
/** The store key of the 'D' record of the batch at batch_seq. */
void mla_index_decisions_key(uint8_t out[MLA_INDEX_DECISIONS_KEY_LEN], uint64_t batch_seq);

/** The next decision of a 'D' record (be32 length, then its bytes):
 * MLA_OK with *out borrowed from the record, MLA_ENOTFOUND at its end,
 * MLA_ECORRUPT "store.decisions" if truncated. */
mla_status mla_index_decisions_next(mla_reader *r, mla_slice *out) MLA_MUST_USE;

/** Where decision (target, id) was recorded: MLA_OK, or MLA_ENOTFOUND. */
mla_status mla_index_decision_find(const mla_index_view *view, const char *target, const char *id,
                                   uint64_t *batch_seq_out, uint32_t *index_out) MLA_MUST_USE;

/* ---- an audit's check of the indexes ------------------------------------ */

/** A multiset digest of index records: order-independent, so records
 * recomputed from the entries in seq order can be compared with a scan of
 * the store in key order in constant memory. */
typedef struct mla_index_digest {
    uint8_t sum[32]; /* sum of SHA-256(len(key) || key || value) mod 2^256 */
    uint64_t count;
} mla_index_digest;
void mla_index_digest_init(mla_index_digest *d);
/** An mla_index_put that adds to the mla_index_digest in ctx. */
mla_status mla_index_digest_put(void *ctx, mla_slice key, mla_slice value);
/** Digest of every 'I' record in the store. */
mla_status mla_index_digest_store(mla_index_digest *out, mla_store *s) MLA_MUST_USE;

/* ---- reading: readers decode the entries they return with codec; the
 * store's entries are read through this callback (the log owns their
 * layout). ---------------------------------------------------------------- */

/** Copy the verbatim bytes of entry seq into out. */
typedef mla_status (*mla_index_entry_read)(void *ctx, uint64_t seq, mla_buf *out);

struct mla_index_reader {
    mla_index_view view;
    mla_index_entry_read read_entry;
    void *read_ctx;
    uint64_t tree_size; /* only entries below this are answered */
};

/** Read entry seq into bytes (replacing its contents) and decode it; with
 * with_change, also its Change (*c_out stays NULL for another payload type).
 * MLA_ECORRUPT naming the seq if it does not decode or holds another seq.
 * Free with mla_codec_entry_free / mla_codec_change_free. */
mla_status mla_index_entry_load(const mla_index_reader *r, uint64_t seq, mla_buf *bytes,
                                bool with_change, mla_pb_entry **e_out,
                                mla_pb_change **c_out) MLA_MUST_USE;

/* -- Query -- */
typedef struct mla_index_query {
    mla_kind kind; /* 0 = any */
    const char *subject_type, *subject_name, *subject_version; /* NULL/"" = any */
    const char *target, *actor; /* NULL/"" = any */
    int64_t from_time_ns, to_time_ns; /* ledger time, [from, to); 0 = unbounded */
    uint64_t start_seq; /* the page cursor: first seq to consider */
    uint32_t page_size; /* 0 = 100; at most MLA_INDEX_PAGE_MAX */
} mla_index_query;

/** Seqs of the matching entries, ascending, from start_seq, at most
 * page_size (seqs_out has room for MLA_INDEX_PAGE_MAX). *next_out is the
 * cursor of the next page, or UINT64_MAX when there is none. A version
 * without a name, or a name without a type, is MLA_EINVAL naming the field. */
mla_status mla_index_query_run(const mla_index_reader *r, const mla_index_query *q,
                               uint64_t *seqs_out, size_t *n_out, uint64_t *next_out) MLA_MUST_USE;

/* -- Lineage -- */
typedef struct mla_index_edge {
    char *from; /* identity of the input (upstream end) */
    char *to; /* identity of the artifact built from it */
    char *role;
    uint64_t seq; /* the entry that recorded the edge */
    unsigned depth; /* 1 = adjacent to the start */
} mla_index_edge;

typedef struct mla_index_lineage {
    mla_index_edge *edges;
    size_t n_edges;
    bool truncated; /* MLA_INDEX_LINEAGE_EDGES_MAX reached */
} mla_index_lineage;

/** Edges reachable from identity ("type:name@version") within depth
 * (1..MLA_INDEX_LINEAGE_DEPTH_MAX; 0 = the maximum), breadth first;
 * downstream follows edges the other way. Each edge once. MLA_ENOTFOUND if
 * the identity was never recorded (as a subject or an input). */
mla_status mla_index_lineage_walk(mla_index_lineage *out, const mla_index_reader *r,
                                  const char *identity, bool downstream,
                                  unsigned depth) MLA_MUST_USE;
void mla_index_lineage_dispose(mla_index_lineage *l);

/* -- Timelines -- */
typedef struct mla_index_serving {
    char *model; /* identity */
    double traffic_fraction;
    char *stage;
    uint64_t deployment_seq; /* the DEPLOYMENT (or ROLLBACK) that made it live */
} mla_index_serving;

typedef struct mla_index_timeline {
    mla_index_serving serving[MLA_INDEX_SERVING_MAX];
    size_t n_serving;
    /* The target-scope entries (DEPLOYMENT, ROLLBACK, RETIREMENT) from the
     * oldest one behind a live model up to the last at or before T, plus
     * the first after T if any: with their back-links they show nothing on
     * the target was left out. Ascending. */
    uint64_t *chain;
    size_t n_chain;
    bool any_before; /* false: nothing was deployed on target at or before T */
    uint64_t retired_seq; /* UINT64_MAX, or the RETIREMENT that left nothing live */
} mla_index_timeline;

/** What served `target` at ledger time t_ns, replaying its DEPLOYMENT,
 * ROLLBACK and RETIREMENT entries with ledger_time_ns <= t_ns
 * (mla_codec_timeline_apply):
 *  - DEPLOYMENT of model M at fraction f: M serves f (stage from the
 *    entry); if the fractions then sum over 1, the others are scaled down
 *    in proportion to fill 1 - f; a model scaled to 0 leaves.
 *  - ROLLBACK to M: M alone serves, at 1.0, with the stage it last had there.
 *  - RETIREMENT with an artifact: that model leaves; without: all leave.
 * Exactly at a deployment's time, that deployment is live. */
mla_status mla_index_timeline_at(mla_index_timeline *out, const mla_index_reader *r,
                                 const char *target, int64_t t_ns) MLA_MUST_USE;
void mla_index_timeline_dispose(mla_index_timeline *t);

/** The seqs of every DEPLOYMENT/ROLLBACK/RETIREMENT on target, ascending
 * (history); *seqs_out is allocated (mla_free). */
mla_status mla_index_target_history(uint64_t **seqs_out, size_t *n_out, const mla_index_reader *r,
                                    const char *target) MLA_MUST_USE;

/* -- Decisions -- */
typedef struct mla_index_decision_found {
    uint64_t batch_seq;
    uint32_t index;
    uint32_t count; /* decisions in the batch */
    mla_buf decision; /* the decision's bytes */
    mla_hash leaf; /* SHA-256(0x00 || decision) */
    mla_hash root; /* the batch tree's root (equal to the entry's) */
    mla_hash path[32]; /* RFC 9162 inclusion path of index in count */
    size_t path_len;
} mla_index_decision_found;

/** Find decision id (on target; NULL/"" = any target, MLA_EINVAL "target"
 * if the id is recorded on several), load its batch, and prove it in the
 * batch tree. MLA_ENOTFOUND naming the id; MLA_ECORRUPT if the stored
 * decisions do not hash to the batch entry's root. out->decision must be
 * initialised by the caller (mla_buf_init). */
mla_status mla_index_decision_prove(mla_index_decision_found *out, const mla_index_reader *r,
                                    const char *target, const char *id) MLA_MUST_USE;

/* -- History of a name -- */
/** The seqs of every entry whose subject scope is type:name, ascending;
 * *seqs_out is allocated (mla_free). */
mla_status mla_index_name_history(uint64_t **seqs_out, size_t *n_out, const mla_index_reader *r,
                                  const char *type, const char *name) MLA_MUST_USE;

/** The violation text recorded for seq into out; MLA_ENOTFOUND if none. */
mla_status mla_index_violations(const mla_index_reader *r, uint64_t seq, mla_buf *out) MLA_MUST_USE;

#endif
