/* report_lineage: the lineage report (SPEC §7) — an artifact's record, its
 * upstream graph, training inputs, evaluations with deltas, approvals,
 * checklist and deployments — and the evidence helpers other kinds share.
 * Gather is online; build reads only params and evidence (report_int.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec_timeline.h"
#include "reports/report_int.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k
/* The server's MLA_INDEX_LINEAGE_DEPTH_MAX (reports do not link the index). */
#define DEPTH_MAX 64
/* Query pages as large as the server allows (MLA_INDEX_PAGE_MAX). */
#define PAGE_SIZE 1000
/* Earlier versions whose evaluations a lineage report gathers. */
#define PREVIOUS_MAX 8
/* "type:name@version" of three names. */
#define IDENTITY_MAX (3 * MLA_LIMIT_NAME + 3)

/* ---- shared helpers ------------------------------------------------------- */

bool mla_report__artifact_is(const mla_pb_artifact *a, const char *identity)
{
    if (!a || !a->type || !a->name || !a->version || !identity) return false;
    size_t lt = strlen(a->type), ln = strlen(a->name);
    return strncmp(identity, a->type, lt) == 0 && identity[lt] == ':' &&
           strncmp(identity + lt + 1, a->name, ln) == 0 && identity[lt + 1 + ln] == '@' &&
           strcmp(identity + lt + ln + 2, a->version) == 0;
}

bool mla_report__kind_records(mla_kind k)
{
    switch (k) {
    case KIND(MODEL):
    case KIND(DATASET):
    case KIND(CODE):
    case KIND(CONFIG):
    case KIND(ENVIRONMENT):
    case KIND(EVALUATION):
    case KIND(DOCUMENT):
    case KIND(IMPORT): return true;
    default: return false;
    }
}

const mla_report_entry *mla_report__subject_entry(const mla_report *r, const char *identity,
                                                  mla_kind kind)
{
    for (size_t i = r->ev.n_entries; i-- > 0;) {
        const mla_report_entry *e = &r->ev.entries[i];
        const mla_pb_change *c = e->change;
        if (!c || !(kind ? c->kind == kind : mla_report__kind_records(c->kind))) continue;
        if (mla_report__artifact_is(c->subject, identity)) return e;
    }
    return NULL;
}

bool mla_report__evaluates(const mla_pb_change *c, const char *identity)
{
    if (!c || c->kind != KIND(EVALUATION)) return false;
    for (size_t i = 0; i < c->n_inputs; i++)
        if (strcmp(c->inputs[i]->role, "evaluated-model") == 0 &&
            mla_report__artifact_is(c->inputs[i]->artifact, identity))
            return true;
    return false;
}

bool mla_report__approves(const mla_report *r, const mla_pb_change *c, const char *identity)
{
    if (!c || c->kind != KIND(APPROVAL) || c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_APPROVAL)
        return false;
    const Mlaudit__V1__Approval *a = c->approval;
    if (a->approved && mla_report__artifact_is(a->approved, identity)) return true;
    /* index_write.c: approved_seq counts when set, or when no artifact is
     * named (seq 0 is an entry too). */
    if (a->approved_seq == 0 && a->approved) return false;
    const mla_report_entry *e = mla_report__entry(r, a->approved_seq);
    return e && e->change && mla_report__artifact_is(e->change->subject, identity);
}

const char *mla_report__attribute(const mla_pb_change *c, const char *key)
{
    for (size_t i = 0; c && i < c->n_attributes; i++)
        if (strcmp(c->attributes[i]->key, key) == 0) return c->attributes[i]->value;
    return NULL;
}

bool mla_report__metric(const mla_pb_change *c, const char *key, double *out)
{
    for (size_t i = 0; c && i < c->n_metrics; i++)
        if (strcmp(c->metrics[i]->key, key) == 0) {
            *out = c->metrics[i]->value;
            return true;
        }
    return false;
}

mla_status mla_report__keys_add(mla_report_keys *k, const char *key)
{
    MLA_TRY(mla_report__grow((void **)&k->v, &k->cap, k->n, sizeof *k->v));
    k->v[k->n++] = key;
    return MLA_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void mla_report__keys_sort(mla_report_keys *k)
{
    if (k->n == 0) return;
    qsort(k->v, k->n, sizeof *k->v, key_cmp);
    size_t o = 1;
    for (size_t i = 1; i < k->n; i++)
        if (strcmp(k->v[i], k->v[o - 1]) != 0) k->v[o++] = k->v[i];
    k->n = o;
}

void mla_report__keys_dispose(mla_report_keys *k)
{
    mla_free(k->v);
    memset(k, 0, sizeof *k);
}

mla_status mla_report__keyids(mla_buf *out, const mla_pb_entry *e)
{
    mla_buf_clear(out);
    for (size_t i = 0; i < e->envelope->n_signatures; i++)
        MLA_TRY(mla_buf_printf(out, "%s%s", i ? ", " : "", e->envelope->signatures[i]->keyid));
    MLA_TRY(mla_buf_append_byte(out, 0));
    out->len--;
    return MLA_OK;
}

double mla_report__difference(double to, double from)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double d = to - from, a = to < 0 ? -to : to, b = from < 0 ? -from : from;
    double m = a > b ? a : b, x = m;
    int e = 0; /* the decimal exponent of the larger operand */
    if (!isfinite(d) || m == 0) return d;
    while (x >= 10 && e < 400) x /= 10, e++;
    while (x < 1 && e > -400) x *= 10, e--;
    int p = 14 - e; /* decimals that keep 15 significant digits of m */
    if (p > 22 || p < -22) return d;
    double y = p >= 0 ? d * p10[p] : d / p10[-p];
    if (y >= 9e18 || y <= -9e18) return d;
    /* Integer rounding, not libm's round(): reports do not link libm. */
    y = (double)(long long)(y + (y >= 0 ? 0.5 : -0.5));
    return p >= 0 ? y / p10[p] : y * p10[-p];
}

/* ---- gathering -------------------------------------------------------------- */

typedef struct seqlist {
    uint64_t *v;
    size_t n, cap;
} seqlist;

static mla_status seqlist_add(seqlist *s, uint64_t seq)
{
    MLA_TRY(mla_report__grow((void **)&s->v, &s->cap, s->n, sizeof *s->v));
    s->v[s->n++] = seq;
    return MLA_OK;
}

static void seqlist_dispose(seqlist *s)
{
    mla_free(s->v);
    memset(s, 0, sizeof *s);
}

/* Decode a gathered entry (already proven by the client) for a keep
 * function: the entry, and its change when the payload is one. */
static mla_status decode(mla_slice bytes, mla_pb_entry **e_out, mla_pb_change **c_out)
{
    *c_out = NULL;
    MLA_TRY(mla_codec_entry_decode(e_out, bytes));
    const mla_pb_envelope *env = (*e_out)->envelope;
    if (strcmp(env->payload_type, MLA_PAYLOAD_TYPE_CHANGE) != 0) return MLA_OK;
    mla_status rc =
        mla_codec_change_decode(c_out, mla_slice_make(env->payload.data, env->payload.len));
    if (rc != MLA_OK) {
        mla_codec_entry_free(*e_out);
        *e_out = NULL;
    }
    return rc;
}

/* Add seq to want if the checkpoint covers it and keep accepts it. */
static mla_status consider(seqlist *want, const mla_report *r, uint64_t seq, const mla_buf *bytes,
                           mla_report_keep_fn keep, void *ctx)
{
    if (seq >= r->ev.cp.size) return MLA_OK;
    if (!keep) return seqlist_add(want, seq);
    if (bytes->len == 0) return MLA_OK; /* redacted: nothing to judge */
    mla_pb_entry *e;
    mla_pb_change *c;
    MLA_TRY(decode(mla_buf_slice(bytes), &e, &c));
    mla_status rc = keep(ctx, seq, e, c) ? seqlist_add(want, seq) : MLA_OK;
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    return rc;
}

mla_status mla_report__query_fetch(mla_report *r, mla_client *c, const mla_client_query *q0,
                                   mla_report_keep_fn keep, void *ctx)
{
    mla_client_query q = *q0;
    mla_client_page page;
    seqlist want = {0};
    mla_buf token;
    mla_status rc = MLA_OK;
    mla_buf_init(&token, 4096);
    q.page_size = PAGE_SIZE;
    /* Pages ascend in seq and each holds at least one entry, so there are
     * at most size/1 + 1 of them below the checkpoint. */
    for (uint64_t pages = 0; pages <= r->ev.cp.size; pages++) {
        q.page_token = mla_buf_slice(&token);
        if ((rc = mla_client_query_page(c, &q, &page)) != MLA_OK) goto out;
        bool past = page.n_entries == 0;
        for (size_t i = 0; i < page.n_entries && rc == MLA_OK; i++) {
            if (page.entries[i].seq >= r->ev.cp.size) past = true;
            rc = consider(&want, r, page.entries[i].seq, &page.entries[i].entry, keep, ctx);
        }
        if (rc == MLA_OK) rc = mla_buf_set(&token, mla_buf_slice(&page.next_page_token));
        mla_client_page_dispose(&page);
        if (rc != MLA_OK) goto out;
        if (past || token.len == 0) break;
    }
    if (want.n > 0) rc = mla_report__evidence_fetch(r, c, want.v, want.n);
out:
    mla_buf_dispose(&token);
    seqlist_dispose(&want);
    return rc;
}

