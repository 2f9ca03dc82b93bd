"""Stock boto3 and the AWS CLI as sidecache's clients, end to end.

One moto (the upstream, `SIDECACHE_MOTO_SERVER`) and one sidecache (`SIDECACHE_BIN`) per session,
on free ports; tests that need a sidecache of their own (other variables, other credentials)
start one with the `start_sidecache` factory. The SDK clients under test are configured the way
a function configures them: `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL_SECRETS_MANAGER` in the
environment before the client is made, and for S3 an `endpoint_url=` with path-style
addressing. moto is seeded and checked with clients that name moto explicitly.

Every name a test creates carries the run's random id (`RUN`) and the test's own tag, so nothing
passes on a value left over from another run or test.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[3]
BIN = os.environ.get("SIDECACHE_BIN") or str(ROOT / "target/debug/sidecache")
MOTO_SERVER = os.environ.get("SIDECACHE_MOTO_SERVER") or str(ROOT / ".venv/bin/moto_server")

RUN = uuid.uuid4().hex[:10]
TOKEN = f"sdk-token-{RUN}"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
KEY_ID = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"
# Short: every wait below polls a condition; this only bounds a broken run.
START_DEADLINE = 20.0

# The test process's own AWS configuration: credentials and region only, nothing from the shell
# or a config file (an endpoint left there would send a client around sidecache unnoticed).
for _name in list(os.environ):
    if _name.startswith("AWS_"):
        del os.environ[_name]
os.environ.update(
    AWS_ACCESS_KEY_ID=KEY_ID,
    AWS_SECRET_ACCESS_KEY=SECRET_KEY,
    AWS_REGION=REGION,
    AWS_DEFAULT_REGION=REGION,
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    AWS_EC2_METADATA_DISABLED="true",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(port, method, path, body=None, headers=None, timeout=10.0, host="127.0.0.1"):
    """One raw HTTP exchange: (status, lower-cased headers, body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def wait_until(condition, deadline_s, what):
    end = time.monotonic() + deadline_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Moto:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "moto.log"
        self.proc = subprocess.Popen(
            [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"moto exited: {self.log.read_text()}")
            try:
                return http_request(self.port, "GET", "/moto-api/", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(up, START_DEADLINE, "moto")

    def client(self, service, **kwargs):
        return boto3.session.Session().client(
            service, endpoint_url=self.url, region_name=REGION, **kwargs
        )

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Sidecache:
    """One sidecache process: its port, log and a few raw helpers."""

    def __init__(self, moto_url: str, workdir: Path, env: dict | None = None, port: int | None = None,
                 wait: bool = True):
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.log = workdir / "sidecache.log"
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self.port),
            "SIDECACHE_TOKEN": TOKEN,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "SIDECACHE_S3_DIR": str(workdir / "s3"),
            # No shortened TTLs: a hit in these tests is a hit, whatever the machine's speed.
            "SIDECACHE_TTL_JITTER": "0",
            "SIDECACHE_REFRESH_AHEAD": "0",
        }
        for key, value in (env or {}).items():
            if value is None:
                base.pop(key, None)
            else:
                base[key] = value
        self.env = base
        self.token = base.get("SIDECACHE_TOKEN") or base.get("AWS_SESSION_TOKEN")
        self.proc = subprocess.Popen(
            [BIN], env=base, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"sidecache exited ({self.proc.returncode}): {self.log_text()}")
            try:
                return self.request("GET", "/ping", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(up, START_DEADLINE, f"sidecache on {self.port}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            return False
        return self.request("GET", "/ping", timeout=5)[0] == 200

    def request(self, method, path, body=None, headers=None, timeout=10.0, port=None):
        return http_request(port or self.port, method, path, body, headers, timeout)

    def get(self, path, params=None, token=True, port=None):
        """A GET endpoint read with the token header: (status, headers, body bytes)."""
        if params:
            path = f"{path}?{urlencode(params)}"
        headers = {TOKEN_HEADER: self.token} if token else {}
        return self.request("GET", path, headers=headers, port=port)

    def get_json(self, path, params=None, port=None):
        status, headers, body = self.get(path, params, port=port)
        assert status == 200, (status, body)
        return headers, json.loads(body)

    def stats(self) -> dict:
        status, _, body = self.get("/stats")
        assert status == 200, body
        return json.loads(body)

    def upstream_calls(self, kind: str) -> int:
        return self.stats()["upstream"][kind]["calls"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sdk")


@pytest.fixture(scope="session")
def moto(workdir):
    for tool in (BIN, MOTO_SERVER):
        if not os.access(tool, os.X_OK):
            pytest.exit(f"{tool} is missing: run 'make venv build'", returncode=2)
    server = Moto(workdir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sidecache(moto, workdir):
    sc = Sidecache(moto.url, workdir / "main")
    yield sc
    sc.stop()
    # Whatever the session did, the token header's value never reached a log line.
    assert TOKEN not in sc.log_text(), "the token is in sidecache's log"


@pytest.fixture
def start_sidecache(moto, tmp_path):
    """A factory for sidecaches of a test's own; all stopped after the test."""
    started = []

    def start(env=None, port=None, wait=True, moto_url=None):
        sc = Sidecache(moto_url or moto.url, tmp_path / f"sc{len(started)}", env, port, wait)
        started.append(sc)
        return sc

    yield start
    for sc in started:
        sc.stop()


@pytest.fixture(scope="session")
def moto_ssm(moto):
    return moto.client("ssm")


@pytest.fixture(scope="session")
def moto_sm(moto):
    return moto.client("secretsmanager")


@pytest.fixture(scope="session")
def moto_s3(moto):
    return moto.client("s3")


@pytest.fixture
def uniq(request) -> str:
    """A name part unique to this run and test."""
    full = request.node.name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", full).strip("-")[:50]
    return f"{RUN}-{name}-{hashlib.sha1(full.encode()).hexdigest()[:6]}"


def sdk_session(monkeypatch, sc: Sidecache, **credentials):
    """A boto3 session whose SSM and Secrets Manager clients reach `sc` through the endpoint
    variables alone (set before the client is made, as a function's configuration would)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", sc.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sc.url)
    return boto3.session.Session(region_name=REGION, **credentials)


@pytest.fixture
def sdk(monkeypatch, sidecache):
    """A boto3 session pointed at the session's sidecache by the endpoint variables."""
    return sdk_session(monkeypatch, sidecache)


@pytest.fixture
def ssm(sdk):
    return sdk.client("ssm")


@pytest.fixture
def sm(sdk):
    return sdk.client("secretsmanager")


def s3_client(sc: Sidecache, config: Config | None = None, **kwargs):
    """A boto3 S3 client on `sc` by endpoint_url, path style (plus `config`)."""
    path_style = Config(s3={"addressing_style": "path"})
    return boto3.session.Session(region_name=REGION).client(
        "s3",
        endpoint_url=sc.url,
        config=path_style.merge(config) if config else path_style,
        **kwargs,
    )


@pytest.fixture
def s3(sidecache):
    return s3_client(sidecache)


def x_cache(resp) -> str | None:
    return resp["ResponseMetadata"]["HTTPHeaders"].get("x-cache")


def error_code(exc) -> str:
    return exc.response["Error"]["Code"]


def error_status(exc) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]
