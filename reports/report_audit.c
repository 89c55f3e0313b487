/* report_audit: the audit report (SPEC §7) — every entry of a period by
 * kind and by actor, deployments and rollbacks, production deployments that
 * miss the policy's checklist, key events, redactions, the integrity of the
 * hash chain and tree, and gaps in ledger time. One streaming pass over the
 * range spool keeps memory bounded for a million entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

#define KIND(k) MLAUDIT__V1__KIND__KIND_##k
/* Kinds a bitmask of 32 bits can hold (the Kind enum ends at 15). */
#define KINDS_N 32
/* Distinct models whose production deployments are judged against the
 * checklist (each costs a few queries when gathering). */
#define MODELS_MAX 256
/* Rollbacks named one by one in the summary. */
#define ROLLBACKS_SAID 10
/* Actor slots: a power of two at least twice MLA_REPORT_ROWS_MAX. */
#define ACTOR_SLOTS 4096
#define DEFAULT_GAP_NS (86400LL * 1000000000LL)
#define NS_PER_S 1000000000LL
#define PRODUCTION "production"

/* ---- params --------------------------------------------------------------- */

static mla_status seq_parse(uint64_t *out, const char *s, const char *field)
{
    uint64_t v = 0;
    if (!s || !*s || (s[0] == '0' && s[1]))
        return mla_err(MLA_EINVAL, "%s: \"%s\" is not a seq", field, s ? s : "");
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return mla_err(MLA_EINVAL, "%s: \"%s\" is not a seq", field, s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return MLA_OK;
}

/* Seconds with up to nine decimals, exactly ("86400", "0.5"). */
static void seconds_format(char out[48], int64_t ns)
{
    char frac[24] = "";
    long long f = (long long)(ns % NS_PER_S);
    if (f) {
        int digits = 9;
        for (; f % 10 == 0; f /= 10) digits--; /* trailing zeros trimmed */
        snprintf(frac, sizeof frac, ".%0*lld", digits, f);
    }
    snprintf(out, 48, "%lld%s", (long long)(ns / NS_PER_S), frac);
}

static mla_status seconds_parse(int64_t *out, const char *s, const char *field)
{
    int64_t secs = 0, frac = 0;
    size_t i = 0, nd = 0;
    for (; s && s[i] >= '0' && s[i] <= '9' && secs <= INT64_MAX / NS_PER_S / 10; i++)
        secs = secs * 10 + (s[i] - '0');
    if (s && s[i] == '.')
        for (i++; s[i] >= '0' && s[i] <= '9' && nd < 9; i++, nd++) frac = frac * 10 + (s[i] - '0');
    for (size_t k = nd; k < 9; k++) frac *= 10;
    if (!s || i == 0 || s[i] != '\0' || (s[i - 1] == '.') || secs > INT64_MAX / NS_PER_S - 1 ||
        secs * NS_PER_S + frac <= 0)
        return mla_err(MLA_EINVAL, "%s: \"%s\" is not a positive number of seconds", field,
                       s ? s : "");
    *out = secs * NS_PER_S + frac;
    return MLA_OK;
}

/* "2 d 3 h 4 min 5.5 s", leaving out zero units. */
static void duration(char out[96], int64_t ns)
{
    int64_t s = ns / NS_PER_S;
    char sec[48];
    size_t o = 0;
    seconds_format(sec, (s % 60) * NS_PER_S + ns % NS_PER_S);
    const long long part[3] = {s / 86400, s / 3600 % 24, s / 60 % 60};
    static const char *const unit[3] = {"d", "h", "min"};
    out[0] = '\0';
    for (int k = 0; k < 3; k++)
        if (part[k])
            o += (size_t)snprintf(out + o, 96 - o, "%s%lld %s", o ? " " : "", part[k], unit[k]);
    if (ns % (60 * NS_PER_S) || o == 0) snprintf(out + o, 96 - o, "%s%s s", o ? " " : "", sec);
}

/* ---- production deployments (gather and build apply one rule) ----------------------- */

typedef struct prod {
    uint64_t seq;
    size_t model; /* index into models, or SIZE_MAX past MODELS_MAX */
} prod;

typedef struct prods {
    char *models[MODELS_MAX];
    size_t n_models;
    prod *v; /* the first MLA_REPORT_ROWS_MAX production deployments */
    size_t n, cap;
    uint64_t n_total;
    mla_buf id;
} prods;

static void prods_init(prods *p)
{
    memset(p, 0, sizeof *p);
    mla_buf_init(&p->id, 3 * MLA_LIMIT_NAME + 3);
}

static void prods_dispose(prods *p)
{
    for (size_t i = 0; i < p->n_models; i++) mla_free(p->models[i]);
    mla_free(p->v);
    mla_buf_dispose(&p->id);
}

static bool is_production(const mla_pb_change *c)
{
    return c && c->kind == KIND(DEPLOYMENT) &&
           c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT && c->subject &&
           strcmp(c->deployment->stage, PRODUCTION) == 0;
}

static mla_status prods_note(prods *p, uint64_t seq, const mla_pb_change *c)
{
    if (!is_production(c)) return MLA_OK;
    p->n_total++;
    if (p->n == MLA_REPORT_ROWS_MAX) return MLA_OK; /* counted, not judged */
    MLA_TRY(mla_report__identity(&p->id, c->subject));
    size_t m = 0;
    while (m < p->n_models && strcmp(p->models[m], (const char *)p->id.ptr) != 0) m++;
    if (m == p->n_models && m < MODELS_MAX) {
        if (!(p->models[m] = mla_report__strdup((const char *)p->id.ptr)))
            return mla_err(MLA_ENOMEM, "report: out of memory");
        p->n_models++;
    }
    MLA_TRY(mla_report__grow((void **)&p->v, &p->cap, p->n, sizeof *p->v));
    p->v[p->n++] = (prod){seq, m < p->n_models ? m : SIZE_MAX};
    return MLA_OK;
}

/* ---- gather --------------------------------------------------------------------- */

/* The first seq below size whose ledger time is at or after t (size if
 * none): the first answer of a Query from t, which the server finds by
 * binary search over ledger time (it never decreases with seq). The server
 * may answer from a newer tree; a seq at or past size means none below it. */
static mla_status seq_at_time(uint64_t *out, mla_client *c, uint64_t size, int64_t t)
{
    mla_client_query q;
    mla_client_page page;
    memset(&q, 0, sizeof q);
    q.from_time_ns = t;
    q.page_size = 1;
    MLA_TRY(mla_client_query_page(c, &q, &page));
    *out = page.n_entries > 0 && page.entries[0].seq < size ? page.entries[0].seq : size;
    mla_client_page_dispose(&page);
    return MLA_OK;
}

static mla_status collect(void *ctx, uint64_t seq, mla_slice bytes, const mla_pb_entry *e,
                          const mla_pb_change *c)
{
    (void)bytes;
    (void)e;
    return prods_note(ctx, seq, c);
}

mla_status mla_report__audit_gather(mla_report *r, mla_client *c, const mla_report_request *req)
{
    uint64_t size = r->ev.cp.size, from = req->from_seq, to = req->to_seq ? req->to_seq : size;
    char a[MLA_REPORT_TIME_LEN], b[MLA_REPORT_TIME_LEN], num[48];
    int64_t gap = req->gap_ns ? req->gap_ns : DEFAULT_GAP_NS;
    if (to > size)
        return mla_err(MLA_EINVAL, "to_seq: %llu exceeds the tree size %llu",
                       (unsigned long long)to, (unsigned long long)size);
    if (req->from_ns < 0 || req->to_ns < 0)
        return mla_err(MLA_EINVAL, "%s: before 1970", req->from_ns < 0 ? "from" : "to");
    if (gap < 0) return mla_err(MLA_EINVAL, "gap: %lld ns is negative", (long long)gap);
    /* A time bound recorded in params is one that decided the range: the
     * entries just outside it go into evidence so a verifier sees the
     * range holds exactly the period's entries. */
    bool from_time = false, to_time = false;
    if (req->from_ns) {
        uint64_t s;
        MLA_TRY(seq_at_time(&s, c, size, req->from_ns));
        if ((from_time = s >= from)) from = s;
    }
    if (req->to_ns) {
        uint64_t s;
        MLA_TRY(seq_at_time(&s, c, size, req->to_ns));
        if ((to_time = s <= to)) to = s;
    }
    mla_report__time(a, req->from_ns);
    mla_report__time(b, req->to_ns);
    if (from >= to) {
        if (req->from_ns || req->to_ns)
            return mla_err(MLA_EINVAL, "%s: the period from %s to %s holds no entry",
                           req->from_ns ? "from" : "to", req->from_ns ? a : "the start",
                           req->to_ns ? b : "the end");
        return mla_err(MLA_EINVAL, "from_seq: the range [%llu, %llu) holds no entry",
                       (unsigned long long)from, (unsigned long long)to);
    }
    snprintf(num, sizeof num, "%llu", (unsigned long long)from);
    MLA_TRY(mla_report__param_set(r, "first_seq", num));
    snprintf(num, sizeof num, "%llu", (unsigned long long)(to - 1));
    MLA_TRY(mla_report__param_set(r, "last_seq", num));
    if (from_time) MLA_TRY(mla_report__param_set(r, "from", a));
    if (to_time) MLA_TRY(mla_report__param_set(r, "to", b));
    seconds_format(num, gap);
    MLA_TRY(mla_report__param_set(r, "gap", num));
    prods p;
    prods_init(&p);
    uint64_t outside[2];
    size_t n_outside = 0;
    if (from_time && from > 0) outside[n_outside++] = from - 1;
    if (to_time && to < size) outside[n_outside++] = to;
    mla_status rc = mla_report__range_fetch(r, c, from, to - 1, req->spool_dir, collect, &p);
    if (rc == MLA_OK) rc = mla_report__evidence_fetch(r, c, outside, n_outside);
    if (rc == MLA_OK)
        rc = mla_report__checklists_gather(r, c, (const char *const *)p.models, p.n_models);
    prods_dispose(&p);
    return rc;
}

/* ---- build: the streaming pass ------------------------------------------------------- */

typedef struct actor {
    char *name;
    uint64_t n;
    uint32_t kinds; /* bit k: an entry of kind k */
} actor;

typedef struct rollback_said {
    uint64_t seq;
    char *text;
} rollback_said;

typedef struct audit {
    mla_report *r;
    uint64_t first, last, size;
    int64_t gap_ns;
    bool whole; /* the range is the whole log: its root is the checkpoint's */
    /* tables (borrowed; every table is added before the pass) */
    mla_report_table *t_deploy, *t_keys, *t_redact, *t_gaps;
    /* counts */
    uint64_t n, by_kind[KINDS_N], n_intoto, n_openlineage, n_other_type;
    uint64_t n_deploy_events, n_deployments, n_rollbacks, n_retirements;
    uint64_t n_key_events, n_revoked, n_redactions, n_gaps;
    /* actors: open addressing (lookup only; output is sorted) */
    actor *actors;
    size_t n_actors;
    uint32_t *slots; /* actor index + 1; 0 = empty */
    uint64_t other_n;
    uint32_t other_kinds;
    uint64_t n_change_entries;
    rollback_said rollbacks[ROLLBACKS_SAID];
    size_t n_rollbacks_said;
    prods prod;
    /* time */
    bool have_time;
    int64_t last_time_ns, first_time_ns;
    uint64_t last_time_seq;
    mla_buf id, text;
} audit;

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static mla_status actor_note(audit *a, const char *name, mla_kind kind)
{
    uint32_t bit = (unsigned)kind < KINDS_N ? 1u << (unsigned)kind : 1u;
    size_t i = name_hash(name) & (ACTOR_SLOTS - 1);
    while (a->slots[i] && strcmp(a->actors[a->slots[i] - 1].name, name) != 0)
        i = (i + 1) & (ACTOR_SLOTS - 1);
    if (a->slots[i]) {
        actor *x = &a->actors[a->slots[i] - 1];
        x->n++;
        x->kinds |= bit;
        return MLA_OK;
    }
    if (a->n_actors == MLA_REPORT_ROWS_MAX) {
        a->other_n++;
        a->other_kinds |= bit;
        return MLA_OK;
    }
    actor *x = &a->actors[a->n_actors];
    if (!(x->name = mla_report__strdup(name))) return mla_err(MLA_ENOMEM, "report: out of memory");
    x->n = 1;
    x->kinds = bit;
    a->slots[i] = (uint32_t)++a->n_actors;
    return MLA_OK;
}

/* A DEPLOYMENT, ROLLBACK or RETIREMENT: a row of "deployments". */
static mla_status deployment_visit(audit *a, uint64_t seq, const mla_pb_entry *e,
                                   const mla_pb_change *c)
{
    const mla_pb_artifact *m = NULL;
    char when[MLA_REPORT_TIME_LEN], pct[MLA_REPORT_NUM_LEN + 1] = "—";
    const char *stage = "—", *model = "(all models)";
    uint64_t s = seq, dseq = MLA_REPORT_NO_SEQ, mseq = seq;
    a->n_deploy_events++;
    if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT) {
        a->n_deployments++;
        m = c->subject;
        stage = c->deployment->stage;
        mla_report__percent(pct, c->deployment->traffic_fraction);
        dseq = seq;
        MLA_TRY(prods_note(&a->prod, seq, c));
    } else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK) {
        a->n_rollbacks++;
        m = c->rollback->to;
    } else if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT) {
        a->n_retirements++;
        m = c->retirement->artifact;
        if (!m) mseq = MLA_REPORT_NO_SEQ;
    }
    if (m) {
        MLA_TRY(mla_report__identity(&a->id, m));
        model = (const char *)a->id.ptr;
    }
    const char *target = mla_codec_change_target(c);
    mla_report__time(when, e->ledger_time_ns);
    if (c->detail_case == MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK &&
        a->n_rollbacks_said < ROLLBACKS_SAID) {
        rollback_said *rs = &a->rollbacks[a->n_rollbacks_said];
        mla_buf_clear(&a->text);
        MLA_TRY(mla_buf_printf(&a->text, "Entry %llu rolled %s back to %s at %s (by %s): %s",
                               (unsigned long long)seq, target ? target : "", model, when,
                               c->actor[0] ? c->actor : "no actor named", c->reason));
        if (!(rs->text = mla_report__strdup((const char *)a->text.ptr)))
            return mla_err(MLA_ENOMEM, "report: out of memory");
        rs->seq = seq;
        a->n_rollbacks_said++;
    }
    if (a->t_deploy->n_rows == MLA_REPORT_ROWS_MAX) return MLA_OK;
    const char *texts[8] = {
        when,     mla_codec_kind_name(c->kind), target ? target : "", model, stage, pct, c->actor,
        c->reason};
    const uint64_t seqs[8] = {s, s, s, mseq, dseq, dseq, s, s};
    return mla_report__row_add(a->t_deploy, texts, seqs);
}

