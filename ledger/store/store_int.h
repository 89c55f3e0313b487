/* store_int: private to ledger/store. The vtable each implementation
 * (LevelDB, memory, fault wrapper) fills in, and the batch representation,
 * which is implementation-independent so one batch can be applied to any
 * store (SQLite's btree.h / btreeInt.h split). */
#ifndef MLA_STORE_INT_H
#define MLA_STORE_INT_H

#include "store/store.h"

typedef enum mla_store_kind {
    MLA_STORE_KIND_LEVELDB = 1,
    MLA_STORE_KIND_MEM,
    MLA_STORE_KIND_FAULT,
} mla_store_kind;

/* The operations an implementation provides. The public functions in
 * store.c check arguments and dispatch here; implementations may assume
 * non-NULL arguments. An iterator returned by iter_new carries the vtable of
 * the store that made it, so a wrapper may hand out its inner store's
 * iterators unchanged. */
typedef struct mla_store_vtable {
    mla_store_kind kind;
    mla_status (*get)(mla_store *s, mla_slice key, mla_buf *value_out);
    mla_status (*write)(mla_store *s, const mla_store_batch *b, bool sync);
    mla_status (*iter_new)(mla_store_iter **out, mla_store *s, mla_slice start, mla_slice end);
    mla_status (*iter_next)(mla_store_iter *it, mla_slice *key, mla_slice *value);
    void (*iter_free)(mla_store_iter *it);
    void (*close)(mla_store *s);
} mla_store_vtable;

/* First member of every implementation's store and iterator struct. */
struct mla_store {
    const mla_store_vtable *vt;
};
struct mla_store_iter {
    const mla_store_vtable *vt;
};

/* ---- batch ------------------------------------------------------------ */

typedef enum mla_store_op_kind {
    MLA_STORE_OP_PUT = 1,
    MLA_STORE_OP_DELETE,
} mla_store_op_kind;

/* One operation; key and value live in the batch's arena (offsets, because
 * the arena moves when it grows). Operations apply in order, so a later op
 * on the same key wins (LevelDB WriteBatch semantics). */
typedef struct mla_store_op {
    mla_store_op_kind kind;
    size_t key_off, key_len;
    size_t value_off, value_len; /* 0, 0 for a delete */
} mla_store_op;

struct mla_store_batch {
    mla_store_op *ops;
    size_t n_ops, cap_ops;
    mla_buf arena; /* every key and value, back to back */
};

static inline mla_slice mla_store__op_key(const mla_store_batch *b, const mla_store_op *op)
{
    return mla_slice_make(b->arena.ptr + op->key_off, op->key_len);
}
static inline mla_slice mla_store__op_value(const mla_store_batch *b, const mla_store_op *op)
{
    return mla_slice_make(op->value_len ? b->arena.ptr + op->value_off : NULL, op->value_len);
}

/* Bytewise order of keys (LevelDB's default comparator): memcmp, then the
 * shorter key first. */
int mla_store__key_cmp(mla_slice a, mla_slice b);

/* Copy a value read from an implementation into the caller's buffer:
 * MLA_ELIMIT naming "store.value" when it exceeds value_out->max. */
mla_status mla_store__copy_value(mla_buf *value_out, const void *p, size_t n) MLA_MUST_USE;

/* The implementation kind of a store (for the fault wrapper's crash). */
static inline mla_store_kind mla_store__kind(const mla_store *s) { return s->vt->kind; }

#endif
