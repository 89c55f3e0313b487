/* cli_record: `mlaudit record KIND ...` — build a Change from flags (or a
 * JSON file mirroring change.proto), compute SPEC §3 digests of what --path
 * names, refuse a change with no reason before contacting anyone, sign it
 * into a DSSE envelope with every --key, append it, and check and print the
 * receipt. Also the submit step `key register/revoke` share. */
#include <string.h>
#include <strings.h>

#include "cli.h"

static const cli_flag record_flags[] = {
    {"name", 0, "NAME", false, "subject name (e.g. fraud-detector)"},
    {"version", 0, "VERSION", false, "subject version (e.g. 3)"},
    {"type", 0, "TYPE", false,
     "subject type (default: the kind in lower case; \"model\" for deployment, rollback, "
     "approval, retirement)"},
    {"path", 0, "FILE|DIR", false,
     "compute the subject digest: a file's SHA-256, or a directory's OpenSSF model-signing "
     "root (see: mlaudit digest --help)"},
    {"digest", 0, "HEX", false,
     "the subject's SHA-256 (64 hex digits, or sha256:HEX), instead of --path"},
    {"uri", 0, "URI", false, "where the subject lives (s3://..., git+https://...)"},
    {"media-type", 0, "TYPE", false, "the subject's media type"},
    {"input", 0, "TYPE:NAME@VERSION:ROLE", true,
     "a lineage input; ROLE is one of training-data, validation-data, test-data, feature-set, "
     "code, config, environment, base-model, evaluated-model, reference-database, parent-run, "
     "or x-custom"},
    {"attr", 0, "KEY=VALUE", true, "an attribute (hyperparameter, seed, package version, ...)"},
    {"metric", 0, "KEY=NUMBER", true, "a metric (e.g. auc=0.91)"},
    {"actor", 0, "WHO", false, "who made the change (default: $USER)"},
    {"reason", 0, "TEXT", false, "REQUIRED: why this change is made"},
    {"target", 0, "TARGET", false, "deployment, rollback or retirement target (e.g. fraud-api)"},
    {"stage", 0, "STAGE", false, "deployment stage: canary, staging, production, shadow, ..."},
    {"traffic", 0, "FRACTION", false, "deployment traffic fraction in (0, 1] (default 1)"},
    {"serving-key", 0, "PUBFILE", false,
     "deployment: the public key that will sign this target's decision batches"},
    {"to", 0, "TYPE:NAME@VERSION", false, "rollback: the version rolled back to"},
    {"approves", 0, "SEQ", false, "approval: the seq of the entry approved"},
    {"scope", 0, "SCOPE", false, "approval: what is approved (e.g. production)"},
    {"from-json", 0, "FILE", false,
     "read the change from a JSON object mirroring change.proto (as `mlaudit get --json` "
     "prints under \"change\"); flags given too override its fields"},
    {"key", 0, "KEYFILE", true, "private key that signs the change (repeat to co-sign)"},
    {"receipt-out", 0, "FILE", false, "write the JSON receipt (what `mlaudit verify` checks)"},
    {"dry-run", 0, NULL, false, "build, validate and print the change; send nothing"},
    {NULL, 0, NULL, false, NULL},
};

