/* rpc_util: see rpc_util.h. Each call runs on its own completion queue
 * (pluck), with a 30 s deadline so a hung server fails the test instead of
 * hanging it. */
#include "rpc_util.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#define CALL_DEADLINE_S 30

struct rpc_conn {
    grpc_channel *ch;
};

rpc_conn *rpc_connect(const char *target)
{
    grpc_init();
    rpc_conn *c = mla_calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_arg arg;
    arg.type = GRPC_ARG_INTEGER;
    arg.key = (char *)(uintptr_t)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    arg.value.integer = 64 << 20;
    grpc_channel_args args = {1, &arg};
    c->ch = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    return c;
}

void rpc_close(rpc_conn *c)
{
    if (!c) return;
    grpc_channel_destroy(c->ch);
    mla_free(c);
    grpc_shutdown();
}

static gpr_timespec deadline(void)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                        gpr_time_from_seconds(CALL_DEADLINE_S, GPR_TIMESPAN));
}

static void run_batch(grpc_completion_queue *cq, grpc_call *call, const grpc_op *ops, size_t n,
                      void *tag)
{
    ck_assert_int_eq(grpc_call_start_batch(call, ops, n, tag, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, deadline(), NULL);
    ck_assert_int_eq(ev.type, GRPC_OP_COMPLETE);
}

static void bb_to_buf(mla_buf *out, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader r;
    grpc_slice s;
    ck_assert(grpc_byte_buffer_reader_init(&r, bb));
    while (grpc_byte_buffer_reader_next(&r, &s)) {
        ck_assert_int_eq(mla_buf_append(out, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s)),
                         MLA_OK);
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&r);
}

typedef struct call_ctx {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array md_init, md_trail;
    grpc_status_code code;
    grpc_slice details;
} call_ctx;

static void call_begin(call_ctx *x, rpc_conn *c, const char *method)
{
    memset(x, 0, sizeof *x);
    x->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice m = grpc_slice_from_copied_string(method);
    x->call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, x->cq, m, NULL,
                                       deadline(), NULL);
    grpc_slice_unref(m);
    ck_assert_ptr_nonnull(x->call);
    grpc_metadata_array_init(&x->md_init);
    grpc_metadata_array_init(&x->md_trail);
}

/* Send the request (or none) and half-close; receive initial metadata. */
static void call_send(call_ctx *x, const mla_slice *req)
{
    grpc_op ops[4];
    size_t n = 0;
    grpc_byte_buffer *bb = NULL;
    memset(ops, 0, sizeof ops);
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (req) {
        grpc_slice s =
            grpc_slice_from_copied_buffer(req->len ? (const char *)req->ptr : "", req->len);
        bb = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
    }
    ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n++].data.recv_initial_metadata.recv_initial_metadata = &x->md_init;
    run_batch(x->cq, x->call, ops, n, (void *)1);
    if (bb) grpc_byte_buffer_destroy(bb);
}

/* One message, or false at the end of the stream. */
static bool call_recv(call_ctx *x, mla_buf *out)
{
    grpc_byte_buffer *bb = NULL;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    run_batch(x->cq, x->call, &op, 1, (void *)2);
    if (!bb) return false;
    bb_to_buf(out, bb);
    grpc_byte_buffer_destroy(bb);
    return true;
}

