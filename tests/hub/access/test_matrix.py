"""The authorization matrix: every actor kind x every kind of record x every interaction, asserted over HTTP.

One shared world (``world``: built once for the module, committed, removed at the end; each test runs in its
own rolled-back transaction) holds county A's records, county B's, a county A patient shared with the
cardiologist by a referral, a golden record of the master patient index, directory records and the
referral's own workflow records. Each record carries a unique marker in its content; the expectations come
from two tables below, ``SEES`` (who may read which record) and ``WRITES`` (who may change it):

- an allowed read answers 200 and shows the marker; a refused one answers 401, 403 or 404 and never shows it
  (zero leaks: not in a body, a count, an id);
- an allowed write succeeds; a refused one leaves the record as it was (and shows nothing of it);
- owners keep their access (the allowed cases are asserted as firmly as the refused ones).

Adding to the matrix
--------------------
- A new endpoint or interaction is one ``Row(...)`` line in ``ROWS``: a name, the record kinds it applies to,
  a function ``(client, headers, record) -> response`` and how to judge it (``SEE``: the answer shows the
  record to those in ``SEES``; ``FIND``: a search, the record is among the results for those in ``SEES``;
  ``WRITE``: changes it for those in ``WRITES``; or a table of its own, ``expect={actor: set of record keys}``).
  E.g. a consultation room's record page: ``Row("room page", PATIENTS, lambda c, h, r: c.get(f"/rooms/x/{r.id}",
  **h), SEE)``; a device ingest endpoint that writes: ``Row("device ingest", {"clinical"}, ingest, WRITE)``.
- A new kind of record is one entry in ``world`` (with its marker) and its key in the ``SEES``/``WRITES`` sets.
- A new actor kind is one entry in ``ACTORS`` (how to build it and its credentials) and one line in each table.
- A websocket message type is one ``(event, recipients)`` case in ``test_notifications_reach_only_those_who_
  may_see_the_request``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

FHIR = "application/fhir+json"

# -- the actors ------------------------------------------------------------------------------------------------
ACTORS = [
    "county_doctor",  # Dr Li, county A (requested the shared referral)
    "specialist",  # Dr Zhang, cardiology at the general hospital (the referral reached him)
    "other_specialist",  # Dr Zhou, neurology (the referral did not reach her)
    "site_admin",  # county A's administrator
    "official",
    "auditor",  # a hub auditor (access.audit_all)
    "superuser",  # the platform operator
    "site_system",  # county A's system, system/*.read system/*.write
    "narrow_system",  # county A's system, system/Patient.read only
    "anonymous",
]

# -- the records (keys of ``world.records``) -------------------------------------------------------------------
A = {"a_patient", "a_obs"}  # county A's, not shared
B = {"b_patient", "b_obs"}  # county B's
SHARED = {"shared_patient", "shared_obs", "task"}  # county A's patient referred to cardiology, its ECG, the Task
EVERYTHING = A | B | SHARED | {"golden", "org_a", "org_b"}
DIRECTORY = {"org_a", "org_b"}

SEES: dict[str, set[str]] = {
    "county_doctor": A | SHARED | DIRECTORY,
    "specialist": SHARED | DIRECTORY,
    "other_specialist": DIRECTORY,
    "site_admin": A | SHARED | DIRECTORY,
    "official": DIRECTORY,
    "auditor": DIRECTORY,
    "superuser": EVERYTHING,
    "site_system": A | SHARED | DIRECTORY,
    "narrow_system": {"a_patient", "shared_patient"},
    "anonymous": set(),
}
WRITES: dict[str, set[str]] = {
    "county_doctor": {"a_patient", "a_obs", "shared_patient", "shared_obs"},  # not the workflow's Task
    "specialist": set(),  # reads the shared records, never changes another site's
    "other_specialist": set(),
    "site_admin": {"org_a"},
    "official": set(),
    "auditor": set(),
    "superuser": EVERYTHING - {"task"},  # only the workflow changes its records
    "site_system": {"a_patient", "a_obs", "shared_patient", "shared_obs", "org_a"},
    "narrow_system": set(),
    "anonymous": set(),
}
# Beyond FHIR: the record view is for clinicians and administrators, the referral API for clinicians.
RECORD_VIEW = {actor: SEES[actor] for actor in ("county_doctor", "specialist", "site_admin", "superuser")}
# FHIR Subscriptions: those who may write a Subscription (their site's records) receive what they may read, nothing
# else; site administrators, officials, auditors and read-only systems may not subscribe.
SUBSCRIBERS = ("county_doctor", "specialist", "other_specialist", "superuser", "site_system")
SUBSCRIBED = {actor: SEES[actor] for actor in SUBSCRIBERS}
REFERRAL_API = {"county_doctor": {"referral"}, "specialist": {"referral"}}
DELIVERIES = {"site_admin": {"dead_letter_a"}, "superuser": {"dead_letter_a", "dead_letter_b"}}
NOTIFICATIONS = {"specialist": {"notification"}}  # a notification is its recipient's alone


@dataclass
class Record:
    key: str
    resource_type: str
    id: str
    marker: str
    kinds: set[str] = field(default_factory=set)

    @property
    def ref(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass
class World:
    records: dict[str, Record]
    headers: dict[str, dict]
    users: dict[str, object]
    referral_id: int
    subscription_id: str = ""  # Dr Li's websocket Subscription


# -- the interactions ------------------------------------------------------------------------------------------
SEE, FIND, WRITE = "see", "find", "write"


# The types an actor may read at all, where its scopes narrow them (a row touching others is refused).
READ_TYPES = {"narrow_system": {"Patient"}}


@dataclass
class Row:
    name: str
    kinds: set[str]  # record kinds it applies to: patient, clinical, directory, workflow, referral, golden
    call: Callable
    judge: str | dict = SEE
    needs: set[str] = field(default_factory=set)  # other types the request reads (e.g. an _include's source)
    shown: Callable | None = None  # (payload, record) -> whether the answer shows the record; default: its id

    def expected(self, actor: str, record: Record) -> bool:
        if isinstance(self.judge, dict):
            return record.key in self.judge.get(actor, set())
        if self.needs and actor in READ_TYPES and not self.needs <= READ_TYPES[actor]:
            return False
        return record.key in (WRITES if self.judge == WRITE else SEES)[actor]


def _json(client, method, url, headers, body, content_type=FHIR):
    return getattr(client, method)(url, json.dumps(body), content_type=content_type, **headers)


def _patch(c, h, r):
    operations = [{"op": "add", "path": "/language", "value": "zh-CN"}]
    return _json(c, "patch", f"/fhir/{r.ref}", h, operations, "application/json-patch+json")


def _put(c, h, r):
    body = _current(r) | {"language": "zh-CN"}
    return _json(c, "put", f"/fhir/{r.ref}", h, body)


def _conditional_put(c, h, r):
    body = {k: v for k, v in _current(r).items() if k not in ("id", "meta")} | {"language": "zh-CN"}
    return _json(c, "put", f"/fhir/{r.resource_type}?_id={r.id}", h, body)


def _batch_get(c, h, r):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "GET", "url": r.ref}}]}
    return _json(c, "post", "/fhir/", h, bundle)


def _batch_search(c, h, r):
    url = f"{r.resource_type}?_id={r.id}"
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "GET", "url": url}}]}
    return _json(c, "post", "/fhir/", h, bundle)


def _transaction_put(c, h, r):
    entry = {"resource": _current(r) | {"language": "zh-CN"}, "request": {"method": "PUT", "url": r.ref}}
    return _json(c, "post", "/fhir/", h, {"resourceType": "Bundle", "type": "transaction", "entry": [entry]})


def _match(c, h, r):
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": _current(r)}]}
    return _json(c, "post", "/fhir/Patient/$match", h, parameters)


def _export(c, h, r):
    """A bulk ``$export`` of the record's type, run to the end, its NDJSON files gathered as one Bundle."""
    from types import SimpleNamespace

    from fhir_gateway.bulk.models import ExportJob
    from fhir_gateway.bulk.services import export_run

    kicked = c.get(f"/fhir/$export?_type={r.resource_type}", HTTP_PREFER="respond-async", **h)
    if kicked.status_code != 202:
        return kicked
    export_run(job_id=ExportJob.objects.latest("pk").pk)  # the test's transaction never commits: run it here
    manifest = c.get(kicked["Content-Location"], **h)
    if manifest.status_code != 200:
        return manifest
    resources = []
    for output in manifest.json()["output"]:
        answer = c.get(output["url"], **h)
        resources += [json.loads(line) for line in b"".join(answer.streaming_content).splitlines()]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": x} for x in resources]}
    return SimpleNamespace(status_code=200, content=json.dumps(bundle).encode())


