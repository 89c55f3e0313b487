/* codec_message: the protobuf-c plumbing every codec decoder and encoder goes
 * through. Allocation is routed to mla_malloc (so tests can fail it and we can
 * tell out-of-memory from malformed input, which protobuf-c reports alike),
 * limits are checked before unpacking, and unknown fields are refused. */
#include "codec/codec_int.h"

#include <stdio.h>
#include <string.h>

/* The schema nests at most five messages deep; anything deeper is refused
 * rather than recursed into. */
#define SCAN_DEPTH_MAX 16
/* Messages of proto/mlaudit/v1 have at most 17 fields. */
#define SCAN_FIELDS_MAX 32

typedef struct alloc_state {
    bool failed;
} alloc_state;

static void *pb_alloc(void *data, size_t size)
{
    void *p = mla_malloc(size);
    if (!p) ((alloc_state *)data)->failed = true;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    mla_free(p);
}

/* Read a base-128 varint (at most 10 bytes). */
static bool read_varint(mla_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (mla_reader_left(r) == 0) return false;
        uint8_t c = r->in.ptr[r->off++];
        if (shift == 63 && c > 1) return false;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static bool skip(mla_reader *r, uint64_t n)
{
    if (n > mla_reader_left(r)) return false;
    r->off += (size_t)n;
    return true;
}

/* A walk of the wire bytes guided by the descriptors, before protobuf-c sees
 * them: protobuf-c copies a string into a NUL-terminated char array, so
 * "a\0b" would decode as "a" while the signed bytes say otherwise. Strings
 * with an embedded NUL are refused here, with the field's path. */
static mla_status scan(const ProtobufCMessageDescriptor *d, mla_slice in, char *path, size_t cap,
                       unsigned depth)
{
    if (depth > SCAN_DEPTH_MAX)
        return mla_err(MLA_EINVAL, "%s: nested deeper than %d", path, SCAN_DEPTH_MAX);
    size_t seen[SCAN_FIELDS_MAX] = {0};
    size_t path_len = strlen(path);
    mla_reader r;
    mla_reader_init(&r, in);
    while (mla_reader_left(&r) > 0) {
        size_t at = r.off;
        uint64_t tag, len;
        if (!read_varint(&r, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
            return mla_err(MLA_EINVAL, "%s: malformed protobuf (bad tag at byte %zu)", path, at);
        bool ok;
        switch (tag & 7) {
        case 0: ok = read_varint(&r, &len); break;
        case 1: ok = skip(&r, 8); break;
        case 5: ok = skip(&r, 4); break;
        case 2: ok = read_varint(&r, &len) && len <= mla_reader_left(&r); break;
        default: ok = false; /* groups (3, 4) are not proto3; 6 and 7 do not exist */
        }
        if (!ok)
            return mla_err(MLA_EINVAL, "%s: malformed protobuf (field %u at byte %zu)", path,
                           (unsigned)(tag >> 3), at);
        if ((tag & 7) != 2) continue;
        mla_slice body = mla_slice_make(r.in.ptr + r.off, (size_t)len);
        r.off += (size_t)len;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
        if (!f) continue; /* reported by name after unpacking */
        size_t fi = (size_t)(f - d->fields), idx = 0;
        if (fi < SCAN_FIELDS_MAX) idx = seen[fi]++;
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            snprintf(path + path_len, cap - path_len, ".%s[%zu]", f->name, idx);
        else
            snprintf(path + path_len, cap - path_len, ".%s", f->name);
        mla_status rc = MLA_OK;
        if (f->type == PROTOBUF_C_TYPE_STRING && body.len && memchr(body.ptr, 0, body.len))
            rc = mla_err(MLA_EINVAL, "%s: embedded NUL byte", path);
        else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            rc = scan(f->descriptor, body, path, cap, depth + 1);
        path[path_len] = '\0';
        MLA_TRY(rc);
    }
    return MLA_OK;
}

/* protobuf-c keeps fields it does not know in unknown_fields; a ledger entry
 * must mean exactly what its verifier can read, so any unknown field anywhere
 * is an error naming the message that carried it. */
static mla_status reject_unknown(const ProtobufCMessage *m, char *path, size_t cap)
{
    if (m->n_unknown_fields)
        return mla_err(MLA_EINVAL, "%s: unknown field %u", path, m->unknown_fields[0].tag);
    const ProtobufCMessageDescriptor *d = m->descriptor;
    size_t path_len = strlen(path);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        const char *base = (const char *)m;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, base + f->quantifier_offset, sizeof which);
            if (which != f->id) continue;
        }
        size_t n = 1;
        const ProtobufCMessage *const *subs;
        const ProtobufCMessage *one;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            memcpy(&n, base + f->quantifier_offset, sizeof n);
            memcpy(&subs, base + f->offset, sizeof subs);
        } else {
            memcpy(&one, base + f->offset, sizeof one);
            subs = &one;
        }
        for (size_t k = 0; k < n; k++) {
            if (!subs[k]) continue;
            if (f->label == PROTOBUF_C_LABEL_REPEATED)
                snprintf(path + path_len, cap - path_len, ".%s[%zu]", f->name, k);
            else
                snprintf(path + path_len, cap - path_len, ".%s", f->name);
            mla_status rc = reject_unknown(subs[k], path, cap);
            path[path_len] = '\0';
            MLA_TRY(rc);
        }
    }
    return MLA_OK;
}

mla_status mla_codec__message_unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
                                     mla_slice in, size_t limit, const char *root)
{
    *out = NULL;
    /* STYLE: limits are checked before any allocation sized from input. */
    if (in.len > limit)
        return mla_err(MLA_EINVAL, "%s: %zu bytes exceeds limit %zu", root, in.len, limit);
    char path[MLA_CODEC_PATH_MAX];
    mla_codec__path(path, sizeof path, "%s", root);
    MLA_TRY(scan(d, in, path, sizeof path, 0));

    alloc_state st = {false};
    ProtobufCAllocator a = {pb_alloc, pb_free, &st};
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &a, in.len, in.len ? in.ptr : NULL);
    if (!m) {
        if (st.failed)
            return mla_err(MLA_ENOMEM, "%s: out of memory decoding %zu bytes", root, in.len);
        return mla_err(MLA_EINVAL, "%s: malformed protobuf (%zu bytes)", root, in.len);
    }
    mla_status rc = reject_unknown(m, path, sizeof path);
    if (rc != MLA_OK) {
        mla_codec__message_free(m);
        return rc;
    }
    *out = m;
    return MLA_OK;
}

void mla_codec__message_free(ProtobufCMessage *m)
{
    if (!m) return;
    alloc_state st = {false};
    ProtobufCAllocator a = {pb_alloc, pb_free, &st};
    protobuf_c_message_free_unpacked(m, &a);
}

mla_status mla_codec__message_pack(mla_buf *out, const ProtobufCMessage *m, size_t limit,
                                   const char *root)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > limit) return mla_err(MLA_ELIMIT, "%s: %zu bytes exceeds limit %zu", root, n, limit);
    if (n == 0) return MLA_OK;
    MLA_TRY(mla_buf_reserve(out, n));
    size_t wrote = protobuf_c_message_pack(m, out->ptr + out->len);
    MLA_ASSERT(wrote == n);
    out->len += n;
    return MLA_OK;
}
