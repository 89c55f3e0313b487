/* Unit suite for ledger/index, the read side: query (every filter, paging with
 * a stable cursor, validation), lineage (depth limits, cycles, truncation, a
 * generated 10,000-artifact graph against an independent BFS), deployment
 * timelines (edge cases of canary, promotion, rollback, retirement) and
 * decision proofs (found, missing, ambiguous, tampered). Records are made by
 * the real writer (index_write.c) over an in-memory store; entries are real
 * Entry bytes held by the test and read back through the reader callback. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "index/index.h"
#include "merkle/merkle.h"
#include "testutil.h"

/* ---- fixture: a ledger of entries held by the test ----------------------- */

/* Pending writes of a group commit, as the sequencer's view holds them. */
#define PEND_MAX 256
typedef struct pend {
    mla_buf k[PEND_MAX], v[PEND_MAX];
    size_t n;
} pend;

static mla_status pend_put(void *ctx, mla_slice key, mla_slice value)
{
    pend *p = ctx;
    ck_assert_uint_lt(p->n, PEND_MAX);
    mla_buf_init(&p->k[p->n], MLA_STORE_KEY_MAX);
    mla_buf_init(&p->v[p->n], MLA_STORE_VALUE_MAX);
    tu_assert_ok(mla_buf_set(&p->k[p->n], key));
    tu_assert_ok(mla_buf_set(&p->v[p->n], value));
    p->n++;
    return MLA_OK;
}

static mla_status pend_get(void *ctx, mla_slice key, mla_slice *value)
{
    pend *p = ctx;
    for (size_t i = p->n; i-- > 0;) {
        if (mla_slice_eq(mla_buf_slice(&p->k[i]), key)) {
            *value = mla_buf_slice(&p->v[i]);
            return MLA_OK;
        }
    }
    return MLA_ENOTFOUND;
}

static mla_status pend_scan(void *ctx, mla_slice prefix, mla_index_visit fn, void *fn_ctx)
{
    pend *p = ctx;
    for (size_t i = 0; i < p->n; i++) {
        if (p->k[i].len < prefix.len || memcmp(p->k[i].ptr, prefix.ptr, prefix.len) != 0) continue;
        mla_status rc = fn(fn_ctx, mla_buf_slice(&p->k[i]), mla_buf_slice(&p->v[i]));
        if (rc != MLA_OK) return rc;
    }
    return MLA_OK;
}

static void pend_dispose(pend *p)
{
    for (size_t i = 0; i < p->n; i++) {
        mla_buf_dispose(&p->k[i]);
        mla_buf_dispose(&p->v[i]);
    }
}

typedef struct fx {
    pend *pending; /* when set, new records go here instead of the store */
    mla_store *s;
    mla_buf *entries;
    size_t n, cap;
    int64_t now; /* ledger time of the next entry */
    int64_t step; /* added to now after each entry */
    mla_index_reader r;
} fx;

static mla_status read_entry(void *ctx, uint64_t seq, mla_buf *out)
{
    fx *f = ctx;
    if (seq >= f->n) return mla_err(MLA_ENOTFOUND, "entry %llu: none", (unsigned long long)seq);
    return mla_buf_set(out, mla_buf_slice(&f->entries[seq]));
}

static mla_status batch_put(void *ctx, mla_slice key, mla_slice value)
{
    return mla_store_batch_put(ctx, key, value);
}

static void fx_open(fx *f)
{
    memset(f, 0, sizeof *f);
    tu_assert_ok(mla_store_open_mem(&f->s));
    f->now = 1000;
    f->step = 10;
    f->r.view.store = f->s;
    f->r.read_entry = read_entry;
    f->r.read_ctx = f;
}

static void fx_close(fx *f)
{
    for (size_t i = 0; i < f->n; i++) mla_buf_dispose(&f->entries[i]);
    free(f->entries);
    mla_store_close(f->s);
}

/* An artifact parsed from "type:name@version", with a digest. */
typedef struct art {
    char buf[600];
    uint8_t digest[32];
    mla_pb_artifact a;
} art;

static void art_set(art *x, const char *identity)
{
    mla_pb_artifact a0 = MLAUDIT__V1__ARTIFACT__INIT;
    x->a = a0;
    ck_assert(strlen(identity) < sizeof x->buf);
    memcpy(x->buf, identity, strlen(identity) + 1);
    char *colon = strchr(x->buf, ':'), *at = strrchr(x->buf, '@');
    ck_assert_msg(colon && at && at > colon, "bad identity %s", identity);
    *colon = '\0';
    *at = '\0';
    x->a.type = x->buf;
    x->a.name = colon + 1;
    x->a.version = at + 1;
    mla_crypto_sha256((mla_hash *)x->digest, mla_slice_cstr(identity));
    x->a.digest.data = x->digest;
    x->a.digest.len = 32;
}

/* Record one change as entry f->n: real Entry bytes for the reader, and the
 * writer's index records in one store batch. */
static uint64_t append(fx *f, const mla_pb_change *c)
{
    mla_buf payload, entry;
    mla_buf_init(&payload, MLA_LIMIT_PAYLOAD_BYTES);
    mla_buf_init(&entry, MLA_LIMIT_ENTRY_BYTES);
    tu_assert_ok(mla_codec_change_encode(&payload, c));

    /* The index does not verify signatures: any 64 bytes and keyid will do. */
    uint8_t sig[64], prev[32];
    memset(sig, 0x5a, sizeof sig);
    memset(prev, 0, sizeof prev);
    char keyid[65];
    memset(keyid, 'a', 64);
    keyid[64] = '\0';
    mla_pb_signature s = MLAUDIT__V1__SIGNATURE__INIT, *sp = &s;
    s.sig.data = sig;
    s.sig.len = 64;
    s.keyid = keyid;
    mla_pb_envelope env = MLAUDIT__V1__ENVELOPE__INIT;
    env.payload.data = payload.ptr;
    env.payload.len = payload.len;
    env.payload_type = (char *)(uintptr_t)MLA_PAYLOAD_TYPE_CHANGE;
    env.signatures = &sp;
    env.n_signatures = 1;
    mla_pb_entry e = MLAUDIT__V1__ENTRY__INIT;
    e.seq = f->n;
    e.ledger_time_ns = f->now;
    e.prev_hash.data = prev;
    e.prev_hash.len = 32;
    e.envelope = &env;
    e.submitter = (char *)(uintptr_t) "test";
    tu_assert_ok(mla_codec_entry_encode(&entry, &e));
    mla_buf_dispose(&payload);

    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->entries = realloc(f->entries, f->cap * sizeof *f->entries);
        ck_assert(f->entries != NULL);
    }
    f->entries[f->n] = entry;
    uint64_t seq = f->n++;
    f->r.tree_size = f->n;
    f->now += f->step;

    if (f->pending) {
        tu_assert_ok(mla_index_entry_put(&f->r, seq, c, pend_put, f->pending));
        return seq;
    }
    mla_store_batch *b;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_index_entry_put(&f->r, seq, c, batch_put, b));
    tu_assert_ok(mla_store_write(f->s, b, false));
    mla_store_batch_free(b);
    return seq;
}

static const char *role_for(const char *identity)
{
    if (strncmp(identity, "dataset:", 8) == 0) return "training-data";
    if (strncmp(identity, "model:", 6) == 0) return "base-model";
    if (strncmp(identity, "code:", 5) == 0) return "code";
    return "parent-run";
}

/* A change of kind about subject (NULL: none) by actor, with inputs. */
static uint64_t add(fx *f, mla_kind kind, const char *subject, const char *actor,
                    const char *const *inputs, size_t n_inputs)
{
    static art subj, ins[256];
    static const char *const seed[] = {"dataset:seed@1"};
    mla_pb_input in[256], *inp[256];
    Mlaudit__V1__Change__MetricsEntry metric = MLAUDIT__V1__CHANGE__METRICS_ENTRY__INIT,
                                      *metricp = &metric;
    ck_assert(n_inputs <= 256);
    if (kind == MLAUDIT__V1__KIND__KIND_MODEL && n_inputs == 0) {
        inputs = seed; /* the codec wants a MODEL built from something */
        n_inputs = 1;
    }
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = kind;
    c.reason = (char *)(uintptr_t) "unit test";
    c.actor = (char *)(uintptr_t)(actor ? actor : "");
    if (subject) {
        art_set(&subj, subject);
        c.subject = &subj.a;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        mla_pb_input i0 = MLAUDIT__V1__INPUT__INIT;
        in[i] = i0;
        art_set(&ins[i], inputs[i]);
        in[i].artifact = &ins[i].a;
        in[i].role =
            (char *)(uintptr_t)(kind == MLAUDIT__V1__KIND__KIND_EVALUATION ? "evaluated-model"
                                                                           : role_for(inputs[i]));
        inp[i] = &in[i];
    }
    c.inputs = inp;
    c.n_inputs = n_inputs;
    if (kind == MLAUDIT__V1__KIND__KIND_EVALUATION) {
        metric.key = (char *)(uintptr_t) "accuracy";
        metric.value = 0.9;
        c.metrics = &metricp;
        c.n_metrics = 1;
    }
    return append(f, &c);
}

