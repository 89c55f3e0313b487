/* cli_decision: the question regulators ask (SPEC §3, §6). which-model
 * TARGET --at TIME; prove-decision ID (saved with -o for verify-decision
 * FILE to re-check offline); record-decisions, JSON lines streamed through
 * the recorder. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

/* ---- describing a resolution ---------------------------------------------- */

static json_t *hex_or_null(ProtobufCBinaryData b)
{
    return b.len ? cli_json_hex(b.data, b.len) : json_null();
}

static void pct(char out[24], double f) { snprintf(out, 24, "%g%%", f * 100.0); }

/* One line per entry of the target's timeline, into stdout or a JSON array. */
static int timeline(cli_ctx *ctx, const mla_client_resolution *res, int64_t at_ns, json_t *arr)
{
    for (size_t i = 0; i < res->n_deployment_entries; i++) {
        const mla_client_entry *ce = &res->deployment_entries[i];
        cli_rec r;
        if (cli_rec_open(&r, ce->seq, mla_buf_slice(&ce->entry)) != MLA_OK)
            return cli_fail(ctx, CLI_EXIT_NO, "timeline: %s", mla_error_last()->msg);
        const mla_pb_change *c = r.change;
        char model[CLI_IDENTITY_MAX] = "", detail[128] = "";
        if (c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
            cli_artifact_identity(model, c->subject);
            char p[24];
            pct(p, c->deployment->traffic_fraction);
            snprintf(detail, sizeof detail, "%s %s",
                     c->deployment->stage ? c->deployment->stage : "", p);
        } else if (c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK) {
            cli_artifact_identity(model, c->rollback->to);
        } else if (c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT) {
            cli_artifact_identity(model, c->retirement->artifact);
        }
        const char *kind = c ? mla_codec_kind_name(c->kind) : "(redacted)";
        if (arr) {
            json_t *j = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)r.seq, "time", r.time,
                                  "kind", kind, "model", model);
            if (j && c && c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
                json_object_set_new(j, "stage",
                                    json_string(c->deployment->stage ? c->deployment->stage : ""));
                json_object_set_new(j, "traffic_fraction",
                                    json_real(c->deployment->traffic_fraction));
            }
            if (j && c) json_object_set_new(j, "reason", json_string(c->reason ? c->reason : ""));
            if (j && r.time_ns > at_ns) json_object_set_new(j, "after", json_true());
            json_array_append_new(arr, j);
        } else {
            printf("  seq %-6llu %-30s  %-10s  %-36s  %s%s\n", (unsigned long long)r.seq, r.time,
                   kind, model[0] ? model : "(all)", detail,
                   r.time_ns > at_ns ? "  (after the time asked about)" : "");
        }
        cli_rec_close(&r);
    }
    return CLI_EXIT_OK;
}

static json_t *serving_json(const mla_client_resolution *res)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < res->n_serving; i++) {
        const mla_client_serving *s = &res->serving[i];
        json_array_append_new(arr,
                              json_pack("{s:s,s:f,s:s,s:I}", "model", s->model, "traffic_fraction",
                                        s->traffic_fraction, "stage", s->stage ? s->stage : "",
                                        "deployment_seq", (json_int_t)s->deployment_seq));
    }
    return arr;
}

static void serving_text(const mla_client_resolution *res, const char *indent)
{
    for (size_t i = 0; i < res->n_serving; i++) {
        const mla_client_serving *s = &res->serving[i];
        char p[24];
        pct(p, s->traffic_fraction);
        printf("%s%-36s  %6s  %-12s  live since seq %llu\n", indent, s->model, p,
               s->stage && *s->stage ? s->stage : "-", (unsigned long long)s->deployment_seq);
    }
}

static json_t *strings_json(char *const *s, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) json_array_append_new(arr, json_string(s[i]));
    return arr;
}

/* "8 -> 12 -> 15" */
static void chain_text(char *out, size_t cap, const mla_client_resolution *res)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < res->n_deployment_entries && off < cap; i++) {
        int n = snprintf(out + off, cap - off, "%s%llu", i ? " -> " : "",
                         (unsigned long long)res->deployment_entries[i].seq);
        if (n < 0) break;
        off += (size_t)n;
    }
    if (off >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
}

