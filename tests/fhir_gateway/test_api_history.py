"""History at instance, type and system level with _since, _at, _count and paging links."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_instance_history_lists_every_version_newest_first(fhir):
    fhir_id = fhir.post("/fhir/Patient", patient()).json()["id"]
    fhir.put(f"/fhir/Patient/{fhir_id}", {**patient(given="二"), "id": fhir_id})
    fhir.delete(f"/fhir/Patient/{fhir_id}")

    history = fhir.get(f"/fhir/Patient/{fhir_id}/_history").json()
    assert history["type"] == "history" and history["total"] == 3
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "PUT", "POST"]
    assert history["entry"][1]["resource"]["name"][0]["given"] == ["二"]
    assert history["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/{fhir_id}"


def test_type_and_system_history_with_since_and_at(fhir):
    first = fhir.post("/fhir/Patient", patient(mrn="1"))
    time.sleep(0.01)
    middle = fhir.get(f"/fhir/Patient/{first.json()['id']}").json()["meta"]["lastUpdated"]
    time.sleep(0.01)
    fhir.post("/fhir/Patient", patient(mrn="2"))
    fhir.post(
        "/fhir/Observation",
        {"resourceType": "Observation", "status": "final", "code": {"text": "体温"}},
    )

    assert fhir.get("/fhir/Patient/_history").json()["total"] == 2
    assert fhir.get("/fhir/_history").json()["total"] == 3
    since = fhir.client.get("/fhir/_history", {"_since": middle}, **fhir.auth).json()
    assert since["total"] == 3  # _since is inclusive of the first write's instant
    later = fhir.client.get("/fhir/_history", {"_since": "2999-01-01"}, **fhir.auth).json()
    assert later["total"] == 0 and later["entry"] == []
    at = fhir.client.get("/fhir/Patient/_history", {"_at": middle}, **fhir.auth).json()
    assert at["total"] == 1 and at["entry"][0]["resource"]["identifier"][0]["value"] == "1"


def test_paging_follows_next_links_and_stays_stable_while_writing(fhir):
    for n in range(5):
        fhir.post("/fhir/Patient", patient(mrn=f"M{n}"))
    page = fhir.get("/fhir/Patient/_history?_count=2").json()
    seen = [e["resource"]["identifier"][0]["value"] for e in page["entry"]]
    assert page["total"] == 5 and len(seen) == 2
    fhir.post("/fhir/Patient", patient(mrn="LATE"))  # written while paging: not on later pages
    while next_link := [link["url"] for link in page["link"] if link["relation"] == "next"]:
        page = fhir.get(_path(next_link[0])).json()
        seen += [e["resource"]["identifier"][0]["value"] for e in page["entry"]]
    assert sorted(seen) == [f"M{n}" for n in range(5)]
    previous = [link for link in page["link"] if link["relation"] == "previous"]
    assert previous


def test_history_of_another_sites_records_is_scoped(fhir, fhir_county_b):
    fhir.post("/fhir/Patient", patient())
    assert fhir.get("/fhir/Patient/_history").json()["total"] == 1
    assert fhir_county_b.get("/fhir/Patient/_history").json()["total"] == 0
    assert fhir.get("/fhir/Patient/absent/_history").status_code == 404


def test_count_zero_gives_the_total_and_no_next_link(fhir):
    fhir.post("/fhir/Patient", patient())
    page = fhir.get("/fhir/Patient/_history?_count=0").json()
    assert page["total"] == 1 and page["entry"] == []
    assert [link["relation"] for link in page["link"]] == ["self"]
