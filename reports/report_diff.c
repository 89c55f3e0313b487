/* report_diff: two versions side by side (SPEC §7): their records,
 * parameters, inputs, environment, code and metrics with deltas, each cell
 * citing the entry it comes from. Gather fetches both records, their direct
 * inputs' records and their evaluations; build reads only evidence. */
#include <stdio.h>
#include <string.h>

#include "reports/report_int.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k
#define IDENTITY_MAX (3 * MLA_LIMIT_NAME + 3)

mla_status mla_report__diff_gather(mla_report *r, mla_client *c, const mla_report_request *req)
{
    const char *id[2] = {req->identity, req->identity_b};
    static const char *const field[2] = {"identity", "identity_b"};
    size_t n[2];
    for (size_t i = 0; i < 2; i++)
        MLA_TRY(mla_report__subject_fetch(r, c, id[i], field[i], false, &n[i]));
    for (size_t i = 0; i < 2; i++)
        if (n[i] == 0) return mla_err(MLA_ENOTFOUND, "%s: %s is not recorded", field[i], id[i]);
    if (strcmp(id[0], id[1]) == 0)
        return mla_err(MLA_EINVAL, "identity_b: the same as identity (%s)", id[0]);
    MLA_TRY(mla_report__param_set(r, "a", id[0]));
    MLA_TRY(mla_report__param_set(r, "b", id[1]));
    for (size_t i = 0; i < 2; i++) {
        MLA_TRY(mla_report__upstream_gather(r, c, id[i], 1));
        MLA_TRY(mla_report__downstream_fetch(r, c, id[i], mla_report__keep_evaluation,
                                             (void *)(uintptr_t)id[i]));
    }
    return MLA_OK;
}

/* ---- build --------------------------------------------------------------------- */

/* One side of the comparison. */
typedef struct side {
    const char *id;
    const mla_report_entry *s; /* its record */
} side;

static mla_status row(mla_report_table *t, const char *key, const char *a, uint64_t sa,
                      const char *b, uint64_t sb)
{
    const char *texts[3] = {key, a, b};
    const uint64_t seqs[3] = {MLA_REPORT_NO_SEQ, sa, sb};
    return mla_report__row_add(t, texts, seqs);
}

static mla_status cstr_end(mla_buf *b)
{
    MLA_TRY(mla_buf_append_byte(b, 0));
    b->len--;
    return MLA_OK;
}

/* The "artifact" table: both records field by field. */
static mla_status artifact_table(mla_report *r, const side *x, bool *same_digest)
{
    static const char *const cols[] = {"Field", "A", "B"};
    mla_report_table *t;
    mla_buf v[2];
    char when[2][MLA_REPORT_TIME_LEN];
    mla_status rc = MLA_OK;
    MLA_TRY(mla_report__table_add(&t, r, "artifact", "The two versions", cols, 3));
    MLA_TRY(mla_report__table_intro(t, "A is %s (entry %llu); B is %s (entry %llu).", x[0].id,
                                    (unsigned long long)x[0].s->seq, x[1].id,
                                    (unsigned long long)x[1].s->seq));
    for (size_t i = 0; i < 2; i++) {
        const mla_pb_artifact *a = x[i].s->change->subject;
        mla_buf_init(&v[i], 128);
        if (rc == MLA_OK)
            rc = mla_report__digest(&v[i], mla_slice_make(a->digest.data, a->digest.len));
        mla_report__time(when[i], x[i].s->entry->ledger_time_ns);
    }
    const mla_pb_change *a = x[0].s->change, *b = x[1].s->change;
    uint64_t sa = x[0].s->seq, sb = x[1].s->seq;
    *same_digest = rc == MLA_OK && mla_slice_eq(mla_buf_slice(&v[0]), mla_buf_slice(&v[1]));
    if (rc != MLA_OK ||
        (rc = row(t, "kind", mla_codec_kind_name(a->kind), sa, mla_codec_kind_name(b->kind), sb)) !=
            MLA_OK ||
        (rc = row(t, "digest", (const char *)v[0].ptr, sa, (const char *)v[1].ptr, sb)) != MLA_OK ||
        ((a->subject->uri[0] || b->subject->uri[0]) &&
         (rc = row(t, "uri", a->subject->uri, sa, b->subject->uri, sb)) != MLA_OK) ||
        ((a->subject->media_type[0] || b->subject->media_type[0]) &&
         (rc = row(t, "media type", a->subject->media_type, sa, b->subject->media_type, sb)) !=
             MLA_OK) ||
        (rc = row(t, "recorded at", when[0], sa, when[1], sb)) != MLA_OK ||
        (rc = row(t, "actor", a->actor, sa, b->actor, sb)) != MLA_OK ||
        (rc = row(t, "submitter", x[0].s->entry->submitter, sa, x[1].s->entry->submitter, sb)) !=
            MLA_OK ||
        (rc = row(t, "reason", a->reason, sa, b->reason, sb)) != MLA_OK)
        goto out;
out:
    mla_buf_dispose(&v[1]);
    mla_buf_dispose(&v[0]);
    return rc;
}

