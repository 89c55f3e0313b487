/* fixed_ledger: writes the deterministic ledger the report tests read
 * (tests/reports/test_reports.sh). Keys come from fixed seeds, the log is
 * opened in-process on a LevelDB store exactly as mlauditd opens it (so the
 * daemon then serves the directory), the clock is fixed per change, and the
 * history is a small ML story whose strings need escaping in every format. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/codec.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "merkle/merkle.h"
#include "note/note.h"
#include "policy/policy.h"
#include "service/service_config.h"
#include "store/store.h"

/* 2026-03-02T09:00:00Z: every ledger time is this plus a fixed offset. */
#define T0_S INT64_C(1772442000)
#define MIN_NS (INT64_C(60) * 1000000000)
#define HOUR_NS (60 * MIN_NS)
#define DAY_NS (24 * HOUR_NS)
#define IN_MAX 8
#define ATTR_MAX 8
#define METRIC_MAX 8
#define DECISIONS_MAX 8

/* Transport identities, as mTLS would give them. */
#define SUB_SEC "spiffe://bank.example/security-admin"
#define SUB_CI "spiffe://bank.example/training-ci"
#define SUB_RISK "spiffe://bank.example/model-risk"
#define SUB_REL "spiffe://bank.example/release-bot"
#define SUB_LAB "spiffe://labelling.example/contractor"
#define SUB_API "spiffe://bank.example/fraud-api"

/* The strings a report must escape: markup, both quotes, an ampersand and
 * non-ASCII (NFC), in a reason, an attribute and an artifact name. */
#define MARKUP_REASON "<script>alert(\"x\")</script> & 'quotes' — naïve café ✓"
#define MARKUP_DATASET "dataset:merchant-categories-\"café\"<EU>@2026-01"

/* The signers: (file name, seed byte). The log key lives in the data dir. */
enum { K_ADMIN, K_CI, K_REVIEWER, K_DEPLOYER, K_CONTRACTOR, K_SERVING, K_LOG, K_N };
static const struct {
    const char *file;
    uint8_t seed;
} key_defs[K_N] = {
    {"admin", 0x11},      {"ci", 0x12},      {"reviewer", 0x13}, {"deployer", 0x14},
    {"contractor", 0x15}, {"serving", 0x16}, {"log", 0x17},
};

typedef struct fixture {
    mla_privkey *keys[K_N];
    mla_pubkey admin_pub;
    mla_store *store;
    mla_log *log;
    mla_policy *policy;
    int64_t now_ns; /* what the log's clock says for the next commit */
} fixture;

static int64_t fixed_clock(void *ctx) { return ((const fixture *)ctx)->now_ns; }

/* protobuf-c's structs hold char *; these strings are never written. */
static char *S(const char *s) { return (char *)(uintptr_t)s; }

/* ---- building a change --------------------------------------------------- */

typedef struct change {
    mla_pb_change c;
    mla_pb_artifact subject, in_art[IN_MAX], other; /* other: rollback.to, approved, retired */
    uint8_t digests[IN_MAX + 2][32];
    char idbuf[IN_MAX + 2][3 * MLA_LIMIT_NAME + 3];
    mla_pb_input in[IN_MAX], *inp[IN_MAX];
    Mlaudit__V1__Change__AttributesEntry attr[ATTR_MAX], *attrp[ATTR_MAX];
    Mlaudit__V1__Change__MetricsEntry met[METRIC_MAX], *metp[METRIC_MAX];
    Mlaudit__V1__Artifact__DigestsEntry git, *gitp;
    Mlaudit__V1__Deployment dep;
    Mlaudit__V1__Rollback rb;
    Mlaudit__V1__Approval ap;
    Mlaudit__V1__Retirement rt;
    Mlaudit__V1__Redaction rd;
    Mlaudit__V1__KeyChange kc;
    Mlaudit__V1__Kind allowed[MLA_LIMIT_ALLOWED_KINDS];
    size_t n_art;
} change;

static void change_begin(change *b, mla_kind kind, const char *actor, const char *reason,
                         int64_t client_time_ns)
{
    memset(b, 0, sizeof *b);
    mlaudit__v1__change__init(&b->c);
    b->c.kind = kind;
    b->c.actor = S(actor);
    b->c.reason = S(reason);
    b->c.client_time_ns = client_time_ns;
}

/* "type:name@version" into a, with a digest that is a pure function of the
 * identity (so every mention of an artifact carries the same one). */
static mla_status artifact_set(change *b, mla_pb_artifact *a, const char *identity, const char *uri)
{
    if (b->n_art == IN_MAX + 2) return mla_err(MLA_ELIMIT, "change: too many artifacts");
    char *id = b->idbuf[b->n_art];
    uint8_t *dg = b->digests[b->n_art];
    b->n_art++;
    size_t len = strlen(identity);
    if (len >= sizeof b->idbuf[0]) return mla_err(MLA_EINVAL, "identity: too long");
    memcpy(id, identity, len + 1);
    char *colon = strchr(id, ':'), *at = strrchr(id, '@');
    if (!colon || !at || at < colon) return mla_err(MLA_EINVAL, "identity: %s", identity);
    *colon = '\0';
    *at = '\0';
    mlaudit__v1__artifact__init(a);
    a->type = id;
    a->name = colon + 1;
    a->version = at + 1;
    mla_hash h;
    mla_crypto_sha256(&h, mla_slice_cstr(identity));
    memcpy(dg, h.b, 32);
    a->digest.data = dg;
    a->digest.len = 32;
    if (uri) a->uri = S(uri);
    return MLA_OK;
}