/* ---- which-model ------------------------------------------------------------ */

static const cli_flag which_flags[] = {
    {"at", 0, "TIME", false, "REQUIRED: the moment asked about: RFC 3339 or \"now\""},
    {NULL, 0, NULL, false, NULL},
};

static int which_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx, "TARGET: required — one deployment target (e.g. fraud-api)");
    const char *target = ctx->pos[0];
    if (!*target || strlen(target) > MLA_LIMIT_NAME)
        return cli_usage(ctx, "TARGET: want 1 to %d bytes", MLA_LIMIT_NAME);
    int64_t at;
    bool given;
    int code = cli_time_opt(ctx, "at", &at, &given);
    if (code != CLI_EXIT_OK) return code;
    if (!given)
        return cli_usage(ctx, "--at: required — the moment asked about (RFC 3339 such as "
                              "2026-11-23T10:00:00Z, or \"now\")");
    mla_client_resolution res;
    memset(&res, 0, sizeof res);
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    mla_status rc = mla_client_resolve(ctx->client, NULL, target, at, &res);
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    mla_checkpoint cp;
    if ((code = cli_note_advance(ctx, mla_buf_slice(&res.checkpoint), "which-model", &cp)) !=
        CLI_EXIT_OK)
        goto out;
    char t[48];
    mla_time_format(t, at, false);
    if (ctx->json) {
        json_t *tl = json_array();
        if (!tl || (code = timeline(ctx, &res, at, tl)) != CLI_EXIT_OK) {
            json_decref(tl);
            if (code == CLI_EXIT_OK) code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
            goto out;
        }
        cli_json_print(
            json_pack("{s:s,s:s,s:I,s:o,s:o,s:o,s:{s:I,s:s%},s:b}", "target", target, "at", t,
                      "at_ns", (json_int_t)at, "serving", serving_json(&res), "timeline", tl,
                      "discrepancies", strings_json(res.discrepancies, res.n_discrepancies),
                      "checkpoint", "size", (json_int_t)cp.size, "note",
                      (const char *)res.checkpoint.ptr, res.checkpoint.len, "verified", 1));
        goto out;
    }
    if (res.n_serving) {
        printf("%s at %s was served by:\n", target, t);
        serving_text(&res, "  ");
    } else {
        printf("nothing was live on %s at %s\n", target, t);
    }
    if (res.n_deployment_entries) {
        printf("timeline of %s (back-linked, nothing left out):\n", target);
        if ((code = timeline(ctx, &res, at, NULL)) != CLI_EXIT_OK) goto out;
    }
    for (size_t i = 0; i < res.n_discrepancies; i++)
        printf("discrepancy: %s\n", res.discrepancies[i]);
    char chain[256];
    chain_text(chain, sizeof chain, &res);
    printf("verified: the checkpoint (size %llu) is signed by %s\n", (unsigned long long)cp.size,
           ctx->verifier.name);
    if (res.n_deployment_entries)
        printf("verified: %zu timeline entr%s included in it, back-links %s unbroken;\n"
               "          replaying them gives %s\n",
               res.n_deployment_entries, res.n_deployment_entries == 1 ? "y" : "ies", chain,
               res.n_serving ? "the models above" : "nothing live then");
out:
    mla_client_resolution_dispose(&res);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_which_model = {
    "which-model",
    "which-model TARGET --at TIME",
    "Which model version(s) served a deployment target at a moment, with the proof.",
    "TIME is RFC 3339 (2026-11-23T10:00:00Z, fractional seconds and +HH:MM offsets\n"
    "allowed) or \"now\". Prints each model live then with its traffic fraction, stage and\n"
    "the seq of the DEPLOYMENT or ROLLBACK that made it live, and the target's timeline.\n"
    "Verified before anything is printed: the checkpoint signature, each timeline entry's\n"
    "inclusion, the back-links between them (so none was left out), and that replaying\n"
    "them gives the serving set the server reported.\n",
    which_flags,
    true,
    which_run,
};