# hardening: who sees the network dashboard of county A (aggregates: officials, the platform operator, county A's
# administrator), the published signing keys (every signed-in person; site systems do not use /api/), an opinion's
# verification (those who see its request), /metrics (scrapers only) and the OAuth application pages.
DASHBOARD = {"site_admin": {"dashboard"}, "official": {"dashboard"}, "superuser": {"dashboard"}}
USERS_SEE = {
    actor: {"signing_key"}
    for actor in ("county_doctor", "specialist", "other_specialist", "site_admin", "official", "auditor", "superuser")
}
OPINION = {"county_doctor": {"opinion"}, "specialist": {"opinion"}}


def _shown_as(response, record, seen: bool):
    """A non-FHIR answer as a Bundle naming the record when it shows it (so the matrix judges it like the rest)."""
    from types import SimpleNamespace

    if not seen:
        return response
    body = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": record.resource_type, "id": record.id}}]}
    return SimpleNamespace(status_code=response.status_code, content=json.dumps(body).encode())


def _dashboard(c, h, r, export: str, page: bool = False):
    if page:  # the page is for signed-in browsers: the session of the token's user
        c = Client()
        user = _token_user(h.get("HTTP_AUTHORIZATION", ""))
        if user is not None:
            c.force_login(user)
        response = c.get(f"/dashboard/?site={r.id}")
        return _shown_as(response, r, response.status_code == 200)
    response = c.get(f"/api/dashboard/{export}?site={r.id}", **h)
    if response.status_code != 200:
        return response
    if export == "":
        return _shown_as(response, r, (response.json().get("scope", {}).get("site") or {}).get("code") == r.id)
    return _shown_as(response, r, len(response.content) > 0)


def _token_user(header: str):
    from hub.accounts.services import api_token_authenticate

    scheme, _sep, raw = header.partition(" ")
    return api_token_authenticate(raw) if scheme == "Bearer" and raw.startswith("ahub_") else None


def _metrics(c, h):
    return c.get("/metrics", REMOTE_ADDR="10.20.30.40", **h)  # not this host, and no HUB_METRICS_TOKEN


def _oauth_pages(c, h):
    from types import SimpleNamespace

    client = Client()
    user = _token_user(h.get("HTTP_AUTHORIZATION", ""))
    if user is not None:
        client.force_login(user)
    answers = [client.get(path) for path in ("/o/applications/", "/o/applications/register/")]
    if all(a.status_code == 200 for a in answers):
        body = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Dashboard", "id": "county-a"}}]}
        return SimpleNamespace(status_code=200, content=json.dumps(body).encode())
    return next(a for a in answers if a.status_code != 200)


def _subscribed_events(c, h, r):
    """A Subscription to the record (``<type>?_id=<id>``), then the record changes (as the hub's workflow), then
    the subscriber's ``$events``: it shows the record only to those who may read it."""
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL_ACTOR

    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "matrix",
        "criteria": f"{r.resource_type}?_id={r.id}",
        "channel": {"type": "websocket", "payload": FHIR},
    }
    created = _json(c, "post", "/fhir/Subscription", h, body)
    if created.status_code != 201:
        return created
    changed = _current(r) | {"language": "zh-CN"}
    services.resource_update(resource_type=r.resource_type, fhir_id=r.id, resource=changed, actor=INTERNAL_ACTOR)
    return c.get(f"/fhir/Subscription/{created.json()['id']}/$events", **h)


def _audit_read(c, h, r):
    """``GET /fhir/AuditEvent/<id>`` of an event about the record (its creation)."""
    from types import SimpleNamespace

    from hub.audit.models import AuditEvent

    event = AuditEvent.objects.filter(patient=r.ref).order_by("id").first()
    if event is None:
        return SimpleNamespace(status_code=404, content=b"no audit event about the record")
    return c.get(f"/fhir/AuditEvent/{event.pk}", **h)


def _audit_shown(payload, r) -> bool:
    """An AuditEvent answer shows the record when it names it (an entity's reference)."""
    return f'"{r.ref}"' in json.dumps(payload)


def _patient_search(c, h, r):
    """The new request's patient search by the record number (``MRN<seed>``, the same at county A and B)."""
    mrn = f"MRN{int(r.id.rsplit('-m', 1)[1]):06d}"
    return c.get("/referrals/new/", {"q": mrn}, HTTP_X_FRAGMENT="patients", **h)


def _attached_file(c, h, r):
    return c.get(f"/referrals/{r.referral}/files/{r.ref}", **h)


def _in_page(payload, r) -> bool:
    return isinstance(payload, str) and r.id in payload


def _png_shown(payload, r) -> bool:
    return isinstance(payload, str) and "PNG\r\n" in payload[:8]