static mla_status change_subject(change *b, const char *identity, const char *uri)
{
    MLA_TRY(artifact_set(b, &b->subject, identity, uri));
    b->c.subject = &b->subject;
    return MLA_OK;
}

static mla_status change_input(change *b, const char *identity, const char *role)
{
    size_t i = b->c.n_inputs;
    if (i == IN_MAX) return mla_err(MLA_ELIMIT, "change.inputs: too many");
    MLA_TRY(artifact_set(b, &b->in_art[i], identity, NULL));
    mlaudit__v1__input__init(&b->in[i]);
    b->in[i].artifact = &b->in_art[i];
    b->in[i].role = S(role);
    b->inp[i] = &b->in[i];
    b->c.inputs = b->inp;
    b->c.n_inputs = i + 1;
    return MLA_OK;
}

static mla_status change_attr(change *b, const char *key, const char *value)
{
    size_t i = b->c.n_attributes;
    if (i == ATTR_MAX) return mla_err(MLA_ELIMIT, "change.attributes: too many");
    mlaudit__v1__change__attributes_entry__init(&b->attr[i]);
    b->attr[i].key = S(key);
    b->attr[i].value = S(value);
    b->attrp[i] = &b->attr[i];
    b->c.attributes = b->attrp;
    b->c.n_attributes = i + 1;
    return MLA_OK;
}

static mla_status change_metric(change *b, const char *key, double value)
{
    size_t i = b->c.n_metrics;
    if (i == METRIC_MAX) return mla_err(MLA_ELIMIT, "change.metrics: too many");
    mlaudit__v1__change__metrics_entry__init(&b->met[i]);
    b->met[i].key = S(key);
    b->met[i].value = value;
    b->metp[i] = &b->met[i];
    b->c.metrics = b->metp;
    b->c.n_metrics = i + 1;
    return MLA_OK;
}

static void change_deployment(change *b, const char *target, const char *stage, double fraction,
                              const mla_pubkey *serving)
{
    mlaudit__v1__deployment__init(&b->dep);
    b->dep.target = S(target);
    b->dep.stage = S(stage);
    b->dep.traffic_fraction = fraction;
    if (serving) {
        b->dep.serving_key.data = (uint8_t *)(uintptr_t)serving->b;
        b->dep.serving_key.len = 32;
    }
    b->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
    b->c.deployment = &b->dep;
}

static void change_key(change *b, const mla_pubkey *pub, Mlaudit__V1__KeyRole role,
                       const char *name, const mla_kind *allowed, size_t n_allowed, bool revoke)
{
    mlaudit__v1__key_change__init(&b->kc);
    b->kc.public_key.data = (uint8_t *)(uintptr_t)pub->b;
    b->kc.public_key.len = 32;
    b->kc.role = role;
    b->kc.name = S(name);
    b->kc.revoke = revoke;
    for (size_t i = 0; i < n_allowed && i < MLA_LIMIT_ALLOWED_KINDS; i++)
        b->allowed[i] = allowed[i];
    b->kc.allowed_kinds = b->allowed;
    b->kc.n_allowed_kinds = n_allowed;
    b->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_KEY;
    b->c.key = &b->kc;
}

/* Sign the change with signers and append it at ledger time at_ns, with
 * its decisions[0..n_decisions) when it is a DECISION_BATCH. */
static mla_status change_append(fixture *f, change *b, const int *signers, size_t n_signers,
                                const char *submitter, int64_t at_ns, const mla_slice *decisions,
                                size_t n_decisions)
{
    mla_buf payload, env_bytes;
    mla_buf_init(&payload, MLA_LIMIT_PAYLOAD_BYTES);
    mla_buf_init(&env_bytes, MLA_LIMIT_ENVELOPE_BYTES);
    mla_pb_signature sigs[MLA_LIMIT_SIGNATURES], *sigp[MLA_LIMIT_SIGNATURES];
    uint8_t sig_bytes[MLA_LIMIT_SIGNATURES][MLA_ED25519_SIG_LEN];
    char keyids[MLA_LIMIT_SIGNATURES][MLA_KEYID_HEX_LEN + 1];
    mla_status rc = MLA_OK;
    if (n_signers > MLA_LIMIT_SIGNATURES) {
        rc = mla_err(MLA_ELIMIT, "signers: %zu", n_signers);
        goto out;
    }
    if ((rc = mla_codec_change_encode(&payload, &b->c)) != MLA_OK) goto out;
    mla_pb_envelope env;
    mlaudit__v1__envelope__init(&env);
    env.payload_type = S(MLA_PAYLOAD_TYPE_CHANGE);
    env.payload.data = payload.ptr;
    env.payload.len = payload.len;
    for (size_t i = 0; i < n_signers; i++) {
        const mla_privkey *k = f->keys[signers[i]];
        mlaudit__v1__signature__init(&sigs[i]);
        if ((rc = mla_crypto_dsse_sign(sig_bytes[i], k, mla_slice_cstr(MLA_PAYLOAD_TYPE_CHANGE),
                                       mla_buf_slice(&payload))) != MLA_OK)
            goto out;
        mla_crypto_keyid(keyids[i], mla_crypto_key_public(k));
        sigs[i].keyid = keyids[i];
        sigs[i].sig.data = sig_bytes[i];
        sigs[i].sig.len = MLA_ED25519_SIG_LEN;
        sigp[i] = &sigs[i];
    }
    env.signatures = sigp;
    env.n_signatures = n_signers;
    if ((rc = mla_codec_envelope_encode(&env_bytes, &env)) != MLA_OK) goto out;
    f->now_ns = at_ns;
    mla_receipt r;
    if (n_decisions)
        rc = mla_log_append_decisions(f->log, mla_buf_slice(&env_bytes), decisions, n_decisions,
                                      mla_slice_cstr(submitter), &r);
    else
        rc = mla_log_append(f->log, mla_buf_slice(&env_bytes), mla_slice_cstr(submitter), &r);
out:
    mla_buf_dispose(&payload);
    mla_buf_dispose(&env_bytes);
    return rc;
}