static const char *role_name(Mlaudit__V1__KeyRole role)
{
    switch (role) {
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_WRITER: return "writer";
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_AUDITOR: return "auditor";
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_ADMIN: return "admin";
    case MLAUDIT__V1__KEY_ROLE__KEY_ROLE_SERVING: return "serving";
    default: return "unspecified";
    }
}

static mla_status key_visit(audit *a, uint64_t seq, const mla_pb_entry *e, const mla_pb_change *c)
{
    const Mlaudit__V1__KeyChange *k = c->key;
    char when[MLA_REPORT_TIME_LEN], keyid[MLA_KEYID_HEX_LEN + 1] = "—";
    a->n_key_events++;
    if (k->revoke) a->n_revoked++;
    if (a->t_keys->n_rows == MLA_REPORT_ROWS_MAX) return MLA_OK;
    if (k->public_key.len == MLA_ED25519_PUB_LEN) {
        mla_pubkey pub;
        memcpy(pub.b, k->public_key.data, sizeof pub.b);
        mla_crypto_keyid(keyid, &pub);
    }
    mla_buf_clear(&a->text);
    for (size_t i = 0; i < k->n_allowed_kinds; i++)
        MLA_TRY(mla_buf_printf(&a->text, "%s%s", i ? ", " : "",
                               mla_codec_kind_name(k->allowed_kinds[i])));
    if (k->n_allowed_kinds == 0) MLA_TRY(mla_buf_printf(&a->text, "%s", "—"));
    mla_report__time(when, e->ledger_time_ns);
    const char *texts[7] = {when,
                            k->name[0] ? k->name : "—",
                            keyid,
                            role_name(k->role),
                            (const char *)a->text.ptr,
                            k->revoke ? "revoked" : "registered",
                            c->actor};
    uint64_t none = MLA_REPORT_NO_SEQ;
    const uint64_t seqs[7] = {
        seq, k->name[0] ? seq : none,         k->public_key.len == MLA_ED25519_PUB_LEN ? seq : none,
        seq, k->n_allowed_kinds ? seq : none, seq,
        seq};
    return mla_report__row_add(a->t_keys, texts, seqs);
}

