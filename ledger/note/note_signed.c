/* note_signed: signing and verifying C2SP signed notes (c2sp.org/signed-note)
 * with Ed25519. Edge cases follow golang.org/x/mod/sumdb/note's Sign and
 * Open, except where the C2SP text is stricter (see mla_note_verify). */
#include "note/note_int.h"

#include <stdio.h>
#include <string.h>

/* "— " + name + " " + base64(4 + 64 bytes) + "\n" */
#define SIG_B64_LEN 92 /* 4 * ceil(68 / 3) */

static mla_status check_text(mla_slice text)
{
    /* c2sp.org/signed-note: "a text ending in newline (U+000A)". */
    if (text.len == 0) return mla_err(MLA_EINVAL, "note.text: empty");
    if (text.ptr[text.len - 1] != '\n')
        return mla_err(MLA_EINVAL, "note.text: does not end in a newline");
    return mla_note__text_chars_check(text, "note.text");
}

static mla_status check_signed_size(size_t text_len, size_t name_len)
{
    size_t total = text_len; /* text_len and name_len are bounded by what fits in memory */
    if (!mla_add_size(&total, total, 1 + MLA_NOTE__SIG_PREFIX_LEN + 1 + SIG_B64_LEN + 1) ||
        !mla_add_size(&total, total, name_len) || total > MLA_NOTE_MAX_BYTES)
        return mla_err(MLA_EINVAL, "note: signed note of %zu+ bytes exceeds limit %d", text_len,
                       MLA_NOTE_MAX_BYTES);
    return MLA_OK;
}

mla_status mla_note__sign_appended(mla_buf *out, size_t text_start, mla_slice name,
                                   const mla_privkey *k)
{
    MLA_ASSERT(text_start <= out->len);
    mla_slice text = mla_slice_make(out->ptr + text_start, out->len - text_start);
    mla_status rc;
    uint8_t raw[MLA_NOTE__KEY_HASH_LEN + MLA_ED25519_SIG_LEN];
    if ((rc = mla_note__name_check(name, "note.key_name")) != MLA_OK) goto out;
    if ((rc = check_text(text)) != MLA_OK) goto out;
    if ((rc = check_signed_size(text.len, name.len)) != MLA_OK) goto out;

    /* c2sp.org/signed-note: "The first four bytes in the signature are the
     * uint32 key ID stored in big-endian order. The remaining n bytes are the
     * result of using the specified key to sign the note text". The text
     * includes its final newline but not the blank line. Sign before the
     * buffer grows: growing moves out->ptr. */
    uint32_t hash = mla_note_key_hash(name, mla_crypto_key_public(k));
    raw[0] = (uint8_t)(hash >> 24);
    raw[1] = (uint8_t)(hash >> 16);
    raw[2] = (uint8_t)(hash >> 8);
    raw[3] = (uint8_t)hash;
    if ((rc = mla_crypto_sign(raw + MLA_NOTE__KEY_HASH_LEN, k, text)) != MLA_OK) goto out;

    if ((rc = mla_buf_append_byte(out, '\n')) != MLA_OK) goto out;
    if ((rc = mla_buf_append(out, MLA_NOTE__SIG_PREFIX, MLA_NOTE__SIG_PREFIX_LEN)) != MLA_OK)
        goto out;
    if ((rc = mla_buf_append_slice(out, name)) != MLA_OK) goto out;
    if ((rc = mla_buf_append_byte(out, ' ')) != MLA_OK) goto out;
    if ((rc = mla_base64_encode(out, mla_slice_make(raw, sizeof raw))) != MLA_OK) goto out;
    rc = mla_buf_append_byte(out, '\n');
out:
    if (rc != MLA_OK) out->len = text_start;
    return rc;
}

mla_status mla_note_sign(mla_buf *out, mla_slice text, mla_slice name, const mla_privkey *k)
{
    /* Refuse a bad text before it is copied, so the error is about the text
     * and not about the buffer. */
    MLA_TRY(check_text(text));
    size_t start = out->len;
    MLA_TRY(mla_buf_append_slice(out, text));
    return mla_note__sign_appended(out, start, name, k);
}

/* The index in `list` of the verifier called `name` with key hash `hash`, or
 * n when none. Two entries with the same name and hash but different keys
 * make the lookup ambiguous (sumdb/note's ambiguousVerifierError). */
static mla_status find_verifier(size_t *idx_out, const mla_note_verifier *list, size_t n,
                                mla_slice name, uint32_t hash)
{
    size_t found = n;
    for (size_t i = 0; i < n; i++) {
        const mla_note_verifier *v = &list[i];
        size_t vlen = strnlen(v->name, sizeof v->name);
        if (v->key_hash != hash || vlen != name.len || memcmp(v->name, name.ptr, vlen) != 0)
            continue;
        if (found == n) {
            found = i;
        } else if (memcmp(list[found].pub.b, v->pub.b, sizeof v->pub.b) != 0) {
            return mla_err(MLA_EINVAL, "verifiers: ambiguous key %.*s+%08x (two different keys)",
                           (int)name.len, (const char *)name.ptr, (unsigned)hash);
        }
    }
    *idx_out = found;
    return MLA_OK;
}

/* The last "\n\n" in s, as the offset of its first byte, or s.len if none.
 * c2sp.org/signed-note: "the text is separated from the signatures by the
 * last empty line in the note." */
static size_t last_blank_line(mla_slice s)
{
    for (size_t i = s.len; i >= 2; i--) {
        if (s.ptr[i - 2] == '\n' && s.ptr[i - 1] == '\n') return i - 2;
    }
    return s.len;
}