static mla_status append1(fixture *f, change *b, int signer, const char *submitter, int64_t at_ns)
{
    return change_append(f, b, &signer, 1, submitter, at_ns, NULL, 0);
}

/* ---- decisions ----------------------------------------------------------- */

typedef struct decision_spec {
    const char *id;
    int64_t time_ns;
    const char *model; /* what the serving process says it used */
    const char *reviewer; /* NULL = none; with override_by, a human override */
    const char *override_by;
} decision_spec;

/* A DECISION_BATCH of decisions on target, committed at ledger time at_ns
 * and signed by signer: the log's own key with the words mlauditd's
 * RecordDecisions uses (mla_log_seal_decisions stamps client_time_ns from
 * the wall clock, so it cannot be used here), or the serving key a
 * DEPLOYMENT named. Digests are SHA-256 of fixed texts. */
static mla_status seal(fixture *f, const char *target, const decision_spec *ds, size_t n,
                       int signer, int64_t at_ns)
{
    mla_buf bytes[DECISIONS_MAX];
    mla_slice slices[DECISIONS_MAX];
    size_t n_done = 0;
    mla_status rc = MLA_OK;
    static change b, batch; /* large; one call at a time */
    if (n == 0 || n > DECISIONS_MAX) return mla_err(MLA_ELIMIT, "decisions: %zu", n);
    mla_merkle_frontier fr;
    mla_merkle_frontier_init(&fr);
    bool same_model = true;
    for (; n_done < n; n_done++) {
        const decision_spec *s = &ds[n_done];
        mla_pb_decision d;
        Mlaudit__V1__Override ov;
        mlaudit__v1__decision__init(&d);
        mlaudit__v1__override__init(&ov);
        mla_hash in_h, out_h, why_h, new_h, leaf;
        mla_buf_init(&bytes[n_done], MLA_LIMIT_DECISION_BYTES);
        char text[300];
        snprintf(text, sizeof text, "input %s", s->id);
        mla_crypto_sha256(&in_h, mla_slice_cstr(text));
        snprintf(text, sizeof text, "output %s", s->id);
        mla_crypto_sha256(&out_h, mla_slice_cstr(text));
        d.id = S(s->id);
        d.target = S(target);
        d.time_ns = s->time_ns;
        d.input_digest.data = in_h.b;
        d.input_digest.len = 32;
        d.output_digest.data = out_h.b;
        d.output_digest.len = 32;
        memset(&b, 0, sizeof b);
        if ((rc = artifact_set(&b, &b.subject, s->model, NULL)) != MLA_OK) goto out;
        d.model = &b.subject;
        if (s->reviewer) d.reviewer = S(s->reviewer);
        if (s->override_by) {
            snprintf(text, sizeof text, "override reason %s", s->id);
            mla_crypto_sha256(&why_h, mla_slice_cstr(text));
            snprintf(text, sizeof text, "override output %s", s->id);
            mla_crypto_sha256(&new_h, mla_slice_cstr(text));
            ov.by = S(s->override_by);
            ov.reason_digest.data = why_h.b;
            ov.reason_digest.len = 32;
            ov.new_output_digest.data = new_h.b;
            ov.new_output_digest.len = 32;
            d.override = &ov;
        }
        if ((rc = mla_codec_decision_encode(&bytes[n_done], &d)) != MLA_OK) {
            mla_buf_dispose(&bytes[n_done]);
            goto out;
        }
        slices[n_done] = mla_buf_slice(&bytes[n_done]);
        /* SPEC §3: a decision leaf is SHA-256(0x00 || decision bytes). */
        mla_merkle_leaf_hash(&leaf, slices[n_done]);
        if ((rc = mla_merkle_frontier_append(&fr, &leaf, NULL, NULL)) != MLA_OK) {
            n_done++;
            goto out;
        }
        same_model = same_model && !strcmp(s->model, ds[0].model);
    }
    mla_hash root;
    mla_merkle_frontier_root(&fr, &root);
    Mlaudit__V1__DecisionBatch db;
    mlaudit__v1__decision_batch__init(&db);
    db.target = S(target);
    db.first_time_ns = ds[0].time_ns; /* specs are in time order */
    db.last_time_ns = ds[n - 1].time_ns;
    db.count = n;
    db.root.data = root.b;
    db.root.len = 32;
    bool by_log = signer == K_LOG;
    change_begin(&batch, MLAUDIT__V1__KIND__KIND_DECISION_BATCH,
                 by_log ? "mlauditd" : "fraud-api serving process",
                 by_log ? "decision receipts streamed over RecordDecisions by " SUB_API
                          ", sealed by the ledger"
                        : "decision receipts signed by the serving key of fraud-api",
                 at_ns - 1000000000);
    if (same_model && (rc = artifact_set(&batch, &batch.other, ds[0].model, NULL)) != MLA_OK)
        goto out;
    if (same_model) db.model = &batch.other;
    batch.c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    batch.c.decision_batch = &db;
    rc = change_append(f, &batch, &signer, 1, SUB_API, at_ns, slices, n);
out:
    for (size_t i = 0; i < n_done; i++) mla_buf_dispose(&bytes[i]);
    return rc;
}

