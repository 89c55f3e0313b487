/* index_query: the paged Query (SPEC §4): the most selective index for the
 * criteria given, narrowed to a seq range (the cursor, the tree size, and the
 * ledger-time range found by binary search, since ledger time never
 * decreases with seq), then the other criteria checked on decoded entries. */
#include <string.h>

#include "index/index.h"

#define PAGE_DEFAULT 100

/* An index key under construction: 'I' tag part 00 ... */
typedef struct qkey {
    uint8_t b[MLA_STORE_KEY_MAX];
    size_t len;
} qkey;

static mla_status key_add(qkey *k, const void *p, size_t n, const char *field)
{
    /* Room is kept for the 8-byte seq every key of a prefix ends with. */
    if (n > sizeof k->b - 8 - k->len)
        return mla_err(MLA_EINVAL, "%s: %zu bytes too long for an index key (limit %u)", field, n,
                       MLA_STORE_KEY_MAX);
    memcpy(k->b + k->len, p, n);
    k->len += n;
    return MLA_OK;
}

static mla_status key_text(qkey *k, const char *s, const char *field)
{
    return key_add(k, s, strlen(s), field);
}

static const uint8_t SEP = 0;

static bool given(const char *s) { return s && s[0] != '\0'; }

/* First seq in [0, tree_size) whose ledger time is >= t (tree_size if none). */
static mla_status time_lower_bound(const mla_index_reader *r, int64_t t, mla_buf *bytes,
                                   uint64_t *out)
{
    uint64_t lo = 0, hi = r->tree_size;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        mla_pb_entry *e;
        mla_pb_change *c;
        MLA_TRY(mla_index_entry_load(r, mid, bytes, false, &e, &c));
        bool before = e->ledger_time_ns < t;
        mla_codec_entry_free(e);
        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    *out = lo;
    return MLA_OK;
}

static bool text_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static bool change_matches(const mla_pb_change *c, const mla_index_query *q)
{
    if (!c) return false;
    if (q->kind && c->kind != q->kind) return false;
    if (given(q->subject_type)) {
        const mla_pb_artifact *a = c->subject;
        if (!a || !text_eq(a->type, q->subject_type)) return false;
        if (given(q->subject_name) && !text_eq(a->name, q->subject_name)) return false;
        if (given(q->subject_version) && !text_eq(a->version, q->subject_version)) return false;
    }
    if (given(q->target) && !text_eq(mla_codec_change_target(c), q->target)) return false;
    if (given(q->actor) && !text_eq(c->actor, q->actor)) return false;
    return true;
}

typedef struct qrun {
    const mla_index_reader *r;
    const mla_index_query *q;
    uint64_t lo, hi; /* seqs considered: [lo, hi) */
    size_t want;
    size_t prefix_len;
    bool kind_in_value; /* the index's values are the entry's kind (1 byte) */
    bool decode; /* criteria the index does not cover: decode each candidate */
    uint64_t *seqs;
    size_t n;
    uint64_t next;
    bool stopped;
    mla_buf bytes;
} qrun;

/* One candidate, in ascending seq order. Returns MLA_ENOTFOUND (with
 * stopped set) once the page is full and the next match is known. */
static mla_status consider(qrun *x, uint64_t seq, int kind)
{
    if (seq < x->lo || seq >= x->hi) return MLA_OK;
    if (x->q->kind && kind >= 0 && kind != (int)x->q->kind) return MLA_OK;
    if (x->decode) {
        mla_pb_entry *e;
        mla_pb_change *c;
        MLA_TRY(mla_index_entry_load(x->r, seq, &x->bytes, true, &e, &c));
        bool match = change_matches(c, x->q);
        mla_codec_change_free(c);
        mla_codec_entry_free(e);
        if (!match) return MLA_OK;
    }
    if (x->n < x->want) {
        x->seqs[x->n++] = seq;
        return MLA_OK;
    }
    /* SPEC §4 paging: the cursor is the next match's seq, so a page never
     * shifts when entries are appended meanwhile (they all have higher seqs). */
    x->next = seq;
    x->stopped = true;
    return MLA_ENOTFOUND;
}

