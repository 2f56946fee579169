"""Reading WebDAV answers: item ids as paths, and the multistatus parsed without expanding
anything a hostile server could put in it."""

from __future__ import annotations

import datetime as dt

import pytest

from hub_powerfolder import webdav


def names(entries):
    return [entry.segments for entry in entries]


# -- item ids --------------------------------------------------------------------------------


def test_an_item_id_splits_into_its_path_segments():
    assert webdav.split_item_id("Team Docs/Plans/été #1.txt") == (
        "Team Docs",
        "Plans",
        "été #1.txt",
    )


def test_an_item_id_may_start_or_end_with_a_slash():
    assert webdav.split_item_id("/Team Docs/Plans/") == ("Team Docs", "Plans")


@pytest.mark.parametrize("item_id", ["", "/", "A//b", "A/../b", "..", "A/./b", "A/b\x00c", "A\nb"])
def test_an_item_id_that_could_address_another_path_is_refused(item_id):
    with pytest.raises(ValueError):
        webdav.split_item_id(item_id)


def test_segments_are_percent_encoded_one_by_one():
    encoded = webdav.encode_path(("Team Docs", "50% #1?.csv", "東京"))

    assert encoded == "Team%20Docs/50%25%20%231%3F.csv/%E6%9D%B1%E4%BA%AC"


def test_encoding_then_decoding_gives_the_same_segments():
    segments = ("Fotos Grüße", "Café naïve 😀.jpg", "a+b&c=d;e", "100%")

    assert webdav.path_segments("/" + webdav.encode_path(segments)) == segments


def test_a_plus_in_an_href_stays_a_plus():
    assert webdav.path_segments("/webdav/a+b.txt") == ("webdav", "a+b.txt")


def test_an_absolute_href_gives_its_path_segments():
    href = "https://pf.example.org/webdav/Fotos%20Gr%C3%BC%C3%9Fe/"

    assert webdav.path_segments(href) == ("webdav", "Fotos Grüße")


def test_an_href_in_latin_1_is_still_read():
    assert webdav.path_segments("/webdav/Gr%FC%DFe.txt") == ("webdav", "Grüße.txt")


# -- multistatus -----------------------------------------------------------------------------


def test_every_response_of_a_multistatus_is_read(recorded):
    entries = webdav.parse_multistatus(recorded("propfind_team_docs.xml"))

    assert names(entries) == [
        ("webdav", "Team Docs"),
        ("webdav", "Team Docs", "report 2024.pdf"),
        ("webdav", "Team Docs", "Plans"),
        ("webdav", "Team Docs", "notes.txt"),
    ]


def test_a_collection_is_a_folder_and_anything_else_a_file(recorded):
    entries = webdav.parse_multistatus(recorded("propfind_team_docs.xml"))

    assert [e.is_collection for e in entries] == [True, False, True, False]


def test_a_files_properties_are_parsed(recorded):
    report = webdav.parse_multistatus(recorded("propfind_team_docs.xml"))[1]

    assert (report.size, report.content_type, report.modified_at) == (
        18,
        "application/pdf",
        dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.UTC),
    )


def test_properties_reported_as_not_found_are_absent():
    # A server answering a PROPFIND that names properties reports the missing ones as 404.
    body = (
        b'<d:multistatus xmlns:d="DAV:"><d:response><d:href>/webdav/A/</d:href>'
        b"<d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop>"
        b"<d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
        b"<d:propstat><d:prop><d:getcontentlength>5</d:getcontentlength>"
        b"<d:displayname>B</d:displayname></d:prop>"
        b"<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>"
        b"</d:response></d:multistatus>"
    )

    entry = webdav.parse_multistatus(body)[0]

    assert (entry.is_collection, entry.size, entry.display_name) == (True, None, None)


def test_a_display_name_is_read_beside_the_hrefs_name(recorded):
    entries = webdav.parse_multistatus(recorded("propfind_root.xml"))
    mail = entries[2]

    assert (mail.name, mail.display_name, mail.shown_name) == (
        "$mail_attachments",
        "Mail attachments",
        "Mail attachments",
    )


