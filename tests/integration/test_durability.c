/* Durability suite (SPEC §5) against a real mlauditd: kill -9 during a
 * 16-client append load, SIGTERM during load, and retried envelopes.
 * The daemon comes from $MLAUDITD and runs --insecure on 127.0.0.1:0 in
 * a mkdtemp directory; its data directory survives every restart.
 * Every wait polls with a deadline; the only sleeps are the random load
 * durations before a kill, which are what the test varies. $MLA_SEED fixes
 * the random choices (each test prints the seed it used). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "log/log.h"
#include "store/store.h"
#include "daemon_util.h"
#include "testutil.h"

#define ORIGIN "durability.mlaudit.example/log"
#define LOADERS 16
/* Envelopes each loader has ready per round: more than a 300 ms burst
 * takes on this kind of machine, so the kill lands mid-load. */
#define PER_LOADER 48
#define KILL_ROUNDS 20
#define TERM_ROUNDS 3
#define CALL_TIMEOUT_MS 10000
#define START_TIMEOUT_NS (20 * 1000000000LL)

/* ---- keys and envelopes ------------------------------------------------- */

/* A signed MODEL envelope for "<tag>" version 1, into out (initialised). */
static void envelope_model(mla_buf *out, const mla_privkey *k, const char *tag)
{
    td_model m;
    td_model_change(&m, tag, "1");
    mla_hash h;
    mla_crypto_sha256(&h, mla_slice_cstr(tag));
    memcpy(m.digest, h.b, sizeof m.digest);
    m.c.actor = (char *)(uintptr_t) "durability@example.com";
    m.c.reason = (char *)(uintptr_t) "durability test";
    mla_buf_init(out, 1 << 20);
    tu_assert_ok(mla_client_envelope_sign(out, &m.c, &k, 1));
}

