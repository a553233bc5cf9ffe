"""History Bundles with ``_since``, ``_at``, ``_count`` and stable paging (http://hl7.org/fhir/R4/http.html#history).

Pages are anchored to the moment the first page was served (``_until``), so versions written while a
client pages through do not shift the offsets.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from django.utils.translation import gettext as _

from fhir_gateway.context import Actor
from fhir_gateway.errors import FhirError
from fhir_gateway.search.scope import Scope
from fhir_gateway.storage import Stored, repository
from fhir_gateway.storage.repository import HistoryQuery
from fhir_gateway.storage.writes import instant
from fhir_gateway.visibility import VERSION_COLUMNS

DEFAULT_COUNT = 50
MAX_COUNT = 1000
MAX_OFFSET = 2**31 - 1
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_STATUS = {"POST": "201 Created", "PUT": "200 OK", "PATCH": "200 OK", "DELETE": "204 No Content"}


def date_parse(name: str, value: str) -> datetime:
    """A FHIR date/dateTime/instant as an aware datetime at its start (no zone: UTC)."""
    match = _DATE.match(value.strip())
    if not match:
        raise FhirError(
            400,
            _("%(name)s: %(value)r is not a FHIR date or instant") % {"name": name, "value": value},
            code="value",
            expression=[name],
        )
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
        if zone and zone != "Z":
            moment = datetime.fromisoformat(moment.replace(tzinfo=None).isoformat() + zone)
    except ValueError:
        raise FhirError(
            400,
            _("%(name)s: %(value)r is not a valid date") % {"name": name, "value": value},
            code="value",
            expression=[name],
        ) from None
    return moment.astimezone(UTC)


def _count(value: str) -> int:
    if not value.isdigit():
        raise FhirError(400, _("_count must be a non-negative integer"), code="value", expression=["_count"])
    if int(value) > MAX_COUNT:
        raise FhirError(
            400, _("_count must be at most %(limit)s") % {"limit": MAX_COUNT}, code="too-costly", expression=["_count"]
        )
    return int(value)


def history_bundle(
    *, resource_type: str | None, fhir_id: str | None, actor: Actor, params: list[tuple[str, str]], base_url: str
) -> dict:
    values: dict[str, str] = {}
    for name, value in params:
        if name in ("_since", "_at", "_count", "_until", "_offset", "_format", "_pretty"):
            values[name] = value
    since = date_parse("_since", values["_since"]) if "_since" in values else None
    at = date_parse("_at", values["_at"]) if "_at" in values else None
    count = _count(values.get("_count", str(DEFAULT_COUNT)))
    offset = min(int(values["_offset"]), MAX_OFFSET) if values.get("_offset", "").isdigit() else 0
    until = date_parse("_until", values["_until"]) if "_until" in values else datetime.now(UTC)
    # An instance's history was authorised on the instance itself; type and system history are scoped.
    visibility = None if fhir_id else _visibility(actor, resource_type)
    query = HistoryQuery(resource_type, fhir_id, since, at, until, offset, count, visibility)
    rows, total = repository.history(query)
    path = "/".join(p for p in (resource_type, fhir_id) if p)
    base = base_url.rstrip("/")
    url = f"{base}/{path + '/' if path else ''}_history"
    keep = {k: v for k, v in values.items() if k in ("_since", "_at", "_format", "_pretty")}

    def link(relation: str, at_offset: int) -> dict:
        query_string = urlencode({**keep, "_count": count, "_offset": at_offset, "_until": instant(until)})
        return {"relation": relation, "url": f"{url}?{query_string}"}

    links = [link("self", offset)]
    if count and offset + count < total:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(offset - count, 0)))
    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": total,
        "link": links,
        "entry": [_entry(row, base) for row in rows],
    }


def _visibility(actor: Actor, resource_type: str | None) -> tuple[str, list] | None:
    """The actor's visibility as a condition on the version rows ``v`` (None: no restriction)."""
    condition, args = Scope(actor).sql("v", resource_type, VERSION_COLUMNS)
    return (condition.removeprefix(" AND "), args) if condition else None


def _entry(row: Stored, base: str) -> dict:
    reference = f"{row.resource_type}/{row.fhir_id}"
    entry: dict = {"fullUrl": f"{base}/{reference}"}
    if row.text is not None:
        entry["resource"] = orjson.loads(row.text)
    method = row.method or "PUT"
    entry["request"] = {"method": method, "url": row.resource_type if method == "POST" else reference}
    entry["response"] = {
        "status": _STATUS.get(method, "200 OK"),
        "etag": f'W/"{row.version_id}"',
        "lastModified": instant(row.last_updated),
    }
    return entry
