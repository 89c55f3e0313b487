/* Integration suite "semantics": the ML questions of SPEC §4 and §6 asked of
 * a real mlauditd over raw gRPC (127.0.0.1, port 0, a temp directory per
 * test): Query filters and paging, GetLineage with inclusion proofs,
 * GetProvenEntries (raw and through the client's batching),
 * ResolveDecision at the edges of a deployment timeline, RecordDecisions
 * (sealed by count, by time, on half-close; duplicates; a cut stream; a
 * sealed batch), Subscribe (filtered live tail, a stalled consumer cut
 * with its resume seq, SIGTERM with live streams), the policy file, and
 * malformed requests to every method with the field named. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "client/client.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"
#include "note/note.h"
#include "daemon_util.h"
#include "rpc_util.h"
#include "testutil.h"

#define ORIGIN "test.mlaudit.example/log"
#define M_APPEND "/mlaudit.v1.Ledger/Append"
#define M_BATCH "/mlaudit.v1.Ledger/AppendBatch"
#define M_CHECKPOINT "/mlaudit.v1.Ledger/GetCheckpoint"
#define M_QUERY "/mlaudit.v1.Ledger/Query"
#define M_LINEAGE "/mlaudit.v1.Ledger/GetLineage"
#define M_RESOLVE "/mlaudit.v1.Ledger/ResolveDecision"
#define M_RECORD "/mlaudit.v1.Ledger/RecordDecisions"
#define M_SUBSCRIBE "/mlaudit.v1.Ledger/Subscribe"

#define STREAM_DEADLINE_S 60

static int64_t mono_ms(void) { return mla_time_mono_ns() / 1000000; }

/* The daemon under test: started from its configuration file, reached
 * over raw gRPC. */
typedef td_daemon srv;

/* ---- changes ----------------------------------------------------------------
 */

/* Text kept alive for the length of a test (changes point into it). */
static char *keep(const char *s)
{
    static char pool[1 << 16];
    static size_t used;
    size_t n = strlen(s) + 1;
    if (used + n > sizeof pool) used = 0;
    char *p = pool + used;
    memcpy(p, s, n);
    used += n;
    return p;
}

typedef struct art_pb {
    mla_pb_artifact a;
    mla_hash digest;
} art_pb;

/* An artifact whose digest is derived from its identity (one identity, one
 * digest). */
static mla_pb_artifact *art(art_pb *s, const char *type, const char *name, const char *version)
{
    mla_pb_artifact a0 = MLAUDIT__V1__ARTIFACT__INIT;
    s->a = a0;
    s->a.type = keep(type);
    s->a.name = keep(name);
    s->a.version = keep(version);
    char id[512];
    snprintf(id, sizeof id, "%s:%s@%s", type, name, version);
    mla_crypto_sha256(&s->digest, mla_slice_cstr(id));
    s->a.digest.data = s->digest.b;
    s->a.digest.len = 32;
    return &s->a;
}

/* Sign a change with the admin key; the Envelope message (rpc_free). */
static ProtobufCMessage *envelope_of(srv *d, const mla_pb_change *c)
{
    mla_buf env;
    mla_buf_init(&env, 1 << 20);
    const mla_privkey *keys[1] = {d->admin};
    tu_assert_ok(mla_client_envelope_sign(&env, c, keys, 1));
    ProtobufCMessage *m = NULL;
    tu_assert_ok(
        mla_codec_rpc_decode(&m, &mlaudit__v1__envelope__descriptor, mla_buf_slice(&env), "e"));
    mla_buf_dispose(&env);
    return m;
}

/* Append a change; its seq (and ledger time). */
static uint64_t record(srv *d, const mla_pb_change *c, int64_t *time_out)
{
    Mlaudit__V1__AppendRequest req = MLAUDIT__V1__APPEND_REQUEST__INIT;
    req.envelope = (Mlaudit__V1__Envelope *)envelope_of(d, c);
    ProtobufCMessage *m = NULL;
    rpc_status st;
    grpc_status_code code =
        rpc_unary(d->conn, M_APPEND, &req.base, &mlaudit__v1__append_response__descriptor, &m, &st);
    mla_codec_rpc_free(&req.envelope->base);
    ck_assert_msg(code == GRPC_STATUS_OK, "append: %d %s", (int)code, st.message);
    const Mlaudit__V1__AppendResponse *r = (const Mlaudit__V1__AppendResponse *)m;
    uint64_t seq = r->receipt->seq;
    if (time_out) *time_out = r->receipt->ledger_time_ns;
    mla_codec_rpc_free(m);
    return seq;
}

static void change_init(mla_pb_change *c, mla_kind kind, const char *actor)
{
    mla_pb_change c0 = MLAUDIT__V1__CHANGE__INIT;
    *c = c0;
    c->kind = kind;
    c->actor = keep(actor ? actor : "ci@example.com");
    c->reason = keep("integration test");
}

static uint64_t rec_dataset(srv *d, const char *name, const char *version, int64_t *t)
{
    mla_pb_change c;
    art_pb s;
    change_init(&c, MLAUDIT__V1__KIND__KIND_DATASET, "data@example.com");
    c.subject = art(&s, "dataset", name, version);
    return record(d, &c, t);
}

typedef struct in_spec {
    const char *type, *name, *version, *role;
} in_spec;

static uint64_t rec_model(srv *d, const char *name, const char *version, const in_spec *ins,
                          size_t n, int64_t *t)
{
    mla_pb_change c;
    art_pb s, ia[8];
    mla_pb_input inputs[8], *ip[8];
    ck_assert_uint_le(n, 8);
    change_init(&c, MLAUDIT__V1__KIND__KIND_MODEL, "ml@example.com");
    c.subject = art(&s, "model", name, version);
    for (size_t i = 0; i < n; i++) {
        mla_pb_input in0 = MLAUDIT__V1__INPUT__INIT;
        inputs[i] = in0;
        inputs[i].artifact = art(&ia[i], ins[i].type, ins[i].name, ins[i].version);
        inputs[i].role = keep(ins[i].role);
        ip[i] = &inputs[i];
    }
    c.inputs = ip;
    c.n_inputs = n;
    return record(d, &c, t);
}

/* A model trained on dataset "<name>-data" (recorded first). */
static uint64_t rec_simple_model(srv *d, const char *name, const char *version)
{
    char ds[128];
    snprintf(ds, sizeof ds, "%s-data", name);
    rec_dataset(d, ds, version, NULL);
    in_spec in = {"dataset", ds, version, "training-data"};
    return rec_model(d, name, version, &in, 1, NULL);
}

static uint64_t rec_deploy(srv *d, const char *target, const char *model, const char *version,
                           const char *stage, double fraction, const mla_pubkey *serving,
                           int64_t *t)
{
    mla_pb_change c;
    art_pb s;
    Mlaudit__V1__Deployment dep = MLAUDIT__V1__DEPLOYMENT__INIT;
    change_init(&c, MLAUDIT__V1__KIND__KIND_DEPLOYMENT, "ops@example.com");
    c.subject = art(&s, "model", model, version);
    dep.target = keep(target);
    dep.stage = keep(stage);
    dep.traffic_fraction = fraction;
    if (serving) {
        dep.serving_key.data = (uint8_t *)(uintptr_t)serving->b;
        dep.serving_key.len = 32;
    }
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
    c.deployment = &dep;
    return record(d, &c, t);
}

/* Retire everything on target (the subject names the model taken down). */
static uint64_t rec_retire(srv *d, const char *target, const char *model, const char *version,
                           int64_t *t)
{
    mla_pb_change c;
    art_pb s;
    Mlaudit__V1__Retirement ret = MLAUDIT__V1__RETIREMENT__INIT;
    change_init(&c, MLAUDIT__V1__KIND__KIND_RETIREMENT, "ops@example.com");
    c.subject = art(&s, "model", model, version);
    ret.target = keep(target);
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
    c.retirement = &ret;
    return record(d, &c, t);
}

/* n datasets "<prefix>-<i>" in one AppendBatch. */
static void rec_batch(srv *d, const char *prefix, size_t first, size_t n)
{
    Mlaudit__V1__AppendBatchRequest req = MLAUDIT__V1__APPEND_BATCH_REQUEST__INIT;
    Mlaudit__V1__Envelope **envs = calloc(n, sizeof *envs);
    ck_assert_ptr_nonnull(envs);
    for (size_t i = 0; i < n; i++) {
        mla_pb_change c;
        art_pb s;
        char name[96];
        snprintf(name, sizeof name, "%s-%zu", prefix, first + i);
        change_init(&c, MLAUDIT__V1__KIND__KIND_DATASET, "bulk@example.com");
        c.subject = art(&s, "dataset", name, "1");
        envs[i] = (Mlaudit__V1__Envelope *)envelope_of(d, &c);
    }
    req.envelopes = envs;
    req.n_envelopes = n;
    rpc_status st;
    grpc_status_code code = rpc_unary(d->conn, M_BATCH, &req.base, NULL, NULL, &st);
    ck_assert_msg(code == GRPC_STATUS_OK, "append batch: %d %s", (int)code, st.message);
    for (size_t i = 0; i < n; i++) mla_codec_rpc_free(&envs[i]->base);
    free(envs);
}

/* ---- proofs
 * ------------------------------------------------------------------- */

static void open_checkpoint(srv *d, const Mlaudit__V1__Checkpoint *m, mla_checkpoint *cp)
{
    ck_assert_ptr_nonnull(m);
    tu_assert_ok(
        mla_note_checkpoint_open(cp, mla_slice_make(m->note.data, m->note.len), &d->verifier, 1));
}

static uint64_t tree_size(srv *d)
{
    Mlaudit__V1__GetCheckpointRequest req = MLAUDIT__V1__GET_CHECKPOINT_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    rpc_status st;
    ck_assert_int_eq(rpc_unary(d->conn, M_CHECKPOINT, &req.base,
                               &mlaudit__v1__get_checkpoint_response__descriptor, &m, &st),
                     GRPC_STATUS_OK);
    mla_checkpoint cp;
    open_checkpoint(d, ((Mlaudit__V1__GetCheckpointResponse *)m)->checkpoint, &cp);
    mla_codec_rpc_free(m);
    return cp.size;
}

/* The stored entry's bytes hash to its leaf, and the leaf is included at
 * its seq under the checkpoint. */
