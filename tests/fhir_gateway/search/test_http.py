"""Search over HTTP: GET and POST ``_search``, system level, strict handling, access scoping, ``$everything``."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.fhir_gateway.search.samples import LOINC, observation, patient

pytestmark = pytest.mark.django_db


def _post(fhir, resource: dict) -> str:
    body = {key: value for key, value in resource.items() if key != "id"}
    response = fhir.post(f"/fhir/{resource['resourceType']}", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"]


@pytest.fixture
def wang(fhir) -> str:
    return _post(fhir, patient("x", "王", "小明"))


def test_get_and_post_search_find_a_patient_by_chinese_name_and_pinyin(fhir, wang):
    response = fhir.get("/fhir/Patient?name=" + quote("王小"))
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert _ids(response) == [wang]
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/{wang}"
    assert _ids(
        fhir.post("/fhir/Patient/_search", "name=wangxiaoming", content_type="application/x-www-form-urlencoded")
    ) == [wang]


def test_system_level_search(fhir, wang):
    assert _ids(fhir.get(f"/fhir/?_type=Patient&_id={wang}")) == [wang]


def test_bad_input_is_an_operation_outcome_naming_the_parameter(fhir, wang):
    response = fhir.get("/fhir/Patient?birthdate=2020-13")
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["birthdate"]
    assert fhir.get("/fhir/Observation?value-quantity=|http://unitsofmeasure.org|mg").status_code == 400
    assert fhir.get("/fhir/Patient?_count=-1").status_code == 400
    assert fhir.get("/fhir/Observation?code.name=x").status_code == 400


def test_unknown_parameters_with_and_without_strict_handling(fhir, wang):
    lenient = fhir.get("/fhir/Patient?colour=blue&name=" + quote("王"))
    assert _ids(lenient) == [wang]
    assert "colour" not in lenient.json()["link"][0]["url"]
    strict = fhir.get("/fhir/Patient?colour=blue", Prefer="handling=strict")
    assert strict.status_code == 400 and strict.json()["issue"][0]["expression"] == ["colour"]


def test_county_b_never_sees_county_a_records_not_even_as_includes(fhir, fhir_county_b, wang):
    glucose = _post(fhir, observation("x", f"Patient/{wang}", "15074-8", 7.2, "mmol/L", when="2024-05-01"))
    zhao = _post(fhir_county_b, patient("x", "赵", "敏"))

    assert _ids(fhir_county_b.get("/fhir/Patient?name=" + quote("王"))) == []
    assert _ids(fhir_county_b.get(f"/fhir/Observation?code={LOINC}|15074-8")) == []
    assert _ids(fhir_county_b.get("/fhir/Patient?_has:Observation:patient:code=15074-8")) == []
    assert _ids(fhir_county_b.get(f"/fhir/Patient?_id={zhao}&_revinclude=Observation:patient")) == [zhao]
    assert _ids(fhir.get(f"/fhir/Observation?_id={glucose}")) == [glucose]
    entries = fhir.get(f"/fhir/Observation?_id={glucose}&_include=Observation:subject").json()["entry"]
    assert [e["search"]["mode"] for e in entries] == ["match", "include"]


def test_patient_everything_with_type_since_and_count(fhir, wang):
    glucose = _post(fhir, observation("x", f"Patient/{wang}", "15074-8", 7.2, "mmol/L", when="2024-05-01"))
    other = _post(fhir, patient("x", "李", "芳"))
    _post(fhir, observation("x", f"Patient/{other}", "15074-8", 5.0, "mmol/L", when="2024-05-01"))

    everything = fhir.get(f"/fhir/Patient/{wang}/$everything")
    assert sorted(_ids(everything)) == sorted([wang, glucose])
    assert _ids(fhir.get(f"/fhir/Patient/{wang}/$everything?_type=Observation")) == [glucose]
    assert _ids(fhir.get(f"/fhir/Patient/{wang}/$everything?_since=2999-01-01")) == []
    first = fhir.get(f"/fhir/Patient/{wang}/$everything?_count=1").json()
    assert len(first["entry"]) == 1
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert len(_ids(fhir.get(following.removeprefix("http://testserver")))) == 1


def test_a_conditional_create_accepts_any_search(fhir, wang):
    response = fhir.post("/fhir/Patient", patient("x", "王", "小明"), **{"If-None-Exist": "name=" + quote("王小明")})
    assert response.status_code == 200 and response.json()["id"] == wang


def test_the_stored_json_is_served_as_stored_and_pretty_output_is_indented_throughout(fhir, wang):
    _post(fhir, observation("x", f"Patient/{wang}", "15074-8", 7.2, "mmol/L", when="2024-05-01"))
    query = f"/fhir/Observation?subject=Patient/{wang}&_include=Observation:subject"
    compact = fhir.get(query)
    assert compact.status_code == 200
    bundle = compact.json()
    assert [e["search"]["mode"] for e in bundle["entry"]] == ["match", "include"]
    assert bundle["entry"][1]["resource"]["name"][0]["family"] == "王"
    assert bundle["entry"][1]["fullUrl"] == f"http://testserver/fhir/Patient/{wang}"
    pretty = fhir.get(query + "&_pretty=true")
    assert pretty.json() == bundle
    lines = pretty.content.decode().splitlines()
    family = [line for line in lines if '"family"' in line]
    assert len(family) == 1 and family[0].startswith(" " * 10), family  # the included resource is indented too


def test_has_counts_only_the_referring_records_the_caller_may_see(fhir, fhir_county_b):
    from fhir_gateway.context import INTERNAL_ACTOR
    from fhir_gateway.search import engine

    zhao = _post(fhir_county_b, patient("x", "赵", "敏"))
    _post(fhir, observation("x", f"Patient/{zhao}", "15074-8", 7.2, "mmol/L", when="2024-05-01"))  # county A's
    query = "/fhir/Patient?_has:Observation:patient:code=15074-8"
    assert _ids(fhir_county_b.get(query)) == []  # county B may not see county A's observation
    params = [("_has:Observation:patient:code", "15074-8")]
    everyone = engine.search(resource_type="Patient", params=params, actor=INTERNAL_ACTOR, base_url="")
    assert [e["resource"]["id"] for e in everyone["entry"]] == [zhao]
