/* cli_change: the JSON form of a Change, both ways — what `get --json`
 * prints and `record --from-json` reads, so one can be fed to the other. It
 * mirrors proto/mlaudit/v1/change.proto field by field: kinds and key roles
 * by name, bytes (digests, keys, roots) in lowercase hex. Unknown JSON keys
 * are refused, so a misspelt field is an error rather than silently lost.
 * Also the entry description shared by get, log and verify. */
#include <string.h>
#include <strings.h>

#include "cli.h"

/* ---- arena -------------------------------------------------------------- */

void *cli_arena_alloc(cli_arena *a, size_t n)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 32;
        void **b = mla_realloc(a->blocks, cap * sizeof *b);
        if (!b) return NULL;
        a->blocks = b;
        a->cap = cap;
    }
    void *p = mla_calloc(1, n ? n : 1);
    if (p) a->blocks[a->n++] = p;
    return p;
}

char *cli_arena_strdup(cli_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = cli_arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n);
    return p;
}

void cli_arena_free(cli_arena *a)
{
    for (size_t i = 0; i < a->n; i++) mla_free(a->blocks[i]);
    mla_free(a->blocks);
    a->blocks = NULL;
    a->n = a->cap = 0;
}

#define OOM() mla_err(MLA_ENOMEM, "out of memory")

/* ---- to JSON ------------------------------------------------------------- */

static const char *role_names[] = {"UNSPECIFIED", "WRITER", "AUDITOR", "ADMIN", "SERVING"};

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v) json_object_set_new(o, k, json_string(v));
}

static void set_hex(json_t *o, const char *k, ProtobufCBinaryData b)
{
    if (b.len) json_object_set_new(o, k, cli_json_hex(b.data, b.len));
}

static json_t *artifact_json(const mla_pb_artifact *a)
{
    json_t *o = json_object();
    if (!o || !a) return o;
    set_str(o, "type", a->type);
    set_str(o, "name", a->name);
    set_str(o, "version", a->version);
    set_hex(o, "digest", a->digest);
    if (a->n_digests) {
        json_t *d = json_object();
        for (size_t i = 0; d && i < a->n_digests; i++)
            json_object_set_new(d, a->digests[i]->key, json_string(a->digests[i]->value));
        json_object_set_new(o, "digests", d);
    }
    set_str(o, "uri", a->uri);
    set_str(o, "media_type", a->media_type);
    if (a->external)
        json_object_set_new(
            o, "external",
            json_pack("{s:s,s:s}", "system", a->external->system, "id", a->external->id));
    return o;
}

