"""``GET /fhir/Subscription/<id>/$events`` (thin: parse, call the selector, render)."""

from __future__ import annotations

from federation.subscriptions.selectors import subscription_events
from fhir_gateway.api.handler import base_url, fhir_view, id_check
from fhir_gateway.api.negotiation import render


@fhir_view(("GET",))
def events(request, fhir_id: str):
    id_check(fhir_id)
    bundle = subscription_events(
        fhir_id=fhir_id,
        actor=request.fhir_actor,
        since=request.GET.get("eventsSinceNumber"),
        until=request.GET.get("eventsUntilNumber"),
        count=request.GET.get("_count"),
        base_url=base_url(request),
    )
    return render(request, bundle, status=200)
