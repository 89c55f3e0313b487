/* report_evidence: the evidence a report carries — cited entries (verbatim
 * bytes, decoded, with inclusion proofs), the signed checkpoint they are
 * proven against, a contiguous range spooled to a file so a 1M-entry audit
 * keeps memory bounded, and a decision resolution. Gathering checks what the
 * server sends as it comes; report_check.c re-checks everything offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/report_int.h"

static void entry_dispose(mla_report_entry *e)
{
    mla_buf_dispose(&e->bytes);
    mla_codec_entry_free(e->entry);
    mla_codec_change_free(e->change);
    memset(e, 0, sizeof *e);
}

/* Decode an entry's bytes and, for a Change payload, its change. Errors
 * name the entry ("<what> <seq>: ..."); the name is formatted only then,
 * since this runs once per entry of a 1M-entry range. */
static mla_status decode_named(mla_pb_entry **e_out, mla_pb_change **c_out, mla_slice bytes,
                               const char *what, uint64_t seq)
{
    char name[48];
    *e_out = NULL;
    *c_out = NULL;
    mla_status rc = mla_codec_entry_decode(e_out, bytes);
    if (rc == MLA_OK && (*e_out)->seq != seq)
        rc = mla_err(MLA_ECORRUPT, "its bytes say seq %llu", (unsigned long long)(*e_out)->seq);
    const mla_pb_envelope *env = rc == MLA_OK ? (*e_out)->envelope : NULL;
    if (env && strcmp(env->payload_type, MLA_PAYLOAD_TYPE_CHANGE) == 0)
        rc = mla_codec_change_decode(c_out, mla_slice_make(env->payload.data, env->payload.len));
    if (rc == MLA_OK) return MLA_OK;
    mla_codec_entry_free(*e_out);
    *e_out = NULL;
    snprintf(name, sizeof name, "%s %llu", what, (unsigned long long)seq);
    return mla_report__restate(rc == MLA_ENOMEM ? rc : MLA_ECORRUPT, name);
}

/* Decode entry seq into e (bytes copied). Undecodable bytes are evidence
 * that fails verification: MLA_ECORRUPT naming the entry. */
static mla_status entry_make(mla_report_entry *e, uint64_t seq, mla_slice bytes,
                             const mla_merkle_proof *proof)
{
    mla_status rc;
    memset(e, 0, sizeof *e);
    e->seq = seq;
    mla_buf_init(&e->bytes, MLA_LIMIT_ENTRY_BYTES);
    if ((rc = mla_buf_set(&e->bytes, bytes)) != MLA_OK) {
        if (rc == MLA_ELIMIT)
            rc = mla_err(MLA_ECORRUPT, "entry %llu: %zu bytes exceeds the entry limit %d",
                         (unsigned long long)seq, bytes.len, MLA_LIMIT_ENTRY_BYTES);
        goto out;
    }
    mla_merkle_leaf_hash(&e->leaf, bytes);
    e->proof = *proof;
    rc = decode_named(&e->entry, &e->change, bytes, "entry", seq);
out:
    if (rc != MLA_OK) entry_dispose(e);
    return rc;
}

