#!/usr/bin/env bash
# The mlaudit demo, on a fresh Debian 12 machine: installs the missing
# packages, builds, generates keys, starts mlauditd on a temporary data
# directory (loopback, plaintext), records a small realistic ML history
# (last month's model in production with the snapshot it was trained on, a
# new dataset snapshot, a code commit, a training config, an environment, a
# model trained from them, an evaluation, an approval, a canary then a
# production deployment, a rollback), prints the checkpoint, proves an entry,
# verifies consistency and an export offline, stops the daemon, audits its
# data directory, and says where everything is.
# Usage: ./deploy/demo.sh   (env JOBS: build parallelism; BUILD_DIR: default build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
B=${BUILD_DIR:-build}

step() { printf '\n==== %s\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed "s|$root/$B/cli/||; s|$D/||g"; "$@"; }

# ---- packages (one list, deploy/packages.sh) -------------------------------------
./deploy/packages.sh

# ---- build ----------------------------------------------------------------------
step "building mlauditd and mlaudit into $B/"
if [ ! -f "$B/build.ninja" ]; then
  meson setup "$B" >"$B.setup.log" 2>&1 || { cat "$B.setup.log"; exit 1; }
fi
ninja -C "$B" -j "${JOBS:-$(nproc)}" ledger/mlauditd cli/mlaudit
MLAUDITD=$root/$B/ledger/mlauditd
mlaudit() { "$root/$B/cli/mlaudit" "$@"; }

# ---- keys -----------------------------------------------------------------------------
D=$(mktemp -d "${TMPDIR:-/tmp}/mlaudit-demo.XXXXXX")
mkdir -p "$D/keys" "$D/work" "$D/state"
step "keys in $D/keys"
for k in admin data-pipeline trainer reviewer deployer; do
  mlaudit keygen --out "$D/keys/$k" | head -1 | sed "s/^/$k: /"
done

# ---- the daemon ---------------------------------------------------------------------
step "starting mlauditd (data in $D/data, loopback, plaintext)"
PID=
stop_daemon() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; wait "$PID" || true; fi
  PID=
}
trap stop_daemon EXIT
# The compliance policy (deploy/policy.example.ini documents every key): a
# production deployment needs a documented, evaluated model approved by someone
# other than its trainer, and may not lose more than 0.01 AUC.
cat >"$D/policy.ini" <<'EOF'
[policy]
mode = enforce
production_stages = production
require_inputs = training-data, code, config, environment
require_evaluation = true
require_approval = true
require_reason = true
require_attributes = seed
[regression]
auc = higher 0.01
EOF
"$MLAUDITD" --init --data-dir "$D/data" --origin demo.mlaudit.local/ledger \
  --admin-key "$D/keys/admin.pub" --listen 127.0.0.1:0 --insecure --port-file "$D/port" \
  --policy "$D/policy.ini" 2>"$D/mlauditd.log" &
