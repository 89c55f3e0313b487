/* service_int: what the handlers (service_append.c, service_read.c,
 * service_query.c, service_decisions.c, service_subscribe.c,
 * service_health.c) share with the server core (service_server.c).
 * Everything a handler does for one call runs in that call's context: on a
 * worker thread, one callback at a time per call (request, message,
 * half-close, resume, events), so per-call state needs no lock. A call
 * answers exactly once: mla_service__reply, mla_service__fail, or (streams)
 * messages through mla_service__stream_send ending with last = true or
 * mla_service__stream_end. Private to service/. */
#ifndef MLA_SERVICE_INT_H
#define MLA_SERVICE_INT_H

#include <grpc/grpc.h>

#include "codec/codec.h"
#include "note/note.h"
#include "service/service.h"

typedef struct mla_service_call mla_service_call;

/** Handles a request or a client message (its bytes, borrowed for the call). */
typedef void (*mla_service__handler)(mla_service_call *c, mla_slice request);
/** Streams: called on a worker after a non-last message went out (and no
 * other message is queued), not if the call was cancelled meanwhile. */
typedef void (*mla_service__resumer)(mla_service_call *c);

/* Events for a method's notify callback (a bit set). */
#define MLA_SERVICE__EV_WAKE 1u /* mla_service__wake, or the log grew past a parked watch */
#define MLA_SERVICE__EV_TIMER 2u /* the time of mla_service__timer_arm came */
#define MLA_SERVICE__EV_STOP 4u /* the server is stopping: answer soon (long_lived methods) */
#define MLA_SERVICE__EV_CLOSED                                                                     \
    8u /* the call is over (answered or cancelled); the timer and the                              \
          watch are already released; sends are ignored */

typedef void (*mla_service__notify_fn)(mla_service_call *c, unsigned events);

