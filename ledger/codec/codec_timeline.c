/* codec_timeline: one replay of a target's DEPLOYMENT, ROLLBACK and
 * RETIREMENT entries (codec_timeline.h). The index answers "what served X at
 * T" with it, the client checks a resolution with it and the reports show
 * where a model serves with it; each keeps its own bookkeeping around it. */
#include <string.h>

#include "codec/codec_timeline.h"

/* A model scaled below this share has left (rounding residue). */
#define FRACTION_EPSILON 1e-12
/* "type:name@version" of three names, and its NUL. */
#define IDENTITY_MAX (3 * MLA_LIMIT_NAME + 3)

void mla_codec_timeline_init(mla_timeline *t) { memset(t, 0, sizeof *t); }

static void serving_remove(mla_timeline *t, size_t i)
{
    mla_free(t->serving[i].model);
    mla_free(t->serving[i].stage);
    t->n_serving--;
    memmove(&t->serving[i], &t->serving[i + 1], (t->n_serving - i) * sizeof t->serving[0]);
}

static void serving_clear(mla_timeline *t)
{
    while (t->n_serving) serving_remove(t, t->n_serving - 1);
}

void mla_codec_timeline_dispose(mla_timeline *t)
{
    if (!t) return;
    serving_clear(t);
    for (size_t i = 0; i < t->n_stages; i++) {
        mla_free(t->stages[i].model);
        mla_free(t->stages[i].stage);
    }
    mla_free(t->stages);
    memset(t, 0, sizeof *t);
}

long mla_codec_timeline_find(const mla_timeline *t, const char *model)
{
    for (size_t i = 0; i < t->n_serving; i++)
        if (strcmp(t->serving[i].model, model) == 0) return (long)i;
    return -1;
}

/* Both strings are copied. */
static mla_status serving_add(mla_timeline *t, const char *model, const char *stage,
                              double fraction, uint64_t seq, uint64_t stage_seq)
{
    if (t->n_serving == MLA_TIMELINE_SERVING_MAX)
        return mla_err(MLA_ELIMIT, "timeline: more than %d models live at entry %llu",
                       MLA_TIMELINE_SERVING_MAX, (unsigned long long)seq);
    mla_timeline_serving *s = &t->serving[t->n_serving];
    s->model = mla_strndup(model, strlen(model));
    s->stage = mla_strndup(stage, strlen(stage));
    if (!s->model || !s->stage) {
        mla_free(s->model);
        mla_free(s->stage);
        return mla_err(MLA_ENOMEM, "timeline: out of memory for a serving model");
    }
    s->traffic_fraction = fraction;
    s->seq = seq;
    s->stage_seq = stage_seq;
    t->n_serving++;
    return MLA_OK;
}

static const mla_timeline_stage *stage_find(const mla_timeline *t, const char *model)
{
    for (size_t i = 0; i < t->n_stages; i++)
        if (strcmp(t->stages[i].model, model) == 0) return &t->stages[i];
    return NULL;
}

static mla_status stage_remember(mla_timeline *t, const char *model, const char *stage,
                                 uint64_t seq)
{
    char *st = mla_strndup(stage, strlen(stage));
    if (!st) return mla_err(MLA_ENOMEM, "timeline: out of memory for a stage");
    for (size_t i = 0; i < t->n_stages; i++)
        if (strcmp(t->stages[i].model, model) == 0) {
            mla_free(t->stages[i].stage);
            t->stages[i].stage = st;
            t->stages[i].seq = seq;
            return MLA_OK;
        }
    if (t->n_stages == t->cap_stages) {
        size_t cap = t->cap_stages ? t->cap_stages * 2 : 8, bytes;
        mla_timeline_stage *v = NULL;
        if (mla_mul_size(&bytes, cap, sizeof *v)) v = mla_realloc(t->stages, bytes);
        if (!v) {
            mla_free(st);
            return mla_err(MLA_ENOMEM, "timeline: out of memory for %zu models", cap);
        }
        t->stages = v;
        t->cap_stages = cap;
    }
    char *m = mla_strndup(model, strlen(model));
    if (!m) {
        mla_free(st);
        return mla_err(MLA_ENOMEM, "timeline: out of memory for a model");
    }
    t->stages[t->n_stages++] = (mla_timeline_stage){.model = m, .stage = st, .seq = seq};
    return MLA_OK;
}

