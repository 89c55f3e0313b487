/* report_json: the JSON form of a report — the model and the evidence that
 * backs it (layout in report_int.h). Written deterministically with jansson
 * (the model readable, one line per evidence entry, the range streamed from
 * its spool); read back strictly, every member checked and named, for
 * `mlaudit verify`. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "reports/report_int.h"

#define DUMP_FLAGS (JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/* ---- the model as JSON ------------------------------------------------------ */

/* A JSON string of s (NULL = ""); MLA_EINVAL naming path if not UTF-8. */
static mla_status str_new(json_t **out, const char *s, const char *path)
{
    if (!s) s = "";
    if (!mla_utf8_valid(mla_slice_cstr(s))) return mla_err(MLA_EINVAL, "%s: not UTF-8", path);
    if (!(*out = json_string(s))) return mla_err(MLA_ENOMEM, "report: out of memory");
    return MLA_OK;
}

/* Steals v (jansson drops it on failure). */
static mla_status set_new(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        return mla_err(MLA_ENOMEM, "report: out of memory");
    return MLA_OK;
}

static mla_status append_new(json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) != 0) return mla_err(MLA_ENOMEM, "report: out of memory");
    return MLA_OK;
}

static mla_status set_str(json_t *o, const char *key, const char *s, const char *path)
{
    json_t *v;
    MLA_TRY(str_new(&v, s, path));
    return set_new(o, key, v);
}

static mla_status set_seq(json_t *o, const char *key, uint64_t seq, const char *path)
{
    if (seq > (uint64_t)INT64_MAX)
        return mla_err(MLA_EINVAL, "%s: %llu is out of range", path, (unsigned long long)seq);
    return set_new(o, key, json_integer((json_int_t)seq));
}

static mla_status cell_json(json_t **out, const mla_report_cell *c, const char *path)
{
    json_t *o = json_object();
    mla_status rc =
        o ? set_str(o, "text", c->text, path) : mla_err(MLA_ENOMEM, "report: out of memory");
    if (rc == MLA_OK && c->seq != MLA_REPORT_NO_SEQ) rc = set_seq(o, "seq", c->seq, path);
    if (rc != MLA_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return MLA_OK;
}

static mla_status table_json(json_t **out, const mla_report_table *t, size_t ti)
{
    char path[96];
    json_t *o = json_object(), *cols = json_array(), *rows = json_array(), *v;
    mla_status rc = MLA_OK;
    *out = NULL;
    if (!o || !cols || !rows) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    snprintf(path, sizeof path, "tables[%zu]", ti);
    if ((rc = set_str(o, "id", t->id, path)) != MLA_OK) goto out;
    if ((rc = set_str(o, "title", t->title, path)) != MLA_OK) goto out;
    if (t->intro && (rc = set_str(o, "intro", t->intro, path)) != MLA_OK) goto out;
    for (size_t i = 0; i < t->n_cols; i++) {
        snprintf(path, sizeof path, "tables[%zu].columns[%zu]", ti, i);
        if ((rc = str_new(&v, t->cols[i], path)) != MLA_OK || (rc = append_new(cols, v)) != MLA_OK)
            goto out;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        json_t *row = json_array();
        if ((rc = append_new(rows, row)) != MLA_OK) goto out;
        for (size_t j = 0; j < t->n_cols; j++) {
            snprintf(path, sizeof path, "tables[%zu].rows[%zu][%zu]", ti, i, j);
            if ((rc = cell_json(&v, &t->cells[i * t->n_cols + j], path)) != MLA_OK ||
                (rc = append_new(row, v)) != MLA_OK)
                goto out;
        }
    }
    rc = set_new(o, "columns", cols);
    cols = NULL;
    if (rc == MLA_OK) rc = set_new(o, "rows", rows);
    rows = NULL;
    snprintf(path, sizeof path, "tables[%zu]", ti);
    if (rc == MLA_OK && t->note) rc = set_str(o, "note", t->note, path);
out:
    json_decref(cols);
    json_decref(rows);
    if (rc != MLA_OK)
        json_decref(o);
    else
        *out = o;
    return rc;
}

static mla_status graph_json(json_t **out, const mla_report_graph *g)
{
    char path[64];
    json_t *o = json_object(), *nodes = json_array(), *edges = json_array();
    mla_status rc = MLA_OK;
    *out = NULL;
    if (!o || !nodes || !edges) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    if ((rc = set_new(o, "summarised", json_boolean(g->summarised))) != MLA_OK) goto out;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const mla_report_node *n = &g->nodes[i];
        json_t *x = json_object();
        snprintf(path, sizeof path, "graph.nodes[%zu]", i);
        if ((rc = append_new(nodes, x)) != MLA_OK ||
            (rc = set_str(x, "id", n->id, path)) != MLA_OK ||
            (rc = set_str(x, "label", n->label, path)) != MLA_OK ||
            (rc = set_str(x, "type", n->type, path)) != MLA_OK ||
            (rc = set_new(x, "depth", json_integer((json_int_t)n->depth))) != MLA_OK)
            goto out;
        if (n->seq != MLA_REPORT_NO_SEQ && (rc = set_seq(x, "seq", n->seq, path)) != MLA_OK)
            goto out;
        if ((rc = set_new(x, "focus", json_boolean(n->focus))) != MLA_OK) goto out;
    }
    for (size_t i = 0; i < g->n_edges; i++) {
        const mla_report_edge *e = &g->edges[i];
        json_t *x = json_object();
        snprintf(path, sizeof path, "graph.edges[%zu]", i);
        if ((rc = append_new(edges, x)) != MLA_OK ||
            (rc = set_new(x, "from", json_integer((json_int_t)e->from))) != MLA_OK ||
            (rc = set_new(x, "to", json_integer((json_int_t)e->to))) != MLA_OK ||
            (rc = set_str(x, "role", e->role, path)) != MLA_OK)
            goto out;
        if (e->seq != MLA_REPORT_NO_SEQ && (rc = set_seq(x, "seq", e->seq, path)) != MLA_OK)
            goto out;
    }
    rc = set_new(o, "nodes", nodes);
    nodes = NULL;
    if (rc == MLA_OK) rc = set_new(o, "edges", edges);
    edges = NULL;
out:
    json_decref(nodes);
    json_decref(edges);
    if (rc != MLA_OK)
        json_decref(o);
    else
        *out = o;
    return rc;
}

