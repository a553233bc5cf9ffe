"""Bulk Data Access ``$export`` over HTTP: kick-off, status, files, scoping, cancel, expiry, recovery."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from fhir_gateway import services as fhir
from fhir_gateway.bulk.models import ExportFile, ExportJob, ExportStatus
from fhir_gateway.bulk.services import exports_expire, exports_recover
from fhir_gateway.context import INTERNAL_ACTOR
from tests.factories import UserFactory, patient_resource
from tests.federation.conftest import token_of  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture(autouse=True)
def inline_exports(settings, tmp_path):
    """Jobs run in the kick-off's commit (inline Celery) and write under a test folder."""
    settings.FHIR_EXPORT_INLINE = True
    settings.FHIR_EXPORT_DIR = tmp_path / "exports"
    settings.FHIR_EXPORT_FILE_RESOURCES = 3  # several parts per type


def _store(resource: dict, owner: str) -> dict:
    return fhir.resource_create(resource=resource, actor=INTERNAL_ACTOR, owner=owner).resource


def _observation(patient: dict, code: str = "8867-4", value: float = 80) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


@pytest.fixture
def records(county_a, county_b):
    """County A: 3 patients with 2 observations each and an encounter-free practitioner; county B: 2 patients."""
    made = {"county-a": [], "county-b": []}
    for n in range(3):
        patient = _store(patient_resource(n + 1), "county-a")
        made["county-a"] += [patient, _store(_observation(patient), "county-a")]
        made["county-a"].append(_store(_observation(patient, code="59408-5", value=97), "county-a"))
    for n in range(2):
        patient = _store(patient_resource(n + 10, region="411322"), "county-b")
        made["county-b"] += [patient, _store(_observation(patient), "county-b")]
    return made


def _kickoff(client, url: str, headers: dict, **extra):
    return client.get(url, **{**ASYNC, **headers, **extra})


def _manifest(client, response, headers: dict) -> dict:
    assert response.status_code == 202, response.content
    status_url = response["Content-Location"]
    answer = client.get(status_url, **headers)
    assert answer.status_code == 200, answer.content
    return answer.json()


def _lines(client, manifest: dict, headers: dict) -> dict[str, list[dict]]:
    by_type: dict[str, list[dict]] = {}
    for output in manifest["output"]:
        answer = client.get(output["url"], **headers)
        assert answer.status_code == 200
        assert answer["Content-Type"] == "application/fhir+ndjson"
        lines = [orjson.loads(line) for line in b"".join(answer.streaming_content).splitlines()]
        assert len(lines) == output["count"]
        by_type.setdefault(output["type"], []).extend(lines)
    return by_type


def test_a_hub_admin_exports_the_alliance_in_ndjson_files_per_type(client, records, token_for):
    admin = UserFactory(username="hub_admin", is_superuser=True, is_staff=True, site=None, role="")
    headers = token_for(admin)
    manifest = _manifest(client, _kickoff(client, "/fhir/$export", headers), headers)

    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/$export")
    exported = _lines(client, manifest, headers)
    assert len(exported["Patient"]) == 5
    assert len(exported["Observation"]) == 8
    # Several parts per type (3 resources a file here), no resource twice.
    assert len([o for o in manifest["output"] if o["type"] == "Observation"]) == 3
    ids = [r["id"] for r in exported["Observation"]]
    assert len(ids) == len(set(ids))


def test_a_site_system_exports_only_its_own_site(client, records, county_a, token_of):  # noqa: F811
    headers = token_of(county_a, ["system/*.read"])
    exported = _lines(client, _manifest(client, _kickoff(client, "/fhir/$export", headers), headers), headers)

    patients = {p["id"] for p in exported["Patient"]}
    assert patients == {r["id"] for r in records["county-a"] if r["resourceType"] == "Patient"}
    assert all(o["subject"]["reference"].split("/")[1] in patients for o in exported["Observation"])


def test_a_site_systems_scopes_bound_the_types_it_may_export(client, records, county_a, token_of):  # noqa: F811
    headers = token_of(county_a, ["system/Patient.read"])
    refused = _kickoff(client, "/fhir/$export?_type=Observation", headers)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    exported = _lines(client, _manifest(client, _kickoff(client, "/fhir/$export", headers), headers), headers)
    assert set(exported) == {"Patient"}


def test_type_since_and_type_filter_narrow_the_export(client, records, token_for, dr_li_at_county_a):
    headers = token_for(dr_li_at_county_a)
    url = "/fhir/$export?_type=Observation&_typeFilter=Observation%3Fcode%3D59408-5"
    exported = _lines(client, _manifest(client, _kickoff(client, url, headers), headers), headers)
    assert set(exported) == {"Observation"}
    assert {o["code"]["coding"][0]["code"] for o in exported["Observation"]} == {"59408-5"}
    assert len(exported["Observation"]) == 3

    later = timezone.now()
    patient = next(r for r in records["county-a"] if r["resourceType"] == "Patient")
    newest = _store(_observation(patient, value=120), "county-a")
    since = later.isoformat().replace("+00:00", "Z")
    url = f"/fhir/$export?_type=Observation&_since={since}"
    exported = _lines(client, _manifest(client, _kickoff(client, url, headers), headers), headers)
    assert [o["id"] for o in exported["Observation"]] == [newest["id"]]


