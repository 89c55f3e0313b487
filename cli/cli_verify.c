/* cli_verify: `mlaudit verify FILE` — offline, no server. A JSON receipt
 * (from `record --json`/--receipt-out or `prove --json`): the checkpoint's
 * signature by --log-key and the RFC 9162 inclusion proof, and with --entry
 * the entry's bytes and signatures. An export bundle (`mlaudit export`):
 * every leaf hash, the hash chain, the Merkle root against the signed
 * checkpoint, and with --admin-key every signature through a replay of the
 * key registry (SPEC §6). A report (`mlaudit report`, JSON or HTML): its
 * evidence and every fact it shows, by reports/ (mla_report_verify_file). */
#include <string.h>

#include "cli.h"
#include "registry/registry.h"
#include "reports/report.h"

static const cli_flag verify_flags[] = {
    {"entry", 0, "FILE", false,
     "receipt: the entry's verbatim bytes (from `mlaudit get SEQ --raw FILE`); checked to hash "
     "to the receipt's leaf"},
    {"signer-key", 0, "PUBFILE", true,
     "a public key trusted to have signed entries (receipt --entry: all its signatures must be "
     "by given keys; bundle: trusted in addition to registered keys)"},
    {"admin-key", 0, "PUBFILE", true,
     "bundle, report: the log's trust root; replays KEY entries and checks every signature "
     "(a report without it uses the admin keys it states)"},
    {NULL, 0, NULL, false, NULL},
};

/* ---- small JSON readers ---------------------------------------------------- */

static bool j_u64(const json_t *o, const char *k, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool j_hash(const json_t *o, const char *k, mla_hash *out)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) &&
           mla_hash_from_hex(out, mla_slice_make(json_string_value(v), json_string_length(v)), k) ==
               MLA_OK;
}

/* ---- receipts ---------------------------------------------------------------- */