static mla_status visit(void *ctx, mla_slice key, mla_slice value)
{
    qrun *x = ctx;
    if (key.len != x->prefix_len + 8)
        return mla_err(MLA_ECORRUPT, "index: key of %zu bytes under a %zu-byte prefix", key.len,
                       x->prefix_len);
    int kind = -1;
    if (x->kind_in_value) {
        if (value.len != 1)
            return mla_err(MLA_ECORRUPT, "index: record value of %zu bytes, want a kind byte",
                           value.len);
        kind = value.ptr[0];
    }
    return consider(x, mla_get_be64(key.ptr + x->prefix_len), kind);
}

/* Visit the keys prefix||seq with seq in [lo, hi): straight from the seq
 * range in the store (a late page costs no more than the first), then the
 * view's pending writes, which visit() filters by range. */
static mla_status range_scan(const mla_index_view *v, qkey *k, qrun *x)
{
    uint8_t start[MLA_STORE_KEY_MAX], end[MLA_STORE_KEY_MAX];
    size_t n = k->len;
    memcpy(start, k->b, n);
    memcpy(end, k->b, n);
    mla_put_be64(start + n, x->lo);
    mla_put_be64(end + n, x->hi);
    mla_store_iter *it;
    MLA_TRY(mla_store_iter_new(&it, v->store, mla_slice_make(start, n + 8),
                               mla_slice_make(end, n + 8)));
    mla_status rc;
    mla_slice key, val;
    bool from_visit = false;
    while ((rc = mla_store_iter_next(it, &key, &val)) == MLA_OK) {
        if ((rc = visit(x, key, val)) != MLA_OK) {
            from_visit = true;
            break;
        }
    }
    mla_store_iter_free(it);
    if (from_visit || rc != MLA_ENOTFOUND) return rc; /* stopped, or failed */
    if (v->pending) return v->pending->scan(v->pending->ctx, mla_slice_make(k->b, n), visit, x);
    return MLA_OK;
}

static mla_status validate(const mla_index_query *q, size_t *want)
{
    if (q->page_size > MLA_INDEX_PAGE_MAX)
        return mla_err(MLA_EINVAL, "page_size: %u exceeds limit %d", q->page_size,
                       MLA_INDEX_PAGE_MAX);
    *want = q->page_size ? q->page_size : PAGE_DEFAULT;
    if (q->kind && strcmp(mla_codec_kind_name(q->kind), "UNSPECIFIED") == 0)
        return mla_err(MLA_EINVAL, "kind: %d is not a kind", (int)q->kind);
    if (given(q->subject_version) && !given(q->subject_name))
        return mla_err(MLA_EINVAL, "subject_version: \"%.64s\" given without subject_name",
                       q->subject_version);
    if (given(q->subject_name) && !given(q->subject_type))
        return mla_err(MLA_EINVAL, "subject_name: \"%.64s\" given without subject_type",
                       q->subject_name);
    if (q->from_time_ns < 0)
        return mla_err(MLA_EINVAL, "from_time_ns: %lld is negative", (long long)q->from_time_ns);
    if (q->to_time_ns < 0)
        return mla_err(MLA_EINVAL, "to_time_ns: %lld is negative", (long long)q->to_time_ns);
    if (q->to_time_ns && q->from_time_ns > q->to_time_ns)
        return mla_err(MLA_EINVAL, "to_time_ns: %lld is before from_time_ns %lld",
                       (long long)q->to_time_ns, (long long)q->from_time_ns);
    return MLA_OK;
}

/* Pick the most selective index for q: its prefix into k, and what is left
 * to check per candidate into x. *indexed is false when no index applies
 * (then the seq range itself is scanned). */
