/* store_mem: an ordered in-memory store for tests, with LevelDB's durability
 * model made explicit so tests can "pull the plug": it keeps the state as of
 * the last synced write apart from the state every later write built on,
 * and mla_store_mem_crash() returns to the former.
 *
 * The map is a skiplist of key nodes, each pointing at an immutable,
 * reference-counted value (NULL when the key is deleted). Nodes are never
 * unlinked while the store is open, so undoing a write and taking a snapshot
 * need no allocation that could fail half-way:
 *   - an unsynced write logs (node, previous value) for every op it applies;
 *     a crash replays that undo log backwards, a synced write discards it;
 *   - an iterator copies (node, value) references for its range.
 * A mutex serialises the map against concurrent readers (store.h). */
#include "store/store_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define LEVEL_MAX 20 /* 4^20 keys before the skiplist degrades */

typedef struct mem_value {
    atomic_long refs;
    size_t len;
    uint8_t bytes[];
} mem_value;

typedef struct mem_node {
    mem_value *value; /* NULL: deleted or never durably written */
    uint8_t *key; /* points into this allocation, after next[] */
    size_t key_len;
    int height;
    struct mem_node *next[]; /* height entries */
} mem_node;

typedef struct mem_undo {
    mem_node *node;
    mem_value *old; /* the reference the node held before the write */
} mem_undo;

typedef struct mem_store {
    mla_store base;
    pthread_mutex_t mu;
    mem_node *head; /* sentinel of height LEVEL_MAX, no key */
    int height;
    uint64_t rng;
    mem_undo *undo; /* writes since the last synced write */
    size_t n_undo, cap_undo;
} mem_store;

typedef struct mem_pair {
    const mem_node *node;
    mem_value *value;
} mem_pair;

typedef struct mem_iter {
    mla_store_iter base;
    mem_pair *pairs; /* the snapshot, in key order */
    size_t n, pos;
} mem_iter;

static const mla_store_vtable mem_vtable;

static void value_unref(mem_value *v)
{
    if (v && atomic_fetch_sub(&v->refs, 1) == 1) mla_free(v);
}

static mem_value *value_ref(mem_value *v)
{
    if (v) atomic_fetch_add(&v->refs, 1);
    return v;
}

static mla_slice node_key(const mem_node *n) { return mla_slice_make(n->key, n->key_len); }

/* Skiplist level with P(level > l) = 4^-l (Pugh), from a xorshift64 stream:
 * the distribution only affects speed, never correctness. */
static int random_height(mem_store *m)
{
    uint64_t x = m->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    m->rng = x;
    int h = 1;
    while (h < LEVEL_MAX && (x & 3) == 0) {
        h++;
        x >>= 2;
    }
    return h;
}

/* The first node with key >= `key`; prev[] (if given) receives, per level,
 * the last node before it. */
static mem_node *find_ge(mem_store *m, mla_slice key, mem_node **prev)
{
    mem_node *x = m->head;
    for (int l = m->height - 1; l >= 0; l--) {
        while (x->next[l] && mla_store__key_cmp(node_key(x->next[l]), key) < 0) x = x->next[l];
        if (prev) prev[l] = x;
    }
    return x->next[0];
}

static mem_node *find_eq(mem_store *m, mla_slice key, mem_node **prev)
{
    mem_node *n = find_ge(m, key, prev);
    return n && mla_store__key_cmp(node_key(n), key) == 0 ? n : NULL;
}

static mem_node *node_new_height(int h, mla_slice key)
{
    size_t bytes = sizeof(mem_node) + (size_t)h * sizeof(mem_node *) + key.len;
    mem_node *n = mla_malloc(bytes);
    if (!n) return NULL;
    n->value = NULL;
    n->height = h;
    n->key = (uint8_t *)&n->next[h];
    n->key_len = key.len;
    if (key.len) memcpy(n->key, key.ptr, key.len);
    for (int l = 0; l < h; l++) n->next[l] = NULL;
    return n;
}

static mem_node *node_new(mem_store *m, mla_slice key)
{
    return node_new_height(random_height(m), key);
}

static void node_link(mem_store *m, mem_node *n, mem_node **prev)
{
    for (int l = m->height; l < n->height; l++) prev[l] = m->head;
    if (n->height > m->height) m->height = n->height;
    for (int l = 0; l < n->height; l++) {
        n->next[l] = prev[l]->next[l];
        prev[l]->next[l] = n;
    }
}

