/* index_timeline: deployment timelines (SPEC §6: "which model served target
 * X at time T" answered with proof): replay a target's DEPLOYMENT, ROLLBACK
 * and RETIREMENT entries up to T, and name the contiguous run of them that,
 * with their back-links, shows nothing on the target was left out. */
#include <string.h>

#include "index/index.h"

/* A model scaled below this share has left the target (rounding residue). */
#define FRACTION_EPSILON 1e-12

static bool target_kind(int kind)
{
    return kind == MLAUDIT__V1__KIND__KIND_DEPLOYMENT || kind == MLAUDIT__V1__KIND__KIND_ROLLBACK ||
           kind == MLAUDIT__V1__KIND__KIND_RETIREMENT;
}

static mla_status target_prefix(uint8_t *k, size_t *len, const char *target)
{
    if (!target || target[0] == '\0') return mla_err(MLA_EINVAL, "target: empty");
    size_t n = strlen(target);
    if (n > MLA_LIMIT_NAME)
        return mla_err(MLA_EINVAL, "target: %zu bytes exceeds limit %d", n, MLA_LIMIT_NAME);
    k[0] = MLA_INDEX_K_PREFIX;
    k[1] = 'g';
    memcpy(k + 2, target, n);
    k[2 + n] = 0;
    *len = n + 3;
    return MLA_OK;
}

/* ---- the target's history: seqs of its D/R/R entries ------------------ */

typedef struct seqlist {
    uint64_t *v;
    size_t n, cap;
    size_t prefix_len;
    uint64_t tree_size;
} seqlist;

static mla_status seqlist_push(seqlist *l, uint64_t seq)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16, bytes;
        if (!mla_mul_size(&bytes, cap, sizeof *l->v))
            return mla_err(MLA_ELIMIT, "target: history of %zu entries", cap);
        uint64_t *v = mla_realloc(l->v, bytes);
        if (!v) return mla_err(MLA_ENOMEM, "target: out of memory for %zu entries", cap);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = seq;
    return MLA_OK;
}

static mla_status history_visit(void *ctx, mla_slice key, mla_slice value)
{
    seqlist *l = ctx;
    if (key.len != l->prefix_len + 8 || value.len != 1)
        return mla_err(MLA_ECORRUPT, "index: target record of %zu + %zu bytes is malformed",
                       key.len, value.len);
    uint64_t seq = mla_get_be64(key.ptr + l->prefix_len);
    /* DECISION_BATCH entries share the target scope but change nothing. */
    if (seq >= l->tree_size || !target_kind(value.ptr[0])) return MLA_OK;
    return seqlist_push(l, seq);
}

static mla_status history_load(seqlist *l, const mla_index_reader *r, const char *target)
{
    uint8_t k[MLA_STORE_KEY_MAX];
    memset(l, 0, sizeof *l);
    MLA_TRY(target_prefix(k, &l->prefix_len, target));
    l->tree_size = r->tree_size;
    mla_status rc =
        mla_index_view_scan(&r->view, mla_slice_make(k, l->prefix_len), history_visit, l);
    if (rc != MLA_OK) {
        mla_free(l->v);
        memset(l, 0, sizeof *l);
    }
    return rc;
}

mla_status mla_index_target_history(uint64_t **seqs_out, size_t *n_out, const mla_index_reader *r,
                                    const char *target)
{
    seqlist l;
    *seqs_out = NULL;
    *n_out = 0;
    MLA_TRY(history_load(&l, r, target));
    *seqs_out = l.v;
    *n_out = l.n;
    return MLA_OK;
}

/* ---- replay -------------------------------------------------------------- */

/* The stage each model last had on the target, for ROLLBACK. */
typedef struct staged {
    char *model, *stage;
    uint64_t seq; /* the DEPLOYMENT that gave it */
} staged;

typedef struct replay {
    mla_index_timeline *out;
    uint64_t origin[MLA_INDEX_SERVING_MAX]; /* oldest entry behind each serving[i] */
    staged *stages;
    size_t n_stages, cap_stages;
    const char *target;
} replay;

static void serving_remove(replay *p, size_t i)
{
    mla_index_timeline *t = p->out;
    mla_free(t->serving[i].model);
    mla_free(t->serving[i].stage);
    t->n_serving--;
    memmove(&t->serving[i], &t->serving[i + 1], (t->n_serving - i) * sizeof t->serving[0]);
    memmove(&p->origin[i], &p->origin[i + 1], (t->n_serving - i) * sizeof p->origin[0]);
}

static void serving_clear(replay *p)
{
    while (p->out->n_serving) serving_remove(p, p->out->n_serving - 1);
}

