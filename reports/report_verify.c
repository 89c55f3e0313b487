/* report_verify: `mlaudit verify REPORT`, offline. Reads the JSON form (or
 * the HTML page embedding it), checks every piece of evidence
 * (report_check.c), rebuilds the model from the evidence alone and compares
 * it, fact by fact, with what the report states; for HTML it also renders
 * the page again and compares it byte for byte, and checks that the graph
 * picture shows only nodes and roles of the verified graph. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "reports/report_int.h"

#define SCRIPT_OPEN "<script type=\"application/json\" id=\"mlaudit-report\">"
#define SCRIPT_CLOSE "</script>"
#define SVG_OPEN "<!--mlaudit:svg-->"
#define SVG_CLOSE "<!--/mlaudit:svg-->"
#define QUOTE_MAX 120 /* bytes of a fact quoted in a problem */

static mla_status file_read(mla_buf *out, const char *path)
{
    struct stat st;
    mla_status rc = MLA_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mla_err(MLA_EIO, "REPORT: %s: cannot open", path);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = mla_err(MLA_EINVAL, "REPORT: %s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > MLA_REPORT_FILE_MAX) {
        rc = mla_err(MLA_EINVAL, "REPORT: %s: %llu bytes exceeds limit %zu", path,
                     (unsigned long long)st.st_size, MLA_REPORT_FILE_MAX);
        goto out;
    }
    mla_buf_init(out, MLA_REPORT_FILE_MAX);
    if ((rc = mla_buf_reserve(out, (size_t)st.st_size + 1)) != MLA_OK) goto out;
    while (out->len < (size_t)st.st_size) {
        ssize_t n = read(fd, out->ptr + out->len, (size_t)st.st_size - out->len);
        if (n <= 0) {
            rc = mla_err(MLA_EIO, "REPORT: %s: read failed", path);
            goto out;
        }
        out->len += (size_t)n;
    }
out:
    close(fd);
    return rc;
}

/* ---- comparing the stated model with the rebuilt one ------------------------ */

typedef struct cmp {
    const mla_report *r;
    mla_report_verdict *v;
    bool bad;
} cmp;

static void problem(cmp *c, const char *fmt, ...) MLA_PRINTF(2, 3);
static void problem(cmp *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->v->problem, sizeof c->v->problem, fmt, ap);
    va_end(ap);
    c->v->ok = false;
    c->bad = true;
}

/* A fact quoted for a person: cut at QUOTE_MAX bytes on a UTF-8 boundary. */
typedef struct quote {
    char s[QUOTE_MAX + 16];
} quote;

static quote q(const char *s)
{
    quote o;
    size_t n = s ? strlen(s) : 0;
    if (n <= QUOTE_MAX) {
        snprintf(o.s, sizeof o.s, "%s", s ? s : "");
        return o;
    }
    n = QUOTE_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    snprintf(o.s, sizeof o.s, "%.*s…", (int)n, s);
    return o;
}

/* Two differing texts quoted around their first difference, so a long
 * statement shows the part that changed. */
