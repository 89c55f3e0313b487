/* cli_watch: `mlaudit watch` — a monitor on the live tail (SPEC §4
 * Subscribe): one line per alert (metric regressions between versions,
 * unapproved production deployments, rollbacks, policy violations, key
 * events), optionally running a command per alert. */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "cli.h"

extern char **environ;

#define THRESHOLDS_MAX 64

typedef struct watch {
    cli_ctx *ctx;
    char *exec; /* --exec, copied: posix_spawn takes char *const argv[] */
    size_t n_thr;
    char *thr_name[THRESHOLDS_MAX];
    double thr_value[THRESHOLDS_MAX];
    double thr_default;
    size_t n_alerts;
    uint64_t next_seq; /* resume point: one past the last entry seen */
    uint64_t to; /* --to: stop before this seq (UINT64_MAX: never) */
    bool reached_to;
    int fail; /* an exit code from inside the stream callback */
} watch;

/* ---- alerts ------------------------------------------------------------- */

/* Run --exec through /bin/sh with the alert in its environment. posix_spawn,
 * not fork+setenv: the gRPC client's threads are running. */
static void run_exec(watch *w, const char *kind, uint64_t seq, const char *text)
{
    size_t n_env = 0;
    while (environ && environ[n_env]) n_env++;
    char **envp = mla_calloc(n_env + 4, sizeof *envp);
    char *a = NULL, *k = NULL, *s = NULL;
    size_t la = strlen(text) + sizeof "MLAUDIT_ALERT=",
           lk = strlen(kind) + sizeof "MLAUDIT_ALERT_KIND=";
    if (!envp || !(a = mla_malloc(la)) || !(k = mla_malloc(lk)) || !(s = mla_malloc(48))) {
        fprintf(stderr, "mlaudit watch: --exec: out of memory\n");
        goto out;
    }
    snprintf(a, la, "MLAUDIT_ALERT=%s", text);
    snprintf(k, lk, "MLAUDIT_ALERT_KIND=%s", kind);
    snprintf(s, 48, "MLAUDIT_SEQ=%llu", (unsigned long long)seq);
    size_t j = 0;
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(environ[i], "MLAUDIT_ALERT=", 14) &&
            strncmp(environ[i], "MLAUDIT_ALERT_KIND=", 19) &&
            strncmp(environ[i], "MLAUDIT_SEQ=", 12))
            envp[j++] = environ[i];
    envp[j++] = a;
    envp[j++] = k;
    envp[j++] = s;
    envp[j] = NULL;
    char sh[] = "sh", dash_c[] = "-c";
    char *argv[] = {sh, dash_c, w->exec, NULL};
    pid_t pid;
    fflush(stdout);
    int e = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, envp);
    if (e) {
        fprintf(stderr, "mlaudit watch: --exec: cannot start /bin/sh (%s)\n", strerror(e));
        goto out;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        fprintf(stderr, "mlaudit watch: --exec for the alert at seq %llu %s %d\n",
                (unsigned long long)seq, WIFEXITED(status) ? "exited with" : "died of signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
out:
    mla_free(envp);
    mla_free(a);
    mla_free(k);
    mla_free(s);
}

static void alert(watch *w, const cli_rec *r, const char *kind, const char *fmt, ...)
    MLA_PRINTF(4, 5);
static void alert(watch *w, const cli_rec *r, const char *kind, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    w->n_alerts++;
    if (w->ctx->json) {
        json_t *j = json_pack("{s:s,s:I,s:s,s:s}", "alert", kind, "seq", (json_int_t)r->seq, "time",
                              r->time, "message", text);
        if (j && r->change)
            json_object_set_new(j, "entry_kind", json_string(mla_codec_kind_name(r->kind)));
        if (j && r->subject[0]) json_object_set_new(j, "subject", json_string(r->subject));
        if (j) cli_json_print_line(j);
    } else {
        printf("ALERT %-22s seq %-6llu %s  %s\n", kind, (unsigned long long)r->seq, r->time, text);
    }
    fflush(stdout);
    if (w->exec) run_exec(w, kind, r->seq, text);
}

/* ---- the checks that need the ledger ---------------------------------------- */

typedef struct found {
    uint64_t before; /* only entries below this seq */
    uint64_t seq;
    bool any;
} found;

static int first_below(cli_ctx *ctx, void *arg, cli_rec *r)
{
    (void)ctx;
    found *f = arg;
    if (r->seq >= f->before) return CLI_STOP;
    f->any = true;
    f->seq = r->seq;
    return CLI_STOP;
}

static bool is_production(const char *stage)
{
    return stage && (!strcasecmp(stage, "production") || !strcasecmp(stage, "prod"));
}

/* A production DEPLOYMENT with no APPROVAL of that model recorded before it. */
static int check_approval(watch *w, const cli_rec *r)
{
    const mla_pb_change *c = r->change;
    if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT || !c->subject ||
        !is_production(c->deployment->stage))
        return CLI_EXIT_OK;
    mla_client_query q;
    memset(&q, 0, sizeof q);
    q.kind = MLAUDIT__V1__KIND__KIND_APPROVAL;
    q.subject_type = c->subject->type;
    q.subject_name = c->subject->name;
    q.subject_version = c->subject->version;
    found f = {r->seq, 0, false};
    int code = cli_query_each(w->ctx, &q, 1, first_below, &f);
    if (code != CLI_EXIT_OK) return code;
    if (!f.any)
        alert(w, r, "UNAPPROVED_DEPLOYMENT",
              "%s deployed to production on %s by %s with no APPROVAL of it recorded before",
              r->subject, c->deployment->target, c->actor && *c->actor ? c->actor : "(no actor)");
    return CLI_EXIT_OK;
}

