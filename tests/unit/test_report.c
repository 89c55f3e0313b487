/* Unit suite for reports/ evidence and verification: a real log on an
 * in-memory store gives entries, proofs and signed checkpoints; the suite
 * checks the evidence set, the offline checks (swapped proofs, edited bytes,
 * a stale checkpoint, unregistered signers, a broken range chain), the JSON
 * form (byte-identical round trip, strict reading naming each malformed
 * member) and `verify` on JSON and HTML reports, tampered and not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/client.h"
#include "log/log.h"
#include "reports/report_int.h"
#include "testutil.h"

/* ---- fixture: a small ledger ------------------------------------------------- */

#define N_ENTRIES 5
#define N_MORE 2 /* fx_more: a DEPLOYMENT naming a serving key, a batch it signed */

typedef struct fx {
    mla_privkey *admin, *writer, *logkey, *stranger;
    mla_pubkey admin_pub;
    mla_store *store;
    mla_log *log;
    int64_t clock_ns;
    mla_buf note, old_note;
    mla_buf entries[N_ENTRIES + N_MORE];
    char *dir;
} fx;

static int64_t fx_clock(void *ctx)
{
    fx *f = ctx;
    f->clock_ns += 1000000000;
    return f->clock_ns;
}

static mla_privkey *key_from_byte(uint8_t b)
{
    uint8_t seed[32];
    mla_privkey *k = NULL;
    memset(seed, b, sizeof seed);
    tu_assert_ok(mla_crypto_key_from_seed(&k, seed));
    return k;
}

static void artifact(mla_pb_artifact *a, const char *type, const char *name, const char *version,
                     uint8_t *digest)
{
    mla_pb_artifact a0 = MLAUDIT__V1__ARTIFACT__INIT;
    *a = a0;
    a->type = (char *)(uintptr_t)type;
    a->name = (char *)(uintptr_t)name;
    a->version = (char *)(uintptr_t)version;
    a->digest.data = digest;
    a->digest.len = 32;
}

static void append(fx *f, const mla_pb_change *c, mla_privkey *signer)
{
    mla_buf env;
    mla_receipt rec;
    const mla_privkey *keys[1] = {signer};
    mla_buf_init(&env, MLA_LIMIT_ENVELOPE_BYTES);
    tu_assert_ok(mla_client_envelope_sign(&env, c, keys, 1));
    tu_assert_ok(mla_log_append(f->log, mla_buf_slice(&env), mla_slice_cstr("unit-test"), &rec));
    mla_buf_dispose(&env);
}

/* 0 KEY (writer), 1 DATASET, 2 MODEL fraud@1, 3 MODEL fraud@2, 4 EVALUATION
 * of fraud@2; the checkpoint of size 4 is kept as the stale one. */
static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    tu_assert_ok(mla_crypto_init());
    f->admin = key_from_byte(1);
    f->writer = key_from_byte(2);
    f->logkey = key_from_byte(3);
    f->stranger = key_from_byte(4);
    f->admin_pub = *mla_crypto_key_public(f->admin);
    f->clock_ns = 1785000000000000000;
    tu_assert_ok(mla_store_open_mem(&f->store));
    mla_log_options o;
    memset(&o, 0, sizeof o);
    o.origin = "test.mlaudit.example/reports";
    o.signing_key = f->logkey;
    o.admin_keys = &f->admin_pub;
    o.n_admin_keys = 1;
    o.clock = fx_clock;
    o.clock_ctx = f;
    tu_assert_ok(mla_log_open(&f->log, f->store, &o));

    uint8_t d1[32], d2[32], d3[32], d4[32];
    memset(d1, 0x11, 32);
    memset(d2, 0x22, 32);
    memset(d3, 0x33, 32);
    memset(d4, 0x44, 32);
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    Mlaudit__V1__KeyChange kc = MLAUDIT__V1__KEY_CHANGE__INIT;
    Mlaudit__V1__Kind allowed[] = {MLAUDIT__V1__KIND__KIND_MODEL,
                                   MLAUDIT__V1__KIND__KIND_EVALUATION};
    c.kind = MLAUDIT__V1__KIND__KIND_KEY;
    c.actor = (char *)(uintptr_t) "admin@example.com";
    c.reason = (char *)(uintptr_t) "the training pipeline's key";
    kc.public_key.data = (uint8_t *)(uintptr_t)mla_crypto_key_public(f->writer)->b;
    kc.public_key.len = 32;
    kc.role = MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER;
    kc.allowed_kinds = allowed;
    kc.n_allowed_kinds = 2;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_KEY;
    c.key = &kc;
    append(f, &c, f->admin);

    mla_pb_change ds = MLAUDIT__V1__CHANGE__INIT;
    mla_pb_artifact data, m1, m2, ev;
    artifact(&data, "dataset", "train", "1", d1);
    ds.kind = MLAUDIT__V1__KIND__KIND_DATASET;
    ds.subject = &data;
    ds.actor = (char *)(uintptr_t) "admin@example.com";
    ds.reason = (char *)(uintptr_t) "snapshot <b>&amp;</b> \"quoted\"";
    append(f, &ds, f->admin);

    mla_pb_input in = MLAUDIT__V1__INPUT__INIT, *inp = &in;
    in.artifact = &data;
    in.role = (char *)(uintptr_t) "training-data";
    mla_pb_change m = MLAUDIT__V1__CHANGE__INIT;
    m.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    m.actor = (char *)(uintptr_t) "alice@example.com";
    m.reason = (char *)(uintptr_t) "first model";
    m.inputs = &inp;
    m.n_inputs = 1;
    artifact(&m1, "model", "fraud", "1", d2);
    m.subject = &m1;
    append(f, &m, f->writer);
    artifact(&m2, "model", "fraud", "2", d3);
    m.subject = &m2;
    m.reason = (char *)(uintptr_t) "retrained";
    append(f, &m, f->writer);
    mla_buf_init(&f->old_note, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_log_checkpoint(f->log, &f->old_note));

    mla_pb_input ein = MLAUDIT__V1__INPUT__INIT, *einp = &ein;
    ein.artifact = &m2;
    ein.role = (char *)(uintptr_t) "evaluated-model";
    mla_pb_change e = MLAUDIT__V1__CHANGE__INIT;
    Mlaudit__V1__Change__MetricsEntry auc = MLAUDIT__V1__CHANGE__METRICS_ENTRY__INIT, *aucp = &auc;
    auc.key = (char *)(uintptr_t) "auc";
    auc.value = 0.91;
    artifact(&ev, "evaluation", "fraud-holdout", "1", d4);
    e.kind = MLAUDIT__V1__KIND__KIND_EVALUATION;
    e.subject = &ev;
    e.inputs = &einp;
    e.n_inputs = 1;
    e.metrics = &aucp;
    e.n_metrics = 1;
    e.actor = (char *)(uintptr_t) "alice@example.com";
    e.reason = (char *)(uintptr_t) "holdout evaluation";
    append(f, &e, f->writer);

    mla_buf_init(&f->note, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_log_checkpoint(f->log, &f->note));
    for (size_t i = 0; i < N_ENTRIES; i++) {
        mla_buf_init(&f->entries[i], MLA_LIMIT_ENTRY_BYTES);
        tu_assert_ok(mla_log_entry(f->log, i, &f->entries[i]));
    }
    f->dir = tu_tmpdir_new();
}

