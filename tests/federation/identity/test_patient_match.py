"""The matching engine on the real database: who is linked, who waits for review, who stays apart."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from federation.identity.features import patient_features
from federation.identity.matching import LinkItem, candidates_find, records_link
from federation.identity.models import GoldenRecord, MatchReview, MpiRecord
from federation.identity.scoring import MatchConfig, score
from federation.simulator.people import patient_resource, person_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def li_ming():
    person = person_generate(random.Random(7), region="411321", district="东川县")
    return replace(person, family="李", given="明", gender="male")


def _item(site: str, patient_id: str, patient: dict) -> LinkItem:
    return LinkItem(site_code=site, patient_id=patient_id, features=patient_features(patient))


def test_it_links_the_same_resident_id_at_two_sites(li_ming):
    records_link(items=[_item("county-a", "a-1", patient_resource(li_ming, mrn_system="urn:a", mrn="1"))])
    report = records_link(items=[_item("county-b", "b-9", patient_resource(li_ming, mrn_system="urn:b", mrn="9"))])

    assert report.auto_linked == 1
    assert MpiRecord.objects.get(patient_id="a-1").golden_id == MpiRecord.objects.get(patient_id="b-9").golden_id


def test_it_links_characters_with_pinyin_when_no_resident_id_is_usable(li_ming):
    at_a = patient_resource(li_ming, mrn_system="urn:a", mrn="1", resident_id="")
    # Two digits swapped: the check character fails, so the number is never used.
    swapped = li_ming.resident_id[:3] + li_ming.resident_id[4] + li_ming.resident_id[3] + li_ming.resident_id[5:]
    at_b = patient_resource(li_ming, mrn_system="urn:b", mrn="9", resident_id=swapped, pinyin_only=True)
    assert patient_features(at_b).rid == ""

    records_link(items=[_item("county-a", "a-1", at_a), _item("county-b", "b-9", at_b)])

    assert GoldenRecord.objects.count() == 1


def test_it_keeps_apart_two_people_with_the_same_name_and_birth_date(li_ming):
    namesake = replace(
        person_generate(random.Random(99), region="411322", district="西河县"),
        family="李",
        given="明",
        gender="male",
        birth_date=li_ming.birth_date,
    )
    from federation.identity.resident_id import make

    namesake = replace(namesake, resident_id=make("411322", li_ming.birth_date, 137))
    records_link(items=[_item("county-a", "a-1", patient_resource(li_ming, mrn_system="urn:a", mrn="1"))])
    records_link(items=[_item("county-b", "b-2", patient_resource(namesake, mrn_system="urn:b", mrn="2"))])

    assert GoldenRecord.objects.count() == 2


def test_a_probable_match_waits_for_review(li_ming):
    at_a = patient_resource(replace(li_ming, phone=""), mrn_system="urn:a", mrn="1", resident_id="")
    moved = replace(li_ming, phone="", line="北街1号")
    at_b = patient_resource(moved, mrn_system="urn:b", mrn="2", resident_id="")

    records_link(items=[_item("county-a", "a-1", at_a)])
    records_link(items=[_item("county-b", "b-2", at_b)])

    assert GoldenRecord.objects.count() == 2
    review = MatchReview.objects.get()
    assert review.record.patient_id == "b-2"
    assert MatchConfig().review <= review.score < MatchConfig().auto_link


def test_identical_characters_weigh_more_than_homophones_and_near_homophones():
    config = MatchConfig()
    person = person_generate(random.Random(3), region="411321", district="东川县")
    base = patient_features(patient_resource(replace(person, family="张", given="静"), mrn_system="s", mrn="1"))

    def name_points(family: str, given: str) -> float:
        other = patient_features(patient_resource(replace(person, family=family, given=given), mrn_system="s", mrn="2"))
        return score(base, other, config)[0]

    exact, homophone, near, different = (
        name_points("张", "静"),
        name_points("张", "婧"),
        name_points("章", "金"),
        name_points("王", "芳"),
    )
    assert exact > homophone > near > different


def test_match_candidates_carry_scores(li_ming):
    records_link(items=[_item("county-a", "a-1", patient_resource(li_ming, mrn_system="urn:a", mrn="1"))])

    found = candidates_find(
        features=patient_features(patient_resource(li_ming, mrn_system="urn:x", mrn="x", pinyin_only=True)),
        config=MatchConfig(),
    )

    assert len(found) == 1 and found[0].score >= MatchConfig().auto_link


def test_a_record_alone_is_matched_again_when_its_site_completes_it(li_ming):
    at_a = patient_resource(li_ming, mrn_system="urn:a", mrn="1")
    sparse = patient_resource(replace(li_ming, phone="", line="北街1号"), mrn_system="urn:b", mrn="2", resident_id="")
    records_link(items=[_item("county-a", "a-1", at_a)])
    records_link(items=[_item("county-b", "b-2", sparse)])
    assert MpiRecord.objects.get(patient_id="a-1").golden_id != MpiRecord.objects.get(patient_id="b-2").golden_id

    completed = patient_resource(replace(li_ming, line="北街1号"), mrn_system="urn:b", mrn="2")
    report = records_link(items=[_item("county-b", "b-2", completed)])

    assert report.updated == 1 and report.auto_linked == 1
    assert MpiRecord.objects.get(patient_id="a-1").golden_id == MpiRecord.objects.get(patient_id="b-2").golden_id
