/* Unit suite for ledger/policy: the policy file (every key, each failure
 * naming its line and key, the example file, allocation failure), the
 * per-kind rules both ways, and each configured rule met and unmet. The
 * ledger is an in-memory store filled through mla_index_entry_put with real
 * Entry bytes, read back through a read_entry callback over an array. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"
#include "index/index.h"
#include "policy/policy.h"
#include "policy/policy_int.h"
#include "store/store.h"
#include "testutil.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k
#define CS(s) ((char *)(uintptr_t)(s)) /* protobuf-c fields are char *, ours are literals */

/* ---- changes built from a compact spec --------------------------------------- */

typedef struct art {
    const char *type, *name, *version;
} art;
typedef struct inp {
    const char *role; /* NULL ends the list */
    art a;
} inp;
typedef struct kv {
    const char *k, *v; /* NULL ends the list */
} kv;
typedef struct met {
    const char *k; /* NULL ends the list */
    double v;
} met;

#define SPEC_INPUTS 8
#define SPEC_MAP 6
#define SPEC_SIGNERS 3

typedef struct spec {
    mla_kind kind;
    art subject; /* type NULL: no subject */
    inp inputs[SPEC_INPUTS];
    kv attrs[SPEC_MAP];
    met metrics[SPEC_MAP];
    const char *reason; /* NULL: "unit test" */
    const char *target, *stage; /* DEPLOYMENT, ROLLBACK (target) */
    double fraction; /* 0: 1.0 */
    art to; /* ROLLBACK */
    bool approval; /* APPROVAL: set the detail */
    art approved; /* type NULL: none */
    uint64_t approved_seq;
    uint8_t signers[SPEC_SIGNERS]; /* keyid bytes, 0 ends; none: TRAINER */
} spec;

#define TRAINER 0xa1
#define REVIEWER 0xb2
#define DEPLOYER 0xc3

typedef struct built {
    mla_pb_change c;
    mla_pb_artifact subject, to, approved;
    uint8_t digest[32];
    mla_pb_input in[SPEC_INPUTS], *in_p[SPEC_INPUTS];
    mla_pb_artifact in_a[SPEC_INPUTS];
    Mlaudit__V1__Change__AttributesEntry at[SPEC_MAP], *at_p[SPEC_MAP];
    Mlaudit__V1__Change__MetricsEntry me[SPEC_MAP], *me_p[SPEC_MAP];
    Mlaudit__V1__Deployment dep;
    Mlaudit__V1__Rollback rb;
    Mlaudit__V1__Approval ap;
} built;

static void art_set(mla_pb_artifact *out, const art *a)
{
    mla_pb_artifact z = MLAUDIT__V1__ARTIFACT__INIT;
    *out = z;
    out->type = CS(a->type);
    out->name = CS(a->name);
    out->version = CS(a->version);
}

