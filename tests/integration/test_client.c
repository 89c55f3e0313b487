/* Integration suite for ledger/client against a real mlauditd (started per
 * test on 127.0.0.1, port 0, --insecure, in a mkdtemp directory; its path
 * comes from $MLAUDITD), plus the client's offline parts: options,
 * envelope signing, and receipt verification against receipts of a log on a
 * memory store. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "log/log.h"
#include "daemon_util.h"
#include "rpc_util.h"
#include "testutil.h"

extern char **environ;

#define ORIGIN "test.mlaudit.example/log"

/* ---- changes ------------------------------------------------------------ */

/* A MODEL change for name@version with a digest of `digest` bytes. */
static void change_model(td_model *f, const char *name, const char *version, uint8_t digest)
{
    td_model_change(f, name, version);
    memset(f->digest, digest, sizeof f->digest);
    f->c.actor = (char *)(uintptr_t) "alice@example.com";
    f->c.reason = (char *)(uintptr_t) "integration test";
}

/* A signed MODEL envelope into out (initialised here). */
static void envelope_model(mla_buf *out, const mla_privkey *k, const char *name,
                           const char *version, uint8_t digest)
{
    td_model f;
    change_model(&f, name, version, digest);
    mla_buf_init(out, 1 << 20);
    tu_assert_ok(mla_client_envelope_sign(out, &f.c, &k, 1));
}

/* ---- the daemon --------------------------------------------------------- */

/* The daemon started from flags with keys the test knows. */
typedef td_daemon server;

/* Run a shell script in the test directory; its output goes to script.log. */
static void run_script(server *d, const char *script)
{
    char cmd[8192];
    ck_assert(snprintf(cmd, sizeof cmd, "set -e; cd '%s'; exec >>script.log 2>&1; %s", d->dir,
                       script) < (int)sizeof cmd);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid;
    int status = 0;
    ck_assert(posix_spawn(&pid, "/bin/sh", NULL, NULL, (char *const *)(uintptr_t)argv, environ) ==
              0);
    ck_assert(waitpid(pid, &status, 0) == pid);
    char log[4096] = "", path[4096];
    td_path(path, sizeof path, d, "script.log");
    mla_ignore(td_slurp(log, sizeof log, path));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "script failed:\n%s", log);
}

/* A test PKI made with openssl(1): a CA, a server certificate for
 * 127.0.0.1, a client certificate with CN pipeline-7, and a second CA that
 * signed nothing the server trusts. */
static void make_pki(server *d)
{
    run_script(d,
               "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1; };"
               "key ca.key; key rogue.key; key server.key; key client.key;"
               "openssl req -x509 -new -key ca.key -out ca.pem -days 3650 -subj /CN=test-ca;"
               "openssl req -x509 -new -key rogue.key -out rogue.pem -days 3650 -subj /CN=rogue;"
               "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext;"
               "printf 'extendedKeyUsage=clientAuth\\n' > client.ext;"
               "openssl req -new -key server.key -out server.csr -subj /CN=127.0.0.1;"
               "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
               "  -out server.pem -days 3650 -extfile server.ext;"
               "openssl req -new -key client.key -out client.csr -subj /CN=pipeline-7;"
               "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
               "  -out client.pem -days 3650 -extfile client.ext;"
               "openssl req -new -key client.key -out rogue-client.csr -subj /CN=intruder;"
               "openssl x509 -req -in rogue-client.csr -CA rogue.pem -CAkey rogue.key "
               "  -CAcreateserial -out rogue-client.pem -days 3650 -extfile client.ext");
}

/* A TLS client of d; NULL names leave that option out. */
static mla_status tls_client(server *d, mla_client **out, const char *ca, const char *cert,
                             const char *key)
{
    char ca_path[4096], cert_path[4096], key_path[4096];
    if (ca) td_path(ca_path, sizeof ca_path, d, ca);
    if (cert) td_path(cert_path, sizeof cert_path, d, cert);
    if (key) td_path(key_path, sizeof key_path, d, key);
    mla_client_options o = {.target = d->target,
                            .ca_file = ca ? ca_path : NULL,
                            .cert_file = cert ? cert_path : NULL,
                            .key_file = key ? key_path : NULL,
                            .verifier = &d->verifier,
                            .timeout_ms = 10000};
    return mla_client_open(out, &o);
}

static void daemon_start_mode(server *d, bool tls)
{
    td_init(d, ORIGIN);
    if (!tls) {
        td_launch(d, true);
        d->client = td_client(d, &d->verifier, 0);
        return;
    }
    make_pki(d);
    char cert[4096], key[4096], ca[4096];
    td_path(cert, sizeof cert, d, "server.pem");
    td_path(key, sizeof key, d, "server.key");
    td_path(ca, sizeof ca, d, "ca.pem");
    const char *extra[] = {"--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca, NULL};
    d->tls = true;
    d->extra = extra;
    td_launch(d, true);
    d->extra = NULL; /* gone with this frame */
    tu_assert_ok(tls_client(d, &d->client, "ca.pem", "client.pem", "client.key"));
}

static void daemon_start(server *d) { daemon_start_mode(d, false); }

static uint64_t tree_size(server *d)
{
    mla_buf note;
    mla_checkpoint cp;
    mla_buf_init(&note, 1 << 16);
    tu_assert_ok(mla_client_checkpoint(d->client, &note, &cp));
    mla_buf_dispose(&note);
    return cp.size;
}

static mla_status append_model(server *d, const mla_privkey *k, const char *name,
                               const char *version, uint8_t digest, mla_receipt *r)
{
    mla_buf env;
    envelope_model(&env, k, name, version, digest);
    mla_status rc = mla_client_append(d->client, mla_buf_slice(&env), r);
    mla_buf_dispose(&env);
    return rc;
}

/* Entry collector for mla_client_entries. */
typedef struct collected {
    uint64_t n, first, last;
    mla_hash leaves[512];
    uint64_t stop_after; /* 0: never */
} collected;

static mla_status collect(void *ctx, uint64_t seq, mla_slice entry, const mla_hash *leaf,
                          bool redacted)
{
    collected *c = ctx;
    ck_assert(!redacted);
    mla_hash h;
    mla_merkle_leaf_hash(&h, entry);
    ck_assert(mla_hash_eq(&h, leaf));
    if (c->n == 0) c->first = seq;
    c->last = seq;
    if (c->n < 512) c->leaves[c->n] = *leaf;
    c->n++;
    if (c->stop_after && c->n == c->stop_after)
        return mla_err(MLA_ELIMIT, "collector: stop after %llu", (unsigned long long)c->n);
    return MLA_OK;
}

/* ---- append ------------------------------------------------------------- */

START_TEST(test_client_append_returns_verified_receipt)
{
    server d;
    daemon_start(&d);
    mla_receipt r, again;
    tu_assert_ok(append_model(&d, d.admin, "resnet", "1", 0x11, &r));
    ck_assert_uint_eq(r.seq, 0);
    ck_assert_uint_eq(r.tree_size, 1);
    ck_assert(r.ledger_time_ns > 0);
    tu_assert_ok(mla_client_receipt_verify(&r, &d.verifier));

    /* The leaf the receipt proves is the entry the server stores. */
    collected got = {0};
    tu_assert_ok(mla_client_entries(d.client, 0, 1, collect, &got));
    ck_assert_uint_eq(got.n, 1);
    ck_assert(mla_hash_eq(&got.leaves[0], &r.leaf_hash));

    /* SPEC §4: resending an identical envelope returns the original receipt. */
    tu_assert_ok(append_model(&d, d.admin, "resnet", "1", 0x11, &again));
    ck_assert_uint_eq(again.seq, 0);
    ck_assert(mla_hash_eq(&again.leaf_hash, &r.leaf_hash));
    ck_assert_int_eq(again.ledger_time_ns, r.ledger_time_ns);

    tu_assert_ok(append_model(&d, d.admin, "resnet", "2", 0x12, &r));
    ck_assert_uint_eq(r.seq, 1);
    ck_assert_uint_eq(r.tree_size, 2);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_append_refuses_malformed_envelope_locally)
{
    server d;
    daemon_start(&d);
    mla_receipt r;
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    tu_assert_fail_with(mla_client_append(d.client, mla_slice_make(junk, sizeof junk), &r),
                        MLA_EINVAL, "envelope");
    tu_assert_fail_with(mla_client_append(d.client, mla_slice_make(NULL, 0), &r), MLA_EINVAL,
                        "envelope: empty");
    ck_assert_uint_eq(tree_size(&d), 0);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_append_batch_records_all_under_one_checkpoint)
{
    server d;
    daemon_start(&d);
    mla_buf env[3];
    mla_slice s[3];
    mla_receipt r[3];
    for (int i = 0; i < 3; i++) {
        char version[24];
        snprintf(version, sizeof version, "%d", i);
        envelope_model(&env[i], d.admin, "bert", version, (uint8_t)(0x20 + i));
        s[i] = mla_buf_slice(&env[i]);
    }
    tu_assert_ok(mla_client_append_batch(d.client, s, 3, r));
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(r[i].seq, (uint64_t)i);
        ck_assert_uint_eq(r[i].tree_size, 3);
        tu_assert_ok(mla_client_receipt_verify(&r[i], &d.verifier));
        mla_buf_dispose(&env[i]);
    }
    ck_assert(r[0].checkpoint_len == r[2].checkpoint_len &&
              memcmp(r[0].checkpoint, r[2].checkpoint, r[0].checkpoint_len) == 0);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_append_batch_is_atomic)
{
    server d;
    daemon_start(&d);
    mla_receipt r0;
    tu_assert_ok(append_model(&d, d.admin, "base", "1", 0x30, &r0));
    mla_buf env[3];
    mla_slice s[3];
    mla_receipt r[3];
    envelope_model(&env[0], d.admin, "gpt", "1", 0x31);
    envelope_model(&env[1], d.stranger, "gpt", "2", 0x32); /* unknown key */
    envelope_model(&env[2], d.admin, "gpt", "3", 0x33);
    for (int i = 0; i < 3; i++) s[i] = mla_buf_slice(&env[i]);
    tu_assert_fail_with(mla_client_append_batch(d.client, s, 3, r), MLA_EDENIED, "envelopes[1]");
    ck_assert_uint_eq(r[0].seq, 0); /* zeroed on error */
    ck_assert_uint_eq(tree_size(&d), 1);

    /* A malformed one is refused before sending, naming it. */
    static const uint8_t junk[] = {0x0a, 0x05, 'x'};
    s[1] = mla_slice_make(junk, sizeof junk);
    tu_assert_fail_with(mla_client_append_batch(d.client, s, 3, r), MLA_EINVAL, "envelopes[1]");
    tu_assert_fail_with(mla_client_append_batch(d.client, s, 0, r), MLA_EINVAL, "envelopes");
    ck_assert_uint_eq(tree_size(&d), 1);
    for (int i = 0; i < 3; i++) mla_buf_dispose(&env[i]);
    td_stop(&d);
}
END_TEST

