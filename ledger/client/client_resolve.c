/* client_resolve: ResolveDecision, proven (SPEC §3 "Proof that model M made
 * decision D"): the decision's path to its batch root, the batch entry's
 * inclusion, the target's deployment timeline as a back-linked chain of
 * included entries, and a replay of that chain giving the serving set. The
 * same checks run offline on the wire form (a ResolveDecisionResponse). */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "codec/codec_timeline.h"

/* Most timeline entries one resolution carries (the server's chain plus the
 * earlier entries the client fetches to reach a point where the target's
 * state starts over). */
#define CHAIN_MAX 4096
#define DISCREPANCIES_MAX 256
#define DISCREPANCY_BYTES 1024
/* Fractions on the wire are the server's doubles; ours are computed the
 * same way, so they agree to the last bit unless someone changed them. */
#define FRACTION_TOLERANCE 1e-9
#define DECISION_PATH_MAX 32

void mla_client_resolution_dispose(mla_client_resolution *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_serving; i++) {
        mla_free(r->serving[i].model);
        mla_free(r->serving[i].stage);
    }
    mla_free(r->serving);
    mla_client__entries_free(r->deployment_entries, r->n_deployment_entries);
    mla_free(r->deployment_inclusions);
    mla_buf_dispose(&r->decision);
    mla_buf_dispose(&r->batch_entry.entry);
    mla_buf_dispose(&r->checkpoint);
    for (size_t i = 0; i < r->n_discrepancies; i++) mla_free(r->discrepancies[i]);
    mla_free(r->discrepancies);
    memset(r, 0, sizeof *r);
}

static void resolution_init(mla_client_resolution *r)
{
    memset(r, 0, sizeof *r);
    mla_buf_init(&r->decision, MLA_LIMIT_DECISION_BYTES);
    mla_buf_init(&r->batch_entry.entry, MLA_LIMIT_ENTRY_BYTES);
    mla_buf_init(&r->checkpoint, MLA_NOTE_MAX_BYTES);
}

/* ---- the wire form -------------------------------------------------------- */

/* The verbatim bytes of ResolveDecisionResponse.decision (field 4): the
 * decision's leaf is over the bytes the server sent, never a re-encoding.
 * The message has already been decoded once, so its framing is sound. */
static mla_status decision_field(mla_slice *out, mla_slice msg)
{
    mla_reader r;
    mla_reader_init(&r, msg);
    bool seen = false;
    *out = mla_slice_make(NULL, 0);
    while (mla_reader_left(&r) > 0) {
        uint64_t key, v;
        mla_slice bytes;
        MLA_TRY(mla_client__wire_field(&r, &key, &v, &bytes, "resolution"));
        if (key == (4 << 3 | 2)) {
            /* Two would be merged by a protobuf reader: which bytes were
             * hashed would depend on the reader. */
            if (seen) return mla_err(MLA_EINVAL, "resolution.decision: given twice");
            seen = true;
            *out = bytes;
        }
    }
    return MLA_OK;
}

static mla_status stored_entry_take(mla_client_entry *out, const Mlaudit__V1__StoredEntry *e,
                                    const char *field)
{
    out->seq = e->seq;
    mla_buf_init(&out->entry, MLA_LIMIT_ENTRY_BYTES);
    if (e->redacted) return MLA_OK; /* empty: verify names it */
    if (e->entry.len == 0) return mla_err(MLA_EINVAL, "%s.entry: empty", field);
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, mla_slice_make(e->entry.data, e->entry.len));
    if (e->leaf_hash.len != 0 &&
        (e->leaf_hash.len != sizeof leaf.b || memcmp(e->leaf_hash.data, leaf.b, 32) != 0))
        return mla_err(MLA_EINVAL, "%s.leaf_hash: does not match the entry's bytes", field);
    mla_status rc = mla_buf_set(&out->entry, mla_slice_make(e->entry.data, e->entry.len));
    if (rc == MLA_ELIMIT)
        rc = mla_err(MLA_EINVAL, "%s.entry: %zu bytes exceeds limit %d", field, e->entry.len,
                     MLA_LIMIT_ENTRY_BYTES);
    return rc;
}

/* An inclusion proof of the wire form: for leaf seq in the checkpoint's
 * size. */
static mla_status proof_take(mla_merkle_proof *out, const Mlaudit__V1__InclusionProof *p,
                             uint64_t seq, const mla_checkpoint *cp, const char *field)
{
    if (!p) return mla_err(MLA_EINVAL, "%s: missing", field);
    if (p->leaf_index != seq || p->tree_size != cp->size)
        return mla_err(MLA_EINVAL, "%s: for leaf %llu in size %llu, want %llu in %llu", field,
                       (unsigned long long)p->leaf_index, (unsigned long long)p->tree_size,
                       (unsigned long long)seq, (unsigned long long)cp->size);
    if (mla_client__proof(out, p->hashes, p->n_hashes, field) != MLA_OK)
        return mla_err(MLA_EINVAL, "%s", mla_error_last()->msg);
    return MLA_OK;
}

/* Fill *out from the wire form: structure only (MLA_EINVAL naming the
 * field), except that the checkpoint is opened with v to learn the tree
 * size every proof must be for. */
