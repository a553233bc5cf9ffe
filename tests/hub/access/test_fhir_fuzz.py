"""A Hypothesis-driven fuzz of ``/fhir/`` as every kind of actor: random resources, search parameters, patches,
Bundles, conditional and instance interactions. Zero 5xx, every answer FHIR JSON, and a refused request
stores nothing (no new version of any record); a batch stores at most one version per entry it answered
as done.

Bounded: ``HUB_FHIR_FUZZ_EXAMPLES`` requests (default 250, about a minute), derandomized so a failure repeats;
set ``HUB_FHIR_FUZZ_SEED`` to explore other requests. The actors and records are those of a small world
(county A and B, their patients and observations, a specialist, a site administrator, an official, a hub
auditor, the platform operator, a site system).
"""

from __future__ import annotations

import json
import os
import string
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("HUB_FHIR_FUZZ_EXAMPLES", "250"))
SEED = int(os.environ.get("HUB_FHIR_FUZZ_SEED", "0"))
FHIR = "application/fhir+json"

TYPES = ["Patient", "Observation", "Condition", "Organization", "Task", "ServiceRequest", "ValueSet", "AuditEvent"]
TYPES += ["Encounter", "Provenance", "Basic", "Endpoint", "Consent", "NotAType"]
KNOWN_IDS = ["county-a-f1", "county-b-f1", "county-a-fobs1", "county-b-fobs1", "nope", "county-a-new", "1"]

# -- values ------------------------------------------------------------------------------------------------------
text = st.text(alphabet=string.ascii_letters + string.digits + " -_.:|/,$*=<>%&?#'\"\\中文ü", max_size=30)
ids = st.one_of(st.sampled_from(KNOWN_IDS), st.from_regex(r"[A-Za-z0-9\-.]{1,70}", fullmatch=True), text)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False), text)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["value", "text", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
references = st.one_of(
    st.builds(lambda t, i: f"{t}/{i}", st.sampled_from(TYPES), ids),
    st.sampled_from(["urn:uuid:0b9d6c36-1a8c-4d0f-8a11-7b1b32a1e0c1", "#c", "Patient?identifier=x|y"]),
    text,
)


def _patient(**extra) -> dict:
    return {"resourceType": "Patient", "name": [{"family": "Fuzz", "given": ["F"]}], "gender": "female", **extra}


def _observation(subject: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": 80, "unit": "/min"},
    }


FIELDS = {
    "Patient": ["name", "gender", "birthDate", "identifier", "active", "meta", "managingOrganization", "link"],
    "Observation": ["status", "code", "subject", "valueQuantity", "valueString", "effectiveDateTime", "meta"],
}


@st.composite
def resources(draw, resource_type=None):
    """A resource: a valid one mutated, or random fields (most are refused as invalid)."""
    kind = resource_type or draw(st.sampled_from(TYPES))
    if draw(st.booleans()):
        body = _patient() if kind != "Observation" else _observation(draw(references))
        body["resourceType"] = kind
    else:
        body = {"resourceType": kind}
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(FIELDS.get(kind, []) + ["id", "text", "extension", "contained", "subject"]))
        if field == "subject":
            body[field] = {"reference": draw(references)}
        elif field == "meta":
            body[field] = draw(
                st.sampled_from(
                    [
                        {"source": "urn:alliance:site:county-b"},
                        {"tag": [{"system": "urn:alliance:source-site", "code": "county-b"}]},
                        {"security": [{"system": "x", "code": "HTEST"}]},
                    ]
                )
            )
        elif field == "id":
            body[field] = draw(ids)
        else:
            body[field] = draw(json_values)
    return body


