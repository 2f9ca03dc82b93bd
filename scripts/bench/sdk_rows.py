"""`make bench` rows for stock AWS SDK clients reading through sidecache (docs/sdk.md).

Rows 15-18:
  15  instructions per SDK-style hit: GetParameter in AWS JSON 1.1, SigV4-signed as a handler's SDK
      signs it (X-Amz-Security-Token included), on one keep-alive connection;
  16  the same, a new connection per hit;
      both beside the GET endpoint's hit of the same parameter with the same session token (the
      token header), measured the same way in the same run: the target is <= 1.5x that.
  17  a SigV4 verification alone: the signed hit less the same JSON request carrying the token
      header instead of a signature (instructions, and CPU microseconds from a timed loop, with
      the CPU of a whole signed hit beside it);
  18  handler CPU per warm read (median of 9 rounds): boto3 through sidecache, boto3 straight to
      moto, and the Python client (clients/python), each reading one parameter in a loop.

Callgrind counts instructions (user space), which repeat to within a few tens between runs;
CPU is /proc schedstat or process_time, which does not. Every request is checked for its value.

Credentials are Lambda-like: an access key, a secret and a ~1 KB session token, which the SDK
signs (it is part of the canonical request, so its length is part of the cost).

    .venv/bin/python scripts/bench/sdk_rows.py --bin target/release/sidecache
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGION = "us-east-1"
KEY_ID, SECRET_KEY = "ASIABENCHKEY", "bench/secret+key"
# A Lambda session token is ~1 KB of base64; its length matters (hashed, compared).
SESSION_TOKEN = ("IQoJb3JpZ2luX2VjEBench" * 50)[:1052]
PARAM, VALUE = "/bench/sdk/greeting", "hello through the sdk"
CG_N1, CG_N2 = 500, 2000
CPU_READS, ROUNDS = 200, 9
TARGET_RATIO = 1.5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def sidecache_env(moto_url, port):
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_ENDPOINT_URL": moto_url,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
        "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "warn",
        "SSM_PARAMETER_STORE_TTL": "3600",
        "SIDECACHE_REFRESH_AHEAD": "0",
        "SIDECACHE_S3_DIR": os.path.join(tempfile.gettempdir(), f"sidecache-bench-sdk-{port}"),
    }


def signed_get_parameter(port):
    """One GetParameter as botocore signs it for an SSM client at http://127.0.0.1:<port> (the
    Host header http.client sends)."""
    body = json.dumps({"Name": PARAM, "WithDecryption": True})
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonSSM.GetParameter",
    })
    SigV4Auth(Credentials(KEY_ID, SECRET_KEY, SESSION_TOKEN), "ssm", REGION).add_auth(request)
    return body, dict(request.headers.items())


def token_get_parameter():
    """The same request with the token header instead of a signature."""
    body = json.dumps({"Name": PARAM, "WithDecryption": True})
    return body, {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter",
                  "X-Aws-Parameters-Secrets-Token": SESSION_TOKEN}


def get_request():
    return None, {"X-Aws-Parameters-Secrets-Token": SESSION_TOKEN}


GET_PATH = "/systemsmanager/parameters/get?name=" + PARAM.replace("/", "%2F") + "&withDecryption=true"


def request_of(kind, port):
    """(method, path, body, headers) of one request of `kind`: 'get' (the GET endpoint with the
    token header), 'token' (JSON 1.1 with the token header), 'signed' (JSON 1.1 as the SDK signs
    it; made again when a minute old, as a signature stays valid for 5 minutes)."""
    if kind == "get":
        return ("GET", GET_PATH) + get_request()
    if kind == "token":
        return ("POST", "/") + token_get_parameter()
    made = SIGNED.get(port)
    if made is None or time.monotonic() - made[2] > 60:
        SIGNED[port] = signed_get_parameter(port) + (time.monotonic(),)
    return ("POST", "/") + SIGNED[port][:2]


SIGNED = {}


def send(conn, port, kind, close):
    """One request of `kind` on `conn` (or a new connection when `close`); checks the value."""
    method, path, body, headers = request_of(kind, port)
    if close:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = dict(headers, Connection="close")
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    if close:
        conn.close()
    if r.status != 200 or VALUE.encode() not in data:
        raise RuntimeError(f"{kind} read answered {r.status}: {data[:200]!r}")


def callgrind_per_request(binary, moto_url, kind, close, workdir):
    totals = []
    for n in (CG_N1, CG_N2):
        port = free_port()
        out = os.path.join(workdir, f"callgrind.sdk.{kind}.{'close' if close else 'keep'}.{n}.out")
        p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary],
                             env=sidecache_env(moto_url, port), stdout=subprocess.DEVNULL,
                             stderr=open(out + ".log", "w"))
        try:
            wait_ping(port, p, 180)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            send(conn, port, kind, close=True)  # the miss that fills the cache
            for _ in range(n):
                send(conn, port, kind, close)
            conn.close()
        finally:
            p.terminate()
            p.wait(timeout=180)
        with open(out) as f:
            totals.append(next(int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:"))))
    return (totals[1] - totals[0]) / (CG_N2 - CG_N1)


def cpu_ns(pid):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


def cpu_per_verification(binary, moto_url, n=3000):
    """Server CPU per signed request less per token request (same JSON), keep-alive, median of 5."""
    port = free_port()
    p = subprocess.Popen([binary], env=sidecache_env(moto_url, port), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    diffs, signed_us = [], []
    try:
        wait_ping(port, p, 10)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        send(conn, port, "token", close=False)
        for _ in range(5):
            per = {}
            for kind in ("signed", "token"):
                before = cpu_ns(p.pid)
                for _ in range(n):
                    send(conn, port, kind, close=False)
                per[kind] = (cpu_ns(p.pid) - before) / n
            diffs.append((per["signed"] - per["token"]) / 1000)
            signed_us.append(per["signed"] / 1000)
    finally:
        p.terminate()
        p.wait(timeout=10)
    return statistics.median(diffs), statistics.median(signed_us)


def handler_cpu(binary, moto_url):
    """CPU (ms) per warm read in the handler's process, median of ROUNDS rounds of CPU_READS."""
    port = free_port()
    p = subprocess.Popen([binary], env=sidecache_env(moto_url, port), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_ping(port, p, 10)
        sys.path.insert(0, os.path.join(ROOT, "clients", "python", "src"))
        import sidecache  # noqa: E402  (clients/python, as the layer ships it)
        creds = dict(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET_KEY,
                     aws_session_token=SESSION_TOKEN, region_name=REGION)
        client = sidecache.Client(port=port, token=SESSION_TOKEN)
        through = boto3.client("ssm", endpoint_url=f"http://localhost:{port}", **creds)
        direct = boto3.client("ssm", endpoint_url=moto_url, **creds)
        ways = {
            "boto3 through sidecache": lambda: through.get_parameter(Name=PARAM, WithDecryption=True)["Parameter"]["Value"],
            "boto3 straight to moto": lambda: direct.get_parameter(Name=PARAM, WithDecryption=True)["Parameter"]["Value"],
            "Python client (clients/python)": lambda: client.parameter(PARAM),
        }
        samples = {way: [] for way in ways}
        for _ in range(ROUNDS):
            for way, read in ways.items():
                if read() != VALUE:
                    raise RuntimeError(f"{way} read the wrong value")
                before = time.process_time()
                for _ in range(CPU_READS):
                    read()
                samples[way].append((time.process_time() - before) * 1000 / CPU_READS)
        return {way: statistics.median(v) for way, v in samples.items()}
    finally:
        p.terminate()
        p.wait(timeout=10)


def measure(binary, moto_url, workdir, log=print):
    """Every row; returns a dict the report prints."""
    seed = boto3.client("ssm", endpoint_url=moto_url, region_name=REGION, aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET_KEY)
    seed.put_parameter(Name=PARAM, Value=VALUE, Type="SecureString", Overwrite=True)
    res = {"ir": {}}
    for kind in ("get", "signed", "token"):
        for close in (False, True):
            log(f"callgrind: {kind} hit, {'new connection' if close else 'keep-alive'}")
            res["ir"][(kind, close)] = callgrind_per_request(binary, moto_url, kind, close, workdir)
    log("CPU per SigV4 verification")
    res["verify_us"], res["signed_us"] = cpu_per_verification(binary, moto_url)
    log("handler CPU per warm read")
    res["handler"] = handler_cpu(binary, moto_url)
    return res


def rows(res):
    """Markdown table rows 15-18."""
    ir = res["ir"]
    out = []
    for n, close, label in (("15", False, "keep-alive"), ("16", True, "new connection")):
        sdk, get = ir[("signed", close)], ir[("get", close)]
        ratio = sdk / get
        out.append(f"| {n} | instructions per SDK-style hit (GetParameter, JSON 1.1, SigV4 with a 1 KB "
                   f"session token), {label} | {sdk:,.0f} (GET hit, same token: {get:,.0f}; **{ratio:.2f}x**) "
                   f"| <= {TARGET_RATIO}x the GET hit | {'ok' if ratio <= TARGET_RATIO else '**over**'} |")
    verify = ir[("signed", False)] - ir[("token", False)]
    out.append(f"| 17 | a SigV4 verification alone (signed less token-header request) | {verify:,.0f} "
               f"instructions; {res['verify_us']:.1f} us CPU (a whole signed hit: {res['signed_us']:.1f} us) | - | - |")
    h = res["handler"]
    parts = "; ".join(f"{way} {ms:.3f} ms" for way, ms in h.items())
    out.append(f"| 18 | handler CPU per warm read, median of {ROUNDS} x {CPU_READS} | {parts} | - | - |")
    return out


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
            res = measure(a.bin, f"http://127.0.0.1:{moto_port}", workdir,
                          log=lambda m: print(m, file=sys.stderr))
    finally:
        server.stop()
    print()
    print("### Stock AWS SDK clients through sidecache (rows 15-18, docs/sdk.md)")
    print()
    print("| # | measurement | result | target | verdict |")
    print("|---|---|---|---|---|")
    print("\n".join(rows(res)))


if __name__ == "__main__":
    main()
