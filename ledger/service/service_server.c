/* service_server: the gRPC core of the daemon. One completion-queue thread
 * sees every event (a call arrived, a message came in, a send finished, a
 * call closed); a pool of worker threads runs the handlers, so the
 * signature checks of many appends run in parallel and meet in one group
 * commit. Each call's callbacks run one at a time (its "context"), it has at
 * most one receive and one send in flight (further messages wait in a
 * queue), and its state is freed only after every op started on it has
 * completed. A timer thread wakes calls at a deadline; the notifier wakes
 * calls parked until the log grows. Shutdown: end long-lived streams,
 * stop accepting, let in-flight calls finish (cancel them only after the
 * grace period), drain the queue, destroy. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "service/service_int.h"

/* Calls requested from gRPC ahead of time per method, so a burst of appends
 * does not wait for the completion-queue thread to ask for each one. */
#define REQUESTS_PER_METHOD 8
#define REQUESTS_UNKNOWN 2
/* On shutdown, how long new calls are answered UNAVAILABLE before the
 * server stops accepting them. */
#define REFUSE_MS 300
/* The completion-queue thread wakes at least this often while stopping. */
#define CQ_TICK_MS 50
#define CQ_IDLE_TICK_MS 1000
/* Without a notifier, how often the timer thread looks at the log's size. */
#define POLL_MS 100
#define TIMER_IDLE_MS 1000
#define PEM_MAX (1u << 20)
/* A client stream stops receiving while this many messages wait to be sent
 * (a client that does not read its acknowledgements is not read either),
 * and resumes once the queue is down to SENDQ_LOW. */
#define SENDQ_MAX 64
#define SENDQ_LOW 16

/* Internal events, beside the MLA_SERVICE__EV_* a method sees. */
#define EV_START (1u << 8) /* a new call: read the request, run the handler */
#define EV_MSG (1u << 9) /* a client message arrived */
#define EV_HALF (1u << 10) /* the client half-closed */
#define EV_SENT (1u << 11) /* a non-final send completed */
#define EV_USER (MLA_SERVICE__EV_WAKE | MLA_SERVICE__EV_TIMER | MLA_SERVICE__EV_STOP)

typedef enum tag_kind { TAG_NEW, TAG_CLOSE, TAG_SEND, TAG_RECV, TAG_SHUTDOWN } tag_kind;

typedef struct tag {
    tag_kind kind;
    mla_service_call *call;
} tag;

/* One queued send: a message, the final status, or both in one batch. */
typedef struct send_item {
    struct send_item *next;
    mla_buf msg;
    bool has_msg, final;
    grpc_status_code code;
    char *details;
} send_item;

struct mla_service_call {
    mla_service *svc;
    const mla_service__method *method; /* NULL: a method we do not serve */
    size_t method_index;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* filled for unregistered methods only */
    grpc_byte_buffer *payload; /* the request (methods registered with a payload) */
    tag t_new, t_close, t_send, t_recv;
    int refs; /* atomic: the close op, each op in flight, being scheduled, timer, watch */
    int close_cancelled; /* written by gRPC when the close op completes */
    int cancelled; /* atomic copy of close_cancelled */
    int closed; /* atomic: the close op completed */
    int send_ok, recv_ok; /* written on the cq thread before EV_SENT / EV_MSG */

    /* call context: one callback at a time */
    bool md_sent;
    bool final_queued; /* the final status is queued or sent; later sends are dropped */
    bool final_sent; /* the batch carrying the status was started */
    bool send_in_flight;
    bool recv_paused;
    send_item *sq_head, *sq_tail;
    size_t sq_len;
    grpc_byte_buffer *send_bb;
    grpc_slice status_details;
    bool has_details;
    grpc_byte_buffer *recv_bb;
    mla_buf submitter;
    void *state;
    void (*state_free)(void *);

    /* guarded by svc->mu */
    unsigned events;
    bool scheduled; /* in the work queue or running on a worker */
    mla_service_call *next_work;
    bool in_streams;
    mla_service_call *st_prev, *st_next; /* long-lived calls (EV_STOP on shutdown) */
    bool tm_linked;
    int64_t tm_deadline_ns;
    mla_service_call *tm_prev, *tm_next;

    /* guarded by the notifier's mu */
    bool watching, parked;
    mla_service_call *w_prev, *w_next;
    uint64_t watch_next; /* atomic */
    uint64_t watch_allow; /* atomic: the lag (tree size - next) it may have */
    int lag_flagged; /* atomic: woken for lagging; cleared when next moves */
};

struct mla_service_notifier {
    pthread_mutex_t mu;
    mla_service_call *watches;
};

struct mla_service {
    mla_log *log;
    mla_service_options opts;
    mla_service_notifier *notifier; /* opts.notifier, or own_notifier */
    mla_service_notifier *own_notifier;
    grpc_server *server;
    grpc_completion_queue *cq;
    void **registered; /* one per mla_service__methods entry */
    int port;
    pthread_t cq_thread;
    pthread_t *workers;
    size_t n_workers;
    pthread_t timer_thread;
    bool timer_started;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t work_cv;
    pthread_cond_t timer_cv; /* on CLOCK_MONOTONIC */
    mla_service_call *work_head, *work_tail;
    mla_service_call *streams; /* long-lived calls */
    mla_service_call *timers; /* armed timers */
    bool workers_stop;
    bool timer_stop;
    bool refusing; /* shutting down: new calls get UNAVAILABLE, in-flight ones finish */
    bool nudged; /* cancel_all issued with none of our calls live */
    bool stopping;
    int64_t grace_deadline_ns;
    bool cancelled_all;
    bool shutdown_notified;
    bool cq_shutdown;
    size_t live; /* call structs not yet freed (requested or in service) */
    tag t_shutdown;
};

/* ---- method table ------------------------------------------------------- */

