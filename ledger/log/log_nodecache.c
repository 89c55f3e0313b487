/* log_nodecache: the upper levels of the Merkle tree kept in memory. Every
 * proof reads one node per level; nodes high in the tree are few and shared
 * by every proof, so caching levels >= MLA_LOG_NODECACHE_MIN_LEVEL turns most
 * of a proof's store reads into memory reads. Stored nodes never change
 * (append-only), so a cached node is never stale. Direct-mapped, with striped
 * locks: any thread may read and fill it. */
#include <pthread.h>
#include <string.h>

#include "log/log_int.h"

#define SLOTS 65536 /* power of two; levels >= 6 of a 2^22-leaf tree fit */
#define STRIPES 64

typedef struct slot {
    uint64_t tag; /* 0 = empty */
    mla_hash h;
} slot;

struct mla_log_nodecache {
    pthread_mutex_t locks[STRIPES];
    slot slots[SLOTS];
};

static uint64_t tag_of(unsigned level, uint64_t index)
{
    /* Indexes at level >= 6 are below 2^58: the tag is unique and non-zero. */
    return ((uint64_t)level << 58 | index) + 1;
}

static size_t slot_of(uint64_t tag)
{
    uint64_t x = tag * 0x9e3779b97f4a7c15u;
    return (size_t)(x >> 48) & (SLOTS - 1);
}

mla_status mla_log__nodecache_new(mla_log_nodecache **out)
{
    *out = NULL;
    mla_log_nodecache *c = mla_calloc(1, sizeof *c);
    if (!c) return mla_err(MLA_ENOMEM, "log: out of memory for the node cache");
    for (int i = 0; i < STRIPES; i++) pthread_mutex_init(&c->locks[i], NULL);
    *out = c;
    return MLA_OK;
}

void mla_log__nodecache_free(mla_log_nodecache *c)
{
    if (!c) return;
    for (int i = 0; i < STRIPES; i++) pthread_mutex_destroy(&c->locks[i]);
    mla_free(c);
}

bool mla_log__nodecache_get(mla_log_nodecache *c, unsigned level, uint64_t index, mla_hash *out)
{
    if (!c || level < MLA_LOG_NODECACHE_MIN_LEVEL) return false;
    uint64_t tag = tag_of(level, index);
    size_t i = slot_of(tag);
    pthread_mutex_t *m = &c->locks[i % STRIPES];
    pthread_mutex_lock(m);
    bool hit = c->slots[i].tag == tag;
    if (hit) *out = c->slots[i].h;
    pthread_mutex_unlock(m);
    return hit;
}

void mla_log__nodecache_put(mla_log_nodecache *c, unsigned level, uint64_t index, const mla_hash *h)
{
    if (!c || level < MLA_LOG_NODECACHE_MIN_LEVEL) return;
    uint64_t tag = tag_of(level, index);
    size_t i = slot_of(tag);
    pthread_mutex_t *m = &c->locks[i % STRIPES];
    pthread_mutex_lock(m);
    c->slots[i].tag = tag;
    c->slots[i].h = *h;
    pthread_mutex_unlock(m);
}
