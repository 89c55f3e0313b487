/* cli_state: the checkpoint the CLI last verified for each ledger, kept under
 * the user's config directory (checkpoints/<hex SHA-256 of the log's
 * verifier key string>). Every contact with a server checks that its latest
 * checkpoint extends the remembered one (RFC 9162 §2.1.4 consistency proof),
 * so a log that forked, was rewritten or shrank is refused loudly with both
 * checkpoints shown — the split-view defence of transparency logs. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

mla_status cli_state_dir(const cli_ctx *ctx, char *out, size_t cap)
{
    int n;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (ctx->state_dir && *ctx->state_dir)
        n = snprintf(out, cap, "%s", ctx->state_dir);
    else if (xdg && *xdg)
        n = snprintf(out, cap, "%s/mlaudit", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.config/mlaudit", home);
    else
        return mla_err(MLA_EINVAL, "state-dir: neither HOME nor XDG_CONFIG_HOME is set; pass "
                                   "--state-dir DIR");
    if (n < 0 || (size_t)n >= cap) return mla_err(MLA_EINVAL, "state-dir: path too long");
    return MLA_OK;
}

static mla_status mkdir_p(char *path)
{
    /* Create each component; the state is private to the user (0700). */
    for (char *p = path + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            char c = *p;
            *p = '\0';
            int r = mkdir(path, 0700);
            int e = errno;
            *p = c;
            if (r != 0 && e != EEXIST)
                return mla_err(MLA_EIO, "state-dir: cannot create %s (%s)", path, strerror(e));
        }
        if (end) return MLA_OK;
    }
}

static mla_status state_path(const cli_ctx *ctx, char *out, size_t cap, bool create)
{
    char dir[4096];
    MLA_TRY(cli_state_dir(ctx, dir, sizeof dir));
    size_t dl = strlen(dir);
    if (dl + sizeof "/checkpoints" > sizeof dir) return mla_err(MLA_EINVAL, "state-dir: too long");
    memcpy(dir + dl, "/checkpoints", sizeof "/checkpoints");
    if (create) MLA_TRY(mkdir_p(dir));
    mla_hash h;
    mla_crypto_sha256(&h, mla_slice_cstr(ctx->vkey));
    char hex[65];
    mla_hex_encode_to(hex, h.b, 32);
    int n = snprintf(out, cap, "%s/%s", dir, hex);
    if (n < 0 || (size_t)n >= cap) return mla_err(MLA_EINVAL, "state-dir: path too long");
    return MLA_OK;
}

static void show_checkpoint(const char *label, mla_slice note)
{
    fprintf(stderr, "--- %s ---\n%.*s", label, (int)note.len, (const char *)note.ptr);
    if (note.len && note.ptr[note.len - 1] != '\n') fputc('\n', stderr);
}

static int refuse(cli_ctx *ctx, const char *path, mla_slice old_note, mla_slice new_note,
                  const char *what)
{
    int code = cli_fail(ctx, CLI_EXIT_NO,
                        "REFUSED: %s. The server's checkpoint is not an extension of the one this "
                        "CLI verified before (remembered in %s). Someone may be showing you a "
                        "different history; keep both checkpoints as evidence and alert the "
                        "log's operator. Delete that file only if you know why it changed.",
                        what, path);
    show_checkpoint("remembered checkpoint", old_note);
    show_checkpoint("server's checkpoint", new_note);
    return code;
}

int cli_state_advance(cli_ctx *ctx, mla_slice note, const mla_checkpoint *cp)
{
    char path[4200];
    mla_status rc = state_path(ctx, path, sizeof path, true);
    if (rc != MLA_OK) return cli_fail_local(ctx, rc);
    mla_buf old;
    rc = cli_file_read(&old, path, MLA_NOTE_MAX_BYTES);
    if (rc == MLA_ENOTFOUND) goto remember; /* first contact with this log */
    if (rc != MLA_OK) return cli_fail(ctx, CLI_EXIT_IO, "state: %s", mla_error_last()->msg);

    int code = CLI_EXIT_OK;
    mla_checkpoint prev;
    mla_slice old_note = mla_buf_slice(&old);
    if (mla_note_checkpoint_open(&prev, old_note, &ctx->verifier, 1) != MLA_OK) {
        code = cli_fail(ctx, CLI_EXIT_NO,
                        "state: the remembered checkpoint %s does not verify with the log key "
                        "(%s); it was altered — inspect it, then delete it to start over",
                        path, mla_error_last()->msg);
        goto out;
    }
    if (strcmp(prev.origin, cp->origin) != 0) {
        code = refuse(ctx, path, old_note, note, "the log's origin line changed");
        goto out;
    }
    if (cp->size < prev.size) {
        char what[160];
        snprintf(what, sizeof what, "the log shrank from %llu to %llu entries",
                 (unsigned long long)prev.size, (unsigned long long)cp->size);
        code = refuse(ctx, path, old_note, note, what);
        goto out;
    }
    if (cp->size == prev.size) {
        if (!mla_hash_eq(&cp->root, &prev.root))
            code = refuse(ctx, path, old_note, note,
                          "the log forked or was rewritten: same size, different root");
        goto out; /* nothing new to remember */
    }
    if (prev.size > 0) {
        /* RFC 9162 §2.1.4.2: the new tree must contain the old one. */
        mla_merkle_proof proof;
        rc = mla_client_consistency_proof(ctx->client, prev.size, cp->size, &proof);
        if (rc != MLA_OK) {
            code = cli_fail_server(ctx, rc);
            goto out;
        }
        if (mla_merkle_consistency_verify(prev.size, cp->size, &prev.root, &cp->root, &proof) !=
            MLA_OK) {
            char what[MLA_ERROR_MSG_MAX + 96];
            snprintf(what, sizeof what,
                     "the log forked or was rewritten: no valid consistency proof from size "
                     "%llu to %llu (%s)",
                     (unsigned long long)prev.size, (unsigned long long)cp->size,
                     mla_error_last()->msg);
            code = refuse(ctx, path, old_note, note, what);
            goto out;
        }
    }
    mla_buf_dispose(&old);
remember:
    rc = cli_file_write_atomic(path, note, 0600);
    if (rc != MLA_OK) return cli_fail(ctx, CLI_EXIT_IO, "state: %s", mla_error_last()->msg);
    return CLI_EXIT_OK;
out:
    mla_buf_dispose(&old);
    return code;
}
