/* daemon_util: see daemon_util.h. The daemon is forked with
 * PR_SET_PDEATHSIG so a failed test leaves none behind, and writes its
 * stderr straight into DIR/daemon.log (no pipe to drain). Every wait polls
 * with a deadline. */
#include "daemon_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

#define POLL_MS 10
#define START_TIMEOUT_NS (20 * 1000000000LL)
#define STOP_TIMEOUT_NS (20 * 1000000000LL)
#define MAX_ARGS 64

mla_privkey *td_key_from_byte(uint8_t b)
{
    uint8_t seed[32];
    mla_privkey *k = NULL;
    memset(seed, b, sizeof seed);
    tu_assert_ok(mla_crypto_key_from_seed(&k, seed));
    return k;
}

void td_path(char *out, size_t cap, const td_daemon *d, const char *name)
{
    ck_assert(snprintf(out, cap, "%s/%s", d->dir, name) < (int)cap);
}

void td_read_text(mla_buf *out, const char *path)
{
    tu_read_file(out, path);
    tu_assert_ok(mla_buf_append_byte(out, 0));
}

bool td_file_has(const char *path, const char *needle)
{
    mla_buf b;
    td_read_text(&b, path);
    bool found = strstr((const char *)b.ptr, needle) != NULL;
    mla_buf_dispose(&b);
    return found;
}

void td_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

bool td_slurp(char *out, size_t cap, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    return true;
}

const char *td_log_tail(const td_daemon *d)
{
    static char tail[6000];
    tail[0] = '\0';
    FILE *f = fopen(d->log_path, "rb");
    if (!f) return tail;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        long from = len > (long)sizeof tail - 1 ? len - ((long)sizeof tail - 1) : 0;
        if (fseek(f, from, SEEK_SET) == 0) tail[fread(tail, 1, sizeof tail - 1, f)] = '\0';
    }
    fclose(f);
    return tail;
}

bool td_log_has(const td_daemon *d, const char *needle) { return td_file_has(d->log_path, needle); }

void td_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

void td_init(td_daemon *d, const char *origin)
{
    memset(d, 0, sizeof *d);
    d->pid = -1;
    d->origin = origin;
    tu_assert_ok(mla_crypto_init());
    d->dir = tu_tmpdir_new();
    td_path(d->data, sizeof d->data, d, "data");
    td_path(d->port_path, sizeof d->port_path, d, "port");
    td_path(d->log_path, sizeof d->log_path, d, "daemon.log");
    td_path(d->admin_pub, sizeof d->admin_pub, d, "admin.pub");
    td_path(d->logkey_path, sizeof d->logkey_path, d, "log.key");
    td_path(d->config, sizeof d->config, d, "mlauditd.conf");
    snprintf(d->listen, sizeof d->listen, "127.0.0.1:0");
    d->admin = td_key_from_byte(1);
    d->logkey = td_key_from_byte(3);
    d->stranger = td_key_from_byte(4);
    tu_assert_ok(mla_note_verifier_init(&d->verifier, mla_slice_cstr(origin),
                                        mla_crypto_key_public(d->logkey)));
    tu_assert_ok(mla_crypto_keyfile_write_private(d->logkey_path, d->logkey));
    tu_assert_ok(mla_crypto_keyfile_write_public(d->admin_pub, mla_crypto_key_public(d->admin)));
}

void td_write_config(td_daemon *d)
{
    /* The ledger keys come from the file, the rest from flags: both paths. */
    char conf[2048];
    ck_assert(snprintf(conf, sizeof conf,
                       "# test configuration\n[ledger]\ndata_dir = %s\nadmin_keys = %s\n"
                       "origin = %s\n[server]\nworkers = 8\n",
                       d->data, d->admin_pub, d->origin) < (int)sizeof conf);
    td_write_file(d->config, conf);
    mla_crypto_key_free(d->logkey);
    d->logkey = NULL;
    d->configured = true;
}

static const char *binary(void)
{
    const char *p = getenv("MLAUDITD");
    ck_assert_msg(p != NULL, "MLAUDITD is not set (run through meson test)");
    return p;
}

/* Fork and exec argv (argv[0] the binary) with stderr into the log, which a
 * launch appends to (every launch in one file) and td_run replaces. */
