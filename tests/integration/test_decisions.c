/* Integration suite "decisions": the C client's ML semantics against a real
 * mlauditd (started per test on 127.0.0.1, port 0, --insecure, in a mkdtemp
 * directory; $MLAUDITD names it): proven Query pages and lineage,
 * decision resolution and its offline verification against tampering, the
 * decision recorder (volume, a daemon killed mid-stream and restarted,
 * sealed batches signed by a serving key) and Subscribe with a filter.
 * Waits poll with deadlines; nothing sleeps to synchronise. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "daemon_util.h"
#include "rpc_util.h"
#include "testutil.h"

#define ORIGIN "decisions.mlaudit.example/log"
#define CALL_TIMEOUT_MS 15000
#define TARGET "fraud-api"

/* ---- the daemon --------------------------------------------------------- */

/* The daemon, started from flags; a restart keeps its data directory and
 * its port (the recorder reconnects to the same target). */
typedef td_daemon ledgerd;

/* Start a daemon with extra flags (NULL-ended, borrowed for restarts). */
static void daemon_start_with(ledgerd *d, const char *const *extra)
{
    td_init(d, ORIGIN);
    d->extra = extra;
    td_launch(d, true);
    ck_assert(snprintf(d->listen, sizeof d->listen, "%s", d->target) < (int)sizeof d->listen);
    d->client = td_client(d, &d->verifier, CALL_TIMEOUT_MS);
}

static void daemon_start(ledgerd *d) { daemon_start_with(d, NULL); }

/* Small batches: proving a decision rehashes its batch (index_decision.c),
 * so the volume tests resolve every decision in a few seconds. */
static const char *const small_batches[] = {"--decision-batch-max", "64", NULL};

/* ---- changes ------------------------------------------------------------ */

typedef struct art {
    mla_pb_artifact a;
    uint8_t digest[32];
} art;

static void art_set(art *x, const char *type, const char *name, const char *version, uint8_t dg)
{
    mla_pb_artifact a = MLAUDIT__V1__ARTIFACT__INIT;
    x->a = a;
    x->a.type = (char *)(uintptr_t)type;
    x->a.name = (char *)(uintptr_t)name;
    x->a.version = (char *)(uintptr_t)version;
    if (dg) {
        memset(x->digest, dg, sizeof x->digest);
        x->a.digest.data = x->digest;
        x->a.digest.len = sizeof x->digest;
    }
}

static uint64_t append_signed(ledgerd *d, const mla_pb_change *c)
{
    mla_buf env;
    mla_receipt r;
    mla_buf_init(&env, 1 << 20);
    tu_assert_ok(mla_client_envelope_sign(&env, c, (const mla_privkey *const *)&d->admin, 1));
    tu_assert_ok(mla_client_append(d->client, mla_buf_slice(&env), &r));
    mla_buf_dispose(&env);
    return r.seq;
}

static mla_pb_change change_of(mla_kind kind, const char *actor)
{
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = kind;
    c.actor = (char *)(uintptr_t)actor;
    c.reason = (char *)(uintptr_t) "decisions integration test";
    /* Each change is its own: an identical envelope would be a retry. */
    c.client_time_ns = mla_time_now_ns();
    return c;
}

/* A MODEL built from the inputs given (identity, role), each recorded as
 * an input edge. */
static uint64_t record_model(ledgerd *d, const char *name, const char *version, uint8_t dg,
                             const char *const *inputs, const char *const *roles, size_t n)
{
    art subj, in_arts[8];
    mla_pb_input ins[8], *insp[8];
    char bufs[8][256];
    ck_assert(n <= 8);
    art_set(&subj, "model", name, version, dg);
    for (size_t i = 0; i < n; i++) {
        /* "type:name@version" */
        ck_assert(snprintf(bufs[i], sizeof bufs[i], "%s", inputs[i]) < (int)sizeof bufs[i]);
        char *colon = strchr(bufs[i], ':'), *at = strchr(colon, '@');
        *colon = '\0';
        *at = '\0';
        art_set(&in_arts[i], bufs[i], colon + 1, at + 1, 0);
        mla_pb_input in = MLAUDIT__V1__INPUT__INIT;
        ins[i] = in;
        ins[i].artifact = &in_arts[i].a;
        ins[i].role = (char *)(uintptr_t)roles[i];
        insp[i] = &ins[i];
    }
    mla_pb_change c = change_of(MLAUDIT__V1__KIND__KIND_MODEL, "trainer@example.com");
    c.subject = &subj.a;
    c.inputs = insp;
    c.n_inputs = n;
    return append_signed(d, &c);
}

static uint64_t record_plain_model(ledgerd *d, const char *name, const char *version, uint8_t dg)
{
    const char *in[] = {"dataset:transactions@2024-01"};
    const char *role[] = {"training-data"};
    return record_model(d, name, version, dg, in, role, 1);
}

static uint64_t deploy(ledgerd *d, const char *target, const char *name, const char *version,
                       const char *stage, double fraction, const mla_privkey *serving)
{
    art subj;
    art_set(&subj, "model", name, version, 0);
    Mlaudit__V1__Deployment dep = MLAUDIT__V1__DEPLOYMENT__INIT;
    dep.target = (char *)(uintptr_t)target;
    dep.stage = (char *)(uintptr_t)stage;
    dep.traffic_fraction = fraction;
    if (serving) {
        dep.serving_key.data = (uint8_t *)(uintptr_t)mla_crypto_key_public(serving)->b;
        dep.serving_key.len = 32;
    }
    mla_pb_change c = change_of(MLAUDIT__V1__KIND__KIND_DEPLOYMENT, "release@example.com");
    c.subject = &subj.a;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
    c.deployment = &dep;
    return append_signed(d, &c);
}

static uint64_t rollback(ledgerd *d, const char *target, const char *name, const char *version)
{
    art to;
    art_set(&to, "model", name, version, 0);
    Mlaudit__V1__Rollback rb = MLAUDIT__V1__ROLLBACK__INIT;
    rb.target = (char *)(uintptr_t)target;
    rb.to = &to.a;
    mla_pb_change c = change_of(MLAUDIT__V1__KIND__KIND_ROLLBACK, "oncall@example.com");
    c.subject = &to.a;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
    c.rollback = &rb;
    return append_signed(d, &c);
}

static uint64_t retire(ledgerd *d, const char *target, const char *name, const char *version)
{
    art a;
    art_set(&a, "model", name, version, 0);
    Mlaudit__V1__Retirement rt = MLAUDIT__V1__RETIREMENT__INIT;
    rt.target = (char *)(uintptr_t)target;
    rt.artifact = &a.a;
    mla_pb_change c = change_of(MLAUDIT__V1__KIND__KIND_RETIREMENT, "oncall@example.com");
    c.subject = &a.a;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
    c.retirement = &rt;
    return append_signed(d, &c);
}

/* ---- decisions ---------------------------------------------------------- */

typedef struct dec {
    mla_pb_decision d;
    art model;
    char id[64];
    uint8_t in[32], outd[32];
} dec;

