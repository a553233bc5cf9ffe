"""The lean read path answers exactly as the full Django path does, and is audited the same way."""

from __future__ import annotations

import base64
from urllib.parse import quote

import orjson
import pytest

from federation.auth.services import site_client_create
from fhir_gateway import services
from fhir_gateway.api import lean
from fhir_gateway.api.asgi import WsgiThreadApp
from fhir_gateway.context import INTERNAL, Actor
from hub.audit.models import AuditEvent
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db(transaction=True)
AUDITED = ("action", "status", "success", "actor_kind", "actor_id", "actor_site", "resource_type", "fhir_id")


def _scope(path: str, authorization: str | None, *headers: tuple[bytes, bytes], query: bytes = b"") -> dict:
    base = [(b"host", b"testserver")]
    if authorization is not None:
        base.append((b"authorization", authorization.encode()))
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "http_version": "1.1",
        "headers": [*base, *headers],
        "server": ("testserver", 80),
    }


def _audit_rows(since: int) -> list[tuple]:
    return [tuple(getattr(row, f) for f in AUDITED) for row in AuditEvent.objects.filter(pk__gt=since).order_by("pk")]


def _both(scope: dict):
    """(lean answer, its audit rows), (full answer, its audit rows)."""
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    lean_answer = lean.serve(scope)
    lean_rows = _audit_rows(mark)
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    full_answer = WsgiThreadApp(threads=1)._run(scope, b"")
    return (lean_answer, lean_rows), (full_answer, _audit_rows(mark))


def _same(lean_answer, full_answer) -> None:
    status, headers, body = lean_answer
    full_status, full_headers, full_body = full_answer
    assert status == full_status
    assert body == full_body
    assert sorted(headers) == sorted(full_headers)


@pytest.fixture
def stored(county_a, county_b):
    at_a = Actor(kind=INTERNAL, id="test", display="test", site="county-a")
    services.resource_update(resource_type="Patient", fhir_id="lean-a", resource=patient(id="lean-a"), actor=at_a)
    services.resource_update(resource_type="Patient", fhir_id="gone-a", resource=patient(id="gone-a"), actor=at_a)
    services.resource_delete(resource_type="Patient", fhir_id="gone-a", actor=at_a)
    return services.resource_read_stored(resource_type="Patient", fhir_id="lean-a", actor=at_a)[0]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/fhir/Patient/lean-a", ()),
        ("/fhir/Patient/lean-a", ((b"accept", b"application/json"),)),
        ("/fhir/Patient/lean-a", ((b"accept-language", b"en-US,en;q=0.8"),)),
        ("/fhir/Patient/lean-a", ((b"if-none-match", b'W/"1"'),)),
        ("/fhir/Patient/lean-a", ((b"if-none-match", b'W/"7"'),)),
        ("/fhir/Patient/lean-a", ((b"if-modified-since", b"Sat, 01 Jan 2000 00:00:00 GMT"),)),
        ("/fhir/Patient/nobody", ((b"accept-language", b"zh-CN"),)),
        ("/fhir/Patient/nobody", ((b"accept-language", b"en"),)),
        ("/fhir/Patient/gone-a", ()),
        ("/fhir/Patiens/lean-a", ()),
    ],
)
def test_a_plain_read_is_answered_and_audited_as_the_full_path_does(
    stored, dr_li_at_county_a, token_for, path, headers
):
    authorization = token_for(dr_li_at_county_a)["HTTP_AUTHORIZATION"]
    (lean_answer, lean_rows), (full_answer, full_rows) = _both(_scope(path, authorization, *headers))
    assert lean_answer is not None, "an eligible read took the full path"
    _same(lean_answer, full_answer)
    assert lean_rows == full_rows and len(lean_rows) == (0 if "Patiens" in path else 1)


@pytest.mark.parametrize(
    ("path", "query", "headers"),
    [
        ("/fhir/Patient", b"", ()),
        ("/fhir/Patient", b"_id=lean-a", ((b"accept", b"application/json"),)),
        ("/fhir/Patient", "name=王&_count=1".encode(), ((b"accept-language", b"en"),)),
        ("/fhir/Patient", b"name=%E7%8E%8B&_total=accurate&gender=male&name=wang", ()),  # repeated: grouped
        ("/fhir/Patient", b"_summary=count", ()),
        ("/fhir/Patient", b"colour=blue&_sort=-_lastUpdated", ()),  # unknown: ignored, left out of self
        ("/fhir/Patient", b"birthdate=2020-13", ((b"accept-language", b"zh-CN"),)),  # 400
        ("/fhir/Patient", b"_count=-1", ((b"accept-language", b"en"),)),
        ("/fhir/Patiens", b"name=x", ()),  # 404
        ("/fhir/Observation", b"subject=Patient/lean-a&_include=Observation:subject", ()),
    ],
)
def test_a_type_level_search_is_answered_and_audited_as_the_full_path_does(
    stored, dr_li_at_county_a, token_for, path, query, headers
):
    authorization = token_for(dr_li_at_county_a)["HTTP_AUTHORIZATION"]
    (lean_answer, lean_rows), (full_answer, full_rows) = _both(_scope(path, authorization, *headers, query=query))
    assert lean_answer is not None, "an eligible search took the full path"
    _same(lean_answer, full_answer)
    assert lean_rows == full_rows and len(lean_rows) == (0 if "Patiens" in path else 1)


