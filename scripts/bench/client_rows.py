"""`make bench` rows for the handler's cold path: CPU from `import` to the first value.

What a new execution environment pays in the handler, beside sidecache's own start-up: the
import of whatever reads the value, plus reading one cached parameter, inside an interpreter that
is already running (Lambda starts the interpreter either way). Measured per language with
time.process_time() / process.cpuUsage() around import + first value, each sample in a fresh
interpreter process (so that the import cost is real), the ways interleaved round by round, and
the median of ROUNDS samples printed:

  Python                                     Node.js
  sidecache client (clients/python)          sidecache client (clients/node)
  the same without precompiled bytecode      raw node:net
  raw socket                                 both again, node:http loaded before the clock
  the AWS docs' snippet (urllib.request)       (Lambda's runtime has loaded it by then)
  boto3 get_parameter (against moto)         the AWS docs' snippet (node:http)
                                             fetch
                                             AWS SDK v3 @aws-sdk/client-ssm (against moto)

"raw" is the floor: connect, one HTTP/1.1 request, read the Content-Length bytes of the answer
(no JSON parsing). The client packages are used as the layer ships them: the Python package with
the bytecode the layer precompiles (and once without it: a runtime whose Python version differs
from the layer's bytecode compiles it on every cold start); the Node package as
node_modules/sidecache of the handler. Every way must return the seeded value, or the run stops.
The AWS SDKs read from moto directly (no extension), as a function without sidecache does.

    .venv/bin/python scripts/bench/client_rows.py --bin target/release/sidecache [--rounds 9]

Needs node, and scripts/bench/node_deps/node_modules (`make bench` runs npm ci there) for the
SDK v3 row; prints the row as "n/a" with the reason when that package is missing.
"""

import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from moto.server import ThreadedMotoServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_DEPS = os.path.join(ROOT, "scripts", "bench", "node_deps", "node_modules")
PARAM = "/bench/cold/greeting"
VALUE = "hello from the cold path"
TOKEN = "bench-cold-path-token"
TARGET_RATIO = 1.3

from cold_path_ways import NODE_WAYS, PYTHON_WAYS  # noqa: E402  (the handlers measured)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port, process, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"bench: sidecache exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench: sidecache did not answer /ping")


def stage(work):
    """The client packages as the layer holds them (layer/client_files.py), and a task directory."""
    layer = os.path.join(work, "layer")
    subprocess.run([sys.executable, os.path.join(ROOT, "layer", "client_files.py"), "--stage", layer], check=True)
    python_tree = os.path.join(layer, "python")
    bare_tree = os.path.join(work, "python-no-bytecode")
    shutil.copytree(python_tree, bare_tree)
    # As layer/Makefile does: unchecked-hash bytecode of this interpreter's version.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                    python_tree], check=True)
    task = os.path.join(work, "task")
    os.makedirs(os.path.join(task, "node_modules"))
    # The handler's own node_modules: a static or dynamic import() finds it without NODE_PATH.
    shutil.copytree(os.path.join(layer, "nodejs", "node_modules", "sidecache"),
                    os.path.join(task, "node_modules", "sidecache"))
    if os.path.isdir(NODE_DEPS):
        for name in os.listdir(NODE_DEPS):
            os.symlink(os.path.join(NODE_DEPS, name), os.path.join(task, "node_modules", name))
    return python_tree, bare_tree, task


