/* client_recorder: the decision recorder (SPEC §3 decision receipts, §4
 * RecordDecisions). An inference service queues each decision with one call;
 * a background thread keeps a RecordDecisions stream open, sends them, and
 * counts the server's acknowledgements. A stream that breaks is reopened and
 * everything unacknowledged is sent again (the server skips identical
 * decisions it already recorded, and an identical sealed envelope returns its
 * original receipt), so an acknowledged decision is never lost and a resend
 * never records one twice. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/client_int.h"

#define PENDING_DEFAULT 65536
#define FLUSH_MS_DEFAULT 50
#define BATCH_DEFAULT 1024
/* A sealed batch's message (envelope plus its decisions) stays well under
 * the RPC limit. */
#define SEALED_BYTES_MAX (MLA_LIMIT_RPC_BYTES / 2)
/* Consecutive failed streams before the recorder gives up, and the backoff
 * between them (doubling from the first, capped): about 11 s in all, enough
 * for a daemon to restart. */
#define RETRY_MAX 10
#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 2000

typedef struct pending {
    uint8_t *bytes; /* the decision's protobuf bytes */
    size_t len;
    char *target, *id; /* to match acknowledgements */
    bool done; /* acknowledged */
} pending;

/* A sealed batch, kept (with its exact envelope) until acknowledged, so a
 * resend is byte-identical. */
typedef struct sealed {
    uint64_t start; /* decisions [start, start + count) */
    size_t count;
    mla_buf message; /* the whole RecordDecisionsRequest */
} sealed;

struct mla_recorder {
    mla_client *c;
    size_t max_pending, batch_max;
    unsigned flush_ms;
    const mla_privkey *key; /* sealed mode: borrowed until close */
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* any change below: broadcast */
    pending *ring; /* decision i at ring[i % max_pending], for acked <= i < recorded */
    uint64_t recorded;
    uint64_t acked; /* every decision below is acknowledged (ring slots free) */
    /* Decisions acknowledged: the server acknowledges each target's batches
     * on their own, so some beyond `acked` may be too. */
    uint64_t n_acked;
    uint64_t sent; /* plain: decisions sent on the current stream (absolute) */
    /* sealed: batches not yet acknowledged, oldest first */
    sealed *batches;
    size_t n_batches, cap_batches, batches_sent; /* sent on the current stream */
    uint64_t sealed_upto; /* decisions below this are in a batch */
    int64_t unsealed_since_ns; /* when decision sealed_upto was recorded */
    unsigned flushers; /* callers in flush: seal what there is now */
    bool stop, broken;
    int64_t progress_ns; /* last acknowledgement (or stream start) */
    uint64_t last_seq;
    mla_status err; /* sticky */
    char errmsg[MLA_ERROR_MSG_MAX];
};

/* ---- small helpers -------------------------------------------------------- */

