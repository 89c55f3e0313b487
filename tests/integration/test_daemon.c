/* Integration suite for mlauditd: each test starts the real daemon binary
 * ($MLAUDITD) on 127.0.0.1 port 0 in a fresh temp directory (plaintext on
 * loopback, port read from --port-file) and talks raw gRPC to it: every
 * served RPC's happy path with receipts and proofs verified, each kind of
 * bad input with its exact status code, the field named and nothing
 * changed, UNIMPLEMENTED methods, health, configuration refusals, and a
 * graceful SIGTERM that drains in-flight appends and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
#define M_ENTRIES "/mlaudit.v1.Ledger/GetEntries"
#define M_CHECKPOINT "/mlaudit.v1.Ledger/GetCheckpoint"
#define M_INCLUSION "/mlaudit.v1.Ledger/GetInclusionProof"
#define M_CONSISTENCY "/mlaudit.v1.Ledger/GetConsistencyProof"
#define M_HEALTH "/grpc.health.v1.Health/Check"

#define WAIT_STEP_MS 10
#define WAIT_MAX_MS 20000

/* A daemon under test: started from its configuration file (the ledger
 * keys from the file, the rest from flags), reached over raw gRPC. */
typedef td_daemon srv;

/* ---- envelopes ------------------------------------------------------------ */

typedef struct env_spec {
    const char *name; /* subject model name */
    const char *reason; /* NULL = a reason; "" = missing */
    const char *payload_type; /* NULL = the Change type */
    mla_privkey *signer; /* NULL = no signature */
    bool corrupt_sig;
    bool fake_sig; /* a well-formed signature that was never computed */
    size_t pad; /* extra payload bytes (as an attribute value chunked) */
} env_spec;

/* An Envelope message built without validation (free with
 * mla_codec_rpc_free), so tests can send what the server must refuse. */
static Mlaudit__V1__Envelope *env_new(const env_spec *s)
{
    td_model mc;
    td_model_change(&mc, s->name, "1");
    mla_hash digest;
    mla_crypto_sha256(&digest, mla_slice_cstr(s->name));
    memcpy(mc.digest, digest.b, sizeof mc.digest);
    mc.c.reason = (char *)(uintptr_t)(s->reason ? s->reason : "integration test");
    mc.c.actor = (char *)(uintptr_t) "ci@example.com";
    mc.subject.uri = (char *)(uintptr_t) "s3://models/x";
    mla_buf payload;
    mla_buf_init(&payload, 1 << 22);
    tu_assert_ok(mla_codec_rpc_encode(&payload, &mc.c.base));
    for (size_t i = 0; i < s->pad; i++) tu_assert_ok(mla_buf_append_byte(&payload, 0));

    mla_pb_envelope env = MLAUDIT__V1__ENVELOPE__INIT;
    mla_pb_signature sig = MLAUDIT__V1__SIGNATURE__INIT, *sigp = &sig;
    uint8_t sigbytes[64];
    char keyid[65];
    const char *type = s->payload_type ? s->payload_type : MLA_PAYLOAD_TYPE_CHANGE;
    env.payload_type = (char *)(uintptr_t)type;
    env.payload.data = payload.ptr;
    env.payload.len = payload.len;
    if (s->signer) {
        if (s->fake_sig)
            memset(sigbytes, 0x11, sizeof sigbytes);
        else
            tu_assert_ok(mla_crypto_dsse_sign(sigbytes, s->signer, mla_slice_cstr(type),
                                              mla_buf_slice(&payload)));
        if (s->corrupt_sig) sigbytes[10] ^= 0x40;
        mla_crypto_keyid(keyid, mla_crypto_key_public(s->signer));
        sig.keyid = keyid;
        sig.sig.data = sigbytes;
        sig.sig.len = 64;
        env.signatures = &sigp;
        env.n_signatures = 1;
    }
    mla_buf bytes;
    mla_buf_init(&bytes, 1 << 22);
    tu_assert_ok(mla_codec_rpc_encode(&bytes, &env.base));
    ProtobufCMessage *m = NULL;
    /* Unpacked as a generic message: no envelope validation here. */
    tu_assert_ok(
        mla_codec_rpc_decode(&m, &mlaudit__v1__envelope__descriptor, mla_buf_slice(&bytes), "e"));
    mla_buf_dispose(&bytes);
    mla_buf_dispose(&payload);
    return (Mlaudit__V1__Envelope *)m;
}

static grpc_status_code append(srv *d, const env_spec *s, Mlaudit__V1__AppendResponse **out,
                               rpc_status *st)
{
    Mlaudit__V1__AppendRequest req = MLAUDIT__V1__APPEND_REQUEST__INIT;
    req.envelope = env_new(s);
    ProtobufCMessage *resp = NULL;
    grpc_status_code code = rpc_unary(d->conn, M_APPEND, &req.base,
                                      &mlaudit__v1__append_response__descriptor, &resp, st);
    mla_codec_rpc_free(&req.envelope->base);
    if (out)
        *out = (Mlaudit__V1__AppendResponse *)resp;
    else if (resp)
        mla_codec_rpc_free(resp);
    return code;
}

static void append_ok(srv *d, const char *name, Mlaudit__V1__AppendResponse **out)
{
    env_spec s = {.name = name, .signer = d->admin};
    rpc_status st;
    grpc_status_code code = append(d, &s, out, &st);
    ck_assert_msg(code == GRPC_STATUS_OK, "append %s: code %d: %s", name, code, st.message);
}

