"""The hub's error hierarchy.

Every error the hub reports is a value with a code. Providers raise these; the core maps them to
HTTP in one place (:func:`hub.api.errors.register`), producing
``{"error": {"code": ..., "message": ..., "fields": {...}}}``.
"""

from __future__ import annotations

from collections.abc import Mapping


class HubError(Exception):
    """Base of every error the hub turns into an HTTP answer."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationError(HubError):
    """Bad input; ``fields`` names each offending field."""

    status = 400
    code = "invalid"


class NotAuthenticated(HubError):
    status = 401
    code = "not_authenticated"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    status = 409
    code = "conflict"


class ReauthRequired(Conflict):
    """The connection's grant is gone (``invalid_grant``, revoked): the user must reconnect."""

    code = "reauth_required"


class RangeNotSatisfiable(HubError):
    """A download's ``Range`` lies outside the file."""

    status = 416
    code = "range_not_satisfiable"


class RateLimited(HubError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(int(retry_after)))


class UpstreamFailed(HubError):
    """The provider answered with an error, garbage, or not at all."""

    status = 502
    code = "upstream_failed"


class UpstreamTimeout(HubError):
    status = 504
    code = "upstream_timeout"


class ConfigurationError(HubError):
    """The hub or a provider is not configured well enough to do what was asked."""

    status = 400
    code = "not_configured"
