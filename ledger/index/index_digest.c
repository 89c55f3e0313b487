/* index_digest: an order-independent digest of index records (a sum of
 * per-record hashes), so an audit can compare the indexes rebuilt from the
 * entries, in seq order, with the store's, in key order, in constant memory. */
#include <string.h>

#include "crypto/crypto.h"
#include "index/index.h"

void mla_index_digest_init(mla_index_digest *d) { memset(d, 0, sizeof *d); }

/* sum += h, as 256-bit big-endian integers mod 2^256. */
static void add256(uint8_t sum[32], const uint8_t h[32])
{
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned v = (unsigned)sum[i] + h[i] + carry;
        sum[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

mla_status mla_index_digest_put(void *ctx, mla_slice key, mla_slice value)
{
    mla_index_digest *d = ctx;
    uint8_t len[8];
    mla_hash h;
    mla_put_be64(len, key.len);
    mla_slice parts[3] = {mla_slice_make(len, 8), key, value};
    mla_crypto_sha256_v(&h, parts, 3);
    add256(d->sum, h.b);
    d->count++;
    return MLA_OK;
}

static mla_status digest_visit(void *ctx, mla_slice key, mla_slice value)
{
    return mla_index_digest_put(ctx, key, value);
}

mla_status mla_index_digest_store(mla_index_digest *out, mla_store *s)
{
    uint8_t prefix = MLA_INDEX_K_PREFIX;
    mla_index_view v = {s, NULL};
    mla_index_digest_init(out);
    return mla_index_view_scan(&v, mla_slice_make(&prefix, 1), digest_visit, out);
}
