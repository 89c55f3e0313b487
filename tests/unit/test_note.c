/* Unit suite for ledger/note: verifier keys, the published sumdb/note and
 * go.sum checkpoint vectors, generic signed notes, tlog checkpoints, and
 * allocation failures on sign and verify. */
#include <stdio.h>
#include <string.h>

#include "note/note.h"
#include "testutil.h"

#define EM "\xe2\x80\x94" /* U+2014 */

/* ---- helpers ---------------------------------------------------------- */

static void setup(void) { tu_assert_ok(mla_crypto_init()); }

/* The value of `key` in tests/vectors/note_sumdb.txt, with "\n" unescaped. */
static void vec(mla_buf *out, const char *key)
{
    mla_buf file;
    tu_read_file(&file, tu_vector_path("note_sumdb.txt"));
    mla_buf_init(out, 1u << 16);
    size_t klen = strlen(key);
    bool found = false;
    for (size_t off = 0; off < file.len && !found;) {
        const uint8_t *p = file.ptr + off;
        const uint8_t *nl = memchr(p, '\n', file.len - off);
        size_t len = nl ? (size_t)(nl - p) : file.len - off;
        off += len + 1;
        if (len < klen + 2 || memcmp(p, key, klen) != 0 || p[klen] != ':' || p[klen + 1] != ' ')
            continue;
        for (size_t i = klen + 2; i < len; i++) {
            if (p[i] == '\\' && i + 1 < len && p[i + 1] == 'n') {
                tu_assert_ok(mla_buf_append_byte(out, '\n'));
                i++;
            } else {
                tu_assert_ok(mla_buf_append_byte(out, p[i]));
            }
        }
        found = true;
    }
    mla_buf_dispose(&file);
    ck_assert_msg(found, "vector %s not found", key);
}

static void parse_vkey(mla_note_verifier *v, const char *key)
{
    mla_buf b;
    vec(&b, key);
    tu_assert_ok(mla_note_verifier_parse(v, mla_buf_slice(&b)));
    mla_buf_dispose(&b);
}

/* Decode "PRIVATE+KEY+<name>+<hash>+base64(0x01 || seed)" (sumdb/note's
 * signer key; the key data may contain '+', so skip exactly four). */
static mla_privkey *skey_load(const char *key)
{
    mla_buf s, raw;
    vec(&s, key);
    size_t plus = 0, i = 0;
    for (; i < s.len && plus < 4; i++) plus += s.ptr[i] == '+';
    ck_assert_uint_eq(plus, 4);
    ck_assert_int_eq(memcmp(s.ptr, "PRIVATE+KEY+", 12), 0);
    mla_buf_init(&raw, 64);
    tu_assert_ok(mla_base64_decode(&raw, mla_slice_make(s.ptr + i, s.len - i), "skey"));
    ck_assert_uint_eq(raw.len, 33);
    ck_assert_uint_eq(raw.ptr[0], 0x01);
    mla_privkey *k = NULL;
    tu_assert_ok(mla_crypto_key_from_seed(&k, raw.ptr + 1));
    mla_buf_dispose(&raw);
    mla_buf_dispose(&s);
    return k;
}

static mla_privkey *seed_key(uint8_t fill)
{
    uint8_t seed[MLA_ED25519_SEED_LEN];
    memset(seed, fill, sizeof seed);
    mla_privkey *k = NULL;
    tu_assert_ok(mla_crypto_key_from_seed(&k, seed));
    return k;
}

static void own_verifier(mla_note_verifier *v, const char *name, const mla_privkey *k)
{
    tu_assert_ok(mla_note_verifier_init(v, mla_slice_cstr(name), mla_crypto_key_public(k)));
}

static mla_status vkey_parse_str(const char *s)
{
    mla_note_verifier v;
    return mla_note_verifier_parse(&v, mla_slice_cstr(s));
}

static mla_status parse_cp(const char *text)
{
    mla_checkpoint c;
    return mla_note_checkpoint_parse(&c, mla_slice_cstr(text));
}

static const char root_b64[] = "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=";

static void sample_checkpoint(mla_checkpoint *c, uint64_t size)
{
    memset(c, 0, sizeof *c);
    snprintf(c->origin, sizeof c->origin, "example.com/mlaudit");
    c->size = size;
    for (size_t i = 0; i < sizeof c->root.b; i++) c->root.b[i] = (uint8_t)(i * 7 + 1);
}

/* ---- verifier --------------------------------------------------------- */

START_TEST(test_verifier_parses_published_vkey_and_hash_matches)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    ck_assert_str_eq(v.name, "PeterNeumann");
    ck_assert_uint_eq(v.key_hash, 0xc74f20a3u);
    ck_assert_uint_eq(mla_note_key_hash(mla_slice_cstr("PeterNeumann"), &v.pub), 0xc74f20a3u);
    /* The published signer key has the same public half. */
    mla_privkey *k = skey_load("peter.skey");
    ck_assert_int_eq(memcmp(mla_crypto_key_public(k)->b, v.pub.b, 32), 0);
    mla_note_verifier w;
    own_verifier(&w, "PeterNeumann", k);
    ck_assert_uint_eq(w.key_hash, 0xc74f20a3u);
    mla_crypto_key_free(k);
}
END_TEST

START_TEST(test_verifier_format_round_trips)
{
    static const char *keys[] = {"peter.vkey", "enoch.vkey", "sumdb.vkey"};
    for (size_t i = 0; i < 3; i++) {
        mla_buf in, out;
        mla_note_verifier v;
        vec(&in, keys[i]);
        tu_assert_ok(mla_note_verifier_parse(&v, mla_buf_slice(&in)));
        mla_buf_init(&out, 1024);
        tu_assert_ok(mla_buf_append_cstr(&out, "x"));
        tu_assert_ok(mla_note_verifier_format(&out, &v));
        ck_assert_uint_eq(out.len, in.len + 1);
        ck_assert_int_eq(memcmp(out.ptr + 1, in.ptr, in.len), 0);
        /* A full buffer is left unchanged. */
        mla_buf small;
        mla_buf_init(&small, 10);
        tu_assert_fail_with(mla_note_verifier_format(&small, &v), MLA_ELIMIT, "exceeds limit");
        ck_assert_uint_eq(small.len, 0);
        mla_buf_dispose(&small);
        mla_buf_dispose(&in);
        mla_buf_dispose(&out);
    }
    /* Our own key (seed 32 x 0x42), its verifier key computed independently
     * with Python's cryptography and hashlib. */
    mla_privkey *k = seed_key(0x42);
    mla_note_verifier o;
    own_verifier(&o, "example.com/mlaudit", k);
    mla_buf ob;
    mla_buf_init(&ob, 1024);
    tu_assert_ok(mla_note_verifier_format(&ob, &o));
    ck_assert(mla_slice_eq(
        mla_buf_slice(&ob),
        mla_slice_cstr(
            "example.com/mlaudit+8944b729+ASFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS")));
    mla_buf_dispose(&ob);
    mla_crypto_key_free(k);
    mla_note_verifier s;
    parse_vkey(&s, "sumdb.vkey");
    ck_assert_str_eq(s.name, "sum.golang.org");
    ck_assert_uint_eq(s.key_hash, 0x033de0aeu);
}
END_TEST

