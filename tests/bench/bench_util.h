/* bench_util: what the benchmark programs share: the command line, the
 * same-run physical limits (SHA-256, Ed25519 verify and sign, LevelDB synced
 * batches), temporary directories, fixed test keys, artifacts and signed
 * envelopes. Every loop is bounded in count and time. */
#ifndef MLA_BENCH_UTIL_H
#define MLA_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "codec/codec.h"
#include "crypto/crypto.h"

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        mla_status rc__ = (expr);                                                                  \
        if (rc__ != MLA_OK) {                                                                      \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, mla_status_name(rc__),          \
                    mla_error_last()->msg);                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define BENCH_DIE(...)                                                                             \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

/* Smoke runs (tests/run.sh) use tiny counts; set by each program's main. */
extern bool bench_smoke;
/* Where temporary stores go ("/tmp" unless --dir). */
extern char bench_workdir[4096];

/** The command line every benchmark takes: --smoke (bench_smoke), --dir DIR
 * (bench_workdir); with mlauditd_out, --mlauditd PATH (default $MLAUDITD,
 * else ./build/ledger/mlauditd; it must be executable); with data_out,
 * --data DIR (else NULL). Anything else: the usage, exit 2. */
void bench_args(int argc, char **argv, const char **mlauditd_out, const char **data_out);

double bench_secs_since(int64_t t0_mono_ns);
/** Sleep ns nanoseconds (no-op for ns <= 0), resuming after signals. */
void bench_sleep_ns(int64_t ns);
/** The p-th percentile (0..100) of n values, sorting them in place. */
int64_t bench_percentile(int64_t *v, size_t n, double p);
/** The key of a 32-byte seed filled with b (fixed keys: reproducible runs). */
mla_privkey *bench_key_from_byte(uint8_t b);
/** A new directory under bench_workdir; caller frees the string. */
char *bench_tmpdir_new(const char *tag);
void bench_rmtree(const char *path);

/** A MODEL change of model:<name>@<version> whose reason is pad_len bytes
 * (the benchmarks' ~512-byte payload), digest = SHA-256 of its identity.
 * Signed by k through the client library; with k NULL it carries one
 * all-zero signature under `keyid` (for a log that skips signature checks). */
void bench_envelope(mla_buf *out, const mla_privkey *k, const char *keyid, const char *name,
                    const char *version, size_t pad_len);

/** An artifact type:name@version (the strings copied into s) whose digest
 * is the SHA-256 of that identity: one identity, one digest. */
typedef struct bench_art {
    mla_pb_artifact a;
    uint8_t digest[32];
    char type[32], name[64], version[32];
} bench_art;
mla_pb_artifact *bench_art_set(bench_art *s, const char *type, const char *name,
                               const char *version);
/** The envelope of c signed by k, into out (initialised here). */
void bench_envelope_sign(mla_buf *out, const mla_pb_change *c, const mla_privkey *k);

/** SHA-256 of 512-byte messages per second, one core. */
double bench_sha256_512(void);
/** Ed25519 verifications of 512-byte messages per second, one core. */
double bench_verify(void);
/** Ed25519 signatures of 512-byte messages per second, one core. */
double bench_sign(void);
/** LevelDB synced WriteBatches of 256 puts of 600 bytes per second. */
double bench_leveldb_batches(void);

#endif
