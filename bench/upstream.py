"""A fast upstream for ``make bench``: a bare WSGI app under gunicorn (gthread) on 127.0.0.1.

Routes (every one needs ``Authorization: Bearer <--token>``, so the bench can see that the hub
added the integration's credentials; the direct runs send the same header):

- ``GET /v1/ping``: a small JSON answer.
- ``GET /v1/file?size=N``: N bytes (default 1 GiB) made on the fly in 1 MiB chunks, with
  ``Content-Length``; a single ``Range: bytes=a-b`` / ``a-`` / ``-n`` is honoured (206). Byte
  ``i`` of the file is ``i % 256``, so any slice can be checked.
- ``GET /list?limit=&cursor=``: a folder of 10,000 files, ``{"entries": [...], "next": cursor}``
  (the shape bench/plugin/hub_benchfiles expects); ``cursor`` is the offset of the next page.
- ``GET /stats``: how many requests, and distinct client TCP connections, all workers have seen
  (counters in shared memory, made before the workers fork).

Run: ``python bench/upstream.py --port 8081 --token SECRET [--workers 2 --threads 4]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import weakref
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

from gunicorn.app.base import BaseApplication

MIB = 1024 * 1024
DEFAULT_SIZE = 1024 * MIB
FOLDER_SIZE = 10_000
MAX_LIMIT = 1000
MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z

# 1 MiB whose byte i is i % 256 (a multiple of 256 long, so chunks line up with the pattern).
BLOCK = bytes(range(256)) * (MIB // 256)
# Every entry of the folder, encoded once: a page is a join, so the upstream costs little.
ENTRIES = [
    json.dumps(
        {
            "id": f"{MIB + index}",
            "name": f"file-{index:05d}.bin",
            "dir": False,
            "size": MIB + index,
            "type": "application/octet-stream",
            "mtime": MTIME + index,
        },
        separators=(",", ":"),
    )
    for index in range(FOLDER_SIZE)
]
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

StartResponse = Callable[..., Any]
# [requests, connections] across workers; each worker remembers the connections (socket
# objects, weakly: a closed connection's socket goes away, a new one is new) it has seen.
_counts = multiprocessing.Array("q", 2)
_seen: weakref.WeakSet[Any] = weakref.WeakSet()


def _json(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _pattern(start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of the file, at most 1 MiB at a time."""
    position = start
    while position < end:
        offset = position % 256
        count = min(MIB - offset, end - position)
        yield BLOCK if offset == 0 and count == MIB else BLOCK[offset : offset + count]
        position += count


def _file(environ: dict[str, Any], start_response: StartResponse, query: dict) -> Any:
    size = int(query.get("size", [DEFAULT_SIZE])[0])
    start, end, status = 0, size, "200 OK"
    headers = [("Content-Type", "application/octet-stream"), ("Accept-Ranges", "bytes")]
    match = RANGE.match(environ.get("HTTP_RANGE", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) + 1 if last else size, size)
        else:
            start, end = max(size - int(last), 0), size
        if start >= end:
            start_response("416 Range Not Satisfiable", [("Content-Range", f"bytes */{size}")])
            return [b""]
        status = "206 Partial Content"
        headers.append(("Content-Range", f"bytes {start}-{end - 1}/{size}"))
    headers.append(("Content-Length", str(end - start)))
    start_response(status, headers)
    return _pattern(start, end)


def _list(start_response: StartResponse, query: dict) -> list[bytes]:
    limit = max(1, min(int(query.get("limit", ["100"])[0]), MAX_LIMIT))
    offset = int(query.get("cursor", ["0"])[0] or 0)
    end = min(offset + limit, FOLDER_SIZE)
    following = json.dumps(str(end)) if end < FOLDER_SIZE else "null"
    body = '{"entries":[' + ",".join(ENTRIES[offset:end]) + '],"next":' + following + "}"
    return _json(start_response, "200 OK", body.encode())


def make_app(token: str) -> Callable[..., Any]:
    expected = f"Bearer {token}"

    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        sock = environ.get("gunicorn.socket")
        new = sock is not None and sock not in _seen
        if new:
            _seen.add(sock)
        with _counts.get_lock():
            _counts[0] += 1
            _counts[1] += new
        path = environ.get("PATH_INFO", "")
        if path == "/stats":
            stats = {"requests": _counts[0], "connections": _counts[1]}
            return _json(start_response, "200 OK", json.dumps(stats).encode())
        if environ.get("HTTP_AUTHORIZATION") != expected:
            return _json(start_response, "401 Unauthorized", b'{"error":"unauthorized"}')
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path == "/v1/ping":
            return _json(start_response, "200 OK", b'{"ok":true,"service":"bench-upstream"}')
        if path == "/v1/file":
            return _file(environ, start_response, query)
        if path == "/list":
            return _list(start_response, query)
        return _json(start_response, "404 Not Found", b'{"error":"not found"}')

    return app


class Upstream(BaseApplication):
    def __init__(self, options: dict[str, Any], app: Callable[..., Any]) -> None:
        self.options = options
        self.application = app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        return self.application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    options = {
        "bind": f"127.0.0.1:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "keepalive": 5,
        "timeout": 120,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "hub-bench-upstream",
        "control_socket_disable": True,
    }
    Upstream(options, make_app(args.token)).run()


if __name__ == "__main__":
    main()
