/* client_int: private to ledger/client. The client handle, the gRPC call
 * helpers of client_channel.c (the only file that touches grpc_*), and the
 * receipt and proof checks shared by the calls. */
#ifndef MLA_CLIENT_INT_H
#define MLA_CLIENT_INT_H

#include "client/client.h"

struct grpc_channel;

struct mla_client {
    struct grpc_channel *channel;
    mla_note_verifier verifier; /* copied at open */
    int timeout_ms;
};

/* Method paths (SPEC §4). */
#define MLA_CLIENT_METHOD(name) "/mlaudit.v1.Ledger/" name
#define MLA_CLIENT_HEALTH_CHECK "/grpc.health.v1.Health/Check"

/** Unary call: send `req` (protobuf bytes), receive one response message
 * decoded as `d` (`root` names it in errors) into *resp_out (free with
 * mla_codec_rpc_free). A non-OK gRPC status maps to an mla status with the
 * server's message; a malformed response is MLA_ECORRUPT. */
mla_status mla_client__call(mla_client *c, const char *method, mla_slice req,
                            const ProtobufCMessageDescriptor *d, const char *root,
                            ProtobufCMessage **resp_out) MLA_MUST_USE;
/** Unary call whose response bytes are appended to resp (hand-decoded
 * messages such as the health check's). */
mla_status mla_client__call_raw(mla_client *c, const char *method, mla_slice req,
                                mla_buf *resp) MLA_MUST_USE;

/** Receives one decoded message of a server stream (borrowed for the call);
 * a non-OK return cancels the call and is returned. */
typedef mla_status (*mla_client__msg_fn)(void *ctx, const ProtobufCMessage *msg);
/** Server-streaming call: every response message decoded as `d` goes to fn. */
mla_status mla_client__stream(mla_client *c, const char *method, mla_slice req,
                              const ProtobufCMessageDescriptor *d, const char *root,
                              mla_client__msg_fn fn, void *ctx) MLA_MUST_USE;

/** A server-streaming call bounded by max_ms (0 = no deadline) instead of
 * the client's timeout: *timed_out is set when it ended on that deadline
 * (the call then returns MLA_EIO naming DEADLINE_EXCEEDED). */
mla_status mla_client__stream_for(mla_client *c, const char *method, mla_slice req,
                                  const ProtobufCMessageDescriptor *d, const char *root,
                                  mla_client__msg_fn fn, void *ctx, int max_ms,
                                  bool *timed_out) MLA_MUST_USE;

/** A bidirectional stream (RecordDecisions) with no deadline: its owner
 * cancels it. One thread may send (and half-close) while another receives;
 * finish runs after both are done with it, and frees it. */
typedef struct mla_client__bidi mla_client__bidi;
mla_status mla_client__bidi_open(mla_client__bidi **out, mla_client *c,
                                 const char *method) MLA_MUST_USE;
/** Send one message (raw protobuf bytes); returns once gRPC took it.
 * MLA_EIO when the stream is over (finish says why). */
mla_status mla_client__bidi_send(mla_client__bidi *b, mla_slice msg) MLA_MUST_USE;
mla_status mla_client__bidi_close_send(mla_client__bidi *b) MLA_MUST_USE;
/** Receive one message's bytes into msg (replaced), or *end at the end of
 * the stream (closed by the server, failed, or cancelled). */
mla_status mla_client__bidi_recv(mla_client__bidi *b, mla_buf *msg, bool *end) MLA_MUST_USE;
/** Cancel from any thread: a blocked send or receive returns. */
void mla_client__bidi_cancel(mla_client__bidi *b);
/** Wait for the call's final status, mapped as unary calls' are; frees b. */
mla_status mla_client__bidi_finish(mla_client__bidi *b) MLA_MUST_USE;

/** Encode a request message with the codec into out (initialised here). */
mla_status mla_client__encode(mla_buf *out, const ProtobufCMessage *m) MLA_MUST_USE;
/** Unary call of a request message: encode `req`, then mla_client__call. */
mla_status mla_client__call_msg(mla_client *c, const char *method, const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *d, const char *root,
                                ProtobufCMessage **resp_out) MLA_MUST_USE;
/** Append a length-delimited protobuf field around verbatim bytes: the
 * one-byte key `tag` (field number << 3 | 2), the length, the bytes; for
 * bytes the server must see as they were signed, not re-encoded. */
mla_status mla_client__frame(mla_buf *out, uint8_t tag, mla_slice bytes) MLA_MUST_USE;
/** Read one field of a protobuf message read by hand: its key; for wire type
 * 0 its value into *value, for wire type 2 its bytes into *bytes (borrowed
 * from r); fixed32/64 are skipped. MLA_EINVAL naming `root` if malformed. */
mla_status mla_client__wire_field(mla_reader *r, uint64_t *key, uint64_t *value, mla_slice *bytes,
                                  const char *root) MLA_MUST_USE;
