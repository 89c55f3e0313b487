/* base_time: wall and monotonic clocks in nanoseconds, and RFC 3339 times
 * read and written without libc's time zone state (one civil-date
 * conversion for the CLI and the reports). */
#include "base/base.h"

#include <stdio.h>
#include <time.h>

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    MLA_ASSERT(clock_gettime(id, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mla_time_now_ns(void) { return read_clock(CLOCK_REALTIME); }

int64_t mla_time_mono_ns(void) { return read_clock(CLOCK_MONOTONIC); }

/* H. Hinnant's days_from_civil and civil_from_days (proleptic Gregorian). */
int64_t mla_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void mla_time_civil_from_days(int64_t *y_out, unsigned *m_out, unsigned *d_out, int64_t days)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d_out = doy - (153 * mp + 2) / 5 + 1;
    *m_out = mp < 10 ? mp + 3 : mp - 9;
    *y_out = (int64_t)yoe + era * 400 + (*m_out <= 2);
}

void mla_time_format(char out[MLA_TIME_TEXT_LEN], int64_t ns, bool trim)
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
    mla_time_civil_from_days(&y, &mo, &d, days);
    int n = snprintf(out, MLA_TIME_TEXT_LEN, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, mo, d,
                     (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    MLA_ASSERT(n == 19);
    int digits = 9;
    if (trim)
        for (; digits > 0 && frac % 10 == 0; digits--) frac /= 10;
    /* frac < 10^9 fits the buffer; the result is looked at so gcc -O0 (the
     * ASan build) does not warn about a truncation that cannot happen. */
    int m = digits ? snprintf(out + n, MLA_TIME_TEXT_LEN - (size_t)n, ".%0*lldZ", digits,
                              (long long)frac)
                   : snprintf(out + n, MLA_TIME_TEXT_LEN - (size_t)n, "Z");
    MLA_ASSERT(m > 0 && (size_t)m < MLA_TIME_TEXT_LEN - (size_t)n);
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

unsigned mla_time_parse(mla_time_parsed *out, const char *s, unsigned flags)
{
    /* RFC 3339 §5.6: full-date "T" partial-time time-offset; its notes allow
     * "t" and "z", and a space for "T". Each test reads one byte further
     * only after the one before passed, so a short string stops at its NUL. */
    unsigned y, mo, d, h, mi, sec, oh = 0, om = 0, faults = 0;
    out->ns = 0;
    out->year = 0;
    out->rest = s;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && !(s[10] == ' ' && (flags & MLA_TIME_SPACE))) ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return MLA_TIME_E_FORM;
    out->year = y;
    const char *p = s + 19;
    int64_t frac_ns = 0;
    if (*p == '.') {
        size_t n = 0;
        for (p++; p[n] >= '0' && p[n] <= '9'; n++)
            if (n < 9) frac_ns = frac_ns * 10 + (p[n] - '0');
        if (n == 0 || n > 9) faults |= MLA_TIME_E_FRACTION;
        for (size_t k = n; k < 9; k++) frac_ns *= 10;
        p += n;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (!(flags & MLA_TIME_UTC) && (*p == '+' || *p == '-') && digits(p + 1, 2, &oh) &&
               p[3] == ':' && digits(p + 4, 2, &om)) {
        sign = *p == '+' ? 1 : -1;
        p += 6;
    } else {
        faults |= MLA_TIME_E_ZONE;
    }
    out->rest = p;
    if (!(faults & MLA_TIME_E_ZONE) && *p) faults |= MLA_TIME_E_END;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        faults |= MLA_TIME_E_DATE;
    if (h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59) faults |= MLA_TIME_E_CLOCK;
    if (faults) return faults;
    /* A leap second (:60) reads as the last nanosecond of its minute. */
    int64_t secs = mla_time_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
                   (int64_t)mi * 60 + (sec == 60 ? 59 : sec) -
                   sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    if (sec == 60) frac_ns = 999999999;
    if (__builtin_mul_overflow(secs, (int64_t)1000000000, &out->ns) ||
        __builtin_add_overflow(out->ns, frac_ns, &out->ns))
        return MLA_TIME_E_RANGE;
    return 0;
}
