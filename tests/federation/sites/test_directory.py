"""The alliance's directory published as mCSD resources, readable through the FHIR API."""

from __future__ import annotations

import pytest

from federation.sites.directory import SITE_CODE_SYSTEM, directory_publish, practitioner_role_publish
from federation.sites.sync_config import SiteSync

pytestmark = pytest.mark.django_db


def test_sites_departments_and_endpoints_become_mcsd_resources(
    client, county_a, general_hospital, cardiology, dr_li_at_county_a, token_for
):
    SiteSync.objects.create(site=county_a, base_url="http://127.0.0.1:8101/fhir")

    directory_publish()
    directory_publish()  # publishing again updates, never duplicates

    headers = token_for(dr_li_at_county_a)
    county = client.get("/fhir/Organization/site-county-a", **headers).json()
    assert county["partOf"] == {"reference": "Organization/site-alliance"}
    department = client.get("/fhir/Organization/dept-general-cardiology", **headers).json()
    assert department["partOf"] == {"reference": "Organization/site-general"}
    service = client.get("/fhir/HealthcareService/svc-general-cardiology", **headers).json()
    assert service["specialty"][0]["coding"][0]["code"] == "cardiology"
    endpoint = client.get("/fhir/Endpoint/ep-county-a", **headers).json()
    assert endpoint["address"] == "http://127.0.0.1:8101/fhir"
    found = client.get(f"/fhir/Organization?identifier={SITE_CODE_SYSTEM}|county-a", **headers).json()
    assert found["total"] == 1


def test_a_specialist_has_a_practitioner_role_in_their_department(client, cardiologist_zhang, cardiology, token_for):
    directory_publish()

    practitioner_role_publish(username="cardiologist_zhang", name="张建华", site=cardiology.site, department=cardiology)

    role = client.get("/fhir/PractitionerRole/role-cardiologist-zhang", **token_for(cardiologist_zhang)).json()
    assert role["organization"] == {"reference": "Organization/dept-general-cardiology"}
    assert role["healthcareService"] == [{"reference": "HealthcareService/svc-general-cardiology"}]
