/* mlauditd: the ledger daemon (SPEC §9). Reads its configuration, opens the
 * LevelDB store in <data_dir>/db and the log on it (which checks the stored
 * tree against the last checkpoint), publishes the log's verifier key in
 * <data_dir>/log.vkey, serves mlaudit.v1.Ledger until SIGTERM or SIGINT,
 * then drains in-flight calls and exits 0. Exit 2 on a bad configuration,
 * 1 on a runtime failure. Events are JSON lines on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "note/note.h"
#include "policy/policy.h"
#include "service/service.h"
#include "service/service_config.h"
#include "store/store.h"

#define EXIT_CONFIG 2
#define EXIT_RUNTIME 1

typedef struct daemon_state {
    mla_service_config cfg;
    mla_privkey *signing_key;
    mla_pubkey *admin_keys;
    mla_policy *policy;
    mla_service_notifier *notifier;
    mla_store *store;
    mla_log *log;
    mla_service *service;
} daemon_state;

static void log_error(const char *event, const char *msg)
{
    mla_service_log_event("error", event, "{s:s}", "message", msg);
}

/* An error message that names `key` first, unless it already does. */
static mla_status name_key(mla_status rc, const char *key)
{
    char msg[MLA_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", mla_error_last()->msg);
    if (strncmp(msg, key, strlen(key)) == 0) return rc;
    return mla_err(rc, "%s: %.440s", key, msg);
}

/* Write `data` to path through path.tmp + rename, so readers never see a
 * partial file. */
static mla_status write_atomic(const char *path, mla_slice data, const char *key)
{
    mla_buf tmp;
    mla_buf_init(&tmp, 4096 + 8);
    mla_status rc = mla_buf_printf(&tmp, "%s.tmp", path);
    if (rc != MLA_OK) goto out;
    int fd = open((const char *)tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = mla_err(MLA_EIO, "%s: cannot create %s: %s", key, (const char *)tmp.ptr,
                     strerror(errno));
        goto out;
    }
    ssize_t w = write(fd, data.ptr, data.len);
    bool ok = w == (ssize_t)data.len && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename((const char *)tmp.ptr, path) != 0) {
        rc = mla_err(MLA_EIO, "%s: cannot write %s: %s", key, path, strerror(ok ? errno : saved));
        unlink((const char *)tmp.ptr);
    }
out:
    mla_buf_dispose(&tmp);
    return rc;
}

static mla_status path_join(mla_buf *out, const char *dir, const char *name)
{
    mla_buf_init(out, 4096);
    return mla_buf_printf(out, "%s/%s", dir, name);
}

/* The data directory exists (or is created with --init) and holds a store
 * (or may get one with --init): a mistyped path must not start an empty
 * ledger. */
