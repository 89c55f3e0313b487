/* index_entry: one stored entry, read through a reader's callback and
 * decoded, for every reader here and in policy/. Stored entries were
 * validated when appended, so one that no longer decodes is corrupt. */
#include <string.h>

#include "index/index.h"

mla_status mla_index_entry_load(const mla_index_reader *r, uint64_t seq, mla_buf *bytes,
                                bool with_change, mla_pb_entry **e_out, mla_pb_change **c_out)
{
    char why[MLA_ERROR_MSG_MAX];
    mla_pb_entry *e = NULL;
    mla_status rc;
    *e_out = NULL;
    *c_out = NULL;
    mla_buf_clear(bytes);
    MLA_TRY(r->read_entry(r->read_ctx, seq, bytes));
    if ((rc = mla_codec_entry_decode(&e, mla_buf_slice(bytes))) != MLA_OK) {
        if (rc == MLA_ENOMEM) return rc;
        memcpy(why, mla_error_last()->msg, sizeof why);
        return mla_err(MLA_ECORRUPT, "entry %llu: does not decode: %s", (unsigned long long)seq,
                       why);
    }
    if (e->seq != seq) {
        rc = mla_err(MLA_ECORRUPT, "entry %llu: says seq %llu", (unsigned long long)seq,
                     (unsigned long long)e->seq);
        goto out;
    }
    if (with_change && strcmp(e->envelope->payload_type, MLA_PAYLOAD_TYPE_CHANGE) == 0) {
        mla_slice p = mla_slice_make(e->envelope->payload.data, e->envelope->payload.len);
        if ((rc = mla_codec_change_decode(c_out, p)) != MLA_OK) {
            if (rc != MLA_ENOMEM) {
                memcpy(why, mla_error_last()->msg, sizeof why);
                rc = mla_err(MLA_ECORRUPT, "entry %llu: change does not decode: %s",
                             (unsigned long long)seq, why);
            }
            goto out;
        }
    }
    *e_out = e;
    return MLA_OK;
out:
    mla_codec_entry_free(e);
    return rc;
}
