/* codec_change: the Change payload and its artifacts (SPEC §3): structural
 * validation, including what each kind must carry to mean anything (a MODEL's
 * inputs, an EVALUATION's model and metrics, a DEPLOYMENT's stage), identity
 * "type:name@version", kind names and the input-role vocabulary. Rules that
 * depend on the log's contents (the deployed model was recorded) live in
 * policy/, not here. */
#include "codec/codec_int.h"

#include <math.h>
#include <strings.h>
#include <string.h>

static const char *const kind_names[] = {
    "UNSPECIFIED", "MODEL",      "DATASET",   "CODE",     "CONFIG",         "ENVIRONMENT",
    "EVALUATION",  "DEPLOYMENT", "ROLLBACK",  "APPROVAL", "DECISION_BATCH", "DOCUMENT",
    "KEY",         "RETIREMENT", "REDACTION", "IMPORT",
};
#define N_KINDS (sizeof kind_names / sizeof kind_names[0])

/* SPEC §3: the documented input-role vocabulary. */
static const char *const roles[] = {
    "training-data", "validation-data", "test-data",  "feature-set",     "code",
    "config",        "environment",     "base-model", "evaluated-model", "reference-database",
    "parent-run",
};

static bool kind_valid(int k) { return k > 0 && (size_t)k < N_KINDS; }

const char *mla_codec_kind_name(mla_kind k)
{
    return kind_valid((int)k) ? kind_names[k] : kind_names[0];
}

mla_status mla_codec_kind_parse(mla_kind *out, mla_slice name)
{
    mla_slice n = name;
    /* Accept the enum's own spelling too ("KIND_MODEL"). */
    if (n.len > 5 && strncasecmp((const char *)n.ptr, "kind_", 5) == 0) {
        n.ptr += 5;
        n.len -= 5;
    }
    for (size_t k = 1; k < N_KINDS; k++) {
        if (strlen(kind_names[k]) == n.len &&
            strncasecmp((const char *)n.ptr, kind_names[k], n.len) == 0) {
            *out = (mla_kind)k;
            return MLA_OK;
        }
    }
    return mla_err(MLA_EINVAL, "kind: unknown kind \"%.*s\"", (int)(name.len > 64 ? 64 : name.len),
                   (const char *)name.ptr);
}

bool mla_codec_role_known(mla_slice role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (mla_slice_eq(role, mla_slice_cstr(roles[i]))) return true;
    return false;
}

const char *mla_codec_change_target(const mla_pb_change *c)
{
    if (!c) return NULL;
    switch (c->detail_case) {
    case MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT: return c->deployment->target;
    case MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK: return c->rollback->target;
    case MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT: return c->retirement->target;
    case MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH: return c->decision_batch->target;
    default: return NULL;
    }
}

static bool has_char(const char *s, char c) { return s && strchr(s, c) != NULL; }

mla_status mla_codec__artifact_check(const char *path, const mla_pb_artifact *a,
                                     bool digest_required)
{
    char p[MLA_CODEC_PATH_MAX];
    const unsigned name = MLA_CODEC_TEXT_REQUIRED | MLA_CODEC_TEXT_NAME;
    MLA_TRY(mla_codec__text_check(path, "type", a->type, MLA_LIMIT_NAME, name));
    MLA_TRY(mla_codec__text_check(path, "name", a->name, MLA_LIMIT_NAME, name));
    MLA_TRY(mla_codec__text_check(path, "version", a->version, MLA_LIMIT_NAME, name));
    /* SPEC §3: identity is type:name@version; it must split one way only. */
    if (has_char(a->type, ':') || has_char(a->type, '@'))
        return mla_err(MLA_EINVAL, "%s.type: contains ':' or '@' (\"%s\")", path, a->type);
    if (has_char(a->name, '@'))
        return mla_err(MLA_EINVAL, "%s.name: contains '@' (\"%s\")", path, a->name);
    MLA_TRY(
        mla_codec__bytes_check(path, "digest", a->digest, MLA_CODEC_DIGEST_BYTES, digest_required));
    if (a->n_digests > MLA_LIMIT_DIGESTS)
        return mla_err(MLA_EINVAL, "%s.digests: %zu exceeds limit %d", path, a->n_digests,
                       MLA_LIMIT_DIGESTS);
    for (size_t i = 0; i < a->n_digests; i++) {
        mla_codec__path(p, sizeof p, "%s.digests[%zu]", path, i);
        const Mlaudit__V1__Artifact__DigestsEntry *d = a->digests[i];
        if (!d) return mla_err(MLA_EINVAL, "%s: missing", p);
        MLA_TRY(mla_codec__text_check(p, "key", d->key, MLA_LIMIT_NAME, name));
        MLA_TRY(mla_codec__text_check(p, "value", d->value, MLA_LIMIT_NAME, name));
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->digests[j]->key, d->key) == 0)
                return mla_err(MLA_EINVAL, "%s.key: duplicate \"%s\"", p, d->key);
    }
    MLA_TRY(mla_codec__text_check(path, "uri", a->uri, MLA_LIMIT_URI, MLA_CODEC_TEXT_NAME));
    MLA_TRY(mla_codec__text_check(path, "media_type", a->media_type, MLA_LIMIT_NAME,
                                  MLA_CODEC_TEXT_NAME));
    if (a->external) {
        mla_codec__path(p, sizeof p, "%s.external", path);
        MLA_TRY(mla_codec__text_check(p, "system", a->external->system, MLA_LIMIT_NAME, name));
        MLA_TRY(mla_codec__text_check(p, "id", a->external->id, MLA_LIMIT_NAME, name));
    }
    return MLA_OK;
}