/* ---- the key registry -------------------------------------------------- */

static mla_status register_keys(fixture *f, int64_t t)
{
    static const mla_kind ci_kinds[] = {
        MLAUDIT__V1__KIND__KIND_MODEL,       MLAUDIT__V1__KIND__KIND_DATASET,
        MLAUDIT__V1__KIND__KIND_CODE,        MLAUDIT__V1__KIND__KIND_CONFIG,
        MLAUDIT__V1__KIND__KIND_ENVIRONMENT, MLAUDIT__V1__KIND__KIND_EVALUATION,
    };
    static const mla_kind risk_kinds[] = {MLAUDIT__V1__KIND__KIND_APPROVAL};
    static const mla_kind rel_kinds[] = {MLAUDIT__V1__KIND__KIND_DEPLOYMENT,
                                         MLAUDIT__V1__KIND__KIND_ROLLBACK,
                                         MLAUDIT__V1__KIND__KIND_RETIREMENT};
    static const mla_kind lab_kinds[] = {MLAUDIT__V1__KIND__KIND_DATASET};
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_KEY, "security-team",
                 "the training pipeline records data, code, configs, environments, models and "
                 "evaluations",
                 t - 5000000000);
    change_key(&b, mla_crypto_key_public(f->keys[K_CI]), MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER,
               "training-ci", ci_kinds, sizeof ci_kinds / sizeof ci_kinds[0], false);
    MLA_TRY(append1(f, &b, K_ADMIN, SUB_SEC, t));
    change_begin(&b, MLAUDIT__V1__KIND__KIND_KEY, "security-team",
                 "model risk management signs approvals (second line of defence)", t);
    change_key(&b, mla_crypto_key_public(f->keys[K_REVIEWER]),
               MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER, "model-risk — Zoë Ångström", risk_kinds, 1,
               false);
    MLA_TRY(append1(f, &b, K_ADMIN, SUB_SEC, t + MIN_NS));
    change_begin(&b, MLAUDIT__V1__KIND__KIND_KEY, "security-team",
                 "the release bot deploys, rolls back and retires models", t + MIN_NS);
    change_key(&b, mla_crypto_key_public(f->keys[K_DEPLOYER]),
               MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER, "release-bot", rel_kinds, 3, false);
    MLA_TRY(append1(f, &b, K_ADMIN, SUB_SEC, t + 2 * MIN_NS));
    change_begin(&b, MLAUDIT__V1__KIND__KIND_KEY, "security-team",
                 "external labelling vendor, contract until the end of Q1", t + 2 * MIN_NS);
    change_key(&b, mla_crypto_key_public(f->keys[K_CONTRACTOR]),
               MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER, "labelling-contractor", lab_kinds, 1, false);
    return append1(f, &b, K_ADMIN, SUB_SEC, t + 3 * MIN_NS);
}

/* ---- steps of the history ------------------------------------------------ */

/* Each step is signed as in production: data, code, configs, models and
 * evaluations by the CI key, approvals by model risk, deployments by the
 * release bot. client_time_ns is a minute before the ledger time. */

static mla_status snapshot(fixture *f, const char *identity, const char *uri, const char *rows,
                           const char *reason, int64_t at)
{
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_DATASET, "nightly-snapshot", reason, at - MIN_NS);
    MLA_TRY(change_subject(&b, identity, uri));
    MLA_TRY(change_attr(&b, "rows", rows));
    MLA_TRY(change_attr(&b, "source", "core-banking ledger export"));
    return append1(f, &b, K_CI, SUB_CI, at);
}

static mla_status config(fixture *f, const char *identity, const char *learning_rate,
                         const char *max_depth, const char *n_estimators, const char *reason,
                         int64_t at)
{
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_CONFIG, "alice", reason, at - MIN_NS);
    MLA_TRY(change_subject(&b, identity, NULL));
    MLA_TRY(change_attr(&b, "learning_rate", learning_rate));
    MLA_TRY(change_attr(&b, "max_depth", max_depth));
    MLA_TRY(change_attr(&b, "n_estimators", n_estimators));
    return append1(f, &b, K_CI, SUB_CI, at);
}

static mla_status environment(fixture *f, const char *identity, const char *xgboost,
                              const char *reason, int64_t at)
{
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_ENVIRONMENT, "alice", reason, at - MIN_NS);
    MLA_TRY(change_subject(&b, identity, NULL));
    MLA_TRY(change_attr(&b, "python", "3.11.2"));
    MLA_TRY(change_attr(&b, "xgboost", xgboost));
    MLA_TRY(change_attr(&b, "numpy", "1.26.4"));
    return append1(f, &b, K_CI, SUB_CI, at);
}

typedef struct model_spec {
    const char *identity, *uri, *reason;
    const char *data, *config, *environment, *base; /* base NULL = none */
    const char *seed, *libraries; /* libraries NULL = not stated */
    const char *extra_key, *extra_value; /* one more attribute, or NULL */
    double train_auc;
} model_spec;

/* A MODEL built from data, the merchant categories, the training code, a
 * config and an environment (and a base model). */
