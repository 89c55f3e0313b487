/* report_check: the cryptographic checks of a report's evidence, offline —
 * the signed checkpoint, each cited entry's leaf hash and inclusion proof,
 * the range's hash chain and last proof, the decision resolution, and every
 * envelope signature against the key registry replayed from the KEY entries
 * the report embeds (SPEC §3, §6), by the log's own rules (registry/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "reports/report_int.h"

/* ---- signatures: the key registry replayed by registry/ (SPEC §6) ------------- */

/* The trust root, and the log's key that may seal decision batches. */
static mla_status replay_new(mla_registry_replay **out, const mla_report *r,
                             const mla_pubkey *admin_keys, size_t n_admin_keys)
{
    MLA_TRY(mla_registry_replay_new(out, admin_keys, n_admin_keys));
    return mla_registry_replay_log_key(*out, &r->ev.log_key.pub);
}

/* KEY entries the report embeds, for messages. */
static size_t key_entries(const mla_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ev.n_entries; i++)
        if (r->ev.entries[i].change && r->ev.entries[i].change->kind == MLAUDIT__V1__KIND__KIND_KEY)
            n++;
    return n;
}

/* The registry refused entry seq: the evidence shows what the log never
 * accepted. */
static mla_status refused(mla_status rc, uint64_t seq)
{
    if (rc != MLA_EDENIED && rc != MLA_EINVAL && rc != MLA_ENOTFOUND) return rc;
    char msg[MLA_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
    return mla_err(MLA_EDENIED, "entry %llu: %s", (unsigned long long)seq, msg);
}

/* What entry seq's change does to the registry, once its signatures hold. */
static mla_status registry_apply(mla_registry_replay *g, uint64_t seq, const mla_pb_change *c)
{
    mla_status rc = mla_registry_replay_apply(g, seq, c);
    return rc == MLA_OK ? rc : refused(rc, seq);
}

/* Every signature of entry seq's envelope must verify with a key the
 * registry (as of just before seq) lets sign the change's kind; then the
 * change is applied. */
static mla_status entry_replay(mla_registry_replay *g, size_t n_key_entries, uint64_t *n_sigs,
                               uint64_t seq, const mla_pb_entry *e, const mla_pb_change *c)
{
    size_t unknown;
    mla_status rc = mla_registry_replay_authorize(NULL, &unknown, g, e->envelope, c, true);
    if (rc == MLA_OK) {
        *n_sigs += e->envelope->n_signatures;
        return registry_apply(g, seq, c);
    }
    if (rc != MLA_EDENIED || unknown == SIZE_MAX) return refused(rc, seq);
    bool batch = c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    return mla_err(MLA_EDENIED,
                   "entry %llu: signature by keyid %s: no registered key (the report embeds %zu "
                   "KEY entr%s)%s",
                   (unsigned long long)seq, e->envelope->signatures[unknown]->keyid, n_key_entries,
                   n_key_entries == 1 ? "y" : "ies",
                   batch ? ", nor is it the log's key or a serving key a DEPLOYMENT on the "
                           "batch's target named"
                         : "");
}

/* ---- the entries checked in seq order ----------------------------------------- */

/* A cited entry or a resolution's entry, decoded. */
typedef struct item {
    uint64_t seq;
    const mla_pb_entry *e;
    const mla_pb_change *c;
    mla_pb_entry *own_e; /* decoded here (resolution entries) */
    mla_pb_change *own_c;
} item;

typedef struct items {
    item *v;
    size_t n, cap;
} items;

static void items_dispose(items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        mla_codec_change_free(it->v[i].own_c);
        mla_codec_entry_free(it->v[i].own_e);
    }
    mla_free(it->v);
    memset(it, 0, sizeof *it);
}

