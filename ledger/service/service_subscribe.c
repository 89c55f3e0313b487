/* service_subscribe: Subscribe (SPEC §4), a live tail of the log from a seq,
 * filtered by kind, subject name or deployment target, for monitors and
 * alerting. Entries are read from the log on demand, one message in flight:
 * a subscriber never slows a writer. Caught up, the call is parked (no
 * worker held) until the notifier sees a commit; one that lags the tree by
 * more than subscribe_lag_max entries is ended RESOURCE_EXHAUSTED with the
 * seq to resume from. Each entry carries the policy violations recorded
 * with it (audit mode), one per line. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "service/service_int.h"

/* Entries looked at per turn before the call yields its worker. */
#define SCAN_MAX 1024
#define VIOLATIONS_MAX (64u << 10)

typedef struct sub_state {
    uint64_t next; /* next seq to look at */
    uint64_t best_lag; /* the closest it has been to the head (tree size - next) */
    uint64_t in_flight; /* seq of the entry being sent, or UINT64_MAX */
    mla_kind kind;
    char *subject_name, *target; /* NULL = any */
    mla_buf entry, violations;
} sub_state;

static void state_free(void *arg)
{
    sub_state *st = arg;
    if (!st) return;
    mla_free(st->subject_name);
    mla_free(st->target);
    mla_buf_dispose(&st->entry);
    mla_buf_dispose(&st->violations);
    mla_free(st);
}

