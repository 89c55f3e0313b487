/* client_channel: the client's gRPC channel (credentials, open/close) and the
 * unary and server-streaming call helpers every client call goes through,
 * with the mapping of gRPC status codes back to mla statuses. The only file
 * of ledger/client that calls grpc_*; gRPC byte buffers never leave it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "client/client_int.h"

#define CLIENT_TIMEOUT_DEFAULT_MS 30000
#define CLIENT_TARGET_MAX 1024
/* A PEM file: a certificate chain or a bundle of roots. */
#define CLIENT_PEM_MAX (1u << 20)

/* ---- options ------------------------------------------------------------ */

/* The host part of a target: "host:port", "[v6]:port", a bare IPv6 literal,
 * optionally behind the gRPC schemes "dns:///", "dns:", "ipv4:", "ipv6:". */
static mla_status target_host(char *host, size_t cap, const char *target)
{
    static const char *const schemes[] = {"dns:///", "dns:", "ipv4:", "ipv6:"};
    const char *s = target;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(s, schemes[i], n) == 0) {
            s += n;
            break;
        }
    }
    const char *end;
    if (*s == '[') {
        s++;
        end = strchr(s, ']');
        if (!end) return mla_err(MLA_EINVAL, "target: unterminated '[' in \"%s\"", target);
    } else {
        const char *colon = strchr(s, ':');
        /* One colon separates host and port; more means a bare IPv6 literal. */
        end = (colon && !strchr(colon + 1, ':')) ? colon : s + strlen(s);
    }
    size_t n = (size_t)(end - s);
    if (n == 0) return mla_err(MLA_EINVAL, "target: no host in \"%s\"", target);
    if (n >= cap) return mla_err(MLA_EINVAL, "target: host longer than %zu bytes", cap - 1);
    memcpy(host, s, n);
    host[n] = '\0';
    return MLA_OK;
}

/* 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and "localhost". */
static bool host_is_loopback(const char *host)
{
    uint8_t a[16];
    if (strcasecmp(host, "localhost") == 0) return true;
    if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const uint8_t v6_loopback[16] = {[15] = 1};
        static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
        if (memcmp(a, v6_loopback, 16) == 0) return true;
        return memcmp(a, v4_mapped, 12) == 0 && a[12] == 127;
    }
    return false;
}

