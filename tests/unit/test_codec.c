/* Unit suite for ledger/codec: round trips, every field rule, truncation, bit
 * flips, limits, unknown fields, allocation failure, and the kind/role/
 * identity helpers. Invalid wire bytes are made with the unvalidated packer
 * of codec_int.h, so each rule is checked both in memory and on decode. */
#include <math.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/codec_int.h"
#include "testutil.h"

/* Generated structs take char *; protobuf-c never writes through them. */
#define S(lit) ((char *)(uintptr_t)(lit))
#define BIN(arr, n) ((ProtobufCBinaryData){(n), (arr)})
#define ENC_MAX (1u << 20)

/* ---- fixtures: valid messages built in memory ------------------------- */

typedef struct env_fix {
    mla_pb_envelope env;
    mla_pb_signature sig[MLA_LIMIT_SIGNATURES + 1];
    mla_pb_signature *sigp[MLA_LIMIT_SIGNATURES + 1];
    uint8_t sigb[64];
    char keyid[MLA_LIMIT_SIGNATURES + 1][80];
    uint8_t payload[16];
} env_fix;

static void env_fix_init(env_fix *f)
{
    memset(f, 0, sizeof *f);
    mlaudit__v1__envelope__init(&f->env);
    memset(f->sigb, 0xab, sizeof f->sigb);
    memcpy(f->payload, "change-bytes....", 16);
    for (size_t i = 0; i <= MLA_LIMIT_SIGNATURES; i++) {
        mlaudit__v1__signature__init(&f->sig[i]);
        uint8_t k[32];
        memset(k, (int)(0x10 + i), sizeof k);
        mla_hex_encode_to(f->keyid[i], k, 32);
        f->sig[i].keyid = f->keyid[i];
        f->sig[i].sig = BIN(f->sigb, 64);
        f->sigp[i] = &f->sig[i];
    }
    f->env.payload_type = S(MLA_PAYLOAD_TYPE_CHANGE);
    f->env.payload = BIN(f->payload, sizeof f->payload);
    f->env.n_signatures = 2;
    f->env.signatures = f->sigp;
}

#define BIG_MAX 5000
#define MANY 300

typedef struct change_fix {
    mla_pb_change c;
    mla_pb_artifact subject, in_art[2], to;
    Mlaudit__V1__ExternalRef ext;
    mla_pb_input in[2];
    mla_pb_input *inp[MANY];
    Mlaudit__V1__Artifact__DigestsEntry dg[2];
    Mlaudit__V1__Artifact__DigestsEntry *dgp[MANY];
    Mlaudit__V1__Change__AttributesEntry at[2];
    Mlaudit__V1__Change__AttributesEntry *atp[MANY];
    Mlaudit__V1__Change__MetricsEntry mt[2];
    Mlaudit__V1__Change__MetricsEntry *mtp[MANY];
    Mlaudit__V1__Deployment dep;
    Mlaudit__V1__Rollback rb;
    Mlaudit__V1__Approval appr;
    Mlaudit__V1__DecisionBatch db;
    Mlaudit__V1__KeyChange key;
    Mlaudit__V1__Retirement ret;
    Mlaudit__V1__Redaction red;
    Mlaudit__V1__Import imp;
    mla_kind allowed[2];
    uint8_t digest[33], key32[33];
    char big[BIG_MAX + 1];
} change_fix;

static void artifact_set(mla_pb_artifact *a, const char *type, const char *name,
                         const char *version)
{
    mlaudit__v1__artifact__init(a);
    a->type = S(type);
    a->name = S(name);
    a->version = S(version);
}

/* A MODEL change with a subject, two inputs, attributes and metrics. */
static void change_fix_init(change_fix *f)
{
    memset(f, 0, sizeof *f);
    memset(f->digest, 0x5a, sizeof f->digest);
    memset(f->key32, 0x33, sizeof f->key32);
    mlaudit__v1__change__init(&f->c);
    f->c.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    f->c.actor = S("alice@example.com");
    f->c.reason = S("retrained on June transactions — drift on merchant features");
    f->c.client_time_ns = 1717171717000000000;

    artifact_set(&f->subject, "model", "fraud-detector", "1.4.0");
    f->subject.digest = BIN(f->digest, 32);
    mlaudit__v1__artifact__digests_entry__init(&f->dg[0]);
    f->dg[0].key = S("md5");
    f->dg[0].value = S("9e107d9d372bb6826bd81d3542a419d6");
    mlaudit__v1__artifact__digests_entry__init(&f->dg[1]);
    f->dg[1].key = S("gitCommit");
    f->dg[1].value = S("a1b2c3d4");
    f->dgp[0] = &f->dg[0];
    f->dgp[1] = &f->dg[1];
    f->subject.n_digests = 2;
    f->subject.digests = f->dgp;
    f->subject.uri = S("s3://models/fraud-detector/1.4.0");
    f->subject.media_type = S("application/vnd.onnx");
    mlaudit__v1__external_ref__init(&f->ext);
    f->ext.system = S("mlflow");
    f->ext.id = S("run-0001");
    f->subject.external = &f->ext;
    f->c.subject = &f->subject;

    artifact_set(&f->in_art[0], "dataset", "transactions", "2024-06");
    f->in_art[0].digest = BIN(f->digest, 32);
    artifact_set(&f->in_art[1], "code", "fraud-train", "a1b2c3d4");
    for (int i = 0; i < 2; i++) {
        mlaudit__v1__input__init(&f->in[i]);
        f->in[i].artifact = &f->in_art[i];
        f->inp[i] = &f->in[i];
    }
    f->in[0].role = S("training-data");
    f->in[1].role = S("x-notebook");
    f->c.n_inputs = 2;
    f->c.inputs = f->inp;

    for (int i = 0; i < 2; i++) {
        mlaudit__v1__change__attributes_entry__init(&f->at[i]);
        mlaudit__v1__change__metrics_entry__init(&f->mt[i]);
        f->atp[i] = &f->at[i];
        f->mtp[i] = &f->mt[i];
    }
    f->at[0].key = S("learning_rate");
    f->at[0].value = S("0.01");
    f->at[1].key = S("seed");
    f->at[1].value = S("42");
    f->mt[0].key = S("auc");
    f->mt[0].value = 0.91;
    f->mt[1].key = S("f1");
    f->mt[1].value = 0.8;
    f->c.n_attributes = 2;
    f->c.attributes = f->atp;
    f->c.n_metrics = 2;
    f->c.metrics = f->mtp;

    artifact_set(&f->to, "model", "fraud-detector", "1.3.0");
    mlaudit__v1__deployment__init(&f->dep);
    f->dep.target = S("fraud-api");
    f->dep.stage = S("production");
    f->dep.traffic_fraction = 0.25;
    f->dep.serving_key = BIN(f->key32, 32);
    mlaudit__v1__rollback__init(&f->rb);
    f->rb.target = S("fraud-api");
    f->rb.to = &f->to;
    mlaudit__v1__approval__init(&f->appr);
    f->appr.approved_seq = 3;
    f->appr.scope = S("production");
    mlaudit__v1__decision_batch__init(&f->db);
    f->db.target = S("fraud-api");
    f->db.model = &f->to;
    f->db.first_time_ns = 100;
    f->db.last_time_ns = 200;
    f->db.count = 10;
    f->db.root = BIN(f->digest, 32);
    mlaudit__v1__key_change__init(&f->key);
    f->key.public_key = BIN(f->key32, 32);
    f->key.role = MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER;
    f->allowed[0] = MLAUDIT__V1__KIND__KIND_MODEL;
    f->allowed[1] = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    f->key.n_allowed_kinds = 2;
    f->key.allowed_kinds = f->allowed;
    f->key.name = S("ci-pipeline");
    mlaudit__v1__retirement__init(&f->ret);
    f->ret.target = S("fraud-api");
    f->ret.artifact = &f->to;
    mlaudit__v1__redaction__init(&f->red);
    f->red.seq = 7;
    f->red.reason = S("personal data in attributes");
    mlaudit__v1__import__init(&f->imp);
    f->imp.source_system = S("mlflow");
    f->imp.source_snapshot_digest = BIN(f->digest, 32);
    f->imp.importer_version = S("0.1.0");
}

