"""Rate limits, outages and refused access: retried within a bound, then the hub's errors."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from hub_google.api import Backoff

REPORT = "1RePoRtPdF9a8b7c6d"


def ok(google):
    return google.answer("files_root_page1")


# -- rate limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body",
    [(403, "error_user_rate_limit"), (403, "error_rate_limit"), (429, "error_too_many_requests")],
)
def test_a_rate_limit_is_retried_until_google_answers(drive, google, waits, status, body):
    listing = google.folder("root", [google.answer(body, status), ok(google)])

    response = drive.items(parent="root")

    assert response.status_code == 200
    assert listing.call_count == 2 and len(waits) == 1


def test_each_wait_doubles_with_jitter(drive, google, waits):
    google.folder("root", [google.answer("error_user_rate_limit", 403)] * 3 + [ok(google)])

    drive.items(parent="root")

    # base 0.5 s doubled each time, plus half a base of jitter (random() fixed at 0.5)
    assert waits == [0.75, 1.25, 2.25]


def test_a_rate_limit_beyond_the_bound_is_reported_as_rate_limited(drive, google, waits):
    listing = google.folder("root", [google.answer("error_user_rate_limit", 403)])

    response = drive.items(parent="root")

    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert "Google Drive" in error["message"] and "userRateLimitExceeded" in error["message"]
    assert listing.call_count == 5 and len(waits) == 4


def test_google_s_retry_after_is_waited_for(drive, google, waits):
    google.folder(
        "root",
        [google.answer("error_too_many_requests", 429, headers={"Retry-After": "3"}), ok(google)],
    )

    drive.items(parent="root")

    assert waits == [3.0]


def test_a_retry_after_beyond_the_cap_is_passed_on_at_once(drive, google, waits):
    google.folder(
        "root", [google.answer("error_too_many_requests", 429, headers={"Retry-After": "120"})]
    )

    response = drive.items(parent="root")

    assert (response.status_code, waits) == (429, [])
    assert response.headers["Retry-After"] == "120"


def test_a_download_is_retried_after_a_rate_limit(drive, google, waits):
    google.file(REPORT, "meta_report")
    google.media(REPORT, [google.answer("error_user_rate_limit", 403), {"content": b"%PDF"}])

    response = drive.download(REPORT)

    assert (response.status_code, response.data, len(waits)) == (200, b"%PDF", 1)


def test_an_export_link_is_retried_after_a_429(drive, google, waits):
    pdf = "application/pdf"
    google.file("1MeEtInGnOtEsDoC3k", "meta_meeting_notes")
    google.export_link(
        "meta_meeting_notes",
        pdf,
        [google.answer("error_too_many_requests", 429), {"content": b"%PDF"}],
    )

    response = drive.download("1MeEtInGnOtEsDoC3k", format="pdf")

    assert (response.status_code, response.data, len(waits)) == (200, b"%PDF", 1)


def test_files_export_is_retried_after_a_rate_limit(drive, google, waits):
    pdf = "application/pdf"
    google.file("1MeEtInGnOtEsDoC3k", "meta_meeting_notes_without_links")
    google.export(
        "1MeEtInGnOtEsDoC3k", pdf, [google.answer("error_rate_limit", 403), {"content": b"%PDF"}]
    )

    response = drive.download("1MeEtInGnOtEsDoC3k", format="pdf")

    assert (response.status_code, response.data, len(waits)) == (200, b"%PDF", 1)


# -- other failures -------------------------------------------------------------------------------


def test_a_403_that_is_no_rate_limit_is_forbidden_at_once(drive, google, waits):
    google.folder("root", [google.answer("error_insufficient_permissions", 403)])

    response = drive.items(parent="root")

    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden")
    assert waits == []


def test_an_outage_is_retried_until_google_answers(drive, google, waits):
    google.folder("root", [google.answer("error_backend", 500), ok(google)])

    response = drive.items(parent="root")

    assert response.status_code == 200 and len(waits) == 1


def test_a_lasting_outage_is_an_upstream_failure_naming_google(drive, google, waits):
    google.folder("root", [google.answer("error_backend", 500)])

    response = drive.items(parent="root")

    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "upstream_failed" and "Google Drive" in error["message"]


def test_a_401_refreshes_the_token_once_and_retries(drive, google):
    refresh = google.tokens("token_refreshed")
    listing = google.folder("root", [google.answer("error_auth", 401), ok(google)])

    response = drive.items(parent="root")

    assert response.status_code == 200
    assert refresh.call_count == 1
    assert parse_qs(refresh.last_request.text)["grant_type"] == ["refresh_token"]
    assert listing.last_request.headers["Authorization"] == "Bearer ya29.a0AfB_second-access-token"


# -- the backoff itself ---------------------------------------------------------------------------


def test_backoff_waits_grow_exponentially_up_to_the_cap():
    backoff = Backoff(retries=6, base=1.0, cap=8.0, random=lambda: 0.0)

    assert [backoff.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_backoff_adds_up_to_one_base_of_jitter():
    low = Backoff(base=0.5, random=lambda: 0.0)
    high = Backoff(base=0.5, random=lambda: 0.999)

    assert (low.delay(1), round(high.delay(1), 3)) == (1.0, 1.5)


def test_backoff_gives_up_after_its_retries():
    assert Backoff(retries=4).delay(4) is None


def test_backoff_waits_at_least_what_the_server_asks():
    assert Backoff(random=lambda: 0.0).delay(0, retry_after=5.0) == 5.0


def test_backoff_gives_up_when_the_server_asks_for_longer_than_the_cap():
    assert Backoff(cap=8.0).delay(0, retry_after=9.0) is None
