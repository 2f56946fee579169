"""The hub's tables.

Users and teams share one namespace of names through :class:`Principal`; a user's and a team's
primary key *is* their principal id, so owners and shares point at one table.
Secrets live in :class:`~hub.db.EncryptedField` columns, read and written only through
:meth:`BaseModel.get_secret` / :meth:`BaseModel.set_secret`.
"""

from __future__ import annotations

from collections.abc import Iterator

import peewee
from flask import current_app

from hub.crypto import KeyRing, MissingKeyError, Secret
from hub.db import EncryptedField, JSONField, database, utcnow

PRINCIPAL_USER = "user"
PRINCIPAL_TEAM = "team"
ACCESS_LEVELS = ("use", "edit", "manage")
AUTH_TYPES = ("oauth2", "apikey", "basic", "bearer")
CONNECTION_MODES = ("per-user", "shared")
CONNECTION_STATUSES = ("not_connected", "connected", "needs_reauth", "error")
TEAM_ROLES = ("member", "admin")


def current_keyring() -> KeyRing:
    return current_app.extensions["hub"].keyring


def _keyring_with(kid: str) -> KeyRing:
    """The current ring, re-read from its source if it lacks ``kid`` (rotated meanwhile)."""
    return current_app.extensions["hub"].reload_keyring(kid)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False

    def secret_context(self, field_name: str) -> str:
        if self._pk is None:
            raise ValueError("a secret is bound to its row: save the row before setting it")
        return f"{self._meta.table_name}.{field_name}.{self._pk}"

    def get_secret(self, field_name: str, keyring: KeyRing | None = None) -> Secret | None:
        """The decrypted value of an encrypted column, or ``None`` when it is empty."""
        token = getattr(self, field_name)
        if token is None:
            return None
        context = self.secret_context(field_name)
        if keyring is not None:
            return Secret(keyring.decrypt(token, context))
        try:
            return Secret(current_keyring().decrypt(token, context))
        except MissingKeyError as missing:
            # `hub keys rotate` may have added a key since this worker started.
            return Secret(_keyring_with(missing.kid).decrypt(token, context))

    def set_secret(
        self, field_name: str, value: Secret | str | None, keyring: KeyRing | None = None
    ) -> None:
        """Encrypt ``value`` into an encrypted column (``None`` clears it); then ``save()``."""
        if not isinstance(self._meta.fields[field_name], EncryptedField):
            raise TypeError(f"{field_name} is not an encrypted column")
        if value is None:
            setattr(self, field_name, None)
            return
        plain = value.reveal() if isinstance(value, Secret) else value
        keyring = keyring or current_keyring()
        setattr(self, field_name, keyring.encrypt(plain, self.secret_context(field_name)))


class Principal(BaseModel):
    """A name that can own integrations and receive shares: a user or a team."""

    kind = peewee.CharField(max_length=8)  # PRINCIPAL_USER or PRINCIPAL_TEAM
    name = peewee.CharField(max_length=64, unique=True)
    display_name = peewee.CharField(max_length=200, default="")
    created_at = peewee.DateTimeField(default=utcnow)


class User(BaseModel):
    principal = peewee.ForeignKeyField(
        Principal, primary_key=True, backref="user_row", on_delete="CASCADE"
    )
    email = peewee.CharField(max_length=320, null=True)
    password_hash = peewee.CharField(max_length=255)
    is_superuser = peewee.BooleanField(default=False)
    is_active = peewee.BooleanField(default=True)
    # No longer read: sessions are UserSession rows since migration 2 (kept, not dropped).
    session_epoch = peewee.IntegerField(default=0)

    @property
    def id(self) -> int:
        return self.principal_id

    @property
    def name(self) -> str:
        return self.principal.name


class Team(BaseModel):
    principal = peewee.ForeignKeyField(
        Principal, primary_key=True, backref="team_row", on_delete="CASCADE"
    )
    description = peewee.TextField(default="")

    @property
    def id(self) -> int:
        return self.principal_id

    @property
    def slug(self) -> str:
        return self.principal.name


class Membership(BaseModel):
    team = peewee.ForeignKeyField(Team, backref="memberships", on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    role = peewee.CharField(max_length=8, default="member")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("team", "user"), True),)


class ApiToken(BaseModel):
    """An API token; only its SHA-256 is kept. ``prefix`` lets a user recognise it."""

    user = peewee.ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = peewee.CharField(max_length=100)
    token_hash = peewee.CharField(max_length=64, unique=True)
    prefix = peewee.CharField(max_length=16)
    created_at = peewee.DateTimeField(default=utcnow)
    last_used_at = peewee.DateTimeField(null=True)
    expires_at = peewee.DateTimeField(null=True)
    # None: every right of its user (tokens made before scopes). Else names from hub.scopes.
    scopes = JSONField(null=True)
    # True: it reaches only the integrations of its ApiTokenIntegration rows (none left when
    # they were all deleted: never "every integration").
    limited = peewee.BooleanField(default=False)


