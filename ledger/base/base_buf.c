/* base_buf: borrowed slices, owned capped buffers (curl's dynbuf) and the
 * checked reader every decoder uses (s2n's stuffer). */
#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

mla_slice mla_slice_cstr(const char *s) { return mla_slice_make(s, s ? strlen(s) : 0); }

bool mla_slice_eq(mla_slice a, mla_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

void mla_buf_init(mla_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void mla_buf_dispose(mla_buf *b)
{
    if (b->ptr) {
        mla_wipe(b->ptr, b->cap);
        mla_free(b->ptr);
    }
    b->ptr = NULL;
    b->len = b->cap = 0;
}

mla_status mla_buf_reserve(mla_buf *b, size_t extra)
{
    size_t need;
    if (!mla_add_size(&need, b->len, extra) || need > b->max)
        return mla_err(MLA_ELIMIT, "buffer: %zu + %zu bytes exceeds limit %zu", b->len, extra,
                       b->max);
    if (need <= b->cap) return MLA_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > b->max / 2 ? b->max : cap * 2;
    /* Grow by copy, not realloc, so the old bytes can be wiped (they may be secret). */
    uint8_t *p = mla_malloc(cap);
    if (!p) return mla_err(MLA_ENOMEM, "buffer: out of memory for %zu bytes", cap);
    if (b->ptr) {
        memcpy(p, b->ptr, b->len);
        mla_wipe(b->ptr, b->cap);
        mla_free(b->ptr);
    }
    b->ptr = p;
    b->cap = cap;
    return MLA_OK;
}

mla_status mla_buf_append(mla_buf *b, const void *p, size_t n)
{
    if (n == 0) return MLA_OK;
    MLA_TRY(mla_buf_reserve(b, n));
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return MLA_OK;
}

mla_status mla_buf_append_slice(mla_buf *b, mla_slice s) { return mla_buf_append(b, s.ptr, s.len); }

mla_status mla_buf_append_byte(mla_buf *b, uint8_t c) { return mla_buf_append(b, &c, 1); }

mla_status mla_buf_append_cstr(mla_buf *b, const char *s)
{
    return mla_buf_append(b, s, strlen(s));
}

mla_status mla_buf_printf(mla_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return mla_err(MLA_EINVAL, "buffer: bad format");
    /* +1 for the NUL vsnprintf writes; it is not counted in len. */
    MLA_TRY(mla_buf_reserve(b, (size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return MLA_OK;
}

mla_status mla_buf_append_be64(mla_buf *b, uint64_t v)
{
    uint8_t tmp[8];
    mla_put_be64(tmp, v);
    return mla_buf_append(b, tmp, 8);
}

mla_status mla_buf_set(mla_buf *b, mla_slice s)
{
    b->len = 0;
    return mla_buf_append_slice(b, s);
}

char *mla_buf_cstr_new(const mla_buf *b)
{
    size_t total;
    if (!mla_add_size(&total, b->len, 1)) return NULL;
    char *s = mla_malloc(total);
    if (!s) return NULL;
    if (b->len) memcpy(s, b->ptr, b->len);
    s[b->len] = '\0';
    return s;
}

static mla_status short_read(const mla_reader *r, size_t n, const char *field)
{
    return mla_err(MLA_EINVAL, "%s: truncated: need %zu bytes at offset %zu, %zu left", field, n,
                   r->off, mla_reader_left(r));
}

mla_status mla_reader_bytes(mla_reader *r, mla_slice *out, size_t n, const char *field)
{
    if (mla_reader_left(r) < n) return short_read(r, n, field);
    *out = mla_slice_make(r->in.ptr + r->off, n);
    r->off += n;
    return MLA_OK;
}

mla_status mla_reader_u8(mla_reader *r, uint8_t *out, const char *field)
{
    if (mla_reader_left(r) < 1) return short_read(r, 1, field);
    *out = r->in.ptr[r->off++];
    return MLA_OK;
}

mla_status mla_reader_be64(mla_reader *r, uint64_t *out, const char *field)
{
    if (mla_reader_left(r) < 8) return short_read(r, 8, field);
    *out = mla_get_be64(r->in.ptr + r->off);
    r->off += 8;
    return MLA_OK;
}

mla_status mla_reader_hash(mla_reader *r, mla_hash *out, const char *field)
{
    if (mla_reader_left(r) < 32) return short_read(r, 32, field);
    memcpy(out->b, r->in.ptr + r->off, 32);
    r->off += 32;
    return MLA_OK;
}

mla_status mla_reader_end(const mla_reader *r, const char *field)
{
    if (mla_reader_left(r) != 0)
        return mla_err(MLA_EINVAL, "%s: %zu trailing bytes", field, mla_reader_left(r));
    return MLA_OK;
}

void mla_put_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t mla_get_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | in[i];
    return v;
}

bool mla_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

void mla_wipe(void *p, size_t n)
{
    if (p && n) explicit_bzero(p, n);
}

void mla_put_be32(uint8_t out[4], uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint32_t mla_get_be32(const uint8_t in[4])
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}
