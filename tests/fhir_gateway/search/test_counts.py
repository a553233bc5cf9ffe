"""Unfiltered counts come from the per-(type, owner) deltas the triggers keep; they must equal the rows."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from fhir_gateway.search import counts
from tests.fhir_gateway.search.conftest import search
from tests.fhir_gateway.search.samples import observation, patient


def _rows() -> dict[tuple[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rtype, owner, count(*) FROM fhir_search_res GROUP BY 1, 2")
        return {(rtype, owner): n for rtype, owner, n in cursor.fetchall()}


def _counted() -> dict[tuple[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rtype, owner, sum(n) FROM fhir_search_count GROUP BY 1, 2 HAVING sum(n) <> 0")
        return {(rtype, owner): int(n) for rtype, owner, n in cursor.fetchall()}


def _delta_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fhir_search_count")
        return cursor.fetchone()[0]


def test_counts_follow_creates_updates_deletes_and_owner_changes(store):
    for number in range(4):
        store.put(patient(f"a{number}", "王", "芳"), owner="county-a")
    store.put(patient("b0", "赵", "敏"), owner="county-b")
    store.put(observation("o1", "Patient/a0", "15074-8", 7.2, "mmol/L", when="2024-01-01"), owner="county-a")
    store.put(patient("a1", "王", "伟"), owner="county-a")  # a new version: still one resource
    store.delete("Patient", "a2")
    with connection.cursor() as cursor:  # a resource that moves to another owner
        cursor.execute("UPDATE fhir_search_res SET owner = 'county-b' WHERE rtype = 'Patient' AND fhir_id = 'a3'")
    assert (
        _counted()
        == _rows()
        == {
            ("Patient", "county-a"): 2,
            ("Patient", "county-b"): 2,
            ("Observation", "county-a"): 1,
        }
    )
    assert search("Patient", "_summary=count")["total"] == 4
    assert search(None, "_summary=count")["total"] == 5
    assert search(None, "_type=Patient,Observation&_summary=count")["total"] == 5
    assert search("Patient", "_count=1&_total=accurate")["total"] == 4
    assert search("Patient", "family=王&_summary=count")["total"] == 3  # filtered: counted from the index


def test_a_rolled_back_write_leaves_the_counts_alone(store):
    store.put(patient("kept", "王", "芳"))
    with pytest.raises(RuntimeError), transaction.atomic():
        store.put(patient("lost", "李", "娜"))
        assert search("Patient", "_summary=count")["total"] == 2  # the writer sees its own write
        raise RuntimeError
    assert search("Patient", "_summary=count")["total"] == 1
    assert _counted() == _rows()


@pytest.mark.django_db(transaction=True)  # a read folds only outside a transaction
def test_deltas_are_folded_when_they_pile_up_and_the_total_stays(store, monkeypatch):
    monkeypatch.setattr(counts, "FOLD_AFTER", 3)
    for number in range(6):
        store.put(patient(f"p{number}", "王", "芳"), owner="county-a" if number % 2 else "county-b")
    store.delete("Patient", "p0")
    assert _delta_rows() == 7
    assert search("Patient", "_summary=count")["total"] == 5
    assert _delta_rows() == 2  # one row per owner
    assert search("Patient", "_summary=count")["total"] == 5
    assert _counted() == _rows()


def test_truncating_the_index_empties_the_counts(store):
    store.put(patient("p", "王", "芳"))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE fhir_search_res")
    assert _delta_rows() == 0
    assert search("Patient", "_summary=count")["total"] == 0


@pytest.mark.django_db
def test_an_actor_counts_only_the_owners_it_may_see(fhir, fhir_county_b):
    for given in ("芳", "伟"):
        body = {key: value for key, value in patient("x", "王", given).items() if key != "id"}
        assert fhir.post("/fhir/Patient", body).status_code == 201
    body = {key: value for key, value in patient("x", "赵", "敏").items() if key != "id"}
    assert fhir_county_b.post("/fhir/Patient", body).status_code == 201
    assert fhir.get("/fhir/Patient?_summary=count").json()["total"] == 2
    assert fhir_county_b.get("/fhir/Patient?_summary=count").json()["total"] == 1
    assert fhir_county_b.get("/fhir/Patient?_count=0").json()["total"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_periodic_task_folds_the_deltas_of_types_nobody_counts(store, settings):
    from hub.celery import app

    for number in range(3):
        store.put(patient(f"p{number}", "王", "芳"), owner="county-a")
        store.put(observation(f"o{number}", f"Patient/p{number}", "15074-8", 7.2, "mmol/L", when="2024-01-01"))
    store.delete("Patient", "p0")
    assert _delta_rows() == 7
    entry = settings.CELERY_BEAT_SCHEDULE["fhir-search-counts-fold"]
    app.loader.import_default_modules()
    assert app.tasks[entry["task"]].delay().get() == 2  # one row per (type, owner): Patient and Observation
    assert _counted() == _rows()
    assert search(None, "_summary=count")["total"] == 5
