/* report_int.h: private to reports/. The pieces each file provides, and the
 * contracts between them:
 *
 *  - report_model.c    allocation of tables, rows, statements, graph, params;
 *                      the array growth and error re-statement all files share
 *  - report_format.c   value formatting shared by every builder (times,
 *                      numbers, digests, identities) so generation and
 *                      verification print a value identically
 *  - report_evidence.c the evidence set: add/find entries, fetch them with
 *                      proofs from a server, the range spool
 *  - report_check.c    cryptographic checks of evidence (checkpoint, proofs,
 *                      chain, resolution, signatures through the registry)
 *  - report_json.c     the JSON form (write, streaming; read back)
 *  - report_verify.c   mla_report_verify_file: check, rebuild, compare
 *  - report_<kind>.c   per kind: gather (online, fills evidence and params)
 *                      and build (offline, a pure function of params and
 *                      evidence that fills the model)
 *  - report_html.c report_svg.c report_markdown.c report_prov.c   renderers
 *
 * Determinism is the contract that makes verification work: build() reads
 * only r->kind, r->params, r->generated_at, r->generator and r->ev, and
 * produces the same model byte for byte every time (no clock, no locale, no
 * hash-table order, no pointer values). Numbers and times go through
 * report_format.c.
 *
 * JSON form (report_json.c writes and reads it; members in this order):
 *   { "mlaudit_report": 1, "kind": "lineage", "title": "...",
 *     "generated_at": "...", "generator": "mlaudit 0.1.0",
 *     "params": { name: value, ... }                   (strings, in model order)
 *     "log": { "verifier_key": "name+hash+base64", "checkpoint": "<note>",
 *              "tree_size": N, "root": "<hex>", "admin_keys": ["<hex>", ...] },
 *     "summary": [ {"text": "...", "seq": 12}, ... ]   (seq absent = derived)
 *     "tables": [ {"id", "title", "intro"?, "columns": [...],
 *                  "rows": [[ {"text", "seq"?}, ... ], ...], "note"? } ],
 *     "graph": { "summarised": false, "nodes": [ {"id","label","type","depth",
 *                "seq"?, "focus"} ], "edges": [ {"from": i, "to": j, "role", "seq"} ] },
 *     "evidence": {
 *        "entries": [ {"seq": 12, "leaf_hash": "<hex>", "entry": "<base64>",
 *                      "inclusion": ["<hex>", ...]} ],
 *        "range": {"first": a, "last": b, "inclusion": [...],
 *                  "entries": ["<base64>", ...]}                      (optional)
 *        "resolution": "<base64 ResolveDecisionResponse>"              (optional)
 *     } }
 * Hashes are lowercase hex; the inclusion arrays are RFC 9162 audit paths
 * against log.tree_size, so other tools can check them.
 *
 * HTML form (report_html.c; report_verify.c relies on it):
 *   - the JSON form is embedded verbatim in
 *     <script type="application/json" id="mlaudit-report">...</script>
 *     with every '<', '>' and '&' written as \u003c \u003e \u0026;
 *   - the SVG picture sits between the exact markers "<!--mlaudit:svg-->" and
 *     "<!--/mlaudit:svg-->";
 *   - every cell citing an entry is <a class="fact" id="f-<table id>-<row>-<col>"
 *     href="#e-<seq>">text</a>; statements are id="s-<n>"; each embedded entry
 *     is listed in an appendix row id="e-<seq>";
 *   - no external resource: inline CSS, no scripts that run, and a
 *     Content-Security-Policy meta tag of default-src 'none'.
 */
#ifndef MLA_REPORT_INT_H
#define MLA_REPORT_INT_H

#include "reports/report.h"

/* ---- report_model.c ------------------------------------------------------- */

/** A string copy owned by the model (mla_free); NULL on ENOMEM. */
char *mla_report__strdup(const char *s);
/** Make room in *arr (cap items of elem bytes) for item n: doubles (from
 * 8) when full. MLA_ENOMEM. */
