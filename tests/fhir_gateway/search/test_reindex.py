"""``manage.py fhir_reindex``: rebuilds the index in batches and resumes where an interrupted run stopped."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from fhir_gateway.search.models import ReindexState
from fhir_gateway.search.reindex import index_rebuild
from fhir_gateway.search.values import TABLES
from tests.fhir_gateway.search.conftest import ids
from tests.fhir_gateway.search.samples import patient


def _forget_index() -> None:
    with connection.cursor() as cursor:
        for table in [*TABLES, "fhir_search_res"]:
            cursor.execute(f"DELETE FROM {table}")


@pytest.fixture
def records(store):
    for number in range(5):
        store.put(patient(f"p{number}", "王", f"{number}"))
    store.delete("Patient", "p4")
    _forget_index()
    assert ids("Patient", "family=王") == []
    return store


def test_the_command_rebuilds_the_index(records, capsys):
    call_command("fhir_reindex", "--batch-size", "2")

    assert ids("Patient", "family=王") == ["p0", "p1", "p2", "p3"]  # never the deleted one
    assert "Search index rebuilt: 5 resources." in capsys.readouterr().out


def test_an_interrupted_rebuild_resumes_after_the_last_batch(records):
    class Interrupted(Exception):
        pass

    def stop_after_two(done: int, last_pk: int) -> None:
        if done >= 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        index_rebuild(name="test", batch_size=2, progress=stop_after_two)
    assert ids("Patient", "family=王") == ["p0", "p1"]
    assert ReindexState.objects.get(name="test").done is False

    assert index_rebuild(name="test", batch_size=2) == 3
    assert ids("Patient", "family=王") == ["p0", "p1", "p2", "p3"]
    assert ReindexState.objects.get(name="test").done is True


def test_one_type_at_a_time(records):
    index_rebuild(name="patients", resource_type="Observation")
    assert ids("Patient", "family=王") == []
    index_rebuild(name="patients", resource_type="Patient", restart=True)
    assert len(ids("Patient", "family=王")) == 4


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_goes_past_a_row_a_writer_holds_and_does_it_last():
    import threading

    from django.db import connections, transaction

    from fhir_gateway.models import Resource
    from tests.fhir_gateway.search.conftest import Store

    store = Store()
    for number in range(3):
        store.put(patient(f"p{number}", "王", f"{number}"))
    _forget_index()
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:  # holds p1's row as an update in progress would
        try:
            with transaction.atomic():
                Resource.objects.select_for_update().get(resource_type="Patient", fhir_id="p1")
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    seen_while_locked = []
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert locked.wait(10)

        def progress(done: int, last_pk: int) -> None:  # the batches went on past the locked row
            seen_while_locked.append(ids("Patient", "family=王"))
            release.set()  # then the writer finishes, and the rebuild does its row last

        assert index_rebuild(name="busy", batch_size=10, progress=progress) == 3
    finally:
        release.set()
        thread.join()
    assert seen_while_locked == [["p0", "p2"]]
    assert ids("Patient", "family=王") == ["p0", "p1", "p2"]
