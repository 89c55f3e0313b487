#!/usr/bin/env bash
# End-to-end tests of the mlaudit CLI against real mlauditd daemons on
# 127.0.0.1 (port 0, --insecure) in a temporary directory: every command's
# output and exit code, including refusals (no reason: 2, unknown key: 3,
# unreachable server: 4), SPEC §3 directory digests checked against an
# independent computation, receipts and export bundles verified offline (and
# refused when tampered with), fork detection against a second daemon with
# the same log key, and the offline audit of a stopped daemon's data dir.
# Environment: MLAUDIT (CLI binary), MLAUDITD (daemon binary).
set -uo pipefail

M=$(readlink -f "${MLAUDIT:?MLAUDIT: path of the mlaudit binary}")
DAEMON=$(readlink -f "${MLAUDITD:?MLAUDITD: path of the mlauditd binary}")
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
lib_setup cli
cd "$T" || exit 1

# ---- help and usage ------------------------------------------------------------
run 0 "top-level help" "$M" --help
for c in keygen key record digest get log checkpoint prove verify export audit; do
    has "$T/out" "$c" "top-level help lists $c"
done
for c in keygen key record digest get log checkpoint prove verify export audit; do
    run 0 "$c --help" "$M" "$c" --help
    has "$T/out" "Exit codes:" "$c --help documents exit codes"
    has "$T/out" "--json" "$c --help documents --json"
done
run 2 "unknown command" "$M" frobnicate
has "$T/err" "frobnicate: unknown command" "unknown command named"
run 2 "unknown flag" "$M" log --bogus
has "$T/err" "--bogus: unknown flag" "unknown flag named"