mla_status mla_report__grow(void **arr, size_t *cap, size_t n, size_t elem) MLA_MUST_USE;
/** Re-state the last error as "prefix: <its message>" with status rc
 * (MLA_ENOMEM passes through unchanged); returns rc. */
mla_status mla_report__restate(mla_status rc, const char *prefix) MLA_MUST_USE;
/** Set (or replace) request parameter name. MLA_ELIMIT past
 * MLA_REPORT_PARAMS_MAX. */
mla_status mla_report__param_set(mla_report *r, const char *name, const char *value) MLA_MUST_USE;
/** The value of parameter name, or NULL. */
const char *mla_report__param(const mla_report *r, const char *name);
/** Add a plain-word statement (printf format), citing seq or MLA_REPORT_NO_SEQ. */
mla_status mla_report__say(mla_report *r, uint64_t seq, const char *fmt, ...) MLA_MUST_USE
    MLA_PRINTF(3, 4);
/** Add a table with columns cols[0..n_cols); *out is borrowed from r until
 * the next table is added. id: [a-z0-9-]+. */
mla_status mla_report__table_add(mla_report_table **out, mla_report *r, const char *id,
                                 const char *title, const char *const *cols,
                                 size_t n_cols) MLA_MUST_USE;
/** Set a table's intro or note (printf format). */
mla_status mla_report__table_intro(mla_report_table *t, const char *fmt, ...) MLA_MUST_USE
    MLA_PRINTF(2, 3);
mla_status mla_report__table_note(mla_report_table *t, const char *fmt, ...) MLA_MUST_USE
    MLA_PRINTF(2, 3);
/** Append a row: texts[i] and seqs[i] for each column (texts copied; a
 * NULL text is ""). */
mla_status mla_report__row_add(mla_report_table *t, const char *const *texts,
                               const uint64_t *seqs) MLA_MUST_USE;
/** Find or add node id; *index_out its index. label/type copied. */
mla_status mla_report__node_add(mla_report *r, const char *id, const char *label, const char *type,
                                unsigned depth, uint64_t seq, bool focus,
                                size_t *index_out) MLA_MUST_USE;
mla_status mla_report__edge_add(mla_report *r, size_t from, size_t to, const char *role,
                                uint64_t seq) MLA_MUST_USE;
/** An empty report of kind (title NULL until set). */
mla_status mla_report__new(mla_report **out, mla_report_kind kind) MLA_MUST_USE;
/** Drop everything build() produces (summary, tables, graph, title), keeping
 * kind, params, generated_at, generator and evidence: verify rebuilds. */
void mla_report__model_clear(mla_report *r);

/* ---- report_format.c ----------------------------------------------------- */

#define MLA_REPORT_TIME_LEN 40
/** RFC 3339 UTC with nanoseconds trimmed of trailing zeros:
 * "2026-11-23T10:00:00.25Z", "2026-11-23T10:00:00Z". */
void mla_report__time(char out[MLA_REPORT_TIME_LEN], int64_t ns);
/** Parse the same (and "YYYY-MM-DDTHH:MM:SSZ"); MLA_EINVAL naming field. */
mla_status mla_report__time_parse(int64_t *out, const char *s, const char *field) MLA_MUST_USE;
#define MLA_REPORT_NUM_LEN 32
/** The shortest decimal that reads back as the same double ("0.91", "1e-07"). */
void mla_report__num(char out[MLA_REPORT_NUM_LEN], double v);
/** A signed delta, shortest form with an explicit sign ("+0.02", "-0.013", "0"). */
void mla_report__delta(char out[MLA_REPORT_NUM_LEN], double v);
/** "sha256:<hex>" of a digest, or "" when empty. */
mla_status mla_report__digest(mla_buf *out, mla_slice digest) MLA_MUST_USE;
/** "type:name@version" of an artifact into out (replacing its contents; a
 * NUL is kept after len so out->ptr is a C string). */