static void dec_set(dec *x, const char *target, uint64_t n, int64_t time_ns, const char *model_v)
{
    mla_pb_decision d = MLAUDIT__V1__DECISION__INIT;
    x->d = d;
    snprintf(x->id, sizeof x->id, "req-%06llu", (unsigned long long)n);
    for (int i = 0; i < 32; i++) {
        x->in[i] = (uint8_t)(n >> (i % 8) ^ (unsigned)i);
        x->outd[i] = (uint8_t)(n * 31 + (unsigned)i);
    }
    x->d.id = x->id;
    x->d.target = (char *)(uintptr_t)target;
    x->d.time_ns = time_ns;
    x->d.input_digest.data = x->in;
    x->d.input_digest.len = 32;
    x->d.output_digest.data = x->outd;
    x->d.output_digest.len = 32;
    if (model_v) {
        art_set(&x->model, "model", "fraud", model_v, 0);
        x->d.model = &x->model.a;
    }
}

static void record_n(mla_recorder *r, const char *target, uint64_t first, uint64_t n,
                     const char *model_v)
{
    for (uint64_t i = first; i < first + n; i++) {
        dec x;
        dec_set(&x, target, i, mla_time_now_ns(), model_v);
        tu_assert_ok(mla_recorder_record(r, &x.d));
    }
}

static mla_client_serving *serving_find(const mla_client_resolution *r, const char *model)
{
    for (size_t i = 0; i < r->n_serving; i++)
        if (strcmp(r->serving[i].model, model) == 0) return &r->serving[i];
    return NULL;
}

/* The standard timeline: fraud@1 in production at 1.0, then fraud@2 as a
 * 0.1 canary (fraud@1 keeps 0.9). */
static void timeline(ledgerd *d, uint64_t *dep1, uint64_t *dep2)
{
    record_plain_model(d, "fraud", "1", 0x11);
    record_plain_model(d, "fraud", "2", 0x12);
    *dep1 = deploy(d, TARGET, "fraud", "1", "production", 1.0, NULL);
    *dep2 = deploy(d, TARGET, "fraud", "2", "canary", 0.1, NULL);
}

/* ---- Query -------------------------------------------------------------- */

START_TEST(test_query_pages_are_proven_and_match)
{
    ledgerd d;
    daemon_start(&d);
    char v[16];
    for (int i = 0; i < 25; i++) {
        snprintf(v, sizeof v, "%d", i + 1);
        record_plain_model(&d, "bert", v, (uint8_t)(0x40 + i));
    }
    record_plain_model(&d, "gpt", "1", 0x90);
    uint64_t dep = deploy(&d, TARGET, "gpt", "1", "production", 1.0, NULL);

    /* All MODELs of bert, three pages of 10, 10, 5, ascending, proven. */
    mla_client_query q = {.kind = MLAUDIT__V1__KIND__KIND_MODEL,
                          .subject_type = "model",
                          .subject_name = "bert",
                          .page_size = 10};
    mla_buf token;
    mla_buf_init(&token, 1024);
    uint64_t last = 0, seen = 0;
    for (int page = 0; page < 10; page++) {
        mla_client_page p;
        q.page_token = mla_buf_slice(&token);
        tu_assert_ok(mla_client_query_page(d.client, &q, &p));
        for (size_t i = 0; i < p.n_entries; i++) {
            if (seen > 0) ck_assert_uint_gt(p.entries[i].seq, last);
            last = p.entries[i].seq;
            seen++;
            mla_hash h;
            mla_merkle_leaf_hash(&h, mla_buf_slice(&p.entries[i].entry));
            ck_assert_uint_gt(p.entries[i].entry.len, 0);
        }
        ck_assert_uint_eq(p.n_entries, seen <= 20 ? 10 : 5);
        tu_assert_ok(mla_buf_set(&token, mla_buf_slice(&p.next_page_token)));
        bool end = p.next_page_token.len == 0;
        mla_client_page_dispose(&p);
        if (end) break;
    }
    ck_assert_uint_eq(seen, 25);
    ck_assert_uint_eq(token.len, 0);

    /* By target: the one deployment. By actor: the same. */
    mla_client_page p;
    mla_client_query qt = {.target = TARGET};
    tu_assert_ok(mla_client_query_page(d.client, &qt, &p));
    ck_assert_uint_eq(p.n_entries, 1);
    ck_assert_uint_eq(p.entries[0].seq, dep);
    mla_client_page_dispose(&p);
    mla_client_query qa = {.actor = "release@example.com"};
    tu_assert_ok(mla_client_query_page(d.client, &qa, &p));
    ck_assert_uint_eq(p.n_entries, 1);
    ck_assert_uint_eq(p.entries[0].seq, dep);
    mla_client_page_dispose(&p);
    /* A time range before anything: empty, last page. */
    mla_client_query qr = {.from_time_ns = 1, .to_time_ns = 2};
    tu_assert_ok(mla_client_query_page(d.client, &qr, &p));
    ck_assert_uint_eq(p.n_entries, 0);
    ck_assert_uint_eq(p.next_page_token.len, 0);
    mla_client_page_dispose(&p);
    /* The server refuses a version without a name, naming the field. */
    mla_client_query bad = {.subject_version = "1"};
    tu_assert_fail_with(mla_client_query_page(d.client, &bad, &p), MLA_EINVAL, "subject");
    mla_buf_dispose(&token);
    td_stop(&d);
}
END_TEST

/* ---- lineage ------------------------------------------------------------ */

static bool has_edge(const mla_client_lineage_graph *g, const char *from, const char *to,
                     const char *role)
{
    for (size_t i = 0; i < g->n_edges; i++)
        if (strcmp(g->edges[i].from, from) == 0 && strcmp(g->edges[i].to, to) == 0 &&
            strcmp(g->edges[i].role, role) == 0)
            return true;
    return false;
}

START_TEST(test_lineage_edges_are_proven_by_their_entries)
{
    ledgerd d;
    daemon_start(&d);
    const char *in1[] = {"dataset:clicks@1", "code:trainer@abc"};
    const char *r1[] = {"training-data", "code"};
    uint64_t s1 = record_model(&d, "ranker", "1", 0x21, in1, r1, 2);
    const char *in2[] = {"model:ranker@1", "dataset:clicks@2"};
    const char *r2[] = {"base-model", "training-data"};
    uint64_t s2 = record_model(&d, "ranker", "2", 0x22, in2, r2, 2);

    mla_client_lineage_graph g;
    tu_assert_ok(mla_client_lineage(d.client, "model:ranker@2", false, 0, &g));
    ck_assert_uint_eq(g.n_edges, 4);
    ck_assert(has_edge(&g, "model:ranker@1", "model:ranker@2", "base-model"));
    ck_assert(has_edge(&g, "dataset:clicks@2", "model:ranker@2", "training-data"));
    ck_assert(has_edge(&g, "dataset:clicks@1", "model:ranker@1", "training-data"));
    ck_assert(has_edge(&g, "code:trainer@abc", "model:ranker@1", "code"));
    ck_assert_uint_eq(g.n_entries, 2);
    ck_assert_uint_eq(g.entries[0].seq, s1);
    ck_assert_uint_eq(g.entries[1].seq, s2);
    mla_checkpoint cp;
    tu_assert_ok(mla_note_checkpoint_open(&cp, mla_buf_slice(&g.checkpoint), &d.verifier, 1));
    mla_client_lineage_dispose(&g);

    /* Depth 1 stops at the direct inputs; downstream of the data reaches
     * both models. */
    tu_assert_ok(mla_client_lineage(d.client, "model:ranker@2", false, 1, &g));
    ck_assert_uint_eq(g.n_edges, 2);
    mla_client_lineage_dispose(&g);
    tu_assert_ok(mla_client_lineage(d.client, "dataset:clicks@1", true, 0, &g));
    ck_assert_uint_eq(g.n_edges, 2);
    ck_assert(has_edge(&g, "model:ranker@1", "model:ranker@2", "base-model"));
    mla_client_lineage_dispose(&g);

    tu_assert_fail_with(mla_client_lineage(d.client, "model:ranker", false, 0, &g), MLA_EINVAL,
                        "identity");
    tu_assert_fail_with(mla_client_lineage(d.client, "model:nobody@1", false, 0, &g), MLA_ENOTFOUND,
                        "nobody");
    td_stop(&d);
}
END_TEST

