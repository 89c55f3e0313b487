#!/usr/bin/env bash
# The Debian 12 packages mlaudit needs to build, run, test and fuzz: installs
# whichever are missing (apt-get, via sudo when not root). One list, used by
# ./deploy/demo.sh and ./tests/run.sh.
set -euo pipefail
packages=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev clang-format
          libgcrypt20-dev libleveldb-dev libsnappy-dev protobuf-c-compiler
          libprotobuf-c-dev check libgrpc-dev libjansson-dev libinih-dev
          python3 python3-grpcio python3-grpc-tools python3-protobuf python3-cryptography openssl
          libgraphviz-dev python3-jsonschema chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
printf '\n==== installing: %s\n' "${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
