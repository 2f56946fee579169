"""The helpers hub.testing gives plugin authors work as documented."""

from __future__ import annotations

from hub.testing import fake_dns, make_hub_app, signed_in_client


def test_a_hub_for_plugin_tests_serves_a_signed_in_client(tmp_path):
    app = make_hub_app(tmp_path / "instance")
    client = signed_in_client(app, "author")
    assert client.get("/api/me").json["name"] == "author"
    names = {p["name"] for p in client.get("/api/providers").json["items"]}
    assert {"custom", "google", "infomaniak", "powerfolder"} <= names


def test_fake_dns_answers_public_unless_told_otherwise():
    resolve = fake_dns({"intranet.example.org": "10.0.0.1"})
    assert resolve("api.example.org") == ["93.184.216.34"]
    assert resolve("Intranet.Example.org") == ["10.0.0.1"]


def test_isolate_clears_shell_settings_and_dns_for_one_test(monkeypatch):
    import hub.netguard
    from hub.testing import isolate

    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://somewhere/else")
    isolate(monkeypatch)
    import os

    assert "HUB_DATABASE_URL" not in os.environ
    assert hub.netguard.resolve_host("api.example.org") == ["93.184.216.34"]