PARAM_NAMES = ["_id", "name", "family", "subject", "patient", "code", "identifier", "birthdate", "date", "gender"]
PARAM_NAMES += ["_count", "_sort", "_elements", "_summary", "_include", "_revinclude", "_has:Observation:subject:_id"]
PARAM_NAMES += ["subject:Patient.name", "_content", "_text", "_lastUpdated", "_total", "code:in", "_type", "agent"]
PARAM_NAMES += ["outcome", "entity", "_offset", "status", "value-quantity", "_format", "name:exact", "bogus"]
PARAM_VALUES = st.one_of(
    ids,
    text,
    st.sampled_from(
        ["ge2020-01-01", "lt2030", "Patient/county-a-f1", "Patient/county-b-f1", "*", "Observation:subject"]
    ),
    st.sampled_from(["Observation:subject:Patient", "1", "0", "-1", "1000000", "count", "true", "gt80|http://x|/min"]),
    st.integers(-5, 5000).map(str),
)
params = st.lists(st.tuples(st.sampled_from(PARAM_NAMES), PARAM_VALUES), max_size=4)


@st.composite
def patches(draw):
    ops = st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "remove", "replace", "copy", "move", "test", "bogus"]),
            "path": st.sampled_from(["/gender", "/name/0", "/name/-", "/meta/source", "/id", "/resourceType", "/", ""])
            | text,
        },
        optional={"value": json_values, "from": st.sampled_from(["/name", "/", "/gender"])},
    )
    kind = draw(st.sampled_from(["json", "merge", "fhirpath"]))
    if kind == "json":
        return "application/json-patch+json", draw(st.lists(ops, max_size=4))
    if kind == "merge":
        return "application/merge-patch+json", draw(
            st.dictionaries(st.sampled_from(["gender", "id", "meta", "x"]), json_values, max_size=3)
        )
    parameter = {
        "name": "operation",
        "part": [
            {"name": "type", "valueCode": draw(st.sampled_from(["add", "replace", "delete", "insert", "move", "x"]))},
            {
                "name": "path",
                "valueString": draw(st.sampled_from(["Patient", "Patient.gender", "Patient.name[0]"]) | text),
            },
            {"name": "name", "valueString": "gender"},
            {"name": "value", "valueCode": "male"},
        ],
    }
    return FHIR, {"resourceType": "Parameters", "parameter": [parameter]}


@st.composite
def valid_writes(draw):
    """A write that is valid FHIR, to county A's or B's records: allowed or refused by who sends it alone."""
    site = draw(st.sampled_from(["county-a", "county-b"]))
    gender = draw(st.sampled_from(["male", "female", "other", "unknown"]))
    kind = draw(st.sampled_from(["post", "put", "patch", "merge", "delete", "transaction"]))
    patient = f"Patient/{site}-f1"
    if kind == "post":
        return "post", "/fhir/Observation", _observation(patient), FHIR, {}
    if kind == "put":
        return "put", f"/fhir/{patient}", _patient(id=f"{site}-f1", gender=gender), FHIR, {}
    if kind == "patch":
        body = [{"op": "replace", "path": "/gender", "value": gender}]
        return "patch", f"/fhir/{patient}", body, "application/json-patch+json", {}
    if kind == "merge":
        return "patch", f"/fhir/{patient}", {"gender": gender}, "application/merge-patch+json", {}
    if kind == "delete":
        return "delete", f"/fhir/Observation/{site}-fobs1", None, None, {}
    entries = [
        {"resource": _observation(patient), "request": {"method": "POST", "url": "Observation"}},
        {"resource": _patient(id=f"{site}-f1", gender=gender), "request": {"method": "PUT", "url": patient}},
    ]
    bundle = {"resourceType": "Bundle", "type": draw(st.sampled_from(["batch", "transaction"])), "entry": entries}
    return "post", "/fhir/", bundle, FHIR, {}