static mla_status artifact_append(mla_buf *out, const mla_pb_artifact *a, bool with_version)
{
    if (!a) return mla_err(MLA_EINVAL, "artifact: missing");
    const unsigned name = MLA_CODEC_TEXT_REQUIRED | MLA_CODEC_TEXT_NAME;
    MLA_TRY(mla_codec__text_check("artifact", "type", a->type, MLA_LIMIT_NAME, name));
    MLA_TRY(mla_codec__text_check("artifact", "name", a->name, MLA_LIMIT_NAME, name));
    if (with_version)
        MLA_TRY(mla_codec__text_check("artifact", "version", a->version, MLA_LIMIT_NAME, name));
    size_t mark = out->len;
    mla_status rc;
    if ((rc = mla_buf_append_cstr(out, a->type)) != MLA_OK ||
        (rc = mla_buf_append_byte(out, ':')) != MLA_OK ||
        (rc = mla_buf_append_cstr(out, a->name)) != MLA_OK)
        goto out;
    if (with_version && ((rc = mla_buf_append_byte(out, '@')) != MLA_OK ||
                         (rc = mla_buf_append_cstr(out, a->version)) != MLA_OK))
        goto out;
    return MLA_OK;
out:
    out->len = mark; /* a failed append leaves out as it was */
    return rc;
}

mla_status mla_codec_artifact_identity(mla_buf *out, const mla_pb_artifact *a)
{
    return artifact_append(out, a, true);
}

mla_status mla_codec_artifact_scope(mla_buf *out, const mla_pb_artifact *a)
{
    return artifact_append(out, a, false);
}

mla_status mla_codec_identity_split(mla_pb_artifact *out, mla_buf *store, const char *identity,
                                    const char *field)
{
    /* The type holds no ':' or '@' and the name no '@' (artifact_check), so
     * this split is the only one. */
    const char *colon = strchr(identity, ':');
    const char *at = colon ? strchr(colon + 1, '@') : NULL;
    if (!colon || !at || colon == identity || at == colon + 1 || at[1] == '\0')
        return mla_err(MLA_EINVAL, "%s: \"%s\" is not type:name@version", field, identity);
    MLA_TRY(mla_buf_set(store, mla_slice_cstr(identity)));
    MLA_TRY(mla_buf_append_byte(store, '\0'));
    char *s = (char *)store->ptr;
    size_t ci = (size_t)(colon - identity), ai = (size_t)(at - identity);
    s[ci] = '\0';
    s[ai] = '\0';
    out->type = s;
    out->name = s + ci + 1;
    out->version = s + ai + 1;
    return MLA_OK;
}

/* Kinds whose subject is a content-addressed thing: SPEC §3 "one identity may
 * never be recorded with two sha256 digests" needs the digest present. */