const mla_service__method mla_service__methods[] = {
    {.path = "/mlaudit.v1.Ledger/Append", .handle = mla_service__append},
    {.path = "/mlaudit.v1.Ledger/AppendBatch", .handle = mla_service__append_batch},
    {.path = "/mlaudit.v1.Ledger/GetEntries",
     .handle = mla_service__get_entries,
     .resume = mla_service__get_entries_resume},
    {.path = "/mlaudit.v1.Ledger/GetCheckpoint", .handle = mla_service__get_checkpoint},
    {.path = "/mlaudit.v1.Ledger/GetInclusionProof", .handle = mla_service__get_inclusion_proof},
    {.path = "/mlaudit.v1.Ledger/GetConsistencyProof",
     .handle = mla_service__get_consistency_proof},
    {.path = "/grpc.health.v1.Health/Check", .handle = mla_service__health_check},
    {.path = "/mlaudit.v1.Ledger/Query", .handle = mla_service__query},
    {.path = "/mlaudit.v1.Ledger/GetProvenEntries", .handle = mla_service__get_proven_entries},
    {.path = "/mlaudit.v1.Ledger/GetLineage", .handle = mla_service__get_lineage},
    {.path = "/mlaudit.v1.Ledger/ResolveDecision", .handle = mla_service__resolve_decision},
    {.path = "/mlaudit.v1.Ledger/RecordDecisions",
     .message = mla_service__decisions_message,
     .half_close = mla_service__decisions_half_close,
     .notify = mla_service__decisions_notify,
     .long_lived = true},
    {.path = "/mlaudit.v1.Ledger/Subscribe",
     .handle = mla_service__subscribe,
     .resume = mla_service__subscribe_resume,
     .notify = mla_service__subscribe_notify,
     .long_lived = true},
};
const size_t mla_service__n_methods = sizeof mla_service__methods / sizeof mla_service__methods[0];

static void enqueue_event(mla_service_call *c, unsigned ev);

/* ---- accessors for handlers --------------------------------------------- */

mla_log *mla_service__log(const mla_service_call *c) { return c->svc->log; }
const mla_service_options *mla_service__options(const mla_service_call *c) { return &c->svc->opts; }
mla_slice mla_service__submitter(const mla_service_call *c) { return mla_buf_slice(&c->submitter); }
void mla_service__set_state(mla_service_call *c, void *state, void (*free_fn)(void *))
{
    c->state = state;
    c->state_free = free_fn;
}
void *mla_service__state(const mla_service_call *c) { return c->state; }
bool mla_service__cancelled(const mla_service_call *c)
{
    return __atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE) != 0;
}
static bool call_closed(const mla_service_call *c)
{
    return __atomic_load_n(&c->closed, __ATOMIC_ACQUIRE) != 0;
}
bool mla_service__finished(const mla_service_call *c) { return c->final_queued || call_closed(c); }
size_t mla_service__sending(const mla_service_call *c)
{
    return c->sq_len + (c->send_in_flight ? 1 : 0);
}

/* ---- call lifetime ------------------------------------------------------- */

static void item_free(send_item *it)
{
    if (!it) return;
    mla_buf_dispose(&it->msg);
    mla_free(it->details);
    mla_free(it);
}

static void drop_queue(mla_service_call *c)
{
    while (c->sq_head) {
        send_item *it = c->sq_head;
        c->sq_head = it->next;
        item_free(it);
    }
    c->sq_tail = NULL;
    c->sq_len = 0;
}

static void call_free(mla_service_call *c)
{
    mla_service *svc = c->svc;
    pthread_mutex_lock(&svc->mu);
    if (c->in_streams) {
        if (c->st_prev)
            c->st_prev->st_next = c->st_next;
        else
            svc->streams = c->st_next;
        if (c->st_next) c->st_next->st_prev = c->st_prev;
        c->in_streams = false;
    }
    MLA_ASSERT(!c->tm_linked && !c->scheduled);
    pthread_mutex_unlock(&svc->mu);
    MLA_ASSERT(!c->watching);
    if (c->call) grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->md);
    grpc_call_details_destroy(&c->details);
    if (c->payload) grpc_byte_buffer_destroy(c->payload);
    if (c->recv_bb) grpc_byte_buffer_destroy(c->recv_bb);
    drop_queue(c);
    if (c->state_free) c->state_free(c->state);
    mla_buf_dispose(&c->submitter);
    mla_free(c);
    pthread_mutex_lock(&svc->mu);
    svc->live--;
    pthread_mutex_unlock(&svc->mu);
}

static void call_ref(mla_service_call *c) { __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL); }

static void call_release(mla_service_call *c)
{
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) call_free(c);
}

/* A reference to a call found in a list, unless it is already being freed
 * (its count reached zero and call_free waits for the lock we hold). */
static bool call_ref_if_live(mla_service_call *c)
{
    int n = __atomic_load_n(&c->refs, __ATOMIC_ACQUIRE);
    while (n > 0)
        if (__atomic_compare_exchange_n(&c->refs, &n, n + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
    return false;
}

/* Ask gRPC for the next call of method i (SIZE_MAX: any unregistered one). */
static void request_call(mla_service *svc, size_t i)
{
    mla_service_call *c = mla_calloc(1, sizeof *c);
    if (!c) {
        mla_service_log_event("error", "request", "{s:s}", "message",
                              "out of memory: one fewer pending call slot");
        return;
    }
    c->svc = svc;
    c->method_index = i;
    c->method = i == SIZE_MAX ? NULL : &mla_service__methods[i];
    c->t_new = (tag){TAG_NEW, c};
    c->t_close = (tag){TAG_CLOSE, c};
    c->t_send = (tag){TAG_SEND, c};
    c->t_recv = (tag){TAG_RECV, c};
    grpc_metadata_array_init(&c->md);
    grpc_call_details_init(&c->details);
    mla_buf_init(&c->submitter, MLA_LOG_SUBMITTER_MAX);
    pthread_mutex_lock(&svc->mu);
    svc->live++;
    pthread_mutex_unlock(&svc->mu);
    grpc_call_error e;
    if (c->method)
        /* A client stream is registered without a payload: its messages are
         * received one by one (GRPC_OP_RECV_MESSAGE). */
        e = grpc_server_request_registered_call(
            svc->server, svc->registered[i], &c->call, &c->deadline, &c->md,
            c->method->message ? NULL : &c->payload, svc->cq, svc->cq, &c->t_new);
    else
        e = grpc_server_request_call(svc->server, &c->call, &c->details, &c->md, svc->cq, svc->cq,
                                     &c->t_new);
    if (e != GRPC_CALL_OK) call_free(c);
}

/* ---- sending ------------------------------------------------------------- */

static void method_path(char *out, size_t n, const mla_service_call *c)
{
    if (c->method) {
        snprintf(out, n, "%s", c->method->path);
        return;
    }
    const grpc_slice m = c->details.method;
    snprintf(out, n, "%.*s", (int)GRPC_SLICE_LENGTH(m), (const char *)GRPC_SLICE_START_PTR(m));
}

static void log_refusal(const mla_service_call *c, grpc_status_code code, const char *msg)
{
    char path[256];
    method_path(path, sizeof path, c);
    mla_service_log_event(code == GRPC_STATUS_INTERNAL ? "error" : "warn", "refused",
                          "{s:s, s:s, s:s, s:s%}", "method", path, "code",
                          mla_service__code_name(code), "message", msg, "peer",
                          c->submitter.len ? (const char *)c->submitter.ptr : "", c->submitter.len);
}

/* One batch: initial metadata if not yet sent, then a message and/or the
 * status. Only one send batch is in flight per call at any time. */
static void start_batch(mla_service_call *c, const mla_slice *msg, bool final,
                        grpc_status_code code, const char *details)
{
    grpc_op ops[3];
    size_t n = 0;
    MLA_ASSERT(!c->final_sent && !c->send_in_flight);
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].data.send_initial_metadata.count = 0;
        n++;
        c->md_sent = true;
    }
    if (msg) {
        grpc_slice s =
            grpc_slice_from_copied_buffer(msg->len ? (const char *)msg->ptr : "", msg->len);
        c->send_bb = grpc_raw_byte_buffer_create(&s, 1); /* takes its own reference */
        grpc_slice_unref(s);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->send_bb;
        n++;
    }
    if (final) {
        c->status_details = grpc_slice_from_copied_string(details ? details : "");
        c->has_details = true;
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = code;
        ops[n].data.send_status_from_server.status_details = &c->status_details;
        ops[n].data.send_status_from_server.trailing_metadata_count = 0;
        n++;
        c->final_sent = true;
    }
    c->send_in_flight = true;
    call_ref(c);
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->t_send, NULL);
    if (e != GRPC_CALL_OK) {
        mla_service_log_event("error", "send", "{s:s, s:i}", "message", "call batch refused",
                              "grpc_call_error", (int)e);
        if (c->send_bb) grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
        if (c->has_details) grpc_slice_unref(c->status_details);
        c->has_details = false;
        c->send_in_flight = false;
        c->final_queued = c->final_sent = true; /* nothing more can go out */
        drop_queue(c);
        call_release(c);
    }
}

