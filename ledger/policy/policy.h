/* policy: what the ledger requires of a change beyond its shape, checked by
 * the sequencer at the point of the log where the change is recorded
 * (SPEC §6). Two layers:
 *  - per-kind rules that always hold (policy_kind.c): a DEPLOYMENT names a
 *    model already recorded, a ROLLBACK returns to a model deployed on that
 *    target before, an APPROVAL approves something recorded, an EVALUATION
 *    evaluates a recorded model. Refused with MLA_EPOLICY naming the field.
 *  - the compliance policy from a file (policy_file.c, policy_rules.c), in
 *    `enforce` mode (refuse with MLA_EPOLICY listing every unmet rule) or
 *    `audit` mode (record the entry with its violations, which the index keeps
 *    and reports show).
 * The file (INI, see deploy/policy.example.ini):
 *   [policy]
 *   mode = enforce                 ; or audit
 *   production_stages = production ; stages the deployment rules apply to
 *   require_inputs = training-data, code, config, environment
 *   require_evaluation = true      ; an EVALUATION of the model
 *   require_approval = true        ; an APPROVAL signed by a key that did not sign the MODEL
 *   require_reason = true
 *   require_attributes = random_seed, library_versions   ; on the MODEL change
 *   [regression]                   ; per metric: which way is better, largest allowed drop
 *   accuracy = higher 0.02         ; may fall at most 0.02 below the version it replaces
 *   latency_p99_ms = lower 5       ; may rise at most 5
 * Depends on index (and codec, store). Threads: a loaded policy is immutable;
 * check from any thread. */
#ifndef MLA_POLICY_H
#define MLA_POLICY_H

#include "base/base.h"
#include "codec/codec.h"
#include "index/index.h"

typedef enum mla_policy_mode {
    MLA_POLICY_ENFORCE = 0,
    MLA_POLICY_AUDIT = 1,
} mla_policy_mode;

#define MLA_POLICY_FILE_MAX (64u << 10)
#define MLA_POLICY_LIST_MAX 32 /* most required inputs, attributes, stages, metrics */

typedef struct mla_policy mla_policy;

/** Parse a policy file's text. MLA_EINVAL naming "policy:<line>: <key>" and
 * the problem (unknown section or key, bad mode, bad number, unknown role,
 * duplicate metric, over a limit). */
mla_status mla_policy_parse(mla_policy **out, mla_slice text) MLA_MUST_USE;
/** Read and parse a file (MLA_EIO naming the path). */
mla_status mla_policy_load(mla_policy **out, const char *path) MLA_MUST_USE;
void mla_policy_free(mla_policy *p);
mla_policy_mode mla_policy_mode_of(const mla_policy *p);

/** A change about to be recorded at seq. */
typedef struct mla_policy_candidate {
    uint64_t seq;
    int64_t ledger_time_ns;
    const mla_pb_change *change;
} mla_policy_candidate;

/** The always-on per-kind rules. MLA_EPOLICY naming the field and what is
 * missing ("change.subject: model:fraud@3 was never recorded by a MODEL
 * entry; record the model before deploying it"). */
mla_status mla_policy_kind_check(const mla_index_reader *r,
                                 const mla_policy_candidate *c) MLA_MUST_USE;

/** The configured rules (p may be NULL: no rules). Appends one line per
 * unmet rule to violations (empty when all hold) and returns MLA_OK; other
 * statuses are read failures. The caller refuses (enforce) or records the
 * violations (audit). Lines read like
 * "production deployment of model:fraud@3: no APPROVAL by a key other than
 *  the model's signer (seq 12)". */
mla_status mla_policy_check(const mla_policy *p, const mla_index_reader *r,
                            const mla_policy_candidate *c, mla_buf *violations) MLA_MUST_USE;

#endif
