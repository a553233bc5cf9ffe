"""Registries through which other apps hook into the gateway (it never imports them).

- ``actor_resolvers``: ``fn(request) -> Actor | None``; the first non-None wins. The hub maps its
  signed-in users and bearer tokens; the federation maps OAuth2 site credentials.
- ``token_resolvers``: ``fn(raw_bearer_token: str) -> Actor | None``; the actor a bearer token stands
  for, without a request (the lean read path, ``fhir_gateway.api.lean``). ``None``: not known here, and
  the request takes the full path, where ``actor_resolvers`` decide.
- ``access_policies``: ``fn(interaction, resource: dict | None) -> None``; raise
  ``fhir_gateway.errors.Forbidden`` to refuse. Called for every interaction, before a write is
  stored and after a read is loaded (``resource`` is then the stored content).
- ``search_scopes``: ``fn(actor, resource_type) -> set[str] | None``; the owners whose records the
  actor may see in a search (``None``: no restriction). Results are the intersection over all.
- ``interaction_observers``: ``fn(interaction, status: int, resource: dict | None)``; called after
  every interaction, successful or refused (the audit trail hooks in here).
- ``write_recorders``: ``fn(observations: list[tuple[interaction, status, resource]])``; called with the
  successful writes of one database transaction inside it, before it commits: an exception rolls the writes
  back (the audit trail records writes here, so a stored write always has its record and a failure to
  record is never answered after the commit). Observers are still told afterwards (``Interaction.recorded``).
- ``virtual_types``: ``{resource type: provider}``; types another app serves read-only from its own tables
  (the audit trail's ``AuditEvent``). ``provider.read(actor, fhir_id) -> dict | None`` (None: not known to
  this actor, a 404) and ``provider.search(actor, params, base_url) -> dict`` (a searchset Bundle; raise
  ``FhirError`` for a bad parameter). Every other interaction on such a type is a 405; a search of other
  types never includes it.
- ``write_stampers``: ``fn(interaction, resource: dict) -> None``; may add to a resource before it is
  stored (e.g. ``meta.source``, a source identifier).
- ``write_listeners``: ``fn(actor, changes: list[Change]) -> None``; called inside the transaction that
  stores the writes (``storage.writes.writes_apply``), after they are stored and indexed, with what changed
  (no-op updates and deletes of nothing left out): whatever a listener writes commits or rolls back with
  them (e.g. Subscription notifications in an outbox). A listener's ``FhirError`` refuses the writes.
- ``capability_contributors``: ``fn(rest: dict, *, base_url: str) -> None``; adds what another app serves
  to the CapabilityStatement's ``rest`` entry (an operation such as ``Patient/$match``, ``security``).
"""

from __future__ import annotations

from collections.abc import Callable

actor_resolvers: list[Callable] = []
token_resolvers: list[Callable] = []
access_policies: list[Callable] = []
search_scopes: list[Callable] = []
interaction_observers: list[Callable] = []
write_stampers: list[Callable] = []
write_recorders: list[Callable] = []
virtual_types: dict[str, object] = {}
capability_contributors: list[Callable] = []
write_listeners: list[Callable] = []


def register(registry: list[Callable], fn: Callable) -> Callable:
    """Add ``fn`` once (usable as a decorator); apps call it from ``AppConfig.ready``."""
    if fn not in registry:
        registry.append(fn)
    return fn
