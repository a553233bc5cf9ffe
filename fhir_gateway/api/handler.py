"""The one error handler of the FHIR API: every refusal becomes an ``OperationOutcome``.

``fhir_view`` also negotiates the response format and resolves the caller through
``hooks.actor_resolvers``; only ``GET /fhir/metadata`` is open to anonymous callers.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from fhir_gateway import hooks, validation
from fhir_gateway.api.negotiation import render, response_type
from fhir_gateway.context import ANONYMOUS_ACTOR, Actor
from fhir_gateway.errors import FhirError, Unauthorized
from fhir_gateway.validation.models import ID_PATTERN

logger = logging.getLogger(__name__)


def actor_resolve(request) -> Actor:
    for resolver in hooks.actor_resolvers:
        actor = resolver(request)
        if actor is not None:
            return actor
    return ANONYMOUS_ACTOR


def base_url(request) -> str:
    return request.build_absolute_uri(reverse("fhir:base")).rstrip("/")


def type_known_check(resource_type: str) -> None:
    """404 for a type the models do not know: refused before any interaction starts, so nothing is audited."""
    if not validation.is_resource_type(resource_type):
        raise FhirError(404, _("Unknown resource type %(type)r") % {"type": resource_type[:80]}, code="not-supported")


def id_check(fhir_id: str) -> None:
    """A malformed id in the URL is a 400 (http://hl7.org/fhir/R4/datatypes.html#id), not a lookup."""
    if not ID_PATTERN.match(fhir_id):
        raise FhirError(400, _("%(id)r is not a valid FHIR id") % {"id": fhir_id[:80]}, code="value")


def internal_error_outcome() -> dict:
    issue = {"severity": "fatal", "code": "exception", "diagnostics": _("Internal error")}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


RETRY_AFTER = {"Retry-After": "5"}


def unavailable(error: Exception) -> bool:
    """The database was unreachable or the connection was cut: a 503 to retry, not an internal error."""
    import psycopg
    from django.db import InterfaceError, OperationalError

    # Django's wrappers, or psycopg's own where the gateway drives a raw cursor (COPY).
    return isinstance(error, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError)


def unavailable_outcome() -> dict:
    issue = {
        "severity": "error",
        "code": "transient",
        "diagnostics": _("The database is not reachable at the moment; try again shortly."),
    }
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def fhir_view(methods: tuple[str, ...], *, public: bool = False):
    """Wrap a FHIR view: allowed ``methods``, format negotiation, the actor, errors as OperationOutcome."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                if request.method not in methods and not (request.method == "HEAD" and "GET" in methods):
                    raise FhirError(
                        405,
                        _("%(method)s is not supported here") % {"method": request.method},
                        code="not-supported",
                        headers={"Allow": ", ".join(methods)},
                    )
                request.fhir_response_type = response_type(request)
                if kwargs.get("resource_type") is not None:
                    type_known_check(kwargs["resource_type"])
                request.fhir_actor = actor_resolve(request)
                if not public and not request.fhir_actor.is_authenticated:
                    raise Unauthorized(_("Authentication is required"))
                response = view(request, *args, **kwargs)
            except FhirError as error:
                response = render(request, error.outcome(), status=error.status, headers=error.headers)
            except Exception as error:
                if unavailable(error):
                    logger.warning("FHIR request %s %s: database unavailable (%s)", request.method, request.path, error)
                    response = render(request, unavailable_outcome(), status=503, headers=RETRY_AFTER)
                else:
                    logger.exception("FHIR request %s %s failed", request.method, request.path)
                    response = render(request, internal_error_outcome(), status=500)
            if request.method == "HEAD":
                response.content = b""
            return response

        return wrapped

    return decorate