static double threshold_of(const watch *w, const char *metric)
{
    for (size_t i = 0; i < w->n_thr; i++)
        if (!strcmp(w->thr_name[i], metric)) return w->thr_value[i];
    return w->thr_default;
}

/* The model an EVALUATION evaluated: its evaluated-model input, else a
 * subject of type model. */
static const mla_pb_artifact *evaluated_model(const mla_pb_change *c)
{
    for (size_t i = 0; i < c->n_inputs; i++)
        if (!strcmp(c->inputs[i]->role, "evaluated-model")) return c->inputs[i]->artifact;
    if (c->subject && c->subject->type && !strcmp(c->subject->type, "model")) return c->subject;
    return NULL;
}

typedef struct versions {
    char (*v)[MLA_LIMIT_NAME + 1];
    uint64_t *seq;
    size_t n, cap;
} versions;

static int take_version(cli_ctx *ctx, void *arg, cli_rec *r)
{
    versions *vs = arg;
    const mla_pb_artifact *s = r->change ? r->change->subject : NULL;
    if (!s) return CLI_EXIT_OK;
    for (size_t i = 0; i < vs->n; i++)
        if (!strcmp(vs->v[i], s->version)) return CLI_EXIT_OK;
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? 2 * vs->cap : 16;
        void *nv = mla_realloc(vs->v, cap * sizeof *vs->v);
        if (!nv) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        vs->v = nv;
        void *ns = mla_realloc(vs->seq, cap * sizeof *vs->seq);
        if (!ns) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        vs->seq = ns;
        vs->cap = cap;
    }
    snprintf(vs->v[vs->n], sizeof vs->v[vs->n], "%s", s->version);
    vs->seq[vs->n++] = r->seq;
    return CLI_EXIT_OK;
}

/* The latest EVALUATION of identity recorded before `before`: its entry,
 * decoded into out (out->change NULL if none). */
static int latest_evaluation(cli_ctx *ctx, const char *identity, uint64_t before, cli_rec *out)
{
    memset(out, 0, sizeof *out);
    mla_client_lineage_graph l;
    memset(&l, 0, sizeof l);
    int code = CLI_EXIT_OK;
    mla_status rc = mla_client_lineage(ctx->client, identity, true, 1, &l);
    if (rc == MLA_ENOTFOUND) goto out;
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    if ((code = cli_note_advance(ctx, mla_buf_slice(&l.checkpoint), "lineage", NULL)) !=
        CLI_EXIT_OK)
        goto out;
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < l.n_edges; i++) {
        const mla_client_edge *e = &l.edges[i];
        if (!strcmp(e->role, "evaluated-model") && !strcmp(e->from, identity) && e->seq < before &&
            (best == UINT64_MAX || e->seq > best))
            best = e->seq;
    }
    for (size_t j = 0; best != UINT64_MAX && j < l.n_entries; j++) {
        if (l.entries[j].seq != best) continue;
        if (cli_rec_open(out, best, mla_buf_slice(&l.entries[j].entry)) != MLA_OK)
            code = cli_fail(ctx, CLI_EXIT_NO, "lineage: %s", mla_error_last()->msg);
        else if (out->kind != MLAUDIT__V1__KIND__KIND_EVALUATION)
            cli_rec_close(out);
        break;
    }
out:
    mla_client_lineage_dispose(&l);
    return code;
}

/* An EVALUATION worse than the previous evaluation of an earlier version of
 * the same model name, by more than the threshold. */