mla_status mla_report__downstream_fetch(mla_report *r, mla_client *c, const char *identity,
                                        mla_report_keep_fn keep, void *ctx)
{
    mla_client_lineage_graph g;
    seqlist want = {0};
    memset(&g, 0, sizeof g);
    mla_status rc = mla_client_lineage(c, identity, true, 1, &g);
    if (rc == MLA_ENOTFOUND) return MLA_OK; /* nothing was built on it */
    if (rc != MLA_OK) return rc;
    for (size_t i = 0; i < g.n_entries && rc == MLA_OK; i++)
        rc = consider(&want, r, g.entries[i].seq, &g.entries[i].entry, keep, ctx);
    if (rc == MLA_OK && want.n > 0) rc = mla_report__evidence_fetch(r, c, want.v, want.n);
    seqlist_dispose(&want);
    mla_client_lineage_dispose(&g);
    return rc;
}

/* "type:name@version" split in a copy: type holds no ':' and name no '@'
 * (codec), so the first ':' and the first '@' after it split it one way. */
typedef struct identity_parts {
    char text[IDENTITY_MAX];
    const char *type, *name, *version;
} identity_parts;

static mla_status identity_split(identity_parts *p, const char *identity, const char *field)
{
    size_t n = identity ? strlen(identity) : 0;
    if (!identity || n == 0) return mla_err(MLA_EINVAL, "%s: required", field);
    if (n >= sizeof p->text)
        return mla_err(MLA_EINVAL, "%s: %zu bytes exceeds limit %zu", field, n, sizeof p->text - 1);
    memcpy(p->text, identity, n + 1);
    char *colon = strchr(p->text, ':');
    char *at = colon ? strchr(colon + 1, '@') : NULL;
    if (!colon || !at || colon == p->text || at == colon + 1 || at[1] == '\0')
        return mla_err(MLA_EINVAL, "%s: \"%s\" is not type:name@version", field, identity);
    *colon = '\0';
    *at = '\0';
    p->type = p->text;
    p->name = colon + 1;
    p->version = at + 1;
    return MLA_OK;
}

typedef struct subject_ctx {
    bool latest_only;
    size_t n_records;
    uint64_t latest;
} subject_ctx;

static bool keep_subject(void *ctx, uint64_t seq, const mla_pb_entry *e, const mla_pb_change *c)
{
    subject_ctx *s = ctx;
    (void)e;
    bool records = c && mla_report__kind_records(c->kind);
    if (records) {
        s->n_records++;
        s->latest = seq;
    }
    return !s->latest_only;
}

mla_status mla_report__subject_fetch(mla_report *r, mla_client *c, const char *identity,
                                     const char *field, bool latest_only, size_t *n_records_out)
{
    identity_parts p;
    subject_ctx s = {latest_only, 0, 0};
    MLA_TRY(identity_split(&p, identity, field));
    mla_client_query q;
    memset(&q, 0, sizeof q);
    q.subject_type = p.type;
    q.subject_name = p.name;
    q.subject_version = p.version;
    MLA_TRY(mla_report__query_fetch(r, c, &q, keep_subject, &s));
    if (latest_only && s.n_records > 0) MLA_TRY(mla_report__evidence_fetch(r, c, &s.latest, 1));
    if (n_records_out) *n_records_out = s.n_records;
    return MLA_OK;
}

/* ---- the upstream graph ------------------------------------------------------ */

mla_status mla_report__upstream_gather(mla_report *r, mla_client *c, const char *identity,
                                       unsigned depth)
{
    size_t n_records;
    MLA_TRY(mla_report__subject_fetch(r, c, identity, "identity", false, &n_records));
    if (n_records == 0) return mla_err(MLA_ENOTFOUND, "identity: %s is not recorded", identity);
    mla_client_lineage_graph g;
    seqlist want = {0};
    memset(&g, 0, sizeof g);
    mla_status rc = mla_client_lineage(c, identity, false, depth ? depth : DEPTH_MAX, &g);
    if (rc == MLA_ENOTFOUND) rc = MLA_OK;
    for (size_t i = 0; i < g.n_entries && rc == MLA_OK; i++)
        if (g.entries[i].seq < r->ev.cp.size) rc = seqlist_add(&want, g.entries[i].seq);
    if (rc == MLA_OK && want.n > 0) rc = mla_report__evidence_fetch(r, c, want.v, want.n);
    seqlist_dispose(&want);
    mla_client_lineage_dispose(&g);
    if (rc != MLA_OK) return rc;
    /* The direct inputs' own records (a dataset's uri, an environment's
     * packages): the graph carries only the entries behind edges. */
    const mla_report_entry *s = mla_report__subject_entry(r, identity, 0);
    if (!s) return MLA_OK;
    uint64_t seq = s->seq;
    size_t n_inputs = s->change->n_inputs;
    mla_buf id;
    mla_buf_init(&id, IDENTITY_MAX);
    for (size_t i = 0; i < n_inputs && rc == MLA_OK; i++) {
        /* Fetching moves the evidence array: find the entry again each time. */
        s = mla_report__entry(r, seq);
        rc = mla_report__identity(&id, s->change->inputs[i]->artifact);
        if (rc == MLA_OK)
            rc = mla_report__subject_fetch(r, c, (const char *)id.ptr, "inputs", true, NULL);
    }
    mla_buf_dispose(&id);
    return rc;
}

/* Every artifact-recording entry in evidence by subject identity, then seq:
 * an artifact's subject entry (its latest record) in O(log n), so a
 * 10,000-artifact graph is walked in well under a second. */
typedef struct record {
    char *id;
    const mla_report_entry *e;
} record;

typedef struct records {
    record *v;
    size_t n;
} records;

static int record_cmp(const void *a, const void *b)
{
    const record *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c) return c;
    return x->e->seq < y->e->seq ? -1 : x->e->seq > y->e->seq;
}

static void records_dispose(records *x)
{
    for (size_t i = 0; i < x->n; i++) mla_free(x->v[i].id);
    mla_free(x->v);
    memset(x, 0, sizeof *x);
}

static mla_status records_build(records *x, const mla_report *r)
{
    mla_buf id;
    mla_status rc = MLA_OK;
    memset(x, 0, sizeof *x);
    if (r->ev.n_entries == 0) return MLA_OK;
    if (!(x->v = mla_calloc(r->ev.n_entries, sizeof *x->v)))
        return mla_err(MLA_ENOMEM, "report: out of memory for %zu entries", r->ev.n_entries);
    mla_buf_init(&id, IDENTITY_MAX);
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        if (!e->change || !e->change->subject || !mla_report__kind_records(e->change->kind))
            continue;
        if ((rc = mla_report__identity(&id, e->change->subject)) != MLA_OK) break;
        if (!(x->v[x->n].id = mla_report__strdup((const char *)id.ptr))) {
            rc = mla_err(MLA_ENOMEM, "report: out of memory");
            break;
        }
        x->v[x->n++].e = e;
    }
    mla_buf_dispose(&id);
    if (rc != MLA_OK) {
        records_dispose(x);
        return rc;
    }
    qsort(x->v, x->n, sizeof *x->v, record_cmp);
    return MLA_OK;
}

/* The latest record of identity, or NULL. */
static const mla_report_entry *records_find(const records *x, const char *identity)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) { /* first index whose id sorts after identity */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->v[mid].id, identity) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && strcmp(x->v[lo - 1].id, identity) == 0 ? x->v[lo - 1].e : NULL;
}

/* The walk, kept apart from the model so a large graph can be drawn as
 * groups while the table lists every edge. Nodes are appended in breadth
 * first order and double as the queue; a hash of ids finds them (lookup
 * only: output order is the walk's, which follows the entries' bytes). */
typedef struct walk_node {
    char *id;
    const mla_pb_artifact *a; /* borrowed from evidence */
    unsigned depth;
    const mla_report_entry *e; /* its record, or NULL */
} walk_node;

typedef struct walk_edge {
    size_t from, to;
    const char *role; /* borrowed from evidence */
    uint64_t seq;
} walk_edge;

typedef struct walk {
    walk_node *nodes;
    size_t n_nodes, cap_nodes;
    walk_edge *edges;
    size_t n_edges, cap_edges;
    size_t *slots; /* node index + 1; 0 = empty */
    size_t n_slots; /* a power of two, at least twice n_nodes */
} walk;