START_TEST(test_verifier_rejects_bad_hash)
{
    tu_assert_fail_with(
        vkey_parse_str("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        MLA_EINVAL, "verifier key.hash: c74f20a4 does not match the key (c74f20a3)");
    tu_assert_fail_with(
        vkey_parse_str("PeterNeumann+c74f20aZ+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        MLA_EINVAL, "verifier key.hash: non-hex character at offset 7");
    tu_assert_fail_with(
        vkey_parse_str("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        MLA_EINVAL, "verifier key.hash: 7 characters, want 8 hex digits");
    /* Another name gives another hash. */
    tu_assert_fail_with(
        vkey_parse_str("PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        MLA_EINVAL, "does not match the key");
    /* Upper-case hex is accepted, as Go's strconv.ParseUint does. */
    tu_assert_ok(
        vkey_parse_str("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
}
END_TEST

START_TEST(test_verifier_rejects_bad_base64_and_length)
{
    tu_assert_fail_with(
        vkey_parse_str("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!"),
        MLA_EINVAL, "verifier key.key: invalid base64 character at offset 43");
    mla_buf b;
    vec(&b, "bad_vkey.length");
    mla_note_verifier v;
    tu_assert_fail_with(mla_note_verifier_parse(&v, mla_buf_slice(&b)), MLA_EINVAL,
                        "verifier key.key: 52 base64 characters, want 44");
    mla_buf_dispose(&b);
    tu_assert_fail_with(vkey_parse_str("PeterNeumann+c74f20a3+"), MLA_EINVAL,
                        "verifier key.key: 0 base64 characters");
}
END_TEST

START_TEST(test_verifier_rejects_wrong_algorithm_byte)
{
    mla_buf b;
    vec(&b, "bad_vkey.algorithm");
    mla_note_verifier v;
    tu_assert_fail_with(mla_note_verifier_parse(&v, mla_buf_slice(&b)), MLA_EINVAL,
                        "verifier key.key: unknown algorithm 0x65, want 0x01");
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_verifier_rejects_missing_plus)
{
    tu_assert_fail_with(vkey_parse_str("PeterNeumann"), MLA_EINVAL, "missing '+'");
    tu_assert_fail_with(vkey_parse_str("PeterNeumann+c74f20a3"), MLA_EINVAL, "missing '+'");
    tu_assert_fail_with(vkey_parse_str(""), MLA_EINVAL, "missing '+'");
}
END_TEST

START_TEST(test_verifier_rejects_bad_names)
{
    tu_assert_fail_with(
        vkey_parse_str("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        MLA_EINVAL, "verifier key.name: key name contains a space (U+0020) at offset 5");
    tu_assert_fail_with(vkey_parse_str("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
                        MLA_EINVAL, "verifier key.name: empty key name");
    mla_pubkey pub;
    memset(pub.b, 9, sizeof pub.b);
    mla_note_verifier v;
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr("a+b"), &pub), MLA_EINVAL,
                        "verifier.name: key name contains '+' at offset 1");
    /* Unicode spaces, as Go's unicode.IsSpace: U+00A0, U+2003, U+3000. */
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr("a\xc2\xa0"), &pub), MLA_EINVAL,
                        "key name contains a space (U+00A0)");
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr("\xe2\x80\x83x"), &pub),
                        MLA_EINVAL, "key name contains a space (U+2003)");
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr("x\xe3\x80\x80"), &pub),
                        MLA_EINVAL, "key name contains a space (U+3000)");
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr("a\tb"), &pub), MLA_EINVAL,
                        "key name contains a space (U+0009)");
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr("a\x01"), &pub), MLA_EINVAL,
                        "control character 0x01");
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr("\xff"), &pub), MLA_EINVAL,
                        "verifier.name: key name is not valid UTF-8");
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr(""), &pub), MLA_EINVAL,
                        "verifier.name: empty key name");
    char longname[MLA_NOTE_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    tu_assert_fail_with(mla_note_verifier_init(&v, mla_slice_cstr(longname), &pub), MLA_EINVAL,
                        "verifier.name: 256 bytes exceeds limit 255");
    longname[MLA_NOTE_NAME_MAX] = '\0';
    tu_assert_ok(mla_note_verifier_init(&v, mla_slice_cstr(longname), &pub));
    ck_assert_uint_eq(strlen(v.name), MLA_NOTE_NAME_MAX);
    /* Non-ASCII names without spaces are fine. */
    tu_assert_ok(mla_note_verifier_init(&v, mla_slice_cstr("caf\xc3\xa9.example/log"), &pub));
}
END_TEST

/* sumdb/note's TestNewVerifier: every proper substring and every one-byte
 * change of the published key is refused. */
START_TEST(test_verifier_rejects_every_mangling)
{
    mla_buf b;
    vec(&b, "peter.vkey");
    mla_note_verifier v;
    for (size_t i = 0; i <= b.len; i++) {
        for (size_t j = i + 1; j <= b.len; j++) {
            if (i == 0 && j == b.len) continue;
            ck_assert_msg(mla_note_verifier_parse(&v, mla_slice_make(b.ptr + i, j - i)) ==
                              MLA_EINVAL,
                          "substring [%zu,%zu) accepted", i, j);
        }
    }
    for (size_t i = 0; i < b.len; i++) {
        b.ptr[i]++;
        ck_assert_msg(mla_note_verifier_parse(&v, mla_buf_slice(&b)) == MLA_EINVAL,
                      "change at %zu accepted", i);
        b.ptr[i]--;
    }
    mla_buf_dispose(&b);
}
END_TEST

/* ---- published vectors ------------------------------------------------ */

START_TEST(test_published_note_verifies)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    mla_buf note, text;
    vec(&note, "peter.note");
    vec(&text, "peter.text");
    mla_slice got;
    size_t n = 0;
    tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&note), &v, 1));
    ck_assert_uint_eq(n, 1);
    ck_assert(mla_slice_eq(got, mla_buf_slice(&text)));
    ck_assert_ptr_eq(got.ptr, note.ptr); /* borrowed from the note */
    mla_buf_dispose(&note);
    mla_buf_dispose(&text);
}
END_TEST

