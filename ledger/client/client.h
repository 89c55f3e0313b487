/* client: the C client library of mlaudit.v1.Ledger over gRPC, so a service
 * can record its changes in a few lines. Every receipt and checkpoint is
 * verified (checkpoint signature by the log's key, inclusion proof of the
 * leaf, leaf hash of the returned entry bytes where present) before a call
 * reports success; a server that cannot prove what it says is an error.
 * Threads: one mla_client may be used from several threads at once (each
 * call is its own gRPC call on a shared channel). */
#ifndef MLA_CLIENT_H
#define MLA_CLIENT_H

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "log/log.h" /* mla_receipt */
#include "merkle/merkle.h"
#include "note/note.h"

typedef struct mla_client mla_client;

typedef struct mla_client_options {
    const char *target; /* "host:port", e.g. "127.0.0.1:7070" */
    bool insecure; /* plaintext; refused unless target is loopback */
    const char *ca_file; /* PEM roots for the server certificate (TLS) */
    const char *cert_file; /* client certificate (mTLS), or NULL */
    const char *key_file; /* client key (mTLS), or NULL */
    const mla_note_verifier *verifier; /* the log's checkpoint key: required */
    int timeout_ms; /* per call; 0 = 30000 */
} mla_client_options;

/** Connect (lazily: the first call dials). MLA_EINVAL names a bad option. */
mla_status mla_client_open(mla_client **out, const mla_client_options *opts) MLA_MUST_USE;
/** Close the channel and free; NULL is a no-op. */
void mla_client_close(mla_client *c);

/** Append one envelope (protobuf bytes of a DSSE Envelope); on MLA_OK the
 * receipt's checkpoint and inclusion proof have been verified. Server errors
 * map back to statuses (INVALID_ARGUMENT -> MLA_EINVAL, PERMISSION_DENIED /
 * UNAUTHENTICATED -> MLA_EDENIED, ALREADY_EXISTS -> MLA_EEXISTS,
 * FAILED_PRECONDITION -> MLA_EPOLICY, NOT_FOUND -> MLA_ENOTFOUND,
 * RESOURCE_EXHAUSTED -> MLA_ELIMIT, UNAVAILABLE / DEADLINE_EXCEEDED ->
 * MLA_EIO, others -> MLA_EIO) with the server's message. MLA_ECORRUPT if the
 * server's proof or checkpoint does not verify. */
mla_status mla_client_append(mla_client *c, mla_slice envelope, mla_receipt *out) MLA_MUST_USE;
/** Append n envelopes atomically (AppendBatch); receipts_out has n slots. */
mla_status mla_client_append_batch(mla_client *c, const mla_slice *envelopes, size_t n,
                                   mla_receipt *receipts_out) MLA_MUST_USE;

/** Sign a Change into a DSSE envelope (payload type
 * application/vnd.mlaudit.change.v1+protobuf) with each key; appends the
 * envelope bytes to out. The change is validated first (MLA_EINVAL naming
 * the field, e.g. an empty reason). */
mla_status mla_client_envelope_sign(mla_buf *out, const mla_pb_change *change,
                                    const mla_privkey *const *keys, size_t n_keys) MLA_MUST_USE;

/** The latest checkpoint, verified: note bytes into note_out, parsed into
 * cp_out (its extensions borrow from note_out). */
mla_status mla_client_checkpoint(mla_client *c, mla_buf *note_out,
                                 mla_checkpoint *cp_out) MLA_MUST_USE;

/** Called once per entry, in seq order; a non-OK return stops the stream
 * and is returned. `entry` is empty when redacted; leaf is the leaf hash. */
typedef mla_status (*mla_client_entry_fn)(void *ctx, uint64_t seq, mla_slice entry,
                                          const mla_hash *leaf, bool redacted);
/** Stream entries [start, end) (end 0 = to the current size). Each entry's
 * bytes are checked to hash to its leaf hash. */
mla_status mla_client_entries(mla_client *c, uint64_t start, uint64_t end, mla_client_entry_fn fn,
                              void *ctx) MLA_MUST_USE;

