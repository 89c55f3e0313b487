/* cli_report: `mlaudit report lineage|decision|audit|diff ... -o FILE` — the
 * documents auditors read (SPEC §7), generated from one verified checkpoint
 * by reports/ and written as HTML, Markdown, JSON or PROV-JSON. The JSON and
 * HTML forms carry their evidence, so `mlaudit verify FILE` checks them. */
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "reports/report.h"

/* Longest -o path (FILE.tmp is built from it). */
#define OUT_PATH_MAX 4000
/* Largest --gap: a year. */
#define GAP_MAX_S (366ull * 24 * 3600)

static const cli_flag report_flags[] = {
    {"out", 'o', "FILE", false, "REQUIRED: where to write the report ('-' = standard output)"},
    {"format", 0, "FORMAT", false,
     "html, md, json or prov (default: from FILE's extension .html .md .json .prov.json "
     ".prov, else html)"},
    {"admin-key", 0, "PUBFILE", true,
     "the log's trust root, stated in the report (verify checks signatures against it)"},
    {"generated-at", 0, "TIME", false,
     "the generation time the report states (RFC 3339; default: $SOURCE_DATE_EPOCH if set, "
     "else now)"},
    {"depth", 0, "N", false, "lineage: follow at most N edges upstream (1..64; default: all)"},
    {"id", 0, "ID", false, "decision: the decision id"},
    {"target", 0, "TARGET", false,
     "decision: the deployment target (with --at, or to narrow --id)"},
    {"at", 0, "TIME", false, "decision: the moment asked about, with --target (RFC 3339 or now)"},
    {"from", 0, "TIME", false, "audit: first ledger time of the period (inclusive)"},
    {"to", 0, "TIME", false, "audit: end of the period (exclusive)"},
    {"from-seq", 0, "N", false, "audit: first seq (inclusive)"},
    {"to-seq", 0, "N", false, "audit: last seq (exclusive; default: the tree size)"},
    {"gap", 0, "SECONDS", false,
     "audit: list stretches of ledger time longer than this with no entry (default: 86400)"},
    {NULL, 0, NULL, false, NULL},
};