def test_patient_and_group_level_exports_hold_the_compartments(client, records, token_for, dr_li_at_county_a):
    headers = token_for(dr_li_at_county_a)
    first, second = [r for r in records["county-a"] if r["resourceType"] == "Patient"][:2]
    _store(  # a record about no patient is not in any compartment
        {"resourceType": "Organization", "name": "东川县人民医院"}, "county-a"
    )
    exported = _lines(client, _manifest(client, _kickoff(client, "/fhir/Patient/$export", headers), headers), headers)
    assert "Organization" not in exported
    assert len(exported["Patient"]) == 3 and len(exported["Observation"]) == 6

    group = _store(
        {
            "resourceType": "Group",
            "type": "person",
            "actual": True,
            "member": [{"entity": {"reference": f"Patient/{first['id']}"}},
                       {"entity": {"reference": f"Patient/{second['id']}"}}],
        },
        "county-a",
    )  # fmt: skip
    url = f"/fhir/Group/{group['id']}/$export"
    exported = _lines(client, _manifest(client, _kickoff(client, url, headers), headers), headers)
    assert {p["id"] for p in exported["Patient"]} == {first["id"], second["id"]}
    assert len(exported["Observation"]) == 4


def test_another_sites_group_is_not_found(client, records, token_for, dr_zhao_at_county_b):
    patient = next(r for r in records["county-a"] if r["resourceType"] == "Patient")
    group = _store(
        {"resourceType": "Group", "type": "person", "actual": True,
         "member": [{"entity": {"reference": f"Patient/{patient['id']}"}}]},
        "county-a",
    )  # fmt: skip
    answer = _kickoff(client, f"/fhir/Group/{group['id']}/$export", token_for(dr_zhao_at_county_b))
    missing = _kickoff(client, "/fhir/Group/no-such-group/$export", token_for(dr_zhao_at_county_b))
    assert answer.status_code == missing.status_code == 404
    assert answer.json()["issue"][0]["diagnostics"] == missing.json()["issue"][0]["diagnostics"].replace(
        "no-such-group", group["id"]
    )


@pytest.mark.parametrize(
    ("query", "extra", "expression"),
    [
        ("", {"HTTP_PREFER": ""}, None),
        ("?_type=Nonsense", {}, "_type"),
        ("?_since=yesterday", {}, "_since"),
        ("?_outputFormat=text/csv", {}, "_outputFormat"),
        ("?_typeFilter=Observation", {}, "_typeFilter"),
        ("?_type=Patient&_typeFilter=Observation%3Fcode%3D1", {}, "_typeFilter"),
        ("?_elements=id", {"HTTP_PREFER": "respond-async, handling=strict"}, "_elements"),
    ],
)
def test_bad_kickoffs_get_an_operation_outcome_and_start_nothing(
    client, records, token_for, dr_li_at_county_a, query, extra, expression
):
    answer = _kickoff(client, f"/fhir/$export{query}", token_for(dr_li_at_county_a), **extra)
    assert answer.status_code == 400
    issue = answer.json()["issue"][0]
    if expression:
        assert issue["expression"] == [expression]
    assert not ExportJob.objects.exists()


def test_an_unsupported_parameter_is_ignored_when_lenient(client, records, token_for, dr_li_at_county_a):
    headers = token_for(dr_li_at_county_a)
    assert _kickoff(client, "/fhir/$export?_elements=id&_type=Patient", headers).status_code == 202


def test_only_the_requester_sees_the_status_and_the_files(client, records, token_for, dr_li_at_county_a):
    headers = token_for(dr_li_at_county_a)
    colleague = token_for(UserFactory(username="dr_wu", role="county_doctor", site=dr_li_at_county_a.site))
    response = _kickoff(client, "/fhir/$export?_type=Patient", headers)
    manifest = _manifest(client, response, headers)
    assert client.get(response["Content-Location"], **colleague).status_code == 404
    assert client.get(manifest["output"][0]["url"], **colleague).status_code == 404
    assert client.get(manifest["output"][0]["url"]).status_code == 401


def test_a_running_export_reports_progress_and_can_be_cancelled(client, records, token_for, dr_li_at_county_a):
    headers = token_for(dr_li_at_county_a)
    job = ExportJob.objects.create(
        actor_kind="user", actor_id=str(dr_li_at_county_a.pk), level="system", types=["Patient"],
        request_url="http://testserver/fhir/$export", created_at=timezone.now(),
        status=ExportStatus.IN_PROGRESS, total=200, done=50, heartbeat_at=timezone.now(),
    )  # fmt: skip
    running = client.get(f"/fhir/$export-poll-status/{job.uid}", **headers)
    assert running.status_code == 202
    assert "25%" in running["X-Progress"] and running["Retry-After"]

    assert client.delete(f"/fhir/$export-poll-status/{job.uid}", **headers).status_code == 202
    assert client.get(f"/fhir/$export-poll-status/{job.uid}", **headers).status_code == 404
    assert client.delete(f"/fhir/$export-poll-status/{job.uid}", **headers).status_code == 404


