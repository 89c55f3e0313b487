/* report_model: the report model's storage — statements, tables of cells,
 * the lineage graph and the request parameters — with the growth and
 * ownership rules every builder relies on. Builders fill it; renderers and
 * the verifier read it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

char *mla_report__strdup(const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s);
    char *p = mla_malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

mla_status mla_report__restate(mla_status rc, const char *prefix)
{
    char msg[MLA_ERROR_MSG_MAX];
    if (rc == MLA_ENOMEM) return rc;
    snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
    return mla_err(rc, "%s: %s", prefix, msg);
}

MLA_PRINTF(1, 0) static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *p = mla_malloc((size_t)n + 1);
    if (p) vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

mla_status mla_report__grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return MLA_OK;
    size_t ncap = *cap ? *cap * 2 : 8, bytes;
    if (ncap < n + 1) ncap = n + 1;
    if (!mla_mul_size(&bytes, ncap, elem)) return mla_err(MLA_ENOMEM, "report: too many items");
    void *p = mla_realloc(*arr, bytes);
    if (!p) return mla_err(MLA_ENOMEM, "report: out of memory");
    *arr = p;
    *cap = ncap;
    return MLA_OK;
}

mla_status mla_report__new(mla_report **out, mla_report_kind kind)
{
    *out = NULL;
    mla_report *r = mla_calloc(1, sizeof *r);
    if (!r) return mla_err(MLA_ENOMEM, "report: out of memory");
    r->kind = kind;
    mla_buf_init(&r->ev.checkpoint, MLA_NOTE_MAX_BYTES);
    mla_buf_init(&r->ev.resolution_wire, MLA_LIMIT_RPC_BYTES);
    *out = r;
    return MLA_OK;
}

mla_status mla_report__param_set(mla_report *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->n_params; i++)
        if (strcmp(r->params[i].name, name) == 0) {
            char *v = mla_report__strdup(value);
            if (!v) return mla_err(MLA_ENOMEM, "report: out of memory");
            mla_free(r->params[i].value);
            r->params[i].value = v;
            return MLA_OK;
        }
    if (r->n_params == MLA_REPORT_PARAMS_MAX)
        return mla_err(MLA_ELIMIT, "report.params: more than %d", MLA_REPORT_PARAMS_MAX);
    char *n = mla_report__strdup(name), *v = mla_report__strdup(value);
    if (!n || !v) {
        mla_free(n);
        mla_free(v);
        return mla_err(MLA_ENOMEM, "report: out of memory");
    }
    r->params[r->n_params].name = n;
    r->params[r->n_params].value = v;
    r->n_params++;
    return MLA_OK;
}

const char *mla_report__param(const mla_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_params; i++)
        if (strcmp(r->params[i].name, name) == 0) return r->params[i].value;
    return NULL;
}

mla_status mla_report__say(mla_report *r, uint64_t seq, const char *fmt, ...)
{
    MLA_TRY(
        mla_report__grow((void **)&r->summary, &r->cap_summary, r->n_summary, sizeof *r->summary));
    va_list ap;
    va_start(ap, fmt);
    char *t = vformat(fmt, ap);
    va_end(ap);
    if (!t) return mla_err(MLA_ENOMEM, "report: out of memory");
    r->summary[r->n_summary].text = t;
    r->summary[r->n_summary].seq = seq;
    r->n_summary++;
    return MLA_OK;
}

static void table_dispose(mla_report_table *t)
{
    mla_free(t->id);
    mla_free(t->title);
    mla_free(t->intro);
    mla_free(t->note);
    for (size_t i = 0; i < t->n_cols; i++) mla_free(t->cols[i]);
    mla_free(t->cols);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) mla_free(t->cells[i].text);
    mla_free(t->cells);
    memset(t, 0, sizeof *t);
}

mla_status mla_report__table_add(mla_report_table **out, mla_report *r, const char *id,
                                 const char *title, const char *const *cols, size_t n_cols)
{
    *out = NULL;
    if (n_cols == 0) return mla_err(MLA_EINVAL, "report.tables.%s: no columns", id);
    MLA_TRY(mla_report__grow((void **)&r->tables, &r->cap_tables, r->n_tables, sizeof *r->tables));
    mla_report_table *t = &r->tables[r->n_tables];
    memset(t, 0, sizeof *t);
    t->id = mla_report__strdup(id);
    t->title = mla_report__strdup(title);
    t->cols = mla_calloc(n_cols, sizeof *t->cols);
    if (!t->id || !t->title || !t->cols) goto nomem;
    for (size_t i = 0; i < n_cols; i++) {
        if (!(t->cols[i] = mla_report__strdup(cols[i]))) goto nomem;
        t->n_cols = i + 1;
    }
    t->n_cols = n_cols;
    r->n_tables++;
    *out = t;
    return MLA_OK;
nomem:
    table_dispose(t);
    return mla_err(MLA_ENOMEM, "report: out of memory");
}

mla_status mla_report__table_intro(mla_report_table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    if (!s) return mla_err(MLA_ENOMEM, "report: out of memory");
    mla_free(t->intro);
    t->intro = s;
    return MLA_OK;
}

mla_status mla_report__table_note(mla_report_table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    if (!s) return mla_err(MLA_ENOMEM, "report: out of memory");
    mla_free(t->note);
    t->note = s;
    return MLA_OK;
}

mla_status mla_report__row_add(mla_report_table *t, const char *const *texts, const uint64_t *seqs)
{
    size_t row_bytes; /* cells grow a row at a time */
    if (!mla_mul_size(&row_bytes, t->n_cols, sizeof *t->cells))
        return mla_err(MLA_ENOMEM, "report.tables.%s: too many columns", t->id);
    MLA_TRY(mla_report__grow((void **)&t->cells, &t->cap_rows, t->n_rows, row_bytes));
    mla_report_cell *row = &t->cells[t->n_rows * t->n_cols];
    for (size_t i = 0; i < t->n_cols; i++) {
        row[i].text = mla_report__strdup(texts[i]);
        row[i].seq = seqs ? seqs[i] : MLA_REPORT_NO_SEQ;
        if (!row[i].text) {
            for (size_t j = 0; j < i; j++) mla_free(row[j].text);
            return mla_err(MLA_ENOMEM, "report: out of memory");
        }
    }
    t->n_rows++;
    return MLA_OK;
}