/* The flags that belong to one kind only. */
static const struct {
    const char *flag;
    mla_report_kind kind;
} kind_flags[] = {
    {"depth", MLA_REPORT_LINEAGE},  {"id", MLA_REPORT_DECISION},  {"target", MLA_REPORT_DECISION},
    {"at", MLA_REPORT_DECISION},    {"from", MLA_REPORT_AUDIT},   {"to", MLA_REPORT_AUDIT},
    {"from-seq", MLA_REPORT_AUDIT}, {"to-seq", MLA_REPORT_AUDIT}, {"gap", MLA_REPORT_AUDIT},
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

/* --format, or the format -o's extension names (html when it names none). */
static int format_choose(cli_ctx *ctx, const char *out, mla_report_format *f)
{
    const char *v = cli_opt(ctx, "format");
    if (v) {
        if (mla_report_format_parse(f, v) != MLA_OK)
            return cli_usage(ctx, "--format: \"%s\" is not html, md, json or prov", v);
        return CLI_EXIT_OK;
    }
    if (ends_with(out, ".prov.json") || ends_with(out, ".prov") || ends_with(out, ".provjson"))
        *f = MLA_REPORT_PROV;
    else if (ends_with(out, ".json"))
        *f = MLA_REPORT_JSON;
    else if (ends_with(out, ".md") || ends_with(out, ".markdown"))
        *f = MLA_REPORT_MD;
    else
        *f = MLA_REPORT_HTML;
    return CLI_EXIT_OK;
}

/* --generated-at, else SOURCE_DATE_EPOCH (reproducible builds' convention:
 * seconds since 1970 UTC), else NULL (now). */
static int generated_at_choose(cli_ctx *ctx, char out[48], const char **gen)
{
    const char *v = cli_opt(ctx, "generated-at");
    int64_t ns;
    *gen = NULL;
    if (v) {
        if (!strcasecmp(v, "now")) return CLI_EXIT_OK;
        if (cli_time_parse(&ns, v, "--generated-at") != MLA_OK)
            return cli_usage(ctx, "%s", mla_error_last()->msg);
    } else if ((v = getenv("SOURCE_DATE_EPOCH")) && *v) {
        uint64_t s;
        if (!cli_parse_u64(v, &s) || s > (uint64_t)INT64_MAX / 1000000000u)
            return cli_usage(ctx,
                             "SOURCE_DATE_EPOCH: \"%s\" is not a count of seconds since "
                             "1970-01-01T00:00:00Z",
                             v);
        ns = (int64_t)s * 1000000000;
    } else {
        return CLI_EXIT_OK;
    }
    mla_time_format(out, ns, true);
    *gen = out;
    return CLI_EXIT_OK;
}

static int lineage_args(cli_ctx *ctx, mla_report_request *req)
{
    if (ctx->n_pos != 2)
        return cli_usage(ctx, "ARTIFACT: required — one type:name@version after `lineage` "
                              "(e.g. model:fraud-detector@3)");
    int code = cli_identity_arg(ctx, "ARTIFACT", ctx->pos[1]);
    if (code != CLI_EXIT_OK) return code;
    req->identity = ctx->pos[1];
    const char *v = cli_opt(ctx, "depth");
    uint64_t depth = 0;
    if (v && (!cli_parse_u64(v, &depth) || depth < 1 || depth > MLA_INDEX_LINEAGE_DEPTH_MAX))
        return cli_usage(ctx, "--depth: \"%s\" is not a depth in 1..%d", v,
                         MLA_INDEX_LINEAGE_DEPTH_MAX);
    req->depth = (unsigned)depth;
    return CLI_EXIT_OK;
}

static int decision_args(cli_ctx *ctx, mla_report_request *req)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx,
                         "%s: unexpected argument (a decision report takes --id ID, or "
                         "--target TARGET --at TIME)",
                         ctx->pos[1]);
    req->decision_id = cli_opt(ctx, "id");
    req->target = cli_opt(ctx, "target");
    bool given;
    int code = cli_time_opt(ctx, "at", &req->at_ns, &given);
    if (code != CLI_EXIT_OK) return code;
    if (req->decision_id && given)
        return cli_usage(ctx, "--at: not with --id (a decision has its own time); give --id ID, "
                              "or --target TARGET --at TIME");
    if (!req->decision_id && !req->target)
        return cli_usage(ctx, "--id: required — the decision id (or --target TARGET --at TIME: "
                              "what served a target at a moment)");
    if (!req->decision_id && !given)
        return cli_usage(ctx, "--at: required with --target (the moment asked about), unless "
                              "--id names a decision");
    if (req->decision_id &&
        (!*req->decision_id || strlen(req->decision_id) > MLA_LIMIT_DECISION_ID))
        return cli_usage(ctx, "--id: want 1 to %d bytes", MLA_LIMIT_DECISION_ID);
    if (req->target && (!*req->target || strlen(req->target) > MLA_LIMIT_NAME))
        return cli_usage(ctx, "--target: want 1 to %d bytes", MLA_LIMIT_NAME);
    return CLI_EXIT_OK;
}

static int seq_opt(cli_ctx *ctx, const char *flag, uint64_t *out, bool *given)
{
    const char *v = cli_opt(ctx, flag);
    *given = v != NULL;
    if (v && !cli_parse_u64(v, out))
        return cli_usage(ctx, "--%s: \"%s\" is not an entry seq", flag, v);
    return CLI_EXIT_OK;
}