mla_status mla_report__identity(mla_buf *out, const mla_pb_artifact *a) MLA_MUST_USE;
/** Thousands separators: 1234567 -> "1,234,567". */
void mla_report__count(char out[32], uint64_t n);
/** A traffic share as a percentage in fixed notation, rounded to a
 * millionth of a percent: 0.07 -> "7%", 0.125 -> "12.5%". */
void mla_report__percent(char out[MLA_REPORT_NUM_LEN + 1], double fraction);

/* ---- report_evidence.c --------------------------------------------------- */

/** Set the checkpoint (a signed note) all evidence is proven against:
 * verified with log_key (copied) and parsed. MLA_ECORRUPT if it does not
 * verify. */
mla_status mla_report__evidence_checkpoint(mla_report *r, mla_slice note,
                                           const mla_note_verifier *log_key) MLA_MUST_USE;
/** Add entry seq (verbatim bytes, proof against r->ev.cp): decoded and kept
 * in seq order. Adding a seq already present is a no-op if the bytes are
 * equal, MLA_EINVAL otherwise. Does not verify the proof (report_check.c). */
mla_status mla_report__evidence_add(mla_report *r, uint64_t seq, mla_slice bytes,
                                    const mla_merkle_proof *proof) MLA_MUST_USE;
/** The cited entry seq, or NULL. Binary search. */
const mla_report_entry *mla_report__entry(const mla_report *r, uint64_t seq);
/** Fetch entries seqs[0..n) with inclusion proofs in r->ev.cp.size from the
 * server, verify each proof, and add them (skipping ones present). */
mla_status mla_report__evidence_fetch(mla_report *r, mla_client *c, const uint64_t *seqs,
                                      size_t n) MLA_MUST_USE;
/** Fetch every KEY entry below the checkpoint's size (the registry a
 * verifier replays to check signatures). */
mla_status mla_report__evidence_keys(mla_report *r, mla_client *c) MLA_MUST_USE;
/** Stream entries [first, last] from the server into the range spool (in
 * spool_dir or $TMPDIR), checking the hash chain as they come, then fetch
 * and check the inclusion proof of last. fn (may be NULL) sees each entry
 * as it is spooled (decoded; change NULL for other payload types). */
typedef mla_status (*mla_report_range_fn)(void *ctx, uint64_t seq, mla_slice bytes,
                                          const mla_pb_entry *e, const mla_pb_change *c);
mla_status mla_report__range_fetch(mla_report *r, mla_client *c, uint64_t first, uint64_t last,
                                   const char *spool_dir, mla_report_range_fn fn,
                                   void *ctx) MLA_MUST_USE;
/** An anonymous temporary file, "w+b", in dir (NULL or "": $TMPDIR, else
 * /tmp), unlinked at once so it is gone when closed. Errors name field:
 * MLA_EINVAL (dir too long), MLA_EIO. */
mla_status mla_report__spool_open(FILE **out, const char *dir, const char *field) MLA_MUST_USE;
/** Start an empty spool (verify: the JSON reader appends the range's entries). */
mla_status mla_report__range_open(mla_report *r, const char *spool_dir) MLA_MUST_USE;
mla_status mla_report__range_append(mla_report *r, mla_slice bytes) MLA_MUST_USE;
/** Replay the spooled range in seq order through fn (decoding each entry). */
mla_status mla_report__range_each(const mla_report *r, mla_report_range_fn fn,
                                  void *ctx) MLA_MUST_USE;
/** For a range that is the whole log: whether the Merkle root of its leaves
 * (fr, appended in seq order) is the checkpoint's. MLA_ECORRUPT if not. */
mla_status mla_report__range_root_check(const mla_merkle_frontier *fr,
                                        const mla_checkpoint *cp) MLA_MUST_USE;
/** Keep a resolution (ResolveDecisionResponse bytes): decoded and verified
 * with r->ev.log_key (mla_client_resolution_decode). */
