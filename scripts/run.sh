#!/usr/bin/env bash
# `make run`: the whole platform on 127.0.0.1 with no AWS account and no Docker.
#   DynamoDB Local (installed into .local/ddb on first use, Java 17), file-backed under .local/dynamodb,
#   and `ugc-local` (debug build): the AWS emulator (state under .local/emulator) and every service.
# A second run reuses the data (UGC_DATA_DIR moves it elsewhere). Ctrl-C (or SIGTERM) stops everything; DynamoDB Local is stopped by PID.
# Ports: UGC_API_PORT (8080), UGC_INGEST_PORT (8090), UGC_EMULATOR_PORT (4566), UGC_DYNAMODB_PORT (8000,
# or a free port when 8000 is taken).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/progress.sh
. scripts/lib/progress.sh
stage "make run: checking the tools"

command -v cargo >/dev/null || { echo "make run: cargo is required (https://rustup.rs)" >&2; exit 1; }
command -v java >/dev/null || {
  echo "make run: Java 17 is required to run DynamoDB Local (e.g. sudo apt-get install openjdk-17-jre-headless)" >&2
  exit 1
}
stage "DynamoDB Local (installed into .local/ddb on first use)"
scripts/dynamodb-local.sh install

port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
ddb_port=${UGC_DYNAMODB_PORT:-8000}
if ! port_free "$ddb_port"; then
  if [ -n "${UGC_DYNAMODB_PORT:-}" ]; then
    echo "make run: port $ddb_port (UGC_DYNAMODB_PORT, DynamoDB Local) is already in use" >&2; exit 1
  fi
  ddb_port=$(scripts/free-port.sh)
fi

data=${UGC_DATA_DIR:-.local}
mkdir -p "$data"
data=$(cd "$data" && pwd)
ddb_pid=""
app_pid=""
pidfile=$(mktemp)
cleanup() {
  [ -n "$app_pid" ] && kill -TERM "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  [ -z "$ddb_pid" ] && ddb_pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$ddb_pid" ]; then kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# DynamoDB Local starts (about 2 s) while cargo builds.
DDB_LOG="$data/dynamodb.log" scripts/dynamodb-local.sh start "$ddb_port" "$data/dynamodb" >"$pidfile" &
starter=$!
stage "building ugc-local (debug; the first build takes several minutes, cargo shows its progress)"
cargo build -p ugc-local --bin ugc-local
stage "built; waiting for DynamoDB Local"
wait "$starter" || { echo "make run: DynamoDB Local did not start (see $data/dynamodb.log)" >&2; exit 1; }
ddb_pid=$(cat "$pidfile")

export UGC_DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
# Keep the platform off any real AWS account: the emulator's static credentials only.
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL || true

# In the background so the traps run at once; Ctrl-C is forwarded as SIGTERM.
stage "starting the emulator and the services (DynamoDB Local on port $ddb_port)"
target/debug/ugc-local serve &
app_pid=$!
trap 'kill -TERM "$app_pid" 2>/dev/null || true' INT TERM
status=0
wait "$app_pid" || status=$?
# A forwarded signal interrupts the first wait; wait for the shutdown itself.
if kill -0 "$app_pid" 2>/dev/null; then wait "$app_pid" || status=$?; fi
app_pid=""
exit "$status"