/* Map a codec validation message to the flag that fixes it. */
static const char *flag_for_field(const char *msg)
{
    static const struct {
        const char *field, *flag;
    } map[] = {
        {"change.subject.name", "--name"},
        {"change.subject.version", "--version"},
        {"change.subject.type", "--type"},
        {"change.subject.digest", "--path or --digest"},
        {"change.subject.uri", "--uri"},
        {"change.subject", "--name and --version"},
        {"change.inputs", "--input TYPE:NAME@VERSION:ROLE"},
        {"change.attributes", "--attr KEY=VALUE"},
        {"change.metrics", "--metric KEY=NUMBER"},
        {"change.actor", "--actor"},
        {"change.reason", "--reason"},
        {"change.deployment.target", "--target"},
        {"change.deployment.traffic_fraction", "--traffic"},
        {"change.deployment.stage", "--stage"},
        {"change.deployment", "--target (and --stage, --traffic)"},
        {"change.rollback.to", "--to TYPE:NAME@VERSION"},
        {"change.rollback", "--target and --to"},
        {"change.approval", "--approves SEQ"},
        {"change.retirement", "--target"},
        {"change.key", "mlaudit key register"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strncmp(msg, map[i].field, strlen(map[i].field))) return map[i].flag;
    return NULL;
}

int cli_change_invalid(cli_ctx *ctx)
{
    const char *msg = mla_error_last()->msg;
    const char *flag = flag_for_field(msg);
    if (flag) return cli_usage(ctx, "%s (set it with %s)", msg, flag);
    return cli_usage(ctx, "%s", msg);
}

/* ---- building the change from flags ----------------------------------- */

static mla_status kv_split(cli_arena *a, const char *s, char **k, const char **v, const char *flag)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s) return mla_err(MLA_EINVAL, "--%s: \"%s\" is not KEY=VALUE", flag, s);
    size_t kl = (size_t)(eq - s);
    if (!(*k = cli_arena_alloc(a, kl + 1))) return mla_err(MLA_ENOMEM, "out of memory");
    memcpy(*k, s, kl);
    *v = eq + 1;
    return MLA_OK;
}

/* Grow a protobuf-c repeated field held in the arena by `extra` slots. */
static void **grow(cli_arena *a, void **old, size_t n, size_t extra)
{
    void **p = cli_arena_alloc(a, (n + extra) * sizeof *p);
    if (p && n) memcpy(p, old, n * sizeof *p);
    return p;
}

static const char *default_type(mla_kind k)
{
    switch (k) {
    case MLAUDIT__V1__KIND__KIND_DEPLOYMENT:
    case MLAUDIT__V1__KIND__KIND_ROLLBACK:
    case MLAUDIT__V1__KIND__KIND_APPROVAL:
    case MLAUDIT__V1__KIND__KIND_RETIREMENT: return "model";
    default: return NULL;
    }
}