static int item_cmp(const void *a, const void *b)
{
    uint64_t x = ((const item *)a)->seq, y = ((const item *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Add a resolution's entry (proven by the resolution's own checks) unless
 * the evidence cites it too, in which case the bytes must agree. */
static mla_status item_resolution(items *it, const mla_report *r, const mla_client_entry *ce,
                                  const char *what)
{
    const mla_report_entry *cited = mla_report__entry(r, ce->seq);
    if (cited) {
        if (!mla_slice_eq(mla_buf_slice(&cited->bytes), mla_buf_slice(&ce->entry)))
            return mla_err(MLA_ECORRUPT,
                           "entry %llu: the resolution's %s differs from the entry the report "
                           "embeds",
                           (unsigned long long)ce->seq, what);
        return MLA_OK;
    }
    for (size_t i = 0; i < it->n; i++)
        if (it->v[i].seq == ce->seq) return MLA_OK;
    MLA_TRY(mla_report__grow((void **)&it->v, &it->cap, it->n, sizeof *it->v));
    item *x = &it->v[it->n];
    memset(x, 0, sizeof *x);
    x->seq = ce->seq;
    mla_status rc = mla_codec_entry_decode(&x->own_e, mla_buf_slice(&ce->entry));
    if (rc == MLA_OK && strcmp(x->own_e->envelope->payload_type, MLA_PAYLOAD_TYPE_CHANGE) == 0)
        rc = mla_codec_change_decode(&x->own_c, mla_slice_make(x->own_e->envelope->payload.data,
                                                               x->own_e->envelope->payload.len));
    if (rc != MLA_OK) {
        char msg[MLA_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
        mla_codec_entry_free(x->own_e);
        if (rc == MLA_ENOMEM) return rc;
        return mla_err(MLA_ECORRUPT, "entry %llu (the resolution's %s): %s",
                       (unsigned long long)ce->seq, what, msg);
    }
    x->e = x->own_e;
    x->c = x->own_c;
    it->n++;
    return MLA_OK;
}

static mla_status items_build(items *it, const mla_report *r)
{
    memset(it, 0, sizeof *it);
    for (size_t i = 0; i < r->ev.n_entries; i++) {
        MLA_TRY(mla_report__grow((void **)&it->v, &it->cap, it->n, sizeof *it->v));
        item *x = &it->v[it->n++];
        memset(x, 0, sizeof *x);
        x->seq = r->ev.entries[i].seq;
        x->e = r->ev.entries[i].entry;
        x->c = r->ev.entries[i].change;
    }
    if (r->ev.has_resolution) {
        const mla_client_resolution *res = &r->ev.resolution;
        if (res->batch_entry.entry.len)
            MLA_TRY(item_resolution(it, r, &res->batch_entry, "decision batch entry"));
        for (size_t i = 0; i < res->n_deployment_entries; i++)
            MLA_TRY(item_resolution(it, r, &res->deployment_entries[i], "deployment entry"));
    }
    if (it->n > 1) qsort(it->v, it->n, sizeof *it->v, item_cmp);
    return MLA_OK;
}

/* ---- checkpoint, entries, resolution ---------------------------------------- */

static mla_status checkpoint_check(const mla_report *r)
{
    mla_checkpoint cp;
    if (r->ev.checkpoint.len == 0) return mla_err(MLA_ECORRUPT, "checkpoint: the report has none");
    mla_status rc =
        mla_note_checkpoint_open(&cp, mla_buf_slice(&r->ev.checkpoint), &r->ev.log_key, 1);
    if (rc == MLA_ENOMEM) return rc;
    if (rc != MLA_OK) {
        char msg[MLA_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
        return mla_err(MLA_ECORRUPT, "checkpoint: does not verify with the log key %s: %s",
                       r->ev.log_key.name, msg);
    }
    if (cp.size != r->ev.cp.size || !mla_hash_eq(&cp.root, &r->ev.cp.root))
        return mla_err(MLA_ECORRUPT,
                       "checkpoint: the stated size and root are not the signed ones");
    return MLA_OK;
}

static mla_status entry_check(const mla_report *r, const mla_report_entry *x)
{
    const mla_checkpoint *cp = &r->ev.cp;
    unsigned long long s = (unsigned long long)x->seq;
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, mla_buf_slice(&x->bytes));
    if (!mla_hash_eq(&leaf, &x->leaf))
        return mla_err(MLA_ECORRUPT, "entry %llu: its bytes do not hash to its leaf hash", s);
    if (x->seq >= cp->size)
        return mla_err(MLA_ECORRUPT, "entry %llu: beyond checkpoint size %llu", s,
                       (unsigned long long)cp->size);
    if (!x->entry || x->entry->seq != x->seq)
        return mla_err(MLA_ECORRUPT, "entry %llu: its bytes say another seq", s);
    if (mla_merkle_inclusion_verify(&leaf, x->seq, cp->size, &x->proof, &cp->root) != MLA_OK)
        return mla_err(MLA_ECORRUPT,
                       "entry %llu: inclusion proof does not lead to the root of checkpoint size "
                       "%llu",
                       s, (unsigned long long)cp->size);
    return MLA_OK;
}

static mla_status resolution_check(const mla_report *r)
{
    mla_status rc = mla_client_resolution_verify(&r->ev.resolution, &r->ev.log_key);
    if (rc == MLA_OK || rc == MLA_ENOMEM) return rc;
    char msg[MLA_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
    return mla_err(MLA_ECORRUPT, "resolution: %s", msg);
}

/* ---- the range ------------------------------------------------------------------ */

typedef struct range_walk {
    const mla_report *r;
    mla_registry_replay *g; /* NULL: signatures not checked */
    size_t n_key_entries;
    const items *it;
    size_t next_item; /* items before this one are applied to g */
    uint64_t next, n_sigs;
    mla_hash prev;
    bool have_prev;
    int64_t prev_time;
    mla_merkle_frontier fr;
} range_walk;

static mla_status range_entry(void *ctx, uint64_t seq, mla_slice bytes, const mla_pb_entry *e,
                              const mla_pb_change *c)
{
    range_walk *w = ctx;
    const mla_report_evidence *ev = &w->r->ev;
    unsigned long long s = (unsigned long long)seq;
    mla_hash leaf;
    if (seq > ev->range_last)
        return mla_err(MLA_ECORRUPT, "range: more entries than [%llu, %llu]",
                       (unsigned long long)ev->range_first, (unsigned long long)ev->range_last);
    if (e->seq != seq)
        return mla_err(MLA_ECORRUPT, "entry %llu: its bytes say seq %llu", s,
                       (unsigned long long)e->seq);
    /* SPEC §3: prev_hash is the leaf hash of the entry before (zeros for 0). */
    if (w->have_prev && (e->prev_hash.len != 32 || memcmp(e->prev_hash.data, w->prev.b, 32) != 0))
        return mla_err(MLA_ECORRUPT,
                       "entry %llu: prev_hash is not the leaf hash of entry %llu: the range's hash "
                       "chain is broken",
                       s, s - 1);
    if (w->have_prev && e->ledger_time_ns < w->prev_time)
        return mla_err(MLA_ECORRUPT, "entry %llu: ledger time goes backwards", s);
    mla_merkle_leaf_hash(&leaf, bytes);
    if (ev->range_first == 0) MLA_TRY(mla_merkle_frontier_append(&w->fr, &leaf, NULL, NULL));
    if (w->g) {
        /* Bring the registry to just before seq with the embedded entries
         * outside the range (checked already); inside it, the range's own. */
        for (; w->next_item < w->it->n && w->it->v[w->next_item].seq < seq; w->next_item++) {
            const item *x = &w->it->v[w->next_item];
            if (x->seq < ev->range_first || x->seq > ev->range_last)
                MLA_TRY(registry_apply(w->g, x->seq, x->c));
        }
        MLA_TRY(entry_replay(w->g, w->n_key_entries, &w->n_sigs, seq, e, c));
    }
    w->prev = leaf;
    w->have_prev = true;
    w->prev_time = e->ledger_time_ns;
    w->next = seq + 1;
    return MLA_OK;
}

static mla_status range_check(const mla_report *r, mla_registry_replay *g, size_t n_key_entries,
                              const items *it, mla_report_check_result *out)
{
    const mla_report_evidence *ev = &r->ev;
    const mla_checkpoint *cp = &ev->cp;
    unsigned long long a = (unsigned long long)ev->range_first,
                       b = (unsigned long long)ev->range_last;
    if (ev->range_first > ev->range_last || ev->range_last >= cp->size)
        return mla_err(MLA_ECORRUPT,
                       "range: [%llu, %llu] is not within the checkpoint's %llu entries", a, b,
                       (unsigned long long)cp->size);
    range_walk w;
    memset(&w, 0, sizeof w);
    w.r = r;
    w.g = g;
    w.n_key_entries = n_key_entries;
    w.it = it;
    w.next = ev->range_first;
    mla_merkle_frontier_init(&w.fr);
    /* The entry before the range, when the report embeds it or it is the
     * zero hash before seq 0, pins the chain's start too. */
    const mla_report_entry *before =
        ev->range_first ? mla_report__entry(r, ev->range_first - 1) : NULL;
    if (ev->range_first == 0 || before) {
        w.have_prev = true;
        if (before) {
            w.prev = before->leaf;
            w.prev_time = before->entry->ledger_time_ns;
        }
    }
    MLA_TRY(mla_report__range_each(r, range_entry, &w));
    if (w.next != ev->range_last + 1)
        return mla_err(MLA_ECORRUPT,
                       "range: the report embeds %llu of the %llu entries of [%llu, %llu]",
                       (unsigned long long)(w.next - ev->range_first),
                       (unsigned long long)(ev->range_last - ev->range_first + 1), a, b);
    if (mla_merkle_inclusion_verify(&w.prev, ev->range_last, cp->size, &ev->range_proof,
                                    &cp->root) != MLA_OK)
        return mla_err(MLA_ECORRUPT,
                       "entry %llu: inclusion proof of the range's last entry does not lead to "
                       "the root of checkpoint size %llu",
                       b, (unsigned long long)cp->size);
    if (ev->range_first == 0 && ev->range_last + 1 == cp->size)
        MLA_TRY(mla_report__range_root_check(&w.fr, cp));
    out->n_entries += ev->range_last - ev->range_first + 1;
    out->n_signatures += w.n_sigs;
    return MLA_OK;
}

mla_status mla_report__check(mla_report_check_result *out, const mla_report *r,
                             const mla_pubkey *admin_keys, size_t n_admin_keys)
{
    items it;
    mla_registry_replay *g = NULL, *gr = NULL;
    bool sigs = admin_keys && n_admin_keys > 0;
    size_t n_keys = sigs ? key_entries(r) : 0;
    mla_status rc;
    memset(out, 0, sizeof *out);
    memset(&it, 0, sizeof it);
    MLA_TRY(mla_crypto_init());
    if ((rc = checkpoint_check(r)) != MLA_OK) goto out;
    for (size_t i = 0; i < r->ev.n_entries; i++) {
        if ((rc = entry_check(r, &r->ev.entries[i])) != MLA_OK) goto out;
        out->n_entries++;
    }
    if (r->ev.has_resolution) {
        if ((rc = resolution_check(r)) != MLA_OK) goto out;
    }
    if ((rc = items_build(&it, r)) != MLA_OK) goto out;
    out->n_entries += it.n - r->ev.n_entries;
    if (sigs) {
        /* Each entry against the registry as it stood just before it. */
        if ((rc = replay_new(&g, r, admin_keys, n_admin_keys)) != MLA_OK) goto out;
        for (size_t i = 0; i < it.n; i++)
            if ((rc = entry_replay(g, n_keys, &out->n_signatures, it.v[i].seq, it.v[i].e,
                                   it.v[i].c)) != MLA_OK)
                goto out;
    }
    if (r->ev.has_range) {
        if (sigs && (rc = replay_new(&gr, r, admin_keys, n_admin_keys)) != MLA_OK) goto out;
        if ((rc = range_check(r, gr, n_keys, &it, out)) != MLA_OK) goto out;
    }
    out->signatures_checked = sigs;
    rc = MLA_OK;
out:
    mla_registry_replay_free(g);
    mla_registry_replay_free(gr);
    items_dispose(&it);
    return rc;
}