static void start_next(mla_service_call *c)
{
    send_item *it = c->sq_head;
    c->sq_head = it->next;
    if (!c->sq_head) c->sq_tail = NULL;
    c->sq_len--;
    mla_slice m = mla_buf_slice(&it->msg);
    start_batch(c, it->has_msg ? &m : NULL, it->final, it->code, it->details);
    item_free(it);
}

/* Send now, or queue behind the send in flight. */
static void queue_send(mla_service_call *c, const mla_slice *msg, bool final, grpc_status_code code,
                       const char *details)
{
    if (c->final_queued || call_closed(c)) return; /* the call is answered: nothing more goes */
    if (final) c->final_queued = true;
    if (!c->send_in_flight && !c->sq_head) {
        start_batch(c, msg, final, code, details);
        return;
    }
    /* A status without a message rides with the last queued message. */
    if (!msg && final && c->sq_tail && !c->sq_tail->final) {
        char *d = mla_strndup(details ? details : "", strlen(details ? details : ""));
        if (d) {
            c->sq_tail->final = true;
            c->sq_tail->code = code;
            c->sq_tail->details = d;
            return;
        }
    }
    send_item *it = mla_calloc(1, sizeof *it);
    mla_status rc = it ? MLA_OK : MLA_ENOMEM;
    if (it) {
        mla_buf_init(&it->msg, MLA_LIMIT_RPC_BYTES);
        it->has_msg = msg != NULL;
        it->final = final;
        it->code = code;
        if (msg) rc = mla_buf_set(&it->msg, *msg);
        if (rc == MLA_OK && final &&
            !(it->details = mla_strndup(details ? details : "", strlen(details ? details : ""))))
            rc = MLA_ENOMEM;
    }
    if (rc != MLA_OK) {
        item_free(it);
        /* The stream cannot go on in order: end it where it stands. */
        c->final_queued = true;
        drop_queue(c);
        log_refusal(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "server: out of memory queueing a message");
        grpc_call_cancel_with_status(c->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                     "server: out of memory queueing a message", NULL);
        return;
    }
    if (c->sq_tail)
        c->sq_tail->next = it;
    else
        c->sq_head = it;
    c->sq_tail = it;
    c->sq_len++;
}

void mla_service__fail_code(mla_service_call *c, grpc_status_code code, const char *msg)
{
    if (mla_service__finished(c)) return;
    log_refusal(c, code, msg);
    queue_send(c, NULL, true, code, msg);
}

void mla_service__fail(mla_service_call *c, mla_status rc)
{
    char msg[MLA_ERROR_MSG_MAX];
    const mla_error *e = mla_error_last();
    snprintf(msg, sizeof msg, "%s", e->code == rc && e->msg[0] ? e->msg : mla_status_name(rc));
    mla_service__fail_code(c, mla_service__status_code(rc), msg);
}

void mla_service__reply_raw(mla_service_call *c, mla_slice bytes)
{
    queue_send(c, &bytes, true, GRPC_STATUS_OK, "");
}

static mla_status encode(mla_buf *out, const ProtobufCMessage *m)
{
    mla_buf_init(out, MLA_LIMIT_RPC_BYTES);
    return mla_codec_rpc_encode(out, m);
}

void mla_service__reply(mla_service_call *c, const ProtobufCMessage *m)
{
    mla_buf b;
    mla_status rc = encode(&b, m);
    if (rc == MLA_OK)
        mla_service__reply_raw(c, mla_buf_slice(&b));
    else
        mla_service__fail(c, rc);
    mla_buf_dispose(&b);
}

void mla_service__stream_send(mla_service_call *c, const ProtobufCMessage *m, bool last)
{
    mla_buf b;
    mla_status rc = encode(&b, m);
    if (rc == MLA_OK) {
        mla_slice s = mla_buf_slice(&b);
        queue_send(c, &s, last, GRPC_STATUS_OK, "");
    } else {
        mla_service__fail(c, rc);
    }
    mla_buf_dispose(&b);
}

void mla_service__stream_end(mla_service_call *c) { queue_send(c, NULL, true, GRPC_STATUS_OK, ""); }

void mla_service__cancel(mla_service_call *c, grpc_status_code code, const char *msg)
{
    if (c->final_sent || call_closed(c)) return;
    log_refusal(c, code, msg);
    c->final_queued = true;
    drop_queue(c);
    /* Thread safe, and it works with a message stuck in flow control: the
     * status goes out in the trailers and what was not sent is dropped. */
    grpc_call_cancel_with_status(c->call, code, msg, NULL);
}

