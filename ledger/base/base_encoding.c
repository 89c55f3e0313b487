/* base_encoding: hex, strict base64 (RFC 4648 §4, canonical as C2SP notes
 * require) and UTF-8 validation. */
#include "base/base.h"

#include <string.h>

static const char hexdig[] = "0123456789abcdef";

void mla_hex_encode_to(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
    out[2 * n] = '\0';
}

mla_status mla_hex_encode(mla_buf *out, mla_slice in)
{
    size_t need;
    if (!mla_mul_size(&need, in.len, 2)) return mla_err(MLA_ELIMIT, "hex: input too large");
    MLA_TRY(mla_buf_reserve(out, need));
    for (size_t i = 0; i < in.len; i++) {
        out->ptr[out->len++] = (uint8_t)hexdig[in.ptr[i] >> 4];
        out->ptr[out->len++] = (uint8_t)hexdig[in.ptr[i] & 15];
    }
    return MLA_OK;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

mla_status mla_hex_decode(mla_buf *out, mla_slice in, const char *field)
{
    if (in.len % 2) return mla_err(MLA_EINVAL, "%s: odd hex length %zu", field, in.len);
    MLA_TRY(mla_buf_reserve(out, in.len / 2));
    size_t start = out->len;
    for (size_t i = 0; i < in.len; i += 2) {
        int hi = hexval(in.ptr[i]), lo = hexval(in.ptr[i + 1]);
        if (hi < 0 || lo < 0) {
            out->len = start;
            return mla_err(MLA_EINVAL, "%s: non-hex character at offset %zu", field,
                           hi < 0 ? i : i + 1);
        }
        out->ptr[out->len++] = (uint8_t)(hi << 4 | lo);
    }
    return MLA_OK;
}

mla_status mla_hash_from_hex(mla_hash *out, mla_slice in, const char *field)
{
    if (in.len != 64) return mla_err(MLA_EINVAL, "%s: %zu hex characters, want 64", field, in.len);
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(in.ptr[2 * i]), lo = hexval(in.ptr[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return mla_err(MLA_EINVAL, "%s: non-hex character at offset %zu", field, 2 * i);
        out->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return MLA_OK;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

mla_status mla_base64_encode(mla_buf *out, mla_slice in)
{
    size_t groups = in.len / 3 + (in.len % 3 != 0), need;
    if (!mla_mul_size(&need, groups, 4)) return mla_err(MLA_ELIMIT, "base64: input too large");
    MLA_TRY(mla_buf_reserve(out, need));
    uint8_t *o = out->ptr + out->len;
    size_t i = 0;
    for (; i + 3 <= in.len; i += 3) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (uint32_t)in.ptr[i + 1] << 8 | in.ptr[i + 2];
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = (uint8_t)b64[(v >> 6) & 63];
        *o++ = (uint8_t)b64[v & 63];
    }
    if (in.len - i == 1) {
        uint32_t v = (uint32_t)in.ptr[i] << 16;
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (in.len - i == 2) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (uint32_t)in.ptr[i + 1] << 8;
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = (uint8_t)b64[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len += need;
    return MLA_OK;
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

mla_status mla_base64_decode(mla_buf *out, mla_slice in, const char *field)
{
    if (in.len % 4)
        return mla_err(MLA_EINVAL, "%s: base64 length %zu is not a multiple of 4", field, in.len);
    size_t start = out->len;
    MLA_TRY(mla_buf_reserve(out, in.len / 4 * 3));
    for (size_t i = 0; i < in.len; i += 4) {
        const uint8_t *q = in.ptr + i;
        bool last = i + 4 == in.len;
        int pad = (last && q[3] == '=') + (last && q[2] == '=' && q[3] == '=');
        int v[4];
        for (int k = 0; k < 4 - pad; k++) {
            v[k] = b64val(q[k]);
            if (v[k] < 0) {
                out->len = start;
                return mla_err(MLA_EINVAL, "%s: invalid base64 character at offset %zu", field,
                               i + (size_t)k);
            }
        }
        uint8_t *o = out->ptr + out->len;
        if (pad == 0) {
            uint32_t x =
                (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
            o[0] = (uint8_t)(x >> 16);
            o[1] = (uint8_t)(x >> 8);
            o[2] = (uint8_t)x;
            out->len += 3;
        } else if (pad == 1) {
            if (v[2] & 3) goto noncanon;
            uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6;
            o[0] = (uint8_t)(x >> 16);
            o[1] = (uint8_t)(x >> 8);
            out->len += 2;
        } else {
            if (v[1] & 15) goto noncanon;
            uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12;
            o[0] = (uint8_t)(x >> 16);
            out->len += 1;
        }
    }
    return MLA_OK;
noncanon:
    out->len = start;
    return mla_err(MLA_EINVAL, "%s: non-canonical base64 (unused bits set)", field);
}

bool mla_utf8_valid(mla_slice s)
{
    size_t i = 0;
    while (i < s.len) {
        uint8_t c = s.ptr[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (s.len - i <= n) return false;
        for (size_t k = 1; k <= n; k++) {
            uint8_t d = s.ptr[i + k];
            if ((d & 0xc0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}