/* Switch the fixture to kind k with that kind's detail (valid). */
static void change_fix_kind(change_fix *f, mla_kind k)
{
    f->c.kind = k;
    f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL__NOT_SET;
    f->c.deployment = NULL;
    switch (k) {
    case MLAUDIT__V1__KIND__KIND_DEPLOYMENT:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
        f->c.deployment = &f->dep;
        break;
    case MLAUDIT__V1__KIND__KIND_ROLLBACK:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
        f->c.rollback = &f->rb;
        break;
    case MLAUDIT__V1__KIND__KIND_APPROVAL:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_APPROVAL;
        f->c.approval = &f->appr;
        break;
    case MLAUDIT__V1__KIND__KIND_DECISION_BATCH:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
        f->c.decision_batch = &f->db;
        f->c.subject = NULL;
        break;
    case MLAUDIT__V1__KIND__KIND_KEY:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_KEY;
        f->c.key = &f->key;
        f->c.subject = NULL;
        break;
    case MLAUDIT__V1__KIND__KIND_RETIREMENT:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
        f->c.retirement = &f->ret;
        break;
    case MLAUDIT__V1__KIND__KIND_REDACTION:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_REDACTION;
        f->c.redaction = &f->red;
        f->c.subject = NULL;
        break;
    case MLAUDIT__V1__KIND__KIND_IMPORT:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_IMPORT;
        f->c.import = &f->imp;
        break;
    case MLAUDIT__V1__KIND__KIND_EVALUATION:
        /* An evaluation report about the model it evaluates. */
        f->subject.type = S("evaluation");
        f->subject.name = S("fraud-detector-eval");
        artifact_set(&f->in_art[0], "model", "fraud-detector", "1.4.0");
        f->in[0].role = S("evaluated-model");
        break;
    default: break;
    }
}

static char *big(change_fix *f, size_t n)
{
    ck_assert_uint_le(n, BIG_MAX);
    memset(f->big, 'a', n);
    f->big[n] = '\0';
    return f->big;
}

typedef struct entry_fix {
    env_fix e;
    mla_pb_entry entry;
    mla_pb_link link[MLA_LIMIT_LINKS + 1];
    mla_pb_link *linkp[MLA_LIMIT_LINKS + 1];
    uint8_t prev[33], leaf[33];
} entry_fix;

static void entry_fix_init(entry_fix *f)
{
    memset(f, 0, sizeof *f);
    env_fix_init(&f->e);
    mlaudit__v1__entry__init(&f->entry);
    memset(f->prev, 0x11, sizeof f->prev);
    memset(f->leaf, 0x22, sizeof f->leaf);
    f->entry.seq = 5;
    f->entry.ledger_time_ns = 1717171717123456789;
    f->entry.prev_hash = BIN(f->prev, 32);
    f->entry.envelope = &f->e.env;
    f->entry.submitter = S("CN=training-pipeline");
    for (int i = 0; i <= MLA_LIMIT_LINKS; i++) {
        mlaudit__v1__link__init(&f->link[i]);
        f->link[i].scope = MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_SUBJECT;
        f->link[i].key = S("model:fraud-detector");
        f->link[i].prev_seq = 3;
        f->link[i].prev_leaf_hash = BIN(f->leaf, 32);
        f->linkp[i] = &f->link[i];
    }
    f->link[1].scope = MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_TARGET;
    f->link[1].key = S("fraud-api");
    f->link[1].prev_seq = 0;
    f->link[1].prev_leaf_hash = BIN(NULL, 0);
    f->entry.n_links = 2;
    f->entry.links = f->linkp;
}

typedef struct decision_fix {
    mla_pb_decision d;
    mla_pb_artifact model;
    Mlaudit__V1__Override ov;
    uint8_t in[33], outd[33];
} decision_fix;

static void decision_fix_init(decision_fix *f)
{
    memset(f, 0, sizeof *f);
    memset(f->in, 0x01, sizeof f->in);
    memset(f->outd, 0x02, sizeof f->outd);
    mlaudit__v1__decision__init(&f->d);
    f->d.id = S("txn-2024-06-01-000042");
    f->d.target = S("fraud-api");
    f->d.time_ns = 1717171717000000001;
    f->d.input_digest = BIN(f->in, 32);
    f->d.output_digest = BIN(f->outd, 32);
    artifact_set(&f->model, "model", "fraud-detector", "1.4.0");
    f->d.model = &f->model;
    f->d.reviewer = S("bob");
    mlaudit__v1__override__init(&f->ov);
    f->ov.by = S("carol");
    f->ov.reason_digest = BIN(f->in, 32);
    f->ov.new_output_digest = BIN(f->outd, 32);
    f->d.override = &f->ov;
    f->d.explanation_digest = BIN(f->in, 32);
    f->d.salted = 1;
}

/* ---- generic message operations ---------------------------------------- */

typedef struct codec_ops {
    const char *name;
    mla_status (*decode)(void **out, mla_slice in);
    void (*free)(void *m);
    mla_status (*encode)(mla_buf *out, const void *m);
} codec_ops;

#define OPS(T, n)                                                                                  \
    static mla_status n##_dec(void **out, mla_slice in)                                            \
    {                                                                                              \
        T *m;                                                                                      \
        mla_status rc = mla_codec_##n##_decode(&m, in);                                            \
        *out = m;                                                                                  \
        return rc;                                                                                 \
    }                                                                                              \
    static void n##_free(void *m) { mla_codec_##n##_free(m); }                                     \
    static mla_status n##_enc(mla_buf *out, const void *m)                                         \
    {                                                                                              \
        return mla_codec_##n##_encode(out, m);                                                     \
    }                                                                                              \
    static const codec_ops n##_ops = {#n, n##_dec, n##_free, n##_enc};

OPS(mla_pb_envelope, envelope)
OPS(mla_pb_change, change)
OPS(mla_pb_entry, entry)
OPS(mla_pb_decision, decision)

/* Decode in; on success the message must re-encode to bytes that decode and
 * re-encode to themselves (the fuzz targets' invariant). */
static mla_status decode_stable(const codec_ops *ops, mla_slice in)
{
    void *m = NULL;
    mla_status rc = ops->decode(&m, in);
    ck_assert_msg(rc == MLA_OK || rc == MLA_EINVAL, "%s: status %s (%s)", ops->name,
                  mla_status_name(rc), mla_error_last()->msg);
    if (rc != MLA_OK) {
        ck_assert_ptr_null(m);
        return rc;
    }
    mla_buf y, z;
    mla_buf_init(&y, ENC_MAX);
    mla_buf_init(&z, ENC_MAX);
    tu_assert_ok(ops->encode(&y, m));
    ops->free(m);
    tu_assert_ok(ops->decode(&m, mla_buf_slice(&y)));
    tu_assert_ok(ops->encode(&z, m));
    ops->free(m);
    ck_assert(mla_slice_eq(mla_buf_slice(&y), mla_buf_slice(&z)));
    mla_buf_dispose(&y);
    mla_buf_dispose(&z);
    return rc;
}

/* Encode m, decode it, re-encode: the same bytes. */
static void assert_roundtrip(const codec_ops *ops, const void *m, mla_buf *enc)
{
    mla_buf again;
    mla_buf_init(enc, ENC_MAX);
    mla_buf_init(&again, ENC_MAX);
    tu_assert_ok(ops->encode(enc, m));
    ck_assert_uint_gt(enc->len, 0);
    void *d = NULL;
    tu_assert_ok(ops->decode(&d, mla_buf_slice(enc)));
    tu_assert_ok(ops->encode(&again, d));
    ck_assert(mla_slice_eq(mla_buf_slice(enc), mla_buf_slice(&again)));
    ops->free(d);
    mla_buf_dispose(&again);
}

static void assert_truncations_safe(const codec_ops *ops, mla_slice full)
{
    size_t ok = 0;
    for (size_t n = 0; n < full.len; n++)
        if (decode_stable(ops, mla_slice_make(full.ptr, n)) == MLA_OK) ok++;
    /* Prefixes that end on a field boundary may be valid messages; most are not. */
    ck_assert_uint_lt(ok, full.len / 2);
}

