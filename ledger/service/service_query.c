/* service_query: Query, GetProvenEntries, GetLineage and ResolveDecision
 * (SPEC §4, §6): the index's answers, read below the latest signed
 * checkpoint, with what makes them checkable offline: every entry behind an
 * edge or a timeline carries its inclusion proof against that checkpoint, a
 * decision its path in its batch's tree, and GetProvenEntries gives many
 * entries with their proofs in one call (for reports). Request fields are checked here or by
 * index/, and every refusal names the request's field. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "service/service_int.h"

/* "now" for ResolveDecision by (target, time) without a time. */
#define TIME_LATEST INT64_MAX

/* ---- shared ------------------------------------------------------------- */

mla_status mla_service__checkpoint(mla_log *log, mla_buf *note, mla_checkpoint *cp)
{
    mla_buf_init(note, MLA_LOG_CHECKPOINT_MAX);
    MLA_TRY(mla_log_checkpoint(log, note));
    /* C2SP signed note: the signed text is everything up to and including
     * the newline before the blank line. */
    for (size_t i = 0; i + 1 < note->len; i++)
        if (note->ptr[i] == '\n' && note->ptr[i + 1] == '\n')
            return mla_note_checkpoint_parse(cp, mla_slice_make(note->ptr, i + 1));
    return mla_err(MLA_ECORRUPT, "checkpoint: the log's latest note has no blank line");
}

/* A reader of the indexes that answers exactly what the checkpoint covers,
 * so every proof is against it. */
static void reader_at(mla_log *log, uint64_t size, mla_index_reader *r)
{
    mla_log_index_reader(log, r);
    if (r->tree_size > size) r->tree_size = size;
}

/* index/ names its parameters; the request may call the field otherwise
 * ("id" is decision_id, "identity" the artifact). */
static mla_status renamed(mla_status rc, const char *from, const char *to)
{
    const mla_error *e = mla_error_last();
    size_t n = strlen(from);
    if (e->code != rc || strncmp(e->msg, from, n) != 0 || e->msg[n] != ':') return rc;
    char rest[MLA_ERROR_MSG_MAX];
    snprintf(rest, sizeof rest, "%s", e->msg + n);
    return mla_error_set(rc, e->file, e->line, "%s%s", to, rest);
}

/* An entry with its leaf hash and (optionally) its inclusion proof, and the
 * messages that point at them. */
typedef struct proven {
    uint64_t seq;
    mla_buf bytes;
    mla_hash leaf;
    mla_merkle_proof proof;
    Mlaudit__V1__StoredEntry se;
    Mlaudit__V1__InclusionProof ip;
    ProtobufCBinaryData hashes[MLA_MERKLE_PROOF_MAX];
} proven;

static mla_status proven_load(proven *p, mla_log *log, uint64_t seq, uint64_t tree_size,
                              bool with_proof)
{
    Mlaudit__V1__InclusionProof ip0 = MLAUDIT__V1__INCLUSION_PROOF__INIT;
    p->seq = seq;
    p->ip = ip0;
    mla_buf_init(&p->bytes, MLA_LIMIT_ENTRY_BYTES);
    MLA_TRY(mla_service__stored_entry_load(&p->se, &p->bytes, &p->leaf, log, seq));
    if (!with_proof) return MLA_OK;
    MLA_TRY(mla_log_inclusion_proof(log, seq, tree_size, &p->proof));
    p->ip.leaf_index = seq;
    p->ip.tree_size = tree_size;
    mla_service__proof_fill(&p->ip.n_hashes, p->hashes, &p->proof);
    p->ip.hashes = p->hashes;
    return MLA_OK;
}

static void proven_free(proven *p, size_t n)
{
    if (!p) return;
    for (size_t i = 0; i < n; i++) mla_buf_dispose(&p[i].bytes);
    mla_free(p);
}