static int audit_args(cli_ctx *ctx, mla_report_request *req)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx,
                         "%s: unexpected argument (an audit report takes --from/--to TIME "
                         "and --from-seq/--to-seq N)",
                         ctx->pos[1]);
    bool from_t, to_t, from_s, to_s;
    int code;
    if ((code = cli_time_opt(ctx, "from", &req->from_ns, &from_t)) != CLI_EXIT_OK ||
        (code = cli_time_opt(ctx, "to", &req->to_ns, &to_t)) != CLI_EXIT_OK ||
        (code = seq_opt(ctx, "from-seq", &req->from_seq, &from_s)) != CLI_EXIT_OK ||
        (code = seq_opt(ctx, "to-seq", &req->to_seq, &to_s)) != CLI_EXIT_OK)
        return code;
    /* 0 means "unbounded" to the request: a period starting or ending at
     * the epoch itself is no period of a ledger. */
    if ((from_t && req->from_ns <= 0) || (to_t && req->to_ns <= 0))
        return cli_usage(ctx, "--%s: must be after 1970-01-01T00:00:00Z",
                         from_t && req->from_ns <= 0 ? "from" : "to");
    if (from_t && to_t && req->from_ns >= req->to_ns)
        return cli_usage(ctx, "--to: must be after --from (the period is [from, to))");
    if (to_s && req->to_seq == 0)
        return cli_usage(ctx, "--to-seq: must be at least 1 (the range is [from-seq, to-seq))");
    if (to_s && req->from_seq >= req->to_seq)
        return cli_usage(ctx, "--to-seq: must be above --from-seq (the range is [from-seq, "
                              "to-seq))");
    const char *v = cli_opt(ctx, "gap");
    uint64_t gap = 0;
    if (v && (!cli_parse_u64(v, &gap) || gap < 1 || gap > GAP_MAX_S))
        return cli_usage(ctx, "--gap: \"%s\" is not a number of seconds in 1..%llu", v,
                         (unsigned long long)GAP_MAX_S);
    req->gap_ns = (int64_t)gap * 1000000000;
    return CLI_EXIT_OK;
}

static int diff_args(cli_ctx *ctx, mla_report_request *req)
{
    if (ctx->n_pos != 3)
        return cli_usage(ctx, "ARTIFACT_A ARTIFACT_B: required — the two versions to compare "
                              "(e.g. model:fraud-detector@2 model:fraud-detector@3)");
    int code;
    if ((code = cli_identity_arg(ctx, "ARTIFACT_A", ctx->pos[1])) != CLI_EXIT_OK ||
        (code = cli_identity_arg(ctx, "ARTIFACT_B", ctx->pos[2])) != CLI_EXIT_OK)
        return code;
    if (!strcmp(ctx->pos[1], ctx->pos[2]))
        return cli_usage(ctx, "ARTIFACT_B: the same as ARTIFACT_A (%s); name two versions",
                         ctx->pos[1]);
    req->identity = ctx->pos[1];
    req->identity_b = ctx->pos[2];
    return CLI_EXIT_OK;
}

/* What a failed generation means for the exit code: the request (2), what
 * the ledger does not hold (3), a server whose answer does not verify (1),
 * or the connection (4). */
static int generate_failed(cli_ctx *ctx, mla_status rc)
{
    const char *msg = mla_error_last()->msg;
    switch (rc) {
    case MLA_EINVAL: return cli_usage(ctx, "%s", msg);
    case MLA_ENOTFOUND: return cli_fail(ctx, CLI_EXIT_REFUSED, "not in the ledger: %s", msg);
    default: return cli_fail_server(ctx, rc);
    }
}

typedef struct render_job {
    const mla_report *r;
    mla_report_format format;
} render_job;

static mla_status render_to(void *arg, FILE *f)
{
    const render_job *job = arg;
    return mla_report_render(job->r, job->format, f, NULL);
}

/* Facts: every statement and table cell the verifier compares; cited: those
 * taken from one entry. */