mla_status mla_report__model_json(void **out, const mla_report *r)
{
    char path[48];
    json_t *o = json_object(), *params = json_object(), *summary = json_array(),
           *tables = json_array(), *v;
    mla_status rc = MLA_OK;
    *out = NULL;
    if (!o || !params || !summary || !tables) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    if ((rc = set_str(o, "title", r->title, "title")) != MLA_OK ||
        (rc = set_str(o, "generated_at", r->generated_at, "generated_at")) != MLA_OK ||
        (rc = set_str(o, "generator", r->generator, "generator")) != MLA_OK)
        goto out;
    for (size_t i = 0; i < r->n_params; i++) {
        snprintf(path, sizeof path, "params.%.32s", r->params[i].name);
        if (!mla_utf8_valid(mla_slice_cstr(r->params[i].name))) {
            rc = mla_err(MLA_EINVAL, "params: a name is not UTF-8");
            goto out;
        }
        if ((rc = set_str(params, r->params[i].name, r->params[i].value, path)) != MLA_OK) goto out;
    }
    for (size_t i = 0; i < r->n_summary; i++) {
        snprintf(path, sizeof path, "summary[%zu]", i);
        if ((rc = cell_json(&v, &r->summary[i], path)) != MLA_OK ||
            (rc = append_new(summary, v)) != MLA_OK)
            goto out;
    }
    for (size_t i = 0; i < r->n_tables; i++)
        if ((rc = table_json(&v, &r->tables[i], i)) != MLA_OK ||
            (rc = append_new(tables, v)) != MLA_OK)
            goto out;
    rc = set_new(o, "params", params);
    params = NULL;
    if (rc == MLA_OK) rc = set_new(o, "summary", summary);
    summary = NULL;
    if (rc == MLA_OK) rc = set_new(o, "tables", tables);
    tables = NULL;
    if (rc == MLA_OK && (rc = graph_json(&v, &r->graph)) == MLA_OK) rc = set_new(o, "graph", v);
out:
    json_decref(params);
    json_decref(summary);
    json_decref(tables);
    if (rc != MLA_OK)
        json_decref(o);
    else
        *out = o;
    return rc;
}

/* ---- writing ------------------------------------------------------------------ */

/* Output through jansson's dump callback: rewrites '<' '>' '&' for HTML
 * (they occur only inside strings, so \uXXXX is exact), and indents
 * continuation lines of a nested value by the depth it sits at. */
typedef struct writer {
    FILE *out;
    bool escape;
    unsigned indent;
    bool failed;
} writer;

static void put(writer *w, const char *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->out) != n) w->failed = true;
}

static int emit(const char *buf, size_t size, void *ctx)
{
    writer *w = ctx;
    static const char spaces[] = "                                ";
    size_t start = 0;
    for (size_t i = 0; i < size; i++) {
        const char *rep = NULL;
        char c = buf[i];
        if (w->escape && c == '<')
            rep = "\\u003c";
        else if (w->escape && c == '>')
            rep = "\\u003e";
        else if (w->escape && c == '&')
            rep = "\\u0026";
        else if (c != '\n' || w->indent == 0)
            continue;
        put(w, buf + start, i - start);
        start = i + 1;
        if (rep) {
            put(w, rep, 6);
        } else {
            put(w, "\n", 1);
            put(w, spaces, w->indent < sizeof spaces - 1 ? w->indent : sizeof spaces - 1);
        }
    }
    put(w, buf + start, size - start);
    return w->failed ? -1 : 0;
}

