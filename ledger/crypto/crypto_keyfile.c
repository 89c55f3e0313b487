/* crypto_keyfile: Ed25519 keys on disk in a small strict text format, so
 * operators can read, diff and back them up, and a damaged file is refused
 * with the line and field at fault rather than half-loaded.
 *
 * Format (every line ends in LF; nothing else is allowed: no CR, no blank or
 * comment lines, no trailing spaces, fields in exactly this order):
 *
 *   mlaudit-private-key-v1            or   mlaudit-public-key-v1
 *   algorithm: ed25519                     algorithm: ed25519
 *   public: <base64 of 32 bytes>           public: <base64 of 32 bytes>
 *   seed: <base64 of 32 bytes>
 *
 * base64 is standard, padded and canonical (RFC 4648 §4), so each value is
 * exactly 44 characters. `public` is the raw RFC 8032 public key; `seed` is
 * the 32-byte RFC 8032 private key. A file is at most 4 KiB.
 *
 * Private files are created with O_CREAT|O_EXCL mode 0600 (an existing file
 * is never overwritten), fsync'd together with their directory, and refused
 * on reading when any group/other permission bit is set. Reading checks that
 * `public` is the key the seed derives. Public files are created 0644, also
 * without overwriting. Seed bytes are wiped from every temporary buffer. */
#include "crypto/crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYFILE_MAX 4096
#define HEADER_PRIVATE "mlaudit-private-key-v1"
#define HEADER_PUBLIC "mlaudit-public-key-v1"
#define B64_32_LEN 44 /* base64 of 32 bytes with padding */

/* ---- writing ---------------------------------------------------------- */

static mla_status append_b64_line(mla_buf *text, const char *name, const uint8_t *b, size_t n)
{
    MLA_TRY(mla_buf_append_cstr(text, name));
    MLA_TRY(mla_buf_append_cstr(text, ": "));
    MLA_TRY(mla_base64_encode(text, mla_slice_make(b, n)));
    return mla_buf_append_byte(text, '\n');
}

static mla_status format_key(mla_buf *text, const mla_pubkey *pub, const uint8_t *seed)
{
    MLA_TRY(mla_buf_append_cstr(text, seed ? HEADER_PRIVATE "\n" : HEADER_PUBLIC "\n"));
    MLA_TRY(mla_buf_append_cstr(text, "algorithm: ed25519\n"));
    MLA_TRY(append_b64_line(text, "public", pub->b, sizeof pub->b));
    if (seed) MLA_TRY(append_b64_line(text, "seed", seed, MLA_ED25519_SEED_LEN));
    return MLA_OK;
}

/* The directory entry of a new file is durable only once its directory is
 * fsync'd. */
static mla_status sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir)
        return mla_err(MLA_EINVAL, "%s: directory name exceeds %d bytes", path, PATH_MAX);
    if (!slash)
        memcpy(dir, ".", 2);
    else if (n == 0)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return mla_err(MLA_EIO, "%s: open: %s", dir, strerror(errno));
    int r = fsync(fd);
    int err = errno;
    close(fd);
    if (r != 0) return mla_err(MLA_EIO, "%s: fsync: %s", dir, strerror(err));
    return MLA_OK;
}

static mla_status write_new_file(const char *path, mla_slice text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return mla_err(MLA_EEXISTS, "%s: already exists; a key file is never overwritten",
                           path);
        return mla_err(MLA_EIO, "%s: create: %s", path, strerror(errno));
    }
    mla_status rc = MLA_OK;
    size_t off = 0;
    while (off < text.len) {
        ssize_t w = write(fd, text.ptr + off, text.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            rc = mla_err(MLA_EIO, "%s: write: %s", path, w < 0 ? strerror(errno) : "no progress");
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) rc = mla_err(MLA_EIO, "%s: fsync: %s", path, strerror(errno));
out:
    if (close(fd) != 0 && rc == MLA_OK)
        rc = mla_err(MLA_EIO, "%s: close: %s", path, strerror(errno));
    /* We created it (O_EXCL), so removing a partial file is ours to do. */
    if (rc != MLA_OK) unlink(path);
    if (rc == MLA_OK) rc = sync_parent_dir(path);
    return rc;
}

