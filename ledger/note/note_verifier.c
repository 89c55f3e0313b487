/* note_verifier: key hashes, key-name rules and the verifier-key strings
 * "<name>+<8 hex key hash>+<base64(0x01 || pubkey)>" of c2sp.org/signed-note
 * (the form golang.org/x/mod/sumdb/note calls a verifier key). */
#include "note/note_int.h"

#include <string.h>

uint32_t mla_note_key_hash(mla_slice name, const mla_pubkey *pub)
{
    /* c2sp.org/signed-note: "key ID = SHA-256(key name || 0x0A || 0x01 ||
     * 32-byte Ed25519 public key)[:4]", read big-endian. */
    static const uint8_t sep[2] = {'\n', MLA_NOTE__ALG_ED25519};
    const mla_slice parts[3] = {name, mla_slice_make(sep, sizeof sep),
                                mla_slice_make(pub->b, sizeof pub->b)};
    mla_hash h;
    mla_crypto_sha256_v(&h, parts, 3);
    return (uint32_t)h.b[0] << 24 | (uint32_t)h.b[1] << 16 | (uint32_t)h.b[2] << 8 | h.b[3];
}

/* The code point starting at s[i] of already-validated UTF-8; *n its length. */
static uint32_t utf8_at(mla_slice s, size_t i, size_t *n)
{
    uint8_t c = s.ptr[i];
    if (c < 0x80) {
        *n = 1;
        return c;
    }
    size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
    uint32_t cp = c & (0x7fu >> len);
    for (size_t k = 1; k < len; k++) cp = cp << 6 | (s.ptr[i + k] & 0x3fu);
    *n = len;
    return cp;
}

/* Go's unicode.IsSpace, which golang.org/x/mod/sumdb/note uses for names:
 * the Latin-1 spaces plus the White_Space code points above U+00FF. */
static bool unicode_space(uint32_t cp)
{
    switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000: return true;
    default: return cp >= 0x2000 && cp <= 0x200a;
    }
}

mla_status mla_note__text_chars_check(mla_slice text, const char *field)
{
    if (!mla_utf8_valid(text)) return mla_err(MLA_EINVAL, "%s: not valid UTF-8", field);
    /* c2sp.org/signed-note: "MUST NOT contain any ASCII control characters
     * (those below U+0020) other than newline." In UTF-8 these bytes only
     * ever stand for themselves. */
    for (size_t i = 0; i < text.len; i++) {
        if (text.ptr[i] < 0x20 && text.ptr[i] != '\n')
            return mla_err(MLA_EINVAL, "%s: control character 0x%02x at offset %zu", field,
                           text.ptr[i], i);
    }
    return MLA_OK;
}

mla_status mla_note__name_check(mla_slice name, const char *field)
{
    if (name.len == 0) return mla_err(MLA_EINVAL, "%s: empty key name", field);
    if (!mla_utf8_valid(name)) return mla_err(MLA_EINVAL, "%s: key name is not valid UTF-8", field);
    for (size_t i = 0, n; i < name.len; i += n) {
        uint32_t cp = utf8_at(name, i, &n);
        if (cp == '+')
            return mla_err(MLA_EINVAL, "%s: key name contains '+' at offset %zu", field, i);
        if (unicode_space(cp))
            return mla_err(MLA_EINVAL, "%s: key name contains a space (U+%04X) at offset %zu",
                           field, (unsigned)cp, i);
        if (cp < 0x20 || cp == 0x7f)
            return mla_err(MLA_EINVAL, "%s: key name contains control character 0x%02x", field,
                           (unsigned)cp);
    }
    return MLA_OK;
}

