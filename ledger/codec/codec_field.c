/* codec_field: the checks every message validator applies to its string and
 * bytes fields, with errors that name the field, the value and the limit. */
#include "codec/codec_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mla_codec__path(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n < 0 && cap) dst[0] = '\0';
}

/* "path.field" or just "path". */
#define FIELD_FMT "%s%s%s"
#define FIELD_ARGS(path, field) (path), (field) ? "." : "", (field) ? (field) : ""

mla_status mla_codec__text_check(const char *path, const char *field, const char *s, size_t max,
                                 unsigned flags)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0) {
        if (flags & MLA_CODEC_TEXT_REQUIRED)
            return mla_err(MLA_EINVAL, FIELD_FMT ": empty", FIELD_ARGS(path, field));
        return MLA_OK;
    }
    if (len > max)
        return mla_err(MLA_EINVAL, FIELD_FMT ": %zu bytes exceeds limit %zu",
                       FIELD_ARGS(path, field), len, max);
    /* proto3: a string field must hold well-formed UTF-8. */
    if (!mla_utf8_valid(mla_slice_make(s, len)))
        return mla_err(MLA_EINVAL, FIELD_FMT ": not valid UTF-8", FIELD_ARGS(path, field));
    if (flags & MLA_CODEC_TEXT_NAME) {
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c == 0x7f)
                return mla_err(MLA_EINVAL, FIELD_FMT ": control character 0x%02x at byte %zu",
                               FIELD_ARGS(path, field), c, i);
        }
    }
    return MLA_OK;
}

mla_status mla_codec__bytes_check(const char *path, const char *field, ProtobufCBinaryData b,
                                  size_t want, bool required)
{
    if (b.len == 0 && !required) return MLA_OK;
    if (b.len == 0) return mla_err(MLA_EINVAL, FIELD_FMT ": empty", FIELD_ARGS(path, field));
    if (b.len != want)
        return mla_err(MLA_EINVAL, FIELD_FMT ": %zu bytes, want %zu", FIELD_ARGS(path, field),
                       b.len, want);
    return MLA_OK;
}
