/* base: status codes with a thread-local error context, byte slices, capped
 * buffers, a checked reader, checked arithmetic, constant-time compare, hex
 * and base64. Every other module builds on this one; it depends on nothing.
 * Thread-safety: everything here may be called from any thread. */
#ifndef MLA_BASE_H
#define MLA_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define MLA_MUST_USE __attribute__((warn_unused_result))
#define MLA_PRINTF(a, b) __attribute__((format(printf, a, b)))

typedef enum mla_status {
    MLA_OK = 0,
    MLA_EINVAL = -1, /* malformed or over a limit; the message names the field */
    MLA_ENOTFOUND = -2,
    MLA_EEXISTS = -3, /* identity already recorded with another digest */
    MLA_EPOLICY = -4, /* refused by policy; the message lists what is missing */
    MLA_EDENIED = -5,
    MLA_ENOMEM = -6,
    MLA_ELIMIT = -7, /* a limit or the disk is full */
    MLA_EIO = -8, /* storage or OS failure; the operation had no effect */
    MLA_ECORRUPT = -9, /* stored data failed verification; writes stop */
    MLA_ESHUTDOWN = -10,
} mla_status;

/* ---- errors ---------------------------------------------------------- */

#define MLA_ERROR_MSG_MAX 512

typedef struct mla_error {
    mla_status code;
    const char *file; /* static string */
    int line;
    char msg[MLA_ERROR_MSG_MAX];
} mla_error;

/** Record code and a one-line message for this thread and return code.
 * Fixed thread-local storage: no allocation, so ENOMEM is reportable. */
mla_status mla_error_set(mla_status code, const char *file, int line, const char *fmt, ...)
    MLA_PRINTF(4, 5);
#define mla_err(code, ...) mla_error_set((code), __FILE__, __LINE__, __VA_ARGS__)

/** The last error recorded on this thread (never NULL; code MLA_OK if none). */
const mla_error *mla_error_last(void);
/** Forget the last error on this thread. */
void mla_error_clear(void);
/** Short stable name of a status: "EINVAL", "ENOTFOUND", ... */
const char *mla_status_name(mla_status s);

/* A deliberate ignore of a must-use result; say why at the call site. */
static inline void mla_ignore(int rc) { (void)rc; }

#define MLA_TRY(expr)                                                                              \
    do {                                                                                           \
        mla_status mla__rc = (expr);                                                               \
        if (mla__rc != MLA_OK) return mla__rc;                                                     \
    } while (0)

/* Programming errors abort in every build: a ledger stops rather than write a
 * wrong entry. */
_Noreturn void mla_assert_fail(const char *expr, const char *file, int line);
#define MLA_ASSERT(e) ((e) ? (void)0 : mla_assert_fail(#e, __FILE__, __LINE__))

/* ---- allocation ------------------------------------------------------ */
/* Every allocation in ledger/ goes through these so tests can fail the k-th
 * one (SQLite test_malloc.c). They return NULL on failure without recording an
 * error; callers report MLA_ENOMEM at the fault. */
void *mla_malloc(size_t n) MLA_MUST_USE;
void *mla_calloc(size_t count, size_t size) MLA_MUST_USE;
void *mla_realloc(void *p, size_t n) MLA_MUST_USE;
void mla_free(void *p);
char *mla_strndup(const char *s, size_t n) MLA_MUST_USE;

/** Test hook: allocations after the next `k` succeed-ones fail (k = 0 fails the
 * next one). Counts across all threads. */
void mla_alloc_fail_after(long k);
/** Test hook: stop failing allocations. */
void mla_alloc_fail_reset(void);
/** Number of allocations failed since the last mla_alloc_fail_after. */
long mla_alloc_failed_count(void);

/* ---- checked arithmetic --------------------------------------------- */

static inline MLA_MUST_USE bool mla_add_size(size_t *out, size_t a, size_t b)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline MLA_MUST_USE bool mla_mul_size(size_t *out, size_t a, size_t b)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* ---- bytes ----------------------------------------------------------- */

typedef struct mla_slice {
    const uint8_t *ptr;
    size_t len;
} mla_slice; /* borrowed */

