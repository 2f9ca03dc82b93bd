#!/usr/bin/env bash
# The AWS SDK for JavaScript v3 as sidecache's client, end to end: tests/sdk/node/*.test.mjs
# drive the real binary on moto through stock @aws-sdk/client-ssm, client-secrets-manager and
# client-s3 clients (versions pinned in tests/sdk/node/package-lock.json), configured as a
# function would configure them (AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER; S3 by
# endpoint, path style). Each test file starts its own moto and sidecache on free ports
# (tests/sdk/node/stack.mjs) and stops them. Installs the SDK with `npm ci` when node_modules is
# missing or older than the lock. Needs `make venv build` (or SIDECACHE_BIN) and Node.js >= 20.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${SIDECACHE_BIN:-target/debug/sidecache}
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
DIR=$ROOT/tests/sdk/node

# --install-only: the npm install alone (make test does it early, beside the builds).
install_only=${1:-}

command -v node >/dev/null || { echo "test-sdk-node: node is not installed" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "test-sdk-node: the AWS SDK v3 needs Node.js >= 20, not $(node --version)" >&2; exit 1; }

cd "$DIR" || exit 1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --quiet --no-audit --no-fund >/dev/null || { echo "test-sdk-node: npm ci failed" >&2; exit 1; }
  touch node_modules
fi
[ "$install_only" = --install-only ] && exit 0

for tool in "$BIN" "$ROOT/.venv/bin/moto_server"; do
  [ -x "$tool" ] || { echo "test-sdk-node: $tool is missing: run 'make venv build'" >&2; exit 1; }
done

tap=$(mktemp "${TMPDIR:-/tmp}/sidecache-sdk-node.XXXXXX")
trap 'rm -f "$tap"' EXIT
start=$(date +%s.%N)
SIDECACHE_BIN=$BIN node --test --test-timeout=60000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  ./*.test.mjs
status=$?
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

count() { awk -v k="# $1" '$1" "$2 == k { n = $3 } END { print n + 0 }' "$tap"; }
sdk=$(node -p 'require("./node_modules/@aws-sdk/client-ssm/package.json").version')
echo "test-sdk-node: $(count pass) passed, $(count fail) failed, $(count cancelled) cancelled," \
  "$(count skipped) skipped, $(count todo) todo in ${elapsed}s (AWS SDK for JavaScript v3 $sdk, $(node --version))"
[ "$status" -eq 0 ] && [ "$(count fail)" -eq 0 ] && [ "$(count cancelled)" -eq 0 ] || exit 1