/* ---- reading back -------------------------------------------------------------- */

/* The latest checkpoint, verified with the log's key. */
static void checkpoint(srv *d, mla_buf *note, mla_checkpoint *cp)
{
    Mlaudit__V1__GetCheckpointRequest req = MLAUDIT__V1__GET_CHECKPOINT_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    rpc_status st;
    ck_assert_int_eq(rpc_unary(d->conn, M_CHECKPOINT, &req.base,
                               &mlaudit__v1__get_checkpoint_response__descriptor, &m, &st),
                     GRPC_STATUS_OK);
    const Mlaudit__V1__GetCheckpointResponse *r = (const Mlaudit__V1__GetCheckpointResponse *)m;
    ck_assert_ptr_nonnull(r->checkpoint);
    mla_buf_init(note, 4096);
    tu_assert_ok(
        mla_buf_set(note, mla_slice_make(r->checkpoint->note.data, r->checkpoint->note.len)));
    mla_codec_rpc_free(m);
    tu_assert_ok(mla_note_checkpoint_open(cp, mla_buf_slice(note), &d->verifier, 1));
}

/* A receipt proves its entry: checkpoint signed by the log's key, leaf
 * included under the checkpoint's root. Returns the checkpoint's size. */
static uint64_t assert_receipt(srv *d, const Mlaudit__V1__Receipt *r, mla_hash *root_out)
{
    ck_assert_ptr_nonnull(r->checkpoint);
    ck_assert_ptr_nonnull(r->inclusion);
    ck_assert_uint_eq(r->leaf_hash.len, 32);
    mla_checkpoint cp;
    tu_assert_ok(mla_note_checkpoint_open(
        &cp, mla_slice_make(r->checkpoint->note.data, r->checkpoint->note.len), &d->verifier, 1));
    ck_assert_str_eq(cp.origin, "test.mlaudit.example/log");
    ck_assert_uint_eq(cp.size, r->inclusion->tree_size);
    ck_assert_uint_eq(r->inclusion->leaf_index, r->seq);
    ck_assert_uint_lt(r->seq, cp.size);
    ck_assert_int_gt(r->ledger_time_ns, 0);
    mla_merkle_proof p;
    mla_hash leaf;
    memcpy(leaf.b, r->leaf_hash.data, 32);
    proof_from(&p, r->inclusion->hashes, r->inclusion->n_hashes);
    tu_assert_ok(mla_merkle_inclusion_verify(&leaf, r->seq, cp.size, &p, &cp.root));
    if (root_out) *root_out = cp.root;
    return cp.size;
}

/* Nothing changed: the same signed checkpoint as before. */
static void assert_unchanged(srv *d, const mla_buf *before, uint64_t size, const char *what)
{
    mla_buf note;
    mla_checkpoint cp;
    checkpoint(d, &note, &cp);
    ck_assert_msg(cp.size == size, "%s: tree size %llu, want %llu", what,
                  (unsigned long long)cp.size, (unsigned long long)size);
    ck_assert_msg(mla_slice_eq(mla_buf_slice(&note), mla_buf_slice(before)),
                  "%s: the checkpoint changed", what);
    mla_buf_dispose(&note);
}

/* ---- Append ---------------------------------------------------------------------- */

START_TEST(test_append_returns_verifiable_receipt)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "fraud-model-%d", i);
        Mlaudit__V1__AppendResponse *r = NULL;
        append_ok(&d, name, &r);
        ck_assert_ptr_nonnull(r->receipt);
        ck_assert_uint_eq(r->receipt->seq, (uint64_t)i);
        ck_assert_uint_eq(assert_receipt(&d, r->receipt, NULL), (uint64_t)i + 1);
        mla_codec_rpc_free(&r->base);
    }
    mla_buf note;
    mla_checkpoint cp;
    checkpoint(&d, &note, &cp);
    ck_assert_uint_eq(cp.size, 3);
    mla_buf_dispose(&note);
    td_terminate(&d);
    /* The events: start (with the log key), listen (with the address),
     * shutdown and stopped, one JSON object per line. */
    ck_assert(td_log_has(&d, "\"event\":\"start\""));
    ck_assert(td_log_has(&d, "\"log_key\":\"test.mlaudit.example/log+"));
    char listen[200];
    snprintf(listen, sizeof listen, "\"event\":\"listen\",\"address\":\"%s\"", d.target);
    ck_assert_msg(td_log_has(&d, listen), "no %s", listen);
    ck_assert(td_log_has(&d, "\"event\":\"shutdown\",\"signal\":\"SIGTERM\""));
    ck_assert(td_log_has(&d, "\"event\":\"stopped\",\"tree_size\":3,\"drained\":true"));
    td_dispose(&d);
}
END_TEST

START_TEST(test_append_same_envelope_twice_yields_same_seq)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    Mlaudit__V1__AppendResponse *a = NULL, *b = NULL;
    append_ok(&d, "other", NULL);
    append_ok(&d, "retried", &a);
    append_ok(&d, "retried", &b);
    ck_assert_uint_eq(a->receipt->seq, 1);
    ck_assert_uint_eq(b->receipt->seq, 1);
    ck_assert_int_eq(a->receipt->ledger_time_ns, b->receipt->ledger_time_ns);
    ck_assert_mem_eq(a->receipt->leaf_hash.data, b->receipt->leaf_hash.data, 32);
    assert_receipt(&d, b->receipt, NULL);
    mla_buf note;
    mla_checkpoint cp;
    checkpoint(&d, &note, &cp);
    ck_assert_uint_eq(cp.size, 2);
    mla_buf_dispose(&note);
    mla_codec_rpc_free(&a->base);
    mla_codec_rpc_free(&b->base);
    td_stop(&d);
}
END_TEST