static mla_status redaction_visit(audit *a, uint64_t seq, const mla_pb_entry *e,
                                  const mla_pb_change *c)
{
    char when[MLA_REPORT_TIME_LEN], what[32];
    a->n_redactions++;
    if (a->t_redact->n_rows == MLA_REPORT_ROWS_MAX) return MLA_OK;
    mla_report__time(when, e->ledger_time_ns);
    snprintf(what, sizeof what, "%llu", (unsigned long long)c->redaction->seq);
    const char *reason = c->redaction->reason[0] ? c->redaction->reason : c->reason;
    const char *texts[4] = {when, what, reason, c->actor};
    const uint64_t seqs[4] = {seq, seq, seq, seq};
    return mla_report__row_add(a->t_redact, texts, seqs);
}

static mla_status visit(void *ctx, uint64_t seq, mla_slice bytes, const mla_pb_entry *e,
                        const mla_pb_change *c)
{
    audit *a = ctx;
    (void)bytes;
    /* Gaps longer than asked. Seqs, the hash chain and time never going
     * back are checked where the range enters a report: range_fetch when
     * generating, mla_report__check before verify rebuilds. */
    int64_t t = e->ledger_time_ns;
    if (!a->have_time) a->first_time_ns = t;
    if (a->have_time && t - a->last_time_ns > a->gap_ns) {
        a->n_gaps++;
        if (a->t_gaps->n_rows < MLA_REPORT_ROWS_MAX) {
            char from[MLA_REPORT_TIME_LEN + 32], to[MLA_REPORT_TIME_LEN + 32],
                tf[MLA_REPORT_TIME_LEN], tt[MLA_REPORT_TIME_LEN], gap[96];
            mla_report__time(tf, a->last_time_ns);
            mla_report__time(tt, t);
            snprintf(from, sizeof from, "%llu at %s", (unsigned long long)a->last_time_seq, tf);
            snprintf(to, sizeof to, "%llu at %s", (unsigned long long)seq, tt);
            duration(gap, t - a->last_time_ns);
            const char *texts[3] = {from, to, gap};
            const uint64_t seqs[3] = {a->last_time_seq, seq, MLA_REPORT_NO_SEQ};
            MLA_TRY(mla_report__row_add(a->t_gaps, texts, seqs));
        }
    }
    a->have_time = true;
    a->last_time_ns = t;
    a->last_time_seq = seq;
    if (!c) {
        const char *type = e->envelope->payload_type;
        if (strcmp(type, MLA_PAYLOAD_TYPE_INTOTO) == 0)
            a->n_intoto++;
        else if (strcmp(type, MLA_PAYLOAD_TYPE_OPENLINEAGE) == 0)
            a->n_openlineage++;
        else
            a->n_other_type++;
        return MLA_OK;
    }
    unsigned k = (unsigned)c->kind < KINDS_N ? (unsigned)c->kind : 0;
    a->by_kind[k]++;
    a->n_change_entries++;
    MLA_TRY(actor_note(a, c->actor[0] ? c->actor : "(no actor named)", c->kind));
    switch (c->detail_case) {
    case MLAUDIT__V1__CHANGE__DETAIL_DEPLOYMENT:
    case MLAUDIT__V1__CHANGE__DETAIL_ROLLBACK:
    case MLAUDIT__V1__CHANGE__DETAIL_RETIREMENT: return deployment_visit(a, seq, e, c);
    case MLAUDIT__V1__CHANGE__DETAIL_KEY: return key_visit(a, seq, e, c);
    case MLAUDIT__V1__CHANGE__DETAIL_REDACTION: return redaction_visit(a, seq, e, c);
    default: return MLA_OK;
    }
}

