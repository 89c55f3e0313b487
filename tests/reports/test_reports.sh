#!/usr/bin/env bash
# End-to-end tests of `mlaudit report` and `mlaudit verify REPORT` (issue 6,
# SPEC §7) on the deterministic ledger fixed_ledger writes, served by a real
# mlauditd on 127.0.0.1 (port 0, --insecure) in a temporary directory: every
# kind x format compared with tests/reports/golden (UPDATE_GOLDEN=1 rewrites
# them), verify on every JSON and HTML, tampering (an edited fact in the JSON
# and in the visible HTML, a removed entry, swapped proofs, a stale
# checkpoint) refused, PROV-JSON checked against the W3C schema, each HTML
# opened in headless chromium (SVG drawn, nothing fetched), escaping of
# markup, quotes and non-ASCII, and the flag refusals of `mlaudit report`.
# Usage: test_reports.sh MLAUDIT MLAUDITD FIXED_LEDGER
set -uo pipefail

M=$(readlink -f "${1:?MLAUDIT: path of the mlaudit binary}")
DAEMON=$(readlink -f "${2:?MLAUDITD: path of the mlauditd binary}")
FIXED=$(readlink -f "${3:?FIXED_LEDGER: path of the fixed_ledger binary}")
HERE=$(cd "$(dirname "$0")" && pwd)
GOLDEN=$HERE/golden
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$HERE/../lib.sh"
lib_setup reports
START=$(date +%s%N)

cd "$T" || exit 1

# ---- the fixed ledger: byte-identical on every run -------------------------------------------
"$FIXED" "$T/fx" >"$T/fx.leaves" 2>"$T/fx.err" || { cat "$T/fx.err" >&2; exit 1; }
"$FIXED" "$T/fx2" >"$T/fx2.leaves" 2>&1 || { cat "$T/fx2.leaves" >&2; exit 1; }
if cmp -s "$T/fx.leaves" "$T/fx2.leaves"; then pass; else
    failed "fixed_ledger: two runs give different entries or checkpoints"
    diff "$T/fx.leaves" "$T/fx2.leaves" | head >&2
fi
rm -rf "$T/fx2"
FX=$T/fx
SIZE=$(grep -c '^leaf ' "$T/fx.leaves")
# The offline audit accepts it too: batches signed by a serving key that a
# later DEPLOYMENT names again (the index keeps each naming).
run 0 "mlaudit audit of the fixed ledger" "$M" audit "$FX/data" --admin-key "$FX/admin.pub" \
    --log-key "@$FX/log.vkey"

daemon_start daemon --data-dir "$FX/data" --admin-key "$FX/admin.pub"
export MLAUDIT_SERVER
MLAUDIT_SERVER=$(cat "$T/daemon.port")
export MLAUDIT_INSECURE=1 MLAUDIT_LOG_KEY="@$FX/log.vkey" XDG_CONFIG_HOME="$T/config"
# 2026-03-10T00:00:00Z: the generation time every golden file states.
export SOURCE_DATE_EPOCH=1773100800

# ---- every kind x format against the golden files ------------------------------------------
KINDS="lineage decision audit diff"
FORMATS="html md json prov"
args_of() {
    case $1 in
    lineage) echo "lineage model:fraud-detector@2" ;;
    decision) echo "decision --id tx-20260305-0102" ;;
    audit) echo "audit --gap 86400" ;;
    diff) echo "diff model:fraud-detector@1 model:fraud-detector@2" ;;
    esac
}
mkdir -p "$T/r"
for k in $KINDS; do
    for f in $FORMATS; do
        # shellcheck disable=SC2046
        run 0 "report $k as $f" "$M" report $(args_of "$k") --admin-key "$FX/admin.pub" \
            -o "$T/r/$k.$f"
        has "$T/out" "$T/r/$k.$f" "report $k $f prints the path"
        has "$T/out" "$k report ($f):" "report $k $f prints a summary"
        has "$T/out" "checkpoint size $SIZE" "report $k $f names the checkpoint"
        [ -e "$T/r/$k.$f.tmp" ] && failed "report $k $f left $k.$f.tmp behind" || pass
    done
done
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    mkdir -p "$GOLDEN"
    for k in $KINDS; do for f in $FORMATS; do cp "$T/r/$k.$f" "$GOLDEN/$k.$f"; done; done
    echo "golden files rewritten in $GOLDEN" >&2
