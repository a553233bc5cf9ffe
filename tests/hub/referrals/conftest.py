"""The story of a referral: county A's patient, their ECG, and a client per person."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from django.test import Client

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.referrals import services
from tests.factories import patient_resource

NOW = datetime.fromisoformat("2026-11-26T10:00:00+08:00")


def store(resource: dict, *, owner: str) -> dict:
    return fhir.resource_create(resource=resource, actor=INTERNAL_ACTOR, owner=owner).resource


@pytest.fixture
def patient_at_county_a(county_a) -> dict:
    return store(patient_resource(1), owner="county-a")


@pytest.fixture
def patient_at_county_b(county_b) -> dict:
    return store(patient_resource(2, region="411322", mrn_system="urn:site:county-b:mrn"), owner="county-b")


@pytest.fixture
def ecg_at_county_a(patient_at_county_a) -> dict:
    return store(
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "11524-6", "display": "EKG study"}]},
            "subject": {"reference": f"Patient/{patient_at_county_a['id']}"},
            "conclusion": "窦性心律，V1-V4 导联 ST 段抬高",
        },
        owner="county-a",
    )


class Api:
    """A signed-in person talking JSON to the referral API."""

    def __init__(self, headers: dict[str, str]):
        self.client = Client()
        self.headers = headers

    def get(self, path: str, **params):
        return self.client.get(f"/api/referrals/{path}", params, **self.headers)

    def post(self, path: str, body: dict | None = None):
        return self.client.post(
            f"/api/referrals/{path}", json.dumps(body or {}), content_type="application/json", **self.headers
        )


@pytest.fixture
def api_for(token_for):
    return lambda user: Api(token_for(user))


@pytest.fixture
def chest_pain_request(patient_at_county_a, ecg_at_county_a) -> dict:
    """What Dr Li sends for a chest-pain patient (API body)."""
    return {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "patient": f"Patient/{patient_at_county_a['id']}",
        "clinical_question": "胸痛2小时，心电图提示前壁ST段抬高，是否转上级医院行急诊PCI？",
        "reason": "疑似急性ST段抬高型心肌梗死",
        "attachments": [f"DiagnosticReport/{ecg_at_county_a['id']}"],
        "consent": {"method": "written", "given_by": "patient"},
    }


def refer(doctor, patient, **overrides):
    """An urgent chest-pain consultation for ``patient`` with consent, created at ``NOW`` unless overridden."""
    fields = {
        "requester": doctor,
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "patient_ref": f"Patient/{patient['id']}",
        "clinical_question": "胸痛待查",
        "consent": services.ConsentGiven(),
        "now": NOW,
    }
    return services.referral_create(**{**fields, **overrides})
