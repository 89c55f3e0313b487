/* report_decision: the decision report (SPEC §3, §7) — which model made
 * decision D, or what served target X at time T: the decision's fields, the
 * models serving, the proof chain in plain words, the target's timeline,
 * what the receipt proves and what it does not, and the model's lineage.
 * Gather is online; build reads only params and evidence (report_int.h). */
#include <stdio.h>
#include <string.h>

#include "reports/report_int.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k
/* How far upstream the report follows the serving model. */
#define UPSTREAM_DEPTH 8
/* Most models a target serves at once (MLA_INDEX_SERVING_MAX). */
#define SERVING_MAX 16
/* "type:name@version" of three names. */
#define IDENTITY_MAX (3 * MLA_LIMIT_NAME + 3)
/* Timeline seqs a proof step names one by one before it elides. */
#define CHAIN_SHOWN 12
/* Room for a sentence built from a few ledger strings and hashes. */
#define TEXT_MAX (4 * MLA_LIMIT_REASON)

/* What both gather and build read off the resolution and the evidence. */
typedef struct facts {
    const mla_client_resolution *res;
    mla_pb_decision *decision; /* owned; NULL for a lookup by target and time */
    const mla_report_entry *batch; /* its DECISION_BATCH entry in evidence */
    const char *target; /* borrowed from params or the decision */
    int64_t at_ns;
    char at[MLA_REPORT_TIME_LEN];
    char claim[IDENTITY_MAX]; /* the model the serving process named, or "" */
    char batch_model[IDENTITY_MAX]; /* the model the batch names, or "" */
    size_t covered[SERVING_MAX]; /* indexes into res->serving, in its order */
    size_t n_covered;
} facts;

static void facts_dispose(facts *f) { mla_codec_decision_free(f->decision); }

static mla_status identity_into(char out[IDENTITY_MAX], const mla_pb_artifact *a, mla_buf *tmp)
{
    out[0] = '\0';
    if (!a || !a->type[0]) return MLA_OK;
    MLA_TRY(mla_report__identity(tmp, a));
    if (tmp->len >= IDENTITY_MAX) return mla_err(MLA_EINVAL, "artifact: identity too long");
    memcpy(out, tmp->ptr, tmp->len + 1);
    return MLA_OK;
}

static long serving_index(const mla_client_resolution *res, const char *model)
{
    for (size_t i = 0; model[0] && i < res->n_serving; i++)
        if (strcmp(res->serving[i].model, model) == 0) return (long)i;
    return -1;
}

/* The models whose lineage the report covers: the one the decision names
 * (the serving process's claim, else its batch's) when it was serving;
 * otherwise every model serving (a traffic split, or a claim the timeline
 * does not bear out). */
static void covered_pick(facts *f)
{
    long k = serving_index(f->res, f->claim);
    if (k < 0) k = serving_index(f->res, f->batch_model);
    f->n_covered = 0;
    if (k >= 0) {
        f->covered[f->n_covered++] = (size_t)k;
        return;
    }
    for (size_t i = 0; i < f->res->n_serving && i < SERVING_MAX; i++)
        f->covered[f->n_covered++] = i;
}

/* The time of timeline entry i: from evidence when cited there, else from
 * the resolution's own (verified) bytes. */
static mla_status chain_time(int64_t *out, const mla_report *r, size_t i)
{
    const mla_client_entry *ce = &r->ev.resolution.deployment_entries[i];
    const mla_report_entry *e = mla_report__entry(r, ce->seq);
    if (e && e->entry) {
        *out = e->entry->ledger_time_ns;
        return MLA_OK;
    }
    mla_pb_entry *d;
    MLA_TRY(mla_codec_entry_decode(&d, mla_buf_slice(&ce->entry)));
    *out = d->ledger_time_ns;
    mla_codec_entry_free(d);
    return MLA_OK;
}

/* The serving set must be the timeline's state at the time asked
 * (mla_client_resolution_verify_at replays the chain to it; the
 * resolution's own check binds it to a decision's time only), and each
 * timeline entry at or before that time is in evidence, on the target. */
static mla_status timeline_check(const mla_report *r, const facts *f)
{
    const mla_client_resolution *res = f->res;
    for (size_t i = 0; i < res->n_deployment_entries; i++) {
        uint64_t seq = res->deployment_entries[i].seq;
        int64_t t;
        MLA_TRY(chain_time(&t, r, i));
        if (t > f->at_ns) continue;
        const mla_report_entry *e = mla_report__entry(r, seq);
        if (!e || !e->change)
            return mla_err(MLA_ECORRUPT,
                           "timeline entry %llu (at or before %s) is not in the evidence",
                           (unsigned long long)seq, f->at);
        const char *t_on = mla_codec_change_target(e->change);
        if (!t_on || strcmp(t_on, f->target) != 0)
            return mla_err(MLA_ECORRUPT, "timeline entry %llu is not about target %s",
                           (unsigned long long)seq, f->target);
    }
    return mla_client_resolution_verify_at(res, &r->ev.log_key, f->target, f->at_ns);
}