/* ---- receiving (client streams) --------------------------------------------- */

static void start_recv(mla_service_call *c)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_bb;
    c->recv_paused = false;
    call_ref(c);
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_recv, NULL) != GRPC_CALL_OK) {
        mla_service_log_event("error", "receive", "{s:s}", "message", "call batch refused");
        call_release(c);
    }
}

/* ---- workers -------------------------------------------------------------- */

/* Caller holds svc->mu and a reference to c (or knows it is live). */
static void enqueue_locked(mla_service *svc, mla_service_call *c, unsigned ev)
{
    c->events |= ev;
    if (c->scheduled) return; /* the run in progress (or queued) picks it up */
    c->scheduled = true;
    call_ref(c);
    c->next_work = NULL;
    if (svc->work_tail)
        svc->work_tail->next_work = c;
    else
        svc->work_head = c;
    svc->work_tail = c;
    pthread_cond_signal(&svc->work_cv);
}

static void enqueue_event(mla_service_call *c, unsigned ev)
{
    mla_service *svc = c->svc;
    pthread_mutex_lock(&svc->mu);
    enqueue_locked(svc, c, ev);
    pthread_mutex_unlock(&svc->mu);
}

void mla_service__wake(mla_service_call *c) { enqueue_event(c, MLA_SERVICE__EV_WAKE); }