static pid_t spawn(const td_daemon *d, const char *const *argv, bool truncate)
{
    int logfd =
        open(d->log_path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0644);
    ck_assert_msg(logfd >= 0, "%s: %s", d->log_path, strerror(errno));
    int nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ck_assert(nullfd >= 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        /* Async-signal-safe calls only until exec. A failed test must not
         * leave daemons behind: the kernel kills this one with us. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        if (dup2(logfd, 2) < 0 || dup2(nullfd, 1) < 0) _exit(127);
        execve(argv[0], (char *const *)(uintptr_t)argv, environ);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    return pid;
}

/* Poll until pid exits or the deadline passes; true with *status if it did. */
static bool wait_bounded(pid_t pid, int *status)
{
    int64_t give_up = mla_time_mono_ns() + STOP_TIMEOUT_NS;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return true;
        ck_assert_msg(r == 0, "waitpid: %s", strerror(errno));
        if (mla_time_mono_ns() >= give_up) return false;
        td_sleep_ms(POLL_MS);
    }
}

/* The daemon's key as published in data/log.vkey: read when the daemon
 * made it, else checked against ours. */
static void check_vkey(td_daemon *d)
{
    char path[450];
    ck_assert(snprintf(path, sizeof path, "%s/log.vkey", d->data) < (int)sizeof path);
    mla_buf vkey;
    td_read_text(&vkey, path);
    ck_assert_msg(vkey.len >= 2 && vkey.ptr[vkey.len - 2] == '\n', "%s: no newline", path);
    if (d->configured) {
        tu_assert_ok(mla_note_verifier_parse(&d->verifier, mla_slice_make(vkey.ptr, vkey.len - 2)));
    } else {
        mla_buf want;
        mla_buf_init(&want, 1024);
        tu_assert_ok(mla_note_verifier_format(&want, &d->verifier));
        ck_assert_msg(mla_slice_eq(mla_slice_make(vkey.ptr, vkey.len - 2), mla_buf_slice(&want)),
                      "log.vkey is \"%s\", want \"%.*s\"", (const char *)vkey.ptr, (int)want.len,
                      (const char *)want.ptr);
        mla_buf_dispose(&want);
    }
    mla_buf_dispose(&vkey);
}

void td_launch(td_daemon *d, bool init)
{
    ck_assert(d->pid < 0);
    /* A stale port file would name the previous daemon's port. */
    ck_assert(unlink(d->port_path) == 0 || errno == ENOENT);
    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = binary();
    if (d->configured) {
        argv[n++] = "--config";
        argv[n++] = d->config;
        argv[n++] = "--grace-ms";
        argv[n++] = "5000";
    } else {
        const char *flags[] = {"--data-dir",    d->data,        "--origin",    d->origin,
                               "--signing-key", d->logkey_path, "--admin-key", d->admin_pub};
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) argv[n++] = flags[i];
    }
    argv[n++] = "--listen";
    argv[n++] = d->listen;
    argv[n++] = "--port-file";
    argv[n++] = d->port_path;
    if (!d->tls) argv[n++] = "--insecure";
    if (init) argv[n++] = "--init";
    for (const char *const *x = d->extra; x && *x; x++) {
        ck_assert(n < MAX_ARGS - 1);
        argv[n++] = *x;
    }
    argv[n] = NULL;
    d->pid = spawn(d, argv, false);
    d->launches++;

    /* The port file is written once the daemon listens; fail at once if it
     * exits first. */
    char addr[256];
    int64_t give_up = mla_time_mono_ns() + START_TIMEOUT_NS;
    while (!(td_slurp(addr, sizeof addr, d->port_path) && strchr(addr, '\n'))) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = -1;
            ck_abort_msg("mlauditd (launch %d) exited early (status 0x%x); its log:\n%s",
                         d->launches, status, td_log_tail(d));
        }
        ck_assert_msg(mla_time_mono_ns() < give_up,
                      "mlauditd (launch %d) did not write its port file; its log:\n%s", d->launches,
                      td_log_tail(d));
        td_sleep_ms(POLL_MS);
    }
    *strchr(addr, '\n') = '\0';
    ck_assert_msg(strncmp(addr, "127.0.0.1:", 10) == 0, "port file: %s", addr);
    ck_assert(snprintf(d->target, sizeof d->target, "%s", addr) < (int)sizeof d->target);
    check_vkey(d);
    if (d->rpc) d->conn = rpc_connect(d->target);
}