# Only a clinician's own site's patients are found (never a shared one of another site, never another site's).
PATIENT_SEARCH = {"county_doctor": {"a_patient", "shared_patient"}}
# A photo attached to the request: those who see the request.
ATTACHED_FILE = {"county_doctor": {"upload"}, "specialist": {"upload"}}
# Bedside devices (hub.devices): live data for whoever may read the patient's record; ingest for the patient's
# site's system with a device scope (system/*.write includes it), through a monitor attached to the patient.
DEVICE_LIVE = {actor: RECORD_VIEW[actor] & {"a_patient", "b_patient", "shared_patient"} for actor in RECORD_VIEW}
DEVICE_INGEST = {"site_system": {"a_patient", "shared_patient"}}
# A patient's alarm limits: the treating clinicians (county doctors and specialists who may read the patient).
DEVICE_LIMITS = {"county_doctor": {"a_patient", "shared_patient"}, "specialist": {"shared_patient"}}


def _limits_stored(payload, r) -> bool:
    from hub.devices.models import Threshold

    return Threshold.objects.filter(patient_ref=r.ref, parameter="hr", low=45, high=125).exists()


def _limits_reset(c, h, r):
    """Back to the defaults: the patient's own heart-rate limits (made for the call) are gone afterwards."""
    from hub.devices.models import Threshold

    Threshold.objects.update_or_create(patient_ref=r.ref, parameter="hr", defaults={"low": 45, "high": 125})
    return _done(c.delete(f"/api/devices/patients/{r.id}/thresholds/hr", **h))


def _limits_reset_done(payload, r) -> bool:
    from hub.devices.models import Threshold

    return not Threshold.objects.filter(patient_ref=r.ref, parameter="hr").exists()


def _limits_page(c, h, r):
    """The live page's limits form; its success is a redirect back to the live page (seen as a 200)."""
    from types import SimpleNamespace

    response = c.post(f"/devices/patients/{r.id}/limits/", {"parameter": "hr", "low": "45", "high": "125"}, **h)
    if response.status_code == 302 and "/live/" in response["Location"]:
        return SimpleNamespace(status_code=200, content=b"{}")
    return response


def _monitor_of(record: Record):
    """A monitor at the patient's site, attached to them (made inside the test's transaction)."""
    from federation.sites.models import Site
    from hub.devices.models import Binding, Device
    from hub.devices.selectors import device_cache_clear
    from hub.devices.services import device_bind_internal, device_register

    site = Site.objects.get(code=record.id.rsplit("-m", 1)[0])
    key = f"mx-{record.key.replace('_', '-')}"
    device = Device.objects.filter(site=site, key=key).first() or device_register(site=site, key=key)
    if not Binding.objects.filter(device=device, end__isnull=True).exists():
        device_bind_internal(device=device, patient_ref=record.ref)
    device_cache_clear()
    return device


def _device_ingest(c, h, r):
    from datetime import UTC, datetime, timedelta

    device = _monitor_of(r)
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    message = {"device": device.key, "time": at, "numerics": [{"code": "147842", "value": 70, "unit": "/min"}]}
    return _json(c, "post", "/api/devices/ingest", h, {"messages": [message]}, "application/json")


# The room of the shared referral: its requester and the specialist it reached are its participants.
ROOM = {"county_doctor": {"room"}, "specialist": {"room"}}
ROOM_OWNER = {"specialist": {"room"}}  # invitations are the responsible specialist's (as the request's)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf"
    "c0f01f0005000201e2a1c6b50000000049454e44ae426082"
)


def _done(response):
    """A write that succeeded answers 2xx: seen as 200 with its body (``{"removed": true}`` for a 204)."""
    from types import SimpleNamespace

    if 200 <= response.status_code < 300:
        body = response.content if response.status_code != 204 else b'{"removed": true}'
        return SimpleNamespace(status_code=200, content=body)
    return response


def _page(response, record):
    """A room's page shows the room when it opens its socket; as JSON for ``_shows``."""
    from types import SimpleNamespace

    shown = response.status_code == 200 and f"/ws/consultations/rooms/{record.id}/" in response.content.decode()
    return SimpleNamespace(status_code=response.status_code, content=json.dumps({"shown": shown}).encode())


def _room_shown(payload, record) -> bool:
    return isinstance(payload, dict) and str(payload.get("id")) == record.id and "participants" in payload


def _room_file(c, h, r, what):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("still.png", PNG, content_type="image/png")
    return c.post(f"/api/consultations/rooms/{r.id}/{what}", {"file": upload, "id": "matrix1"}, **h)


def _room_invite(c, h, r):
    body = {"usernames": [r.invitee]}
    return _json(c, "post", f"/api/consultations/rooms/{r.id}/participants", h, body, "application/json")


def _room_remove(c, h, r):
    """Invite the neurologist, then remove her (a refused caller is refused at the first step or the second)."""
    invited = _room_invite(c, h, r)
    if invited.status_code != 201:
        return invited
    return c.delete(f"/api/consultations/rooms/{r.id}/participants/{r.invitee_id}", **h)


