/* report_html: the self-contained, printable HTML page of a report — inline
 * CSS, the lineage graph as inline SVG, every fact linking to its entry in
 * the evidence appendix, and the JSON form embedded for `mlaudit verify`.
 * The form is a contract (report_int.h): verification re-renders the page
 * and compares it byte for byte outside the SVG, so output is deterministic. */
#include <stdio.h>
#include <string.h>

#include "reports/report_int.h"

/* Printable on paper, readable on screen; system fonts only (the
 * Content-Security-Policy forbids fetching anything). */
static const char css[] =
    ":root{color-scheme:light}\n"
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Helvetica,Arial,sans-serif;"
    "color:#1d2329;background:#fff;margin:0 auto;max-width:1100px;padding:24px}\n"
    "header{border-bottom:2px solid #1d2329;margin-bottom:16px}\n"
    "h1{font-size:24px;margin:4px 0 8px}\n"
    "h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #c9d1d9}\n"
    ".kind{text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:#57606a;margin:0}\n"
    "dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:13px}\n"
    "dl.meta dt{font-weight:600}\n"
    "dl.meta dd{margin:0}\n"
    "code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",monospace;"
    "font-size:12px;overflow-wrap:anywhere}\n"
    "table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}\n"
    "th,td{border:1px solid #8c959f;padding:3px 6px;text-align:left;vertical-align:top;"
    "white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "th{background:#eef1f4}\n"
    "tr:target,p:target,a:target{background:#fff3c4}\n"
    "a.fact{color:inherit;text-decoration:underline dotted #57606a}\n"
    "a.cite{font-size:12px;color:#0550ae;white-space:nowrap}\n"
    ".intro,.note{color:#57606a;font-size:13px;margin:4px 0}\n"
    ".graph{overflow:auto;border:1px solid #d0d7de;padding:8px}\n"
    ".graph svg{max-width:100%;height:auto}\n"
    "pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;white-space:pre-wrap;"
    "overflow-wrap:anywhere}\n"
    "footer{margin-top:32px;font-size:12px;color:#57606a;border-top:1px solid #c9d1d9}\n"
    "@page{margin:15mm}\n"
    "@media print{body{max-width:none;padding:0;font-size:11px}a{color:inherit;"
    "text-decoration:none}tr,p{break-inside:avoid}h2{break-after:avoid}"
    "thead{display:table-header-group}.graph{border:none;overflow:visible}"
    /* on paper a fact still names the entry it cites */
    "a.fact::after{content:\" (\" attr(href) \")\";font-size:8px;color:#57606a}}\n";

static void put(FILE *f, const char *s) { fputs(s, f); }

/* Escape for HTML text and quoted attribute values. UTF-8 passes through
 * (the model holds valid UTF-8); C0 controls other than tab and line
 * breaks, and DEL, are not allowed in HTML text and become U+FFFD. */
static void esc(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': put(f, "&amp;"); break;
        case '<': put(f, "&lt;"); break;
        case '>': put(f, "&gt;"); break;
        case '"': put(f, "&quot;"); break;
        case '\'': put(f, "&#39;"); break;
        case '\t':
        case '\r':
        case '\n': fputc(*p, f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                put(f, "\xef\xbf\xbd");
            else
                fputc(*p, f);
        }
    }
}

/* A 32-byte hash or key as lowercase hex. Numbers and fixed text are
 * written with fprintf; ledger strings only through esc(). */
static void hex32(FILE *f, const uint8_t b[32])
{
    char h[65];
    mla_hex_encode_to(h, b, 32);
    fputs(h, f);
}

/* Where a fact citing seq links: its row in the evidence appendix, or the
 * range's row when the entry is proven as part of the range only. */
static void href(FILE *f, const mla_report *r, uint64_t seq)
{
    if (!mla_report__entry(r, seq) && r->ev.has_range && seq >= r->ev.range_first &&
        seq <= r->ev.range_last)
        put(f, "#range");
    else
        fprintf(f, "#e-%llu", (unsigned long long)seq);
}