/** Inclusion proof of seq in tree_size (0 = latest); leaf_out gets the leaf
 * hash the server reports (verify it against the proof and a checkpoint). */
mla_status mla_client_inclusion_proof(mla_client *c, uint64_t seq, uint64_t tree_size,
                                      mla_merkle_proof *out, mla_hash *leaf_out,
                                      uint64_t *tree_size_out) MLA_MUST_USE;
/** The same, by leaf hash; seq_out gets the leaf's index. */
mla_status mla_client_inclusion_proof_by_leaf(mla_client *c, const mla_hash *leaf,
                                              uint64_t tree_size, mla_merkle_proof *out,
                                              uint64_t *seq_out,
                                              uint64_t *tree_size_out) MLA_MUST_USE;
/** Consistency proof between two sizes. */
mla_status mla_client_consistency_proof(mla_client *c, uint64_t from_size, uint64_t to_size,
                                        mla_merkle_proof *out) MLA_MUST_USE;
/** grpc.health.v1.Health/Check: MLA_OK when SERVING. */
mla_status mla_client_health(mla_client *c) MLA_MUST_USE;

/* ---- additions: offline receipts and checkpoint consistency ------------ */

/** Verify a receipt offline: its checkpoint is signed by v, has the
 * receipt's tree size and root, and the inclusion proof leads from leaf_hash
 * at seq to that root. MLA_ECORRUPT naming what failed. */
mla_status mla_client_receipt_verify(const mla_receipt *r, const mla_note_verifier *v) MLA_MUST_USE;
/** Append the wire form of a receipt (a mlaudit.v1.Receipt message), to keep
 * it beside the change it proves. */
mla_status mla_client_receipt_encode(mla_buf *out, const mla_receipt *r) MLA_MUST_USE;
/** Decode a mlaudit.v1.Receipt and verify it as mla_client_receipt_verify
 * does. MLA_EINVAL if malformed (naming the field), MLA_ECORRUPT if it does
 * not verify; *out is zeroed on error. duplicate is always false. */
mla_status mla_client_receipt_decode(mla_receipt *out, mla_slice in,
                                     const mla_note_verifier *v) MLA_MUST_USE;
/** Prove that the log behind `newer` extends the one behind `older` (both
 * verified checkpoints, e.g. from mla_client_checkpoint): fetches and checks
 * the consistency proof. MLA_OK when it does (trivially when older is empty
 * or both are equal); MLA_ECORRUPT when the proof fails or equal sizes have
 * different roots (a fork); MLA_EINVAL for different origins or older larger
 * than newer. */
mla_status mla_client_consistency_verify(mla_client *c, const mla_checkpoint *older,
                                         const mla_checkpoint *newer) MLA_MUST_USE;

/* ---- ML semantics (SPEC §4, §6): queries, lineage, decisions, live tail.
 * Every entry these return has been checked against a verified checkpoint
 * (its leaf hash and inclusion proof), unless the function says otherwise. */

/** One entry returned by a query: seq and verbatim bytes (leaf hash verified
 * against the checkpoint the call fetched). */
typedef struct mla_client_entry {
    uint64_t seq;
    mla_buf entry;
} mla_client_entry;

typedef struct mla_client_query {
    mla_kind kind; /* 0 = any */
    const char *subject_type, *subject_name, *subject_version;
    const char *target, *actor;
    int64_t from_time_ns, to_time_ns; /* [from, to); 0 = unbounded */
    uint32_t page_size; /* 0 = server default */
    mla_slice page_token; /* empty = first page */
} mla_client_query;

typedef struct mla_client_page {
    mla_client_entry *entries;
    size_t n_entries;
    mla_buf next_page_token; /* empty = last page */
} mla_client_page;

/** One page of Query. Entries are proven included in the latest checkpoint
 * (fetched and verified by the call after the answer, so it covers the
 * page), all in one GetProvenEntries call; each must be the entry the log
 * proves at its seq and match the query, else MLA_ECORRUPT naming
 * entries[i]. On error *out is left empty. */
