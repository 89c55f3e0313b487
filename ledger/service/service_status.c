/* service_status: the one table from mla_status to gRPC status codes
 * (STYLE.md). The gRPC message is the mla error message verbatim: it names
 * the field, so a person can act on it (SPEC §4). */
#include "service/service_int.h"

grpc_status_code mla_service__status_code(mla_status s)
{
    switch (s) {
    case MLA_OK: return GRPC_STATUS_OK;
    case MLA_EINVAL: return GRPC_STATUS_INVALID_ARGUMENT;
    case MLA_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
    case MLA_EEXISTS: return GRPC_STATUS_ALREADY_EXISTS;
    case MLA_EPOLICY: return GRPC_STATUS_FAILED_PRECONDITION;
    case MLA_EDENIED: return GRPC_STATUS_PERMISSION_DENIED;
    case MLA_ENOMEM: /* fallthrough */
    case MLA_ELIMIT: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case MLA_EIO: /* fallthrough: the operation had no effect */
    case MLA_ECORRUPT: return GRPC_STATUS_INTERNAL; /* writes stopped until a restart */
    case MLA_ESHUTDOWN: return GRPC_STATUS_UNAVAILABLE;
    }
    return GRPC_STATUS_UNKNOWN;
}

const char *mla_service__code_name(grpc_status_code code)
{
    switch (code) {
    case GRPC_STATUS_OK: return "OK";
    case GRPC_STATUS_CANCELLED: return "CANCELLED";
    case GRPC_STATUS_UNKNOWN: return "UNKNOWN";
    case GRPC_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case GRPC_STATUS_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case GRPC_STATUS_NOT_FOUND: return "NOT_FOUND";
    case GRPC_STATUS_ALREADY_EXISTS: return "ALREADY_EXISTS";
    case GRPC_STATUS_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case GRPC_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case GRPC_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case GRPC_STATUS_ABORTED: return "ABORTED";
    case GRPC_STATUS_OUT_OF_RANGE: return "OUT_OF_RANGE";
    case GRPC_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case GRPC_STATUS_INTERNAL: return "INTERNAL";
    case GRPC_STATUS_UNAVAILABLE: return "UNAVAILABLE";
    case GRPC_STATUS_DATA_LOSS: return "DATA_LOSS";
    case GRPC_STATUS_UNAUTHENTICATED: return "UNAUTHENTICATED";
    case GRPC_STATUS__DO_NOT_USE: break;
    }
    return "UNKNOWN";
}
