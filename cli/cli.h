/* cli: declarations shared by the files of the `mlaudit` command line client.
 * mlaudit.c parses the global flags and dispatches to one cli_cmd per
 * command; cli_common.c holds flag parsing, the connection (with the
 * remembered-checkpoint check of cli_state.c), output and exit codes. */
#ifndef MLA_CLI_H
#define MLA_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "client/client.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "merkle/merkle.h"
#include "note/note.h"

/* Exit codes (every command's --help lists them). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_NO = 1, /* verification failed, fork detected: the answer is "no" */
    CLI_EXIT_USAGE = 2, /* bad flags or local input */
    CLI_EXIT_REFUSED = 3, /* refused by the server (bad input, denied, exists, policy) */
    CLI_EXIT_IO = 4, /* cannot reach the server, or an I/O error */
};

#define CLI_MAX_ARGS 512
#define CLI_MAX_KEYS 16
/* Files the CLI reads whole: key files, JSON changes, receipts, notes. */
#define CLI_FILE_MAX (16u << 20)
#define CLI_DEFAULT_SERVER "127.0.0.1:7070"

typedef struct cli_ctx cli_ctx;

typedef struct cli_flag {
    const char *name; /* without "--" */
    char short_name; /* 0 = none */
    const char *arg; /* value placeholder for --help; NULL = a boolean flag */
    bool repeat; /* may be given several times */
    const char *help;
} cli_flag;

typedef struct cli_cmd {
    const char *name;
    const char *usage; /* after "mlaudit " */
    const char *summary; /* one line for the command list */
    const char *details; /* paragraphs for --help, or NULL */
    const cli_flag *flags; /* ends with {NULL} */
    bool contacts_server; /* lists the connection flags in --help */
    int (*run)(cli_ctx *ctx);
} cli_cmd;

struct cli_ctx {
    /* global flags (mlaudit.c fills defaults from the environment) */
    const char *server;
    bool insecure;
    const char *ca_file, *cert_file, *tls_key_file;
    const char *log_key_arg;
    const char *state_dir;
    bool json;
    bool help;
    int timeout_ms;
    /* the command and its arguments */
    const cli_cmd *cmd;
    size_t n_opts;
    const char *opt_name[CLI_MAX_ARGS];
    const char *opt_val[CLI_MAX_ARGS];
    size_t n_pos;
    const char *pos[CLI_MAX_ARGS];
    /* the log's key (cli_log_key_load) */
    bool have_verifier;
    mla_note_verifier verifier;
    char vkey[2 * MLA_NOTE_NAME_MAX + 128];
    /* the connection (cli_connect): the latest checkpoint, verified and
     * found consistent with the one remembered for this log */
    mla_client *client;
    mla_buf cp_note;
    mla_checkpoint cp;
};

/* ---- the commands ---------------------------------------------------- */

extern const cli_cmd cli_cmd_keygen, cli_cmd_key, cli_cmd_record, cli_cmd_digest, cli_cmd_get,
    cli_cmd_log, cli_cmd_checkpoint, cli_cmd_prove, cli_cmd_verify, cli_cmd_export, cli_cmd_audit;
/* ML semantics (SPEC §4, §6): cli_query.c, cli_history.c, cli_lineage.c,
 * cli_decision.c, cli_watch.c, cli_rollback.c. */
extern const cli_cmd cli_cmd_query, cli_cmd_history, cli_cmd_diff, cli_cmd_lineage,
    cli_cmd_which_model, cli_cmd_prove_decision, cli_cmd_verify_decision, cli_cmd_record_decisions,
    cli_cmd_watch, cli_cmd_rollback;
/* Reports (SPEC §7): cli_report.c. */
extern const cli_cmd cli_cmd_report;
/* The global flags, recognised before or after the command. */
extern const cli_flag cli_global_flags[];

/* ---- flags and arguments (cli_common.c) ------------------------------- */

/** Parse argv (after the command name) into ctx: command flags first, then
 * global flags. Returns CLI_EXIT_OK or CLI_EXIT_USAGE (message printed). */
