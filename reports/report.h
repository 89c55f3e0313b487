/* report: the documents auditors read (SPEC §7). One report model (tables of
 * facts, a lineage graph, plain-word statements) is built by a pure function
 * of the evidence it carries: entries with their inclusion proofs, a
 * contiguous range of entries proven by the hash chain and its last entry's
 * proof, a decision resolution, and the signed checkpoint they are proven
 * against. Renderers (HTML with an inline SVG graph, Markdown, JSON, W3C
 * PROV-JSON) are thin. `mla_report_verify_file` re-checks the evidence with
 * no server, rebuilds the model from it and compares it, fact by fact, with
 * what the report says; on HTML it also compares the rendered page.
 * Threads: a report is used by one thread at a time. */
#ifndef MLA_REPORT_H
#define MLA_REPORT_H

#include <stdio.h>

#include "base/base.h"
#include "client/client.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"
#include "note/note.h"

/* The "mlaudit_report" member of the JSON form; bump on incompatible change. */
#define MLA_REPORT_FORMAT_VERSION 1
/* A cell or statement taken from no single entry (derived, or a heading). */
#define MLA_REPORT_NO_SEQ UINT64_MAX
/* Most admin keys a report states as its trust root. */
#define MLA_REPORT_ADMIN_MAX 16
/* Most request parameters a report records. */
#define MLA_REPORT_PARAMS_MAX 12
/* Most rows a table lists before it says how many it left out (the
 * aggregate tables are complete; lists of individual changes are capped). */
#define MLA_REPORT_ROWS_MAX 2000
/* Most graph nodes drawn one by one; past it the picture groups nodes by
 * depth and artifact type (the tables still list every edge). */
#define MLA_REPORT_GRAPH_DRAW_MAX 300
/* Largest report file `verify` reads (a 1M-entry audit is ~0.7 GB). */
#define MLA_REPORT_FILE_MAX ((size_t)4 << 30)

typedef enum mla_report_kind {
    MLA_REPORT_LINEAGE = 1, /* an artifact: upstream graph, inputs, evaluations, approvals,
                               policy checklist, deployments */
    MLA_REPORT_DECISION = 2, /* which model made decision D / served target X at T */
    MLA_REPORT_AUDIT = 3, /* a period: changes by kind and actor, deployments, rollbacks,
                             violations, key events, redactions, integrity, gaps */
    MLA_REPORT_DIFF = 4, /* two versions side by side */
} mla_report_kind;

typedef enum mla_report_format {
    MLA_REPORT_HTML = 1, /* self-contained, printable; embeds the JSON form */
    MLA_REPORT_MD = 2,
    MLA_REPORT_JSON = 3, /* the verifiable form: model + evidence */
    MLA_REPORT_PROV = 4, /* W3C PROV-JSON */
} mla_report_format;

/** "lineage", "decision", "audit", "diff"; NULL for anything else. */
const char *mla_report_kind_name(mla_report_kind k);
mla_status mla_report_kind_parse(mla_report_kind *out, const char *name) MLA_MUST_USE;
/** "html", "md", "json", "prov". */
const char *mla_report_format_name(mla_report_format f);
mla_status mla_report_format_parse(mla_report_format *out, const char *name) MLA_MUST_USE;

/* ---- the model ------------------------------------------------------------ */

/** One fact as shown: its text, and the entry it is taken from
 * (MLA_REPORT_NO_SEQ when derived from several, e.g. a count or a delta). */
typedef struct mla_report_cell {
    char *text;
    uint64_t seq;
} mla_report_cell;

typedef struct mla_report_table {
    char *id; /* stable anchor: [a-z0-9-]+, unique in the report */
    char *title;
    char *intro; /* a sentence above the table, or NULL */
    char **cols; /* column headings */
    size_t n_cols;
    mla_report_cell *cells; /* n_rows * n_cols, row-major */
    size_t n_rows, cap_rows;
    char *note; /* below the table (e.g. "1,234 more rows left out"), or NULL */
} mla_report_table;