/* A map's keys from both sides, sorted: attributes (of the changes). */
static mla_status attribute_keys(mla_report_keys *k, const mla_pb_change *a, const mla_pb_change *b)
{
    for (size_t i = 0; a && i < a->n_attributes; i++)
        MLA_TRY(mla_report__keys_add(k, a->attributes[i]->key));
    for (size_t i = 0; b && i < b->n_attributes; i++)
        MLA_TRY(mla_report__keys_add(k, b->attributes[i]->key));
    mla_report__keys_sort(k);
    return MLA_OK;
}

static bool text_eq(const char *a, const char *b) { return a && b ? strcmp(a, b) == 0 : a == b; }

/* The "parameters" table: every attribute of either record. */
static mla_status parameters_table(mla_report *r, const side *x, size_t *n_changed, size_t *n_keys,
                                   mla_buf *changed)
{
    static const char *const cols[] = {"Key", "A", "B", "Changed"};
    const mla_pb_change *a = x[0].s->change, *b = x[1].s->change;
    mla_report_table *t;
    mla_report_keys keys = {0};
    mla_status rc;
    MLA_TRY(mla_report__table_add(&t, r, "parameters", "Parameters", cols, 4));
    *n_changed = 0;
    if ((rc = attribute_keys(&keys, a, b)) != MLA_OK) goto out;
    *n_keys = keys.n;
    rc = mla_report__table_intro(t, keys.n ? "The attributes of both records (hyperparameters, "
                                             "seeds, assumptions)."
                                           : "Neither record has attributes.");
    for (size_t i = 0; i < keys.n && rc == MLA_OK; i++) {
        const char *va = mla_report__attribute(a, keys.v[i]);
        const char *vb = mla_report__attribute(b, keys.v[i]);
        bool diff = !text_eq(va, vb);
        const char *texts[4] = {keys.v[i], va ? va : "—", vb ? vb : "—", diff ? "yes" : "no"};
        const uint64_t seqs[4] = {MLA_REPORT_NO_SEQ, va ? x[0].s->seq : MLA_REPORT_NO_SEQ,
                                  vb ? x[1].s->seq : MLA_REPORT_NO_SEQ, MLA_REPORT_NO_SEQ};
        if ((rc = mla_report__row_add(t, texts, seqs)) != MLA_OK) break;
        if (diff) {
            (*n_changed)++;
            rc = mla_buf_printf(changed, "%s%s", changed->len ? ", " : "", keys.v[i]);
        }
    }
    if (rc == MLA_OK) rc = cstr_end(changed);
out:
    mla_report__keys_dispose(&keys);
    return rc;
}