/* 5 DEPLOYMENT of model:fraud@2 on fraud-api naming the stranger's key as
 * its serving key (signed by the admin), 6 a DECISION_BATCH on fraud-api
 * signed by that serving key; f->note becomes the checkpoint of size 7. */
static void fx_more(fx *f)
{
    uint8_t d3[32], in_d[32], out_d[32];
    memset(d3, 0x33, 32);
    memset(in_d, 0x55, 32);
    memset(out_d, 0x66, 32);
    mla_pb_artifact m2;
    artifact(&m2, "model", "fraud", "2", d3);
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    Mlaudit__V1__Deployment dep = MLAUDIT__V1__DEPLOYMENT__INIT;
    dep.target = (char *)(uintptr_t) "fraud-api";
    dep.stage = (char *)(uintptr_t) "production";
    dep.traffic_fraction = 1.0;
    dep.serving_key.data = (uint8_t *)(uintptr_t)mla_crypto_key_public(f->stranger)->b;
    dep.serving_key.len = 32;
    c.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    c.subject = &m2;
    c.actor = (char *)(uintptr_t) "admin@example.com";
    c.reason = (char *)(uintptr_t) "go live";
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
    c.deployment = &dep;
    append(f, &c, f->admin);

    mla_pb_decision d = MLAUDIT__V1__DECISION__INIT;
    d.id = (char *)(uintptr_t) "decision-1";
    d.target = (char *)(uintptr_t) "fraud-api";
    d.time_ns = f->clock_ns;
    d.input_digest.data = in_d;
    d.input_digest.len = 32;
    d.output_digest.data = out_d;
    d.output_digest.len = 32;
    mla_buf dec, env;
    mla_buf_init(&dec, MLA_LIMIT_DECISION_BYTES);
    tu_assert_ok(mla_codec_decision_encode(&dec, &d));
    mla_hash root;
    mla_merkle_leaf_hash(&root, mla_buf_slice(&dec)); /* the root of one leaf */
    mla_pb_change b = MLAUDIT__V1__CHANGE__INIT;
    Mlaudit__V1__DecisionBatch batch = MLAUDIT__V1__DECISION_BATCH__INIT;
    batch.target = (char *)(uintptr_t) "fraud-api";
    batch.first_time_ns = batch.last_time_ns = d.time_ns;
    batch.count = 1;
    batch.root.data = root.b;
    batch.root.len = 32;
    b.kind = MLAUDIT__V1__KIND__KIND_DECISION_BATCH;
    b.actor = (char *)(uintptr_t) "fraud-api";
    b.reason = (char *)(uintptr_t) "decision receipts";
    b.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    b.decision_batch = &batch;
    const mla_privkey *keys[1] = {f->stranger};
    mla_buf_init(&env, MLA_LIMIT_ENVELOPE_BYTES);
    tu_assert_ok(mla_client_envelope_sign(&env, &b, keys, 1));
    mla_slice ds = mla_buf_slice(&dec);
    mla_receipt rec;
    tu_assert_ok(mla_log_append_decisions(f->log, mla_buf_slice(&env), &ds, 1,
                                          mla_slice_cstr("unit-test"), &rec));
    mla_buf_dispose(&env);
    mla_buf_dispose(&dec);
    tu_assert_ok(mla_log_checkpoint(f->log, &f->note));
    for (size_t i = N_ENTRIES; i < N_ENTRIES + N_MORE; i++) {
        mla_buf_init(&f->entries[i], MLA_LIMIT_ENTRY_BYTES);
        tu_assert_ok(mla_log_entry(f->log, i, &f->entries[i]));
    }
}

static void fx_dispose(fx *f)
{
    for (size_t i = 0; i < N_ENTRIES + N_MORE; i++) mla_buf_dispose(&f->entries[i]);
    mla_buf_dispose(&f->note);
    mla_buf_dispose(&f->old_note);
    mla_log_close(f->log);
    mla_store_close(f->store);
    mla_crypto_key_free(f->admin);
    mla_crypto_key_free(f->writer);
    mla_crypto_key_free(f->logkey);
    mla_crypto_key_free(f->stranger);
    tu_rmtree(f->dir);
    free(f->dir);
}

static void proof_of(fx *f, uint64_t seq, uint64_t size, mla_merkle_proof *out)
{
    tu_assert_ok(mla_log_inclusion_proof(f->log, seq, size, out));
}

