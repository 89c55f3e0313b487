/* cli_query: `mlaudit query` — entries by kind, subject, target, actor and
 * time (SPEC §4 Query), one line each. Also what the other ML-semantics
 * commands share: the RFC 3339 parser, decoded entries, and a paged Query
 * walk (mla_client_query_page checks each page's entries match what was
 * asked; the walk checks the pages ascend). */
#include <string.h>
#include <strings.h>

#include "cli.h"

/* ---- time --------------------------------------------------------------- */

mla_status cli_time_parse(int64_t *out, const char *s, const char *field)
{
    static const char want[] = "want RFC 3339 such as 2026-11-23T10:00:00Z or "
                               "2026-11-23T10:00:00.5+01:00, or \"now\"";
    if (!strcasecmp(s, "now")) {
        *out = mla_time_now_ns();
        return MLA_OK;
    }
    mla_time_parsed t;
    unsigned bad = mla_time_parse(&t, s, MLA_TIME_SPACE);
    if (bad & MLA_TIME_E_FORM)
        return mla_err(MLA_EINVAL, "%s: \"%s\" is not a time (%s)", field, s, want);
    if (bad & MLA_TIME_E_FRACTION)
        return mla_err(MLA_EINVAL, "%s: \"%s\": want 1 to 9 digits of fractional seconds", field,
                       s);
    if (bad & MLA_TIME_E_ZONE)
        return mla_err(MLA_EINVAL, "%s: \"%s\": no time zone (end with Z or +HH:MM; %s)", field, s,
                       want);
    if (bad & MLA_TIME_E_END)
        return mla_err(MLA_EINVAL, "%s: \"%s\": unexpected \"%s\" at the end (%s)", field, s,
                       t.rest, want);
    if (bad & MLA_TIME_E_DATE) return mla_err(MLA_EINVAL, "%s: \"%s\": no such date", field, s);
    if (bad & MLA_TIME_E_CLOCK)
        return mla_err(MLA_EINVAL, "%s: \"%s\": hour, minute or second out of range", field, s);
    if (t.year < 1678 || t.year > 2261)
        return mla_err(MLA_EINVAL,
                       "%s: \"%s\": year %u outside 1678..2261 (nanoseconds since 1970 "
                       "in 64 bits)",
                       field, s, t.year);
    if (bad) return mla_err(MLA_EINVAL, "%s: \"%s\": out of range", field, s);
    *out = t.ns;
    return MLA_OK;
}

int cli_time_opt(cli_ctx *ctx, const char *flag, int64_t *out, bool *given)
{
    const char *v = cli_opt(ctx, flag);
    *given = v != NULL;
    if (!v) return CLI_EXIT_OK;
    char field[64];
    snprintf(field, sizeof field, "--%s", flag);
    if (cli_time_parse(out, v, field) != MLA_OK) return cli_usage(ctx, "%s", mla_error_last()->msg);
    return CLI_EXIT_OK;
}

int cli_identity_arg(cli_ctx *ctx, const char *what, const char *s)
{
    cli_arena a = {NULL, 0, 0};
    mla_pb_artifact *art;
    mla_status rc = cli_artifact_parse(&art, &a, s, what);
    bool long_part =
        rc == MLA_OK && (strlen(art->type) > MLA_LIMIT_NAME || strlen(art->name) > MLA_LIMIT_NAME ||
                         strlen(art->version) > MLA_LIMIT_NAME);
    cli_arena_free(&a);
    if (rc == MLA_ENOMEM) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
    if (rc != MLA_OK) return cli_usage(ctx, "%s", mla_error_last()->msg);
    if (long_part)
        return cli_usage(ctx, "%s: \"%.40s...\": a part is longer than %d bytes", what, s,
                         MLA_LIMIT_NAME);
    return CLI_EXIT_OK;
}

void cli_fmt_double(char out[40], double v)
{
    snprintf(out, 40, "%.15g", v);
    if (strtod(out, NULL) != v) snprintf(out, 40, "%.17g", v);
}

/* Digits after the point in v's shortest round-trip form; -1 when that
 * form has an exponent. */
static int decimals(double v)
{
    char s[40];
    cli_fmt_double(s, v);
    if (strchr(s, 'e') || strchr(s, 'E') || strchr(s, 'n') || strchr(s, 'i')) return -1;
    const char *dot = strchr(s, '.');
    return dot ? (int)strlen(dot + 1) : 0;
}

void cli_fmt_delta(char out[48], double a, double b)
{
    double d = b - a;
    int da = decimals(a), db = decimals(b), n = da > db ? da : db;
    if (da < 0 || db < 0 || n > 17)
        snprintf(out, 48, "%+.6g", d);
    else
        snprintf(out, 48, "%+.*f", n, d);
}