static int check_regression(watch *w, const cli_rec *r)
{
    const mla_pb_change *c = r->change;
    const mla_pb_artifact *m = evaluated_model(c);
    if (!m || !c->n_metrics) return CLI_EXIT_OK;
    versions vs;
    memset(&vs, 0, sizeof vs);
    cli_rec prev;
    memset(&prev, 0, sizeof prev);
    /* The versions of the name in the order their MODEL entries were
     * recorded; "earlier" means recorded before the evaluated one. */
    mla_client_query q;
    memset(&q, 0, sizeof q);
    q.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    q.subject_type = m->type;
    q.subject_name = m->name;
    int code = cli_query_each(w->ctx, &q, 0, take_version, &vs);
    if (code != CLI_EXIT_OK) goto out;
    size_t self = vs.n;
    for (size_t i = 0; i < vs.n; i++)
        if (!strcmp(vs.v[i], m->version)) self = i;
    char id[CLI_IDENTITY_MAX], prev_id[CLI_IDENTITY_MAX];
    cli_artifact_identity(id, m);
    mla_pb_artifact earlier = *m;
    for (size_t i = self; i-- > 0 && !prev.change;) {
        earlier.version = vs.v[i];
        cli_artifact_identity(prev_id, &earlier);
        if ((code = latest_evaluation(w->ctx, prev_id, r->seq, &prev)) != CLI_EXIT_OK) goto out;
    }
    if (!prev.change) goto out; /* the first evaluated version: nothing to compare with */
    for (size_t i = 0; i < c->n_metrics; i++) {
        const char *name = c->metrics[i]->key;
        const Mlaudit__V1__Change__MetricsEntry *pm = cli_change_metric(prev.change, name);
        if (!pm) continue;
        double now = c->metrics[i]->value, before = pm->value, thr = threshold_of(w, name);
        bool lower = cli_metric_lower_is_better(name);
        double worse_by = lower ? now - before : before - now;
        /* "More than the threshold" in decimal terms: 0.31 - 0.29 is
         * 0.020000000000000018 in binary, which is not over 0.02. */
        double slack = 1e-9 * fmax(1.0, fmax(fabs(now), fabs(before)));
        if (worse_by > thr + slack) {
            char a[40], b[40], d[48], t[40];
            cli_fmt_double(a, now);
            cli_fmt_double(b, before);
            cli_fmt_delta(d, before, now);
            cli_fmt_double(t, thr);
            alert(w, r, "REGRESSION",
                  "%s %s %s vs %s for %s (evaluation seq %llu): %s, %s is better, threshold %s", id,
                  name, a, b, prev_id, (unsigned long long)prev.seq, d, lower ? "lower" : "higher",
                  t);
        }
    }
out:
    cli_rec_close(&prev);
    mla_free(vs.v);
    mla_free(vs.seq);
    return code;
}

static mla_status on_entry(void *vctx, uint64_t seq, mla_slice entry, mla_slice violations)
{
    watch *w = vctx;
    if (seq >= w->to) {
        w->reached_to = true;
        return MLA_ENOTFOUND; /* stops the stream; mapped back to a clean end */
    }
    cli_rec r;
    if (cli_rec_open(&r, seq, entry) != MLA_OK) {
        w->fail = cli_fail(w->ctx, CLI_EXIT_NO, "the live tail: %s", mla_error_last()->msg);
        return MLA_ECORRUPT;
    }
    w->next_seq = seq + 1;
    const mla_pb_change *c = r.change;
    int code = CLI_EXIT_OK;
    if (violations.len) {
        /* One alert per entry; the rules it broke, one per line, joined. */
        char v[1536];
        size_t n = violations.len < sizeof v - 1 ? violations.len : sizeof v - 1;
        memcpy(v, violations.ptr, n);
        v[n] = '\0';
        while (n && v[n - 1] == '\n') v[--n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (v[i] == '\n') v[i] = ';';
        alert(w, &r, "VIOLATION", "%s %s recorded with policy violations: %s",
              c ? mla_codec_kind_name(c->kind) : "entry", r.subject[0] ? r.subject : "", v);
    }
    if (c) {
        const char *actor = c->actor && *c->actor ? c->actor : "(no actor)";
        switch (c->kind) {
        case MLAUDIT__V1__KIND__KIND_KEY: {
            const Mlaudit__V1__KeyChange *k =
                c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_KEY ? c->key : NULL;
            char keyid[MLA_KEYID_HEX_LEN + 1] = "?";
            if (k && k->public_key.len == MLA_ED25519_PUB_LEN) {
                mla_pubkey pub;
                memcpy(pub.b, k->public_key.data, sizeof pub.b);
                mla_crypto_keyid(keyid, &pub);
            }
            alert(w, &r, "KEY", "key %s %.16s%s%s by %s: %s",
                  k && k->revoke ? "revoked" : "registered", keyid,
                  k && k->name && *k->name ? " " : "", k && k->name ? k->name : "", actor,
                  c->reason ? c->reason : "");
            break;
        }
        case MLAUDIT__V1__KIND__KIND_ROLLBACK: {
            char to[CLI_IDENTITY_MAX] = "";
            if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK)
                cli_artifact_identity(to, c->rollback->to);
            alert(w, &r, "ROLLBACK", "%s rolled back to %s by %s: %s", mla_codec_change_target(c),
                  to, actor, c->reason ? c->reason : "");
            break;
        }
        case MLAUDIT__V1__KIND__KIND_DEPLOYMENT: code = check_approval(w, &r); break;
        case MLAUDIT__V1__KIND__KIND_EVALUATION: code = check_regression(w, &r); break;
        default: break;
        }
    }
    cli_rec_close(&r);
    if (code != CLI_EXIT_OK) {
        w->fail = code;
        return MLA_EIO;
    }
    if (seq + 1 >= w->to) {
        w->reached_to = true;
        return MLA_ENOTFOUND;
    }
    return MLA_OK;
}

