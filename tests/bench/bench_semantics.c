/* bench_semantics: the ML-semantics figures of issue 5 over loopback gRPC,
 * beside the limit measured in the same run:
 *   limit    SHA-256 rate of one core at the size of one encoded decision;
 *   figures  RecordDecisions durable decisions/s with 4 streams (each through
 *            the C client's recorder, acknowledged = in a synced batch entry);
 *            ResolveDecision p50/p99 with 1M decisions recorded (each answer
 *            verified by the client: decision path, batch inclusion, timeline);
 *            GetLineage p50/p99, full depth upstream, on a 10,000-artifact
 *            graph (each edge's entry verified by the client).
 * A program, not a test:
 *   ./build/tests/bench/bench_semantics [--smoke] [--mlauditd PATH] [--dir DIR]
 * Every loop is bounded in count and in time. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_util.h"
#include "client/client.h"
#include "codec/codec.h"

#define ORIGIN "bench.mlaudit.example/semantics"
#define TARGET "bench-api"
#define STREAMS 4
#define LAYERS 5 /* datasets, then four layers of models */

static const char *mlauditd_path;

/* ---- the same-run limit ------------------------------------------------------ */

static void decision_fill(mla_pb_decision *d, mla_pb_artifact *model, char *id, size_t id_len,
                          uint8_t digests[64], int stream, uint64_t i)
{
    mla_pb_decision d0 = MLAUDIT__V1__DECISION__INIT;
    mla_pb_artifact m0 = MLAUDIT__V1__ARTIFACT__INIT;
    *d = d0;
    *model = m0;
    model->type = (char *)(uintptr_t) "model";
    model->name = (char *)(uintptr_t) "fraud";
    model->version = (char *)(uintptr_t) "1";
    snprintf(id, id_len, "s%d-%09llu", stream, (unsigned long long)i);
    memcpy(digests, &i, sizeof i);
    d->id = id;
    d->target = (char *)(uintptr_t)TARGET;
    d->time_ns = mla_time_now_ns();
    d->input_digest.data = digests;
    d->input_digest.len = 32;
    d->output_digest.data = digests + 32;
    d->output_digest.len = 32;
    d->model = model;
}

/* SHA-256 hashes per second of one core over messages of len bytes. */
static double sha256_rate(size_t len)
{
    uint8_t *msg = calloc(1, len);
    mla_hash h;
    uint64_t n = 0;
    int64_t t0 = mla_time_mono_ns();
    double max_s = bench_smoke ? 0.1 : 1.0;
    while (bench_secs_since(t0) < max_s) {
        for (int i = 0; i < 1000; i++) {
            msg[0] = (uint8_t)n;
            mla_crypto_sha256(&h, mla_slice_make(msg, len));
            n++;
        }
    }
    free(msg);
    return (double)n / bench_secs_since(t0);
}

/* ---- setup: the model the decisions name, deployed on the target ---------- */

static void deploy_model(const bench_daemon *d)
{
    mla_client *c = bench_daemon_client(d);
    bench_art model, data;
    bench_art_set(&model, "model", "fraud", "1");
    bench_art_set(&data, "dataset", "tx", "1");
    mla_pb_input in = MLAUDIT__V1__INPUT__INIT, *inp = &in;
    in.artifact = &data.a;
    in.role = (char *)(uintptr_t) "training-data";
    mla_pb_change m = MLAUDIT__V1__CHANGE__INIT;
    m.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    m.subject = &model.a;
    m.inputs = &inp;
    m.n_inputs = 1;
    m.reason = (char *)(uintptr_t) "benchmark model";
    Mlaudit__V1__Deployment dep = MLAUDIT__V1__DEPLOYMENT__INIT;
    dep.target = (char *)(uintptr_t)TARGET;
    dep.stage = (char *)(uintptr_t) "production";
    dep.traffic_fraction = 1.0;
    mla_pb_change dc = MLAUDIT__V1__CHANGE__INIT;
    dc.kind = MLAUDIT__V1__KIND__KIND_DEPLOYMENT;
    dc.subject = &model.a;
    dc.reason = (char *)(uintptr_t) "benchmark deployment";
    dc.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT;
    dc.deployment = &dep;
    mla_buf e1, e2;
    mla_receipt r;
    bench_envelope_sign(&e1, &m, d->admin);
    bench_envelope_sign(&e2, &dc, d->admin);
    CHECK(mla_client_append(c, mla_buf_slice(&e1), &r));
    CHECK(mla_client_append(c, mla_buf_slice(&e2), &r));
    mla_buf_dispose(&e1);
    mla_buf_dispose(&e2);
    mla_client_close(c);
}

/* ---- RecordDecisions ------------------------------------------------------ */

typedef struct stream_arg {
    const bench_daemon *d;
    int stream;
    uint64_t first, n;
    double max_s;
    uint64_t recorded;
} stream_arg;