/* ---- reads ----------------------------------------------------------------- */

#define MANY 300 /* > 256: GetEntries needs more than one response message */

static void append_many(server *d, size_t n)
{
    mla_buf *env = calloc(n, sizeof *env);
    mla_slice *s = calloc(n, sizeof *s);
    mla_receipt *r = calloc(n, sizeof *r);
    ck_assert(env && s && r);
    for (size_t i = 0; i < n; i++) {
        char version[24];
        snprintf(version, sizeof version, "%zu", i);
        envelope_model(&env[i], d->admin, "many", version, (uint8_t)i);
        s[i] = mla_buf_slice(&env[i]);
    }
    tu_assert_ok(mla_client_append_batch(d->client, s, n, r));
    ck_assert_uint_eq(r[n - 1].tree_size, n);
    for (size_t i = 0; i < n; i++) mla_buf_dispose(&env[i]);
    free(env);
    free(s);
    free(r);
}

START_TEST(test_client_entries_stream_verifies_every_entry)
{
    server d;
    daemon_start(&d);
    append_many(&d, MANY);
    collected all = {0};
    tu_assert_ok(mla_client_entries(d.client, 0, 0, collect, &all));
    ck_assert_uint_eq(all.n, MANY);
    ck_assert_uint_eq(all.first, 0);
    ck_assert_uint_eq(all.last, MANY - 1);

    collected part = {0};
    tu_assert_ok(mla_client_entries(d.client, 250, 270, collect, &part));
    ck_assert_uint_eq(part.n, 20);
    ck_assert_uint_eq(part.first, 250);
    ck_assert(mla_hash_eq(&part.leaves[0], &all.leaves[250]));

    /* The callback's status stops the stream and is returned as is. */
    collected stop = {.stop_after = 5};
    tu_assert_fail_with(mla_client_entries(d.client, 0, 0, collect, &stop), MLA_ELIMIT,
                        "collector: stop after 5");
    ck_assert_uint_eq(stop.n, 5);

    /* Every leaf is the one the tree proves. */
    mla_buf note;
    mla_checkpoint cp;
    mla_buf_init(&note, 1 << 16);
    tu_assert_ok(mla_client_checkpoint(d.client, &note, &cp));
    for (uint64_t seq = 0; seq < MANY; seq += 37) {
        mla_merkle_proof p;
        mla_hash leaf;
        uint64_t size;
        tu_assert_ok(mla_client_inclusion_proof(d.client, seq, cp.size, &p, &leaf, &size));
        ck_assert(mla_hash_eq(&leaf, &all.leaves[seq]));
        tu_assert_ok(mla_merkle_inclusion_verify(&leaf, seq, size, &p, &cp.root));
    }
    tu_assert_fail_with(mla_client_entries(d.client, 5, 5, collect, &part), MLA_EINVAL, "end");
    mla_buf_dispose(&note);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_checkpoint_is_verified)
{
    server d;
    daemon_start(&d);
    mla_buf note;
    mla_checkpoint cp;
    mla_buf_init(&note, 1 << 16);
    tu_assert_ok(mla_client_checkpoint(d.client, &note, &cp));
    ck_assert_uint_eq(cp.size, 0);
    ck_assert_str_eq(cp.origin, ORIGIN);
    mla_receipt r;
    tu_assert_ok(append_model(&d, d.admin, "m", "1", 1, &r));
    tu_assert_ok(mla_client_checkpoint(d.client, &note, &cp));
    ck_assert_uint_eq(cp.size, 1);
    ck_assert(mla_hash_eq(&cp.root, &r.root));
    mla_checkpoint again;
    tu_assert_ok(mla_note_checkpoint_open(&again, mla_buf_slice(&note), &d.verifier, 1));
    ck_assert(mla_hash_eq(&again.root, &cp.root));
    mla_buf_dispose(&note);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_inclusion_proofs_verify_against_checkpoint)
{
    server d;
    daemon_start(&d);
    mla_receipt r[7];
    for (int i = 0; i < 7; i++) {
        char version[24];
        snprintf(version, sizeof version, "%d", i);
        tu_assert_ok(append_model(&d, d.admin, "proof", version, (uint8_t)(0x40 + i), &r[i]));
    }
    mla_buf note;
    mla_checkpoint cp;
    mla_buf_init(&note, 1 << 16);
    tu_assert_ok(mla_client_checkpoint(d.client, &note, &cp));
    ck_assert_uint_eq(cp.size, 7);
    for (uint64_t seq = 0; seq < 7; seq++) {
        mla_merkle_proof p;
        mla_hash leaf;
        uint64_t size, seq_got;
        /* By seq, latest size (0). */
        tu_assert_ok(mla_client_inclusion_proof(d.client, seq, 0, &p, &leaf, &size));
        ck_assert_uint_eq(size, 7);
        ck_assert(mla_hash_eq(&leaf, &r[seq].leaf_hash));
        tu_assert_ok(mla_merkle_inclusion_verify(&leaf, seq, size, &p, &cp.root));
        /* By leaf hash, the checkpoint's size. */
        tu_assert_ok(mla_client_inclusion_proof_by_leaf(d.client, &r[seq].leaf_hash, 7, &p,
                                                        &seq_got, &size));
        ck_assert_uint_eq(seq_got, seq);
        tu_assert_ok(mla_merkle_inclusion_verify(&r[seq].leaf_hash, seq, 7, &p, &cp.root));
    }
    /* In an older tree: against the root that receipt's checkpoint signed. */
    mla_merkle_proof p;
    mla_hash leaf;
    uint64_t size;
    tu_assert_ok(mla_client_inclusion_proof(d.client, 1, 3, &p, &leaf, &size));
    ck_assert_uint_eq(size, 3);
    tu_assert_ok(mla_merkle_inclusion_verify(&leaf, 1, 3, &p, &r[2].root));
    /* A proof for another size does not verify against this root. */
    ck_assert_int_eq(mla_merkle_inclusion_verify(&leaf, 1, 3, &p, &cp.root), MLA_EINVAL);
    mla_buf_dispose(&note);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_consistency_proof_between_checkpoints)
{
    server d;
    daemon_start(&d);
    mla_buf n1, n2;
    mla_checkpoint c1, c2, c0;
    mla_buf_init(&n1, 1 << 16);
    mla_buf_init(&n2, 1 << 16);
    tu_assert_ok(mla_client_checkpoint(d.client, &n1, &c0));
    mla_receipt r;
    for (int i = 0; i < 3; i++) {
        char version[24];
        snprintf(version, sizeof version, "%d", i);
        tu_assert_ok(append_model(&d, d.admin, "cons", version, (uint8_t)(0x50 + i), &r));
    }
    tu_assert_ok(mla_client_checkpoint(d.client, &n1, &c1));
    for (int i = 3; i < 8; i++) {
        char version[24];
        snprintf(version, sizeof version, "%d", i);
        tu_assert_ok(append_model(&d, d.admin, "cons", version, (uint8_t)(0x50 + i), &r));
    }
    tu_assert_ok(mla_client_checkpoint(d.client, &n2, &c2));
    ck_assert_uint_eq(c1.size, 3);
    ck_assert_uint_eq(c2.size, 8);

    mla_merkle_proof p;
    tu_assert_ok(mla_client_consistency_proof(d.client, 3, 8, &p));
    tu_assert_ok(mla_merkle_consistency_verify(3, 8, &c1.root, &c2.root, &p));
    tu_assert_ok(mla_client_consistency_verify(d.client, &c1, &c2));
    tu_assert_ok(mla_client_consistency_verify(d.client, &c0, &c2)); /* from empty */
    tu_assert_ok(mla_client_consistency_verify(d.client, &c2, &c2));

    /* A checkpoint the log never signed (another root at size 3): a fork. */
    mla_checkpoint forged = c1;
    forged.root.b[0] ^= 1;
    tu_assert_fail_with(mla_client_consistency_verify(d.client, &forged, &c2), MLA_ECORRUPT,
                        "consistency");
    mla_checkpoint forged8 = c2;
    forged8.root.b[31] ^= 1;
    tu_assert_fail_with(mla_client_consistency_verify(d.client, &c2, &forged8), MLA_ECORRUPT,
                        "forked");
    tu_assert_fail_with(mla_client_consistency_verify(d.client, &c2, &c1), MLA_EINVAL,
                        "checkpoint.size");
    mla_buf_dispose(&n1);
    mla_buf_dispose(&n2);
    td_stop(&d);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(test_client_server_errors_map_to_statuses)
{
    server d;
    daemon_start(&d);
    mla_receipt r;
    tu_assert_ok(append_model(&d, d.admin, "err", "1", 0x61, &r));
    mla_merkle_proof p;
    mla_hash leaf;
    uint64_t size, seq;

    /* PERMISSION_DENIED: a key the registry does not know, named by keyid. */
    char keyid[MLA_KEYID_HEX_LEN + 1];
    mla_crypto_keyid(keyid, mla_crypto_key_public(d.stranger));
    tu_assert_fail_with(append_model(&d, d.stranger, "err", "2", 0x62, &r), MLA_EDENIED, keyid);
    ck_assert_msg(strncmp(mla_error_last()->msg, "server: ", 8) == 0, "%s", mla_error_last()->msg);
    /* ALREADY_EXISTS: the same identity with another digest. */
    tu_assert_fail_with(append_model(&d, d.admin, "err", "1", 0x63, &r), MLA_EEXISTS, "err");
    /* INVALID_ARGUMENT, naming the field. */
    tu_assert_fail_with(mla_client_consistency_proof(d.client, 0, 1, &p), MLA_EINVAL, "from_size");
    tu_assert_fail_with(mla_client_inclusion_proof(d.client, 0, 5, &p, &leaf, &size), MLA_EINVAL,
                        "tree_size");
    collected c = {0};
    tu_assert_fail_with(mla_client_entries(d.client, 7, 0, collect, &c), MLA_EINVAL, "start");
    /* NOT_FOUND: a leaf the log does not hold. */
    mla_hash unknown;
    memset(unknown.b, 0xab, sizeof unknown.b);
    tu_assert_fail_with(mla_client_inclusion_proof_by_leaf(d.client, &unknown, 0, &p, &seq, &size),
                        MLA_ENOTFOUND, "leaf");
    /* Nothing refused was recorded. */
    ck_assert_uint_eq(tree_size(&d), 1);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_wrong_verifier_key_is_ecorrupt)
{
    server d;
    daemon_start(&d);
    mla_privkey *other = td_key_from_byte(9);
    mla_note_verifier wrong;
    tu_assert_ok(
        mla_note_verifier_init(&wrong, mla_slice_cstr(ORIGIN), mla_crypto_key_public(other)));
    mla_client *c = NULL;
    c = td_client(&d, &wrong, 0);
    mla_buf env;
    envelope_model(&env, d.admin, "wrongkey", "1", 0x71);
    mla_receipt r;
    tu_assert_fail_with(mla_client_append(c, mla_buf_slice(&env), &r), MLA_ECORRUPT,
                        "receipt.checkpoint");
    mla_buf note;
    mla_checkpoint cp;
    mla_buf_init(&note, 1 << 16);
    tu_assert_fail_with(mla_client_checkpoint(c, &note, &cp), MLA_ECORRUPT, "checkpoint");
    ck_assert_uint_eq(note.len, 0);
    /* The entry was recorded all the same; the right key verifies it. */
    tu_assert_ok(mla_client_append(d.client, mla_buf_slice(&env), &r));
    ck_assert_uint_eq(r.seq, 0);
    mla_buf_dispose(&note);
    mla_buf_dispose(&env);
    mla_client_close(c);
    mla_crypto_key_free(other);
    td_stop(&d);
}
END_TEST

START_TEST(test_client_health_is_serving)
{
    server d;
    daemon_start(&d);
    tu_assert_ok(mla_client_health(d.client));
    td_stop(&d);
}
END_TEST

/* A port nothing listens on: bind one, then close it. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t len = sizeof a;
    ck_assert(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    close(s);
    return ntohs(a.sin_port);
}

START_TEST(test_client_unreachable_server_is_eio_within_timeout)
{
    tu_assert_ok(mla_crypto_init());
    mla_privkey *k = td_key_from_byte(3);
    mla_note_verifier v;
    tu_assert_ok(mla_note_verifier_init(&v, mla_slice_cstr(ORIGIN), mla_crypto_key_public(k)));
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", free_port());
    mla_client_options o = {.target = target, .insecure = true, .verifier = &v, .timeout_ms = 2000};
    mla_client *c = NULL;
    tu_assert_ok(mla_client_open(&c, &o));
    int64_t t0 = mla_time_mono_ns();
    tu_assert_fail_with(mla_client_health(c), MLA_EIO, "server: ");
    mla_buf env;
    envelope_model(&env, k, "x", "1", 1);
    mla_receipt r;
    tu_assert_fail_with(mla_client_append(c, mla_buf_slice(&env), &r), MLA_EIO, "UNAVAILABLE");
    mla_buf note;
    mla_checkpoint cp;
    mla_buf_init(&note, 1 << 16);
    tu_assert_fail_with(mla_client_checkpoint(c, &note, &cp), MLA_EIO, "server: ");
    collected got = {0};
    tu_assert_fail_with(mla_client_entries(c, 0, 0, collect, &got), MLA_EIO, "server: ");
    int64_t elapsed_ms = (mla_time_mono_ns() - t0) / 1000000;
    ck_assert_msg(elapsed_ms < 4 * 2000 + 1000, "took %lld ms", (long long)elapsed_ms);
    mla_buf_dispose(&note);
    mla_buf_dispose(&env);
    mla_client_close(c);
    mla_crypto_key_free(k);
}
END_TEST

/* Several threads append through one client at once (client.h: a client may
 * be used from several threads). */
typedef struct thread_arg {
    server *d;
    int id;
    mla_receipt r[8];
    mla_status rc;
} thread_arg;

static void *append_thread(void *p)
{
    thread_arg *a = p;
    a->rc = MLA_OK;
    for (int i = 0; i < 8 && a->rc == MLA_OK; i++) {
        char name[32], version[24];
        snprintf(name, sizeof name, "thread-%d", a->id);
        snprintf(version, sizeof version, "%d", i);
        mla_buf env;
        td_model f;
        change_model(&f, name, version, (uint8_t)(a->id * 8 + i));
        mla_buf_init(&env, 1 << 20);
        a->rc = mla_client_envelope_sign(&env, &f.c, (const mla_privkey *const *)&a->d->admin, 1);
        if (a->rc == MLA_OK) a->rc = mla_client_append(a->d->client, mla_buf_slice(&env), &a->r[i]);
        if (a->rc == MLA_OK) a->rc = mla_client_receipt_verify(&a->r[i], &a->d->verifier);
        mla_buf_dispose(&env);
    }
    return NULL;
}

START_TEST(test_client_is_shared_by_threads)
{
    server d;
    daemon_start(&d);
    thread_arg a[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        a[i].d = &d;
        a[i].id = i;
        ck_assert(pthread_create(&t[i], NULL, append_thread, &a[i]) == 0);
    }
    bool seen[32] = {false};
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(a[i].rc == MLA_OK, "thread %d: %s", i, mla_status_name(a[i].rc));
        for (int j = 0; j < 8; j++) {
            ck_assert_uint_lt(a[i].r[j].seq, 32);
            ck_assert(!seen[a[i].r[j].seq]);
            seen[a[i].r[j].seq] = true;
        }
    }
    ck_assert_uint_eq(tree_size(&d), 32);
    td_stop(&d);
}
END_TEST

