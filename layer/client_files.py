"""Which files of clients/ the layer ships, and where: the one list layer/Makefile packs and
layer/check_contents.py checks the zip against.

  - clients/python/src/sidecache/**  -> python/sidecache/**  (Lambda: /opt/python on sys.path)
  - clients/node: package.json and what its "files" field names, as npm would publish the
    package (tests and node_modules never) -> nodejs/node_modules/sidecache/**  (Lambda:
    /opt/nodejs/node_modules on NODE_PATH)

Bytecode (__pycache__, *.pyc) of a checkout is never taken; the Makefile compiles its own.

    python3 layer/client_files.py --sources      the source files, one a line (make's prerequisites)
    python3 layer/client_files.py --stage DIR    copies them into the layer tree DIR, 0644
"""

import glob
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_CLIENT = os.path.join(ROOT, "clients", "python", "src", "sidecache")
NODE_CLIENT = os.path.join(ROOT, "clients", "node")
SKIPPED_DIRS = {"__pycache__", "node_modules", "test", "tests"}


def _walk(top, prefix):
    found = {}
    if os.path.isfile(top):
        return {prefix.rstrip("/"): top}
    for folder, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(names):
            if not name.endswith(".pyc"):
                path = os.path.join(folder, name)
                found[prefix + os.path.relpath(path, top).replace(os.sep, "/")] = path
    return found


def layer_files():
    """{path inside the layer zip: source file} for both client packages."""
    files = _walk(PY_CLIENT, "python/sidecache/")
    node_prefix = "nodejs/node_modules/sidecache/"
    with open(os.path.join(NODE_CLIENT, "package.json")) as f:
        published = json.load(f).get("files", [])
    files[node_prefix + "package.json"] = os.path.join(NODE_CLIENT, "package.json")
    for entry in published:  # a file, a folder or a glob, relative to the package
        for source in sorted(glob.glob(os.path.join(NODE_CLIENT, entry.rstrip("/")), recursive=True)):
            inside = os.path.relpath(source, NODE_CLIENT).replace(os.sep, "/")
            if not set(inside.split("/")) & SKIPPED_DIRS:
                files.update(_walk(source, node_prefix + inside + "/"))
    return files


def main():
    if sys.argv[1:] == ["--sources"]:
        print("\n".join(sorted(set(layer_files().values()))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--stage":
        for inside, source in layer_files().items():
            target = os.path.join(sys.argv[2], inside)
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            shutil.copyfile(source, target)
            os.chmod(target, 0o644)
    else:
        sys.exit("usage: client_files.py --sources | --stage DIR")


if __name__ == "__main__":
    main()