static void assert_bitflips_safe(const codec_ops *ops, mla_slice full)
{
    uint8_t *p = malloc(full.len);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < full.len * 8; i++) {
        memcpy(p, full.ptr, full.len);
        p[i / 8] ^= (uint8_t)(1u << (i % 8));
        mla_ignore(decode_stable(ops, mla_slice_make(p, full.len)));
    }
    free(p);
}

static void assert_alloc_failures_clean(const codec_ops *ops, mla_slice in)
{
    for (long k = 0;; k++) {
        ck_assert_int_lt(k, 10000);
        void *m = (void *)1;
        mla_alloc_fail_after(k);
        mla_status rc = ops->decode(&m, in);
        long failed = mla_alloc_failed_count();
        mla_alloc_fail_reset();
        if (failed == 0) {
            tu_assert_ok(rc);
            ck_assert_int_gt(k, 0);
            ops->free(m);
            return;
        }
        tu_assert_fail_with(rc, MLA_ENOMEM, ops->name);
        ck_assert_ptr_null(m);
    }
}

/* Pack without validation, so a decoder sees the bad bytes. */
static void pack_raw(mla_buf *out, const ProtobufCMessage *m)
{
    mla_buf_init(out, ENC_MAX);
    tu_assert_ok(mla_codec__message_pack(out, m, ENC_MAX, "test"));
}

/* ---- envelope ----------------------------------------------------------- */

START_TEST(test_envelope_roundtrip)
{
    env_fix f;
    env_fix_init(&f);
    mla_buf enc;
    assert_roundtrip(&envelope_ops, &f.env, &enc);
    mla_pb_envelope *d;
    tu_assert_ok(mla_codec_envelope_decode(&d, mla_buf_slice(&enc)));
    ck_assert_str_eq(d->payload_type, MLA_PAYLOAD_TYPE_CHANGE);
    ck_assert_uint_eq(d->payload.len, 16);
    ck_assert_int_eq(memcmp(d->payload.data, f.payload, 16), 0);
    ck_assert_uint_eq(d->n_signatures, 2);
    ck_assert_str_eq(d->signatures[1]->keyid, f.keyid[1]);
    mla_codec_envelope_free(d);
    mla_codec_envelope_free(NULL);
    mla_buf_dispose(&enc);
}
END_TEST

static uint8_t big_payload[MLA_LIMIT_PAYLOAD_BYTES + 1];
static char long_type[130];

/* Each case breaks one rule; the returned string must appear in the error. */
static const char *envelope_break(env_fix *f, int i)
{
    switch (i) {
    case 0: f->env.payload_type = S(""); return "envelope.payload_type: empty";
    case 1: f->env.payload_type = S("text/\xff"); return "envelope.payload_type: not valid UTF-8";
    case 2:
        memset(long_type, 't', 129);
        f->env.payload_type = long_type;
        return "envelope.payload_type: 129 bytes exceeds limit 128";
    case 3: f->env.payload = BIN(NULL, 0); return "envelope.payload: empty";
    case 4:
        f->env.payload = BIN(big_payload, sizeof big_payload);
        return "envelope.payload: 65001 bytes exceeds limit 65000";
    case 5: f->env.n_signatures = 0; return "envelope.signatures: none";
    case 6: f->env.n_signatures = 9; return "envelope.signatures: 9 exceeds limit 8";
    case 7: f->sig[1].sig.len = 63; return "envelope.signatures[1].sig: 63 bytes, want 64";
    case 8: f->sig[0].sig = BIN(NULL, 0); return "envelope.signatures[0].sig: empty";
    case 9: f->keyid[1][63] = '\0'; return "envelope.signatures[1].keyid: 63 chars";
    case 10: f->keyid[0][5] = 'A'; return "envelope.signatures[0].keyid: not lowercase hex";
    case 11: f->keyid[0][0] = 'g'; return "envelope.signatures[0].keyid: not lowercase hex";
    case 12:
        f->sig[2].keyid = f->keyid[0];
        f->env.n_signatures = 3;
        return "envelope.signatures[2].keyid: duplicate of signatures[0]";
    case 13: f->env.payload_type = S("text/plain\n"); return "envelope.payload_type: control";
    case 14: f->sig[0].keyid = S(""); return "envelope.signatures[0].keyid: 0 chars";
    default: return NULL;
    }
}
#define N_ENVELOPE_RULES 15

START_TEST(test_envelope_rejects_rule)
{
    env_fix f;
    env_fix_init(&f);
    const char *field = envelope_break(&f, _i);
    ck_assert_ptr_nonnull(field);
    tu_assert_fail_with(mla_codec_envelope_validate(&f.env), MLA_EINVAL, field);
    mla_buf b;
    mla_buf_init(&b, ENC_MAX);
    tu_assert_fail_with(mla_codec_envelope_encode(&b, &f.env), MLA_EINVAL, field);
    ck_assert_uint_eq(b.len, 0);
    mla_buf_dispose(&b);
    pack_raw(&b, &f.env.base);
    mla_pb_envelope *d = (void *)1;
    tu_assert_fail_with(mla_codec_envelope_decode(&d, mla_buf_slice(&b)), MLA_EINVAL, field);
    ck_assert_ptr_null(d);
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_envelope_survives_truncation_and_bitflips)
{
    env_fix f;
    env_fix_init(&f);
    mla_buf enc;
    assert_roundtrip(&envelope_ops, &f.env, &enc);
    assert_truncations_safe(&envelope_ops, mla_buf_slice(&enc));
    assert_bitflips_safe(&envelope_ops, mla_buf_slice(&enc));
    mla_buf_dispose(&enc);
}
END_TEST

START_TEST(test_envelope_decode_alloc_failures_report_enomem)
{
    env_fix f;
    env_fix_init(&f);
    mla_buf enc;
    assert_roundtrip(&envelope_ops, &f.env, &enc);
    assert_alloc_failures_clean(&envelope_ops, mla_buf_slice(&enc));
    mla_buf_dispose(&enc);
}
END_TEST

START_TEST(test_envelope_rejects_oversized_input_before_unpacking)
{
    static uint8_t huge[MLA_LIMIT_ENVELOPE_BYTES + 1];
    mla_pb_envelope *d = (void *)1;
    mla_alloc_fail_after(0); /* nothing may be allocated for an over-limit input */
    mla_status rc = mla_codec_envelope_decode(&d, mla_slice_make(huge, sizeof huge));
    mla_alloc_fail_reset();
    tu_assert_fail_with(rc, MLA_EINVAL, "envelope: 69097 bytes exceeds limit 69096");
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_envelope_rejects_nul_in_keyid)
{
    env_fix f;
    env_fix_init(&f);
    f.keyid[1][10] = 'Z'; /* marker replaced on the wire */
    mla_buf b;
    pack_raw(&b, &f.env.base);
    uint8_t *z = memchr(b.ptr, 'Z', b.len);
    ck_assert_ptr_nonnull(z);
    *z = 0;
    mla_pb_envelope *d;
    tu_assert_fail_with(mla_codec_envelope_decode(&d, mla_buf_slice(&b)), MLA_EINVAL,
                        "envelope.signatures[1].keyid: embedded NUL");
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_envelope_encode_respects_buffer_max)
{
    env_fix f;
    env_fix_init(&f);
    mla_buf b;
    mla_buf_init(&b, 10);
    ck_assert_int_eq(mla_codec_envelope_encode(&b, &f.env), MLA_ELIMIT);
    mla_buf_dispose(&b);
    mla_buf_init(&b, ENC_MAX);
    mla_alloc_fail_after(0);
    mla_status rc = mla_codec_envelope_encode(&b, &f.env);
    mla_alloc_fail_reset();
    ck_assert_int_eq(rc, MLA_ENOMEM);
    ck_assert_uint_eq(b.len, 0);
    mla_buf_dispose(&b);
}
END_TEST

/* ---- change ------------------------------------------------------------- */