/* ---- TLS ---------------------------------------------------------------- */

static mla_status first_submitter(void *ctx, uint64_t seq, mla_slice entry, const mla_hash *leaf,
                                  bool redacted)
{
    (void)seq, (void)leaf, (void)redacted;
    mla_pb_entry *e = NULL;
    MLA_TRY(mla_codec_entry_decode(&e, entry));
    ck_assert(snprintf(ctx, 256, "%s", e->submitter) < 256);
    mla_codec_entry_free(e);
    return MLA_OK;
}

START_TEST(test_client_mtls_records_certificate_identity)
{
    server d;
    daemon_start_mode(&d, true);
    tu_assert_ok(mla_client_health(d.client));
    mla_receipt r;
    tu_assert_ok(append_model(&d, d.admin, "tls", "1", 0x91, &r));
    tu_assert_ok(mla_client_receipt_verify(&r, &d.verifier));
    char submitter[256] = "";
    tu_assert_ok(mla_client_entries(d.client, 0, 1, first_submitter, submitter));
    ck_assert_str_eq(submitter, "x509:pipeline-7");
    td_stop(&d);
}
END_TEST

START_TEST(test_client_mtls_refuses_untrusted_peers)
{
    server d;
    daemon_start_mode(&d, true);
    mla_client *c = NULL;
    /* No client certificate: the server requires one. */
    tu_assert_ok(tls_client(&d, &c, "ca.pem", NULL, NULL));
    tu_assert_fail_with(mla_client_health(c), MLA_EIO, "server: ");
    mla_client_close(c);
    /* A client certificate from a CA the server does not trust. */
    tu_assert_ok(tls_client(&d, &c, "ca.pem", "rogue-client.pem", "client.key"));
    tu_assert_fail_with(mla_client_health(c), MLA_EIO, "server: ");
    mla_client_close(c);
    /* A server certificate the client does not trust. */
    tu_assert_ok(tls_client(&d, &c, "rogue.pem", "client.pem", "client.key"));
    tu_assert_fail_with(mla_client_health(c), MLA_EIO, "server: ");
    mla_client_close(c);
    /* Plaintext to a TLS port. */
    c = td_client(&d, &d.verifier, 5000);
    tu_assert_fail_with(mla_client_health(c), MLA_EIO, "server: ");
    mla_client_close(c);
    /* Key files are checked at open. */
    tu_assert_fail_with(tls_client(&d, &c, "ca.pem", "client.pem", "missing.key"), MLA_EINVAL,
                        "key_file: cannot open");
    ck_assert_uint_eq(tree_size(&d), 0);
    td_stop(&d);
}
END_TEST

