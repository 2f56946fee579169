"""The data path: services, folder pages, downloads, previews and the proxy."""

from __future__ import annotations

import pydantic
from flask import Blueprint, Response, current_app, jsonify, request

from hub import access, addresses, browse, integrations, metrics, proxy
from hub.api.connect import provider_of
from hub.api.integrations import IntegrationFields
from hub.api.sharing import CredentialsPost
from hub.api.validation import ApiModel, body, query
from hub.auth import current, signed_in
from hub.connections import check_credentials
from hub.context import ProviderContext, TransientContext
from hub.errors import ConfigurationError
from hub.models import Integration
from hub.providers import Service
from hub.scopes import needs

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class ItemsQuery(ApiModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=False)

    parent: str | None = pydantic.Field(default=None, max_length=4096)
    cursor: str | None = pydantic.Field(default=None, max_length=4096)
    limit: int = pydantic.Field(default=100, ge=1, le=browse.MAX_LIMIT)


class SearchQuery(ApiModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=False)

    q: str = pydantic.Field(min_length=1, max_length=500)
    cursor: str | None = pydantic.Field(default=None, max_length=4096)
    limit: int = pydantic.Field(default=100, ge=1, le=browse.MAX_LIMIT)


class ViewQuery(ApiModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=False)

    cursor: str | None = pydantic.Field(default=None, max_length=4096)
    limit: int = pydantic.Field(default=100, ge=1, le=browse.MAX_LIMIT)


class ThumbnailQuery(ApiModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=False)

    size: int = pydantic.Field(
        default=256, ge=browse.THUMBNAIL_SIZES[0], le=browse.THUMBNAIL_SIZES[1]
    )


class PreviewRequest(IntegrationFields):
    name: str = pydantic.Field(default="Preview", min_length=1, max_length=200)
    credentials: CredentialsPost


def _operation(ref: str, service: str, name: str) -> tuple[Service, ProviderContext]:
    """The caller's integration's service offering operation ``name`` (404 for an integration
    they cannot see, 404/400 for a service without it), and the caller's context for it."""
    user = current()
    integration, _ = access.find(user, ref)
    provider = provider_of(integration)
    operation = browse.service_of(provider, service, name)
    return operation, browse.context_for(provider, integration, user)