void td_init_rpc(td_daemon *d, const char *origin)
{
    td_init(d, origin);
    td_write_config(d);
    d->rpc = true;
}

void td_start_rpc(td_daemon *d, const char *origin, const char *const *extra)
{
    td_init_rpc(d, origin);
    d->extra = extra;
    td_launch(d, true);
}

int td_run(td_daemon *d, const char *const *args)
{
    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = binary();
    for (; *args; args++) {
        ck_assert(n < MAX_ARGS - 1);
        argv[n++] = *args;
    }
    argv[n] = NULL;
    pid_t pid = spawn(d, argv, true);
    int status = 0;
    if (!wait_bounded(pid, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ck_abort_msg("mlauditd did not exit within 20 s; its log:\n%s", td_log_tail(d));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

int td_wait(td_daemon *d)
{
    ck_assert(d->pid > 0);
    int status = 0;
    if (!wait_bounded(d->pid, &status)) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        status = -1;
    }
    d->pid = -1;
    return status;
}

static void close_clients(td_daemon *d)
{
    mla_client_close(d->client);
    d->client = NULL;
    rpc_close(d->conn);
    d->conn = NULL;
}

/* SIGTERM and the wait: the wait status (-1: killed), *ms the time taken. */
static int term(td_daemon *d, int64_t *ms)
{
    close_clients(d);
    ck_assert(d->pid > 0); /* kill(-1) would signal every process we may */
    int64_t t0 = mla_time_mono_ns();
    ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
    int status = td_wait(d);
    *ms = (mla_time_mono_ns() - t0) / 1000000;
    return status;
}

int64_t td_terminate(td_daemon *d)
{
    int64_t ms;
    int status = term(d, &ms);
    /* A wait status of 0 is exit(0). */
    ck_assert_msg(status == 0, "mlauditd did not exit 0 on SIGTERM (status 0x%x); its log:\n%s",
                  (unsigned)status, td_log_tail(d));
    return ms;
}

void td_kill9(td_daemon *d)
{
    ck_assert(d->pid > 0);
    ck_assert(kill(d->pid, SIGKILL) == 0);
    int status = 0;
    ck_assert(waitpid(d->pid, &status, 0) == d->pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    d->pid = -1;
}

void td_dispose(td_daemon *d)
{
    close_clients(d);
    if (d->pid > 0) td_kill9(d);
    mla_crypto_key_free(d->admin);
    mla_crypto_key_free(d->logkey);
    mla_crypto_key_free(d->stranger);
    tu_rmtree(d->dir);
    free(d->dir);
    d->dir = NULL;
}

void td_stop(td_daemon *d)
{
    int64_t ms;
    int status = term(d, &ms);
    const char *tail = td_log_tail(d); /* static: still there after the directory goes */
    td_dispose(d);
    ck_assert_msg(status == 0, "mlauditd did not exit 0 on SIGTERM (status 0x%x); its log:\n%s",
                  (unsigned)status, tail);
}

mla_client *td_client(const td_daemon *d, const mla_note_verifier *v, int timeout_ms)
{
    mla_client *c = NULL;
    mla_client_options o = {
        .target = d->target, .insecure = true, .verifier = v, .timeout_ms = timeout_ms};
    tu_assert_ok(mla_client_open(&c, &o));
    return c;
}

void td_model_change(td_model *m, const char *name, const char *version)
{
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    mla_pb_artifact a = MLAUDIT__V1__ARTIFACT__INIT;
    mla_pb_input in = MLAUDIT__V1__INPUT__INIT;
    m->c = c;
    m->subject = a;
    m->data = a;
    m->in = in;
    m->subject.type = (char *)(uintptr_t) "model";
    m->subject.name = (char *)(uintptr_t)name;
    m->subject.version = (char *)(uintptr_t)version;
    m->subject.digest.data = m->digest;
    m->subject.digest.len = sizeof m->digest;
    m->c.kind = MLAUDIT__V1__KIND__KIND_MODEL;
    m->c.subject = &m->subject;
    m->data.type = (char *)(uintptr_t) "dataset";
    m->data.name = (char *)(uintptr_t) "training-set";
    m->data.version = (char *)(uintptr_t) "1";
    m->in.artifact = &m->data;
    m->in.role = (char *)(uintptr_t) "training-data";
    m->inp = &m->in;
    m->c.inputs = &m->inp;
    m->c.n_inputs = 1;
}