static mla_status read_payload(mla_buf *out, grpc_byte_buffer *bb, size_t max)
{
    grpc_byte_buffer_reader r;
    grpc_slice s;
    mla_buf_init(out, max);
    size_t len = grpc_byte_buffer_length(bb);
    if (len > max)
        return mla_err(MLA_ELIMIT,
                       "request: %zu bytes exceeds the limit of %zu ([limits] request_bytes)", len,
                       max);
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return mla_err(MLA_EINVAL, "request: message cannot be decompressed");
    mla_status rc = MLA_OK;
    while (rc == MLA_OK && grpc_byte_buffer_reader_next(&r, &s)) {
        rc = mla_buf_append(out, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&r);
    return rc;
}

static void on_start(mla_service_call *c)
{
    if (c->method->message) { /* a client stream: its messages come one by one */
        start_recv(c);
        return;
    }
    if (!c->payload) {
        mla_service__fail(c, mla_err(MLA_EINVAL, "request: no request message received"));
        return;
    }
    mla_buf req;
    mla_status rc = read_payload(&req, c->payload, c->svc->opts.request_bytes);
    grpc_byte_buffer_destroy(c->payload);
    c->payload = NULL;
    if (rc == MLA_OK)
        c->method->handle(c, mla_buf_slice(&req));
    else
        mla_service__fail(c, rc);
    mla_buf_dispose(&req);
}

/* The next receive, unless the call is over or the client leaves its
 * answers unread (then on_sent resumes it). */
static void receive_next(mla_service_call *c)
{
    if (mla_service__finished(c)) return;
    if (c->sq_len >= SENDQ_MAX)
        c->recv_paused = true;
    else
        start_recv(c);
}

static void on_message(mla_service_call *c)
{
    grpc_byte_buffer *bb = c->recv_bb;
    c->recv_bb = NULL;
    if (mla_service__finished(c)) {
        if (bb) grpc_byte_buffer_destroy(bb);
        return;
    }
    /* One receive at a time, started before this message is handled: the
     * next one arrives meanwhile and runs in this same worker turn. */
    receive_next(c);
    mla_buf req;
    mla_status rc = read_payload(&req, bb, c->svc->opts.request_bytes);
    grpc_byte_buffer_destroy(bb);
    if (rc == MLA_OK)
        c->method->message(c, mla_buf_slice(&req));
    else
        mla_service__fail(c, rc);
    mla_buf_dispose(&req);
}

static void on_sent(mla_service_call *c)
{
    c->send_in_flight = false;
    if (!__atomic_load_n(&c->send_ok, __ATOMIC_ACQUIRE)) { /* the call is gone */
        c->final_queued = true;
        drop_queue(c);
        return;
    }
    if (c->sq_head) {
        start_next(c);
    } else if (!c->final_queued && c->method && c->method->resume && !mla_service__cancelled(c)) {
        c->method->resume(c);
    }
    if (c->recv_paused && c->sq_len <= SENDQ_LOW && !mla_service__finished(c)) start_recv(c);
}

static void watch_end(mla_service_call *c);
static void timer_disarm(mla_service_call *c);

static void dispatch(mla_service_call *c, unsigned ev)
{
    const mla_service__method *m = c->method;
    if (ev & EV_SENT) on_sent(c);
    if (ev & EV_START) on_start(c);
    if (ev & EV_MSG) on_message(c);
    if ((ev & EV_HALF) && !mla_service__finished(c) && m->half_close) m->half_close(c);
    if ((ev & EV_USER) && m->notify && !mla_service__finished(c)) m->notify(c, ev & EV_USER);
    if (ev & MLA_SERVICE__EV_CLOSED) {
        timer_disarm(c);
        watch_end(c);
        drop_queue(c);
        if (m->notify) m->notify(c, MLA_SERVICE__EV_CLOSED);
    }
}

/* Run every event of c, one callback at a time, until none is left. */
static void run_call(mla_service *svc, mla_service_call *c)
{
    for (;;) {
        pthread_mutex_lock(&svc->mu);
        unsigned ev = c->events;
        c->events = 0;
        if (!ev) c->scheduled = false;
        pthread_mutex_unlock(&svc->mu);
        if (!ev) break;
        mla_error_clear();
        dispatch(c, ev);
    }
    call_release(c);
}

static void *worker_main(void *arg)
{
    mla_service *svc = arg;
    for (;;) {
        pthread_mutex_lock(&svc->mu);
        while (!svc->work_head && !svc->workers_stop) pthread_cond_wait(&svc->work_cv, &svc->mu);
        mla_service_call *c = svc->work_head;
        if (c) {
            svc->work_head = c->next_work;
            if (!svc->work_head) svc->work_tail = NULL;
        }
        pthread_mutex_unlock(&svc->mu);
        if (!c) return NULL;
        run_call(svc, c);
    }
}

/* ---- timers ------------------------------------------------------------------ */

void mla_service__timer_arm(mla_service_call *c, int64_t deadline_ns)
{
    mla_service *svc = c->svc;
    pthread_mutex_lock(&svc->mu);
    if (!c->tm_linked) {
        call_ref(c);
        c->tm_linked = true;
        c->tm_prev = NULL;
        c->tm_next = svc->timers;
        if (svc->timers) svc->timers->tm_prev = c;
        svc->timers = c;
    }
    c->tm_deadline_ns = deadline_ns;
    pthread_cond_signal(&svc->timer_cv);
    pthread_mutex_unlock(&svc->mu);
}

/* Caller holds svc->mu; the caller then owes the timer's reference. */
static void timer_unlink(mla_service *svc, mla_service_call *c)
{
    if (c->tm_prev)
        c->tm_prev->tm_next = c->tm_next;
    else
        svc->timers = c->tm_next;
    if (c->tm_next) c->tm_next->tm_prev = c->tm_prev;
    c->tm_prev = c->tm_next = NULL;
    c->tm_linked = false;
}

static void timer_disarm(mla_service_call *c)
{
    mla_service *svc = c->svc;
    pthread_mutex_lock(&svc->mu);
    bool linked = c->tm_linked;
    if (linked) timer_unlink(svc, c);
    pthread_mutex_unlock(&svc->mu);
    if (linked) call_release(c);
}

void mla_service__timer_disarm(mla_service_call *c) { timer_disarm(c); }

static struct timespec mono_abs(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    return ts;
}

static void *timer_main(void *arg)
{
    mla_service *svc = arg;
    int64_t next_poll = mla_time_mono_ns();
    uint64_t polled_size = mla_log_size(svc->log);
    pthread_mutex_lock(&svc->mu);
    while (!svc->timer_stop) {
        int64_t now = mla_time_mono_ns();
        int64_t wake = now + (int64_t)TIMER_IDLE_MS * 1000000;
        for (mla_service_call *c = svc->timers, *next; c; c = next) {
            next = c->tm_next;
            if (c->tm_deadline_ns <= now) {
                timer_unlink(svc, c);
                enqueue_locked(svc, c, MLA_SERVICE__EV_TIMER);
                /* The timer's reference goes: the queued run holds another. */
                int left = __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
                MLA_ASSERT(left > 0);
            } else if (c->tm_deadline_ns < wake) {
                wake = c->tm_deadline_ns;
            }
        }
        if (svc->own_notifier) {
            if (now >= next_poll) {
                /* No log hook: look at the size ourselves (outside the lock,
                 * as the notifier takes svc->mu to wake calls). */
                pthread_mutex_unlock(&svc->mu);
                uint64_t size = mla_log_size(svc->log);
                if (size != polled_size) mla_service_notifier_commit(svc->own_notifier, size);
                polled_size = size;
                pthread_mutex_lock(&svc->mu);
                next_poll = now + (int64_t)POLL_MS * 1000000;
                continue;
            }
            if (next_poll < wake) wake = next_poll;
        }
        struct timespec ts = mono_abs(wake);
        pthread_cond_timedwait(&svc->timer_cv, &svc->mu, &ts);
    }
    pthread_mutex_unlock(&svc->mu);
    return NULL;
}

/* ---- the notifier: calls watching the log grow -------------------------------- */

mla_status mla_service_notifier_new(mla_service_notifier **out)
{
    *out = mla_calloc(1, sizeof **out);
    if (!*out) return mla_err(MLA_ENOMEM, "notifier: out of memory");
    pthread_mutex_init(&(*out)->mu, NULL);
    return MLA_OK;
}

void mla_service_notifier_free(mla_service_notifier *n)
{
    if (!n) return;
    MLA_ASSERT(n->watches == NULL);
    pthread_mutex_destroy(&n->mu);
    mla_free(n);
}

void mla_service_notifier_commit(void *notifier, uint64_t size)
{
    mla_service_notifier *n = notifier;
    /* On the sequencer thread: short critical sections only. Each watch
     * holds a reference to its call, so waking it is safe here. */
    pthread_mutex_lock(&n->mu);
    for (mla_service_call *c = n->watches; c; c = c->w_next) {
        uint64_t next = __atomic_load_n(&c->watch_next, __ATOMIC_ACQUIRE);
        if (c->parked) {
            if (next < size) {
                c->parked = false;
                mla_service__wake(c);
            }
        } else if (size > next &&
                   size - next > __atomic_load_n(&c->watch_allow, __ATOMIC_ACQUIRE) &&
                   !__atomic_load_n(&c->lag_flagged, __ATOMIC_ACQUIRE)) {
            /* Once until it moves: the stream's own context decides to cut
             * it (it may be stuck in flow control, with nothing else to
             * wake it). */
            __atomic_store_n(&c->lag_flagged, 1, __ATOMIC_RELEASE);
            mla_service__wake(c);
        }
    }
    pthread_mutex_unlock(&n->mu);
}

void mla_service__watch_begin(mla_service_call *c, uint64_t next)
{
    mla_service_notifier *n = c->svc->notifier;
    call_ref(c);
    pthread_mutex_lock(&n->mu);
    MLA_ASSERT(!c->watching);
    __atomic_store_n(&c->watch_next, next, __ATOMIC_RELEASE);
    __atomic_store_n(&c->watch_allow, c->svc->opts.subscribe_lag_max, __ATOMIC_RELEASE);
    c->watching = true;
    c->parked = false;
    __atomic_store_n(&c->lag_flagged, 0, __ATOMIC_RELEASE);
    c->w_prev = NULL;
    c->w_next = n->watches;
    if (n->watches) n->watches->w_prev = c;
    n->watches = c;
    pthread_mutex_unlock(&n->mu);
}

void mla_service__watch_next(mla_service_call *c, uint64_t next)
{
    __atomic_store_n(&c->watch_next, next, __ATOMIC_RELEASE);
    __atomic_store_n(&c->lag_flagged, 0, __ATOMIC_RELEASE);
}

void mla_service__watch_allow(mla_service_call *c, uint64_t max_lag)
{
    __atomic_store_n(&c->watch_allow, max_lag, __ATOMIC_RELEASE);
}

bool mla_service__watch_park(mla_service_call *c)
{
    mla_service_notifier *n = c->svc->notifier;
    pthread_mutex_lock(&n->mu);
    /* The log publishes its new size before it calls the notifier, which
     * takes this lock: either we see the new size here, or the notifier
     * sees us parked. */
    bool park = c->watching &&
                __atomic_load_n(&c->watch_next, __ATOMIC_ACQUIRE) >= mla_log_size(c->svc->log);
    if (park) c->parked = true;
    pthread_mutex_unlock(&n->mu);
    return park;
}

static void watch_end(mla_service_call *c)
{
    mla_service_notifier *n = c->svc->notifier;
    pthread_mutex_lock(&n->mu);
    bool was = c->watching;
    if (was) {
        if (c->w_prev)
            c->w_prev->w_next = c->w_next;
        else
            n->watches = c->w_next;
        if (c->w_next) c->w_next->w_prev = c->w_prev;
        c->w_prev = c->w_next = NULL;
        c->watching = c->parked = false;
    }
    pthread_mutex_unlock(&n->mu);
    if (was) call_release(c);
}

/* ---- completion-queue thread ------------------------------------------------ */

static void refuse_unavailable(mla_service_call *c)
{
    /* SPEC §4: UNAVAILABLE (shutting down), never a silent cancel. */
    mla_service__fail_code(
        c, GRPC_STATUS_UNAVAILABLE,
        "server: shutting down; nothing was recorded, retry against a running server");
}

static void on_new(mla_service_call *c, bool ok)
{
    mla_service *svc = c->svc;
    if (!ok) { /* the server is shutting down: this request will never be a call */
        call_free(c);
        return;
    }
    /* Keep a request pending until shutdown completes: a call that arrives
     * while the server drains must be matched (and refused UNAVAILABLE), or
     * gRPC 1.51 may leave it unanswered until the client's deadline. Requests
     * made after shutdown fail at once (ok == false) and end the chain. */
    pthread_mutex_lock(&svc->mu);
    bool notified = svc->shutdown_notified;
    pthread_mutex_unlock(&svc->mu);
    if (!notified) request_call(svc, c->method_index);

    /* Our reference while we set the call up. */
    c->refs = 1;
    /* Learn of cancellation (and of the end of the call) whatever happens. */
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    call_ref(c);
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_close, NULL) != GRPC_CALL_OK) {
        __atomic_store_n(&c->closed, 1, __ATOMIC_RELEASE);
        call_release(c);
    }

    pthread_mutex_lock(&svc->mu);
    bool refusing = svc->refusing;
    pthread_mutex_unlock(&svc->mu);
    mla_status rc = MLA_OK;
    if (refusing) {
        refuse_unavailable(c);
    } else if ((rc = mla_service__identity(&c->submitter, c->call, svc->opts.insecure)) != MLA_OK) {
        mla_service__fail(c, rc);
    } else if (!c->method) {
        char path[256], msg[400];
        method_path(path, sizeof path, c);
        snprintf(msg, sizeof msg, "method %s: unknown method", path);
        mla_service__fail_code(c, GRPC_STATUS_UNIMPLEMENTED, msg);
    } else {
        /* Listed and queued under the lock that guards `refusing`, so
         * mla_service_stop's EV_STOP reaches every long-lived call it did not
         * refuse; once queued, the call belongs to the workers. */
        pthread_mutex_lock(&svc->mu);
        refusing = svc->refusing;
        if (!refusing) {
            if (c->method->long_lived) {
                c->in_streams = true;
                c->st_prev = NULL;
                c->st_next = svc->streams;
                if (svc->streams) svc->streams->st_prev = c;
                svc->streams = c;
            }
            enqueue_locked(svc, c, EV_START);
        }
        pthread_mutex_unlock(&svc->mu);
        if (refusing) refuse_unavailable(c);
    }
    call_release(c);
}