PATIENTS = {"patient", "golden"}
SITE_PATIENTS = {"a_patient", "b_patient", "shared_patient"}
# $match answers with the golden Patient to those who may read it (the platform operator) and with the site
# Patients otherwise; the shared patient is known at one site only, so it has no golden record.
MATCH = {actor: SEES[actor] & SITE_PATIENTS for actor in ACTORS} | {"superuser": {"shared_patient"}}
# The audit trail: hub auditors and the platform operator read all of it, a site administrator the events
# about their own site's patients (the shared patient is county A's), nobody else any.
AUDIT = {"site_admin": {"a_patient", "shared_patient"}} | {
    actor: SITE_PATIENTS | {"golden"} for actor in ("auditor", "superuser")
}
CLINICAL = {"patient", "clinical", "golden", "workflow"}
ALL = CLINICAL | {"directory"}
ROWS = [
    Row("read", ALL, lambda c, h, r: c.get(f"/fhir/{r.ref}", **h)),
    Row("vread", ALL, lambda c, h, r: c.get(f"/fhir/{r.ref}/_history/1", **h)),
    Row("history", ALL, lambda c, h, r: c.get(f"/fhir/{r.ref}/_history", **h)),
    Row("type history", ALL, lambda c, h, r: c.get(f"/fhir/{r.resource_type}/_history?_count=1000", **h), FIND),
    Row("search _id", ALL, lambda c, h, r: c.get(f"/fhir/{r.resource_type}?_id={r.id}", **h), FIND),
    Row("search _content", ALL, lambda c, h, r: c.get(f"/fhir/{r.resource_type}?_content={r.marker}", **h), FIND),
    Row(
        "count",
        ALL,
        lambda c, h, r: c.get(f"/fhir/{r.resource_type}?_id={r.id}&_summary=count", **h),
        FIND,
        shown=lambda payload, r: isinstance(payload, dict) and payload.get("total") == 1,
    ),
    Row("system search _type", ALL, lambda c, h, r: c.get(f"/fhir?_type={r.resource_type}&_id={r.id}", **h), FIND),
    Row(
        "_include",
        {"patient"},
        lambda c, h, r: c.get(f"/fhir/Observation?subject=Patient/{r.id}&_include=Observation:subject", **h),
        FIND,
        needs={"Observation"},
    ),
    Row(
        "_revinclude",
        {"clinical"},
        lambda c, h, r: c.get("/fhir/Patient?_revinclude=Observation:subject&_count=1000", **h),
        FIND,
    ),
    Row("_revinclude=*", {"clinical", "workflow"}, lambda c, h, r: c.get("/fhir/Patient?_revinclude=*", **h), FIND),
    Row(
        "_has",
        {"patient"},
        lambda c, h, r: c.get(f"/fhir/Patient?_has:Observation:subject:_id={r.obs}", **h),
        FIND,
        needs={"Observation"},
    ),
    Row("chain", {"clinical"}, lambda c, h, r: c.get(f"/fhir/Observation?subject:Patient._id={r.patient}", **h), FIND),
    Row("$everything", {"patient"}, lambda c, h, r: c.get(f"/fhir/{r.ref}/$everything", **h)),
    Row("$match", {"patient"}, _match, MATCH),
    Row("batch GET", ALL, _batch_get, FIND),
    Row("batch search", ALL, _batch_search, FIND),
    Row("$export", ALL, _export, FIND),
    Row("Subscription $events", ALL, _subscribed_events, SUBSCRIBED),
    Row("record view", {"patient"}, lambda c, h, r: c.get(f"/federation/patients/{r.id}/record", **h), RECORD_VIEW),
    Row("PATCH", ALL, _patch, WRITE),
    Row("PUT", ALL, _put, WRITE),
    Row("conditional PUT", ALL, _conditional_put, WRITE),
    Row("transaction PUT", ALL, _transaction_put, WRITE),
    Row("DELETE", ALL, lambda c, h, r: c.delete(f"/fhir/{r.ref}", **h), WRITE),
    Row("conditional DELETE", ALL, lambda c, h, r: c.delete(f"/fhir/{r.resource_type}?_id={r.id}", **h), WRITE),
    Row("referral API detail", {"referral"}, lambda c, h, r: c.get(f"/api/referrals/{r.id}", **h), REFERRAL_API),
    Row("referral API list", {"referral"}, lambda c, h, r: c.get("/api/referrals/", **h), REFERRAL_API),
    Row("referral page", {"referral"}, lambda c, h, r: c.get(f"/referrals/{r.id}/", **h), REFERRAL_API),
    # hardening: the dashboard's API and exports, /metrics, the signatures API
    Row("dashboard API", {"dashboard"}, lambda c, h, r: _dashboard(c, h, r, ""), DASHBOARD),
    Row("dashboard CSV", {"dashboard"}, lambda c, h, r: _dashboard(c, h, r, "export.csv"), DASHBOARD),
    Row("dashboard XLSX", {"dashboard"}, lambda c, h, r: _dashboard(c, h, r, "export.xlsx"), DASHBOARD),
    Row("dashboard page", {"dashboard"}, lambda c, h, r: _dashboard(c, h, r, "", page=True), DASHBOARD),
    Row("/metrics", {"dashboard"}, lambda c, h, r: _metrics(c, h), {}),  # scrapers only: no actor here is one
    Row(
        "signing keys",
        {"signing_key"},
        lambda c, h, r: c.get("/api/signatures/keys?limit=200", **h),
        USERS_SEE,
        shown=lambda p, r: isinstance(p, dict) and any(k.get("key") == r.id for k in p.get("results", [])),
    ),
    Row(
        "signing key",
        {"signing_key"},
        lambda c, h, r: c.get(f"/api/signatures/keys/{r.id}", **h),
        USERS_SEE,
        shown=lambda p, r: isinstance(p, dict) and p.get("key") == r.id,
    ),
    Row(
        "opinion verification",
        {"opinion"},
        lambda c, h, r: c.get(f"/api/signatures/opinions/{r.id}", **h),
        OPINION,
        shown=lambda p, r: isinstance(p, dict) and p.get("opinion") == r.id and p.get("valid") is True,
    ),
    Row("OAuth application pages", {"dashboard"}, lambda c, h, r: _oauth_pages(c, h), {"superuser": {"dashboard"}}),
    # outbox: dead letters (county A's administrator sees county A's, the platform operator all) and notifications
    Row("outbox deliveries API", {"delivery"}, lambda c, h, r: c.get("/api/outbox/deliveries/", **h), DELIVERIES),
    Row("outbox dead-letter page", {"delivery"}, lambda c, h, r: c.get("/outbox/", **h), DELIVERIES),
    Row(
        "outbox re-send",
        {"delivery"},
        lambda c, h, r: c.post(f"/api/outbox/deliveries/{r.id}/resend", **h),
        DELIVERIES,
        shown=lambda payload, r: isinstance(payload, dict) and payload.get("id") == int(r.id),
    ),
    Row("notifications API", {"notification"}, lambda c, h, r: c.get("/api/notifications/", **h), NOTIFICATIONS),
    Row(
        "notifications mark read",
        {"notification"},
        lambda c, h, r: c.post("/api/notifications/read", {"ids": [int(r.id)]}, content_type="application/json", **h),
        NOTIFICATIONS,
        shown=lambda payload, r: payload == {"marked": 1},
    ),
    Row(
        "AuditEvent search",
        PATIENTS,
        lambda c, h, r: c.get(f"/fhir/AuditEvent?patient={r.ref}&_count=5", **h),
        AUDIT,
        shown=_audit_shown,
    ),
    Row("AuditEvent read", PATIENTS, _audit_read, AUDIT, shown=_audit_shown),
    Row("patient search (new request)", {"patient"}, _patient_search, PATIENT_SEARCH, shown=_in_page),
    Row("attached file (request page)", {"upload"}, _attached_file, ATTACHED_FILE, shown=_png_shown),
    # records (hub/records): identifiers in full, one record as the record shows it, a record's file
    Row(
        "record reveal",
        {"patient"},
        lambda c, h, r: c.post(f"/records/patients/{r.id}/reveal", **h),
        RECORD_VIEW,
        shown=lambda payload, r: isinstance(payload, dict) and payload.get("patient") == r.ref,
    ),
    Row(
        "record item",
        {"clinical"},
        lambda c, h, r: c.get(f"/records/items/{r.ref}/", **h),
        RECORD_VIEW,
        shown=lambda payload, r: isinstance(payload, str) and f'class="rec rec-item" data-ref="{r.ref}"' in payload,
    ),
    # An Observation has no file: nobody gets one (the files themselves: tests/hub/records).
    Row("record file", {"clinical"}, lambda c, h, r: c.get(f"/records/items/{r.ref}/content/0", **h), {}),
    Row(
        "record DICOMweb",
        {"clinical"},
        lambda c, h, r: c.get(f"/records/items/ImagingStudy/{r.id}/instances/0", **h),
        {},
    ),
    Row(
        "device live API",
        {"patient"},
        lambda c, h, r: c.get(f"/api/devices/patients/{r.id}/live", **h),
        DEVICE_LIVE,
        shown=lambda payload, r: isinstance(payload, dict) and payload.get("patient") == r.ref,
    ),
    Row(
        "device strip API",
        {"patient"},
        lambda c, h, r: _json(
            c, "post", f"/api/devices/patients/{r.id}/strips", h, {"device": "x", "wave": "ecg2"}, "application/json"
        ),
        {},  # nobody: no wave has been received (those who may see the patient learn only "no such device")
    ),
    Row(
        "device limits API",
        {"patient"},
        lambda c, h, r: _json(
            c, "put", f"/api/devices/patients/{r.id}/thresholds/hr", h, {"low": 45, "high": 125}, "application/json"
        ),
        DEVICE_LIMITS,
        shown=_limits_stored,
    ),
    Row("device limits page", {"patient"}, _limits_page, DEVICE_LIMITS, shown=_limits_stored),
    Row("device limits reset API", {"patient"}, _limits_reset, DEVICE_LIMITS, shown=_limits_reset_done),
    Row(
        "device ingest",
        {"patient"},
        _device_ingest,
        DEVICE_INGEST,
        shown=lambda payload, r: isinstance(payload, dict) and payload.get("accepted") == 1,
    ),
    # The consultation room (hub/consultations): its participants only; everyone else learns nothing of it.
    Row(
        "room open",
        {"room"},
        lambda c, h, r: _done(c.post(f"/api/consultations/referrals/{r.referral}/room", **h)),
        ROOM,
        shown=_room_shown,
    ),
    Row("room API", {"room"}, lambda c, h, r: c.get(f"/api/consultations/rooms/{r.id}", **h), ROOM, shown=_room_shown),
    Row(
        "room log",
        {"room"},
        lambda c, h, r: c.get(f"/api/consultations/rooms/{r.id}/events", **h),
        ROOM,
        shown=lambda p, r: r.marker in json.dumps(p or {}, ensure_ascii=False),
    ),
    Row(
        "room page",
        {"room"},
        lambda c, h, r: _page(c.get(f"/consultations/rooms/{r.id}/", **h), r),
        ROOM,
        shown=lambda p, r: p and p.get("shown"),
    ),
    Row(
        "room record",
        {"room"},
        lambda c, h, r: c.get(f"/api/consultations/rooms/{r.id}/records/{r.obs_ref}", **h),
        ROOM,
        shown=lambda p, r: isinstance(p, dict) and f"Observation/{p.get('id')}" == r.obs_ref,
    ),
    Row(
        "room ICE servers",
        {"room"},
        lambda c, h, r: c.get(f"/api/consultations/rooms/{r.id}/ice-servers", **h),
        ROOM,
        shown=lambda p, r: isinstance(p, dict) and "ice_servers" in p,
    ),
    Row(
        "room attachment",
        {"room"},
        lambda c, h, r: _done(_room_file(c, h, r, "attachments")),
        ROOM,
        shown=lambda p, r: isinstance(p, dict) and p.get("kind") == "chat",
    ),
    Row(
        "room snapshot",
        {"room"},
        lambda c, h, r: _done(_room_file(c, h, r, "snapshots")),
        ROOM,
        shown=lambda p, r: isinstance(p, dict) and p.get("kind") == "snapshot",
    ),
    Row("room invite", {"room"}, lambda c, h, r: _done(_room_invite(c, h, r)), ROOM_OWNER, shown=_room_shown),
    Row(
        "room remove",
        {"room"},
        lambda c, h, r: _done(_room_remove(c, h, r)),
        ROOM_OWNER,
        shown=lambda p, r: isinstance(p, dict) and p.get("removed"),
    ),
    Row(
        "room end",
        {"room"},
        lambda c, h, r: _done(_json(c, "post", f"/api/consultations/rooms/{r.id}/end", h, {}, "application/json")),
        ROOM,
        shown=lambda p, r: isinstance(p, dict) and p.get("status") == "ended",
    ),
]


