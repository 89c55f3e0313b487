/* cli_history: `mlaudit history NAME` — every entry about every version of
 * a name, in ledger order, metrics with their change per version
 * (evaluations included); `mlaudit diff A B` — two versions side by side:
 * digest, inputs by role, attributes, metrics (SPEC §7's diff). */
#include <string.h>

#include "cli.h"

/* Most entries one history shows (each is held decoded in memory). */
#define HISTORY_MAX 100000

typedef struct row {
    cli_rec r;
    char version[MLA_LIMIT_NAME + 1];
    bool eval; /* an EVALUATION of this version (found through lineage) */
} row;

typedef struct rows {
    row *v;
    size_t n, cap;
    bool truncated;
} rows;

static void rows_dispose(rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) cli_rec_close(&rs->v[i].r);
    mla_free(rs->v);
    memset(rs, 0, sizeof *rs);
}

static bool rows_has(const rows *rs, uint64_t seq)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->v[i].r.seq == seq) return true;
    return false;
}

/* Move the decoded entry out of r into a new row. */
static int rows_take(cli_ctx *ctx, rows *rs, cli_rec *r, const char *version, bool eval)
{
    if (rs->n == HISTORY_MAX) {
        rs->truncated = true;
        return CLI_STOP;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 64;
        row *v = mla_realloc(rs->v, cap * sizeof *v);
        if (!v) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        rs->v = v;
        rs->cap = cap;
    }
    row *w = &rs->v[rs->n++];
    w->r = *r;
    r->entry = NULL;
    r->change = NULL;
    snprintf(w->version, sizeof w->version, "%s", version ? version : "");
    w->eval = eval;
    return CLI_EXIT_OK;
}

static int take_subject_row(cli_ctx *ctx, void *arg, cli_rec *r)
{
    const mla_pb_artifact *s = r->change ? r->change->subject : NULL;
    return rows_take(ctx, arg, r, s ? s->version : NULL, false);
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const row *)a)->r.seq, y = ((const row *)b)->r.seq;
    return x < y ? -1 : x > y;
}

/* The version part of "type:name@version". */
/* Add the EVALUATION entries of model (downstream edges with role
 * evaluated-model) to rs. */
static int add_evaluations(cli_ctx *ctx, rows *rs, const mla_pb_artifact *model)
{
    char identity[CLI_IDENTITY_MAX];
    cli_artifact_identity(identity, model);
    mla_client_lineage_graph l;
    memset(&l, 0, sizeof l);
    int code = CLI_EXIT_OK;
    mla_status rc = mla_client_lineage(ctx->client, identity, true, 1, &l);
    if (rc == MLA_ENOTFOUND) goto out; /* nothing built from it */
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    if ((code = cli_note_advance(ctx, mla_buf_slice(&l.checkpoint), "lineage", NULL)) !=
        CLI_EXIT_OK)
        goto out;
    for (size_t i = 0; i < l.n_edges; i++) {
        const mla_client_edge *e = &l.edges[i];
        if (strcmp(e->role, "evaluated-model") || strcmp(e->from, identity) || rows_has(rs, e->seq))
            continue;
        for (size_t j = 0; j < l.n_entries; j++) {
            if (l.entries[j].seq != e->seq) continue;
            cli_rec r;
            if (cli_rec_open(&r, e->seq, mla_buf_slice(&l.entries[j].entry)) != MLA_OK) {
                code = cli_fail(ctx, CLI_EXIT_NO, "lineage: %s", mla_error_last()->msg);
                goto out;
            }
            if (r.kind != MLAUDIT__V1__KIND__KIND_EVALUATION) {
                cli_rec_close(&r);
                break;
            }
            code = rows_take(ctx, rs, &r, model->version, true);
            cli_rec_close(&r);
            if (code == CLI_STOP) code = CLI_EXIT_OK;
            if (code != CLI_EXIT_OK) goto out;
            break;
        }
    }
out:
    mla_client_lineage_dispose(&l);
    return code;
}