fi
for k in $KINDS; do
    for f in $FORMATS; do
        if [ ! -f "$GOLDEN/$k.$f" ]; then
            failed "golden/$k.$f: missing (run with UPDATE_GOLDEN=1 and read it)"
        elif diff -u "$GOLDEN/$k.$f" "$T/r/$k.$f" >"$T/diff" 2>&1; then
            pass
        else
            failed "$k.$f differs from golden/$k.$f (UPDATE_GOLDEN=1 rewrites it):"
            head -40 "$T/diff" | cut -c1-300 >&2
        fi
    done
done
# The same bytes again, and on standard output with -o -.
run 0 "report again (same bytes)" "$M" report $(args_of audit) --admin-key "$FX/admin.pub" \
    -o "$T/again.json"
cmp -s "$T/again.json" "$T/r/audit.json" && pass || failed "audit.json differs between runs"
run 0 "report -o - (markdown)" "$M" report $(args_of diff) --admin-key "$FX/admin.pub" \
    --format md -o -
cmp -s "$T/out" "$T/r/diff.md" && pass || failed "report -o - differs from the file"
has "$T/err" "diff report (md):" "report -o -: the summary goes to stderr"
run 0 "report --json summary" "$M" report $(args_of lineage) -o "$T/l.json" --json
eq "$("$PY" -c "import json; d=json.load(open('$T/out')); print(d['kind'], d['format'], d['tree_size'])")" \
    "lineage json $SIZE" "report --json: kind, format, tree size"

# ---- verify: every JSON and HTML -----------------------------------------------------------
for k in $KINDS; do
    for f in json html; do
        run 0 "verify $k.$f" "$M" verify "$T/r/$k.$f" --admin-key "$FX/admin.pub"
        has "$T/out" "VERIFIED: $k report," "verify $k.$f says VERIFIED"
        has "$T/out" "checkpoint size $SIZE" "verify $k.$f names the checkpoint size"
        hasnt "$T/err" "warning" "verify $k.$f with pinned keys warns of nothing"
    done
done
run 0 "verify with the report's own keys" env -u MLAUDIT_LOG_KEY "$M" verify "$T/r/lineage.json"
has "$T/err" "taken from the report itself" "verify without --log-key warns"
has "$T/out" "VERIFIED: lineage report," "verify without --log-key still checks"
run 0 "verify --json" "$M" verify "$T/r/decision.html" --admin-key "$FX/admin.pub" --json
eq "$("$PY" -c "import json; d=json.load(open('$T/out')); print(d['verified'], d['type'], d['kind'])")" \
    "True report decision" "verify --json: verified, type, kind"
"$M" keygen --out "$T/other" --note-name mlaudit.local/ledger >"$T/other.out" 2>&1
OTHER_VKEY=$(sed -n 's/.*verifier key \([^ ]*\).*/\1/p' "$T/other.out" | head -1)
run 1 "verify against another log key" "$M" verify "$T/r/audit.json" --log-key "$OTHER_VKEY"
has "$T/err" "NOT VERIFIED" "another log key: NOT VERIFIED"
run 1 "verify against another trust root" "$M" verify "$T/r/audit.json" --admin-key "$FX/ci.pub"
has "$T/err" "NOT VERIFIED" "another trust root: NOT VERIFIED"
"$PY" -c "import json; d=json.load(open('$T/r/diff.json')); json.dump(d, open('$T/sorted.json', 'w'), sort_keys=True)"
run 0 "verify a report whose members were reordered" "$M" verify "$T/sorted.json" \
    --admin-key "$FX/admin.pub"
has "$T/out" "VERIFIED: diff report," "a reordered report is still recognised"
run 2 "verify --entry with a report" "$M" verify "$T/r/audit.json" --entry "$T/r/audit.json"
has "$T/err" "--entry" "verify --entry on a report names --entry"

# ---- tampering -------------------------------------------------------------------------------
cat >"$T/tamper.py" <<'PYTAMPER'
# tamper.py MODE IN OUT [OLD]: write a tampered copy of a report; print what
# the verifier's message should name (the edited text, the fact, the entry).
import json, re, sys

mode, src, dst = sys.argv[1:4]
if mode == "html-fact":
    page = open(src, encoding="utf-8").read()
    m = re.search(r'<a class="fact" id="(f-[^"]*)" href="#e-\d+">([^<]+)</a>', page)
    if not m:
        sys.exit("no fact link in " + src)
    page = page[:m.end(2)] + "9" + page[m.end(2):]
    open(dst, "w", encoding="utf-8").write(page)
    print(m.group(1))
    sys.exit(0)
