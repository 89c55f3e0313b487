/* cli_lineage: `mlaudit lineage ARTIFACT [--down] [--depth N]` — what an
 * artifact was built from (or what was built from it) as an indented tree,
 * role and entry seq per edge (SPEC §4 GetLineage). Each edge is proven by
 * the client; the checkpoint is checked against the remembered one. */
#include <string.h>

#include "cli.h"

/* Deeper than this the tree is cut with "..." (the server's own maximum
 * depth is MLA_INDEX_LINEAGE_DEPTH_MAX = 64). */
#define TREE_LEVELS_MAX 64

typedef struct tree {
    const mla_client_lineage_graph *l;
    bool down;
    size_t *order; /* edge indexes sorted by parent end (to, or from when down) */
    bool *expanded; /* per position in order: that parent was printed expanded */
    char prefix[TREE_LEVELS_MAX * 8 + 1];
    size_t n_printed;
} tree;

static const char *parent_of(const tree *t, const mla_client_edge *e)
{
    return t->down ? e->from : e->to;
}

static const char *child_of(const tree *t, const mla_client_edge *e)
{
    return t->down ? e->to : e->from;
}

static const tree *sort_tree; /* qsort has no context argument in C11 */
static int by_parent(const void *a, const void *b)
{
    const mla_client_edge *ea = &sort_tree->l->edges[*(const size_t *)a];
    const mla_client_edge *eb = &sort_tree->l->edges[*(const size_t *)b];
    int c = strcmp(parent_of(sort_tree, ea), parent_of(sort_tree, eb));
    if (c) return c;
    c = strcmp(ea->role, eb->role);
    if (c) return c;
    c = strcmp(child_of(sort_tree, ea), child_of(sort_tree, eb));
    if (c) return c;
    return ea->seq < eb->seq ? -1 : ea->seq > eb->seq;
}

