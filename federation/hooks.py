"""Registries through which the hub plugs its rules into the federation's own endpoints (the federation never
imports the hub), like ``fhir_gateway.hooks`` for the gateway.

- ``endpoint_policies``: ``fn(request, action: str) -> bool | None``; may the caller of ``request`` do
  ``action`` (one of the names below)? ``True`` allows, ``False`` refuses, ``None`` has no opinion. Refused
  unless some policy allows and none refuses: with nothing registered, nobody is allowed.

``$match`` and the record view need no hook here: they read through the gateway as the caller, whose access
policies and visibility decide what they answer.
"""

from __future__ import annotations

from collections.abc import Callable

SITE_HEALTH = "site_health"  # GET /federation/sites/health

endpoint_policies: list[Callable] = []


def register(registry: list[Callable], fn: Callable) -> Callable:
    """Add ``fn`` once; the hub calls it from ``AppConfig.ready``."""
    if fn not in registry:
        registry.append(fn)
    return fn


def endpoint_allowed(request, action: str) -> bool:
    answers = [policy(request, action) for policy in endpoint_policies]
    return any(answer is True for answer in answers) and not any(answer is False for answer in answers)
