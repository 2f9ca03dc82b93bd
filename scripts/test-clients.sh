#!/usr/bin/env bash
# `make clients`: the Python and Node.js client packages' own test suites against a live
# sidecache on moto. Starts moto, the fake AppConfig Data (target/debug/fake-appconfig: moto has
# no AppConfig Data) and target/debug/sidecache (standalone mode, its AppConfig Agent port on)
# on free ports, seeds parameters, secrets, S3 objects and AppConfig profiles for each suite,
# installs clients/python into .venv (as a user would: `pip install ./clients/python`), runs
# pytest and `node --test`, and stops everything on exit. Needs `make venv build`, the
# fake-appconfig binary and pytest in .venv (the Makefile's `clients` target builds and installs
# them, Powertools when it can, and clients/node's devDependencies when it can).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
BIN=${SIDECACHE_BIN:-$ROOT/target/debug/sidecache}
FAKE_APPCONFIG_BIN=${FAKE_APPCONFIG_BIN:-$ROOT/target/debug/fake-appconfig}
for tool in "$PY" "$ROOT/.venv/bin/moto_server" "$ROOT/.venv/bin/pytest" "$BIN" "$FAKE_APPCONFIG_BIN"; do
  [ -x "$tool" ] || { echo "test-clients: $tool is missing: run 'make clients'" >&2; exit 1; }
done

LABEL=clients
# shellcheck source=scripts/live-stack.sh
. "$ROOT/scripts/live-stack.sh"

"$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall \
  ./clients/python || { echo "test-clients: pip install ./clients/python failed" >&2; exit 1; }
# What setuptools' in-tree build leaves beside the source (git-ignored, but not kept either).
rm -rf clients/python/build clients/python/src/sidecache.egg-info

MOTO_PORT=$(free_port)
PORT=$(free_port)
APPCONFIG_AGENT_PORT=$(free_port)
# What the suites read: the run's random id is in every seeded value, so nothing passes on a
# value left over from another run.
export CLIENTS_RUN_ID=$RANDOM$RANDOM
export CLIENTS_BUCKET=clients-bucket
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
export PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=$PORT
export SIDECACHE_TOKEN=clients-token-$RANDOM$RANDOM
export SIDECACHE_S3_DIR=$work/s3
# The AppConfig Agent's port, where sidecache answers as AWS's agent does: Powertools' and
# middy's agent clients read this variable, as they do in Lambda.
export AWS_APPCONFIG_EXTENSION_HTTP_PORT=$APPCONFIG_AGENT_PORT
unset AWS_SESSION_TOKEN

"$ROOT/.venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_for "$AWS_ENDPOINT_URL/moto-api/" "$work/moto.log"

# The fake AppConfig Data: it prints `READY <fake port> <control port>` and lives while its
# stdin (this shell's end of the coprocess pipe) is open; cleanup also ends it.
coproc FAKE_APPCONFIG { exec "$FAKE_APPCONFIG_BIN" 2>"$work/fake-appconfig.log"; }
pids+=("$FAKE_APPCONFIG_PID")
ready=
read -r -t 30 ready FAKE_APPCONFIG_PORT FAKE_APPCONFIG_CONTROL_PORT <&"${FAKE_APPCONFIG[0]}"
if [ "$ready" != READY ]; then
  echo "test-clients: the fake AppConfig Data did not start; its log:" >&2
  cat "$work/fake-appconfig.log" >&2
  exit 1
fi
export AWS_ENDPOINT_URL_APPCONFIGDATA=http://127.0.0.1:$FAKE_APPCONFIG_PORT
# For the suites: the fake's control API (deployments, upstream counts; tests/src/bin/fake_appconfig.rs).
export FAKE_APPCONFIG_CONTROL=http://127.0.0.1:$FAKE_APPCONFIG_CONTROL_PORT

