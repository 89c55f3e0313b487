# shellcheck shell=bash
# lib.sh: the harness the shell suites share (tests/cli/test_cli.sh,
# tests/cli/test_cli_semantics.sh, tests/reports/test_reports.sh), sourced
# after `set -uo pipefail`: a temporary directory $T, check counting
# (pass/failed and the checks run, has, hasnt, eq, json), and mlauditd
# daemons on 127.0.0.1 port 0 (started with a bounded wait, stopped with
# SIGTERM and checked to exit 0, killed if the script ends first).
# Needs DAEMON (the mlauditd binary) before daemon_start.

PY=/usr/bin/python3
n_ok=0
n_fail=0
declare -A LIB_PIDS=()

lib_cleanup() {
    local p
    for p in "${LIB_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$T"
}

# lib_setup TAG: make $T (mla-TAG.XXXXXX under $TMPDIR), removed on exit with
# every daemon still running killed.
lib_setup() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/mla-$1.XXXXXX") || exit 1
    trap lib_cleanup EXIT
    trap 'exit 1' INT TERM HUP
}

pass() { n_ok=$((n_ok + 1)); }
failed() {
    n_fail=$((n_fail + 1))
    echo "FAIL: $*" >&2
}

# run CODE DESC CMD...: stdout in $T/out, stderr in $T/err; check the exit code.
run() {
    local want=$1 desc=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then pass; else
        failed "$desc: exit $rc, want $want: $*"
        sed 's/^/  out: /' "$T/out" | head -30 >&2
        sed 's/^/  err: /' "$T/err" | head -30 >&2
    fi
}
# has FILE TEXT DESC / hasnt FILE TEXT DESC: fixed-string search.
has() {
    if grep -qF -- "$2" "$1"; then pass; else
        failed "$3: '$2' not in $(basename "$1")"
        head -c 2000 "$1" | head -40 | sed 's/^/  | /' >&2
    fi
}
hasnt() {
    if grep -qF -- "$2" "$1"; then
        failed "$3: '$2' found in $(basename "$1")"
        grep -nF -- "$2" "$1" | head -5 | cut -c1-300 | sed 's/^/  | /' >&2
    else pass; fi
}
eq() { if [ "$1" = "$2" ]; then pass; else failed "$3: '$1' != '$2'"; fi; }
# json FILE EXPR: print the Python expression EXPR of the document d.
json() { "$PY" -c "import json,sys; d=json.load(open('$1')); print($2)"; }

# daemon_start NAME ARGS...: mlauditd ARGS on 127.0.0.1 port 0 (--insecure)
# in the background, stderr in $T/NAME.log; returns once $T/NAME.port names
# its address (written after data_dir/log.vkey), exiting the script with the
# log if the daemon exits first or takes over 30 s.
daemon_start() {
    local name=$1 i=0
    shift
    "$DAEMON" "$@" --listen 127.0.0.1:0 --insecure --port-file "$T/$name.port" \
        2>"$T/$name.log" &
    LIB_PIDS[$name]=$!
    while [ ! -s "$T/$name.port" ]; do
        kill -0 "${LIB_PIDS[$name]}" 2>/dev/null ||
            { cat "$T/$name.log" >&2; echo "mlauditd $name exited" >&2; exit 1; }
        i=$((i + 1))
        [ "$i" -le 300 ] || { echo "mlauditd $name: no port file after 30 s" >&2; exit 1; }
        sleep 0.1
    done
}
# daemon_stop NAME [DESC]: SIGTERM and wait; a check that it exits 0.
daemon_stop() {
    local pid=${LIB_PIDS[$1]}
    unset "LIB_PIDS[$1]"
    kill -TERM "$pid"
    wait "$pid"
    eq "$?" 0 "${2:-mlauditd $1 exits 0 on SIGTERM}"
}

# summary NAME: the line tests/run.sh and meson read; fails if a check did.
summary() {
    echo "$1: $n_ok checks passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
}