PID=$!
for _ in $(seq 300); do
  [ -s "$D/port" ] && [ -s "$D/data/log.vkey" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$D/mlauditd.log"; echo "mlauditd exited"; exit 1; }
  sleep 0.1
done
[ -s "$D/port" ] || { echo "mlauditd did not start within 30 s"; exit 1; }
export MLAUDIT_SERVER=$(cat "$D/port") MLAUDIT_INSECURE=1 MLAUDIT_LOG_KEY="@$D/data/log.vkey"
mlaudit() { "$root/$B/cli/mlaudit" --state-dir "$D/state" "$@"; }
echo "listening on $MLAUDIT_SERVER; log key $(cat "$D/data/log.vkey")"

# ---- register the signing keys (KEY entries signed by the admin) ----------------------------
step "registering keys"
K=$D/keys
mlaudit key register "$K/data-pipeline.pub" --kinds dataset --label data-pipeline \
  --key "$K/admin.key" --actor security-team --reason "nightly snapshot job may record datasets" >/dev/null
mlaudit key register "$K/trainer.pub" --kinds code,config,environment,model,evaluation \
  --label training-ci --key "$K/admin.key" --actor security-team \
  --reason "training CI records code, configs, environments, models and evaluations" >/dev/null
mlaudit key register "$K/reviewer.pub" --kinds approval --label model-risk \
  --key "$K/admin.key" --actor security-team --reason "model risk team approves releases" >/dev/null
mlaudit key register "$K/deployer.pub" --kinds deployment,rollback --label release \
  --key "$K/admin.key" --actor security-team --reason "release pipeline deploys and rolls back" >/dev/null
echo "4 keys registered"

# ---- a small ML history -------------------------------------------------------------------
W=$D/work
step "recording an ML history (artifacts in $W)"
# The data snapshot, the code, the config, the environment.
mkdir -p "$W/transactions-2026-05" "$W/transactions-2026-06"
for part in 0 1 2; do
  { echo "tx_id,amount,merchant,label"
    for i in $(seq 1 200); do echo "$part$i,$((i * 37 % 1000)).$((i % 100)),m$((i % 17)),$((i % 23 == 0))"; done
  } >"$W/transactions-2026-06/part-$part.csv"
  { echo "tx_id,amount,merchant,label"
    for i in $(seq 1 150); do echo "$part$i,$((i * 41 % 1000)).$((i % 100)),m$((i % 13)),$((i % 29 == 0))"; done
  } >"$W/transactions-2026-05/part-$part.csv"
done
cat >"$W/train.py" <<'EOF'
import json, random, sys
cfg = json.load(open(sys.argv[1]))
random.seed(cfg["seed"])
print("training gradient-boosted trees with", cfg["hyperparameters"])
EOF
cat >"$W/train-config.json" <<'EOF'
{"hyperparameters": {"learning_rate": 0.01, "max_depth": 6, "n_estimators": 400},
 "seed": 42, "features": ["amount", "merchant"]}
EOF
printf 'python==3.11.2\nxgboost==2.0.3\nscikit-learn==1.4.2\nnumpy==1.26.4\n' >"$W/requirements.lock"
mkdir -p "$W/fraud-detector-3"
head -c 65536 /dev/urandom >"$W/fraud-detector-3/model.ubj"
printf '{"format": "xgboost-ubj", "features": ["amount", "merchant"]}\n' >"$W/fraud-detector-3/meta.json"
mkdir -p "$W/fraud-detector-2"
head -c 65536 /dev/urandom >"$W/fraud-detector-2/model.ubj"

rec() { printf '%-12s ' "$1"; mlaudit record "$@" | head -1; }
# A model names what it was built from (at least one input), so v2's
# training snapshot comes first.
rec dataset --name transactions --version 2026-05 --path "$W/transactions-2026-05" \
  --uri s3://data/transactions/2026-05 --attr rows=450 --actor nightly-snapshot \
  --key "$K/data-pipeline.key" --reason "May transactions snapshot, v2's training data"
# Its seq, from a receipt saved with --receipt-out.
seq_of() { "$root/$B/cli/mlaudit" verify "$1" --json | sed -n 's/.*"seq": \([0-9]*\).*/\1/p'; }
printf '%-12s ' model
mlaudit record model --name fraud-detector --version 2 --path "$W/fraud-detector-2" \
  --uri s3://models/fraud-detector/2 --input dataset:transactions@2026-05:training-data \
  --input code:fraud-training@4b8d0aa:code --input config:fraud-train-config@2:config \
  --input environment:fraud-train-env@2026-05-01:environment --attr seed=7 \
  --actor alice --key "$K/trainer.key" \
  --reason "last month's production model, recorded for the timeline" \
  --receipt-out "$D/receipt-model-2.json" | head -1
rec evaluation --name fraud-detector-eval --version 2 --type evaluation \
  --input model:fraud-detector@2:evaluated-model \
  --input dataset:transactions@2026-05:test-data --metric auc=0.895 \
  --actor bob --key "$K/trainer.key" --reason "holdout evaluation of v2 (May)"
rec approval --name fraud-detector --version 2 --approves "$(seq_of "$D/receipt-model-2.json")" \
  --scope production --actor carol --key "$K/reviewer.key" --reason "v2 approved in May"
rec deployment --name fraud-detector --version 2 --target fraud-api --stage production \
  --traffic 1 --actor release-bot --key "$K/deployer.key" --reason "v2 in production since May"
rec dataset --name transactions --version 2026-06 --path "$W/transactions-2026-06" \
  --uri s3://data/transactions/2026-06 --attr rows=600 --actor nightly-snapshot \
  --key "$K/data-pipeline.key" --reason "June transactions snapshot for retraining"
rec code --name fraud-training --version 9f2c1e7 --path "$W/train.py" \
  --uri git+https://git.example/ml/fraud-training@9f2c1e7 --actor alice --key "$K/trainer.key" \
  --reason "training code at the commit used for v3"
rec config --name fraud-train-config --version 3 --path "$W/train-config.json" \
  --attr learning_rate=0.01 --attr max_depth=6 --attr n_estimators=400 --attr seed=42 \
  --actor alice --key "$K/trainer.key" --reason "hyperparameters chosen by the June sweep"
rec environment --name fraud-train-env --version 2026-06-01 --path "$W/requirements.lock" \
  --attr python=3.11.2 --attr xgboost=2.0.3 --attr scikit-learn=1.4.2 --attr numpy=1.26.4 \
  --actor alice --key "$K/trainer.key" --reason "pinned training environment"
printf '%-12s ' model
mlaudit record model --name fraud-detector --version 3 --path "$W/fraud-detector-3" \
  --uri s3://models/fraud-detector/3 \
  --input dataset:transactions@2026-06:training-data \
  --input code:fraud-training@9f2c1e7:code \
  --input config:fraud-train-config@3:config \
  --input environment:fraud-train-env@2026-06-01:environment \
  --input model:fraud-detector@2:base-model \
  --attr learning_rate=0.01 --attr seed=42 --metric train_auc=0.94 --actor alice \
  --key "$K/trainer.key" --reason "retrained on June data to catch new card-testing patterns" \
  --receipt-out "$D/receipt-model-3.json" | head -1
MODEL_SEQ=$(seq_of "$D/receipt-model-3.json")
rec evaluation --name fraud-detector-eval --version 3 --type evaluation \
  --input model:fraud-detector@3:evaluated-model \
  --input dataset:transactions@2026-06:test-data \
  --metric auc=0.91 --metric recall_at_1pct_fpr=0.62 \
  --actor bob --key "$K/trainer.key" --reason "holdout evaluation before release"
rec approval --name fraud-detector --version 3 --approves "$MODEL_SEQ" --scope production \
  --actor carol --key "$K/reviewer.key" \
  --reason "model risk review passed: metrics, data lineage and documentation complete"

# Decision receipts as the serving process streams them (SPEC §3): ids, times,
# digests of input and output (never the data), and the model it says it used.
# decisions PREFIX N: N JSON lines timed from now, 1 µs apart, claiming $LIVE
# (one in 20 claims $CANARY when it is set).
decisions() {
  awk -v p="$1" -v n="$2" -v t0="$(date +%s%N)" -v canary="${CANARY:-}" -v live="$LIVE" 'BEGIN {
    for (i = 1; i <= n; i++) {
      m = (canary != "" && i % 20 == 0) ? canary : live
      ns = substr(t0, 11) + i * 1000
      printf "{\"id\":\"%s-%06d\",\"target\":\"fraud-api\",\"time\":%d%09d,", p, i, substr(t0, 1, 10) + int(ns / 1e9), ns % 1e9
      printf "\"input_digest\":\"%08x%08x%08x%08x%08x%08x%08x%08x\",", i, i * 3, i * 5, i * 7, i * 11, i * 13, i * 17, i * 19
      printf "\"output_digest\":\"%08x%08x%08x%08x%08x%08x%08x%08x\",\"model\":\"%s\"}\n", i % 2, i, 0, 0, 0, 0, 0, i % 1000, m
    } }'
}
step "100,000 decision receipts over RecordDecisions, in three phases of the rollout"
LIVE=model:fraud-detector@2 CANARY=model:fraud-detector@3
rec deployment --name fraud-detector --version 3 --target fraud-api --stage canary \
  --traffic 0.05 --actor release-bot --key "$K/deployer.key" --reason "canary at 5% of traffic"