/* Read params and evidence into f, checking that they agree. */
static mla_status facts_load(facts *f, const mla_report *r)
{
    const char *id = mla_report__param(r, "decision_id");
    const char *target = mla_report__param(r, "target");
    const char *at = mla_report__param(r, "at");
    const mla_client_resolution *res = &r->ev.resolution;
    mla_buf tmp;
    mla_status rc = MLA_OK;
    memset(f, 0, sizeof *f);
    f->res = res;
    if (!r->ev.has_resolution)
        return mla_err(MLA_ECORRUPT, "evidence.resolution: missing (a decision report carries "
                                     "one)");
    if (res->n_serving > SERVING_MAX)
        return mla_err(MLA_ECORRUPT, "resolution.serving: %zu models exceeds limit %d",
                       res->n_serving, SERVING_MAX);
    mla_buf_init(&tmp, IDENTITY_MAX);
    if (id) {
        if (!res->has_decision) {
            rc = mla_err(MLA_ECORRUPT, "evidence.resolution: holds no decision for %s", id);
            goto out;
        }
        if ((rc = mla_codec_decision_decode(&f->decision, mla_buf_slice(&res->decision))) != MLA_OK)
            goto out;
        if (strcmp(f->decision->id, id) != 0 || (target && strcmp(f->decision->target, target))) {
            rc = mla_err(MLA_ECORRUPT, "evidence.resolution: proves decision %s on %s, not %s",
                         f->decision->id, f->decision->target, id);
            goto out;
        }
        f->target = f->decision->target;
        f->at_ns = f->decision->time_ns;
        const mla_client_entry *b = &res->batch_entry;
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, mla_buf_slice(&b->entry));
        f->batch = mla_report__entry(r, b->seq);
        if (!f->batch || !mla_hash_eq(&f->batch->leaf, &leaf) || !f->batch->change ||
            f->batch->change->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH) {
            rc = mla_err(MLA_ECORRUPT,
                         "the DECISION_BATCH entry %llu of decision %s is not in "
                         "the evidence",
                         (unsigned long long)b->seq, id);
            goto out;
        }
        if ((rc = identity_into(f->claim, f->decision->model, &tmp)) != MLA_OK ||
            (rc = identity_into(f->batch_model, f->batch->change->decision_batch->model, &tmp)) !=
                MLA_OK)
            goto out;
    } else {
        if (!target || !at) {
            rc = mla_err(MLA_EINVAL, "params: want decision_id, or target and at");
            goto out;
        }
        if (res->has_decision) {
            rc = mla_err(MLA_ECORRUPT,
                         "evidence.resolution: holds a decision; the report asks "
                         "what served %s",
                         target);
            goto out;
        }
        if ((rc = mla_report__time_parse(&f->at_ns, at, "params.at")) != MLA_OK) goto out;
        f->target = target;
    }
    mla_report__time(f->at, f->at_ns);
    for (size_t i = 0; i < res->n_serving; i++)
        if (!mla_report__entry(r, res->serving[i].deployment_seq)) {
            rc = mla_err(MLA_ECORRUPT, "%s serves %s by entry %llu, which is not in the evidence",
                         res->serving[i].model, f->target,
                         (unsigned long long)res->serving[i].deployment_seq);
            goto out;
        }
    if ((rc = timeline_check(r, f)) != MLA_OK) goto out;
    covered_pick(f);
out:
    mla_buf_dispose(&tmp);
    if (rc != MLA_OK) facts_dispose(f);
    return rc;
}

/* ---- gather ------------------------------------------------------------------- */

typedef struct signer_ctx {
    const char *target;
    const char *keyid;
} signer_ctx;

/* A DEPLOYMENT on the target naming the serving key that signed the batch
 * (SPEC §3): report_check.c accepts the batch's signature through it. */
static bool keep_signer(void *ctx, uint64_t seq, const mla_pb_entry *e, const mla_pb_change *c)
{
    const signer_ctx *s = ctx;
    char keyid[MLA_KEYID_HEX_LEN + 1];
    mla_pubkey pub;
    (void)seq;
    (void)e;
    if (!c || c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT ||
        strcmp(c->deployment->target, s->target) != 0 ||
        c->deployment->serving_key.len != sizeof pub.b)
        return false;
    memcpy(pub.b, c->deployment->serving_key.data, sizeof pub.b);
    mla_crypto_keyid(keyid, &pub);
    return strcmp(keyid, s->keyid) == 0;
}

/* The batch entry, the timeline entries and the deployment naming the
 * batch's serving key, into evidence with proofs in the report's tree. */
static mla_status entries_gather(mla_report *r, mla_client *c, const char *what)
{
    const mla_client_resolution *res = &r->ev.resolution;
    uint64_t size = r->ev.cp.size;
    uint64_t *seqs = mla_calloc(res->n_deployment_entries + 1, sizeof *seqs);
    size_t n = 0;
    mla_status rc = MLA_OK;
    if (!seqs) return mla_err(MLA_ENOMEM, "report: out of memory");
    if (res->has_decision) {
        if (res->batch_entry.seq >= size) {
            rc = mla_err(MLA_ENOTFOUND,
                         "%s: recorded in entry %llu, after this report's checkpoint (tree size "
                         "%llu); generate the report again",
                         what, (unsigned long long)res->batch_entry.seq, (unsigned long long)size);
            goto out;
        }
        seqs[n++] = res->batch_entry.seq;
    }
    for (size_t i = 0; i < res->n_serving; i++)
        if (res->serving[i].deployment_seq >= size) {
            rc = mla_err(MLA_ENOTFOUND,
                         "%s: %s went live in entry %llu, after this report's checkpoint (tree "
                         "size %llu); generate the report again",
                         what, res->serving[i].model,
                         (unsigned long long)res->serving[i].deployment_seq,
                         (unsigned long long)size);
            goto out;
        }
    /* Entries past the checkpoint (after the time asked) are left out. */
    for (size_t i = 0; i < res->n_deployment_entries; i++)
        if (res->deployment_entries[i].seq < size) seqs[n++] = res->deployment_entries[i].seq;
    if ((rc = mla_report__evidence_fetch(r, c, seqs, n)) != MLA_OK) goto out;
    if (!res->has_decision) goto out;
    const mla_report_entry *b = mla_report__entry(r, res->batch_entry.seq);
    const mla_pb_envelope *env = b && b->entry ? b->entry->envelope : NULL;
    char own[MLA_KEYID_HEX_LEN + 1];
    mla_crypto_keyid(own, &r->ev.log_key.pub);
    if (!env || env->n_signatures == 0 || strcmp(env->signatures[0]->keyid, own) == 0) goto out;
    mla_pb_decision *d = NULL;
    if ((rc = mla_codec_decision_decode(&d, mla_buf_slice(&res->decision))) != MLA_OK) goto out;
    signer_ctx s = {d->target, env->signatures[0]->keyid};
    mla_client_query q;
    memset(&q, 0, sizeof q);
    q.kind = KIND(DEPLOYMENT);
    q.target = d->target;
    rc = mla_report__query_fetch(r, c, &q, keep_signer, &s);
    mla_codec_decision_free(d);
out:
    mla_free(seqs);
    return rc;
}