static uint64_t add_model(fx *f, const char *subject, const char *const *inputs, size_t n)
{
    return add(f, MLAUDIT__V1__KIND__KIND_MODEL, subject, "alice", inputs, n);
}

static uint64_t add_deploy(fx *f, const char *model, const char *target, const char *stage,
                           double fraction)
{
    art m;
    art_set(&m, model);
    Mlaudit__V1__Deployment d = MLAUDIT__V1__DEPLOYMENT__INIT;
    d.target = (char *)(uintptr_t)target;
    d.stage = (char *)(uintptr_t)stage;
    d.traffic_fraction = fraction;
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    c.reason = (char *)(uintptr_t) "deploy";
    c.actor = (char *)(uintptr_t) "deployer";
    c.subject = &m.a;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
    c.deployment = &d;
    return append(f, &c);
}

static uint64_t add_rollback(fx *f, const char *target, const char *to)
{
    art m;
    art_set(&m, to);
    Mlaudit__V1__Rollback rb = MLAUDIT__V1__ROLLBACK__INIT;
    rb.target = (char *)(uintptr_t)target;
    rb.to = &m.a;
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = MLAUDIT__V1__KIND__KIND_ROLLBACK;
    c.reason = (char *)(uintptr_t) "roll back";
    c.actor = (char *)(uintptr_t) "deployer";
    c.subject = &m.a;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
    c.rollback = &rb;
    return append(f, &c);
}

/* Retire model from target, or (model NULL) everything on it. */
static uint64_t add_retire(fx *f, const char *target, const char *model)
{
    art m;
    art_set(&m, model ? model : "service:target@1");
    Mlaudit__V1__Retirement rt = MLAUDIT__V1__RETIREMENT__INIT;
    rt.target = (char *)(uintptr_t)target;
    rt.artifact = model ? &m.a : NULL;
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = MLAUDIT__V1__KIND__KIND_RETIREMENT;
    c.reason = (char *)(uintptr_t) "retire";
    c.actor = (char *)(uintptr_t) "deployer";
    c.subject = &m.a;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
    c.retirement = &rt;
    return append(f, &c);
}

/* A batch's decisions as the test keeps them (bytes to compare with). */
typedef struct batch {
    mla_buf bytes[16];
    size_t n;
    mla_hash root;
    uint64_t seq;
} batch;

static void batch_dispose(batch *b)
{
    for (size_t i = 0; i < b->n; i++) mla_buf_dispose(&b->bytes[i]);
}

/* A DECISION_BATCH on target with decisions ids[0..n), and its records. */
static void add_batch_counted(fx *f, batch *out, const char *target, const char *const *ids,
                              size_t n, uint64_t count)
{
    mla_index_decision ds[16];
    mla_pb_decision *decoded[16];
    mla_merkle_frontier fr;
    mla_merkle_frontier_init(&fr);
    ck_assert(n <= 16);
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        uint8_t in[32], o[32];
        memset(in, (int)i + 1, 32);
        memset(o, 0xee, 32);
        mla_pb_decision d = MLAUDIT__V1__DECISION__INIT;
        d.id = (char *)(uintptr_t)ids[i];
        d.target = (char *)(uintptr_t)target;
        d.time_ns = f->now - 5;
        d.input_digest.data = in;
        d.input_digest.len = 32;
        d.output_digest.data = o;
        d.output_digest.len = 32;
        mla_buf_init(&out->bytes[i], MLA_LIMIT_DECISION_BYTES);
        tu_assert_ok(mla_codec_decision_encode(&out->bytes[i], &d));
        tu_assert_ok(mla_codec_decision_decode(&decoded[i], mla_buf_slice(&out->bytes[i])));
        ds[i].bytes = mla_buf_slice(&out->bytes[i]);
        ds[i].d = decoded[i];
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, ds[i].bytes);
        tu_assert_ok(mla_merkle_frontier_append(&fr, &leaf, NULL, NULL));
    }
    out->n = n;
    mla_merkle_frontier_root(&fr, &out->root);

    Mlaudit__V1__DecisionBatch db = MLAUDIT__V1__DECISION_BATCH__INIT;
    db.target = (char *)(uintptr_t)target;
    db.first_time_ns = db.last_time_ns = f->now - 5;
    db.count = count;
    db.root.data = out->root.b;
    db.root.len = 32;
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = MLAUDIT__V1__KIND__KIND_DECISION_BATCH;
    c.reason = (char *)(uintptr_t) "decisions";
    c.actor = (char *)(uintptr_t) "server";
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    c.decision_batch = &db;
    out->seq = append(f, &c);

    mla_store_batch *b;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_index_decisions_put(&f->r.view, out->seq, target, ds, n, batch_put, b));
    tu_assert_ok(mla_store_write(f->s, b, false));
    mla_store_batch_free(b);
    for (size_t i = 0; i < n; i++) mla_codec_decision_free(decoded[i]);
}

static void add_batch(fx *f, batch *out, const char *target, const char *const *ids, size_t n)
{
    add_batch_counted(f, out, target, ids, n, n);
}

/* ---- query ---------------------------------------------------------------- */

/* seq: time = 1000 + 10 * seq
 *  0 DATASET    dataset:d@1                alice
 *  1 MODEL      model:m@1   <- dataset:d@1 alice
 *  2 MODEL      model:m@2   <- dataset:d@1 bob
 *  3 EVALUATION evaluation:e@1 <- model:m@2 carol
 *  4 DEPLOYMENT model:m@2 on prod          deployer
 *  5 DEPLOYMENT model:m@1 on staging       deployer
 *  6 MODEL      model:other@1              alice
 *  7 ROLLBACK   prod to model:m@1          deployer */
static void query_ledger(fx *f)
{
    const char *d[] = {"dataset:d@1"}, *m2[] = {"model:m@2"};
    ck_assert_uint_eq(add(f, MLAUDIT__V1__KIND__KIND_DATASET, "dataset:d@1", "alice", NULL, 0), 0);
    ck_assert_uint_eq(add(f, MLAUDIT__V1__KIND__KIND_MODEL, "model:m@1", "alice", d, 1), 1);
    ck_assert_uint_eq(add(f, MLAUDIT__V1__KIND__KIND_MODEL, "model:m@2", "bob", d, 1), 2);
    ck_assert_uint_eq(add(f, MLAUDIT__V1__KIND__KIND_EVALUATION, "evaluation:e@1", "carol", m2, 1),
                      3);
    ck_assert_uint_eq(add_deploy(f, "model:m@2", "prod", "production", 1.0), 4);
    ck_assert_uint_eq(add_deploy(f, "model:m@1", "staging", "staging", 1.0), 5);
    ck_assert_uint_eq(add(f, MLAUDIT__V1__KIND__KIND_MODEL, "model:other@1", "alice", NULL, 0), 6);
    ck_assert_uint_eq(add_rollback(f, "prod", "model:m@1"), 7);
}

/* Run q and compare with want (n_want seqs) and the expected cursor. */
static void expect_query(fx *f, const mla_index_query *q, const uint64_t *want, size_t n_want,
                         uint64_t want_next)
{
    uint64_t seqs[MLA_INDEX_PAGE_MAX], next;
    size_t n;
    tu_assert_ok(mla_index_query_run(&f->r, q, seqs, &n, &next));
    ck_assert_uint_eq(n, n_want);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(seqs[i], want[i]);
    ck_assert_uint_eq(next, want_next);
}

#define EXPECT(f, q, ...)                                                                          \
    do {                                                                                           \
        const uint64_t want_[] = {__VA_ARGS__};                                                    \
        expect_query((f), (q), want_, sizeof want_ / sizeof want_[0], UINT64_MAX);                 \
    } while (0)
#define EXPECT_NONE(f, q) expect_query((f), (q), NULL, 0, UINT64_MAX)

