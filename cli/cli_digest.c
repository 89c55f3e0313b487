/* cli_digest: SPEC §3 digests of what `record --path` names. A file: SHA-256
 * of its bytes. A directory (most models): the OpenSSF model-signing v1.0
 * root — every regular file below it, found without following symlinks,
 * ordered by relative path ('/'-separated, bytewise), and SHA-256 over the
 * concatenation of their 32-byte SHA-256 digests in that order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define DIGEST_MAX_FILES 1000000
#define DIGEST_PATH_MAX 4096

typedef struct file_list {
    char **rel;
    size_t n, cap;
} file_list;

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++) mla_free(l->rel[i]);
    mla_free(l->rel);
}

static mla_status list_add(file_list *l, const char *rel)
{
    if (l->n == DIGEST_MAX_FILES)
        return mla_err(MLA_ELIMIT, "path: more than %d files", DIGEST_MAX_FILES);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **p = mla_realloc(l->rel, cap * sizeof *p);
        if (!p) return mla_err(MLA_ENOMEM, "path: out of memory");
        l->rel = p;
        l->cap = cap;
    }
    if (!(l->rel[l->n] = mla_strndup(rel, strlen(rel))))
        return mla_err(MLA_ENOMEM, "path: out of memory");
    l->n++;
    return MLA_OK;
}

static mla_status walk(file_list *l, const char *root, const char *rel, unsigned depth)
{
    char dir[DIGEST_PATH_MAX];
    if (depth > 64) return mla_err(MLA_ELIMIT, "path: %s/%s nests deeper than 64", root, rel);
    int n = rel[0] ? snprintf(dir, sizeof dir, "%s/%s", root, rel)
                   : snprintf(dir, sizeof dir, "%s", root);
    if (n < 0 || (size_t)n >= sizeof dir)
        return mla_err(MLA_EINVAL, "path: %s/%s too long", root, rel);
    DIR *d = opendir(dir);
    if (!d) return mla_err(MLA_EIO, "path: cannot open directory %s (%s)", dir, strerror(errno));
    mla_status rc = MLA_OK;
    struct dirent *e;
    while (rc == MLA_OK && (errno = 0, e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child_rel[DIGEST_PATH_MAX], child[DIGEST_PATH_MAX * 2];
        n = rel[0] ? snprintf(child_rel, sizeof child_rel, "%s/%s", rel, e->d_name)
                   : snprintf(child_rel, sizeof child_rel, "%s", e->d_name);
        if (n < 0 || (size_t)n >= sizeof child_rel) {
            rc = mla_err(MLA_EINVAL, "path: %s/%s too long", dir, e->d_name);
            break;
        }
        snprintf(child, sizeof child, "%s/%s", root, child_rel);
        struct stat st;
        if (lstat(child, &st) != 0) {
            rc = mla_err(MLA_EIO, "path: cannot stat %s (%s)", child, strerror(errno));
        } else if (S_ISLNK(st.st_mode)) {
            /* A link may point outside the model, or change what it names
             * after signing: model-signing refuses them too. */
            rc = mla_err(MLA_EINVAL,
                         "path: %s is a symbolic link; the digest covers regular files only — "
                         "replace the link with the file it names or remove it",
                         child);
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(l, root, child_rel, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            rc = list_add(l, child_rel);
        } else {
            rc = mla_err(MLA_EINVAL, "path: %s is not a regular file or directory", child);
        }
    }
    if (rc == MLA_OK && errno != 0)
        rc = mla_err(MLA_EIO, "path: cannot read directory %s (%s)", dir, strerror(errno));
    closedir(d);
    return rc;
}

static mla_status file_sha256(mla_hash *out, mla_sha256 *h, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return mla_err(MLA_EIO, "path: cannot open %s (%s)", path, strerror(errno));
    static uint8_t chunk[1 << 20];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return mla_err(MLA_EIO, "path: cannot read %s (%s)", path, strerror(e));
        }
        if (r == 0) break;
        mla_crypto_sha256_update(h, mla_slice_make(chunk, (size_t)r));
    }
    close(fd);
    mla_crypto_sha256_final(h, out);
    return MLA_OK;
}

static int rel_cmp(const void *a, const void *b)
{
    /* strcmp compares as unsigned char (C11 7.24.4): bytewise order. */
    return strcmp(*(char *const *)a, *(char *const *)b);
}