static int verify_receipt(cli_ctx *ctx, const json_t *r, const char *path)
{
    uint64_t seq, size;
    mla_hash leaf, root;
    json_t *note_j = json_object_get(r, "checkpoint"), *proof_j = json_object_get(r, "inclusion");
    if (!j_u64(r, "seq", &seq)) return cli_usage(ctx, "%s: seq: missing or not a number", path);
    if (!j_u64(r, "tree_size", &size))
        return cli_usage(ctx, "%s: tree_size: missing or not a number", path);
    if (!j_hash(r, "leaf_hash", &leaf))
        return cli_usage(ctx, "%s: leaf_hash: missing or not 64 hex digits", path);
    if (!j_hash(r, "root", &root))
        return cli_usage(ctx, "%s: root: missing or not 64 hex digits", path);
    if (!json_is_string(note_j)) return cli_usage(ctx, "%s: checkpoint: missing", path);
    if (!json_is_array(proof_j) || json_array_size(proof_j) > MLA_MERKLE_PROOF_MAX)
        return cli_usage(ctx, "%s: inclusion: want an array of at most %d hex hashes", path,
                         MLA_MERKLE_PROOF_MAX);
    mla_merkle_proof proof;
    proof.n = json_array_size(proof_j);
    for (size_t i = 0; i < proof.n; i++) {
        json_t *h = json_array_get(proof_j, i);
        if (!json_is_string(h) ||
            mla_hash_from_hex(&proof.h[i], mla_slice_cstr(json_string_value(h)), "inclusion") !=
                MLA_OK)
            return cli_usage(ctx, "%s: inclusion[%zu]: not 64 hex digits", path, i);
    }
    mla_checkpoint cp;
    mla_slice note = mla_slice_make(json_string_value(note_j), json_string_length(note_j));
    if (mla_note_checkpoint_open(&cp, note, &ctx->verifier, 1) != MLA_OK)
        return cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: the receipt's checkpoint: %s",
                        mla_error_last()->msg);
    if (cp.size != size || !mla_hash_eq(&cp.root, &root))
        return cli_fail(ctx, CLI_EXIT_NO,
                        "NOT VERIFIED: the receipt's tree_size/root do not "
                        "match its signed checkpoint");
    if (mla_merkle_inclusion_verify(&leaf, seq, size, &proof, &root) != MLA_OK)
        return cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: inclusion proof: %s",
                        mla_error_last()->msg);

    const char *entry_file = cli_opt(ctx, "entry");
    json_t *entry_j = NULL;
    size_t n_signer = 0;
    if (entry_file) {
        mla_buf eb;
        mla_status rc = cli_file_read(&eb, entry_file, MLA_LIMIT_ENTRY_BYTES);
        if (rc != MLA_OK)
            return cli_fail(ctx, CLI_EXIT_USAGE, "--entry: %s", mla_error_last()->msg);
        mla_hash got;
        mla_merkle_leaf_hash(&got, mla_buf_slice(&eb));
        int code = CLI_EXIT_OK;
        mla_pubkey keys[CLI_MAX_KEYS];
        if (!mla_hash_eq(&got, &leaf)) {
            code = cli_fail(ctx, CLI_EXIT_NO,
                            "NOT VERIFIED: --entry %s does not hash to the "
                            "receipt's leaf hash",
                            entry_file);
        } else if (!(entry_j = cli_entry_json(mla_buf_slice(&eb), &leaf, false))) {
            code = cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: --entry: %s", mla_error_last()->msg);
        } else if ((uint64_t)json_integer_value(json_object_get(entry_j, "seq")) != seq) {
            code = cli_fail(ctx, CLI_EXIT_NO,
                            "NOT VERIFIED: --entry is seq %lld, the receipt "
                            "is for seq %llu",
                            (long long)json_integer_value(json_object_get(entry_j, "seq")),
                            (unsigned long long)seq);
        } else if ((code = cli_pubkeys_load(ctx, "signer-key", keys, &n_signer)) == CLI_EXIT_OK &&
                   n_signer && mla_log_entry_verify(mla_buf_slice(&eb), keys, n_signer) != MLA_OK) {
            code = cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: %s", mla_error_last()->msg);
        }
        mla_buf_dispose(&eb);
        if (code != CLI_EXIT_OK) {
            json_decref(entry_j);
            return code;
        }
    }
    char lh[65], rh[65];
    mla_hex_encode_to(lh, leaf.b, 32);
    mla_hex_encode_to(rh, root.b, 32);
    if (ctx->json) {
        json_t *o =
            json_pack("{s:b,s:s,s:I,s:s,s:s,s:I,s:s,s:s}", "verified", 1, "type", "receipt", "seq",
                      (json_int_t)seq, "leaf_hash", lh, "origin", cp.origin, "tree_size",
                      (json_int_t)size, "root", rh, "signed_by", ctx->verifier.name);
        if (o && entry_j) json_object_set(o, "entry", entry_j);
        if (o) json_object_set_new(o, "signatures_checked", json_boolean(n_signer > 0));
        if (o) cli_json_print(o);
    } else {
        printf("VERIFIED receipt: seq %llu (leaf %s) is in the log %s of size %llu, root %s,\n"
               "checkpoint signed by %s\n",
               (unsigned long long)seq, lh, cp.origin, (unsigned long long)size, rh,
               ctx->verifier.name);
        if (entry_j)
            printf("entry bytes match the leaf: %s %s by %s\n",
                   json_string_value(json_object_get(entry_j, "kind")),
                   json_string_value(json_object_get(entry_j, "subject"))
                       ? json_string_value(json_object_get(entry_j, "subject"))
                       : "-",
                   json_string_value(json_object_get(entry_j, "actor")));
        if (entry_j && n_signer) printf("every signature verifies with the given --signer-key\n");
    }
    json_decref(entry_j);
    return CLI_EXIT_OK;
}

/* ---- bundles ------------------------------------------------------------------ */

/* One line of a JSON-lines file into line (without the newline); ENOTFOUND
 * at end of file. */
static mla_status read_line(FILE *f, mla_buf *line)
{
    char chunk[65536];
    mla_buf_clear(line);
    bool any = false;
    while (fgets(chunk, sizeof chunk, f)) {
        any = true;
        size_t n = strlen(chunk);
        bool nl = n && chunk[n - 1] == '\n';
        MLA_TRY(mla_buf_append(line, chunk, nl ? n - 1 : n));
        if (nl) return MLA_OK;
    }
    if (ferror(f)) return mla_err(MLA_EIO, "read failed");
    return any ? MLA_OK : MLA_ENOTFOUND;
}

/* One entry's signatures against the registry replayed so far (registry/),
 * then what its change does to the registry: a KEY change, or the serving
 * key a DEPLOYMENT names. */