/* A report (kind lineage, about model:fraud@2) with the given entries as
 * evidence against the latest checkpoint, its model left empty. */
static mla_report *report_new(fx *f, const uint64_t *seqs, size_t n)
{
    mla_report *r;
    tu_assert_ok(mla_report__new(&r, MLA_REPORT_LINEAGE));
    tu_assert_ok(
        mla_report__evidence_checkpoint(r, mla_buf_slice(&f->note), mla_log_verifier(f->log)));
    for (size_t i = 0; i < n; i++) {
        mla_merkle_proof p;
        proof_of(f, seqs[i], r->ev.cp.size, &p);
        tu_assert_ok(mla_report__evidence_add(r, seqs[i], mla_buf_slice(&f->entries[seqs[i]]), &p));
    }
    r->ev.admin_keys[0] = f->admin_pub;
    r->ev.n_admin_keys = 1;
    r->generated_at = mla_report__strdup("2026-11-23T10:00:00Z");
    r->generator = mla_report__strdup("mlaudit " MLA_VERSION);
    tu_assert_ok(mla_report__param_set(r, "identity", "model:fraud@2"));
    tu_assert_ok(mla_report__param_set(r, "depth", "3"));
    return r;
}

static const uint64_t all_seqs[N_ENTRIES] = {4, 0, 3, 1, 2}; /* any order */

/* A hand-made model: statements, a table, a graph (for the JSON tests). */
static void fixture_model(mla_report *r)
{
    mla_report_table *t;
    static const char *const cols[] = {"Metric", "Value"};
    const char *row1[] = {"auc", "0.91"}, *row2[] = {"<script>&", "\"x\" \xc3\xa9"};
    uint64_t s1[] = {4, 4}, s2[] = {MLA_REPORT_NO_SEQ, 3};
    size_t a, b;
    r->title = mla_report__strdup("Lineage of model:fraud@2");
    tu_assert_ok(mla_report__say(r, 3, "model:fraud@2 was recorded"));
    tu_assert_ok(mla_report__say(r, MLA_REPORT_NO_SEQ, "%d entries", 5));
    tu_assert_ok(mla_report__table_add(&t, r, "evaluations", "Evaluations", cols, 2));
    tu_assert_ok(mla_report__table_intro(t, "intro <b>"));
    tu_assert_ok(mla_report__row_add(t, row1, s1));
    tu_assert_ok(mla_report__row_add(t, row2, s2));
    tu_assert_ok(mla_report__node_add(r, "model:fraud@2", "fraud@2", "model", 0, 3, true, &a));
    tu_assert_ok(mla_report__node_add(r, "dataset:train@1", "train@1", "dataset", 1, 1, false, &b));
    tu_assert_ok(mla_report__edge_add(r, b, a, "training-data", 3));
}

/* The JSON form of r, NUL-ended (caller frees). */
static char *json_of(const mla_report *r, bool escape, size_t *len_out)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&mem, &len);
    ck_assert(m != NULL);
    tu_assert_ok(mla_report__json_write(r, m, escape));
    ck_assert_int_eq(fclose(m), 0);
    if (len_out) *len_out = len;
    return mem;
}

static void expect_check(const mla_report *r, const mla_pubkey *admin, mla_status want,
                         const char *field)
{
    mla_report_check_result res;
    tu_assert_fail_with(mla_report__check(&res, r, admin, admin ? 1 : 0), want, field);
}

/* ---- evidence ------------------------------------------------------------------ */

