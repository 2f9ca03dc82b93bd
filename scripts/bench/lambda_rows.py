"""Lambda-sized rows of `make bench` (docs/performance.md, rows 9-14): CPU to the first /ping
and to the first value over TLS, instructions per hit on a new connection, exec -> first value
at a 128 MB function's CPU share, RSS after connection bursts; and the same figures for a peer
(aws_secretsmanager_agent, `make bench-peer`).

CPU is what the process used (user + system, all threads): the first field of
/proc/PID/task/*/schedstat, summed, read when the process has answered.
"""

import asyncio
import glob
import http.client
import os
import socket
import statistics
import subprocess
import time

CPU_RUNS = 9
CGROUP_RUNS = 9
LAMBDA_MB = 128
CG_ROOT = "/sys/fs/cgroup/cpu"
BURST_CONNS, BURST_HITS, BURSTS = 1000, 20, 5
SETTLE_S = 3.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ms(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return total / 1e6


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get(port, path, token, close=True, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"X-Aws-Parameters-Secrets-Token": token}
        if close:
            headers["Connection"] = "close"
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


class Server:
    """How to start one server under test: sidecache, or the peer agent."""

    def __init__(self, label, binary, kind, base_env, token, workdir):
        self.label, self.binary, self.kind = label, binary, kind
        self.base_env, self.token, self.workdir = base_env, token, workdir

    def argv_env(self, port):
        env = dict(self.base_env)
        if self.kind == "peer":
            cfg = os.path.join(self.workdir, f"peer-{port}.toml")
            with open(cfg, "w") as f:
                f.write(f"http_port = {port}\nlog_to_file = false\nttl_seconds = 3600\n")
            # The agent compares the token header with $AWS_TOKEN (else $AWS_SESSION_TOKEN), and
            # trusts a custom CA through SSL_CERT_FILE only (it does not read AWS_CA_BUNDLE).
            env["AWS_TOKEN"] = self.token
            if "AWS_CA_BUNDLE" in env:
                env["SSL_CERT_FILE"] = env["AWS_CA_BUNDLE"]
            return [self.binary, "--config", cfg], env
        env.update(PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(port), SIDECACHE_TOKEN=self.token)
        return [self.binary], env

    def spawn(self, procs, port, prefix=()):
        argv, env = self.argv_env(port)
        return procs.spawn(list(prefix) + argv, env=env, cwd=self.workdir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ok(port, path, token, proc, timeout=30):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if get(port, path, token, timeout=10) == 200:
                return
        except OSError:
            time.sleep(0.0005)
    raise RuntimeError(f"no 200 on {path} within {timeout}s")


def cpu_starts(procs, servers, value_path, runs=CPU_RUNS):
    """Per start: CPU at the first /ping, CPU at the first value (a miss over TLS), wall exec ->
    first value, by server label. The servers' starts alternate, so that a host slowing down or
    speeding up during the run (this VM's CPU figures move by a third between runs) affects each
    alike and their difference stays meaningful."""
    out = {s.label: {"ping": [], "value": [], "wall": []} for s in servers}
    for _ in range(runs):
        for server in servers:
            got = out[server.label]
            port = free_port()
            t0 = time.perf_counter()
            p = server.spawn(procs, port)
            wait_ok(port, "/ping", server.token, p)
            got["ping"].append(cpu_ms(p.pid))
            if get(port, value_path, server.token) != 200:
                raise RuntimeError(f"{server.label}: first value not 200")
            got["wall"].append((time.perf_counter() - t0) * 1000)
            got["value"].append(cpu_ms(p.pid))
            procs.stop(p)
    return out


def sleep_baseline(procs, runs=CPU_RUNS):
    """exec of /bin/sleep measured the same way: its CPU once it sleeps."""
    out = []
    for _ in range(runs):
        p = procs.spawn(["/bin/sleep", "5"])
        time.sleep(0.05)
        out.append(cpu_ms(p.pid))
        p.kill()
        p.wait()
    return out


def cgroup_path():
    """Where a start's cgroup-v1 cpu group goes (a parent checked writable), or (None, why not)."""
    if os.geteuid() != 0:
        return None, "not root"
    if not os.path.isdir(CG_ROOT):
        return None, f"no {CG_ROOT} (cgroup v1 cpu controller)"
    try:
        group = new_cgroup(CG_ROOT, "probe")
        os.rmdir(group)
    except OSError as e:
        return None, f"cgroup not writable: {e}"
    return CG_ROOT, None


def new_cgroup(parent, tag):
    """A fresh group at a 128 MB function's share: a quota of 100 ms * MB / 1769 per 100 ms."""
    path = os.path.join(parent, f"sidecache-bench-{LAMBDA_MB}-{os.getpid()}-{tag}")
    os.makedirs(path)
    with open(os.path.join(path, "cpu.cfs_period_us"), "w") as f:
        f.write("100000")
    with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
        f.write(str(100000 * LAMBDA_MB // 1769))
    return path


def throttled_starts(procs, server, value_path, cg, runs=CGROUP_RUNS):
    """Wall time exec -> first value with the server (not the client) in a cgroup at a 128 MB
    function's share. Each start gets a group of its own, as each cold start on Lambda is a new
    execution environment with its own quota: in one shared group a start would inherit the
    quota the previous start and its shutdown used in the same 100 ms period, and wait out the
    period for CPU it did not use."""
    out = []
    for i in range(runs):
        group = new_cgroup(cg, f"{server.label.replace(' ', '-')}-{i}")
        wrapper = ["/bin/sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh"]
        try:
            port = free_port()
            t0 = time.perf_counter()
            p = server.spawn(procs, port, prefix=wrapper)
            wait_ok(port, "/ping", server.token, p, timeout=60)
            if get(port, value_path, server.token, timeout=60) != 200:
                raise RuntimeError(f"{server.label}: first value not 200 (throttled)")
            out.append((time.perf_counter() - t0) * 1000)
            procs.stop(p)
        finally:
            try:
                os.rmdir(group)
            except OSError:  # a process still in it after a failure: left for the reader
                pass
    return out


def bursts(pid, port, path, token, n=BURST_CONNS, hits=BURST_HITS, rounds=BURSTS):
    """RSS after warm-up, SETTLE_S after one burst of n concurrent keep-alive connections with
    `hits` requests each, and after `rounds` bursts (the plateau)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Aws-Parameters-Secrets-Token: {token}"
               "\r\n\r\n").encode()

    async def one(sem):
        async with sem:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(hits):
            w.write(request)
            head = await r.readuntil(b"\r\n\r\n")
            length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n")
                          if l.lower().startswith(b"content-length:"))
            await r.readexactly(length)
        w.close()

    async def burst():
        sem = asyncio.Semaphore(n)
        await asyncio.gather(*[one(sem) for _ in range(n)])

    for _ in range(200):
        get(port, path, token, close=False)
    warm = rss_kb(pid)
    after = []
    peaks = []
    for _ in range(rounds):
        asyncio.run(burst())
        peaks.append(rss_kb(pid))
        time.sleep(SETTLE_S)
        after.append(rss_kb(pid))
    return {"warm": warm, "after": after, "peaks": peaks}


def med(values):
    return statistics.median(values) if values else float("nan")


def callgrind_per_hit(procs, server, path, close, workdir, n1=1000, n2=4000):
    """Instructions per hit from two callgrind runs (n1 and n2 hits after one warm-up miss),
    on one keep-alive connection or (close=True) a new connection per hit."""
    totals = []
    for n in (n1, n2):
        port = free_port()
        tag = f"{server.label}.{'close' if close else 'keep'}.{n}"
        out = os.path.join(workdir, f"callgrind.{tag}.out")
        argv, env = server.argv_env(port)
        p = procs.spawn(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv, env=env,
                        cwd=server.workdir, stdout=subprocess.DEVNULL,
                        stderr=open(os.path.join(workdir, f"callgrind.{tag}.log"), "w"))
        wait_ok(port, "/ping", server.token, p, timeout=180)
        if get(port, path, server.token, timeout=120) != 200:
            raise RuntimeError(f"{server.label}: warm-up miss not 200")
        keep = None if close else http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"X-Aws-Parameters-Secrets-Token": server.token}
        for _ in range(n):
            if close:
                status = get(port, path, server.token, close=True, timeout=120)
            else:
                keep.request("GET", path, headers=headers)
                r = keep.getresponse()
                r.read()
                status = r.status
            if status != 200:
                raise RuntimeError(f"{server.label}: hit answered {status}")
        if keep:
            keep.close()
        procs.stop(p, timeout=180)
        with open(out) as f:
            total = next(int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:")))
        totals.append(total)
    return (totals[1] - totals[0]) / (n2 - n1)


# The system CA bundles sidecache looks for, in its order (extension/src/aws/http/trust.rs).
SYSTEM_BUNDLES = ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt",
                  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/ca-bundle.pem",
                  "/etc/ssl/cert.pem"]


def trust_bundle(directory, ca):
    """The roots a function has on Lambda (the system bundle, ~140 roots) plus the test CA, in
    one file to trust through AWS_CA_BUNDLE: the first TLS connection then parses what it parses
    on Lambda, plus one. Returns (path, number of certificates, system bundle or None)."""
    system = next((p for p in SYSTEM_BUNDLES if os.path.isfile(p)), None)
    pem = open(system).read() if system else ""
    with open(ca) as f:
        pem = pem.rstrip("\n") + "\n" + f.read()
    path = os.path.join(directory, "system-plus-test-ca.pem")
    with open(path, "w") as f:
        f.write(pem)
    return path, pem.count("-----BEGIN CERTIFICATE-----"), system


def start_tls_proxy(procs, root, python, moto_port, workdir, like_aws=True):
    """scripts/tls_proxy.py in front of moto; returns (https URL, CA file). Its chain is shaped
    like AWS's (RSA-2048, an intermediate) unless `like_aws` is false (P-256, no intermediate)."""
    directory = os.path.join(workdir, "tls")
    os.makedirs(directory, exist_ok=True)
    chain = ["--chain-like-aws"] if like_aws else []
    p = procs.spawn([python, os.path.join(root, "scripts/tls_proxy.py"), "--upstream",
                     f"http://127.0.0.1:{moto_port}", "--dir", directory] + chain,
                    stdout=subprocess.PIPE, stderr=open(os.path.join(workdir, "tls_proxy.log"), "w"), text=True)
    line = p.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        raise RuntimeError(f"tls_proxy.py did not start: {line}")
    return f"https://127.0.0.1:{line[1]}", os.path.join(directory, "ca.pem")
