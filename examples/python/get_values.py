#!/usr/bin/env python3
"""Read a parameter, a secret and an S3 object through sidecache with the `sidecache` package.

Usage: get_values.py [PARAMETER_NAME SECRET_ID S3_URI]  (or set those environment variables)

In a function: `pip install ./clients/python` (standard library only, no boto3). Here,
examples/python/sidecache links to clients/python/src/sidecache so the example runs from a
checkout as it is.
"""
import json
import os
import sys

import sidecache


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
    # The port is PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (the extension's own variable), the
    # token SIDECACHE_TOKEN or else the function's AWS_SESSION_TOKEN; one kept-alive connection.
    client = sidecache.Client()
    try:
        # SecureStrings come back decrypted; a StringList would come back as a list.
        print("parameter:", client.parameter(parameter_name))

        # Show the secret's shape, never its value.
        print("secret keys:", json_keys(client.secret(secret_id)))

        # The object is already on local disk: open the file, no object bytes cross HTTP.
        path = client.object_path(s3_uri)
        with open(path, "rb") as f:
            head = f.read(64)
        print("s3 path:", path)
        print("s3 head:", head.decode("utf-8", errors="replace"))
    except sidecache.NotFound as error:
        # error.status is 404, error.error_type the AWS code (ParameterNotFound, ...).
        sys.exit(f"error: not found: {error}")
    except (sidecache.SidecacheError, OSError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
