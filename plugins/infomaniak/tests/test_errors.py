"""Infomaniak's error envelope mapped to the hub's errors, and its transient statuses retried."""

from __future__ import annotations

import pytest

from hub.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    UpstreamTimeout,
)
from hub_infomaniak.envelope import RETRY_ON, error_for

API = "https://api.infomaniak.com"
DRIVES = f"{API}/2/drive/users/current/drives"
MAIL = "https://mail.infomaniak.com"


def drives(client, ref):
    return client.get(f"/api/integrations/{ref}/services/kdrive/items")


# -- the mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, status, error",
    [
        ("error_object_not_found.json", 404, NotFound),
        ("error_not_authorized.json", 401, ReauthRequired),
        ("error_not_authorized.json", 403, ReauthRequired),
        ("error_forbidden.json", 403, Forbidden),
        ("error_limit_exceeded.json", 429, RateLimited),
        ("error_limit_exceeded.json", 400, RateLimited),
        ("error_maintenance.json", 503, UpstreamFailed),
        ("error_validation_failed.json", 400, UpstreamFailed),
        ("error_validation_failed.json", 404, NotFound),
    ],
)
def test_envelope_codes_map_to_the_hubs_errors(recorded, fixture, status, error):
    mapped = error_for("Infomaniak", status, recorded(fixture), {})

    assert type(mapped) is error
    assert "Infomaniak" in mapped.message
    assert recorded(fixture)["error"]["code"] in mapped.message


@pytest.mark.parametrize(
    "status, error",
    [
        (401, ReauthRequired),
        (403, Forbidden),
        (404, NotFound),
        (429, RateLimited),
        (408, UpstreamTimeout),
        (504, UpstreamTimeout),
        (500, UpstreamFailed),
        (502, UpstreamFailed),
        (503, UpstreamFailed),
        (400, UpstreamFailed),
    ],
)
def test_statuses_without_an_envelope_map_by_status(status, error):
    mapped = error_for("Infomaniak", status, None, {})

    assert type(mapped) is error and "Infomaniak" in mapped.message


def test_a_rate_limit_carries_retry_after(recorded):
    mapped = error_for(
        "Infomaniak", 429, recorded("error_limit_exceeded.json"), {"Retry-After": "30"}
    )

    assert mapped.retry_after == 30 and mapped.headers["Retry-After"] == "30"


def test_maintenance_says_so(recorded):
    mapped = error_for("Infomaniak", 503, recorded("error_maintenance.json"), {})

    assert "maintenance" in mapped.message


def test_the_retried_statuses_are_infomaniaks():
    assert frozenset({408, 429, 500, 502, 503, 504}) == RETRY_ON


# -- through the hub ---------------------------------------------------------------------------


def test_object_not_found_is_404(client, bearer, requests_mock, recorded):
    requests_mock.get(DRIVES, status_code=404, json=recorded("error_object_not_found.json"))

    response = drives(client, bearer)

    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_not_authorized_asks_to_connect_again(client, bearer, requests_mock, recorded):
    requests_mock.get(DRIVES, status_code=401, json=recorded("error_not_authorized.json"))

    response = drives(client, bearer)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "reauth_required"


def test_forbidden_error_is_403(client, bearer, requests_mock, recorded):
    requests_mock.get(DRIVES, status_code=403, json=recorded("error_forbidden.json"))

    response = drives(client, bearer)

    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_limit_exceeded_is_retried_then_rate_limited(
    client, bearer, requests_mock, recorded, waits
):
    requests_mock.get(
        DRIVES,
        status_code=429,
        headers={"Retry-After": "3"},
        json=recorded("error_limit_exceeded.json"),
    )

    response = drives(client, bearer)

    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert response.headers["Retry-After"] == "3"
    assert requests_mock.call_count == 3 and waits == [3.0, 3.0]