static void count_facts(const mla_report *r, uint64_t *facts, uint64_t *cited)
{
    *facts = r->n_summary;
    *cited = 0;
    for (size_t i = 0; i < r->n_summary; i++) *cited += r->summary[i].seq != MLA_REPORT_NO_SEQ;
    for (size_t t = 0; t < r->n_tables; t++) {
        const mla_report_table *tb = &r->tables[t];
        size_t n = tb->n_rows * tb->n_cols;
        *facts += n;
        for (size_t i = 0; i < n; i++) *cited += tb->cells[i].seq != MLA_REPORT_NO_SEQ;
    }
}

static int report_run(cli_ctx *ctx)
{
    if (ctx->n_pos < 1) return cli_usage(ctx, "KIND: required — lineage, decision, audit or diff");
    mla_report_request req;
    memset(&req, 0, sizeof req);
    if (mla_report_kind_parse(&req.kind, ctx->pos[0]) != MLA_OK)
        return cli_usage(ctx, "KIND: \"%s\" is not lineage, decision, audit or diff", ctx->pos[0]);
    for (size_t i = 0; i < sizeof kind_flags / sizeof kind_flags[0]; i++)
        if (kind_flags[i].kind != req.kind && cli_has(ctx, kind_flags[i].flag))
            return cli_usage(ctx, "--%s: only for `mlaudit report %s`, not %s", kind_flags[i].flag,
                             mla_report_kind_name(kind_flags[i].kind), ctx->pos[0]);
    const char *out = cli_opt(ctx, "out");
    if (!out || !*out)
        return cli_usage(ctx, "-o: required — the file to write (FILE.html, FILE.md, FILE.json, "
                              "FILE.prov.json, or - for standard output)");
    if (strlen(out) > OUT_PATH_MAX) return cli_usage(ctx, "-o: longer than %d bytes", OUT_PATH_MAX);
    mla_report_format format;
    char gen_buf[48];
    int code;
    if ((code = format_choose(ctx, out, &format)) != CLI_EXIT_OK ||
        (code = generated_at_choose(ctx, gen_buf, &req.generated_at)) != CLI_EXIT_OK)
        return code;
    switch (req.kind) {
    case MLA_REPORT_LINEAGE: code = lineage_args(ctx, &req); break;
    case MLA_REPORT_DECISION: code = decision_args(ctx, &req); break;
    case MLA_REPORT_AUDIT: code = audit_args(ctx, &req); break;
    case MLA_REPORT_DIFF: code = diff_args(ctx, &req); break;
    }
    if (code != CLI_EXIT_OK) return code;
    mla_pubkey admin[CLI_MAX_KEYS];
    size_t n_admin = 0;
    if ((code = cli_pubkeys_load(ctx, "admin-key", admin, &n_admin)) != CLI_EXIT_OK) return code;
    req.admin_keys = admin;
    req.n_admin_keys = n_admin;

    mla_report *r = NULL;
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    req.log_key = &ctx->verifier;
    mla_status rc = mla_report_generate(&r, ctx->client, &req);
    if (rc != MLA_OK) {
        code = generate_failed(ctx, rc);
        goto out;
    }
    /* The report's checkpoint must extend (or be) the one remembered. */
    if ((code = cli_note_advance(ctx, mla_buf_slice(&r->ev.checkpoint), "report", NULL)) !=
        CLI_EXIT_OK)
        goto out;
    bool to_stdout = !strcmp(out, "-");
    /* A file is rendered into FILE.tmp and renamed: a reader never sees half
     * a report. */
    render_job job = {r, format};
    rc = to_stdout ? render_to(&job, stdout)
                   : cli_file_write_with(out, false, 0644, "-o: ", render_to, &job);
    if (rc != MLA_OK) {
        code = cli_fail(ctx, CLI_EXIT_IO, "%s", mla_error_last()->msg);
        goto out;
    }
    uint64_t facts, cited;
    count_facts(r, &facts, &cited);
    uint64_t n_range = r->ev.has_range ? r->ev.range_last - r->ev.range_first + 1 : 0;
    const char *kind = mla_report_kind_name(req.kind);
    if (ctx->json && !to_stdout) {
        json_t *j =
            json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "path", out, "kind", kind, "format",
                      mla_report_format_name(format), "facts", (json_int_t)facts,
                      "facts_citing_entries", (json_int_t)cited, "entries",
                      (json_int_t)r->ev.n_entries, "range_entries", (json_int_t)n_range,
                      "tree_size", (json_int_t)r->ev.cp.size, "generated_at", r->generated_at);
        if (!j) {
            code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
            goto out;
        }
        cli_json_print(j);
        goto out;
    }
    /* With -o - the report is standard output: the summary goes to stderr. */
    FILE *say = to_stdout ? stderr : stdout;
    char range[96] = "";
    if (r->ev.has_range)
        snprintf(range, sizeof range, " (and %llu chained, seq %llu..%llu)",
                 (unsigned long long)n_range, (unsigned long long)r->ev.range_first,
                 (unsigned long long)r->ev.range_last);
    if (!to_stdout) fprintf(say, "%s\n", out);
    fprintf(say,
            "%s report (%s): %llu facts (%llu citing an entry), %zu entries embedded%s, "
            "checkpoint size %llu\n",
            kind, mla_report_format_name(format), (unsigned long long)facts,
            (unsigned long long)cited, r->ev.n_entries, range, (unsigned long long)r->ev.cp.size);