static void text(writer *w, const char *s) { emit(s, strlen(s), w); }

static mla_status value(writer *w, const json_t *v, size_t flags)
{
    if (json_dump_callback(v, emit, w, flags | DUMP_FLAGS) != 0 && !w->failed)
        return mla_err(MLA_ENOMEM, "report: out of memory");
    return MLA_OK;
}

/* `"key": value` at depth 1, readable. */
static mla_status member(writer *w, const char *key, const json_t *v, bool last)
{
    text(w, " \"");
    text(w, key);
    text(w, "\": ");
    w->indent = 1;
    mla_status rc = value(w, v, JSON_INDENT(1));
    w->indent = 0;
    text(w, last ? "\n" : ",\n");
    return rc;
}

static mla_status hex_new(json_t **out, const mla_hash *h)
{
    char hex[65];
    mla_hex_encode_to(hex, h->b, 32);
    if (!(*out = json_string(hex))) return mla_err(MLA_ENOMEM, "report: out of memory");
    return MLA_OK;
}

static mla_status proof_new(json_t **out, const mla_merkle_proof *p)
{
    json_t *a = json_array(), *v;
    if (!a) return mla_err(MLA_ENOMEM, "report: out of memory");
    for (size_t i = 0; i < p->n; i++) {
        mla_status rc = hex_new(&v, &p->h[i]);
        if (rc == MLA_OK) rc = append_new(a, v);
        if (rc != MLA_OK) {
            json_decref(a);
            return rc;
        }
    }
    *out = a;
    return MLA_OK;
}

static mla_status log_json(json_t **out, const mla_report *r)
{
    const mla_report_evidence *ev = &r->ev;
    mla_buf vkey;
    json_t *o = json_object(), *keys = json_array(), *v;
    mla_status rc = MLA_OK;
    mla_buf_init(&vkey, 0);
    *out = NULL;
    if (!o || !keys) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    if ((rc = mla_report__verifier_key(&vkey, r)) != MLA_OK ||
        (rc = set_str(o, "verifier_key", (const char *)vkey.ptr, "log.verifier_key")) != MLA_OK)
        goto out;
    if (!mla_utf8_valid(mla_buf_slice(&ev->checkpoint))) {
        rc = mla_err(MLA_EINVAL, "log.checkpoint: not UTF-8");
        goto out;
    }
    if ((rc = set_new(o, "checkpoint",
                      json_stringn((const char *)ev->checkpoint.ptr, ev->checkpoint.len))) !=
            MLA_OK ||
        (rc = set_seq(o, "tree_size", ev->cp.size, "log.tree_size")) != MLA_OK ||
        (rc = hex_new(&v, &ev->cp.root)) != MLA_OK || (rc = set_new(o, "root", v)) != MLA_OK)
        goto out;
    for (size_t i = 0; i < ev->n_admin_keys; i++) {
        char hex[65];
        mla_hex_encode_to(hex, ev->admin_keys[i].b, 32);
        if ((rc = append_new(keys, json_string(hex))) != MLA_OK) goto out;
    }
    rc = set_new(o, "admin_keys", keys);
    keys = NULL;
out:
    mla_buf_dispose(&vkey);
    json_decref(keys);
    if (rc != MLA_OK)
        json_decref(o);
    else
        *out = o;
    return rc;
}

static mla_status entry_line(writer *w, const mla_report_entry *e, mla_buf *b64)
{
    json_t *o = json_object(), *v;
    mla_status rc = o ? MLA_OK : mla_err(MLA_ENOMEM, "report: out of memory");
    mla_buf_clear(b64);
    if (rc == MLA_OK) rc = set_seq(o, "seq", e->seq, "evidence.entries.seq");
    if (rc == MLA_OK && (rc = hex_new(&v, &e->leaf)) == MLA_OK) rc = set_new(o, "leaf_hash", v);
    if (rc == MLA_OK && (rc = mla_base64_encode(b64, mla_buf_slice(&e->bytes))) == MLA_OK)
        rc = set_new(o, "entry", json_stringn((const char *)b64->ptr, b64->len));
    if (rc == MLA_OK && (rc = proof_new(&v, &e->proof)) == MLA_OK) rc = set_new(o, "inclusion", v);
    if (rc == MLA_OK) rc = value(w, o, 0);
    json_decref(o);
    return rc;
}

typedef struct range_out {
    writer *w;
    mla_buf *b64;
    bool first;
} range_out;

static mla_status range_line(void *ctx, uint64_t seq, mla_slice bytes)
{
    range_out *x = ctx;
    (void)seq;
    mla_buf_clear(x->b64);
    MLA_TRY(mla_base64_encode(x->b64, bytes));
    text(x->w, x->first ? "\n   \"" : ",\n   \"");
    x->first = false;
    put(x->w, (const char *)x->b64->ptr, x->b64->len); /* base64: nothing to escape */
    text(x->w, "\"");
    return x->w->failed ? mla_err(MLA_EIO, "report: writing failed") : MLA_OK;
}

