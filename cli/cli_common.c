/* cli_common: what every command shares: flag parsing, errors and exit
 * codes, JSON and text output, file and key-file loading, the log's key, and
 * the connection (which checks the latest checkpoint against the remembered
 * one before any command sees the server's answers). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const cli_flag cli_global_flags[] = {
    {"server", 0, "ADDR", false,
     "the mlauditd address (env MLAUDIT_SERVER; default 127.0.0.1:7070)"},
    {"insecure", 0, NULL, false,
     "plaintext gRPC, loopback addresses only (env MLAUDIT_INSECURE=1)"},
    {"ca", 0, "FILE", false, "PEM roots that sign the server's TLS certificate"},
    {"cert", 0, "FILE", false, "client certificate for mTLS"},
    {"key", 0, "FILE", false,
     "client TLS key for mTLS (before the command; record and key take --key as the "
     "signing key, use --tls-key there)"},
    {"tls-key", 0, "FILE", false, "client TLS key for mTLS (anywhere)"},
    {"log-key", 0, "VKEY", false,
     "the log's verifier key \"name+hash+base64\", or @FILE such as DATA_DIR/log.vkey "
     "(env MLAUDIT_LOG_KEY)"},
    {"state-dir", 0, "DIR", false,
     "where remembered checkpoints live (default $XDG_CONFIG_HOME/mlaudit or "
     "~/.config/mlaudit)"},
    {"timeout-ms", 0, "N", false, "per-call deadline (default 30000)"},
    {"json", 0, NULL, false, "machine-readable output"},
    {"help", 'h', NULL, false, "this help"},
    {NULL, 0, NULL, false, NULL},
};

/* ---- flags ------------------------------------------------------------ */

bool cli_global_apply(cli_ctx *ctx, const char *name, const char *val, bool *used_value)
{
    *used_value = false;
    if (!strcmp(name, "insecure")) {
        ctx->insecure = true;
        return true;
    }
    if (!strcmp(name, "json")) {
        ctx->json = true;
        return true;
    }
    if (!strcmp(name, "help") || !strcmp(name, "h")) {
        ctx->help = true;
        return true;
    }
    const char **slot = NULL;
    if (!strcmp(name, "server")) slot = &ctx->server;
    if (!strcmp(name, "ca")) slot = &ctx->ca_file;
    if (!strcmp(name, "cert")) slot = &ctx->cert_file;
    if (!strcmp(name, "key") || !strcmp(name, "tls-key")) slot = &ctx->tls_key_file;
    if (!strcmp(name, "log-key")) slot = &ctx->log_key_arg;
    if (!strcmp(name, "state-dir")) slot = &ctx->state_dir;
    if (!strcmp(name, "timeout-ms")) {
        *used_value = true;
        uint64_t v;
        ctx->timeout_ms = (val && cli_parse_u64(val, &v) && v > 0 && v <= 3600000) ? (int)v : -1;
        return true;
    }
    if (!slot) return false;
    *slot = val;
    *used_value = true;
    return true;
}

static const cli_flag *flag_find(const cli_flag *flags, const char *name, size_t name_len,
                                 char short_name)
{
    for (const cli_flag *f = flags; f && f->name; f++) {
        if (short_name ? f->short_name == short_name
                       : (strlen(f->name) == name_len && !strncmp(f->name, name, name_len)))
            return f;
    }
    return NULL;
}

