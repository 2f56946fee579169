"""``Content-Disposition`` as providers really send it, and as the hub sends it back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.disposition import content_disposition, filename_from_disposition

RESUME = 'Résumé "final".txt'
EXACT = "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.txt"
FALLBACK = 'filename="R_sum_ _final_.txt"'


@pytest.mark.parametrize(
    "header",
    [
        # ASCII fallback first, exact name second: what kDrive and most servers send.
        f"attachment; {FALLBACK}; {EXACT}",
        # The other order: RFC 6266 §4.3 still prefers filename*.
        f"attachment; {EXACT}; {FALLBACK}",
        # Case, spacing and a language tag do not matter.
        "Attachment ;  FILENAME* = utf-8'fr'R%C3%A9sum%C3%A9%20%22final%22.txt",
        # Only the legacy parameter, escaped quotes inside the quoted string.
        'inline; filename="Résumé \\"final\\".txt"',
    ],
)
def test_the_exact_name_wins_over_the_ascii_fallback(header: str) -> None:
    assert filename_from_disposition(header) == RESUME


def test_iso_8859_1_extended_values_are_decoded() -> None:
    header = "attachment; filename*=ISO-8859-1''R%E9sum%E9.txt"
    assert filename_from_disposition(header) == "Résumé.txt"


def test_raw_utf8_in_the_legacy_parameter_is_read_as_browsers_read_it() -> None:
    # http.client hands header bytes over as ISO-8859-1: "é" in UTF-8 arrives as "Ã©".
    raw = 'attachment; filename="Résumé.txt"'.encode().decode("iso-8859-1")
    assert filename_from_disposition(raw) == "Résumé.txt"


def test_an_undecodable_extended_value_falls_back_to_the_legacy_name() -> None:
    header = "attachment; filename=\"report.pdf\"; filename*=UTF-8''%FF%FE.pdf"
    assert filename_from_disposition(header) == "report.pdf"


def test_an_unknown_charset_falls_back_to_the_legacy_name() -> None:
    header = "attachment; filename=\"report.pdf\"; filename*=KOI8-R''%D2.pdf"
    assert filename_from_disposition(header) == "report.pdf"


def test_a_semicolon_inside_quotes_does_not_split_the_name() -> None:
    assert filename_from_disposition('attachment; filename="a;b.txt"; size=3') == "a;b.txt"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=UTF-8''..%2F..%2Fsecret.txt", "secret.txt"),
        ('attachment; filename="C:\\\\Users\\\\x\\\\evil.exe"', "evil.exe"),
        ("attachment; filename*=UTF-8''bad%0D%0AX-Injected%3A%201.txt", "badX-Injected: 1.txt"),
    ],
)
def test_a_name_never_carries_a_path_or_control_characters(header: str, expected: str) -> None:
    assert filename_from_disposition(header) == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "attachment", "inline; size=42", 'inline; filename=".."', 'inline; filename="  "'],
)
def test_no_usable_name_is_none(header: str | None) -> None:
    assert filename_from_disposition(header) is None


def test_the_hub_header_keeps_an_ascii_fallback_for_old_clients() -> None:
    header = content_disposition(RESUME)
    assert header.startswith('attachment; filename="R_sum_ _final_.txt"; ')
    assert header.isascii()


_NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\"))


@given(_NAMES)
def test_what_the_hub_sends_reads_back_as_the_same_name(name: str) -> None:
    expected = "".join(c for c in name if c >= " " and c != "\x7f").strip() or "download"
    if expected in (".", ".."):
        return
    assert filename_from_disposition(content_disposition(name)) == expected
