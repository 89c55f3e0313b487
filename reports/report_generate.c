/* report_generate: the report's life cycle — gather the evidence from a
 * server against one pinned checkpoint, build the model, and hand it to a
 * renderer — and the names of kinds and formats. */
#include <string.h>

#include "reports/report_int.h"

static const char *const kind_names[] = {NULL, "lineage", "decision", "audit", "diff"};
static const char *const format_names[] = {NULL, "html", "md", "json", "prov"};

const char *mla_report_kind_name(mla_report_kind k)
{
    return k >= MLA_REPORT_LINEAGE && k <= MLA_REPORT_DIFF ? kind_names[k] : NULL;
}

mla_status mla_report_kind_parse(mla_report_kind *out, const char *name)
{
    for (int k = MLA_REPORT_LINEAGE; k <= MLA_REPORT_DIFF; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (mla_report_kind)k;
            return MLA_OK;
        }
    return mla_err(MLA_EINVAL, "kind: '%s' is not one of lineage, decision, audit, diff", name);
}

const char *mla_report_format_name(mla_report_format f)
{
    return f >= MLA_REPORT_HTML && f <= MLA_REPORT_PROV ? format_names[f] : NULL;
}

mla_status mla_report_format_parse(mla_report_format *out, const char *name)
{
    for (int f = MLA_REPORT_HTML; f <= MLA_REPORT_PROV; f++)
        if (strcmp(name, format_names[f]) == 0) {
            *out = (mla_report_format)f;
            return MLA_OK;
        }
    if (strcmp(name, "markdown") == 0) {
        *out = MLA_REPORT_MD;
        return MLA_OK;
    }
    return mla_err(MLA_EINVAL, "format: '%s' is not one of html, md, json, prov", name);
}

mla_status mla_report__build(mla_report *r)
{
    mla_report__model_clear(r);
    switch (r->kind) {
    case MLA_REPORT_LINEAGE: return mla_report__lineage_build(r);
    case MLA_REPORT_DECISION: return mla_report__decision_build(r);
    case MLA_REPORT_AUDIT: return mla_report__audit_build(r);
    case MLA_REPORT_DIFF: return mla_report__diff_build(r);
    }
    return mla_err(MLA_EINVAL, "kind: %d is not a report kind", (int)r->kind);
}

mla_status mla_report_generate(mla_report **out, mla_client *c, const mla_report_request *req)
{
    *out = NULL;
    if (!mla_report_kind_name(req->kind)) return mla_err(MLA_EINVAL, "kind: not a report kind");
    if (!req->log_key) return mla_err(MLA_EINVAL, "log_key: required");
    if (req->n_admin_keys > MLA_REPORT_ADMIN_MAX)
        return mla_err(MLA_ELIMIT, "admin_keys: %zu exceeds limit %d", req->n_admin_keys,
                       MLA_REPORT_ADMIN_MAX);
    mla_report *r;
    MLA_TRY(mla_report__new(&r, req->kind));
    mla_status rc;
    mla_buf note;
    mla_buf_init(&note, MLA_NOTE_MAX_BYTES);
    char now[MLA_REPORT_TIME_LEN];
    if (!req->generated_at) mla_report__time(now, mla_time_now_ns());
    r->generated_at = mla_report__strdup(req->generated_at ? req->generated_at : now);
    r->generator = mla_report__strdup("mlaudit " MLA_VERSION);
    if (!r->generated_at || !r->generator) {
        rc = mla_err(MLA_ENOMEM, "report: out of memory");
        goto out;
    }
    if (req->generated_at) {
        int64_t t;
        if ((rc = mla_report__time_parse(&t, req->generated_at, "generated_at")) != MLA_OK)
            goto out;
    }
    memcpy(r->ev.admin_keys, req->admin_keys, req->n_admin_keys * sizeof *req->admin_keys);
    r->ev.n_admin_keys = req->n_admin_keys;
    /* SPEC §3: a proof means something only against a verified checkpoint;
     * pin one and prove everything against its size. */
    mla_checkpoint cp;
    if ((rc = mla_client_checkpoint(c, &note, &cp)) != MLA_OK) goto out;
    if (cp.size == 0) {
        rc = mla_err(MLA_ENOTFOUND, "ledger: empty (nothing to report)");
        goto out;
    }
    if ((rc = mla_report__evidence_checkpoint(r, mla_buf_slice(&note), req->log_key)) != MLA_OK)
        goto out;
    if ((rc = mla_report__evidence_keys(r, c)) != MLA_OK) goto out;
    switch (req->kind) {
    case MLA_REPORT_LINEAGE: rc = mla_report__lineage_gather(r, c, req); break;
    case MLA_REPORT_DECISION: rc = mla_report__decision_gather(r, c, req); break;
    case MLA_REPORT_AUDIT: rc = mla_report__audit_gather(r, c, req); break;
    case MLA_REPORT_DIFF: rc = mla_report__diff_gather(r, c, req); break;
    }
    if (rc != MLA_OK) goto out;
    rc = mla_report__build(r);
out:
    mla_buf_dispose(&note);
    if (rc != MLA_OK)
        mla_report_free(r);
    else
        *out = r;
    return rc;
}

mla_status mla_report_render(const mla_report *r, mla_report_format f, FILE *out,
                             const mla_report_render_opts *opts)
{
    static const mla_report_render_opts none = {{NULL, 0}, {NULL, 0}};
    if (!opts) opts = &none;
    mla_status rc;
    switch (f) {
    case MLA_REPORT_HTML: rc = mla_report__html_write(r, out, opts); break;
    case MLA_REPORT_MD: rc = mla_report__markdown_write(r, out); break;
    case MLA_REPORT_JSON: rc = mla_report__json_write(r, out, false); break;
    case MLA_REPORT_PROV: rc = mla_report__prov_write(r, out); break;
    default: return mla_err(MLA_EINVAL, "format: %d is not a report format", (int)f);
    }
    if (rc == MLA_OK && (fflush(out) != 0 || ferror(out)))
        rc = mla_err(MLA_EIO, "report: writing failed");
    return rc;
}