static uint64_t id_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static void walk_dispose(walk *w)
{
    for (size_t i = 0; i < w->n_nodes; i++) mla_free(w->nodes[i].id);
    mla_free(w->nodes);
    mla_free(w->edges);
    mla_free(w->slots);
    memset(w, 0, sizeof *w);
}

static size_t walk_slot(const walk *w, const char *id)
{
    size_t mask = w->n_slots - 1, i = (size_t)id_hash(id) & mask;
    while (w->slots[i] && strcmp(w->nodes[w->slots[i] - 1].id, id) != 0) i = (i + 1) & mask;
    return i;
}

static mla_status walk_rehash(walk *w)
{
    size_t n = w->n_slots ? w->n_slots * 2 : 64, bytes;
    size_t *slots = NULL;
    if (mla_mul_size(&bytes, n, sizeof *slots)) slots = mla_calloc(n, sizeof *slots);
    if (!slots) return mla_err(MLA_ENOMEM, "report: out of memory for %zu graph nodes", n / 2);
    mla_free(w->slots);
    w->slots = slots;
    w->n_slots = n;
    for (size_t i = 0; i < w->n_nodes; i++) w->slots[walk_slot(w, w->nodes[i].id)] = i + 1;
    return MLA_OK;
}

/* Find or add node id; *added tells which. */
static mla_status walk_node_get(walk *w, const records *x, const char *id, const mla_pb_artifact *a,
                                unsigned depth, size_t *index_out, bool *added)
{
    *added = false;
    if (2 * (w->n_nodes + 1) > w->n_slots) MLA_TRY(walk_rehash(w));
    size_t slot = walk_slot(w, id);
    if (w->slots[slot]) {
        *index_out = w->slots[slot] - 1;
        return MLA_OK;
    }
    MLA_TRY(mla_report__grow((void **)&w->nodes, &w->cap_nodes, w->n_nodes, sizeof *w->nodes));
    walk_node *n = &w->nodes[w->n_nodes];
    if (!(n->id = mla_report__strdup(id))) return mla_err(MLA_ENOMEM, "report: out of memory");
    n->e = records_find(x, id);
    /* Label and type from the artifact's own record when there is one. */
    n->a = n->e ? n->e->change->subject : a;
    n->depth = depth;
    w->slots[slot] = w->n_nodes + 1;
    *index_out = w->n_nodes++;
    *added = true;
    return MLA_OK;
}

/* Breadth first over each reached artifact's record's inputs, to depth. */
static mla_status walk_run(walk *w, const records *x, const char *identity, unsigned depth)
{
    mla_buf id;
    size_t ix;
    bool added;
    memset(w, 0, sizeof *w);
    mla_buf_init(&id, IDENTITY_MAX);
    mla_status rc = walk_node_get(w, x, identity, NULL, 0, &ix, &added);
    if (rc == MLA_OK && !w->nodes[0].e)
        rc = mla_err(MLA_ECORRUPT, "the subject %s has no entry in the evidence", identity);
    for (size_t q = 0; q < w->n_nodes && rc == MLA_OK; q++) {
        const mla_report_entry *e = w->nodes[q].e;
        unsigned d = w->nodes[q].depth;
        if (!e || d >= depth) continue;
        for (size_t i = 0; i < e->change->n_inputs && rc == MLA_OK; i++) {
            const mla_pb_input *in = e->change->inputs[i];
            if ((rc = mla_report__identity(&id, in->artifact)) != MLA_OK) break;
            rc = walk_node_get(w, x, (const char *)id.ptr, in->artifact, d + 1, &ix, &added);
            if (rc == MLA_OK)
                rc = mla_report__grow((void **)&w->edges, &w->cap_edges, w->n_edges,
                                      sizeof *w->edges);
            if (rc != MLA_OK) break;
            w->edges[w->n_edges++] = (walk_edge){ix, q, in->role, e->seq};
        }
    }
    mla_buf_dispose(&id);
    if (rc != MLA_OK) walk_dispose(w);
    return rc;
}

static uint64_t node_seq(const walk_node *n) { return n->e ? n->e->seq : MLA_REPORT_NO_SEQ; }

/* Draw every node and edge. */
static mla_status graph_full(mla_report *r, const walk *w)
{
    size_t *ix = mla_calloc(w->n_nodes ? w->n_nodes : 1, sizeof *ix);
    mla_buf label;
    mla_status rc = MLA_OK;
    if (!ix) return mla_err(MLA_ENOMEM, "report: out of memory");
    mla_buf_init(&label, IDENTITY_MAX);
    for (size_t i = 0; i < w->n_nodes && rc == MLA_OK; i++) {
        const walk_node *n = &w->nodes[i];
        mla_buf_clear(&label);
        rc = mla_buf_printf(&label, "%s@%s", n->a->name, n->a->version);
        if (rc == MLA_OK)
            rc = mla_report__node_add(r, n->id, (const char *)label.ptr, n->a->type, n->depth,
                                      node_seq(n), i == 0, &ix[i]);
    }
    for (size_t i = 0; i < w->n_edges && rc == MLA_OK; i++)
        rc = mla_report__edge_add(r, ix[w->edges[i].from], ix[w->edges[i].to], w->edges[i].role,
                                  w->edges[i].seq);
    mla_buf_dispose(&label);
    mla_free(ix);
    return rc;
}

/* Past MLA_REPORT_GRAPH_DRAW_MAX nodes the picture groups them: the subject
 * alone, then one node per (depth, type), with one edge per pair of groups
 * that edges join. */
typedef struct group_key {
    unsigned depth;
    const char *type;
    size_t node; /* the walk node it was taken from (for the map back) */
} group_key;

static int group_cmp(const void *a, const void *b)
{
    const group_key *x = a, *y = b;
    if (x->depth != y->depth) return x->depth < y->depth ? -1 : 1;
    return strcmp(x->type, y->type);
}

static int pair_cmp(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static mla_status graph_grouped(mla_report *r, const walk *w)
{
    size_t n = w->n_nodes, n_groups = 0, *gix = NULL, *pairs = NULL, *node_ix = NULL, bytes;
    group_key *keys = NULL;
    mla_buf id, label;
    mla_status rc = MLA_OK;
    mla_buf_init(&id, IDENTITY_MAX + 32);
    mla_buf_init(&label, IDENTITY_MAX + 32);
    keys = mla_calloc(n, sizeof *keys);
    gix = mla_calloc(n, sizeof *gix);
    node_ix = mla_calloc(n + 1, sizeof *node_ix);
    if (mla_mul_size(&bytes, w->n_edges ? w->n_edges : 1, 2 * sizeof *pairs))
        pairs = mla_malloc(bytes);
    if (!keys || !gix || !node_ix || !pairs) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory for a grouped graph");
        goto out;
    }
    /* The subject (node 0) stays itself; the others sort into groups. */
    if ((rc = mla_buf_printf(&label, "%s@%s", w->nodes[0].a->name, w->nodes[0].a->version)) !=
        MLA_OK)
        goto out;
    if ((rc = mla_report__node_add(r, w->nodes[0].id, (const char *)label.ptr, w->nodes[0].a->type,
                                   0, node_seq(&w->nodes[0]), true, &node_ix[0])) != MLA_OK)
        goto out;
    for (size_t i = 1; i < n; i++)
        keys[i - 1] = (group_key){w->nodes[i].depth, w->nodes[i].a->type, i};
    qsort(keys, n - 1, sizeof *keys, group_cmp);
    for (size_t i = 0; i < n - 1 && rc == MLA_OK; i++) {
        size_t j = i;
        while (j + 1 < n - 1 && group_cmp(&keys[i], &keys[j + 1]) == 0) j++;
        char count[32];
        mla_report__count(count, j - i + 1);
        mla_buf_clear(&id);
        mla_buf_clear(&label);
        if ((rc = mla_buf_printf(&id, "%s at depth %u", keys[i].type, keys[i].depth)) != MLA_OK ||
            (rc = mla_buf_printf(&label, "%s %s%s", count, keys[i].type, j == i ? "" : "s")) !=
                MLA_OK)
            break;
        size_t g;
        rc = mla_report__node_add(r, (const char *)id.ptr, (const char *)label.ptr, keys[i].type,
                                  keys[i].depth, MLA_REPORT_NO_SEQ, false, &g);
        for (size_t k = i; k <= j && rc == MLA_OK; k++) gix[keys[k].node] = g;
        n_groups++;
        i = j;
    }
    if (rc != MLA_OK) goto out;
    gix[0] = node_ix[0];
    for (size_t i = 0; i < w->n_edges; i++) {
        pairs[2 * i] = gix[w->edges[i].from];
        pairs[2 * i + 1] = gix[w->edges[i].to];
    }
    qsort(pairs, w->n_edges, 2 * sizeof *pairs, pair_cmp);
    for (size_t i = 0; i < w->n_edges && rc == MLA_OK;) {
        size_t j = i;
        while (j < w->n_edges && pair_cmp(&pairs[2 * i], &pairs[2 * j]) == 0) j++;
        char count[32];
        mla_report__count(count, j - i);
        mla_buf_clear(&label);
        if ((rc = mla_buf_printf(&label, "%s edge%s", count, j - i == 1 ? "" : "s")) != MLA_OK)
            break;
        rc = mla_report__edge_add(r, pairs[2 * i], pairs[2 * i + 1], (const char *)label.ptr,
                                  MLA_REPORT_NO_SEQ);
        i = j;
    }
    r->graph.summarised = true;
out:
    mla_buf_dispose(&label);
    mla_buf_dispose(&id);
    mla_free(pairs);
    mla_free(node_ix);
    mla_free(gix);
    mla_free(keys);
    return rc;
}

