"""A county site's FHIR R4 server over real HTTP, with failures on demand.

``SiteSimulator(...).start()`` serves on 127.0.0.1 (a free port unless given) from a thread; tests,
the demo and the ``simulate_site`` command use it. Failure modes: ``down`` (connections dropped),
``delay`` (slow answers), ``errors`` (the next N requests get 500), ``garbage`` (the next N requests get
200 with a body that is not FHIR: an HTML error page or JSON cut short, as a misconfigured proxy sends),
``fail_after`` (go down after N more answers, e.g. in the middle of a sync) and invalid records added
with ``invalid_add``. ``POST /$sim``
sets the same modes over HTTP.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from federation.simulator.store import SimStore

FHIR_JSON = "application/fhir+json"


@dataclass
class Failures:
    down: bool = False
    delay: float = 0.0
    errors: int = 0  # answer the next N requests with 500
    garbage: int = 0  # answer the next N requests with 200 and a body that is not FHIR JSON
    fail_after: int | None = None  # go down after N more answers


class SiteSimulator:
    """One simulated county site; ``base_url`` is its FHIR base."""

    def __init__(
        self, *, site: str, store: SimStore | None = None, port: int = 0, token: str | None = None, history: bool = True
    ):
        self.site = site
        self.history = history  # offers type-level _history (deletions reach the hub through it)
        self.store = store or SimStore()
        self.failures = Failures()
        self.token = token
        self.requests = 0
        self.received: list[dict] = []  # resources written to the site (e.g. opinions sent back)
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._port

    def start(self) -> SiteSimulator:
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"sim-{self.site}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def invalid_add(self, rid: str = "broken-1") -> dict:
        """A record the hub must refuse: an Observation without its code, whose value is not a number."""
        return self.store.put(
            {"resourceType": "Observation", "id": rid, "status": "final", "valueQuantity": {"value": "high"}}
        )

    def _gate(self) -> str | None:
        """What this request meets: None (answer it), "drop" or "error"."""
        self.requests += 1
        f = self.failures
        if f.down:
            return "drop"
        if f.fail_after is not None:
            if f.fail_after <= 0:
                f.down, f.fail_after = True, None
                return "drop"
            f.fail_after -= 1
        if f.delay:
            time.sleep(f.delay)
        if f.errors > 0:
            f.errors -= 1
            return "error"
        if f.garbage > 0:
            f.garbage -= 1
            return "garbage-html" if f.garbage % 2 else "garbage-json"
        return None


def _outcome(code: str, text: str) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


class _Handler(BaseHTTPRequestHandler):
    sim: SiteSimulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        return

    def _send(self, status: int, body: dict | None, headers: dict | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", FHIR_JSON)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None

    def _enter(self) -> tuple[list[str], dict] | None:
        parts = urlsplit(self.path)
        if parts.path == "/$sim":
            return [], {}
        gate = self.sim._gate()
        if gate == "drop":
            self.close_connection = True
            self.connection.close()
            return None
        if gate == "error":
            self._send(500, _outcome("exception", "simulated failure"))
            return None
        if gate and gate.startswith("garbage"):
            body = b"<html><body>502 Bad Gateway</body></html>" if gate == "garbage-html" else b'{"resourceType": "Bun'
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if gate == "garbage-html" else FHIR_JSON)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if self.sim.token and self.headers.get("Authorization") != f"Bearer {self.sim.token}":
            self._send(401, _outcome("login", "a bearer token is required"))
            return None
        path = parts.path.removeprefix("/fhir").strip("/")
        return (path.split("/") if path else []), dict(parse_qsl(parts.query))

    def do_GET(self):  # noqa: N802 - http.server's naming
        entered = self._enter()
        if entered is None:
            return
        segments, query = entered
        store = self.sim.store
        if segments == ["metadata"]:
            types = sorted(set(store.resources) | set(store.deleted)) or ["Patient"]
            return self._send(200, _capabilities(types, history=self.sim.history))
        if len(segments) == 1:
            return self._send(200, self._search(segments[0], query))
        if len(segments) == 2 and segments[1] == "_history":
            if not self.sim.history:
                return self._send(404, _outcome("not-supported", "history is not offered"))
            return self._send(200, self._history(segments[0], query))
        if len(segments) == 2:
            found = store.get(*segments)
            if found is None:
                return self._send(404, _outcome("not-found", f"{segments[0]}/{segments[1]} is not known"))
            return self._send(200, found, {"ETag": f'W/"{found["meta"]["versionId"]}"'})
        if len(segments) == 3 and segments[0] == "Patient" and segments[2] == "$everything":
            return self._send(200, self._everything(segments[1]))
        return self._send(404, _outcome("not-found", "no such endpoint"))

    def do_PUT(self):  # noqa: N802
        entered = self._enter()
        if entered is None:
            return
        segments, _query = entered
        body = self._body()
        if len(segments) != 2 or not isinstance(body, dict) or body.get("resourceType") != segments[0]:
            return self._send(400, _outcome("invalid", "PUT [type]/[id] with a resource of that type"))
        body["id"] = segments[1]
        created = self.sim.store.get(*segments) is None
        stored = self.sim.store.put(body)
        self.sim.received.append(stored)
        self._send(201 if created else 200, stored, {"Location": f"{self.sim.base_url}/{segments[0]}/{segments[1]}"})

    def do_POST(self):  # noqa: N802
        entered = self._enter()
        if entered is None:
            return
        segments, _query = entered
        body = self._body()
        if urlsplit(self.path).path == "/$sim":
            return self._control(body or {})
        if len(segments) != 1 or not isinstance(body, dict) or body.get("resourceType") != segments[0]:
            return self._send(400, _outcome("invalid", "POST [type] with a resource of that type"))
        with self.sim.store.lock:  # look and write as one: two racing retries file one record
            # Conditional create (http://hl7.org/fhir/R4/http.html#ccreate): a record already there is answered.
            existing = self._conditional_match(segments[0], self.headers.get("If-None-Exist") or "")
            if existing is None:
                body["id"] = uuid.uuid4().hex[:16]
                stored = self.sim.store.put(body)
                self.sim.received.append(stored)
        if existing is not None:
            return self._send(200, existing, {"Location": f"{self.sim.base_url}/{segments[0]}/{existing['id']}"})
        self._send(201, stored, {"Location": f"{self.sim.base_url}/{segments[0]}/{body['id']}"})

    def _conditional_match(self, rtype: str, condition: str) -> dict | None:
        """The record an ``If-None-Exist: identifier=system|value`` names, if the site holds it."""
        query = dict(parse_qsl(condition))
        if "identifier" not in query:
            return None
        system, _sep, value = query["identifier"].rpartition("|")

        def has(resource: dict) -> bool:
            found = resource.get("identifier") or []
            found = found if isinstance(found, list) else [found]  # e.g. Composition.identifier is 0..1
            return any(i.get("value") == value and (not system or i.get("system") == system) for i in found)

        return next(iter(self.sim.store.search(rtype, has)), None)

    def _control(self, body: dict) -> None:
        f = self.sim.failures
        f.down = bool(body.get("down", False))
        f.delay = float(body.get("delay", 0))
        f.errors = int(body.get("errors", 0))
        f.garbage = int(body.get("garbage", 0))
        f.fail_after = body.get("fail_after")
        if body.get("invalid"):
            self.sim.invalid_add(f"broken-{uuid.uuid4().hex[:8]}")
        for reference in body.get("delete") or []:  # e.g. ["Observation/o1"]: deleted at the site
            self.sim.store.delete(*str(reference).split("/", 1))
        self._send(200, {"resourceType": "Parameters", "parameter": [{"name": "ok", "valueBoolean": True}]})

    def _search(self, rtype: str, query: dict) -> dict:
        count = min(int(query.get("_count", 50)), 1000)
        since = query.get("_lastUpdated", "")
        since = since[2:] if since[:2] in ("ge", "gt") else (since or None)
        after = tuple(query["_after"].split("|", 1)) if "_after" in query else None
        if "patient" in query or "subject" in query:
            ref = query.get("patient") or query.get("subject")
            ref = ref if "/" in ref else f"Patient/{ref}"
            found = self.sim.store.search(rtype, lambda r: (r.get("subject") or {}).get("reference") == ref)
            return _bundle(found[:count], total=len(found), links=[])
        page, total = self.sim.store.page(rtype, since=since, after=after, count=count)
        links = [{"relation": "self", "url": f"{self.sim.base_url}/{rtype}?{urlencode(query)}"}]
        if len(page) == count:
            last = page[-1]["meta"]["lastUpdated"], page[-1]["id"]
            nxt = {**query, "_after": f"{last[0]}|{last[1]}"}
            links.append({"relation": "next", "url": f"{self.sim.base_url}/{rtype}?{urlencode(nxt)}"})
        return _bundle(page, total=total, links=links)

    def _history(self, rtype: str, query: dict) -> dict:
        count = min(int(query.get("_count", 50)), 1000)
        after = tuple(query["_after"].split("|", 1)) if "_after" in query else None
        events = self.sim.store.history(rtype, since=query.get("_since"), after=after, count=count)
        entries = []
        for last_updated, rid, resource in events:
            url = f"{self.sim.base_url}/{rtype}/{rid}"
            if resource is None:
                entries.append(
                    {"fullUrl": url, "request": {"method": "DELETE", "url": f"{rtype}/{rid}"},
                     "response": {"status": "204", "lastModified": last_updated}}
                )  # fmt: skip
            else:
                entries.append(
                    {"fullUrl": url, "resource": resource, "request": {"method": "PUT", "url": f"{rtype}/{rid}"},
                     "response": {"status": "200", "lastModified": last_updated}}
                )  # fmt: skip
        links = [{"relation": "self", "url": f"{self.sim.base_url}/{rtype}/_history?{urlencode(query)}"}]
        if len(events) == count:
            nxt = {**query, "_after": f"{events[-1][0]}|{events[-1][1]}"}
            links.append({"relation": "next", "url": f"{self.sim.base_url}/{rtype}/_history?{urlencode(nxt)}"})
        return {"resourceType": "Bundle", "type": "history", "link": links, "entry": entries}

    def _everything(self, patient_id: str) -> dict:
        patient = self.sim.store.get("Patient", patient_id)
        if patient is None:
            return _bundle([], total=0, links=[])
        ref = f"Patient/{patient_id}"
        found = [patient]
        for rtype in ("Encounter", "Condition", "Observation"):
            found += self.sim.store.search(rtype, lambda r: (r.get("subject") or {}).get("reference") == ref)
        return _bundle(found, total=len(found), links=[])


def _bundle(resources: list[dict], *, total: int, links: list[dict]) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def _capabilities(types: list[str], *, history: bool = True) -> dict:
    interactions = [{"code": "read"}, {"code": "search-type"}, {"code": "update"}]
    if history:
        interactions.append({"code": "history-type"})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [{"type": t, "interaction": interactions} for t in types],
            }
        ],
    }