/* A whole PEM file as a NUL-terminated string (mla_free after mla_wipe). */
static mla_status read_pem(char **out, const char *path, const char *field)
{
    mla_status rc = MLA_OK;
    mla_buf b;
    mla_buf_init(&b, CLIENT_PEM_MAX);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mla_err(MLA_EINVAL, "%s: cannot open %s: %s", field, path, strerror(errno));
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((rc = mla_buf_append(&b, chunk, n)) != MLA_OK) {
            if (rc == MLA_ELIMIT)
                rc = mla_err(MLA_EINVAL, "%s: %s is larger than %u bytes", field, path,
                             CLIENT_PEM_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = mla_err(MLA_EINVAL, "%s: cannot read %s: %s", field, path, strerror(errno));
        goto out;
    }
    if (b.len == 0 || memchr(b.ptr, '\0', b.len)) {
        rc = mla_err(MLA_EINVAL, "%s: %s is not a PEM file", field, path);
        goto out;
    }
    if (!(*out = mla_buf_cstr_new(&b))) rc = mla_err(MLA_ENOMEM, "%s: out of memory", field);
    mla_wipe(chunk, sizeof chunk);
out:
    fclose(f);
    mla_buf_dispose(&b); /* wipes: the key file is a secret */
    return rc;
}

static void pem_free(char *p)
{
    if (p) {
        mla_wipe(p, strlen(p));
        mla_free(p);
    }
}

static mla_status check_options(const mla_client_options *o)
{
    if (!o) return mla_err(MLA_EINVAL, "options: NULL");
    if (!o->target || !*o->target) return mla_err(MLA_EINVAL, "target: empty");
    if (strlen(o->target) > CLIENT_TARGET_MAX)
        return mla_err(MLA_EINVAL, "target: %zu bytes exceeds limit %d", strlen(o->target),
                       CLIENT_TARGET_MAX);
    if (!o->verifier)
        return mla_err(MLA_EINVAL, "verifier: required (the log's checkpoint verifier key)");
    if (o->timeout_ms < 0) return mla_err(MLA_EINVAL, "timeout_ms: negative (%d)", o->timeout_ms);
    char host[CLIENT_TARGET_MAX + 1];
    MLA_TRY(target_host(host, sizeof host, o->target));
    if (o->insecure) {
        if (!host_is_loopback(host))
            return mla_err(MLA_EINVAL,
                           "target: --insecure is only allowed on loopback (127.0.0.0/8, ::1, "
                           "localhost), not \"%s\"",
                           host);
        if (o->ca_file || o->cert_file || o->key_file)
            return mla_err(MLA_EINVAL, "insecure: cannot be combined with ca_file, cert_file or "
                                       "key_file (TLS options)");
    } else if (!o->cert_file != !o->key_file) {
        return mla_err(MLA_EINVAL, "%s: given without %s", o->cert_file ? "cert_file" : "key_file",
                       o->cert_file ? "key_file" : "cert_file");
    }
    return MLA_OK;
}

/* ---- open / close ------------------------------------------------------- */

mla_status mla_client_open(mla_client **out, const mla_client_options *opts)
{
    MLA_ASSERT(out);
    *out = NULL;
    MLA_TRY(check_options(opts));
    mla_status rc = MLA_OK;
    char *ca = NULL, *cert = NULL, *key = NULL;
    grpc_channel_credentials *creds = NULL;
    bool grpc_started = false;
    mla_client *c = mla_calloc(1, sizeof *c);
    if (!c) return mla_err(MLA_ENOMEM, "client: out of memory");
    c->verifier = *opts->verifier;
    c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : CLIENT_TIMEOUT_DEFAULT_MS;

    if (!opts->insecure) {
        if (opts->ca_file && (rc = read_pem(&ca, opts->ca_file, "ca_file")) != MLA_OK) goto out;
        if (opts->cert_file && (rc = read_pem(&cert, opts->cert_file, "cert_file")) != MLA_OK)
            goto out;
        if (opts->key_file && (rc = read_pem(&key, opts->key_file, "key_file")) != MLA_OK) goto out;
    }
    grpc_init();
    grpc_started = true;
    if (opts->insecure) {
        creds = grpc_insecure_credentials_create();
    } else {
        /* NULL roots: gRPC's default roots (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH
         * or the system bundle). The PEM strings are copied. */
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        creds = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
    }
    if (!creds) {
        rc = mla_err(MLA_EINVAL, "ca_file: gRPC refused the TLS credentials");
        goto out;
    }
    /* Responses up to the codec's RPC limit: GetEntries sends messages of up
     * to 4 MiB of entries, above gRPC's default 4 MiB receive limit. */
    grpc_arg args[2] = {
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)(uintptr_t)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = (int)MLA_LIMIT_RPC_BYTES},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)(uintptr_t)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = (int)MLA_LIMIT_RPC_BYTES},
    };
    grpc_channel_args chargs = {.num_args = 2, .args = args};
    c->channel = grpc_channel_create(opts->target, creds, &chargs);
    if (!c->channel) {
        rc = mla_err(MLA_EINVAL, "target: gRPC cannot create a channel to \"%s\"", opts->target);
        goto out;
    }
    *out = c;
    c = NULL;
out:
    if (creds) grpc_channel_credentials_release(creds);
    pem_free(ca);
    pem_free(cert);
    pem_free(key);
    if (c) {
        mla_free(c);
        if (grpc_started) grpc_shutdown();
    }
    return rc;
}

void mla_client_close(mla_client *c)
{
    if (!c) return;
    grpc_channel_destroy(c->channel);
    mla_free(c);
    grpc_shutdown();
}

/* ---- status mapping ----------------------------------------------------- */

