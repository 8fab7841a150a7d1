#!/usr/bin/env bash
# `make stream USER=<name>`: publishes the committed test pattern over RTMP to that user's channel of the
# running platform (`make run`) until Ctrl-C: real events, HLS playback and metrics, as with OBS.
# `make stream USER=<name> START=1|STOP=1|STARVE=1|RECOVER=1|BREACH=1|FAIL=1` drives the broadcast
# simulator instead (no media); either way the IVS events flow to event-ingest.
#   scripts/stream.sh <username> [publish|start|stop|starve|recover|breach|fail]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ $# -ge 1 ] && [ -n "$1" ] || { echo "usage: $0 <username> [publish|start|stop|starve|recover|breach|fail]" >&2; exit 2; }
cargo build --quiet -p ugc-local --bin ugc-local
exec target/debug/ugc-local stream "$@"