typedef struct mla_service__method {
    const char *path; /* "/mlaudit.v1.Ledger/Append" */
    /* The one request message (unary and server streams). NULL for a client
     * stream, which is registered without a payload: the core receives one
     * message at a time and hands each to `message`. */
    mla_service__handler handle;
    mla_service__resumer resume; /* NULL for unary methods */
    mla_service__handler message; /* client streams: each message, in order */
    mla_service__resumer half_close; /* client streams: the client sent its last message */
    mla_service__notify_fn notify; /* events above; NULL = none (and no EV_CLOSED) */
    bool long_lived; /* a stream that lasts until asked to end: gets EV_STOP on shutdown */
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
/* service_query.c */
void mla_service__query(mla_service_call *c, mla_slice request);
void mla_service__get_proven_entries(mla_service_call *c, mla_slice request);
void mla_service__get_lineage(mla_service_call *c, mla_slice request);
void mla_service__resolve_decision(mla_service_call *c, mla_slice request);
/* service_decisions.c: RecordDecisions (client stream) */
void mla_service__decisions_message(mla_service_call *c, mla_slice request);
void mla_service__decisions_half_close(mla_service_call *c);
void mla_service__decisions_notify(mla_service_call *c, unsigned events);
/* service_subscribe.c: Subscribe (server stream, parked while caught up) */
void mla_service__subscribe(mla_service_call *c, mla_slice request);
void mla_service__subscribe_resume(mla_service_call *c);
void mla_service__subscribe_notify(mla_service_call *c, unsigned events);

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
/** True once the call's final status is queued (or the call is over):
 * anything sent now is dropped. */
bool mla_service__finished(const mla_service_call *c);
/** Messages queued or in flight (call context). */
size_t mla_service__sending(const mla_service_call *c);

/** Answer OK with this message (encoded here; an encoding failure answers
 * with that error instead). */
void mla_service__reply(mla_service_call *c, const ProtobufCMessage *m);
/** Answer OK with these bytes as the message. */
void mla_service__reply_raw(mla_service_call *c, mla_slice bytes);
/** Answer with the status of rc and mla_error_last()'s message (which names
 * the field), and log the refusal. */
void mla_service__fail(mla_service_call *c, mla_status rc);
/** Answer with a gRPC status code and message (logged like a refusal). */
void mla_service__fail_code(mla_service_call *c, grpc_status_code code, const char *msg);
/** Send one message of a stream; with last, the OK status follows in the
 * same batch and the call ends. Only one send is in flight per call: others
 * wait in a queue, in order. The method's resumer runs once the queue is
 * empty again. */
void mla_service__stream_send(mla_service_call *c, const ProtobufCMessage *m, bool last);
/** End a stream with OK and no further message (after anything queued). */
void mla_service__stream_end(mla_service_call *c);
/** End the call now with this status, even with a send stuck in flow
 * control (grpc_call_cancel_with_status); queued messages are dropped. */
void mla_service__cancel(mla_service_call *c, grpc_status_code code, const char *msg);

/** Deliver MLA_SERVICE__EV_WAKE to the call's notify on a worker: from the
 * call's context, or (service_server.c) a thread holding a reference. */
void mla_service__wake(mla_service_call *c);
/** Deliver MLA_SERVICE__EV_TIMER once the monotonic clock reaches
 * deadline_ns (re-arming moves it). Call context. */
void mla_service__timer_arm(mla_service_call *c, int64_t deadline_ns);
void mla_service__timer_disarm(mla_service_call *c);

/* ---- watching the log grow (Subscribe) ------------------------------------
 * A watch tells the notifier (mla_service_notifier) where a call is in the
 * log. After each commit the notifier wakes the call if it is parked, and
 * wakes it once (until its next seq moves) if it lags the tree by more than
 * it is allowed (subscribe_lag_max unless the call says otherwise). */

/** Start watching from seq next, until the call ends (the watch is gone
 * before EV_CLOSED is delivered). Call context. */
void mla_service__watch_begin(mla_service_call *c, uint64_t next);
/** The call's next seq (read by the notifier on the sequencer thread). */
void mla_service__watch_next(mla_service_call *c, uint64_t next);
/** The lag (tree size - next seq) past which the notifier wakes the call. */
void mla_service__watch_allow(mla_service_call *c, uint64_t max_lag);
/** Park the call until the log grows past its next seq: true when parked
 * (EV_WAKE follows), false when the log already holds more (go on). */
bool mla_service__watch_park(mla_service_call *c);

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

/* ---- reading entries (service_read.c) ----------------------------------- */

/** Encoded bytes of a StoredEntry beyond its entry bytes: field tags and
 * lengths, seq, the 32-byte leaf hash, the redacted flag (at most 59). With
 * it a message of entries (GetEntries, a Query page) stays within
 * stream_bytes, which by default is gRPC's default client receive limit of
 * 4 MiB. */
#define MLA_SERVICE__STORED_ENTRY_OVERHEAD 64

/** Point a StoredEntry message at an entry's bytes and leaf hash (borrowed
 * until the message is sent). */
void mla_service__stored_entry_fill(Mlaudit__V1__StoredEntry *se, uint64_t seq, mla_slice entry,
                                    const mla_hash *leaf);
/** Read entry seq into bytes (initialised by the caller, replaced) and its
 * leaf hash into leaf, and point se at them. */
mla_status mla_service__stored_entry_load(Mlaudit__V1__StoredEntry *se, mla_buf *bytes,
                                          mla_hash *leaf, mla_log *log, uint64_t seq) MLA_MUST_USE;
/** A request's tree size: 0 means the latest (size); larger than size is
 * refused naming field. */
mla_status mla_service__resolve_size(uint64_t *out, uint64_t want, uint64_t size,
                                     const char *field) MLA_MUST_USE;

/* ---- reading with proofs (service_query.c) ------------------------------ */

/** The latest signed checkpoint (note into `note`, replaced) and its parsed
 * body (borrowing from note). */
mla_status mla_service__checkpoint(mla_log *log, mla_buf *note, mla_checkpoint *cp) MLA_MUST_USE;

#endif