mla_status mla_report__evidence_resolution(mla_report *r, mla_slice wire) MLA_MUST_USE;
void mla_report__evidence_dispose(mla_report_evidence *ev);
/** The log's verifier-key string "name+hash+base64" into out, which this
 * initialises (mla_buf_dispose it, also on failure); a NUL follows len, so
 * out->ptr is a C string. */
mla_status mla_report__verifier_key(mla_buf *out, const mla_report *r) MLA_MUST_USE;

/* ---- report_check.c ------------------------------------------------------- */

typedef struct mla_report_check_result {
    uint64_t n_entries, n_signatures;
    bool signatures_checked;
} mla_report_check_result;

/** Check all evidence: each entry's leaf hash and inclusion proof against
 * the checkpoint; the range's chain and last proof (and, when the range
 * starts at 0 and ends at size-1, that its Merkle root is the checkpoint's);
 * the resolution; and, when admin keys are known, every envelope signature
 * against the registry replayed from the KEY entries in evidence (a
 * DECISION_BATCH may also be signed by the log key or a serving key named
 * by a DEPLOYMENT in evidence). MLA_ECORRUPT naming the entry and the check
 * that failed ("entry 12: inclusion proof does not lead to the root of
 * checkpoint size 40"). */
mla_status mla_report__check(mla_report_check_result *out, const mla_report *r,
                             const mla_pubkey *admin_keys, size_t n_admin_keys) MLA_MUST_USE;

/* ---- report_json.c -------------------------------------------------------- */

/** Write the JSON form. escape_markup: write '<' '>' '&' as \uXXXX (for
 * embedding in HTML). Streams the range spool. */
mla_status mla_report__json_write(const mla_report *r, FILE *out, bool escape_markup) MLA_MUST_USE;
/** Read a JSON form: kind, title, params, generated_at, generator, log
 * (checkpoint verified with log_key, or with the report's verifier_key when
 * log_key is NULL) and evidence into a new report (the model left empty);
 * *stated_out gets the parsed document (json_t *, for comparing the model;
 * json_decref it). MLA_EINVAL naming the malformed member. */
mla_status mla_report__json_read(mla_report **out, void **stated_out, mla_slice json,
                                 const mla_note_verifier *log_key,
                                 const char *spool_dir) MLA_MUST_USE;

/* ---- per kind (report_lineage.c, report_decision.c, report_audit.c,
 * report_diff.c) ------------------------------------------------------------- */

/** Online: check the request, record it as params (normalised, e.g. the
 * audit's resolved seq range), and gather the evidence (the checkpoint is
 * already set and KEY entries fetched). */
mla_status mla_report__lineage_gather(mla_report *r, mla_client *c,
                                      const mla_report_request *req) MLA_MUST_USE;
mla_status mla_report__decision_gather(mla_report *r, mla_client *c,
                                       const mla_report_request *req) MLA_MUST_USE;
mla_status mla_report__audit_gather(mla_report *r, mla_client *c,
                                    const mla_report_request *req) MLA_MUST_USE;
mla_status mla_report__diff_gather(mla_report *r, mla_client *c,
                                   const mla_report_request *req) MLA_MUST_USE;
/** Offline and deterministic: fill the model from params and evidence.
 * A fact the evidence cannot back is an error, not a blank:
 * MLA_ECORRUPT naming it ("the subject model:x@2 has no entry in the
 * evidence"). */
mla_status mla_report__lineage_build(mla_report *r) MLA_MUST_USE;
mla_status mla_report__decision_build(mla_report *r) MLA_MUST_USE;
mla_status mla_report__audit_build(mla_report *r) MLA_MUST_USE;
mla_status mla_report__diff_build(mla_report *r) MLA_MUST_USE;
/** Dispatch on r->kind. */
mla_status mla_report__build(mla_report *r) MLA_MUST_USE;

