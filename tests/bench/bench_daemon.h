/* bench_daemon: an mlauditd child process for the gRPC benchmarks: fixed
 * keys in a temporary directory, started on 127.0.0.1 port 0 (read back
 * from its port file), stopped with SIGTERM, and clients connected to it. */
#ifndef MLA_BENCH_DAEMON_H
#define MLA_BENCH_DAEMON_H

#include <sys/types.h>

#include "client/client.h"
#include "log/log.h"
#include "note/note.h"

typedef struct bench_daemon {
    char *dir;
    char data[4200], port[4200], logkey_path[4200], admin_path[4200], log_path[4200];
    pid_t pid;
    char target[256];
    mla_privkey *admin, *logkey;
    mla_note_verifier verifier;
} bench_daemon;

/** Key files for a daemon in dir (owned: freed by dispose; data in dir/data). */
void bench_daemon_init(bench_daemon *d, char *dir, const char *origin);
/** Start mlauditd_path with the extra arguments (NULL-terminated, or NULL);
 * returns once it listens. */
void bench_daemon_start(bench_daemon *d, const char *mlauditd_path, const char *const *extra);
/** SIGTERM, and wait (at most 30 s, then SIGKILL). */
void bench_daemon_stop(bench_daemon *d);
/** Stop, free the keys, remove the directory. */
void bench_daemon_dispose(bench_daemon *d);
/** The daemon's store and log opened in this process while the daemon is
 * not running, to build a ledger offline: the data directory made if
 * missing, LevelDB with a 64 MiB cache, the log's own signature checks
 * skipped (each builder decides whether its envelopes are really signed).
 * Close the log, then the store. */
void bench_daemon_open_log(const bench_daemon *d, mla_store **store_out, mla_log **log_out);
/** A client of the daemon (close with mla_client_close). */
mla_client *bench_daemon_client(const bench_daemon *d);

#endif
