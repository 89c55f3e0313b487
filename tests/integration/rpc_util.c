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