def sample(command, env, cwd):
    """One fresh process: its CPU milliseconds, after checking the value it read."""
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sys.exit(f"bench: {command[-1][:60]!r} failed (status {done.returncode}): {done.stderr.strip()[-600:]}")
    if VALUE not in result["value"]:
        sys.exit(f"bench: a way read {result['value'][:80]!r}, not the parameter's value")
    return result["cpu_ms"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    node = shutil.which("node")
    # moto's request log (werkzeug) would bury the table.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{moto_port}"
    aws = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}
    boto3.client("ssm", endpoint_url=endpoint, **{k.lower(): v for k, v in aws.items()
                                                   if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")},
                 region_name="us-east-1").put_parameter(Name=PARAM, Value=VALUE, Type="String")
    work = tempfile.mkdtemp(prefix="sidecache-bench-cold-")
    port = free_port()
    process = subprocess.Popen(
        [args.bin], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"PATH": os.environ["PATH"], "HOME": work, **aws, "AWS_SESSION_TOKEN": TOKEN,
             "AWS_ENDPOINT_URL": endpoint, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
             "SIDECACHE_S3_DIR": os.path.join(work, "s3")})
    try:
        wait_ping(port, process)
        python_tree, bare_tree, task = stage(work)
        # What a handler's environment holds in Lambda: the port, the session token, the names.
        env = {"PATH": os.environ["PATH"], "HOME": work, "LANG": "C.UTF-8", **aws,
               "AWS_SESSION_TOKEN": TOKEN, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
               "PARAMETER_NAME": PARAM, "MOTO_ENDPOINT": endpoint, "PYTHONDONTWRITEBYTECODE": "1"}
        # The parameter is cached before the first sample: every way but the SDKs reads a hit.
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/systemsmanager/parameters/get?name={PARAM}",
            headers={"X-Aws-Parameters-Secrets-Token": TOKEN}), timeout=10).read()

        ways = []  # (language, label, command, env)
        for label, code, variant in PYTHON_WAYS:
            tree = bare_tree if variant == "source" else python_tree
            ways.append(("Python", label, [sys.executable, "-c", code], {**env, "PYTHONPATH": tree}))
        skipped = {}
        for i, (label, code) in enumerate(NODE_WAYS):
            # A file module in the task directory, as Lambda's runtime loads a handler: the file
            # loader is then warm, as in a function, before the measured import starts (an `-e`
            # program's first file import pays ~3 ms for it, which no handler pays).
            program = os.path.join(task, f"way-{i}.mjs")
            with open(program, "w") as f:
                f.write(code)
            if node is None:
                skipped[("Node.js", label)] = "node not installed"
            elif "@aws-sdk" in code and not os.path.isdir(os.path.join(NODE_DEPS, "@aws-sdk", "client-ssm")):
                skipped[("Node.js", label)] = "scripts/bench/node_deps not installed (npm ci)"
            else:
                ways.append(("Node.js", label, [node, program], env))

        samples = {(language, label): [] for language, label, _, _ in ways}
        for round_ in range(args.rounds):
            # Rotated each round, so that no way always runs right after the same other one.
            shift = round_ % len(ways)
            for language, label, command, way_env in ways[shift:] + ways[:shift]:
                samples[(language, label)].append(sample(command, way_env, task))
        report(samples, skipped, args.rounds)
    finally:
        process.kill()
        process.wait()
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(samples, skipped, rounds):
    print(f"\n## Handler cold path: CPU of import + first value, median of {rounds} fresh processes\n")
    print("| language | way | CPU ms (median) | min | max |")
    print("|---|---|---|---|---|")
    medians = {}
    for (language, label), values in samples.items():
        medians[(language, label)] = statistics.median(values)
        print(f"| {language} | {label} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    for (language, label), why in skipped.items():
        print(f"| {language} | {label} | n/a ({why}) | | |")
    print()
    for language in ("Python", "Node.js"):
        ours = medians.get((language, "sidecache client"))
        raw = next((v for (lang, label), v in medians.items() if lang == language and "(floor)" in label), None)
        if ours is not None and raw:
            verdict = "meets" if ours / raw <= TARGET_RATIO else "misses"
            print(f"{language}: sidecache client / raw floor = {ours / raw:.2f}x ({verdict} the <= {TARGET_RATIO}x target)")
    # The same pair inside a process that has node:http loaded already, as Lambda's runtime has.
    preloaded = {label.split(",")[0]: value for (language, label), value in medians.items()
                 if language == "Node.js" and "loaded before" in label}
    if preloaded.get("sidecache client") and preloaded.get("raw node:net"):
        print(f"Node.js, node:http loaded before as in Lambda: sidecache client / raw node:net = "
              f"{preloaded['sidecache client'] / preloaded['raw node:net']:.2f}x")


if __name__ == "__main__":
    main()