/* ---- resolution and its offline verification --------------------------- */

/* A resolution of decision `id`, checked online, by wire form, and offline. */
static void resolve_ok(ledgerd *d, const char *id, mla_client_resolution *out)
{
    tu_assert_ok(mla_client_resolve(d->client, id, NULL, 0, out));
    tu_assert_ok(mla_client_resolution_verify(out, &d->verifier));
}

/* Copy a resolution through its wire form (a deep copy to tamper with). */
static void copy_of(mla_client_resolution *out, const mla_client_resolution *r,
                    const mla_note_verifier *v)
{
    mla_buf w;
    mla_buf_init(&w, 1u << 24);
    tu_assert_ok(mla_client_resolution_encode(&w, r));
    tu_assert_ok(mla_client_resolution_decode(out, mla_buf_slice(&w), v));
    mla_buf_dispose(&w);
}

START_TEST(test_resolution_verify_rejects_tampering)
{
    ledgerd d;
    daemon_start(&d);
    uint64_t dep1, dep2;
    timeline(&d, &dep1, &dep2);
    record_plain_model(&d, "fraud", "3", 0x13);
    uint64_t dep3 = deploy(&d, TARGET, "fraud", "3", "shadow", 0.05, NULL);
    mla_recorder *rec;
    tu_assert_ok(mla_recorder_start(&rec, d.client, NULL));
    record_n(rec, TARGET, 0, 40, "2");
    uint64_t batch_seq = 0;
    tu_assert_ok(mla_recorder_flush(rec, &batch_seq));
    tu_assert_ok(mla_recorder_close(rec));

    mla_client_resolution r, t;
    resolve_ok(&d, "req-000007", &r);
    ck_assert(r.has_decision);
    ck_assert_uint_ge(r.batch_count, 2);
    ck_assert_uint_gt(r.decision_path_len, 0);
    /* fraud@3 at 0.05 scales the others (0.9, 0.1) by 0.95. */
    ck_assert_uint_eq(r.n_serving, 3);
    mla_client_serving *s1 = serving_find(&r, "model:fraud@1");
    mla_client_serving *s2 = serving_find(&r, "model:fraud@2");
    mla_client_serving *s3 = serving_find(&r, "model:fraud@3");
    ck_assert(s1 && s2 && s3);
    ck_assert(s1->traffic_fraction > 0.8549 && s1->traffic_fraction < 0.8551);
    ck_assert(s2->traffic_fraction > 0.0949 && s2->traffic_fraction < 0.0951);
    ck_assert(s3->traffic_fraction == 0.05);
    ck_assert_str_eq(s1->stage, "production");
    ck_assert_uint_eq(s2->deployment_seq, dep2);
    ck_assert_str_eq(s2->stage, "canary");
    ck_assert_uint_eq(s3->deployment_seq, dep3);
    ck_assert_uint_eq(r.n_deployment_entries, 3);
    ck_assert_uint_eq(r.deployment_entries[0].seq, dep1);
    ck_assert_uint_eq(r.deployment_entries[2].seq, dep3);

    /* The wire form round-trips and verifies offline. */
    copy_of(&t, &r, &d.verifier);
    ck_assert(mla_slice_eq(mla_buf_slice(&t.decision), mla_buf_slice(&r.decision)));
    mla_client_resolution_dispose(&t);

    /* Each tampering fails, naming the step. */
    copy_of(&t, &r, &d.verifier);
    t.decision.ptr[t.decision.len - 1] ^= 0x01;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.decision");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    t.decision_path[0].b[5] ^= 0x80;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.decision_path");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    t.decision_index ^= 1;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.decision_path");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    mla_buf *last = &t.deployment_entries[t.n_deployment_entries - 1].entry;
    last->ptr[last->len / 2] ^= 0x01;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.deployment_inclusions[2]");
    mla_client_resolution_dispose(&t);

    /* Dropping the middle entry leaves a gap in the back-links. */
    copy_of(&t, &r, &d.verifier);
    mla_buf_dispose(&t.deployment_entries[1].entry);
    memmove(&t.deployment_entries[1], &t.deployment_entries[2], sizeof t.deployment_entries[0]);
    memmove(&t.deployment_inclusions[1], &t.deployment_inclusions[2],
            sizeof t.deployment_inclusions[0]);
    t.n_deployment_entries = 2;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "the timeline has a gap");
    mla_client_resolution_dispose(&t);

    /* Dropping the first entry: the replay would start mid-timeline. */
    copy_of(&t, &r, &d.verifier);
    mla_buf_dispose(&t.deployment_entries[0].entry);
    memmove(&t.deployment_entries[0], &t.deployment_entries[1], 2 * sizeof t.deployment_entries[0]);
    memmove(&t.deployment_inclusions[0], &t.deployment_inclusions[1],
            2 * sizeof t.deployment_inclusions[0]);
    t.n_deployment_entries = 2;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "depends on earlier entries");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    serving_find(&t, "model:fraud@2")->traffic_fraction = 0.2;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.serving");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    mla_free(serving_find(&t, "model:fraud@1")->stage);
    serving_find(&t, "model:fraud@1")->stage = mla_strndup("shadow", 6);
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.serving");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    t.batch_inclusion.h[0].b[0] ^= 0x01;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.batch_inclusion");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    t.batch_entry.entry.ptr[t.batch_entry.entry.len / 2] ^= 0x04;
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.batch_inclusion");
    mla_client_resolution_dispose(&t);

    copy_of(&t, &r, &d.verifier);
    t.checkpoint.ptr[t.checkpoint.len - 3] ^= 0x01; /* in the signature */
    tu_assert_fail_with(mla_client_resolution_verify(&t, &d.verifier), MLA_ECORRUPT,
                        "resolution.checkpoint");
    mla_client_resolution_dispose(&t);

    /* The wire form tampered: decode refuses it. */
    mla_buf w;
    mla_buf_init(&w, 1u << 24);
    tu_assert_ok(mla_client_resolution_encode(&w, &r));
    const uint8_t *hit = memmem(w.ptr, w.len, r.decision.ptr, r.decision.len);
    ck_assert(hit != NULL);
    w.ptr[(size_t)(hit - w.ptr) + r.decision.len - 1] ^= 0x01;
    tu_assert_fail_with(mla_client_resolution_decode(&t, mla_buf_slice(&w), &d.verifier),
                        MLA_ECORRUPT, "resolution.decision");
    ck_assert_uint_eq(t.n_serving, 0); /* zeroed on error */
    mla_buf_dispose(&w);

    /* The other verifier key: nothing verifies. */
    mla_privkey *other = td_key_from_byte(9);
    mla_note_verifier wrong;
    tu_assert_ok(
        mla_note_verifier_init(&wrong, mla_slice_cstr(ORIGIN), mla_crypto_key_public(other)));
    tu_assert_fail_with(mla_client_resolution_verify(&r, &wrong), MLA_ECORRUPT,
                        "resolution.checkpoint");
    mla_crypto_key_free(other);
    mla_client_resolution_dispose(&r);
    td_stop(&d);
}
END_TEST

