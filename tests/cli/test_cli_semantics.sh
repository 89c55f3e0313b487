#!/usr/bin/env bash
# End-to-end tests of the ML-semantics commands of the mlaudit CLI (query,
# history, diff, lineage, which-model, record-decisions, prove-decision,
# verify-decision, watch, rollback) against a real mlauditd on 127.0.0.1
# (port 0, --insecure) in a temporary directory. Builds a small, realistic
# history — datasets, code, config, environment, two model versions with
# those inputs, evaluations, approvals, canary then production, decision
# receipts — then checks each command's output and exit code, including bad
# input (bad TIME, unknown artifact, missing --reason: exit 2 or 3 with a
# message naming the problem) and tampered proofs (exit 1).
# Environment: MLAUDIT (CLI binary), MLAUDITD (daemon binary).
set -uo pipefail

M=$(readlink -f "${MLAUDIT:?MLAUDIT: path of the mlaudit binary}")
DAEMON=$(readlink -f "${MLAUDITD:?MLAUDITD: path of the mlauditd binary}")
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
lib_setup sem
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

cd "$T" || exit 1

# ---- help ---------------------------------------------------------------------------
CMDS="query history diff lineage which-model prove-decision verify-decision record-decisions
      watch rollback"
run 0 "top-level help" "$M" --help
for c in $CMDS; do has "$T/out" "$c" "top-level help lists $c"; done
for c in $CMDS; do
    run 0 "$c --help" "$M" "$c" --help
    has "$T/out" "Exit codes:" "$c --help documents exit codes"
    has "$T/out" "--json" "$c --help documents --json"
done

# ---- a daemon and keys ----------------------------------------------------------------
for k in admin writer deployer reviewer; do "$M" keygen --out "$k" >/dev/null || exit 1; done
"$M" keygen --out log.key --note-name mlaudit.test/sem >/dev/null || exit 1
# Audit mode: violations are recorded beside the entry (watch alerts on them;
# rollback skips deployments that have them).
cat >policy.ini <<'EOF'
[policy]
mode = audit
production_stages = production
require_approval = true
EOF
daemon_start daemon --init --data-dir "$T/data" --admin-key "$T/admin.pub" \
    --signing-key "$T/log.key" --origin mlaudit.test/sem --policy "$T/policy.ini"
export MLAUDIT_INSECURE=1 MLAUDIT_LOG_KEY="@$T/data/log.vkey" MLAUDIT_SERVER="$(cat "$T/daemon.port")"
G=(--state-dir "$T/state")
R() { "$M" "${G[@]}" "$@"; }
rec() { # rec KEY KIND ARGS...: record, fail the whole test if refused
    local key=$1
    shift
    if ! R record "$@" --key "$key.key" --json >"$T/rec.json" 2>"$T/rec.err"; then
        echo "setup: record $*: $(cat "$T/rec.err")" >&2
        exit 1
    fi
    json "$T/rec.json" "d['seq']"
}

R key register writer.pub --kinds model,dataset,code,config,environment,evaluation,document \
    --key admin.key --reason "CI pipeline" >/dev/null || exit 1
R key register deployer.pub --kinds deployment,rollback --key admin.key \
    --reason "release manager" >/dev/null || exit 1
R key register reviewer.pub --kinds approval --key admin.key --reason "model risk" >/dev/null ||
    exit 1

# ---- a realistic history --------------------------------------------------------------
T0=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
rec writer dataset --name transactions --version 2026-05 --digest "$(digest tx05)" \
    --uri s3://data/tx/2026-05 --reason "May snapshot" --actor alice >/dev/null
rec writer dataset --name transactions --version 2026-06 --digest "$(digest tx06)" \
    --uri s3://data/tx/2026-06 --reason "June snapshot" --actor alice >/dev/null
rec writer dataset --name holdout --version 2026-06 --digest "$(digest ho06)" \
    --reason "holdout for evaluation" --actor alice >/dev/null
rec writer code --name fraud-train --version abc123 --digest "$(digest code)" \
    --uri git+https://example.com/fraud-train@abc123 --reason "training code" --actor alice >/dev/null
