/* bench_reports: the report figures of issue 6 beside the limits measured in
 * the same run (SHA-256, Ed25519 sign and verify, LevelDB synced batches):
 *   lineage  a model whose upstream graph holds 10,000 artifacts, reported
 *            to HTML (Graphviz layout included) and to JSON: p50 of a few
 *            runs (target <= 2 s);
 *   audit    every entry of a 1,000,000-entry ledger to JSON (target <= 30 s,
 *            peak RSS <= 256 MiB, measured in a forked child so nothing else
 *            counts), its size per entry, and its offline verification with
 *            every signature checked.
 * The 1M-entry ledger is built in-process (mla_log_append_batch, in order,
 * with signing spread over two threads) and kept with --data DIR: a later
 * run reuses it, and a cut-short build resumes where it stopped.
 * A program, not a test:
 *   ./build/tests/bench/bench_reports [--smoke] [--mlauditd PATH] [--dir DIR] [--data DIR]
 * Every loop is bounded in count and in time. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_util.h"
#include "client/client.h"
#include "codec/codec.h"
#include "log/log.h"
#include "reports/report.h"
#include "store/store.h"

#define ORIGIN "bench.mlaudit.example/reports"
#define CHUNK 1000 /* envelopes per mla_log_append_batch (a multiple of BLOCK) */
#define BLOCK 100 /* the audit ledger repeats a pattern of this many changes */
#define TARGETS 8
#define SIGNERS 2

static const char *mlauditd_path;

/* ---- limits ------------------------------------------------------------------ */

/* bench_leveldb_batches in a child: LevelDB starts its background
 * compaction thread once per process, and a child forked after that has the
 * flag but not the thread, so its writes stall forever. This process never
 * opens LevelDB; the children that build ledgers do. */
static double leveldb_rate(void)
{
    int fds[2];
    double rate = 0;
    if (pipe(fds) != 0) BENCH_DIE("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) BENCH_DIE("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        rate = bench_leveldb_batches();
        _exit(write(fds[1], &rate, sizeof rate) == (ssize_t)sizeof rate ? 0 : 1);
    }
    close(fds[1]);
    if (read(fds[0], &rate, sizeof rate) != (ssize_t)sizeof rate)
        BENCH_DIE("LevelDB limit: failed");
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return rate;
}

/* Resident set of this process now, KiB. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- changes ------------------------------------------------------------------ */

/* ---- the lineage graph ------------------------------------------------------ */

/* Layers: 0 = the subject model, 1..3 = models (f, f^2, f^3 of them), 4 =
 * the datasets that make up the rest of n artifacts. Node j of layer L is
 * built from a contiguous share of layer L+1 plus the first node of the next
 * share (so shares overlap and the graph is a DAG, not a tree). */
#define LAYERS 5

typedef struct graph_shape {
    size_t size[LAYERS];
} graph_shape;

static graph_shape shape_of(size_t n, size_t f)
{
    graph_shape g;
    g.size[0] = 1;
    for (int l = 1; l < LAYERS - 1; l++) g.size[l] = g.size[l - 1] * f;
    size_t used = 0;
    for (int l = 0; l < LAYERS - 1; l++) used += g.size[l];
    g.size[LAYERS - 1] = n > used ? n - used : 1;
    return g;
}

static void node_name(char *out, size_t len, int layer, size_t j)
{
    if (layer == 0)
        snprintf(out, len, "subject");
    else if (layer == LAYERS - 1)
        snprintf(out, len, "d-%zu", j);
    else
        snprintf(out, len, "m%d-%zu", layer, j);
}

/* The inputs of node j of layer (< LAYERS-1): indexes into layer + 1. */
static size_t node_inputs(const graph_shape *g, int layer, size_t j, size_t *idx, size_t max)
{
    size_t below = g->size[layer + 1], here = g->size[layer];
    size_t a = j * below / here, b = (j + 1) * below / here, n = 0;
    for (size_t i = a; i < b && n < max; i++) idx[n++] = i;
    size_t extra = b % below;
    if (n < max && !(extra >= a && extra < b)) idx[n++] = extra;
    return n;
}