START_TEST(test_index_query_by_subject_identity_and_scope)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    mla_index_query q = {.subject_type = "model", .subject_name = "m", .subject_version = "1"};
    EXPECT(&f, &q, 1, 5, 7); /* registered, deployed, rolled back to */
    q.subject_version = "2";
    EXPECT(&f, &q, 2, 4);
    q.subject_version = "9";
    EXPECT_NONE(&f, &q);
    q.subject_version = NULL;
    EXPECT(&f, &q, 1, 2, 4, 5, 7); /* every version of model:m */
    q.subject_version = "";
    EXPECT(&f, &q, 1, 2, 4, 5, 7); /* "" = any */
    mla_index_query t = {.subject_type = "model"}; /* no index: decoded */
    EXPECT(&f, &t, 1, 2, 4, 5, 6, 7);
    t.subject_type = "dataset";
    EXPECT(&f, &t, 0);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_by_kind_target_and_actor)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    mla_index_query q = {.kind = MLAUDIT__V1__KIND__KIND_MODEL};
    EXPECT(&f, &q, 1, 2, 6);
    q.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    EXPECT(&f, &q, 4, 5);
    q.kind = MLAUDIT__V1__KIND__KIND_APPROVAL;
    EXPECT_NONE(&f, &q);
    mla_index_query t = {.target = "prod"};
    EXPECT(&f, &t, 4, 7);
    t.kind = MLAUDIT__V1__KIND__KIND_ROLLBACK;
    EXPECT(&f, &t, 7);
    t.target = "nowhere";
    EXPECT_NONE(&f, &t);
    mla_index_query a = {.actor = "alice"};
    EXPECT(&f, &a, 0, 1, 6);
    a.actor = "deployer";
    EXPECT(&f, &a, 4, 5, 7);
    a.actor = "mallory";
    EXPECT_NONE(&f, &a);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_combines_criteria_beyond_the_chosen_index)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    /* scope index, actor and kind checked on the decoded entries */
    mla_index_query q = {.subject_type = "model", .subject_name = "m", .actor = "bob"};
    EXPECT(&f, &q, 2);
    q.actor = "deployer";
    EXPECT(&f, &q, 4, 5, 7);
    q.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    EXPECT(&f, &q, 4, 5);
    q.target = "staging";
    EXPECT(&f, &q, 5);
    /* identity index plus target */
    mla_index_query i = {
        .subject_type = "model", .subject_name = "m", .subject_version = "1", .target = "prod"};
    EXPECT(&f, &i, 7);
    mla_index_query ia = {
        .subject_type = "model", .subject_name = "m", .subject_version = "1", .actor = "alice"};
    EXPECT(&f, &ia, 1);
    /* target index plus subject type and actor */
    mla_index_query t = {.target = "prod", .subject_type = "model", .actor = "deployer"};
    EXPECT(&f, &t, 4, 7);
    t.subject_type = "dataset";
    EXPECT_NONE(&f, &t);
    /* actor index plus subject type and kind */
    mla_index_query a = {
        .actor = "alice", .subject_type = "model", .kind = MLAUDIT__V1__KIND__KIND_MODEL};
    EXPECT(&f, &a, 1, 6);
    /* kind index plus subject type */
    mla_index_query k = {.kind = MLAUDIT__V1__KIND__KIND_MODEL, .subject_type = "dataset"};
    EXPECT_NONE(&f, &k);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_time_range_is_half_open_ledger_time)
{
    fx f;
    fx_open(&f);
    query_ledger(&f); /* time of seq s is 1000 + 10 s */
    mla_index_query q = {.from_time_ns = 1010, .to_time_ns = 1040};
    EXPECT(&f, &q, 1, 2, 3);
    q.from_time_ns = 1011; /* between entries */
    EXPECT(&f, &q, 2, 3);
    q.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    EXPECT(&f, &q, 2);
    mla_index_query from = {.from_time_ns = 1050};
    EXPECT(&f, &from, 5, 6, 7);
    mla_index_query to = {.to_time_ns = 1001};
    EXPECT(&f, &to, 0);
    mla_index_query after = {.from_time_ns = 5000};
    EXPECT_NONE(&f, &after);
    mla_index_query empty = {.from_time_ns = 1020, .to_time_ns = 1020};
    EXPECT_NONE(&f, &empty);
    mla_index_query actor = {.actor = "deployer", .from_time_ns = 1041, .to_time_ns = 1070};
    EXPECT(&f, &actor, 5);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_equal_times_are_all_in_or_all_out)
{
    fx f;
    fx_open(&f);
    f.step = 0; /* a group commit: several entries share one ledger time */
    for (int i = 0; i < 5; i++) add_model(&f, "model:same@1", NULL, 0);
    f.step = 10;
    f.now = 1100;
    add_model(&f, "model:later@1", NULL, 0);
    mla_index_query q = {.from_time_ns = 1000, .to_time_ns = 1001};
    EXPECT(&f, &q, 0, 1, 2, 3, 4);
    q.from_time_ns = 1001;
    q.to_time_ns = 0;
    EXPECT(&f, &q, 5);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_answers_only_below_tree_size_and_from_start_seq)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    mla_index_query q = {.actor = "deployer", .start_seq = 5};
    EXPECT(&f, &q, 5, 7);
    q.start_seq = 8;
    EXPECT_NONE(&f, &q);
    q.start_seq = UINT64_MAX;
    EXPECT_NONE(&f, &q);
    f.r.tree_size = 5; /* a reader of an earlier tree */
    q.start_seq = 0;
    EXPECT(&f, &q, 4);
    mla_index_query all = {0};
    EXPECT(&f, &all, 0, 1, 2, 3, 4);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_pages_with_a_stable_cursor)
{
    fx f;
    fx_open(&f);
    char name[32];
    /* 25 models among other entries. */
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof name, "model:p@%d", i);
        add_model(&f, name, NULL, 0);
        if (i % 3 == 0) add_deploy(&f, name, "prod", "production", 1.0);
    }
    uint64_t all[64];
    size_t n_all = 0;
    for (uint64_t s = 0; s < f.n; s++) {
        mla_index_query one = {
            .kind = MLAUDIT__V1__KIND__KIND_MODEL, .start_seq = s, .page_size = 1};
        uint64_t seq, next;
        size_t n;
        tu_assert_ok(mla_index_query_run(&f.r, &one, &seq, &n, &next));
        if (n && seq == s) all[n_all++] = s;
    }
    ck_assert_uint_eq(n_all, 25);

    /* Pages of 10; entries appended between pages never shift a page. */
    uint64_t got[64], seqs[MLA_INDEX_PAGE_MAX], next;
    size_t n_got = 0, n, pages = 0;
    mla_index_query q = {.subject_type = "model",
                         .subject_name = "p",
                         .kind = MLAUDIT__V1__KIND__KIND_MODEL,
                         .page_size = 10};
    for (;;) {
        ck_assert_uint_lt(pages, 10);
        tu_assert_ok(mla_index_query_run(&f.r, &q, seqs, &n, &next));
        pages++;
        for (size_t i = 0; i < n; i++) got[n_got++] = seqs[i];
        if (next == UINT64_MAX) break;
        ck_assert_uint_eq(n, 10);
        ck_assert_uint_gt(next, seqs[n - 1]);
        if (pages == 1) add_model(&f, "model:p@late", NULL, 0); /* lands after every page */
        q.start_seq = next;
    }
    ck_assert_uint_eq(pages, 3);
    ck_assert_uint_eq(n_got, 26);
    for (size_t i = 0; i < 25; i++) ck_assert_uint_eq(got[i], all[i]);
    ck_assert_uint_eq(got[25], f.n - 1);

    /* The cursor is the next match's seq; page_size 0 means 100. */
    q.start_seq = 0;
    q.page_size = 25;
    tu_assert_ok(mla_index_query_run(&f.r, &q, seqs, &n, &next));
    ck_assert_uint_eq(n, 25);
    ck_assert_uint_eq(next, f.n - 1);
    q.page_size = 0;
    tu_assert_ok(mla_index_query_run(&f.r, &q, seqs, &n, &next));
    ck_assert_uint_eq(n, 26);
    ck_assert_uint_eq(next, UINT64_MAX);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_refuses_malformed_criteria_naming_the_field)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    uint64_t seqs[MLA_INDEX_PAGE_MAX], next = 7;
    size_t n = 7;
    mla_index_query q = {.subject_type = "model", .subject_version = "1"};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q, seqs, &n, &next), MLA_EINVAL,
                        "subject_version");
    ck_assert_uint_eq(n, 0);
    mla_index_query q2 = {.subject_name = "m"};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q2, seqs, &n, &next), MLA_EINVAL,
                        "subject_name");
    mla_index_query q3 = {.page_size = MLA_INDEX_PAGE_MAX + 1};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q3, seqs, &n, &next), MLA_EINVAL, "page_size");
    mla_index_query q4 = {.page_size = MLA_INDEX_PAGE_MAX};
    tu_assert_ok(mla_index_query_run(&f.r, &q4, seqs, &n, &next));
    ck_assert_uint_eq(n, 8);
    mla_index_query q5 = {.kind = (mla_kind)99};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q5, seqs, &n, &next), MLA_EINVAL, "kind");
    mla_index_query q6 = {.from_time_ns = 2000, .to_time_ns = 1000};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q6, seqs, &n, &next), MLA_EINVAL, "to_time_ns");
    mla_index_query q7 = {.from_time_ns = -1};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q7, seqs, &n, &next), MLA_EINVAL,
                        "from_time_ns");
    static char long_actor[MLA_STORE_KEY_MAX + 10];
    memset(long_actor, 'x', sizeof long_actor - 1);
    mla_index_query q8 = {.actor = long_actor};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q8, seqs, &n, &next), MLA_EINVAL, "actor");
    fx_close(&f);
}
END_TEST

