"""Checks what a layer zip holds, and that examples/container/Dockerfile can copy it into an image.

Called by layer/check.sh for each zip (standard library only, any python3):

    python3 layer/check_contents.py ZIP

The zip must hold exactly:
  - extensions/sidecache, mode 0755 (Lambda starts every executable in /opt/extensions);
  - python/sidecache/: every file of clients/python/src/sidecache, byte for byte, plus compiled
    bytecode (python/sidecache/__pycache__/<module>.cpython-3XY.pyc) of those modules only;
  - nodejs/node_modules/sidecache/: clients/node's package.json and the files its "files" field
    names, byte for byte (no tests, no node_modules): layer/client_files.py's list;
every client file 0644, so that the function's user (not the owner of /opt) can read it.
Then the zip is unpacked with examples/container/unpack_layer.py, the Dockerfile's own unpacking
step, and each `COPY --from=sidecache-layer /layer/<path> /opt/<path>` of the Dockerfile must name
a path present in the unpacked tree, copied to the same path under /opt (where a layer would put
it), with extensions/ executable. Prints `  ok    ...` / `  FAIL  ...` lines for check.sh to count.
"""

import os
import re
import stat
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTAINER = os.path.join(ROOT, "examples", "container")
# The paths the Dockerfile must copy (a layer user gets all three).
CONTAINER_PATHS = {"extensions/sidecache", "python/sidecache", "nodejs/node_modules/sidecache"}
PYC = re.compile(r"^python/sidecache/__pycache__/(?P<module>\w+)\.(?P<tag>cpython-3\d+)\.pyc$")

sys.path.insert(0, CONTAINER)
from client_files import layer_files  # noqa: E402  (what layer/Makefile packs)
from unpack_layer import unpack  # noqa: E402  (the Dockerfile's unpacking step, tested here)
from check_report import exit_status, fail, ok  # noqa: E402

def check_entries(layer):
    entries = {info.filename: info for info in layer.infolist()}
    mode = {name: stat.S_IMODE(info.external_attr >> 16) for name, info in entries.items()}
    if mode.get("extensions/sidecache") == 0o755:
        ok("extensions/sidecache with mode 0755")
    else:
        fail(f"extensions/sidecache: {'mode ' + oct(mode['extensions/sidecache']) if 'extensions/sidecache' in mode else 'missing'}, expected 0755")

    expected = layer_files()
    modules = {os.path.basename(p)[:-3] for p in expected if p.startswith("python/") and p.endswith(".py")}

    missing = sorted(set(expected) - set(entries))
    differing = [p for p in sorted(set(expected) & set(entries)) if layer.read(p) != open(expected[p], "rb").read()]
    pycs = {name: PYC.match(name) for name in entries if name.startswith("python/sidecache/__pycache__/")}
    stray = sorted(name for name in entries
                   if name != "extensions/sidecache" and name not in expected
                   and not (pycs.get(name) and pycs[name]["module"] in modules))
    if missing or differing or stray:
        fail(f"client files: missing {missing}, differing from clients/ {differing}, not expected {stray}")
    else:
        tags = sorted({m["tag"] for m in pycs.values() if m})
        ok(f"clients/ packed: {len(expected)} files under python/sidecache and nodejs/node_modules/sidecache, "
           f"bytecode for {', '.join(tags) or 'no Python version'}")
    unreadable = sorted(name for name in entries if name != "extensions/sidecache" and mode[name] != 0o644)
    if unreadable:
        fail(f"client files not 0644: {unreadable[:5]}")
    else:
        ok("client files are 0644")


def dockerfile_copies():
    """(source, destination) of each COPY --from=sidecache-layer line of the Dockerfile."""
    with open(os.path.join(CONTAINER, "Dockerfile")) as f:
        text = f.read()
    return re.findall(r"^COPY\s+--from=sidecache-layer\s+(\S+)\s+(\S+)\s*$", text, re.MULTILINE)


def check_container(zip_path):
    copies = dockerfile_copies()
    with tempfile.TemporaryDirectory(prefix="sidecache-container-") as work:
        tree = os.path.join(work, "layer")
        unpack(zip_path, tree)
        copied = set()
        for source, destination in copies:
            if not source.startswith("/layer/"):
                fail(f"Dockerfile copies {source}, which is not from the unpacked layer /layer/")
                continue
            path = source[len("/layer/"):].rstrip("/")
            copied.add(path)
            if destination.rstrip("/") != "/opt/" + path:
                fail(f"Dockerfile copies {source} to {destination}, not to /opt/{path} where a layer puts it")
            elif not os.path.exists(os.path.join(tree, path)):
                fail(f"Dockerfile copies {source}, which the unpacked zip does not hold")
            elif path.startswith("extensions/") and stat.S_IMODE(os.stat(os.path.join(tree, path)).st_mode) & 0o111 != 0o111:
                fail(f"{path} unpacked by unpack_layer.py is not executable: Lambda would not start it")
            else:
                ok(f"Dockerfile: {source} -> {destination} is in the zip" +
                   (" (executable)" if path.startswith("extensions/") else ""))
        left_out = sorted(CONTAINER_PATHS - copied)
        if left_out:
            fail(f"Dockerfile does not copy {left_out} from the layer")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_contents.py ZIP")
    with zipfile.ZipFile(sys.argv[1]) as layer:
        check_entries(layer)
    check_container(sys.argv[1])


if __name__ == "__main__":
    main()
    sys.exit(exit_status())