static mla_status replay_entry(mla_registry_replay *r, const mla_pb_entry *e)
{
    const mla_pb_envelope *env = e->envelope;
    mla_pb_change *c = NULL;
    if (strcmp(env->payload_type, MLA_PAYLOAD_TYPE_CHANGE) == 0)
        MLA_TRY(mla_codec_change_decode(&c, mla_slice_make(env->payload.data, env->payload.len)));
    mla_status rc = mla_registry_replay_authorize(NULL, NULL, r, env, c, true);
    if (rc == MLA_OK) rc = mla_registry_replay_apply(r, e->seq, c);
    mla_codec_change_free(c);
    return rc;
}

static int verify_bundle(cli_ctx *ctx, FILE *f, const json_t *hdr, const char *path)
{
    json_t *note_j = json_object_get(hdr, "checkpoint");
    if (!json_is_string(note_j)) return cli_usage(ctx, "%s: header: checkpoint missing", path);
    mla_checkpoint cp;
    mla_slice note = mla_slice_make(json_string_value(note_j), json_string_length(note_j));
    if (mla_note_checkpoint_open(&cp, note, &ctx->verifier, 1) != MLA_OK)
        return cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: %s: the bundle's checkpoint: %s", path,
                        mla_error_last()->msg);
    /* The registry as the log keeps it: the --admin-key trust root, and the
     * log's own key for the DECISION_BATCHes it seals. */
    mla_registry_replay *r = NULL;
    mla_pubkey keys[CLI_MAX_KEYS];
    size_t n_admin = 0, n_signer = 0;
    int code = cli_pubkeys_load(ctx, "admin-key", keys, &n_admin);
    if (code == CLI_EXIT_OK && (mla_registry_replay_new(&r, keys, n_admin) != MLA_OK ||
                                mla_registry_replay_log_key(r, &ctx->verifier.pub) != MLA_OK))
        code = cli_fail_local(ctx, MLA_ENOMEM);
    if (code == CLI_EXIT_OK) code = cli_pubkeys_load(ctx, "signer-key", keys, &n_signer);
    /* A --signer-key is trusted as a writer of every kind, as if registered. */
    for (size_t i = 0; code == CLI_EXIT_OK && i < n_signer; i++) {
        mla_keyrec rec;
        mla_registry_keyrec_init(&rec, &keys[i], MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER, UINT32_MAX,
                                 UINT64_MAX);
        if (mla_registry_replay_put(r, &rec) != MLA_OK) code = cli_fail_local(ctx, MLA_ENOMEM);
    }
    bool check_sigs = n_admin + n_signer > 0;

    mla_buf line, bytes;
    mla_buf_init(&line, 2 * MLA_LIMIT_ENTRY_BYTES);
    mla_buf_init(&bytes, MLA_LIMIT_ENTRY_BYTES);
    mla_merkle_frontier fr;
    mla_merkle_frontier_init(&fr);
    mla_hash prev;
    memset(&prev, 0, sizeof prev);
    int64_t prev_time = 0;
    uint64_t n = 0;
    char problem[MLA_ERROR_MSG_MAX + 64] = "";
    mla_status rc = MLA_ENOTFOUND;
    while (code == CLI_EXIT_OK && !problem[0] && (rc = read_line(f, &line)) == MLA_OK) {
        if (line.len == 0) continue;
        json_error_t err;
        json_t *j = json_loadb((const char *)line.ptr, line.len, 0, &err);
        uint64_t seq;
        mla_hash leaf;
        json_t *eb = j ? json_object_get(j, "entry") : NULL;
        mla_pb_entry *e = NULL;
        if (!j || !j_u64(j, "seq", &seq)) {
            snprintf(problem, sizeof problem, "line %llu: not an entry line {\"seq\":N,...}",
                     (unsigned long long)n + 2);
        } else if (seq != n) {
            snprintf(problem, sizeof problem,
                     "seq %llu: expected seq %llu (an entry is missing "
                     "or out of order)",
                     (unsigned long long)seq, (unsigned long long)n);
        } else if (!eb) {
            /* SPEC §8: a redacted entry keeps only its leaf hash. */
            if (!json_is_true(json_object_get(j, "redacted")) || !j_hash(j, "leaf_hash", &leaf))
                snprintf(problem, sizeof problem, "seq %llu: neither entry nor redacted leaf_hash",
                         (unsigned long long)seq);
        } else {
            mla_buf_clear(&bytes);
            if (!json_is_string(eb) ||
                mla_base64_decode(&bytes,
                                  mla_slice_make(json_string_value(eb), json_string_length(eb)),
                                  "entry") != MLA_OK) {
                snprintf(problem, sizeof problem, "seq %llu: entry is not base64",
                         (unsigned long long)seq);
            } else if (mla_merkle_leaf_hash(&leaf, mla_buf_slice(&bytes)),
                       mla_codec_entry_decode(&e, mla_buf_slice(&bytes)) != MLA_OK) {
                snprintf(problem, sizeof problem, "seq %llu: %s", (unsigned long long)seq,
                         mla_error_last()->msg);
            } else if (e->seq != seq) {
                snprintf(problem, sizeof problem, "seq %llu: the entry says seq %llu",
                         (unsigned long long)seq, (unsigned long long)e->seq);
            } else if (e->prev_hash.len != 32 || memcmp(e->prev_hash.data, prev.b, 32) != 0) {
                /* SPEC §3: prev_hash = leaf hash of seq - 1 (zeros for 0). */
                snprintf(problem, sizeof problem,
                         "seq %llu: prev_hash is not the leaf hash of the entry before: the "
                         "hash chain is broken",
                         (unsigned long long)seq);
            } else if (e->ledger_time_ns < prev_time) {
                snprintf(problem, sizeof problem, "seq %llu: ledger time goes backwards",
                         (unsigned long long)seq);
            } else if (check_sigs && replay_entry(r, e) != MLA_OK) {
                snprintf(problem, sizeof problem, "seq %llu: %s", (unsigned long long)seq,
                         mla_error_last()->msg);
            }
            if (e) prev_time = e->ledger_time_ns;
        }
        mla_codec_entry_free(e);
        json_decref(j);
        if (problem[0]) break;
        prev = leaf;
        if (mla_merkle_frontier_append(&fr, &leaf, NULL, NULL) != MLA_OK) {
            code = cli_fail_local(ctx, MLA_ELIMIT);
            break;
        }
        n++;
    }
    if (code == CLI_EXIT_OK && !problem[0] && rc != MLA_ENOTFOUND)
        code = cli_fail(ctx, CLI_EXIT_IO, "%s: %s", path, mla_error_last()->msg);
    if (code == CLI_EXIT_OK && !problem[0]) {
        mla_hash root;
        mla_merkle_frontier_root(&fr, &root);
        if (n != cp.size)
            snprintf(problem, sizeof problem, "the bundle has %llu entries, its checkpoint %llu",
                     (unsigned long long)n, (unsigned long long)cp.size);
        else if (!mla_hash_eq(&root, &cp.root))
            snprintf(problem, sizeof problem,
                     "the entries' Merkle root differs from the signed checkpoint's root");
    }
    if (code == CLI_EXIT_OK && problem[0])
        code = cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: %s: %s", path, problem);
    if (code == CLI_EXIT_OK) {
        char rh[65];
        mla_hex_encode_to(rh, cp.root.b, 32);
        if (ctx->json) {
            cli_json_print(json_pack("{s:b,s:s,s:s,s:I,s:s,s:s,s:b,s:I}", "verified", 1, "type",
                                     "export", "origin", cp.origin, "tree_size",
                                     (json_int_t)cp.size, "root", rh, "signed_by",
                                     ctx->verifier.name, "signatures_checked", (int)check_sigs,
                                     "keys_known", (json_int_t)mla_registry_replay_count(r)));
        } else {
            printf("VERIFIED export: %llu entries of %s, hash chain intact, Merkle root %s\n"
                   "matches the checkpoint signed by %s\n",
                   (unsigned long long)n, cp.origin, rh, ctx->verifier.name);
            if (check_sigs)
                printf("every signature verifies with a key valid at that point (%zu keys after "
                       "replaying KEY entries)\n",
                       mla_registry_replay_count(r));
            else
                printf("signatures NOT checked: pass --admin-key PUBFILE (the log's trust root)\n");
        }
    }
    mla_buf_dispose(&line);
    mla_buf_dispose(&bytes);
    mla_registry_replay_free(r);
    return code;
}

