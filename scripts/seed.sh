#!/usr/bin/env bash
# `make seed [SEED_COUNT=50] [OFFLINE_SESSION_COUNT=1]`: demo users, channels, follows, live channels and
# past sessions on the running platform (`make run`), made over HTTP the way users make them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet -p ugc-local --bin ugc-local
exec target/debug/ugc-local seed --count "${SEED_COUNT:-50}" --offline "${OFFLINE_SESSION_COUNT:-1}"
