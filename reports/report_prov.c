/* report_prov: a report's evidence as W3C PROV-JSON
 * (https://www.w3.org/Submission/prov-json/): artifacts are entities, each
 * ledger entry is an activity, actors, submitters and signing keys are
 * agents, related by used, wasGeneratedBy, wasDerivedFrom, wasAssociatedWith
 * and wasInvalidatedBy (rollbacks and retirements). Each record is built
 * with jansson; sections are streamed through temporary files in one pass
 * over the evidence, so an audit over a million entries keeps memory
 * bounded (ids seen are kept as 64-bit hashes). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "reports/report_int.h"

/* The document's sections, in output order (PROV-JSON §2). */
enum { S_ENTITY, S_ACTIVITY, S_AGENT, S_GEN, S_USED, S_DERIV, S_ASSOC, S_INVAL, S_N };
static const char *const section_names[S_N] = {
    "entity",
    "activity",
    "agent",
    "wasGeneratedBy",
    "used",
    "wasDerivedFrom",
    "wasAssociatedWith",
    "wasInvalidatedBy",
};
/* Relation ids are "mla:<letter>-<seq>-<tag>": unique per entry and role. */
static const char relation_letter[S_N] = {0, 0, 0, 'g', 'u', 'd', 'a', 'i'};

/* Most deployment targets whose live model is followed (for the model a
 * rollback rolls away from); past it no more targets are followed. */
#define LIVE_TARGETS_MAX 4096

typedef struct live_target {
    char *target, *model; /* model: its entity id */
} live_target;

typedef struct prov {
    const mla_report *r;
    FILE *sec[S_N];
    uint64_t n[S_N];
    uint64_t *seen; /* open addressing set of id hashes (0 = empty) */
    size_t seen_cap, seen_n;
    live_target *live;
    size_t n_live, cap_live;
    mla_buf ident, subj, scratch; /* identity text; the subject's entity id; ids */
} prov;

/* A QName "prefix:local" into out (NUL-kept). PROV-N local parts allow
 * letters, digits, '_', '-', '.', ':' and %-escapes: every other byte
 * (UTF-8 included) is %-escaped, and so are a leading '-' or '.' and a
 * trailing '.'. */
static mla_status qname(mla_buf *out, const char *prefix, const char *local)
{
    static const char hexd[] = "0123456789ABCDEF";
    mla_buf_clear(out);
    MLA_TRY(mla_buf_append_cstr(out, prefix));
    MLA_TRY(mla_buf_append_byte(out, ':'));
    size_t n = strlen(local);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)local[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == ':' || (c == '-' && i > 0) || (c == '.' && i > 0 && i + 1 < n);
        if (ok) {
            MLA_TRY(mla_buf_append_byte(out, c));
        } else {
            uint8_t esc[3] = {'%', (uint8_t)hexd[c >> 4], (uint8_t)hexd[c & 15]};
            MLA_TRY(mla_buf_append(out, esc, 3));
        }
    }
    MLA_TRY(mla_buf_append_byte(out, 0));
    out->len--;
    return MLA_OK;
}

/* A JSON string of ledger text. The model holds valid UTF-8; anything else
 * is written with U+FFFD for its non-ASCII bytes rather than dropped. */
static json_t *jstr(const char *s)
{
    if (mla_utf8_valid(mla_slice_cstr(s))) return json_string(s);
    mla_buf b;
    mla_buf_init(&b, SIZE_MAX);
    json_t *v = NULL;
    bool ok = true;
    for (const unsigned char *p = (const unsigned char *)s; *p && ok; p++)
        ok = (*p < 0x80 ? mla_buf_append_byte(&b, *p) : mla_buf_append(&b, "\xef\xbf\xbd", 3)) ==
             MLA_OK;
    if (ok) v = json_stringn((const char *)b.ptr, b.len);
    mla_buf_dispose(&b);
    return v;
}

/* Set o[k] = v (stealing v); false when either is NULL or out of memory. */
static bool add(json_t *o, const char *k, json_t *v)
{
    if (!o || !v) {
        json_decref(v);
        return false;
    }
    return json_object_set_new(o, k, v) == 0;
}

static bool add_str(json_t *o, const char *k, const char *s) { return add(o, k, jstr(s)); }

/* ---- sections -------------------------------------------------------------- */

/* One record a line (streamed, so no indentation inside records); reals
 * with 15 significant digits so a traffic fraction of 0.1 reads "0.1". */