/* Kinds that record a version of the artifact itself (not an action on it). */
static bool kind_defines(mla_kind k)
{
    switch (k) {
    case MLAUDIT__V1__KIND__KIND_MODEL:
    case MLAUDIT__V1__KIND__KIND_DATASET:
    case MLAUDIT__V1__KIND__KIND_CODE:
    case MLAUDIT__V1__KIND__KIND_CONFIG:
    case MLAUDIT__V1__KIND__KIND_ENVIRONMENT:
    case MLAUDIT__V1__KIND__KIND_EVALUATION:
    case MLAUDIT__V1__KIND__KIND_DOCUMENT:
    case MLAUDIT__V1__KIND__KIND_IMPORT: return true;
    default: return false;
    }
}

/* Every entry of type:name (and, for versions, their evaluations), by seq. */
static int history_collect(cli_ctx *ctx, rows *rs, const char *type, const char *name)
{
    mla_client_query q;
    memset(&q, 0, sizeof q);
    q.subject_type = type;
    q.subject_name = name;
    int code = cli_query_each(ctx, &q, 0, take_subject_row, rs);
    if (code != CLI_EXIT_OK) return code;
    size_t n_subject = rs->n;
    for (size_t i = 0; i < n_subject && !rs->truncated; i++) {
        const row *w = &rs->v[i];
        /* Only models are evaluated (an EVALUATION's evaluated-model). */
        if (w->r.kind != MLAUDIT__V1__KIND__KIND_MODEL) continue;
        bool seen = false; /* one lineage call per version */
        for (size_t j = 0; j < i && !seen; j++)
            seen = rs->v[j].r.change && kind_defines(rs->v[j].r.kind) &&
                   !strcmp(rs->v[j].version, w->version);
        if (seen) continue;
        /* Adding rows may move rs->v, and w with it, but not the decoded
         * change w's subject belongs to. */
        if ((code = add_evaluations(ctx, rs, w->r.change->subject)) != CLI_EXIT_OK) return code;
    }
    if (rs->n) qsort(rs->v, rs->n, sizeof *rs->v, by_seq);
    return CLI_EXIT_OK;
}

/* ---- metrics with deltas --------------------------------------------------- */

/* The latest value of metric m for each version so far, versions in order of
 * first appearance: {"versions": [v...], "metrics": {v: {m: value}}}. */
typedef struct metric_book {
    json_t *order; /* array of version strings */
    json_t *values; /* version -> {metric: value} */
} metric_book;

/* The value of m for the latest version before `version` that has it. */
static bool baseline(const metric_book *b, const char *version, const char *m, double *out,
                     const char **from)
{
    size_t n = json_array_size(b->order), self = n;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(json_string_value(json_array_get(b->order, i)), version)) self = i;
    for (size_t i = self; i-- > 0;) {
        const char *v = json_string_value(json_array_get(b->order, i));
        json_t *x = json_object_get(json_object_get(b->values, v), m);
        if (x) {
            *out = json_real_value(x);
            *from = v;
            return true;
        }
    }
    return false;
}

static void book_note(metric_book *b, const char *version, const mla_pb_change *c)
{
    json_t *vals = json_object_get(b->values, version);
    if (!vals) {
        json_array_append_new(b->order, json_string(version));
        vals = json_object();
        json_object_set_new(b->values, version, vals);
    }
    for (size_t i = 0; vals && i < c->n_metrics; i++)
        json_object_set_new(vals, c->metrics[i]->key, json_real(c->metrics[i]->value));
}

/* Metrics of a row as text ("accuracy 0.912 (+0.004), loss 0.2 (-0.01)") or
 * JSON; the book then learns them. */