def register(api: Blueprint) -> None:
    @api.get("/integrations/<ref>/services")
    @needs("integrations:read")
    @signed_in
    def list_services(ref: str) -> Response:
        """The services of this integration's provider, and whether each can be browsed."""
        integration, _ = access.find(current(), ref)
        services = browse.describe_services(provider_of(integration))
        return jsonify({"items": services, "nextCursor": None})

    @api.get("/integrations/<ref>/services/<service>/items")
    @needs("data")
    @signed_in
    @query(ItemsQuery)
    def list_items(ref: str, service: str, params: ItemsQuery) -> Response:
        """One page of a folder (``parent`` empty for the top level), with its breadcrumbs."""
        operation, context = _operation(ref, service, "browse")
        page = browse.browse(context, operation, params.parent, params.cursor, params.limit)
        return jsonify(browse.page_json(page))

    # Item ids may hold any characters: a Dropbox path starts with "/", so no slash is merged.
    @api.get(
        "/integrations/<ref>/services/<service>/items/<item:item_id>/download",
        merge_slashes=False,
    )
    @needs("data")
    @signed_in
    def download_item(ref: str, service: str, item_id: str) -> Response:
        """The file's bytes, streamed; ``Range`` is passed to the provider, and query parameters
        (e.g. ``format`` for an export) reach the operation as ``ctx.options``."""
        operation, context = _operation(ref, service, "download")
        metrics.note_provider(context.provider.name)
        context.options = {k: v for k, v in request.args.items() if len(v) <= 200}
        download = operation.download(context, item_id, request.headers.get("Range"))
        return browse.download_response(download)

    @api.get("/integrations/<ref>/services/<service>/search")
    @needs("data")
    @signed_in
    @query(SearchQuery)
    def search_items(ref: str, service: str, params: SearchQuery) -> Response:
        """One page of the items matching ``q``, each with the folder it lives in (``parent``);
        ``q`` is searched for as typed, quotes and operators included."""
        operation, context = _operation(ref, service, "search")
        page = browse.search(context, operation, params.q, params.cursor, params.limit)
        return jsonify(browse.page_json(page))

    @api.get("/integrations/<ref>/services/<service>/views")
    @needs("integrations:read")
    @signed_in
    def list_views(ref: str, service: str) -> Response:
        """The named entry points of a service (shared with me, recent, starred…)."""
        integration, _ = access.find(current(), ref)
        operation = browse.service_of(provider_of(integration), service, "browse")
        views = browse.describe_views(operation)
        return jsonify({"items": views, "nextCursor": None})

    @api.get("/integrations/<ref>/services/<service>/views/<view>")
    @needs("data")
    @signed_in
    @query(ViewQuery)
    def browse_view(ref: str, service: str, view: str, params: ViewQuery) -> Response:
        """One page of a view; its folders open with ``items?parent=``."""
        operation, context = _operation(ref, service, "views")
        chosen = browse.view_of(context.provider, operation, view)
        page = browse.browse_view(context, chosen, params.cursor, params.limit)
        return jsonify(browse.page_json(page))

    @api.get(
        "/integrations/<ref>/services/<service>/items/<item:item_id>/thumbnail",
        merge_slashes=False,
    )
    @needs("data")
    @signed_in
    @query(ThumbnailQuery)
    def item_thumbnail(ref: str, service: str, item_id: str, params: ThumbnailQuery) -> Response:
        """A small image of the item (PNG, JPEG or WebP, at most 1 MiB), about ``size`` pixels
        wide; served with the same headers as icons."""
        operation, context = _operation(ref, service, "thumbnail")
        return browse.thumbnail_response(operation.thumbnail(context, item_id, params.size))

    @api.get("/integrations/<ref>/preview")
    @needs("data")
    @signed_in
    def preview_saved(ref: str) -> Response:
        """A shallow tree of every service, through your connection."""
        user = current()
        integration, _ = access.find(user, ref)
        provider = provider_of(integration)
        return jsonify(browse.preview(browse.context_for(provider, integration, user)))

    @api.post("/integrations/preview")
    @needs("data")
    @signed_in
    @body(PreviewRequest)
    def preview_unsaved(payload: PreviewRequest) -> Response:
        """The same tree for an integration that is not saved, with credentials given here;
        nothing is stored."""
        user = current()
        fields = payload.model_dump(exclude={"credentials", "owner_id"})
        fields.setdefault("slug", None)
        fields["slug"] = fields["slug"] or integrations.slugify(fields["name"])
        values, provider = integrations.validate(fields)
        values.pop("client_secret", None)
        integration = Integration(owner=user.principal, **values)
        credentials = payload.credentials.model_dump(by_alias=True, exclude_none=True)
        check_credentials(integration.auth_type, credentials, prefix="credentials.")
        context = TransientContext(provider, integration, user, credentials)
        return jsonify(browse.preview(context))

    # Every answer under /proxy/ is sandboxed, the hub's own errors there included (SECURITY 28):
    # set after the answer is made, so no error path can miss it.
    api.after_app_request(proxy.sandbox_route)

    # No slash merging: "//" in a proxied path must reach the checks, not become a redirect.
    @api.route("/integrations/<ref>/proxy/<path:path>", methods=PROXY_METHODS, merge_slashes=False)
    @api.route(
        "/integrations/<ref>/proxy/",
        methods=PROXY_METHODS,
        defaults={"path": ""},
        merge_slashes=False,
    )
    @needs("data")
    @signed_in
    def proxy_request(ref: str, path: str) -> Response:
        """Forward the request to the integration's API base URL + path, credentials added."""
        user = current()
        integration, _ = access.find(user, ref)
        provider = provider_of(integration)
        metrics.note_provider(provider.name)
        base = addresses.api_base_uri(provider, integration)
        if base is None:
            raise ConfigurationError("this integration has no apiBaseUri to proxy to")
        context = browse.context_for(provider, integration, user)
        limit = int(current_app.config["PROXY_MAX_RESPONSE_BYTES"])
        return proxy.forward(context, base, request, limit)
