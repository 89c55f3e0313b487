/* cli_read: the read commands — get SEQ, log, checkpoint, prove SEQ. Each
 * connects through cli_connect (latest checkpoint verified and consistent
 * with the remembered one) and verifies what it shows against that
 * checkpoint: an entry by its inclusion proof, a whole log by its root. */
#include <string.h>

#include "cli.h"

/* ---- fetching entries ---------------------------------------------------- */

typedef struct one_entry {
    mla_buf bytes;
    mla_hash leaf;
    bool redacted, seen;
} one_entry;

static mla_status take_one(void *vctx, uint64_t seq, mla_slice entry, const mla_hash *leaf,
                           bool redacted)
{
    one_entry *o = vctx;
    (void)seq;
    o->seen = true;
    o->leaf = *leaf;
    o->redacted = redacted;
    return mla_buf_set(&o->bytes, entry);
}

/* Inclusion of (seq, leaf) in the checkpoint cp: exit code. */
static int prove_in(cli_ctx *ctx, uint64_t seq, const mla_hash *leaf, const mla_checkpoint *cp,
                    mla_merkle_proof *proof_out)
{
    mla_hash srv_leaf;
    uint64_t size = 0;
    mla_status rc =
        mla_client_inclusion_proof(ctx->client, seq, cp->size, proof_out, &srv_leaf, &size);
    if (rc != MLA_OK) return cli_fail_server(ctx, rc);
    if (size != cp->size)
        return cli_fail(ctx, CLI_EXIT_NO, "inclusion proof: for tree size %llu, asked for %llu",
                        (unsigned long long)size, (unsigned long long)cp->size);
    if (leaf && !mla_hash_eq(leaf, &srv_leaf))
        return cli_fail(ctx, CLI_EXIT_NO,
                        "inclusion proof: the server's leaf hash for seq %llu differs from the "
                        "hash of the entry it returned",
                        (unsigned long long)seq);
    if (mla_merkle_inclusion_verify(&srv_leaf, seq, cp->size, proof_out, &cp->root) != MLA_OK)
        return cli_fail(ctx, CLI_EXIT_NO,
                        "inclusion proof: seq %llu is not proven in the checkpoint of size %llu "
                        "(%s)",
                        (unsigned long long)seq, (unsigned long long)cp->size,
                        mla_error_last()->msg);
    return CLI_EXIT_OK;
}

static int seq_arg(cli_ctx *ctx, uint64_t *seq)
{
    if (ctx->n_pos != 1) return cli_usage(ctx, "SEQ: required — one entry number");
    if (!cli_parse_u64(ctx->pos[0], seq))
        return cli_usage(ctx, "SEQ: \"%s\" is not an entry number (0, 1, 2, ...)", ctx->pos[0]);
    return CLI_EXIT_OK;
}

static int check_in_range(cli_ctx *ctx, uint64_t seq)
{
    if (seq >= ctx->cp.size)
        return cli_fail(ctx, CLI_EXIT_REFUSED,
                        "SEQ: %llu is past the end: the log has %llu "
                        "entries (0..%llu)",
                        (unsigned long long)seq, (unsigned long long)ctx->cp.size,
                        (unsigned long long)(ctx->cp.size ? ctx->cp.size - 1 : 0));
    return CLI_EXIT_OK;
}

/* ---- get ------------------------------------------------------------------ */

/* The shortest of %.15g / %.17g that reads back as the same double. */
static void fmt_double(char out[40], double v)
{
    snprintf(out, 40, "%.15g", v);
    if (strtod(out, NULL) != v) snprintf(out, 40, "%.17g", v);
}

static const char *str_or_dash(json_t *v)
{
    const char *s = json_string_value(v);
    return s && *s ? s : "-";
}

