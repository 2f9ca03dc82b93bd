#!/usr/bin/env bash
# Stock boto3 and the AWS CLI (v1) as sidecache's clients: tests/sdk/python drives the real
# binary on moto through AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER and an S3
# endpoint_url, as a function's unchanged SDK code would. The suite's session fixture starts
# moto (.venv/bin/moto_server, from `make venv`) and sidecache on free ports and stops them.
# The SDKs live in their own git-ignored virtualenv, .venv-sdk, (re)made when
# tests/sdk/python/requirements.txt changes. Binary: ${SIDECACHE_BIN:-target/debug/sidecache}.
# Extra arguments go to pytest (e.g. -k s3 -x).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REQ=tests/sdk/python/requirements.txt
VENV=$ROOT/.venv-sdk
STAMP=$VENV/.requirements.sha256
BIN=${SIDECACHE_BIN:-$ROOT/target/debug/sidecache}
MOTO=$ROOT/.venv/bin/moto_server
PYTHON=${PYTHON:-python3}

# --install-only: the virtualenv alone (make test makes it early, beside the builds).
install_only=${1:-}
[ "$install_only" = --install-only ] && shift

want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || { echo "test-sdk-python: could not create $VENV" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ" \
    || { echo "test-sdk-python: pip install -r $REQ failed" >&2; exit 1; }
  echo "$want" >"$STAMP"
fi
[ "$install_only" = --install-only ] && exit 0

for tool in "$BIN" "$MOTO"; do
  [ -x "$tool" ] || { echo "test-sdk-python: $tool is missing: run 'make venv build'" >&2; exit 1; }
done

export SIDECACHE_BIN=$BIN SIDECACHE_MOTO_SERVER=$MOTO
# The SDK's own configuration must come from the suite alone, not from this shell.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SSM \
  AWS_ENDPOINT_URL_SECRETS_MANAGER AWS_ENDPOINT_URL_S3 AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
start=$(date +%s)
log=$(mktemp "${TMPDIR:-/tmp}/sidecache-sdk-python.XXXXXX")
trap 'rm -f "$log"' EXIT
# -p no:cacheprovider: no .pytest_cache left in the tree.
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m pytest -p no:cacheprovider -q -rfExX \
  tests/sdk/python "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# pytest's closing line, "12 passed, 1 xfailed in 3.2s" (with or without ='s around it).
summary=$(grep -E '^=* ?[0-9]+ (passed|failed|error|errors|xfailed|xpassed|skipped|deselected)\b.* in [0-9.]+s' "$log" \
  | tail -n1 | sed -E 's/^=+ //; s/ =+$//')
echo "test-sdk-python: ${summary:-no summary} (exit $status, $(( $(date +%s) - start ))s)"
exit "$status"