# Per suite (python, node), under /clients/<suite>/, secret clients/<suite>/... and
# s3://clients-bucket/<suite>/...; each test that counts upstream calls has names of its own.
"$PY" - <<'PY' || exit 1
import json, os
import boto3
run = os.environ["CLIENTS_RUN_ID"]
bucket = os.environ["CLIENTS_BUCKET"]
ssm, sm, s3 = boto3.client("ssm"), boto3.client("secretsmanager"), boto3.client("s3")
s3.create_bucket(Bucket=bucket)
for suite in ("python", "node"):
    p = f"/clients/{suite}"
    for name, value, kind in [
        (f"{p}/greeting", f"hello {suite} {run}", "String"),
        (f"{p}/list", f"a-{run},b,c", "StringList"),
        (f"{p}/secure", f"secure-{suite}-{run}", "SecureString"),
        (f"{p}/config", json.dumps({"feature": True, "run": run}), "String"),
        (f"{p}/tree/a", f"a-{run}", "String"),
        (f"{p}/tree/b", f"b-{run}", "String"),
        (f"{p}/tree/deep/c", f"c-{run}", "String"),
        (f"{p}/handler/one", f"one-{run}", "String"),
        (f"{p}/handler/two", f"two-{run}", "StringList"),
        (f"{p}/refresh", f"before-{run}", "String"),
        (f"{p}/many/x", f"x-{run}", "String"),
        (f"{p}/many/y", f"y-{run}", "SecureString"),
        (f"{p}/middleware/db", f"db-{run}", "String"),
        (f"{p}/middleware/json", json.dumps({"run": run}), "String"),
        (f"{p}/middy/greeting", f"middy-{run}", "String"),
        (f"{p}/middy/settings", json.dumps({"middy": run}), "String"),
        (f"{p}/powertools/plain", f"plain-{run}", "String"),
        (f"{p}/powertools/json", json.dumps({"run": run}), "String"),
        (f"{p}/powertools/b64", "aGVsbG8=", "String"),
        (f"{p}/powertools/secure", f"pt-secure-{run}", "SecureString"),
    ]:
        ssm.put_parameter(Name=name, Value=value, Type=kind)
    sm.create_secret(Name=f"clients/{suite}/api",
                     SecretString=json.dumps({"user": "app", "password": f"pw-{run}"}))
    sm.create_secret(Name=f"clients/{suite}/blob", SecretBinary=bytes(range(256)) + run.encode())
    sm.create_secret(Name=f"clients/{suite}/middleware", SecretString=json.dumps({"key": run}))
    s3.put_object(Bucket=bucket, Key=f"{suite}/config/app-{run}.json",
                  Body=json.dumps({"from": "s3", "run": run}).encode(),
                  ContentType="application/json")

# AppConfig, per suite: application clients-<suite>, environment prod; each test that counts
# upstream polls reads a profile of its own.
import base64, urllib.request
control = os.environ["FAKE_APPCONFIG_CONTROL"]
def deploy(**body):
    request = urllib.request.Request(f"{control}/deploy", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()
def compact(value):  # JSON as JSON.stringify writes it: the Node suite compares text too
    return json.dumps(value, separators=(",", ":"))
flags = {"new_ui": {"enabled": True, "colors": 3, "run": run}, "old_ui": {"enabled": False}}
for suite in ("python", "node"):
    app = f"clients-{suite}"
    for profile, content, content_type, label in [
        ("settings", compact({"feature": True, "limit": 5, "run": run}), "application/json", f"v1-{run}"),
        ("flags", compact(flags), "application/json", None),
        ("text", f"hello {suite} {run}", "text/plain", None),
        ("encoded", base64.b64encode(f"binary-{run}".encode()).decode(), "text/plain", None),
        ("team/settings", compact({"nested": run}), "application/json", None),
        ("counted", compact({"counted": run}), "application/json", None),
        ("decorated", compact({"decorated": run}), "application/json", None),
        ("middleware", compact({"middleware": run}), "application/json", None),
        ("middy", compact({"middy": run}), "application/json", None),
        ("powertools", compact({"powertools": run}), "application/json", f"pt-{run}"),
        ("powertools-flags", compact(flags), "application/json", None),
    ]:
        deploy(application=app, environment="prod", profile=profile, content=content,
               content_type=content_type, version_label=label)
    deploy(application=app, environment="prod", profile="bytes",
           content_base64=base64.b64encode(bytes(range(256)) + run.encode()).decode(),
           content_type="application/octet-stream")
PY

"$BIN" >"$work/sidecache.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$PORT/ping" "$work/sidecache.log"
wait_for "http://127.0.0.1:$APPCONFIG_AGENT_PORT/ping" "$work/sidecache.log"

status=0
echo "== clients/python: pytest"
# -p no:cacheprovider: no .pytest_cache left in the tree.
(cd clients/python && PYTHONDONTWRITEBYTECODE=1 "$ROOT/.venv/bin/pytest" -p no:cacheprovider -q -rs) \
  || status=1
echo "== clients/node: node --test"
(cd clients/node && node --test --test-concurrency=1 --test-reporter=spec test/*.test.js) || status=1
echo "== clients/node: connections again through node:net (SIDECACHE_CLIENT_TRANSPORT=net)"
(cd clients/node && SIDECACHE_CLIENT_TRANSPORT=net node --test --test-reporter=spec test/connections.test.js test/transport.test.js) \
  || status=1
# Whatever the suites did, sidecache must have used AppConfig Data as a correct client does
# (signed requests, each token once, encoded queries): the fake records any mistake.
violations=$(curl -fsS "$FAKE_APPCONFIG_CONTROL/violations") || violations="(the fake did not answer)"
if [ "$violations" != "[]" ]; then
  echo "test-clients: the fake AppConfig Data saw client mistakes by sidecache: $violations" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "test-clients: a suite failed; sidecache's log:" >&2
  tail -n 40 "$work/sidecache.log" >&2
fi
exit "$status"
