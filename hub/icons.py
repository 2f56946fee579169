"""Integration icons: what an upload may be, and how any icon is served (SECURITY 22).

An uploaded icon is accepted as PNG, JPEG or WebP, decided from its bytes alone: a filename or a
claimed ``Content-Type`` is the uploader's word, so no function here takes one. SVG is refused
because it is a document that can carry scripts, not just a picture.

How deep the check goes: the hub never decodes an image, so it checks the container header only —
enough to be sure the bytes are the type they will be served as:

- PNG: the 8-byte signature, then an ``IHDR`` chunk of length 13 with a correct CRC, a width and
  height of 1 to 4096, a valid bit depth for its colour type, and compression, filter and
  interlace methods the format defines.
- JPEG: the SOI marker ``FF D8`` followed by another marker.
- WebP: ``RIFF`` <size> ``WEBP`` then a ``VP8 ``, ``VP8L`` or ``VP8X`` chunk, the RIFF size
  not claiming more bytes than were sent.

A file with a good header and a corrupt body passes; the browser shows a broken image. It is served
with a server-chosen type, ``nosniff`` and a sandboxing CSP, so it cannot become anything else.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from types import MappingProxyType

from flask import Response

from hub.errors import HubError, ValidationError

MAX_ICON_BYTES = 256 * 1024
MAX_ICON_DIMENSION = 4096

#: The media types an uploaded icon may have, each with the file extension it is served under.
ICON_TYPES: Mapping[str, str] = MappingProxyType(
    {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
)

# Providers' bundled icons are files of the plugin itself, so SVG is served for them (under the
# same sandbox); it is never accepted as an upload.
_SERVED_TYPES: Mapping[str, str] = MappingProxyType({**ICON_TYPES, "image/svg+xml": "svg"})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Allowed bit depths per PNG colour type (PNG spec §11.2.2).
_PNG_BIT_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_ACCEPTED = "PNG, JPEG or WebP"


class IconTooLarge(HubError):
    """An uploaded icon is over :data:`MAX_ICON_BYTES`."""

    status = 413
    code = "too_large"


def _unsupported(reason: str) -> ValidationError:
    return ValidationError(reason, fields={"icon": reason}, code="unsupported_icon")


def sniff_icon(data: bytes) -> str:
    """The media type of an uploaded icon, decided from its content only.

    :return: one of :data:`ICON_TYPES`.
    :raises ValidationError: empty (code ``invalid``), or not a PNG, JPEG or WebP, including any
        SVG, XML or HTML (code ``unsupported_icon``).
    :raises IconTooLarge: more than :data:`MAX_ICON_BYTES`.
    """
    if not data:
        raise ValidationError("the icon is empty", fields={"icon": "empty"})
    if len(data) > MAX_ICON_BYTES:
        reason = f"at most {MAX_ICON_BYTES // 1024} KiB ({MAX_ICON_BYTES} bytes)"
        raise IconTooLarge(f"the icon is too large: {reason}", fields={"icon": reason})
    if data.startswith(_PNG_SIGNATURE):
        problem = _png_problem(data)
        if problem is not None:
            raise _unsupported(f"not a valid PNG ({problem}); upload {_ACCEPTED}")
        return "image/png"
    if _is_jpeg(data):
        return "image/jpeg"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        problem = _webp_problem(data)
        if problem is not None:
            raise _unsupported(f"not a valid WebP ({problem}); upload {_ACCEPTED}")
        return "image/webp"
    if _looks_like_markup(data):
        raise _unsupported(
            f"SVG, XML and HTML are not accepted: they can carry scripts; upload {_ACCEPTED}"
        )
    raise _unsupported(f"unsupported icon type: upload {_ACCEPTED}")


def image_type(data: bytes) -> str | None:
    """The media type of a PNG, JPEG or WebP image, decided from its content; None for anything
    else (SVG, HTML, a truncated or malformed header)."""
    if data.startswith(_PNG_SIGNATURE):
        return "image/png" if _png_problem(data) is None else None
    if _is_jpeg(data):
        return "image/jpeg"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp" if _webp_problem(data) is None else None
    return None


def _png_problem(data: bytes) -> str | None:
    header = data[8:33]  # length, "IHDR", 13 bytes of data, CRC
    if len(header) < 25:
        return "truncated"
    length, chunk_type = struct.unpack(">I4s", header[:8])
    if length != 13 or chunk_type != b"IHDR":
        return "the first chunk is not IHDR"
    body, (crc,) = header[8:21], struct.unpack(">I", header[21:25])
    if zlib.crc32(chunk_type + body) != crc:
        return "bad IHDR checksum"
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", body
    )
    if not (1 <= width <= MAX_ICON_DIMENSION and 1 <= height <= MAX_ICON_DIMENSION):
        return f"width and height must be 1 to {MAX_ICON_DIMENSION} pixels"
    if depth not in _PNG_BIT_DEPTHS.get(colour, set()):
        return "bad bit depth or colour type"
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        return "unknown compression, filter or interlace method"
    return None


def _is_jpeg(data: bytes) -> bool:
    # SOI, then the next marker: FF and a marker code (C0-FE; FF is fill, 00 is not a marker).
    return len(data) >= 4 and data[:3] == b"\xff\xd8\xff" and 0xC0 <= data[3] <= 0xFE


def _webp_problem(data: bytes) -> str | None:
    if len(data) < 16:
        return "truncated"
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size < 8 or riff_size + 8 > len(data):
        return "truncated"
    if data[12:16] not in (b"VP8 ", b"VP8L", b"VP8X"):
        return "no VP8, VP8L or VP8X chunk"
    return None


def _looks_like_markup(data: bytes) -> bool:
    """Whether the bytes start, after a byte-order mark and white space, with ``<``."""
    head = data[:1024]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore")
    return text.lstrip("\ufeff \t\r\n\f\v").startswith("<")


def icon_response(data: bytes, media_type: str) -> Response:
    """Serve an icon under a type the server chose, so a browser never runs it as a document.

    :param media_type: what :func:`sniff_icon` decided at upload, or a provider's bundled icon
        type (which may be ``image/svg+xml``).
    :raises ValueError: a media type the hub never serves icons as.
    """
    extension = _SERVED_TYPES.get(media_type)
    if extension is None:
        raise ValueError(f"not an icon media type: {media_type!r}")
    response = Response(data, status=200)
    response.headers["Content-Type"] = media_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="icon.{extension}"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
