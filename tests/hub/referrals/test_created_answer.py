"""The 201 answer of a new request is built by hand; it must stay what ``ReferralCreatedSerializer`` describes."""

from __future__ import annotations

import pytest
from rest_framework.renderers import JSONRenderer

from hub.referrals.api.serializers import ReferralCreatedSerializer, referral_created_data
from tests.hub.referrals.conftest import NOW, refer

pytestmark = pytest.mark.django_db


def same_answer(referral) -> None:
    by_hand = referral_created_data(referral)
    declared = ReferralCreatedSerializer(referral).data
    assert list(by_hand) == list(declared)
    assert JSONRenderer().render(by_hand) == JSONRenderer().render(declared)


def test_a_routed_request_with_records_and_time_nodes(
    dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, ecg_at_county_a
):
    referral = refer(
        dr_li_at_county_a,
        patient_at_county_a,
        reason="疑似急性心肌梗死",
        attachments=[f"DiagnosticReport/{ecg_at_county_a['id']}"],
        time_nodes={"door": NOW},
    )
    assert referral.owner == cardiologist_zhang and len(referral.time_node_rows) == 2
    same_answer(referral)


def test_a_queued_request_without_owner_and_a_draft(dr_li_at_county_a, cardiologist_zhang, patient_at_county_a):
    queued = refer(
        dr_li_at_county_a, patient_at_county_a, urgency="routine", pathway="other", target_specialty="cardiology"
    )
    assert queued.owner is None and queued.target_department is not None
    same_answer(queued)
    draft = refer(dr_li_at_county_a, patient_at_county_a, submit=False)
    assert draft.status == "draft" and draft.routing_trail == [] and draft.target_department is None
    same_answer(draft)