/* ---- renderers -------------------------------------------------------------- */

mla_status mla_report__html_write(const mla_report *r, FILE *out,
                                  const mla_report_render_opts *opts) MLA_MUST_USE;
/** Lay out r->graph with Graphviz (dot; neato-free) into an SVG document
 * appended to out (no XML prolog, no DOCTYPE: ready to inline). Labels are
 * escaped by Graphviz's SVG writer. */
mla_status mla_report__svg(mla_buf *out, const mla_report *r) MLA_MUST_USE;
mla_status mla_report__markdown_write(const mla_report *r, FILE *out) MLA_MUST_USE;
mla_status mla_report__prov_write(const mla_report *r, FILE *out) MLA_MUST_USE;

/** The paragraph on regulation each kind ends with (SPEC §8: SR 26-2,
 * formerly SR 11-7; EU AI Act by article, no dates). Static text. */
const char *mla_report__regulatory_text(mla_report_kind k);

/* ---- shared between kinds (report_lineage.c, report_checklist.c) ---------- */

/** Online: put the entries behind identity's upstream edges (GetLineage to
 * depth) and identity's own subject entries into evidence. */
mla_status mla_report__upstream_gather(mla_report *r, mla_client *c, const char *identity,
                                       unsigned depth) MLA_MUST_USE;
/** Offline: the upstream graph of identity from the entries in evidence
 * (breadth first over each subject entry's inputs, to depth): fills
 * r->graph (summarised past MLA_REPORT_GRAPH_DRAW_MAX nodes) and a table
 * "upstream" (input, role, artifact, depth; each citing its entry). */
mla_status mla_report__upstream_build(mla_report *r, const char *identity,
                                      unsigned depth) MLA_MUST_USE;
/** Online: put into evidence what the production checklist of model
 * identity needs (its entry, EVALUATIONs of it, APPROVALs of it). */
mla_status mla_report__checklist_gather(mla_report *r, mla_client *c,
                                        const char *identity) MLA_MUST_USE;
/** The same for the models identities[0..n), with one pass over the
 * APPROVAL entries for all of them. */
mla_status mla_report__checklists_gather(mla_report *r, mla_client *c,
                                         const char *const *identities, size_t n) MLA_MUST_USE;
/** Offline: the SPEC §6 production checklist of model identity from
 * evidence: one row per requirement (requirement, "met" / "missing", the
 * entry that meets it) appended to t, which has 3 columns;
 * *n_missing_out counts the unmet ones. */
mla_status mla_report__checklist(const mla_report *r, const char *identity, mla_report_table *t,
                                 size_t *n_missing_out) MLA_MUST_USE;

/* ---- report_lineage.c: evidence helpers shared by the lineage, diff and
 * checklist builders (any builder may use them) ----------------------------- */

/** Whether a's identity is "type:name@version" identity (no allocation). */
bool mla_report__artifact_is(const mla_pb_artifact *a, const char *identity);
/** Whether changes of kind k record an artifact as their subject (MODEL,
 * DATASET, CODE, CONFIG, ENVIRONMENT, EVALUATION, DOCUMENT, IMPORT). */
bool mla_report__kind_records(mla_kind k);
/** The latest entry in evidence whose change has subject identity and kind
 * `kind` (0: any kind that records artifacts); NULL if none. Linear. */
const mla_report_entry *mla_report__subject_entry(const mla_report *r, const char *identity,
                                                  mla_kind kind);
/** Whether c is an EVALUATION with an evaluated-model input identity. */
bool mla_report__evaluates(const mla_pb_change *c, const char *identity);
/** Whether c is an APPROVAL of identity as the daemon's index reads it:
 * its approval names the artifact, or approves a seq (approved_seq > 0, or
 * no artifact named) whose entry in evidence has identity as its subject. */