static void print_entry_text(json_t *e, bool redacted, uint64_t seq, const mla_hash *leaf)
{
    char lh[65];
    mla_hex_encode_to(lh, leaf->b, 32);
    if (redacted) {
        printf("seq        %llu\nstatus     redacted (payload erased; leaf hash kept)\nleaf       "
               "%s\n",
               (unsigned long long)seq, lh);
        return;
    }
    printf("seq        %lld\n", (long long)json_integer_value(json_object_get(e, "seq")));
    printf("time       %s\n", json_string_value(json_object_get(e, "time")));
    printf("submitter  %s\n", json_string_value(json_object_get(e, "submitter")));
    printf("kind       %s\n", json_string_value(json_object_get(e, "kind")));
    json_t *c = json_object_get(e, "change");
    if (json_object_get(e, "subject"))
        printf("subject    %s\n", json_string_value(json_object_get(e, "subject")));
    json_t *s = c ? json_object_get(c, "subject") : NULL;
    if (s && json_object_get(s, "digest"))
        printf("digest     sha256:%s\n", json_string_value(json_object_get(s, "digest")));
    if (s && json_object_get(s, "uri"))
        printf("uri        %s\n", json_string_value(json_object_get(s, "uri")));
    if (c) {
        printf("actor      %s\n", str_or_dash(json_object_get(c, "actor")));
        printf("reason     %s\n", json_string_value(json_object_get(c, "reason")));
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(c, "inputs"), i, v)
        {
            json_t *a = json_object_get(v, "artifact");
            printf("input      %s:%s@%s (%s)\n", json_string_value(json_object_get(a, "type")),
                   json_string_value(json_object_get(a, "name")),
                   json_string_value(json_object_get(a, "version")),
                   json_string_value(json_object_get(v, "role")));
        }
        const char *k;
        json_object_foreach(json_object_get(c, "attributes"), k, v)
            printf("attribute  %s=%s\n", k, json_string_value(v));
        json_object_foreach(json_object_get(c, "metrics"), k, v)
        {
            char num[40];
            fmt_double(num, json_number_value(v));
            printf("metric     %s=%s\n", k, num);
        }
        static const char *const details[] = {"deployment",     "rollback", "approval",
                                              "decision_batch", "key",      "retirement",
                                              "redaction",      "import"};
        for (size_t d = 0; d < sizeof details / sizeof details[0]; d++) {
            json_t *dj = json_object_get(c, details[d]);
            if (!dj) continue;
            char *txt = json_dumps(dj, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("%-10s %s\n", details[d], txt ? txt : "");
            free(txt);
        }
    } else {
        printf("payload    %s\n", json_string_value(json_object_get(e, "payload_type")));
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(e, "links"), i, v)
    {
        json_t *ps = json_object_get(v, "prev_seq");
        if (ps)
            printf("link       %s %s: previous seq %lld\n",
                   json_string_value(json_object_get(v, "scope")),
                   json_string_value(json_object_get(v, "key")), (long long)json_integer_value(ps));
        else
            printf("link       %s %s: first entry\n",
                   json_string_value(json_object_get(v, "scope")),
                   json_string_value(json_object_get(v, "key")));
    }
    json_array_foreach(json_object_get(e, "signed_by"), i, v)
        printf("signed by  %s\n", json_string_value(v));
    printf("leaf       %s\n", lh);
}

static const cli_flag get_flags[] = {
    {"raw", 0, "FILE", false, "also write the entry's verbatim bytes (for verify --entry)"},
    {NULL, 0, NULL, false, NULL},
};

