#!/usr/bin/env bash
# `make migrate`: `ugc-admin migrate` against the local platform (`make run` must be running): DynamoDB
# Local and the emulator's IVS, the tables `<UGC_TABLE_PREFIX>Channels` / `<UGC_TABLE_PREFIX>Streams`.
# DRY_RUN=1 reports without writing; MIGRATE_ARGS passes more options (e.g. "--max-capacity 0 --json").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

ddb=${UGC_DYNAMODB_ENDPOINT:-http://127.0.0.1:${UGC_DYNAMODB_PORT:-8000}}
emulator=http://127.0.0.1:${UGC_EMULATOR_PORT:-4566}
prefix=${UGC_TABLE_PREFIX:-ugc-local-}
cargo build --quiet -p ugc-admin --bin ugc-admin
args=(migrate)
[ -n "${DRY_RUN:-}" ] && args+=(--dry-run)
# shellcheck disable=SC2206
[ -n "${MIGRATE_ARGS:-}" ] && args+=(${MIGRATE_ARGS})
# The emulator's static credentials; never a real account.
unset AWS_PROFILE AWS_ENDPOINT_URL || true
exec env AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION="${UGC_REGION:-us-east-1}" AWS_ENDPOINT_URL_DYNAMODB="$ddb" AWS_ENDPOINT_URL_IVS="$emulator" \
  CHANNELS_TABLE_NAME="${prefix}Channels" STREAM_TABLE_NAME="${prefix}Streams" \
  target/debug/ugc-admin "${args[@]}"