static void on_send(mla_service_call *c, bool ok)
{
    if (c->send_bb) grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = NULL;
    if (c->has_details) grpc_slice_unref(c->status_details);
    c->has_details = false;
    /* The final batch: nothing follows it (final_sent was set before it
     * started, and nothing else starts until this completion). */
    if (!c->final_sent) {
        __atomic_store_n(&c->send_ok, ok ? 1 : 0, __ATOMIC_RELEASE);
        enqueue_event(c, EV_SENT);
    }
    call_release(c);
}

static void on_recv(mla_service_call *c, bool ok)
{
    if (ok && c->recv_bb) {
        enqueue_event(c, EV_MSG);
    } else if (ok && !grpc_call_failed_before_recv_message(c->call)) {
        /* The client's half-close. A cancelled call also ends with no
         * message; it must not pass for one (RecordDecisions would seal
         * what was never acknowledged): the close op tells the handler. */
        enqueue_event(c, EV_HALF);
    } else if (c->recv_bb) {
        grpc_byte_buffer_destroy(c->recv_bb);
        c->recv_bb = NULL;
    }
    call_release(c);
}

static void on_close(mla_service_call *c)
{
    __atomic_store_n(&c->cancelled, c->close_cancelled, __ATOMIC_RELEASE);
    __atomic_store_n(&c->closed, 1, __ATOMIC_RELEASE);
    if (c->method && c->method->notify) enqueue_event(c, MLA_SERVICE__EV_CLOSED);
    call_release(c);
}

