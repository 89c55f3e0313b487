/* service_health: grpc.health.v1.Health/Check, so load balancers and
 * orchestrators can probe the daemon. The two messages are tiny and encoded
 * by hand (grpc/health/v1/health.proto):
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  SERVING = 1
 * "" (the whole server) and "mlaudit.v1.Ledger" are known services; others
 * are NOT_FOUND, as the health protocol says. */
#include <string.h>

#include "service/service_int.h"

#define HEALTH_SERVICE_MAX 256

/* Read a varint of at most 10 bytes. */
static mla_status varint(mla_reader *r, uint64_t *out, const char *field)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        MLA_TRY(mla_reader_u8(r, &b, field));
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return MLA_OK;
        }
    }
    return mla_err(MLA_EINVAL, "%s: varint longer than 10 bytes", field);
}

/* The service name of a HealthCheckRequest; other fields are refused, as
 * the codec refuses unknown fields. */
static mla_status parse_request(mla_slice *service, mla_slice in)
{
    mla_reader r;
    mla_reader_init(&r, in);
    *service = mla_slice_make("", 0);
    while (mla_reader_left(&r) > 0) {
        uint64_t key, len;
        MLA_TRY(varint(&r, &key, "HealthCheckRequest"));
        if (key != ((1u << 3) | 2)) /* field 1, length-delimited */
            return mla_err(MLA_EINVAL, "HealthCheckRequest: unexpected field key %llu",
                           (unsigned long long)key);
        MLA_TRY(varint(&r, &len, "HealthCheckRequest.service"));
        if (len > HEALTH_SERVICE_MAX)
            return mla_err(MLA_EINVAL, "HealthCheckRequest.service: %llu bytes exceeds limit %d",
                           (unsigned long long)len, HEALTH_SERVICE_MAX);
        MLA_TRY(mla_reader_bytes(&r, service, (size_t)len, "HealthCheckRequest.service"));
    }
    return MLA_OK;
}

void mla_service__health_check(mla_service_call *c, mla_slice request)
{
    mla_slice service;
    mla_status rc = parse_request(&service, request);
    if (rc == MLA_OK && service.len > 0 &&
        !mla_slice_eq(service, mla_slice_cstr("mlaudit.v1.Ledger")))
        rc = mla_err(MLA_ENOTFOUND, "HealthCheckRequest.service: unknown service \"%.*s\"",
                     (int)service.len, (const char *)service.ptr);
    if (rc != MLA_OK) {
        mla_service__fail(c, rc);
        return;
    }
    static const uint8_t serving[] = {0x08, 0x01}; /* status = SERVING */
    mla_service__reply_raw(c, mla_slice_make(serving, sizeof serving));
}
