/* fuzz_note: arbitrary bytes as a signed note, a checkpoint note, a bare
 * checkpoint body and a verifier key, against fixed verifiers (the published
 * PeterNeumann and sum.golang.org keys and a key from a fixed seed). Must
 * never crash or leak; aborts when an invariant breaks: an accepted
 * checkpoint body formats back to the same bytes, verified text is a prefix
 * of the note, and whatever text signs must verify. */
#include <stdlib.h>
#include <string.h>

#include "note/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_VERIFIERS 3

static mla_note_verifier verifiers[N_VERIFIERS];
static mla_privkey *signer;

static void init_once(void)
{
    static bool done;
    if (done) return;
    if (mla_crypto_init() != MLA_OK) abort();
    static const char *vkeys[] = {
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
    };
    for (size_t i = 0; i < 2; i++) {
        if (mla_note_verifier_parse(&verifiers[i], mla_slice_cstr(vkeys[i])) != MLA_OK) abort();
    }
    /* The key tests/fuzz/corpus/note/ checkpoints are signed with. */
    uint8_t seed[MLA_ED25519_SEED_LEN];
    memset(seed, 0x42, sizeof seed);
    if (mla_crypto_key_from_seed(&signer, seed) != MLA_OK) abort();
    if (mla_note_verifier_init(&verifiers[2], mla_slice_cstr("example.com/mlaudit"),
                               mla_crypto_key_public(signer)) != MLA_OK)
        abort();
    done = true;
}

static void check_body_round_trip(mla_slice body)
{
    mla_checkpoint c;
    if (mla_note_checkpoint_parse(&c, body) != MLA_OK) return;
    mla_buf out;
    mla_buf_init(&out, MLA_NOTE_MAX_BYTES);
    if (mla_note_checkpoint_format(&out, &c) != MLA_OK) abort();
    if (!mla_slice_eq(mla_buf_slice(&out), body)) abort(); /* parsing is strict */
    mla_buf_dispose(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    mla_slice in = mla_slice_make(data, size);

    mla_slice text;
    size_t n = 0;
    if (mla_note_verify(&text, &n, in, verifiers, N_VERIFIERS) == MLA_OK) {
        if (n < 1 || n > N_VERIFIERS || text.ptr != data || text.len >= size) abort();
        if (text.len == 0 || text.ptr[text.len - 1] != '\n') abort();
    }

    mla_checkpoint c;
    if (mla_note_checkpoint_open(&c, in, verifiers, N_VERIFIERS) == MLA_OK) {
        if (mla_note_verify(&text, &n, in, verifiers, N_VERIFIERS) != MLA_OK) abort();
        check_body_round_trip(text);
    }
    check_body_round_trip(in);

    mla_note_verifier v;
    if (mla_note_verifier_parse(&v, in) == MLA_OK) {
        mla_buf out;
        mla_note_verifier w;
        mla_buf_init(&out, 1024);
        if (mla_note_verifier_format(&out, &v) != MLA_OK) abort();
        if (mla_note_verifier_parse(&w, mla_buf_slice(&out)) != MLA_OK) abort();
        if (memcmp(&v, &w, sizeof v) != 0) abort();
        mla_buf_dispose(&out);
    }

    /* Any text the signer accepts gives a note that verifies to that text. */
    mla_buf note;
    mla_buf_init(&note, MLA_NOTE_MAX_BYTES);
    if (mla_note_sign(&note, in, mla_slice_cstr(verifiers[2].name), signer) == MLA_OK) {
        if (mla_note_verify(&text, &n, mla_buf_slice(&note), verifiers, N_VERIFIERS) != MLA_OK)
            abort();
        if (n != 1 || !mla_slice_eq(text, in)) abort();
    }
    mla_buf_dispose(&note);
    return 0;
}