#define RECORD_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* Write record id: value (stealing value) as one line of section s. */
static mla_status record(prov *p, int s, const char *id, json_t *value, bool ok)
{
    mla_status rc = MLA_OK;
    json_t *key = json_string(id);
    if (!ok || !value || !key) {
        rc = mla_err(MLA_ENOMEM, "report.prov: out of memory");
        goto out;
    }
    FILE *f = p->sec[s];
    fputs(p->n[s]++ ? ",\n  " : "  ", f);
    if (json_dumpf(key, f, JSON_ENCODE_ANY) != 0 || fputs(": ", f) < 0 ||
        json_dumpf(value, f, RECORD_FLAGS) != 0)
        rc = mla_err(MLA_EIO, "report.prov: writing a temporary file failed");
out:
    json_decref(key);
    json_decref(value);
    return rc;
}

/* Has id been declared in section s? Marks it declared. */
static mla_status seen(bool *was, prov *p, int s, const char *id)
{
    uint8_t tag = (uint8_t)s;
    mla_slice parts[2] = {mla_slice_make(&tag, 1), mla_slice_cstr(id)};
    mla_hash h;
    mla_crypto_sha256_v(&h, parts, 2);
    uint64_t k = mla_get_be64(h.b);
    if (k == 0) k = 1;
    if (2 * (p->seen_n + 1) > p->seen_cap) {
        size_t ncap = p->seen_cap ? 2 * p->seen_cap : 1024;
        uint64_t *ns = mla_calloc(ncap, sizeof *ns);
        if (!ns) return mla_err(MLA_ENOMEM, "report.prov: out of memory");
        for (size_t i = 0; i < p->seen_cap; i++) {
            if (!p->seen[i]) continue;
            size_t j = p->seen[i] & (ncap - 1);
            while (ns[j]) j = (j + 1) & (ncap - 1);
            ns[j] = p->seen[i];
        }
        mla_free(p->seen);
        p->seen = ns;
        p->seen_cap = ncap;
    }
    size_t j = k & (p->seen_cap - 1);
    for (; p->seen[j]; j = (j + 1) & (p->seen_cap - 1))
        if (p->seen[j] == k) {
            *was = true;
            return MLA_OK;
        }
    p->seen[j] = k;
    p->seen_n++;
    *was = false;
    return MLA_OK;
}

/* ---- records --------------------------------------------------------------- */

/* Declare artifact a as an entity (first sighting wins); out gets its id. */
static mla_status entity(prov *p, const mla_pb_artifact *a, mla_buf *out)
{
    MLA_TRY(mla_report__identity(&p->ident, a));
    const char *identity = (const char *)p->ident.ptr;
    MLA_TRY(qname(out, "art", identity));
    bool was;
    MLA_TRY(seen(&was, p, S_ENTITY, (const char *)out->ptr));
    if (was) return MLA_OK;
    json_t *o = json_object();
    bool ok = add_str(o, "prov:type", "mla:artifact") && add_str(o, "prov:label", identity) &&
              add_str(o, "mla:type", a->type) && add_str(o, "mla:name", a->name) &&
              add_str(o, "mla:version", a->version);
    if (ok && a->digest.len) {
        MLA_TRY(mla_report__digest(&p->scratch, mla_slice_make(a->digest.data, a->digest.len)));
        ok = add_str(o, "mla:digest", (const char *)p->scratch.ptr);
    }
    if (ok && a->uri && *a->uri) ok = add_str(o, "mla:uri", a->uri);
    if (ok && a->media_type && *a->media_type) ok = add_str(o, "mla:mediaType", a->media_type);
    return record(p, S_ENTITY, (const char *)out->ptr, o, ok);
}

/* Declare an agent (prefix:name) of PROV type type; out gets its id. */
static mla_status agent(prov *p, const char *prefix, const char *name, const char *type,
                        const char *label, mla_buf *out)
{
    MLA_TRY(qname(out, prefix, name));
    bool was;
    MLA_TRY(seen(&was, p, S_AGENT, (const char *)out->ptr));
    if (was) return MLA_OK;
    json_t *o = json_object();
    bool ok = add_str(o, "prov:type", type) && add_str(o, "prov:label", label);
    return record(p, S_AGENT, (const char *)out->ptr, o, ok);
}

