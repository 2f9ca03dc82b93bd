#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/: real requests and settings taken from the
e2e tests (tests/tests/e2e/*.rs) and the SDK suites (tests/sdk/**), in each target's input form
(fuzz/fuzz_targets/<target>.rs says which). Signed requests are signed by botocore, as boto3
signs them, when it is importable (the moto virtualenv has it: `.venv/bin/python fuzz/seeds.py`).

Run again after changing a target's input form; the files are small and committed."""

import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, seeds):
    folder = os.path.join(CORPUS, target)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for seed in seeds:
        data = seed.encode() if isinstance(seed, str) else seed
        name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


QUERIES = [
    "name=%2Fapp%2Fdb%2Furl&withDecryption=true",
    "name=/a/b&version=abc",
    "name=x",
    "name=/a/b&foo=bar",
    "name=/app/db:prod",
    "name=/app/db:3&withDecryption=false",
    "name=/readable/a&label=blue&version=2",
    "name=/readable/a&version=2&label=blue",
    "name=/app/db&format=raw&maxAge=0",
    "name=/app/db&refreshNow=true",
    "name=/app/db&region=eu-west-1&roleArn=arn:aws:iam::123456789012:role/reader",
    "name=arn:aws:ssm:us-east-1:123456789012:parameter/app/x:7",
    "name=/aws/reference/secretsmanager/prod/db&withDecryption=true",
    "names=/readable/a,/readable/b&withDecryption=true",
    "names=/a:1,/b:blue,%20/c%20",
    "path=/readable&recursive=true&withDecryption=true",
    "secretId=prod%2Fdb&versionStage=AWSPREVIOUS",
    "secretId=abc&versionId=EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",
    "secretIds=a,b,c&versionStage=AWSCURRENT",
    "bucket=readable-bucket&key=k.txt",
    "bucket=b&key=dir/a%20key%2Bplus.txt&versionId=3%2Fx&format=raw",
    "uri=s3://b/dir/k.json&format=raw",
    "kind=ssm&name=/app/db",
    "kind=s3&name=s3://b/k",
    "prefix=s3://b/",
    "all=true",
    "with%44ecryption=true&name=a+b",
    "name=a%00b",
    "name=%C3%A9t%C3%A9&maxAge=30",
]

# The id of `/v1/<id>` before the `?`.
PATH_QUERIES = ["prod%2Fdb?format=raw&refreshNow=true", "a+b%2Bc?versionStage=AWSPREVIOUS"]

FLAGS = (
    '{"ui_refresh":{"enabled":true,"colors":3,"theme":"dark","regions":["eu","us"],'
    '"Bad Key":1},"shutoff":{"enabled":false}}'
)
APPCONFIG = [
    "\n".join(
        [
            "/applications/app/environments/prod/configurations/flags",
            "flag=ui_refresh&flag=shutoff",
            "application/json",
            "ui_refresh,shutoff",
            "/applications/app/environments/prod/configurations/flags",
            "45s",
            FLAGS,
        ]
    ),
    "\n".join(
        [
            "/applications/my%2Fapp/environments/a%20b/configurations/x",
            "flag=ui%5Frefresh",
            "application/json",
            "ui_refresh",
            "a:b:c",
            "300ms",
            '{"feature":{"enabled":true},"limit":{"enabled":false,"max":5}}',
        ]
    ),
    "\n".join(
        [
            "/applications/app/environments/prod/configurations/config",
            "",
            "application/ion; type=AWS.AppConfig.FeatureFlags",
            "ui",
            "app:prod:config",
            "2m",
            '{ui:"x"}',
        ]
    ),
    "\n".join(["/applications/a/environments/b", "flag=", "text/plain", "a", "a::c", "1h", '{"feature":"on","limit":42}']),
]

S3 = [
    "\n".join(["/my-bucket/dir/a%20key%2Bplus.txt", "versionId=3%2Fx&x-id=GetObject", "bytes=0-9", "100",
               "", '"abc"', "", "", '"abc"', "Mon, 07 Dec 2026 12:00:00 GMT", "my-bucket", "dir/a key+plus.txt", ""]),
    "\n".join(["/b/k", "x-id=GetObject", "bytes=-10", "100", '"other"', "", "", "Sun, 06 Dec 2026 12:00:00 GMT",
               '"abc"', "Mon, 07 Dec 2026 12:00:00 GMT", "b", "../../etc/passwd", "v1"]),
    "\n".join(["/b/dir/", "list-type=2", "bytes=95-200", "100", "", 'W/"abc", "x"', "Tue, 08 Dec 2026 12:00:00 GMT",
               "", 'W/"abc"', "", "bucket", "a/b/..", ""]),
    "\n".join(["/b", "partNumber=1", "bytes=0-1,5-6", "0", "*", "*", "", "", "", "", ".", "..", "."]),
]

JSON = [
    'AmazonSSM.GetParameter\n{"Name":"/app/db","WithDecryption":true}',
    'AmazonSSM.GetParameter\n{"Name":"/app/db:3"}',
    'AmazonSSM.GetParameter\n{"Name":"arn:aws:ssm:us-east-1:123456789012:parameter/app/x:prod"}',
    'AmazonSSM.GetParameters\n{"Names":["/a","/b:2","/a"],"WithDecryption":false}',
    'AmazonSSM.GetParametersByPath\n{"Path":"/app","Recursive":true,"WithDecryption":true,"MaxResults":2,"NextToken":"sc1.L2FwcC9i"}',
    'AmazonSSM.GetParametersByPath\n{"Path":"/app","ParameterFilters":[{"Key":"Type","Values":["String"]}]}',
    'AmazonSSM.PutParameter\n{"Name":"/app/db","Value":"x","Overwrite":true}',
    'secretsmanager.GetSecretValue\n{"SecretId":"prod/db","VersionStage":"AWSPREVIOUS"}',
    'secretsmanager.GetSecretValue\n{"SecretId":"prod/db","VersionId":"EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"}',
    'secretsmanager.BatchGetSecretValue\n{"SecretIdList":["a","b"]}',
    'secretsmanager.BatchGetSecretValue\n{"Filters":[{"Key":"tag-key","Values":["team"]}]}',
    'AppConfig.GetConfiguration\n{"application":"app","environment":"prod","configuration":"flags"}',
    'AppConfig.GetFlag\n{"application":"app","environment":"prod","configuration":"flags","flag":"ui_refresh","context":{"user":"1"}}',
    "AmazonSSM.GetParameter\n",
    'AmazonSSM.GetParameter\n{"Name":null}',
]

EVENTS = [
    '127.0.0.1:9001\n{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1767225600000}',
    'http://127.0.0.1:9000/.rt\n{"eventType":"INVOKE","deadlineMs":1767225603000,"requestId":"r","invokedFunctionArn":"arn"}',
    'HTTP://localhost:9001/\n{"eventType":"SHUTDOWN","shutdownReason":"TIMEOUT"}',
    " 127.0.0.1:9001/\n[\"SHUTDOWN\",5,\"failure\"]",
]

CONFIGS = [
    "SSM_PARAMETER_STORE_TTL=60\nSECRETS_MANAGER_TTL=10\nPARAMETERS_SECRETS_EXTENSION_CACHE_SIZE=5\nSIDECACHE_CACHE_MAX_BYTES=2MiB",
    "SSM_PARAMETER_STORE_TTL=-5\nSIDECACHE_REFRESH_AHEAD=1.5\nSIDECACHE_TTL_JITTER=51\nSIDECACHE_METRICS=statsd\nSIDECACHE_STALE_IF_EROR=10",
    "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS=1s\nAWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS=300ms\nAWS_APPCONFIG_EXTENSION_PREFETCH_LIST=/applications/app/environments/prod/configurations/flags, a:b:c\nAWS_APPCONFIG_EXTENSION_HTTP_PORT=off",
    "SIDECACHE_PREFETCH=ssm:/app/db,secret:prod/db,secrets:tag-key=team,s3://b/k,ssm-path:/app\nSIDECACHE_PREFETCH_AT_INIT=false\nAWS_LAMBDA_INITIALIZATION_TYPE=snap-start",
    "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001\nSIDECACHE_LISTEN=0.0.0.0\nAWS_ENDPOINT_URL_SSM=http://localhost:2773\nAWS_REGION=eu-west-1",
    "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL=debug\nSIDECACHE_LOG_FORMAT=json\nSIDECACHE_CLIENT_CACHE_POLICY=lfu\nSIDECACHE_METRICS=emf\nSIDECACHE_METRICS_NAMESPACE=e2e-ns",
    "SIDECACHE_TOKEN_FILE=/nonexistent/token\nAWS_APPCONFIG_EXTENSION_ROLE_ARN=reader\nSIDECACHE_CLOUD_EXTENSIONS_PORT=5333",
]


def http_request(method, target, headers, body=b""):
    head = f"{method} {target} HTTP/1.1\r\nHost: localhost:2773\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    return head.encode() + b"\r\n" + body


def signed_requests():
    """SDK requests as boto3 signs them, with the region and service of each client."""
    try:
        from botocore.auth import S3SigV4Auth, SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        print("botocore not importable: no signed seeds", file=sys.stderr)
        return []
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    out = []
    calls = [
        ("ssm", "POST", "http://localhost:2773/", "AmazonSSM.GetParameter", b'{"Name": "/app/db", "WithDecryption": true}'),
        ("ssm", "POST", "http://localhost:2773/parameterstore", "AmazonSSM.GetParameters", b'{"Names": ["/a", "/b"]}'),
        ("secretsmanager", "POST", "http://localhost:2773/", "secretsmanager.GetSecretValue", b'{"SecretId": "prod/db"}'),
        ("appconfig", "POST", "http://localhost:2773/appconfig/", "AppConfig.GetConfiguration",
         b'{"application": "app", "environment": "prod", "configuration": "flags"}'),
        ("s3", "GET", "http://localhost:2773/my-bucket/dir/a%20key%2Bplus.txt?versionId=3%2Fx&x-id=GetObject", None, b""),
        ("s3", "HEAD", "http://localhost:2773/my-bucket/k.json", None, b""),
    ]
    for service, method, url, target, body in calls:
        headers = {"Content-Type": "application/x-amz-json-1.1"} if target else {"Range": "bytes=0-9"}
        if target:
            headers["X-Amz-Target"] = target
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        signer = S3SigV4Auth if service == "s3" else SigV4Auth
        signer(credentials, service, "eu-west-1").add_auth(request)
        prepared = request.prepare()
        path = url.split("localhost:2773", 1)[1]
        head = [(k, v) for k, v in prepared.headers.items() if k.lower() != "host"]
        if body:
            head.append(("Content-Length", str(len(body))))
        out.append((service, prepared.headers["Authorization"], prepared.headers["X-Amz-Date"],
                    http_request(method, path, head, body)))
    return out


def main():
    write("query", QUERIES + PATH_QUERIES)
    write("appconfig", APPCONFIG)
    write("s3", S3)
    write("json_input", JSON)
    write("extensions_api", EVENTS)
    write("config", CONFIGS)

    signed = signed_requests()
    token = [("X-Aws-Parameters-Secrets-Token", "e2e-token")]
    plain = [
        ("GET", "/ping", []),
        ("GET", "/stats", token),
        ("GET", "/systemsmanager/parameters/get?name=%2Fapp%2Fdb&withDecryption=true", token),
        ("GET", "/systemsmanager/parameters/get/?name=/a/b&version=abc", token),
        ("HEAD", "/systemsmanager/parameters/get?name=/app/db:prod&format=raw", token),
        ("GET", "/systemsmanager/parameters/get-many?names=/readable/a,/readable/b", token),
        ("GET", "/systemsmanager/parameters/by-path?path=/readable&recursive=true", token),
        ("GET", "/secretsmanager/get?secretId=abc&foo=bar", token),
        ("GET", "/secretsmanager/get-many?secretIds=a,b", token),
        ("GET", "/v1/prod%2Fdb?format=raw&refreshNow=true", token),
        ("GET", "/secretsmanager/prod/db", token),
        ("GET", "/s3/get?bucket=readable-bucket&key=k.txt", token),
        ("GET", "/s3/get?uri=s3://b/dir/k.json&format=raw", token),
        ("POST", "/cache/invalidate?kind=ssm&name=/app/db", token),
        ("GET", "/cache/invalidate?all=true", token),
        ("GET", "/nope", token),
        ("GET", "/systemsmanager/parameters/get?name=x", [("X-Forwarded-For", "10.0.0.1")] + token),
        ("GET", "/applications/app/environments/prod/configurations/flags?flag=ui_refresh&flag=shutoff", token),
    ]
    requests = []
    for mode in (0, 1, 3):
        for method, target, headers in plain:
            requests.append(bytes([mode]) + http_request(method, target, headers))
    agent = 2 << 2 | 3
    requests.append(bytes([agent]) + http_request("GET", "/applications/app/environments/prod/configurations/flags?flag=ui_refresh", []))
    requests.append(bytes([agent]) + http_request("GET", "/systemsmanager/parameters/get?name=x", []))
    for service, _, _, raw in signed:
        requests.append(bytes([2]) + raw)
        requests.append(bytes([3]) + raw)
        if service == "appconfig":
            requests.append(bytes([1 << 2 | 3]) + raw)
    write("request", requests)

    sigv4 = [b"\x00" + a.encode() for _, a, _, _ in signed]
    sigv4 += [b"\x00" + d.encode() for _, _, d, _ in signed[:1]]
    sigv4 += [
        b"\x0020150830T123600Z",
        b"\x0020000229T235959Z",
        b"\x00AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/ssm/aws4_request, SignedHeaders=host;x-amz-date, "
        b"Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        b"\x01" + bytes(range(64)),
        b"\x01" + b"ssm GET /a?b=c x-f-y: z " * 4,
    ]
    write("sigv4", sigv4)


if __name__ == "__main__":
    main()
