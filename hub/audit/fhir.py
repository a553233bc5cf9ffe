"""The audit trail as FHIR ``AuditEvent`` resources (read-only), shaped after IHE Basic Audit Log Patterns.

The rows stay in their own table (``hub.audit.models.AuditEvent``, cheap to append); ``GET /fhir/AuditEvent``
and ``GET /fhir/AuditEvent/<id>`` render them, through the gateway's ``hooks.virtual_types``. Who reads what
is ``hub.access`` (``Rule.audit_sites``): a hub auditor and the platform operator all of it, a site
administrator the events about their site's records and patients, nobody else anything (the gateway's
access policy refuses the type to them first).

Each event (https://profiles.ihe.net/ITI/BALP/): ``type`` rest, ``subtype`` the FHIR interaction,
``action`` C/R/U/D/E, ``recorded``, ``outcome`` (0 success, 4 refused, 8 failed) with the HTTP status;
agents: the person or system (``requestor``, with its network address), their site, the client; ``source``
the hub; entities: the patient(s), the resource, a search's query and the records it returned; a use of
break-the-glass has ``purposeOfEvent`` ETREAT.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from fhir_gateway.context import Actor
from fhir_gateway.errors import FhirError
from hub.access.actors import rule_of
from hub.audit.models import AuditEvent

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
PROFILES = {"create": "Create", "read": "Read", "vread": "Read", "update": "Update", "patch": "Update"}
PROFILES |= {"delete": "Delete", "search": "Query"}
ACTIONS = {"create": "C", "read": "R", "vread": "R", "history": "R", "update": "U", "patch": "U", "delete": "D"}
INTERACTIONS = frozenset({"read", "vread", "update", "patch", "delete", "create", "transaction", "batch"})
INTERACTIONS |= {"operation", "capabilities"}
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
HUB_ACTION = "urn:alliance-hub:audit-action"
USER_SYSTEM, SITE_SYSTEM, CLIENT_SYSTEM = "urn:alliance-hub:user", "urn:alliance-hub:site", "urn:alliance-hub:client"
PLAIN_DETAIL = frozenset({"client", "address", "query", "patients", "returned", "via", "owner"})
DEFAULT_COUNT, MAX_COUNT = 50, 500


def _subtype(row: AuditEvent) -> dict:
    action = row.action
    level = "instance" if row.fhir_id else ("type" if row.resource_type else "system")
    if action == "search":
        return {
            "system": "http://hl7.org/fhir/restful-interaction",
            "code": f"search-{'type' if row.resource_type else 'system'}",
        }
    if action == "history":
        return {"system": "http://hl7.org/fhir/restful-interaction", "code": f"history-{level}"}
    if action in INTERACTIONS:
        return {"system": "http://hl7.org/fhir/restful-interaction", "code": action}
    return {"system": HUB_ACTION, "code": action}


def _coding(system: str, code: str, display: str = "") -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _agents(row: AuditEvent, detail: dict) -> list[dict]:
    system = row.actor_kind in ("system", "sync", "internal")
    who: dict = {
        "identifier": {"system": CLIENT_SYSTEM if system else USER_SYSTEM, "value": row.actor_id or row.actor_kind}
    }
    if row.actor_display:
        who["display"] = row.actor_display
    kind = (
        _coding(DCM, "110150", "Application")
        if system
        else _coding("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser", "human user")
    )
    person: dict = {"type": {"coding": [kind]}, "who": who, "requestor": True}
    if detail.get("address"):
        person["network"] = {"address": detail["address"], "type": "2"}
    agents = [person]
    if row.actor_site:
        agents.append(
            {
                "type": {
                    "coding": [
                        _coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV", "healthcare provider")
                    ]
                },
                "who": {"identifier": {"system": SITE_SYSTEM, "value": row.actor_site}},
                "requestor": False,
            }
        )
    if detail.get("client"):
        agents.append(
            {
                "type": {"coding": [_coding(DCM, "110150", "Application")]},
                "who": {"identifier": {"system": CLIENT_SYSTEM, "value": str(detail["client"])}},
                "requestor": False,
            }
        )
    return agents


def _entities(row: AuditEvent, detail: dict) -> list[dict]:
    named = detail.get("patients") or []
    named = named.split() if isinstance(named, str) else named  # $match: "Patient/a Patient/b"
    patients = list(dict.fromkeys([*([row.patient] if row.patient else []), *named]))
    entities = [
        {
            "what": {"reference": ref},
            "type": _coding(ENTITY_TYPE, "1", "Person"),
            "role": _coding(OBJECT_ROLE, "1", "Patient"),
        }
        for ref in patients
    ]
    subject: dict | None = entities[0] if entities and row.resource_type == "Patient" else None
    if row.resource_type and row.fhir_id and f"{row.resource_type}/{row.fhir_id}" not in patients:
        subject = {
            "what": {"reference": f"{row.resource_type}/{row.fhir_id}"},
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
        }
        entities.append(subject)
    elif subject is None and row.resource_type and row.action != "search":
        subject = {"what": {"display": row.resource_type}, "type": _coding(ENTITY_TYPE, "2", "System Object")}
        entities.append(subject)
    extra = [
        {"type": key, "valueString": str(value)}
        for key, value in detail.items()
        if key not in PLAIN_DETAIL and isinstance(value, str | int | float | bool)
    ]
    if extra and subject is not None:
        subject["detail"] = extra
    if row.action == "search":
        query: dict = {"type": _coding(ENTITY_TYPE, "2", "System Object"), "role": _coding(OBJECT_ROLE, "24", "Query")}
        query["query"] = base64.b64encode(str(detail.get("query", "")).encode()).decode()
        if row.resource_type:
            query["what"] = {"display": row.resource_type}
        query["detail"] = [{"type": "total", "valueString": str(detail.get("total", ""))}] + [
            item for item in extra if item["type"] != "total"
        ]
        entities.append(query)
        entities += [
            {
                "what": {"reference": ref},
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
            }
            for ref in detail.get("returned") or ()
            if ref not in patients
        ]
    return entities


def audit_event_resource(row: AuditEvent) -> dict:
    """One row as an R4 ``AuditEvent``."""
    detail = row.detail if isinstance(row.detail, dict) else {}
    recorded = row.recorded_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    profile = PROFILES.get(row.action)
    resource: dict = {"resourceType": "AuditEvent", "id": str(row.pk), "meta": {"lastUpdated": recorded}}
    if profile:
        resource["meta"]["profile"] = [BALP + ("Patient" if row.patient else "") + profile]
    resource["type"] = _coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation")
    resource["subtype"] = [_subtype(row)]
    resource["action"] = ACTIONS.get(row.action, "E")
    resource["recorded"] = recorded
    resource["outcome"] = "0" if row.success else ("4" if row.status < 500 else "8")
    resource["outcomeDesc"] = f"HTTP {row.status}"
    if detail.get("break_glass"):
        resource["purposeOfEvent"] = [
            {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "ETREAT", "Emergency Treatment")]}
        ]
    resource["agent"] = _agents(row, detail)
    resource["source"] = {
        "site": "alliance-hub",
        "observer": {"display": "Alliance Hub"},
        "type": [_coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
    }
    entities = _entities(row, detail)
    if entities:
        resource["entity"] = entities
    return resource


# -- who reads what --------------------------------------------------------------------------------------------
def audit_events_for(actor: Actor) -> QuerySet[AuditEvent]:
    """The rows ``actor`` may read (``hub.access``: ``Rule.audit_sites``)."""
    sites = rule_of(actor).audit_sites()
    if sites is None:
        return AuditEvent.objects.all()
    if not sites:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(owner__in=sites)


# -- search (https://hl7.org/fhir/R4/auditevent.html#search) ----------------------------------------------------
IGNORED = frozenset({"_format", "_pretty", "_summary", "_elements", "_total"})
PREFIXES = ("eq", "ge", "gt", "le", "lt")


def _bad(name: str, message: str) -> FhirError:
    return FhirError(400, message, code="invalid", expression=[name])


def _date(name: str, value: str) -> Q:
    prefix = value[:2] if value[:2] in PREFIXES else "eq"
    text = value[2:] if value[:2] in PREFIXES else value
    moment = parse_datetime(text) if "T" in text else None
    day = parse_date(text) if moment is None and len(text) == 10 else None
    if moment is None and day is None:
        raise _bad(
            name, _("%(name)s takes a date or a date and time, optionally prefixed (ge, gt, le, lt)") % {"name": name}
        )
    if day is not None:
        start = timezone.make_aware(datetime.combine(day, time.min))
        end = timezone.make_aware(datetime.combine(day, time.max))
    else:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        start = end = moment
    return {
        "eq": Q(recorded_at__gte=start, recorded_at__lte=end),
        "ge": Q(recorded_at__gte=start),
        "gt": Q(recorded_at__gt=end),
        "le": Q(recorded_at__lte=end),
        "lt": Q(recorded_at__lt=start),
    }[prefix]


def _reference(value: str, default_type: str = "") -> str:
    value = value.strip()
    if "/" not in value and default_type:
        value = f"{default_type}/{value}"
    return value


def _filter(name: str, value: str) -> Q:
    base = name.split(":", 1)[0]
    values = [one for one in value.split(",") if one]
    if not values:
        raise _bad(name, _("%(name)s needs a value") % {"name": name})
    condition = Q()
    for one in values:
        if base == "_id":
            if not one.isdigit():
                condition |= Q(pk__in=[])
            else:
                condition |= Q(pk=int(one))
        elif base == "date":
            condition |= _date(name, one)
        elif base == "patient":
            ref = _reference(one, "Patient")[:100]
            condition |= Q(patient=ref) | Q(detail__patients__contains=[ref])
        elif base in ("agent", "who"):
            condition |= Q(actor_id=one.rsplit("|", 1)[-1])
        elif base == "outcome":
            condition |= {
                "0": Q(success=True),
                "4": Q(success=False, status__lt=500),
                "8": Q(success=False, status__gte=500),
            }.get(one, Q(pk__in=[]))
        elif base == "action":
            names = [key for key, code in ACTIONS.items() if code == one]
            condition |= Q(action__in=names) if one != "E" else ~Q(action__in=list(ACTIONS))
        elif base == "subtype":
            code = one.rsplit("|", 1)[-1]
            code = code.split("-", 1)[0] if code.startswith(("search-", "history-")) else code
            condition |= Q(action=code)
        elif base == "entity":
            ref = _reference(one)
            kind, _sep, fhir_id = ref.partition("/")
            condition |= (
                Q(resource_type=kind, fhir_id=fhir_id) | Q(patient=ref[:100]) | Q(detail__returned__contains=[ref])
            )
        elif base == "site":
            condition |= Q(actor_site=one)
        else:
            raise _bad(name, _("Unknown search parameter %(name)s for AuditEvent") % {"name": name})
    return condition


def _int(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise _bad(
            name,
            _("%(name)s must be a whole number from %(low)d to %(high)d") % {"name": name, "low": low, "high": high},
        )
    return int(value)


def _parameter(name: str, kind: str, documentation: str) -> dict:
    return {
        "name": name,
        "definition": f"http://hl7.org/fhir/SearchParameter/AuditEvent-{name}",
        "type": kind,
        "documentation": documentation,
    }


class AuditEventProvider:
    """``hooks.virtual_types["AuditEvent"]``: the rows the caller may read, rendered."""

    search_parameters = (
        _parameter("_id", "token", "The event's id"),
        _parameter("patient", "reference", "The patient the event is about, or one a search returned"),
        _parameter("date", "date", "When it was recorded (eq, ge, gt, le, lt)"),
        _parameter("agent", "reference", "Who: the user's or the client's id"),
        _parameter("entity", "reference", "A resource the event is about, or one a search returned"),
        _parameter("outcome", "token", "0 success, 4 refused, 8 failed"),
        _parameter("subtype", "token", "The FHIR interaction (read, search-type, create, ...)"),
        _parameter("action", "token", "C, R, U, D or E"),
        _parameter("site", "token", "The site the person or system acts for"),
    )

    def read(self, actor: Actor, fhir_id: str) -> dict | None:
        if not fhir_id.isdigit():
            return None
        row = audit_events_for(actor).filter(pk=int(fhir_id)).first()
        return audit_event_resource(row) if row is not None else None

    def search(self, actor: Actor, params: list[tuple[str, str]], base_url: str) -> dict:
        events = audit_events_for(actor)
        count, offset, order, used = DEFAULT_COUNT, 0, "-", []
        for name, value in params:
            if name in IGNORED:
                continue
            if name == "_count":
                count = _int(name, value, 1, MAX_COUNT)
            elif name == "_offset":
                offset = _int(name, value, 0, 1_000_000)
            elif name == "_sort":
                if value not in ("date", "-date", "_lastUpdated", "-_lastUpdated"):
                    raise _bad(name, _("AuditEvent searches sort by date or -date"))
                order = "-" if value.startswith("-") else ""
            else:
                events = events.filter(_filter(name, value))
                used.append((name, value))
                continue
            if name != "_offset":
                used.append((name, value))
        rows = list(events.order_by(f"{order}recorded_at", f"{order}id")[offset : offset + count + 1])
        more, rows = len(rows) > count, rows[:count]
        path = f"{base_url}/AuditEvent"
        links = [{"relation": "self", "url": f"{path}?{urlencode([*used, ('_offset', offset)])}"}]
        if more:
            links.append({"relation": "next", "url": f"{path}?{urlencode([*used, ('_offset', offset + count)])}"})
        bundle: dict = {"resourceType": "Bundle", "type": "searchset"}
        if any(name == "_total" and value == "accurate" for name, value in params):
            bundle["total"] = events.count()
        bundle["link"] = links
        bundle["entry"] = [
            {"fullUrl": f"{path}/{row.pk}", "resource": audit_event_resource(row), "search": {"mode": "match"}}
            for row in rows
        ]
        return bundle


provider = AuditEventProvider()