doc = json.load(open(src, encoding="utf-8"))
ev = doc["evidence"]["entries"]
if mode == "json-fact":
    for t in doc["tables"]:
        for row in t["rows"]:
            for cell in row:
                if "seq" in cell and cell["text"]:
                    cell["text"] += "9"
                    print(cell["text"])
                    break
            else:
                continue
            break
        else:
            continue
        break
    else:
        sys.exit("no cited cell")
elif mode == "drop-entry":
    cited = set()
    for t in doc["tables"]:
        for row in t["rows"]:
            cited.update(c["seq"] for c in row if "seq" in c)
    i = next(i for i, e in enumerate(ev) if e["seq"] in cited)
    print("entry %d" % ev[i]["seq"])
    del ev[i]
elif mode == "swap-proof":
    i, j = next((i, j) for i in range(len(ev)) for j in range(i + 1, len(ev))
                if ev[i]["inclusion"] != ev[j]["inclusion"])
    ev[i]["inclusion"], ev[j]["inclusion"] = ev[j]["inclusion"], ev[i]["inclusion"]
    print("entry %d" % ev[i]["seq"])
elif mode == "stale":
    old = json.load(open(sys.argv[4], encoding="utf-8"))
    doc["log"] = old["log"]
    print("checkpoint size %d" % old["log"]["tree_size"])
else:
    sys.exit("unknown mode " + mode)
open(dst, "w", encoding="utf-8").write(json.dumps(doc, ensure_ascii=False, indent=1))
PYTAMPER
# tampered DESC MODE IN OUT [OLD]: tamper, then verify must say NOT VERIFIED
# (exit 1) and name what was changed.
tampered() {
    local desc=$1 mode=$2 src=$3 dst=$4 what
    shift 4
    what=$("$PY" "$T/tamper.py" "$mode" "$src" "$dst" "$@") || { failed "$desc: tamper.py"; return; }
    run 1 "$desc" "$M" verify "$dst" --admin-key "$FX/admin.pub"
    has "$T/err" "NOT VERIFIED" "$desc: NOT VERIFIED"
    has "$T/err" "$what" "$desc: the message names $what"
}
tampered "an edited fact (JSON)" json-fact "$T/r/lineage.json" "$T/t-fact.json"
tampered "an edited fact (visible HTML)" html-fact "$T/r/lineage.html" "$T/t-fact.html"
tampered "a removed entry" drop-entry "$T/r/diff.json" "$T/t-drop.json"
tampered "swapped proofs" swap-proof "$T/r/audit.json" "$T/t-swap.json"
# A stale checkpoint: record one more change, generate again, and put the
# first report's (older, validly signed) checkpoint into the new one.
run 0 "record after the reports" "$M" record dataset --name transactions --version 2026-03 \
    --digest "$(printf 'march' | sha256sum | cut -c1-64)" --actor nightly-snapshot \
    --key "$FX/ci.key" --reason "March snapshot"
run 0 "report after the append" "$M" report $(args_of lineage) --admin-key "$FX/admin.pub" \
    -o "$T/later.json"
has "$T/out" "checkpoint size $((SIZE + 1))" "the later report has the larger checkpoint"
run 0 "verify the later report" "$M" verify "$T/later.json" --admin-key "$FX/admin.pub"
tampered "a stale checkpoint" stale "$T/later.json" "$T/t-stale.json" "$T/r/lineage.json"

# ---- PROV-JSON against the W3C schema -------------------------------------------------------
for k in $KINDS; do
    run 0 "PROV-JSON of $k validates" "$PY" "$HERE/check_prov.py" "$T/r/$k.prov"
done

# ---- escaping ------------------------------------------------------------------------------------
MARKUP='<script>alert("x")</script> & '"'"'quotes'"'"' — naïve café ✓'
NAME='merchant-categories-"café"<EU>'
export MARKUP NAME
# The JSON form round-trips the exact text; at least one report shows each.
for s in MARKUP NAME; do
    found=$(S=$s "$PY" - "$T/r" <<'PYFIND'
import json, os, sys
want = os.environ[os.environ["S"]]
def strings(v):
    if isinstance(v, str): yield v
    elif isinstance(v, dict):
        for x in v.values(): yield from strings(x)
    elif isinstance(v, list):
        for x in v: yield from strings(x)
hits = [k for k in ("lineage", "decision", "audit", "diff")
        if any(want in s for s in strings(json.load(open(os.path.join(sys.argv[1], k + ".json"), encoding="utf-8"))))]
print(" ".join(hits))
PYFIND
)
    [ -n "$found" ] && pass || failed "no JSON report holds the exact $s text"
    eval "FOUND_$s=\"\$found\""
