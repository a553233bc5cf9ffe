"""Bad input gets its 4xx and an OperationOutcome, never a 500, and nothing is stored."""

from __future__ import annotations

import pytest

from fhir_gateway.models import Resource, ResourceVersion
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db


def _refused(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] in ("error", "fatal") and body["issue"][0]["code"]
    return body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"\xff\xfe", 400),
        (b"[1, 2]", 400),
        (b"42", 400),
        (b"null", 400),
        (b'{"resourceType": "Observation", "status": "final", "code": {"text": "x"}}', 400),
        (b'{"gender": "male"}', 400),
        (b'{"resourceType": 5}', 400),
        (b'{"resourceType": "Patient", "birthDate": "1968-13-45"}', 400),
        (b'{"resourceType": "Patient", "name": "not a list"}', 400),
        (b'{"resourceType": "Patient", "favouriteColour": "blue"}', 400),
        (b'{"resourceType": "Patient", "name": [{"family": "a\\u0000b"}]}', 400),
        (b'{"resourceType": "Patient", "multipleBirthInteger": 123456789012345678901234567890}', 400),
        (b"[" * 5000 + b"]" * 5000, 400),
    ],
)
def test_malformed_or_invalid_bodies_are_refused(fhir, body, status):
    _refused(fhir.post("/fhir/Patient", body), status)
    assert Resource.objects.count() == 0


def test_validation_issues_name_the_element(fhir):
    body = _refused(fhir.post("/fhir/Patient", {**patient(), "birthDate": "1968-13-45", "foo": 1}), 400)
    expressions = {issue["expression"][0] for issue in body["issue"]}
    assert expressions == {"Patient.birthDate", "Patient.foo"}


def test_update_needs_the_urls_id_and_type(fhir):
    _refused(fhir.put("/fhir/Patient/p1", patient()), 400)  # no id
    _refused(fhir.put("/fhir/Patient/p1", {**patient(), "id": "p2"}), 400)
    _refused(fhir.put("/fhir/Observation/p1", {**patient(), "id": "p1"}), 400)
    _refused(fhir.put("/fhir/Patient/bad_id", {**patient(), "id": "bad_id"}), 400)
    assert Resource.objects.count() == 0


@pytest.mark.parametrize("url", ["/fhir/Nonsense", "/fhir/Nonsense/1", "/fhir/patient/1", "/fhir/Nonsense/_history"])
def test_unknown_resource_types_are_404(fhir, url):
    _refused(fhir.get(url), 404)


def test_unknown_paths_and_operations(fhir):
    _refused(fhir.get("/fhir/Patient/1/_history/1/extra/more"), 404)
    _refused(fhir.get("/fhir/Patient/1/$nothing"), 404)
    _refused(fhir.post("/fhir/Patient/1", patient()), 405)
    _refused(fhir.delete("/fhir/metadata"), 405)


def test_wrong_content_types_get_415(fhir):
    _refused(fhir.post("/fhir/Patient", b"<Patient/>", content_type="application/fhir+xml"), 415)
    _refused(fhir.post("/fhir/Patient", b"{}", content_type="text/plain"), 415)
    _refused(fhir.patch("/fhir/Patient/1", b"[]", content_type="text/plain"), 415)


def test_unsupported_formats_get_406(fhir):
    _refused(fhir.get("/fhir/metadata?_format=xml"), 406)
    _refused(fhir.get("/fhir/metadata", accept="application/fhir+xml"), 406)
    assert fhir.get("/fhir/metadata?_format=json").status_code == 200
    json_only = fhir.get("/fhir/metadata", accept="application/json")
    assert json_only["Content-Type"].startswith("application/json")


def test_a_body_over_the_limit_gets_413(fhir, settings):
    settings.FHIR_MAX_BODY_BYTES = 2048
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2049
    big = {**patient(), "text": {"status": "generated", "div": "<div>" + "x" * 4000 + "</div>"}}
    _refused(fhir.post("/fhir/Patient", big), 413)
    assert Resource.objects.count() == 0