def test_a_search_by_another_site_finds_only_its_own_records_alike(stored, dr_zhao_at_county_b, token_for):
    authorization = token_for(dr_zhao_at_county_b)["HTTP_AUTHORIZATION"]
    (lean_answer, lean_rows), (full_answer, full_rows) = _both(_scope("/fhir/Patient", authorization))
    assert lean_answer[0] == 200 and "entry" not in orjson.loads(lean_answer[2])
    _same(lean_answer, full_answer)
    assert lean_rows == full_rows


def test_another_sites_patient_is_refused_alike(stored, dr_zhao_at_county_b, token_for):
    authorization = token_for(dr_zhao_at_county_b)["HTTP_AUTHORIZATION"]
    (lean_answer, lean_rows), (full_answer, full_rows) = _both(_scope("/fhir/Patient/lean-a", authorization))
    assert lean_answer[0] in (403, 404)
    _same(lean_answer, full_answer)
    assert lean_rows == full_rows and lean_rows[0][1] == lean_answer[0]


def test_a_site_systems_oauth_token_reads_through_the_lean_path(stored, client, county_a):
    _c, client_id, secret = site_client_create(site=county_a, name="HIS", scopes=["system/Patient.read"])
    basic = base64.b64encode(f"{quote(client_id)}:{quote(secret)}".encode()).decode()
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "system/Patient.read"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    authorization = f"Bearer {response.json()['access_token']}"
    (lean_answer, lean_rows), (full_answer, full_rows) = _both(_scope("/fhir/Patient/lean-a", authorization))
    assert lean_answer[0] == 200 and orjson.loads(lean_answer[2])["id"] == "lean-a"
    _same(lean_answer, full_answer)
    assert lean_rows == full_rows and lean_rows[0][3] == "system"


@pytest.mark.parametrize(
    ("authorization", "headers", "query"),
    [
        ("Bearer ahub_not-a-real-token", (), b""),  # unknown token: the full path answers 401
        ("Bearer some-unknown-oauth-token", (), b""),
        (None, (), b""),  # no token at all
        ("Bearer {token}", ((b"accept", b"application/xml"),), b""),  # 406 is the full path's to give
        ("Bearer {token}", ((b"cookie", b"sessionid=x"),), b""),
        ("Bearer {token}", ((b"host", b"evil.example"),), b""),
        ("Bearer {token}", (), b"_summary=true"),
    ],
)
def test_anything_else_takes_the_full_path(stored, dr_li_at_county_a, token_for, authorization, headers, query):
    _declined("/fhir/Patient/lean-a", stored, dr_li_at_county_a, token_for, authorization, headers, query)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ((), b"name=x&_format=json"),
        ((), b"_pretty=true"),
        (((b"prefer", b"handling=strict"),), b"colour=blue"),
        (((b"cookie", b"sessionid=x"),), b"name=x"),
        (((b"accept", b"application/xml"),), b""),
    ],
)
def test_a_search_that_renders_or_negotiates_differently_takes_the_full_path(
    stored, dr_li_at_county_a, token_for, headers, query
):
    _declined("/fhir/Patient", stored, dr_li_at_county_a, token_for, "Bearer {token}", headers, query)


def _declined(path, stored, dr_li_at_county_a, token_for, authorization, headers, query):
    token = token_for(dr_li_at_county_a)["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    authorization = authorization.format(token=token) if authorization else None
    scope = _scope(path, authorization, *headers, query=query)
    if any(name == b"host" for name, _value in headers):
        scope["headers"] = [(n, v) for n, v in scope["headers"] if (n, v) != (b"host", b"testserver")]
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    assert not (lean.eligible(scope) and lean.serve(scope) is not None)
    assert _audit_rows(mark) == []  # declining leaves no trace: the full path audits the request once


async def test_reads_and_searches_have_lanes_of_their_own(stored, dr_li_at_county_a, token_for):
    """With the main pool's thread held by a slow request, reads and searches are still answered, and a read
    still is while the search lane is held too; a request of the full path waits for the main pool."""
    import asyncio
    import threading

    from channels.db import database_sync_to_async
    from django.db import connection

    authorization = (await database_sync_to_async(token_for)(dr_li_at_county_a))["HTTP_AUTHORIZATION"]
    app = WsgiThreadApp(threads=1, read_threads=1, search_threads=1)
    release = threading.Event()

    async def get(scope: dict) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"]

    read = _scope("/fhir/Patient/lean-a", authorization)
    search = _scope("/fhir/Patient", authorization, query=b"_id=lean-a")
    full = _scope("/fhir/Patient", authorization, query=b"_id=lean-a&_pretty=true")
    try:
        app.executor.submit(release.wait, 30)  # a slow request holding the main pool's one thread
        assert await asyncio.wait_for(get(read), 10) == 200
        assert await asyncio.wait_for(get(search), 10) == 200
        app.lanes[lean.SEARCH].submit(release.wait, 30)  # and a slow search holding the search lane
        assert await asyncio.wait_for(get(read), 10) == 200
        waiting = [asyncio.ensure_future(get(full)), asyncio.ensure_future(get(search))]
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in waiting)
    finally:
        release.set()
    assert await asyncio.wait_for(asyncio.gather(*waiting), 10) == [200, 200]

    def close() -> None:  # each pool thread's own connection
        connection.close()

    for executor in (app.executor, *app.lanes.values()):
        executor.submit(close).result()
        executor.shutdown()