/* A lookup by target and time that finds nothing on the target at or
 * before it names what it asked. */
static mla_status known_check(const mla_report *r, const char *target, int64_t at_ns)
{
    const mla_client_resolution *res = &r->ev.resolution;
    if (res->has_decision || res->n_serving > 0) return MLA_OK;
    for (size_t i = 0; i < res->n_deployment_entries; i++) {
        int64_t t;
        MLA_TRY(chain_time(&t, r, i));
        if (t <= at_ns) return MLA_OK;
    }
    char when[MLA_REPORT_TIME_LEN];
    mla_report__time(when, at_ns);
    return mla_err(MLA_ENOTFOUND, "target: nothing was deployed on \"%s\" at or before %s", target,
                   when);
}

mla_status mla_report__decision_gather(mla_report *r, mla_client *c, const mla_report_request *req)
{
    const char *id = req->decision_id && req->decision_id[0] ? req->decision_id : NULL;
    const char *target = req->target && req->target[0] ? req->target : NULL;
    char at[MLA_REPORT_TIME_LEN], what[MLA_LIMIT_DECISION_ID + MLA_LIMIT_NAME + 64];
    mla_client_resolution res;
    mla_buf wire;
    facts f;
    mla_status rc;
    if (!id && !target)
        return mla_err(MLA_EINVAL, "decision_id: required (or a target and a time)");
    if (id && strlen(id) > MLA_LIMIT_DECISION_ID)
        return mla_err(MLA_EINVAL, "decision_id: %zu bytes exceeds limit %d", strlen(id),
                       MLA_LIMIT_DECISION_ID);
    if (target && strlen(target) > MLA_LIMIT_NAME)
        return mla_err(MLA_EINVAL, "target: %zu bytes exceeds limit %d", strlen(target),
                       MLA_LIMIT_NAME);
    if (!id && req->at_ns <= 0)
        return mla_err(MLA_EINVAL, "at_ns: required with a target (the moment asked about)");
    if (id) {
        MLA_TRY(mla_report__param_set(r, "decision_id", id));
        if (target) MLA_TRY(mla_report__param_set(r, "target", target));
        snprintf(what, sizeof what, "decision_id: \"%s\"", id);
    } else {
        mla_report__time(at, req->at_ns);
        MLA_TRY(mla_report__param_set(r, "target", target));
        MLA_TRY(mla_report__param_set(r, "at", at));
        snprintf(what, sizeof what, "target: \"%s\" at %s", target, at);
    }
    memset(&res, 0, sizeof res);
    mla_buf_init(&wire, MLA_LIMIT_RPC_BYTES);
    rc = mla_client_resolve(c, id, target, id ? 0 : req->at_ns, &res);
    if (rc == MLA_ENOTFOUND && id)
        rc = mla_err(MLA_ENOTFOUND, "decision_id: \"%s\" is not recorded%s%s", id,
                     target ? " on target " : "", target ? target : "");
    if (rc != MLA_OK) goto out;
    if ((rc = mla_client_resolution_encode(&wire, &res)) != MLA_OK ||
        (rc = mla_report__evidence_resolution(r, mla_buf_slice(&wire))) != MLA_OK)
        goto out;
    if (!id && (rc = known_check(r, target, req->at_ns)) != MLA_OK) goto out;
    if ((rc = entries_gather(r, c, what)) != MLA_OK) goto out;
    if ((rc = facts_load(&f, r)) != MLA_OK) goto out;
    /* Copy the models out: gathering moves the evidence the facts point into. */
    char models[SERVING_MAX][IDENTITY_MAX];
    size_t n = f.n_covered;
    for (size_t i = 0; i < n; i++)
        snprintf(models[i], IDENTITY_MAX, "%s", f.res->serving[f.covered[i]].model);
    facts_dispose(&f);
    for (size_t i = 0; i < n && rc == MLA_OK; i++) {
        rc = mla_report__upstream_gather(r, c, models[i], UPSTREAM_DEPTH);
        /* A model deployed without a record of its own: the report says so. */
        if (rc == MLA_ENOTFOUND) {
            mla_error_clear();
            rc = MLA_OK;
        }
    }
out:
    mla_buf_dispose(&wire);
    mla_client_resolution_dispose(&res);
    return rc;
}

/* ---- build: helpers --------------------------------------------------------------- */

static mla_status row2(mla_report_table *t, const char *a, const char *b, uint64_t seq_a,
                       uint64_t seq_b)
{
    const char *texts[2] = {a, b};
    const uint64_t seqs[2] = {seq_a, seq_b};
    return mla_report__row_add(t, texts, seqs);
}

static mla_status row3(mla_report_table *t, const char *a, const char *b, const char *c,
                       uint64_t seq_c)
{
    const char *texts[3] = {a, b, c};
    const uint64_t seqs[3] = {MLA_REPORT_NO_SEQ, MLA_REPORT_NO_SEQ, seq_c};
    return mla_report__row_add(t, texts, seqs);
}

/* "a, b and c" of the covered models into out (a C string). */
static mla_status models_text(mla_buf *out, const facts *f)
{
    mla_buf_clear(out);
    MLA_TRY(mla_buf_printf(out, "%s", f->n_covered ? "" : "no model"));
    for (size_t i = 0; i < f->n_covered; i++)
        MLA_TRY(mla_buf_printf(out, "%s%s",
                               i == 0                  ? ""
                               : i + 1 == f->n_covered ? " and "
                                                       : ", ",
                               f->res->serving[f->covered[i]].model));
    return MLA_OK;
}

