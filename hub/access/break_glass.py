"""Break the glass: an emergency clinician opens a patient's record outside their normal rights.

The clinician gives a reason; the record opens for ``HUB_BREAK_GLASS_MINUTES`` (a grant with reason
``break_glass``); the opening and every later read under it are flagged in the audit trail
(``detail.break_glass``: the grant); the patient's site administrators are notified and review each opening,
confirming it or reporting it as a possible misuse.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from federation.sites.constants import Specialty
from fhir_gateway.context import Interaction
from fhir_gateway.interactions import observe
from fhir_gateway.public import owner_of
from hub.access.actors import user_kind
from hub.access.constants import BREAK_GLASS_PERMISSION, ActorKind, GrantReason, ReviewStatus
from hub.access.grants import grant_open
from hub.access.models import AccessGrant
from hub.access.patients import patient_visible
from hub.accounts.constants import Role
from hub.api_errors import ConflictError, DomainError, ForbiddenError, NotFoundError

MIN_REASON = 10  # characters: a reason a reviewer can judge, not "x"
EMERGENCY_SPECIALTIES = (Specialty.EMERGENCY, Specialty.ICU)


def break_glass_allowed(user) -> bool:
    """Emergency-pathway clinicians: those of an emergency or intensive-care department, or granted the
    ``access.break_glass`` permission (e.g. a county hospital's emergency doctors without departments)."""
    if user_kind(user) not in (ActorKind.COUNTY_DOCTOR, ActorKind.SPECIALIST):
        return False
    department = getattr(user, "department", None)
    return user.has_perm(BREAK_GLASS_PERMISSION) or (
        department is not None and department.specialty in EMERGENCY_SPECIALTIES
    )


def break_glass_minutes() -> int:
    return int(getattr(settings, "HUB_BREAK_GLASS_MINUTES", 240))


def _audit(user, *, action: str, patient_ref: str, owner: str, status: int, detail: dict) -> None:
    from hub.accounts.fhir import actor_of

    fhir_id = patient_ref.split("/", 1)[1]
    interaction = Interaction(
        actor=actor_of(user),
        action="operation",
        resource_type="Patient",
        fhir_id=fhir_id,
        operation=action,
        detail={"owner": owner, **detail},
    )
    observe(interaction, status, {"resourceType": "Patient", "id": fhir_id})


@transaction.atomic
def break_glass_open(*, user, patient_ref: str, reason: str) -> AccessGrant:
    """Open ``patient_ref``'s record to ``user`` for a limited time; ``reason`` says why (reviewed later)."""
    if not break_glass_allowed(user):
        raise ForbiddenError(_("Only emergency clinicians may open a record this way."))
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise DomainError(
            _("Say why you need this record now (at least %(n)d characters).") % {"n": MIN_REASON},
            code="reason_required",
        )
    resource_type, _sep, fhir_id = (patient_ref or "").partition("/")
    owner = owner_of(resource_type="Patient", fhir_id=fhir_id) if resource_type == "Patient" and fhir_id else None
    if owner is None:
        raise NotFoundError(_("No such patient."))
    if patient_visible(user, patient_ref):
        raise ConflictError(_("You can already see this patient's record."), code="already_visible")
    now = timezone.now()
    grant = grant_open(
        user=user,
        patient_ref=patient_ref,
        reason=GrantReason.BREAK_GLASS,
        source=f"break_glass:{uuid.uuid4()}",
        expires_at=now + timedelta(minutes=break_glass_minutes()),
        justification=reason,
        patient_site=owner,
    )
    grant.review_status = ReviewStatus.PENDING
    grant.save(update_fields=["review_status"])
    _audit(
        user,
        action="$break-glass",
        patient_ref=patient_ref,
        owner=owner,
        status=201,
        detail={"break_glass": str(grant.pk), "reason": reason[:500]},
    )
    _notify_site_admins(grant)
    return grant


def _notify_site_admins(grant: AccessGrant) -> None:
    from hub.accounts.models import User
    from hub.notifications.events import notify_on_commit

    admins = User.objects.filter(role=Role.SITE_ADMIN, site__code=grant.patient_site, is_active=True)
    notify_on_commit(
        event="access.break_glass",
        recipients=list(admins),
        title=_("Emergency access to a patient of your site"),
        body=_("%(user)s opened %(patient)s: %(reason)s")
        % {"user": grant.user, "patient": grant.patient_ref, "reason": grant.justification[:200]},
        payload={"break_glass": {"id": grant.pk, "patient": grant.patient_ref, "review": "/access/reviews/"}},
    )


def break_glass_close(*, user, grant_id: int) -> AccessGrant:
    """The clinician is done: the record closes before its time."""
    grant = AccessGrant.objects.filter(pk=grant_id, user=user, reason=GrantReason.BREAK_GLASS).first()
    if grant is None:
        raise NotFoundError(_("No such emergency access."))
    if grant.closed_at is None:
        grant.closed_at = timezone.now()
        grant.save(update_fields=["closed_at"])
    return grant


def break_glass_reviews_visible(user) -> QuerySet[AccessGrant]:
    """The emergency accesses ``user`` reviews: to their site's patients (site administrators), or all
    (the platform operator, hub auditors)."""
    grants = AccessGrant.objects.filter(reason=GrantReason.BREAK_GLASS).select_related("user", "user__site")
    kind = user_kind(user)
    if kind in (ActorKind.SUPERUSER, ActorKind.AUDITOR):
        return grants
    if kind == ActorKind.SITE_ADMIN:
        return grants.filter(patient_site=user.site.code)
    return grants.none()


def break_glass_reviews(*, user, status: str = "") -> QuerySet[AccessGrant]:
    if user_kind(user) not in (ActorKind.SITE_ADMIN, ActorKind.SUPERUSER, ActorKind.AUDITOR):
        raise ForbiddenError(_("Emergency accesses are reviewed by site administrators."))
    grants = break_glass_reviews_visible(user)
    if status:
        grants = grants.filter(review_status=status)
    return grants.order_by("-opened_at")


@transaction.atomic
def break_glass_review(*, user, grant_id: int, decision: str, note: str = "") -> AccessGrant:
    """Confirm an emergency access as justified, or report it; a report also closes it at once."""
    if decision not in (ReviewStatus.CONFIRMED, ReviewStatus.REPORTED):
        raise DomainError(_("Decide confirmed or reported."), code="invalid")
    if user_kind(user) not in (ActorKind.SITE_ADMIN, ActorKind.SUPERUSER):
        raise ForbiddenError(_("Emergency accesses are reviewed by site administrators."))
    grant = break_glass_reviews_visible(user).select_for_update(of=("self",)).filter(pk=grant_id).first()
    if grant is None:
        raise NotFoundError(_("No such emergency access."))
    if grant.review_status != ReviewStatus.PENDING:
        raise ConflictError(_("This emergency access has already been reviewed."))
    now = timezone.now()
    grant.review_status, grant.reviewed_by, grant.reviewed_at = decision, user, now
    grant.review_note = (note or "").strip()
    fields = ["review_status", "reviewed_by", "reviewed_at", "review_note"]
    if decision == ReviewStatus.REPORTED and grant.closed_at is None:
        grant.closed_at = now
        fields.append("closed_at")
    grant.save(update_fields=fields)
    _audit(
        user,
        action="$break-glass-review",
        patient_ref=grant.patient_ref,
        owner=grant.patient_site,
        status=200,
        detail={"break_glass": str(grant.pk), "decision": decision},
    )
    return grant