/* A reply too large for one message names what to ask for instead. */
static void reply_or_explain(mla_service_call *c, const ProtobufCMessage *m, const char *advice)
{
    mla_buf b;
    mla_buf_init(&b, MLA_LIMIT_RPC_BYTES);
    mla_status rc = mla_codec_rpc_encode(&b, m);
    if (rc == MLA_ELIMIT)
        rc = mla_err(MLA_ELIMIT, "%s: the answer exceeds %u bytes; %s", m->descriptor->short_name,
                     MLA_LIMIT_RPC_BYTES, advice);
    if (rc == MLA_OK)
        mla_service__reply_raw(c, mla_buf_slice(&b));
    else
        mla_service__fail(c, rc);
    mla_buf_dispose(&b);
}

/* ---- Query -------------------------------------------------------------- */

void mla_service__query(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_log *log = mla_service__log(c);
    uint64_t *seqs = NULL;
    proven *ps = NULL;
    Mlaudit__V1__StoredEntry **ptrs = NULL;
    size_t n = 0, loaded = 0;
    mla_buf note;
    mla_buf_init(&note, 0);
    mla_status rc =
        mla_codec_rpc_decode(&m, &mlaudit__v1__query_request__descriptor, request, "QueryRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__QueryRequest *req = (const Mlaudit__V1__QueryRequest *)m;
    mla_index_query q;
    memset(&q, 0, sizeof q);
    /* The cursor is the next seq, 8 bytes big-endian: opaque to clients. */
    if (req->page_token.len == 8) {
        q.start_seq = mla_get_be64(req->page_token.data);
    } else if (req->page_token.len != 0) {
        rc = mla_err(MLA_EINVAL,
                     "page_token: %zu bytes is not a token this server issued (pass the previous "
                     "page's next_page_token, or none for the first page)",
                     req->page_token.len);
        goto out;
    }
    q.kind = req->kind;
    q.subject_type = req->subject_type;
    q.subject_name = req->subject_name;
    q.subject_version = req->subject_version;
    q.target = req->target;
    q.actor = req->actor;
    q.from_time_ns = req->from_time_ns;
    q.to_time_ns = req->to_time_ns;
    q.page_size = req->page_size;
    mla_checkpoint cp;
    if ((rc = mla_service__checkpoint(log, &note, &cp)) != MLA_OK) goto out;
    mla_index_reader r;
    reader_at(log, cp.size, &r);
    seqs = mla_calloc(MLA_INDEX_PAGE_MAX, sizeof *seqs);
    if (!seqs) {
        rc = mla_err(MLA_ENOMEM, "Query: out of memory");
        goto out;
    }
    uint64_t next = UINT64_MAX;
    if ((rc = mla_index_query_run(&r, &q, seqs, &n, &next)) != MLA_OK) goto out;
    ps = mla_calloc(n ? n : 1, sizeof *ps);
    ptrs = mla_calloc(n ? n : 1, sizeof *ptrs);
    if (!ps || !ptrs) {
        rc = mla_err(MLA_ENOMEM, "Query: out of memory for %zu entries", n);
        goto out;
    }
    /* A page is also bounded in bytes (entries may be large); the rest of
     * it starts the next page. Always at least one entry, so paging moves. */
    size_t bytes = 0, max_bytes = mla_service__options(c)->stream_bytes, n_out = 0;
    for (size_t i = 0; i < n; i++) {
        loaded = i + 1;
        if ((rc = proven_load(&ps[i], log, seqs[i], cp.size, false)) != MLA_OK) goto out;
        size_t cost = ps[i].bytes.len + MLA_SERVICE__STORED_ENTRY_OVERHEAD;
        if (i > 0 && bytes + cost > max_bytes) {
            next = seqs[i];
            break;
        }
        bytes += cost;
        ptrs[n_out++] = &ps[i].se;
    }
    uint8_t token[8];
    Mlaudit__V1__QueryResponse resp = MLAUDIT__V1__QUERY_RESPONSE__INIT;
    resp.n_entries = n_out;
    resp.entries = ptrs;
    if (next != UINT64_MAX) {
        mla_put_be64(token, next);
        resp.next_page_token.data = token;
        resp.next_page_token.len = sizeof token;
    }
    mla_service__reply(c, &resp.base);
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    proven_free(ps, loaded);
    mla_free(ptrs);
    mla_free(seqs);
    mla_buf_dispose(&note);
    if (m) mla_codec_rpc_free(m);
}

/* ---- GetProvenEntries --------------------------------------------------- */

/* Encoded bytes of a ProvenEntry beyond its entry bytes and proof hashes:
 * the StoredEntry's overhead, the InclusionProof's index, size and tags, and
 * the two message headers. */
#define PROVEN_ENTRY_OVERHEAD (MLA_SERVICE__STORED_ENTRY_OVERHEAD + 40)
/* Each proof hash: 32 bytes, its tag and length. */
#define PROOF_HASH_BYTES 34

void mla_service__get_proven_entries(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_log *log = mla_service__log(c);
    proven *ps = NULL;
    Mlaudit__V1__ProvenEntry *items = NULL, **ptrs = NULL;
    size_t loaded = 0;
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__get_proven_entries_request__descriptor,
                                         request, "GetProvenEntriesRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__GetProvenEntriesRequest *req =
        (const Mlaudit__V1__GetProvenEntriesRequest *)m;
    size_t n = req->n_seqs;
    if (n > MLA_LIMIT_PROVEN_SEQS) {
        rc = mla_err(MLA_EINVAL, "seqs: %zu exceeds limit %u", n, MLA_LIMIT_PROVEN_SEQS);
        goto out;
    }
    uint64_t tree_size;
    rc = mla_service__resolve_size(&tree_size, req->tree_size, mla_log_size(log), "tree_size");
    if (rc != MLA_OK) goto out;
    for (size_t i = 0; i < n; i++)
        if (req->seqs[i] >= tree_size) {
            rc = mla_err(MLA_EINVAL, "seqs[%zu]: %" PRIu64 " is not in the tree of size %" PRIu64,
                         i, req->seqs[i], tree_size);
            goto out;
        }
    ps = mla_calloc(n ? n : 1, sizeof *ps);
    items = mla_calloc(n ? n : 1, sizeof *items);
    ptrs = mla_calloc(n ? n : 1, sizeof *ptrs);
    if (!ps || !items || !ptrs) {
        rc = mla_err(MLA_ENOMEM, "GetProvenEntries: out of memory for %zu entries", n);
        goto out;
    }
    /* The answer stays within a GetEntries message's bytes, so clients with
     * gRPC's default receive limit can read it: the longest prefix that fits
     * (always at least one entry), and the client asks again for the rest. */
    size_t bytes = 0, max_bytes = mla_service__options(c)->stream_bytes, n_out = 0;
    for (size_t i = 0; i < n; i++) {
        loaded = i + 1;
        if ((rc = proven_load(&ps[i], log, req->seqs[i], tree_size, true)) != MLA_OK) goto out;
        size_t cost = ps[i].bytes.len + PROVEN_ENTRY_OVERHEAD + ps[i].proof.n * PROOF_HASH_BYTES;
        if (i > 0 && bytes + cost > max_bytes) break;
        bytes += cost;
        Mlaudit__V1__ProvenEntry pe0 = MLAUDIT__V1__PROVEN_ENTRY__INIT;
        items[i] = pe0;
        items[i].entry = &ps[i].se;
        items[i].inclusion = &ps[i].ip;
        ptrs[n_out++] = &items[i];
    }
    Mlaudit__V1__GetProvenEntriesResponse resp = MLAUDIT__V1__GET_PROVEN_ENTRIES_RESPONSE__INIT;
    resp.n_entries = n_out;
    resp.entries = ptrs;
    resp.tree_size = tree_size;
    reply_or_explain(c, &resp.base, "ask for fewer seqs");
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    proven_free(ps, loaded);
    mla_free(items);
    mla_free(ptrs);
    if (m) mla_codec_rpc_free(m);
}

/* ---- GetLineage --------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The index of seq in the sorted, distinct ps[0..n). */
static size_t find_proven(const proven *ps, size_t n, uint64_t seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ps[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    MLA_ASSERT(lo < n && ps[lo].seq == seq);
    return lo;
}

static mla_status lineage_too_big(const mla_buf *identity, size_t n_edges)
{
    return mla_err(MLA_ELIMIT,
                   "depth: the lineage of %s (%zu edges with their entries and proofs) exceeds "
                   "%u bytes; ask for a smaller depth",
                   (const char *)identity->ptr, n_edges, MLA_LIMIT_RPC_BYTES);
}

void mla_service__get_lineage(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_log *log = mla_service__log(c);
    mla_index_lineage lin;
    memset(&lin, 0, sizeof lin);
    uint64_t *seqs = NULL;
    proven *ps = NULL;
    size_t n_ps = 0, loaded = 0;
    Mlaudit__V1__LineageEdge *edges = NULL, **edge_ptrs = NULL;
    Mlaudit__V1__StoredEntry **entry_ptrs = NULL;
    mla_buf note, identity;
    mla_buf_init(&note, 0);
    mla_buf_init(&identity, 3 * MLA_LIMIT_NAME + 3);
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__get_lineage_request__descriptor, request,
                                         "GetLineageRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__GetLineageRequest *req = (const Mlaudit__V1__GetLineageRequest *)m;
    /* "artifact: missing", "artifact.version: empty", ... */
    if ((rc = mla_codec_artifact_identity(&identity, req->artifact)) != MLA_OK) goto out;
    if ((rc = mla_buf_append_byte(&identity, 0)) != MLA_OK) goto out;
    if (req->direction != MLAUDIT__V1__DIRECTION__DIRECTION_UPSTREAM &&
        req->direction != MLAUDIT__V1__DIRECTION__DIRECTION_DOWNSTREAM) {
        rc = mla_err(MLA_EINVAL, "direction: %d is neither UPSTREAM (0) nor DOWNSTREAM (1)",
                     (int)req->direction);
        goto out;
    }
    mla_checkpoint cp;
    if ((rc = mla_service__checkpoint(log, &note, &cp)) != MLA_OK) goto out;
    mla_index_reader r;
    reader_at(log, cp.size, &r);
    rc = mla_index_lineage_walk(&lin, &r, (const char *)identity.ptr,
                                req->direction == MLAUDIT__V1__DIRECTION__DIRECTION_DOWNSTREAM,
                                req->depth);
    if (rc != MLA_OK) {
        rc = renamed(rc, "identity", "artifact");
        goto out;
    }
    if (lin.truncated) {
        /* An audit must not mistake part of a graph for all of it. */
        rc = mla_err(MLA_ELIMIT,
                     "depth: the lineage of %s has more than %d edges; ask for a smaller depth",
                     (const char *)identity.ptr, MLA_INDEX_LINEAGE_EDGES_MAX);
        goto out;
    }
    size_t ne = lin.n_edges;
    seqs = mla_calloc(ne ? ne : 1, sizeof *seqs);
    edges = mla_calloc(ne ? ne : 1, sizeof *edges);
    edge_ptrs = mla_calloc(ne ? ne : 1, sizeof *edge_ptrs);
    if (!seqs || !edges || !edge_ptrs) {
        rc = mla_err(MLA_ENOMEM, "GetLineage: out of memory for %zu edges", ne);
        goto out;
    }
    for (size_t i = 0; i < ne; i++) seqs[i] = lin.edges[i].seq;
    qsort(seqs, ne, sizeof *seqs, cmp_u64);
    for (size_t i = 0; i < ne; i++)
        if (i == 0 || seqs[i] != seqs[i - 1]) seqs[n_ps++] = seqs[i];
    /* What the answer will weigh, checked before anything is loaded: each
     * edge and each entry carries a proof of at most proof_bytes. */
    size_t proof_bytes = 8, bytes = 0;
    for (uint64_t sz = cp.size; sz > 1; sz = (sz + 1) / 2) proof_bytes += 34;
    for (size_t i = 0; i < ne; i++)
        bytes += strlen(lin.edges[i].from) + strlen(lin.edges[i].to) + strlen(lin.edges[i].role) +
                 32 + proof_bytes;
    bytes += n_ps * (MLA_SERVICE__STORED_ENTRY_OVERHEAD + proof_bytes);
    if (bytes > MLA_LIMIT_RPC_BYTES) {
        rc = lineage_too_big(&identity, ne);
        goto out;
    }
    ps = mla_calloc(n_ps ? n_ps : 1, sizeof *ps);
    entry_ptrs = mla_calloc(n_ps ? n_ps : 1, sizeof *entry_ptrs);
    if (!ps || !entry_ptrs) {
        rc = mla_err(MLA_ENOMEM, "GetLineage: out of memory for %zu entries", n_ps);
        goto out;
    }
    for (; loaded < n_ps; loaded++) {
        if ((rc = proven_load(&ps[loaded], log, seqs[loaded], cp.size, true)) != MLA_OK) {
            loaded++;
            goto out;
        }
        entry_ptrs[loaded] = &ps[loaded].se;
        if ((bytes += ps[loaded].bytes.len) > MLA_LIMIT_RPC_BYTES) {
            loaded++;
            rc = lineage_too_big(&identity, ne);
            goto out;
        }
    }
    for (size_t i = 0; i < ne; i++) {
        Mlaudit__V1__LineageEdge e0 = MLAUDIT__V1__LINEAGE_EDGE__INIT;
        edges[i] = e0;
        edges[i].from = lin.edges[i].from;
        edges[i].to = lin.edges[i].to;
        edges[i].role = lin.edges[i].role;
        edges[i].seq = lin.edges[i].seq;
        /* Edges recorded by one entry share its proof. */
        edges[i].inclusion = &ps[find_proven(ps, n_ps, lin.edges[i].seq)].ip;
        edge_ptrs[i] = &edges[i];
    }
    Mlaudit__V1__Checkpoint cpm = MLAUDIT__V1__CHECKPOINT__INIT;
    cpm.note.data = note.ptr;
    cpm.note.len = note.len;
    Mlaudit__V1__GetLineageResponse resp = MLAUDIT__V1__GET_LINEAGE_RESPONSE__INIT;
    resp.n_edges = ne;
    resp.edges = edge_ptrs;
    resp.n_entries = n_ps;
    resp.entries = entry_ptrs;
    resp.checkpoint = &cpm;
    reply_or_explain(c, &resp.base, "ask for a smaller depth");
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    proven_free(ps, loaded);
    mla_free(entry_ptrs);
    mla_free(edge_ptrs);
    mla_free(edges);
    mla_free(seqs);
    mla_index_lineage_dispose(&lin);
    mla_buf_dispose(&identity);
    mla_buf_dispose(&note);
    if (m) mla_codec_rpc_free(m);
}

/* ---- ResolveDecision ------------------------------------------------------ */

/* Split "type:name@version" (codec: the type has no ':' or '@', the name no
 * '@') into an Artifact whose strings live in `store` (3 NUL-ended parts). */
static void artifact_of(Mlaudit__V1__Artifact *a, char *store, size_t cap, const char *identity)
{
    Mlaudit__V1__Artifact a0 = MLAUDIT__V1__ARTIFACT__INIT;
    *a = a0;
    snprintf(store, cap, "%s", identity);
    char *colon = strchr(store, ':');
    char *at = colon ? strchr(colon + 1, '@') : NULL;
    if (!colon || !at) { /* not an identity: show it whole as the name */
        a->name = store;
        return;
    }
    *colon = 0;
    *at = 0;
    a->type = store;
    a->name = colon + 1;
    a->version = at + 1;
}

/* What a ResolveDecision answer owns while it is being built. */
typedef struct resolution {
    mla_index_decision_found found;
    bool has_found;
    mla_pb_decision *decision;
    proven batch;
    bool has_batch;
    mla_pb_entry *batch_entry;
    mla_pb_change *batch_change;
    mla_index_timeline tl;
    proven *chain;
    size_t n_chain;
    Mlaudit__V1__ServingModel serving[MLA_INDEX_SERVING_MAX];
    Mlaudit__V1__Artifact serving_art[MLA_INDEX_SERVING_MAX];
    char serving_text[MLA_INDEX_SERVING_MAX][3 * MLA_LIMIT_NAME + 4];
    Mlaudit__V1__ServingModel *serving_ptrs[MLA_INDEX_SERVING_MAX];
    char **disc;
    size_t n_disc;
    uint8_t serving_key[32];
    bool has_serving_key;
} resolution;

static void resolution_dispose(resolution *z)
{
    if (z->has_found) mla_buf_dispose(&z->found.decision);
    mla_codec_decision_free(z->decision);
    if (z->has_batch) mla_buf_dispose(&z->batch.bytes);
    mla_codec_change_free(z->batch_change);
    mla_codec_entry_free(z->batch_entry);
    mla_index_timeline_dispose(&z->tl);
    proven_free(z->chain, z->n_chain);
    for (size_t i = 0; i < z->n_disc; i++) mla_free(z->disc[i]);
    mla_free(z->disc);
}

static mla_status discrepancy(resolution *z, const char *fmt, ...) MLA_PRINTF(2, 3);
static mla_status discrepancy(resolution *z, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char **grown = mla_realloc(z->disc, (z->n_disc + 1) * sizeof *grown);
    if (!grown) return mla_err(MLA_ENOMEM, "ResolveDecision: out of memory");
    z->disc = grown;
    if (!(z->disc[z->n_disc] = mla_strndup(text, strlen(text))))
        return mla_err(MLA_ENOMEM, "ResolveDecision: out of memory");
    z->n_disc++;
    return MLA_OK;
}

/* The key that signed the batch, by the keyid of its first signature: the
 * log's own key (sealed here), or the serving key a DEPLOYMENT on the target
 * named. A writer key of the registry is left out (empty serving_key). */
static mla_status batch_signer(resolution *z, mla_log *log, const mla_index_reader *r,
                               const char *target)
{
    const mla_pb_envelope *env = z->batch_entry->envelope;
    if (env->n_signatures == 0) return MLA_OK;
    mla_hash keyid;
    if (mla_hash_from_hex(&keyid, mla_slice_cstr(env->signatures[0]->keyid), "keyid") != MLA_OK) {
        mla_error_clear();
        return MLA_OK;
    }
    mla_hash own;
    mla_crypto_keyid_hash(&own, &mla_log_verifier(log)->pub);
    if (mla_hash_eq(&own, &keyid)) {
        memcpy(z->serving_key, mla_log_verifier(log)->pub.b, 32);
        z->has_serving_key = true;
        return MLA_OK;
    }
    uint64_t seq;
    mla_status rc = mla_index_serving_key_find(&r->view, target, &keyid, &seq, z->serving_key);
    if (rc == MLA_ENOTFOUND) {
        mla_error_clear();
        return MLA_OK;
    }
    if (rc == MLA_OK) z->has_serving_key = true;
    return rc;
}

/* The decision, its batch entry and the batch's change. */
static mla_status load_decision(resolution *z, mla_log *log, const mla_index_reader *r,
                                uint64_t tree_size, const char *target, const char *id)
{
    mla_buf_init(&z->found.decision, MLA_LIMIT_DECISION_BYTES);
    z->has_found = true;
    mla_status rc = mla_index_decision_prove(&z->found, r, target && target[0] ? target : NULL, id);
    if (rc != MLA_OK) return renamed(rc, "id", "decision_id");
    MLA_TRY(mla_codec_decision_decode(&z->decision, mla_buf_slice(&z->found.decision)));
    z->has_batch = true;
    MLA_TRY(proven_load(&z->batch, log, z->found.batch_seq, tree_size, true));
    MLA_TRY(mla_codec_entry_decode(&z->batch_entry, mla_buf_slice(&z->batch.bytes)));
    const mla_pb_envelope *env = z->batch_entry->envelope;
    MLA_TRY(mla_codec_change_decode(&z->batch_change,
                                    mla_slice_make(env->payload.data, env->payload.len)));
    if (z->batch_change->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH)
        return mla_err(MLA_ECORRUPT, "entry %" PRIu64 ": holds decisions but is no DECISION_BATCH",
                       z->found.batch_seq);
    return batch_signer(z, log, r, z->decision->target);
}

/* What does not add up (SPEC §3: a report says what a receipt proves and
 * what it does not). */
static mla_status find_discrepancies(resolution *z, const char *target, int64_t t_ns)
{
    const mla_index_timeline *tl = &z->tl;
    if (!tl->any_before)
        return discrepancy(z, "nothing was deployed on target \"%s\" at or before time %lld",
                           target, (long long)t_ns);
    if (tl->n_serving == 0 && tl->retired_seq != UINT64_MAX)
        MLA_TRY(discrepancy(z, "target \"%s\" was retired (seq %" PRIu64 ") before time %lld",
                            target, tl->retired_seq, (long long)t_ns));
    if (!z->decision) return MLA_OK;
    char claim[3 * MLA_LIMIT_NAME + 4] = "";
    mla_buf id;
    mla_buf_init(&id, sizeof claim - 1);
    if (z->decision->model && mla_codec_artifact_identity(&id, z->decision->model) == MLA_OK)
        snprintf(claim, sizeof claim, "%.*s", (int)id.len, (const char *)id.ptr);
    mla_buf_dispose(&id);
    if (claim[0] && tl->n_serving > 0) {
        bool live = false;
        char list[1024] = "";
        size_t off = 0;
        for (size_t i = 0; i < tl->n_serving; i++) {
            if (strcmp(tl->serving[i].model, claim) == 0) live = true;
            int w = snprintf(list + off, sizeof list - off, "%s%s (%g)", i ? ", " : "",
                             tl->serving[i].model, tl->serving[i].traffic_fraction);
            if (w > 0 && (size_t)w < sizeof list - off) off += (size_t)w;
        }
        if (!live)
            MLA_TRY(discrepancy(z,
                                "decision \"%s\" claims model %s, which was not serving target "
                                "\"%s\" at time %lld (serving: %s)",
                                z->decision->id, claim, target, (long long)t_ns, list));
    }
    const Mlaudit__V1__DecisionBatch *b = z->batch_change->decision_batch;
    if (claim[0] && b->model) {
        mla_buf bid;
        mla_buf_init(&bid, sizeof claim - 1);
        if (mla_codec_artifact_identity(&bid, b->model) == MLA_OK &&
            !mla_slice_eq(mla_buf_slice(&bid), mla_slice_cstr(claim)))
            MLA_TRY(discrepancy(
                z, "decision \"%s\" claims model %s, but its batch (seq %" PRIu64 ") names %.*s",
                z->decision->id, claim, z->found.batch_seq, (int)bid.len, (const char *)bid.ptr));
        mla_buf_dispose(&bid);
    }
    return MLA_OK;
}

void mla_service__resolve_decision(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    mla_log *log = mla_service__log(c);
    resolution *z = mla_calloc(1, sizeof *z);
    Mlaudit__V1__StoredEntry **dep_ptrs = NULL;
    Mlaudit__V1__InclusionProof **inc_ptrs = NULL;
    ProtobufCBinaryData path[32];
    mla_buf note;
    mla_buf_init(&note, 0);
    mla_status rc = MLA_OK;
    if (!z) {
        rc = mla_err(MLA_ENOMEM, "ResolveDecision: out of memory");
        goto out;
    }
    z->tl.retired_seq = UINT64_MAX;
    if ((rc = mla_codec_rpc_decode(&m, &mlaudit__v1__resolve_decision_request__descriptor, request,
                                   "ResolveDecisionRequest")) != MLA_OK)
        goto out;
    const Mlaudit__V1__ResolveDecisionRequest *req = (const Mlaudit__V1__ResolveDecisionRequest *)m;
    bool by_id = req->decision_id[0] != '\0';
    if (!by_id && req->target[0] == '\0') {
        rc = mla_err(MLA_EINVAL, "decision_id: empty; give a decision_id, or a target and time_ns");
        goto out;
    }
    if (req->time_ns < 0) {
        rc = mla_err(MLA_EINVAL, "time_ns: %lld is negative", (long long)req->time_ns);
        goto out;
    }
    mla_checkpoint cp;
    if ((rc = mla_service__checkpoint(log, &note, &cp)) != MLA_OK) goto out;
    mla_index_reader r;
    reader_at(log, cp.size, &r);
    const char *target = req->target;
    /* By id, the serving set is the one at the decision's own time. */
    int64_t t_ns = req->time_ns ? req->time_ns : TIME_LATEST;
    if (by_id) {
        if ((rc = load_decision(z, log, &r, cp.size, req->target, req->decision_id)) != MLA_OK)
            goto out;
        target = z->decision->target;
        t_ns = z->decision->time_ns;
    }
    if ((rc = mla_index_timeline_at(&z->tl, &r, target, t_ns)) != MLA_OK) goto out;
    z->chain = mla_calloc(z->tl.n_chain ? z->tl.n_chain : 1, sizeof *z->chain);
    dep_ptrs = mla_calloc(z->tl.n_chain ? z->tl.n_chain : 1, sizeof *dep_ptrs);
    inc_ptrs = mla_calloc(z->tl.n_chain ? z->tl.n_chain : 1, sizeof *inc_ptrs);
    if (!z->chain || !dep_ptrs || !inc_ptrs) {
        rc = mla_err(MLA_ENOMEM, "ResolveDecision: out of memory for %zu entries", z->tl.n_chain);
        goto out;
    }
    for (; z->n_chain < z->tl.n_chain; z->n_chain++) {
        proven *p = &z->chain[z->n_chain];
        rc = proven_load(p, log, z->tl.chain[z->n_chain], cp.size, true);
        if (rc != MLA_OK) {
            z->n_chain++;
            goto out;
        }
        dep_ptrs[z->n_chain] = &p->se;
        inc_ptrs[z->n_chain] = &p->ip;
    }
    for (size_t i = 0; i < z->tl.n_serving; i++) {
        const mla_index_serving *s = &z->tl.serving[i];
        Mlaudit__V1__ServingModel s0 = MLAUDIT__V1__SERVING_MODEL__INIT;
        z->serving[i] = s0;
        artifact_of(&z->serving_art[i], z->serving_text[i], sizeof z->serving_text[i], s->model);
        z->serving[i].model = &z->serving_art[i];
        z->serving[i].traffic_fraction = s->traffic_fraction;
        z->serving[i].stage = s->stage ? s->stage : (char *)(uintptr_t) "";
        z->serving[i].deployment_seq = s->deployment_seq;
        z->serving_ptrs[i] = &z->serving[i];
    }
    if ((rc = find_discrepancies(z, target, t_ns)) != MLA_OK) goto out;

    Mlaudit__V1__Checkpoint cpm = MLAUDIT__V1__CHECKPOINT__INIT;
    cpm.note.data = note.ptr;
    cpm.note.len = note.len;
    Mlaudit__V1__ResolveDecisionResponse resp = MLAUDIT__V1__RESOLVE_DECISION_RESPONSE__INIT;
    resp.n_serving = z->tl.n_serving;
    resp.serving = z->serving_ptrs;
    resp.n_deployment_entries = z->n_chain;
    resp.deployment_entries = dep_ptrs;
    resp.n_deployment_inclusions = z->n_chain;
    resp.deployment_inclusions = inc_ptrs;
    resp.checkpoint = &cpm;
    resp.n_discrepancies = z->n_disc;
    resp.discrepancies = z->disc;
    if (by_id) {
        resp.decision = z->decision;
        resp.batch_entry = &z->batch.se;
        resp.batch_inclusion = &z->batch.ip;
        resp.decision_index = z->found.index;
        for (size_t i = 0; i < z->found.path_len; i++) {
            path[i].data = z->found.path[i].b;
            path[i].len = sizeof z->found.path[i].b;
        }
        resp.n_decision_path = z->found.path_len;
        resp.decision_path = path;
        if (z->has_serving_key) {
            resp.serving_key.data = z->serving_key;
            resp.serving_key.len = sizeof z->serving_key;
        }
    }
    reply_or_explain(c, &resp.base, "the target's timeline is too long to prove in one answer");
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    if (z) resolution_dispose(z);
    mla_free(z);
    mla_free(dep_ptrs);
    mla_free(inc_ptrs);
    mla_buf_dispose(&note);
    if (m) mla_codec_rpc_free(m);
}
