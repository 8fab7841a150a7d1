#!/usr/bin/env bash
# `make migrate-bench`: how long `ugc-admin migrate` takes and what it consumes on upstream-shaped data
# in DynamoDB Local (in memory, own port, stopped by PID): MIGRATE_BENCH_PROFILES profiles (10,000) with
# MIGRATE_BENCH_SESSIONS sessions each (10, i.e. 100,000 sessions), every 10th channel live. Not a test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/dynamodb-local.sh install
cargo build --quiet --profile perf -p ugc-admin --example migrate_bench
port=$(scripts/free-port.sh)
ddb_pid=$(scripts/dynamodb-local.sh start "$port")
trap 'kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true' EXIT
unset AWS_PROFILE AWS_ENDPOINT_URL || true
UGC_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
  target/perf/examples/migrate_bench "${MIGRATE_BENCH_PROFILES:-10000}" "${MIGRATE_BENCH_SESSIONS:-10}"