START_TEST(test_report_evidence_keeps_entries_sorted_and_unique)
{
    fx f;
    fx_init(&f);
    mla_report *r = report_new(&f, all_seqs, N_ENTRIES);
    ck_assert_uint_eq(r->ev.n_entries, N_ENTRIES);
    for (size_t i = 0; i < N_ENTRIES; i++) {
        ck_assert_uint_eq(r->ev.entries[i].seq, i);
        const mla_report_entry *e = mla_report__entry(r, i);
        ck_assert_ptr_eq(e, &r->ev.entries[i]);
        ck_assert_ptr_nonnull(e->change);
        mla_hash leaf;
        tu_assert_ok(mla_log_leaf_hash(f.log, i, &leaf));
        ck_assert(mla_hash_eq(&leaf, &e->leaf));
    }
    ck_assert_ptr_null(mla_report__entry(r, N_ENTRIES));
    /* The same bytes again: a no-op; other bytes for a present seq: refused. */
    mla_merkle_proof p;
    proof_of(&f, 2, N_ENTRIES, &p);
    tu_assert_ok(mla_report__evidence_add(r, 2, mla_buf_slice(&f.entries[2]), &p));
    ck_assert_uint_eq(r->ev.n_entries, N_ENTRIES);
    tu_assert_fail_with(mla_report__evidence_add(r, 2, mla_buf_slice(&f.entries[3]), &p),
                        MLA_EINVAL, "entry 2");
    /* Bytes of another seq under this seq: refused naming both. */
    mla_report_free(r);
    uint64_t none[1] = {0};
    r = report_new(&f, none, 0);
    tu_assert_fail_with(mla_report__evidence_add(r, 1, mla_buf_slice(&f.entries[3]), &p),
                        MLA_ECORRUPT, "entry 1: its bytes say seq 3");
    tu_assert_fail_with(mla_report__evidence_add(r, 1, mla_slice_cstr("not an entry"), &p),
                        MLA_ECORRUPT, "entry 1");
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_evidence_checkpoint_needs_the_log_key)
{
    fx f;
    fx_init(&f);
    mla_report *r;
    mla_note_verifier other;
    tu_assert_ok(mla_report__new(&r, MLA_REPORT_LINEAGE));
    tu_assert_ok(mla_note_verifier_init(&other, mla_slice_cstr(mla_log_verifier(f.log)->name),
                                        mla_crypto_key_public(f.stranger)));
    tu_assert_fail_with(mla_report__evidence_checkpoint(r, mla_buf_slice(&f.note), &other),
                        MLA_ECORRUPT, "checkpoint: does not verify");
    tu_assert_ok(
        mla_report__evidence_checkpoint(r, mla_buf_slice(&f.note), mla_log_verifier(f.log)));
    ck_assert_uint_eq(r->ev.cp.size, N_ENTRIES);
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

/* ---- checks ---------------------------------------------------------------------- */

START_TEST(test_report_check_passes_real_evidence)
{
    fx f;
    fx_init(&f);
    mla_report *r = report_new(&f, all_seqs, N_ENTRIES);
    mla_report_check_result res;
    tu_assert_ok(mla_report__check(&res, r, &f.admin_pub, 1));
    ck_assert_uint_eq(res.n_entries, N_ENTRIES);
    ck_assert_uint_eq(res.n_signatures, N_ENTRIES);
    ck_assert(res.signatures_checked);
    /* Without a trust root the proofs are still checked, signatures not. */
    tu_assert_ok(mla_report__check(&res, r, NULL, 0));
    ck_assert(!res.signatures_checked);
    ck_assert_uint_eq(res.n_signatures, 0);
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_check_rejects_swapped_proof)
{
    fx f;
    fx_init(&f);
    mla_report *r = report_new(&f, all_seqs, N_ENTRIES);
    mla_merkle_proof p = r->ev.entries[1].proof;
    r->ev.entries[1].proof = r->ev.entries[2].proof;
    r->ev.entries[2].proof = p;
    expect_check(r, &f.admin_pub, MLA_ECORRUPT,
                 "entry 1: inclusion proof does not lead to the root of checkpoint size 5");
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_check_rejects_edited_entry)
{
    fx f;
    fx_init(&f);
    /* One byte of entry 3's reason text changed: it still decodes. */
    mla_buf *b = &f.entries[3];
    uint8_t *at = memmem(b->ptr, b->len, "retrained", 9);
    ck_assert_ptr_nonnull(at);
    at[0] = 'R';
    mla_report *r = report_new(&f, all_seqs, N_ENTRIES);
    expect_check(r, &f.admin_pub, MLA_ECORRUPT, "entry 3: inclusion proof does not lead");
    /* Edited after it was added: its bytes no longer hash to its leaf. */
    mla_report_free(r);
    at[0] = 'r';
    r = report_new(&f, all_seqs, N_ENTRIES);
    r->ev.entries[3].bytes.ptr[r->ev.entries[3].bytes.len - 1] ^= 1;
    expect_check(r, &f.admin_pub, MLA_ECORRUPT, "entry 3: its bytes do not hash to its leaf");
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_check_rejects_stale_checkpoint)
{
    fx f;
    fx_init(&f);
    mla_report *r = report_new(&f, all_seqs, N_ENTRIES);
    /* The older checkpoint (size 4) against proofs in size 5. */
    tu_assert_ok(
        mla_report__evidence_checkpoint(r, mla_buf_slice(&f.old_note), mla_log_verifier(f.log)));
    expect_check(r, &f.admin_pub, MLA_ECORRUPT,
                 "entry 0: inclusion proof does not lead to the root of checkpoint size 4");
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_check_names_unregistered_signer)
{
    fx f;
    fx_init(&f);
    /* Without the KEY entry that registered it, the writer is unknown. */
    static const uint64_t no_key[] = {1, 2, 3, 4};
    mla_report *r = report_new(&f, no_key, 4);
    char keyid[MLA_KEYID_HEX_LEN + 1], want[160];
    mla_crypto_keyid(keyid, mla_crypto_key_public(f.writer));
    snprintf(want, sizeof want, "entry 2: signature by keyid %s: no registered key", keyid);
    expect_check(r, &f.admin_pub, MLA_EDENIED, want);
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, "embeds 0 KEY entries"));
    /* Another trust root: entry 0 (signed by the real admin) fails first. */
    mla_report_free(r);
    r = report_new(&f, all_seqs, N_ENTRIES);
    const mla_pubkey *stranger = mla_crypto_key_public(f.stranger);
    mla_crypto_keyid(keyid, &f.admin_pub);
    snprintf(want, sizeof want, "entry 0: signature by keyid %s: no registered key", keyid);
    expect_check(r, stranger, MLA_EDENIED, want);
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

/* ---- the range --------------------------------------------------------------------- */

static void range_fill(fx *f, mla_report *r, uint64_t first, uint64_t last)
{
    tu_assert_ok(mla_report__range_open(r, f->dir));
    for (uint64_t s = first; s <= last; s++)
        tu_assert_ok(mla_report__range_append(r, mla_buf_slice(&f->entries[s])));
    r->ev.has_range = true;
    r->ev.range_first = first;
    r->ev.range_last = last;
    proof_of(f, last, r->ev.cp.size, &r->ev.range_proof);
}

typedef struct seen {
    uint64_t seqs[N_ENTRIES + 1];
    size_t n, changes;
} seen;

static mla_status see(void *ctx, uint64_t seq, mla_slice bytes, const mla_pb_entry *e,
                      const mla_pb_change *c)
{
    seen *s = ctx;
    ck_assert_uint_lt(s->n, N_ENTRIES + 1);
    ck_assert_uint_eq(e->seq, seq);
    ck_assert_uint_gt(bytes.len, 0);
    s->seqs[s->n++] = seq;
    if (c) s->changes++;
    return MLA_OK;
}

