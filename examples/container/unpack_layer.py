"""Unpacks a sidecache layer zip into a directory as Lambda unpacks a layer under /opt.

Used by the Dockerfile beside it (container images cannot attach layers: the layer's files are
copied into the image instead) and by layer/check.sh, which tests that what the Dockerfile copies
is there. Python's zipfile drops the Unix mode bits on extraction, so they are applied here from
each entry's external attributes: extensions/sidecache must keep its run bit, or Lambda does not
start it. Standard library only; runs on any Python 3.8+.

    python3 unpack_layer.py sidecache-layer-x86_64.zip /layer
"""
import os
import stat
import sys
import zipfile


def unpack(zip_path, destination):
    with zipfile.ZipFile(zip_path) as layer:
        for entry in layer.infolist():
            # A layer zip holds relative paths only; refuse anything that would land outside.
            target = os.path.realpath(os.path.join(destination, entry.filename))
            if not target.startswith(os.path.realpath(destination) + os.sep):
                raise SystemExit(f"unpack_layer: refusing entry outside the tree: {entry.filename}")
            layer.extract(entry, destination)
            mode = stat.S_IMODE(entry.external_attr >> 16)
            if mode and not entry.is_dir():
                os.chmod(target, mode)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: unpack_layer.py LAYER_ZIP DESTINATION")
    unpack(sys.argv[1], sys.argv[2])
