"""The access package's public interface: patients visible by site, by request and by grant."""

from __future__ import annotations

import pytest

from fhir_gateway import services as fhir
from fhir_gateway.context import Actor
from hub.access.constants import GrantReason
from hub.access.grants import grant_close, grant_open
from hub.access.patients import patient_check, patient_visible
from hub.accounts.fhir import actor_of
from hub.api_errors import NotFoundError
from tests.factories import patient_resource

pytestmark = pytest.mark.django_db


def _patient_at(site_code: str) -> str:
    actor = Actor(kind="sync", id=site_code, site=site_code)
    result = fhir.resource_create(resource=patient_resource(7), actor=actor, owner=site_code)
    return f"Patient/{result.resource['id']}"


def test_a_county_doctor_sees_their_own_sites_patient_and_not_another_sites(dr_li_at_county_a, dr_zhao_at_county_b):
    ref = _patient_at("county-a")
    assert patient_visible(dr_li_at_county_a, ref)
    assert not patient_visible(dr_zhao_at_county_b, ref)
    with pytest.raises(NotFoundError):
        patient_check(dr_zhao_at_county_b, ref)


def test_a_missing_patient_and_a_forbidden_one_get_the_same_answer(dr_zhao_at_county_b):
    _patient_at("county-a")
    with pytest.raises(NotFoundError) as missing:
        patient_check(dr_zhao_at_county_b, "Patient/does-not-exist")
    with pytest.raises(NotFoundError) as forbidden:
        patient_check(dr_zhao_at_county_b, _patient_at("county-a"))
    assert str(missing.value) == str(forbidden.value)


def test_a_grant_shares_the_patient_until_it_is_closed(dr_zhao_at_county_b):
    ref = _patient_at("county-a")
    grant_open(user=dr_zhao_at_county_b, patient_ref=ref, reason=GrantReason.ROOM, source="room:1")
    assert patient_visible(dr_zhao_at_county_b, ref)
    read = fhir.resource_read(resource_type="Patient", fhir_id=ref.split("/")[1], actor=actor_of(dr_zhao_at_county_b))
    assert read["id"] == ref.split("/")[1]
    assert grant_close(source="room:1") == 1
    assert not patient_visible(dr_zhao_at_county_b, ref)


def test_officials_never_see_patients_even_with_a_grant(official_wang):
    ref = _patient_at("county-a")
    grant_open(user=official_wang, patient_ref=ref, reason=GrantReason.ROOM, source="room:2")
    assert not patient_visible(official_wang, ref)
