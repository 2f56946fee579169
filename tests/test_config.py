"""The application factory and its settings."""

from __future__ import annotations

import ipaddress
import stat

import pytest

from hub import config, create_app
from hub.config import ENCRYPTION_KEY_FILE, SECRET_KEY_FILE
from hub.crypto import CryptoError


def owner_only(path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


@pytest.fixture
def bare_app_config(tmp_path):
    """Settings for an app that creates its own instance files."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'hub.db'}",
    }


def test_first_start_creates_the_instance_folder_and_key_files_owner_only(
    bare_app_config, tmp_path
):
    app = create_app(bare_app_config)
    instance = tmp_path / "instance"
    assert owner_only(instance)
    for name in (SECRET_KEY_FILE, ENCRYPTION_KEY_FILE):
        assert owner_only(instance / name), name
    assert app.config["SECRET_KEY"] == (instance / SECRET_KEY_FILE).read_text().strip()
    assert app.config["ENCRYPTION_KEYS_SOURCE"].endswith(ENCRYPTION_KEY_FILE)


def test_the_sqlite_database_file_is_owner_only(bare_app_config, tmp_path):
    create_app(bare_app_config)
    assert owner_only(tmp_path / "instance" / "hub.db")


def test_a_second_start_keeps_the_same_keys(bare_app_config):
    first = create_app(bare_app_config)
    second = create_app(bare_app_config)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.extensions["hub"].keyring.kids == second.extensions["hub"].keyring.kids


def test_the_instance_path_comes_from_hub_instance_path(monkeypatch, tmp_path):
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    app = create_app({"TESTING": True})
    assert app.instance_path == str(tmp_path / "elsewhere")
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'elsewhere' / 'hub.db'}"


def test_environment_variables_override_the_instance_config_file(
    bare_app_config, tmp_path, monkeypatch
):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "TENANT_ID = 'from-file'\nPUBLIC_URL = 'https://file.example'\n"
    )
    monkeypatch.setenv("HUB_TENANT_ID", "from-env")
    app = create_app(bare_app_config)
    assert app.config["TENANT_ID"] == "from-env"
    assert app.config["PUBLIC_URL"] == "https://file.example"


def test_settings_have_the_documented_defaults(bare_app_config):
    app = create_app(bare_app_config)
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:5000"
    assert app.config["ALLOW_PRIVATE_ADDRESSES"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert not app.config.get("SESSION_COOKIE_SECURE")


@pytest.mark.parametrize(
    "value, expected", [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_boolean_settings_read_the_usual_spellings(bare_app_config, monkeypatch, value, expected):
    monkeypatch.setenv("HUB_ALLOW_PRIVATE_ADDRESSES", value)
    assert create_app(bare_app_config).config["ALLOW_PRIVATE_ADDRESSES"] is expected


@pytest.mark.parametrize("value", ["127.0.0.1", " 127.0.0.1/32 , 192.168.1.0/24,fd00::/8 "])
def test_allowed_private_addresses_may_be_a_list_of_addresses_and_networks(
    bare_app_config, monkeypatch, value
):
    monkeypatch.setenv("HUB_ALLOW_PRIVATE_ADDRESSES", value)

    allowed = create_app(bare_app_config).config["ALLOW_PRIVATE_ADDRESSES"]

    assert ipaddress.ip_network("127.0.0.1/32") in allowed
    assert all(
        isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network) for network in allowed
    )
    assert len(allowed) == len(value.split(","))


def test_an_allowed_private_address_list_with_a_mistake_stops_the_start(
    bare_app_config, monkeypatch
):
    monkeypatch.setenv("HUB_ALLOW_PRIVATE_ADDRESSES", "127.0.0.1,nas.lan")

    with pytest.raises(ValueError, match=r"HUB_ALLOW_PRIVATE_ADDRESSES .* not 'nas\.lan'"):
        create_app(bare_app_config)


def test_an_https_public_url_makes_session_cookies_secure(bare_app_config, monkeypatch):
    monkeypatch.setenv("HUB_PUBLIC_URL", "https://hub.example.org/")
    app = create_app(bare_app_config)
    assert app.config["PUBLIC_URL"] == "https://hub.example.org"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_encryption_keys_from_the_environment_are_used_and_no_key_file_is_written(
    bare_app_config, monkeypatch, tmp_path
):
    from hub.crypto import generate_key

    newest, older = generate_key(), generate_key()
    monkeypatch.setenv("HUB_ENCRYPTION_KEYS", f"{newest},{older}")
    app = create_app(bare_app_config)
    assert len(app.extensions["hub"].keyring.kids) == 2
    assert not (tmp_path / "instance" / ENCRYPTION_KEY_FILE).exists()


def test_a_malformed_encryption_key_stops_the_start_with_a_clear_message(
    bare_app_config, monkeypatch
):
    monkeypatch.setenv("HUB_ENCRYPTION_KEYS", "not-a-key")
    with pytest.raises(CryptoError, match="key #1"):
        create_app(bare_app_config)


def test_an_unsupported_database_url_is_refused_by_name(bare_app_config):
    bare_app_config["DATABASE_URL"] = "mysql://db/hub"
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'"):
        create_app(bare_app_config)


def test_the_oauth_libraries_debug_logs_stay_off(bare_app_config):
    import logging

    create_app(bare_app_config)
    for name in ("oauthlib", "requests_oauthlib"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG)


def test_a_number_setting_from_the_environment_becomes_a_number(bare_app_config, monkeypatch):
    monkeypatch.setenv("HUB_LOGIN_MAX_FAILURES", "7")
    assert create_app(bare_app_config).config["LOGIN_MAX_FAILURES"] == 7


def test_a_number_setting_that_is_not_a_number_is_refused_by_name(bare_app_config, monkeypatch):
    monkeypatch.setenv("HUB_MAX_CONTENT_LENGTH", "lots")
    with pytest.raises(ValueError, match="HUB_MAX_CONTENT_LENGTH"):
        create_app(bare_app_config)


def test_trusted_proxies_make_the_forwarded_client_address_count(bare_app_config):
    from flask import request

    bare_app_config["TRUSTED_PROXIES"] = 1
    app = create_app(bare_app_config)
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.get_data(as_text=True) == "203.0.113.9"


def test_forwarded_headers_are_ignored_without_trusted_proxies(bare_app_config):
    from flask import request

    app = create_app(bare_app_config)
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.get_data(as_text=True) != "203.0.113.9"


def test_settings_without_an_app_read_every_source_in_order(tmp_path, monkeypatch):
    """What plugin commands read: defaults < instance/config.py < HUB_* < test_config, parsed."""
    (tmp_path / "config.py").write_text(
        "PUBLIC_URL = 'https://hub.example.org/'\n"
        "ALLOW_PRIVATE_ADDRESSES = '10.0.0.0/8'\n"
        "TENANT_ID = 'from-file'\n"
    )
    monkeypatch.setenv("HUB_TENANT_ID", "from-env")
    values = config.settings(tmp_path)
    assert values["PUBLIC_URL"] == "https://hub.example.org"
    assert [str(n) for n in values["ALLOW_PRIVATE_ADDRESSES"]] == ["10.0.0.0/8"]
    assert values["TENANT_ID"] == "from-env"
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'hub.db'}"
    assert config.settings(tmp_path, {"TENANT_ID": "given"})["TENANT_ID"] == "given"


def test_settings_name_a_value_they_cannot_read(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_ALLOW_PRIVATE_ADDRESSES", "10.0.0.0/8,nonsense")
    with pytest.raises(ValueError, match=r"HUB_ALLOW_PRIVATE_ADDRESSES .* 'nonsense'"):
        config.settings(tmp_path)