decisions canary 40000 >"$W/decisions-canary.jsonl"
printf '%-12s ' decisions; mlaudit record-decisions "$W/decisions-canary.jsonl" | head -1
rec deployment --name fraud-detector --version 3 --target fraud-api --stage production \
  --traffic 1 --actor release-bot --key "$K/deployer.key" --reason "canary healthy for 24h"
LIVE=model:fraud-detector@3 CANARY=
decisions prod 40000 >"$W/decisions-prod.jsonl"
printf '%-12s ' decisions; mlaudit record-decisions "$W/decisions-prod.jsonl" | head -1

step "model v4 regresses on AUC: the policy refuses its production deployment"
mkdir -p "$W/fraud-detector-4"
head -c 65536 /dev/urandom >"$W/fraud-detector-4/model.ubj"
printf '%-12s ' model
mlaudit record model --name fraud-detector --version 4 --path "$W/fraud-detector-4" \
  --uri s3://models/fraud-detector/4 --input dataset:transactions@2026-06:training-data \
  --input code:fraud-training@9f2c1e7:code --input config:fraud-train-config@3:config \
  --input environment:fraud-train-env@2026-06-01:environment \
  --input model:fraud-detector@3:base-model --attr seed=43 --actor alice \
  --key "$K/trainer.key" --reason "v3 retrained with a smaller tree budget" \
  --receipt-out "$D/receipt-model-4.json" | head -1
