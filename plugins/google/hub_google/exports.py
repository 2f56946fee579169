"""Google-native files and the formats they are exported in.

Docs, Sheets and Slides have no bytes of their own: Drive answers ``alt=media`` on them with
``403 fileNotDownloadable`` and converts them on ``/files/{id}/export?mimeType=...`` instead.
The caller picks a format with the download's ``format`` query parameter; the first format of
each type is its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from hub.errors import ValidationError

FOLDER = "application/vnd.google-apps.folder"
SHORTCUT = "application/vnd.google-apps.shortcut"
DOCUMENT = "application/vnd.google-apps.document"
SPREADSHEET = "application/vnd.google-apps.spreadsheet"
PRESENTATION = "application/vnd.google-apps.presentation"


@dataclass(frozen=True)
class Format:
    """An export format: the name a caller asks for (also the file extension) and its type."""

    name: str
    mime_type: str


DOCX = Format("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
XLSX = Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PPTX = Format("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation")
PDF = Format("pdf", "application/pdf")
CSV = Format("csv", "text/csv")

# Per native type, its formats, the default first.
EXPORTS: Mapping[str, tuple[Format, ...]] = MappingProxyType(
    {
        DOCUMENT: (DOCX, PDF),
        SPREADSHEET: (XLSX, CSV),
        PRESENTATION: (PPTX, PDF),
    }
)
# For a file Google will not hand out as is although it is none of the types above
# (a drawing, say): PDF is the format nearly every native type exports to.
FALLBACK: tuple[Format, ...] = (PDF, DOCX, XLSX, PPTX, CSV)


def formats_of(mime_type: str | None) -> tuple[Format, ...]:
    """The export formats of a native type, default first; empty for every other type."""
    return EXPORTS.get(mime_type or "", ())


def choose(formats: tuple[Format, ...], requested: str | None) -> Format:
    """The format the caller asked for (case and a leading dot ignored), else the default.

    :raises ValidationError: naming the allowed formats when ``requested`` is not one of them.
    """
    if not requested:
        return formats[0]
    wanted = requested.strip().lower().removeprefix(".")
    for candidate in formats:
        if candidate.name == wanted:
            return candidate
    allowed = ", ".join(f.name for f in formats)
    raise ValidationError(
        f"this file can be exported as {allowed}, not {requested!r}",
        fields={"format": f"one of {allowed}"},
    )


def filename(name: str, chosen: Format) -> str:
    """The name of an exported file: its Drive name with the format's extension."""
    if name.lower().endswith(f".{chosen.name}"):
        return name
    return f"{name}.{chosen.name}"
