"""What a ``Subscription`` resource asks for, checked (http://hl7.org/fhir/R4/subscription.html)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from django.utils.translation import gettext as _

from federation.subscriptions.constants import PAYLOAD_CONTENT_URL, Channel, Payload, Status
from fhir_gateway.errors import FhirError


@dataclass
class Asked:
    """A Subscription's request: status, criteria as a resource type and search parameters, the channel."""

    status: str
    resource_type: str
    criteria: str
    params: list[tuple[str, str]]
    channel: str
    endpoint: str
    headers: list[str]
    payload: str
    mime_type: str


def _refuse(message: str, expression: str) -> FhirError:
    return FhirError(422, message, code="invalid", expression=[expression])


def criteria_split(criteria: str) -> tuple[str, list[tuple[str, str]]]:
    """``Observation?code=http://loinc.org|8867-4`` as ``("Observation", [("code", ...)])``."""
    resource_type, _sep, query = criteria.partition("?")
    if not resource_type or not resource_type[:1].isupper() or "/" in resource_type:
        raise _refuse(_("criteria must be a search on a resource type, e.g. Observation?code=..."), "criteria")
    return resource_type, [(name, value) for name, value in parse_qsl(query, keep_blank_values=True) if name]


def _payload(channel: dict) -> tuple[str, str]:
    mime = channel.get("payload")
    if not mime:
        return Payload.EMPTY, ""
    if mime not in ("application/fhir+json", "application/json"):
        raise _refuse(_("channel.payload must be application/fhir+json"), "channel.payload")
    content = Payload.FULL
    for extension in channel.get("_payload", {}).get("extension") or []:
        if extension.get("url") == PAYLOAD_CONTENT_URL:
            content = extension.get("valueCode")
            if content not in Payload.values:
                raise _refuse(_("The payload content must be empty, id-only or full-resource"), "channel.payload")
    return content, mime


def subscription_parse(resource: dict) -> Asked:
    status = resource.get("status")
    if status not in Status.values:
        raise _refuse(_("status must be requested, active, error or off"), "status")
    resource_type, params = criteria_split(str(resource.get("criteria") or ""))
    channel = resource.get("channel") or {}
    channel_type = channel.get("type")
    if channel_type not in Channel.values:
        raise _refuse(_("The hub notifies through rest-hook and websocket channels only"), "channel.type")
    endpoint = str(channel.get("endpoint") or "")
    if channel_type == Channel.REST_HOOK:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _refuse(_("A rest-hook needs an http(s) endpoint"), "channel.endpoint")
    headers = [str(h) for h in channel.get("header") or []]
    if any(":" not in h or "\n" in h or "\r" in h for h in headers):
        raise _refuse(_("Each channel.header is one 'Name: value' line"), "channel.header")
    payload, mime = _payload(channel)
    return Asked(
        status=status,
        resource_type=resource_type,
        criteria=str(resource["criteria"]),
        params=params,
        channel=channel_type,
        endpoint=endpoint,
        headers=headers,
        payload=payload,
        mime_type=mime,
    )
