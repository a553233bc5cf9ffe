"""What the Subscriptions add to the CapabilityStatement: the ``Subscription`` resource's ``$events`` operation
and the websocket URL (http://hl7.org/fhir/R4/subscription.html#2.46.7.2)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

WEBSOCKET_EXTENSION = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket"
WEBSOCKET_PATH = "/ws/fhir-subscriptions/"
EVENTS = {
    "name": "events",
    "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events",
    "documentation": (
        "GET Subscription/<id>/$events?eventsSinceNumber=N&eventsUntilNumber=M: the events a subscriber missed, "
        "as the notification Bundle (its subscriber only)."
    ),
}


def websocket_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, WEBSOCKET_PATH, "", ""))


def capability_contribute(rest: dict, *, base_url: str) -> None:
    resources = rest.setdefault("resource", [])
    entry = next((r for r in resources if r.get("type") == "Subscription"), None)
    if entry is None:
        entry = {"type": "Subscription", "interaction": [{"code": c} for c in ("read", "create", "update", "delete")]}
        entry["interaction"].append({"code": "search-type"})
        resources.append(entry)
    entry.setdefault("operation", []).append(dict(EVENTS))
    extensions = rest.setdefault("extension", [])
    if not any(e.get("url") == WEBSOCKET_EXTENSION for e in extensions):
        extensions.append({"url": WEBSOCKET_EXTENSION, "valueUri": websocket_url(base_url)})
