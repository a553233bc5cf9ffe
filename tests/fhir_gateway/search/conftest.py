"""Helpers for search tests: store resources through the gateway's services, search through the engine."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from fhir_gateway import services
from fhir_gateway.context import INTERNAL_ACTOR, Actor
from fhir_gateway.models import Resource
from fhir_gateway.search import engine
from fhir_gateway.search.indexer import IndexRow, index_write

BASE = "http://testserver/fhir"


class Store:
    """Writes resources with client-chosen ids (update-as-create), as the given owner."""

    def put(self, resource: dict, *, owner: str = "county-a") -> dict:
        result = services.resource_update(
            resource_type=resource["resourceType"],
            fhir_id=resource["id"],
            resource=resource,
            actor=INTERNAL_ACTOR,
            owner=owner,
        )
        return result.resource

    def delete(self, resource_type: str, fhir_id: str) -> None:
        services.resource_delete(resource_type=resource_type, fhir_id=fhir_id, actor=INTERNAL_ACTOR)


def index_documents(documents: list[dict]) -> None:
    """Store and index documents through the indexer's contract, without validation (generated values are
    not always valid R4)."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for document in documents:
        row = Resource.objects.create(
            resource_type=document["resourceType"],
            fhir_id=document["id"],
            version_id=1,
            last_updated=now,
            content=document,
            owner="county-a",
        )
        rows.append(IndexRow(row.pk, row.resource_type, document))
    index_write(rows)


def search(resource_type: str | None, query: str, *, actor: Actor = INTERNAL_ACTOR, strict: bool = False) -> dict:
    params = parse_qsl(query, keep_blank_values=True)
    return engine.search(resource_type=resource_type, params=params, actor=actor, base_url=BASE, strict=strict)


def ids(resource_type: str | None, query: str, **kwargs) -> list[str]:
    """The ids of the matches, in order (the first page)."""
    bundle = search(resource_type, query, **kwargs)
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


@pytest.fixture
def store(db) -> Store:
    return Store()