mla_status mla_note_verifier_init(mla_note_verifier *out, mla_slice name, const mla_pubkey *pub)
{
    MLA_TRY(mla_note__name_check(name, "verifier.name"));
    if (name.len > MLA_NOTE_NAME_MAX)
        return mla_err(MLA_EINVAL, "verifier.name: %zu bytes exceeds limit %d", name.len,
                       MLA_NOTE_NAME_MAX);
    memset(out, 0, sizeof *out);
    memcpy(out->name, name.ptr, name.len);
    out->pub = *pub;
    out->key_hash = mla_note_key_hash(name, pub);
    return MLA_OK;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Split s at the first '+': Go's chop. The key data is base64 and may itself
 * contain '+' (sum.golang.org's does), so only the first two '+' separate. */
static bool chop_plus(mla_slice s, mla_slice *before, mla_slice *after)
{
    const uint8_t *p = s.len ? memchr(s.ptr, '+', s.len) : NULL;
    if (!p) return false;
    *before = mla_slice_make(s.ptr, (size_t)(p - s.ptr));
    *after = mla_slice_make(p + 1, s.len - (size_t)(p - s.ptr) - 1);
    return true;
}

mla_status mla_note_verifier_parse(mla_note_verifier *out, mla_slice vkey)
{
    mla_slice name, rest, hash16, key64;
    if (!chop_plus(vkey, &name, &rest) || !chop_plus(rest, &hash16, &key64))
        return mla_err(MLA_EINVAL, "verifier key: want <name>+<hash>+<key>, missing '+'");
    MLA_TRY(mla_note__name_check(name, "verifier key.name"));
    if (name.len > MLA_NOTE_NAME_MAX)
        return mla_err(MLA_EINVAL, "verifier key.name: %zu bytes exceeds limit %d", name.len,
                       MLA_NOTE_NAME_MAX);
    if (hash16.len != 8)
        return mla_err(MLA_EINVAL, "verifier key.hash: %zu characters, want 8 hex digits",
                       hash16.len);
    uint32_t hash = 0;
    for (size_t i = 0; i < 8; i++) {
        int v = hexval(hash16.ptr[i]);
        if (v < 0)
            return mla_err(MLA_EINVAL, "verifier key.hash: non-hex character at offset %zu", i);
        hash = hash << 4 | (uint32_t)v;
    }
    /* At most 1 + 32 bytes are meaningful; anything longer is refused by
     * length before decoding so the buffer stays small. */
    if (key64.len != 44)
        return mla_err(MLA_EINVAL,
                       "verifier key.key: %zu base64 characters, want 44 (0x01 || 32-byte "
                       "Ed25519 key)",
                       key64.len);
    mla_buf raw;
    mla_buf_init(&raw, 33);
    mla_status rc = mla_base64_decode(&raw, key64, "verifier key.key");
    if (rc != MLA_OK) goto out;
    if (raw.len != 1 + MLA_ED25519_PUB_LEN) {
        rc = mla_err(MLA_EINVAL, "verifier key.key: %zu bytes, want 33", raw.len);
        goto out;
    }
    if (raw.ptr[0] != MLA_NOTE__ALG_ED25519) {
        rc = mla_err(MLA_EINVAL, "verifier key.key: unknown algorithm 0x%02x, want 0x01 (Ed25519)",
                     raw.ptr[0]);
        goto out;
    }
    mla_pubkey pub;
    memcpy(pub.b, raw.ptr + 1, sizeof pub.b);
    uint32_t want = mla_note_key_hash(name, &pub);
    if (hash != want) {
        rc = mla_err(MLA_EINVAL, "verifier key.hash: %08x does not match the key (%08x)", hash,
                     want);
        goto out;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->name, name.ptr, name.len);
    out->key_hash = hash;
    out->pub = pub;
out:
    mla_buf_dispose(&raw);
    return rc;
}

mla_status mla_note_verifier_format(mla_buf *out, const mla_note_verifier *v)
{
    uint8_t raw[1 + MLA_ED25519_PUB_LEN];
    raw[0] = MLA_NOTE__ALG_ED25519;
    memcpy(raw + 1, v->pub.b, MLA_ED25519_PUB_LEN);
    size_t start = out->len;
    size_t name_len = strnlen(v->name, sizeof v->name);
    mla_status rc =
        mla_buf_printf(out, "%.*s+%08x+", (int)name_len, v->name, (unsigned)v->key_hash);
    if (rc == MLA_OK) rc = mla_base64_encode(out, mla_slice_make(raw, sizeof raw));
    if (rc != MLA_OK) out->len = start;
    return rc;
}
