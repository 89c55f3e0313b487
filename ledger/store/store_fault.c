/* store_fault: a fault-injecting wrapper around any store (SQLite test6.c).
 * It fails the k-th write, or tears the k-th synced write (applied but not
 * made durable, then reported as failed), and forwards "crash" to a memory
 * store underneath, so tests can check what survives a power loss. Reads and
 * iterators pass straight through to the inner store. */
#include "store/store_int.h"

typedef struct fault_store {
    mla_store base;
    mla_store *inner;
    mla_store_fault_kind kind;
    long k;
    long writes; /* mla_store_write calls since wrap/arm */
    long synced_writes; /* those with sync, since wrap/arm */
} fault_store;

static const mla_store_vtable fault_vtable;

static fault_store *as_fault(mla_store *s)
{
    MLA_ASSERT(s != NULL && s->vt == &fault_vtable);
    return (fault_store *)s;
}

static mla_status fault_get(mla_store *s, mla_slice key, mla_buf *value_out)
{
    return mla_store_get(as_fault(s)->inner, key, value_out);
}

static mla_status fault_write(mla_store *s, const mla_store_batch *b, bool sync)
{
    fault_store *f = as_fault(s);
    long n = f->writes++;
    if (f->kind == MLA_STORE_FAULT_WRITE && n == f->k)
        return mla_err(MLA_EIO, "store.fault: injected failure of write %ld", n);
    if (sync) {
        long ns = f->synced_writes++;
        if (f->kind == MLA_STORE_FAULT_SYNC && ns == f->k) {
            /* A torn fsync: the batch reaches the store's volatile state, so
             * readers may see it, but a crash loses it, and the caller is
             * told the write failed. */
            mla_status rc = mla_store_write(f->inner, b, false);
            if (rc != MLA_OK) return rc;
            return mla_err(MLA_EIO, "store.fault: injected failure of sync %ld", ns);
        }
    }
    return mla_store_write(f->inner, b, sync);
}

static mla_status fault_iter_new(mla_store_iter **out, mla_store *s, mla_slice start, mla_slice end)
{
    return mla_store_iter_new(out, as_fault(s)->inner, start, end);
}

/* Never called: the iterators handed out carry the inner store's vtable. */
static mla_status fault_iter_next(mla_store_iter *it, mla_slice *key, mla_slice *value)
{
    (void)it, (void)key, (void)value;
    mla_assert_fail("fault store iterator", __FILE__, __LINE__);
}

static void fault_iter_free(mla_store_iter *it)
{
    (void)it;
    mla_assert_fail("fault store iterator", __FILE__, __LINE__);
}

static void fault_close(mla_store *s)
{
    fault_store *f = as_fault(s);
    mla_store_close(f->inner);
    mla_free(f);
}

static const mla_store_vtable fault_vtable = {
    .kind = MLA_STORE_KIND_FAULT,
    .get = fault_get,
    .write = fault_write,
    .iter_new = fault_iter_new,
    .iter_next = fault_iter_next,
    .iter_free = fault_iter_free,
    .close = fault_close,
};

mla_status mla_store_open_fault(mla_store **out, mla_store *inner)
{
    MLA_ASSERT(out != NULL && inner != NULL);
    *out = NULL;
    fault_store *f = mla_calloc(1, sizeof *f);
    if (!f) return mla_err(MLA_ENOMEM, "store.fault: out of memory");
    f->base.vt = &fault_vtable;
    f->inner = inner;
    f->kind = MLA_STORE_FAULT_NONE;
    *out = &f->base;
    return MLA_OK;
}

void mla_store_fault_arm(mla_store *s, mla_store_fault_kind kind, long k)
{
    fault_store *f = as_fault(s);
    f->kind = kind;
    f->k = k;
    f->writes = 0;
    f->synced_writes = 0;
}

long mla_store_fault_writes(const mla_store *s)
{
    MLA_ASSERT(s != NULL && s->vt == &fault_vtable);
    return ((const fault_store *)s)->writes;
}

void mla_store_fault_crash(mla_store *s)
{
    fault_store *f = as_fault(s);
    switch (mla_store__kind(f->inner)) {
    case MLA_STORE_KIND_MEM:
    case MLA_STORE_KIND_FAULT: mla_store_mem_crash(f->inner); break;
    case MLA_STORE_KIND_LEVELDB: break; /* a real store cannot be made to forget */
    }
}
