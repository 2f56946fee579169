"""The documentation keeps up with the code it describes.

Each test reads a list from the code (hooks, routes, overridable targets, settings) and checks that
the matching document names every item, so adding a hook, a route or a setting without writing it
down fails the suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub import config, hookspecs
from hub.providers import OVERRIDABLE

ROOT = Path(__file__).resolve().parents[1]
PLUGINS_GUIDE = ROOT / "docs" / "plugins.md"
HOOKS_REFERENCE = ROOT / "docs" / "hooks.md"
TESTS = ROOT / "tests"
API_REFERENCE = ROOT / "docs" / "api.md"
README = ROOT / "README.md"

IGNORED_METHODS = {"HEAD", "OPTIONS"}
# Flask writes a variable part as <name> or <converter:name> (a converter may take arguments).
FLASK_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
# A documented route is a level-3 heading holding exactly the method and the path.
ROUTE_HEADING = re.compile(r"^### ([A-Z]+(?:, [A-Z]+)*) (/api(?:/\S*)?)$", re.MULTILINE)
HOOK_HEADING = re.compile(r"^## (hub_\w+)$", re.MULTILINE)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# -- hooks -------------------------------------------------------------------------------------


def hookspec_names() -> list[str]:
    """The hooks declared in hub/hookspecs.py (functions that carry pluggy's spec marker)."""
    marker = f"{hookspecs.PROJECT}_spec"
    return sorted(
        name
        for name in dir(hookspecs)
        if name.startswith("hub_") and hasattr(getattr(hookspecs, name), marker)
    )


def test_the_hookspecs_are_found():
    assert "hub_register_providers" in hookspec_names()


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hook_has_a_section_in_the_hook_reference(hook):
    assert hook in HOOK_HEADING.findall(read(HOOKS_REFERENCE)), (
        f"docs/hooks.md needs a '## {hook}' section"
    )


def test_every_hook_section_in_the_hook_reference_is_a_hook():
    documented = set(HOOK_HEADING.findall(read(HOOKS_REFERENCE)))

    assert documented - set(hookspec_names()) == set()


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hook_section_shows_the_signature_and_an_example(hook):
    text = read(HOOKS_REFERENCE)
    section = text.split(f"\n## {hook}\n", 1)[1].split("\n## ", 1)[0]
    assert f"def {hook}(" in section, f"docs/hooks.md: the {hook} section shows no signature"
    assert section.count("```python") >= 2, f"docs/hooks.md: the {hook} section has no example"
    for part in ("**When:**", "**Arguments:**", "**Returns:**"):
        assert part in section, f"docs/hooks.md: the {hook} section does not say {part}"


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hook_has_a_test_of_its_own(hook):
    """Some test installs a plugin implementing the hook and checks what the hub does with it."""
    implementing = [
        path.name
        for path in TESTS.glob("test_*.py")
        if re.search(rf"^\s*def {hook}\(", read(path), re.MULTILINE)
    ]
    assert implementing, f"no test under tests/ implements {hook}"


# -- overridable parts of a provider declaration -----------------------------------------------


@pytest.mark.parametrize("target", sorted(OVERRIDABLE))
def test_every_overridable_target_is_in_the_plugin_guide(target):
    assert f"`{target}`" in read(PLUGINS_GUIDE)


# -- routes ------------------------------------------------------------------------------------


def documented_form(rule: str) -> str:
    """``/api/tokens/<int:token_id>`` as the reference writes it: ``/api/tokens/{token_id}``."""
    return FLASK_VARIABLE.sub(r"{\1}", rule)


def api_routes(app) -> set[str]:
    """Every ``METHOD /api/...`` the app answers (HEAD and OPTIONS are implied by Flask)."""
    return {
        f"{method} {documented_form(rule.rule)}"
        for rule in app.url_map.iter_rules()
        if rule.rule == "/api" or rule.rule.startswith("/api/")
        for method in sorted((rule.methods or set()) - IGNORED_METHODS)
    }


def documented_routes() -> set[str]:
    """The routes docs/api.md documents.

    A route counts as documented only by a heading of its own that holds exactly the method (or,
    for a route that treats several alike, the methods separated by commas) and the path, with
    Flask's ``<converter:name>`` written ``{name}``::

        ### DELETE /api/tokens/{token_id}
        ### GET, POST /api/integrations/{ref}/proxy/{path}

    Mentions in prose, tables or curl examples do not count: each route needs a section of its
    own that says who may call it, what it takes and what it answers, and a passing mention of a
    route (or of one that is only planned) neither satisfies nor upsets the check.
    """
    return {
        f"{method} {path}"
        for methods, path in ROUTE_HEADING.findall(read(API_REFERENCE))
        for method in methods.split(", ")
    }


def test_the_api_has_routes(app):
    assert "POST /api/login" in api_routes(app)


def test_every_api_route_has_a_section_in_the_api_reference(app):
    missing = sorted(api_routes(app) - documented_routes())

    assert missing == [], "docs/api.md needs a '### METHOD /api/...' section for each of these"


def test_every_route_section_in_the_api_reference_exists(app):
    unknown = sorted(documented_routes() - api_routes(app))

    assert unknown == [], "docs/api.md documents routes the app does not have"


# -- settings ----------------------------------------------------------------------------------

# Settings the hub fixes for Flask and its extensions: cookie hardening, the CSRF token lifetime
# and the request size limit. They are in DEFAULTS so that they are set, not so that operators
# tune them (a HUB_* variable would arrive as a string and weaken or break them).
FLASK_INTERNAL_PREFIXES = ("SESSION_COOKIE_", "REMEMBER_COOKIE_", "WTF_")
FLASK_INTERNAL_KEYS = {"MAX_CONTENT_LENGTH"}
# Settings whose documented face is something else than their variable.
DOCUMENTED_AS = {
    # `hub serve --demo` sets HUB_DEMO for the workers it starts; README documents the flag.
    "DEMO": "--demo",
}
# Settings that config.py reads outside DEFAULTS: computed defaults, key files, the instance path.
READ_OUTSIDE_DEFAULTS = ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS", "INSTANCE_PATH")


def is_flask_internal(key: str) -> bool:
    return key in FLASK_INTERNAL_KEYS or key.startswith(FLASK_INTERNAL_PREFIXES)


def operator_settings() -> list[str]:
    """The settings an operator sets as HUB_<KEY>, which README.md must each mention."""
    keys = {key for key in config.DEFAULTS if not is_flask_internal(key)}
    return sorted(keys | set(READ_OUTSIDE_DEFAULTS))


def mention_of(key: str) -> str:
    return DOCUMENTED_AS.get(key, f"HUB_{key}")


def test_internal_settings_are_the_only_ones_left_out():
    left_out = sorted(set(config.DEFAULTS) - set(operator_settings()))

    assert all(is_flask_internal(key) for key in left_out)
    assert "MAX_CONTENT_LENGTH" in left_out


# Operator settings that README.md does not document yet. The mark is strict: once README.md
# names the variable, the test passes unexpectedly and fails the run, so the entry is removed.
NOT_YET_IN_README: dict[str, str] = {}


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(
            key,
            marks=pytest.mark.xfail(strict=True, reason=NOT_YET_IN_README[key]),
        )
        if key in NOT_YET_IN_README
        else key
        for key in operator_settings()
    ],
)
def test_every_operator_setting_is_in_the_readme(key):
    assert mention_of(key) in read(README)