int cli_parse_args(cli_ctx *ctx, const cli_cmd *cmd, int argc, char **argv)
{
    ctx->cmd = cmd;
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (ctx->n_pos == CLI_MAX_ARGS) return cli_usage(ctx, "too many arguments");
            ctx->pos[ctx->n_pos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        const char *name, *eq = NULL;
        size_t name_len;
        char short_name = 0;
        if (a[1] == '-') {
            name = a + 2;
            eq = strchr(name, '=');
            name_len = eq ? (size_t)(eq - name) : strlen(name);
        } else {
            if (a[2] != '\0')
                return cli_usage(ctx, "%s: unknown flag (long flags take two dashes)", a);
            name = a + 1;
            name_len = 1;
            short_name = a[1];
        }
        const cli_flag *f = flag_find(cmd->flags, name, name_len, short_name);
        bool global = false;
        if (!f) {
            f = flag_find(cli_global_flags, name, name_len, short_name);
            global = f != NULL;
        }
        if (!f)
            return cli_usage(ctx, "%.*s%.*s: unknown flag for mlaudit %s", short_name ? 1 : 2, "--",
                             (int)name_len, name, cmd->name);
        const char *val = NULL;
        if (f->arg) {
            if (eq) {
                val = eq + 1;
            } else {
                if (i + 1 >= argc)
                    return cli_usage(ctx, "--%s: needs a value (%s)", f->name, f->arg);
                val = argv[++i];
            }
        } else if (eq) {
            return cli_usage(ctx, "--%s: takes no value", f->name);
        }
        if (global) {
            bool used;
            mla_ignore(cli_global_apply(ctx, f->name, val, &used)); /* f is global */
            if (ctx->timeout_ms < 0) return cli_usage(ctx, "--timeout-ms: want 1..3600000");
            continue;
        }
        if (!f->repeat && cli_has(ctx, f->name))
            return cli_usage(ctx, "--%s: given twice", f->name);
        if (ctx->n_opts == CLI_MAX_ARGS) return cli_usage(ctx, "too many flags");
        ctx->opt_name[ctx->n_opts] = f->name;
        ctx->opt_val[ctx->n_opts] = val ? val : "";
        ctx->n_opts++;
    }
    return CLI_EXIT_OK;
}

const char *cli_opt(const cli_ctx *ctx, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < ctx->n_opts; i++)
        if (!strcmp(ctx->opt_name[i], name)) v = ctx->opt_val[i];
    return v;
}

bool cli_has(const cli_ctx *ctx, const char *name) { return cli_opt(ctx, name) != NULL; }

size_t cli_opt_all(const cli_ctx *ctx, const char *name, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < ctx->n_opts; i++)
        if (!strcmp(ctx->opt_name[i], name)) {
            if (n < max) out[n] = ctx->opt_val[i];
            n++;
        }
    return n;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s) return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        if (__builtin_mul_overflow(v, 10u, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return false;
    }
    *out = v;
    return true;
}

bool cli_parse_double(const char *s, double *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

static void flags_help(FILE *f, const cli_flag *flags)
{
    for (const cli_flag *fl = flags; fl->name; fl++) {
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s%s", fl->short_name ? "-" : "",
                 fl->short_name ? fl->short_name : ' ', fl->short_name ? ", " : "  ", fl->name,
                 fl->arg ? " " : "", fl->arg ? fl->arg : "", fl->repeat ? " ..." : "");
        fprintf(f, "  %-28s %s\n", fl->short_name ? left : left + 3, fl->help);
    }
}

static const char exit_codes_help[] =
    "Exit codes:\n"
    "  0  success (verified)\n"
    "  1  verification failed, or the answer is \"no\" (a fork, a bad proof, a bad signature)\n"
    "  2  usage error: a flag or a local input file is wrong (the message names it)\n"
    "  3  the server refused the request (bad input, permission denied, already exists, "
    "policy)\n"
    "  4  cannot reach the server, or an I/O error\n";

void cli_help(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "Usage: mlaudit %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->details) fprintf(f, "\n%s", cmd->details);
    if (cmd->flags && cmd->flags[0].name) {
        fprintf(f, "\nFlags:\n");
        flags_help(f, cmd->flags);
    }
    fprintf(f, "\nGlobal flags%s:\n",
            cmd->contacts_server ? "" : " (this command needs no server)");
    flags_help(f, cli_global_flags);
    fprintf(f, "\n%s", exit_codes_help);
}

/* ---- errors ----------------------------------------------------------- */