rec writer config --name fraud-cfg --version 1 --digest "$(digest cfg1)" --reason "config" \
    --actor alice >/dev/null
rec writer environment --name py311-cuda12 --version 1 --digest "$(digest env1)" \
    --attr python=3.11.9 --attr torch=2.3.1 --reason "training image" --actor alice >/dev/null
INPUTS=(--input code:fraud-train@abc123:code --input config:fraud-cfg@1:config
    --input environment:py311-cuda12@1:environment)
M1=$(rec writer model --name fraud-detector --version 1 --digest "$(digest m1)" \
    --input dataset:transactions@2026-05:training-data "${INPUTS[@]}" --attr learning_rate=0.02 \
    --attr seed=42 --reason "first model" --actor alice)
rec writer evaluation --type evaluation --name fraud-detector-eval --version 1 \
    --input model:fraud-detector@1:evaluated-model --input dataset:holdout@2026-06:test-data \
    --metric accuracy=0.908 --metric loss=0.30 --reason "holdout evaluation" --actor bob >/dev/null
rec reviewer approval --name fraud-detector --version 1 --approves "$M1" --scope production \
    --reason "validated by model risk" --actor carol >/dev/null
D1=$(rec deployer deployment --name fraud-detector --version 1 --target fraud-api \
    --stage production --reason "first release" --actor dave)
T1=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
M2=$(rec writer model --name fraud-detector --version 2 --digest "$(digest m2)" \
    --input dataset:transactions@2026-06:training-data "${INPUTS[@]}" --attr learning_rate=0.01 \
    --attr seed=42 --reason "retrained on June data" --actor alice)
rec writer evaluation --type evaluation --name fraud-detector-eval --version 2 \
    --input model:fraud-detector@2:evaluated-model --input dataset:holdout@2026-06:test-data \
    --metric accuracy=0.912 --metric loss=0.28 --reason "holdout evaluation" --actor bob >/dev/null
rec reviewer approval --name fraud-detector --version 2 --approves "$M2" --scope production \
    --reason "validated by model risk" --actor carol >/dev/null
rec deployer deployment --name fraud-detector --version 2 --target fraud-api --stage canary \
    --traffic 0.1 --reason "canary 10%" --actor dave >/dev/null
T2=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
D2=$(rec deployer deployment --name fraud-detector --version 2 --target fraud-api \
    --stage production --reason "canary healthy" --actor dave)
T3=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)

# ---- query ---------------------------------------------------------------------------
run 0 "query deployments of a target" R query --kind deployment --target fraud-api
eq "$(grep -c 'DEPLOYMENT' "$T/out")" 3 "query: three deployments on fraud-api"
has "$T/out" "model:fraud-detector@2 on fraud-api" "query line names subject and target"
has "$T/out" "canary healthy" "query line shows the reason"
has "$T/err" "3 entries" "query counts what it printed"
run 0 "query --json by subject" R query --type model --name fraud-detector --json
eq "$(json "$T/out" "d['count']")" 7 "query: every entry about model fraud-detector"
eq "$(json "$T/out" "[e['kind'] for e in d['entries']][:2]")" "['MODEL', 'APPROVAL']" \
    "query: ascending seq"
run 0 "query --actor --limit" R query --actor alice --limit 2 --json
eq "$(json "$T/out" "d['count']")" 2 "query --limit bounds the answer"
run 0 "query by time range" R query --since "$T1" --until "$T2" --json
eq "$(json "$T/out" "sorted(set(e['kind'] for e in d['entries']))")" \
    "['APPROVAL', 'DEPLOYMENT', 'EVALUATION', 'MODEL']" "query --since/--until: the entries between"
run 2 "query with a bad TIME" R query --since yesterday
has "$T/err" '--since: "yesterday" is not a time' "bad TIME named"
run 2 "query with a date and no zone" R query --until 2026-11-23T10:00:00
has "$T/err" "--until" "time without zone: flag named"
has "$T/err" "time zone" "time without zone: says why"
run 2 "query with an impossible date" R query --since 2026-02-30T00:00:00Z
has "$T/err" "no such date" "impossible date named"
run 2 "query --name without --type" R query --name fraud-detector
has "$T/err" "--type" "query: --name needs --type"
run 2 "query with an unknown kind" R query --kind modle
has "$T/err" '--kind: "modle"' "unknown kind named"

