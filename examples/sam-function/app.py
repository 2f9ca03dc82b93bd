"""Example Lambda handler: a parameter, a secret, an S3 object and an AppConfig profile through
the sidecache layer.

Uses the `sidecache` package (clients/python; standard library only, so no AWS SDK to load
at cold start) from the layer itself: the sidecache layer ships it as python/sidecache, which
Lambda puts on sys.path as /opt/python, so nothing is packed with the function but this file.
The client is made once per execution environment and keeps one connection to the extension
open across invocations. The AppConfig profile is read exactly as through AWS's AppConfig Agent: a plain GET on the
agent's port (2772), no token. Deployed by template.yaml.
"""
import json
import os
import urllib.request

import sidecache

client = sidecache.Client()


def read_parameter():
    value = client.parameter(os.environ["PARAMETER_NAME"])
    # A String parameter, so returning it is fine; a SecureString's value would not be returned.
    return {"name": os.environ["PARAMETER_NAME"], "value": value, "cache": client.last_cache_status}


def read_secret():
    secret = client.secret(os.environ["SECRET_ID"])
    cache = client.last_cache_status
    try:
        value = json.loads(secret)
    except (TypeError, ValueError):
        value = None
    # Only an object's keys: sorted() of a JSON string or list would list the secret itself.
    keys = sorted(value) if isinstance(value, dict) else None
    # Proof that the secret arrived, without the secret: its length and the names of its fields.
    return {"name": os.environ["SECRET_ID"], "length": len(secret), "keys": keys, "cache": cache}


def read_object():
    info = client.object_info(os.environ["S3_URI"])
    cache = client.last_cache_status
    # The extension wrote the object under /tmp: the handler opens a local file.
    with open(info["path"], "rb") as f:
        first_line = f.readline(200).decode("utf-8", errors="replace").rstrip("\n")
    return {"path": info["path"], "size": info["size"], "etag": info["etag"], "firstLine": first_line,
            "cache": cache}


def read_appconfig():
    port = os.environ.get("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "2772")
    url = f"http://localhost:{port}{os.environ['APPCONFIG_PROFILE']}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            configuration = json.load(answer)
            return {"configuration": configuration, "version": answer.headers["ConfigurationVersion"],
                    "label": answer.headers["Version-Label"], "cache": answer.headers["X-Cache"]}
    except urllib.error.HTTPError as error:
        return {"error": error.read().decode("utf-8", "replace"), "status": error.code}


def handler(event, context):
    summary = {}
    reads = [("parameter", read_parameter), ("secret", read_secret), ("object", read_object)]
    if os.environ.get("APPCONFIG_PROFILE"):
        reads.append(("appconfig", read_appconfig))
    for name, read in reads:
        try:
            summary[name] = read()
        except sidecache.SidecacheError as error:
            # One missing value (e.g. the S3 object before it is uploaded) does not hide the others.
            summary[name] = {"error": error.error_type, "status": error.status, "message": error.message}
    return summary