START_TEST(test_signing_reproduces_published_note)
{
    mla_privkey *k = skey_load("peter.skey");
    mla_buf note, text, out;
    vec(&note, "peter.note");
    vec(&text, "peter.text");
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_sign(&out, mla_buf_slice(&text), mla_slice_cstr("PeterNeumann"), k));
    ck_assert_msg(mla_slice_eq(mla_buf_slice(&out), mla_buf_slice(&note)), "got:\n%.*s",
                  (int)out.len, (const char *)out.ptr);
    mla_buf_dispose(&out);
    mla_buf_dispose(&note);
    mla_buf_dispose(&text);
    mla_crypto_key_free(k);
}
END_TEST

/* sumdb/note's TestOpen: one known and one unknown signature. */
START_TEST(test_published_two_signatures_count_known_keys)
{
    mla_note_verifier vs[2];
    parse_vkey(&vs[0], "peter.vkey");
    parse_vkey(&vs[1], "enoch.vkey");
    mla_buf note, enoch;
    vec(&note, "peter.note");
    vec(&enoch, "enoch.sigline");
    tu_assert_ok(mla_buf_append_slice(&note, mla_buf_slice(&enoch)));
    mla_slice text;
    size_t n = 0;
    tu_assert_ok(mla_note_verify(&text, &n, mla_buf_slice(&note), &vs[0], 1));
    ck_assert_uint_eq(n, 1);
    tu_assert_ok(mla_note_verify(&text, &n, mla_buf_slice(&note), &vs[1], 1));
    ck_assert_uint_eq(n, 1);
    tu_assert_ok(mla_note_verify(&text, &n, mla_buf_slice(&note), vs, 2));
    ck_assert_uint_eq(n, 2);
    tu_assert_fail_with(mla_note_verify(&text, &n, mla_buf_slice(&note), NULL, 0), MLA_EDENIED,
                        "note: no signature by a known key (2 lines, 0 known keys)");
    mla_buf_dispose(&note);
    mla_buf_dispose(&enoch);
}
END_TEST

START_TEST(test_published_sumdb_checkpoint_opens)
{
    mla_note_verifier v;
    parse_vkey(&v, "sumdb.vkey");
    mla_buf note, origin, size, root, out;
    vec(&note, "sumdb.checkpoint");
    vec(&origin, "sumdb.origin");
    vec(&size, "sumdb.size");
    vec(&root, "sumdb.root");
    mla_checkpoint c;
    tu_assert_ok(mla_note_checkpoint_open(&c, mla_buf_slice(&note), &v, 1));
    ck_assert(mla_slice_eq(mla_slice_cstr(c.origin), mla_buf_slice(&origin)));
    char sz[32];
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)c.size);
    ck_assert(mla_slice_eq(mla_slice_cstr(sz), mla_buf_slice(&size)));
    ck_assert_uint_eq(c.size, 30055305u);
    ck_assert_uint_eq(c.n_extensions, 0);
    mla_buf_init(&out, 4096);
    tu_assert_ok(mla_base64_encode(&out, mla_slice_make(c.root.b, 32)));
    ck_assert(mla_slice_eq(mla_buf_slice(&out), mla_buf_slice(&root)));
    /* Formatting the parsed checkpoint gives back the signed text. */
    mla_buf_clear(&out);
    tu_assert_ok(mla_note_checkpoint_format(&out, &c));
    ck_assert_uint_lt(out.len, note.len);
    ck_assert_int_eq(memcmp(out.ptr, note.ptr, out.len), 0);
    ck_assert_int_eq(memcmp(note.ptr + out.len, "\n" EM " sum.golang.org ", 20), 0);
    /* Another log's key does not open it. */
    mla_note_verifier p;
    parse_vkey(&p, "peter.vkey");
    tu_assert_fail_with(mla_note_checkpoint_open(&c, mla_buf_slice(&note), &p, 1), MLA_EDENIED,
                        "no signature by a known key");
    mla_buf_dispose(&note);
    mla_buf_dispose(&origin);
    mla_buf_dispose(&size);
    mla_buf_dispose(&root);
    mla_buf_dispose(&out);
}
END_TEST

START_TEST(test_published_c2sp_examples_parse_and_are_unknown)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    mla_buf cp, note;
    vec(&cp, "c2sp.checkpoint");
    vec(&note, "c2sp.note");
    /* Well-formed notes whose key we do not know. */
    mla_slice text;
    size_t n;
    tu_assert_fail_with(mla_note_verify(&text, &n, mla_buf_slice(&note), &v, 1), MLA_EDENIED,
                        "no signature by a known key");
    tu_assert_fail_with(mla_note_verify(&text, &n, mla_buf_slice(&cp), &v, 1), MLA_EDENIED,
                        "no signature by a known key");
    /* The checkpoint body parses: text is everything up to the blank line. */
    const uint8_t *blank = memmem(cp.ptr, cp.len, "\n\n", 2);
    ck_assert_ptr_nonnull(blank);
    mla_checkpoint c;
    tu_assert_ok(
        mla_note_checkpoint_parse(&c, mla_slice_make(cp.ptr, (size_t)(blank - cp.ptr) + 1)));
    ck_assert_str_eq(c.origin, "example.com/behind-the-sofa");
    ck_assert_uint_eq(c.size, 20852163u);
    mla_buf_dispose(&cp);
    mla_buf_dispose(&note);
}
END_TEST

/* ---- generic signed notes --------------------------------------------- */

/* sumdb/note's TestOpen "Invalid encoded message syntax" and more. */
START_TEST(test_note_rejects_malformed)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    mla_buf note, text, m;
    vec(&note, "peter.note");
    vec(&text, "peter.text");
    mla_slice sigline = mla_slice_make(note.ptr + text.len + 1, note.len - text.len - 1);
    mla_buf_init(&m, 1u << 16);
#define BUILD(...)                                                                                 \
    do {                                                                                           \
        mla_buf_clear(&m);                                                                         \
        __VA_ARGS__;                                                                               \
    } while (0)
#define ADD(s) tu_assert_ok(mla_buf_append_slice(&m, (s)))
#define ADDC(s) tu_assert_ok(mla_buf_append_cstr(&m, (s)))
    mla_slice got;
    size_t n;