# ---- lineage ---------------------------------------------------------------------------
run 0 "lineage upstream" R lineage model:fraud-detector@2
has "$T/out" "model:fraud-detector@2" "lineage: the root"
has "$T/out" "dataset:transactions@2026-06  (training-data, seq $M2)" "lineage: edge with role and seq"
has "$T/out" "environment:py311-cuda12@1  (environment, seq $M2)" "lineage: environment edge"
hasnt "$T/out" "transactions@2026-05" "lineage: not the other version's data"
run 0 "lineage downstream" R lineage dataset:transactions@2026-06 --down
has "$T/out" "model:fraud-detector@2  (training-data, seq $M2)" "lineage --down: the model"
has "$T/out" "evaluation:fraud-detector-eval@2  (evaluated-model" "lineage --down: two levels"
run 0 "lineage --depth 1" R lineage dataset:transactions@2026-06 --down --depth 1
hasnt "$T/out" "evaluation:" "lineage --depth 1 stops after one edge"
run 0 "lineage --json" R lineage model:fraud-detector@1 --json
eq "$(json "$T/out" "len(d['edges'])")" 4 "lineage --json: four inputs of model 1"
eq "$(json "$T/out" "sorted(e['role'] for e in d['edges'])")" \
    "['code', 'config', 'environment', 'training-data']" "lineage --json: roles"
eq "$(json "$T/out" "set(e['seq'] for e in d['edges'])")" "{$M1}" "lineage --json: edge seqs"
eq "$(json "$T/out" "d['entries'][0]['kind']")" MODEL "lineage --json: entries behind edges"
run 3 "lineage of an unknown artifact" R lineage model:nope@9
has "$T/err" "model:nope@9" "unknown artifact named"
run 2 "lineage of a malformed artifact" R lineage fraud-detector
has "$T/err" "is not TYPE:NAME@VERSION" "malformed artifact: says the shape"
run 2 "lineage --depth 0" R lineage model:fraud-detector@2 --depth 0

# ---- history and diff -------------------------------------------------------------------
run 0 "history" R history fraud-detector
has "$T/out" "model:fraud-detector — 2 versions" "history: versions counted"
has "$T/out" "accuracy 0.912 (+0.004)" "history: metric with delta to the previous version"
has "$T/out" "loss 0.28 (-0.02)" "history: lower loss is a negative delta"
has "$T/out" "on fraud-api (canary, 10%)" "history: deployment detail"
has "$T/out" "retrained on June data" "history: reason"
run 0 "history --json" R history fraud-detector --type model --json
eq "$(json "$T/out" "[e['version'] for e in d['entries'] if e['kind']=='MODEL']")" "['1', '2']" \
    "history --json: versions in order"
eq "$(json "$T/out" "[round(e['metrics']['accuracy']['delta'],6) for e in d['entries'] if 'delta' in e.get('metrics',{}).get('accuracy',{})]")" \
    "[0.004]" "history --json: delta"
run 3 "history of an unknown name" R history no-such-model
has "$T/err" "no-such-model" "unknown name named"
run 2 "history given an identity" R history model:fraud-detector@1
run 0 "diff" R diff model:fraud-detector@1 model:fraud-detector@2
has "$T/out" "input training-data" "diff: the data input differs"
has "$T/out" "dataset:transactions@2026-06" "diff: B's data"
has "$T/out" "attr learning_rate" "diff: hyperparameter differs"
has "$T/out" "0.912 (+0.004)" "diff: metric delta"
hasnt "$T/out" "attr seed" "diff: equal fields hidden"
run 0 "diff --all --json" R diff model:fraud-detector@1 model:fraud-detector@2 --all --json
eq "$(json "$T/out" "[f['differs'] for f in d['fields'] if f['field']=='attr seed']")" "[False]" \
    "diff --all shows equal fields"
eq "$(json "$T/out" "d['differences'] >= 4")" True "diff --json counts differences"
run 3 "diff with an unknown version" R diff model:fraud-detector@1 model:fraud-detector@7
has "$T/err" "B: model:fraud-detector@7 was never recorded" "diff: unknown side named"

