/* policy_rules: the configured compliance rules (SPEC §6) for a DEPLOYMENT
 * to a production stage: the model's MODEL entry has the required inputs and
 * attributes, an EVALUATION evaluated it, someone other than its signer
 * approved it, the change says why, and no metric regressed past its
 * threshold against the model it replaces. One line per unmet rule. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k

/* What the ledger holds about one model identity, before the candidate. */
typedef struct model_facts {
    mla_buf id;
    bool have_model; /* a MODEL entry records it: the latest is model_seq */
    uint64_t model_seq;
    mla_pb_entry *model_entry;
    mla_pb_change *model_change;
    bool have_eval; /* an EVALUATION evaluated it: the latest is eval_seq */
    uint64_t eval_seq;
    mla_pb_entry *eval_entry;
    mla_pb_change *eval_change;
} model_facts;

static void facts_init(model_facts *f)
{
    memset(f, 0, sizeof *f);
    mla_buf_init(&f->id, MLA_STORE_KEY_MAX);
}

static void facts_dispose(model_facts *f)
{
    mla_codec_change_free(f->eval_change);
    mla_codec_entry_free(f->eval_entry);
    mla_codec_change_free(f->model_change);
    mla_codec_entry_free(f->model_entry);
    mla_buf_dispose(&f->id);
}

static mla_status prefix_make(mla_buf *out, uint8_t sub, mla_slice text)
{
    mla_buf_clear(out);
    MLA_TRY(mla_buf_append_byte(out, MLA_INDEX_K_PREFIX));
    MLA_TRY(mla_buf_append_byte(out, sub));
    MLA_TRY(mla_buf_append_slice(out, text));
    return mla_buf_append_byte(out, 0);
}

typedef struct eval_ctx {
    const mla_index_reader *r;
    size_t prefix_len; /* 'I' 'w' model 00 */
    uint64_t before;
    mla_buf key; /* scratch: 'I' 's' subject 00 seq */
    mla_buf tmp;
    model_facts *f;
} eval_ctx;

/* An edge 'I' 'w' model 00 subject 00 seq -> role. It counts when the role
 * is evaluated-model and the entry at seq is an EVALUATION, which the
 * subject's 'I' 's' record tells without reading the entry. */
static mla_status eval_visit(void *ctx, mla_slice key, mla_slice value)
{
    eval_ctx *e = ctx;
    if (key.len < e->prefix_len + 1 + 8 || key.ptr[key.len - 9] != 0)
        return mla_err(MLA_ECORRUPT, "index: lineage record of %zu bytes", key.len);
    uint64_t seq = mla_get_be64(key.ptr + key.len - 8);
    if (seq >= e->before || !mla_slice_eq(value, mla_slice_cstr("evaluated-model"))) return MLA_OK;
    mla_slice subject = mla_slice_make(key.ptr + e->prefix_len, key.len - e->prefix_len - 9);
    MLA_TRY(prefix_make(&e->key, 's', subject));
    MLA_TRY(mla_buf_append(&e->key, key.ptr + key.len - 8, 8));
    mla_slice kind;
    mla_status rc = mla_index_view_get(&e->r->view, mla_buf_slice(&e->key), &e->tmp, &kind);
    if (rc != MLA_OK)
        return rc == MLA_ENOTFOUND
                   ? mla_err(MLA_ECORRUPT, "index: lineage edge of entry %llu without its subject",
                             (unsigned long long)seq)
                   : rc;
    if (kind.len != 1) return mla_err(MLA_ECORRUPT, "index: subject record of %zu bytes", kind.len);
    if (kind.ptr[0] != KIND(EVALUATION)) return MLA_OK;
    if (!e->f->have_eval || seq > e->f->eval_seq) e->f->eval_seq = seq;
    e->f->have_eval = true;
    return MLA_OK;
}

/* Gather the facts about identity `id` from the entries before `before`,
 * and read its latest MODEL and EVALUATION entries. */
static mla_status facts_load(model_facts *f, const mla_index_reader *r, mla_slice id,
                             uint64_t before)
{
    MLA_TRY(mla_buf_set(&f->id, id));
    MLA_TRY(mla_policy__subject_latest(r, id, KIND(MODEL), before, &f->have_model, &f->model_seq));
    eval_ctx e = {r, 0, before, {0}, {0}, f};
    mla_buf prefix;
    mla_buf_init(&prefix, MLA_STORE_KEY_MAX);
    mla_buf_init(&e.key, MLA_STORE_KEY_MAX);
    mla_buf_init(&e.tmp, 16);
    mla_status rc = prefix_make(&prefix, 'w', id);
    if (rc == MLA_OK) {
        e.prefix_len = prefix.len;
        rc = mla_index_view_scan(&r->view, mla_buf_slice(&prefix), eval_visit, &e);
    }
    mla_buf_dispose(&e.tmp);
    mla_buf_dispose(&e.key);
    mla_buf_dispose(&prefix);
    if (rc != MLA_OK) return rc;
    if (f->have_model)
        MLA_TRY(mla_policy__change_read(r, f->model_seq, &f->model_entry, &f->model_change));
    if (f->have_eval)
        MLA_TRY(mla_policy__change_read(r, f->eval_seq, &f->eval_entry, &f->eval_change));
    return MLA_OK;
}

