/* crypto_sha256: SHA-256 through libgcrypt, one-shot, vectored and
 * incremental. Hashing cannot fail once libgcrypt is initialised. */
#include "crypto/crypto_int.h"

#include <string.h>

struct mla_sha256 {
    gcry_md_hd_t md;
};

void mla_crypto_sha256(mla_hash *out, mla_slice in)
{
    mla_crypto__require_init();
    gcry_md_hash_buffer(GCRY_MD_SHA256, out->b, in.len ? in.ptr : (const uint8_t *)"", in.len);
}

#define SHA256_MAX_PARTS 8

void mla_crypto_sha256_v(mla_hash *out, const mla_slice *parts, size_t n)
{
    mla_crypto__require_init();
    MLA_ASSERT(n <= SHA256_MAX_PARTS);
    gcry_buffer_t iov[SHA256_MAX_PARTS];
    memset(iov, 0, sizeof iov);
    for (size_t i = 0; i < n; i++) {
        iov[i].data = (void *)(uintptr_t)parts[i].ptr; /* gcry_buffer_t is not const */
        iov[i].len = parts[i].len;
        iov[i].size = parts[i].len;
    }
    MLA_ASSERT(gcry_md_hash_buffers(GCRY_MD_SHA256, 0, out->b, iov, (int)n) == 0);
}

mla_status mla_crypto_sha256_new(mla_sha256 **out)
{
    *out = NULL;
    mla_crypto__require_init();
    mla_sha256 *h = mla_malloc(sizeof *h);
    if (!h) return mla_err(MLA_ENOMEM, "sha256: out of memory");
    gcry_error_t e = gcry_md_open(&h->md, GCRY_MD_SHA256, 0);
    if (e) {
        mla_free(h);
        return mla_err(MLA_ENOMEM, "sha256: %s", gcry_strerror(e));
    }
    *out = h;
    return MLA_OK;
}

void mla_crypto_sha256_update(mla_sha256 *h, mla_slice in)
{
    if (in.len) gcry_md_write(h->md, in.ptr, in.len);
}

void mla_crypto_sha256_final(mla_sha256 *h, mla_hash *out)
{
    memcpy(out->b, gcry_md_read(h->md, GCRY_MD_SHA256), 32);
    gcry_md_reset(h->md);
}

void mla_crypto_sha256_free(mla_sha256 *h)
{
    if (!h) return;
    gcry_md_close(h->md);
    mla_free(h);
}