static grpc_status_code call_finish(call_ctx *x, rpc_status *st)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &x->md_trail;
    op.data.recv_status_on_client.status = &x->code;
    op.data.recv_status_on_client.status_details = &x->details;
    run_batch(x->cq, x->call, &op, 1, (void *)3);
    st->code = x->code;
    snprintf(st->message, sizeof st->message, "%.*s", (int)GRPC_SLICE_LENGTH(x->details),
             (const char *)GRPC_SLICE_START_PTR(x->details));
    grpc_slice_unref(x->details);
    grpc_metadata_array_destroy(&x->md_init);
    grpc_metadata_array_destroy(&x->md_trail);
    grpc_call_unref(x->call);
    grpc_completion_queue_shutdown(x->cq);
    while (
        grpc_completion_queue_pluck(x->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
        GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(x->cq);
    return st->code;
}

grpc_status_code rpc_unary_raw(rpc_conn *c, const char *method, mla_slice req, mla_buf *resp,
                               rpc_status *st)
{
    call_ctx x;
    call_begin(&x, c, method);
    call_send(&x, &req);
    mla_buf tmp;
    mla_buf_init(&tmp, 64 << 20);
    if (call_recv(&x, &tmp) && resp)
        ck_assert_int_eq(mla_buf_set(resp, mla_buf_slice(&tmp)), MLA_OK);
    mla_buf_dispose(&tmp);
    return call_finish(&x, st);
}

grpc_status_code rpc_unary_empty(rpc_conn *c, const char *method, rpc_status *st)
{
    call_ctx x;
    call_begin(&x, c, method);
    call_send(&x, NULL);
    mla_buf tmp;
    mla_buf_init(&tmp, 64 << 20);
    mla_ignore(call_recv(&x, &tmp)); /* whatever came, the status decides */
    mla_buf_dispose(&tmp);
    return call_finish(&x, st);
}

static void pack(mla_buf *out, const ProtobufCMessage *m)
{
    mla_buf_init(out, 64 << 20);
    ck_assert_int_eq(mla_codec_rpc_encode(out, m), MLA_OK);
}

grpc_status_code rpc_unary(rpc_conn *c, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *resp_d, ProtobufCMessage **resp_out,
                           rpc_status *st)
{
    mla_buf in, out;
    pack(&in, req);
    mla_buf_init(&out, 64 << 20);
    grpc_status_code code = rpc_unary_raw(c, method, mla_buf_slice(&in), &out, st);
    if (resp_out) *resp_out = NULL;
    if (code == GRPC_STATUS_OK && resp_out)
        ck_assert_msg(mla_codec_rpc_decode(resp_out, resp_d, mla_buf_slice(&out), "response") ==
                          MLA_OK,
                      "response does not decode: %s", mla_error_last()->msg);
    mla_buf_dispose(&in);
    mla_buf_dispose(&out);
    return code;
}

grpc_status_code rpc_stream(rpc_conn *c, const char *method, const ProtobufCMessage *req,
                            rpc_msg_fn fn, void *ctx, rpc_status *st)
{
    mla_buf in, msg;
    pack(&in, req);
    mla_slice s = mla_buf_slice(&in);
    call_ctx x;
    call_begin(&x, c, method);
    call_send(&x, &s);
    mla_buf_init(&msg, 64 << 20);
    for (;;) {
        mla_buf_clear(&msg);
        if (!call_recv(&x, &msg)) break;
        fn(ctx, mla_buf_slice(&msg));
    }
    mla_buf_dispose(&msg);
    mla_buf_dispose(&in);
    return call_finish(&x, st);
}

void proof_from(mla_merkle_proof *p, const ProtobufCBinaryData *h, size_t n)
{
    ck_assert_uint_le(n, MLA_MERKLE_PROOF_MAX);
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(h[i].len, 32);
        memcpy(p->h[i].b, h[i].data, 32);
    }
}

/* The next completion for tag; the server's shutdown notice may come first
 * (the test stops the server while a call is finishing) and is noted. */
static grpc_event server_wait(rpc_server *s, void *tag)
{
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        ck_assert_int_eq(ev.type, GRPC_OP_COMPLETE);
        if (ev.tag == &s->shutdown_tag && tag != &s->shutdown_tag) {
            s->shutdown_seen = true;
            continue;
        }
        ck_assert_ptr_eq(ev.tag, tag);
        return ev;
    }
}

static void server_batch(rpc_server *s, grpc_call *call, const grpc_op *ops, size_t n)
{
    ck_assert_int_eq(grpc_call_start_batch(call, ops, n, (void *)(uintptr_t)ops, NULL),
                     GRPC_CALL_OK);
    mla_ignore(server_wait(s, (void *)(uintptr_t)ops).success);
}

