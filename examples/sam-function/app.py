"""Example Lambda handler: a parameter, a secret and an S3 object through the sidecache layer.

Standard library only: each value is one local HTTP call to the extension (a cache hit after the
first), so the function needs no AWS SDK and pays no SDK start-up. Deployed by template.yaml.
"""
import json
import os
import urllib.error
import urllib.parse
import urllib.request

PORT = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")


class SidecacheError(Exception):
    def __init__(self, status, kind, message):
        super().__init__(f"{kind} (HTTP {status}): {message}")
        self.status, self.kind, self.message = status, kind, message


def sidecache(path, **query):
    """GET a sidecache endpoint: (JSON body, X-Cache header)."""
    url = f"http://localhost:{PORT}{path}?{urllib.parse.urlencode(query)}"
    # Lambda gives the function and its extensions the same session token: it proves the caller
    # is this function, not something else reaching localhost.
    token = os.environ.get("AWS_SESSION_TOKEN", "")
    request = urllib.request.Request(url, headers={"X-Aws-Parameters-Secrets-Token": token})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response), response.headers.get("X-Cache")
    except urllib.error.HTTPError as error:
        try:
            body = json.load(error)
        except ValueError:
            body = {}
        raise SidecacheError(error.code, body.get("__type", "HTTPError"), body.get("message", ""))


def read_parameter():
    body, cache = sidecache(
        "/systemsmanager/parameters/get",
        name=os.environ["PARAMETER_NAME"],
        withDecryption="true",
    )
    parameter = body["Parameter"]
    # A String parameter, so printing it is fine; a SecureString's value would not be returned.
    return {"name": parameter["Name"], "version": parameter["Version"], "value": parameter["Value"], "cache": cache}


def read_secret():
    body, cache = sidecache("/secretsmanager/get", secretId=os.environ["SECRET_ID"])
    secret = body["SecretString"] or ""
    try:
        value = json.loads(secret)
    except ValueError:
        value = None
    # Only an object's keys: sorted() of a JSON string or list would list the secret itself.
    keys = sorted(value) if isinstance(value, dict) else None
    # Proof that the secret arrived, without the secret: its length and the names of its fields.
    return {"name": body["Name"], "length": len(secret), "keys": keys, "cache": cache}


def read_object():
    body, cache = sidecache("/s3/get", uri=os.environ["S3_URI"])
    # The extension wrote the object under /tmp: the handler opens a local file.
    with open(body["path"], "rb") as f:
        first_line = f.readline(200).decode("utf-8", errors="replace").rstrip("\n")
    return {"path": body["path"], "size": body["size"], "etag": body["etag"], "firstLine": first_line, "cache": cache}


def handler(event, context):
    summary = {}
    for name, read in (("parameter", read_parameter), ("secret", read_secret), ("object", read_object)):
        try:
            summary[name] = read()
        except SidecacheError as error:
            # One missing value (e.g. the S3 object before it is uploaded) does not hide the others.
            summary[name] = {"error": error.kind, "status": error.status, "message": error.message}
    return summary
