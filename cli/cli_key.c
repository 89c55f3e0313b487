/* cli_key: `mlaudit key register PUBFILE` and `mlaudit key revoke PUBFILE` —
 * KEY changes (SPEC §6) signed by an admin key: register a writer, auditor,
 * admin or serving key with the kinds it may sign, or revoke one (it then
 * signs nothing new; its old entries stay valid). */
#include <string.h>
#include <strings.h>

#include "cli.h"

static const cli_flag key_flags[] = {
    {"kinds", 0, "KIND,...", false,
     "register: the kinds the key may sign (e.g. model,dataset,evaluation); required for "
     "writer and serving keys"},
    {"role", 0, "ROLE", false, "writer (default), auditor, admin or serving"},
    {"label", 0, "TEXT", false, "a human label for the key (e.g. \"ci-pipeline\")"},
    {"actor", 0, "WHO", false, "who makes the change (default: $USER)"},
    {"reason", 0, "TEXT", false, "REQUIRED: why the key is registered or revoked"},
    {"key", 0, "ADMIN.key", true, "the admin private key that signs the KEY change"},
    {"receipt-out", 0, "FILE", false, "write the JSON receipt"},
    {"dry-run", 0, NULL, false, "build, validate and print the change; send nothing"},
    {NULL, 0, NULL, false, NULL},
};

static bool is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') ||
              (s[n] >= 'A' && s[n] <= 'F')))
            return false;
    return n == 64;
}

static int key_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 2 || (strcmp(ctx->pos[0], "register") && strcmp(ctx->pos[0], "revoke")))
        return cli_usage(ctx, "want: mlaudit key register PUBFILE ... or mlaudit key revoke "
                              "PUBFILE ...");
    bool revoke = !strcmp(ctx->pos[0], "revoke");
    const char *pubfile = ctx->pos[1];
    const char *reason = cli_opt(ctx, "reason");
    if (!reason || !*reason)
        return cli_usage(ctx, "reason: required — say why this key is %s (--reason \"...\")",
                         revoke ? "revoked" : "registered");
    if (revoke && is_hex64(pubfile))
        return cli_usage(ctx,
                         "PUBFILE: %s looks like a keyid; a KEY change names the raw public "
                         "key, so give the key's .pub file (the keyid is its SHA-256)",
                         pubfile);
    mla_status rc = mla_crypto_init();
    if (rc != MLA_OK) return cli_fail_local(ctx, rc);
    mla_pubkey pub;
    if ((rc = mla_crypto_keyfile_read_public(&pub, pubfile)) != MLA_OK)
        return cli_fail(ctx, rc == MLA_EIO ? CLI_EXIT_IO : CLI_EXIT_USAGE, "PUBFILE: %s",
                        mla_error_last()->msg);

    Mlaudit__V1__KeyChange kc;
    char *actor_copy = NULL, *reason_copy = NULL;
    mlaudit__v1__key_change__init(&kc);
    kc.public_key.data = pub.b;
    kc.public_key.len = 32;
    kc.revoke = revoke;
    /* change.proto wants a role on every KEY change; a revocation keeps the
     * key's recorded role, so the one sent there is only a placeholder. */
    const char *role = cli_opt(ctx, "role");
    static const char *const roles[] = {NULL, "writer", "auditor", "admin", "serving"};
    kc.role = MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER;
    if (role) {
        kc.role = MLAUDIT__V1__KEY_ROLE__KEY_ROLE_UNSPECIFIED;
        for (unsigned i = 1; i < 5; i++)
            if (!strcasecmp(role, roles[i])) kc.role = (Mlaudit__V1__KeyRole)i;
        if (!kc.role)
            return cli_usage(ctx, "--role: \"%s\": want writer, auditor, admin or serving", role);
    }
    mla_kind kinds[MLA_LIMIT_ALLOWED_KINDS];
    const char *ks = cli_opt(ctx, "kinds");
    if (ks && revoke) return cli_usage(ctx, "--kinds: does not apply to a revocation");
    if (ks) {
        const char *p = ks;
        while (*p) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (kc.n_allowed_kinds == MLA_LIMIT_ALLOWED_KINDS)
                return cli_usage(ctx, "--kinds: more than %d kinds", MLA_LIMIT_ALLOWED_KINDS);
            if (len == 0 ||
                mla_codec_kind_parse(&kinds[kc.n_allowed_kinds], mla_slice_make(p, len)) != MLA_OK)
                return cli_usage(ctx,
                                 "--kinds: \"%.*s\" is not a kind (model, dataset, code, "
                                 "config, environment, evaluation, deployment, rollback, "
                                 "approval, decision_batch, document, retirement, import)",
                                 (int)len, p);
            kc.n_allowed_kinds++;
            p += len;
            if (*p == ',') p++;
        }
        kc.allowed_kinds = kinds;
    }
    if (!revoke && !ks &&
        (kc.role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER ||
         kc.role == MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING))
        return cli_usage(ctx,
                         "--kinds: required for a %s key — the kinds it may sign (e.g. "
                         "--kinds model,dataset)",
                         role ? role : "writer");
    /* protobuf-c strings are char *: copy the borrowed argv strings. */
    cli_arena a = {NULL, 0, 0};
    const char *label = cli_opt(ctx, "label");
    const char *actor = cli_opt(ctx, "actor");
    if (!actor) actor = getenv("USER");
    if ((label && !(kc.name = cli_arena_strdup(&a, label))) ||
        (actor && !(actor_copy = cli_arena_strdup(&a, actor))) ||
        !(reason_copy = cli_arena_strdup(&a, reason))) {
        cli_arena_free(&a);
        return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
    }

    mla_pb_change c;
    mlaudit__v1__change__init(&c);
    c.kind = MLAUDIT__V1__KIND__KIND_KEY;
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_KEY;
    c.key = &kc;
    c.reason = reason_copy;
    if (actor_copy) c.actor = actor_copy;
    c.client_time_ns = mla_time_now_ns();

    mla_privkey *keys[CLI_MAX_KEYS] = {NULL};
    size_t n_keys = 0;
    int code = CLI_EXIT_OK;
    if (!cli_has(ctx, "dry-run") || cli_has(ctx, "key"))
        code = cli_privkeys_load(ctx, keys, &n_keys);
    if (code == CLI_EXIT_OK) code = cli_record_submit(ctx, &c, keys, n_keys);
    cli_privkeys_free(keys, n_keys);
    cli_arena_free(&a);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_key = {
    "key",
    "key register PUBFILE --kinds KIND,... [--role ROLE] --key ADMIN.key --reason TEXT\n"
    "       mlaudit key revoke PUBFILE --key ADMIN.key --reason TEXT",
    "Register or revoke a signing key with a KEY change signed by an admin key.",
    "The trust root is the admin public keys the daemon was started with (--admin-key).\n"
    "A revoked key signs nothing new; its old entries stay valid. Revocation needs the\n"
    "key's .pub file (a KEY change names the raw public key, not its keyid).\n",
    key_flags,
    true,
    key_run,
};
