"""Checks that a function with only the layer attached can use the client packages it ships.

Called by layer/check_lambda.py while the layer's extension is running (Lambda mode, values from
moto), with the unzipped layer tree. Each handler below runs in a fresh process from a scratch
task directory (like /var/task), with the layer's tree where Lambda mounts it on the search paths
and nothing else: the package must come from the tree (its resolved file is checked), and the
value read must be the parameter's.

  - Python: PYTHONPATH=<tree>/python (Lambda: /opt/python on sys.path), `import sidecache`;
  - Node.js, CommonJS: NODE_PATH=<tree>/nodejs/node_modules and `require("sidecache")`, with
    `--no-experimental-require-module`, the flag Lambda's Node.js 20 and 22 runtimes apply (their
    docs: require() of an ES module is disabled there), so an ES-module-only package fails;
  - Node.js, ES module: `import ... from "sidecache"` from an .mjs handler, resolved as Lambda's
    runtime resolves it: NODE_PATH is searched for bare imports (layer/lambda_esm_resolve.mjs).
"""

import json
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# Lambda gives Node.js 20 and 22 this flag unless NODE_OPTIONS re-enables require(esm).
LAMBDA_NODE_FLAGS = ["--no-experimental-require-module"]
TIMEOUT_S = 30

PYTHON_HANDLER = """
import json, os, sys
import sidecache
value = sidecache.default_client().parameter(os.environ["PARAMETER_NAME"])
print(json.dumps({"file": sidecache.__file__, "value": value}))
"""

NODE_CJS_HANDLER = """
const { Client } = require("sidecache");
new Client().parameter(process.env.PARAMETER_NAME).then((value) => {
  console.log(JSON.stringify({ file: require.resolve("sidecache"), value }));
  process.exit(0);
}, (error) => { console.error(String(error)); process.exit(1); });
"""

NODE_ESM_HANDLER = """
import { Client } from "sidecache";
const value = await new Client().parameter(process.env.PARAMETER_NAME);
console.log(JSON.stringify({ file: import.meta.resolve("sidecache"), value }));
process.exit(0);
"""


def run_handler(label, command, env, tree, expected, ok, fail):
    """Runs one handler; ok() when it printed the expected value from a file inside the tree."""
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        fail(f"{label}: no answer within {TIMEOUT_S} s")
        return
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        errors = [line.strip() for line in done.stderr.splitlines() if "Error" in line]
        detail = errors[0] if errors else " | ".join(done.stderr.strip().splitlines()[-3:]) or "(no output)"
        fail(f"{label}: exit status {done.returncode}: {detail}")
        return
    where = result["file"].removeprefix("file://")
    if not os.path.realpath(where).startswith(os.path.realpath(tree) + os.sep):
        fail(f"{label}: the package came from {where}, not from the layer tree")
    elif result["value"] != expected:
        fail(f"{label}: read {result['value']!r}, expected the parameter's value")
    else:
        ok(f"{label}: reads the parameter through the live extension "
           f"({os.path.relpath(os.path.realpath(where), os.path.realpath(tree))})")


def check_bytecode_used(python, env, tree, ok, fail):
    """The layer's bytecode for this python3's version, if it has some, is what import loads.

    Unpacking gives the sources new mtimes; the unchecked-hash .pyc must be used all the same,
    or every cold start compiles (see layer/README.md, "Precompiled bytecode").
    """
    tag = subprocess.run([python, "-c", "import sys; print(sys.implementation.cache_tag)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    pyc = os.path.join(tree, "python", "sidecache", "__pycache__", f"client.{tag}.pyc")
    if not os.path.exists(pyc):
        print(f"        (the layer has no {tag} bytecode: this python3 compiles the package at import)")
        return
    done = subprocess.run([python, "-v", "-c", "import sidecache.client"], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    if f"code object from '{pyc}'" in done.stderr:
        ok(f"Python loads the layer's bytecode ({os.path.relpath(pyc, tree)}), not compiling the source")
    else:
        fail(f"Python did not load {os.path.relpath(pyc, tree)}: it compiles the source at every cold start")


def check_clients(tree, port, token, parameter, expected, ok, fail):
    task = tempfile.mkdtemp(prefix="sidecache-layer-task-")
    try:
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": task,
            "LANG": "C.UTF-8",
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
            "AWS_SESSION_TOKEN": token,
            "PARAMETER_NAME": parameter,
            # /opt is read-only in Lambda: nothing may be written into the tree.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        files = {"handler.py": PYTHON_HANDLER, "handler.cjs": NODE_CJS_HANDLER, "handler.mjs": NODE_ESM_HANDLER}
        for name, text in files.items():
            with open(os.path.join(task, name), "w") as f:
                f.write(text)
        python = shutil.which("python3")
        python_env = {**base, "PYTHONPATH": os.path.join(tree, "python")}
        run_handler("Python client from <tree>/python",
                    [python, os.path.join(task, "handler.py")], python_env, tree, expected, ok, fail)
        check_bytecode_used(python, python_env, tree, ok, fail)
        node = shutil.which("node")
        if node is None:
            fail("node is missing: the Node.js client in the layer was not checked")
            return
        node_env = {**base, "NODE_PATH": os.path.join(tree, "nodejs", "node_modules")}
        run_handler("Node.js client, require() from <tree>/nodejs/node_modules",
                    [node, *LAMBDA_NODE_FLAGS, os.path.join(task, "handler.cjs")],
                    node_env, tree, expected, ok, fail)
        run_handler("Node.js client, ES module import resolved as Lambda does (NODE_PATH)",
                    [node, *LAMBDA_NODE_FLAGS, "--import", os.path.join(HERE, "lambda_esm_resolve.mjs"),
                     os.path.join(task, "handler.mjs")],
                    node_env, tree, expected, ok, fail)
    finally:
        shutil.rmtree(task, ignore_errors=True)
