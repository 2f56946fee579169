"""The least a Flask proxy can do, for ``make bench`` to compare the hub's proxy with: forward
``GET /<path>`` to ``UPSTREAM`` with a per-thread ``requests`` session — no authentication, no
database, no decryption, no header templates. Served by gunicorn with the hub's worker settings
(bench/passthrough.py starts it)."""

from __future__ import annotations

import os
import threading

import requests
from flask import Flask, Response

UPSTREAM = os.environ["UPSTREAM"].rstrip("/")
app = Flask(__name__)
_local = threading.local()


@app.get("/<path:path>")
def forward(path: str) -> Response:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    answer = session.get(f"{UPSTREAM}/{path}", timeout=30)
    return Response(
        answer.content, status=answer.status_code, content_type=answer.headers.get("Content-Type")
    )
