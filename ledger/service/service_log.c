/* service_log: the daemon's event log, one JSON object per line on stderr
 * ({"ts":..., "level":..., "event":..., ...}), so operators can feed it to
 * any log pipeline. gRPC's own log lines are routed here too. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <grpc/support/log.h>
#include <jansson.h>

#include "service/service_int.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void timestamp(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void emit(json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (!line) return;
    pthread_mutex_lock(&log_mu);
    fputs(line, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_mu);
    free(line); /* jansson's allocator is libc's */
}

void mla_service_log_event(const char *level, const char *event, const char *fields, ...)
{
    char ts[40];
    timestamp(ts, sizeof ts);
    json_t *obj = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level, "event", event);
    if (!obj) return;
    if (fields) {
        va_list ap;
        json_error_t err;
        va_start(ap, fields);
        json_t *rest = json_vpack_ex(&err, 0, fields, ap);
        va_end(ap);
        if (rest) {
            json_object_update(obj, rest);
            json_decref(rest);
        } else {
            /* A value that is not UTF-8 text, say: still log the event. */
            json_object_set_new(obj, "log_error", json_string(err.text));
        }
    }
    emit(obj);
    json_decref(obj);
}

static void grpc_log(gpr_log_func_args *a)
{
    const char *level = a->severity == GPR_LOG_SEVERITY_ERROR  ? "error"
                        : a->severity == GPR_LOG_SEVERITY_INFO ? "info"
                                                               : "debug";
    mla_service_log_event(level, "grpc", "{s:s, s:s, s:i}", "message", a->message, "file",
                          a->file ? a->file : "", "line", a->line);
}

void mla_service__log_capture_grpc(void) { gpr_set_log_function(grpc_log); }