/* ---- violations -------------------------------------------------------------- */

typedef struct report {
    mla_buf *out;
    const char *stage;
    const model_facts *m;
    size_t mark; /* where the line being written starts */
    bool full; /* a line did not fit in out->max: later ones are dropped */
} report;

/* Append to the line being written. The caller's buffer is capped (the log
 * gives MLA_LIMIT_REASON): a line that does not fit is taken back whole and
 * the list ends with a note instead, so a long list is never an error. */
static mla_status say(report *rp, const char *fmt, ...) MLA_PRINTF(2, 3);
static mla_status say(report *rp, const char *fmt, ...)
{
    char text[2048];
    if (rp->full) return MLA_OK;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0) return mla_err(MLA_EINVAL, "policy: cannot format a violation");
    size_t len = (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
    mla_status rc = mla_buf_append(rp->out, text, len);
    if (rc == MLA_ELIMIT) {
        rp->out->len = rp->mark;
        rp->full = true;
        return MLA_OK;
    }
    return rc;
}

/* Start a line: "<stage> deployment of <model>: ". */
static mla_status line_start(report *rp)
{
    if (rp->full) return MLA_OK;
    rp->mark = rp->out->len;
    if (rp->out->len > 0) MLA_TRY(say(rp, "\n"));
    return say(rp, "%s deployment of %.*s: ", rp->stage, (int)rp->m->id.len,
               (const char *)rp->m->id.ptr);
}

/* After the last line: say that some did not fit, if that note fits. */
static void report_end(report *rp)
{
    static const char note[] = "\n(more unmet rules: the list exceeds its size limit)";
    if (!rp->full) return;
    if (rp->out->max - rp->out->len >= sizeof note - 1)
        mla_ignore(mla_buf_append(rp->out, note, sizeof note - 1)); /* room was checked */
}

static bool has_input_role(const mla_pb_change *c, const char *role)
{
    for (size_t i = 0; i < c->n_inputs; i++)
        if (c->inputs[i] && c->inputs[i]->role && strcmp(c->inputs[i]->role, role) == 0)
            return true;
    return false;
}

static bool has_attribute(const mla_pb_change *c, const char *key)
{
    for (size_t i = 0; i < c->n_attributes; i++)
        if (c->attributes[i] && strcmp(c->attributes[i]->key, key) == 0) return true;
    return false;
}

static bool metric_of(const mla_pb_change *c, const char *name, double *out)
{
    for (size_t i = 0; c && i < c->n_metrics; i++) {
        if (c->metrics[i] && strcmp(c->metrics[i]->key, name) == 0) {
            *out = c->metrics[i]->value;
            return true;
        }
    }
    return false;
}

/* One line listing the required names the MODEL change lacks. */
static mla_status missing_rule(report *rp, const mla_policy_list *want, bool inputs)
{
    const mla_pb_change *mc = rp->m->model_change;
    bool any = false;
    for (size_t i = 0; i < want->n; i++) {
        bool have = inputs ? has_input_role(mc, want->item[i]) : has_attribute(mc, want->item[i]);
        if (have) continue;
        if (!any) {
            MLA_TRY(line_start(rp));
            MLA_TRY(say(rp, "its MODEL entry (seq %llu) lacks required %s: %s",
                        (unsigned long long)rp->m->model_seq, inputs ? "inputs" : "attributes",
                        want->item[i]));
        } else {
            MLA_TRY(say(rp, ", %s", want->item[i]));
        }
        any = true;
    }
    return MLA_OK;
}

static bool keyid_signed(const mla_pb_entry *e, const char *keyid)
{
    for (size_t i = 0; i < e->envelope->n_signatures; i++)
        if (strcmp(e->envelope->signatures[i]->keyid, keyid) == 0) return true;
    return false;
}

typedef struct approval_ctx {
    const mla_index_reader *r;
    size_t key_len;
    uint64_t before;
    const mla_pb_entry *model_entry;
    size_t n_seen; /* approvals of the model, all by its signer so far */
    uint64_t last_seen;
    bool independent;
} approval_ctx;

/* 'I' 'p' model 00 seq: an APPROVAL of the model. It counts when none of
 * its signers signed the MODEL entry (SPEC §6: "an APPROVAL by a different
 * key than the model's submitter"; a co-signature by that key is not an
 * independent approval). */