done
for k in $KINDS; do
    hasnt "$T/r/$k.html" "<script>alert" "HTML $k: no raw <script> from the ledger"
    hasnt "$T/r/$k.html" '"café"<EU>' "HTML $k: no raw markup in an artifact name"
    hasnt "$T/r/$k.md" "<script>alert" "Markdown $k: the markup stays escaped"
    hasnt "$T/r/$k.md" '"café"<EU>' "Markdown $k: the name's markup stays escaped"
done
for k in $FOUND_MARKUP; do
    has "$T/r/$k.html" '\u003cscript\u003ealert' "HTML $k: the embedded JSON writes < as \\u003c"
    has "$T/r/$k.html" '&lt;script&gt;alert' "HTML $k: the page shows the markup as text"
    has "$T/r/$k.html" 'naïve café ✓' "HTML $k: non-ASCII kept"
    has "$T/r/$k.md" 'naïve café ✓' "Markdown $k: non-ASCII kept"
done
for k in $FOUND_NAME; do
    has "$T/r/$k.html" '&lt;EU&gt;' "HTML $k: the artifact name's markup escaped"
done

# ---- the HTML in a real browser ------------------------------------------------------------------
# Requests the page makes carry the document as their initiator ("null" for
# a file:// origin); chromium's own background requests (component updates,
# network time) carry "not an origin" and are not the page's. A control page
# that does fetch shows the check sees page requests.
cat >"$T/browser.py" <<'PYBROWSER'
# browser.py DOM NETLOG svg|any: "ok", or what is wrong with the page (svg:
# it must show a graph with nodes).
import json, re, sys
dom, netlog, want_svg = sys.argv[1], sys.argv[2], sys.argv[3] == "svg"
page = open(dom, encoding="utf-8").read()
problems = []
svg = re.search(r"<svg\b.*?</svg>", page, re.S)
if want_svg and not svg:
    problems.append("no <svg> in the rendered DOM")
elif want_svg and not re.search(r'<g\b[^>]*class="node"', svg.group(0)):
    problems.append('the <svg> has no <g class="node">')
text = open(netlog, encoding="utf-8").read().rstrip()
try:
    log = json.loads(text)
except ValueError:
    log = json.loads(text.rstrip(",") + "]}")  # a log cut short at exit
types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
fetched = sorted({e["params"]["url"] for e in log.get("events", [])
                  if types.get(e["type"]) == "URL_REQUEST_START_JOB"
                  and "url" in e.get("params", {})
                  and e["params"].get("initiator") != "not an origin"})
if fetched:
    problems.append("the page fetched: " + ", ".join(fetched[:5]))
print("; ".join(problems) if problems else "ok")
PYBROWSER
chrome() { # HTML NETLOG DOM: dump the DOM with every host name unresolvable
    local mode
    rm -f "$2"
    for mode in --headless=new --headless; do
        timeout 120 /usr/bin/chromium "$mode" --no-sandbox --disable-gpu \
            --user-data-dir="$T/chrome" --no-first-run --disable-extensions \
            --disable-background-networking --disable-component-update --disable-sync \
            --disable-default-apps --host-resolver-rules="MAP * ~NOTFOUND" \
            --log-net-log="$2" --dump-dom "file://$1" >"$3" 2>"$3.err" && [ -s "$3" ] && return 0
    done
    return 1
}
if [ -x /usr/bin/chromium ]; then
    printf '<!DOCTYPE html><html><body><img src="http://img.mlaudit-test.invalid/x.png">%s' \
        '<svg><g class="node"></g></svg></body></html>' >"$T/control.html"
    if chrome "$T/control.html" "$T/control.netlog" "$T/control.dom"; then
        "$PY" "$T/browser.py" "$T/control.dom" "$T/control.netlog" svg >"$T/browser" 2>&1
        has "$T/browser" "the page fetched: http://img.mlaudit-test.invalid/x.png" \
            "browser check: a control page's fetch is seen"
    else
        failed "chromium could not open a control page: $(tail -3 "$T/control.dom.err")"
    fi
    for k in $KINDS; do
        if chrome "$T/r/$k.html" "$T/$k.netlog" "$T/$k.dom"; then pass; else
            failed "chromium could not open $k.html: $(tail -3 "$T/$k.dom.err")"
            continue
        fi
        # Lineage and decision reports draw a graph; audit and diff have none.
        want=any
        case $k in lineage | decision) want=svg ;; esac
        "$PY" "$T/browser.py" "$T/$k.dom" "$T/$k.netlog" "$want" >"$T/browser" 2>&1
        if [ "$(cat "$T/browser")" = ok ]; then pass; else failed "browser $k.html: $(cat "$T/browser")"; fi
    done
