"""The least any proxy process can do, for ``make bench``'s download comparison.

A bare relay on 127.0.0.1: for each client connection it reads the request head, sends it to the
upstream as it is, and copies the answer back with ``recv_into`` a 1 MiB buffer and ``sendall``
(no HTTP parsing, no framework, one thread per connection). Whatever sits between a client and
the upstream costs at least these two copies through the kernel per byte; the hub's download
throughput is measured against this as well as against the upstream itself.

Run: ``python bench/relay.py --port 8082 --upstream 8081``.
"""

from __future__ import annotations

import argparse
import socket
import threading

HOST = "127.0.0.1"
BUFFER = 1024 * 1024


def relay(client: socket.socket, upstream_port: int) -> None:
    with client:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(65536)
            if not data:
                return
            head += data
        with socket.create_connection((HOST, upstream_port)) as upstream:
            upstream.sendall(head)
            view = memoryview(bytearray(BUFFER))
            while count := upstream.recv_into(view):
                client.sendall(view[:count])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    args = parser.parse_args()
    with socket.create_server((HOST, args.port)) as server:
        while True:
            client, _ = server.accept()
            threading.Thread(target=relay, args=(client, args.upstream), daemon=True).start()


if __name__ == "__main__":
    main()
