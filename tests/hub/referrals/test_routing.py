"""Routing: named expert, on-call roster for emergencies, department queue, load; decline and forward."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.accounts.constants import Role
from hub.api_errors import ConflictError
from hub.referrals import services
from hub.referrals.models import OnCallShift
from tests.factories import UserFactory
from tests.hub.referrals.conftest import NOW, refer


@pytest.fixture
def cardiologist_liu(general_hospital, cardiology):
    return UserFactory(
        username="cardiologist_liu",
        display_name="刘文博",
        role=Role.SPECIALIST,
        site=general_hospital,
        department=cardiology,
    )


@pytest.fixture
def night_shift(cardiology, cardiologist_zhang, cardiologist_liu):
    return OnCallShift.objects.create(
        department=cardiology,
        starts_at=NOW - timedelta(hours=2),
        ends_at=NOW + timedelta(hours=10),
        primary=cardiologist_liu,
        backup=cardiologist_zhang,
    )


def test_an_emergency_chest_pain_goes_to_cardiology_on_call(dr_li_at_county_a, patient_at_county_a, night_shift):
    referral = refer(dr_li_at_county_a, patient_at_county_a, urgency="emergency")

    decision = referral.routing_decisions.get()
    assert (decision.rule, referral.owner) == ("on_call", night_shift.primary)
    assert "on call" in decision.reason and "心血管内科" in decision.reason
    assert referral.sla_due_at == NOW + timedelta(minutes=10)


def test_the_on_call_backup_takes_an_emergency_the_primary_declines(
    dr_li_at_county_a, patient_at_county_a, night_shift
):
    referral = refer(dr_li_at_county_a, patient_at_county_a, urgency="emergency")

    services.task_decline(referral_id=referral.pk, actor=night_shift.primary, reason="正在导管室手术", now=NOW)

    referral.refresh_from_db()
    assert referral.owner == night_shift.backup and referral.status == "requested"
    assert referral.routing_decisions.last().reason.count("backup") == 1


def test_the_last_decline_rejects_the_request(dr_li_at_county_a, patient_at_county_a, night_shift):
    referral = refer(dr_li_at_county_a, patient_at_county_a, urgency="emergency")
    services.task_decline(referral_id=referral.pk, actor=night_shift.primary, reason="手术中", now=NOW)
    services.task_decline(referral_id=referral.pk, actor=night_shift.backup, reason="手术中", now=NOW)

    referral.refresh_from_db()
    assert referral.status == "rejected" and referral.owner is None
    assert referral.transitions.last().reason == "手术中"


def test_a_named_expert_gets_the_request(dr_li_at_county_a, patient_at_county_a, neurologist_zhou, cardiologist_zhang):
    referral = refer(dr_li_at_county_a, patient_at_county_a, pathway="other", named_expert=neurologist_zhou)

    assert referral.owner == neurologist_zhou
    assert referral.routing_decisions.get().rule == "named_expert"


def test_urgent_requests_go_to_the_least_loaded_specialist(
    dr_li_at_county_a, patient_at_county_a, cardiologist_zhang, cardiologist_liu
):
    first = refer(dr_li_at_county_a, patient_at_county_a)
    second = refer(dr_li_at_county_a, patient_at_county_a)

    assert {first.owner, second.owner} == {cardiologist_zhang, cardiologist_liu}
    assert "fewest open cases" in second.routing_decisions.get().reason


def test_routine_requests_wait_in_the_department_queue(
    dr_li_at_county_a, patient_at_county_a, cardiologist_zhang, cardiologist_liu
):
    referral = refer(
        dr_li_at_county_a, patient_at_county_a, urgency="routine", pathway="other", target_specialty="cardiology"
    )

    assert referral.owner is None and referral.routing_decisions.get().rule == "department_queue"
    services.task_accept(referral_id=referral.pk, actor=cardiologist_liu, now=NOW)
    referral.refresh_from_db()
    assert referral.owner == cardiologist_liu


def test_a_request_is_forwarded_to_a_colleague(
    dr_li_at_county_a, patient_at_county_a, cardiologist_zhang, neurologist_zhou, dr_zhao_at_county_b
):
    referral = refer(dr_li_at_county_a, patient_at_county_a)
    services.task_accept(referral_id=referral.pk, actor=cardiologist_zhang, now=NOW)

    services.task_forward(
        referral_id=referral.pk,
        actor=cardiologist_zhang,
        to_user=neurologist_zhou,
        reason="考虑主动脉夹层合并卒中",
        now=NOW,
    )

    referral.refresh_from_db()
    assert (referral.status, referral.owner, referral.target_department.code) == (
        "requested",
        neurologist_zhou,
        "neurology",
    )
    with pytest.raises(Exception, match="colleague"):
        services.task_forward(referral_id=referral.pk, actor=neurologist_zhou, to_user=dr_zhao_at_county_b, now=NOW)
    services.task_accept(referral_id=referral.pk, actor=neurologist_zhou, now=NOW)
    with pytest.raises(ConflictError):
        services.task_accept(referral_id=referral.pk, actor=neurologist_zhou, now=NOW)


def test_nobody_to_route_to_refuses_the_request(dr_li_at_county_a, patient_at_county_a, general_hospital):
    from hub.api_errors import DomainError
    from hub.referrals.models import Referral

    with pytest.raises(DomainError, match="Nobody"):
        refer(dr_li_at_county_a, patient_at_county_a, pathway="other", target_specialty="pediatrics")
    assert not Referral.objects.exists()
