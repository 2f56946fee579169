"""Downloading from Drive through the hub: bytes with alt=media and Range (native files: see
test_exports.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

REPORT = "1RePoRtPdF9a8b7c6d"
PDF_BYTES = b"%PDF-1.7\n\x00\x01\x02\xff binary \r\n body\n%%EOF\n"


def sent(matcher):
    return {k: v[0] for k, v in parse_qs(urlsplit(matcher.last_request.url).query).items()}


def media_answer(content, **headers):
    return [{"content": content, "headers": {"Content-Length": str(len(content)), **headers}}]


# -- files with bytes -----------------------------------------------------------------------------


def test_a_file_downloads_byte_identical(drive, google):
    google.file(REPORT, "meta_report")
    google.media(REPORT, media_answer(PDF_BYTES, **{"Content-Type": "application/pdf"}))

    response = drive.download(REPORT)

    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Length"] == str(len(PDF_BYTES))


def test_a_download_is_saved_under_the_files_name(drive, google):
    google.file(REPORT, "meta_report")
    google.media(REPORT, media_answer(PDF_BYTES))

    response = drive.download(REPORT)

    assert "filename*=UTF-8''report.pdf" in response.headers["Content-Disposition"]


def test_bytes_are_asked_with_alt_media_across_all_drives(drive, google):
    google.file(REPORT, "meta_report")
    media = google.media(REPORT, media_answer(PDF_BYTES))

    drive.download(REPORT)

    assert sent(media) == {"alt": "media", "supportsAllDrives": "true"}


def test_bytes_are_asked_uncompressed_so_lengths_and_ranges_hold(drive, google):
    google.file(REPORT, "meta_report")
    media = google.media(REPORT, media_answer(PDF_BYTES))

    drive.download(REPORT)

    assert media.last_request.headers["Accept-Encoding"] == "identity"


def test_a_range_is_passed_to_google_and_the_part_comes_back(drive, google):
    google.file(REPORT, "meta_report")
    media = google.media(
        REPORT,
        [
            {
                "status_code": 206,
                "content": PDF_BYTES[2:6],
                "headers": {"Content-Range": f"bytes 2-5/{len(PDF_BYTES)}", "Content-Length": "4"},
            }
        ],
    )

    response = drive.download(REPORT, headers={"Range": "bytes=2-5"})

    assert media.last_request.headers["Range"] == "bytes=2-5"
    assert (response.status_code, response.data) == (206, PDF_BYTES[2:6])
    assert response.headers["Content-Range"] == f"bytes 2-5/{len(PDF_BYTES)}"


def test_a_range_beyond_the_file_is_refused(drive, google):
    google.file(REPORT, "meta_report")
    google.media(REPORT, [{"status_code": 416, "text": ""}])

    response = drive.download(REPORT, headers={"Range": "bytes=999999-"})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "range_not_satisfiable"


def test_a_shortcut_downloads_its_target(drive, google):
    google.file("1ShOrTcUtLoGo00bbb", "meta_shortcut_logo")
    google.file("1LoGoPnGtArGeT0ccc", "meta_logo")
    google.media("1LoGoPnGtArGeT0ccc", media_answer(b"\x89PNG\r\n\x1a\n"))

    response = drive.download("1ShOrTcUtLoGo00bbb")

    assert response.data == b"\x89PNG\r\n\x1a\n"


def test_a_folder_cannot_be_downloaded(drive, google):
    google.file("1PrOjEcTsFoLdEr7xQ", "meta_projects_folder")

    response = drive.download("1PrOjEcTsFoLdEr7xQ")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "not_a_file"


def test_a_file_that_is_gone_is_not_found(drive, google):
    response = drive.download("1NoSuChFiLe")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_file_the_account_may_not_read_is_forbidden(drive, google):
    google.file(REPORT, "meta_report")
    google.media(REPORT, [google.answer("error_insufficient_permissions", 403)])

    response = drive.download(REPORT)

    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "forbidden"
    assert "does not have sufficient permissions" in error["message"]


# -- ids that would leave /files/ (SECURITY 33) ----------------------------------------------------


@pytest.mark.parametrize(
    "item_id",
    ["..", "..;", ".;jsessionid=1", "%2e%2e", "%252e%252e", "%c0%ae%c0%ae", "\uff0e\uff0e"],
)
def test_an_id_that_could_leave_files_is_refused_before_asking_google(drive, google, item_id):
    asked = google.mocker.call_count

    response = drive.download(quote(item_id, safe=""))

    assert response.status_code == 400, response.get_json()
    assert "itemId" in response.get_json()["error"]["fields"]
    assert google.mocker.call_count == asked