int cli_parse_args(cli_ctx *ctx, const cli_cmd *cmd, int argc, char **argv);
/** Apply one global flag; *used_value tells whether it consumed val.
 * Returns false if name is not a global flag. */
bool cli_global_apply(cli_ctx *ctx, const char *name, const char *val, bool *used_value);
/** The value of a flag (the last one given), or NULL. */
const char *cli_opt(const cli_ctx *ctx, const char *name);
bool cli_has(const cli_ctx *ctx, const char *name);
/** Every value of a repeatable flag, in order; returns how many. */
size_t cli_opt_all(const cli_ctx *ctx, const char *name, const char **out, size_t max);
/** Parse a decimal uint64 (no sign, no junk); false if malformed. */
bool cli_parse_u64(const char *s, uint64_t *out);
bool cli_parse_double(const char *s, double *out);
/** Print the command's --help (or the command list for NULL). */
void cli_help(const cli_cmd *cmd, FILE *f);

/* ---- errors and exit codes -------------------------------------------- */

/** Print "mlaudit CMD: <message>" (and a JSON error object with --json);
 * returns code. */
int cli_fail(cli_ctx *ctx, int code, const char *fmt, ...) MLA_PRINTF(3, 4);
/** A usage error: the message, a pointer to --help, exit 2. */
int cli_usage(cli_ctx *ctx, const char *fmt, ...) MLA_PRINTF(2, 3);
/** Report mla_error_last() for a failed local step (reading a file the user
 * named: EINVAL/ENOTFOUND/EDENIED/EEXISTS -> 2, else 4). */
int cli_fail_local(cli_ctx *ctx, mla_status rc);
/** Report a failed server call: ECORRUPT -> 1, EIO/ESHUTDOWN/ENOMEM -> 4,
 * anything the server refused -> 3. */
int cli_fail_server(cli_ctx *ctx, mla_status rc);

/* ---- output ---------------------------------------------------------- */

/** Print a JSON value (pretty) and a newline on stdout; takes the reference. */
void cli_json_print(json_t *v);
/** Print one compact JSON line (for streams); takes the reference. */
void cli_json_print_line(json_t *v);
json_t *cli_json_hex(const uint8_t *p, size_t n);
json_t *cli_json_b64(const uint8_t *p, size_t n);
/** Receipt <-> the JSON receipt that `record --json` prints and `verify`
 * reads ("format": "mlaudit-receipt-v1"). */
json_t *cli_receipt_json(const mla_receipt *r);

/* ---- files ----------------------------------------------------------- */

/** Read a whole file (errors name the path). */
mla_status cli_file_read(mla_buf *out, const char *path, size_t max) MLA_MUST_USE;
/** Write atomically: fill writes the content to PATH.tmp (PATH.tmp.<pid>
 * when tmp_per_process), which is flushed, fsynced and renamed to PATH; the
 * directory is fsynced (best effort). On failure the temporary file is
 * removed and the error (fill's, or MLA_EIO naming the file after `label`,
 * e.g. "-o: ") returned. */
typedef mla_status (*cli_write_fn)(void *arg, FILE *f);
mla_status cli_file_write_with(const char *path, bool tmp_per_process, int mode, const char *label,
                               cli_write_fn fill, void *arg) MLA_MUST_USE;
/** cli_file_write_with of data, through PATH.tmp.<pid>. */
mla_status cli_file_write_atomic(const char *path, mla_slice data, int mode) MLA_MUST_USE;
/** Read every --NAME public key file (a .pub, or the public line of a .key). */
int cli_pubkeys_load(cli_ctx *ctx, const char *flag, mla_pubkey *out, size_t *n_out);
/** Read every --key private key file; the caller frees with cli_privkeys_free. */
int cli_privkeys_load(cli_ctx *ctx, mla_privkey **out, size_t *n_out);
void cli_privkeys_free(mla_privkey **keys, size_t n);

/* ---- the log's key and the connection -------------------------------- */

