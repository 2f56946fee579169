"""``hub.items.utc_time``: providers' times as the hub shows them (one reading for every plugin)."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.items import utc_time

NINE_THIRTY = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T09:30:00.000Z",  # Google Drive's modifiedTime
        "2024-05-01T11:30:00+02:00",  # Infomaniak Mail's date, with its offset
        "2024-05-01T09:30:00",  # no offset: taken as UTC
    ],
)
def test_a_providers_time_becomes_utc(value):
    assert utc_time(value) == NINE_THIRTY


@pytest.mark.parametrize("value", [None, "", "yesterday", 1714555800, "2024-13-01T00:00:00Z"])
def test_anything_else_is_no_time(value):
    assert utc_time(value) is None
