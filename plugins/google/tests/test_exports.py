"""Exporting Google-native files through the hub: through the file's export link (no 10 MB
limit), files.export only without one, every native type in its own formats, and types without
any export refused before Google is asked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

DOC = "1MeEtInGnOtEsDoC3k"
SHEET = "1BuDgEtShEeT2024zz"
SLIDES = "1QuArTeRlYsLiDeSqq"
DRAWING = "1DrAwInGwHiTeBoArD"
SCRIPT = "1ApPsScRiPtPrOjEcT"
JAM = "1JaMbOaRdSkEtChqq"
ELSEWHERE = "1BiGdEcKeLsEwHeRe"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
PDF = "application/pdf"
SCRIPT_JSON = "application/vnd.google-apps.script+json"
OVER_10_MB = b"%PDF-1.7\n" + b"\x00" * (10 * 1024 * 1024 + 1)


def disposition(filename):
    return f"filename*=UTF-8''{filename.replace(' ', '%20')}"


# -- through the export link ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "file_id, meta, requested, mime_type, filename",
    [
        (DOC, "meta_meeting_notes", None, DOCX, "Meeting notes.docx"),
        (DOC, "meta_meeting_notes", "docx", DOCX, "Meeting notes.docx"),
        (DOC, "meta_meeting_notes", "pdf", PDF, "Meeting notes.pdf"),
        (SHEET, "meta_budget_sheet", None, XLSX, "Budget 2024.xlsx"),
        (SHEET, "meta_budget_sheet", "csv", "text/csv", "Budget 2024.csv"),
        (SLIDES, "meta_quarterly_slides", None, PPTX, "Quarterly review.pptx"),
        (SLIDES, "meta_quarterly_slides", "pdf", PDF, "Quarterly review.pdf"),
        (DRAWING, "meta_whiteboard_drawing", None, "image/svg+xml", "Whiteboard.svg"),
        (DRAWING, "meta_whiteboard_drawing", "png", "image/png", "Whiteboard.png"),
        (DRAWING, "meta_whiteboard_drawing", "jpeg", "image/jpeg", "Whiteboard.jpg"),
        (DRAWING, "meta_whiteboard_drawing", "pdf", PDF, "Whiteboard.pdf"),
        (SCRIPT, "meta_apps_script", None, SCRIPT_JSON, "Invoice mailer.json"),
    ],
)
def test_every_native_type_is_exported_in_each_of_its_formats_through_its_link(
    drive, google, file_id, meta, requested, mime_type, filename
):
    exported = f"exported as {mime_type}".encode()
    google.file(file_id, meta)
    link = google.export_link(
        meta, mime_type, [{"content": exported, "headers": {"Content-Type": mime_type}}]
    )
    files_export = google.export(file_id, mime_type, [{"content": b"not this one"}])

    response = drive.download(file_id, **({"format": requested} if requested else {}))

    assert response.status_code == 200, response.get_json()
    assert response.data == exported
    assert (link.call_count, files_export.call_count) == (1, 0)
    assert response.headers["Content-Type"].startswith(mime_type)
    assert disposition(filename) in response.headers["Content-Disposition"]


def test_the_metadata_read_before_a_download_asks_for_the_export_links(drive, google):
    meta = google.file(DOC, "meta_meeting_notes")
    google.export_link("meta_meeting_notes", DOCX, [{"content": b"PK\x03\x04"}])

    drive.download(DOC)

    fields = parse_qs(urlsplit(meta.last_request.url).query)["fields"][0]
    assert "exportLinks" in fields.split(",")


def test_an_export_costs_two_calls_the_metadata_and_the_link(drive, google):
    google.file(DOC, "meta_meeting_notes")
    google.export_link("meta_meeting_notes", DOCX, [{"content": b"PK\x03\x04"}])

    drive.download(DOC)

    assert google.mocker.call_count == 2 + 2  # + the token and userinfo calls of connecting


def test_the_export_link_is_called_with_the_accounts_token_uncompressed(drive, google):
    google.file(DOC, "meta_meeting_notes")
    link = google.export_link("meta_meeting_notes", PDF, [{"content": b"%PDF"}])

    drive.download(DOC, format="pdf")

    assert urlsplit(link.last_request.url).hostname == "docs.google.com"
    assert link.last_request.headers["Authorization"] == "Bearer ya29.a0AfB_first-access-token"
    assert link.last_request.headers["Accept-Encoding"] == "identity"


def test_an_export_over_10_mb_is_served_by_its_export_link(drive, google):
    google.file(SLIDES, "meta_quarterly_slides")
    google.export(SLIDES, PDF, [google.answer("error_export_too_large", 403)])
    google.export_link("meta_quarterly_slides", PDF, [{"content": OVER_10_MB}])

    response = drive.download(SLIDES, format="pdf")

    assert response.status_code == 200
    assert len(response.data) == len(OVER_10_MB)


def test_the_format_is_matched_without_regard_to_case(drive, google):
    google.file(DOC, "meta_meeting_notes")
    link = google.export_link("meta_meeting_notes", PDF, [{"content": b"%PDF"}])

    drive.download(DOC, format="PDF")

    assert link.call_count == 1


def test_jpg_names_the_jpeg_format(drive, google):
    google.file(DRAWING, "meta_whiteboard_drawing")
    link = google.export_link("meta_whiteboard_drawing", "image/jpeg", [{"content": b"\xff\xd8"}])

    response = drive.download(DRAWING, format="jpg")

    assert (response.status_code, link.call_count) == (200, 1)


def test_an_export_is_always_whole(drive, google):
    google.file(DOC, "meta_meeting_notes")
    link = google.export_link("meta_meeting_notes", DOCX, [{"content": b"PK\x03\x04"}])

    response = drive.download(DOC, headers={"Range": "bytes=0-1"})

    assert response.status_code == 200 and "Range" not in link.last_request.headers


def test_a_shortcut_to_a_drawing_exports_the_drawing(drive, google):
    google.file(
        "1ShOrTcUtDrAwInGbb",
        {
            "id": "1ShOrTcUtDrAwInGbb",
            "name": "Whiteboard",
            "mimeType": "application/vnd.google-apps.shortcut",
            "shortcutDetails": {
                "targetId": DRAWING,
                "targetMimeType": "application/vnd.google-apps.drawing",
            },
        },
    )
    google.file(DRAWING, "meta_whiteboard_drawing")
    google.export_link("meta_whiteboard_drawing", "image/svg+xml", [{"content": b"<svg/>"}])

    response = drive.download("1ShOrTcUtDrAwInGbb")

    assert (response.status_code, response.data) == (200, b"<svg/>")


# -- files.export when there is no link ------------------------------------------------------------


def test_without_an_export_link_files_export_is_used(drive, google):
    google.file(DOC, "meta_meeting_notes_without_links")
    export = google.export(DOC, PDF, [{"content": b"%PDF", "headers": {"Content-Type": PDF}}])

    response = drive.download(DOC, format="pdf")

    assert (response.status_code, response.data, export.call_count) == (200, b"%PDF", 1)


def test_an_export_beyond_10_mb_without_a_link_is_reported_clearly(drive, google):
    google.file(DOC, "meta_meeting_notes_without_links")
    google.export(DOC, DOCX, [google.answer("error_export_too_large", 403)])

    response = drive.download(DOC)

    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "export_too_large"
    assert "10 MB" in error["message"]


def test_a_jamboard_is_exported_as_pdf(drive, google):
    google.file(JAM, "meta_brainstorm_jam")
    export = google.export(JAM, PDF, [{"content": b"%PDF"}])

    response = drive.download(JAM)

    assert (response.status_code, export.call_count) == (200, 1)
    assert disposition("Brainstorm.pdf") in response.headers["Content-Disposition"]


def test_an_export_google_cannot_make_is_refused(drive, google):
    google.file(DOC, "meta_meeting_notes_without_links")
    google.export(DOC, PDF, [{"status_code": 400, "json": {"error": {}}}])

    response = drive.download(DOC, format="pdf")

    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {
        "format": "pdf is not available for this file"
    }


def test_an_unknown_native_type_is_exported_in_what_its_links_offer(drive, google):
    vid = "1ViDeOpRoJeCtqqqqq"
    link = "https://docs.google.com/feeds/download/videos/Export?id=1ViDeOpRoJeCtqqqqq&exportFormat=pdf"
    google.file(
        vid,
        {
            "id": vid,
            "name": "Launch",
            "mimeType": "application/vnd.google-apps.vid",
            "exportLinks": {"application/pdf": link},
        },
    )
    served = google.mocker.get(link.split("?")[0], content=b"%PDF")

    response = drive.download(vid)

    assert (response.status_code, served.call_count) == (200, 1)
    assert disposition("Launch.pdf") in response.headers["Content-Disposition"]


def test_an_unknown_native_type_without_links_is_refused_before_asking_google(drive, google):
    google.file(
        "1NeWkInDoFaPpqqqqq",
        {
            "id": "1NeWkInDoFaPpqqqqq",
            "name": "New",
            "mimeType": "application/vnd.google-apps.fusiontable",
        },
    )
    asked = google.mocker.call_count

    response = drive.download("1NeWkInDoFaPpqqqqq")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "not_exportable"
    assert google.mocker.call_count == asked + 1


def test_a_file_google_will_not_hand_out_is_exported_through_its_links(drive, google):
    scan = "1ScAnNoTdOwNlOaDbb"
    link = "https://docs.google.com/feeds/download/documents/export/Export?id=1ScAnNoTdOwNlOaDbb&exportFormat=pdf"
    google.file(
        scan,
        {"id": scan, "name": "Scan", "mimeType": "application/x-scan", "exportLinks": {PDF: link}},
    )
    google.media(scan, [google.answer("error_file_not_downloadable", 403)])
    served = google.mocker.get(link.split("?")[0], content=b"%PDF-scan")

    response = drive.download(scan)

    assert (response.status_code, response.data, served.call_count) == (200, b"%PDF-scan", 1)


# -- the token goes only to Google -----------------------------------------------------------------


@pytest.mark.parametrize("requested, mime_type", [("pptx", PPTX), ("pdf", PDF)])
def test_an_export_link_away_from_google_is_refused_without_sending_the_token(
    drive, google, requested, mime_type
):
    google.file(ELSEWHERE, "meta_deck_links_elsewhere")
    url = google.answer("meta_deck_links_elsewhere")["json"]["exportLinks"][mime_type]
    elsewhere = google.mocker.get(url.split("?")[0], content=b"stolen")
    files_export = google.export(ELSEWHERE, mime_type, [{"content": b"no"}])

    response = drive.download(ELSEWHERE, format=requested)

    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "upstream_failed"
    assert "not send the account's token" in error["message"]
    assert (elsewhere.call_count, files_export.call_count) == (0, 0)


def test_a_redirect_to_googleusercontent_is_followed_without_the_token(drive, google):
    signed = "https://doc-0s-9o-docs.googleusercontent.com/docs/securesc/abc/def/1/2/3?e=download"
    google.file(DOC, "meta_meeting_notes")
    google.export_link(
        "meta_meeting_notes", PDF, [{"status_code": 307, "headers": {"Location": signed}}]
    )
    target = google.mocker.get(signed.split("?")[0], content=b"%PDF-signed")

    response = drive.download(DOC, format="pdf")

    assert (response.status_code, response.data) == (200, b"%PDF-signed")
    assert "Authorization" not in target.last_request.headers


def test_a_redirect_away_from_google_is_not_followed(drive, google):
    google.file(DOC, "meta_meeting_notes")
    google.export_link(
        "meta_meeting_notes",
        PDF,
        [{"status_code": 302, "headers": {"Location": "https://collector.example/pdf"}}],
    )
    elsewhere = google.mocker.get("https://collector.example/pdf", content=b"x")

    response = drive.download(DOC, format="pdf")

    assert response.status_code == 502
    assert elsewhere.call_count == 0


# -- native types without an export ---------------------------------------------------------------


@pytest.mark.parametrize(
    "file_id, meta, kind",
    [
        ("1FeEdBaCkFoRm00aaa", "meta_feedback_form", "Google Form"),
        ("1TeAmSiTe000000aaa", "meta_team_site", "Google Site"),
        ("1OfFiCeSmAp0000aaa", "meta_offices_map", "Google My Maps map"),
    ],
)
def test_a_native_type_without_export_is_refused_before_asking_google(
    drive, google, file_id, meta, kind
):
    google.file(file_id, meta)
    asked = google.mocker.call_count

    response = drive.download(file_id)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "not_exportable"
    assert kind in error["message"] and "open it in" in error["message"]
    assert google.mocker.call_count == asked + 1  # the metadata only


def test_an_apps_script_project_is_exported_as_json_only(drive, google):
    google.file(SCRIPT, "meta_apps_script")
    asked = google.mocker.call_count

    response = drive.download(SCRIPT, format="pdf")

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["fields"] == {"format": "one of json"}
    assert "Google Apps Script project can be exported only as json" in error["message"]
    assert google.mocker.call_count == asked + 1


def test_an_unknown_format_is_refused_naming_the_type_and_the_allowed_ones(drive, google):
    google.file(SHEET, "meta_budget_sheet")

    response = drive.download(SHEET, format="docx")

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"format": "one of xlsx, csv"}
    assert "Google Sheets spreadsheet" in error["message"] and "xlsx, csv" in error["message"]


def test_a_native_file_is_exported_without_asking_for_its_bytes(drive, google):
    google.file(DOC, "meta_meeting_notes")
    google.export_link("meta_meeting_notes", DOCX, [{"content": b"PK\x03\x04"}])
    media = google.media(DOC, [google.answer("error_file_not_downloadable", 403)])

    drive.download(DOC)

    assert media.call_count == 0


# -- what browsing shows --------------------------------------------------------------------------


def test_browsing_offers_each_native_types_formats_and_none_for_a_form(drive, google):
    google.folder("root", "files_natives")

    items = {i["name"]: i for i in drive.items(parent="root").get_json()["items"]}

    assert items["Whiteboard"]["exportFormats"] == ["svg", "png", "jpeg", "pdf"]
    assert items["Invoice mailer"]["exportFormats"] == ["json"]
    assert items["Brainstorm"]["exportFormats"] == ["pdf"]
    assert "exportFormats" not in items["Feedback"]