static const mla_kind all_kinds[] = {
    MLAUDIT__V1__KIND__KIND_MODEL,       MLAUDIT__V1__KIND__KIND_DATASET,
    MLAUDIT__V1__KIND__KIND_CODE,        MLAUDIT__V1__KIND__KIND_CONFIG,
    MLAUDIT__V1__KIND__KIND_ENVIRONMENT, MLAUDIT__V1__KIND__KIND_EVALUATION,
    MLAUDIT__V1__KIND__KIND_DEPLOYMENT,  MLAUDIT__V1__KIND__KIND_ROLLBACK,
    MLAUDIT__V1__KIND__KIND_APPROVAL,    MLAUDIT__V1__KIND__KIND_DECISION_BATCH,
    MLAUDIT__V1__KIND__KIND_DOCUMENT,    MLAUDIT__V1__KIND__KIND_KEY,
    MLAUDIT__V1__KIND__KIND_RETIREMENT,  MLAUDIT__V1__KIND__KIND_REDACTION,
    MLAUDIT__V1__KIND__KIND_IMPORT,
};
#define N_KINDS_ALL 15

START_TEST(test_change_roundtrip_every_kind)
{
    change_fix f;
    change_fix_init(&f);
    change_fix_kind(&f, all_kinds[_i]);
    mla_buf enc;
    assert_roundtrip(&change_ops, &f.c, &enc);
    mla_pb_change *d;
    tu_assert_ok(mla_codec_change_decode(&d, mla_buf_slice(&enc)));
    ck_assert_int_eq(d->kind, all_kinds[_i]);
    ck_assert_int_eq(d->detail_case, f.c.detail_case);
    ck_assert_str_eq(d->reason, f.c.reason);
    ck_assert_uint_eq(d->n_inputs, 2);
    ck_assert_str_eq(d->inputs[1]->role, "x-notebook");
    ck_assert_uint_eq(d->n_metrics, 2);
    ck_assert(d->metrics[0]->value == 0.91);
    ck_assert_int_eq(d->subject != NULL, f.c.subject != NULL);
    if (d->subject) ck_assert_str_eq(d->subject->version, "1.4.0");
    mla_codec_change_free(d);
    mla_buf_dispose(&enc);
}
END_TEST

static const char *change_break(change_fix *f, int i)
{
    const mla_kind DEP = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    const mla_kind EVAL = MLAUDIT__V1__KIND__KIND_EVALUATION;
    switch (i) {
    case 0: f->c.kind = 0; return "change.kind: 0 is not a kind";
    case 1: f->c.kind = 99; return "change.kind: 99 is not a kind";
    case 2: f->c.reason = S(""); return "change.reason: empty — every change must say why";
    case 3: f->c.reason = big(f, 4097); return "change.reason: 4097 bytes exceeds limit 4096";
    case 4: f->c.reason = S("bad \xc3\x28"); return "change.reason: not valid UTF-8";
    case 5: f->c.actor = big(f, 257); return "change.actor: 257 bytes exceeds limit 256";
    case 6: f->c.subject = NULL; return "change.subject: missing, required for kind MODEL";
    case 7: f->subject.type = S(""); return "change.subject.type: empty";
    case 8: f->subject.type = S("model:x"); return "change.subject.type: contains ':'";
    case 9: f->subject.type = S("m@x"); return "change.subject.type: contains ':' or '@'";
    case 10: f->subject.name = S("fraud@1"); return "change.subject.name: contains '@'";
    case 11: f->subject.version = S("1.4\n"); return "change.subject.version: control character";
    case 12: f->subject.digest.len = 31; return "change.subject.digest: 31 bytes, want 32";
    case 13: f->subject.digest = BIN(NULL, 0); return "change.subject.digest: empty";
    case 14: f->dg[1].key = S("md5"); return "change.subject.digests[1].key: duplicate";
    case 15:
        for (int k = 0; k < 17; k++) f->dgp[k] = &f->dg[0];
        f->subject.n_digests = 17;
        return "change.subject.digests: 17 exceeds limit 16";
    case 16: f->subject.uri = big(f, 2049); return "change.subject.uri: 2049 bytes exceeds";
    case 17:
        for (int k = 0; k < 257; k++) f->inp[k] = &f->in[0];
        f->c.n_inputs = 257;
        return "change.inputs: 257 exceeds limit 256";
    case 18: f->in[1].artifact = NULL; return "change.inputs[1].artifact: missing";
    case 19: f->in_art[1].name = S(""); return "change.inputs[1].artifact.name: empty";
    case 20: f->in[0].role = S("cooking"); return "change.inputs[0].role: \"cooking\" is not";
    case 21: f->in[0].role = S("x-"); return "change.inputs[0].role: \"x-\" is not";
    case 22: f->in[0].role = S(""); return "change.inputs[0].role: empty";
    case 23:
        for (int k = 0; k < 257; k++) f->atp[k] = &f->at[0];
        f->c.n_attributes = 257;
        return "change.attributes: 257 exceeds limit 256";
    case 24: f->at[0].key = S(""); return "change.attributes[0].key: empty";
    case 25: f->at[0].key = big(f, 129); return "change.attributes[0].key: 129 bytes exceeds";
    case 26:
        f->at[1].value = big(f, 4097);
        return "change.attributes[1].value: 4097 bytes exceeds limit 4096";
    case 27: f->at[1].key = S("learning_rate"); return "change.attributes[1].key: duplicate";
    case 28: f->at[0].value = S("\xed\xa0\x80"); return "change.attributes[0].value: not valid";
    case 29:
        for (int k = 0; k < 257; k++) f->mtp[k] = &f->mt[0];
        f->c.n_metrics = 257;
        return "change.metrics: 257 exceeds limit 256";
    case 30: f->mt[0].value = NAN; return "change.metrics[0].value: nan is not finite";
    case 31: f->mt[1].value = -INFINITY; return "change.metrics[1].value: -inf is not finite";
    case 32: f->mt[1].key = S("auc"); return "change.metrics[1].key: duplicate";
    case 33:
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
        f->c.deployment = &f->dep;
        return "change.deployment: does not belong to kind MODEL";
    case 34: f->c.kind = DEP; return "change.deployment: missing, required for kind DEPLOYMENT";
    case 35:
        change_fix_kind(f, DEP);
        f->dep.target = S("");
        return "change.deployment.target: empty";
    case 36:
        change_fix_kind(f, DEP);
        f->dep.traffic_fraction = 0.0;
        return "change.deployment.traffic_fraction: 0 not in (0, 1]";
    case 37:
        change_fix_kind(f, DEP);
        f->dep.traffic_fraction = 1.5;
        return "change.deployment.traffic_fraction: 1.5 not in (0, 1]";
    case 38:
        change_fix_kind(f, DEP);
        f->dep.traffic_fraction = NAN;
        return "change.deployment.traffic_fraction";
    case 39:
        change_fix_kind(f, DEP);
        f->dep.serving_key.len = 31;
        return "change.deployment.serving_key: 31 bytes, want 32";
    case 40:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_ROLLBACK);
        f->rb.to = NULL;
        return "change.rollback.to: missing";
    case 41:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_ROLLBACK);
        f->rb.target = S("");
        return "change.rollback.target: empty";
    case 42:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_KEY);
        f->key.public_key.len = 31;
        return "change.key.public_key: 31 bytes, want 32";
    case 43:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_KEY);
        f->key.role = 0;
        return "change.key.role: 0 is not a key role";
    case 44:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_KEY);
        f->allowed[0] = 0;
        return "change.key.allowed_kinds[0]: 0 is not a kind";
    case 45:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_REDACTION);
        f->red.reason = S("");
        return "change.redaction.reason: empty";
    case 46:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DECISION_BATCH);
        f->db.count = 0;
        return "change.decision_batch.count: zero";
    case 47:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DECISION_BATCH);
        f->db.root.len = 31;
        return "change.decision_batch.root: 31 bytes, want 32";
    case 48:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DECISION_BATCH);
        f->db.first_time_ns = 201;
        return "change.decision_batch.first_time_ns: 201 after last_time_ns 200";
    case 49:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DECISION_BATCH);
        f->db.target = S("");
        return "change.decision_batch.target: empty";
    case 50:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_IMPORT);
        f->imp.source_system = S("");
        return "change.import.source_system: empty";
    case 51:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_IMPORT);
        f->imp.source_snapshot_digest.len = 5;
        return "change.import.source_snapshot_digest: 5 bytes, want 32";
    case 52:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_KEY);
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
        f->c.rollback = &f->rb;
        return "change.rollback: does not belong to kind KEY";
    case 53: f->subject.type = big(f, 257); return "change.subject.type: 257 bytes exceeds";
    case 54:
        change_fix_kind(f, DEP);
        f->c.subject = NULL;
        return "change.subject: missing, required for kind DEPLOYMENT";
    case 55:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_KEY);
        f->allowed[1] = f->allowed[0];
        return "change.key.allowed_kinds[1]: duplicate MODEL";
    case 56: f->ext.system = S(""); return "change.subject.external.system: empty";
    case 57:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_ROLLBACK);
        f->to.version = S("");
        return "change.rollback.to.version: empty";
    case 58:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DOCUMENT);
        f->c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_REDACTION;
        f->c.redaction = &f->red;
        return "change.redaction: does not belong to kind DOCUMENT";
    case 59:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_KEY);
        f->key.role = 9;
        return "change.key.role: 9 is not a key role";
    /* Per-kind content: what each kind must carry to mean anything. */
    case 60: f->c.n_inputs = 0; return "change.inputs: a MODEL needs at least one input";
    case 61:
        change_fix_kind(f, EVAL);
        f->in[0].role = S("test-data");
        return "change.inputs: an EVALUATION needs an input with role \"evaluated-model\"";
    case 62:
        change_fix_kind(f, EVAL);
        f->c.n_inputs = 0;
        return "change.inputs: an EVALUATION needs an input with role \"evaluated-model\"";
    case 63:
        change_fix_kind(f, EVAL);
        f->c.n_metrics = 0;
        return "change.metrics: an EVALUATION needs at least one metric";
    case 64:
        /* A custom role spelled like the real one is not it. */
        change_fix_kind(f, EVAL);
        f->in[0].role = S("x-evaluated-model");
        return "change.inputs: an EVALUATION needs an input with role \"evaluated-model\"";
    case 65:
        change_fix_kind(f, DEP);
        f->dep.stage = S("");
        return "change.deployment.stage: empty";
    case 66:
        change_fix_kind(f, DEP);
        f->dep.stage = NULL;
        return "change.deployment.stage: empty";
    case 67:
        change_fix_kind(f, DEP);
        f->dep.traffic_fraction = -0.25;
        return "change.deployment.traffic_fraction: -0.25 not in (0, 1]";
    case 68:
        change_fix_kind(f, DEP);
        f->dep.serving_key.len = 33;
        return "change.deployment.serving_key: 33 bytes, want 32";
    case 69:
        f->c.kind = MLAUDIT__V1__KIND__KIND_ROLLBACK;
        return "change.rollback: missing, required for kind ROLLBACK";
    case 70:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_ROLLBACK);
        f->to.name = S("");
        return "change.rollback.to.name: empty";
    case 71:
        f->c.kind = MLAUDIT__V1__KIND__KIND_APPROVAL;
        return "change.approval: missing, required for kind APPROVAL";
    case 72:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_APPROVAL);
        f->appr.approved_seq = 0;
        return "change.approval: names neither the approved artifact";
    case 73:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_APPROVAL);
        f->appr.approved = &f->to;
        f->to.version = S("");
        return "change.approval.approved.version: empty";
    case 74:
        f->c.kind = MLAUDIT__V1__KIND__KIND_RETIREMENT;
        return "change.retirement: missing, required for kind RETIREMENT";
    case 75:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_RETIREMENT);
        f->ret.target = S("");
        return "change.retirement.target: empty";
    case 76:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_RETIREMENT);
        f->to.type = S("");
        return "change.retirement.artifact.type: empty";
    case 77:
        f->c.kind = MLAUDIT__V1__KIND__KIND_KEY;
        f->c.subject = NULL;
        return "change.key: missing, required for kind KEY";
    case 78:
        f->c.kind = MLAUDIT__V1__KIND__KIND_REDACTION;
        return "change.redaction: missing, required for kind REDACTION";
    case 79:
        f->c.kind = MLAUDIT__V1__KIND__KIND_IMPORT;
        return "change.import: missing, required for kind IMPORT";
    case 80:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_IMPORT);
        f->imp.importer_version = S("0.1\n");
        return "change.import.importer_version: control character";
    case 81:
        change_fix_kind(f, MLAUDIT__V1__KIND__KIND_REDACTION);
        f->red.reason = big(f, 4097);
        return "change.redaction.reason: 4097 bytes exceeds limit 4096";
    default: return NULL;
    }
}
#define N_CHANGE_RULES 82

