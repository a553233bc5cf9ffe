"""The backup drill dumps the hub's database, restores it into a new one and proves the copy identical."""

from __future__ import annotations

import importlib.util
import io
import re
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from fhir_gateway import services as fhir
from fhir_gateway.context import Actor
from tests.factories import patient_resource

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("backup_drill", ROOT / "deploy" / "backup_drill.py")
backup_drill = importlib.util.module_from_spec(spec)
spec.loader.exec_module(backup_drill)

pytestmark = pytest.mark.django_db(transaction=True)


def _test_database_url() -> str:
    settings = connection.settings_dict
    host = settings.get("HOST") or "127.0.0.1"
    if host.startswith("/"):
        return f"postgresql://{settings['USER']}@/{settings['NAME']}?host={host}&port={settings.get('PORT') or 5432}"
    return f"postgresql://{settings['USER']}@{host}:{settings.get('PORT') or 5432}/{settings['NAME']}"


def _some_records(site: str = "county-a") -> None:
    actor = Actor(kind="sync", id=site, site=site)
    for seed in range(5):
        fhir.resource_create(resource=patient_resource(seed), actor=actor, owner=site)


def test_the_drill_restores_an_identical_copy(tmp_path, county_a):
    _some_records()
    out = io.StringIO()
    assert backup_drill.drill(_test_database_url(), dump_to=tmp_path, out=out) == 0, out.getvalue()
    assert "the restored copy is identical" in out.getvalue()
    assert list(tmp_path.glob("*.dump"))  # the dump itself is kept where asked


def test_the_comparison_finds_a_row_that_differs_in_the_copy(county_a):
    _some_records()
    url = _test_database_url()
    out = io.StringIO()
    assert backup_drill.drill(url, keep=True, out=out) == 0
    restored_name = re.search(r"restore into (\S+):", out.getvalue()).group(1)
    restored = re.sub(r"/[^/?]+(\?|$)", rf"/{restored_name}\1", url, count=1)
    try:
        with psycopg.connect(restored, autocommit=True) as conn:
            conn.execute(
                "UPDATE fhir_gateway_resource SET version_id = version_id + 1 WHERE id = "
                "(SELECT min(id) FROM fhir_gateway_resource)"
            )
            conn.execute(
                "DELETE FROM fhir_gateway_resourceversion WHERE id = (SELECT max(id) FROM fhir_gateway_resourceversion)"
            )
        differences = backup_drill.compare(url, restored)
        assert any(line.startswith("fhir_gateway_resourceversion:") for line in differences)
        assert any(line.startswith("fhir_gateway_resource row") for line in differences)
    finally:
        admin = re.sub(r"/[^/?]+(\?|$)", r"/postgres\1", url, count=1)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