/* ---- prove-decision / verify-decision ----------------------------------------- */

/* What the report prints of a resolution mla_client_resolve or
 * mla_client_resolution_decode has verified (the decision's path to its
 * batch root, the batch entry's inclusion, the checkpoint's signature, the
 * timeline): the decision and the batch entry decoded, and the checkpoint. */
typedef struct proof_facts {
    mla_pb_decision *decision;
    cli_rec batch;
    mla_checkpoint cp;
    mla_hash batch_root;
} proof_facts;

static void facts_dispose(proof_facts *f)
{
    mla_codec_decision_free(f->decision);
    cli_rec_close(&f->batch);
}

static int facts_open(cli_ctx *ctx, const mla_client_resolution *res, const mla_checkpoint *cp,
                      proof_facts *f)
{
    memset(f, 0, sizeof *f);
    f->cp = *cp;
    if (!res->has_decision)
        return cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: the answer holds no decision");
    if (mla_codec_decision_decode(&f->decision, mla_buf_slice(&res->decision)) != MLA_OK ||
        cli_rec_open(&f->batch, res->batch_entry.seq, mla_buf_slice(&res->batch_entry.entry)) !=
            MLA_OK)
        return cli_fail(ctx, CLI_EXIT_IO, "%s", mla_error_last()->msg);
    /* Verified: a DECISION_BATCH whose root the decision's path leads to. */
    MLA_ASSERT(f->batch.change && f->batch.change->decision_batch &&
               f->batch.change->decision_batch->root.len == 32);
    memcpy(f->batch_root.b, f->batch.change->decision_batch->root.data, 32);
    return CLI_EXIT_OK;
}

/* Print (or --json) what the resolution proves; exit 1 when the ledger's
 * records disagree (discrepancies), else 0. */
