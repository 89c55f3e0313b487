/* bench_util: same-run limits and scaffolding shared by the benchmarks. */
#include "bench_util.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "store/store.h"

bool bench_smoke;
char bench_workdir[4096] = "/tmp";

void bench_args(int argc, char **argv, const char **mlauditd_out, const char **data_out)
{
    if (mlauditd_out) {
        *mlauditd_out = getenv("MLAUDITD");
        if (!*mlauditd_out || !**mlauditd_out) *mlauditd_out = "./build/ledger/mlauditd";
    }
    if (data_out) *data_out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) {
            bench_smoke = true;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            snprintf(bench_workdir, sizeof bench_workdir, "%s", argv[++i]);
        } else if (mlauditd_out && !strcmp(argv[i], "--mlauditd") && i + 1 < argc) {
            *mlauditd_out = argv[++i];
        } else if (data_out && !strcmp(argv[i], "--data") && i + 1 < argc) {
            *data_out = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--smoke]%s [--dir DIR]%s\n", argv[0],
                    mlauditd_out ? " [--mlauditd PATH]" : "", data_out ? " [--data DIR]" : "");
            exit(2);
        }
    }
    if (mlauditd_out && access(*mlauditd_out, X_OK) != 0)
        BENCH_DIE("%s: not an executable (give --mlauditd PATH or set MLAUDITD)", *mlauditd_out);
}

double bench_secs_since(int64_t t0) { return (double)(mla_time_mono_ns() - t0) / 1e9; }

void bench_sleep_ns(int64_t ns)
{
    if (ns <= 0) return;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) continue;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int64_t bench_percentile(int64_t *v, size_t n, double p)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t i = (size_t)((double)n * p / 100.0);
    return v[i < n ? i : n - 1];
}

mla_privkey *bench_key_from_byte(uint8_t b)
{
    uint8_t seed[32];
    mla_privkey *k = NULL;
    memset(seed, b, sizeof seed);
    CHECK(mla_crypto_key_from_seed(&k, seed));
    return k;
}

char *bench_tmpdir_new(const char *tag)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/mlaudit-bench-%s-XXXXXX", bench_workdir, tag);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        exit(1);
    }
    return strdup(path);
}

void bench_rmtree(const char *path)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
}

double bench_sha256_512(void)
{
    uint8_t buf[512];
    memset(buf, 0x5a, sizeof buf);
    mla_hash h;
    long n = 0, max = bench_smoke ? 20000 : 2000000;
    int64_t t0 = mla_time_mono_ns();
    while (n < max && (n % 1024 || bench_secs_since(t0) < 2.0)) {
        buf[0] = (uint8_t)n;
        mla_crypto_sha256(&h, mla_slice_make(buf, sizeof buf));
        n++;
    }
    return (double)n / bench_secs_since(t0);
}

double bench_verify(void)
{
    mla_privkey *k = bench_key_from_byte(9);
    uint8_t msg[512], sig[64];
    memset(msg, 1, sizeof msg);
    CHECK(mla_crypto_sign(sig, k, mla_slice_make(msg, sizeof msg)));
    long n = 0, max = bench_smoke ? 200 : 50000;
    int64_t t0 = mla_time_mono_ns();
    while (n < max && (n % 64 || bench_secs_since(t0) < 2.0)) {
        CHECK(mla_crypto_verify(mla_crypto_key_public(k), mla_slice_make(msg, sizeof msg),
                                mla_slice_make(sig, 64)));
        n++;
    }
    mla_crypto_key_free(k);
    return (double)n / bench_secs_since(t0);
}

double bench_sign(void)
{
    mla_privkey *k = bench_key_from_byte(9);
    uint8_t msg[512], sig[64];
    memset(msg, 1, sizeof msg);
    long n = 0, max = bench_smoke ? 200 : 20000;
    int64_t t0 = mla_time_mono_ns();
    while (n < max && (n % 64 || bench_secs_since(t0) < 1.0)) {
        msg[0] = (uint8_t)n;
        CHECK(mla_crypto_sign(sig, k, mla_slice_make(msg, sizeof msg)));
        n++;
    }
    mla_crypto_key_free(k);
    return (double)n / bench_secs_since(t0);
}

