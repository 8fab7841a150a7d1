#!/usr/bin/env bash
# End-to-end video check of the local platform (`make media-check`): the debug `ugc-local` on free
# ports with a temporary data dir and its own DynamoDB Local, one seeded user, the committed test
# pattern published over RTMP (`ugc-local stream`), then the real amazon-ivs-player in headless
# Chromium (scripts/browser-check.sh) plays the channel's playbackUrl; once PLAYING, a PutMetadata
# call (SigV4-signed, to the emulator's IVS API) must come back as a TEXT_METADATA_CUE.
# Everything started here is stopped by PID. Prints "media e2e: 1 passed, 0 failed" (exit 0) or
# "media e2e: 0 passed, 1 failed" (exit 1). MEDIA_E2E_TIMEOUT (seconds, default 90) bounds the
# browser check.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bin=target/debug/ugc-local
# A no-op when `cargo test` has just built it.
cargo build -q -p ugc-local --bin ugc-local
scripts/browser-check.sh install

tmp=$(mktemp -d)
ddb_pid=""
app_pid=""
stream_pid=""
result="0 passed, 1 failed"
finish() {
  for pid in "$stream_pid" "$app_pid"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if [ -n "$ddb_pid" ]; then kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true; fi
  echo "media e2e: $result"
  rm -rf "$tmp"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "media e2e: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

ddb_port=$(scripts/free-port.sh)
ddb_pid=$(DDB_LOG="$tmp/dynamodb.log" scripts/dynamodb-local.sh start "$ddb_port" "$tmp/dynamodb")

export UGC_DATA_DIR="$tmp/data" UGC_DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
export UGC_API_PORT=$(scripts/free-port.sh) UGC_INGEST_PORT=$(scripts/free-port.sh)
export UGC_EMULATOR_PORT=$(scripts/free-port.sh) UGC_RTMP_PORT=$(scripts/free-port.sh)
export AWS_EC2_METADATA_DISABLED=true LOG_FORMAT=text RUST_LOG=warn
unset AWS_PROFILE AWS_ENDPOINT_URL || true

"$bin" serve >"$tmp/serve.log" 2>&1 &
app_pid=$!
for _ in $(seq 1 120); do
  [ -f "$UGC_DATA_DIR/platform.json" ] && break
  kill -0 "$app_pid" 2>/dev/null || fail "ugc-local serve exited"
  sleep 0.5
done
[ -f "$UGC_DATA_DIR/platform.json" ] || fail "the platform was not ready within 60 s"

user=e2e001
timeout 60 "$bin" seed --count 1 --offline 1 --prefix e2e >"$tmp/seed.log" 2>&1 || fail "seeding failed"

"$bin" stream "$user" >"$tmp/stream.log" 2>&1 &
stream_pid=$!

api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' "$UGC_DATA_DIR/platform.json")
emulator=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["emulator_url"])' "$UGC_DATA_DIR/platform.json")
region=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["region"])' "$UGC_DATA_DIR/platform.json")
page=$(curl -fsS "$api/channels/$user") || fail "GET /channels/$user failed"
arn=$(printf '%s' "$page" | python3 -c 'import json,sys; print(json.load(sys.stdin)["channelArn"])')
playback=$(curl -fsS --aws-sigv4 "aws:amz:$region:ivs" --user test:test -H 'content-type: application/json' \
  -d "{\"arn\":\"$arn\"}" "$emulator/GetChannel" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["channel"]["playbackUrl"])') || fail "GetChannel failed"
echo "media e2e: $user publishing, playing $playback" >&2

# What the SPA shows the broadcaster: GET /channel as the seeded user must give the plain RTMP URL
# of the local ingest (IVS_INGEST_SERVER_URL_FORMAT as ugc-local sets it).
client_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$UGC_DATA_DIR/platform.json")
token=$(curl -sS -H 'X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth' \
  -H 'Content-Type: application/x-amz-json-1.1' \
  -d "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$client_id\",\"AuthParameters\":{\"USERNAME\":\"$user\",\"PASSWORD\":\"Passw0rd!\"},\"ClientMetadata\":{\"submittedUsername\":\"$user\"}}" \
  "$emulator" | tee "$tmp/auth.log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AuthenticationResult"]["AccessToken"])') ||
  fail "signing in as $user failed"
curl -fsS -H "Authorization: $token" "$api/channel" | python3 -c '
import json, sys
c = json.load(sys.stdin)
want = "rtmp://%s/app/" % c["ingestEndpoint"]
if c.get("ingestServerUrl") != want:
    sys.exit("ingestServerUrl is %r, expected %r" % (c.get("ingestServerUrl"), want))
print("media e2e: ingestServerUrl " + want, file=sys.stderr)' || fail "GET /channel: wrong ingestServerUrl"

payload="media-e2e-$(date +%s%N)"
put="curl -fsS --aws-sigv4 'aws:amz:$region:ivs' --user test:test -H 'content-type: application/json' \
  -d '{\"channelArn\":\"$arn\",\"metadata\":\"$payload\"}' '$emulator/PutMetadata'"
timeout "${MEDIA_E2E_TIMEOUT:-90}" scripts/browser-check.sh "$playback" --wait-playlist-ms 15000 \
  --timeout-ms 45000 --after-playing "$put" --expect-cue "$payload" || fail "the browser check failed"
result="1 passed, 0 failed"