START_TEST(test_resolve_by_target_and_time_follows_the_timeline)
{
    ledgerd d;
    daemon_start(&d);
    uint64_t dep1, dep2;
    record_plain_model(&d, "fraud", "1", 0x11);
    int64_t before = mla_time_now_ns();
    timeline(&d, &dep1, &dep2);
    int64_t after_canary = mla_time_now_ns();
    uint64_t full = deploy(&d, TARGET, "fraud", "2", "production", 1.0, NULL);
    int64_t after_full = mla_time_now_ns();
    uint64_t back = rollback(&d, TARGET, "fraud", "1");
    int64_t after_back = mla_time_now_ns();

    mla_client_resolution r;
    tu_assert_ok(mla_client_resolve(d.client, NULL, TARGET, before, &r));
    ck_assert(!r.has_decision);
    ck_assert_uint_eq(r.n_serving, 0);
    mla_client_resolution_dispose(&r);

    tu_assert_ok(mla_client_resolve(d.client, NULL, TARGET, after_canary, &r));
    ck_assert_uint_eq(r.n_serving, 2);
    ck_assert(serving_find(&r, "model:fraud@2")->traffic_fraction == 0.1);
    tu_assert_ok(mla_client_resolution_verify(&r, &d.verifier));
    mla_client_resolution_dispose(&r);

    tu_assert_ok(mla_client_resolve(d.client, NULL, TARGET, after_full, &r));
    ck_assert_uint_eq(r.n_serving, 1);
    ck_assert_str_eq(r.serving[0].model, "model:fraud@2");
    ck_assert_uint_eq(r.serving[0].deployment_seq, full);
    mla_client_resolution_dispose(&r);

    /* The rollback takes fraud@1's stage from its first deployment. */
    tu_assert_ok(mla_client_resolve(d.client, NULL, TARGET, after_back, &r));
    ck_assert_uint_eq(r.n_serving, 1);
    ck_assert_str_eq(r.serving[0].model, "model:fraud@1");
    ck_assert_str_eq(r.serving[0].stage, "production");
    ck_assert_uint_eq(r.serving[0].deployment_seq, back);
    ck_assert(r.serving[0].traffic_fraction == 1.0);
    mla_buf w;
    mla_client_resolution t;
    mla_buf_init(&w, 1u << 24);
    tu_assert_ok(mla_client_resolution_encode(&w, &r));
    tu_assert_ok(mla_client_resolution_decode(&t, mla_buf_slice(&w), &d.verifier));
    mla_client_resolution_dispose(&t);
    mla_buf_dispose(&w);
    mla_client_resolution_dispose(&r);

    /* A timeline whose oldest live model went live while another served:
     * the server's chain starts there, and the client reaches back to the
     * deployment where the target's state started over, so the fractions
     * are proven, not taken on trust. */
    record_plain_model(&d, "rank", "1", 0x31);
    record_plain_model(&d, "rank", "2", 0x32);
    record_plain_model(&d, "rank", "3", 0x33);
    uint64_t ra = deploy(&d, "ranking-api", "rank", "1", "production", 1.0, NULL);
    uint64_t rb = deploy(&d, "ranking-api", "rank", "2", "canary", 0.5, NULL);
    retire(&d, "ranking-api", "rank", "1");
    uint64_t rd = deploy(&d, "ranking-api", "rank", "3", "canary", 0.75, NULL);
    tu_assert_ok(mla_client_resolve(d.client, NULL, "ranking-api", 0, &r)); /* 0: latest */
    ck_assert_uint_eq(r.n_serving, 2);
    ck_assert_uint_eq(serving_find(&r, "model:rank@2")->deployment_seq, rb);
    ck_assert(serving_find(&r, "model:rank@2")->traffic_fraction == 0.25);
    ck_assert_uint_eq(serving_find(&r, "model:rank@3")->deployment_seq, rd);
    ck_assert_uint_eq(r.n_deployment_entries, 4);
    ck_assert_uint_eq(r.deployment_entries[0].seq, ra);
    tu_assert_ok(mla_client_resolution_verify(&r, &d.verifier));
    mla_client_resolution_dispose(&r);

    tu_assert_fail_with(mla_client_resolve(d.client, "no-such-decision", NULL, 0, &r),
                        MLA_ENOTFOUND, "no-such-decision");
    tu_assert_fail_with(mla_client_resolve(d.client, NULL, NULL, 0, &r), MLA_EINVAL, "decision_id");
    td_stop(&d);
}
END_TEST

/* ---- the recorder ------------------------------------------------------- */

static const char *one_target(uint64_t i)
{
    (void)i;
    return TARGET;
}

/* Resolving decisions 0..n-1 by id, on RESOLVERS threads: each resolution
 * is a round trip, so several in flight keep both sides busy. */
#define RESOLVERS 4

typedef struct resolver {
    ledgerd *d;
    uint64_t first, n, step;
    const char *(*target_of)(uint64_t i);
    bool check_serving;
    char failure[512]; /* the first failure, reported by the main thread */
} resolver;

static void *resolver_main(void *arg)
{
    resolver *x = arg;
    for (uint64_t i = x->first; i < x->first + x->n && !x->failure[0]; i += x->step) {
        dec want;
        mla_client_resolution r;
        mla_pb_decision *got = NULL;
        dec_set(&want, x->target_of(i), i, 0, "1");
        mla_status rc = mla_client_resolve(x->d->client, want.id, x->target_of(i), 0, &r);
        if (rc != MLA_OK) {
            snprintf(x->failure, sizeof x->failure, "%s: %.400s", want.id, mla_error_last()->msg);
            break;
        }
        if (mla_codec_decision_decode(&got, mla_buf_slice(&r.decision)) != MLA_OK ||
            strcmp(got->id, want.id) != 0 || memcmp(got->output_digest.data, want.outd, 32) != 0)
            snprintf(x->failure, sizeof x->failure, "%s: another decision came back", want.id);
        else if (x->check_serving && r.n_serving != (i % 5 == 4 ? 0u : 2u))
            snprintf(x->failure, sizeof x->failure, "%s: %zu models serve", want.id, r.n_serving);
        mla_codec_decision_free(got);
        mla_client_resolution_dispose(&r);
    }
    return NULL;
}