static void assert_proven(const Mlaudit__V1__StoredEntry *e, const Mlaudit__V1__InclusionProof *ip,
                          const mla_checkpoint *cp)
{
    ck_assert_ptr_nonnull(e);
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, mla_slice_make(e->entry.data, e->entry.len));
    ck_assert_uint_eq(e->leaf_hash.len, 32);
    ck_assert(memcmp(leaf.b, e->leaf_hash.data, 32) == 0);
    if (!ip) return;
    ck_assert_uint_eq(ip->leaf_index, e->seq);
    ck_assert_uint_eq(ip->tree_size, cp->size);
    mla_merkle_proof p;
    proof_from(&p, ip->hashes, ip->n_hashes);
    tu_assert_ok(mla_merkle_inclusion_verify(&leaf, e->seq, cp->size, &p, &cp->root));
}

/* The Change inside a stored entry (mla_codec_change_free). */
static mla_pb_change *change_of(const Mlaudit__V1__StoredEntry *se)
{
    mla_pb_entry *e = NULL;
    mla_pb_change *c = NULL;
    tu_assert_ok(mla_codec_entry_decode(&e, mla_slice_make(se->entry.data, se->entry.len)));
    ck_assert_uint_eq(e->seq, se->seq);
    tu_assert_ok(mla_codec_change_decode(
        &c, mla_slice_make(e->envelope->payload.data, e->envelope->payload.len)));
    mla_codec_entry_free(e);
    return c;
}

/* ---- raw streams
 * ----------------------------------------------------------------- */

/* One call on its own completion queue: messages out and in one at a time,
 * the status op started up front so a server-side end is seen while the
 * client is not reading. */
typedef struct stream {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array md_init, md_trail;
    grpc_status_code code;
    grpc_slice details;
    bool md_asked, recv_pending, status_done;
    grpc_byte_buffer *recv_bb;
    rpc_status st;
} stream;

/* A channel; `small_window` keeps the client's receive window small, so a
 * stalled reader stalls the server's sends quickly. */
