/* log: the ledger's one writer (SPEC §5). Appenders on any thread decode and
 * verify their envelopes in parallel; one sequencer thread takes everything
 * waiting (group commit), assigns seq, ledger time, prev_hash and back-links,
 * extends the Merkle tree, and writes entries, nodes, indexes and one signed
 * checkpoint in a single synced store batch before any caller is answered.
 * Also the auditor's offline checks: a full audit of a store.
 * Threads: mla_log_append* and the read functions may be called from any
 * thread concurrently; open/close from one thread while no call is running. */
#ifndef MLA_LOG_H
#define MLA_LOG_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"
#include "index/index.h"
#include "note/note.h"
#include "policy/policy.h"
#include "store/store.h"

/* Our checkpoints: origin and key name <= 255 bytes each, no extensions, so a
 * signed note is well under this. */
#define MLA_LOG_CHECKPOINT_MAX 1024
/* Most envelopes one group commit takes. */
#define MLA_LOG_GROUP_MAX 1024
/* Most envelopes one mla_log_append_batch may carry. */
#define MLA_LOG_BATCH_MAX 1024
#define MLA_LOG_SUBMITTER_MAX 256

/** Wall clock for ledger time (tests step it backwards). */
typedef int64_t (*mla_log_clock)(void *ctx);
/** Called on the sequencer thread after each group commit is durable and
 * published, with the new tree size. Must not block or call mla_log_append*. */
typedef void (*mla_log_commit_fn)(void *ctx, uint64_t size);

typedef struct mla_log_options {
    const char *origin; /* checkpoint origin line, e.g. "mlaudit.example/ledger" */
    const char *key_name; /* checkpoint key name; NULL = origin */
    const mla_privkey *signing_key; /* signs checkpoints; borrowed until close */
    const mla_pubkey *admin_keys; /* trust root (SPEC §6); copied at open */
    size_t n_admin_keys;
    size_t group_max; /* 0 = MLA_LOG_GROUP_MAX */
    mla_log_clock clock; /* NULL = mla_time_now_ns */
    void *clock_ctx;
    /* Compliance policy checked at sequencing (borrowed until close); NULL =
     * only the always-on per-kind rules of policy.h. */
    const mla_policy *policy;
    mla_log_commit_fn on_commit; /* may be NULL */
    void *on_commit_ctx;
} mla_log_options;

typedef struct mla_log mla_log;

/** Open a log on `store` (borrowed until close) and start its sequencer.
 * Checks the stored tree against the last checkpoint and the chain tail:
 * MLA_ECORRUPT naming the first bad seq if they disagree. MLA_EINVAL for bad
 * options (names the option). */
mla_status mla_log_open(mla_log **out, mla_store *store, const mla_log_options *opts) MLA_MUST_USE;
/** Stop the sequencer (waiting appends fail MLA_ESHUTDOWN) and free. NULL ok. */
void mla_log_close(mla_log *log);

/** What an append returns: everything a client needs to check it offline. */
typedef struct mla_receipt {
    uint64_t seq;
    int64_t ledger_time_ns;
    mla_hash leaf_hash;
    uint64_t tree_size; /* of the checkpoint below */
    mla_hash root;
    uint8_t checkpoint[MLA_LOG_CHECKPOINT_MAX]; /* signed note covering seq */
    size_t checkpoint_len;
    mla_merkle_proof inclusion; /* of seq in tree_size */
    bool duplicate; /* the identical envelope was recorded before, at seq */
} mla_receipt;

/** Append one DSSE envelope (protobuf bytes) from `submitter` (the
 * authenticated transport identity). Returns only after the entry is durable.
 * Statuses: MLA_EINVAL (malformed; names the field), MLA_EDENIED (unknown,
 * revoked or not-allowed key, bad signature; names the keyid), MLA_EEXISTS
 * (identity recorded with another digest), MLA_ENOTFOUND (a KEY revocation
 * of an unknown key), MLA_ENOMEM, MLA_EIO / MLA_ELIMIT (the store failed: the
 * log then refuses appends until reopened), MLA_ESHUTDOWN. A failed append
 * changes nothing. An identical envelope sent again returns its original
 * seq, leaf hash and time with duplicate set. */
mla_status mla_log_append(mla_log *log, mla_slice envelope, mla_slice submitter,
                          mla_receipt *out) MLA_MUST_USE;
/** Append n envelopes atomically: all are recorded, consecutively, under one
 * checkpoint, or none is. receipts_out has n elements. */
mla_status mla_log_append_batch(mla_log *log, const mla_slice *envelopes, size_t n,
                                mla_slice submitter, mla_receipt *receipts_out) MLA_MUST_USE;
/** mla_log_append that also hands back the entry's verbatim bytes, as
 * mla_log_entry would read them (replacing entry_out's contents; its max
 * should allow MLA_LIMIT_ENTRY_BYTES); entry_out may be NULL. */
mla_status mla_log_append_ex(mla_log *log, mla_slice envelope, mla_slice submitter,
                             mla_receipt *out, mla_buf *entry_out) MLA_MUST_USE;
/** mla_log_append_batch that also hands back each entry's bytes:
 * entries_out has n elements (as for mla_log_append_ex), or is NULL. */
mla_status mla_log_append_batch_ex(mla_log *log, const mla_slice *envelopes, size_t n,
                                   mla_slice submitter, mla_receipt *receipts_out,
                                   mla_buf *entries_out) MLA_MUST_USE;

/* ---- decisions (SPEC §3 decision receipts) ------------------------------ */

