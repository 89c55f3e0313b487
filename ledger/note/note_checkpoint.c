/* note_checkpoint: C2SP tlog checkpoints (c2sp.org/tlog-checkpoint), the
 * body of the signed notes the ledger publishes (SPEC §3 "Checkpoint"):
 * origin, tree size, base64 root hash, optional extension lines. Parsing is
 * strict so that format(parse(text)) == text for every accepted text. */
#include "note/note_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ROOT_B64_LEN 44 /* 4 * ceil(32 / 3) */

/* An origin or extension line: c2sp.org/tlog-checkpoint wants it non-empty;
 * the note wants UTF-8 without control characters (so no newline). */
static mla_status check_line(mla_slice line, const char *field)
{
    if (line.len == 0) return mla_err(MLA_EINVAL, "%s: empty line", field);
    if (memchr(line.ptr, '\n', line.len))
        return mla_err(MLA_EINVAL, "%s: contains a newline", field);
    return mla_note__text_chars_check(line, field);
}

mla_status mla_note_checkpoint_format(mla_buf *out, const mla_checkpoint *c)
{
    size_t origin_len = strnlen(c->origin, sizeof c->origin);
    if (origin_len > MLA_NOTE_NAME_MAX)
        return mla_err(MLA_EINVAL, "checkpoint.origin: not NUL-terminated within %d bytes",
                       MLA_NOTE_NAME_MAX);
    MLA_TRY(check_line(mla_slice_make(c->origin, origin_len), "checkpoint.origin"));
    if (c->n_extensions > MLA_CHECKPOINT_MAX_EXTENSIONS)
        return mla_err(MLA_EINVAL, "checkpoint.extensions: %zu exceeds limit %d", c->n_extensions,
                       MLA_CHECKPOINT_MAX_EXTENSIONS);
    for (size_t i = 0; i < c->n_extensions; i++) {
        char field[64];
        snprintf(field, sizeof field, "checkpoint.extensions[%zu]", i);
        MLA_TRY(check_line(c->extensions[i], field));
    }
    size_t start = out->len;
    /* c2sp.org/tlog-checkpoint: "the ASCII decimal representation of the
     * number of leaves in the tree, with no leading zeroes". */
    mla_status rc = mla_buf_printf(out, "%.*s\n%" PRIu64 "\n", (int)origin_len, c->origin, c->size);
    if (rc == MLA_OK) rc = mla_base64_encode(out, mla_slice_make(c->root.b, sizeof c->root.b));
    if (rc == MLA_OK) rc = mla_buf_append_byte(out, '\n');
    for (size_t i = 0; rc == MLA_OK && i < c->n_extensions; i++) {
        rc = mla_buf_append_slice(out, c->extensions[i]);
        if (rc == MLA_OK) rc = mla_buf_append_byte(out, '\n');
    }
    if (rc != MLA_OK) out->len = start;
    return rc;
}

/* The next line of r without its newline; MLA_EINVAL naming `field` when the
 * text has ended or the line has no newline. */
static mla_status next_line(mla_reader *r, mla_slice *line, const char *field)
{
    size_t left = mla_reader_left(r);
    if (left == 0) return mla_err(MLA_EINVAL, "%s: missing line", field);
    const uint8_t *p = r->in.ptr + r->off;
    const uint8_t *nl = memchr(p, '\n', left);
    if (!nl) return mla_err(MLA_EINVAL, "%s: line does not end in a newline", field);
    *line = mla_slice_make(p, (size_t)(nl - p));
    r->off += line->len + 1;
    return MLA_OK;
}

static mla_status parse_size(uint64_t *out, mla_slice s)
{
    /* SPEC §3: "the tree size is plain decimal with no sign, space or leading
     * zero". */
    if (s.len == 0) return mla_err(MLA_EINVAL, "checkpoint.size: empty line");
    if (s.len > 1 && s.ptr[0] == '0')
        return mla_err(MLA_EINVAL, "checkpoint.size: leading zero in \"%.*s\"",
                       (int)(s.len > 24 ? 24 : s.len), (const char *)s.ptr);
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (c < '0' || c > '9')
            return mla_err(MLA_EINVAL, "checkpoint.size: non-digit 0x%02x at offset %zu", c, i);
        if (__builtin_mul_overflow(v, 10u, &v) ||
            __builtin_add_overflow(v, (unsigned)(c - '0'), &v))
            return mla_err(MLA_EINVAL, "checkpoint.size: exceeds 2^64-1");
    }
    *out = v;
    return MLA_OK;
}

