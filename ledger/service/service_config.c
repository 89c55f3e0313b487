/* service_config: one table of keys drives the INI file, the flags, --help
 * and the defaults, so they cannot drift apart. Values from the file are
 * named "[section] key" in errors, values from flags "--flag". */
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/codec_limits.h"
#include "index/index.h"
#include "service/service_config.h"

typedef enum key_type { K_STR, K_BOOL, K_UINT, K_LIST } key_type;

typedef struct key_def {
    const char *section, *name, *flag, *arg;
    key_type type;
    size_t off;
    uint64_t min, max;
    const char *def; /* shown in --help */
    const char *help;
} key_def;

#define OFF(f) offsetof(mla_service_config, f)

static const key_def keys[] = {
    {"ledger", "data_dir", "--data-dir", "DIR", K_STR, OFF(data_dir), 0, 0, "(required)",
     "directory of the LevelDB store (DIR/db) and log.vkey"},
    {"ledger", "origin", "--origin", "TEXT", K_STR, OFF(origin), 0, 0, MLA_SERVICE_ORIGIN_DEFAULT,
     "checkpoint origin line"},
    {"ledger", "key_name", "--key-name", "TEXT", K_STR, OFF(key_name), 0, 0, "the origin",
     "name of the checkpoint signing key"},
    {"ledger", "signing_key", "--signing-key", "FILE", K_STR, OFF(signing_key), 0, 0, "DIR/log.key",
     "private key file of the log (mlaudit-private-key-v1)"},
    {"ledger", "admin_keys", "--admin-key", "FILE", K_LIST, OFF(admin_keys), 0, 0, "(required)",
     "admin public key files, comma-separated in the file; the flag repeats"},
    {"ledger", "cache_mb", "--cache-mb", "N", K_UINT, OFF(cache_mb), 1, 65536, "8",
     "LevelDB block cache in MiB"},
    {"ledger", "init", "--init", NULL, K_BOOL, OFF(init), 0, 0, "false",
     "create the data directory, store and signing key if missing"},
    {"ledger", "policy", "--policy", "FILE", K_STR, OFF(policy), 0, 0, "(none)",
     "compliance policy file (enforce or audit mode); a bad file stops the start"},
    {"server", "listen", "--listen", "ADDR", K_STR, OFF(listen), 0, 0, MLA_SERVICE_LISTEN_DEFAULT,
     "host:port to listen on; port 0 picks a free port"},
    {"server", "insecure", "--insecure", NULL, K_BOOL, OFF(insecure), 0, 0, "false",
     "plaintext, allowed only on a loopback address"},
    {"server", "tls_cert", "--tls-cert", "FILE", K_STR, OFF(tls_cert), 0, 0, "(none)",
     "PEM server certificate chain"},
    {"server", "tls_key", "--tls-key", "FILE", K_STR, OFF(tls_key), 0, 0, "(none)",
     "PEM private key of tls_cert"},
    {"server", "tls_client_ca", "--tls-client-ca", "FILE", K_STR, OFF(tls_client_ca), 0, 0,
     "(none)", "PEM CA for client certificates: requires mTLS"},
    {"server", "port_file", "--port-file", "FILE", K_STR, OFF(port_file), 0, 0, "(none)",
     "after binding, write \"HOST:PORT\" here (atomically)"},
    {"server", "workers", "--workers", "N", K_UINT, OFF(workers), 1, MLA_SERVICE_WORKERS_MAX, "32",
     "request handler threads (signature checks run here)"},
    {"server", "grace_ms", "--grace-ms", "MS", K_UINT, OFF(grace_ms), 1, 600000, "10000",
     "on SIGTERM, how long in-flight calls may run before being cancelled"},
    {"limits", "request_bytes", "--request-bytes", "N", K_UINT, OFF(request_bytes),
     MLA_LIMIT_ENVELOPE_BYTES + 1024, MLA_LIMIT_RPC_BYTES, "16777216",
     "largest request message accepted"},
    {"limits", "stream_entries", "--stream-entries", "N", K_UINT, OFF(stream_entries), 1, 1024,
     "256", "most entries per GetEntries response message"},
    {"limits", "stream_bytes", "--stream-bytes", "N", K_UINT, OFF(stream_bytes), 1u << 20,
     MLA_LIMIT_RPC_BYTES / 2, "4194304", "most entry bytes per GetEntries response message"},
    {"limits", "decision_batch_max", "--decision-batch-max", "N", K_UINT, OFF(decision_batch_max),
     1, MLA_INDEX_BATCH_DECISIONS_MAX, "1024",
     "RecordDecisions: seal a target's decisions into a batch at this many"},
    {"limits", "decision_batch_ms", "--decision-batch-ms", "MS", K_UINT, OFF(decision_batch_ms), 1,
     60000, "200", "RecordDecisions: or this long after the first one waiting"},
    {"limits", "subscribe_lag_max", "--subscribe-lag-max", "N", K_UINT, OFF(subscribe_lag_max), 1,
     1000000000, "100000",
     "Subscribe: end a subscriber that falls this far behind (beyond its closest)"},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

static char **str_at(mla_service_config *c, const key_def *k)
{
    return (char **)(void *)((char *)c + k->off);
}

void mla_service_config_init(mla_service_config *c)
{
    memset(c, 0, sizeof *c);
    c->cache_mb = 8;
    c->workers = MLA_SERVICE_WORKERS_DEFAULT;
    c->grace_ms = MLA_SERVICE_GRACE_MS_DEFAULT;
    c->request_bytes = MLA_LIMIT_RPC_BYTES;
    c->stream_entries = MLA_SERVICE_STREAM_ENTRIES_DEFAULT;
    c->stream_bytes = MLA_SERVICE_STREAM_BYTES_DEFAULT;
    c->decision_batch_max = MLA_SERVICE_DECISION_BATCH_MAX_DEFAULT;
    c->decision_batch_ms = MLA_SERVICE_DECISION_BATCH_MS_DEFAULT;
    c->subscribe_lag_max = MLA_SERVICE_SUBSCRIBE_LAG_MAX_DEFAULT;
}

static void free_list(mla_service_config *c)
{
    for (size_t i = 0; i < c->n_admin_keys; i++) mla_free(c->admin_keys[i]);
    mla_free(c->admin_keys);
    c->admin_keys = NULL;
    c->n_admin_keys = 0;
}

void mla_service_config_dispose(mla_service_config *c)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].type == K_STR) mla_free(*str_at(c, &keys[i]));
    free_list(c);
    mla_free(c->config_file);
    mla_service_config_init(c);
}