static int resolution_report(cli_ctx *ctx, const mla_client_resolution *res, const proof_facts *f,
                             const char *saved)
{
    const mla_pb_decision *d = f->decision;
    char t[48], dm[CLI_IDENTITY_MAX] = "", in[CLI_DIGEST_TEXT_LEN], outd[CLI_DIGEST_TEXT_LEN],
                root[65], cproot[65];
    mla_time_format(t, d->time_ns, false);
    cli_artifact_identity(dm, d->model);
    cli_digest_text(in, d->input_digest);
    cli_digest_text(outd, d->output_digest);
    mla_hex_encode_to(root, f->batch_root.b, 32);
    mla_hex_encode_to(cproot, f->cp.root.b, 32);
    const mla_pb_envelope *env = f->batch.entry->envelope;
    char chain[256];
    chain_text(chain, sizeof chain, res);
    int code = res->n_discrepancies ? CLI_EXIT_NO : CLI_EXIT_OK;
    if (ctx->json) {
        json_t *tl = json_array(), *signers = json_array();
        for (size_t i = 0; signers && i < env->n_signatures; i++)
            json_array_append_new(signers, json_string(env->signatures[i]->keyid));
        int tc = tl ? timeline(ctx, res, d->time_ns, tl) : CLI_EXIT_IO;
        if (tc != CLI_EXIT_OK) {
            json_decref(tl);
            json_decref(signers);
            return tc;
        }
        json_t *dj =
            json_pack("{s:s,s:s,s:s,s:I,s:o,s:o}", "id", d->id, "target", d->target, "time", t,
                      "time_ns", (json_int_t)d->time_ns, "input_digest",
                      hex_or_null(d->input_digest), "output_digest", hex_or_null(d->output_digest));
        if (dj && dm[0]) json_object_set_new(dj, "model", json_string(dm));
        if (dj && d->salted) json_object_set_new(dj, "salted", json_true());
        if (dj && d->reviewer && *d->reviewer)
            json_object_set_new(dj, "reviewer", json_string(d->reviewer));
        json_t *checks = json_pack(
            "[{s:s,s:b},{s:s,s:b},{s:s,s:b},{s:s,s:b},{s:s,s:b}]", "check",
            "decision path -> batch root", "ok", 1, "check", "batch entry inclusion", "ok", 1,
            "check", "checkpoint signature", "ok", 1, "check", "timeline back-links", "ok", 1,
            "check", "serving set replayed from the timeline", "ok", 1);
        json_t *o = json_pack(
            "{s:o,s:o,s:{s:I,s:I,s:I,s:s,s:o,s:s},s:o,s:o,s:{s:s,s:I,s:s,s:s,s:s%},s:o,s:b}",
            "decision", dj, "serving", serving_json(res), "batch", "seq",
            (json_int_t)res->batch_entry.seq, "index", (json_int_t)res->decision_index, "count",
            (json_int_t)res->batch_count, "root", root, "signed_by", signers, "time", f->batch.time,
            "timeline", tl, "discrepancies", strings_json(res->discrepancies, res->n_discrepancies),
            "checkpoint", "origin", f->cp.origin, "size", (json_int_t)f->cp.size, "root", cproot,
            "signed_by", ctx->verifier.name, "note", (const char *)res->checkpoint.ptr,
            res->checkpoint.len, "checks", checks, "verified", 1);
        if (o && saved) json_object_set_new(o, "saved_to", json_string(saved));
        if (!o) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        cli_json_print(o);
        return code;
    }
    printf("decision     %s on %s\n", d->id, d->target);
    printf("time         %s\n", t);
    printf("input        %s%s\n", in, d->salted ? " (salted)" : "");
    printf("output       %s\n", outd);
    if (dm[0]) printf("model named  %s (as the serving process reported it)\n", dm);
    if (res->n_serving) {
        printf("live then    the target's deployment timeline says:\n");
        serving_text(res, "               ");
    } else {
        printf("live then    nothing, by the target's deployment timeline\n");
    }
    printf("batch        seq %llu (%s): decision %llu of %llu, signed by key %s\n",
           (unsigned long long)res->batch_entry.seq, f->batch.time,
           (unsigned long long)res->decision_index, (unsigned long long)res->batch_count,
           env->n_signatures ? env->signatures[0]->keyid : "-");
    if (res->n_deployment_entries) {
        printf("timeline\n");
        int tc = timeline(ctx, res, d->time_ns, NULL);
        if (tc != CLI_EXIT_OK) return tc;
    }
    printf("checked\n");
    printf(
        "  ok  decision path -> batch root: %zu hash%s lead from the decision to root %.16s...\n",
        res->decision_path_len, res->decision_path_len == 1 ? "" : "es", root);
    printf("  ok  batch inclusion: seq %llu is in the tree of size %llu, root %.16s...\n",
           (unsigned long long)res->batch_entry.seq, (unsigned long long)f->cp.size, cproot);
    printf("  ok  checkpoint signature: signed by %s (origin %s)\n", ctx->verifier.name,
           f->cp.origin);
    printf("  ok  timeline back-links: %s%s; each entry included in the checkpoint\n",
           res->n_deployment_entries ? "seqs " : "no deployment entries",
           res->n_deployment_entries ? chain : "");
    printf("  ok  replaying the timeline gives the live models above\n");
    if (res->n_discrepancies) {
        printf("DISCREPANCIES (the records disagree)\n");
        for (size_t i = 0; i < res->n_discrepancies; i++) printf("  - %s\n", res->discrepancies[i]);
    } else {
        printf("discrepancies none\n");
    }
    printf("This proves the decision was recorded in batch seq %llu at the time above, in the\n"
           "log signed by %s, and which model the ledger says was live on %s then.\n"
           "It does not prove the serving process really ran that model, nor the inputs or\n"
           "outputs themselves (only their digests are recorded).\n",
           (unsigned long long)res->batch_entry.seq, ctx->verifier.name, d->target);
    if (saved)
        printf("proof written to %s (check it offline: mlaudit verify-decision %s)\n", saved,
               saved);
    return code;
}

static const cli_flag prove_decision_flags[] = {
    {"target", 0, "TARGET", false, "the decision's target (needed when the id is used on several)"},
    {"out", 'o', "FILE", false,
     "write the proof (wire form) for `mlaudit verify-decision FILE`; never overwrites"},
    {NULL, 0, NULL, false, NULL},
};