/* The "upstream" table: every edge the walk found, breadth first. */
static mla_status upstream_table(mla_report *r, const walk *w, const char *identity, unsigned depth)
{
    static const char *const cols[] = {"Input", "Role", "Used by", "Depth"};
    mla_report_table *t;
    char count[32], nodes[32];
    MLA_TRY(mla_report__table_add(&t, r, "upstream", "Upstream lineage", cols, 4));
    mla_report__count(count, w->n_edges);
    mla_report__count(nodes, w->n_nodes - 1);
    if (w->n_edges == 0)
        return mla_report__table_intro(t, "No input of %s is recorded in the evidence.", identity);
    MLA_TRY(mla_report__table_intro(t,
                                    "%s edges from %s upstream artifacts within depth %u, breadth "
                                    "first from %s; each row cites the entry that recorded the "
                                    "edge.",
                                    count, nodes, depth, identity));
    size_t n = w->n_edges < MLA_REPORT_ROWS_MAX ? w->n_edges : MLA_REPORT_ROWS_MAX;
    for (size_t i = 0; i < n; i++) {
        const walk_edge *e = &w->edges[i];
        char d[16];
        snprintf(d, sizeof d, "%u", w->nodes[e->to].depth + 1);
        const char *texts[4] = {w->nodes[e->from].id, e->role, w->nodes[e->to].id, d};
        const uint64_t seqs[4] = {e->seq, e->seq, e->seq, MLA_REPORT_NO_SEQ};
        MLA_TRY(mla_report__row_add(t, texts, seqs));
    }
    if (n < w->n_edges) {
        mla_report__count(count, w->n_edges - n);
        MLA_TRY(mla_report__table_note(t, "%s more edges left out.", count));
    }
    return MLA_OK;
}

static mla_status upstream_build(mla_report *r, const records *x, const char *identity,
                                 unsigned depth, size_t *n_artifacts_out, size_t *n_edges_out)
{
    walk w;
    MLA_TRY(walk_run(&w, x, identity, depth));
    mla_status rc =
        w.n_nodes > MLA_REPORT_GRAPH_DRAW_MAX ? graph_grouped(r, &w) : graph_full(r, &w);
    if (rc == MLA_OK) rc = upstream_table(r, &w, identity, depth);
    if (n_artifacts_out) *n_artifacts_out = w.n_nodes - 1;
    if (n_edges_out) *n_edges_out = w.n_edges;
    walk_dispose(&w);
    return rc;
}

mla_status mla_report__upstream_build(mla_report *r, const char *identity, unsigned depth)
{
    records x;
    MLA_TRY(records_build(&x, r));
    mla_status rc = upstream_build(r, &x, identity, depth ? depth : DEPTH_MAX, NULL, NULL);
    records_dispose(&x);
    return rc;
}

/* ---- where it is deployed: the target's timeline replayed ------------------ */

static bool on_target(const mla_pb_change *c, const char *target)
{
    const char *t = c ? mla_codec_change_target(c) : NULL;
    return t && strcmp(t, target) == 0 &&
           (c->kind == KIND(DEPLOYMENT) || c->kind == KIND(ROLLBACK) ||
            c->kind == KIND(RETIREMENT));
}

/* What serves a target: its DEPLOYMENT, ROLLBACK and RETIREMENT entries in
 * evidence replayed by the daemon's rules (codec_timeline.c), and the entry
 * that last took the watched model out (*left_seq, or NO_SEQ). A ROLLBACK
 * to a model with no DEPLOYMENT in evidence has no stage. On MLA_OK the
 * caller disposes *t. */
static mla_status timeline_replay(mla_timeline *t, uint64_t *left_seq, const mla_report *r,
                                  const char *target, const char *watch)
{
    mla_status rc = MLA_OK;
    mla_codec_timeline_init(t);
    *left_seq = MLA_REPORT_NO_SEQ;
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        if (!on_target(e->change, target)) continue;
        bool was = mla_codec_timeline_find(t, watch) >= 0, stage_unknown;
        rc = mla_codec_timeline_apply(t, e->seq, e->change, &stage_unknown);
        if (rc == MLA_ELIMIT)
            rc = mla_err(MLA_ECORRUPT, "entry %llu: more than %d models serve %s",
                         (unsigned long long)e->seq, MLA_TIMELINE_SERVING_MAX, target);
        else if (rc == MLA_EINVAL)
            rc = MLA_OK; /* a change without its detail changes nothing */
        if (rc == MLA_OK && was && mla_codec_timeline_find(t, watch) < 0) *left_seq = e->seq;
    }
    if (rc != MLA_OK) mla_codec_timeline_dispose(t);
    return rc;
}

/* ---- the lineage report: gather ---------------------------------------------- */

/* What the subject's name history says: the latest record of each other
 * version, and the targets the subject was deployed on. */
typedef struct version_seen {
    char *version;
    uint64_t seq;
} version_seen;

typedef struct history_ctx {
    const identity_parts *subject;
    uint64_t subject_seq; /* the subject's latest record */
    version_seen *versions;
    size_t n_versions, cap_versions;
    char **targets;
    size_t n_targets, cap_targets;
    mla_status rc;
} history_ctx;

static mla_status history_note(history_ctx *h, uint64_t seq, const mla_pb_change *c)
{
    const mla_pb_artifact *a = c->subject;
    bool self = strcmp(a->version, h->subject->version) == 0;
    if (self && c->kind == KIND(DEPLOYMENT) &&
        c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
        for (size_t i = 0; i < h->n_targets; i++)
            if (strcmp(h->targets[i], c->deployment->target) == 0) return MLA_OK;
        MLA_TRY(mla_report__grow((void **)&h->targets, &h->cap_targets, h->n_targets,
                                 sizeof *h->targets));
        if (!(h->targets[h->n_targets] = mla_report__strdup(c->deployment->target)))
            return mla_err(MLA_ENOMEM, "report: out of memory");
        h->n_targets++;
        return MLA_OK;
    }
    if (!mla_report__kind_records(c->kind)) return MLA_OK;
    if (self) {
        h->subject_seq = seq;
        return MLA_OK;
    }
    for (size_t i = 0; i < h->n_versions; i++)
        if (strcmp(h->versions[i].version, a->version) == 0) {
            h->versions[i].seq = seq; /* ascending: the latest wins */
            return MLA_OK;
        }
    MLA_TRY(mla_report__grow((void **)&h->versions, &h->cap_versions, h->n_versions,
                             sizeof *h->versions));
    if (!(h->versions[h->n_versions].version = mla_report__strdup(a->version)))
        return mla_err(MLA_ENOMEM, "report: out of memory");
    h->versions[h->n_versions++].seq = seq;
    return MLA_OK;
}

static bool keep_history(void *ctx, uint64_t seq, const mla_pb_entry *e, const mla_pb_change *c)
{
    history_ctx *h = ctx;
    (void)e;
    if (h->rc == MLA_OK && c && c->subject) h->rc = history_note(h, seq, c);
    return false; /* the subject's are fetched already; others selectively */
}

static void history_dispose(history_ctx *h)
{
    for (size_t i = 0; i < h->n_versions; i++) mla_free(h->versions[i].version);
    mla_free(h->versions);
    for (size_t i = 0; i < h->n_targets; i++) mla_free(h->targets[i]);
    mla_free(h->targets);
}

static int version_cmp_desc(const void *a, const void *b)
{
    const version_seen *x = a, *y = b;
    return x->seq > y->seq ? -1 : x->seq < y->seq;
}

bool mla_report__keep_evaluation(void *ctx, uint64_t seq, const mla_pb_entry *e,
                                 const mla_pb_change *c)
{
    (void)seq;
    (void)e;
    return mla_report__evaluates(c, ctx);
}

static bool keep_timeline(void *ctx, uint64_t seq, const mla_pb_entry *e, const mla_pb_change *c)
{
    (void)seq;
    (void)e;
    return on_target(c, ctx);
}

/* Earlier versions (for the deltas) and the targets' whole timelines (for
 * where it serves now). */
