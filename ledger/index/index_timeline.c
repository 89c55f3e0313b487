/* index_timeline: deployment timelines (SPEC §6: "which model served target
 * X at time T" answered with proof): replay a target's DEPLOYMENT, ROLLBACK
 * and RETIREMENT entries up to T, and name the contiguous run of them that,
 * with their back-links, shows nothing on the target was left out. */
#include <string.h>

#include "index/index.h"

/* A model scaled below this share has left the target (rounding residue). */
#define FRACTION_EPSILON 1e-12

static mla_status target_prefix(uint8_t *k, size_t *len, const char *target)
{
    if (!target || target[0] == '\0') return mla_err(MLA_EINVAL, "target: empty");
    size_t n = strlen(target);
    if (n > MLA_LIMIT_NAME)
        return mla_err(MLA_EINVAL, "target: %zu bytes exceeds limit %d", n, MLA_LIMIT_NAME);
    k[0] = MLA_INDEX_K_PREFIX;
    k[1] = 'h';
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
    if (seq >= l->tree_size) return MLA_OK;
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

/* ---- replay (codec_timeline.c's rules) ------------------------------------ */

static mla_status apply(mla_timeline *tl, uint64_t seq, const mla_pb_change *c, const char *target)
{
    bool stage_unknown; /* the whole history is replayed: unknown is "" */
    mla_status rc = mla_codec_timeline_apply(tl, seq, c, &stage_unknown);
    if (rc == MLA_EINVAL)
        return mla_err(MLA_ECORRUPT,
                       "index: entry %llu is on target \"%.64s\" but is no deployment, "
                       "rollback or retirement",
                       (unsigned long long)seq, target);
    if (rc == MLA_ELIMIT)
        return mla_err(MLA_ELIMIT, "target: \"%.64s\" has more than %d models live at entry %llu",
                       target, MLA_INDEX_SERVING_MAX, (unsigned long long)seq);
    return rc;
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
    mla_timeline tl;
    mla_buf bytes;
    mla_status rc;
    memset(out, 0, sizeof *out);
    out->retired_seq = UINT64_MAX;
    MLA_TRY(history_load(&hist, r, target));
    mla_codec_timeline_init(&tl);
    mla_buf_init(&bytes, MLA_LIMIT_ENTRY_BYTES);

    /* Ledger time never decreases with seq, so the entries at or before T
     * are a prefix of the history: replay it, stop at the first after T. */
    size_t n_before = 0;
    for (; n_before < hist.n; n_before++) {
        mla_pb_entry *e;
        mla_pb_change *c;
        uint64_t seq = hist.v[n_before];
        if ((rc = mla_index_entry_load(r, seq, &bytes, true, &e, &c)) != MLA_OK) goto out;
        bool after = e->ledger_time_ns > t_ns;
        rc = after ? MLA_OK : apply(&tl, seq, c, target);
        /* Only a RETIREMENT leaves nothing live. */
        if (rc == MLA_OK && !after) out->retired_seq = tl.n_serving ? UINT64_MAX : seq;
        mla_codec_change_free(c);
        mla_codec_entry_free(e);
        if (rc != MLA_OK) goto out;
        if (after) break;
    }
    out->any_before = n_before > 0;

    /* The chain: from the oldest entry behind a live model (the DEPLOYMENT
     * its stage came from, or the last entry when none is live) through the
     * last at or before T, plus the first after T, which shows where the
     * state at T ended. */
    size_t first = n_before ? n_before - 1 : 0;
    for (size_t i = 0; i < tl.n_serving; i++)
        for (size_t j = 0; j < first; j++)
            if (hist.v[j] == tl.serving[i].stage_seq) {
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
    /* The replayed models move into out. */
    for (size_t i = 0; i < tl.n_serving; i++) {
        mla_index_serving *s = &out->serving[i];
        s->model = tl.serving[i].model;
        s->stage = tl.serving[i].stage;
        s->traffic_fraction = tl.serving[i].traffic_fraction;
        s->deployment_seq = tl.serving[i].seq;
    }
    out->n_serving = tl.n_serving;
    tl.n_serving = 0;
out:
    mla_codec_timeline_dispose(&tl);
    mla_free(hist.v);
    mla_buf_dispose(&bytes);
    if (rc != MLA_OK) mla_index_timeline_dispose(out);
    return rc;
}
