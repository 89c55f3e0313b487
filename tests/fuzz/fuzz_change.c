/* fuzz_change: mla_codec_change_decode on arbitrary bytes. Must never crash or
 * leak; on success the message must re-encode to bytes that decode again and
 * re-encode to themselves (abort otherwise). */
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mla_pb_change *m = NULL, *again = NULL;
    if (mla_codec_change_decode(&m, mla_slice_make(data, size)) != MLA_OK) {
        if (m) abort(); /* a failed decode hands back nothing */
        return 0;
    }
    mla_buf y, z;
    mla_buf_init(&y, 1u << 20);
    mla_buf_init(&z, 1u << 20);
    if (mla_codec_change_encode(&y, m) != MLA_OK) abort(); /* a decoded message is valid */
    if (mla_codec_change_decode(&again, mla_buf_slice(&y)) != MLA_OK) abort();
    if (mla_codec_change_encode(&z, again) != MLA_OK) abort();
    if (!mla_slice_eq(mla_buf_slice(&y), mla_buf_slice(&z))) abort();
    mla_codec_change_free(again);
    mla_codec_change_free(m);
    mla_buf_dispose(&y);
    mla_buf_dispose(&z);
    return 0;
}