/* Resolve decisions from..to-1, every step-th. */
static void resolve_range(ledgerd *d, uint64_t from, uint64_t to, uint64_t step,
                          const char *(*target_of)(uint64_t i), bool check_serving)
{
    resolver x[RESOLVERS];
    pthread_t th[RESOLVERS];
    uint64_t n = (to - from + step - 1) / step; /* decisions to resolve */
    for (unsigned k = 0; k < RESOLVERS; k++) {
        uint64_t lo = n * k / RESOLVERS, hi = n * (k + 1) / RESOLVERS;
        x[k] = (resolver){.d = d,
                          .first = from + lo * step,
                          .n = (hi - lo) * step,
                          .step = step,
                          .target_of = target_of,
                          .check_serving = check_serving};
        ck_assert(pthread_create(&th[k], NULL, resolver_main, &x[k]) == 0);
    }
    for (unsigned k = 0; k < RESOLVERS; k++) pthread_join(th[k], NULL);
    for (unsigned k = 0; k < RESOLVERS; k++) ck_assert_msg(!x[k].failure[0], "%s", x[k].failure);
}

#define VOLUME 20000
#define TARGET_EU "fraud-api-eu"

/* Every fifth decision is on a second target: the server seals each
 * target's decisions on their own, so acknowledgements interleave. */
static const char *volume_target(uint64_t i) { return i % 5 == 4 ? TARGET_EU : TARGET; }

START_TEST(test_recorder_20000_decisions_all_acked_and_resolvable)
{
    ledgerd d;
    daemon_start_with(&d, small_batches);
    uint64_t dep1, dep2;
    timeline(&d, &dep1, &dep2);
    mla_recorder *rec;
    mla_recorder_options o = {.max_pending = 4096};
    tu_assert_ok(mla_recorder_start(&rec, d.client, &o));
    int64_t t0 = mla_time_mono_ns();
    for (uint64_t i = 0; i < VOLUME; i++) {
        dec x;
        dec_set(&x, volume_target(i), i, mla_time_now_ns(), "1");
        tu_assert_ok(mla_recorder_record(rec, &x.d));
    }
    uint64_t last = 0;
    tu_assert_ok(mla_recorder_flush(rec, &last));
    int64_t t1 = mla_time_mono_ns();
    ck_assert_uint_eq(mla_recorder_acked(rec), VOLUME);
    ck_assert_uint_gt(last, dep2);
    tu_assert_ok(mla_recorder_close(rec));
    fprintf(stderr, "recorder: %d decisions acknowledged in %.0f ms\n", VOLUME,
            (double)(t1 - t0) / 1e6);

    /* Every one is resolvable, proven, and is the decision recorded. */
    resolve_range(&d, 0, VOLUME, 1, volume_target, true);
    fprintf(stderr, "recorder: %d resolutions in %.0f ms\n", VOLUME,
            (double)(mla_time_mono_ns() - t1) / 1e6);
    td_stop(&d);
}
END_TEST

/* Decisions in the DECISION_BATCH entries on target (each entry proven by
 * the query). */
static uint64_t batched_on(ledgerd *d, const char *target)
{
    mla_client_query q = {.kind = MLAUDIT__V1__KIND__KIND_DECISION_BATCH,
                          .target = target,
                          .page_size = MLA_INDEX_PAGE_MAX};
    mla_buf token;
    mla_buf_init(&token, 1024);
    uint64_t total = 0;
    for (int page = 0; page < 100; page++) {
        mla_client_page p;
        q.page_token = mla_buf_slice(&token);
        tu_assert_ok(mla_client_query_page(d->client, &q, &p));
        for (size_t i = 0; i < p.n_entries; i++) {
            mla_pb_entry *e = NULL;
            mla_pb_change *c = NULL;
            tu_assert_ok(mla_codec_entry_decode(&e, mla_buf_slice(&p.entries[i].entry)));
            tu_assert_ok(mla_codec_change_decode(
                &c, mla_slice_make(e->envelope->payload.data, e->envelope->payload.len)));
            total += c->decision_batch->count;
            mla_codec_change_free(c);
            mla_codec_entry_free(e);
        }
        tu_assert_ok(mla_buf_set(&token, mla_buf_slice(&p.next_page_token)));
        mla_client_page_dispose(&p);
        if (token.len == 0) break;
    }
    mla_buf_dispose(&token);
    return total;
}

typedef struct feeder {
    mla_recorder *rec;
    uint64_t n;
    mla_status rc;
} feeder;

static void *feeder_main(void *arg)
{
    feeder *f = arg;
    for (uint64_t i = 0; i < f->n && f->rc == MLA_OK; i++) {
        dec x;
        dec_set(&x, TARGET, i, mla_time_now_ns(), "1");
        f->rc = mla_recorder_record(f->rec, &x.d);
    }
    return NULL;
}

START_TEST(test_recorder_resends_after_the_daemon_is_killed)
{
    ledgerd d;
    daemon_start_with(&d, small_batches);
    uint64_t dep1, dep2;
    timeline(&d, &dep1, &dep2);
    mla_recorder *rec;
    mla_recorder_options o = {.max_pending = 2048};
    tu_assert_ok(mla_recorder_start(&rec, d.client, &o));
    feeder f = {.rec = rec, .n = 8000};
    pthread_t th;
    ck_assert(pthread_create(&th, NULL, feeder_main, &f) == 0);
    /* Kill once the stream is well under way. */
    int64_t give_up = mla_time_mono_ns() + 30 * 1000000000LL;
    while (mla_recorder_acked(rec) < 1500 && mla_time_mono_ns() < give_up) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    uint64_t acked = mla_recorder_acked(rec);
    ck_assert_uint_ge(acked, 1500);
    td_kill9(&d);
    uint64_t acked_at_kill = mla_recorder_acked(rec);
    ck_assert_uint_ge(acked_at_kill, acked);
    td_launch(&d, false); /* same data directory, same port */

    pthread_join(th, NULL);
    tu_assert_ok(f.rc);
    tu_assert_ok(mla_recorder_flush(rec, NULL));
    ck_assert_uint_eq(mla_recorder_acked(rec), 8000);
    tu_assert_ok(mla_recorder_close(rec));

    /* Every decision acknowledged before the kill survived it; of the rest
     * (resent after the restart) a sample resolves, and the batches on the
     * target hold exactly 8000 decisions: none lost, none twice. */
    resolve_range(&d, 0, acked_at_kill, 1, one_target, false);
    resolve_range(&d, acked_at_kill, 8000, 7, one_target, false);
    ck_assert_uint_eq(batched_on(&d, TARGET), 8000);
    fprintf(stderr, "recorder: %llu of 8000 acknowledged when the daemon was killed\n",
            (unsigned long long)acked_at_kill);
    td_stop(&d);
}
END_TEST