static mla_status history_gather(mla_report *r, mla_client *c, const identity_parts *p)
{
    history_ctx h;
    mla_client_query q;
    mla_buf id;
    memset(&h, 0, sizeof h);
    memset(&q, 0, sizeof q);
    h.subject = p;
    mla_buf_init(&id, IDENTITY_MAX);
    q.subject_type = p->type;
    q.subject_name = p->name;
    mla_status rc = mla_report__query_fetch(r, c, &q, keep_history, &h);
    if (rc == MLA_OK) rc = h.rc;
    if (rc != MLA_OK) goto out;
    qsort(h.versions, h.n_versions, sizeof *h.versions, version_cmp_desc);
    for (size_t i = 0, n = 0; i < h.n_versions && n < PREVIOUS_MAX && rc == MLA_OK; i++) {
        if (h.versions[i].seq > h.subject_seq) continue;
        n++;
        mla_buf_clear(&id);
        if ((rc = mla_buf_printf(&id, "%s:%s@%s", p->type, p->name, h.versions[i].version)) !=
                MLA_OK ||
            (rc = mla_report__evidence_fetch(r, c, &h.versions[i].seq, 1)) != MLA_OK)
            break;
        rc = mla_report__downstream_fetch(r, c, (const char *)id.ptr, mla_report__keep_evaluation,
                                          id.ptr);
    }
    for (size_t i = 0; i < h.n_targets && rc == MLA_OK; i++) {
        static const mla_kind kinds[] = {KIND(DEPLOYMENT), KIND(ROLLBACK), KIND(RETIREMENT)};
        for (size_t k = 0; k < 3 && rc == MLA_OK; k++) {
            memset(&q, 0, sizeof q);
            q.kind = kinds[k];
            q.target = h.targets[i];
            rc = mla_report__query_fetch(r, c, &q, keep_timeline, h.targets[i]);
        }
    }
out:
    mla_buf_dispose(&id);
    history_dispose(&h);
    return rc;
}

mla_status mla_report__lineage_gather(mla_report *r, mla_client *c, const mla_report_request *req)
{
    identity_parts p;
    char depth[16];
    unsigned d = req->depth ? req->depth : DEPTH_MAX;
    MLA_TRY(identity_split(&p, req->identity, "identity"));
    if (d > DEPTH_MAX) return mla_err(MLA_EINVAL, "depth: %u exceeds limit %d", d, DEPTH_MAX);
    snprintf(depth, sizeof depth, "%u", d);
    MLA_TRY(mla_report__param_set(r, "identity", req->identity));
    MLA_TRY(mla_report__param_set(r, "depth", depth));
    MLA_TRY(mla_report__upstream_gather(r, c, req->identity, d));
    MLA_TRY(mla_report__checklist_gather(r, c, req->identity));
    /* Anything built on it, evaluations included. */
    MLA_TRY(mla_report__downstream_fetch(r, c, req->identity, NULL, NULL));
    return history_gather(r, c, &p);
}

/* ---- the lineage report: build -------------------------------------------- */

static mla_status row2(mla_report_table *t, const char *a, const char *b, uint64_t seq)
{
    const char *texts[2] = {a, b};
    const uint64_t seqs[2] = {MLA_REPORT_NO_SEQ, seq};
    return mla_report__row_add(t, texts, seqs);
}

/* The "subject" table: every field of its record. */
static mla_status subject_table(mla_report *r, const char *identity, const mla_report_entry *s)
{
    static const char *const cols[] = {"Field", "Value"};
    const mla_pb_change *c = s->change;
    const mla_pb_artifact *a = c->subject;
    mla_report_table *t;
    mla_report_keys keys = {0};
    mla_buf v, f;
    char when[MLA_REPORT_TIME_LEN], num[MLA_REPORT_NUM_LEN];
    mla_status rc;
    MLA_TRY(mla_report__table_add(&t, r, "subject", "The artifact", cols, 2));
    mla_buf_init(&v, MLA_LIMIT_ENTRY_BYTES);
    mla_buf_init(&f, MLA_LIMIT_NAME + 32);
    mla_report__time(when, s->entry->ledger_time_ns);
    if ((rc = mla_report__table_intro(t, "As entry %llu records it.",
                                      (unsigned long long)s->seq)) != MLA_OK ||
        (rc = row2(t, "identity", identity, s->seq)) != MLA_OK ||
        (rc = row2(t, "kind", mla_codec_kind_name(c->kind), s->seq)) != MLA_OK ||
        (rc = mla_report__digest(&v, mla_slice_make(a->digest.data, a->digest.len))) != MLA_OK ||
        (rc = row2(t, "digest", (const char *)v.ptr, s->seq)) != MLA_OK)
        goto out;
    if (a->uri[0] && (rc = row2(t, "uri", a->uri, s->seq)) != MLA_OK) goto out;
    if (a->media_type[0] && (rc = row2(t, "media type", a->media_type, s->seq)) != MLA_OK) goto out;
    if (a->external && (a->external->system[0] || a->external->id[0])) {
        mla_buf_clear(&v);
        if ((rc = mla_buf_printf(&v, "%s %s", a->external->system, a->external->id)) != MLA_OK ||
            (rc = row2(t, "external", (const char *)v.ptr, s->seq)) != MLA_OK)
            goto out;
    }
    for (size_t i = 0; i < a->n_digests && rc == MLA_OK; i++)
        rc = mla_report__keys_add(&keys, a->digests[i]->key);
    mla_report__keys_sort(&keys);
    for (size_t i = 0; i < keys.n && rc == MLA_OK; i++) {
        for (size_t j = 0; j < a->n_digests; j++)
            if (strcmp(a->digests[j]->key, keys.v[i]) == 0) {
                mla_buf_clear(&f);
                if ((rc = mla_buf_printf(&f, "digests.%s", keys.v[i])) == MLA_OK)
                    rc = row2(t, (const char *)f.ptr, a->digests[j]->value, s->seq);
            }
    }
    if (rc != MLA_OK) goto out;
    if ((rc = row2(t, "recorded at", when, s->seq)) != MLA_OK ||
        (rc = row2(t, "actor", c->actor, s->seq)) != MLA_OK ||
        (rc = row2(t, "submitter", s->entry->submitter, s->seq)) != MLA_OK ||
        (rc = row2(t, "reason", c->reason, s->seq)) != MLA_OK ||
        (rc = mla_report__keyids(&v, s->entry)) != MLA_OK ||
        (rc = row2(t, "signer keyids", (const char *)v.ptr, s->seq)) != MLA_OK)
        goto out;
    keys.n = 0;
    for (size_t i = 0; i < c->n_attributes && rc == MLA_OK; i++)
        rc = mla_report__keys_add(&keys, c->attributes[i]->key);
    mla_report__keys_sort(&keys);
    for (size_t i = 0; i < keys.n && rc == MLA_OK; i++) {
        mla_buf_clear(&f);
        if ((rc = mla_buf_printf(&f, "attributes.%s", keys.v[i])) == MLA_OK)
            rc = row2(t, (const char *)f.ptr, mla_report__attribute(c, keys.v[i]), s->seq);
    }
    keys.n = 0;
    for (size_t i = 0; i < c->n_metrics && rc == MLA_OK; i++)
        rc = mla_report__keys_add(&keys, c->metrics[i]->key);
    mla_report__keys_sort(&keys);
    for (size_t i = 0; i < keys.n && rc == MLA_OK; i++) {
        double m = 0;
        mla_ignore(mla_report__metric(c, keys.v[i], &m)); /* the key came from c */
        mla_report__num(num, m);
        mla_buf_clear(&f);
        if ((rc = mla_buf_printf(&f, "metrics.%s", keys.v[i])) == MLA_OK)
            rc = row2(t, (const char *)f.ptr, num, s->seq);
    }
out:
    mla_report__keys_dispose(&keys);
    mla_buf_dispose(&f);
    mla_buf_dispose(&v);
    return rc;
}

/* The "inputs" table: the subject's direct inputs and where each is
 * recorded itself. */
