/* codec: decode, validate and encode the wire messages of proto/mlaudit/v1
 * (Entry, Envelope, Change, Decision). The only module that calls
 * protobuf-c; other modules read the generated structs these functions hand
 * out but never pack or unpack them themselves. Decoders check every limit of
 * codec_limits.h and name the offending field in the error; entries and
 * envelopes are hashed from the caller's verbatim bytes, never from a
 * re-encoding. Threads: pure functions. */
#ifndef MLA_CODEC_H
#define MLA_CODEC_H

#include "base/base.h"
#include "codec/codec_limits.h"
#include "mlaudit/v1/change.pb-c.h"
#include "mlaudit/v1/entry.pb-c.h"
#include "mlaudit/v1/ledger.pb-c.h"

typedef Mlaudit__V1__Envelope mla_pb_envelope;
typedef Mlaudit__V1__Signature mla_pb_signature;
typedef Mlaudit__V1__Entry mla_pb_entry;
typedef Mlaudit__V1__Link mla_pb_link;
typedef Mlaudit__V1__Change mla_pb_change;
typedef Mlaudit__V1__Artifact mla_pb_artifact;
typedef Mlaudit__V1__Input mla_pb_input;
typedef Mlaudit__V1__Decision mla_pb_decision;
typedef Mlaudit__V1__Kind mla_kind;

#define MLA_PAYLOAD_TYPE_CHANGE "application/vnd.mlaudit.change.v1+protobuf"
#define MLA_PAYLOAD_TYPE_INTOTO "application/vnd.in-toto+json"
#define MLA_PAYLOAD_TYPE_OPENLINEAGE "application/vnd.openlineage.runevent+json"

/* Decoders: on MLA_OK *out is a validated message owned by the caller (free
 * with the matching _free); it may borrow nothing from `in`. On error *out is
 * NULL and the error names the field ("envelope.signatures[1].sig: 63 bytes,
 * want 64"). MLA_ENOMEM on allocation failure. */
mla_status mla_codec_envelope_decode(mla_pb_envelope **out, mla_slice in) MLA_MUST_USE;
mla_status mla_codec_change_decode(mla_pb_change **out, mla_slice in) MLA_MUST_USE;
mla_status mla_codec_entry_decode(mla_pb_entry **out, mla_slice in) MLA_MUST_USE;
mla_status mla_codec_decision_decode(mla_pb_decision **out, mla_slice in) MLA_MUST_USE;
void mla_codec_envelope_free(mla_pb_envelope *m);
void mla_codec_change_free(mla_pb_change *m);
void mla_codec_entry_free(mla_pb_entry *m);
void mla_codec_decision_free(mla_pb_decision *m);

/* Validation of messages built in memory (the decoders call these too). */
mla_status mla_codec_envelope_validate(const mla_pb_envelope *m) MLA_MUST_USE;
mla_status mla_codec_change_validate(const mla_pb_change *m) MLA_MUST_USE;
mla_status mla_codec_entry_validate(const mla_pb_entry *m) MLA_MUST_USE;
mla_status mla_codec_decision_validate(const mla_pb_decision *m) MLA_MUST_USE;

/* Encoders append the protobuf bytes to out (MLA_ELIMIT over out->max or the
 * message's own limit). protobuf-c encodes fields in field-number order, so
 * the bytes are deterministic for a given message. They validate first
 * (MLA_EINVAL naming the field), so nothing is written that the decoders would
 * refuse; on any error out is left as it was. */
mla_status mla_codec_envelope_encode(mla_buf *out, const mla_pb_envelope *m) MLA_MUST_USE;
mla_status mla_codec_change_encode(mla_buf *out, const mla_pb_change *m) MLA_MUST_USE;
mla_status mla_codec_entry_encode(mla_buf *out, const mla_pb_entry *m) MLA_MUST_USE;
mla_status mla_codec_decision_encode(mla_buf *out, const mla_pb_decision *m) MLA_MUST_USE;

/* Service messages (proto/mlaudit/v1/ledger.proto): the same size-checked,
 * unknown-field-refusing unpack as the decoders above, without the
 * per-message validation (handlers check what they use, naming the field).
 * `root` names the message in errors ("AppendRequest"). */
mla_status mla_codec_rpc_decode(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
                                mla_slice in, const char *root) MLA_MUST_USE;
/** Append the packed message to out (MLA_ELIMIT over MLA_LIMIT_RPC_BYTES). */
mla_status mla_codec_rpc_encode(mla_buf *out, const ProtobufCMessage *m) MLA_MUST_USE;
void mla_codec_rpc_free(ProtobufCMessage *m);

/** Append the identity "type:name@version" of an artifact. */
mla_status mla_codec_artifact_identity(mla_buf *out, const mla_pb_artifact *a) MLA_MUST_USE;
/** Append the subject scope key "type:name" (every version of one artifact). */
mla_status mla_codec_artifact_scope(mla_buf *out, const mla_pb_artifact *a) MLA_MUST_USE;
/** Split an identity "type:name@version" into out->type, ->name, ->version
 * (nothing else of out is touched): the first ':' and the first '@' after
 * it, the one split the artifact rules allow. The three parts are
 * NUL-terminated in store (replaced; it must outlive their use).
 * MLA_EINVAL "<field>: \"...\" is not type:name@version" if a part is missing
 * or empty; MLA_ELIMIT over store->max, MLA_ENOMEM. */
mla_status mla_codec_identity_split(mla_pb_artifact *out, mla_buf *store, const char *identity,
                                    const char *field) MLA_MUST_USE;

/** The deployment target a change is about (DEPLOYMENT, ROLLBACK,
 * RETIREMENT, DECISION_BATCH), or NULL; borrowed from c. */
const char *mla_codec_change_target(const mla_pb_change *c);

/** "MODEL", "DATASET", ... ; "UNSPECIFIED" for anything else. */
const char *mla_codec_kind_name(mla_kind k);
/** Parse a kind name, case-insensitive ("model", "MODEL", "decision_batch"). */
mla_status mla_codec_kind_parse(mla_kind *out, mla_slice name) MLA_MUST_USE;
/** True for a role of the documented input-role vocabulary (SPEC §3). */
bool mla_codec_role_known(mla_slice role);

#endif
