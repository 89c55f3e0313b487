/* base_error: the thread-local error context behind mla_err() and the names of
 * status codes. Fixed storage, so an out-of-memory error can still be told. */
#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local mla_error last_error;

mla_status mla_error_set(mla_status code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    last_error.code = code;
    last_error.file = file;
    last_error.line = line;
    va_start(ap, fmt);
    /* Truncation is acceptable: messages are one line and bounded. */
    int n = vsnprintf(last_error.msg, sizeof last_error.msg, fmt, ap);
    va_end(ap);
    if (n < 0) last_error.msg[0] = '\0';
    return code;
}

const mla_error *mla_error_last(void) { return &last_error; }

void mla_error_clear(void)
{
    last_error.code = MLA_OK;
    last_error.file = NULL;
    last_error.line = 0;
    last_error.msg[0] = '\0';
}

const char *mla_status_name(mla_status s)
{
    switch (s) {
    case MLA_OK: return "OK";
    case MLA_EINVAL: return "EINVAL";
    case MLA_ENOTFOUND: return "ENOTFOUND";
    case MLA_EEXISTS: return "EEXISTS";
    case MLA_EPOLICY: return "EPOLICY";
    case MLA_EDENIED: return "EDENIED";
    case MLA_ENOMEM: return "ENOMEM";
    case MLA_ELIMIT: return "ELIMIT";
    case MLA_EIO: return "EIO";
    case MLA_ECORRUPT: return "ECORRUPT";
    case MLA_ESHUTDOWN: return "ESHUTDOWN";
    }
    return "EUNKNOWN";
}

void mla_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"event\":\"assert\",\"expr\":\"%s\",\"at\":\"%s:%d\"}\n",
            expr, file, line);
    abort();
}
