/* cli_audit: `mlaudit audit DATADIR` — the full offline audit of a stopped
 * daemon's store (mla_log_audit): recompute the hash chain, back-links,
 * identity rule, key registry, every signature and the Merkle tree, and
 * compare them with the stored nodes and the last signed checkpoint. */
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const cli_flag audit_flags[] = {
    {"admin-key", 0, "PUBFILE", true, "the admin public keys the daemon trusts (its trust root)"},
    {"no-signatures", 0, NULL, false, "check only the chain and the tree (no trust root needed)"},
    {NULL, 0, NULL, false, NULL},
};

static int audit_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1) return cli_usage(ctx, "DATADIR: required — the daemon's data directory");
    const char *dir = ctx->pos[0];
    bool sigs = !cli_has(ctx, "no-signatures");
    mla_pubkey admins[CLI_MAX_KEYS];
    size_t n_admins = 0;
    int code = cli_pubkeys_load(ctx, "admin-key", admins, &n_admins);
    if (code != CLI_EXIT_OK) return code;
    if (sigs && n_admins == 0)
        return cli_usage(ctx, "--admin-key: required — the admin public key files the daemon "
                              "trusts (or --no-signatures to check only the chain and the tree)");
    /* mlauditd keeps its store in DATADIR/db; accept the store itself too.
     * Check first: LevelDB would leave LOCK and LOG files in a wrong dir. */
    char db[4200], probe[4300];
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(probe, sizeof probe, "%s/CURRENT", db);
    if (access(probe, F_OK) != 0) {
        snprintf(db, sizeof db, "%s", dir);
        snprintf(probe, sizeof probe, "%s/CURRENT", db);
        if (access(probe, F_OK) != 0)
            return cli_usage(ctx,
                             "DATADIR: %s holds no ledger store (no %s/db/CURRENT): give the "
                             "daemon's --data-dir",
                             dir, dir);
    }
    /* Default to the key the daemon published in its data directory. */
    char vkey_path[4200];
    if (!ctx->log_key_arg) {
        snprintf(vkey_path, sizeof vkey_path, "@%s/log.vkey", dir);
        ctx->log_key_arg = vkey_path;
        if (!ctx->json)
            fprintf(stderr,
                    "note: checkpoint key read from %s/log.vkey, inside the audited "
                    "directory; pass --log-key from a copy you trust\n",
                    dir);
    }
    if ((code = cli_log_key_load(ctx, true)) != CLI_EXIT_OK) return code;
    mla_status rc = mla_crypto_init();
    if (rc != MLA_OK) return cli_fail_local(ctx, rc);
    mla_store *store = NULL;
    mla_store_leveldb_options so = {0};
    so.create_if_missing = false;
    if ((rc = mla_store_open_leveldb(&store, db, &so)) != MLA_OK) {
        const char *msg = mla_error_last()->msg;
        bool locked = strstr(msg, "lock") || strstr(msg, "LOCK");
        return cli_fail(ctx, CLI_EXIT_IO, "DATADIR: %s%s", msg,
                        locked ? " — the daemon is still running (LevelDB lets one process open "
                                 "a store): stop mlauditd, or audit an export with mlaudit verify"
                               : "");
    }
    mla_audit_options ao = {
        .admin_keys = admins,
        .n_admin_keys = n_admins,
        .log_verifiers = &ctx->verifier,
        .n_log_verifiers = 1,
        .check_signatures = sigs,
    };
    mla_audit_result res;
    memset(&res, 0, sizeof res);
    rc = mla_log_audit(&res, store, &ao);
    mla_store_close(store);
    if (rc != MLA_OK) return cli_fail(ctx, CLI_EXIT_IO, "audit: %s", mla_error_last()->msg);
    char root[65];
    mla_hex_encode_to(root, res.root.b, 32);
    if (ctx->json) {
        json_t *j =
            json_pack("{s:b,s:s,s:I,s:I,s:s,s:b}", "ok", (int)res.ok, "data_dir", dir, "n_entries",
                      (json_int_t)res.n_entries, "checkpoint_size", (json_int_t)res.checkpoint_size,
                      "root", root, "signatures_checked", (int)sigs);
        if (j && !res.ok) {
            json_object_set_new(j, "problem", json_string(res.problem));
            if (res.first_bad_seq != UINT64_MAX)
                json_object_set_new(j, "first_bad_seq",
                                    json_integer((json_int_t)res.first_bad_seq));
        }
        if (j) cli_json_print(j);
    } else if (res.ok) {
        printf("OK: %llu entries, checkpoint size %llu, root %s\n"
               "hash chain, back-links, identities, %sMerkle tree and signed checkpoint verified\n",
               (unsigned long long)res.n_entries, (unsigned long long)res.checkpoint_size, root,
               sigs ? "key registry, every signature, " : "");
    } else {
        fprintf(stderr, "mlaudit audit: NOT OK: %s\n", res.problem);
        printf("NOT OK: %s\n", res.problem);
    }
    return res.ok ? CLI_EXIT_OK : CLI_EXIT_NO;
}

const cli_cmd cli_cmd_audit = {
    "audit",
    "audit DATADIR --admin-key ADMIN.pub [--log-key VKEY]",
    "Audit a stopped daemon's data directory offline: chain, tree, keys, every signature.",
    "Opens the LevelDB store read-only in spirit (nothing is written) — the daemon must be\n"
    "stopped, LevelDB admits one process. --log-key defaults to DATADIR/log.vkey.\n"
    "Exit 0 if everything verifies, 1 naming the first bad seq otherwise.\n",
    audit_flags,
    false,
    audit_run,
};