@st.composite
def requests(draw):
    """``(method, path, body or None, headers)``: one interaction of any kind."""
    kind = draw(
        st.sampled_from(
            ["create", "update", "patch", "delete", "read", "search", "system", "history", "vread", "batch", "cond"]
            + ["everything", "validate", "match", "search_post"]
        )
    )
    rtype = draw(st.sampled_from(TYPES))
    fhir_id = draw(ids)
    headers: dict = {}
    if draw(st.integers(0, 3)) == 0:  # a well-formed write of a known record: who may make it decides
        return draw(valid_writes())
    if kind == "create":
        if draw(st.booleans()):
            headers["HTTP_IF_NONE_EXIST"] = urlencode(draw(params))
        return "post", f"/fhir/{rtype}", draw(resources(rtype)), FHIR, headers
    if kind == "update":
        body = draw(resources(rtype))
        if draw(st.booleans()):
            body["id"] = fhir_id
        if draw(st.booleans()):
            headers["HTTP_IF_MATCH"] = draw(st.sampled_from(['W/"1"', 'W/"99"', "bogus"]))
        return "put", f"/fhir/{rtype}/{fhir_id}", body, FHIR, headers
    if kind == "patch":
        content_type, body = draw(patches())
        return "patch", f"/fhir/{rtype}/{fhir_id}", body, content_type, headers
    if kind == "delete":
        return "delete", f"/fhir/{rtype}/{fhir_id}", None, None, headers
    if kind == "cond":
        method = draw(st.sampled_from(["put", "delete"]))
        query = urlencode(draw(params)) or "_id=county-a-f1"
        return method, f"/fhir/{rtype}?{query}", draw(resources(rtype)) if method == "put" else None, FHIR, headers
    if kind == "read":
        return "get", f"/fhir/{rtype}/{fhir_id}", None, None, headers
    if kind == "vread":
        return "get", f"/fhir/{rtype}/{fhir_id}/_history/{draw(st.sampled_from(['1', '2', 'x']))}", None, None, headers
    if kind == "history":
        return (
            "get",
            draw(st.sampled_from([f"/fhir/{rtype}/{fhir_id}/_history", f"/fhir/{rtype}/_history", "/fhir/_history"])),
            None,
            None,
            headers,
        )
    if kind == "search":
        return "get", f"/fhir/{rtype}?{urlencode(draw(params))}", None, None, headers
    if kind == "search_post":
        return "post", f"/fhir/{rtype}/_search", urlencode(draw(params)), "application/x-www-form-urlencoded", headers
    if kind == "system":
        return "get", f"/fhir?{urlencode(draw(params))}", None, None, headers
    if kind == "everything":
        return "get", f"/fhir/Patient/{fhir_id}/$everything?{urlencode(draw(params))}", None, None, headers
    if kind == "validate":
        return "post", f"/fhir/{rtype}/$validate", draw(resources(rtype)), FHIR, headers
    if kind == "match":
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "resource", "resource": draw(resources("Patient"))}],
        }
        return "post", "/fhir/Patient/$match", body, FHIR, headers
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
        entry_type = draw(st.sampled_from(TYPES))
        url = draw(
            st.sampled_from([entry_type, f"{entry_type}/{draw(ids)}", f"{entry_type}?{urlencode(draw(params))}"])
        )
        entry: dict = {"request": {"method": method, "url": url}}
        if method in ("POST", "PUT"):
            entry["resource"] = draw(resources(entry_type))
            entry["fullUrl"] = draw(
                st.sampled_from(["urn:uuid:0b9d6c36-1a8c-4d0f-8a11-7b1b32a1e0c1", f"urn:uuid:{len(entries)}a"])
            )
            if draw(st.booleans()):
                entry["request"]["ifNoneExist"] = urlencode(draw(params))
        entries.append(entry)
    bundle = {
        "resourceType": "Bundle",
        "type": draw(st.sampled_from(["batch", "transaction", "collection"])),
        "entry": entries,
    }
    return "post", "/fhir/", bundle, FHIR, headers