static void build_graph(const bench_daemon *d, const graph_shape *g, size_t *edges_out)
{
    mla_client *c = bench_daemon_client(d);
    mla_buf *envs = calloc(CHUNK, sizeof *envs);
    mla_slice *sl = calloc(CHUNK, sizeof *sl);
    mla_receipt *rs = calloc(CHUNK, sizeof *rs);
    if (!envs || !sl || !rs) BENCH_DIE("out of memory");
    size_t n = 0, edges = 0;
    enum { IN_MAX = 64 };
    /* Leaves first: a change's inputs are recorded before it. */
    for (int layer = LAYERS - 1; layer >= 0; layer--) {
        for (size_t j = 0; j < g->size[layer]; j++) {
            char name[64];
            bench_art subject, *ins = calloc(IN_MAX, sizeof *ins);
            mla_pb_input in[IN_MAX], *inp[IN_MAX];
            size_t idx[IN_MAX];
            if (!ins) BENCH_DIE("out of memory");
            node_name(name, sizeof name, layer, j);
            bool leaf = layer == LAYERS - 1;
            mla_pb_change ch = MLAUDIT__V1__CHANGE__INIT;
            ch.kind = leaf ? MLAUDIT__V1__KIND__KIND_DATASET : MLAUDIT__V1__KIND__KIND_MODEL;
            ch.subject = bench_art_set(&subject, leaf ? "dataset" : "model", name, "1");
            ch.actor = (char *)(uintptr_t) "ml@example.com";
            ch.reason = (char *)(uintptr_t) "benchmark lineage graph";
            if (!leaf) {
                size_t k = node_inputs(g, layer, j, idx, IN_MAX);
                bool to_data = layer + 1 == LAYERS - 1;
                for (size_t e = 0; e < k; e++) {
                    char in_name[64];
                    node_name(in_name, sizeof in_name, layer + 1, idx[e]);
                    mla_pb_input i0 = MLAUDIT__V1__INPUT__INIT;
                    in[e] = i0;
                    in[e].artifact =
                        bench_art_set(&ins[e], to_data ? "dataset" : "model", in_name, "1");
                    in[e].role = (char *)(uintptr_t)(to_data ? "training-data" : "base-model");
                    inp[e] = &in[e];
                }
                ch.inputs = inp;
                ch.n_inputs = k;
                edges += k;
            }
            bench_envelope_sign(&envs[n], &ch, d->admin);
            free(ins);
            sl[n] = mla_buf_slice(&envs[n]);
            if (++n == CHUNK || (layer == 0 && j + 1 == g->size[0])) {
                CHECK(mla_client_append_batch(c, sl, n, rs));
                for (size_t i = 0; i < n; i++) mla_buf_dispose(&envs[i]);
                n = 0;
            }
        }
    }
    free(envs);
    free(sl);
    free(rs);
    mla_client_close(c);
    *edges_out = edges;
}

typedef struct lineage_run {
    double gen_s, render_s;
    long bytes;
} lineage_run;

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* One lineage report of the subject: generate, render to path. */
static lineage_run lineage_once(const bench_daemon *d, mla_client *c, mla_report_format f,
                                const char *path)
{
    lineage_run out;
    const mla_pubkey *admin = mla_crypto_key_public(d->admin);
    mla_report_request req = {.kind = MLA_REPORT_LINEAGE,
                              .log_key = &d->verifier,
                              .identity = "model:subject@1",
                              .admin_keys = admin,
                              .n_admin_keys = 1,
                              .spool_dir = bench_workdir};
    mla_report *r = NULL;
    int64_t t0 = mla_time_mono_ns();
    CHECK(mla_report_generate(&r, c, &req));
    out.gen_s = bench_secs_since(t0);
    FILE *fp = fopen(path, "wb");
    if (!fp) BENCH_DIE("%s: %s", path, strerror(errno));
    t0 = mla_time_mono_ns();
    CHECK(mla_report_render(r, f, fp, NULL));
    if (fclose(fp) != 0) BENCH_DIE("%s: %s", path, strerror(errno));
    out.render_s = bench_secs_since(t0);
    mla_report_free(r);
    out.bytes = file_size(path);
    return out;
}

/* Verify a report offline with the pinned keys; dies unless it verifies. */
static mla_report_verdict verify_report(const bench_daemon *d, const char *path, double *secs)
{
    mla_report_verdict v;
    mla_report_verify_opts o = {
        .log_key = &d->verifier, .admin_keys = mla_crypto_key_public(d->admin), .n_admin_keys = 1};
    int64_t t0 = mla_time_mono_ns();
    CHECK(mla_report_verify_file(&v, path, &o));
    *secs = bench_secs_since(t0);
    if (!v.ok) BENCH_DIE("%s: does not verify: %s", path, v.problem);
    if (!v.signatures_checked) BENCH_DIE("%s: verified without checking signatures", path);
    return v;
}