static uint64_t test_seed(void)
{
    const char *s = getenv("MLA_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)mla_time_now_ns();
    if (seed == 0) seed = 1;
    fprintf(stderr, "test_durability: MLA_SEED=%llu\n", (unsigned long long)seed);
    return seed;
}

/* ---- the daemon --------------------------------------------------------- */

/* The daemon, started from flags; its data directory survives restarts. */
typedef td_daemon ledgerd;

static mla_client *ledgerd_client(ledgerd *d)
{
    return td_client(d, &d->verifier, CALL_TIMEOUT_MS);
}

static void checkpoint_of(mla_client *c, mla_checkpoint *cp)
{
    mla_buf note;
    mla_buf_init(&note, 1 << 16);
    tu_assert_ok(mla_client_checkpoint(c, &note, cp));
    cp->n_extensions = 0; /* borrowed from note */
    mla_buf_dispose(&note);
}

/* ---- the load ----------------------------------------------------------- */

typedef struct ack {
    uint64_t seq, tree_size;
    mla_hash leaf, root;
    size_t env; /* index into the loader's envelopes */
} ack;

typedef struct loader {
    ledgerd *d;
    mla_buf envs[PER_LOADER];
    size_t n_sent; /* calls started: acked, plus at most one that failed */
    ack acks[PER_LOADER];
    size_t n_acked;
    mla_status fail_rc; /* MLA_OK: ran out of envelopes or was told to stop */
    char fail_msg[MLA_ERROR_MSG_MAX];
    atomic_bool *stop;
    atomic_size_t *total_acked;
    pthread_t thread;
} loader;

static void *loader_main(void *arg)
{
    loader *l = arg;
    mla_client *c = NULL;
    mla_client_options o = {.target = l->d->target,
                            .insecure = true,
                            .verifier = &l->d->verifier,
                            .timeout_ms = CALL_TIMEOUT_MS};
    l->fail_rc = mla_client_open(&c, &o);
    for (size_t i = 0; l->fail_rc == MLA_OK && i < PER_LOADER && !atomic_load(l->stop); i++) {
        mla_receipt r;
        l->n_sent++;
        l->fail_rc = mla_client_append(c, mla_buf_slice(&l->envs[i]), &r);
        if (l->fail_rc != MLA_OK) break;
        l->acks[l->n_acked++] = (ack){r.seq, r.tree_size, r.leaf_hash, r.root, i};
        atomic_fetch_add(l->total_acked, 1);
    }
    if (l->fail_rc != MLA_OK)
        snprintf(l->fail_msg, sizeof l->fail_msg, "%s", mla_error_last()->msg);
    mla_client_close(c);
    return NULL;
}

typedef struct load {
    loader l[LOADERS];
    atomic_bool stop;
    atomic_size_t total_acked;
} load;

/* Sign every loader's envelopes for `round` (distinct across rounds). */
static void load_prepare(load *ld, ledgerd *d, const char *test, int round)
{
    memset(ld, 0, sizeof *ld);
    atomic_init(&ld->stop, false);
    atomic_init(&ld->total_acked, 0);
    for (int t = 0; t < LOADERS; t++) {
        loader *l = &ld->l[t];
        l->d = d;
        l->stop = &ld->stop;
        l->total_acked = &ld->total_acked;
        for (int i = 0; i < PER_LOADER; i++) {
            char tag[96];
            snprintf(tag, sizeof tag, "%s-r%d-t%d-%d", test, round, t, i);
            envelope_model(&l->envs[i], d->admin, tag);
        }
    }
}

static void load_start(load *ld)
{
    for (int t = 0; t < LOADERS; t++)
        ck_assert(pthread_create(&ld->l[t].thread, NULL, loader_main, &ld->l[t]) == 0);
}

/* Wait until `n` appends were acknowledged (bounded). */
static void load_wait_acked(load *ld, ledgerd *d, size_t n)
{
    int64_t give_up = mla_time_mono_ns() + START_TIMEOUT_NS;
    while (atomic_load(&ld->total_acked) < n && mla_time_mono_ns() < give_up) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(atomic_load(&ld->total_acked) >= n,
                  "only %zu of %zu appends acknowledged in 20 s; daemon log:\n%s",
                  atomic_load(&ld->total_acked), n, td_log_tail(d));
}

/* Every call is bounded by CALL_TIMEOUT_MS, so the joins are too. */
static void load_join(load *ld)
{
    atomic_store(&ld->stop, true);
    for (int t = 0; t < LOADERS; t++) pthread_join(ld->l[t].thread, NULL);
}

static void load_dispose(load *ld)
{
    for (int t = 0; t < LOADERS; t++)
        for (int i = 0; i < PER_LOADER; i++) mla_buf_dispose(&ld->l[t].envs[i]);
}

/* ---- checks after a restart --------------------------------------------- */

static int cmp_ack_size(const void *a, const void *b)
{
    const ack *x = a, *y = b;
    return x->tree_size < y->tree_size ? -1 : x->tree_size > y->tree_size;
}

/* After a restart (the daemon is serving `c`, with no load):
 *  - the checkpoint is at least as large as every receipt's tree and than
 *    `before` (the checkpoint seen at the start of the round), and grew by
 *    no more than the calls started in the round;
 *  - every acknowledged seq is present with its leaf hash, proven against
 *    the checkpoint;
 *  - the checkpoint is consistent with `before` and with every checkpoint a
 *    receipt carried.
 * Then every envelope whose call failed is resent: it must be accepted
 * (it was wholly recorded, or not at all), and an acknowledged one resent
 * must come back with its original seq and leaf. Returns, in *after, the
 * checkpoint after these resends. */
static void check_after_restart(mla_client *c, load *ld, const mla_checkpoint *before,
                                mla_checkpoint *after, int round)
{
    mla_checkpoint now;
    checkpoint_of(c, &now);
    size_t n_acked = 0, n_sent = 0;
    for (int t = 0; t < LOADERS; t++) n_acked += ld->l[t].n_acked, n_sent += ld->l[t].n_sent;
    ck_assert_msg(now.size >= before->size + n_acked && now.size <= before->size + n_sent,
                  "round %d: tree size %llu after restart; before %llu, %zu acknowledged, %zu "
                  "sent",
                  round, (unsigned long long)now.size, (unsigned long long)before->size, n_acked,
                  n_sent);

    ack *all = calloc(n_acked + 1, sizeof *all);
    ck_assert(all != NULL);
    size_t k = 0;
    for (int t = 0; t < LOADERS; t++) {
        for (size_t i = 0; i < ld->l[t].n_acked; i++) {
            const ack *a = &ld->l[t].acks[i];
            ck_assert_msg(a->seq < now.size,
                          "round %d: acknowledged seq %llu is past the tree size %llu", round,
                          (unsigned long long)a->seq, (unsigned long long)now.size);
            mla_merkle_proof p;
            mla_hash leaf;
            uint64_t size = 0;
            tu_assert_ok(mla_client_inclusion_proof(c, a->seq, now.size, &p, &leaf, &size));
            ck_assert_uint_eq(size, now.size);
            ck_assert_msg(mla_hash_eq(&leaf, &a->leaf),
                          "round %d: seq %llu has another leaf hash after the restart", round,
                          (unsigned long long)a->seq);
            tu_assert_ok(mla_merkle_inclusion_verify(&leaf, a->seq, now.size, &p, &now.root));
            all[k++] = *a;
        }
    }
    /* The checkpoints seen, smallest first; one consistency proof per size. */
    all[k++] = (ack){.tree_size = before->size, .root = before->root};
    qsort(all, k, sizeof *all, cmp_ack_size);
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && all[i].tree_size == all[i - 1].tree_size) {
            ck_assert_msg(mla_hash_eq(&all[i].root, &all[i - 1].root),
                          "round %d: two roots for tree size %llu (a fork)", round,
                          (unsigned long long)all[i].tree_size);
            continue;
        }
        mla_checkpoint old = {.size = all[i].tree_size, .root = all[i].root};
        snprintf(old.origin, sizeof old.origin, "%s", ORIGIN);
        mla_status rc = mla_client_consistency_verify(c, &old, &now);
        ck_assert_msg(rc == MLA_OK,
                      "round %d: checkpoint %llu after the restart is not consistent with "
                      "checkpoint %llu seen before: %s",
                      round, (unsigned long long)now.size, (unsigned long long)old.size,
                      mla_error_last()->msg);
    }
    free(all);

    for (int t = 0; t < LOADERS; t++) {
        loader *l = &ld->l[t];
        mla_receipt r;
        if (l->fail_rc != MLA_OK) {
            size_t i = l->n_sent - 1; /* the call that failed */
            mla_status rc = mla_client_append(c, mla_buf_slice(&l->envs[i]), &r);
            ck_assert_msg(rc == MLA_OK, "round %d: resending a failed envelope: %s: %s", round,
                          mla_status_name(rc), mla_error_last()->msg);
        }
        if (l->n_acked > 0) {
            const ack *a = &l->acks[l->n_acked - 1];
            tu_assert_ok(mla_client_append(c, mla_buf_slice(&l->envs[a->env]), &r));
            ck_assert_uint_eq(r.seq, a->seq);
            ck_assert(mla_hash_eq(&r.leaf_hash, &a->leaf));
        }
    }
    checkpoint_of(c, after);
    tu_assert_ok(mla_client_consistency_verify(c, &now, after));
}

