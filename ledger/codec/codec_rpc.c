/* codec_rpc: the request and response messages of the gRPC service, packed
 * and unpacked with the same limits and unknown-field refusal as entries. */
#include "codec/codec_int.h"

mla_status mla_codec_rpc_decode(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
                                mla_slice in, const char *root)
{
    return mla_codec__message_unpack(out, d, in, MLA_LIMIT_RPC_BYTES, root);
}

mla_status mla_codec_rpc_encode(mla_buf *out, const ProtobufCMessage *m)
{
    return mla_codec__message_pack(out, m, MLA_LIMIT_RPC_BYTES, m->descriptor->short_name);
}

void mla_codec_rpc_free(ProtobufCMessage *m) { mla_codec__message_free(m); }