static void qdiff(quote *qa, quote *qb, const char *a, const char *b)
{
    size_t d = 0, start = 0;
    while (a[d] && a[d] == b[d]) d++;
    if ((strlen(a) > QUOTE_MAX || strlen(b) > QUOTE_MAX) && d > QUOTE_MAX / 2) {
        start = d - QUOTE_MAX / 4;
        while (start > 0 && ((unsigned char)a[start] & 0xC0) == 0x80) start--;
    }
    *qa = q(a + start);
    *qb = q(b + start);
    if (start == 0) return;
    quote pa = *qa, pb = *qb;
    snprintf(qa->s, sizeof qa->s, "…%.*s", (int)(sizeof qa->s - 4), pa.s);
    snprintf(qb->s, sizeof qb->s, "…%.*s", (int)(sizeof qb->s - 4), pb.s);
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static bool jseq(const json_t *o, uint64_t *seq)
{
    json_t *v = json_object_get(o, "seq");
    if (!json_is_integer(v)) return false;
    *seq = (uint64_t)json_integer_value(v);
    return true;
}

/* Whether the report carries entry seq as evidence. */
static bool embedded(const mla_report *r, uint64_t seq)
{
    const mla_report_evidence *ev = &r->ev;
    if (mla_report__entry(r, seq)) return true;
    if (ev->has_range && seq >= ev->range_first && seq <= ev->range_last) return true;
    if (!ev->has_resolution) return false;
    if (ev->resolution.batch_entry.entry.len && ev->resolution.batch_entry.seq == seq) return true;
    for (size_t i = 0; i < ev->resolution.n_deployment_entries; i++)
        if (ev->resolution.deployment_entries[i].seq == seq) return true;
    return false;
}

/* One fact: stated vs rebuilt cell ({"text", "seq"?}); what names it. */
static void fact(cmp *c, const char *what, const json_t *st, const json_t *rb)
{
    uint64_t s_seq = 0, r_seq = 0;
    bool s_has = jseq(st, &s_seq), r_has = jseq(rb, &r_seq);
    c->v->n_facts++;
    if (s_has && !embedded(c->r, s_seq)) {
        problem(c, "%s cites entry %llu, which the report does not embed", what,
                (unsigned long long)s_seq);
        return;
    }
    if (strcmp(jstr(st, "text"), jstr(rb, "text")) != 0) {
        char at[48] = "";
        if (s_has || r_has)
            snprintf(at, sizeof at, " (entry %llu)", (unsigned long long)(s_has ? s_seq : r_seq));
        quote qa, qb;
        qdiff(&qa, &qb, jstr(st, "text"), jstr(rb, "text"));
        problem(c, "%s%s: the report says '%s', the evidence gives '%s'", what, at, qa.s, qb.s);
        return;
    }
    if (s_has != r_has || s_seq != r_seq) {
        char a[40] = "no entry", b[40] = "no entry";
        if (s_has) snprintf(a, sizeof a, "entry %llu", (unsigned long long)s_seq);
        if (r_has) snprintf(b, sizeof b, "entry %llu", (unsigned long long)r_seq);
        problem(c, "%s: the report cites %s, the evidence gives %s", what, a, b);
    }
}

static void text_member(cmp *c, const char *what, const json_t *st, const json_t *rb,
                        const char *key)
{
    json_t *a = json_object_get(st, key), *b = json_object_get(rb, key);
    if (!a && !b) return;
    if (a && b && strcmp(json_string_value(a), json_string_value(b)) == 0) return;
    if (a && b) {
        quote qa, qb;
        qdiff(&qa, &qb, json_string_value(a), json_string_value(b));
        problem(c, "%s: the report says '%s', the evidence gives '%s'", what, qa.s, qb.s);
        return;
    }
    problem(c, "%s: the report says %s%s%s, the evidence gives %s%s%s", what, a ? "'" : "",
            a ? q(json_string_value(a)).s : "nothing", a ? "'" : "", b ? "'" : "",
            b ? q(json_string_value(b)).s : "nothing", b ? "'" : "");
}

static void statements(cmp *c, const json_t *st, const json_t *rb)
{
    size_t ns = json_array_size(st), nr = json_array_size(rb);
    char what[48];
    for (size_t i = 0; i < ns && i < nr && !c->bad; i++) {
        snprintf(what, sizeof what, "statement %zu", i + 1);
        fact(c, what, json_array_get(st, i), json_array_get(rb, i));
    }
    if (c->bad || ns == nr) return;
    if (ns > nr)
        problem(c, "statement %zu: the report makes a statement the evidence does not give ('%s')",
                nr + 1, q(jstr(json_array_get(st, nr), "text")).s);
    else
        problem(c, "statement %zu: missing from the report (the evidence gives '%s')", ns + 1,
                q(jstr(json_array_get(rb, ns), "text")).s);
}

static void table(cmp *c, const json_t *st, const json_t *rb, size_t ti)
{
    char what[512];
    const char *title = jstr(rb, "title");
    if (strcmp(jstr(st, "title"), title) != 0 || strcmp(jstr(st, "id"), jstr(rb, "id")) != 0) {
        problem(c, "table %zu: the report shows table '%s', the evidence gives table '%s'", ti + 1,
                q(jstr(st, "title")).s, q(title).s);
        return;
    }
    json_t *sc = json_object_get(st, "columns"), *rc = json_object_get(rb, "columns");
    size_t nc = json_array_size(rc);
    if (json_array_size(sc) != nc) {
        problem(c, "table '%s': the report has %zu columns, the evidence gives %zu", q(title).s,
                json_array_size(sc), nc);
        return;
    }
    for (size_t j = 0; j < nc; j++)
        if (strcmp(json_string_value(json_array_get(sc, j)),
                   json_string_value(json_array_get(rc, j))) != 0) {
            problem(c, "table '%s' column %zu: the report says '%s', the evidence gives '%s'",
                    q(title).s, j + 1, q(json_string_value(json_array_get(sc, j))).s,
                    q(json_string_value(json_array_get(rc, j))).s);
            return;
        }
    snprintf(what, sizeof what, "table '%s' intro", q(title).s);
    text_member(c, what, st, rb, "intro");
    if (c->bad) return;
    json_t *sr = json_object_get(st, "rows"), *rr = json_object_get(rb, "rows");
    size_t ns = json_array_size(sr), nr = json_array_size(rr);
    for (size_t i = 0; i < ns && i < nr && !c->bad; i++)
        for (size_t j = 0; j < nc && !c->bad; j++) {
            snprintf(what, sizeof what, "table '%s' row %zu '%s'", q(title).s, i + 1,
                     q(json_string_value(json_array_get(rc, j))).s);
            fact(c, what, json_array_get(json_array_get(sr, i), j),
                 json_array_get(json_array_get(rr, i), j));
        }
    if (c->bad) return;
    if (ns > nr) {
        problem(c, "table '%s' row %zu: the report shows a row the evidence does not give ('%s')",
                q(title).s, nr + 1, q(jstr(json_array_get(json_array_get(sr, nr), 0), "text")).s);
        return;
    }
    if (ns < nr) {
        problem(c, "table '%s' row %zu: missing from the report (the evidence gives '%s')",
                q(title).s, ns + 1, q(jstr(json_array_get(json_array_get(rr, ns), 0), "text")).s);
        return;
    }
    snprintf(what, sizeof what, "table '%s' note", q(title).s);
    text_member(c, what, st, rb, "note");
}

static void tables(cmp *c, const json_t *st, const json_t *rb)
{
    size_t ns = json_array_size(st), nr = json_array_size(rb);
    for (size_t i = 0; i < ns && i < nr && !c->bad; i++)
        table(c, json_array_get(st, i), json_array_get(rb, i), i);
    if (c->bad || ns == nr) return;
    if (ns > nr)
        problem(c, "table '%s': the report shows a table the evidence does not give",
                q(jstr(json_array_get(st, nr), "title")).s);
    else
        problem(c, "table '%s': missing from the report (the evidence gives it)",
                q(jstr(json_array_get(rb, ns), "title")).s);
}

static void graph(cmp *c, const json_t *st, const json_t *rb)
{
    static const char *const node_keys[] = {"id", "label", "type"};
    json_t *sn = json_object_get(st, "nodes"), *rn = json_object_get(rb, "nodes");
    json_t *se = json_object_get(st, "edges"), *re = json_object_get(rb, "edges");
    size_t ns = json_array_size(sn), nr = json_array_size(rn);
    char what[512];
    if (json_is_true(json_object_get(st, "summarised")) !=
        json_is_true(json_object_get(rb, "summarised"))) {
        problem(c, "graph: the report %s the picture, the evidence %s",
                json_is_true(json_object_get(st, "summarised")) ? "summarises"
                                                                : "does not summarise",
                json_is_true(json_object_get(rb, "summarised")) ? "calls for that" : "does not");
        return;
    }
    for (size_t i = 0; i < ns && i < nr && !c->bad; i++) {
        const json_t *a = json_array_get(sn, i), *b = json_array_get(rn, i);
        uint64_t s = 0;
        for (size_t k = 0; k < 3 && !c->bad; k++) {
            snprintf(what, sizeof what, "graph node %zu '%s' %s", i + 1, q(jstr(b, "id")).s,
                     node_keys[k]);
            text_member(c, what, a, b, node_keys[k]);
        }
        if (c->bad) return;
        if (jseq(a, &s) && !embedded(c->r, s)) {
            problem(c, "graph node %zu '%s' cites entry %llu, which the report does not embed",
                    i + 1, q(jstr(b, "id")).s, (unsigned long long)s);
            return;
        }
        if (!json_equal(a, b)) {
            problem(c, "graph node %zu '%s': its depth, entry or focus differs from the evidence",
                    i + 1, q(jstr(b, "id")).s);
            return;
        }
    }
    if (ns != nr) {
        problem(c, "graph: the report draws %zu nodes, the evidence gives %zu", ns, nr);
        return;
    }
    ns = json_array_size(se);
    nr = json_array_size(re);
    for (size_t i = 0; i < ns && i < nr; i++) {
        const json_t *a = json_array_get(se, i), *b = json_array_get(re, i);
        const json_t *from =
            json_array_get(rn, (size_t)json_integer_value(json_object_get(b, "from")));
        const json_t *to = json_array_get(rn, (size_t)json_integer_value(json_object_get(b, "to")));
        uint64_t s = 0;
        snprintf(what, sizeof what, "graph edge %zu (%s -> %s)", i + 1, q(jstr(from, "id")).s,
                 q(jstr(to, "id")).s);
        if (jseq(a, &s) && !embedded(c->r, s)) {
            problem(c, "%s cites entry %llu, which the report does not embed", what,
                    (unsigned long long)s);
            return;
        }
        if (!json_equal(a, b)) {
            problem(c, "%s: the report draws it otherwise (role '%s', the evidence gives '%s')",
                    what, q(jstr(a, "role")).s, q(jstr(b, "role")).s);
            return;
        }
    }
    if (ns != nr) problem(c, "graph: the report draws %zu edges, the evidence gives %zu", ns, nr);
}

/* Every fact the report shows must cite an entry it embeds, whatever the
 * rebuilt model says (checked first: a report missing an entry may not
 * rebuild at all). */
static void cites_check(cmp *c, const json_t *stated)
{
    const json_t *summary = json_object_get(stated, "summary"),
                 *tabs = json_object_get(stated, "tables"), *g = json_object_get(stated, "graph");
    uint64_t s;
    for (size_t i = 0; i < json_array_size(summary) && !c->bad; i++)
        if (jseq(json_array_get(summary, i), &s) && !embedded(c->r, s))
            problem(c, "statement %zu cites entry %llu, which the report does not embed", i + 1,
                    (unsigned long long)s);
    for (size_t t = 0; t < json_array_size(tabs) && !c->bad; t++) {
        const json_t *tab = json_array_get(tabs, t), *rows = json_object_get(tab, "rows"),
                     *cols = json_object_get(tab, "columns");
        for (size_t i = 0; i < json_array_size(rows) && !c->bad; i++)
            for (size_t j = 0; j < json_array_size(cols) && !c->bad; j++)
                if (jseq(json_array_get(json_array_get(rows, i), j), &s) && !embedded(c->r, s))
                    problem(c,
                            "table '%s' row %zu '%s' cites entry %llu, which the report does "
                            "not embed",
                            q(jstr(tab, "title")).s, i + 1,
                            q(json_string_value(json_array_get(cols, j))).s, (unsigned long long)s);
    }
    static const char *const parts[] = {"nodes", "edges"};
    for (size_t k = 0; k < 2 && !c->bad; k++) {
        const json_t *a = json_object_get(g, parts[k]);
        for (size_t i = 0; i < json_array_size(a) && !c->bad; i++)
            if (jseq(json_array_get(a, i), &s) && !embedded(c->r, s))
                problem(c, "graph %.4s %zu cites entry %llu, which the report does not embed",
                        parts[k], i + 1, (unsigned long long)s);
    }
}

static void model_compare(cmp *c, const json_t *stated, const json_t *rebuilt)
{
    static const char *const members[] = {"title",   "generated_at", "generator", "params",
                                          "summary", "tables",       "graph"};
    text_member(c, "title", stated, rebuilt, "title");
    if (!c->bad)
        statements(c, json_object_get(stated, "summary"), json_object_get(rebuilt, "summary"));
    if (!c->bad) tables(c, json_object_get(stated, "tables"), json_object_get(rebuilt, "tables"));
    if (!c->bad) graph(c, json_object_get(stated, "graph"), json_object_get(rebuilt, "graph"));
    /* Whatever the walk above does not name still has to be equal. */
    for (size_t i = 0; i < sizeof members / sizeof *members && !c->bad; i++)
        if (!json_equal(json_object_get(stated, members[i]), json_object_get(rebuilt, members[i])))
            problem(c, "%s: differs from what the evidence gives", members[i]);
}

/* ---- the HTML page ---------------------------------------------------------------- */

static const uint8_t *find(const uint8_t *from, const uint8_t *end, const char *needle)
{
    if (from >= end) return NULL;
    return memmem(from, (size_t)(end - from), needle, strlen(needle));
}

/* The anchor of the fact or statement nearest before off, into name. */
static bool anchor_before(char *name, size_t cap, mla_slice page, size_t off)
{
    for (size_t i = off < page.len ? off : page.len; i >= 6; i--) {
        const uint8_t *p = page.ptr + i - 6;
        if (memcmp(p, "id=\"f-", 6) != 0 && memcmp(p, "id=\"s-", 6) != 0) continue;
        size_t n = 0;
        for (const uint8_t *s = p + 4; s < page.ptr + page.len && *s != '"' && n + 1 < cap; s++)
            name[n++] = (char)*s;
        name[n] = 0;
        return true;
    }
    return false;
}

static void page_compare(cmp *c, mla_slice page, mla_slice rendered)
{
    size_t n = page.len < rendered.len ? page.len : rendered.len, off = 0;
    while (off < n && page.ptr[off] == rendered.ptr[off]) off++;
    if (off == n && page.len == rendered.len) return;
    char anchor[128], near[48];
    size_t k = 0;
    for (size_t i = off; i < page.len && k < 40; i++)
        near[k++] = page.ptr[i] >= 0x20 && page.ptr[i] < 0x7f ? (char)page.ptr[i] : '.';
    near[k] = 0;
    if (anchor_before(anchor, sizeof anchor, page, off))
        problem(c, "the page differs from its evidence at %s %s (byte %zu of the page, near '%s')",
                anchor[0] == 'f' ? "fact" : "statement", anchor, off, near);
    else
        problem(c, "the page differs from its evidence at byte %zu (near '%s')", off, near);
}

/* Append one UTF-8 code point. */
static size_t utf8_put(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* XML text to UTF-8 (the entities Graphviz writes); NUL-ended in out. */
static mla_status unescape(mla_buf *out, mla_slice in)
{
    mla_buf_clear(out);
    for (size_t i = 0; i < in.len;) {
        char tmp[8];
        size_t n = 0;
        const uint8_t *p = in.ptr + i;
        size_t left = in.len - i;
        const uint8_t *semi = *p == '&' ? memchr(p, ';', left < 12 ? left : 12) : NULL;
        if (!semi) {
            MLA_TRY(mla_buf_append_byte(out, *p));
            i++;
            continue;
        }
        size_t len = (size_t)(semi - p) + 1;
        if (len == 5 && !memcmp(p, "&amp;", 5))
            tmp[n++] = '&';
        else if (len == 4 && !memcmp(p, "&lt;", 4))
            tmp[n++] = '<';
        else if (len == 4 && !memcmp(p, "&gt;", 4))
            tmp[n++] = '>';
        else if (len == 6 && !memcmp(p, "&quot;", 6))
            tmp[n++] = '"';
        else if (len == 6 && !memcmp(p, "&apos;", 6))
            tmp[n++] = '\'';
        else if (len > 3 && p[1] == '#') {
            unsigned long cp = 0;
            bool hexa = p[2] == 'x' || p[2] == 'X', ok = true;
            for (size_t j = hexa ? 3 : 2; j < len - 1 && ok; j++) {
                int d = p[j] >= '0' && p[j] <= '9'           ? p[j] - '0'
                        : hexa && p[j] >= 'a' && p[j] <= 'f' ? p[j] - 'a' + 10
                        : hexa && p[j] >= 'A' && p[j] <= 'F' ? p[j] - 'A' + 10
                                                             : -1;
                ok = d >= 0 && cp < 0x110000;
                cp = cp * (hexa ? 16 : 10) + (unsigned long)d;
            }
            if (ok && cp > 0 && cp < 0x110000) n = utf8_put(tmp, cp);
        }
        if (n == 0) {
            MLA_TRY(mla_buf_append_byte(out, *p));
            i++;
            continue;
        }
        MLA_TRY(mla_buf_append(out, tmp, n));
        i += len;
    }
    return mla_buf_append_byte(out, 0);
}

static bool graph_names(const mla_report *r, const char *s)
{
    const mla_report_graph *g = &r->graph;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].label, s) || !strcmp(g->nodes[i].id, s)) return true;
    for (size_t i = 0; i < g->n_edges; i++)
        if (!strcmp(g->edges[i].role, s)) return true;
    return false;
}