rec evaluation --name fraud-detector-eval --version 4 --type evaluation \
  --input model:fraud-detector@4:evaluated-model \
  --input dataset:transactions@2026-06:test-data --metric auc=0.87 \
  --actor bob --key "$K/trainer.key" --reason "holdout evaluation of v4"
rec approval --name fraud-detector --version 4 --approves "$(seq_of "$D/receipt-model-4.json")" \
  --scope production --actor carol --key "$K/reviewer.key" --reason "approved pending metrics"
set +e
mlaudit record deployment --name fraud-detector --version 4 --target fraud-api \
  --stage production --traffic 1 --actor release-bot --key "$K/deployer.key" \
  --reason "ship v4" 2>&1 | sed 's/^/refused: /'
status=${PIPESTATUS[0]}
set -e
[ "$status" = 3 ] || { echo "the policy should have refused v4 (exit 3), got $status"; exit 1; }

step "v3 misbehaves in production: roll back to v2"
show mlaudit rollback fraud-api --to model:fraud-detector@2 --actor dave \
  --key "$K/deployer.key" --reason "false-positive rate doubled on merchant m7; back to v2"
LIVE=model:fraud-detector@2 CANARY=
decisions after 20000 >"$W/decisions-after.jsonl"
printf '%-12s ' decisions; mlaudit record-decisions "$W/decisions-after.jsonl" | head -1

# ---- reading and proving ----------------------------------------------------------------------
step "the log"
show mlaudit log
step "the latest checkpoint (verified, consistent with what this CLI saw before)"
show mlaudit checkpoint
step "entry $MODEL_SEQ (model v3), verified by its inclusion proof"
show mlaudit get "$MODEL_SEQ"
step "proving entry $MODEL_SEQ in the checkpoint of its receipt, and that checkpoint consistent with the latest"
/usr/bin/python3 -c "import json,sys; sys.stdout.write(json.load(open('$D/receipt-model-3.json'))['checkpoint'])" \
  >"$D/checkpoint-at-model-3.note"
