"""The workflow's own records: only the referral workflow writes them, and a signed opinion never changes."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from fhir_gateway.context import DELETE, PATCH, UPDATE
from hub.access.rules import Refused

_CHANGES = {UPDATE, PATCH, DELETE}


def signed_opinion_check(*, action: str, resource_type: str, fhir_id: str, creating: bool) -> None:
    """A signed opinion (its Composition and Provenance) is immutable, for the workflow too: corrections are
    addenda."""
    if action not in _CHANGES or creating or resource_type not in ("Composition", "Provenance") or not fhir_id:
        return
    from hub.referrals.models import Opinion

    if Opinion.objects.filter(Q(composition_id=fhir_id) | Q(provenance_id=fhir_id)).exists():
        raise Refused(_("A signed opinion cannot be changed; add an addendum instead."))
