/* index_lineage: lineage graphs (SPEC §6: "indexes answer upstream and
 * downstream in one pass each"): a breadth-first walk over the 'u'
 * (upstream) or 'w' (downstream) edge records from one identity, each
 * artifact expanded once, so a cycle in recorded lineage cannot loop. */
#include <string.h>

#include "index/index.h"

/* ---- the set of identities already reached (open addressing) ---------- */

typedef struct idset {
    char **slots; /* owned strings, NULL = empty */
    size_t cap, n; /* cap is a power of two */
} idset;

static uint64_t fnv1a(mla_slice s)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.len; i++) {
        h ^= s.ptr[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void idset_dispose(idset *s)
{
    for (size_t i = 0; i < s->cap; i++) mla_free(s->slots[i]);
    mla_free(s->slots);
    memset(s, 0, sizeof *s);
}

static size_t idset_slot(char *const *slots, size_t cap, mla_slice id)
{
    size_t i = (size_t)fnv1a(id) & (cap - 1);
    while (slots[i] && !(strlen(slots[i]) == id.len && memcmp(slots[i], id.ptr, id.len) == 0))
        i = (i + 1) & (cap - 1);
    return i;
}

static mla_status idset_grow(idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    char **slots = mla_calloc(cap, sizeof *slots);
    if (!slots) return mla_err(MLA_ENOMEM, "lineage: out of memory for %zu identities", cap);
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i]) continue;
        slots[idset_slot(slots, cap, mla_slice_cstr(s->slots[i]))] = s->slots[i];
    }
    mla_free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return MLA_OK;
}

/* Add id; *added_out is the set's copy when new, NULL when already there. */
static mla_status idset_add(idset *s, mla_slice id, const char **added_out)
{
    *added_out = NULL;
    if (s->cap == 0 || (s->n + 1) * 2 > s->cap) MLA_TRY(idset_grow(s));
    size_t i = idset_slot(s->slots, s->cap, id);
    if (s->slots[i]) return MLA_OK;
    char *copy = mla_strndup((const char *)id.ptr, id.len);
    if (!copy) return mla_err(MLA_ENOMEM, "lineage: out of memory for an identity");
    s->slots[i] = copy;
    s->n++;
    *added_out = copy;
    return MLA_OK;
}

/* ---- the walk ----------------------------------------------------------- */

typedef struct node {
    const char *id; /* owned by the set */
    unsigned depth;
} node;

typedef struct walk {
    const mla_index_reader *r;
    mla_index_lineage *out;
    size_t cap_edges;
    idset seen;
    node *queue;
    size_t n_queue, cap_queue;
    bool downstream;
    unsigned max_depth;
    const node *cur; /* the node being expanded */
    size_t prefix_len;
    bool stopped; /* MLA_INDEX_LINEAGE_EDGES_MAX reached */
} walk;

static mla_status queue_push(walk *w, const char *id, unsigned depth)
{
    if (w->n_queue == w->cap_queue) {
        size_t cap = w->cap_queue ? w->cap_queue * 2 : 256, bytes;
        if (!mla_mul_size(&bytes, cap, sizeof *w->queue))
            return mla_err(MLA_ELIMIT, "lineage: queue of %zu", cap);
        node *q = mla_realloc(w->queue, bytes);
        if (!q) return mla_err(MLA_ENOMEM, "lineage: out of memory for the queue");
        w->queue = q;
        w->cap_queue = cap;
    }
    w->queue[w->n_queue].id = id;
    w->queue[w->n_queue].depth = depth;
    w->n_queue++;
    return MLA_OK;
}

static mla_status edge_add(walk *w, mla_slice from, mla_slice to, mla_slice role, uint64_t seq,
                           unsigned depth)
{
    mla_index_lineage *l = w->out;
    if (l->n_edges == w->cap_edges) {
        size_t cap = w->cap_edges ? w->cap_edges * 2 : 64, bytes;
        if (cap > MLA_INDEX_LINEAGE_EDGES_MAX) cap = MLA_INDEX_LINEAGE_EDGES_MAX;
        if (!mla_mul_size(&bytes, cap, sizeof *l->edges))
            return mla_err(MLA_ELIMIT, "lineage: %zu edges", cap);
        mla_index_edge *e = mla_realloc(l->edges, bytes);
        if (!e) return mla_err(MLA_ENOMEM, "lineage: out of memory for %zu edges", cap);
        l->edges = e;
        w->cap_edges = cap;
    }
    mla_index_edge *e = &l->edges[l->n_edges];
    e->from = mla_strndup((const char *)from.ptr, from.len);
    e->to = mla_strndup((const char *)to.ptr, to.len);
    e->role = mla_strndup((const char *)role.ptr, role.len);
    e->seq = seq;
    e->depth = depth;
    if (!e->from || !e->to || !e->role) {
        mla_free(e->from);
        mla_free(e->to);
        mla_free(e->role);
        return mla_err(MLA_ENOMEM, "lineage: out of memory for an edge");
    }
    l->n_edges++;
    return MLA_OK;
}