json_t *cli_change_to_json(const mla_pb_change *c)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "kind", json_string(mla_codec_kind_name(c->kind)));
    if (c->subject) json_object_set_new(o, "subject", artifact_json(c->subject));
    if (c->n_inputs) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < c->n_inputs; i++)
            json_array_append_new(arr, json_pack("{s:o,s:s}", "artifact",
                                                 artifact_json(c->inputs[i]->artifact), "role",
                                                 c->inputs[i]->role));
        json_object_set_new(o, "inputs", arr);
    }
    if (c->n_attributes) {
        json_t *m = json_object();
        for (size_t i = 0; m && i < c->n_attributes; i++)
            json_object_set_new(m, c->attributes[i]->key, json_string(c->attributes[i]->value));
        json_object_set_new(o, "attributes", m);
    }
    if (c->n_metrics) {
        json_t *m = json_object();
        for (size_t i = 0; m && i < c->n_metrics; i++)
            json_object_set_new(m, c->metrics[i]->key, json_real(c->metrics[i]->value));
        json_object_set_new(o, "metrics", m);
    }
    set_str(o, "actor", c->actor);
    set_str(o, "reason", c->reason);
    if (c->client_time_ns)
        json_object_set_new(o, "client_time_ns", json_integer((json_int_t)c->client_time_ns));
    json_t *d = NULL;
    const char *dn = NULL;
    switch (c->detail_case) {
    case MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT:
        dn = "deployment";
        d = json_pack("{s:s,s:f}", "target", c->deployment->target, "traffic_fraction",
                      c->deployment->traffic_fraction);
        if (d) set_str(d, "stage", c->deployment->stage);
        if (d) set_hex(d, "serving_key", c->deployment->serving_key);
        break;
    case MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK:
        dn = "rollback";
        d = json_pack("{s:s,s:o}", "target", c->rollback->target, "to",
                      artifact_json(c->rollback->to));
        break;
    case MLAUDIT__V1__CHANGE__DETAIL_APPROVAL:
        dn = "approval";
        d = json_object();
        if (d && (c->approval->approved_seq || !c->approval->approved))
            json_object_set_new(d, "approved_seq",
                                json_integer((json_int_t)c->approval->approved_seq));
        if (d && c->approval->approved)
            json_object_set_new(d, "approved", artifact_json(c->approval->approved));
        if (d) set_str(d, "scope", c->approval->scope);
        break;
    case MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH:
        dn = "decision_batch";
        d = json_pack("{s:s,s:I,s:I,s:I}", "target", c->decision_batch->target, "first_time_ns",
                      (json_int_t)c->decision_batch->first_time_ns, "last_time_ns",
                      (json_int_t)c->decision_batch->last_time_ns, "count",
                      (json_int_t)c->decision_batch->count);
        if (d && c->decision_batch->model)
            json_object_set_new(d, "model", artifact_json(c->decision_batch->model));
        if (d) set_hex(d, "root", c->decision_batch->root);
        break;
    case MLAUDIT__V1__CHANGE__DETAIL_KEY: {
        dn = "key";
        unsigned r = (unsigned)c->key->role;
        d = json_pack("{s:o,s:s,s:b}", "public_key",
                      cli_json_hex(c->key->public_key.data, c->key->public_key.len), "role",
                      r < 5 ? role_names[r] : "UNSPECIFIED", "revoke", (int)c->key->revoke);
        json_t *kinds = json_array();
        for (size_t i = 0; kinds && i < c->key->n_allowed_kinds; i++)
            json_array_append_new(kinds,
                                  json_string(mla_codec_kind_name(c->key->allowed_kinds[i])));
        if (d) json_object_set_new(d, "allowed_kinds", kinds);
        if (d && c->key->public_key.len == 32) {
            char keyid[MLA_KEYID_HEX_LEN + 1];
            mla_pubkey pk;
            memcpy(pk.b, c->key->public_key.data, 32);
            mla_crypto_keyid(keyid, &pk);
            json_object_set_new(d, "keyid", json_string(keyid));
        }
        if (d) set_str(d, "name", c->key->name);
        break;
    }
    case MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT:
        dn = "retirement";
        d = json_object();
        if (d) set_str(d, "target", c->retirement->target);
        if (d && c->retirement->artifact)
            json_object_set_new(d, "artifact", artifact_json(c->retirement->artifact));
        break;
    case MLAUDIT__V1__CHANGE__DETAIL_REDACTION:
        dn = "redaction";
        d = json_pack("{s:I,s:s}", "seq", (json_int_t)c->redaction->seq, "reason",
                      c->redaction->reason);
        break;
    case MLAUDIT__V1__CHANGE__DETAIL_IMPORT:
        dn = "import";
        d = json_pack("{s:s}", "source_system", c->import->source_system);
        if (d) set_hex(d, "source_snapshot_digest", c->import->source_snapshot_digest);
        if (d) set_str(d, "importer_version", c->import->importer_version);
        break;
    default: break;
    }
    if (dn && d) json_object_set_new(o, dn, d);
    return o;
}

/* ---- from JSON ------------------------------------------------------------ */

/* Every key of o must be one of `allowed` (NULL-ended). */
static mla_status keys_check(json_t *o, const char *path, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, k);
        if (!ok) return mla_err(MLA_EINVAL, "%s.%s: unknown field", path, k);
    }
    return MLA_OK;
}

static mla_status get_str(char **out, cli_arena *a, json_t *o, const char *path, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!v) return MLA_OK;
    if (!json_is_string(v)) return mla_err(MLA_EINVAL, "%s.%s: want a string", path, k);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return mla_err(MLA_EINVAL, "%s.%s: contains a NUL byte", path, k);
    if (!(*out = cli_arena_strdup(a, json_string_value(v)))) return OOM();
    return MLA_OK;
}