static mla_status relation(prov *p, int s, uint64_t seq, const char *tag, json_t *o, bool ok)
{
    char id[64];
    snprintf(id, sizeof id, "mla:%c-%llu-%s", relation_letter[s], (unsigned long long)seq, tag);
    return record(p, s, id, o, ok);
}

/* Kinds whose subject the change brings into being (trained, built,
 * measured, written); the others act on an existing artifact. */
static bool generates(mla_kind k)
{
    switch (k) {
    case MLAUDIT__V1__KIND__KIND_MODEL:
    case MLAUDIT__V1__KIND__KIND_DATASET:
    case MLAUDIT__V1__KIND__KIND_CODE:
    case MLAUDIT__V1__KIND__KIND_CONFIG:
    case MLAUDIT__V1__KIND__KIND_ENVIRONMENT:
    case MLAUDIT__V1__KIND__KIND_EVALUATION:
    case MLAUDIT__V1__KIND__KIND_DOCUMENT: return true;
    default: return false;
    }
}

/* The role of an artifact a non-generating change acts on. */
static const char *subject_role(mla_kind k)
{
    switch (k) {
    case MLAUDIT__V1__KIND__KIND_DEPLOYMENT: return "deployed";
    case MLAUDIT__V1__KIND__KIND_ROLLBACK: return "restored";
    case MLAUDIT__V1__KIND__KIND_APPROVAL: return "approved";
    case MLAUDIT__V1__KIND__KIND_RETIREMENT: return "retired";
    case MLAUDIT__V1__KIND__KIND_IMPORT: return "imported";
    case MLAUDIT__V1__KIND__KIND_DECISION_BATCH: return "serving-model";
    default: return "subject";
    }
}

/* activity used entity ent in role (relation tag). */
static mla_status used(prov *p, uint64_t seq, const char *tag, const char *act, const char *ent,
                       const char *role, const char *time)
{
    json_t *o = json_object();
    bool ok = add_str(o, "prov:activity", act) && add_str(o, "prov:entity", ent) &&
              add_str(o, "prov:role", role) && add_str(o, "prov:time", time);
    return relation(p, S_USED, seq, tag, o, ok);
}

static live_target *live_find(prov *p, const char *target)
{
    for (size_t i = 0; i < p->n_live; i++)
        if (strcmp(p->live[i].target, target) == 0) return &p->live[i];
    return NULL;
}

/* Follow which model is live on target: set it (model = entity id), or
 * clear it (model NULL). */
static mla_status live_set(prov *p, const char *target, const char *model)
{
    live_target *t = live_find(p, target);
    if (!t) {
        if (!model || p->n_live == LIVE_TARGETS_MAX) return MLA_OK;
        MLA_TRY(mla_report__grow((void **)&p->live, &p->cap_live, p->n_live, sizeof *p->live));
        t = &p->live[p->n_live];
        if (!(t->target = mla_report__strdup(target)))
            return mla_err(MLA_ENOMEM, "report.prov: out of memory");
        t->model = NULL;
        p->n_live++;
    }
    char *m = NULL;
    if (model && !(m = mla_report__strdup(model)))
        return mla_err(MLA_ENOMEM, "report.prov: out of memory");
    mla_free(t->model);
    t->model = m;
    return MLA_OK;
}

/* The artifact of a change's detail that is not its subject, with its role. */
static const mla_pb_artifact *detail_artifact(const mla_pb_change *c, const char **role)
{
    switch (c->detail_case) {
    case MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK: *role = "restored"; return c->rollback->to;
    case MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT: *role = "retired"; return c->retirement->artifact;
    case MLAUDIT__V1__CHANGE__DETAIL_APPROVAL: *role = "approved"; return c->approval->approved;
    case MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH:
        *role = "serving-model";
        return c->decision_batch->model;
    default: return NULL;
    }
}

static mla_status associate(prov *p, uint64_t seq, const char *tag, const char *act,
                            const char *agent_id, const char *role)
{
    json_t *o = json_object();
    bool ok = add_str(o, "prov:activity", act) && add_str(o, "prov:agent", agent_id) &&
              add_str(o, "prov:role", role);
    return relation(p, S_ASSOC, seq, tag, o, ok);
}

/* PROV-CONSTRAINTS: an entity is invalidated at most once; the first
 * (a rollback away from it, or its retirement) is the one recorded. */