static void fail_v(cli_ctx *ctx, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void fail_v(cli_ctx *ctx, int code, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "mlaudit%s%s: %s\n", ctx->cmd ? " " : "", ctx->cmd ? ctx->cmd->name : "", msg);
    if (ctx->json) {
        json_t *j = json_pack("{s:{s:s,s:i}}", "error", "message", msg, "exit_code", code);
        if (j) cli_json_print(j);
    }
}

int cli_fail(cli_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

int cli_usage(cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(ctx, CLI_EXIT_USAGE, fmt, ap);
    va_end(ap);
    fprintf(stderr, "(see: mlaudit %s --help)\n", ctx->cmd ? ctx->cmd->name : "");
    return CLI_EXIT_USAGE;
}

int cli_fail_local(cli_ctx *ctx, mla_status rc)
{
    int code;
    switch (rc) {
    case MLA_EINVAL:
    case MLA_ENOTFOUND:
    case MLA_EDENIED:
    case MLA_EEXISTS: code = CLI_EXIT_USAGE; break;
    default: code = CLI_EXIT_IO; break;
    }
    return cli_fail(ctx, code, "%s", mla_error_last()->msg);
}

int cli_fail_server(cli_ctx *ctx, mla_status rc)
{
    const char *msg = mla_error_last()->msg;
    switch (rc) {
    case MLA_ECORRUPT:
        return cli_fail(ctx, CLI_EXIT_NO, "the server's answer does not verify: %s", msg);
    case MLA_EIO:
    case MLA_ESHUTDOWN:
    case MLA_ENOMEM:
        return cli_fail(ctx, CLI_EXIT_IO, "%s (server %s)", msg,
                        ctx->server ? ctx->server : CLI_DEFAULT_SERVER);
    default: return cli_fail(ctx, CLI_EXIT_REFUSED, "refused: %s", msg);
    }
}

/* ---- output ----------------------------------------------------------- */

void cli_json_print(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(v);
}

void cli_json_print_line(json_t *v)
{
    json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(v);
}

json_t *cli_json_hex(const uint8_t *p, size_t n)
{
    mla_buf b;
    mla_buf_init(&b, 2 * n + 1);
    json_t *j = NULL;
    if (mla_hex_encode(&b, mla_slice_make(p, n)) == MLA_OK)
        j = json_stringn(b.len ? (const char *)b.ptr : "", b.len);
    mla_buf_dispose(&b);
    return j;
}

json_t *cli_json_b64(const uint8_t *p, size_t n)
{
    mla_buf b;
    mla_buf_init(&b, 4 * (n / 3 + 1) + 1);
    json_t *j = NULL;
    if (mla_base64_encode(&b, mla_slice_make(p, n)) == MLA_OK)
        j = json_stringn(b.len ? (const char *)b.ptr : "", b.len);
    mla_buf_dispose(&b);
    return j;
}

json_t *cli_receipt_json(const mla_receipt *r)
{
    char t[48];
    mla_time_format(t, r->ledger_time_ns, false);
    json_t *proof = json_array();
    for (size_t i = 0; proof && i < r->inclusion.n; i++)
        json_array_append_new(proof, cli_json_hex(r->inclusion.h[i].b, 32));
    return json_pack("{s:s,s:I,s:I,s:s,s:o,s:I,s:o,s:s%,s:o,s:b}", "format", "mlaudit-receipt-v1",
                     "seq", (json_int_t)r->seq, "ledger_time_ns", (json_int_t)r->ledger_time_ns,
                     "ledger_time", t, "leaf_hash", cli_json_hex(r->leaf_hash.b, 32), "tree_size",
                     (json_int_t)r->tree_size, "root", cli_json_hex(r->root.b, 32), "checkpoint",
                     (const char *)r->checkpoint, r->checkpoint_len, "inclusion", proof,
                     "duplicate", (int)r->duplicate);
}

/* ---- files -------------------------------------------------------------- */

mla_status cli_file_read(mla_buf *out, const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mla_err(errno == ENOENT ? MLA_ENOTFOUND : MLA_EIO, "%s: cannot open (%s)", path,
                       strerror(errno));
    mla_buf_init(out, max);
    mla_status rc = MLA_OK;
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((rc = mla_buf_append(out, chunk, n)) != MLA_OK) {
            if (rc == MLA_ELIMIT) rc = mla_err(MLA_EINVAL, "%s: larger than %zu bytes", path, max);
            break;
        }
    }
    if (rc == MLA_OK && ferror(f)) rc = mla_err(MLA_EIO, "%s: read failed", path);
    fclose(f);
    if (rc != MLA_OK) mla_buf_dispose(out);
    return rc;
}