static void server_serve(rpc_server *s, grpc_call *call, const char *method)
{
    grpc_byte_buffer *req = NULL;
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &req;
    server_batch(s, call, ops, 2);
    mla_buf reqb;
    mla_buf_init(&reqb, 1 << 24);
    if (req) {
        bb_to_buf(&reqb, req);
        grpc_byte_buffer_destroy(req);
    }
    rpc_answer a;
    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < RPC_SERVER_MAX_MSGS; i++) mla_buf_init(&a.msgs[i], 1 << 24);
    s->answer(s->ctx, method, mla_buf_slice(&reqb), &a);
    int cancelled = 0;
    grpc_op close_op;
    memset(&close_op, 0, sizeof close_op);
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &cancelled;
    if (a.hang) {
        /* Completes when the client's deadline cancels the call. */
        server_batch(s, call, &close_op, 1);
        ck_assert(cancelled);
    } else {
        ck_assert_uint_le(a.n_msgs, RPC_SERVER_MAX_MSGS);
        for (size_t i = 0; i < a.n_msgs; i++) {
            grpc_slice sl =
                grpc_slice_from_copied_buffer((const char *)a.msgs[i].ptr, a.msgs[i].len);
            grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
            grpc_slice_unref(sl);
            grpc_op send;
            memset(&send, 0, sizeof send);
            send.op = GRPC_OP_SEND_MESSAGE;
            send.data.send_message.send_message = bb;
            server_batch(s, call, &send, 1);
            grpc_byte_buffer_destroy(bb);
        }
        grpc_op fin[2];
        memset(fin, 0, sizeof fin);
        grpc_slice details = grpc_slice_from_copied_string(a.details);
        fin[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        fin[0].data.send_status_from_server.status = a.code;
        fin[0].data.send_status_from_server.status_details = a.code ? &details : NULL;
        fin[1] = close_op;
        server_batch(s, call, fin, 2);
        grpc_slice_unref(details);
    }
    for (size_t i = 0; i < RPC_SERVER_MAX_MSGS; i++) mla_buf_dispose(&a.msgs[i]);
    mla_buf_dispose(&reqb);
}

static void *server_main(void *arg)
{
    rpc_server *s = arg;
    for (;;) {
        grpc_call *call = NULL;
        grpc_call_details details;
        grpc_metadata_array md;
        grpc_call_details_init(&details);
        grpc_metadata_array_init(&md);
        ck_assert_int_eq(grpc_server_request_call(s->srv, &call, &details, &md, s->cq, s->cq, s),
                         GRPC_CALL_OK);
        bool served = server_wait(s, s).success;
        if (served) {
            char method[256];
            size_t n = GRPC_SLICE_LENGTH(details.method);
            if (n >= sizeof method) n = sizeof method - 1;
            memcpy(method, GRPC_SLICE_START_PTR(details.method), n);
            method[n] = '\0';
            server_serve(s, call, method);
            grpc_call_unref(call);
        }
        grpc_call_details_destroy(&details);
        grpc_metadata_array_destroy(&md);
        /* A failed request means the server is shutting down. */
        if (!served) return NULL;
    }
}

void rpc_server_start(rpc_server *s, rpc_answer_fn answer, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->answer = answer;
    s->ctx = ctx;
    grpc_init();
    s->cq = grpc_completion_queue_create_for_next(NULL);
    s->srv = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(s->srv, s->cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(s->srv, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    ck_assert_int_gt(port, 0);
    snprintf(s->target, sizeof s->target, "127.0.0.1:%d", port);
    grpc_server_start(s->srv);
    ck_assert(pthread_create(&s->thread, NULL, server_main, s) == 0);
}

void rpc_server_stop(rpc_server *s)
{
    /* STYLE: shutdown-and-notify, cancel calls, drain the queue, destroy. */
    grpc_server_shutdown_and_notify(s->srv, s->cq, &s->shutdown_tag);
    grpc_server_cancel_all_calls(s->srv);
    pthread_join(s->thread, NULL);
    if (!s->shutdown_seen) mla_ignore(server_wait(s, &s->shutdown_tag).success);
    grpc_completion_queue_shutdown(s->cq);
    while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_server_destroy(s->srv);
    grpc_completion_queue_destroy(s->cq);
    grpc_shutdown();
}