@pytest.fixture(autouse=True)
def _export_files(settings, tmp_path):
    settings.FHIR_EXPORT_DIR = tmp_path / "exports"


# -- the world -------------------------------------------------------------------------------------------------
_WORLD: World | None = None


def _current(record: Record) -> dict:
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL_ACTOR

    return services.resource_read(resource_type=record.resource_type, fhir_id=record.id, actor=INTERNAL_ACTOR)


def _build() -> World:
    from django.contrib.auth.models import Permission
    from django.utils.timezone import now

    from federation.auth.services import site_client_create
    from federation.identity.features import patient_features
    from federation.identity.matching import LinkItem, records_link
    from federation.identity.services import goldens_publish
    from federation.sites.constants import SiteKind, Specialty
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL_ACTOR, SYNC, Actor
    from hub.accounts.services import api_token_create
    from hub.referrals import services as referrals
    from tests.factories import DepartmentFactory, SiteFactory, UserFactory, patient_resource
    from tests.federation.conftest import _basic

    alliance = SiteFactory(code="alliance", kind=SiteKind.ALLIANCE, parent=None)
    general = SiteFactory(code="general", kind=SiteKind.GENERAL, parent=alliance)
    county_a = SiteFactory(code="county-a", kind=SiteKind.COUNTY, parent=alliance)
    SiteFactory(code="county-b", kind=SiteKind.COUNTY, parent=alliance)
    cardiology = DepartmentFactory(site=general, code="cardiology", specialty=Specialty.CARDIOLOGY)
    neurology = DepartmentFactory(site=general, code="neurology", specialty=Specialty.NEUROLOGY)
    users = {
        "county_doctor": UserFactory(username="m_li", role="county_doctor", site=county_a),
        "specialist": UserFactory(username="m_zhang", role="specialist", site=general, department=cardiology),
        "other_specialist": UserFactory(username="m_zhou", role="specialist", site=general, department=neurology),
        "site_admin": UserFactory(username="m_admin_a", role="site_admin", site=county_a, is_staff=True),
        "official": UserFactory(username="m_wang", role="official", site=alliance),
        "auditor": UserFactory(username="m_auditor", role="", site=None),
        "superuser": UserFactory(username="m_root", role="", site=None, is_superuser=True, is_staff=True),
    }
    users["auditor"].user_permissions.add(Permission.objects.get(codename="audit_all"))

    def stored(key, resource, owner, kinds, *, actor=INTERNAL_ACTOR):
        marker = f"matrix{key.replace('_', '')}marker"
        resource["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{marker}</div>'}
        if "id" in resource:
            result = services.resource_update(
                resource_type=resource["resourceType"], fhir_id=resource["id"], resource=resource, actor=actor
            )
        else:
            result = services.resource_create(resource=resource, actor=actor, owner=owner)
        return Record(key, resource["resourceType"], result.resource["id"], marker, kinds)

    def observation(patient: Record) -> dict:
        return {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": patient.ref},
            "valueQuantity": {"value": 88, "unit": "/min"},
        }

    records: dict[str, Record] = {}
    for key, site, seed in (
        ("a_patient", "county-a", 31),
        ("b_patient", "county-b", 31),
        ("shared_patient", "county-a", 33),
    ):
        body = {**patient_resource(seed, mrn_system=f"urn:site:{site}:mrn"), "id": f"{site}-m{seed}"}
        records[key] = stored(key, body, site, {"patient"}, actor=Actor(kind=SYNC, id=f"sync:{site}", site=site))
    for key, patient in (("a_obs", "a_patient"), ("b_obs", "b_patient"), ("shared_obs", "shared_patient")):
        records[key] = stored(key, observation(records[patient]), records[patient].id.rsplit("-m", 1)[0], {"clinical"})
    for key, owner in (("org_a", "county-a"), ("org_b", "county-b")):
        records[key] = stored(key, {"resourceType": "Organization", "name": f"org {key}"}, owner, {"directory"})
    # The same person at county A and county B: one golden record (owned by the master patient index).
    items = [
        LinkItem(site_code=site, patient_id=records[key].id, features=patient_features(_current(records[key])))
        for key, site in (("a_patient", "county-a"), ("b_patient", "county-b"))
    ]
    report = records_link(items=items)
    goldens_publish(golden_ids=sorted(report.golden_ids))
    from federation.identity.models import MpiRecord

    golden_uid = str(MpiRecord.objects.get(patient_id=records["a_patient"].id).golden.uid)
    records["golden"] = Record("golden", "Patient", golden_uid, "", {"golden"})
    from hub.referrals.services.uploads import upload_check, uploads_store
    from tests.hub.referrals.test_patient_search_and_files import png

    photo = upload_check(name="ecg.png", data=png())
    [media] = uploads_store(actor=users["county_doctor"], patient_ref=records["shared_patient"].ref, uploads=[photo])
    referral = referrals.referral_create(
        requester=users["county_doctor"],
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=records["shared_patient"].ref,
        clinical_question="胸痛待查",
        consent=referrals.ConsentGiven(),
        attachments=[media],
    )
    records["upload"] = Record("upload", "Media", media.split("/")[1], "", {"upload"})
    records["upload"].referral = referral.pk
    records["task"] = Record("task", "Task", referral.task_id, "", {"workflow"})
    records["referral"] = Record("referral", "Referral", str(referral.pk), "胸痛待查", {"referral"})
    # hardening: county A's dashboard, Dr Zhang's signing key and an opinion he signed on the shared request
    from django.db import transaction

    from hub.referrals.models import Opinion
    from hub.signatures.services import opinion_signature_make

    records["dashboard"] = Record("dashboard", "Dashboard", "county-a", "", {"dashboard"})
    with transaction.atomic():
        opinion = Opinion(
            referral=referral, author=users["specialist"], title="matrix", conclusion="matrix opinion", signed_at=now()
        )
        opinion.signature = opinion_signature_make(opinion=opinion)
        opinion.save()
    records["opinion"] = Record("opinion", "Opinion", str(opinion.uid), "", {"opinion"})
    key_id = opinion.signature.split(":")[1]
    records["signing_key"] = Record("signing_key", "SigningKey", key_id, "", {"signing_key"})
    from federation.outbox.models import OutboxMessage
    from hub.notifications.models import UserNotification

    now = timezone.now()
    for key, site in (("dead_letter_a", "county-a"), ("dead_letter_b", "county-b")):
        marker = f"matrix{key.replace('_', '')}marker"
        letter = OutboxMessage.objects.create(
            kind="matrix.unhandled", destination=f"site:{site}", site_code=site, subject=marker, state="dead",
            retry_from=now, next_attempt_at=now, dead_at=now, dead_reason=marker,
        )  # fmt: skip
        records[key] = Record(key, "OutboxMessage", str(letter.pk), marker, {"delivery"})
    notification = UserNotification.objects.create(
        user=users["specialist"], event="referral.routed", title="matrixnotificationmarker"
    )
    records["notification"] = Record(
        "notification", "UserNotification", str(notification.pk), "matrixnotificationmarker", {"notification"}
    )
    from hub.consultations import services as rooms

    room = rooms.room_open(referral_id=referral.pk, actor=users["county_doctor"])
    rooms.message_post(room_id=room.pk, actor=users["county_doctor"], text="matrixroommarker", client_id="m1")
    records["room"] = Record("room", "Room", str(room.pk), "matrixroommarker", {"room"})
    for record in records.values():  # the search rows need a patient and an observation for each record
        record.patient = records.get(record.key.replace("obs", "patient"), record).id
        record.obs = records.get(record.key.replace("patient", "obs"), record).id
    room_record = records["room"]
    room_record.referral, room_record.obs_ref = referral.pk, records["shared_obs"].ref
    room_record.invitee, room_record.invitee_id = users["other_specialist"].username, users["other_specialist"].pk

    headers = {}
    for actor, user in users.items():
        headers[actor] = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='matrix')[1]}"}
    client = Client()
    for actor, scopes in (
        ("site_system", ["system/*.read", "system/*.write"]),
        ("narrow_system", ["system/Patient.read"]),
    ):
        _c, client_id, secret = site_client_create(site=county_a, name=actor, scopes=scopes)
        token = client.post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": " ".join(scopes)},
            HTTP_AUTHORIZATION=_basic(client_id, secret),
        ).json()["access_token"]
        headers[actor] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    headers["anonymous"] = {}
    watch = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "matrix",
        "criteria": "Observation?code=8867-4",
        "channel": {"type": "websocket"},
    }
    watched = _json(client, "post", "/fhir/Subscription", headers["county_doctor"], watch)
    assert watched.status_code == 201, watched.content
    return World(
        records=records,
        headers=headers,
        users=users,
        referral_id=referral.pk,
        subscription_id=watched.json()["id"],
    )