/* The inputs of c with role, joined ("—" when none). */
static mla_status inputs_of(mla_buf *out, bool *any, const mla_pb_change *c, const char *role)
{
    mla_buf id;
    mla_status rc = MLA_OK;
    mla_buf_clear(out);
    *any = false;
    mla_buf_init(&id, IDENTITY_MAX);
    for (size_t i = 0; i < c->n_inputs && rc == MLA_OK; i++) {
        if (strcmp(c->inputs[i]->role, role) != 0) continue;
        if ((rc = mla_report__identity(&id, c->inputs[i]->artifact)) != MLA_OK) break;
        rc = mla_buf_printf(out, "%s%s", *any ? ", " : "", (const char *)id.ptr);
        *any = true;
    }
    if (rc == MLA_OK && !*any) rc = mla_buf_append_cstr(out, "—");
    if (rc == MLA_OK) rc = cstr_end(out);
    mla_buf_dispose(&id);
    return rc;
}

/* Roles in the order a reader looks for them: data, code, environment,
 * config, base model; then any other role either side names, sorted. */
static const char *const role_order[] = {
    "training-data", "validation-data", "test-data", "feature-set",
    "code",          "environment",     "config",    "base-model"};
#define N_ROLE_ORDER (sizeof role_order / sizeof role_order[0])

static bool role_listed(const char *role)
{
    for (size_t i = 0; i < N_ROLE_ORDER; i++)
        if (strcmp(role_order[i], role) == 0) return true;
    return false;
}

/* The "inputs" table. */
static mla_status inputs_table(mla_report *r, const side *x, size_t *n_changed, size_t *n_roles,
                               mla_buf *changed)
{
    static const char *const cols[] = {"Role", "A", "B"};
    mla_report_table *t;
    mla_report_keys roles = {0};
    mla_buf v[2];
    mla_status rc = MLA_OK;
    MLA_TRY(mla_report__table_add(&t, r, "inputs", "Inputs by role", cols, 3));
    for (size_t k = 0; k < N_ROLE_ORDER && rc == MLA_OK; k++)
        rc = mla_report__keys_add(&roles, role_order[k]);
    size_t fixed = roles.n;
    for (size_t s = 0; s < 2 && rc == MLA_OK; s++) {
        const mla_pb_change *c = x[s].s->change;
        for (size_t i = 0; i < c->n_inputs && rc == MLA_OK; i++)
            if (!role_listed(c->inputs[i]->role))
                rc = mla_report__keys_add(&roles, c->inputs[i]->role);
    }
    if (rc != MLA_OK) {
        mla_report__keys_dispose(&roles);
        return rc;
    }
    /* Sort only the extra roles, keeping the reader's order first. */
    mla_report_keys extra = {roles.v + fixed, roles.n - fixed, roles.n - fixed};
    mla_report__keys_sort(&extra);
    roles.n = fixed + extra.n;
    mla_buf_init(&v[0], 4096);
    mla_buf_init(&v[1], 4096);
    *n_changed = *n_roles = 0;
    for (size_t k = 0; k < roles.n && rc == MLA_OK; k++) {
        bool any[2];
        for (size_t s = 0; s < 2 && rc == MLA_OK; s++)
            rc = inputs_of(&v[s], &any[s], x[s].s->change, roles.v[k]);
        if (rc != MLA_OK) break;
        if (!any[0] && !any[1]) continue;
        (*n_roles)++;
        rc = row(t, roles.v[k], (const char *)v[0].ptr, any[0] ? x[0].s->seq : MLA_REPORT_NO_SEQ,
                 (const char *)v[1].ptr, any[1] ? x[1].s->seq : MLA_REPORT_NO_SEQ);
        if (rc == MLA_OK && !mla_slice_eq(mla_buf_slice(&v[0]), mla_buf_slice(&v[1]))) {
            (*n_changed)++;
            rc = mla_buf_printf(changed, "%s%s", changed->len ? ", " : "", roles.v[k]);
        }
    }
    if (rc == MLA_OK)
        rc = mla_report__table_intro(t, *n_roles ? "The inputs each record names, by role."
                                                 : "Neither record names inputs.");
    if (rc == MLA_OK) rc = cstr_end(changed);
    mla_buf_dispose(&v[1]);
    mla_buf_dispose(&v[0]);
    mla_report__keys_dispose(&roles);
    return rc;
}

