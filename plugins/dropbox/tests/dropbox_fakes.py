"""Dropbox played by requests-mock (:class:`FakeDropbox`) from the recorded answers, matching
each ``POST`` by what it carries: the JSON body of an RPC call, the ``Dropbox-API-Arg`` header
of a download. Loaded by ``conftest.py`` under the name ``dropbox_fakes``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).parent / "recorded"
API = "https://api.dropboxapi.com"
CONTENT = "https://content.dropboxapi.com"

#: The bytes of the recorded files, by id (their sizes are those the listings give).
FILES = {
    "id:a4ayc_80_OEAAAAAAAAAXw": ("Prime_Numbers.txt", b"2 3 5 7 11 13 17 19\n"),
    "id:a4ayc_80_OEAAAAAAAAAYc": ("Grüße aus Zürich.txt", b"Hallo aus Basel\n"),
    "id:a4ayc_80_OEAAAAAAAAAYd": ("q3.csv", b"quarter,total\n3,42\n"),
    "id:a4ayc_80_OEAAAAAAAAAYe": ("plan.md", b"# Plan\n"),
}
REPORTS = "id:a4ayc_80_OEAAAAAAAAAXz"
TEAM_SHARE = "id:a4ayc_80_OEAAAAAAAAAYb"
PAGE2_CURSOR = "ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu"
#: The recorded search: ``plan`` finds two pages of matches.
SEARCH_QUERY = "plan"
SEARCH_CURSOR = "SrchV2_ZtkX9EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAp2"
#: The picture found by the search, whose thumbnail is recorded.
PICTURE = "id:a4ayc_80_OEAAAAAAAAAYg"


def load(name: str) -> Any:
    """A recorded answer of Dropbox, by file name without ``.json``."""
    return json.loads((RECORDED / f"{name}.json").read_text("utf-8"))


def body_of(request: Any) -> Any:
    """The JSON body of a mocked request (``None`` when it has none)."""
    text = request.text
    if not text:
        return None
    return json.loads(text if isinstance(text, str) else text.decode())


def api_arg(request: Any) -> Any:
    """The ``Dropbox-API-Arg`` of a mocked request, decoded; ``None`` when it is not ASCII JSON
    (Dropbox answers such a header 400)."""
    raw = request.headers.get("Dropbox-API-Arg", "")
    if not raw.isascii():
        return None
    return json.loads(raw)


class FakeDropbox:
    """Dropbox's RPC and content endpoints on requests-mock, answering the recorded tree:
    the root (two pages), ``Reports`` and the mounted shared folder ``Team Share``; the search
    for ``plan`` (two pages) and the thumbnail of the picture it finds (any other item has
    none: ``409 unsupported_extension``)."""

    def __init__(self, mocker: Any, api: str = API, content: str = CONTENT) -> None:
        self.mocker = mocker
        self.api = api
        self.content = content
        self.rpc("files/list_folder", {"path": ""}, load("root_page1"))
        self.rpc("files/list_folder/continue", {"cursor": PAGE2_CURSOR}, load("root_page2"))
        self.rpc("files/list_folder", {"path": REPORTS}, load("reports"))
        self.rpc("files/get_metadata", {"path": REPORTS}, load("reports_metadata"))
        self.rpc("files/list_folder", {"path": TEAM_SHARE}, load("team_share"))
        self.rpc("files/get_metadata", {"path": TEAM_SHARE}, load("team_share_metadata"))
        for file_id in FILES:
            self.file(file_id)
        self.rpc("files/search_v2", {"query": SEARCH_QUERY}, load("search_page1"))
        self.rpc("files/search/continue_v2", {"cursor": SEARCH_CURSOR}, load("search_page2"))
        self.mocker.post(
            f"{self.content}/2/files/get_thumbnail_v2",
            status_code=409,
            json=load("error_unsupported_extension"),
        )
        self.thumbnail(PICTURE)

    def rpc(self, route: str, wanted: dict[str, Any], answer: Any, status: int = 200) -> Any:
        """Answer ``POST /2/{route}`` whose JSON body holds every key of ``wanted``."""

        def matches(request: Any) -> bool:
            body = body_of(request)
            return isinstance(body, dict) and all(body.get(k) == v for k, v in wanted.items())

        return self.mocker.post(
            f"{self.api}/2/{route}", json=answer, status_code=status, additional_matcher=matches
        )

    def file(self, file_id: str) -> Any:
        """``POST /2/files/download`` of one recorded file, honouring ``Range: bytes=0-0``."""
        name, data = FILES[file_id]

        def answer(request: Any, context: Any) -> bytes:
            chunk = data
            if request.headers.get("Range") == "bytes=0-0":
                context.status_code = 206
                context.headers["Content-Range"] = f"bytes 0-0/{len(data)}"
                chunk = data[:1]
            meta = {".tag": "file", "id": file_id, "name": name, "size": len(data)}
            context.headers["Dropbox-API-Result"] = json.dumps(meta)  # ASCII, as Dropbox's
            context.headers["Content-Type"] = "application/octet-stream"
            context.headers["Content-Length"] = str(len(chunk))
            return chunk

        return self.mocker.post(
            f"{self.content}/2/files/download",
            content=answer,
            additional_matcher=lambda r: (api_arg(r) or {}).get("path") == file_id,
        )

    def thumbnail(self, item: str) -> Any:
        """``POST /2/files/get_thumbnail_v2`` of ``item`` (its path in ``resource``): the recorded
        JPEG, the ``PreviewResult`` in ``Dropbox-API-Result``."""
        data = (RECORDED / "thumbnail.jpg").read_bytes()

        def matches(request: Any) -> bool:
            resource = (api_arg(request) or {}).get("resource") or {}
            return resource == {".tag": "path", "path": item}

        return self.mocker.post(
            f"{self.content}/2/files/get_thumbnail_v2",
            content=data,
            headers={
                "Dropbox-API-Result": json.dumps(load("thumbnail_result")),
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(data)),
            },
            additional_matcher=matches,
        )