START_TEST(test_recorder_sealed_batches_bind_to_the_serving_key)
{
    ledgerd d;
    daemon_start(&d);
    mla_privkey *serving = td_key_from_byte(7), *stranger = td_key_from_byte(8);
    record_plain_model(&d, "fraud", "1", 0x11);
    deploy(&d, TARGET, "fraud", "1", "production", 1.0, serving);

    mla_recorder *rec;
    mla_recorder_options o = {.serving_key = serving, .batch_max = 500, .flush_ms = 20};
    tu_assert_ok(mla_recorder_start(&rec, d.client, &o));
    record_n(rec, TARGET, 0, 1700, "1");
    uint64_t last = 0;
    tu_assert_ok(mla_recorder_flush(rec, &last));
    ck_assert_uint_eq(mla_recorder_acked(rec), 1700);
    tu_assert_ok(mla_recorder_close(rec));

    /* The batches are signed by the serving key, at most 500 each. */
    char keyid[MLA_KEYID_HEX_LEN + 1];
    mla_crypto_keyid(keyid, mla_crypto_key_public(serving));
    const char *ids[] = {"req-000000", "req-000499", "req-000500", "req-001699"};
    for (size_t i = 0; i < 4; i++) {
        mla_client_resolution r;
        resolve_ok(&d, ids[i], &r);
        ck_assert_uint_le(r.batch_count, 500);
        mla_pb_entry *e = NULL;
        tu_assert_ok(mla_codec_entry_decode(&e, mla_buf_slice(&r.batch_entry.entry)));
        ck_assert_uint_eq(e->envelope->n_signatures, 1);
        ck_assert_str_eq(e->envelope->signatures[0]->keyid, keyid);
        mla_codec_entry_free(e);
        mla_client_resolution_dispose(&r);
    }

    /* A key no DEPLOYMENT named is refused: the recorder reports it. */
    mla_recorder_options bad = {.serving_key = stranger};
    tu_assert_ok(mla_recorder_start(&rec, d.client, &bad));
    record_n(rec, TARGET, 5000, 3, "1");
    tu_assert_fail_with(mla_recorder_flush(rec, NULL), MLA_EDENIED, "");
    dec x;
    dec_set(&x, TARGET, 6000, mla_time_now_ns(), "1");
    tu_assert_fail_with(mla_recorder_record(rec, &x.d), MLA_EDENIED, "");
    tu_assert_fail_with(mla_recorder_close(rec), MLA_EDENIED, "");
    mla_crypto_key_free(serving);
    mla_crypto_key_free(stranger);
    td_stop(&d);
}
END_TEST

START_TEST(test_recorder_refuses_a_bad_decision_locally)
{
    ledgerd d;
    daemon_start(&d);
    mla_recorder *rec;
    tu_assert_ok(mla_recorder_start(&rec, d.client, NULL));
    dec x;
    dec_set(&x, TARGET, 1, mla_time_now_ns(), NULL);
    x.d.id = (char *)(uintptr_t) "";
    tu_assert_fail_with(mla_recorder_record(rec, &x.d), MLA_EINVAL, "decision.id");
    dec_set(&x, TARGET, 1, mla_time_now_ns(), NULL);
    x.d.input_digest.len = 5;
    tu_assert_fail_with(mla_recorder_record(rec, &x.d), MLA_EINVAL, "decision.input_digest");
    ck_assert_uint_eq(mla_recorder_acked(rec), 0);
    tu_assert_ok(mla_recorder_close(rec)); /* nothing queued: flushes at once */
    td_stop(&d);
}
END_TEST

/* ---- Subscribe ---------------------------------------------------------- */

typedef struct tail {
    uint64_t seqs[64];
    size_t n, want;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} tail;

static mla_status on_tail(void *ctx, uint64_t seq, mla_slice entry, mla_slice violations)
{
    tail *t = ctx;
    (void)violations;
    ck_assert_uint_gt(entry.len, 0);
    pthread_mutex_lock(&t->mu);
    ck_assert_uint_lt(t->n, 64);
    t->seqs[t->n++] = seq;
    t->started = true;
    pthread_cond_broadcast(&t->cv);
    bool done = t->n == t->want;
    pthread_mutex_unlock(&t->mu);
    return done ? mla_err(MLA_ESHUTDOWN, "tail: got all %zu", t->want) : MLA_OK;
}

typedef struct appender {
    ledgerd *d;
    tail *t;
    uint64_t seqs[3];
} appender;

/* Appends three more deployments on the target once the tail is live. */
static void *appender_main(void *arg)
{
    appender *a = arg;
    pthread_mutex_lock(&a->t->mu);
    while (!a->t->started) pthread_cond_wait(&a->t->cv, &a->t->mu);
    pthread_mutex_unlock(&a->t->mu);
    record_plain_model(a->d, "other", "1", 0x70); /* not matching */
    a->seqs[0] = deploy(a->d, TARGET, "fraud", "1", "production", 1.0, NULL);
    a->seqs[1] = deploy(a->d, "elsewhere", "fraud", "1", "production", 1.0, NULL);
    a->seqs[2] = deploy(a->d, TARGET, "fraud", "2", "canary", 0.5, NULL);
    return NULL;
}

START_TEST(test_subscribe_delivers_matching_entries_proven)
{
    ledgerd d;
    daemon_start(&d);
    uint64_t dep1, dep2;
    timeline(&d, &dep1, &dep2);
    deploy(&d, "elsewhere", "fraud", "2", "production", 1.0, NULL);

    tail t = {.want = 4};
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    appender a = {.d = &d, .t = &t};
    pthread_t th;
    ck_assert(pthread_create(&th, NULL, appender_main, &a) == 0);
    mla_client_subscribe_filter f = {.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT, .target = TARGET};
    uint64_t resume = 0;
    tu_assert_fail_with(mla_client_subscribe(d.client, 0, &f, 30000, on_tail, &t, &resume),
                        MLA_ESHUTDOWN, "tail: got all");
    pthread_join(th, NULL);
    ck_assert_uint_eq(t.n, 4);
    ck_assert_uint_eq(t.seqs[0], dep1);
    ck_assert_uint_eq(t.seqs[1], dep2);
    ck_assert_uint_eq(t.seqs[2], a.seqs[0]);
    ck_assert_uint_eq(t.seqs[3], a.seqs[2]);
    ck_assert_uint_eq(resume, a.seqs[2] + 1);

    /* From a later seq, bounded by max_ms: what is there, then MLA_OK. */
    tail t2 = {.want = 64};
    pthread_mutex_init(&t2.mu, NULL);
    pthread_cond_init(&t2.cv, NULL);
    tu_assert_ok(mla_client_subscribe(d.client, dep2 + 1, &f, 300, on_tail, &t2, &resume));
    ck_assert_uint_eq(t2.n, 2);
    ck_assert_uint_eq(t2.seqs[0], a.seqs[0]);
    td_stop(&d);
}
END_TEST

/* A consumer that stalls in its callback while the log runs ahead. */
typedef struct stall {
    ledgerd *d;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stalled, flooded;
    uint64_t first, last;
    size_t n;
} stall;