/* Every <text> of the picture must be a node label, node id or edge role of
 * the verified graph. */
static mla_status svg_check(cmp *c, mla_slice svg)
{
    const uint8_t *p = svg.ptr, *end = svg.ptr + svg.len;
    mla_buf t;
    mla_status rc = MLA_OK;
    mla_buf_init(&t, svg.len + 1);
    while (rc == MLA_OK && !c->bad && (p = find(p, end, "<text")) != NULL) {
        const uint8_t *gt = find(p, end, ">"), *close = gt ? find(gt, end, "</text>") : NULL;
        if (!close) {
            problem(c, "the graph picture has an unterminated <text> element");
            break;
        }
        if ((rc = unescape(&t, mla_slice_make(gt + 1, (size_t)(close - gt - 1)))) != MLA_OK) break;
        if (!graph_names(c->r, (const char *)t.ptr))
            problem(c, "the graph picture shows '%s', which is no node of the verified graph",
                    q((const char *)t.ptr).s);
        p = close + 7;
    }
    mla_buf_dispose(&t);
    return rc;
}

static mla_status html_check(cmp *c, mla_report *r, mla_slice page, mla_slice json, mla_slice svg)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    if (!f) return mla_err(MLA_ENOMEM, "verify: out of memory");
    mla_report_render_opts o = {json, svg};
    mla_status rc = mla_report_render(r, MLA_REPORT_HTML, f, &o);
    if (fclose(f) != 0 && rc == MLA_OK) rc = mla_err(MLA_ENOMEM, "verify: out of memory");
    if (rc == MLA_OK) page_compare(c, page, mla_slice_make(mem, len));
    if (rc == MLA_OK && !c->bad) rc = svg_check(c, svg);
    free(mem); /* open_memstream's buffer is the C library's */
    return rc;
}

