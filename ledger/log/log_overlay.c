/* log_overlay: the pending writes of one group commit. The sequencer reads
 * through it (a group sees its own writes) and undoes one failed request with
 * a savepoint; at commit it becomes one store batch. Keys and values live in
 * one arena, chained per hash bucket, newest first, so a rollback pops
 * entries in reverse and restores each bucket head. */
#include <string.h>

#include "log/log_int.h"

#define OV_BUCKETS 16384 /* power of two; a group writes ~10 keys per entry */
#define OV_ARENA_MAX ((size_t)1 << 31)
#define OV_ENTRIES_MAX ((size_t)1 << 24)

typedef struct ov_entry {
    size_t key_off, key_len, val_off, val_len;
    int64_t next; /* previous entry in the same bucket, or -1 */
    uint32_t bucket;
} ov_entry;

struct mla_log_overlay {
    int64_t heads[OV_BUCKETS];
    ov_entry *entries;
    size_t n, cap;
    mla_buf arena;
};

static uint32_t hash_key(mla_slice k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < k.len; i++) h = (h ^ k.ptr[i]) * 16777619u;
    return h & (OV_BUCKETS - 1);
}

mla_status mla_log__overlay_new(mla_log_overlay **out)
{
    *out = NULL;
    mla_log_overlay *o = mla_malloc(sizeof *o);
    if (!o) return mla_err(MLA_ENOMEM, "log: out of memory for the group overlay");
    o->entries = NULL;
    o->n = o->cap = 0;
    mla_buf_init(&o->arena, OV_ARENA_MAX);
    for (size_t i = 0; i < OV_BUCKETS; i++) o->heads[i] = -1;
    *out = o;
    return MLA_OK;
}

void mla_log__overlay_free(mla_log_overlay *o)
{
    if (!o) return;
    mla_buf_dispose(&o->arena);
    mla_free(o->entries);
    mla_free(o);
}

void mla_log__overlay_clear(mla_log_overlay *o)
{
    mla_log_savepoint sp = {0, 0};
    mla_log__overlay_rollback(o, sp);
}

size_t mla_log__overlay_count(const mla_log_overlay *o) { return o->n; }

mla_status mla_log__overlay_put(mla_log_overlay *o, mla_slice key, mla_slice value)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256, bytes;
        if (cap > OV_ENTRIES_MAX || !mla_mul_size(&bytes, cap, sizeof *o->entries))
            return mla_err(MLA_ELIMIT, "log: group overlay exceeds %zu writes", OV_ENTRIES_MAX);
        ov_entry *e = mla_realloc(o->entries, bytes);
        if (!e) return mla_err(MLA_ENOMEM, "log: out of memory for the group overlay");
        o->entries = e;
        o->cap = cap;
    }
    size_t start = o->arena.len;
    mla_status rc = mla_buf_append_slice(&o->arena, key);
    if (rc == MLA_OK) rc = mla_buf_append_slice(&o->arena, value);
    if (rc != MLA_OK) {
        o->arena.len = start;
        return rc;
    }
    uint32_t b = hash_key(key);
    ov_entry *e = &o->entries[o->n];
    e->key_off = start;
    e->key_len = key.len;
    e->val_off = start + key.len;
    e->val_len = value.len;
    e->bucket = b;
    e->next = o->heads[b];
    o->heads[b] = (int64_t)o->n;
    o->n++;
    return MLA_OK;
}

mla_status mla_log__overlay_get(const mla_log_overlay *o, mla_slice key, mla_slice *value)
{
    for (int64_t i = o->heads[hash_key(key)]; i >= 0; i = o->entries[i].next) {
        const ov_entry *e = &o->entries[i];
        if (e->key_len == key.len && memcmp(o->arena.ptr + e->key_off, key.ptr, key.len) == 0) {
            *value = mla_slice_make(o->arena.ptr + e->val_off, e->val_len);
            return MLA_OK;
        }
    }
    return MLA_ENOTFOUND;
}

mla_log_savepoint mla_log__overlay_savepoint(const mla_log_overlay *o)
{
    mla_log_savepoint sp = {o->n, o->arena.len};
    return sp;
}

void mla_log__overlay_rollback(mla_log_overlay *o, mla_log_savepoint sp)
{
    while (o->n > sp.n) {
        ov_entry *e = &o->entries[--o->n];
        MLA_ASSERT(o->heads[e->bucket] == (int64_t)o->n);
        o->heads[e->bucket] = e->next;
    }
    o->arena.len = sp.arena_len;
}

mla_status mla_log__overlay_to_batch(const mla_log_overlay *o, mla_store_batch *batch)
{
    for (size_t i = 0; i < o->n; i++) {
        const ov_entry *e = &o->entries[i];
        MLA_TRY(mla_store_batch_put(batch, mla_slice_make(o->arena.ptr + e->key_off, e->key_len),
                                    mla_slice_make(o->arena.ptr + e->val_off, e->val_len)));
    }
    return MLA_OK;
}

mla_status mla_log__overlay_scan(const mla_log_overlay *o, mla_slice prefix,
                                 mla_status (*fn)(void *ctx, mla_slice key, mla_slice value),
                                 void *ctx)
{
    /* Linear: only the group's few writes, and only for the rare changes
     * (deployments, approvals) whose checks scan an index. */
    for (size_t i = 0; i < o->n; i++) {
        const ov_entry *e = &o->entries[i];
        if (e->key_len < prefix.len || memcmp(o->arena.ptr + e->key_off, prefix.ptr, prefix.len))
            continue;
        MLA_TRY(fn(ctx, mla_slice_make(o->arena.ptr + e->key_off, e->key_len),
                   mla_slice_make(o->arena.ptr + e->val_off, e->val_len)));
    }
    return MLA_OK;
}