/* "8 -> 12 -> 15", eliding the middle of a long timeline. */
static mla_status chain_text(mla_buf *out, const mla_client_resolution *res)
{
    size_t n = res->n_deployment_entries;
    mla_buf_clear(out);
    MLA_TRY(mla_buf_printf(out, "%s", n ? "" : "none"));
    for (size_t i = 0; i < n; i++) {
        if (n > CHAIN_SHOWN && i == CHAIN_SHOWN / 2) {
            MLA_TRY(mla_buf_printf(out, " -> (%zu more)", n - CHAIN_SHOWN));
            i = n - CHAIN_SHOWN / 2 - 1;
            continue;
        }
        MLA_TRY(mla_buf_printf(out, "%s%llu", i ? " -> " : "",
                               (unsigned long long)res->deployment_entries[i].seq));
    }
    return MLA_OK;
}

/* Who signed the batch: the log's own key, the serving key a DEPLOYMENT on
 * the target named, or a key of the registry. */
typedef struct signer {
    uint64_t seq; /* the entry naming the key, or MLA_REPORT_NO_SEQ */
    char text[2 * MLA_LIMIT_NAME + 2 * MLA_KEYID_HEX_LEN + 128];
} signer;

static void signer_find(signer *s, const mla_report *r, const facts *f)
{
    const mla_pb_envelope *env = f->batch->entry->envelope;
    char own[MLA_KEYID_HEX_LEN + 1], k[MLA_KEYID_HEX_LEN + 1];
    s->seq = MLA_REPORT_NO_SEQ;
    if (env->n_signatures == 0) {
        snprintf(s->text, sizeof s->text, "no key (the batch entry carries no signature)");
        return;
    }
    const char *keyid = env->signatures[0]->keyid;
    mla_crypto_keyid(own, &r->ev.log_key.pub);
    if (strcmp(keyid, own) == 0) {
        snprintf(s->text, sizeof s->text, "the log's own key %s sealed it (keyid %s)",
                 r->ev.log_key.name, keyid);
        return;
    }
    /* The latest DEPLOYMENT on the target before the batch naming the key,
     * else the latest KEY entry registering it. */
    const mla_report_entry *dep = NULL, *key = NULL;
    for (size_t i = 0; i < r->ev.n_entries && r->ev.entries[i].seq < f->batch->seq; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        const mla_pb_change *c = e->change;
        mla_pubkey pub;
        if (!c) continue;
        if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT &&
            strcmp(c->deployment->target, f->target) == 0 &&
            c->deployment->serving_key.len == sizeof pub.b) {
            memcpy(pub.b, c->deployment->serving_key.data, sizeof pub.b);
            mla_crypto_keyid(k, &pub);
            if (strcmp(k, keyid) == 0) dep = e;
        } else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_KEY &&
                   c->key->public_key.len == sizeof pub.b && !c->key->revoke) {
            memcpy(pub.b, c->key->public_key.data, sizeof pub.b);
            mla_crypto_keyid(k, &pub);
            if (strcmp(k, keyid) == 0) key = e;
        }
    }
    if (dep) {
        char model[IDENTITY_MAX] = "";
        mla_buf tmp;
        mla_buf_init(&tmp, IDENTITY_MAX);
        if (identity_into(model, dep->change->subject, &tmp) != MLA_OK) mla_error_clear();
        mla_buf_dispose(&tmp);
        s->seq = dep->seq;
        /* A long target name is cut, not overrun; the cells cite the entry. */
        if (snprintf(s->text, sizeof s->text,
                     "the serving key %s named by DEPLOYMENT entry %llu (%s on %s) signed it",
                     keyid, (unsigned long long)dep->seq, model, f->target) < 0)
            s->text[0] = 0;
    } else if (key) {
        s->seq = key->seq;
        snprintf(s->text, sizeof s->text,
                 "the key \"%s\" (keyid %s) registered by KEY entry %llu "
                 "signed it",
                 key->change->key->name, keyid, (unsigned long long)key->seq);
    } else {
        snprintf(s->text, sizeof s->text,
                 "a key with keyid %s signed it, which no entry in the evidence names", keyid);
    }
}

/* ---- build: tables ------------------------------------------------------------------ */

static mla_status digest_row(mla_report_table *t, mla_buf *v, const char *field,
                             ProtobufCBinaryData d, uint64_t seq)
{
    MLA_TRY(mla_report__digest(v, mla_slice_make(d.data, d.len)));
    return row2(t, field, v->len ? (const char *)v->ptr : "—", MLA_REPORT_NO_SEQ,
                v->len ? seq : MLA_REPORT_NO_SEQ);
}

/* The "decision" table: every field of the decision, which the batch
 * entry commits to through its root. */
