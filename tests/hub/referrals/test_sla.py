"""SLA escalation with controlled time: backup, then department head, every breach recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hub.accounts.constants import Role
from hub.referrals import services
from hub.referrals.models import DepartmentHead, OnCallShift, SlaPolicy
from tests.factories import UserFactory, with_signing_pin

NOW = datetime.fromisoformat("2026-11-26T02:00:00+08:00")


@pytest.fixture
def roster(general_hospital, cardiology, cardiologist_zhang):
    liu = UserFactory(username="cardiologist_liu", role=Role.SPECIALIST, site=general_hospital, department=cardiology)
    head = UserFactory(username="director_sun", role=Role.SPECIALIST, site=general_hospital, department=cardiology)
    OnCallShift.objects.create(
        department=cardiology,
        starts_at=NOW - timedelta(hours=6),
        ends_at=NOW + timedelta(hours=6),
        primary=cardiologist_zhang,
        backup=liu,
    )
    DepartmentHead.objects.create(department=cardiology, head=head)
    return {"primary": cardiologist_zhang, "backup": liu, "head": head}


def emergency(doctor, patient):
    return services.referral_create(
        requester=doctor,
        kind="consultation",
        urgency="emergency",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛",
        now=NOW,
    )


def test_an_unaccepted_emergency_escalates_to_the_backup_then_the_head(dr_li_at_county_a, patient_at_county_a, roster):
    referral = emergency(dr_li_at_county_a, patient_at_county_a)
    assert referral.owner == roster["primary"] and referral.sla_due_at == NOW + timedelta(minutes=10)

    assert services.sla_escalate_due(now=NOW + timedelta(minutes=9)) == 0
    assert services.sla_escalate_due(now=NOW + timedelta(minutes=10)) == 1
    referral.refresh_from_db()
    assert referral.owner == roster["backup"] and referral.escalation_level == 1
    assert referral.routing_decisions.last().rule == "escalation"

    assert services.sla_escalate_due(now=NOW + timedelta(minutes=15)) == 0
    assert services.sla_escalate_due(now=NOW + timedelta(minutes=20)) == 1
    referral.refresh_from_db()
    assert referral.owner == roster["head"] and referral.sla_due_at is None

    breaches = list(referral.breaches.values_list("level", "escalated_to__username"))
    assert breaches == [(1, "cardiologist_liu"), (2, "director_sun")]
    assert [t.action for t in referral.transitions.all()][-2:] == ["escalate", "escalate"]
    assert services.sla_escalate_due(now=NOW + timedelta(hours=5)) == 0


def test_an_accepted_request_is_not_escalated(dr_li_at_county_a, patient_at_county_a, roster):
    referral = emergency(dr_li_at_county_a, patient_at_county_a)
    services.task_accept(referral_id=referral.pk, actor=roster["primary"], now=NOW + timedelta(minutes=3))

    assert services.sla_escalate_due(now=NOW + timedelta(hours=1)) == 0
    assert not referral.breaches.exists()


def test_a_pathway_policy_overrides_the_urgency_default(dr_li_at_county_a, patient_at_county_a, roster):
    SlaPolicy.objects.create(
        urgency="emergency", pathway="chest_pain", accept_within_minutes=5, escalate_every_minutes=3
    )
    SlaPolicy.objects.create(urgency="emergency", pathway="", accept_within_minutes=15)

    referral = emergency(dr_li_at_county_a, patient_at_county_a)
    assert referral.sla_due_at == NOW + timedelta(minutes=5)
    services.sla_escalate_due(now=NOW + timedelta(minutes=5))
    referral.refresh_from_db()
    assert referral.sla_due_at == NOW + timedelta(minutes=8)


def test_the_beat_schedule_runs_the_escalation_task(settings):
    from hub.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["referrals-sla-escalation"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_an_accepted_request_without_a_signed_opinion_in_time_is_escalated_up_the_ladder(
    dr_li_at_county_a, patient_at_county_a, roster
):
    referral = emergency(dr_li_at_county_a, patient_at_county_a)
    accepted = NOW + timedelta(minutes=3)
    services.task_accept(referral_id=referral.pk, actor=roster["primary"], now=accepted)
    referral.refresh_from_db()
    assert referral.opinion_due_at == accepted + timedelta(minutes=60)  # emergency: 60 min after acceptance

    assert services.opinion_escalate_due(now=accepted + timedelta(minutes=59)) == 0
    assert services.opinion_escalate_due(now=accepted + timedelta(minutes=60)) == 1
    referral.refresh_from_db()
    assert referral.owner == roster["primary"] and referral.status == "accepted"  # he keeps it; they are told
    assert referral.opinion_due_at == accepted + timedelta(minutes=120)
    assert services.opinion_escalate_due(now=accepted + timedelta(minutes=120)) == 1
    referral.refresh_from_db()
    assert referral.opinion_due_at is None  # nobody left above the head

    breaches = list(referral.breaches.values_list("kind", "level", "escalated_to__username"))
    assert breaches == [("opinion", 1, "cardiologist_liu"), ("opinion", 2, "director_sun")]
    assert [t.action for t in referral.transitions.all()][-2:] == ["escalate_opinion", "escalate_opinion"]
    assert services.sla_escalate_due(now=accepted + timedelta(hours=5)) == 0  # the acceptance SLA was met


def test_a_signed_opinion_stops_the_opinion_sla(dr_li_at_county_a, patient_at_county_a, roster):
    SlaPolicy.objects.create(urgency="emergency", pathway="", accept_within_minutes=10, opinion_within_minutes=30)
    referral = emergency(dr_li_at_county_a, patient_at_county_a)
    services.task_accept(referral_id=referral.pk, actor=roster["primary"], now=NOW + timedelta(minutes=1))
    referral.refresh_from_db()
    assert referral.opinion_due_at == NOW + timedelta(minutes=31)

    services.opinion_sign(
        referral_id=referral.pk,
        actor=roster["primary"],
        conclusion="急性下壁心梗",
        now=NOW + timedelta(minutes=20),
        pin=with_signing_pin(roster["primary"]),
    )
    assert services.opinion_escalate_due(now=NOW + timedelta(hours=3)) == 0
    assert not referral.breaches.exists()