static int prove_decision_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1) return cli_usage(ctx, "ID: required — one decision id");
    const char *id = ctx->pos[0], *target = cli_opt(ctx, "target"), *outf = cli_opt(ctx, "out");
    if (!*id || strlen(id) > MLA_LIMIT_DECISION_ID)
        return cli_usage(ctx, "ID: want 1 to %d bytes", MLA_LIMIT_DECISION_ID);
    if (target && (!*target || strlen(target) > MLA_LIMIT_NAME))
        return cli_usage(ctx, "--target: want 1 to %d bytes", MLA_LIMIT_NAME);
    if (outf && access(outf, F_OK) == 0)
        return cli_usage(ctx, "-o: %s already exists (choose another name)", outf);
    mla_client_resolution res;
    memset(&res, 0, sizeof res);
    proof_facts f;
    memset(&f, 0, sizeof f);
    mla_buf wire;
    mla_buf_init(&wire, MLA_LIMIT_RPC_BYTES);
    int code = cli_connect(ctx);
    if (code != CLI_EXIT_OK) goto out;
    mla_status rc = mla_client_resolve(ctx->client, id, target, 0, &res);
    if (rc == MLA_ENOTFOUND) {
        code = cli_fail(ctx, CLI_EXIT_REFUSED, "ID: no decision \"%s\"%s%s is recorded (%s)", id,
                        target ? " on " : "", target ? target : "", mla_error_last()->msg);
        goto out;
    }
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    mla_checkpoint cp;
    if ((code = cli_note_advance(ctx, mla_buf_slice(&res.checkpoint), "prove-decision", &cp)) !=
        CLI_EXIT_OK)
        goto out;
    /* mla_client_resolve verified the answer, this id and target included. */
    if ((code = facts_open(ctx, &res, &cp, &f)) != CLI_EXIT_OK) goto out;
    if (outf) {
        if ((rc = mla_client_resolution_encode(&wire, &res)) != MLA_OK) {
            code = cli_fail_local(ctx, rc);
            goto out;
        }
        if ((rc = cli_file_write_atomic(outf, mla_buf_slice(&wire), 0644)) != MLA_OK) {
            code = cli_fail(ctx, CLI_EXIT_IO, "-o: %s", mla_error_last()->msg);
            goto out;
        }
    }
    code = resolution_report(ctx, &res, &f, outf);
out:
    mla_buf_dispose(&wire);
    facts_dispose(&f);
    mla_client_resolution_dispose(&res);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_prove_decision = {
    "prove-decision",
    "prove-decision ID [--target T] [-o FILE]",
    "Prove which model made a decision: the decision, the models live, and every check.",
    "Fetches the resolution of decision ID and verifies it: the decision's path to its\n"
    "DECISION_BATCH root, the batch entry's inclusion in the signed checkpoint, the\n"
    "checkpoint's signature, and the target's deployment timeline (back-links unbroken,\n"
    "replayed to the models live at the decision's time). Prints the facts in plain words,\n"
    "and any discrepancy between the records (e.g. the model the serving process named is\n"
    "not the one deployed): then the exit code is 1. -o FILE saves the proof so\n"
    "`mlaudit verify-decision FILE --log-key KEY` re-checks it with no server.\n",
    prove_decision_flags,
    true,
    prove_decision_run,
};

static const cli_flag no_flags[] = {{NULL, 0, NULL, false, NULL}};

