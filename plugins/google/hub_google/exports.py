"""Google-native files and the formats they are exported in.

Native files (Docs, Sheets, Slides, Drawings, Apps Script, ...) have no bytes of their own: Drive
answers ``alt=media`` on them with ``403 fileNotDownloadable`` and converts them instead. Which
conversions exist depends on the type (Google's table of export MIME types); some types (Forms,
Sites, My Maps) have none at all, and asking Google anyway only costs a call and ends in an error.
So the table below decides before any call: a format the type has, or a clear ``400``.

The caller picks a format with the download's ``format`` query parameter; the first format of
each type is its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from hub.errors import ValidationError

NATIVE_PREFIX = "application/vnd.google-apps."
FOLDER = "application/vnd.google-apps.folder"
SHORTCUT = "application/vnd.google-apps.shortcut"
DOCUMENT = "application/vnd.google-apps.document"
SPREADSHEET = "application/vnd.google-apps.spreadsheet"
PRESENTATION = "application/vnd.google-apps.presentation"
DRAWING = "application/vnd.google-apps.drawing"
SCRIPT = "application/vnd.google-apps.script"
JAMBOARD = "application/vnd.google-apps.jam"
FORM = "application/vnd.google-apps.form"
SITE = "application/vnd.google-apps.site"
MAP = "application/vnd.google-apps.map"


@dataclass(frozen=True)
class Format:
    """An export format: the name a caller asks for, its MIME type, and the file extension
    (the name unless Google's table gives another, as ``.jpg`` for ``jpeg``)."""

    name: str
    mime_type: str
    extension: str = ""

    @property
    def suffix(self) -> str:
        """The extension of an exported file, without the dot."""
        return self.extension or self.name


DOCX = Format("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
XLSX = Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PPTX = Format("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation")
PDF = Format("pdf", "application/pdf")
CSV = Format("csv", "text/csv")
SVG = Format("svg", "image/svg+xml")
PNG = Format("png", "image/png")
JPEG = Format("jpeg", "image/jpeg", "jpg")
SCRIPT_JSON = Format("json", "application/vnd.google-apps.script+json")

# Per native type, its formats, the default first.
EXPORTS: Mapping[str, tuple[Format, ...]] = MappingProxyType(
    {
        DOCUMENT: (DOCX, PDF),
        SPREADSHEET: (XLSX, CSV),
        PRESENTATION: (PPTX, PDF),
        # SVG first: it stays editable, and it is what rclone picks for drawings by default.
        DRAWING: (SVG, PNG, JPEG, PDF),
        SCRIPT: (SCRIPT_JSON,),
        JAMBOARD: (PDF,),
    }
)

# What each native type is called, for messages.
TYPE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        DOCUMENT: "Google Docs document",
        SPREADSHEET: "Google Sheets spreadsheet",
        PRESENTATION: "Google Slides presentation",
        DRAWING: "Google Drawing",
        SCRIPT: "Google Apps Script project",
        JAMBOARD: "Jamboard",
        FORM: "Google Form",
        SITE: "Google Site",
        MAP: "Google My Maps map",
    }
)

# Native types without any export, and what the user can do instead.
NO_EXPORT: Mapping[str, str] = MappingProxyType(
    {
        FORM: "open it in Google Forms, or export its responses from the Google Sheets "
        "spreadsheet they are linked to",
        SITE: "open it in Google Sites",
        MAP: "open it in Google My Maps",
    }
)

# For a native type this table does not know: the formats its export links may offer, in the
# order they are preferred.
KNOWN_FORMATS: tuple[Format, ...] = (PDF, DOCX, XLSX, PPTX, CSV, SVG, PNG, JPEG, SCRIPT_JSON)


def is_native(mime_type: str | None) -> bool:
    """Whether ``mime_type`` is a Google-native type (``application/vnd.google-apps.*``)."""
    return (mime_type or "").startswith(NATIVE_PREFIX)


def type_name(mime_type: str | None) -> str:
    """How messages name a native type: ``Google Form``; else the MIME type itself."""
    return TYPE_NAMES.get(mime_type or "", f"file of type {mime_type}")


def formats_of(mime_type: str | None) -> tuple[Format, ...]:
    """The export formats of a native type, default first; empty for every other type."""
    return EXPORTS.get(mime_type or "", ())


def formats_offered(export_links: object) -> tuple[Format, ...]:
    """The known formats among a file's ``exportLinks`` (MIME type → URL), preferred first."""
    if not isinstance(export_links, dict):
        return ()
    return tuple(f for f in KNOWN_FORMATS if export_links.get(f.mime_type))


def not_exportable(name: str, mime_type: str | None) -> ValidationError:
    """The ``400`` for a native file that has no export: what it is and what is possible."""
    kind = type_name(mime_type)
    instead = NO_EXPORT.get(mime_type or "", "open it in Google Drive")
    return ValidationError(
        f"{name!r} is a {kind}, which Google Drive cannot export or download: {instead}",
        fields={"itemId": f"a {kind} has no export"},
        code="not_exportable",
    )


def choose(
    formats: tuple[Format, ...], requested: str | None, mime_type: str | None = None
) -> Format:
    """The format the caller asked for (case, a leading dot and ``jpg`` for ``jpeg`` ignored),
    else the default.

    :param formats: the file's formats, default first.
    :param requested: the caller's ``format``, if any.
    :param mime_type: the file's native type, to name it in the error.
    :raises ValidationError: naming the file's type and allowed formats when ``requested`` is
        not one of them.
    """
    if not requested:
        return formats[0]
    wanted = requested.strip().lower().removeprefix(".")
    for candidate in formats:
        if wanted in (candidate.name, candidate.suffix):
            return candidate
    allowed = ", ".join(f.name for f in formats)
    kind = f"a {type_name(mime_type)}" if mime_type else "this file"
    only = "only " if len(formats) == 1 else ""
    raise ValidationError(
        f"{kind} can be exported {only}as {allowed}, not {requested!r}",
        fields={"format": f"one of {allowed}"},
    )


def filename(name: str, chosen: Format) -> str:
    """The name of an exported file: its Drive name with the format's extension."""
    if name.lower().endswith(f".{chosen.suffix}"):
        return name
    return f"{name}.{chosen.suffix}"
