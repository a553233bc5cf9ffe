"""Gateway access policy: a signed opinion is immutable (corrections are addenda)."""

from __future__ import annotations

from fhir_gateway.errors import Forbidden

_CHANGES = {"update", "patch", "delete"}


def signed_opinions_are_immutable(interaction, resource: dict | None) -> None:
    if interaction.action not in _CHANGES or interaction.resource_type not in ("Composition", "Provenance"):
        return
    from django.db.models import Q

    from hub.referrals.models import Opinion

    fhir_id = interaction.fhir_id or (resource or {}).get("id")
    if fhir_id and Opinion.objects.filter(Q(composition_id=fhir_id) | Q(provenance_id=fhir_id)).exists():
        raise Forbidden("A signed opinion cannot be changed; add an addendum instead.")
