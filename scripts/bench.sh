#!/usr/bin/env bash
# `make bench`: installs the pinned load generator (oha) when missing, builds optimised binaries (profile `perf`),
# starts DynamoDB Local in memory, runs the bench driver (which starts the emulator and the services
# as separate processes on 127.0.0.1 and stops them) and saves the table to bench/results.md.
# Everything started here is stopped by PID. Never part of `make test`.
# `scripts/bench.sh soak` runs `make soak` instead (SOAK_MINUTES, default 30) and saves bench/soak.md;
# `scripts/bench.sh link-order` runs `make link-order` (needs valgrind) and saves bench/link-order.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/progress.sh
. scripts/lib/progress.sh
mode="${1:-}"
case "$mode" in
  "") out=bench/results.md ;;
  soak) out=bench/soak.md ;;
  link-order)
    out=bench/link-order.txt
    command -v valgrind >/dev/null || { echo "make link-order needs valgrind (apt-get install valgrind)" >&2; exit 1; } ;;
  *) echo "usage: $0 [soak|link-order]" >&2; exit 2 ;;
esac

OHA_VERSION=1.16.0
tools="${UGC_TOOLS_DIR:-$HOME/.cache/ugc-backend/tools}"
oha="$tools/bin/oha"
if ! [ -x "$oha" ] || ! "$oha" --version 2>/dev/null | grep -q "$OHA_VERSION"; then
  echo "installing oha $OHA_VERSION into $tools (first run only; takes a few minutes) ..." >&2
  cargo install --locked --root "$tools" oha --version "$OHA_VERSION"
fi

stage "make bench: building (profile perf; cargo shows its progress)"
cargo build --profile perf --locked -p ugc-local -p ugc-bench
stage "running the bench"

work=$(mktemp -d)
port=$(scripts/free-port.sh)
ddb_pid=$(scripts/dynamodb-local.sh start "$port")
cleanup() {
  kill "$ddb_pid" 2>/dev/null || true
  wait "$ddb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL || true

export BENCH_DDB="http://127.0.0.1:$port" BENCH_DDB_PID="$ddb_pid" BENCH_OHA="$oha" \
  BENCH_LOCAL_BIN="$root/target/perf/ugc-local" BENCH_DATA_DIR="$work/data" BENCH_LOG_DIR="$work"
if [ "$mode" = link-order ]; then
  "$root/target/perf/ugc-bench" link-order "$out.tmp"  # a failure keeps the old list
else
  "$root/target/perf/ugc-bench" ${mode:+"$mode"} | tee "$out.tmp" || status=$?
fi
mv "$out.tmp" "$out"
echo "saved $out" >&2
exit "${status:-0}"