static mla_status train(fixture *f, const model_spec *m, int64_t at)
{
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_MODEL, "alice", m->reason, at - MIN_NS);
    MLA_TRY(change_subject(&b, m->identity, m->uri));
    MLA_TRY(change_input(&b, m->data, "training-data"));
    MLA_TRY(change_input(&b, MARKUP_DATASET, "feature-set"));
    MLA_TRY(change_input(&b, "code:fraud-training@3f2a1c9", "code"));
    MLA_TRY(change_input(&b, m->config, "config"));
    MLA_TRY(change_input(&b, m->environment, "environment"));
    if (m->base) MLA_TRY(change_input(&b, m->base, "base-model"));
    MLA_TRY(change_attr(&b, "random_seed", m->seed));
    if (m->libraries) MLA_TRY(change_attr(&b, "library_versions", m->libraries));
    if (m->extra_key) MLA_TRY(change_attr(&b, m->extra_key, m->extra_value));
    MLA_TRY(change_metric(&b, "train_auc", m->train_auc));
    return append1(f, &b, K_CI, SUB_CI, at);
}

/* evaluation:fraud-detector-eval@N of model:fraud-detector@N on data. */
static mla_status evaluate(fixture *f, const char *n, const char *data, double auc, double accuracy,
                           double latency_ms, const char *reason, int64_t at)
{
    char eval[64], model[64];
    snprintf(eval, sizeof eval, "evaluation:fraud-detector-eval@%s", n);
    snprintf(model, sizeof model, "model:fraud-detector@%s", n);
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_EVALUATION, "bob", reason, at - MIN_NS);
    MLA_TRY(change_subject(&b, eval, NULL));
    MLA_TRY(change_input(&b, model, "evaluated-model"));
    MLA_TRY(change_input(&b, data, "test-data"));
    MLA_TRY(change_metric(&b, "auc", auc));
    MLA_TRY(change_metric(&b, "accuracy", accuracy));
    MLA_TRY(change_metric(&b, "latency_p99_ms", latency_ms));
    return append1(f, &b, K_CI, SUB_CI, at);
}

/* An APPROVAL for production of the MODEL entry at seq, or (seq 0) of the
 * artifact itself. */
static mla_status approve(fixture *f, const char *model, uint64_t seq, const char *reason,
                          int64_t at)
{
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_APPROVAL, "carol (model risk)", reason, at - MIN_NS);
    MLA_TRY(change_subject(&b, model, NULL));
    mlaudit__v1__approval__init(&b.ap);
    b.ap.approved_seq = seq;
    if (!seq) {
        MLA_TRY(artifact_set(&b, &b.other, model, NULL));
        b.ap.approved = &b.other;
    }
    b.ap.scope = S("production");
    b.c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_APPROVAL;
    b.c.approval = &b.ap;
    return append1(f, &b, K_REVIEWER, SUB_RISK, at);
}

/* A DEPLOYMENT on fraud-api naming the serving key that signs its batches. */
static mla_status deploy(fixture *f, const char *model, const char *stage, double fraction,
                         const char *reason, int64_t at)
{
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_DEPLOYMENT, "release-bot", reason, at - MIN_NS);
    MLA_TRY(change_subject(&b, model, NULL));
    change_deployment(&b, "fraud-api", stage, fraction, mla_crypto_key_public(f->keys[K_SERVING]));
    return append1(f, &b, K_DEPLOYER, SUB_REL, at);
}

/* ---- the history --------------------------------------------------------- */

/* Version 1: data, code, config, environment, model, evaluation, approval,
 * production deployment, a batch of decisions sealed by the ledger. */
static mla_status history_v1(fixture *f, int64_t t)
{
    MLA_TRY(snapshot(f, "dataset:transactions@2026-01", "s3://data/transactions/2026-01", "1204331",
                     "January card transactions, snapshot for training", t));
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_DATASET, "labelling-contractor",
                 "merchant categories relabelled by the vendor; \"café\" and <EU> merchants "
                 "merged",
                 t + 9 * MIN_NS);
    MLA_TRY(change_subject(&b, MARKUP_DATASET, "s3://data/merchant-categories/2026-01"));
    MLA_TRY(change_attr(&b, "labeller_note", "<b>bold</b> & \"quoted\" — Zoë's review ✓"));
    MLA_TRY(change_attr(&b, "rows", "48210"));
    MLA_TRY(append1(f, &b, K_CONTRACTOR, SUB_LAB, t + 10 * MIN_NS));

    change_begin(&b, MLAUDIT__V1__KIND__KIND_CODE, "alice",
                 "training code at the commit used for v1 and v2", t + 19 * MIN_NS);
    MLA_TRY(change_subject(&b, "code:fraud-training@3f2a1c9",
                           "git+https://git.example/ml/fraud-training@3f2a1c9"));
    mlaudit__v1__artifact__digests_entry__init(&b.git);
    b.git.key = S("gitCommit");
    b.git.value = S("3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39");
    b.gitp = &b.git;
    b.subject.digests = &b.gitp;
    b.subject.n_digests = 1;
    MLA_TRY(append1(f, &b, K_CI, SUB_CI, t + 20 * MIN_NS));

    MLA_TRY(config(f, "config:fraud-train-config@1", "0.05", "6", "300",
                   "hyperparameters from the January sweep", t + 30 * MIN_NS));
    MLA_TRY(environment(f, "environment:fraud-train-env@2026-01-15", "2.0.3",
                        "pinned training environment", t + 40 * MIN_NS));
    const model_spec v1 = {
        "model:fraud-detector@1",
        "s3://models/fraud-detector/1",
        MARKUP_REASON,
        "dataset:transactions@2026-01",
        "config:fraud-train-config@1",
        "environment:fraud-train-env@2026-01-15",
        NULL,
        "7",
        "xgboost==2.0.3, numpy==1.26.4",
        "assumption",
        "fraud rate < 2% & stable merchant mix",
        0.934,
    };
    MLA_TRY(train(f, &v1, t + HOUR_NS));
    MLA_TRY(evaluate(f, "1", "dataset:transactions@2026-01", 0.905, 0.951, 12.5,
                     "holdout evaluation of v1", t + 90 * MIN_NS));
    /* model:fraud-detector@1 is seq 9: 4 KEY entries, then 5 more. */
    MLA_TRY(approve(f, "model:fraud-detector@1", 9,
                    "reviewed per SR 26-2: data lineage, evaluation and documentation complete",
                    t + 3 * HOUR_NS + MIN_NS));
    MLA_TRY(deploy(f, "model:fraud-detector@1", "production", 1.0,
                   "v1 to production after approval", t + 4 * HOUR_NS + MIN_NS));
    const int64_t d0 = t + 5 * HOUR_NS;
    const decision_spec ds[] = {
        {"tx-20260302-0001", d0, "model:fraud-detector@1", NULL, NULL},
        {"tx-20260302-0002", d0 + 7 * MIN_NS, "model:fraud-detector@1", NULL, NULL},
        {"tx-20260302-0003", d0 + 15 * MIN_NS, "model:fraud-detector@1", "analyst-7",
         "Zoë (fraud ops)"},
        {"tx-20260302-0004", d0 + 31 * MIN_NS, "model:fraud-detector@1", "analyst-7", NULL},
    };
    return seal(f, "fraud-api", ds, sizeof ds / sizeof ds[0], K_LOG, d0 + HOUR_NS);
}

