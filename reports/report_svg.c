/* report_svg: the lineage graph as an SVG picture, laid out by Graphviz's
 * library (cgraph to build the graph, gvc's "dot" layout and SVG writer).
 * The HTML renderer inlines the result between its SVG markers, so the XML
 * prolog and DOCTYPE are dropped. */
#include <dlfcn.h>
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "reports/report_int.h"

/* Graphviz keeps global state (the error handler, plugin tables, the
 * string dictionary of the default discipline): one layout at a time, and
 * one context for the whole process, made on first use and kept. */
static pthread_mutex_t gv_lock = PTHREAD_MUTEX_INITIALIZER;
static GVC_t *gv_context;

/* A context with only the plugins a report needs: the dot layout and the
 * core renderers (SVG), loaded from Graphviz's plugin directory beside
 * libgvc. Without the pango text-layout plugin that gvContext() would also
 * load, Graphviz sizes labels from its built-in Helvetica metrics, so a
 * picture is laid out the same on every machine whatever fonts it has;
 * and pango's fontconfig caches leak (LeakSanitizer) and, in 2.43, read a
 * freed font name once a context is freed. If the plugins are not where
 * expected, gvContext() still draws the picture. */
static GVC_t *context_new(void)
{
    static lt_symlist_t builtins[3];
    static const char *const libs[2][2] = {
        {"libgvplugin_dot_layout.so.6", "gvplugin_dot_layout_LTX_library"},
        {"libgvplugin_core.so.6", "gvplugin_core_LTX_library"},
    };
    Dl_info di;
    union {
        GVC_t *(*fn)(void);
        void *p;
    } self = {gvContext};
    const char *slash = NULL;
    if (dladdr(self.p, &di) && di.dli_fname) slash = strrchr(di.dli_fname, '/');
    for (int i = 0; slash && i < 2; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%.*s/graphviz/%s", (int)(slash - di.dli_fname),
                         di.dli_fname, libs[i][0]);
        void *h = n > 0 && (size_t)n < sizeof path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
        void *sym = h ? dlsym(h, libs[i][1]) : NULL;
        if (!sym) return gvContext();
        builtins[i].name = libs[i][1];
        builtins[i].address = sym;
    }
    return slash ? gvContextPlugins(builtins, 0) : gvContext();
}

/* Graphviz 2.43's API takes char * for names and values it only reads. */
static char *mut(const char *s)
{
    union {
        const char *c;
        char *m;
    } u = {s};
    return u.m;
}

/* How ledger text reaches the SVG as written. Graphviz reads labels and
 * tooltips as escString: a backslash starts an escape (\N is the node name,
 * \n a line break), so every backslash is doubled. Its SVG writer escapes
 * '<', '>', '"', '\'' and a bare '&', but keeps "&name;" as an entity (a
 * ledger "&lt;" would show as "<"), so every '&' goes in as "&amp;". */
static mla_status esc_string(mla_buf *out, const char *s)
{
    mla_buf_clear(out);
    for (; *s; s++) {
        if (*s == '&') {
            MLA_TRY(mla_buf_append_cstr(out, "&amp;"));
            continue;
        }
        if (*s == '\\') MLA_TRY(mla_buf_append_byte(out, '\\'));
        MLA_TRY(mla_buf_append_byte(out, (uint8_t)*s));
    }
    return mla_buf_append_byte(out, 0);
}

static mla_status set(void *obj, const char *name, const char *value)
{
    if (agsafeset(obj, mut(name), mut(value), mut("")) != 0)
        return mla_err(MLA_ENOMEM, "report.graph: Graphviz could not set %s", name);
    return MLA_OK;
}

/* Set an attribute (label or tooltip) to ledger text. */
static mla_status set_text(void *obj, const char *name, const char *value, mla_buf *tmp)
{
    MLA_TRY(esc_string(tmp, value));
    return set(obj, name, (const char *)tmp->ptr);
}

/* The link of a fact citing seq: its evidence row, as the HTML page names
 * it (report_html.c); "" when the evidence holds no such entry. */
static void seq_href(char out[32], const mla_report *r, uint64_t seq)
{
    out[0] = 0;
    if (seq == MLA_REPORT_NO_SEQ) return;
    if (mla_report__entry(r, seq))
        snprintf(out, 32, "#e-%llu", (unsigned long long)seq);
    else if (r->ev.has_range && seq >= r->ev.range_first && seq <= r->ev.range_last)
        snprintf(out, 32, "#range");
}

/* Pale fills by artifact type, so data, code and models read apart. */
static const char *type_fill(const char *type)
{
    static const struct {
        const char *type, *fill;
    } fills[] = {
        {"model", "#efe7f7"},  {"dataset", "#e3eefb"},     {"code", "#e6f4ea"},
        {"config", "#fdf3e1"}, {"environment", "#f1f1f1"}, {"evaluation", "#fde8e8"},
    };
    for (size_t i = 0; i < sizeof fills / sizeof fills[0]; i++)
        if (strcmp(type, fills[i].type) == 0) return fills[i].fill;
    return "#ffffff";
}