class UserSession(BaseModel):
    """A signed-in browser session. The session cookie carries a random key; only its SHA-256 is
    kept, so ending a session is deleting its row, and a copy of the cookie dies with it."""

    user = peewee.ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    key_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    # Touched at most every few minutes (hub.sessions), not on every request.
    last_seen_at = peewee.DateTimeField(default=utcnow)
    user_agent = peewee.CharField(max_length=200, null=True)


class Integration(BaseModel):
    owner = peewee.ForeignKeyField(Principal, backref="integrations", on_delete="CASCADE")
    slug = peewee.CharField(max_length=64)
    name = peewee.CharField(max_length=200)
    provider = peewee.CharField(max_length=64, default="custom")
    auth_type = peewee.CharField(max_length=8, default="oauth2")
    connection_mode = peewee.CharField(max_length=8, default="per-user")
    auth_uri = peewee.TextField(null=True)
    token_uri = peewee.TextField(null=True)
    client_id = peewee.TextField(null=True)
    client_secret = EncryptedField(null=True)
    scope = peewee.TextField(null=True)
    api_base_uri = peewee.TextField(null=True)
    headers = JSONField(default=dict)
    settings = JSONField(default=dict)
    icon = peewee.BlobField(null=True)
    icon_type = peewee.CharField(max_length=32, null=True)
    # A manage user's opt-in: GET .../connection/credentials hands out the connection's secrets.
    credentials_export = peewee.BooleanField(default=False)
    # OAuth2 grant: "authorization_code" (a user in the loop) or "client_credentials" (shared).
    grant_type = peewee.CharField(max_length=32, default="authorization_code")
    created_by = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "slug"), True),)


class ApiTokenIntegration(BaseModel):
    """An integration a limited API token may reach."""

    token = peewee.ForeignKeyField(ApiToken, backref="integration_rows", on_delete="CASCADE")
    integration = peewee.ForeignKeyField(Integration, on_delete="CASCADE")

    class Meta:
        indexes = ((("token", "integration"), True),)


class Connection(BaseModel):
    """Credentials for one integration: the shared one (``user`` is null) or one user's."""

    integration = peewee.ForeignKeyField(Integration, backref="connections", on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, null=True, backref="connections", on_delete="CASCADE")
    # "shared" or "user:<id>": unique per integration (NULLs would not be, in SQL).
    holder = peewee.CharField(max_length=32)
    status = peewee.CharField(max_length=16, default="not_connected")
    external_id = peewee.CharField(max_length=255, null=True)
    email = peewee.CharField(max_length=320, null=True)
    display_name = peewee.CharField(max_length=255, null=True)
    access_token = EncryptedField(null=True)
    refresh_token = EncryptedField(null=True)
    credentials = EncryptedField(null=True)  # JSON: API key, basic username/password, bearer
    token_type = peewee.CharField(max_length=32, null=True)
    scope = peewee.TextField(null=True)
    expires_at = peewee.DateTimeField(null=True)
    last_error = peewee.TextField(null=True)
    last_refreshed_at = peewee.DateTimeField(null=True)
    refresh_failures = peewee.IntegerField(default=0)
    retry_refresh_at = peewee.DateTimeField(null=True)
    # A small JSON object its holder or a manage user sets (hub.metadata); None: empty.
    metadata = JSONField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("integration", "holder"), True),)


class Share(BaseModel):
    integration = peewee.ForeignKeyField(Integration, backref="shares", on_delete="CASCADE")
    principal = peewee.ForeignKeyField(Principal, backref="shares", on_delete="CASCADE")
    access = peewee.CharField(max_length=8)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("integration", "principal"), True),)