bool cli_metric_lower_is_better(const char *name)
{
    return strcasestr(name, "loss") || strcasestr(name, "latency") || strcasestr(name, "error");
}

/* ---- entries ------------------------------------------------------------- */

void cli_artifact_identity(char out[CLI_IDENTITY_MAX], const mla_pb_artifact *a)
{
    out[0] = '\0';
    if (a)
        snprintf(out, CLI_IDENTITY_MAX, "%s:%s@%s", a->type ? a->type : "", a->name ? a->name : "",
                 a->version ? a->version : "");
}

mla_status cli_rec_open(cli_rec *out, uint64_t seq, mla_slice bytes)
{
    memset(out, 0, sizeof *out);
    out->seq = seq;
    snprintf(out->time, sizeof out->time, "(redacted)");
    if (!bytes.len) return MLA_OK;
    if (mla_codec_entry_decode(&out->entry, bytes) != MLA_OK)
        return mla_err(MLA_ECORRUPT, "entry %llu: %s", (unsigned long long)seq,
                       mla_error_last()->msg);
    if (out->entry->seq != seq) {
        uint64_t got = out->entry->seq;
        cli_rec_close(out);
        return mla_err(MLA_ECORRUPT, "entry %llu: its bytes say seq %llu", (unsigned long long)seq,
                       (unsigned long long)got);
    }
    out->time_ns = out->entry->ledger_time_ns;
    mla_time_format(out->time, out->time_ns, false);
    const mla_pb_envelope *env = out->entry->envelope;
    if (strcmp(env->payload_type, MLA_PAYLOAD_TYPE_CHANGE) != 0) return MLA_OK;
    if (mla_codec_change_decode(&out->change,
                                mla_slice_make(env->payload.data, env->payload.len)) != MLA_OK) {
        char msg[MLA_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
        cli_rec_close(out);
        return mla_err(MLA_ECORRUPT, "entry %llu: its change does not decode: %s",
                       (unsigned long long)seq, msg);
    }
    out->kind = out->change->kind;
    cli_artifact_identity(out->subject, out->change->subject);
    return MLA_OK;
}

void cli_rec_close(cli_rec *r)
{
    mla_codec_change_free(r->change);
    mla_codec_entry_free(r->entry);
    r->change = NULL;
    r->entry = NULL;
}

const Mlaudit__V1__Change__MetricsEntry *cli_change_metric(const mla_pb_change *c, const char *name)
{
    for (size_t i = 0; c && i < c->n_metrics; i++)
        if (!strcmp(c->metrics[i]->key, name)) return c->metrics[i];
    return NULL;
}

int cli_note_advance(cli_ctx *ctx, mla_slice note, const char *what, mla_checkpoint *cp_out)
{
    mla_checkpoint cp;
    if (!cp_out) cp_out = &cp;
    if (mla_note_checkpoint_open(cp_out, note, &ctx->verifier, 1) != MLA_OK)
        return cli_fail(ctx, CLI_EXIT_NO, "%s: the checkpoint does not verify with --log-key: %s",
                        what, mla_error_last()->msg);
    if (cp_out->size > ctx->cp.size) return cli_state_advance(ctx, note, cp_out);
    /* Not newer than the one cli_connect checked (and remembered): prove it
     * is a prefix of that one, without touching the remembered state that a
     * concurrent mlaudit may have moved further on. */
    mla_status rc = mla_client_consistency_verify(ctx->client, cp_out, &ctx->cp);
    if (rc == MLA_ECORRUPT)
        return cli_fail(ctx, CLI_EXIT_NO,
                        "REFUSED: %s: the checkpoint of size %llu is not a prefix of the latest "
                        "(size %llu): the log forked or was rewritten (%s)",
                        what, (unsigned long long)cp_out->size, (unsigned long long)ctx->cp.size,
                        mla_error_last()->msg);
    if (rc != MLA_OK) return cli_fail_server(ctx, rc);
    return CLI_EXIT_OK;
}

/* ---- the Query walk ------------------------------------------------------- */

int cli_query_each(cli_ctx *ctx, const mla_client_query *q0, size_t limit, cli_rec_fn fn, void *arg)
{
    mla_client_query q = *q0;
    mla_buf token;
    mla_buf_init(&token, MLA_LIMIT_RPC_BYTES);
    mla_client_page page;
    memset(&page, 0, sizeof page);
    int code = CLI_EXIT_OK;
    size_t n_seen = 0;
    /* Seqs must strictly increase across pages too (mla_client_query_page
     * checks within one): bounds the walk. */
    uint64_t next_seq = 0;
    unsigned empty_pages = 0; /* ... and so must the pages */
    for (;;) {
        q.page_token = mla_buf_slice(&token);
        if (limit && (limit - n_seen) < (q0->page_size ? q0->page_size : 500))
            q.page_size = (uint32_t)(limit - n_seen);
        mla_status rc = mla_client_query_page(ctx->client, &q, &page);
        if (rc != MLA_OK) {
            code = cli_fail_server(ctx, rc);
            goto out;
        }
        for (size_t i = 0; i < page.n_entries; i++) {
            const mla_client_entry *ce = &page.entries[i];
            if (ce->seq < next_seq) {
                code = cli_fail(ctx, CLI_EXIT_NO,
                                "the server's query answer is out of order (seq %llu after "
                                "%llu)",
                                (unsigned long long)ce->seq, (unsigned long long)next_seq - 1);
                goto out;
            }
            next_seq = ce->seq + 1;
            cli_rec r;
            if ((rc = cli_rec_open(&r, ce->seq, mla_buf_slice(&ce->entry))) != MLA_OK) {
                code = cli_fail(ctx, CLI_EXIT_NO, "the server's query answer: %s",
                                mla_error_last()->msg);
                goto out;
            }
            code = fn(ctx, arg, &r);
            cli_rec_close(&r);
            n_seen++;
            if (code == CLI_STOP) {
                code = CLI_EXIT_OK;
                goto out;
            }
            if (code != CLI_EXIT_OK) goto out;
            if (limit && n_seen >= limit) goto out;
        }
        if (!page.next_page_token.len) break;
        empty_pages = page.n_entries ? 0 : empty_pages + 1;
        if (empty_pages > 1000) {
            code = cli_fail(ctx, CLI_EXIT_NO,
                            "the server's query pages do not advance (1000 empty pages in a "
                            "row)");
            goto out;
        }
        if (mla_buf_set(&token, mla_buf_slice(&page.next_page_token)) != MLA_OK) {
            code = cli_fail(ctx, CLI_EXIT_IO, "query: page token: %s", mla_error_last()->msg);
            goto out;
        }
        mla_client_page_dispose(&page);
        memset(&page, 0, sizeof page);
    }
out:
    mla_client_page_dispose(&page);
    mla_buf_dispose(&token);
    return code;
}

/* ---- query ------------------------------------------------------------------ */

static const cli_flag query_flags[] = {
    {"kind", 0, "KIND", false, "model, dataset, ..., deployment, rollback, approval, key, ..."},
    {"type", 0, "TYPE", false, "subject type (model, dataset, ...)"},
    {"name", 0, "NAME", false, "subject name (needs --type)"},
    {"version", 0, "VERSION", false, "subject version (needs --type and --name)"},
    {"target", 0, "TARGET", false,
     "deployment target (deployments, rollbacks, retirements, "
     "decision batches)"},
    {"actor", 0, "WHO", false, "who made the change"},
    {"since", 0, "TIME", false, "ledger time from (inclusive): RFC 3339 or \"now\""},
    {"until", 0, "TIME", false, "ledger time to (exclusive): RFC 3339 or \"now\""},
    {"limit", 0, "N", false, "print at most N entries (default: all)"},
    {NULL, 0, NULL, false, NULL},
};

/* Parse the filters shared by query (and its JSON echo). */
static int query_parse(cli_ctx *ctx, mla_client_query *q)
{
    memset(q, 0, sizeof *q);
    const char *v = cli_opt(ctx, "kind");
    if (v && mla_codec_kind_parse(&q->kind, mla_slice_cstr(v)) != MLA_OK)
        return cli_usage(ctx,
                         "--kind: \"%s\" is not a kind (model, dataset, code, config, "
                         "environment, evaluation, deployment, rollback, approval, "
                         "decision_batch, document, key, retirement, redaction, import)",
                         v);
    q->subject_type = cli_opt(ctx, "type");
    q->subject_name = cli_opt(ctx, "name");
    q->subject_version = cli_opt(ctx, "version");
    q->target = cli_opt(ctx, "target");
    q->actor = cli_opt(ctx, "actor");
    if (q->subject_version && !q->subject_name)
        return cli_usage(ctx, "--version: needs --name (and --type)");
    if (q->subject_name && !q->subject_type)
        return cli_usage(ctx, "--name: needs --type (model, dataset, ...): names are per type");
    static const char *const names[] = {"type", "name", "version", "target", "actor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        v = cli_opt(ctx, names[i]);
        if (v && (!*v || strlen(v) > MLA_LIMIT_NAME))
            return cli_usage(ctx, "--%s: want 1 to %d bytes", names[i], MLA_LIMIT_NAME);
    }
    bool given;
    int code = cli_time_opt(ctx, "since", &q->from_time_ns, &given);
    if (code != CLI_EXIT_OK) return code;
    if ((code = cli_time_opt(ctx, "until", &q->to_time_ns, &given)) != CLI_EXIT_OK) return code;
    if (q->from_time_ns && q->to_time_ns && q->from_time_ns >= q->to_time_ns)
        return cli_usage(ctx, "--since must be before --until");
    return CLI_EXIT_OK;
}

typedef struct query_out {
    json_t *arr;
    size_t n;
} query_out;

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static int query_line(cli_ctx *ctx, void *arg, cli_rec *r)
{
    query_out *o = arg;
    o->n++;
    const mla_pb_change *c = r->change;
    if (ctx->json) {
        json_t *j = json_pack("{s:I}", "seq", (json_int_t)r->seq);
        if (!j) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        if (!r->entry) {
            json_object_set_new(j, "redacted", json_true());
        } else {
            json_object_set_new(j, "time", json_string(r->time));
            json_object_set_new(j, "ledger_time_ns", json_integer((json_int_t)r->time_ns));
            json_object_set_new(j, "kind",
                                json_string(c ? mla_codec_kind_name(c->kind) : "FOREIGN"));
            if (r->subject[0]) json_object_set_new(j, "subject", json_string(r->subject));
            const char *t = mla_codec_change_target(c);
            if (t) json_object_set_new(j, "target", json_string(t));
            if (c) json_object_set_new(j, "actor", json_string(c->actor ? c->actor : ""));
            if (c) json_object_set_new(j, "reason", json_string(c->reason ? c->reason : ""));
        }
        json_array_append_new(o->arr, j);
        return CLI_EXIT_OK;
    }
    if (!r->entry) {
        printf("%-6llu  %-30s  [redacted]\n", (unsigned long long)r->seq, "");
        return CLI_EXIT_OK;
    }
    char subj[CLI_IDENTITY_MAX + MLA_LIMIT_NAME + 8];
    const char *t = mla_codec_change_target(c);
    if (t && r->subject[0])
        snprintf(subj, sizeof subj, "%s on %s", r->subject, t);
    else
        snprintf(subj, sizeof subj, "%s", t ? t : or_dash(r->subject));
    printf("%-6llu  %-30s  %-14s  %-40s  %-12s  %s\n", (unsigned long long)r->seq, r->time,
           c ? mla_codec_kind_name(c->kind) : "FOREIGN", subj, or_dash(c ? c->actor : NULL),
           or_dash(c ? c->reason : NULL));
    return CLI_EXIT_OK;
}

static int query_run(cli_ctx *ctx)
{
    if (ctx->n_pos) return cli_usage(ctx, "%s: unexpected argument", ctx->pos[0]);
    mla_client_query q;
    int code = query_parse(ctx, &q);
    if (code != CLI_EXIT_OK) return code;
    uint64_t limit = 0;
    const char *v = cli_opt(ctx, "limit");
    if (v && (!cli_parse_u64(v, &limit) || limit == 0 || limit > 100000000))
        return cli_usage(ctx, "--limit: \"%s\" is not a count in 1..100000000", v);
    query_out o = {NULL, 0};
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    if (ctx->json && !(o.arr = json_array())) {
        code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        goto out;
    }
    if (!ctx->json)
        printf("%-6s  %-30s  %-14s  %-40s  %-12s  %s\n", "SEQ", "TIME", "KIND", "SUBJECT", "ACTOR",
               "REASON");
    if ((code = cli_query_each(ctx, &q, (size_t)limit, query_line, &o)) != CLI_EXIT_OK) goto out;
    if (ctx->json) {
        cli_json_print(json_pack("{s:I,s:I,s:o}", "tree_size", (json_int_t)ctx->cp.size, "count",
                                 (json_int_t)o.n, "entries", o.arr));
        o.arr = NULL;
    } else {
        fflush(stdout);
        fprintf(stderr, "%zu entr%s%s; each proven included in the signed checkpoint\n", o.n,
                o.n == 1 ? "y" : "ies", limit && o.n == limit ? " (--limit reached)" : "");
    }
out:
    json_decref(o.arr);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_query = {
    "query",
    "query [--kind K] [--type T [--name N [--version V]]] [--target X] [--actor A] "
    "[--since TIME] [--until TIME] [--limit N]",
    "List the entries matching every filter given: seq, time, kind, subject, actor, reason.",
    "Filters combine (all must hold). TIME is RFC 3339 (2026-11-23T10:00:00Z, with optional\n"
    "fractional seconds or a +HH:MM offset) or \"now\"; the range is [--since, --until) in\n"
    "ledger time. Every entry is proven included in the signed checkpoint and checked to\n"
    "match the filters. --json prints one document: {\"count\", \"entries\": [...]}.\n"
    "Example:\n"
    "  mlaudit query --kind deployment --target fraud-api --since 2026-11-01T00:00:00Z\n",
    query_flags,
    true,
    query_run,
};