#define VERIFY() mla_note_verify(&got, &n, mla_buf_slice(&m), &v, 1)

    BUILD(ADD(mla_buf_slice(&text)));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: no blank line before the signature lines");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: no signature lines after the blank line");
    BUILD(ADD(mla_buf_slice(&note)); m.len--);
    tu_assert_fail_with(VERIFY(), MLA_EINVAL,
                        "note: last signature line does not end in a newline");
    BUILD(ADDC("\x01"); ADD(mla_buf_slice(&note)));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: control character 0x01 at offset 0");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\r\n"); ADD(sigline));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: control character 0x0d");
    BUILD(ADDC("\xff"); ADD(mla_buf_slice(&note)));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: not valid UTF-8");
    BUILD(ADD(mla_buf_slice(&text));
          ADDC("\n" EM " Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
               "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL,
                        "note: signature line 1: base64 length 97 is not a multiple of 4");
    BUILD(ADD(mla_buf_slice(&note)); ADDC("Unexpected line.\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL,
                        "note: signature line 2 does not start with \"" EM " \"");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n- PeterNeumann AAAA\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: signature line 1 does not start");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n" EM " PeterNeumann\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL,
                        "note: signature line 1 has no space after the key name");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n" EM "  AAAAAAA=\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: signature line 1: empty key name");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n" EM " a+b AAAAAAA=\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: signature line 1: key name contains '+'");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n" EM " PeterNeumann AAAA\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL,
                        "note: signature line 1: signature of 3 bytes is too short");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n" EM " PeterNeumann \n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL,
                        "note: signature line 1: signature of 0 bytes is too short");
    /* Non-canonical base64 (unused bits set) in a signature. */
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n" EM " PeterNeumann AAAAAAB=\n"));
    tu_assert_fail_with(VERIFY(), MLA_EINVAL, "note: signature line 1: non-canonical base64");
    BUILD(ADD(mla_buf_slice(&text)); ADDC("\n\n"); ADD(sigline));
    tu_assert_fail_with(VERIFY(), MLA_EDENIED, "does not verify"); /* text now ends "\n\n" */
    mla_buf_dispose(&m);
    mla_buf_dispose(&note);
    mla_buf_dispose(&text);
#undef BUILD
#undef ADD
#undef ADDC
#undef VERIFY
}
END_TEST

START_TEST(test_note_tampered_text_or_signature_is_denied)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    mla_buf note;
    vec(&note, "peter.note");
    mla_slice got;
    size_t n;
    /* Text: one letter changed. */
    note.ptr[3] ^= 0x20;
    tu_assert_fail_with(
        mla_note_verify(&got, &n, mla_buf_slice(&note), &v, 1), MLA_EDENIED,
        "note: signature line 1 by known key PeterNeumann+c74f20a3 does not verify");
    note.ptr[3] ^= 0x20;
    tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&note), &v, 1));
    /* Signature: one base64 character in the Ed25519 part changed. */
    size_t at = note.len - 30;
    note.ptr[at] = note.ptr[at] == 'A' ? 'B' : 'A';
    tu_assert_fail_with(mla_note_verify(&got, &n, mla_buf_slice(&note), &v, 1), MLA_EDENIED,
                        "does not verify");
    mla_buf_dispose(&note);
    /* sumdb/note: four characters inserted (a 71-byte signature). */
    mla_buf b;
    vec(&b, "peter.note");
    mla_buf_init(&note, 4096);
    size_t cut = b.len - 40;
    tu_assert_ok(mla_buf_append(&note, b.ptr, cut));
    tu_assert_ok(mla_buf_append_cstr(&note, "ABCD"));
    tu_assert_ok(mla_buf_append(&note, b.ptr + cut, b.len - cut));
    tu_assert_fail_with(mla_note_verify(&got, &n, mla_buf_slice(&note), &v, 1), MLA_EDENIED,
                        "by known key PeterNeumann+c74f20a3 does not verify");
    mla_buf_dispose(&note);
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_note_known_name_with_other_hash_is_ignored)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    mla_buf note, text, m;
    vec(&note, "peter.note");
    vec(&text, "peter.text");
    mla_buf_init(&m, 4096);
    /* Same name, other key hash: an unknown key, ignored (c2sp.org/signed-note). */
    tu_assert_ok(mla_buf_append_slice(&m, mla_buf_slice(&note)));
    tu_assert_ok(mla_buf_append_cstr(&m, EM " PeterNeumann AAAAAAAAAAA=\n"));
    tu_assert_ok(mla_buf_append_cstr(&m, EM " Other x08go/Zm\n")); /* same hash, other name */
    mla_slice got;
    size_t n;
    tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&m), &v, 1));
    ck_assert_uint_eq(n, 1);
    /* A repeated valid line by the same key counts once. */
    mla_buf_clear(&m);
    tu_assert_ok(mla_buf_append_slice(&m, mla_buf_slice(&note)));
    tu_assert_ok(
        mla_buf_append_slice(&m, mla_slice_make(note.ptr + text.len + 1, note.len - text.len - 1)));
    tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&m), &v, 1));
    ck_assert_uint_eq(n, 1);
    /* Two different keys registered under one name and hash are ambiguous. */
    mla_note_verifier two[2] = {v, v};
    two[1].pub.b[0] ^= 1;
    tu_assert_fail_with(mla_note_verify(&got, &n, mla_buf_slice(&note), two, 2), MLA_EINVAL,
                        "verifiers: ambiguous key PeterNeumann+c74f20a3");
    two[1] = v; /* the same key twice is harmless */
    tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&note), two, 2));
    ck_assert_uint_eq(n, 1);
    mla_buf_dispose(&m);
    mla_buf_dispose(&note);
    mla_buf_dispose(&text);
}
END_TEST

START_TEST(test_note_signature_count_limit)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    mla_buf note, text, m;
    vec(&note, "peter.note");
    vec(&text, "peter.text");
    mla_slice sigline = mla_slice_make(note.ptr + text.len + 1, note.len - text.len - 1);
    mla_buf_init(&m, 1u << 16);
    tu_assert_ok(mla_buf_append_slice(&m, mla_buf_slice(&text)));
    tu_assert_ok(mla_buf_append_byte(&m, '\n'));
    for (int i = 0; i < MLA_NOTE_MAX_SIGNATURES; i++)
        tu_assert_ok(mla_buf_append_slice(&m, sigline));
    mla_slice got;
    size_t n;
    tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&m), &v, 1));
    ck_assert_uint_eq(n, 1);
    tu_assert_ok(mla_buf_append_slice(&m, sigline));
    tu_assert_fail_with(mla_note_verify(&got, &n, mla_buf_slice(&m), &v, 1), MLA_EINVAL,
                        "note: more than 16 signature lines");
    mla_buf_dispose(&m);
    mla_buf_dispose(&note);
    mla_buf_dispose(&text);
}
END_TEST