/** A copy of s (mla_free it), or NULL out of memory. */
char *mla_client__strdup(const char *s) MLA_MUST_USE;

/** A hash field of a response: exactly 32 bytes, else MLA_ECORRUPT naming
 * `field`. */
mla_status mla_client__hash(mla_hash *out, ProtobufCBinaryData b, const char *field) MLA_MUST_USE;
/** Proof hashes of a response (at most MLA_MERKLE_PROOF_MAX, 32 bytes each),
 * else MLA_ECORRUPT naming `field`. */
mla_status mla_client__proof(mla_merkle_proof *out, const ProtobufCBinaryData *hashes, size_t n,
                             const char *field) MLA_MUST_USE;

/** The last checkpoint note verified while reading one response, so a batch
 * of receipts under one checkpoint checks its signature once. */
typedef struct mla_client__cp_cache {
    mla_slice note; /* borrowed from the response being read */
    mla_checkpoint cp;
    bool valid;
} mla_client__cp_cache;

/** Fill *out from a wire Receipt and verify it: the checkpoint (the
 * receipt's own, else `fallback`) is signed by v, the inclusion proof is for
 * leaf_index == seq in tree_size == the checkpoint's size and leads from the
 * leaf hash to the checkpoint's root. MLA_ECORRUPT naming `field` and what
 * failed. `cache` may be NULL. */
/** The receipt's entry bytes hash to its leaf and hold the envelope that was
 * sent (compared in canonical encoding): MLA_ECORRUPT naming field if not. */
mla_status mla_client__receipt_entry_check(const Mlaudit__V1__Receipt *r, const mla_receipt *out,
                                           mla_slice sent, const char *field) MLA_MUST_USE;
mla_status mla_client__receipt_from_pb(mla_receipt *out, const Mlaudit__V1__Receipt *r,
                                       const Mlaudit__V1__Checkpoint *fallback,
                                       const mla_note_verifier *v, mla_client__cp_cache *cache,
                                       const char *field) MLA_MUST_USE;

/* ---- entries of the semantic calls (client_query.c) ---------------------- */

/** Free n entries and the array; NULL is a no-op. */
void mla_client__entries_free(mla_client_entry *e, size_t n);

/** An entry decoded, and its Change when the payload is one (else NULL). */
typedef struct mla_client__decoded {
    mla_pb_entry *entry;
    mla_pb_change *change;
} mla_client__decoded;
/** Decode entry bytes that must be entry seq: MLA_ECORRUPT naming field if
 * they do not decode (or are another seq), MLA_ENOMEM. */
mla_status mla_client__decode_entry(mla_client__decoded *out, mla_slice bytes, uint64_t seq,
                                    const char *field) MLA_MUST_USE;
void mla_client__decoded_free(mla_client__decoded *d);
/** The leaf hash of a StoredEntry, checked against its bytes unless it is
 * redacted (then it must carry none): MLA_ECORRUPT naming field. */
mla_status mla_client__leaf_of(mla_hash *out, const Mlaudit__V1__StoredEntry *e,
                               const char *field) MLA_MUST_USE;
/** RFC 9162 inclusion of leaf at seq in a verified checkpoint's tree:
 * MLA_ECORRUPT naming field. */
mla_status mla_client__inclusion_check(const mla_hash *leaf, uint64_t seq,
                                       const mla_merkle_proof *p, const mla_checkpoint *cp,
                                       const char *field) MLA_MUST_USE;
/** A StoredEntry with the InclusionProof the server sent for it, against a
 * verified checkpoint: the proof is for leaf e->seq in cp's size, the
 * entry's bytes hash to its leaf hash (a redacted entry carries none), and
 * the proof leads from that leaf to cp's root. The proof into proof_out.
 * MLA_ECORRUPT naming field (the entry) or "<field>.inclusion" (the
 * proof). */
mla_status mla_client__proven_check(mla_merkle_proof *proof_out, const Mlaudit__V1__StoredEntry *e,
                                    const Mlaudit__V1__InclusionProof *ip, const mla_checkpoint *cp,
                                    const char *field) MLA_MUST_USE;
/** Fetch the inclusion proof of seq in cp's size and check it (and that the
 * server proves this leaf); the proof into proof_out. */
mla_status mla_client__prove_seq(mla_client *c, uint64_t seq, const mla_hash *leaf,
                                 const mla_checkpoint *cp, mla_merkle_proof *proof_out,
                                 const char *field) MLA_MUST_USE;
/** Open a checkpoint note with v: MLA_ECORRUPT naming field if it is
 * missing or does not verify. A note this process has verified with v
 * before is only parsed (client_receipt.c keeps which). */
mla_status mla_client__open_note(mla_checkpoint *cp, mla_slice note, const mla_note_verifier *v,
                                 const char *field) MLA_MUST_USE;

/** Replace the current error by MLA_ECORRUPT "<field>: <current message>". */
mla_status mla_client__corrupt(const char *field) MLA_MUST_USE;

#endif