static int verify_decision_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx, "FILE: required — a proof saved by mlaudit prove-decision -o FILE");
    const char *path = ctx->pos[0];
    int code = cli_log_key_load(ctx, true);
    if (code != CLI_EXIT_OK) return code;
    mla_buf file;
    mla_client_resolution res;
    memset(&res, 0, sizeof res);
    proof_facts f;
    memset(&f, 0, sizeof f);
    mla_status rc = cli_file_read(&file, path, MLA_LIMIT_RPC_BYTES);
    if (rc != MLA_OK) return cli_fail_local(ctx, rc);
    rc = mla_client_resolution_decode(&res, mla_buf_slice(&file), &ctx->verifier);
    if (rc == MLA_ENOMEM) {
        code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        goto out;
    }
    /* Decoding verifies. A tampered file may no longer even parse: either
     * way the answer is no. */
    if (rc != MLA_OK) {
        code = cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: %s: %s", path, mla_error_last()->msg);
        goto out;
    }
    /* The checkpoint's fields, for the report (its signature verified). */
    mla_checkpoint cp;
    if (mla_note_checkpoint_open(&cp, mla_buf_slice(&res.checkpoint), &ctx->verifier, 1) !=
        MLA_OK) {
        code = cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: %s: %s", path, mla_error_last()->msg);
        goto out;
    }
    if ((code = facts_open(ctx, &res, &cp, &f)) != CLI_EXIT_OK) goto out;
    if (!ctx->json)
        printf("VERIFIED decision proof %s (offline, with %s)\n", path, ctx->verifier.name);
    code = resolution_report(ctx, &res, &f, NULL);
out:
    facts_dispose(&f);
    mla_client_resolution_dispose(&res);
    mla_buf_dispose(&file);
    return code;
}

const cli_cmd cli_cmd_verify_decision = {
    "verify-decision",
    "verify-decision FILE --log-key VKEY",
    "Re-check offline a decision proof saved by `mlaudit prove-decision -o FILE`.",
    "Needs only the log's verifier key (--log-key): the checkpoint's signature, the\n"
    "decision's path to its batch root, the batch entry's inclusion, the deployment\n"
    "timeline's inclusion and back-links, and the models live are all re-checked from the\n"
    "file. Prints VERIFIED and the facts (exit 0; 1 with discrepancies between the records),\n"
    "or NOT VERIFIED with the reason (exit 1).\n",
    no_flags,
    false,
    verify_decision_run,
};

/* ---- record-decisions ------------------------------------------------------------ */

#define LINE_MAX_BYTES (64u << 10)

static const cli_flag record_decisions_flags[] = {
    {"target", 0, "TARGET", false, "the target of lines that name none"},
    {"serving-key", 0, "KEYFILE", false,
     "seal each batch with this private key (the serving key the target's DEPLOYMENT named) "
     "instead of letting the server seal it"},
    {NULL, 0, NULL, false, NULL},
};

static bool jstr(json_t *o, const char *k, const char **out)
{
    json_t *v = json_object_get(o, k);
    *out = json_string_value(v);
    return v == NULL || *out != NULL;
}

static mla_status digest_field(ProtobufCBinaryData *out, cli_arena *a, json_t *o, const char *k,
                               bool required)
{
    json_t *v = json_object_get(o, k);
    if (!v) return required ? mla_err(MLA_EINVAL, "%s: missing (hex SHA-256)", k) : MLA_OK;
    const char *s = json_string_value(v);
    if (!s) return mla_err(MLA_EINVAL, "%s: want a string of 64 hex digits", k);
    mla_status rc = cli_digest_parse(out, a, s, k);
    if (rc == MLA_EINVAL)
        rc = mla_err(MLA_EINVAL, "%s: \"%.80s\" is not 64 hex digits of a SHA-256", k,
                     cli_digest_hex(s));
    return rc;
}