static mla_status invalidate(prov *p, uint64_t seq, const char *act, const char *ent,
                             const char *time, const char *why)
{
    bool was;
    MLA_TRY(seen(&was, p, S_INVAL, ent));
    if (was) return MLA_OK;
    json_t *o = json_object();
    bool ok = add_str(o, "prov:entity", ent) && add_str(o, "prov:activity", act) &&
              add_str(o, "prov:time", time) && add_str(o, "mla:reason", why);
    return relation(p, S_INVAL, seq, "0", o, ok);
}

/* The relations of change c, recorded by activity act at time. */
static mla_status change_relations(prov *p, uint64_t seq, const char *act, const char *time,
                                   const mla_pb_change *c)
{
    char tag[32];
    bool gen = generates(c->kind);
    mla_buf in_id;
    mla_buf_init(&in_id, SIZE_MAX);
    mla_status rc = MLA_OK;
    const char *subj = NULL;
    if (c->subject) {
        if ((rc = entity(p, c->subject, &p->subj)) != MLA_OK) goto out;
        subj = (const char *)p->subj.ptr;
        if (gen) {
            json_t *o = json_object();
            bool ok = add_str(o, "prov:entity", subj) && add_str(o, "prov:activity", act) &&
                      add_str(o, "prov:time", time);
            if ((rc = relation(p, S_GEN, seq, "0", o, ok)) != MLA_OK) goto out;
        } else if ((rc = used(p, seq, "s", act, subj, subject_role(c->kind), time)) != MLA_OK) {
            goto out;
        }
    }
    for (size_t i = 0; i < c->n_inputs; i++) {
        const mla_pb_input *in = c->inputs[i];
        if (!in->artifact) continue;
        if ((rc = entity(p, in->artifact, &in_id)) != MLA_OK) goto out;
        snprintf(tag, sizeof tag, "%zu", i);
        if ((rc = used(p, seq, tag, act, (const char *)in_id.ptr, in->role, time)) != MLA_OK)
            goto out;
        if (gen && subj) {
            char usage[64], generation[64];
            snprintf(usage, sizeof usage, "mla:u-%llu-%zu", (unsigned long long)seq, i);
            snprintf(generation, sizeof generation, "mla:g-%llu-0", (unsigned long long)seq);
            json_t *o = json_object();
            bool ok = add_str(o, "prov:generatedEntity", subj) &&
                      add_str(o, "prov:usedEntity", (const char *)in_id.ptr) &&
                      add_str(o, "prov:activity", act) &&
                      add_str(o, "prov:generation", generation) &&
                      add_str(o, "prov:usage", usage) && add_str(o, "mla:role", in->role);
            if ((rc = relation(p, S_DERIV, seq, tag, o, ok)) != MLA_OK) goto out;
        }
    }
    const char *drole;
    const mla_pb_artifact *d = detail_artifact(c, &drole);
    const char *d_id = subj;
    if (d) {
        if ((rc = entity(p, d, &in_id)) != MLA_OK) goto out;
        d_id = (const char *)in_id.ptr;
        if ((!subj || strcmp(subj, d_id) != 0) &&
            (rc = used(p, seq, "d", act, d_id, drole, time)) != MLA_OK)
            goto out;
    }
    /* Timelines: which model was live on the target before a rollback is
     * what the rollback invalidates; a retirement invalidates the retired. */
    const char *target = mla_codec_change_target(c);
    if (c->kind == MLAUDIT__V1__KIND__KIND_DEPLOYMENT && target && subj) {
        rc = live_set(p, target, subj);
    } else if (c->kind == MLAUDIT__V1__KIND__KIND_ROLLBACK && target && d_id) {
        live_target *t = live_find(p, target);
        if (t && t->model && strcmp(t->model, d_id) != 0 &&
            (rc = invalidate(p, seq, act, t->model, time, "rolled back")) != MLA_OK)
            goto out;
        rc = live_set(p, target, d_id);
    } else if (c->kind == MLAUDIT__V1__KIND__KIND_RETIREMENT && d_id) {
        if ((rc = invalidate(p, seq, act, d_id, time, "retired")) != MLA_OK) goto out;
        live_target *t = target ? live_find(p, target) : NULL;
        if (t && t->model && strcmp(t->model, d_id) == 0) rc = live_set(p, target, NULL);
    }
out:
    mla_buf_dispose(&in_id);
    return rc;
}

