"""Rows 9-11 of `make bench` alone, for work on start-up (issue 24): CPU exec -> first `/ping`,
CPU of the first value over TLS (the system's CA bundle plus the test CA, as a function has it),
their total (row 10b) beside the exec floor (`/bin/sleep`), and wall exec -> first value at a
128 MB function's CPU share (cgroup; needs root). The same functions as `make bench`
(scripts/bench/lambda_rows.py); `--baseline-bin` measures another build in the same run, its
starts interleaved with this one's.

    .venv/bin/python scripts/bench/startup_rows.py --bin target/release/sidecache [--baseline-bin B]
"""

import argparse
import os
import statistics
import sys
import tempfile
import urllib.parse

import boto3

import lambda_rows as lam
from run import Procs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "startup-token"
SECRET = "bench/startup-secret"
TARGET_RATIO = 4.3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/sidecache"))
    ap.add_argument("--baseline-bin")
    ap.add_argument("--runs", type=int, default=lam.CPU_RUNS)
    ap.add_argument("--cgroup-runs", type=int, default=lam.CGROUP_RUNS)
    ap.add_argument("--p256-chain", action="store_true",
                    help="the test proxy's old chain (P-256, no intermediate) instead of AWS's shape")
    a = ap.parse_args()
    from moto.server import ThreadedMotoServer
    moto_port = lam.free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    workdir = tempfile.mkdtemp(prefix="sidecache-startup.")
    procs = Procs(os.path.join(workdir, "pids"))
    try:
        boto3.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{moto_port}", region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_secret(
            Name=SECRET, SecretString='{"user": "bench", "password": "' + "p" * 40 + '"}')
        tls_url, ca = lam.start_tls_proxy(procs, ROOT, sys.executable, moto_port, workdir,
                                          like_aws=not a.p256_chain)
        bundle, roots, system = lam.trust_bundle(os.path.join(workdir, "tls"), ca)
        base = {
            "PATH": os.environ.get("PATH", ""), "HOME": workdir, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": TOKEN, "AWS_ENDPOINT_URL": tls_url, "AWS_CA_BUNDLE": bundle,
            "AWS_EC2_METADATA_DISABLED": "true", "SECRETS_MANAGER_TTL": "3600",
            "SIDECACHE_S3_DIR": os.path.join(workdir, "s3"),
            "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "warn",
        }
        servers = [lam.Server("this build", a.bin, "ours", base, TOKEN, workdir)]
        if a.baseline_bin:
            servers.append(lam.Server("baseline", a.baseline_bin, "ours", base, TOKEN, workdir))
        value = "/secretsmanager/get?secretId=" + urllib.parse.quote(SECRET, safe="")
        print(f"trust: {roots} certificates ({system or 'no system bundle'} + the test CA)", file=sys.stderr)
        sleep = statistics.median(lam.sleep_baseline(procs, a.runs))
        cpu = lam.cpu_starts(procs, servers, value, a.runs)
        cg, why = lam.cgroup_path()
        throttled = ({s.label: lam.throttled_starts(procs, s, value, cg, a.cgroup_runs) for s in servers}
                     if cg else {})
        print()
        print(f"exec floor (/bin/sleep): {sleep:.2f} ms CPU")
        print()
        print("| build | 9: CPU -> /ping | 10: CPU of the first value | 10b: total | 10b / floor | "
              "11: wall at 128 MB, median (min-max) |")
        print("|---|---|---|---|---|---|")
        for s in servers:
            got = cpu[s.label]
            ping = statistics.median(got["ping"])
            total = statistics.median(got["value"])
            first = statistics.median([v - p for v, p in zip(got["value"], got["ping"])])
            t = throttled.get(s.label)
            wall = f"{statistics.median(t):.0f} ms ({min(t):.0f}-{max(t):.0f})" if t else f"n/a ({why})"
            print(f"| {s.label} | {ping:.2f} ms | {first:.2f} ms | {total:.2f} ms | "
                  f"{total / sleep:.2f}x (target <= {TARGET_RATIO}x) | {wall} |")
    finally:
        procs.stop_all()
        moto.stop()


if __name__ == "__main__":
    main()