/* ---- the audit ledger ---------------------------------------------------------- */

/* Change i of the audit ledger (deterministic, so a build can resume): per
 * block of 100, 20 DATASETs, 60 MODELs built from them, 10 CODE, 6
 * EVALUATIONs of the block's models, 2 CONFIG, a DEPLOYMENT of the block's
 * last model on one of 8 targets, and every tenth block a ROLLBACK on that
 * target to the model deployed there 8 blocks before (else a CONFIG).
 * Seven actors; reasons padded so payloads are ~500 bytes. */
static void audit_change(mla_buf *out, uint64_t i, const mla_privkey *k)
{
    static const char pad[] =
        "benchmark audit ledger: a change with a reason of the length people write when "
        "they explain a retraining, a data refresh or a deployment to a reviewer who was "
        "not in the room; it names the ticket, the owner and what was checked before.";
    uint64_t b = i / BLOCK, g = i % BLOCK;
    char v[32], name[64], actor[64], target[32];
    bench_art subject, in_art, to_art;
    mla_pb_input in = MLAUDIT__V1__INPUT__INIT, *inp = &in;
    Mlaudit__V1__Change__MetricsEntry met = MLAUDIT__V1__CHANGE__METRICS_ENTRY__INIT, *metp = &met;
    Mlaudit__V1__Deployment dep = MLAUDIT__V1__DEPLOYMENT__INIT;
    Mlaudit__V1__Rollback rb = MLAUDIT__V1__ROLLBACK__INIT;
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    snprintf(v, sizeof v, "%llu", (unsigned long long)i);
    snprintf(actor, sizeof actor, "actor-%llu@example.com", (unsigned long long)(i % 7));
    snprintf(target, sizeof target, "api-%llu", (unsigned long long)(b % TARGETS));
    c.actor = actor;
    c.reason = (char *)(uintptr_t)pad;
    /* The model of block b (its last MODEL), as deployed. */
    char model_v[32];
    snprintf(model_v, sizeof model_v, "%llu", (unsigned long long)(b * BLOCK + 79));
    if (g < 20) {
        snprintf(name, sizeof name, "ds-%llu", (unsigned long long)(b % 1000));
        c.kind = MLAUDIT__V1__KIND__KIND_DATASET;
        c.subject = bench_art_set(&subject, "dataset", name, v);
    } else if (g < 80) {
        char ds_v[32];
        snprintf(ds_v, sizeof ds_v, "%llu", (unsigned long long)(b * BLOCK + (g - 20) % 20));
        snprintf(name, sizeof name, "ds-%llu", (unsigned long long)(b % 1000));
        in.artifact = bench_art_set(&in_art, "dataset", name, ds_v);
        in.role = (char *)(uintptr_t) "training-data";
        snprintf(name, sizeof name, "m-%llu", (unsigned long long)(i % 97));
        c.kind = MLAUDIT__V1__KIND__KIND_MODEL;
        c.subject = bench_art_set(&subject, "model", name, v);
        c.inputs = &inp;
        c.n_inputs = 1;
    } else if (g < 90) {
        c.kind = MLAUDIT__V1__KIND__KIND_CODE;
        c.subject = bench_art_set(&subject, "code", "trainer", v);
    } else if (g < 96) {
        uint64_t m = b * BLOCK + 20 + (g - 90);
        char mv[32];
        snprintf(mv, sizeof mv, "%llu", (unsigned long long)m);
        snprintf(name, sizeof name, "m-%llu", (unsigned long long)(m % 97));
        in.artifact = bench_art_set(&in_art, "model", name, mv);
        in.role = (char *)(uintptr_t) "evaluated-model";
        c.kind = MLAUDIT__V1__KIND__KIND_EVALUATION;
        c.subject = bench_art_set(&subject, "evaluation", "holdout", v);
        c.inputs = &inp;
        c.n_inputs = 1;
        met.key = (char *)(uintptr_t) "auc";
        met.value = 0.8 + (double)(i % 1000) / 10000.0;
        c.metrics = &metp;
        c.n_metrics = 1;
    } else if (g == 98) {
        snprintf(name, sizeof name, "m-%llu", (unsigned long long)((b * BLOCK + 79) % 97));
        c.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
        c.subject = bench_art_set(&subject, "model", name, model_v);
        dep.target = target;
        dep.stage = (char *)(uintptr_t) "production";
        dep.traffic_fraction = 1.0;
        c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
        c.deployment = &dep;
    } else if (g == 99 && b >= TARGETS && b % 10 == 9) {
        uint64_t back = (b - TARGETS) * BLOCK + 79;
        char bv[32];
        snprintf(bv, sizeof bv, "%llu", (unsigned long long)back);
        snprintf(name, sizeof name, "m-%llu", (unsigned long long)(back % 97));
        c.kind = MLAUDIT__V1__KIND__KIND_ROLLBACK;
        c.subject = bench_art_set(&subject, "model", name, bv);
        rb.target = target;
        rb.to = bench_art_set(&to_art, "model", name, bv);
        c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK;
        c.rollback = &rb;
    } else {
        c.kind = MLAUDIT__V1__KIND__KIND_CONFIG;
        c.subject = bench_art_set(&subject, "config", "train-config", v);
    }
    bench_envelope_sign(out, &c, k);
}