/* One JSON line into d (strings in the arena). MLA_EINVAL naming the field. */
static mla_status decision_parse(mla_pb_decision *d, cli_arena *a, const char *line, size_t len,
                                 const char *default_target)
{
    json_error_t err;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    mla_status rc = MLA_OK;
    if (!o) return mla_err(MLA_EINVAL, "not JSON: %s (column %d)", err.text, err.column);
    if (!json_is_object(o)) {
        rc = mla_err(MLA_EINVAL, "want a JSON object per line");
        goto out;
    }
    static const char *const known[] = {"id",
                                        "target",
                                        "time",
                                        "input_digest",
                                        "output_digest",
                                        "model",
                                        "reviewer",
                                        "explanation_digest",
                                        "salted"};
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], k)) i++;
        if (i == sizeof known / sizeof known[0]) {
            rc = mla_err(MLA_EINVAL,
                         "%s: unknown field (want id, target, time, input_digest, "
                         "output_digest, model, reviewer, explanation_digest, salted)",
                         k);
            goto out;
        }
    }
    const char *id, *target, *model, *reviewer;
    if (!jstr(o, "id", &id) || !id) {
        rc = mla_err(MLA_EINVAL, "id: missing or not a string");
        goto out;
    }
    if (!jstr(o, "target", &target)) {
        rc = mla_err(MLA_EINVAL, "target: not a string");
        goto out;
    }
    if (!target) target = default_target;
    if (!target) {
        rc = mla_err(MLA_EINVAL, "target: missing (or pass --target)");
        goto out;
    }
    if (!(d->id = cli_arena_strdup(a, id)) || !(d->target = cli_arena_strdup(a, target))) {
        rc = mla_err(MLA_ENOMEM, "out of memory");
        goto out;
    }
    json_t *tv = json_object_get(o, "time");
    if (json_is_integer(tv) && json_integer_value(tv) > 0) {
        d->time_ns = (int64_t)json_integer_value(tv);
    } else if (json_is_string(tv)) {
        if ((rc = cli_time_parse(&d->time_ns, json_string_value(tv), "time")) != MLA_OK) goto out;
    } else {
        rc = mla_err(MLA_EINVAL,
                     "time: %s (RFC 3339 string, or nanoseconds since 1970 as a "
                     "positive integer)",
                     tv ? "not a time" : "missing");
        goto out;
    }
    if ((rc = digest_field(&d->input_digest, a, o, "input_digest", true)) != MLA_OK ||
        (rc = digest_field(&d->output_digest, a, o, "output_digest", true)) != MLA_OK ||
        (rc = digest_field(&d->explanation_digest, a, o, "explanation_digest", false)) != MLA_OK)
        goto out;
    if (!jstr(o, "model", &model)) {
        rc = mla_err(MLA_EINVAL, "model: not a string (want type:name@version)");
        goto out;
    }
    if (model && (rc = cli_artifact_parse(&d->model, a, model, "model")) != MLA_OK) goto out;
    if (!jstr(o, "reviewer", &reviewer)) {
        rc = mla_err(MLA_EINVAL, "reviewer: not a string");
        goto out;
    }
    if (reviewer && !(d->reviewer = cli_arena_strdup(a, reviewer))) {
        rc = mla_err(MLA_ENOMEM, "out of memory");
        goto out;
    }
    json_t *sv = json_object_get(o, "salted");
    if (sv && !json_is_boolean(sv)) {
        rc = mla_err(MLA_EINVAL, "salted: want true or false");
        goto out;
    }
    d->salted = json_is_true(sv);
    rc = mla_codec_decision_validate(d);
out:
    json_decref(o);
    return rc;
}