static mla_status dup_into(char **slot, const char *v, size_t n, const char *label)
{
    char *s = mla_strndup(v, n);
    if (!s) return mla_err(MLA_ENOMEM, "%s: out of memory", label);
    mla_free(*slot);
    *slot = s;
    return MLA_OK;
}

static mla_status list_add(mla_service_config *c, const char *v, size_t n, const char *label)
{
    if (c->n_admin_keys == MLA_SERVICE_ADMIN_KEYS_MAX)
        return mla_err(MLA_EINVAL, "%s: more than %d keys", label, MLA_SERVICE_ADMIN_KEYS_MAX);
    char **grown = mla_realloc(c->admin_keys, (c->n_admin_keys + 1) * sizeof *grown);
    if (!grown) return mla_err(MLA_ENOMEM, "%s: out of memory", label);
    c->admin_keys = grown;
    c->admin_keys[c->n_admin_keys] = NULL;
    MLA_TRY(dup_into(&c->admin_keys[c->n_admin_keys], v, n, label));
    c->n_admin_keys++;
    return MLA_OK;
}

static mla_status parse_bool(bool *out, const char *v, const char *label)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = true, MLA_OK;
        if (strcasecmp(v, no[i]) == 0) return *out = false, MLA_OK;
    }
    return mla_err(MLA_EINVAL, "%s: \"%.100s\" is not true or false", label, v);
}

static mla_status parse_uint(uint64_t *out, const char *v, const key_def *k, const char *label)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    if (!end || *end || errno || x < k->min || x > k->max)
        return mla_err(MLA_EINVAL, "%s: \"%.100s\" is not a number in %" PRIu64 "..%" PRIu64, label,
                       v, k->min, k->max);
    *out = x;
    return MLA_OK;
}

/* Set key k from text v; `append` adds to a list instead of replacing it. */
static mla_status set_value(mla_service_config *c, const key_def *k, const char *v, bool append,
                            const char *label)
{
    switch (k->type) {
    case K_STR:
        if (!v[0]) return mla_err(MLA_EINVAL, "%s: empty", label);
        return dup_into(str_at(c, k), v, strlen(v), label);
    case K_BOOL: return parse_bool((bool *)(void *)((char *)c + k->off), v, label);
    case K_UINT: return parse_uint((uint64_t *)(void *)((char *)c + k->off), v, k, label);
    case K_LIST:
        if (!append) free_list(c);
        for (const char *p = v; *p;) {
            const char *comma = strchr(p, ',');
            const char *e = comma ? comma : p + strlen(p);
            const char *s = p;
            while (s < e && (*s == ' ' || *s == '\t')) s++;
            const char *t = e;
            while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
            if (t > s) MLA_TRY(list_add(c, s, (size_t)(t - s), label));
            p = comma ? comma + 1 : e;
        }
        return MLA_OK;
    }
    return mla_err(MLA_EINVAL, "%s: unknown type", label);
}