/* Each bad request: its SPEC §4 code, the field named, nothing changed,
 * and a "refused" event logged. */
START_TEST(test_append_bad_input_refused_and_changes_nothing)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    append_ok(&d, "good", NULL);
    mla_buf before;
    mla_checkpoint cp;
    checkpoint(&d, &before, &cp);
    mla_privkey *stranger = NULL;
    tu_assert_ok(mla_crypto_key_generate(&stranger));

    struct {
        const char *what;
        env_spec spec;
        grpc_status_code want;
        const char *field;
    } cases[] = {
        {"bad signature",
         {.name = "m1", .signer = d.admin, .corrupt_sig = true},
         GRPC_STATUS_PERMISSION_DENIED,
         "signature"},
        {"missing signature", {.name = "m2"}, GRPC_STATUS_INVALID_ARGUMENT, "signatures"},
        {"unknown key",
         {.name = "m3", .signer = stranger},
         GRPC_STATUS_PERMISSION_DENIED,
         "unknown key"},
        {"wrong payload type",
         {.name = "m4", .signer = d.admin, .payload_type = "text/plain"},
         GRPC_STATUS_INVALID_ARGUMENT,
         "payload_type"},
        {"missing reason",
         {.name = "m5", .signer = d.admin, .reason = ""},
         GRPC_STATUS_INVALID_ARGUMENT,
         "reason"},
        {"oversized envelope",
         {.name = "m6", .signer = d.admin, .fake_sig = true, .pad = 300000},
         GRPC_STATUS_INVALID_ARGUMENT,
         "envelope"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rpc_status st;
        grpc_status_code code = append(&d, &cases[i].spec, NULL, &st);
        ck_assert_msg(code == cases[i].want, "%s: status %d, want %d: %s", cases[i].what, code,
                      cases[i].want, st.message);
        ck_assert_msg(strstr(st.message, cases[i].field), "%s: message \"%s\" does not name %s",
                      cases[i].what, st.message, cases[i].field);
        assert_unchanged(&d, &before, 1, cases[i].what);
    }

    /* Bytes that are not an AppendRequest at all. */
    rpc_status st;
    uint64_t rnd = 42;
    uint8_t garbage[512];
    tu_rand_bytes(&rnd, garbage, sizeof garbage);
    grpc_status_code code =
        rpc_unary_raw(d.conn, M_APPEND, mla_slice_make(garbage, sizeof garbage), NULL, &st);
    assert_status(code, st, GRPC_STATUS_INVALID_ARGUMENT, "AppendRequest");
    assert_unchanged(&d, &before, 1, "garbage");

    /* A valid request cut short. */
    Mlaudit__V1__AppendRequest req = MLAUDIT__V1__APPEND_REQUEST__INIT;
    env_spec good = {.name = "truncated", .signer = d.admin};
    req.envelope = env_new(&good);
    mla_buf bytes;
    mla_buf_init(&bytes, 1 << 20);
    tu_assert_ok(mla_codec_rpc_encode(&bytes, &req.base));
    mla_codec_rpc_free(&req.envelope->base);
    code = rpc_unary_raw(d.conn, M_APPEND, mla_slice_make(bytes.ptr, bytes.len - 7), NULL, &st);
    assert_status(code, st, GRPC_STATUS_INVALID_ARGUMENT, "AppendRequest");
    assert_unchanged(&d, &before, 1, "truncated");
    mla_buf_dispose(&bytes);

    /* An AppendRequest without an envelope, and a call without a message. */
    Mlaudit__V1__AppendRequest empty = MLAUDIT__V1__APPEND_REQUEST__INIT;
    code = rpc_unary(d.conn, M_APPEND, &empty.base, NULL, NULL, &st);
    assert_status(code, st, GRPC_STATUS_INVALID_ARGUMENT, "envelope: missing");
    code = rpc_unary_empty(d.conn, M_APPEND, &st);
    assert_status(code, st, GRPC_STATUS_INVALID_ARGUMENT, "request");
    assert_unchanged(&d, &before, 1, "no message");

    /* A message over the request limit ([limits] request_bytes). */
    mla_buf huge;
    mla_buf_init(&huge, 20u << 20);
    tu_assert_ok(mla_buf_reserve(&huge, 17u << 20));
    memset(huge.ptr, 0x0a, 17u << 20);
    huge.len = 17u << 20;
    code = rpc_unary_raw(d.conn, M_APPEND, mla_buf_slice(&huge), NULL, &st);
    assert_status(code, st, GRPC_STATUS_RESOURCE_EXHAUSTED, "request_bytes");
    mla_buf_dispose(&huge);
    assert_unchanged(&d, &before, 1, "oversized message");

    mla_crypto_key_free(stranger);
    mla_buf_dispose(&before);
    td_terminate(&d);
    ck_assert(td_log_has(&d, "\"event\":\"refused\",\"method\":\"/mlaudit.v1.Ledger/Append\","
                             "\"code\":\"PERMISSION_DENIED\""));
    ck_assert(td_log_has(&d, "\"code\":\"INVALID_ARGUMENT\",\"message\":\"change.reason"));
    ck_assert(
        td_log_has(&d, "\"code\":\"RESOURCE_EXHAUSTED\",\"message\":\"request: 17825792 bytes"));
    td_dispose(&d);
}
END_TEST