static mla_status get_hex(ProtobufCBinaryData *out, cli_arena *a, json_t *o, const char *path,
                          const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!v) return MLA_OK;
    if (!json_is_string(v)) return mla_err(MLA_EINVAL, "%s.%s: want a hex string", path, k);
    char field[160];
    snprintf(field, sizeof field, "%s.%s", path, k);
    mla_buf b;
    mla_buf_init(&b, 4096);
    mla_status rc =
        mla_hex_decode(&b, mla_slice_make(json_string_value(v), json_string_length(v)), field);
    if (rc == MLA_OK) {
        uint8_t *p = cli_arena_alloc(a, b.len);
        if (!p) {
            rc = OOM();
        } else {
            if (b.len) memcpy(p, b.ptr, b.len);
            out->data = p;
            out->len = b.len;
        }
    }
    mla_buf_dispose(&b);
    return rc;
}

static mla_status get_int(int64_t *out, json_t *o, const char *path, const char *k,
                          bool non_negative)
{
    json_t *v = json_object_get(o, k);
    if (!v) return MLA_OK;
    if (!json_is_integer(v) || (non_negative && json_integer_value(v) < 0))
        return mla_err(MLA_EINVAL, "%s.%s: want %s integer", path, k,
                       non_negative ? "a non-negative" : "an");
    *out = (int64_t)json_integer_value(v);
    return MLA_OK;
}

static mla_status object_at(json_t **out, json_t *o, const char *path, const char *k)
{
    *out = json_object_get(o, k);
    if (*out && !json_is_object(*out)) return mla_err(MLA_EINVAL, "%s.%s: want an object", path, k);
    return MLA_OK;
}

static mla_status artifact_from_json(mla_pb_artifact **out, cli_arena *a, json_t *o,
                                     const char *path)
{
    static const char *const allowed[] = {"type", "name",       "version",  "digest", "digests",
                                          "uri",  "media_type", "external", NULL};
    if (!json_is_object(o)) return mla_err(MLA_EINVAL, "%s: want an object", path);
    MLA_TRY(keys_check(o, path, allowed));
    mla_pb_artifact *art = cli_arena_alloc(a, sizeof *art);
    if (!art) return OOM();
    mlaudit__v1__artifact__init(art);
    MLA_TRY(get_str(&art->type, a, o, path, "type"));
    MLA_TRY(get_str(&art->name, a, o, path, "name"));
    MLA_TRY(get_str(&art->version, a, o, path, "version"));
    MLA_TRY(get_hex(&art->digest, a, o, path, "digest"));
    MLA_TRY(get_str(&art->uri, a, o, path, "uri"));
    MLA_TRY(get_str(&art->media_type, a, o, path, "media_type"));
    json_t *d;
    MLA_TRY(object_at(&d, o, path, "digests"));
    if (d) {
        size_t n = json_object_size(d), i = 0;
        art->digests = cli_arena_alloc(a, n * sizeof *art->digests);
        if (!art->digests) return OOM();
        const char *k;
        json_t *v;
        json_object_foreach(d, k, v)
        {
            if (!json_is_string(v))
                return mla_err(MLA_EINVAL, "%s.digests.%s: want a string", path, k);
            Mlaudit__V1__Artifact__DigestsEntry *e = cli_arena_alloc(a, sizeof *e);
            if (!e) return OOM();
            mlaudit__v1__artifact__digests_entry__init(e);
            if (!(e->key = cli_arena_strdup(a, k)) ||
                !(e->value = cli_arena_strdup(a, json_string_value(v))))
                return OOM();
            art->digests[i++] = e;
        }
        art->n_digests = n;
    }
    MLA_TRY(object_at(&d, o, path, "external"));
    if (d) {
        char p[128];
        snprintf(p, sizeof p, "%s.external", path);
        static const char *const ext_allowed[] = {"system", "id", NULL};
        MLA_TRY(keys_check(d, p, ext_allowed));
        Mlaudit__V1__ExternalRef *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__external_ref__init(x);
        MLA_TRY(get_str(&x->system, a, d, p, "system"));
        MLA_TRY(get_str(&x->id, a, d, p, "id"));
        art->external = x;
    }
    *out = art;
    return MLA_OK;
}