/* ---- the INI file --------------------------------------------------------- */

typedef struct ini_ctx {
    mla_service_config *c;
    mla_status rc;
    char msg[MLA_ERROR_MSG_MAX];
} ini_ctx;

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *ctx = user;
    char label[200];
    snprintf(label, sizeof label, "[%.80s] %.80s", section, name);
    mla_status rc = MLA_OK;
    const key_def *k = NULL;
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) k = &keys[i];
    if (!k)
        rc = mla_err(MLA_EINVAL, "%s: unknown key (see deploy/mlauditd.conf.example)", label);
    else
        rc = set_value(ctx->c, k, value, false, label);
    if (rc == MLA_OK) return 1;
    if (ctx->rc == MLA_OK) {
        ctx->rc = rc;
        snprintf(ctx->msg, sizeof ctx->msg, "%s", mla_error_last()->msg);
    }
    return 0;
}

static mla_status load_file(mla_service_config *c, const char *path)
{
    ini_ctx ctx = {c, MLA_OK, ""};
    int line = ini_parse(path, on_ini_line, &ctx);
    if (line == -1) return mla_err(MLA_EIO, "--config: cannot open %s: %s", path, strerror(errno));
    if (line == -2) return mla_err(MLA_ENOMEM, "--config: out of memory reading %s", path);
    if (line > 0) {
        if (ctx.rc != MLA_OK) return mla_err(ctx.rc, "%s (%s line %d)", ctx.msg, path, line);
        return mla_err(MLA_EINVAL, "--config: %s line %d: not \"key = value\" or \"[section]\"",
                       path, line);
    }
    return MLA_OK;
}

/* ---- flags ----------------------------------------------------------------- */

static const key_def *flag_key(const char *arg, size_t n)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strlen(keys[i].flag) == n && strncmp(keys[i].flag, arg, n) == 0) return &keys[i];
    return NULL;
}

/* One pass over argv: with `apply` false only --config and --help are taken
 * (the file is read before the other flags override it). */
static mla_status parse_flags(mla_service_config *c, int argc, char **argv, bool apply)
{
    bool list_from_flags = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            c->help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return mla_err(MLA_EINVAL, "%s: unexpected argument (flags start with --)", a);
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        const char *value = eq ? eq + 1 : NULL;
        bool is_config = n == 8 && strncmp(a, "--config", 8) == 0;
        const key_def *k = is_config ? NULL : flag_key(a, n);
        if (!is_config && !k)
            return mla_err(MLA_EINVAL, "%.*s: unknown flag (see --help)", (int)n, a);
        bool takes_value = is_config || k->type != K_BOOL;
        if (takes_value && !value) {
            if (i + 1 >= argc) return mla_err(MLA_EINVAL, "%.*s: needs a value", (int)n, a);
            value = argv[++i];
        }
        char label[64];
        snprintf(label, sizeof label, "%.*s", (int)n, a);
        if (is_config) {
            if (!apply) MLA_TRY(dup_into(&c->config_file, value, strlen(value), label));
            continue;
        }
        if (!apply) continue;
        MLA_TRY(
            set_value(c, k, value ? value : "true", k->type == K_LIST && list_from_flags, label));
        if (k->type == K_LIST) list_from_flags = true;
    }
    return MLA_OK;
}

/* ---- validation ------------------------------------------------------------- */

static mla_status check_listen(const char *listen)
{
    if (strncmp(listen, "unix:", 5) == 0) return MLA_OK;
    const char *colon = strrchr(listen, ':');
    const char *bracket = strrchr(listen, ']');
    if (!colon || (bracket && colon < bracket) || !colon[1])
        return mla_err(MLA_EINVAL, "listen: \"%.100s\" is not host:port", listen);
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return mla_err(MLA_EINVAL, "listen: \"%.100s\" has a port that is not a number",
                           listen);
    if (strtoul(colon + 1, NULL, 10) > 65535)
        return mla_err(MLA_EINVAL, "listen: \"%.100s\" has a port above 65535", listen);
    return MLA_OK;
}

