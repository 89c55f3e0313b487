/* bench_daemon: an mlauditd child process for the gRPC benchmarks. */
#include "bench_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "log/log_int.h"
#include "store/store.h"

extern char **environ;

/* Key files for a daemon in dir (its data directory is dir/data). */
void bench_daemon_init(bench_daemon *d, char *dir, const char *origin)
{
    memset(d, 0, sizeof *d);
    d->pid = -1;
    d->dir = dir;
    d->admin = bench_key_from_byte(1);
    d->logkey = bench_key_from_byte(3);
    CHECK(mla_note_verifier_init(&d->verifier, mla_slice_cstr(origin),
                                 mla_crypto_key_public(d->logkey)));
    snprintf(d->data, sizeof d->data, "%s/data", dir);
    snprintf(d->port, sizeof d->port, "%s/port", dir);
    snprintf(d->logkey_path, sizeof d->logkey_path, "%s/log.key", dir);
    snprintf(d->admin_path, sizeof d->admin_path, "%s/admin.pub", dir);
    snprintf(d->log_path, sizeof d->log_path, "%s/daemon.log", dir);
    CHECK(mla_crypto_keyfile_write_private(d->logkey_path, d->logkey));
    CHECK(mla_crypto_keyfile_write_public(d->admin_path, mla_crypto_key_public(d->admin)));
}

void bench_daemon_start(bench_daemon *d, const char *mlauditd_path, const char *const *extra)
{
    unlink(d->port);
    const char *argv[48] = {
        mlauditd_path,   "--init",       "--data-dir",  d->data,       "--origin", d->verifier.name,
        "--signing-key", d->logkey_path, "--admin-key", d->admin_path, "--listen", "127.0.0.1:0",
        "--insecure",    "--port-file",  d->port,       "--cache-mb",  "64"};
    size_t n_args = 17;
    for (; extra && *extra && n_args + 1 < sizeof argv / sizeof argv[0]; extra++)
        argv[n_args++] = *extra;
    argv[n_args] = NULL;
    int log_fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) BENCH_DIE("%s: %s", d->log_path, strerror(errno));
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) BENCH_DIE("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(log_fd, 2);
        execve(mlauditd_path, (char *const *)(uintptr_t)argv, environ);
        _exit(127);
    }
    close(log_fd);
    d->pid = pid;
    int64_t t0 = mla_time_mono_ns();
    char addr[256] = "";
    for (;;) {
        FILE *f = fopen(d->port, "rb");
        if (f) {
            size_t n = fread(addr, 1, sizeof addr - 1, f);
            fclose(f);
            addr[n] = '\0';
            if (strchr(addr, '\n')) break;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            BENCH_DIE("mlauditd (%s) exited (status 0x%x); see %s", mlauditd_path, status,
                      d->log_path);
        if (bench_secs_since(t0) > 60)
            BENCH_DIE("mlauditd did not start in 60 s; see %s", d->log_path);
        bench_sleep_ns(5000000);
    }
    *strchr(addr, '\n') = '\0';
    snprintf(d->target, sizeof d->target, "%s", addr);
}

void bench_daemon_stop(bench_daemon *d)
{
    if (d->pid <= 0) return;
    kill(d->pid, SIGTERM);
    int status = 0;
    int64_t t0 = mla_time_mono_ns();
    pid_t w;
    while ((w = waitpid(d->pid, &status, WNOHANG)) == 0 && bench_secs_since(t0) < 30)
        bench_sleep_ns(5000000);
    if (w == 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        fprintf(stderr, "warning: mlauditd did not stop in 30 s after SIGTERM\n");
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "warning: mlauditd stopped with status 0x%x\n", status);
    }
    d->pid = -1;
}

void bench_daemon_dispose(bench_daemon *d)
{
    bench_daemon_stop(d);
    mla_crypto_key_free(d->admin);
    mla_crypto_key_free(d->logkey);
    bench_rmtree(d->dir);
    free(d->dir);
}

void bench_daemon_open_log(const bench_daemon *d, mla_store **store_out, mla_log **log_out)
{
    char db[4300];
    if (mkdir(d->data, 0700) != 0 && errno != EEXIST) BENCH_DIE("%s: %s", d->data, strerror(errno));
    snprintf(db, sizeof db, "%s/db", d->data);
    mla_store_leveldb_options so = {
        .create_if_missing = true, .bloom_bits_per_key = 10, .cache_bytes = 64u << 20};
    CHECK(mla_store_open_leveldb(store_out, db, &so));
    mla_log_options lo = {.origin = d->verifier.name,
                          .signing_key = d->logkey,
                          .admin_keys = mla_crypto_key_public(d->admin),
                          .n_admin_keys = 1};
    CHECK(mla_log_open(log_out, *store_out, &lo));
    mla_log__bench_skip_signature_checks(*log_out, true);
}

mla_client *bench_daemon_client(const bench_daemon *d)
{
    mla_client *c = NULL;
    mla_client_options o = {
        .target = d->target, .insecure = true, .verifier = &d->verifier, .timeout_ms = 30000};
    CHECK(mla_client_open(&c, &o));
    return c;
}