static mla_status evidence_write(writer *w, const mla_report *r)
{
    const mla_report_evidence *ev = &r->ev;
    mla_buf b64;
    mla_status rc = MLA_OK;
    mla_buf_init(&b64, 4 * MLA_LIMIT_RPC_BYTES / 3 + 8);
    text(w, " \"evidence\": {\n  \"entries\": [");
    for (size_t i = 0; i < ev->n_entries && rc == MLA_OK; i++) {
        text(w, i ? ",\n   " : "\n   ");
        rc = entry_line(w, &ev->entries[i], &b64);
    }
    text(w, ev->n_entries ? "\n  ]" : "]");
    if (rc == MLA_OK && ev->has_range) {
        char head[96];
        json_t *p = NULL;
        snprintf(head, sizeof head,
                 ",\n  \"range\": {\"first\": %llu, \"last\": %llu, \"inclusion\": ",
                 (unsigned long long)ev->range_first, (unsigned long long)ev->range_last);
        text(w, head);
        if ((rc = proof_new(&p, &ev->range_proof)) == MLA_OK) rc = value(w, p, 0);
        json_decref(p);
        text(w, ", \"entries\": [");
        range_out x = {w, &b64, true};
        if (rc == MLA_OK) rc = mla_report__range_each_raw(r, range_line, &x);
        text(w, x.first ? "]}" : "\n  ]}");
    }
    if (rc == MLA_OK && ev->has_resolution) {
        mla_buf_clear(&b64);
        if ((rc = mla_base64_encode(&b64, mla_buf_slice(&ev->resolution_wire))) == MLA_OK) {
            text(w, ",\n  \"resolution\": \"");
            put(w, (const char *)b64.ptr, b64.len);
            text(w, "\"");
        }
    }
    text(w, "\n }\n");
    mla_buf_dispose(&b64);
    return rc;
}

mla_status mla_report__json_write(const mla_report *r, FILE *out, bool escape_markup)
{
    writer w = {out, escape_markup, 0, false};
    json_t *model = NULL, *log = NULL, *version = NULL, *kindv = NULL;
    const char *kind = mla_report_kind_name(r->kind);
    mla_status rc;
    void *m;
    if (!kind) return mla_err(MLA_EINVAL, "kind: %d is not a report kind", (int)r->kind);
    if ((rc = mla_report__model_json(&m, r)) != MLA_OK) return rc;
    model = m;
    if ((rc = log_json(&log, r)) != MLA_OK) goto out;
    version = json_integer(MLA_REPORT_FORMAT_VERSION);
    kindv = json_string(kind);
    if (!version || !kindv) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    text(&w, "{\n");
    if ((rc = member(&w, "mlaudit_report", version, false)) != MLA_OK) goto out;
    if ((rc = member(&w, "kind", kindv, false)) != MLA_OK) goto out;
    static const char *const head[] = {"title", "generated_at", "generator", "params"};
    static const char *const tail[] = {"summary", "tables", "graph"};
    for (size_t i = 0; i < sizeof head / sizeof *head && rc == MLA_OK; i++)
        rc = member(&w, head[i], json_object_get(model, head[i]), false);
    if (rc == MLA_OK) rc = member(&w, "log", log, false);
    for (size_t i = 0; i < sizeof tail / sizeof *tail && rc == MLA_OK; i++)
        rc = member(&w, tail[i], json_object_get(model, tail[i]), false);
    if (rc == MLA_OK) rc = evidence_write(&w, r);
    text(&w, "}\n");
out:
    json_decref(version);
    json_decref(kindv);
    json_decref(model);
    json_decref(log);
    if (rc == MLA_OK && (w.failed || ferror(out))) rc = mla_err(MLA_EIO, "report: writing failed");
    return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

/* Refuse members other than those named (a NULL-ended list). */
static mla_status only(const json_t *o, const char *path, const char *const *names)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)o, key, v)
    {
        size_t i = 0;
        while (names[i] && strcmp(names[i], key) != 0) i++;
        if (!names[i])
            return mla_err(MLA_EINVAL, "%s%s%.64s: not a member of the report format", path,
                           *path ? "." : "", key);
    }
    return MLA_OK;
}

static mla_status get(json_t **out, const json_t *o, const char *path, const char *key,
                      bool required)
{
    *out = json_object_get(o, key);
    if (!*out && required)
        return mla_err(MLA_EINVAL, "%s%s%s: missing", path, *path ? "." : "", key);
    return MLA_OK;
}

static mla_status object(json_t **out, const json_t *o, const char *path, const char *key)
{
    MLA_TRY(get(out, o, path, key, true));
    if (!json_is_object(*out))
        return mla_err(MLA_EINVAL, "%s%s%s: not an object", path, *path ? "." : "", key);
    return MLA_OK;
}

