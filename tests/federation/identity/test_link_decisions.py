"""Link, unlink and merge are audited and reversible; golden Patients are published with their links."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from federation.identity.features import patient_features
from federation.identity.matching import LinkItem, records_link
from federation.identity.models import LinkAction, LinkEvent, MatchReview, MpiRecord, ReviewStatus
from federation.identity.services import (
    IdentityError,
    golden_merge,
    goldens_publish,
    link_event_revert,
    patient_link,
    patient_unlink,
)
from federation.simulator.people import patient_resource, person_generate
from fhir_gateway.models import Resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_people():
    """Patients a-1 and b-2 (the same man, but too little in common to link), and c-3, someone else."""
    person = person_generate(random.Random(5), region="411321", district="东川县")
    at_a = patient_resource(replace(person, phone=""), mrn_system="urn:a", mrn="1", resident_id="")
    at_b = patient_resource(replace(person, phone="", line="西街9号"), mrn_system="urn:b", mrn="2", resident_id="")
    other = patient_resource(
        person_generate(random.Random(6), region="411322", district="西河县"), mrn_system="c", mrn="3"
    )
    for site, pid, patient in (("county-a", "a-1", at_a), ("county-b", "b-2", at_b), ("county-c", "c-3", other)):
        records_link(items=[LinkItem(site_code=site, patient_id=pid, features=patient_features(patient))])
    return {pid: MpiRecord.objects.get(patient_id=pid) for pid in ("a-1", "b-2", "c-3")}


def test_a_site_admin_links_a_reviewed_match_and_can_undo_it(two_people):
    review = MatchReview.objects.get(record=two_people["b-2"])
    golden_a = two_people["a-1"].golden

    event = patient_link(patient_id="b-2", golden=golden_a, actor="admin_a", reason="same man, checked by phone")

    assert MpiRecord.objects.get(patient_id="b-2").golden == golden_a
    review.refresh_from_db()
    assert review.status == ReviewStatus.LINKED and review.decided_by == "admin_a"
    assert event.action == LinkAction.LINK

    revert = link_event_revert(event=event, actor="admin_a", reason="wrong after all")

    assert MpiRecord.objects.get(patient_id="b-2").golden == two_people["b-2"].golden
    event.refresh_from_db()
    assert event.reverted_by == revert
    with pytest.raises(IdentityError):
        link_event_revert(event=event, actor="admin_a")


def test_unlink_gives_the_record_a_golden_record_of_its_own(two_people):
    patient_link(patient_id="b-2", golden=two_people["a-1"].golden, actor="admin_a")

    event = patient_unlink(patient_id="b-2", actor="admin_b", reason="twins")

    assert MpiRecord.objects.get(patient_id="b-2").golden_id not in (two_people["a-1"].golden_id,)
    assert LinkEvent.objects.filter(action=LinkAction.UNLINK, pk=event.pk).exists()
    with pytest.raises(IdentityError):
        patient_unlink(patient_id="b-2", actor="admin_b")


def test_merge_moves_every_record_and_reverting_it_restores_them(two_people):
    source, target = two_people["b-2"].golden, two_people["a-1"].golden

    event = golden_merge(source=source, target=target, actor="hub_admin")

    source.refresh_from_db()
    assert not source.active and source.merged_into == target
    assert MpiRecord.objects.get(patient_id="b-2").golden == target

    link_event_revert(event=event, actor="hub_admin")

    source.refresh_from_db()
    assert source.active and MpiRecord.objects.get(patient_id="b-2").golden == source


def test_golden_patients_are_published_with_a_link_to_each_site_patient(two_people):
    golden = two_people["a-1"].golden
    patient_link(patient_id="b-2", golden=golden, actor="admin_a")

    goldens_publish(golden_ids=[golden.pk])

    stored = Resource.objects.get(resource_type="Patient", fhir_id=golden.fhir_id).content
    assert {link["other"]["reference"] for link in stored["link"]} == {"Patient/a-1", "Patient/b-2"}


def test_the_person_of_a_site_patient_lists_every_site_record(two_people):
    from federation.identity.selectors import patient_at_site, person_of

    patient_link(patient_id="b-2", golden=two_people["a-1"].golden, actor="admin_a")

    person = person_of(patient_id="b-2")

    assert person.golden_id == two_people["a-1"].golden.fhir_id
    assert person.patients == (("county-a", "Patient/a-1"), ("county-b", "Patient/b-2"))
    assert patient_at_site(patient_id="a-1", site_code="county-b") == "Patient/b-2"
    assert patient_at_site(patient_id="c-3", site_code="county-a") is None
    assert person_of(patient_id="nobody") is None