/* ---- offline: options ----------------------------------------------------- */

START_TEST(test_client_open_checks_options)
{
    tu_assert_ok(mla_crypto_init());
    mla_privkey *k = td_key_from_byte(3);
    mla_note_verifier v;
    tu_assert_ok(mla_note_verifier_init(&v, mla_slice_cstr(ORIGIN), mla_crypto_key_public(k)));
    mla_client *c = NULL;
    mla_client_options o = {.target = "10.1.2.3:7070", .insecure = true, .verifier = &v};
    tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL,
                        "target: --insecure is only allowed on loopback");
    ck_assert_ptr_null(c);
    static const char *const remote[] = {"example.com:7070",   "dns:///example.com:7070",
                                         "[2001:db8::1]:7070", "128.0.0.1:1",
                                         "0.0.0.0:7070",       "[::]:7070"};
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
        o.target = remote[i];
        tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL, "loopback");
    }
    static const char *const local[] = {
        "127.0.0.1:7070", "127.9.8.7:1",      "localhost:7070",        "LOCALHOST:1",
        "[::1]:7070",     "ipv4:127.0.0.1:1", "dns:///localhost:7070", "[::ffff:127.0.0.1]:1"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        o.target = local[i];
        tu_assert_ok(mla_client_open(&c, &o));
        mla_client_close(c);
        c = NULL;
    }
    o.target = "127.0.0.1:7070";
    o.verifier = NULL;
    tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL, "verifier");
    o.verifier = &v;
    o.timeout_ms = -1;
    tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL, "timeout_ms");
    o.timeout_ms = 0;
    o.target = "";
    tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL, "target");
    tu_assert_fail_with(mla_client_open(&c, NULL), MLA_EINVAL, "options");
    o.target = "127.0.0.1:7070";
    o.ca_file = "/nonexistent/ca.pem";
    tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL, "insecure");
    o.insecure = false;
    tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL, "ca_file: cannot open");
    o.ca_file = NULL;
    o.cert_file = "/nonexistent/cert.pem";
    tu_assert_fail_with(mla_client_open(&c, &o), MLA_EINVAL, "cert_file: given without key_file");
    ck_assert_ptr_null(c);
    mla_crypto_key_free(k);
}
END_TEST

/* ---- offline: envelopes --------------------------------------------------- */

START_TEST(test_client_envelope_sign_round_trips)
{
    tu_assert_ok(mla_crypto_init());
    mla_privkey *k1 = td_key_from_byte(1), *k2 = td_key_from_byte(2);
    const mla_privkey *keys[2] = {k1, k2};
    td_model f;
    change_model(&f, "signed", "1", 0x77);
    mla_buf out, payload;
    mla_buf_init(&out, 1 << 20);
    mla_buf_init(&payload, 1 << 20);
    tu_assert_ok(mla_buf_append_cstr(&out, "prefix"));
    tu_assert_ok(mla_client_envelope_sign(&out, &f.c, keys, 2));
    ck_assert(memcmp(out.ptr, "prefix", 6) == 0); /* appended */
    mla_pb_envelope *env = NULL;
    tu_assert_ok(mla_codec_envelope_decode(&env, mla_slice_make(out.ptr + 6, out.len - 6)));
    ck_assert_str_eq(env->payload_type, MLA_PAYLOAD_TYPE_CHANGE);
    ck_assert_uint_eq(env->n_signatures, 2);
    tu_assert_ok(mla_codec_change_encode(&payload, &f.c));
    ck_assert(
        mla_slice_eq(mla_slice_make(env->payload.data, env->payload.len), mla_buf_slice(&payload)));
    for (size_t i = 0; i < 2; i++) {
        char keyid[MLA_KEYID_HEX_LEN + 1];
        mla_crypto_keyid(keyid, mla_crypto_key_public(keys[i]));
        ck_assert_str_eq(env->signatures[i]->keyid, keyid);
        mla_slice sig = mla_slice_make(env->signatures[i]->sig.data, env->signatures[i]->sig.len);
        tu_assert_ok(mla_crypto_dsse_verify(mla_crypto_key_public(keys[i]),
                                            mla_slice_cstr(MLA_PAYLOAD_TYPE_CHANGE),
                                            mla_buf_slice(&payload), sig));
        /* Each signature is its key's alone. */
        ck_assert_int_eq(mla_crypto_dsse_verify(mla_crypto_key_public(keys[1 - i]),
                                                mla_slice_cstr(MLA_PAYLOAD_TYPE_CHANGE),
                                                mla_buf_slice(&payload), sig),
                         MLA_EDENIED);
    }
    mla_pb_change *back = NULL;
    tu_assert_ok(
        mla_codec_change_decode(&back, mla_slice_make(env->payload.data, env->payload.len)));
    ck_assert_str_eq(back->subject->name, "signed");
    ck_assert_str_eq(back->reason, "integration test");
    mla_codec_change_free(back);
    mla_codec_envelope_free(env);
    mla_buf_dispose(&out);
    mla_buf_dispose(&payload);
    mla_crypto_key_free(k1);
    mla_crypto_key_free(k2);
}
END_TEST