/* ---- reports ------------------------------------------------------------------ */

/* Bytes read to tell a report from a receipt or bundle. */
#define SNIFF_BYTES 4096
/* The HTML form embeds its JSON in an element with this id (report_int.h). */
static const char html_marker[] = "id=\"mlaudit-report\"";

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Does f hold a report: JSON whose first member is "mlaudit_report" (the
 * JSON form writes it first), or HTML with the embedded report element?
 * Scans an HTML file in chunks, keeping an overlap for a marker cut in two. */
static mla_status is_report(FILE *f, bool *out)
{
    char buf[SNIFF_BYTES + sizeof html_marker];
    *out = false;
    size_t n = fread(buf, 1, SNIFF_BYTES, f);
    if (ferror(f)) return mla_err(MLA_EIO, "read failed");
    const char *p = buf, *end = buf + n;
    /* A UTF-8 byte order mark may precede either form. */
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    p = skip_space(p, end);
    if (p < end && *p == '{') {
        p = skip_space(p + 1, end);
        static const char member[] = "\"mlaudit_report\"";
        *out = (size_t)(end - p) >= sizeof member - 1 && !memcmp(p, member, sizeof member - 1);
        return MLA_OK;
    }
    if (p >= end || *p != '<') return MLA_OK;
    const size_t keep = sizeof html_marker - 2;
    for (;;) {
        if (memmem(buf, n, html_marker, sizeof html_marker - 1)) {
            *out = true;
            return MLA_OK;
        }
        if (feof(f)) return MLA_OK;
        size_t carry = n < keep ? n : keep;
        memmove(buf, buf + n - carry, carry);
        size_t got = fread(buf + carry, 1, SNIFF_BYTES, f);
        if (ferror(f)) return mla_err(MLA_EIO, "read failed");
        if (got == 0) return MLA_OK;
        n = carry + got;
    }
}

