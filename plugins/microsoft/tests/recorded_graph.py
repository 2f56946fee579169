"""The recorded Graph answers (``recorded/``) installed on ``requests-mock``: a small OneDrive
(two root pages, a folder, files), "Shared with me" (a folder and a file in another user's
drive) and one SharePoint site with one library. Downloads answer ``302`` to a pre-authenticated
URL on a Microsoft download host, which serves the bytes and honours ``Range: bytes=0-0``.
A search for "report" answers two pages, "Recent" one, and the picture ``PHOTO`` has a
thumbnail: ``302`` to Graph's thumbnail service, which serves a PNG."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

RECORDED = Path(__file__).parent / "recorded"
GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
DRIVE = "b!-RIj2DuyvEyV1T4NlOaMHk8XkS_I8MdFlUCq1BlcjgmhRfAj3-Z8RY2VpuvV_tpd"
REMOTE = "b!t18F8ybsHUq1z3LTz8xvZqP8zaSWjkFNhsME-Fepo75dTf9vQKfeRblBZjoSQrd7"
LIBRARY = "b!BBJxLHATkESh9UJlc_2oCsNEIi0aJepJk6g54cOgYP6yOGqwrcX_Q4e4-QLqBQnh"
SITE = (
    "contoso.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,"
    "2D2244C3-251A-49EA-93A8-39E1C3A060FE"
)
TEAM_PLANS = "01DJMOPNDQNKN6BRCA4JHKIOT7JZ2XAS3J"
SKIPTOKEN = "UGFnZWQ9VFJVRSZwX0lEPTI"
SEARCH_SKIPTOKEN = "U2VhcmNoUmVzdWx0czI"
PHOTO = "01BYE5RZPHOTOJPGTHUMBNAILXXXXXXXXX"
THUMBNAIL_URL = (
    "https://westus1-mediap.svc.ms/transform/thumbnail?provider=spo&inputFormat=jpg"
    "&cs=fFNQTw&docid=https%3A%2F%2Fcontoso-my.sharepoint.com&w=176&tempauth=v1.eyJ"
)
# A real 1x1 PNG (grey), as the thumbnail service serves one.
THUMBNAIL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63680000008200815cd0a1e60000000049454e44ae426082"
)
# The bytes of each file, by (drive, item id); lengths match the recorded sizes.
FILES = {
    (DRIVE, "01BYE5RZ2JDIXXVHMHRFBKQVIQF6KMUDZS"): b"Meeting notes\n",
    (DRIVE, "01BYE5RZ7GTRXK2ENTBFDIEDHB2SCZC6XC"): b"quarter,total\n3,42\n",
    (DRIVE, "01BYE5RZ3XQJ5JQ6XGSVBZMBDTBRDT4VXA"): b"all good.\n\n",
    (REMOTE, "01DJMOPNB2WXC5JY5QXFGKT5VIPMXM3XFX"): b"plan: go\n",
    (REMOTE, "01DJMOPNHMXDCMHQ2KDNFL4AIZNKMBWW5Y"): b"item,amount\n",
    (LIBRARY, "01QLHYYHBKTZ3IW7TWFRBJSYFDOIO4CHDU"): b"brief\n",
}


def recorded(name: str) -> Any:
    """A recorded answer by file name without ``.json``."""
    return json.loads((RECORDED / f"{name}.json").read_text())


def q(value: str) -> str:
    """A path segment as the plugin encodes it."""
    return quote(value, safe="")


def at(path: str, query: str = "") -> re.Pattern[str]:
    """``GRAPH + path`` exactly (its query anything, or containing ``query``)."""
    tail = r"(\?(?!.*skiptoken).*)?$" if not query else r"\?.*" + re.escape(query)
    return re.compile("^" + re.escape(GRAPH + path) + tail)


def install(requests_mock: Any, download_host: str = "https://m365x214355.sharepoint.com") -> None:
    """Answer the plugin's Graph calls with the recorded tree."""
    get = requests_mock.get
    get(at("/me/drive/root/children"), json=recorded("root_page1"))
    get(at("/me/drive/root/children", f"skiptoken={SKIPTOKEN}"), json=recorded("root_page2"))
    get(at(f"/drives/{q(DRIVE)}/items/root:/Reports:/children"), json=recorded("reports"))
    get(at("/me/drive/sharedWithMe"), json=recorded("shared_with_me"))
    get(at(f"/drives/{q(REMOTE)}/items/{TEAM_PLANS}"), json=recorded("team_plans"))
    get(
        at(f"/drives/{q(REMOTE)}/items/{TEAM_PLANS}/children"),
        json=recorded("team_plans_children"),
    )
    get(at("/sites"), json=recorded("sites"))
    get(at(f"/sites/{q(SITE)}"), json=recorded("site"))
    get(at(f"/sites/{q(SITE)}/drives"), json=recorded("site_drives"))
    get(at(f"/drives/{q(LIBRARY)}/items/root/children"), json=recorded("library_root"))
    get(at("/me", ""), json=recorded("me"))
    search = "/me/drive/root/search(q='report')"
    get(at(search), json=recorded("search_page1"))
    get(at(search, f"skiptoken={SEARCH_SKIPTOKEN}"), json=recorded("search_page2"))
    get(at("/me/drive/recent"), json=recorded("recent"))
    thumbnails = re.escape(f"{GRAPH}/drives/{q(DRIVE)}/items/{PHOTO}/thumbnails/0/")
    get(
        re.compile(f"^{thumbnails}(small|medium|large)/content$"),
        status_code=302,
        headers={"Location": THUMBNAIL_URL},
    )
    get(THUMBNAIL_URL, content=THUMBNAIL_PNG, headers={"Content-Type": "image/png"})
    pages = ("root_page1", "root_page2", "reports", "shared_with_me", "team_plans_children")
    listed = {
        entry.get("id"): entry.get("remoteItem") or entry
        for name in (*pages, "library_root")
        for entry in recorded(name)["value"]
    }
    for (drive, item), body in FILES.items():
        item_path = f"/drives/{q(drive)}/items/{item}"
        get(at(item_path), json=listed[item])
        location = f"{download_host}/_layouts/15/download.aspx?UniqueId={item}&tempauth=v1.eyJ"
        get(at(item_path + "/content"), status_code=302, headers={"Location": location})
        get(location, content=ranged(body))


def ranged(body: bytes) -> Callable[[Any, Any], bytes]:
    """An answer that honours ``Range: bytes=0-0`` as the download hosts do."""

    def answer(request: Any, context: Any) -> bytes:
        chunk = body
        if request.headers.get("Range") == "bytes=0-0":
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes 0-0/{len(body)}"
            chunk = body[:1]
        context.headers["Content-Length"] = str(len(chunk))
        return chunk

    return answer
