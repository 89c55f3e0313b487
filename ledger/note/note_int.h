/* note_int.h: private to ledger/note. The name rule shared by verifier keys
 * and signature lines, the note text rule, and signing into a buffer that
 * already holds the text (so checkpoint_sign needs no second buffer). */
#ifndef MLA_NOTE_INT_H
#define MLA_NOTE_INT_H

#include "note/note.h"

/* "— " : U+2014 EM DASH then a space, the prefix of every signature line. */
#define MLA_NOTE__SIG_PREFIX "\xe2\x80\x94 "
#define MLA_NOTE__SIG_PREFIX_LEN 4
/* Key-hash input: name || "\n" || 0x01 || pub (c2sp.org/signed-note). */
#define MLA_NOTE__ALG_ED25519 0x01
#define MLA_NOTE__KEY_HASH_LEN 4

/** c2sp.org/signed-note: "Key names MUST be non-empty and MUST NOT contain
 * any Unicode spaces or plus (U+002B) characters." Also valid UTF-8 without
 * control characters (a note may not carry them). No length limit here: a
 * long name in a note is merely unknown. MLA_EINVAL naming `field`. */
mla_status mla_note__name_check(mla_slice name, const char *field) MLA_MUST_USE;

/** Valid UTF-8 and no ASCII control character other than newline
 * (c2sp.org/signed-note). MLA_EINVAL naming `field` and the offset. */
mla_status mla_note__text_chars_check(mla_slice text, const char *field) MLA_MUST_USE;

/** out->ptr[text_start..len) is the note text: check it, sign it with k under
 * `name`, and append the blank line and the signature line. On failure out is
 * cut back to text_start. */
mla_status mla_note__sign_appended(mla_buf *out, size_t text_start, mla_slice name,
                                   const mla_privkey *k) MLA_MUST_USE;

#endif