static int verify_report(cli_ctx *ctx, const char *path)
{
    if (cli_has(ctx, "entry") || cli_has(ctx, "signer-key"))
        return cli_usage(ctx,
                         "--%s: only for receipts and bundles; a report is checked against "
                         "--log-key and --admin-key",
                         cli_has(ctx, "entry") ? "entry" : "signer-key");
    /* The log's key is optional here: a report states its own, and says so. */
    int code = cli_log_key_load(ctx, false);
    if (code != CLI_EXIT_OK) return code;
    mla_pubkey admin[CLI_MAX_KEYS];
    size_t n_admin = 0;
    if ((code = cli_pubkeys_load(ctx, "admin-key", admin, &n_admin)) != CLI_EXIT_OK) return code;
    mla_report_verify_opts o = {
        .log_key = ctx->have_verifier ? &ctx->verifier : NULL,
        .admin_keys = n_admin ? admin : NULL,
        .n_admin_keys = n_admin,
    };
    static mla_report_verdict v; /* ~1 KiB of text */
    memset(&v, 0, sizeof v);
    mla_status rc = mla_report_verify_file(&v, path, &o);
    /* A file that is a report but malformed does not verify: the answer is
     * "no", as for a tampered one. */
    if (rc == MLA_EINVAL) {
        v.ok = false;
        snprintf(v.problem, sizeof v.problem, "%s", mla_error_last()->msg);
    } else if (rc != MLA_OK) {
        return cli_fail(ctx, CLI_EXIT_IO, "%s: %s", path, mla_error_last()->msg);
    }
    const char *kind = mla_report_kind_name(v.kind) ? mla_report_kind_name(v.kind) : "unknown";
    if (ctx->json) {
        json_t *j = json_pack(
            "{s:b,s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:s,s:b,s:b}", "verified", (int)v.ok, "type",
            "report", "kind", kind, "facts", (json_int_t)v.n_facts, "entries",
            (json_int_t)v.n_entries, "signatures", (json_int_t)v.n_signatures, "tree_size",
            (json_int_t)v.tree_size, "signatures_checked", (int)v.signatures_checked, "log_key",
            v.log_key, "log_key_from_report", (int)v.log_key_from_report, "admin_keys_from_report",
            (int)v.admin_keys_from_report);
        if (j && !v.ok) json_object_set_new(j, "problem", json_string(v.problem));
        if (!j) return cli_fail(ctx, CLI_EXIT_IO, "out of memory");
        cli_json_print(j);
        return v.ok ? CLI_EXIT_OK : CLI_EXIT_NO;
    }
    if (!v.ok) return cli_fail(ctx, CLI_EXIT_NO, "NOT VERIFIED: %s", v.problem);
    if (v.log_key_from_report)
        fprintf(stderr,
                "warning: the log's verifier key was taken from the report itself (%s); this "
                "proves the report is consistent, not that it comes from your ledger: pin the "
                "key with --log-key\n",
                v.log_key);
    if (v.admin_keys_from_report && v.signatures_checked)
        fprintf(stderr, "warning: the trust root (admin keys) was taken from the report itself; "
                        "pin it with --admin-key\n");
    printf("VERIFIED: %s report, %llu facts backed by %llu entries, checkpoint size %llu, "
           "signatures checked: %llu\n",
           kind, (unsigned long long)v.n_facts, (unsigned long long)v.n_entries,
           (unsigned long long)v.tree_size, (unsigned long long)v.n_signatures);
    if (!v.signatures_checked)
        printf("signatures NOT checked: no trust root known (pass --admin-key PUBFILE)\n");
    printf("checkpoint signed by %s\n", v.log_key);
    return CLI_EXIT_OK;
}

