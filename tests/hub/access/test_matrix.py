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
REFERRAL_API = {"county_doctor": {"referral"}, "specialist": {"referral"}}


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


PATIENTS = {"patient", "golden"}
SITE_PATIENTS = {"a_patient", "b_patient", "shared_patient"}
# $match answers with the golden Patient to those who may read it (the platform operator) and with the site
# Patients otherwise; the shared patient is known at one site only, so it has no golden record.
MATCH = {actor: SEES[actor] & SITE_PATIENTS for actor in ACTORS} | {"superuser": {"shared_patient"}}
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
    referral = referrals.referral_create(
        requester=users["county_doctor"],
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=records["shared_patient"].ref,
        clinical_question="胸痛待查",
        consent=referrals.ConsentGiven(),
    )
    records["task"] = Record("task", "Task", referral.task_id, "", {"workflow"})
    records["referral"] = Record("referral", "Referral", str(referral.pk), "胸痛待查", {"referral"})
    for record in records.values():  # the search rows need a patient and an observation for each record
        record.patient = records.get(record.key.replace("obs", "patient"), record).id
        record.obs = records.get(record.key.replace("patient", "obs"), record).id

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
    return World(records=records, headers=headers, users=users, referral_id=referral.pk)


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
    if record.resource_type == "Referral":
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
    if row.shown is not None:  # a page (HTML) is given as its text
        return bool(row.shown(payload if payload is not None else body, record))
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
