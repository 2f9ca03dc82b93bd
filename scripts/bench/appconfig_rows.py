"""`make bench` rows for AppConfig (docs/appconfig.md):

  19  instructions per AppConfig hit on the agent's path (`GET /applications/.../configurations/
      ...` on the agent's port, no token, keep-alive) of a configuration about the size of a
      parameter's answer, beside the GET endpoint's parameter hit measured the same way in the
      same run: the target is <= the parameter hit + 10 %;
  20  RSS with 20 cached profiles of 64 KiB each, beside the same process before them.

AppConfig Data is stood in for by a minimal stub here (StartConfigurationSession answers a
token, GetLatestConfiguration the profile's content): the rows measure sidecache's hit, which
never reaches it. The faithful fake the tests use is tests/src/fake_appconfig.rs.

    .venv/bin/python scripts/bench/appconfig_rows.py --bin target/release/sidecache
"""

import argparse
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "bench-appconfig-token"
PARAM, VALUE = "/bench/appconfig/parameter", "a parameter for comparison"
PROFILES, PROFILE_BYTES = 20, 64 << 10
CG_N1, CG_N2 = 500, 2000
TARGET = 1.10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def content_of(profile):
    """64 KiB of JSON, different per profile; `small` is about a parameter's answer's size."""
    if profile == "small":
        return json.dumps({"profile": profile, "limit": 25, "greeting": "hello from AppConfig",
                           "features": ["a", "b", "c"]}).encode()
    filler = "x" * (PROFILE_BYTES - 64)
    return json.dumps({"profile": profile, "filler": filler})[:PROFILE_BYTES].encode()


class AppConfigData(http.server.BaseHTTPRequestHandler):
    """StartConfigurationSession and GetLatestConfiguration, enough to fill sidecache's cache."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        token = "|".join([body["ApplicationIdentifier"], body["EnvironmentIdentifier"],
                          body["ConfigurationProfileIdentifier"]])
        answer = json.dumps({"InitialConfigurationToken": token}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        token = query["configuration_token"][0]
        body = content_of(token.split("|")[-1])
        self.send_response(200)
        self.send_header("Next-Poll-Configuration-Token", token)
        self.send_header("Next-Poll-Interval-In-Seconds", "3600")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_stub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AppConfigData)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def sidecache_env(moto_url, appconfig_url, port, agent_port):
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SIDECACHE_TOKEN": TOKEN,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ENDPOINT_URL_APPCONFIGDATA": appconfig_url,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
        "AWS_APPCONFIG_EXTENSION_HTTP_PORT": str(agent_port),
        "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS": "1h",
        "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "warn",
        "SSM_PARAMETER_STORE_TTL": "3600",
        "SIDECACHE_REFRESH_AHEAD": "0",
        "SIDECACHE_S3_DIR": os.path.join(tempfile.gettempdir(), f"sidecache-bench-appconfig-{port}"),
    }


def wait_ping(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sidecache exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/ping")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sidecache did not answer /ping")


def profile_path(i):
    return f"/applications/bench/environments/prod/configurations/profile{i:02d}"


SMALL_PATH = "/applications/bench/environments/prod/configurations/small"
PARAM_PATH = "/systemsmanager/parameters/get?name=" + urllib.parse.quote(PARAM, safe="")


def read(conn, path, headers, expect):
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200 or expect not in data:
        raise RuntimeError(f"{path} answered {r.status}: {data[:200]!r}")


def callgrind_per_hit(binary, moto_url, appconfig_url, kind, workdir):
    totals = []
    for n in (CG_N1, CG_N2):
        port, agent = free_port(), free_port()
        out = os.path.join(workdir, f"callgrind.appconfig.{kind}.{n}.out")
        p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary],
                             env=sidecache_env(moto_url, appconfig_url, port, agent),
                             stdout=subprocess.DEVNULL, stderr=open(out + ".log", "w"))
        try:
            wait_ping(port, p, 180)
            if kind == "appconfig":
                conn = http.client.HTTPConnection("127.0.0.1", agent, timeout=120)
                path, headers, expect = SMALL_PATH, {}, b'"profile": "small"'
            else:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                path, headers, expect = PARAM_PATH, {"X-Aws-Parameters-Secrets-Token": TOKEN}, VALUE.encode()
            read(conn, path, headers, expect)  # the miss that fills the cache
            for _ in range(n):
                read(conn, path, headers, expect)
            conn.close()
        finally:
            p.terminate()
            p.wait(timeout=180)
        with open(out) as f:
            totals.append(next(int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:"))))
    return (totals[1] - totals[0]) / (CG_N2 - CG_N1)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def rss_with_profiles(binary, moto_url, appconfig_url):
    port, agent = free_port(), free_port()
    p = subprocess.Popen([binary], env=sidecache_env(moto_url, appconfig_url, port, agent),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ping(port, p, 10)
        conn = http.client.HTTPConnection("127.0.0.1", agent, timeout=30)
        # A first profile sets up the SDK client and its connection: measured apart.
        read(conn, profile_path(0), {}, b"profile00")
        before = rss_kb(p.pid)
        for i in range(1, PROFILES):
            read(conn, profile_path(i), {}, f"profile{i:02d}".encode())
        for i in range(PROFILES):
            read(conn, profile_path(i), {}, f"profile{i:02d}".encode())
        time.sleep(0.5)
        return before, rss_kb(p.pid)
    finally:
        p.terminate()
        p.wait(timeout=10)


def measure(binary, moto_url, workdir, log=print):
    boto3.client("ssm", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").put_parameter(Name=PARAM, Value=VALUE, Type="String",
                                                                Overwrite=True)
    stub, appconfig_url = start_stub()
    try:
        res = {}
        for kind in ("parameter", "appconfig"):
            log(f"callgrind: {kind} hit")
            res[kind] = callgrind_per_hit(binary, moto_url, appconfig_url, kind, workdir)
        log(f"RSS with {PROFILES} profiles of {PROFILE_BYTES >> 10} KiB")
        res["rss"] = rss_with_profiles(binary, moto_url, appconfig_url)
        return res
    finally:
        stub.shutdown()


def rows(res):
    ratio = res["appconfig"] / res["parameter"]
    before, after = res["rss"]
    return [
        f"| 19 | instructions per AppConfig hit, agent's port (no token), keep-alive | {res['appconfig']:,.0f} "
        f"(parameter hit, same run: {res['parameter']:,.0f}; **{ratio:.2f}x**) | <= {TARGET:.2f}x the parameter hit | "
        f"{'ok' if ratio <= TARGET else '**over**'} |",
        f"| 20 | RSS with {PROFILES} cached profiles of {PROFILE_BYTES >> 10} KiB | {after / 1024:.1f} MB "
        f"(one profile: {before / 1024:.1f} MB; +{(after - before) / 1024:.1f} MB for {PROFILES - 1} more, "
        f"{(PROFILES - 1) * PROFILE_BYTES / 1048576:.1f} MB of content) | - | - |",
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/sidecache"))
    a = ap.parse_args()
    from moto.server import ThreadedMotoServer
    moto_port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            res = measure(a.bin, f"http://127.0.0.1:{moto_port}", workdir, log=lambda m: print(m, file=sys.stderr))
    finally:
        server.stop()
    print()
    print("### AppConfig (rows 19-20, docs/appconfig.md)")
    print()
    print("| # | measurement | result | target | verdict |")
    print("|---|---|---|---|---|")
    print("\n".join(rows(res)))


if __name__ == "__main__":
    main()
