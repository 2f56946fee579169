"""Encrypted values in the configuration (issue 21): ``hub secrets encrypt`` → ``enc:`` in the
environment → the hub uses the plaintext; every way the value can be wrong stops the start with one
line naming the setting and the key id; the plaintext is in no log, page or listing; an env file
re-encrypted after a key rotation keeps every other byte."""

from __future__ import annotations

import logging
import os
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from hub import config_secrets, create_app, migrations
from hub.crypto import KeyRing, generate_key
from tests.conftest import PASSWORD, HubCliRunner
from tests.live_servers import HUB, clean_environment

PLAIN = "s3cr3t-client-value-9f2c"
TOKEN_URL = "https://auth.example.org/token"


def encrypt_with_cli(app, name: str, value: str = PLAIN) -> str:
    """``hub secrets encrypt NAME`` with the value on standard input; its one line of output."""
    result = HubCliRunner(app).invoke(args=["secrets", "encrypt", name], input=value + "\n")
    assert result.exit_code == 0, result.output
    sealed = result.output.strip()
    assert sealed.startswith("enc:") and value not in sealed
    return sealed


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def file_keyed(tmp_path, database_url):
    """Apps whose key ring is the instance's key file (as ``make run`` sets one up), which
    ``hub keys rotate`` adds a key to."""

    def make():
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "keyed"),
                "DATABASE_URL": database_url,
                "SECRET_KEY": "test-secret-key",
            }
        )
        with app.app_context():
            migrations.migrate()
        return app

    return make