static mla_status mem_get(mla_store *s, mla_slice key, mla_buf *value_out)
{
    mem_store *m = (mem_store *)s;
    pthread_mutex_lock(&m->mu);
    mem_node *n = find_eq(m, key, NULL);
    mem_value *v = n ? value_ref(n->value) : NULL;
    pthread_mutex_unlock(&m->mu);
    if (!v) return mla_err(MLA_ENOTFOUND, "store.key: not found (%zu bytes)", key.len);
    /* Copy outside the lock: the value is immutable and we hold a reference. */
    mla_status rc = mla_store__copy_value(value_out, v->bytes, v->len);
    value_unref(v);
    return rc;
}

static void undo_clear(mem_store *m)
{
    for (size_t i = 0; i < m->n_undo; i++) value_unref(m->undo[i].old);
    m->n_undo = 0;
}

/* What one op needs, allocated before anything changes. */
typedef struct mem_prep {
    mem_value *value; /* for a put */
    mem_node *node; /* for a put of a key not in the map yet */
} mem_prep;

static mla_status mem_write(mla_store *s, const mla_store_batch *b, bool sync)
{
    mem_store *m = (mem_store *)s;
    mla_status rc = MLA_OK;
    mem_prep *prep = NULL;
    pthread_mutex_lock(&m->mu);

    /* Phase 1: allocate every value, every new node and the undo space, so
     * phase 2 cannot fail and the batch is all or nothing (store.h). */
    if (b->n_ops) {
        prep = mla_calloc(b->n_ops, sizeof *prep);
        if (!prep) {
            rc = mla_err(MLA_ENOMEM, "store.mem: out of memory for %zu ops", b->n_ops);
            goto out;
        }
    }
    for (size_t i = 0; i < b->n_ops; i++) {
        const mla_store_op *op = &b->ops[i];
        if (op->kind != MLA_STORE_OP_PUT) continue;
        mla_slice val = mla_store__op_value(b, op);
        prep[i].value = mla_malloc(sizeof(mem_value) + val.len);
        if (!prep[i].value) {
            rc = mla_err(MLA_ENOMEM, "store.mem: out of memory for a %zu-byte value", val.len);
            goto out;
        }
        atomic_init(&prep[i].value->refs, 1);
        prep[i].value->len = val.len;
        if (val.len) memcpy(prep[i].value->bytes, val.ptr, val.len);
        if (!find_eq(m, mla_store__op_key(b, op), NULL)) {
            prep[i].node = node_new(m, mla_store__op_key(b, op));
            if (!prep[i].node) {
                rc = mla_err(MLA_ENOMEM, "store.mem: out of memory for a key");
                goto out;
            }
        }
    }
    if (!sync && m->cap_undo - m->n_undo < b->n_ops) {
        size_t cap, bytes;
        if (!mla_add_size(&cap, m->n_undo, b->n_ops) || !mla_add_size(&cap, cap, cap / 2) ||
            !mla_mul_size(&bytes, cap, sizeof *m->undo)) {
            rc = mla_err(MLA_ELIMIT, "store.mem: undo log overflow");
            goto out;
        }
        mem_undo *u = mla_realloc(m->undo, bytes);
        if (!u) {
            rc = mla_err(MLA_ENOMEM, "store.mem: out of memory for %zu undo records", cap);
            goto out;
        }
        m->undo = u;
        m->cap_undo = cap;
    }

    /* Phase 2: apply in order; nothing below allocates. */
    for (size_t i = 0; i < b->n_ops; i++) {
        const mla_store_op *op = &b->ops[i];
        mem_node *prev[LEVEL_MAX];
        mem_node *n = find_eq(m, mla_store__op_key(b, op), prev);
        if (!n) {
            if (op->kind == MLA_STORE_OP_DELETE) continue; /* deleting nothing */
            n = prep[i].node;
            prep[i].node = NULL;
            node_link(m, n, prev);
        }
        mem_value *old = n->value;
        n->value = op->kind == MLA_STORE_OP_PUT ? prep[i].value : NULL;
        prep[i].value = NULL;
        if (sync) {
            value_unref(old);
        } else {
            m->undo[m->n_undo].node = n;
            m->undo[m->n_undo].old = old;
            m->n_undo++;
        }
    }
    /* LevelDB semantics: the fsync of the log covers every earlier write, so
     * a synced write makes the whole current state durable. */
    if (sync) undo_clear(m);

out:
    if (prep) {
        for (size_t i = 0; i < b->n_ops; i++) {
            value_unref(prep[i].value);
            mla_free(prep[i].node);
        }
        mla_free(prep);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void mla_store_mem_crash(mla_store *s)
{
    MLA_ASSERT(s != NULL);
    if (s->vt->kind == MLA_STORE_KIND_FAULT) {
        mla_store_fault_crash(s);
        return;
    }
    MLA_ASSERT(s->vt == &mem_vtable);
    mem_store *m = (mem_store *)s;
    pthread_mutex_lock(&m->mu);
    /* Backwards, so a key written twice since the sync ends at its first
     * `old`, the durable value. */
    for (size_t i = m->n_undo; i-- > 0;) {
        mem_node *n = m->undo[i].node;
        value_unref(n->value);
        n->value = m->undo[i].old;
    }
    m->n_undo = 0;
    pthread_mutex_unlock(&m->mu);
}

static mla_status mem_iter_new(mla_store_iter **out, mla_store *s, mla_slice start, mla_slice end)
{
    mem_store *m = (mem_store *)s;
    mla_status rc = MLA_OK;
    mem_iter *it = mla_calloc(1, sizeof *it);
    if (!it) return mla_err(MLA_ENOMEM, "store.iter: out of memory");
    it->base.vt = &mem_vtable;
    pthread_mutex_lock(&m->mu);
    mem_node *first = find_ge(m, start, NULL), *n;
    size_t count = 0;
    for (n = first; n && (end.len == 0 || mla_store__key_cmp(node_key(n), end) < 0); n = n->next[0])
        if (n->value) count++;
    if (count) {
        it->pairs = mla_calloc(count, sizeof *it->pairs);
        if (!it->pairs) {
            rc = mla_err(MLA_ENOMEM, "store.iter: out of memory for %zu keys", count);
            goto out;
        }
        for (n = first; it->n < count; n = n->next[0]) {
            if (!n->value) continue;
            it->pairs[it->n].node = n;
            it->pairs[it->n].value = value_ref(n->value);
            it->n++;
        }
    }
out:
    pthread_mutex_unlock(&m->mu);
    if (rc != MLA_OK) {
        mla_free(it);
        return rc;
    }
    *out = &it->base;
    return MLA_OK;
}

static mla_status mem_iter_next(mla_store_iter *i, mla_slice *key, mla_slice *value)
{
    mem_iter *it = (mem_iter *)i;
    if (it->pos == it->n) return mla_err(MLA_ENOTFOUND, "store.iter: end");
    const mem_pair *p = &it->pairs[it->pos++];
    /* A node's key never changes and nodes live as long as the store. */
    *key = node_key(p->node);
    *value = mla_slice_make(p->value->bytes, p->value->len);
    return MLA_OK;
}

static void mem_iter_free(mla_store_iter *i)
{
    mem_iter *it = (mem_iter *)i;
    for (size_t k = 0; k < it->n; k++) value_unref(it->pairs[k].value);
    mla_free(it->pairs);
    mla_free(it);
}

static void mem_close(mla_store *s)
{
    mem_store *m = (mem_store *)s;
    undo_clear(m);
    mla_free(m->undo);
    mem_node *n = m->head;
    while (n) {
        mem_node *next = n->next[0];
        value_unref(n->value);
        mla_free(n);
        n = next;
    }
    pthread_mutex_destroy(&m->mu);
    mla_free(m);
}

static const mla_store_vtable mem_vtable = {
    .kind = MLA_STORE_KIND_MEM,
    .get = mem_get,
    .write = mem_write,
    .iter_new = mem_iter_new,
    .iter_next = mem_iter_next,
    .iter_free = mem_iter_free,
    .close = mem_close,
};

mla_status mla_store_open_mem(mla_store **out)
{
    MLA_ASSERT(out != NULL);
    *out = NULL;
    mem_store *m = mla_calloc(1, sizeof *m);
    if (!m) return mla_err(MLA_ENOMEM, "store.mem: out of memory");
    m->head = node_new_height(LEVEL_MAX, mla_slice_make(NULL, 0));
    if (!m->head) {
        mla_free(m);
        return mla_err(MLA_ENOMEM, "store.mem: out of memory");
    }
    m->base.vt = &mem_vtable;
    m->height = 1;
    m->rng = 0x9e3779b97f4a7c15u;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        mla_free(m->head);
        mla_free(m);
        return mla_err(MLA_EIO, "store.mem: cannot create a mutex");
    }
    *out = &m->base;
    return MLA_OK;
}