def test_without_a_display_name_the_hrefs_name_is_shown(recorded):
    tokyo = webdav.parse_multistatus(recorded("propfind_fotos.xml"))[1]

    assert (tokyo.display_name, tokyo.shown_name) == (None, "東京 夜景")


def test_a_display_name_with_a_control_character_is_not_shown():
    body = (
        b'<d:multistatus xmlns:d="DAV:"><d:response><d:href>/webdav/A</d:href>'
        b"<d:propstat><d:prop><d:displayname>x&#10;y</d:displayname></d:prop>"
        b"<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"
    )

    assert webdav.parse_multistatus(body)[0].shown_name == "A"


def test_powerfolders_unescaped_characters_in_hrefs_are_read_as_they_are(recorded):
    # PowerFolder leaves ( ) ' $ + ! * , unescaped in hrefs (Krassmus/PowerfolderPlugin).
    entries = webdav.parse_multistatus(recorded("propfind_mail_attachments.xml"))

    assert names(entries)[1] == ("webdav", "$mail_attachments", "invoice (1)+copy.pdf")


def test_a_default_dav_namespace_is_read_like_a_prefixed_one(recorded):
    entries = webdav.parse_multistatus(recorded("propfind_team_docs_plans_q1.xml"))

    assert entries[1].segments[-1] == "budget #50%?.csv"
    assert entries[1].size == 14


def test_unicode_names_are_decoded(recorded):
    entries = webdav.parse_multistatus(recorded("propfind_fotos.xml"))

    assert [e.name for e in entries] == ["Fotos Grüße", "東京 夜景", "Café naïve 😀.jpg"]


def test_an_empty_folder_has_only_its_own_entry(recorded):
    entries = webdav.parse_multistatus(recorded("propfind_empty.xml"))

    assert names(entries) == [("webdav", "Empty")]


def test_a_response_that_failed_as_a_whole_is_left_out():
    body = (
        b'<d:multistatus xmlns:d="DAV:"><d:response><d:href>/webdav/A/gone.txt</d:href>'
        b"<d:status>HTTP/1.1 404 Not Found</d:status></d:response></d:multistatus>"
    )

    assert webdav.parse_multistatus(body) == []


@pytest.mark.parametrize("fixture", ["billion_laughs.xml", "external_entity.xml"])
def test_a_document_with_entities_is_refused(recorded, fixture):
    with pytest.raises(webdav.MultistatusRefused, match="DTD"):
        webdav.parse_multistatus(recorded(fixture))


def test_a_document_that_is_not_xml_is_refused():
    with pytest.raises(webdav.MultistatusRefused, match="not well-formed"):
        webdav.parse_multistatus(b'{"not": "xml"}')


def test_a_document_that_is_not_a_multistatus_is_refused():
    with pytest.raises(webdav.MultistatusRefused, match="'error'"):
        webdav.parse_multistatus(b'<d:error xmlns:d="DAV:"/>')


# -- dates -----------------------------------------------------------------------------------


def test_an_rfc_1123_date_is_read_in_utc():
    assert webdav.parse_http_date("Tue, 05 Mar 2024 09:30:00 GMT") == dt.datetime(
        2024, 3, 5, 9, 30, tzinfo=dt.UTC
    )


def test_a_date_with_an_offset_is_converted_to_utc():
    assert webdav.parse_http_date("Tue, 05 Mar 2024 10:30:00 +0100") == dt.datetime(
        2024, 3, 5, 9, 30, tzinfo=dt.UTC
    )


def test_an_iso_8601_date_is_accepted_too():
    assert webdav.parse_http_date("2024-03-05T09:30:00Z") == dt.datetime(
        2024, 3, 5, 9, 30, tzinfo=dt.UTC
    )


@pytest.mark.parametrize("value", [None, "", "yesterday", "Tue, 99 Foo 2024"])
def test_an_unreadable_date_is_none(value):
    assert webdav.parse_http_date(value) is None