static bool kind_needs_digest(mla_kind k)
{
    switch (k) {
    case MLAUDIT__V1__KIND__KIND_MODEL:
    case MLAUDIT__V1__KIND__KIND_DATASET:
    case MLAUDIT__V1__KIND__KIND_CODE:
    case MLAUDIT__V1__KIND__KIND_CONFIG:
    case MLAUDIT__V1__KIND__KIND_ENVIRONMENT: return true;
    default: return false;
    }
}

/* Kinds that are about no single artifact. */
static bool kind_subject_optional(mla_kind k)
{
    return k == MLAUDIT__V1__KIND__KIND_KEY || k == MLAUDIT__V1__KIND__KIND_REDACTION ||
           k == MLAUDIT__V1__KIND__KIND_DECISION_BATCH;
}

/* The oneof detail each kind carries: which case, and whether required. */
static Mlaudit__V1__Change__DetailCase kind_detail(mla_kind k, bool *required)
{
    *required = true;
    switch (k) {
    case MLAUDIT__V1__KIND__KIND_DEPLOYMENT: return MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
    case MLAUDIT__V1__KIND__KIND_ROLLBACK: return MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
    case MLAUDIT__V1__KIND__KIND_DECISION_BATCH: return MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    case MLAUDIT__V1__KIND__KIND_KEY: return MLAUDIT__V1__CHANGE__DETAIL_KEY;
    case MLAUDIT__V1__KIND__KIND_REDACTION: return MLAUDIT__V1__CHANGE__DETAIL_REDACTION;
    case MLAUDIT__V1__KIND__KIND_IMPORT: return MLAUDIT__V1__CHANGE__DETAIL_IMPORT;
    case MLAUDIT__V1__KIND__KIND_APPROVAL: return MLAUDIT__V1__CHANGE__DETAIL_APPROVAL;
    case MLAUDIT__V1__KIND__KIND_RETIREMENT: return MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
    default: *required = false; return MLAUDIT__V1__CHANGE__DETAIL__NOT_SET;
    }
}

static const char *detail_name(Mlaudit__V1__Change__DetailCase c)
{
    switch (c) {
    case MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT: return "deployment";
    case MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK: return "rollback";
    case MLAUDIT__V1__CHANGE__DETAIL_APPROVAL: return "approval";
    case MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH: return "decision_batch";
    case MLAUDIT__V1__CHANGE__DETAIL_KEY: return "key";
    case MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT: return "retirement";
    case MLAUDIT__V1__CHANGE__DETAIL_REDACTION: return "redaction";
    case MLAUDIT__V1__CHANGE__DETAIL_IMPORT: return "import";
    default: return "none";
    }
}

#define NAME (MLA_CODEC_TEXT_REQUIRED | MLA_CODEC_TEXT_NAME)

static mla_status deployment_check(const Mlaudit__V1__Deployment *d)
{
    const char *p = "change.deployment";
    MLA_TRY(mla_codec__text_check(p, "target", d->target, MLA_LIMIT_NAME, NAME));
    /* Policy keys on the stage (production rules), so it must be said. */
    MLA_TRY(mla_codec__text_check(p, "stage", d->stage, MLA_LIMIT_NAME, NAME));
    /* change.proto: traffic_fraction in (0, 1]; NaN fails both comparisons. */
    if (!(d->traffic_fraction > 0.0 && d->traffic_fraction <= 1.0))
        return mla_err(MLA_EINVAL, "%s.traffic_fraction: %g not in (0, 1]", p, d->traffic_fraction);
    return mla_codec__bytes_check(p, "serving_key", d->serving_key, MLA_CODEC_PUBKEY_BYTES, false);
}

static mla_status rollback_check(const Mlaudit__V1__Rollback *r)
{
    MLA_TRY(mla_codec__text_check("change.rollback", "target", r->target, MLA_LIMIT_NAME, NAME));
    if (!r->to) return mla_err(MLA_EINVAL, "change.rollback.to: missing");
    return mla_codec__artifact_check("change.rollback.to", r->to, false);
}

static mla_status approval_check(const Mlaudit__V1__Approval *a)
{
    MLA_TRY(mla_codec__text_check("change.approval", "scope", a->scope, MLA_LIMIT_NAME,
                                  MLA_CODEC_TEXT_NAME));
    if (a->approved) MLA_TRY(mla_codec__artifact_check("change.approval.approved", a->approved, 0));
    /* An approval of nothing in particular cannot satisfy any rule. seq 0 is
     * proto3's "unset", so entry 0 can be approved only by naming its
     * artifact. */
    if (!a->approved && a->approved_seq == 0)
        return mla_err(MLA_EINVAL, "change.approval: names neither the approved artifact "
                                   "(approved) nor the approved entry (approved_seq > 0)");
    return MLA_OK;
}