typedef struct mla_buf {
    uint8_t *ptr;
    size_t len, cap, max;
} mla_buf; /* owned, grows up to max then fails MLA_ELIMIT */

typedef struct mla_reader {
    mla_slice in;
    size_t off;
} mla_reader; /* checked cursor */

typedef struct mla_hash {
    uint8_t b[32];
} mla_hash;

static inline mla_slice mla_slice_make(const void *p, size_t n)
{
    mla_slice s = {(const uint8_t *)p, n};
    return s;
}
/** A slice over a NUL-terminated string (without the NUL). */
mla_slice mla_slice_cstr(const char *s);
static inline mla_slice mla_buf_slice(const mla_buf *b) { return mla_slice_make(b->ptr, b->len); }
bool mla_slice_eq(mla_slice a, mla_slice b);

/** Start an empty buffer that may grow to `max` bytes. No allocation yet. */
void mla_buf_init(mla_buf *b, size_t max);
/** Free the storage (after wiping it); the buffer is empty and reusable. */
void mla_buf_dispose(mla_buf *b);
/** Ensure room for `extra` more bytes: MLA_ENOMEM, MLA_ELIMIT over max. */
mla_status mla_buf_reserve(mla_buf *b, size_t extra) MLA_MUST_USE;
mla_status mla_buf_append(mla_buf *b, const void *p, size_t n) MLA_MUST_USE;
mla_status mla_buf_append_slice(mla_buf *b, mla_slice s) MLA_MUST_USE;
mla_status mla_buf_append_byte(mla_buf *b, uint8_t c) MLA_MUST_USE;
mla_status mla_buf_append_cstr(mla_buf *b, const char *s) MLA_MUST_USE;
mla_status mla_buf_printf(mla_buf *b, const char *fmt, ...) MLA_MUST_USE MLA_PRINTF(2, 3);
mla_status mla_buf_append_be64(mla_buf *b, uint64_t v) MLA_MUST_USE;
/** Replace the contents with a copy of s. */
mla_status mla_buf_set(mla_buf *b, mla_slice s) MLA_MUST_USE;
/** Drop the contents, keep the storage. */
static inline void mla_buf_clear(mla_buf *b) { b->len = 0; }
/** A NUL-terminated copy of the contents, caller frees with mla_free. */
char *mla_buf_cstr_new(const mla_buf *b) MLA_MUST_USE;

static inline void mla_reader_init(mla_reader *r, mla_slice in)
{
    r->in = in;
    r->off = 0;
}
static inline size_t mla_reader_left(const mla_reader *r) { return r->in.len - r->off; }
/* Each read fails MLA_EINVAL naming `field` if too few bytes are left. */
mla_status mla_reader_u8(mla_reader *r, uint8_t *out, const char *field) MLA_MUST_USE;
mla_status mla_reader_be64(mla_reader *r, uint64_t *out, const char *field) MLA_MUST_USE;
mla_status mla_reader_bytes(mla_reader *r, mla_slice *out, size_t n,
                            const char *field) MLA_MUST_USE;
mla_status mla_reader_hash(mla_reader *r, mla_hash *out, const char *field) MLA_MUST_USE;
/** MLA_EINVAL naming `field` if any bytes are left. */
mla_status mla_reader_end(const mla_reader *r, const char *field) MLA_MUST_USE;

void mla_put_be64(uint8_t out[8], uint64_t v);
uint64_t mla_get_be64(const uint8_t in[8]);
void mla_put_be32(uint8_t out[4], uint32_t v);
uint32_t mla_get_be32(const uint8_t in[4]);

/** Constant-time equality of two equal-length byte strings. */
bool mla_ct_equal(const void *a, const void *b, size_t n);
static inline bool mla_hash_eq(const mla_hash *a, const mla_hash *b)
{
    return mla_ct_equal(a->b, b->b, sizeof a->b);
}

/* Wipe secrets so the compiler cannot elide it. */
void mla_wipe(void *p, size_t n);

/* ---- text encodings ------------------------------------------------- */