START_TEST(test_note_over_max_bytes_is_refused)
{
    mla_note_verifier v;
    parse_vkey(&v, "peter.vkey");
    mla_buf note, m;
    vec(&note, "peter.note");
    mla_buf_init(&m, 1u << 16);
    while (m.len + note.len <= MLA_NOTE_MAX_BYTES) tu_assert_ok(mla_buf_append_cstr(&m, "x\n"));
    tu_assert_ok(mla_buf_append_slice(&m, mla_buf_slice(&note)));
    mla_slice got;
    size_t n;
    tu_assert_fail_with(mla_note_verify(&got, &n, mla_buf_slice(&m), &v, 1), MLA_EINVAL,
                        "exceeds limit 16384");
    /* Signing a text that would make such a note is refused too. */
    mla_privkey *k = skey_load("peter.skey");
    mla_buf out;
    mla_buf_init(&out, 1u << 17);
    tu_assert_fail_with(mla_note_sign(&out, mla_buf_slice(&m), mla_slice_cstr("PeterNeumann"), k),
                        MLA_EINVAL, "exceeds limit 16384");
    ck_assert_uint_eq(out.len, 0);
    mla_crypto_key_free(k);
    mla_buf_dispose(&out);
    mla_buf_dispose(&m);
    mla_buf_dispose(&note);
}
END_TEST

START_TEST(test_note_sign_rejects_bad_text_and_name)
{
    mla_privkey *k = seed_key(0x42);
    mla_buf out;
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    mla_slice name = mla_slice_cstr("example.com/mlaudit");
    tu_assert_fail_with(mla_note_sign(&out, mla_slice_cstr("abc"), name, k), MLA_EINVAL,
                        "note.text: does not end in a newline");
    tu_assert_fail_with(mla_note_sign(&out, mla_slice_cstr(""), name, k), MLA_EINVAL,
                        "note.text: empty");
    tu_assert_fail_with(mla_note_sign(&out, mla_slice_cstr("a\tb\n"), name, k), MLA_EINVAL,
                        "note.text: control character 0x09 at offset 1");
    tu_assert_fail_with(mla_note_sign(&out, mla_slice_cstr("\xc0\x80\n"), name, k), MLA_EINVAL,
                        "note.text: not valid UTF-8");
    tu_assert_fail_with(mla_note_sign(&out, mla_slice_cstr("a\n"), mla_slice_cstr("bad name"), k),
                        MLA_EINVAL, "note.key_name: key name contains a space");
    tu_assert_fail_with(mla_note_sign(&out, mla_slice_cstr("a\n"), mla_slice_cstr(""), k),
                        MLA_EINVAL, "note.key_name: empty key name");
    ck_assert_uint_eq(out.len, 0);
    mla_buf_dispose(&out);
    mla_crypto_key_free(k);
}
END_TEST

START_TEST(test_note_text_with_empty_lines_round_trips)
{
    static const char *texts[] = {"a\n\nb\n", "a\n\n", "\n", "\n\n\n", "x\n\n\ny\n"};
    mla_privkey *k = seed_key(0x42);
    mla_note_verifier v;
    own_verifier(&v, "example.com/mlaudit", k);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        mla_buf out;
        mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
        tu_assert_ok(mla_note_sign(&out, mla_slice_cstr(texts[i]), mla_slice_cstr(v.name), k));
        mla_slice got;
        size_t n;
        tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&out), &v, 1));
        ck_assert_msg(mla_slice_eq(got, mla_slice_cstr(texts[i])), "text %zu", i);
        mla_buf_dispose(&out);
    }
    mla_crypto_key_free(k);
}
END_TEST

/* ---- checkpoints ------------------------------------------------------ */

START_TEST(test_checkpoint_format_parse_round_trip)
{
    static const uint64_t sizes[] = {0, 1, 10, 30055305, UINT64_MAX};
    for (size_t i = 0; i < 5; i++) {
        mla_checkpoint c, d;
        sample_checkpoint(&c, sizes[i]);
        if (i == 2) {
            c.n_extensions = 2;
            c.extensions[0] = mla_slice_cstr("ext one");
            c.extensions[1] = mla_slice_cstr("caf\xc3\xa9 2");
        }
        mla_buf out;
        mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
        tu_assert_ok(mla_note_checkpoint_format(&out, &c));
        tu_assert_ok(mla_note_checkpoint_parse(&d, mla_buf_slice(&out)));
        ck_assert_str_eq(d.origin, c.origin);
        ck_assert_uint_eq(d.size, c.size);
        ck_assert(mla_hash_eq(&d.root, &c.root));
        ck_assert_uint_eq(d.n_extensions, c.n_extensions);
        for (size_t e = 0; e < c.n_extensions; e++) {
            ck_assert(mla_slice_eq(d.extensions[e], c.extensions[e]));
            ck_assert(d.extensions[e].ptr >= out.ptr && d.extensions[e].ptr < out.ptr + out.len);
        }
        mla_buf_dispose(&out);
    }
    mla_checkpoint c;
    sample_checkpoint(&c, 18446744073709551615u);
    mla_buf out;
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_checkpoint_format(&out, &c));
    ck_assert(mla_slice_eq(mla_buf_slice(&out),
                           mla_slice_cstr("example.com/mlaudit\n18446744073709551615\n"
                                          "AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o=\n")));
    mla_buf_dispose(&out);
}
END_TEST

static void cp_with_size(char *buf, size_t cap, const char *size)
{
    ck_assert((size_t)snprintf(buf, cap, "o\n%s\n%s\n", size, root_b64) < cap);
}

START_TEST(test_checkpoint_parse_rejects_bad_size)
{
    static const struct {
        const char *size, *msg;
    } bad[] = {
        {"+5", "checkpoint.size: non-digit 0x2b at offset 0"},
        {"05", "checkpoint.size: leading zero"},
        {"00", "checkpoint.size: leading zero"},
        {" 5", "checkpoint.size: non-digit 0x20 at offset 0"},
        {"5 ", "checkpoint.size: non-digit 0x20 at offset 1"},
        {"-1", "checkpoint.size: non-digit 0x2d"},
        {"", "checkpoint.size: empty line"},
        {"0x10", "checkpoint.size: leading zero"},
        {"1x", "checkpoint.size: non-digit 0x78 at offset 1"},
        {"18446744073709551616", "checkpoint.size: exceeds 2^64-1"},
        {"99999999999999999999999", "checkpoint.size: exceeds 2^64-1"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cp_with_size(buf, sizeof buf, bad[i].size);
        tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, bad[i].msg);
    }
    cp_with_size(buf, sizeof buf, "0");
    tu_assert_ok(parse_cp(buf));
    cp_with_size(buf, sizeof buf, "18446744073709551615");
    tu_assert_ok(parse_cp(buf));
}
END_TEST

