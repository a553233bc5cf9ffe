"""``_content`` (a resource's whole text) and ``_text`` (its narrative) over HTTP, in Chinese, pinyin and English.

http://hl7.org/fhir/R4/search.html#content. Matches are compared with an independent evaluation too:
fhirpathpy's ``descendants()`` of generated resources, searched for whole words in plain Python.
"""

from __future__ import annotations

import re
from io import StringIO
from urllib.parse import quote, urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from fhirpathpy import evaluate as fhirpath_evaluate

from fhir_gateway.search import request as search_request
from fhir_gateway.search.criteria import Context
from fhir_gateway.search.definitions import params_for
from fhir_gateway.search.query import where
from tests.fhir_gateway.search.conftest import ids, index_documents
from tests.fhir_gateway.search.generated import MODEL, WORDS, norm, resources
from tests.fhir_gateway.search.samples import patient

pytestmark = pytest.mark.django_db


def condition(fhir_id: str, note: str, *, narrative: str | None = None) -> dict:
    resource = {
        "resourceType": "Condition",
        "id": fhir_id,
        "subject": {"reference": "Patient/wang"},
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "59621000"}],
            "text": "Essential hypertension",
        },
        "note": [{"text": note}],
    }
    if narrative:
        resource["text"] = {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{narrative}</div>',
        }
    return resource


@pytest.fixture
def records(store):
    store.put(patient("wang", "王", "小明"))
    store.put(condition("htn", "患者王小明，诊断高血压，建议低盐饮食", narrative="Seen by <b>李医生</b> in clinic"))
    store.put(condition("dm", "糖尿病随访 follow-up in three months"))
    return store


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("高血压", ["htn"]),  # characters as written
        ("血压", ["htn"]),
        ("压血", []),  # not in that order
        ("王小明", ["htn"]),
        ("gaoxueya", ["htn"]),  # full pinyin, from any character on
        ("gaoxue", ["htn"]),
        ("wangxiaoming", ["htn"]),
        ("gxy", ["htn"]),  # initials
        ("tangniaobing", ["dm"]),
        ("hyperten", ["htn", "dm"]),  # a word's start, case ignored
        ("HYPERTENSION", ["htn", "dm"]),
        ("ypertension", []),  # not the middle of a word
        ("follow-up", ["dm"]),
        ("follow up months", ["dm"]),  # every word must be found
        ("follow 高血压", []),
        ("59621000", ["htn", "dm"]),  # codes are text of the resource too
        ("高血压,糖尿病", ["htn", "dm"]),  # a comma ORs
    ],
)
def test_content_finds_words_characters_and_pinyin(fhir, records, value, expected):
    assert _ids(fhir.get("/fhir/Condition?_content=" + quote(value))) == expected


def test_text_searches_the_narrative_only(fhir, records):
    assert _ids(fhir.get("/fhir/Condition?_text=" + quote("李医生"))) == ["htn"]
    assert _ids(fhir.get("/fhir/Condition?_text=liyisheng")) == ["htn"]
    assert _ids(fhir.get("/fhir/Condition?_text=clinic")) == ["htn"]
    assert _ids(fhir.get("/fhir/Condition?_text=" + quote("高血压"))) == []  # in a note, not the narrative
    assert _ids(fhir.get("/fhir/Condition?_content=clinic")) == ["htn"]  # the narrative is content too
    assert _ids(fhir.get("/fhir/Condition?_text:missing=true")) == ["dm"]


def test_content_at_system_level_and_with_other_criteria(fhir, records):
    assert _ids(fhir.get("/fhir/?_content=" + quote("王小明"))) == ["wang", "htn"]
    assert _ids(fhir.get("/fhir/Condition?_content=hypertension&_id=dm")) == ["dm"]
    assert _ids(fhir.get("/fhir/Patient?_content=wangxiaoming")) == ["wang"]


def test_a_write_is_searchable_by_its_new_words_at_once(fhir, records):
    changed = condition("dm", "改为胰岛素治疗")
    assert fhir.put("/fhir/Condition/dm", changed).status_code == 200

    assert _ids(fhir.get("/fhir/Condition?_content=" + quote("胰岛素"))) == ["dm"]
    assert _ids(fhir.get("/fhir/Condition?_content=" + quote("糖尿病"))) == []
    assert fhir.delete("/fhir/Condition/dm").status_code in (200, 204)
    assert _ids(fhir.get("/fhir/Condition?_content=" + quote("胰岛素"))) == []


