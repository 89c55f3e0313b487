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

#endif