static mla_status choose(const mla_index_query *q, qkey *k, qrun *x, bool *indexed)
{
    k->b[0] = MLA_INDEX_K_PREFIX;
    k->len = 2;
    *indexed = true;
    x->kind_in_value = true;
    if (given(q->subject_version)) {
        k->b[1] = 's';
        MLA_TRY(key_text(k, q->subject_type, "subject_type"));
        MLA_TRY(key_add(k, ":", 1, "subject_name"));
        MLA_TRY(key_text(k, q->subject_name, "subject_name"));
        MLA_TRY(key_add(k, "@", 1, "subject_version"));
        MLA_TRY(key_text(k, q->subject_version, "subject_version"));
        x->decode = given(q->target) || given(q->actor);
    } else if (given(q->subject_name)) {
        k->b[1] = 'n';
        MLA_TRY(key_text(k, q->subject_type, "subject_type"));
        MLA_TRY(key_add(k, ":", 1, "subject_name"));
        MLA_TRY(key_text(k, q->subject_name, "subject_name"));
        x->decode = given(q->target) || given(q->actor);
    } else if (given(q->target)) {
        k->b[1] = 'g';
        MLA_TRY(key_text(k, q->target, "target"));
        x->decode = given(q->subject_type) || given(q->actor);
    } else if (given(q->actor)) {
        k->b[1] = 'a';
        MLA_TRY(key_text(k, q->actor, "actor"));
        x->decode = given(q->subject_type);
    } else if (q->kind) {
        uint8_t kind = (uint8_t)q->kind;
        k->b[1] = 'k';
        MLA_TRY(key_add(k, &kind, 1, "kind"));
        x->kind_in_value = false; /* the prefix holds the kind */
        x->decode = given(q->subject_type);
        x->prefix_len = k->len;
        return MLA_OK;
    } else {
        *indexed = false;
        x->kind_in_value = false;
        x->decode = given(q->subject_type);
        return MLA_OK;
    }
    MLA_TRY(key_add(k, &SEP, 1, "index key"));
    x->prefix_len = k->len;
    return MLA_OK;
}

mla_status mla_index_query_run(const mla_index_reader *r, const mla_index_query *q,
                               uint64_t *seqs_out, size_t *n_out, uint64_t *next_out)
{
    qrun x;
    qkey k;
    bool indexed;
    mla_status rc;
    *n_out = 0;
    *next_out = UINT64_MAX;
    memset(&x, 0, sizeof x);
    mla_buf_init(&x.bytes, MLA_LIMIT_ENTRY_BYTES);
    MLA_TRY(validate(q, &x.want));
    x.r = r;
    x.q = q;
    x.seqs = seqs_out;
    x.next = UINT64_MAX;
    x.lo = q->start_seq;
    x.hi = r->tree_size;
    MLA_TRY(choose(q, &k, &x, &indexed));
    if (q->from_time_ns > 0 && x.lo < x.hi) {
        uint64_t s;
        if ((rc = time_lower_bound(r, q->from_time_ns, &x.bytes, &s)) != MLA_OK) goto out;
        if (s > x.lo) x.lo = s;
    }
    if (q->to_time_ns > 0 && x.lo < x.hi) {
        uint64_t s;
        if ((rc = time_lower_bound(r, q->to_time_ns, &x.bytes, &s)) != MLA_OK) goto out;
        if (s < x.hi) x.hi = s;
    }
    rc = MLA_OK;
    if (x.lo >= x.hi) goto out;
    if (indexed) {
        rc = range_scan(&r->view, &k, &x);
    } else {
        for (uint64_t seq = x.lo; seq < x.hi && rc == MLA_OK; seq++) rc = consider(&x, seq, -1);
    }
    if (x.stopped) rc = MLA_OK;
out:
    mla_buf_dispose(&x.bytes);
    if (rc != MLA_OK) return rc;
    *n_out = x.n;
    *next_out = x.next;
    return MLA_OK;
}