static mla_status inputs_table(mla_report *r, const records *recs, const mla_report_entry *s)
{
    static const char *const cols[] = {"Role", "Artifact", "Digest", "Recorded in"};
    const mla_pb_change *c = s->change;
    mla_report_table *t;
    mla_buf id, digest, where;
    mla_status rc = MLA_OK;
    MLA_TRY(mla_report__table_add(&t, r, "inputs", "Direct inputs", cols, 4));
    if (c->n_inputs == 0)
        return mla_report__table_intro(t, "Entry %llu names no inputs.",
                                       (unsigned long long)s->seq);
    MLA_TRY(mla_report__table_intro(t, "The inputs entry %llu names, each with its own record.",
                                    (unsigned long long)s->seq));
    mla_buf_init(&id, IDENTITY_MAX);
    mla_buf_init(&digest, 128);
    mla_buf_init(&where, 128);
    for (size_t i = 0; i < c->n_inputs && rc == MLA_OK; i++) {
        const mla_pb_artifact *a = c->inputs[i]->artifact;
        if ((rc = mla_report__identity(&id, a)) != MLA_OK) break;
        const mla_report_entry *rec = records_find(recs, (const char *)id.ptr);
        uint64_t dseq = s->seq, wseq = MLA_REPORT_NO_SEQ;
        /* The digest the subject's entry claims; else the input's own. */
        mla_slice d = mla_slice_make(a->digest.data, a->digest.len);
        if (d.len == 0 && rec) {
            d = mla_slice_make(rec->change->subject->digest.data, rec->change->subject->digest.len);
            dseq = d.len ? rec->seq : MLA_REPORT_NO_SEQ;
        }
        if ((rc = mla_report__digest(&digest, d)) != MLA_OK) break;
        if (d.len == 0) dseq = MLA_REPORT_NO_SEQ;
        mla_buf_clear(&where);
        if (rec) {
            char when[MLA_REPORT_TIME_LEN];
            mla_report__time(when, rec->entry->ledger_time_ns);
            rc = mla_buf_printf(&where, "%s at %s", mla_codec_kind_name(rec->change->kind), when);
            wseq = rec->seq;
        } else {
            rc = mla_buf_append_cstr(&where, "no entry records it");
        }
        if (rc == MLA_OK) rc = mla_buf_append_byte(&where, 0);
        if (rc != MLA_OK) break;
        const char *texts[4] = {c->inputs[i]->role, (const char *)id.ptr, (const char *)digest.ptr,
                                (const char *)where.ptr};
        const uint64_t seqs[4] = {s->seq, s->seq, dseq, wseq};
        rc = mla_report__row_add(t, texts, seqs);
    }
    mla_buf_dispose(&where);
    mla_buf_dispose(&digest);
    mla_buf_dispose(&id);
    return rc;
}

/* The "training" table: the config, environment and code inputs with
 * what their own records say. */
static mla_status training_table(mla_report *r, const records *recs, const mla_report_entry *s)
{
    static const char *const cols[] = {"Artifact", "Role", "Key", "Value"};
    static const char *const roles[] = {"config", "environment", "code"};
    const mla_pb_change *c = s->change;
    mla_report_table *t;
    mla_report_keys keys = {0};
    mla_buf id, v;
    size_t n_rows = 0;
    mla_status rc = MLA_OK;
    MLA_TRY(mla_report__table_add(&t, r, "training", "Training configuration, environment and code",
                                  cols, 4));
    mla_buf_init(&id, IDENTITY_MAX);
    mla_buf_init(&v, 128);
    for (size_t k = 0; k < 3 && rc == MLA_OK; k++) {
        for (size_t i = 0; i < c->n_inputs && rc == MLA_OK; i++) {
            const mla_pb_input *in = c->inputs[i];
            if (strcmp(in->role, roles[k]) != 0) continue;
            if ((rc = mla_report__identity(&id, in->artifact)) != MLA_OK) break;
            const char *name = (const char *)id.ptr;
            const mla_report_entry *rec = records_find(recs, name);
            const uint64_t seqs[4] = {s->seq, s->seq, MLA_REPORT_NO_SEQ,
                                      rec ? rec->seq : MLA_REPORT_NO_SEQ};
            n_rows++;
            if (!rec) {
                const char *texts[4] = {name, in->role, "—", "no entry records it"};
                rc = mla_report__row_add(t, texts, seqs);
                continue;
            }
            const mla_pb_artifact *a = rec->change->subject;
            if ((rc = mla_report__digest(&v, mla_slice_make(a->digest.data, a->digest.len))) !=
                MLA_OK)
                break;
            const char *texts[4] = {name, in->role, "digest", (const char *)v.ptr};
            if ((rc = mla_report__row_add(t, texts, seqs)) != MLA_OK) break;
            if (a->uri[0]) {
                const char *u[4] = {name, in->role, "uri", a->uri};
                if ((rc = mla_report__row_add(t, u, seqs)) != MLA_OK) break;
            }
            keys.n = 0;
            for (size_t j = 0; j < rec->change->n_attributes && rc == MLA_OK; j++)
                rc = mla_report__keys_add(&keys, rec->change->attributes[j]->key);
            mla_report__keys_sort(&keys);
            for (size_t j = 0; j < keys.n && rc == MLA_OK; j++) {
                const char *at[4] = {name, in->role, keys.v[j],
                                     mla_report__attribute(rec->change, keys.v[j])};
                rc = mla_report__row_add(t, at, seqs);
            }
        }
    }
    if (rc == MLA_OK)
        rc = n_rows ? mla_report__table_intro(t, "What the records of the config, environment "
                                                 "and code inputs say.")
                    : mla_report__table_intro(t,
                                              "Entry %llu names no config, environment or "
                                              "code input.",
                                              (unsigned long long)s->seq);
    mla_report__keys_dispose(&keys);
    mla_buf_dispose(&v);
    mla_buf_dispose(&id);
    return rc;
}

/* An evaluation of an earlier version of the subject's type:name. */
typedef struct earlier_eval {
    char *version; /* identity */
    uint64_t version_seq; /* its record */
    const mla_report_entry *e;
} earlier_eval;

typedef struct earlier {
    earlier_eval *v;
    size_t n, cap;
    uint64_t prev_seq; /* the latest earlier version's record, or NO_SEQ */
    char *prev; /* its identity */
} earlier;

static void earlier_dispose(earlier *x)
{
    for (size_t i = 0; i < x->n; i++) mla_free(x->v[i].version);
    mla_free(x->v);
    mla_free(x->prev);
    memset(x, 0, sizeof *x);
}

/* The earlier versions in evidence (recorded before the subject's record)
 * and their evaluations. */
static mla_status earlier_find(earlier *x, const mla_report *r, const identity_parts *p,
                               const mla_report_entry *s)
{
    mla_buf id;
    mla_status rc = MLA_OK;
    memset(x, 0, sizeof *x);
    x->prev_seq = MLA_REPORT_NO_SEQ;
    mla_buf_init(&id, IDENTITY_MAX);
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        const mla_pb_change *c = e->change;
        if (e->seq >= s->seq) break;
        if (!c || !mla_report__kind_records(c->kind) || !c->subject) continue;
        const mla_pb_artifact *a = c->subject;
        if (strcmp(a->type, p->type) != 0 || strcmp(a->name, p->name) != 0 ||
            strcmp(a->version, p->version) == 0)
            continue;
        if ((rc = mla_report__identity(&id, a)) != MLA_OK) break;
        mla_free(x->prev);
        if (!(x->prev = mla_report__strdup((const char *)id.ptr))) {
            rc = mla_err(MLA_ENOMEM, "report: out of memory");
            break;
        }
        x->prev_seq = e->seq;
    }
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        const mla_pb_change *c = e->change;
        if (!c || c->kind != KIND(EVALUATION)) continue;
        for (size_t j = 0; j < c->n_inputs && rc == MLA_OK; j++) {
            const mla_pb_artifact *a = c->inputs[j]->artifact;
            if (strcmp(c->inputs[j]->role, "evaluated-model") != 0 ||
                strcmp(a->type, p->type) != 0 || strcmp(a->name, p->name) != 0 ||
                strcmp(a->version, p->version) == 0)
                continue;
            if ((rc = mla_report__identity(&id, a)) != MLA_OK) break;
            const mla_report_entry *rec = mla_report__subject_entry(r, (const char *)id.ptr, 0);
            if (!rec || rec->seq >= s->seq) continue;
            if ((rc = mla_report__grow((void **)&x->v, &x->cap, x->n, sizeof *x->v)) != MLA_OK)
                break;
            if (!(x->v[x->n].version = mla_report__strdup((const char *)id.ptr))) {
                rc = mla_err(MLA_ENOMEM, "report: out of memory");
                break;
            }
            x->v[x->n].version_seq = rec->seq;
            x->v[x->n++].e = e;
        }
    }
    mla_buf_dispose(&id);
    return rc;
}

/* The previous value of metric: from the latest earlier version that has
 * an evaluation of it, that version's latest such evaluation. */
static const earlier_eval *earlier_metric(const earlier *x, const char *metric, double *v)
{
    const earlier_eval *best = NULL;
    double bv = 0, m;
    for (size_t i = 0; i < x->n; i++) {
        const earlier_eval *c = &x->v[i];
        if (!mla_report__metric(c->e->change, metric, &m)) continue;
        if (!best || c->version_seq > best->version_seq ||
            (c->version_seq == best->version_seq && c->e->seq > best->e->seq)) {
            best = c;
            bv = m;
        }
    }
    *v = bv;
    return best;
}

/* The "evaluations" table; *headline gets the deltas of the latest
 * evaluation against the previous version, for the summary. */