static void cite(FILE *f, const mla_report *r, uint64_t seq)
{
    if (seq == MLA_REPORT_NO_SEQ) return;
    put(f, " <a class=\"cite\" href=\"");
    href(f, r, seq);
    fprintf(f, "\">entry %llu</a>", (unsigned long long)seq);
}

/* The log's verifier key string "name+hash+base64", escaped. */
static mla_status vkey(FILE *f, const mla_report *r)
{
    mla_buf b;
    mla_status rc = mla_report__verifier_key(&b, r);
    if (rc == MLA_OK) esc(f, (const char *)b.ptr);
    mla_buf_dispose(&b);
    return rc;
}

static mla_status header(FILE *f, const mla_report *r)
{
    const char *kind = mla_report_kind_name(r->kind);
    put(f, "<header>\n<p class=\"kind\">mlaudit ");
    esc(f, kind ? kind : "unknown");
    put(f, " report</p>\n<h1>");
    esc(f, r->title ? r->title : "");
    put(f, "</h1>\n<p>Generated <time>");
    esc(f, r->generated_at ? r->generated_at : "");
    put(f, "</time> by ");
    esc(f, r->generator ? r->generator : "");
    put(f, ".</p>\n<dl class=\"meta\">\n");
    if (r->n_params) {
        put(f, "<dt>Request</dt><dd>");
        for (size_t i = 0; i < r->n_params; i++) {
            if (i) put(f, "; ");
            esc(f, r->params[i].name);
            put(f, ": <code>");
            esc(f, r->params[i].value);
            put(f, "</code>");
        }
        put(f, "</dd>\n");
    }
    char n[32];
    mla_report__count(n, r->ev.cp.size);
    put(f, "<dt>Checkpoint</dt><dd>log <code>");
    esc(f, r->ev.cp.origin);
    fprintf(f, "</code>, tree size %s, root <code>", n);
    hex32(f, r->ev.cp.root.b);
    put(f, "</code></dd>\n<dt>Verifier key</dt><dd><code>");
    MLA_TRY(vkey(f, r));
    put(f, "</code></dd>\n<dt>Trust root</dt><dd>");
    if (r->ev.n_admin_keys == 0)
        put(f, "none stated: signatures are checked against the admin keys the verifier "
               "supplies");
    for (size_t i = 0; i < r->ev.n_admin_keys; i++) {
        put(f, i ? ",<br>" : "admin keys ");
        put(f, "<code>");
        hex32(f, r->ev.admin_keys[i].b);
        put(f, "</code>");
    }
    put(f, "</dd>\n</dl>\n</header>\n");
    return MLA_OK;
}

static void summary(FILE *f, const mla_report *r)
{
    if (r->n_summary == 0) return;
    put(f, "<section id=\"summary\">\n<h2>Summary</h2>\n");
    for (size_t i = 0; i < r->n_summary; i++) {
        fprintf(f, "<p id=\"s-%zu\">", i);
        esc(f, r->summary[i].text);
        cite(f, r, r->summary[i].seq);
        put(f, "</p>\n");
    }
    put(f, "</section>\n");
}