/* The store the daemon left passes a full offline audit. */
static void audit_store(ledgerd *d, uint64_t want_size)
{
    char db[4200];
    ck_assert(snprintf(db, sizeof db, "%s/db", d->data) < (int)sizeof db);
    mla_store *s = NULL;
    mla_store_leveldb_options o = {.bloom_bits_per_key = 10};
    tu_assert_ok(mla_store_open_leveldb(&s, db, &o));
    mla_audit_options ao = {.admin_keys = mla_crypto_key_public(d->admin),
                            .n_admin_keys = 1,
                            .log_verifiers = &d->verifier,
                            .n_log_verifiers = 1,
                            .check_signatures = true};
    mla_audit_result res;
    tu_assert_ok(mla_log_audit(&res, s, &ao));
    mla_store_close(s);
    ck_assert_msg(res.ok, "audit: %s (seq %llu)", res.problem,
                  (unsigned long long)res.first_bad_seq);
    ck_assert_uint_eq(res.n_entries, want_size);
    ck_assert_uint_eq(res.checkpoint_size, want_size);
}

/* ---- kill -9 during load ------------------------------------------------ */

START_TEST(test_durability_kill9_during_load)
{
    uint64_t rng = test_seed();
    ledgerd d;
    td_init(&d, ORIGIN);
    td_launch(&d, true);
    mla_checkpoint before = {.size = 0};
    snprintf(before.origin, sizeof before.origin, "%s", ORIGIN);
    mla_merkle_empty_root(&before.root);
    size_t total_acked = 0, total_lost_calls = 0, rounds_mid_load = 0;
    static load ld;
    for (int round = 0; round < KILL_ROUNDS; round++) {
        load_prepare(&ld, &d, "kill", round);
        load_start(&ld);
        load_wait_acked(&ld, &d, LOADERS);
        /* 0-200 ms more of load: the kill lands at a different point of
         * the group-commit cycle each round. */
        td_sleep_ms((int)(tu_rand(&rng) % 200));
        td_kill9(&d);
        load_join(&ld);
        size_t lost_before = total_lost_calls;
        for (int t = 0; t < LOADERS; t++) {
            loader *l = &ld.l[t];
            total_acked += l->n_acked;
            if (l->fail_rc == MLA_OK) continue;
            total_lost_calls++;
            /* The connection went away: UNAVAILABLE (or an in-flight call
             * reset), never a verification failure. */
            ck_assert_msg(l->fail_rc == MLA_EIO, "round %d loader %d: %s: %s", round, t,
                          mla_status_name(l->fail_rc), l->fail_msg);
        }
        if (total_lost_calls > lost_before) rounds_mid_load++;
        td_launch(&d, false);
        mla_client *c = ledgerd_client(&d);
        mla_checkpoint after;
        check_after_restart(c, &ld, &before, &after, round);
        before = after;
        mla_client_close(c);
        load_dispose(&ld);
    }
    /* The test means something only if most kills cut calls off. */
    ck_assert_msg(rounds_mid_load >= KILL_ROUNDS / 2,
                  "only %zu of %d kills landed while calls were in flight", rounds_mid_load,
                  KILL_ROUNDS);
    fprintf(stderr,
            "test_durability: %d kills, %zu appends acknowledged, %zu calls cut off, final tree "
            "size %llu\n",
            KILL_ROUNDS, total_acked, total_lost_calls, (unsigned long long)before.size);
    td_terminate(&d);
    audit_store(&d, before.size);
    td_dispose(&d);
}
END_TEST