START_TEST(test_index_query_reports_an_entry_that_no_longer_decodes)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    f.entries[2].ptr[f.entries[2].len - 1] ^= 0xff; /* tampered bytes */
    f.entries[2].len -= 3;
    uint64_t seqs[MLA_INDEX_PAGE_MAX], next;
    size_t n;
    mla_index_query q = {.subject_type = "model", .subject_name = "m", .actor = "bob"};
    tu_assert_fail_with(mla_index_query_run(&f.r, &q, seqs, &n, &next), MLA_ECORRUPT, "entry 2");
    fx_close(&f);
}
END_TEST

/* ---- lineage -------------------------------------------------------------- */

static const mla_index_edge *find_edge(const mla_index_lineage *l, const char *from, const char *to)
{
    for (size_t i = 0; i < l->n_edges; i++)
        if (strcmp(l->edges[i].from, from) == 0 && strcmp(l->edges[i].to, to) == 0)
            return &l->edges[i];
    return NULL;
}

/* dataset:raw@1 -> dataset:clean@1 -> model:base@1 -> model:tuned@1
 *                  code:train@1 ----^                 ^-- dataset:extra@1 */
static void chain_ledger(fx *f)
{
    const char *a[] = {"dataset:raw@1"}, *b[] = {"dataset:clean@1", "code:train@1"},
               *c[] = {"model:base@1", "dataset:extra@1"};
    add(f, MLAUDIT__V1__KIND__KIND_DATASET, "dataset:raw@1", "alice", NULL, 0);
    add(f, MLAUDIT__V1__KIND__KIND_DATASET, "dataset:clean@1", "alice", a, 1);
    add(f, MLAUDIT__V1__KIND__KIND_CODE, "code:train@1", "alice", NULL, 0);
    add_model(f, "model:base@1", b, 2);
    add_model(f, "model:tuned@1", c, 2);
}

START_TEST(test_index_lineage_upstream_and_downstream_to_a_depth)
{
    fx f;
    fx_open(&f);
    chain_ledger(&f);
    mla_index_lineage l;
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:tuned@1", false, 0));
    ck_assert_uint_eq(l.n_edges, 5);
    ck_assert(!l.truncated);
    const mla_index_edge *e = find_edge(&l, "model:base@1", "model:tuned@1");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->depth, 1);
    ck_assert_uint_eq(e->seq, 4);
    ck_assert_str_eq(e->role, "base-model");
    e = find_edge(&l, "dataset:clean@1", "model:base@1");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->depth, 2);
    ck_assert_str_eq(e->role, "training-data");
    e = find_edge(&l, "dataset:raw@1", "dataset:clean@1");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->depth, 3);
    ck_assert_uint_eq(e->seq, 1);
    /* breadth first: depths never decrease along the list */
    for (size_t i = 1; i < l.n_edges; i++)
        ck_assert_uint_le(l.edges[i - 1].depth, l.edges[i].depth);
    mla_index_lineage_dispose(&l);

    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:tuned@1", false, 1));
    ck_assert_uint_eq(l.n_edges, 2);
    mla_index_lineage_dispose(&l);
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:tuned@1", false, 2));
    ck_assert_uint_eq(l.n_edges, 4);
    mla_index_lineage_dispose(&l);

    /* Downstream: the same edges, from input to what was built from it. */
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "dataset:raw@1", true, 0));
    ck_assert_uint_eq(l.n_edges, 3);
    e = find_edge(&l, "dataset:raw@1", "dataset:clean@1");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->depth, 1);
    e = find_edge(&l, "model:base@1", "model:tuned@1");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->depth, 3);
    mla_index_lineage_dispose(&l);
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "dataset:raw@1", true, 2));
    ck_assert_uint_eq(l.n_edges, 2);
    mla_index_lineage_dispose(&l);

    /* Leaves: recorded, but nothing beyond them. */
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:tuned@1", true, 0));
    ck_assert_uint_eq(l.n_edges, 0);
    mla_index_lineage_dispose(&l);
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "dataset:extra@1", false, 0));
    ck_assert_uint_eq(l.n_edges, 0); /* only ever an input */
    mla_index_lineage_dispose(&l);

    /* A reader of an earlier tree does not see later edges. */
    f.r.tree_size = 4;
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "dataset:raw@1", true, 0));
    ck_assert_uint_eq(l.n_edges, 2);
    mla_index_lineage_dispose(&l);
    tu_assert_fail_with(mla_index_lineage_walk(&l, &f.r, "model:tuned@1", false, 0), MLA_ENOTFOUND,
                        "model:tuned@1");
    fx_close(&f);
}
END_TEST

START_TEST(test_index_lineage_refuses_unknown_identity_and_bad_depth)
{
    fx f;
    fx_open(&f);
    chain_ledger(&f);
    mla_index_lineage l;
    tu_assert_fail_with(mla_index_lineage_walk(&l, &f.r, "model:nope@1", false, 0), MLA_ENOTFOUND,
                        "identity");
    ck_assert_uint_eq(l.n_edges, 0);
    ck_assert_ptr_null(l.edges);
    tu_assert_fail_with(mla_index_lineage_walk(&l, &f.r, "model:tuned", false, 0), MLA_ENOTFOUND,
                        "identity"); /* a prefix of an identity is not one */
    tu_assert_fail_with(
        mla_index_lineage_walk(&l, &f.r, "model:tuned@1", false, MLA_INDEX_LINEAGE_DEPTH_MAX + 1),
        MLA_EINVAL, "depth");
    tu_assert_fail_with(mla_index_lineage_walk(&l, &f.r, "", false, 0), MLA_EINVAL, "identity");
    tu_assert_ok(
        mla_index_lineage_walk(&l, &f.r, "model:tuned@1", false, MLA_INDEX_LINEAGE_DEPTH_MAX));
    ck_assert_uint_eq(l.n_edges, 5);
    mla_index_lineage_dispose(&l);
    mla_index_lineage_dispose(NULL);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_lineage_cycles_end_with_each_edge_once)
{
    fx f;
    fx_open(&f);
    /* a <- b <- c <- a, and s <- s */
    const char *b[] = {"model:b@1"}, *c[] = {"model:c@1"}, *a[] = {"model:a@1"},
               *s[] = {"model:s@1"};
    add_model(&f, "model:a@1", b, 1);
    add_model(&f, "model:b@1", c, 1);
    add_model(&f, "model:c@1", a, 1);
    add_model(&f, "model:s@1", s, 1);
    mla_index_lineage l;
    for (int down = 0; down < 2; down++) {
        tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:a@1", down, 0));
        ck_assert_uint_eq(l.n_edges, 3);
        ck_assert_ptr_nonnull(find_edge(&l, "model:b@1", "model:a@1"));
        ck_assert_ptr_nonnull(find_edge(&l, "model:c@1", "model:b@1"));
        ck_assert_ptr_nonnull(find_edge(&l, "model:a@1", "model:c@1"));
        ck_assert_uint_eq(l.edges[2].depth, 3);
        mla_index_lineage_dispose(&l);
        tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:s@1", down, 0));
        ck_assert_uint_eq(l.n_edges, 1);
        ck_assert_str_eq(l.edges[0].from, "model:s@1");
        ck_assert_str_eq(l.edges[0].to, "model:s@1");
        mla_index_lineage_dispose(&l);
    }
    /* The same edge recorded by two entries is two edges (two seqs). */
    add_model(&f, "model:a@1", b, 1);
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:a@1", false, 1));
    ck_assert_uint_eq(l.n_edges, 2);
    ck_assert_uint_eq(l.edges[0].seq, 0);
    ck_assert_uint_eq(l.edges[1].seq, 4);
    mla_index_lineage_dispose(&l);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_lineage_stops_at_the_edge_limit_and_says_so)
{
    fx f;
    fx_open(&f);
    /* 392 entries of 256 inputs each: 100,352 edges into one model. */
    static char names[256][32];
    const char *in[256];
    for (int e = 0; e < 392; e++) {
        for (int i = 0; i < 256; i++) {
            snprintf(names[i], sizeof names[i], "dataset:s%d@%d", e, i);
            in[i] = names[i];
        }
        add_model(&f, "model:hub@1", in, 256);
    }
    mla_index_lineage l;
    int64_t t0 = mla_time_mono_ns();
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:hub@1", false, 0));
    fprintf(stderr, "index: lineage of %zu edges (truncated) in %.3f s\n", l.n_edges,
            (double)(mla_time_mono_ns() - t0) / 1e9);
    ck_assert_uint_eq(l.n_edges, MLA_INDEX_LINEAGE_EDGES_MAX);
    ck_assert(l.truncated);
    mla_index_lineage_dispose(&l);
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "dataset:s0@0", true, 0));
    ck_assert_uint_eq(l.n_edges, 1);
    ck_assert(!l.truncated);
    mla_index_lineage_dispose(&l);
    fx_close(&f);
}
END_TEST