static mla_status validate(mla_service_config *c)
{
    if (!c->data_dir)
        return mla_err(MLA_EINVAL, "data_dir: required (--data-dir or [ledger] data_dir)");
    if (c->n_admin_keys == 0)
        return mla_err(MLA_EINVAL, "admin_keys: at least one admin public key file is required "
                                   "(--admin-key or [ledger] admin_keys)");
    if (!c->origin)
        MLA_TRY(dup_into(&c->origin, MLA_SERVICE_ORIGIN_DEFAULT, strlen(MLA_SERVICE_ORIGIN_DEFAULT),
                         "origin"));
    if (!c->listen)
        MLA_TRY(dup_into(&c->listen, MLA_SERVICE_LISTEN_DEFAULT, strlen(MLA_SERVICE_LISTEN_DEFAULT),
                         "listen"));
    if (!c->signing_key) {
        mla_buf p;
        mla_buf_init(&p, 4096);
        mla_status rc = mla_buf_printf(&p, "%s/log.key", c->data_dir);
        if (rc == MLA_OK) rc = dup_into(&c->signing_key, (const char *)p.ptr, p.len, "signing_key");
        mla_buf_dispose(&p);
        MLA_TRY(rc);
    }
    MLA_TRY(check_listen(c->listen));
    /* SPEC §9: plaintext only when asked, and only where nobody else can
     * listen in. */
    if (c->insecure && !mla_service_address_is_loopback(c->listen))
        return mla_err(MLA_EINVAL,
                       "insecure: plaintext is allowed only on a loopback address, and listen "
                       "address %.100s is not one (listen on 127.0.0.1 or [::1], or configure "
                       "tls_cert and tls_key)",
                       c->listen);
    if (!c->insecure && (!c->tls_cert || !c->tls_key))
        return mla_err(MLA_EINVAL,
                       "%s: required: TLS is the default (set tls_cert and tls_key, or use "
                       "--insecure on a loopback address)",
                       c->tls_cert ? "tls_key" : "tls_cert");
    if (c->insecure && (c->tls_cert || c->tls_key || c->tls_client_ca))
        return mla_err(MLA_EINVAL, "insecure: cannot be combined with tls_cert, tls_key or "
                                   "tls_client_ca");
    return MLA_OK;
}

mla_status mla_service_config_load(mla_service_config *c, int argc, char **argv)
{
    MLA_TRY(parse_flags(c, argc, argv, false));
    if (c->help) return MLA_OK;
    if (c->config_file) MLA_TRY(load_file(c, c->config_file));
    MLA_TRY(parse_flags(c, argc, argv, true));
    return validate(c);
}

void mla_service_config_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [--config FILE] [flags]\n"
            "The mlaudit ledger daemon: serves mlaudit.v1.Ledger over gRPC (TLS, or plaintext\n"
            "on loopback with --insecure). Logs one JSON object per line on stderr.\n"
            "SIGTERM or SIGINT: stop accepting, finish in-flight calls, exit 0.\n"
            "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on a bad\n"
            "configuration.\n\n"
            "  --config FILE            INI file with the keys below (flags override it)\n"
            "  --help                   this text\n",
            prog);
    for (size_t i = 0; i < N_KEYS; i++) {
        char flag[48];
        snprintf(flag, sizeof flag, "%s%s%s", keys[i].flag, keys[i].arg ? " " : "",
                 keys[i].arg ? keys[i].arg : "");
        fprintf(out, "  %-24s [%s] %s: %s (default %s)\n", flag, keys[i].section, keys[i].name,
                keys[i].help, keys[i].def);
    }
    fprintf(out,
            "\nExample (loopback demo):\n"
            "  %s --init --data-dir /tmp/mla --admin-key admin.pub --insecure \\\n"
            "     --listen 127.0.0.1:7070\n",
            prog);
}

void mla_service_config_options(mla_service_options *o, const mla_service_config *c)
{
    memset(o, 0, sizeof *o);
    o->listen = c->listen;
    o->insecure = c->insecure;
    o->tls_cert = c->tls_cert;
    o->tls_key = c->tls_key;
    o->tls_client_ca = c->tls_client_ca;
    o->workers = (unsigned)c->workers;
    o->grace_ms = (unsigned)c->grace_ms;
    o->request_bytes = (size_t)c->request_bytes;
    o->stream_entries = (unsigned)c->stream_entries;
    o->stream_bytes = (size_t)c->stream_bytes;
    o->decision_batch_max = (unsigned)c->decision_batch_max;
    o->decision_batch_ms = (unsigned)c->decision_batch_ms;
    o->subscribe_lag_max = c->subscribe_lag_max;
}