static mla_status graph(FILE *f, const mla_report *r, const mla_report_render_opts *opts)
{
    /* SPEC §7 and report_int.h: the markers are always there, adjacent when
     * there is no picture, so verify always finds the SVG region. */
    if (r->graph.n_nodes == 0) {
        put(f, "<!--mlaudit:svg--><!--/mlaudit:svg-->\n");
        return MLA_OK;
    }
    char n[32];
    mla_report__count(n, r->graph.n_nodes);
    put(f, "<section id=\"graph\">\n<h2>Lineage graph</h2>\n<p class=\"intro\">");
    if (r->graph.summarised)
        fprintf(f,
                "More than %d artifacts: the picture groups them by depth and type; the tables "
                "list every edge.",
                MLA_REPORT_GRAPH_DRAW_MAX);
    else
        fprintf(f,
                "%s artifacts; inputs on the left, what was built from them on the right. Each "
                "box links to the entry that recorded it.",
                n);
    put(f, "</p>\n<div class=\"graph\"><!--mlaudit:svg-->");
    mla_status rc = MLA_OK;
    if (opts->svg.len) {
        fwrite(opts->svg.ptr, 1, opts->svg.len, f);
    } else {
        mla_buf svg;
        mla_buf_init(&svg, SIZE_MAX);
        if ((rc = mla_report__svg(&svg, r)) == MLA_OK) fwrite(svg.ptr, 1, svg.len, f);
        mla_buf_dispose(&svg);
    }
    put(f, "<!--/mlaudit:svg--></div>\n</section>\n");
    return rc;
}

static void table(FILE *f, const mla_report *r, const mla_report_table *t)
{
    put(f, "<section id=\"t-");
    esc(f, t->id);
    put(f, "\">\n<h2>");
    esc(f, t->title);
    put(f, "</h2>\n");
    if (t->intro) {
        put(f, "<p class=\"intro\">");
        esc(f, t->intro);
        put(f, "</p>\n");
    }
    put(f, "<table>\n<thead><tr>");
    for (size_t c = 0; c < t->n_cols; c++) {
        put(f, "<th scope=\"col\">");
        esc(f, t->cols[c]);
        put(f, "</th>");
    }
    put(f, "</tr></thead>\n<tbody>\n");
    for (size_t row = 0; row < t->n_rows; row++) {
        put(f, "<tr>");
        for (size_t c = 0; c < t->n_cols; c++) {
            const mla_report_cell *cell = &t->cells[row * t->n_cols + c];
            put(f, "<td>");
            if (cell->seq != MLA_REPORT_NO_SEQ) {
                /* report_int.h: the fact's anchor names table, row and column. */
                put(f, "<a class=\"fact\" id=\"f-");
                esc(f, t->id);
                fprintf(f, "-%zu-%zu\" href=\"", row, c);
                href(f, r, cell->seq);
                put(f, "\">");
                esc(f, cell->text);
                put(f, "</a>");
            } else {
                esc(f, cell->text);
            }
            put(f, "</td>");
        }
        put(f, "</tr>\n");
    }
    put(f, "</tbody>\n</table>\n");
    if (t->note) {
        put(f, "<p class=\"note\">");
        esc(f, t->note);
        put(f, "</p>\n");
    }
    put(f, "</section>\n");
}

static mla_status how_to_verify(FILE *f, const mla_report *r)
{
    put(f, "<section id=\"regulation\">\n<h2>Regulation</h2>\n<p>");
    esc(f, mla_report__regulatory_text(r->kind));
    put(f, "</p>\n</section>\n<section id=\"verify\">\n<h2>How to verify</h2>\n<p>This page "
           "embeds its evidence: the signed checkpoint, every cited entry's verbatim bytes with "
           "its inclusion proof");
    if (r->ev.has_range) put(f, ", the contiguous range of entries proven by the hash chain");
    if (r->ev.has_resolution) put(f, ", the decision's resolution");
    put(f, ". Anyone holding the log's verifier key checks it offline, with no server:</p>\n"
           "<pre><code>mlaudit verify REPORT.html --log-key '");
    MLA_TRY(vkey(f, r));
    put(f, "' --admin-key ADMIN.pub</code></pre>\n<p>It re-checks the checkpoint's signature, "
           "every entry's leaf hash and inclusion proof, every envelope signature against the key "
           "registry replayed from the trust root (the --admin-key files), and that every fact "
           "on this page is backed by an embedded entry; on a tampered report it names the "
           "failing fact and exits non-zero. Take the verifier key and the admin keys from a "
           "source you trust, not from this page.</p>\n</section>\n");
    return MLA_OK;
}