static void audit_dispose(audit *a)
{
    for (size_t i = 0; i < a->n_actors; i++) mla_free(a->actors[i].name);
    mla_free(a->actors);
    mla_free(a->slots);
    for (size_t i = 0; i < a->n_rollbacks_said; i++) mla_free(a->rollbacks[i].text);
    prods_dispose(&a->prod);
    mla_buf_dispose(&a->id);
    mla_buf_dispose(&a->text);
}

/* ---- build: tables after the pass ---------------------------------------------------- */

static mla_status count_row(mla_report_table *t, const char *name, uint64_t n)
{
    char count[32];
    mla_report__count(count, n);
    const char *texts[2] = {name, count};
    return mla_report__row_add(t, texts, NULL);
}

static mla_status by_kind_fill(audit *a, mla_report_table *t)
{
    MLA_TRY(mla_report__table_intro(t, "Every entry of the period, by the kind of change it "
                                       "records (complete)."));
    for (unsigned k = 1; k < KINDS_N; k++)
        if (a->by_kind[k]) MLA_TRY(count_row(t, mla_codec_kind_name((mla_kind)k), a->by_kind[k]));
    if (a->by_kind[0]) MLA_TRY(count_row(t, "UNSPECIFIED", a->by_kind[0]));
    if (a->n_intoto) MLA_TRY(count_row(t, "(in-toto attestation)", a->n_intoto));
    if (a->n_openlineage) MLA_TRY(count_row(t, "(OpenLineage run event)", a->n_openlineage));
    if (a->n_other_type) MLA_TRY(count_row(t, "(other payload type)", a->n_other_type));
    return count_row(t, "Total", a->n);
}