static mla_status approval_visit(void *ctx, mla_slice key, mla_slice value)
{
    approval_ctx *a = ctx;
    (void)value;
    if (key.len != a->key_len)
        return mla_err(MLA_ECORRUPT, "index: approval record of %zu bytes, want %zu", key.len,
                       a->key_len);
    uint64_t seq = mla_get_be64(key.ptr + key.len - 8);
    if (seq >= a->before) return MLA_ENOTFOUND;
    mla_pb_entry *e;
    mla_pb_change *c;
    MLA_TRY(mla_policy__change_read(a->r, seq, &e, &c));
    bool independent = e->envelope->n_signatures > 0;
    for (size_t i = 0; i < e->envelope->n_signatures && independent; i++)
        if (keyid_signed(a->model_entry, e->envelope->signatures[i]->keyid)) independent = false;
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    if (independent) {
        a->independent = true;
        return MLA_ENOTFOUND; /* one is enough */
    }
    a->n_seen++;
    a->last_seen = seq;
    return MLA_OK;
}

static mla_status approval_rule(report *rp, const mla_index_reader *r, uint64_t before)
{
    const model_facts *m = rp->m;
    approval_ctx a = {r, 0, before, m->model_entry, 0, 0, false};
    mla_buf prefix;
    mla_buf_init(&prefix, MLA_STORE_KEY_MAX);
    mla_status rc = prefix_make(&prefix, 'p', mla_buf_slice(&m->id));
    if (rc == MLA_OK) {
        a.key_len = prefix.len + 8;
        rc = mla_index_view_scan(&r->view, mla_buf_slice(&prefix), approval_visit, &a);
        if (rc == MLA_ENOTFOUND) rc = MLA_OK;
    }
    mla_buf_dispose(&prefix);
    if (rc != MLA_OK || a.independent) return rc;
    MLA_TRY(line_start(rp));
    MLA_TRY(say(rp, "no APPROVAL by a key other than the model's signer (MODEL entry seq %llu",
                (unsigned long long)m->model_seq));
    if (a.n_seen > 0)
        MLA_TRY(say(rp, "; %zu APPROVAL(s) signed by that key, the last seq %llu", a.n_seen,
                    (unsigned long long)a.last_seen));
    return say(rp, ")");
}

/* A model's value of a metric: its latest EVALUATION's, else its MODEL
 * change's. `src` names the entry it came from. */
static bool metric_find(const model_facts *f, const char *name, double *v, const char **src,
                        uint64_t *src_seq)
{
    if (metric_of(f->eval_change, name, v)) {
        *src = "EVALUATION";
        *src_seq = f->eval_seq;
        return true;
    }
    if (metric_of(f->model_change, name, v)) {
        *src = "MODEL";
        *src_seq = f->model_seq;
        return true;
    }
    return false;
}

/* Whether `moved` exceeds `allowed`: with a little slack, so that 0.92
 * falling to 0.90 is within "higher 0.02" despite binary fractions. */
static bool beyond(double moved, double allowed, double scale)
{
    return moved > allowed && moved - allowed > 1e-9 * fmax(1.0, fabs(scale));
}

/* The model the deployment replaces: the one serving the target with the
 * largest traffic fraction at the candidate's time, other than the
 * candidate itself (comparing a model with itself shows nothing). */
static mla_status replaced_find(mla_buf *out, bool *found, const mla_index_reader *r,
                                const char *target, int64_t t_ns, mla_slice self)
{
    mla_index_timeline tl;
    memset(&tl, 0, sizeof tl);
    *found = false;
    MLA_TRY(mla_index_timeline_at(&tl, r, target, t_ns));
    const mla_index_serving *best = NULL;
    for (size_t i = 0; i < tl.n_serving; i++) {
        const mla_index_serving *s = &tl.serving[i];
        if (!s->model || mla_slice_eq(mla_slice_cstr(s->model), self)) continue;
        if (!best || s->traffic_fraction > best->traffic_fraction) best = s;
    }
    mla_status rc = MLA_OK;
    if (best) {
        rc = mla_buf_set(out, mla_slice_cstr(best->model));
        *found = rc == MLA_OK;
    }
    mla_index_timeline_dispose(&tl);
    return rc;
}

