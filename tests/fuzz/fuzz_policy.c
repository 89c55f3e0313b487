/* fuzz_policy: arbitrary bytes as a policy file (mla_policy_parse). Must
 * never crash or leak; aborts when an invariant breaks: a refusal is
 * MLA_EINVAL naming "policy", an accepted policy keeps every list within
 * MLA_POLICY_LIST_MAX with unique, non-empty items, and parsing the same
 * bytes again gives the same answer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/policy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const mla_policy_list *l)
{
    if (l->n > MLA_POLICY_LIST_MAX) abort();
    for (size_t i = 0; i < l->n; i++) {
        if (!l->item[i] || !l->item[i][0]) abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->item[i], l->item[j]) == 0) abort();
    }
}

static void check_policy(const mla_policy *p)
{
    if (p->mode != MLA_POLICY_ENFORCE && p->mode != MLA_POLICY_AUDIT) abort();
    if (mla_policy_mode_of(p) != p->mode) abort();
    check_list(&p->stages);
    check_list(&p->inputs);
    check_list(&p->attributes);
    if (p->n_metrics > MLA_POLICY_LIST_MAX) abort();
    for (size_t i = 0; i < p->n_metrics; i++) {
        const mla_policy_metric *m = &p->metrics[i];
        if (!m->name || !m->name[0] || !isfinite(m->max_change) || m->max_change < 0) abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->name, p->metrics[j].name) == 0) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mla_slice in = mla_slice_make(data, size);
    mla_policy *p = NULL;
    mla_status rc = mla_policy_parse(&p, in);
    if (rc != MLA_OK) {
        if (rc != MLA_EINVAL || p != NULL) abort();
        if (strncmp(mla_error_last()->msg, "policy", 6) != 0) abort();
        /* Deterministic: the same bytes fail the same way. */
        char first[MLA_ERROR_MSG_MAX];
        memcpy(first, mla_error_last()->msg, sizeof first);
        if (mla_policy_parse(&p, in) != MLA_EINVAL) abort();
        if (strcmp(first, mla_error_last()->msg) != 0) abort();
        return 0;
    }
    check_policy(p);
    mla_policy *q = NULL;
    if (mla_policy_parse(&q, in) != MLA_OK) abort();
    if (q->mode != p->mode || q->n_metrics != p->n_metrics || q->stages.n != p->stages.n ||
        q->inputs.n != p->inputs.n || q->attributes.n != p->attributes.n)
        abort();
    mla_policy_free(q);
    mla_policy_free(p);
    return 0;
}
