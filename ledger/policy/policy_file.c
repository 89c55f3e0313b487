/* policy_file: the compliance policy file (INI, deploy/policy.example.ini)
 * read through libinih into an immutable mla_policy. Strict: an unknown
 * section, key or role, a bad value or a limit is refused naming the line
 * and the key ("policy:7: accuracy: duplicate metric (first at line 6)"). */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

/* Keys of [policy]. Lists accumulate: a list key may be repeated, and an
 * indented line continues it (inih hands continuation lines to the handler
 * under the previous key), so a long list can span several lines. */
typedef enum key_id {
    K_MODE,
    K_STAGES,
    K_INPUTS,
    K_EVALUATION,
    K_APPROVAL,
    K_REASON,
    K_ATTRIBUTES,
    N_KEYS
} key_id;

static const char *const key_names[N_KEYS] = {
    "mode",
    "production_stages",
    "require_inputs",
    "require_evaluation",
    "require_approval",
    "require_reason",
    "require_attributes",
};

typedef struct parse_ctx {
    mla_policy *p;
    mla_slice text;
    size_t off; /* next byte the reader hands to inih */
    unsigned line; /* lines handed to inih so far: the one being parsed */
    bool indented; /* the line being parsed starts with a space or tab */
    unsigned key_line[N_KEYS]; /* where each key was first given (0 = not yet) */
    unsigned metric_line[MLA_POLICY_LIST_MAX];
    mla_status rc; /* the first error, at err_line, message in msg */
    unsigned err_line;
    char msg[MLA_ERROR_MSG_MAX];
} parse_ctx;

/* Keep the first error only: inih goes on after a handler failure, and the
 * reader stops it at the next line. */
static void fail(parse_ctx *x, mla_status rc)
{
    if (x->rc != MLA_OK) return;
    x->rc = rc;
    x->err_line = x->line;
    snprintf(x->msg, sizeof x->msg, "%s", mla_error_last()->msg);
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* ---- the reader: one line per call, so x->line is exact ---------------------- */

static bool section_known(mla_slice name)
{
    return mla_slice_eq(name, mla_slice_cstr("policy")) ||
           mla_slice_eq(name, mla_slice_cstr("regression"));
}

/* A section header names a known section. Checked here because inih calls
 * the handler only for keys: an unknown empty section would pass unseen. */
static mla_status header_check(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (is_space(s[i]) || s[i] == '\r' || s[i] == '\n')) i++;
    if (i == n || s[i] != '[') return MLA_OK;
    if (i > 0)
        return mla_err(MLA_EINVAL, "[: indented section header (start it at the line start)");
    const char *end = memchr(s + 1, ']', n - 1);
    if (!end) return MLA_OK; /* inih reports the malformed line */
    mla_slice name = mla_slice_make(s + 1, (size_t)(end - s - 1));
    if (!section_known(name))
        return mla_err(MLA_EINVAL, "[%.*s]: unknown section (known: [policy], [regression])",
                       (int)(name.len > 64 ? 64 : name.len), (const char *)name.ptr);
    return MLA_OK;
}

static char *read_line(char *str, int num, void *stream)
{
    parse_ctx *x = stream;
    if (x->rc != MLA_OK || x->off >= x->text.len || num < 2) return NULL;
    const char *start = (const char *)x->text.ptr + x->off;
    size_t left = x->text.len - x->off;
    const char *nl = memchr(start, '\n', left);
    size_t n = nl ? (size_t)(nl - start) + 1 : left;
    x->line++;
    x->off += n;
    x->indented = is_space(start[0]);
    /* inih's line buffer is fixed (ini_max_line): a longer line would be
     * split and its tail parsed as a line of its own. */
    if (n > (size_t)num - 1) {
        fail(x,
             mla_err(
                 MLA_EINVAL,
                 "line: %zu bytes exceeds the limit of %d (split a long list over several lines)",
                 n, num - 1));
        return NULL;
    }
    mla_status rc = header_check(start, n);
    if (rc != MLA_OK) {
        fail(x, rc);
        return NULL;
    }
    memcpy(str, start, n);
    str[n] = '\0';
    return str;
}

