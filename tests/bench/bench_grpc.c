/* bench_grpc: the daemon's figures over loopback gRPC beside the limits
 * measured in the same run, printed as ratios to them and to the targets:
 *   limits   gRPC unary echo rate with 16 outstanding calls (a C-core echo
 *            server in a child process, 16 client threads, one pluck queue
 *            per call: the client library's call pattern), Ed25519 verify
 *            rate x cores, LevelDB synced-batch rate;
 *   figures  Append/s with 1 and 16 concurrent clients, AppendBatch of 256,
 *            p50/p99 time to receipt at half the measured maximum rate
 *            (open loop), GetInclusionProof/s at 1M entries.
 * A program, not a test:
 *   ./build/tests/bench/bench_grpc [--smoke] [--mlauditd PATH] [--dir DIR]
 * mlauditd comes from --mlauditd, else $MLAUDITD, else ./build/ledger/mlauditd.
 * Every loop is bounded in count and in time. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "client/client.h"
#include "codec/codec.h"
#include "log/log.h"
#include "bench_daemon.h"
#include "bench_util.h"

extern char **environ;

#define ORIGIN "bench.mlaudit.example/log"
#define CLIENTS 16
#define BATCH 256
#define ECHO_METHOD "/bench.Echo/Echo"
#define ECHO_BYTES 512

static const char *mlauditd_path;
static long n_cores;

/* ---- the echo server (child process) -------------------------------------- */

typedef struct echo_call {
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    gpr_timespec deadline; /* written by gRPC when the call arrives */
    int cancelled;
    bool answering;
} echo_call;

typedef struct echo_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    void *method;
} echo_server;

static void echo_request(echo_server *e)
{
    echo_call *c = calloc(1, sizeof *c);
    if (!c) BENCH_DIE("echo: out of memory");
    grpc_metadata_array_init(&c->md);
    if (grpc_server_request_registered_call(e->server, e->method, &c->call, &c->deadline, &c->md,
                                            &c->payload, e->cq, e->cq, c) != GRPC_CALL_OK)
        BENCH_DIE("echo: request_registered_call refused");
}

/* Answer with the request bytes: one batch, then free on its completion. */
static void *echo_cq_main(void *arg)
{
    echo_server *e = arg;
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(e->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE) return NULL;
        echo_call *c = ev.tag;
        if (!c->answering) {
            if (!ev.success) return NULL; /* shutting down */
            echo_request(e);
            c->answering = true;
            grpc_op ops[4];
            memset(ops, 0, sizeof ops);
            ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
            ops[1].op = GRPC_OP_SEND_MESSAGE;
            ops[1].data.send_message.send_message = c->payload;
            ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
            ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
            ops[3].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
            ops[3].data.recv_close_on_server.cancelled = &c->cancelled;
            if (grpc_call_start_batch(c->call, ops, c->payload ? 4 : 3, c, NULL) != GRPC_CALL_OK)
                BENCH_DIE("echo: start_batch refused");
            continue;
        }
        if (c->payload) grpc_byte_buffer_destroy(c->payload);
        grpc_call_unref(c->call);
        grpc_metadata_array_destroy(&c->md);
        free(c);
    }
}

/* Serve until `ctl` reaches EOF (the parent closed it), then exit. */
static void echo_server_main(int ctl, int port_out)
{
    grpc_init();
    echo_server e;
    e.server = grpc_server_create(NULL, NULL);
    e.cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(e.server, e.cq, NULL);
    e.method = grpc_server_register_method(e.server, ECHO_METHOD, NULL,
                                           GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(e.server, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    if (port <= 0) BENCH_DIE("echo: cannot bind 127.0.0.1:0");
    grpc_server_start(e.server);
    for (int i = 0; i < 4 * CLIENTS; i++) echo_request(&e);
    pthread_t t[16];
    long n = n_cores < 1 ? 1 : n_cores > 16 ? 16 : n_cores;
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, echo_cq_main, &e) != 0) BENCH_DIE("echo: pthread_create");
    if (write(port_out, &port, sizeof port) != (ssize_t)sizeof port) BENCH_DIE("echo: write port");
    char b;
    while (read(ctl, &b, 1) > 0) continue;
    _exit(0);
}