/* The first input of c with role, and its own record in evidence. */
static const mla_pb_input *input_with(const mla_report *r, const mla_pb_change *c, const char *role,
                                      mla_buf *id, const mla_report_entry **rec, mla_status *rc)
{
    *rec = NULL;
    *rc = MLA_OK;
    for (size_t i = 0; i < c->n_inputs; i++) {
        if (strcmp(c->inputs[i]->role, role) != 0) continue;
        if ((*rc = mla_report__identity(id, c->inputs[i]->artifact)) != MLA_OK) return NULL;
        *rec = mla_report__subject_entry(r, (const char *)id->ptr, 0);
        return c->inputs[i];
    }
    return NULL;
}

/* The "environment" or "code" table: the inputs of that role on each side,
 * their digests and attributes as their own records give them. Only when
 * either side has one. */
static mla_status role_table(mla_report *r, const side *x, const char *role, const char *title)
{
    static const char *const cols[] = {"Key", "A", "B"};
    const mla_pb_input *in[2];
    const mla_report_entry *rec[2];
    mla_buf id[2], d[2];
    mla_report_keys keys = {0};
    mla_report_table *t;
    mla_status rc = MLA_OK, rc1 = MLA_OK;
    for (size_t s = 0; s < 2; s++) {
        mla_buf_init(&id[s], IDENTITY_MAX);
        mla_buf_init(&d[s], 128);
    }
    for (size_t s = 0; s < 2 && rc == MLA_OK; s++) {
        in[s] = input_with(r, x[s].s->change, role, &id[s], &rec[s], &rc1);
        rc = rc1;
        if (rc == MLA_OK && !in[s]) rc = mla_buf_set(&id[s], mla_slice_cstr("—"));
        if (rc == MLA_OK) rc = cstr_end(&id[s]);
        if (rc == MLA_OK && rec[s]) {
            const mla_pb_artifact *a = rec[s]->change->subject;
            rc = mla_report__digest(&d[s], mla_slice_make(a->digest.data, a->digest.len));
        } else if (rc == MLA_OK) {
            rc = mla_buf_set(&d[s], mla_slice_cstr("—"));
            if (rc == MLA_OK) rc = cstr_end(&d[s]);
        }
    }
    if (rc != MLA_OK || (!in[0] && !in[1])) goto out;
    if ((rc = mla_report__table_add(&t, r, role, title, cols, 3)) != MLA_OK) goto out;
    if ((rc = mla_report__table_intro(t,
                                      "The %s input of each version, as its own record "
                                      "describes it.",
                                      role)) != MLA_OK)
        goto out;
    uint64_t ia = in[0] ? x[0].s->seq : MLA_REPORT_NO_SEQ;
    uint64_t ib = in[1] ? x[1].s->seq : MLA_REPORT_NO_SEQ;
    uint64_t ra = rec[0] ? rec[0]->seq : MLA_REPORT_NO_SEQ;
    uint64_t rb = rec[1] ? rec[1]->seq : MLA_REPORT_NO_SEQ;
    if ((rc = row(t, "artifact", (const char *)id[0].ptr, ia, (const char *)id[1].ptr, ib)) !=
            MLA_OK ||
        (rc = row(t, "digest", (const char *)d[0].ptr, ra, (const char *)d[1].ptr, rb)) != MLA_OK)
        goto out;
    const mla_pb_change *ca = rec[0] ? rec[0]->change : NULL;
    const mla_pb_change *cb = rec[1] ? rec[1]->change : NULL;
    if ((rc = attribute_keys(&keys, ca, cb)) != MLA_OK) goto out;
    for (size_t i = 0; i < keys.n && rc == MLA_OK; i++) {
        const char *va = mla_report__attribute(ca, keys.v[i]);
        const char *vb = mla_report__attribute(cb, keys.v[i]);
        rc = row(t, keys.v[i], va ? va : "—", va ? ra : MLA_REPORT_NO_SEQ, vb ? vb : "—",
                 vb ? rb : MLA_REPORT_NO_SEQ);
    }
out:
    mla_report__keys_dispose(&keys);
    for (size_t s = 0; s < 2; s++) {
        mla_buf_dispose(&d[s]);
        mla_buf_dispose(&id[s]);
    }
    return rc;
}