START_TEST(test_client_envelope_sign_refuses_bad_input)
{
    tu_assert_ok(mla_crypto_init());
    mla_privkey *k1 = td_key_from_byte(1);
    const mla_privkey *keys[2] = {k1, k1};
    td_model f;
    change_model(&f, "bad", "1", 0x77);
    mla_buf out;
    mla_buf_init(&out, 1 << 20);
    tu_assert_fail_with(mla_client_envelope_sign(&out, &f.c, keys, 0), MLA_EINVAL, "keys");
    tu_assert_fail_with(mla_client_envelope_sign(&out, &f.c, keys, 2), MLA_EINVAL, "keys[1]");
    tu_assert_fail_with(mla_client_envelope_sign(&out, &f.c, keys, MLA_LIMIT_SIGNATURES + 1),
                        MLA_EINVAL, "keys");
    f.c.reason = (char *)(uintptr_t) "";
    tu_assert_fail_with(mla_client_envelope_sign(&out, &f.c, keys, 1), MLA_EINVAL, "reason");
    ck_assert_uint_eq(out.len, 0); /* nothing written on error */
    mla_buf small;
    change_model(&f, "bad", "1", 0x77);
    mla_buf_init(&small, 16);
    tu_assert_fail_with(mla_client_envelope_sign(&small, &f.c, keys, 1), MLA_ELIMIT, "");
    ck_assert_uint_eq(small.len, 0);
    mla_buf_dispose(&out);
    mla_buf_dispose(&small);
    mla_crypto_key_free(k1);
}
END_TEST

START_TEST(test_client_envelope_sign_survives_allocation_failures)
{
    tu_assert_ok(mla_crypto_init());
    mla_privkey *k1 = td_key_from_byte(1), *k2 = td_key_from_byte(2);
    const mla_privkey *keys[2] = {k1, k2};
    td_model f;
    change_model(&f, "alloc", "1", 0x77);
    mla_buf want;
    mla_buf_init(&want, 1 << 20);
    tu_assert_ok(mla_client_envelope_sign(&want, &f.c, keys, 2));
    for (long k = 0; k < 1000; k++) {
        mla_buf out;
        mla_buf_init(&out, 1 << 20);
        mla_alloc_fail_after(k);
        mla_status rc = mla_client_envelope_sign(&out, &f.c, keys, 2);
        long failed = mla_alloc_failed_count();
        mla_alloc_fail_reset();
        if (rc == MLA_OK) {
            ck_assert_int_eq(failed, 0);
            /* Ed25519 is deterministic: the same bytes every time. */
            ck_assert(mla_slice_eq(mla_buf_slice(&out), mla_buf_slice(&want)));
            mla_buf_dispose(&out);
            break;
        }
        tu_assert_fail_with(rc, MLA_ENOMEM, "");
        ck_assert_uint_eq(out.len, 0);
        mla_buf_dispose(&out);
    }
    mla_buf_dispose(&want);
    mla_crypto_key_free(k1);
    mla_crypto_key_free(k2);
}
END_TEST

/* ---- offline: receipts from a log on a memory store ------------------------ */

typedef struct log_fx {
    mla_privkey *admin, *logkey;
    mla_pubkey admin_pub;
    mla_store *store;
    mla_log *log;
    mla_receipt r[5];
} log_fx;

static void log_fx_init(log_fx *f)
{
    tu_assert_ok(mla_crypto_init());
    f->admin = td_key_from_byte(1);
    f->logkey = td_key_from_byte(3);
    f->admin_pub = *mla_crypto_key_public(f->admin);
    tu_assert_ok(mla_store_open_mem(&f->store));
    mla_log_options o = {
        .origin = ORIGIN, .signing_key = f->logkey, .admin_keys = &f->admin_pub, .n_admin_keys = 1};
    tu_assert_ok(mla_log_open(&f->log, f->store, &o));
    for (int i = 0; i < 5; i++) {
        char version[24];
        mla_buf env;
        snprintf(version, sizeof version, "%d", i);
        envelope_model(&env, f->admin, "offline", version, (uint8_t)(0x80 + i));
        tu_assert_ok(mla_log_append(f->log, mla_buf_slice(&env), mla_slice_cstr("test"), &f->r[i]));
        mla_buf_dispose(&env);
    }
}

static void log_fx_dispose(log_fx *f)
{
    mla_log_close(f->log);
    mla_store_close(f->store);
    mla_crypto_key_free(f->admin);
    mla_crypto_key_free(f->logkey);
}

START_TEST(test_client_receipt_verify_accepts_log_receipts)
{
    log_fx f;
    log_fx_init(&f);
    for (int i = 0; i < 5; i++) {
        tu_assert_ok(mla_client_receipt_verify(&f.r[i], mla_log_verifier(f.log)));
        mla_buf wire;
        mla_receipt back;
        mla_buf_init(&wire, 1 << 16);
        tu_assert_ok(mla_client_receipt_encode(&wire, &f.r[i]));
        tu_assert_ok(
            mla_client_receipt_decode(&back, mla_buf_slice(&wire), mla_log_verifier(f.log)));
        ck_assert_uint_eq(back.seq, f.r[i].seq);
        ck_assert_int_eq(back.ledger_time_ns, f.r[i].ledger_time_ns);
        ck_assert_uint_eq(back.tree_size, f.r[i].tree_size);
        ck_assert(mla_hash_eq(&back.leaf_hash, &f.r[i].leaf_hash));
        ck_assert(mla_hash_eq(&back.root, &f.r[i].root));
        ck_assert_uint_eq(back.inclusion.n, f.r[i].inclusion.n);
        mla_buf_dispose(&wire);
    }
    log_fx_dispose(&f);
}
END_TEST

