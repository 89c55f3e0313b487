/* client_query: Query (paged) and GetLineage, proven. Every entry handed
 * back hashes to its leaf and is included in a checkpoint signed by the
 * log's key; query entries must match what was asked, and each lineage edge
 * must be recorded by the entry behind it. Also the entry helpers the other
 * semantic calls share (client_int.h). */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

/* A query page token is the server's cursor: small. */
#define QUERY_TOKEN_MAX 1024

/* ---- shared entry helpers ----------------------------------------------- */

char *mla_client__strdup(const char *s) { return mla_strndup(s, strlen(s)); }

void mla_client__entries_free(mla_client_entry *e, size_t n)
{
    if (!e) return;
    for (size_t i = 0; i < n; i++) mla_buf_dispose(&e[i].entry);
    mla_free(e);
}

void mla_client__decoded_free(mla_client__decoded *d)
{
    mla_codec_change_free(d->change);
    mla_codec_entry_free(d->entry);
    d->change = NULL;
    d->entry = NULL;
}

mla_status mla_client__decode_entry(mla_client__decoded *out, mla_slice bytes, uint64_t seq,
                                    const char *field)
{
    out->entry = NULL;
    out->change = NULL;
    mla_status rc = mla_codec_entry_decode(&out->entry, bytes);
    if (rc != MLA_OK) return rc == MLA_ENOMEM ? rc : mla_client__corrupt(field);
    if (out->entry->seq != seq) {
        rc = mla_err(MLA_ECORRUPT, "%s: holds entry %llu, not %llu", field,
                     (unsigned long long)out->entry->seq, (unsigned long long)seq);
        goto fail;
    }
    const mla_pb_envelope *env = out->entry->envelope;
    if (strcmp(env->payload_type, MLA_PAYLOAD_TYPE_CHANGE) != 0) return MLA_OK;
    rc = mla_codec_change_decode(&out->change, mla_slice_make(env->payload.data, env->payload.len));
    if (rc != MLA_OK) {
        rc = rc == MLA_ENOMEM ? rc : mla_client__corrupt(field);
        goto fail;
    }
    return MLA_OK;
fail:
    mla_client__decoded_free(out);
    return rc;
}

mla_status mla_client__leaf_of(mla_hash *out, const Mlaudit__V1__StoredEntry *e, const char *field)
{
    MLA_TRY(mla_client__hash(out, e->leaf_hash, field));
    if (e->redacted) {
        /* SPEC §8: a redacted entry is its leaf hash alone. */
        if (e->entry.len != 0)
            return mla_err(MLA_ECORRUPT, "%s: redacted, yet it carries %zu bytes", field,
                           e->entry.len);
        return MLA_OK;
    }
    mla_hash got;
    mla_merkle_leaf_hash(&got, mla_slice_make(e->entry.data, e->entry.len));
    if (!mla_hash_eq(&got, out))
        return mla_err(MLA_ECORRUPT, "%s: the entry's bytes do not hash to its leaf hash", field);
    return MLA_OK;
}

mla_status mla_client__inclusion_check(const mla_hash *leaf, uint64_t seq,
                                       const mla_merkle_proof *p, const mla_checkpoint *cp,
                                       const char *field)
{
    if (seq >= cp->size)
        return mla_err(MLA_ECORRUPT, "%s: seq %llu is not in the checkpoint's tree of size %llu",
                       field, (unsigned long long)seq, (unsigned long long)cp->size);
    /* SPEC §3: a proof means something only against a verified checkpoint. */
    if (mla_merkle_inclusion_verify(leaf, seq, cp->size, p, &cp->root) != MLA_OK)
        return mla_client__corrupt(field);
    return MLA_OK;
}

mla_status mla_client__proven_check(mla_merkle_proof *proof_out, const Mlaudit__V1__StoredEntry *e,
                                    const Mlaudit__V1__InclusionProof *ip, const mla_checkpoint *cp,
                                    const char *field)
{
    char pf[MLA_ERROR_MSG_MAX / 2 + 16];
    snprintf(pf, sizeof pf, "%s.inclusion", field);
    mla_hash leaf;
    MLA_TRY(mla_client__leaf_of(&leaf, e, field));
    if (!ip) return mla_err(MLA_ECORRUPT, "%s: missing", pf);
    if (ip->leaf_index != e->seq || ip->tree_size != cp->size)
        return mla_err(MLA_ECORRUPT, "%s: for leaf %llu in size %llu, want %llu in %llu", pf,
                       (unsigned long long)ip->leaf_index, (unsigned long long)ip->tree_size,
                       (unsigned long long)e->seq, (unsigned long long)cp->size);
    MLA_TRY(mla_client__proof(proof_out, ip->hashes, ip->n_hashes, pf));
    return mla_client__inclusion_check(&leaf, e->seq, proof_out, cp, pf);
}