def test_limit_exceeded_with_another_status_is_rate_limited(
    client, bearer, requests_mock, recorded
):
    requests_mock.get(DRIVES, status_code=400, json=recorded("error_limit_exceeded.json"))

    assert drives(client, bearer).status_code == 429


def test_a_429_without_an_envelope_is_rate_limited(client, bearer, requests_mock):
    requests_mock.get(DRIVES, status_code=429, text="Too Many Requests")

    assert drives(client, bearer).status_code == 429


def test_maintenance_is_an_upstream_failure_naming_infomaniak(
    client, bearer, requests_mock, recorded
):
    requests_mock.get(DRIVES, status_code=503, json=recorded("error_maintenance.json"))

    response = drives(client, bearer)

    error = response.get_json()["error"]
    assert response.status_code == 502 and error["code"] == "upstream_failed"
    assert "Infomaniak" in error["message"] and "maintenance" in error["message"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_upstream_failures_naming_infomaniak(
    client, bearer, requests_mock, status
):
    requests_mock.get(DRIVES, status_code=status, text="<html>Bad gateway</html>")

    response = drives(client, bearer)

    assert response.status_code == 502
    assert "Infomaniak" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_with_backoff(
    client, bearer, requests_mock, recorded, waits, status
):
    requests_mock.get(
        DRIVES,
        [
            {"status_code": status, "text": "later"},
            {"status_code": status, "text": "later"},
            {"json": recorded("drives.json")},
        ],
    )

    response = drives(client, bearer)

    assert response.status_code == 200 and len(response.get_json()["items"]) == 2
    assert waits == [0.25, 0.5]


@pytest.mark.parametrize("status", [408, 504])
def test_timeouts_that_persist_are_504(client, bearer, requests_mock, status):
    requests_mock.get(DRIVES, status_code=status, text="timeout")

    response = drives(client, bearer)

    assert response.status_code == 504
    assert response.get_json()["error"]["code"] == "upstream_timeout"


def test_an_error_envelope_with_status_200_is_still_an_error(
    client, bearer, requests_mock, recorded
):
    requests_mock.get(DRIVES, json=recorded("error_forbidden.json"))

    assert drives(client, bearer).status_code == 403


def test_an_answer_that_is_not_json_is_an_upstream_failure(client, bearer, requests_mock):
    requests_mock.get(DRIVES, text="<html>login</html>", headers={"Content-Type": "text/html"})

    response = drives(client, bearer)

    assert response.status_code == 502 and "Infomaniak" in response.get_json()["error"]["message"]


def test_mail_errors_are_mapped_the_same_way(client, bearer, requests_mock, recorded):
    requests_mock.get(f"{MAIL}/api/mailbox", status_code=403, json=recorded("error_forbidden.json"))

    response = client.get(f"/api/integrations/{bearer}/services/mail/items")

    assert response.status_code == 403


def test_a_failed_message_download_is_mapped(client, bearer, requests_mock, recorded):
    url = f"{MAIL}/api/mail/mb/folder/f/message/7/download"
    requests_mock.get(url, status_code=404, json=recorded("error_object_not_found.json"))

    response = client.get(f"/api/integrations/{bearer}/services/mail/items/message:mb:f:7/download")

    assert response.status_code == 404


def test_an_error_envelope_in_place_of_a_message_is_mapped(client, bearer, requests_mock, recorded):
    url = f"{MAIL}/api/mail/mb/folder/f/message/7/download"
    requests_mock.get(
        url,
        json=recorded("error_forbidden.json"),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    response = client.get(f"/api/integrations/{bearer}/services/mail/items/message:mb:f:7/download")

    assert response.status_code == 403


def test_a_failed_file_download_is_mapped(client, bearer, requests_mock, recorded):
    url = f"{API}/2/drive/140946/files/42/download"
    requests_mock.get(url, status_code=403, json=recorded("error_forbidden.json"))

    response = client.get(f"/api/integrations/{bearer}/services/kdrive/items/140946:42/download")

    assert response.status_code == 403