/* ---- SIGTERM during load ------------------------------------------------ */

START_TEST(test_durability_sigterm_during_load)
{
    uint64_t rng = test_seed();
    ledgerd d;
    td_init(&d, ORIGIN);
    td_launch(&d, true);
    mla_checkpoint before = {.size = 0};
    snprintf(before.origin, sizeof before.origin, "%s", ORIGIN);
    mla_merkle_empty_root(&before.root);
    static load ld;
    for (int round = 0; round < TERM_ROUNDS; round++) {
        load_prepare(&ld, &d, "term", round);
        load_start(&ld);
        load_wait_acked(&ld, &d, LOADERS);
        td_sleep_ms((int)(tu_rand(&rng) % 200));
        /* The loaders keep calling while the daemon drains and exits. */
        ck_assert(kill(d.pid, SIGTERM) == 0);
        int status = td_wait(&d);
        ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "round %d: mlauditd did not exit 0 on SIGTERM under load (status 0x%x); "
                      "its log:\n%s",
                      round, status, td_log_tail(&d));
        load_join(&ld);
        for (int t = 0; t < LOADERS; t++) {
            loader *l = &ld.l[t];
            if (l->fail_rc == MLA_OK) continue;
            /* Either acknowledged, or refused as UNAVAILABLE (the client's
             * MLA_EIO with the code named): never cut off mid-call. */
            ck_assert_msg(l->fail_rc == MLA_EIO && strstr(l->fail_msg, "UNAVAILABLE"),
                          "round %d loader %d: %s: %s; daemon log:\n%s", round, t,
                          mla_status_name(l->fail_rc), l->fail_msg, td_log_tail(&d));
        }
        td_launch(&d, false);
        mla_client *c = ledgerd_client(&d);
        mla_checkpoint after;
        check_after_restart(c, &ld, &before, &after, round);
        before = after;
        mla_client_close(c);
        load_dispose(&ld);
    }
    td_terminate(&d);
    /* Every stop was a drained one. */
    char log[1 << 16] = "";
    mla_ignore(td_slurp(log, sizeof log, d.log_path));
    size_t stopped = 0, drained = 0;
    for (const char *p = log; (p = strstr(p, "\"event\":\"stopped\"")) != NULL; p++) {
        stopped++;
        const char *eol = strchr(p, '\n');
        const char *dr = strstr(p, "\"drained\":true");
        if (dr && (!eol || dr < eol)) drained++;
    }
    ck_assert_msg(stopped == TERM_ROUNDS + 1 && drained == stopped,
                  "%zu stops logged, %zu drained; log:\n%s", stopped, drained, td_log_tail(&d));
    audit_store(&d, before.size);
    td_dispose(&d);
}
END_TEST