static mla_status array(json_t **out, const json_t *o, const char *path, const char *key)
{
    MLA_TRY(get(out, o, path, key, true));
    if (!json_is_array(*out))
        return mla_err(MLA_EINVAL, "%s%s%s: not an array", path, *path ? "." : "", key);
    return MLA_OK;
}

static mla_status string(const char **out, const json_t *o, const char *path, const char *key,
                         bool required)
{
    json_t *v;
    *out = NULL;
    MLA_TRY(get(&v, o, path, key, required));
    if (!v) return MLA_OK;
    if (!json_is_string(v))
        return mla_err(MLA_EINVAL, "%s%s%s: not a string", path, *path ? "." : "", key);
    *out = json_string_value(v);
    return MLA_OK;
}

static mla_status boolean(const json_t *o, const char *path, const char *key)
{
    json_t *v;
    MLA_TRY(get(&v, o, path, key, true));
    if (!json_is_boolean(v))
        return mla_err(MLA_EINVAL, "%s%s%s: not true or false", path, *path ? "." : "", key);
    return MLA_OK;
}

static mla_status integer(uint64_t *out, bool *present, const json_t *o, const char *path,
                          const char *key)
{
    json_t *v;
    MLA_TRY(get(&v, o, path, key, present == NULL));
    if (present) *present = v != NULL;
    if (!v) return MLA_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return mla_err(MLA_EINVAL, "%s%s%s: not a non-negative integer", path, *path ? "." : "",
                       key);
    *out = (uint64_t)json_integer_value(v);
    return MLA_OK;
}

static mla_status hash(mla_hash *out, const json_t *v, const char *path)
{
    if (!json_is_string(v) || json_string_length(v) != 64 ||
        mla_hash_from_hex(out, mla_slice_make(json_string_value(v), 64), path) != MLA_OK)
        return mla_err(MLA_EINVAL, "%s: not 64 hex digits", path);
    return MLA_OK;
}

static mla_status proof(mla_merkle_proof *out, const json_t *o, const char *path)
{
    char p[128];
    json_t *a;
    MLA_TRY(get(&a, o, path, "inclusion", true));
    if (!json_is_array(a) || json_array_size(a) > MLA_MERKLE_PROOF_MAX)
        return mla_err(MLA_EINVAL, "%s.inclusion: want an array of at most %d hashes", path,
                       MLA_MERKLE_PROOF_MAX);
    out->n = json_array_size(a);
    for (size_t i = 0; i < out->n; i++) {
        snprintf(p, sizeof p, "%s.inclusion[%zu]", path, i);
        MLA_TRY(hash(&out->h[i], json_array_get(a, i), p));
    }
    return MLA_OK;
}

static mla_status base64(mla_buf *out, const json_t *v, const char *path)
{
    mla_buf_clear(out);
    if (!json_is_string(v)) return mla_err(MLA_EINVAL, "%s: not a string", path);
    mla_status rc =
        mla_base64_decode(out, mla_slice_make(json_string_value(v), json_string_length(v)), path);
    if (rc == MLA_ELIMIT) return mla_err(MLA_EINVAL, "%s: more than %zu bytes", path, out->max);
    if (rc == MLA_EINVAL) return mla_err(MLA_EINVAL, "%s: not canonical base64", path);
    return rc;
}

/* A cell or statement: {"text", "seq"?}. */
static mla_status cell_check(const json_t *c, const char *path)
{
    const char *s;
    uint64_t seq;
    bool has;
    static const char *const names[] = {"text", "seq", NULL};
    if (!json_is_object(c)) return mla_err(MLA_EINVAL, "%s: not an object", path);
    MLA_TRY(only(c, path, names));
    MLA_TRY(string(&s, c, path, "text", true));
    return integer(&seq, &has, c, path, "seq");
}

static bool anchor_ok(const char *id)
{
    if (!*id) return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) return false;
    return true;
}

static mla_status table_check(const json_t *t, const char *path)
{
    static const char *const names[] = {"id", "title", "intro", "columns", "rows", "note", NULL};
    char p[128];
    const char *s;
    json_t *cols, *rows;
    if (!json_is_object(t)) return mla_err(MLA_EINVAL, "%s: not an object", path);
    MLA_TRY(only(t, path, names));
    MLA_TRY(string(&s, t, path, "id", true));
    if (!anchor_ok(s)) return mla_err(MLA_EINVAL, "%s.id: want [a-z0-9-]+", path);
    MLA_TRY(string(&s, t, path, "title", true));
    MLA_TRY(string(&s, t, path, "intro", false));
    MLA_TRY(string(&s, t, path, "note", false));
    MLA_TRY(array(&cols, t, path, "columns"));
    if (json_array_size(cols) == 0) return mla_err(MLA_EINVAL, "%s.columns: empty", path);
    for (size_t i = 0; i < json_array_size(cols); i++)
        if (!json_is_string(json_array_get(cols, i)))
            return mla_err(MLA_EINVAL, "%s.columns[%zu]: not a string", path, i);
    MLA_TRY(array(&rows, t, path, "rows"));
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        if (!json_is_array(row) || json_array_size(row) != json_array_size(cols))
            return mla_err(MLA_EINVAL, "%s.rows[%zu]: want an array of %zu cells", path, i,
                           json_array_size(cols));
        for (size_t j = 0; j < json_array_size(row); j++) {
            snprintf(p, sizeof p, "%s.rows[%zu][%zu]", path, i, j);
            MLA_TRY(cell_check(json_array_get(row, j), p));
        }
    }
    return MLA_OK;
}

