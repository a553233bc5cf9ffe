"""Issuing a site's system credentials and turning its bearer tokens into gateway actors."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import get_access_token_model, get_application_model

from federation.auth.models import SiteClient
from federation.auth.scopes import scope_valid
from federation.sites.models import Site
from fhir_gateway.context import SYSTEM, Actor
from fhir_gateway.errors import Unauthorized

HUB_TOKEN_PREFIX = "ahub_"  # noqa: S105 - the hub's own API tokens; everything else is an OAuth2 access token


@transaction.atomic
def site_client_create(*, site: Site, name: str, scopes: list[str]) -> tuple[SiteClient, str, str]:
    """A confidential client for the client credentials grant; returns it, its id and its secret (shown once)."""
    bad = [s for s in scopes if not scope_valid(s)]
    if bad or not scopes:
        raise ValueError(_("Not SMART backend scopes: %(scopes)s") % {"scopes": " ".join(bad) or "-"})
    secret = secrets.token_urlsafe(32)
    application = get_application_model().objects.create(
        name=name,
        client_type="confidential",
        authorization_grant_type="client-credentials",
        client_secret=secret,
    )
    client = SiteClient.objects.create(site=site, application=application, scopes=" ".join(scopes))
    return client, application.client_id, secret


def bearer_of(request) -> str | None:
    scheme, _sep, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def actor_from_token(raw: str) -> Actor | None:
    """The site system behind an OAuth2 access token, or None when the token is not valid."""
    checksum = hashlib.sha256(raw.encode()).hexdigest()
    token = (
        get_access_token_model()
        .objects.select_related("application__site_client__site")
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None or token.expires <= timezone.now():
        return None
    client = getattr(token.application, "site_client", None)
    if client is None or not client.active or not client.site.active:
        return None
    granted = set(token.scope.split()) & set(client.allowed_scopes)  # scopes since withdrawn no longer count
    return Actor(
        kind=SYSTEM,
        id=f"client:{token.application.client_id}",
        display=token.application.name,
        site=client.site.code,
        scopes=frozenset(granted),
    )


def token_resolve(raw: str) -> Actor | None:
    """``hooks.token_resolvers`` entry: a site system's OAuth2 access token (not the hub's own tokens)."""
    if raw.startswith(HUB_TOKEN_PREFIX):
        return None
    return actor_from_token(raw)


def actor_resolve(request) -> Actor | None:
    """``hooks.actor_resolvers`` entry: OAuth2 bearer tokens of site systems (the hub handles ``ahub_`` ones)."""
    raw = bearer_of(request)
    if raw is None or raw.startswith(HUB_TOKEN_PREFIX):
        return None
    actor = actor_from_token(raw)
    if actor is None:
        raise Unauthorized(_("Invalid or expired access token."))
    return actor