mla_status cli_file_write_with(const char *path, bool tmp_per_process, int mode, const char *label,
                               cli_write_fn fill, void *arg)
{
    char tmp[4096], dir[4096];
    int n = tmp_per_process ? snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid())
                            : snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return mla_err(MLA_EINVAL, "%s%s: path too long", label, path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return mla_err(MLA_EIO, "%s%s: cannot create (%s)", label, tmp, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return mla_err(MLA_EIO, "%s%s: cannot create (%s)", label, tmp, strerror(e));
    }
    mla_status rc = fill(arg, f);
    if (rc == MLA_OK && (fflush(f) != 0 || ferror(f)))
        rc = mla_err(MLA_EIO, "%s%s: write failed (%s)", label, tmp, strerror(errno));
    if (rc == MLA_OK && fsync(fileno(f)) != 0)
        rc = mla_err(MLA_EIO, "%s%s: fsync failed (%s)", label, tmp, strerror(errno));
    if (fclose(f) != 0 && rc == MLA_OK)
        rc = mla_err(MLA_EIO, "%s%s: write failed (%s)", label, tmp, strerror(errno));
    if (rc == MLA_OK && rename(tmp, path) != 0)
        rc = mla_err(MLA_EIO, "%s%s: rename failed (%s)", label, path, strerror(errno));
    if (rc != MLA_OK) {
        unlink(tmp);
        return rc;
    }
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        mla_ignore(fsync(dfd)); /* best effort: the file itself is synced */
        close(dfd);
    }
    return MLA_OK;
}

/* A write error shows in ferror, which cli_file_write_with checks. */
static mla_status write_slice(void *arg, FILE *f)
{
    const mla_slice *data = arg;
    if (data->len) mla_ignore(fwrite(data->ptr, 1, data->len, f) == data->len);
    return MLA_OK;
}

mla_status cli_file_write_atomic(const char *path, mla_slice data, int mode)
{
    return cli_file_write_with(path, true, mode, "", write_slice, &data);
}

int cli_pubkeys_load(cli_ctx *ctx, const char *flag, mla_pubkey *out, size_t *n_out)
{
    const char *files[CLI_MAX_KEYS];
    size_t n = cli_opt_all(ctx, flag, files, CLI_MAX_KEYS);
    if (n > CLI_MAX_KEYS) return cli_usage(ctx, "--%s: at most %d keys", flag, CLI_MAX_KEYS);
    for (size_t i = 0; i < n; i++) {
        mla_status rc = mla_crypto_keyfile_read_public(&out[*n_out + i], files[i]);
        if (rc != MLA_OK)
            return cli_fail(ctx, rc == MLA_EIO ? CLI_EXIT_IO : CLI_EXIT_USAGE, "--%s: %s", flag,
                            mla_error_last()->msg);
    }
    *n_out += n;
    return CLI_EXIT_OK;
}

int cli_privkeys_load(cli_ctx *ctx, mla_privkey **out, size_t *n_out)
{
    const char *files[CLI_MAX_KEYS];
    size_t n = cli_opt_all(ctx, "key", files, CLI_MAX_KEYS);
    *n_out = 0;
    if (n == 0)
        return cli_usage(ctx, "--key: required — the private key file that signs this change "
                              "(create one with: mlaudit keygen --out NAME)");
    if (n > MLA_LIMIT_SIGNATURES)
        return cli_usage(ctx, "--key: %zu keys, at most %d signatures per change", n,
                         MLA_LIMIT_SIGNATURES);
    for (size_t i = 0; i < n; i++) {
        mla_status rc = mla_crypto_keyfile_read_private(&out[i], files[i]);
        if (rc != MLA_OK) {
            cli_privkeys_free(out, i);
            return cli_fail(ctx, rc == MLA_EIO ? CLI_EXIT_IO : CLI_EXIT_USAGE, "--key: %s",
                            mla_error_last()->msg);
        }
    }
    *n_out = n;
    return CLI_EXIT_OK;
}

