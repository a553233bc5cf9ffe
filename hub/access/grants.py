"""Time-bounded shares of one patient's records with one user (rooms, invited experts, break-the-glass)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from federation.identity.selectors import patients_of_same_people
from hub.access.models import AccessGrant


def grant_open(
    *,
    user,
    patient_ref: str,
    reason: str,
    source: str,
    expires_at: datetime | None = None,
    justification: str = "",
    granted_by=None,
) -> AccessGrant:
    """Let ``user`` read ``patient_ref``'s records until ``grant_close`` (or ``expires_at``); idempotent per source."""
    grants = AccessGrant.objects.filter(user=user, patient_ref=patient_ref, source=source, closed_at__isnull=True)
    grant = grants.first()
    if grant is not None:
        if expires_at != grant.expires_at:
            grant.expires_at = expires_at
            grant.save(update_fields=["expires_at"])
        return grant
    return AccessGrant.objects.create(
        user=user,
        patient_ref=patient_ref,
        reason=reason,
        source=source,
        expires_at=expires_at,
        justification=justification,
        granted_by=granted_by,
        opened_at=timezone.now(),
    )


def grant_close(*, source: str, user=None) -> int:
    """Close the open grants of ``source`` (only ``user``'s when given); the number closed."""
    grants = AccessGrant.objects.filter(source=source, closed_at__isnull=True)
    if user is not None:
        grants = grants.filter(user=user)
    return grants.update(closed_at=timezone.now())


def open_grants(user):
    now = timezone.now()
    return AccessGrant.objects.filter(user=user, closed_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def patient_refs_granted(user) -> set[str]:
    """Patients shared with ``user`` by open grants, with the same person's Patients at other sites."""
    if not getattr(user, "is_authenticated", False):
        return set()
    refs = set(open_grants(user).values_list("patient_ref", flat=True))
    ids = [ref.split("/", 1)[1] for ref in refs if ref.startswith("Patient/")]
    return refs | {ref for _site, ref in patients_of_same_people(patient_ids=ids)}