START_TEST(test_checkpoint_parse_rejects_bad_root)
{
    /* 31 bytes: still 44 characters ("==" padding). */
    tu_assert_fail_with(parse_cp("o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n"),
                        MLA_EINVAL, "checkpoint.root: 31 bytes, want 32");
    tu_assert_fail_with(parse_cp("o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), MLA_EINVAL,
                        "checkpoint.root: 40 base64 characters, want 44");
    /* Non-canonical: the last character before '=' has unused bits set. */
    tu_assert_fail_with(parse_cp("o\n5\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsN=\n"),
                        MLA_EINVAL, "checkpoint.root: non-canonical base64");
    tu_assert_fail_with(parse_cp("o\n5\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM \n"),
                        MLA_EINVAL, "checkpoint.root: invalid base64 character at offset 43");
    tu_assert_fail_with(parse_cp("o\n5\n\n"), MLA_EINVAL, "checkpoint.root: 0 base64 characters");
}
END_TEST

START_TEST(test_checkpoint_parse_rejects_bad_lines)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "o\n5\n%s\n\n", root_b64);
    tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, "checkpoint.extensions[0]: empty line");
    snprintf(buf, sizeof buf, "o\n5\n%s\next\n\nmore\n", root_b64);
    tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, "checkpoint.extensions[1]: empty line");
    snprintf(buf, sizeof buf, "o\n5\n%s", root_b64);
    tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, "checkpoint: text does not end in a newline");
    snprintf(buf, sizeof buf, "o\n5\n%s\next", root_b64);
    tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, "checkpoint: text does not end in a newline");
    tu_assert_fail_with(parse_cp(""), MLA_EINVAL, "checkpoint: empty text");
    tu_assert_fail_with(parse_cp("o\n5\n"), MLA_EINVAL, "checkpoint.root: missing line");
    tu_assert_fail_with(parse_cp("o\n"), MLA_EINVAL, "checkpoint.size: missing line");
    snprintf(buf, sizeof buf, "\n5\n%s\n", root_b64);
    tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, "checkpoint.origin: empty line");
    snprintf(buf, sizeof buf, "o\x7f\x01\n5\n%s\n", root_b64);
    tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, "checkpoint.origin: control character 0x01");
    snprintf(buf, sizeof buf, "o\n5\n%s\n\xfe\n", root_b64);
    tu_assert_fail_with(parse_cp(buf), MLA_EINVAL, "checkpoint.extensions[0]: not valid UTF-8");
    /* Origin longer than MLA_NOTE_NAME_MAX. */
    mla_buf b;
    mla_buf_init(&b, 4096);
    for (int i = 0; i < MLA_NOTE_NAME_MAX + 1; i++) tu_assert_ok(mla_buf_append_byte(&b, 'o'));
    tu_assert_ok(mla_buf_printf(&b, "\n5\n%s\n", root_b64));
    mla_checkpoint c;
    tu_assert_fail_with(mla_note_checkpoint_parse(&c, mla_buf_slice(&b)), MLA_EINVAL,
                        "checkpoint.origin: 256 bytes exceeds limit 255");
    /* 16 extension lines are fine, 17 are not. */
    mla_buf_clear(&b);
    tu_assert_ok(mla_buf_printf(&b, "o\n5\n%s\n", root_b64));
    for (int i = 0; i < MLA_CHECKPOINT_MAX_EXTENSIONS; i++)
        tu_assert_ok(mla_buf_printf(&b, "e%d\n", i));
    tu_assert_ok(mla_note_checkpoint_parse(&c, mla_buf_slice(&b)));
    ck_assert_uint_eq(c.n_extensions, MLA_CHECKPOINT_MAX_EXTENSIONS);
    tu_assert_ok(mla_buf_append_cstr(&b, "one more\n"));
    tu_assert_fail_with(mla_note_checkpoint_parse(&c, mla_buf_slice(&b)), MLA_EINVAL,
                        "checkpoint.extensions: more than 16 lines");
    mla_buf_dispose(&b);
}
END_TEST

START_TEST(test_checkpoint_format_rejects_bad_fields)
{
    mla_checkpoint c;
    mla_buf out;
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    sample_checkpoint(&c, 5);
    c.origin[0] = '\0';
    tu_assert_fail_with(mla_note_checkpoint_format(&out, &c), MLA_EINVAL,
                        "checkpoint.origin: empty line");
    sample_checkpoint(&c, 5);
    c.origin[3] = '\n';
    tu_assert_fail_with(mla_note_checkpoint_format(&out, &c), MLA_EINVAL,
                        "checkpoint.origin: contains a newline");
    sample_checkpoint(&c, 5);
    memset(c.origin, 'o', sizeof c.origin);
    tu_assert_fail_with(mla_note_checkpoint_format(&out, &c), MLA_EINVAL,
                        "checkpoint.origin: not NUL-terminated");
    sample_checkpoint(&c, 5);
    c.n_extensions = 1;
    c.extensions[0] = mla_slice_cstr("");
    tu_assert_fail_with(mla_note_checkpoint_format(&out, &c), MLA_EINVAL,
                        "checkpoint.extensions[0]: empty line");
    c.extensions[0] = mla_slice_cstr("a\nb");
    tu_assert_fail_with(mla_note_checkpoint_format(&out, &c), MLA_EINVAL,
                        "checkpoint.extensions[0]: contains a newline");
    c.n_extensions = MLA_CHECKPOINT_MAX_EXTENSIONS + 1;
    tu_assert_fail_with(mla_note_checkpoint_format(&out, &c), MLA_EINVAL,
                        "checkpoint.extensions: 17 exceeds limit 16");
    ck_assert_uint_eq(out.len, 0);
    mla_buf_dispose(&out);
}
END_TEST

START_TEST(test_checkpoint_sign_then_open)
{
    mla_privkey *k = seed_key(0x42);
    mla_note_verifier v;
    own_verifier(&v, "example.com/mlaudit", k);
    mla_checkpoint c, d;
    sample_checkpoint(&c, 1234);
    c.n_extensions = 1;
    c.extensions[0] = mla_slice_cstr("Timestamp: 1700000000");
    mla_buf out;
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_checkpoint_sign(&out, &c, mla_slice_cstr(v.name), k));
    tu_assert_ok(mla_note_checkpoint_open(&d, mla_buf_slice(&out), &v, 1));
    ck_assert_str_eq(d.origin, c.origin);
    ck_assert_uint_eq(d.size, 1234);
    ck_assert(mla_hash_eq(&d.root, &c.root));
    ck_assert_uint_eq(d.n_extensions, 1);
    ck_assert(mla_slice_eq(d.extensions[0], c.extensions[0]));
    ck_assert(d.extensions[0].ptr > out.ptr && d.extensions[0].ptr < out.ptr + out.len);
    /* The exact bytes of SPEC §3. */
    mla_buf want;
    mla_buf_init(&want, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_checkpoint_format(&want, &c));
    tu_assert_ok(mla_buf_append_cstr(&want, "\n" EM " example.com/mlaudit "));
    ck_assert_int_eq(memcmp(out.ptr, want.ptr, want.len), 0);
    ck_assert_uint_eq(out.len, want.len + 92 + 1);
    ck_assert_uint_eq(out.ptr[out.len - 1], '\n');
    /* The signing key must have a valid name; out is untouched. */
    size_t len = out.len;
    tu_assert_fail_with(mla_note_checkpoint_sign(&out, &c, mla_slice_cstr("a+b"), k), MLA_EINVAL,
                        "note.key_name: key name contains '+'");
    c.n_extensions = MLA_CHECKPOINT_MAX_EXTENSIONS + 1;
    tu_assert_fail_with(mla_note_checkpoint_sign(&out, &c, mla_slice_cstr(v.name), k), MLA_EINVAL,
                        "checkpoint.extensions");
    ck_assert_uint_eq(out.len, len);
    mla_buf_dispose(&want);
    mla_buf_dispose(&out);
    mla_crypto_key_free(k);
}
END_TEST