show mlaudit prove "$MODEL_SEQ" --checkpoint "$D/checkpoint-at-model-3.note"
step "the receipt, verified offline"
show mlaudit verify "$D/receipt-model-3.json"
step "export and offline verification of every entry and signature"
show mlaudit export -o "$D/export.jsonl"
show mlaudit verify "$D/export.jsonl" --admin-key "$K/admin.pub"

# ---- which model made decision X at time T? --------------------------------------------------
X=canary-000020
XT=$(grep -F "\"$X\"" "$W/decisions-canary.jsonl" | sed 's/.*"time":\([0-9]*\),.*/\1/')
XTIME=$(date -u -d "@${XT:0:10}" +%Y-%m-%dT%H:%M:%S).${XT:10}Z
step "what served fraud-api at $XTIME (the moment of decision $X)"
show mlaudit which-model fraud-api --at "$XTIME"
step "which model made decision $X, with its proof (saved to $D/decision-$X.proof)"
show mlaudit prove-decision "$X" -o "$D/decision-$X.proof"

# ---- reports: what an auditor reads (SPEC §7) ------------------------------------------------
R="$D/reports"
mkdir -p "$R"
step "reports: lineage of model v3, decision $X, an audit of the whole log, v2 against v3"
show mlaudit report lineage model:fraud-detector@3 --admin-key "$K/admin.pub" -o "$R/lineage-fraud-detector-3.html"
for f in json md prov; do
  mlaudit report lineage model:fraud-detector@3 --admin-key "$K/admin.pub" -o "$R/lineage-fraud-detector-3.$f" | head -1
done
show mlaudit report decision --id "$X" --admin-key "$K/admin.pub" -o "$R/decision-$X.html"
show mlaudit report audit --admin-key "$K/admin.pub" -o "$R/audit.html"
show mlaudit report diff model:fraud-detector@2 model:fraud-detector@3 --admin-key "$K/admin.pub" \
  -o "$R/diff-fraud-detector-2-3.html"

# ---- stop and audit ---------------------------------------------------------------------------
step "stopping mlauditd and auditing its data directory offline"
stop_daemon
show mlaudit audit "$D/data" --admin-key "$K/admin.pub" --log-key "@$D/data/log.vkey"
step "decision $X's proof, verified with no server"
show mlaudit verify-decision "$D/decision-$X.proof" --log-key "@$D/data/log.vkey"
step "every report, verified with no server (entries, proofs, checkpoint, signatures, every fact)"
for f in "$R"/*.html "$R"/*.json; do
  show mlaudit verify "$f" --log-key "@$D/data/log.vkey" --admin-key "$K/admin.pub"
done

step "where everything is"
cat <<EOF
data directory (LevelDB store, log key)   $D/data
log verifier key                          $D/data/log.vkey
daemon log (JSON lines)                   $D/mlauditd.log
signing keys                              $D/keys
artifacts that were recorded              $D/work
receipt of model v3                       $D/receipt-model-3.json
compliance policy (enforce)               $D/policy.ini
decision receipts that were streamed      $W/decisions-*.jsonl
proof of decision $X            $D/decision-$X.proof
verifiable export                         $D/export.jsonl
reports (HTML, Markdown, JSON, PROV-JSON) $R
  lineage of model v3                     $R/lineage-fraud-detector-3.html (.md .json .prov)
  which model made decision $X   $R/decision-$X.html
  audit of the whole log                  $R/audit.html
  model v2 against v3                     $R/diff-fraud-detector-2-3.html
remembered checkpoints (fork detection)   $D/state
CLI                                       $root/$B/cli/mlaudit --help
Restart the daemon on the same data:
  $MLAUDITD --data-dir $D/data --admin-key $D/keys/admin.pub --insecure --listen 127.0.0.1:7070
Remove everything: rm -rf $D
EOF
