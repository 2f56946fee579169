"""Sentences for refused refreshes (:mod:`hub_microsoft.refusals`) and the tenant's shape
(:mod:`hub_microsoft.tenants`)."""

from __future__ import annotations

import pytest
from recorded_graph import recorded

from hub_microsoft.refusals import explain_refusal
from hub_microsoft.tenants import is_tenant


def test_the_recorded_refusals_are_explained_by_their_code():
    mfa = recorded("token_interaction_required")
    expired = recorded("token_invalid_grant")

    assert "multi-factor" in explain_refusal(mfa["error"], mfa["error_description"])
    assert "AADSTS50076" in explain_refusal(mfa["error"], mfa["error_description"])
    assert "unused" in explain_refusal(expired["error"], expired["error_description"])


@pytest.mark.parametrize(
    ("code", "words"),
    [("50173", "password"), ("65001", "permission"), ("50079", "register"), ("700082", "90")],
)
def test_known_codes(code, words):
    assert words in explain_refusal("invalid_grant", f"AADSTS{code}: whatever. Trace ID: x")


def test_unknown_codes_say_nothing_more_and_never_echo_the_description():
    assert explain_refusal("invalid_grant", "AADSTS99999: secret-ish text") is None
    assert explain_refusal("invalid_grant", None) is None
    said = explain_refusal("interaction_required", "no code here")
    assert said and "no code here" not in said


@pytest.mark.parametrize(
    "value",
    [
        "common",
        "organizations",
        "consumers",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "contoso.onmicrosoft.com",
        "fabrikam.com",
    ],
)
def test_tenants_microsoft_accepts(value):
    assert is_tenant(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "..",
        "common/../x",
        "common?x=1",
        "common#",
        "a@b.com",
        "contoso..com",
        "%2e%2e",
        "evil.com/oauth2",
        " common",
        "common\n",
        None,
        42,
    ],
)
def test_other_tenants_are_refused(value):
    assert not is_tenant(value)