static mla_status batch_check(const Mlaudit__V1__DecisionBatch *b)
{
    const char *p = "change.decision_batch";
    MLA_TRY(mla_codec__text_check(p, "target", b->target, MLA_LIMIT_NAME, NAME));
    if (b->model) MLA_TRY(mla_codec__artifact_check("change.decision_batch.model", b->model, 0));
    if (b->count == 0) return mla_err(MLA_EINVAL, "%s.count: zero", p);
    /* The RFC 6962 root over the batch's decision leaves. */
    MLA_TRY(mla_codec__bytes_check(p, "root", b->root, MLA_CODEC_DIGEST_BYTES, true));
    if (b->first_time_ns > b->last_time_ns)
        return mla_err(MLA_EINVAL, "%s.first_time_ns: %lld after last_time_ns %lld", p,
                       (long long)b->first_time_ns, (long long)b->last_time_ns);
    return MLA_OK;
}

static mla_status key_check(const Mlaudit__V1__KeyChange *k)
{
    const char *p = "change.key";
    MLA_TRY(mla_codec__bytes_check(p, "public_key", k->public_key, MLA_CODEC_PUBKEY_BYTES, true));
    if (k->role <= MLAUDIT__V1__KEY_ROLE__KEY_ROLE_UNSPECIFIED ||
        k->role > MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING)
        return mla_err(MLA_EINVAL, "%s.role: %d is not a key role", p, (int)k->role);
    if (k->n_allowed_kinds > MLA_LIMIT_ALLOWED_KINDS)
        return mla_err(MLA_EINVAL, "%s.allowed_kinds: %zu exceeds limit %d", p, k->n_allowed_kinds,
                       MLA_LIMIT_ALLOWED_KINDS);
    for (size_t i = 0; i < k->n_allowed_kinds; i++) {
        if (!kind_valid((int)k->allowed_kinds[i]))
            return mla_err(MLA_EINVAL, "%s.allowed_kinds[%zu]: %d is not a kind", p, i,
                           (int)k->allowed_kinds[i]);
        for (size_t j = 0; j < i; j++)
            if (k->allowed_kinds[j] == k->allowed_kinds[i])
                return mla_err(MLA_EINVAL, "%s.allowed_kinds[%zu]: duplicate %s", p, i,
                               kind_names[k->allowed_kinds[i]]);
    }
    return mla_codec__text_check(p, "name", k->name, MLA_LIMIT_NAME, MLA_CODEC_TEXT_NAME);
}

static mla_status retirement_check(const Mlaudit__V1__Retirement *r)
{
    MLA_TRY(mla_codec__text_check("change.retirement", "target", r->target, MLA_LIMIT_NAME, NAME));
    if (r->artifact)
        MLA_TRY(mla_codec__artifact_check("change.retirement.artifact", r->artifact, false));
    return MLA_OK;
}

static mla_status redaction_check(const Mlaudit__V1__Redaction *r)
{
    return mla_codec__text_check("change.redaction", "reason", r->reason, MLA_LIMIT_REASON,
                                 MLA_CODEC_TEXT_REQUIRED);
}

static mla_status import_check(const Mlaudit__V1__Import *im)
{
    const char *p = "change.import";
    MLA_TRY(mla_codec__text_check(p, "source_system", im->source_system, MLA_LIMIT_NAME, NAME));
    MLA_TRY(mla_codec__bytes_check(p, "source_snapshot_digest", im->source_snapshot_digest,
                                   MLA_CODEC_DIGEST_BYTES, false));
    return mla_codec__text_check(p, "importer_version", im->importer_version, MLA_LIMIT_NAME,
                                 MLA_CODEC_TEXT_NAME);
}

