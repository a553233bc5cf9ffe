"""Who may see a referral or consultation request, who may act on it, and whose records it shares.

One filter (``referrals_filter``) gives the requests a user may see in lists, counts and notifications; the
answer for one request (``referral_visible``) is that filter asked about it, so they cannot disagree. A
request shares its patient's records (the Patient's compartment, with the same person at other sites) with
everyone it reaches on the other side: the team or person it is routed to, the experts invited, and for a
down-referral the receiving county doctors (who need its discharge summary).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from federation.identity.selectors import patients_of_same_people
from hub.access.actors import user_kind
from hub.access.constants import ActorKind
from hub.api_errors import ForbiddenError, NotFoundError

CLINICIAN_KINDS = (ActorKind.COUNTY_DOCTOR, ActorKind.SPECIALIST)


def _models():
    from hub.referrals.constants import ReferralKind, TaskStatus
    from hub.referrals.models import Participant, Referral

    return Referral, Participant, ReferralKind, TaskStatus


def referrals_filter(user) -> Q | None:
    """A ``Q`` on ``Referral`` for the requests ``user`` may see (None: none at all)."""
    Referral, Participant, ReferralKind, TaskStatus = _models()
    if user_kind(user) not in CLINICIAN_KINDS:
        return None
    joined = Participant.objects.filter(referral=OuterRef("pk"), user=user, active=True)
    routed = Q(owner=user)
    if user.department_id:
        routed |= Q(target_department=user.department_id, target_site=user.site_id)
    if user.role == "county_doctor":
        routed |= Q(kind=ReferralKind.DOWN, target_site=user.site_id, target_department__isnull=True)
    shared = (routed | Q(Exists(joined))) & ~Q(status=TaskStatus.DRAFT)
    return Q(requesting_site=user.site_id) | shared


def referrals_visible(user):
    """The requests ``user`` may see, as a queryset."""
    Referral = _models()[0]
    condition = referrals_filter(user)
    return Referral.objects.none() if condition is None else Referral.objects.filter(condition)


def referral_visible(user, referral) -> bool:
    """``referrals_filter`` asked about one request as it stands in memory (a service may be changing it: a
    draft being submitted is routed before it is saved). The two are written side by side and checked
    against each other (``tests/hub/access/test_rule_agreement.py``)."""
    _Referral, Participant, ReferralKind, TaskStatus = _models()
    if user_kind(user) not in CLINICIAN_KINDS:
        return False
    if referral.requesting_site_id == user.site_id:
        return True
    if referral.status == TaskStatus.DRAFT:
        return False
    if referral.owner_id == user.pk:
        return True
    if user.department_id and (referral.target_department_id, referral.target_site_id) == (
        user.department_id,
        user.site_id,
    ):
        return True
    if (
        user.role == "county_doctor"
        and referral.kind == ReferralKind.DOWN
        and referral.target_site_id == user.site_id
        and referral.target_department_id is None
    ):
        return True
    return referral.pk is not None and Participant.objects.filter(referral=referral, user=user, active=True).exists()


def referrals_shared_with(user):
    """Requests shared with ``user`` from another site (their own site's records are theirs anyway)."""
    return referrals_visible(user).exclude(requesting_site=user.site_id)


def same_people(patient_refs) -> list[tuple[str, str]]:
    """(site code, ``Patient/<id>``) of every site's Patient of the people ``patient_refs`` are (the MPI's links)."""
    return patients_of_same_people(patient_ids=[ref.split("/", 1)[1] for ref in patient_refs if "/" in ref])


def patient_refs_shared_with(user) -> set[str]:
    """Patients (``Patient/<id>``) another site shared with ``user`` through a request that reaches them, with
    the same person's Patients at the other member sites (linked in the master patient index)."""
    if user_kind(user) not in CLINICIAN_KINDS:
        return set()
    refs = set(referrals_shared_with(user).values_list("patient_ref", flat=True))
    return refs | {ref for _site, ref in same_people(refs)}


def shares_any(user, patient_ref: str, same_people) -> bool:
    """Whether a request shares ``patient_ref`` or one of ``same_people`` (a subquery of refs) with ``user``:
    that Patient asked about ``patient_refs_shared_with``, which adds the same people to the requests' patients."""
    if user_kind(user) not in CLINICIAN_KINDS:
        return False
    return referrals_shared_with(user).filter(Q(patient_ref=patient_ref) | Q(patient_ref__in=same_people)).exists()


# -- who may act on a request (each check first makes sure the request is visible) ----------------------


def is_fulfiller_candidate(user, referral) -> bool:
    """The responsible person, or anyone of the team the request is routed to (its department queue)."""
    _Referral, _Participant, ReferralKind, _TaskStatus = _models()
    if referral.owner_id == user.pk:
        return True
    if user.site_id != referral.target_site_id or user_kind(user) not in CLINICIAN_KINDS:
        return False
    if referral.kind == ReferralKind.DOWN:
        return referral.target_department_id is None or user.department_id == referral.target_department_id
    return referral.target_department_id is not None and user.department_id == referral.target_department_id


def is_participant(user, referral) -> bool:
    return referral.participants.filter(user=user, active=True).exists()


def can_view(user, referral) -> bool:
    return getattr(user, "is_authenticated", False) and referral_visible(user, referral)


def check_view(user, referral) -> None:
    """Refuse as if the request did not exist: its existence is itself patient information."""
    if not can_view(user, referral):
        raise NotFoundError(_("No such referral."))


def check_fulfiller(user, referral) -> None:
    check_view(user, referral)
    if not is_fulfiller_candidate(user, referral):
        raise ForbiddenError(_("Only the specialist or team the request is routed to may do this."))


def check_owner(user, referral) -> None:
    check_view(user, referral)
    if referral.owner_id != user.pk:
        raise ForbiddenError(_("Only the specialist responsible for the request may do this."))


def check_requester(user, referral) -> None:
    check_view(user, referral)
    if referral.requester_id != user.pk:
        raise ForbiddenError(_("Only the requesting doctor may do this."))


def check_requesting_side(user, referral) -> None:
    """The requester or a colleague of the requesting site (e.g. answering a request for information)."""
    check_view(user, referral)
    if user.site_id != referral.requesting_site_id:
        raise ForbiddenError(_("Only the requesting site may do this."))


def referral_may_name(*, site_code: str, reference: str, owner: str, shared) -> bool:
    """A request names (as its patient or an attachment) a record its requesting site holds, or, going down, one
    a request shared with the specialist (``shared``: the references a request shared with them)."""
    return owner == site_code or reference in shared


def recipients_entitled(referral, users) -> list:
    """Those of ``users`` who may see ``referral``: a notification about it reaches no one else."""
    return [user for user in users if user is not None and referral_visible(user, referral)]