def test_files_expire(client, records, token_for, dr_li_at_county_a, settings):
    headers = token_for(dr_li_at_county_a)
    response = _kickoff(client, "/fhir/$export?_type=Patient", headers)
    manifest = _manifest(client, response, headers)
    job = ExportJob.objects.get()
    paths = [settings.FHIR_EXPORT_DIR / f.name for f in job.files.all()]
    assert all(path.exists() for path in paths)

    ExportJob.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(response["Content-Location"], **headers).status_code == 404
    assert client.get(manifest["output"][0]["url"], **headers).status_code == 404
    assert exports_expire() == 1
    assert not any(path.exists() for path in paths)
    assert not ExportFile.objects.exists()


def test_a_job_whose_worker_died_is_run_again_from_scratch(client, records, token_for, dr_li_at_county_a, settings):
    headers = token_for(dr_li_at_county_a)
    job = ExportJob.objects.create(
        actor_kind="user", actor_id=str(dr_li_at_county_a.pk), actor_site="county-a", level="system",
        types=["Observation"], request_url="http://testserver/fhir/$export", created_at=timezone.now(),
        status=ExportStatus.IN_PROGRESS, done=2, heartbeat_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    partial = settings.FHIR_EXPORT_DIR / f"{job.uid}/Observation-1.ndjson"  # what the dead worker left
    partial.parent.mkdir(parents=True)
    partial.write_text('{"resourceType": "Observation", "id": "half"}\n')
    ExportFile.objects.create(job=job, resource_type="Observation", part=1, name=f"{job.uid}/Observation-1.ndjson",
                              count=1)  # fmt: skip

    assert exports_recover() == 1

    manifest = client.get(f"/fhir/$export-poll-status/{job.uid}", **headers).json()
    exported = _lines(client, manifest, headers)
    assert len(exported["Observation"]) == 6
    assert "half" not in {o["id"] for o in exported["Observation"]}
    job.refresh_from_db()
    assert job.attempts == 1 and job.status == ExportStatus.COMPLETED


def test_a_client_runs_a_few_exports_at_a_time(client, records, token_for, dr_li_at_county_a, settings):
    settings.FHIR_EXPORT_ACTIVE_PER_CLIENT = 2
    headers = token_for(dr_li_at_county_a)
    for _ in range(2):
        ExportJob.objects.create(
            actor_kind="user", actor_id=str(dr_li_at_county_a.pk), level="system", types=["Patient"],
            request_url="x", created_at=timezone.now(),
        )  # fmt: skip
    answer = _kickoff(client, "/fhir/$export", headers)
    assert answer.status_code == 429 and answer["Retry-After"]


def test_the_kickoff_and_each_file_are_audited(client, records, token_for, dr_li_at_county_a):
    from hub.audit.models import AuditEvent

    headers = token_for(dr_li_at_county_a)
    manifest = _manifest(client, _kickoff(client, "/fhir/$export?_type=Patient", headers), headers)
    _lines(client, manifest, headers)
    operations = list(
        AuditEvent.objects.filter(actor_id=str(dr_li_at_county_a.pk)).values_list("detail__operation", flat=True)
    )
    assert "$export" in operations
    assert operations.count("$export-file") == len(manifest["output"])


def test_over_a_real_server_the_files_stream_whole(live_hub, records, dr_li_at_county_a, settings):
    import time

    import httpx

    from hub.accounts.services import api_token_create

    settings.FHIR_EXPORT_INLINE = False  # as in make demo: the job runs beside the server, not in the kick-off
    _token, raw = api_token_create(user=dr_li_at_county_a, name="export")
    headers = {"Authorization": f"Bearer {raw}", "Prefer": "respond-async", "Accept": "application/fhir+json"}
    kicked = httpx.get(f"{live_hub}/fhir/$export?_type=Observation", headers=headers)
    assert kicked.status_code == 202
    deadline = time.monotonic() + 60
    while True:
        status = httpx.get(kicked.headers["content-location"], headers=headers)
        if status.status_code == 200 or time.monotonic() > deadline:
            break
        assert status.status_code == 202 and status.headers["x-progress"]
        time.sleep(0.2)
    assert status.status_code == 200
    lines = []
    for output in status.json()["output"]:
        answer = httpx.get(output["url"], headers=headers)
        assert int(answer.headers["content-length"]) == len(answer.content)
        lines += [orjson.loads(line) for line in answer.content.splitlines()]
    assert len(lines) == 6