static void *stream_main(void *arg)
{
    stream_arg *a = arg;
    mla_client *c = bench_daemon_client(a->d);
    mla_recorder *r;
    mla_recorder_options o = {0};
    CHECK(mla_recorder_start(&r, c, &o));
    int64_t t0 = mla_time_mono_ns();
    for (uint64_t i = a->first; i < a->first + a->n && bench_secs_since(t0) < a->max_s; i++) {
        mla_pb_decision d;
        mla_pb_artifact m;
        char id[64];
        uint8_t digests[64] = {0};
        decision_fill(&d, &m, id, sizeof id, digests, a->stream, i);
        CHECK(mla_recorder_record(r, &d));
        a->recorded++;
    }
    CHECK(mla_recorder_close(r));
    mla_client_close(c);
    return NULL;
}

/* Record n decisions per stream (ids from first); the rate of durable
 * decisions/s, from the first record to the last acknowledgement. */
static double record(const bench_daemon *d, uint64_t first, uint64_t n, double max_s,
                     uint64_t *recorded)
{
    pthread_t t[STREAMS];
    stream_arg a[STREAMS];
    int64_t t0 = mla_time_mono_ns();
    for (int i = 0; i < STREAMS; i++) {
        a[i] = (stream_arg){d, i, first, n, max_s, 0};
        if (pthread_create(&t[i], NULL, stream_main, &a[i]) != 0) BENCH_DIE("pthread_create");
    }
    *recorded = 0;
    for (int i = 0; i < STREAMS; i++) {
        pthread_join(t[i], NULL);
        *recorded += a[i].recorded;
    }
    return (double)*recorded / bench_secs_since(t0);
}

/* ---- ResolveDecision ------------------------------------------------------- */

static void resolve_latency(const bench_daemon *d, uint64_t per_stream, size_t calls, double *p50,
                            double *p99)
{
    mla_client *c = bench_daemon_client(d);
    int64_t *lat = calloc(calls, sizeof *lat);
    uint64_t rng = 88172645463325252ull;
    size_t n = 0;
    int64_t t0 = mla_time_mono_ns();
    for (; n < calls && bench_secs_since(t0) < 60; n++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        char id[64];
        snprintf(id, sizeof id, "s%d-%09llu", (int)(rng % STREAMS),
                 (unsigned long long)((rng >> 8) % per_stream));
        mla_client_resolution res;
        int64_t s = mla_time_mono_ns();
        CHECK(mla_client_resolve(c, id, TARGET, 0, &res));
        lat[n] = mla_time_mono_ns() - s;
        if (res.n_discrepancies) BENCH_DIE("%s: discrepancy: %s", id, res.discrepancies[0]);
        mla_client_resolution_dispose(&res);
    }
    *p50 = (double)bench_percentile(lat, n, 50) / 1e6;
    *p99 = (double)bench_percentile(lat, n, 99) / 1e6;
    free(lat);
    mla_client_close(c);
}

/* ---- GetLineage on a generated graph ---------------------------------------- */

/* Layer 0: per_layer datasets; layers 1..4: models, each built from two
 * artifacts of the layer below. */
static void build_graph(const bench_daemon *d, size_t per_layer)
{
    mla_client *c = bench_daemon_client(d);
    size_t total = per_layer * LAYERS, batch = 1000, n = 0;
    mla_buf *envs = calloc(batch, sizeof *envs);
    mla_slice *sl = calloc(batch, sizeof *sl);
    mla_receipt *rs = calloc(batch, sizeof *rs);
    char name[64], in_name[2][64];
    for (size_t k = 0; k < total; k++) {
        size_t layer = k / per_layer, j = k % per_layer;
        bench_art subject, ins[2];
        mla_pb_input in[2], *inp[2];
        mla_pb_change ch = MLAUDIT__V1__CHANGE__INIT;
        snprintf(name, sizeof name, "%s-%zu-%zu", layer ? "m" : "d", layer, j);
        bench_art_set(&subject, layer ? "model" : "dataset", name, "1");
        ch.kind = layer ? MLAUDIT__V1__KIND__KIND_MODEL : MLAUDIT__V1__KIND__KIND_DATASET;
        ch.subject = &subject.a;
        ch.reason = (char *)(uintptr_t) "benchmark graph";
        if (layer) {
            for (int e = 0; e < 2; e++) {
                size_t from = (j + (size_t)e * (per_layer / 2 + 1)) % per_layer;
                snprintf(in_name[e], sizeof in_name[e], "%s-%zu-%zu", layer > 1 ? "m" : "d",
                         layer - 1, from);
                bench_art_set(&ins[e], layer > 1 ? "model" : "dataset", in_name[e], "1");
                mla_pb_input i0 = MLAUDIT__V1__INPUT__INIT;
                in[e] = i0;
                in[e].artifact = &ins[e].a;
                in[e].role = (char *)(uintptr_t)(layer > 1 ? "base-model" : "training-data");
                inp[e] = &in[e];
            }
            ch.inputs = inp;
            ch.n_inputs = 2;
        }
        bench_envelope_sign(&envs[n], &ch, d->admin);
        sl[n] = mla_buf_slice(&envs[n]);
        if (++n == batch || k + 1 == total) {
            CHECK(mla_client_append_batch(c, sl, n, rs));
            for (size_t i = 0; i < n; i++) mla_buf_dispose(&envs[i]);
            n = 0;
        }
    }
    free(envs);
    free(sl);
    free(rs);
    mla_client_close(c);
}