/* ---- AppendBatch ---------------------------------------------------------------- */

static grpc_status_code append_batch(srv *d, env_spec *specs, size_t n,
                                     Mlaudit__V1__AppendBatchResponse **out, rpc_status *st)
{
    Mlaudit__V1__AppendBatchRequest req = MLAUDIT__V1__APPEND_BATCH_REQUEST__INIT;
    Mlaudit__V1__Envelope *envs[16];
    ck_assert_uint_le(n, 16);
    for (size_t i = 0; i < n; i++) envs[i] = env_new(&specs[i]);
    req.envelopes = envs;
    req.n_envelopes = n;
    ProtobufCMessage *m = NULL;
    grpc_status_code code = rpc_unary(d->conn, M_BATCH, &req.base,
                                      &mlaudit__v1__append_batch_response__descriptor, &m, st);
    for (size_t i = 0; i < n; i++) mla_codec_rpc_free(&envs[i]->base);
    if (out)
        *out = (Mlaudit__V1__AppendBatchResponse *)m;
    else if (m)
        mla_codec_rpc_free(m);
    return code;
}

START_TEST(test_append_batch_is_atomic)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    env_spec specs[3] = {{.name = "b0", .signer = d.admin},
                         {.name = "b1", .signer = d.admin},
                         {.name = "b2", .signer = d.admin}};
    Mlaudit__V1__AppendBatchResponse *r = NULL;
    rpc_status st;
    ck_assert_int_eq(append_batch(&d, specs, 3, &r, &st), GRPC_STATUS_OK);
    ck_assert_uint_eq(r->n_receipts, 3);
    ck_assert_ptr_nonnull(r->checkpoint);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(r->receipts[i]->seq, i);
        ck_assert_uint_eq(assert_receipt(&d, r->receipts[i], NULL), 3);
    }
    mla_codec_rpc_free(&r->base);

    mla_buf before;
    mla_checkpoint cp;
    checkpoint(&d, &before, &cp);
    /* One bad envelope refuses the whole batch. */
    env_spec mixed[3] = {{.name = "c0", .signer = d.admin},
                         {.name = "c1", .signer = d.admin, .corrupt_sig = true},
                         {.name = "c2", .signer = d.admin}};
    grpc_status_code code = append_batch(&d, mixed, 3, NULL, &st);
    assert_status(code, st, GRPC_STATUS_PERMISSION_DENIED, "signature");
    assert_unchanged(&d, &before, 3, "batch with a bad signature");
    env_spec unreasoned[2] = {{.name = "e0", .signer = d.admin},
                              {.name = "e1", .signer = d.admin, .reason = ""}};
    code = append_batch(&d, unreasoned, 2, NULL, &st);
    assert_status(code, st, GRPC_STATUS_INVALID_ARGUMENT, "reason");
    code = append_batch(&d, NULL, 0, NULL, &st);
    assert_status(code, st, GRPC_STATUS_INVALID_ARGUMENT, "envelopes");
    assert_unchanged(&d, &before, 3, "empty batch");
    mla_buf_dispose(&before);
    td_stop(&d);
}
END_TEST

/* ---- GetEntries ------------------------------------------------------------------ */

typedef struct collected {
    size_t n_messages, n_entries;
    uint64_t seqs[64];
    mla_hash leaves[64];
} collected;

static void collect(void *ctx, mla_slice msg)
{
    collected *c = ctx;
    ProtobufCMessage *m = NULL;
    tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__get_entries_response__descriptor, msg,
                                      "GetEntriesResponse"));
    const Mlaudit__V1__GetEntriesResponse *r = (const Mlaudit__V1__GetEntriesResponse *)m;
    c->n_messages++;
    ck_assert_uint_le(r->n_entries, 2); /* --stream-entries 2 */
    for (size_t i = 0; i < r->n_entries; i++) {
        const Mlaudit__V1__StoredEntry *e = r->entries[i];
        ck_assert_uint_lt(c->n_entries, 64);
        ck_assert_uint_eq(e->leaf_hash.len, 32);
        /* RFC 6962 §2.1: the leaf hash is SHA-256(0x00 || entry bytes). */
        mla_hash h;
        uint8_t zero = 0;
        mla_slice parts[2] = {mla_slice_make(&zero, 1),
                              mla_slice_make(e->entry.data, e->entry.len)};
        mla_crypto_sha256_v(&h, parts, 2);
        ck_assert_mem_eq(h.b, e->leaf_hash.data, 32);
        mla_pb_entry *entry = NULL;
        tu_assert_ok(mla_codec_entry_decode(&entry, mla_slice_make(e->entry.data, e->entry.len)));
        ck_assert_uint_eq(entry->seq, e->seq);
        ck_assert_msg(strncmp(entry->submitter, "insecure:", 9) == 0, "submitter %s",
                      entry->submitter);
        mla_codec_entry_free(entry);
        c->seqs[c->n_entries] = e->seq;
        c->leaves[c->n_entries++] = h;
    }
    mla_codec_rpc_free(m);
}

