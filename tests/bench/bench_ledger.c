/* bench_ledger: the core library's figures beside the physical limits
 * measured in the same run (SHA-256 rate, Ed25519 verify rate, LevelDB
 * synced-batch rate), printed as ratios to them. A program, not a test:
 *   ./build/tests/bench/bench_ledger [--smoke] [--dir DIR]
 * Every loop is bounded in count and in time. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "log/log.h"
#include "log/log_int.h"

static bool smoke;
static char workdir[4096] = "/tmp";
static long n_cores;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        mla_status rc__ = (expr);                                                                  \
        if (rc__ != MLA_OK) {                                                                      \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, mla_status_name(rc__),          \
                    mla_error_last()->msg);                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static double secs_since(int64_t t0) { return (double)(mla_time_mono_ns() - t0) / 1e9; }

static mla_privkey *key_from_byte(uint8_t b)
{
    uint8_t seed[32];
    mla_privkey *k = NULL;
    memset(seed, b, sizeof seed);
    CHECK(mla_crypto_key_from_seed(&k, seed));
    return k;
}

static char *tmpdir_new(const char *tag)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/mlaudit-bench-%s-XXXXXX", workdir, tag);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        exit(1);
    }
    return strdup(path);
}

static void rmtree(const char *path)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
}

/* ---- physical limits --------------------------------------------------------- */

static double bench_sha256_512(void)
{
    uint8_t buf[512];
    memset(buf, 0x5a, sizeof buf);
    mla_hash h;
    long n = 0, max = smoke ? 20000 : 2000000;
    int64_t t0 = mla_time_mono_ns();
    while (n < max && (n % 1024 || secs_since(t0) < 2.0)) {
        buf[0] = (uint8_t)n;
        mla_crypto_sha256(&h, mla_slice_make(buf, sizeof buf));
        n++;
    }
    return (double)n / secs_since(t0);
}

static double bench_verify(void)
{
    mla_privkey *k = key_from_byte(9);
    uint8_t msg[512], sig[64];
    memset(msg, 1, sizeof msg);
    CHECK(mla_crypto_sign(sig, k, mla_slice_make(msg, sizeof msg)));
    long n = 0, max = smoke ? 200 : 50000;
    int64_t t0 = mla_time_mono_ns();
    while (n < max && (n % 64 || secs_since(t0) < 2.0)) {
        CHECK(mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(msg, sizeof msg),
                                mla_slice_make(sig, 64)));
        n++;
    }
    mla_crypto_key_free(k);
    return (double)n / secs_since(t0);
}

static double bench_leveldb_batches(void)
{
    char *dir = tmpdir_new("ldb");
    mla_store *s = NULL;
    mla_store_leveldb_options o = {.create_if_missing = true, .bloom_bits_per_key = 10};
    CHECK(mla_store_open_leveldb(&s, dir, &o));
    uint8_t key[16], val[600];
    memset(val, 7, sizeof val);
    mla_store_batch *b = NULL;
    CHECK(mla_store_batch_new(&b));
    long n = 0, max = smoke ? 20 : 5000;
    int64_t t0 = mla_time_mono_ns();
    while (n < max && secs_since(t0) < 3.0) {
        mla_store_batch_clear(b);
        for (int i = 0; i < 256; i++) {
            mla_put_be64(key, (uint64_t)n);
            mla_put_be64(key + 8, (uint64_t)i);
            CHECK(mla_store_batch_put(b, mla_slice_make(key, 16), mla_slice_make(val, sizeof val)));
        }
        CHECK(mla_store_write(s, b, true));
        n++;
    }
    double rate = (double)n / secs_since(t0);
    mla_store_batch_free(b);
    mla_store_close(s);
    rmtree(dir);
    free(dir);
    return rate;
}

/* ---- envelopes ------------------------------------------------------------------- */

