#!/usr/bin/env bash
# Runs cargo-deny at a pinned version, installing it into UGC_TOOLS_DIR (default ~/.cache/ugc-backend/tools) on first use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=0.20.2
tools="${UGC_TOOLS_DIR:-$HOME/.cache/ugc-backend/tools}"
bin="$tools/bin/cargo-deny"
if ! { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; }; then
  cargo install --locked --quiet --root "$tools" cargo-deny --version "$version"
fi
PATH="$tools/bin:$PATH" exec cargo deny "$@"
