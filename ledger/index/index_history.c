/* index_history: every entry about one artifact name (all its versions, from
 * the 'n' subject-scope records) and the policy violations recorded for an
 * entry in audit mode. */
#include <string.h>

#include "index/index.h"

typedef struct seqs {
    uint64_t *v;
    size_t n, cap;
    size_t prefix_len;
    uint64_t tree_size;
} seqs;

static mla_status visit(void *ctx, mla_slice key, mla_slice value)
{
    seqs *s = ctx;
    (void)value;
    if (key.len != s->prefix_len + 8)
        return mla_err(MLA_ECORRUPT, "index: name record key of %zu bytes is malformed", key.len);
    uint64_t seq = mla_get_be64(key.ptr + s->prefix_len);
    if (seq >= s->tree_size) return MLA_OK;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16, bytes;
        if (!mla_mul_size(&bytes, cap, sizeof *s->v))
            return mla_err(MLA_ELIMIT, "history: %zu entries", cap);
        uint64_t *v = mla_realloc(s->v, bytes);
        if (!v) return mla_err(MLA_ENOMEM, "history: out of memory for %zu entries", cap);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = seq;
    return MLA_OK;
}

static mla_status name_check(const char *s, const char *field)
{
    if (!s || s[0] == '\0') return mla_err(MLA_EINVAL, "%s: empty", field);
    size_t n = strlen(s);
    if (n > MLA_LIMIT_NAME)
        return mla_err(MLA_EINVAL, "%s: %zu bytes exceeds limit %d", field, n, MLA_LIMIT_NAME);
    return MLA_OK;
}

mla_status mla_index_name_history(uint64_t **seqs_out, size_t *n_out, const mla_index_reader *r,
                                  const char *type, const char *name)
{
    uint8_t k[2 + 2 * MLA_LIMIT_NAME + 2];
    seqs s;
    *seqs_out = NULL;
    *n_out = 0;
    MLA_TRY(name_check(type, "type"));
    MLA_TRY(name_check(name, "name"));
    /* 'I' 'n' type:name 00 seq */
    size_t nt = strlen(type), nn = strlen(name);
    k[0] = MLA_INDEX_K_PREFIX;
    k[1] = 'n';
    memcpy(k + 2, type, nt);
    k[2 + nt] = ':';
    memcpy(k + 3 + nt, name, nn);
    k[3 + nt + nn] = 0;
    memset(&s, 0, sizeof s);
    s.prefix_len = 4 + nt + nn;
    s.tree_size = r->tree_size;
    mla_status rc = mla_index_view_scan(&r->view, mla_slice_make(k, s.prefix_len), visit, &s);
    if (rc != MLA_OK) {
        mla_free(s.v);
        return rc;
    }
    *seqs_out = s.v;
    *n_out = s.n;
    return MLA_OK;
}

mla_status mla_index_violations(const mla_index_reader *r, uint64_t seq, mla_buf *out)
{
    uint8_t k[9];
    mla_buf tmp;
    mla_slice v;
    if (seq >= r->tree_size)
        return mla_err(MLA_ENOTFOUND, "seq: %llu is beyond the tree size %llu",
                       (unsigned long long)seq, (unsigned long long)r->tree_size);
    k[0] = MLA_INDEX_K_VIOLATION;
    mla_put_be64(k + 1, seq);
    mla_buf_init(&tmp, MLA_STORE_VALUE_MAX);
    mla_status rc = mla_index_view_get(&r->view, mla_slice_make(k, sizeof k), &tmp, &v);
    if (rc == MLA_ENOTFOUND)
        rc = mla_err(MLA_ENOTFOUND, "seq: no policy violation recorded for entry %llu",
                     (unsigned long long)seq);
    if (rc == MLA_OK) rc = mla_buf_set(out, v);
    mla_buf_dispose(&tmp);
    return rc;
}
