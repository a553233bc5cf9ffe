"""The signed opinion is written back to the county site's own FHIR endpoint over real HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub.referrals import services
from hub.referrals.models import Opinion, SiteEndpoint


class CountyFhirServer:
    """A tiny FHIR server on 127.0.0.1 that files Compositions (conditional create) and can fail on demand."""

    def __init__(self):
        self.compositions: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.failures_left = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if server.failures_left:
                    server.failures_left -= 1
                    return self._answer(500, {"resourceType": "OperationOutcome", "issue": []})
                if self.path != "/fhir/Composition" or self.headers["Content-Type"] != "application/fhir+json":
                    return self._answer(400, {"resourceType": "OperationOutcome", "issue": []})
                key = self.headers.get("If-None-Exist", "")
                if key in server.compositions:
                    return self._answer(200, server.compositions[key])
                stored = {**body, "id": str(len(server.compositions) + 1)}
                server.compositions[key] = stored
                return self._answer(201, stored, location=f"/fhir/Composition/{stored['id']}/_history/1")

            def _answer(self, status, body, location=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def county_a_server(county_a):
    with CountyFhirServer() as server:
        SiteEndpoint.objects.create(site=county_a, fhir_base_url=server.base_url)
        yield server


def signed_opinion(doctor, specialist, patient, capture):
    referral = services.referral_create(
        requester=doctor,
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛",
        consent=services.ConsentGiven(),
    )
    services.task_accept(referral_id=referral.pk, actor=specialist)
    with capture(execute=True):
        opinion = services.opinion_sign(referral_id=referral.pk, actor=specialist, conclusion="建议急诊PCI")
    opinion.refresh_from_db()
    return opinion


def test_the_opinion_reaches_the_county_site_with_the_sites_own_patient_identifier(
    county_a_server, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
):
    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "delivered" and opinion.delivery_attempts == 1
    assert opinion.delivered_location == "/fhir/Composition/1/_history/1"
    [request] = county_a_server.requests
    assert request["headers"]["If-None-Exist"] == f"identifier=urn:alliance-hub:opinion|{opinion.uid}"
    body = request["body"]
    assert body["resourceType"] == "Composition" and body["status"] == "final"
    assert body["subject"]["identifier"] == {"system": "urn:site:county-a:mrn", "value": "MRN000001"}
    assert body["attester"][0]["mode"] == "legal"
    assert "建议急诊PCI" in json.dumps(body, ensure_ascii=False)


def test_a_site_that_fails_then_recovers_gets_the_opinion_once(
    county_a_server, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
):
    county_a_server.failures_left = 2

    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "delivered" and opinion.delivery_attempts == 3
    assert len(county_a_server.compositions) == 1


def test_a_site_that_stays_down_is_marked_failed(
    county_a, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
):
    SiteEndpoint.objects.create(site=county_a, fhir_base_url="http://127.0.0.1:9/fhir")  # discard port: refused

    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "failed" and opinion.delivery_attempts == 7
    assert "Connect" in opinion.delivery_error
    assert Opinion.objects.get(pk=opinion.pk).composition_id  # still visible at the hub


def test_a_site_without_an_endpoint_keeps_the_opinion_at_the_hub(
    dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
):
    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "n/a" and opinion.delivery_attempts == 0