static mla_status regression_rules(const mla_policy *p, report *rp, const mla_index_reader *r,
                                   const mla_policy_candidate *c)
{
    const model_facts *m = rp->m;
    model_facts old;
    mla_buf old_id;
    bool found;
    facts_init(&old);
    mla_buf_init(&old_id, MLA_STORE_KEY_MAX);
    mla_status rc = replaced_find(&old_id, &found, r, c->change->deployment->target,
                                  c->ledger_time_ns, mla_buf_slice(&m->id));
    /* A first deployment replaces nothing: nothing to regress against. */
    if (rc != MLA_OK || !found) goto out;
    if ((rc = facts_load(&old, r, mla_buf_slice(&old_id), c->seq)) != MLA_OK) goto out;
    for (size_t i = 0; i < p->n_metrics; i++) {
        const mla_policy_metric *pm = &p->metrics[i];
        double nv, ov;
        const char *nsrc, *osrc;
        uint64_t nseq, oseq;
        if (!metric_find(m, pm->name, &nv, &nsrc, &nseq)) {
            if ((rc = line_start(rp)) != MLA_OK) goto out;
            rc = say(rp,
                     "metric %s: %.*s has no value to compare with %.*s (no EVALUATION or MODEL "
                     "entry reports it)",
                     pm->name, (int)m->id.len, (const char *)m->id.ptr, (int)old_id.len,
                     (const char *)old_id.ptr);
            if (rc != MLA_OK) goto out;
            continue;
        }
        /* The replaced model's missing value is no fault of the candidate. */
        if (!metric_find(&old, pm->name, &ov, &osrc, &oseq)) continue;
        double moved = pm->higher_is_better ? ov - nv : nv - ov;
        if (!beyond(moved, pm->max_change, ov)) continue;
        if ((rc = line_start(rp)) != MLA_OK) goto out;
        rc = say(rp,
                 "metric %s %s from %g (%.*s, %s seq %llu) to %g (%s seq %llu), more than the "
                 "allowed %g",
                 pm->name, pm->higher_is_better ? "fell" : "rose", ov, (int)old_id.len,
                 (const char *)old_id.ptr, osrc, (unsigned long long)oseq, nv, nsrc,
                 (unsigned long long)nseq, pm->max_change);
        if (rc != MLA_OK) goto out;
    }
out:
    mla_buf_dispose(&old_id);
    facts_dispose(&old);
    return rc;
}

static bool stage_listed(const mla_policy *p, const char *stage)
{
    for (size_t i = 0; stage && i < p->stages.n; i++)
        if (strcmp(p->stages.item[i], stage) == 0) return true;
    return false;
}

mla_status mla_policy_check(const mla_policy *p, const mla_index_reader *r,
                            const mla_policy_candidate *c, mla_buf *violations)
{
    const mla_pb_change *ch = c->change;
    if (!p || ch->kind != KIND(DEPLOYMENT) ||
        ch->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT || !ch->deployment ||
        !stage_listed(p, ch->deployment->stage))
        return MLA_OK;
    if (!ch->subject) return mla_err(MLA_EINVAL, "change.subject: missing");
    model_facts m;
    facts_init(&m);
    report rp = {violations, ch->deployment->stage, &m, 0, false};
    mla_buf id;
    mla_buf_init(&id, MLA_STORE_KEY_MAX);
    mla_status rc;
    if ((rc = mla_codec_artifact_identity(&id, ch->subject)) != MLA_OK) goto out;
    if ((rc = facts_load(&m, r, mla_buf_slice(&id), c->seq)) != MLA_OK) goto out;

    bool model_rules = p->inputs.n > 0 || p->attributes.n > 0 || p->require_approval;
    if (model_rules && !m.have_model) {
        if ((rc = line_start(&rp)) != MLA_OK) goto out;
        rc = say(
            &rp,
            "no MODEL entry records it, so its inputs, attributes and approval cannot be checked");
        if (rc != MLA_OK) goto out;
    }
    if (m.have_model && p->inputs.n > 0 && (rc = missing_rule(&rp, &p->inputs, true)) != MLA_OK)
        goto out;
    if (p->require_evaluation && !m.have_eval) {
        if ((rc = line_start(&rp)) != MLA_OK) goto out;
        if (m.have_model)
            rc = say(&rp, "no EVALUATION has it as evaluated-model input (MODEL entry seq %llu)",
                     (unsigned long long)m.model_seq);
        else
            rc = say(&rp, "no EVALUATION has it as evaluated-model input");
        if (rc != MLA_OK) goto out;
    }
    if (m.have_model && p->require_approval && (rc = approval_rule(&rp, r, c->seq)) != MLA_OK)
        goto out;
    /* The codec already refuses an empty reason; the rule stays so the
     * policy says what it requires. */
    if (p->require_reason && (!ch->reason || !ch->reason[0])) {
        if ((rc = line_start(&rp)) != MLA_OK) goto out;
        if ((rc = say(&rp, "the change gives no reason")) != MLA_OK) goto out;
    }
    if (m.have_model && p->attributes.n > 0 &&
        (rc = missing_rule(&rp, &p->attributes, false)) != MLA_OK)
        goto out;
    if (p->n_metrics > 0 && (rc = regression_rules(p, &rp, r, c)) != MLA_OK) goto out;
    report_end(&rp);
out:
    mla_buf_dispose(&id);
    facts_dispose(&m);
    return rc;
}