mla_status cli_digest_path(mla_hash *out, size_t *n_files_out, const char *path)
{
    struct stat st;
    MLA_TRY(mla_crypto_init());
    if (lstat(path, &st) != 0)
        return mla_err(errno == ENOENT ? MLA_ENOTFOUND : MLA_EIO, "path: %s: %s", path,
                       strerror(errno));
    if (S_ISLNK(st.st_mode))
        return mla_err(MLA_EINVAL, "path: %s is a symbolic link; name the file or directory itself",
                       path);
    mla_sha256 *h = NULL;
    MLA_TRY(mla_crypto_sha256_new(&h));
    mla_status rc;
    if (S_ISREG(st.st_mode)) {
        rc = file_sha256(out, h, path);
        *n_files_out = 1;
        mla_crypto_sha256_free(h);
        return rc;
    }
    if (!S_ISDIR(st.st_mode)) {
        mla_crypto_sha256_free(h);
        return mla_err(MLA_EINVAL, "path: %s is not a regular file or directory", path);
    }
    file_list l = {NULL, 0, 0};
    mla_sha256 *root = NULL;
    if ((rc = walk(&l, path, "", 0)) != MLA_OK) goto out;
    qsort(l.rel, l.n, sizeof *l.rel, rel_cmp);
    if ((rc = mla_crypto_sha256_new(&root)) != MLA_OK) goto out;
    for (size_t i = 0; i < l.n; i++) {
        char full[DIGEST_PATH_MAX * 2];
        mla_hash fh;
        snprintf(full, sizeof full, "%s/%s", path, l.rel[i]);
        if ((rc = file_sha256(&fh, h, full)) != MLA_OK) goto out;
        mla_crypto_sha256_update(root, mla_slice_make(fh.b, 32));
    }
    mla_crypto_sha256_final(root, out);
    *n_files_out = l.n;
out:
    mla_crypto_sha256_free(root);
    mla_crypto_sha256_free(h);
    list_free(&l);
    return rc;
}

void cli_digest_text(char out[CLI_DIGEST_TEXT_LEN], ProtobufCBinaryData digest)
{
    if (digest.len != 32) {
        snprintf(out, CLI_DIGEST_TEXT_LEN, "-");
        return;
    }
    memcpy(out, "sha256:", 7);
    mla_hex_encode_to(out + 7, digest.data, 32);
}

const char *cli_digest_hex(const char *s) { return strncasecmp(s, "sha256:", 7) ? s : s + 7; }

mla_status cli_digest_parse(ProtobufCBinaryData *out, cli_arena *a, const char *s,
                            const char *field)
{
    mla_hash h;
    MLA_TRY(mla_hash_from_hex(&h, mla_slice_cstr(cli_digest_hex(s)), field));
    uint8_t *p = cli_arena_alloc(a, sizeof h.b);
    if (!p) return mla_err(MLA_ENOMEM, "out of memory");
    memcpy(p, h.b, sizeof h.b);
    out->data = p;
    out->len = sizeof h.b;
    return MLA_OK;
}

static const cli_flag digest_flags[] = {{NULL, 0, NULL, false, NULL}};

static int digest_run(cli_ctx *ctx)
{
    if (ctx->n_pos == 0) return cli_usage(ctx, "PATH: required — a file or a directory");
    json_t *arr = ctx->json ? json_array() : NULL;
    for (size_t i = 0; i < ctx->n_pos; i++) {
        mla_hash d;
        size_t n_files = 0;
        mla_status rc = cli_digest_path(&d, &n_files, ctx->pos[i]);
        if (rc != MLA_OK) {
            json_decref(arr);
            return cli_fail_local(ctx, rc);
        }
        char hex[65];
        mla_hex_encode_to(hex, d.b, 32);
        if (arr)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "path", ctx->pos[i], "sha256",
                                                 hex, "files", (json_int_t)n_files));
        else
            printf("%s  %s  (%zu file%s)\n", hex, ctx->pos[i], n_files, n_files == 1 ? "" : "s");
    }
    if (arr) cli_json_print(arr);
    return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_digest = {
    "digest",
    "digest PATH...",
    "Print the SPEC §3 SHA-256 digest of files and directories, as `record --path` records it.",
    "A file's digest is the SHA-256 of its bytes. A directory's digest is the OpenSSF\n"
    "model-signing v1.0 root: every regular file below it (symbolic links are refused,\n"
    "not followed), ordered by relative path bytewise with '/' separators, and SHA-256\n"
    "over the concatenation of the files' 32-byte SHA-256 digests in that order.\n",
    digest_flags,
    false,
    digest_run,
};
