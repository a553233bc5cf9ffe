"""Reads of the referral workflow: each role's queue, a request's detail, entitlement, aggregates."""

from __future__ import annotations

from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from federation.identity.selectors import Person, person_of
from hub.access.referrals import (
    patient_refs_shared_with,  # noqa: F401 - the workflow's and tests' name for it
    referrals_shared_with,
    referrals_visible,
    same_people,
)
from hub.accounts.constants import Role
from hub.accounts.fhir import actor_of
from hub.accounts.models import User
from hub.api_errors import DomainError
from hub.referrals.constants import OPEN_STATUSES, TaskStatus, Urgency
from hub.referrals.models import Opinion, Referral, SlaBreach
from hub.referrals.sla import pathway_targets


def user_by_username(username: str) -> User:
    """An active user named in a request (an expert, a colleague, an invitee); ``DomainError`` if none."""
    user = User.objects.filter(username=username, is_active=True).select_related("site", "department").first()
    if user is None:
        raise DomainError(_("Unknown user: %(username)s") % {"username": username}, code="unknown_user")
    return user


def referrals_visible_to(user) -> QuerySet[Referral]:
    """The requests a person may see (the rule: ``hub.access.referrals``), with what lists show of them."""
    return referrals_visible(user).select_related(
        "requester", "requesting_site", "target_site", "target_department", "owner"
    )


def referral_queue(*, user, scope: str = "all") -> QuerySet[Referral]:
    """``mine``: what I am responsible for; ``team``: unassigned requests of my department; ``all``."""
    queryset = referrals_visible_to(user)
    if scope == "mine":
        return queryset.filter(owner=user, status__in=OPEN_STATUSES)
    if scope == "team":
        return queryset.filter(owner__isnull=True, target_department=user.department_id, status__in=OPEN_STATUSES)
    if scope == "requested":
        return queryset.filter(requester=user)
    return queryset


