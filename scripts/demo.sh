#!/usr/bin/env bash
# `make run`: sidecache in standalone mode on moto (a local AWS), with example calls.
# Starts moto and sidecache on free ports, seeds a parameter, a SecureString, a secret and an S3
# object, prints each curl command before running it, and stops everything on exit.
# `scripts/demo.sh lambda` (`make lambda-local`) runs sidecache as a Lambda extension instead,
# under the fake Extensions API (target/debug/lambda-local), and narrates its lifecycle.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
BIN=${SIDECACHE_BIN:-target/debug/sidecache}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MOTO_PORT=$(free_port)
PORT=${PORT:-$(free_port)}
TOKEN=demo-token
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

.venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done

"$PY" - <<'PY'
import boto3
ssm = boto3.client("ssm")
ssm.put_parameter(Name="/demo/greeting", Value="hello from SSM", Type="String")
ssm.put_parameter(Name="/demo/db-password", Value="s3cr3t-password", Type="SecureString")
boto3.client("secretsmanager").create_secret(Name="demo/api-key", SecretString='{"apiKey":"abc123"}')
s3 = boto3.client("s3")
s3.create_bucket(Bucket="demo-bucket")
s3.put_object(Bucket="demo-bucket", Key="config/app.json", Body=b'{"feature":true}', ContentType="application/json")
PY

if [ "${1:-}" = lambda ]; then
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=$PORT SIDECACHE_BIN=$BIN target/debug/lambda-local \
    --get "/systemsmanager/parameters/get?name=%2Fdemo%2Fgreeting" \
    --get "/secretsmanager/get?secretId=demo%2Fapi-key"
  exit
fi

PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=$PORT SIDECACHE_TOKEN=$TOKEN "$BIN" &
pids+=($!)
for _ in $(seq 100); do curl -fs "localhost:$PORT/ping" >/dev/null 2>&1 && break; sleep 0.05; done

run() {
  printf '\n$ %s\n' "$*"
  "$@" || true
  echo
}
H="X-Aws-Parameters-Secrets-Token: $TOKEN"
echo "sidecache is listening on localhost:$PORT (moto on $MOTO_PORT)"
run curl -s "localhost:$PORT/ping"
run curl -s -H "$H" "localhost:$PORT/systemsmanager/parameters/get?name=/demo/greeting"
run curl -s -i -H "$H" "localhost:$PORT/systemsmanager/parameters/get?name=/demo/greeting"
run curl -s -H "$H" "localhost:$PORT/systemsmanager/parameters/get?name=%2Fdemo%2Fdb-password&withDecryption=true&format=raw"
run curl -s -H "$H" "localhost:$PORT/secretsmanager/get?secretId=demo/api-key"
run curl -s -H "$H" "localhost:$PORT/s3/get?uri=s3://demo-bucket/config/app.json"
run curl -s -H "$H" "localhost:$PORT/systemsmanager/parameters/get?name=/demo/missing"
run curl -s "localhost:$PORT/systemsmanager/parameters/get?name=/demo/greeting"
run curl -s -H "$H" "localhost:$PORT/stats"
if [ -n "${DEMO_WAIT:-}" ]; then echo "Ctrl-C to stop"; wait; fi