static mla_status graph_check(const json_t *doc)
{
    static const char *const names[] = {"summarised", "nodes", "edges", NULL};
    static const char *const node_names[] = {"id", "label", "type", "depth", "seq", "focus", NULL};
    static const char *const edge_names[] = {"from", "to", "role", "seq", NULL};
    char p[64];
    const char *s;
    uint64_t u;
    bool has;
    json_t *g, *nodes, *edges;
    MLA_TRY(object(&g, doc, "", "graph"));
    MLA_TRY(only(g, "graph", names));
    MLA_TRY(boolean(g, "graph", "summarised"));
    MLA_TRY(array(&nodes, g, "graph", "nodes"));
    MLA_TRY(array(&edges, g, "graph", "edges"));
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        json_t *n = json_array_get(nodes, i);
        snprintf(p, sizeof p, "graph.nodes[%zu]", i);
        if (!json_is_object(n)) return mla_err(MLA_EINVAL, "%s: not an object", p);
        MLA_TRY(only(n, p, node_names));
        MLA_TRY(string(&s, n, p, "id", true));
        MLA_TRY(string(&s, n, p, "label", true));
        MLA_TRY(string(&s, n, p, "type", true));
        MLA_TRY(integer(&u, NULL, n, p, "depth"));
        if (u > UINT32_MAX) return mla_err(MLA_EINVAL, "%s.depth: too large", p);
        MLA_TRY(integer(&u, &has, n, p, "seq"));
        MLA_TRY(boolean(n, p, "focus"));
    }
    for (size_t i = 0; i < json_array_size(edges); i++) {
        json_t *e = json_array_get(edges, i);
        snprintf(p, sizeof p, "graph.edges[%zu]", i);
        if (!json_is_object(e)) return mla_err(MLA_EINVAL, "%s: not an object", p);
        MLA_TRY(only(e, p, edge_names));
        MLA_TRY(integer(&u, NULL, e, p, "from"));
        if (u >= json_array_size(nodes)) return mla_err(MLA_EINVAL, "%s.from: no such node", p);
        MLA_TRY(integer(&u, NULL, e, p, "to"));
        if (u >= json_array_size(nodes)) return mla_err(MLA_EINVAL, "%s.to: no such node", p);
        MLA_TRY(string(&s, e, p, "role", true));
        MLA_TRY(integer(&u, &has, e, p, "seq"));
    }
    return MLA_OK;
}

/* The model members: checked for shape only (verify compares them with
 * the rebuilt model), except what the builders read (kind, params, time). */
static mla_status model_read(mla_report *r, const json_t *doc)
{
    static const char *const names[] = {"mlaudit_report", "kind",   "title",    "generated_at",
                                        "generator",      "params", "log",      "summary",
                                        "tables",         "graph",  "evidence", NULL};
    char p[64];
    const char *s;
    uint64_t version;
    json_t *v;
    int64_t t;
    MLA_TRY(only(doc, "", names));
    MLA_TRY(integer(&version, NULL, doc, "", "mlaudit_report"));
    if (version != MLA_REPORT_FORMAT_VERSION)
        return mla_err(MLA_EINVAL, "mlaudit_report: format %llu; this mlaudit reads format %d",
                       (unsigned long long)version, MLA_REPORT_FORMAT_VERSION);
    MLA_TRY(string(&s, doc, "", "kind", true));
    MLA_TRY(mla_report_kind_parse(&r->kind, s));
    MLA_TRY(string(&s, doc, "", "title", true));
    MLA_TRY(string(&s, doc, "", "generated_at", true));
    MLA_TRY(mla_report__time_parse(&t, s, "generated_at"));
    if (!(r->generated_at = mla_report__strdup(s)))
        return mla_err(MLA_ENOMEM, "report: out of memory");
    MLA_TRY(string(&s, doc, "", "generator", true));
    if (!(r->generator = mla_report__strdup(s)))
        return mla_err(MLA_ENOMEM, "report: out of memory");
    MLA_TRY(object(&v, doc, "", "params"));
    if (json_object_size(v) > MLA_REPORT_PARAMS_MAX)
        return mla_err(MLA_EINVAL, "params: %zu exceeds limit %d", json_object_size(v),
                       MLA_REPORT_PARAMS_MAX);
    const char *key;
    json_t *pv;
    json_object_foreach(v, key, pv)
    {
        if (!json_is_string(pv)) return mla_err(MLA_EINVAL, "params.%.64s: not a string", key);
        MLA_TRY(mla_report__param_set(r, key, json_string_value(pv)));
    }
    MLA_TRY(array(&v, doc, "", "summary"));
    for (size_t i = 0; i < json_array_size(v); i++) {
        snprintf(p, sizeof p, "summary[%zu]", i);
        MLA_TRY(cell_check(json_array_get(v, i), p));
    }
    MLA_TRY(array(&v, doc, "", "tables"));
    for (size_t i = 0; i < json_array_size(v); i++) {
        snprintf(p, sizeof p, "tables[%zu]", i);
        MLA_TRY(table_check(json_array_get(v, i), p));
    }
    return graph_check(doc);
}