/* Version 2 three days later (the gap an audit lists): new data, config and
 * environment, model v2 on v1, evaluation, approval, canary, production,
 * batches signed by the serving key. */
static mla_status history_v2(fixture *f, int64_t t)
{
    MLA_TRY(snapshot(f, "dataset:transactions@2026-02", "s3://data/transactions/2026-02", "1118902",
                     "February card transactions, snapshot for retraining", t));
    MLA_TRY(config(f, "config:fraud-train-config@2", "0.03", "8", "500",
                   "deeper trees, lower learning rate (February sweep)", t + 10 * MIN_NS));
    MLA_TRY(environment(f, "environment:fraud-train-env@2026-02-10", "2.1.0",
                        "xgboost upgraded for the new tree method", t + 20 * MIN_NS));
    /* No library_versions: the audit-mode policy records a violation when
     * v2 goes to production. */
    const model_spec v2 = {
        "model:fraud-detector@2",
        "s3://models/fraud-detector/2",
        "retrained on February data to catch card-testing patterns",
        "dataset:transactions@2026-02",
        "config:fraud-train-config@2",
        "environment:fraud-train-env@2026-02-10",
        "model:fraud-detector@1",
        "11",
        NULL,
        NULL,
        NULL,
        0.951,
    };
    MLA_TRY(train(f, &v2, t + HOUR_NS));
    MLA_TRY(evaluate(f, "2", "dataset:transactions@2026-02", 0.921, 0.948, 14.25,
                     "holdout evaluation of v2", t + 90 * MIN_NS));
    MLA_TRY(approve(f, "model:fraud-detector@2", 0,
                    "approved for production; note the 1.75 ms latency increase",
                    t + 2 * HOUR_NS + MIN_NS));
    MLA_TRY(deploy(f, "model:fraud-detector@2", "canary", 0.1, "canary at 10% of traffic",
                   t + 3 * HOUR_NS + MIN_NS));
    const int64_t c0 = t + 4 * HOUR_NS;
    const decision_spec canary[] = {
        {"tx-20260305-0101", c0, "model:fraud-detector@1", NULL, NULL},
        {"tx-20260305-0102", c0 + 3 * MIN_NS, "model:fraud-detector@2", NULL, NULL},
        {"tx-20260305-0103", c0 + 9 * MIN_NS, "model:fraud-detector@1", NULL, NULL},
    };
    MLA_TRY(seal(f, "fraud-api", canary, 3, K_SERVING, c0 + HOUR_NS));
    MLA_TRY(deploy(f, "model:fraud-detector@2", "production", 1.0,
                   "canary healthy for 24 h; v2 to production", t + 28 * HOUR_NS + MIN_NS));
    const int64_t p0 = t + 29 * HOUR_NS;
    const decision_spec prod[] = {
        {"tx-20260306-0201", p0, "model:fraud-detector@2", NULL, NULL},
        {"tx-20260306-0202", p0 + 11 * MIN_NS, "model:fraud-detector@2", "analyst-3", NULL},
        {"tx-20260306-0203", p0 + 40 * MIN_NS, "model:fraud-detector@2", NULL, NULL},
    };
    return seal(f, "fraud-api", prod, 3, K_SERVING, p0 + HOUR_NS);
}

/* The contractor's key is revoked, v2 misbehaves and is rolled back, v3 is
 * trained, v2 retired, v3 deployed to another target without an approval,
 * and an entry's payload is named for redaction. */