# ---- which-model -------------------------------------------------------------------------
run 0 "which-model now" R which-model fraud-api --at now
has "$T/out" "model:fraud-detector@2" "which-model: the live model"
has "$T/out" "100%" "which-model: its fraction"
has "$T/out" "production" "which-model: its stage"
has "$T/out" "live since seq $D2" "which-model: the deployment seq"
has "$T/out" "verified:" "which-model says what it verified"
run 0 "which-model between the deployments" R which-model fraud-api --at "$T1" --json
eq "$(json "$T/out" "[(s['model'], s['deployment_seq']) for s in d['serving']]")" \
    "[('model:fraud-detector@1', $D1)]" "which-model --at T1: model 1"
run 0 "which-model during the canary" R which-model fraud-api --at "$T2" --json
eq "$(json "$T/out" "sorted((s['model'], round(s['traffic_fraction'],3)) for s in d['serving'])")" \
    "[('model:fraud-detector@1', 0.9), ('model:fraud-detector@2', 0.1)]" "which-model: canary split"
run 0 "which-model before anything" R which-model fraud-api --at "$T0" --json
eq "$(json "$T/out" "d['serving']")" "[]" "which-model before the first deployment: nothing"
run 2 "which-model without --at" R which-model fraud-api
has "$T/err" "--at: required" "missing --at named"
run 2 "which-model with a bad TIME" R which-model fraud-api --at 2026-13-01T00:00:00Z
has "$T/err" "--at" "bad --at named"

# ---- record-decisions, prove-decision, verify-decision -----------------------------------------
"$PY" - "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" <<'EOF'
import hashlib, json, sys, time
t = sys.argv[1]
with open('decisions.jsonl', 'w') as f:
    for i in range(5):
        f.write(json.dumps({'id': 'txn-%d' % i, 'target': 'fraud-api', 'time': t,
            'input_digest': hashlib.sha256(b'in%d' % i).hexdigest(),
            'output_digest': hashlib.sha256(b'out%d' % i).hexdigest(),
            'model': 'model:fraud-detector@2'}) + '\n')
    f.write('\n')
    # The serving process names a version that was not the one deployed.
    f.write(json.dumps({'id': 'txn-5', 'target': 'fraud-api', 'time': t,
        'input_digest': hashlib.sha256(b'in5').hexdigest(),
        'output_digest': hashlib.sha256(b'out5').hexdigest(),
        'model': 'model:fraud-detector@1'}) + '\n')
with open('bad.jsonl', 'w') as f:
    f.write(json.dumps({'id': 'txn-b0', 'target': 'fraud-api', 'time': t,
        'input_digest': 'ab' * 32, 'output_digest': 'cd' * 32}) + '\n')
    f.write(json.dumps({'id': 'txn-b1', 'target': 'fraud-api', 'time': t,
        'input_digest': 'xyz', 'output_digest': 'cd' * 32}) + '\n')
with open('stdin.jsonl', 'w') as f:
    f.write(json.dumps({'id': 'txn-s0', 'time': time.time_ns(), 'input_digest': 'sha256:' + 'ab' * 32,
        'output_digest': 'cd' * 32}) + '\n')
with open('badtime.jsonl', 'w') as f:
    f.write(json.dumps({'id': 'txn-c0', 'target': 'fraud-api', 'time': 'noon',
        'input_digest': 'ab' * 32, 'output_digest': 'cd' * 32}) + '\n')
EOF
run 0 "record-decisions" R record-decisions decisions.jsonl
has "$T/out" "recorded 6 decisions; last batch seq" "record-decisions: count and batch seq"
BATCH=$(sed -n 's/.*last batch seq \([0-9]*\).*/\1/p' "$T/out")
run 0 "record-decisions from stdin --json" R record-decisions - --json --target fraud-api <stdin.jsonl
eq "$(json "$T/out" "(d['recorded'], d['last_batch_seq'] >= $BATCH)")" "(1, True)" \
    "record-decisions --json: count and batch seq; --target fills a missing target"
