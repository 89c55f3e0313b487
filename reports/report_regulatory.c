/* report_regulatory: the paragraph on regulation each report kind ends with
 * (SPEC §8). Static, plain text: the Federal Reserve's SR 26-2 (formerly
 * SR 11-7) and the EU AI Act by article, without dates; every renderer
 * escapes it like any other string. */
#include "reports/report_int.h"

/* Said once per kind, at the end: the report is evidence, not an opinion. */
#define NOT_ADVICE                                                                                 \
    " This report is evidence drawn from a tamper-evident ledger that supports these "             \
    "obligations; it is not a legal opinion and does not by itself establish compliance."

static const char lineage_text[] =
    "Model risk management guidance of the US Federal Reserve, SR 26-2 (formerly SR 11-7), expects "
    "a model's development, data, testing and approval to be documented well enough for others to "
    "understand and challenge it; this report lists, with proof, the inputs, evaluations and "
    "approvals recorded for this artifact. Under the EU AI Act it can support the technical "
    "documentation of a high-risk AI system (Article 11 and Annex IV: data, design, testing and "
    "changes through the lifecycle), the records of the quality management system (Article 17) and "
    "record-keeping (Article 12); documentation is to be kept for ten years (Article 18), and the "
    "ledger keeps the hash of every entry cited here for as long as it exists." NOT_ADVICE;

static const char decision_text[] =
    "SR 26-2 (formerly SR 11-7) expects models in use to be monitored and their outcomes traceable "
    "to the model version that produced them; this report ties one decision to the model deployed "
    "on its target at that moment, with proof. The EU AI Act requires high-risk AI systems to "
    "allow the automatic recording of events (logs) over their lifetime (Article 12), and "
    "providers "
    "and deployers to keep those logs for at least six months (Article 19 and Article 26(6)); a "
    "decision receipt and the deployment timeline behind it are such records. They show which "
    "model was live and that the decision was recorded; they do not show that the decision was "
    "correct or lawful." NOT_ADVICE;

static const char audit_text[] =
    "SR 26-2 (formerly SR 11-7) expects model changes to be governed: documented, validated, "
    "approved and controlled; this report lists every change of the period by kind and actor, with "
    "deployments, rollbacks, policy violations, key events and redactions, and the result of "
    "verifying the whole period against a signed checkpoint. Under the EU AI Act, these are the "
    "automatically recorded logs of Article 12, which providers and deployers keep for at least "
    "six "
    "months (Article 19 and Article 26(6)), and records of the quality management system's change "
    "management (Article 17); documentation is kept for ten years (Article 18). Redacted entries "
    "keep their leaf hashes, so every proof still verifies." NOT_ADVICE;

static const char diff_text[] =
    "SR 26-2 (formerly SR 11-7) expects material changes to a model to be documented and validated "
    "before use; this report sets two versions side by side (parameters, data, code, environment "
    "and metrics), each fact proven by its entry. Under the EU AI Act it can support the technical "
    "documentation of changes made to a high-risk AI system through its lifecycle (Article 11 and "
    "Annex IV) and the change management of its quality management system (Article 17); "
    "documentation is to be kept for ten years (Article 18)." NOT_ADVICE;

const char *mla_report__regulatory_text(mla_report_kind k)
{
    switch (k) {
    case MLA_REPORT_LINEAGE: return lineage_text;
    case MLA_REPORT_DECISION: return decision_text;
    case MLA_REPORT_AUDIT: return audit_text;
    case MLA_REPORT_DIFF: return diff_text;
    }
    return "This report is evidence drawn from a tamper-evident ledger; it is not a legal opinion.";
}