START_TEST(test_client_receipt_verify_rejects_tampering)
{
    log_fx f;
    log_fx_init(&f);
    const mla_note_verifier *v = mla_log_verifier(f.log);
    mla_receipt r = f.r[3];
    r.leaf_hash.b[5] ^= 1;
    tu_assert_fail_with(mla_client_receipt_verify(&r, v), MLA_ECORRUPT, "receipt.inclusion");
    r = f.r[3];
    r.seq = 2;
    tu_assert_fail_with(mla_client_receipt_verify(&r, v), MLA_ECORRUPT, "receipt.inclusion");
    r = f.r[3];
    r.inclusion.h[0].b[0] ^= 1;
    tu_assert_fail_with(mla_client_receipt_verify(&r, v), MLA_ECORRUPT, "receipt.inclusion");
    r = f.r[3];
    r.tree_size = 5;
    tu_assert_fail_with(mla_client_receipt_verify(&r, v), MLA_ECORRUPT, "receipt.tree_size");
    r = f.r[3];
    r.root.b[0] ^= 1;
    tu_assert_fail_with(mla_client_receipt_verify(&r, v), MLA_ECORRUPT, "receipt.root");
    r = f.r[3];
    r.checkpoint[0] ^= 1; /* the origin line: the signature no longer covers it */
    tu_assert_fail_with(mla_client_receipt_verify(&r, v), MLA_ECORRUPT, "receipt.checkpoint");
    r = f.r[3];
    r.seq = r.tree_size;
    tu_assert_fail_with(mla_client_receipt_verify(&r, v), MLA_ECORRUPT, "receipt.inclusion");

    /* Another log key. */
    mla_privkey *other = td_key_from_byte(9);
    mla_note_verifier wrong;
    tu_assert_ok(
        mla_note_verifier_init(&wrong, mla_slice_cstr(ORIGIN), mla_crypto_key_public(other)));
    tu_assert_fail_with(mla_client_receipt_verify(&f.r[3], &wrong), MLA_ECORRUPT,
                        "receipt.checkpoint");

    /* The wire form: malformed is EINVAL, a wrong proof ECORRUPT. */
    mla_buf wire;
    mla_receipt back;
    mla_buf_init(&wire, 1 << 16);
    static const uint8_t junk[] = {0x1a, 0x40, 0x00};
    tu_assert_fail_with(mla_client_receipt_decode(&back, mla_slice_make(junk, sizeof junk), v),
                        MLA_EINVAL, "receipt");
    r = f.r[1];
    r.inclusion.n--;
    tu_assert_ok(mla_client_receipt_encode(&wire, &r));
    tu_assert_fail_with(mla_client_receipt_decode(&back, mla_buf_slice(&wire), v), MLA_ECORRUPT,
                        "receipt.inclusion");
    mla_buf_clear(&wire);
    tu_assert_ok(mla_client_receipt_encode(&wire, &f.r[1]));
    tu_assert_fail_with(mla_client_receipt_decode(&back, mla_buf_slice(&wire), &wrong),
                        MLA_ECORRUPT, "receipt.checkpoint");
    ck_assert_uint_eq(back.seq, 0);
    mla_buf_dispose(&wire);
    mla_crypto_key_free(other);
    log_fx_dispose(&f);
}
END_TEST

/* ---- a lying server ---------------------------------------------------------
 * A minimal gRPC server in the test that answers from a genuine log on a
 * memory store, then tampers with the answer the way the test asks: the
 * client must refuse every answer it cannot verify (client.h: "a server that
 * cannot prove what it says is an error"). One thread serves one call at a
 * time, so each completion on its queue is the one it waits for. */

typedef enum lie {
    LIE_NONE,
    LIE_INCLUSION, /* Append: a proof hash flipped */
    LIE_LEAF_INDEX, /* Append: the proof is for another index */
    LIE_OTHER_ENTRY, /* Append: a valid receipt, but of an older entry (another envelope) */
    LIE_NO_ENTRY, /* Append: a valid receipt without the entry's bytes */
    LIE_GARBAGE, /* any: bytes that are not the response message */
    LIE_BATCH_SHORT, /* AppendBatch: one receipt fewer than envelopes */
    LIE_ENTRY_HASH, /* GetEntries: entry 1's leaf hash flipped */
    LIE_ENTRY_SKIP, /* GetEntries: entry 1 left out */
    LIE_ENTRY_SHORT, /* GetEntries: the last entry left out, status OK */
    LIE_PROOF_LEAF, /* GetInclusionProof: the proof of another leaf */
    LIE_CONS_SIZE, /* GetConsistencyProof: a proof between other sizes */
    LIE_NOT_SERVING, /* Health: NOT_SERVING */
    LIE_HANG, /* any: never answer (until the client gives up) */
} lie;

typedef struct liar {
    log_fx log;
    rpc_server srv;
    _Atomic int mode;
} liar;

/* protobuf: a length-delimited field (tag byte) around bytes. */
static void frame(mla_buf *out, uint8_t tag, mla_slice b)
{
    uint8_t hdr[11];
    size_t n = 0;
    hdr[n++] = tag;
    uint64_t v = b.len;
    for (; v >= 0x80; v >>= 7) hdr[n++] = (uint8_t)(v | 0x80);
    hdr[n++] = (uint8_t)v;
    tu_assert_ok(mla_buf_append(out, hdr, n));
    tu_assert_ok(mla_buf_append_slice(out, b));
}

/* The Receipt bytes of an append to the genuine log, tampered as asked. */
static void liar_receipt(liar *l, mla_buf *out, const mla_pb_envelope *env, lie mode)
{
    mla_buf envb, entry;
    mla_receipt r;
    mla_buf_init(&envb, 1 << 20);
    mla_buf_init(&entry, 1 << 20);
    tu_assert_ok(mla_codec_envelope_encode(&envb, env));
    tu_assert_ok(mla_log_append(l->log.log, mla_buf_slice(&envb), mla_slice_cstr("liar"), &r));
    if (mode == LIE_INCLUSION) r.inclusion.h[0].b[0] ^= 1;
    if (mode == LIE_OTHER_ENTRY) {
        /* Everything about entry 0 is genuine and proven; it just is not ours. */
        r.seq = 0;
        tu_assert_ok(mla_log_leaf_hash(l->log.log, 0, &r.leaf_hash));
        tu_assert_ok(mla_log_inclusion_proof(l->log.log, 0, r.tree_size, &r.inclusion));
    }
    tu_assert_ok(mla_log_entry(l->log.log, r.seq, &entry));
    mla_buf rb;
    mla_buf_init(&rb, 1 << 20);
    tu_assert_ok(mla_client_receipt_encode(&rb, &r));
    ProtobufCMessage *m = NULL;
    tu_assert_ok(
        mla_codec_rpc_decode(&m, &mlaudit__v1__receipt__descriptor, mla_buf_slice(&rb), "receipt"));
    Mlaudit__V1__Receipt *pb = (Mlaudit__V1__Receipt *)m;
    if (mode == LIE_LEAF_INDEX) pb->inclusion->leaf_index ^= 1;
    /* The entry's bytes travel with the receipt (borrowed for the encode). */
    ProtobufCBinaryData saved = pb->entry;
    if (mode != LIE_NO_ENTRY) {
        pb->entry.data = entry.ptr;
        pb->entry.len = entry.len;
    }
    mla_buf_clear(&rb);
    tu_assert_ok(mla_codec_rpc_encode(&rb, m));
    pb->entry = saved;
    mla_codec_rpc_free(m);
    frame(out, 0x0a, mla_buf_slice(&rb));
    mla_buf_dispose(&rb);
    mla_buf_dispose(&entry);
    mla_buf_dispose(&envb);
}

/* One StoredEntry of the genuine log, framed as GetEntriesResponse.entries. */
static void liar_entry(liar *l, mla_buf *out, uint64_t seq, lie mode)
{
    mla_buf entry, eb;
    mla_hash leaf;
    mla_buf_init(&entry, 1 << 20);
    mla_buf_init(&eb, 1 << 20);
    tu_assert_ok(mla_log_entry(l->log.log, seq, &entry));
    tu_assert_ok(mla_log_leaf_hash(l->log.log, seq, &leaf));
    if (mode == LIE_ENTRY_HASH && seq == 1) leaf.b[7] ^= 1;
    Mlaudit__V1__StoredEntry e = MLAUDIT__V1__STORED_ENTRY__INIT;
    e.seq = seq;
    e.entry.data = entry.ptr;
    e.entry.len = entry.len;
    e.leaf_hash.data = leaf.b;
    e.leaf_hash.len = sizeof leaf.b;
    tu_assert_ok(mla_codec_rpc_encode(&eb, &e.base));
    frame(out, 0x0a, mla_buf_slice(&eb));
    mla_buf_dispose(&entry);
    mla_buf_dispose(&eb);
}