static json_t *row_metrics(metric_book *b, const row *w, char *text, size_t cap)
{
    const mla_pb_change *c = w->r.change;
    json_t *j = json_object();
    size_t off = 0;
    if (cap) text[0] = '\0';
    for (size_t i = 0; c && i < c->n_metrics; i++) {
        const char *m = c->metrics[i]->key;
        double v = c->metrics[i]->value, prev;
        const char *from;
        char num[40], delta[80] = "";
        cli_fmt_double(num, v);
        json_t *mj = json_pack("{s:f}", "value", v);
        if (baseline(b, w->version, m, &prev, &from)) {
            double d = v - prev;
            bool worse = cli_metric_lower_is_better(m) ? d > 0 : d < 0;
            char dd[48];
            cli_fmt_delta(dd, prev, v);
            snprintf(delta, sizeof delta, " (%s%s)", dd, worse && d != 0 ? ", worse" : "");
            if (mj) {
                json_object_set_new(mj, "delta", json_real(d));
                json_object_set_new(mj, "previous_version", json_string(from));
                json_object_set_new(mj, "worse", json_boolean(worse && d != 0));
            }
        }
        if (j && mj) json_object_set_new(j, m, mj);
        int n = snprintf(text + off, off < cap ? cap - off : 0, "%s%s %s%s", i ? ", " : "", m, num,
                         delta);
        if (n > 0) off += (size_t)n;
    }
    if (c && c->n_metrics) book_note(b, w->version, c);
    return j;
}

/* What a row did, beyond its kind: "on fraud-api (production, 100%)". */
static void row_detail(char *out, size_t cap, const mla_pb_change *c)
{
    out[0] = '\0';
    if (!c) return;
    if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT)
        snprintf(out, cap, "on %s (%s, %g%%)", c->deployment->target,
                 c->deployment->stage && *c->deployment->stage ? c->deployment->stage : "-",
                 c->deployment->traffic_fraction * 100);
    else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK)
        snprintf(out, cap, "on %s", c->rollback->target);
    else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_APPROVAL && c->approval->scope &&
             *c->approval->scope)
        snprintf(out, cap, "for %s", c->approval->scope);
}

static const cli_flag history_flags[] = {
    {"type", 0, "TYPE", false,
     "the artifact type (model, dataset, ...); default: whichever type has the name"},
    {NULL, 0, NULL, false, NULL},
};

static int count_one(cli_ctx *ctx, void *arg, cli_rec *r)
{
    (void)ctx, (void)r;
    *(size_t *)arg += 1;
    return CLI_STOP;
}

/* Without --type: the one type under which NAME is recorded. */
static int guess_type(cli_ctx *ctx, const char *name, const char **type)
{
    static const char *const types[] = {"model",       "dataset",    "code",    "config",
                                        "environment", "evaluation", "document"};
    const char *found[sizeof types / sizeof types[0]];
    size_t n_found = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        mla_client_query q;
        memset(&q, 0, sizeof q);
        q.subject_type = types[i];
        q.subject_name = name;
        q.page_size = 1;
        size_t n = 0;
        int code = cli_query_each(ctx, &q, 1, count_one, &n);
        if (code != CLI_EXIT_OK) return code;
        if (n) found[n_found++] = types[i];
    }
    if (n_found == 1) {
        *type = found[0];
        return CLI_EXIT_OK;
    }
    if (!n_found)
        return cli_fail(ctx, CLI_EXIT_REFUSED,
                        "NAME: nothing named \"%s\" is recorded as a model, dataset, code, "
                        "config, environment, evaluation or document (another type? pass --type)",
                        name);
    char list[128] = "";
    for (size_t i = 0, off = 0; i < n_found; i++) {
        int n = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", found[i]);
        if (n > 0) off += (size_t)n;
    }
    return cli_usage(ctx, "NAME: \"%s\" is recorded under several types (%s): pass --type", name,
                     list);
}