class OAuthTransaction(BaseModel):
    """One authorization attempt, found by the hash of its ``state``; single use, short-lived."""

    state_hash = peewee.CharField(max_length=64, unique=True)
    kind = peewee.CharField(max_length=16, default="authorize")  # or "connect_link"
    integration = peewee.ForeignKeyField(Integration, on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    holder = peewee.CharField(max_length=32)
    provider = peewee.CharField(max_length=64)
    code_verifier = EncryptedField(null=True)
    redirect_uri = peewee.TextField()
    issuer = peewee.TextField(null=True)
    return_to = peewee.TextField(default="/")
    session_binding = peewee.CharField(max_length=64, null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)


class ProviderCredential(BaseModel):
    """An OAuth client for a provider, stored by an admin (used when no env var sets one)."""

    provider = peewee.CharField(max_length=64, unique=True)
    client_id = peewee.TextField()
    client_secret = EncryptedField(null=True)
    # Origins besides the provider's own this client may be sent to (hub.clients).
    approved_origins = JSONField(null=True)
    updated_by = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    updated_at = peewee.DateTimeField(default=utcnow)


class AuditEvent(BaseModel):
    at = peewee.DateTimeField(default=utcnow, index=True)
    actor = peewee.ForeignKeyField(Principal, null=True, on_delete="SET NULL")
    action = peewee.CharField(max_length=64, index=True)
    target_type = peewee.CharField(max_length=32, null=True)
    target_id = peewee.CharField(max_length=128, null=True)
    integration = peewee.ForeignKeyField(Integration, null=True, on_delete="SET NULL")
    details = JSONField(default=dict)
    remote_addr = peewee.CharField(max_length=64, null=True)


class LoginFailure(BaseModel):
    """A failed sign-in; recent rows slow down the next attempts for that name and address."""

    username = peewee.CharField(max_length=255, index=True)
    remote_addr = peewee.CharField(max_length=64, index=True)
    at = peewee.DateTimeField(default=utcnow, index=True)


# -- outgoing webhooks (hub.webhooks) ---------------------------------------------------------

WEBHOOK_DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookEndpoint(BaseModel):
    """A URL that receives the hub's events: one integration's (``integration`` set, registered
    by those who manage it) or hub-wide (``integration`` null, registered by an administrator)."""

    integration = peewee.ForeignKeyField(
        Integration, null=True, backref="webhooks", on_delete="CASCADE"
    )
    url = peewee.TextField()
    events = JSONField(default=list)  # event types (hub.webhooks.EVENT_TYPES)
    description = peewee.CharField(max_length=500, default="")
    active = peewee.BooleanField(default=True)
    secret = EncryptedField(null=True)  # the signing secret, shown once when made
    created_by = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class WebhookEvent(BaseModel):
    """An event in the outbox, written in the transaction of the change it tells of."""

    type = peewee.CharField(max_length=64)
    # Not a foreign key: integration.deleted outlives its integration.
    integration_id = peewee.BigIntegerField(null=True, index=True)
    # Events with one key are delivered to an endpoint in the order they were written.
    ordering_key = peewee.CharField(max_length=100, null=True)
    payload = JSONField()
    created_at = peewee.DateTimeField(default=utcnow, index=True)


class WebhookDelivery(BaseModel):
    """One event on its way to one endpoint, tried until delivered or out of time."""

    event = peewee.ForeignKeyField(WebhookEvent, backref="deliveries", on_delete="CASCADE")
    endpoint = peewee.ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    ordering_key = peewee.CharField(max_length=100, null=True)  # the event's; None: unordered
    status = peewee.CharField(max_length=16, default="pending")  # WEBHOOK_DELIVERY_STATUSES
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(default=utcnow)
    deadline = peewee.DateTimeField()  # tried until then, then failed
    # A sender's claim while it sends (hub.webhook_sender): who, and until when.
    claimed_by = peewee.CharField(max_length=32, null=True)
    claimed_until = peewee.DateTimeField(null=True)
    last_status_code = peewee.IntegerField(null=True)
    last_error = peewee.TextField(null=True)
    delivered_at = peewee.DateTimeField(null=True)
    redelivery_of = peewee.BigIntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("status", "next_attempt_at"), False),
            (("endpoint", "ordering_key", "status"), False),
        )


class WebhookAttempt(BaseModel):
    """One try of a delivery, as the endpoint's delivery log shows it (never a secret)."""

    delivery = peewee.ForeignKeyField(WebhookDelivery, backref="log", on_delete="CASCADE")
    number = peewee.IntegerField()
    at = peewee.DateTimeField(default=utcnow)
    status_code = peewee.IntegerField(null=True)
    latency_ms = peewee.IntegerField()
    error = peewee.TextField(null=True)


MODELS: tuple[type[BaseModel], ...] = (
    Principal,
    User,
    Team,
    Membership,
    ApiToken,
    UserSession,
    Integration,
    ApiTokenIntegration,
    Connection,
    Share,
    OAuthTransaction,
    ProviderCredential,
    AuditEvent,
    LoginFailure,
    WebhookEndpoint,
    WebhookEvent,
    WebhookDelivery,
    WebhookAttempt,
)


def encrypted_columns() -> Iterator[tuple[type[BaseModel], peewee.Field]]:
    """Every (model, field) that holds ciphertexts."""
    for model in MODELS:
        for field in model._meta.sorted_fields:
            if isinstance(field, EncryptedField):
                yield model, field
