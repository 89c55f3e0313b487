/* codec_limits: every size and count limit of the wire messages, in one place.
 * Decoders check the byte limits before unpacking anything (so no allocation
 * is sized from an over-limit input) and the others while validating; the
 * error names the field, the value and the limit. */
#ifndef MLA_CODEC_LIMITS_H
#define MLA_CODEC_LIMITS_H

/* An envelope's payload. Each signature is Ed25519 over the DSSE PAE, and
 * libgcrypt holds the signed message in one S-expression token, whose length
 * is 16 bits: the PAE must stay under MLA_CRYPTO_MESSAGE_MAX (65280). The PAE
 * adds at most 6 + 1 + 3 + 1 + MLA_LIMIT_PAYLOAD_TYPE + 1 + 5 + 1 = 146
 * bytes, so 65000 leaves room. Changes are metadata: a few KiB in practice. */
#define MLA_LIMIT_PAYLOAD_BYTES 65000
/* An encoded Envelope: the payload plus the payload type and
 * MLA_LIMIT_SIGNATURES signatures (each 64-byte sig + 64-char keyid + tags). */
#define MLA_LIMIT_ENVELOPE_BYTES (MLA_LIMIT_PAYLOAD_BYTES + 4096)
/* An encoded Entry: the envelope plus what the server adds (seq, time,
 * prev_hash, submitter, up to MLA_LIMIT_LINKS links). */
#define MLA_LIMIT_ENTRY_BYTES (MLA_LIMIT_ENVELOPE_BYTES + 8192)
/* An encoded Change is an envelope payload. */
#define MLA_LIMIT_CHANGE_BYTES MLA_LIMIT_PAYLOAD_BYTES
/* An encoded Decision receipt: an id, a target, digests and one artifact. */
#define MLA_LIMIT_DECISION_BYTES 16384
/* DSSE payload type, e.g. "application/vnd.mlaudit.change.v1+protobuf". */
#define MLA_LIMIT_PAYLOAD_TYPE 128
/* Signatures on one envelope (an APPROVAL co-signed by several people). */
#define MLA_LIMIT_SIGNATURES 8
/* Short names: artifact type/name/version, actor, target, stage, role,
 * submitter, key names, external ids, media types, other-digest values. */
#define MLA_LIMIT_NAME 256
/* A back-link key: "type:name" for subject scope, so two names and a colon. */
#define MLA_LIMIT_LINK_KEY (2 * MLA_LIMIT_NAME + 1)
/* An artifact's uri. */
#define MLA_LIMIT_URI 2048
/* The human explanation of a change (and of a redaction). */
#define MLA_LIMIT_REASON 4096
/* Attributes map of a change: entries, key bytes, value bytes. */
#define MLA_LIMIT_ATTRIBUTES 256
#define MLA_LIMIT_ATTRIBUTE_KEY 128
#define MLA_LIMIT_ATTRIBUTE_VALUE 4096
/* Metrics map of a change: entries (keys as attribute keys). */
#define MLA_LIMIT_METRICS 256
/* Lineage inputs of one change. */
#define MLA_LIMIT_INPUTS 256
/* Other-algorithm digests of one artifact (md5, gitCommit, etag, ...). */
#define MLA_LIMIT_DIGESTS 16
/* Back-links of one entry (one per scope: subject, target). */
#define MLA_LIMIT_LINKS 8
/* Kinds a KEY change may allow (there are 15 kinds). */
#define MLA_LIMIT_ALLOWED_KINDS 16
/* A decision receipt's id. */
#define MLA_LIMIT_DECISION_ID 256
/* Seqs of one GetProvenEntries request: a report asks for its entries in
 * chunks of this many (about 3 MiB of answer with ordinary entries). */
#define MLA_LIMIT_PROVEN_SEQS 1000
/* One gRPC message (a request or response of ledger.proto): room for an
 * AppendBatch of 64 maximal envelopes, or many more ordinary ones. */
#define MLA_LIMIT_RPC_BYTES (16u << 20)

/* Fixed sizes bound by the formats (SPEC §3). */
#define MLA_CODEC_DIGEST_BYTES 32
#define MLA_CODEC_SIG_BYTES 64
#define MLA_CODEC_PUBKEY_BYTES 32
#define MLA_CODEC_KEYID_CHARS 64

#endif
