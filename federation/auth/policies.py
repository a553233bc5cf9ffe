"""What site systems and the sync engine may do in the gateway, and how their writes are stamped.

A site system (OAuth2 client) reaches only what its SMART scopes allow and only its own site's records;
it never writes as another site. Its writes, and the sync engine's, carry the site in ``meta.source``
and a site tag.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from federation.auth.scopes import scopes_allow
from federation.sync.records import SOURCE_SITE_SYSTEM, site_tag_add
from fhir_gateway.context import SYNC, SYSTEM, Actor, Interaction
from fhir_gateway.errors import Forbidden

ENVELOPE_ACTIONS = frozenset({"transaction", "batch", "capabilities"})
DIRECTORY_TYPES = frozenset({"Organization", "Location", "HealthcareService", "PractitionerRole", "Endpoint"})


def site_access_check(interaction: Interaction, resource: dict | None) -> None:
    """``hooks.access_policies`` entry for site systems (other actors are governed elsewhere)."""
    actor = interaction.actor
    if actor.kind != SYSTEM or interaction.action in ENVELOPE_ACTIONS:
        return
    rtype = interaction.resource_type or (resource or {}).get("resourceType")
    if rtype and not scopes_allow(actor.scopes, rtype, interaction.action):
        raise Forbidden(
            _("The scopes granted (%(scopes)s) do not allow %(action)s on %(type)s.")
            % {"scopes": " ".join(sorted(actor.scopes)) or "-", "action": interaction.action, "type": rtype}
        )
    owner = interaction.detail.get("owner")
    if owner is None:
        return
    if owner != actor.site and not (
        owner == "" and rtype in DIRECTORY_TYPES and interaction.action in ("read", "vread")
    ):
        raise Forbidden(_("A site's system reaches only its own site's records."))
    if resource is not None and interaction.action not in ("read", "vread", "search", "history"):
        for tag in (resource.get("meta") or {}).get("tag") or []:
            if tag.get("system") == SOURCE_SITE_SYSTEM and tag.get("code") != actor.site:
                raise Forbidden(_("A site never writes records as another site."))


def site_write_stamp(interaction: Interaction, resource: dict) -> None:
    """``hooks.write_stampers`` entry: the source site on every write of a site system or the sync engine."""
    actor = interaction.actor
    if actor.kind not in (SYSTEM, SYNC) or not actor.site:
        return
    meta = resource.setdefault("meta", {})
    prefix = f"urn:alliance:site:{actor.site}"
    if actor.kind == SYSTEM and not str(meta.get("source", "")).startswith(prefix):
        meta["source"] = prefix
    site_tag_add(resource, actor.site)


def site_search_scope(actor: Actor, resource_type: str | None) -> set[str] | None:
    """``hooks.search_scopes`` entry: a site system searches its own site's records (and the directory)."""
    if actor.kind != SYSTEM:
        return None
    return {actor.site, ""} if resource_type in DIRECTORY_TYPES else {actor.site}