static int actor_cmp(const void *x, const void *y)
{
    const actor *a = x, *b = y;
    if (a->n != b->n) return a->n > b->n ? -1 : 1;
    return strcmp(a->name, b->name);
}

static mla_status kinds_text(mla_buf *out, uint32_t kinds)
{
    mla_buf_clear(out);
    MLA_TRY(mla_buf_printf(out, "%s", ""));
    for (unsigned k = 0; k < KINDS_N; k++)
        if (kinds >> k & 1u)
            MLA_TRY(mla_buf_printf(out, "%s%s", out->len ? ", " : "",
                                   mla_codec_kind_name((mla_kind)k)));
    return MLA_OK;
}

static mla_status by_actor_fill(audit *a, mla_report_table *t)
{
    char count[32];
    MLA_TRY(mla_report__table_intro(t, "Entries recording a change, by the actor each names, most "
                                       "active first."));
    qsort(a->actors, a->n_actors, sizeof *a->actors, actor_cmp);
    for (size_t i = 0; i < a->n_actors; i++) {
        mla_report__count(count, a->actors[i].n);
        MLA_TRY(kinds_text(&a->text, a->actors[i].kinds));
        const char *texts[3] = {a->actors[i].name, count, (const char *)a->text.ptr};
        MLA_TRY(mla_report__row_add(t, texts, NULL));
    }
    if (a->other_n == 0) return MLA_OK;
    mla_report__count(count, a->other_n);
    MLA_TRY(kinds_text(&a->text, a->other_kinds));
    const char *texts[3] = {"(other actors)", count, (const char *)a->text.ptr};
    MLA_TRY(mla_report__row_add(t, texts, NULL));
    return mla_report__table_note(t,
                                  "More than %d distinct actors: the entries of those seen after "
                                  "the first %d are counted together.",
                                  MLA_REPORT_ROWS_MAX, MLA_REPORT_ROWS_MAX);
}

static void scratch_clear(mla_report_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) mla_free(t->cells[i].text);
    t->n_rows = 0;
}

/* Production deployments judged by the checklist as the policy did: only
 * what was recorded before each. */
static mla_status violations_fill(audit *a, mla_report_table *t, uint64_t *n_violating,
                                  uint64_t *n_judged_out)
{
    static char id[] = "checklist";
    mla_report_table s;
    mla_status rc = MLA_OK;
    uint64_t n_judged = 0;
    *n_violating = 0;
    *n_judged_out = 0;
    memset(&s, 0, sizeof s);
    s.id = id;
    s.n_cols = 3;
    for (size_t i = 0; i < a->prod.n && rc == MLA_OK; i++) {
        const prod *p = &a->prod.v[i];
        if (p->model == SIZE_MAX) continue;
        const char *model = a->prod.models[p->model];
        size_t n_missing = 0;
        scratch_clear(&s);
        if ((rc = mla_report__checklist_at(a->r, model, p->seq, &s, &n_missing)) != MLA_OK) break;
        n_judged++;
        if (n_missing) (*n_violating)++;
        char what[32];
        snprintf(what, sizeof what, "%llu", (unsigned long long)p->seq);
        for (size_t row = 0; row < s.n_rows && rc == MLA_OK; row++) {
            if (strcmp(s.cells[row * 3 + 1].text, "missing") != 0) continue;
            if (t->n_rows == MLA_REPORT_ROWS_MAX) break;
            const char *texts[3] = {what, model, s.cells[row * 3].text};
            const uint64_t seqs[3] = {p->seq, p->seq, MLA_REPORT_NO_SEQ};
            rc = mla_report__row_add(t, texts, seqs);
        }
    }
    scratch_clear(&s);
    mla_free(s.cells);
    if (rc != MLA_OK) return rc;
    *n_judged_out = n_judged;
    char judged[32], total[32];
    mla_report__count(judged, n_judged);
    mla_report__count(total, a->prod.n_total);
    if (a->prod.n_total == 0)
        return mla_report__table_intro(t, "No production deployment in the period.");
    MLA_TRY(mla_report__table_intro(t,
                                    "Production deployments judged against the production "
                                    "checklist of the default policy (SPEC §6), with only what "
                                    "was recorded before each: %s of %s judged, %llu missed a "
                                    "requirement.",
                                    judged, total, (unsigned long long)*n_violating));
    if (n_judged < a->prod.n_total)
        MLA_TRY(mla_report__table_note(t,
                                       "Judged: the first %d production deployments of the first "
                                       "%d distinct models; the rest are counted, not judged.",
                                       MLA_REPORT_ROWS_MAX, MODELS_MAX));
    return MLA_OK;
}

/* The period's bounds: every entry of the range within them, and the
 * entries just outside it (in evidence) outside them. *text_out says so. */