/* First position in order whose parent is node, or n_edges. */
static size_t first_child(const tree *t, const char *node)
{
    size_t lo = 0, hi = t->l->n_edges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(parent_of(t, &t->l->edges[t->order[mid]]), node) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void print_children(tree *t, const char *node, unsigned level)
{
    size_t i = first_child(t, node), n = t->l->n_edges;
    if (i >= n || strcmp(parent_of(t, &t->l->edges[t->order[i]]), node)) return;
    if (t->expanded[i]) return; /* printed in full above */
    t->expanded[i] = true;
    size_t plen = strlen(t->prefix);
    for (; i < n; i++) {
        const mla_client_edge *e = &t->l->edges[t->order[i]];
        if (strcmp(parent_of(t, e), node)) break;
        bool last = i + 1 >= n || strcmp(parent_of(t, &t->l->edges[t->order[i + 1]]), node);
        const char *child = child_of(t, e);
        size_t c = first_child(t, child);
        bool has_kids = c < n && !strcmp(parent_of(t, &t->l->edges[t->order[c]]), child);
        bool again = has_kids && t->expanded[c];
        printf("%s%s%s  (%s, seq %llu)%s\n", t->prefix, last ? "└─ " : "├─ ", child, e->role,
               (unsigned long long)e->seq, again ? "  [see above]" : "");
        t->n_printed++;
        if (!has_kids || again) continue;
        if (level + 1 >= TREE_LEVELS_MAX) {
            printf("%s%s...\n", t->prefix, last ? "   " : "│  ");
            continue;
        }
        snprintf(t->prefix + plen, sizeof t->prefix - plen, "%s", last ? "   " : "│  ");
        print_children(t, child, level + 1);
        t->prefix[plen] = '\0';
    }
}

static const cli_flag lineage_flags[] = {
    {"down", 0, NULL, false, "downstream: what was built from ARTIFACT (default: upstream)"},
    {"depth", 0, "N", false, "follow at most N edges from ARTIFACT (1..64; default: all)"},
    {NULL, 0, NULL, false, NULL},
};

static json_t *lineage_json(const char *artifact, bool down, unsigned depth,
                            const mla_client_lineage_graph *l, const mla_checkpoint *cp)
{
    json_t *edges = json_array(), *entries = json_array();
    for (size_t i = 0; edges && i < l->n_edges; i++)
        json_array_append_new(edges, json_pack("{s:s,s:s,s:s,s:I}", "from", l->edges[i].from, "to",
                                               l->edges[i].to, "role", l->edges[i].role, "seq",
                                               (json_int_t)l->edges[i].seq));
    for (size_t i = 0; entries && i < l->n_entries; i++) {
        cli_rec r;
        if (cli_rec_open(&r, l->entries[i].seq, mla_buf_slice(&l->entries[i].entry)) != MLA_OK)
            continue; /* the client decoded these already */
        json_t *e = json_pack("{s:I,s:s}", "seq", (json_int_t)r.seq, "time", r.time);
        if (e && r.change) {
            json_object_set_new(e, "kind", json_string(mla_codec_kind_name(r.kind)));
            json_object_set_new(e, "subject", json_string(r.subject));
            json_object_set_new(e, "actor", json_string(r.change->actor ? r.change->actor : ""));
            json_object_set_new(e, "reason", json_string(r.change->reason ? r.change->reason : ""));
        }
        json_array_append_new(entries, e);
        cli_rec_close(&r);
    }
    return json_pack("{s:s,s:s,s:I,s:o,s:o,s:I,s:s%}", "artifact", artifact, "direction",
                     down ? "downstream" : "upstream", "depth", (json_int_t)depth, "edges", edges,
                     "entries", entries, "tree_size", (json_int_t)cp->size, "checkpoint",
                     (const char *)l->checkpoint.ptr, l->checkpoint.len);
}

static int lineage_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx, "ARTIFACT: required — one type:name@version (e.g. "
                              "model:fraud-detector@3)");
    const char *artifact = ctx->pos[0];
    int code = cli_identity_arg(ctx, "ARTIFACT", artifact);
    if (code != CLI_EXIT_OK) return code;
    bool down = cli_has(ctx, "down");
    uint64_t depth = 0;
    const char *v = cli_opt(ctx, "depth");
    if (v && (!cli_parse_u64(v, &depth) || depth < 1 || depth > 64))
        return cli_usage(ctx, "--depth: \"%s\" is not a depth in 1..64", v);
    mla_client_lineage_graph l;
    memset(&l, 0, sizeof l);
    tree t;
    memset(&t, 0, sizeof t);
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    mla_status rc = mla_client_lineage(ctx->client, artifact, down, (unsigned)depth, &l);
    if (rc == MLA_ENOTFOUND) {
        code = cli_fail(ctx, CLI_EXIT_REFUSED,
                        "ARTIFACT: %s was never recorded (neither as a subject nor as an input); "
                        "check the type, name and version (mlaudit query --type T --name N)",
                        artifact);
        goto out;
    }
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    mla_checkpoint cp;
    if ((code = cli_note_advance(ctx, mla_buf_slice(&l.checkpoint), "lineage", &cp)) != CLI_EXIT_OK)
        goto out;
    if (ctx->json) {
        json_t *j = lineage_json(artifact, down, (unsigned)depth, &l, &cp);
        if (!j) {
            code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
            goto out;
        }
        cli_json_print(j);
        goto out;
    }
    t.l = &l;
    t.down = down;
    t.order = mla_calloc(l.n_edges ? l.n_edges : 1, sizeof *t.order);
    t.expanded = mla_calloc(l.n_edges ? l.n_edges : 1, sizeof *t.expanded);
    if (!t.order || !t.expanded) {
        code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l.n_edges; i++) t.order[i] = i;
    sort_tree = &t;
    qsort(t.order, l.n_edges, sizeof *t.order, by_parent);
    sort_tree = NULL;
    printf("%s  (%s)\n", artifact,
           down ? "downstream: what was built from it" : "upstream: what it was built from");
    print_children(&t, artifact, 0);
    if (!l.n_edges) printf("   (no %s recorded)\n", down ? "artifact built from it" : "inputs");
    fflush(stdout);
    fprintf(stderr,
            "%zu edge%s from %zu entr%s, each entry proven included in the signed checkpoint "
            "of size %llu and checked to record its edge\n",
            l.n_edges, l.n_edges == 1 ? "" : "s", l.n_entries, l.n_entries == 1 ? "y" : "ies",
            (unsigned long long)cp.size);
out:
    mla_free(t.order);
    mla_free(t.expanded);
    mla_client_lineage_dispose(&l);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_lineage = {
    "lineage",
    "lineage ARTIFACT [--down] [--depth N]",
    "Show what an artifact was built from (or --down: what was built from it) as a tree.",
    "ARTIFACT is type:name@version (e.g. model:fraud-detector@3). Each line is one lineage\n"
    "edge: the artifact at the other end, its role (training-data, code, evaluated-model,\n"
    "...) and the seq of the entry that recorded it. An artifact reached twice is expanded\n"
    "once and marked [see above] after. Every entry behind an edge is proven included in\n"
    "the signed checkpoint and checked to record that edge. --json prints the edges and the\n"
    "entries behind them (seq, kind, subject, actor, reason) with the checkpoint.\n"
    "An artifact never recorded is refused (exit 3).\n",
    lineage_flags,
    true,
    lineage_run,
};
