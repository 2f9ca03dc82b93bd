#!/usr/bin/env python3
"""CPU of a handler's cold path: `import` plus the first value, against a live sidecache.

    python3 clients/python/bench/cold.py --port P --token T --name N [--runs 9]

Each sample is a new interpreter that is already running when the clock starts: it measures
`time.process_time()` around the import and the first read of one parameter (cached in
sidecache by a warm-up read first), as a handler's INIT would pay it. The ways are measured
interleaved, in the same run, and printed as JSON with each way's median and the ratio of
each to the raw socket read:

- raw:       `import socket`, connect, one HTTP/1.1 request, read Content-Length bytes (the floor)
- sidecache: `import sidecache; sidecache.default_client().parameter(N)` (port and token from
             the environment, as a handler has them)
- lambda_cache: `from sidecache import ssm; ssm.get_entry(parameter=N)`, lambda-cache's API
- urllib:    the AWS documentation's snippet: urllib.request plus json
- sidecache_baseline: as sidecache, imported from `--baseline-pythonpath` (another version of
             the package, e.g. `git archive <commit> clients/python/src`), measured beside it

Interpreters start with `-S` (no site-packages, no `.pth` files) unless `--site`: what a
machine's site-packages preload (here and there `re`, `enum`...) would otherwise be taken off
some ways' cost and not others'. Bytecode is compiled once, by a warm-up run, into a temporary
`PYTHONPYCACHEPREFIX`, as it is shipped compiled (a layer, a deployment package).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PYTHONPATH = os.path.join(os.path.dirname(HERE), "src")

# Each snippet runs with PORT, TOKEN, NAME, QUERY defined and `time` imported before the clock
# starts; it leaves the value (or body) read in `value`.
WAYS = {
    "raw": """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("127.0.0.1", PORT))
s.sendall(b"GET /systemsmanager/parameters/get?" + QUERY.encode() + b" HTTP/1.1\\r\\n"
          b"Host: 127.0.0.1\\r\\nX-Aws-Parameters-Secrets-Token: " + TOKEN.encode() + b"\\r\\n\\r\\n")
data = b""
while b"\\r\\n\\r\\n" not in data:
    data += s.recv(65536)
head, _, value = data.partition(b"\\r\\n\\r\\n")
assert head.startswith(b"HTTP/1.1 200"), head
length = int(head.lower().split(b"content-length:")[1].split(b"\\r\\n")[0])
while len(value) < length:
    value += s.recv(65536)
""",
    "sidecache": """
import sidecache
value = sidecache.default_client().parameter(NAME)
""",
    "lambda_cache": """
from sidecache import ssm
value = ssm.get_entry(parameter=NAME)
""",
    "urllib": """
import json
import urllib.request
request = urllib.request.Request(f"http://localhost:{PORT}/systemsmanager/parameters/get?{QUERY}")
request.add_header("X-Aws-Parameters-Secrets-Token", TOKEN)
value = json.loads(urllib.request.urlopen(request).read())["Parameter"]["Value"]
""",
}

CHILD = """
import sys, time
sys.path.insert(0, {pythonpath!r})
PORT, TOKEN, NAME, QUERY = {port!r}, {token!r}, {name!r}, {query!r}
start = time.process_time_ns()
{snippet}
cpu = time.process_time_ns() - start
sys.stdout.write(f"{{cpu}} {{len(value)}}\\n")
"""


def quote(text):
    # Names are ASCII paths in practice; escape the rest as the client does.
    safe = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def run_child(args, way, env):
    baseline = way == "sidecache_baseline"
    code = CHILD.format(pythonpath=args.baseline_pythonpath if baseline else args.pythonpath,
                        port=args.port, token=args.token, name=args.name,
                        query=f"name={quote(args.name)}&withDecryption=true",
                        snippet=WAYS["sidecache" if baseline else way])
    flags = [] if args.site else ["-S"]
    result = subprocess.run([args.python, *flags, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60)
    if result.returncode != 0:
        raise SystemExit(f"cold.py: way {way} failed:\n{result.stderr}")
    cpu_ns, length = result.stdout.split()
    if int(length) == 0:
        raise SystemExit(f"cold.py: way {way} read an empty value")
    return int(cpu_ns) / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--name", required=True, help="a parameter that exists upstream")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--ways", default="raw,sidecache,lambda_cache,urllib",
                        help=f"comma-separated, of: {', '.join(WAYS)}")
    parser.add_argument("--python", default=sys.executable, help="the interpreter measured")
    parser.add_argument("--pythonpath", default=DEFAULT_PYTHONPATH,
                        help="where `sidecache` is imported from (default: clients/python/src)")
    parser.add_argument("--baseline-pythonpath",
                        help="also measure `sidecache` imported from here (sidecache_baseline)")
    parser.add_argument("--site", action="store_true", help="start interpreters with site")
    args = parser.parse_args()
    ways = [way.strip() for way in args.ways.split(",") if way.strip()]
    if args.baseline_pythonpath and "sidecache_baseline" not in ways:
        ways.append("sidecache_baseline")
    unknown = [way for way in ways if way not in WAYS and way != "sidecache_baseline"]
    if unknown:
        parser.error(f"unknown ways: {', '.join(unknown)}")

    with tempfile.TemporaryDirectory(prefix="sidecache-cold-") as pycache:
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONSTARTUP")}
        env.update(PYTHONPYCACHEPREFIX=pycache, SIDECACHE_TOKEN=args.token,
                   PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(args.port))
        env.pop("SIDECACHE_TOKEN_FILE", None)
        for way in ways:  # warm-up: bytecode written, the value cached in sidecache
            run_child(args, way, env)
        samples = {way: [] for way in ways}
        for _ in range(args.runs):
            for way in ways:
                samples[way].append(run_child(args, way, env))

    medians = {way: statistics.median(values) for way, values in samples.items()}
    report = {
        "python": subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True).stdout.strip(),
        "site": args.site,
        "runs": args.runs,
        "unit": "ms CPU (process_time), import + first value",
        "ways": {way: {"median_ms": round(medians[way], 3),
                       "samples_ms": [round(v, 3) for v in samples[way]]} for way in ways},
    }
    if "raw" in medians:
        report["ratio_to_raw"] = {way: round(medians[way] / medians["raw"], 2) for way in ways}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
