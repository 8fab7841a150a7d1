#!/usr/bin/env bash
# End-to-end check of an HLS stream with the real npm amazon-ivs-player in headless Chromium.
#   scripts/browser-check.sh install                      Debian chromium + tests/browser npm packages
#   scripts/browser-check.sh <hlsUrl> [--expect-cue TEXT] [--timeout-ms N] ...
#                                                         installs if missing, then runs
#                                                         tests/browser/check.mjs (see there)
#   scripts/browser-check.sh --self-test                  checks the harness itself on a stream it makes
#                                                         with ffmpeg (a test tool: apt-get install ffmpeg)
# Exit 0 only when the player reached PLAYING (and the expected TEXT_METADATA_CUE arrived).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/tests/browser"
chromium="${CHROMIUM:-/usr/bin/chromium}"

install() {
  if [ ! -x "$chromium" ]; then
    echo "installing Debian chromium ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q chromium >&2; then
      apt-get update -q >&2
      apt-get install -y -q chromium >&2
    fi
  fi
  command -v npm >/dev/null || { echo "npm is required (Node 20)" >&2; exit 1; }
  # node_modules/.package-lock.json is npm's record of what it installed: redo when the lock changed.
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "installing tests/browser npm packages (npm ci) ..." >&2
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  fi
}

self_test() {
  command -v ffmpeg >/dev/null || { echo "--self-test needs ffmpeg (apt-get install -y ffmpeg)" >&2; exit 1; }
  local payload
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "self-test: 12 s H.264 baseline + AAC test pattern as 2 s MPEG-TS segments in $tmp" >&2
  ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc=size=320x180:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t 12 \
    -c:v libx264 -profile:v baseline -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0 \
    -c:a aac -b:a 64k -f hls -hls_time 2 -hls_playlist_type vod \
    -hls_segment_filename "$tmp/seg%03d.ts" "$tmp/index.m3u8"
  payload='N4IgLgpgTgtghgZwgLhAYQDYEsB2BzAAgHUQAaEAIwHsAzAQwFcAnAYwAtg'
  echo "self-test: served as a live window; once PLAYING, an ID3 PRIV (owner metadata.live-video.net)" \
    "goes into segment 4, not yet published; then the cue and ENDED are awaited" >&2
  node "$dir/check.mjs" /media/index.m3u8 --serve-dir "$tmp" --live-window 3 --timeout-ms 30000 \
    --after-playing "node '$dir/id3-inject.mjs' '$tmp' --text '$payload' --frame PRIV --segments 4" \
    --expect-cue "$payload" --expect-ended
}

case "${1:-}" in
  install) install ;;
  --self-test) install; self_test ;;
  ''|-h|--help) sed -n '2,9p' "$0" >&2; exit 2 ;;
  *) install; exec node "$dir/check.mjs" "$@" ;;
esac