static mla_status on_stall(void *ctx, uint64_t seq, mla_slice entry, mla_slice violations)
{
    stall *s = ctx;
    (void)entry;
    (void)violations;
    pthread_mutex_lock(&s->mu);
    if (s->n++ == 0) s->first = seq;
    s->last = seq;
    if (!s->stalled) {
        s->stalled = true;
        pthread_cond_broadcast(&s->cv);
        while (!s->flooded) pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return MLA_OK;
}

/* Once the consumer stalls: 300 entries, in three atomic batches. */
static void *flood_main(void *arg)
{
    stall *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stalled) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    for (int round = 0; round < 3; round++) {
        mla_buf env[100];
        mla_slice sl[100];
        static mla_receipt rc[100];
        for (int i = 0; i < 100; i++) {
            char v[32];
            snprintf(v, sizeof v, "%d", round * 100 + i);
            art subj, in;
            art_set(&subj, "model", "flood", v, (uint8_t)(i + 1));
            art_set(&in, "dataset", "flood-data", "1", 0);
            mla_pb_input inp = MLAUDIT__V1__INPUT__INIT, *inpp = &inp;
            inp.artifact = &in.a;
            inp.role = (char *)(uintptr_t) "training-data";
            mla_pb_change c = change_of(MLAUDIT__V1__KIND__KIND_MODEL, "flood@example.com");
            c.subject = &subj.a;
            c.inputs = &inpp;
            c.n_inputs = 1;
            mla_buf_init(&env[i], 1 << 20);
            tu_assert_ok(
                mla_client_envelope_sign(&env[i], &c, (const mla_privkey *const *)&s->d->admin, 1));
            sl[i] = mla_buf_slice(&env[i]);
        }
        tu_assert_ok(mla_client_append_batch(s->d->client, sl, 100, rc));
        for (int i = 0; i < 100; i++) mla_buf_dispose(&env[i]);
    }
    pthread_mutex_lock(&s->mu);
    s->flooded = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static mla_status on_count(void *ctx, uint64_t seq, mla_slice entry, mla_slice violations)
{
    uint64_t *first = ctx;
    (void)entry;
    (void)violations;
    *first = seq;
    return mla_err(MLA_ESHUTDOWN, "count: first is %llu", (unsigned long long)seq);
}

START_TEST(test_subscribe_cut_when_lagging_names_the_resume_seq)
{
    ledgerd d;
    static const char *const lag[] = {"--subscribe-lag-max", "50", NULL};
    daemon_start_with(&d, lag);
    record_plain_model(&d, "warm", "1", 0x01);
    stall s = {.d = &d};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    pthread_t th;
    ck_assert(pthread_create(&th, NULL, flood_main, &s) == 0);
    uint64_t resume = 0;
    tu_assert_fail_with(mla_client_subscribe(d.client, 0, NULL, 60000, on_stall, &s, &resume),
                        MLA_ELIMIT, "resume from seq");
    pthread_join(th, NULL);
    /* What arrived came in order from 0; resuming goes on right after it. */
    ck_assert_uint_eq(s.first, 0);
    ck_assert_uint_eq(s.last + 1, s.n);
    ck_assert_uint_eq(resume, s.last + 1);
    ck_assert_uint_lt(resume, 301);
    uint64_t next = UINT64_MAX;
    tu_assert_fail_with(mla_client_subscribe(d.client, resume, NULL, 10000, on_count, &next, NULL),
                        MLA_ESHUTDOWN, "count");
    ck_assert_uint_eq(next, resume);
    td_stop(&d);
}
END_TEST

/* ---- a lying server ------------------------------------------------------
 * A proxy in the test: it forwards each unary call to the real daemon and
 * tampers with the answer (or the question) as the test asks, so every
 * entry it shows is genuine and signed checkpoints stay real. The client
 * must refuse whatever no longer proves what it claims. One thread serves
 * one call at a time. */

typedef enum lie {
    LIE_NONE,
    LIE_QUERY_ANY_KIND, /* Query: the kind filter dropped (genuine entries that do not match) */
    LIE_QUERY_BYTES, /* Query: a byte of entries[0] flipped and its leaf hash recomputed */
    LIE_QUERY_LEAF, /* Query: entries[0]'s leaf hash flipped */
    LIE_LINEAGE_ROLE, /* GetLineage: edges[0] given another role */
    LIE_LINEAGE_EDGE, /* GetLineage: an edge moved onto an artifact outside the graph */
    LIE_RESOLVE_FRACTION, /* ResolveDecision: serving[0] given another traffic fraction */
    LIE_RESOLVE_DROP, /* ResolveDecision: the timeline's last entry left out */
} lie;

typedef struct proxy {
    rpc_conn *up;
    rpc_server srv;
    _Atomic int mode;
} proxy;

/* Re-encode a decoded message into out (replacing it). */
static void reencode(mla_buf *out, ProtobufCMessage *m)
{
    mla_buf_clear(out);
    tu_assert_ok(mla_codec_rpc_encode(out, m));
    mla_codec_rpc_free(m);
}

static void tamper_request(lie mode, const char *method, mla_buf *req)
{
    if (mode != LIE_QUERY_ANY_KIND || strcmp(method, "/mlaudit.v1.Ledger/Query") != 0) return;
    ProtobufCMessage *m = NULL;
    tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__query_request__descriptor,
                                      mla_buf_slice(req), "QueryRequest"));
    ((Mlaudit__V1__QueryRequest *)m)->kind = 0;
    reencode(req, m);
}

static void tamper_response(lie mode, const char *method, mla_buf *resp)
{
    ProtobufCMessage *m = NULL;
    if ((mode == LIE_QUERY_BYTES || mode == LIE_QUERY_LEAF) &&
        strcmp(method, "/mlaudit.v1.Ledger/Query") == 0) {
        tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__query_response__descriptor,
                                          mla_buf_slice(resp), "QueryResponse"));
        Mlaudit__V1__QueryResponse *r = (Mlaudit__V1__QueryResponse *)m;
        ck_assert_uint_gt(r->n_entries, 0);
        Mlaudit__V1__StoredEntry *e = r->entries[0];
        if (mode == LIE_QUERY_LEAF) {
            e->leaf_hash.data[3] ^= 0x10;
        } else {
            /* In the reason text: the entry still decodes, and its leaf
             * hash is made to match, so only the proof can tell. */
            uint8_t *hit = memmem(e->entry.data, e->entry.len, "integration", 11);
            ck_assert_ptr_nonnull(hit);
            hit[0] = 'I';
            mla_hash h;
            mla_merkle_leaf_hash(&h, mla_slice_make(e->entry.data, e->entry.len));
            memcpy(e->leaf_hash.data, h.b, 32);
        }
        reencode(resp, m);
    } else if ((mode == LIE_LINEAGE_ROLE || mode == LIE_LINEAGE_EDGE) &&
               strcmp(method, "/mlaudit.v1.Ledger/GetLineage") == 0) {
        tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__get_lineage_response__descriptor,
                                          mla_buf_slice(resp), "GetLineageResponse"));
        Mlaudit__V1__GetLineageResponse *r = (Mlaudit__V1__GetLineageResponse *)m;
        ck_assert_uint_gt(r->n_edges, 1);
        /* Strings of the decoded message are protobuf-c's: replace in place
         * with something no longer than the original. */
        if (mode == LIE_LINEAGE_ROLE) {
            ck_assert_uint_ge(strlen(r->edges[0]->role), 4);
            memcpy(r->edges[0]->role, "code", 5);
        } else {
            /* edges[1] moved onto another artifact: "model:ranker@9". */
            char *to = r->edges[1]->to;
            to[strlen(to) - 1] = '9';
        }
        reencode(resp, m);
    } else if ((mode == LIE_RESOLVE_FRACTION || mode == LIE_RESOLVE_DROP) &&
               strcmp(method, "/mlaudit.v1.Ledger/ResolveDecision") == 0) {
        tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__resolve_decision_response__descriptor,
                                          mla_buf_slice(resp), "ResolveDecisionResponse"));
        Mlaudit__V1__ResolveDecisionResponse *r = (Mlaudit__V1__ResolveDecisionResponse *)m;
        if (mode == LIE_RESOLVE_FRACTION) {
            ck_assert_uint_gt(r->n_serving, 0);
            r->serving[0]->traffic_fraction += 0.01;
        } else {
            ck_assert_uint_gt(r->n_deployment_entries, 1);
            r->n_deployment_entries--;
            r->n_deployment_inclusions--;
        }
        mla_buf_clear(resp);
        tu_assert_ok(mla_codec_rpc_encode(resp, m));
        if (mode == LIE_RESOLVE_DROP) {
            r->n_deployment_entries++;
            r->n_deployment_inclusions++;
        }
        mla_codec_rpc_free(m);
    }
}