START_TEST(test_report_range_spool_round_trip)
{
    fx f;
    fx_init(&f);
    static const uint64_t keys[] = {0};
    mla_report *r = report_new(&f, keys, 1);
    range_fill(&f, r, 1, 4);
    seen s = {{0}, 0, 0};
    /* Twice: each pass reads from the start and leaves the spool appendable. */
    for (int pass = 0; pass < 2; pass++) {
        memset(&s, 0, sizeof s);
        tu_assert_ok(mla_report__range_each(r, see, &s));
        ck_assert_uint_eq(s.n, 4);
        ck_assert_uint_eq(s.changes, 4);
        for (size_t i = 0; i < 4; i++) ck_assert_uint_eq(s.seqs[i], i + 1);
    }
    mla_report_check_result res;
    tu_assert_ok(mla_report__check(&res, r, &f.admin_pub, 1));
    ck_assert_uint_eq(res.n_entries, 5);
    ck_assert_uint_eq(res.n_signatures, 5);
    /* The whole log as a range: its Merkle root is the checkpoint's. */
    mla_report_free(r);
    r = report_new(&f, keys, 1);
    range_fill(&f, r, 0, N_ENTRIES - 1);
    tu_assert_ok(mla_report__check(&res, r, &f.admin_pub, 1));
    ck_assert_uint_eq(res.n_signatures, 6);
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

/* A decision batch signed by the serving key a DEPLOYMENT named: valid in
 * a range holding that deployment, and as cited entries; without the
 * deployment in evidence its signer is unknown. */
START_TEST(test_report_range_accepts_serving_key_batches)
{
    fx f;
    fx_init(&f);
    fx_more(&f);
    static const uint64_t keys[] = {0};
    mla_report *r = report_new(&f, keys, 1);
    range_fill(&f, r, 1, N_ENTRIES + N_MORE - 1);
    mla_report_check_result res;
    tu_assert_ok(mla_report__check(&res, r, &f.admin_pub, 1));
    ck_assert_uint_eq(res.n_entries, N_ENTRIES + N_MORE);
    ck_assert_uint_eq(res.n_signatures, N_ENTRIES + N_MORE);
    mla_report_free(r);
    static const uint64_t cited[] = {0, 5, 6};
    r = report_new(&f, cited, 3);
    tu_assert_ok(mla_report__check(&res, r, &f.admin_pub, 1));
    mla_report_free(r);
    static const uint64_t no_deployment[] = {0, 6};
    r = report_new(&f, no_deployment, 2);
    char keyid[MLA_KEYID_HEX_LEN + 1], want[160];
    mla_crypto_keyid(keyid, mla_crypto_key_public(f.stranger));
    snprintf(want, sizeof want, "entry 6: signature by keyid %s: no registered key", keyid);
    expect_check(r, &f.admin_pub, MLA_EDENIED, want);
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, "a serving key a DEPLOYMENT"));
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_range_detects_chain_break)
{
    fx f;
    fx_init(&f);
    static const uint64_t keys[] = {0};
    /* Entry 2's submitter (outside the signed envelope) edited inside the
     * range: its signature holds, but entry 3's prev_hash no longer names it. */
    uint8_t *at = memmem(f.entries[2].ptr, f.entries[2].len, "unit-test", 9);
    ck_assert_ptr_nonnull(at);
    at[0] = 'U';
    mla_report *r = report_new(&f, keys, 1);
    range_fill(&f, r, 1, 4);
    expect_check(r, &f.admin_pub, MLA_ECORRUPT,
                 "entry 3: prev_hash is not the leaf hash of entry 2");
    mla_report_free(r);
    /* An entry left out: the next one sits in its slot. */
    at[0] = 'u';
    r = report_new(&f, keys, 1);
    tu_assert_ok(mla_report__range_open(r, f.dir));
    tu_assert_ok(mla_report__range_append(r, mla_buf_slice(&f.entries[1])));
    tu_assert_ok(mla_report__range_append(r, mla_buf_slice(&f.entries[3])));
    r->ev.has_range = true;
    r->ev.range_first = 1;
    r->ev.range_last = 2;
    proof_of(&f, 2, N_ENTRIES, &r->ev.range_proof);
    expect_check(r, &f.admin_pub, MLA_ECORRUPT, "entry 2: its bytes say seq 3");
    mla_report_free(r);
    /* The last entry's proof swapped for another's. */
    r = report_new(&f, keys, 1);
    range_fill(&f, r, 1, 3);
    proof_of(&f, 2, N_ENTRIES, &r->ev.range_proof);
    expect_check(r, &f.admin_pub, MLA_ECORRUPT, "entry 3: inclusion proof of the range's last");
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

/* ---- the JSON form ------------------------------------------------------------------ */

START_TEST(test_report_json_round_trip_is_byte_identical)
{
    fx f;
    fx_init(&f);
    static const uint64_t cited[] = {0, 1, 3};
    mla_report *r = report_new(&f, cited, 3);
    fixture_model(r);
    range_fill(&f, r, 2, 4);
    size_t len1, len2;
    char *j1 = json_of(r, false, &len1);
    mla_report *back;
    void *stated;
    tu_assert_ok(mla_report__json_read(&back, &stated, mla_slice_make(j1, len1), NULL, f.dir));
    ck_assert_ptr_nonnull(stated);
    ck_assert_int_eq(back->kind, MLA_REPORT_LINEAGE);
    ck_assert_uint_eq(back->ev.n_entries, 3);
    ck_assert(back->ev.has_range);
    ck_assert_uint_eq(back->ev.range_first, 2);
    ck_assert_str_eq(mla_report__param(back, "identity"), "model:fraud@2");
    mla_report_check_result res;
    tu_assert_ok(mla_report__check(&res, back, back->ev.admin_keys, back->ev.n_admin_keys));
    ck_assert_uint_eq(res.n_entries, 6);
    /* The model part, read back into a report, writes the same bytes. */
    void *m;
    tu_assert_ok(mla_report__model_json(&m, r));
    ck_assert(json_equal(json_object_get(stated, "tables"), json_object_get(m, "tables")));
    json_decref(m);
    fixture_model(back);
    char *j2 = json_of(back, false, &len2);
    ck_assert_uint_eq(len1, len2);
    ck_assert(memcmp(j1, j2, len1) == 0);
    /* One line per evidence entry; the model indented. */
    ck_assert_ptr_nonnull(strstr(j1, "\n   {\"seq\": 0, \"leaf_hash\": \""));
    ck_assert_ptr_nonnull(strstr(j1, "\n \"tables\": [\n  {\n   \"id\": \"evaluations\""));
    json_decref(stated);
    mla_report_free(back);
    free(j2);
    /* For HTML, markup is written as \uXXXX and still reads back the same. */
    char *j3 = json_of(r, true, &len2);
    ck_assert_ptr_null(strpbrk(j3, "<>&"));
    ck_assert_ptr_nonnull(strstr(j3, "\\u003cscript\\u003e\\u0026"));
    tu_assert_ok(mla_report__json_read(&back, &stated, mla_slice_make(j3, len2), NULL, f.dir));
    fixture_model(back);
    j2 = json_of(back, false, &len2);
    ck_assert(len1 == len2 && memcmp(j1, j2, len1) == 0);
    json_decref(stated);
    mla_report_free(back);
    free(j1);
    free(j2);
    free(j3);
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

/* One malformed document: a change to the valid one, and what the reader
 * must say. */
typedef struct bad_doc {
    const char *path; /* members and [index]es separated by '/' */
    const char *value; /* JSON text; NULL = delete the member */
    mla_status want;
    const char *field;
} bad_doc;

static const bad_doc bad_docs[] = {
    {"kind", NULL, MLA_EINVAL, "kind: missing"},
    {"kind", "\"ledger\"", MLA_EINVAL, "kind: 'ledger'"},
    {"mlaudit_report", "2", MLA_EINVAL, "mlaudit_report: format 2"},
    {"title", "7", MLA_EINVAL, "title: not a string"},
    {"generated_at", "\"yesterday\"", MLA_EINVAL, "generated_at"},
    {"colour", "\"red\"", MLA_EINVAL, "colour: not a member"},
    {"params/identity", "3", MLA_EINVAL, "params.identity: not a string"},
    {"summary/0/seq", "-1", MLA_EINVAL, "summary[0].seq: not a non-negative integer"},
    {"summary/1/text", NULL, MLA_EINVAL, "summary[1].text: missing"},
    {"tables/0/id", "\"Evaluations!\"", MLA_EINVAL, "tables[0].id: want [a-z0-9-]+"},
    {"tables/0/rows/0", "[{\"text\": \"x\"}]", MLA_EINVAL, "tables[0].rows[0]: want an array of 2"},
    {"tables/0/rows/1/1/seq", "\"3\"", MLA_EINVAL, "tables[0].rows[1][1].seq"},
    {"graph/edges/0/from", "9", MLA_EINVAL, "graph.edges[0].from: no such node"},
    {"graph/nodes/1/focus", "1", MLA_EINVAL, "graph.nodes[1].focus: not true or false"},
    {"log/verifier_key", "\"nobody\"", MLA_EINVAL, "log.verifier_key"},
    {"log/root", "\"00\"", MLA_EINVAL, "log.root: not 64 hex digits"},
    {"log/admin_keys/0", "\"xyz\"", MLA_EINVAL, "log.admin_keys[0]: not 64 hex digits"},
    {"log/tree_size", "4", MLA_ECORRUPT, "log.tree_size: the report says 4"},
    {"log/checkpoint", "\"forged\\n\"", MLA_ECORRUPT, "checkpoint: does not verify"},
    {"evidence/entries/1/inclusion/0", "\"zz\"", MLA_EINVAL,
     "evidence.entries[1].inclusion[0]: not 64 hex digits"},
    {"evidence/entries/1/inclusion", "{}", MLA_EINVAL, "evidence.entries[1].inclusion: want an"},
    {"evidence/entries/0/entry", "\"!!!!\"", MLA_EINVAL, "evidence.entries[0].entry"},
    {"evidence/entries/0/leaf_hash",
     "\"0000000000000000000000000000000000000000000000000000000000000000\"", MLA_ECORRUPT,
     "evidence.entries[0]: entry 0: leaf_hash is not the hash"},
    {"evidence/entries/1/seq", "0", MLA_EINVAL, "evidence.entries[1].seq: 0 after 0"},
    {"evidence/entries/0/seq", "1", MLA_ECORRUPT, "entry 1: its bytes say seq 0"},
    {"evidence/range/entries/0", NULL, MLA_EINVAL, "evidence.range.entries: 2 entries for [2, 4]"},
    {"evidence/range/first", "5", MLA_EINVAL, "evidence.range: first 5 is after last 4"},
    {"evidence/resolution", "\"AAAA\"", MLA_EINVAL, "evidence.resolution"},
    {"evidence/extra", "[]", MLA_EINVAL, "evidence.extra: not a member"},
};

/* Walk to the parent of path's last step in doc; the last step into *last. */
static json_t *walk(json_t *doc, const char *path, char *last, size_t cap)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = doc;
    char *save = NULL, *step = strtok_r(buf, "/", &save);
    for (;;) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) break;
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)strtoul(step, NULL, 10))
                                 : json_object_get(cur, step);
        ck_assert_msg(cur != NULL, "%s: no such member in the fixture", path);
        step = next;
    }
    snprintf(last, cap, "%s", step);
    return cur;
}

