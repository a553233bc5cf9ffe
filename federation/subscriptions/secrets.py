"""``channel.header`` values are the subscriber's secrets (an ``Authorization`` line, an API key): the hub keeps
them for sending notifications (``Subscription.headers``) and stores the resource with every value masked, so no
read, search, history, include or export (the subscriber's own included) ever shows one.

``header_values_hide`` (a ``fhir_gateway.hooks.write_stampers`` hook) masks them before the resource is stored
and leaves the values it took for ``headers_resolve``, which the listener calls in the same transaction. A header
written back masked (a subscriber updating what it read) keeps the value the hub holds for that name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from contextvars import ContextVar

from django.conf import settings

from fhir_gateway.context import Interaction

MASK = "******"
# A masked value: the mask and a keyed digest of the value, so that a new value makes a new version of the
# resource (and reaches the hub) while the same value written back masked is known again.
MASKED = re.compile(r"^\*{6}([0-9a-f]{10})$")
_taken: ContextVar[dict[str, list[str]] | None] = ContextVar("subscription_header_values", default=None)


def _name_value(line: str) -> tuple[str, str]:
    name, _colon, value = line.partition(":")
    return name.strip(), value.strip()


def _masked(value: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()
    return MASK + digest[:10]


def header_values_hide(interaction: Interaction, resource: dict) -> None:
    if resource.get("resourceType") != "Subscription" or not isinstance(resource.get("channel"), dict):
        return
    channel = resource["channel"]
    lines = channel.get("header")
    taken = _taken.get()
    if taken is None:
        taken = {}
        _taken.set(taken)
    fhir_id = str(resource.get("id") or "")
    if not isinstance(lines, list) or not all(isinstance(line, str) and ":" in line for line in lines):
        taken.pop(fhir_id, None)  # nothing to hide (a malformed header is refused by the listener as it is)
        return
    taken[fhir_id] = list(lines)
    resource["channel"] = channel = dict(channel)  # the caller's dicts stay as they were
    channel["header"] = [
        f"{name}: {value if MASKED.match(value) else _masked(value)}" if value else f"{name}:"
        for name, value in map(_name_value, lines)
    ]


def headers_resolve(*, fhir_id: str, written: list[str], held: list[str]) -> list[str]:
    """The header lines to send with: the values this write took (else ``written``), a masked one replaced by the
    value ``held`` that it masks."""
    taken = _taken.get()
    lines = (taken or {}).pop(fhir_id, None) or written
    known = {_masked(_name_value(line)[1]): line for line in held}
    resolved = []
    for line in lines:
        _name, value = _name_value(line)
        if MASKED.match(value):
            if value not in known:
                continue  # a masked value the hub does not hold: nothing to send
            line = known[value]
        resolved.append(line)
    return resolved
