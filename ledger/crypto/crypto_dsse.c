/* crypto_dsse: the DSSE pre-authentication encoding (PAE) and Ed25519
 * signatures over it, as the in-toto/Sigstore signing envelope defines
 * (secure-systems-lab/dsse, protocol.md). Envelope decoding is codec's. */
#include "crypto/crypto_int.h"

#include <string.h>

/* protocol.md: PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP
 * + LEN(body) + SP + body; "LEN(s) = ASCII decimal encoding of the byte
 * length of s, with no leading zeros". */
#define PAE_PREFIX "DSSEv1 "
#define PAE_PREFIX_LEN (sizeof PAE_PREFIX - 1)
/* Small envelopes (most changes) are encoded on the stack: no allocation on
 * the verify path that bounds append throughput. */
#define PAE_STACK_MAX 2048

/* Decimal digits of v, no leading zeros ("0" for zero); returns the count. */
static size_t dec(char out[20], size_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

typedef struct pae_parts {
    char type_len[20], payload_len[20];
    size_t type_len_n, payload_len_n, total;
} pae_parts;

static mla_status pae_measure(pae_parts *p, mla_slice type, mla_slice payload)
{
    p->type_len_n = dec(p->type_len, type.len);
    p->payload_len_n = dec(p->payload_len, payload.len);
    /* prefix + LEN + SP + type + SP + LEN + SP + payload */
    size_t t = PAE_PREFIX_LEN + p->type_len_n + 1 + p->payload_len_n + 2;
    if (!mla_add_size(&t, t, type.len) || !mla_add_size(&t, t, payload.len))
        return mla_err(MLA_ELIMIT, "payload: %zu bytes is too large to encode", payload.len);
    p->total = t;
    return MLA_OK;
}

static void put(uint8_t **dst, const void *src, size_t n)
{
    if (n) memcpy(*dst, src, n);
    *dst += n;
}

/* Writes exactly p->total bytes. */
static void pae_write(uint8_t *dst, const pae_parts *p, mla_slice type, mla_slice payload)
{
    put(&dst, PAE_PREFIX, PAE_PREFIX_LEN);
    put(&dst, p->type_len, p->type_len_n);
    put(&dst, " ", 1);
    put(&dst, type.ptr, type.len);
    put(&dst, " ", 1);
    put(&dst, p->payload_len, p->payload_len_n);
    put(&dst, " ", 1);
    put(&dst, payload.ptr, payload.len);
}

mla_status mla_crypto_dsse_pae(mla_buf *out, mla_slice payload_type, mla_slice payload)
{
    pae_parts p;
    MLA_TRY(pae_measure(&p, payload_type, payload));
    MLA_TRY(mla_buf_reserve(out, p.total));
    pae_write(out->ptr + out->len, &p, payload_type, payload);
    out->len += p.total;
    return MLA_OK;
}

/* The PAE in `stack` when it fits, else in *heap (caller frees). */
static mla_status pae_encode(mla_slice *out, uint8_t stack[PAE_STACK_MAX], uint8_t **heap,
                             mla_slice type, mla_slice payload)
{
    pae_parts p;
    *heap = NULL;
    MLA_TRY(pae_measure(&p, type, payload));
    uint8_t *dst = stack;
    if (p.total > PAE_STACK_MAX) {
        dst = *heap = mla_malloc(p.total);
        if (!dst) return mla_err(MLA_ENOMEM, "dsse: out of memory for a %zu-byte PAE", p.total);
    }
    pae_write(dst, &p, type, payload);
    *out = mla_slice_make(dst, p.total);
    return MLA_OK;
}

mla_status mla_crypto_dsse_sign(uint8_t sig_out[MLA_ED25519_SIG_LEN], const mla_privkey *k,
                                mla_slice payload_type, mla_slice payload)
{
    uint8_t stack[PAE_STACK_MAX], *heap;
    mla_slice pae;
    MLA_TRY(pae_encode(&pae, stack, &heap, payload_type, payload));
    mla_status rc = mla_crypto_sign(sig_out, k, pae);
    mla_free(heap);
    return rc;
}

mla_status mla_crypto_dsse_verify(const mla_pubkey *pub, mla_slice payload_type, mla_slice payload,
                                  mla_slice sig)
{
    /* Refuse a malformed signature before spending time on the encoding. */
    if (sig.len != MLA_ED25519_SIG_LEN)
        return mla_err(MLA_EINVAL, "signature: %zu bytes, want %d", sig.len, MLA_ED25519_SIG_LEN);
    uint8_t stack[PAE_STACK_MAX], *heap;
    mla_slice pae;
    MLA_TRY(pae_encode(&pae, stack, &heap, payload_type, payload));
    mla_status rc = mla_crypto_verify(pub, pae, sig);
    mla_free(heap);
    return rc;
}