mla_status mla_client__prove_seq(mla_client *c, uint64_t seq, const mla_hash *leaf,
                                 const mla_checkpoint *cp, mla_merkle_proof *proof_out,
                                 const char *field)
{
    mla_hash said;
    uint64_t size;
    MLA_TRY(mla_client_inclusion_proof(c, seq, cp->size, proof_out, &said, &size));
    if (!mla_hash_eq(&said, leaf))
        return mla_err(MLA_ECORRUPT, "%s: the server proves another leaf at seq %llu", field,
                       (unsigned long long)seq);
    return mla_client__inclusion_check(leaf, seq, proof_out, cp, field);
}

/* ---- Query -------------------------------------------------------------- */

static bool text_set(const char *s) { return s && *s; }

static char *text_arg(const char *s) { return (char *)(uintptr_t)(s ? s : ""); }

/* The entry must be one the query asked for: a server that pads a page with
 * unrelated entries is caught here (one that omits some cannot be, from a
 * page alone). Redacted entries and payloads other than a Change carry
 * nothing to compare. */
static mla_status query_match(const mla_client_query *q, const mla_client__decoded *d,
                              const char *field)
{
    int64_t t = d->entry->ledger_time_ns;
    if ((q->from_time_ns != 0 && t < q->from_time_ns) || (q->to_time_ns != 0 && t >= q->to_time_ns))
        return mla_err(MLA_ECORRUPT, "%s: ledger time %lld is outside the range asked for", field,
                       (long long)t);
    const mla_pb_change *c = d->change;
    if (!c) return MLA_OK;
    if (q->kind != 0 && c->kind != q->kind)
        return mla_err(MLA_ECORRUPT, "%s: kind %s, the query asked for %s", field,
                       mla_codec_kind_name(c->kind), mla_codec_kind_name(q->kind));
    const mla_pb_artifact *s = c->subject;
    if ((text_set(q->subject_type) && (!s || strcmp(s->type, q->subject_type) != 0)) ||
        (text_set(q->subject_name) && (!s || strcmp(s->name, q->subject_name) != 0)) ||
        (text_set(q->subject_version) && (!s || strcmp(s->version, q->subject_version) != 0)))
        return mla_err(MLA_ECORRUPT, "%s: its subject is not the one the query asked for", field);
    if (text_set(q->actor) && strcmp(c->actor, q->actor) != 0)
        return mla_err(MLA_ECORRUPT, "%s: actor \"%s\", the query asked for \"%s\"", field,
                       c->actor, q->actor);
    const char *target = mla_codec_change_target(c);
    if (text_set(q->target) && (!target || strcmp(target, q->target) != 0))
        return mla_err(MLA_ECORRUPT, "%s: not on target \"%s\"", field, q->target);
    return MLA_OK;
}

void mla_client_page_dispose(mla_client_page *p)
{
    if (!p) return;
    mla_client__entries_free(p->entries, p->n_entries);
    mla_buf_dispose(&p->next_page_token);
    memset(p, 0, sizeof *p);
}

/* The page's entries as the log proves them: each must have the bytes the
 * query answered with (the leaf is then the proven one). */
typedef struct page_proof {
    const mla_client_page *page;
    size_t next;
} page_proof;

static mla_status page_entry_proven(void *ctx, uint64_t seq, mla_slice entry,
                                    const mla_merkle_proof *proof)
{
    (void)proof;
    page_proof *x = ctx;
    size_t i = x->next++;
    const mla_client_entry *o = &x->page->entries[i];
    MLA_ASSERT(o->seq == seq);
    if (!mla_slice_eq(entry, mla_buf_slice(&o->entry)))
        return mla_err(MLA_ECORRUPT,
                       "entries[%zu] (seq %llu): not the entry the log proves at that seq", i,
                       (unsigned long long)seq);
    return MLA_OK;
}

/* One page of Query, proven against `pinned` (entries past it dropped), or,
 * when NULL, against the latest checkpoint fetched after the answer, which
 * then covers every entry of the page. */