/* ---- values ------------------------------------------------------------------ */

static mla_status text_item_check(const char *key, const char *s, size_t n, size_t max)
{
    if (n > max) return mla_err(MLA_EINVAL, "%s: item of %zu bytes exceeds limit %zu", key, n, max);
    if (!mla_utf8_valid(mla_slice_make(s, n)))
        return mla_err(MLA_EINVAL, "%s: item \"%.*s\" is not valid UTF-8", key,
                       (int)(n > 64 ? 64 : n), s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return mla_err(MLA_EINVAL, "%s: control character 0x%02x in an item", key, c);
    }
    return MLA_OK;
}

static mla_status list_item_check(key_id k, const char *s, size_t n)
{
    const char *key = key_names[k];
    if (k == K_INPUTS) {
        MLA_TRY(text_item_check(key, s, n, MLA_LIMIT_NAME));
        /* SPEC §3: input roles are a documented vocabulary; "x-" marks a
         * custom one (the codec's rule for change.inputs[].role). */
        mla_slice role = mla_slice_make(s, n);
        if (!mla_codec_role_known(role) && !(n > 2 && memcmp(s, "x-", 2) == 0))
            return mla_err(MLA_EINVAL, "%s: \"%.*s\" is not a known input role (nor x-custom)", key,
                           (int)(n > 64 ? 64 : n), s);
        return MLA_OK;
    }
    return text_item_check(key, s, n, k == K_ATTRIBUTES ? MLA_LIMIT_ATTRIBUTE_KEY : MLA_LIMIT_NAME);
}

static mla_status list_add(mla_policy_list *l, key_id k, const char *s, size_t n)
{
    const char *key = key_names[k];
    MLA_TRY(list_item_check(k, s, n));
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->item[i]) == n && memcmp(l->item[i], s, n) == 0)
            return mla_err(MLA_EINVAL, "%s: duplicate item \"%.*s\"", key, (int)(n > 64 ? 64 : n),
                           s);
    if (l->n == MLA_POLICY_LIST_MAX)
        return mla_err(MLA_EINVAL, "%s: more than %d items", key, MLA_POLICY_LIST_MAX);
    char *copy = mla_strndup(s, n);
    if (!copy) return mla_err(MLA_ENOMEM, "%s: out of memory", key);
    l->item[l->n++] = copy;
    return MLA_OK;
}

static void list_clear(mla_policy_list *l)
{
    for (size_t i = 0; i < l->n; i++) mla_free(l->item[i]);
    l->n = 0;
}

/* Comma-separated; spaces around items are dropped, and so are empty items
 * (a trailing comma before a continuation line). */
static mla_status list_parse(mla_policy_list *l, key_id k, const char *v)
{
    for (const char *p = v; *p;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *s = p;
        while (s < e && is_space(*s)) s++;
        const char *t = e;
        while (t > s && is_space(t[-1])) t--;
        if (t > s) MLA_TRY(list_add(l, k, s, (size_t)(t - s)));
        p = comma ? comma + 1 : e;
    }
    return MLA_OK;
}

static mla_status bool_parse(bool *out, const char *key, const char *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = true, MLA_OK;
        if (strcasecmp(v, no[i]) == 0) return *out = false, MLA_OK;
    }
    return mla_err(MLA_EINVAL, "%s: \"%.64s\" is not true or false", key, v);
}

/* "higher 0.02" or "lower 5": the direction in which the metric is better,
 * and the largest allowed move the other way. */
