#!/usr/bin/env python3
"""The benchmark driver behind scripts/bench.sh (`make bench`). Not a test: it measures and
prints one markdown table (docs/performance.md explains every row).

Runs with the moto virtualenv's interpreter (boto3 seeds moto). Everything it starts (moto, the
sidecache under test, valgrind) is stopped when it exits; bench.sh also kills any pid listed in
<workdir>/pids, in case this driver itself is killed.
"""

import argparse
import asyncio
import datetime
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lambda_rows as lam

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TOKEN = "bench-token"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
PARAMS = 1000  # /bench/p0 .. /bench/p999
ROTATE = 100  # keys of row 2
HOT = "/bench/p0"
HERD = "/bench/herd"  # seeded, never fetched before row 6
HERD_N = 1000
SECRET = "bench/secret"  # rows 9-13: the one value both sidecache and the agent serve
BUCKET = "sidecache-bench"
BIG_KEY, BIG_SIZE = "big.bin", 1024 * 1024
SMALL_KEY = "small.json"
STARTUP_RUNS = 10
# Start-up polling: a loop that never sleeps takes one of the 2 cores away from the process it
# measures (and gave bimodal 4.5/6.5 ms results); 0.2 ms sleeps keep the poller mostly idle.
POLL_SLEEP = float(os.environ.get("BENCH_POLL_SLEEP", "0.0002"))
CG_N1, CG_N2 = 2000, 12000
WRK_SECONDS = 10
WRK_S3_SECONDS = 5
MIB = 1024 * 1024

# Targets (MB means MiB throughout).
T_STARTUP_MS = 10
T_INSTR = 15000
T_RSS_MIB = 16
T_BIN_MIB = 10

GET_PARAM = "/systemsmanager/parameters/get?name="


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_busy_percent(seconds=1.0):
    """Share of all CPUs busy over `seconds` (from /proc/stat): who else is using the machine."""

    def sample():
        f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = f[3] + f[4]
        return sum(f), idle

    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))


CLK_TCK = os.sysconf("SC_CLK_TCK")


class OtherCpu:
    """CPU time used on the machine by processes outside this benchmark, over a phase: all busy
    time from /proc/stat minus what this driver and its children (live ones from /proc/<pid>/stat,
    reaped ones from getrusage) used. Approximate: softirq work for our own loopback traffic
    counts as "other"."""

    def __init__(self, procs):
        self.procs = procs
        self.phases = {}

    def snapshot(self):
        f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        busy = (sum(f) - f[3] - f[4]) / CLK_TCK
        ours = 0.0
        for p in self.procs.procs:
            if p.returncode is None:
                try:
                    st = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
                    ours += sum(int(x) for x in st[11:15]) / CLK_TCK  # utime stime cutime cstime
                except OSError:
                    pass
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            r = resource.getrusage(who)
            ours += r.ru_utime + r.ru_stime
        return time.monotonic(), busy, ours

    def measure(self, name, fn, *args, **kw):
        t0, b0, o0 = self.snapshot()
        result = fn(*args, **kw)
        t1, b1, o1 = self.snapshot()
        self.phases[name] = max(0.0, ((b1 - b0) - (o1 - o0)) / (t1 - t0))  # in cores
        return result


def tcp_ext(*names):
    """Counters from /proc/net/netstat (TcpExt), e.g. ListenOverflows."""
    lines = [l.split() for l in Path("/proc/net/netstat").read_text().splitlines() if l.startswith("TcpExt:")]
    table = dict(zip(lines[0][1:], (int(x) for x in lines[1][1:])))
    return {n: table.get(n, 0) for n in names}