static mla_status detail_from_json(mla_pb_change *c, cli_arena *a, json_t *j)
{
    static const char *const details[] = {"deployment", "rollback",   "approval",  "decision_batch",
                                          "key",        "retirement", "redaction", "import"};
    json_t *d = NULL;
    const char *name = NULL;
    for (size_t i = 0; i < sizeof details / sizeof details[0]; i++) {
        json_t *v;
        MLA_TRY(object_at(&v, j, "change", details[i]));
        if (!v) continue;
        if (d)
            return mla_err(MLA_EINVAL, "change.%s: only one of %s and %s may be given", details[i],
                           name, details[i]);
        d = v;
        name = details[i];
    }
    if (!d) return MLA_OK;
    char p[64];
    snprintf(p, sizeof p, "change.%s", name);
    int64_t iv;
    if (!strcmp(name, "deployment")) {
        static const char *const allowed[] = {"target", "stage", "traffic_fraction", "serving_key",
                                              NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__Deployment *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__deployment__init(x);
        MLA_TRY(get_str(&x->target, a, d, p, "target"));
        MLA_TRY(get_str(&x->stage, a, d, p, "stage"));
        MLA_TRY(get_hex(&x->serving_key, a, d, p, "serving_key"));
        json_t *f = json_object_get(d, "traffic_fraction");
        if (f && !json_is_number(f))
            return mla_err(MLA_EINVAL, "%s.traffic_fraction: want a number in (0, 1]", p);
        x->traffic_fraction = f ? json_number_value(f) : 1.0;
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
        c->deployment = x;
    } else if (!strcmp(name, "rollback")) {
        static const char *const allowed[] = {"target", "to", NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__Rollback *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__rollback__init(x);
        MLA_TRY(get_str(&x->target, a, d, p, "target"));
        if (json_object_get(d, "to"))
            MLA_TRY(artifact_from_json(&x->to, a, json_object_get(d, "to"), "change.rollback.to"));
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
        c->rollback = x;
    } else if (!strcmp(name, "approval")) {
        static const char *const allowed[] = {"approved_seq", "approved", "scope", NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__Approval *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__approval__init(x);
        iv = 0;
        MLA_TRY(get_int(&iv, d, p, "approved_seq", true));
        x->approved_seq = (uint64_t)iv;
        if (json_object_get(d, "approved"))
            MLA_TRY(artifact_from_json(&x->approved, a, json_object_get(d, "approved"),
                                       "change.approval.approved"));
        MLA_TRY(get_str(&x->scope, a, d, p, "scope"));
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_APPROVAL;
        c->approval = x;
    } else if (!strcmp(name, "decision_batch")) {
        static const char *const allowed[] = {
            "target", "model", "first_time_ns", "last_time_ns", "count", "root", NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__DecisionBatch *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__decision_batch__init(x);
        MLA_TRY(get_str(&x->target, a, d, p, "target"));
        if (json_object_get(d, "model"))
            MLA_TRY(artifact_from_json(&x->model, a, json_object_get(d, "model"),
                                       "change.decision_batch.model"));
        MLA_TRY(get_int(&x->first_time_ns, d, p, "first_time_ns", false));
        MLA_TRY(get_int(&x->last_time_ns, d, p, "last_time_ns", false));
        iv = 0;
        MLA_TRY(get_int(&iv, d, p, "count", true));
        x->count = (uint64_t)iv;
        MLA_TRY(get_hex(&x->root, a, d, p, "root"));
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
        c->decision_batch = x;
    } else if (!strcmp(name, "key")) {
        static const char *const allowed[] = {
            "public_key", "role", "allowed_kinds", "revoke", "name", "keyid", NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__KeyChange *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__key_change__init(x);
        MLA_TRY(get_hex(&x->public_key, a, d, p, "public_key"));
        json_t *r = json_object_get(d, "role");
        if (r) {
            const char *rs = json_is_string(r) ? json_string_value(r) : "";
            for (unsigned i = 1; i < 5; i++)
                if (!strcasecmp(rs, role_names[i])) x->role = (Mlaudit__V1__KeyRole)i;
            if (!x->role)
                return mla_err(MLA_EINVAL, "%s.role: want writer, auditor, admin or serving", p);
        }
        json_t *ks = json_object_get(d, "allowed_kinds");
        if (ks) {
            if (!json_is_array(ks))
                return mla_err(MLA_EINVAL, "%s.allowed_kinds: want an array", p);
            size_t n = json_array_size(ks);
            x->allowed_kinds = cli_arena_alloc(a, n * sizeof *x->allowed_kinds);
            if (!x->allowed_kinds) return OOM();
            for (size_t i = 0; i < n; i++) {
                json_t *k = json_array_get(ks, i);
                if (!json_is_string(k) ||
                    mla_codec_kind_parse(&x->allowed_kinds[i],
                                         mla_slice_cstr(json_string_value(k))) != MLA_OK)
                    return mla_err(MLA_EINVAL, "%s.allowed_kinds[%zu]: not a kind name", p, i);
            }
            x->n_allowed_kinds = n;
        }
        json_t *rv = json_object_get(d, "revoke");
        if (rv && !json_is_boolean(rv))
            return mla_err(MLA_EINVAL, "%s.revoke: want true or false", p);
        x->revoke = rv && json_is_true(rv);
        MLA_TRY(get_str(&x->name, a, d, p, "name"));
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_KEY;
        c->key = x;
    } else if (!strcmp(name, "retirement")) {
        static const char *const allowed[] = {"target", "artifact", NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__Retirement *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__retirement__init(x);
        MLA_TRY(get_str(&x->target, a, d, p, "target"));
        if (json_object_get(d, "artifact"))
            MLA_TRY(artifact_from_json(&x->artifact, a, json_object_get(d, "artifact"),
                                       "change.retirement.artifact"));
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
        c->retirement = x;
    } else if (!strcmp(name, "redaction")) {
        static const char *const allowed[] = {"seq", "reason", NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__Redaction *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__redaction__init(x);
        iv = 0;
        MLA_TRY(get_int(&iv, d, p, "seq", true));
        x->seq = (uint64_t)iv;
        MLA_TRY(get_str(&x->reason, a, d, p, "reason"));
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_REDACTION;
        c->redaction = x;
    } else {
        static const char *const allowed[] = {"source_system", "source_snapshot_digest",
                                              "importer_version", NULL};
        MLA_TRY(keys_check(d, p, allowed));
        Mlaudit__V1__Import *x = cli_arena_alloc(a, sizeof *x);
        if (!x) return OOM();
        mlaudit__v1__import__init(x);
        MLA_TRY(get_str(&x->source_system, a, d, p, "source_system"));
        MLA_TRY(get_hex(&x->source_snapshot_digest, a, d, p, "source_snapshot_digest"));
        MLA_TRY(get_str(&x->importer_version, a, d, p, "importer_version"));
        c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_IMPORT;
        c->import = x;
    }
    return MLA_OK;
}

mla_status cli_change_from_json(mla_pb_change *c, cli_arena *a, json_t *j)
{
    static const char *const allowed[] = {
        "kind",   "subject",        "inputs",     "attributes", "metrics",  "actor",
        "reason", "client_time_ns", "deployment", "rollback",   "approval", "decision_batch",
        "key",    "retirement",     "redaction",  "import",     NULL};
    if (!json_is_object(j)) return mla_err(MLA_EINVAL, "change: want a JSON object");
    MLA_TRY(keys_check(j, "change", allowed));
    json_t *k = json_object_get(j, "kind");
    if (k) {
        if (!json_is_string(k)) return mla_err(MLA_EINVAL, "change.kind: want a kind name");
        MLA_TRY(mla_codec_kind_parse(&c->kind, mla_slice_cstr(json_string_value(k))));
    }
    if (json_object_get(j, "subject"))
        MLA_TRY(
            artifact_from_json(&c->subject, a, json_object_get(j, "subject"), "change.subject"));
    json_t *ins = json_object_get(j, "inputs");
    if (ins) {
        if (!json_is_array(ins)) return mla_err(MLA_EINVAL, "change.inputs: want an array");
        size_t n = json_array_size(ins);
        c->inputs = cli_arena_alloc(a, n * sizeof *c->inputs);
        if (!c->inputs) return OOM();
        for (size_t i = 0; i < n; i++) {
            char p[64];
            snprintf(p, sizeof p, "change.inputs[%zu]", i);
            json_t *e = json_array_get(ins, i);
            if (!json_is_object(e)) return mla_err(MLA_EINVAL, "%s: want an object", p);
            static const char *const in_allowed[] = {"artifact", "role", NULL};
            MLA_TRY(keys_check(e, p, in_allowed));
            mla_pb_input *in = cli_arena_alloc(a, sizeof *in);
            if (!in) return OOM();
            mlaudit__v1__input__init(in);
            char ap[80];
            snprintf(ap, sizeof ap, "%s.artifact", p);
            if (!json_object_get(e, "artifact")) return mla_err(MLA_EINVAL, "%s: missing", ap);
            MLA_TRY(artifact_from_json(&in->artifact, a, json_object_get(e, "artifact"), ap));
            MLA_TRY(get_str(&in->role, a, e, p, "role"));
            c->inputs[i] = in;
        }
        c->n_inputs = n;
    }
    json_t *m;
    MLA_TRY(object_at(&m, j, "change", "attributes"));
    if (m) {
        c->attributes = cli_arena_alloc(a, json_object_size(m) * sizeof *c->attributes);
        if (!c->attributes) return OOM();
        const char *key;
        json_t *v;
        json_object_foreach(m, key, v)
        {
            if (!json_is_string(v))
                return mla_err(MLA_EINVAL, "change.attributes.%s: want a string (quote numbers)",
                               key);
            Mlaudit__V1__Change__AttributesEntry *e = cli_arena_alloc(a, sizeof *e);
            if (!e) return OOM();
            mlaudit__v1__change__attributes_entry__init(e);
            if (!(e->key = cli_arena_strdup(a, key)) ||
                !(e->value = cli_arena_strdup(a, json_string_value(v))))
                return OOM();
            c->attributes[c->n_attributes++] = e;
        }
    }
    MLA_TRY(object_at(&m, j, "change", "metrics"));
    if (m) {
        c->metrics = cli_arena_alloc(a, json_object_size(m) * sizeof *c->metrics);
        if (!c->metrics) return OOM();
        const char *key;
        json_t *v;
        json_object_foreach(m, key, v)
        {
            if (!json_is_number(v))
                return mla_err(MLA_EINVAL, "change.metrics.%s: want a number", key);
            Mlaudit__V1__Change__MetricsEntry *e = cli_arena_alloc(a, sizeof *e);
            if (!e) return OOM();
            mlaudit__v1__change__metrics_entry__init(e);
            if (!(e->key = cli_arena_strdup(a, key))) return OOM();
            e->value = json_number_value(v);
            c->metrics[c->n_metrics++] = e;
        }
    }
    MLA_TRY(get_str(&c->actor, a, j, "change", "actor"));
    MLA_TRY(get_str(&c->reason, a, j, "change", "reason"));
    MLA_TRY(get_int(&c->client_time_ns, j, "change", "client_time_ns", true));
    return detail_from_json(c, a, j);
}

mla_status cli_artifact_parse(mla_pb_artifact **out, cli_arena *a, const char *s, const char *field)
{
    /* SPEC §3 identity "type:name@version": type has no ':' or '@', name
     * has no '@', so the first ':' and the first '@' after it split it. */
    const char *colon = strchr(s, ':');
    const char *at = colon ? strchr(colon + 1, '@') : NULL;
    if (!colon || !at || colon == s || at == colon + 1 || at[1] == '\0')
        return mla_err(MLA_EINVAL,
                       "%s: \"%s\" is not TYPE:NAME@VERSION (e.g. "
                       "dataset:transactions@2026-06)",
                       field, s);
    mla_pb_artifact *art = cli_arena_alloc(a, sizeof *art);
    if (!art) return OOM();
    mlaudit__v1__artifact__init(art);
    size_t tl = (size_t)(colon - s), nl = (size_t)(at - colon - 1);
    if (!(art->type = cli_arena_alloc(a, tl + 1)) || !(art->name = cli_arena_alloc(a, nl + 1)) ||
        !(art->version = cli_arena_strdup(a, at + 1)))
        return OOM();
    memcpy(art->type, s, tl);
    memcpy(art->name, colon + 1, nl);
    *out = art;
    return MLA_OK;
}

/* ---- entries ---------------------------------------------------------- */

json_t *cli_entry_json(mla_slice entry, const mla_hash *leaf, bool full)
{
    mla_pb_entry *e = NULL;
    mla_pb_change *c = NULL;
    if (mla_codec_entry_decode(&e, entry) != MLA_OK) return NULL;
    char t[48];
    mla_time_format(t, e->ledger_time_ns, false);
    json_t *o = json_pack("{s:I,s:s,s:I}", "seq", (json_int_t)e->seq, "time", t, "ledger_time_ns",
                          (json_int_t)e->ledger_time_ns);
    if (!o) goto out;
    if (leaf) json_object_set_new(o, "leaf_hash", cli_json_hex(leaf->b, 32));
    const mla_pb_envelope *env = e->envelope;
    bool is_change = !strcmp(env->payload_type, MLA_PAYLOAD_TYPE_CHANGE);
    if (is_change && mla_codec_change_decode(
                         &c, mla_slice_make(env->payload.data, env->payload.len)) == MLA_OK) {
        json_object_set_new(o, "kind", json_string(mla_codec_kind_name(c->kind)));
        if (c->subject) {
            mla_buf id;
            mla_buf_init(&id, 1024);
            if (mla_codec_artifact_identity(&id, c->subject) == MLA_OK)
                json_object_set_new(o, "subject", json_stringn((const char *)id.ptr, id.len));
            mla_buf_dispose(&id);
        }
        json_object_set_new(o, "actor", json_string(c->actor ? c->actor : ""));
        if (!full) json_object_set_new(o, "reason", json_string(c->reason ? c->reason : ""));
    } else {
        json_object_set_new(o, "kind", json_string(is_change ? "UNDECODABLE" : "FOREIGN"));
    }
    if (!full) goto out;
    json_object_set_new(o, "submitter", json_string(e->submitter ? e->submitter : ""));
    json_object_set_new(o, "prev_hash", cli_json_hex(e->prev_hash.data, e->prev_hash.len));
    json_t *links = json_array();
    for (size_t i = 0; links && i < e->n_links; i++) {
        const mla_pb_link *l = e->links[i];
        json_t *lo =
            json_pack("{s:s,s:s}", "scope",
                      l->scope == MLAUDIT__V1__LINK_SCOPE__LINK_SCOPE_TARGET ? "target" : "subject",
                      "key", l->key);
        if (lo && l->prev_leaf_hash.len) {
            json_object_set_new(lo, "prev_seq", json_integer((json_int_t)l->prev_seq));
            json_object_set_new(lo, "prev_leaf_hash",
                                cli_json_hex(l->prev_leaf_hash.data, l->prev_leaf_hash.len));
        }
        json_array_append_new(links, lo);
    }
    json_object_set_new(o, "links", links);
    json_t *sigs = json_array();
    for (size_t i = 0; sigs && i < env->n_signatures; i++)
        json_array_append_new(sigs, json_string(env->signatures[i]->keyid));
    json_object_set_new(o, "signed_by", sigs);
    json_object_set_new(o, "payload_type", json_string(env->payload_type));
    if (c)
        json_object_set_new(o, "change", cli_change_to_json(c));
    else
        json_object_set_new(o, "payload", cli_json_b64(env->payload.data, env->payload.len));
out:
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    return o;
}