static void build(built *b, const spec *s)
{
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    memset(b, 0, sizeof *b);
    b->c = c;
    b->c.kind = s->kind;
    b->c.reason = CS(s->reason ? s->reason : "unit test");
    b->c.actor = CS("alice");
    if (s->subject.type) {
        art_set(&b->subject, &s->subject);
        /* One identity, one digest (SPEC §3): derived from the identity. */
        uint32_t h = 2166136261u;
        for (const char *p = s->subject.name; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
        for (const char *p = s->subject.version; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
        for (size_t i = 0; i < 32; i++) b->digest[i] = (uint8_t)(h >> (8 * (i % 4))) ^ (uint8_t)i;
        b->subject.digest.data = b->digest;
        b->subject.digest.len = 32;
        b->c.subject = &b->subject;
    }
    size_t n = 0;
    while (n < SPEC_INPUTS && s->inputs[n].role) {
        mla_pb_input z = MLAUDIT__V1__INPUT__INIT;
        b->in[n] = z;
        art_set(&b->in_a[n], &s->inputs[n].a);
        b->in[n].artifact = &b->in_a[n];
        b->in[n].role = CS(s->inputs[n].role);
        b->in_p[n] = &b->in[n];
        n++;
    }
    b->c.inputs = b->in_p;
    b->c.n_inputs = n;
    for (n = 0; n < SPEC_MAP && s->attrs[n].k; n++) {
        Mlaudit__V1__Change__AttributesEntry z = MLAUDIT__V1__CHANGE__ATTRIBUTES_ENTRY__INIT;
        b->at[n] = z;
        b->at[n].key = CS(s->attrs[n].k);
        b->at[n].value = CS(s->attrs[n].v);
        b->at_p[n] = &b->at[n];
    }
    b->c.attributes = b->at_p;
    b->c.n_attributes = n;
    for (n = 0; n < SPEC_MAP && s->metrics[n].k; n++) {
        Mlaudit__V1__Change__MetricsEntry z = MLAUDIT__V1__CHANGE__METRICS_ENTRY__INIT;
        b->me[n] = z;
        b->me[n].key = CS(s->metrics[n].k);
        b->me[n].value = s->metrics[n].v;
        b->me_p[n] = &b->me[n];
    }
    b->c.metrics = b->me_p;
    b->c.n_metrics = n;
    if (s->kind == KIND(DEPLOYMENT)) {
        Mlaudit__V1__Deployment z = MLAUDIT__V1__DEPLOYMENT__INIT;
        b->dep = z;
        b->dep.target = CS(s->target);
        b->dep.stage = CS(s->stage ? s->stage : "production");
        b->dep.traffic_fraction = s->fraction > 0 ? s->fraction : 1.0;
        b->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
        b->c.deployment = &b->dep;
    }
    if (s->kind == KIND(ROLLBACK)) {
        Mlaudit__V1__Rollback z = MLAUDIT__V1__ROLLBACK__INIT;
        b->rb = z;
        b->rb.target = CS(s->target);
        art_set(&b->to, &s->to);
        b->rb.to = &b->to;
        b->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
        b->c.rollback = &b->rb;
    }
    if (s->approval) {
        Mlaudit__V1__Approval z = MLAUDIT__V1__APPROVAL__INIT;
        b->ap = z;
        b->ap.approved_seq = s->approved_seq;
        b->ap.scope = CS("production");
        if (s->approved.type) {
            art_set(&b->approved, &s->approved);
            b->ap.approved = &b->approved;
        }
        b->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_APPROVAL;
        b->c.approval = &b->ap;
    }
}

static size_t signers_of(const spec *s, uint8_t out[SPEC_SIGNERS])
{
    size_t n = 0;
    while (n < SPEC_SIGNERS && s->signers[n]) {
        out[n] = s->signers[n];
        n++;
    }
    if (n == 0) out[n++] = TRAINER;
    return n;
}

/* ---- the fixture: entries in an array, index records in a memory store ------- */

#define FX_MAX 48

typedef struct fx {
    mla_store *store;
    mla_index_reader r;
    mla_buf entries[FX_MAX];
    size_t n;
    int64_t t_ns; /* ledger time of the next entry */
    bool fail_reads; /* read_entry answers MLA_EIO */
} fx;

static mla_status fx_read(void *ctx, uint64_t seq, mla_buf *out)
{
    fx *f = ctx;
    if (f->fail_reads)
        return mla_err(MLA_EIO, "entry %llu: injected read failure", (unsigned long long)seq);
    if (seq >= f->n)
        return mla_err(MLA_ENOTFOUND, "entry %llu: not in the fixture", (unsigned long long)seq);
    return mla_buf_set(out, mla_buf_slice(&f->entries[seq]));
}

static mla_status fx_put(void *ctx, mla_slice key, mla_slice value)
{
    return mla_store_batch_put(ctx, key, value);
}

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    tu_assert_ok(mla_store_open_mem(&f->store));
    f->r.view.store = f->store;
    f->r.read_entry = fx_read;
    f->r.read_ctx = f;
    f->t_ns = 1700000000000000000;
}

static void fx_dispose(fx *f)
{
    for (size_t i = 0; i < f->n; i++) mla_buf_dispose(&f->entries[i]);
    mla_store_close(f->store);
}

static void keyid_hex(char out[65], uint8_t b)
{
    uint8_t raw[32];
    memset(raw, b, sizeof raw);
    mla_hex_encode_to(out, raw, sizeof raw);
}

/* Record the change of s at the next seq: the Entry bytes (envelope with
 * arbitrary signatures; policy compares keyids, it verifies nothing) and
 * its index records. Returns the seq. */
static uint64_t fx_add(fx *f, const spec *s)
{
    ck_assert_uint_lt(f->n, FX_MAX);
    uint64_t seq = f->n;
    built b;
    build(&b, s);
    mla_buf payload;
    mla_buf_init(&payload, MLA_LIMIT_PAYLOAD_BYTES);
    tu_assert_ok(mla_codec_change_encode(&payload, &b.c));

    uint8_t who[SPEC_SIGNERS];
    size_t n_sig = signers_of(s, who);
    char keyids[SPEC_SIGNERS][65];
    uint8_t sig[64];
    memset(sig, 0x5a, sizeof sig);
    mla_pb_signature sigs[SPEC_SIGNERS], *sig_p[SPEC_SIGNERS];
    for (size_t i = 0; i < n_sig; i++) {
        mla_pb_signature z = MLAUDIT__V1__SIGNATURE__INIT;
        sigs[i] = z;
        keyid_hex(keyids[i], who[i]);
        sigs[i].keyid = keyids[i];
        sigs[i].sig.data = sig;
        sigs[i].sig.len = sizeof sig;
        sig_p[i] = &sigs[i];
    }
    mla_pb_envelope env = MLAUDIT__V1__ENVELOPE__INIT;
    env.payload.data = payload.ptr;
    env.payload.len = payload.len;
    env.payload_type = CS(MLA_PAYLOAD_TYPE_CHANGE);
    env.signatures = sig_p;
    env.n_signatures = n_sig;
    uint8_t prev[32] = {0};
    mla_pb_entry e = MLAUDIT__V1__ENTRY__INIT;
    e.seq = seq;
    e.ledger_time_ns = f->t_ns;
    e.prev_hash.data = prev;
    e.prev_hash.len = sizeof prev;
    e.envelope = &env;
    e.submitter = CS("test-client");
    mla_buf_init(&f->entries[seq], MLA_LIMIT_ENTRY_BYTES);
    tu_assert_ok(mla_codec_entry_encode(&f->entries[seq], &e));
    f->n++;

    mla_store_batch *batch;
    tu_assert_ok(mla_store_batch_new(&batch));
    tu_assert_ok(mla_index_entry_put(&f->r, seq, &b.c, fx_put, batch));
    tu_assert_ok(mla_store_write(f->store, batch, false));
    mla_store_batch_free(batch);
    f->r.tree_size = f->n;
    f->t_ns += 1000000;
    mla_buf_dispose(&payload);
    return seq;
}

/* The candidate: s as the change about to be recorded at the next seq. */
typedef struct cand {
    built b;
    mla_policy_candidate c;
} cand;

static void cand_make(cand *k, const fx *f, const spec *s)
{
    build(&k->b, s);
    k->c.seq = f->n;
    k->c.ledger_time_ns = f->t_ns;
    k->c.change = &k->b.c;
}

static mla_status kind_check(const fx *f, const spec *s)
{
    cand k;
    cand_make(&k, f, s);
    return mla_policy_kind_check(&f->r, &k.c);
}

/* Run the configured rules; violations into out (caller disposes). */
static mla_status check(const fx *f, const mla_policy *p, const spec *s, mla_buf *out)
{
    cand k;
    cand_make(&k, f, s);
    mla_buf_init(out, MLA_LIMIT_REASON);
    return mla_policy_check(p, &f->r, &k.c, out);
}

static size_t lines_of(const mla_buf *b)
{
    if (b->len == 0) return 0;
    size_t n = 1;
    for (size_t i = 0; i < b->len; i++) n += b->ptr[i] == '\n';
    return n;
}

static void assert_has(const mla_buf *b, const char *text)
{
    ck_assert_msg(memmem(b->ptr, b->len, text, strlen(text)) != NULL,
                  "violations \"%.*s\" lack \"%s\"", (int)b->len, (const char *)b->ptr, text);
}

static mla_policy *policy_new(const char *text)
{
    mla_policy *p = NULL;
    tu_assert_ok(mla_policy_parse(&p, mla_slice_cstr(text)));
    return p;
}

/* ---- the world the configured rules are checked in --------------------------- */

#define FULL_RULES                                                                                 \
    "production_stages = production, prod-eu\n"                                                    \
    "require_inputs = training-data, code, environment\n"                                          \
    "require_evaluation = true\n"                                                                  \
    "require_approval = true\n"                                                                    \
    "require_reason = true\n"                                                                      \
    "require_attributes = random_seed, library_versions\n"                                         \
    "[regression]\n"                                                                               \
    "accuracy = higher 0.02\n"                                                                     \
    "latency_p99_ms = lower 5\n"
static const char FULL_POLICY[] = "[policy]\nmode = enforce\n" FULL_RULES;
static const char FULL_AUDIT[] = "[policy]\nmode = audit\n" FULL_RULES;

enum approval_how {
    APPROVE_BY_SEQ, /* the reviewer approves the MODEL entry's seq */
    APPROVE_NONE,
    APPROVE_BY_TRAINER, /* the model's own signer approves it */
    APPROVE_COSIGNED, /* trainer and reviewer co-sign */
    APPROVE_BY_ARTIFACT, /* the reviewer approves the artifact by identity */
    APPROVE_OTHER_MODEL, /* the reviewer approves fraud@2 instead */
};

typedef struct world_opts {
    bool no_evaluation;
    enum approval_how approval;
    bool no_code_input, no_seed;
    double eval_accuracy, eval_latency; /* 0: 0.93 and 11 */
    bool eval_without_latency, model_without_latency;
    double model_accuracy; /* 0: 0.91 */
} world_opts;

typedef struct world {
    uint64_t model2, eval2, deploy2, model3, eval3, approval;
} world;

static const art MODEL2 = {"model", "fraud", "2"};
static const art MODEL3 = {"model", "fraud", "3"};
static const art DATA = {"dataset", "tx", "2026-06"};
static const art CODE = {"code", "train", "9f2c1e7"};
static const art ENV = {"environment", "py", "3.11"};

/* seq 0-2 the inputs; then fraud@2 (MODEL, EVALUATION, DEPLOYMENT to
 * fraud-api in production); then fraud@3 with its EVALUATION and APPROVAL. */
static void world_build(fx *f, world *w, const world_opts *o)
{
    spec data = {.kind = KIND(DATASET), .subject = DATA};
    spec code = {.kind = KIND(CODE), .subject = CODE};
    spec env = {.kind = KIND(ENVIRONMENT), .subject = ENV};
    fx_add(f, &data);
    fx_add(f, &code);
    fx_add(f, &env);

    spec m2 = {.kind = KIND(MODEL),
               .subject = MODEL2,
               .inputs = {{"training-data", DATA}},
               .metrics = {{"accuracy", 0.90}, {"latency_p99_ms", 9}}};
    w->model2 = fx_add(f, &m2);
    spec e2 = {.kind = KIND(EVALUATION),
               .subject = {"evaluation", "fraud-eval", "2"},
               .inputs = {{"evaluated-model", MODEL2}},
               .metrics = {{"accuracy", 0.92}, {"latency_p99_ms", 10}}};
    w->eval2 = fx_add(f, &e2);
    spec d2 = {
        .kind = KIND(DEPLOYMENT), .subject = MODEL2, .target = "fraud-api", .signers = {DEPLOYER}};
    w->deploy2 = fx_add(f, &d2);

    spec m3 = {.kind = KIND(MODEL), .subject = MODEL3, .inputs = {{"base-model", MODEL2}}};
    size_t i = 0;
    m3.inputs[i++] = (inp){"training-data", DATA};
    if (!o->no_code_input) m3.inputs[i++] = (inp){"code", CODE};
    m3.inputs[i++] = (inp){"environment", ENV};
    m3.inputs[i++] = (inp){"base-model", MODEL2};
    i = 0;
    if (!o->no_seed) m3.attrs[i++] = (kv){"random_seed", "42"};
    m3.attrs[i++] = (kv){"library_versions", "xgboost==2.0.3"};
    m3.metrics[0] = (met){"accuracy", o->model_accuracy > 0 ? o->model_accuracy : 0.91};
    if (!o->model_without_latency) m3.metrics[1] = (met){"latency_p99_ms", 12};
    w->model3 = fx_add(f, &m3);

    w->eval3 = UINT64_MAX;
    if (!o->no_evaluation) {
        spec e3 = {.kind = KIND(EVALUATION),
                   .subject = {"evaluation", "fraud-eval", "3"},
                   .inputs = {{"evaluated-model", MODEL3}, {"test-data", DATA}}};
        e3.metrics[0] = (met){"accuracy", o->eval_accuracy > 0 ? o->eval_accuracy : 0.93};
        if (!o->eval_without_latency)
            e3.metrics[1] = (met){"latency_p99_ms", o->eval_latency > 0 ? o->eval_latency : 11};
        w->eval3 = fx_add(f, &e3);
    }

    spec ap = {.kind = KIND(APPROVAL),
               .subject = MODEL3,
               .approval = true,
               .approved_seq = w->model3,
               .signers = {REVIEWER}};
    switch (o->approval) {
    case APPROVE_BY_SEQ: break;
    case APPROVE_NONE: w->approval = UINT64_MAX; return;
    case APPROVE_BY_TRAINER: ap.signers[0] = TRAINER; break;
    case APPROVE_COSIGNED:
        ap.signers[0] = TRAINER;
        ap.signers[1] = REVIEWER;
        break;
    case APPROVE_BY_ARTIFACT:
        ap.approved = MODEL3;
        ap.approved_seq = 0;
        break;
    case APPROVE_OTHER_MODEL:
        ap.subject = MODEL2;
        ap.approved_seq = w->model2;
        break;
    }
    w->approval = fx_add(f, &ap);
}

static const spec DEPLOY3 = {.kind = KIND(DEPLOYMENT),
                             .subject = {"model", "fraud", "3"},
                             .target = "fraud-api",
                             .stage = "production",
                             .reason = "release v3",
                             .signers = {DEPLOYER}};

/* Build the world with o, check DEPLOY3 (or d) under policy text, return
 * the violations (caller disposes). */
static void world_check(mla_buf *out, const world_opts *o, const spec *d, const char *text)
{
    fx f;
    world w;
    fx_init(&f);
    world_build(&f, &w, o);
    mla_policy *p = policy_new(text ? text : FULL_POLICY);
    tu_assert_ok(check(&f, p, d ? d : &DEPLOY3, out));
    mla_policy_free(p);
    fx_dispose(&f);
}

/* ---- the policy file --------------------------------------------------------- */

START_TEST(test_policy_file_parses_every_key)
{
    mla_policy *p = policy_new(FULL_POLICY);
    ck_assert_int_eq(mla_policy_mode_of(p), MLA_POLICY_ENFORCE);
    ck_assert_uint_eq(p->stages.n, 2);
    ck_assert_str_eq(p->stages.item[0], "production");
    ck_assert_str_eq(p->stages.item[1], "prod-eu");
    ck_assert_uint_eq(p->inputs.n, 3);
    ck_assert_str_eq(p->inputs.item[2], "environment");
    ck_assert(p->require_evaluation && p->require_approval && p->require_reason);
    ck_assert_uint_eq(p->attributes.n, 2);
    ck_assert_str_eq(p->attributes.item[1], "library_versions");
    ck_assert_uint_eq(p->n_metrics, 2);
    ck_assert_str_eq(p->metrics[0].name, "accuracy");
    ck_assert(p->metrics[0].higher_is_better);
    ck_assert(p->metrics[0].max_change == 0.02);
    ck_assert_str_eq(p->metrics[1].name, "latency_p99_ms");
    ck_assert(!p->metrics[1].higher_is_better);
    ck_assert(p->metrics[1].max_change == 5);
    mla_policy_free(p);
}
END_TEST

START_TEST(test_policy_file_defaults)
{
    mla_policy *p = policy_new("");
    ck_assert_int_eq(mla_policy_mode_of(p), MLA_POLICY_ENFORCE);
    ck_assert_uint_eq(p->stages.n, 1);
    ck_assert_str_eq(p->stages.item[0], "production");
    ck_assert(!p->require_evaluation && !p->require_approval && !p->require_reason);
    ck_assert_uint_eq(p->inputs.n + p->attributes.n + p->n_metrics, 0);
    mla_policy_free(p);
    ck_assert_int_eq(mla_policy_mode_of(NULL), MLA_POLICY_ENFORCE);
    mla_policy_free(NULL);
}
END_TEST

START_TEST(test_policy_file_audit_mode_comments_and_long_lists)
{
    mla_policy *p = policy_new("\xef\xbb\xbf"
                               "; a comment\n"
                               "# another\n"
                               "[policy]\r\n"
                               "mode = audit ; inline comment\r\n"
                               "require_inputs = training-data,\n"
                               "    code , x-weights,\n"
                               "\n"
                               "require_inputs = config\n"
                               "require_evaluation = YES\n"
                               "require_approval = off\n"
                               "[regression]\n"
                               "auc=higher 1e-3\n"
                               "p99 : lower 0\n");
    ck_assert_int_eq(mla_policy_mode_of(p), MLA_POLICY_AUDIT);
    ck_assert_uint_eq(p->inputs.n, 4);
    ck_assert_str_eq(p->inputs.item[0], "training-data");
    ck_assert_str_eq(p->inputs.item[1], "code");
    ck_assert_str_eq(p->inputs.item[2], "x-weights");
    ck_assert_str_eq(p->inputs.item[3], "config");
    ck_assert(p->require_evaluation && !p->require_approval);
    ck_assert_uint_eq(p->n_metrics, 2);
    ck_assert(p->metrics[0].max_change == 1e-3);
    ck_assert_str_eq(p->metrics[1].name, "p99");
    ck_assert(p->metrics[1].max_change == 0);
    mla_policy_free(p);
}
END_TEST

typedef struct bad_case {
    const char *text;
    const char *want; /* substring of the message: "policy:<line>: <key>" and the problem */
} bad_case;

static const bad_case bad_cases[] = {
    {"[policy]\nmode = strict\n", "policy:2: mode: \"strict\" is not enforce or audit"},
    {"[policy]\nmode = Enforce\n", "policy:2: mode:"},
    {"[policy]\nfoo = 1\n", "policy:2: foo: unknown key in [policy]"},
    {"[polcy]\nmode = audit\n", "policy:1: [polcy]: unknown section"},
    {"[policy]\nmode = audit\n\n[extra]\n", "policy:4: [extra]: unknown section"},
    {"mode = audit\n", "policy:1: mode: outside a section"},
    {"[policy]\nrequire_approval = maybe\n", "policy:2: require_approval: \"maybe\" is not true"},
    {"[policy]\nrequire_reason =\n", "policy:2: require_reason: \"\" is not true or false"},
    {"[policy]\nrequire_inputs = code, weights\n",
     "policy:2: require_inputs: \"weights\" is not a known input role"},
    {"[policy]\nrequire_inputs = x-\n", "policy:2: require_inputs: \"x-\" is not a known"},
    {"[policy]\nrequire_inputs = code, code\n",
     "policy:2: require_inputs: duplicate item \"code\""},
    {"[policy]\nrequire_inputs = code\nrequire_inputs = code\n",
     "policy:3: require_inputs: duplicate item"},
    {"[policy]\nproduction_stages = a\x01"
     "b\n",
     "policy:2: production_stages: control character 0x01"},
    {"[policy]\nproduction_stages = \xff\n",
     "policy:2: production_stages: item \"\xff\" is not valid UTF-8"},
    {"[policy]\nmode = audit\nmode = enforce\n", "policy:3: mode: given twice (first at line 2)"},
    {"[policy]\nmode = audit\n  require_reason = true\n",
     "policy:3: mode: indented line continues the value of line 2"},
    {"[regression]\naccuracy = higher\n", "policy:2: accuracy: \"higher\" has no allowed change"},
    {"[regression]\naccuracy = up 0.1\n", "policy:2: accuracy: \"up 0.1\" is not \"higher N\""},
    {"[regression]\naccuracy = higher 0.1x\n", "policy:2: accuracy: \"0.1x\" is not a number"},
    {"[regression]\naccuracy = higher 0.1 0.2\n",
     "policy:2: accuracy: \"0.1 0.2\" is not a number"},
    {"[regression]\naccuracy = higher -0.1\n",
     "policy:2: accuracy: -0.1 is not a finite number >= 0"},
    {"[regression]\naccuracy = higher nan\n", "policy:2: accuracy: nan is not a finite number"},
    {"[regression]\naccuracy = lower inf\n", "policy:2: accuracy: inf is not a finite number"},
    {"[regression]\naccuracy = lower 1e999\n", "policy:2: accuracy: \"1e999\" is not a number"},
    {"[regression]\naccuracy = higher 0.1\nauc = lower 1\naccuracy = lower 1\n",
     "policy:4: accuracy: duplicate metric (first at line 2)"},
    {"[regression]\n= higher 0.1\n", "policy:2: \"\": a metric needs a name"},
    {"[policy]\n= audit\n", "policy:2: : unknown key in [policy]"},
    {"[policy]\nthis line has no equals sign\n", "policy:2: line: not \"key = value\""},
    {"[policy\nmode = audit\n", "policy:1: line: not \"key = value\""},
    /* The first fault wins, whichever kind it is. */
    {"[policy]\nnonsense\nmode = bad\n", "policy:2: line:"},
    {"[policy]\nmode = bad\nnonsense\n", "policy:2: mode:"},
    {"[policy]\nrequire_inputs = code,\n  [regression]\n", "policy:3: [: indented section header"},
    {"[policy]\nmode = audit\n\0mode = enforce\n", "policy:3: line: NUL byte"},
};

START_TEST(test_policy_file_refuses_naming_line_and_key)
{
    const bad_case *b = &bad_cases[_i];
    /* NUL cases carry their length in the literal: measure up to the last \n. */
    size_t len = strlen(b->text);
    if (strstr(b->want, "NUL")) len = strlen(b->text) + 1 + strlen(b->text + strlen(b->text) + 1);
    mla_policy *p = (mla_policy *)(uintptr_t)1;
    tu_assert_fail_with(mla_policy_parse(&p, mla_slice_make(b->text, len)), MLA_EINVAL, b->want);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_policy_file_limits)
{
    mla_buf t;
    mla_policy *p;
    mla_buf_init(&t, 1 << 20);

    /* MLA_POLICY_LIST_MAX items over continuation lines, then one more. */
    tu_assert_ok(mla_buf_append_cstr(&t, "[policy]\nrequire_attributes = a0"));
    for (int i = 1; i < MLA_POLICY_LIST_MAX; i++) tu_assert_ok(mla_buf_printf(&t, ",\n  a%d", i));
    tu_assert_ok(mla_buf_append_cstr(&t, "\n"));
    tu_assert_ok(mla_policy_parse(&p, mla_buf_slice(&t)));
    ck_assert_uint_eq(p->attributes.n, MLA_POLICY_LIST_MAX);
    mla_policy_free(p);
    tu_assert_ok(mla_buf_append_cstr(&t, "require_attributes = one_more\n"));
    tu_assert_fail_with(mla_policy_parse(&p, mla_buf_slice(&t)), MLA_EINVAL,
                        "policy:34: require_attributes: more than 32 items");

    mla_buf_clear(&t);
    tu_assert_ok(mla_buf_append_cstr(&t, "[regression]\n"));
    for (int i = 0; i <= MLA_POLICY_LIST_MAX; i++)
        tu_assert_ok(mla_buf_printf(&t, "m%d = higher 1\n", i));
    tu_assert_fail_with(mla_policy_parse(&p, mla_buf_slice(&t)), MLA_EINVAL,
                        "policy:34: m32: more than 32 metrics");

    /* A line longer than inih's line buffer would be split silently. */
    mla_buf_clear(&t);
    tu_assert_ok(mla_buf_append_cstr(&t, "[policy]\nrequire_attributes = "));
    for (int i = 0; i < 40; i++) tu_assert_ok(mla_buf_printf(&t, "attr%02d, ", i));
    tu_assert_ok(mla_buf_append_cstr(&t, "\n"));
    tu_assert_fail_with(mla_policy_parse(&p, mla_buf_slice(&t)), MLA_EINVAL, "policy:2: line: ");

    mla_buf_clear(&t);
    tu_assert_ok(mla_buf_append_cstr(&t, "[policy]\n"));
    while (t.len <= MLA_POLICY_FILE_MAX)
        tu_assert_ok(mla_buf_append_cstr(&t, "; padding padding\n"));
    tu_assert_fail_with(mla_policy_parse(&p, mla_buf_slice(&t)), MLA_EINVAL, "exceeds limit 65536");
    mla_buf_dispose(&t);
}
END_TEST

START_TEST(test_policy_file_load)
{
    mla_policy *p;
    tu_assert_ok(mla_policy_load(&p, tu_vector_path("../../deploy/policy.example.ini")));
    /* The example documents every key with a value that parses. */
    ck_assert_uint_ge(p->stages.n, 1);
    ck_assert_uint_ge(p->inputs.n, 1);
    ck_assert_uint_ge(p->attributes.n, 1);
    ck_assert_uint_ge(p->n_metrics, 2);
    ck_assert(p->require_evaluation && p->require_approval && p->require_reason);
    mla_policy_free(p);

    tu_assert_fail_with(mla_policy_load(&p, "/nonexistent/policy.ini"), MLA_EIO,
                        "/nonexistent/policy.ini");
    ck_assert_ptr_null(p);

    char *dir = tu_tmpdir_new();
    char path[4096];
    ck_assert(snprintf(path, sizeof path, "%s/big.ini", dir) < (int)sizeof path);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (size_t n = 0; n <= MLA_POLICY_FILE_MAX; n += 16) fputs("; fifteen chars\n", fp);
    fclose(fp);
    tu_assert_fail_with(mla_policy_load(&p, path), MLA_EINVAL, "big.ini exceeds limit");
    ck_assert(snprintf(path, sizeof path, "%s/bad.ini", dir) < (int)sizeof path);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("[policy]\nmode = audit\nrequire_approval = sometimes\n", fp);
    fclose(fp);
    tu_assert_fail_with(mla_policy_load(&p, path), MLA_EINVAL, "policy:3: require_approval");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_policy_file_allocation_failure)
{
    mla_policy *p = NULL;
    mla_status rc = MLA_ENOMEM;
    long k;
    for (k = 0; k < 1000 && rc == MLA_ENOMEM; k++) {
        mla_alloc_fail_after(k);
        rc = mla_policy_parse(&p, mla_slice_cstr(FULL_POLICY));
        mla_alloc_fail_reset();
        if (rc == MLA_ENOMEM) ck_assert_ptr_null(p);
    }
    tu_assert_ok(rc);
    ck_assert_int_gt(k, 5); /* the stages, lists and metrics each allocate */
    ck_assert_uint_eq(p->n_metrics, 2);
    mla_policy_free(p);
}
END_TEST

/* ---- per-kind rules ---------------------------------------------------------- */

START_TEST(test_policy_kind_deployment_needs_recorded_model)
{
    fx f;
    fx_init(&f);
    spec d = DEPLOY3;
    tu_assert_fail_with(kind_check(&f, &d), MLA_EPOLICY,
                        "change.subject: model:fraud@3 was never recorded by a MODEL entry; record "
                        "it before deploying it");
    /* The identity recorded by something other than a MODEL is not enough. */
    spec ds = {.kind = KIND(DATASET), .subject = {"model", "fraud", "3"}};
    uint64_t s0 = fx_add(&f, &ds);
    tu_assert_fail_with(kind_check(&f, &d), MLA_EPOLICY, "change.subject: model:fraud@3");
    spec m = {.kind = KIND(MODEL), .subject = MODEL2, .inputs = {{"training-data", DATA}}};
    fx_add(&f, &m);
    tu_assert_fail_with(kind_check(&f, &d), MLA_EPOLICY, "change.subject: model:fraud@3");
    d.subject = MODEL2;
    tu_assert_ok(kind_check(&f, &d));
    /* Only entries before the candidate count. */
    cand k;
    cand_make(&k, &f, &d);
    k.c.seq = s0 + 1;
    tu_assert_fail_with(mla_policy_kind_check(&f.r, &k.c), MLA_EPOLICY, "model:fraud@2");
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_kind_rollback_needs_deployment_on_target)
{
    fx f;
    fx_init(&f);
    spec m2 = {.kind = KIND(MODEL), .subject = MODEL2, .inputs = {{"training-data", DATA}}};
    spec m3 = {.kind = KIND(MODEL), .subject = MODEL3, .inputs = {{"base-model", MODEL2}}};
    fx_add(&f, &m2);
    fx_add(&f, &m3);
    spec rb = {.kind = KIND(ROLLBACK), .subject = MODEL3, .target = "fraud-api", .to = MODEL2};
    tu_assert_fail_with(kind_check(&f, &rb), MLA_EPOLICY,
                        "change.rollback.to: model:fraud@2 was never deployed on target "
                        "\"fraud-api\"");
    /* Deployed, but on another target. */
    spec d2eu = {.kind = KIND(DEPLOYMENT), .subject = MODEL2, .target = "fraud-api-eu"};
    fx_add(&f, &d2eu);
    tu_assert_fail_with(kind_check(&f, &rb), MLA_EPOLICY, "change.rollback.to: model:fraud@2");
    /* Another model deployed on this target does not count either. */
    spec d3 = {.kind = KIND(DEPLOYMENT), .subject = MODEL3, .target = "fraud-api"};
    fx_add(&f, &d3);
    tu_assert_fail_with(kind_check(&f, &rb), MLA_EPOLICY, "change.rollback.to: model:fraud@2");
    spec d2 = {
        .kind = KIND(DEPLOYMENT), .subject = MODEL2, .target = "fraud-api", .stage = "canary"};
    fx_add(&f, &d2);
    tu_assert_ok(kind_check(&f, &rb));
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_kind_approval_approves_something_recorded)
{
    fx f;
    fx_init(&f);
    spec m3 = {.kind = KIND(MODEL), .subject = MODEL3, .inputs = {{"base-model", MODEL2}}};
    fx_add(&f, &m3);
    fx_add(&f, &m3); /* the same identity again: seq 1 */
    spec ap = {.kind = KIND(APPROVAL),
               .subject = MODEL3,
               .approval = true,
               .approved = {"model", "fraud", "9"},
               .signers = {REVIEWER}};
    tu_assert_fail_with(kind_check(&f, &ap), MLA_EPOLICY,
                        "change.approval.approved: model:fraud@9 was never recorded");
    ap.approved = MODEL3;
    tu_assert_ok(kind_check(&f, &ap));
    ap.approved.type = NULL;
    ap.approved_seq = 1;
    tu_assert_ok(kind_check(&f, &ap));
    ap.approved_seq = 2; /* the candidate itself */
    tu_assert_fail_with(
        kind_check(&f, &ap), MLA_EPOLICY,
        "change.approval.approved_seq: 2 is not an earlier entry (this entry is seq "
        "2)");
    ap.approved_seq = 7;
    tu_assert_fail_with(kind_check(&f, &ap), MLA_EPOLICY, "change.approval.approved_seq: 7");
    /* Both named: both must hold. */
    ap.approved = MODEL3;
    tu_assert_fail_with(kind_check(&f, &ap), MLA_EPOLICY, "change.approval.approved_seq: 7");
    ap.approval = false;
    tu_assert_fail_with(kind_check(&f, &ap), MLA_EPOLICY, "change.approval: missing");
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_kind_evaluation_evaluates_recorded_model)
{
    fx f;
    fx_init(&f);
    spec ds = {.kind = KIND(DATASET), .subject = DATA};
    fx_add(&f, &ds);
    spec ev = {.kind = KIND(EVALUATION),
               .subject = {"evaluation", "fraud-eval", "3"},
               .inputs = {{"test-data", DATA}, {"evaluated-model", MODEL3}}};
    tu_assert_fail_with(kind_check(&f, &ev), MLA_EPOLICY,
                        "change.inputs[1].artifact: model:fraud@3 was never recorded by a MODEL "
                        "entry; record it before evaluating it");
    /* A dataset is not a model. */
    ev.inputs[1].a = DATA;
    tu_assert_fail_with(kind_check(&f, &ev), MLA_EPOLICY, "change.inputs[1].artifact: dataset:tx");
    spec m3 = {.kind = KIND(MODEL), .subject = MODEL3, .inputs = {{"base-model", MODEL2}}};
    fx_add(&f, &m3);
    ev.inputs[1].a = MODEL3;
    tu_assert_ok(kind_check(&f, &ev));
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_kind_other_kinds_pass)
{
    fx f;
    fx_init(&f);
    spec m = {.kind = KIND(MODEL), .subject = MODEL3, .inputs = {{"base-model", MODEL2}}};
    tu_assert_ok(kind_check(&f, &m));
    spec doc = {.kind = KIND(DOCUMENT), .subject = {"document", "card", "1"}};
    tu_assert_ok(kind_check(&f, &doc));
    fx_dispose(&f);
}
END_TEST

/* ---- configured rules -------------------------------------------------------- */

START_TEST(test_policy_rules_all_met)
{
    /* The same rules in each mode: the mode is only reported (the log
     * applies it). */
    static const char *const texts[] = {FULL_POLICY, FULL_AUDIT};
    for (size_t i = 0; i < 2; i++) {
        mla_buf v;
        mla_policy *p = policy_new(texts[i]);
        ck_assert_int_eq(mla_policy_mode_of(p), i == 0 ? MLA_POLICY_ENFORCE : MLA_POLICY_AUDIT);
        mla_policy_free(p);
        world_opts o = {0};
        world_check(&v, &o, NULL, texts[i]);
        ck_assert_msg(v.len == 0, "unexpected violations: %.*s", (int)v.len, (const char *)v.ptr);
        mla_buf_dispose(&v);
    }
}
END_TEST

START_TEST(test_policy_rules_same_violations_in_both_modes)
{
    mla_buf a, b;
    world_opts o = {.approval = APPROVE_NONE, .eval_accuracy = 0.5};
    world_check(&a, &o, NULL, FULL_POLICY);
    world_check(&b, &o, NULL, FULL_AUDIT);
    ck_assert_uint_eq(lines_of(&a), 2);
    ck_assert(mla_slice_eq(mla_buf_slice(&a), mla_buf_slice(&b)));
    mla_buf_dispose(&a);
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_policy_rules_required_inputs)
{
    mla_buf v;
    world_opts o = {.no_code_input = true};
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "production deployment of model:fraud@3: its MODEL entry (seq 6) lacks required "
                   "inputs: code");
    mla_buf_dispose(&v);
    /* Every missing role on the one line. */
    world_check(&v, &o, NULL,
                "[policy]\nrequire_inputs = code, validation-data, training-data, x-weights\n");
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "lacks required inputs: code, validation-data, x-weights");
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_evaluation)
{
    mla_buf v;
    world_opts o = {.no_evaluation = true};
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "production deployment of model:fraud@3: no EVALUATION has it as "
                   "evaluated-model input (MODEL entry seq 6)");
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_evaluation_must_be_an_evaluation_of_the_model)
{
    fx f;
    world w;
    mla_buf v;
    world_opts o = {.no_evaluation = true};
    fx_init(&f);
    world_build(&f, &w, &o);
    /* A DOCUMENT naming the model as evaluated-model, and an EVALUATION of
     * fraud@2 using fraud@3 in another role: neither evaluates fraud@3. */
    spec doc = {.kind = KIND(DOCUMENT),
                .subject = {"document", "card", "3"},
                .inputs = {{"evaluated-model", MODEL3}}};
    spec ev = {.kind = KIND(EVALUATION),
               .subject = {"evaluation", "x", "1"},
               .inputs = {{"evaluated-model", MODEL2}, {"base-model", MODEL3}},
               .metrics = {{"accuracy", 0.5}}};
    fx_add(&f, &doc);
    fx_add(&f, &ev);
    mla_policy *p = policy_new("[policy]\nrequire_evaluation = true\n");
    tu_assert_ok(check(&f, p, &DEPLOY3, &v));
    assert_has(&v, "no EVALUATION has it as evaluated-model input");
    mla_buf_dispose(&v);
    spec good = {.kind = KIND(EVALUATION),
                 .subject = {"evaluation", "y", "1"},
                 .inputs = {{"evaluated-model", MODEL3}},
                 .metrics = {{"accuracy", 0.5}}};
    fx_add(&f, &good);
    tu_assert_ok(check(&f, p, &DEPLOY3, &v));
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_rules_approval)
{
    mla_buf v;
    world_opts o = {.approval = APPROVE_NONE};
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "production deployment of model:fraud@3: no APPROVAL by a key other than the "
                   "model's signer (MODEL entry seq 6)");
    mla_buf_dispose(&v);

    o.approval = APPROVE_BY_TRAINER;
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "no APPROVAL by a key other than the model's signer (MODEL entry seq 6; 1 "
                   "APPROVAL(s) signed by that key, the last seq 8)");
    mla_buf_dispose(&v);

    /* A co-signature by the model's own key is not an independent approval. */
    o.approval = APPROVE_COSIGNED;
    world_check(&v, &o, NULL, NULL);
    assert_has(&v, "no APPROVAL by a key other than the model's signer");
    mla_buf_dispose(&v);

    /* An approval of another model is not an approval of this one. */
    o.approval = APPROVE_OTHER_MODEL;
    world_check(&v, &o, NULL, NULL);
    assert_has(&v, "no APPROVAL by a key other than the model's signer (MODEL entry seq 6)");
    mla_buf_dispose(&v);

    o.approval = APPROVE_BY_ARTIFACT;
    world_check(&v, &o, NULL, NULL);
    ck_assert_msg(v.len == 0, "%.*s", (int)v.len, (const char *)v.ptr);
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_reason)
{
    mla_buf v;
    world_opts o = {0};
    spec d = DEPLOY3;
    d.reason = "";
    world_check(&v, &o, &d, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "production deployment of model:fraud@3: the change gives no reason");
    mla_buf_dispose(&v);
    world_check(&v, &o, &d, "[policy]\nrequire_reason = false\n");
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_attributes)
{
    mla_buf v;
    world_opts o = {.no_seed = true};
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "production deployment of model:fraud@3: its MODEL entry (seq 6) lacks required "
                   "attributes: random_seed");
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_regression_higher_is_better)
{
    mla_buf v;
    world_opts o = {.eval_accuracy = 0.89};
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "production deployment of model:fraud@3: metric accuracy fell from 0.92 "
                   "(model:fraud@2, EVALUATION seq 4) to 0.89 (EVALUATION seq 7), more than the "
                   "allowed 0.02");
    mla_buf_dispose(&v);
    /* Exactly the allowed drop is allowed, despite binary fractions. */
    o.eval_accuracy = 0.90;
    world_check(&v, &o, NULL, NULL);
    ck_assert_msg(v.len == 0, "%.*s", (int)v.len, (const char *)v.ptr);
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_regression_lower_is_better)
{
    mla_buf v;
    world_opts o = {.eval_latency = 15.5};
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "metric latency_p99_ms rose from 10 (model:fraud@2, EVALUATION seq 4) to 15.5 "
                   "(EVALUATION seq 7), more than the allowed 5");
    mla_buf_dispose(&v);
    o.eval_latency = 15;
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_regression_falls_back_to_model_metrics)
{
    mla_buf v;
    /* No EVALUATION: the MODEL change's own metrics are compared. */
    world_opts o = {.no_evaluation = true, .model_accuracy = 0.8};
    world_check(&v, &o, NULL, "[regression]\naccuracy = higher 0.02\n");
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "metric accuracy fell from 0.92 (model:fraud@2, EVALUATION seq 4) to 0.8 (MODEL "
                   "seq 6)");
    mla_buf_dispose(&v);
    /* The EVALUATION lacks the metric: the MODEL change has it. */
    world_opts o2 = {.eval_without_latency = true};
    world_check(&v, &o2, NULL, "[regression]\nlatency_p99_ms = lower 1\n");
    assert_has(&v, "metric latency_p99_ms rose from 10 (model:fraud@2, EVALUATION seq 4) to 12 "
                   "(MODEL seq 6), more than the allowed 1");
    mla_buf_dispose(&v);
}
END_TEST

