"""`make bench`, arm64 part: the Graviton layer binary's size, and its start-up under qemu.

Called at the end of scripts/bench.sh. The size is real; the start-up time is NOT: this x86_64
machine runs the aarch64 binary through qemu-user's instruction translation, many times slower
than a Graviton core, so the figure only shows that the binary starts and answers. Skipped with a
note when there is no arm64 binary (`make layer` builds it) or no qemu-aarch64-static.

    python3 scripts/bench/arm64.py [BIN]    (default: target/aarch64-unknown-linux-gnu/release/sidecache)
"""

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

DEFAULT_BIN = "target/aarch64-unknown-linux-gnu/release/sidecache"
ZIP = "dist/sidecache-layer-arm64.zip"
X86_BIN = "target/x86_64-unknown-linux-gnu/release/sidecache"
RUNNER = "qemu-aarch64-static"
RUNS = 5
MIB = 1024 * 1024


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def startup_ms(binary, home):
    """exec -> first 200 on /ping, in ms; then SIGTERM, which must give exit status 0."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "SIDECACHE_TOKEN": "bench",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
        "SIDECACHE_S3_DIR": os.path.join(home, "s3"),
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    start = time.monotonic()
    proc = subprocess.Popen([RUNNER, binary], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"exited with {proc.returncode} before answering /ping")
            if time.monotonic() - start > 30:
                raise RuntimeError("no /ping within 30 s")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as resp:
                    if resp.status == 200:
                        elapsed = (time.monotonic() - start) * 1000
                        break
            except OSError:
                time.sleep(0.002)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        if code != 0:
            raise RuntimeError(f"exit status {code} on SIGTERM")
        return elapsed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_BIN
    print()
    print("arm64 (Graviton) layer binary")
    if not os.path.isfile(binary):
        print(f"  skipped: no {binary} (make layer builds it; LAYER_ARCHS=x86_64 skips it)")
        return
    size = os.path.getsize(binary)
    line = f"  binary size, stripped: {size / MIB:.2f} MB ({size:,} bytes)"
    if os.path.isfile(X86_BIN):
        line += f"; the x86_64 layer binary: {os.path.getsize(X86_BIN) / MIB:.2f} MB"
    print(line)
    if os.path.isfile(ZIP):
        print(f"  layer zip: {os.path.getsize(ZIP) / MIB:.2f} MB ({os.path.getsize(ZIP):,} bytes)")
    if shutil.which(RUNNER) is None:
        print(f"  start-up: skipped, no {RUNNER} (Debian package qemu-user-static; make layer installs it)")
        return
    home = tempfile.mkdtemp(prefix="sidecache-bench-arm64-")
    try:
        times = [startup_ms(binary, home) for _ in range(RUNS)]
    except RuntimeError as error:
        print(f"  start-up under {RUNNER}: FAILED: {error}")
        sys.exit(1)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"  start-up under {RUNNER}, exec to first 200 on /ping: median {statistics.median(times):.0f} ms "
          f"of {RUNS} ({', '.join(f'{t:.0f}' for t in times)} ms), exit 0 on SIGTERM each time")
    print("  (information only: emulated by qemu-user on x86_64, not a Graviton figure; "
          "measure start-up on a real arm64 function)")


if __name__ == "__main__":
    main()