/** Load --log-key (a verifier key string, or @FILE) into ctx. When it is
 * missing and required, prints the fix and returns CLI_EXIT_USAGE; when not
 * required returns OK with have_verifier false. */
int cli_log_key_load(cli_ctx *ctx, bool required);
/** Connect, fetch and verify the latest checkpoint, and check it against the
 * remembered one (cli_state.c). Returns an exit code. */
int cli_connect(cli_ctx *ctx);
void cli_disconnect(cli_ctx *ctx);

/* ---- remembered checkpoints (cli_state.c) ------------------------------ */

/** Check a freshly verified checkpoint note against the one remembered for
 * this log: refuse (exit 1, both shown) if it shrank or is not an extension
 * (consistency proof through ctx->client); remember it when it verifies. */
int cli_state_advance(cli_ctx *ctx, mla_slice note, const mla_checkpoint *cp);
/** The state directory ($XDG_CONFIG_HOME/mlaudit, ~/.config/mlaudit, or
 * --state-dir), NUL-ended in out. */
mla_status cli_state_dir(const cli_ctx *ctx, char *out, size_t cap) MLA_MUST_USE;

/* ---- changes as JSON (cli_change.c) ------------------------------------ */

/** A bump allocator for the protobuf-c structs of a Change built in memory. */
typedef struct cli_arena {
    void **blocks;
    size_t n, cap;
} cli_arena;
void *cli_arena_alloc(cli_arena *a, size_t n);
char *cli_arena_strdup(cli_arena *a, const char *s);
void cli_arena_free(cli_arena *a);

/* ---- digests (cli_digest.c) ------------------------------------------- */

/** SPEC §3 digest of a file (SHA-256 of its bytes) or a directory (the
 * OpenSSF model-signing v1.0 root); n_files_out counts hashed files. */
mla_status cli_digest_path(mla_hash *out, size_t *n_files_out, const char *path) MLA_MUST_USE;
/* "sha256:", 64 hex digits and the NUL. */
#define CLI_DIGEST_TEXT_LEN 72
/** "sha256:<hex>" of a 32-byte digest, "-" for anything else. */
void cli_digest_text(char out[CLI_DIGEST_TEXT_LEN], ProtobufCBinaryData digest);
/** The hex digits of a digest given as HEX or sha256:HEX (prefix in any case). */
const char *cli_digest_hex(const char *s);
/** A SHA-256 given as HEX or sha256:HEX into 32 bytes in the arena.
 * MLA_EINVAL naming field (mla_hash_from_hex's message), MLA_ENOMEM. */
mla_status cli_digest_parse(ProtobufCBinaryData *out, cli_arena *a, const char *s,
                            const char *field) MLA_MUST_USE;

/** The JSON form of a Change (the shape `record --from-json` reads). */
json_t *cli_change_to_json(const mla_pb_change *c);
/** Fill c (initialised) from that JSON form; strings are copied into the
 * arena. MLA_EINVAL names the JSON field. */
mla_status cli_change_from_json(mla_pb_change *c, cli_arena *a, json_t *j) MLA_MUST_USE;
/** Parse "type:name@version" into an artifact (strings in the arena). */
mla_status cli_artifact_parse(mla_pb_artifact **out, cli_arena *a, const char *s,
                              const char *field) MLA_MUST_USE;

/** Sign the change with keys, connect unless connected, append it and check
 * the receipt's checkpoint against the remembered one (cli_note_advance):
 * *r is the receipt on CLI_EXIT_OK (cli_record.c). Returns an exit code. */
int cli_record_append(cli_ctx *ctx, mla_pb_change *c, mla_privkey *const *keys, size_t n_keys,
                      mla_receipt *r);
/** Validate the change, cli_record_append it and print the receipt. With
 * --dry-run only print the change. Returns an exit code. */
int cli_record_submit(cli_ctx *ctx, mla_pb_change *c, mla_privkey *const *keys, size_t n_keys);
/** Explain a failed local validation of a change, naming the flag to fix. */
int cli_change_invalid(cli_ctx *ctx);