typedef struct echo_child {
    pid_t pid;
    int ctl;
    char target[64];
} echo_child;

/* Fork the echo server before this process calls grpc_init (gRPC's threads
 * do not survive a fork). */
static void echo_child_start(echo_child *ec)
{
    int ctl[2], port[2];
    if (pipe(ctl) != 0 || pipe(port) != 0) BENCH_DIE("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) BENCH_DIE("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(ctl[1]);
        close(port[0]);
        echo_server_main(ctl[0], port[1]);
    }
    close(ctl[0]);
    close(port[1]);
    int p = 0;
    if (read(port[0], &p, sizeof p) != (ssize_t)sizeof p) BENCH_DIE("echo server did not start");
    close(port[0]);
    ec->pid = pid;
    ec->ctl = ctl[1];
    snprintf(ec->target, sizeof ec->target, "127.0.0.1:%d", p);
}

static void echo_child_stop(echo_child *ec)
{
    close(ec->ctl);
    int status;
    waitpid(ec->pid, &status, 0);
}

typedef struct echo_arg {
    const char *target;
    long max;
    double max_s;
    int64_t t0;
    long done;
} echo_arg;

static void *echo_client_main(void *arg)
{
    echo_arg *a = arg;
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(a->target, creds, NULL);
    grpc_channel_credentials_release(creds);
    uint8_t msg[ECHO_BYTES];
    memset(msg, 0x42, sizeof msg);
    while (a->done < a->max && bench_secs_since(a->t0) < a->max_s) {
        grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
        gpr_timespec deadline =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(10000, GPR_TIMESPAN));
        grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                                   grpc_slice_from_static_string(ECHO_METHOD), NULL,
                                                   deadline, NULL);
        grpc_slice s = grpc_slice_from_copied_buffer((const char *)msg, sizeof msg);
        grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1), *recv = NULL;
        grpc_slice_unref(s);
        grpc_metadata_array md_init, md_trail;
        grpc_metadata_array_init(&md_init);
        grpc_metadata_array_init(&md_trail);
        grpc_status_code status = GRPC_STATUS_UNKNOWN;
        grpc_slice details = grpc_empty_slice();
        grpc_op ops[6];
        memset(ops, 0, sizeof ops);
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[1].op = GRPC_OP_SEND_MESSAGE;
        ops[1].data.send_message.send_message = send;
        ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
        ops[4].op = GRPC_OP_RECV_MESSAGE;
        ops[4].data.recv_message.recv_message = &recv;
        ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
        ops[5].data.recv_status_on_client.status = &status;
        ops[5].data.recv_status_on_client.status_details = &details;
        if (grpc_call_start_batch(call, ops, 6, call, NULL) != GRPC_CALL_OK)
            BENCH_DIE("echo client: start_batch refused");
        grpc_event ev =
            grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE || status != GRPC_STATUS_OK || !recv ||
            grpc_byte_buffer_length(recv) != ECHO_BYTES)
            BENCH_DIE("echo client: call failed (status %d: %.*s)", (int)status,
                      (int)GRPC_SLICE_LENGTH(details), (const char *)GRPC_SLICE_START_PTR(details));
        grpc_byte_buffer_destroy(send);
        grpc_byte_buffer_destroy(recv);
        grpc_slice_unref(details);
        grpc_metadata_array_destroy(&md_init);
        grpc_metadata_array_destroy(&md_trail);
        grpc_call_unref(call);
        grpc_completion_queue_shutdown(cq);
        while (
            grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
            GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(cq);
        a->done++;
    }
    grpc_channel_destroy(ch);
    return NULL;
}

static double bench_echo(const char *target)
{
    grpc_init();
    echo_arg a[CLIENTS];
    pthread_t t[CLIENTS];
    long total = 0;
    int64_t t0 = mla_time_mono_ns();
    for (int i = 0; i < CLIENTS; i++) {
        a[i] = (echo_arg){target, bench_smoke ? 20 : 1000000, bench_smoke ? 2.0 : 4.0, t0, 0};
        if (pthread_create(&t[i], NULL, echo_client_main, &a[i]) != 0) BENCH_DIE("pthread_create");
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        total += a[i].done;
    }
    double rate = (double)total / bench_secs_since(t0);
    grpc_shutdown();
    return rate;
}