static mla_status history_end(fixture *f, int64_t t)
{
    change b;
    change_begin(&b, MLAUDIT__V1__KIND__KIND_KEY, "security-team",
                 "labelling contract ended; the vendor's key may sign nothing new", t);
    change_key(&b, mla_crypto_key_public(f->keys[K_CONTRACTOR]),
               MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER, "labelling-contractor", NULL, 0, true);
    MLA_TRY(append1(f, &b, K_ADMIN, SUB_SEC, t + MIN_NS));

    change_begin(&b, MLAUDIT__V1__KIND__KIND_ROLLBACK, "dave (on call)",
                 "false positives on merchant \"m7\" doubled after v2; back to v1 <incident "
                 "#4711>",
                 t + 2 * HOUR_NS);
    mlaudit__v1__rollback__init(&b.rb);
    MLA_TRY(artifact_set(&b, &b.other, "model:fraud-detector@1", NULL));
    b.rb.target = S("fraud-api");
    b.rb.to = &b.other;
    b.c.subject = &b.other;
    b.c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
    b.c.rollback = &b.rb;
    MLA_TRY(append1(f, &b, K_DEPLOYER, SUB_REL, t + 2 * HOUR_NS + MIN_NS));

    const int64_t r0 = t + 3 * HOUR_NS;
    const decision_spec after[] = {
        {"tx-20260309-0301", r0, "model:fraud-detector@1", NULL, NULL},
        {"tx-20260309-0302", r0 + 5 * MIN_NS, "model:fraud-detector@1", NULL, NULL},
    };
    MLA_TRY(seal(f, "fraud-api", after, 2, K_LOG, r0 + HOUR_NS));

    const model_spec v3 = {
        "model:fraud-detector@3",
        "s3://models/fraud-detector/3",
        "v2 with merchant m7 down-weighted (incident #4711)",
        "dataset:transactions@2026-02",
        "config:fraud-train-config@2",
        "environment:fraud-train-env@2026-02-10",
        "model:fraud-detector@2",
        "13",
        "xgboost==2.1.0, numpy==1.26.4",
        "sample_weight_m7",
        "0.25",
        0.947,
    };
    MLA_TRY(train(f, &v3, t + 6 * HOUR_NS + MIN_NS));
    MLA_TRY(evaluate(f, "3", "dataset:transactions@2026-02", 0.899, 0.953, 13,
                     "holdout evaluation of v3: AUC below v2", t + 7 * HOUR_NS + MIN_NS));

    change_begin(&b, MLAUDIT__V1__KIND__KIND_RETIREMENT, "release-bot",
                 "v2 withdrawn from fraud-api after the incident review", t + 8 * HOUR_NS);
    MLA_TRY(change_subject(&b, "model:fraud-detector@2", NULL));
    mlaudit__v1__retirement__init(&b.rt);
    b.rt.target = S("fraud-api");
    b.rt.artifact = &b.subject;
    b.c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
    b.c.retirement = &b.rt;
    MLA_TRY(append1(f, &b, K_DEPLOYER, SUB_REL, t + 8 * HOUR_NS + MIN_NS));

    /* v3 goes to production elsewhere with no approval: a policy violation
     * (recorded, as the policy is in audit mode). */
    change_begin(&b, MLAUDIT__V1__KIND__KIND_DEPLOYMENT, "release-bot",
                 "nightly batch scoring; approval pending <ticket MR-88>", t + 9 * HOUR_NS);
    MLA_TRY(change_subject(&b, "model:fraud-detector@3", NULL));
    change_deployment(&b, "fraud-batch", "production", 1.0, NULL);
    MLA_TRY(append1(f, &b, K_DEPLOYER, SUB_REL, t + 9 * HOUR_NS + MIN_NS));

    change_begin(&b, MLAUDIT__V1__KIND__KIND_REDACTION, "security-team",
                 "erasure request under GDPR Art. 17 for the labeller's note", t + 10 * HOUR_NS);
    mlaudit__v1__redaction__init(&b.rd);
    b.rd.seq = 5;
    b.rd.reason = S("the labeller note names a private person (Zoë's review)");
    b.c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_REDACTION;
    b.c.redaction = &b.rd;
    return append1(f, &b, K_ADMIN, SUB_SEC, t + 10 * HOUR_NS + MIN_NS);
}

/* ---- files --------------------------------------------------------------- */

static mla_status path_of(char out[4096], const char *dir, const char *name, const char *ext)
{
    int n = snprintf(out, 4096, "%s/%s%s", dir, name, ext);
    if (n < 0 || n >= 4096) return mla_err(MLA_EINVAL, "%s: path too long", dir);
    return MLA_OK;
}

static mla_status write_text(const char *path, mla_slice text)
{
    FILE *fp = fopen(path, "wx");
    if (!fp) return mla_err(MLA_EIO, "%s: cannot create (%s)", path, strerror(errno));
    bool ok = fwrite(text.ptr, 1, text.len, fp) == text.len;
    ok = fclose(fp) == 0 && ok;
    return ok ? MLA_OK : mla_err(MLA_EIO, "%s: write failed", path);
}

/* Keys from seeds; every key's .key and .pub beside the data dir, the log's
 * private key in it where mlauditd looks (DIR/log.key). */
static mla_status keys_write(fixture *f, const char *out_dir, const char *data_dir)
{
    char path[4096];
    for (int i = 0; i < K_N; i++) {
        uint8_t seed[32];
        memset(seed, key_defs[i].seed, sizeof seed);
        MLA_TRY(mla_crypto_key_from_seed(&f->keys[i], seed));
        MLA_TRY(path_of(path, out_dir, key_defs[i].file, ".pub"));
        MLA_TRY(mla_crypto_keyfile_write_public(path, mla_crypto_key_public(f->keys[i])));
        MLA_TRY(path_of(path, i == K_LOG ? data_dir : out_dir, key_defs[i].file, ".key"));
        MLA_TRY(mla_crypto_keyfile_write_private(path, f->keys[i]));
    }
    f->admin_pub = *mla_crypto_key_public(f->keys[K_ADMIN]);
    return MLA_OK;
}

/* The compliance policy in audit mode: violations are recorded, not refused. */
static const char policy_text[] = "[policy]\n"
                                  "mode = audit\n"
                                  "production_stages = production\n"
                                  "require_inputs = training-data, code, config, environment\n"
                                  "require_evaluation = true\n"
                                  "require_approval = true\n"
                                  "require_reason = true\n"
                                  "require_attributes = random_seed, library_versions\n"
                                  "[regression]\n"
                                  "auc = higher 0.01\n"
                                  "latency_p99_ms = lower 5\n";