static mla_status build(Agraph_t *g, const mla_report *r, Agnode_t **nodes)
{
    const mla_report_graph *gr = &r->graph;
    mla_status rc = MLA_OK;
    mla_buf tmp;
    mla_buf_init(&tmp, SIZE_MAX);
    char name[32], href[32];
    if ((rc = set(g, "rankdir", "LR")) != MLA_OK || (rc = set(g, "nodesep", "0.2")) != MLA_OK ||
        (rc = set(g, "ranksep", "0.45")) != MLA_OK ||
        (rc = set(g, "fontname", "Helvetica")) != MLA_OK)
        goto out;
    for (size_t i = 0; i < gr->n_nodes; i++) {
        const mla_report_node *n = &gr->nodes[i];
        /* Internal names: ledger text never reaches the SVG's comments. */
        snprintf(name, sizeof name, "n%zu", i);
        if (!(nodes[i] = agnode(g, name, 1))) {
            rc = mla_err(MLA_ENOMEM, "report.graph: Graphviz could not add node %zu", i);
            goto out;
        }
        void *o = nodes[i];
        seq_href(href, r, n->seq);
        if ((rc = set(o, "shape", "box")) != MLA_OK ||
            (rc = set(o, "style", "rounded,filled")) != MLA_OK ||
            (rc = set(o, "fontname", "Helvetica")) != MLA_OK ||
            (rc = set(o, "fontsize", "10")) != MLA_OK ||
            (rc = set(o, "color", n->focus ? "#8a5a00" : "#5b6b7a")) != MLA_OK ||
            (rc = set(o, "penwidth", n->focus ? "2.5" : "1")) != MLA_OK ||
            (rc = set(o, "fillcolor", n->focus ? "#ffe08a" : type_fill(n->type))) != MLA_OK ||
            (rc = set_text(o, "label", n->label, &tmp)) != MLA_OK ||
            (rc = set_text(o, "tooltip", n->id, &tmp)) != MLA_OK ||
            (href[0] && (rc = set(o, "URL", href)) != MLA_OK))
            goto out;
    }
    for (size_t i = 0; i < gr->n_edges; i++) {
        const mla_report_edge *e = &gr->edges[i];
        snprintf(name, sizeof name, "e%zu", i);
        Agedge_t *ed = agedge(g, nodes[e->from], nodes[e->to], name, 1);
        if (!ed) {
            rc = mla_err(MLA_ENOMEM, "report.graph: Graphviz could not add edge %zu", i);
            goto out;
        }
        seq_href(href, r, e->seq);
        if ((rc = set(ed, "fontname", "Helvetica")) != MLA_OK ||
            (rc = set(ed, "fontsize", "8")) != MLA_OK ||
            (rc = set(ed, "color", "#5b6b7a")) != MLA_OK ||
            (rc = set_text(ed, "label", e->role, &tmp)) != MLA_OK ||
            (rc = set_text(ed, "tooltip", e->role, &tmp)) != MLA_OK ||
            (href[0] && (rc = set(ed, "URL", href)) != MLA_OK))
            goto out;
    }
out:
    mla_buf_dispose(&tmp);
    return rc;
}

mla_status mla_report__svg(mla_buf *out, const mla_report *r)
{
    const mla_report_graph *gr = &r->graph;
    if (gr->n_nodes == 0) return MLA_OK;
    Agnode_t **nodes = mla_calloc(gr->n_nodes, sizeof *nodes);
    if (!nodes) return mla_err(MLA_ENOMEM, "report.graph: out of memory");
    mla_status rc = MLA_OK;
    char *svg = NULL;
    unsigned int svg_len = 0;
    bool laid_out = false;
    Agraph_t *g = NULL;
    pthread_mutex_lock(&gv_lock);
    /* Graphviz prints warnings on stderr; a report is quiet. */
    agseterr(AGMAX);
    if (!gv_context) gv_context = context_new();
    GVC_t *gvc = gv_context;
    if (!gvc) {
        rc = mla_err(MLA_ENOMEM, "report.graph: Graphviz context: out of memory");
        goto out;
    }
    if (!(g = agopen(mut("lineage"), Agdirected, NULL))) {
        rc = mla_err(MLA_ENOMEM, "report.graph: Graphviz graph: out of memory");
        goto out;
    }
    if ((rc = build(g, r, nodes)) != MLA_OK) goto out;
    if (gvLayout(gvc, g, "dot") != 0) {
        rc = mla_err(MLA_EIO, "report.graph: Graphviz dot layout failed (is the dot plugin "
                              "installed?)");
        goto out;
    }
    laid_out = true;
    if (gvRenderData(gvc, g, "svg", &svg, &svg_len) != 0 || !svg) {
        rc = mla_err(MLA_EIO, "report.graph: Graphviz SVG rendering failed");
        goto out;
    }
    /* Inline SVG in HTML5 takes no XML prolog or DOCTYPE: start at <svg. */
    const char *start = svg_len ? memmem(svg, svg_len, "<svg", 4) : NULL;
    if (!start) {
        rc = mla_err(MLA_EIO, "report.graph: Graphviz wrote no <svg> element");
        goto out;
    }
    rc = mla_buf_append(out, start, svg_len - (size_t)(start - svg));
out:
    if (svg) gvFreeRenderData(svg);
    if (laid_out) gvFreeLayout(gvc, g);
    if (g) agclose(g);
    pthread_mutex_unlock(&gv_lock);
    mla_free(nodes);
    return rc;
}