/* The answer to one call (rpc_answer_fn): response messages and a status. */
static void liar_answer(void *ctx, const char *method, mla_slice req, rpc_answer *a)
{
    liar *l = ctx;
    lie mode = (lie)l->mode;
    a->hang = mode == LIE_HANG;
    if (a->hang) return;
    mla_buf *msgs = a->msgs;
    a->n_msgs = 1;
    if (mode == LIE_GARBAGE) {
        tu_assert_ok(mla_buf_append(&msgs[0], "\xff\xff\xff", 3));
        return;
    }
    if (strcmp(method, "/mlaudit.v1.Ledger/Append") == 0) {
        ProtobufCMessage *m = NULL;
        tu_assert_ok(
            mla_codec_rpc_decode(&m, &mlaudit__v1__append_request__descriptor, req, "request"));
        liar_receipt(l, &msgs[0], ((Mlaudit__V1__AppendRequest *)m)->envelope, mode);
        mla_codec_rpc_free(m);
    } else if (strcmp(method, "/mlaudit.v1.Ledger/AppendBatch") == 0) {
        ProtobufCMessage *m = NULL;
        tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__append_batch_request__descriptor, req,
                                          "request"));
        const Mlaudit__V1__AppendBatchRequest *b = (const Mlaudit__V1__AppendBatchRequest *)m;
        size_t n = b->n_envelopes - (mode == LIE_BATCH_SHORT ? 1 : 0);
        for (size_t i = 0; i < n; i++) liar_receipt(l, &msgs[0], b->envelopes[i], mode);
        mla_codec_rpc_free(m);
    } else if (strcmp(method, "/mlaudit.v1.Ledger/GetEntries") == 0) {
        ProtobufCMessage *m = NULL;
        tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__get_entries_request__descriptor, req,
                                          "request"));
        const Mlaudit__V1__GetEntriesRequest *g = (const Mlaudit__V1__GetEntriesRequest *)m;
        uint64_t end = g->end ? g->end : mla_log_size(l->log.log);
        if (mode == LIE_ENTRY_SHORT) end--;
        /* Two entries per message, so the client reads several. */
        a->n_msgs = 0;
        for (uint64_t seq = g->start; seq < end; seq++) {
            if (mode == LIE_ENTRY_SKIP && seq == 1) continue;
            if ((seq - g->start) % 2 == 0 || a->n_msgs == 0) (a->n_msgs)++;
            ck_assert_uint_le(a->n_msgs, RPC_SERVER_MAX_MSGS);
            liar_entry(l, &msgs[a->n_msgs - 1], seq, mode);
        }
        mla_codec_rpc_free(m);
    } else if (strcmp(method, "/mlaudit.v1.Ledger/GetCheckpoint") == 0) {
        mla_buf note;
        mla_buf_init(&note, 1 << 16);
        tu_assert_ok(mla_log_checkpoint(l->log.log, &note));
        mla_buf cp;
        mla_buf_init(&cp, 1 << 16);
        frame(&cp, 0x0a, mla_buf_slice(&note));
        frame(&msgs[0], 0x0a, mla_buf_slice(&cp));
        mla_buf_dispose(&cp);
        mla_buf_dispose(&note);
    } else if (strcmp(method, "/mlaudit.v1.Ledger/GetInclusionProof") == 0) {
        ProtobufCMessage *m = NULL;
        tu_assert_ok(mla_codec_rpc_decode(&m, &mlaudit__v1__get_inclusion_proof_request__descriptor,
                                          req, "request"));
        const Mlaudit__V1__GetInclusionProofRequest *g =
            (const Mlaudit__V1__GetInclusionProofRequest *)m;
        uint64_t size = g->tree_size ? g->tree_size : mla_log_size(l->log.log);
        uint64_t seq = g->seq;
        if (g->leaf_case == MLAUDIT__V1__GET_INCLUSION_PROOF_REQUEST__LEAF_LEAF_HASH) {
            mla_hash want;
            ck_assert_uint_eq(g->leaf_hash.len, 32);
            memcpy(want.b, g->leaf_hash.data, 32);
            tu_assert_ok(mla_log_seq_by_leaf(l->log.log, &want, &seq));
        }
        if (mode == LIE_PROOF_LEAF) seq++;
        mla_merkle_proof p;
        mla_hash leaf;
        tu_assert_ok(mla_log_inclusion_proof(l->log.log, seq, size, &p));
        tu_assert_ok(mla_log_leaf_hash(l->log.log, seq, &leaf));
        ProtobufCBinaryData h[MLA_MERKLE_PROOF_MAX];
        for (size_t i = 0; i < p.n; i++) h[i] = (ProtobufCBinaryData){32, p.h[i].b};
        Mlaudit__V1__InclusionProof ip = MLAUDIT__V1__INCLUSION_PROOF__INIT;
        ip.leaf_index = seq;
        ip.tree_size = size;
        ip.hashes = h;
        ip.n_hashes = p.n;
        Mlaudit__V1__GetInclusionProofResponse resp =
            MLAUDIT__V1__GET_INCLUSION_PROOF_RESPONSE__INIT;
        resp.proof = &ip;
        resp.leaf_hash = (ProtobufCBinaryData){32, leaf.b};
        tu_assert_ok(mla_codec_rpc_encode(&msgs[0], &resp.base));
        mla_codec_rpc_free(m);
    } else if (strcmp(method, "/mlaudit.v1.Ledger/GetConsistencyProof") == 0) {
        ProtobufCMessage *m = NULL;
        tu_assert_ok(mla_codec_rpc_decode(
            &m, &mlaudit__v1__get_consistency_proof_request__descriptor, req, "request"));
        const Mlaudit__V1__GetConsistencyProofRequest *g =
            (const Mlaudit__V1__GetConsistencyProofRequest *)m;
        uint64_t from = g->from_size - (mode == LIE_CONS_SIZE ? 1 : 0);
        mla_merkle_proof p;
        tu_assert_ok(mla_log_consistency_proof(l->log.log, from, g->to_size, &p));
        ProtobufCBinaryData h[MLA_MERKLE_PROOF_MAX];
        for (size_t i = 0; i < p.n; i++) h[i] = (ProtobufCBinaryData){32, p.h[i].b};
        Mlaudit__V1__ConsistencyProof cp = MLAUDIT__V1__CONSISTENCY_PROOF__INIT;
        cp.from_size = from;
        cp.to_size = g->to_size;
        cp.hashes = h;
        cp.n_hashes = p.n;
        Mlaudit__V1__GetConsistencyProofResponse resp =
            MLAUDIT__V1__GET_CONSISTENCY_PROOF_RESPONSE__INIT;
        resp.proof = &cp;
        tu_assert_ok(mla_codec_rpc_encode(&msgs[0], &resp.base));
        mla_codec_rpc_free(m);
    } else if (strcmp(method, "/grpc.health.v1.Health/Check") == 0) {
        /* HealthCheckResponse{status}: SERVING = 1, NOT_SERVING = 2. */
        uint8_t b[2] = {0x08, mode == LIE_NOT_SERVING ? 2 : 1};
        tu_assert_ok(mla_buf_append(&msgs[0], b, 2));
    } else {
        a->n_msgs = 0;
        a->code = GRPC_STATUS_UNIMPLEMENTED;
        snprintf(a->details, sizeof a->details, "the liar does not know this method");
    }
}

static void liar_start(liar *l)
{
    memset(l, 0, sizeof *l);
    log_fx_init(&l->log); /* five genuine entries */
    rpc_server_start(&l->srv, liar_answer, l);
}

static void liar_stop(liar *l)
{
    rpc_server_stop(&l->srv);
    log_fx_dispose(&l->log);
}

static mla_client *liar_client(liar *l, int timeout_ms)
{
    mla_client *c = NULL;
    mla_client_options o = {.target = l->srv.target,
                            .insecure = true,
                            .verifier = mla_log_verifier(l->log.log),
                            .timeout_ms = timeout_ms};
    tu_assert_ok(mla_client_open(&c, &o));
    return c;
}

static mla_status liar_append(liar *l, mla_client *c, const char *version, mla_receipt *r)
{
    mla_buf env;
    envelope_model(&env, l->log.admin, "liar", version, (uint8_t)version[0]);
    mla_status rc = mla_client_append(c, mla_buf_slice(&env), r);
    mla_buf_dispose(&env);
    return rc;
}

