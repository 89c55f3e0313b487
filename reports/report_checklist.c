/* report_checklist: a model's production checklist (SPEC §6) as the daemon's
 * default policy reads it (policy_rules.c): training data, code and
 * environment inputs, an EVALUATION, an APPROVAL by a key that did not sign
 * the MODEL entry, a reason. Used by the lineage and audit reports. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reports/report_int.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k

typedef struct approval_ctx {
    const mla_report *r;
    const char *const *identities;
    size_t n;
} approval_ctx;

/* approved_seq resolves through evidence: every model's own entries are
 * fetched first, and an approved entry always precedes its APPROVAL. */
static bool keep_approval(void *ctx, uint64_t seq, const mla_pb_entry *e, const mla_pb_change *c)
{
    const approval_ctx *a = ctx;
    (void)seq;
    (void)e;
    for (size_t i = 0; i < a->n; i++)
        if (mla_report__approves(a->r, c, a->identities[i])) return true;
    return false;
}

mla_status mla_report__checklists_gather(mla_report *r, mla_client *c,
                                         const char *const *identities, size_t n)
{
    approval_ctx a = {r, identities, n};
    mla_client_query q;
    if (n == 0) return MLA_OK;
    for (size_t i = 0; i < n; i++) {
        MLA_TRY(mla_report__subject_fetch(r, c, identities[i], "identity", false, NULL));
        MLA_TRY(mla_report__downstream_fetch(r, c, identities[i], mla_report__keep_evaluation,
                                             (void *)(uintptr_t)identities[i]));
    }
    /* One pass over the APPROVALs for all the models. */
    memset(&q, 0, sizeof q);
    q.kind = KIND(APPROVAL);
    return mla_report__query_fetch(r, c, &q, keep_approval, &a);
}

mla_status mla_report__checklist_gather(mla_report *r, mla_client *c, const char *identity)
{
    return mla_report__checklists_gather(r, c, &identity, 1);
}

static bool signed_by(const mla_pb_entry *e, const char *keyid)
{
    for (size_t i = 0; i < e->envelope->n_signatures; i++)
        if (strcmp(e->envelope->signatures[i]->keyid, keyid) == 0) return true;
    return false;
}

/* SPEC §6 "an APPROVAL by a different key than the model's submitter": none
 * of its signers signed the MODEL entry (a co-signature by that key is not a
 * second pair of eyes), as policy_rules.c approval_visit decides. */
static bool independent(const mla_report_entry *approval, const mla_report_entry *model)
{
    const mla_pb_envelope *env = approval->entry->envelope;
    if (env->n_signatures == 0) return false;
    for (size_t i = 0; i < env->n_signatures; i++)
        if (signed_by(model->entry, env->signatures[i]->keyid)) return false;
    return true;
}

/* One row: met (citing seq) with evidence text, or missing. */
static mla_status row(mla_report_table *t, const char *requirement, bool met, uint64_t seq,
                      const mla_buf *evidence, size_t *n_missing)
{
    const char *texts[3] = {requirement, met ? "met" : "missing",
                            met ? (const char *)evidence->ptr : "—"};
    const uint64_t seqs[3] = {MLA_REPORT_NO_SEQ, met ? seq : MLA_REPORT_NO_SEQ,
                              met ? seq : MLA_REPORT_NO_SEQ};
    if (!met) (*n_missing)++;
    return mla_report__row_add(t, texts, seqs);
}

