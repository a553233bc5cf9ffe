"""Access scoping: what an actor may see, from ``hooks.search_scopes`` (see ``fhir_gateway.visibility``)."""

from __future__ import annotations

from fhir_gateway import hooks
from fhir_gateway.context import Actor
from fhir_gateway.visibility import SEARCH_COLUMNS, Visibility, as_visibility


class Scope:
    """Per resource type, the actor's ``Visibility`` (``None``: no restriction), asked once per interaction."""

    def __init__(self, actor: Actor | None):
        self.actor = actor
        self._cache: dict[str | None, Visibility | None] = {}

    def visibility(self, resource_type: str | None) -> Visibility | None:
        if self.actor is None:
            return None
        if resource_type not in self._cache:
            allowed: Visibility | None = None
            for fn in hooks.search_scopes:
                answer = as_visibility(fn(self.actor, resource_type))
                if answer is not None:
                    allowed = answer if allowed is None else allowed.intersect(answer)
            self._cache[resource_type] = allowed
        return self._cache[resource_type]

    def owners(self, resource_type: str | None) -> frozenset[str] | None:
        """The owners a count per owner must sum (None: any); only meaningful when ``countable``."""
        visibility = self.visibility(resource_type)
        return None if visibility is None else visibility.plain_owners(resource_type)[1]

    def countable(self, resource_type: str | None) -> bool:
        """Whether the per-owner counts answer an unfiltered count of ``resource_type`` under this scope."""
        visibility = self.visibility(resource_type)
        return visibility is None or visibility.plain_owners(resource_type)[0]

    def sql(self, alias: str, resource_type: str | None, columns: tuple[str, ...] = SEARCH_COLUMNS) -> tuple[str, list]:
        """`` AND <condition>`` on ``alias`` (a ``fhir_search_res`` row by default); ``("", [])``: unrestricted."""
        visibility = self.visibility(resource_type)
        if visibility is None:
            return "", []
        condition, args = visibility.sql(alias, resource_type, columns)
        return ("", []) if condition == "TRUE" else (f" AND {condition}", args)

    def allows(self, resource_type: str, owner: str, *, fhir_id: str = "", pk: int | None = None) -> bool:
        visibility = self.visibility(resource_type)
        return visibility is None or visibility.admits(resource_type=resource_type, fhir_id=fhir_id, owner=owner, pk=pk)