static mla_status deploy(mla_timeline *t, uint64_t seq, const mla_pb_change *c, const char *model)
{
    const Mlaudit__V1__Deployment *d = c->deployment;
    const char *stage = d->stage ? d->stage : "";
    long self = mla_codec_timeline_find(t, model);
    if (self >= 0) serving_remove(t, (size_t)self); /* its new share replaces the old */
    double others = 0, f = d->traffic_fraction;
    for (size_t i = 0; i < t->n_serving; i++) others += t->serving[i].traffic_fraction;
    if (others + f > 1.0) {
        /* The others share what is left, in proportion; one scaled to
         * nothing has left. */
        double scale = (1.0 - f) / others;
        for (size_t i = t->n_serving; i-- > 0;) {
            t->serving[i].traffic_fraction *= scale;
            if (t->serving[i].traffic_fraction < FRACTION_EPSILON) serving_remove(t, i);
        }
    }
    MLA_TRY(stage_remember(t, model, stage, seq));
    return serving_add(t, model, stage, f, seq, seq);
}

static mla_status roll_back(mla_timeline *t, uint64_t seq, const char *model, bool *stage_unknown)
{
    /* The stage memory outlives the serving set, so st stays valid. */
    const mla_timeline_stage *st = stage_find(t, model);
    *stage_unknown = st == NULL;
    serving_clear(t);
    return serving_add(t, model, st ? st->stage : "", 1.0, seq, st ? st->seq : seq);
}

static mla_status retire(mla_timeline *t, const char *model)
{
    if (!model) {
        serving_clear(t);
        return MLA_OK;
    }
    long i = mla_codec_timeline_find(t, model);
    if (i >= 0) serving_remove(t, (size_t)i);
    return MLA_OK;
}

mla_status mla_codec_timeline_apply(mla_timeline *t, uint64_t seq, const mla_pb_change *c,
                                    bool *stage_unknown)
{
    const mla_pb_artifact *a = NULL;
    *stage_unknown = false;
    if (c && c->kind == MLAUDIT__V1__KIND__KIND_DEPLOYMENT &&
        c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT && c->subject)
        a = c->subject;
    else if (c && c->kind == MLAUDIT__V1__KIND__KIND_ROLLBACK &&
             c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK && c->rollback->to)
        a = c->rollback->to;
    else if (c && c->kind == MLAUDIT__V1__KIND__KIND_RETIREMENT &&
             c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT)
        a = c->retirement->artifact; /* NULL: everything leaves */
    else
        return mla_err(MLA_EINVAL,
                       "change.kind: entry %llu is no deployment, rollback or "
                       "retirement",
                       (unsigned long long)seq);
    mla_buf id;
    mla_status rc = MLA_OK;
    mla_buf_init(&id, IDENTITY_MAX);
    if (a && (rc = mla_codec_artifact_identity(&id, a)) == MLA_OK)
        rc = mla_buf_append_byte(&id, 0); /* NUL for strcmp, not part of the identity */
    const char *model = a ? (const char *)id.ptr : NULL;
    if (rc == MLA_OK) {
        switch (c->kind) {
        case MLAUDIT__V1__KIND__KIND_DEPLOYMENT: rc = deploy(t, seq, c, model); break;
        case MLAUDIT__V1__KIND__KIND_ROLLBACK: rc = roll_back(t, seq, model, stage_unknown); break;
        default: rc = retire(t, model); break;
        }
    }
    mla_buf_dispose(&id);
    return rc;
}