void cli_privkeys_free(mla_privkey **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mla_crypto_key_free(keys[i]);
        keys[i] = NULL;
    }
}

/* ---- the log's key and the connection ------------------------------------ */

int cli_log_key_load(cli_ctx *ctx, bool required)
{
    if (ctx->have_verifier) return CLI_EXIT_OK;
    const char *arg = ctx->log_key_arg;
    if (!arg || !*arg) {
        if (!required) return CLI_EXIT_OK;
        return cli_usage(ctx, "--log-key: required — the log's verifier key that signs its "
                              "checkpoints; the daemon writes it to DATA_DIR/log.vkey: pass "
                              "--log-key @DATA_DIR/log.vkey or set MLAUDIT_LOG_KEY");
    }
    mla_buf file;
    mla_buf_init(&file, 0);
    mla_slice s = mla_slice_cstr(arg);
    if (arg[0] == '@') {
        mla_status rc = cli_file_read(&file, arg + 1, 4096);
        if (rc != MLA_OK)
            return cli_fail(ctx, CLI_EXIT_USAGE, "--log-key: %s", mla_error_last()->msg);
        s = mla_buf_slice(&file);
        while (s.len &&
               (s.ptr[s.len - 1] == '\n' || s.ptr[s.len - 1] == '\r' || s.ptr[s.len - 1] == ' '))
            s.len--;
    }
    int code = CLI_EXIT_OK;
    if (s.len >= sizeof ctx->vkey) {
        code = cli_usage(ctx, "--log-key: %zu bytes, too long for a verifier key", s.len);
    } else if (mla_note_verifier_parse(&ctx->verifier, s) != MLA_OK) {
        code = cli_usage(ctx, "--log-key: %s (want \"name+8hex+base64\", as in DATA_DIR/log.vkey)",
                         mla_error_last()->msg);
    } else {
        memcpy(ctx->vkey, s.ptr, s.len);
        ctx->vkey[s.len] = '\0';
        ctx->have_verifier = true;
    }
    mla_buf_dispose(&file);
    return code;
}

int cli_connect(cli_ctx *ctx)
{
    int code = cli_log_key_load(ctx, true);
    if (code != CLI_EXIT_OK) return code;
    mla_client_options o = {
        .target = ctx->server ? ctx->server : CLI_DEFAULT_SERVER,
        .insecure = ctx->insecure,
        .ca_file = ctx->ca_file,
        .cert_file = ctx->cert_file,
        .key_file = ctx->tls_key_file,
        .verifier = &ctx->verifier,
        .timeout_ms = ctx->timeout_ms,
    };
    mla_status rc = mla_client_open(&ctx->client, &o);
    if (rc != MLA_OK)
        return cli_fail(ctx, CLI_EXIT_USAGE,
                        "%s (connection flags: --server, --insecure, --ca, "
                        "--cert, --key)",
                        mla_error_last()->msg);
    mla_buf_init(&ctx->cp_note, MLA_NOTE_MAX_BYTES);
    if ((rc = mla_client_checkpoint(ctx->client, &ctx->cp_note, &ctx->cp)) != MLA_OK)
        return cli_fail_server(ctx, rc);
    return cli_state_advance(ctx, mla_buf_slice(&ctx->cp_note), &ctx->cp);
}

void cli_disconnect(cli_ctx *ctx)
{
    mla_client_close(ctx->client);
    ctx->client = NULL;
    mla_buf_dispose(&ctx->cp_note);
}
