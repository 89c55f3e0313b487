/* rpc_util: a small raw gRPC caller for the integration tests (gRPC C core +
 * codec), independent of ledger/client so the daemon is tested on its own:
 * unary and server-streaming calls with exact status codes and messages. */
#ifndef MLA_TEST_RPC_UTIL_H
#define MLA_TEST_RPC_UTIL_H

#include <grpc/grpc.h>
#include <pthread.h>
#include <stdbool.h>

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

/* ---- a fake server for the client tests ---------------------------------- */

#define RPC_SERVER_MAX_MSGS 64

/** One call's answer, filled by the server's callback: the response
 * messages (RPC_SERVER_MAX_MSGS buffers, initialised and empty), the status
 * with its details, or hang: answer nothing until the client's deadline
 * cancels the call. */
typedef struct rpc_answer {
    mla_buf msgs[RPC_SERVER_MAX_MSGS];
    size_t n_msgs;
    grpc_status_code code; /* GRPC_STATUS_OK unless set */
    char details[1024];
    bool hang;
} rpc_answer;

/** Answers a unary call to method with request bytes req. */
typedef void (*rpc_answer_fn)(void *ctx, const char *method, mla_slice req, rpc_answer *out);

typedef struct rpc_server {
    char target[64]; /* "127.0.0.1:port" */
    rpc_answer_fn answer;
    void *ctx;
    grpc_server *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    int shutdown_tag;
    bool shutdown_seen;
} rpc_server;

/** A gRPC server on 127.0.0.1 port 0: its one thread serves one unary call
 * at a time with answer(ctx, ...), so each completion on its queue is the
 * one it waits for. */
void rpc_server_start(rpc_server *s, rpc_answer_fn answer, void *ctx);
void rpc_server_stop(rpc_server *s);

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