/* ---- same-run limits of the core -------------------------------------------- */

/* ---- envelopes ---------------------------------------------------------------- */

/* CPU seconds used so far by process pid (from /proc) and by this one, to
 * show where the shared cores went during a phase. */
static double cpu_of_pid(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct cpu_mark {
    double daemon, self;
    int64_t t0;
} cpu_mark;

static cpu_mark cpu_start(pid_t daemon)
{
    return (cpu_mark){cpu_of_pid(daemon), cpu_self(), mla_time_mono_ns()};
}

static void cpu_print(const cpu_mark *m, pid_t daemon, double ops)
{
    double el = bench_secs_since(m->t0), dd = cpu_of_pid(daemon) - m->daemon,
           ds = cpu_self() - m->self;
    printf("    cpu: mlauditd %.2f cores, clients %.2f cores (of %ld); per call %.2f ms daemon, "
           "%.2f ms client\n",
           dd / el, ds / el, n_cores, ops > 0 ? 1e3 * dd / ops : 0, ops > 0 ? 1e3 * ds / ops : 0);
}

/* ---- appends over gRPC -------------------------------------------------------------- */

typedef struct appender {
    const bench_daemon *d;
    mla_buf *envs; /* this thread's */
    size_t count;
    double max_s;
    int64_t t0;
    int64_t interval_ns; /* open loop: one call per interval; 0 = closed loop */
    int64_t offset_ns;
    int64_t *lat_ns; /* count slots */
    size_t done;
} appender;

static void *append_main(void *arg)
{
    appender *a = arg;
    mla_client *c = bench_daemon_client(a->d);
    mla_receipt *r = malloc(sizeof *r);
    bench_sleep_ns(a->t0 - mla_time_mono_ns()); /* every thread starts at t0 */
    for (size_t i = 0; i < a->count && bench_secs_since(a->t0) < a->max_s; i++) {
        /* Open loop: latency counts from the planned send time, so a slow
         * answer delays the next call's clock, not the measurement. */
        int64_t planned = a->interval_ns ? a->t0 + a->offset_ns + (int64_t)i * a->interval_ns
                                         : mla_time_mono_ns();
        bench_sleep_ns(planned - mla_time_mono_ns());
        CHECK(mla_client_append(c, mla_buf_slice(&a->envs[i]), r));
        if (a->lat_ns) a->lat_ns[i] = mla_time_mono_ns() - planned;
        a->done++;
    }
    free(r);
    mla_client_close(c);
    return NULL;
}

/* `clients` threads, each its own mla_client, over envs split evenly;
 * returns appends/s (and the latencies, when lat is not NULL). */
static double run_appends(const bench_daemon *d, mla_buf *envs, size_t n, int clients, double max_s,
                          double rate, int64_t *lat, size_t *n_lat)
{
    appender a[CLIENTS];
    pthread_t t[CLIENTS];
    size_t per = n / (size_t)clients, total = 0;
    int64_t t0 = mla_time_mono_ns() + 50000000; /* every thread starts its clock together */
    for (int i = 0; i < clients; i++) {
        a[i] = (appender){.d = d,
                          .envs = envs + (size_t)i * per,
                          .count = per,
                          .max_s = max_s + 0.05,
                          .t0 = t0,
                          .lat_ns = lat ? lat + (size_t)i * per : NULL};
        if (rate > 0) {
            a[i].interval_ns = (int64_t)(1e9 * clients / rate);
            a[i].offset_ns = a[i].interval_ns * i / clients;
        }
        if (pthread_create(&t[i], NULL, append_main, &a[i]) != 0) BENCH_DIE("pthread_create");
    }
    for (int i = 0; i < clients; i++) pthread_join(t[i], NULL);
    double el = bench_secs_since(t0);
    if (lat) {
        /* Compact the measured latencies to the front. */
        size_t k = 0;
        for (int i = 0; i < clients; i++)
            for (size_t j = 0; j < a[i].done; j++) lat[k++] = lat[(size_t)i * per + j];
        *n_lat = k;
    }
    for (int i = 0; i < clients; i++) total += a[i].done;
    return (double)total / el;
}

/* Pre-sign envelopes from index `first` on 2 threads (signing is the
 * client's cost, not the ledger's). */
typedef struct signer {
    mla_buf *envs;
    const mla_privkey *k;
    uint64_t first;
    size_t from, to;
} signer;

static void *sign_main(void *arg)
{
    signer *s = arg;
    for (size_t i = s->from; i < s->to; i++) {
        char name[32];
        snprintf(name, sizeof name, "model-%llu", (unsigned long long)(s->first + i));
        bench_envelope(&s->envs[i], s->k, NULL, name, "1", 300);
    }
    return NULL;
}

static mla_buf *sign_envelopes(const mla_privkey *k, uint64_t first, size_t n)
{
    mla_buf *envs = calloc(n ? n : 1, sizeof *envs);
    if (!envs) BENCH_DIE("out of memory");
    signer s[2] = {{envs, k, first, 0, n / 2}, {envs, k, first, n / 2, n}};
    pthread_t t;
    if (pthread_create(&t, NULL, sign_main, &s[1]) != 0) BENCH_DIE("pthread_create");
    sign_main(&s[0]);
    pthread_join(t, NULL);
    return envs;
}

static void free_envelopes(mla_buf *envs, size_t n)
{
    for (size_t i = 0; i < n; i++) mla_buf_dispose(&envs[i]);
    free(envs);
}

/* ---- a large log built offline ----------------------------------------------------- */

typedef struct builder {
    mla_log *log;
    const char *keyid;
    atomic_uint_fast64_t *next; /* next batch number */
    uint64_t max_batches;
    double max_s;
    int64_t t0;
} builder;

static void *build_main(void *arg)
{
    builder *b = arg;
    mla_buf envs[BATCH];
    mla_slice sl[BATCH];
    mla_receipt *r = malloc(BATCH * sizeof *r);
    if (!r) BENCH_DIE("out of memory");
    for (;;) {
        uint64_t k = atomic_fetch_add(b->next, 1);
        if (k >= b->max_batches || bench_secs_since(b->t0) > b->max_s) break;
        for (int i = 0; i < BATCH; i++) {
            /* Small entries: the proofs read tree nodes, not entries. */
            {
                char name[32];
                snprintf(name, sizeof name, "model-%llu",
                         (unsigned long long)(10000000 + k * BATCH + (uint64_t)i));
                bench_envelope(&envs[i], NULL, b->keyid, name, "1", 16);
            }
            sl[i] = mla_buf_slice(&envs[i]);
        }
        CHECK(mla_log_append_batch(b->log, sl, BATCH, mla_slice_cstr("bench-builder"), r));
        for (int i = 0; i < BATCH; i++) mla_buf_dispose(&envs[i]);
    }
    free(r);
    return NULL;
}

/* Build the daemon's store offline with the log library, signature checks
 * skipped (the envelopes carry zero signatures): `want` entries or as many
 * as fit in max_s. Returns the size reached. */
static uint64_t build_log(bench_daemon *d, uint64_t want, double max_s, double *secs)
{
    mla_store *s = NULL;
    mla_log *log = NULL;
    bench_daemon_open_log(d, &s, &log);
    char keyid[65];
    mla_crypto_keyid(keyid, mla_crypto_key_public(d->admin));
    atomic_uint_fast64_t next;
    atomic_init(&next, 0);
    builder b = {log, keyid, &next, (want + BATCH - 1) / BATCH, max_s, mla_time_mono_ns()};
    enum { BUILDERS = 6 };
    pthread_t t[BUILDERS];
    for (int i = 0; i < BUILDERS; i++)
        if (pthread_create(&t[i], NULL, build_main, &b) != 0) BENCH_DIE("pthread_create");
    for (int i = 0; i < BUILDERS; i++) pthread_join(t[i], NULL);
    *secs = bench_secs_since(b.t0);
    uint64_t size = mla_log_size(log);
    mla_log_close(log);
    mla_store_close(s);
    return size;
}

typedef struct prover {
    const bench_daemon *d;
    uint64_t size;
    long max;
    double max_s;
    int64_t t0;
    uint64_t rng;
    long done;
} prover;

static void *prove_main(void *arg)
{
    prover *p = arg;
    mla_client *c = bench_daemon_client(p->d);
    while (p->done < p->max && bench_secs_since(p->t0) < p->max_s) {
        p->rng ^= p->rng << 13, p->rng ^= p->rng >> 7, p->rng ^= p->rng << 17;
        mla_merkle_proof pr;
        mla_hash leaf;
        uint64_t size;
        CHECK(mla_client_inclusion_proof(c, p->rng % p->size, 0, &pr, &leaf, &size));
        p->done++;
    }
    mla_client_close(c);
    return NULL;
}

static double run_proofs(const bench_daemon *d, uint64_t size)
{
    prover p[CLIENTS];
    pthread_t t[CLIENTS];
    long total = 0;
    int64_t t0 = mla_time_mono_ns();
    for (int i = 0; i < CLIENTS; i++) {
        p[i] = (prover){d,
                        size,
                        bench_smoke ? 20 : 1000000,
                        bench_smoke ? 2.0 : 5.0,
                        t0,
                        88172645463325252u + (uint64_t)i * 7919,
                        0};
        if (pthread_create(&t[i], NULL, prove_main, &p[i]) != 0) BENCH_DIE("pthread_create");
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        total += p[i].done;
    }
    return (double)total / bench_secs_since(t0);
}

/* ---- main ------------------------------------------------------------------------------ */

static const char *verdict(double value, double target)
{
    return value >= target ? "met" : "MISSED";
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, &mlauditd_path, NULL);
    n_cores = sysconf(_SC_NPROCESSORS_ONLN);
    echo_child ec;
    echo_child_start(&ec); /* before this process starts gRPC */
    CHECK(mla_crypto_init());
    printf("mlaudit gRPC benchmark (%s), %ld cores, loopback, mlauditd %s, store dir %s\n",
           bench_smoke ? "smoke" : "full", n_cores, mlauditd_path, bench_workdir);
    printf("(client threads, the daemon and the echo server share these cores)\n");

    printf("\n-- limits, this run --\n");
    double echo = bench_echo(ec.target);
    echo_child_stop(&ec);
    printf("gRPC unary echo (512 B, %d outstanding)  %10.0f calls/s\n", CLIENTS, echo);
    double ver = bench_verify();
    double verify_cores = ver * (double)n_cores;
    printf("Ed25519 verify (512 B, 1 core)          %10.0f /s; x %ld cores = %.0f /s\n", ver,
           n_cores, verify_cores);
    double ldb = bench_leveldb_batches();
    printf("LevelDB synced batch (256 puts)         %10.1f batches/s\n", ldb);
    double limit = echo < verify_cores ? echo : verify_cores;
    printf("append limit min(echo, cores x verify)  %10.0f /s (%s)\n", limit,
           echo < verify_cores ? "gRPC" : "signature checks");

    mla_privkey *signer_key = bench_key_from_byte(1);
    size_t n1 = bench_smoke ? 16 : 3000, n16 = bench_smoke ? 64 : 16000, nb = bench_smoke ? 1 : 16;
    size_t n_half = bench_smoke ? 64 : 12000;
    int64_t t_sign = mla_time_mono_ns();
    mla_buf *e1 = sign_envelopes(signer_key, 0, n1);
    mla_buf *e16 = sign_envelopes(signer_key, n1, n16);
    mla_buf *eb = sign_envelopes(signer_key, n1 + n16, nb * BATCH);
    mla_buf *eh = sign_envelopes(signer_key, n1 + n16 + nb * BATCH, n_half);
    printf("(pre-signed %zu envelopes of ~512 B in %.1f s on 2 threads)\n",
           n1 + n16 + nb * BATCH + n_half, bench_secs_since(t_sign));

    printf("\n-- appends over gRPC (mlauditd, LevelDB, synced group commit) --\n");
    bench_daemon d;
    bench_daemon_init(&d, bench_tmpdir_new("grpc"), ORIGIN);
    bench_daemon_start(&d, mlauditd_path, NULL);
    cpu_mark m = cpu_start(d.pid);
    double r1 = run_appends(&d, e1, n1, 1, bench_smoke ? 2.0 : 5.0, 0, NULL, NULL);
    printf("Append, 1 client                        %10.0f /s = %5.1f%% of the limit\n", r1,
           100 * r1 / limit);
    cpu_print(&m, d.pid, r1 * bench_secs_since(m.t0));
    m = cpu_start(d.pid);
    double r16 = run_appends(&d, e16, n16, CLIENTS, bench_smoke ? 2.0 : 8.0, 0, NULL, NULL);
    printf("Append, %d clients                      %10.0f /s = %5.1f%% of the limit (target >= "
           "80%%: %s)\n",
           CLIENTS, r16, 100 * r16 / limit, verdict(r16, 0.8 * limit));
    cpu_print(&m, d.pid, r16 * bench_secs_since(m.t0));
    {
        mla_client *c = bench_daemon_client(&d);
        mla_slice sl[BATCH];
        mla_receipt *r = malloc(BATCH * sizeof *r);
        size_t done = 0;
        int64_t t0 = mla_time_mono_ns();
        for (size_t b = 0; b < nb && bench_secs_since(t0) < 10.0; b++) {
            for (size_t i = 0; i < BATCH; i++) sl[i] = mla_buf_slice(&eb[b * BATCH + i]);
            CHECK(mla_client_append_batch(c, sl, BATCH, r));
            done++;
        }
        double el = bench_secs_since(t0);
        printf("AppendBatch of %d, 1 client            %10.1f batches/s = %.0f envelopes/s = "
               "%5.1f%% of cores x verify\n",
               BATCH, (double)done / el, (double)done * BATCH / el,
               100 * (double)done * BATCH / el / verify_cores);
        free(r);
        mla_client_close(c);
    }
    {
        double rate = r16 / 2;
        int64_t *lat = calloc(n_half, sizeof *lat);
        size_t n_lat = 0;
        double secs = bench_smoke ? 1.0 : 5.0;
        size_t use = (size_t)(rate * secs);
        if (use > n_half) use = n_half;
        if (use < CLIENTS) use = CLIENTS;
        double got = run_appends(&d, eh, use, CLIENTS, secs + 5, rate, lat, &n_lat);
        double p50 = (double)bench_percentile(lat, n_lat, 50) / 1e6;
        double p99 = (double)bench_percentile(lat, n_lat, 99) / 1e6;
        printf("time to receipt at %.0f/s (half of the %d-client rate; got %.0f/s, %zu calls): "
               "p50 %.2f ms, p99 %.2f ms (target p99 <= 10 ms: %s)\n",
               rate, CLIENTS, got, n_lat, p50, p99, verdict(10.0, p99));
        free(lat);
    }
    bench_daemon_dispose(&d);

    printf("\n-- inclusion proofs over gRPC --\n");
    {
        bench_daemon big;
        bench_daemon_init(&big, bench_tmpdir_new("proofs"), ORIGIN);
        double build_s = 0;
        uint64_t want = bench_smoke ? 4096 : 1000000;
        uint64_t size = build_log(&big, want, bench_smoke ? 30.0 : 120.0, &build_s);
        printf("built a %llu-entry log offline in %.1f s (%.0f entries/s, log library, "
               "AppendBatch of %d from 6 threads, signature checks skipped)%s\n",
               (unsigned long long)size, build_s, (double)size / build_s, BATCH,
               size < want ? " -- stopped at the time cap, short of 1M" : "");
        bench_daemon_start(&big, mlauditd_path, NULL);
        double pr = run_proofs(&big, size);
        printf("GetInclusionProof at %llu entries, %d clients %10.0f /s = %5.1f%% of gRPC echo "
               "(target >= 50%%: %s)\n",
               (unsigned long long)size, CLIENTS, pr, 100 * pr / echo, verdict(pr, 0.5 * echo));
        bench_daemon_dispose(&big);
    }

    free_envelopes(e1, n1);
    free_envelopes(e16, n16);
    free_envelopes(eb, nb * BATCH);
    free_envelopes(eh, n_half);
    mla_crypto_key_free(signer_key);
    return 0;
}
