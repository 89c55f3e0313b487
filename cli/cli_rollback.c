/* cli_rollback: `mlaudit rollback TARGET` — put the last good version back
 * (SPEC §1): replays the target's timeline, skips versions rolled back
 * from, retired or deployed with policy violations, and records a signed
 * ROLLBACK to the latest one left. */
#include <string.h>
#include <strings.h>

#include "cli.h"

/* Most timeline entries considered (each is held decoded). */
#define TIMELINE_MAX 100000

typedef struct step {
    uint64_t seq;
    mla_kind kind;
    char model[CLI_IDENTITY_MAX]; /* deployed, rolled back to, or retired ("" = all) */
    char stage[MLA_LIMIT_NAME + 1];
    bool violations;
} step;

typedef struct timeline {
    step *v;
    size_t n, cap;
} timeline;

static int take_step(cli_ctx *ctx, void *arg, cli_rec *r)
{
    timeline *t = arg;
    const mla_pb_change *c = r->change;
    if (!c) return CLI_EXIT_OK; /* redacted: nothing to replay */
    if (t->n == TIMELINE_MAX)
        return cli_fail(ctx, CLI_EXIT_IO,
                        "the target's timeline has over %d entries; name the "
                        "version with --to",
                        TIMELINE_MAX);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        step *v = mla_realloc(t->v, cap * sizeof *v);
        if (!v) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        t->v = v;
        t->cap = cap;
    }
    step *s = &t->v[t->n++];
    memset(s, 0, sizeof *s);
    s->seq = r->seq;
    s->kind = c->kind;
    if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
        cli_artifact_identity(s->model, c->subject);
        snprintf(s->stage, sizeof s->stage, "%s", c->deployment->stage ? c->deployment->stage : "");
    } else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK) {
        cli_artifact_identity(s->model, c->rollback->to);
    } else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT) {
        cli_artifact_identity(s->model, c->retirement->artifact);
    }
    return CLI_EXIT_OK;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const step *)a)->seq, y = ((const step *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Policy violations arrive only with Subscribe (SPEC §4; Query returns none):
 * replay the target's DEPLOYMENT entries from the first one and mark those
 * recorded with violations. */
typedef struct vio_walk {
    timeline *t;
    uint64_t last; /* stop after this seq */
    bool done;
} vio_walk;

static mla_status mark_violations(void *vctx, uint64_t seq, mla_slice entry, mla_slice violations)
{
    (void)entry;
    vio_walk *w = vctx;
    for (size_t i = 0; violations.len && i < w->t->n; i++)
        if (w->t->v[i].seq == seq) w->t->v[i].violations = true;
    if (seq >= w->last) {
        w->done = true;
        return MLA_ENOTFOUND; /* stop the stream: everything asked for was seen */
    }
    return MLA_OK;
}

static int load_violations(cli_ctx *ctx, timeline *t, const char *target)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].kind == MLAUDIT__V1__KIND__KIND_DEPLOYMENT) {
            if (first == UINT64_MAX) first = t->v[i].seq;
            last = t->v[i].seq;
        }
    if (first == UINT64_MAX) return CLI_EXIT_OK;
    mla_client_subscribe_filter f;
    memset(&f, 0, sizeof f);
    f.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    f.target = target;
    vio_walk w = {t, last, false};
    uint64_t resume = 0;
    mla_status rc =
        mla_client_subscribe(ctx->client, first, &f, ctx->timeout_ms ? ctx->timeout_ms : 30000,
                             mark_violations, &w, &resume);
    if (w.done) return CLI_EXIT_OK;
    if (rc != MLA_OK) return cli_fail_server(ctx, rc);
    return cli_fail(ctx, CLI_EXIT_IO,
                    "reading the violations of %s's deployments: the server's stream ended "
                    "before seq %llu",
                    target, (unsigned long long)last);
}

/* The model live now: the one the last DEPLOYMENT or ROLLBACK put there. */
static const step *current_step(const timeline *t)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->v[i].kind != MLAUDIT__V1__KIND__KIND_RETIREMENT) return &t->v[i];
    return NULL;
}

/* Was model rolled back from, or retired, at some point of the timeline? */
static const step *discredited(const timeline *t, const char *model)
{
    const char *live = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const step *s = &t->v[i];
        if (s->kind == MLAUDIT__V1__KIND__KIND_ROLLBACK && live && !strcmp(live, model) &&
            strcmp(s->model, model))
            return s;
        if (s->kind == MLAUDIT__V1__KIND__KIND_RETIREMENT &&
            (!s->model[0] || !strcmp(s->model, model)))
            return s;
        if (s->kind != MLAUDIT__V1__KIND__KIND_RETIREMENT) live = s->model;
    }
    return NULL;
}