typedef struct mla_report_node {
    char *id; /* identity "type:name@version", or a group name when summarised */
    char *label; /* what the picture shows */
    char *type; /* artifact type (model, dataset, code, ...) */
    unsigned depth; /* 0 = the report's subject */
    uint64_t seq; /* the entry that recorded it as a subject, or MLA_REPORT_NO_SEQ */
    bool focus; /* the subject of the report */
} mla_report_node;

typedef struct mla_report_edge {
    size_t from, to; /* node indexes: from = input (upstream), to = built from it */
    char *role;
    uint64_t seq; /* the entry that recorded the edge */
} mla_report_edge;

typedef struct mla_report_graph {
    mla_report_node *nodes;
    size_t n_nodes, cap_nodes;
    mla_report_edge *edges;
    size_t n_edges, cap_edges;
    bool summarised; /* nodes are groups (see MLA_REPORT_GRAPH_DRAW_MAX) */
} mla_report_graph;

typedef struct mla_report_param {
    char *name, *value;
} mla_report_param;

/* ---- the evidence ------------------------------------------------------- */

/** A cited entry: verbatim bytes, its RFC 9162 inclusion proof in the tree of
 * the report's checkpoint, and its decoded form (owned). */
typedef struct mla_report_entry {
    uint64_t seq;
    mla_buf bytes;
    mla_hash leaf; /* SHA-256(0x00 || bytes) */
    mla_merkle_proof proof;
    mla_pb_entry *entry;
    mla_pb_change *change; /* NULL unless the payload type is a Change */
} mla_report_entry;

typedef struct mla_report_evidence {
    mla_buf checkpoint; /* the signed note everything is proven against */
    mla_checkpoint cp; /* parsed from checkpoint (extensions borrow it) */
    mla_note_verifier log_key; /* the key that signed it */
    mla_pubkey admin_keys[MLA_REPORT_ADMIN_MAX]; /* the trust root the report states */
    size_t n_admin_keys;
    mla_report_entry *entries; /* ascending seq, unique */
    size_t n_entries, cap_entries;
    /* A contiguous range [range_first, range_last] (audit reports), proven by
     * the hash chain (each entry's prev_hash is the leaf hash of the one
     * before) and range_proof, the inclusion proof of range_last. Its entries
     * are spooled (be32 length || bytes, in seq order) so a report over 1M
     * entries keeps memory bounded. */
    bool has_range;
    uint64_t range_first, range_last;
    mla_merkle_proof range_proof;
    FILE *range_spool;
    /* A decision resolution (decision reports): the ResolveDecisionResponse
     * wire form, and decoded (verified against log_key). */
    bool has_resolution;
    mla_buf resolution_wire;
    mla_client_resolution resolution;
} mla_report_evidence;

typedef struct mla_report {
    mla_report_kind kind;
    char *title;
    mla_report_param params[MLA_REPORT_PARAMS_MAX]; /* the request, normalised */
    size_t n_params;
    char *generated_at; /* RFC 3339 UTC */
    char *generator; /* "mlaudit <version>" */
    mla_report_cell *summary; /* plain-word statements, each citing an entry or not */
    size_t n_summary, cap_summary;
    mla_report_table *tables;
    size_t n_tables, cap_tables;
    mla_report_graph graph;
    mla_report_evidence ev;
    void *graph_index; /* private to report_model.c: nodes sorted by id */
} mla_report;

/* ---- generating ---------------------------------------------------------- */