static mla_status decision_table(mla_report *r, const facts *f)
{
    static const char *const cols[] = {"Field", "Value"};
    const mla_pb_decision *d = f->decision;
    uint64_t b = f->batch->seq, none = MLA_REPORT_NO_SEQ;
    mla_report_table *t;
    mla_buf v;
    mla_status rc;
    MLA_TRY(mla_report__table_add(&t, r, "decision", "The decision", cols, 2));
    mla_buf_init(&v, TEXT_MAX);
    if ((rc = mla_report__table_intro(t,
                                      "As recorded: decision %llu of %llu in DECISION_BATCH "
                                      "entry %llu, whose root commits to it.",
                                      (unsigned long long)f->res->decision_index + 1,
                                      (unsigned long long)f->res->batch_count,
                                      (unsigned long long)b)) != MLA_OK ||
        (rc = row2(t, "id", d->id, none, b)) != MLA_OK ||
        (rc = row2(t, "target", d->target, none, b)) != MLA_OK ||
        (rc = row2(t, "time", f->at, none, b)) != MLA_OK ||
        (rc = digest_row(t, &v, "input digest", d->input_digest, b)) != MLA_OK ||
        (rc = digest_row(t, &v, "output digest", d->output_digest, b)) != MLA_OK ||
        (rc = row2(t, "model the service named", f->claim[0] ? f->claim : "—", none,
                   f->claim[0] ? b : none)) != MLA_OK ||
        (rc = row2(t, "reviewer", d->reviewer[0] ? d->reviewer : "—", none,
                   d->reviewer[0] ? b : none)) != MLA_OK)
        goto out;
    if (d->override) {
        mla_buf reason, out_d;
        mla_buf_init(&reason, 128);
        mla_buf_init(&out_d, 128);
        rc = mla_report__digest(&reason, mla_slice_make(d->override->reason_digest.data,
                                                        d->override->reason_digest.len));
        if (rc == MLA_OK)
            rc = mla_report__digest(&out_d, mla_slice_make(d->override->new_output_digest.data,
                                                           d->override->new_output_digest.len));
        mla_buf_clear(&v);
        if (rc == MLA_OK)
            rc = mla_buf_printf(&v, "by %s; reason digest %s; new output digest %s",
                                d->override->by[0] ? d->override->by : "an unnamed person",
                                reason.len ? (const char *)reason.ptr : "—",
                                out_d.len ? (const char *)out_d.ptr : "—");
        mla_buf_dispose(&reason);
        mla_buf_dispose(&out_d);
        if (rc == MLA_OK) rc = row2(t, "override", (const char *)v.ptr, none, b);
    } else {
        rc = row2(t, "override", "none", none, b);
    }
    if (rc != MLA_OK ||
        (rc = digest_row(t, &v, "explanation digest", d->explanation_digest, b)) != MLA_OK)
        goto out;
    rc = row2(t, "salted",
              d->salted ? "yes: the input digest is SHA-256(salt || input)"
                        : "no: the input digest is SHA-256 of the input",
              none, b);
out:
    mla_buf_dispose(&v);
    return rc;
}

/* The "serving" table: the models live on the target at the time. */
static mla_status serving_table(mla_report *r, const facts *f)
{
    static const char *const cols[] = {"Model", "Traffic", "Stage", "Made live by"};
    mla_report_table *t;
    MLA_TRY(mla_report__table_add(&t, r, "serving", "What served the target", cols, 4));
    if (f->res->n_serving == 0)
        return mla_report__table_intro(t, "Nothing was live on %s at %s.", f->target, f->at);
    MLA_TRY(mla_report__table_intro(t,
                                    "The models live on %s at %s, replaying its deployment "
                                    "timeline.",
                                    f->target, f->at));
    for (size_t i = 0; i < f->res->n_serving; i++) {
        const mla_client_serving *s = &f->res->serving[i];
        const mla_report_entry *e = mla_report__entry(r, s->deployment_seq);
        const mla_pb_change *c = e->change;
        bool dep = c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
        char pct[MLA_REPORT_NUM_LEN + 1], by[64];
        mla_report__percent(pct, s->traffic_fraction);
        snprintf(by, sizeof by, "%s entry %llu", c ? mla_codec_kind_name(c->kind) : "(redacted)",
                 (unsigned long long)e->seq);
        /* The share and stage come from the entry only when it set them
         * (a later deployment may have scaled the share; a rollback keeps
         * the stage the model had). */
        bool share = dep && c->deployment->traffic_fraction == s->traffic_fraction;
        bool stage = dep && strcmp(c->deployment->stage, s->stage ? s->stage : "") == 0;
        const char *texts[4] = {s->model, pct, s->stage && s->stage[0] ? s->stage : "—", by};
        const uint64_t seqs[4] = {e->seq, share ? e->seq : MLA_REPORT_NO_SEQ,
                                  stage ? e->seq : MLA_REPORT_NO_SEQ, e->seq};
        MLA_TRY(mla_report__row_add(t, texts, seqs));
    }
    return MLA_OK;
}

/* The entry that made the one covered model live; with several, a fact
 * about all of them is derived. */
static uint64_t live_seq(const facts *f)
{
    return f->n_covered == 1 ? f->res->serving[f->covered[0]].deployment_seq : MLA_REPORT_NO_SEQ;
}