/* The generated graph: 2,000 datasets, then 4 layers of 2,000 models. A
 * layer-1 model i is built from dataset 0 and dataset 1 + i % 1999; a model
 * i of layer L > 1 from models i and (7i + 3) % 2000 of layer L - 1. */
#define G_WIDTH 2000
#define G_LAYERS 5

static void g_name(char *out, size_t n, int layer, int i)
{
    if (layer == 0)
        snprintf(out, n, "dataset:d%d@1", i);
    else
        snprintf(out, n, "model:l%d-%d@1", layer, i);
}

static void g_inputs(int layer, int i, int in[2])
{
    if (layer == 1) {
        in[0] = 0;
        in[1] = 1 + i % (G_WIDTH - 1);
    } else {
        in[0] = i;
        in[1] = (7 * i + 3) % G_WIDTH;
    }
}

/* Edges per depth of an upstream walk from (layer, i), by a plain BFS over
 * the generator's own rules: the oracle for the index's answer. */
static size_t g_upstream_oracle(int layer, int i, size_t per_depth[G_LAYERS])
{
    static unsigned char seen[G_LAYERS][G_WIDTH];
    static int frontier[2][G_WIDTH];
    memset(seen, 0, sizeof seen);
    size_t total = 0, n = 1;
    frontier[0][0] = i;
    seen[layer][i] = 1;
    for (int l = layer, d = 1; l > 0; l--, d++) {
        size_t next = 0;
        per_depth[d] = 0;
        for (size_t k = 0; k < n; k++) {
            int in[2];
            g_inputs(l, frontier[(d - 1) % 2][k], in);
            per_depth[d] += 2;
            for (int j = 0; j < 2; j++) {
                if (seen[l - 1][in[j]]) continue;
                seen[l - 1][in[j]] = 1;
                frontier[d % 2][next++] = in[j];
            }
        }
        total += per_depth[d];
        n = next;
    }
    return total;
}

START_TEST(test_index_lineage_on_a_generated_graph_of_10000_artifacts)
{
    fx f;
    fx_open(&f);
    char subj[64], n0[64], n1[64];
    const char *in[2] = {n0, n1};
    int64_t t0 = mla_time_mono_ns();
    for (int i = 0; i < G_WIDTH; i++) {
        g_name(subj, sizeof subj, 0, i);
        add(&f, MLAUDIT__V1__KIND__KIND_DATASET, subj, "etl", NULL, 0);
    }
    for (int layer = 1; layer < G_LAYERS; layer++) {
        for (int i = 0; i < G_WIDTH; i++) {
            int ins[2];
            g_inputs(layer, i, ins);
            g_name(subj, sizeof subj, layer, i);
            g_name(n0, sizeof n0, layer - 1, ins[0]);
            g_name(n1, sizeof n1, layer - 1, ins[1]);
            add_model(&f, subj, in, 2);
        }
    }
    ck_assert_uint_eq(f.n, G_WIDTH * G_LAYERS);
    fprintf(stderr, "index: generated %zu artifacts in %.3f s\n", f.n,
            (double)(mla_time_mono_ns() - t0) / 1e9);

    /* Downstream of dataset 0: every layer-1 model, then every edge above. */
    mla_index_lineage l;
    t0 = mla_time_mono_ns();
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "dataset:d0@1", true, 0));
    double secs = (double)(mla_time_mono_ns() - t0) / 1e9;
    fprintf(stderr, "index: full-depth downstream walk, %zu edges, in %.3f s\n", l.n_edges, secs);
    ck_assert_uint_eq(l.n_edges, G_WIDTH + 3 * 2 * G_WIDTH);
    size_t per[G_LAYERS + 1] = {0};
    for (size_t k = 0; k < l.n_edges; k++) {
        ck_assert_uint_le(l.edges[k].depth, G_LAYERS);
        per[l.edges[k].depth]++;
    }
    ck_assert_uint_eq(per[1], G_WIDTH);
    ck_assert_uint_eq(per[2], 2 * G_WIDTH);
    ck_assert_uint_eq(per[3], 2 * G_WIDTH);
    ck_assert_uint_eq(per[4], 2 * G_WIDTH);
    ck_assert_msg(secs < 2.0, "full-depth walk took %.3f s", secs);
    mla_index_lineage_dispose(&l);
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "dataset:d0@1", true, 2));
    ck_assert_uint_eq(l.n_edges, 3 * G_WIDTH);
    mla_index_lineage_dispose(&l);

    /* Upstream of a few top models, against the oracle, at every depth. */
    const int tops[] = {0, 1, 999, 1998, 1999};
    for (size_t t = 0; t < sizeof tops / sizeof tops[0]; t++) {
        size_t want[G_LAYERS] = {0};
        size_t total = g_upstream_oracle(G_LAYERS - 1, tops[t], want);
        g_name(subj, sizeof subj, G_LAYERS - 1, tops[t]);
        t0 = mla_time_mono_ns();
        tu_assert_ok(mla_index_lineage_walk(&l, &f.r, subj, false, 0));
        secs = (double)(mla_time_mono_ns() - t0) / 1e9;
        ck_assert_uint_eq(l.n_edges, total);
        ck_assert_msg(secs < 2.0, "upstream walk took %.3f s", secs);
        size_t got[G_LAYERS + 1] = {0};
        for (size_t k = 0; k < l.n_edges; k++) got[l.edges[k].depth]++;
        for (int d = 1; d < G_LAYERS; d++) ck_assert_uint_eq(got[d], want[d]);
        mla_index_lineage_dispose(&l);
        for (unsigned depth = 1; depth < G_LAYERS; depth++) {
            size_t sum = 0;
            for (unsigned d = 1; d <= depth; d++) sum += want[d];
            tu_assert_ok(mla_index_lineage_walk(&l, &f.r, subj, false, depth));
            ck_assert_uint_eq(l.n_edges, sum);
            mla_index_lineage_dispose(&l);
        }
    }
    fx_close(&f);
}
END_TEST

/* ---- timelines ------------------------------------------------------------- */

typedef struct tl_seqs {
    uint64_t p, canary, promote, rollback, batch, retire_p, m3, retire_all;
} tl_seqs;

/* On target "prod" (and noise on "other"):
 *  t=100 DEPLOYMENT model:m@1 1.0 production
 *  t=200 DEPLOYMENT model:m@2 0.1 canary
 *  t=300 DEPLOYMENT model:m@2 1.0 production   (promotion)
 *  t=400 ROLLBACK   to model:m@1
 *  t=500 DECISION_BATCH                          (changes nothing)
 *  t=600 RETIREMENT of model:m@1                 (nothing live)
 *  t=700 DEPLOYMENT model:m@3 0.5 shadow
 *  t=800 RETIREMENT of everything */
static void timeline_ledger(fx *f, tl_seqs *s, batch *b)
{
    const char *ids[] = {"x1"};
    f->now = 100;
    s->p = add_deploy(f, "model:m@1", "prod", "production", 1.0);
    f->now = 150;
    add_deploy(f, "model:o@1", "other", "production", 1.0);
    f->now = 200;
    s->canary = add_deploy(f, "model:m@2", "prod", "canary", 0.1);
    f->now = 300;
    s->promote = add_deploy(f, "model:m@2", "prod", "production", 1.0);
    f->now = 400;
    s->rollback = add_rollback(f, "prod", "model:m@1");
    f->now = 505;
    add_batch(f, b, "prod", ids, 1);
    s->batch = b->seq;
    f->now = 600;
    s->retire_p = add_retire(f, "prod", "model:m@1");
    f->now = 700;
    s->m3 = add_deploy(f, "model:m@3", "prod", "shadow", 0.5);
    f->now = 800;
    s->retire_all = add_retire(f, "prod", NULL);
}

static void expect_chain(const mla_index_timeline *t, const uint64_t *want, size_t n)
{
    ck_assert_uint_eq(t->n_chain, n);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(t->chain[i], want[i]);
}

#define CHAIN(t, ...)                                                                              \
    do {                                                                                           \
        const uint64_t want_[] = {__VA_ARGS__};                                                    \
        expect_chain((t), want_, sizeof want_ / sizeof want_[0]);                                  \
    } while (0)