START_TEST(test_report_json_read_names_malformed_members)
{
    fx f;
    fx_init(&f);
    static const uint64_t cited[] = {0, 1, 3};
    mla_report *r = report_new(&f, cited, 3);
    fixture_model(r);
    range_fill(&f, r, 2, 4);
    size_t len;
    char *good = json_of(r, false, &len);
    mla_report *back;
    void *stated;
    for (size_t i = 0; i < sizeof bad_docs / sizeof *bad_docs; i++) {
        const bad_doc *b = &bad_docs[i];
        json_error_t err;
        json_t *doc = json_loadb(good, len, 0, &err);
        char last[64];
        ck_assert_ptr_nonnull(doc);
        json_t *parent = walk(doc, b->path, last, sizeof last);
        json_t *v = b->value ? json_loads(b->value, JSON_DECODE_ANY, &err) : NULL;
        if (json_is_array(parent)) {
            size_t ix = (size_t)strtoul(last, NULL, 10);
            ck_assert_int_eq(v ? json_array_set_new(parent, ix, v) : json_array_remove(parent, ix),
                             0);
        } else {
            ck_assert_int_eq(
                v ? json_object_set_new(parent, last, v) : json_object_del(parent, last), 0);
        }
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER);
        mla_status rc = mla_report__json_read(&back, &stated, mla_slice_cstr(text), NULL, f.dir);
        ck_assert_msg(rc == b->want && strstr(mla_error_last()->msg, b->field),
                      "%s: status %s (%s), want %s naming \"%s\"", b->path, mla_status_name(rc),
                      mla_error_last()->msg, mla_status_name(b->want), b->field);
        ck_assert_ptr_null(back);
        ck_assert_ptr_null(stated);
        free(text);
        json_decref(doc);
    }
    tu_assert_fail_with(
        mla_report__json_read(&back, &stated, mla_slice_cstr("{\"kind\": "), NULL, f.dir),
        MLA_EINVAL, "report: not JSON");
    tu_assert_fail_with(mla_report__json_read(&back, &stated, mla_slice_cstr("[1]"), NULL, f.dir),
                        MLA_EINVAL, "report: not a JSON object");
    tu_assert_fail_with(
        mla_report__json_read(&back, &stated, mla_slice_cstr("{\"a\": 1, \"a\": 2}"), NULL, f.dir),
        MLA_EINVAL, "report: not JSON");
    /* A pinned log key other than the one that signed the checkpoint. */
    mla_note_verifier other;
    tu_assert_ok(mla_note_verifier_init(&other, mla_slice_cstr(mla_log_verifier(f.log)->name),
                                        mla_crypto_key_public(f.stranger)));
    tu_assert_fail_with(
        mla_report__json_read(&back, &stated, mla_slice_make(good, len), &other, f.dir),
        MLA_ECORRUPT, "checkpoint: does not verify");
    free(good);
    mla_report_free(r);
    fx_dispose(&f);
}
END_TEST

