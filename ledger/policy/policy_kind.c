/* policy_kind: the per-kind rules every change meets whatever the policy
 * file says (SPEC §6): a DEPLOYMENT deploys a recorded MODEL, a ROLLBACK
 * returns to a model deployed on that target before, an APPROVAL approves
 * something recorded, an EVALUATION evaluates a recorded MODEL. Read from the
 * 'I' records (layout in index.h), so a check costs a few short scans. */
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k

/* ---- shared index lookups ---------------------------------------------------- */

/* 'I' sub text 00: the prefix of every record about one name. */
static mla_status prefix_make(mla_buf *out, uint8_t sub, mla_slice text)
{
    mla_buf_clear(out);
    MLA_TRY(mla_buf_append_byte(out, MLA_INDEX_K_PREFIX));
    MLA_TRY(mla_buf_append_byte(out, sub));
    MLA_TRY(mla_buf_append_slice(out, text));
    return mla_buf_append_byte(out, 0);
}

typedef struct latest_ctx {
    size_t key_len; /* prefix + 8-byte seq */
    uint8_t kind; /* 0 = any */
    uint64_t before;
    bool found;
    uint64_t seq;
} latest_ctx;

static mla_status latest_visit(void *ctx, mla_slice key, mla_slice value)
{
    latest_ctx *l = ctx;
    if (key.len != l->key_len || value.len != 1)
        return mla_err(MLA_ECORRUPT, "index: subject record of %zu+%zu bytes, want %zu+1", key.len,
                       value.len, l->key_len);
    uint64_t seq = mla_get_be64(key.ptr + key.len - 8);
    /* Keys come in seq order (the store's, then the pending ones above it),
     * so the first at or past `before` ends the scan. */
    if (seq >= l->before) return MLA_ENOTFOUND;
    if (l->kind == 0 || value.ptr[0] == l->kind) {
        l->found = true;
        l->seq = seq;
    }
    return MLA_OK;
}

mla_status mla_policy__subject_latest(const mla_index_reader *r, mla_slice identity, mla_kind kind,
                                      uint64_t before, bool *found_out, uint64_t *seq_out)
{
    mla_buf prefix;
    mla_buf_init(&prefix, MLA_STORE_KEY_MAX);
    latest_ctx l = {0, (uint8_t)kind, before, false, 0};
    mla_status rc = prefix_make(&prefix, 's', identity);
    if (rc == MLA_OK) {
        l.key_len = prefix.len + 8;
        rc = mla_index_view_scan(&r->view, mla_buf_slice(&prefix), latest_visit, &l);
        if (rc == MLA_ENOTFOUND) rc = MLA_OK; /* the visitor's stop */
    }
    mla_buf_dispose(&prefix);
    if (rc != MLA_OK) return rc;
    *found_out = l.found;
    *seq_out = l.seq;
    return MLA_OK;
}

mla_status mla_policy__change_read(const mla_index_reader *r, uint64_t seq,
                                   mla_pb_entry **entry_out, mla_pb_change **change_out)
{
    mla_buf bytes;
    mla_buf_init(&bytes, MLA_LIMIT_ENTRY_BYTES);
    mla_status rc = mla_index_entry_load(r, seq, &bytes, true, entry_out, change_out);
    mla_buf_dispose(&bytes);
    /* The sequencer records Change payloads only (log_sequencer.c). */
    if (rc == MLA_OK && !*change_out) {
        rc = mla_err(MLA_ECORRUPT, "entry %llu: payload type \"%.64s\" is not a Change",
                     (unsigned long long)seq, (*entry_out)->envelope->payload_type);
        mla_codec_entry_free(*entry_out);
        *entry_out = NULL;
    }
    return rc;
}

/* ---- the rules --------------------------------------------------------------- */

/* identity must be the subject of a MODEL entry before the candidate. */
static mla_status model_recorded(const mla_index_reader *r, const mla_policy_candidate *c,
                                 const char *field, const mla_pb_artifact *a, const char *doing)
{
    mla_buf id;
    bool found = false;
    uint64_t seq;
    mla_buf_init(&id, MLA_STORE_KEY_MAX);
    mla_status rc = mla_codec_artifact_identity(&id, a);
    if (rc == MLA_OK)
        rc = mla_policy__subject_latest(r, mla_buf_slice(&id), KIND(MODEL), c->seq, &found, &seq);
    if (rc == MLA_OK && !found)
        rc = mla_err(MLA_EPOLICY,
                     "%s: %.*s was never recorded by a MODEL entry; record it before %s it", field,
                     (int)id.len, (const char *)id.ptr, doing);
    mla_buf_dispose(&id);
    return rc;
}

typedef struct deployed_ctx {
    const mla_index_reader *r;
    size_t key_len;
    uint64_t before;
    mla_buf target_key; /* 'I' 'g' target 00, then the seq is appended */
    mla_buf tmp;
    bool found;
} deployed_ctx;

/* A DEPLOYMENT whose subject is the rollback's `to`: is it on the target?
 * Its 'I' 'g' record says so without reading the entry. */