static const mla_index_serving *serving_of(const mla_index_timeline *t, const char *model)
{
    for (size_t i = 0; i < t->n_serving; i++)
        if (strcmp(t->serving[i].model, model) == 0) return &t->serving[i];
    return NULL;
}

START_TEST(test_index_timeline_before_any_deployment_serves_nothing)
{
    fx f;
    tl_seqs s;
    batch b;
    fx_open(&f);
    timeline_ledger(&f, &s, &b);
    mla_index_timeline t;
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", 99));
    ck_assert_uint_eq(t.n_serving, 0);
    ck_assert(!t.any_before);
    ck_assert_uint_eq(t.retired_seq, UINT64_MAX);
    CHAIN(&t, s.p); /* the first entry, whose empty back-link shows none before */
    mla_index_timeline_dispose(&t);
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "never-deployed", 10000));
    ck_assert_uint_eq(t.n_serving, 0);
    ck_assert(!t.any_before);
    ck_assert_uint_eq(t.n_chain, 0);
    mla_index_timeline_dispose(&t);
    tu_assert_fail_with(mla_index_timeline_at(&t, &f.r, "", 100), MLA_EINVAL, "target");
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_timeline_is_live_exactly_at_its_deployment_time)
{
    fx f;
    tl_seqs s;
    batch b;
    fx_open(&f);
    timeline_ledger(&f, &s, &b);
    mla_index_timeline t;
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", 100));
    ck_assert_uint_eq(t.n_serving, 1);
    ck_assert_str_eq(t.serving[0].model, "model:m@1");
    ck_assert_double_eq(t.serving[0].traffic_fraction, 1.0);
    ck_assert_str_eq(t.serving[0].stage, "production");
    ck_assert_uint_eq(t.serving[0].deployment_seq, s.p);
    ck_assert(t.any_before);
    CHAIN(&t, s.p, s.canary);
    mla_index_timeline_dispose(&t);
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", 199)); /* just before the canary */
    ck_assert_uint_eq(t.n_serving, 1);
    ck_assert_double_eq(t.serving[0].traffic_fraction, 1.0);
    mla_index_timeline_dispose(&t);
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_timeline_canary_beside_production_then_promotion)
{
    fx f;
    tl_seqs s;
    batch b;
    fx_open(&f);
    timeline_ledger(&f, &s, &b);
    mla_index_timeline t;
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", 200));
    ck_assert_uint_eq(t.n_serving, 2);
    const mla_index_serving *p = serving_of(&t, "model:m@1"), *c = serving_of(&t, "model:m@2");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(c);
    ck_assert_double_eq_tol(p->traffic_fraction, 0.9, 1e-12);
    ck_assert_str_eq(p->stage, "production");
    ck_assert_uint_eq(p->deployment_seq, s.p);
    ck_assert_double_eq_tol(c->traffic_fraction, 0.1, 1e-12);
    ck_assert_str_eq(c->stage, "canary");
    ck_assert_uint_eq(c->deployment_seq, s.canary);
    CHAIN(&t, s.p, s.canary, s.promote);
    mla_index_timeline_dispose(&t);

    /* Promotion to 1.0: the others are scaled to nothing and leave. */
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", 350));
    ck_assert_uint_eq(t.n_serving, 1);
    ck_assert_str_eq(t.serving[0].model, "model:m@2");
    ck_assert_double_eq(t.serving[0].traffic_fraction, 1.0);
    ck_assert_str_eq(t.serving[0].stage, "production");
    ck_assert_uint_eq(t.serving[0].deployment_seq, s.promote);
    CHAIN(&t, s.promote, s.rollback);
    mla_index_timeline_dispose(&t);
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_timeline_scales_several_models_in_proportion)
{
    fx f;
    fx_open(&f);
    f.now = 10;
    add_deploy(&f, "model:a@1", "t", "production", 1.0);
    add_deploy(&f, "model:b@1", "t", "canary", 0.1); /* a 0.9, b 0.1 */
    uint64_t c = add_deploy(&f, "model:c@1", "t", "canary", 0.1); /* scale 0.9 */
    mla_index_timeline t;
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "t", f.now));
    ck_assert_uint_eq(t.n_serving, 3);
    ck_assert_double_eq_tol(serving_of(&t, "model:a@1")->traffic_fraction, 0.81, 1e-12);
    ck_assert_double_eq_tol(serving_of(&t, "model:b@1")->traffic_fraction, 0.09, 1e-12);
    ck_assert_double_eq_tol(serving_of(&t, "model:c@1")->traffic_fraction, 0.1, 1e-12);
    ck_assert_uint_eq(serving_of(&t, "model:c@1")->deployment_seq, c);
    mla_index_timeline_dispose(&t);

    /* Redeploying a live model replaces its share; under 1 nothing scales. */
    fx g;
    fx_open(&g);
    add_deploy(&g, "model:a@1", "t", "canary", 0.2);
    add_deploy(&g, "model:b@1", "t", "canary", 0.3);
    add_deploy(&g, "model:a@1", "t", "canary", 0.5);
    tu_assert_ok(mla_index_timeline_at(&t, &g.r, "t", g.now));
    ck_assert_uint_eq(t.n_serving, 2);
    ck_assert_double_eq_tol(serving_of(&t, "model:a@1")->traffic_fraction, 0.5, 1e-12);
    ck_assert_double_eq_tol(serving_of(&t, "model:b@1")->traffic_fraction, 0.3, 1e-12);
    ck_assert_uint_eq(serving_of(&t, "model:a@1")->deployment_seq, 2);
    CHAIN(&t, 1, 2); /* b's deployment is the oldest behind what serves */
    mla_index_timeline_dispose(&t);
    fx_close(&g);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_timeline_rollback_serves_alone_with_its_last_stage)
{
    fx f;
    tl_seqs s;
    batch b;
    fx_open(&f);
    timeline_ledger(&f, &s, &b);
    mla_index_timeline t;
    /* The decision batch at 505 is on the target but changes nothing. */
    for (int64_t at = 400; at <= 599; at += 199) {
        tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", at));
        ck_assert_uint_eq(t.n_serving, 1);
        ck_assert_str_eq(t.serving[0].model, "model:m@1");
        ck_assert_double_eq(t.serving[0].traffic_fraction, 1.0);
        ck_assert_str_eq(t.serving[0].stage, "production");
        ck_assert_uint_eq(t.serving[0].deployment_seq, s.rollback);
        ck_assert_uint_eq(t.retired_seq, UINT64_MAX);
        /* from m@1's deployment (its stage) to the first entry after T */
        CHAIN(&t, s.p, s.canary, s.promote, s.rollback, s.retire_p);
        mla_index_timeline_dispose(&t);
    }
    /* Rollback to a model never deployed on the target: no stage known. */
    f.now = 1000;
    uint64_t rb = add_rollback(&f, "other", "model:never@1");
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "other", 1000));
    ck_assert_uint_eq(t.n_serving, 1);
    ck_assert_str_eq(t.serving[0].model, "model:never@1");
    ck_assert_str_eq(t.serving[0].stage, "");
    CHAIN(&t, rb);
    mla_index_timeline_dispose(&t);
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_timeline_after_a_retirement_serves_nothing)
{
    fx f;
    tl_seqs s;
    batch b;
    fx_open(&f);
    timeline_ledger(&f, &s, &b);
    mla_index_timeline t;
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", 650));
    ck_assert_uint_eq(t.n_serving, 0);
    ck_assert(t.any_before);
    ck_assert_uint_eq(t.retired_seq, s.retire_p);
    CHAIN(&t, s.retire_p, s.m3);
    mla_index_timeline_dispose(&t);
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", 700));
    ck_assert_uint_eq(t.n_serving, 1);
    ck_assert_str_eq(t.serving[0].model, "model:m@3");
    ck_assert_double_eq(t.serving[0].traffic_fraction, 0.5);
    ck_assert_str_eq(t.serving[0].stage, "shadow");
    ck_assert_uint_eq(t.retired_seq, UINT64_MAX);
    CHAIN(&t, s.m3, s.retire_all);
    mla_index_timeline_dispose(&t);
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "prod", INT64_MAX));
    ck_assert_uint_eq(t.n_serving, 0);
    ck_assert_uint_eq(t.retired_seq, s.retire_all);
    CHAIN(&t, s.retire_all);
    mla_index_timeline_dispose(&t);
    /* The other target is untouched by prod's retirements. */
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "other", INT64_MAX));
    ck_assert_uint_eq(t.n_serving, 1);
    ck_assert_str_eq(t.serving[0].model, "model:o@1");
    mla_index_timeline_dispose(&t);

    uint64_t *h;
    size_t n;
    tu_assert_ok(mla_index_target_history(&h, &n, &f.r, "prod"));
    ck_assert_uint_eq(n, 7); /* not the decision batch */
    const uint64_t want[] = {s.p, s.canary, s.promote, s.rollback, s.retire_p, s.m3, s.retire_all};
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(h[i], want[i]);
    mla_free(h);
    f.r.tree_size = s.rollback;
    tu_assert_ok(mla_index_target_history(&h, &n, &f.r, "prod"));
    ck_assert_uint_eq(n, 3);
    mla_free(h);
    tu_assert_ok(mla_index_target_history(&h, &n, &f.r, "nowhere"));
    ck_assert_uint_eq(n, 0);
    mla_free(h);
    tu_assert_fail_with(mla_index_target_history(&h, &n, &f.r, NULL), MLA_EINVAL, "target");
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_timeline_refuses_more_live_models_than_the_limit)
{
    fx f;
    fx_open(&f);
    char name[32];
    for (int i = 0; i <= MLA_INDEX_SERVING_MAX; i++) {
        snprintf(name, sizeof name, "model:x@%d", i);
        add_deploy(&f, name, "t", "canary", 0.01);
    }
    mla_index_timeline t;
    tu_assert_fail_with(mla_index_timeline_at(&t, &f.r, "t", f.now), MLA_ELIMIT, "target");
    ck_assert_uint_eq(t.n_serving, 0);
    ck_assert_ptr_null(t.chain);
    tu_assert_ok(mla_index_timeline_at(&t, &f.r, "t", f.now - 2 * f.step));
    ck_assert_uint_eq(t.n_serving, MLA_INDEX_SERVING_MAX);
    mla_index_timeline_dispose(&t);
    fx_close(&f);
}
END_TEST

