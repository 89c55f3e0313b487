#!/bin/sh
# Interoperability test: a real mlauditd, and the independent Python client
# (interop_client.py, built only from proto/ and the published formats)
# appending five times and verifying receipts, inclusion and consistency proofs
# and checkpoint signatures with its own code; then a graceful SIGTERM stop.
#
# Environment: MLAUDITD (daemon binary, required), MLAUDIT (CLI binary,
# optional: used for keygen when present), SRCDIR (source root; default: two
# levels above this script). Exit 77 (skipped) when Debian's Python modules
# are missing.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$HERE/../..}
PY=/usr/bin/python3
CLIENT=$HERE/interop_client.py

fail() {
    echo "test_interop: FAIL: $*" >&2
    if [ -n "${D:-}" ] && [ -s "$D/daemon.log" ]; then
        echo "--- mlauditd stderr ---" >&2
        cat "$D/daemon.log" >&2
    fi
    exit 1
}

[ -n "${MLAUDITD:-}" ] || { echo "test_interop: MLAUDITD is not set" >&2; exit 2; }
[ -x "$MLAUDITD" ] || { echo "test_interop: $MLAUDITD is not executable" >&2; exit 2; }
if ! "$PY" -c 'import grpc, grpc_tools, google.protobuf, cryptography' 2>/dev/null; then
    echo "test_interop: SKIP: $PY lacks python3-grpcio/-grpc-tools/-protobuf/-cryptography" >&2
    exit 77
fi

D=$(mktemp -d "${TMPDIR:-/tmp}/mla-interop.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# keygen NAME: NAME.key (private) and NAME.pub (public), with the CLI when it
# is built, otherwise in Python from the documented key-file format.
keygen() {
    if [ -n "${MLAUDIT:-}" ] && [ -x "$MLAUDIT" ]; then
        "$MLAUDIT" keygen --out "$D/$1.key" >"$D/keygen-$1.out" 2>&1 ||
            fail "mlaudit keygen --out $D/$1.key: $(cat "$D/keygen-$1.out")"
        if [ ! -f "$D/$1.pub" ]; then
            for p in "$D/$1.key.pub" "$D/$1.pub.key"; do
                if [ -f "$p" ]; then cp "$p" "$D/$1.pub"; break; fi
            done
        fi
        [ -f "$D/$1.pub" ] || "$PY" "$HERE/keyfile.py" public "$D/$1.key" "$D/$1.pub" ||
            fail "cannot derive $1.pub"
    else
        "$PY" "$HERE/keyfile.py" generate "$D/$1.key" "$D/$1.pub" || fail "key generation"
    fi
}
keygen log
keygen admin

mkdir "$D/data"
"$MLAUDITD" --data-dir "$D/data" --listen 127.0.0.1:0 --insecure --port-file "$D/port" \
    --signing-key "$D/log.key" --admin-key "$D/admin.pub" --init 2>"$D/daemon.log" &
PID=$!

# Wait (bounded: 30 s) for the port file and the verifier key.
i=0
while [ ! -s "$D/port" ] || [ ! -s "$D/data/log.vkey" ]; do
    kill -0 "$PID" 2>/dev/null || { wait "$PID" && rc=0 || rc=$?; PID=; fail "mlauditd exited ($rc) before listening"; }
    i=$((i + 1))
    [ "$i" -le 300 ] || fail "no port file / log.vkey after 30 s"
    sleep 0.1
done
ADDR=$(cat "$D/port")
echo "test_interop: mlauditd pid $PID on $ADDR, log key $(cat "$D/data/log.vkey")"

run_client() {
    "$PY" "$CLIENT" --server "$ADDR" --key "$D/admin.key" --log-key "@$D/data/log.vkey" \
        --proto-dir "$SRCDIR/proto" --vectors "$SRCDIR/tests/vectors" --version "$1" \
        >"$D/client-$1.out" 2>&1 || { cat "$D/client-$1.out" >&2; fail "client run $1"; }
    cat "$D/client-$1.out"
}
run_client 1.0.0
grep -q '^interop: OK seq=0 tree_size=1 ' "$D/client-1.0.0.out" || fail "first append: want seq 0 in a tree of 1"
# Later runs: trees of 2..5 leaves (odd sizes and powers of two), each with a
# consistency proof from the previous signed checkpoint and from every
# earlier size.
for n in 1 2 3 4; do
    run_client "1.0.$n"
    grep -q "^interop: OK seq=$n tree_size=$((n + 1)) .*(earlier size $n)" "$D/client-1.0.$n.out" ||
        fail "append $((n + 1)): want seq $n in a tree of $((n + 1)), consistency from $n"
done

# Graceful stop: SIGTERM, exit status 0 within 30 s.
kill -TERM "$PID"
i=0
while kill -0 "$PID" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -le 300 ] || fail "mlauditd still running 30 s after SIGTERM"
    sleep 0.1
done
wait "$PID" && rc=0 || rc=$?
PID=
[ "$rc" -eq 0 ] || fail "mlauditd exited $rc after SIGTERM, want 0"
echo "test_interop: OK"