static mla_status deployed_visit(void *ctx, mla_slice key, mla_slice value)
{
    deployed_ctx *d = ctx;
    if (key.len != d->key_len || value.len != 1)
        return mla_err(MLA_ECORRUPT, "index: subject record of %zu+%zu bytes, want %zu+1", key.len,
                       value.len, d->key_len);
    uint64_t seq = mla_get_be64(key.ptr + key.len - 8);
    if (seq >= d->before) return MLA_ENOTFOUND;
    if (value.ptr[0] != KIND(DEPLOYMENT)) return MLA_OK;
    size_t mark = d->target_key.len;
    MLA_TRY(mla_buf_append(&d->target_key, key.ptr + key.len - 8, 8));
    mla_slice v;
    mla_status rc = mla_index_view_get(&d->r->view, mla_buf_slice(&d->target_key), &d->tmp, &v);
    d->target_key.len = mark;
    if (rc == MLA_ENOTFOUND) return MLA_OK; /* deployed elsewhere */
    if (rc != MLA_OK) return rc;
    d->found = true;
    return MLA_ENOTFOUND; /* stop */
}

static mla_status rollback_check(const mla_index_reader *r, const mla_policy_candidate *c)
{
    const Mlaudit__V1__Rollback *rb = c->change->rollback;
    if (c->change->detail_case != MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK || !rb || !rb->to)
        return mla_err(MLA_EINVAL, "change.rollback.to: missing");
    deployed_ctx d = {r, 0, c->seq, {0}, {0}, false};
    mla_buf id, prefix;
    mla_buf_init(&id, MLA_STORE_KEY_MAX);
    mla_buf_init(&prefix, MLA_STORE_KEY_MAX);
    mla_buf_init(&d.target_key, MLA_STORE_KEY_MAX);
    mla_buf_init(&d.tmp, 16);
    mla_status rc;
    if ((rc = mla_codec_artifact_identity(&id, rb->to)) != MLA_OK) goto out;
    if ((rc = prefix_make(&prefix, 's', mla_buf_slice(&id))) != MLA_OK) goto out;
    if ((rc = prefix_make(&d.target_key, 'g', mla_slice_cstr(rb->target))) != MLA_OK) goto out;
    d.key_len = prefix.len + 8;
    rc = mla_index_view_scan(&r->view, mla_buf_slice(&prefix), deployed_visit, &d);
    if (rc == MLA_ENOTFOUND) rc = MLA_OK;
    if (rc == MLA_OK && !d.found)
        rc = mla_err(MLA_EPOLICY,
                     "change.rollback.to: %.*s was never deployed on target \"%s\"; a rollback "
                     "returns to a model deployed there before",
                     (int)id.len, (const char *)id.ptr, rb->target);
out:
    mla_buf_dispose(&d.tmp);
    mla_buf_dispose(&d.target_key);
    mla_buf_dispose(&prefix);
    mla_buf_dispose(&id);
    return rc;
}

static mla_status approval_check(const mla_index_reader *r, const mla_policy_candidate *c)
{
    const Mlaudit__V1__Approval *a = c->change->approval;
    /* index_write.c indexes an APPROVAL under what its detail names; one
     * that names nothing would approve nothing a policy could find. */
    if (c->change->detail_case != MLAUDIT__V1__CHANGE__DETAIL_APPROVAL || !a)
        return mla_err(MLA_EPOLICY, "change.approval: missing; an APPROVAL names what it approves "
                                    "(approval.approved or approval.approved_seq)");
    if (a->approved) {
        mla_buf id;
        bool found = false;
        uint64_t seq;
        mla_buf_init(&id, MLA_STORE_KEY_MAX);
        mla_status rc = mla_codec_artifact_identity(&id, a->approved);
        if (rc == MLA_OK)
            rc = mla_policy__subject_latest(r, mla_buf_slice(&id), 0, c->seq, &found, &seq);
        if (rc == MLA_OK && !found)
            rc = mla_err(MLA_EPOLICY,
                         "change.approval.approved: %.*s was never recorded; an APPROVAL approves "
                         "something the ledger holds",
                         (int)id.len, (const char *)id.ptr);
        mla_buf_dispose(&id);
        if (rc != MLA_OK) return rc;
    }
    /* Without `approved`, approved_seq names the entry (0 is entry 0). */
    if ((a->approved_seq > 0 || !a->approved) && a->approved_seq >= c->seq)
        return mla_err(
            MLA_EPOLICY,
            "change.approval.approved_seq: %llu is not an earlier entry (this entry is seq %llu)",
            (unsigned long long)a->approved_seq, (unsigned long long)c->seq);
    return MLA_OK;
}

static mla_status evaluation_check(const mla_index_reader *r, const mla_policy_candidate *c)
{
    char field[64];
    for (size_t i = 0; i < c->change->n_inputs; i++) {
        const mla_pb_input *in = c->change->inputs[i];
        if (!in || !in->artifact || !in->role || strcmp(in->role, "evaluated-model") != 0) continue;
        snprintf(field, sizeof field, "change.inputs[%zu].artifact", i);
        MLA_TRY(model_recorded(r, c, field, in->artifact, "evaluating"));
    }
    return MLA_OK;
}

mla_status mla_policy_kind_check(const mla_index_reader *r, const mla_policy_candidate *c)
{
    const mla_pb_change *ch = c->change;
    switch (ch->kind) {
    case KIND(DEPLOYMENT):
        if (!ch->subject) return mla_err(MLA_EINVAL, "change.subject: missing");
        return model_recorded(r, c, "change.subject", ch->subject, "deploying");
    case KIND(ROLLBACK): return rollback_check(r, c);
    case KIND(APPROVAL): return approval_check(r, c);
    case KIND(EVALUATION): return evaluation_check(r, c);
    default: return MLA_OK;
    }
}