/* As mlauditd's open_log: LevelDB in DATA_DIR/db, the default origin and
 * key name, the admin key as trust root. */
static mla_status log_open(fixture *f, const char *data_dir)
{
    char db[4096];
    MLA_TRY(path_of(db, data_dir, "db", ""));
    mla_store_leveldb_options so = {0};
    so.cache_bytes = (size_t)8 << 20;
    so.bloom_bits_per_key = 10;
    so.create_if_missing = true;
    MLA_TRY(mla_store_open_leveldb(&f->store, db, &so));
    MLA_TRY(mla_policy_parse(&f->policy, mla_slice_make(policy_text, sizeof policy_text - 1)));
    mla_log_options lo = {0};
    lo.origin = MLA_SERVICE_ORIGIN_DEFAULT;
    lo.signing_key = f->keys[K_LOG];
    lo.admin_keys = &f->admin_pub;
    lo.n_admin_keys = 1;
    lo.policy = f->policy;
    lo.clock = fixed_clock;
    lo.clock_ctx = f;
    return mla_log_open(&f->log, f->store, &lo);
}

/* log.vkey in the data dir (as mlauditd writes it) and beside it; the
 * checkpoint and every leaf hash on stdout, to compare two runs. */
static mla_status summary_write(fixture *f, const char *out_dir, const char *data_dir)
{
    char path[4096];
    mla_buf vkey, note;
    mla_buf_init(&vkey, 1024);
    mla_buf_init(&note, MLA_LOG_CHECKPOINT_MAX);
    mla_status rc = mla_note_verifier_format(&vkey, mla_log_verifier(f->log));
    if (rc == MLA_OK) rc = mla_buf_append_byte(&vkey, '\n');
    if (rc == MLA_OK) rc = path_of(path, data_dir, "log", ".vkey");
    if (rc == MLA_OK) rc = write_text(path, mla_buf_slice(&vkey));
    if (rc == MLA_OK) rc = path_of(path, out_dir, "log", ".vkey");
    if (rc == MLA_OK) rc = write_text(path, mla_buf_slice(&vkey));
    if (rc == MLA_OK) rc = mla_log_checkpoint(f->log, &note);
    if (rc == MLA_OK) rc = path_of(path, out_dir, "checkpoint", ".note");
    if (rc == MLA_OK) rc = write_text(path, mla_buf_slice(&note));
    uint64_t size = mla_log_size(f->log);
    for (uint64_t seq = 0; rc == MLA_OK && seq < size; seq++) {
        mla_hash leaf;
        char hex[65];
        if ((rc = mla_log_leaf_hash(f->log, seq, &leaf)) != MLA_OK) break;
        mla_hex_encode_to(hex, leaf.b, 32);
        printf("leaf %llu %s\n", (unsigned long long)seq, hex);
    }
    if (rc == MLA_OK) printf("%.*s", (int)note.len, (const char *)note.ptr);
    mla_buf_dispose(&vkey);
    mla_buf_dispose(&note);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: fixed_ledger OUT_DIR\n"
                        "Writes OUT_DIR/data (a mlauditd data dir: db/, log.key, log.vkey),\n"
                        "OUT_DIR/<signer>.key and .pub (admin, ci, reviewer, deployer,\n"
                        "contractor, serving, log), OUT_DIR/log.vkey and\n"
                        "OUT_DIR/checkpoint.note; prints every leaf hash and the checkpoint.\n"
                        "Serve it with: mlauditd --data-dir OUT_DIR/data --admin-key "
                        "OUT_DIR/admin.pub ...\n");
        return 2;
    }
    const char *out_dir = argv[1];
    char data_dir[4096];
    fixture f;
    memset(&f, 0, sizeof f);
    mla_status rc = path_of(data_dir, out_dir, "data", "");
    if (rc == MLA_OK) rc = mla_crypto_init();
    if (rc == MLA_OK && mkdir(out_dir, 0700) != 0 && errno != EEXIST)
        rc = mla_err(MLA_EIO, "%s: cannot create (%s)", out_dir, strerror(errno));
    if (rc == MLA_OK && mkdir(data_dir, 0700) != 0)
        rc = mla_err(MLA_EIO, "%s: cannot create (%s; it must not exist)", data_dir,
                     strerror(errno));
    if (rc == MLA_OK) rc = keys_write(&f, out_dir, data_dir);
    if (rc == MLA_OK) rc = log_open(&f, data_dir);
    const int64_t t0 = T0_S * 1000000000;
    if (rc == MLA_OK) rc = register_keys(&f, t0);
    if (rc == MLA_OK) rc = history_v1(&f, t0 + HOUR_NS);
    /* Three quiet days: a gap in ledger time. */
    if (rc == MLA_OK) rc = history_v2(&f, t0 + 3 * DAY_NS);
    if (rc == MLA_OK) rc = history_end(&f, t0 + 7 * DAY_NS);
    if (rc == MLA_OK) rc = summary_write(&f, out_dir, data_dir);
    if (rc != MLA_OK)
        fprintf(stderr, "fixed_ledger: %s: %s\n", mla_status_name(rc), mla_error_last()->msg);
    mla_log_close(f.log);
    mla_policy_free(f.policy);
    mla_store_close(f.store);
    for (int i = 0; i < K_N; i++) mla_crypto_key_free(f.keys[i]);
    return rc == MLA_OK ? 0 : 1;
}
