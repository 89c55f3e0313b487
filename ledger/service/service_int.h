/* service_int: what the handlers (service_append.c, service_read.c,
 * service_health.c) share with the server core (service_server.c). A handler
 * runs on a worker thread with the request's bytes and must answer exactly
 * once: mla_service__reply, mla_service__fail, or (streams) a sequence of
 * mla_service__stream_send ending with last = true. Private to service/. */
#ifndef MLA_SERVICE_INT_H
#define MLA_SERVICE_INT_H

#include <grpc/grpc.h>

#include "codec/codec.h"
#include "service/service.h"

typedef struct mla_service_call mla_service_call;

/** Handles a request (its bytes, borrowed for the call). */
typedef void (*mla_service__handler)(mla_service_call *c, mla_slice request);
/** Streams: called on a worker after a non-last message went out. */
typedef void (*mla_service__resumer)(mla_service_call *c);

typedef struct mla_service__method {
    const char *path; /* "/mlaudit.v1.Ledger/Append" */
    mla_service__handler handle;
    mla_service__resumer resume; /* NULL for unary methods */
} mla_service__method;

/* The method table (service_server.c registers each with the server). */
extern const mla_service__method mla_service__methods[];
extern const size_t mla_service__n_methods;

/* Handlers, one per method. */
void mla_service__append(mla_service_call *c, mla_slice request);
void mla_service__append_batch(mla_service_call *c, mla_slice request);
void mla_service__get_entries(mla_service_call *c, mla_slice request);
void mla_service__get_entries_resume(mla_service_call *c);
void mla_service__get_checkpoint(mla_service_call *c, mla_slice request);
void mla_service__get_inclusion_proof(mla_service_call *c, mla_slice request);
void mla_service__get_consistency_proof(mla_service_call *c, mla_slice request);
void mla_service__health_check(mla_service_call *c, mla_slice request);

/* ---- what a handler may use ------------------------------------------- */

mla_log *mla_service__log(const mla_service_call *c);
const mla_service_options *mla_service__options(const mla_service_call *c);
/** The submitter identity of SPEC §3: "x509:<CN>" with mTLS, "tls:<peer>"
 * with TLS and no client certificate, "insecure:<peer>" in plaintext. */
mla_slice mla_service__submitter(const mla_service_call *c);
/** Per-call state of a stream handler, freed with `free_fn` when the call is. */
void mla_service__set_state(mla_service_call *c, void *state, void (*free_fn)(void *));
void *mla_service__state(const mla_service_call *c);
/** True once the client cancelled or the deadline passed. */
bool mla_service__cancelled(const mla_service_call *c);

/** Answer OK with this message (encoded here; an encoding failure answers
 * with that error instead). */
void mla_service__reply(mla_service_call *c, const ProtobufCMessage *m);
/** Answer OK with these bytes as the message. */
void mla_service__reply_raw(mla_service_call *c, mla_slice bytes);
/** Answer with the status of rc and mla_error_last()'s message (which names
 * the field), and log the refusal. */
void mla_service__fail(mla_service_call *c, mla_status rc);
/** Send one message of a server stream; with last, the OK status follows in
 * the same batch and the call ends. Otherwise the method's resumer runs once
 * the message is out (not if the call was cancelled meanwhile). */
void mla_service__stream_send(mla_service_call *c, const ProtobufCMessage *m, bool last);
/** End a stream with OK and no further message. */
void mla_service__stream_end(mla_service_call *c);

/* ---- status table (service_status.c) ---------------------------------- */

grpc_status_code mla_service__status_code(mla_status s);
/** "INVALID_ARGUMENT", ... */
const char *mla_service__code_name(grpc_status_code code);

/* ---- identity (service_auth.c) ---------------------------------------- */

/** The submitter identity of a new call into out. */
mla_status mla_service__identity(mla_buf *out, grpc_call *call, bool insecure) MLA_MUST_USE;

/* ---- event log (service_log.c) ---------------------------------------- */

/** Route gRPC's own log lines through the JSON event log. */
void mla_service__log_capture_grpc(void);

/* ---- receipts on the wire (service_append.c) --------------------------- */

/** Storage for one Receipt message built from an mla_receipt (points into
 * the mla_receipt, which must outlive it). */
typedef struct mla_service__receipt_pb {
    Mlaudit__V1__Receipt receipt;
    Mlaudit__V1__Checkpoint checkpoint;
    Mlaudit__V1__InclusionProof inclusion;
    ProtobufCBinaryData hashes[MLA_MERKLE_PROOF_MAX];
} mla_service__receipt_pb;
/** Fill a Receipt message from a receipt and its entry's bytes (borrowed
 * until the message is sent). */
void mla_service__receipt_fill(mla_service__receipt_pb *pb, const mla_receipt *r, mla_slice entry);
/** Point an InclusionProof message at a proof's hashes (hashes has room for
 * MLA_MERKLE_PROOF_MAX). */
void mla_service__proof_fill(size_t *n_out, ProtobufCBinaryData *hashes, const mla_merkle_proof *p);

#endif
