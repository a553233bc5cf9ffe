"""The pages' and the referral API's reads of requests go into the audit trail like the FHIR gateway's reads.

A page (or the API) shows rows of the workflow's own tables (not FHIR reads), so each request shown is reported to
the gateway's interaction observers as a read (detail) or search (list) of its ServiceRequest, about
its patient. ``AuditMiddleware`` buffers the rows and writes them when the response is done.
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_gateway.context import Interaction
from fhir_gateway.interactions import observe
from hub.accounts.fhir import actor_from_request
from hub.referrals.models import Referral


def referrals_shown(request, referrals: Iterable[Referral], *, action: str, page: str) -> None:
    """Record that ``request.user`` saw these requests (``action``: ``read`` or ``search``) on ``page``."""
    actor = actor_from_request(request)
    if actor is None:
        return
    for referral in referrals:
        interaction = Interaction(
            actor=actor,
            action=action,
            resource_type="ServiceRequest",
            fhir_id=referral.service_request_id,
            detail={
                "owner": referral.requesting_site.code,
                "via": "api" if page.startswith("api") else "web",
                "page": page,
                "referral": referral.pk,
            },
        )
        resource = {
            "resourceType": "ServiceRequest",
            "id": referral.service_request_id,
            "subject": {"reference": referral.patient_ref},
        }
        observe(interaction, 200, resource)


def referral_refused(request, referral_id: int, *, page: str, status: int = 404) -> None:
    """Record that ``request.user`` asked for a request they may not see (for the owning site's review: its
    ServiceRequest and patient are recorded, never shown to the caller)."""
    actor = actor_from_request(request)
    if actor is None:
        return
    referral = Referral.objects.select_related("requesting_site").filter(pk=referral_id).first()
    detail = {"via": "api" if page.startswith("api") else "web", "page": page, "referral": referral_id}
    resource = None
    if referral is not None:
        detail["owner"] = referral.requesting_site.code
        resource = {
            "resourceType": "ServiceRequest",
            "id": referral.service_request_id,
            "subject": {"reference": referral.patient_ref},
        }
    interaction = Interaction(
        actor=actor,
        action="read",
        resource_type="ServiceRequest",
        fhir_id=referral.service_request_id if referral is not None else "",
        detail=detail,
    )
    observe(interaction, status, resource)


def attachment_shown(request, *, referral: Referral, reference: str) -> None:
    """Record that ``request.user`` opened a file attached to ``referral`` (a read of its Media/DocumentReference)."""
    actor = actor_from_request(request)
    if actor is None:
        return
    resource_type, _sep, fhir_id = reference.partition("/")
    interaction = Interaction(
        actor=actor,
        action="read",
        resource_type=resource_type,
        fhir_id=fhir_id,
        detail={"owner": referral.requesting_site.code, "via": "web", "page": "file", "referral": referral.pk},
    )
    resource = {"resourceType": resource_type, "id": fhir_id, "subject": {"reference": referral.patient_ref}}
    observe(interaction, 200, resource)
