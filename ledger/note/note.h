/* note: C2SP signed notes (c2sp.org/signed-note) carrying C2SP tlog
 * checkpoints (c2sp.org/tlog-checkpoint), with Ed25519 keys. Sign, parse,
 * verify and the verifier-key strings "<name>+<8 hex key hash>+<base64(0x01 ||
 * pubkey)>". Signatures by unknown keys are ignored; a note with no
 * signature by a known key is rejected. Threads: pure functions. */
#ifndef MLA_NOTE_H
#define MLA_NOTE_H

#include "base/base.h"
#include "crypto/crypto.h"

#define MLA_NOTE_MAX_BYTES 16384 /* whole note: text + signatures */
#define MLA_NOTE_NAME_MAX 255 /* key name / origin line bytes */
#define MLA_NOTE_MAX_SIGNATURES 16
#define MLA_CHECKPOINT_MAX_EXTENSIONS 16

typedef struct mla_note_verifier {
    char name[MLA_NOTE_NAME_MAX + 1];
    uint32_t key_hash; /* first 4 bytes of SHA-256(name || "\n" || 0x01 || pub), big-endian */
    mla_pubkey pub;
} mla_note_verifier;

/** Key hash per the spec. */
uint32_t mla_note_key_hash(mla_slice name, const mla_pubkey *pub);
/** Fill a verifier from a name and key (validates the name: non-empty, no
 * Unicode spaces, no '+'). */
mla_status mla_note_verifier_init(mla_note_verifier *out, mla_slice name,
                                  const mla_pubkey *pub) MLA_MUST_USE;
/** Parse "<name>+<hash>+<base64(0x01||key)>"; MLA_EINVAL names what is wrong
 * (including a key hash that does not match). */
mla_status mla_note_verifier_parse(mla_note_verifier *out, mla_slice vkey) MLA_MUST_USE;
/** Append the verifier-key string. */
mla_status mla_note_verifier_format(mla_buf *out, const mla_note_verifier *v) MLA_MUST_USE;

/** Sign `text` (must be non-empty and end in '\n') with the key called
 * `name`; appends the whole note (text, blank line, signature line) to out. */
mla_status mla_note_sign(mla_buf *out, mla_slice text, mla_slice name,
                         const mla_privkey *k) MLA_MUST_USE;

/** Verify a note against known verifiers. On MLA_OK `text_out` is the signed
 * text (borrowed from note) and *n_verified the number of known keys whose
 * signatures verified (>= 1). MLA_EINVAL for a malformed note (naming the
 * line), MLA_EDENIED if no known key signed it or a known key's signature is
 * wrong. */
mla_status mla_note_verify(mla_slice *text_out, size_t *n_verified, mla_slice note,
                           const mla_note_verifier *verifiers, size_t n_verifiers) MLA_MUST_USE;

/* ---- tlog checkpoints -------------------------------------------------- */

typedef struct mla_checkpoint {
    char origin[MLA_NOTE_NAME_MAX + 1];
    uint64_t size;
    mla_hash root;
    size_t n_extensions;
    mla_slice extensions[MLA_CHECKPOINT_MAX_EXTENSIONS]; /* borrowed from the parsed text */
} mla_checkpoint;

/** Append the checkpoint body "<origin>\n<size>\n<base64 root>\n[ext\n]..." */
mla_status mla_note_checkpoint_format(mla_buf *out, const mla_checkpoint *c) MLA_MUST_USE;
/** Parse a checkpoint body (strict: decimal size without sign or leading zero,
 * canonical base64 of 32 bytes, no empty extension lines). */
mla_status mla_note_checkpoint_parse(mla_checkpoint *out, mla_slice text) MLA_MUST_USE;
/** Format and sign in one step: appends the signed note. */
mla_status mla_note_checkpoint_sign(mla_buf *out, const mla_checkpoint *c, mla_slice key_name,
                                    const mla_privkey *k) MLA_MUST_USE;
/** Verify a signed checkpoint note and parse its body; out->extensions borrow
 * from note. */
mla_status mla_note_checkpoint_open(mla_checkpoint *out, mla_slice note,
                                    const mla_note_verifier *verifiers,
                                    size_t n_verifiers) MLA_MUST_USE;

#endif