static void cq_loop(mla_service *svc)
{
    for (;;) {
        pthread_mutex_lock(&svc->mu);
        int tick_ms = svc->stopping ? CQ_TICK_MS : CQ_IDLE_TICK_MS;
        pthread_mutex_unlock(&svc->mu);
        gpr_timespec dl =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(tick_ms, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(svc->cq, dl, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) return;
        if (ev.type == GRPC_OP_COMPLETE) {
            tag *t = ev.tag;
            switch (t->kind) {
            case TAG_NEW: on_new(t->call, ev.success != 0); break;
            case TAG_CLOSE: on_close(t->call); break;
            case TAG_SEND: on_send(t->call, ev.success != 0); break;
            case TAG_RECV: on_recv(t->call, ev.success != 0); break;
            case TAG_SHUTDOWN:
                pthread_mutex_lock(&svc->mu);
                svc->shutdown_notified = true;
                pthread_mutex_unlock(&svc->mu);
                break;
            }
        }
        pthread_mutex_lock(&svc->mu);
        bool cancel = svc->stopping && !svc->shutdown_notified && !svc->cancelled_all &&
                      mla_time_mono_ns() >= svc->grace_deadline_ns;
        if (cancel) svc->cancelled_all = true;
        /* Every call we matched has finished, yet gRPC 1.51 sometimes holds
         * the shutdown notice for a call that never reached a handler:
         * cancelling now loses nothing of ours and lets shutdown complete. */
        bool nudge = svc->stopping && !svc->shutdown_notified && !svc->nudged && svc->live == 0;
        if (nudge) svc->nudged = true;
        bool drained =
            svc->stopping && svc->shutdown_notified && svc->live == 0 && !svc->cq_shutdown;
        if (drained) svc->cq_shutdown = true;
        pthread_mutex_unlock(&svc->mu);
        if (cancel) {
            mla_service_log_event("warn", "drain", "{s:s}", "message",
                                  "grace period over: cancelling the calls still running");
            grpc_server_cancel_all_calls(svc->server);
        }
        if (nudge) grpc_server_cancel_all_calls(svc->server);
        if (drained) grpc_completion_queue_shutdown(svc->cq);
    }
}

static void *cq_main(void *arg)
{
    cq_loop(arg);
    return NULL;
}

/* ---- start / stop ---------------------------------------------------------- */

static mla_status read_pem(char **out, const char *path, const char *field)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mla_err(MLA_EIO, "%s: cannot open %s: %s", field, path, strerror(errno));
    mla_buf b;
    mla_buf_init(&b, PEM_MAX);
    uint8_t chunk[4096];
    size_t n;
    mla_status rc = MLA_OK;
    while (rc == MLA_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        rc = mla_buf_append(&b, chunk, n);
        if (rc == MLA_ELIMIT)
            rc = mla_err(MLA_EINVAL, "%s: %s is over %u bytes", field, path, PEM_MAX);
    }
    if (rc == MLA_OK && ferror(f)) rc = mla_err(MLA_EIO, "%s: cannot read %s", field, path);
    fclose(f);
    mla_wipe(chunk, sizeof chunk);
    if (rc == MLA_OK && b.len == 0) rc = mla_err(MLA_EINVAL, "%s: %s is empty", field, path);
    if (rc == MLA_OK && !(*out = mla_buf_cstr_new(&b)))
        rc = mla_err(MLA_ENOMEM, "%s: out of memory", field);
    mla_buf_dispose(&b);
    return rc;
}

static void free_pem(char *p)
{
    if (p) mla_wipe(p, strlen(p));
    mla_free(p);
}

