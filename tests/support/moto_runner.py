"""Run one moto server for the lifetime of the test process.

Picks a free loopback port, starts moto's threaded server on it, prints `READY <port>` on stdout
and then blocks on stdin: the Rust side keeps the pipe open, so when the test process exits
(even by a panic or a signal) stdin reaches EOF and moto goes with it. No orphaned servers.
"""

import socket
import sys

from moto.server import ThreadedMotoServer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"READY {port}", flush=True)
    try:
        # Blocks until the parent closes our stdin (or dies).
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