static bool text_is(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* Does the entry pass the filters? An entry whose payload is no Change
 * (in-toto, OpenLineage) passes only when no filter is set. */
static mla_status matches(bool *out, const sub_state *st, mla_slice entry)
{
    *out = true;
    if (!st->kind && !st->subject_name && !st->target) return MLA_OK;
    *out = false;
    mla_pb_entry *e = NULL;
    mla_pb_change *ch = NULL;
    MLA_TRY(mla_codec_entry_decode(&e, entry));
    mla_status rc = MLA_OK;
    if (strcmp(e->envelope->payload_type, MLA_PAYLOAD_TYPE_CHANGE) == 0 &&
        (rc = mla_codec_change_decode(
             &ch, mla_slice_make(e->envelope->payload.data, e->envelope->payload.len))) == MLA_OK) {
        *out =
            (!st->kind || ch->kind == st->kind) &&
            (!st->subject_name || (ch->subject && text_is(ch->subject->name, st->subject_name))) &&
            (!st->target || text_is(mla_codec_change_target(ch), st->target));
    }
    mla_codec_change_free(ch);
    mla_codec_entry_free(e);
    return rc;
}

/* How far behind it may be: subscribe_lag_max beyond the closest it has
 * come to the head. A subscriber may start anywhere in the history and
 * catch up; one that falls behind by more than that (it stopped reading,
 * or reads slower than the log grows) is cut. */
static uint64_t allowed_lag(mla_service_call *c, const sub_state *st)
{
    uint64_t max = mla_service__options(c)->subscribe_lag_max;
    return st->best_lag > UINT64_MAX - max ? UINT64_MAX : st->best_lag + max;
}

static bool lagging(mla_service_call *c, sub_state *st, uint64_t size)
{
    uint64_t lag = size > st->next ? size - st->next : 0;
    if (lag < st->best_lag) {
        st->best_lag = lag;
        mla_service__watch_allow(c, allowed_lag(c, st));
    }
    return lag > allowed_lag(c, st);
}

static void cut(mla_service_call *c, const sub_state *st, uint64_t size)
{
    char msg[160];
    uint64_t resume = st->in_flight != UINT64_MAX ? st->in_flight : st->next;
    snprintf(msg, sizeof msg,
             "subscriber fell behind: resume from seq %" PRIu64 " (the log is at %" PRIu64
             ", more than %" PRIu64 " entries ahead)",
             resume, size, allowed_lag(c, st));
    mla_service__cancel(c, GRPC_STATUS_RESOURCE_EXHAUSTED, msg);
}

/* Send the entry at seq with its violations. */
static mla_status send_entry(mla_service_call *c, sub_state *st, uint64_t seq)
{
    mla_log *log = mla_service__log(c);
    mla_hash leaf;
    MLA_TRY(mla_log_leaf_hash(log, seq, &leaf));
    mla_index_reader r;
    mla_log_index_reader(log, &r);
    mla_buf_clear(&st->violations);
    mla_status rc = mla_index_violations(&r, seq, &st->violations);
    if (rc == MLA_ENOTFOUND) {
        mla_error_clear();
        mla_buf_clear(&st->violations);
    } else if (rc != MLA_OK) {
        return rc;
    }
    /* One string per line; split in place. */
    size_t n_lines = 0;
    char **lines = NULL;
    if (st->violations.len) {
        MLA_TRY(mla_buf_append_byte(&st->violations, '\n'));
        for (size_t i = 0; i < st->violations.len; i++)
            if (st->violations.ptr[i] == '\n') n_lines++;
        lines = mla_calloc(n_lines, sizeof *lines);
        if (!lines) return mla_err(MLA_ENOMEM, "Subscribe: out of memory for violations");
        n_lines = 0;
        char *start = (char *)st->violations.ptr;
        for (size_t i = 0; i < st->violations.len; i++) {
            if (st->violations.ptr[i] != '\n') continue;
            st->violations.ptr[i] = 0;
            if (*start) lines[n_lines++] = start;
            start = (char *)st->violations.ptr + i + 1;
        }
    }
    Mlaudit__V1__StoredEntry se;
    mla_service__stored_entry_fill(&se, seq, mla_buf_slice(&st->entry), &leaf);
    Mlaudit__V1__SubscribeResponse resp = MLAUDIT__V1__SUBSCRIBE_RESPONSE__INIT;
    resp.entry = &se;
    resp.n_violations = n_lines;
    resp.violations = lines;
    st->in_flight = seq;
    mla_service__stream_send(c, &resp.base, false);
    mla_free(lines);
    return MLA_OK;
}

/* Advance to the next matching entry and send it; with none left, park. */
static void pump(mla_service_call *c)
{
    sub_state *st = mla_service__state(c);
    mla_log *log = mla_service__log(c);
    st->in_flight = UINT64_MAX; /* the last one went out */
    uint64_t size = mla_log_size(log);
    if (lagging(c, st, size)) {
        cut(c, st, size);
        return;
    }
    mla_status rc = MLA_OK;
    for (unsigned scanned = 0; st->next < size; scanned++) {
        if (scanned == SCAN_MAX) { /* let other calls have this worker */
            mla_service__wake(c);
            return;
        }
        uint64_t seq = st->next;
        bool match;
        if ((rc = mla_log_entry(log, seq, &st->entry)) != MLA_OK) goto fail;
        if ((rc = matches(&match, st, mla_buf_slice(&st->entry))) != MLA_OK) goto fail;
        st->next = seq + 1;
        mla_service__watch_next(c, st->next);
        if (match) {
            if ((rc = send_entry(c, st, seq)) != MLA_OK) goto fail;
            return; /* the resumer continues once it is out */
        }
    }
    if (!mla_service__watch_park(c)) mla_service__wake(c); /* it grew meanwhile */
    return;
fail:
    mla_service__fail(c, rc);
}

void mla_service__subscribe(mla_service_call *c, mla_slice request)
{
    ProtobufCMessage *m = NULL;
    sub_state *st = NULL;
    mla_status rc = mla_codec_rpc_decode(&m, &mlaudit__v1__subscribe_request__descriptor, request,
                                         "SubscribeRequest");
    if (rc != MLA_OK) goto out;
    const Mlaudit__V1__SubscribeRequest *req = (const Mlaudit__V1__SubscribeRequest *)m;
    uint64_t size = mla_log_size(mla_service__log(c));
    if (req->from_seq > size) {
        rc = mla_err(MLA_EINVAL, "from_seq: %" PRIu64 " is beyond the tree size %" PRIu64,
                     req->from_seq, size);
        goto out;
    }
    if (req->kind && strcmp(mla_codec_kind_name(req->kind), "UNSPECIFIED") == 0) {
        rc = mla_err(MLA_EINVAL, "kind: %d is not a kind", (int)req->kind);
        goto out;
    }
    if (strlen(req->subject_name) > MLA_LIMIT_NAME || strlen(req->target) > MLA_LIMIT_NAME) {
        rc = mla_err(MLA_EINVAL, "%s: longer than %d bytes",
                     strlen(req->target) > MLA_LIMIT_NAME ? "target" : "subject_name",
                     MLA_LIMIT_NAME);
        goto out;
    }
    if (!(st = mla_calloc(1, sizeof *st))) {
        rc = mla_err(MLA_ENOMEM, "Subscribe: out of memory");
        goto out;
    }
    mla_buf_init(&st->entry, MLA_LIMIT_ENTRY_BYTES);
    mla_buf_init(&st->violations, VIOLATIONS_MAX);
    st->next = req->from_seq;
    st->best_lag = size - req->from_seq;
    st->in_flight = UINT64_MAX;
    st->kind = req->kind;
    if ((req->subject_name[0] &&
         !(st->subject_name = mla_strndup(req->subject_name, strlen(req->subject_name)))) ||
        (req->target[0] && !(st->target = mla_strndup(req->target, strlen(req->target))))) {
        state_free(st);
        rc = mla_err(MLA_ENOMEM, "Subscribe: out of memory");
        goto out;
    }
    mla_service__set_state(c, st, state_free);
    mla_service__watch_begin(c, st->next);
    mla_service__watch_allow(c, allowed_lag(c, st));
    pump(c);
out:
    if (rc != MLA_OK) mla_service__fail(c, rc);
    if (m) mla_codec_rpc_free(m);
}

void mla_service__subscribe_resume(mla_service_call *c) { pump(c); }

void mla_service__subscribe_notify(mla_service_call *c, unsigned events)
{
    sub_state *st = mla_service__state(c);
    if (!st || (events & MLA_SERVICE__EV_CLOSED)) return;
    if (events & MLA_SERVICE__EV_STOP) {
        char msg[160];
        uint64_t resume = st->in_flight != UINT64_MAX ? st->in_flight : st->next;
        snprintf(msg, sizeof msg, "server: shutting down; resume from seq %" PRIu64, resume);
        /* Promptly, even past a message stuck in flow control. */
        if (mla_service__sending(c))
            mla_service__cancel(c, GRPC_STATUS_UNAVAILABLE, msg);
        else
            mla_service__fail_code(c, GRPC_STATUS_UNAVAILABLE, msg);
        return;
    }
    if (mla_service__sending(c)) {
        /* Woken because it lags while a message is in flight: a client that
         * stopped reading leaves it stuck in flow control, so end it here. */
        uint64_t size = mla_log_size(mla_service__log(c));
        if (lagging(c, st, size)) cut(c, st, size);
        return;
    }
    pump(c);
}
