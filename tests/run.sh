#!/usr/bin/env bash
# Build and run every test suite: installs missing Debian packages, then
#   1. a normal build (-Werror) with all unit suites, corpus replays and
#      integration tests,
#   2. an ASan+UBSan build running the same suites,
#   3. short libFuzzer runs of every fuzz target under clang,
#   4. source checks (clang-format, banned calls, layering).
# Usage: ./tests/run.sh [--quick]   (--quick: normal build only)
# Env: FUZZ_SECONDS (default 15 per target), JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

step() { printf '\n==== %s\n' "$*"; }

# ---- 1. packages ------------------------------------------------------------
./deploy/packages.sh

jobs=${JOBS:-$(nproc)}

build_and_test() { # dir, meson options...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  ninja -C "$dir" -j "$jobs"
  # -v prints each Check summary line ("100%: Checks: N, Failures: 0, Errors: 0").
  meson test -C "$dir" -v --num-processes "$jobs" --print-errorlogs
}

# ---- 2. normal build ----------------------------------------------------------
step "normal build (gcc, -Werror)"
build_and_test build
step "benchmark smoke runs (full runs: the same programs without --smoke)"
./build/tests/bench/bench_ledger --smoke
./build/tests/bench/bench_grpc --smoke --mlauditd ./build/ledger/mlauditd
./build/tests/bench/bench_semantics --smoke --mlauditd ./build/ledger/mlauditd
./build/tests/bench/bench_reports --smoke --mlauditd ./build/ledger/mlauditd
[ $quick = 1 ] && exit 0

# ---- 3. sanitizers ------------------------------------------------------------
step "ASan + UBSan build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build_and_test build-asan -Db_sanitize=address,undefined -Dbuildtype=debug

# ---- 4. fuzzing ---------------------------------------------------------------
step "fuzzing (clang libFuzzer, ${FUZZ_SECONDS:-15}s per target)"
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dtests=disabled >build-fuzz.setup.log 2>&1 || { cat build-fuzz.setup.log; exit 1; }
fi
ninja -C build-fuzz -j "$jobs"
for f in build-fuzz/tests/fuzz/fuzz_*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  name=${f##*/fuzz_}
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
  "$f" -max_total_time="${FUZZ_SECONDS:-15}" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 "$work" 2>"$work.log" || { tail -40 "$work.log"; exit 1; }
  grep -E 'stat::number_of_executed_units' "$work.log" | sed "s/^/fuzz_$name: /"
  rm -rf "$work" "$work.log"
done

# ---- 5. source checks ---------------------------------------------------------
step "source checks"
"$root/tests/check_source.sh"
echo "all test stages passed"