START_TEST(test_policy_rules_regression_missing_values)
{
    mla_buf v;
    world_opts o = {.eval_without_latency = true, .model_without_latency = true};
    world_check(&v, &o, NULL, NULL);
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "production deployment of model:fraud@3: metric latency_p99_ms: model:fraud@3 "
                   "has no value to compare with model:fraud@2");
    mla_buf_dispose(&v);
    /* The replaced model lacking the metric is no fault of the candidate. */
    world_opts o2 = {0};
    world_check(&v, &o2, NULL, "[regression]\nf1 = higher 0\n");
    assert_has(&v, "metric f1: model:fraud@3 has no value");
    mla_buf_dispose(&v);
    fx f;
    world w;
    fx_init(&f);
    world_build(&f, &w, &o2);
    spec e = {.kind = KIND(EVALUATION),
              .subject = {"evaluation", "f1", "3"},
              .inputs = {{"evaluated-model", MODEL3}},
              .metrics = {{"f1", 0.5}}};
    fx_add(&f, &e);
    mla_policy *p = policy_new("[regression]\nf1 = higher 0\n");
    tu_assert_ok(check(&f, p, &DEPLOY3, &v));
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_rules_regression_against_the_largest_other_model)
{
    fx f;
    world w;
    mla_buf v;
    world_opts o = {.eval_accuracy = 0.89};
    fx_init(&f);
    world_build(&f, &w, &o);
    /* fraud@3 as a canary: fraud@2 keeps 0.95 and is still what v3 replaces. */
    spec canary = {.kind = KIND(DEPLOYMENT),
                   .subject = MODEL3,
                   .target = "fraud-api",
                   .stage = "canary",
                   .fraction = 0.05};
    fx_add(&f, &canary);
    mla_policy *p = policy_new(FULL_POLICY);
    tu_assert_ok(check(&f, p, &DEPLOY3, &v));
    assert_has(&v, "metric accuracy fell from 0.92 (model:fraud@2");
    mla_buf_dispose(&v);
    /* A first deployment on another target replaces nothing. */
    spec eu = DEPLOY3;
    eu.target = "fraud-api-eu";
    eu.stage = "prod-eu";
    tu_assert_ok(check(&f, p, &eu, &v));
    ck_assert_msg(v.len == 0, "%.*s", (int)v.len, (const char *)v.ptr);
    mla_buf_dispose(&v);
    /* fraud@3 alone on the target: nothing else to compare with. */
    spec full = {
        .kind = KIND(DEPLOYMENT), .subject = MODEL3, .target = "fraud-api", .stage = "staging"};
    fx_add(&f, &full);
    tu_assert_ok(check(&f, p, &DEPLOY3, &v));
    ck_assert_msg(v.len == 0, "%.*s", (int)v.len, (const char *)v.ptr);
    mla_buf_dispose(&v);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_rules_only_listed_stages_and_deployments)
{
    fx f;
    mla_buf v;
    fx_init(&f);
    spec m3 = {.kind = KIND(MODEL), .subject = MODEL3, .inputs = {{"base-model", MODEL2}}};
    fx_add(&f, &m3);
    mla_policy *p = policy_new(FULL_POLICY);
    spec d = DEPLOY3;
    d.stage = "canary";
    tu_assert_ok(check(&f, p, &d, &v));
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);
    d.stage = "prod-eu";
    tu_assert_ok(check(&f, p, &d, &v));
    /* Every rule unmet, one line each, in the file's order. */
    ck_assert_uint_eq(lines_of(&v), 4);
    assert_has(&v, "prod-eu deployment of model:fraud@3: its MODEL entry (seq 0) lacks required "
                   "inputs: training-data, code, environment\n"
                   "prod-eu deployment of model:fraud@3: no EVALUATION has it as evaluated-model "
                   "input (MODEL entry seq 0)\n"
                   "prod-eu deployment of model:fraud@3: no APPROVAL by a key other than the "
                   "model's signer (MODEL entry seq 0)\n"
                   "prod-eu deployment of model:fraud@3: its MODEL entry (seq 0) lacks required "
                   "attributes: random_seed, library_versions");
    mla_buf_dispose(&v);
    tu_assert_ok(check(&f, NULL, &d, &v)); /* no policy, no rules */
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);
    spec m = {.kind = KIND(MODEL), .subject = {"model", "fraud", "4"}};
    tu_assert_ok(check(&f, p, &m, &v));
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_rules_unrecorded_model)
{
    fx f;
    mla_buf v;
    fx_init(&f);
    mla_policy *p = policy_new("[policy]\nrequire_approval = true\nrequire_evaluation = true\n");
    tu_assert_ok(check(&f, p, &DEPLOY3, &v));
    ck_assert_uint_eq(lines_of(&v), 2);
    assert_has(&v, "production deployment of model:fraud@3: no MODEL entry records it");
    assert_has(&v, "no EVALUATION has it as evaluated-model input");
    mla_buf_dispose(&v);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_rules_violations_bounded_by_the_buffer)
{
    fx f;
    mla_buf all, v;
    fx_init(&f);
    spec m3 = {.kind = KIND(MODEL), .subject = MODEL3, .inputs = {{"base-model", MODEL2}}};
    fx_add(&f, &m3);
    mla_policy *p = policy_new(FULL_POLICY);
    tu_assert_ok(check(&f, p, &DEPLOY3, &all));
    const uint8_t *nl = memchr(all.ptr, '\n', all.len);
    ck_assert_ptr_nonnull(nl);
    size_t first = (size_t)(nl - all.ptr);
    cand k;
    cand_make(&k, &f, &DEPLOY3);
    mla_buf_init(&v, first + 60);
    tu_assert_ok(mla_policy_check(p, &f.r, &k.c, &v));
    ck_assert_uint_le(v.len, first + 60);
    ck_assert(memcmp(v.ptr, all.ptr, first) == 0);
    assert_has(&v, "\n(more unmet rules: the list exceeds its size limit)");
    ck_assert_uint_eq(lines_of(&v), 2);
    mla_buf_dispose(&v);
    mla_buf_dispose(&all);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_rules_read_failure_is_returned)
{
    fx f;
    world w;
    mla_buf v;
    world_opts o = {0};
    fx_init(&f);
    world_build(&f, &w, &o);
    mla_policy *p = policy_new(FULL_POLICY);
    f.fail_reads = true;
    tu_assert_fail_with(check(&f, p, &DEPLOY3, &v), MLA_EIO, "injected read failure");
    mla_buf_dispose(&v);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_policy_rules_allocation_failure)
{
    fx f;
    world w;
    mla_buf v;
    world_opts o = {.eval_accuracy = 0.89};
    fx_init(&f);
    world_build(&f, &w, &o);
    mla_policy *p = policy_new(FULL_POLICY);
    mla_status rc = MLA_ENOMEM;
    long k;
    for (k = 0; k < 100000 && rc == MLA_ENOMEM; k++) {
        mla_alloc_fail_after(k);
        rc = check(&f, p, &DEPLOY3, &v);
        mla_alloc_fail_reset();
        ck_assert_msg(rc == MLA_OK || rc == MLA_ENOMEM, "k=%ld: %s %s", k, mla_status_name(rc),
                      mla_error_last()->msg);
        if (rc == MLA_ENOMEM) mla_buf_dispose(&v);
    }
    tu_assert_ok(rc);
    ck_assert_int_gt(k, 20); /* entries decoded, scans, the timeline: many allocations */
    ck_assert_uint_eq(lines_of(&v), 1);
    assert_has(&v, "metric accuracy fell");
    mla_buf_dispose(&v);
    mla_policy_free(p);
    fx_dispose(&f);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("file");
    tcase_add_test(tc, test_policy_file_parses_every_key);
    tcase_add_test(tc, test_policy_file_defaults);
    tcase_add_test(tc, test_policy_file_audit_mode_comments_and_long_lists);
    tcase_add_loop_test(tc, test_policy_file_refuses_naming_line_and_key, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_policy_file_limits);
    tcase_add_test(tc, test_policy_file_load);
    tcase_add_test(tc, test_policy_file_allocation_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("kind");
    tcase_add_test(tc, test_policy_kind_deployment_needs_recorded_model);
    tcase_add_test(tc, test_policy_kind_rollback_needs_deployment_on_target);
    tcase_add_test(tc, test_policy_kind_approval_approves_something_recorded);
    tcase_add_test(tc, test_policy_kind_evaluation_evaluates_recorded_model);
    tcase_add_test(tc, test_policy_kind_other_kinds_pass);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_test(tc, test_policy_rules_all_met);
    tcase_add_test(tc, test_policy_rules_same_violations_in_both_modes);
    tcase_add_test(tc, test_policy_rules_required_inputs);
    tcase_add_test(tc, test_policy_rules_evaluation);
    tcase_add_test(tc, test_policy_rules_evaluation_must_be_an_evaluation_of_the_model);
    tcase_add_test(tc, test_policy_rules_approval);
    tcase_add_test(tc, test_policy_rules_reason);
    tcase_add_test(tc, test_policy_rules_attributes);
    tcase_add_test(tc, test_policy_rules_regression_higher_is_better);
    tcase_add_test(tc, test_policy_rules_regression_lower_is_better);
    tcase_add_test(tc, test_policy_rules_regression_falls_back_to_model_metrics);
    tcase_add_test(tc, test_policy_rules_regression_missing_values);
    tcase_add_test(tc, test_policy_rules_regression_against_the_largest_other_model);
    tcase_add_test(tc, test_policy_rules_only_listed_stages_and_deployments);
    tcase_add_test(tc, test_policy_rules_unrecorded_model);
    tcase_add_test(tc, test_policy_rules_violations_bounded_by_the_buffer);
    tcase_add_test(tc, test_policy_rules_read_failure_is_returned);
    tcase_add_test(tc, test_policy_rules_allocation_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(policy_suite()); }