START_TEST(test_change_rejects_rule)
{
    change_fix *f = malloc(sizeof *f);
    ck_assert_ptr_nonnull(f);
    change_fix_init(f);
    const char *field = change_break(f, _i);
    ck_assert_ptr_nonnull(field);
    tu_assert_fail_with(mla_codec_change_validate(&f->c), MLA_EINVAL, field);
    mla_buf b;
    mla_buf_init(&b, ENC_MAX);
    tu_assert_fail_with(mla_codec_change_encode(&b, &f->c), MLA_EINVAL, field);
    ck_assert_uint_eq(b.len, 0);
    mla_buf_dispose(&b);
    pack_raw(&b, &f->c.base);
    mla_pb_change *d = (void *)1;
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_buf_slice(&b)), MLA_EINVAL, field);
    ck_assert_ptr_null(d);
    mla_buf_dispose(&b);
    free(f);
}
END_TEST

START_TEST(test_change_accepts_optional_parts_absent)
{
    change_fix f;
    change_fix_init(&f);
    /* EVALUATION needs no digest, no attributes and no actor; one
     * evaluated-model input and one metric are enough. */
    change_fix_kind(&f, MLAUDIT__V1__KIND__KIND_EVALUATION);
    f.subject.digest = BIN(NULL, 0);
    f.c.n_inputs = f.c.n_metrics = 1;
    f.c.n_attributes = 0;
    f.c.actor = S("");
    tu_assert_ok(mla_codec_change_validate(&f.c));
    /* DOCUMENT and the artifact kinds need no detail, inputs or maps. */
    mla_kind plain[] = {MLAUDIT__V1__KIND__KIND_DOCUMENT, MLAUDIT__V1__KIND__KIND_DATASET,
                        MLAUDIT__V1__KIND__KIND_CODE, MLAUDIT__V1__KIND__KIND_CONFIG,
                        MLAUDIT__V1__KIND__KIND_ENVIRONMENT};
    for (int i = 0; i < 5; i++) {
        change_fix_init(&f);
        change_fix_kind(&f, plain[i]);
        f.c.n_inputs = f.c.n_attributes = f.c.n_metrics = 0;
        tu_assert_ok(mla_codec_change_validate(&f.c));
    }
    change_fix_init(&f);
    /* Subjects are optional for KEY, REDACTION and DECISION_BATCH. */
    mla_kind opt[] = {MLAUDIT__V1__KIND__KIND_KEY, MLAUDIT__V1__KIND__KIND_REDACTION,
                      MLAUDIT__V1__KIND__KIND_DECISION_BATCH};
    for (int i = 0; i < 3; i++) {
        change_fix_kind(&f, opt[i]);
        f.c.subject = NULL;
        tu_assert_ok(mla_codec_change_validate(&f.c));
    }
    /* The serving key is optional. */
    change_fix_kind(&f, MLAUDIT__V1__KIND__KIND_DEPLOYMENT);
    f.c.subject = &f.subject;
    f.dep.serving_key = BIN(NULL, 0);
    f.dep.traffic_fraction = 1.0;
    tu_assert_ok(mla_codec_change_validate(&f.c));
}
END_TEST