static const char *code_name(grpc_status_code code)
{
    switch (code) {
    case GRPC_STATUS_OK: return "OK";
    case GRPC_STATUS_CANCELLED: return "CANCELLED";
    case GRPC_STATUS_UNKNOWN: return "UNKNOWN";
    case GRPC_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case GRPC_STATUS_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case GRPC_STATUS_NOT_FOUND: return "NOT_FOUND";
    case GRPC_STATUS_ALREADY_EXISTS: return "ALREADY_EXISTS";
    case GRPC_STATUS_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case GRPC_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case GRPC_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case GRPC_STATUS_ABORTED: return "ABORTED";
    case GRPC_STATUS_OUT_OF_RANGE: return "OUT_OF_RANGE";
    case GRPC_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case GRPC_STATUS_INTERNAL: return "INTERNAL";
    case GRPC_STATUS_UNAVAILABLE: return "UNAVAILABLE";
    case GRPC_STATUS_DATA_LOSS: return "DATA_LOSS";
    case GRPC_STATUS_UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
    }
}

/* client.h: INVALID_ARGUMENT -> EINVAL, PERMISSION_DENIED / UNAUTHENTICATED
 * -> EDENIED, ALREADY_EXISTS -> EEXISTS, FAILED_PRECONDITION -> EPOLICY,
 * NOT_FOUND -> ENOTFOUND, RESOURCE_EXHAUSTED -> ELIMIT, the rest -> EIO. The
 * server's message names the field; it is kept verbatim after "server: ",
 * with the code name in front where the code itself is the news (transport
 * failures, INTERNAL). */
static mla_status status_map(grpc_status_code code, grpc_slice details)
{
    mla_status st;
    bool app = true; /* the service's own answer: its message says it all */
    switch (code) {
    case GRPC_STATUS_OK: return MLA_OK;
    case GRPC_STATUS_INVALID_ARGUMENT:
    case GRPC_STATUS_OUT_OF_RANGE: st = MLA_EINVAL; break;
    case GRPC_STATUS_PERMISSION_DENIED:
    case GRPC_STATUS_UNAUTHENTICATED: st = MLA_EDENIED; break;
    case GRPC_STATUS_ALREADY_EXISTS: st = MLA_EEXISTS; break;
    case GRPC_STATUS_FAILED_PRECONDITION: st = MLA_EPOLICY; break;
    case GRPC_STATUS_NOT_FOUND: st = MLA_ENOTFOUND; break;
    case GRPC_STATUS_RESOURCE_EXHAUSTED: st = MLA_ELIMIT; break;
    default:
        st = MLA_EIO;
        app = false;
        break;
    }
    /* The message goes to terminals and logs: no control characters. */
    char msg[MLA_ERROR_MSG_MAX - 32];
    size_t n = GRPC_SLICE_LENGTH(details);
    const uint8_t *p = GRPC_SLICE_START_PTR(details);
    if (n > sizeof msg - 1) n = sizeof msg - 1;
    for (size_t i = 0; i < n; i++) msg[i] = (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i];
    msg[n] = '\0';
    if (app && n > 0) return mla_err(st, "server: %s", msg);
    if (n == 0) return mla_err(st, "server: %s", code_name(code));
    return mla_err(st, "server: %s: %s", code_name(code), msg);
}

/* ---- calls -------------------------------------------------------------- */

/* One call with its own completion queue (SPEC: each call is its own gRPC
 * call on the shared channel, so threads never share a queue). */
typedef struct call {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array md_initial, md_trailing;
    grpc_status_code status;
    grpc_slice details;
} call;

/* A call whose deadline is timeout_ms from now; 0 = no deadline (a
 * long-lived stream: its owner cancels it). */
static mla_status call_start_ms(call *k, mla_client *c, const char *method, int timeout_ms)
{
    memset(k, 0, sizeof *k);
    grpc_metadata_array_init(&k->md_initial);
    grpc_metadata_array_init(&k->md_trailing);
    k->details = grpc_empty_slice();
    k->status = GRPC_STATUS_UNKNOWN;
    k->cq = grpc_completion_queue_create_for_pluck(NULL);
    if (!k->cq) return mla_err(MLA_ENOMEM, "client: cannot create a completion queue");
    gpr_timespec deadline = timeout_ms > 0
                                ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                               gpr_time_from_millis(timeout_ms, GPR_TIMESPAN))
                                : gpr_inf_future(GPR_CLOCK_MONOTONIC);
    k->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, k->cq,
                                       grpc_slice_from_static_string(method), NULL, deadline, NULL);
    if (!k->call) return mla_err(MLA_EIO, "client: cannot create a call to %s", method);
    return MLA_OK;
}