static mla_status from_wire(mla_client_resolution *out, mla_slice in, const mla_note_verifier *v)
{
    ProtobufCMessage *m = NULL;
    mla_status rc;
    char field[96];
    mla_checkpoint cp;
    mla_slice dbytes;
    resolution_init(out);
    MLA_TRY(mla_codec_rpc_decode(&m, &mlaudit__v1__resolve_decision_response__descriptor, in,
                                 "resolution"));
    const Mlaudit__V1__ResolveDecisionResponse *r = (const Mlaudit__V1__ResolveDecisionResponse *)m;
    if ((rc = decision_field(&dbytes, in)) != MLA_OK) goto out;
    if (!r->checkpoint || r->checkpoint->note.len == 0) {
        rc = mla_err(MLA_EINVAL, "resolution.checkpoint: missing");
        goto out;
    }
    if ((rc = mla_buf_set(&out->checkpoint, mla_slice_make(r->checkpoint->note.data,
                                                           r->checkpoint->note.len))) != MLA_OK) {
        if (rc == MLA_ELIMIT) rc = mla_err(MLA_EINVAL, "resolution.checkpoint: too long");
        goto out;
    }
    if ((rc = mla_client__open_note(&cp, mla_buf_slice(&out->checkpoint), v,
                                    "resolution.checkpoint")) != MLA_OK)
        goto out;

    if (r->n_serving > MLA_INDEX_SERVING_MAX) {
        rc = mla_err(MLA_EINVAL, "resolution.serving: %zu exceeds limit %d", r->n_serving,
                     MLA_INDEX_SERVING_MAX);
        goto out;
    }
    if (r->n_serving > 0 && !(out->serving = mla_calloc(r->n_serving, sizeof *out->serving))) {
        rc = mla_err(MLA_ENOMEM, "resolution.serving: out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_serving; i++) {
        const Mlaudit__V1__ServingModel *s = r->serving[i];
        mla_client_serving *o = &out->serving[i];
        mla_buf id;
        mla_buf_init(&id, 4 * MLA_LIMIT_NAME);
        out->n_serving = i + 1;
        o->traffic_fraction = s->traffic_fraction;
        o->deployment_seq = s->deployment_seq;
        rc = s->model ? mla_codec_artifact_identity(&id, s->model)
                      : mla_err(MLA_EINVAL, "resolution.serving[%zu].model: missing", i);
        if (rc == MLA_OK && !(o->model = mla_buf_cstr_new(&id)))
            rc = mla_err(MLA_ENOMEM, "resolution.serving: out of memory");
        mla_buf_dispose(&id);
        if (rc == MLA_OK && !(o->stage = mla_client__strdup(s->stage)))
            rc = mla_err(MLA_ENOMEM, "resolution.serving: out of memory");
        if (rc != MLA_OK) goto out;
    }

    size_t n = r->n_deployment_entries;
    if (n > CHAIN_MAX) {
        rc = mla_err(MLA_EINVAL, "resolution.deployment_entries: %zu exceeds limit %d", n,
                     CHAIN_MAX);
        goto out;
    }
    if (r->n_deployment_inclusions != n) {
        rc = mla_err(MLA_EINVAL, "resolution.deployment_inclusions: %zu for %zu entries",
                     r->n_deployment_inclusions, n);
        goto out;
    }
    if (n > 0 &&
        (!(out->deployment_entries = mla_calloc(n, sizeof *out->deployment_entries)) ||
         !(out->deployment_inclusions = mla_calloc(n, sizeof *out->deployment_inclusions)))) {
        rc = mla_err(MLA_ENOMEM, "resolution.deployment_entries: out of memory for %zu", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        out->n_deployment_entries = i + 1;
        snprintf(field, sizeof field, "resolution.deployment_entries[%zu]", i);
        if ((rc = stored_entry_take(&out->deployment_entries[i], r->deployment_entries[i],
                                    field)) != MLA_OK)
            goto out;
        snprintf(field, sizeof field, "resolution.deployment_inclusions[%zu]", i);
        if ((rc = proof_take(&out->deployment_inclusions[i], r->deployment_inclusions[i],
                             r->deployment_entries[i]->seq, &cp, field)) != MLA_OK)
            goto out;
    }

    out->has_decision = r->decision != NULL;
    if (out->has_decision) {
        if (!r->batch_entry) {
            rc = mla_err(MLA_EINVAL, "resolution.batch_entry: missing beside a decision");
            goto out;
        }
        if ((rc = mla_buf_set(&out->decision, dbytes)) != MLA_OK) {
            if (rc == MLA_ELIMIT) rc = mla_err(MLA_EINVAL, "resolution.decision: too long");
            goto out;
        }
        if ((rc = stored_entry_take(&out->batch_entry, r->batch_entry, "resolution.batch_entry")) !=
            MLA_OK)
            goto out;
        if ((rc = proof_take(&out->batch_inclusion, r->batch_inclusion, r->batch_entry->seq, &cp,
                             "resolution.batch_inclusion")) != MLA_OK)
            goto out;
        if (r->n_decision_path > DECISION_PATH_MAX) {
            rc = mla_err(MLA_EINVAL, "resolution.decision_path: %zu hashes exceeds limit %d",
                         r->n_decision_path, DECISION_PATH_MAX);
            goto out;
        }
        for (size_t i = 0; i < r->n_decision_path; i++) {
            if (r->decision_path[i].len != 32) {
                rc = mla_err(MLA_EINVAL, "resolution.decision_path[%zu]: %zu bytes, want 32", i,
                             r->decision_path[i].len);
                goto out;
            }
            memcpy(out->decision_path[i].b, r->decision_path[i].data, 32);
        }
        out->decision_path_len = r->n_decision_path;
        out->decision_index = r->decision_index;
    }

    if (r->n_discrepancies > DISCREPANCIES_MAX) {
        rc = mla_err(MLA_EINVAL, "resolution.discrepancies: %zu exceeds limit %d",
                     r->n_discrepancies, DISCREPANCIES_MAX);
        goto out;
    }
    if (r->n_discrepancies > 0 &&
        !(out->discrepancies = mla_calloc(r->n_discrepancies, sizeof *out->discrepancies))) {
        rc = mla_err(MLA_ENOMEM, "resolution.discrepancies: out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_discrepancies; i++) {
        size_t len = strlen(r->discrepancies[i]);
        if (len > DISCREPANCY_BYTES) {
            rc = mla_err(MLA_EINVAL, "resolution.discrepancies[%zu]: %zu bytes exceeds limit %d", i,
                         len, DISCREPANCY_BYTES);
            goto out;
        }
        if (!(out->discrepancies[i] = mla_client__strdup(r->discrepancies[i]))) {
            rc = mla_err(MLA_ENOMEM, "resolution.discrepancies: out of memory");
            goto out;
        }
        out->n_discrepancies = i + 1;
    }
    rc = MLA_OK;
out:
    if (rc != MLA_OK) mla_client_resolution_dispose(out);
    mla_codec_rpc_free(m);
    return rc;
}

/* A note's signed text (up to and including the newline before its last
 * blank line), for reading the tree size of a note not verified here. */
static mla_status note_size(uint64_t *size, mla_slice note)
{
    for (size_t i = note.len; i-- > 1;) {
        if (note.ptr[i] == '\n' && note.ptr[i - 1] == '\n') {
            mla_checkpoint cp;
            MLA_TRY(mla_note_checkpoint_parse(&cp, mla_slice_make(note.ptr, i)));
            *size = cp.size;
            return MLA_OK;
        }
    }
    return mla_err(MLA_EINVAL, "resolution.checkpoint: not a signed note");
}

static void stored_entry_of(Mlaudit__V1__StoredEntry *o, mla_hash *leaf, const mla_client_entry *e)
{
    Mlaudit__V1__StoredEntry init = MLAUDIT__V1__STORED_ENTRY__INIT;
    *o = init;
    o->seq = e->seq;
    o->entry.data = e->entry.ptr;
    o->entry.len = e->entry.len;
    mla_merkle_leaf_hash(leaf, mla_buf_slice(&e->entry));
    o->leaf_hash.data = leaf->b;
    o->leaf_hash.len = sizeof leaf->b;
}

typedef struct wire_proof {
    Mlaudit__V1__InclusionProof m;
    ProtobufCBinaryData h[MLA_MERKLE_PROOF_MAX];
} wire_proof;

static void proof_of(wire_proof *o, const mla_merkle_proof *p, uint64_t seq, uint64_t size)
{
    Mlaudit__V1__InclusionProof init = MLAUDIT__V1__INCLUSION_PROOF__INIT;
    o->m = init;
    o->m.leaf_index = seq;
    o->m.tree_size = size;
    for (size_t i = 0; i < p->n; i++) {
        o->h[i].data = (uint8_t *)(uintptr_t)p->h[i].b;
        o->h[i].len = sizeof p->h[i].b;
    }
    o->m.hashes = o->h;
    o->m.n_hashes = p->n;
}

mla_status mla_client_resolution_encode(mla_buf *out, const mla_client_resolution *r)
{
    MLA_ASSERT(out && r);
    size_t n = r->n_deployment_entries, ns = r->n_serving;
    if (n > CHAIN_MAX || ns > MLA_INDEX_SERVING_MAX || r->decision_path_len > DECISION_PATH_MAX ||
        (n > 0 && !r->deployment_inclusions))
        return mla_err(MLA_EINVAL, "resolution: over its limits or without its proofs");
    uint64_t size = 0;
    MLA_TRY(note_size(&size, mla_buf_slice(&r->checkpoint)));
    mla_status rc = MLA_OK;
    Mlaudit__V1__ResolveDecisionResponse m = MLAUDIT__V1__RESOLVE_DECISION_RESPONSE__INIT;
    Mlaudit__V1__ServingModel *sv = NULL, **svp = NULL;
    mla_pb_artifact *arts = NULL;
    mla_buf *tmps = NULL;
    Mlaudit__V1__StoredEntry *de = NULL, **dep = NULL, be;
    mla_hash *leaves = NULL, bleaf;
    wire_proof *dp = NULL, bp;
    Mlaudit__V1__InclusionProof **dpp = NULL;
    ProtobufCBinaryData path[DECISION_PATH_MAX];
    Mlaudit__V1__Checkpoint cpm = MLAUDIT__V1__CHECKPOINT__INIT;
    size_t mark = out->len;

    if ((ns &&
         (!(sv = mla_calloc(ns, sizeof *sv)) || !(svp = mla_calloc(ns, sizeof *svp)) ||
          !(arts = mla_calloc(ns, sizeof *arts)) || !(tmps = mla_calloc(ns, sizeof *tmps)))) ||
        (n && (!(de = mla_calloc(n, sizeof *de)) || !(dep = mla_calloc(n, sizeof *dep)) ||
               !(leaves = mla_calloc(n, sizeof *leaves)) || !(dp = mla_calloc(n, sizeof *dp)) ||
               !(dpp = mla_calloc(n, sizeof *dpp))))) {
        rc = mla_err(MLA_ENOMEM, "resolution: out of memory encoding");
        goto out;
    }
    for (size_t i = 0; i < ns; i++) {
        Mlaudit__V1__ServingModel si = MLAUDIT__V1__SERVING_MODEL__INIT;
        mla_pb_artifact ai = MLAUDIT__V1__ARTIFACT__INIT;
        arts[i] = ai;
        mla_buf_init(&tmps[i], 4 * MLA_LIMIT_NAME);
        if ((rc = mla_codec_identity_split(&arts[i], &tmps[i], r->serving[i].model,
                                           "serving.model")) != MLA_OK)
            goto out;
        si.model = &arts[i];
        si.traffic_fraction = r->serving[i].traffic_fraction;
        si.stage = r->serving[i].stage;
        si.deployment_seq = r->serving[i].deployment_seq;
        sv[i] = si;
        svp[i] = &sv[i];
    }
    m.serving = svp;
    m.n_serving = ns;
    for (size_t i = 0; i < n; i++) {
        stored_entry_of(&de[i], &leaves[i], &r->deployment_entries[i]);
        dep[i] = &de[i];
        proof_of(&dp[i], &r->deployment_inclusions[i], r->deployment_entries[i].seq, size);
        dpp[i] = &dp[i].m;
    }
    m.deployment_entries = dep;
    m.n_deployment_entries = n;
    m.deployment_inclusions = dpp;
    m.n_deployment_inclusions = n;
    if (r->has_decision) {
        stored_entry_of(&be, &bleaf, &r->batch_entry);
        m.batch_entry = &be;
        for (size_t i = 0; i < r->decision_path_len; i++) {
            path[i].data = (uint8_t *)(uintptr_t)r->decision_path[i].b;
            path[i].len = 32;
        }
        m.decision_path = path;
        m.n_decision_path = r->decision_path_len;
        m.decision_index = r->decision_index;
        proof_of(&bp, &r->batch_inclusion, r->batch_entry.seq, size);
        m.batch_inclusion = &bp.m;
    }
    cpm.note.data = r->checkpoint.ptr;
    cpm.note.len = r->checkpoint.len;
    m.checkpoint = &cpm;
    m.discrepancies = r->discrepancies;
    m.n_discrepancies = r->n_discrepancies;
    if ((rc = mla_codec_rpc_encode(out, &m.base)) != MLA_OK) goto out;
    if (r->has_decision) {
        /* Field 4 framed by hand around the verbatim decision bytes. */
        if ((rc = mla_client__frame(out, 0x22, mla_buf_slice(&r->decision))) != MLA_OK) goto out;
    }
out:
    if (rc != MLA_OK) out->len = mark;
    for (size_t i = 0; tmps && i < ns; i++) mla_buf_dispose(&tmps[i]);
    mla_free(tmps);
    mla_free(arts);
    mla_free(svp);
    mla_free(sv);
    mla_free(dpp);
    mla_free(dp);
    mla_free(leaves);
    mla_free(dep);
    mla_free(de);
    return rc;
}

/* ---- verification --------------------------------------------------------- */

/* A timeline entry decoded, with its leaf hash and its link on the target. */
typedef struct link_entry {
    mla_client__decoded d;
    mla_hash leaf;
    const mla_pb_link *link; /* LINK_SCOPE_TARGET, key = the target */
} link_entry;

static const mla_pb_link *target_link(const mla_pb_entry *e, const char *target)
{
    for (size_t i = 0; i < e->n_links; i++)
        if (e->links[i]->scope == MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_TARGET &&
            strcmp(e->links[i]->key, target) == 0)
            return e->links[i];
    return NULL;
}

static bool is_first_on_target(const link_entry *x) { return x->link->prev_leaf_hash.len == 0; }

/* After this entry the target's state no longer depends on earlier ones
 * (index.h's replay rules): a DEPLOYMENT at 1.0 scales every other model to
 * nothing, a ROLLBACK leaves its model alone, a RETIREMENT without an
 * artifact leaves nothing. */
static bool is_reset(const link_entry *x)
{
    const mla_pb_change *c = x->d.change;
    switch (c->kind) {
    case MLAUDIT__V1__KIND__KIND_DEPLOYMENT: return c->deployment->traffic_fraction >= 1.0;
    case MLAUDIT__V1__KIND__KIND_ROLLBACK: return true;
    case MLAUDIT__V1__KIND__KIND_RETIREMENT: return !c->retirement || !c->retirement->artifact;
    default: return false;
    }
}

static mla_status identity_new(char **out, const mla_pb_artifact *a)
{
    mla_buf b;
    mla_buf_init(&b, 4 * MLA_LIMIT_NAME);
    mla_status rc = mla_codec_artifact_identity(&b, a);
    if (rc == MLA_OK && !(*out = mla_buf_cstr_new(&b)))
        rc = mla_err(MLA_ENOMEM, "resolution: out of memory");
    mla_buf_dispose(&b);
    return rc;
}

/* index.h mla_index_timeline_at, replayed over the first `upto` chain
 * entries by the same function (codec_timeline.c), so fractions agree
 * exactly. A ROLLBACK takes the stage its model last had on the target: ""
 * when the chain reaches the target's first entry without a DEPLOYMENT of
 * it; otherwise the chain is too short to tell. */
static mla_status chain_replay(mla_timeline *tl, const link_entry *chain, size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        const mla_pb_change *c = chain[i].d.change;
        uint64_t seq = chain[i].d.entry->seq;
        bool stage_unknown;
        mla_status rc = mla_codec_timeline_apply(tl, seq, c, &stage_unknown);
        if (rc == MLA_ELIMIT)
            return mla_err(MLA_ECORRUPT,
                           "resolution.deployment_entries: more than %d models live at "
                           "seq %llu",
                           MLA_INDEX_SERVING_MAX, (unsigned long long)seq);
        if (rc == MLA_EINVAL)
            return mla_err(MLA_ECORRUPT,
                           "resolution.deployment_entries: seq %llu is a %s, not a deployment, "
                           "rollback or retirement",
                           (unsigned long long)seq, mla_codec_kind_name(c->kind));
        if (rc != MLA_OK) return rc;
        if (stage_unknown && !is_first_on_target(&chain[0]))
            return mla_err(MLA_ECORRUPT,
                           "resolution.deployment_entries: the ROLLBACK at seq %llu takes the "
                           "stage of an earlier DEPLOYMENT of %s the timeline does not include",
                           (unsigned long long)seq, tl->serving[0].model);
    }
    return MLA_OK;
}

/* The serving set returned is the replayed one. */
static bool serving_matches(const mla_timeline *tl, const mla_client_resolution *r, char *why,
                            size_t cap)
{
    if (tl->n_serving != r->n_serving) {
        snprintf(why, cap, "%zu models serve, the timeline gives %zu", r->n_serving, tl->n_serving);
        return false;
    }
    for (size_t i = 0; i < tl->n_serving; i++) {
        const mla_timeline_serving *l = &tl->serving[i];
        const mla_client_serving *s = NULL;
        for (size_t j = 0; j < r->n_serving && !s; j++)
            if (strcmp(r->serving[j].model, l->model) == 0) s = &r->serving[j];
        if (!s) {
            snprintf(why, cap, "%.120s serves per the timeline but is not named", l->model);
            return false;
        }
        double diff = s->traffic_fraction - l->traffic_fraction;
        if (!(diff <= FRACTION_TOLERANCE && -diff <= FRACTION_TOLERANCE)) {
            snprintf(why, cap, "%.120s serves %.17g, the timeline gives %.17g", l->model,
                     s->traffic_fraction, l->traffic_fraction);
            return false;
        }
        if (strcmp(s->stage, l->stage) != 0) {
            snprintf(why, cap, "%.120s is at stage \"%.64s\", the timeline gives \"%.64s\"",
                     l->model, s->stage, l->stage);
            return false;
        }
        if (s->deployment_seq != l->seq) {
            snprintf(why, cap, "%.120s went live at seq %llu, the timeline gives %llu", l->model,
                     (unsigned long long)s->deployment_seq, (unsigned long long)l->seq);
            return false;
        }
    }
    return true;
}

/* Replay the first `upto` chain entries and compare. */
static mla_status replay_compare(bool *match, const link_entry *chain, size_t upto,
                                 const mla_client_resolution *r, char *why, size_t cap)
{
    mla_timeline tl;
    mla_codec_timeline_init(&tl);
    mla_status rc = chain_replay(&tl, chain, upto);
    if (rc == MLA_OK) *match = serving_matches(&tl, r, why, cap);
    mla_codec_timeline_dispose(&tl);
    return rc;
}

/* Decode chain entry i (bytes e, proof p) and check it on its own: included
 * in the checkpoint, a deployment, rollback or retirement on the target
 * (the first entry's target when *target is NULL), with a back-link there.
 * On error the caller frees x->d. */
static mla_status link_load(link_entry *x, const mla_client_entry *e, const mla_merkle_proof *p,
                            size_t i, const mla_checkpoint *cp, const char **target)
{
    char field[96], pf[96];
    snprintf(field, sizeof field, "resolution.deployment_entries[%zu] (seq %llu)", i,
             (unsigned long long)e->seq);
    if (e->entry.len == 0)
        return mla_err(MLA_ECORRUPT, "%s: redacted; the timeline cannot be replayed", field);
    mla_merkle_leaf_hash(&x->leaf, mla_buf_slice(&e->entry));
    snprintf(pf, sizeof pf, "resolution.deployment_inclusions[%zu] (seq %llu)", i,
             (unsigned long long)e->seq);
    MLA_TRY(mla_client__inclusion_check(&x->leaf, e->seq, p, cp, pf));
    MLA_TRY(mla_client__decode_entry(&x->d, mla_buf_slice(&e->entry), e->seq, field));
    const mla_pb_change *c = x->d.change;
    const char *t = c ? mla_codec_change_target(c) : NULL;
    if (!t || (c->kind != MLAUDIT__V1__KIND__KIND_DEPLOYMENT &&
               c->kind != MLAUDIT__V1__KIND__KIND_ROLLBACK &&
               c->kind != MLAUDIT__V1__KIND__KIND_RETIREMENT))
        return mla_err(MLA_ECORRUPT, "%s: not a deployment, rollback or retirement", field);
    if (!*target) *target = t;
    if (strcmp(t, *target) != 0)
        return mla_err(MLA_ECORRUPT, "%s: on target \"%.64s\", not \"%.64s\"", field, t, *target);
    if (!(x->link = target_link(x->d.entry, *target)))
        return mla_err(MLA_ECORRUPT, "%s: has no back-link on target \"%.64s\"", field, *target);
    return MLA_OK;
}

/* Decode the chain and check what holds it together: each entry on its own
 * (link_load), linked to the one before. */
static mla_status chain_load(link_entry *chain, const mla_client_resolution *r,
                             const mla_checkpoint *cp, const char **target)
{
    for (size_t i = 0; i < r->n_deployment_entries; i++) {
        link_entry *x = &chain[i];
        MLA_TRY(
            link_load(x, &r->deployment_entries[i], &r->deployment_inclusions[i], i, cp, target));
        if (i == 0) continue;
        /* SPEC §3 links: a verifier can prove a timeline has no omitted
         * entry. */
        const link_entry *prev = &chain[i - 1];
        if (x->link->prev_leaf_hash.len != 32 || x->link->prev_seq != prev->d.entry->seq ||
            memcmp(x->link->prev_leaf_hash.data, prev->leaf.b, 32) != 0)
            return mla_err(MLA_ECORRUPT,
                           "resolution.deployment_entries[%zu] (seq %llu): links back to seq "
                           "%llu, not to the entry before it (seq %llu): the timeline has a gap",
                           i, (unsigned long long)r->deployment_entries[i].seq,
                           (unsigned long long)x->link->prev_seq,
                           (unsigned long long)prev->d.entry->seq);
    }
    return MLA_OK;
}

/* The decision's proof: the batch entry included in the checkpoint, the
 * decision in its batch's tree. *count_out gets the batch's count and
 * *dec_out the decision (owned), which *target borrows. */
static mla_status decision_check(const mla_client_resolution *r, const mla_checkpoint *cp,
                                 const char **target, int64_t *t_ns, uint64_t *count_out,
                                 mla_pb_decision **dec_out)
{
    mla_client__decoded b = {0};
    mla_pb_decision *dec = NULL;
    mla_hash leaf;
    mla_status rc;
    *dec_out = NULL;
    if (r->batch_entry.entry.len == 0)
        return mla_err(MLA_ECORRUPT, "resolution.batch_entry: redacted or missing");
    mla_merkle_leaf_hash(&leaf, mla_buf_slice(&r->batch_entry.entry));
    MLA_TRY(mla_client__inclusion_check(&leaf, r->batch_entry.seq, &r->batch_inclusion, cp,
                                        "resolution.batch_inclusion"));
    if ((rc = mla_client__decode_entry(&b, mla_buf_slice(&r->batch_entry.entry), r->batch_entry.seq,
                                       "resolution.batch_entry")) != MLA_OK)
        return rc;
    const mla_pb_change *c = b.change;
    if (!c || c->kind != MLAUDIT__V1__KIND__KIND_DECISION_BATCH) {
        rc = mla_err(MLA_ECORRUPT, "resolution.batch_entry: seq %llu is not a DECISION_BATCH",
                     (unsigned long long)r->batch_entry.seq);
        goto out;
    }
    const Mlaudit__V1__DecisionBatch *db = c->decision_batch;
    if ((rc = mla_codec_decision_decode(&dec, mla_buf_slice(&r->decision))) != MLA_OK) {
        rc = rc == MLA_ENOMEM ? rc : mla_client__corrupt("resolution.decision");
        goto out;
    }
    if (strcmp(dec->target, db->target) != 0) {
        rc =
            mla_err(MLA_ECORRUPT, "resolution.decision.target: \"%.64s\", the batch's is \"%.64s\"",
                    dec->target, db->target);
        goto out;
    }
    if (dec->time_ns < db->first_time_ns || dec->time_ns > db->last_time_ns) {
        rc = mla_err(MLA_ECORRUPT,
                     "resolution.decision.time_ns: %lld outside the batch's "
                     "[%lld, %lld]",
                     (long long)dec->time_ns, (long long)db->first_time_ns,
                     (long long)db->last_time_ns);
        goto out;
    }
    if (r->decision_index >= db->count) {
        rc = mla_err(MLA_ECORRUPT, "resolution.decision_index: %llu, the batch holds %llu",
                     (unsigned long long)r->decision_index, (unsigned long long)db->count);
        goto out;
    }
    /* SPEC §3: decision leaf = SHA-256(0x00 || decision bytes), in an RFC
     * 6962 tree whose root the batch entry commits to. */
    mla_hash root;
    mla_merkle_proof path;
    mla_merkle_leaf_hash(&leaf, mla_buf_slice(&r->decision));
    memcpy(root.b, db->root.data, 32);
    path.n = r->decision_path_len;
    memcpy(path.h, r->decision_path, r->decision_path_len * sizeof path.h[0]);
    if (mla_merkle_inclusion_verify(&leaf, r->decision_index, db->count, &path, &root) != MLA_OK) {
        rc = mla_client__corrupt("resolution.decision_path");
        goto out;
    }
    *target = dec->target;
    *t_ns = dec->time_ns;
    *count_out = db->count;
    *dec_out = dec;
    dec = NULL;
    rc = MLA_OK;
out:
    mla_codec_decision_free(dec);
    mla_client__decoded_free(&b);
    return rc;
}

/* What the first half of a verification establishes for the second. */
typedef struct verified {
    mla_checkpoint cp;
    mla_pb_decision *dec; /* owned; NULL without a decision */
    const char *target; /* the one asked for, or the decision's */
    int64_t t_ns;
    bool t_known;
    uint64_t batch_count;
} verified;

/* The checkpoint, the limits and the decision's proof. at_ns: the time
 * asked for when known (a decision's own time otherwise); want_target
 * likewise. On MLA_OK the caller frees k->dec. */
static mla_status verify_decision(verified *k, const mla_client_resolution *r,
                                  const mla_note_verifier *v, const int64_t *at_ns,
                                  const char *want_target)
{
    memset(k, 0, sizeof *k);
    k->target = want_target;
    k->t_ns = at_ns ? *at_ns : 0;
    k->t_known = at_ns != NULL;
    MLA_TRY(
        mla_client__open_note(&k->cp, mla_buf_slice(&r->checkpoint), v, "resolution.checkpoint"));
    if (r->n_deployment_entries > CHAIN_MAX ||
        (r->n_deployment_entries > 0 && !r->deployment_inclusions) ||
        r->decision_path_len > DECISION_PATH_MAX || r->n_serving > MLA_INDEX_SERVING_MAX)
        return mla_err(MLA_ECORRUPT, "resolution: over its limits or without its proofs");
    if (!r->has_decision) return MLA_OK;
    MLA_TRY(decision_check(r, &k->cp, &k->target, &k->t_ns, &k->batch_count, &k->dec));
    k->t_known = true;
    if (want_target && strcmp(want_target, k->target) != 0) {
        mla_status rc = mla_err(MLA_ECORRUPT,
                                "resolution.decision.target: \"%.64s\", asked for "
                                "\"%.64s\"",
                                k->target, want_target);
        mla_codec_decision_free(k->dec);
        k->dec = NULL;
        return rc;
    }
    return MLA_OK;
}

/* The timeline: a back-linked chain of included entries that starts where
 * nothing earlier matters and whose replay to the time gives the serving
 * set. */
static mla_status verify_timeline(const verified *k, const mla_client_resolution *r)
{
    link_entry *chain = NULL;
    size_t n = r->n_deployment_entries;
    const char *target = k->target;
    mla_status rc;
    char why[400];

    if (n > 0 && !(chain = mla_calloc(n, sizeof *chain)))
        return mla_err(MLA_ENOMEM, "resolution: out of memory for %zu entries", n);
    if ((rc = chain_load(chain, r, &k->cp, &target)) != MLA_OK) goto out;
    if (n == 0) {
        rc = r->n_serving == 0 ? MLA_OK
                               : mla_err(MLA_ECORRUPT,
                                         "resolution.serving: %zu models serve, "
                                         "with no deployment behind them",
                                         r->n_serving);
        goto out;
    }
    /* The replay must start where nothing earlier matters. */
    if (!is_first_on_target(&chain[0]) && !is_reset(&chain[0])) {
        rc = mla_err(MLA_ECORRUPT,
                     "resolution.deployment_entries: the timeline starts at seq %llu, whose "
                     "state depends on earlier entries it does not include",
                     (unsigned long long)chain[0].d.entry->seq);
        goto out;
    }
    /* Entries after T: at most one, the last (it shows where the state at T
     * ended). */
    size_t upto = n;
    bool match = false;
    if (k->t_known) {
        while (upto > 0 && chain[upto - 1].d.entry->ledger_time_ns > k->t_ns) upto--;
        if (n - upto > 1) {
            rc = mla_err(MLA_ECORRUPT,
                         "resolution.deployment_entries: %zu entries after the time asked for "
                         "(seq %llu on); a timeline ends with at most one",
                         n - upto, (unsigned long long)chain[upto].d.entry->seq);
            goto out;
        }
        if ((rc = replay_compare(&match, chain, upto, r, why, sizeof why)) != MLA_OK) goto out;
    } else {
        /* Without the time (an offline check of a resolution by target and
         * time): the state after the whole chain, or before its last entry. */
        if ((rc = replay_compare(&match, chain, n, r, why, sizeof why)) != MLA_OK) goto out;
        if (!match && (rc = replay_compare(&match, chain, n - 1, r, why, sizeof why)) != MLA_OK)
            goto out;
    }
    if (!match) {
        rc = mla_err(MLA_ECORRUPT, "resolution.serving: %s", why);
        goto out;
    }
    rc = MLA_OK;
out:
    for (size_t i = 0; chain && i < n; i++) mla_client__decoded_free(&chain[i].d);
    mla_free(chain);
    return rc;
}

/* Everything client.h promises for a resolution; *batch_count_out (when
 * not NULL) gets the count of the decision's batch. */
static mla_status verify(const mla_client_resolution *r, const mla_note_verifier *v,
                         const int64_t *at_ns, const char *want_target, uint64_t *batch_count_out)
{
    verified k;
    MLA_TRY(verify_decision(&k, r, v, at_ns, want_target));
    mla_status rc = verify_timeline(&k, r);
    if (rc == MLA_OK && batch_count_out) *batch_count_out = k.batch_count;
    mla_codec_decision_free(k.dec);
    return rc;
}

mla_status mla_client_resolution_verify(const mla_client_resolution *r, const mla_note_verifier *v)
{
    MLA_ASSERT(r && v);
    return verify(r, v, NULL, NULL, NULL);
}

mla_status mla_client_resolution_verify_at(const mla_client_resolution *r,
                                           const mla_note_verifier *v, const char *target,
                                           int64_t at_ns)
{
    MLA_ASSERT(r && v && target);
    return verify(r, v, &at_ns, target, NULL);
}

mla_status mla_client_resolution_decode(mla_client_resolution *out, mla_slice in,
                                        const mla_note_verifier *v)
{
    MLA_ASSERT(out && v);
    MLA_TRY(from_wire(out, in, v));
    uint64_t count = 0;
    mla_status rc = verify(out, v, NULL, NULL, &count);
    if (rc != MLA_OK)
        mla_client_resolution_dispose(out);
    else
        out->batch_count = count;
    return rc;
}

/* ---- online --------------------------------------------------------------- */

/* Where extend_chain has got to: the chain's first entry, decoded, and the
 * models of the ROLLBACKs in the chain with no DEPLOYMENT of theirs before
 * them (whose stage the chain does not hold yet), each once. */
typedef struct front {
    link_entry first;
    char **open;
    size_t n_open, cap_open;
} front;

static void front_dispose(front *f)
{
    mla_client__decoded_free(&f->first.d);
    for (size_t i = 0; i < f->n_open; i++) mla_free(f->open[i]);
    mla_free(f->open);
}

/* Whether the chain must reach further back: it starts where earlier
 * entries still matter, or a ROLLBACK in it takes a stage from a DEPLOYMENT
 * before it. */
static bool front_needs_more(const front *f)
{
    return !is_first_on_target(&f->first) && (!is_reset(&f->first) || f->n_open > 0);
}

/* Entry x joins the chain in front of the entries already noted: a
 * DEPLOYMENT gives its model's stage to every ROLLBACK after it, a
 * ROLLBACK has nothing before it yet. */
static mla_status front_note(front *f, const link_entry *x)
{
    const mla_pb_change *c = x->d.change;
    char *model = NULL;
    if (c->kind == MLAUDIT__V1__KIND__KIND_DEPLOYMENT) {
        MLA_TRY(identity_new(&model, c->subject));
        for (size_t i = f->n_open; i-- > 0;)
            if (strcmp(f->open[i], model) == 0) {
                mla_free(f->open[i]);
                f->open[i] = f->open[--f->n_open];
            }
        mla_free(model);
        return MLA_OK;
    }
    if (c->kind != MLAUDIT__V1__KIND__KIND_ROLLBACK) return MLA_OK;
    MLA_TRY(identity_new(&model, c->rollback->to));
    for (size_t i = 0; i < f->n_open; i++)
        if (strcmp(f->open[i], model) == 0) {
            mla_free(model);
            return MLA_OK;
        }
    if (f->n_open == f->cap_open) {
        size_t cap = f->cap_open ? 2 * f->cap_open : 8, bytes;
        char **v = NULL;
        if (mla_mul_size(&bytes, cap, sizeof *v)) v = mla_realloc(f->open, bytes);
        if (!v) {
            mla_free(model);
            return mla_err(MLA_ENOMEM, "resolution: out of memory for %zu rollbacks", cap);
        }
        f->open = v;
        f->cap_open = cap;
    }
    f->open[f->n_open++] = model;
    return MLA_OK;
}

/* The front of the resolution's own chain: loaded and checked once. */
static mla_status front_load(front *f, const mla_client_resolution *r, const mla_checkpoint *cp,
                             const char **target)
{
    size_t n = r->n_deployment_entries;
    link_entry *chain = mla_calloc(n, sizeof *chain);
    if (!chain) return mla_err(MLA_ENOMEM, "resolution: out of memory for %zu entries", n);
    mla_status rc = chain_load(chain, r, cp, target);
    for (size_t i = 0; i < n && rc == MLA_OK; i++) rc = front_note(f, &chain[i]);
    if (rc == MLA_OK) {
        f->first = chain[0];
        chain[0].d = (mla_client__decoded){0};
    }
    for (size_t i = 0; i < n; i++) mla_client__decoded_free(&chain[i].d);
    mla_free(chain);
    return rc;
}

/* The earlier entries extend_chain fetched, latest first. */
typedef struct earlier {
    mla_client_entry *e;
    mla_merkle_proof *p;
    size_t n, cap;
} earlier;

static void earlier_dispose(earlier *x)
{
    mla_client__entries_free(x->e, x->n);
    mla_free(x->p);
}

static mla_status earlier_grow(earlier *x)
{
    if (x->n < x->cap) return MLA_OK;
    size_t cap = x->cap ? 2 * x->cap : 8, be, bp;
    mla_client_entry *e = NULL;
    mla_merkle_proof *p = NULL;
    if (mla_mul_size(&be, cap, sizeof *e) && mla_mul_size(&bp, cap, sizeof *p) &&
        (e = mla_realloc(x->e, be)) != NULL) {
        x->e = e;
        p = mla_realloc(x->p, bp);
    }
    if (!p) return mla_err(MLA_ENOMEM, "resolution: out of memory for %zu entries", cap);
    x->p = p;
    x->cap = cap;
    return MLA_OK;
}

static mla_status take_proven(void *ctx, uint64_t seq, mla_slice entry,
                              const mla_merkle_proof *proof)
{
    earlier *x = ctx;
    if (entry.len == 0)
        return mla_err(MLA_ECORRUPT,
                       "resolution.deployment_entries: seq %llu is redacted; the "
                       "timeline cannot be replayed",
                       (unsigned long long)seq);
    x->p[x->n] = *proof;
    x->e[x->n].seq = seq;
    mla_buf_init(&x->e[x->n].entry, MLA_LIMIT_ENTRY_BYTES);
    x->n++; /* owned from here, for earlier_dispose */
    return mla_buf_set(&x->e[x->n - 1].entry, entry);
}

/* The fetched entries, oldest first, go in front of the resolution's. */
static mla_status earlier_splice(mla_client_resolution *r, earlier *x)
{
    size_t n = r->n_deployment_entries + x->n;
    mla_client_entry *ne = mla_calloc(n, sizeof *ne);
    mla_merkle_proof *np = mla_calloc(n, sizeof *np);
    if (!ne || !np) {
        mla_free(ne);
        mla_free(np);
        return mla_err(MLA_ENOMEM, "resolution: out of memory for %zu entries", n);
    }
    for (size_t i = 0; i < x->n; i++) {
        ne[i] = x->e[x->n - 1 - i];
        np[i] = x->p[x->n - 1 - i];
    }
    memcpy(ne + x->n, r->deployment_entries, r->n_deployment_entries * sizeof *ne);
    memcpy(np + x->n, r->deployment_inclusions, r->n_deployment_entries * sizeof *np);
    mla_free(r->deployment_entries);
    mla_free(r->deployment_inclusions);
    r->deployment_entries = ne;
    r->deployment_inclusions = np;
    r->n_deployment_entries = n;
    x->n = 0; /* moved */
    return MLA_OK;
}

/* Prepend the target's entries before the chain, following back-links
 * (each fetched entry must hash to the link that names it, and is proven in
 * the resolution's checkpoint; one GetProvenEntries call each), until the
 * replay can start. */
static mla_status extend_chain(mla_client *c, mla_client_resolution *r, const mla_checkpoint *cp,
                               const char *target)
{
    front f = {0};
    earlier x = {0};
    mla_status rc = MLA_OK;
    if (r->n_deployment_entries == 0) return MLA_OK;
    if ((rc = front_load(&f, r, cp, &target)) != MLA_OK) goto out;
    while (front_needs_more(&f)) {
        if (r->n_deployment_entries + x.n >= CHAIN_MAX) {
            rc = mla_err(MLA_ELIMIT,
                         "resolution.deployment_entries: the timeline needs more "
                         "than %d entries",
                         CHAIN_MAX);
            goto out;
        }
        uint64_t prev = f.first.link->prev_seq;
        mla_hash want, leaf;
        memcpy(want.b, f.first.link->prev_leaf_hash.data, 32);
        if ((rc = earlier_grow(&x)) != MLA_OK ||
            (rc = mla_client_entries_proven(c, &prev, 1, cp, take_proven, &x)) != MLA_OK)
            goto out;
        const mla_client_entry *e = &x.e[x.n - 1];
        mla_merkle_leaf_hash(&leaf, mla_buf_slice(&e->entry));
        if (!mla_hash_eq(&leaf, &want)) {
            rc = mla_err(MLA_ECORRUPT, "entries: seq %llu is not the entry the timeline links to",
                         (unsigned long long)prev);
            goto out;
        }
        /* It becomes entry 0 of the chain. */
        link_entry next = {0};
        if ((rc = link_load(&next, e, &x.p[x.n - 1], 0, cp, &target)) == MLA_OK)
            rc = front_note(&f, &next);
        if (rc != MLA_OK) {
            mla_client__decoded_free(&next.d);
            goto out;
        }
        mla_client__decoded_free(&f.first.d);
        f.first = next;
    }
    rc = earlier_splice(r, &x);
out:
    earlier_dispose(&x);
    front_dispose(&f);
    return rc;
}

mla_status mla_client_resolve(mla_client *c, const char *decision_id, const char *target,
                              int64_t time_ns, mla_client_resolution *out)
{
    MLA_ASSERT(c && out);
    resolution_init(out);
    bool by_id = decision_id && *decision_id;
    if (!by_id && !(target && *target))
        return mla_err(MLA_EINVAL, "decision_id: empty, and no target to resolve at a time");
    Mlaudit__V1__ResolveDecisionRequest req = MLAUDIT__V1__RESOLVE_DECISION_REQUEST__INIT;
    req.decision_id = (char *)(uintptr_t)(by_id ? decision_id : "");
    req.target = (char *)(uintptr_t)(target ? target : "");
    req.time_ns = by_id ? 0 : time_ns;
    mla_buf reqb, resp;
    mla_buf_init(&resp, MLA_LIMIT_RPC_BYTES);
    verified k = {0};
    mla_status rc = mla_client__encode(&reqb, &req.base);
    if (rc == MLA_OK)
        rc = mla_client__call_raw(c, MLA_CLIENT_METHOD("ResolveDecision"), mla_buf_slice(&reqb),
                                  &resp);
    mla_buf_dispose(&reqb);
    if (rc != MLA_OK) goto out;
    if ((rc = from_wire(out, mla_buf_slice(&resp), &c->verifier)) != MLA_OK) {
        if (rc == MLA_EINVAL) rc = mla_client__corrupt("server");
        goto out;
    }
    if (by_id && !out->has_decision) {
        rc = mla_err(MLA_ECORRUPT, "resolution.decision: missing for decision \"%.128s\"",
                     decision_id);
        goto out;
    }
    /* time_ns 0 asks for the latest state (service_query.c), i.e. after
     * every entry on the target. */
    int64_t at = time_ns ? time_ns : INT64_MAX;
    const char *want_target = target && *target ? target : NULL;
    if ((rc = verify_decision(&k, out, &c->verifier, by_id ? NULL : &at, want_target)) != MLA_OK)
        goto out;
    if (by_id && strcmp(k.dec->id, decision_id) != 0) {
        rc = mla_err(MLA_ECORRUPT, "resolution.decision.id: \"%.128s\", asked for \"%.128s\"",
                     k.dec->id, decision_id);
        goto out;
    }
    if ((rc = extend_chain(c, out, &k.cp, k.target)) != MLA_OK) goto out;
    if ((rc = verify_timeline(&k, out)) != MLA_OK) goto out;
    out->batch_count = k.batch_count;
out:
    mla_codec_decision_free(k.dec);
    mla_buf_dispose(&resp);
    if (rc != MLA_OK) mla_client_resolution_dispose(out);
    return rc;
}
