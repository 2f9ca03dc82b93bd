#!/usr/bin/env bash
# `make examples`: runs the client examples under examples/ against a live sidecache on moto.
# Starts moto, the fake AppConfig Data (target/debug/fake-appconfig) and target/debug/sidecache
# (standalone mode) on free ports, seeds a String and a SecureString parameter, a JSON secret, an
# S3 object and the SAM example's AppConfig profile, runs each runnable example and checks
# what it prints, and stops everything on exit. Needs `make venv build`; curl, node, and jq for
# the bash example.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
BIN=${SIDECACHE_BIN:-$ROOT/target/debug/sidecache}
# The fake AppConfig Data (moto has none): the SAM example reads a profile on the agent's port.
FAKE_APPCONFIG_BIN=${FAKE_APPCONFIG_BIN:-$ROOT/target/debug/fake-appconfig}
for tool in "$PY" "$ROOT/.venv/bin/moto_server" "$BIN" "$FAKE_APPCONFIG_BIN"; do
  [ -x "$tool" ] || { echo "test-examples: $tool is missing: run 'make venv build'" >&2; exit 1; }
done

LABEL=examples
# shellcheck source=scripts/live-stack.sh
. "$ROOT/scripts/live-stack.sh"

# The values the examples must print, and the secret value they must never print.
TOKEN=examples-token-$RANDOM$RANDOM
PARAM=/examples/greeting
PARAM_VALUE="hello from SSM $RANDOM"
SECURE=/examples/db/password
SECURE_VALUE="secure-string-$RANDOM$RANDOM"
SECRET_ID=examples/api
SECRET_PASSWORD="never-print-me-$RANDOM$RANDOM"
S3_URI=s3://examples-bucket/config/app.json
S3_BODY='{"feature":true,"from":"s3"}'

MOTO_PORT=$(free_port)
PORT=$(free_port)
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT

"$ROOT/.venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_for "$AWS_ENDPOINT_URL/moto-api/" "$work/moto.log"

PARAM=$PARAM PARAM_VALUE=$PARAM_VALUE SECURE=$SECURE SECURE_VALUE=$SECURE_VALUE \
  SECRET_ID=$SECRET_ID SECRET_PASSWORD=$SECRET_PASSWORD S3_BODY=$S3_BODY "$PY" - <<'PY' || exit 1
import json, os
import boto3
e = os.environ
ssm = boto3.client("ssm")
ssm.put_parameter(Name=e["PARAM"], Value=e["PARAM_VALUE"], Type="String")
ssm.put_parameter(Name=e["SECURE"], Value=e["SECURE_VALUE"], Type="SecureString")
secret = {"username": "app", "password": e["SECRET_PASSWORD"]}
boto3.client("secretsmanager").create_secret(Name=e["SECRET_ID"], SecretString=json.dumps(secret))
s3 = boto3.client("s3")
s3.create_bucket(Bucket="examples-bucket")
s3.put_object(Bucket="examples-bucket", Key="config/app.json", Body=e["S3_BODY"].encode(),
              ContentType="application/json")
PY

# It prints `READY <fake port> <control port>` and lives while its stdin is open.
coproc FAKE_APPCONFIG { exec "$FAKE_APPCONFIG_BIN" 2>"$work/fake-appconfig.log"; }
pids+=("$FAKE_APPCONFIG_PID")
ready=
read -r -t 30 ready FAKE_APPCONFIG_PORT FAKE_APPCONFIG_CONTROL_PORT <&"${FAKE_APPCONFIG[0]}"
if [ "$ready" != READY ]; then
  echo "test-examples: the fake AppConfig Data did not start; its log:" >&2
  cat "$work/fake-appconfig.log" >&2
  exit 1
fi
# The profile of template.yaml's example: application, environment and profile by name.
APPCONFIG_PROFILE=/applications/sidecache-example/environments/example/configurations/settings
APPCONFIG_JSON='{"greeting":"hello from AppConfig","maxItems":5}'
curl -fsS -H 'Content-Type: application/json' "http://127.0.0.1:$FAKE_APPCONFIG_CONTROL_PORT/deploy" \
  -d "{\"application\":\"sidecache-example\",\"environment\":\"example\",\"profile\":\"settings\",\"content\":$("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$APPCONFIG_JSON"),\"content_type\":\"application/json\",\"version_label\":\"v1\"}" \
  >/dev/null || { echo "test-examples: could not deploy the AppConfig profile" >&2; exit 1; }
AGENT_PORT=$(free_port)

S3_DIR=$work/s3
PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=$PORT SIDECACHE_TOKEN=$TOKEN SIDECACHE_S3_DIR=$S3_DIR \
  AWS_ENDPOINT_URL_APPCONFIGDATA=http://127.0.0.1:$FAKE_APPCONFIG_PORT \
  AWS_APPCONFIG_EXTENSION_HTTP_PORT=$AGENT_PORT "$BIN" >"$work/sidecache.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$PORT/ping" "$work/sidecache.log"
wait_for "http://127.0.0.1:$AGENT_PORT/ping" "$work/sidecache.log"

# Examples run with a bare environment: only the port, the token and the names, as a handler has
# (and no __pycache__ left in examples/).
example() { # [VAR=value ...] COMMAND...: runs it with only those variables set
  timeout 20 env -i PATH="$PATH" HOME="$HOME" PYTHONDONTWRITEBYTECODE=1 \
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="$PORT" "$@"
}

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { # NAME REASON: also shows what the example printed
  failed=$((failed + 1))
  echo "FAIL $1: $2"
  sed 's/^/     | /' "$work/out" "$work/err"
}