double bench_leveldb_batches(void)
{
    char *dir = bench_tmpdir_new("ldb");
    mla_store *s = NULL;
    mla_store_leveldb_options o = {.create_if_missing = true, .bloom_bits_per_key = 10};
    CHECK(mla_store_open_leveldb(&s, dir, &o));
    uint8_t key[16], val[600];
    memset(val, 7, sizeof val);
    mla_store_batch *b = NULL;
    CHECK(mla_store_batch_new(&b));
    long n = 0, max = bench_smoke ? 20 : 5000;
    int64_t t0 = mla_time_mono_ns();
    while (n < max && bench_secs_since(t0) < 3.0) {
        mla_store_batch_clear(b);
        for (int i = 0; i < 256; i++) {
            mla_put_be64(key, (uint64_t)n);
            mla_put_be64(key + 8, (uint64_t)i);
            CHECK(mla_store_batch_put(b, mla_slice_make(key, 16), mla_slice_make(val, sizeof val)));
        }
        CHECK(mla_store_write(s, b, true));
        n++;
    }
    double rate = (double)n / bench_secs_since(t0);
    mla_store_batch_free(b);
    mla_store_close(s);
    bench_rmtree(dir);
    free(dir);
    return rate;
}

mla_pb_artifact *bench_art_set(bench_art *s, const char *type, const char *name,
                               const char *version)
{
    mla_pb_artifact a0 = MLAUDIT__V1__ARTIFACT__INIT;
    s->a = a0;
    snprintf(s->type, sizeof s->type, "%s", type);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->version, sizeof s->version, "%s", version);
    char id[160];
    snprintf(id, sizeof id, "%s:%s@%s", type, name, version);
    mla_hash h;
    mla_crypto_sha256(&h, mla_slice_cstr(id));
    memcpy(s->digest, h.b, 32);
    s->a.type = s->type;
    s->a.name = s->name;
    s->a.version = s->version;
    s->a.digest.data = s->digest;
    s->a.digest.len = 32;
    return &s->a;
}

void bench_envelope_sign(mla_buf *out, const mla_pb_change *c, const mla_privkey *k)
{
    mla_buf_init(out, MLA_LIMIT_ENVELOPE_BYTES);
    CHECK(mla_client_envelope_sign(out, c, &k, 1));
}

void bench_envelope(mla_buf *out, const mla_privkey *k, const char *keyid, const char *name,
                    const char *version, size_t pad_len)
{
    char pad[600], id[128];
    mla_hash digest;
    if (pad_len >= sizeof pad) pad_len = sizeof pad - 1;
    memset(pad, 'x', pad_len);
    pad[pad_len] = '\0';
    snprintf(id, sizeof id, "model:%s@%s", name, version);
    mla_crypto_sha256(&digest, mla_slice_cstr(id));
    Mlaudit__V1__Change c = MLAUDIT__V1__CHANGE__INIT;
    Mlaudit__V1__Artifact a = MLAUDIT__V1__ARTIFACT__INIT, data = MLAUDIT__V1__ARTIFACT__INIT;
    Mlaudit__V1__Input in = MLAUDIT__V1__INPUT__INIT, *inp = &in;
    /* A MODEL names what it was built from (the codec requires an input). */
    data.type = (char *)(uintptr_t) "dataset";
    data.name = (char *)(uintptr_t) "bench-data";
    data.version = (char *)(uintptr_t) "1";
    in.artifact = &data;
    in.role = (char *)(uintptr_t) "training-data";
    c.inputs = &inp;
    c.n_inputs = 1;
    a.type = (char *)(uintptr_t) "model";
    a.name = (char *)(uintptr_t)name;
    a.version = (char *)(uintptr_t)version;
    a.digest.data = digest.b;
    a.digest.len = 32;
    c.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    c.subject = &a;
    c.actor = (char *)(uintptr_t) "bench@example.com";
    c.reason = pad;
    mla_buf_init(out, 1 << 16);
    if (k) {
        CHECK(mla_client_envelope_sign(out, &c, &k, 1));
        return;
    }
    mla_buf payload;
    mla_buf_init(&payload, 1 << 16);
    CHECK(mla_codec_change_encode(&payload, &c));
    uint8_t sig[64] = {0};
    Mlaudit__V1__Signature s = MLAUDIT__V1__SIGNATURE__INIT, *sp = &s;
    s.sig.data = sig;
    s.sig.len = 64;
    s.keyid = (char *)(uintptr_t)keyid;
    Mlaudit__V1__Envelope e = MLAUDIT__V1__ENVELOPE__INIT;
    e.payload.data = payload.ptr;
    e.payload.len = payload.len;
    e.payload_type = (char *)(uintptr_t)MLA_PAYLOAD_TYPE_CHANGE;
    e.signatures = &sp;
    e.n_signatures = 1;
    CHECK(mla_codec_envelope_encode(out, &e));
    mla_buf_dispose(&payload);
}