static mla_status query_page(mla_client *c, const mla_client_query *q, const mla_checkpoint *pinned,
                             mla_client_page *out)
{
    MLA_ASSERT(c && q && out);
    memset(out, 0, sizeof *out);
    mla_buf_init(&out->next_page_token, QUERY_TOKEN_MAX);
    if (q->page_token.len > QUERY_TOKEN_MAX)
        return mla_err(MLA_EINVAL, "page_token: %zu bytes exceeds limit %d", q->page_token.len,
                       QUERY_TOKEN_MAX);
    if (q->page_size > MLA_INDEX_PAGE_MAX)
        return mla_err(MLA_EINVAL, "page_size: %u exceeds limit %d", q->page_size,
                       MLA_INDEX_PAGE_MAX);
    Mlaudit__V1__QueryRequest req = MLAUDIT__V1__QUERY_REQUEST__INIT;
    req.kind = q->kind;
    req.subject_type = text_arg(q->subject_type);
    req.subject_name = text_arg(q->subject_name);
    req.subject_version = text_arg(q->subject_version);
    req.target = text_arg(q->target);
    req.actor = text_arg(q->actor);
    req.from_time_ns = q->from_time_ns;
    req.to_time_ns = q->to_time_ns;
    req.page_size = q->page_size;
    req.page_token.data = (uint8_t *)(uintptr_t)q->page_token.ptr;
    req.page_token.len = q->page_token.len;

    ProtobufCMessage *resp = NULL;
    mla_buf note;
    mla_buf_init(&note, MLA_NOTE_MAX_BYTES);
    mla_checkpoint latest;
    const mla_checkpoint *cp = pinned;
    mla_client__decoded d = {0};
    uint64_t *seqs = NULL;
    mla_status rc =
        mla_client__call_msg(c, MLA_CLIENT_METHOD("Query"), &req.base,
                             &mlaudit__v1__query_response__descriptor, "QueryResponse", &resp);
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__QueryResponse *r = (const Mlaudit__V1__QueryResponse *)resp;
    size_t limit = q->page_size ? q->page_size : MLA_INDEX_PAGE_MAX;
    if (r->n_entries > limit) {
        rc = mla_err(MLA_ECORRUPT, "entries: %zu for a page of at most %zu", r->n_entries, limit);
        goto out;
    }
    if (r->next_page_token.len > QUERY_TOKEN_MAX) {
        rc = mla_err(MLA_ECORRUPT, "next_page_token: %zu bytes exceeds limit %d",
                     r->next_page_token.len, QUERY_TOKEN_MAX);
        goto out;
    }
    for (size_t i = 1; i < r->n_entries; i++)
        if (r->entries[i]->seq <= r->entries[i - 1]->seq) {
            rc = mla_err(MLA_ECORRUPT, "entries[%zu] (seq %llu): not after seq %llu (pages ascend)",
                         i, (unsigned long long)r->entries[i]->seq,
                         (unsigned long long)r->entries[i - 1]->seq);
            goto out;
        }
    if (!cp && r->n_entries > 0) {
        if ((rc = mla_client_checkpoint(c, &note, &latest)) != MLA_OK) goto out;
        cp = &latest;
    }
    /* Pages ascend, so the entries in cp's tree are a prefix. Past a pinned
     * checkpoint they are newer than the caller's view; past the latest one
     * they cannot be proven at all. */
    size_t n = 0;
    while (n < r->n_entries && r->entries[n]->seq < cp->size) n++;
    if (!pinned && n < r->n_entries) {
        rc = mla_err(MLA_ECORRUPT,
                     "entries[%zu] (seq %llu): not in the checkpoint's tree of size %llu", n,
                     (unsigned long long)r->entries[n]->seq, (unsigned long long)cp->size);
        goto out;
    }
    if (n > 0 && (!(out->entries = mla_calloc(n, sizeof *out->entries)) ||
                  !(seqs = mla_calloc(n, sizeof *seqs)))) {
        rc = mla_err(MLA_ENOMEM, "entries: out of memory for %zu", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const Mlaudit__V1__StoredEntry *e = r->entries[i];
        char field[64];
        snprintf(field, sizeof field, "entries[%zu] (seq %llu)", i, (unsigned long long)e->seq);
        mla_hash leaf;
        if ((rc = mla_client__leaf_of(&leaf, e, field)) != MLA_OK) goto out;
        mla_client_entry *o = &out->entries[i];
        o->seq = seqs[i] = e->seq;
        mla_buf_init(&o->entry, MLA_LIMIT_ENTRY_BYTES);
        out->n_entries = i + 1;
        if (e->redacted) continue;
        mla_slice bytes = mla_slice_make(e->entry.data, e->entry.len);
        if ((rc = mla_client__decode_entry(&d, bytes, e->seq, field)) != MLA_OK) goto out;
        if ((rc = query_match(q, &d, field)) != MLA_OK) goto out;
        mla_client__decoded_free(&d);
        if ((rc = mla_buf_set(&o->entry, bytes)) != MLA_OK) goto out;
    }
    /* The whole page in one GetProvenEntries call (per-entry proofs would
     * cost a round trip each). */
    page_proof x = {.page = out, .next = 0};
    if (n > 0 && (rc = mla_client_entries_proven(c, seqs, n, cp, page_entry_proven, &x)) != MLA_OK)
        goto out;
    rc = mla_buf_set(&out->next_page_token,
                     mla_slice_make(r->next_page_token.data, r->next_page_token.len));
out:
    mla_free(seqs);
    mla_client__decoded_free(&d);
    if (rc != MLA_OK) mla_client_page_dispose(out);
    mla_buf_dispose(&note);
    mla_codec_rpc_free(resp);
    return rc;
}

mla_status mla_client_query_page(mla_client *c, const mla_client_query *q, mla_client_page *out)
{
    return query_page(c, q, NULL, out);
}

mla_status mla_client_query_page_at(mla_client *c, const mla_client_query *q,
                                    const mla_checkpoint *cp, mla_client_page *out)
{
    MLA_ASSERT(cp);
    return query_page(c, q, cp, out);
}

/* ---- GetLineage --------------------------------------------------------- */

void mla_client_lineage_dispose(mla_client_lineage_graph *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n_edges; i++) {
        mla_free(l->edges[i].from);
        mla_free(l->edges[i].to);
        mla_free(l->edges[i].role);
    }
    mla_free(l->edges);
    mla_client__entries_free(l->entries, l->n_entries);
    mla_buf_dispose(&l->checkpoint);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every edge hangs off the graph: its near end (the artifact side walked
 * from) is the start or the far end of another edge. A server cannot pass
 * off an unrelated, genuine edge as part of this artifact's lineage. */
static mla_status lineage_connected(const Mlaudit__V1__GetLineageResponse *r, const char *start,
                                    bool downstream)
{
    size_t n = r->n_edges;
    if (n == 0) return MLA_OK;
    const char **far = mla_calloc(n, sizeof *far);
    if (!far) return mla_err(MLA_ENOMEM, "edges: out of memory for %zu", n);
    for (size_t i = 0; i < n; i++) far[i] = downstream ? r->edges[i]->to : r->edges[i]->from;
    qsort(far, n, sizeof *far, cmp_str);
    mla_status rc = MLA_OK;
    for (size_t i = 0; i < n && rc == MLA_OK; i++) {
        const Mlaudit__V1__LineageEdge *e = r->edges[i];
        const char *near = downstream ? e->from : e->to;
        if (strcmp(near, start) != 0 && !bsearch(&near, far, n, sizeof *far, cmp_str))
            rc = mla_err(MLA_ECORRUPT, "edges[%zu] (%s -> %s): not connected to %s", i, e->from,
                         e->to, start);
    }
    mla_free(far);
    return rc;
}

/* *eq = the artifact's identity is `identity` (false for NULL a). */
static mla_status identity_eq(bool *eq, const mla_pb_artifact *a, const char *identity)
{
    mla_buf b;
    mla_buf_init(&b, 4 * MLA_LIMIT_NAME);
    *eq = false;
    mla_status rc = a ? mla_codec_artifact_identity(&b, a) : MLA_OK;
    if (rc == MLA_OK && a) *eq = mla_slice_eq(mla_buf_slice(&b), mla_slice_cstr(identity));
    mla_buf_dispose(&b);
    return rc;
}

/* The change of the entry behind an edge records that edge: subject `to`,
 * and an input `from` with `role`. */
static mla_status edge_recorded(const Mlaudit__V1__LineageEdge *e, const mla_client__decoded *d,
                                const char *field)
{
    const mla_pb_change *c = d->change;
    if (!c)
        return mla_err(MLA_ECORRUPT, "%s: entry %llu holds no Change", field,
                       (unsigned long long)e->seq);
    bool eq = false;
    MLA_TRY(identity_eq(&eq, c->subject, e->to));
    if (!eq)
        return mla_err(MLA_ECORRUPT, "%s: entry %llu's subject is not %s", field,
                       (unsigned long long)e->seq, e->to);
    for (size_t i = 0; i < c->n_inputs; i++) {
        MLA_TRY(identity_eq(&eq, c->inputs[i]->artifact, e->from));
        if (eq && strcmp(c->inputs[i]->role, e->role) == 0) return MLA_OK;
    }
    return mla_err(MLA_ECORRUPT, "%s: entry %llu has no input %s with role %s", field,
                   (unsigned long long)e->seq, e->from, e->role);
}

static int cmp_entry(const void *a, const void *b)
{
    const Mlaudit__V1__StoredEntry *x = *(const Mlaudit__V1__StoredEntry *const *)a;
    const Mlaudit__V1__StoredEntry *y = *(const Mlaudit__V1__StoredEntry *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Index of seq among entries sorted by seq, or n. */
static size_t entry_find(Mlaudit__V1__StoredEntry **sorted, size_t n, uint64_t seq)
{
    Mlaudit__V1__StoredEntry key = MLAUDIT__V1__STORED_ENTRY__INIT;
    key.seq = seq;
    const Mlaudit__V1__StoredEntry *kp = &key;
    Mlaudit__V1__StoredEntry **hit = bsearch(&kp, sorted, n, sizeof *sorted, cmp_entry);
    return hit ? (size_t)(hit - sorted) : n;
}

/* An edge by the entry behind it, then by its place in the answer. */
typedef struct edge_ref {
    uint64_t seq;
    size_t i;
} edge_ref;

static int cmp_edge_ref(const void *a, const void *b)
{
    const edge_ref *x = a, *y = b;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

mla_status mla_client_lineage(mla_client *c, const char *identity, bool downstream, unsigned depth,
                              mla_client_lineage_graph *out)
{
    MLA_ASSERT(c && identity && out);
    memset(out, 0, sizeof *out);
    mla_buf_init(&out->checkpoint, MLA_NOTE_MAX_BYTES);
    if (depth > MLA_INDEX_LINEAGE_DEPTH_MAX)
        return mla_err(MLA_EINVAL, "depth: %u exceeds limit %d", depth,
                       MLA_INDEX_LINEAGE_DEPTH_MAX);
    mla_buf tmp;
    mla_buf_init(&tmp, 4 * MLA_LIMIT_NAME);
    mla_pb_artifact a = MLAUDIT__V1__ARTIFACT__INIT;
    ProtobufCMessage *resp = NULL;
    mla_client__decoded d = {0};
    bool *used = NULL;
    edge_ref *refs = NULL;
    mla_checkpoint cp;
    mla_status rc = mla_codec_identity_split(&a, &tmp, identity, "identity");
    if (rc != MLA_OK) goto out;
    Mlaudit__V1__GetLineageRequest req = MLAUDIT__V1__GET_LINEAGE_REQUEST__INIT;
    req.artifact = &a;
    req.direction = downstream ? MLAUDIT__V1__DIRECTION__DIRECTION_DOWNSTREAM
                               : MLAUDIT__V1__DIRECTION__DIRECTION_UPSTREAM;
    req.depth = depth;
    if ((rc = mla_client__call_msg(c, MLA_CLIENT_METHOD("GetLineage"), &req.base,
                                   &mlaudit__v1__get_lineage_response__descriptor,
                                   "GetLineageResponse", &resp)) != MLA_OK)
        goto out;
    Mlaudit__V1__GetLineageResponse *r = (Mlaudit__V1__GetLineageResponse *)resp;
    if (r->n_edges > MLA_INDEX_LINEAGE_EDGES_MAX) {
        rc = mla_err(MLA_ECORRUPT, "edges: %zu exceeds limit %d", r->n_edges,
                     MLA_INDEX_LINEAGE_EDGES_MAX);
        goto out;
    }
    if (!r->checkpoint) {
        rc = mla_err(MLA_ECORRUPT, "checkpoint: missing from the server's answer");
        goto out;
    }
    if ((rc = mla_buf_set(&out->checkpoint, mla_slice_make(r->checkpoint->note.data,
                                                           r->checkpoint->note.len))) != MLA_OK)
        goto out;
    if ((rc = mla_client__open_note(&cp, mla_buf_slice(&out->checkpoint), &c->verifier,
                                    "checkpoint")) != MLA_OK)
        goto out;
    if ((rc = lineage_connected(r, identity, downstream)) != MLA_OK) goto out;

    /* Entries by seq (entry_find), each seq once. */
    qsort(r->entries, r->n_entries, sizeof *r->entries, cmp_entry);
    for (size_t i = 1; i < r->n_entries; i++)
        if (r->entries[i]->seq == r->entries[i - 1]->seq) {
            rc = mla_err(MLA_ECORRUPT, "entries: seq %llu twice",
                         (unsigned long long)r->entries[i]->seq);
            goto out;
        }
    if (r->n_entries > 0 && !(used = mla_calloc(r->n_entries, sizeof *used))) {
        rc = mla_err(MLA_ENOMEM, "entries: out of memory for %zu", r->n_entries);
        goto out;
    }
    if (r->n_edges > 0 && (!(out->edges = mla_calloc(r->n_edges, sizeof *out->edges)) ||
                           !(refs = mla_calloc(r->n_edges, sizeof *refs)))) {
        rc = mla_err(MLA_ENOMEM, "edges: out of memory for %zu", r->n_edges);
        goto out;
    }
    out->n_edges = r->n_edges; /* zeroed: dispose frees what is filled */
    /* Edges by entry, so each distinct entry is hashed, proven and decoded
     * once, with the first edge that cites it (that edge's proof; the others'
     * would prove nothing more), then checked to record each of its edges. */
    for (size_t i = 0; i < r->n_edges; i++) refs[i] = (edge_ref){r->edges[i]->seq, i};
    qsort(refs, r->n_edges, sizeof *refs, cmp_edge_ref);
    for (size_t k = 0; k < r->n_edges; k++) {
        const Mlaudit__V1__LineageEdge *e = r->edges[refs[k].i];
        char field[MLA_ERROR_MSG_MAX / 2];
        snprintf(field, sizeof field, "edges[%zu] (%.80s -> %.80s)", refs[k].i, e->from, e->to);
        if (k == 0 || refs[k - 1].seq != e->seq) {
            mla_client__decoded_free(&d);
            size_t at = entry_find(r->entries, r->n_entries, e->seq);
            if (at == r->n_entries) {
                rc = mla_err(MLA_ECORRUPT, "%s: entry %llu is not in the answer", field,
                             (unsigned long long)e->seq);
                goto out;
            }
            const Mlaudit__V1__StoredEntry *se = r->entries[at];
            if (se->redacted) {
                /* A redacted entry shows only its leaf: the edge cannot be
                 * checked against what it recorded. */
                rc = mla_err(MLA_ECORRUPT, "%s: entry %llu is redacted; the edge cannot be proven",
                             field, (unsigned long long)e->seq);
                goto out;
            }
            mla_merkle_proof proof;
            if ((rc = mla_client__proven_check(&proof, se, e->inclusion, &cp, field)) != MLA_OK ||
                (rc = mla_client__decode_entry(&d, mla_slice_make(se->entry.data, se->entry.len),
                                               e->seq, field)) != MLA_OK)
                goto out;
            used[at] = true;
        }
        if ((rc = edge_recorded(e, &d, field)) != MLA_OK) goto out;
        mla_client_edge *o = &out->edges[refs[k].i];
        o->seq = e->seq;
        if (!(o->from = mla_client__strdup(e->from)) || !(o->to = mla_client__strdup(e->to)) ||
            !(o->role = mla_client__strdup(e->role))) {
            rc = mla_err(MLA_ENOMEM, "edges: out of memory");
            goto out;
        }
    }
    /* The entries behind the edges, ascending; any others the server sent
     * prove nothing and are left out. */
    size_t n_used = 0;
    for (size_t j = 0; j < r->n_entries; j++) n_used += used[j];
    if (n_used > 0 && !(out->entries = mla_calloc(n_used, sizeof *out->entries))) {
        rc = mla_err(MLA_ENOMEM, "entries: out of memory for %zu", n_used);
        goto out;
    }
    for (size_t j = 0; j < r->n_entries; j++) {
        if (!used[j]) continue;
        mla_client_entry *o = &out->entries[out->n_entries++];
        o->seq = r->entries[j]->seq;
        mla_buf_init(&o->entry, MLA_LIMIT_ENTRY_BYTES);
        if ((rc = mla_buf_set(&o->entry, mla_slice_make(r->entries[j]->entry.data,
                                                        r->entries[j]->entry.len))) != MLA_OK)
            goto out;
    }
out:
    mla_free(refs);
    mla_free(used);
    mla_client__decoded_free(&d);
    if (rc != MLA_OK) mla_client_lineage_dispose(out);
    mla_codec_rpc_free(resp);
    mla_buf_dispose(&tmp);
    return rc;
}