static long serving_find(const replay *p, const char *model)
{
    for (size_t i = 0; i < p->out->n_serving; i++)
        if (strcmp(p->out->serving[i].model, model) == 0) return (long)i;
    return -1;
}

static mla_status serving_add(replay *p, mla_buf *model, const char *stage, double fraction,
                              uint64_t seq, uint64_t origin)
{
    mla_index_timeline *t = p->out;
    if (t->n_serving == MLA_INDEX_SERVING_MAX)
        return mla_err(MLA_ELIMIT, "target: \"%.64s\" has more than %d models live at entry %llu",
                       p->target, MLA_INDEX_SERVING_MAX, (unsigned long long)seq);
    mla_index_serving *s = &t->serving[t->n_serving];
    s->model = mla_buf_cstr_new(model);
    s->stage = mla_strndup(stage ? stage : "", MLA_LIMIT_NAME);
    if (!s->model || !s->stage) {
        mla_free(s->model);
        mla_free(s->stage);
        return mla_err(MLA_ENOMEM, "timeline: out of memory for a serving model");
    }
    s->traffic_fraction = fraction;
    s->deployment_seq = seq;
    p->origin[t->n_serving] = origin;
    t->n_serving++;
    return MLA_OK;
}

static staged *stage_find(replay *p, const char *model)
{
    for (size_t i = 0; i < p->n_stages; i++)
        if (strcmp(p->stages[i].model, model) == 0) return &p->stages[i];
    return NULL;
}

static mla_status stage_remember(replay *p, const char *model, const char *stage, uint64_t seq)
{
    staged *s = stage_find(p, model);
    char *st = mla_strndup(stage ? stage : "", MLA_LIMIT_NAME);
    if (!st) return mla_err(MLA_ENOMEM, "timeline: out of memory for a stage");
    if (s) {
        mla_free(s->stage);
        s->stage = st;
        s->seq = seq;
        return MLA_OK;
    }
    if (p->n_stages == p->cap_stages) {
        size_t cap = p->cap_stages ? p->cap_stages * 2 : 8, bytes;
        staged *v = NULL;
        if (mla_mul_size(&bytes, cap, sizeof *v)) v = mla_realloc(p->stages, bytes);
        if (!v) {
            mla_free(st);
            return mla_err(MLA_ENOMEM, "timeline: out of memory for %zu models", cap);
        }
        p->stages = v;
        p->cap_stages = cap;
    }
    char *m = mla_strndup(model, strlen(model));
    if (!m) {
        mla_free(st);
        return mla_err(MLA_ENOMEM, "timeline: out of memory for a model");
    }
    p->stages[p->n_stages].model = m;
    p->stages[p->n_stages].stage = st;
    p->stages[p->n_stages].seq = seq;
    p->n_stages++;
    return MLA_OK;
}

static mla_status deploy(replay *p, uint64_t seq, const mla_pb_change *c, mla_buf *model)
{
    mla_index_timeline *t = p->out;
    const Mlaudit__V1__Deployment *d = c->deployment;
    MLA_TRY(mla_codec_artifact_identity(model, c->subject));
    MLA_TRY(mla_buf_append_byte(model, 0));
    model->len--; /* NUL for strcmp, not part of the identity */
    long self = serving_find(p, (const char *)model->ptr);
    if (self >= 0) serving_remove(p, (size_t)self); /* its new share replaces the old */
    double others = 0, f = d->traffic_fraction;
    for (size_t i = 0; i < t->n_serving; i++) others += t->serving[i].traffic_fraction;
    if (others + f > 1.0) {
        /* The others share what is left, in proportion; one scaled to
         * nothing has left. */
        double scale = (1.0 - f) / others;
        for (size_t i = t->n_serving; i-- > 0;) {
            t->serving[i].traffic_fraction *= scale;
            if (t->serving[i].traffic_fraction < FRACTION_EPSILON) serving_remove(p, i);
        }
    }
    MLA_TRY(stage_remember(p, (const char *)model->ptr, d->stage, seq));
    return serving_add(p, model, d->stage, f, seq, seq);
}

static mla_status roll_back(replay *p, uint64_t seq, const mla_pb_change *c, mla_buf *model)
{
    MLA_TRY(mla_codec_artifact_identity(model, c->rollback->to));
    MLA_TRY(mla_buf_append_byte(model, 0));
    model->len--;
    const staged *st = stage_find(p, (const char *)model->ptr);
    serving_clear(p);
    /* The stage comes from the model's last DEPLOYMENT here, so that entry
     * is behind what serves too. */
    return serving_add(p, model, st ? st->stage : "", 1.0, seq, st ? st->seq : seq);
}