static const cli_flag rollback_flags[] = {
    {"reason", 0, "TEXT", false, "REQUIRED: why (e.g. \"AUC dropped in production\")"},
    {"key", 0, "KEYFILE", true,
     "REQUIRED: private key that signs the rollback (repeat to co-sign)"},
    {"to", 0, "TYPE:NAME@VERSION", false, "roll back to this version instead of the one found"},
    {"actor", 0, "WHO", false, "who rolls back (default: $USER)"},
    {"dry-run", 0, NULL, false, "say what would be rolled back to; record nothing"},
    {NULL, 0, NULL, false, NULL},
};

static int rollback_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx, "TARGET: required — the deployment target to roll back (e.g. "
                              "fraud-api)");
    const char *target = ctx->pos[0], *reason = cli_opt(ctx, "reason"), *to = cli_opt(ctx, "to");
    if (!*target || strlen(target) > MLA_LIMIT_NAME)
        return cli_usage(ctx, "TARGET: want 1 to %d bytes", MLA_LIMIT_NAME);
    /* SPEC §3: documentation is a requirement — refuse before anything is
     * read, signed or sent. */
    if (!reason || !*reason)
        return cli_usage(ctx, "reason: required — say why you roll back (--reason \"...\")");
    int code;
    if (to && (code = cli_identity_arg(ctx, "--to", to)) != CLI_EXIT_OK) return code;
    bool dry = cli_has(ctx, "dry-run");
    mla_privkey *keys[CLI_MAX_KEYS] = {NULL};
    size_t n_keys = 0;
    timeline t = {NULL, 0, 0};
    cli_arena a = {NULL, 0, 0};
    json_t *skipped = json_array();
    mla_status rc;
    if (!skipped) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
    if (!dry || cli_has(ctx, "key")) {
        if ((rc = mla_crypto_init()) != MLA_OK) {
            code = cli_fail_local(ctx, rc);
            goto out;
        }
        if ((code = cli_privkeys_load(ctx, keys, &n_keys)) != CLI_EXIT_OK) goto out;
    }
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    static const mla_kind kinds[] = {MLAUDIT__V1__KIND__KIND_DEPLOYMENT,
                                     MLAUDIT__V1__KIND__KIND_ROLLBACK,
                                     MLAUDIT__V1__KIND__KIND_RETIREMENT};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        mla_client_query q;
        memset(&q, 0, sizeof q);
        q.kind = kinds[k];
        q.target = target;
        if ((code = cli_query_each(ctx, &q, 0, take_step, &t)) != CLI_EXIT_OK) goto out;
    }
    if (t.n) qsort(t.v, t.n, sizeof *t.v, by_seq);
    const step *cur = current_step(&t);
    if (!cur) {
        code = cli_fail(ctx, CLI_EXIT_REFUSED,
                        "TARGET: nothing was ever deployed on %s (check the name: mlaudit query "
                        "--kind deployment)",
                        target);
        goto out;
    }
    if ((code = load_violations(ctx, &t, target)) != CLI_EXIT_OK) goto out;
    const step *pick = NULL;
    char chosen[CLI_IDENTITY_MAX];
    if (to) {
        if (!strcmp(to, cur->model)) {
            code = cli_usage(ctx, "--to: %s is already live on %s (since seq %llu)", to, target,
                             (unsigned long long)cur->seq);
            goto out;
        }
        snprintf(chosen, sizeof chosen, "%s", to);
    } else {
        for (size_t i = t.n; i-- > 0 && !pick;) {
            const step *s = &t.v[i];
            if (s->seq >= cur->seq || s->kind != MLAUDIT__V1__KIND__KIND_DEPLOYMENT ||
                !strcmp(s->model, cur->model))
                continue;
            const step *bad = discredited(&t, s->model);
            const char *why = NULL;
            char because[160];
            if (s->violations) {
                why = "its deployment was recorded with policy violations";
            } else if (bad) {
                snprintf(because, sizeof because, "%s at seq %llu",
                         bad->kind == MLAUDIT__V1__KIND__KIND_ROLLBACK ? "rolled back from"
                                                                       : "retired",
                         (unsigned long long)bad->seq);
                why = because;
            }
            if (why) {
                json_array_append_new(skipped,
                                      json_pack("{s:s,s:I,s:s}", "model", s->model,
                                                "deployment_seq", (json_int_t)s->seq, "why", why));
                continue;
            }
            pick = s;
        }
        if (!pick) {
            code = cli_fail(ctx, CLI_EXIT_REFUSED,
                            "no earlier good version on %s: every version deployed before %s was "
                            "rolled back from, retired or deployed with policy violations (%zu "
                            "skipped); name one with --to",
                            target, cur->model, json_array_size(skipped));
            goto out;
        }
        snprintf(chosen, sizeof chosen, "%s", pick->model);
    }
    size_t i;
    json_t *sj;
    if (!ctx->json)
        json_array_foreach(skipped, i, sj)
            fprintf(stderr, "skipped %s (deployed at seq %lld): %s\n",
                    json_string_value(json_object_get(sj, "model")),
                    (long long)json_integer_value(json_object_get(sj, "deployment_seq")),
                    json_string_value(json_object_get(sj, "why")));
    if (dry) {
        if (ctx->json)
            cli_json_print(json_pack("{s:s,s:s,s:s,s:O,s:b}", "target", target, "from", cur->model,
                                     "to", chosen, "skipped", skipped, "dry_run", 1));
        else
            printf("would roll back %s from %s to %s%s\n", target, cur->model, chosen,
                   pick ? "" : " (--to)");
        goto out;
    }
    mla_pb_change c;
    mlaudit__v1__change__init(&c);
    Mlaudit__V1__Rollback rb;
    mlaudit__v1__rollback__init(&rb);
    c.kind = MLAUDIT__V1__KIND__KIND_ROLLBACK;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
    c.rollback = &rb;
    const char *actor = cli_opt(ctx, "actor");
    if (!actor) actor = getenv("USER");
    if (cli_artifact_parse(&rb.to, &a, chosen, "--to") != MLA_OK ||
        !(rb.target = cli_arena_strdup(&a, target)) || !(c.reason = cli_arena_strdup(&a, reason)) ||
        (actor && *actor && !(c.actor = cli_arena_strdup(&a, actor)))) {
        code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        goto out;
    }
    c.subject = rb.to; /* a rollback's subject is the version restored */
    c.client_time_ns = mla_time_now_ns();
    if (mla_codec_change_validate(&c) != MLA_OK) {
        code = cli_change_invalid(ctx);
        goto out;
    }
    mla_receipt r;
    if ((code = cli_record_append(ctx, &c, keys, n_keys, &r)) != CLI_EXIT_OK) goto out;
    if (ctx->json) {
        json_t *rj = cli_receipt_json(&r);
        cli_json_print(json_pack("{s:s,s:s,s:s,s:I,s:O,s:o}", "target", target, "from", cur->model,
                                 "to", chosen, "seq", (json_int_t)r.seq, "skipped", skipped,
                                 "receipt", rj ? rj : json_null()));
    } else {
        char tm[48];
        mla_time_format(tm, r.ledger_time_ns, false);
        printf("rolled back %s from %s to %s at seq %llu (%s)\n", target, cur->model, chosen,
               (unsigned long long)r.seq, tm);
        printf("receipt verified: checkpoint signature and inclusion proof (tree size %llu)\n",
               (unsigned long long)r.tree_size);
    }
out:
    json_decref(skipped);
    cli_arena_free(&a);
    mla_free(t.v);
    cli_privkeys_free(keys, n_keys);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_rollback = {
    "rollback",
    "rollback TARGET --reason TEXT --key KEYFILE [--to TYPE:NAME@VERSION] [--dry-run]",
    "Roll a deployment target back to its last good version, as a signed ROLLBACK entry.",
    "The live version is the one the target's last DEPLOYMENT or ROLLBACK put there. The\n"
    "version rolled back to is the latest one deployed on the target before it that was not\n"
    "rolled back from, not retired, and whose DEPLOYMENT was recorded without policy\n"
    "violations (each one skipped is named); --to names it instead. A rollback without\n"
    "--reason is refused before anything is sent (exit 2). Prints e.g.\n"
    "  rolled back fraud-api from model:fraud@3 to model:fraud@2 at seq 41\n"
    "after the receipt is verified (checkpoint signature, inclusion proof, consistency).\n",
    rollback_flags,
    true,
    rollback_run,
};