START_TEST(test_checkpoint_open_with_unknown_key_is_denied)
{
    mla_privkey *k = seed_key(0x42), *other = seed_key(0x43);
    mla_note_verifier v, w;
    own_verifier(&v, "example.com/mlaudit", k);
    own_verifier(&w, "example.com/mlaudit", other); /* same name, other key */
    mla_checkpoint c, d;
    sample_checkpoint(&c, 7);
    mla_buf out;
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_checkpoint_sign(&out, &c, mla_slice_cstr(v.name), k));
    tu_assert_fail_with(mla_note_checkpoint_open(&d, mla_buf_slice(&out), &w, 1), MLA_EDENIED,
                        "note: no signature by a known key (1 lines, 1 known keys)");
    tu_assert_fail_with(mla_note_checkpoint_open(&d, mla_buf_slice(&out), NULL, 0), MLA_EDENIED,
                        "no signature by a known key");
    mla_buf_dispose(&out);
    mla_crypto_key_free(k);
    mla_crypto_key_free(other);
}
END_TEST

START_TEST(test_checkpoint_one_unknown_one_known_signature_opens)
{
    mla_privkey *log = seed_key(0x42), *witness = seed_key(0x44);
    mla_note_verifier vlog, vwit;
    own_verifier(&vlog, "example.com/mlaudit", log);
    own_verifier(&vwit, "witness.example/w1", witness);
    mla_checkpoint c, d;
    sample_checkpoint(&c, 99);
    mla_buf a, b;
    mla_buf_init(&a, MLA_NOTE_MAX_BYTES);
    mla_buf_init(&b, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_checkpoint_sign(&a, &c, mla_slice_cstr(vwit.name), witness));
    tu_assert_ok(mla_note_checkpoint_sign(&b, &c, mla_slice_cstr(vlog.name), log));
    /* Cosigned note: witness line first, then the log's line. */
    mla_buf text;
    mla_buf_init(&text, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_checkpoint_format(&text, &c));
    tu_assert_ok(
        mla_buf_append_slice(&a, mla_slice_make(b.ptr + text.len + 1, b.len - text.len - 1)));
    tu_assert_ok(mla_note_checkpoint_open(&d, mla_buf_slice(&a), &vlog, 1));
    ck_assert_uint_eq(d.size, 99);
    mla_slice got;
    size_t n;
    mla_note_verifier both[2] = {vwit, vlog};
    tu_assert_ok(mla_note_verify(&got, &n, mla_buf_slice(&a), both, 2));
    ck_assert_uint_eq(n, 2);
    mla_buf_dispose(&text);
    mla_buf_dispose(&a);
    mla_buf_dispose(&b);
    mla_crypto_key_free(log);
    mla_crypto_key_free(witness);
}
END_TEST

START_TEST(test_checkpoint_tampered_is_denied)
{
    mla_privkey *k = seed_key(0x42);
    mla_note_verifier v;
    own_verifier(&v, "example.com/mlaudit", k);
    mla_checkpoint c, d;
    sample_checkpoint(&c, 1234);
    mla_buf out;
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    tu_assert_ok(mla_note_checkpoint_sign(&out, &c, mla_slice_cstr(v.name), k));
    size_t size_at = strlen(c.origin) + 1; /* "1234": make it "1235" */
    out.ptr[size_at + 3] = '5';
    tu_assert_fail_with(mla_note_checkpoint_open(&d, mla_buf_slice(&out), &v, 1), MLA_EDENIED,
                        "by known key example.com/mlaudit+");
    out.ptr[size_at + 3] = '4';
    tu_assert_ok(mla_note_checkpoint_open(&d, mla_buf_slice(&out), &v, 1));
    /* A base64 letter of the signature, replaced by another letter. */
    out.ptr[out.len - 10] = out.ptr[out.len - 10] == 'A' ? 'B' : 'A';
    tu_assert_fail_with(mla_note_checkpoint_open(&d, mla_buf_slice(&out), &v, 1), MLA_EDENIED,
                        "does not verify");
    mla_buf_dispose(&out);
    mla_crypto_key_free(k);
}
END_TEST

START_TEST(test_checkpoint_open_rejects_oversized_and_non_checkpoint_notes)
{
    mla_privkey *k = seed_key(0x42);
    mla_note_verifier v;
    own_verifier(&v, "example.com/mlaudit", k);
    mla_checkpoint c;
    mla_buf big, out;
    mla_buf_init(&big, 1u << 16);
    mla_buf_init(&out, 1u << 16);
    while (big.len <= MLA_NOTE_MAX_BYTES) tu_assert_ok(mla_buf_append_cstr(&big, "x\n"));
    tu_assert_fail_with(mla_note_checkpoint_open(&c, mla_buf_slice(&big), &v, 1), MLA_EINVAL,
                        "note: 16386 bytes exceeds limit 16384");
    /* A signed note that is not a checkpoint. */
    tu_assert_ok(mla_note_sign(&out, mla_slice_cstr("hello\nworld\n"), mla_slice_cstr(v.name), k));
    tu_assert_fail_with(mla_note_checkpoint_open(&c, mla_buf_slice(&out), &v, 1), MLA_EINVAL,
                        "checkpoint.size: non-digit");
    mla_buf_dispose(&big);
    mla_buf_dispose(&out);
    mla_crypto_key_free(k);
}
END_TEST

/* ---- allocation failures ---------------------------------------------- */