static void lineage_latency(const bench_daemon *d, size_t per_layer, size_t calls, double *p50,
                            double *p99, size_t *edges)
{
    mla_client *c = bench_daemon_client(d);
    int64_t *lat = calloc(calls, sizeof *lat);
    size_t n = 0;
    *edges = 0;
    int64_t t0 = mla_time_mono_ns();
    for (; n < calls && bench_secs_since(t0) < 60; n++) {
        char id[80];
        snprintf(id, sizeof id, "model:m-%d-%zu@1", LAYERS - 1, (n * 7919) % per_layer);
        mla_client_lineage_graph g;
        int64_t s = mla_time_mono_ns();
        CHECK(mla_client_lineage(c, id, false, 0, &g));
        lat[n] = mla_time_mono_ns() - s;
        *edges += g.n_edges;
        mla_client_lineage_dispose(&g);
    }
    *p50 = (double)bench_percentile(lat, n, 50) / 1e6;
    *p99 = (double)bench_percentile(lat, n, 99) / 1e6;
    *edges /= n ? n : 1;
    free(lat);
    mla_client_close(c);
}

static const char *verdict(bool met) { return met ? "met" : "MISSED"; }

int main(int argc, char **argv)
{
    bench_args(argc, argv, &mlauditd_path, NULL);
    CHECK(mla_crypto_init());
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("mlaudit ML-semantics benchmark (%s), %ld cores, loopback, mlauditd %s, store dir %s\n",
           bench_smoke ? "smoke" : "full", cores, mlauditd_path, bench_workdir);
    printf("(the clients and the daemon share these cores)\n");

    /* The limit: one core hashing one encoded decision. */
    mla_pb_decision sample;
    mla_pb_artifact sample_model;
    char sample_id[64];
    uint8_t sample_digests[64] = {0};
    decision_fill(&sample, &sample_model, sample_id, sizeof sample_id, sample_digests, 0, 0);
    mla_buf enc;
    mla_buf_init(&enc, MLA_LIMIT_DECISION_BYTES);
    CHECK(mla_codec_decision_encode(&enc, &sample));
    double sha = sha256_rate(enc.len);
    printf("\n-- limit, this run --\n");
    printf("SHA-256 of one encoded decision (%zu B), 1 core   %12.0f /s\n", enc.len, sha);
    mla_buf_dispose(&enc);

    bench_daemon d;
    bench_daemon_init(&d, bench_tmpdir_new("semantics"), ORIGIN);
    const char *extra[] = {"--decision-batch-max", "4096", NULL};
    bench_daemon_start(&d, mlauditd_path, extra);
    deploy_model(&d);

    printf("\n-- RecordDecisions, %d streams (C recorder; acknowledged = durable) --\n", STREAMS);
    uint64_t first_n = bench_smoke ? 500 : 100000, total = bench_smoke ? 2000 : 1000000;
    uint64_t got;
    double rate = record(&d, 0, first_n, bench_smoke ? 30 : 300, &got);
    printf("%llu decisions at %.0f durable decisions/s = %.2f%% of the SHA-256 rate "
           "(target >= 50%%: %s)\n",
           (unsigned long long)got, rate, 100.0 * rate / sha, verdict(rate >= 0.5 * sha));
    uint64_t per_stream = total / STREAMS, more = 0;
    if (per_stream > first_n) {
        double fill = record(&d, first_n, per_stream - first_n, bench_smoke ? 30 : 600, &more);
        printf("filled to %llu decisions (%.0f /s)\n", (unsigned long long)(got + more), fill);
    }
    printf("\n-- ResolveDecision at %llu decisions (client verifies each answer) --\n",
           (unsigned long long)(got + more));
    double p50, p99;
    resolve_latency(&d, got + more == total ? per_stream : got / STREAMS, bench_smoke ? 50 : 2000,
                    &p50, &p99);
    printf("p50 %.2f ms, p99 %.2f ms (target p99 <= 5 ms: %s)\n", p50, p99, verdict(p99 <= 5.0));

    size_t per_layer = bench_smoke ? 50 : 2000;
    printf("\n-- GetLineage on a graph of %zu artifacts (upstream, full depth; client verifies "
           "every edge) --\n",
           per_layer * LAYERS);
    int64_t tb = mla_time_mono_ns();
    build_graph(&d, per_layer);
    printf("graph recorded in %.1f s (AppendBatch of 1000, signed by one key)\n",
           bench_secs_since(tb));
    size_t edges;
    lineage_latency(&d, per_layer, bench_smoke ? 20 : 1000, &p50, &p99, &edges);
    printf("p50 %.2f ms, p99 %.2f ms, %zu edges per answer (target p99 <= 50 ms: %s)\n", p50, p99,
           edges, verdict(p99 <= 50.0));
    bench_daemon_dispose(&d);
    return 0;
}
