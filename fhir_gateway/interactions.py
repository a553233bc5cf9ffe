"""The one place every interaction passes through, from REST and from Python alike.

``interaction_scope`` refuses anonymous actors, runs the access policies and write stampers that
other apps register in ``fhir_gateway.hooks``, and tells the interaction observers (the audit
trail) how it ended, successful or refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils.translation import gettext as _

from fhir_gateway import hooks
from fhir_gateway.context import Interaction
from fhir_gateway.errors import FhirError, Unauthorized

logger = logging.getLogger(__name__)
PUBLIC_ACTIONS = frozenset({"capabilities"})


@dataclass
class Scope:
    interaction: Interaction
    status: int = 200
    resource: dict | None = None
    # When set (entries of a transaction), observations wait here until the outcome is known.
    deferred: list | None = None

    def authorize(self, resource: dict | None) -> None:
        """Run every access policy on ``resource`` (the content to write, or the content read)."""
        for policy in hooks.access_policies:
            policy(self.interaction, resource)

    def stamp(self, resource: dict) -> None:
        for stamper in hooks.write_stampers:
            stamper(self.interaction, resource)

    def done(self, status: int, resource: dict | None = None) -> None:
        self.status, self.resource = status, resource


def observe(interaction: Interaction, status: int, resource: dict | None) -> None:
    for observer in hooks.interaction_observers:
        try:
            observer(interaction, status, resource)
        except Exception:  # an observer's failure must not turn a stored write into an error
            logger.exception("FHIR interaction observer %r failed", observer)


@contextmanager
def interaction_scope(interaction: Interaction, *, deferred: list | None = None) -> Iterator[Scope]:
    scope = Scope(interaction, deferred=deferred)
    try:
        if not interaction.actor.is_authenticated and interaction.action not in PUBLIC_ACTIONS:
            raise Unauthorized(_("Authentication is required"))
        yield scope
    except FhirError as error:
        _report(scope, error.status, None)
        raise
    except Exception:
        _report(scope, 500, None)
        raise
    else:
        _report(scope, scope.status, scope.resource)


def _report(scope: Scope, status: int, resource: dict | None) -> None:
    if scope.deferred is not None:
        scope.deferred.append((scope.interaction, status, resource))
    else:
        observe(scope.interaction, status, resource)
