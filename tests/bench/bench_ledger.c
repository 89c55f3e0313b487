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
#include "bench_util.h"

static long n_cores;

/* ---- physical limits --------------------------------------------------------- */

/* ---- envelopes ------------------------------------------------------------------- */

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
    l->dir = bench_tmpdir_new(tag);
    l->admin = bench_key_from_byte(1);
    l->logkey = bench_key_from_byte(3);
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
    bench_rmtree(l->dir);
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
        if (bench_secs_since(a->t0) > a->deadline_s) break;
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
    return (double)total / bench_secs_since(t0);
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
    bench_args(argc, argv, NULL, NULL);
    CHECK(mla_crypto_init());
    n_cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("mlaudit core benchmark (%s), %ld cores, store dir %s\n", bench_smoke ? "smoke" : "full",
           n_cores, bench_workdir);

    printf("\n-- physical limits, this run --\n");
    double sha = bench_sha256_512();
    printf("SHA-256 (512 B, 1 core)         %12.0f hashes/s  (%.0f MB/s)\n", sha, sha * 512 / 1e6);
    double ver = bench_verify();
    printf("Ed25519 verify (512 B, 1 core)  %12.0f /s; x %ld cores = %.0f /s\n", ver, n_cores,
           ver * (double)n_cores);
    double ldb = bench_leveldb_batches();
    printf("LevelDB synced batch (256 puts) %12.1f batches/s = %.0f records/s\n", ldb, ldb * 256);

    /* Pre-signed envelopes: signing is the client's cost, not the ledger's. */
    size_t n_envs = bench_smoke ? 64 : 40000;
    mla_privkey *admin = bench_key_from_byte(1);
    mla_buf *envs = calloc(n_envs, sizeof *envs);
    for (size_t i = 0; i < n_envs; i++) {
        char name[32], version[32];
        snprintf(name, sizeof name, "model-%llu", (unsigned long long)(i % 97));
        snprintf(version, sizeof version, "%llu", (unsigned long long)i);
        bench_envelope(&envs[i], admin, NULL, name, version, 299);
    }

    printf("\n-- signed appends (LevelDB, synced group commit, 512 B payloads) --\n");
    double limit = ver * (double)n_cores;
    size_t used = 0;
    {
        ledger l;
        ledger_open(&l, "a1");
        size_t n1 = bench_smoke ? 16 : 4000;
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
        double groups = (double)mla_log__group_count(l.log) / bench_secs_since(t0);
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
        size_t n = bench_smoke ? 64 : 20000;
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
            double rate = (double)res.n_entries / bench_secs_since(t0);
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
        bench_rmtree(l.dir);
        free(l.dir);
    }

    printf("\n-- inclusion proofs from a stored tree --\n");
    {
        /* A 1M-leaf tree's nodes in LevelDB, written as the sequencer writes
         * them; proofs read O(log n) nodes each. */
        char *dir = bench_tmpdir_new("proof");
        mla_store *s = NULL;
        mla_store_leveldb_options o = {
            .create_if_missing = true, .bloom_bits_per_key = 10, .cache_bytes = 64u << 20};
        CHECK(mla_store_open_leveldb(&s, dir, &o));
        uint64_t leaves = bench_smoke ? 5000 : 1000000;
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
        printf("built a %llu-leaf tree in %.1f s\n", (unsigned long long)leaves,
               bench_secs_since(t0));
        mla_log_nodes nodes = {s, NULL, NULL, NULL, {0}};
        mla_buf_init(&nodes.buf, 64);
        mla_hash root;
        mla_merkle_frontier_root(&f, &root);
        uint64_t rng = 88172645463325252u;
        long n = 0, max = bench_smoke ? 1000 : 200000;
        t0 = mla_time_mono_ns();
        while (n < max && (n % 256 || bench_secs_since(t0) < 3.0)) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            mla_merkle_proof p;
            CHECK(mla_merkle_inclusion_prove(&p, rng % leaves, leaves, mla_log__node_read, &nodes));
            n++;
        }
        double pr = (double)n / bench_secs_since(t0);
        printf("inclusion proofs at %llu leaves %12.0f proofs/s (1 thread)\n",
               (unsigned long long)leaves, pr);
        mla_buf_dispose(&nodes.buf);
        mla_store_batch_free(b);
        mla_store_close(s);
        bench_rmtree(dir);
        free(dir);
    }

    for (size_t i = 0; i < n_envs; i++) mla_buf_dispose(&envs[i]);
    free(envs);
    mla_crypto_key_free(admin);
    return 0;
}