/* The "proof" table: SPEC §3's chain, one step per row. */
static mla_status proof_table(mla_report *r, const facts *f, const signer *sg)
{
    static const char *const cols[] = {"Step", "What is checked", "Evidence"};
    const mla_client_resolution *res = f->res;
    const mla_checkpoint *cp = &r->ev.cp;
    mla_report_table *t;
    mla_buf what, ev, chain, models;
    char hex[2 * sizeof(mla_hash) + 1], root[2 * sizeof(mla_hash) + 1], step[8];
    unsigned n = 0;
    mla_status rc;
    MLA_TRY(mla_report__table_add(&t, r, "proof", "The proof, step by step", cols, 3));
    mla_buf_init(&what, TEXT_MAX);
    mla_buf_init(&ev, TEXT_MAX);
    mla_buf_init(&chain, TEXT_MAX);
    mla_buf_init(&models, TEXT_MAX);
    mla_hex_encode_to(root, cp->root.b, sizeof cp->root.b);
    if ((rc = mla_report__table_intro(t, "Each step is re-checked by `mlaudit verify` from the "
                                         "evidence this report embeds, with no server.")) != MLA_OK)
        goto out;
    if (f->decision) {
        const mla_report_entry *b = f->batch;
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, mla_buf_slice(&res->decision));
        mla_hex_encode_to(hex, leaf.b, sizeof leaf.b);
        mla_buf_clear(&what);
        mla_buf_clear(&ev);
        snprintf(step, sizeof step, "%u", ++n);
        if ((rc = mla_buf_printf(&what,
                                 "The decision's leaf hash is SHA-256(0x00 || the decision's "
                                 "%zu bytes).",
                                 res->decision.len)) != MLA_OK ||
            (rc = mla_buf_printf(&ev, "leaf hash %s", hex)) != MLA_OK ||
            (rc = row3(t, step, (const char *)what.ptr, (const char *)ev.ptr, MLA_REPORT_NO_SEQ)) !=
                MLA_OK)
            goto out;
        const ProtobufCBinaryData *br = &b->change->decision_batch->root;
        mla_hex_encode_to(hex, br->data, br->len == sizeof leaf.b ? br->len : 0);
        mla_buf_clear(&what);
        mla_buf_clear(&ev);
        snprintf(step, sizeof step, "%u", ++n);
        if ((rc = mla_buf_printf(
                 &what,
                 "Its path of %zu hashes (leaf index %llu in a tree of %llu) leads to "
                 "the root "
                 "recorded in DECISION_BATCH entry %llu.",
                 res->decision_path_len, (unsigned long long)res->decision_index,
                 (unsigned long long)res->batch_count, (unsigned long long)b->seq)) != MLA_OK ||
            (rc = mla_buf_printf(&ev, "batch root %s", hex)) != MLA_OK ||
            (rc = row3(t, step, (const char *)what.ptr, (const char *)ev.ptr, b->seq)) != MLA_OK)
            goto out;
        mla_buf_clear(&what);
        mla_buf_clear(&ev);
        snprintf(step, sizeof step, "%u", ++n);
        if ((rc = mla_buf_printf(&what,
                                 "Entry %llu is included in the tree of size %llu whose root the "
                                 "log key %s signed in this report's checkpoint.",
                                 (unsigned long long)b->seq, (unsigned long long)cp->size,
                                 r->ev.log_key.name)) != MLA_OK ||
            (rc = mla_buf_printf(&ev, "inclusion proof of %zu hashes to root %s", b->proof.n,
                                 root)) != MLA_OK ||
            (rc = row3(t, step, (const char *)what.ptr, (const char *)ev.ptr, b->seq)) != MLA_OK)
            goto out;
    } else {
        mla_buf_clear(&what);
        mla_buf_clear(&ev);
        snprintf(step, sizeof step, "%u", ++n);
        if ((rc = mla_buf_printf(&what,
                                 "Each timeline entry cited is included in the tree of size %llu "
                                 "whose root the log key %s signed in this report's checkpoint.",
                                 (unsigned long long)cp->size, r->ev.log_key.name)) != MLA_OK ||
            (rc = mla_buf_printf(&ev, "an inclusion proof per entry, to root %s", root)) !=
                MLA_OK ||
            (rc = row3(t, step, (const char *)what.ptr, (const char *)ev.ptr, MLA_REPORT_NO_SEQ)) !=
                MLA_OK)
            goto out;
    }
    if ((rc = chain_text(&chain, res)) != MLA_OK || (rc = models_text(&models, f)) != MLA_OK)
        goto out;
    mla_buf_clear(&what);
    mla_buf_clear(&ev);
    snprintf(step, sizeof step, "%u", ++n);
    uint64_t live = live_seq(f);
    if ((rc = mla_buf_printf(&what,
                             "The deployment timeline entries %s of %s are back-linked without a "
                             "gap, and replaying them shows %s live on %s at %s.",
                             (const char *)chain.ptr, f->target,
                             f->n_covered ? (const char *)models.ptr : "no model", f->target,
                             f->at)) != MLA_OK)
        goto out;
    rc = mla_buf_printf(&ev, "%s", f->n_covered ? "" : "no model live");
    for (size_t i = 0; i < f->n_covered && rc == MLA_OK; i++)
        rc = mla_buf_printf(&ev, "%s%s live since entry %llu", i ? "; " : "",
                            res->serving[f->covered[i]].model,
                            (unsigned long long)res->serving[f->covered[i]].deployment_seq);
    if (rc != MLA_OK ||
        (rc = row3(t, step, (const char *)what.ptr, (const char *)ev.ptr, live)) != MLA_OK)
        goto out;
    if (f->decision) {
        snprintf(step, sizeof step, "%u", ++n);
        mla_buf_clear(&what);
        if ((rc = mla_buf_printf(&what, "Who signed the batch entry %llu.",
                                 (unsigned long long)f->batch->seq)) != MLA_OK ||
            (rc = row3(t, step, (const char *)what.ptr, sg->text,
                       sg->seq != MLA_REPORT_NO_SEQ ? sg->seq : f->batch->seq)) != MLA_OK)
            goto out;
    }
out:
    mla_buf_dispose(&models);
    mla_buf_dispose(&chain);
    mla_buf_dispose(&ev);
    mla_buf_dispose(&what);
    return rc;
}

