/* cli_export: `mlaudit export -o FILE` — a verifiable backup (SPEC §9): the
 * latest verified checkpoint and every entry it covers, as JSON lines:
 *   {"format":"mlaudit-export-v1","origin":...,"tree_size":N,"root":hex,"checkpoint":"<note>"}
 *   {"seq":0,"entry":"<base64 of the verbatim entry bytes>"}   (one per entry)
 *   {"seq":7,"leaf_hash":hex,"redacted":true}                  (a redacted entry)
 * The CLI recomputes the root before keeping the file, and `mlaudit verify`
 * checks it again offline. Written to FILE.tmp, synced, then renamed. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct export_ctx {
    FILE *f;
    uint64_t next;
    mla_merkle_frontier fr;
    mla_buf b64;
} export_ctx;

static mla_status export_one(void *vctx, uint64_t seq, mla_slice entry, const mla_hash *leaf,
                             bool redacted)
{
    export_ctx *x = vctx;
    if (seq != x->next)
        return mla_err(MLA_ECORRUPT, "export: the server sent seq %llu, expected %llu",
                       (unsigned long long)seq, (unsigned long long)x->next);
    x->next++;
    MLA_TRY(mla_merkle_frontier_append(&x->fr, leaf, NULL, NULL));
    int w;
    if (redacted) {
        char lh[65];
        mla_hex_encode_to(lh, leaf->b, 32);
        w = fprintf(x->f, "{\"seq\":%llu,\"leaf_hash\":\"%s\",\"redacted\":true}\n",
                    (unsigned long long)seq, lh);
    } else {
        mla_buf_clear(&x->b64);
        MLA_TRY(mla_base64_encode(&x->b64, entry));
        w = fprintf(x->f, "{\"seq\":%llu,\"entry\":\"%.*s\"}\n", (unsigned long long)seq,
                    (int)x->b64.len, (const char *)x->b64.ptr);
    }
    if (w < 0) return mla_err(MLA_EIO, "export: write failed (%s)", strerror(errno));
    return MLA_OK;
}

static const cli_flag export_flags[] = {
    {"out", 'o', "FILE", false, "the bundle to write (must not exist)"},
    {NULL, 0, NULL, false, NULL},
};

static int export_run(cli_ctx *ctx)
{
    const char *out = cli_opt(ctx, "out");
    if (!out || !*out)
        return cli_usage(ctx, "--out: required — the bundle file to write (-o FILE)");
    if (ctx->n_pos) return cli_usage(ctx, "%s: unexpected argument", ctx->pos[0]);
    if (access(out, F_OK) == 0)
        return cli_usage(ctx, "--out: %s already exists; choose a new file", out);
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid()) >= sizeof tmp)
        return cli_usage(ctx, "--out: path too long");
    export_ctx x;
    memset(&x, 0, sizeof x);
    mla_buf_init(&x.b64, 2 * MLA_LIMIT_ENTRY_BYTES);
    mla_merkle_frontier_init(&x.fr);
    int code = cli_connect(ctx);
    if (code != CLI_EXIT_OK) goto out;
    if (!(x.f = fopen(tmp, "wbx"))) {
        code = cli_fail(ctx, CLI_EXIT_IO, "--out: cannot create %s (%s)", tmp, strerror(errno));
        goto out;
    }
    char root[65];
    mla_hex_encode_to(root, ctx->cp.root.b, 32);
    json_t *hdr = json_pack("{s:s,s:s,s:I,s:s,s:s%}", "format", "mlaudit-export-v1", "origin",
                            ctx->cp.origin, "tree_size", (json_int_t)ctx->cp.size, "root", root,
                            "checkpoint", (const char *)ctx->cp_note.ptr, ctx->cp_note.len);
    if (!hdr || json_dumpf(hdr, x.f, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', x.f) == EOF) {
        json_decref(hdr);
        code = cli_fail(ctx, CLI_EXIT_IO, "--out: write failed");
        goto out;
    }
    json_decref(hdr);
    if (ctx->cp.size > 0) {
        mla_status rc = mla_client_entries(ctx->client, 0, ctx->cp.size, export_one, &x);
        if (rc == MLA_EIO && ferror(x.f)) {
            code = cli_fail(ctx, CLI_EXIT_IO, "--out: %s", mla_error_last()->msg);
            goto out;
        }
        if (rc != MLA_OK) {
            code = cli_fail_server(ctx, rc);
            goto out;
        }
    }
    mla_hash got;
    mla_merkle_frontier_root(&x.fr, &got);
    if (x.next != ctx->cp.size || !mla_hash_eq(&got, &ctx->cp.root)) {
        code = cli_fail(ctx, CLI_EXIT_NO,
                        "the server's entries do not match its checkpoint "
                        "(%llu of %llu entries, root %s); nothing written",
                        (unsigned long long)x.next, (unsigned long long)ctx->cp.size,
                        mla_hash_eq(&got, &ctx->cp.root) ? "matches" : "differs");
        goto out;
    }
    if (fflush(x.f) != 0 || fsync(fileno(x.f)) != 0) {
        code = cli_fail(ctx, CLI_EXIT_IO, "--out: %s: sync failed (%s)", tmp, strerror(errno));
        goto out;
    }
    fclose(x.f);
    x.f = NULL;
    if (link(tmp, out) != 0) { /* link, not rename: never replace a file made meanwhile */
        code = cli_fail(ctx, CLI_EXIT_IO, "--out: cannot create %s (%s)", out, strerror(errno));
        goto out;
    }
    unlink(tmp);
    if (ctx->json)
        cli_json_print(json_pack("{s:s,s:s,s:I,s:s}", "file", out, "origin", ctx->cp.origin,
                                 "entries", (json_int_t)ctx->cp.size, "root", root));
    else
        printf("exported %llu entries of %s to %s\nroot %s (matches the signed checkpoint)\n"
               "verify it offline: mlaudit verify %s --log-key @LOG.vkey --admin-key ADMIN.pub\n",
               (unsigned long long)ctx->cp.size, ctx->cp.origin, out, root, out);
out:
    if (x.f) fclose(x.f);
    if (code != CLI_EXIT_OK) unlink(tmp);
    mla_buf_dispose(&x.b64);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_export = {
    "export",
    "export -o FILE",
    "Export every entry and the latest checkpoint to a bundle that `mlaudit verify` checks "
    "offline.",
    "Format (JSON lines): a header {\"format\":\"mlaudit-export-v1\",\"origin\",\"tree_size\",\n"
    "\"root\",\"checkpoint\"} then one {\"seq\":N,\"entry\":\"<base64 entry bytes>\"} per entry\n"
    "(a redacted entry: {\"seq\":N,\"leaf_hash\":HEX,\"redacted\":true}).\n",
    export_flags,
    true,
    export_run,
};