static mla_status regression_parse(mla_policy_metric *m, const char *key, const char *v)
{
    const char *sp = v;
    while (*sp && !is_space(*sp)) sp++;
    size_t wl = (size_t)(sp - v);
    if (wl == 6 && memcmp(v, "higher", 6) == 0)
        m->higher_is_better = true;
    else if (wl == 5 && memcmp(v, "lower", 5) == 0)
        m->higher_is_better = false;
    else
        return mla_err(MLA_EINVAL, "%s: \"%.64s\" is not \"higher N\" or \"lower N\"", key, v);
    while (is_space(*sp)) sp++;
    if (!*sp)
        return mla_err(MLA_EINVAL, "%s: \"%.64s\" has no allowed change after the direction", key,
                       v);
    char *end = NULL;
    errno = 0;
    double x = strtod(sp, &end);
    /* strtod must consume every byte (inih strips trailing space), and the
     * result must be a finite, non-negative amount. */
    if (end == sp || *end != '\0' || errno == ERANGE)
        return mla_err(MLA_EINVAL, "%s: \"%.64s\" is not a number", key, sp);
    if (!isfinite(x) || x < 0)
        return mla_err(MLA_EINVAL, "%s: %.64s is not a finite number >= 0", key, sp);
    m->max_change = x;
    return MLA_OK;
}

/* ---- the handler ------------------------------------------------------------- */

static mla_status twice(const parse_ctx *x, const char *key, unsigned first, bool metric)
{
    /* inih passes an indented line after a key as more of that key's value. */
    if (x->indented)
        return mla_err(
            MLA_EINVAL,
            "%.64s: indented line continues the value of line %u; start each key at the line start",
            key, first);
    if (metric)
        return mla_err(MLA_EINVAL, "%.64s: duplicate metric (first at line %u)", key, first);
    return mla_err(MLA_EINVAL, "%.64s: given twice (first at line %u)", key, first);
}

static mla_status policy_key(parse_ctx *x, const char *name, const char *v)
{
    mla_policy *p = x->p;
    size_t k = 0;
    while (k < N_KEYS && strcmp(key_names[k], name) != 0) k++;
    if (k == N_KEYS)
        return mla_err(
            MLA_EINVAL,
            "%.64s: unknown key in [policy] (known: mode, production_stages, require_inputs, "
            "require_evaluation, require_approval, require_reason, require_attributes)",
            name);
    bool first = x->key_line[k] == 0;
    if (first) x->key_line[k] = x->line;
    switch ((key_id)k) {
    case K_STAGES:
        if (first) list_clear(&p->stages); /* replaces the default */
        return list_parse(&p->stages, K_STAGES, v);
    case K_INPUTS: return list_parse(&p->inputs, K_INPUTS, v);
    case K_ATTRIBUTES: return list_parse(&p->attributes, K_ATTRIBUTES, v);
    default: break;
    }
    if (!first) return twice(x, name, x->key_line[k], false);
    switch ((key_id)k) {
    case K_MODE:
        if (strcmp(v, "enforce") == 0)
            p->mode = MLA_POLICY_ENFORCE;
        else if (strcmp(v, "audit") == 0)
            p->mode = MLA_POLICY_AUDIT;
        else
            return mla_err(MLA_EINVAL, "mode: \"%.64s\" is not enforce or audit", v);
        return MLA_OK;
    case K_EVALUATION: return bool_parse(&p->require_evaluation, name, v);
    case K_APPROVAL: return bool_parse(&p->require_approval, name, v);
    case K_REASON: return bool_parse(&p->require_reason, name, v);
    default: return mla_err(MLA_EINVAL, "%s: unhandled key", name);
    }
}

static mla_status regression_key(parse_ctx *x, const char *name, const char *v)
{
    mla_policy *p = x->p;
    size_t n = strlen(name);
    if (n == 0) return mla_err(MLA_EINVAL, "\"\": a metric needs a name before '='");
    MLA_TRY(text_item_check(name, name, n, MLA_LIMIT_ATTRIBUTE_KEY));
    for (size_t i = 0; i < p->n_metrics; i++)
        if (strcmp(p->metrics[i].name, name) == 0) return twice(x, name, x->metric_line[i], true);
    if (p->n_metrics == MLA_POLICY_LIST_MAX)
        return mla_err(MLA_EINVAL, "%.64s: more than %d metrics in [regression]", name,
                       MLA_POLICY_LIST_MAX);
    mla_policy_metric m = {0};
    MLA_TRY(regression_parse(&m, name, v));
    if (!(m.name = mla_strndup(name, n))) return mla_err(MLA_ENOMEM, "%.64s: out of memory", name);
    x->metric_line[p->n_metrics] = x->line;
    p->metrics[p->n_metrics++] = m;
    return MLA_OK;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *x = user;
    if (x->rc != MLA_OK) return 0;
    mla_status rc;
    if (strcmp(section, "policy") == 0)
        rc = policy_key(x, name, value);
    else if (strcmp(section, "regression") == 0)
        rc = regression_key(x, name, value);
    else if (section[0] == '\0')
        rc = mla_err(MLA_EINVAL, "%.64s: outside a section (start with [policy])", name);
    else
        rc = mla_err(MLA_EINVAL, "[%.64s]: unknown section", section);
    if (rc == MLA_OK) return 1;
    fail(x, rc);
    return 0;
}

