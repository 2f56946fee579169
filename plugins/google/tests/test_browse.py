"""Browsing Drive through the hub: the top level, folders page by page, shortcuts, breadcrumbs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

ROOT_ID = "0AHk2mYdRiVeRoOtUk9PVA"
ENGINEERING = "0AEnGiNeErInGdRiVe"


def sent(matcher):
    """The query the last call to ``matcher`` sent, exactly as sent."""
    return {k: v[0] for k, v in parse_qs(urlsplit(matcher.last_request.url).query).items()}


def names(response):
    return [item["name"] for item in response.get_json()["items"]]


def by_name(response, name):
    return next(item for item in response.get_json()["items"] if item["name"] == name)


# -- the top level --------------------------------------------------------------------------------


def test_the_drive_service_is_browsable_and_downloadable(drive, client):
    services = client.get(f"/api/integrations/{drive.ref}/services").get_json()["items"]

    assert [(s["name"], s["browsable"], s["downloadable"]) for s in services] == [
        ("drive", True, True)
    ]


def test_top_level_is_my_drive_then_the_shared_drives(drive, google):
    google.drives("drives_page1")

    page = drive.items()

    assert page.status_code == 200, page.get_json()
    assert [(i["id"], i["name"], i["kind"]) for i in page.get_json()["items"]] == [
        ("root", "My Drive", "folder"),
        (ENGINEERING, "Engineering", "folder"),
        ("0AFiNaNcEdRiVeJjjj", "Finance", "folder"),
    ]


def test_top_level_items_tell_shared_drives_from_my_drive(drive, google):
    google.drives("drives_page1")

    flags = [i["sharedDrive"] for i in drive.items().get_json()["items"]]

    assert flags == [False, True, True]


def test_shared_drives_are_paged_with_an_opaque_cursor(drive, google):
    google.drives("drives_page1")
    second = google.drives("drives_page2", page_token="~!!~AI9FV7RdrivesPage2")

    cursor = drive.items().get_json()["nextCursor"]
    page = drive.items(cursor=cursor)

    assert names(page) == ["Marketing"]
    assert page.get_json()["nextCursor"] is None
    assert sent(second)["pageToken"] == "~!!~AI9FV7RdrivesPage2"


def test_shared_drives_are_asked_for_at_most_100_at_a_time(drive, google):
    listing = google.drives("drives_page2")

    drive.items(limit=1000)

    assert sent(listing)["pageSize"] == "100"


def test_my_drive_counts_towards_the_top_levels_limit(drive, google):
    listing = google.drives("drives_page2")

    drive.items(limit=3)

    assert sent(listing)["pageSize"] == "2"


def test_a_limit_of_one_shows_my_drive_then_the_shared_drives(drive, google):
    listing = google.drives("drives_page2")

    first = drive.items(limit=1)
    second = drive.items(limit=1, cursor=first.get_json()["nextCursor"])

    assert names(first) == ["My Drive"] and names(second) == ["Marketing"]
    assert listing.call_count == 1


def test_a_cursor_that_is_not_the_top_levels_is_refused(drive, google):
    response = drive.items(cursor="~!!~AI9FV7Q4k2ZpR0d2c1Ex_root_p2")

    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"cursor": "invalid"}


def test_preview_shows_my_drive_and_the_shared_drives(drive, google, client):
    google.drives("drives_page1")

    tree = client.get(f"/api/integrations/{drive.ref}/preview").get_json()

    assert [i["name"] for i in tree["services"][0]["items"]] == [
        "My Drive",
        "Engineering",
        "Finance",
    ]


# -- folders --------------------------------------------------------------------------------------


def test_my_drive_is_listed_across_several_pages(drive, google):
    google.folder("root", "files_root_page1")
    google.folder("root", "files_root_page2", page_token="~!!~AI9FV7Q4k2ZpR0d2c1Ex_root_p2")

    first = drive.items(parent="root")
    second = drive.items(parent="root", cursor=first.get_json()["nextCursor"])

    assert names(first) == ["Projects", "report.pdf", "Meeting notes"]
    assert names(second) == ["Budget 2024", "Quarterly review", "Design", "logo.png"]
    assert second.get_json()["nextCursor"] is None


def test_the_cursor_is_drives_page_token(drive, google):
    google.folder("root", "files_root_page1")

    page = drive.items(parent="root")

    assert page.get_json()["nextCursor"] == "~!!~AI9FV7Q4k2ZpR0d2c1Ex_root_p2"


def test_trashed_items_are_left_out_by_the_query(drive, google):
    listing = google.folder("root", "files_root_page1")

    drive.items(parent="root")

    assert sent(listing)["q"] == "'root' in parents and trashed=false"


def test_folders_are_listed_across_all_drives(drive, google):
    listing = google.folder(ENGINEERING, "files_engineering")

    drive.items(parent=ENGINEERING)

    query = sent(listing)
    assert (query["supportsAllDrives"], query["includeItemsFromAllDrives"]) == ("true", "true")


def test_the_page_size_is_the_callers_limit(drive, google):
    listing = google.folder("root", "files_root_page1")

    drive.items(parent="root", limit=1000)

    assert sent(listing)["pageSize"] == "1000"


def test_the_listing_asks_for_the_fields_it_shows(drive, google):
    listing = google.folder("root", "files_root_page1")

    drive.items(parent="root")

    assert sent(listing)["fields"] == (
        "nextPageToken,files(id,name,mimeType,size,modifiedTime,parents,"
        "shortcutDetails(targetId,targetMimeType))"
    )


def test_a_file_has_its_size_as_a_number_and_its_time_in_utc(drive, google):
    google.folder("root", "files_root_page1")

    report = by_name(drive.items(parent="root"), "report.pdf")

    assert report == {
        "id": "1RePoRtPdF9a8b7c6d",
        "name": "report.pdf",
        "kind": "file",
        "size": 48213,
        "mimeType": "application/pdf",
        "modifiedAt": "2024-05-02T08:15:30Z",
    }


def test_a_folder_has_no_size(drive, google):
    google.folder("root", "files_root_page1")

    projects = by_name(drive.items(parent="root"), "Projects")

    assert (projects["kind"], projects["size"]) == ("folder", None)


def test_native_files_name_their_export_formats_default_first(drive, google):
    google.folder("root", "files_root_page1")
    google.folder("root", "files_root_page2", page_token="~!!~AI9FV7Q4k2ZpR0d2c1Ex_root_p2")

    first = drive.items(parent="root")
    second = drive.items(parent="root", cursor=first.get_json()["nextCursor"])

    assert by_name(first, "Meeting notes")["exportFormats"] == ["docx", "pdf"]
    assert by_name(second, "Budget 2024")["exportFormats"] == ["xlsx", "csv"]
    assert by_name(second, "Quarterly review")["exportFormats"] == ["pptx", "pdf"]
    assert "exportFormats" not in by_name(first, "report.pdf")


def test_a_shortcut_to_a_folder_is_listed_as_that_folder(drive, google):
    google.folder("root", "files_root_page2")

    design = by_name(drive.items(parent="root"), "Design")

    assert (design["id"], design["kind"]) == ("1DeSiGnFoLdErTaRgT", "folder")
    assert design["shortcut"] == {
        "id": "1ShOrTcUtDeSiGn0aa",
        "targetId": "1DeSiGnFoLdErTaRgT",
        "targetMimeType": "application/vnd.google-apps.folder",
    }


def test_a_shortcut_to_a_folder_opens_the_folder(drive, google):
    google.folder("root", "files_root_page2")
    google.folder("1DeSiGnFoLdErTaRgT", "files_design")

    design = by_name(drive.items(parent="root"), "Design")
    inside = drive.items(parent=design["id"])

    assert names(inside) == ["mockup.png"]


def test_a_shortcut_to_a_file_is_listed_as_that_file(drive, google):
    google.folder("root", "files_root_page2")

    logo = by_name(drive.items(parent="root"), "logo.png")

    assert (logo["id"], logo["kind"], logo["mimeType"]) == (
        "1LoGoPnGtArGeT0ccc",
        "file",
        "image/png",
    )


def test_nested_folders_open_down_to_the_bottom(drive, google):
    google.folder("root", "files_root_page1")
    google.folder("1PrOjEcTsFoLdEr7xQ", "files_projects")
    google.folder("1YeAr2024FoLdErqqq", "files_projects_2024")

    projects = by_name(drive.items(parent="root"), "Projects")
    year = by_name(drive.items(parent=projects["id"]), "2024")
    bottom = drive.items(parent=year["id"])

    assert [(i["name"], i["kind"], i["size"]) for i in bottom.get_json()["items"]] == [
        ("budget.csv", "file", 2048)
    ]


def test_a_shared_drive_opens_like_a_folder(drive, google):
    google.folder(ENGINEERING, "files_engineering")
    google.folder("1SpEcSfOlDeRgGgggg", "files_specs")

    specs = by_name(drive.items(parent=ENGINEERING), "Specs")
    inside = drive.items(parent=specs["id"])

    assert names(inside) == ["api.yaml"]


def test_a_folder_id_cannot_break_out_of_the_query(drive, google):
    listing = google.folder("x\\' or name contains \\'", {"files": []})

    drive.items(parent="x' or name contains '")

    assert sent(listing)["q"] == "'x\\' or name contains \\'' in parents and trashed=false"


def test_an_expired_cursor_is_refused_as_invalid(drive, google):
    google.folder("root", [google.answer("error_invalid_page_token", 400)], page_token="x")

    response = drive.items(parent="root", cursor="x")

    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"cursor": "invalid"}


def test_a_folder_that_is_gone_is_not_found(drive, google):
    google.folder("1NoSuChFiLe", [google.answer("error_not_found", 404)])

    response = drive.items(parent="1NoSuChFiLe")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# -- breadcrumbs ----------------------------------------------------------------------------------


def test_my_drive_s_trail_is_itself(drive, google):
    google.folder("root", "files_root_page1")

    page = drive.items(parent="root")

    assert page.get_json()["path"] == [{"id": "root", "name": "My Drive"}]


def test_a_nested_folders_trail_starts_at_my_drive(drive, google):
    google.folder("1YeAr2024FoLdErqqq", "files_projects_2024")
    google.file("1YeAr2024FoLdErqqq", "meta_projects_2024")
    google.file("1PrOjEcTsFoLdEr7xQ", "meta_projects")
    google.file(ROOT_ID, "meta_my_drive")
    google.file("root", {"id": ROOT_ID})

    page = drive.items(parent="1YeAr2024FoLdErqqq")

    assert page.get_json()["path"] == [
        {"id": "root", "name": "My Drive"},
        {"id": "1PrOjEcTsFoLdEr7xQ", "name": "Projects"},
        {"id": "1YeAr2024FoLdErqqq", "name": "2024"},
    ]


def test_a_shared_drive_folders_trail_starts_at_the_drive(drive, google):
    google.folder("1SpEcSfOlDeRgGgggg", "files_specs")
    google.file("1SpEcSfOlDeRgGgggg", "meta_specs")
    google.file(ENGINEERING, "meta_engineering_root")
    google.drive(ENGINEERING, "drive_engineering")

    page = drive.items(parent="1SpEcSfOlDeRgGgggg")

    assert page.get_json()["path"] == [
        {"id": ENGINEERING, "name": "Engineering"},
        {"id": "1SpEcSfOlDeRgGgggg", "name": "Specs"},
    ]


def test_a_trail_google_will_not_tell_is_left_empty(drive, google):
    google.folder("1SpEcSfOlDeRgGgggg", "files_specs")
    google.file(
        "1SpEcSfOlDeRgGgggg",
        [google.answer("error_insufficient_permissions", 403)],
    )

    page = drive.items(parent="1SpEcSfOlDeRgGgggg")

    assert page.status_code == 200
    assert (names(page), page.get_json()["path"]) == (["api.yaml"], [])


def test_later_pages_do_not_look_the_trail_up_again(drive, google):
    google.folder("1SpEcSfOlDeRgGgggg", "files_specs", page_token="p2")
    lookup = google.file("1SpEcSfOlDeRgGgggg", "meta_specs")

    page = drive.items(parent="1SpEcSfOlDeRgGgggg", cursor="p2")

    assert page.get_json()["path"] == [] and lookup.call_count == 0