static mla_status call_start(call *k, mla_client *c, const char *method)
{
    return call_start_ms(k, c, method, c->timeout_ms);
}

static void call_end(call *k)
{
    if (k->call) grpc_call_unref(k->call);
    if (k->cq) {
        grpc_completion_queue_shutdown(k->cq);
        /* A pluck queue reports GRPC_QUEUE_SHUTDOWN once every op is done. */
        while (grpc_completion_queue_pluck(k->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
                   .type != GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(k->cq);
    }
    grpc_metadata_array_destroy(&k->md_initial);
    grpc_metadata_array_destroy(&k->md_trailing);
    grpc_slice_unref(k->details);
}

/* Run one batch and wait for it. The call's deadline bounds the wait: gRPC
 * completes every op of a call whose deadline passed. */
static mla_status batch(call *k, const grpc_op *ops, size_t n, void *tag, bool *success)
{
    grpc_call_error e = grpc_call_start_batch(k->call, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK)
        return mla_err(MLA_EIO, "client: gRPC refused the call batch (%s)",
                       grpc_call_error_to_string(e));
    grpc_event ev =
        grpc_completion_queue_pluck(k->cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type != GRPC_OP_COMPLETE) return mla_err(MLA_EIO, "client: call did not complete");
    *success = ev.success != 0;
    return MLA_OK;
}

static grpc_byte_buffer *request_buffer(mla_slice req)
{
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)req.ptr, req.len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1); /* takes its own ref */
    grpc_slice_unref(s);
    return bb;
}

/* Hand the bytes of a received message to `take` without copying them. */
typedef mla_status (*take_fn)(void *ctx, mla_slice msg);

static mla_status read_message(grpc_byte_buffer *bb, take_fn take, void *ctx)
{
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return mla_err(MLA_ECORRUPT, "server: response message cannot be decompressed");
    grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    mla_status rc = take(ctx, mla_slice_make(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all)));
    grpc_slice_unref(all);
    return rc;
}

static mla_status unary(mla_client *c, const char *method, mla_slice req, take_fn take, void *ctx)
{
    call k;
    grpc_byte_buffer *send = NULL, *recv = NULL;
    bool ok = false;
    mla_status rc = call_start(&k, c, method);
    if (rc != MLA_OK) goto out;
    if (!(send = request_buffer(req))) {
        rc = mla_err(MLA_ENOMEM, "client: out of memory for the request");
        goto out;
    }
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA; /* required with the rest (STYLE) */
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &k.md_initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &k.md_trailing;
    ops[5].data.recv_status_on_client.status = &k.status;
    ops[5].data.recv_status_on_client.status_details = &k.details;
    if ((rc = batch(&k, ops, 6, &k, &ok)) != MLA_OK) goto out;
    if ((rc = status_map(k.status, k.details)) != MLA_OK) goto out;
    if (!recv) {
        rc = mla_err(MLA_ECORRUPT, "server: %s answered OK without a message", method);
        goto out;
    }
    rc = read_message(recv, take, ctx);
out:
    if (send) grpc_byte_buffer_destroy(send);
    if (recv) grpc_byte_buffer_destroy(recv);
    call_end(&k);
    return rc;
}

typedef struct decode_ctx {
    const ProtobufCMessageDescriptor *d;
    const char *root;
    ProtobufCMessage *msg;
    mla_client__msg_fn fn; /* streams only */
    void *fn_ctx;
} decode_ctx;

static mla_status take_decode(void *ctx, mla_slice bytes)
{
    decode_ctx *x = ctx;
    if (mla_codec_rpc_decode(&x->msg, x->d, bytes, x->root) != MLA_OK) {
        if (mla_error_last()->code == MLA_ENOMEM) return MLA_ENOMEM;
        return mla_client__corrupt("server: malformed response");
    }
    return MLA_OK;
}

static mla_status take_append(void *ctx, mla_slice bytes)
{
    return mla_buf_append_slice(ctx, bytes);
}