/* ---- retries ------------------------------------------------------------ */

#define RACES 32

typedef struct racer {
    ledgerd *d;
    mla_buf *envs;
    pthread_barrier_t *go;
    mla_receipt r[RACES];
    mla_status rc[RACES];
    char msg[MLA_ERROR_MSG_MAX];
} racer;

static void *racer_main(void *arg)
{
    racer *x = arg;
    mla_client *c = NULL;
    mla_client_options o = {.target = x->d->target,
                            .insecure = true,
                            .verifier = &x->d->verifier,
                            .timeout_ms = CALL_TIMEOUT_MS};
    mla_status open_rc = mla_client_open(&c, &o);
    for (int i = 0; i < RACES; i++) {
        /* Both racers send envelope i at the same moment, each on its own
         * connection. */
        pthread_barrier_wait(x->go);
        x->rc[i] = open_rc == MLA_OK ? mla_client_append(c, mla_buf_slice(&x->envs[i]), &x->r[i])
                                     : open_rc;
        if (x->rc[i] != MLA_OK) snprintf(x->msg, sizeof x->msg, "%s", mla_error_last()->msg);
    }
    mla_client_close(c);
    return NULL;
}

START_TEST(test_durability_retries_yield_one_entry)
{
    ledgerd d;
    td_init(&d, ORIGIN);
    td_launch(&d, true);
    mla_client *a = ledgerd_client(&d), *b = ledgerd_client(&d);

    /* Sequentially: the same envelope three times, over two connections. */
    mla_buf env;
    envelope_model(&env, d.admin, "retry-sequential");
    mla_receipt r1, r2, r3;
    tu_assert_ok(mla_client_append(a, mla_buf_slice(&env), &r1));
    tu_assert_ok(mla_client_append(a, mla_buf_slice(&env), &r2));
    tu_assert_ok(mla_client_append(b, mla_buf_slice(&env), &r3));
    ck_assert_uint_eq(r1.seq, 0);
    ck_assert_uint_eq(r2.seq, r1.seq);
    ck_assert_uint_eq(r3.seq, r1.seq);
    ck_assert(mla_hash_eq(&r2.leaf_hash, &r1.leaf_hash));
    ck_assert(mla_hash_eq(&r3.leaf_hash, &r1.leaf_hash));
    ck_assert_int_eq(r2.ledger_time_ns, r1.ledger_time_ns);
    mla_checkpoint cp;
    checkpoint_of(a, &cp);
    ck_assert_uint_eq(cp.size, 1);

    /* Concurrently from two clients, RACES times. */
    mla_buf envs[RACES];
    for (int i = 0; i < RACES; i++) {
        char tag[64];
        snprintf(tag, sizeof tag, "retry-race-%d", i);
        envelope_model(&envs[i], d.admin, tag);
    }
    pthread_barrier_t go;
    ck_assert(pthread_barrier_init(&go, NULL, 2) == 0);
    racer x[2];
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        memset(&x[k], 0, sizeof x[k]);
        x[k].d = &d;
        x[k].envs = envs;
        x[k].go = &go;
        ck_assert(pthread_create(&th[k], NULL, racer_main, &x[k]) == 0);
    }
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    pthread_barrier_destroy(&go);
    bool seen[1 + RACES] = {false};
    for (int i = 0; i < RACES; i++) {
        for (int k = 0; k < 2; k++)
            ck_assert_msg(x[k].rc[i] == MLA_OK, "race %d client %d: %s: %s", i, k,
                          mla_status_name(x[k].rc[i]), x[k].msg);
        ck_assert_msg(x[0].r[i].seq == x[1].r[i].seq, "race %d: seq %llu and %llu", i,
                      (unsigned long long)x[0].r[i].seq, (unsigned long long)x[1].r[i].seq);
        ck_assert(mla_hash_eq(&x[0].r[i].leaf_hash, &x[1].r[i].leaf_hash));
        ck_assert_int_eq(x[0].r[i].ledger_time_ns, x[1].r[i].ledger_time_ns);
        ck_assert_uint_ge(x[0].r[i].seq, 1);
        ck_assert_uint_le(x[0].r[i].seq, RACES);
        ck_assert(!seen[x[0].r[i].seq]);
        seen[x[0].r[i].seq] = true;
    }
    checkpoint_of(a, &cp);
    ck_assert_uint_eq(cp.size, 1 + RACES);

    /* And after a restart, the first one again: still one entry. */
    mla_client_close(a);
    mla_client_close(b);
    td_terminate(&d);
    td_launch(&d, false);
    a = ledgerd_client(&d);
    tu_assert_ok(mla_client_append(a, mla_buf_slice(&env), &r2));
    ck_assert_uint_eq(r2.seq, r1.seq);
    ck_assert(mla_hash_eq(&r2.leaf_hash, &r1.leaf_hash));
    checkpoint_of(a, &cp);
    ck_assert_uint_eq(cp.size, 1 + RACES);
    mla_client_close(a);

    mla_buf_dispose(&env);
    for (int i = 0; i < RACES; i++) mla_buf_dispose(&envs[i]);
    td_terminate(&d);
    td_dispose(&d);
}
END_TEST

static Suite *durability_suite(void)
{
    Suite *s = suite_create("durability");
    /* One case per test, so CK_RUN_CASE picks one. */
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {{"retries", test_durability_retries_yield_one_entry},
                 {"sigterm", test_durability_sigterm_during_load},
                 {"kill9", test_durability_kill9_during_load}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *t = tcase_create(cases[i].name);
        tcase_set_timeout(t, 240);
        tcase_add_test(t, cases[i].test);
        suite_add_tcase(s, t);
    }
    return s;
}

int main(void) { return tu_run(durability_suite()); }
