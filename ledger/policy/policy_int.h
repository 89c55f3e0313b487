/* policy_int: private to ledger/policy: the parsed policy (policy_file.c
 * builds it, policy_rules.c reads it) and the index lookups the per-kind and
 * configured rules share (policy_kind.c). */
#ifndef MLA_POLICY_INT_H
#define MLA_POLICY_INT_H

#include "policy/policy.h"

typedef struct mla_policy_list {
    char *item[MLA_POLICY_LIST_MAX];
    size_t n;
} mla_policy_list;

/* A [regression] line: "higher X" (higher is better; may fall at most X)
 * or "lower X" (lower is better; may rise at most X). */
typedef struct mla_policy_metric {
    char *name;
    bool higher_is_better;
    double max_change;
} mla_policy_metric;

struct mla_policy {
    mla_policy_mode mode;
    mla_policy_list stages; /* deployments to these stages are checked */
    mla_policy_list inputs; /* roles the MODEL entry must have among its inputs */
    mla_policy_list attributes; /* keys the MODEL change must have */
    bool require_evaluation, require_approval, require_reason;
    mla_policy_metric metrics[MLA_POLICY_LIST_MAX];
    size_t n_metrics;
};

/** The latest 'I' 's' record of identity below seq `before` whose kind byte
 * is `kind` (0 = any kind): *found_out says whether there is one, *seq_out
 * its seq. Errors are read failures (MLA_ECORRUPT for a malformed record). */
mla_status mla_policy__subject_latest(const mla_index_reader *r, mla_slice identity, mla_kind kind,
                                      uint64_t before, bool *found_out,
                                      uint64_t *seq_out) MLA_MUST_USE;

/** Read entry seq and decode it and its Change: *entry_out and *change_out
 * are owned by the caller (mla_codec_entry_free, mla_codec_change_free).
 * MLA_ECORRUPT if the entry is not entry seq or carries no Change. */
mla_status mla_policy__change_read(const mla_index_reader *r, uint64_t seq,
                                   mla_pb_entry **entry_out,
                                   mla_pb_change **change_out) MLA_MUST_USE;

#endif