/* A version's value of metric: its latest EVALUATION's, else its record's
 * (as the policy's regression rule reads it). */
static bool metric_of(const mla_report *r, const side *x, const char *metric, double *v,
                      uint64_t *seq)
{
    for (size_t i = r->ev.n_entries; i-- > 0;) {
        const mla_report_entry *e = &r->ev.entries[i];
        if (mla_report__evaluates(e->change, x->id) && mla_report__metric(e->change, metric, v)) {
            *seq = e->seq;
            return true;
        }
    }
    *seq = x->s->seq;
    return mla_report__metric(x->s->change, metric, v);
}

/* Every metric either version reports (records and evaluations). */
static mla_status metric_keys(mla_report_keys *k, const mla_report *r, const side *x)
{
    for (size_t s = 0; s < 2; s++) {
        const mla_pb_change *c = x[s].s->change;
        for (size_t i = 0; i < c->n_metrics; i++)
            MLA_TRY(mla_report__keys_add(k, c->metrics[i]->key));
        for (size_t j = 0; j < r->ev.n_entries; j++) {
            const mla_pb_change *e = r->ev.entries[j].change;
            if (!mla_report__evaluates(e, x[s].id)) continue;
            for (size_t i = 0; i < e->n_metrics; i++)
                MLA_TRY(mla_report__keys_add(k, e->metrics[i]->key));
        }
    }
    mla_report__keys_sort(k);
    return MLA_OK;
}

/* The "metrics" table; *biggest gets the largest change relative to A's
 * value (metrics have different scales), for the summary. */
static mla_status metrics_table(mla_report *r, const side *x, mla_buf *biggest)
{
    static const char *const cols[] = {"Metric", "A", "B", "Delta"};
    mla_report_table *t;
    mla_report_keys keys = {0};
    double big = -1;
    mla_status rc;
    MLA_TRY(mla_report__table_add(&t, r, "metrics", "Metrics", cols, 4));
    if ((rc = metric_keys(&keys, r, x)) != MLA_OK) goto out;
    rc = mla_report__table_intro(t, keys.n ? "Each metric from the version's latest EVALUATION "
                                             "reporting it, else from its own record; Delta is B "
                                             "minus A."
                                           : "Neither version reports metrics.");
    for (size_t i = 0; i < keys.n && rc == MLA_OK; i++) {
        double v[2] = {0, 0};
        uint64_t seq[2];
        bool has[2];
        char num[2][MLA_REPORT_NUM_LEN], delta[MLA_REPORT_NUM_LEN] = "—";
        for (size_t s = 0; s < 2; s++) {
            has[s] = metric_of(r, &x[s], keys.v[i], &v[s], &seq[s]);
            if (has[s])
                mla_report__num(num[s], v[s]);
            else
                memcpy(num[s], "—", sizeof "—");
        }
        if (has[0] && has[1]) {
            double dv = mla_report__difference(v[1], v[0]), base = v[0] < 0 ? -v[0] : v[0];
            double mag = (dv < 0 ? -dv : dv) / (base > 1e-12 ? base : 1e-12);
            mla_report__delta(delta, dv);
            /* Ties go to the first metric by name, so the summary is stable. */
            if (mag > big) {
                big = mag;
                mla_buf_clear(biggest);
                rc = mla_buf_printf(biggest, "%s, from %s to %s (%s)", keys.v[i], num[0], num[1],
                                    delta);
                if (rc == MLA_OK) rc = cstr_end(biggest);
            }
        }
        const char *texts[4] = {keys.v[i], num[0], num[1], delta};
        const uint64_t seqs[4] = {MLA_REPORT_NO_SEQ, has[0] ? seq[0] : MLA_REPORT_NO_SEQ,
                                  has[1] ? seq[1] : MLA_REPORT_NO_SEQ, MLA_REPORT_NO_SEQ};
        if (rc == MLA_OK) rc = mla_report__row_add(t, texts, seqs);
    }
out:
    mla_report__keys_dispose(&keys);
    return rc;
}