static mla_status evaluations_table(mla_report *r, const char *identity, const earlier *x,
                                    mla_buf *headline, size_t *n_evals_out)
{
    static const char *const cols[] = {"Evaluation",       "Metric",         "Value",
                                       "Previous version", "Previous value", "Delta"};
    mla_report_table *t;
    mla_report_keys keys = {0};
    mla_buf id;
    mla_status rc = MLA_OK;
    size_t n_evals = 0;
    MLA_TRY(mla_report__table_add(&t, r, "evaluations", "Evaluations", cols, 6));
    mla_buf_init(&id, IDENTITY_MAX);
    const mla_report_entry *latest = NULL;
    for (size_t i = 0; i < r->ev.n_entries; i++)
        if (mla_report__evaluates(r->ev.entries[i].change, identity)) latest = &r->ev.entries[i];
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        if (!mla_report__evaluates(e->change, identity)) continue;
        n_evals++;
        if ((rc = mla_report__identity(&id, e->change->subject)) != MLA_OK) break;
        keys.n = 0;
        for (size_t j = 0; j < e->change->n_metrics && rc == MLA_OK; j++)
            rc = mla_report__keys_add(&keys, e->change->metrics[j]->key);
        mla_report__keys_sort(&keys);
        for (size_t j = 0; j < keys.n && rc == MLA_OK; j++) {
            double v = 0, pv;
            char val[MLA_REPORT_NUM_LEN], pval[MLA_REPORT_NUM_LEN], delta[MLA_REPORT_NUM_LEN];
            mla_ignore(mla_report__metric(e->change, keys.v[j], &v)); /* the key came from it */
            mla_report__num(val, v);
            const earlier_eval *p = earlier_metric(x, keys.v[j], &pv);
            uint64_t ps = p ? p->e->seq : MLA_REPORT_NO_SEQ;
            if (p) {
                mla_report__num(pval, pv);
                mla_report__delta(delta, mla_report__difference(v, pv));
            }
            const char *texts[6] = {(const char *)id.ptr, keys.v[j],      val,
                                    p ? p->version : "—", p ? pval : "—", p ? delta : "—"};
            const uint64_t seqs[6] = {e->seq, e->seq, e->seq, ps, ps, MLA_REPORT_NO_SEQ};
            if ((rc = mla_report__row_add(t, texts, seqs)) != MLA_OK) break;
            if (e == latest && p && x->prev && strcmp(p->version, x->prev) == 0)
                rc = mla_buf_printf(headline, "%s%s %s (%s)", headline->len ? ", " : "", keys.v[j],
                                    val, delta);
        }
    }
    if (rc == MLA_OK)
        rc = n_evals
                 ? mla_report__table_intro(t,
                                           "EVALUATION entries with %s as their "
                                           "evaluated-model input; deltas are against the "
                                           "latest earlier version evaluated on that metric.",
                                           identity)
                 : mla_report__table_intro(t, "No EVALUATION of %s is in the evidence.", identity);
    if (rc == MLA_OK) rc = mla_buf_append_byte(headline, 0);
    if (rc == MLA_OK) headline->len--;
    *n_evals_out = n_evals;
    mla_report__keys_dispose(&keys);
    mla_buf_dispose(&id);
    return rc;
}

/* The "approvals" table. */
static mla_status approvals_table(mla_report *r, const char *identity, size_t *n_out)
{
    static const char *const cols[] = {"Approved by", "Signer keyids", "Scope", "Reason", "Time"};
    mla_report_table *t;
    mla_buf keyids;
    mla_status rc = MLA_OK;
    *n_out = 0;
    MLA_TRY(mla_report__table_add(&t, r, "approvals", "Approvals", cols, 5));
    mla_buf_init(&keyids, 1024);
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        if (!mla_report__approves(r, e->change, identity)) continue;
        char when[MLA_REPORT_TIME_LEN];
        mla_report__time(when, e->entry->ledger_time_ns);
        if ((rc = mla_report__keyids(&keyids, e->entry)) != MLA_OK) break;
        const char *texts[5] = {e->change->actor, (const char *)keyids.ptr,
                                e->change->approval->scope, e->change->reason, when};
        const uint64_t seqs[5] = {e->seq, e->seq, e->seq, e->seq, e->seq};
        rc = mla_report__row_add(t, texts, seqs);
        (*n_out)++;
    }
    if (rc == MLA_OK)
        rc = *n_out ? mla_report__table_intro(t,
                                              "APPROVAL entries approving %s (by artifact, "
                                              "or by the seq of an entry recording it).",
                                              identity)
                    : mla_report__table_intro(t, "No APPROVAL of %s is in the evidence.", identity);
    mla_buf_dispose(&keyids);
    return rc;
}

/* Whether entry i is a deployment event of identity: a DEPLOYMENT of it,
 * a ROLLBACK to it, or a RETIREMENT of it (named, or with no artifact on a
 * target it was deployed on before). */
static bool deployment_event(const mla_report *r, size_t i, const char *identity)
{
    const mla_pb_change *c = r->ev.entries[i].change;
    if (!c) return false;
    if (c->kind == KIND(DEPLOYMENT))
        return c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT &&
               mla_report__artifact_is(c->subject, identity);
    if (c->kind == KIND(ROLLBACK))
        return c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK &&
               mla_report__artifact_is(c->rollback->to, identity);
    if (c->kind != KIND(RETIREMENT) || c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT)
        return false;
    if (c->retirement->artifact) return mla_report__artifact_is(c->retirement->artifact, identity);
    for (size_t j = i; j-- > 0;) {
        const mla_pb_change *d = r->ev.entries[j].change;
        if (d && d->kind == KIND(DEPLOYMENT) &&
            d->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT &&
            strcmp(d->deployment->target, c->retirement->target) == 0 &&
            mla_report__artifact_is(d->subject, identity))
            return true;
    }
    return false;
}

/* The "deployments" table. */
static mla_status deployments_table(mla_report *r, const char *identity, size_t *n_out)
{
    static const char *const cols[] = {"Time",    "Kind",  "Target", "Stage",
                                       "Traffic", "Actor", "Reason"};
    mla_report_table *t;
    mla_status rc = MLA_OK;
    *n_out = 0;
    MLA_TRY(mla_report__table_add(&t, r, "deployments", "Deployment history", cols, 7));
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        if (!deployment_event(r, i, identity)) continue;
        const mla_report_entry *e = &r->ev.entries[i];
        const mla_pb_change *c = e->change;
        char when[MLA_REPORT_TIME_LEN], traffic[MLA_REPORT_NUM_LEN + 1] = "—";
        const char *stage = "—";
        mla_report__time(when, e->entry->ledger_time_ns);
        uint64_t dseq = MLA_REPORT_NO_SEQ;
        if (c->kind == KIND(DEPLOYMENT)) {
            stage = c->deployment->stage;
            mla_report__percent(traffic, c->deployment->traffic_fraction);
            dseq = e->seq;
        }
        const char *texts[7] = {when,
                                mla_codec_kind_name(c->kind),
                                mla_codec_change_target(c),
                                stage,
                                traffic,
                                c->actor,
                                c->reason};
        const uint64_t seqs[7] = {e->seq, e->seq, e->seq, dseq, dseq, e->seq, e->seq};
        rc = mla_report__row_add(t, texts, seqs);
        (*n_out)++;
    }
    if (rc == MLA_OK)
        rc = *n_out
                 ? mla_report__table_intro(t,
                                           "DEPLOYMENT, ROLLBACK and RETIREMENT entries "
                                           "naming %s, in ledger order.",
                                           identity)
                 : mla_report__table_intro(t, "No deployment of %s is in the evidence.", identity);
    return rc;
}

/* Statements on where it serves now: each target it was deployed on,
 * replayed to the report's checkpoint. */
