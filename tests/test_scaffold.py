"""``hub plugins new``: the plugin it writes installs with pip into an environment of its own,
passes its own tests there (the contract kit included), and a hub lists it and browses it."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli

SCRIPT = """
import requests_mock

import hub.netguard
from hub.testing import fake_dns, make_hub_app, signed_in_client

hub.netguard.resolve_host = fake_dns()
app = make_hub_app(__import__("pathlib").Path({instance!r}))
client = signed_in_client(app)
ref = client.post(
    "/api/integrations", json={{"name": "Acme", "provider": "acme_files", "authType": "bearer"}}
).get_json()["id"]
client.post(f"/api/integrations/{{ref}}/connection", json={{"token": "t"}})
with requests_mock.Mocker() as provider:
    provider.get(
        "https://api.acme_files.example/v1/list",
        json={{"entries": [{{"id": "x", "name": "hello.txt", "size": 5}}], "next": None}},
    )
    page = client.get(f"/api/integrations/{{ref}}/services/files/items").get_json()
print("browsed:", [item["name"] for item in page["items"]])
"""


def new_plugin(directory: Path, name: str = "acme_files"):
    return CliRunner().invoke(cli, ["plugins", "new", name, "--directory", str(directory)])


def test_a_bad_name_is_refused_naming_the_rule(tmp_path):
    result = new_plugin(tmp_path, "Acme-Files")

    assert result.exit_code != 0
    assert "'Acme-Files' cannot name a plugin: use 2-31 lower-case letters" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "hub-acme_files").mkdir()
    (tmp_path / "hub-acme_files" / "mine.txt").write_text("keep")

    result = new_plugin(tmp_path)

    assert result.exit_code != 0 and "already exists" in result.output
    assert [p.name for p in (tmp_path / "hub-acme_files").iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub-acme_files"]


def test_the_plugin_declares_its_entry_point_and_compatible_ranges(tmp_path):
    assert new_plugin(tmp_path).exit_code == 0
    root = tmp_path / "hub-acme_files"

    setup = (root / "setup.cfg").read_text()
    assert "integration-hub>=0.1,<1" in setup
    assert "hub.plugins =\n    acme_files = hub_acme_files" in setup
    assert 'HUB_PLUGIN_API = ">=1.0,<2"' in (root / "hub_acme_files" / "__init__.py").read_text()
    assert "${" not in "".join(
        p.read_text() for p in root.rglob("*") if p.suffix != ".svg" and p.is_file()
    )


@pytest.mark.slow
def test_the_new_plugin_installs_passes_its_tests_and_a_hub_browses_it(tmp_path):
    assert new_plugin(tmp_path).exit_code == 0
    plugin = tmp_path / "hub-acme_files"
    environment = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    python = environment / "bin" / "python"
    # The new environment sees the hub and the test tools installed here, as pip would have
    # put them there (installing them again would need the network).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    here = sysconfig.get_paths()["purelib"]
    (Path(site) / "hub-parent.pth").write_text(f"import site; site.addsitedir({here!r})\n")

    subprocess.run(
        [
            str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
            "--disable-pip-version-check", "-e", str(plugin),
        ],
        check=True,
    )  # fmt: skip
    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=plugin, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    listed = subprocess.run(
        [str(python), "-c", "from hub.cli import main; main()", "plugins", "list"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HUB_INSTANCE_PATH": str(tmp_path / "instance")},
    )  # fmt: skip
    browsed = subprocess.run(
        [str(python), "-c", textwrap.dedent(SCRIPT.format(instance=str(tmp_path / "hub")))],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip

    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    row = next(line for line in listed.stdout.splitlines() if line.startswith("acme_files "))
    assert row.split()[1:4] == ["hub-acme-files", "0.1.0", "ok"], listed.stdout + listed.stderr
    assert "browsed: ['hello.txt']" in browsed.stdout, browsed.stdout + browsed.stderr
