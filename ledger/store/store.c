/* store: the public entry points. Argument checks and dispatch through the
 * implementation's vtable (store_int.h), and the write batch, which belongs
 * to no implementation: it is a list of put/delete ops over one arena. */
#include "store/store_int.h"

#include <string.h>

int mla_store__key_cmp(mla_slice a, mla_slice b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c != 0) return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

mla_status mla_store__copy_value(mla_buf *value_out, const void *p, size_t n)
{
    if (n > value_out->max)
        return mla_err(MLA_ELIMIT, "store.value: %zu bytes exceeds limit %zu", n, value_out->max);
    return mla_buf_set(value_out, mla_slice_make(p, n));
}

/* ---- dispatch ------------------------------------------------------------ */

void mla_store_close(mla_store *s)
{
    if (s) s->vt->close(s);
}

mla_status mla_store_get(mla_store *s, mla_slice key, mla_buf *value_out)
{
    MLA_ASSERT(s != NULL && value_out != NULL);
    if (key.len > MLA_STORE_KEY_MAX)
        return mla_err(MLA_EINVAL, "store.key: %zu bytes exceeds limit %u", key.len,
                       MLA_STORE_KEY_MAX);
    return s->vt->get(s, key, value_out);
}

mla_status mla_store_write(mla_store *s, const mla_store_batch *b, bool sync)
{
    MLA_ASSERT(s != NULL && b != NULL);
    return s->vt->write(s, b, sync);
}

mla_status mla_store_iter_new(mla_store_iter **out, mla_store *s, mla_slice start, mla_slice end)
{
    MLA_ASSERT(out != NULL && s != NULL);
    *out = NULL;
    return s->vt->iter_new(out, s, start, end);
}

mla_status mla_store_iter_next(mla_store_iter *it, mla_slice *key, mla_slice *value)
{
    MLA_ASSERT(it != NULL && key != NULL && value != NULL);
    return it->vt->iter_next(it, key, value);
}

void mla_store_iter_free(mla_store_iter *it)
{
    if (it) it->vt->iter_free(it);
}

/* ---- batch --------------------------------------------------------------- */

mla_status mla_store_batch_new(mla_store_batch **out)
{
    MLA_ASSERT(out != NULL);
    *out = NULL;
    mla_store_batch *b = mla_calloc(1, sizeof *b);
    if (!b) return mla_err(MLA_ENOMEM, "store.batch: out of memory");
    mla_buf_init(&b->arena, MLA_STORE_BATCH_BYTES_MAX);
    *out = b;
    return MLA_OK;
}

/* Append one op. Everything that can fail happens before the batch changes,
 * so a failed put or delete leaves it as it was. */
static mla_status add_op(mla_store_batch *b, mla_store_op_kind kind, mla_slice key, mla_slice value)
{
    if (key.len > MLA_STORE_KEY_MAX)
        return mla_err(MLA_EINVAL, "store.key: %zu bytes exceeds limit %u", key.len,
                       MLA_STORE_KEY_MAX);
    if (value.len > MLA_STORE_VALUE_MAX)
        return mla_err(MLA_EINVAL, "store.value: %zu bytes exceeds limit %u", value.len,
                       MLA_STORE_VALUE_MAX);
    if (b->n_ops == b->cap_ops) {
        size_t cap = b->cap_ops ? b->cap_ops * 2 : 16, bytes;
        if (!mla_mul_size(&bytes, cap, sizeof *b->ops))
            return mla_err(MLA_ELIMIT, "store.batch: %zu ops overflow", cap);
        mla_store_op *ops = mla_realloc(b->ops, bytes);
        if (!ops) return mla_err(MLA_ENOMEM, "store.batch: out of memory for %zu ops", cap);
        b->ops = ops;
        b->cap_ops = cap;
    }
    size_t total = key.len + value.len; /* both <= 64 MiB + 1 KiB: no overflow */
    if (b->arena.len + total > b->arena.max)
        return mla_err(MLA_ELIMIT, "store.batch: %zu + %zu bytes exceeds limit %zu", b->arena.len,
                       total, b->arena.max);
    if (mla_buf_reserve(&b->arena, total) != MLA_OK)
        return mla_err(MLA_ENOMEM, "store.batch: out of memory for %zu bytes",
                       b->arena.len + total);
    mla_store_op *op = &b->ops[b->n_ops];
    op->kind = kind;
    op->key_off = b->arena.len;
    op->key_len = key.len;
    /* Reserved above: these appends cannot fail. */
    if (key.len) memcpy(b->arena.ptr + b->arena.len, key.ptr, key.len);
    b->arena.len += key.len;
    op->value_off = b->arena.len;
    op->value_len = value.len;
    if (value.len) memcpy(b->arena.ptr + b->arena.len, value.ptr, value.len);
    b->arena.len += value.len;
    b->n_ops++;
    return MLA_OK;
}

mla_status mla_store_batch_put(mla_store_batch *b, mla_slice key, mla_slice value)
{
    MLA_ASSERT(b != NULL);
    return add_op(b, MLA_STORE_OP_PUT, key, value);
}

mla_status mla_store_batch_delete(mla_store_batch *b, mla_slice key)
{
    MLA_ASSERT(b != NULL);
    return add_op(b, MLA_STORE_OP_DELETE, key, mla_slice_make(NULL, 0));
}

void mla_store_batch_clear(mla_store_batch *b)
{
    if (!b) return;
    b->n_ops = 0;
    mla_buf_clear(&b->arena);
}

size_t mla_store_batch_count(const mla_store_batch *b) { return b ? b->n_ops : 0; }

void mla_store_batch_free(mla_store_batch *b)
{
    if (!b) return;
    mla_free(b->ops);
    mla_buf_dispose(&b->arena);
    mla_free(b);
}