out:
    mla_report_free(r);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_report = {
    "report",
    "report KIND ... -o FILE [--format html|md|json|prov] [--admin-key PUB] [--generated-at T]\n"
    "       mlaudit report lineage ARTIFACT [--depth N] -o FILE\n"
    "       mlaudit report decision (--id ID [--target TARGET] | --target TARGET --at TIME) -o "
    "FILE\n"
    "       mlaudit report audit [--from TIME] [--to TIME] [--from-seq N] [--to-seq N] [--gap S] "
    "-o FILE\n"
    "       mlaudit report diff ARTIFACT_A ARTIFACT_B -o FILE",
    "Write a verifiable report: lineage, decision, audit or diff (SPEC §7).",
    "lineage: an artifact's upstream graph, training data, code, config and environment,\n"
    "  evaluations with deltas to the previous version, approvals, the production\n"
    "  checklist and deployment history.\n"
    "decision: which model made decision ID (or served TARGET at TIME), the proof chain in\n"
    "  plain words, that model's lineage, and what the receipt does and does not prove.\n"
    "audit: every change in a period [--from, --to) or seq range [--from-seq, --to-seq):\n"
    "  by kind and actor, deployments and rollbacks, policy violations, key events,\n"
    "  redactions, gaps in time longer than --gap seconds, and the integrity result.\n"
    "diff: two versions side by side: parameters, data, code, environment, metrics.\n"
    "\n"
    "Every fact cites the seq of its entry; every report states the checkpoint it was\n"
    "built against (verified with --log-key and consistent with the remembered one), the\n"
    "log's verifier key, the trust root given with --admin-key, and when and by which\n"
    "version of mlaudit it was generated. HTML is self-contained (inline CSS and SVG, no\n"
    "network) and embeds the JSON form; JSON carries every cited entry with its inclusion\n"
    "proof and the signed checkpoint, so `mlaudit verify FILE` checks HTML and JSON reports\n"
    "offline. PROV-JSON is W3C PROV for provenance tools. The file is written to FILE.tmp\n"
    "and renamed into place. Set SOURCE_DATE_EPOCH (or --generated-at) for byte-identical\n"
    "output from the same ledger.\n"
    "Prints the path and a summary line (kind, facts, entries embedded, checkpoint size).\n"
    "An artifact or decision the ledger does not hold is refused (exit 3).\n",
    report_flags,
    true,
    report_run,
};