# NAME EXPECTED_PARAMETER_VALUE COMMAND...: the example prints all three values correctly.
expect_values() {
  local name=$1 want=$2 path status=0
  shift 2
  example "$@" >"$work/out" 2>"$work/err" || status=$?
  if [ "$status" -ne 0 ]; then
    fail "$name" "exited with status $status"
    return
  fi
  path=$(sed -n 's/^s3 path: //p' "$work/out")
  if grep -qF "$SECRET_PASSWORD" "$work/out" "$work/err"; then
    fail "$name" "the secret's value was printed"
  elif ! grep -qxF "parameter: $want" "$work/out"; then
    fail "$name" "parameter value '$want' not printed"
  elif ! grep -qxF "secret keys: password, username" "$work/out"; then
    fail "$name" "secret keys not printed"
  elif [[ "$path" != "$S3_DIR"/* ]] || [ ! -f "$path" ]; then
    fail "$name" "s3 path '$path' is not a file under $S3_DIR"
  elif ! grep -qxF "s3 head: $S3_BODY" "$work/out"; then
    fail "$name" "s3 head does not show the object's first bytes"
  else
    pass "$name"
  fi
}

# NAME COMMAND...: the example fails on a parameter that does not exist, naming the error.
expect_not_found() {
  local name=$1
  shift
  if example "$@" >"$work/out" 2>"$work/err"; then
    fail "$name" "exited 0 for a missing parameter"
  elif ! grep -qF "ParameterNotFound" "$work/err"; then
    fail "$name" "stderr does not carry the error's __type ParameterNotFound"
  else
    pass "$name"
  fi
}

# The bash example parses JSON with jq: without it, its cases fail for that stated reason.
command -v jq >/dev/null || echo "test-examples: jq is not installed: the bash example cannot run" >&2

T=SIDECACHE_TOKEN=$TOKEN
MISSING=/examples/does-not-exist

# The SAM example function's handler, invoked twice as Lambda would in one execution
# environment (before any other example touched the cache): the summary is right, holds no
# secret value, and the second invocation is served from the cache. It imports sidecache from
# the layer's python/ (/opt/python in Lambda): clients/python/src is what the layer packs.
name="sam-function: handler summary, second invocation from cache"
status=0
example AWS_SESSION_TOKEN="$TOKEN" PARAMETER_NAME="$PARAM" SECRET_ID="$SECRET_ID" S3_URI="$S3_URI" \
  APPCONFIG_PROFILE="$APPCONFIG_PROFILE" AWS_APPCONFIG_EXTENSION_HTTP_PORT="$AGENT_PORT" \
  PYTHONPATH=examples/sam-function:clients/python/src "$PY" -c \
  'import app, json; print(json.dumps([app.handler({}, None), app.handler({}, None)]))' \
  >"$work/out" 2>"$work/err" || status=$?
if [ "$status" -ne 0 ]; then
  fail "$name" "exited with status $status"
elif grep -qF "$SECRET_PASSWORD" "$work/out" "$work/err"; then
  fail "$name" "the secret's value was returned"
elif ! why=$(PARAM_VALUE=$PARAM_VALUE S3_DIR=$S3_DIR SECRET_PASSWORD=$SECRET_PASSWORD \
  APPCONFIG_JSON=$APPCONFIG_JSON "$PY" - "$work/out" 2>&1 <<'PY'
import json, os, sys
first, second = json.load(open(sys.argv[1]))
e = os.environ
appconfig = first.get("appconfig", {})
secret = json.dumps({"username": "app", "password": e["SECRET_PASSWORD"]})
path = first["object"].get("path", "")
checks = {
    "parameter value": first["parameter"].get("value") == e["PARAM_VALUE"],
    "secret keys": first["secret"].get("keys") == ["password", "username"],
    "secret length": first["secret"].get("length") == len(secret),
    "object path": path.startswith(e["S3_DIR"] + "/") and os.path.isfile(path),
    "X-Cache miss then hit": all(first[k].get("cache") == "miss" and second[k].get("cache") == "hit"
                                 for k in ("parameter", "secret", "object", "appconfig")),
    "AppConfig profile on the agent's port": appconfig.get("configuration") == json.loads(e["APPCONFIG_JSON"])
                                             and appconfig.get("label") == "v1",
}
wrong = [what for what, ok in checks.items() if not ok]
sys.exit("wrong " + ", ".join(wrong) if wrong else 0)
PY
); then
  fail "$name" "$why"
else
  pass "$name"
fi

expect_values "python: parameter, secret and S3 object (arguments)" "$PARAM_VALUE" \
  "$T" "$PY" examples/python/get_values.py "$PARAM" "$SECRET_ID" "$S3_URI"
expect_values "node: SecureString decrypted, secret and S3 object (arguments)" "$SECURE_VALUE" \
  "$T" node examples/node/get_values.mjs "$SECURE" "$SECRET_ID" "$S3_URI"
# As a Lambda handler has it: no SIDECACHE_TOKEN, so the example sends AWS_SESSION_TOKEN.
expect_values "bash: token from AWS_SESSION_TOKEN, names from the environment" "$PARAM_VALUE" \
  AWS_SESSION_TOKEN="$TOKEN" PARAMETER_NAME="$PARAM" SECRET_ID="$SECRET_ID" S3_URI="$S3_URI" \
  bash examples/bash/get_values.sh
expect_not_found "python: missing parameter exits non-zero" \
  "$T" "$PY" examples/python/get_values.py "$MISSING" "$SECRET_ID" "$S3_URI"
expect_not_found "node: missing parameter exits non-zero" \
  "$T" node examples/node/get_values.mjs "$MISSING" "$SECRET_ID" "$S3_URI"
expect_not_found "bash: missing parameter exits non-zero" \
  "$T" bash examples/bash/get_values.sh "$MISSING" "$SECRET_ID" "$S3_URI"

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