# ---- keygen ------------------------------------------------------------------------
run 0 "keygen admin" "$M" keygen --out admin
run 0 "keygen writer --json" "$M" keygen --out writer --json
cp "$T/out" keygen.json
eq "$(stat -c %a writer.key)" 600 "private key file mode"
want=$("$PY" -c "
import base64,hashlib
pub=[l for l in open('writer.pub') if l.startswith('public: ')][0].split()[1]
print(hashlib.sha256(base64.b64decode(pub)).hexdigest())")
eq "$(json keygen.json "d['keyid']")" "$want" "keyid = SHA-256 of the raw public key"
run 2 "keygen never overwrites" "$M" keygen --out writer
has "$T/err" "already exists" "keygen refusal says why"
run 0 "keygen log key with --note-name" "$M" keygen --out log.key --note-name mlaudit.test/ledger
has "$T/out" "verifier key mlaudit.test/ledger+" "keygen prints the verifier key"
[ -f log.key ] && [ -f log.pub ] && pass || failed "--out log.key writes log.key and log.pub"
"$M" keygen --out stranger >/dev/null && "$M" keygen --out deployer >/dev/null

# ---- digests (SPEC §3) ---------------------------------------------------------------
mkdir -p model/weights model/tok
printf 'layer0' >model/weights/a.bin
head -c 100000 /dev/urandom >model/weights/b.bin
printf '{"vocab": 3}' >model/tok/tokenizer.json
printf 'cfg' >model/config.json
printf 'Z' >model/Z_upper
run 0 "digest of a file" "$M" digest model/config.json
eq "$(cut -d' ' -f1 "$T/out")" "$(sha256sum model/config.json | cut -d' ' -f1)" "file digest = sha256sum"
run 0 "digest of a directory" "$M" digest model --json
cp "$T/out" digest.json
# Independently: sha256 of each file, sorted by relative path bytewise,
# concatenated as binary, then sha256 of that.
indep=$(cd model && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
    while read -r f; do sha256sum "$f" | cut -d' ' -f1; done | tr -d '\n' | xxd -r -p | sha256sum | cut -d' ' -f1)
eq "$(json digest.json "d[0]['sha256']")" "$indep" "directory digest = independent OpenSSF root"
eq "$(json digest.json "d[0]['files']")" 5 "directory digest counts files"
ln -s config.json model/link.json
run 2 "digest refuses symlinks" "$M" digest model
has "$T/err" "symbolic link" "symlink refusal says why"
rm model/link.json
run 2 "digest of a missing path" "$M" digest nowhere
run 0 "record --dry-run needs no server or key" "$M" --server 127.0.0.1:1 record model \
    --name m --version 1 --path model --input dataset:d@1:training-data --reason "dry" --dry-run
eq "$(json "$T/out" "d['subject']['digest']")" "$indep" "dry run shows the directory digest"
run 2 "errors in JSON with --json" "$M" --json record model --name m --version 1 --path model
eq "$(json "$T/out" "d['error']['exit_code']")" 2 "JSON error carries the exit code"

# ---- a daemon ----------------------------------------------------------------------
daemon_start A --init --data-dir "$T/dataA" --admin-key "$T/admin.pub" \
    --signing-key "$T/log.key" --origin mlaudit.test/ledger
export MLAUDIT_INSECURE=1 MLAUDIT_LOG_KEY="@$T/dataA/log.vkey"
A=$(cat A.port)
G=(--server "$A" --state-dir "$T/state")

# ---- refusals before contact -----------------------------------------------------------
run 2 "record without --reason" "$M" --server 127.0.0.1:1 record model --name m --version 1 \
    --path model --key writer.key
has "$T/err" 'reason: required — say why this change is made (--reason "...")' "no reason: message"
run 2 "record with empty --reason" "$M" "${G[@]}" record model --name m --version 1 --path model \
    --reason "" --key writer.key
run 2 "record without --key" "$M" "${G[@]}" record model --name m --version 1 --path model \
    --input dataset:d@1:training-data --reason r
has "$T/err" "--key: required" "no key: names --key"
run 2 "record without a version" "$M" "${G[@]}" record model --name m --path model --reason r \
    --key writer.key
has "$T/err" "--version" "missing version: names the flag"
run 2 "record with a bad input" "$M" "${G[@]}" record model --name m --version 1 --path model \
    --input dataset:x --reason r --key writer.key
has "$T/err" "--input" "bad input: names --input"
run 2 "record with an unknown role" "$M" "${G[@]}" record model --name m --version 1 --path model \
    --input dataset:x@1:trainingdata --reason r --key writer.key
has "$T/err" "role" "unknown role named"
run 2 "record with an unknown kind" "$M" "${G[@]}" record modle --reason r --key writer.key
run 2 "deployment with traffic 2" "$M" "${G[@]}" record deployment --name m --version 1 \
    --target api --traffic 2 --reason r --key writer.key
has "$T/err" "--traffic" "traffic out of range: names --traffic"
# What each kind must carry (codec): refused before anything is sent.
run 2 "a model without inputs" "$M" "${G[@]}" record model --name m --version 1 --path model \
    --reason r --key writer.key
has "$T/err" "change.inputs: a MODEL needs at least one input" "no inputs: the rule"
has "$T/err" "--input" "no inputs: names --input"
run 2 "a deployment without a stage" "$M" "${G[@]}" record deployment --name m --version 1 \
    --target api --reason r --key writer.key
has "$T/err" "change.deployment.stage: empty" "no stage: the field"
has "$T/err" "--stage" "no stage: names --stage"
run 2 "an evaluation without metrics" "$M" "${G[@]}" record evaluation --name e --version 1 \
    --input model:m@1:evaluated-model --reason r --key writer.key
has "$T/err" "change.metrics: an EVALUATION needs at least one metric" "no metrics: the rule"
run 2 "an evaluation of no model" "$M" "${G[@]}" record evaluation --name e --version 1 \
    --input dataset:d@1:test-data --metric auc=0.9 --reason r --key writer.key
has "$T/err" 'needs an input with role "evaluated-model"' "no evaluated model: the rule"
run 2 "an approval of nothing" "$M" "${G[@]}" record approval --name m --version 1 \
    --scope production --reason r --key writer.key
has "$T/err" "change.approval: names neither" "approval of nothing: the rule"
has "$T/err" "--approves" "approval of nothing: names --approves"
run 2 "a retirement without a target" "$M" "${G[@]}" record retirement --name m --version 1 \
    --reason r --key writer.key
has "$T/err" "change.retirement: missing" "retirement without target: the field"
has "$T/err" "--target" "retirement without target: names --target"
run 0 "a retirement with --target (dry run)" "$M" "${G[@]}" record retirement --name m \
    --version 1 --target api --reason r --dry-run
eq "$(json "$T/out" "d['retirement']['target']")" api "retirement target from --target"
unset MLAUDIT_LOG_KEY
run 2 "no log key" "$M" "${G[@]}" checkpoint
has "$T/err" "--log-key: required" "no log key: names --log-key"
export MLAUDIT_LOG_KEY="@$T/dataA/log.vkey"
run 4 "unreachable server" "$M" --server 127.0.0.1:1 --state-dir "$T/state" --timeout-ms 2000 checkpoint

# ---- keys and records -----------------------------------------------------------------
run 3 "record signed by an unknown key" "$M" "${G[@]}" record model --name m --version 1 \
    --path model --input dataset:d@1:training-data --reason "first try" --key stranger.key
has "$T/err" "unknown key" "unknown key: server message shown"
run 0 "register the writer key" "$M" "${G[@]}" key register writer.pub \
    --kinds model,dataset,code,config,environment,evaluation --key admin.key --reason "CI writer"
run 0 "register the deployer key" "$M" "${G[@]}" key register deployer.pub \
    --kinds deployment,rollback,approval --key admin.key --reason "release manager"
run 2 "key register without --kinds" "$M" "${G[@]}" key register stranger.pub --key admin.key \
    --reason r
run 3 "a writer cannot register keys" "$M" "${G[@]}" key register stranger.pub --kinds model \
    --key writer.key --reason "sneaky"
run 0 "record a dataset" "$M" "${G[@]}" record dataset --name transactions --version 2026-06 \
    --digest "$(sha256sum model/config.json | cut -d' ' -f1)" --uri s3://data/tx/2026-06 \
    --reason "June snapshot" --actor alice --key writer.key
# The version in production before v3: recorded and deployed, so a rollback
# can return to it (a ROLLBACK's `to` must have been deployed on the target).
run 0 "record model v2" "$M" "${G[@]}" record model --name fraud-detector --version 2 \
    --digest "$(printf 'fraud-detector v2' | sha256sum | cut -d' ' -f1)" \
    --input dataset:transactions@2026-05:training-data --reason "May model" --key writer.key
run 0 "deploy model v2" "$M" "${G[@]}" record deployment --name fraud-detector --version 2 \
    --target fraud-api --stage production --reason "v2 in production" --key deployer.key
run 0 "record a model from a directory" "$M" "${G[@]}" record model --name fraud-detector \
    --version 3 --path ./model --input dataset:transactions@2026-06:training-data \
    --attr learning_rate=0.01 --attr seed=42 --metric auc=0.91 --reason "retrained on June data" \
    --actor alice --key writer.key --json --receipt-out receipt.json
cp "$T/out" rec.json
eq "$(json rec.json "d['seq']")" 5 "model recorded at seq 5"
eq "$(json rec.json "d['tree_size'] >= 4")" True "receipt tree size covers it"
eq "$(json receipt.json "d['leaf_hash']")" "$(json rec.json "d['leaf_hash']")" "--receipt-out = --json"
run 0 "get the model" "$M" "${G[@]}" get 5 --json --raw entry5.bin
cp "$T/out" get5.json
eq "$(json get5.json "d['change']['subject']['digest']")" "$indep" "recorded digest = independent root"
eq "$(json get5.json "d['change']['attributes']['seed']")" 42 "attribute recorded"
eq "$(json get5.json "d['change']['metrics']['auc']")" 0.91 "metric recorded"
eq "$(json get5.json "d['change']['inputs'][0]['role']")" training-data "input role recorded"
eq "$(json get5.json "d['change']['reason']")" "retrained on June data" "reason recorded"
run 0 "get (text)" "$M" "${G[@]}" get 5
has "$T/out" "model:fraud-detector@3" "get shows the subject identity"
has "$T/out" "verified   included in the checkpoint" "get verifies inclusion"
run 3 "get past the end" "$M" "${G[@]}" get 999
run 2 "get with a bad seq" "$M" "${G[@]}" get -- -1

# --from-json: the shape get --json prints under "change".
cat >eval.json <<'EOF'
{"kind": "EVALUATION",
 "subject": {"type": "evaluation", "name": "fraud-detector-eval", "version": "3"},
 "inputs": [{"artifact": {"type": "model", "name": "fraud-detector", "version": "3"},
             "role": "evaluated-model"}],
 "metrics": {"auc": 0.91, "recall": 0.8},
 "attributes": {"holdout": "2026-07"},
 "reason": "holdout evaluation"}
EOF
run 0 "record from JSON" "$M" "${G[@]}" record --from-json eval.json --key writer.key
run 0 "get the evaluation" "$M" "${G[@]}" get 6 --json
cp "$T/out" get6.json
eq "$(json get6.json "d['kind']")" EVALUATION "JSON kind used"
eq "$(json get6.json "d['change']['metrics']['recall']")" 0.8 "JSON metrics used"
sed 's/"metrics"/"metricz"/' eval.json >bad.json
run 2 "JSON with a misspelt field" "$M" "${G[@]}" record --from-json bad.json --key writer.key
has "$T/err" "change.metricz: unknown field" "misspelt JSON field named"
"$PY" -c "import json; d=json.load(open('eval.json')); del d['reason']; json.dump(d, open('noreason.json','w'))"
run 2 "JSON without a reason" "$M" --server 127.0.0.1:1 record --from-json noreason.json --key writer.key
has "$T/err" "reason: required" "JSON without reason refused"
run 0 "record a canary deployment" "$M" "${G[@]}" record deployment --name fraud-detector \
    --version 3 --target fraud-api --stage canary --traffic 0.05 --reason canary --key deployer.key
run 3 "writer key may not deploy" "$M" "${G[@]}" record deployment --name fraud-detector \
    --version 3 --target fraud-api --stage production --reason "go" --key writer.key
run 0 "record an approval" "$M" "${G[@]}" record approval --name fraud-detector --version 3 \
    --approves 5 --scope production --reason "validated" --key deployer.key
# The log's per-kind rules (policy): refused by the server, nothing recorded.
run 3 "deploying a model never recorded" "$M" "${G[@]}" record deployment --name fraud-detector \
    --version 9 --target fraud-api --stage production --reason "go" --key deployer.key
has "$T/err" "never recorded by a MODEL entry" "unrecorded model: the rule"
run 3 "rolling back to a model never deployed there" "$M" "${G[@]}" record rollback \
    --target other-api --to model:fraud-detector@2 --reason "back" --key deployer.key
has "$T/err" "never deployed on target" "rollback to undeployed: the rule"
run 0 "record a rollback" "$M" "${G[@]}" record rollback --target fraud-api \
    --to model:fraud-detector@2 --reason "AUC dropped" --key deployer.key
run 3 "same identity, other digest" "$M" "${G[@]}" record model --name fraud-detector \
    --version 3 --digest "$(printf '%064d' 0)" --input dataset:transactions@2026-06:training-data \
    --reason "overwrite" --key writer.key

# ---- reading ---------------------------------------------------------------------------
run 0 "log" "$M" "${G[@]}" log
eq "$(grep -c . "$T/out")" 11 "log: a header and one line per entry"
has "$T/err" "Merkle root matches the signed checkpoint" "whole log verified against the root"
run 0 "log --json range" "$M" "${G[@]}" log --from 3 --to 5 --json
eq "$(wc -l <"$T/out")" 2 "log range: two JSON lines"
run 0 "checkpoint" "$M" "${G[@]}" checkpoint --json
cp "$T/out" cp.json
eq "$(json cp.json "d['size']")" 10 "checkpoint size"
eq "$(json cp.json "d['origin']")" mlaudit.test/ledger "checkpoint origin"
run 0 "prove" "$M" "${G[@]}" prove 5 --json
cp "$T/out" proof.json
run 0 "verify a proof offline" "$M" verify proof.json
has "$T/out" "VERIFIED receipt" "proof verified"
"$PY" -c "
import json; d=json.load(open('proof.json'))
d['leaf_hash']=d['leaf_hash'][:-1]+('0' if d['leaf_hash'][-1]!='0' else '1')
json.dump(d, open('proof-bad.json','w'))"
run 1 "verify a tampered proof" "$M" verify proof-bad.json
has "$T/err" "NOT VERIFIED" "tampered proof refused"
run 0 "verify the record receipt with its entry" "$M" verify receipt.json --entry entry5.bin \
    --signer-key writer.pub
has "$T/out" "every signature verifies" "entry signatures checked"
run 1 "receipt with the wrong signer key" "$M" verify receipt.json --entry entry5.bin \
    --signer-key deployer.pub
run 1 "receipt with another entry" "$M" verify proof.json --entry eval.json
run 0 "prove in an older checkpoint" "$M" "${G[@]}" prove 5 --checkpoint \
    <("$PY" -c "import json; print(json.load(open('receipt.json'))['checkpoint'], end='')")
run 2 "prove --size without a checkpoint of that size" "$M" "${G[@]}" prove 5 --size 2

# ---- export and offline verification ------------------------------------------------------
run 0 "export" "$M" "${G[@]}" export -o bundle.jsonl
eq "$(wc -l <bundle.jsonl)" 11 "bundle: header + 10 entries"
run 0 "verify the export" "$M" verify bundle.jsonl --admin-key admin.pub --json
eq "$(json "$T/out" "d['verified']")" True "export verified"
eq "$(json "$T/out" "d['signatures_checked']")" True "export signatures checked"
run 1 "export verified against the wrong admin key" "$M" verify bundle.jsonl --admin-key writer.pub
"$PY" - <<'EOF'
import base64, json
lines = open('bundle.jsonl').read().splitlines()
e = json.loads(lines[5]); b = bytearray(base64.b64decode(e['entry']))
i = b.find(b'fraud-detector'); b[i] = ord('F'); e['entry'] = base64.b64encode(bytes(b)).decode()
open('tampered.jsonl', 'w').write('\n'.join(lines[:5] + [json.dumps(e)] + lines[6:]) + '\n')
open('truncated.jsonl', 'w').write('\n'.join(lines[:-1]) + '\n')
open('reordered.jsonl', 'w').write('\n'.join(lines[:3] + [lines[4], lines[3]] + lines[5:]) + '\n')
EOF
run 1 "verify a tampered export" "$M" verify tampered.jsonl
has "$T/err" "NOT VERIFIED" "tampered export refused"
run 1 "verify a truncated export" "$M" verify truncated.jsonl
run 1 "verify a reordered export" "$M" verify reordered.jsonl
run 2 "export never overwrites" "$M" "${G[@]}" export -o bundle.jsonl

# ---- revocation ------------------------------------------------------------------------------
run 2 "revoke by keyid is refused with the fix" "$M" "${G[@]}" key revoke \
    "$(json keygen.json "d['keyid']")" --key admin.key --reason "leaked"
has "$T/err" ".pub file" "revoke by keyid: says to give the .pub file"
run 0 "revoke the writer" "$M" "${G[@]}" key revoke writer.pub --key admin.key --reason "leaked"
run 3 "a revoked key signs nothing new" "$M" "${G[@]}" record dataset --name t --version 9 \
    --digest "$(printf '%064d' 1)" --reason "after revocation" --key writer.key
has "$T/err" "revoked" "revocation named"

# ---- fork detection -------------------------------------------------------------------------
# Daemon B: the same log key and origin, a different history.
daemon_start B --init --data-dir "$T/dataB" --admin-key "$T/admin.pub" \
    --signing-key "$T/log.key" --origin mlaudit.test/ledger
B=$(cat B.port)
eq "$(cat "$T/dataB/log.vkey")" "$(cat "$T/dataA/log.vkey")" "B has the same log key"
run 1 "a shrunk log is refused" "$M" --server "$B" --state-dir "$T/state" checkpoint
has "$T/err" "the log shrank from 11 to 0" "shrink named with sizes"
has "$T/err" "remembered checkpoint" "shrink: remembered checkpoint shown"
has "$T/err" "server's checkpoint" "shrink: server's checkpoint shown"
for i in $(seq 1 14); do
    "$M" --server "$B" --state-dir "$T/stateB" key register "stranger.pub" --kinds model \
        --key admin.key --reason "B $i" >/dev/null 2>&1 || true
done
run 0 "B's own client is fine" "$M" --server "$B" --state-dir "$T/stateB" checkpoint --json
eq "$(json "$T/out" "d['size'] > 11")" True "B grew beyond A"
run 1 "a forked log is refused" "$M" --server "$B" --state-dir "$T/state" log
has "$T/err" "the log forked or was rewritten" "fork named"
has "$T/err" "mlaudit.test/ledger" "fork: checkpoints shown"
run 1 "recording on a forked log is refused" "$M" --server "$B" --state-dir "$T/state" record \
    model --name z --version 1 --digest "$(printf '%064d' 2)" --input dataset:d@1:training-data \
    --reason r --key deployer.key
run 0 "A still verifies with the same state" "$M" "${G[@]}" checkpoint
daemon_stop B "daemon B exits 0 on SIGTERM"

# ---- offline audit ----------------------------------------------------------------------------
run 4 "audit of a running daemon" "$M" audit "$T/dataA" --admin-key admin.pub
has "$T/err" "still running" "locked store: says to stop the daemon"
daemon_stop A "daemon A exits 0 on SIGTERM"
run 0 "audit of the stopped daemon" "$M" audit "$T/dataA" --admin-key admin.pub \
    --log-key "@$T/dataA/log.vkey"
has "$T/out" "OK: 11 entries" "audit counts entries"
run 1 "audit with the wrong admin key" "$M" audit "$T/dataA" --admin-key writer.pub --json
eq "$(json "$T/out" "d['ok']")" False "audit JSON says not ok"
run 0 "audit without signatures" "$M" audit "$T/dataA" --no-signatures
run 2 "audit without admin keys" "$M" audit "$T/dataA"
run 2 "audit of a directory without a store" "$M" audit "$T/model" --admin-key admin.pub

summary cli
