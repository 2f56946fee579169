"""``hub plugins new NAME``: a new plugin distribution whose tests pass as soon as it is installed.

The templates live in ``hub/scaffold/``: ``package/`` becomes ``hub_<name>/``, a ``.tmpl`` file
is rendered (``${name}``, ``${display}``, ``${cls}``, ``${upper}``, ``${core_range}``,
``${api_range}``) and loses its suffix, anything else is copied as it is. The plugin is written
to a temporary folder beside the target and renamed into place, so a failure leaves nothing.
"""

from __future__ import annotations

import keyword
import re
import shutil
import tempfile
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from hub import __version__
from hub.errors import ValidationError
from hub.plugins import PLUGIN_API_VERSION

NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def compatible_range(version: str) -> str:
    """``>=0.1,<1`` for ``0.1.0``, ``>=1.2,<2`` for ``1.2.3``: this release and what the same
    major version will add."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return f">={major}.{minor},<{major + 1}"


def template_values(name: str) -> dict[str, str]:
    """What the templates are filled with for a plugin named ``name``."""
    words = name.split("_")
    return {
        "name": name,
        "display": " ".join(word.capitalize() for word in words),
        "cls": "".join(word.capitalize() for word in words),
        "upper": name.upper(),
        "core_range": compatible_range(__version__),
        "api_range": compatible_range(PLUGIN_API_VERSION),
    }


def check_name(name: str) -> None:
    """A provider and module name: lower-case letters, digits and ``_``, 2-31 characters."""
    if not NAME.match(name) or keyword.iskeyword(name):
        raise ValidationError(
            f"{name!r} cannot name a plugin: use 2-31 lower-case letters, digits and _, "
            "starting with a letter (it becomes the provider name and the module hub_<name>)",
            fields={"name": "invalid"},
        )


def write_plugin(name: str, directory: Path) -> Path:
    """Write the distribution ``hub-<name>`` into ``directory``; its path.

    :raises ValidationError: for a bad name, or when ``directory/hub-<name>`` exists (nothing
        is overwritten).
    """
    check_name(name)
    target = directory / f"hub-{name}"
    if target.exists():
        raise ValidationError(
            f"{target} already exists: choose another name or directory",
            fields={"directory": "exists"},
        )
    directory.mkdir(parents=True, exist_ok=True)
    values = template_values(name)
    staging = Path(tempfile.mkdtemp(prefix=f".hub-{name}-", dir=directory))
    try:
        _copy(resources.files("hub") / "scaffold", staging, values)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _copy(source: Traversable, destination: Path, values: dict[str, str]) -> None:
    destination.mkdir(exist_ok=True)
    for entry in source.iterdir():
        if entry.name == "__pycache__":
            continue
        name = f"hub_{values['name']}" if entry.name == "package" else entry.name
        if entry.is_dir():
            _copy(entry, destination / name, values)
        elif name.endswith(".tmpl"):
            (destination / name.removesuffix(".tmpl")).write_text(
                _render(entry.read_text(encoding="utf-8"), values, entry.name), encoding="utf-8"
            )
        else:
            (destination / name).write_bytes(entry.read_bytes())


def _render(text: str, values: dict[str, str], where: str) -> str:
    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"{where}: unknown placeholder ${{{key}}}")
        return values[key]

    return PLACEHOLDER.sub(fill, text)