def _snapshot() -> dict[str, int | None]:
    """Each table's largest id (None: empty), to take the world away afterwards."""
    out = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            if cursor.fetchone()[0] == 0:
                out[table] = None
                continue
            columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            if "id" in columns:
                cursor.execute(f'SELECT max(id) FROM "{table}"')
                out[table] = cursor.fetchone()[0]
            else:
                out[table] = -1
    return out


def _restore(before: dict[str, int | None]) -> None:
    empty = [table for table, top in before.items() if top is None]
    with connection.cursor() as cursor:
        if empty:
            cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in empty) + " CASCADE")
        for table, top in before.items():
            if top not in (None, -1):
                cursor.execute(f'DELETE FROM "{table}" WHERE id > %s', [top])


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    from django.core.cache import cache

    from hub.access import actors

    with django_db_blocker.unblock():
        before = _snapshot()
        try:
            built = _build()
            yield built
        finally:
            _restore(before)
            actors._USERS.clear()
            cache.clear()


def _cases():
    for row in ROWS:
        for actor in ACTORS:
            yield pytest.param(row, actor, id=f"{row.name}-{actor}")


# -- the assertions --------------------------------------------------------------------------------------------
DENIED = (302, 401, 403, 404)  # 302: a page sends the anonymous to the login page