/* A MODEL change with ~512 bytes of payload, signed by `k`. */
static void make_envelope(mla_buf *out, mla_privkey *k, uint64_t i)
{
    char name[32], version[32], pad[300];
    uint8_t digest[32];
    snprintf(name, sizeof name, "model-%llu", (unsigned long long)(i % 97));
    snprintf(version, sizeof version, "%llu", (unsigned long long)i);
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int j = 0; j < 32; j++) digest[j] = (uint8_t)(i >> (8 * (j % 8)));
    Mlaudit__V1__Change c = MLAUDIT__V1__CHANGE__INIT;
    Mlaudit__V1__Artifact a = MLAUDIT__V1__ARTIFACT__INIT;
    a.type = (char *)(uintptr_t) "model";
    a.name = name;
    a.version = version;
    a.digest.data = digest;
    a.digest.len = 32;
    c.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    c.subject = &a;
    c.actor = (char *)(uintptr_t) "bench@example.com";
    c.reason = pad;
    mla_buf payload;
    mla_buf_init(&payload, 1 << 16);
    CHECK(mla_codec_change_encode(&payload, &c));
    uint8_t sig[64];
    char keyid[65];
    CHECK(mla_crypto_dsse_sign(sig, k, mla_slice_cstr(MLA_PAYLOAD_TYPE_CHANGE),
                               mla_buf_slice(&payload)));
    mla_crypto_keyid(keyid, mla_crypto_key_public(k));
    Mlaudit__V1__Signature s = MLAUDIT__V1__SIGNATURE__INIT, *sp = &s;
    s.sig.data = sig;
    s.sig.len = 64;
    s.keyid = keyid;
    Mlaudit__V1__Envelope e = MLAUDIT__V1__ENVELOPE__INIT;
    e.payload.data = payload.ptr;
    e.payload.len = payload.len;
    e.payload_type = (char *)(uintptr_t)MLA_PAYLOAD_TYPE_CHANGE;
    e.signatures = &sp;
    e.n_signatures = 1;
    mla_buf_init(out, 1 << 16);
    CHECK(mla_codec_envelope_encode(out, &e));
    mla_buf_dispose(&payload);
}

typedef struct ledger {
    char *dir;
    mla_store *store;
    mla_log *log;
    mla_privkey *admin, *logkey;
    mla_pubkey admin_pub;
} ledger;

static void ledger_open(ledger *l, const char *tag)
{
    memset(l, 0, sizeof *l);
    l->dir = tmpdir_new(tag);
    l->admin = key_from_byte(1);
    l->logkey = key_from_byte(3);
    l->admin_pub = *mla_crypto_key_public(l->admin);
    mla_store_leveldb_options o = {
        .create_if_missing = true, .bloom_bits_per_key = 10, .cache_bytes = 64u << 20};
    CHECK(mla_store_open_leveldb(&l->store, l->dir, &o));
    mla_log_options lo = {.origin = "bench.mlaudit.example/log",
                          .signing_key = l->logkey,
                          .admin_keys = &l->admin_pub,
                          .n_admin_keys = 1};
    CHECK(mla_log_open(&l->log, l->store, &lo));
}

static void ledger_close(ledger *l)
{
    mla_log_close(l->log);
    mla_store_close(l->store);
    mla_crypto_key_free(l->admin);
    mla_crypto_key_free(l->logkey);
    rmtree(l->dir);
    free(l->dir);
}

typedef struct appender {
    ledger *l;
    mla_buf *envs;
    size_t first, count;
    double deadline_s;
    int64_t t0;
    size_t done;
    int64_t *lat_ns; /* per-append latency, or NULL */
} appender;

static void *append_loop(void *arg)
{
    appender *a = arg;
    mla_receipt *r = malloc(sizeof *r);
    for (size_t i = 0; i < a->count; i++) {
        if (secs_since(a->t0) > a->deadline_s) break;
        int64_t t = mla_time_mono_ns();
        CHECK(mla_log_append(a->l->log, mla_buf_slice(&a->envs[a->first + i]),
                             mla_slice_cstr("bench"), r));
        if (a->lat_ns) a->lat_ns[i] = mla_time_mono_ns() - t;
        a->done++;
    }
    free(r);
    return NULL;
}