/* Two signer threads take chunks in turn (thread t: chunks t, t+2, ...)
 * and append them in chunk order, so seq = change index and a cut build
 * resumes at the log's size. */
typedef struct builder {
    mla_log *log;
    uint64_t first, total;
    pthread_mutex_t mu;
    pthread_cond_t turn_cv;
    uint64_t turn; /* the chunk whose append is next */
    double max_s;
    int64_t t0;
    bool stop;
} builder;

typedef struct signer {
    builder *b;
    int id;
} signer;

static void *signer_main(void *arg)
{
    signer *s = arg;
    builder *b = s->b;
    mla_privkey *k = bench_key_from_byte(1); /* the admin key, one object per thread */
    mla_buf *envs = calloc(CHUNK, sizeof *envs);
    mla_slice *sl = calloc(CHUNK, sizeof *sl);
    mla_receipt *rs = calloc(CHUNK, sizeof *rs);
    if (!envs || !sl || !rs) BENCH_DIE("out of memory");
    uint64_t n_chunks = (b->total - b->first + CHUNK - 1) / CHUNK;
    for (uint64_t chunk = (uint64_t)s->id; chunk < n_chunks; chunk += SIGNERS) {
        uint64_t at = b->first + chunk * CHUNK;
        size_t n = (size_t)(b->total - at < CHUNK ? b->total - at : CHUNK);
        for (size_t i = 0; i < n; i++) {
            audit_change(&envs[i], at + i, k);
            sl[i] = mla_buf_slice(&envs[i]);
        }
        pthread_mutex_lock(&b->mu);
        while (b->turn != chunk && !b->stop) pthread_cond_wait(&b->turn_cv, &b->mu);
        bool stop = b->stop || bench_secs_since(b->t0) > b->max_s;
        pthread_mutex_unlock(&b->mu);
        if (!stop) CHECK(mla_log_append_batch(b->log, sl, n, mla_slice_cstr("bench"), rs));
        for (size_t i = 0; i < n; i++) mla_buf_dispose(&envs[i]);
        pthread_mutex_lock(&b->mu);
        b->turn++;
        b->stop = stop;
        pthread_cond_broadcast(&b->turn_cv);
        pthread_mutex_unlock(&b->mu);
        if (stop) break;
        if (chunk % 100 == 0 && chunk > 0)
            fprintf(stderr, "  ... %llu entries (%.0f s)\n", (unsigned long long)(at + n),
                    bench_secs_since(b->t0));
    }
    free(envs);
    free(sl);
    free(rs);
    mla_crypto_key_free(k);
    return NULL;
}

/* Build (or finish) the audit ledger of total entries in d's data
 * directory; runs in a child so its memory stays out of the figures.
 * Prints what it did; exits 0 when the ledger holds total entries. */