/* ---- decisions -------------------------------------------------------------- */

START_TEST(test_index_decision_prove_finds_and_proves_in_the_batch_tree)
{
    fx f;
    batch b, other;
    fx_open(&f);
    const char *ids[] = {"d0", "d1", "d2", "d3", "d4", "d5", "d6"};
    add_model(&f, "model:m@1", NULL, 0);
    add_batch(&f, &b, "fraud", ids, 7);
    add_batch(&f, &other, "credit", ids + 5, 2);
    for (uint32_t i = 0; i < 7; i++) {
        mla_index_decision_found d;
        mla_buf_init(&d.decision, MLA_LIMIT_DECISION_BYTES);
        tu_assert_ok(mla_index_decision_prove(&d, &f.r, "fraud", ids[i]));
        ck_assert_uint_eq(d.batch_seq, b.seq);
        ck_assert_uint_eq(d.index, i);
        ck_assert_uint_eq(d.count, 7);
        ck_assert(mla_slice_eq(mla_buf_slice(&d.decision), mla_buf_slice(&b.bytes[i])));
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, mla_buf_slice(&b.bytes[i]));
        ck_assert(mla_hash_eq(&leaf, &d.leaf));
        ck_assert(mla_hash_eq(&d.root, &b.root));
        mla_merkle_proof p;
        p.n = d.path_len;
        memcpy(p.h, d.path, d.path_len * sizeof d.path[0]);
        tu_assert_ok(mla_merkle_inclusion_verify(&d.leaf, i, 7, &p, &b.root));
        mla_buf_dispose(&d.decision);
    }
    /* One decision alone in its batch: the root is its leaf, no path. */
    batch one;
    const char *solo[] = {"solo"};
    add_batch(&f, &one, "fraud", solo, 1);
    mla_index_decision_found d;
    mla_buf_init(&d.decision, MLA_LIMIT_DECISION_BYTES);
    tu_assert_ok(mla_index_decision_prove(&d, &f.r, NULL, "solo")); /* any target */
    ck_assert_uint_eq(d.count, 1);
    ck_assert_uint_eq(d.path_len, 0);
    ck_assert(mla_hash_eq(&d.leaf, &d.root));
    mla_buf_dispose(&d.decision);

    uint64_t seq;
    uint32_t idx;
    tu_assert_ok(mla_index_decision_find(&f.r.view, "credit", "d6", &seq, &idx));
    ck_assert_uint_eq(seq, other.seq);
    ck_assert_uint_eq(idx, 1);
    batch_dispose(&b);
    batch_dispose(&other);
    batch_dispose(&one);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_decision_prove_not_found_and_ambiguous)
{
    fx f;
    batch a, b;
    fx_open(&f);
    const char *ids[] = {"shared", "only-a"};
    add_batch(&f, &a, "fraud", ids, 2);
    add_batch(&f, &b, "credit", ids, 1);
    mla_index_decision_found d;
    mla_buf_init(&d.decision, MLA_LIMIT_DECISION_BYTES);
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "nope"), MLA_ENOTFOUND, "nope");
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, NULL, "nope"), MLA_ENOTFOUND, "id");
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "credit", "only-a"), MLA_ENOTFOUND,
                        "only-a");
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "", "shared"), MLA_EINVAL, "target");
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, "credit"));
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, "fraud"));
    tu_assert_ok(mla_index_decision_prove(&d, &f.r, "credit", "shared"));
    ck_assert_uint_eq(d.batch_seq, b.seq);
    tu_assert_ok(mla_index_decision_prove(&d, &f.r, NULL, "only-a"));
    ck_assert_uint_eq(d.batch_seq, a.seq);
    ck_assert_uint_eq(d.index, 1);
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", ""), MLA_EINVAL, "id");
    /* A reader of the tree before the credit batch sees one target only. */
    f.r.tree_size = b.seq;
    tu_assert_ok(mla_index_decision_prove(&d, &f.r, NULL, "shared"));
    ck_assert_uint_eq(d.batch_seq, a.seq);
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "credit", "shared"), MLA_ENOTFOUND,
                        "shared");
    mla_buf_dispose(&d.decision);
    batch_dispose(&a);
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

static void store_put(mla_store *s, mla_slice k, mla_slice v)
{
    mla_store_batch *b;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_put(b, k, v));
    tu_assert_ok(mla_store_write(s, b, false));
    mla_store_batch_free(b);
}

START_TEST(test_index_decision_prove_detects_tampered_decisions)
{
    fx f;
    batch b;
    fx_open(&f);
    const char *ids[] = {"a", "b", "c"};
    add_model(&f, "model:m@1", NULL, 0);
    add_batch(&f, &b, "fraud", ids, 3);
    uint8_t k[MLA_INDEX_DECISIONS_KEY_LEN];
    mla_index_decisions_key(k, b.seq);
    mla_buf rec, orig;
    mla_buf_init(&rec, 1 << 20);
    mla_buf_init(&orig, 1 << 20);
    tu_assert_ok(mla_store_get(f.s, mla_slice_make(k, sizeof k), &orig));
    mla_index_decision_found d;
    mla_buf_init(&d.decision, MLA_LIMIT_DECISION_BYTES);
    char want[32];
    snprintf(want, sizeof want, "batch %llu", (unsigned long long)b.seq);

    /* A changed output digest in decision c: the root no longer matches. */
    tu_assert_ok(mla_buf_set(&rec, mla_buf_slice(&orig)));
    rec.ptr[rec.len - 1] ^= 0x01;
    store_put(f.s, mla_slice_make(k, sizeof k), mla_buf_slice(&rec));
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "a"), MLA_ECORRUPT, want);

    /* A decision dropped from the record. */
    size_t first = 4 + b.bytes[0].len;
    store_put(f.s, mla_slice_make(k, sizeof k),
              mla_slice_make(orig.ptr, orig.len - 4 - b.bytes[2].len));
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "a"), MLA_ECORRUPT, want);

    /* A length that runs past the record. */
    tu_assert_ok(mla_buf_set(&rec, mla_buf_slice(&orig)));
    rec.ptr[first] = 0x7f;
    store_put(f.s, mla_slice_make(k, sizeof k), mla_buf_slice(&rec));
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "a"), MLA_ECORRUPT, want);

    /* The record restored, but the id index pointing at another decision. */
    store_put(f.s, mla_slice_make(k, sizeof k), mla_buf_slice(&orig));
    tu_assert_ok(mla_index_decision_prove(&d, &f.r, "fraud", "a"));
    uint8_t xk[64], xv[12];
    size_t xl = 0;
    xk[xl++] = MLA_INDEX_K_DECISION_ID;
    memcpy(xk + xl, "fraud", 6); /* with its 00 */
    xl += 6;
    xk[xl++] = 'a';
    mla_put_be64(xv, b.seq);
    xv[8] = xv[9] = xv[10] = 0;
    xv[11] = 2;
    store_put(f.s, mla_slice_make(xk, xl), mla_slice_make(xv, 12));
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "a"), MLA_ECORRUPT, want);
    xv[11] = 3; /* past the batch */
    store_put(f.s, mla_slice_make(xk, xl), mla_slice_make(xv, 12));
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "a"), MLA_ECORRUPT, want);
    mla_put_be64(xv, 0); /* at a seq with no decisions */
    xv[11] = 0;
    store_put(f.s, mla_slice_make(xk, xl), mla_slice_make(xv, 12));
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "a"), MLA_ECORRUPT, "batch 0");

    mla_buf_dispose(&d.decision);
    mla_buf_dispose(&rec);
    mla_buf_dispose(&orig);
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

