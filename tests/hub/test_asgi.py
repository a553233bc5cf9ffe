"""The hub's ASGI application serves every HTTP request through Django's WSGI handler in a thread pool.

The same middleware stack, so the same answers as before: bearer tokens, sessions, CSRF, JSON errors;
and a request created over HTTP still reaches the routed specialist's websocket.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from tests.factories import patient_resource
from tests.hub.referrals.conftest import store

pytestmark = pytest.mark.django_db(transaction=True)


async def call(
    method: str, path: str, body: bytes = b"", headers=(), query: bytes = b""
) -> tuple[int, dict, bytes, list]:
    """One HTTP request to ``hub.asgi.application``: status, headers (last of each), body, all Set-Cookie values."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "scheme": "http",
        "http_version": "1.1",
        "headers": [(b"host", b"testserver"), *headers],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    await application(scope, receive, send)
    start = sent[0]
    content = b"".join(message.get("body", b"") for message in sent[1:])
    cookies = [value.decode() for name, value in start["headers"] if name == b"set-cookie"]
    return start["status"], dict(start["headers"]), content, cookies


def cookie_value(set_cookies: list[str], name: str) -> str:
    for header in set_cookies:
        jar = SimpleCookie(header)
        if name in jar:
            return jar[name].value
    raise AssertionError(f"no {name} cookie in {set_cookies}")


async def test_an_api_request_is_authenticated_by_its_bearer_token(token_for, dr_li_at_county_a):
    headers = await database_sync_to_async(token_for)(dr_li_at_county_a)
    bearer = [(b"authorization", headers["HTTP_AUTHORIZATION"].encode())]

    status, response_headers, body, _cookies = await call("GET", "/api/me", headers=bearer)
    assert status == 200 and response_headers[b"content-type"] == b"application/json"
    assert orjson.loads(body)["username"] == "dr_li"

    status, response_headers, body, _cookies = await call(
        "GET", "/api/me", headers=[(b"authorization", b"Bearer ahub_not-a-token")]
    )
    assert status == 401 and orjson.loads(body)["error"] == "unauthorized"
    assert response_headers[b"www-authenticate"].startswith(b"Bearer")


async def test_fhir_reads_and_searches_the_lean_path_declines_are_answered_by_the_full_path(
    token_for, dr_li_at_county_a
):
    headers = await database_sync_to_async(token_for)(dr_li_at_county_a)
    bearer = [(b"authorization", headers["HTTP_AUTHORIZATION"].encode())]
    status, _headers, body, _cookies = await call(
        "POST",
        "/fhir/Patient",
        orjson.dumps(patient_resource(1)),
        [*bearer, (b"content-type", b"application/fhir+json")],
    )
    assert status == 201
    fhir_id = orjson.loads(body)["id"]

    status, _headers, body, _cookies = await call("GET", f"/fhir/Patient/{fhir_id}", headers=bearer)  # lean
    assert status == 200 and orjson.loads(body)["id"] == fhir_id
    status, _headers, body, _cookies = await call(
        "GET", "/fhir/Patient", headers=bearer, query=f"_id={fhir_id}".encode()
    )
    assert status == 200 and [e["resource"]["id"] for e in orjson.loads(body)["entry"]] == [fhir_id]
    # Declined by the lean path, answered by the full one: the format parameter, an unknown token.
    status, response_headers, body, _cookies = await call(
        "GET", "/fhir/Patient", headers=bearer, query=f"_id={fhir_id}&_format=json".encode()
    )
    assert status == 200 and orjson.loads(body)["total"] == 1
    unknown = [(b"authorization", b"Bearer ahub_not-a-token")]
    status, _headers, body, _cookies = await call("GET", f"/fhir/Patient/{fhir_id}", headers=unknown)
    assert status == 401 and orjson.loads(body)["resourceType"] == "OperationOutcome"


async def test_a_browser_signs_in_with_csrf_and_keeps_its_session(dr_li_at_county_a):
    status, _headers, page, cookies = await call("GET", "/login/")
    assert status == 200
    csrf_cookie = cookie_value(cookies, "csrftoken")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    credentials = {"username": "dr_li", "password": "pw-for-tests"}

    # Without the form's token, CSRF protection refuses the sign-in.
    status, *_rest = await call(
        "POST", "/login/", urlencode(credentials).encode(), [*form, (b"cookie", f"csrftoken={csrf_cookie}".encode())]
    )
    assert status == 403

    status, headers, _body, cookies = await call(
        "POST",
        "/login/",
        urlencode({**credentials, "csrfmiddlewaretoken": token}).encode(),
        [*form, (b"cookie", f"csrftoken={csrf_cookie}".encode())],
    )
    assert status == 302, headers
    session = cookie_value(cookies, "sessionid")

    # The session authenticates the API; cookies sent in two headers are read as one.
    status, _headers, body, _cookies = await call(
        "GET",
        "/api/me",
        headers=[(b"cookie", f"csrftoken={csrf_cookie}".encode()), (b"cookie", f"sessionid={session}".encode())],
    )
    assert status == 200 and orjson.loads(body)["username"] == "dr_li"


async def test_an_oversized_api_body_is_refused_with_a_json_error(settings, token_for, dr_li_at_county_a):
    settings.FHIR_MAX_BODY_BYTES = 1024
    headers = await database_sync_to_async(token_for)(dr_li_at_county_a)
    status, response_headers, body, _cookies = await call(
        "POST",
        "/api/referrals/",
        b"x" * 5000,
        [(b"authorization", headers["HTTP_AUTHORIZATION"].encode()), (b"content-type", b"application/json")],
    )
    assert status == 413 and response_headers[b"content-type"] == b"application/json"
    assert orjson.loads(body)["error"] == "too_large"


async def test_a_request_created_over_http_reaches_the_routed_specialists_socket(
    token_for, dr_li_at_county_a, cardiologist_zhang, county_a
):
    patient = await database_sync_to_async(store)(patient_resource(1), owner="county-a")
    zhang_headers = await database_sync_to_async(token_for)(cardiologist_zhang)
    li_headers = await database_sync_to_async(token_for)(dr_li_at_county_a)
    socket = WebsocketCommunicator(
        application,
        "/ws/notifications/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"authorization", zhang_headers["HTTP_AUTHORIZATION"].encode())],
    )
    assert (await socket.connect())[0]

    request = {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "patient": f"Patient/{patient['id']}",
        "clinical_question": "胸痛2小时",
        "consent": {"method": "written", "given_by": "patient"},
    }
    status, _headers, body, _cookies = await call(
        "POST",
        "/api/referrals/",
        orjson.dumps(request),
        [(b"authorization", li_headers["HTTP_AUTHORIZATION"].encode()), (b"content-type", b"application/json")],
    )
    assert status == 201, body

    message = await socket.receive_json_from(timeout=5)
    assert message["event"] == "referral.routed"
    assert message["referral"]["id"] == orjson.loads(body)["id"]
    await socket.disconnect()