static void audit_build_child(const bench_daemon *d, uint64_t total, double max_s,
                              double sign_limit)
{
    mla_store *s = NULL;
    mla_log *log = NULL;
    /* Every envelope is really signed (the report's verification checks
     * them); the log's own check of each is skipped only to build faster. */
    bench_daemon_open_log(d, &s, &log);
    builder b = {.log = log, .first = mla_log_size(log), .total = total, .max_s = max_s};
    b.t0 = mla_time_mono_ns();
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.turn_cv, NULL);
    if (b.first % CHUNK != 0 && b.first < total)
        BENCH_DIE("%s: holds %llu entries, not a whole number of chunks: not a ledger this "
                  "benchmark built (remove it)",
                  d->data, (unsigned long long)b.first);
    if (b.first < total) {
        printf("building the audit ledger: %llu -> %llu entries (2 signer threads, appends in "
               "order)\n",
               (unsigned long long)b.first, (unsigned long long)total);
        fflush(stdout);
        pthread_t t[SIGNERS];
        signer sg[SIGNERS];
        for (int i = 0; i < SIGNERS; i++) {
            sg[i] = (signer){&b, i};
            if (pthread_create(&t[i], NULL, signer_main, &sg[i]) != 0) BENCH_DIE("pthread_create");
        }
        for (int i = 0; i < SIGNERS; i++) pthread_join(t[i], NULL);
        uint64_t size = mla_log_size(log);
        double secs = bench_secs_since(b.t0);
        double rate = (double)(size - b.first) / secs;
        printf("built %llu entries in %.1f s = %.0f entries/s = %.0f%% of %d cores x Ed25519 "
               "sign\n",
               (unsigned long long)(size - b.first), secs, rate, 100.0 * rate / sign_limit,
               SIGNERS);
    }
    uint64_t size = mla_log_size(log);
    mla_log_close(log);
    mla_store_close(s);
    fflush(stdout);
    _exit(size >= total ? 0 : 3);
}

/* What the measuring child reports back. */
typedef struct audit_figures {
    double gen_s, render_s;
    uint64_t entries;
    long bytes;
} audit_figures;

static void audit_measure_child(const bench_daemon *d, const char *path, int fd)
{
    mla_client *c = bench_daemon_client(d);
    const mla_pubkey *admin = mla_crypto_key_public(d->admin);
    mla_report_request req = {.kind = MLA_REPORT_AUDIT,
                              .log_key = &d->verifier,
                              .admin_keys = admin,
                              .n_admin_keys = 1,
                              .spool_dir = bench_workdir};
    audit_figures f = {0};
    mla_report *r = NULL;
    int64_t t0 = mla_time_mono_ns();
    CHECK(mla_report_generate(&r, c, &req));
    f.gen_s = bench_secs_since(t0);
    f.entries = r->ev.has_range ? r->ev.range_last - r->ev.range_first + 1 : r->ev.n_entries;
    FILE *fp = fopen(path, "wb");
    if (!fp) BENCH_DIE("%s: %s", path, strerror(errno));
    t0 = mla_time_mono_ns();
    CHECK(mla_report_render(r, MLA_REPORT_JSON, fp, NULL));
    if (fclose(fp) != 0) BENCH_DIE("%s: %s", path, strerror(errno));
    f.render_s = bench_secs_since(t0);
    mla_report_free(r);
    mla_client_close(c);
    f.bytes = file_size(path);
    if (write(fd, &f, sizeof f) != (ssize_t)sizeof f) _exit(4);
    _exit(0);
}

/* Fork fn's child and wait for it: its exit status and its own rusage
 * (wait4 on that pid: the peak RSS is this child's alone, not the largest
 * of every child waited for, as getrusage(RUSAGE_CHILDREN) would give). */
