#!/usr/bin/env python3
"""Read a parameter, a secret and an S3 object through sidecache, standard library only.

Usage: get_values.py [PARAMETER_NAME SECRET_ID S3_URI]  (or set those environment variables)
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

# The variable the extension itself reads, so the handler and the sidecar agree on the port.
PORT = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")
# In Lambda the token is the function's own session token; SIDECACHE_TOKEN is for sidecars
# started with an explicit token (ECS, EC2, `make run`).
TOKEN = os.environ.get("SIDECACHE_TOKEN") or os.environ.get("AWS_SESSION_TOKEN", "")


class SidecacheError(Exception):
    pass


def get(path, **query):
    url = f"http://localhost:{PORT}{path}?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, headers={"X-Aws-Parameters-Secrets-Token": TOKEN})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        # Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
        try:
            body = json.load(error)
        except ValueError:
            body = {}
        kind = body.get("__type", "HTTPError")
        raise SidecacheError(f"{kind} (HTTP {error.code}): {body.get('message', error.reason)}")


def json_keys(text):
    """The keys of a JSON object, without ever echoing the text (it is a secret)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        value = None
    return ", ".join(sorted(value)) if isinstance(value, dict) else "(not a JSON object)"


def main():
    names = sys.argv[1:4] or [os.environ.get(v) for v in ("PARAMETER_NAME", "SECRET_ID", "S3_URI")]
    if len(names) != 3 or not all(names):
        sys.exit(__doc__)
    parameter_name, secret_id, s3_uri = names
    try:
        # withDecryption=true makes SecureString values come back in clear, as in the AWS SDK.
        parameter = get("/systemsmanager/parameters/get", name=parameter_name, withDecryption="true")
        print("parameter:", parameter["Parameter"]["Value"])

        # Show the secret's shape, never its value.
        secret = get("/secretsmanager/get", secretId=secret_id)
        print("secret keys:", json_keys(secret["SecretString"]))

        # The object is already on local disk: open the file, no object bytes cross HTTP.
        s3 = get("/s3/get", uri=s3_uri)
        with open(s3["path"], "rb") as f:
            head = f.read(64)
        print("s3 path:", s3["path"])
        print("s3 head:", head.decode("utf-8", errors="replace"))
    except (SidecacheError, OSError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