/* ---- the command ---------------------------------------------------------- */

static const cli_flag watch_flags[] = {
    {"from", 0, "SEQ", false, "start at this seq (default: the end of the log: only new entries)"},
    {"to", 0, "SEQ", false,
     "stop before this seq (with --from: check a range of the log for alerts, then exit)"},
    {"kind", 0, "KIND", false, "watch only entries of this kind"},
    {"target", 0, "TARGET", false, "watch only entries about this deployment target"},
    {"exec", 0, "CMD", false,
     "run CMD with /bin/sh per alert; its environment has MLAUDIT_ALERT (the text), "
     "MLAUDIT_ALERT_KIND and MLAUDIT_SEQ"},
    {"max-seconds", 0, "N", false, "stop after N seconds (default: run until interrupted)"},
    {"threshold", 0, "METRIC=VALUE", true,
     "largest allowed regression of METRIC between versions (default 0: any); *=VALUE sets "
     "the default"},
    {NULL, 0, NULL, false, NULL},
};

static int watch_run(cli_ctx *ctx)
{
    if (ctx->n_pos) return cli_usage(ctx, "%s: unexpected argument", ctx->pos[0]);
    watch w;
    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    const char *v = cli_opt(ctx, "exec");
    if (v && !*v) return cli_usage(ctx, "--exec: empty command");
    uint64_t from = 0, max_s = 0;
    w.to = UINT64_MAX;
    if ((v = cli_opt(ctx, "to")) && !cli_parse_u64(v, &w.to))
        return cli_usage(ctx, "--to: \"%s\" is not an entry seq", v);
    if ((v = cli_opt(ctx, "from")) && !cli_parse_u64(v, &from))
        return cli_usage(ctx, "--from: \"%s\" is not an entry seq", v);
    if ((v = cli_opt(ctx, "max-seconds")) &&
        (!cli_parse_u64(v, &max_s) || !max_s || max_s > 2000000))
        return cli_usage(ctx, "--max-seconds: \"%s\" is not a count of seconds in 1..2000000", v);
    mla_client_subscribe_filter f;
    memset(&f, 0, sizeof f);
    if ((v = cli_opt(ctx, "kind")) && mla_codec_kind_parse(&f.kind, mla_slice_cstr(v)) != MLA_OK)
        return cli_usage(ctx,
                         "--kind: \"%s\" is not a kind (model, evaluation, deployment, "
                         "rollback, approval, key, ...)",
                         v);
    f.target = cli_opt(ctx, "target");
    if (f.target && (!*f.target || strlen(f.target) > MLA_LIMIT_NAME))
        return cli_usage(ctx, "--target: want 1 to %d bytes", MLA_LIMIT_NAME);
    const char *thr[THRESHOLDS_MAX + 1];
    size_t n = cli_opt_all(ctx, "threshold", thr, THRESHOLDS_MAX + 1);
    if (n > THRESHOLDS_MAX) return cli_usage(ctx, "--threshold: at most %d", THRESHOLDS_MAX);
    int code = CLI_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(thr[i], '=');
        double val;
        if (!eq || eq == thr[i] || !cli_parse_double(eq + 1, &val) || val < 0) {
            code = cli_usage(ctx,
                             "--threshold: \"%s\" is not METRIC=VALUE with VALUE >= 0 (e.g. "
                             "accuracy=0.02)",
                             thr[i]);
            goto out;
        }
        size_t kl = (size_t)(eq - thr[i]);
        if (kl == 1 && thr[i][0] == '*') {
            w.thr_default = val;
            continue;
        }
        if (!(w.thr_name[w.n_thr] = mla_strndup(thr[i], kl))) {
            code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
            goto out;
        }
        w.thr_value[w.n_thr++] = val;
    }
    if ((v = cli_opt(ctx, "exec")) && !(w.exec = mla_strndup(v, strlen(v)))) {
        code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        goto out;
    }
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    if (!cli_has(ctx, "from")) from = ctx->cp.size;
    w.next_seq = from;
    if (!ctx->json)
        fprintf(stderr, "watching %s from seq %llu%s\n",
                ctx->server ? ctx->server : CLI_DEFAULT_SERVER, (unsigned long long)from,
                max_s ? "" : " (interrupt to stop)");
    uint64_t resume = 0;
    int64_t t0 = mla_time_mono_ns();
    mla_status rc = MLA_OK;
    if (from < w.to)
        rc =
            mla_client_subscribe(ctx->client, from, &f, (int)(max_s * 1000), on_entry, &w, &resume);
    else
        w.reached_to = true;
    int64_t elapsed_ms = (mla_time_mono_ns() - t0) / 1000000;
    fflush(stdout);
    if (w.reached_to && !w.fail) rc = MLA_OK;
    /* A stream the server ended cleanly before --max-seconds (e.g. on its
     * shutdown) is a lost connection too: the monitor stopped watching. */
    if (rc == MLA_OK && !w.reached_to && (!max_s || elapsed_ms + 100 < (int64_t)max_s * 1000))
        rc = mla_err(MLA_EIO, "the server ended the stream");
    if (w.fail) {
        code = w.fail;
    } else if (rc == MLA_ELIMIT) {
        code = CLI_EXIT_IO;
        fprintf(stderr,
                "mlaudit watch: the server cut this subscriber off (it fell behind): %s\n"
                "resume seq %llu (mlaudit watch --from %llu)\n",
                mla_error_last()->msg, (unsigned long long)resume, (unsigned long long)resume);
        if (ctx->json)
            cli_json_print_line(json_pack("{s:{s:s,s:i,s:I}}", "error", "message",
                                          "the server cut this subscriber off (it fell behind)",
                                          "exit_code", code, "resume_seq", (json_int_t)resume));
    } else if (rc == MLA_ECORRUPT || rc == MLA_EINVAL || rc == MLA_EDENIED) {
        code = cli_fail_server(ctx, rc);
    } else if (rc != MLA_OK) {
        code = cli_fail(ctx, CLI_EXIT_IO, "the live tail stopped: %s (resume with --from %llu)",
                        mla_error_last()->msg, (unsigned long long)w.next_seq);
    } else {
        code = w.n_alerts ? CLI_EXIT_NO : CLI_EXIT_OK;
        if (!ctx->json)
            fprintf(stderr, "stopped %s: %zu alert%s; next seq %llu\n",
                    w.reached_to ? "at --to" : "at --max-seconds", w.n_alerts,
                    w.n_alerts == 1 ? "" : "s",
                    (unsigned long long)(w.reached_to ? w.to : w.next_seq));
    }