/* Index of the first entry with seq >= seq. */
static size_t lower_bound(const mla_report_evidence *ev, uint64_t seq)
{
    size_t lo = 0, hi = ev->n_entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ev->entries[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static mla_status reserve(mla_report_evidence *ev, size_t extra)
{
    size_t want, bytes;
    if (!mla_add_size(&want, ev->n_entries, extra))
        return mla_err(MLA_ENOMEM, "evidence: too many entries");
    if (want <= ev->cap_entries) return MLA_OK;
    size_t cap = ev->cap_entries ? ev->cap_entries : 16;
    while (cap < want) cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (!mla_mul_size(&bytes, cap, sizeof *ev->entries))
        return mla_err(MLA_ENOMEM, "evidence: too many entries");
    mla_report_entry *p = mla_realloc(ev->entries, bytes);
    if (!p) return mla_err(MLA_ENOMEM, "evidence: out of memory");
    ev->entries = p;
    ev->cap_entries = cap;
    return MLA_OK;
}

mla_status mla_report__evidence_checkpoint(mla_report *r, mla_slice note,
                                           const mla_note_verifier *log_key)
{
    MLA_TRY(mla_crypto_init());
    mla_status rc = mla_buf_set(&r->ev.checkpoint, note);
    if (rc == MLA_ELIMIT)
        return mla_err(MLA_EINVAL, "checkpoint: %zu bytes exceeds limit %d", note.len,
                       MLA_NOTE_MAX_BYTES);
    MLA_TRY(rc);
    r->ev.log_key = *log_key;
    rc = mla_note_checkpoint_open(&r->ev.cp, mla_buf_slice(&r->ev.checkpoint), &r->ev.log_key, 1);
    if (rc != MLA_OK) {
        char prefix[MLA_NOTE_NAME_MAX + 64];
        memset(&r->ev.cp, 0, sizeof r->ev.cp);
        mla_buf_clear(&r->ev.checkpoint);
        snprintf(prefix, sizeof prefix, "checkpoint: does not verify with the log key %s",
                 log_key->name);
        return mla_report__restate(rc == MLA_ENOMEM ? rc : MLA_ECORRUPT, prefix);
    }
    return MLA_OK;
}

mla_status mla_report__evidence_add(mla_report *r, uint64_t seq, mla_slice bytes,
                                    const mla_merkle_proof *proof)
{
    mla_report_evidence *ev = &r->ev;
    size_t at = lower_bound(ev, seq);
    if (at < ev->n_entries && ev->entries[at].seq == seq) {
        if (mla_slice_eq(mla_buf_slice(&ev->entries[at].bytes), bytes)) return MLA_OK;
        return mla_err(MLA_EINVAL, "evidence: entry %llu given twice with different bytes",
                       (unsigned long long)seq);
    }
    MLA_TRY(reserve(ev, 1));
    mla_report_entry e;
    MLA_TRY(entry_make(&e, seq, bytes, proof));
    memmove(&ev->entries[at + 1], &ev->entries[at], (ev->n_entries - at) * sizeof e);
    ev->entries[at] = e;
    ev->n_entries++;
    return MLA_OK;
}

const mla_report_entry *mla_report__entry(const mla_report *r, uint64_t seq)
{
    size_t at = lower_bound(&r->ev, seq);
    return at < r->ev.n_entries && r->ev.entries[at].seq == seq ? &r->ev.entries[at] : NULL;
}

/* ---- fetching with proofs ------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Entries fetched in ascending seq, merged into the evidence in one pass at
 * the end: inserting each one would move the (large) entry array per add. */
typedef struct fetched {
    mla_report_entry *v;
    size_t n, cap;
} fetched;

static mla_status fetched_add(void *ctx, uint64_t seq, mla_slice entry,
                              const mla_merkle_proof *proof)
{
    fetched *f = ctx;
    /* SPEC §8: a redacted entry is its leaf hash alone; nothing in it can be
     * cited, so it is not embedded. */
    if (entry.len == 0) return MLA_OK;
    MLA_ASSERT(f->n < f->cap);
    MLA_TRY(entry_make(&f->v[f->n], seq, entry, proof));
    f->n++;
    return MLA_OK;
}

static mla_status merge(mla_report_evidence *ev, fetched *f)
{
    if (f->n == 0) return MLA_OK;
    MLA_TRY(reserve(ev, f->n));
    /* Merge from the back so the array is filled in place. */
    size_t i = ev->n_entries, j = f->n, k = ev->n_entries + f->n;
    while (j > 0) {
        if (i > 0 && ev->entries[i - 1].seq > f->v[j - 1].seq)
            ev->entries[--k] = ev->entries[--i];
        else
            ev->entries[--k] = f->v[--j];
    }
    ev->n_entries += f->n;
    f->n = 0;
    return MLA_OK;
}

mla_status mla_report__evidence_fetch(mla_report *r, mla_client *c, const uint64_t *seqs, size_t n)
{
    uint64_t *want = NULL;
    fetched f = {NULL, 0, 0};
    size_t m = 0, bytes;
    mla_status rc = MLA_OK;
    if (n == 0) return MLA_OK;
    if (!mla_mul_size(&bytes, n, sizeof *want) || !(want = mla_malloc(bytes)))
        return mla_err(MLA_ENOMEM, "evidence: out of memory for %zu seqs", n);
    memcpy(want, seqs, bytes);
    qsort(want, n, sizeof *want, cmp_u64);
    for (size_t i = 0; i < n; i++) {
        if (want[i] >= r->ev.cp.size) {
            rc = mla_err(MLA_EINVAL, "evidence: entry %llu is beyond the checkpoint's size %llu",
                         (unsigned long long)want[i], (unsigned long long)r->ev.cp.size);
            goto out;
        }
        if ((m == 0 || want[m - 1] != want[i]) && !mla_report__entry(r, want[i]))
            want[m++] = want[i];
    }
    if (m == 0) goto out;
    if (!mla_mul_size(&bytes, m, sizeof *f.v) || !(f.v = mla_malloc(bytes))) {
        rc = mla_err(MLA_ENOMEM, "evidence: out of memory for %zu entries", m);
        goto out;
    }
    f.cap = m;
    /* The client checks each entry's leaf and proof against the pinned
     * checkpoint before handing it over. */
    if ((rc = mla_client_entries_proven(c, want, m, &r->ev.cp, fetched_add, &f)) != MLA_OK)
        goto out;
    rc = merge(&r->ev, &f);
out:
    for (size_t i = 0; i < f.n; i++) entry_dispose(&f.v[i]);
    mla_free(f.v);
    mla_free(want);
    return rc;
}

mla_status mla_report__evidence_keys(mla_report *r, mla_client *c)
{
    /* Query answers are proven against the latest checkpoint, which may be
     * newer than the pinned one; query_fetch keeps the seqs below it and
     * fetches them again with proofs in the pinned tree. */
    mla_client_query q;
    memset(&q, 0, sizeof q);
    q.kind = MLAUDIT__V1__KIND__KIND_KEY;
    return mla_report__query_fetch(r, c, &q, NULL, NULL);
}

/* ---- the range spool ------------------------------------------------------ */

mla_status mla_report__spool_open(FILE **out, const char *dir, const char *field)
{
    char path[4096];
    *out = NULL;
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int n = snprintf(path, sizeof path, "%s/mlaudit-spool-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return mla_err(MLA_EINVAL, "%s: longer than %zu bytes", field, sizeof path - 32);
    int fd = mkstemp(path);
    if (fd < 0) return mla_err(MLA_EIO, "%s: cannot create a file in %s", field, dir);
    /* Unlinked at once: the spool disappears with the process. */
    unlink(path);
    FILE *f = fdopen(fd, "w+b");
    if (!f) {
        close(fd);
        return mla_err(MLA_EIO, "%s: cannot open the spool in %s", field, dir);
    }
    *out = f;
    return MLA_OK;
}

mla_status mla_report__range_open(mla_report *r, const char *spool_dir)
{
    if (r->ev.range_spool) {
        fclose(r->ev.range_spool);
        r->ev.range_spool = NULL;
    }
    return mla_report__spool_open(&r->ev.range_spool, spool_dir, "spool_dir");
}

mla_status mla_report__verifier_key(mla_buf *out, const mla_report *r)
{
    mla_buf_init(out, 4 * MLA_NOTE_NAME_MAX);
    mla_status rc = mla_note_verifier_format(out, &r->ev.log_key);
    if (rc == MLA_OK) rc = mla_buf_append_byte(out, 0);
    if (rc != MLA_OK) return rc;
    out->len--; /* the NUL stays after len */
    return MLA_OK;
}

mla_status mla_report__range_append(mla_report *r, mla_slice bytes)
{
    uint8_t len[4];
    if (!r->ev.range_spool) return mla_err(MLA_EINVAL, "range: no spool open");
    if (bytes.len > MLA_LIMIT_ENTRY_BYTES)
        return mla_err(MLA_EINVAL, "range: an entry of %zu bytes exceeds limit %d", bytes.len,
                       MLA_LIMIT_ENTRY_BYTES);
    mla_put_be32(len, (uint32_t)bytes.len);
    /* Readers leave the position at the end (see spool_read), so appends
     * stay buffered. */
    if (fwrite(len, 1, 4, r->ev.range_spool) != 4 ||
        (bytes.len && fwrite(bytes.ptr, 1, bytes.len, r->ev.range_spool) != bytes.len))
        return mla_err(MLA_EIO, "range: writing the spool failed (disk full?)");
    return MLA_OK;
}

/* Read the spool from its start, handing each record to fn; the position
 * is at the end again afterwards, whatever happens. */
static mla_status spool_read(const mla_report *r, mla_report_raw_fn fn, void *ctx)
{
    FILE *f = r->ev.range_spool;
    mla_buf b;
    mla_status rc = MLA_OK;
    uint64_t seq = r->ev.range_first;
    if (!f) return mla_err(MLA_EINVAL, "range: no spool open");
    if (fflush(f) != 0 || fseeko(f, 0, SEEK_SET) != 0)
        return mla_err(MLA_EIO, "range: cannot read the spool");
    mla_buf_init(&b, MLA_LIMIT_ENTRY_BYTES);
    for (;; seq++) {
        uint8_t len[4];
        size_t got = fread(len, 1, 4, f);
        if (got == 0 && feof(f)) break;
        if (got != 4) {
            rc = mla_err(MLA_EIO, "range: the spool is cut short at entry %llu",
                         (unsigned long long)seq);
            break;
        }
        uint32_t n = mla_get_be32(len);
        if (n > MLA_LIMIT_ENTRY_BYTES) {
            rc = mla_err(MLA_EIO, "range: spool record of entry %llu is %u bytes",
                         (unsigned long long)seq, n);
            break;
        }
        mla_buf_clear(&b);
        if ((rc = mla_buf_reserve(&b, n)) != MLA_OK) break;
        if (n && fread(b.ptr, 1, n, f) != n) {
            rc = mla_err(MLA_EIO, "range: the spool is cut short at entry %llu",
                         (unsigned long long)seq);
            break;
        }
        b.len = n;
        if ((rc = fn(ctx, seq, mla_buf_slice(&b))) != MLA_OK) break;
    }
    if (fseeko(f, 0, SEEK_END) != 0 && rc == MLA_OK)
        rc = mla_err(MLA_EIO, "range: cannot seek the spool");
    mla_buf_dispose(&b);
    return rc;
}

mla_status mla_report__range_each_raw(const mla_report *r, mla_report_raw_fn fn, void *ctx)
{
    return spool_read(r, fn, ctx);
}

typedef struct each_ctx {
    mla_report_range_fn fn;
    void *ctx;
} each_ctx;

static mla_status each_decode(void *ctx, uint64_t seq, mla_slice bytes)
{
    each_ctx *x = ctx;
    mla_pb_entry *e;
    mla_pb_change *c;
    mla_status rc = decode_named(&e, &c, bytes, "range entry", seq);
    if (rc == MLA_OK && x->fn) rc = x->fn(x->ctx, seq, bytes, e, c);
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    return rc;
}

mla_status mla_report__range_each(const mla_report *r, mla_report_range_fn fn, void *ctx)
{
    each_ctx x = {fn, ctx};
    return spool_read(r, each_decode, &x);
}

typedef struct range_fetch {
    mla_report *r;
    uint64_t next;
    mla_hash prev;
    bool have_prev;
    int64_t prev_time;
    bool whole; /* the range is the whole log: its leaves give the root */
    mla_merkle_frontier fr;
    mla_report_range_fn fn;
    void *ctx;
} range_fetch;

static mla_status range_entry(void *ctx, uint64_t seq, mla_slice entry, const mla_hash *leaf,
                              bool redacted)
{
    range_fetch *x = ctx;
    mla_pb_entry *e;
    mla_pb_change *c;
    mla_status rc;
    if (seq != x->next)
        return mla_err(MLA_ECORRUPT, "range: the server sent entry %llu where %llu was due",
                       (unsigned long long)seq, (unsigned long long)x->next);
    if (redacted)
        return mla_err(MLA_EINVAL,
                       "range: entry %llu is redacted (SPEC §8); a range report cannot carry "
                       "the hash chain across it (report a period that excludes it)",
                       (unsigned long long)seq);
    MLA_TRY(decode_named(&e, &c, entry, "range entry", seq));
    /* SPEC §3: prev_hash is the leaf hash of the entry before (zeros for 0). */
    if (x->have_prev && (e->prev_hash.len != 32 || memcmp(e->prev_hash.data, x->prev.b, 32) != 0)) {
        rc = mla_err(MLA_ECORRUPT,
                     "range entry %llu: prev_hash is not the leaf hash of entry %llu: the hash "
                     "chain is broken",
                     (unsigned long long)seq, (unsigned long long)seq - 1);
    } else if (x->have_prev && e->ledger_time_ns < x->prev_time) {
        rc = mla_err(MLA_ECORRUPT, "range entry %llu: ledger time goes backwards",
                     (unsigned long long)seq);
    } else if ((rc = mla_report__range_append(x->r, entry)) == MLA_OK && x->whole) {
        rc = mla_merkle_frontier_append(&x->fr, leaf, NULL, NULL);
    }
    if (rc == MLA_OK && x->fn) rc = x->fn(x->ctx, seq, entry, e, c);
    if (rc == MLA_OK) {
        x->prev = *leaf;
        x->have_prev = true;
        x->prev_time = e->ledger_time_ns;
        x->next++;
    }
    mla_codec_change_free(c);
    mla_codec_entry_free(e);
    return rc;
}

mla_status mla_report__range_root_check(const mla_merkle_frontier *fr, const mla_checkpoint *cp)
{
    mla_hash root;
    mla_merkle_frontier_root(fr, &root);
    if (mla_hash_eq(&root, &cp->root)) return MLA_OK;
    return mla_err(MLA_ECORRUPT,
                   "range: the Merkle root of all %llu entries is not the checkpoint's",
                   (unsigned long long)cp->size);
}

mla_status mla_report__range_fetch(mla_report *r, mla_client *c, uint64_t first, uint64_t last,
                                   const char *spool_dir, mla_report_range_fn fn, void *ctx)
{
    const mla_checkpoint *cp = &r->ev.cp;
    if (first > last || last >= cp->size)
        return mla_err(
            MLA_EINVAL, "range: [%llu, %llu] is not within the checkpoint's %llu entries",
            (unsigned long long)first, (unsigned long long)last, (unsigned long long)cp->size);
    r->ev.has_range = false;
    MLA_TRY(mla_report__range_open(r, spool_dir));
    r->ev.range_first = first;
    r->ev.range_last = last;
    range_fetch x;
    memset(&x, 0, sizeof x);
    x.r = r;
    x.next = first;
    x.have_prev = first == 0; /* the entry before seq 0 is 32 zero bytes */
    x.whole = first == 0 && last + 1 == cp->size;
    mla_merkle_frontier_init(&x.fr);
    x.fn = fn;
    x.ctx = ctx;
    MLA_TRY(mla_client_entries(c, first, last + 1, range_entry, &x));
    if (x.next != last + 1)
        return mla_err(
            MLA_ECORRUPT, "range: the server ended the stream at entry %llu of [%llu, %llu]",
            (unsigned long long)x.next, (unsigned long long)first, (unsigned long long)last);
    /* The chain ties every entry to the last; its proof ties the last to the
     * pinned checkpoint. */
    mla_merkle_proof proof;
    mla_hash leaf;
    uint64_t size;
    MLA_TRY(mla_client_inclusion_proof(c, last, cp->size, &proof, &leaf, &size));
    if (size != cp->size || !mla_hash_eq(&leaf, &x.prev) ||
        mla_merkle_inclusion_verify(&x.prev, last, cp->size, &proof, &cp->root) != MLA_OK)
        return mla_err(MLA_ECORRUPT,
                       "range: the inclusion proof of entry %llu does not lead to the root of "
                       "checkpoint size %llu",
                       (unsigned long long)last, (unsigned long long)cp->size);
    /* For the whole log the root recomputed from the range's leaves must be
     * the checkpoint's too: the last entry's proof alone does not tie the
     * earlier leaves to the tree. The audit report states this fact;
     * report_check.c checks it again offline. */
    if (x.whole) MLA_TRY(mla_report__range_root_check(&x.fr, cp));
    r->ev.range_proof = proof;
    r->ev.has_range = true;
    return MLA_OK;
}

/* ---- resolution, disposal ------------------------------------------------- */

mla_status mla_report__evidence_resolution(mla_report *r, mla_slice wire)
{
    mla_report_evidence *ev = &r->ev;
    if (ev->has_resolution) {
        mla_client_resolution_dispose(&ev->resolution);
        ev->has_resolution = false;
    }
    mla_buf_clear(&ev->resolution_wire);
    mla_status rc = mla_buf_set(&ev->resolution_wire, wire);
    if (rc == MLA_ELIMIT)
        return mla_err(MLA_EINVAL, "resolution: %zu bytes exceeds limit %u", wire.len,
                       MLA_LIMIT_RPC_BYTES);
    MLA_TRY(rc);
    if ((rc = mla_client_resolution_decode(&ev->resolution, wire, &ev->log_key)) != MLA_OK) {
        mla_buf_clear(&ev->resolution_wire);
        return rc;
    }
    ev->has_resolution = true;
    return MLA_OK;
}

void mla_report__evidence_dispose(mla_report_evidence *ev)
{
    for (size_t i = 0; i < ev->n_entries; i++) entry_dispose(&ev->entries[i]);
    mla_free(ev->entries);
    mla_buf_dispose(&ev->checkpoint);
    if (ev->range_spool) fclose(ev->range_spool);
    if (ev->has_resolution) mla_client_resolution_dispose(&ev->resolution);
    mla_buf_dispose(&ev->resolution_wire);
    memset(ev, 0, sizeof *ev);
}