def test_an_encrypted_client_secret_in_the_environment_connects(
    make_app, make_user, monkeypatch, key, requests_mock
):
    first = make_app(ENCRYPTION_KEYS=key)
    sealed = encrypt_with_cli(first, "HUB_TESTFILES_CLIENT_SECRET")
    monkeypatch.setenv("HUB_TESTFILES_CLIENT_ID", "files-client")
    monkeypatch.setenv("HUB_TESTFILES_CLIENT_SECRET", sealed)
    from importlib import metadata

    import hub.plugins as plugin_module
    from hub.plugins import ENTRY_POINT_GROUP

    point = metadata.EntryPoint(
        name="testfiles", value="tests.support_provider", group=ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
    app = make_app(ENCRYPTION_KEYS=key)
    assert app.config["TESTFILES_CLIENT_SECRET"] == PLAIN
    make_user("alice")
    alice = app.test_client()
    alice.post("/api/login", json={"username": "alice", "password": PASSWORD})
    ref = alice.post(
        "/api/integrations", json={"name": "Files", "provider": "testfiles", "authType": "oauth2"}
    ).json["id"]
    started = alice.get(f"/api/integrations/{ref}/connect")
    assert started.status_code == 302, started.json
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    requests_mock.post(
        TOKEN_URL, json={"access_token": "a", "refresh_token": "r", "expires_in": 3600}
    )
    back = alice.get("/oauth2/callback", query_string={"state": state, "code": "c"})
    assert back.status_code == 303
    sent = parse_qs(requests_mock.last_request.text)
    assert sent["client_secret"] == [PLAIN]


def start_hub(tmp_path, database_url, **settings: str) -> subprocess.CompletedProcess[str]:
    """``hub init`` in a process of its own: what an operator sees."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    environment = clean_environment(
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),
        HUB_DATABASE_URL=database_url,
        HUB_SECRET_KEY="test-secret-key",
        **settings,
    )
    return subprocess.run(
        [str(HUB), "init", "--no-admin"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert PLAIN not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.slow
def test_a_value_that_does_not_decrypt_stops_the_start_with_one_line(
    make_app, tmp_path, database_url, key
):
    sealed = encrypt_with_cli(make_app(ENCRYPTION_KEYS=key), "HUB_GOOGLE_CLIENT_SECRET")
    kid = KeyRing([key]).primary_kid
    cases = {
        # the right value under another setting's name
        "moved": {"HUB_DEMO_CLIENT_SECRET": sealed, "HUB_ENCRYPTION_KEYS": key},
        # cut short while pasting
        "truncated": {"HUB_GOOGLE_CLIENT_SECRET": sealed[:-10], "HUB_ENCRYPTION_KEYS": key},
        # a key ring without its key
        "missing key": {"HUB_GOOGLE_CLIENT_SECRET": sealed, "HUB_ENCRYPTION_KEYS": generate_key()},
        # the prefix and nothing more
        "mangled": {"HUB_GOOGLE_CLIENT_SECRET": "enc:" + kid, "HUB_ENCRYPTION_KEYS": key},
    }
    named = {
        "moved": "HUB_DEMO_CLIENT_SECRET",
        "truncated": "HUB_GOOGLE_CLIENT_SECRET",
        "missing key": "HUB_GOOGLE_CLIENT_SECRET",
        "mangled": "HUB_GOOGLE_CLIENT_SECRET",
    }
    for case, settings in cases.items():
        line = one_line(start_hub(tmp_path / case.replace(" ", "-"), database_url, **settings))
        assert named[case] in line, (case, line)
        if case != "mangled":
            assert kid in line, (case, line)
    ok = start_hub(
        tmp_path / "ok", database_url, HUB_GOOGLE_CLIENT_SECRET=sealed, HUB_ENCRYPTION_KEYS=key
    )
    assert ok.returncode == 0, ok.stderr


def test_a_value_in_instance_config_py_decrypts_too(make_app, tmp_path, key):
    sealed = encrypt_with_cli(make_app(ENCRYPTION_KEYS=key), "HUB_TENANT_ID", "tenant-7")
    folder = tmp_path / "instance"
    folder.mkdir(exist_ok=True)
    (folder / "config.py").write_text(f"TENANT_ID = {sealed!r}\n")
    from hub.config import settings

    values = settings(folder, {"ENCRYPTION_KEYS": key})
    assert values["TENANT_ID"] == "tenant-7"
    assert values["SEALED_SETTINGS"] == {"TENANT_ID": KeyRing([key]).primary_kid}


def test_a_sealed_number_that_is_not_one_is_refused_without_showing_it(make_app, tmp_path, key):
    sealed = encrypt_with_cli(
        make_app(ENCRYPTION_KEYS=key), "HUB_LOGIN_MAX_FAILURES", "five-" + PLAIN
    )
    from hub.config import settings

    with pytest.raises(ValueError) as refused:
        settings(tmp_path / "instance", {"ENCRYPTION_KEYS": key, "LOGIN_MAX_FAILURES": sealed})
    assert "HUB_LOGIN_MAX_FAILURES" in str(refused.value)
    assert PLAIN not in str(refused.value)


def test_the_key_ring_itself_cannot_be_sealed(tmp_path, key):
    from hub.config import settings

    with pytest.raises(config_secrets.ConfigSecretError, match="HUB_ENCRYPTION_KEYS"):
        settings(tmp_path / "instance", {"ENCRYPTION_KEYS": "enc:abcdefgh:xyz"})


def test_the_plaintext_is_in_no_log_page_or_listing(make_app, make_user, key, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    sealed = encrypt_with_cli(make_app(ENCRYPTION_KEYS=key), "HUB_GOOGLE_CLIENT_SECRET")
    monkeypatch.setenv("HUB_GOOGLE_CLIENT_ID", "google-client-id")
    monkeypatch.setenv("HUB_GOOGLE_CLIENT_SECRET", sealed)
    app = make_app(ENCRYPTION_KEYS=key)
    make_user("root", superuser=True)
    root = app.test_client()
    root.post("/api/login", json={"username": "root", "password": PASSWORD})
    seen = []
    for path in (
        "/admin/providers",
        "/admin/providers/google",
        "/admin/plugins",
        "/api/providers",
        "/api/providers/google",
        "/api/providers/google/credentials",
        "/integrations/new?provider=google",
    ):
        response = root.get(path)
        assert response.status_code == 200, path
        seen.append(response.get_data(as_text=True))
    listing = HubCliRunner(app).invoke(args=["plugins", "list", "--json"])
    seen.append(listing.output)
    seen += [record.getMessage() for record in caplog.records]
    assert all(PLAIN not in text for text in seen)
    assert any("google-client-id" in text for text in seen)  # the pages did show the client


def test_keys_rotate_names_the_configuration_values_left_under_the_old_key(file_keyed, monkeypatch):
    """Keys from the instance file: rotation adds a key and says which enc: values to redo."""
    sealed = encrypt_with_cli(file_keyed(), "HUB_GOOGLE_CLIENT_SECRET")
    old = sealed.split(":")[1]
    monkeypatch.setenv("HUB_GOOGLE_CLIENT_SECRET", sealed)
    app = file_keyed()
    result = HubCliRunner(app).invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert f"HUB_GOOGLE_CLIENT_SECRET is still under key {old}" in result.output


ENV_FILE = (
    b"# the hub's settings, kept in the repository\r\n"
    b"HUB_PUBLIC_URL=https://hub.example.org\r\n"
    b"export HUB_GOOGLE_CLIENT_SECRET={google}  # from the Google console\r\n"
    b"\r\n"
    b"HUB_DATABASE_URL='{database}'\n"
    b'HUB_TENANT_ID="plain-tenant"\n'
    b"   # HUB_OLD=enc:commented:out\n"
    b"HUB_METRICS=1"
)


def test_reencrypt_rewrites_only_the_enc_values_of_an_env_file(file_keyed, tmp_path):
    app = file_keyed()
    google = encrypt_with_cli(app, "HUB_GOOGLE_CLIENT_SECRET")
    database = encrypt_with_cli(app, "HUB_DATABASE_URL", "postgresql://hub:pw@db/hub")
    path = tmp_path / "hub.env"
    original = ENV_FILE.replace(b"{google}", google.encode()).replace(
        b"{database}", database.encode()
    )
    path.write_bytes(original)
    os.chmod(path, 0o640)
    rotated = HubCliRunner(app).invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output

    after_rotation = file_keyed()
    result = HubCliRunner(after_rotation).invoke(args=["secrets", "reencrypt", str(path)])
    assert result.exit_code == 0, result.output
    assert "HUB_GOOGLE_CLIENT_SECRET, HUB_DATABASE_URL" in result.output
    rewritten = path.read_bytes()
    ring = after_rotation.extensions["hub"].keyring
    new_google = rewritten.split(b"SECRET=")[1].split(b" ")[0].decode()
    new_database = rewritten.split(b"DATABASE_URL='")[1].split(b"'")[0].decode()
    assert new_google.split(":")[1] == ring.primary_kid != google.split(":")[1]
    assert config_secrets.decrypt(ring, "HUB_GOOGLE_CLIENT_SECRET", new_google) == PLAIN
    assert (
        config_secrets.decrypt(ring, "HUB_DATABASE_URL", new_database)
        == "postgresql://hub:pw@db/hub"
    )
    assert (
        rewritten.replace(new_google.encode(), google.encode()).replace(
            new_database.encode(), database.encode()
        )
        == original
    )
    assert path.stat().st_mode & 0o777 == 0o640


def test_reencrypt_leaves_a_file_with_a_bad_value_untouched(make_app, tmp_path, key):
    app = make_app(ENCRYPTION_KEYS=key)
    sealed = encrypt_with_cli(app, "HUB_GOOGLE_CLIENT_SECRET")
    path = tmp_path / "hub.env"
    content = f"HUB_DEMO_CLIENT_SECRET={sealed}\n".encode()
    path.write_bytes(content)
    result = HubCliRunner(app).invoke(args=["secrets", "reencrypt", str(path)])
    assert result.exit_code != 0
    assert "HUB_DEMO_CLIENT_SECRET" in result.output and "not changed" in result.output
    assert path.read_bytes() == content


def test_decrypt_is_only_for_the_instance_owner(make_app, tmp_path, key):
    app = make_app(ENCRYPTION_KEYS=key)
    sealed = encrypt_with_cli(app, "HUB_GOOGLE_CLIENT_SECRET")
    runner = HubCliRunner(app)
    shown = runner.invoke(args=["secrets", "decrypt", "HUB_GOOGLE_CLIENT_SECRET"], input=sealed)
    assert shown.exit_code == 0 and shown.output.strip() == PLAIN
    instance = app.instance_path
    owner = os.stat(instance).st_uid
    try:
        os.chown(instance, owner + 4242, -1)
    except PermissionError:
        pytest.skip("changing the instance folder's owner needs root here")
    try:
        refused = runner.invoke(
            args=["secrets", "decrypt", "HUB_GOOGLE_CLIENT_SECRET"], input=sealed
        )
    finally:
        os.chown(instance, owner, -1)
    assert refused.exit_code != 0
    assert "owner of the instance folder" in refused.output and PLAIN not in refused.output


def test_the_value_comes_from_standard_input_never_the_command_line(make_app, key):
    app = make_app(ENCRYPTION_KEYS=key)
    result = HubCliRunner(app).invoke(args=["secrets", "encrypt", "HUB_X", PLAIN])
    assert result.exit_code != 0  # no second argument to take a value from
    empty = HubCliRunner(app).invoke(args=["secrets", "encrypt", "HUB_X"], input="")
    assert empty.exit_code != 0 and "standard input" in empty.output
    bad = HubCliRunner(app).invoke(args=["secrets", "encrypt", "hub x"], input="v\n")
    assert bad.exit_code != 0 and "not a setting name" in bad.output


def test_a_plugin_command_without_an_app_sees_the_plaintext(tmp_path, key, monkeypatch):
    ring = KeyRing([key])
    monkeypatch.setenv("HUB_ACME_TOKEN", config_secrets.encrypt(ring, "HUB_ACME_TOKEN", "t-1"))
    from hub.config import settings

    # settings() is what hub.cli.main and plugin commands read: no app, no database needed.
    assert settings(tmp_path / "instance", {"ENCRYPTION_KEYS": key})["ACME_TOKEN"] == "t-1"