/* ---- verify ------------------------------------------------------------------------------ */

/* A real lineage report of model:fraud@2 from all the entries, built by the
 * lineage builder, written in format fmt to dir/name; returns the path. */
static char *report_file(fx *f, mla_report_format fmt, const char *name)
{
    mla_report *r = report_new(f, all_seqs, N_ENTRIES);
    tu_assert_ok(mla_report__build(r));
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/%s", f->dir, name), 0);
    FILE *out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    tu_assert_ok(mla_report_render(r, fmt, out, NULL));
    ck_assert_int_eq(fclose(out), 0);
    mla_report_free(r);
    return path;
}

/* Replace the first occurrence of from (after the first `after`, if given)
 * in the file with to (same length or not). */
static void file_replace(const char *path, const char *after, const char *from, const char *to)
{
    mla_buf b;
    tu_read_file(&b, path);
    uint8_t *start = b.ptr;
    if (after) {
        start = memmem(b.ptr, b.len, after, strlen(after));
        ck_assert_msg(start != NULL, "%s: no '%s'", path, after);
    }
    uint8_t *at = memmem(start, b.len - (size_t)(start - b.ptr), from, strlen(from));
    ck_assert_msg(at != NULL, "%s: no '%s'", path, from);
    FILE *out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    fwrite(b.ptr, 1, (size_t)(at - b.ptr), out);
    fputs(to, out);
    size_t skip = (size_t)(at - b.ptr) + strlen(from);
    fwrite(b.ptr + skip, 1, b.len - skip, out);
    ck_assert_int_eq(fclose(out), 0);
    mla_buf_dispose(&b);
}