else
    echo "SKIP: /usr/bin/chromium not installed (deploy/packages.sh installs it)" >&2
fi

# ---- refusals: exit 2 naming the flag, exit 3 for what the ledger does not hold --------------------
R=(--admin-key "$FX/admin.pub")
usage() { # FLAG-NAMED ARGS...: exit 2, the message names it, no file left behind
    local named=$1
    shift
    run 2 "report $*" "$M" report "$@"
    has "$T/err" "$named" "report $*: names $named"
}
usage "KIND" -o "$T/x.html"
usage "KIND" frobnicate -o "$T/x.html"
usage "-o" lineage model:fraud-detector@2
usage "ARTIFACT" lineage -o "$T/x.html"
usage "ARTIFACT" lineage not-an-identity -o "$T/x.html"
usage "--depth" lineage model:fraud-detector@2 --depth 0 -o "$T/x.html"
usage "--depth" lineage model:fraud-detector@2 --depth 65 -o "$T/x.html"
usage "--at" lineage model:fraud-detector@2 --at now -o "$T/x.html"
usage "--format" lineage model:fraud-detector@2 --format pdf -o "$T/x.html"
usage "--generated-at" lineage model:fraud-detector@2 --generated-at tomorrow -o "$T/x.html"
usage "--admin-key" lineage model:fraud-detector@2 --admin-key "$T/none.pub" -o "$T/x.html"
usage "--id" decision -o "$T/x.html"
usage "--at" decision --id tx-20260305-0102 --at now -o "$T/x.html"
usage "--at" decision --target fraud-api -o "$T/x.html"
usage "--at" decision --target fraud-api --at yesterday -o "$T/x.html"
usage "--depth" decision --id tx-20260305-0102 --depth 2 -o "$T/x.html"
usage "--from" audit --from yesterday -o "$T/x.html"
usage "--to" audit --from 2026-03-05T00:00:00Z --to 2026-03-01T00:00:00Z -o "$T/x.html"
usage "--to-seq" audit --from-seq 5 --to-seq 5 -o "$T/x.html"
usage "--from-seq" audit --from-seq -1 -o "$T/x.html"
usage "--gap" audit --gap 0 -o "$T/x.html"
usage "--id" audit --id tx-20260305-0102 -o "$T/x.html"
usage "ARTIFACT_B" diff model:fraud-detector@1 -o "$T/x.html"
usage "ARTIFACT_B" diff model:fraud-detector@1 model:fraud-detector@1 -o "$T/x.html"
usage "--bogus" audit --bogus -o "$T/x.html"
run 2 "SOURCE_DATE_EPOCH not a number" env SOURCE_DATE_EPOCH=soon "$M" report audit -o "$T/x.html"
has "$T/err" "SOURCE_DATE_EPOCH" "a bad SOURCE_DATE_EPOCH is named"
run 3 "an unknown artifact" "$M" report lineage model:nope@1 "${R[@]}" -o "$T/x.html"
has "$T/err" "model:nope@1" "an unknown artifact is named"
run 3 "an unknown version in a diff" "$M" report diff model:fraud-detector@1 model:fraud-detector@9 \
    "${R[@]}" -o "$T/x.html"
has "$T/err" "model:fraud-detector@9" "the unknown version is named"
run 3 "an unknown decision" "$M" report decision --id tx-none "${R[@]}" -o "$T/x.html"
has "$T/err" "tx-none" "the unknown decision is named"
[ -e "$T/x.html" ] || [ -e "$T/x.html.tmp" ] && failed "a refused report left a file" || pass

daemon_stop daemon "mlauditd exits 0 on SIGTERM"
took=$((($(date +%s%N) - START) / 1000000))
echo "reports: $((n_ok + n_fail)) checks, $n_fail failures (${took} ms)"
[ "$n_fail" -eq 0 ]