static int history_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx, "NAME: required — one artifact name (e.g. fraud-detector)");
    const char *name = ctx->pos[0], *type = cli_opt(ctx, "type");
    if (!*name || strlen(name) > MLA_LIMIT_NAME)
        return cli_usage(ctx, "NAME: want 1 to %d bytes", MLA_LIMIT_NAME);
    if (strchr(name, '@') || strchr(name, ':'))
        return cli_usage(ctx,
                         "NAME: \"%s\": give the name alone (e.g. fraud-detector), not "
                         "type:name@version",
                         name);
    if (type && (!*type || strlen(type) > MLA_LIMIT_NAME))
        return cli_usage(ctx, "--type: want 1 to %d bytes", MLA_LIMIT_NAME);
    rows rs;
    memset(&rs, 0, sizeof rs);
    metric_book book = {json_array(), json_object()};
    json_t *arr = NULL;
    int code = cli_connect(ctx);
    if (code != CLI_EXIT_OK) goto out;
    if (!book.order || !book.values || !(arr = json_array())) {
        code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        goto out;
    }
    if (!type && (code = guess_type(ctx, name, &type)) != CLI_EXIT_OK) goto out;
    if ((code = history_collect(ctx, &rs, type, name)) != CLI_EXIT_OK) goto out;
    if (!rs.n) {
        code = cli_fail(ctx, CLI_EXIT_REFUSED, "NAME: nothing named %s:%s is recorded", type, name);
        goto out;
    }
    size_t n_versions = 0;
    for (size_t i = 0; i < rs.n; i++) {
        bool first = rs.v[i].r.change && kind_defines(rs.v[i].r.kind) && !rs.v[i].eval;
        for (size_t j = 0; first && j < i; j++)
            if (rs.v[j].r.change && kind_defines(rs.v[j].r.kind) && !rs.v[j].eval &&
                !strcmp(rs.v[j].version, rs.v[i].version))
                first = false;
        n_versions += first;
    }
    if (!ctx->json) {
        printf("%s:%s — %zu version%s, %zu entr%s\n", type, name, n_versions,
               n_versions == 1 ? "" : "s", rs.n, rs.n == 1 ? "y" : "ies");
        printf("%-14s  %-11s  %-6s  %-30s  %-12s  %s\n", "VERSION", "KIND", "SEQ", "TIME", "ACTOR",
               "REASON");
    }
    for (size_t i = 0; i < rs.n; i++) {
        const row *w = &rs.v[i];
        const mla_pb_change *c = w->r.change;
        char mtext[4096], detail[CLI_IDENTITY_MAX + 64];
        json_t *mj = row_metrics(&book, w, mtext, sizeof mtext);
        row_detail(detail, sizeof detail, c);
        const char *kind = c ? mla_codec_kind_name(c->kind) : (w->r.entry ? "FOREIGN" : "REDACTED");
        if (ctx->json) {
            json_t *j = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)w->r.seq, "time",
                                  w->r.time, "kind", kind, "version", w->version);
            if (j && w->eval) json_object_set_new(j, "evaluation", json_string(w->r.subject));
            if (j && c) {
                json_object_set_new(j, "actor", json_string(c->actor ? c->actor : ""));
                json_object_set_new(j, "reason", json_string(c->reason ? c->reason : ""));
                const char *t = mla_codec_change_target(c);
                if (t) json_object_set_new(j, "target", json_string(t));
                if (c->n_metrics) json_object_set(j, "metrics", mj);
            }
            json_array_append_new(arr, j);
        } else {
            printf("%-14s  %-11s  %-6llu  %-30s  %-12s  %s%s%s\n", w->version[0] ? w->version : "-",
                   kind, (unsigned long long)w->r.seq, w->r.time,
                   c && c->actor && *c->actor ? c->actor : "-", c && c->reason ? c->reason : "",
                   detail[0] ? "  " : "", detail);
            if (w->eval) printf("%-14s  evaluation %s\n", "", w->r.subject);
            if (mtext[0]) printf("%-14s  metrics: %s\n", "", mtext);
        }
        json_decref(mj);
    }
    if (ctx->json) {
        cli_json_print(json_pack("{s:s,s:s,s:I,s:o,s:b}", "type", type, "name", name, "versions",
                                 (json_int_t)n_versions, "entries", arr, "truncated",
                                 (int)rs.truncated));
        arr = NULL;
    } else {
        fflush(stdout);
        fprintf(stderr, "%s; every entry proven included in the signed checkpoint\n",
                rs.truncated ? "the first 100000 entries" : "all entries");
    }