static mla_status bounds_check(audit *a, mla_buf *text_out)
{
    const mla_report *r = a->r;
    const char *from = mla_report__param(r, "from"), *to = mla_report__param(r, "to");
    int64_t from_ns = 0, to_ns = 0;
    mla_buf_clear(text_out);
    if (from) MLA_TRY(mla_report__time_parse(&from_ns, from, "params.from"));
    if (to) MLA_TRY(mla_report__time_parse(&to_ns, to, "params.to"));
    if ((from && a->first_time_ns < from_ns) || (to && a->last_time_ns >= to_ns))
        return mla_err(MLA_ECORRUPT, "evidence.range: entries %llu..%llu reach outside the period",
                       (unsigned long long)a->first, (unsigned long long)a->last);
    const mla_report_entry *before = NULL, *after = NULL;
    if (from && a->first > 0) {
        before = mla_report__entry(r, a->first - 1);
        if (!before || before->entry->ledger_time_ns >= from_ns)
            return mla_err(MLA_ECORRUPT, "evidence: entry %llu, just before the range, is %s",
                           (unsigned long long)a->first - 1,
                           before ? "in the period" : "not in the evidence");
    }
    if (to && a->last + 1 < r->ev.cp.size) {
        after = mla_report__entry(r, a->last + 1);
        if (!after || after->entry->ledger_time_ns < to_ns)
            return mla_err(MLA_ECORRUPT, "evidence: entry %llu, just after the range, is %s",
                           (unsigned long long)a->last + 1,
                           after ? "in the period" : "not in the evidence");
    }
    char t[MLA_REPORT_TIME_LEN];
    MLA_TRY(mla_buf_printf(text_out, "%s", ""));
    if (before) {
        mla_report__time(t, before->entry->ledger_time_ns);
        MLA_TRY(mla_buf_printf(text_out, "entry %llu, the one before, is at %s, before %s",
                               (unsigned long long)before->seq, t, from));
    }
    if (after) {
        mla_report__time(t, after->entry->ledger_time_ns);
        MLA_TRY(mla_buf_printf(text_out, "%sentry %llu, the one after, is at %s, not before %s",
                               before ? "; " : "", (unsigned long long)after->seq, t, to));
    }
    return MLA_OK;
}

/* The integrity facts, stated: the chain, the last entry's inclusion and,
 * for the whole log, the recomputed root are established where the range
 * enters a report (mla_report__range_fetch when generating,
 * mla_report__check before verify rebuilds), so a build never sees a range
 * that fails them. The period's bounds depend on params and are checked here. */
static mla_status integrity_fill(audit *a, mla_report_table *t)
{
    const mla_report *r = a->r;
    char n[32], size[32], root[2 * sizeof(mla_hash) + 1];
    mla_buf ev;
    mla_status rc;
    mla_report__count(n, a->n);
    mla_report__count(size, r->ev.cp.size);
    mla_hex_encode_to(root, r->ev.cp.root.b, sizeof r->ev.cp.root.b);
    mla_buf_init(&ev, 1024);
    rc = mla_buf_printf(&ev,
                        "entries %llu..%llu: each entry's prev_hash is the leaf hash of the one "
                        "before (%s entries)",
                        (unsigned long long)a->first, (unsigned long long)a->last, n);
    const char *chain[3] = {"Hash chain", "unbroken", (const char *)ev.ptr};
    if (rc != MLA_OK || (rc = mla_report__row_add(t, chain, NULL)) != MLA_OK) goto out;
    mla_buf_clear(&ev);
    if ((rc = mla_buf_printf(&ev,
                             "entry %llu is included in the tree of size %s with root %s, signed "
                             "by %s",
                             (unsigned long long)a->last, size, root, r->ev.log_key.name)) !=
        MLA_OK)
        goto out;
    const char *incl[3] = {"Inclusion in the checkpoint", "verified", (const char *)ev.ptr};
    const uint64_t incl_seqs[3] = {MLA_REPORT_NO_SEQ, MLA_REPORT_NO_SEQ, a->last};
    if ((rc = mla_report__row_add(t, incl, incl_seqs)) != MLA_OK) goto out;
    if (a->whole) {
        mla_buf_clear(&ev);
        rc = mla_buf_printf(&ev,
                            "the Merkle root recomputed from all %s entries equals the "
                            "checkpoint's root %s",
                            n, root);
        const char *tree[3] = {"Merkle root of the whole log", "equal", (const char *)ev.ptr};
        if (rc != MLA_OK || (rc = mla_report__row_add(t, tree, NULL)) != MLA_OK) goto out;
    }
    if ((rc = bounds_check(a, &ev)) != MLA_OK) goto out;
    if (ev.len) {
        const char *bounds[3] = {"Period boundaries", "exact", (const char *)ev.ptr};
        if ((rc = mla_report__row_add(t, bounds, NULL)) != MLA_OK) goto out;
    }
    const char *sig[3] = {"Entry signatures", "checked by `mlaudit verify`",
                          ("against the key registry replayed from the KEY entries this report "
                           "embeds, from the admin keys it names")};
    rc = mla_report__row_add(t, sig, NULL);
out:
    mla_buf_dispose(&ev);
    return rc;
}

/* ---- build ---------------------------------------------------------------------------- */

/* ", the period from X up to Y" (either bound alone), or "" without time
 * bounds. */
static void period_text(char out[2 * MLA_REPORT_TIME_LEN + 48], const mla_report *r)
{
    const char *from = mla_report__param(r, "from"), *to = mla_report__param(r, "to");
    snprintf(out, 2 * MLA_REPORT_TIME_LEN + 48, "%s%s%s%s%s", from || to ? ", the period" : "",
             from ? " from " : "", from ? from : "", to ? " up to " : "", to ? to : "");
}

static const char *count(char out[32], uint64_t n)
{
    mla_report__count(out, n);
    return out;
}

