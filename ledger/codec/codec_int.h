/* codec_int.h: private to ledger/codec. The protobuf-c plumbing shared by the
 * per-message files (size-checked unpack with our allocator, unknown-field
 * rejection, pack into an mla_buf) and the field checks they all use. */
#ifndef MLA_CODEC_INT_H
#define MLA_CODEC_INT_H

#include <protobuf-c/protobuf-c.h>

#include "codec/codec.h"

/* Room for a field path such as "entry.envelope.signatures[7].keyid". */
#define MLA_CODEC_PATH_MAX 160

/** Unpack `in` as a message of descriptor `d`: refuse more than `limit` bytes
 * before anything is allocated, refuse strings with an embedded NUL (protobuf-c
 * would silently cut them), unpack through mla_malloc, and refuse unknown
 * fields anywhere in the tree. Errors name `root` ("change: ..."). MLA_ENOMEM
 * when an allocation failed, MLA_EINVAL for anything wrong with the input. On
 * MLA_OK *out is owned by the caller (mla_codec__message_free). */
mla_status mla_codec__message_unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
                                     mla_slice in, size_t limit, const char *root) MLA_MUST_USE;
/** Free a message from mla_codec__message_unpack; NULL is a no-op. */
void mla_codec__message_free(ProtobufCMessage *m);
/** Append the packed bytes of m to out, without validating it: MLA_ELIMIT over
 * `limit` (naming root) or over out->max, MLA_ENOMEM. */
mla_status mla_codec__message_pack(mla_buf *out, const ProtobufCMessage *m, size_t limit,
                                   const char *root) MLA_MUST_USE;

/* ---- field checks (codec_field.c) ---------------------------------- */

/** Format a field path into dst (truncated to cap, always NUL-terminated). */
void mla_codec__path(char *dst, size_t cap, const char *fmt, ...) MLA_PRINTF(3, 4);

enum {
    MLA_CODEC_TEXT_REQUIRED = 1, /* empty is an error */
    MLA_CODEC_TEXT_NAME = 2, /* an identifier: no control characters */
};
/** A string field: at most max bytes, valid UTF-8 (proto3 strings must be),
 * plus the flags above. NULL counts as empty. Errors name "path.field" (or
 * "path" when field is NULL). */
mla_status mla_codec__text_check(const char *path, const char *field, const char *s, size_t max,
                                 unsigned flags) MLA_MUST_USE;
/** A bytes field that must be exactly `want` bytes, or empty unless required. */
mla_status mla_codec__bytes_check(const char *path, const char *field, ProtobufCBinaryData b,
                                  size_t want, bool required) MLA_MUST_USE;

/* ---- shared message checks ------------------------------------------ */

/** Artifact rules (SPEC §3): identity parts, digest, digests map, uri, ... */
mla_status mla_codec__artifact_check(const char *path, const mla_pb_artifact *a,
                                     bool digest_required) MLA_MUST_USE;
/** Envelope rules with errors prefixed by `path` ("envelope", "entry.envelope"). */
mla_status mla_codec__envelope_check(const char *path, const mla_pb_envelope *m) MLA_MUST_USE;

#endif
