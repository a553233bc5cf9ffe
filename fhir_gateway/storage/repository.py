"""The repository interface the gateway's services use (cf. Medplum ``fhir-router/src/repo.ts``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Current:
    """The locked current row of a resource, as a write sees it."""

    pk: int
    version_id: int
    deleted: bool
    owner: str
    last_updated: datetime | None = None
    source: str = ""  # meta.source of the current version


@dataclass(frozen=True)
class Stored:
    """One stored version of a resource; ``text`` is its JSON exactly as served (None once deleted)."""

    pk: int
    resource_type: str
    fhir_id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    text: str | None
    owner: str = ""
    method: str = ""


@dataclass
class VersionRow:
    """A new version to store: filled in by the store, written in bulk by the repository."""

    resource_type: str
    fhir_id: str
    version_id: int
    last_updated: datetime
    method: str
    content: dict | None
    text: str | None
    source: str
    owner: str
    pk: int | None = None  # None: a resource the repository must insert


@dataclass(frozen=True)
class HistoryQuery:
    resource_type: str | None
    fhir_id: str | None
    since: datetime | None
    at: datetime | None
    until: datetime
    offset: int
    count: int
    # The actor's visibility as a condition on the version row ``v`` (SQL, args); None: no restriction.
    visibility: tuple[str, list] | None = None


class Repository(Protocol):
    def current(self, resource_type: str, fhir_id: str) -> Stored | None: ...

    def version(self, resource_type: str, fhir_id: str, version_id: int) -> Stored | None: ...

    def lock(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Current]: ...

    def contents(self, pks: list[int]) -> dict[int, str]: ...

    def insert(self, rows: list[VersionRow], *, actor: dict[str, str]) -> dict[tuple[str, str], int]: ...

    def update(self, rows: list[VersionRow], *, actor: dict[str, str]) -> None: ...

    def history(self, query: HistoryQuery) -> tuple[list[Stored], int]: ...

    def lock_condition(self, key: str) -> None: ...

    def lock_conditions(self, keys: list[str]) -> None: ...