/* ---- the whole check ----------------------------------------------------------------- */

/* Verification failures are the verdict, not an error. */
static mla_status failed(mla_report_verdict *out, mla_status rc)
{
    if (rc != MLA_ECORRUPT && rc != MLA_EDENIED) return rc;
    out->ok = false;
    snprintf(out->problem, sizeof out->problem, "%s", mla_error_last()->msg);
    return MLA_OK;
}

mla_status mla_report_verify_file(mla_report_verdict *out, const char *path,
                                  const mla_report_verify_opts *opts)
{
    static const mla_report_verify_opts none = {NULL, NULL, 0};
    mla_buf file, vkey;
    mla_report *r = NULL;
    json_t *stated = NULL, *rebuilt = NULL;
    mla_slice json, svg = {NULL, 0};
    bool html = false;
    mla_status rc;
    memset(out, 0, sizeof *out);
    if (!opts) opts = &none;
    mla_buf_init(&file, MLA_REPORT_FILE_MAX);
    mla_buf_init(&vkey, 0);
    MLA_TRY(mla_crypto_init());
    if ((rc = file_read(&file, path)) != MLA_OK) goto out;
    const uint8_t *p = file.ptr, *end = file.ptr + file.len;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    const uint8_t *script = find(file.ptr, end, SCRIPT_OPEN);
    if (p < end && *p == '{') {
        json = mla_slice_make(p, (size_t)(end - p));
    } else if (script) {
        const uint8_t *from = script + strlen(SCRIPT_OPEN), *to = find(from, end, SCRIPT_CLOSE);
        if (!to) {
            rc = mla_err(MLA_EINVAL, "REPORT: %s: the embedded report has no closing </script>",
                         path);
            goto out;
        }
        html = true;
        json = mla_slice_make(from, (size_t)(to - from));
        const uint8_t *s0 = find(file.ptr, script, SVG_OPEN);
        const uint8_t *s1 = s0 ? find(s0, script, SVG_CLOSE) : NULL;
        if (s0 && s1)
            svg = mla_slice_make(s0 + strlen(SVG_OPEN), (size_t)(s1 - s0 - strlen(SVG_OPEN)));
    } else {
        rc = mla_err(MLA_EINVAL, "REPORT: %s: not an mlaudit report (JSON or HTML)", path);
        goto out;
    }

    void *st;
    out->ok = true;
    out->log_key_from_report = opts->log_key == NULL;
    rc = mla_report__json_read(&r, &st, json, opts->log_key, NULL);
    if (rc != MLA_OK) {
        rc = failed(out, rc);
        goto out;
    }
    stated = st;
    out->kind = r->kind;
    out->tree_size = r->ev.cp.size;
    if ((rc = mla_report__verifier_key(&vkey, r)) != MLA_OK) goto out;
    snprintf(out->log_key, sizeof out->log_key, "%s", (const char *)vkey.ptr);

    const mla_pubkey *admin = opts->admin_keys ? opts->admin_keys : r->ev.admin_keys;
    size_t n_admin = opts->admin_keys ? opts->n_admin_keys : r->ev.n_admin_keys;
    out->admin_keys_from_report = opts->admin_keys == NULL && n_admin > 0;
    mla_report_check_result chk;
    if ((rc = mla_report__check(&chk, r, admin, n_admin)) != MLA_OK) {
        rc = failed(out, rc);
        goto out;
    }
    out->n_entries = chk.n_entries;
    out->n_signatures = chk.n_signatures;
    out->signatures_checked = chk.signatures_checked;

    cmp c = {r, out, false};
    cites_check(&c, stated);
    if (c.bad) goto out;
    /* The model is a pure function of the evidence: rebuild and compare. */
    if ((rc = mla_report__build(r)) != MLA_OK) {
        if (rc == MLA_ENOMEM || rc == MLA_EIO) goto out;
        rc = failed(out,
                    mla_report__restate(MLA_ECORRUPT, "the evidence does not rebuild the report"));
        goto out;
    }
    void *rb;
    if ((rc = mla_report__model_json(&rb, r)) != MLA_OK) {
        rc = failed(out, rc == MLA_EINVAL ? MLA_ECORRUPT : rc);
        goto out;
    }
    rebuilt = rb;
    model_compare(&c, stated, rebuilt);
    if (!c.bad && html) rc = html_check(&c, r, mla_buf_slice(&file), json, svg);
out:
    if (rc != MLA_OK) out->ok = false;
    json_decref(stated);
    json_decref(rebuilt);
    mla_report_free(r);
    mla_buf_dispose(&vkey);
    mla_buf_dispose(&file);
    return rc;
}
