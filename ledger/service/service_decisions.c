/* service_decisions: RecordDecisions (SPEC §3 decision receipts, §4), a
 * client stream at high volume. Plain decisions wait per target and are
 * sealed here into one DECISION_BATCH every decision_batch_max decisions or
 * decision_batch_ms after the first one waiting; a sealed batch (signed by
 * a serving key) is appended as it comes. Each batch, once durable, is
 * acknowledged {batch_seq, count, last_decision_id}. Half-close seals what
 * waits, then OK; a cancelled stream drops what was never acknowledged (the
 * client resends it, and the log skips identical decisions). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "service/service_int.h"

/* Most targets with decisions waiting in one stream; one more seals the
 * target that has waited longest. */
#define TARGETS_MAX 64

typedef struct pending {
    char *target; /* NULL: a free slot */
    mla_buf *bytes; /* the decisions' bytes, batch_max slots */
    mla_pb_decision **decoded; /* the decisions the bytes were encoded from */
    uint64_t *items; /* the stream item each came in */
    size_t n;
    char *last_id;
    int64_t first_ns; /* monotonic: when the first one came */
} pending;

typedef struct dec_state {
    uint64_t items; /* messages received */
    pending targets[TARGETS_MAX];
    size_t batch_max;
    int64_t batch_ns;
    mla_buf scratch; /* a decision being checked, before it has a slot */
} dec_state;

static void pending_clear(pending *p)
{
    for (size_t i = 0; i < p->n; i++) {
        mla_buf_clear(&p->bytes[i]);
        mla_codec_decision_free(p->decoded[i]);
        p->decoded[i] = NULL;
    }
    p->n = 0;
    mla_free(p->last_id);
    p->last_id = NULL;
}

static void state_free(void *arg)
{
    dec_state *st = arg;
    if (!st) return;
    for (size_t t = 0; t < TARGETS_MAX; t++) {
        pending *p = &st->targets[t];
        if (p->bytes) {
            pending_clear(p); /* the decoded decisions still waiting */
            for (size_t i = 0; i < st->batch_max; i++) mla_buf_dispose(&p->bytes[i]);
        }
        mla_free(p->bytes);
        mla_free(p->decoded);
        mla_free(p->items);
        mla_free(p->last_id);
        mla_free(p->target);
    }
    mla_buf_dispose(&st->scratch);
    mla_free(st);
}

static dec_state *state_of(mla_service_call *c)
{
    dec_state *st = mla_service__state(c);
    if (st) return st;
    st = mla_calloc(1, sizeof *st);
    if (!st) return NULL;
    const mla_service_options *o = mla_service__options(c);
    st->batch_max = o->decision_batch_max;
    st->batch_ns = (int64_t)o->decision_batch_ms * 1000000;
    mla_buf_init(&st->scratch, MLA_LIMIT_DECISION_BYTES);
    mla_service__set_state(c, st, state_free);
    return st;
}

/* ---- error messages that name the stream item ------------------------- */

/* Replace a leading `old` path ("decision", "envelope") of the last error
 * with `new_path`, or put "new_path: " before a message naming no field. */
