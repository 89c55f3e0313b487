/* log_layout: how the log lays its records out in the ordered store (the
 * key map is in log_int.h) and the fixed encodings of the tail and of key
 * registry records. */
#include <string.h>

#include "log/log_int.h"

void mla_log__key_seq(mla_log_key *k, uint8_t prefix, uint64_t seq)
{
    k->b[0] = prefix;
    mla_put_be64(k->b + 1, seq);
    k->len = 9;
}

void mla_log__key_node(mla_log_key *k, unsigned level, uint64_t index)
{
    MLA_ASSERT(level < MLA_MERKLE_MAX_DEPTH);
    k->b[0] = MLA_LOG_K_NODE;
    k->b[1] = (uint8_t)level;
    mla_put_be64(k->b + 2, index);
    k->len = 10;
}

void mla_log__key_hash(mla_log_key *k, uint8_t prefix, const mla_hash *h)
{
    k->b[0] = prefix;
    memcpy(k->b + 1, h->b, 32);
    k->len = 33;
}

mla_status mla_log__key_bytes(mla_log_key *k, uint8_t prefix, uint8_t sub, mla_slice s)
{
    if (s.len > MLA_LOG_KEY_MAX - 2)
        return mla_err(MLA_EINVAL, "key: %zu bytes exceeds limit %d", s.len, MLA_LOG_KEY_MAX - 2);
    k->b[0] = prefix;
    k->b[1] = sub;
    if (s.len) memcpy(k->b + 2, s.ptr, s.len);
    k->len = s.len + 2;
    return MLA_OK;
}

void mla_log__key_single(mla_log_key *k, uint8_t prefix)
{
    k->b[0] = prefix;
    k->len = 1;
}

void mla_log__tail_encode(uint8_t out[MLA_LOG_TAIL_LEN], const mla_log_tail *t)
{
    mla_put_be64(out, t->size);
    mla_put_be64(out + 8, (uint64_t)t->last_time_ns);
    memcpy(out + 16, t->last_leaf.b, 32);
}

mla_status mla_log__tail_decode(mla_log_tail *t, mla_slice in)
{
    mla_reader r;
    uint64_t v;
    mla_reader_init(&r, in);
    MLA_TRY(mla_reader_be64(&r, &t->size, "store.tail.size"));
    MLA_TRY(mla_reader_be64(&r, &v, "store.tail.time"));
    t->last_time_ns = (int64_t)v;
    MLA_TRY(mla_reader_hash(&r, &t->last_leaf, "store.tail.leaf"));
    return mla_reader_end(&r, "store.tail");
}

void mla_log__keyrec_encode(uint8_t out[MLA_LOG_KEYREC_LEN], const mla_log_keyrec *r)
{
    memcpy(out, r->pub.b, 32);
    out[32] = r->role;
    out[33] = (uint8_t)(r->revoked ? 1 : 0);
    out[34] = (uint8_t)(r->allowed >> 24);
    out[35] = (uint8_t)(r->allowed >> 16);
    out[36] = (uint8_t)(r->allowed >> 8);
    out[37] = (uint8_t)r->allowed;
    mla_put_be64(out + 38, r->seq);
}

mla_status mla_log__keyrec_decode(mla_log_keyrec *r, mla_slice in)
{
    if (in.len != MLA_LOG_KEYREC_LEN)
        return mla_err(MLA_ECORRUPT, "store.key: record of %zu bytes, want %d", in.len,
                       MLA_LOG_KEYREC_LEN);
    memset(r, 0, sizeof *r);
    memcpy(r->pub.b, in.ptr, 32);
    r->role = in.ptr[32];
    if (in.ptr[33] > 1) return mla_err(MLA_ECORRUPT, "store.key: bad revoked flag");
    r->revoked = in.ptr[33] == 1;
    r->allowed = (uint32_t)in.ptr[34] << 24 | (uint32_t)in.ptr[35] << 16 |
                 (uint32_t)in.ptr[36] << 8 | in.ptr[37];
    r->seq = mla_get_be64(in.ptr + 38);
    mla_crypto_keyid_hash(&r->keyid, &r->pub);
    return MLA_OK;
}