static grpc_channel *channel_new(const char *target, bool small_window)
{
    grpc_init();
    grpc_arg args[3];
    size_t n = 0;
    args[n].type = GRPC_ARG_INTEGER;
    args[n].key = (char *)(uintptr_t)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[n++].value.integer = 64 << 20;
    if (small_window) {
        args[n].type = GRPC_ARG_INTEGER;
        args[n].key = (char *)(uintptr_t)GRPC_ARG_HTTP2_BDP_PROBE;
        args[n++].value.integer = 0;
        args[n].type = GRPC_ARG_INTEGER;
        args[n].key = (char *)(uintptr_t)GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES;
        args[n++].value.integer = 1024;
    }
    grpc_channel_args ca = {n, args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    return ch;
}

static void channel_free(grpc_channel *ch)
{
    grpc_channel_destroy(ch);
    grpc_shutdown();
}

static gpr_timespec after_ms(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static void batch(stream *s, const grpc_op *ops, size_t n, void *tag)
{
    ck_assert_int_eq(grpc_call_start_batch(s->call, ops, n, tag, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_pluck(s->cq, tag, after_ms(30000), NULL);
    ck_assert_int_eq(ev.type, GRPC_OP_COMPLETE);
}

#define TAG_STATUS ((void *)9)
#define TAG_RECV ((void *)7)

static void stream_open(stream *s, grpc_channel *ch, const char *method)
{
    memset(s, 0, sizeof *s);
    s->ch = ch;
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice m = grpc_slice_from_copied_string(method);
    s->call = grpc_channel_create_call(
        ch, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, m, NULL,
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                     gpr_time_from_seconds(STREAM_DEADLINE_S, GPR_TIMESPAN)),
        NULL);
    grpc_slice_unref(m);
    grpc_metadata_array_init(&s->md_init);
    grpc_metadata_array_init(&s->md_trail);
    grpc_op ops[1];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    batch(s, ops, 1, (void *)1);
    grpc_op st;
    memset(&st, 0, sizeof st);
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &s->md_trail;
    st.data.recv_status_on_client.status = &s->code;
    st.data.recv_status_on_client.status_details = &s->details;
    ck_assert_int_eq(grpc_call_start_batch(s->call, &st, 1, TAG_STATUS, NULL), GRPC_CALL_OK);
}

static void stream_send_bytes(stream *s, mla_slice msg)
{
    grpc_slice sl = grpc_slice_from_copied_buffer((const char *)msg.ptr, msg.len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    ck_assert_int_eq(grpc_call_start_batch(s->call, &op, 1, (void *)2, NULL), GRPC_CALL_OK);
    grpc_completion_queue_pluck(s->cq, (void *)2, after_ms(30000), NULL);
    grpc_byte_buffer_destroy(bb);
}

static void stream_send(stream *s, const ProtobufCMessage *m)
{
    mla_buf b;
    mla_buf_init(&b, 1 << 24);
    tu_assert_ok(mla_codec_rpc_encode(&b, m));
    stream_send_bytes(s, mla_buf_slice(&b));
    mla_buf_dispose(&b);
}

static void stream_half_close(stream *s)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    batch(s, &op, 1, (void *)3);
}

/* The next message into out: 1, or 0 at the end of the stream, or -1 if
 * none came within timeout_ms (the receive stays pending). */
static int stream_recv(stream *s, mla_buf *out, int timeout_ms)
{
    if (!s->recv_pending) {
        grpc_op ops[2];
        size_t n = 0;
        memset(ops, 0, sizeof ops);
        if (!s->md_asked) {
            ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
            ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->md_init;
            s->md_asked = true;
        }
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n++].data.recv_message.recv_message = &s->recv_bb;
        ck_assert_int_eq(grpc_call_start_batch(s->call, ops, n, TAG_RECV, NULL), GRPC_CALL_OK);
        s->recv_pending = true;
    }
    grpc_event ev = grpc_completion_queue_pluck(s->cq, TAG_RECV, after_ms(timeout_ms), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) return -1;
    ck_assert_int_eq(ev.type, GRPC_OP_COMPLETE);
    s->recv_pending = false;
    if (!s->recv_bb) return 0;
    grpc_byte_buffer_reader r;
    grpc_slice sl;
    mla_buf_clear(out);
    ck_assert(grpc_byte_buffer_reader_init(&r, s->recv_bb));
    while (grpc_byte_buffer_reader_next(&r, &sl)) {
        tu_assert_ok(mla_buf_append(out, GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl)));
        grpc_slice_unref(sl);
    }
    grpc_byte_buffer_reader_destroy(&r);
    grpc_byte_buffer_destroy(s->recv_bb);
    s->recv_bb = NULL;
    return 1;
}

/* The next message decoded (mla_codec_rpc_free), or NULL at the end. */
static ProtobufCMessage *stream_next(stream *s, const ProtobufCMessageDescriptor *d, int timeout_ms)
{
    mla_buf b;
    mla_buf_init(&b, 1 << 26);
    int r = stream_recv(s, &b, timeout_ms);
    ck_assert_msg(r >= 0, "no message within %d ms", timeout_ms);
    ProtobufCMessage *m = NULL;
    if (r == 1) tu_assert_ok(mla_codec_rpc_decode(&m, d, mla_buf_slice(&b), "response"));
    mla_buf_dispose(&b);
    return m;
}

/* The call's status, waiting at most timeout_ms: true if it came. */
static bool stream_status(stream *s, int timeout_ms)
{
    if (s->status_done) return true;
    grpc_event ev = grpc_completion_queue_pluck(s->cq, TAG_STATUS, after_ms(timeout_ms), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) return false;
    ck_assert_int_eq(ev.type, GRPC_OP_COMPLETE);
    s->status_done = true;
    s->st.code = s->code;
    snprintf(s->st.message, sizeof s->st.message, "%.*s", (int)GRPC_SLICE_LENGTH(s->details),
             (const char *)GRPC_SLICE_START_PTR(s->details));
    return true;
}

/* Read what is left and the status (bounded). */
static grpc_status_code stream_finish(stream *s)
{
    mla_buf b;
    mla_buf_init(&b, 1 << 26);
    for (int i = 0; i < 100000 && stream_recv(s, &b, 30000) == 1; i++) {
    }
    mla_buf_dispose(&b);
    ck_assert(stream_status(s, 30000));
    return s->st.code;
}

static void stream_close(stream *s)
{
    grpc_call_cancel(s->call, NULL);
    if (s->recv_pending) {
        grpc_completion_queue_pluck(s->cq, TAG_RECV, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (s->recv_bb) grpc_byte_buffer_destroy(s->recv_bb);
    }
    if (!s->status_done)
        grpc_completion_queue_pluck(s->cq, TAG_STATUS, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_slice_unref(s->details);
    grpc_metadata_array_destroy(&s->md_init);
    grpc_metadata_array_destroy(&s->md_trail);
    grpc_call_unref(s->call);
    grpc_completion_queue_shutdown(s->cq);
    while (
        grpc_completion_queue_pluck(s->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
        GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(s->cq);
}

/* ---- decisions
 * ------------------------------------------------------------------ */

typedef struct dec_pb {
    mla_pb_decision d;
    uint8_t in[32], out[32];
    art_pb model;
} dec_pb;

static mla_pb_decision *decision(dec_pb *s, const char *id, const char *target, int64_t t,
                                 const char *model, const char *version)
{
    mla_pb_decision d0 = MLAUDIT__V1__DECISION__INIT;
    s->d = d0;
    s->d.id = keep(id);
    s->d.target = keep(target);
    s->d.time_ns = t;
    memset(s->in, 0xa1, 32);
    memset(s->out, 0xb2, 32);
    s->in[0] = (uint8_t)strlen(id);
    s->d.input_digest.data = s->in;
    s->d.input_digest.len = 32;
    s->d.output_digest.data = s->out;
    s->d.output_digest.len = 32;
    if (model) s->d.model = art(&s->model, "model", model, version);
    return &s->d;
}

static void send_decision(stream *s, const mla_pb_decision *d)
{
    Mlaudit__V1__RecordDecisionsRequest req = MLAUDIT__V1__RECORD_DECISIONS_REQUEST__INIT;
    req.item_case = MLAUDIT__V1__RECORD_DECISIONS_REQUEST__ITEM_DECISION;
    req.decision = (mla_pb_decision *)(uintptr_t)d;
    stream_send(s, &req.base);
}

/* Send n decisions "<prefix>-<i>" on target, times t0 + i. */
static void send_decisions(stream *s, const char *prefix, const char *target, int64_t t0,
                           size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++) {
        char id[96];
        snprintf(id, sizeof id, "%s-%zu", prefix, i);
        dec_pb dp;
        send_decision(s, decision(&dp, id, target, t0 + (int64_t)i, NULL, NULL));
    }
}

typedef struct ack {
    uint64_t batch_seq, count;
    char last_id[128];
} ack;

/* The next acknowledgement (false at the end of the stream). */
static bool next_ack(stream *s, ack *a, int timeout_ms)
{
    Mlaudit__V1__RecordDecisionsResponse *r = (Mlaudit__V1__RecordDecisionsResponse *)stream_next(
        s, &mlaudit__v1__record_decisions_response__descriptor, timeout_ms);
    if (!r) return false;
    a->batch_seq = r->batch_seq;
    a->count = r->count;
    snprintf(a->last_id, sizeof a->last_id, "%s", r->last_decision_id);
    mla_codec_rpc_free(&r->base);
    return true;
}

static Mlaudit__V1__ResolveDecisionResponse *resolve(srv *d, const char *id, const char *target,
                                                     int64_t t, grpc_status_code want,
                                                     rpc_status *st)
{
    Mlaudit__V1__ResolveDecisionRequest req = MLAUDIT__V1__RESOLVE_DECISION_REQUEST__INIT;
    req.decision_id = (char *)(uintptr_t)(id ? id : "");
    req.target = (char *)(uintptr_t)(target ? target : "");
    req.time_ns = t;
    ProtobufCMessage *m = NULL;
    grpc_status_code code = rpc_unary(d->conn, M_RESOLVE, &req.base,
                                      &mlaudit__v1__resolve_decision_response__descriptor, &m, st);
    ck_assert_msg(code == want, "ResolveDecision %s: status %d, want %d: %s", id ? id : target,
                  (int)code, (int)want, st->message);
    return (Mlaudit__V1__ResolveDecisionResponse *)m;
}

/* Everything a resolution claims is checked: the checkpoint's signature,
 * each deployment entry's inclusion, and for a decision its leaf's path to
 * the batch root and the batch entry's inclusion. */
static void assert_resolution(srv *d, const Mlaudit__V1__ResolveDecisionResponse *r)
{
    mla_checkpoint cp;
    open_checkpoint(d, r->checkpoint, &cp);
    ck_assert_uint_eq(r->n_deployment_entries, r->n_deployment_inclusions);
    for (size_t i = 0; i < r->n_deployment_entries; i++)
        assert_proven(r->deployment_entries[i], r->deployment_inclusions[i], &cp);
    if (!r->decision) return;
    assert_proven(r->batch_entry, r->batch_inclusion, &cp);
    mla_buf db;
    mla_buf_init(&db, 1 << 16);
    tu_assert_ok(mla_codec_decision_encode(&db, r->decision));
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, mla_buf_slice(&db));
    mla_buf_dispose(&db);
    mla_pb_change *c = change_of(r->batch_entry);
    ck_assert_int_eq(c->kind, MLAUDIT__V1__KIND__KIND_DECISION_BATCH);
    mla_hash root;
    memcpy(root.b, c->decision_batch->root.data, 32);
    mla_merkle_proof p;
    proof_from(&p, r->decision_path, r->n_decision_path);
    tu_assert_ok(
        mla_merkle_inclusion_verify(&leaf, r->decision_index, c->decision_batch->count, &p, &root));
    mla_codec_change_free(c);
}

static bool has_discrepancy(const Mlaudit__V1__ResolveDecisionResponse *r, const char *needle)
{
    for (size_t i = 0; i < r->n_discrepancies; i++)
        if (strstr(r->discrepancies[i], needle)) return true;
    return false;
}

static double serving_fraction(const Mlaudit__V1__ResolveDecisionResponse *r, const char *name)
{
    for (size_t i = 0; i < r->n_serving; i++)
        if (strcmp(r->serving[i]->model->name, name) == 0) return r->serving[i]->traffic_fraction;
    return 0;
}

/* ---- Query
 * ---------------------------------------------------------------------- */

typedef struct page {
    uint64_t seqs[1000];
    size_t n;
    uint8_t token[16];
    size_t token_len;
} page;

static grpc_status_code query(srv *d, Mlaudit__V1__QueryRequest *q, page *out, rpc_status *st)
{
    ProtobufCMessage *m = NULL;
    grpc_status_code code =
        rpc_unary(d->conn, M_QUERY, &q->base, &mlaudit__v1__query_response__descriptor, &m, st);
    memset(out, 0, sizeof *out);
    if (code != GRPC_STATUS_OK) return code;
    const Mlaudit__V1__QueryResponse *r = (const Mlaudit__V1__QueryResponse *)m;
    ck_assert_uint_le(r->n_entries, 1000);
    for (size_t i = 0; i < r->n_entries; i++) {
        assert_proven(r->entries[i], NULL, NULL);
        out->seqs[out->n++] = r->entries[i]->seq;
    }
    ck_assert_uint_le(r->next_page_token.len, sizeof out->token);
    if (r->next_page_token.len) memcpy(out->token, r->next_page_token.data, r->next_page_token.len);
    out->token_len = r->next_page_token.len;
    mla_codec_rpc_free(m);
    return code;
}

static void assert_seqs(const page *p, const uint64_t *want, size_t n)
{
    ck_assert_msg(p->n == n, "%zu entries, want %zu", p->n, n);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(p->seqs[i], want[i]);
}

START_TEST(test_query_filters_and_pages)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    int64_t t_mid = 0;
    uint64_t ds1 = rec_dataset(&d, "txns", "1", NULL); /* 0 */
    in_spec in1 = {"dataset", "txns", "1", "training-data"};
    uint64_t m1 = rec_model(&d, "fraud", "1", &in1, 1, NULL); /* 1 */
    uint64_t ds2 = rec_dataset(&d, "txns", "2", &t_mid); /* 2 */
    in_spec in2[2] = {{"dataset", "txns", "2", "training-data"},
                      {"model", "fraud", "1", "base-model"}};
    uint64_t m2 = rec_model(&d, "fraud", "2", in2, 2, NULL); /* 3 */
    uint64_t dep = rec_deploy(&d, "fraud-api", "fraud", "2", "production", 1.0, NULL, NULL);
    uint64_t other = rec_simple_model(&d, "churn", "1"); /* dataset 5, model 6 */

    rpc_status st;
    page p;
    Mlaudit__V1__QueryRequest q = MLAUDIT__V1__QUERY_REQUEST__INIT;
    q.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    ck_assert_int_eq(query(&d, &q, &p, &st), GRPC_STATUS_OK);
    uint64_t models[] = {m1, m2, other};
    assert_seqs(&p, models, 3);
    ck_assert_uint_eq(p.token_len, 0);

    Mlaudit__V1__QueryRequest q2 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    q2.subject_type = (char *)(uintptr_t) "dataset";
    q2.subject_name = (char *)(uintptr_t) "txns";
    ck_assert_int_eq(query(&d, &q2, &p, &st), GRPC_STATUS_OK);
    uint64_t txns[] = {ds1, ds2};
    assert_seqs(&p, txns, 2);
    q2.subject_version = (char *)(uintptr_t) "2";
    ck_assert_int_eq(query(&d, &q2, &p, &st), GRPC_STATUS_OK);
    assert_seqs(&p, &ds2, 1);

    Mlaudit__V1__QueryRequest q3 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    q3.target = (char *)(uintptr_t) "fraud-api";
    ck_assert_int_eq(query(&d, &q3, &p, &st), GRPC_STATUS_OK);
    assert_seqs(&p, &dep, 1);

    Mlaudit__V1__QueryRequest q4 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    q4.actor = (char *)(uintptr_t) "data@example.com";
    q4.from_time_ns = t_mid; /* [t_mid, ...): ds2 and churn's dataset */
    ck_assert_int_eq(query(&d, &q4, &p, &st), GRPC_STATUS_OK);
    uint64_t data_after[] = {ds2, other - 1};
    assert_seqs(&p, data_after, 2);
    q4.from_time_ns = 0;
    q4.to_time_ns = t_mid; /* before ds2 */
    ck_assert_int_eq(query(&d, &q4, &p, &st), GRPC_STATUS_OK);
    assert_seqs(&p, &ds1, 1);

    /* Paging: every entry once, in order, two at a time. */
    Mlaudit__V1__QueryRequest q5 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    q5.page_size = 2;
    uint64_t all[16];
    size_t n_all = 0;
    for (int pages = 0;; pages++) {
        ck_assert_int_lt(pages, 10);
        ck_assert_int_eq(query(&d, &q5, &p, &st), GRPC_STATUS_OK);
        ck_assert_uint_le(p.n, 2);
        for (size_t i = 0; i < p.n; i++) all[n_all++] = p.seqs[i];
        if (!p.token_len) break;
        ck_assert_uint_eq(p.token_len, 8);
        static uint8_t tok[8];
        memcpy(tok, p.token, 8);
        q5.page_token.data = tok;
        q5.page_token.len = 8;
    }
    ck_assert_uint_eq(n_all, 7);
    for (size_t i = 0; i < n_all; i++) ck_assert_uint_eq(all[i], i);

    /* Bad requests name their field. */
    Mlaudit__V1__QueryRequest bad = MLAUDIT__V1__QUERY_REQUEST__INIT;
    uint8_t three[3] = {1, 2, 3};
    bad.page_token.data = three;
    bad.page_token.len = 3;
    assert_status(query(&d, &bad, &p, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "page_token");
    Mlaudit__V1__QueryRequest bad2 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    bad2.page_size = 5000;
    assert_status(query(&d, &bad2, &p, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "page_size");
    Mlaudit__V1__QueryRequest bad3 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    bad3.kind = 99;
    assert_status(query(&d, &bad3, &p, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "kind");
    Mlaudit__V1__QueryRequest bad4 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    bad4.subject_version = (char *)(uintptr_t) "1";
    assert_status(query(&d, &bad4, &p, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "subject_version");
    Mlaudit__V1__QueryRequest bad5 = MLAUDIT__V1__QUERY_REQUEST__INIT;
    bad5.from_time_ns = 100;
    bad5.to_time_ns = 50;
    assert_status(query(&d, &bad5, &p, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "to_time_ns");
    uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_status(rpc_unary_raw(d.conn, M_QUERY, mla_slice_make(junk, 3), NULL, &st), st,
                  GRPC_STATUS_INVALID_ARGUMENT, "QueryRequest");
    td_stop(&d);
}
END_TEST

/* ---- GetLineage
 * ------------------------------------------------------------------ */

static Mlaudit__V1__GetLineageResponse *lineage(srv *d, const char *type, const char *name,
                                                const char *version, int direction, unsigned depth,
                                                grpc_status_code want, rpc_status *st)
{
    Mlaudit__V1__GetLineageRequest req = MLAUDIT__V1__GET_LINEAGE_REQUEST__INIT;
    art_pb a;
    if (type) req.artifact = art(&a, type, name, version);
    req.direction = direction;
    req.depth = depth;
    ProtobufCMessage *m = NULL;
    grpc_status_code code = rpc_unary(d->conn, M_LINEAGE, &req.base,
                                      &mlaudit__v1__get_lineage_response__descriptor, &m, st);
    ck_assert_msg(code == want, "GetLineage: status %d, want %d: %s", (int)code, (int)want,
                  st->message);
    return (Mlaudit__V1__GetLineageResponse *)m;
}

static bool has_edge(const Mlaudit__V1__GetLineageResponse *r, const char *from, const char *to,
                     const char *role, uint64_t seq)
{
    for (size_t i = 0; i < r->n_edges; i++)
        if (strcmp(r->edges[i]->from, from) == 0 && strcmp(r->edges[i]->to, to) == 0 &&
            strcmp(r->edges[i]->role, role) == 0 && r->edges[i]->seq == seq)
            return true;
    return false;
}

START_TEST(test_lineage_edges_carry_proofs)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    rec_dataset(&d, "txns", "1", NULL);
    in_spec in1[2] = {{"dataset", "txns", "1", "training-data"},
                      {"code", "trainer", "abc", "code"}};
    uint64_t m1 = rec_model(&d, "fraud", "1", in1, 2, NULL);
    rec_dataset(&d, "txns", "2", NULL);
    in_spec in2[2] = {{"dataset", "txns", "2", "training-data"},
                      {"model", "fraud", "1", "base-model"}};
    uint64_t m2 = rec_model(&d, "fraud", "2", in2, 2, NULL);

    rpc_status st;
    Mlaudit__V1__GetLineageResponse *r =
        lineage(&d, "model", "fraud", "2", 0, 0, GRPC_STATUS_OK, &st);
    ck_assert_uint_eq(r->n_edges, 4);
    ck_assert(has_edge(r, "dataset:txns@2", "model:fraud@2", "training-data", m2));
    ck_assert(has_edge(r, "model:fraud@1", "model:fraud@2", "base-model", m2));
    ck_assert(has_edge(r, "dataset:txns@1", "model:fraud@1", "training-data", m1));
    ck_assert(has_edge(r, "code:trainer@abc", "model:fraud@1", "code", m1));
    mla_checkpoint cp;
    open_checkpoint(&d, r->checkpoint, &cp);
    /* Every edge's entry is proven, and records that edge. */
    ck_assert_uint_eq(r->n_entries, 2);
    for (size_t i = 0; i < r->n_edges; i++) {
        const Mlaudit__V1__LineageEdge *e = r->edges[i];
        const Mlaudit__V1__StoredEntry *se = NULL;
        for (size_t j = 0; j < r->n_entries; j++)
            if (r->entries[j]->seq == e->seq) se = r->entries[j];
        ck_assert_ptr_nonnull(se);
        assert_proven(se, e->inclusion, &cp);
        mla_pb_change *c = change_of(se);
        mla_buf id;
        mla_buf_init(&id, 1024);
        tu_assert_ok(mla_codec_artifact_identity(&id, c->subject));
        ck_assert(mla_slice_eq(mla_buf_slice(&id), mla_slice_cstr(e->to)));
        mla_buf_dispose(&id);
        mla_codec_change_free(c);
    }
    mla_codec_rpc_free(&r->base);

    /* Depth 1: the adjacent edges only. Downstream: what was built from it. */
    r = lineage(&d, "model", "fraud", "2", 0, 1, GRPC_STATUS_OK, &st);
    ck_assert_uint_eq(r->n_edges, 2);
    mla_codec_rpc_free(&r->base);
    r = lineage(&d, "dataset", "txns", "1", 1, 0, GRPC_STATUS_OK, &st);
    ck_assert_uint_eq(r->n_edges, 2);
    ck_assert(has_edge(r, "dataset:txns@1", "model:fraud@1", "training-data", m1));
    ck_assert(has_edge(r, "model:fraud@1", "model:fraud@2", "base-model", m2));
    mla_codec_rpc_free(&r->base);

    /* Refusals name the field. */
    lineage(&d, NULL, NULL, NULL, 0, 0, GRPC_STATUS_INVALID_ARGUMENT, &st);
    ck_assert(strstr(st.message, "artifact") != NULL);
    lineage(&d, "model", "fraud", "", 0, 0, GRPC_STATUS_INVALID_ARGUMENT, &st);
    ck_assert(strstr(st.message, "artifact.version") != NULL);
    lineage(&d, "model", "fraud", "2", 5, 0, GRPC_STATUS_INVALID_ARGUMENT, &st);
    ck_assert(strstr(st.message, "direction") != NULL);
    lineage(&d, "model", "fraud", "2", 0, 500, GRPC_STATUS_INVALID_ARGUMENT, &st);
    ck_assert(strstr(st.message, "depth") != NULL);
    lineage(&d, "model", "nobody", "9", 0, 0, GRPC_STATUS_NOT_FOUND, &st);
    ck_assert(strstr(st.message, "artifact") != NULL);
    uint8_t junk[] = {0x0a, 0x05, 0x01};
    assert_status(rpc_unary_raw(d.conn, M_LINEAGE, mla_slice_make(junk, 3), NULL, &st), st,
                  GRPC_STATUS_INVALID_ARGUMENT, "GetLineageRequest");
    td_stop(&d);
}
END_TEST

/* ---- GetProvenEntries -----------------------------------------------------
 */

#define M_PROVEN "/mlaudit.v1.Ledger/GetProvenEntries"

/* A dataset whose change carries ~56 KiB of attributes: a few of them make
 * an answer larger than a GetEntries message. */
static uint64_t rec_big_dataset(srv *d, const char *name)
{
    enum { N_ATTR = 14 };
    static char value[4001];
    memset(value, 'v', 4000);
    mla_pb_change c;
    art_pb s;
    Mlaudit__V1__Change__AttributesEntry attrs[N_ATTR], *ap[N_ATTR];
    char keys[N_ATTR][16];
    change_init(&c, MLAUDIT__V1__KIND__KIND_DATASET, "data@example.com");
    c.subject = art(&s, "dataset", name, "1");
    for (size_t i = 0; i < N_ATTR; i++) {
        Mlaudit__V1__Change__AttributesEntry a0 = MLAUDIT__V1__CHANGE__ATTRIBUTES_ENTRY__INIT;
        attrs[i] = a0;
        snprintf(keys[i], sizeof keys[i], "k%zu", i);
        attrs[i].key = keys[i];
        attrs[i].value = value;
        ap[i] = &attrs[i];
    }
    c.attributes = ap;
    c.n_attributes = N_ATTR;
    return record(d, &c, NULL);
}

static grpc_status_code proven_rpc(srv *d, const uint64_t *seqs, size_t n, uint64_t tree_size,
                                   Mlaudit__V1__GetProvenEntriesResponse **out, rpc_status *st)
{
    Mlaudit__V1__GetProvenEntriesRequest req = MLAUDIT__V1__GET_PROVEN_ENTRIES_REQUEST__INIT;
    req.seqs = (uint64_t *)(uintptr_t)seqs;
    req.n_seqs = n;
    req.tree_size = tree_size;
    ProtobufCMessage *m = NULL;
    grpc_status_code code =
        rpc_unary(d->conn, M_PROVEN, &req.base,
                  &mlaudit__v1__get_proven_entries_response__descriptor, &m, st);
    *out = (Mlaudit__V1__GetProvenEntriesResponse *)m;
    return code;
}

typedef struct proven_seen {
    const mla_checkpoint *cp;
    uint64_t seqs[2048];
    size_t n;
} proven_seen;

/* Each entry the client hands over is re-checked here on its own. */
static mla_status on_proven(void *ctx, uint64_t seq, mla_slice entry, const mla_merkle_proof *proof)
{
    proven_seen *x = ctx;
    ck_assert_uint_lt(x->n, sizeof x->seqs / sizeof x->seqs[0]);
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, entry);
    tu_assert_ok(mla_merkle_inclusion_verify(&leaf, seq, x->cp->size, proof, &x->cp->root));
    mla_pb_entry *e = NULL;
    tu_assert_ok(mla_codec_entry_decode(&e, entry));
    ck_assert_uint_eq(e->seq, seq);
    mla_codec_entry_free(e);
    x->seqs[x->n++] = seq;
    return MLA_OK;
}

START_TEST(test_proven_entries_batch_with_limits)
{
    srv d;
    const char *extra[] = {"--stream-bytes", "1048576", NULL};
    td_start_rpc(&d, ORIGIN, extra);
    rec_batch(&d, "pe", 0, 40);
    uint64_t big = rec_big_dataset(&d, "wide");
    uint64_t size = tree_size(&d);
    ck_assert_uint_eq(size, 41);

    /* Raw: the answer lists the seqs in the order asked (repeats too), each
     * proven in the size asked for. */
    rpc_status st;
    Mlaudit__V1__GetProvenEntriesResponse *r = NULL;
    uint64_t some[] = {7, 0, 39, 7, big};
    ck_assert_int_eq(proven_rpc(&d, some, 5, 0, &r, &st), GRPC_STATUS_OK);
    ck_assert_uint_eq(r->tree_size, size);
    ck_assert_uint_eq(r->n_entries, 5);
    Mlaudit__V1__GetCheckpointRequest creq = MLAUDIT__V1__GET_CHECKPOINT_REQUEST__INIT;
    ProtobufCMessage *cm = NULL;
    ck_assert_int_eq(rpc_unary(d.conn, M_CHECKPOINT, &creq.base,
                               &mlaudit__v1__get_checkpoint_response__descriptor, &cm, &st),
                     GRPC_STATUS_OK);
    mla_checkpoint cp;
    open_checkpoint(&d, ((Mlaudit__V1__GetCheckpointResponse *)cm)->checkpoint, &cp);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(r->entries[i]->entry->seq, some[i]);
        ck_assert(!r->entries[i]->entry->redacted);
        assert_proven(r->entries[i]->entry, r->entries[i]->inclusion, &cp);
    }
    mla_codec_rpc_free(&r->base);
    /* An older tree: proofs in that size, and seqs beyond it refused. */
    uint64_t early[] = {3, 9};
    ck_assert_int_eq(proven_rpc(&d, early, 2, 10, &r, &st), GRPC_STATUS_OK);
    ck_assert_uint_eq(r->tree_size, 10);
    ck_assert_uint_eq(r->entries[1]->inclusion->tree_size, 10);
    mla_codec_rpc_free(&r->base);
    uint64_t late[] = {3, 10};
    assert_status(proven_rpc(&d, late, 2, 10, &r, &st), st, GRPC_STATUS_INVALID_ARGUMENT,
                  "seqs[1]: 10 is not in the tree of size 10");

    /* Refusals name the field. */
    uint64_t many[1001];
    for (size_t i = 0; i < 1001; i++) many[i] = i % size;
    assert_status(proven_rpc(&d, many, 1001, 0, &r, &st), st, GRPC_STATUS_INVALID_ARGUMENT,
                  "seqs: 1001 exceeds limit 1000");
    uint64_t past[] = {1, size};
    assert_status(proven_rpc(&d, past, 2, 0, &r, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "seqs[1]");
    assert_status(proven_rpc(&d, some, 1, size + 1, &r, &st), st, GRPC_STATUS_INVALID_ARGUMENT,
                  "tree_size");
    uint8_t junk[] = {0x0a, 0x05, 0x01};
    assert_status(rpc_unary_raw(d.conn, M_PROVEN, mla_slice_make(junk, 3), NULL, &st), st,
                  GRPC_STATUS_INVALID_ARGUMENT, "GetProvenEntriesRequest");
    /* Too much for one message (1 MiB here): the longest prefix that fits. */
    uint64_t bigs[40];
    for (size_t i = 0; i < 40; i++) bigs[i] = big;
    ck_assert_int_eq(proven_rpc(&d, bigs, 40, 0, &r, &st), GRPC_STATUS_OK);
    ck_assert_uint_gt(r->n_entries, 0);
    ck_assert_uint_lt(r->n_entries, 40);
    mla_codec_rpc_free(&r->base);

    /* The client: any n, in chunks of 1000 and answered prefixes, each
     * entry proven against the checkpoint before the callback. */
    mla_client *c = NULL;
    mla_client_options o = {.target = d.target, .insecure = true, .verifier = &d.verifier};
    tu_assert_ok(mla_client_open(&c, &o));
    mla_buf note;
    mla_buf_init(&note, MLA_LOG_CHECKPOINT_MAX);
    mla_checkpoint ccp;
    tu_assert_ok(mla_client_checkpoint(c, &note, &ccp));
    static proven_seen seen;
    memset(&seen, 0, sizeof seen);
    seen.cp = &ccp;
    static uint64_t want[1500];
    for (size_t i = 0; i < 1500; i++) want[i] = i % 50 == 0 ? big : (i * 7) % size;
    tu_assert_ok(mla_client_entries_proven(c, want, 1500, &ccp, on_proven, &seen));
    ck_assert_uint_eq(seen.n, 1500);
    ck_assert(memcmp(seen.seqs, want, sizeof want) == 0);
    seen.n = 0;
    tu_assert_ok(mla_client_entries_proven(c, bigs, 40, &ccp, on_proven, &seen));
    ck_assert_uint_eq(seen.n, 40);
    tu_assert_ok(mla_client_entries_proven(c, NULL, 0, &ccp, on_proven, &seen));
    /* A seq past the checkpoint: refused before any call, naming it. */
    seen.n = 0;
    ck_assert_int_eq(mla_client_entries_proven(c, past, 2, &ccp, on_proven, &seen), MLA_EINVAL);
    ck_assert(strstr(mla_error_last()->msg, "seqs[1]") != NULL);
    ck_assert_uint_eq(seen.n, 0);
    /* A checkpoint whose root is not the server's: the first proof fails,
     * named by its seq, and nothing reaches the callback. */
    mla_checkpoint forged = ccp;
    forged.root.b[0] ^= 1;
    ck_assert_int_eq(mla_client_entries_proven(c, some, 5, &forged, on_proven, &seen),
                     MLA_ECORRUPT);
    ck_assert_msg(strstr(mla_error_last()->msg, "seq 7") != NULL, "%s", mla_error_last()->msg);
    ck_assert_uint_eq(seen.n, 0);
    mla_buf_dispose(&note);
    mla_client_close(c);
    mla_codec_rpc_free(cm);
    td_stop(&d);
}
END_TEST

/* ---- ResolveDecision
 * --------------------------------------------------------------- */

START_TEST(test_resolve_timeline_edges)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    rec_simple_model(&d, "fraud-a", "1");
    rec_simple_model(&d, "fraud-b", "1");
    int64_t t_a, t_b, t_full, t_ret;
    uint64_t dep_a = rec_deploy(&d, "fraud-api", "fraud-a", "1", "production", 1.0, NULL, &t_a);
    uint64_t dep_b = rec_deploy(&d, "fraud-api", "fraud-b", "1", "canary", 0.1, NULL, &t_b);
    uint64_t dep_full =
        rec_deploy(&d, "fraud-api", "fraud-b", "1", "production", 1.0, NULL, &t_full);
    uint64_t ret = rec_retire(&d, "fraud-api", "fraud-b", "1", &t_ret);
    ck_assert_int_lt(t_a, t_b);

    rpc_status st;
    /* Exactly at the deployment's time, that deployment is live. */
    Mlaudit__V1__ResolveDecisionResponse *r =
        resolve(&d, NULL, "fraud-api", t_a, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->n_serving, 1);
    ck_assert_str_eq(r->serving[0]->model->type, "model");
    ck_assert_str_eq(r->serving[0]->model->name, "fraud-a");
    ck_assert_str_eq(r->serving[0]->model->version, "1");
    ck_assert_str_eq(r->serving[0]->stage, "production");
    ck_assert_uint_eq(r->serving[0]->deployment_seq, dep_a);
    ck_assert_uint_eq(r->n_discrepancies, 0);
    ck_assert_ptr_null(r->decision);
    mla_codec_rpc_free(&r->base);

    /* Before any deployment: nothing serves, and it says so. */
    r = resolve(&d, NULL, "fraud-api", t_a - 1, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->n_serving, 0);
    ck_assert(has_discrepancy(r, "nothing was deployed"));
    mla_codec_rpc_free(&r->base);

    /* Canary: 10% to b, a scaled to 90%; the chain covers both. */
    r = resolve(&d, NULL, "fraud-api", t_b, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->n_serving, 2);
    ck_assert(serving_fraction(r, "fraud-a") > 0.899 && serving_fraction(r, "fraud-a") < 0.901);
    ck_assert(serving_fraction(r, "fraud-b") > 0.099 && serving_fraction(r, "fraud-b") < 0.101);
    bool saw_a = false, saw_b = false;
    for (size_t i = 0; i < r->n_deployment_entries; i++) {
        saw_a |= r->deployment_entries[i]->seq == dep_a;
        saw_b |= r->deployment_entries[i]->seq == dep_b;
    }
    ck_assert(saw_a && saw_b);
    mla_codec_rpc_free(&r->base);

    r = resolve(&d, NULL, "fraud-api", t_full, GRPC_STATUS_OK, &st);
    ck_assert_uint_eq(r->n_serving, 1);
    ck_assert_uint_eq(r->serving[0]->deployment_seq, dep_full);
    mla_codec_rpc_free(&r->base);

    /* After retirement: nothing serves. Time 0 means the latest state. */
    r = resolve(&d, NULL, "fraud-api", t_ret + 1000, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->n_serving, 0);
    ck_assert(has_discrepancy(r, "retired"));
    ck_assert_uint_eq(r->deployment_entries[r->n_deployment_entries - 1]->seq, ret);
    mla_codec_rpc_free(&r->base);
    r = resolve(&d, NULL, "fraud-api", 0, GRPC_STATUS_OK, &st);
    ck_assert_uint_eq(r->n_serving, 0);
    mla_codec_rpc_free(&r->base);

    /* Unknown target: nothing deployed. */
    r = resolve(&d, NULL, "no-such-api", t_b, GRPC_STATUS_OK, &st);
    ck_assert_uint_eq(r->n_serving, 0);
    ck_assert(has_discrepancy(r, "nothing was deployed"));
    mla_codec_rpc_free(&r->base);

    /* Refusals. */
    resolve(&d, NULL, NULL, 0, GRPC_STATUS_INVALID_ARGUMENT, &st);
    ck_assert(strstr(st.message, "decision_id") != NULL);
    resolve(&d, NULL, "fraud-api", -5, GRPC_STATUS_INVALID_ARGUMENT, &st);
    ck_assert(strstr(st.message, "time_ns") != NULL);
    resolve(&d, "never-made", NULL, 0, GRPC_STATUS_NOT_FOUND, &st);
    ck_assert(strstr(st.message, "decision_id") != NULL);
    uint8_t junk[] = {0x12};
    assert_status(rpc_unary_raw(d.conn, M_RESOLVE, mla_slice_make(junk, 1), NULL, &st), st,
                  GRPC_STATUS_INVALID_ARGUMENT, "ResolveDecisionRequest");
    td_stop(&d);
}
END_TEST

/* Decisions recorded at the edges of a timeline, resolved by id. */
START_TEST(test_resolve_decisions_by_id)
{
    srv d;
    const char *flags[] = {"--decision-batch-ms", "50", NULL};
    td_start_rpc(&d, ORIGIN, flags);
    rec_simple_model(&d, "fraud-a", "1");
    rec_simple_model(&d, "fraud-b", "1");
    int64_t t_a, t_b;
    rec_deploy(&d, "fraud-api", "fraud-a", "1", "production", 1.0, NULL, &t_a);
    rec_deploy(&d, "fraud-api", "fraud-b", "1", "canary", 0.1, NULL, &t_b);

    grpc_channel *ch = channel_new(d.target, false);
    stream s;
    stream_open(&s, ch, M_RECORD);
    dec_pb dp;
    send_decision(&s, decision(&dp, "d-canary", "fraud-api", t_b, "fraud-b", "1"));
    send_decision(&s, decision(&dp, "d-wrong", "fraud-api", t_a, "fraud-b", "1"));
    send_decision(&s, decision(&dp, "d-early", "fraud-api", t_a - 1, NULL, NULL));
    send_decision(&s, decision(&dp, "d-nowhere", "shadow-api", t_b, "fraud-a", "1"));
    stream_half_close(&s);
    ack a;
    uint64_t acked = 0;
    while (next_ack(&s, &a, 10000)) acked += a.count;
    ck_assert_uint_eq(acked, 4);
    ck_assert(stream_status(&s, 10000));
    ck_assert_int_eq(s.st.code, GRPC_STATUS_OK);
    stream_close(&s);
    channel_free(ch);

    rpc_status st;
    Mlaudit__V1__ResolveDecisionResponse *r = resolve(&d, "d-canary", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_str_eq(r->decision->id, "d-canary");
    ck_assert_uint_eq(r->n_serving, 2);
    ck_assert_uint_eq(r->n_discrepancies, 0);
    /* Sealed here: the log's own key signed the batch. */
    ck_assert_uint_eq(r->serving_key.len, 32);
    ck_assert(memcmp(r->serving_key.data, d.verifier.pub.b, 32) == 0);
    mla_codec_rpc_free(&r->base);

    /* With its target, the same answer. */
    r = resolve(&d, "d-canary", "fraud-api", 0, GRPC_STATUS_OK, &st);
    ck_assert_str_eq(r->decision->id, "d-canary");
    mla_codec_rpc_free(&r->base);
    resolve(&d, "d-canary", "other-api", 0, GRPC_STATUS_NOT_FOUND, &st);
    ck_assert(strstr(st.message, "decision_id") != NULL);

    /* A model that was not live at the decision's time. */
    r = resolve(&d, "d-wrong", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->n_serving, 1);
    ck_assert(has_discrepancy(r, "not serving"));
    mla_codec_rpc_free(&r->base);

    r = resolve(&d, "d-early", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->n_serving, 0);
    ck_assert(has_discrepancy(r, "nothing was deployed"));
    mla_codec_rpc_free(&r->base);

    /* A target with no deployment at all: recorded, and reported. */
    r = resolve(&d, "d-nowhere", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_str_eq(r->decision->target, "shadow-api");
    ck_assert(has_discrepancy(r, "nothing was deployed"));
    mla_codec_rpc_free(&r->base);
    td_stop(&d);
}
END_TEST

/* ---- RecordDecisions
 * ------------------------------------------------------------ */

START_TEST(test_decisions_sealed_by_count_then_by_time)
{
    srv d;
    const char *flags[] = {"--decision-batch-max", "4", "--decision-batch-ms", "300", NULL};
    td_start_rpc(&d, ORIGIN, flags);
    grpc_channel *ch = channel_new(d.target, false);
    stream s;
    stream_open(&s, ch, M_RECORD);
    int64_t t0 = mla_time_now_ns();
    send_decisions(&s, "c", "fraud-api", t0, 0, 10);
    ack a;
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_uint_eq(a.count, 4);
    ck_assert_str_eq(a.last_id, "c-3");
    uint64_t first_batch = a.batch_seq;
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_uint_eq(a.count, 4);
    ck_assert_str_eq(a.last_id, "c-7");
    ck_assert_uint_gt(a.batch_seq, first_batch);
    /* The last two are sealed by time, with the stream still open. */
    int64_t w0 = mono_ms();
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_uint_eq(a.count, 2);
    ck_assert_str_eq(a.last_id, "c-9");
    ck_assert_int_ge(mono_ms() - w0, 100);
    /* Half-close with nothing waiting: OK, no further ack. */
    stream_half_close(&s);
    ck_assert(!next_ack(&s, &a, 10000));
    ck_assert(stream_status(&s, 10000));
    ck_assert_int_eq(s.st.code, GRPC_STATUS_OK);
    stream_close(&s);

    /* Half-close seals what waits, acknowledges it, then OK. */
    stream_open(&s, ch, M_RECORD);
    send_decisions(&s, "h", "fraud-api", t0, 0, 3);
    stream_half_close(&s);
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_uint_eq(a.count, 3);
    ck_assert_str_eq(a.last_id, "h-2");
    ck_assert(!next_ack(&s, &a, 10000));
    ck_assert(stream_status(&s, 10000));
    ck_assert_int_eq(s.st.code, GRPC_STATUS_OK);
    stream_close(&s);
    channel_free(ch);

    rpc_status st;
    Mlaudit__V1__ResolveDecisionResponse *r = resolve(&d, "h-1", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->decision_index, 1);
    mla_codec_rpc_free(&r->base);
    td_stop(&d);
}
END_TEST

START_TEST(test_decisions_duplicates_and_order)
{
    srv d;
    const char *flags[] = {"--decision-batch-ms", "50", NULL};
    td_start_rpc(&d, ORIGIN, flags);
    grpc_channel *ch = channel_new(d.target, false);
    stream s;
    ack a;
    /* Out of order within a batch: the batch's range is min..max. */
    stream_open(&s, ch, M_RECORD);
    int64_t t = 1700000000000000000;
    dec_pb dp;
    send_decision(&s, decision(&dp, "o-1", "api", t + 300, NULL, NULL));
    send_decision(&s, decision(&dp, "o-2", "api", t + 100, NULL, NULL));
    send_decision(&s, decision(&dp, "o-3", "api", t + 200, NULL, NULL));
    stream_half_close(&s);
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_uint_eq(a.count, 3);
    uint64_t batch = a.batch_seq;
    ck_assert_int_eq(stream_finish(&s), GRPC_STATUS_OK);
    stream_close(&s);
    rpc_status st;
    Mlaudit__V1__ResolveDecisionResponse *r = resolve(&d, "o-2", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    mla_pb_change *c = change_of(r->batch_entry);
    ck_assert_int_eq(c->decision_batch->first_time_ns, t + 100);
    ck_assert_int_eq(c->decision_batch->last_time_ns, t + 300);
    ck_assert_uint_eq(c->decision_batch->count, 3);
    mla_codec_change_free(c);
    mla_codec_rpc_free(&r->base);

    /* Identical resend: skipped, acknowledged with the original batch. */
    uint64_t size = tree_size(&d);
    stream_open(&s, ch, M_RECORD);
    send_decision(&s, decision(&dp, "o-1", "api", t + 300, NULL, NULL));
    send_decision(&s, decision(&dp, "o-2", "api", t + 100, NULL, NULL));
    stream_half_close(&s);
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_uint_eq(a.count, 2);
    ck_assert_uint_eq(a.batch_seq, batch);
    ck_assert_int_eq(stream_finish(&s), GRPC_STATUS_OK);
    stream_close(&s);
    ck_assert_uint_eq(tree_size(&d), size);

    /* The same id with other bytes: ALREADY_EXISTS naming the item. */
    stream_open(&s, ch, M_RECORD);
    send_decision(&s, decision(&dp, "fresh", "api", t + 5, NULL, NULL));
    send_decision(&s, decision(&dp, "o-3", "api", t + 999, NULL, NULL));
    stream_half_close(&s);
    ck_assert_int_eq(stream_finish(&s), GRPC_STATUS_ALREADY_EXISTS);
    ck_assert_msg(strstr(s.st.message, "decisions[1]") && strstr(s.st.message, "o-3"), "%s",
                  s.st.message);
    stream_close(&s);
    ck_assert_uint_eq(tree_size(&d), size); /* the whole batch was refused */
    resolve(&d, "fresh", NULL, 0, GRPC_STATUS_NOT_FOUND, &st);
    channel_free(ch);
    td_stop(&d);
}
END_TEST

/* A batch of one: each decision is sealed as it comes, timer or not. */
START_TEST(test_decisions_batch_of_one)
{
    srv d;
    const char *flags[] = {"--decision-batch-max", "1", "--decision-batch-ms", "60000", NULL};
    td_start_rpc(&d, ORIGIN, flags);
    grpc_channel *ch = channel_new(d.target, false);
    stream s;
    stream_open(&s, ch, M_RECORD);
    send_decisions(&s, "one", "fraud-api", mla_time_now_ns(), 0, 2);
    ack a, b;
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert(next_ack(&s, &b, 10000));
    ck_assert_uint_eq(a.count, 1);
    ck_assert_str_eq(a.last_id, "one-0");
    ck_assert_str_eq(b.last_id, "one-1");
    ck_assert_uint_gt(b.batch_seq, a.batch_seq);
    stream_close(&s);
    channel_free(ch);
    td_stop(&d);
}
END_TEST

/* Cut after some acknowledgements: every acknowledged decision is there,
 * nothing unacknowledged is. */
START_TEST(test_decisions_cut_stream_keeps_only_acknowledged)
{
    srv d;
    const char *flags[] = {"--decision-batch-max", "4", "--decision-batch-ms", "60000", NULL};
    td_start_rpc(&d, ORIGIN, flags);
    grpc_channel *ch = channel_new(d.target, false);
    stream s;
    stream_open(&s, ch, M_RECORD);
    send_decisions(&s, "k", "fraud-api", mla_time_now_ns(), 0, 10);
    ack a;
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_str_eq(a.last_id, "k-7");
    stream_close(&s); /* cancels */
    channel_free(ch);
    rpc_status st;
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "k-%d", i);
        Mlaudit__V1__ResolveDecisionResponse *r =
            resolve(&d, id, NULL, 0, i < 8 ? GRPC_STATUS_OK : GRPC_STATUS_NOT_FOUND, &st);
        if (r) {
            assert_resolution(&d, r);
            mla_codec_rpc_free(&r->base);
        }
    }
    td_stop(&d);
}
END_TEST

/* A batch sealed and signed by the serving key its DEPLOYMENT named. */
/* Send a batch of decisions ds[0..n) on target, sealed and signed by key
 * (its root, count and time range computed here), naming model if given. */
static void send_sealed(stream *s, const mla_privkey *key, const char *target, const char *model,
                        mla_pb_decision **ds, size_t n, bool tamper)
{
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    int64_t first = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        mla_buf bytes;
        mla_buf_init(&bytes, 1 << 16);
        tu_assert_ok(mla_codec_decision_encode(&bytes, ds[i]));
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, mla_buf_slice(&bytes));
        tu_assert_ok(mla_merkle_frontier_append(&f, &leaf, NULL, NULL));
        mla_buf_dispose(&bytes);
        if (i == 0 || ds[i]->time_ns < first) first = ds[i]->time_ns;
        if (i == 0 || ds[i]->time_ns > last) last = ds[i]->time_ns;
    }
    mla_hash root;
    mla_merkle_frontier_root(&f, &root);
    if (tamper) ds[0]->input_digest.data[5] ^= 1; /* after the root was taken */
    mla_pb_change c;
    change_init(&c, MLAUDIT__V1__KIND__KIND_DECISION_BATCH, "serving@example.com");
    Mlaudit__V1__DecisionBatch b = MLAUDIT__V1__DECISION_BATCH__INIT;
    art_pb ma;
    b.target = keep(target);
    if (model) b.model = art(&ma, "model", model, "1");
    b.first_time_ns = first;
    b.last_time_ns = last;
    b.count = n;
    b.root.data = root.b;
    b.root.len = 32;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    c.decision_batch = &b;
    mla_buf env;
    mla_buf_init(&env, 1 << 20);
    const mla_privkey *keys[1] = {key};
    tu_assert_ok(mla_client_envelope_sign(&env, &c, keys, 1));
    ProtobufCMessage *em = NULL;
    tu_assert_ok(
        mla_codec_rpc_decode(&em, &mlaudit__v1__envelope__descriptor, mla_buf_slice(&env), "e"));
    Mlaudit__V1__RecordDecisionsRequest req = MLAUDIT__V1__RECORD_DECISIONS_REQUEST__INIT;
    req.item_case = MLAUDIT__V1__RECORD_DECISIONS_REQUEST__ITEM_SEALED_BATCH;
    req.sealed_batch = (Mlaudit__V1__Envelope *)em;
    req.batch_decisions = ds;
    req.n_batch_decisions = n;
    stream_send(s, &req.base);
    mla_codec_rpc_free(em);
    mla_buf_dispose(&env);
}

/* Batches sealed and signed by the serving key a DEPLOYMENT named. */
START_TEST(test_decisions_sealed_batch_from_serving_key)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    mla_privkey *serving;
    tu_assert_ok(mla_crypto_key_generate(&serving));
    rec_simple_model(&d, "fraud-a", "1");
    int64_t t_a;
    rec_deploy(&d, "fraud-api", "fraud-a", "1", "production", 1.0, mla_crypto_key_public(serving),
               &t_a);
    rpc_status st;
    dec_pb dps[3], xp;
    mla_pb_decision *ds[3];
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "s-%d", i);
        ds[i] = decision(&dps[i], id, "fraud-api", t_a + 2 - i, "fraud-a", "1");
    }
    mla_pb_decision *x = decision(&xp, "x-0", "fraud-api", t_a + 5, "fraud-x", "1");

    grpc_channel *ch = channel_new(d.target, false);
    stream s;
    stream_open(&s, ch, M_RECORD);
    send_sealed(&s, serving, "fraud-api", "fraud-a", ds, 3, false);
    ack a;
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_uint_eq(a.count, 3);
    ck_assert_str_eq(a.last_id, "s-2");
    /* A decision claiming another model than its batch names. */
    send_sealed(&s, serving, "fraud-api", "fraud-a", &x, 1, false);
    ck_assert(next_ack(&s, &a, 10000));
    ck_assert_str_eq(a.last_id, "x-0");
    /* Decisions that do not hash to the batch's root are refused. */
    dec_pb tp;
    mla_pb_decision *t = decision(&tp, "t-0", "fraud-api", t_a + 9, "fraud-a", "1");
    send_sealed(&s, serving, "fraud-api", "fraud-a", &t, 1, true);
    ck_assert_int_eq(stream_finish(&s), GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert_msg(strstr(s.st.message, "decisions[2]") && strstr(s.st.message, "root"), "%s",
                  s.st.message);
    stream_close(&s);
    channel_free(ch);
    resolve(&d, "t-0", NULL, 0, GRPC_STATUS_NOT_FOUND, &st);

    Mlaudit__V1__ResolveDecisionResponse *r = resolve(&d, "s-1", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert_uint_eq(r->serving_key.len, 32);
    ck_assert(memcmp(r->serving_key.data, mla_crypto_key_public(serving)->b, 32) == 0);
    ck_assert_uint_eq(r->n_discrepancies, 0);
    mla_codec_rpc_free(&r->base);
    r = resolve(&d, "x-0", NULL, 0, GRPC_STATUS_OK, &st);
    assert_resolution(&d, r);
    ck_assert(has_discrepancy(r, "not serving"));
    ck_assert(has_discrepancy(r, "its batch"));
    mla_codec_rpc_free(&r->base);
    mla_crypto_key_free(serving);
    td_stop(&d);
}
END_TEST

/* Each bad item ends the stream naming its index; acknowledged ones stay. */
static void assert_bad_item(srv *d, grpc_channel *ch,
                            const Mlaudit__V1__RecordDecisionsRequest *bad, const char *field)
{
    stream s;
    stream_open(&s, ch, M_RECORD);
    dec_pb dp;
    send_decision(&s, decision(&dp, "good", "api", 1700000000000000000, NULL, NULL));
    if (bad)
        stream_send(&s, &bad->base);
    else
        stream_send_bytes(&s, mla_slice_make("\xff\xff", 2));
    ck_assert_int_eq(stream_finish(&s), GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert_msg(strstr(s.st.message, field), "message \"%s\" does not name \"%s\"", s.st.message,
                  field);
    stream_close(&s);
    (void)d;
}

START_TEST(test_decisions_malformed_items_named)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    grpc_channel *ch = channel_new(d.target, false);
    Mlaudit__V1__RecordDecisionsRequest req = MLAUDIT__V1__RECORD_DECISIONS_REQUEST__INIT;
    assert_bad_item(&d, ch, NULL, "decisions[1]");
    assert_bad_item(&d, ch, &req, "decisions[1]: set decision or sealed_batch");
    dec_pb dp;
    req.item_case = MLAUDIT__V1__RECORD_DECISIONS_REQUEST__ITEM_DECISION;
    req.decision = decision(&dp, "x", "", 5, NULL, NULL);
    assert_bad_item(&d, ch, &req, "decisions[1].target: empty");
    req.decision = decision(&dp, "", "api", 5, NULL, NULL);
    assert_bad_item(&d, ch, &req, "decisions[1].id: empty");
    req.decision = decision(&dp, "x", "api", 0, NULL, NULL);
    assert_bad_item(&d, ch, &req, "decisions[1].time_ns");
    req.decision = decision(&dp, "x", "api", 5, NULL, NULL);
    dp.d.input_digest.len = 5;
    assert_bad_item(&d, ch, &req, "decisions[1].input_digest");
    req.decision = decision(&dp, "x", "api", 5, NULL, NULL);
    mla_pb_decision *extra[1] = {&dp.d};
    req.batch_decisions = extra;
    req.n_batch_decisions = 1;
    assert_bad_item(&d, ch, &req, "decisions[1].batch_decisions");
    Mlaudit__V1__Envelope env = MLAUDIT__V1__ENVELOPE__INIT;
    req.item_case = MLAUDIT__V1__RECORD_DECISIONS_REQUEST__ITEM_SEALED_BATCH;
    req.sealed_batch = &env;
    req.n_batch_decisions = 0;
    assert_bad_item(&d, ch, &req, "decisions[1].batch_decisions: empty");
    req.n_batch_decisions = 1;
    assert_bad_item(&d, ch, &req, "decisions[1].sealed_batch");
    channel_free(ch);
    /* The good decision before each bad one was never sealed (the stream
     * ended first): nothing half-recorded. */
    rpc_status st;
    resolve(&d, "good", NULL, 0, GRPC_STATUS_NOT_FOUND, &st);
    td_stop(&d);
}
END_TEST

/* ---- Subscribe
 * -------------------------------------------------------------------- */

static void subscribe_open(stream *s, grpc_channel *ch, uint64_t from, mla_kind kind,
                           const char *subject_name, const char *target)
{
    stream_open(s, ch, M_SUBSCRIBE);
    Mlaudit__V1__SubscribeRequest req = MLAUDIT__V1__SUBSCRIBE_REQUEST__INIT;
    req.from_seq = from;
    req.kind = kind;
    req.subject_name = (char *)(uintptr_t)(subject_name ? subject_name : "");
    req.target = (char *)(uintptr_t)(target ? target : "");
    stream_send(s, &req.base);
    stream_half_close(s);
}

/* The next entry's seq (its bytes checked against its leaf hash). */
static uint64_t next_entry(stream *s, size_t *n_violations, int timeout_ms)
{
    Mlaudit__V1__SubscribeResponse *r = (Mlaudit__V1__SubscribeResponse *)stream_next(
        s, &mlaudit__v1__subscribe_response__descriptor, timeout_ms);
    ck_assert_ptr_nonnull(r);
    assert_proven(r->entry, NULL, NULL);
    uint64_t seq = r->entry->seq;
    if (n_violations) *n_violations = r->n_violations;
    mla_codec_rpc_free(&r->base);
    return seq;
}

typedef struct flood {
    srv *d;
    int n;
} flood;

/* Appends n datasets one by one while the test reads. */
static void *flood_main(void *arg)
{
    flood *f = arg;
    for (int i = 0; i < f->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "live-%d", i);
        rec_dataset(f->d, name, "1", NULL);
    }
    return NULL;
}

START_TEST(test_subscribe_live_tail_with_filters)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    rec_simple_model(&d, "fraud-a", "1"); /* 0, 1 */
    uint64_t dep0 = rec_deploy(&d, "fraud-api", "fraud-a", "1", "production", 1.0, NULL, NULL);
    grpc_channel *ch = channel_new(d.target, false);
    stream all, deps, named;
    subscribe_open(&all, ch, 0, 0, NULL, NULL);
    subscribe_open(&deps, ch, 0, MLAUDIT__V1__KIND__KIND_DEPLOYMENT, NULL, "fraud-api");
    subscribe_open(&named, ch, 2, 0, "fraud-b", NULL);
    /* History first. */
    for (uint64_t i = 0; i < 3; i++) ck_assert_uint_eq(next_entry(&all, NULL, 10000), i);
    ck_assert_uint_eq(next_entry(&deps, NULL, 10000), dep0);
    /* Caught up: nothing more until the log grows. */
    mla_buf b;
    mla_buf_init(&b, 1 << 20);
    ck_assert_int_eq(stream_recv(&all, &b, 200), -1);
    /* Live. */
    uint64_t m_b = rec_simple_model(&d, "fraud-b", "1"); /* 3, 4 */
    uint64_t dep1 = rec_deploy(&d, "fraud-api", "fraud-b", "1", "canary", 0.2, NULL, NULL);
    uint64_t other = rec_deploy(&d, "other-api", "fraud-b", "1", "canary", 0.2, NULL, NULL);
    for (uint64_t i = 3; i <= other; i++) ck_assert_uint_eq(next_entry(&all, NULL, 10000), i);
    ck_assert_uint_eq(next_entry(&deps, NULL, 10000), dep1);
    ck_assert_int_eq(stream_recv(&deps, &b, 200), -1); /* other-api filtered out */
    ck_assert_uint_eq(next_entry(&named, NULL, 10000), m_b);
    ck_assert_uint_eq(next_entry(&named, NULL, 10000), dep1);
    ck_assert_uint_eq(next_entry(&named, NULL, 10000), other);
    mla_buf_dispose(&b);
    stream_close(&deps);
    stream_close(&named);
    /* Appends racing the tail: every one arrives, in order, none twice. */
    flood f = {&d, 150};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, flood_main, &f), 0);
    for (uint64_t i = other + 1; i <= other + (uint64_t)f.n; i++)
        ck_assert_uint_eq(next_entry(&all, NULL, 10000), i);
    pthread_join(th, NULL);
    stream_close(&all);

    /* Refusals. */
    stream s;
    subscribe_open(&s, ch, 1000, 0, NULL, NULL);
    ck_assert_int_eq(stream_finish(&s), GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert(strstr(s.st.message, "from_seq") != NULL);
    stream_close(&s);
    subscribe_open(&s, ch, 0, 99, NULL, NULL);
    ck_assert_int_eq(stream_finish(&s), GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert(strstr(s.st.message, "kind") != NULL);
    stream_close(&s);
    rpc_status st;
    uint8_t junk[] = {0x08};
    assert_status(rpc_unary_raw(d.conn, M_SUBSCRIBE, mla_slice_make(junk, 1), NULL, &st), st,
                  GRPC_STATUS_INVALID_ARGUMENT, "SubscribeRequest");
    channel_free(ch);
    td_stop(&d);
}
END_TEST

/* A consumer that stops reading is cut with its resume seq; the writers
 * never wait for it. */
START_TEST(test_subscribe_stalled_consumer_cut_with_resume_seq)
{
    srv d;
    const char *flags[] = {"--subscribe-lag-max", "200", NULL};
    td_start_rpc(&d, ORIGIN, flags);
    rec_batch(&d, "warm", 0, 10);
    grpc_channel *ch = channel_new(d.target, true);
    stream s;
    subscribe_open(&s, ch, 0, 0, NULL, NULL);
    ck_assert_uint_eq(next_entry(&s, NULL, 10000), 0);
    /* Stop reading, and append at full speed well past the lag limit: the
     * writers never wait for the subscriber. */
    int64_t slowest_ms = 0;
    size_t appended = 10;
    for (int round = 0; round < 5; round++) {
        int64_t t0 = mono_ms();
        rec_batch(&d, "flood", appended, 100);
        appended += 100;
        int64_t took = mono_ms() - t0;
        if (took > slowest_ms) slowest_ms = took;
    }
    /* Reading again: only what was in flight when the server cut it, then
     * the cut, naming the seq after the last entry delivered. */
    mla_buf b;
    mla_buf_init(&b, 1 << 20);
    uint64_t last = 0;
    size_t got = 0;
    for (;;) {
        int r = stream_recv(&s, &b, 10000);
        ck_assert_int_ge(r, 0);
        if (r == 0) break;
        Mlaudit__V1__SubscribeResponse *m = NULL;
        tu_assert_ok(mla_codec_rpc_decode((ProtobufCMessage **)&m,
                                          &mlaudit__v1__subscribe_response__descriptor,
                                          mla_buf_slice(&b), "response"));
        ck_assert_uint_eq(m->entry->seq, last + 1);
        last = m->entry->seq;
        mla_codec_rpc_free(&m->base);
        ck_assert_uint_lt(++got, 200);
    }
    mla_buf_dispose(&b);
    ck_assert(stream_status(&s, 10000));
    ck_assert_int_eq(s.st.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
    const char *p = strstr(s.st.message, "resume from seq ");
    ck_assert_msg(p != NULL, "%s", s.st.message);
    ck_assert(strstr(s.st.message, "subscriber fell behind") != NULL);
    uint64_t resume = strtoull(p + strlen("resume from seq "), NULL, 10);
    ck_assert_uint_eq(resume, last + 1);
    ck_assert_msg(slowest_ms < 5000, "an append batch took %lld ms", (long long)slowest_ms);
    stream_close(&s);
    /* Resuming there goes on from that very entry. */
    grpc_channel *ch2 = channel_new(d.target, false);
    subscribe_open(&s, ch2, resume, 0, NULL, NULL);
    ck_assert_uint_eq(next_entry(&s, NULL, 10000), resume);
    ck_assert_uint_eq(next_entry(&s, NULL, 10000), resume + 1);
    stream_close(&s);
    channel_free(ch2);
    channel_free(ch);
    td_stop(&d);
}
END_TEST

/* SIGTERM with subscribers parked and a decision stream open: both are
 * ended at once (UNAVAILABLE with where to resume; buffered decisions
 * sealed and acknowledged first), and the daemon exits well within its
 * grace period. */
START_TEST(test_sigterm_ends_live_streams_promptly)
{
    srv d;
    const char *flags[] = {"--decision-batch-ms", "60000", NULL};
    td_start_rpc(&d, ORIGIN, flags);
    rec_simple_model(&d, "fraud-a", "1");
    grpc_channel *ch = channel_new(d.target, false);
    stream subs[3], rec;
    for (int i = 0; i < 3; i++) {
        subscribe_open(&subs[i], ch, 0, 0, NULL, NULL);
        ck_assert_uint_eq(next_entry(&subs[i], NULL, 10000), 0);
        ck_assert_uint_eq(next_entry(&subs[i], NULL, 10000), 1);
    }
    stream_open(&rec, ch, M_RECORD);
    send_decisions(&rec, "t", "fraud-api", mla_time_now_ns(), 0, 5);
    mla_buf b;
    mla_buf_init(&b, 1 << 20);
    ck_assert_int_eq(stream_recv(&rec, &b, 300), -1); /* buffered, not yet sealed */
    int64_t took = td_terminate(&d);
    ck_assert_msg(took < 3000, "SIGTERM took %lld ms with live streams", (long long)took);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(stream_finish(&subs[i]), GRPC_STATUS_UNAVAILABLE);
        ck_assert_msg(strstr(subs[i].st.message, "resume from seq 2"), "%s", subs[i].st.message);
        stream_close(&subs[i]);
    }
    /* The pending receive gets the acknowledgement of the sealed five. */
    ck_assert_int_eq(stream_recv(&rec, &b, 10000), 1);
    Mlaudit__V1__RecordDecisionsResponse *a = NULL;
    tu_assert_ok(mla_codec_rpc_decode((ProtobufCMessage **)&a,
                                      &mlaudit__v1__record_decisions_response__descriptor,
                                      mla_buf_slice(&b), "ack"));
    ck_assert_uint_eq(a->count, 5);
    mla_codec_rpc_free(&a->base);
    ck_assert_int_eq(stream_finish(&rec), GRPC_STATUS_UNAVAILABLE);
    stream_close(&rec);
    mla_buf_dispose(&b);
    channel_free(ch);
    td_dispose(&d);
}
END_TEST

/* ---- policy
 * ---------------------------------------------------------------------- */

START_TEST(test_policy_audit_violations_reach_subscribers)
{
    srv d;
    td_init_rpc(&d, ORIGIN);
    char policy[450];
    snprintf(policy, sizeof policy, "%s/policy.ini", d.dir);
    td_write_file(policy, "[policy]\nmode = audit\nrequire_approval = true\n"
                          "require_inputs = training-data, code\n");
    const char *flags[] = {"--policy", policy, NULL};
    d.extra = flags;
    td_launch(&d, true);
    rec_simple_model(&d, "fraud-a", "1");
    grpc_channel *ch = channel_new(d.target, false);
    stream s;
    subscribe_open(&s, ch, 2, MLAUDIT__V1__KIND__KIND_DEPLOYMENT, NULL, NULL);
    uint64_t dep = rec_deploy(&d, "fraud-api", "fraud-a", "1", "production", 1.0, NULL, NULL);
    Mlaudit__V1__SubscribeResponse *r = (Mlaudit__V1__SubscribeResponse *)stream_next(
        &s, &mlaudit__v1__subscribe_response__descriptor, 10000);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->entry->seq, dep);
    ck_assert_uint_ge(r->n_violations, 2); /* no approval, no code input */
    bool approval = false;
    for (size_t i = 0; i < r->n_violations; i++) {
        ck_assert(strchr(r->violations[i], '\n') == NULL);
        ck_assert(r->violations[i][0] != '\0');
        if (strstr(r->violations[i], "APPROVAL")) approval = true;
    }
    ck_assert(approval);
    mla_codec_rpc_free(&r->base);
    stream_close(&s);
    channel_free(ch);
    td_stop(&d);

    /* A policy file that does not parse stops the start, naming the line. */
    td_init_rpc(&d, ORIGIN);
    snprintf(policy, sizeof policy, "%s/policy.ini", d.dir);
    td_write_file(policy, "[policy]\nmode = sometimes\n");
    const char *args[] = {"--config",    d.config,   "--init", "--insecure", "--listen",
                          "127.0.0.1:0", "--policy", policy,   NULL};
    ck_assert_int_eq(td_run(&d, args), 2);
    mla_buf log;
    td_read_text(&log, d.log_path);
    ck_assert_msg(strstr((const char *)log.ptr, "mode") && strstr((const char *)log.ptr, "policy"),
                  "%s", (const char *)log.ptr);
    mla_buf_dispose(&log);
    td_dispose(&d);
}
END_TEST