static mla_status detail_check(const mla_pb_change *m)
{
    bool required;
    Mlaudit__V1__Change__DetailCase want = kind_detail(m->kind, &required);
    Mlaudit__V1__Change__DetailCase got = m->detail_case;
    if (got == MLAUDIT__V1__CHANGE__DETAIL__NOT_SET) {
        if (required)
            return mla_err(MLA_EINVAL, "change.%s: missing, required for kind %s",
                           detail_name(want), kind_names[m->kind]);
        return MLA_OK;
    }
    if (got != want)
        return mla_err(MLA_EINVAL, "change.%s: does not belong to kind %s", detail_name(got),
                       kind_names[m->kind]);
    /* The union member of the set case; protobuf-c allocates it when the case
     * is set, but a message built in memory may leave it NULL. */
    if (!m->deployment)
        return mla_err(MLA_EINVAL, "change.%s: case set but message missing", detail_name(got));
    switch (got) {
    case MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT: return deployment_check(m->deployment);
    case MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK: return rollback_check(m->rollback);
    case MLAUDIT__V1__CHANGE__DETAIL_APPROVAL: return approval_check(m->approval);
    case MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH: return batch_check(m->decision_batch);
    case MLAUDIT__V1__CHANGE__DETAIL_KEY: return key_check(m->key);
    case MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT: return retirement_check(m->retirement);
    case MLAUDIT__V1__CHANGE__DETAIL_REDACTION: return redaction_check(m->redaction);
    case MLAUDIT__V1__CHANGE__DETAIL_IMPORT: return import_check(m->import);
    default: return mla_err(MLA_EINVAL, "change.detail: unknown case %d", (int)got);
    }
}

static mla_status inputs_check(const mla_pb_change *m)
{
    char p[MLA_CODEC_PATH_MAX];
    if (m->n_inputs > MLA_LIMIT_INPUTS)
        return mla_err(MLA_EINVAL, "change.inputs: %zu exceeds limit %d", m->n_inputs,
                       MLA_LIMIT_INPUTS);
    for (size_t i = 0; i < m->n_inputs; i++) {
        const mla_pb_input *in = m->inputs[i];
        mla_codec__path(p, sizeof p, "change.inputs[%zu]", i);
        if (!in) return mla_err(MLA_EINVAL, "%s: missing", p);
        if (!in->artifact) return mla_err(MLA_EINVAL, "%s.artifact: missing", p);
        mla_codec__path(p, sizeof p, "change.inputs[%zu].artifact", i);
        MLA_TRY(mla_codec__artifact_check(p, in->artifact, false));
        mla_codec__path(p, sizeof p, "change.inputs[%zu]", i);
        MLA_TRY(mla_codec__text_check(p, "role", in->role, MLA_LIMIT_NAME, NAME));
        /* SPEC §3: roles are a documented vocabulary; "x-" marks a custom one. */
        mla_slice role = mla_slice_cstr(in->role);
        if (!mla_codec_role_known(role) && !(role.len > 2 && memcmp(role.ptr, "x-", 2) == 0))
            return mla_err(MLA_EINVAL, "%s.role: \"%s\" is not a known role (nor x-custom)", p,
                           in->role);
    }
    return MLA_OK;
}

static bool has_input_role(const mla_pb_change *m, const char *role)
{
    for (size_t i = 0; i < m->n_inputs; i++)
        if (strcmp(m->inputs[i]->role, role) == 0) return true;
    return false;
}

/* What a kind must carry beyond its detail to be worth recording: lineage
 * and evaluation reports are built from these. Runs after inputs_check and
 * attributes_check, so every input and metric is well formed. */
static mla_status kind_content_check(const mla_pb_change *m)
{
    switch (m->kind) {
    case MLAUDIT__V1__KIND__KIND_MODEL:
        if (m->n_inputs == 0)
            return mla_err(MLA_EINVAL, "change.inputs: a MODEL needs at least one input (its "
                                       "training data, code, config, environment, base model)");
        return MLA_OK;
    case MLAUDIT__V1__KIND__KIND_EVALUATION:
        if (!has_input_role(m, "evaluated-model"))
            return mla_err(MLA_EINVAL, "change.inputs: an EVALUATION needs an input with role "
                                       "\"evaluated-model\" (the model it evaluates)");
        if (m->n_metrics == 0)
            return mla_err(MLA_EINVAL,
                           "change.metrics: an EVALUATION needs at least one metric (none given)");
        return MLA_OK;
    default: return MLA_OK;
    }
}