/* Each per-kind rule at its boundary, accepted: the least each kind needs. */
START_TEST(test_change_kind_rules_accept_the_minimum)
{
    change_fix *f = malloc(sizeof *f);
    ck_assert_ptr_nonnull(f);
    mla_buf b;
    mla_pb_change *d;
    for (int i = 0; i < 12; i++) {
        change_fix_init(f);
        switch (i) {
        case 0: /* MODEL with one input, of a custom role */
            f->c.inputs = &f->inp[1];
            f->c.n_inputs = 1;
            f->c.n_attributes = f->c.n_metrics = 0;
            break;
        case 1: /* EVALUATION: the evaluated model among other inputs, one metric */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_EVALUATION);
            f->in[0].role = S("test-data");
            f->in[1].role = S("evaluated-model");
            f->c.n_metrics = 1;
            break;
        case 2: /* DEPLOYMENT: target, stage, the smallest and no serving key */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DEPLOYMENT);
            f->dep.traffic_fraction = 1e-9;
            f->dep.serving_key = BIN(NULL, 0);
            f->c.n_inputs = 0;
            break;
        case 3: /* DEPLOYMENT: all traffic */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DEPLOYMENT);
            f->dep.traffic_fraction = 1.0;
            break;
        case 4: /* ROLLBACK: target and a `to` without a digest */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_ROLLBACK);
            f->c.n_inputs = 0;
            break;
        case 5: /* APPROVAL naming the entry only */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_APPROVAL);
            f->appr.approved_seq = 1;
            f->appr.scope = S("");
            break;
        case 6: /* APPROVAL naming the artifact only (the way to approve entry 0) */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_APPROVAL);
            f->appr.approved_seq = 0;
            f->appr.approved = &f->to;
            break;
        case 7: /* RETIREMENT of a target, no artifact */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_RETIREMENT);
            f->ret.artifact = NULL;
            break;
        case 8: /* KEY: a revocation with no allowed kinds or name */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_KEY);
            f->key.n_allowed_kinds = 0;
            f->key.revoke = 1;
            f->key.name = S("");
            break;
        case 9: /* REDACTION of entry 0 */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_REDACTION);
            f->red.seq = 0;
            break;
        case 10: /* IMPORT: only the source system */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_IMPORT);
            f->imp.source_snapshot_digest = BIN(NULL, 0);
            f->imp.importer_version = S("");
            break;
        case 11: /* DECISION_BATCH without a model */
            change_fix_kind(f, MLAUDIT__V1__KIND__KIND_DECISION_BATCH);
            f->db.model = NULL;
            break;
        default: break;
        }
        ck_assert_msg(mla_codec_change_validate(&f->c) == MLA_OK, "case %d: %s", i,
                      mla_error_last()->msg);
        /* And on the wire: it decodes to the same kind and detail. */
        mla_buf_init(&b, ENC_MAX);
        tu_assert_ok(mla_codec_change_encode(&b, &f->c));
        tu_assert_ok(mla_codec_change_decode(&d, mla_buf_slice(&b)));
        ck_assert_int_eq(d->kind, f->c.kind);
        ck_assert_int_eq(d->detail_case, f->c.detail_case);
        ck_assert_uint_eq(d->n_inputs, f->c.n_inputs);
        mla_codec_change_free(d);
        mla_buf_dispose(&b);
    }
    free(f);
}
END_TEST

START_TEST(test_change_survives_truncation_and_bitflips)
{
    change_fix f;
    change_fix_init(&f);
    change_fix_kind(&f, MLAUDIT__V1__KIND__KIND_DEPLOYMENT);
    mla_buf enc;
    assert_roundtrip(&change_ops, &f.c, &enc);
    assert_truncations_safe(&change_ops, mla_buf_slice(&enc));
    assert_bitflips_safe(&change_ops, mla_buf_slice(&enc));
    mla_buf_dispose(&enc);
}
END_TEST

START_TEST(test_change_decode_alloc_failures_report_enomem)
{
    change_fix f;
    change_fix_init(&f);
    change_fix_kind(&f, MLAUDIT__V1__KIND__KIND_ROLLBACK);
    mla_buf enc;
    assert_roundtrip(&change_ops, &f.c, &enc);
    assert_alloc_failures_clean(&change_ops, mla_buf_slice(&enc));
    mla_buf_dispose(&enc);
}
END_TEST

START_TEST(test_change_rejects_oversized_input)
{
    static uint8_t huge[MLA_LIMIT_CHANGE_BYTES + 1];
    mla_pb_change *d;
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_slice_make(huge, sizeof huge)), MLA_EINVAL,
                        "change: 65001 bytes exceeds limit 65000");
}
END_TEST

/* Append a length-delimited field (wire type 2) numbered `field`. */
static void append_len_field(mla_buf *b, unsigned field, mla_slice body)
{
    tu_assert_ok(mla_buf_append_byte(b, (uint8_t)(field << 3 | 2)));
    size_t n = body.len;
    while (n >= 0x80) {
        tu_assert_ok(mla_buf_append_byte(b, (uint8_t)(n | 0x80)));
        n >>= 7;
    }
    tu_assert_ok(mla_buf_append_byte(b, (uint8_t)n));
    tu_assert_ok(mla_buf_append_slice(b, body));
}

/* Append a varint field (wire type 0) numbered `field`. */
static void append_varint_field(mla_buf *b, unsigned field, uint8_t v)
{
    tu_assert_ok(mla_buf_append_byte(b, (uint8_t)(field << 3)));
    tu_assert_ok(mla_buf_append_byte(b, v));
}

START_TEST(test_change_rejects_unknown_fields_at_any_depth)
{
    change_fix f;
    change_fix_init(&f);
    mla_buf b;
    mla_pb_change *d;
    /* Top level: field 9 is not in Change. */
    pack_raw(&b, &f.c.base);
    append_varint_field(&b, 9, 1);
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_buf_slice(&b)), MLA_EINVAL,
                        "change: unknown field 9");
    mla_buf_dispose(&b);
    /* Inside the subject: the change without it, then subject + field 9. */
    mla_buf art;
    pack_raw(&art, &f.subject.base);
    append_varint_field(&art, 9, 1);
    f.c.subject = NULL;
    pack_raw(&b, &f.c.base);
    append_len_field(&b, 2, mla_buf_slice(&art)); /* Change.subject */
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_buf_slice(&b)), MLA_EINVAL,
                        "change.subject: unknown field 9");
    mla_buf_dispose(&b);
    mla_buf_dispose(&art);
    /* Inside an input's artifact. */
    f.c.subject = &f.subject;
    f.c.n_inputs = 1;
    mla_buf in;
    pack_raw(&art, &f.in_art[1].base);
    append_varint_field(&art, 12, 1);
    mla_buf_init(&in, ENC_MAX);
    append_len_field(&in, 1, mla_buf_slice(&art)); /* Input.artifact */
    tu_assert_ok(mla_buf_append(&in,
                                "\x12\x04"
                                "code",
                                6)); /* Input.role */
    pack_raw(&b, &f.c.base);
    append_len_field(&b, 3, mla_buf_slice(&in)); /* Change.inputs */
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_buf_slice(&b)), MLA_EINVAL,
                        "change.inputs[1].artifact: unknown field 12");
    mla_buf_dispose(&b);
    mla_buf_dispose(&in);
    mla_buf_dispose(&art);
}
END_TEST

START_TEST(test_change_rejects_malformed_wire)
{
    mla_pb_change *d;
    /* Truncated varint, group wire type, field number 0, length past the end. */
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {{"\x08\x80", 2},
               {"\x0b", 1},
               {"\x00\x01", 2},
               {"\x3a\x05"
                "ab",
                4},
               {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tu_assert_fail_with(mla_codec_change_decode(&d, mla_slice_make(bad[i].bytes, bad[i].len)),
                            MLA_EINVAL, "change: malformed protobuf");
    /* Wire type that does not match the field (kind as length-delimited). */
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_slice_make("\x0a\x01x", 3)), MLA_EINVAL,
                        "change: malformed protobuf");
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_slice_make(NULL, 0)), MLA_EINVAL,
                        "change.kind: 0");
}
END_TEST

START_TEST(test_change_rejects_nul_inside_strings)
{
    change_fix f;
    change_fix_init(&f);
    f.in[1].role = S("x-noteZbook");
    mla_buf b;
    pack_raw(&b, &f.c.base);
    uint8_t *z = memmem(b.ptr, b.len, "noteZbook", 9);
    ck_assert_ptr_nonnull(z);
    z[4] = 0;
    mla_pb_change *d;
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_buf_slice(&b)), MLA_EINVAL,
                        "change.inputs[1].role: embedded NUL byte");
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_change_map_duplicate_on_wire_is_refused)
{
    /* protobuf-c keeps map entries as a list: a repeated key on the wire
     * must not silently pick a winner. */
    change_fix f;
    change_fix_init(&f);
    f.atp[1] = &f.at[0];
    mla_buf b;
    pack_raw(&b, &f.c.base);
    mla_pb_change *d;
    tu_assert_fail_with(mla_codec_change_decode(&d, mla_buf_slice(&b)), MLA_EINVAL,
                        "change.attributes[1].key: duplicate \"learning_rate\"");
    mla_buf_dispose(&b);
}
END_TEST