@pytest.mark.parametrize(("row", "actor"), list(_cases()))
def test_matrix(db, world, row, actor):
    client = Client()
    headers = world.headers[actor]
    failures = []
    for record in world.records.values():
        if not (record.kinds & row.kinds):
            continue
        before = _version(record)
        response = row.call(client, headers, record)
        problem = _judge(row, record, response, row.expected(actor, record), before)
        if problem:
            failures.append(f"{record.key} ({record.ref}): {problem}")
    assert not failures, f"{row.name} as {actor}:\n  " + "\n  ".join(failures)


def _version(record: Record) -> str | None:
    if record.resource_type in ("Referral", "OutboxMessage", "UserNotification", "Room"):
        return None
    from fhir_gateway.models import Resource

    row = Resource.objects.filter(resource_type=record.resource_type, fhir_id=record.id).first()
    return None if row is None else f"{row.version_id}{row.deleted}"


def _resources(payload, found: set) -> set:
    """Every (type, id) of a resource anywhere in a JSON answer (entries, nested Bundles)."""
    if isinstance(payload, dict):
        if isinstance(payload.get("resourceType"), str) and isinstance(payload.get("id"), str):
            found.add((payload["resourceType"], payload["id"]))
        for value in payload.values():
            _resources(value, found)
    elif isinstance(payload, list):
        for value in payload:
            _resources(value, found)
    return found


def _shows(row: Row, record: Record, body: str) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if record.key == "referral":
        if payload is None:
            return record.marker in body  # a page
        items = payload.get("results", [payload]) if isinstance(payload, dict) else []
        return any(isinstance(item, dict) and item.get("id") == int(record.id) for item in items)
    if row.shown is not None:
        return bool(row.shown(payload if payload is not None else body, record))
    if record.resource_type in ("OutboxMessage", "UserNotification"):
        if payload is None:
            return record.marker in body  # a page
        items = payload.get("results", [payload]) if isinstance(payload, dict) else []
        return any(isinstance(item, dict) and item.get("id") == int(record.id) for item in items)
    return (record.resource_type, record.id) in _resources(payload, set())


def _judge(row: Row, record: Record, response, allowed: bool, before) -> str:
    status, body = response.status_code, response.content.decode(errors="replace")
    if status >= 500:
        return f"{status} {body[:200]}"
    if row.judge == WRITE:
        changed = _version(record) != before
        if allowed and not (status < 300 and changed):
            return f"owner lost the write: {status} {body[:200]}"
        if not allowed and (changed or f'"id":"{record.id}"' in body.replace(" ", "")):
            return f"LEAK: {status}, changed={changed}, {body[:200]}"
        return ""
    shows = _shows(row, record, body)
    if allowed and not (status == 200 and shows):
        return f"access lost: {status} {body[:300]}"
    if not allowed and shows:
        return f"LEAK: {status} {body[:300]}"
    if not allowed and row.judge == SEE and status not in DENIED:
        return f"refused with {status}"
    return ""


# -- the notifications websocket -------------------------------------------------------------------------------
# Each case: a message about the shared referral, sent to every actor; only those who may see the request
# receive it (the rest get nothing, not even that it exists).
NOTIFIED = {"county_doctor", "specialist"}


async def test_notifications_reach_only_those_who_may_see_the_request(db, world):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from hub.asgi import application
    from hub.referrals.models import Referral
    from hub.referrals.services.common import referral_notify

    sockets = {}
    for actor in ACTORS:
        if actor in world.users:
            raw = [
                (b"origin", b"http://127.0.0.1"),
                (b"authorization", world.headers[actor]["HTTP_AUTHORIZATION"].encode()),
            ]
            sockets[actor] = WebsocketCommunicator(application, "/ws/notifications/", headers=raw)
            assert (await sockets[actor].connect())[0], actor

    def send() -> None:
        referral = Referral.objects.select_related("requesting_site", "owner").get(pk=world.referral_id)
        referral_notify(referral=referral, event="referral.matrix", recipients=list(world.users.values()), title="t")

    try:
        await database_sync_to_async(send)()
        for actor, socket in sockets.items():
            if actor in NOTIFIED:
                message = await socket.receive_json_from(timeout=5)
                assert message["referral"]["id"] == world.referral_id, actor
            else:
                assert await socket.receive_nothing(timeout=0.2), f"{actor} was told of a request it may not see"
    finally:
        for socket in sockets.values():
            await socket.disconnect()
        await database_sync_to_async(connections.close_all)()