/** Describe an entry: JSON (full: with the change) or NULL on a decode
 * error (mla_error_last set). */
json_t *cli_entry_json(mla_slice entry, const mla_hash *leaf, bool full);

/* ---- ML semantics: shared by the query, history, lineage, decision, watch
 * and rollback commands (defined in cli_query.c) ------------------------- */

/* "type:name@version": three names of at most MLA_LIMIT_NAME bytes. */
#define CLI_IDENTITY_MAX (3 * MLA_LIMIT_NAME + 3)

/** Parse TIME: RFC 3339 ("2026-11-23T10:00:00Z", with optional fractional
 * seconds and a numeric offset) or "now", into UTC nanoseconds. MLA_EINVAL
 * naming `field` and what is wrong. */
mla_status cli_time_parse(int64_t *out, const char *s, const char *field) MLA_MUST_USE;
/** The --FLAG TIME value, if given (*given false otherwise): exit code. */
int cli_time_opt(cli_ctx *ctx, const char *flag, int64_t *out, bool *given);
/** Check an ARTIFACT argument "type:name@version" (usage error naming
 * `what`): exit code. */
int cli_identity_arg(cli_ctx *ctx, const char *what, const char *s);
/** The shortest of %.15g / %.17g that reads back as the same double. */
void cli_fmt_double(char out[40], double v);
/** b - a with its sign ("+0.004", "-0.02", "+5"), to as many decimals as
 * the longer of a and b has, so 0.912 - 0.908 reads "+0.004" rather than
 * the binary difference's "+0.0040000000000000036". */
void cli_fmt_delta(char out[48], double a, double b);
/** SPEC-less convention shared by history, diff and watch: a metric whose
 * name contains "loss", "latency" or "error" is better lower. */
bool cli_metric_lower_is_better(const char *name);

/** One entry as these commands read it: the decoded entry and, when its
 * payload is a Change, the change. */
typedef struct cli_rec {
    uint64_t seq;
    int64_t time_ns;
    mla_pb_entry *entry; /* NULL when redacted */
    mla_pb_change *change; /* NULL when redacted or not a Change */
    mla_kind kind; /* 0 when change is NULL */
    char subject[CLI_IDENTITY_MAX]; /* the subject's identity, or "" */
    char time[48]; /* RFC 3339 */
} cli_rec;
/** Decode the entry at seq (bytes empty = redacted). MLA_ECORRUPT when the
 * bytes do not decode or carry another seq. */
mla_status cli_rec_open(cli_rec *out, uint64_t seq, mla_slice bytes) MLA_MUST_USE;
void cli_rec_close(cli_rec *r);
/** A metric of a change, or NULL. */
const Mlaudit__V1__Change__MetricsEntry *cli_change_metric(const mla_pb_change *c,
                                                           const char *name);
/** The identity of an artifact into out (CLI_IDENTITY_MAX), "" if NULL. */
void cli_artifact_identity(char out[CLI_IDENTITY_MAX], const mla_pb_artifact *a);

/* cli_query_each: fn returns CLI_EXIT_OK to go on, CLI_STOP to stop
 * quietly, or an exit code to fail with. It may keep the decoded entry and
 * change by moving them out of *r (setting them NULL there). */
#define CLI_STOP (-1)
typedef int (*cli_rec_fn)(cli_ctx *ctx, void *arg, cli_rec *r);
/** Page through Query (connected: ctx->client), calling fn per entry in
 * ascending seq, at most `limit` entries (0 = all). mla_client_query_page
 * checks each entry matches the query (kind, subject, target, actor, time),
 * so a server cannot slip in others. Returns an exit code. */
int cli_query_each(cli_ctx *ctx, const mla_client_query *q, size_t limit, cli_rec_fn fn, void *arg);
/** Check a signed note from a server answer against --log-key and the
 * remembered checkpoint (cli_state_advance): exit code. The opened
 * checkpoint goes to *cp_out when not NULL (its extensions borrow note). */
int cli_note_advance(cli_ctx *ctx, mla_slice note, const char *what, mla_checkpoint *cp_out);

#endif
