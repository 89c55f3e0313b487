#!/usr/bin/env bash
# Source checks (s2n's grep_simple_mistakes.sh, curl's checksrc): formatting,
# banned calls, and layering: only crypto/ calls gcry_*, only store/ calls
# leveldb_*, only codec/ calls protobuf_c_*, only service/ calls grpc_*.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
dirs=()
for d in ledger cli reports tests/unit tests/integration tests/fuzz tests/bench; do
  [ -d "$d" ] && dirs+=("$d")
done
src=$(find "${dirs[@]}" -name '*.[ch]' | sort)
code=$(echo "$src" | grep -E '^(ledger|cli|reports)/' || true)

if ! clang-format --dry-run --Werror $src 2>/tmp/mla-format.log; then
  head -40 /tmp/mla-format.log; echo "clang-format: files differ from .clang-format"; fail=1
fi

banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atof|strncpy|alloca)[[:space:]]*\('
if grep -nE "$banned" $src; then echo "banned calls above (STYLE.md)"; fail=1; fi

layer() { # pattern, allowed dir
  local hits
  hits=$(grep -lE "$1" $code | grep -vE "^$2/" || true)
  if [ -n "$hits" ]; then echo "layering: $1 used outside $2: $hits"; fail=1; fi
}
layer '\bgcry_' ledger/crypto
layer '\bleveldb_' ledger/store
layer '\bprotobuf_c_[a-z_]+\(|__(pack|unpack|free_unpacked)\(' ledger/codec
layer '\bgrpc_' 'ledger/(service|client)'

[ $fail = 0 ] && echo "source checks passed"
exit $fail