out:
    for (size_t i = 0; i < w.n_thr; i++) mla_free(w.thr_name[i]);
    mla_free(w.exec);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_watch = {
    "watch",
    "watch [--from SEQ] [--to SEQ] [--kind K] [--target X] [--exec CMD] [--max-seconds N] "
    "[--threshold METRIC=VALUE ...]",
    "Follow the ledger live and print one line per alert.",
    "Alerts:\n"
    "  REGRESSION             an EVALUATION whose metric is worse than the latest evaluation\n"
    "                         of an earlier version of the same model by more than the\n"
    "                         threshold (lower is better for names containing loss, latency\n"
    "                         or error; higher otherwise)\n"
    "  UNAPPROVED_DEPLOYMENT  a production deployment of a model with no APPROVAL before it\n"
    "  ROLLBACK               every rollback\n"
    "  VIOLATION              every entry recorded with policy violations (audit mode)\n"
    "  KEY                    every key registered or revoked\n"
    "--json prints one JSON object per alert line. Exit: 0 when --max-seconds passes (or --to\n"
    "is reached) with no alert, 1 when any alert was printed, 4 when the connection is lost or\n"
    "the server cuts a subscriber that fell behind (the message says which seq to resume\n"
    "--from). With a --kind or --target filter, --to is noticed at the next matching entry:\n"
    "give --max-seconds too.\n",
    watch_flags,
    true,
    watch_run,
};