def test_bad_patches(fhir):
    fhir_id = fhir.post("/fhir/Patient", patient()).json()["id"]
    _refused(fhir.patch(f"/fhir/Patient/{fhir_id}", b'"a string"'), 400)
    _refused(fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "explode", "path": "/gender"}]), 422)
    _refused(fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "remove", "path": "/nothing/here"}]), 422)
    _refused(fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "add", "path": "no-slash", "value": 1}]), 422)
    _refused(fhir.patch("/fhir/Patient/absent", [{"op": "remove", "path": "/gender"}]), 404)
    _refused(fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "remove", "path": "/gender"}], if_match="garbage"), 412)
    assert ResourceVersion.objects.count() == 1


def test_bad_history_parameters(fhir):
    _refused(fhir.get("/fhir/Patient/_history?_since=yesterday"), 400)
    _refused(fhir.get("/fhir/_history?_count=-1"), 400)
    _refused(fhir.get("/fhir/_history?_at=2020-13"), 400)


def test_conditional_writes_need_criteria(fhir):
    _refused(fhir.put("/fhir/Patient", patient()), 400)
    _refused(fhir.delete("/fhir/Patient"), 400)


def test_anonymous_callers_get_401_except_for_the_capability_statement(client):
    assert client.get("/fhir/metadata").status_code == 200
    for response in (
        client.get("/fhir/Patient/1"),
        client.post("/fhir/Patient", data=b"{", content_type="application/fhir+json"),
        client.get("/fhir/_history"),
        client.post("/fhir/", data=b"{}", content_type="application/fhir+json"),
    ):
        assert response.status_code == 401
        assert response.json()["issue"][0]["code"] == "login"
    bad_token = client.get("/fhir/Patient/1", HTTP_AUTHORIZATION="Bearer nonsense")
    assert bad_token.status_code == 401


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/fhir/Patient/county-a-p1/_history/99999999999999999999999", {}),
        ("/fhir/Patient/" + "x" * 500, {}),
        ("/fhir/Patient/%E6%82%A3%E8%80%85", {}),
        ("/fhir/Patient/" + "y" * 500 + "/_history", {}),
        ("/fhir/" + "A" * 300 + "/p1/_history/1", {}),
        ("/fhir/" + "A" * 300 + "/p1/_history", {}),
        ("/fhir/" + "A" * 300 + "/_history", {}),
        ("/fhir/" + "A" * 300 + "?name=x", {}),
        ("/fhir/" + "A" * 300 + "/p1/$everything", {}),
        ("/fhir/Patient/" + "y" * 500 + "/_history/1", {}),
        ("/fhir/Patient/county-a-p1", {"if_none_match": "garbage", "if_modified_since": "yesterday"}),
        ("/fhir/Patient/county-a-p1", {"accept": "application/fhir+json;q=abc, */*;;"}),
        ("/fhir/Patient/county-a-p1?_pretty=true&_summary=nonsense&_elements=,,,", {}),
        ("/fhir/Patient/_history?_offset=99999999999999999999&_count=99999999", {}),
        ("/fhir/_history?_since=2020-02-30", {}),
        ("/fhir/_history?_at=2020-01-01T25:00:00Z", {}),
        ("/fhir/Patient/county-a-p1/_history?_since=2020-01-01T00:00:00%2B25:00", {}),
        ("/fhir/Patient/county-a-p1", {"prefer": "return=; handling"}),
    ],
)
def test_odd_urls_and_headers_never_make_a_500(fhir, url, headers):
    fhir.put("/fhir/Patient/county-a-p1", {**patient(), "id": "county-a-p1"})
    response = fhir.get(url, **headers)
    assert response.status_code < 500, response.content
    assert response.status_code in (200, 304, 400, 404, 410)