static mla_status log_read(mla_report *r, const json_t *doc, const mla_note_verifier *log_key)
{
    static const char *const names[] = {"verifier_key", "checkpoint", "tree_size",
                                        "root",         "admin_keys", NULL};
    char p[48];
    const char *vkey;
    json_t *log, *note, *keys, *root_j;
    uint64_t size;
    mla_hash root;
    mla_note_verifier own;
    MLA_TRY(object(&log, doc, "", "log"));
    MLA_TRY(only(log, "log", names));
    MLA_TRY(string(&vkey, log, "log", "verifier_key", true));
    MLA_TRY(get(&note, log, "log", "checkpoint", true));
    if (!json_is_string(note)) return mla_err(MLA_EINVAL, "log.checkpoint: not a string");
    MLA_TRY(integer(&size, NULL, log, "log", "tree_size"));
    MLA_TRY(get(&root_j, log, "log", "root", true));
    MLA_TRY(hash(&root, root_j, "log.root"));
    MLA_TRY(array(&keys, log, "log", "admin_keys"));
    if (json_array_size(keys) > MLA_REPORT_ADMIN_MAX)
        return mla_err(MLA_EINVAL, "log.admin_keys: %zu exceeds limit %d", json_array_size(keys),
                       MLA_REPORT_ADMIN_MAX);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        mla_hash k;
        snprintf(p, sizeof p, "log.admin_keys[%zu]", i);
        MLA_TRY(hash(&k, json_array_get(keys, i), p));
        memcpy(r->ev.admin_keys[i].b, k.b, 32);
    }
    r->ev.n_admin_keys = json_array_size(keys);
    mla_status rc = mla_note_verifier_parse(&own, mla_slice_cstr(vkey));
    if (rc != MLA_OK) return mla_report__restate(rc, "log.verifier_key");
    MLA_TRY(mla_report__evidence_checkpoint(
        r, mla_slice_make(json_string_value(note), json_string_length(note)),
        log_key ? log_key : &own));
    if (size != r->ev.cp.size)
        return mla_err(MLA_ECORRUPT,
                       "log.tree_size: the report says %llu, its signed checkpoint %llu",
                       (unsigned long long)size, (unsigned long long)r->ev.cp.size);
    if (!mla_hash_eq(&root, &r->ev.cp.root))
        return mla_err(MLA_ECORRUPT, "log.root: not the root of its signed checkpoint");
    return MLA_OK;
}

static mla_status entries_read(mla_report *r, const json_t *ev, mla_buf *bytes)
{
    static const char *const names[] = {"seq", "leaf_hash", "entry", "inclusion", NULL};
    char p[64], f[96];
    json_t *entries, *v;
    MLA_TRY(array(&entries, ev, "evidence", "entries"));
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        uint64_t seq;
        mla_hash stated, leaf;
        mla_merkle_proof pr;
        snprintf(p, sizeof p, "evidence.entries[%zu]", i);
        if (!json_is_object(e)) return mla_err(MLA_EINVAL, "%s: not an object", p);
        MLA_TRY(only(e, p, names));
        MLA_TRY(integer(&seq, NULL, e, p, "seq"));
        if (r->ev.n_entries && seq <= r->ev.entries[r->ev.n_entries - 1].seq)
            return mla_err(MLA_EINVAL, "%s.seq: %llu after %llu (entries ascend by seq, once each)",
                           p, (unsigned long long)seq,
                           (unsigned long long)r->ev.entries[r->ev.n_entries - 1].seq);
        MLA_TRY(get(&v, e, p, "leaf_hash", true));
        snprintf(f, sizeof f, "%s.leaf_hash", p);
        MLA_TRY(hash(&stated, v, f));
        MLA_TRY(get(&v, e, p, "entry", true));
        snprintf(f, sizeof f, "%s.entry", p);
        MLA_TRY(base64(bytes, v, f));
        MLA_TRY(proof(&pr, e, p));
        mla_merkle_leaf_hash(&leaf, mla_buf_slice(bytes));
        if (!mla_hash_eq(&leaf, &stated))
            return mla_err(MLA_ECORRUPT,
                           "%s: entry %llu: leaf_hash is not the hash of the entry's bytes (the "
                           "entry was altered)",
                           p, (unsigned long long)seq);
        MLA_TRY(mla_report__evidence_add(r, seq, mla_buf_slice(bytes), &pr));
    }
    return MLA_OK;
}

