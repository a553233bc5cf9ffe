"""Demo history for the network dashboard: fifteen months of closed requests across the alliance.

The requests of ``hub.demo.referrals`` show the workflow today; these give the dashboard something to
measure: up-, down-referrals, consultations and diagnoses from every county, the four time-critical
pathways with their time nodes (ambulance and walk-in arrivals, cath lab, CT, decontamination...),
acceptances and signed opinions against the targets, a few SLA breaches, and some drafts and test data
that the dashboard must leave out. They are rows of the workflow only (no FHIR ServiceRequest or Task:
history imported from before the hub). Idempotent: nothing is written when the history is there.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from federation.sites.constants import SiteKind
from federation.sites.models import Department, Site
from fhir_gateway.public import ids_owned
from hub.accounts.constants import Role
from hub.accounts.models import User
from hub.referrals.constants import (
    ConsentState,
    ParticipantRole,
    Pathway,
    ReferralKind,
    TaskStatus,
    TimeNode,
    Urgency,
)
from hub.referrals.models import Opinion, Participant, Referral, SlaBreach, TimeNodeRecord, Transition
from hub.referrals.sla import sla_target

SEED = 20261203
MONTHS = 15
NAMESPACE = uuid.UUID("6f1c1f0e-6a4e-4d8e-9a3b-0d9a1d5b7c21")
PATHWAY_DEPARTMENT = {
    Pathway.CHEST_PAIN: "cardiology",
    Pathway.STROKE: "neurology",
    Pathway.TRAUMA: "trauma",
    Pathway.POISONING: "toxicology",
}
QUESTIONS = {
    Pathway.CHEST_PAIN: "胸痛，心电图提示ST段抬高，请心内科会诊",
    Pathway.STROKE: "突发肢体无力、言语不清，请卒中会诊",
    Pathway.TRAUMA: "车祸多发伤，请创伤外科会诊",
    Pathway.POISONING: "有机磷农药口服中毒，请中毒救治科会诊",
    Pathway.OTHER: "请协助诊治",
}


def history_uid(n: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"history-{n}")


def _minutes(rng: random.Random, median: float, spread: float = 0.6) -> float:
    return max(1.0, rng.lognormvariate(0, spread) * median)


class _History:
    def __init__(self, now: datetime):
        self.rng = random.Random(SEED)
        self.now = now
        self.general = Site.objects.get(kind=SiteKind.GENERAL, code="general")
        self.counties = list(Site.objects.filter(kind=SiteKind.COUNTY).order_by("code"))
        self.departments = {d.code: d for d in Department.objects.filter(site=self.general)}
        self.specialists: dict[int, list[User]] = {}
        for user in User.objects.filter(role=Role.SPECIALIST, site=self.general).order_by("username"):
            self.specialists.setdefault(user.department_id, []).append(user)
        self.doctors = {
            site.pk: list(User.objects.filter(role=Role.COUNTY_DOCTOR, site=site).order_by("username"))
            for site in self.counties
        }
        self.patients = {
            site.code: [f"Patient/{i}" for i in ids_owned(resource_type="Patient", owner=site.code)]
            for site in self.counties
        }
        self.referrals: list[Referral] = []
        self.participants: list[Participant] = []
        self.transitions: list[Transition] = []
        self.nodes: list[tuple[int, str, datetime]] = []
        self.opinions: list[tuple[int, User, datetime]] = []
        self.breaches: list[tuple[int, datetime]] = []

    def moment(self, month_back: int) -> datetime:
        """A time in the month ``month_back`` months ago (never in the last hour)."""
        start = self.now - timedelta(days=30 * (month_back + 1))
        at = start + timedelta(seconds=self.rng.uniform(0, 30 * 86400))
        return min(at, self.now - timedelta(hours=1))

    def pathway(self) -> str:
        return self.rng.choices(
            [Pathway.CHEST_PAIN, Pathway.STROKE, Pathway.TRAUMA, Pathway.POISONING, Pathway.OTHER],
            weights=[20, 12, 8, 5, 55],
        )[0]

    def add(self, n: int, month_back: int) -> None:
        rng = self.rng
        county = rng.choice(self.counties)
        patient = rng.choice(self.patients[county.code] or ["Patient/unknown"])
        submitted = self.moment(month_back)
        going_down = rng.random() < 0.18
        pathway = Pathway.OTHER if going_down else self.pathway()
        if going_down:
            kind, urgency = ReferralKind.DOWN, Urgency.ROUTINE
            owner = rng.choice(self.doctors[county.pk])
            department = rng.choice(
                [self.departments[c] for c in ("neurology", "cardiology", "rehabilitation", "trauma")]
            )
            requester = rng.choice(self.specialists[department.pk])
            requesting, target, target_department = self.general, county, None
        else:
            if pathway == Pathway.OTHER:
                kind = rng.choices(
                    [ReferralKind.UP, ReferralKind.CONSULTATION, ReferralKind.DIAGNOSIS], weights=[45, 35, 20]
                )[0]
                urgency = rng.choices([Urgency.URGENT, Urgency.ROUTINE], weights=[40, 60])[0]
                code = "imaging" if kind == ReferralKind.DIAGNOSIS else rng.choice(["cardiology", "neurology", "icu"])
            else:
                kind = rng.choices([ReferralKind.UP, ReferralKind.CONSULTATION], weights=[55, 45])[0]
                urgency = rng.choices([Urgency.EMERGENCY, Urgency.URGENT], weights=[80, 20])[0]
                code = PATHWAY_DEPARTMENT[pathway]
            target_department = self.departments[code]
            requester = rng.choice(self.doctors[county.pk])
            owner = rng.choice(self.specialists[target_department.pk])
            requesting, target = county, self.general

        fate = rng.choices(["completed", "rejected", "cancelled", "failed"], weights=[86, 5, 6, 3])[0]
        within = sla_target(urgency=urgency, pathway=pathway)[0].total_seconds() / 60
        accept_after = _minutes(rng, within * 0.45, 0.7)
        accepted = submitted + timedelta(minutes=accept_after) if fate in ("completed", "failed") else None
        opinion_at = None
        if fate == "completed" and kind != ReferralKind.DOWN:
            opinion_at = accepted + timedelta(minutes=_minutes(rng, {"emergency": 25, "urgent": 150}.get(urgency, 900)))
        closed = opinion_at or (accepted or submitted) + timedelta(minutes=_minutes(rng, 60))
        closed = min(closed, self.now)
        status = {
            "completed": TaskStatus.COMPLETED,
            "rejected": TaskStatus.REJECTED,
            "cancelled": TaskStatus.CANCELLED,
            "failed": TaskStatus.FAILED,
        }[fate]
        referral = Referral(
            uid=history_uid(n),
            kind=kind,
            urgency=urgency,
            pathway=pathway,
            study_kind="imaging" if kind == ReferralKind.DIAGNOSIS else "",
            status=status,
            requester=requester,
            requesting_site=requesting,
            target_site=target,
            target_specialty=target_department.specialty if target_department else "",
            target_department=target_department,
            owner=owner if accepted else None,
            patient_ref=patient,
            clinical_question=QUESTIONS[pathway] if not going_down else "病情稳定，转回县医院继续治疗",
            consent_state=ConsentState.DEFERRED if urgency == Urgency.EMERGENCY else ConsentState.GIVEN,
            created_at=submitted - timedelta(minutes=2),
            submitted_at=submitted,
            accepted_at=accepted,
            closed_at=closed,
        )
        self.referrals.append(referral)
        index = len(self.referrals) - 1
        self.participants.append((index, requester, ParticipantRole.REQUESTER, submitted))
        if accepted:
            self.participants.append((index, owner, ParticipantRole.OWNER, accepted))
        steps = [("submit", TaskStatus.DRAFT, TaskStatus.REQUESTED, requester, submitted)]
        if accepted:
            steps.append(("accept", TaskStatus.REQUESTED, TaskStatus.ACCEPTED, owner, accepted))
        steps.append((fate if fate != "rejected" else "decline", steps[-1][2], status, owner, closed))
        self.transitions += [(index, *step) for step in steps]
        if accept_after > within and (accepted is None or accepted > submitted + timedelta(minutes=within)):
            self.breaches.append((index, submitted + timedelta(minutes=within)))
        if opinion_at:
            self.opinions.append((index, owner, opinion_at))
        if pathway != Pathway.OTHER:
            self.time_nodes(index, pathway, submitted)

    def time_nodes(self, index: int, pathway: str, submitted: datetime) -> None:
        rng, at = self.rng, {}
        door = submitted - timedelta(minutes=_minutes(rng, 12))
        at[TimeNode.DOOR] = door
        at[TimeNode.CONSULT_REQUESTED] = submitted
        at[TimeNode.SYMPTOM_ONSET] = door - timedelta(minutes=_minutes(rng, 120))
        if pathway == Pathway.CHEST_PAIN:
            ambulance = rng.random() < 0.55
            if ambulance:
                called = door - timedelta(minutes=_minutes(rng, 40))
                at[TimeNode.EMS_CALLED] = called
                at[TimeNode.FIRST_MEDICAL_CONTACT] = called + timedelta(minutes=_minutes(rng, 12))
                at[TimeNode.FIRST_ECG] = at[TimeNode.FIRST_MEDICAL_CONTACT] + timedelta(minutes=_minutes(rng, 7))
                if rng.random() < 0.45:
                    at[TimeNode.ECG_TRANSMITTED] = at[TimeNode.FIRST_ECG] + timedelta(minutes=_minutes(rng, 3))
            else:
                at[TimeNode.FIRST_MEDICAL_CONTACT] = door
                at[TimeNode.FIRST_ECG] = door + timedelta(minutes=_minutes(rng, 8))
            at[TimeNode.DIAGNOSIS] = at[TimeNode.FIRST_ECG] + timedelta(minutes=_minutes(rng, 8))
            sampled = door + timedelta(minutes=_minutes(rng, 6))
            at[TimeNode.TROPONIN_SAMPLED] = sampled
            at[TimeNode.TROPONIN_REPORTED] = sampled + timedelta(minutes=_minutes(rng, 16, 0.35))
            if rng.random() < 0.6:  # STEMI: primary PCI
                if not ambulance or rng.random() < 0.5:
                    at[TimeNode.ED_ENTERED] = door + timedelta(minutes=1)
                if rng.random() < (0.35 if not ambulance else 0.2):
                    at[TimeNode.CCU_ENTERED] = door + timedelta(minutes=_minutes(rng, 20))
                called = at[TimeNode.DIAGNOSIS] + timedelta(minutes=_minutes(rng, 5))
                at[TimeNode.CATH_LAB_CALLED] = called
                at[TimeNode.CATH_LAB_READY] = called + timedelta(minutes=_minutes(rng, 22, 0.4))
                at[TimeNode.CATH_LAB_ARRIVAL] = at[TimeNode.CATH_LAB_READY] + timedelta(minutes=_minutes(rng, 5))
                at[TimeNode.NEEDLE_OR_BALLOON] = door + timedelta(minutes=_minutes(rng, 72, 0.3))
            elif rng.random() < 0.5:  # transferred on from the county hospital
                at[TimeNode.DOOR_OUT] = door + timedelta(minutes=_minutes(rng, 32, 0.4))
        elif pathway == Pathway.STROKE:
            at[TimeNode.FIRST_MEDICAL_CONTACT] = door
            at[TimeNode.CT_DONE] = door + timedelta(minutes=_minutes(rng, 21, 0.4))
            if rng.random() < 0.6:
                at[TimeNode.DECISION] = at[TimeNode.CT_DONE] + timedelta(minutes=_minutes(rng, 10))
                at[TimeNode.NEEDLE_OR_BALLOON] = door + timedelta(minutes=_minutes(rng, 50, 0.35))
        elif pathway == Pathway.TRAUMA:
            at[TimeNode.CT_DONE] = door + timedelta(minutes=_minutes(rng, 24, 0.45))
            if rng.random() < 0.5:
                at[TimeNode.SURGERY_START] = door + timedelta(minutes=_minutes(rng, 55, 0.4))
            elif rng.random() < 0.5:
                at[TimeNode.DOOR_OUT] = door + timedelta(minutes=_minutes(rng, 50, 0.4))
        else:
            at[TimeNode.DECONTAMINATION] = door + timedelta(minutes=_minutes(rng, 20, 0.5))
            if rng.random() < 0.6:
                at[TimeNode.ANTIDOTE] = door + timedelta(minutes=_minutes(rng, 22, 0.5))
        self.nodes += [(index, node, moment) for node, moment in at.items() if moment <= self.now]

    def extras(self, start: int) -> None:
        """Drafts and requests about test patients: there, and left out of every count."""
        for n in range(8):
            self.add(start + n, self.rng.randrange(0, 3))
            referral = self.referrals[-1]
            if n < 4:
                referral.status, referral.submitted_at, referral.accepted_at, referral.closed_at = (
                    TaskStatus.DRAFT,
                    None,
                    None,
                    None,
                )
                referral.owner = None
                self.transitions = [t for t in self.transitions if t[0] != len(self.referrals) - 1]
                self.opinions = [o for o in self.opinions if o[0] != len(self.referrals) - 1]
                self.breaches = [b for b in self.breaches if b[0] != len(self.referrals) - 1]
                self.nodes = [x for x in self.nodes if x[0] != len(self.referrals) - 1]
            else:
                referral.is_test = True

    def save(self) -> int:
        Referral.objects.bulk_create(self.referrals)
        rows = self.referrals
        Participant.objects.bulk_create(
            Participant(referral=rows[i], user=user, role=role, added_by=rows[i].requester, added_at=at)
            for i, user, role, at in self.participants
        )
        Transition.objects.bulk_create(
            Transition(referral=rows[i], action=a, from_status=f, to_status=t, actor=actor, at=at)
            for i, a, f, t, actor, at in self.transitions
        )
        TimeNodeRecord.objects.bulk_create(
            TimeNodeRecord(referral=rows[i], node=node, at=at, recorded_at=at) for i, node, at in self.nodes
        )
        Opinion.objects.bulk_create(
            Opinion(
                referral=rows[i],
                author=author,
                title="会诊意见",
                conclusion="已会诊，意见见病历。",
                signed_at=at,
                signature="demo-history",
            )
            for i, author, at in self.opinions
        )
        SlaBreach.objects.bulk_create(
            SlaBreach(referral=rows[i], level=1, due_at=due, detected_at=due + timedelta(minutes=1))
            for i, due in self.breaches
        )
        return len(rows)


@transaction.atomic
def demo_dashboard_load(*, now: datetime | None = None) -> int:
    """Write the dashboard's demo history once; returns how many requests it holds."""
    if Referral.objects.filter(uid=history_uid(0)).exists():
        return Referral.objects.filter(uid__in=[history_uid(n) for n in range(5000)]).count()
    if not Site.objects.filter(kind=SiteKind.GENERAL, code="general").exists():
        return 0
    history = _History(now or timezone.now())
    n = 0
    for month_back in range(MONTHS - 1, -1, -1):
        for _request in range(40 + (MONTHS - month_back) * 3):  # the network grows month by month
            history.add(n, month_back)
            n += 1
    history.extras(n)
    return history.save()
