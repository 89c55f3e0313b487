/* registry_table: the key records by keyid, an open-addressing hash table
 * (keyids are SHA-256 outputs, so their first bytes are a uniform hash).
 * Used by the log's registry and by every replay of it. */
#include <string.h>

#include "registry/registry.h"

struct mla_registry {
    mla_keyrec *slots;
    bool *used;
    size_t cap, n;
};

static size_t slot_of(const mla_registry *r, const mla_hash *keyid)
{
    return (size_t)mla_get_be64(keyid->b) & (r->cap - 1);
}

static mla_status table_alloc(mla_registry *r, size_t cap)
{
    r->cap = cap;
    r->n = 0;
    r->slots = mla_calloc(cap, sizeof *r->slots);
    r->used = mla_calloc(cap, sizeof *r->used);
    if (r->slots && r->used) return MLA_OK;
    mla_free(r->slots);
    mla_free(r->used);
    return mla_err(MLA_ENOMEM, "registry: out of memory");
}

mla_status mla_registry_new(mla_registry **out)
{
    *out = NULL;
    mla_registry *r = mla_calloc(1, sizeof *r);
    if (!r) return mla_err(MLA_ENOMEM, "registry: out of memory");
    mla_status rc = table_alloc(r, 64);
    if (rc != MLA_OK) {
        mla_free(r);
        return rc;
    }
    *out = r;
    return MLA_OK;
}

void mla_registry_free(mla_registry *r)
{
    if (!r) return;
    mla_free(r->slots);
    mla_free(r->used);
    mla_free(r);
}

static void insert(mla_registry *r, const mla_keyrec *rec)
{
    size_t i = slot_of(r, &rec->keyid);
    while (r->used[i] && memcmp(r->slots[i].keyid.b, rec->keyid.b, 32) != 0)
        i = (i + 1) & (r->cap - 1);
    if (!r->used[i]) r->n++;
    r->used[i] = true;
    r->slots[i] = *rec;
}

mla_status mla_registry_put(mla_registry *r, const mla_keyrec *rec)
{
    if ((r->n + 1) * 2 > r->cap) {
        mla_registry bigger;
        MLA_TRY(table_alloc(&bigger, r->cap * 2));
        for (size_t i = 0; i < r->cap; i++)
            if (r->used[i]) insert(&bigger, &r->slots[i]);
        mla_free(r->slots);
        mla_free(r->used);
        *r = bigger;
    }
    insert(r, rec);
    return MLA_OK;
}

bool mla_registry_get(const mla_registry *r, const mla_hash *keyid, mla_keyrec *out)
{
    for (size_t i = slot_of(r, keyid); r->used[i]; i = (i + 1) & (r->cap - 1)) {
        if (memcmp(r->slots[i].keyid.b, keyid->b, 32) == 0) {
            *out = r->slots[i];
            return true;
        }
    }
    return false;
}

size_t mla_registry_count(const mla_registry *r) { return r->n; }