mla_status mla_note_verify(mla_slice *text_out, size_t *n_verified, mla_slice note,
                           const mla_note_verifier *verifiers, size_t n_verifiers)
{
    if (note.len > MLA_NOTE_MAX_BYTES)
        return mla_err(MLA_EINVAL, "note: %zu bytes exceeds limit %d", note.len,
                       MLA_NOTE_MAX_BYTES);
    MLA_TRY(mla_note__text_chars_check(note, "note"));
    size_t split = last_blank_line(note);
    if (split == note.len)
        return mla_err(MLA_EINVAL, "note: no blank line before the signature lines");
    mla_slice text = mla_slice_make(note.ptr, split + 1);
    mla_slice sigs = mla_slice_make(note.ptr + split + 2, note.len - split - 2);
    if (sigs.len == 0) return mla_err(MLA_EINVAL, "note: no signature lines after the blank line");
    if (sigs.ptr[sigs.len - 1] != '\n')
        return mla_err(MLA_EINVAL, "note: last signature line does not end in a newline");

    /* Which verifiers have verified a signature: each is counted once. */
    size_t seen_idx[MLA_NOTE_MAX_SIGNATURES];
    size_t n_seen = 0, n_lines = 0;
    mla_buf raw;
    mla_buf_init(&raw, MLA_NOTE_MAX_BYTES);
    mla_status rc = MLA_OK;
    size_t off = 0;
    while (off < sigs.len) {
        const uint8_t *nl = memchr(sigs.ptr + off, '\n', sigs.len - off); /* found: ends in \n */
        mla_slice line = mla_slice_make(sigs.ptr + off, (size_t)(nl - (sigs.ptr + off)));
        off += line.len + 1;
        size_t lineno = ++n_lines;
        char field[64];
        snprintf(field, sizeof field, "note: signature line %zu", lineno);
        /* c2sp.org/signed-note: verifiers "MUST accept at least up to 16
         * signatures"; more is refused before any work is spent on them. */
        if (n_lines > MLA_NOTE_MAX_SIGNATURES) {
            rc = mla_err(MLA_EINVAL, "note: more than %d signature lines", MLA_NOTE_MAX_SIGNATURES);
            goto out;
        }
        if (line.len < MLA_NOTE__SIG_PREFIX_LEN ||
            memcmp(line.ptr, MLA_NOTE__SIG_PREFIX, MLA_NOTE__SIG_PREFIX_LEN) != 0) {
            rc = mla_err(MLA_EINVAL,
                         "note: signature line %zu does not start with \"\xe2\x80\x94 \"", lineno);
            goto out;
        }
        mla_slice rest = mla_slice_make(line.ptr + MLA_NOTE__SIG_PREFIX_LEN,
                                        line.len - MLA_NOTE__SIG_PREFIX_LEN);
        const uint8_t *sp = rest.len ? memchr(rest.ptr, ' ', rest.len) : NULL;
        if (!sp) {
            rc = mla_err(MLA_EINVAL, "note: signature line %zu has no space after the key name",
                         lineno);
            goto out;
        }
        mla_slice name = mla_slice_make(rest.ptr, (size_t)(sp - rest.ptr));
        mla_slice b64 = mla_slice_make(sp + 1, rest.len - name.len - 1);
        if ((rc = mla_note__name_check(name, field)) != MLA_OK) goto out;
        mla_buf_clear(&raw);
        if ((rc = mla_base64_decode(&raw, b64, field)) != MLA_OK) goto out;
        /* sumdb/note requires a key hash and at least one signature byte. */
        if (raw.len <= MLA_NOTE__KEY_HASH_LEN) {
            rc =
                mla_err(MLA_EINVAL, "note: signature line %zu: signature of %zu bytes is too short",
                        lineno, raw.len);
            goto out;
        }
        uint32_t hash = (uint32_t)raw.ptr[0] << 24 | (uint32_t)raw.ptr[1] << 16 |
                        (uint32_t)raw.ptr[2] << 8 | raw.ptr[3];
        size_t idx = n_verifiers;
        if ((rc = find_verifier(&idx, verifiers, n_verifiers, name, hash)) != MLA_OK) goto out;
        /* c2sp.org/signed-note: "Verifiers MUST ignore signatures from
         * unknown keys, even if they share a name or ID (but not both) with a
         * known key." */
        if (idx == n_verifiers) continue;
        /* "If the key name and ID match a known key, verifiers MUST verify
         * the signature. If a signature from a known key fails to verify,
         * clients SHOULD reject the whole note." sumdb/note skips repeated
         * lines of one key unverified; the C2SP MUST verifies every one. */
        mla_slice sig =
            mla_slice_make(raw.ptr + MLA_NOTE__KEY_HASH_LEN, raw.len - MLA_NOTE__KEY_HASH_LEN);
        if (sig.len == MLA_ED25519_SIG_LEN)
            rc = mla_crypto_verify(&verifiers[idx].pub, text, sig);
        else
            rc = MLA_EDENIED;
        if (rc == MLA_EDENIED) {
            rc = mla_err(MLA_EDENIED,
                         "note: signature line %zu by known key %.*s+%08x does not verify", lineno,
                         (int)name.len, (const char *)name.ptr, (unsigned)hash);
            goto out;
        }
        /* Anything else (ENOMEM, or a verifier whose key is not a curve
         * point) is passed up unchanged. */
        if (rc != MLA_OK) goto out;
        bool again = false;
        for (size_t i = 0; i < n_seen; i++) again |= seen_idx[i] == idx;
        if (!again) seen_idx[n_seen++] = idx;
    }
    if (n_seen == 0) {
        rc = mla_err(MLA_EDENIED, "note: no signature by a known key (%zu lines, %zu known keys)",
                     n_lines, n_verifiers);
        goto out;
    }
    *text_out = text;
    *n_verified = n_seen;
out:
    mla_buf_dispose(&raw);
    return rc;
}