START_TEST(test_client_refuses_receipts_that_do_not_verify)
{
    liar l;
    liar_start(&l);
    mla_client *c = liar_client(&l, 0);
    mla_receipt r;
    tu_assert_ok(liar_append(&l, c, "a", &r)); /* the honest answer verifies */
    ck_assert_uint_eq(r.seq, 5);
    l.mode = LIE_INCLUSION;
    tu_assert_fail_with(liar_append(&l, c, "b", &r), MLA_ECORRUPT, "receipt.inclusion");
    ck_assert_uint_eq(r.seq, 0);
    l.mode = LIE_LEAF_INDEX;
    tu_assert_fail_with(liar_append(&l, c, "c", &r), MLA_ECORRUPT, "receipt.inclusion.leaf_index");
    /* A proven, signed receipt of someone else's entry is still a lie. */
    l.mode = LIE_OTHER_ENTRY;
    tu_assert_fail_with(liar_append(&l, c, "o1", &r), MLA_ECORRUPT,
                        "receipt.entry: holds a different envelope");
    l.mode = LIE_NO_ENTRY;
    tu_assert_fail_with(liar_append(&l, c, "o2", &r), MLA_ECORRUPT, "receipt.entry: missing");
    l.mode = LIE_GARBAGE;
    tu_assert_fail_with(liar_append(&l, c, "d", &r), MLA_ECORRUPT, "malformed");
    l.mode = LIE_BATCH_SHORT;
    mla_buf env[2];
    mla_slice s[2];
    mla_receipt rs[2];
    envelope_model(&env[0], l.log.admin, "liar", "e", 1);
    envelope_model(&env[1], l.log.admin, "liar", "f", 2);
    s[0] = mla_buf_slice(&env[0]);
    s[1] = mla_buf_slice(&env[1]);
    tu_assert_fail_with(mla_client_append_batch(c, s, 2, rs), MLA_ECORRUPT, "receipts");
    l.mode = LIE_INCLUSION;
    tu_assert_fail_with(mla_client_append_batch(c, s, 2, rs), MLA_ECORRUPT, "receipts[0]");
    l.mode = LIE_NONE;
    for (int i = 0; i < 2; i++) mla_buf_dispose(&env[i]);
    envelope_model(&env[0], l.log.admin, "liar", "g", 3);
    envelope_model(&env[1], l.log.admin, "liar", "h", 4);
    s[0] = mla_buf_slice(&env[0]);
    s[1] = mla_buf_slice(&env[1]);
    tu_assert_ok(mla_client_append_batch(c, s, 2, rs));
    for (int i = 0; i < 2; i++) mla_buf_dispose(&env[i]);
    mla_client_close(c);
    liar_stop(&l);
}
END_TEST

START_TEST(test_client_refuses_lying_entry_streams)
{
    liar l;
    liar_start(&l);
    mla_client *c = liar_client(&l, 0);
    collected got = {0};
    tu_assert_ok(mla_client_entries(c, 0, 0, collect, &got)); /* three messages */
    ck_assert_uint_eq(got.n, 5);
    l.mode = LIE_ENTRY_HASH;
    tu_assert_fail_with(mla_client_entries(c, 0, 0, collect, &got), MLA_ECORRUPT,
                        "entries[seq 1].leaf_hash: does not match");
    l.mode = LIE_ENTRY_SKIP;
    tu_assert_fail_with(mla_client_entries(c, 0, 0, collect, &got), MLA_ECORRUPT,
                        "got seq 2, want 1");
    l.mode = LIE_ENTRY_SHORT;
    tu_assert_fail_with(mla_client_entries(c, 0, 5, collect, &got), MLA_ECORRUPT, "ended at seq 4");
    l.mode = LIE_GARBAGE;
    tu_assert_fail_with(mla_client_entries(c, 0, 0, collect, &got), MLA_ECORRUPT, "malformed");
    mla_client_close(c);
    liar_stop(&l);
}
END_TEST

START_TEST(test_client_refuses_lying_proofs_and_health)
{
    liar l;
    liar_start(&l);
    mla_client *c = liar_client(&l, 0);
    mla_merkle_proof p;
    mla_hash leaf;
    uint64_t size, seq;
    tu_assert_ok(mla_client_inclusion_proof(c, 2, 0, &p, &leaf, &size));
    tu_assert_ok(mla_client_inclusion_proof_by_leaf(c, &leaf, 0, &p, &seq, &size));
    ck_assert_uint_eq(seq, 2);
    l.mode = LIE_PROOF_LEAF;
    tu_assert_fail_with(mla_client_inclusion_proof(c, 2, 0, &p, &leaf, &size), MLA_ECORRUPT,
                        "proof.leaf_index");
    tu_assert_fail_with(mla_client_inclusion_proof_by_leaf(c, &leaf, 0, &p, &seq, &size),
                        MLA_ECORRUPT, "leaf_hash: the server answered for another leaf");
    l.mode = LIE_CONS_SIZE;
    tu_assert_fail_with(mla_client_consistency_proof(c, 3, 5, &p), MLA_ECORRUPT, "proof");
    l.mode = LIE_NOT_SERVING;
    tu_assert_fail_with(mla_client_health(c), MLA_EIO, "health: server is NOT_SERVING");
    l.mode = LIE_NONE;
    tu_assert_ok(mla_client_health(c));
    mla_client_close(c);
    liar_stop(&l);
}
END_TEST

START_TEST(test_client_deadline_is_eio)
{
    liar l;
    liar_start(&l);
    mla_client *c = liar_client(&l, 300);
    l.mode = LIE_HANG;
    int64_t t0 = mla_time_mono_ns();
    mla_receipt r;
    tu_assert_fail_with(liar_append(&l, c, "a", &r), MLA_EIO, "DEADLINE_EXCEEDED");
    collected got = {0};
    tu_assert_fail_with(mla_client_entries(c, 0, 0, collect, &got), MLA_EIO, "DEADLINE_EXCEEDED");
    int64_t ms = (mla_time_mono_ns() - t0) / 1000000;
    /* gRPC's timers may fire a few ms before a deadline (595 ms seen under
     * ASan on a loaded machine); the point is that each call gives up. */
    ck_assert_msg(ms >= 2 * 300 - 50 && ms < 2 * 300 + 2000, "took %lld ms", (long long)ms);
    l.mode = LIE_NONE;
    tu_assert_ok(mla_client_health(c));
    mla_client_close(c);
    liar_stop(&l);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *t = tcase_create("offline");
    tcase_add_test(t, test_client_open_checks_options);
    tcase_add_test(t, test_client_envelope_sign_round_trips);
    tcase_add_test(t, test_client_envelope_sign_refuses_bad_input);
    tcase_add_test(t, test_client_envelope_sign_survives_allocation_failures);
    tcase_add_test(t, test_client_receipt_verify_accepts_log_receipts);
    tcase_add_test(t, test_client_receipt_verify_rejects_tampering);
    tcase_add_test(t, test_client_unreachable_server_is_eio_within_timeout);
    suite_add_tcase(s, t);

    t = tcase_create("liar");
    tcase_add_test(t, test_client_refuses_receipts_that_do_not_verify);
    tcase_add_test(t, test_client_refuses_lying_entry_streams);
    tcase_add_test(t, test_client_refuses_lying_proofs_and_health);
    tcase_add_test(t, test_client_deadline_is_eio);
    suite_add_tcase(s, t);

    {
        /* meson passes $MLAUDITD; without it these fail, saying so. */
        t = tcase_create("daemon");
        tcase_set_timeout(t, 120);
        tcase_add_test(t, test_client_append_returns_verified_receipt);
        tcase_add_test(t, test_client_append_refuses_malformed_envelope_locally);
        tcase_add_test(t, test_client_append_batch_records_all_under_one_checkpoint);
        tcase_add_test(t, test_client_append_batch_is_atomic);
        tcase_add_test(t, test_client_entries_stream_verifies_every_entry);
        tcase_add_test(t, test_client_checkpoint_is_verified);
        tcase_add_test(t, test_client_inclusion_proofs_verify_against_checkpoint);
        tcase_add_test(t, test_client_consistency_proof_between_checkpoints);
        tcase_add_test(t, test_client_server_errors_map_to_statuses);
        tcase_add_test(t, test_client_wrong_verifier_key_is_ecorrupt);
        tcase_add_test(t, test_client_health_is_serving);
        tcase_add_test(t, test_client_is_shared_by_threads);
        suite_add_tcase(s, t);
        /* The test PKI is made with openssl(1) when it is installed. */
        if (access("/usr/bin/openssl", X_OK) == 0) {
            t = tcase_create("tls");
            tcase_set_timeout(t, 120);
            tcase_add_test(t, test_client_mtls_records_certificate_identity);
            tcase_add_test(t, test_client_mtls_refuses_untrusted_peers);
            suite_add_tcase(s, t);
        } else {
            fprintf(stderr, "test_client: no /usr/bin/openssl, TLS tests not run\n");
        }
    }
    return s;
}

int main(void) { return tu_run(client_suite()); }
