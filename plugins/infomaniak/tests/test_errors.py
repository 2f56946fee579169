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
    ValidationError,
)
from hub_infomaniak.envelope import RETRY_ON, error_for
from hub_infomaniak.scopes import ScopeNeed

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
        ("error_all_scopes.json", 403, Forbidden),
        ("error_limit_exceeded.json", 400, UpstreamFailed),
        ("error_limit_exceeded.json", 413, UpstreamFailed),
        ("error_limit_exceeded.json", 429, UpstreamFailed),
        ("error_maintenance.json", 503, UpstreamFailed),
        ("error_drive_maintenance.json", 503, UpstreamFailed),
        ("error_drive_maintenance.json", 400, UpstreamFailed),
        ("error_product_blocked.json", 403, Forbidden),
        ("error_product_blocked.json", 400, Forbidden),
        ("error_invalid_cursor.json", 400, ValidationError),
        ("error_message_not_found.json", 404, NotFound),
        ("error_message_not_found.json", 400, NotFound),
        ("error_folder_not_exists.json", 404, NotFound),
        ("error_folder_not_exists.json", 400, NotFound),
        ("error_mailbox_locked.json", 403, Forbidden),
        ("error_mailbox_locked.json", 400, Forbidden),
        ("error_too_many_request.json", 429, RateLimited),
        ("error_too_many_request.json", 400, RateLimited),
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
        "Infomaniak", 429, recorded("error_too_many_request.json"), {"Retry-After": "30"}
    )

    assert mapped.retry_after == 30 and mapped.headers["Retry-After"] == "30"


def test_limit_exceeded_is_a_size_limit_never_a_rate_limit(recorded):
    mapped = error_for(
        "Infomaniak", 429, recorded("error_limit_exceeded.json"), {"Retry-After": "30"}
    )

    assert not isinstance(mapped, RateLimited) and "Retry-After" not in mapped.headers
    assert "too big or there are too many files" in mapped.message
    assert "not a rate limit" in mapped.message


def test_a_missing_scope_is_named_with_the_way_to_get_it(recorded):
    mapped = error_for("Infomaniak", 403, recorded("error_all_scopes.json"), {})

    assert "'drive'" in mapped.message
    assert "user_info, drive, workspace:mail" in mapped.message
    assert "manager.infomaniak.com" in mapped.message


def test_a_401_names_the_scope_the_call_needs(recorded):
    need = ScopeNeed(scope="workspace:mail")

    mapped = error_for("Infomaniak", 401, recorded("error_not_authorized.json"), {}, need=need)

    assert type(mapped) is ReauthRequired and "'workspace:mail'" in mapped.message


def test_an_identity_only_oauth_grant_is_told_apart(recorded):
    need = ScopeNeed(scope="drive", granted="openid profile email phone")

    mapped = error_for("Infomaniak", 403, recorded("error_all_scopes.json"), {}, need=need)

    assert "granted only 'openid profile email phone'" in mapped.message


def test_the_old_scope_names_are_pointed_out(recorded):
    need = ScopeNeed(scope="drive", requested="user_info kdrive mail")

    mapped = error_for("Infomaniak", 403, recorded("error_all_scopes.json"), {}, need=need)

    assert "'kdrive' (its name is 'drive')" in mapped.message
    assert "'mail' (its name is 'workspace:mail')" in mapped.message


def test_a_403_describing_a_scope_is_a_scope_refusal():
    envelope = {"result": "error", "error": {"code": "forbidden", "description": "Missing scope"}}

    mapped = error_for("Infomaniak", 403, envelope, {}, need=ScopeNeed(scope="drive"))

    assert type(mapped) is Forbidden and "'drive'" in mapped.message


def test_an_expired_cursor_names_the_cursor(recorded):
    mapped = error_for("Infomaniak", 400, recorded("error_invalid_cursor.json"), {})

    assert mapped.status == 400 and "cursor" in mapped.fields


def test_drive_maintenance_says_try_later_with_retry_after(recorded):
    mapped = error_for(
        "Infomaniak", 503, recorded("error_drive_maintenance.json"), {"Retry-After": "60"}
    )

    assert "maintenance" in mapped.message and "try again later" in mapped.message
    assert mapped.headers == {"Retry-After": "60"}


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


def test_too_many_request_is_retried_then_rate_limited(
    client, bearer, requests_mock, recorded, waits
):
    requests_mock.get(
        DRIVES,
        status_code=429,
        headers={"Retry-After": "3"},
        json=recorded("error_too_many_request.json"),
    )

    response = drives(client, bearer)

    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert response.headers["Retry-After"] == "3"
    assert requests_mock.call_count == 3 and waits == [3.0, 3.0]


def test_limit_exceeded_is_not_answered_as_a_rate_limit(client, bearer, requests_mock, recorded):
    requests_mock.get(DRIVES, status_code=400, json=recorded("error_limit_exceeded.json"))

    response = drives(client, bearer)

    assert response.status_code == 502 and "Retry-After" not in response.headers
    assert "too big" in response.get_json()["error"]["message"]
    assert requests_mock.call_count == 1


def test_a_kdrive_refusal_for_a_missing_scope_names_drive(client, bearer, requests_mock, recorded):
    requests_mock.get(DRIVES, status_code=403, json=recorded("error_all_scopes.json"))

    response = drives(client, bearer)

    error = response.get_json()["error"]
    assert response.status_code == 403 and error["code"] == "forbidden"
    assert "'drive'" in error["message"] and "workspace:mail" in error["message"]


def test_a_mail_401_names_workspace_mail(client, bearer, requests_mock, recorded):
    requests_mock.get(
        f"{MAIL}/api/mailbox", status_code=401, json=recorded("error_not_authorized.json")
    )

    response = client.get(f"/api/integrations/{bearer}/services/mail/items")

    error = response.get_json()["error"]
    assert response.status_code == 409 and error["code"] == "reauth_required"
    assert "'workspace:mail'" in error["message"]


def test_a_locked_mailbox_is_403(client, bearer, requests_mock, recorded):
    requests_mock.get(
        f"{MAIL}/api/mailbox", status_code=403, json=recorded("error_mailbox_locked.json")
    )

    response = client.get(f"/api/integrations/{bearer}/services/mail/items")

    assert response.status_code == 403 and "locked" in response.get_json()["error"]["message"]


def test_a_message_that_is_gone_is_404(client, bearer, requests_mock, recorded):
    url = f"{MAIL}/api/mail/mb/folder/f/message/7/download"
    requests_mock.get(url, status_code=400, json=recorded("error_message_not_found.json"))

    response = client.get(f"/api/integrations/{bearer}/services/mail/items/message:mb:f:7/download")

    assert response.status_code == 404


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
