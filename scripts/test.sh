#!/usr/bin/env bash
# The whole suite: one DynamoDB Local for the run (each test uses its own table prefix), every
# crate's tests, then the offline infrastructure tests. Everything started here is stopped by PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/progress.sh
. scripts/lib/progress.sh
stage "make test: starting DynamoDB Local"

port=$(scripts/free-port.sh)
ddb_pid=$(scripts/dynamodb-local.sh start "$port")
trap 'kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true' EXIT

export UGC_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
# Keep tests off any real AWS: no profile, no instance metadata.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL || true

stage "cargo test (the first build takes several minutes; cargo shows its progress)"
cargo test --workspace --all-targets --locked --no-fail-fast
stage "media end to end (make media-check: ugc-local, RTMP, IVS player in headless Chromium)"
scripts/media-e2e.sh
stage "infrastructure tests (make test-infra)"
scripts/test-infra.sh