static mla_status reprefix(mla_status rc, const char *old, const char *new_path)
{
    const mla_error *e = mla_error_last();
    char msg[MLA_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", e->code == rc ? e->msg : mla_status_name(rc));
    size_t n = strlen(old);
    if (old[0] && strncmp(msg, old, n) == 0 && (msg[n] == '.' || msg[n] == ':' || msg[n] == '['))
        return mla_error_set(rc, e->file, e->line, "%s%s", new_path, msg + n);
    return mla_error_set(rc, e->file, e->line, "%s: %s", new_path, msg);
}

/* The log names a decision by its place in the batch, "decisions[k]...";
 * name it by what the client sent instead: decisions[items[k]] for plain
 * decisions, decisions[i].batch_decisions[k] for a sealed batch. */
static mla_status rename_batch_index(mla_status rc, const uint64_t *items, size_t n,
                                     uint64_t sealed_item)
{
    const mla_error *e = mla_error_last();
    char msg[MLA_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", e->code == rc ? e->msg : mla_status_name(rc));
    static const char pre[] = "decisions[";
    size_t k = 0, j = sizeof pre - 1;
    if (strncmp(msg, pre, j) != 0 || msg[j] < '0' || msg[j] > '9') {
        if (items) return rc; /* plain decisions: the log's message stands */
        char path[64];
        snprintf(path, sizeof path, "decisions[%" PRIu64 "]", sealed_item);
        return reprefix(rc, "", path);
    }
    for (; msg[j] >= '0' && msg[j] <= '9' && k < n; j++) k = k * 10 + (size_t)(msg[j] - '0');
    if (msg[j] != ']' || k >= n) return rc;
    if (items)
        return mla_error_set(rc, e->file, e->line, "decisions[%" PRIu64 "]%s", items[k],
                             msg + j + 1);
    return mla_error_set(rc, e->file, e->line, "decisions[%" PRIu64 "].batch_decisions[%zu]%s",
                         sealed_item, k, msg + j + 1);
}

/* The canonical bytes of a decoded decision (validated by the encoder).
 * The request was unpacked refusing unknown fields, so these bytes say
 * exactly what the client's did; its leaf is SHA-256(0x00 || them). */
static mla_status decision_bytes(mla_buf *out, const mla_pb_decision *d, const char *path)
{
    mla_buf_clear(out);
    if (!d) return mla_err(MLA_EINVAL, "%s: missing", path);
    mla_status rc = mla_codec_decision_encode(out, d);
    if (rc != MLA_OK) return reprefix(rc == MLA_ELIMIT ? MLA_EINVAL : rc, "decision", path);
    if (d->time_ns <= 0)
        return mla_err(MLA_EINVAL,
                       "%s.time_ns: %lld; a decision's time is UTC nanoseconds since the epoch",
                       path, (long long)d->time_ns);
    return MLA_OK;
}

/* ---- acknowledgements -------------------------------------------------- */

static void ack(mla_service_call *c, uint64_t batch_seq, size_t count, const char *last_id)
{
    Mlaudit__V1__RecordDecisionsResponse resp = MLAUDIT__V1__RECORD_DECISIONS_RESPONSE__INIT;
    resp.batch_seq = batch_seq;
    resp.count = count;
    resp.last_decision_id = (char *)(uintptr_t)(last_id ? last_id : "");
    mla_service__stream_send(c, &resp.base, false);
}

/* ---- sealing ------------------------------------------------------------ */

static mla_status seal(mla_service_call *c, pending *p)
{
    if (p->n == 0) return MLA_OK;
    mla_index_decision *ds = mla_calloc(p->n, sizeof *ds);
    if (!ds) return mla_err(MLA_ENOMEM, "decisions: out of memory sealing %zu", p->n);
    for (size_t i = 0; i < p->n; i++)
        ds[i] = (mla_index_decision){mla_buf_slice(&p->bytes[i]), p->decoded[i]};
    mla_receipt r;
    size_t skipped = 0;
    /* SPEC §5: acknowledged only once the batch entry is durable. */
    mla_status rc = mla_log_seal_decisions_decoded(mla_service__log(c), ds, p->n,
                                                   mla_service__submitter(c), &r, &skipped);
    mla_free(ds);
    if (rc != MLA_OK) return rename_batch_index(rc, p->items, p->n, 0);
    ack(c, r.seq, p->n, p->last_id);
    pending_clear(p);
    return MLA_OK;
}

/* Seal every target (all) or those whose wait is over, then arm the timer
 * for the next one due. */
static mla_status seal_due(mla_service_call *c, dec_state *st, bool all)
{
    int64_t now = mla_time_mono_ns(), next = INT64_MAX;
    for (size_t t = 0; t < TARGETS_MAX; t++) {
        pending *p = &st->targets[t];
        if (p->n == 0) continue;
        if (all || p->first_ns + st->batch_ns <= now)
            MLA_TRY(seal(c, p));
        else if (p->first_ns + st->batch_ns < next)
            next = p->first_ns + st->batch_ns;
    }
    if (next == INT64_MAX)
        mla_service__timer_disarm(c);
    else
        mla_service__timer_arm(c, next);
    return MLA_OK;
}

/* The slot of target: its own, a free one, or (all taken) the one that has
 * waited longest, sealed first. */
static mla_status slot_for(pending **out, mla_service_call *c, dec_state *st, const char *target)
{
    pending *free_slot = NULL, *oldest = NULL;
    for (size_t t = 0; t < TARGETS_MAX; t++) {
        pending *p = &st->targets[t];
        if (p->target && strcmp(p->target, target) == 0) {
            *out = p;
            return MLA_OK;
        }
        if (!free_slot && (!p->target || p->n == 0)) free_slot = p;
        if (p->n && (!oldest || p->first_ns < oldest->first_ns)) oldest = p;
    }
    if (!free_slot) {
        MLA_TRY(seal(c, oldest));
        free_slot = oldest;
    }
    pending *p = free_slot;
    char *copy = mla_strndup(target, strlen(target));
    if (!copy) return mla_err(MLA_ENOMEM, "decisions: out of memory for a target");
    mla_free(p->target);
    p->target = copy;
    if (!p->bytes) {
        mla_buf *bytes = mla_calloc(st->batch_max, sizeof *bytes);
        mla_pb_decision **decoded = mla_calloc(st->batch_max, sizeof *decoded);
        uint64_t *items = mla_calloc(st->batch_max, sizeof *items);
        if (!bytes || !decoded || !items) {
            mla_free(bytes);
            mla_free(decoded);
            mla_free(items);
            return mla_err(MLA_ENOMEM, "decisions: out of memory for %zu decisions", st->batch_max);
        }
        for (size_t i = 0; i < st->batch_max; i++)
            mla_buf_init(&bytes[i], MLA_LIMIT_DECISION_BYTES);
        p->bytes = bytes;
        p->decoded = decoded;
        p->items = items;
    }
    *out = p;
    return MLA_OK;
}

/* The request's decision moves into the slot with its bytes (the request
 * no longer holds it), so the log seals it without decoding it again. */
static mla_status add_plain(mla_service_call *c, dec_state *st, uint64_t item,
                            Mlaudit__V1__RecordDecisionsRequest *req, const char *path)
{
    const mla_pb_decision *d = req->decision;
    MLA_TRY(decision_bytes(&st->scratch, d, path));
    pending *p = NULL;
    MLA_TRY(slot_for(&p, c, st, d->target));
    /* The checked bytes move into the slot; the slot's buffer is the next
     * scratch (both have the same limit). */
    mla_buf tmp = p->bytes[p->n];
    p->bytes[p->n] = st->scratch;
    st->scratch = tmp;
    mla_buf_clear(&st->scratch);
    char *id = mla_strndup(d->id, strlen(d->id));
    if (!id) return mla_err(MLA_ENOMEM, "decisions: out of memory for an id");
    mla_free(p->last_id);
    p->last_id = id;
    p->decoded[p->n] = req->decision;
    req->decision = NULL;
    p->items[p->n] = item;
    if (++p->n == st->batch_max) return seal(c, p);
    if (p->n == 1) {
        p->first_ns = mla_time_mono_ns();
        return seal_due(c, st, false); /* arms the timer */
    }
    return MLA_OK;
}

static mla_status add_sealed(mla_service_call *c, uint64_t item,
                             const Mlaudit__V1__RecordDecisionsRequest *req, const char *path)
{
    size_t n = req->n_batch_decisions;
    char sub[96];
    if (n == 0)
        return mla_err(MLA_EINVAL,
                       "%s.batch_decisions: empty (a sealed batch comes with its "
                       "decisions, in leaf order)",
                       path);
    if (n > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "%s.batch_decisions: %zu exceeds limit %d", path, n,
                       MLA_INDEX_BATCH_DECISIONS_MAX);
    mla_buf env;
    mla_buf *bytes = mla_calloc(n, sizeof *bytes);
    mla_index_decision *ds = mla_calloc(n, sizeof *ds);
    mla_buf_init(&env, MLA_LIMIT_ENVELOPE_BYTES);
    mla_status rc = MLA_OK;
    if (!bytes || !ds) {
        rc = mla_err(MLA_ENOMEM, "%s: out of memory for %zu decisions", path, n);
        goto out;
    }
    snprintf(sub, sizeof sub, "%s.sealed_batch", path);
    if ((rc = mla_codec_envelope_encode(&env, req->sealed_batch)) != MLA_OK) {
        rc = reprefix(rc == MLA_ELIMIT ? MLA_EINVAL : rc, "envelope", sub);
        goto out;
    }
    for (size_t j = 0; j < n; j++) {
        mla_buf_init(&bytes[j], MLA_LIMIT_DECISION_BYTES);
        snprintf(sub, sizeof sub, "%s.batch_decisions[%zu]", path, j);
        if ((rc = decision_bytes(&bytes[j], req->batch_decisions[j], sub)) != MLA_OK) goto out;
        ds[j] = (mla_index_decision){mla_buf_slice(&bytes[j]), req->batch_decisions[j]};
    }
    mla_receipt r;
    /* The decisions go with their bytes: the log does not decode them again. */
    rc = mla_log_append_decisions_decoded(mla_service__log(c), mla_buf_slice(&env), ds, n,
                                          mla_service__submitter(c), &r);
    if (rc != MLA_OK) {
        rc = rename_batch_index(rc, NULL, n, item);
        goto out;
    }
    ack(c, r.seq, n, req->batch_decisions[n - 1]->id);
out:
    if (bytes)
        for (size_t j = 0; j < n; j++) mla_buf_dispose(&bytes[j]);
    mla_free(bytes);
    mla_free(ds);
    mla_buf_dispose(&env);
    return rc;
}

/* ---- the stream ---------------------------------------------------------- */

void mla_service__decisions_message(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    dec_state *st = state_of(c);
    if (!st) {
        mla_service__fail(c, mla_err(MLA_ENOMEM, "decisions: out of memory"));
        return;
    }
    uint64_t item = st->items++;
    char path[48];
    snprintf(path, sizeof path, "decisions[%" PRIu64 "]", item);
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__record_decisions_request__descriptor,
                                         request, "RecordDecisionsRequest");
    if (rc != MLA_OK) {
        rc = reprefix(rc, "RecordDecisionsRequest", path);
        goto out;
    }
    const Mlaudit__V1__RecordDecisionsRequest *req = (const Mlaudit__V1__RecordDecisionsRequest *)m;
    switch (req->item_case) {
    case MLAUDIT__V1__RECORD_DECISIONS_REQUEST__ITEM_DECISION:
        if (req->n_batch_decisions) {
            rc = mla_err(MLA_EINVAL, "%s.batch_decisions: only with a sealed_batch", path);
            break;
        }
        /* The decision moves out of the request (freeing it skips a NULL). */
        rc = add_plain(c, st, item, (Mlaudit__V1__RecordDecisionsRequest *)m, path);
        break;
    case MLAUDIT__V1__RECORD_DECISIONS_REQUEST__ITEM_SEALED_BATCH:
        rc = add_sealed(c, item, req, path);
        break;
    default: rc = mla_err(MLA_EINVAL, "%s: set decision or sealed_batch", path); break;
    }
out:
    /* The stream ends at its first bad item; what was acknowledged stays. */
    if (rc != MLA_OK) mla_service__fail(c, rc);
    if (m) mla_codec_rpc_free(m);
}

void mla_service__decisions_half_close(mla_service_call *c)
{
    dec_state *st = mla_service__state(c);
    mla_status rc = st ? seal_due(c, st, true) : MLA_OK;
    if (rc != MLA_OK)
        mla_service__fail(c, rc);
    else
        mla_service__stream_end(c); /* after the acknowledgements */
}

void mla_service__decisions_notify(mla_service_call *c, unsigned events)
{
    dec_state *st = mla_service__state(c);
    if (events & MLA_SERVICE__EV_CLOSED) return; /* unacknowledged ones are dropped */
    mla_status rc = MLA_OK;
    if (events & MLA_SERVICE__EV_STOP) {
        /* Shutting down: what was received is recorded and acknowledged, the
         * client sends the rest to a running server. */
        rc = st ? seal_due(c, st, true) : MLA_OK;
        if (rc == MLA_OK)
            mla_service__fail_code(c, GRPC_STATUS_UNAVAILABLE,
                                   "server: shutting down; every acknowledged decision is "
                                   "recorded, resend the others to a running server");
    } else if (st && (events & MLA_SERVICE__EV_TIMER)) {
        rc = seal_due(c, st, false);
    }
    if (rc != MLA_OK) mla_service__fail(c, rc);
}
