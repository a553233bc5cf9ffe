"""The right people are told of new, routed, accepted, escalated and completed requests."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hub.accounts.constants import Role
from hub.referrals import services
from hub.referrals.models import DepartmentHead, OnCallShift
from tests.factories import UserFactory, with_signing_pin

NOW = datetime.fromisoformat("2026-11-26T03:00:00+08:00")
told: list = []


class RecordingChannel:
    """A delivery channel that keeps what it is given."""

    name = "recording"

    def deliver(self, notification) -> None:
        told.append(notification)


@pytest.fixture(autouse=True)
def recording(settings):
    settings.NOTIFICATION_CHANNELS = ["tests.hub.referrals.test_who_is_told.RecordingChannel"]
    told.clear()
    return told


def who(event: str) -> set[int]:
    return {r.user_id for n in told if n.event == event for r in n.recipients}


def refer(doctor, patient, **fields):
    defaults = {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "clinical_question": "胸痛",
        "consent": services.ConsentGiven(),
        "now": NOW,
    }
    return services.referral_create(requester=doctor, patient_ref=f"Patient/{patient['id']}", **{**defaults, **fields})


def test_the_routed_specialist_then_the_requester_are_told(
    dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        referral = refer(dr_li_at_county_a, patient_at_county_a)
    assert who("referral.routed") == {cardiologist_zhang.pk}

    with django_capture_on_commit_callbacks(execute=True):
        services.task_accept(referral_id=referral.pk, actor=cardiologist_zhang, now=NOW)
        services.opinion_sign(
            referral_id=referral.pk,
            actor=cardiologist_zhang,
            conclusion="急诊PCI",
            now=NOW,
            pin=with_signing_pin(cardiologist_zhang),
        )
    assert who("referral.accepted") == {dr_li_at_county_a.pk}
    assert who("referral.completed") == {dr_li_at_county_a.pk}
    [completed] = [n for n in told if n.event == "referral.completed"]
    assert completed.payload["referral"]["status"] == "completed"


def test_a_routine_request_tells_the_whole_department(
    dr_li_at_county_a,
    cardiologist_zhang,
    neurologist_zhou,
    patient_at_county_a,
    general_hospital,
    cardiology,
    django_capture_on_commit_callbacks,
):
    liu = UserFactory(username="cardiologist_liu", role=Role.SPECIALIST, site=general_hospital, department=cardiology)
    with django_capture_on_commit_callbacks(execute=True):
        refer(dr_li_at_county_a, patient_at_county_a, urgency="routine", pathway="other", target_specialty="cardiology")

    assert who("referral.routed") == {cardiologist_zhang.pk, liu.pk}


def test_an_escalation_tells_the_backup_and_the_requester(
    dr_li_at_county_a,
    cardiologist_zhang,
    patient_at_county_a,
    general_hospital,
    cardiology,
    django_capture_on_commit_callbacks,
):
    liu = UserFactory(username="cardiologist_liu", role=Role.SPECIALIST, site=general_hospital, department=cardiology)
    OnCallShift.objects.create(
        department=cardiology,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=8),
        primary=cardiologist_zhang,
        backup=liu,
    )
    DepartmentHead.objects.create(department=cardiology, head=liu)
    with django_capture_on_commit_callbacks(execute=True):
        refer(dr_li_at_county_a, patient_at_county_a, urgency="emergency")
        services.sla_escalate_due(now=NOW + timedelta(minutes=11))

    assert who("referral.escalated") == {liu.pk, dr_li_at_county_a.pk}
    assert who("referral.routed") == {cardiologist_zhang.pk, liu.pk}


def test_nothing_is_told_when_the_request_is_refused(
    dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
):
    from hub.api_errors import DomainError

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        refer(dr_li_at_county_a, patient_at_county_a, consent=None)
    assert told == []


def test_pathway_times_are_compared_with_the_national_targets(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request
):
    li = api_for(dr_li_at_county_a)
    rid = li.post("", chest_pain_request).json()["id"]

    response = li.post(
        f"{rid}/time-nodes",
        {
            "nodes": {
                "first_medical_contact": "2026-11-26T08:00:00+08:00",
                "first_ecg": "2026-11-26T08:07:00+08:00",
                "door": "2026-11-26T08:30:00+08:00",
                "needle_or_balloon": "2026-11-26T10:05:00+08:00",
            }
        },
    )

    assert response.status_code == 200, response.json()
    intervals = {i["label"]: (i["minutes"], i["met"]) for i in response.json()["pathway_intervals"]}
    assert intervals["FMC-to-ECG < 10 min"] == (7.0, True)
    assert intervals["door-to-balloon <= 90 min"] == (95.0, False)
    assert intervals["Point-of-care troponin <= 20 min"] == (None, None)  # not recorded: not measured
    bad = li.post(f"{rid}/time-nodes", {"nodes": {"lunch": "2026-11-26T12:00:00+08:00"}})
    assert bad.status_code == 400 and "lunch" in str(bad.json()["detail"])