static mla_status summary(audit *a, uint64_t n_violating, uint64_t n_judged)
{
    mla_report *r = a->r;
    char n[32], first[MLA_REPORT_TIME_LEN], last[MLA_REPORT_TIME_LEN], gap[96];
    char period[2 * MLA_REPORT_TIME_LEN + 48];
    mla_report__count(n, a->n);
    mla_report__time(first, a->first_time_ns);
    mla_report__time(last, a->last_time_ns);
    duration(gap, a->gap_ns);
    period_text(period, r);
    MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ,
                            "This audit covers entries %llu to %llu (%s entr%s)%s, recorded "
                            "between %s and %s.",
                            (unsigned long long)a->first, (unsigned long long)a->last, n,
                            a->n == 1 ? "y" : "ies", period, first, last));
    size_t n_kinds = 0;
    for (unsigned k = 0; k < KINDS_N; k++) n_kinds += a->by_kind[k] != 0;
    char c1[32], c2[32], c3[32], c4[32], c5[32];
    MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ, "%s change%s of %zu kind%s by %zu%s actor%s.",
                            count(c1, a->n_change_entries), a->n_change_entries == 1 ? "" : "s",
                            n_kinds, n_kinds == 1 ? "" : "s", a->n_actors,
                            a->other_n ? " or more" : "", a->n_actors == 1 ? "" : "s"));
    MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ,
                            "%s deployment event%s: %s DEPLOYMENT%s (%s to production), %s "
                            "ROLLBACK%s and %s RETIREMENT%s.",
                            count(c1, a->n_deploy_events), a->n_deploy_events == 1 ? "" : "s",
                            count(c2, a->n_deployments), a->n_deployments == 1 ? "" : "s",
                            count(c3, a->prod.n_total), count(c4, a->n_rollbacks),
                            a->n_rollbacks == 1 ? "" : "s", count(c5, a->n_retirements),
                            a->n_retirements == 1 ? "" : "s"));
    if (a->n_rollbacks == 0)
        MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ, "No rollback in the period."));
    for (size_t i = 0; i < a->n_rollbacks_said; i++)
        MLA_TRY(mla_report__say(r, a->rollbacks[i].seq, "%s", a->rollbacks[i].text));
    if (a->n_rollbacks > a->n_rollbacks_said)
        MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ,
                                "%s more rollbacks are listed under deployments.",
                                count(c1, a->n_rollbacks - a->n_rollbacks_said)));
    if (a->prod.n_total == 0)
        MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ, "No production deployment in the period."));
    else
        MLA_TRY(mla_report__say(
            r, MLA_REPORT_NO_SEQ,
            "%s of the %s production deployment%s judged against the "
            "production checklist missed a requirement when made%s.",
            count(c1, n_violating), count(c2, n_judged), n_judged == 1 ? "" : "s",
            n_judged < a->prod.n_total ? " (the rest are counted, not judged)" : ""));
    MLA_TRY(mla_report__say(
        r, MLA_REPORT_NO_SEQ, "%s key event%s (%s revocation%s); %s redaction%s.",
        count(c1, a->n_key_events), a->n_key_events == 1 ? "" : "s", count(c2, a->n_revoked),
        a->n_revoked == 1 ? "" : "s", count(c3, a->n_redactions), a->n_redactions == 1 ? "" : "s"));
    MLA_TRY(mla_report__say(r, a->last,
                            "Integrity: the hash chain of the %s entries is unbroken%s, and entry "
                            "%llu is included in the checkpoint of tree size %s signed by %s.",
                            n,
                            a->whole ? ", the Merkle root recomputed from the whole log equals the "
                                       "checkpoint's"
                                     : "",
                            (unsigned long long)a->last, count(c1, r->ev.cp.size),
                            r->ev.log_key.name));
    MLA_TRY(mla_report__say(r, MLA_REPORT_NO_SEQ,
                            "Seqs %llu to %llu are contiguous by construction: each seq is the "
                            "entry's leaf index in the tree, and the hash chain links every "
                            "entry to the one before.",
                            (unsigned long long)a->first, (unsigned long long)a->last));
    if (a->n_gaps == 0)
        return mla_report__say(r, MLA_REPORT_NO_SEQ, "No gap in ledger time longer than %s.", gap);
    return mla_report__say(r, MLA_REPORT_NO_SEQ, "%s gap%s in ledger time longer than %s.",
                           count(c1, a->n_gaps), a->n_gaps == 1 ? "" : "s", gap);
}

static mla_status title_set(mla_report *r, const audit *a)
{
    char t[3 * MLA_REPORT_TIME_LEN + 128], period[2 * MLA_REPORT_TIME_LEN + 48];
    period_text(period, r);
    if (a->whole && !period[0])
        snprintf(t, sizeof t, "Audit of the whole ledger (entries 0 to %llu)",
                 (unsigned long long)a->last);
    else
        snprintf(t, sizeof t, "Audit of entries %llu to %llu%s", (unsigned long long)a->first,
                 (unsigned long long)a->last, period);
    mla_free(r->title);
    if (!(r->title = mla_report__strdup(t))) return mla_err(MLA_ENOMEM, "report: out of memory");
    return MLA_OK;
}

/* The tables, in the order the report shows them. */
enum { T_KIND, T_ACTOR, T_DEPLOY, T_VIOL, T_KEYS, T_REDACT, T_INTEGRITY, T_GAPS, T_N };

static mla_status tables_add(mla_report *r)
{
    static const char *const kind[] = {"Kind", "Entries"};
    static const char *const act[] = {"Actor", "Entries", "Kinds"};
    static const char *const dep[] = {"Time",  "Kind",    "Target", "Model",
                                      "Stage", "Traffic", "Actor",  "Reason"};
    static const char *const viol[] = {"Deployment entry", "Model", "Missing requirement"};
    static const char *const keys[] = {
        "Time", "Name", "Keyid", "Role", "Allowed kinds", "Registered/Revoked", "Actor"};
    static const char *const red[] = {"Time", "Seq redacted", "Reason", "Actor"};
    static const char *const integ[] = {"Check", "Result", "Evidence"};
    static const char *const gaps[] = {"From entry", "To entry", "Gap"};
    mla_report_table *t;
    MLA_TRY(mla_report__table_add(&t, r, "by-kind", "Changes by kind", kind, 2));
    MLA_TRY(mla_report__table_add(&t, r, "by-actor", "Changes by actor", act, 3));
    MLA_TRY(mla_report__table_add(&t, r, "deployments", "Deployments, rollbacks and retirements",
                                  dep, 8));
    MLA_TRY(mla_report__table_add(&t, r, "violations", "Policy violations", viol, 3));
    MLA_TRY(mla_report__table_add(&t, r, "keys", "Key events", keys, 7));
    MLA_TRY(mla_report__table_add(&t, r, "redactions", "Redactions", red, 4));
    MLA_TRY(mla_report__table_add(&t, r, "integrity", "Integrity", integ, 3));
    return mla_report__table_add(&t, r, "gaps", "Gaps in ledger time", gaps, 3);
}