mla_status mla_report__diff_build(mla_report *r)
{
    side x[2] = {{mla_report__param(r, "a"), NULL}, {mla_report__param(r, "b"), NULL}};
    static const char *const field[2] = {"params.a", "params.b"};
    size_t n_params = 0, n_params_changed, n_roles, n_roles_changed;
    bool same_digest;
    mla_buf params_changed, roles_changed, biggest, title;
    mla_status rc;
    for (size_t s = 0; s < 2; s++) {
        if (!x[s].id || !x[s].id[0]) return mla_err(MLA_EINVAL, "%s: missing", field[s]);
        if (!(x[s].s = mla_report__subject_entry(r, x[s].id, 0)))
            return mla_err(MLA_ECORRUPT, "the version %s has no entry in the evidence", x[s].id);
    }
    mla_buf_init(&params_changed, 64 * 1024);
    mla_buf_init(&roles_changed, 64 * 1024);
    mla_buf_init(&biggest, 4096);
    mla_buf_init(&title, 4 * IDENTITY_MAX);
    if ((rc = mla_buf_printf(&title, "%s compared with %s", x[0].id, x[1].id)) != MLA_OK ||
        (rc = cstr_end(&title)) != MLA_OK)
        goto out;
    mla_free(r->title);
    if (!(r->title = mla_report__strdup((const char *)title.ptr))) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    if ((rc = artifact_table(r, x, &same_digest)) != MLA_OK ||
        (rc = parameters_table(r, x, &n_params_changed, &n_params, &params_changed)) != MLA_OK ||
        (rc = inputs_table(r, x, &n_roles_changed, &n_roles, &roles_changed)) != MLA_OK ||
        (rc = role_table(r, x, "environment", "Environment")) != MLA_OK ||
        (rc = role_table(r, x, "code", "Code")) != MLA_OK ||
        (rc = metrics_table(r, x, &biggest)) != MLA_OK)
        goto out;

    for (size_t s = 0; s < 2 && rc == MLA_OK; s++) {
        char when[MLA_REPORT_TIME_LEN];
        const mla_report_entry *e = x[s].s;
        mla_report__time(when, e->entry->ledger_time_ns);
        rc = mla_report__say(r, e->seq, "%s is %s, recorded as %s at %s by %s: %s", s ? "B" : "A",
                             x[s].id, mla_codec_kind_name(e->change->kind), when,
                             e->change->actor[0] ? e->change->actor : "no actor named",
                             e->change->reason);
    }
    if (rc != MLA_OK || (rc = mla_report__say(r, MLA_REPORT_NO_SEQ,
                                              same_digest ? "Their digests are the same."
                                                          : "Their digests differ.")) != MLA_OK)
        goto out;
    if (n_params_changed)
        rc = mla_report__say(r, MLA_REPORT_NO_SEQ, "%zu of %zu parameters differ: %s.",
                             n_params_changed, n_params, (const char *)params_changed.ptr);
    else
        rc = mla_report__say(r, MLA_REPORT_NO_SEQ, "All %zu parameters are the same.", n_params);
    if (rc != MLA_OK) goto out;
    if (n_roles_changed)
        rc = mla_report__say(r, MLA_REPORT_NO_SEQ, "%zu of %zu input roles differ: %s.",
                             n_roles_changed, n_roles, (const char *)roles_changed.ptr);
    else
        rc = mla_report__say(r, MLA_REPORT_NO_SEQ, "The inputs are the same in all %zu roles.",
                             n_roles);
    if (rc != MLA_OK) goto out;
    if (biggest.len)
        rc = mla_report__say(r, MLA_REPORT_NO_SEQ,
                             "The largest metric change, relative to A, is %s.",
                             (const char *)biggest.ptr);
    else
        rc = mla_report__say(r, MLA_REPORT_NO_SEQ, "No metric is reported for both versions.");
out:
    mla_buf_dispose(&title);
    mla_buf_dispose(&biggest);
    mla_buf_dispose(&roles_changed);
    mla_buf_dispose(&params_changed);
    return rc;
}