mla_status mla_crypto_keyfile_write_private(const char *path, const mla_privkey *k)
{
    mla_buf text;
    mla_buf_init(&text, KEYFILE_MAX);
    mla_status rc = format_key(&text, mla_crypto_key_public(k), mla_crypto__key_seed(k));
    if (rc == MLA_OK) rc = write_new_file(path, mla_buf_slice(&text), 0600);
    mla_buf_dispose(&text); /* wipes the encoded seed */
    return rc;
}

mla_status mla_crypto_keyfile_write_public(const char *path, const mla_pubkey *pub)
{
    mla_buf text;
    mla_buf_init(&text, KEYFILE_MAX);
    mla_status rc = format_key(&text, pub, NULL);
    if (rc == MLA_OK) rc = write_new_file(path, mla_buf_slice(&text), 0644);
    mla_buf_dispose(&text);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

/* Reads the whole file into buf[KEYFILE_MAX]; refuses a private key file that
 * group or other may access when `private_mode_check`. */
static mla_status read_file(uint8_t buf[KEYFILE_MAX], size_t *len_out, const char *path,
                            bool private_mode_check)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) return mla_err(MLA_ENOTFOUND, "%s: no such key file", path);
        if (errno == EACCES) return mla_err(MLA_EDENIED, "%s: open: %s", path, strerror(errno));
        return mla_err(MLA_EIO, "%s: open: %s", path, strerror(errno));
    }
    mla_status rc = MLA_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = mla_err(MLA_EIO, "%s: stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mla_err(MLA_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if (private_mode_check && (st.st_mode & 077)) {
        rc = mla_err(MLA_EDENIED,
                     "%s: mode %04o lets group or others read a private key; run chmod 600 %s",
                     path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    size_t len = 0;
    for (;;) {
        /* One byte of slack would not fit: read in pieces and stop at the cap. */
        uint8_t probe;
        ssize_t r =
            len < KEYFILE_MAX ? read(fd, buf + len, KEYFILE_MAX - len) : read(fd, &probe, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = mla_err(MLA_EIO, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0) break;
        if (len == KEYFILE_MAX) {
            rc = mla_err(MLA_EINVAL, "%s: larger than the %d-byte limit for a key file", path,
                         KEYFILE_MAX);
            goto out;
        }
        len += (size_t)r;
    }
    *len_out = len;
out:
    close(fd);
    return rc;
}

typedef struct line_cursor {
    const char *path;
    mla_slice text;
    size_t off;
    int line_no; /* of the line last taken */
} line_cursor;

/* Takes the next LF-terminated line (without the LF); `field` names what the
 * line should hold, for the error if there is none. */
static mla_status next_line(line_cursor *c, mla_slice *out, const char *field)
{
    c->line_no++;
    if (c->off == c->text.len)
        return mla_err(MLA_EINVAL, "%s:%d: %s: missing (file ends)", c->path, c->line_no, field);
    const uint8_t *start = c->text.ptr + c->off;
    const uint8_t *lf = memchr(start, '\n', c->text.len - c->off);
    if (!lf)
        return mla_err(MLA_EINVAL, "%s:%d: %s: line is not terminated by LF", c->path, c->line_no,
                       field);
    *out = mla_slice_make(start, (size_t)(lf - start));
    c->off += out->len + 1;
    return MLA_OK;
}

/* "<name>: <base64 of 32 bytes>" into out[32]. */
static mla_status parse_b64_line(line_cursor *c, uint8_t out[32], const char *name)
{
    mla_slice line;
    MLA_TRY(next_line(c, &line, name));
    size_t name_len = strlen(name);
    if (line.len < name_len + 2 || memcmp(line.ptr, name, name_len) != 0 ||
        memcmp(line.ptr + name_len, ": ", 2) != 0)
        return mla_err(MLA_EINVAL, "%s:%d: %s: line must start with \"%s: \"", c->path, c->line_no,
                       name, name);
    mla_slice value = mla_slice_make(line.ptr + name_len + 2, line.len - name_len - 2);
    if (value.len != B64_32_LEN)
        return mla_err(MLA_EINVAL, "%s:%d: %s: %zu base64 characters, want %d (32 bytes)", c->path,
                       c->line_no, name, value.len, B64_32_LEN);
    char field[PATH_MAX + 64];
    int fn = snprintf(field, sizeof field, "%s:%d: %s", c->path, c->line_no, name);
    MLA_ASSERT(fn > 0);
    mla_buf raw;
    mla_buf_init(&raw, 64);
    mla_status rc = mla_base64_decode(&raw, value, field);
    if (rc == MLA_OK && raw.len != 32)
        rc = mla_err(MLA_EINVAL, "%s: %zu bytes, want 32", field, raw.len);
    if (rc == MLA_OK) memcpy(out, raw.ptr, 32);
    mla_buf_dispose(&raw); /* may hold the seed: wiped */
    return rc;
}

static bool line_is(mla_slice line, const char *want)
{
    return mla_slice_eq(line, mla_slice_cstr(want));
}

/* Parses a whole key file. seed_out receives the seed of a private file. */
static mla_status parse_key(const char *path, mla_slice text, bool *is_private, mla_pubkey *pub,
                            uint8_t seed_out[MLA_ED25519_SEED_LEN])
{
    line_cursor c = {path, text, 0, 0};
    mla_slice line;
    MLA_TRY(next_line(&c, &line, "header"));
    if (line_is(line, HEADER_PRIVATE))
        *is_private = true;
    else if (line_is(line, HEADER_PUBLIC))
        *is_private = false;
    else
        return mla_err(MLA_EINVAL, "%s:1: header: want \"%s\" or \"%s\"", path, HEADER_PRIVATE,
                       HEADER_PUBLIC);
    MLA_TRY(next_line(&c, &line, "algorithm"));
    if (!line_is(line, "algorithm: ed25519"))
        return mla_err(MLA_EINVAL, "%s:2: algorithm: want \"algorithm: ed25519\"", path);
    MLA_TRY(parse_b64_line(&c, pub->b, "public"));
    if (*is_private) MLA_TRY(parse_b64_line(&c, seed_out, "seed"));
    if (c.off != text.len)
        return mla_err(MLA_EINVAL, "%s:%d: unexpected content after the %s line", path,
                       c.line_no + 1, *is_private ? "seed" : "public");
    return MLA_OK;
}

mla_status mla_crypto_keyfile_read_private(mla_privkey **out, const char *path)
{
    *out = NULL;
    uint8_t text[KEYFILE_MAX], seed[MLA_ED25519_SEED_LEN];
    size_t len = 0;
    bool is_private = false;
    mla_pubkey pub;
    mla_privkey *k = NULL;
    mla_status rc = read_file(text, &len, path, true);
    if (rc != MLA_OK) goto out;
    if ((rc = parse_key(path, mla_slice_make(text, len), &is_private, &pub, seed)) != MLA_OK)
        goto out;
    if (!is_private) {
        rc = mla_err(MLA_EINVAL, "%s:1: header: a public key file, want \"%s\"", path,
                     HEADER_PRIVATE);
        goto out;
    }
    if ((rc = mla_crypto_key_from_seed(&k, seed)) != MLA_OK) goto out;
    if (!mla_ct_equal(mla_crypto_key_public(k)->b, pub.b, sizeof pub.b)) {
        rc = mla_err(MLA_EINVAL, "%s:3: public: does not match the key the seed derives", path);
        goto out;
    }
    *out = k;
    k = NULL;
out:
    mla_crypto_key_free(k);
    mla_wipe(seed, sizeof seed);
    mla_wipe(text, sizeof text);
    return rc;
}

mla_status mla_crypto_keyfile_read_public(mla_pubkey *out, const char *path)
{
    uint8_t text[KEYFILE_MAX], seed[MLA_ED25519_SEED_LEN];
    size_t len = 0;
    bool is_private = false;
    /* A private file's public line is public: no mode check here. */
    mla_status rc = read_file(text, &len, path, false);
    if (rc == MLA_OK) rc = parse_key(path, mla_slice_make(text, len), &is_private, out, seed);
    mla_wipe(seed, sizeof seed);
    mla_wipe(text, sizeof text);
    return rc;
}