static int verify_run(cli_ctx *ctx)
{
    if (ctx->n_pos != 1)
        return cli_usage(ctx, "FILE: required — a JSON receipt, an export bundle or a report");
    const char *path = ctx->pos[0];
    mla_status rc = mla_crypto_init();
    if (rc != MLA_OK) return cli_fail_local(ctx, rc);
    FILE *f = fopen(path, "rb");
    if (!f) return cli_usage(ctx, "FILE: %s: cannot open", path);
    bool report;
    if (is_report(f, &report) != MLA_OK) {
        fclose(f);
        return cli_fail(ctx, CLI_EXIT_IO, "%s: %s", path, mla_error_last()->msg);
    }
    if (report) {
        fclose(f);
        return verify_report(ctx, path);
    }
    rewind(f);
    /* The first JSON value decides: an export header line, or a receipt; or
     * a report whose members another tool reordered. */
    json_error_t err;
    json_t *first = json_loadf(f, JSON_DISABLE_EOF_CHECK, &err);
    const char *format = first ? json_string_value(json_object_get(first, "format")) : NULL;
    if (json_is_object(first) && json_object_get(first, "mlaudit_report")) {
        json_decref(first);
        fclose(f);
        return verify_report(ctx, path);
    }
    int code = cli_log_key_load(ctx, true);
    if (code != CLI_EXIT_OK) goto out;
    if (!first || !json_is_object(first)) {
        code = cli_usage(ctx, "FILE: %s: not a receipt or export bundle (%s at line %d)", path,
                         first ? "not a JSON object" : err.text, err.line);
    } else if (format && !strcmp(format, "mlaudit-export-v1")) {
        /* json_loadf may have read ahead: restart after the first line. */
        mla_buf skip;
        mla_buf_init(&skip, 1u << 20);
        rewind(f);
        if (read_line(f, &skip) != MLA_OK)
            code = cli_fail(ctx, CLI_EXIT_IO, "%s: read failed", path);
        mla_buf_dispose(&skip);
        if (code == CLI_EXIT_OK) code = verify_bundle(ctx, f, first, path);
    } else if (!format || !strcmp(format, "mlaudit-receipt-v1")) {
        code = verify_receipt(ctx, first, path);
    } else {
        code = cli_usage(ctx, "FILE: %s: unknown format \"%s\"", path, format);
    }
out:
    json_decref(first);
    fclose(f);
    return code;
}

const cli_cmd cli_cmd_verify = {
    "verify",
    "verify FILE --log-key VKEY [--entry FILE] [--signer-key PUB] [--admin-key PUB]",
    "Verify a receipt, an export bundle or a report offline (no server).",
    "A receipt (record --json / --receipt-out, prove --json): the checkpoint is signed by\n"
    "--log-key, its size and root are the receipt's, and the inclusion proof puts the leaf\n"
    "at seq; with --entry, the entry's bytes hash to that leaf (and with --signer-key every\n"
    "signature on it verifies).\n"
    "An export bundle (mlaudit export): every entry's leaf hash, the hash chain, ledger time\n"
    "order, and the Merkle root of all entries against the signed checkpoint; with\n"
    "--admin-key, every signature against the key registry replayed from KEY entries.\n"
    "A report (mlaudit report, JSON or HTML): the signed checkpoint, every embedded entry's\n"
    "leaf hash and inclusion proof (or hash chain), every signature against the registry\n"
    "replayed from its KEY entries, and that every fact shown is what its entry says (for\n"
    "HTML, the visible page too). Without --log-key the report's own key is used, with a\n"
    "warning: pin it to know the report comes from your ledger; --admin-key pins the\n"
    "trust root the same way.\n"
    "Prints VERIFIED and exits 0, or NOT VERIFIED with the reason (naming the seq or the\n"
    "fact) and exits 1.\n",
    verify_flags,
    false,
    verify_run,
};