/* The "timeline" table: the target's entries the resolution proves. */
static mla_status timeline_table(mla_report *r, const facts *f)
{
    static const char *const cols[] = {"Time",    "Entry kind", "Model", "Stage",
                                       "Traffic", "Actor",      "Reason"};
    const mla_client_resolution *res = f->res;
    mla_report_table *t;
    mla_buf id;
    size_t n_after = 0, n_later = 0;
    mla_status rc = MLA_OK;
    MLA_TRY(mla_report__table_add(&t, r, "timeline", "The target's deployment timeline", cols, 7));
    MLA_TRY(
        mla_report__table_intro(t,
                                "DEPLOYMENT, ROLLBACK and RETIREMENT entries of %s, back-linked "
                                "so none is left out, from the oldest one behind a model live "
                                "at %s.",
                                f->target, f->at));
    mla_buf_init(&id, IDENTITY_MAX);
    for (size_t i = 0; i < res->n_deployment_entries && rc == MLA_OK; i++) {
        const mla_report_entry *e = mla_report__entry(r, res->deployment_entries[i].seq);
        if (!e) {
            n_later++;
            continue;
        }
        const mla_pb_change *c = e->change;
        if (!c || !e->entry)
            return mla_err(MLA_ECORRUPT, "timeline entry %llu: no change",
                           (unsigned long long)e->seq);
        char when[MLA_REPORT_TIME_LEN], pct[MLA_REPORT_NUM_LEN + 1] = "—";
        const char *stage = "—", *model = "(all models)";
        uint64_t s = e->seq, dseq = MLA_REPORT_NO_SEQ, mseq = e->seq;
        const mla_pb_artifact *a = NULL;
        mla_report__time(when, e->entry->ledger_time_ns);
        if (e->entry->ledger_time_ns > f->at_ns) n_after++;
        if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
            a = c->subject;
            stage = c->deployment->stage;
            mla_report__percent(pct, c->deployment->traffic_fraction);
            dseq = s;
        } else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK) {
            a = c->rollback->to;
        } else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT) {
            a = c->retirement->artifact;
            if (!a) mseq = MLA_REPORT_NO_SEQ;
        }
        if (a && (rc = mla_report__identity(&id, a)) != MLA_OK) break;
        if (a) model = (const char *)id.ptr;
        const char *texts[7] = {when,     mla_codec_kind_name(c->kind), model, stage, pct, c->actor,
                                c->reason};
        const uint64_t seqs[7] = {s, s, mseq, dseq, dseq, s, s};
        rc = mla_report__row_add(t, texts, seqs);
    }
    mla_buf_dispose(&id);
    if (rc != MLA_OK) return rc;
    if (n_after && n_later)
        return mla_report__table_note(t,
                                      "The last entry shown is after %s: it shows where that "
                                      "state ended. %zu later timeline entr%s past this report's "
                                      "checkpoint left out.",
                                      f->at, n_later, n_later == 1 ? "y" : "ies");
    if (n_after)
        return mla_report__table_note(t,
                                      "The last entry is after %s: it shows where that state "
                                      "ended.",
                                      f->at);
    if (n_later)
        return mla_report__table_note(t,
                                      "%zu later timeline entr%s past this report's checkpoint "
                                      "left out.",
                                      n_later, n_later == 1 ? "y" : "ies");
    return MLA_OK;
}

/* One row of "receipt": what is proven (citing seq) beside what is not. */
static mla_status receipt_row(mla_report_table *t, const mla_buf *yes, uint64_t seq, const char *no)
{
    const char *texts[2] = {(const char *)yes->ptr, no};
    const uint64_t seqs[2] = {seq, MLA_REPORT_NO_SEQ};
    return mla_report__row_add(t, texts, seqs);
}

/* The "receipt" table: what the receipt proves, and what it does not. */
static mla_status receipt_table(mla_report *r, const facts *f, const signer *sg)
{
    static const char *const cols[] = {"What this receipt proves", "What it does not prove"};
    const mla_pb_decision *d = f->decision;
    uint64_t live = live_seq(f);
    mla_report_table *t;
    mla_buf recorded, deployed, unaltered, ran, models, in, out_d;
    char size[32], when[MLA_REPORT_TIME_LEN];
    bool one = f->n_covered == 1;
    mla_status rc;
    MLA_TRY(mla_report__table_add(&t, r, "receipt", "What the receipt proves", cols, 2));
    mla_buf_init(&recorded, TEXT_MAX);
    mla_buf_init(&deployed, TEXT_MAX);
    mla_buf_init(&unaltered, TEXT_MAX);
    mla_buf_init(&ran, TEXT_MAX);
    mla_buf_init(&models, TEXT_MAX);
    mla_buf_init(&in, 128);
    mla_buf_init(&out_d, 128);
    mla_report__count(size, r->ev.cp.size);
    if ((rc = models_text(&models, f)) != MLA_OK) goto out;
    const char *m = (const char *)models.ptr;
    rc = f->n_covered
             ? mla_buf_printf(&deployed,
                              "%s %s the deployed model%s on %s at %s per the ledger, "
                              "with nothing on the target's timeline left out.",
                              m, one ? "was" : "were", one ? "" : "s", f->target, f->at)
             : mla_buf_printf(&deployed, "No model was deployed on %s at %s per the ledger.",
                              f->target, f->at);
    if (rc != MLA_OK ||
        (rc = mla_buf_printf(&unaltered,
                             "The %s unaltered: the checkpoint %s signed at tree size %s commits "
                             "to every entry cited.",
                             d ? "ledger holds the record" : "timeline entries are",
                             r->ev.log_key.name, size)) != MLA_OK ||
        (rc = mla_buf_printf(&ran,
                             "That the serving process actually ran %s: only that the ledger "
                             "says %s deployed%s.",
                             f->n_covered ? m : "what the ledger names",
                             one || !f->n_covered ? "it was" : "they were",
                             d ? " and that the batch's key signed the record" : "")) != MLA_OK)
        goto out;
    if (!d) {
        if ((rc = receipt_row(t, &deployed, live,
                              "Which model made any particular decision: a decision's own "
                              "receipt (a decision report by id) binds it to its batch.")) ==
            MLA_OK)
            rc = receipt_row(t, &unaltered, MLA_REPORT_NO_SEQ, (const char *)ran.ptr);
        goto out;
    }
    mla_report__time(when, f->batch->entry->ledger_time_ns);
    if ((rc = mla_report__digest(&in, mla_slice_make(d->input_digest.data, d->input_digest.len))) !=
            MLA_OK ||
        (rc = mla_report__digest(
             &out_d, mla_slice_make(d->output_digest.data, d->output_digest.len))) != MLA_OK ||
        (rc = mla_buf_printf(&recorded,
                             "Decision %s, with input digest %s and output digest %s, was "
                             "recorded in DECISION_BATCH entry %llu at %s: %s.",
                             d->id, in.len ? (const char *)in.ptr : "(none)",
                             out_d.len ? (const char *)out_d.ptr : "(none)",
                             (unsigned long long)f->batch->seq, when, sg->text)) != MLA_OK ||
        (rc = receipt_row(t, &recorded, f->batch->seq, (const char *)ran.ptr)) != MLA_OK ||
        (rc = receipt_row(t, &deployed, live,
                          d->salted ? "The content of the inputs and outputs beyond their "
                                      "SHA-256 digests (the input was salted before hashing)."
                                    : "The content of the inputs and outputs beyond their "
                                      "SHA-256 digests.")) != MLA_OK)
        goto out;
    rc = receipt_row(t, &unaltered, MLA_REPORT_NO_SEQ,
                     "That no decision went unrecorded: one the service never sent is not in "
                     "the ledger.");
out:
    mla_buf_dispose(&out_d);
    mla_buf_dispose(&in);
    mla_buf_dispose(&models);
    mla_buf_dispose(&ran);
    mla_buf_dispose(&unaltered);
    mla_buf_dispose(&deployed);
    mla_buf_dispose(&recorded);
    return rc;
}

