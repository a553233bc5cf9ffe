"""Time-bounded shares of one patient's records with one user (rooms, invited experts, break-the-glass)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from federation.identity.selectors import patients_of_same_people
from hub.access.constants import GrantReason
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
    patient_site: str = "",
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
        patient_site=patient_site,
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


def _with_same_people(refs: set[str]) -> dict[str, str]:
    """``{Patient/<id> of the same person at any site: the granted ref it comes from}`` (few refs: one query each)."""
    out = {ref: ref for ref in refs}
    for ref in refs:
        if ref.startswith("Patient/"):
            for _site, same in patients_of_same_people(patient_ids=[ref.split("/", 1)[1]]):
                out.setdefault(same, ref)
    return out


def patient_refs_granted(user) -> set[str]:
    """Patients shared with ``user`` by open grants, with the same person's Patients at other sites."""
    if not getattr(user, "is_authenticated", False):
        return set()
    refs = set(open_grants(user).values_list("patient_ref", flat=True))
    ids = [ref.split("/", 1)[1] for ref in refs if ref.startswith("Patient/")]
    return refs | {ref for _site, ref in patients_of_same_people(patient_ids=ids)}


def grants_any(user, patient_ref: str, same_people) -> bool:
    """Whether an open grant gives ``user`` ``patient_ref`` or one of ``same_people`` (a subquery of refs): that
    Patient asked about ``patient_refs_granted``, which adds the same people to what the grants name."""
    if not getattr(user, "is_authenticated", False):
        return False
    return open_grants(user).filter(Q(patient_ref=patient_ref) | Q(patient_ref__in=same_people)).exists()


def break_glass_patients(user) -> dict[str, list[int]]:
    """``{Patient/<id>: [grant ids]}``: the patients ``user`` holds open now by breaking the glass (with the same
    person at other sites), so that every use can be flagged in the audit trail."""
    if not getattr(user, "is_authenticated", False):
        return {}
    grants = list(open_grants(user).filter(reason=GrantReason.BREAK_GLASS).values_list("pk", "patient_ref"))
    if not grants:
        return {}
    by_ref: dict[str, list[int]] = {}
    for pk, ref in grants:
        by_ref.setdefault(ref, []).append(pk)
    return {ref: by_ref[origin] for ref, origin in _with_same_people(set(by_ref)).items()}
