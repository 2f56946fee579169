"""Downloading from Drive through the hub: bytes with alt=media and Range, native files exported."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

REPORT = "1RePoRtPdF9a8b7c6d"
PDF_BYTES = b"%PDF-1.7\n\x00\x01\x02\xff binary \r\n body\n%%EOF\n"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


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


# -- exports of native files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "file_id, meta, requested, mime_type, filename",
    [
        ("1MeEtInGnOtEsDoC3k", "meta_meeting_notes", None, DOCX, "Meeting notes.docx"),
        ("1MeEtInGnOtEsDoC3k", "meta_meeting_notes", "docx", DOCX, "Meeting notes.docx"),
        ("1MeEtInGnOtEsDoC3k", "meta_meeting_notes", "pdf", "application/pdf", "Meeting notes.pdf"),
        ("1BuDgEtShEeT2024zz", "meta_budget_sheet", None, XLSX, "Budget 2024.xlsx"),
        ("1BuDgEtShEeT2024zz", "meta_budget_sheet", "xlsx", XLSX, "Budget 2024.xlsx"),
        ("1BuDgEtShEeT2024zz", "meta_budget_sheet", "csv", "text/csv", "Budget 2024.csv"),
        ("1QuArTeRlYsLiDeSqq", "meta_quarterly_slides", None, PPTX, "Quarterly review.pptx"),
        ("1QuArTeRlYsLiDeSqq", "meta_quarterly_slides", "pptx", PPTX, "Quarterly review.pptx"),
        (
            "1QuArTeRlYsLiDeSqq",
            "meta_quarterly_slides",
            "pdf",
            "application/pdf",
            "Quarterly review.pdf",
        ),
    ],
)
def test_every_native_type_is_exported_in_each_of_its_formats(
    drive, google, file_id, meta, requested, mime_type, filename
):
    exported = f"exported as {mime_type}".encode()
    google.file(file_id, meta)
    export = google.export(
        file_id, mime_type, [{"content": exported, "headers": {"Content-Type": mime_type}}]
    )
    params = {"format": requested} if requested else {}

    response = drive.download(file_id, **params)

    assert response.status_code == 200, response.get_json()
    assert response.data == exported and export.call_count == 1
    assert response.headers["Content-Type"].startswith(mime_type)
    assert (
        f"filename*=UTF-8''{filename.replace(' ', '%20')}"
        in (response.headers["Content-Disposition"])
    )


def test_a_native_file_is_exported_without_asking_for_its_bytes(drive, google):
    google.file("1MeEtInGnOtEsDoC3k", "meta_meeting_notes")
    google.export("1MeEtInGnOtEsDoC3k", DOCX, [{"content": b"PK\x03\x04"}])
    media = google.media("1MeEtInGnOtEsDoC3k", [google.answer("error_file_not_downloadable", 403)])

    drive.download("1MeEtInGnOtEsDoC3k")

    assert media.call_count == 0


def test_the_format_is_matched_without_regard_to_case(drive, google):
    google.file("1MeEtInGnOtEsDoC3k", "meta_meeting_notes")
    export = google.export("1MeEtInGnOtEsDoC3k", "application/pdf", [{"content": b"%PDF"}])

    drive.download("1MeEtInGnOtEsDoC3k", format="PDF")

    assert export.call_count == 1


def test_an_unknown_format_is_refused_naming_the_allowed_ones(drive, google):
    google.file("1BuDgEtShEeT2024zz", "meta_budget_sheet")

    response = drive.download("1BuDgEtShEeT2024zz", format="docx")

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"format": "one of xlsx, csv"}
    assert "xlsx, csv" in error["message"]


def test_the_format_is_ignored_for_a_file_with_bytes(drive, google):
    google.file(REPORT, "meta_report")
    google.media(REPORT, media_answer(PDF_BYTES))

    response = drive.download(REPORT, format="xlsx")

    assert response.data == PDF_BYTES


def test_an_export_beyond_10_mb_is_reported_clearly(drive, google):
    google.file("1QuArTeRlYsLiDeSqq", "meta_quarterly_slides")
    google.export("1QuArTeRlYsLiDeSqq", PPTX, [google.answer("error_export_too_large", 403)])

    response = drive.download("1QuArTeRlYsLiDeSqq")

    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "export_too_large"
    assert "10 MB" in error["message"]


def test_a_file_google_will_not_hand_out_is_exported_instead(drive, google):
    google.file("1DrAwInGwHiTeBoArD", "meta_whiteboard_drawing")
    google.media("1DrAwInGwHiTeBoArD", [google.answer("error_file_not_downloadable", 403)])
    export = google.export("1DrAwInGwHiTeBoArD", "application/pdf", [{"content": b"%PDF-1.4"}])

    response = drive.download("1DrAwInGwHiTeBoArD")

    assert (response.status_code, response.data) == (200, b"%PDF-1.4")
    assert export.call_count == 1
    assert "filename*=UTF-8''Whiteboard.pdf" in response.headers["Content-Disposition"]


def test_an_export_google_cannot_make_is_refused(drive, google):
    google.file("1DrAwInGwHiTeBoArD", "meta_whiteboard_drawing")
    google.media("1DrAwInGwHiTeBoArD", [google.answer("error_file_not_downloadable", 403)])
    google.export("1DrAwInGwHiTeBoArD", XLSX, [{"status_code": 400, "json": {"error": {}}}])

    response = drive.download("1DrAwInGwHiTeBoArD", format="xlsx")

    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {
        "format": "xlsx is not available for this file"
    }


def test_an_export_is_always_whole(drive, google):
    google.file("1MeEtInGnOtEsDoC3k", "meta_meeting_notes")
    export = google.export("1MeEtInGnOtEsDoC3k", DOCX, [{"content": b"PK\x03\x04"}])

    response = drive.download("1MeEtInGnOtEsDoC3k", headers={"Range": "bytes=0-1"})

    assert response.status_code == 200 and "Range" not in export.last_request.headers


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
