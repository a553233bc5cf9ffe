"""What a search returns: includes, sorting, stable paging, totals, summaries, never stale data."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from fhir_gateway.search import engine
from tests.fhir_gateway.search.conftest import BASE, ids, search
from tests.fhir_gateway.search.samples import encounter, observation, patient


@pytest.fixture
def records(store):
    store.put({"resourceType": "Organization", "id": "org-a", "name": "东川县人民医院"})
    store.put({"resourceType": "Practitioner", "id": "dr-li", "name": [{"family": "李", "given": ["明"]}]})
    store.put(patient("p1", "王", "芳", birth="1970-01-01", managingOrganization={"reference": "Organization/org-a"}))
    store.put(patient("p2", "王", "伟", birth="1980-01-01"))
    store.put(patient("p3", "李", "娜", birth="1970-01-01"))
    store.put(
        encounter("e1", "Patient/p1", "2024-01-01", participant=[{"individual": {"reference": "Practitioner/dr-li"}}])
    )
    store.put(
        observation(
            "o1", "Patient/p1", "15074-8", 7.2, "mmol/L", when="2024-01-01", encounter={"reference": "Encounter/e1"}
        )
    )
    store.put(observation("o2", "Patient/p1", "15074-8", 6.1, "mmol/L", when="2024-02-01"))
    return store


def _modes(bundle: dict) -> list[tuple[str, str]]:
    return [
        (e["search"]["mode"], f"{e['resource']['resourceType']}/{e['resource']['id']}") for e in bundle.get("entry", [])
    ]


class TestIncludes:
    def test_include_and_revinclude_are_marked_include(self, records):
        bundle = search("Observation", "_id=o1&_include=Observation:subject&_include=Observation:encounter")
        assert _modes(bundle) == [("match", "Observation/o1"), ("include", "Patient/p1"), ("include", "Encounter/e1")]
        assert bundle["entry"][1]["fullUrl"] == f"{BASE}/Patient/p1"
        bundle = search("Patient", "_id=p1&_revinclude=Observation:patient")
        assert _modes(bundle) == [("match", "Patient/p1"), ("include", "Observation/o1"), ("include", "Observation/o2")]

    def test_iterate_follows_the_included_resources(self, records):
        bundle = search("Observation", "_id=o1&_include=Observation:encounter&_include:iterate=Encounter:participant")
        assert _modes(bundle)[-1] == ("include", "Practitioner/dr-li")
        bundle = search("Patient", "_id=p1&_revinclude=Encounter:subject&_include:iterate=Encounter:participant")
        assert ("include", "Practitioner/dr-li") in _modes(bundle)

    def test_star_includes_every_reference_and_target_types_narrow(self, records):
        assert {m for m in _modes(search("Patient", "_id=p1&_include=*"))} == {
            ("match", "Patient/p1"),
            ("include", "Organization/org-a"),
        }
        assert _modes(search("Encounter", "_include=Encounter:participant:Practitioner")) == [
            ("match", "Encounter/e1"),
            ("include", "Practitioner/dr-li"),
        ]
        assert _modes(search("Encounter", "_include=Encounter:participant:RelatedPerson")) == [
            ("match", "Encounter/e1")
        ]


class TestSortAndPaging:
    def test_several_sort_keys_ascending_and_descending(self, records):
        assert ids("Patient", "_sort=birthdate,-given") == ["p1", "p3", "p2"]  # 芳 (U+82B3) after 娜 (U+5A1C)
        assert ids("Patient", "_sort=-birthdate,_id") == ["p2", "p1", "p3"]
        assert ids("Observation", "_sort=-date") == ["o2", "o1"]
        assert ids("Patient", "_sort=family,_id") == ["p3", "p1", "p2"]  # 李 sorts before 王 by code point

    def test_next_and_previous_links_walk_the_result_and_survive_changes(self, store):
        for number in range(7):
            store.put(patient(f"p{number}", "张", f"{number}", birth=f"19{50 + number}-01-01"))
        first = search("Patient", "_sort=birthdate&_count=3")
        assert [e["resource"]["id"] for e in first["entry"]] == ["p0", "p1", "p2"]
        second = _follow(first, "next")
        # Data changes between pages: one shown resource deleted, one inserted before the cursor.
        store.delete("Patient", "p0")
        store.put(patient("early", "张", "早", birth="1940-01-01"))
        assert [e["resource"]["id"] for e in second["entry"]] == ["p3", "p4", "p5"]
        third = _follow(second, "next")
        assert [e["resource"]["id"] for e in third["entry"]] == ["p6"]
        assert "next" not in {link["relation"] for link in third["link"]}
        back = _follow(third, "previous")
        assert [e["resource"]["id"] for e in back["entry"]] == ["p3", "p4", "p5"]
        # Going back shows the page as it is now: p0 gone, the new one in its place.
        assert [e["resource"]["id"] for e in _follow(back, "previous")["entry"]] == ["early", "p1", "p2"]

    @pytest.mark.parametrize(
        "query",
        [
            "code=15074-8",  # token
            "date=ge2024-01-01&date=lt2025-01-01",  # the date range lookup
            "subject:Patient.family=王",  # a chain: the target's lookups are not bounded by the page
            "subject=Patient/p1,Patient/p2&value-quantity=gt5",  # reference OR, quantity
            "code:not=718-7",  # NOT EXISTS
        ],
    )
    def test_pages_in_primary_key_order_walk_every_match_once_both_ways(self, store, query):
        store.put(patient("p1", "王", "芳"))
        store.put(patient("p2", "王", "伟"))
        store.put(patient("p3", "李", "娜"))
        for number in range(13):
            subject = f"Patient/p{number % 3 + 1}"
            code = "718-7" if number % 4 == 0 else "15074-8"
            store.put(observation(f"o{number:02d}", subject, code, 4.0 + number % 4, "mmol/L", when="2024-03-01"))
        everything = ids("Observation", f"{query}&_count=100")
        assert everything
        pages = [search("Observation", f"{query}&_count=2")]
        while "next" in {link["relation"] for link in pages[-1]["link"]}:
            pages.append(_follow(pages[-1], "next"))
        walked = [e["resource"]["id"] for page in pages for e in page.get("entry", [])]
        assert walked == everything
        back = [pages[-1]]
        while "previous" in {link["relation"] for link in back[-1]["link"]}:
            back.append(_follow(back[-1], "previous"))
        assert [e["resource"]["id"] for page in reversed(back) for e in page.get("entry", [])] == everything
        counted = search("Observation", f"{query}&_count=2&_total=accurate")
        assert _follow(counted, "next")["total"] == len(everything)  # a later page still counts every match

    def test_the_self_link_keeps_the_parameters_used(self, records):
        bundle = search("Patient", "family=王&_sort=birthdate&_count=1&bogus=1")
        self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
        assert dict(parse_qsl(urlsplit(self_link).query)) == {"family": "王", "_sort": "birthdate", "_count": "1"}


def _follow(bundle: dict, relation: str) -> dict:
    url = next(link["url"] for link in bundle["link"] if link["relation"] == relation)
    parts = urlsplit(url)
    return engine.search(
        resource_type=parts.path.rsplit("/", 1)[-1],
        params=parse_qsl(parts.query),
        actor=__import__("fhir_gateway.context").context.INTERNAL_ACTOR,
        base_url=BASE,
    )


class TestTotalsAndSummaries:
    def test_total_none_estimate_accurate_and_count(self, records):
        assert search("Patient", "_count=1&_total=accurate")["total"] == 3
        assert "total" not in search("Patient", "_count=1&_total=none")
        assert isinstance(search("Patient", "_count=1&_total=estimate")["total"], int)
        assert search("Patient", "")["total"] == 3  # the whole result on one page: free
        counted = search("Patient", "_summary=count")
        assert counted["total"] == 3 and "entry" not in counted

    def test_summary_and_elements_subset_the_matches(self, records):
        entry = search("Patient", "_id=p1&_summary=true")["entry"][0]["resource"]
        assert "name" in entry and "managingOrganization" in entry
        assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"} in entry[
            "meta"
        ]["tag"]
        entry = search("Observation", "_id=o1&_elements=code,value")["entry"][0]["resource"]
        assert set(entry) == {"resourceType", "id", "meta", "code", "valueQuantity"}
        entry = search("Patient", "_id=p1&_summary=data")["entry"][0]["resource"]
        assert "text" not in entry and "name" in entry


class TestNeverStale:
    def test_deleted_resources_and_old_versions_are_never_found(self, records):
        records.put(patient("p2", "钱", "伟", birth="1980-01-01"))  # p2 renamed: version 2
        records.delete("Patient", "p3")
        assert ids("Patient", "family=王") == ["p1"]
        assert ids("Patient", "family=钱") == ["p2"]
        assert ids("Patient", "_id=p3") == []
        assert ids("Patient", "birthdate=1970") == ["p1"]

    def test_a_search_right_after_a_write_sees_it(self, store):
        store.put(patient("new", "周", "新"))
        assert ids("Patient", "name=周新") == ["new"]


def test_system_level_search_with_types_and_common_parameters(records):
    assert sorted(ids(None, "_id=p1,o1,e1")) == ["e1", "o1", "p1"]
    assert ids(None, "_type=Observation&_id=p1,o1") == ["o1"]


def test_sorting_by_an_open_period_and_paging_through_it(store):
    store.put(encounter("open", "Patient/p1", "2024-06-01T08:00:00Z"))
    store.put(encounter("closed", "Patient/p1", "2024-05-01T08:00:00Z", "2024-05-02T08:00:00Z"))
    store.put({**encounter("no-start", "Patient/p1", "2024-01-01"), "period": {"end": "2024-01-01"}})

    assert ids("Encounter", "_sort=-date") == ["open", "closed", "no-start"]
    assert ids("Encounter", "_sort=date") == ["no-start", "closed", "open"]
    first = search("Encounter", "_sort=-date&_count=1")
    assert [e["resource"]["id"] for e in _follow(first, "next")["entry"]] == ["closed"]


def test_sorting_by_a_quantity_compares_ucum_values_in_canonical_units(store):
    for fhir_id, value, unit in [("one-g", 1, "g"), ("half-g", 500, "mg"), ("two-g", 2, "g"), ("tiny", 0.2, "g")]:
        store.put(observation(fhir_id, "Patient/p1", "2345-7", value, unit, when="2024-01-01"))
    assert ids("Observation", "_sort=value-quantity") == ["tiny", "half-g", "one-g", "two-g"]
    assert ids("Observation", "_sort=-value-quantity") == ["two-g", "one-g", "half-g", "tiny"]
    first = search("Observation", "_sort=value-quantity&_count=2")
    assert [e["resource"]["id"] for e in _follow(first, "next")["entry"]] == ["one-g", "two-g"]
