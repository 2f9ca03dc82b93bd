"""Runs a layer's extensions/sidecache the way Lambda does, against moto, and checks it.

Called by layer/check.sh (run it with the venv's python, which has moto and boto3):

    .venv/bin/python layer/check_lambda.py [--tree DIR] BIN [RUNNER...]

RUNNER is a prefix such as `qemu-aarch64-static` for a binary of another architecture; DIR is the
unzipped layer tree, whose client packages are then checked too (layer/check_clients.py). Steps:
  1. moto (in this process) is seeded with a String parameter, a secret and an S3 object;
  2. a minimal Lambda Extensions API (below) accepts the registration and hands out events;
  3. the binary is started in Lambda mode (AWS_LAMBDA_RUNTIME_API set, the session token as the
     token) and must register, answer /ping, return the parameter's and the secret's values and
     write the S3 object into SIDECACHE_S3_DIR;
  3b. with --tree, handlers using the layer's Python and Node.js clients read the parameter;
  4. SHUTDOWN is delivered and the process must exit 0 before its deadline.
No value or token may appear in the binary's logs. Prints one `  ok    ...` or `  FAIL  ...` line
per check (check.sh counts them) and exits 1 when any failed.
"""

import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from moto.server import ThreadedMotoServer

from check_clients import check_clients
from check_report import exit_status, fail, ok  # noqa: E402

REGION = "us-east-1"
TOKEN = "layer-check-session-token"
PARAM_NAME = "/layer-check/greeting"
PARAM_VALUE = "hello from parameter store"
SECRET_ID = "layer-check/db"
SECRET_VALUE = '{"password":"layer-check-secret"}'
BUCKET = "layer-check"
KEY = "config/app.json"
OBJECT = b'{"feature":"on"}\n'
# Lambda gives an external extension 2 s after SHUTDOWN (300 ms with no extension configured
# time; 2 s is the usual figure). Under qemu the binary is slower, so allow a margin for waiting,
# but the extension's own deadline stays what Lambda would send.
SHUTDOWN_DEADLINE_MS = 2000
# Registration and first answers, generous for an emulated binary on a busy machine.
START_TIMEOUT_S = 30

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ExtensionsApi:
    """The parts of the Lambda Extensions API (2020-01-01) an extension uses: register,
    event/next (blocking until an event is queued) and the two error reports."""

    def __init__(self):
        self.registered = threading.Event()
        self.registration = None
        self.events = queue.Queue()
        self.errors = []
        self.identifier = str(uuid.uuid4())
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers:
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path == "/2020-01-01/extension/register":
                    api.registration = {
                        "name": self.headers.get("Lambda-Extension-Name"),
                        "events": json.loads(body or b"{}").get("events"),
                    }
                    api.registered.set()
                    self.reply(
                        200,
                        {"functionName": "fn", "functionVersion": "$LATEST", "handler": "index.handler"},
                        [("Lambda-Extension-Identifier", api.identifier)],
                    )
                elif self.path.endswith("/error"):
                    api.errors.append((self.path, self.headers.get("Lambda-Extension-Function-Error-Type")))
                    self.reply(202, {"status": "OK"})
                else:
                    self.reply(404, {"errorMessage": f"no route {self.path}"})

            def do_GET(self):
                if self.path != "/2020-01-01/extension/event/next":
                    self.reply(404, {"errorMessage": f"no route {self.path}"})
                elif self.headers.get("Lambda-Extension-Identifier") != api.identifier:
                    self.reply(403, {"errorType": "Extension.InvalidIdentifier"})
                else:
                    self.reply(200, api.events.get(), [("Lambda-Extension-Event-Identifier", str(uuid.uuid4()))])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def runtime_api(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def shutdown_event(self):
        deadline = int(time.time() * 1000) + SHUTDOWN_DEADLINE_MS
        self.events.put({"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": deadline})


def seed(endpoint):
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    session.client("ssm", endpoint_url=endpoint).put_parameter(
        Name=PARAM_NAME, Value=PARAM_VALUE, Type="String"
    )
    session.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=SECRET_ID, SecretString=SECRET_VALUE
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=OBJECT)