static mla_status parse_root(mla_hash *out, mla_slice s)
{
    /* 32 bytes are exactly 44 characters with one '='; checking the length
     * first bounds the decode buffer. */
    if (s.len != ROOT_B64_LEN)
        return mla_err(MLA_EINVAL, "checkpoint.root: %zu base64 characters, want %d (32 bytes)",
                       s.len, ROOT_B64_LEN);
    mla_buf raw;
    mla_buf_init(&raw, 33);
    mla_status rc = mla_base64_decode(&raw, s, "checkpoint.root");
    if (rc == MLA_OK && raw.len != sizeof out->b)
        rc = mla_err(MLA_EINVAL, "checkpoint.root: %zu bytes, want 32", raw.len);
    if (rc == MLA_OK) memcpy(out->b, raw.ptr, sizeof out->b);
    mla_buf_dispose(&raw);
    return rc;
}

mla_status mla_note_checkpoint_parse(mla_checkpoint *out, mla_slice text)
{
    /* c2sp.org/tlog-checkpoint: "a sequence of at least three non-empty
     * lines, separated by newlines"; the note text ends in a newline. */
    if (text.len == 0) return mla_err(MLA_EINVAL, "checkpoint: empty text");
    if (text.len > MLA_NOTE_MAX_BYTES)
        return mla_err(MLA_EINVAL, "checkpoint: %zu bytes exceeds limit %d", text.len,
                       MLA_NOTE_MAX_BYTES);
    if (text.ptr[text.len - 1] != '\n')
        return mla_err(MLA_EINVAL, "checkpoint: text does not end in a newline");
    mla_checkpoint c;
    memset(&c, 0, sizeof c);
    mla_reader r;
    mla_reader_init(&r, text);
    mla_slice line;

    MLA_TRY(next_line(&r, &line, "checkpoint.origin"));
    MLA_TRY(check_line(line, "checkpoint.origin"));
    if (line.len > MLA_NOTE_NAME_MAX)
        return mla_err(MLA_EINVAL, "checkpoint.origin: %zu bytes exceeds limit %d", line.len,
                       MLA_NOTE_NAME_MAX);
    memcpy(c.origin, line.ptr, line.len);

    MLA_TRY(next_line(&r, &line, "checkpoint.size"));
    MLA_TRY(parse_size(&c.size, line));

    MLA_TRY(next_line(&r, &line, "checkpoint.root"));
    MLA_TRY(parse_root(&c.root, line));

    /* "Extension lines, if any, MUST be non-empty." */
    while (mla_reader_left(&r) > 0) {
        if (c.n_extensions == MLA_CHECKPOINT_MAX_EXTENSIONS)
            return mla_err(MLA_EINVAL, "checkpoint.extensions: more than %d lines",
                           MLA_CHECKPOINT_MAX_EXTENSIONS);
        char field[64];
        snprintf(field, sizeof field, "checkpoint.extensions[%zu]", c.n_extensions);
        MLA_TRY(next_line(&r, &line, field));
        MLA_TRY(check_line(line, field));
        c.extensions[c.n_extensions++] = line;
    }
    *out = c;
    return MLA_OK;
}

mla_status mla_note_checkpoint_sign(mla_buf *out, const mla_checkpoint *c, mla_slice key_name,
                                    const mla_privkey *k)
{
    size_t start = out->len;
    MLA_TRY(mla_note_checkpoint_format(out, c));
    /* Cuts out back to start on failure. */
    return mla_note__sign_appended(out, start, key_name, k);
}

mla_status mla_note_checkpoint_open(mla_checkpoint *out, mla_slice note,
                                    const mla_note_verifier *verifiers, size_t n_verifiers)
{
    mla_slice text;
    size_t n_verified;
    MLA_TRY(mla_note_verify(&text, &n_verified, note, verifiers, n_verifiers));
    return mla_note_checkpoint_parse(out, text);
}
