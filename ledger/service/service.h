/* service: the gRPC server of mlaudit.v1.Ledger (SPEC §4) over a log. It
 * only translates: requests are decoded and checked on worker threads, which
 * call mla_log_* (signature checks run there, in parallel; the log's one
 * sequencer commits), and the answer goes back with the gRPC status of
 * service_status.c. Also the daemon's configuration (service_config.h) and
 * its JSON event lines on stderr. The only module besides client/ that calls
 * grpc_*.
 * Threads: start and stop from one thread; the log helpers from any. */
#ifndef MLA_SERVICE_H
#define MLA_SERVICE_H

#include "base/base.h"
#include "log/log.h"

/* Defaults of the tunables below (documented in deploy/mlauditd.conf.example). */
#define MLA_SERVICE_WORKERS_DEFAULT 32
#define MLA_SERVICE_WORKERS_MAX 1024
#define MLA_SERVICE_GRACE_MS_DEFAULT 10000
#define MLA_SERVICE_STREAM_ENTRIES_DEFAULT 256
#define MLA_SERVICE_STREAM_BYTES_DEFAULT (4u << 20)
#define MLA_SERVICE_DECISION_BATCH_MAX_DEFAULT 1024
#define MLA_SERVICE_DECISION_BATCH_MS_DEFAULT 200
#define MLA_SERVICE_SUBSCRIBE_LAG_MAX_DEFAULT 100000

/* Wakes Subscribe streams when the log grows. Created before the log (the
 * log's on_commit needs it), then passed to mla_service_start. */
typedef struct mla_service_notifier mla_service_notifier;

typedef struct mla_service_options {
    const char *listen; /* "host:port"; port 0 picks a free port */
    bool insecure; /* plaintext: refused unless listen is a loopback address */
    const char *tls_cert; /* PEM server certificate chain (TLS) */
    const char *tls_key; /* PEM private key of tls_cert */
    const char *tls_client_ca; /* PEM roots for client certificates: mTLS; NULL = none */
    unsigned workers; /* request handler threads; 0 = default */
    unsigned grace_ms; /* how long stop waits for in-flight calls before cancelling them */
    size_t request_bytes; /* largest request message; 0 = MLA_LIMIT_RPC_BYTES */
    unsigned stream_entries; /* most entries per GetEntries message; 0 = default */
    size_t stream_bytes; /* most entry bytes per GetEntries message; 0 = default */
    /* RecordDecisions: plain decisions are sealed into a DECISION_BATCH per
     * target every decision_batch_max decisions (at most
     * MLA_INDEX_BATCH_DECISIONS_MAX) or decision_batch_ms after the first
     * one waiting, whichever comes first; 0 = default. */
    unsigned decision_batch_max;
    unsigned decision_batch_ms;
    /* Subscribe: a subscriber whose next seq lags the tree by more than this
     * many entries is ended (RESOURCE_EXHAUSTED, with the seq to resume
     * from); 0 = default. */
    uint64_t subscribe_lag_max;
    /* Told of each commit by the log (mla_service_notifier_commit as the
     * log's on_commit); borrowed until stop. NULL: the service polls the
     * log's size every 100 ms instead. */
    mla_service_notifier *notifier;
} mla_service_options;

typedef struct mla_service mla_service;

/** A notifier for mla_log_options.on_commit (ctx = the notifier) and
 * mla_service_options.notifier. MLA_ENOMEM. */
mla_status mla_service_notifier_new(mla_service_notifier **out) MLA_MUST_USE;
/** Free; only once neither the log nor a service uses it. NULL is a no-op. */
void mla_service_notifier_free(mla_service_notifier *n);
/** An mla_log_commit_fn: wakes the parked subscribers and cuts the ones
 * that fell behind. Never blocks beyond short critical sections; any thread
 * (the log calls it on its sequencer thread). */
void mla_service_notifier_commit(void *notifier, uint64_t size);

/** Bind, start the completion-queue thread and the workers, and serve `log`
 * (borrowed until mla_service_stop returns). MLA_EINVAL naming the option
 * ("listen", "insecure", "tls_cert", ...) for a bad option, an address that
 * cannot be bound, or plaintext on a non-loopback address; MLA_EIO if a TLS
 * file cannot be read; MLA_ENOMEM. */
mla_status mla_service_start(mla_service **out, mla_log *log,
                             const mla_service_options *opts) MLA_MUST_USE;
/** The bound port (the chosen one when listen asked for port 0). */
int mla_service_port(const mla_service *s);
/** Graceful stop: refuse new calls, let every in-flight call finish (after
 * opts.grace_ms the stragglers are cancelled), drain, free. Long-lived
 * streams are ended at once: Subscribe with UNAVAILABLE naming the seq to
 * resume from, RecordDecisions after sealing and acknowledging what it had
 * received. Returns true when every call finished without being cancelled.
 * NULL is a no-op. */
bool mla_service_stop(mla_service *s);

/** True when `listen` ("host:port", "[v6]:port", "unix:path") names only this
 * machine: 127.0.0.0/8, ::1, "localhost", or a unix socket. */
bool mla_service_address_is_loopback(const char *listen);
/** "host:port" of listen with its port replaced by `port` (for the port
 * file and the listen event); appended to out. */
mla_status mla_service_address_with_port(mla_buf *out, const char *listen, int port) MLA_MUST_USE;

/* ---- event log: one JSON object per line on stderr ------------------------
 * {"ts":"2024-05-01T12:00:00.123Z","level":"info","event":"start", ...}.
 * `fields` is a jansson json_pack format for an object holding the rest, e.g.
 * mla_service_log_event("info", "listen", "{s:s, s:i}", "address", a, "port", p),
 * or NULL. Lines are written whole (one write per line) from any thread. */
void mla_service_log_event(const char *level, const char *event, const char *fields, ...);

#endif