async def test_a_resume_replays_only_the_callers_own_notifications(db, world):
    """The notification socket's ``resume`` message (and ``?since=``): each actor gets its own, nobody else's."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from hub.asgi import application
    from hub.notifications.models import UserNotification

    notification_id = int(world.records["notification"].id)
    since = notification_id - 1

    def own(user) -> set[int]:
        return set(UserNotification.objects.filter(user=user, pk__gt=since).values_list("pk", flat=True))

    try:
        for actor in ACTORS:
            if actor not in world.users:
                continue
            expected = await database_sync_to_async(own)(world.users[actor])
            assert (notification_id in expected) is (actor in NOTIFICATIONS)
            raw = [(b"authorization", world.headers[actor]["HTTP_AUTHORIZATION"].encode())]
            for path in ("/ws/notifications/", f"/ws/notifications/?since={since}"):
                socket = WebsocketCommunicator(application, path, headers=raw)
                assert (await socket.connect())[0], actor
                await socket.send_json_to({"type": "resume", "since": since})
                received = set()
                while not await socket.receive_nothing(timeout=0.3):
                    received.add((await socket.receive_json_from(timeout=5))["id"])
                assert received == expected, f"{actor} got {received}, its own are {expected}"
                await socket.disconnect()
    finally:
        await database_sync_to_async(connections.close_all)()


# -- the live device websocket ---------------------------------------------------------------------------------
LIVE_ADMITTED = {"county_doctor", "specialist", "site_admin", "superuser"}


async def test_the_live_device_websocket_admits_only_those_who_may_read_the_patient(db, world):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from hub.asgi import application

    patient = world.records["shared_patient"]
    try:
        for actor in ACTORS:
            raw = [(b"origin", b"http://127.0.0.1")]
            if world.headers[actor]:
                raw.append((b"authorization", world.headers[actor]["HTTP_AUTHORIZATION"].encode()))
            socket = WebsocketCommunicator(application, f"/ws/devices/patients/{patient.id}/", headers=raw)
            connected, _code = await socket.connect(timeout=5)
            assert connected == (actor in LIVE_ADMITTED), actor
            if connected:
                snapshot = await socket.receive_json_from(timeout=5)
                assert snapshot["type"] == "snapshot" and snapshot["patient"] == patient.ref
                await socket.disconnect()
    finally:
        await database_sync_to_async(connections.close_all)()


# -- the FHIR Subscriptions websocket ----------------------------------------------------------------------------
async def test_a_subscription_websocket_binds_its_subscriber_and_nobody_else(db, world):
    """Every actor (bearer token, no Origin: not a browser) asks to bind Dr Li's websocket Subscription."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from hub.asgi import application

    try:
        for actor in ACTORS:
            raw = (
                [(b"authorization", world.headers[actor]["HTTP_AUTHORIZATION"].encode())]
                if world.headers[actor]
                else []
            )
            socket = WebsocketCommunicator(application, "/ws/fhir-subscriptions/", headers=raw)
            connected, _code = await socket.connect()
            if actor == "anonymous":
                assert not connected, "an anonymous websocket was accepted"
                continue
            assert connected, actor
            await socket.send_to(text_data=f"bind-with-id: {world.subscription_id}")
            answer = await socket.receive_from(timeout=5)
            if actor == "county_doctor":
                assert answer == f"bound {world.subscription_id}"
            else:
                assert answer.startswith("error ") and world.subscription_id in answer, f"{actor}: {answer}"
            await socket.disconnect()
    finally:
        await database_sync_to_async(connections.close_all)()


def test_the_device_registry_is_for_the_sites_administrator(db, world):
    from hub.devices.models import Device

    _monitor_of(world.records["a_patient"])
    _monitor_of(world.records["b_patient"])
    client = Client()
    for actor in ACTORS:
        answer = client.get("/api/devices/", **world.headers[actor])
        keys = {d["site"] for d in answer.json().get("results", [])} if answer.status_code == 200 else set()
        expected = {"site_admin": {"county-a"}, "superuser": {"county-a", "county-b"}}.get(actor, set())
        assert keys == expected, (actor, answer.status_code, keys)
    assert Device.objects.count() == 2


# -- the consultation room's websocket -------------------------------------------------------------------------
# Only the room's participants open its socket (every message type goes through it after "join"); the others
# are closed before anything is sent, with the one answer a missing room gets (4404).


async def test_the_room_socket_admits_only_its_participants_and_their_messages_reach_only_them(db, world):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from hub.asgi import application
    from hub.consultations.constants import CLOSE_NOT_FOUND

    room_id = world.records["room"].id
    admitted = {}
    try:
        for actor in ACTORS:
            raw = [(b"origin", b"http://127.0.0.1")]
            if "HTTP_AUTHORIZATION" in world.headers[actor]:
                raw.append((b"authorization", world.headers[actor]["HTTP_AUTHORIZATION"].encode()))
            socket = WebsocketCommunicator(application, f"/ws/consultations/rooms/{room_id}/", headers=raw)
            connected, code = await socket.connect(timeout=5)
            if actor in ROOM:
                assert connected, f"{actor} refused with {code}"
                admitted[actor] = socket
                await socket.send_json_to({"type": "join", "session": f"matrix-{actor}", "device": {"kind": "pc"}})
                while (await socket.receive_json_from(timeout=5))["type"] != "state":
                    pass
            else:
                assert not connected and code == CLOSE_NOT_FOUND, f"{actor} was let into the room ({code})"
                await socket.disconnect()
        await admitted["county_doctor"].send_json_to({"type": "chat", "id": "matrix-ws", "text": "matrixwsmarker"})
        specialist = admitted["specialist"]
        while True:
            frame = await specialist.receive_json_from(timeout=5)
            if frame["type"] == "event" and frame["kind"] == "chat":
                assert frame["data"]["text"] == "matrixwsmarker"
                break
    finally:
        for socket in admitted.values():
            await socket.send_json_to({"type": "leave"})
            await socket.disconnect()
        await database_sync_to_async(connections.close_all)()


async def test_the_room_sfu_frame_gives_each_participant_their_own_access_and_no_one_else_any(db, world, janus):
    """The ``sfu`` frame (a real Janus, ``tests/conftest.py``): every other actor is closed at the socket; each
    participant gets an access token of their own that Janus takes for this room, and Janus takes no other."""
    from channels.testing import WebsocketCommunicator

    from hub.asgi import application
    from hub.consultations.constants import CLOSE_NOT_FOUND
    from tests.hub.consultations.test_room_janus import Browser, JanusRefused

    room_id = world.records["room"].id
    frames = {}
    for actor in ACTORS:
        raw = [(b"origin", b"http://127.0.0.1")]
        if "HTTP_AUTHORIZATION" in world.headers[actor]:
            raw.append((b"authorization", world.headers[actor]["HTTP_AUTHORIZATION"].encode()))
        socket = WebsocketCommunicator(application, f"/ws/consultations/rooms/{room_id}/", headers=raw)
        connected, code = await socket.connect(timeout=5)
        if actor not in ROOM:
            assert not connected and code == CLOSE_NOT_FOUND, f"{actor} was let into the room ({code})"
            await socket.disconnect()
            continue
        await socket.send_json_to({"type": "join", "session": f"matrix-sfu-{actor}", "device": {"kind": "pc"}})
        await socket.send_json_to({"type": "sfu"})
        while (frame := await socket.receive_json_from(timeout=10))["type"] not in ("sfu", "error"):
            pass
        assert frame["type"] == "sfu", (actor, frame)
        frames[actor] = frame
        await socket.send_json_to({"type": "leave"})
        await socket.disconnect()
    assert set(frames) == set(ROOM)
    assert len({f["access"] for f in frames.values()}) == len(frames)  # one access token per participant

    def joins(frame, access) -> bool:
        try:
            Browser(janus["api_url"], frame["token"]).join(frame, access=access)
        except JanusRefused:
            return False
        return True

    for frame in frames.values():
        assert joins(frame, frame["access"])
        assert not joins(frame, "not-on-the-list")