bool mla_report__approves(const mla_report *r, const mla_pb_change *c, const char *identity);
/** The value of attribute key in c, or NULL. */
const char *mla_report__attribute(const mla_pb_change *c, const char *key);
/** The value of metric key in c into *out; false if c has none. */
bool mla_report__metric(const mla_pb_change *c, const char *key, double *out);
/** to - from, rounded to 15 significant digits of the larger operand, so a
 * delta shows no binary noise (0.912 - 0.908 is 0.004, not
 * 0.0040000000000000036). Print it with mla_report__delta. */
double mla_report__difference(double to, double from);

/** Whether a gathered entry goes into evidence (e and c decoded; c NULL for
 * another payload type). */
typedef bool (*mla_report_keep_fn)(void *ctx, uint64_t seq, const mla_pb_entry *e,
                                   const mla_pb_change *c);
/** Online: run q over every page and fetch into evidence, with proofs, the
 * entries below the report's checkpoint that keep accepts (NULL: all;
 * redacted entries are offered to no keep function). */
mla_status mla_report__query_fetch(mla_report *r, mla_client *c, const mla_client_query *q,
                                   mla_report_keep_fn keep, void *ctx) MLA_MUST_USE;
/** Online: the same for the entries behind identity's downstream edges at
 * depth 1 (none when the ledger does not know identity). */
mla_status mla_report__downstream_fetch(mla_report *r, mla_client *c, const char *identity,
                                        mla_report_keep_fn keep, void *ctx) MLA_MUST_USE;
/** Online: fetch the entries whose subject is identity: all of them, or
 * with latest_only just the latest one of a kind that records artifacts.
 * *n_records_out (may be NULL) counts those of such a kind (0: identity is
 * not recorded). MLA_EINVAL naming field when identity is not
 * type:name@version. */
mla_status mla_report__subject_fetch(mla_report *r, mla_client *c, const char *identity,
                                     const char *field, bool latest_only,
                                     size_t *n_records_out) MLA_MUST_USE;

/** A set of borrowed strings (map keys), printed in a stable order. */
typedef struct mla_report_keys {
    const char **v;
    size_t n, cap;
} mla_report_keys;
mla_status mla_report__keys_add(mla_report_keys *k, const char *key) MLA_MUST_USE;
/** Sort (strcmp) and drop duplicates. */
void mla_report__keys_sort(mla_report_keys *k);
void mla_report__keys_dispose(mla_report_keys *k);
/** The entry's envelope keyids, joined with ", ", into out (a C string). */
mla_status mla_report__keyids(mla_buf *out, const mla_pb_entry *e) MLA_MUST_USE;
/** mla_report__checklist as the policy judged a deployment at seq before:
 * only entries below it count (UINT64_MAX: all of the evidence). */
mla_status mla_report__checklist_at(const mla_report *r, const char *identity, uint64_t before,
                                    mla_report_table *t, size_t *n_missing_out) MLA_MUST_USE;
/** A keep function: EVALUATIONs of the identity ctx points to (a C string). */
bool mla_report__keep_evaluation(void *ctx, uint64_t seq, const mla_pb_entry *e,
                                 const mla_pb_change *c);

/* ---- added by core (report_evidence.c, report_json.c) for report_json.c
 * and report_verify.c ---------------------------------------------------------- */

/** Each spooled range entry's verbatim bytes, in seq order, undecoded (the
 * JSON writer streams them). */
typedef mla_status (*mla_report_raw_fn)(void *ctx, uint64_t seq, mla_slice bytes);
mla_status mla_report__range_each_raw(const mla_report *r, mla_report_raw_fn fn,
                                      void *ctx) MLA_MUST_USE;
/** The model part of the JSON form (title, generated_at, generator, params,
 * summary, tables, graph, in that order) as a new json_t object into *out
 * (json_decref it): the writer prints it, the verifier compares it with the
 * report's. MLA_EINVAL naming the member if a string is not UTF-8. */
mla_status mla_report__model_json(void **out, const mla_report *r) MLA_MUST_USE;

#endif
