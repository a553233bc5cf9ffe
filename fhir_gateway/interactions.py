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
from functools import cached_property

from django.db import transaction
from django.utils.translation import gettext as _

from fhir_gateway import hooks
from fhir_gateway.context import CONTENT, Interaction
from fhir_gateway.errors import FhirError, Unauthorized
from fhir_gateway.search.scope import Scope as SearchScope

logger = logging.getLogger(__name__)
PUBLIC_ACTIONS = frozenset({"capabilities"})


@dataclass
class Scope:
    interaction: Interaction
    status: int = 200
    resource: dict | None = None
    # When set (entries of a transaction), observations wait here until the outcome is known.
    deferred: list | None = None

    def authorize(self, resource: dict | None, stage: str = CONTENT) -> None:
        """Run every access policy on ``resource`` (the content to write, or the content read) at ``stage``."""
        self.interaction.stage = stage
        for policy in hooks.access_policies:
            policy(self.interaction, resource)

    @cached_property
    def visibility(self) -> SearchScope:
        return SearchScope(self.interaction.actor)

    def visible(self, resource_type: str, fhir_id: str, owner: str, pk: int | None) -> bool:
        """Whether the actor may see this stored record at all; one that is not is answered as missing."""
        visible = self.visibility.allows(resource_type, owner, fhir_id=fhir_id, pk=pk)
        if not visible:
            # For the audit trail (never for the caller): whose record was asked for, and that it was refused.
            self.interaction.detail["not_visible"] = True
            self.interaction.detail["hidden_owner"] = owner
            self.interaction.detail.setdefault("owner", owner)
        return visible

    def stamp(self, resource: dict) -> None:
        for stamper in hooks.write_stampers:
            stamper(self.interaction, resource)

    def done(self, status: int, resource: dict | None = None) -> None:
        self.status, self.resource = status, resource

    def record(self) -> None:
        """A successful write, inside its transaction: the write recorders record it now (``record_within``)."""
        record_within([(self.interaction, self.status, self.resource)])


def record_within(observations: list) -> None:
    """Tell the write recorders of the successful writes in ``observations`` inside their database transaction,
    before it commits; their failure propagates, so the writes roll back rather than stay unrecorded."""
    successful = [observation for observation in observations if observation[1] < 400]
    if not successful or not hooks.write_recorders:
        return
    for recorder in hooks.write_recorders:
        recorder(successful)
    for interaction, _status, _resource in successful:
        interaction.recorded = True


def rolled_back(observations: list, status: int) -> list:
    """The observations of the entries of a transaction that failed (each undone; the ones that had succeeded
    as refused with ``status``): what was tried is still told to the observers, as not done."""
    out = []
    for interaction, entry_status, _resource in observations:
        interaction.recorded = False
        interaction.detail["rolled_back"] = True
        out.append((interaction, entry_status if entry_status >= 400 else status, None))
    return out


@contextmanager
def atomic_deferred() -> Iterator[list]:
    """A database transaction for interactions whose scopes are opened with ``deferred=`` the yielded list:
    their audit rows are written inside it before it commits (``record_within``), and the observers are told
    after it, as done when it commits, as not done (with the status) when a ``FhirError`` rolls it back."""
    deferred: list = []
    try:
        with transaction.atomic():
            yield deferred
            record_within(deferred)
    except FhirError as error:
        for observation in rolled_back(deferred, error.status):
            observe(*observation)
        raise
    for observation in deferred:
        observe(*observation)


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
