"""``GET /metrics`` (docs/deploy.md, "Metrics"): off the public surface unless ``HUB_METRICS``,
counting refreshes, proxied calls and downloads with bounded labels, and adding up every
gunicorn worker under ``hub serve``."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from hub import metrics
from hub.db import database
from hub.models import Connection, Integration
from hub.tokens import ensure_fresh
from tests.support_provider import API
from tests.test_refresh_race import TOKEN, connected

from .live_servers import hub_server

NAMES = (
    "hub_token_refresh_attempts",
    "hub_token_refresh_successes",
    "hub_token_refresh_failures",
    "hub_token_refresh_reauths",
    "hub_proxy_requests",
    "hub_proxy_request_duration_seconds",
    "hub_download_requests",
    "hub_download_request_duration_seconds",
    "hub_background_refresher_leader",
    "hub_background_refresher_lag_seconds",
)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def hub_samples():
    for family in REGISTRY.collect():
        if family.name.startswith("hub_"):
            yield from family.samples


# -- exposure --------------------------------------------------------------------------------


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_on_answer_the_prometheus_text_format(make_app):
    response = make_app(METRICS="1").test_client().get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    families = {family.name for family in text_string_to_metric_families(text)}
    assert set(NAMES) <= families
    assert "# TYPE hub_proxy_request_duration_seconds histogram" in text


def test_metrics_off_answer_an_administrators_api_token_only(app, admin, alice, token_for):
    client = app.test_client()
    assert client.get("/metrics", headers=token_for("admin")).status_code == 200
    assert client.get("/metrics", headers=token_for("alice")).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404


# -- what is counted -------------------------------------------------------------------------


def test_a_proxied_call_counts_by_provider_and_status_class(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/users/me", json={"id": 1})
    requests_mock.get(f"{API}/missing", status_code=404, json={})
    ok = {"provider": "testfiles", "status_class": "2xx"}
    missing = {"provider": "testfiles", "status_class": "4xx"}
    before = (
        sample("hub_proxy_requests_total", **ok),
        sample("hub_proxy_requests_total", **missing),
        sample("hub_proxy_request_duration_seconds_count", provider="testfiles"),
    )
    base = f"/api/integrations/{files_integration}/proxy"
    assert files_client.get(f"{base}/users/me").status_code == 200
    assert files_client.get(f"{base}/users/me").status_code == 200
    assert files_client.get(f"{base}/missing").status_code == 404
    assert sample("hub_proxy_requests_total", **ok) == before[0] + 2
    assert sample("hub_proxy_requests_total", **missing) == before[1] + 1
    assert sample("hub_proxy_request_duration_seconds_count", provider="testfiles") == (
        before[2] + 3
    )


def test_a_request_refused_before_its_provider_is_known_counts_as_none(app):
    labels = {"provider": metrics.NO_PROVIDER, "status_class": "4xx"}
    before = sample("hub_proxy_requests_total", **labels)
    assert app.test_client().get("/api/integrations/x/proxy/secret/path").status_code == 401
    assert sample("hub_proxy_requests_total", **labels) == before + 1


def test_a_download_counts_by_provider_and_status_class(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/content/report.pdf", content=b"%PDF", headers={"Content-Length": "4"})
    labels = {"provider": "testfiles", "status_class": "2xx"}
    before = sample("hub_download_requests_total", **labels)
    before_time = sample("hub_download_request_duration_seconds_count", provider="testfiles")
    response = files_client.get(
        f"/api/integrations/{files_integration}/services/files/items/report.pdf/download"
    )
    assert response.status_code == 200 and response.data == b"%PDF"
    assert sample("hub_download_requests_total", **labels) == before + 1
    assert sample("hub_download_request_duration_seconds_count", provider="testfiles") == (
        before_time + 1
    )


def test_refresh_successes_and_reauths_count_by_provider(app, make_user, requests_mock):
    make_user("alice")
    before = {
        what: sample(f"hub_token_refresh_{what}_total", provider="custom")
        for what in ("attempts", "successes", "failures", "reauths")
    }
    requests_mock.post(
        TOKEN,
        [
            {"json": {"access_token": "new", "refresh_token": "r2", "expires_in": 3600}},
            {"status_code": 400, "json": {"error": "invalid_grant"}},
        ],
    )
    provider = app.extensions["hub"].registry.provider("custom")
    with app.app_context(), database.connection_context():
        connection = connected("alice", "old", dt.datetime(2020, 1, 1))
        integration = Integration.get_by_id(connection.integration_id)
        ensure_fresh(provider, integration, connection)
        connection = Connection.get_by_id(connection.id)
        with pytest.raises(Exception, match="re-authorised"):
            ensure_fresh(provider, integration, connection, replace=True)
    after = {
        what: sample(f"hub_token_refresh_{what}_total", provider="custom")
        for what in ("attempts", "successes", "failures", "reauths")
    }
    assert after["attempts"] == before["attempts"] + 2
    assert after["successes"] == before["successes"] + 1
    assert after["reauths"] == before["reauths"] + 1
    assert after["failures"] == before["failures"]


def test_labels_never_carry_an_integration_id_or_a_path(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/private/alice-notes", json={})
    requests_mock.get(f"{API}/content/alice-notes.txt", content=b"x")
    base = f"/api/integrations/{files_integration}"
    files_client.get(f"{base}/proxy/private/alice-notes")
    files_client.get(f"{base}/services/files/items/alice-notes.txt/download")
    files_client.get("/api/integrations/no-such-integration/proxy/private/alice-notes")
    for found in hub_samples():
        assert set(found.labels) <= {"provider", "status_class", "le"}, found.name
        provider = found.labels.get("provider", "none")
        # a provider's name (other tests' providers too), never the integration's id or slug
        assert re.fullmatch(r"[a-z][a-z0-9_-]*", provider), found
        assert provider not in (str(files_integration), "files"), found
        assert found.labels.get("status_class") in (None, "2xx", "3xx", "4xx", "5xx"), found
        for value in found.labels.values():
            assert "alice" not in value and "/" not in value and "no-such" not in value


def test_the_background_refresher_reports_leadership_and_lag():
    metrics.background_refresher(leader=True, lag_seconds=12.5)
    assert sample("hub_background_refresher_leader") == 1
    assert sample("hub_background_refresher_lag_seconds") == 12.5
    metrics.background_refresher(leader=False, lag_seconds=99)
    assert sample("hub_background_refresher_leader") == 0
    assert sample("hub_background_refresher_lag_seconds") == 0


# -- hub serve: every worker counted ---------------------------------------------------------

PROXIED = "hub_proxy_requests_total"


def refused_proxy_call(url: str) -> int:
    """One unauthenticated proxied call on a new connection (401, provider ``none``)."""
    try:
        urllib.request.urlopen(f"{url}/api/integrations/x/proxy/p", timeout=10)
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def per_worker(folder: Path, scratch: Path) -> list[float]:
    """Each worker's count of refused proxied calls, read from its own file."""
    counts = []
    for file in sorted(folder.glob("counter_*.db")):
        alone = scratch / file.stem
        alone.mkdir(parents=True)
        shutil.copy(file, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, str(alone))
        labels = {"provider": "none", "status_class": "4xx"}
        counts.append(registry.get_sample_value(PROXIED, labels) or 0.0)
    return counts


def test_hub_serve_adds_up_the_metrics_of_every_worker(tmp_path):
    sent = 0
    with hub_server(tmp_path / "hub", None, HUB_METRICS="1") as hub:
        folder = tmp_path / "hub" / "instance" / f"metrics-{hub.process.pid}"
        assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(10):  # until both workers served some (almost always the first round)
                codes = list(pool.map(lambda _: refused_proxy_call(hub.url), range(40)))
                assert codes == [401] * 40
                sent += 40
                if sum(1 for n in per_worker(folder, tmp_path / f"r{sent}") if n) >= 2:
                    break
        counts = per_worker(folder, tmp_path / "final")
        assert len([n for n in counts if n]) == 2, counts
        with urllib.request.urlopen(f"{hub.url}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        total = {
            tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == PROXIED
        }
        assert total[(("provider", "none"), ("status_class", "4xx"))] == sent == sum(counts)
    assert not folder.exists()  # removed when the server stopped
