/* index_view: reads through a view: the group's pending writes (inside the
 * sequencer) over the committed store, so a check made while sequencing
 * sees the entries earlier in the same group commit. */
#include <string.h>

#include "index/index.h"

mla_status mla_index_view_get(const mla_index_view *v, mla_slice key, mla_buf *tmp,
                              mla_slice *value)
{
    if (v->pending && v->pending->get(v->pending->ctx, key, value) == MLA_OK) return MLA_OK;
    MLA_TRY(mla_store_get(v->store, key, tmp));
    *value = mla_buf_slice(tmp);
    return MLA_OK;
}

/* The smallest key above every key with this prefix: the prefix with its
 * last non-0xff byte incremented (empty: no upper bound). */
static size_t prefix_end(uint8_t *out, mla_slice prefix)
{
    size_t n = prefix.len;
    memcpy(out, prefix.ptr, n);
    while (n > 0 && out[n - 1] == 0xff) n--;
    if (n > 0) out[n - 1]++;
    return n;
}

mla_status mla_index_view_scan(const mla_index_view *v, mla_slice prefix, mla_index_visit fn,
                               void *ctx)
{
    uint8_t end[MLA_STORE_KEY_MAX];
    if (prefix.len == 0 || prefix.len > MLA_STORE_KEY_MAX)
        return mla_err(MLA_EINVAL, "index: scan prefix of %zu bytes", prefix.len);
    size_t end_len = prefix_end(end, prefix);
    mla_store_iter *it;
    MLA_TRY(mla_store_iter_new(&it, v->store, prefix, mla_slice_make(end, end_len)));
    mla_status rc;
    mla_slice k, val;
    bool stopped = false;
    while ((rc = mla_store_iter_next(it, &k, &val)) == MLA_OK) {
        if ((rc = fn(ctx, k, val)) != MLA_OK) {
            stopped = true;
            break;
        }
    }
    mla_store_iter_free(it);
    if (stopped || rc != MLA_ENOTFOUND) return rc; /* fn stopped it, or the store failed */
    if (v->pending) return v->pending->scan(v->pending->ctx, prefix, fn, ctx);
    return MLA_OK;
}