mla_status mla_client_query_page(mla_client *c, const mla_client_query *q,
                                 mla_client_page *out) MLA_MUST_USE;
/** The same, proven against cp, a verified checkpoint the caller holds
 * (e.g. the one a report pins) instead of the latest: entries with seq >=
 * cp->size are newer than cp and are dropped from the page (next_page_token
 * is still the server's, so later pages hold only such entries). */
mla_status mla_client_query_page_at(mla_client *c, const mla_client_query *q,
                                    const mla_checkpoint *cp, mla_client_page *out) MLA_MUST_USE;
void mla_client_page_dispose(mla_client_page *p);

typedef struct mla_client_edge {
    char *from, *to, *role;
    uint64_t seq;
} mla_client_edge;

/* (Named _graph: a typedef may not share the name of the function
 * mla_client_lineage below; C has one namespace for both.) */
typedef struct mla_client_lineage_graph {
    mla_client_edge *edges;
    size_t n_edges;
    mla_client_entry *entries; /* every entry behind an edge, ascending seq */
    size_t n_entries;
    mla_buf checkpoint; /* the signed note everything was proven against */
} mla_client_lineage_graph;

/** GetLineage of identity "type:name@version" (upstream, or downstream),
 * to depth (0 = server maximum). Each edge's entry is checked: its inclusion
 * proof against the returned checkpoint, and that its change really records
 * that edge (subject `to`, an input `from` with `role`): MLA_ECORRUPT naming
 * the edge otherwise. */
mla_status mla_client_lineage(mla_client *c, const char *identity, bool downstream, unsigned depth,
                              mla_client_lineage_graph *out) MLA_MUST_USE;
void mla_client_lineage_dispose(mla_client_lineage_graph *l);

typedef struct mla_client_serving {
    char *model; /* identity */
    double traffic_fraction;
    char *stage;
    uint64_t deployment_seq;
} mla_client_serving;

/** The answer to "which model made decision X" / "what served target at T",
 * with everything an offline verifier needs. */
typedef struct mla_client_resolution {
    mla_client_serving *serving;
    size_t n_serving;
    mla_client_entry *deployment_entries; /* the target's back-linked timeline */
    size_t n_deployment_entries;
    bool has_decision;
    mla_buf decision; /* Decision bytes */
    uint64_t decision_index, batch_count;
    mla_client_entry batch_entry;
    mla_hash decision_path[32];
    size_t decision_path_len;
    mla_merkle_proof batch_inclusion;
    mla_buf checkpoint; /* signed note */
    char **discrepancies;
    size_t n_discrepancies;
    /* Added (cli-lib): one inclusion proof per deployment entry, against
     * `checkpoint` (the wire form's deployment_inclusions), so an offline
     * verify can prove every timeline entry, the last one included. */
    mla_merkle_proof *deployment_inclusions;
} mla_client_resolution;

/** ResolveDecision by decision id (target may be NULL) or by (target, time).
 * Verified before MLA_OK: the checkpoint signature; the decision's path to
 * the batch entry's root; the batch entry's and every deployment entry's
 * inclusion; that the deployment entries are the target's back-link chain
 * (each links to the one before) and that replaying them gives the serving
 * set returned. MLA_ECORRUPT naming the failing step. */
mla_status mla_client_resolve(mla_client *c, const char *decision_id, const char *target,
                              int64_t time_ns, mla_client_resolution *out) MLA_MUST_USE;
void mla_client_resolution_dispose(mla_client_resolution *r);
/** The same checks offline, on a resolution read back from its wire form
 * (mla_client_resolution_encode / _decode: a ResolveDecisionResponse). */
mla_status mla_client_resolution_verify(const mla_client_resolution *r,
                                        const mla_note_verifier *v) MLA_MUST_USE;
/** The same checks, with the replay bound to a time: the serving set must
 * be target's state at ledger time at_ns (for a resolution of a decision,
 * target must be the decision's and its own time is used). MLA_ECORRUPT
 * naming the failing step. */