static int apply_flags(cli_ctx *ctx, mla_pb_change *c, cli_arena *a)
{
    mla_status rc;
#define ADUP(s) cli_arena_strdup(a, (s))
    const char *v;
    bool subject_flags = cli_has(ctx, "name") || cli_has(ctx, "version") || cli_has(ctx, "type") ||
                         cli_has(ctx, "path") || cli_has(ctx, "digest") || cli_has(ctx, "uri") ||
                         cli_has(ctx, "media-type");
    if (subject_flags && !c->subject) {
        if (!(c->subject = cli_arena_alloc(a, sizeof *c->subject))) goto oom;
        mlaudit__v1__artifact__init(c->subject);
    }
    mla_pb_artifact *s = c->subject;
    if (s) {
        if ((v = cli_opt(ctx, "name")) && !(s->name = ADUP(v))) goto oom;
        if ((v = cli_opt(ctx, "version")) && !(s->version = ADUP(v))) goto oom;
        if ((v = cli_opt(ctx, "uri")) && !(s->uri = ADUP(v))) goto oom;
        if ((v = cli_opt(ctx, "media-type")) && !(s->media_type = ADUP(v))) goto oom;
        if ((v = cli_opt(ctx, "type"))) {
            if (!(s->type = ADUP(v))) goto oom;
        } else if (!s->type || !*s->type) {
            /* "model" for model/deployment-like kinds, else the kind's name. */
            const char *t = default_type(c->kind);
            char lower[32] = "";
            if (!t) {
                const char *kn = mla_codec_kind_name(c->kind);
                size_t i = 0;
                for (; kn[i] && i + 1 < sizeof lower; i++)
                    lower[i] = (char)(kn[i] >= 'A' && kn[i] <= 'Z' ? kn[i] - 'A' + 'a' : kn[i]);
                lower[i] = '\0';
                t = lower;
            }
            if (!(s->type = ADUP(t))) goto oom;
        }
    }
    const char *path = cli_opt(ctx, "path"), *digest = cli_opt(ctx, "digest");
    if (path && digest) return cli_usage(ctx, "--path and --digest: give one, not both");
    if (path) {
        mla_hash d;
        size_t n_files;
        if ((rc = cli_digest_path(&d, &n_files, path)) != MLA_OK) return cli_fail_local(ctx, rc);
        uint8_t *p = cli_arena_alloc(a, 32);
        if (!p) goto oom;
        memcpy(p, d.b, 32);
        s->digest.data = p;
        s->digest.len = 32;
    } else if (digest) {
        if ((rc = cli_digest_parse(&s->digest, a, digest, "--digest")) == MLA_ENOMEM) goto oom;
        if (rc != MLA_OK)
            return cli_usage(ctx, "%s (want the 64 hex digits of a SHA-256)",
                             mla_error_last()->msg);
    }

    /* Inputs: TYPE:NAME@VERSION:ROLE (the role follows the last ':'). */
    const char *vals[CLI_MAX_ARGS];
    size_t n = cli_opt_all(ctx, "input", vals, CLI_MAX_ARGS);
    if (n) {
        void **in = grow(a, (void **)c->inputs, c->n_inputs, n);
        if (!in) goto oom;
        c->inputs = (mla_pb_input **)in;
        for (size_t i = 0; i < n; i++) {
            const char *last = strrchr(vals[i], ':');
            char *ident = last ? cli_arena_alloc(a, (size_t)(last - vals[i]) + 1) : NULL;
            if (last && !ident) goto oom;
            if (ident) memcpy(ident, vals[i], (size_t)(last - vals[i]));
            mla_pb_input *x = cli_arena_alloc(a, sizeof *x);
            if (!x) goto oom;
            mlaudit__v1__input__init(x);
            if (!ident || !last[1] || !strchr(ident, ':') ||
                cli_artifact_parse(&x->artifact, a, ident, "--input") != MLA_OK)
                return cli_usage(ctx,
                                 "--input: \"%s\" is not TYPE:NAME@VERSION:ROLE (e.g. "
                                 "dataset:transactions@2026-06:training-data)",
                                 vals[i]);
            if (!(x->role = ADUP(last + 1))) goto oom;
            c->inputs[c->n_inputs++] = x;
        }
    }
    n = cli_opt_all(ctx, "attr", vals, CLI_MAX_ARGS);
    if (n) {
        void **p = grow(a, (void **)c->attributes, c->n_attributes, n);
        if (!p) goto oom;
        c->attributes = (Mlaudit__V1__Change__AttributesEntry **)p;
        for (size_t i = 0; i < n; i++) {
            Mlaudit__V1__Change__AttributesEntry *e = cli_arena_alloc(a, sizeof *e);
            const char *val;
            if (!e) goto oom;
            mlaudit__v1__change__attributes_entry__init(e);
            if ((rc = kv_split(a, vals[i], &e->key, &val, "attr")) != MLA_OK)
                return cli_fail_local(ctx, rc);
            if (!(e->value = ADUP(val))) goto oom;
            /* A flag replaces the JSON file's value of the same key. */
            size_t j = 0;
            while (j < c->n_attributes && strcmp(c->attributes[j]->key, e->key)) j++;
            c->attributes[j] = e;
            if (j == c->n_attributes) c->n_attributes++;
        }
    }
    n = cli_opt_all(ctx, "metric", vals, CLI_MAX_ARGS);
    if (n) {
        void **p = grow(a, (void **)c->metrics, c->n_metrics, n);
        if (!p) goto oom;
        c->metrics = (Mlaudit__V1__Change__MetricsEntry **)p;
        for (size_t i = 0; i < n; i++) {
            Mlaudit__V1__Change__MetricsEntry *e = cli_arena_alloc(a, sizeof *e);
            const char *val;
            if (!e) goto oom;
            mlaudit__v1__change__metrics_entry__init(e);
            if ((rc = kv_split(a, vals[i], &e->key, &val, "metric")) != MLA_OK)
                return cli_fail_local(ctx, rc);
            if (!cli_parse_double(val, &e->value))
                return cli_usage(ctx, "--metric: \"%s\": %s is not a finite number", vals[i], val);
            size_t j = 0;
            while (j < c->n_metrics && strcmp(c->metrics[j]->key, e->key)) j++;
            c->metrics[j] = e;
            if (j == c->n_metrics) c->n_metrics++;
        }
    }
    if ((v = cli_opt(ctx, "actor")) && !(c->actor = ADUP(v))) goto oom;
    if ((v = cli_opt(ctx, "reason")) && !(c->reason = ADUP(v))) goto oom;

    /* Per-kind details. */
    bool dep = cli_has(ctx, "target") || cli_has(ctx, "stage") || cli_has(ctx, "traffic") ||
               cli_has(ctx, "serving-key");
    if (c->kind == MLAUDIT__V1__KIND__KIND_DEPLOYMENT && dep) {
        if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
            if (!(c->deployment = cli_arena_alloc(a, sizeof *c->deployment))) goto oom;
            mlaudit__v1__deployment__init(c->deployment);
            c->deployment->traffic_fraction = 1.0;
            c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
        }
        Mlaudit__V1__Deployment *d = c->deployment;
        if ((v = cli_opt(ctx, "target")) && !(d->target = ADUP(v))) goto oom;
        if ((v = cli_opt(ctx, "stage")) && !(d->stage = ADUP(v))) goto oom;
        if ((v = cli_opt(ctx, "traffic")) &&
            (!cli_parse_double(v, &d->traffic_fraction) || !(d->traffic_fraction > 0) ||
             d->traffic_fraction > 1))
            return cli_usage(ctx, "--traffic: %s is not a fraction in (0, 1] (e.g. 0.05 for 5%%)",
                             v);
        if ((v = cli_opt(ctx, "serving-key"))) {
            uint8_t *p = cli_arena_alloc(a, 32);
            if (!p) goto oom;
            if (mla_crypto_keyfile_read_public((mla_pubkey *)p, v) != MLA_OK)
                return cli_usage(ctx, "--serving-key: %s", mla_error_last()->msg);
            d->serving_key.data = p;
            d->serving_key.len = 32;
        }
    } else if (c->kind == MLAUDIT__V1__KIND__KIND_ROLLBACK &&
               (cli_has(ctx, "target") || cli_has(ctx, "to"))) {
        if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK) {
            if (!(c->rollback = cli_arena_alloc(a, sizeof *c->rollback))) goto oom;
            mlaudit__v1__rollback__init(c->rollback);
            c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
        }
        if ((v = cli_opt(ctx, "target")) && !(c->rollback->target = ADUP(v))) goto oom;
        if ((v = cli_opt(ctx, "to")) &&
            cli_artifact_parse(&c->rollback->to, a, v, "--to") != MLA_OK)
            return cli_usage(ctx, "%s", mla_error_last()->msg);
        /* The subject of a rollback, unless named: the version restored. */
        if (!c->subject && c->rollback->to) c->subject = c->rollback->to;
    } else if (c->kind == MLAUDIT__V1__KIND__KIND_RETIREMENT && cli_has(ctx, "target")) {
        /* The subject names what is retired; the detail, where from. */
        if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT) {
            if (!(c->retirement = cli_arena_alloc(a, sizeof *c->retirement))) goto oom;
            mlaudit__v1__retirement__init(c->retirement);
            c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT;
        }
        if (!(c->retirement->target = ADUP(cli_opt(ctx, "target")))) goto oom;
    } else if (c->kind == MLAUDIT__V1__KIND__KIND_APPROVAL &&
               (cli_has(ctx, "approves") || cli_has(ctx, "scope"))) {
        if (c->detail_case != MLAUDIT__V1__CHANGE__DETAIL_APPROVAL) {
            if (!(c->approval = cli_arena_alloc(a, sizeof *c->approval))) goto oom;
            mlaudit__v1__approval__init(c->approval);
            c->detail_case = MLAUDIT__V1__CHANGE__DETAIL_APPROVAL;
        }
        if ((v = cli_opt(ctx, "approves")) && !cli_parse_u64(v, &c->approval->approved_seq))
            return cli_usage(ctx, "--approves: \"%s\" is not an entry seq", v);
        if ((v = cli_opt(ctx, "scope")) && !(c->approval->scope = ADUP(v))) goto oom;
    } else {
        static const char *const detail_flags[] = {"target", "stage",    "traffic", "serving-key",
                                                   "to",     "approves", "scope"};
        for (size_t i = 0; i < sizeof detail_flags / sizeof detail_flags[0]; i++)
            if (cli_has(ctx, detail_flags[i]))
                return cli_usage(ctx, "--%s: does not apply to a %s change", detail_flags[i],
                                 mla_codec_kind_name(c->kind));
    }
    return CLI_EXIT_OK;