static mla_status server_credentials(grpc_server_credentials **out, const mla_service_options *o)
{
    *out = NULL;
    if (o->insecure) {
        *out = grpc_insecure_server_credentials_create();
        return MLA_OK;
    }
    if (!o->tls_cert || !o->tls_key)
        return mla_err(MLA_EINVAL, "%s: required unless insecure (TLS is the default)",
                       o->tls_cert ? "tls_key" : "tls_cert");
    char *cert = NULL, *key = NULL, *ca = NULL;
    mla_status rc;
    if ((rc = read_pem(&cert, o->tls_cert, "tls_cert")) != MLA_OK) goto out;
    if ((rc = read_pem(&key, o->tls_key, "tls_key")) != MLA_OK) goto out;
    if (o->tls_client_ca && (rc = read_pem(&ca, o->tls_client_ca, "tls_client_ca")) != MLA_OK)
        goto out;
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    *out = grpc_ssl_server_credentials_create_ex(
        ca, &pair, 1,
        ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
           : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
    if (!*out) rc = mla_err(MLA_EINVAL, "tls_cert: gRPC refused the certificate or key");
out:
    free_pem(cert);
    free_pem(key);
    free_pem(ca);
    return rc;
}

static void stop_threads(mla_service *svc)
{
    pthread_mutex_lock(&svc->mu);
    svc->workers_stop = true;
    svc->timer_stop = true;
    pthread_cond_broadcast(&svc->work_cv);
    pthread_cond_broadcast(&svc->timer_cv);
    pthread_mutex_unlock(&svc->mu);
    for (size_t i = 0; i < svc->n_workers; i++) pthread_join(svc->workers[i], NULL);
    svc->n_workers = 0;
    if (svc->timer_started) pthread_join(svc->timer_thread, NULL);
    svc->timer_started = false;
}

static void svc_free(mla_service *svc)
{
    stop_threads(svc);
    if (svc->server) grpc_server_destroy(svc->server);
    if (svc->cq && !svc->cq_shutdown) { /* a server that never started */
        grpc_completion_queue_shutdown(svc->cq);
        while (
            grpc_completion_queue_next(svc->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
            GRPC_QUEUE_SHUTDOWN) {
        }
    }
    if (svc->cq) grpc_completion_queue_destroy(svc->cq);
    mla_service_notifier_free(svc->own_notifier);
    pthread_cond_destroy(&svc->timer_cv);
    pthread_cond_destroy(&svc->work_cv);
    pthread_mutex_destroy(&svc->mu);
    mla_free(svc->registered);
    mla_free(svc->workers);
    mla_free(svc);
    grpc_shutdown();
}

static void normalize(mla_service_options *o)
{
    if (!o->workers) o->workers = MLA_SERVICE_WORKERS_DEFAULT;
    if (!o->grace_ms) o->grace_ms = MLA_SERVICE_GRACE_MS_DEFAULT;
    if (!o->request_bytes || o->request_bytes > MLA_LIMIT_RPC_BYTES)
        o->request_bytes = MLA_LIMIT_RPC_BYTES;
    if (!o->stream_entries) o->stream_entries = MLA_SERVICE_STREAM_ENTRIES_DEFAULT;
    if (!o->stream_bytes) o->stream_bytes = MLA_SERVICE_STREAM_BYTES_DEFAULT;
    if (!o->decision_batch_max) o->decision_batch_max = MLA_SERVICE_DECISION_BATCH_MAX_DEFAULT;
    if (!o->decision_batch_ms) o->decision_batch_ms = MLA_SERVICE_DECISION_BATCH_MS_DEFAULT;
    if (!o->subscribe_lag_max) o->subscribe_lag_max = MLA_SERVICE_SUBSCRIBE_LAG_MAX_DEFAULT;
}

mla_status mla_service_start(mla_service **out, mla_log *log, const mla_service_options *opts)
{
    *out = NULL;
    if (!opts->listen || !opts->listen[0]) return mla_err(MLA_EINVAL, "listen: required");
    if (opts->insecure && !mla_service_address_is_loopback(opts->listen))
        return mla_err(MLA_EINVAL,
                       "insecure: plaintext is allowed only on a loopback address, and %s is "
                       "not one (listen on 127.0.0.1 or ::1, or configure tls_cert and tls_key)",
                       opts->listen);
    if (opts->workers > MLA_SERVICE_WORKERS_MAX)
        return mla_err(MLA_EINVAL, "workers: %u exceeds limit %d", opts->workers,
                       MLA_SERVICE_WORKERS_MAX);
    if (opts->decision_batch_max > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "decision_batch_max: %u exceeds limit %d",
                       opts->decision_batch_max, MLA_INDEX_BATCH_DECISIONS_MAX);

    grpc_init();
    mla_service__log_capture_grpc();
    mla_service *svc = mla_calloc(1, sizeof *svc);
    if (!svc) {
        grpc_shutdown();
        return mla_err(MLA_ENOMEM, "service: out of memory");
    }
    pthread_mutex_init(&svc->mu, NULL);
    pthread_cond_init(&svc->work_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&svc->timer_cv, &ca);
    pthread_condattr_destroy(&ca);
    svc->log = log;
    svc->opts = *opts;
    normalize(&svc->opts);
    svc->opts.listen = NULL; /* borrowed strings are not kept past start */
    svc->opts.tls_cert = svc->opts.tls_key = svc->opts.tls_client_ca = NULL;
    svc->t_shutdown = (tag){TAG_SHUTDOWN, NULL};
    mla_status rc = MLA_OK;

    svc->notifier = opts->notifier;
    if (!svc->notifier) {
        if ((rc = mla_service_notifier_new(&svc->own_notifier)) != MLA_OK) goto fail;
        svc->notifier = svc->own_notifier;
    }
    svc->registered = mla_calloc(mla_service__n_methods, sizeof *svc->registered);
    svc->workers = mla_calloc(svc->opts.workers, sizeof *svc->workers);
    if (!svc->registered || !svc->workers) {
        rc = mla_err(MLA_ENOMEM, "service: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < svc->opts.workers; i++) {
        if (pthread_create(&svc->workers[i], NULL, worker_main, svc) != 0) {
            rc = mla_err(MLA_ENOMEM, "workers: cannot start thread %zu", i);
            goto fail;
        }
        svc->n_workers++;
    }
    if (pthread_create(&svc->timer_thread, NULL, timer_main, svc) != 0) {
        rc = mla_err(MLA_ENOMEM, "service: cannot start the timer thread");
        goto fail;
    }
    svc->timer_started = true;

    grpc_arg args[2];
    /* No SO_REUSEPORT: a second daemon on a taken port must fail to start,
     * not silently share (and split) the traffic. */
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)(uintptr_t)GRPC_ARG_ALLOW_REUSEPORT;
    args[1].value.integer = 0;
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)(uintptr_t)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    /* gRPC refuses messages over twice our limit before they are read;
     * between the two we refuse them ourselves, so the refusal is logged and
     * names the limit. */
    args[0].value.integer = (int)(2 * svc->opts.request_bytes);
    grpc_channel_args chargs = {2, args};
    svc->server = grpc_server_create(&chargs, NULL);
    svc->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(svc->server, svc->cq, NULL);
    for (size_t i = 0; i < mla_service__n_methods; i++) {
        svc->registered[i] = grpc_server_register_method(
            svc->server, mla_service__methods[i].path, NULL,
            mla_service__methods[i].message ? GRPC_SRM_PAYLOAD_NONE
                                            : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0);
        MLA_ASSERT(svc->registered[i] != NULL);
    }
    grpc_server_credentials *creds = NULL;
    if ((rc = server_credentials(&creds, opts)) != MLA_OK) goto fail;
    svc->port = grpc_server_add_http2_port(svc->server, opts->listen, creds);
    grpc_server_credentials_release(creds);
    if (svc->port <= 0) {
        rc = mla_err(MLA_EINVAL, "listen: cannot bind %s (address in use, or not of this host)",
                     opts->listen);
        goto fail;
    }
    grpc_server_start(svc->server);
    for (size_t i = 0; i < mla_service__n_methods; i++)
        for (int k = 0; k < REQUESTS_PER_METHOD; k++) request_call(svc, i);
    for (int k = 0; k < REQUESTS_UNKNOWN; k++) request_call(svc, SIZE_MAX);
    if (pthread_create(&svc->cq_thread, NULL, cq_main, svc) != 0) {
        /* Unwind a started server the normal way, on this thread. */
        pthread_mutex_lock(&svc->mu);
        svc->stopping = true;
        pthread_mutex_unlock(&svc->mu);
        grpc_server_shutdown_and_notify(svc->server, svc->cq, &svc->t_shutdown);
        grpc_server_cancel_all_calls(svc->server);
        cq_loop(svc);
        svc_free(svc);
        return mla_err(MLA_ENOMEM, "service: cannot start the completion-queue thread");
    }
    *out = svc;
    return MLA_OK;
fail:
    svc_free(svc);
    return rc;
}

int mla_service_port(const mla_service *s) { return s->port; }

bool mla_service_stop(mla_service *svc)
{
    if (!svc) return true;
    /* First refuse new calls with UNAVAILABLE for a moment while the ones in
     * flight finish: a call that reaches a server already shut down is
     * cancelled by gRPC, which tells the client nothing useful. Long-lived
     * streams (Subscribe, RecordDecisions) are told to end now: they would
     * otherwise run until the grace period is over. */
    pthread_mutex_lock(&svc->mu);
    svc->refusing = true;
    for (mla_service_call *c = svc->streams; c; c = c->st_next) {
        if (c->scheduled) {
            c->events |= MLA_SERVICE__EV_STOP;
        } else if (call_ref_if_live(c)) {
            enqueue_locked(svc, c, MLA_SERVICE__EV_STOP);
            int left = __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
            MLA_ASSERT(left > 0);
        }
    }
    pthread_mutex_unlock(&svc->mu);
    int64_t refuse_ms = svc->opts.grace_ms < REFUSE_MS ? (int64_t)svc->opts.grace_ms : REFUSE_MS;
    struct timespec ts = {(time_t)(refuse_ms / 1000), (long)(refuse_ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
    pthread_mutex_lock(&svc->mu);
    svc->stopping = true;
    svc->grace_deadline_ns = mla_time_mono_ns() + (int64_t)svc->opts.grace_ms * 1000000;
    pthread_mutex_unlock(&svc->mu);
    /* SPEC §9: stop accepting, then let every in-flight call finish. */
    grpc_server_shutdown_and_notify(svc->server, svc->cq, &svc->t_shutdown);
    pthread_join(svc->cq_thread, NULL);
    bool clean = !svc->cancelled_all;
    svc_free(svc);
    return clean;
}