static void evidence(FILE *f, const mla_report *r)
{
    char n[32], t[MLA_REPORT_TIME_LEN];
    mla_buf id;
    mla_buf_init(&id, SIZE_MAX);
    mla_report__count(n, r->ev.n_entries);
    put(f, "<section id=\"evidence\">\n<h2>Evidence</h2>\n<p class=\"intro\">");
    fprintf(f, "%s %s embedded with %s inclusion %s in the tree of the checkpoint above.", n,
            r->ev.n_entries == 1 ? "entry is" : "entries are",
            r->ev.n_entries == 1 ? "its" : "their", r->ev.n_entries == 1 ? "proof" : "proofs");
    put(f, "</p>\n<table>\n<thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Ledger "
           "time</th><th scope=\"col\">Kind</th><th scope=\"col\">Subject</th><th "
           "scope=\"col\">Leaf hash</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->ev.n_entries; i++) {
        const mla_report_entry *e = &r->ev.entries[i];
        fprintf(f, "<tr id=\"e-%llu\"><td>%llu</td><td>", (unsigned long long)e->seq,
                (unsigned long long)e->seq);
        if (e->entry) {
            mla_report__time(t, e->entry->ledger_time_ns);
            put(f, t);
        }
        put(f, "</td><td>");
        if (e->change)
            put(f, mla_codec_kind_name(e->change->kind));
        else if (e->entry && e->entry->envelope)
            esc(f, e->entry->envelope->payload_type);
        else
            put(f, "(redacted)");
        put(f, "</td><td>");
        if (e->change && e->change->subject &&
            mla_report__identity(&id, e->change->subject) == MLA_OK)
            esc(f, (const char *)id.ptr);
        put(f, "</td><td><code>");
        hex32(f, e->leaf.b);
        put(f, "</code></td></tr>\n");
    }
    if (r->ev.has_range) {
        mla_report__count(n, r->ev.range_last - r->ev.range_first + 1);
        fprintf(f,
                "<tr id=\"range\"><td colspan=\"5\">Entries %llu to %llu (%s entries), embedded in "
                "full and proven by the hash chain (each entry's prev_hash is the leaf hash of the "
                "one before) and the inclusion proof of entry %llu.</td></tr>\n",
                (unsigned long long)r->ev.range_first, (unsigned long long)r->ev.range_last, n,
                (unsigned long long)r->ev.range_last);
    }
    put(f, "</tbody>\n</table>\n</section>\n");
    mla_buf_dispose(&id);
}

mla_status mla_report__html_write(const mla_report *r, FILE *out,
                                  const mla_report_render_opts *opts)
{
    static const mla_report_render_opts none = {{NULL, 0}, {NULL, 0}};
    if (!opts) opts = &none;
    FILE *f = out;
    put(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; img-src data:\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"");
    esc(f, r->generator ? r->generator : "");
    put(f, "\">\n<title>");
    esc(f, r->title ? r->title : "");
    put(f, "</title>\n<style>\n");
    put(f, css);
    put(f, "</style>\n</head>\n<body>\n");
    MLA_TRY(header(f, r));
    put(f, "<main>\n");
    summary(f, r);
    MLA_TRY(graph(f, r, opts));
    for (size_t i = 0; i < r->n_tables; i++) table(f, r, &r->tables[i]);
    MLA_TRY(how_to_verify(f, r));
    evidence(f, r);
    put(f, "</main>\n<footer><p>");
    esc(f, r->generator ? r->generator : "");
    put(f, ". The JSON form of this report is embedded below for machine verification.</p>"
           "</footer>\n<script type=\"application/json\" id=\"mlaudit-report\">");
    if (opts->embed_json.len)
        fwrite(opts->embed_json.ptr, 1, opts->embed_json.len, f);
    else
        MLA_TRY(mla_report__json_write(r, f, true));
    put(f, "</script>\n</body>\n</html>\n");
    if (ferror(f)) return mla_err(MLA_EIO, "report: writing the HTML failed");
    return MLA_OK;
}
