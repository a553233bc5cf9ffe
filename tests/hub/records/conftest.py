"""County A's chest-pain patient with the demo's content (an inferior STEMI: ECG, serial troponin, documents) and
a stroke patient with a head CT, and the request that shares the first with cardiology."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.test import Client

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.demo.record_content import chest_pain_records, stroke_records
from hub.demo.record_imaging import head_ct
from hub.demo.records import records_store
from hub.referrals import services
from tests.factories import patient_resource

NOW = datetime.fromisoformat("2026-11-26T10:00:00+08:00")


def browser(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def chest_pain_patient(county_a) -> dict:
    body = patient_resource(11)
    body["birthDate"] = "1962-05-04"
    patient = fhir.resource_create(resource=body, actor=INTERNAL_ACTOR, owner="county-a").resource
    records_store(chest_pain_records(f"Patient/{patient['id']}", NOW), site="county-a")
    return patient


@pytest.fixture
def stroke_patient(county_a) -> dict:
    patient = fhir.resource_create(resource=patient_resource(12), actor=INTERNAL_ACTOR, owner="county-a").resource
    ref = f"Patient/{patient['id']}"
    files, study, series, uids = head_ct(patient_name="TEST", patient_id=patient["id"], seed=ref, when=NOW)
    records_store(
        stroke_records(ref, NOW, slices=files, study_uid=study, series_uid=series, instance_uids=uids), site="county-a"
    )
    return patient


@pytest.fixture
def chest_pain_request(chest_pain_patient, dr_li_at_county_a, cardiologist_zhang):
    return services.referral_create(
        requester=dr_li_at_county_a,
        kind="consultation",
        urgency="emergency",
        pathway="chest_pain",
        patient_ref=f"Patient/{chest_pain_patient['id']}",
        clinical_question="胸痛3小时，II、III、aVF导联ST段抬高",
        consent=services.ConsentGiven(method="written", given_by="patient"),
    )


def resident_id(patient: dict) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"] == "urn:oid:2.16.156.10011.1.3")
