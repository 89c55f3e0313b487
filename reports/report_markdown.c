/* report_markdown: a report as GitHub-flavoured Markdown, for reading in a
 * repository or a ticket. Facts cite their entries as "(entry 12)"; the
 * graph is a plain edge list. Not verifiable itself: it says so, and points
 * at the JSON and HTML forms that are. */
#include <stdio.h>
#include <string.h>

#include "reports/report_int.h"

static void put(FILE *f, const char *s) { fputs(s, f); }

/* Escape ledger text for inline Markdown (CommonMark/GFM): backslash before
 * every character that could start emphasis, code, a link, raw HTML, an
 * entity, a table cell break or strikethrough; line breaks as <br> (inside
 * a table cell a newline would end the row). At the start of a block
 * (at_start), also what would open a heading, list, quote or code block. */
static void esc(FILE *f, const char *s, bool at_start)
{
    const unsigned char *p = (const unsigned char *)s;
    if (at_start) {
        const unsigned char *d = p;
        while (*d >= '0' && *d <= '9') d++;
        if (*p == '#' || *p == '-' || *p == '+' || *p == '=') {
            fputc('\\', f);
        } else if (d > p && (*d == '.' || *d == ')')) {
            fwrite(p, 1, (size_t)(d - p), f); /* "1. x" is a list: write "1\. x" */
            fputc('\\', f);
            p = d;
        }
        for (; *p == ' '; p++) put(f, "&#32;"); /* 4 spaces would open a code block */
    }
    for (; *p; p++) {
        /* C0 controls (but line breaks and tab) and DEL: U+FFFD */
        if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f) {
            put(f, "\xef\xbf\xbd");
            continue;
        }
        switch (*p) {
        case '\\':
        case '`':
        case '*':
        case '_':
        case '[':
        case ']':
        case '<':
        case '>':
        case '|':
        case '&':
        case '~':
            fputc('\\', f);
            fputc(*p, f);
            break;
        case '\r':
            if (p[1] == '\n') break;
            put(f, "<br>");
            break;
        case '\n': put(f, "<br>"); break;
        case '\t': fputc(' ', f); break;
        default: fputc(*p, f);
        }
    }
}

static void cite(FILE *f, uint64_t seq)
{
    if (seq != MLA_REPORT_NO_SEQ) fprintf(f, " (entry %llu)", (unsigned long long)seq);
}

/* A 32-byte hash or key as lowercase hex (in a code span: it needs no
 * escaping). Numbers and fixed text are written with fprintf. */
static void hex32(FILE *f, const uint8_t b[32])
{
    char h[65];
    mla_hex_encode_to(h, b, 32);
    fputc('`', f);
    fputs(h, f);
    fputc('`', f);
}

static void meta(FILE *f, const mla_report *r, const char *vkey)
{
    const char *kind = mla_report_kind_name(r->kind);
    put(f, "# ");
    esc(f, r->title ? r->title : "", false);
    put(f, "\n\nmlaudit ");
    put(f, kind ? kind : "unknown");
    put(f, " report, generated ");
    esc(f, r->generated_at ? r->generated_at : "", false);
    put(f, " by ");
    esc(f, r->generator ? r->generator : "", false);
    put(f, ".\n\n> This Markdown is for reading. The verifiable forms of this report are its JSON "
           "and its HTML page (which embeds the JSON): `mlaudit verify` checks those offline, "
           "not this file.\n\n");
    if (r->n_params) {
        put(f, "- **Request:** ");
        for (size_t i = 0; i < r->n_params; i++) {
            if (i) put(f, "; ");
            esc(f, r->params[i].name, false);
            put(f, ": ");
            esc(f, r->params[i].value, false);
        }
        put(f, "\n");
    }
    char n[32];
    mla_report__count(n, r->ev.cp.size);
    put(f, "- **Checkpoint:** log ");
    esc(f, r->ev.cp.origin, false);
    fprintf(f, ", tree size %s, root ", n);
    hex32(f, r->ev.cp.root.b);
    put(f, "\n- **Verifier key:** ");
    esc(f, vkey, false);
    put(f, "\n- **Trust root:** ");
    if (r->ev.n_admin_keys == 0)
        put(f, "none stated (signatures are checked against the admin keys the verifier "
               "supplies)");
    for (size_t i = 0; i < r->ev.n_admin_keys; i++) {
        put(f, i ? ", " : "admin keys ");
        hex32(f, r->ev.admin_keys[i].b);
    }
    put(f, "\n\n");
    if (r->n_summary) {
        put(f, "## Summary\n\n");
        for (size_t i = 0; i < r->n_summary; i++) {
            put(f, "- ");
            esc(f, r->summary[i].text, true);
            cite(f, r->summary[i].seq);
            put(f, "\n");
        }
        put(f, "\n");
    }
}

