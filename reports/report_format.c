/* report_format: how a report prints values — times, numbers, deltas,
 * digests, identities, counts. One place, locale-free and deterministic, so
 * a report generated today and rebuilt by `mlaudit verify` years later
 * print every fact identically. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

void mla_report__time(char out[MLA_REPORT_TIME_LEN], int64_t ns) { mla_time_format(out, ns, true); }

mla_status mla_report__time_parse(int64_t *out, const char *s, const char *field)
{
    /* YYYY-MM-DDTHH:MM:SS[.fraction]Z */
    mla_time_parsed t;
    unsigned bad = mla_time_parse(&t, s, MLA_TIME_UTC);
    if (strlen(s) < 20 || (bad & (MLA_TIME_E_FORM | MLA_TIME_E_DATE | MLA_TIME_E_CLOCK)))
        return mla_err(MLA_EINVAL, "%s: '%s' is not an RFC 3339 UTC time (2026-11-23T10:00:00Z)",
                       field, s);
    if (bad & MLA_TIME_E_FRACTION)
        return mla_err(MLA_EINVAL, "%s: '%s': want 1 to 9 fraction digits", field, s);
    if (bad & (MLA_TIME_E_ZONE | MLA_TIME_E_END))
        return mla_err(MLA_EINVAL, "%s: '%s': want a UTC time ending in Z", field, s);
    /* int64 nanoseconds end in April 2262 (as ledger_time_ns does). */
    if (bad || t.ns < 0) return mla_err(MLA_EINVAL, "%s: '%s': outside 1970..2262", field, s);
    *out = t.ns;
    return MLA_OK;
}

void mla_report__num(char out[MLA_REPORT_NUM_LEN], double v)
{
    if (isnan(v)) {
        snprintf(out, MLA_REPORT_NUM_LEN, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, MLA_REPORT_NUM_LEN, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (v == 0) v = 0; /* -0 prints as 0 */
    /* Plain notation in the usual range (120, not 1.2e+02): the fewest
     * decimals that read back as the same double. */
    double a = fabs(v);
    if (a >= 1e-5 && a < 1e15)
        for (int dec = 0; dec <= 20; dec++) {
            snprintf(out, MLA_REPORT_NUM_LEN, "%.*f", dec, v);
            if (strtod(out, NULL) == v) return;
        }
    /* Elsewhere the shortest %g precision that reads back the same. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, MLA_REPORT_NUM_LEN, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

void mla_report__delta(char out[MLA_REPORT_NUM_LEN], double v)
{
    char num[MLA_REPORT_NUM_LEN];
    mla_report__num(num, v);
    size_t o = 0, n = strlen(num); /* %.17g is at most 24 bytes */
    if (v > 0 && isfinite(v)) out[o++] = '+';
    if (n > MLA_REPORT_NUM_LEN - 2) n = MLA_REPORT_NUM_LEN - 2;
    memcpy(out + o, num, n);
    out[o + n] = 0;
}

mla_status mla_report__digest(mla_buf *out, mla_slice digest)
{
    mla_buf_clear(out);
    if (digest.len) {
        MLA_TRY(mla_buf_append_cstr(out, "sha256:"));
        MLA_TRY(mla_hex_encode(out, digest));
    }
    /* keep a NUL after len so out->ptr is a C string */
    MLA_TRY(mla_buf_append_byte(out, 0));
    out->len--;
    return MLA_OK;
}

mla_status mla_report__identity(mla_buf *out, const mla_pb_artifact *a)
{
    mla_buf_clear(out);
    MLA_TRY(mla_codec_artifact_identity(out, a));
    MLA_TRY(mla_buf_append_byte(out, 0));
    out->len--;
    return MLA_OK;
}

void mla_report__count(char out[32], uint64_t n)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = 0;
}

void mla_report__percent(char out[MLA_REPORT_NUM_LEN + 1], double fraction)
{
    long long u = (long long)(fraction * 1e8 + 0.5); /* millionths of a percent */
    char frac[24] = "";
    long long f = u % 1000000;
    if (f) {
        int digits = 6;
        for (; f % 10 == 0; f /= 10) digits--; /* trailing zeros trimmed */
        snprintf(frac, sizeof frac, ".%0*lld", digits, f);
    }
    /* The return value is looked at so gcc -O0 does not warn: the widest
     * percentage (2^63 millionths) still fits. */
    if (snprintf(out, MLA_REPORT_NUM_LEN + 1, "%lld%s%%", u / 1000000, frac) < 0) out[0] = 0;
}
