"""Access scoping: the owners whose records an actor may see, from ``fhir_gateway.hooks.search_scopes``."""

from __future__ import annotations

from fhir_gateway import hooks
from fhir_gateway.context import Actor


class Scope:
    """Per resource type, the allowed owner codes (``None``: no restriction), asked once per search."""

    def __init__(self, actor: Actor | None):
        self.actor = actor
        self._cache: dict[str | None, frozenset[str] | None] = {}

    def owners(self, resource_type: str | None) -> frozenset[str] | None:
        if self.actor is None:
            return None
        if resource_type not in self._cache:
            allowed: frozenset[str] | None = None
            for fn in hooks.search_scopes:
                result = fn(self.actor, resource_type)
                if result is not None:
                    allowed = frozenset(result) if allowed is None else allowed & frozenset(result)
            self._cache[resource_type] = allowed
        return self._cache[resource_type]

    def sql(self, alias: str, resource_type: str | None) -> tuple[str, list]:
        """A condition on ``alias`` (a ``fhir_search_res`` row), or ``("", [])`` when unrestricted."""
        owners = self.owners(resource_type)
        if owners is None:
            return "", []
        return f" AND {alias}.owner = ANY(%s)", [sorted(owners)]

    def allows(self, resource_type: str, owner: str) -> bool:
        owners = self.owners(resource_type)
        return owners is None or owner in owners