static mla_status attributes_check(const mla_pb_change *m)
{
    char p[MLA_CODEC_PATH_MAX];
    if (m->n_attributes > MLA_LIMIT_ATTRIBUTES)
        return mla_err(MLA_EINVAL, "change.attributes: %zu exceeds limit %d", m->n_attributes,
                       MLA_LIMIT_ATTRIBUTES);
    for (size_t i = 0; i < m->n_attributes; i++) {
        const Mlaudit__V1__Change__AttributesEntry *a = m->attributes[i];
        mla_codec__path(p, sizeof p, "change.attributes[%zu]", i);
        if (!a) return mla_err(MLA_EINVAL, "%s: missing", p);
        MLA_TRY(mla_codec__text_check(p, "key", a->key, MLA_LIMIT_ATTRIBUTE_KEY, NAME));
        MLA_TRY(mla_codec__text_check(p, "value", a->value, MLA_LIMIT_ATTRIBUTE_VALUE, 0));
        /* A map with a repeated key means whatever the reader's last-wins
         * rule says; refuse it so every reader sees one value. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->attributes[j]->key, a->key) == 0)
                return mla_err(MLA_EINVAL, "%s.key: duplicate \"%s\"", p, a->key);
    }
    if (m->n_metrics > MLA_LIMIT_METRICS)
        return mla_err(MLA_EINVAL, "change.metrics: %zu exceeds limit %d", m->n_metrics,
                       MLA_LIMIT_METRICS);
    for (size_t i = 0; i < m->n_metrics; i++) {
        const Mlaudit__V1__Change__MetricsEntry *e = m->metrics[i];
        mla_codec__path(p, sizeof p, "change.metrics[%zu]", i);
        if (!e) return mla_err(MLA_EINVAL, "%s: missing", p);
        MLA_TRY(mla_codec__text_check(p, "key", e->key, MLA_LIMIT_ATTRIBUTE_KEY, NAME));
        if (!isfinite(e->value))
            return mla_err(MLA_EINVAL, "%s.value: %g is not finite (%s)", p, e->value, e->key);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->metrics[j]->key, e->key) == 0)
                return mla_err(MLA_EINVAL, "%s.key: duplicate \"%s\"", p, e->key);
    }
    return MLA_OK;
}

mla_status mla_codec_change_validate(const mla_pb_change *m)
{
    if (!kind_valid((int)m->kind))
        return mla_err(MLA_EINVAL, "change.kind: %d is not a kind", (int)m->kind);
    /* SPEC §3: documentation is a requirement, not an option. */
    if (!m->reason || m->reason[0] == '\0')
        return mla_err(MLA_EINVAL, "change.reason: empty — every change must say why");
    MLA_TRY(mla_codec__text_check("change", "reason", m->reason, MLA_LIMIT_REASON, 0));
    MLA_TRY(
        mla_codec__text_check("change", "actor", m->actor, MLA_LIMIT_NAME, MLA_CODEC_TEXT_NAME));
    if (m->subject) {
        MLA_TRY(
            mla_codec__artifact_check("change.subject", m->subject, kind_needs_digest(m->kind)));
    } else if (!kind_subject_optional(m->kind)) {
        return mla_err(MLA_EINVAL, "change.subject: missing, required for kind %s",
                       kind_names[m->kind]);
    }
    MLA_TRY(inputs_check(m));
    MLA_TRY(attributes_check(m));
    MLA_TRY(detail_check(m));
    return kind_content_check(m);
}

mla_status mla_codec_change_decode(mla_pb_change **out, mla_slice in)
{
    ProtobufCMessage *m;
    *out = NULL;
    MLA_TRY(mla_codec__message_unpack(&m, &mlaudit__v1__change__descriptor, in,
                                      MLA_LIMIT_CHANGE_BYTES, "change"));
    mla_pb_change *c = (mla_pb_change *)m;
    mla_status rc = mla_codec_change_validate(c);
    if (rc != MLA_OK) {
        mla_codec_change_free(c);
        return rc;
    }
    *out = c;
    return MLA_OK;
}

void mla_codec_change_free(mla_pb_change *m)
{
    if (m) mla_codec__message_free(&m->base);
}

mla_status mla_codec_change_encode(mla_buf *out, const mla_pb_change *m)
{
    MLA_TRY(mla_codec_change_validate(m));
    return mla_codec__message_pack(out, &m->base, MLA_LIMIT_CHANGE_BYTES, "change");
}