static mla_status range_read(mla_report *r, const json_t *ev, mla_buf *bytes, const char *spool_dir)
{
    static const char *const names[] = {"first", "last", "inclusion", "entries", NULL};
    char p[64];
    json_t *range, *entries;
    uint64_t first, last;
    MLA_TRY(get(&range, ev, "evidence", "range", false));
    if (!range) return MLA_OK;
    if (!json_is_object(range)) return mla_err(MLA_EINVAL, "evidence.range: not an object");
    MLA_TRY(only(range, "evidence.range", names));
    MLA_TRY(integer(&first, NULL, range, "evidence.range", "first"));
    MLA_TRY(integer(&last, NULL, range, "evidence.range", "last"));
    if (first > last)
        return mla_err(MLA_EINVAL, "evidence.range: first %llu is after last %llu",
                       (unsigned long long)first, (unsigned long long)last);
    MLA_TRY(proof(&r->ev.range_proof, range, "evidence.range"));
    MLA_TRY(array(&entries, range, "evidence.range", "entries"));
    if (json_array_size(entries) != last - first + 1)
        return mla_err(MLA_EINVAL, "evidence.range.entries: %zu entries for [%llu, %llu]",
                       json_array_size(entries), (unsigned long long)first,
                       (unsigned long long)last);
    MLA_TRY(mla_report__range_open(r, spool_dir));
    r->ev.range_first = first;
    r->ev.range_last = last;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        snprintf(p, sizeof p, "evidence.range.entries[%zu]", i);
        MLA_TRY(base64(bytes, json_array_get(entries, i), p));
        MLA_TRY(mla_report__range_append(r, mla_buf_slice(bytes)));
    }
    r->ev.has_range = true;
    return MLA_OK;
}

static mla_status evidence_read(mla_report *r, const json_t *doc, const char *spool_dir)
{
    static const char *const names[] = {"entries", "range", "resolution", NULL};
    json_t *ev, *res;
    mla_buf bytes;
    mla_status rc;
    MLA_TRY(object(&ev, doc, "", "evidence"));
    MLA_TRY(only(ev, "evidence", names));
    mla_buf_init(&bytes, MLA_LIMIT_ENTRY_BYTES);
    if ((rc = entries_read(r, ev, &bytes)) != MLA_OK) goto out;
    if ((rc = range_read(r, ev, &bytes, spool_dir)) != MLA_OK) goto out;
    if ((rc = get(&res, ev, "evidence", "resolution", false)) != MLA_OK || !res) goto out;
    mla_buf_dispose(&bytes);
    mla_buf_init(&bytes, MLA_LIMIT_RPC_BYTES);
    if ((rc = base64(&bytes, res, "evidence.resolution")) != MLA_OK) goto out;
    if ((rc = mla_report__evidence_resolution(r, mla_buf_slice(&bytes))) != MLA_OK)
        rc = mla_report__restate(rc, "evidence.resolution");
out:
    mla_buf_dispose(&bytes);
    return rc;
}

mla_status mla_report__json_read(mla_report **out, void **stated_out, mla_slice json,
                                 const mla_note_verifier *log_key, const char *spool_dir)
{
    json_error_t err;
    json_t *doc = NULL;
    mla_report *r = NULL;
    mla_status rc;
    *out = NULL;
    *stated_out = NULL;
    if (json.len > MLA_REPORT_FILE_MAX)
        return mla_err(MLA_EINVAL, "report: %zu bytes exceeds limit %zu", json.len,
                       MLA_REPORT_FILE_MAX);
    doc = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        return mla_err(MLA_EINVAL, "report: not JSON: %s (line %d, column %d)", err.text, err.line,
                       err.column);
    if (!json_is_object(doc)) {
        rc = mla_err(MLA_EINVAL, "report: not a JSON object");
        goto out;
    }
    if ((rc = mla_report__new(&r, MLA_REPORT_LINEAGE)) != MLA_OK) goto out;
    if ((rc = model_read(r, doc)) != MLA_OK) goto out;
    if ((rc = log_read(r, doc, log_key)) != MLA_OK) goto out;
    rc = evidence_read(r, doc, spool_dir);
out:
    if (rc != MLA_OK) {
        mla_report_free(r);
        json_decref(doc);
        return rc;
    }
    *out = r;
    *stated_out = doc;
    return MLA_OK;
}