def get(port, path, timeout=20):
    """GET with the token; returns (status, parsed JSON or raw text)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"X-Aws-Parameters-Secrets-Token": TOKEN}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, data = resp.status, resp.read()
    except urllib.error.HTTPError as error:
        status, data = error.code, error.read()
    except OSError as error:
        return None, str(error)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode(errors="replace")


def wait_ping(port, process):
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        status, body = get(port, "/ping", timeout=2)
        if status == 200:
            return body
        time.sleep(0.05)
    return None


def check_values(port, s3_dir):
    status, body = get(port, "/systemsmanager/parameters/get?name=" + urllib.parse.quote(PARAM_NAME, safe=""))
    value = body.get("Parameter", {}).get("Value") if isinstance(body, dict) else None
    if status == 200 and value == PARAM_VALUE:
        ok(f"parameter {PARAM_NAME} read from moto")
    else:
        fail(f"parameter {PARAM_NAME}: HTTP {status}, Value {value!r} (expected {PARAM_VALUE!r})")

    status, body = get(port, "/secretsmanager/get?secretId=" + urllib.parse.quote(SECRET_ID, safe=""))
    value = body.get("SecretString") if isinstance(body, dict) else None
    if status == 200 and value == SECRET_VALUE:
        ok(f"secret {SECRET_ID} read from moto")
    else:
        fail(f"secret {SECRET_ID}: HTTP {status}, SecretString matches: {value == SECRET_VALUE}")

    status, body = get(port, "/s3/get?uri=" + urllib.parse.quote(f"s3://{BUCKET}/{KEY}", safe=""))
    path = body.get("path") if isinstance(body, dict) else None
    if status != 200 or not path:
        fail(f"S3 object s3://{BUCKET}/{KEY}: HTTP {status} {body!r}")
    elif os.path.dirname(path) != s3_dir:
        fail(f"S3 object written to {path}, not into SIDECACHE_S3_DIR {s3_dir}")
    else:
        with open(path, "rb") as f:
            content = f.read()
        if content == OBJECT:
            ok(f"S3 object s3://{BUCKET}/{KEY} written to the cache directory ({len(content)} bytes)")
        else:
            fail(f"S3 object file {path} holds {content!r}, expected {OBJECT!r}")


def main():
    args = sys.argv[1:]
    tree = None
    if args[:1] == ["--tree"] and len(args) >= 2:
        tree, args = args[1], args[2:]
    if not args:
        sys.exit("usage: check_lambda.py [--tree DIR] BIN [RUNNER...]")
    binary, runner = args[0], args[1:]

    # moto's request log (werkzeug) would bury the check lines.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{moto_port}"
    work = tempfile.mkdtemp(prefix="sidecache-layer-check-")
    process = None
    try:
        seed(endpoint)
        api = ExtensionsApi()
        port = free_port()
        s3_dir = os.path.join(work, "s3")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "AWS_LAMBDA_RUNTIME_API": api.runtime_api,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": TOKEN,
            "AWS_ENDPOINT_URL": endpoint,
            "SIDECACHE_S3_DIR": s3_dir,
        }
        log_path = os.path.join(work, "run.log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [*runner, binary], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

        def logs():
            with open(log_path, "rb") as f:
                return f.read().decode(errors="replace")

        deadline = time.monotonic() + START_TIMEOUT_S
        while not api.registered.wait(0.05) and process.poll() is None and time.monotonic() < deadline:
            pass
        if api.registered.is_set() and api.registration["name"] == "sidecache":
            ok(f"Lambda mode: registered as {api.registration['name']!r} for {api.registration['events']}")
        else:
            fail(f"Lambda mode: registration {api.registration!r} (exit status {process.poll()}); log:\n{logs()}")
            return
        body = wait_ping(port, process)
        if body is not None:
            ok(f"Lambda mode: answers GET /ping: {json.dumps(body, separators=(',', ':'))}")
            check_values(port, s3_dir)
            if tree is not None:
                check_clients(tree, port, TOKEN, PARAM_NAME, PARAM_VALUE, ok, fail)
        else:
            fail(f"Lambda mode: no answer to GET /ping within {START_TIMEOUT_S} s; log:\n{logs()}")
        if process.poll() is not None:
            fail(f"exited by itself with status {process.returncode} before SHUTDOWN; log:\n{logs()}")
            return

        api.shutdown_event()
        try:
            # The deadline plus a margin for emulation: exiting late would be a FAIL below anyway.
            status = process.wait(timeout=SHUTDOWN_DEADLINE_MS / 1000 + 8)
            if status == 0:
                ok("exits 0 on a SHUTDOWN event")
            else:
                fail(f"exit status {status} on a SHUTDOWN event; log:\n{logs()}")
        except subprocess.TimeoutExpired:
            fail(f"still running {SHUTDOWN_DEADLINE_MS / 1000 + 8:.0f} s after SHUTDOWN")
        if api.errors:
            fail(f"reported errors to the Extensions API: {api.errors}")
        text = logs()
        leaked = [s for s in (PARAM_VALUE, SECRET_VALUE, "layer-check-secret", TOKEN) if s in text]
        if leaked:
            fail(f"the log holds values or the token: {leaked}")
        else:
            ok("no value, secret or token in the log")
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
