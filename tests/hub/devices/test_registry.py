"""The registry: a site administrator registers a device (FHIR Device at a Location) and binds it to a patient
for a period (DeviceUseStatement); a device not bound stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.devices.ingest.pipeline import Refusal, message_from_json, message_ingest
from hub.devices.models import Binding, Device, Rejection
from tests.hub.devices.conftest import vitals


def read(resource_type, fhir_id):
    return fhir.resource_read(resource_type=resource_type, fhir_id=fhir_id, actor=INTERNAL_ACTOR)


def test_registering_a_device_writes_a_fhir_device_at_its_bed(monitor):
    device = read("Device", monitor.fhir_id)
    assert device["identifier"][0] == {"system": "urn:alliance:site:county-a:device", "value": "mon-03"}
    assert device["manufacturer"] == "Mindray"
    assert device["location"]["reference"] == f"Location/{monitor.location_fhir_id}"
    assert read("Location", monitor.location_fhir_id)["name"] == "急诊 3"


def test_binding_writes_a_device_use_statement_and_device_patient(bound, patient):
    binding = Binding.objects.get(device=bound)
    statement = read("DeviceUseStatement", binding.fhir_id)
    assert statement["subject"]["reference"] == f"Patient/{patient['id']}"
    assert statement["status"] == "active" and "end" not in statement["timingPeriod"]
    assert read("Device", bound.fhir_id)["patient"]["reference"] == f"Patient/{patient['id']}"


def test_unbinding_ends_the_period_and_later_data_is_refused(bound, admin_of_county_a):
    from hub.devices.services import device_unbind

    device_unbind(device=bound, user=admin_of_county_a)
    binding = Binding.objects.get(device=bound)
    assert read("DeviceUseStatement", binding.fhir_id)["timingPeriod"]["end"]
    with pytest.raises(Refusal) as refused:
        message_ingest(message_from_json(payload=vitals(), site_code="county-a", device_key="mon-03", path="http"))
    assert refused.value.reason == "unbound"
    assert Rejection.objects.get().reason == "unbound"
    assert Device.objects.get(pk=bound.pk).rejected == 1


def test_an_unbound_device_stores_nothing(monitor):
    from hub.devices.ingest.buffer import buffer_recent
    from hub.devices.ingest.summaries import summaries_pending

    with pytest.raises(Refusal):
        message_ingest(message_from_json(payload=vitals(), site_code="county-a", device_key="mon-03", path="mqtt"))
    assert buffer_recent(monitor.pk, 10) == [] and summaries_pending() == 0


def test_an_admin_cannot_bind_another_sites_patient(monitor, county_b, admin_of_county_a):
    from hub.api_errors import DomainError
    from hub.devices.services import device_bind
    from tests.factories import patient_resource
    from tests.hub.referrals.conftest import store

    foreign = store(patient_resource(21, mrn_system="urn:site:county-b:mrn"), owner="county-b")
    with pytest.raises(DomainError):
        device_bind(device=monitor, patient_ref=f"Patient/{foreign['id']}", user=admin_of_county_a)
    assert not Binding.objects.exists()


def test_the_registry_api_and_page_for_the_sites_administrator(admin_of_county_a, patient, token_for):
    client = Client()
    headers = token_for(admin_of_county_a)
    created = client.post(
        "/api/devices/",
        {"key": "vent-1", "kind": "ventilator", "ward": "ICU", "bed": "1"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    device_id = created.json()["id"]
    bound = client.post(
        f"/api/devices/{device_id}/bind",
        {"patient": f"Patient/{patient['id']}"},
        content_type="application/json",
        **headers,
    )
    assert bound.status_code == 200 and bound.json()["patient"] == f"Patient/{patient['id']}"
    assert (
        client.post("/api/devices/", {"key": "vent-1"}, content_type="application/json", **headers).status_code == 409
    )
    listed = client.get("/api/devices/", **headers).json()
    assert [d["key"] for d in listed["results"]] == ["vent-1"]
    client.force_login(admin_of_county_a)
    page = client.get("/devices/")
    assert page.status_code == 200 and "vent-1" in page.content.decode()


def test_other_sites_and_clinicians_do_not_see_the_registry(monitor, dr_li_at_county_a, dr_zhao_at_county_b, token_for):
    from tests.factories import UserFactory

    admin_b = UserFactory(username="admin_b", role="site_admin", site=dr_zhao_at_county_b.site)
    client = Client()
    assert client.get("/api/devices/", **token_for(admin_b)).json()["results"] == []
    assert client.post(f"/api/devices/{monitor.pk}/unbind", **token_for(admin_b)).status_code == 404
    assert client.get("/api/devices/", **token_for(dr_li_at_county_a)).json()["results"] == []
    client.force_login(dr_li_at_county_a)
    assert client.get("/devices/").status_code == 404