out:
    json_decref(arr);
    json_decref(book.order);
    json_decref(book.values);
    rows_dispose(&rs);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_history = {
    "history",
    "history NAME [--type T]",
    "Every version of an artifact name, in order, with metrics and their change per version.",
    "Lists each entry about type:NAME (any version): the version, kind, seq, time, actor and\n"
    "reason, what a deployment or rollback did, and EVALUATION entries of each version. Each\n"
    "metric is shown with its change against the latest earlier version that had it, e.g.\n"
    "\"accuracy 0.912 (+0.004)\", marked \"worse\" when it went the wrong way (lower is better\n"
    "for names containing loss, latency or error; higher otherwise). Without --type, the one\n"
    "type the name is recorded under is used. A name never recorded is refused (exit 3).\n",
    history_flags,
    true,
    history_run,
};

/* ---- diff ------------------------------------------------------------------------ */

typedef struct side {
    const char *identity;
    rows rs; /* the defining entry first, then its evaluations */
    const mla_pb_change *c; /* the defining change */
    json_t *fields; /* field -> text value */
    json_t *metrics; /* metric -> number (evaluations override the change's) */
} side;

static int take_defining(cli_ctx *ctx, void *arg, cli_rec *r)
{
    if (!r->change || !kind_defines(r->kind)) return CLI_EXIT_OK;
    int code = take_subject_row(ctx, arg, r);
    return code == CLI_EXIT_OK ? CLI_STOP : code;
}

static int side_load(cli_ctx *ctx, side *s, const char *what)
{
    cli_arena a = {NULL, 0, 0};
    mla_pb_artifact *art;
    if (cli_artifact_parse(&art, &a, s->identity, what) != MLA_OK) {
        cli_arena_free(&a);
        return cli_usage(ctx, "%s", mla_error_last()->msg);
    }
    mla_client_query q;
    memset(&q, 0, sizeof q);
    q.subject_type = art->type;
    q.subject_name = art->name;
    q.subject_version = art->version;
    int code = cli_query_each(ctx, &q, 0, take_defining, &s->rs);
    cli_arena_free(&a);
    if (code != CLI_EXIT_OK) return code;
    if (!s->rs.n)
        return cli_fail(ctx, CLI_EXIT_REFUSED,
                        "%s: %s was never recorded (check the type, name and version: mlaudit "
                        "history NAME)",
                        what, s->identity);
    if (s->rs.v[0].r.kind == MLAUDIT__V1__KIND__KIND_MODEL &&
        (code = add_evaluations(ctx, &s->rs, s->rs.v[0].r.change->subject)) != CLI_EXIT_OK)
        return code;
    qsort(s->rs.v + 1, s->rs.n - 1, sizeof *s->rs.v, by_seq);
    s->c = s->rs.v[0].r.change;
    s->fields = json_object();
    s->metrics = json_object();
    if (!s->fields || !s->metrics) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
    const mla_pb_change *c = s->c;
    json_object_set_new(s->fields, "kind", json_string(mla_codec_kind_name(c->kind)));
    if (c->subject && c->subject->digest.len == 32) {
        char h[CLI_DIGEST_TEXT_LEN];
        cli_digest_text(h, c->subject->digest);
        json_object_set_new(s->fields, "digest", json_string(h));
    }
    if (c->subject && c->subject->uri && *c->subject->uri)
        json_object_set_new(s->fields, "uri", json_string(c->subject->uri));
    for (size_t i = 0; i < c->n_inputs; i++) {
        char key[MLA_LIMIT_NAME + 16], id[CLI_IDENTITY_MAX];
        snprintf(key, sizeof key, "input %s", c->inputs[i]->role);
        cli_artifact_identity(id, c->inputs[i]->artifact);
        const char *prev = json_string_value(json_object_get(s->fields, key));
        if (prev) {
            /* Several inputs in one role: listed together. */
            size_t n = strlen(prev) + strlen(id) + 3;
            char *both = mla_malloc(n);
            if (!both) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
            snprintf(both, n, "%s, %s", prev, id);
            json_object_set_new(s->fields, key, json_string(both));
            mla_free(both);
        } else {
            json_object_set_new(s->fields, key, json_string(id));
        }
    }
    for (size_t i = 0; i < c->n_attributes; i++) {
        char key[MLA_LIMIT_ATTRIBUTE_KEY + 16];
        snprintf(key, sizeof key, "attr %s", c->attributes[i]->key);
        json_object_set_new(s->fields, key, json_string(c->attributes[i]->value));
    }
    for (size_t r = 0; r < s->rs.n; r++) {
        const mla_pb_change *m = s->rs.v[r].r.change;
        for (size_t i = 0; m && i < m->n_metrics; i++)
            json_object_set_new(s->metrics, m->metrics[i]->key, json_real(m->metrics[i]->value));
    }
    return CLI_EXIT_OK;
}

