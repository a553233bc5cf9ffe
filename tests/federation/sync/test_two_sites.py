"""Two simulated county sites and the hub: people across sites are linked, namesakes are not."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from federation.identity.models import MpiRecord
from federation.identity.resident_id import make
from federation.simulator.data import people_add
from federation.simulator.people import person_generate
from federation.sync.pull import site_sync_run
from fhir_gateway.models import Resource

pytestmark = pytest.mark.django_db(transaction=True)
START = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_person_at_both_sites_is_linked_and_namesakes_are_not(sync_a, sync_b, site_a_server, site_b_server):
    rng = random.Random(42)
    # 张伟 was treated at both counties; county B has his name only in pinyin and no resident ID.
    zhang = replace(person_generate(rng, region="411321", district="东川县"), family="张", given="伟", gender="male")
    people_add(site_a_server.store, rng, zhang, site="county-a", mrn="A-ZW", records=2, start=START)
    people_add(
        site_b_server.store, rng, replace(zhang, resident_id=""), site="county-b", mrn="B-ZW", records=2, start=START
    )
    # Another 张伟, born the same day, lives in county B: a different man.
    namesake = replace(
        person_generate(rng, region="411322", district="西河县"), family="张", given="伟", gender="male",
        birth_date=zhang.birth_date,
    )  # fmt: skip
    namesake = replace(namesake, resident_id=make("411322", zhang.birth_date, 515))
    people_add(site_b_server.store, rng, namesake, site="county-b", mrn="B-ZW2", records=2, start=START)

    assert site_sync_run(sync_id=sync_a.pk).ok
    assert site_sync_run(sync_id=sync_b.pk).ok

    same = MpiRecord.objects.get(patient_id="county-a-a-zw").golden_id
    assert MpiRecord.objects.get(patient_id="county-b-b-zw").golden_id == same
    assert MpiRecord.objects.get(patient_id="county-b-b-zw2").golden_id != same
    golden = Resource.objects.get(
        resource_type="Patient", fhir_id=str(MpiRecord.objects.get(patient_id="county-a-a-zw").golden.uid)
    )
    assert {link["other"]["reference"] for link in golden.content["link"]} == {
        "Patient/county-a-a-zw",
        "Patient/county-b-b-zw",
    }
