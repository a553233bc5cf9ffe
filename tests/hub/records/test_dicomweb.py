"""A study whose images stay at the site: the viewer is fed from the site's DICOMweb server (WADO-RS) through the
hub, for those who may see the patient, and only from a server the study's own site names."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.demo.record_imaging import head_ct
from tests.hub.records.conftest import NOW, browser

pytestmark = pytest.mark.django_db
BOUNDARY = "wado-boundary-1"
CONNECTION_TYPES = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"


@pytest.fixture
def pacs():
    """A site's DICOMweb server holding a 20-slice head CT; ``asked`` lists the paths it was asked for."""
    files, study_uid, series_uid, uids = head_ct(patient_name="PACS", patient_id="p", seed="pacs", when=NOW)
    by_path = {
        f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{uid}": f
        for uid, f in zip(uids, files, strict=True)
    }
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            asked.append((self.path, self.headers.get("Accept", "")))
            body = by_path.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            payload = (
                f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
                + body
                + f"\r\n--{BOUNDARY}--\r\n".encode()
            )
            self.send_response(200)
            self.send_header("Content-Type", f'multipart/related; type="application/dicom"; boundary={BOUNDARY}')
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/dicomweb", "study": study_uid, "series": series_uid,
           "uids": uids, "files": files, "asked": asked}  # fmt: skip
    server.shutdown()


def _study(patient: dict, pacs: dict, *, endpoint_owner: str) -> dict:
    endpoint = {
        "resourceType": "Endpoint",
        "status": "active",
        "connectionType": {"system": CONNECTION_TYPES, "code": "dicom-wado-rs"},
        "payloadType": [{"text": "DICOM"}],
        "address": pacs["url"],
    }  # fmt: skip
    stored = fhir.resource_create(resource=endpoint, actor=INTERNAL_ACTOR, owner=endpoint_owner).resource
    study = {
        "resourceType": "ImagingStudy",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{pacs['study']}"}],
        "status": "available",
        "subject": {"reference": f"Patient/{patient['id']}"},
        "started": "2026-11-26T08:18:00+08:00",
        "description": "头颅CT平扫（PACS）",
        "endpoint": [{"reference": f"Endpoint/{stored['id']}"}],
        "series": [{"uid": pacs["series"], "modality": {"code": "CT"},
                    "instance": [{"uid": uid, "number": n, "sopClass": {"code": "urn:oid:1.2.840.10008.5.1.4.1.1.2"}}
                                 for n, uid in enumerate(pacs["uids"], 1)]}],
    }  # fmt: skip
    return fhir.resource_create(resource=study, actor=INTERNAL_ACTOR, owner="county-a").resource


def _slices(client, patient: dict) -> list[str]:
    page = client.get(f"/access/patients/{patient['id']}/").content.decode()
    found = re.search(r'class="rec-dicom" data-slices="([^"]+)"', page)
    return found.group(1).split() if found else []


def test_the_viewer_reads_the_sites_dicomweb_server_through_the_hub(chest_pain_patient, pacs, dr_li_at_county_a):
    _study(chest_pain_patient, pacs, endpoint_owner="county-a")
    client = browser(dr_li_at_county_a)
    slices = _slices(client, chest_pain_patient)
    assert len(slices) == 20
    answer = client.get(slices[4])
    assert answer.status_code == 200 and answer["Content-Type"] == "application/dicom"
    assert answer.content == pacs["files"][4]
    assert (
        pacs["asked"][-1][0].endswith(pacs["uids"][4]) and "transfer-syntax=1.2.840.10008.1.2.1" in pacs["asked"][-1][1]
    )


def test_nobody_else_gets_the_images_and_the_server_is_not_asked(
    chest_pain_patient, pacs, dr_li_at_county_a, neurologist_zhou
):
    study = _study(chest_pain_patient, pacs, endpoint_owner="county-a")
    answer = browser(neurologist_zhou).get(f"/records/items/ImagingStudy/{study['id']}/instances/0")
    assert answer.status_code == 404 and pacs["asked"] == []


def test_a_server_named_by_another_sites_endpoint_is_never_called(
    chest_pain_patient, county_b, pacs, dr_li_at_county_a
):
    study = _study(chest_pain_patient, pacs, endpoint_owner="county-b")
    client = browser(dr_li_at_county_a)
    assert _slices(client, chest_pain_patient) != []  # the study lists its instances ...
    assert client.get(f"/records/items/ImagingStudy/{study['id']}/instances/0").status_code == 404  # ... not served
    assert pacs["asked"] == []
