"""Every model on every database engine: rows, constraints, cascades, JSON and secrets."""

from __future__ import annotations

import datetime as dt

import peewee
import pytest

from hub.db import utcnow
from hub.models import (
    ApiToken,
    AuditEvent,
    Connection,
    Integration,
    LoginFailure,
    Membership,
    OAuthTransaction,
    Principal,
    ProviderCredential,
    Share,
    Team,
    User,
)


@pytest.fixture
def people(db):
    alice = User.create(principal=Principal.create(kind="user", name="alice"), password_hash="x")
    bob = User.create(principal=Principal.create(kind="user", name="bob"), password_hash="x")
    team = Team.create(principal=Principal.create(kind="team", name="ops"))
    return alice, bob, team


@pytest.fixture
def integration(people):
    alice, _, _ = people
    return Integration.create(
        owner=alice.principal_id, slug="drive", name="Drive", created_by=alice
    )


def test_users_and_teams_share_one_namespace(people):
    with pytest.raises(peewee.IntegrityError):
        Principal.create(kind="team", name="alice")


def test_a_users_id_is_its_principal_id(people):
    alice, _, team = people
    assert alice.id == alice.principal_id == Principal.get(name="alice").id
    assert team.slug == "ops"


def test_a_membership_is_unique_per_team_and_user(people):
    alice, _, team = people
    Membership.create(team=team, user=alice, role="admin")
    with pytest.raises(peewee.IntegrityError):
        Membership.create(team=team, user=alice)


def test_an_api_token_hash_is_unique(people):
    alice, bob, _ = people
    ApiToken.create(user=alice, name="a", token_hash="h" * 64, prefix="hub_abc")
    with pytest.raises(peewee.IntegrityError):
        ApiToken.create(user=bob, name="b", token_hash="h" * 64, prefix="hub_abc")


def test_an_integration_slug_is_unique_per_owner(people, integration):
    _, bob, team = people
    Integration.create(owner=bob.principal_id, slug="drive", name="Bob's drive")
    Integration.create(owner=team.principal_id, slug="drive", name="Team drive")
    with pytest.raises(peewee.IntegrityError):
        Integration.create(owner=integration.owner_id, slug="drive", name="again")


def test_integration_json_fields_round_trip(integration):
    integration.headers = {"X-User": "${user.email}"}
    integration.settings = {
        "serverUrl": "https://pf.example.org",
        "endpoints": {"api": "https://x"},
    }
    integration.save()
    again = Integration.get_by_id(integration.id)
    assert again.headers == {"X-User": "${user.email}"}
    assert again.settings["endpoints"] == {"api": "https://x"}


def test_an_integration_icon_is_stored_as_bytes(integration):
    integration.icon, integration.icon_type = b"\x89PNG\r\n\x1a\n...", "image/png"
    integration.save()
    assert bytes(Integration.get_by_id(integration.id).icon).startswith(b"\x89PNG")


def test_one_connection_per_holder_and_integration(people, integration):
    alice, bob, _ = people
    Connection.create(integration=integration, user=alice, holder=f"user:{alice.id}")
    Connection.create(integration=integration, user=bob, holder=f"user:{bob.id}")
    Connection.create(integration=integration, user=None, holder="shared")
    with pytest.raises(peewee.IntegrityError):
        Connection.create(integration=integration, user=None, holder="shared")


def test_connection_tokens_are_stored_encrypted(people, integration):
    alice, _, _ = people
    connection = Connection.create(integration=integration, user=alice, holder=f"user:{alice.id}")
    connection.set_secret("access_token", "at-123")
    connection.set_secret("refresh_token", "rt-456")
    connection.expires_at = utcnow() + dt.timedelta(hours=1)
    connection.save()
    again = Connection.get_by_id(connection.id)
    assert "at-123" not in again.access_token
    assert again.get_secret("access_token").reveal() == "at-123"
    assert again.get_secret("refresh_token").reveal() == "rt-456"


def test_a_share_is_unique_per_principal(people, integration):
    _, bob, team = people
    Share.create(integration=integration, principal=bob.principal_id, access="use")
    Share.create(integration=integration, principal=team.principal_id, access="edit")
    with pytest.raises(peewee.IntegrityError):
        Share.create(integration=integration, principal=bob.principal_id, access="manage")


def test_an_oauth_transaction_is_found_by_its_state_hash(people, integration):
    alice, _, _ = people
    OAuthTransaction.create(
        state_hash="s" * 64,
        integration=integration,
        user=alice,
        holder=f"user:{alice.id}",
        provider="custom",
        redirect_uri="http://127.0.0.1:5000/oauth2/callback",
        expires_at=utcnow() + dt.timedelta(minutes=10),
    )
    found = OAuthTransaction.get(OAuthTransaction.state_hash == "s" * 64)
    assert found.used_at is None and found.return_to == "/"
    with pytest.raises(peewee.IntegrityError):
        OAuthTransaction.create(
            state_hash="s" * 64,
            integration=integration,
            user=alice,
            holder="shared",
            provider="custom",
            redirect_uri="x",
            expires_at=utcnow(),
        )


def test_provider_credentials_are_one_row_per_provider(db):
    row = ProviderCredential.create(provider="google", client_id="cid")
    row.set_secret("client_secret", "shh")
    row.save()
    assert ProviderCredential.get(provider="google").get_secret("client_secret").reveal() == "shh"
    with pytest.raises(peewee.IntegrityError):
        ProviderCredential.create(provider="google", client_id="other")


def test_audit_events_keep_details_and_survive_their_integration(people, integration):
    alice, _, _ = people
    AuditEvent.create(
        actor=alice.principal_id,
        action="integration.create",
        target_type="integration",
        target_id=str(integration.id),
        integration=integration,
        details={"slug": "drive"},
    )
    integration.delete_instance()
    event = AuditEvent.get(AuditEvent.action == "integration.create")
    assert event.integration_id is None
    assert event.details == {"slug": "drive"}


def test_login_failures_are_recorded_per_name_and_address(db):
    LoginFailure.create(username="alice", remote_addr="10.0.0.1")
    assert LoginFailure.select().where(LoginFailure.username == "alice").count() == 1


def test_deleting_a_principal_removes_what_hangs_off_it(people, integration):
    alice, bob, team = people
    Membership.create(team=team, user=alice)
    Share.create(integration=integration, principal=bob.principal_id, access="use")
    Connection.create(integration=integration, user=alice, holder=f"user:{alice.id}")
    ApiToken.create(user=alice, name="t", token_hash="a" * 64, prefix="hub_a")
    Principal.get(name="alice").delete_instance()
    assert not User.select().where(User.principal == alice.id).exists()
    assert Membership.select().count() == 0
    assert Integration.select().count() == 0  # owned by alice
    assert Connection.select().count() == 0
    assert Share.select().count() == 0
    assert ApiToken.select().count() == 0
