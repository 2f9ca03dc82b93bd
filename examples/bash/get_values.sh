#!/usr/bin/env bash
# Read a parameter, a secret and an S3 object through sidecache with curl (and jq for JSON).
# Usage: get_values.sh [PARAMETER_NAME SECRET_ID S3_URI]  (or set those environment variables)
set -euo pipefail

# The variable the extension itself reads, so the caller and the sidecar agree on the port.
port=${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT:-2773}
# In Lambda the token is the function's own session token; SIDECACHE_TOKEN is for sidecars
# started with an explicit token (ECS, EC2, `make run`).
token=${SIDECACHE_TOKEN:-${AWS_SESSION_TOKEN:-}}
parameter_name=${1:-${PARAMETER_NAME:-}}
secret_id=${2:-${SECRET_ID:-}}
s3_uri=${3:-${S3_URI:-}}
if [ -z "$parameter_name" ] || [ -z "$secret_id" ] || [ -z "$s3_uri" ]; then
  echo "usage: get_values.sh PARAMETER_NAME SECRET_ID S3_URI" >&2
  exit 2
fi

# get PATH [curl args]: the response body, or the error's __type on stderr and a failure.
get() {
  local path=$1 response status
  shift
  # -G turns the --data-urlencode pairs into an encoded query string (names hold '/');
  # -w appends the HTTP status on a last line of its own.
  response=$(curl -sS -G -w '\n%{http_code}' -H "X-Aws-Parameters-Secrets-Token: $token" \
    "$@" "http://localhost:$port$path") || return
  status=${response##*$'\n'}
  response=${response%$'\n'*}
  if [ "$status" != 200 ]; then
    # Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
    jq -r --arg status "$status" '"error: \(.__type) (HTTP \($status)): \(.message)"' \
      <<<"$response" >&2 2>/dev/null || echo "error: HTTP $status" >&2
    return 1
  fi
  printf '%s\n' "$response"
}

# format=raw answers the bare value as text/plain: nothing to parse in a shell.
value=$(get /systemsmanager/parameters/get --data-urlencode "name=$parameter_name" \
  -d withDecryption=true -d format=raw)
echo "parameter: $value"

# Show the secret's shape, never its value; fromjson? keeps jq from quoting a non-JSON secret.
keys=$(get /secretsmanager/get --data-urlencode "secretId=$secret_id" |
  jq -r '(.SecretString | fromjson? | objects | keys | join(", ")) // "(not a JSON object)"')
echo "secret keys: $keys"

# The object is already on local disk: read the file, no object bytes cross HTTP.
path=$(get /s3/get --data-urlencode "uri=$s3_uri" | jq -r .path)
echo "s3 path: $path"
echo "s3 head: $(head -c 64 "$path")"
