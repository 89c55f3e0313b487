/* service_config: the daemon's configuration. An INI file (libinih) with
 * sections [ledger], [server] and [limits], then command-line flags that
 * override it, then validation; every error names the key or flag
 * ("[server] workers: \"lots\" is not a number in 1..1024"). Every key is
 * documented in deploy/mlauditd.conf.example and by --help.
 * Threads: one thread at a time per config. */
#ifndef MLA_SERVICE_CONFIG_H
#define MLA_SERVICE_CONFIG_H

#include <stdio.h>

#include "service/service.h"

#define MLA_SERVICE_ORIGIN_DEFAULT "mlaudit.local/ledger"
#define MLA_SERVICE_LISTEN_DEFAULT "127.0.0.1:7070"
#define MLA_SERVICE_ADMIN_KEYS_MAX 64

typedef struct mla_service_config {
    /* [ledger] */
    char *data_dir; /* required */
    char *origin;
    char *key_name; /* NULL = origin */
    char *signing_key; /* NULL = <data_dir>/log.key */
    char **admin_keys; /* public key files: the trust root (SPEC §6) */
    size_t n_admin_keys;
    uint64_t cache_mb;
    bool init; /* create the data directory, store and signing key if missing */
    char *policy; /* compliance policy file (policy.h); NULL = none */
    /* [server] */
    char *listen;
    bool insecure;
    char *tls_cert, *tls_key, *tls_client_ca;
    char *port_file;
    uint64_t workers;
    uint64_t grace_ms;
    /* [limits] */
    uint64_t request_bytes;
    uint64_t stream_entries;
    uint64_t stream_bytes;
    uint64_t decision_batch_max;
    uint64_t decision_batch_ms;
    uint64_t subscribe_lag_max;
    /* not keys */
    char *config_file;
    bool help;
} mla_service_config;

/** Defaults (no allocation). */
void mla_service_config_init(mla_service_config *c);
/** Free the strings; the config is then as after init. */
void mla_service_config_dispose(mla_service_config *c);
/** Read `--config FILE` if given, apply the other flags over it, fill in
 * derived defaults and validate. With --help only sets c->help. MLA_EINVAL
 * naming the key or flag ("--workers", "[server] listen", "data_dir");
 * MLA_EIO if the file cannot be read; MLA_ENOMEM. */
mla_status mla_service_config_load(mla_service_config *c, int argc, char **argv) MLA_MUST_USE;
/** The --help text: every flag with its config key and default. */
void mla_service_config_usage(FILE *out, const char *prog);
/** The server options of a loaded config (strings borrowed from c). */
void mla_service_config_options(mla_service_options *out, const mla_service_config *c);

#endif
