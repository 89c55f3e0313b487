/* rpc_util: a small raw gRPC caller for the integration tests (gRPC C core +
 * codec), independent of ledger/client so the daemon is tested on its own:
 * unary and server-streaming calls with exact status codes and messages. */
#ifndef MLA_TEST_RPC_UTIL_H
#define MLA_TEST_RPC_UTIL_H

#include <grpc/grpc.h>

#include "codec/codec.h"
#include "merkle/merkle.h"

typedef struct rpc_conn rpc_conn;

typedef struct rpc_status {
    grpc_status_code code;
    char message[1024];
} rpc_status;

/** A plaintext channel to target ("127.0.0.1:port"); grpc_init inside. */
rpc_conn *rpc_connect(const char *target);
void rpc_close(rpc_conn *c);

/** Unary call with raw request bytes; the response bytes go to resp (if the
 * server sent a message). Returns the status code. */
grpc_status_code rpc_unary_raw(rpc_conn *c, const char *method, mla_slice req, mla_buf *resp,
                               rpc_status *st);
/** Unary call with no request message at all (client half-closes at once). */
grpc_status_code rpc_unary_empty(rpc_conn *c, const char *method, rpc_status *st);

/** Unary call with protobuf messages: the request is packed without
 * validation (so tests can send what the server must refuse); on OK the
 * response is decoded into *resp_out (free with mla_codec_rpc_free). */
grpc_status_code rpc_unary(rpc_conn *c, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *resp_d, ProtobufCMessage **resp_out,
                           rpc_status *st);

/** Server-streaming call: fn runs for each response message's bytes. */
typedef void (*rpc_msg_fn)(void *ctx, mla_slice msg);
grpc_status_code rpc_stream(rpc_conn *c, const char *method, const ProtobufCMessage *req,
                            rpc_msg_fn fn, void *ctx, rpc_status *st);

/** A proof's hashes from the wire into p (each must be 32 bytes). */
void proof_from(mla_merkle_proof *p, const ProtobufCBinaryData *h, size_t n);

/* The call ended with status want and its message names field. */
#define assert_status(code, st, want, field)                                                       \
    do {                                                                                           \
        ck_assert_msg((code) == (want), "status %d, want %d: %s", (int)(code), (int)(want),        \
                      (st).message);                                                               \
        ck_assert_msg(strstr((st).message, (field)) != NULL,                                       \
                      "message \"%s\" does not name \"%s\"", (st).message, (field));               \
    } while (0)

#endif