/* One record under 'u' cur 00 (or 'w' cur 00): other 00 seq -> role. */
static mla_status visit(void *ctx, mla_slice key, mla_slice value)
{
    walk *w = ctx;
    if (key.len < w->prefix_len + 1 + 1 + 8 || key.ptr[key.len - 9] != 0)
        return mla_err(MLA_ECORRUPT, "index: lineage key of %zu bytes is malformed", key.len);
    mla_slice other = mla_slice_make(key.ptr + w->prefix_len, key.len - 9 - w->prefix_len);
    uint64_t seq = mla_get_be64(key.ptr + key.len - 8);
    if (seq >= w->r->tree_size) return MLA_OK; /* not yet answerable */
    if (w->out->n_edges == MLA_INDEX_LINEAGE_EDGES_MAX) {
        w->out->truncated = true;
        w->stopped = true;
        return MLA_ENOTFOUND;
    }
    mla_slice cur = mla_slice_cstr(w->cur->id);
    unsigned depth = w->cur->depth + 1;
    /* An edge runs from the input (upstream end) to what was built from it,
     * whichever way the walk goes. */
    if (w->downstream)
        MLA_TRY(edge_add(w, cur, other, value, seq, depth));
    else
        MLA_TRY(edge_add(w, other, cur, value, seq, depth));
    if (depth >= w->max_depth) return MLA_OK; /* not expanded: no need to remember it */
    const char *added;
    MLA_TRY(idset_add(&w->seen, other, &added));
    if (added) MLA_TRY(queue_push(w, added, depth));
    return MLA_OK;
}

static mla_status key_prefix(uint8_t *k, size_t *len, char tag, const char *id)
{
    size_t n = strlen(id);
    /* The records under it also hold another identity and a seq. */
    if (n > MLA_STORE_KEY_MAX - 2 - 1 - 1 - 1 - 8)
        return mla_err(MLA_EINVAL, "identity: %zu bytes exceeds limit %u", n,
                       MLA_STORE_KEY_MAX - 13);
    k[0] = MLA_INDEX_K_PREFIX;
    k[1] = (uint8_t)tag;
    memcpy(k + 2, id, n);
    k[2 + n] = 0;
    *len = n + 3;
    return MLA_OK;
}

/* Stops a scan at the first record below the tree size. */
static mla_status any_below(void *ctx, mla_slice key, mla_slice value)
{
    (void)value;
    const mla_index_reader *r = *(const mla_index_reader *const *)ctx;
    if (key.len < 8) return mla_err(MLA_ECORRUPT, "index: key of %zu bytes", key.len);
    if (mla_get_be64(key.ptr + key.len - 8) >= r->tree_size) return MLA_OK;
    return MLA_ENOTFOUND;
}

/* Whether identity was ever recorded as a subject or on either end of an
 * edge (below the tree size). */
static mla_status recorded(const mla_index_reader *r, const char *id, bool *out)
{
    static const char tags[] = {'s', 'u', 'w'};
    uint8_t k[MLA_STORE_KEY_MAX];
    size_t len;
    const mla_index_reader *ctx = r;
    *out = false;
    for (size_t i = 0; i < sizeof tags; i++) {
        MLA_TRY(key_prefix(k, &len, tags[i], id));
        mla_status rc = mla_index_view_scan(&r->view, mla_slice_make(k, len), any_below, &ctx);
        if (rc == MLA_ENOTFOUND) {
            *out = true;
            return MLA_OK;
        }
        MLA_TRY(rc);
    }
    return MLA_OK;
}

void mla_index_lineage_dispose(mla_index_lineage *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n_edges; i++) {
        mla_free(l->edges[i].from);
        mla_free(l->edges[i].to);
        mla_free(l->edges[i].role);
    }
    mla_free(l->edges);
    memset(l, 0, sizeof *l);
}

mla_status mla_index_lineage_walk(mla_index_lineage *out, const mla_index_reader *r,
                                  const char *identity, bool downstream, unsigned depth)
{
    walk w;
    uint8_t k[MLA_STORE_KEY_MAX];
    size_t len;
    mla_status rc;
    memset(out, 0, sizeof *out);
    memset(&w, 0, sizeof w);
    if (!identity || identity[0] == '\0') return mla_err(MLA_EINVAL, "identity: empty");
    if (depth > MLA_INDEX_LINEAGE_DEPTH_MAX)
        return mla_err(MLA_EINVAL, "depth: %u exceeds limit %d", depth,
                       MLA_INDEX_LINEAGE_DEPTH_MAX);
    MLA_TRY(key_prefix(k, &len, 'u', identity));
    w.r = r;
    w.out = out;
    w.downstream = downstream;
    w.max_depth = depth ? depth : MLA_INDEX_LINEAGE_DEPTH_MAX;
    const char *start;
    if ((rc = idset_add(&w.seen, mla_slice_cstr(identity), &start)) != MLA_OK) goto out;
    if ((rc = queue_push(&w, start, 0)) != MLA_OK) goto out;
    /* Breadth first: the queue is in depth order, so each artifact is
     * expanded once, at its shortest distance from the start. */
    for (size_t head = 0; head < w.n_queue && !w.stopped; head++) {
        node cur = w.queue[head]; /* a copy: pushes may move the queue */
        w.cur = &cur;
        if ((rc = key_prefix(k, &len, downstream ? 'w' : 'u', cur.id)) != MLA_OK) goto out;
        w.prefix_len = len;
        rc = mla_index_view_scan(&r->view, mla_slice_make(k, len), visit, &w);
        if (rc != MLA_OK && !(rc == MLA_ENOTFOUND && w.stopped)) goto out;
    }
    rc = MLA_OK;
    if (out->n_edges == 0) {
        bool known;
        if ((rc = recorded(r, identity, &known)) != MLA_OK) goto out;
        if (!known)
            rc = mla_err(MLA_ENOTFOUND, "identity: \"%.300s\" was never recorded", identity);
    }
out:
    mla_free(w.queue);
    idset_dispose(&w.seen);
    if (rc != MLA_OK) mla_index_lineage_dispose(out);
    return rc;
}
