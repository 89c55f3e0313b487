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

/** Encode a request message with the codec into out (initialised here). */
mla_status mla_client__encode(mla_buf *out, const ProtobufCMessage *m) MLA_MUST_USE;

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

/** Replace the current error by MLA_ECORRUPT "<field>: <current message>". */
mla_status mla_client__corrupt(const char *field) MLA_MUST_USE;

#endif