/** Append a DECISION_BATCH envelope together with its decisions (each the
 * verbatim Decision bytes, in leaf order). Beyond mla_log_append's checks:
 * the batch's root must be the RFC 6962 root over SHA-256(0x00 || decision)
 * (MLA_EINVAL "change.decision_batch.root"), count, first_time_ns and
 * last_time_ns must match the decisions, every decision must be on the
 * batch's target, and ids are unique per target (MLA_EEXISTS naming the id).
 * The envelope must be signed by a writer key allowed DECISION_BATCH, by
 * this log's own key, or by the serving key a DEPLOYMENT on that target
 * named (SPEC §3: the receipt then binds to that deployment). Decisions and
 * their id index are written in the batch entry's synced group commit.
 * n is 1..MLA_INDEX_BATCH_DECISIONS_MAX. */
mla_status mla_log_append_decisions(mla_log *log, mla_slice envelope, const mla_slice *decisions,
                                    size_t n, mla_slice submitter, mla_receipt *out) MLA_MUST_USE;
/** mla_log_append_decisions for decisions the caller holds decoded: each
 * the verbatim bytes and their decoding (mla_codec_decision_decode's, or the
 * decision the bytes were encoded from), borrowed for the call; they are
 * not decoded again. */
mla_status mla_log_append_decisions_decoded(mla_log *log, mla_slice envelope,
                                            const mla_index_decision *decisions, size_t n,
                                            mla_slice submitter, mla_receipt *out) MLA_MUST_USE;

/** Seal decisions (verbatim bytes, all on one target) into a DECISION_BATCH
 * change signed with this log's key, actor = submitter, and append it as
 * mla_log_append_decisions does. The batch names a model when every decision
 * names the same one. A decision id already recorded for the target with
 * identical bytes is skipped (retries are safe; *skipped_out counts them;
 * if all are skipped, MLA_OK with out->duplicate set and out->seq the batch
 * of the first); with other bytes, MLA_EEXISTS naming the id. */
mla_status mla_log_seal_decisions(mla_log *log, const mla_slice *decisions, size_t n,
                                  mla_slice submitter, mla_receipt *out,
                                  size_t *skipped_out) MLA_MUST_USE;
/** mla_log_seal_decisions for decisions the caller holds decoded (as for
 * mla_log_append_decisions_decoded): they are not decoded again. */
mla_status mla_log_seal_decisions_decoded(mla_log *log, const mla_index_decision *decisions,
                                          size_t n, mla_slice submitter, mla_receipt *out,
                                          size_t *skipped_out) MLA_MUST_USE;

/** A reader of this log's committed indexes, for index.h's queries:
 * entries below the current tree size. Valid until close. */
void mla_log_index_reader(mla_log *log, mla_index_reader *out);

/** Current tree size. */
uint64_t mla_log_size(mla_log *log);
/** The latest signed checkpoint note (replaces out's contents). */
mla_status mla_log_checkpoint(mla_log *log, mla_buf *out) MLA_MUST_USE;
/** The verbatim bytes of entry seq (replaces out's contents); ENOTFOUND past
 * the end. */
mla_status mla_log_entry(mla_log *log, uint64_t seq, mla_buf *out) MLA_MUST_USE;
/** Leaf hash of entry seq. */
mla_status mla_log_leaf_hash(mla_log *log, uint64_t seq, mla_hash *out) MLA_MUST_USE;
/** The seq of the entry with this leaf hash; ENOTFOUND if none. */
mla_status mla_log_seq_by_leaf(mla_log *log, const mla_hash *leaf, uint64_t *seq_out) MLA_MUST_USE;
/** Inclusion proof of seq in the tree of tree_size (<= current size). */
mla_status mla_log_inclusion_proof(mla_log *log, uint64_t seq, uint64_t tree_size,
                                   mla_merkle_proof *out) MLA_MUST_USE;
/** Consistency proof between two sizes (0 < from <= to <= current size). */
mla_status mla_log_consistency_proof(mla_log *log, uint64_t from_size, uint64_t to_size,
                                     mla_merkle_proof *out) MLA_MUST_USE;
/** Root of the tree of tree_size (<= current size). */
mla_status mla_log_root_at(mla_log *log, uint64_t tree_size, mla_hash *out) MLA_MUST_USE;
/** The verifier for this log's checkpoints. */
const mla_note_verifier *mla_log_verifier(mla_log *log);

/* ---- offline audit (no server, no log handle) ------------------------- */

typedef struct mla_audit_options {
    const mla_pubkey *admin_keys; /* the trust root the daemon was configured with */
    size_t n_admin_keys;
    const mla_note_verifier *log_verifiers; /* keys that may sign checkpoints */
    size_t n_log_verifiers;
    bool check_signatures; /* false: chain and tree only (for measuring) */
} mla_audit_options;

typedef struct mla_audit_result {
    uint64_t n_entries;
    uint64_t checkpoint_size;
    mla_hash root;
    bool ok;
    uint64_t first_bad_seq; /* valid when !ok and the fault is in an entry */
    char problem[MLA_ERROR_MSG_MAX];
} mla_audit_result;

/** Recompute the chain, back-links, key registry, every signature and the
 * Merkle tree from the stored entries, and compare with the stored nodes and
 * the last signed checkpoint. Returns MLA_OK with result->ok telling whether
 * the store verified (and naming the first bad seq if not); other statuses
 * are I/O or allocation failures. */
mla_status mla_log_audit(mla_audit_result *result, mla_store *store,
                         const mla_audit_options *opts) MLA_MUST_USE;

/** Verify one stored entry's envelope signatures against the given keys
 * (all signatures must verify with a listed key). */
mla_status mla_log_entry_verify(mla_slice entry, const mla_pubkey *keys,
                                size_t n_keys) MLA_MUST_USE;

#endif
