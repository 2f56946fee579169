"""Thumbnails as a hostile provider would serve them: the hub serves only real PNG, JPEG or
WebP bytes of at most 1 MiB, whatever type the provider claims, never in a way that could run
in the hub's origin."""

from __future__ import annotations

import struct
import zlib

import pytest

THUMB = "https://files.example.org/thumb/photo.png"


def png(width: int = 4, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress((b"\x00" + b"\x10\x20\x30" * width) * height)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def thumbnail(client, ref, size=128):
    return client.get(
        f"/api/integrations/{ref}/services/files/items/photo.png/thumbnail?size={size}"
    )


def test_a_real_image_is_served_with_the_icon_headers(
    files_client, files_integration, requests_mock
):
    requests_mock.get(THUMB, content=png(), headers={"Content-Type": "image/png"})
    response = thumbnail(files_client, files_integration)
    assert response.status_code == 200
    assert response.data == png()
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert requests_mock.last_request.qs == {"size": ["128"]}
    assert requests_mock.last_request.headers["Authorization"] == "Bearer tok-123"


@pytest.mark.parametrize(
    "body, claimed",
    [
        (b"<html><script>alert(document.cookie)</script></html>", "image/png"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        (b"GIF89a" + b"\x00" * 20, "image/gif"),
        (png()[:20], "image/png"),
        (b"", "image/jpeg"),
    ],
)
def test_bytes_that_are_not_a_png_jpeg_or_webp_are_refused(
    files_client, files_integration, requests_mock, body, claimed
):
    requests_mock.get(THUMB, content=body, headers={"Content-Type": claimed})
    response = thumbnail(files_client, files_integration)
    assert response.status_code == 502
    assert response.json["error"]["code"] == "not_an_image"
    assert b"script" not in response.data


def test_a_thumbnail_over_one_mebibyte_is_refused(files_client, files_integration, requests_mock):
    requests_mock.get(
        THUMB, content=png() + b"\x00" * (1024 * 1024), headers={"Content-Type": "image/png"}
    )
    response = thumbnail(files_client, files_integration)
    assert response.status_code == 502
    assert response.json["error"]["code"] == "thumbnail_too_large"


def test_a_service_without_thumbnails_says_so(files_client, files_integration):
    response = files_client.get(
        f"/api/integrations/{files_integration}/services/archive/items/x/thumbnail"
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "not_supported"


def test_the_services_list_says_what_each_service_offers(files_client, files_integration):
    services = files_client.get(f"/api/integrations/{files_integration}/services").json["items"]
    files = next(s for s in services if s["name"] == "files")
    assert (files["thumbnails"], files["searchable"], files["views"]) == (True, False, [])
