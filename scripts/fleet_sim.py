#!/usr/bin/env python3
"""`make fleet-sim`: a fleet of real sidecache processes sharing one throttled upstream.

A benchmark, not a test. N sidecache processes (the "execution environments") start staggered
over a few seconds; each one's "handler" reads K values (SSM parameters and Secrets Manager
secrets) once per invocation, in a loop. Every AWS call goes through a counting proxy in front of
moto that throttles SSM at a fixed rate (a token bucket, answering HTTP 400
`{"__type":"ThrottlingException","message":"Rate exceeded"}` as AWS does). The same fleet runs
once per scenario:

  off            every value read with its own request, refresh-ahead and jitter off
  batching       parameters with one get-many per invocation, secrets prefetched by tag
                 filter and read with secrets get-many
  + jitter       the same with SIDECACHE_TTL_JITTER
  + refresh-ahead the same with SIDECACHE_REFRESH_AHEAD

TTLs are short (time compressed: 10 s standing for a production 300 s) so that a run of
tens of seconds crosses several expiries. Prints a markdown table: upstream calls/s (mean, peak
one-second bucket), SSM throttled answers, failed value reads, request latency p50/p99.

  .venv/bin/python scripts/fleet_sim.py [--envs 50] [--values 8] [--tps 40] [--duration 30]
      [--ttl 10] [--interval 1.0] [--stagger 5] [--jitter 10] [--refresh-ahead 0.8]
      [--bin target/debug/sidecache] [--scenarios off,batching,jitter,ahead]

Everything started here (moto, the proxy, the sidecache processes) is stopped on exit.
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "fleet-sim-token"
REGION = "us-east-1"
PARAM_ROOT = "/fleet-sim/app"
SECRET_TAG = "fleet-sim"
# Every sidecache started, so that an interrupted run stops them all.
STARTED = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path="/", timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port}")


class Upstream:
    """Counts every AWS call per second and throttles SSM with a token bucket."""

    def __init__(self, moto_port, tps):
        self.moto_port = moto_port
        self.tps = tps
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.tokens = float(self.tps)
            self.refilled = time.monotonic()
            self.per_second = {}  # second -> calls
            self.ssm_per_second = {}
            self.ops = {}
            self.throttled = 0
            self.started = time.monotonic()

    def admit(self, op):
        with self.lock:
            now = time.monotonic()
            second = int(now - self.started)
            self.per_second[second] = self.per_second.get(second, 0) + 1
            self.ops[op] = self.ops.get(op, 0) + 1
            if not op.startswith("AmazonSSM."):
                return True
            self.ssm_per_second[second] = self.ssm_per_second.get(second, 0) + 1
            self.tokens = min(self.tps, self.tokens + (now - self.refilled) * self.tps)
            self.refilled = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            self.throttled += 1
            return False


def proxy_handler(upstream):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            op = self.headers.get("x-amz-target", "other")
            if not upstream.admit(op):
                payload = json.dumps(
                    {"__type": "ThrottlingException", "message": "Rate exceeded"}
                ).encode()
                self.send_response(400)
                self.send_header("content-type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-requestid", "fleet-sim")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            conn = http.client.HTTPConnection("127.0.0.1", upstream.moto_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            conn.request("POST", self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def seed(moto_port, params, secrets):
    import boto3

    kw = dict(
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ssm = boto3.client("ssm", **kw)
    sm = boto3.client("secretsmanager", **kw)
    names, ids = [], []
    for i in range(params):
        name = f"{PARAM_ROOT}/p{i}"
        ssm.put_parameter(Name=name, Value=f"value-{i}", Type="String", Overwrite=True)
        names.append(name)
    for i in range(secrets):
        sid = f"fleet-sim/s{i}"
        sm.create_secret(Name=sid, SecretString=f"secret-{i}", Tags=[{"Key": SECRET_TAG, "Value": "yes"}])
        ids.append(sid)
    return names, ids


class Environment(threading.Thread):
    """One execution environment: a sidecache process and a handler invoking in a loop."""

    def __init__(self, args, scenario, env, names, ids, start_at, stop_at, results):
        super().__init__(daemon=True)
        self.args, self.scenario, self.extra_env = args, scenario, env
        self.names, self.ids = names, ids
        self.start_at, self.stop_at, self.results = start_at, stop_at, results
        self.proc = None

    def requests(self):
        q = urllib.parse.quote
        if self.scenario == "off":
            return [(f"/systemsmanager/parameters/get?name={q(n, safe='')}", 1) for n in self.names] + [
                (f"/secretsmanager/get?secretId={q(s, safe='')}", 1) for s in self.ids
            ]
        many = ",".join(q(n, safe="") for n in self.names)
        secrets = ",".join(q(s, safe="") for s in self.ids)
        return [
            (f"/systemsmanager/parameters/get-many?names={many}", len(self.names)),
            (f"/secretsmanager/get-many?secretIds={secrets}", len(self.ids)),
        ]

    def run(self):
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": tempfile.gettempdir(),
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.args.proxy_port}",
            "SIDECACHE_TOKEN": TOKEN,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
            "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "error",
            "SSM_PARAMETER_STORE_TTL": str(self.args.ttl),
            "SECRETS_MANAGER_TTL": str(self.args.ttl),
            "SIDECACHE_S3_DIR": os.path.join(tempfile.gettempdir(), f"fleet-sim-{port}"),
        }
        env.update(self.extra_env)
        self.proc = subprocess.Popen(
            [self.args.bin], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        STARTED.append(self.proc)
        wait_http(port, "/ping")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        reqs = self.requests()
        next_invoke = time.monotonic()
        while time.monotonic() < self.stop_at:
            for path, values in reqs:
                t0 = time.monotonic()
                try:
                    conn.request("GET", path, headers={"X-Aws-Parameters-Secrets-Token": TOKEN})
                    resp = conn.getresponse()
                    body = resp.read()
                    ok = resp.status == 200
                    waited = resp.getheader("x-cache") != "hit"
                    failed = 0 if ok else values
                    if ok and b'"Errors":[{' in body:
                        failed = body.count(b'"ErrorCode"')
                except OSError:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    failed, waited = values, True
                self.results.append((time.monotonic() - t0, values, failed, waited))
            next_invoke += self.args.interval
            time.sleep(max(0.0, next_invoke - time.monotonic()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def run_scenario(args, upstream, name, env, names, ids):
    upstream.reset()
    results = []
    begin = time.monotonic() + 0.5
    stop_at = begin + args.duration
    fleet = [
        Environment(args, name, env, names, ids, begin + i * args.stagger / args.envs, stop_at, results)
        for i in range(args.envs)
    ]
    for e in fleet:
        e.start()
    for e in fleet:
        e.join(timeout=args.duration + 60)
    for e in fleet:
        e.stop()
    seconds = [upstream.per_second.get(s, 0) for s in range(int(args.duration) + 1)]
    ssm = [upstream.ssm_per_second.get(s, 0) for s in range(int(args.duration) + 1)]
    latencies = [r[0] * 1000 for r in results]
    return {
        "scenario": name,
        "calls_mean": sum(seconds) / max(1, len(seconds)),
        "calls_peak": max(seconds) if seconds else 0,
        "calls_total": sum(seconds),
        "ssm_mean": sum(ssm) / max(1, len(ssm)),
        "ssm_peak": max(ssm) if ssm else 0,
        # After the cold start's first TTL: the waves of expiries that jitter spreads.
        "ssm_peak_later": max(ssm[args.ttl + 1 :] or [0]),
        "throttled": upstream.throttled,
        "requests": len(results),
        "waited": sum(1 for r in results if r[3]),
        "values": sum(r[1] for r in results),
        "failed": sum(r[2] for r in results),
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "ops": dict(upstream.ops),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envs", type=int, default=int(os.environ.get("FLEET_ENVS", 50)))
    ap.add_argument("--values", type=int, default=8, help="values per invocation (5/8 parameters, the rest secrets)")
    ap.add_argument("--tps", type=float, default=40.0, help="SSM throttling rate")
    ap.add_argument("--duration", type=float, default=float(os.environ.get("FLEET_DURATION", 30)))
    ap.add_argument("--ttl", type=int, default=10)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between invocations of one environment")
    ap.add_argument("--stagger", type=float, default=5.0, help="cold starts spread over this many seconds")
    ap.add_argument("--jitter", default="10")
    ap.add_argument("--refresh-ahead", default="0.8")
    ap.add_argument("--bin", default=os.environ.get("SIDECACHE_BIN", os.path.join(ROOT, "target/debug/sidecache")))
    ap.add_argument("--scenarios", default="off,batching,jitter,ahead")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    # SIGTERM too runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    moto_port = free_port()
    moto = subprocess.Popen(
        [os.path.join(ROOT, ".venv/bin/moto_server"), "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(moto_port, "/moto-api/")
        params = max(1, args.values * 5 // 8)
        names, ids = seed(moto_port, params, args.values - params)
        upstream = Upstream(moto_port, args.tps)
        args.proxy_port = free_port()
        server = ThreadingServer(("127.0.0.1", args.proxy_port), proxy_handler(upstream))
        threading.Thread(target=server.serve_forever, daemon=True).start()

        off = {"SIDECACHE_REFRESH_AHEAD": "0", "SIDECACHE_TTL_JITTER": "0"}
        batching = dict(off, SIDECACHE_PREFETCH=f"secrets:tag-key={SECRET_TAG}")
        jitter = dict(batching, SIDECACHE_TTL_JITTER=args.jitter)
        ahead = dict(jitter, SIDECACHE_REFRESH_AHEAD=args.refresh_ahead)
        scenarios = {
            "off": ("off", off),
            "batching": ("batching", batching),
            "jitter": ("batching + jitter", jitter),
            "ahead": ("batching + jitter + refresh-ahead", ahead),
        }
        rows = []
        for key in args.scenarios.split(","):
            label, env = scenarios[key]
            mode = "off" if key == "off" else "batch"
            print(f"fleet-sim: {label} ...", file=sys.stderr, flush=True)
            row = run_scenario(args, upstream, mode, env, names, ids)
            row["scenario"] = label
            rows.append(row)
        server.shutdown()
    finally:
        for proc in STARTED:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        moto.terminate()
        moto.wait(timeout=10)

    print(
        f"\n{args.envs} environments, {args.values} values each per invocation every {args.interval:g} s, "
        f"TTL {args.ttl} s, SSM throttled at {args.tps:g} TPS, {args.duration:g} s per scenario, "
        f"cold starts over {args.stagger:g} s\n"
    )
    print(
        "| scenario | upstream calls/s mean | peak | SSM calls/s mean | SSM peak | SSM peak after 1st TTL | SSM throttled "
        "| failed reads | requests that waited for AWS | read p50 ms | read p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['calls_mean']:.1f} | {r['calls_peak']} | {r['ssm_mean']:.1f} | "
            f"{r['ssm_peak']} | {r['ssm_peak_later']} | {r['throttled']} | {r['failed']} of {r['values']} | "
            f"{r['waited']} of {r['requests']} | {r['p50']:.1f} | {r['p99']:.1f} |"
        )
    for r in rows:
        print(f"\n{r['scenario']}: {r['calls_total']} calls {r['ops']}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