/** Lowercase hex of `in` appended to out. */
mla_status mla_hex_encode(mla_buf *out, mla_slice in) MLA_MUST_USE;
/** Hex into a caller array of 2*n+1 chars, NUL-terminated. */
void mla_hex_encode_to(char *out, const uint8_t *in, size_t n);
/** Decode hex (either case, even length) appended to out; EINVAL names field. */
mla_status mla_hex_decode(mla_buf *out, mla_slice in, const char *field) MLA_MUST_USE;
/** Decode exactly 32 bytes of hex into a hash. */
mla_status mla_hash_from_hex(mla_hash *out, mla_slice in, const char *field) MLA_MUST_USE;

/** Standard base64 with padding (RFC 4648 §4) appended to out. */
mla_status mla_base64_encode(mla_buf *out, mla_slice in) MLA_MUST_USE;
/** Strict decode: padding required, no whitespace, canonical (unused bits
 * zero), appended to out; MLA_EINVAL naming `field` otherwise. */
mla_status mla_base64_decode(mla_buf *out, mla_slice in, const char *field) MLA_MUST_USE;

/** True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool mla_utf8_valid(mla_slice s);

/* ---- time ------------------------------------------------------------ */

/** Wall clock, UTC nanoseconds since the Unix epoch. */
int64_t mla_time_now_ns(void);
/** Monotonic clock in nanoseconds (for deadlines and benchmarks). */
int64_t mla_time_mono_ns(void);

/** Days since 1970-01-01 of a proleptic Gregorian date, and back: civil
 * dates with no libc time zone state. */
int64_t mla_time_days_from_civil(int64_t y, unsigned m, unsigned d);
void mla_time_civil_from_days(int64_t *y_out, unsigned *m_out, unsigned *d_out, int64_t days);

/* "2026-06-01T12:00:00.123456789Z" and its NUL. */
#define MLA_TIME_TEXT_LEN 32
/** RFC 3339 UTC of ns since 1970 with nine fraction digits, or with trim
 * the fraction's trailing zeros dropped and no fraction when it is zero
 * ("2026-06-01T12:00:00.25Z", "2026-06-01T12:00:00Z"). */
void mla_time_format(char out[MLA_TIME_TEXT_LEN], int64_t ns, bool trim);

/* mla_time_parse's flags. */
#define MLA_TIME_UTC 1u /* the zone must be Z (no numeric offset) */
#define MLA_TIME_SPACE 2u /* a space may stand for the "T" (RFC 3339 §5.6 note) */
/* What mla_time_parse found wrong, as bits, so each caller reports them in
 * its own order and words. */
enum {
    MLA_TIME_E_FORM = 1u << 0, /* not YYYY-MM-DDTHH:MM:SS (then nothing else is read) */
    MLA_TIME_E_FRACTION = 1u << 1, /* "." not followed by 1 to 9 digits */
    MLA_TIME_E_ZONE = 1u << 2, /* no Z or +HH:MM / -HH:MM */
    MLA_TIME_E_END = 1u << 3, /* bytes after the zone (at rest) */
    MLA_TIME_E_DATE = 1u << 4, /* no such month or day */
    MLA_TIME_E_CLOCK = 1u << 5, /* hour, minute, second or offset out of range */
    MLA_TIME_E_RANGE = 1u << 6, /* outside int64 nanoseconds since 1970 */
};
typedef struct mla_time_parsed {
    int64_t ns; /* UTC nanoseconds since 1970 when no bit is set */
    unsigned year; /* unless MLA_TIME_E_FORM */
    const char *rest; /* where the zone ended (the bytes MLA_TIME_E_END found) */
} mla_time_parsed;
/** Read an RFC 3339 date-time (§5.6) with optional 1 to 9 fraction digits.
 * Returns 0 with out->ns set, or the MLA_TIME_E_* bits of what is wrong
 * (RANGE only when nothing else is). A leap second (:60) reads as the last
 * nanosecond of its minute. */
unsigned mla_time_parse(mla_time_parsed *out, const char *s, unsigned flags) MLA_MUST_USE;

#endif
