"""How a site's record becomes the hub's copy: ids, references, source stamps."""

from __future__ import annotations

from federation.sync.records import SOURCE_SITE_SYSTEM, hub_copy, hub_id

BASE = "http://county-a.example/fhir"


def test_hub_ids_are_stable_per_site_and_always_valid_fhir_ids():
    assert hub_id("county-a", "123") == "county-a-123"
    assert hub_id("county_a", "123") == "county-a-123"
    long_id = hub_id("county-a", "x" * 64)
    assert len(long_id) <= 64 and long_id == hub_id("county-a", "x" * 64) != hub_id("county-b", "x" * 64)


def test_the_sites_references_point_at_the_hubs_copies_and_others_are_left_alone():
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "meta": {"versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z"},
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": f"{BASE}/Encounter/e1/_history/2"},
        "performer": [{"reference": "#practitioner"}, {"reference": "http://elsewhere.example/fhir/Practitioner/9"}],
    }

    copy = hub_copy(observation, site="county-a", base_url=BASE)

    assert copy["id"] == "county-a-o1"
    assert copy["subject"] == {"reference": "Patient/county-a-p1"}
    assert copy["encounter"] == {"reference": "Encounter/county-a-e1"}
    assert copy["performer"] == observation["performer"]
    assert copy["meta"]["source"] == f"{BASE}/Observation/o1/_history/3"
    assert {"system": SOURCE_SITE_SYSTEM, "code": "county-a"} in copy["meta"]["tag"]
    assert "versionId" not in copy["meta"] and observation["subject"] == {"reference": "Patient/p1"}
