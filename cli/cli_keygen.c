/* cli_keygen: `mlaudit keygen --out NAME` — a new Ed25519 key in
 * NAME.key (private, 0600) and NAME.pub, printing its keyid (SPEC §3: hex
 * SHA-256 of the raw public key) and, with --note-name, the C2SP verifier key
 * string a log signing key is published as. */
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const cli_flag keygen_flags[] = {
    {"out", 'o', "NAME", false,
     "write NAME.key (private, mode 0600) and NAME.pub (a trailing .key in NAME is dropped)"},
    {"note-name", 0, "NAME", false,
     "also print the C2SP verifier key \"NAME+hash+base64\" (for a log signing key, NAME is "
     "the daemon's key name, by default its origin)"},
    {NULL, 0, NULL, false, NULL},
};

static int keygen_run(cli_ctx *ctx)
{
    const char *out = cli_opt(ctx, "out");
    if (!out && ctx->n_pos == 1) out = ctx->pos[0];
    if (!out || !*out) return cli_usage(ctx, "--out: required — the base name of the key files");
    if (ctx->n_pos > 1 || (ctx->n_pos == 1 && cli_has(ctx, "out")))
        return cli_usage(ctx, "%s: unexpected argument", ctx->pos[ctx->n_pos - 1]);
    /* "--out writer.key" means the pair writer.key / writer.pub. */
    size_t base = strlen(out);
    if (base > 4 && !strcmp(out + base - 4, ".key")) base -= 4;
    char priv[4096], pub[4096];
    if (base > 4000) return cli_usage(ctx, "--out: path too long");
    snprintf(priv, sizeof priv, "%.*s.key", (int)base, out);
    snprintf(pub, sizeof pub, "%.*s.pub", (int)base, out);
    const char *note_name = cli_opt(ctx, "note-name");
    mla_note_verifier v;
    mla_privkey *k = NULL;
    mla_status rc = mla_crypto_init();
    if (rc != MLA_OK) return cli_fail_local(ctx, rc);
    if ((rc = mla_crypto_key_generate(&k)) != MLA_OK) return cli_fail_local(ctx, rc);
    const mla_pubkey *pk = mla_crypto_key_public(k);
    int code = CLI_EXIT_OK;
    mla_buf vkey;
    mla_buf_init(&vkey, 1024);
    if (note_name && mla_note_verifier_init(&v, mla_slice_cstr(note_name), pk) != MLA_OK) {
        code = cli_usage(ctx, "--note-name: %s", mla_error_last()->msg);
        goto out;
    }
    if (note_name && (rc = mla_note_verifier_format(&vkey, &v)) != MLA_OK) {
        code = cli_fail_local(ctx, rc);
        goto out;
    }
    if (access(pub, F_OK) == 0) {
        code = cli_usage(ctx,
                         "--out: %s already exists; a key file is never overwritten — "
                         "choose another name",
                         pub);
        goto out;
    }
    if ((rc = mla_crypto_keyfile_write_private(priv, k)) != MLA_OK) {
        code = cli_fail(ctx, rc == MLA_EEXISTS ? CLI_EXIT_USAGE : CLI_EXIT_IO, "--out: %s",
                        mla_error_last()->msg);
        goto out;
    }
    if ((rc = mla_crypto_keyfile_write_public(pub, pk)) != MLA_OK) {
        code = cli_fail(ctx, rc == MLA_EEXISTS ? CLI_EXIT_USAGE : CLI_EXIT_IO, "--out: %s",
                        mla_error_last()->msg);
        unlink(priv); /* we just created it: leave no half pair behind */
        goto out;
    }
    char keyid[MLA_KEYID_HEX_LEN + 1];
    mla_crypto_keyid(keyid, pk);
    if (ctx->json) {
        json_t *j = json_pack("{s:s,s:o,s:s,s:s}", "keyid", keyid, "public",
                              cli_json_b64(pk->b, 32), "private_file", priv, "public_file", pub);
        if (j && note_name)
            json_object_set_new(j, "verifier_key", json_stringn((const char *)vkey.ptr, vkey.len));
        if (j) cli_json_print(j);
    } else {
        printf("keyid %s\nwrote %s (private, mode 0600) and %s\n", keyid, priv, pub);
        if (note_name) printf("verifier key %.*s\n", (int)vkey.len, (const char *)vkey.ptr);
    }
out:
    mla_buf_dispose(&vkey);
    mla_crypto_key_free(k);
    return code;
}

const cli_cmd cli_cmd_keygen = {
    "keygen",
    "keygen --out NAME [--note-name KEYNAME]",
    "Generate an Ed25519 signing key: NAME.key (private) and NAME.pub (public).",
    "The keyid printed is the lowercase hex SHA-256 of the raw public key (SPEC §3).\n"
    "Register a writer key with `mlaudit key register NAME.pub --kinds ... --key ADMIN.key`.\n"
    "Existing files are never overwritten.\n",
    keygen_flags,
    false,
    keygen_run,
};