static mla_status serving_statements(mla_report *r, const char *identity)
{
    mla_report_keys targets = {0};
    mla_status rc = MLA_OK;
    uint64_t last = MLA_REPORT_NO_SEQ, left = MLA_REPORT_NO_SEQ;
    size_t n_serving = 0;
    char size[32];
    mla_report__count(size, r->ev.cp.size);
    for (size_t i = 0; i < r->ev.n_entries && rc == MLA_OK; i++) {
        if (!deployment_event(r, i, identity)) continue;
        last = r->ev.entries[i].seq;
        const mla_pb_change *c = r->ev.entries[i].change;
        if (c->kind == KIND(DEPLOYMENT)) rc = mla_report__keys_add(&targets, c->deployment->target);
    }
    mla_report__keys_sort(&targets);
    for (size_t i = 0; i < targets.n && rc == MLA_OK; i++) {
        mla_timeline tl;
        uint64_t left_seq;
        if ((rc = timeline_replay(&tl, &left_seq, r, targets.v[i], identity)) != MLA_OK) break;
        long k = mla_codec_timeline_find(&tl, identity);
        if (k < 0) {
            if (left_seq != MLA_REPORT_NO_SEQ && (left == MLA_REPORT_NO_SEQ || left_seq > left))
                left = left_seq;
            mla_codec_timeline_dispose(&tl);
            continue;
        }
        const mla_timeline_serving *s = &tl.serving[k];
        char pct[MLA_REPORT_NUM_LEN + 1], since[MLA_REPORT_TIME_LEN];
        mla_report__percent(pct, s->traffic_fraction);
        mla_report__time(since, mla_report__entry(r, s->seq)->entry->ledger_time_ns);
        n_serving++;
        rc = mla_report__say(r, s->seq,
                             "It serves %s (%s, %s of traffic) as of this report's checkpoint "
                             "(tree size %s), live since %s.",
                             targets.v[i], s->stage[0] ? s->stage : "no stage", pct, size, since);
        mla_codec_timeline_dispose(&tl);
    }
    if (rc == MLA_OK && n_serving == 0) {
        if (last == MLA_REPORT_NO_SEQ) {
            rc = mla_report__say(r, MLA_REPORT_NO_SEQ,
                                 "No deployment of it is in the evidence: it serves no target.");
        } else {
            /* The entry that took it out when the replay shows one, else
             * its last event (a timeline the evidence holds only in part). */
            uint64_t seq = left != MLA_REPORT_NO_SEQ ? left : last;
            const mla_report_entry *e = mla_report__entry(r, seq);
            char at[MLA_REPORT_TIME_LEN];
            mla_report__time(at, e->entry->ledger_time_ns);
            rc = mla_report__say(r, seq,
                                 "It serves no target as of this report's checkpoint (tree size "
                                 "%s): the %s on %s at %s %s.",
                                 size, mla_codec_kind_name(e->change->kind),
                                 mla_codec_change_target(e->change), at,
                                 left != MLA_REPORT_NO_SEQ ? "took it out of service"
                                                           : "was its last deployment event");
        }
    }
    mla_report__keys_dispose(&targets);
    return rc;
}

static mla_status depth_param(unsigned *out, const mla_report *r)
{
    const char *s = mla_report__param(r, "depth");
    unsigned v = 0;
    if (!s || !*s) return mla_err(MLA_EINVAL, "params.depth: missing");
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > DEPTH_MAX)
            return mla_err(MLA_EINVAL, "params.depth: \"%s\" is not a depth 1..%d", s, DEPTH_MAX);
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v < 1 || v > DEPTH_MAX || (s[0] == '0'))
        return mla_err(MLA_EINVAL, "params.depth: \"%s\" is not a depth 1..%d", s, DEPTH_MAX);
    *out = v;
    return MLA_OK;
}

static mla_status title_set(mla_report *r, const char *identity)
{
    mla_buf t;
    mla_buf_init(&t, 2 * IDENTITY_MAX);
    mla_status rc = mla_buf_printf(&t, "Lineage of %s", identity);
    if (rc == MLA_OK) rc = mla_buf_append_byte(&t, 0);
    if (rc == MLA_OK) {
        mla_free(r->title);
        if (!(r->title = mla_report__strdup((const char *)t.ptr)))
            rc = mla_err(MLA_ENOMEM, "report: out of memory");
    }
    mla_buf_dispose(&t);
    return rc;
}

mla_status mla_report__lineage_build(mla_report *r)
{
    const char *identity = mla_report__param(r, "identity");
    identity_parts p;
    unsigned depth = 0;
    size_t n_artifacts = 0, n_edges = 0, n_evals = 0, n_approvals = 0, n_deploys = 0, n_missing = 0;
    earlier x;
    records recs;
    mla_buf headline;
    mla_report_table *t;
    MLA_TRY(identity_split(&p, identity, "params.identity"));
    MLA_TRY(depth_param(&depth, r));
    const mla_report_entry *s = mla_report__subject_entry(r, identity, 0);
    if (!s) return mla_err(MLA_ECORRUPT, "the subject %s has no entry in the evidence", identity);
    uint64_t sseq = s->seq;
    MLA_TRY(title_set(r, identity));
    MLA_TRY(records_build(&recs, r));
    memset(&x, 0, sizeof x);
    mla_buf_init(&headline, 4096);
    mla_status rc;
    bool model = s->change->kind == KIND(MODEL);
    if ((rc = subject_table(r, identity, s)) != MLA_OK ||
        (rc = inputs_table(r, &recs, s)) != MLA_OK ||
        (rc = upstream_build(r, &recs, identity, depth, &n_artifacts, &n_edges)) != MLA_OK ||
        (rc = training_table(r, &recs, s)) != MLA_OK ||
        (rc = earlier_find(&x, r, &p, s)) != MLA_OK ||
        (rc = evaluations_table(r, identity, &x, &headline, &n_evals)) != MLA_OK ||
        (rc = approvals_table(r, identity, &n_approvals)) != MLA_OK)
        goto out;
    static const char *const ccols[] = {"Requirement", "Status", "Evidence"};
    if ((rc = mla_report__table_add(&t, r, "checklist", "Production checklist", ccols, 3)) !=
        MLA_OK)
        goto out;
    size_t checklist_table = r->n_tables - 1;
    if (model) {
        rc = mla_report__table_intro(t, "What the default production policy (SPEC §6) requires "
                                        "before a model is deployed to production, checked "
                                        "against the evidence.");
        if (rc == MLA_OK) rc = mla_report__checklist(r, identity, t, &n_missing);
    } else {
        rc = mla_report__table_intro(t,
                                     "The production checklist applies to models; %s is "
                                     "recorded as %s.",
                                     identity, mla_codec_kind_name(s->change->kind));
    }
    if (rc != MLA_OK || (rc = deployments_table(r, identity, &n_deploys)) != MLA_OK) goto out;

    /* The summary, in plain words. */
    s = mla_report__entry(r, sseq);
    char when[MLA_REPORT_TIME_LEN], na[32], ne[32];
    mla_report__time(when, s->entry->ledger_time_ns);
    if ((rc = mla_report__say(r, sseq,
                              "%s was recorded as %s at %s by %s (submitted as %s), with the "
                              "reason: %s",
                              identity, mla_codec_kind_name(s->change->kind), when,
                              s->change->actor[0] ? s->change->actor : "no actor named",
                              s->entry->submitter, s->change->reason)) != MLA_OK)
        goto out;
    mla_report__count(na, n_artifacts);
    mla_report__count(ne, n_edges);
    if ((rc = mla_report__say(r, MLA_REPORT_NO_SEQ,
                              "Its upstream lineage within depth %u holds %s artifact%s joined "
                              "by %s edge%s%s.",
                              depth, na, n_artifacts == 1 ? "" : "s", ne, n_edges == 1 ? "" : "s",
                              r->graph.summarised ? " (the picture groups them by depth and type)"
                                                  : "")) != MLA_OK)
        goto out;
    if (model) {
        const mla_report_table *ct = &r->tables[checklist_table];
        mla_buf miss;
        mla_buf_init(&miss, 4096);
        for (size_t i = 0; i < ct->n_rows && rc == MLA_OK; i++)
            if (strcmp(ct->cells[i * 3 + 1].text, "missing") == 0)
                rc = mla_buf_printf(&miss, "%s%s", miss.len ? "; " : "", ct->cells[i * 3].text);
        if (rc == MLA_OK)
            rc = mla_report__say(r, MLA_REPORT_NO_SEQ,
                                 "%zu of %zu production requirements met%s%.*s.",
                                 ct->n_rows - n_missing, ct->n_rows, n_missing ? "; missing: " : "",
                                 (int)miss.len, (const char *)miss.ptr);
        mla_buf_dispose(&miss);
        if (rc != MLA_OK) goto out;
    }
    if ((rc = serving_statements(r, identity)) != MLA_OK) goto out;
    if ((rc = mla_report__say(r, MLA_REPORT_NO_SEQ,
                              "The evidence holds %zu evaluation%s, %zu approval%s and %zu "
                              "deployment event%s of it.",
                              n_evals, n_evals == 1 ? "" : "s", n_approvals,
                              n_approvals == 1 ? "" : "s", n_deploys, n_deploys == 1 ? "" : "s")) !=
        MLA_OK)
        goto out;
    if (!x.prev) {
        rc = mla_report__say(r, MLA_REPORT_NO_SEQ,
                             "No earlier version of %s:%s is in the evidence.", p.type, p.name);
    } else {
        const mla_report_entry *pe = mla_report__entry(r, x.prev_seq);
        mla_report__time(when, pe->entry->ledger_time_ns);
        if (n_evals == 0)
            rc = mla_report__say(r, x.prev_seq, "The previous version is %s, recorded at %s.",
                                 x.prev, when);
        else if (headline.len)
            rc = mla_report__say(r, x.prev_seq,
                                 "The previous version is %s, recorded at %s; against it: %.*s.",
                                 x.prev, when, (int)headline.len, (const char *)headline.ptr);
        else
            rc = mla_report__say(r, x.prev_seq,
                                 "The previous version is %s, recorded at %s; no metric of the "
                                 "latest evaluation was evaluated on it.",
                                 x.prev, when);
    }
out:
    mla_buf_dispose(&headline);
    records_dispose(&recs);
    earlier_dispose(&x);
    return rc;
}