static void side_dispose(side *s)
{
    rows_dispose(&s->rs);
    json_decref(s->fields);
    json_decref(s->metrics);
}

/* Sorted union of the keys of two objects. */
static json_t *key_union(json_t *a, json_t *b)
{
    json_t *keys = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(a, k, v) json_array_append_new(keys, json_string(k));
    json_object_foreach(b, k, v) if (!json_object_get(a, k))
        json_array_append_new(keys, json_string(k));
    size_t n = json_array_size(keys);
    /* Insertion sort: a change has at most a few hundred fields. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(json_string_value(json_array_get(keys, j - 1)),
                                           json_string_value(json_array_get(keys, j))) > 0;
             j--) {
            json_t *x = json_incref(json_array_get(keys, j - 1));
            json_array_set(keys, j - 1, json_array_get(keys, j));
            json_array_set_new(keys, j, x);
        }
    return keys;
}

static const cli_flag diff_flags[] = {
    {"all", 0, NULL, false, "show every field, not only those that differ"},
    {NULL, 0, NULL, false, NULL},
};

static int diff_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 2)
        return cli_usage(ctx, "A B: required — two artifacts type:name@version (e.g. "
                              "model:fraud-detector@2 model:fraud-detector@3)");
    int code = cli_identity_arg(ctx, "A", ctx->pos[0]);
    if (code == CLI_EXIT_OK) code = cli_identity_arg(ctx, "B", ctx->pos[1]);
    if (code != CLI_EXIT_OK) return code;
    bool all = cli_has(ctx, "all");
    side a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.identity = ctx->pos[0];
    b.identity = ctx->pos[1];
    json_t *fkeys = NULL, *mkeys = NULL, *diffs = json_array();
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    if ((code = side_load(ctx, &a, "A")) != CLI_EXIT_OK) goto out;
    if ((code = side_load(ctx, &b, "B")) != CLI_EXIT_OK) goto out;
    fkeys = key_union(a.fields, b.fields);
    mkeys = key_union(a.metrics, b.metrics);
    if (!fkeys || !mkeys || !diffs) {
        code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        goto out;
    }
    size_t n_diff = 0;
    if (!ctx->json) {
        printf("%-28s  %-44s  %s\n", "", a.identity, b.identity);
        char ea[80], eb[80];
        snprintf(ea, sizeof ea, "seq %llu (%s)", (unsigned long long)a.rs.v[0].r.seq,
                 a.rs.v[0].r.time);
        snprintf(eb, sizeof eb, "seq %llu (%s)", (unsigned long long)b.rs.v[0].r.seq,
                 b.rs.v[0].r.time);
        printf("%-28s  %-44s  %s\n", "recorded", ea, eb);
    }
    size_t i;
    json_t *kj;
    json_array_foreach(fkeys, i, kj)
    {
        const char *k = json_string_value(kj);
        const char *va = json_string_value(json_object_get(a.fields, k));
        const char *vb = json_string_value(json_object_get(b.fields, k));
        bool same = va && vb && !strcmp(va, vb);
        n_diff += !same;
        if (same && !all) continue;
        if (ctx->json) {
            json_t *d = json_pack("{s:s,s:b}", "field", k, "differs", !same);
            if (d) json_object_set_new(d, "a", va ? json_string(va) : json_null());
            if (d) json_object_set_new(d, "b", vb ? json_string(vb) : json_null());
            json_array_append_new(diffs, d);
        } else {
            printf("%-28s  %-44s  %s\n", k, va ? va : "(none)", vb ? vb : "(none)");
        }
    }
    json_array_foreach(mkeys, i, kj)
    {
        const char *k = json_string_value(kj);
        json_t *ja = json_object_get(a.metrics, k), *jb = json_object_get(b.metrics, k);
        bool same = ja && jb && json_real_value(ja) == json_real_value(jb);
        n_diff += !same;
        if (same && !all) continue;
        char na[40] = "(none)", nb[96] = "(none)", label[MLA_LIMIT_ATTRIBUTE_KEY + 16];
        snprintf(label, sizeof label, "metric %s", k);
        if (ja) cli_fmt_double(na, json_real_value(ja));
        if (jb) cli_fmt_double(nb, json_real_value(jb));
        double delta = ja && jb ? json_real_value(jb) - json_real_value(ja) : 0;
        bool worse = cli_metric_lower_is_better(k) ? delta > 0 : delta < 0;
        if (ja && jb && delta != 0) {
            char d[48];
            cli_fmt_delta(d, json_real_value(ja), json_real_value(jb));
            size_t l = strlen(nb);
            snprintf(nb + l, sizeof nb - l, " (%s%s)", d, worse ? ", worse" : "");
        }
        if (ctx->json) {
            json_t *d = json_pack("{s:s,s:b}", "field", label, "differs", !same);
            if (d) json_object_set(d, "a", ja ? ja : json_null());
            if (d) json_object_set(d, "b", jb ? jb : json_null());
            if (d && ja && jb) json_object_set_new(d, "delta", json_real(delta));
            if (d && ja && jb) json_object_set_new(d, "worse", json_boolean(worse && delta != 0));
            json_array_append_new(diffs, d);
        } else {
            printf("%-28s  %-44s  %s\n", label, na, nb);
        }
    }
    if (ctx->json) {
        json_t *o = json_pack("{s:{s:s,s:I},s:{s:s,s:I},s:I,s:o}", "a", "identity", a.identity,
                              "seq", (json_int_t)a.rs.v[0].r.seq, "b", "identity", b.identity,
                              "seq", (json_int_t)b.rs.v[0].r.seq, "differences", (json_int_t)n_diff,
                              all ? "fields" : "diff", diffs);
        diffs = NULL;
        if (!o) {
            code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
            goto out;
        }
        cli_json_print(o);
    } else if (!n_diff) {
        printf("no differences in digest, inputs, attributes or metrics\n");
    } else if (!all) {
        printf("(%zu field%s differ; --all shows the others too)\n", n_diff,
               n_diff == 1 ? "" : "s");
    }
out:
    json_decref(fkeys);
    json_decref(mkeys);
    json_decref(diffs);
    side_dispose(&a);
    side_dispose(&b);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_diff = {
    "diff",
    "diff A B [--all]",
    "Two artifact versions side by side: digest, inputs by role, attributes, metrics.",
    "A and B are type:name@version. Compares the entries that recorded them (and, for\n"
    "metrics, their EVALUATION entries: an evaluation's value replaces the change's).\n"
    "Metrics show B's change against A, marked \"worse\" when it went the wrong way. Only\n"
    "differences are shown unless --all. An artifact never recorded is refused (exit 3).\n",
    diff_flags,
    true,
    diff_run,
};