static double run_appenders(ledger *l, mla_buf *envs, size_t n_envs, int threads, double max_s)
{
    appender a[64];
    pthread_t t[64];
    size_t per = n_envs / (size_t)threads, total = 0;
    int64_t t0 = mla_time_mono_ns();
    for (int i = 0; i < threads; i++) {
        a[i] = (appender){l, envs, (size_t)i * per, per, max_s, t0, 0, NULL};
        pthread_create(&t[i], NULL, append_loop, &a[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += a[i].done;
    }
    return (double)total / secs_since(t0);
}

static mla_status put_node(void *ctx, unsigned level, uint64_t index, const mla_hash *node)
{
    mla_log_key k;
    mla_log__key_node(&k, level, index);
    return mla_store_batch_put(ctx, mla_log__key_slice(&k), mla_slice_make(node->b, 32));
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) {
            smoke = true;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            snprintf(workdir, sizeof workdir, "%s", argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--smoke] [--dir DIR]\n", argv[0]);
            return 2;
        }
    }
    CHECK(mla_crypto_init());
    n_cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("mlaudit core benchmark (%s), %ld cores, store dir %s\n", smoke ? "smoke" : "full",
           n_cores, workdir);

    printf("\n-- physical limits, this run --\n");
    double sha = bench_sha256_512();
    printf("SHA-256 (512 B, 1 core)         %12.0f hashes/s  (%.0f MB/s)\n", sha, sha * 512 / 1e6);
    double ver = bench_verify();
    printf("Ed25519 verify (512 B, 1 core)  %12.0f /s; x %ld cores = %.0f /s\n", ver, n_cores,
           ver * (double)n_cores);
    double ldb = bench_leveldb_batches();
    printf("LevelDB synced batch (256 puts) %12.1f batches/s = %.0f records/s\n", ldb, ldb * 256);

    /* Pre-signed envelopes: signing is the client's cost, not the ledger's. */
    size_t n_envs = smoke ? 64 : 40000;
    mla_privkey *admin = key_from_byte(1);
    mla_buf *envs = calloc(n_envs, sizeof *envs);
    for (size_t i = 0; i < n_envs; i++) make_envelope(&envs[i], admin, i);

    printf("\n-- signed appends (LevelDB, synced group commit, 512 B payloads) --\n");
    double limit = ver * (double)n_cores;
    size_t used = 0;
    {
        ledger l;
        ledger_open(&l, "a1");
        size_t n1 = smoke ? 16 : 4000;
        double r1 = run_appenders(&l, envs, n1, 1, 10.0);
        printf("1 thread                        %12.0f appends/s  = %5.1f%% of cores x verify\n",
               r1, 100 * r1 / limit);
        used = n1;
        double r16 = run_appenders(&l, envs + used, n_envs - used, 16, 15.0);
        printf("16 threads                      %12.0f appends/s  = %5.1f%% of cores x verify "
               "(target >= 85%%)\n",
               r16, 100 * r16 / limit);
        ledger_close(&l);
    }

    printf("\n-- sequencer ceiling (signature checks excluded) --\n");
    for (int threads = 16; threads <= 64; threads *= 4) {
        ledger l;
        ledger_open(&l, "seq");
        mla_log__bench_skip_signature_checks(l.log, true);
        int64_t t0 = mla_time_mono_ns();
        double rs = run_appenders(&l, envs, n_envs, threads, 15.0);
        double groups = (double)mla_log__group_count(l.log) / secs_since(t0);
        printf(
            "%2d threads                      %12.0f appends/s in %.0f group commits/s = %5.1f%% "
            "of LevelDB synced batches/s\n",
            threads, rs, groups, 100 * groups / ldb);
        ledger_close(&l);
    }

    printf("\n-- full audit (recompute chain, links, registry, tree) --\n");
    {
        ledger l;
        ledger_open(&l, "audit");
        mla_log__bench_skip_signature_checks(l.log, true);
        size_t n = smoke ? 64 : 20000;
        run_appenders(&l, envs, n, 16, 60.0);
        uint64_t size = mla_log_size(l.log);
        mla_note_verifier v = *mla_log_verifier(l.log);
        mla_log_close(l.log);
        l.log = NULL;
        for (int sigs = 0; sigs < 2; sigs++) {
            mla_audit_options ao = {.admin_keys = &l.admin_pub,
                                    .n_admin_keys = 1,
                                    .log_verifiers = &v,
                                    .n_log_verifiers = 1,
                                    .check_signatures = sigs == 1};
            mla_audit_result res;
            int64_t t0 = mla_time_mono_ns();
            CHECK(mla_log_audit(&res, l.store, &ao));
            double rate = (double)res.n_entries / secs_since(t0);
            if (!res.ok) {
                fprintf(stderr, "audit failed: %s\n", res.problem);
                return 1;
            }
            printf("audit %-9s %6llu entries %12.0f entries/s  = %5.1f%% of cores x SHA-256, "
                   "%5.1f%% of cores x verify\n",
                   sigs ? "with sigs" : "no sigs", (unsigned long long)size, rate,
                   100 * rate / (sha * (double)n_cores), 100 * rate / limit);
        }
        mla_store_close(l.store);
        l.store = NULL;
        mla_crypto_key_free(l.admin);
        mla_crypto_key_free(l.logkey);
        rmtree(l.dir);
        free(l.dir);
    }

    printf("\n-- inclusion proofs from a stored tree --\n");
    {
        /* A 1M-leaf tree's nodes in LevelDB, written as the sequencer writes
         * them; proofs read O(log n) nodes each. */
        char *dir = tmpdir_new("proof");
        mla_store *s = NULL;
        mla_store_leveldb_options o = {
            .create_if_missing = true, .bloom_bits_per_key = 10, .cache_bytes = 64u << 20};
        CHECK(mla_store_open_leveldb(&s, dir, &o));
        uint64_t leaves = smoke ? 5000 : 1000000;
        mla_merkle_frontier f;
        mla_merkle_frontier_init(&f);
        mla_store_batch *b = NULL;
        CHECK(mla_store_batch_new(&b));
        int64_t t0 = mla_time_mono_ns();
        for (uint64_t i = 0; i < leaves; i++) {
            mla_hash leaf;
            uint8_t in[8];
            mla_put_be64(in, i);
            mla_merkle_leaf_hash(&leaf, mla_slice_make(in, 8));
            CHECK(mla_merkle_frontier_append(&f, &leaf, put_node, b));
            if (i % 4096 == 4095 || i + 1 == leaves) {
                CHECK(mla_store_write(s, b, false));
                mla_store_batch_clear(b);
            }
        }
        printf("built a %llu-leaf tree in %.1f s\n", (unsigned long long)leaves, secs_since(t0));
        mla_log_nodes nodes = {s, NULL, NULL, NULL, {0}};
        mla_buf_init(&nodes.buf, 64);
        mla_hash root;
        mla_merkle_frontier_root(&f, &root);
        uint64_t rng = 88172645463325252u;
        long n = 0, max = smoke ? 1000 : 200000;
        t0 = mla_time_mono_ns();
        while (n < max && (n % 256 || secs_since(t0) < 3.0)) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            mla_merkle_proof p;
            CHECK(mla_merkle_inclusion_prove(&p, rng % leaves, leaves, mla_log__node_read, &nodes));
            n++;
        }
        double pr = (double)n / secs_since(t0);
        printf("inclusion proofs at %llu leaves %12.0f proofs/s (1 thread)\n",
               (unsigned long long)leaves, pr);
        mla_buf_dispose(&nodes.buf);
        mla_store_batch_free(b);
        mla_store_close(s);
        rmtree(dir);
        free(dir);
    }

    for (size_t i = 0; i < n_envs; i++) mla_buf_dispose(&envs[i]);
    free(envs);
    mla_crypto_key_free(admin);
    return 0;
}