/* Each call forwarded to the daemon (rpc_answer_fn), tampered with as asked. */
static void proxy_answer(void *ctx, const char *method, mla_slice req, rpc_answer *a)
{
    proxy *x = ctx;
    lie mode = (lie)x->mode;
    mla_buf reqb;
    mla_buf_init(&reqb, 1 << 24);
    tu_assert_ok(mla_buf_append_slice(&reqb, req));
    tamper_request(mode, method, &reqb);
    rpc_status st;
    memset(&st, 0, sizeof st);
    a->code = rpc_unary_raw(x->up, method, mla_buf_slice(&reqb), &a->msgs[0], &st);
    if (a->code == GRPC_STATUS_OK) {
        tamper_response(mode, method, &a->msgs[0]);
        a->n_msgs = 1;
    }
    snprintf(a->details, sizeof a->details, "%s", st.message);
    mla_buf_dispose(&reqb);
}

static void proxy_start(proxy *x, const ledgerd *d)
{
    memset(x, 0, sizeof *x);
    x->up = rpc_connect(d->target);
    rpc_server_start(&x->srv, proxy_answer, x);
}

static void proxy_stop(proxy *x)
{
    rpc_server_stop(&x->srv);
    rpc_close(x->up);
}

START_TEST(test_a_lying_server_is_caught)
{
    ledgerd d;
    daemon_start(&d);
    uint64_t dep1, dep2;
    timeline(&d, &dep1, &dep2);
    const char *in[] = {"dataset:clicks@1", "code:trainer@abc"};
    const char *roles[] = {"training-data", "config"};
    record_model(&d, "ranker", "1", 0x21, in, roles, 2);
    mla_recorder *rec;
    tu_assert_ok(mla_recorder_start(&rec, d.client, NULL));
    record_n(rec, TARGET, 0, 4, "2");
    tu_assert_ok(mla_recorder_close(rec));

    proxy x;
    proxy_start(&x, &d);
    mla_client *c = NULL;
    mla_client_options o = {
        .target = x.srv.target, .insecure = true, .verifier = &d.verifier, .timeout_ms = 10000};
    tu_assert_ok(mla_client_open(&c, &o));

    /* Honest through the proxy: everything verifies. */
    mla_client_page p;
    mla_client_query q = {.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT};
    tu_assert_ok(mla_client_query_page(c, &q, &p));
    ck_assert_uint_eq(p.n_entries, 2);
    mla_client_page_dispose(&p);
    mla_client_lineage_graph g;
    tu_assert_ok(mla_client_lineage(c, "model:ranker@1", false, 0, &g));
    mla_client_lineage_dispose(&g);
    mla_client_resolution r;
    tu_assert_ok(mla_client_resolve(c, "req-000002", NULL, 0, &r));
    mla_client_resolution_dispose(&r);

    x.mode = LIE_QUERY_ANY_KIND;
    tu_assert_fail_with(mla_client_query_page(c, &q, &p), MLA_ECORRUPT, "kind MODEL");
    x.mode = LIE_QUERY_BYTES;
    tu_assert_fail_with(mla_client_query_page(c, &q, &p), MLA_ECORRUPT, "entries[0]");
    x.mode = LIE_QUERY_LEAF;
    tu_assert_fail_with(mla_client_query_page(c, &q, &p), MLA_ECORRUPT,
                        "do not hash to its leaf hash");
    x.mode = LIE_LINEAGE_ROLE;
    tu_assert_fail_with(mla_client_lineage(c, "model:ranker@1", false, 0, &g), MLA_ECORRUPT,
                        "with role code");
    x.mode = LIE_LINEAGE_EDGE;
    tu_assert_fail_with(mla_client_lineage(c, "model:ranker@1", false, 0, &g), MLA_ECORRUPT,
                        "not connected to model:ranker@1");
    x.mode = LIE_RESOLVE_FRACTION;
    tu_assert_fail_with(mla_client_resolve(c, "req-000002", NULL, 0, &r), MLA_ECORRUPT,
                        "resolution.serving");
    x.mode = LIE_RESOLVE_DROP;
    tu_assert_fail_with(mla_client_resolve(c, "req-000002", NULL, 0, &r), MLA_ECORRUPT,
                        "resolution.serving");
    mla_client_close(c);
    proxy_stop(&x);
    td_stop(&d);
}
END_TEST

static Suite *decisions_suite(void)
{
    Suite *s = suite_create("decisions");
    TCase *q = tcase_create("query");
    tcase_add_test(q, test_query_pages_are_proven_and_match);
    tcase_add_test(q, test_lineage_edges_are_proven_by_their_entries);
    tcase_add_test(q, test_a_lying_server_is_caught);
    suite_add_tcase(s, q);
    TCase *r = tcase_create("resolve");
    tcase_add_test(r, test_resolution_verify_rejects_tampering);
    tcase_add_test(r, test_resolve_by_target_and_time_follows_the_timeline);
    suite_add_tcase(s, r);
    TCase *rec = tcase_create("recorder");
    tcase_set_timeout(rec, 120);
    tcase_add_test(rec, test_recorder_refuses_a_bad_decision_locally);
    tcase_add_test(rec, test_recorder_20000_decisions_all_acked_and_resolvable);
    tcase_add_test(rec, test_recorder_resends_after_the_daemon_is_killed);
    tcase_add_test(rec, test_recorder_sealed_batches_bind_to_the_serving_key);
    suite_add_tcase(s, rec);
    TCase *sub = tcase_create("subscribe");
    tcase_add_test(sub, test_subscribe_delivers_matching_entries_proven);
    tcase_add_test(sub, test_subscribe_cut_when_lagging_names_the_resume_seq);
    suite_add_tcase(s, sub);
    return s;
}

int main(void) { return tu_run(decisions_suite()); }
