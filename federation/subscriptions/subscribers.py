"""The subscriber of a Subscription as a gateway actor, as it stands now (a withdrawn client reads nothing)."""

from __future__ import annotations

from fhir_gateway.context import SYSTEM, USER, Actor

# The actor kinds that may subscribe: the hub's users and the sites' systems (not the sync engine or the
# workflow, whose writes of a Subscription resource are stored but not run).
SUBSCRIBER_KINDS = frozenset({USER, SYSTEM})


def subscriber_of(subscription) -> Actor | None:
    """The actor whose rights decide what the subscription receives; None when it no longer may act.

    A user is read again by the access rules at every interaction; a site system keeps the scopes it had
    when it wrote the Subscription, less any its client has lost since, and nothing once its client or
    site is deactivated.
    """
    scopes = frozenset(subscription.actor_scopes.split())
    if subscription.actor_kind == SYSTEM:
        from federation.auth.models import SiteClient

        client_id = subscription.actor_id.removeprefix("client:")
        client = (
            SiteClient.objects.select_related("site")
            .filter(application__client_id=client_id, active=True, site__active=True)
            .first()
        )
        if client is None or client.site.code != subscription.actor_site:
            return None
        scopes &= frozenset(client.allowed_scopes)
    elif subscription.actor_kind != USER:
        return None
    return Actor(
        kind=subscription.actor_kind,
        id=subscription.actor_id,
        display=subscription.actor_display,
        site=subscription.actor_site,
        scopes=scopes,
    )


def same_party(actor: Actor, subscription) -> bool:
    """Whether ``actor`` is the subscriber (the one who may bind to it and read its events)."""
    return actor.kind == subscription.actor_kind and actor.id == subscription.actor_id