static int get_run(cli_ctx *ctx)
{
    uint64_t seq;
    int code = seq_arg(ctx, &seq);
    if (code != CLI_EXIT_OK) return code;
    one_entry o = {{NULL, 0, 0, 0}, {{0}}, false, false};
    mla_buf_init(&o.bytes, MLA_LIMIT_ENTRY_BYTES);
    json_t *e = NULL;
    mla_merkle_proof proof;
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    if ((code = check_in_range(ctx, seq)) != CLI_EXIT_OK) goto out;
    mla_status rc = mla_client_entries(ctx->client, seq, seq + 1, take_one, &o);
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    if (!o.seen) {
        code = cli_fail(ctx, CLI_EXIT_NO,
                        "the server returned no entry %llu although its "
                        "checkpoint has %llu",
                        (unsigned long long)seq, (unsigned long long)ctx->cp.size);
        goto out;
    }
    if ((code = prove_in(ctx, seq, &o.leaf, &ctx->cp, &proof)) != CLI_EXIT_OK) goto out;
    if (!o.redacted) {
        if (!(e = cli_entry_json(mla_buf_slice(&o.bytes), &o.leaf, true))) {
            code = cli_fail(ctx, CLI_EXIT_NO, "entry %llu: %s", (unsigned long long)seq,
                            mla_error_last()->msg);
            goto out;
        }
        int64_t got = (int64_t)json_integer_value(json_object_get(e, "seq"));
        if ((uint64_t)got != seq) {
            code = cli_fail(ctx, CLI_EXIT_NO, "entry %llu: the server returned entry %lld",
                            (unsigned long long)seq, (long long)got);
            goto out;
        }
    }
    const char *raw = cli_opt(ctx, "raw");
    if (raw && (rc = cli_file_write_atomic(raw, mla_buf_slice(&o.bytes), 0644)) != MLA_OK) {
        code = cli_fail(ctx, CLI_EXIT_IO, "--raw: %s", mla_error_last()->msg);
        goto out;
    }
    if (ctx->json) {
        json_t *j = e ? json_incref(e)
                      : json_pack("{s:I,s:o,s:b}", "seq", (json_int_t)seq, "leaf_hash",
                                  cli_json_hex(o.leaf.b, 32), "redacted", 1);
        json_object_set_new(j, "verified_in_tree_size", json_integer((json_int_t)ctx->cp.size));
        cli_json_print(j);
    } else {
        print_entry_text(e, o.redacted, seq, &o.leaf);
        printf("verified   included in the checkpoint of size %llu\n",
               (unsigned long long)ctx->cp.size);
    }
out:
    json_decref(e);
    mla_buf_dispose(&o.bytes);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_get = {
    "get",
    "get SEQ [--raw FILE]",
    "Show one entry, verified by its inclusion proof in the latest checkpoint.",
    NULL,
    get_flags,
    true,
    get_run,
};

/* ---- log ------------------------------------------------------------------ */

typedef struct log_walk {
    cli_ctx *ctx;
    uint64_t next;
    mla_hash prev_leaf;
    bool have_prev;
    mla_merkle_frontier frontier;
    char problem[MLA_ERROR_MSG_MAX];
} log_walk;

static mla_status log_line(void *vctx, uint64_t seq, mla_slice entry, const mla_hash *leaf,
                           bool redacted)
{
    log_walk *w = vctx;
    if (seq != w->next)
        return mla_err(MLA_ECORRUPT, "log: the server sent seq %llu, expected %llu",
                       (unsigned long long)seq, (unsigned long long)w->next);
    w->next++;
    MLA_TRY(mla_merkle_frontier_append(&w->frontier, leaf, NULL, NULL));
    char lh[65];
    mla_hex_encode_to(lh, leaf->b, 32);
    if (redacted) {
        if (w->ctx->json) {
            cli_json_print_line(
                json_pack("{s:I,s:s,s:b}", "seq", (json_int_t)seq, "leaf_hash", lh, "redacted", 1));
        } else {
            printf("%-6llu  %-30s  [redacted]  leaf %s\n", (unsigned long long)seq, "", lh);
        }
        w->prev_leaf = *leaf;
        w->have_prev = true;
        return MLA_OK;
    }
    mla_pb_entry *e = NULL;
    MLA_TRY(mla_codec_entry_decode(&e, entry));
    /* SPEC §3: the hash chain — prev_hash is the leaf hash of seq - 1. */
    bool chain_ok =
        !w->have_prev || (e->prev_hash.len == 32 && !memcmp(e->prev_hash.data, w->prev_leaf.b, 32));
    mla_codec_entry_free(e);
    if (!chain_ok)
        return mla_err(MLA_ECORRUPT, "log: seq %llu: prev_hash is not the leaf hash of seq %llu",
                       (unsigned long long)seq, (unsigned long long)seq - 1);
    w->prev_leaf = *leaf;
    w->have_prev = true;
    json_t *j = cli_entry_json(entry, leaf, false);
    if (!j)
        return mla_err(MLA_ECORRUPT, "log: seq %llu: %s", (unsigned long long)seq,
                       mla_error_last()->msg);
    if (w->ctx->json) {
        cli_json_print_line(j);
        return MLA_OK;
    }
    const char *subject = json_string_value(json_object_get(j, "subject"));
    printf("%-6llu  %-30s  %-12s  %-40s  %s\n", (unsigned long long)seq,
           json_string_value(json_object_get(j, "time")),
           json_string_value(json_object_get(j, "kind")), subject ? subject : "-",
           str_or_dash(json_object_get(j, "actor")));
    json_decref(j);
    return MLA_OK;
}

static const cli_flag log_flags[] = {
    {"from", 0, "N", false, "first seq (default 0)"},
    {"to", 0, "M", false, "end seq, exclusive (default: the checkpoint's size)"},
    {NULL, 0, NULL, false, NULL},
};

static int log_run(cli_ctx *ctx)
{
    uint64_t from = 0, to = 0;
    const char *v;
    if (ctx->n_pos) return cli_usage(ctx, "%s: unexpected argument", ctx->pos[0]);
    if ((v = cli_opt(ctx, "from")) && !cli_parse_u64(v, &from))
        return cli_usage(ctx, "--from: \"%s\" is not an entry number", v);
    if ((v = cli_opt(ctx, "to")) && !cli_parse_u64(v, &to))
        return cli_usage(ctx, "--to: \"%s\" is not an entry number", v);
    int code = cli_connect(ctx);
    if (code != CLI_EXIT_OK) goto out;
    if (!cli_has(ctx, "to") || to > ctx->cp.size) to = ctx->cp.size;
    if (from >= to) {
        if (!ctx->json)
            fprintf(stderr, "no entries in [%llu, %llu)\n", (unsigned long long)from,
                    (unsigned long long)to);
        goto out;
    }
    log_walk w;
    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    w.next = from;
    mla_merkle_frontier_init(&w.frontier);
    if (!ctx->json)
        printf("%-6s  %-30s  %-12s  %-40s  %s\n", "SEQ", "TIME", "KIND", "SUBJECT", "ACTOR");
    mla_status rc = mla_client_entries(ctx->client, from, to, log_line, &w);
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    if (w.next != to) {
        code =
            cli_fail(ctx, CLI_EXIT_NO, "the server stopped at seq %llu of [%llu, %llu)",
                     (unsigned long long)w.next, (unsigned long long)from, (unsigned long long)to);
        goto out;
    }
    fflush(stdout); /* the summary on stderr comes after the lines */
    if (from == 0 && to == ctx->cp.size) {
        /* Every leaf is here: the root must be the checkpoint's. */
        mla_hash root;
        mla_merkle_frontier_root(&w.frontier, &root);
        if (!mla_hash_eq(&root, &ctx->cp.root)) {
            code = cli_fail(ctx, CLI_EXIT_NO, "the entries do not hash to the checkpoint's root");
            goto out;
        }
        if (!ctx->json)
            fprintf(stderr,
                    "verified: %llu entries, hash chain intact, Merkle root matches the "
                    "signed checkpoint\n",
                    (unsigned long long)to);
    } else if (!ctx->json) {
        fprintf(stderr,
                "hash chain intact within [%llu, %llu); use `mlaudit get SEQ` for an "
                "entry's inclusion proof\n",
                (unsigned long long)from, (unsigned long long)to);
    }
out:
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_log = {
    "log",
    "log [--from N] [--to M]",
    "List entries in a seq range, one line each: seq, time, kind, subject, actor.",
    "The hash chain is checked across the range; listing the whole log also checks the\n"
    "Merkle root against the signed checkpoint. --json prints one JSON object per line.\n",
    log_flags,
    true,
    log_run,
};

/* ---- checkpoint ------------------------------------------------------------- */

static const cli_flag no_flags[] = {{NULL, 0, NULL, false, NULL}};

static int checkpoint_run(cli_ctx *ctx)
{
    if (ctx->n_pos) return cli_usage(ctx, "%s: unexpected argument", ctx->pos[0]);
    int code = cli_connect(ctx);
    if (code == CLI_EXIT_OK) {
        char root[65];
        mla_hex_encode_to(root, ctx->cp.root.b, 32);
        if (ctx->json) {
            cli_json_print(json_pack("{s:s,s:I,s:s,s:s%,s:s,s:b}", "origin", ctx->cp.origin, "size",
                                     (json_int_t)ctx->cp.size, "root", root, "checkpoint",
                                     (const char *)ctx->cp_note.ptr, ctx->cp_note.len, "log_key",
                                     ctx->vkey, "consistent_with_remembered", 1));
        } else {
            printf("origin  %s\nsize    %llu\nroot    %s\n\n%.*s", ctx->cp.origin,
                   (unsigned long long)ctx->cp.size, root, (int)ctx->cp_note.len,
                   (const char *)ctx->cp_note.ptr);
            printf("\nsignature verified with %s\nconsistent with the checkpoint this CLI "
                   "remembered for this log (now updated)\n",
                   ctx->verifier.name);
        }
    }
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_checkpoint = {
    "checkpoint",
    "checkpoint",
    "Fetch, verify and show the latest signed checkpoint (origin, size, root).",
    "The checkpoint must be signed by --log-key and extend the one this CLI verified\n"
    "before for the same log (a consistency proof); otherwise it is refused (exit 1).\n",
    no_flags,
    true,
    checkpoint_run,
};

/* ---- prove ------------------------------------------------------------------ */

static const cli_flag prove_flags[] = {
    {"size", 0, "N", false, "tree size to prove in (must be the checkpoint's size)"},
    {"checkpoint", 0, "NOTEFILE", false,
     "prove in this older signed checkpoint (e.g. saved from a receipt) instead of the latest; "
     "it is checked to be consistent with the latest"},
    {NULL, 0, NULL, false, NULL},
};

static int prove_run(cli_ctx *ctx)
{
    uint64_t seq, size = 0;
    int code = seq_arg(ctx, &seq);
    if (code != CLI_EXIT_OK) return code;
    const char *v = cli_opt(ctx, "size");
    if (v && !cli_parse_u64(v, &size)) return cli_usage(ctx, "--size: \"%s\" is not a size", v);
    mla_buf note;
    mla_buf_init(&note, 0);
    mla_checkpoint cp;
    if ((code = cli_connect(ctx)) != CLI_EXIT_OK) goto out;
    cp = ctx->cp;
    mla_slice cp_note = mla_buf_slice(&ctx->cp_note);
    const char *cpfile = cli_opt(ctx, "checkpoint");
    if (cpfile) {
        mla_status rc = cli_file_read(&note, cpfile, MLA_NOTE_MAX_BYTES);
        if (rc != MLA_OK) {
            code = cli_fail_local(ctx, rc);
            goto out;
        }
        if (mla_note_checkpoint_open(&cp, mla_buf_slice(&note), &ctx->verifier, 1) != MLA_OK) {
            code =
                cli_fail(ctx, CLI_EXIT_NO, "--checkpoint: %s: %s", cpfile, mla_error_last()->msg);
            goto out;
        }
        cp_note = mla_buf_slice(&note);
        /* The older checkpoint must be a prefix of the latest one. */
        if (cp.size > ctx->cp.size ||
            (cp.size == ctx->cp.size && !mla_hash_eq(&cp.root, &ctx->cp.root))) {
            code = cli_fail(ctx, CLI_EXIT_NO,
                            "--checkpoint: %s (size %llu) is not a prefix of "
                            "the latest checkpoint (size %llu)",
                            cpfile, (unsigned long long)cp.size, (unsigned long long)ctx->cp.size);
            goto out;
        }
        if (cp.size > 0 && cp.size < ctx->cp.size) {
            mla_merkle_proof cproof;
            rc = mla_client_consistency_proof(ctx->client, cp.size, ctx->cp.size, &cproof);
            if (rc != MLA_OK) {
                code = cli_fail_server(ctx, rc);
                goto out;
            }
            if (mla_merkle_consistency_verify(cp.size, ctx->cp.size, &cp.root, &ctx->cp.root,
                                              &cproof) != MLA_OK) {
                code = cli_fail(ctx, CLI_EXIT_NO,
                                "--checkpoint: %s is not consistent with the "
                                "latest checkpoint: the log forked (%s)",
                                cpfile, mla_error_last()->msg);
                goto out;
            }
        }
    }
    if (v && size != cp.size) {
        code = cli_usage(ctx,
                         "--size: %llu: no signed checkpoint of that size to verify "
                         "against (the checkpoint has %llu); pass --checkpoint NOTEFILE "
                         "holding one, e.g. from a receipt",
                         (unsigned long long)size, (unsigned long long)cp.size);
        goto out;
    }
    if (seq >= cp.size) {
        code = cli_fail(ctx, CLI_EXIT_REFUSED, "SEQ: %llu is not in a tree of size %llu",
                        (unsigned long long)seq, (unsigned long long)cp.size);
        goto out;
    }
    mla_merkle_proof proof;
    mla_hash leaf;
    uint64_t got_size;
    mla_status rc = mla_client_inclusion_proof(ctx->client, seq, cp.size, &proof, &leaf, &got_size);
    if (rc != MLA_OK) {
        code = cli_fail_server(ctx, rc);
        goto out;
    }
    if (got_size != cp.size ||
        mla_merkle_inclusion_verify(&leaf, seq, cp.size, &proof, &cp.root) != MLA_OK) {
        code = cli_fail(ctx, CLI_EXIT_NO,
                        "inclusion proof of seq %llu in size %llu does not "
                        "verify",
                        (unsigned long long)seq, (unsigned long long)cp.size);
        goto out;
    }
    char lh[65], root[65];
    mla_hex_encode_to(lh, leaf.b, 32);
    mla_hex_encode_to(root, cp.root.b, 32);
    if (ctx->json) {
        json_t *hashes = json_array();
        for (size_t i = 0; hashes && i < proof.n; i++)
            json_array_append_new(hashes, cli_json_hex(proof.h[i].b, 32));
        cli_json_print(json_pack("{s:s,s:I,s:s,s:I,s:s,s:s%,s:o,s:b}", "format",
                                 "mlaudit-receipt-v1", "seq", (json_int_t)seq, "leaf_hash", lh,
                                 "tree_size", (json_int_t)cp.size, "root", root, "checkpoint",
                                 (const char *)cp_note.ptr, cp_note.len, "inclusion", hashes,
                                 "verified", 1));
    } else {
        printf("seq        %llu\nleaf       %s\ntree size  %llu\nroot       %s\nproof      %zu "
               "hashes\n",
               (unsigned long long)seq, lh, (unsigned long long)cp.size, root, proof.n);
        for (size_t i = 0; i < proof.n; i++) {
            char h[65];
            mla_hex_encode_to(h, proof.h[i].b, 32);
            printf("  %s\n", h);
        }
        printf("verified   RFC 9162 inclusion proof against the signed checkpoint\n");
        if (cpfile)
            printf("consistent the checkpoint of size %llu is a prefix of the latest (size %llu): "
                   "consistency proof verified\n",
                   (unsigned long long)cp.size, (unsigned long long)ctx->cp.size);
    }
out:
    mla_buf_dispose(&note);
    cli_disconnect(ctx);
    return code;
}

const cli_cmd cli_cmd_prove = {
    "prove",
    "prove SEQ [--checkpoint NOTEFILE] [--size N]",
    "Fetch and verify the inclusion proof of an entry in a signed checkpoint.",
    "--json prints the proof in the receipt format that `mlaudit verify` checks offline.\n",
    prove_flags,
    true,
    prove_run,
};
