/* report_format: how a report prints values — times, numbers, deltas,
 * digests, identities, counts. One place, locale-free and deterministic, so
 * a report generated today and rebuilt by `mlaudit verify` years later
 * print every fact identically. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/report_int.h"

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms):
 * no timegm/gmtime_r dependence on the C library's time zone state. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void mla_report__time(char out[MLA_REPORT_TIME_LEN], int64_t ns)
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    int n = snprintf(out, MLA_REPORT_TIME_LEN, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, mo,
                     d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    if (frac) {
        char f[16];
        snprintf(f, sizeof f, ".%09lld", (long long)frac);
        size_t len = strlen(f);
        while (len > 1 && f[len - 1] == '0') f[--len] = 0;
        snprintf(out + n, (size_t)(MLA_REPORT_TIME_LEN - n), "%sZ", f);
    } else {
        snprintf(out + n, (size_t)(MLA_REPORT_TIME_LEN - n), "Z");
    }
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

mla_status mla_report__time_parse(int64_t *out, const char *s, const char *field)
{
    /* YYYY-MM-DDTHH:MM:SS[.fraction]Z */
    unsigned y, mo, d, h, mi, se;
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) || mo < 1 ||
        mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return mla_err(MLA_EINVAL, "%s: '%s' is not an RFC 3339 UTC time (2026-11-23T10:00:00Z)",
                       field, s);
    size_t i = 19;
    int64_t frac = 0;
    if (s[i] == '.') {
        size_t nd = 0;
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 9) frac = frac * 10 + (s[i] - '0');
        if (nd == 0 || nd > 9)
            return mla_err(MLA_EINVAL, "%s: '%s': want 1 to 9 fraction digits", field, s);
        for (; nd < 9; nd++) frac *= 10;
    }
    if ((s[i] != 'Z' && s[i] != 'z') || s[i + 1] != 0)
        return mla_err(MLA_EINVAL, "%s: '%s': want a UTC time ending in Z", field, s);
    /* int64 nanoseconds end in April 2262 (as ledger_time_ns does). */
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se, ns;
    if (y < 1970 || __builtin_mul_overflow(secs, (int64_t)1000000000, &ns) ||
        __builtin_add_overflow(ns, frac, &ns))
        return mla_err(MLA_EINVAL, "%s: '%s': outside 1970..2262", field, s);
    *out = ns;
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