static int record_decisions_run(cli_ctx *ctx)
{
    if (ctx->n_pos > 1)
        return cli_usage(ctx, "%s: unexpected argument (one FILE, or -)", ctx->pos[1]);
    const char *path = ctx->n_pos ? ctx->pos[0] : "-";
    const char *default_target = cli_opt(ctx, "target");
    if (default_target && (!*default_target || strlen(default_target) > MLA_LIMIT_NAME))
        return cli_usage(ctx, "--target: want 1 to %d bytes", MLA_LIMIT_NAME);
    bool is_stdin = !strcmp(path, "-");
    FILE *in = is_stdin ? stdin : fopen(path, "r");
    if (!in)
        return cli_fail(ctx, errno == ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_IO, "%s: cannot open (%s)",
                        path, strerror(errno));
    mla_privkey *skey = NULL;
    mla_recorder *rec = NULL;
    char *line = NULL;
    size_t cap = 0, lineno = 0, n_queued = 0;
    uint64_t last_seq = 0;
    bool have_seq = false;
    int code = CLI_EXIT_OK;
    mla_status rc;
    const char *kf = cli_opt(ctx, "serving-key");
    if (kf) {
        if ((rc = mla_crypto_init()) != MLA_OK) {
            code = cli_fail_local(ctx, rc);
            goto out;
        }
        if (mla_crypto_keyfile_read_private(&skey, kf) != MLA_OK) {
            code = cli_usage(ctx, "--serving-key: %s", mla_error_last()->msg);
            goto out;
        }
    }
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    mla_recorder_options ro;
    memset(&ro, 0, sizeof ro);
    ro.serving_key = skey;
    if ((rc = mla_recorder_start(&rec, ctx->client, &ro)) != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    ssize_t got;
    char bad[MLA_ERROR_MSG_MAX + 64] = "";
    while ((got = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t sp = 0;
        while (sp < len && (line[sp] == ' ' || line[sp] == '\t')) sp++;
        if (sp == len) continue; /* blank line */
        if (len > LINE_MAX_BYTES) {
            snprintf(bad, sizeof bad, "%s:%zu: %zu bytes, over the %u-byte limit of a line", path,
                     lineno, len, LINE_MAX_BYTES);
            break;
        }
        cli_arena a = {NULL, 0, 0};
        mla_pb_decision d;
        mlaudit__v1__decision__init(&d);
        rc = decision_parse(&d, &a, line, len, default_target);
        if (rc == MLA_OK)
            rc = mla_recorder_record(rec, &d);
        else if (rc != MLA_ENOMEM)
            snprintf(bad, sizeof bad, "%s:%zu: %s", path, lineno, mla_error_last()->msg);
        cli_arena_free(&a);
        if (bad[0]) break;
        if (rc != MLA_OK) {
            code = rc == MLA_ENOMEM ? cli_fail(ctx, CLI_EXIT_IO, "out of memory")
                                    : cli_fail_server(ctx, rc);
            goto report;
        }
        n_queued++;
    }
    if (!bad[0] && ferror(in)) {
        code = cli_fail(ctx, CLI_EXIT_IO, "%s: read failed (%s)", path, strerror(errno));
        goto report;
    }
    if ((rc = mla_recorder_flush(rec, &last_seq)) != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto report;
    }
    have_seq = n_queued > 0;
    if (bad[0]) {
        code = cli_usage(ctx, "%s; the %zu decision%s before it %s recorded", bad, n_queued,
                         n_queued == 1 ? "" : "s", n_queued == 1 ? "was" : "were");
        goto out;
    }
    if (ctx->json) {
        json_t *j = json_pack("{s:I}", "recorded", (json_int_t)n_queued);
        if (j && have_seq)
            json_object_set_new(j, "last_batch_seq", json_integer((json_int_t)last_seq));
        if (j) cli_json_print(j);
    } else if (have_seq) {
        printf("recorded %zu decision%s; last batch seq %llu\n", n_queued, n_queued == 1 ? "" : "s",
               (unsigned long long)last_seq);
    } else {
        printf("recorded 0 decisions (no lines)\n");
    }
    goto out;
report:
    fprintf(stderr, "%llu decision%s acknowledged before the error\n",
            (unsigned long long)mla_recorder_acked(rec), mla_recorder_acked(rec) == 1 ? "" : "s");
out:
    if (rec) mla_ignore(mla_recorder_close(rec)); /* its error was reported above */
    free(line);
    mla_crypto_key_free(skey);
    if (!is_stdin) fclose(in);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_record_decisions = {
    "record-decisions",
    "record-decisions [FILE|-] [--target T] [--serving-key KEYFILE]",
    "Record decision receipts, one JSON object per line (from FILE or standard input).",
    "Each line: {\"id\": \"txn-1\", \"target\": \"fraud-api\", \"time\": "
    "\"2026-11-23T10:00:00.120Z\",\n"
    "  \"input_digest\": \"<64 hex>\", \"output_digest\": \"<64 hex>\", \"model\": "
    "\"model:fraud@3\"}\n"
    "time is RFC 3339 or nanoseconds since 1970; digests are SHA-256 in hex (commit a\n"
    "low-entropy input as SHA-256(salt || input) and add \"salted\": true); model is\n"
    "optional, as are reviewer and explanation_digest. The decisions are streamed to the\n"
    "server, which batches them into DECISION_BATCH entries; prints how many were recorded\n"
    "and the last batch seq once every one is acknowledged. A bad line stops the run (exit\n"
    "2) naming the line and the field; the decisions before it are recorded.\n",
    record_decisions_flags,
    true,
    record_decisions_run,
};
