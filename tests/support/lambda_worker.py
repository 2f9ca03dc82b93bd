"""One Python worker process of a Lambda Managed Instances environment, as the e2e test
`managed_instances` starts sixteen of them at once: each reads a parameter, a secret and an S3
object through sidecache over and over, on a new connection each time (as most handlers do),
and opens the S3 file it is given, checking that it is always one version whole.

Usage: lambda_worker.py PORT TOKEN PARAM SECRET BUCKET KEY ROUNDS SIZE_A SIZE_B
Prints one JSON line: {"reads": n, "errors": [...], "sizes": {size: count}}.
"""

import http.client
import json
import sys
import urllib.parse

port, token, param, secret, bucket, key = sys.argv[1:7]
rounds, size_a, size_b = (int(v) for v in sys.argv[7:10])
whole = {size_a: b"a", size_b: b"b"}  # version A is all 'a', version B all 'b'


def get(path):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    try:
        conn.request("GET", path, headers={"X-Aws-Parameters-Secrets-Token": token})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


q = urllib.parse.quote
reads, errors, sizes = 0, [], {}
for i in range(rounds):
    # Every fourth round forces a revalidation: files are replaced while others read them.
    fresh = "&maxAge=0" if i % 4 == 3 else ""
    for path in (
        f"/systemsmanager/parameters/get?name={q(param, safe='')}",
        f"/secretsmanager/get?secretId={q(secret, safe='')}",
        f"/s3/get?bucket={q(bucket)}&key={q(key)}{fresh}",
    ):
        status, body = get(path)
        reads += 1
        if status != 200:
            errors.append(f"{status} {path}: {body[:200]!r}")
            continue
        if path.startswith("/s3/"):
            with open(json.loads(body)["path"], "rb") as f:
                data = f.read()
            fill = whole.get(len(data))
            if fill is None or data != fill * len(data):
                errors.append(f"partial or mixed file: {len(data)} bytes")
            sizes[len(data)] = sizes.get(len(data), 0) + 1
print(json.dumps({"reads": reads, "errors": errors[:20], "sizes": sizes}))