START_TEST(test_report_verify_accepts_untampered_json_and_html)
{
    fx f;
    fx_init(&f);
    const char *names[] = {"r.json", "r.html"};
    mla_report_format fmts[] = {MLA_REPORT_JSON, MLA_REPORT_HTML};
    for (size_t i = 0; i < 2; i++) {
        char *path = report_file(&f, fmts[i], names[i]);
        mla_report_verdict v;
        tu_assert_ok(mla_report_verify_file(&v, path, NULL));
        ck_assert_msg(v.ok, "%s: %s", names[i], v.problem);
        ck_assert_int_eq(v.kind, MLA_REPORT_LINEAGE);
        ck_assert_uint_eq(v.tree_size, N_ENTRIES);
        ck_assert_uint_eq(v.n_entries, N_ENTRIES);
        ck_assert_uint_eq(v.n_signatures, N_ENTRIES);
        ck_assert_uint_gt(v.n_facts, 0);
        ck_assert(v.log_key_from_report && v.admin_keys_from_report && v.signatures_checked);
        ck_assert_ptr_nonnull(strstr(v.log_key, mla_log_verifier(f.log)->name));
        /* Pinned keys: the log's and the admin's. */
        mla_report_verify_opts o = {mla_log_verifier(f.log), &f.admin_pub, 1};
        tu_assert_ok(mla_report_verify_file(&v, path, &o));
        ck_assert_msg(v.ok, "%s pinned: %s", names[i], v.problem);
        ck_assert(!v.log_key_from_report && !v.admin_keys_from_report);
        /* A pinned trust root the report's signers do not descend from. */
        o.admin_keys = mla_crypto_key_public(f.stranger);
        tu_assert_ok(mla_report_verify_file(&v, path, &o));
        ck_assert(!v.ok);
        ck_assert_ptr_nonnull(strstr(v.problem, "entry 0: signature by keyid"));
        free(path);
    }
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_verify_names_tampered_fact)
{
    fx f;
    fx_init(&f);
    char *path = report_file(&f, MLA_REPORT_JSON, "t.json");
    mla_report_verdict v;
    /* The model's summary says otherwise: the first statement is named. */
    file_replace(path, "\"summary\"", "was recorded as MODEL", "was recorded as DATASET");
    tu_assert_ok(mla_report_verify_file(&v, path, NULL));
    ck_assert(!v.ok);
    ck_assert_msg(strstr(v.problem, "statement 1 (entry 3): the report says '") != NULL, "%s",
                  v.problem);
    ck_assert_ptr_nonnull(strstr(v.problem, "the evidence gives '"));
    free(path);
    /* A cell citing an entry the report does not embed. */
    path = report_file(&f, MLA_REPORT_JSON, "t2.json");
    file_replace(path, "\"tables\"", "\"seq\": 3", "\"seq\": 77");
    tu_assert_ok(mla_report_verify_file(&v, path, NULL));
    ck_assert(!v.ok);
    ck_assert_msg(strstr(v.problem, "cites entry 77, which the report does not embed") != NULL,
                  "%s", v.problem);
    ck_assert_ptr_nonnull(strstr(v.problem, "table '"));
    free(path);
    /* An entry removed from the evidence: the subject's checks or the
     * facts citing it fail. */
    path = report_file(&f, MLA_REPORT_JSON, "t3.json");
    file_replace(path, "\"evidence\"", "{\"seq\": 4,", "{\"seq\": 5,");
    tu_assert_ok(mla_report_verify_file(&v, path, NULL));
    ck_assert(!v.ok);
    ck_assert_msg(strstr(v.problem, "entry 5") != NULL, "%s", v.problem);
    free(path);
    /* Not a report at all. */
    path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/plain.txt", f.dir), 0);
    FILE *o = fopen(path, "w");
    fputs("hello\n", o);
    fclose(o);
    tu_assert_fail_with(mla_report_verify_file(&v, path, NULL), MLA_EINVAL,
                        "not an mlaudit report (JSON or HTML)");
    free(path);
    fx_dispose(&f);
}
END_TEST

START_TEST(test_report_verify_names_tampered_page)
{
    fx f;
    fx_init(&f);
    mla_report_verdict v;
    /* A fact edited in the page's table (not in the embedded JSON). */
    char *path = report_file(&f, MLA_REPORT_HTML, "p.html");
    file_replace(path, "<a class=\"fact\" id=\"f-", "\">", "\">X");
    tu_assert_ok(mla_report_verify_file(&v, path, NULL));
    ck_assert(!v.ok);
    ck_assert_msg(strstr(v.problem, "the page differs from its evidence at fact f-") != NULL, "%s",
                  v.problem);
    free(path);
    /* A statement edited. */
    path = report_file(&f, MLA_REPORT_HTML, "s.html");
    file_replace(path, "<p id=\"s-0\">", "model:fraud@2", "model:fraud@9");
    tu_assert_ok(mla_report_verify_file(&v, path, NULL));
    ck_assert(!v.ok);
    ck_assert_msg(strstr(v.problem, "at statement s-0") != NULL, "%s", v.problem);
    free(path);
    /* The picture shows a node the graph does not have. */
    path = report_file(&f, MLA_REPORT_HTML, "g.html");
    file_replace(path, "<!--mlaudit:svg-->", "train@1</text>", "evil@1</text>");
    tu_assert_ok(mla_report_verify_file(&v, path, NULL));
    ck_assert(!v.ok);
    ck_assert_msg(strstr(v.problem, "the graph picture shows 'evil@1'") != NULL, "%s", v.problem);
    free(path);
    /* The embedded JSON edited: the model comparison names it. */
    path = report_file(&f, MLA_REPORT_HTML, "j.html");
    file_replace(path, "id=\"mlaudit-report\"", "\"title\": \"", "\"title\": \"Not ");
    tu_assert_ok(mla_report_verify_file(&v, path, NULL));
    ck_assert(!v.ok);
    ck_assert_msg(strstr(v.problem, "title: the report says 'Not ") != NULL, "%s", v.problem);
    free(path);
    fx_dispose(&f);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *t = tcase_create("evidence");
    tcase_add_test(t, test_report_evidence_keeps_entries_sorted_and_unique);
    tcase_add_test(t, test_report_evidence_checkpoint_needs_the_log_key);
    suite_add_tcase(s, t);

    t = tcase_create("check");
    tcase_add_test(t, test_report_check_passes_real_evidence);
    tcase_add_test(t, test_report_check_rejects_swapped_proof);
    tcase_add_test(t, test_report_check_rejects_edited_entry);
    tcase_add_test(t, test_report_check_rejects_stale_checkpoint);
    tcase_add_test(t, test_report_check_names_unregistered_signer);
    suite_add_tcase(s, t);

    t = tcase_create("range");
    tcase_add_test(t, test_report_range_spool_round_trip);
    tcase_add_test(t, test_report_range_accepts_serving_key_batches);
    tcase_add_test(t, test_report_range_detects_chain_break);
    suite_add_tcase(s, t);

    t = tcase_create("json");
    tcase_add_test(t, test_report_json_round_trip_is_byte_identical);
    tcase_add_test(t, test_report_json_read_names_malformed_members);
    suite_add_tcase(s, t);

    t = tcase_create("verify");
    tcase_add_test(t, test_report_verify_accepts_untampered_json_and_html);
    tcase_add_test(t, test_report_verify_names_tampered_fact);
    tcase_add_test(t, test_report_verify_names_tampered_page);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(report_suite()); }