static void deadline_ms(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    int64_t ns = ts->tv_nsec + (ms % 1000) * 1000000;
    ts->tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

/* Wait on the recorder's condition for at most ms (< 0: no limit). */
static void wait_ms(mla_recorder *r, int64_t ms)
{
    if (ms < 0) {
        pthread_cond_wait(&r->cv, &r->mu);
        return;
    }
    struct timespec ts;
    deadline_ms(&ts, ms);
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

/* Record the recorder's error (first one wins) from this thread's last
 * error; r->mu held. */
static void fail_locked(mla_recorder *r, mla_status code)
{
    if (r->err != MLA_OK) return;
    r->err = code;
    const mla_error *e = mla_error_last();
    snprintf(r->errmsg, sizeof r->errmsg, "%s",
             e->code == code ? e->msg : "recorder: the stream failed");
    pthread_cond_broadcast(&r->cv);
}

static mla_status error_locked(const mla_recorder *r) { return mla_err(r->err, "%s", r->errmsg); }

static pending *item(mla_recorder *r, uint64_t i) { return &r->ring[i % r->max_pending]; }

static void item_free(pending *p)
{
    mla_free(p->bytes);
    mla_free(p->target);
    mla_free(p->id);
    memset(p, 0, sizeof *p);
}

/* RecordDecisionsRequest field numbers (ledger.proto). */
#define TAG_DECISION 0x0a /* 1: Decision */
#define TAG_SEALED 0x12 /* 2: Envelope */
#define TAG_BATCH_DECISION 0x1a /* 3: repeated Decision */

/* ---- sealed batches ------------------------------------------------------- */

static bool same_artifact(const mla_pb_artifact *a, const mla_pb_artifact *b)
{
    if (!a || !b) return false;
    return strcmp(a->type, b->type) == 0 && strcmp(a->name, b->name) == 0 &&
           strcmp(a->version, b->version) == 0 && a->digest.len == b->digest.len &&
           (a->digest.len == 0 || memcmp(a->digest.data, b->digest.data, a->digest.len) == 0);
}

/* Seal decisions [start, start + n) into one message: a DECISION_BATCH
 * change signed by the serving key (SPEC §3: the receipt then binds to the
 * deployment that named the key), and the decisions themselves. Called
 * without the lock: these ring slots are unacknowledged, so nobody frees or
 * reuses them. */
static mla_status seal(mla_recorder *r, uint64_t start, size_t n, mla_buf *msg)
{
    mla_status rc = MLA_OK;
    mla_pb_decision **ds = mla_calloc(n, sizeof *ds);
    mla_buf env;
    mla_buf_init(&env, MLA_LIMIT_ENVELOPE_BYTES);
    if (!ds) return mla_err(MLA_ENOMEM, "recorder: out of memory sealing %zu decisions", n);
    mla_merkle_frontier f;
    mla_merkle_frontier_init(&f);
    int64_t first = 0, last = 0;
    bool common_model = true;
    for (size_t i = 0; i < n; i++) {
        const pending *p = item(r, start + i);
        mla_slice b = mla_slice_make(p->bytes, p->len);
        if ((rc = mla_codec_decision_decode(&ds[i], b)) != MLA_OK) goto out;
        mla_hash leaf;
        mla_merkle_leaf_hash(&leaf, b); /* SPEC §3: SHA-256(0x00 || decision) */
        if ((rc = mla_merkle_frontier_append(&f, &leaf, NULL, NULL)) != MLA_OK) goto out;
        int64_t t = ds[i]->time_ns;
        if (i == 0 || t < first) first = t;
        if (i == 0 || t > last) last = t;
        if (i > 0 && !same_artifact(ds[i]->model, ds[0]->model)) common_model = false;
    }
    mla_hash root;
    mla_merkle_frontier_root(&f, &root);
    Mlaudit__V1__DecisionBatch db = MLAUDIT__V1__DECISION_BATCH__INIT;
    db.target = ds[0]->target;
    db.model = common_model ? ds[0]->model : NULL;
    db.first_time_ns = first;
    db.last_time_ns = last;
    db.count = n;
    db.root.data = root.b;
    db.root.len = sizeof root.b;
    mla_pb_change c = MLAUDIT__V1__CHANGE__INIT;
    c.kind = MLAUDIT__V1__KIND__KIND_DECISION_BATCH;
    c.reason = (char *)(uintptr_t) "decision receipts sealed by the serving process";
    c.client_time_ns = mla_time_now_ns();
    c.detail_case = MLAUDIT__V1__CHANGE__DETAIL_DECISION_BATCH;
    c.decision_batch = &db;
    const mla_privkey *keys[1] = {r->key};
    if ((rc = mla_client_envelope_sign(&env, &c, keys, 1)) != MLA_OK) goto out;
    mla_buf_clear(msg);
    if ((rc = mla_client__frame(msg, TAG_SEALED, mla_buf_slice(&env))) != MLA_OK) goto out;
    for (size_t i = 0; i < n; i++) {
        const pending *p = item(r, start + i);
        if ((rc = mla_client__frame(msg, TAG_BATCH_DECISION, mla_slice_make(p->bytes, p->len))) !=
            MLA_OK)
            goto out;
    }
out:
    for (size_t i = 0; i < n; i++) mla_codec_decision_free(ds[i]);
    mla_free(ds);
    mla_buf_dispose(&env);
    return rc;
}

/* How many decisions from sealed_upto go in the next batch: one target, at
 * most batch_max, within SEALED_BYTES_MAX. r->mu held. */
static void batch_extent(mla_recorder *r, size_t *n_out)
{
    uint64_t start = r->sealed_upto;
    size_t n = 0, bytes = 0;
    const char *target = item(r, start)->target;
    while (start + n < r->recorded && n < r->batch_max) {
        const pending *p = item(r, start + n);
        if (n > 0 && bytes + p->len + 16 > SEALED_BYTES_MAX) break;
        if (strcmp(target, p->target) != 0) break;
        bytes += p->len + 16;
        n++;
    }
    *n_out = n;
}

static mla_status batches_push(mla_recorder *r, uint64_t start, size_t n, mla_buf *msg)
{
    if (r->n_batches == r->cap_batches) {
        size_t cap = r->cap_batches ? 2 * r->cap_batches : 8, bytes;
        sealed *v = NULL;
        if (mla_mul_size(&bytes, cap, sizeof *v)) v = mla_realloc(r->batches, bytes);
        if (!v) return mla_err(MLA_ENOMEM, "recorder: out of memory for %zu batches", cap);
        r->batches = v;
        r->cap_batches = cap;
    }
    sealed *s = &r->batches[r->n_batches++];
    s->start = start;
    s->count = n;
    s->message = *msg; /* takes the storage */
    mla_buf_init(msg, MLA_LIMIT_RPC_BYTES);
    return MLA_OK;
}

static void batches_pop(mla_recorder *r)
{
    mla_buf_dispose(&r->batches[0].message);
    r->n_batches--;
    memmove(&r->batches[0], &r->batches[1], r->n_batches * sizeof r->batches[0]);
}

/* ---- one stream ----------------------------------------------------------- */

typedef struct stream {
    mla_recorder *r;
    mla_client__bidi *b;
    pthread_t reader;
} stream;

/* The target whose oldest `count` sent, unacknowledged decisions end with
 * last_id: the server seals each target's decisions on their own, in the
 * order they came (service_decisions.c), so an acknowledgement covers a
 * prefix of one target's decisions. When several targets fit (the same id
 * on two targets), the one whose batch filled first. r->mu held. */
static mla_status ack_target(mla_recorder *r, uint64_t count, const char *last_id, const char **out)
{
    typedef struct tcount {
        const char *target;
        uint64_t n;
    } tcount;
    tcount *t = NULL;
    size_t n_t = 0, cap = 0;
    mla_status rc = MLA_OK;
    *out = NULL;
    for (uint64_t i = r->acked; i < r->sent && !*out; i++) {
        const pending *p = item(r, i);
        if (p->done) continue;
        size_t k = 0;
        while (k < n_t && strcmp(t[k].target, p->target) != 0) k++;
        if (k == n_t) {
            if (n_t == cap) {
                size_t ncap = cap ? 2 * cap : 8, bytes;
                tcount *v = NULL;
                if (mla_mul_size(&bytes, ncap, sizeof *v)) v = mla_realloc(t, bytes);
                if (!v) {
                    rc = mla_err(MLA_ENOMEM, "recorder: out of memory matching an acknowledgement");
                    break;
                }
                t = v;
                cap = ncap;
            }
            t[n_t].target = p->target;
            t[n_t++].n = 0;
        }
        if (++t[k].n == count && (!last_id[0] || strcmp(p->id, last_id) == 0)) *out = p->target;
    }
    mla_free(t);
    if (rc == MLA_OK && !*out)
        rc = mla_err(MLA_ECORRUPT,
                     "recorder: acknowledgement of %llu decisions ending with \"%.128s\" matches "
                     "none sent",
                     (unsigned long long)count, last_id);
    return rc;
}

/* Acknowledged decisions leave the queue once every one before them has. */
static void advance(mla_recorder *r)
{
    while (r->acked < r->recorded && item(r, r->acked)->done) item_free(item(r, r->acked++));
}

/* An acknowledgement: `count` decisions are recorded in the batch entry at
 * batch_seq. r->mu held. */
static mla_status ack_locked(mla_recorder *r, const Mlaudit__V1__RecordDecisionsResponse *a)
{
    const char *last_id = a->last_decision_id ? a->last_decision_id : "";
    if (a->count == 0) return mla_err(MLA_ECORRUPT, "recorder: acknowledgement of 0 decisions");
    if (r->key) {
        /* Sealed batches are appended, and acknowledged, in the order sent. */
        if (r->batches_sent == 0)
            return mla_err(MLA_ECORRUPT, "recorder: acknowledgement of a batch never sent");
        const sealed *b = &r->batches[0];
        const pending *lastp = item(r, b->start + b->count - 1);
        if (a->count != b->count || (last_id[0] && strcmp(last_id, lastp->id) != 0))
            return mla_err(MLA_ECORRUPT,
                           "recorder: acknowledged %llu decisions ending with \"%.128s\" for a "
                           "batch of %zu ending with \"%.128s\"",
                           (unsigned long long)a->count, last_id, b->count, lastp->id);
        for (size_t i = 0; i < b->count; i++) item(r, b->start + i)->done = true;
        batches_pop(r);
        r->batches_sent--;
    } else {
        const char *target;
        MLA_TRY(ack_target(r, a->count, last_id, &target));
        uint64_t k = 0;
        for (uint64_t i = r->acked; i < r->sent && k < a->count; i++) {
            pending *p = item(r, i);
            if (p->done || strcmp(p->target, target) != 0) continue;
            p->done = true;
            k++;
        }
    }
    r->n_acked += a->count;
    advance(r);
    r->last_seq = a->batch_seq;
    r->progress_ns = mla_time_mono_ns();
    pthread_cond_broadcast(&r->cv);
    return MLA_OK;
}

static void *reader_main(void *arg)
{
    stream *s = arg;
    mla_recorder *r = s->r;
    mla_buf msg;
    mla_buf_init(&msg, MLA_LIMIT_RPC_BYTES);
    for (;;) {
        bool end = false;
        ProtobufCMessage *m = NULL;
        mla_status rc = mla_client__bidi_recv(s->b, &msg, &end);
        if (rc == MLA_OK && end) break;
        if (rc == MLA_OK &&
            mla_codec_rpc_decode(&m, &mlaudit__v1__record_decisions_response__descriptor,
                                 mla_buf_slice(&msg), "RecordDecisionsResponse") != MLA_OK)
            rc = mla_client__corrupt("server: malformed acknowledgement");
        pthread_mutex_lock(&r->mu);
        if (rc == MLA_OK) rc = ack_locked(r, (const Mlaudit__V1__RecordDecisionsResponse *)m);
        /* A server that acknowledges what it was not sent cannot be
         * trusted with a resend either: that is final. */
        if (rc == MLA_ECORRUPT || rc == MLA_ENOMEM) fail_locked(r, rc);
        pthread_mutex_unlock(&r->mu);
        mla_codec_rpc_free(m);
        if (rc != MLA_OK) break;
    }
    mla_buf_dispose(&msg);
    pthread_mutex_lock(&r->mu);
    r->broken = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    /* Unblocks a sender waiting in gRPC, if any. */
    mla_client__bidi_cancel(s->b);
    return NULL;
}

/* What to do next, decided under the lock. */
typedef enum step { STEP_SEND, STEP_SEAL, STEP_DONE, STEP_BROKEN } step;

static step next_step(mla_recorder *r, uint64_t *idx, size_t *n)
{
    for (;;) {
        if (r->err != MLA_OK || r->broken) return STEP_BROKEN;
        int64_t now = mla_time_mono_ns(), wait = -1;
        if (r->key) {
            if (r->batches_sent < r->n_batches) {
                *idx = r->batches_sent;
                return STEP_SEND;
            }
            if (r->sealed_upto < r->recorded) {
                int64_t due = r->unsealed_since_ns + (int64_t)r->flush_ms * 1000000;
                if (r->recorded - r->sealed_upto >= r->batch_max || r->flushers > 0 || r->stop ||
                    now >= due) {
                    batch_extent(r, n);
                    *idx = r->sealed_upto;
                    return STEP_SEAL;
                }
                wait = (due - now) / 1000000 + 1;
            }
        } else {
            /* After a reconnect, ones acknowledged out of order are not
             * sent again. */
            while (r->sent < r->recorded && item(r, r->sent)->done) r->sent++;
            if (r->sent < r->recorded) {
                *idx = r->sent;
                return STEP_SEND;
            }
        }
        if (r->stop && r->acked == r->recorded) return STEP_DONE;
        /* Something sent and not acknowledged for a whole call timeout: the
         * stream is stuck; start over. */
        if (r->acked < r->recorded && (r->key ? r->batches_sent > 0 : r->sent > r->acked)) {
            int64_t stuck = r->progress_ns + (int64_t)r->c->timeout_ms * 1000000;
            if (now >= stuck) {
                mla_err(MLA_EIO, "recorder: no acknowledgement for %d ms", r->c->timeout_ms);
                return STEP_BROKEN;
            }
            int64_t w = (stuck - now) / 1000000 + 1;
            if (wait < 0 || w < wait) wait = w;
        }
        wait_ms(r, wait);
    }
}

/* Run one stream until it breaks or the recorder is done. Returns the
 * stream's status: MLA_OK when closed after everything was acknowledged. */
static mla_status stream_run(mla_recorder *r, bool *progressed)
{
    stream s = {.r = r};
    mla_buf msg;
    mla_buf_init(&msg, MLA_LIMIT_RPC_BYTES);
    MLA_TRY(mla_client__bidi_open(&s.b, r->c, MLA_CLIENT_METHOD("RecordDecisions")));
    pthread_mutex_lock(&r->mu);
    uint64_t acked_at_start = r->n_acked;
    /* Resend everything not acknowledged (SPEC §4: retries are safe). */
    r->sent = r->acked;
    r->batches_sent = 0;
    r->broken = false;
    r->progress_ns = mla_time_mono_ns();
    pthread_mutex_unlock(&r->mu);
    if (pthread_create(&s.reader, NULL, reader_main, &s) != 0) {
        mla_client__bidi_cancel(s.b);
        mla_ignore(mla_client__bidi_finish(s.b)); /* the thread error is the news */
        return mla_err(MLA_ENOMEM, "recorder: cannot start the stream's reader thread");
    }
    mla_status rc = MLA_OK;
    bool clean = false;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        uint64_t idx = 0;
        size_t n = 0;
        step st = next_step(r, &idx, &n);
        if (st == STEP_DONE) {
            clean = true;
            break;
        }
        if (st == STEP_BROKEN) break;
        if (st == STEP_SEAL) {
            pthread_mutex_unlock(&r->mu);
            rc = seal(r, idx, n, &msg);
            pthread_mutex_lock(&r->mu);
            if (rc == MLA_OK) rc = batches_push(r, idx, n, &msg);
            if (rc != MLA_OK) {
                fail_locked(r, rc);
                break;
            }
            r->sealed_upto = idx + n;
            r->unsealed_since_ns = mla_time_mono_ns();
            continue;
        }
        /* STEP_SEND: the message is built from storage that stays put while
         * unacknowledged, then sent without the lock. */
        mla_slice out;
        if (r->key) {
            out = mla_buf_slice(&r->batches[idx].message);
            r->batches_sent++;
        } else {
            const pending *p = item(r, idx);
            mla_buf_clear(&msg);
            if ((rc = mla_client__frame(&msg, TAG_DECISION, mla_slice_make(p->bytes, p->len))) !=
                MLA_OK) {
                fail_locked(r, rc);
                break;
            }
            out = mla_buf_slice(&msg);
            r->sent++;
        }
        pthread_mutex_unlock(&r->mu);
        rc = mla_client__bidi_send(s.b, out);
        pthread_mutex_lock(&r->mu);
        if (rc != MLA_OK) break;
    }
    *progressed = r->n_acked > acked_at_start;
    pthread_mutex_unlock(&r->mu);
    if (clean) {
        /* Half-close; the server ends the call once it has answered. */
        if (mla_client__bidi_close_send(s.b) != MLA_OK) mla_client__bidi_cancel(s.b);
    } else {
        mla_client__bidi_cancel(s.b);
    }
    pthread_join(s.reader, NULL);
    mla_status fin = mla_client__bidi_finish(s.b);
    mla_buf_dispose(&msg);
    if (clean) return MLA_OK;
    /* Why it ended: the server's status says more than our broken send. */
    if (fin != MLA_OK) return fin;
    return mla_err(MLA_EIO, "recorder: the stream ended before every decision was acknowledged");
}

/* Statuses where a resend cannot help: the server refused what it was sent. */
static bool final_status(mla_status rc)
{
    switch (rc) {
    case MLA_EIO:
    case MLA_ESHUTDOWN: return false;
    default: return true;
    }
}

static void *recorder_main(void *arg)
{
    mla_recorder *r = arg;
    unsigned failures = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        /* A stream is opened once there is something to send. */
        while (r->err == MLA_OK && !r->stop && r->acked == r->recorded) wait_ms(r, -1);
        bool done = r->err != MLA_OK || (r->stop && r->acked == r->recorded);
        pthread_mutex_unlock(&r->mu);
        if (done) break;

        bool progressed = false;
        mla_status rc = stream_run(r, &progressed);
        pthread_mutex_lock(&r->mu);
        if (rc == MLA_OK || r->err != MLA_OK) {
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        if (progressed) failures = 0;
        if (final_status(rc) || ++failures > RETRY_MAX) {
            fail_locked(r, rc);
            pthread_mutex_unlock(&r->mu);
            break;
        }
        /* Back off before the next attempt (a restarting daemon). */
        int64_t ms = BACKOFF_FIRST_MS;
        for (unsigned i = 1; i < failures && ms < BACKOFF_MAX_MS; i++) ms *= 2;
        if (ms > BACKOFF_MAX_MS) ms = BACKOFF_MAX_MS;
        int64_t until = mla_time_mono_ns() + ms * 1000000;
        while (r->err == MLA_OK && mla_time_mono_ns() < until)
            wait_ms(r, (until - mla_time_mono_ns()) / 1000000 + 1);
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

/* ---- the API -------------------------------------------------------------- */

static void recorder_free(mla_recorder *r)
{
    for (uint64_t i = r->acked; i < r->recorded; i++) item_free(item(r, i));
    for (size_t i = 0; i < r->n_batches; i++) mla_buf_dispose(&r->batches[i].message);
    mla_free(r->batches);
    mla_free(r->ring);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    mla_free(r);
}

mla_status mla_recorder_start(mla_recorder **out, mla_client *c, const mla_recorder_options *opts)
{
    MLA_ASSERT(out && c);
    *out = NULL;
    mla_recorder_options o = {0};
    if (opts) o = *opts;
    if (o.batch_max > MLA_INDEX_BATCH_DECISIONS_MAX)
        return mla_err(MLA_EINVAL, "batch_max: %zu exceeds limit %d", o.batch_max,
                       MLA_INDEX_BATCH_DECISIONS_MAX);
    size_t bytes;
    size_t max_pending = o.max_pending ? o.max_pending : PENDING_DEFAULT;
    if (!mla_mul_size(&bytes, max_pending, sizeof(pending)))
        return mla_err(MLA_EINVAL, "max_pending: %zu is too large", max_pending);
    mla_recorder *r = mla_calloc(1, sizeof *r);
    if (!r) return mla_err(MLA_ENOMEM, "recorder: out of memory");
    r->c = c;
    r->max_pending = max_pending;
    r->flush_ms = o.flush_ms ? o.flush_ms : FLUSH_MS_DEFAULT;
    r->batch_max = o.batch_max ? o.batch_max : BATCH_DEFAULT;
    r->key = o.serving_key;
    if (!(r->ring = mla_calloc(max_pending, sizeof *r->ring))) {
        mla_free(r);
        return mla_err(MLA_ENOMEM, "recorder: out of memory for %zu pending decisions",
                       max_pending);
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
        recorder_free(r);
        return mla_err(MLA_ENOMEM, "recorder: cannot start its thread");
    }
    r->thread_started = true;
    *out = r;
    return MLA_OK;
}

mla_status mla_recorder_record(mla_recorder *r, const mla_pb_decision *d)
{
    MLA_ASSERT(r && d);
    mla_buf b;
    mla_buf_init(&b, MLA_LIMIT_DECISION_BYTES);
    /* Validated and encoded here: a bad decision is the caller's, named now
     * rather than failing the stream for everyone later. */
    MLA_TRY(mla_codec_decision_encode(&b, d));
    /* The server refuses these (service_decisions.c); say so here. */
    if (d->time_ns <= 0) {
        mla_buf_dispose(&b);
        return mla_err(MLA_EINVAL,
                       "decision.time_ns: %lld; a decision's time is UTC nanoseconds since "
                       "the epoch",
                       (long long)d->time_ns);
    }
    char *target = mla_client__strdup(d->target);
    char *id = mla_client__strdup(d->id);
    if (!target || !id) {
        mla_free(target);
        mla_free(id);
        mla_buf_dispose(&b);
        return mla_err(MLA_ENOMEM, "recorder: out of memory");
    }
    pthread_mutex_lock(&r->mu);
    while (r->err == MLA_OK && !r->stop && r->recorded - r->acked >= r->max_pending) wait_ms(r, -1);
    mla_status rc = MLA_OK;
    if (r->err != MLA_OK)
        rc = error_locked(r);
    else if (r->stop)
        rc = mla_err(MLA_ESHUTDOWN, "recorder: closing");
    if (rc == MLA_OK) {
        pending *p = item(r, r->recorded);
        p->bytes = b.ptr; /* the buffer's storage moves into the queue */
        p->len = b.len;
        p->target = target;
        p->id = id;
        p->done = false;
        target = id = NULL;
        mla_buf_init(&b, 0);
        if (r->sealed_upto == r->recorded) r->unsealed_since_ns = mla_time_mono_ns();
        r->recorded++;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    mla_free(target);
    mla_free(id);
    mla_buf_dispose(&b);
    return rc;
}

mla_status mla_recorder_flush(mla_recorder *r, uint64_t *last_seq_out)
{
    MLA_ASSERT(r);
    pthread_mutex_lock(&r->mu);
    uint64_t want = r->recorded;
    r->flushers++;
    pthread_cond_broadcast(&r->cv);
    while (r->err == MLA_OK && r->acked < want) wait_ms(r, -1);
    r->flushers--;
    mla_status rc = r->acked >= want ? MLA_OK : error_locked(r);
    if (rc == MLA_OK && last_seq_out) *last_seq_out = r->last_seq;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

mla_status mla_recorder_close(mla_recorder *r)
{
    if (!r) return MLA_OK;
    mla_status rc = mla_recorder_flush(r, NULL);
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->thread_started) pthread_join(r->thread, NULL);
    recorder_free(r);
    return rc;
}

uint64_t mla_recorder_acked(const mla_recorder *r)
{
    mla_recorder *m = (mla_recorder *)(uintptr_t)r;
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->n_acked;
    pthread_mutex_unlock(&m->mu);
    return n;
}