static mla_status retire(replay *p, uint64_t seq, const mla_pb_change *c, mla_buf *model)
{
    if (!c->retirement || !c->retirement->artifact) {
        serving_clear(p);
    } else {
        MLA_TRY(mla_codec_artifact_identity(model, c->retirement->artifact));
        MLA_TRY(mla_buf_append_byte(model, 0));
        model->len--;
        long i = serving_find(p, (const char *)model->ptr);
        if (i >= 0) serving_remove(p, (size_t)i);
    }
    if (p->out->n_serving == 0) p->out->retired_seq = seq;
    return MLA_OK;
}

static mla_status apply(replay *p, uint64_t seq, const mla_pb_change *c, mla_buf *model)
{
    mla_buf_clear(model);
    if (c && c->kind == MLAUDIT__V1__KIND__KIND_DEPLOYMENT &&
        c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT && c->subject)
        return deploy(p, seq, c, model);
    if (c && c->kind == MLAUDIT__V1__KIND__KIND_ROLLBACK &&
        c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK)
        return roll_back(p, seq, c, model);
    if (c && c->kind == MLAUDIT__V1__KIND__KIND_RETIREMENT) return retire(p, seq, c, model);
    return mla_err(MLA_ECORRUPT,
                   "index: entry %llu is on target \"%.64s\" but is no deployment, "
                   "rollback or retirement",
                   (unsigned long long)seq, p->target);
}

void mla_index_timeline_dispose(mla_index_timeline *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_serving; i++) {
        mla_free(t->serving[i].model);
        mla_free(t->serving[i].stage);
    }
    mla_free(t->chain);
    memset(t, 0, sizeof *t);
    t->retired_seq = UINT64_MAX;
}

mla_status mla_index_timeline_at(mla_index_timeline *out, const mla_index_reader *r,
                                 const char *target, int64_t t_ns)
{
    seqlist hist;
    replay p;
    mla_buf bytes, model;
    mla_status rc;
    memset(out, 0, sizeof *out);
    out->retired_seq = UINT64_MAX;
    memset(&p, 0, sizeof p);
    p.out = out;
    p.target = target;
    MLA_TRY(history_load(&hist, r, target));
    mla_buf_init(&bytes, MLA_LIMIT_ENTRY_BYTES);
    mla_buf_init(&model, 3 * MLA_LIMIT_NAME + 3);

    /* Ledger time never decreases with seq, so the entries at or before T
     * are a prefix of the history: replay it, stop at the first after T. */
    size_t n_before = 0;
    for (; n_before < hist.n; n_before++) {
        mla_pb_entry *e;
        mla_pb_change *c;
        uint64_t seq = hist.v[n_before];
        if ((rc = mla_index_entry_load(r, seq, &bytes, true, &e, &c)) != MLA_OK) goto out;
        bool after = e->ledger_time_ns > t_ns;
        rc = after ? MLA_OK : apply(&p, seq, c, &model);
        if (rc == MLA_OK && !after && out->n_serving) out->retired_seq = UINT64_MAX;
        mla_codec_change_free(c);
        mla_codec_entry_free(e);
        if (rc != MLA_OK) goto out;
        if (after) break;
    }
    out->any_before = n_before > 0;

    /* The chain: from the oldest entry behind a live model (or the last
     * entry, when none is live) through the last at or before T, plus the
     * first after T, which shows where the state at T ended. */
    size_t first = n_before ? n_before - 1 : 0;
    for (size_t i = 0; i < out->n_serving; i++)
        for (size_t j = 0; j < first; j++)
            if (hist.v[j] == p.origin[i]) {
                first = j;
                break;
            }
    size_t last = n_before < hist.n ? n_before + 1 : n_before; /* exclusive */
    rc = MLA_OK;
    if (last > first) {
        out->chain = mla_calloc(last - first, sizeof *out->chain);
        if (!out->chain) {
            rc = mla_err(MLA_ENOMEM, "timeline: out of memory for %zu entries", last - first);
            goto out;
        }
        memcpy(out->chain, hist.v + first, (last - first) * sizeof *out->chain);
        out->n_chain = last - first;
    }
out:
    for (size_t i = 0; i < p.n_stages; i++) {
        mla_free(p.stages[i].model);
        mla_free(p.stages[i].stage);
    }
    mla_free(p.stages);
    mla_free(hist.v);
    mla_buf_dispose(&bytes);
    mla_buf_dispose(&model);
    if (rc != MLA_OK) mla_index_timeline_dispose(out);
    return rc;
}