run 2 "record-decisions with a bad line" R record-decisions bad.jsonl
has "$T/err" "bad.jsonl:2: input_digest" "bad line: file, line and field named"
has "$T/err" "1 decision before it was recorded" "bad line: what was recorded before it"
run 2 "record-decisions with a bad time" R record-decisions badtime.jsonl
has "$T/err" "badtime.jsonl:1: time" "bad decision time named"
run 2 "record-decisions of a missing file" R record-decisions nowhere.jsonl

run 0 "prove-decision" R prove-decision txn-3 -o proof.bin
has "$T/out" "decision     txn-3 on fraud-api" "prove-decision: the decision"
has "$T/out" "model:fraud-detector@2" "prove-decision: the live model"
has "$T/out" "batch        seq $BATCH" "prove-decision: the batch seq"
has "$T/out" "ok  decision path -> batch root" "prove-decision: path checked"
has "$T/out" "ok  batch inclusion" "prove-decision: inclusion checked"
has "$T/out" "ok  checkpoint signature" "prove-decision: signature checked"
has "$T/out" "ok  timeline back-links" "prove-decision: back-links checked"
has "$T/out" "discrepancies none" "prove-decision: no discrepancy"
has "$T/out" "does not prove" "prove-decision says what it does not prove"
[ -s proof.bin ] && pass || failed "prove-decision -o writes the proof"
run 0 "prove-decision --json" R prove-decision txn-0 --target fraud-api --json
eq "$(json "$T/out" "(d['decision']['id'], d['batch']['seq'], d['verified'])")" "('txn-0', $BATCH, True)" \
    "prove-decision --json: id, batch, verified"
eq "$(json "$T/out" "[s['model'] for s in d['serving']]")" "['model:fraud-detector@2']" \
    "prove-decision --json: serving"
run 1 "prove-decision of a decision the records disagree on" R prove-decision txn-5
has "$T/out" "DISCREPANCIES" "discrepancy shown"
has "$T/out" "model:fraud-detector@1" "discrepancy: the model the serving process named"
run 2 "prove-decision never overwrites" R prove-decision txn-3 -o proof.bin
run 3 "prove-decision of an unknown id" R prove-decision txn-404
has "$T/err" "txn-404" "unknown decision named"
run 0 "verify-decision offline" "$M" verify-decision proof.bin --server 127.0.0.1:1
has "$T/out" "VERIFIED decision proof" "verify-decision: verified"
has "$T/out" "model:fraud-detector@2" "verify-decision: the model"
"$PY" - <<'EOF'
b = bytearray(open('proof.bin', 'rb').read())
i = b.find(b'txn-3'); b[i + 4] = ord('9')
open('proof-bad.bin', 'wb').write(bytes(b))
EOF
run 1 "verify-decision of a tampered proof" "$M" verify-decision proof-bad.bin
has "$T/err" "NOT VERIFIED" "tampered proof refused"
MLAUDIT_LOG_KEY= run 2 "verify-decision without --log-key" "$M" verify-decision proof.bin
has "$T/err" "--log-key: required" "verify-decision: missing log key named"
run 2 "verify-decision of a missing file" "$M" verify-decision nowhere.bin

# Sealed batches: the recorder signs each batch with the serving key the
# target's DEPLOYMENT named, and the proof shows that key signed it.
"$M" keygen --out serving --json >serving.json || exit 1
rec deployer deployment --name fraud-detector --version 2 --target fraud-batch --stage production \
    --serving-key serving.pub --reason "nightly batch scoring" --actor dave >/dev/null
"$PY" -c "
import hashlib, json, time
print(json.dumps({'id': 'sb-1', 'time': time.time_ns(), 'input_digest': hashlib.sha256(b'i').hexdigest(),
    'output_digest': hashlib.sha256(b'o').hexdigest()}))" >sealed.jsonl
run 0 "record-decisions sealed by a serving key" R record-decisions sealed.jsonl --target fraud-batch \
    --serving-key serving.key
run 0 "prove a sealed decision" R prove-decision sb-1
has "$T/out" "signed by key $(json serving.json "d['keyid']")" "the serving key signed the batch"
sed 's/"sb-1"/"sb-2"/' sealed.jsonl >sealed2.jsonl
run 3 "record-decisions sealed by a key no deployment named" R record-decisions sealed2.jsonl \
    --target fraud-batch --serving-key writer.key
