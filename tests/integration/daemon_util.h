/* daemon_util: the real mlauditd as a fixture of the integration suites
 * (STYLE: 127.0.0.1 port 0, a mkdtemp directory, bounded waits): started
 * from flags or from a configuration file, stopped, killed and restarted on
 * the same data directory, its stderr kept in DIR/daemon.log. Call from the
 * test's own thread (Check fork mode); failures abort the test. */
#ifndef MLA_TEST_DAEMON_UTIL_H
#define MLA_TEST_DAEMON_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "client/client.h"
#include "rpc_util.h"

typedef struct td_daemon {
    char *dir; /* the test directory, removed by td_dispose */
    char data[400], port_path[400], log_path[400], admin_pub[400], logkey_path[400], config[400];
    const char *origin;
    char listen[128]; /* what --listen gets: "127.0.0.1:0" unless the test sets it */
    char target[128]; /* the bound address, after td_launch */
    pid_t pid; /* -1 when not running */
    int launches;
    bool configured; /* td_write_config: start from the file, the daemon makes its log key */
    bool tls; /* the test passes TLS flags in extra: no --insecure */
    bool rpc; /* td_launch opens d->conn */
    const char *const *extra; /* more flags (NULL-ended, borrowed), for every launch */
    mla_privkey *admin; /* seed 1; admin.pub names it */
    mla_privkey *logkey; /* seed 3 in log.key; NULL once configured */
    mla_privkey *stranger; /* seed 4: a key the daemon does not know */
    mla_note_verifier verifier; /* the log's key (read from data/log.vkey when configured) */
    mla_client *client; /* the test's, closed by td_terminate, td_kill9 and td_dispose */
    rpc_conn *conn; /* the same for a raw gRPC connection */
} td_daemon;

/** A deterministic key from a 32-byte seed of b (freed by the caller). */
mla_privkey *td_key_from_byte(uint8_t b);

/** A fresh test directory with admin.pub and log.key written (the keys and
 * the verifier for origin); nothing is started. */
void td_init(td_daemon *d, const char *origin);
/** DIR/mlauditd.conf naming the data directory, admin key and origin with
 * 8 workers; launches then use --config and the daemon's --init makes the
 * log key (the verifier is read from data/log.vkey). */
void td_write_config(td_daemon *d);
/** td_init and td_write_config, d->conn opened at each launch: the daemon
 * of the raw gRPC suites. */
void td_init_rpc(td_daemon *d, const char *origin);
/** td_init_rpc, then td_launch with --init and extra. */
void td_start_rpc(td_daemon *d, const char *origin, const char *const *extra);
/** Start mlauditd (with --init when init) and wait, bounded, for its port
 * file; d->target names the bound address. A daemon that exits or writes
 * no port file fails the test with the tail of its log. */
void td_launch(td_daemon *d, bool init);
/** Run mlauditd with args (without argv[0]) to its exit, its stderr
 * replacing DIR/daemon.log; returns the exit status, or -signal. */
int td_run(td_daemon *d, const char *const *args);
/** Wait, bounded, for the daemon to exit after a signal the test sent;
 * returns the wait status, or -1 when it had to be killed. */
int td_wait(td_daemon *d);
/** Close d->client and d->conn, SIGTERM: the daemon must drain and exit 0
 * (SPEC §9). Returns how long it took to exit, in ms. */
int64_t td_terminate(td_daemon *d);
/** SIGKILL; clients stay open (a test may watch them reconnect), the
 * data directory stays. */
void td_kill9(td_daemon *d);
/** Kill a daemon still running, free the keys, remove the directory. */
void td_dispose(td_daemon *d);
/** td_terminate, then td_dispose. */
void td_stop(td_daemon *d);

/** A client of the daemon checking checkpoints with v. */
mla_client *td_client(const td_daemon *d, const mla_note_verifier *v, int timeout_ms);

/** A pause in a bounded polling loop (never to synchronise). */
void td_sleep_ms(int ms);
/** A small file whole into out; false while it does not exist. */
bool td_slurp(char *out, size_t cap, const char *path);
/** DIR/name into out (aborts when it does not fit). */
void td_path(char *out, size_t cap, const td_daemon *d, const char *name);
/** The whole file, NUL-terminated, into out (initialised here). */
void td_read_text(mla_buf *out, const char *path);
bool td_file_has(const char *path, const char *needle);
void td_write_file(const char *path, const char *text);
/** The last few KiB of daemon.log, for failure messages (static storage). */
const char *td_log_tail(const td_daemon *d);
bool td_log_has(const td_daemon *d, const char *needle);

/** A MODEL change of model name@version with digest m->digest (the caller
 * fills it); a MODEL names what it was built from (the codec requires an
 * input): dataset training-set@1 as training-data. Points into m. */
typedef struct td_model {
    mla_pb_change c;
    mla_pb_artifact subject, data;
    mla_pb_input in, *inp;
    uint8_t digest[32];
} td_model;
void td_model_change(td_model *m, const char *name, const char *version);

#endif