/* Nodes are found by id through a side array of indexes kept sorted by id
 * (insertion is O(n) memmove, fine for the 10k-node graphs we draw or
 * summarise; lookups are O(log n)). The side array lives after the graph's
 * node array in a separate allocation owned by the report. */
typedef struct node_index {
    size_t *ix; /* node indexes sorted by node id */
    size_t n, cap;
} node_index;

static node_index *graph_index(const mla_report *r)
{
    /* Stored in the graph's unused pointer slot: see mla_report__node_add. */
    return (node_index *)r->graph_index;
}

static size_t index_lower(const mla_report *r, const node_index *ni, const char *id, bool *found)
{
    size_t lo = 0, hi = ni->n;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->graph.nodes[ni->ix[mid]].id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

mla_status mla_report__node_add(mla_report *r, const char *id, const char *label, const char *type,
                                unsigned depth, uint64_t seq, bool focus, size_t *index_out)
{
    node_index *ni = graph_index(r);
    if (!ni) {
        if (!(ni = mla_calloc(1, sizeof *ni))) return mla_err(MLA_ENOMEM, "report: out of memory");
        r->graph_index = ni;
    }
    bool found;
    size_t pos = index_lower(r, ni, id, &found);
    if (found) {
        *index_out = ni->ix[pos];
        return MLA_OK;
    }
    mla_report_graph *g = &r->graph;
    MLA_TRY(mla_report__grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof *g->nodes));
    MLA_TRY(mla_report__grow((void **)&ni->ix, &ni->cap, ni->n, sizeof *ni->ix));
    mla_report_node *n = &g->nodes[g->n_nodes];
    n->id = mla_report__strdup(id);
    n->label = mla_report__strdup(label);
    n->type = mla_report__strdup(type);
    if (!n->id || !n->label || !n->type) {
        mla_free(n->id);
        mla_free(n->label);
        mla_free(n->type);
        return mla_err(MLA_ENOMEM, "report: out of memory");
    }
    n->depth = depth;
    n->seq = seq;
    n->focus = focus;
    memmove(&ni->ix[pos + 1], &ni->ix[pos], (ni->n - pos) * sizeof *ni->ix);
    ni->ix[pos] = g->n_nodes;
    ni->n++;
    *index_out = g->n_nodes++;
    return MLA_OK;
}

mla_status mla_report__edge_add(mla_report *r, size_t from, size_t to, const char *role,
                                uint64_t seq)
{
    mla_report_graph *g = &r->graph;
    MLA_ASSERT(from < g->n_nodes && to < g->n_nodes);
    MLA_TRY(mla_report__grow((void **)&g->edges, &g->cap_edges, g->n_edges, sizeof *g->edges));
    mla_report_edge *e = &g->edges[g->n_edges];
    if (!(e->role = mla_report__strdup(role))) return mla_err(MLA_ENOMEM, "report: out of memory");
    e->from = from;
    e->to = to;
    e->seq = seq;
    g->n_edges++;
    return MLA_OK;
}

void mla_report__model_clear(mla_report *r)
{
    mla_free(r->title);
    r->title = NULL;
    for (size_t i = 0; i < r->n_summary; i++) mla_free(r->summary[i].text);
    mla_free(r->summary);
    r->summary = NULL;
    r->n_summary = r->cap_summary = 0;
    for (size_t i = 0; i < r->n_tables; i++) table_dispose(&r->tables[i]);
    mla_free(r->tables);
    r->tables = NULL;
    r->n_tables = r->cap_tables = 0;
    mla_report_graph *g = &r->graph;
    for (size_t i = 0; i < g->n_nodes; i++) {
        mla_free(g->nodes[i].id);
        mla_free(g->nodes[i].label);
        mla_free(g->nodes[i].type);
    }
    for (size_t i = 0; i < g->n_edges; i++) mla_free(g->edges[i].role);
    mla_free(g->nodes);
    mla_free(g->edges);
    memset(g, 0, sizeof *g);
    node_index *ni = graph_index(r);
    if (ni) {
        mla_free(ni->ix);
        mla_free(ni);
        r->graph_index = NULL;
    }
}

void mla_report_free(mla_report *r)
{
    if (!r) return;
    mla_report__model_clear(r);
    for (size_t i = 0; i < r->n_params; i++) {
        mla_free(r->params[i].name);
        mla_free(r->params[i].value);
    }
    mla_free(r->generated_at);
    mla_free(r->generator);
    mla_report__evidence_dispose(&r->ev);
    mla_free(r);
}