# -- links -------------------------------------------------------------------------------------

MARKDOWN_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(
    "document",
    [
        "README.md",
        "docs/plugins.md",
        "docs/hooks.md",
        "docs/api.md",
        "docs/deploy.md",
        "docs/security.md",
    ],
)
def test_relative_links_point_at_files_that_exist(document):
    path = ROOT / document
    targets = MARKDOWN_LINK.findall(read(path))

    assert [t for t in targets if not (path.parent / t).exists()] == []


# -- the security document ---------------------------------------------------------------------

SECURITY_GUIDE = ROOT / "docs" / "security.md"
SECURITY_REQUIREMENTS = list(range(1, 38))  # the security requirements are numbered 1 to 37
# A row of the requirements table starts with the requirement's number: "| 12 | ...".
REQUIREMENT_ROW = re.compile(r"^\| *(\d+) *\|.*$", re.MULTILINE)
# A cited test: `tests/test_x.py::test_name` or `plugins/<p>/tests/test_x.py::test_name`.
CITED_TEST = re.compile(r"`((?:plugins/[^/`\s]+/)?tests/[^`\s]+\.py)::([^`\s]+)`")
NO_TEST = "no test yet"


def requirement_rows() -> dict[int, list[str]]:
    """The table's rows by requirement number (a number given twice has two rows)."""
    rows: dict[int, list[str]] = {}
    for match in REQUIREMENT_ROW.finditer(read(SECURITY_GUIDE)):
        rows.setdefault(int(match.group(1)), []).append(match.group(0))
    return rows


def defines_test(path: Path, name: str) -> bool:
    definition = re.compile(rf"^\s*(?:async\s+)?def {re.escape(name)}\(", re.MULTILINE)
    return definition.search(read(path)) is not None


def test_the_security_guide_has_one_row_per_requirement():
    rows = requirement_rows()

    assert sorted(rows) == SECURITY_REQUIREMENTS
    assert [number for number, found in rows.items() if len(found) > 1] == []


def test_every_requirement_cites_a_test_or_says_it_has_none():
    unproven = [
        number
        for number, rows in requirement_rows().items()
        for row in rows
        if not CITED_TEST.search(row) and NO_TEST not in row
    ]

    assert unproven == [], f"docs/security.md: cite a test for these, or say '{NO_TEST}'"


def test_every_test_the_security_guide_cites_exists():
    """``path::name``: the file exists and defines ``def name`` (a parametrised case is cited by
    its function's name, without the ``[id]``)."""
    cited = sorted(set(CITED_TEST.findall(read(SECURITY_GUIDE))))
    missing = [
        f"{path}::{name}"
        for path, name in cited
        if not re.fullmatch(r"test_\w+", name)
        or not (ROOT / path).is_file()
        or not defines_test(ROOT / path, name)
    ]

    assert len(cited) >= len(SECURITY_REQUIREMENTS)
    assert missing == [], "docs/security.md cites tests that do not exist"