def referral_worklist(
    *, user, scope: str = "all", status: str = "", urgency: str = "", pathway: str = "", kind: str = ""
) -> QuerySet[Referral]:
    """The web worklist: ``referral_queue`` filtered; open requests and drafts first, most urgent, soonest due."""
    queryset = referral_queue(user=user, scope=scope)
    for field, value in (("status", status), ("urgency", urgency), ("pathway", pathway), ("kind", kind)):
        if value:
            queryset = queryset.filter(**{field: value})
    rank = {Urgency.EMERGENCY: 0, Urgency.URGENT: 1, Urgency.ROUTINE: 2}
    return queryset.annotate(
        is_open=Case(
            When(status__in=[*OPEN_STATUSES, TaskStatus.DRAFT], then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        urgency_rank=Case(
            *[When(urgency=u, then=Value(n)) for u, n in rank.items()], default=Value(3), output_field=IntegerField()
        ),
        breach_count=Count("breaches", distinct=True),
    ).order_by("is_open", "urgency_rank", F("sla_due_at").asc(nulls_last=True), "-created_at")


def referral_detail(*, user, referral_id: int) -> Referral | None:
    return (
        referrals_visible_to(user)
        .prefetch_related(
            "participants__user",
            "transitions__actor",
            "routing_decisions__assignee",
            "routing_decisions__department",
            "time_nodes",
            "appointments",
            "opinions__author",
            "breaches__escalated_to",
        )
        .filter(pk=referral_id)
        .first()
    )


def _shared(user) -> QuerySet[Referral]:
    """Requests shared with ``user`` from another site (their own site's records are theirs anyway)."""
    return referrals_shared_with(user)


def _same_people(patient_refs) -> list[tuple[str, str]]:
    return same_people(patient_refs)


def referral_person(*, referral: Referral) -> Person | None:
    """The person the request's patient is now, in the master patient index (links may change after the request)."""
    if not referral.patient_ref.startswith("Patient/"):
        return None
    return person_of(patient_id=referral.patient_ref.split("/", 1)[1])


def resource_refs_shared_with(user) -> set[str]:
    """Every FHIR record a request shares with ``user``: the request's own resources and the attached records."""
    refs: set[str] = set()
    if not getattr(user, "is_authenticated", False):
        return refs
    rows = _shared(user).values_list("patient_ref", "service_request_id", "task_id", "consent_id", "attachments", "pk")
    ids, patients = [], set()
    for patient_ref, sr, task, consent, attachments, pk in rows:
        ids.append(pk)
        refs.add(patient_ref)
        patients.add(patient_ref)
        refs.update(f"{t}/{i}" for t, i in (("ServiceRequest", sr), ("Task", task), ("Consent", consent)) if i)
        refs.update(attachments or [])
    refs.update(ref for _site, ref in _same_people(patients))
    for composition, provenance in Opinion.objects.filter(referral__in=ids).values_list(
        "composition_id", "provenance_id"
    ):
        refs.update({f"Composition/{composition}", f"Provenance/{provenance}"})
    from hub.referrals.models import Appointment

    refs.update(
        f"Appointment/{a}" for a in Appointment.objects.filter(referral__in=ids).values_list("fhir_id", flat=True)
    )
    return refs


def owners_visible_to(user) -> dict[str, set[str]]:
    """``{site code: {Patient/<id>, ...}}``: the other sites whose patients ``user`` may see, and which patients."""
    visible: dict[str, set[str]] = {}
    if not getattr(user, "is_authenticated", False):
        return visible
    patients = set()
    for site, patient in _shared(user).values_list("requesting_site__code", "patient_ref"):
        visible.setdefault(site, set()).add(patient)
        patients.add(patient)
    for site, patient in _same_people(patients):
        if site != getattr(user.site, "code", None):
            visible.setdefault(site, set()).add(patient)
    return visible


def referral_statistics(*, site_code: str | None = None) -> dict:
    """Aggregates only (for officials): counts by state, kind, urgency and pathway, SLA breaches.

    Drafts and test data are left out, as on the network dashboard (``hub.dashboards``), which has the rest.
    """
    queryset = Referral.objects.filter(is_test=False).exclude(status=TaskStatus.DRAFT)
    if site_code:
        queryset = queryset.filter(requesting_site__code=site_code)

    def by(field: str) -> dict[str, int]:
        return dict(queryset.values_list(field).annotate(n=Count("pk")).values_list(field, "n"))

    return {
        "total": queryset.count(),
        "by_status": by("status"),
        "by_kind": by("kind"),
        "by_urgency": by("urgency"),
        "by_pathway": by("pathway"),
        "sla_breaches": SlaBreach.objects.filter(referral__in=queryset).count(),
        "breached_requests": queryset.filter(breaches__isnull=False).distinct().count(),
    }


def pathway_intervals(*, referral: Referral) -> list[dict]:
    """The pathway's intervals in minutes against their targets (chest pain, stroke, trauma, poisoning)."""
    times = {row.node: row.at for row in referral.time_nodes.all()}
    results = []
    for target in pathway_targets(referral.pathway):
        minutes = None
        if target.start in times and target.end in times:
            minutes = round((times[target.end] - times[target.start]).total_seconds() / 60, 1)
        met = None if minutes is None else (minutes < target.minutes if target.strict else minutes <= target.minutes)
        results.append(
            {
                "from": target.start,
                "to": target.end,
                "label": str(target.label),
                "target_minutes": target.minutes,
                "minutes": minutes,
                "met": met,
            }
        )
    return results


def patient_read_as(*, user, patient_ref: str) -> dict | None:
    """The Patient resource as ``user`` may read it through the gateway (an audited read); None when refused."""
    from fhir_gateway import services as fhir
    from fhir_gateway.errors import FhirError

    resource_type, _sep, fhir_id = patient_ref.partition("/")
    if resource_type != "Patient" or not fhir_id or not getattr(user, "site_id", None):
        return None
    try:
        return fhir.resource_read(resource_type="Patient", fhir_id=fhir_id, actor=actor_of(user))
    except FhirError:
        return None


def patient_records_as(*, user, patient_ref: str, types: frozenset[str] | set[str], limit: int = 100) -> list[dict]:
    """The patient's records of ``types`` that ``user`` may read (``Patient/$everything``, audited); [] when refused."""
    from django.conf import settings

    from fhir_gateway import services as fhir
    from fhir_gateway.errors import FhirError

    resource_type, _sep, fhir_id = patient_ref.partition("/")
    if resource_type != "Patient" or not fhir_id or not getattr(user, "site_id", None):
        return []
    params = [("_type", ",".join(sorted(types))), ("_count", str(limit))]
    try:
        bundle = fhir.patient_everything(
            fhir_id=fhir_id, params=params, actor=actor_of(user), base_url=settings.FEDERATION_HUB_BASE_URL
        )
    except FhirError:
        return []
    return [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if entry.get("resource", {}).get("resourceType") in types
    ]


def clinicians(*, site=None, roles=(Role.SPECIALIST, Role.COUNTY_DOCTOR)):
    """Active clinicians (of ``site`` when given), by site and name: forward, invite and named-expert choices."""
    from django.contrib.auth import get_user_model

    queryset = get_user_model().objects.filter(is_active=True, role__in=roles).select_related("site", "department")
    if site is not None:
        queryset = queryset.filter(site=site)
    return queryset.order_by("site__name", "display_name", "username")


def referral_invitees(*, referral: Referral):
    """Who may still be invited to a request: active clinicians not already taking part."""
    taking_part = referral.participants.filter(active=True).values("user")
    return clinicians().exclude(pk__in=taking_part)