/* ---- the policy -------------------------------------------------------------- */

void mla_policy_free(mla_policy *p)
{
    if (!p) return;
    list_clear(&p->stages);
    list_clear(&p->inputs);
    list_clear(&p->attributes);
    for (size_t i = 0; i < p->n_metrics; i++) mla_free(p->metrics[i].name);
    mla_free(p);
}

mla_policy_mode mla_policy_mode_of(const mla_policy *p) { return p ? p->mode : MLA_POLICY_ENFORCE; }

mla_status mla_policy_parse(mla_policy **out, mla_slice text)
{
    *out = NULL;
    if (text.len > MLA_POLICY_FILE_MAX)
        return mla_err(MLA_EINVAL, "policy: %zu bytes exceeds limit %u", text.len,
                       MLA_POLICY_FILE_MAX);
    const uint8_t *nul = text.len ? memchr(text.ptr, 0, text.len) : NULL;
    if (nul) {
        unsigned line = 1;
        for (const uint8_t *q = text.ptr; q < nul; q++) line += *q == '\n';
        return mla_err(MLA_EINVAL, "policy:%u: line: NUL byte", line);
    }
    mla_policy *p = mla_calloc(1, sizeof *p);
    if (!p) return mla_err(MLA_ENOMEM, "policy: out of memory");
    p->mode = MLA_POLICY_ENFORCE;
    mla_status rc = MLA_OK;
    /* production_stages defaults to the one stage its name promises. */
    if ((rc = list_add(&p->stages, K_STAGES, "production", 10)) != MLA_OK) goto out;

    parse_ctx x;
    memset(&x, 0, sizeof x);
    x.p = p;
    x.text = text;
    int line = ini_parse_stream(read_line, &x, on_key, &x);
    if (line == -2) {
        rc = mla_err(MLA_ENOMEM, "policy: out of memory");
    } else if (line > 0 && (x.rc == MLA_OK || (unsigned)line < x.err_line)) {
        /* inih's own complaint: a line that is neither a section, a key nor a
         * comment, or a section header without ']'. */
        rc = mla_err(MLA_EINVAL, "policy:%d: line: not \"key = value\", \"[section]\" or a comment",
                     line);
    } else if (x.rc != MLA_OK) {
        rc = mla_err(x.rc, "policy:%u: %s", x.err_line, x.msg);
    }
out:
    if (rc != MLA_OK) {
        mla_policy_free(p);
        return rc;
    }
    *out = p;
    return MLA_OK;
}

mla_status mla_policy_load(mla_policy **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mla_err(MLA_EIO, "policy: cannot open %s: %s", path, strerror(errno));
    mla_buf text;
    mla_buf_init(&text, MLA_POLICY_FILE_MAX);
    mla_status rc = MLA_OK;
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((rc = mla_buf_append(&text, chunk, n)) != MLA_OK) {
            if (rc == MLA_ELIMIT)
                rc = mla_err(MLA_EINVAL, "policy: %s exceeds limit of %u bytes", path,
                             MLA_POLICY_FILE_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = mla_err(MLA_EIO, "policy: cannot read %s", path);
        goto out;
    }
    rc = mla_policy_parse(out, mla_buf_slice(&text));
out:
    fclose(f);
    mla_buf_dispose(&text);
    return rc;
}