has "$T/err" "DECISION_BATCH" "the refusal names what the key may not sign"
has "$T/err" "0 decisions acknowledged before the error" "record-decisions: how many got in"
run 2 "record-decisions with an unreadable serving key" R record-decisions sealed.jsonl \
    --serving-key nowhere.key

# An export holding batches sealed by the log's own key and by a serving key
# verifies offline: both may sign a target's DECISION_BATCH (SPEC §3).
run 0 "export with decision batches" R export -o decisions-export.jsonl
run 0 "export with decision batches verifies offline" R verify decisions-export.jsonl \
    --admin-key "$T/admin.pub"
has "$T/out" "VERIFIED export" "export with log- and serving-key-signed batches verified"

# ---- watch -------------------------------------------------------------------------------------
FROM=$(R checkpoint --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['size'])")
run 0 "watch with nothing new" R watch --max-seconds 1
# Model 3 regresses; it is deployed to production unapproved; then the target is rolled back.
M3=$(rec writer model --name fraud-detector --version 3 --digest "$(digest m3)" \
    --input dataset:transactions@2026-06:training-data "${INPUTS[@]}" --attr learning_rate=0.05 \
    --reason "higher learning rate" --actor alice)
E3=$(rec writer evaluation --type evaluation --name fraud-detector-eval --version 3 \
    --input model:fraud-detector@3:evaluated-model --metric accuracy=0.85 --metric loss=0.29 \
    --reason "holdout evaluation" --actor bob)
D3=$(rec deployer deployment --name fraud-detector --version 3 --target fraud-api \
    --stage production --reason "hotfix" --actor dave)
run 1 "watch replays alerts" R watch --from "$FROM" --to $((D3 + 1)) --max-seconds 60 --threshold loss=0.05 \
    --exec 'printf "%s %s|%s\n" "$MLAUDIT_ALERT_KIND" "$MLAUDIT_SEQ" "$MLAUDIT_ALERT" >>alerts.txt'
has "$T/out" "REGRESSION" "watch: regression alert"
has "$T/out" "accuracy 0.85 vs 0.912 for model:fraud-detector@2" "watch: regression names both"
hasnt "$T/out" "fraud-detector@3 loss" "watch: loss within its threshold"
has "$T/out" "UNAPPROVED_DEPLOYMENT" "watch: unapproved production deployment"
has alerts.txt "REGRESSION $E3|" "watch --exec: kind, seq and text in the environment"
has alerts.txt "UNAPPROVED_DEPLOYMENT $D3|model:fraud-detector@3 deployed to production" \
    "watch --exec: second alert"
run 1 "watch --json" R watch --from "$FROM" --to $((E3 + 1)) --max-seconds 60 --kind evaluation --json
eq "$(head -1 "$T/out" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d['alert'], d['seq'])")" \
    "REGRESSION $E3" "watch --json: one object per alert"
run 0 "watch of a range without alerts" R watch --from "$M3" --to $((M3 + 1))
has "$T/err" "stopped at --to: 0 alerts" "watch --to: a clean range"
run 2 "watch with a bad threshold" R watch --threshold accuracy
has "$T/err" "--threshold" "bad threshold named"
run 4 "watch of an unreachable server" "$M" "${G[@]}" --server 127.0.0.1:1 --timeout-ms 2000 \
    watch --max-seconds 1

# ---- rollback ------------------------------------------------------------------------------------
run 2 "rollback without --reason" R rollback fraud-api --key deployer.key
has "$T/err" "reason: required" "missing reason named"
run 2 "rollback without --key" R rollback fraud-api --reason "accuracy dropped"
has "$T/err" "--key: required" "missing key named"
run 3 "rollback of an unknown target" R rollback no-api --reason r --key deployer.key
has "$T/err" "no-api" "unknown target named"
run 0 "rollback --dry-run" R rollback fraud-api --reason "accuracy dropped" --dry-run
has "$T/out" "would roll back fraud-api from model:fraud-detector@3 to model:fraud-detector@2" \
    "rollback --dry-run says what it would do"