/* One ledger entry: its activity, agents and relations. */
static mla_status entry(prov *p, uint64_t seq, const mla_hash *leaf, const mla_pb_entry *e,
                        const mla_pb_change *c)
{
    char act[48], t[MLA_REPORT_TIME_LEN], leaf_hex[65];
    snprintf(act, sizeof act, "entry:%llu", (unsigned long long)seq);
    mla_hex_encode_to(leaf_hex, leaf->b, sizeof leaf->b);
    t[0] = 0;
    if (e) mla_report__time(t, e->ledger_time_ns);
    json_t *o = json_object();
    bool ok = add_str(o, "prov:type", c ? "mla:change" : e ? "mla:entry" : "mla:redactedEntry");
    if (ok && e) ok = add_str(o, "prov:startTime", t) && add_str(o, "prov:endTime", t);
    ok = ok && add(o, "mla:seq", json_integer((json_int_t)seq)) &&
         add_str(o, "mla:leafHash", leaf_hex);
    if (ok && c) {
        ok = add_str(o, "mla:kind", mla_codec_kind_name(c->kind));
        const char *target = mla_codec_change_target(c);
        if (ok && target && *target) ok = add_str(o, "mla:target", target);
        if (ok && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
            ok = add_str(o, "mla:stage", c->deployment->stage) &&
                 add(o, "mla:trafficFraction", json_real(c->deployment->traffic_fraction));
        }
        if (ok && c->reason && *c->reason) ok = add_str(o, "mla:reason", c->reason);
        if (ok && c->n_metrics) {
            /* PROV literals are flat: one "name=value" string per metric. */
            json_t *m = json_array();
            char num[MLA_REPORT_NUM_LEN];
            ok = m != NULL;
            for (size_t i = 0; ok && i < c->n_metrics; i++) {
                mla_report__num(num, c->metrics[i]->value);
                mla_buf_clear(&p->scratch);
                ok = mla_buf_printf(&p->scratch, "%s=%s", c->metrics[i]->key, num) == MLA_OK &&
                     json_array_append_new(m, jstr((const char *)p->scratch.ptr)) == 0;
            }
            ok = add(o, "mla:metric", m) && ok;
        }
    } else if (ok && e && e->envelope) {
        ok = add_str(o, "mla:payloadType", e->envelope->payload_type);
    }
    MLA_TRY(record(p, S_ACTIVITY, act, o, ok));
    if (!e) return MLA_OK;
    mla_buf *id = &p->scratch;
    if (c && c->actor && *c->actor) {
        MLA_TRY(agent(p, "actor", c->actor, "mla:actor", c->actor, id));
        MLA_TRY(associate(p, seq, "actor", act, (const char *)id->ptr, "actor"));
    }
    if (e->submitter && *e->submitter) {
        MLA_TRY(agent(p, "submitter", e->submitter, "mla:submitter", e->submitter, id));
        MLA_TRY(associate(p, seq, "submitter", act, (const char *)id->ptr, "submitter"));
    }
    for (size_t i = 0; e->envelope && i < e->envelope->n_signatures; i++) {
        const char *keyid = e->envelope->signatures[i]->keyid;
        char tag[32];
        snprintf(tag, sizeof tag, "k%zu", i);
        MLA_TRY(agent(p, "key", keyid, "mla:signingKey", keyid, id));
        MLA_TRY(associate(p, seq, tag, act, (const char *)id->ptr, "signer"));
    }
    if (c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_KEY &&
        c->key->public_key.len == MLA_ED25519_PUB_LEN) {
        /* A KEY entry registers or revokes a signing key: name the agent. */
        mla_pubkey pub;
        char keyid[MLA_KEYID_HEX_LEN + 1];
        memcpy(pub.b, c->key->public_key.data, sizeof pub.b);
        mla_crypto_keyid(keyid, &pub);
        MLA_TRY(agent(p, "key", keyid, "mla:signingKey", *c->key->name ? c->key->name : keyid, id));
        MLA_TRY(associate(p, seq, "key", act, (const char *)id->ptr,
                          c->key->revoke ? "revoked-key" : "registered-key"));
    }
    if (c) MLA_TRY(change_relations(p, seq, act, t, c));
    return MLA_OK;
}

static mla_status range_entry(void *ctx, uint64_t seq, mla_slice bytes, const mla_pb_entry *e,
                              const mla_pb_change *c)
{
    mla_hash leaf;
    mla_merkle_leaf_hash(&leaf, bytes);
    return entry(ctx, seq, &leaf, e, c);
}