# -- the world --------------------------------------------------------------------------------------------------
@pytest.fixture
def fuzz_world(
    db,
    county_a,
    county_b,
    dr_li_at_county_a,
    dr_zhao_at_county_b,
    cardiologist_zhang,
    official_wang,
    admin_of_county_a,
    token_for,
):
    from django.contrib.auth.models import Permission

    from federation.auth.services import site_client_create
    from fhir_gateway import services
    from fhir_gateway.context import SYNC, Actor
    from tests.factories import UserFactory
    from tests.federation.conftest import _basic

    for site in ("county-a", "county-b"):
        sync = Actor(kind=SYNC, id=f"sync:{site}", site=site)
        services.resource_update(
            resource_type="Patient", fhir_id=f"{site}-f1", resource=_patient(id=f"{site}-f1"), actor=sync
        )
        observation = {**_observation(f"Patient/{site}-f1"), "id": f"{site}-fobs1"}
        services.resource_update(resource_type="Observation", fhir_id=f"{site}-fobs1", resource=observation, actor=sync)
    auditor = UserFactory(username="fuzz_auditor", role="", site=None)
    auditor.user_permissions.add(Permission.objects.get(codename="audit_all"))
    root = UserFactory(username="fuzz_root", role="", site=None, is_superuser=True, is_staff=True)
    headers = {
        "county_doctor": token_for(dr_li_at_county_a),
        "other_county": token_for(dr_zhao_at_county_b),
        "specialist": token_for(cardiologist_zhang),
        "official": token_for(official_wang),
        "site_admin": token_for(admin_of_county_a),
        "auditor": token_for(auditor),
        "superuser": token_for(root),
        "anonymous": {},
    }
    scopes = ["system/*.read", "system/Patient.write"]
    _c, client_id, secret = site_client_create(site=county_a, name="fuzz", scopes=scopes)
    token = (
        Client()
        .post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": " ".join(scopes)},
            HTTP_AUTHORIZATION=_basic(client_id, secret),
        )
        .json()["access_token"]
    )
    headers["site_system"] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return headers


def _versions() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM fhir_gateway_resourceversion")
        return cursor.fetchone()


WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


def test_random_fhir_requests_as_every_actor_never_fail_and_store_nothing_when_refused(fuzz_world):
    client = Client()
    seen: dict = {"requests": 0, "refused": 0, "statuses": {}}

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED == 0,
        suppress_health_check=list(HealthCheck),
    )
    @given(actor=st.sampled_from(sorted(fuzz_world)), request=requests())
    def call(actor, request):
        method, path, body, content_type, extra = request
        kwargs = {**fuzz_world[actor], **extra}
        if body is not None:
            data = body if isinstance(body, str) else json.dumps(body)
            kwargs["content_type"] = content_type
            kwargs["data"] = data
        before = _versions()
        response = getattr(client, method)(path, **kwargs)
        after = _versions()
        status = response.status_code
        seen["requests"] += 1
        seen["statuses"][status] = seen["statuses"].get(status, 0) + 1
        where = f"{method.upper()} {path} as {actor}: {status}"
        assert status < 500, f"{where} {response.content[:300]!r}"
        answer = json.loads(response.content) if response.content else None
        if answer is not None:
            assert isinstance(answer, dict) and "resourceType" in answer, where
        if status >= 400:
            seen["refused"] += 1
            assert before == after, f"{where} refused, but stored {after[0] - before[0]} version(s)"
        elif isinstance(body, dict) and isinstance(answer, dict) and answer.get("type") == "batch-response":
            done = sum(
                1
                for request_entry, entry in zip(body["entry"], answer["entry"], strict=True)
                if request_entry["request"]["method"] in WRITES and entry["response"]["status"][:1] == "2"
            )
            assert after[0] - before[0] <= done, f"{where}: {after[0] - before[0]} versions for {done} entries done"

    call()
    print("FHIR fuzz:", seen)
    assert seen["requests"] >= min(EXAMPLES, 50)
    assert seen["refused"] > 0 and len(seen["statuses"]) > 3, seen  # the fuzz reached refusals and successes