mla_status mla_client__call(mla_client *c, const char *method, mla_slice req,
                            const ProtobufCMessageDescriptor *d, const char *root,
                            ProtobufCMessage **resp_out)
{
    decode_ctx x = {.d = d, .root = root};
    *resp_out = NULL;
    MLA_TRY(unary(c, method, req, take_decode, &x));
    *resp_out = x.msg;
    return MLA_OK;
}

mla_status mla_client__call_raw(mla_client *c, const char *method, mla_slice req, mla_buf *resp)
{
    return unary(c, method, req, take_append, resp);
}

static mla_status take_stream(void *ctx, mla_slice bytes)
{
    decode_ctx *x = ctx;
    MLA_TRY(take_decode(x, bytes));
    mla_status rc = x->fn(x->fn_ctx, x->msg);
    mla_codec_rpc_free(x->msg);
    x->msg = NULL;
    return rc;
}

/* A server stream with its own deadline (timeout_ms, 0 = none);
 * *deadline_hit tells whether the call ended on its deadline. */
static mla_status stream_run(mla_client *c, const char *method, mla_slice req,
                             const ProtobufCMessageDescriptor *d, const char *root,
                             mla_client__msg_fn fn, void *ctx, int timeout_ms, bool *deadline_hit)
{
    call k;
    grpc_byte_buffer *send = NULL, *recv = NULL;
    decode_ctx x = {.d = d, .root = root, .fn = fn, .fn_ctx = ctx};
    bool ok = false, status_pending = false;
    *deadline_hit = false;
    mla_status rc = call_start_ms(&k, c, method, timeout_ms), stream_rc = MLA_OK;
    if (rc != MLA_OK) goto out;
    if (!(send = request_buffer(req))) {
        rc = mla_err(MLA_ENOMEM, "client: out of memory for the request");
        goto out;
    }
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &k.md_initial;
    if ((rc = batch(&k, ops, 4, &ops[0], &ok)) != MLA_OK) goto out;
    status_pending = true;
    /* Read until the server closes the stream (RECV_MESSAGE yields NULL or
     * fails), a message does not decode, or the caller says stop. Each read
     * waits at most until the call's deadline. */
    while (ok && stream_rc == MLA_OK) {
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &recv;
        if ((rc = batch(&k, &op, 1, &op, &ok)) != MLA_OK) goto out;
        if (!ok || !recv) break;
        stream_rc = read_message(recv, take_stream, &x);
        grpc_byte_buffer_destroy(recv);
        recv = NULL;
    }
    if (stream_rc != MLA_OK) grpc_call_cancel(k.call, NULL);
    grpc_op st;
    memset(&st, 0, sizeof st);
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &k.md_trailing;
    st.data.recv_status_on_client.status = &k.status;
    st.data.recv_status_on_client.status_details = &k.details;
    if ((rc = batch(&k, &st, 1, &st, &ok)) != MLA_OK) goto out;
    status_pending = false;
    /* Our own reason to stop wins over the CANCELLED it caused. */
    *deadline_hit = stream_rc == MLA_OK && k.status == GRPC_STATUS_DEADLINE_EXCEEDED;
    rc = stream_rc != MLA_OK ? stream_rc : status_map(k.status, k.details);
out:
    if (status_pending) grpc_call_cancel(k.call, NULL);
    if (send) grpc_byte_buffer_destroy(send);
    if (recv) grpc_byte_buffer_destroy(recv);
    call_end(&k);
    return rc;
}

mla_status mla_client__stream(mla_client *c, const char *method, mla_slice req,
                              const ProtobufCMessageDescriptor *d, const char *root,
                              mla_client__msg_fn fn, void *ctx)
{
    bool deadline_hit;
    return stream_run(c, method, req, d, root, fn, ctx, c->timeout_ms, &deadline_hit);
}

mla_status mla_client__stream_for(mla_client *c, const char *method, mla_slice req,
                                  const ProtobufCMessageDescriptor *d, const char *root,
                                  mla_client__msg_fn fn, void *ctx, int max_ms, bool *timed_out)
{
    return stream_run(c, method, req, d, root, fn, ctx, max_ms, timed_out);
}

/* ---- bidirectional streams ---------------------------------------------- */

/* One call, no deadline. The status op is started with the call and
 * collected by finish; sends and receives are separate batches with their
 * own tags, so one thread may send while another receives (a pluck queue
 * allows several pluckers waiting on different tags). */