mla_status mla_client_resolution_verify_at(const mla_client_resolution *r,
                                           const mla_note_verifier *v, const char *target,
                                           int64_t at_ns) MLA_MUST_USE;
mla_status mla_client_resolution_encode(mla_buf *out, const mla_client_resolution *r) MLA_MUST_USE;
mla_status mla_client_resolution_decode(mla_client_resolution *out, mla_slice in,
                                        const mla_note_verifier *v) MLA_MUST_USE;

/** Entries seqs[0..n) with their inclusion proofs in the tree of cp (a
 * verified checkpoint), any n (batched, up to 1000 per call); each entry's
 * leaf hash and proof are checked against cp before fn is called, in the
 * order of seqs. MLA_ECORRUPT naming the seq if a proof fails. (A seq not
 * below cp->size is MLA_EINVAL naming seqs[i], before any call; a redacted
 * entry comes with empty bytes.) */
typedef mla_status (*mla_client_proven_fn)(void *ctx, uint64_t seq, mla_slice entry,
                                           const mla_merkle_proof *proof);
mla_status mla_client_entries_proven(mla_client *c, const uint64_t *seqs, size_t n,
                                     const mla_checkpoint *cp, mla_client_proven_fn fn,
                                     void *ctx) MLA_MUST_USE;

/* -- decision recorder: an inference service adds one call per decision -- */

typedef struct mla_recorder mla_recorder;
typedef struct mla_recorder_options {
    size_t max_pending; /* decisions buffered before record() blocks; 0 = 65536 */
    unsigned flush_ms; /* send at least this often; 0 = 50 */
    /* Sealed batches (optional): sign each batch with the serving key named in
     * the target's DEPLOYMENT instead of letting the server seal. */
    const mla_privkey *serving_key;
    size_t batch_max; /* decisions per sealed batch; 0 = 1024 */
} mla_recorder_options;

/** Start a background thread that streams decisions over RecordDecisions. */
mla_status mla_recorder_start(mla_recorder **out, mla_client *c,
                              const mla_recorder_options *opts) MLA_MUST_USE;
/** Queue one decision (copied). Blocks while max_pending are waiting. A
 * decision that does not validate is refused here (MLA_EINVAL naming the
 * field); after a stream error the recorder's error is returned. */
mla_status mla_recorder_record(mla_recorder *r, const mla_pb_decision *d) MLA_MUST_USE;
/** Wait until every decision queued so far is acknowledged (recorded in a
 * batch entry); the last acknowledged batch seq into *last_seq_out if
 * non-NULL. */
mla_status mla_recorder_flush(mla_recorder *r, uint64_t *last_seq_out) MLA_MUST_USE;
/** Flush, stop and free; returns the flush status. NULL is a no-op. */
mla_status mla_recorder_close(mla_recorder *r);
/** Decisions acknowledged so far. */
uint64_t mla_recorder_acked(const mla_recorder *r);

/* -- live tail -- */

/** Called per entry of a Subscribe stream (entry bytes borrowed for the
 * call; violations are the policy violations recorded with it, one per
 * line, or empty); non-OK stops. */
typedef mla_status (*mla_client_subscribe_fn)(void *ctx, uint64_t seq, mla_slice entry,
                                              mla_slice violations);
typedef struct mla_client_subscribe_filter {
    mla_kind kind;
    const char *subject_name, *target;
} mla_client_subscribe_filter;
/** Subscribe from from_seq until fn stops it, max_ms passes (0 = no limit;
 * then MLA_OK), or the stream fails. A server cutting a slow subscriber
 * returns MLA_ELIMIT with *resume_out the seq to resume from. */
mla_status mla_client_subscribe(mla_client *c, uint64_t from_seq,
                                const mla_client_subscribe_filter *f, int max_ms,
                                mla_client_subscribe_fn fn, void *ctx,
                                uint64_t *resume_out) MLA_MUST_USE;

#endif