/* ---- build -------------------------------------------------------------------------- */

static mla_status summary(mla_report *r, const facts *f, const signer *sg)
{
    const mla_client_resolution *res = f->res;
    char size[32];
    mla_report__count(size, r->ev.cp.size);
    if (f->decision) {
        char when[MLA_REPORT_TIME_LEN];
        mla_report__time(when, f->batch->entry->ledger_time_ns);
        MLA_TRY(mla_report__say(r, f->batch->seq,
                                "Decision %s on %s, made at %s, was recorded as decision %llu of "
                                "%llu in DECISION_BATCH entry %llu at %s; %s.",
                                f->decision->id, f->target, f->at,
                                (unsigned long long)res->decision_index + 1,
                                (unsigned long long)res->batch_count,
                                (unsigned long long)f->batch->seq, when, sg->text));
        if (f->claim[0])
            MLA_TRY(mla_report__say(
                r, f->batch->seq, "The serving process named %s as the model that made it%s.",
                f->claim,
                serving_index(res, f->claim) >= 0 ? ", and the ledger shows it live then"
                                                  : ", which the ledger does not show live then"));
    }
    if (res->n_serving == 0)
        MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ, "Nothing was live on %s at %s.", f->target,
                                f->at));
    for (size_t i = 0; i < res->n_serving; i++) {
        const mla_client_serving *s = &res->serving[i];
        char pct[MLA_REPORT_NUM_LEN + 1];
        mla_report__percent(pct, s->traffic_fraction);
        MLA_TRY(mla_report__say(
            r, s->deployment_seq,
            "At %s, %s served %s of %s's traffic%s%s%s, live since entry %llu.", f->at, s->model,
            pct, f->target, s->stage && s->stage[0] ? " (" : "",
            s->stage && s->stage[0] ? s->stage : "", s->stage && s->stage[0] ? ")" : "",
            (unsigned long long)s->deployment_seq));
    }
    if (res->n_serving > 1 && f->n_covered > 1)
        MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ,
                                "The traffic was split, so the report shows the lineage of each "
                                "model serving."));
    for (size_t i = 0; i < res->n_discrepancies; i++)
        MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ, "The ledger notes a discrepancy: %s.",
                                res->discrepancies[i]));
    return mla_report__say(r, MLA_REPORT_NO_SEQ,
                           "Everything here is proven against the checkpoint of tree size %s "
                           "signed by %s.",
                           size, r->ev.log_key.name);
}

/* The lineage of each covered model; with several, each table is named. */
static mla_status lineage(mla_report *r, const facts *f)
{
    for (size_t i = 0; i < f->n_covered; i++) {
        const char *model = f->res->serving[f->covered[i]].model;
        if (!mla_report__subject_entry(r, model, 0)) {
            MLA_TRY(mla_report__say(r, f->res->serving[f->covered[i]].deployment_seq,
                                    "%s has no record of its own in the ledger: its lineage "
                                    "cannot be shown.",
                                    model));
            continue;
        }
        size_t before = r->n_tables;
        MLA_TRY(mla_report__upstream_build(r, model, UPSTREAM_DEPTH));
        if (f->n_covered == 1 || r->n_tables == before) continue;
        mla_report_table *t = &r->tables[r->n_tables - 1];
        char id[32];
        snprintf(id, sizeof id, "upstream-%zu", i + 1);
        char *nid = i ? mla_report__strdup(id) : NULL;
        mla_buf title;
        mla_buf_init(&title, 2 * IDENTITY_MAX);
        mla_status rc = mla_buf_printf(&title, "Upstream lineage of %s", model);
        char *ntitle = rc == MLA_OK ? mla_report__strdup((const char *)title.ptr) : NULL;
        mla_buf_dispose(&title);
        if (rc != MLA_OK || !ntitle || (i && !nid)) {
            mla_free(nid);
            mla_free(ntitle);
            return rc != MLA_OK ? rc : mla_err(MLA_ENOMEM, "report: out of memory");
        }
        if (nid) {
            mla_free(t->id);
            t->id = nid;
        }
        mla_free(t->title);
        t->title = ntitle;
    }
    return MLA_OK;
}

mla_status mla_report__decision_build(mla_report *r)
{
    facts f;
    signer sg;
    mla_buf title;
    MLA_TRY(facts_load(&f, r));
    mla_buf_init(&title, 2 * MLA_LIMIT_DECISION_ID + 2 * MLA_LIMIT_NAME);
    mla_status rc = f.decision
                        ? mla_buf_printf(&title, "Decision %s on %s", f.decision->id, f.target)
                        : mla_buf_printf(&title, "What served %s at %s", f.target, f.at);
    if (rc != MLA_OK) goto out;
    mla_free(r->title);
    if (!(r->title = mla_report__strdup((const char *)title.ptr))) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    sg.seq = MLA_REPORT_NO_SEQ;
    sg.text[0] = '\0';
    if (f.decision) signer_find(&sg, r, &f);
    if ((rc = summary(r, &f, &sg)) != MLA_OK) goto out;
    if (f.decision && (rc = decision_table(r, &f)) != MLA_OK) goto out;
    if ((rc = serving_table(r, &f)) != MLA_OK || (rc = proof_table(r, &f, &sg)) != MLA_OK ||
        (rc = timeline_table(r, &f)) != MLA_OK || (rc = receipt_table(r, &f, &sg)) != MLA_OK)
        goto out;
    rc = lineage(r, &f);
out:
    mla_buf_dispose(&title);
    facts_dispose(&f);
    return rc;
}
