#!/usr/bin/env bash
# Runs cargo-deny at a pinned version, installing it into .local/tools on first use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=0.20.2
bin="$root/.local/tools/bin/cargo-deny"
if ! { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; }; then
  cargo install --locked --quiet --root "$root/.local/tools" cargo-deny --version "$version"
fi
PATH="$root/.local/tools/bin:$PATH" exec cargo deny "$@"