struct mla_client__bidi {
    call k;
    int tag_send, tag_recv, tag_status, tag_start;
    bool got_initial; /* RECV_INITIAL_METADATA went with the first receive */
    bool half_closed;
};

mla_status mla_client__bidi_open(mla_client__bidi **out, mla_client *c, const char *method)
{
    *out = NULL;
    mla_client__bidi *b = mla_calloc(1, sizeof *b);
    if (!b) return mla_err(MLA_ENOMEM, "client: out of memory for a stream");
    mla_status rc = call_start_ms(&b->k, c, method, 0);
    if (rc != MLA_OK) goto fail;
    grpc_op ops[1];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &b->k.md_trailing;
    ops[0].data.recv_status_on_client.status = &b->k.status;
    ops[0].data.recv_status_on_client.status_details = &b->k.details;
    grpc_call_error e = grpc_call_start_batch(b->k.call, ops, 1, &b->tag_status, NULL);
    if (e != GRPC_CALL_OK) {
        rc = mla_err(MLA_EIO, "client: gRPC refused the status batch (%s)",
                     grpc_call_error_to_string(e));
        grpc_call_cancel(b->k.call, NULL);
        goto fail;
    }
    /* Initial metadata goes out at once: the server may answer nothing
     * before our first message. */
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    bool ok = false;
    if ((rc = batch(&b->k, ops, 1, &b->tag_start, &ok)) != MLA_OK) {
        grpc_call_cancel(b->k.call, NULL);
        goto fail;
    }
    *out = b;
    return MLA_OK;
fail:
    call_end(&b->k);
    mla_free(b);
    return rc;
}

mla_status mla_client__bidi_send(mla_client__bidi *b, mla_slice msg)
{
    grpc_byte_buffer *send = request_buffer(msg);
    if (!send) return mla_err(MLA_ENOMEM, "client: out of memory for a stream message");
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = send;
    bool ok = false;
    mla_status rc = batch(&b->k, &op, 1, &b->tag_send, &ok);
    grpc_byte_buffer_destroy(send);
    if (rc == MLA_OK && !ok) rc = mla_err(MLA_EIO, "client: the stream is closed");
    return rc;
}

mla_status mla_client__bidi_close_send(mla_client__bidi *b)
{
    if (b->half_closed) return MLA_OK;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    bool ok = false;
    MLA_TRY(batch(&b->k, &op, 1, &b->tag_send, &ok));
    b->half_closed = true;
    if (!ok) return mla_err(MLA_EIO, "client: the stream is closed");
    return MLA_OK;
}

static mla_status take_copy(void *ctx, mla_slice bytes)
{
    mla_buf *out = ctx;
    mla_buf_clear(out);
    return mla_buf_append_slice(out, bytes);
}

mla_status mla_client__bidi_recv(mla_client__bidi *b, mla_buf *msg, bool *end)
{
    grpc_byte_buffer *recv = NULL;
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!b->got_initial) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &b->k.md_initial;
        b->got_initial = true;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &recv;
    bool ok = false;
    *end = false;
    MLA_TRY(batch(&b->k, ops, n, &b->tag_recv, &ok));
    if (!ok || !recv) {
        if (recv) grpc_byte_buffer_destroy(recv);
        *end = true;
        return MLA_OK;
    }
    mla_status rc = read_message(recv, take_copy, msg);
    grpc_byte_buffer_destroy(recv);
    return rc;
}

void mla_client__bidi_cancel(mla_client__bidi *b) { grpc_call_cancel(b->k.call, NULL); }

mla_status mla_client__bidi_finish(mla_client__bidi *b)
{
    if (!b) return MLA_OK;
    /* The status op completes once the call is over (the server closed it,
     * or it was cancelled). */
    grpc_event ev = grpc_completion_queue_pluck(b->k.cq, &b->tag_status,
                                                gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    mla_status rc = ev.type == GRPC_OP_COMPLETE ? status_map(b->k.status, b->k.details)
                                                : mla_err(MLA_EIO, "client: stream did not end");
    call_end(&b->k);
    mla_free(b);
    return rc;
}