static mla_status check_data_dir(const mla_service_config *cfg, const char *db_path)
{
    struct stat st;
    if (stat(cfg->data_dir, &st) != 0) {
        if (errno != ENOENT || !cfg->init)
            return mla_err(MLA_EINVAL, "data_dir: %s: %s (pass --init to create a new ledger)",
                           cfg->data_dir, strerror(errno));
        if (mkdir(cfg->data_dir, 0700) != 0)
            return mla_err(MLA_EINVAL, "data_dir: cannot create %s: %s", cfg->data_dir,
                           strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return mla_err(MLA_EINVAL, "data_dir: %s is not a directory", cfg->data_dir);
    }
    mla_buf current;
    MLA_TRY(path_join(&current, db_path, "CURRENT"));
    bool exists = stat((const char *)current.ptr, &st) == 0;
    mla_buf_dispose(&current);
    if (!exists && !cfg->init)
        return mla_err(MLA_EINVAL,
                       "data_dir: no ledger in %s (start once with --init to create one)",
                       cfg->data_dir);
    return MLA_OK;
}

static mla_status load_keys(daemon_state *d)
{
    const mla_service_config *cfg = &d->cfg;
    mla_status rc = mla_crypto_keyfile_read_private(&d->signing_key, cfg->signing_key);
    if (rc == MLA_ENOTFOUND && cfg->init) {
        MLA_TRY(mla_crypto_key_generate(&d->signing_key));
        rc = mla_crypto_keyfile_write_private(cfg->signing_key, d->signing_key);
        if (rc == MLA_OK)
            mla_service_log_event("info", "keygen", "{s:s}", "signing_key", cfg->signing_key);
    }
    if (rc != MLA_OK) return name_key(rc, "signing_key");
    d->admin_keys = mla_calloc(cfg->n_admin_keys, sizeof *d->admin_keys);
    if (!d->admin_keys) return mla_err(MLA_ENOMEM, "admin_keys: out of memory");
    for (size_t i = 0; i < cfg->n_admin_keys; i++)
        if ((rc = mla_crypto_keyfile_read_public(&d->admin_keys[i], cfg->admin_keys[i])) != MLA_OK)
            return name_key(rc, "admin_keys");
    return MLA_OK;
}

/* The compliance policy (SPEC §6): a file that does not parse stops the
 * start, naming its line and key, rather than running without the rules. */
static mla_status load_policy(daemon_state *d)
{
    if (!d->cfg.policy) return MLA_OK;
    return name_key(mla_policy_load(&d->policy, d->cfg.policy), "policy");
}

static mla_status open_log(daemon_state *d, const char *db_path)
{
    const mla_service_config *cfg = &d->cfg;
    mla_store_leveldb_options so = {0};
    so.cache_bytes = (size_t)cfg->cache_mb << 20;
    so.bloom_bits_per_key = 10;
    so.create_if_missing = cfg->init;
    MLA_TRY(mla_store_open_leveldb(&d->store, db_path, &so));
    mla_log_options lo = {0};
    lo.origin = cfg->origin;
    lo.key_name = cfg->key_name;
    lo.signing_key = d->signing_key;
    lo.admin_keys = d->admin_keys;
    lo.n_admin_keys = cfg->n_admin_keys;
    lo.policy = d->policy;
    /* Subscribe streams wake on each commit: the notifier exists before the
     * log, which calls it from its sequencer, and the service uses it. */
    MLA_TRY(mla_service_notifier_new(&d->notifier));
    lo.on_commit = mla_service_notifier_commit;
    lo.on_commit_ctx = d->notifier;
    return mla_log_open(&d->log, d->store, &lo);
}

static mla_status write_vkey(daemon_state *d, mla_buf *vkey)
{
    mla_buf path;
    mla_buf_init(vkey, 1024);
    mla_status rc = mla_note_verifier_format(vkey, mla_log_verifier(d->log));
    if (rc == MLA_OK) rc = mla_buf_append_byte(vkey, '\n');
    if (rc == MLA_OK) rc = path_join(&path, d->cfg.data_dir, "log.vkey");
    if (rc == MLA_OK) rc = write_atomic((const char *)path.ptr, mla_buf_slice(vkey), "data_dir");
    if (rc == MLA_OK) vkey->len--; /* without the newline, for the start event */
    mla_buf_dispose(&path);
    return rc;
}

static void daemon_close(daemon_state *d)
{
    mla_log_close(d->log);
    mla_service_notifier_free(d->notifier);
    mla_policy_free(d->policy);
    mla_store_close(d->store);
    mla_crypto_key_free(d->signing_key);
    mla_free(d->admin_keys);
    mla_service_config_dispose(&d->cfg);
}

static int run(daemon_state *d, const sigset_t *sigs)
{
    mla_service_config *cfg = &d->cfg;
    mla_buf db_path, vkey, addr;
    mla_buf_init(&vkey, 0);
    mla_buf_init(&addr, 4096);
    int exit_code = EXIT_CONFIG;
    mla_status rc = path_join(&db_path, cfg->data_dir, "db");
    if (rc == MLA_OK) rc = mla_crypto_init();
    if (rc == MLA_OK) rc = check_data_dir(cfg, (const char *)db_path.ptr);
    if (rc == MLA_OK) rc = load_keys(d);
    if (rc == MLA_OK) rc = load_policy(d);
    if (rc != MLA_OK) {
        log_error("config", mla_error_last()->msg);
        goto out;
    }
    exit_code = EXIT_RUNTIME;
    if ((rc = open_log(d, (const char *)db_path.ptr)) != MLA_OK ||
        (rc = write_vkey(d, &vkey)) != MLA_OK) {
        log_error("open", mla_error_last()->msg);
        goto out;
    }
    mla_service_log_event(
        "info", "start", "{s:s, s:i, s:s, s:s, s:s%, s:I, s:I, s:s?, s:s?}", "version", "0.1.0",
        "pid", (int)getpid(), "data_dir", cfg->data_dir, "origin", cfg->origin, "log_key",
        (const char *)vkey.ptr, vkey.len, "tree_size", (long long)mla_log_size(d->log), "workers",
        (long long)cfg->workers, "policy", cfg->policy, "policy_mode",
        d->policy ? (mla_policy_mode_of(d->policy) == MLA_POLICY_AUDIT ? "audit" : "enforce")
                  : NULL);
    mla_service_options so;
    mla_service_config_options(&so, cfg);
    so.notifier = d->notifier;
    if ((rc = mla_service_start(&d->service, d->log, &so)) != MLA_OK) {
        log_error("listen", mla_error_last()->msg);
        goto out;
    }
    int port = mla_service_port(d->service);
    if ((rc = mla_service_address_with_port(&addr, cfg->listen, port)) == MLA_OK &&
        cfg->port_file) {
        if ((rc = mla_buf_append_byte(&addr, '\n')) == MLA_OK)
            rc = write_atomic(cfg->port_file, mla_buf_slice(&addr), "port_file");
        addr.len--;
    }
    if (rc != MLA_OK) {
        log_error("listen", mla_error_last()->msg);
        mla_ignore(mla_service_stop(d->service)); /* nothing was served yet */
        goto out;
    }
    mla_service_log_event("info", "listen", "{s:s%, s:i, s:b, s:b}", "address",
                          (const char *)addr.ptr, addr.len, "port", port, "tls", !cfg->insecure,
                          "mtls", cfg->tls_client_ca != NULL);

    int sig = 0;
    while (sigwait(sigs, &sig) != 0) continue;
    mla_service_log_event("info", "shutdown", "{s:s}", "signal",
                          sig == SIGTERM ? "SIGTERM" : "SIGINT");
    bool clean = mla_service_stop(d->service);
    uint64_t size = mla_log_size(d->log);
    mla_log_close(d->log); /* flushes nothing pending: every append was answered */
    d->log = NULL;
    mla_service_log_event("info", "stopped", "{s:I, s:b}", "tree_size", (long long)size, "drained",
                          clean);
    exit_code = 0;
out:
    mla_buf_dispose(&db_path);
    mla_buf_dispose(&vkey);
    mla_buf_dispose(&addr);
    return exit_code;
}

int main(int argc, char **argv)
{
    /* Block the stop signals before any thread exists, so every thread
     * inherits the mask and only sigwait below sees them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    daemon_state d;
    memset(&d, 0, sizeof d);
    mla_service_config_init(&d.cfg);
    mla_status rc = mla_service_config_load(&d.cfg, argc, argv);
    if (d.cfg.help) {
        mla_service_config_usage(stdout, "mlauditd");
        mla_service_config_dispose(&d.cfg);
        return 0;
    }
    if (rc != MLA_OK) {
        log_error("config", mla_error_last()->msg);
        mla_service_config_dispose(&d.cfg);
        return EXIT_CONFIG;
    }
    int code = run(&d, &sigs);
    daemon_close(&d);
    return code;
}