static grpc_status_code get_entries(srv *d, uint64_t start, uint64_t end, collected *c,
                                    rpc_status *st)
{
    Mlaudit__V1__GetEntriesRequest req = MLAUDIT__V1__GET_ENTRIES_REQUEST__INIT;
    req.start = start;
    req.end = end;
    memset(c, 0, sizeof *c);
    return rpc_stream(d->conn, M_ENTRIES, &req.base, collect, c, st);
}

START_TEST(test_get_entries_streams_range_in_bounded_messages)
{
    const char *extra[] = {"--stream-entries", "2", NULL};
    srv d;
    td_start_rpc(&d, ORIGIN, extra);
    mla_hash leaves[5];
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "entry-%d", i);
        Mlaudit__V1__AppendResponse *r = NULL;
        append_ok(&d, name, &r);
        memcpy(leaves[i].b, r->receipt->leaf_hash.data, 32);
        mla_codec_rpc_free(&r->base);
    }
    collected c;
    rpc_status st;
    ck_assert_int_eq(get_entries(&d, 1, 0, &c, &st), GRPC_STATUS_OK);
    ck_assert_uint_eq(c.n_entries, 4);
    ck_assert_uint_eq(c.n_messages, 2);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(c.seqs[i], i + 1);
        ck_assert(mla_hash_eq(&c.leaves[i], &leaves[i + 1]));
    }
    ck_assert_int_eq(get_entries(&d, 0, 3, &c, &st), GRPC_STATUS_OK);
    ck_assert_uint_eq(c.n_entries, 3);
    ck_assert_uint_eq(c.n_messages, 2);
    ck_assert_int_eq(get_entries(&d, 5, 0, &c, &st), GRPC_STATUS_OK); /* empty range */
    ck_assert_uint_eq(c.n_messages, 0);

    assert_status(get_entries(&d, 6, 0, &c, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "start");
    assert_status(get_entries(&d, 0, 9, &c, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "end");
    assert_status(get_entries(&d, 4, 2, &c, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "end");
    uint8_t junk[3] = {0xff, 0xff, 0xff};
    assert_status(rpc_unary_raw(d.conn, M_ENTRIES, mla_slice_make(junk, 3), NULL, &st), st,
                  GRPC_STATUS_INVALID_ARGUMENT, "GetEntriesRequest");
    td_stop(&d);
}
END_TEST

/* ---- proofs -------------------------------------------------------------------- */

static grpc_status_code inclusion(srv *d, const Mlaudit__V1__GetInclusionProofRequest *req,
                                  Mlaudit__V1__GetInclusionProofResponse **out, rpc_status *st)
{
    ProtobufCMessage *m = NULL;
    grpc_status_code code =
        rpc_unary(d->conn, M_INCLUSION, &req->base,
                  &mlaudit__v1__get_inclusion_proof_response__descriptor, &m, st);
    if (out)
        *out = (Mlaudit__V1__GetInclusionProofResponse *)m;
    else if (m)
        mla_codec_rpc_free(m);
    return code;
}

static grpc_status_code consistency(srv *d, uint64_t from, uint64_t to,
                                    Mlaudit__V1__GetConsistencyProofResponse **out, rpc_status *st)
{
    Mlaudit__V1__GetConsistencyProofRequest req = MLAUDIT__V1__GET_CONSISTENCY_PROOF_REQUEST__INIT;
    req.from_size = from;
    req.to_size = to;
    ProtobufCMessage *m = NULL;
    grpc_status_code code =
        rpc_unary(d->conn, M_CONSISTENCY, &req.base,
                  &mlaudit__v1__get_consistency_proof_response__descriptor, &m, st);
    if (out)
        *out = (Mlaudit__V1__GetConsistencyProofResponse *)m;
    else if (m)
        mla_codec_rpc_free(m);
    return code;
}

START_TEST(test_proofs_by_seq_and_leaf_verify)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    env_spec first[3] = {{.name = "p0", .signer = d.admin},
                         {.name = "p1", .signer = d.admin},
                         {.name = "p2", .signer = d.admin}};
    env_spec second[2] = {{.name = "p3", .signer = d.admin}, {.name = "p4", .signer = d.admin}};
    Mlaudit__V1__AppendBatchResponse *r3 = NULL, *r5 = NULL;
    rpc_status st;
    ck_assert_int_eq(append_batch(&d, first, 3, &r3, &st), GRPC_STATUS_OK);
    ck_assert_int_eq(append_batch(&d, second, 2, &r5, &st), GRPC_STATUS_OK);
    mla_hash root3, root5;
    ck_assert_uint_eq(assert_receipt(&d, r3->receipts[1], &root3), 3);
    ck_assert_uint_eq(assert_receipt(&d, r5->receipts[0], &root5), 5);

    /* By seq in an older tree size. */
    Mlaudit__V1__GetInclusionProofRequest req = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__INIT;
    req.leaf_case = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_SEQ;
    req.seq = 1;
    req.tree_size = 3;
    Mlaudit__V1__GetInclusionProofResponse *ip = NULL;
    ck_assert_int_eq(inclusion(&d, &req, &ip, &st), GRPC_STATUS_OK);
    ck_assert_uint_eq(ip->proof->leaf_index, 1);
    ck_assert_uint_eq(ip->proof->tree_size, 3);
    ck_assert_mem_eq(ip->leaf_hash.data, r3->receipts[1]->leaf_hash.data, 32);
    mla_merkle_proof p;
    mla_hash leaf;
    memcpy(leaf.b, ip->leaf_hash.data, 32);
    proof_from(&p, ip->proof->hashes, ip->proof->n_hashes);
    tu_assert_ok(mla_merkle_inclusion_verify(&leaf, 1, 3, &p, &root3));
    mla_codec_rpc_free(&ip->base);

    /* By leaf hash, tree size 0 = the latest. */
    req.leaf_case = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH;
    req.leaf_hash = r3->receipts[2]->leaf_hash;
    req.tree_size = 0;
    ck_assert_int_eq(inclusion(&d, &req, &ip, &st), GRPC_STATUS_OK);
    ck_assert_uint_eq(ip->proof->leaf_index, 2);
    ck_assert_uint_eq(ip->proof->tree_size, 5);
    memcpy(leaf.b, req.leaf_hash.data, 32);
    proof_from(&p, ip->proof->hashes, ip->proof->n_hashes);
    tu_assert_ok(mla_merkle_inclusion_verify(&leaf, 2, 5, &p, &root5));
    mla_codec_rpc_free(&ip->base);

    /* Consistency 3 -> 5, and to_size 0 = the latest. */
    for (int latest = 0; latest < 2; latest++) {
        Mlaudit__V1__GetConsistencyProofResponse *cp = NULL;
        ck_assert_int_eq(consistency(&d, 3, latest ? 0 : 5, &cp, &st), GRPC_STATUS_OK);
        ck_assert_uint_eq(cp->proof->from_size, 3);
        ck_assert_uint_eq(cp->proof->to_size, 5);
        proof_from(&p, cp->proof->hashes, cp->proof->n_hashes);
        tu_assert_ok(mla_merkle_consistency_verify(3, 5, &root3, &root5, &p));
        mla_codec_rpc_free(&cp->base);
    }
    mla_codec_rpc_free(&r3->base);
    mla_codec_rpc_free(&r5->base);
    td_stop(&d);
}
END_TEST

START_TEST(test_proof_requests_out_of_range_refused)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    rpc_status st;
    Mlaudit__V1__GetInclusionProofRequest req = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__INIT;
    req.leaf_case = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_SEQ;
    req.seq = 0;
    /* An empty log includes nothing. */
    assert_status(inclusion(&d, &req, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "tree_size");
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%d", i);
        append_ok(&d, name, NULL);
    }
    mla_buf before;
    mla_checkpoint cp;
    checkpoint(&d, &before, &cp);

    req.seq = 2;
    assert_status(inclusion(&d, &req, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "seq");
    req.seq = 1;
    req.tree_size = 1;
    assert_status(inclusion(&d, &req, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "seq");
    req.tree_size = 3; /* larger than the log */
    assert_status(inclusion(&d, &req, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "tree_size");
    req.tree_size = 0;
    req.leaf_case = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF__NOT_SET;
    assert_status(inclusion(&d, &req, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "leaf");
    uint8_t h[32];
    memset(h, 0x5a, sizeof h);
    req.leaf_case = MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH;
    req.leaf_hash.data = h;
    req.leaf_hash.len = 31;
    assert_status(inclusion(&d, &req, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "leaf_hash");
    req.leaf_hash.len = 32;
    assert_status(inclusion(&d, &req, NULL, &st), st, GRPC_STATUS_NOT_FOUND, "leaf_hash");

    assert_status(consistency(&d, 0, 2, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "from_size");
    assert_status(consistency(&d, 1, 3, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "to_size");
    assert_status(consistency(&d, 2, 1, NULL, &st), st, GRPC_STATUS_INVALID_ARGUMENT, "from_size");
    uint8_t junk[2] = {0x08, 0x80};
    assert_status(rpc_unary_raw(d.conn, M_CONSISTENCY, mla_slice_make(junk, 2), NULL, &st), st,
                  GRPC_STATUS_INVALID_ARGUMENT, "GetConsistencyProofRequest");
    assert_unchanged(&d, &before, 2, "proof requests");
    mla_buf_dispose(&before);
    td_stop(&d);
}
END_TEST

/* ---- checkpoint, health, unimplemented ---------------------------------------- */

START_TEST(test_get_checkpoint_of_empty_and_grown_log)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    mla_buf note;
    mla_checkpoint cp;
    checkpoint(&d, &note, &cp);
    ck_assert_uint_eq(cp.size, 0);
    mla_buf_dispose(&note);
    append_ok(&d, "one", NULL);
    checkpoint(&d, &note, &cp);
    ck_assert_uint_eq(cp.size, 1);
    ck_assert_str_eq(cp.origin, "test.mlaudit.example/log");
    mla_buf_dispose(&note);
    td_stop(&d);
}
END_TEST

START_TEST(test_health_check_serving)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    rpc_status st;
    mla_buf resp;
    mla_buf_init(&resp, 64);
    ck_assert_int_eq(rpc_unary_raw(d.conn, M_HEALTH, mla_slice_make("", 0), &resp, &st),
                     GRPC_STATUS_OK);
    ck_assert_uint_eq(resp.len, 2);
    ck_assert_int_eq(resp.ptr[0], 0x08);
    ck_assert_int_eq(resp.ptr[1], 0x01); /* SERVING */
    const uint8_t named[] = "\x0a\x11mlaudit.v1.Ledger";
    ck_assert_int_eq(
        rpc_unary_raw(d.conn, M_HEALTH, mla_slice_make(named, sizeof named - 1), &resp, &st),
        GRPC_STATUS_OK);
    const uint8_t other[] = "\x0a\x05other";
    assert_status(
        rpc_unary_raw(d.conn, M_HEALTH, mla_slice_make(other, sizeof other - 1), NULL, &st), st,
        GRPC_STATUS_NOT_FOUND, "service");
    mla_buf_dispose(&resp);
    td_stop(&d);
}
END_TEST

/* Every Ledger method is served (ledger.proto); anything else is not. */
START_TEST(test_unknown_methods_unimplemented)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    rpc_status st;
    assert_status(rpc_unary_raw(d.conn, "/no.such.Service/Do", mla_slice_make("x", 1), NULL, &st),
                  st, GRPC_STATUS_UNIMPLEMENTED, "unknown method");
    assert_status(
        rpc_unary_raw(d.conn, "/grpc.health.v1.Health/Watch", mla_slice_make("", 0), NULL, &st), st,
        GRPC_STATUS_UNIMPLEMENTED, "Watch");
    /* The server still serves afterwards. */
    append_ok(&d, "after", NULL);
    td_terminate(&d);
    ck_assert(td_log_has(&d, "\"method\":\"/no.such.Service/Do\",\"code\":"
                             "\"UNIMPLEMENTED\""));
    td_dispose(&d);
}
END_TEST

/* ---- configuration --------------------------------------------------------------- */

START_TEST(test_insecure_on_non_loopback_refused)
{
    srv d;
    td_init_rpc(&d, ORIGIN);
    const char *args[] = {"--config", d.config,    "--init", "--insecure",
                          "--listen", "0.0.0.0:0", NULL};
    ck_assert_int_eq(td_run(&d, args), 2);
    ck_assert(td_file_has(d.log_path, "\"event\":\"config\""));
    ck_assert(td_file_has(d.log_path, "insecure: plaintext is allowed only on a loopback address"));
    /* And without --insecure, TLS is required. */
    const char *args2[] = {"--config", d.config, "--init", "--listen", "127.0.0.1:0", NULL};
    ck_assert_int_eq(td_run(&d, args2), 2);
    ck_assert(td_file_has(d.log_path, "tls_cert: required"));
    td_dispose(&d);
}
END_TEST

START_TEST(test_bad_config_refused_naming_the_key)
{
    srv d;
    td_init_rpc(&d, ORIGIN);
    struct {
        const char *conf;
        const char *flag, *value;
        const char *named;
    } cases[] = {
        {"[server]\nworkers = lots\n", NULL, NULL, "[server] workers: \\\"lots\\\""},
        {"[server]\ncolour = blue\n", NULL, NULL, "[server] colour: unknown key"},
        {"[ledger]\ncache_mb = 0\n", NULL, NULL, "[ledger] cache_mb"},
        {"[server]\ninsecure = maybe\n", NULL, NULL, "[server] insecure"},
        {"not an ini line\n", NULL, NULL, "bad.conf line 4"},
        {"[server]\n", "--workers", "0", "--workers"},
        {"[server]\n", "--listen", "127.0.0.1", "listen"},
        {"[server]\n", "--frobnicate", "1", "--frobnicate: unknown flag"},
        {"[ledger]\nadmin_keys =\n", NULL, NULL, "admin_keys"},
    };
    char bad_conf[450];
    snprintf(bad_conf, sizeof bad_conf, "%s/bad.conf", d.dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char conf[1024];
        snprintf(conf, sizeof conf, "[ledger]\ndata_dir = %s\nadmin_keys = %s\n%s", d.data,
                 d.admin_pub, cases[i].conf);
        td_write_file(bad_conf, conf);
        const char *args[] = {"--config",    bad_conf,      "--insecure",   "--listen",
                              "127.0.0.1:0", cases[i].flag, cases[i].value, NULL};
        if (!cases[i].flag) args[5] = NULL;
        int code = td_run(&d, args);
        mla_buf log;
        td_read_text(&log, d.log_path);
        ck_assert_msg(code == 2, "case %zu: exit %d: %s", i, code, (const char *)log.ptr);
        ck_assert_msg(strstr((const char *)log.ptr, cases[i].named), "case %zu: %s not in %s", i,
                      cases[i].named, (const char *)log.ptr);
        mla_buf_dispose(&log);
    }
    /* No data directory and no --init: refused, nothing created. */
    const char *args[] = {"--config", d.config, "--insecure", "--listen", "127.0.0.1:0", NULL};
    ck_assert_int_eq(td_run(&d, args), 2);
    ck_assert(td_file_has(d.log_path, "data_dir"));
    ck_assert_int_ne(access(d.data, F_OK), 0);
    td_dispose(&d);
}
END_TEST

/* A port already taken: exit 1 naming the listen address, not a hang. */
START_TEST(test_listen_address_in_use_refused)
{
    srv d, e;
    td_start_rpc(&d, ORIGIN, NULL);
    td_init_rpc(&e, ORIGIN);
    const char *args[] = {"--config", e.config, "--init", "--insecure", "--listen", d.target, NULL};
    ck_assert_int_eq(td_run(&e, args), 1);
    mla_buf log;
    td_read_text(&log, e.log_path);
    ck_assert_msg(strstr((const char *)log.ptr, "listen: cannot bind"), "%s",
                  (const char *)log.ptr);
    mla_buf_dispose(&log);
    td_dispose(&e);
    append_ok(&d, "still-serving", NULL);
    td_stop(&d);
}
END_TEST

/* The shipped example configuration is valid as it stands: with only the
 * paths and transport overridden by flags, the daemon starts from it. */
START_TEST(test_example_config_starts)
{
    const char *example = getenv("MLA_CONF_EXAMPLE");
    ck_assert_msg(example != NULL, "MLA_CONF_EXAMPLE is not set");
    srv d;
    td_init_rpc(&d, ORIGIN);
    const char *extra[] = {"--config",    example,     "--data-dir", d.data,
                           "--admin-key", d.admin_pub, "--origin",   "test.mlaudit.example/log",
                           NULL};
    d.extra = extra;
    td_launch(&d, true);
    append_ok(&d, "from-example", NULL);
    td_terminate(&d);
    ck_assert(td_log_has(&d, "\"workers\":32"));
    td_dispose(&d);
}
END_TEST

/* ---- shutdown --------------------------------------------------------------------- */

typedef struct load {
    srv *d;
    int id;
    int ok, refused;
    uint64_t max_seq;
    int other_code;
} load;

static void *append_loop(void *arg)
{
    load *l = arg;
    for (int i = 0; i < 100000; i++) {
        char name[48];
        snprintf(name, sizeof name, "load-%d-%d", l->id, i);
        env_spec s = {.name = name, .signer = l->d->admin};
        rpc_status st;
        Mlaudit__V1__AppendResponse *r = NULL;
        grpc_status_code code = append(l->d, &s, &r, &st);
        if (code != GRPC_STATUS_OK) {
            /* After shutdown starts, new calls are refused (UNAVAILABLE), or
             * dropped before any handler saw them (CANCELLED): never half-done. */
            if (code != GRPC_STATUS_UNAVAILABLE && code != GRPC_STATUS_CANCELLED)
                l->other_code = code;
            l->refused++;
            break;
        }
        l->ok++;
        if (r->receipt->seq > l->max_seq) l->max_seq = r->receipt->seq;
        mla_codec_rpc_free(&r->base);
    }
    return NULL;
}

/* SIGTERM under load: in-flight appends complete, the daemon exits 0, and
 * after a restart every acknowledged entry is there. */
START_TEST(test_sigterm_drains_inflight_appends_and_exits_zero)
{
    srv d;
    td_start_rpc(&d, ORIGIN, NULL);
    enum { N = 8 };
    load loads[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        loads[i] = (load){.d = &d, .id = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, append_loop, &loads[i]), 0);
    }
    /* Wait until appends are flowing, then stop the daemon under load. */
    for (int waited = 0;; waited += WAIT_STEP_MS) {
        int ok = 0;
        for (int i = 0; i < N; i++) ok += __atomic_load_n(&loads[i].ok, __ATOMIC_RELAXED);
        if (ok >= 40) break;
        ck_assert_msg(waited < WAIT_MAX_MS, "appends do not flow");
        td_sleep_ms(WAIT_STEP_MS);
    }
    ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    int code = td_wait(&d);
    ck_assert_int_eq(code, 0);
    int acked = 0;
    uint64_t max_seq = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_msg(loads[i].other_code == 0, "caller %d got status %d", i, loads[i].other_code);
        acked += loads[i].ok;
        if (loads[i].max_seq > max_seq) max_seq = loads[i].max_seq;
    }
    rpc_close(d.conn);
    ck_assert(td_file_has(d.log_path, "\"drained\":true"));

    /* Restart on the same data directory (and key): everything is there. */
    td_launch(&d, true);
    mla_buf note;
    mla_checkpoint cp;
    checkpoint(&d, &note, &cp);
    ck_assert_uint_ge(cp.size, (uint64_t)acked);
    ck_assert_uint_gt(cp.size, max_seq);
    mla_buf_dispose(&note);
    td_stop(&d);
}
END_TEST

static Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *t = tcase_create("append");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_append_returns_verifiable_receipt);
    tcase_add_test(t, test_append_same_envelope_twice_yields_same_seq);
    tcase_add_test(t, test_append_bad_input_refused_and_changes_nothing);
    tcase_add_test(t, test_append_batch_is_atomic);
    suite_add_tcase(s, t);
    t = tcase_create("read");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_get_entries_streams_range_in_bounded_messages);
    tcase_add_test(t, test_proofs_by_seq_and_leaf_verify);
    tcase_add_test(t, test_proof_requests_out_of_range_refused);
    tcase_add_test(t, test_get_checkpoint_of_empty_and_grown_log);
    suite_add_tcase(s, t);
    t = tcase_create("methods");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_health_check_serving);
    tcase_add_test(t, test_unknown_methods_unimplemented);
    suite_add_tcase(s, t);
    t = tcase_create("config");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_insecure_on_non_loopback_refused);
    tcase_add_test(t, test_bad_config_refused_naming_the_key);
    tcase_add_test(t, test_example_config_starts);
    tcase_add_test(t, test_listen_address_in_use_refused);
    suite_add_tcase(s, t);
    t = tcase_create("shutdown");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_sigterm_drains_inflight_appends_and_exits_zero);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(daemon_suite()); }