oom:
    return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
#undef ADUP
}

/* ---- submit -------------------------------------------------------------- */

int cli_record_append(cli_ctx *ctx, mla_pb_change *c, mla_privkey *const *keys, size_t n_keys,
                      mla_receipt *r)
{
    mla_buf env;
    mla_buf_init(&env, MLA_LIMIT_ENVELOPE_BYTES);
    int code;
    mla_status rc = mla_client_envelope_sign(&env, c, (const mla_privkey *const *)keys, n_keys);
    if (rc != MLA_OK) {
        code = rc == MLA_EINVAL || rc == MLA_ELIMIT ? cli_change_invalid(ctx)
                                                    : cli_fail_local(ctx, rc);
        goto out;
    }
    if (!ctx->client && (code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    if ((rc = mla_client_append(ctx->client, mla_buf_slice(&env), r)) != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    /* The client verified the receipt's checkpoint and inclusion proof; it
     * must also extend what this CLI has seen of the log. */
    code = cli_note_advance(ctx, mla_slice_make(r->checkpoint, r->checkpoint_len), "receipt", NULL);
out:
    mla_buf_dispose(&env);
    return code;
}

int cli_record_submit(cli_ctx *ctx, mla_pb_change *c, mla_privkey *const *keys, size_t n_keys)
{
    if (mla_codec_change_validate(c) != MLA_OK) return cli_change_invalid(ctx);
    if (cli_has(ctx, "dry-run")) {
        json_t *j = cli_change_to_json(c);
        if (j) cli_json_print(j);
        return CLI_EXIT_OK;
    }
    mla_receipt r;
    int code = cli_record_append(ctx, c, keys, n_keys, &r);
    if (code != CLI_EXIT_OK) return code;
    json_t *rj = cli_receipt_json(&r);
    if (!rj) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
    const char *rout = cli_opt(ctx, "receipt-out");
    if (rout) {
        char *text = json_dumps(rj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        mla_status rc = text ? cli_file_write_atomic(rout, mla_slice_cstr(text), 0644)
                             : mla_err(MLA_ENOMEM, "out of memory");
        free(text);
        if (rc != MLA_OK) {
            json_decref(rj);
            return cli_fail(ctx, CLI_EXIT_IO,
                            "--receipt-out: %s (the change WAS recorded at seq %llu)",
                            mla_error_last()->msg, (unsigned long long)r.seq);
        }
    }
    if (ctx->json) {
        cli_json_print(rj);
    } else {
        json_decref(rj);
        char leaf[65], root[65], t[48];
        mla_hex_encode_to(leaf, r.leaf_hash.b, 32);
        mla_hex_encode_to(root, r.root.b, 32);
        mla_time_format(t, r.ledger_time_ns, false);
        printf("%s seq %llu at %s\nleaf hash %s\ntree size %llu, root %s\n"
               "checkpoint signature and inclusion proof verified\n",
               r.duplicate ? "already recorded (identical envelope) at" : "recorded",
               (unsigned long long)r.seq, t, leaf, (unsigned long long)r.tree_size, root);
        if (rout) printf("receipt written to %s\n", rout);
    }
    return CLI_EXIT_OK;
}

static int record_run(cli_ctx *ctx)
{
    cli_arena a = {NULL, 0, 0};
    mla_pb_change c;
    mlaudit__v1__change__init(&c);
    mla_privkey *keys[CLI_MAX_KEYS] = {NULL};
    size_t n_keys = 0;
    int code = CLI_EXIT_OK;
    mla_status rc;
    if (ctx->n_pos > 1) {
        code = cli_usage(ctx, "%s: unexpected argument (one KIND)", ctx->pos[1]);
        goto out;
    }
    const char *json_file = cli_opt(ctx, "from-json");
    if (json_file) {
        json_error_t err;
        json_t *j = json_load_file(json_file, JSON_REJECT_DUPLICATES, &err);
        if (!j) {
            code = cli_usage(ctx, "--from-json: %s:%d:%d: %s", json_file, err.line, err.column,
                             err.text);
            goto out;
        }
        rc = cli_change_from_json(&c, &a, j);
        json_decref(j);
        if (rc != MLA_OK) {
            code = cli_usage(ctx, "--from-json: %s: %s", json_file, mla_error_last()->msg);
            goto out;
        }
    }
    if (ctx->n_pos == 1) {
        mla_kind k;
        if (mla_codec_kind_parse(&k, mla_slice_cstr(ctx->pos[0])) != MLA_OK) {
            code = cli_usage(ctx,
                             "KIND: \"%s\" is not a kind (model, dataset, code, config, "
                             "environment, evaluation, deployment, rollback, approval, "
                             "document, retirement)",
                             ctx->pos[0]);
            goto out;
        }
        if (json_file && c.kind && c.kind != k) {
            code = cli_usage(ctx, "KIND: %s contradicts \"kind\": \"%s\" in %s", ctx->pos[0],
                             mla_codec_kind_name(c.kind), json_file);
            goto out;
        }
        c.kind = k;
    }
    if (!c.kind) {
        code = cli_usage(ctx, "KIND: required (e.g. mlaudit record model ...), or \"kind\" in "
                              "the --from-json file");
        goto out;
    }
    if (c.kind == MLAUDIT__V1__KIND__KIND_KEY) {
        code = cli_usage(ctx, "KIND: use `mlaudit key register` or `mlaudit key revoke` for keys");
        goto out;
    }
    /* SPEC §3: documentation is a requirement — refuse before anything
     * is read, signed or sent. */
    const char *reason = cli_opt(ctx, "reason");
    if ((!reason || !*reason) && (!c.reason || !*c.reason)) {
        code = cli_usage(ctx, "reason: required — say why this change is made (--reason \"...\")");
        goto out;
    }
    if ((code = apply_flags(ctx, &c, &a)) != CLI_EXIT_OK) goto out;
    if (!c.actor || !*c.actor) {
        const char *user = getenv("USER");
        if (user && *user && !(c.actor = cli_arena_strdup(&a, user))) {
            code = cli_fail(ctx, CLI_EXIT_IO, "out of memory");
            goto out;
        }
    }
    if (!c.client_time_ns) c.client_time_ns = mla_time_now_ns();
    if (mla_codec_change_validate(&c) != MLA_OK) {
        code = cli_change_invalid(ctx);
        goto out;
    }
    if (!cli_has(ctx, "dry-run") || cli_has(ctx, "key")) {
        if ((rc = mla_crypto_init()) != MLA_OK) {
            code = cli_fail_local(ctx, rc);
            goto out;
        }
        if ((code = cli_privkeys_load(ctx, keys, &n_keys)) != CLI_EXIT_OK) goto out;
    }
    code = cli_record_submit(ctx, &c, keys, n_keys);
out:
    cli_privkeys_free(keys, n_keys);
    cli_arena_free(&a);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_record = {
    "record",
    "record KIND [flags] --reason TEXT --key KEYFILE",
    "Record a signed change (model, dataset, code, config, environment, evaluation, deployment, "
    "rollback, approval, document, retirement).",
    "Example:\n"
    "  mlaudit record model --name fraud-detector --version 3 --path ./model_dir \\\n"
    "    --input dataset:transactions@2026-06:training-data --attr learning_rate=0.01 \\\n"
    "    --attr seed=42 --metric auc=0.91 --reason \"retrained on June data\" --key writer.key\n"
    "  mlaudit record deployment --name fraud-detector --version 3 --target fraud-api \\\n"
    "    --stage canary --traffic 0.05 --reason \"canary\" --key deployer.key\n"
    "  mlaudit record rollback --target fraud-api --to model:fraud-detector@2 \\\n"
    "    --reason \"AUC dropped in production\" --key deployer.key\n"
    "  mlaudit record approval --name fraud-detector --version 3 --approves 7 \\\n"
    "    --scope production --reason \"validated by model risk\" --key reviewer.key\n"
    "  mlaudit record retirement --name fraud-detector --version 2 --target fraud-api-v1 \\\n"
    "    --reason \"endpoint decommissioned\" --key deployer.key\n"
    "\nA change without --reason is refused before anything is sent (exit 2). The\n"
    "receipt is verified (checkpoint signature, inclusion proof, consistency with the\n"
    "checkpoint this CLI remembers) before success is reported; --json prints it whole.\n",
    record_flags,
    true,
    record_run,
};