static mla_status notes(audit *a, mla_report_table *const *t)
{
    char g[96], count[32];
    duration(g, a->gap_ns);
    MLA_TRY(mla_report__table_intro(
        t[T_DEPLOY], "DEPLOYMENT, ROLLBACK and RETIREMENT entries in ledger order."));
    if (a->n_deploy_events > t[T_DEPLOY]->n_rows) {
        mla_report__count(count, a->n_deploy_events - t[T_DEPLOY]->n_rows);
        MLA_TRY(mla_report__table_note(t[T_DEPLOY], "%s more left out.", count));
    }
    MLA_TRY(mla_report__table_intro(t[T_KEYS], a->n_key_events ? "KEY entries: keys registered "
                                                                 "and revoked."
                                                               : "No KEY entry in the period."));
    if (a->n_key_events > t[T_KEYS]->n_rows) {
        mla_report__count(count, a->n_key_events - t[T_KEYS]->n_rows);
        MLA_TRY(mla_report__table_note(t[T_KEYS], "%s more left out.", count));
    }
    MLA_TRY(mla_report__table_intro(t[T_REDACT], a->n_redactions
                                                     ? "REDACTION entries: payloads erased "
                                                       "(SPEC §8); every proof still verifies."
                                                     : "No redaction: none in the period."));
    if (a->n_redactions > t[T_REDACT]->n_rows) {
        mla_report__count(count, a->n_redactions - t[T_REDACT]->n_rows);
        MLA_TRY(mla_report__table_note(t[T_REDACT], "%s more left out.", count));
    }
    mla_report__count(count, a->n);
    MLA_TRY(mla_report__table_intro(t[T_INTEGRITY],
                                    "What was checked of the %s entries of the period.", count));
    MLA_TRY(mla_report__table_intro(t[T_GAPS],
                                    "Consecutive entries whose ledger times are more than %s "
                                    "apart. Seqs themselves have no gaps: they are contiguous by "
                                    "construction.",
                                    g));
    if (a->n_gaps > t[T_GAPS]->n_rows) {
        mla_report__count(count, a->n_gaps - t[T_GAPS]->n_rows);
        MLA_TRY(mla_report__table_note(t[T_GAPS], "%s more left out.", count));
    }
    return MLA_OK;
}

mla_status mla_report__audit_build(mla_report *r)
{
    audit *a = mla_calloc(1, sizeof *a);
    mla_report_table *t[T_N];
    uint64_t n_violating = 0, n_judged = 0;
    mla_status rc;
    if (!a) return mla_err(MLA_ENOMEM, "report: out of memory");
    a->r = r;
    prods_init(&a->prod);
    mla_buf_init(&a->id, 3 * MLA_LIMIT_NAME + 3);
    mla_buf_init(&a->text, 4 * MLA_LIMIT_REASON);
    if ((rc = seq_parse(&a->first, mla_report__param(r, "first_seq"), "params.first_seq")) !=
            MLA_OK ||
        (rc = seq_parse(&a->last, mla_report__param(r, "last_seq"), "params.last_seq")) != MLA_OK ||
        (rc = seconds_parse(&a->gap_ns, mla_report__param(r, "gap"), "params.gap")) != MLA_OK)
        goto out;
    if (!r->ev.has_range || r->ev.range_first != a->first || r->ev.range_last != a->last ||
        a->last >= r->ev.cp.size) {
        rc = mla_err(MLA_ECORRUPT,
                     "evidence.range: does not hold entries %llu to %llu of the "
                     "checkpoint",
                     (unsigned long long)a->first, (unsigned long long)a->last);
        goto out;
    }
    a->n = a->last - a->first + 1;
    a->whole = a->first == 0 && a->last + 1 == r->ev.cp.size;
    a->actors = mla_calloc(MLA_REPORT_ROWS_MAX, sizeof *a->actors);
    a->slots = mla_calloc(ACTOR_SLOTS, sizeof *a->slots);
    if (!a->actors || !a->slots) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    size_t base = r->n_tables;
    if ((rc = title_set(r, a)) != MLA_OK || (rc = tables_add(r)) != MLA_OK) goto out;
    for (size_t i = 0; i < T_N; i++) t[i] = &r->tables[base + i];
    a->t_deploy = t[T_DEPLOY];
    a->t_keys = t[T_KEYS];
    a->t_redact = t[T_REDACT];
    a->t_gaps = t[T_GAPS];
    if ((rc = mla_report__range_each(r, visit, a)) != MLA_OK) goto out;
    if ((rc = by_kind_fill(a, t[T_KIND])) != MLA_OK ||
        (rc = by_actor_fill(a, t[T_ACTOR])) != MLA_OK ||
        (rc = violations_fill(a, t[T_VIOL], &n_violating, &n_judged)) != MLA_OK ||
        (rc = integrity_fill(a, t[T_INTEGRITY])) != MLA_OK || (rc = notes(a, t)) != MLA_OK)
        goto out;
    rc = summary(a, n_violating, n_judged);
out:
    audit_dispose(a);
    mla_free(a);
    return rc;
}