/* ---- entry -------------------------------------------------------------- */

START_TEST(test_entry_roundtrip)
{
    entry_fix f;
    entry_fix_init(&f);
    mla_buf enc;
    assert_roundtrip(&entry_ops, &f.entry, &enc);
    mla_pb_entry *d;
    tu_assert_ok(mla_codec_entry_decode(&d, mla_buf_slice(&enc)));
    ck_assert_uint_eq(d->seq, 5);
    ck_assert_int_eq(d->ledger_time_ns, 1717171717123456789);
    ck_assert_uint_eq(d->n_links, 2);
    ck_assert_str_eq(d->links[0]->key, "model:fraud-detector");
    ck_assert_uint_eq(d->links[1]->prev_leaf_hash.len, 0);
    ck_assert_uint_eq(d->envelope->n_signatures, 2);
    mla_codec_entry_free(d);
    mla_buf_dispose(&enc);
    /* seq 0 with the zero prev_hash and a first-of-scope link. */
    entry_fix_init(&f);
    memset(f.prev, 0, sizeof f.prev);
    f.entry.seq = 0;
    f.entry.links = &f.linkp[1];
    f.entry.n_links = 1;
    assert_roundtrip(&entry_ops, &f.entry, &enc);
    mla_buf_dispose(&enc);
}
END_TEST

static const char *entry_break(entry_fix *f, int i)
{
    switch (i) {
    case 0: f->entry.prev_hash.len = 31; return "entry.prev_hash: 31 bytes, want 32";
    case 1: f->entry.prev_hash = BIN(NULL, 0); return "entry.prev_hash: empty";
    case 2: f->entry.seq = 0; return "entry.prev_hash: not 32 zero bytes for seq 0";
    case 3: f->entry.envelope = NULL; return "entry.envelope: missing";
    case 4: f->e.sig[0].sig.len = 65; return "entry.envelope.signatures[0].sig: 65 bytes";
    case 5: f->entry.n_links = 9; return "entry.links: 9 exceeds limit 8";
    case 6: f->link[0].scope = 0; return "entry.links[0].scope: 0 is not a link scope";
    case 7: f->link[1].key = S(""); return "entry.links[1].key: empty";
    case 8: f->link[0].prev_leaf_hash.len = 31; return "entry.links[0].prev_leaf_hash: 31 bytes";
    case 9: f->link[1].prev_seq = 4; return "entry.links[1].prev_seq: 4 without prev_leaf_hash";
    case 10: f->link[0].prev_seq = 5; return "entry.links[0].prev_seq: 5 not before seq 5";
    case 11: f->link[1] = f->link[0]; return "entry.links[1]: duplicate of links[0]";
    case 12: f->entry.submitter = S("CN=\x01"); return "entry.submitter: control character 0x01";
    case 13: f->entry.ledger_time_ns = -1; return "entry.ledger_time_ns: -1 is negative";
    case 14: f->e.env.payload_type = S(""); return "entry.envelope.payload_type: empty";
    case 15: f->link[0].scope = 4; return "entry.links[0].scope: 4 is not a link scope";
    default: return NULL;
    }
}
#define N_ENTRY_RULES 16

START_TEST(test_entry_rejects_rule)
{
    entry_fix f;
    entry_fix_init(&f);
    const char *field = entry_break(&f, _i);
    ck_assert_ptr_nonnull(field);
    tu_assert_fail_with(mla_codec_entry_validate(&f.entry), MLA_EINVAL, field);
    mla_buf b;
    mla_buf_init(&b, ENC_MAX);
    tu_assert_fail_with(mla_codec_entry_encode(&b, &f.entry), MLA_EINVAL, field);
    mla_buf_dispose(&b);
    pack_raw(&b, &f.entry.base);
    mla_pb_entry *d = (void *)1;
    tu_assert_fail_with(mla_codec_entry_decode(&d, mla_buf_slice(&b)), MLA_EINVAL, field);
    ck_assert_ptr_null(d);
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_entry_survives_truncation_and_bitflips)
{
    entry_fix f;
    entry_fix_init(&f);
    mla_buf enc;
    assert_roundtrip(&entry_ops, &f.entry, &enc);
    assert_truncations_safe(&entry_ops, mla_buf_slice(&enc));
    assert_bitflips_safe(&entry_ops, mla_buf_slice(&enc));
    mla_buf_dispose(&enc);
}
END_TEST

START_TEST(test_entry_decode_alloc_failures_report_enomem)
{
    entry_fix f;
    entry_fix_init(&f);
    mla_buf enc;
    assert_roundtrip(&entry_ops, &f.entry, &enc);
    assert_alloc_failures_clean(&entry_ops, mla_buf_slice(&enc));
    mla_buf_dispose(&enc);
}
END_TEST

START_TEST(test_entry_rejects_oversized_and_unknown)
{
    static uint8_t huge[MLA_LIMIT_ENTRY_BYTES + 1];
    mla_pb_entry *d;
    tu_assert_fail_with(mla_codec_entry_decode(&d, mla_slice_make(huge, sizeof huge)), MLA_EINVAL,
                        "entry: 77289 bytes exceeds limit 77288");
    /* An unknown field inside a signature, three levels down. */
    entry_fix f;
    entry_fix_init(&f);
    mla_buf sig, env, b;
    pack_raw(&sig, &f.e.sig[0].base);
    append_varint_field(&sig, 7, 1);
    f.e.env.n_signatures = 1;
    f.e.env.signatures = &f.e.sigp[1];
    pack_raw(&env, &f.e.env.base);
    append_len_field(&env, 3, mla_buf_slice(&sig)); /* Envelope.signatures */
    f.entry.envelope = NULL;
    pack_raw(&b, &f.entry.base);
    append_len_field(&b, 4, mla_buf_slice(&env)); /* Entry.envelope */
    tu_assert_fail_with(mla_codec_entry_decode(&d, mla_buf_slice(&b)), MLA_EINVAL,
                        "entry.envelope.signatures[1]: unknown field 7");
    mla_buf_dispose(&sig);
    mla_buf_dispose(&env);
    mla_buf_dispose(&b);
}
END_TEST

/* ---- decision ------------------------------------------------------------ */

START_TEST(test_decision_roundtrip)
{
    decision_fix f;
    decision_fix_init(&f);
    mla_buf enc;
    assert_roundtrip(&decision_ops, &f.d, &enc);
    mla_pb_decision *d;
    tu_assert_ok(mla_codec_decision_decode(&d, mla_buf_slice(&enc)));
    ck_assert_str_eq(d->id, "txn-2024-06-01-000042");
    ck_assert_int_eq(d->salted, 1);
    ck_assert_str_eq(d->override->by, "carol");
    mla_codec_decision_free(d);
    assert_truncations_safe(&decision_ops, mla_buf_slice(&enc));
    assert_bitflips_safe(&decision_ops, mla_buf_slice(&enc));
    assert_alloc_failures_clean(&decision_ops, mla_buf_slice(&enc));
    mla_buf_dispose(&enc);
    /* The minimal receipt: no model, override or explanation. */
    f.d.model = NULL;
    f.d.override = NULL;
    f.d.explanation_digest = BIN(NULL, 0);
    f.d.reviewer = S("");
    assert_roundtrip(&decision_ops, &f.d, &enc);
    mla_buf_dispose(&enc);
}
END_TEST

static char long_id[MLA_LIMIT_DECISION_ID + 2];

static const char *decision_break(decision_fix *f, int i)
{
    switch (i) {
    case 0: f->d.id = S(""); return "decision.id: empty";
    case 1:
        memset(long_id, 'i', sizeof long_id - 1);
        f->d.id = long_id;
        return "decision.id: 257 bytes exceeds limit 256";
    case 2: f->d.target = S(""); return "decision.target: empty";
    case 3: f->d.input_digest.len = 31; return "decision.input_digest: 31 bytes, want 32";
    case 4: f->d.output_digest = BIN(NULL, 0); return "decision.output_digest: empty";
    case 5: f->ov.reason_digest.len = 5; return "decision.override.reason_digest: 5 bytes";
    case 6: f->ov.new_output_digest.len = 33; return "decision.override.new_output_digest: 33";
    case 7: f->d.explanation_digest.len = 33; return "decision.explanation_digest: 33 bytes";
    case 8: f->model.name = S("a@b"); return "decision.model.name: contains '@'";
    case 9: f->ov.by = S(""); return "decision.override.by: empty";
    default: return NULL;
    }
}
#define N_DECISION_RULES 10