static void graph(FILE *f, const mla_report *r)
{
    const mla_report_graph *g = &r->graph;
    if (g->n_nodes == 0) return;
    put(f, "## Lineage graph\n\n");
    if (g->summarised)
        fprintf(f,
                "More than %d artifacts: the nodes below are groups by depth and type; the tables "
                "list every edge.\n\n",
                MLA_REPORT_GRAPH_DRAW_MAX);
    put(f, "Each line is an edge: input → what was built from it (role).\n\n");
    for (size_t i = 0; i < g->n_edges; i++) {
        const mla_report_edge *e = &g->edges[i];
        put(f, "- ");
        esc(f, g->nodes[e->from].id, true);
        put(f, " → ");
        esc(f, g->nodes[e->to].id, false);
        put(f, " (");
        esc(f, e->role, false);
        put(f, ")");
        cite(f, e->seq);
        put(f, "\n");
    }
    /* Nodes no edge touches (the subject alone, say) would not show. */
    if (g->n_edges == 0)
        for (size_t i = 0; i < g->n_nodes; i++) {
            put(f, "- ");
            esc(f, g->nodes[i].id, true);
            cite(f, g->nodes[i].seq);
            put(f, "\n");
        }
    put(f, "\n");
}

static void table(FILE *f, const mla_report_table *t)
{
    put(f, "## ");
    esc(f, t->title, false);
    put(f, "\n\n");
    if (t->intro) {
        esc(f, t->intro, true);
        put(f, "\n\n");
    }
    put(f, "|");
    for (size_t c = 0; c < t->n_cols; c++) {
        put(f, " ");
        esc(f, t->cols[c], false);
        put(f, " |");
    }
    put(f, "\n|");
    for (size_t c = 0; c < t->n_cols; c++) put(f, " --- |");
    put(f, "\n");
    for (size_t row = 0; row < t->n_rows; row++) {
        put(f, "|");
        for (size_t c = 0; c < t->n_cols; c++) {
            const mla_report_cell *cell = &t->cells[row * t->n_cols + c];
            put(f, " ");
            esc(f, cell->text, false);
            cite(f, cell->seq);
            put(f, " |");
        }
        put(f, "\n");
    }
    put(f, "\n");
    if (t->note) {
        esc(f, t->note, true);
        put(f, "\n\n");
    }
}

static void tail(FILE *f, const mla_report *r, const char *vkey)
{
    char n[32], t[MLA_REPORT_TIME_LEN];
    put(f, "## Regulation\n\n");
    esc(f, mla_report__regulatory_text(r->kind), true);
    put(f, "\n\n## How to verify\n\nThe JSON and HTML forms of this report embed its evidence "
           "(the signed checkpoint, every cited entry with its inclusion proof");
    if (r->ev.has_range) put(f, ", the range of entries proven by the hash chain");
    put(f, "). Anyone holding the log's verifier key checks them offline, with no server:\n\n"
           "```\nmlaudit verify REPORT.json --log-key '");
    put(f, vkey); /* inside a code block: verbatim (a key name has no spaces or newlines) */
    put(f, "' --admin-key ADMIN.pub\n```\n\nIt re-checks the checkpoint's signature, every "
           "entry's inclusion proof, every envelope signature against the key registry replayed "
           "from the trust root, and that every fact shown is backed by an embedded entry. Take "
           "the keys from a source you trust, not from the report.\n\n## Evidence\n\n");
    mla_report__count(n, r->ev.n_entries);
    fprintf(f, "%s embedded %s, each with its inclusion proof:\n\n", n,
            r->ev.n_entries == 1 ? "entry" : "entries");
    mla_buf id;
    mla_buf_init(&id, SIZE_MAX);
    for (size_t i = 0; i < r->ev.n_entries; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        fprintf(f, "- entry %llu", (unsigned long long)e->seq);
        if (e->entry) {
            mla_report__time(t, e->entry->ledger_time_ns);
            fprintf(f, ", %s", t);
        }
        if (e->change) {
            fprintf(f, ", %s", mla_codec_kind_name(e->change->kind));
            if (e->change->subject && mla_report__identity(&id, e->change->subject) == MLA_OK) {
                put(f, " ");
                esc(f, (const char *)id.ptr, false);
            }
        } else if (e->entry && e->entry->envelope) {
            put(f, ", ");
            esc(f, e->entry->envelope->payload_type, false);
        }
        put(f, ", leaf ");
        hex32(f, e->leaf.b);
        put(f, "\n");
    }
    mla_buf_dispose(&id);
    if (r->ev.has_range) {
        mla_report__count(n, r->ev.range_last - r->ev.range_first + 1);
        fprintf(f,
                "- entries %llu to %llu (%s entries), proven by the hash chain and the inclusion "
                "proof of entry %llu\n",
                (unsigned long long)r->ev.range_first, (unsigned long long)r->ev.range_last, n,
                (unsigned long long)r->ev.range_last);
    }
}

mla_status mla_report__markdown_write(const mla_report *r, FILE *out)
{
    /* The log's verifier key string, stated at the top and in the command. */
    mla_buf vkey;
    mla_status rc = mla_report__verifier_key(&vkey, r);
    if (rc != MLA_OK) {
        mla_buf_dispose(&vkey);
        return rc;
    }
    meta(out, r, (const char *)vkey.ptr);
    graph(out, r);
    for (size_t i = 0; i < r->n_tables; i++) table(out, &r->tables[i]);
    tail(out, r, (const char *)vkey.ptr);
    mla_buf_dispose(&vkey);
    if (ferror(out)) return mla_err(MLA_EIO, "report: writing the Markdown failed");
    return MLA_OK;
}