static mla_status embedded(prov *p, bool below_range)
{
    const mla_report_evidence *ev = &p->r->ev;
    for (size_t i = 0; i < ev->n_entries; i++) {
        const mla_report_entry *e = &ev->entries[i];
        /* entries the range holds are written with it, in seq order */
        if (ev->has_range && (below_range ? e->seq >= ev->range_first : e->seq <= ev->range_last))
            continue;
        MLA_TRY(entry(p, e->seq, &e->leaf, e->entry, e->change));
    }
    return MLA_OK;
}

/* Graph nodes no entry declared (the upstream of a lineage report whose
 * subject entries are all in evidence declares them already). */
static mla_status graph_nodes(prov *p)
{
    const mla_report_graph *g = &p->r->graph;
    if (g->summarised) return MLA_OK; /* nodes are groups, not artifacts */
    for (size_t i = 0; i < g->n_nodes; i++) {
        MLA_TRY(qname(&p->subj, "art", g->nodes[i].id));
        bool was;
        MLA_TRY(seen(&was, p, S_ENTITY, (const char *)p->subj.ptr));
        if (was) continue;
        json_t *o = json_object();
        bool ok = add_str(o, "prov:type", "mla:artifact") &&
                  add_str(o, "prov:label", g->nodes[i].id) &&
                  add_str(o, "mla:type", g->nodes[i].type);
        MLA_TRY(record(p, S_ENTITY, (const char *)p->subj.ptr, o, ok));
    }
    return MLA_OK;
}

static mla_status assemble(prov *p, FILE *out)
{
    json_t *prefix = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "mla", "https://mlaudit.dev/ns#",
                               "entry", "urn:mlaudit:entry:", "art",
                               "urn:mlaudit:artifact:", "actor", "urn:mlaudit:actor:", "submitter",
                               "urn:mlaudit:submitter:", "key", "urn:mlaudit:key:");
    if (!prefix) return mla_err(MLA_ENOMEM, "report.prov: out of memory");
    fputs("{\n \"prefix\": ", out);
    int jrc = json_dumpf(prefix, out, JSON_PRESERVE_ORDER);
    json_decref(prefix);
    if (jrc != 0) return mla_err(MLA_EIO, "report.prov: writing failed");
    char buf[65536];
    for (int s = 0; s < S_N; s++) {
        if (!p->n[s]) continue;
        fprintf(out, ",\n \"%s\": {\n", section_names[s]);
        FILE *f = p->sec[s];
        if (fflush(f) != 0 || ferror(f) || fseek(f, 0, SEEK_SET) != 0)
            return mla_err(MLA_EIO, "report.prov: a temporary file failed");
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            if (fwrite(buf, 1, n, out) != n) return mla_err(MLA_EIO, "report.prov: writing failed");
        if (ferror(f)) return mla_err(MLA_EIO, "report.prov: reading a temporary file failed");
        fputs("\n }", out);
    }
    fputs("\n}\n", out);
    if (ferror(out)) return mla_err(MLA_EIO, "report.prov: writing failed");
    return MLA_OK;
}

mla_status mla_report__prov_write(const mla_report *r, FILE *out)
{
    prov p;
    memset(&p, 0, sizeof p);
    p.r = r;
    mla_buf_init(&p.ident, SIZE_MAX);
    mla_buf_init(&p.subj, SIZE_MAX);
    mla_buf_init(&p.scratch, SIZE_MAX);
    mla_status rc = MLA_OK;
    for (int s = 0; s < S_N; s++)
        if ((rc = mla_report__spool_open(&p.sec[s], NULL, "report.prov")) != MLA_OK) goto out;
    /* In seq order: embedded entries below the range, the range, the rest. */
    if ((rc = embedded(&p, true)) != MLA_OK) goto out;
    if (r->ev.has_range && (rc = mla_report__range_each(r, range_entry, &p)) != MLA_OK) goto out;
    if (r->ev.has_range && (rc = embedded(&p, false)) != MLA_OK) goto out;
    if ((rc = graph_nodes(&p)) != MLA_OK) goto out;
    rc = assemble(&p, out);
out:
    for (int s = 0; s < S_N; s++)
        if (p.sec[s]) fclose(p.sec[s]);
    for (size_t i = 0; i < p.n_live; i++) {
        mla_free(p.live[i].target);
        mla_free(p.live[i].model);
    }
    mla_free(p.live);
    mla_free(p.seen);
    mla_buf_dispose(&p.ident);
    mla_buf_dispose(&p.subj);
    mla_buf_dispose(&p.scratch);
    return rc;
}
