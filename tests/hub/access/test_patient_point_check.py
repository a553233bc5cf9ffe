"""Asked about one Patient, the rules answer without listing every Patient shared with the user
(``Rule.shares_patient``, the ``Visibility``'s point check): a room's admission, a record page. The answer
must be the set's answer for every user and Patient: shared by a request, by an open grant, through the same
person at another site (the master patient index), and not shared (an expired or closed grant, no request)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from federation.identity.services import patients_index
from fhir_gateway import services as fhir
from fhir_gateway.errors import FhirError
from hub.access.actors import rule_of_user
from hub.access.grants import grant_close, grant_open
from hub.access.patients import patient_visible
from hub.accounts.constants import Role
from hub.accounts.fhir import actor_of
from tests.factories import UserFactory, patient_resource
from tests.hub.referrals.conftest import refer, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def radiologist_zhao(general_hospital):
    return UserFactory(username="radiologist_zhao", display_name="赵雪梅", role=Role.SPECIALIST, site=general_hospital)


def _gateway_reads(user, fhir_id: str) -> bool:
    try:
        fhir.resource_read(resource_type="Patient", fhir_id=fhir_id, actor=actor_of(user))
    except FhirError:
        return False
    return True


def test_the_point_check_agrees_with_the_set_and_with_the_gateway(
    county_a, county_b, dr_li_at_county_a, dr_zhao_at_county_b, cardiologist_zhang, radiologist_zhao
):
    li_ming_a = store(patient_resource(1), owner="county-a")
    li_ming_b = store(patient_resource(1, mrn_system="urn:site:county-b:mrn"), owner="county-b")  # the same person
    other_a = store(patient_resource(3), owner="county-a")
    other_b = store(patient_resource(4, region="411322", mrn_system="urn:site:county-b:mrn"), owner="county-b")
    expired_b = store(patient_resource(5, region="411322", mrn_system="urn:site:county-b:mrn"), owner="county-b")
    closed_b = store(patient_resource(6, region="411322", mrn_system="urn:site:county-b:mrn"), owner="county-b")
    patients_index(site="county-a", patients=[li_ming_a, other_a])
    patients_index(site="county-b", patients=[li_ming_b, other_b, expired_b, closed_b])
    refer(dr_li_at_county_a, li_ming_a, named_expert=cardiologist_zhang)
    now = timezone.now()
    grant_open(user=radiologist_zhao, patient_ref=f"Patient/{other_b['id']}", reason="room", source="t:1")
    grant_open(
        user=radiologist_zhao,
        patient_ref=f"Patient/{expired_b['id']}",
        reason="room",
        source="t:2",
        expires_at=now - timedelta(minutes=1),
    )
    grant_open(user=radiologist_zhao, patient_ref=f"Patient/{closed_b['id']}", reason="room", source="t:3")
    grant_close(source="t:3")

    patients = [li_ming_a, li_ming_b, other_a, other_b, expired_b, closed_b]
    users = [dr_li_at_county_a, dr_zhao_at_county_b, cardiologist_zhang, radiologist_zhao]
    seen = {}
    for user in users:
        rule = rule_of_user(user)
        shared = rule.shared_patient_ids()
        for patient in patients:
            pid = patient["id"]
            assert rule.shares_patient(pid) == (pid in shared), (user.username, pid)
            visible = patient_visible(user, f"Patient/{pid}")
            assert visible == _gateway_reads(user, pid), (user.username, pid)
            seen[user.username, pid] = visible
    # The cases the agreement covers: a request, the same person elsewhere, a grant, and the ones that share nothing.
    assert seen["cardiologist_zhang", li_ming_a["id"]] and seen["cardiologist_zhang", li_ming_b["id"]]
    assert not seen["cardiologist_zhang", other_a["id"]]
    assert seen["radiologist_zhao", other_b["id"]]
    assert not seen["radiologist_zhao", expired_b["id"]] and not seen["radiologist_zhao", closed_b["id"]]
    assert not seen["radiologist_zhao", li_ming_a["id"]]
    assert seen["dr_zhao", other_b["id"]] and not seen["dr_zhao", other_a["id"]]  # own site only
    assert rule_of_user(cardiologist_zhang).shares_patient(li_ming_b["id"])  # through the index, not the request


def test_a_patient_shared_only_through_the_set_is_still_visible(county_a, county_b, radiologist_zhao, monkeypatch):
    """The point check only ever says "yes" early: its "no" is answered by the set, so a rule it misses still holds."""
    from hub.access.rules import Rule

    other_b = store(patient_resource(4, region="411322", mrn_system="urn:site:county-b:mrn"), owner="county-b")
    grant_open(user=radiologist_zhao, patient_ref=f"Patient/{other_b['id']}", reason="room", source="t:1")
    monkeypatch.setattr(Rule, "shares_patient", lambda self, fhir_id: False)
    assert patient_visible(radiologist_zhao, f"Patient/{other_b['id']}")
