"""Uploaded icons: accepted by content only, size-limited, SVG refused, served sandboxed
(SECURITY 22)."""

from __future__ import annotations

import inspect
import struct
import zlib

import pytest

from hub.errors import HubError, ValidationError
from hub.icons import (
    ICON_TYPES,
    MAX_ICON_BYTES,
    IconTooLarge,
    icon_response,
    sniff_icon,
)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int = 1, height: int = 1, *, depth: int = 8, colour: int = 2) -> bytes:
    """A real PNG: RGB pixels, one filter byte per row, zlib-compressed."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


# SOI, then an APP0/JFIF segment: the start of every baseline JPEG a camera or editor writes.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\xff\xd9"


def webp(kind: bytes = b"VP8L") -> bytes:
    """A RIFF/WEBP container with one chunk; its size field counts everything after it."""
    payload = b"\x2f\x00\x00\x00\x00"  # VP8L signature byte and a 1x1 header
    chunk = kind + struct.pack("<I", len(payload)) + payload + b"\x00"  # padded to even
    body = b"WEBP" + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def refused(data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        sniff_icon(data)
    assert set(caught.value.fields) == {"icon"}
    return caught.value


# -- accepted ---------------------------------------------------------------------------------


def test_the_accepted_types_are_png_jpeg_and_webp():
    assert set(ICON_TYPES) == {"image/png", "image/jpeg", "image/webp"}


def test_a_png_is_image_png():
    assert sniff_icon(png()) == "image/png"


def test_a_jpeg_is_image_jpeg():
    assert sniff_icon(JPEG) == "image/jpeg"


def test_a_jpeg_starting_with_an_exif_segment_is_image_jpeg():
    assert sniff_icon(b"\xff\xd8\xff\xe1\x00\x08Exif\x00\x00") == "image/jpeg"


@pytest.mark.parametrize("kind", [b"VP8 ", b"VP8L", b"VP8X"])
def test_a_webp_is_image_webp(kind):
    assert sniff_icon(webp(kind)) == "image/webp"


def test_a_png_of_4096_by_4096_is_accepted():
    ihdr = struct.pack(">IIBBBBB", 4096, 4096, 8, 6, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    assert sniff_icon(data) == "image/png"


def test_an_icon_of_exactly_the_limit_is_accepted():
    data = png()
    data += b"\x00" * (MAX_ICON_BYTES - len(data))
    assert sniff_icon(data) == "image/png"


def test_the_type_is_decided_without_a_filename_or_claimed_type():
    # A PNG uploaded as "logo.jpg" with Content-Type image/gif: the API cannot even be told so.
    assert list(inspect.signature(sniff_icon).parameters) == ["data"]
    assert sniff_icon(png()) == "image/png"


# -- refused ----------------------------------------------------------------------------------


def test_an_empty_icon_is_refused():
    error = refused(b"")
    assert error.code == "invalid"


def test_an_icon_over_the_limit_is_refused_with_413():
    data = png()
    data += b"\x00" * (MAX_ICON_BYTES + 1 - len(data))
    with pytest.raises(IconTooLarge) as caught:
        sniff_icon(data)
    assert caught.value.status == 413
    assert caught.value.code == "too_large"
    assert "256 KiB" in caught.value.message
    assert issubclass(IconTooLarge, HubError)


def test_an_svg_with_a_script_is_refused_as_svg():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    error = refused(svg)
    assert error.code == "unsupported_icon"
    assert "SVG" in error.message
    assert "scripts" in error.message


@pytest.mark.parametrize(
    "svg",
    [
        b'\xef\xbb\xbf<svg xmlns="http://www.w3.org/2000/svg"/>',
        b'  \r\n\t<svg xmlns="http://www.w3.org/2000/svg"/>',
        b'\xef\xbb\xbf \n<?xml version="1.0"?><svg/>',
        b"\xff\xfe" + "<svg/>".encode("utf-16-le"),
        b"\xfe\xff" + "  <svg/>".encode("utf-16-be"),
    ],
)
def test_an_svg_behind_a_byte_order_mark_or_white_space_is_refused(svg):
    error = refused(svg)
    assert error.code == "unsupported_icon"
    assert "SVG" in error.message


def test_html_is_refused():
    error = refused(b"<!DOCTYPE html><html><script>alert(1)</script></html>")
    assert error.code == "unsupported_icon"
    assert "PNG, JPEG or WebP" in error.message


def test_a_gif_is_refused_naming_the_accepted_types():
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    error = refused(gif)
    assert error.code == "unsupported_icon"
    assert "PNG, JPEG or WebP" in error.message


def test_plain_text_is_refused():
    assert refused(b"just some text").code == "unsupported_icon"


def test_a_png_signature_followed_by_garbage_is_refused():
    error = refused(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    assert error.code == "unsupported_icon"
    assert "not a valid PNG" in error.message


def test_a_truncated_png_is_refused():
    assert "truncated" in refused(png()[:20]).message


def test_a_png_with_a_bad_ihdr_checksum_is_refused():
    data = bytearray(png())
    data[30] ^= 0xFF  # inside the IHDR CRC
    assert "checksum" in refused(bytes(data)).message


@pytest.mark.parametrize(("width", "height"), [(0, 1), (1, 0), (4097, 1), (1, 4097)])
def test_a_png_with_a_bad_size_is_refused(width, height):
    assert "4096" in refused(png(width, height)).message


def test_a_png_with_an_impossible_bit_depth_is_refused():
    ihdr = struct.pack(">IIBBBBB", 1, 1, 3, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    assert "bit depth" in refused(data).message


def test_a_bare_jpeg_start_of_image_is_refused():
    assert refused(b"\xff\xd8\xff").code == "unsupported_icon"


def test_a_riff_that_is_not_webp_is_refused():
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 28
    assert refused(wav).code == "unsupported_icon"


def test_a_webp_whose_size_claims_more_than_was_sent_is_refused():
    assert "truncated" in refused(webp()[:-4]).message


def test_a_webp_without_an_image_chunk_is_refused():
    assert "VP8" in refused(webp(b"ICCP")).message


# -- served -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media_type", "extension"),
    [("image/png", "png"), ("image/jpeg", "jpg"), ("image/webp", "webp")],
)
def test_an_icon_is_served_with_the_server_chosen_type_and_extension(media_type, extension):
    response = icon_response(b"bytes", media_type)
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Content-Disposition"] == f'inline; filename="icon.{extension}"'


def test_an_icon_is_served_with_its_bytes_unchanged():
    data = png()
    response = icon_response(data, "image/png")
    assert response.status_code == 200
    assert response.get_data() == data


def test_an_icon_is_served_with_nosniff():
    assert icon_response(png(), "image/png").headers["X-Content-Type-Options"] == "nosniff"


def test_an_icon_is_served_with_a_sandboxing_policy():
    response = icon_response(png(), "image/png")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_an_icon_is_cached_privately_for_five_minutes():
    response = icon_response(png(), "image/png")
    assert response.headers["Cache-Control"] == "private, max-age=300"


def test_a_bundled_svg_provider_icon_is_served_sandboxed():
    response = icon_response(b"<svg/>", "image/svg+xml")
    assert response.headers["Content-Type"] == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Content-Disposition"] == 'inline; filename="icon.svg"'


@pytest.mark.parametrize("media_type", ["text/html", "image/gif", "application/octet-stream"])
def test_an_icon_is_never_served_as_another_type(media_type):
    with pytest.raises(ValueError, match="not an icon media type"):
        icon_response(b"data", media_type)
