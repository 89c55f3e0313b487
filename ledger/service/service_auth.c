/* service_auth: who is calling. The submitter identity recorded in entries
 * (SPEC §3) comes from the transport: the client certificate's subject CN
 * with mTLS, else the peer address marked as unauthenticated. Roles from the
 * mTLS identity (SPEC §6) will be decided here too. */
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "service/service_int.h"

static mla_status append_peer(mla_buf *out, grpc_call *call)
{
    char *peer = grpc_call_get_peer(call);
    mla_status rc = mla_buf_append_cstr(out, peer ? peer : "unknown");
    gpr_free(peer);
    return rc;
}

mla_status mla_service__identity(mla_buf *out, grpc_call *call, bool insecure)
{
    mla_buf_clear(out);
    if (insecure) {
        MLA_TRY(mla_buf_append_cstr(out, "insecure:"));
        return append_peer(out, call);
    }
    grpc_auth_context *ctx = grpc_call_auth_context(call);
    const grpc_auth_property *cn = NULL;
    if (ctx) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_CN_PROPERTY_NAME);
        cn = grpc_auth_property_iterator_next(&it);
    }
    mla_status rc;
    if (cn && cn->value_length > 0) {
        rc = mla_buf_append_cstr(out, "x509:");
        if (rc == MLA_OK) rc = mla_buf_append(out, cn->value, cn->value_length);
        if (rc == MLA_ELIMIT)
            rc = mla_err(MLA_EINVAL, "client certificate: subject CN over %d bytes",
                         MLA_LOG_SUBMITTER_MAX);
    } else {
        rc = mla_buf_append_cstr(out, "tls:");
        if (rc == MLA_OK) rc = append_peer(out, call);
    }
    grpc_auth_context_release(ctx);
    return rc;
}
