"""Load balancing: the active team member with the fewest open cases, the longest-standing account on a tie."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db.models import Count

from hub.accounts.constants import Role
from hub.referrals import services
from hub.referrals.constants import OPEN_STATUSES
from hub.referrals.models import OpenCaseCount, Referral
from hub.referrals.routing import least_loaded
from tests.factories import UserFactory

NOW = datetime.fromisoformat("2026-11-26T10:00:00+08:00")

pytestmark = pytest.mark.django_db


@pytest.fixture
def cardiologist_wu_on_leave(general_hospital, cardiology):
    """The oldest account of the department, but inactive: never picked."""
    return UserFactory(
        username="cardiologist_wu", role=Role.SPECIALIST, site=general_hospital, department=cardiology, is_active=False
    )


@pytest.fixture
def cardiologist_liu(general_hospital, cardiology):
    return UserFactory(username="cardiologist_liu", role=Role.SPECIALIST, site=general_hospital, department=cardiology)


def refer(doctor, patient):
    return services.referral_create(
        requester=doctor,
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛待查",
        consent=services.ConsentGiven(),
        now=NOW,
    )


def test_open_cases_of_active_team_members_decide_and_ties_go_to_the_oldest_account(
    cardiologist_wu_on_leave,
    cardiologist_zhang,
    cardiologist_liu,
    neurologist_zhou,
    dr_li_at_county_a,
    patient_at_county_a,
):
    first = refer(dr_li_at_county_a, patient_at_county_a)
    assert first.owner == cardiologist_zhang  # 0 open cases each: the older account
    second = refer(dr_li_at_county_a, patient_at_county_a)
    assert second.owner == cardiologist_liu  # zhang has 1 open case now
    third = refer(dr_li_at_county_a, patient_at_county_a)
    assert third.owner == cardiologist_zhang  # 1 each again

    # A closed case no longer counts: liu has 0 open cases, zhang 2.
    services.referral_cancel(referral_id=second.pk, actor=dr_li_at_county_a, reason="患者转院", now=NOW)
    person, load = least_loaded(referral=third, department=third.target_department, exclude=set())
    assert (person, load) == (cardiologist_liu, 0)

    # The people a request was already declined by are left out; nobody left is None.
    person, load = least_loaded(referral=third, department=third.target_department, exclude={cardiologist_liu.pk})
    assert (person, load) == (cardiologist_zhang, 2)
    excluded = {cardiologist_liu.pk, cardiologist_zhang.pk}
    assert least_loaded(referral=third, department=third.target_department, exclude=excluded) is None


def counted() -> dict[int, int]:
    return {row.user_id: row.open_cases for row in OpenCaseCount.objects.filter(open_cases__gt=0)}


def open_cases() -> dict[int, int]:
    rows = Referral.objects.filter(status__in=OPEN_STATUSES, owner__isnull=False).values("owner")
    return {row["owner"]: row["n"] for row in rows.annotate(n=Count("pk"))}


def test_the_open_case_counts_follow_every_write_of_a_request(
    cardiologist_zhang, cardiologist_liu, dr_li_at_county_a, patient_at_county_a
):
    first = refer(dr_li_at_county_a, patient_at_county_a)
    second = refer(dr_li_at_county_a, patient_at_county_a)
    third = refer(dr_li_at_county_a, patient_at_county_a)
    assert counted() == open_cases() == {cardiologist_zhang.pk: 2, cardiologist_liu.pk: 1}

    services.task_accept(referral_id=first.pk, actor=cardiologist_zhang, now=NOW)  # open -> open: no change
    services.task_forward(referral_id=third.pk, actor=cardiologist_zhang, to_user=cardiologist_liu, now=NOW)
    assert counted() == open_cases() == {cardiologist_zhang.pk: 1, cardiologist_liu.pk: 2}

    services.referral_cancel(referral_id=second.pk, actor=dr_li_at_county_a, reason="患者转院", now=NOW)
    Referral.objects.filter(pk=third.pk).update(owner=cardiologist_zhang)  # any write, not only the services'
    assert counted() == open_cases() == {cardiologist_zhang.pk: 2}

    Referral.objects.filter(pk=first.pk).delete()
    assert counted() == open_cases() == {cardiologist_zhang.pk: 1}