START_TEST(test_decision_rejects_rule)
{
    decision_fix f;
    decision_fix_init(&f);
    const char *field = decision_break(&f, _i);
    ck_assert_ptr_nonnull(field);
    tu_assert_fail_with(mla_codec_decision_validate(&f.d), MLA_EINVAL, field);
    mla_buf b;
    mla_buf_init(&b, ENC_MAX);
    tu_assert_fail_with(mla_codec_decision_encode(&b, &f.d), MLA_EINVAL, field);
    mla_buf_dispose(&b);
    pack_raw(&b, &f.d.base);
    mla_pb_decision *d = (void *)1;
    tu_assert_fail_with(mla_codec_decision_decode(&d, mla_buf_slice(&b)), MLA_EINVAL, field);
    ck_assert_ptr_null(d);
    mla_buf_dispose(&b);
}
END_TEST

/* ---- helpers ------------------------------------------------------------- */

START_TEST(test_kind_names_parse_both_ways)
{
    for (int i = 0; i < N_KINDS_ALL; i++) {
        const char *n = mla_codec_kind_name(all_kinds[i]);
        mla_kind k = 0;
        tu_assert_ok(mla_codec_kind_parse(&k, mla_slice_cstr(n)));
        ck_assert_int_eq(k, all_kinds[i]);
    }
    ck_assert_str_eq(mla_codec_kind_name(MLAUDIT__V1__KIND__KIND_DECISION_BATCH), "DECISION_BATCH");
    ck_assert_str_eq(mla_codec_kind_name(0), "UNSPECIFIED");
    ck_assert_str_eq(mla_codec_kind_name(16), "UNSPECIFIED");
    ck_assert_str_eq(mla_codec_kind_name(-3), "UNSPECIFIED");
    mla_kind k;
    tu_assert_ok(mla_codec_kind_parse(&k, mla_slice_cstr("decision_batch")));
    ck_assert_int_eq(k, MLAUDIT__V1__KIND__KIND_DECISION_BATCH);
    tu_assert_ok(mla_codec_kind_parse(&k, mla_slice_cstr("Kind_Model")));
    ck_assert_int_eq(k, MLAUDIT__V1__KIND__KIND_MODEL);
    tu_assert_fail_with(mla_codec_kind_parse(&k, mla_slice_cstr("unspecified")), MLA_EINVAL,
                        "kind: unknown kind \"unspecified\"");
    tu_assert_fail_with(mla_codec_kind_parse(&k, mla_slice_cstr("")), MLA_EINVAL, "kind");
    tu_assert_fail_with(mla_codec_kind_parse(&k, mla_slice_cstr("models")), MLA_EINVAL, "kind");
    tu_assert_fail_with(mla_codec_kind_parse(&k, mla_slice_make("mod", 3)), MLA_EINVAL, "kind");
}
END_TEST

START_TEST(test_role_vocabulary)
{
    static const char *known[] = {
        "training-data", "validation-data", "test-data",  "feature-set",     "code",
        "config",        "environment",     "base-model", "evaluated-model", "reference-database",
        "parent-run"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ck_assert(mla_codec_role_known(mla_slice_cstr(known[i])));
    ck_assert(!mla_codec_role_known(mla_slice_cstr("Training-Data")));
    ck_assert(!mla_codec_role_known(mla_slice_cstr("x-custom")));
    ck_assert(!mla_codec_role_known(mla_slice_cstr("")));
    ck_assert(!mla_codec_role_known(mla_slice_make("code", 3)));
}
END_TEST

START_TEST(test_artifact_identity_and_scope)
{
    mla_pb_artifact a;
    artifact_set(&a, "model", "fraud:detector", "1.4@rc1");
    mla_buf b;
    mla_buf_init(&b, 1024);
    tu_assert_ok(mla_buf_append_cstr(&b, ">"));
    tu_assert_ok(mla_codec_artifact_identity(&b, &a));
    ck_assert_uint_eq(b.len, strlen(">model:fraud:detector@1.4@rc1"));
    ck_assert_int_eq(memcmp(b.ptr, ">model:fraud:detector@1.4@rc1", b.len), 0);
    mla_buf_clear(&b);
    tu_assert_ok(mla_codec_artifact_scope(&b, &a));
    ck_assert_int_eq(memcmp(b.ptr, "model:fraud:detector", b.len), 0);
    ck_assert_uint_eq(b.len, 20);
    a.version = S("");
    tu_assert_fail_with(mla_codec_artifact_identity(&b, &a), MLA_EINVAL, "artifact.version: empty");
    ck_assert_uint_eq(b.len, 20);
    tu_assert_ok(mla_codec_artifact_scope(&b, &a)); /* scope needs no version */
    a.type = NULL;
    tu_assert_fail_with(mla_codec_artifact_scope(&b, &a), MLA_EINVAL, "artifact.type: empty");
    tu_assert_fail_with(mla_codec_artifact_identity(&b, NULL), MLA_EINVAL, "artifact: missing");
    mla_buf_dispose(&b);
    /* A full buffer leaves out unchanged. */
    artifact_set(&a, "model", "fraud", "1");
    mla_buf_init(&b, 8);
    ck_assert_int_eq(mla_codec_artifact_identity(&b, &a), MLA_ELIMIT);
    ck_assert_uint_eq(b.len, 0);
    mla_buf_dispose(&b);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *t = tcase_create("envelope");
    tcase_add_test(t, test_envelope_roundtrip);
    tcase_add_loop_test(t, test_envelope_rejects_rule, 0, N_ENVELOPE_RULES);
    tcase_add_test(t, test_envelope_survives_truncation_and_bitflips);
    tcase_add_test(t, test_envelope_decode_alloc_failures_report_enomem);
    tcase_add_test(t, test_envelope_rejects_oversized_input_before_unpacking);
    tcase_add_test(t, test_envelope_rejects_nul_in_keyid);
    tcase_add_test(t, test_envelope_encode_respects_buffer_max);
    suite_add_tcase(s, t);
    t = tcase_create("change");
    tcase_add_loop_test(t, test_change_roundtrip_every_kind, 0, N_KINDS_ALL);
    tcase_add_loop_test(t, test_change_rejects_rule, 0, N_CHANGE_RULES);
    tcase_add_test(t, test_change_accepts_optional_parts_absent);
    tcase_add_test(t, test_change_kind_rules_accept_the_minimum);
    tcase_add_test(t, test_change_survives_truncation_and_bitflips);
    tcase_add_test(t, test_change_decode_alloc_failures_report_enomem);
    tcase_add_test(t, test_change_rejects_oversized_input);
    tcase_add_test(t, test_change_rejects_unknown_fields_at_any_depth);
    tcase_add_test(t, test_change_rejects_malformed_wire);
    tcase_add_test(t, test_change_rejects_nul_inside_strings);
    tcase_add_test(t, test_change_map_duplicate_on_wire_is_refused);
    suite_add_tcase(s, t);
    t = tcase_create("entry");
    tcase_add_test(t, test_entry_roundtrip);
    tcase_add_loop_test(t, test_entry_rejects_rule, 0, N_ENTRY_RULES);
    tcase_add_test(t, test_entry_survives_truncation_and_bitflips);
    tcase_add_test(t, test_entry_decode_alloc_failures_report_enomem);
    tcase_add_test(t, test_entry_rejects_oversized_and_unknown);
    suite_add_tcase(s, t);
    t = tcase_create("decision");
    tcase_add_test(t, test_decision_roundtrip);
    tcase_add_loop_test(t, test_decision_rejects_rule, 0, N_DECISION_RULES);
    suite_add_tcase(s, t);
    t = tcase_create("helpers");
    tcase_add_test(t, test_kind_names_parse_both_ways);
    tcase_add_test(t, test_role_vocabulary);
    tcase_add_test(t, test_artifact_identity_and_scope);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(codec_suite()); }