START_TEST(test_sign_fails_cleanly_on_every_allocation)
{
    mla_privkey *k = seed_key(0x42);
    mla_note_verifier v;
    own_verifier(&v, "example.com/mlaudit", k);
    mla_checkpoint c;
    sample_checkpoint(&c, 42);
    long k_fail, failures = 0;
    for (k_fail = 0; k_fail < 100; k_fail++) {
        mla_buf out;
        mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
        mla_alloc_fail_after(k_fail);
        mla_status rc = mla_note_checkpoint_sign(&out, &c, mla_slice_cstr(v.name), k);
        long failed = mla_alloc_failed_count();
        mla_alloc_fail_reset();
        if (failed == 0) {
            tu_assert_ok(rc);
            mla_buf_dispose(&out);
            break;
        }
        failures++;
        ck_assert_msg(rc == MLA_ENOMEM, "k=%ld: %s", k_fail, mla_status_name(rc));
        ck_assert_uint_eq(out.len, 0);
        mla_buf_dispose(&out);
    }
    ck_assert_int_lt(k_fail, 100);
    ck_assert_int_gt(failures, 0);
    /* mla_note_sign on a buffer already holding bytes: they stay. */
    for (k_fail = 0; k_fail < 100; k_fail++) {
        mla_buf out;
        mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
        tu_assert_ok(mla_buf_append_cstr(&out, "keep"));
        mla_alloc_fail_after(k_fail);
        mla_status rc = mla_note_sign(
            &out,
            mla_slice_cstr("a text long enough to make the buffer grow past its first "
                           "64 bytes, and then some more words to be sure\n"),
            mla_slice_cstr(v.name), k);
        long failed = mla_alloc_failed_count();
        mla_alloc_fail_reset();
        if (failed == 0) {
            tu_assert_ok(rc);
            mla_buf_dispose(&out);
            break;
        }
        ck_assert_msg(rc == MLA_ENOMEM, "k=%ld: %s", k_fail, mla_status_name(rc));
        ck_assert_uint_eq(out.len, 4);
        ck_assert_int_eq(memcmp(out.ptr, "keep", 4), 0);
        mla_buf_dispose(&out);
    }
    ck_assert_int_lt(k_fail, 100);
    mla_crypto_key_free(k);
}
END_TEST

START_TEST(test_verify_fails_cleanly_on_every_allocation)
{
    mla_note_verifier v;
    parse_vkey(&v, "sumdb.vkey");
    mla_buf note;
    vec(&note, "sumdb.checkpoint");
    long k_fail, failures = 0;
    for (k_fail = 0; k_fail < 100; k_fail++) {
        mla_checkpoint c;
        memset(&c, 0xaa, sizeof c);
        mla_alloc_fail_after(k_fail);
        mla_status rc = mla_note_checkpoint_open(&c, mla_buf_slice(&note), &v, 1);
        long failed = mla_alloc_failed_count();
        mla_alloc_fail_reset();
        if (failed == 0) {
            tu_assert_ok(rc);
            ck_assert_uint_eq(c.size, 30055305u);
            break;
        }
        failures++;
        ck_assert_msg(rc == MLA_ENOMEM, "k=%ld: %s", k_fail, mla_status_name(rc));
        ck_assert_uint_eq(c.n_extensions, (size_t)0xaaaaaaaaaaaaaaaau); /* untouched */
    }
    ck_assert_int_lt(k_fail, 100);
    ck_assert_int_gt(failures, 0);
    for (k_fail = 0; k_fail < 100; k_fail++) {
        mla_slice text = {NULL, 0};
        size_t n = 77;
        mla_alloc_fail_after(k_fail);
        mla_status rc = mla_note_verify(&text, &n, mla_buf_slice(&note), &v, 1);
        long failed = mla_alloc_failed_count();
        mla_alloc_fail_reset();
        if (failed == 0) {
            tu_assert_ok(rc);
            ck_assert_uint_eq(n, 1);
            break;
        }
        ck_assert_msg(rc == MLA_ENOMEM, "k=%ld: %s", k_fail, mla_status_name(rc));
        ck_assert_uint_eq(n, 77);
        ck_assert_ptr_null(text.ptr);
    }
    ck_assert_int_lt(k_fail, 100);
    mla_buf_dispose(&note);
}
END_TEST

static Suite *note_suite(void)
{
    Suite *s = suite_create("note");
    TCase *t = tcase_create("verifier");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_verifier_parses_published_vkey_and_hash_matches);
    tcase_add_test(t, test_verifier_format_round_trips);
    tcase_add_test(t, test_verifier_rejects_bad_hash);
    tcase_add_test(t, test_verifier_rejects_bad_base64_and_length);
    tcase_add_test(t, test_verifier_rejects_wrong_algorithm_byte);
    tcase_add_test(t, test_verifier_rejects_missing_plus);
    tcase_add_test(t, test_verifier_rejects_bad_names);
    tcase_add_test(t, test_verifier_rejects_every_mangling);
    suite_add_tcase(s, t);

    t = tcase_create("published");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_published_note_verifies);
    tcase_add_test(t, test_signing_reproduces_published_note);
    tcase_add_test(t, test_published_two_signatures_count_known_keys);
    tcase_add_test(t, test_published_sumdb_checkpoint_opens);
    tcase_add_test(t, test_published_c2sp_examples_parse_and_are_unknown);
    suite_add_tcase(s, t);

    t = tcase_create("signed_note");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_note_rejects_malformed);
    tcase_add_test(t, test_note_tampered_text_or_signature_is_denied);
    tcase_add_test(t, test_note_known_name_with_other_hash_is_ignored);
    tcase_add_test(t, test_note_signature_count_limit);
    tcase_add_test(t, test_note_over_max_bytes_is_refused);
    tcase_add_test(t, test_note_sign_rejects_bad_text_and_name);
    tcase_add_test(t, test_note_text_with_empty_lines_round_trips);
    suite_add_tcase(s, t);

    t = tcase_create("checkpoint");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_checkpoint_format_parse_round_trip);
    tcase_add_test(t, test_checkpoint_parse_rejects_bad_size);
    tcase_add_test(t, test_checkpoint_parse_rejects_bad_root);
    tcase_add_test(t, test_checkpoint_parse_rejects_bad_lines);
    tcase_add_test(t, test_checkpoint_format_rejects_bad_fields);
    tcase_add_test(t, test_checkpoint_sign_then_open);
    tcase_add_test(t, test_checkpoint_open_with_unknown_key_is_denied);
    tcase_add_test(t, test_checkpoint_one_unknown_one_known_signature_opens);
    tcase_add_test(t, test_checkpoint_tampered_is_denied);
    tcase_add_test(t, test_checkpoint_open_rejects_oversized_and_non_checkpoint_notes);
    suite_add_tcase(s, t);

    t = tcase_create("alloc");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_sign_fails_cleanly_on_every_allocation);
    tcase_add_test(t, test_verify_fails_cleanly_on_every_allocation);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(note_suite()); }