static mla_status text(mla_buf *out, const char *fmt, ...) MLA_PRINTF(2, 3);
static mla_status text(mla_buf *out, const char *fmt, ...)
{
    char tmp[MLA_LIMIT_REASON + 1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return mla_err(MLA_EINVAL, "report: cannot format checklist evidence");
    mla_buf_clear(out);
    MLA_TRY(mla_buf_append(out, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1));
    MLA_TRY(mla_buf_append_byte(out, 0));
    out->len--;
    return MLA_OK;
}

mla_status mla_report__checklist(const mla_report *r, const char *identity, mla_report_table *t,
                                 size_t *n_missing_out)
{
    return mla_report__checklist_at(r, identity, UINT64_MAX, t, n_missing_out);
}

/* The latest entry before `before` whose subject is identity, of kind. */
static const mla_report_entry *subject_before(const mla_report *r, const char *identity,
                                              mla_kind kind, uint64_t before)
{
    for (size_t i = r->ev.n_entries; i-- > 0;) {
        const mla_report_entry *e = &r->ev.entries[i];
        if (e->seq >= before || !e->change || e->change->kind != kind) continue;
        if (mla_report__artifact_is(e->change->subject, identity)) return e;
    }
    return NULL;
}

mla_status mla_report__checklist_at(const mla_report *r, const char *identity, uint64_t before,
                                    mla_report_table *t, size_t *n_missing_out)
{
    static const struct {
        const char *role, *requirement;
    } inputs[] = {
        {"training-data", "Training data input"},
        {"code", "Code input"},
        {"environment", "Environment input"},
    };
    const mla_report_entry *m = subject_before(r, identity, KIND(MODEL), before);
    mla_buf ev, id;
    mla_status rc = MLA_OK;
    size_t n_missing = 0;
    mla_buf_init(&ev, MLA_LIMIT_REASON + 1024);
    mla_buf_init(&id, 3 * MLA_LIMIT_NAME + 3);
    *n_missing_out = 0;
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0] && rc == MLA_OK; k++) {
        const mla_pb_input *found = NULL;
        for (size_t i = 0; m && i < m->change->n_inputs && !found; i++)
            if (strcmp(m->change->inputs[i]->role, inputs[k].role) == 0)
                found = m->change->inputs[i];
        if (found && (rc = mla_report__identity(&id, found->artifact)) == MLA_OK)
            rc = text(&ev, "the MODEL entry names %s as %s", (const char *)id.ptr, inputs[k].role);
        if (rc == MLA_OK)
            rc = row(t, inputs[k].requirement, found != NULL, found ? m->seq : 0, &ev, &n_missing);
    }
    if (rc != MLA_OK) goto out;

    /* The latest evaluation (the one a regression rule would read). */
    const mla_report_entry *eval = NULL;
    for (size_t i = 0; i < r->ev.n_entries && r->ev.entries[i].seq < before; i++)
        if (mla_report__evaluates(r->ev.entries[i].change, identity)) eval = &r->ev.entries[i];
    if (eval && (rc = mla_report__identity(&id, eval->change->subject)) == MLA_OK)
        rc = text(&ev, "%s evaluates it", (const char *)id.ptr);
    if (rc != MLA_OK || (rc = row(t, "Evaluation of the model", eval != NULL, eval ? eval->seq : 0,
                                  &ev, &n_missing)) != MLA_OK)
        goto out;

    /* The first independent approval, as the policy's scan stops at it. */
    const mla_report_entry *approval = NULL;
    for (size_t i = 0; m && i < r->ev.n_entries && r->ev.entries[i].seq < before && !approval;
         i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        if (mla_report__approves(r, e->change, identity) && independent(e, m)) approval = e;
    }
    if (approval)
        rc = text(&ev, "approved by %s, signed by none of the MODEL entry's keys",
                  approval->change->actor[0] ? approval->change->actor : "an unnamed actor");
    if (rc != MLA_OK || (rc = row(t, "Approval by another key", approval != NULL,
                                  approval ? approval->seq : 0, &ev, &n_missing)) != MLA_OK)
        goto out;

    bool reason = m && m->change->reason[0];
    if (reason) rc = text(&ev, "%s", m->change->reason);
    if (rc == MLA_OK)
        rc = row(t, "Reason on the MODEL entry", reason, reason ? m->seq : 0, &ev, &n_missing);
    if (rc == MLA_OK) *n_missing_out = n_missing;
out:
    mla_buf_dispose(&id);
    mla_buf_dispose(&ev);
    return rc;
}