static Suite *semantics_suite(void)
{
    Suite *s = suite_create("semantics");
    TCase *t = tcase_create("query");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_query_filters_and_pages);
    tcase_add_test(t, test_lineage_edges_carry_proofs);
    tcase_add_test(t, test_proven_entries_batch_with_limits);
    suite_add_tcase(s, t);
    t = tcase_create("resolve");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_resolve_timeline_edges);
    tcase_add_test(t, test_resolve_decisions_by_id);
    suite_add_tcase(s, t);
    t = tcase_create("decisions");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_decisions_sealed_by_count_then_by_time);
    tcase_add_test(t, test_decisions_duplicates_and_order);
    tcase_add_test(t, test_decisions_batch_of_one);
    tcase_add_test(t, test_decisions_cut_stream_keeps_only_acknowledged);
    tcase_add_test(t, test_decisions_sealed_batch_from_serving_key);
    tcase_add_test(t, test_decisions_malformed_items_named);
    suite_add_tcase(s, t);
    t = tcase_create("subscribe");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_subscribe_live_tail_with_filters);
    tcase_add_test(t, test_subscribe_stalled_consumer_cut_with_resume_seq);
    tcase_add_test(t, test_sigterm_ends_live_streams_promptly);
    suite_add_tcase(s, t);
    t = tcase_create("policy");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_policy_audit_violations_reach_subscribers);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(semantics_suite()); }