START_TEST(test_index_decision_prove_detects_a_count_the_entry_does_not_match)
{
    fx f;
    batch b;
    fx_open(&f);
    const char *ids[] = {"a", "b"};
    add_batch_counted(&f, &b, "fraud", ids, 2, 3); /* root right, count wrong */
    mla_index_decision_found d;
    mla_buf_init(&d.decision, MLA_LIMIT_DECISION_BYTES);
    tu_assert_fail_with(mla_index_decision_prove(&d, &f.r, "fraud", "a"), MLA_ECORRUPT, "batch 0");
    mla_buf_dispose(&d.decision);
    batch_dispose(&b);
    fx_close(&f);
}
END_TEST

/* ---- reading through a view with pending writes -------------------------- */

START_TEST(test_index_readers_see_the_pending_writes_of_the_group)
{
    fx f;
    pend p;
    mla_index_pending pv = {.get = pend_get, .scan = pend_scan, .ctx = &p};
    fx_open(&f);
    query_ledger(&f); /* seqs 0-7 committed */
    memset(&p, 0, sizeof p);
    f.pending = &p;
    f.r.view.pending = &pv;
    const char *m1[] = {"model:m@1"};
    add_model(&f, "model:m@3", m1, 1); /* 8, time 1080 */
    add_model(&f, "model:m@4", m1, 1); /* 9, time 1090 */
    add_deploy(&f, "model:m@4", "prod", "canary", 0.25); /* 10, time 1100 */

    mla_index_query q = {.kind = MLAUDIT__V1__KIND__KIND_MODEL};
    EXPECT(&f, &q, 1, 2, 6, 8, 9);
    q.to_time_ns = 1090;
    EXPECT(&f, &q, 1, 2, 6, 8);
    q.from_time_ns = 1020;
    q.page_size = 2;
    expect_query(&f, &q, (const uint64_t[]){2, 6}, 2, 8);
    mla_index_query sc = {.subject_type = "model", .subject_name = "m", .start_seq = 6};
    EXPECT(&f, &sc, 7, 8, 9, 10);
    mla_index_query t = {.target = "prod", .actor = "deployer"};
    EXPECT(&f, &t, 4, 7, 10);

    mla_index_lineage l;
    tu_assert_ok(mla_index_lineage_walk(&l, &f.r, "model:m@1", true, 1));
    ck_assert_uint_eq(l.n_edges, 2);
    ck_assert_ptr_nonnull(find_edge(&l, "model:m@1", "model:m@4"));
    mla_index_lineage_dispose(&l);

    mla_index_timeline tl;
    tu_assert_ok(mla_index_timeline_at(&tl, &f.r, "prod", 1100));
    ck_assert_uint_eq(tl.n_serving, 2);
    ck_assert_double_eq_tol(serving_of(&tl, "model:m@1")->traffic_fraction, 0.75, 1e-12);
    ck_assert_double_eq_tol(serving_of(&tl, "model:m@4")->traffic_fraction, 0.25, 1e-12);
    mla_index_timeline_dispose(&tl);

    uint64_t *h;
    size_t n;
    tu_assert_ok(mla_index_name_history(&h, &n, &f.r, "model", "m"));
    ck_assert_uint_eq(n, 8);
    ck_assert_uint_eq(h[7], 10);
    mla_free(h);
    pend_dispose(&p);
    fx_close(&f);
}
END_TEST

/* ---- history and violations ---------------------------------------------- */

START_TEST(test_index_name_history_lists_every_version)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    uint64_t *h;
    size_t n;
    tu_assert_ok(mla_index_name_history(&h, &n, &f.r, "model", "m"));
    const uint64_t want[] = {1, 2, 4, 5, 7};
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(h[i], want[i]);
    mla_free(h);
    tu_assert_ok(mla_index_name_history(&h, &n, &f.r, "model", "nope"));
    ck_assert_uint_eq(n, 0);
    mla_free(h);
    f.r.tree_size = 3;
    tu_assert_ok(mla_index_name_history(&h, &n, &f.r, "model", "m"));
    ck_assert_uint_eq(n, 2);
    mla_free(h);
    tu_assert_fail_with(mla_index_name_history(&h, &n, &f.r, "", "m"), MLA_EINVAL, "type");
    tu_assert_fail_with(mla_index_name_history(&h, &n, &f.r, "model", NULL), MLA_EINVAL, "name");
    fx_close(&f);
}
END_TEST

START_TEST(test_index_violations_reads_the_recorded_text)
{
    fx f;
    fx_open(&f);
    query_ledger(&f);
    mla_store_batch *b;
    tu_assert_ok(mla_store_batch_new(&b));
    const char *text = "no APPROVAL by another key\nno EVALUATION\n";
    tu_assert_ok(mla_index_violation_put(4, mla_slice_cstr(text), batch_put, b));
    tu_assert_ok(mla_store_write(f.s, b, false));
    mla_store_batch_free(b);
    mla_buf out;
    mla_buf_init(&out, 1 << 16);
    tu_assert_ok(mla_index_violations(&f.r, 4, &out));
    ck_assert(mla_slice_eq(mla_buf_slice(&out), mla_slice_cstr(text)));
    tu_assert_fail_with(mla_index_violations(&f.r, 5, &out), MLA_ENOTFOUND, "seq");
    f.r.tree_size = 4;
    tu_assert_fail_with(mla_index_violations(&f.r, 4, &out), MLA_ENOTFOUND, "seq");
    mla_buf_dispose(&out);
    fx_close(&f);
}
END_TEST

static Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *t = tcase_create("query");
    tcase_add_test(t, test_index_query_by_subject_identity_and_scope);
    tcase_add_test(t, test_index_query_by_kind_target_and_actor);
    tcase_add_test(t, test_index_query_combines_criteria_beyond_the_chosen_index);
    tcase_add_test(t, test_index_query_time_range_is_half_open_ledger_time);
    tcase_add_test(t, test_index_query_equal_times_are_all_in_or_all_out);
    tcase_add_test(t, test_index_query_answers_only_below_tree_size_and_from_start_seq);
    tcase_add_test(t, test_index_query_pages_with_a_stable_cursor);
    tcase_add_test(t, test_index_query_refuses_malformed_criteria_naming_the_field);
    tcase_add_test(t, test_index_query_reports_an_entry_that_no_longer_decodes);
    suite_add_tcase(s, t);
    t = tcase_create("lineage");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_index_lineage_upstream_and_downstream_to_a_depth);
    tcase_add_test(t, test_index_lineage_refuses_unknown_identity_and_bad_depth);
    tcase_add_test(t, test_index_lineage_cycles_end_with_each_edge_once);
    tcase_add_test(t, test_index_lineage_stops_at_the_edge_limit_and_says_so);
    tcase_add_test(t, test_index_lineage_on_a_generated_graph_of_10000_artifacts);
    suite_add_tcase(s, t);
    t = tcase_create("timeline");
    tcase_add_test(t, test_index_timeline_before_any_deployment_serves_nothing);
    tcase_add_test(t, test_index_timeline_is_live_exactly_at_its_deployment_time);
    tcase_add_test(t, test_index_timeline_canary_beside_production_then_promotion);
    tcase_add_test(t, test_index_timeline_scales_several_models_in_proportion);
    tcase_add_test(t, test_index_timeline_rollback_serves_alone_with_its_last_stage);
    tcase_add_test(t, test_index_timeline_after_a_retirement_serves_nothing);
    tcase_add_test(t, test_index_timeline_refuses_more_live_models_than_the_limit);
    suite_add_tcase(s, t);
    t = tcase_create("decisions");
    tcase_add_test(t, test_index_decision_prove_finds_and_proves_in_the_batch_tree);
    tcase_add_test(t, test_index_decision_prove_not_found_and_ambiguous);
    tcase_add_test(t, test_index_decision_prove_detects_tampered_decisions);
    tcase_add_test(t, test_index_decision_prove_detects_a_count_the_entry_does_not_match);
    suite_add_tcase(s, t);
    t = tcase_create("pending");
    tcase_add_test(t, test_index_readers_see_the_pending_writes_of_the_group);
    suite_add_tcase(s, t);
    t = tcase_create("history");
    tcase_add_test(t, test_index_name_history_lists_every_version);
    tcase_add_test(t, test_index_violations_reads_the_recorded_text);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(index_suite()); }