run 0 "rollback" R rollback fraud-api --reason "accuracy dropped" --key deployer.key
has "$T/out" "rolled back fraud-api from model:fraud-detector@3 to model:fraud-detector@2 at seq" \
    "rollback says what it did"
RB=$(sed -n 's/.* at seq \([0-9]*\).*/\1/p' "$T/out")
run 0 "which-model after the rollback" R which-model fraud-api --at now --json
eq "$(json "$T/out" "[(s['model'], s['deployment_seq']) for s in d['serving']]")" \
    "[('model:fraud-detector@2', $RB)]" "the rollback put model 2 back"
run 1 "watch sees the rollback" R watch --from "$RB" --to $((RB + 1)) --max-seconds 60
has "$T/out" "ROLLBACK" "watch: rollback alert"
has "$T/out" "fraud-api rolled back to model:fraud-detector@2" "watch: rollback named"
# Model 2 is live again; the one before it (skipping 3, rolled back from) is model 1.
run 0 "rollback again --json" R rollback fraud-api --reason "still bad" --key deployer.key --json
eq "$(json "$T/out" "(d['from'], d['to'])")" "('model:fraud-detector@2', 'model:fraud-detector@1')" \
    "a version rolled back from is skipped"
# Model 4 goes to production unapproved (a violation, recorded in audit
# mode), then model 5 approved: a rollback from 5 skips 4 and the versions
# rolled back from (3, 2), landing on 1.
for v in 4 5; do
    MV=$(rec writer model --name fraud-detector --version $v --digest "$(digest m$v)" \
        --input dataset:transactions@2026-06:training-data "${INPUTS[@]}" --reason "v$v" --actor alice)
    [ "$v" = 5 ] && rec reviewer approval --name fraud-detector --version 5 --approves "$MV" \
        --scope production --reason ok --actor carol >/dev/null
    DV=$(rec deployer deployment --name fraud-detector --version $v --target fraud-api \
        --stage production --reason "v$v live" --actor dave)
    [ "$v" = 4 ] && D4=$DV
done
run 0 "rollback skips a deployment with violations" R rollback fraud-api --reason r --dry-run
has "$T/out" "would roll back fraud-api from model:fraud-detector@5 to model:fraud-detector@1" \
    "rollback: the last good version"
has "$T/err" "skipped model:fraud-detector@4 (deployed at seq $D4): its deployment was recorded with policy violations" \
    "rollback names the version skipped for violations"
has "$T/err" "skipped model:fraud-detector@3" "rollback names the version rolled back from"
run 0 "rollback --to" R rollback fraud-api --reason "back to 4 after all" --to model:fraud-detector@4 \
    --key deployer.key --json
cp "$T/out" rb4.json
eq "$(json "$T/out" "(d['from'], d['to'], d['receipt']['seq'] == d['seq'])")" \
    "('model:fraud-detector@5', 'model:fraud-detector@4', True)" "rollback --to: the version named"
run 2 "rollback --to the live version" R rollback fraud-api --reason r --key deployer.key \
    --to model:fraud-detector@4
has "$T/err" "already live" "rollback to the live version refused"

# ---- the server going away under a monitor --------------------------------------------
# The watch replays the last rollback (one alert); its --exec writes to a FIFO,
# so once the test has read it the watch is mid-stream. Stopping the daemon
# then ends the stream: exit 4, never the 0 of a quiet --max-seconds.
RB4=$(json "$T/rb4.json" "d['seq']")
mkfifo ready.fifo
R watch --from "$RB4" --kind rollback --max-seconds 120 --exec 'echo up >ready.fifo' \
    >watch-stop.out 2>watch-stop.err &
WPID=$!
eq "$(timeout 60 cat ready.fifo)" up "watch is streaming (its --exec ran)"
daemon_stop daemon "the daemon exits 0 on SIGTERM with a subscriber"
wait "$WPID"
eq "$?" 4 "watch exits 4 when the server goes away"
has watch-stop.out "ALERT ROLLBACK" "watch printed the alert before the server went away"
has watch-stop.err "resume with --from" "watch says where to resume"

summary cli_semantics