typedef struct mla_report_request {
    mla_report_kind kind;
    const mla_note_verifier *log_key; /* the log's checkpoint key (the client's); required */
    const char *identity; /* lineage: the artifact; diff: version A ("type:name@version") */
    const char *identity_b; /* diff: version B */
    unsigned depth; /* lineage: upstream depth; 0 = MLA_INDEX_LINEAGE_DEPTH_MAX */
    const char *decision_id; /* decision: by id (target optional) ... */
    const char *target; /* ... or by target and at_ns */
    int64_t at_ns;
    int64_t from_ns, to_ns; /* audit: ledger-time period [from, to); 0 = unbounded */
    uint64_t from_seq, to_seq; /* audit: seq range [from, to); to 0 = the tree size */
    int64_t gap_ns; /* audit: list time gaps longer than this; 0 = 24 h */
    const mla_pubkey *admin_keys; /* the trust root to state (copied) */
    size_t n_admin_keys;
    const char *generated_at; /* RFC 3339; NULL = now */
    const char *spool_dir; /* where a range is spooled; NULL = $TMPDIR or /tmp */
} mla_report_request;

/** Gather the evidence for req from the server behind c (every entry proven
 * against one verified checkpoint, pinned at the start), and build the
 * model. MLA_EINVAL names a bad request field; MLA_ENOTFOUND names what the
 * ledger does not hold (an identity, a decision id); MLA_ECORRUPT when the
 * server's answer does not verify; client statuses otherwise. *out is NULL
 * on error. Free with mla_report_free. */
mla_status mla_report_generate(mla_report **out, mla_client *c,
                               const mla_report_request *req) MLA_MUST_USE;
/** Free a report and its evidence (closes the spool). NULL is a no-op. */
void mla_report_free(mla_report *r);

/* ---- rendering --------------------------------------------------------------- */

typedef struct mla_report_render_opts {
    /* HTML only, for verification: embed these bytes (already escaped for a
     * <script> element) instead of serialising the JSON form, and use this
     * SVG instead of laying out the graph. Empty = normal rendering. */
    mla_slice embed_json;
    mla_slice svg;
} mla_report_render_opts;

/** Write r in format f to out. Every string from the ledger is escaped for
 * the format. opts may be NULL. MLA_EIO if writing fails. */
mla_status mla_report_render(const mla_report *r, mla_report_format f, FILE *out,
                             const mla_report_render_opts *opts) MLA_MUST_USE;

/* ---- verifying (offline) ------------------------------------------------------ */

typedef struct mla_report_verify_opts {
    const mla_note_verifier *log_key; /* pinned; NULL = the key the report names */
    const mla_pubkey *admin_keys; /* pinned trust root; NULL = the report's */
    size_t n_admin_keys;
} mla_report_verify_opts;

typedef struct mla_report_verdict {
    bool ok;
    mla_report_kind kind;
    uint64_t tree_size;
    uint64_t n_entries; /* entries whose leaf hash and proof (or chain) verified */
    uint64_t n_signatures; /* envelope signatures verified against the registry */
    uint64_t n_facts; /* cells and statements compared with the rebuilt model */
    bool log_key_from_report; /* no pinned key: the report's own was used */
    bool admin_keys_from_report;
    bool signatures_checked; /* false when no trust root was known */
    char log_key[2 * MLA_NOTE_NAME_MAX + 128]; /* the verifier key used */
    char problem[MLA_ERROR_MSG_MAX]; /* when !ok: the failing fact or check */
} mla_report_verdict;

/** Verify the report at path (the JSON form, or HTML embedding it): the
 * checkpoint's signature, every entry's leaf hash and inclusion proof, the
 * range's hash chain, the decision resolution, every envelope signature
 * against the key registry replayed from the embedded KEY entries, and that
 * the model rebuilt from the evidence equals what the report shows (for
 * HTML, the page itself). Returns MLA_OK with out->ok telling the answer
 * and out->problem naming the first failing fact ("table 'Evaluations' row
 * 2 'auc' cites entry 12: the report says 0.95, the entry says 0.91");
 * MLA_EINVAL when the file is not a report (naming what is malformed);
 * MLA_EIO / MLA_ENOMEM otherwise. */
mla_status mla_report_verify_file(mla_report_verdict *out, const char *path,
                                  const mla_report_verify_opts *opts) MLA_MUST_USE;

#endif
