/* client_subscribe: the live tail (Subscribe), for monitors and alerting.
 * Each entry is checked before the caller sees it: it hashes to its leaf,
 * matches the filter, comes in ascending seq order, and is proven included
 * in a checkpoint signed by the log's key (checkpoints fetched along the
 * way must each extend the one before). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"

#define VIOLATIONS_MAX (64u << 10)

typedef struct sub {
    mla_client *c;
    const mla_client_subscribe_filter *f;
    mla_client_subscribe_fn fn;
    void *fn_ctx;
    uint64_t next; /* the lowest seq the next entry may have */
    mla_buf notes[2]; /* the current checkpoint's note and the previous one */
    mla_checkpoint cp;
    int cur; /* which note cp borrows from */
    bool have_cp;
    mla_buf violations;
    mla_status fn_rc; /* the caller's own stop */
} sub;

static mla_status filter_match(const sub *s, const mla_client__decoded *d, const char *field)
{
    const mla_client_subscribe_filter *f = s->f;
    const mla_pb_change *c = d->change;
    if (!f || !c) return MLA_OK;
    if (f->kind != 0 && c->kind != f->kind)
        return mla_err(MLA_ECORRUPT, "%s: kind %s, the filter asks for %s", field,
                       mla_codec_kind_name(c->kind), mla_codec_kind_name(f->kind));
    if (f->subject_name && *f->subject_name &&
        (!c->subject || strcmp(c->subject->name, f->subject_name) != 0))
        return mla_err(MLA_ECORRUPT, "%s: its subject is not \"%.128s\"", field, f->subject_name);
    const char *t = mla_codec_change_target(c);
    if (f->target && *f->target && (!t || strcmp(t, f->target) != 0))
        return mla_err(MLA_ECORRUPT, "%s: not on target \"%.128s\"", field, f->target);
    return MLA_OK;
}

/* A checkpoint covering seq: the one in hand, or a newer one that must be
 * consistent with it. */
static mla_status checkpoint_for(sub *s, uint64_t seq)
{
    if (s->have_cp && seq < s->cp.size) return MLA_OK;
    int nxt = 1 - s->cur;
    mla_checkpoint cp;
    MLA_TRY(mla_client_checkpoint(s->c, &s->notes[nxt], &cp));
    if (s->have_cp) MLA_TRY(mla_client_consistency_verify(s->c, &s->cp, &cp));
    s->cp = cp;
    s->cur = nxt;
    s->have_cp = true;
    if (seq >= cp.size)
        return mla_err(MLA_ECORRUPT, "subscribe: entry %llu is beyond the latest checkpoint (%llu)",
                       (unsigned long long)seq, (unsigned long long)cp.size);
    return MLA_OK;
}

static mla_status on_msg(void *ctx, const ProtobufCMessage *msg)
{
    sub *s = ctx;
    const Mlaudit__V1__SubscribeResponse *r = (const Mlaudit__V1__SubscribeResponse *)msg;
    const Mlaudit__V1__StoredEntry *e = r->entry;
    if (!e) return mla_err(MLA_ECORRUPT, "subscribe.entry: missing");
    char field[64];
    snprintf(field, sizeof field, "subscribe.entry (seq %llu)", (unsigned long long)e->seq);
    if (e->seq < s->next)
        return mla_err(MLA_ECORRUPT, "%s: not after the last one (next is %llu)", field,
                       (unsigned long long)s->next);
    mla_hash leaf;
    mla_merkle_proof proof;
    MLA_TRY(mla_client__leaf_of(&leaf, e, field));
    mla_slice bytes = mla_slice_make(e->entry.data, e->entry.len);
    if (!e->redacted) {
        mla_client__decoded d;
        MLA_TRY(mla_client__decode_entry(&d, bytes, e->seq, field));
        mla_status rc = filter_match(s, &d, field);
        mla_client__decoded_free(&d);
        MLA_TRY(rc);
    }
    MLA_TRY(checkpoint_for(s, e->seq));
    MLA_TRY(mla_client__prove_seq(s->c, e->seq, &leaf, &s->cp, &proof, field));
    /* Violations are the server's findings, passed on as they are. */
    mla_buf_clear(&s->violations);
    for (size_t i = 0; i < r->n_violations; i++) {
        if (i > 0) MLA_TRY(mla_buf_append_byte(&s->violations, '\n'));
        MLA_TRY(mla_buf_append_cstr(&s->violations, r->violations[i]));
    }
    s->next = e->seq + 1;
    mla_status rc = s->fn(s->fn_ctx, e->seq, bytes, mla_buf_slice(&s->violations));
    if (rc != MLA_OK) s->fn_rc = rc;
    return rc;
}

/* "... resume from seq N ..." in the server's message. */
static bool resume_seq(uint64_t *out, const char *msg)
{
    static const char key[] = "resume from seq ";
    const char *p = strstr(msg, key);
    if (!p) return false;
    p += sizeof key - 1;
    if (*p < '0' || *p > '9') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno != 0) return false;
    *out = v;
    return true;
}

mla_status mla_client_subscribe(mla_client *c, uint64_t from_seq,
                                const mla_client_subscribe_filter *f, int max_ms,
                                mla_client_subscribe_fn fn, void *ctx, uint64_t *resume_out)
{
    MLA_ASSERT(c && fn);
    if (max_ms < 0) return mla_err(MLA_EINVAL, "max_ms: negative (%d)", max_ms);
    Mlaudit__V1__SubscribeRequest req = MLAUDIT__V1__SUBSCRIBE_REQUEST__INIT;
    req.from_seq = from_seq;
    req.kind = f ? f->kind : 0;
    req.subject_name = (char *)(uintptr_t)(f && f->subject_name ? f->subject_name : "");
    req.target = (char *)(uintptr_t)(f && f->target ? f->target : "");
    sub s = {.c = c, .f = f, .fn = fn, .fn_ctx = ctx, .next = from_seq};
    mla_buf_init(&s.notes[0], MLA_NOTE_MAX_BYTES);
    mla_buf_init(&s.notes[1], MLA_NOTE_MAX_BYTES);
    mla_buf_init(&s.violations, VIOLATIONS_MAX);
    mla_buf b;
    bool timed_out = false;
    mla_status rc = mla_client__encode(&b, &req.base);
    if (rc == MLA_OK)
        rc = mla_client__stream_for(c, MLA_CLIENT_METHOD("Subscribe"), mla_buf_slice(&b),
                                    &mlaudit__v1__subscribe_response__descriptor,
                                    "SubscribeResponse", on_msg, &s, max_ms, &timed_out);
    mla_buf_dispose(&b);
    /* max_ms passing is how a bounded tail ends. */
    if (rc != MLA_OK && timed_out && s.fn_rc == MLA_OK) rc = MLA_OK;
    uint64_t resume = s.next;
    if (rc == MLA_ELIMIT && s.fn_rc == MLA_OK) {
        uint64_t said;
        /* The server names where to resume: past entries the filter skipped
         * after the last one delivered; never before that one. */
        if (resume_seq(&said, mla_error_last()->msg) && said > s.next) resume = said;
    }
    if (resume_out) *resume_out = resume;
    mla_buf_dispose(&s.notes[0]);
    mla_buf_dispose(&s.notes[1]);
    mla_buf_dispose(&s.violations);
    return rc;
}