def test_the_reindex_command_rebuilds_the_words(fhir, records):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM fhir_search_text")
    assert _ids(fhir.get("/fhir/Condition?_content=gaoxueya")) == []

    call_command("fhir_reindex", "--restart", stdout=StringIO())

    assert _ids(fhir.get("/fhir/Condition?_content=gaoxueya")) == ["htn"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("_content=" + quote("  ,;"), "_content"),  # no word at all
        ("_content:exact=hypertension", "_content:exact"),
        ("_text:contains=clinic", "_text:contains"),
        ("_content:missing=maybe", "_content:missing"),
        ("_sort=_content", "_sort"),
    ],
)
def test_bad_content_searches_are_a_400_naming_the_parameter(fhir, records, query, name):
    response = fhir.get(f"/fhir/Condition?{query}")
    assert response.status_code == 400, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [name]


def test_the_capability_statement_announces_content_and_text(fhir):
    resources = fhir.get("/fhir/metadata").json()["rest"][0]["resource"]
    condition_params = {
        param["name"] for param in next(r for r in resources if r["type"] == "Condition")["searchParam"]
    }
    assert {"_content", "_text"} <= condition_params
    assert "_query" not in condition_params


def test_odd_text_never_fails(fhir, records):
    for value in ("'", "\\", "a:*", "!&|()", "x" * 5000, "𠀀𠀁", "é" * 3):
        assert fhir.get("/fhir/Condition?" + urlencode({"_content": value})).status_code in (200, 400)


def test_content_search_uses_the_gin_index(records):
    # Enough other rows that the planner prefers the index to reading every ``_content`` row.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO fhir_search_res (resource_id, rtype, fhir_id, owner, last_updated) "
            "SELECT -n, 'Condition', 'filler-' || n, 'county-a', now() FROM generate_series(1, 20000) n"
        )
        cursor.execute(
            "INSERT INTO fhir_search_text (resource_id, param, seq, rtype, terms) "
            "SELECT -n, '_content', 0, 'Condition', ARRAY['filler', 'word' || n] FROM generate_series(1, 20000) n"
        )
        cursor.execute("ANALYZE fhir_search_res, fhir_search_text")
    parsed = search_request.parse("Condition", [("_content", "高血压 hyperten")])
    sql, args = where(Context(), parsed)
    with connection.cursor() as cursor:
        # At this size the planner's choice also depends on the tables' history in the test database (other
        # tests' dead rows): what must hold is that the condition matches the partial index's expression.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT s.resource_id FROM fhir_search_res s WHERE {sql}", args)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "fhir_search_text_content" in plan, plan


def _oracle(resource: dict, word: str) -> bool:
    """fhirpathpy's every descendant string outside ``meta``; ``word`` at the start of a word of one."""
    stripped = {key: value for key, value in resource.items() if key != "meta"}
    texts = [value for value in fhirpath_evaluate(stripped, "descendants()", {}, MODEL) if isinstance(value, str)]
    pattern = re.compile(r"(?<![^\W_])" + re.escape(norm(word)))
    return any(pattern.search(norm(text)) for text in texts)


@pytest.mark.parametrize("resource_type", ["Patient", "Practitioner", "Organization", "Location", "Observation"])
def test_content_agrees_with_an_independent_evaluation(resource_type):
    documents = {}
    for code, param in params_for(resource_type).items():
        if param.paths and param.type != "composite":
            for document in resources(resource_type, param)[1:]:
                fhir_id = f"{document['id']}-{code}".replace("_", "-")[:64]
                documents[fhir_id] = {**document, "id": fhir_id}
    index_documents(list(documents.values()))

    for word in [*WORDS[1:], "example", "c2", "display zoe"]:  # the values of resources 1..3
        expected = {
            fhir_id for fhir_id, document in documents.items() if all(_oracle(document, w) for w in word.split())
        }
        found = set(ids(resource_type, urlencode({"_content": word, "_count": "1000"})))
        assert expected and found == expected, word