def proc_status(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    raise KeyError(field)


class Procs:
    """Children of this driver, recorded in a pid file so bench.sh can clean up after us."""

    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.procs = []

    def spawn(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        with open(self.pidfile, "a") as f:
            f.write(f"{p.pid}\n")
        return p

    @staticmethod
    def stop(p, timeout=10):
        """SIGTERM, wait; SIGKILL after `timeout`. Returns the exit code."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, 5)


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port, timeout=30):
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def get(self, path, auth=True):
        headers = {TOKEN_HEADER: TOKEN} if auth else {}
        for attempt in (0, 1):
            try:
                self.conn.request("GET", path, headers=headers)
                r = self.conn.getresponse()
                return r.status, r.headers, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise

    def json(self, path):
        status, _, body = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        return json.loads(body)

    def stats(self):
        return self.json("/stats")

    def close(self):
        self.conn.close()


def param_path(name):
    return GET_PARAM + urllib.parse.quote(name, safe="/")


def wait_ping(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before answering /ping")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                if s.recv(16).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"no /ping answer on port {port} within {timeout}s")


# ---------------------------------------------------------------------------------------------
# moto


def start_moto(procs, workdir):
    port = free_port()
    logf = open(workdir / "moto.log", "w")
    p = procs.spawn([str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                    stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/moto-api/")
            if c.getresponse().status == 200:
                return port, p
        except OSError:
            pass
        if p.poll() is not None:
            raise RuntimeError(f"moto exited: see {workdir / 'moto.log'}")
        time.sleep(0.1)
    raise RuntimeError("moto did not start within 60 s")


def seed(moto_port):
    import boto3  # from the virtualenv

    # moto accepts any credentials; boto3 reads AWS_DEFAULT_REGION, not AWS_REGION.
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)

    endpoint = f"http://127.0.0.1:{moto_port}"
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
    names = [f"/bench/p{i}" for i in range(PARAMS)] + [HERD]

    def put(name):
        ssm.put_parameter(Name=name, Value=f"value of {name}: " + "x" * 40, Type="String", Overwrite=True)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, names))
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    try:
        sm.create_secret(Name=SECRET, SecretString='{"user": "bench", "password": "' + "p" * 40 + '"}')
    except sm.exceptions.ResourceExistsException:
        pass
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=BIG_KEY, Body=os.urandom(BIG_SIZE), ContentType="application/octet-stream")
    s3.put_object(Bucket=BUCKET, Key=SMALL_KEY, Body=b'{"feature": true, "limit": 10}', ContentType="application/json")


# ---------------------------------------------------------------------------------------------
# measurements


def warm(port, names, threads=8):
    """GET every name once (8 keep-alive connections). Returns the X-Cache values seen."""
    chunks = [names[i::threads] for i in range(threads)]

    def run(chunk):
        c = Client(port)
        seen = []
        for name in chunk:
            status, headers, body = c.get(param_path(name))
            if status != 200:
                raise RuntimeError(f"warm-up GET {name}: {status} {body[:200]!r}")
            seen.append(headers.get("X-Cache"))
        c.close()
        return seen

    with ThreadPoolExecutor(threads) as pool:
        return [x for seen in pool.map(run, chunks) for x in seen]


def run_wrk(workdir, label, url, threads, conns, seconds, keys=0, prefix=""):
    env = dict(os.environ, BENCH_KEYS=str(keys), BENCH_PREFIX=prefix)
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s",
           "-H", f"{TOKEN_HEADER}: {TOKEN}", "-s", str(HERE / "wrk.lua"), url]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
    (workdir / f"wrk-{label}.txt").write_text(" ".join(cmd) + "\n\n" + out.stdout + out.stderr)
    m = re.search(r"^BENCH (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["bytes_per_s"] = r["bytes"] / (r["duration_us"] / 1e6)
    return r


def herd(port, name, n):
    """n connections opened first, then one request written on each in a tight loop, then all
    answers read. Returns the list of (status, X-Cache)."""
    request = (f"GET {param_path(name)} HTTP/1.1\r\nHost: localhost\r\n{TOKEN_HEADER}: {TOKEN}\r\n"
               "Connection: close\r\n\r\n").encode()

    async def main():
        conns = await asyncio.gather(*[asyncio.open_connection("127.0.0.1", port) for _ in range(n)])
        for _, w in conns:
            w.write(request)  # the transport sends at once: all n are in flight within a few ms

        async def answer(r, w):
            data = await asyncio.wait_for(r.read(), 60)
            w.close()
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            status = int(head[0].split()[1])
            xcache = next((h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("x-cache:")), None)
            return status, xcache

        return await asyncio.gather(*[answer(r, w) for r, w in conns])

    return asyncio.run(main())


def measure_startup(procs, binary, env, runs):
    """exec-to-first-/ping: perf_counter() just before Popen, then a loop of connect + GET /ping
    (POLL_SLEEP between refused attempts) until an HTTP 200. The poll interval (attempt + sleep)
    is the resolution."""
    times, polls, refused_cost = [], [], []
    for _ in range(runs):
        port = free_port()
        e = dict(env, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(port))
        t0 = time.perf_counter()
        p = procs.spawn([binary], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        n = 0
        t_fail = 0.0
        while True:
            ta = time.perf_counter()
            try:
                s = socket.socket()
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                ok = s.recv(16).startswith(b"HTTP/1.1 200")
                s.close()
                if ok:
                    break
            except OSError:
                s.close()
            n += 1
            if POLL_SLEEP:
                time.sleep(POLL_SLEEP)
            t_fail += time.perf_counter() - ta
            if time.perf_counter() - t0 > 10:
                raise RuntimeError("start-up: no /ping within 10 s")
            if p.poll() is not None:
                raise RuntimeError(f"start-up: sidecache exited with {p.returncode}")
        t1 = time.perf_counter()
        times.append((t1 - t0) * 1000)
        polls.append(n)
        if n:
            refused_cost.append(t_fail / n * 1e6)
        time.sleep(0.05)  # SIGTERM at once can arrive before the handler is installed
        code = Procs.stop(p)
        if code != 0:
            raise RuntimeError(f"start-up run: sidecache exited {code} on SIGTERM")
    # The cost of the spawn alone, for context: Popen + exec + exit of /bin/true.
    spawn = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.Popen(["/bin/true"]).wait()
        spawn.append((time.perf_counter() - t0) * 1000)
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "all_ms": times,
        "polls_median": statistics.median(polls),
        "poll_us": statistics.median(refused_cost) if refused_cost else float("nan"),
        "spawn_true_ms": statistics.median(spawn),
    }


def callgrind_totals(path):
    for line in Path(path).read_text(errors="replace").splitlines():
        m = re.match(r"^(summary|totals):\s+(\d+)", line)
        if m:
            return int(m.group(2))
    raise RuntimeError(f"no summary/totals line in {path}")


def callgrind_run(procs, workdir, binary, env, n, tag, ping=False):
    """One run under callgrind: /ping (up to 180 s), one warm-up miss of HOT, then n sequential
    hits on one keep-alive connection, then SIGTERM. Returns (total Ir, out file).
    With ping=True the n requests are GET /ping instead (no token, no cache)."""
    port = free_port()
    out = workdir / f"callgrind.{tag}.{n}.out"
    e = dict(env, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(port))
    logf = open(workdir / f"callgrind.{tag}.{n}.log", "w")
    p = procs.spawn(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary],
                    env=e, stdout=logf, stderr=subprocess.STDOUT)
    wait_ping(port, p, 180)
    c = Client(port, timeout=120)
    status, headers, _ = c.get(param_path(HOT))
    if status != 200 or headers.get("X-Cache") != "miss":
        raise RuntimeError(f"callgrind warm-up: {status} X-Cache={headers.get('X-Cache')}")
    not_hit = 0
    path = "/ping" if ping else param_path(HOT)
    for _ in range(n):
        status, headers, _ = c.get(path, auth=not ping)
        if status != 200:
            raise RuntimeError(f"callgrind run: status {status}")
        not_hit += not ping and headers.get("X-Cache") != "hit"
    c.close()
    code = Procs.stop(p, timeout=180)
    if code != 0:
        raise RuntimeError(f"sidecache under valgrind exited {code}; see {logf.name}")
    if not_hit:
        raise RuntimeError(f"callgrind run: {not_hit} of {n} answers were not X-Cache: hit")
    return callgrind_totals(out), out


def annotate(out):
    """{function: inclusive Ir} and {function: self Ir} from callgrind_annotate (all functions)."""

    def parse(text):
        d = {}
        for line in text.splitlines():
            m = re.match(r"^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(.+?)\s*$", line)
            if m and ":" in m.group(2) and "PROGRAM TOTALS" not in m.group(2):
                d[m.group(2)] = d.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
        return d

    args = ["callgrind_annotate", "--threshold=100", "--auto=no"]
    incl = subprocess.run(args + ["--inclusive=yes", str(out)], capture_output=True, text=True, check=True).stdout
    excl = subprocess.run(args + ["--inclusive=no", str(out)], capture_output=True, text=True, check=True).stdout
    return parse(incl), parse(excl)


def short(fn, width=110):
    fn = re.sub(r"^(?:\?\?\?|[^\s:]+\.(?:rs|c|S|h)):", "", fn)  # the source file
    fn = re.sub(r"\s*\[[^\]]*\]$", "", fn)  # the object file
    fn = re.sub(r"::h[0-9a-f]{16}$", "", fn)
    return fn if len(fn) <= width else fn[: width - 3] + "..."


# ---------------------------------------------------------------------------------------------


def fmt_int(n):
    return f"{n:,.0f}"


def verdict(ok):
    return "pass" if ok else "**FAIL**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--profile-bin", help="unstripped build of the same code: top functions by callgrind")
    ap.add_argument("--peer-bin", help="aws_secretsmanager_agent binary: its figures beside ours (make bench-peer)")
    ap.add_argument("--baseline-bin", help="another sidecache build: its rows 9-13 beside ours, starts interleaved")
    a = ap.parse_args()
    workdir = Path(a.workdir)
    # A private copy: a rebuild of target/release during the run must not change what is measured.
    binary = str(workdir / "sidecache")
    shutil.copy2(a.bin, binary)
    procs = Procs(workdir / "pids")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    try:
        run(a, binary, workdir, procs)
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
    finally:
        procs.stop_all()


def run(a, binary, workdir, procs):
    started = time.monotonic()
    other = OtherCpu(procs)
    run0 = other.snapshot()
    busy0 = cpu_busy_percent()
    wait_idle = float(os.environ.get("BENCH_IDLE_WAIT", "0"))
    deadline = time.monotonic() + wait_idle
    while busy0 > 15 and time.monotonic() < deadline:
        log(f"CPU {busy0:.0f}% busy: waiting for the machine to calm down (BENCH_IDLE_WAIT={wait_idle:.0f}s)")
        time.sleep(4)
        busy0 = cpu_busy_percent()
    load0 = loadavg()
    log(f"CPU busy before start: {busy0:.0f}% of {os.cpu_count()} cores, load average {load0}")
    if busy0 > 20:
        top = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
        log("warning: the machine is busy, numbers will be pessimistic:\n" + "\n".join(top.splitlines()[:5]))

    moto_port, _ = start_moto(procs, workdir)
    log(f"moto on {moto_port}: seeding {PARAMS + 1} parameters and 2 S3 objects")
    seed(moto_port)

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "SIDECACHE_TOKEN": TOKEN,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "warn",
        "SIDECACHE_S3_DIR": str(workdir / "s3"),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    side_log = open(workdir / "sidecache.log", "w")
    side = procs.spawn([binary], env=dict(env, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(port)),
                       stdout=side_log, stderr=subprocess.STDOUT)
    wait_ping(port, side, 10)
    c = Client(port)
    res = {}

    # 4. RSS with 1000 cached entries.
    log(f"warming {PARAMS} parameters")
    names = [f"/bench/p{i}" for i in range(PARAMS)]
    seen = warm(port, names)
    entries = None
    for _ in range(50):  # the entry count is eventually consistent
        entries = c.stats()["cache"]["entries"]
        if entries == PARAMS:
            break
        time.sleep(0.1)
    res["rss"] = {
        "kb": proc_status(side.pid, "VmRSS"),
        "entries": entries,
        "misses": sum(x == "miss" for x in seen),
    }
    log(f"RSS {res['rss']['kb']} kB with cache.entries={entries}")

    # 1. one hot key.
    warm(port, [HOT], 1)
    s0 = c.stats()
    log(f"wrk one hot key, {WRK_SECONDS}s")
    r = other.measure("row 1", run_wrk, workdir, "hot", base + param_path(HOT), 2, 32, WRK_SECONDS)
    s1 = c.stats()
    r["misses"] = s1["cache"]["misses"] - s0["cache"]["misses"]
    r["hits"] = s1["cache"]["hits"] - s0["cache"]["hits"]
    res["hot"] = r
    rss_steps = [("1000 entries", res["rss"]["kb"]), ("row 1", proc_status(side.pid, "VmRSS"))]

    # 2. 100 keys in turn.
    warm(port, names[:ROTATE])
    s0 = c.stats()
    log(f"wrk {ROTATE} keys, {WRK_SECONDS}s")
    r = other.measure("row 2", run_wrk, workdir, "rotate", base + "/", 2, 32, WRK_SECONDS, keys=ROTATE,
                      prefix=GET_PARAM + "/bench/p")
    s1 = c.stats()
    r["misses"] = s1["cache"]["misses"] - s0["cache"]["misses"]
    r["hits"] = s1["cache"]["hits"] - s0["cache"]["hits"]
    res["rotate"] = r
    rss_steps.append(("row 2", proc_status(side.pid, "VmRSS")))

    # 8. S3.
    q_small = f"/s3/get?bucket={BUCKET}&key={SMALL_KEY}"
    q_big = f"/s3/get?bucket={BUCKET}&key={BIG_KEY}&format=raw"
    status, _, body = c.get(q_small)
    if status == 404 and b"UnknownEndpoint" in body:
        res["s3"] = None
        log("S3: /s3/get is not built")
    elif status != 200:
        res["s3"] = {"error": f"{status} {body[:200].decode(errors='replace')}"}
    else:
        status, _, body = c.get(q_big)
        if status != 200 or len(body) != BIG_SIZE:
            res["s3"] = {"error": f"raw GET: {status}, {len(body)} bytes"}
        else:
            s0 = c.stats()
            log(f"wrk S3 path answer, {WRK_S3_SECONDS}s")
            path_r = other.measure("row 8a", run_wrk, workdir, "s3-path", base + q_small, 2, 32, WRK_S3_SECONDS)
            log(f"wrk S3 raw 1 MiB, {WRK_S3_SECONDS}s")
            raw_r = other.measure("row 8b", run_wrk, workdir, "s3-raw", base + q_big, 2, 8, WRK_S3_SECONDS)
            s1 = c.stats()
            res["s3"] = {"path": path_r, "raw": raw_r,
                         "upstream": s1["upstream"]["s3"]["calls"] - s0["upstream"]["s3"]["calls"]}

    if res["s3"] and "path" in res["s3"]:
        rss_steps.append(("row 8", proc_status(side.pid, "VmRSS")))

    # 6. 1000 concurrent misses of one key.
    c.close()
    s0 = c.stats()
    log(f"{HERD_N} concurrent requests for a never-fetched key")
    net0 = tcp_ext("ListenOverflows", "SyncookiesSent")
    answers = herd(port, HERD, HERD_N)
    net1 = tcp_ext("ListenOverflows", "SyncookiesSent")
    s1 = c.stats()
    res["herd"] = {
        "calls": s1["upstream"]["ssm"]["calls"] - s0["upstream"]["ssm"]["calls"],
        "ok": sum(s == 200 for s, _ in answers),
        "miss": sum(x == "miss" for _, x in answers),
        "hit": sum(x == "hit" for _, x in answers),
        "overflows": net1["ListenOverflows"] - net0["ListenOverflows"],
        "cookies": net1["SyncookiesSent"] - net0["SyncookiesSent"],
    }
    res["rss_after_load_kb"] = proc_status(side.pid, "VmRSS")
    rss_steps.append(("row 6", res["rss_after_load_kb"]))
    res["rss_steps"] = rss_steps
    res["hwm_kb"] = proc_status(side.pid, "VmHWM")
    c.close()
    res["sigterm_exit"] = Procs.stop(side)

    # 3. start-up.
    log(f"start-up time, {STARTUP_RUNS} runs")
    res["startup"] = other.measure("row 3", measure_startup, procs, binary, env, STARTUP_RUNS)

    # 5. binary size.
    stripped = workdir / "sidecache.stripped"
    subprocess.run(["strip", "-o", str(stripped), binary], check=True)
    res["size"] = {"file": os.path.getsize(binary), "stripped": os.path.getsize(stripped)}

    # 7. instructions per hit.
    log(f"callgrind: {CG_N1} and {CG_N2} hits, then as many /ping")
    ir1, _ = callgrind_run(procs, workdir, binary, env, CG_N1, "release")
    ir2, out2 = callgrind_run(procs, workdir, binary, env, CG_N2, "release")
    res["cg"] = {"ir1": ir1, "ir2": ir2, "per_hit": (ir2 - ir1) / (CG_N2 - CG_N1)}
    res["cg"]["fixed"] = ir1 - CG_N1 * res["cg"]["per_hit"]
    # The same for GET /ping: what the HTTP stack costs per request with (almost) no handler.
    pi1, _ = callgrind_run(procs, workdir, binary, env, CG_N1, "ping", ping=True)
    pi2, _ = callgrind_run(procs, workdir, binary, env, CG_N2, "ping", ping=True)
    res["cg"]["per_ping"] = (pi2 - pi1) / (CG_N2 - CG_N1)

    profile = None
    if a.profile_bin:
        log(f"callgrind profile with {a.profile_bin}")
        pbin = str(workdir / "sidecache-symbols")
        shutil.copy2(a.profile_bin, pbin)
        pir1, pout1 = callgrind_run(procs, workdir, pbin, env, CG_N1, "symbols")
        pir2, pout2 = callgrind_run(procs, workdir, pbin, env, CG_N2, "symbols")
        inc1, exc1 = annotate(pout1)
        inc2, exc2 = annotate(pout2)
        top_incl_raw = sorted(inc2.items(), key=lambda kv: -kv[1])[:10]
        per_incl = {f: (inc2[f] - inc1.get(f, 0)) / (CG_N2 - CG_N1) for f in inc2}
        per_excl = {f: (exc2[f] - exc1.get(f, 0)) / (CG_N2 - CG_N1) for f in exc2}
        profile = {
            "per_hit": (pir2 - pir1) / (CG_N2 - CG_N1),
            "total2": pir2,
            "out2": pout2,
            "top_incl_raw": top_incl_raw,
            # Above half of the per-hit total there is only the runtime and the connection's
            # dispatch loop (every function on the stack of every request): leave them out.
            "per_incl": [kv for kv in sorted(per_incl.items(), key=lambda kv: -kv[1])
                         if kv[1] < 0.5 * (pir2 - pir1) / (CG_N2 - CG_N1)][:25],
            "per_excl": sorted(per_excl.items(), key=lambda kv: -kv[1])[:20],
        }

    res["lambda"] = lambda_section(a, binary, workdir, procs, env, moto_port)

    res["elapsed"] = time.monotonic() - started
    t1, b1, o1 = other.snapshot()
    other.phases["whole run"] = max(0.0, ((b1 - run0[1]) - (o1 - run0[2])) / (t1 - run0[0]))
    res["other_cpu"] = other.phases
    res["load_end"] = loadavg()
    print_report(res, profile, binary, workdir, load0, busy0)


def lambda_section(a, binary, workdir, procs, env, moto_port):
    """Rows 9-14: what a function at Lambda's CPU share pays (scripts/bench/lambda_rows.py)."""
    out = {}
    tls_url, ca = lam.start_tls_proxy(procs, str(ROOT), str(ROOT / ".venv/bin/python"), moto_port, str(workdir))
    bundle, roots, system = lam.trust_bundle(str(workdir / "tls"), ca)
    out["trust"] = ((f"the system bundle ({system}) plus the test CA, {roots} certificates" if system
                     else "the test CA only (no system CA bundle on this machine)")
                    + "; the server's chain shaped like AWS's: RSA-2048, certificate + intermediate")
    base = {k: v for k, v in env.items() if k != "SIDECACHE_TOKEN"}
    base.update(AWS_ENDPOINT_URL=tls_url, AWS_CA_BUNDLE=bundle, AWS_EC2_METADATA_DISABLED="true",
                SECRETS_MANAGER_TTL="3600", AWS_SESSION_TOKEN=TOKEN)
    value = "/secretsmanager/get?secretId=" + urllib.parse.quote(SECRET, safe="")
    servers = [lam.Server("sidecache", binary, "ours", base, TOKEN, str(workdir))]
    if a.baseline_bin:
        servers.append(lam.Server("baseline build", a.baseline_bin, "ours", base, TOKEN, str(workdir)))
    if a.peer_bin:
        servers.append(lam.Server("agent 2.1.0", a.peer_bin, "peer", base, TOKEN, str(workdir)))
    out["servers"] = [s.label for s in servers]
    log(f"CPU at first /ping and first value over TLS, {lam.CPU_RUNS} starts each")
    out["sleep"] = lam.sleep_baseline(procs)
    out["cpu"] = lam.cpu_starts(procs, servers, value)
    cg, why = lam.cgroup_path()
    out["cgroup_note"] = why
    if cg:
        log(f"exec -> first value at a {lam.LAMBDA_MB} MB CPU share, {lam.CGROUP_RUNS} starts each")
        out["throttled"] = {s.label: lam.throttled_starts(procs, s, value, cg) for s in servers}
    log("callgrind: instructions per hit, keep-alive and new connection")
    out["ir"] = {s.label: {"keep": lam.callgrind_per_hit(procs, s, value, False, str(workdir)),
                           "close": lam.callgrind_per_hit(procs, s, value, True, str(workdir))}
                 for s in servers}
    log(f"RSS after bursts of {lam.BURST_CONNS} keep-alive connections x {lam.BURST_HITS} hits")
    plain = dict(env, PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL="warn")
    port = free_port()
    p = procs.spawn([binary], env=dict(plain, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(port)),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ping(port, p, 10)
    out["bursts"] = lam.bursts(p.pid, port, param_path(HOT), TOKEN)
    Procs.stop(p)
    return out


def print_lambda(lm):
    labels = lm["servers"]
    med = lam.med
    print()
    print("### Lambda-sized figures (rows 9-14: CPU from /proc/PID/task/*/schedstat, medians of "
          f"{lam.CPU_RUNS} starts; first value = a Secrets Manager miss over TLS, trusting through "
          f"AWS_CA_BUNDLE {lm.get('trust', 'a test CA')})")
    print()
    print("| # | figure | " + " | ".join(labels) + " | target (sidecache) |")
    print("|---|---|" + "---|" * len(labels) + "---|")

    def row(num, name, values, target="-"):
        print(f"| {num} | {name} | " + " | ".join(values) + f" | {target} |")

    def spread(xs, fmt="{:.2f}"):
        return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"

    row(9, "CPU, exec -> first /ping answered (ms)", [spread(lm["cpu"][l]["ping"]) for l in labels], "<= 2.0")
    row("9b", "for scale: CPU of exec of /bin/sleep, same method (ms)", [spread(lm["sleep"])] * len(labels))
    row(10, "CPU of the first value over TLS, incl. lazy set-up (ms)",
        [spread([v - p for v, p in zip(lm["cpu"][l]["value"], lm["cpu"][l]["ping"])]) for l in labels], "<= 2.5")
    floor = med(lm["sleep"])
    ratios = [med(lm["cpu"][l]["value"]) / floor for l in labels]
    row("10b", "CPU, exec -> first value over TLS, total (ms; x the exec floor of 9b)",
        [f"{spread(lm['cpu'][l]['value'])}; **{r:.2f}x**" for l, r in zip(labels, ratios)],
        f"<= 4.3x the floor: {verdict(ratios[0] <= 4.3)}")
    row("10c", "wall, exec -> first value, unthrottled (ms)", [spread(lm["cpu"][l]["wall"], "{:.1f}") for l in labels])
    if "throttled" in lm:
        mine = lm["throttled"][labels[0]]
        ok = med(mine) <= 40 and max(mine) <= 60
        row(11, f"wall, exec -> first value at a {lam.LAMBDA_MB} MB CPU share ({lam.CGROUP_RUNS} starts, "
            "each in a fresh cgroup, ms)",
            [spread(lm["throttled"][l], "{:.0f}") for l in labels], f"median <= 40, max <= 60: {verdict(ok)}")
    else:
        row(11, f"wall, exec -> first value at a {lam.LAMBDA_MB} MB CPU share",
            [f"skipped: {lm['cgroup_note']}"] * len(labels), "median <= 40, max <= 60")
    row(12, "instructions per hit, keep-alive (callgrind)", [fmt_int(lm["ir"][l]["keep"]) for l in labels],
        "<= 15,000")
    row(13, "instructions per hit, new connection each (`Connection: close`)",
        [fmt_int(lm["ir"][l]["close"]) for l in labels], "<= 30,000")
    b = lm["bursts"]
    ok = b["after"][0] - b["warm"] <= 8 * 1024 and max(b["after"]) - b["warm"] <= 12 * 1024
    row(14, f"RSS after bursts of {lam.BURST_CONNS} concurrent keep-alive connections x {lam.BURST_HITS} hits",
        [f"warm-up {b['warm'] / 1024:.1f} MB; {lam.SETTLE_S:.0f} s after burst 1: {b['after'][0] / 1024:.1f} MB; "
         f"after bursts 2-{len(b['after'])}: {', '.join(f'{x / 1024:.1f}' for x in b['after'][1:])} MB "
         f"(during: {', '.join(f'{x / 1024:.1f}' for x in b['peaks'])} MB)"] + ["-"] * (len(labels) - 1),
        f"+8 MB / plateau +12 MB: {verdict(ok)}")


def print_report(res, profile, binary, workdir, load0, busy0):
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip() or "unknown"
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), "?")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    print()
    print(f"## sidecache benchmark, {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
    print()
    print(f"commit {git}; {os.cpu_count()} x {model}, {mem} MiB RAM, kernel {os.uname().release}; "
          f"load average {load0} at start (CPU {busy0:.0f}% busy), {res['load_end']} at end; "
          f"run took {res['elapsed']:.0f} s. MB = MiB.")
    print()
    print("| # | measurement | result | target | verdict |")
    print("|---|---|---|---|---|")

    def wrk_row(r):
        extra = f"; {r['misses']} misses" if r["misses"] else ""
        err = r["status_errors"] + r["socket_errors"]
        extra += f"; **{err} errors**" if err else ""
        return (f"{fmt_int(r['rps'])} req/s; p50 {r['p50_us'] / 1000:.3f} ms, p99 {r['p99_us'] / 1000:.3f} ms"
                f" ({fmt_int(r['requests'])} requests{extra})")

    def wrk_ok(r):
        return r["misses"] == 0 and r["status_errors"] + r["socket_errors"] == 0

    r = res["hot"]
    print(f"| 1 | cache hit, one hot key (wrk -t2 -c32 -d{WRK_SECONDS}s) | {wrk_row(r)} | - | "
          f"{'ok' if wrk_ok(r) else '**errors**'} |")
    r = res["rotate"]
    print(f"| 2 | cache hit, {ROTATE} keys in turn (same wrk) | {wrk_row(r)} | - | "
          f"{'ok' if wrk_ok(r) else '**errors**'} |")
    s = res["startup"]
    print(f"| 3 | start-up, exec to first 200 on /ping (median of {STARTUP_RUNS}) | {s['median_ms']:.2f} ms "
          f"(min {s['min_ms']:.2f}, max {s['max_ms']:.2f}; poll every {s['poll_us']:.0f} us) | < {T_STARTUP_MS} ms | "
          f"{verdict(s['median_ms'] < T_STARTUP_MS)} |")
    rss = res["rss"]["kb"] / 1024
    ent_ok = res["rss"]["entries"] == PARAMS
    print(f"| 4 | RSS with {PARAMS} cached parameters (cache.entries = {res['rss']['entries']}) | {rss:.1f} MB "
          f"(after all the load below: {res['rss_after_load_kb'] / 1024:.1f} MB, peak {res['hwm_kb'] / 1024:.1f} MB) | "
          f"< {T_RSS_MIB} MB | {verdict(rss < T_RSS_MIB and ent_ok)} |")
    z = res["size"]
    built = "" if z["file"] == z["stripped"] else f"; {z['file'] / MIB:.2f} MB as built"
    print(f"| 5 | binary size, stripped | {z['stripped'] / MIB:.2f} MB ({fmt_int(z['stripped'])} bytes{built}) | "
          f"< {T_BIN_MIB} MB | {verdict(z['stripped'] < T_BIN_MIB * MIB)} |")
    h = res["herd"]
    print(f"| 6 | upstream SSM calls for {HERD_N} concurrent misses of one key | {h['calls']} "
          f"({h['ok']} x 200; X-Cache {h['miss']} miss, {h['hit']} hit; kernel: {h['overflows']} listen-queue "
          f"overflows, {h['cookies']} SYN cookies) | 1 | {verdict(h['calls'] == 1 and h['ok'] == HERD_N)} |")
    g = res["cg"]
    print(f"| 7 | instructions per cache hit (callgrind, ({fmt_int(g['ir2'])} - {fmt_int(g['ir1'])}) Ir / "
          f"({fmt_int(CG_N2)} - {fmt_int(CG_N1)}) hits) | {fmt_int(g['per_hit'])} | < {fmt_int(T_INSTR)} | "
          f"{verdict(g['per_hit'] < T_INSTR)} |")
    print(f"| 7b | for comparison: instructions per `GET /ping` (no token, no cache; same method) | "
          f"{fmt_int(g['per_ping'])} | - | - |")
    s3 = res["s3"]
    if s3 is None:
        print("| 8a | S3 hit, path answer (wrk p50/p99) | n/a (S3 not built) | - | - |")
        print("| 8b | S3 hit, format=raw 1 MiB object (wrk throughput) | n/a (S3 not built) | - | - |")
    elif "error" in s3:
        print(f"| 8a | S3 hit, path answer | **error**: {s3['error']} | - | **FAIL** |")
        print(f"| 8b | S3 hit, format=raw 1 MiB object | **error** | - | **FAIL** |")
    else:
        p, w = s3["path"], s3["raw"]
        print(f"| 8a | S3 hit, path answer, small object (wrk -t2 -c32 -d{WRK_S3_SECONDS}s) | {wrk_row(dict(p, misses=0))} "
              f"| - | {'ok' if wrk_ok(dict(p, misses=0)) and s3['upstream'] == 0 else '**errors**'} |")
        print(f"| 8b | S3 hit, format=raw 1 MiB object (wrk -t2 -c8 -d{WRK_S3_SECONDS}s) | "
              f"{w['bytes_per_s'] / MIB:,.0f} MB/s ({w['rps']:,.0f} req/s; p50 {w['p50_us'] / 1000:.2f} ms, "
              f"p99 {w['p99_us'] / 1000:.2f} ms; {s3['upstream']} S3 calls during 8a+8b) | - | "
              f"{'ok' if wrk_ok(dict(w, misses=0)) and s3['upstream'] == 0 else '**errors**'} |")
    print()
    print(f"Start-up context: spawning /bin/true from the same Python loop takes {s['spawn_true_ms']:.2f} ms "
          f"(median); start-up runs: {', '.join(f'{x:.2f}' for x in s['all_ms'])} ms. "
          f"Callgrind fixed cost (start-up, one miss, shutdown): {fmt_int(g['fixed'])} Ir. "
          f"CPU used by other processes on the machine (approx., in cores): "
          f"{', '.join(f'{k} {v:.2f}' for k, v in res['other_cpu'].items())}. "
          f"RSS after each step: {', '.join(f'{k} {v / 1024:.1f} MB' for k, v in res['rss_steps'])}. "
          f"Exit code on SIGTERM: {res['sigterm_exit']}. Logs and callgrind files: {workdir}")
    if res.get("lambda"):
        print_lambda(res["lambda"])
    if profile:
        print()
        print(f"### callgrind profile (unstripped build of the same code: {fmt_int(profile['per_hit'])} Ir per hit)")
        print()
        print(f"Top 10 inclusive, whole {fmt_int(CG_N2)}-hit run ({fmt_int(profile['total2'])} Ir; "
              f"{profile['out2']}):")
        print()
        print("| Ir (inclusive) | % | function |")
        print("|---:|---:|---|")
        for f, ir in profile["top_incl_raw"]:
            print(f"| {fmt_int(ir)} | {100 * ir / profile['total2']:.1f} | `{short(f)}` |")
        print()
        print(f"Per hit, inclusive: (run {fmt_int(CG_N2)} - run {fmt_int(CG_N1)}) / {fmt_int(CG_N2 - CG_N1)}, "
              "functions under half of the per-hit total (above that: only tokio and hyper's dispatch loop):")
        print()
        print("| Ir per hit (inclusive) | function |")
        print("|---:|---|")
        for f, ir in profile["per_incl"]:
            print(f"| {fmt_int(ir)} | `{short(f)}` |")
        print()
        print("Per hit, self (exclusive):")
        print()
        print("| Ir per hit (self) | function |")
        print("|---:|---|")
        for f, ir in profile["per_excl"]:
            print(f"| {fmt_int(ir)} | `{short(f)}` |")


if __name__ == "__main__":
    main()