static int run_child(pid_t pid, struct rusage *ru)
{
    int status = 0;
    while (wait4(pid, &status, 0, ru) < 0)
        if (errno != EINTR) BENCH_DIE("wait4: %s", strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *verdict(bool met) { return met ? "met" : "MISSED"; }

int main(int argc, char **argv)
{
    const char *data_arg;
    bench_args(argc, argv, &mlauditd_path, &data_arg);
    /* Figures appear as they are measured, also when stdout is a file. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(mla_crypto_init());
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("mlaudit reports benchmark (%s), %ld cores, loopback, mlauditd %s, work dir %s\n",
           bench_smoke ? "smoke" : "full", cores, mlauditd_path, bench_workdir);
    printf("(the report, the daemon and the ledger build share these cores)\n");

    printf("\n-- limits, this run --\n");
    double sha = bench_sha256_512();
    printf("SHA-256 (512 B, 1 core)          %12.0f hashes/s\n", sha);
    double ver = bench_verify();
    printf("Ed25519 verify (512 B, 1 core)   %12.0f /s\n", ver);
    double sig = bench_sign();
    printf("Ed25519 sign (512 B, 1 core)     %12.0f /s\n", sig);
    double ldb = leveldb_rate();
    printf("LevelDB synced batch (256 puts)  %12.1f batches/s = %.0f records/s\n", ldb, ldb * 256);

    /* ---- audit: before any gRPC call in this process, which forks (and
     * gRPC's threads, like LevelDB's, do not survive a fork). ---- */
    uint64_t total = bench_smoke ? 2000 : 1000000;
    bool keep = data_arg != NULL;
    char *dir;
    if (keep) {
        if (mkdir(data_arg, 0700) != 0 && errno != EEXIST)
            BENCH_DIE("%s: %s", data_arg, strerror(errno));
        dir = strdup(data_arg);
        /* The keys are fixed (bench_key_from_byte), so rewriting them is a
         * no-op; the key writer refuses to overwrite, hence the unlinks. */
        char path[4400];
        snprintf(path, sizeof path, "%s/log.key", data_arg);
        unlink(path);
        snprintf(path, sizeof path, "%s/admin.pub", data_arg);
        unlink(path);
    } else {
        dir = bench_tmpdir_new("audit");
    }
    if (!dir) BENCH_DIE("out of memory");
    bench_daemon ad;
    bench_daemon_init(&ad, dir, ORIGIN);
    printf("\n-- audit report over %llu entries (ledger in %s%s) --\n", (unsigned long long)total,
           dir, keep ? ", kept" : "");
    fflush(stdout);
    int64_t tb = mla_time_mono_ns();
    pid_t pid = fork();
    if (pid < 0) BENCH_DIE("fork: %s", strerror(errno));
    if (pid == 0) audit_build_child(&ad, total, bench_smoke ? 120 : 3600, sig * SIGNERS);
    struct rusage ru;
    int code = run_child(pid, &ru);
    if (code != 0) BENCH_DIE("the ledger build stopped (status %d); run again to resume", code);
    double build_s = bench_secs_since(tb);
    printf("ledger ready in %.1f s (build peak RSS %.0f MiB)\n", build_s, ru.ru_maxrss / 1024.0);

    bench_daemon_start(&ad, mlauditd_path, NULL);
    char audit_path[4400];
    snprintf(audit_path, sizeof audit_path, "%s/audit.json", dir);
    int fds[2];
    if (pipe(fds) != 0) BENCH_DIE("pipe: %s", strerror(errno));
    long base_rss = rss_kib();
    fflush(NULL);
    pid = fork();
    if (pid < 0) BENCH_DIE("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        audit_measure_child(&ad, audit_path, fds[1]);
    }
    close(fds[1]);
    audit_figures af;
    ssize_t got = read(fds[0], &af, sizeof af);
    close(fds[0]);
    code = run_child(pid, &ru);
    if (code != 0 || got != (ssize_t)sizeof af)
        BENCH_DIE("the audit report failed (status %d)", code);
    bench_daemon_stop(&ad);
    double audit_s = af.gen_s + af.render_s, peak_mib = ru.ru_maxrss / 1024.0;
    printf("generate %.2f s + render JSON %.2f s = %.2f s for %llu entries = %.0f entries/s "
           "(target <= 30 s: %s)\n",
           af.gen_s, af.render_s, audit_s, (unsigned long long)af.entries,
           (double)af.entries / audit_s, verdict(audit_s <= 30.0));
    printf("  = %.1f%% of one core's SHA-256 rate (each entry's leaf hashed and chained)\n",
           100.0 * (double)af.entries / audit_s / sha);
    printf("peak RSS of the report process %.1f MiB (of which %.1f MiB before it started) "
           "(target <= 256 MiB: %s)\n",
           peak_mib, base_rss / 1024.0, verdict(peak_mib <= 256.0));
    printf("JSON %.1f MB = %.0f bytes per entry\n", (double)af.bytes / 1e6,
           af.entries ? (double)af.bytes / (double)af.entries : 0.0);
    /* ---- lineage ---- */
    size_t n_art = bench_smoke ? 50 : 10000;
    graph_shape g = shape_of(n_art, bench_smoke ? 3 : 10);
    printf(
        "\n-- lineage report of a model with %zu upstream artifacts (layers %zu/%zu/%zu/%zu/%zu) "
        "--\n",
        n_art, g.size[0], g.size[1], g.size[2], g.size[3], g.size[4]);
    bench_daemon ld;
    bench_daemon_init(&ld, bench_tmpdir_new("lineage"), ORIGIN);
    bench_daemon_start(&ld, mlauditd_path, NULL);
    size_t edges = 0;
    tb = mla_time_mono_ns();
    build_graph(&ld, &g, &edges);
    printf("graph recorded in %.1f s (%zu edges; AppendBatch of %d through the daemon)\n",
           bench_secs_since(tb), edges, CHUNK);
    mla_client *c = bench_daemon_client(&ld);
    enum { RUNS = 5 };
    size_t runs = bench_smoke ? 2 : RUNS;
    static const struct {
        mla_report_format f;
        const char *name, *ext;
    } fmts[] = {{MLA_REPORT_HTML, "HTML", "html"}, {MLA_REPORT_JSON, "JSON", "json"}};
    for (size_t k = 0; k < 2; k++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/lineage.%s", ld.dir, fmts[k].ext);
        int64_t tot[RUNS], gen[RUNS], ren[RUNS]; /* ns */
        long bytes = 0;
        for (size_t i = 0; i < runs; i++) {
            lineage_run lr = lineage_once(&ld, c, fmts[k].f, path);
            gen[i] = (int64_t)(lr.gen_s * 1e9);
            ren[i] = (int64_t)(lr.render_s * 1e9);
            tot[i] = (int64_t)((lr.gen_s + lr.render_s) * 1e9);
            bytes = lr.bytes;
        }
        double p50 = (double)bench_percentile(tot, runs, 50) / 1e9;
        printf("%-4s p50 %.3f s (generate %.3f s, render %.3f s) over %zu runs, %.1f MB\n",
               fmts[k].name, p50, (double)bench_percentile(gen, runs, 50) / 1e9,
               (double)bench_percentile(ren, runs, 50) / 1e9, runs, (double)bytes / 1e6);
        if (k == 0)
            printf("     target <= 2 s to HTML including layout: %s\n", verdict(p50 <= 2.0));
        double vsec;
        mla_report_verdict lv = verify_report(&ld, path, &vsec);
        /* The hashing each cited entry costs at least: its leaf and its
         * inclusion path (~log2 of the tree size), at one core's rate. */
        double path_len = 1;
        for (uint64_t sz = lv.tree_size; sz > 1; sz = (sz + 1) / 2) path_len++;
        double floor_s = (double)lv.n_entries * path_len / sha;
        printf("     cites %llu entries: %.0f entries/s; their proofs' hashing floor %.1f ms = "
               "%.2f%% of p50\n",
               (unsigned long long)lv.n_entries, (double)lv.n_entries / p50, floor_s * 1e3,
               100.0 * floor_s / p50);
        printf("     verifies offline: %llu entries, %llu signatures, %llu facts in %.2f s "
               "(%.0f signatures/s = %.1f%% of one core's Ed25519 verify rate)\n",
               (unsigned long long)lv.n_entries, (unsigned long long)lv.n_signatures,
               (unsigned long long)lv.n_facts, vsec, (double)lv.n_signatures / vsec,
               100.0 * (double)lv.n_signatures / vsec / ver);
    }
    mla_client_close(c);
    bench_daemon_dispose(&ld);

    /* Last, as it takes longest: one core checks every signature of the
     * audit report (~1M Ed25519 verifications). */
    printf("\n-- the audit report verified offline, every signature --\n");
    double vs;
    mla_report_verdict v = verify_report(&ad, audit_path, &vs);
    printf("%.2f s, %llu entries, %llu signatures = %.0f signatures/s = %.1f%% of one core's "
           "Ed25519 verify rate\n",
           vs, (unsigned long long)v.n_entries, (unsigned long long)v.n_signatures,
           (double)v.n_signatures / vs, 100.0 * (double)v.n_signatures / vs / ver);
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    printf("peak RSS of this process (the verification, and the lineage runs before it) %.0f "
           "MiB\n",
           self.ru_maxrss / 1024.0);
    if (!keep) {
        bench_daemon_dispose(&ad);
    } else {
        unlink(audit_path);
        mla_crypto_key_free(ad.admin);
        mla_crypto_key_free(ad.logkey);
        free(ad.dir);
    }
    return 0;
}
