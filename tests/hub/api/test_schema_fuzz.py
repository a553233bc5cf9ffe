"""Schemathesis over ``/api/``, against the live hub, as each kind of user: every answer is one the OpenAPI
schema documents (status, media type, body, headers), none is a 5xx, and a refused request stores nothing.

Bounded: ``HUB_FUZZ_EXAMPLES`` examples per operation, user and mode (positive and negative data; default 3),
about two minutes in all. The same run from the command line: ``schemathesis run --checks all`` with the
repository's ``schemathesis.toml`` (see the README's APIs section).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from federation.sites.constants import SiteKind, Specialty
from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.accounts.constants import Role
from hub.accounts.services import api_token_create
from hub.referrals import services
from tests.factories import DepartmentFactory, SiteFactory, UserFactory, patient_resource

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "3"))
# The repository's schemathesis.toml, as the command line reads it: a well-formed request can still break a rule
# of the workflow that no schema can state (a remote diagnosis without its study), answered 400 with its code.
CONFIG = Path(__file__).resolve().parents[3] / "schemathesis.toml"
# The tables a refused request must leave as they were (the audit trail records refusals by design).
WATCHED_APPS = ("referrals", "fhir_gateway", "federation", "access", "dashboards")


def _watched_sql() -> str:
    from django.apps import apps

    tables = sorted(
        {
            m._meta.db_table
            for app in WATCHED_APPS
            if app in apps.app_configs
            for m in apps.get_app_config(app).get_models()
        }
    )
    counts = ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
    # The requests' rows themselves: an update half-applied before a refusal shows in their digest.
    digest = "(SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM referrals_referral r)"
    return f"SELECT {counts}, {digest}"


def _state(sql: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


@pytest.fixture
def world(transactional_db):
    """An alliance with a request in flight, and a bearer token for each kind of user."""
    alliance = SiteFactory(code="alliance", kind=SiteKind.ALLIANCE, parent=None)
    general = SiteFactory(code="general", kind=SiteKind.GENERAL, parent=alliance)
    county_a = SiteFactory(code="county-a", kind=SiteKind.COUNTY, parent=alliance)
    SiteFactory(code="county-b", kind=SiteKind.COUNTY, parent=alliance)
    cardiology = DepartmentFactory(site=general, code="cardiology", specialty=Specialty.CARDIOLOGY)
    DepartmentFactory(site=general, code="neurology", specialty=Specialty.NEUROLOGY)
    people = {
        "county_doctor": UserFactory(username="dr_li", role=Role.COUNTY_DOCTOR, site=county_a),
        "specialist": UserFactory(
            username="cardiologist_zhang", role=Role.SPECIALIST, site=general, department=cardiology
        ),
        "official": UserFactory(username="official_wang", role=Role.OFFICIAL, site=alliance),
        "site_admin": UserFactory(username="admin_a", role=Role.SITE_ADMIN, site=county_a),
        "hub_admin": UserFactory(
            username="hub_admin", role=Role.SITE_ADMIN, site=alliance, is_superuser=True, is_staff=True
        ),
    }
    patient = fhir.resource_create(resource=patient_resource(1), actor=INTERNAL_ACTOR, owner="county-a").resource
    now = timezone.now() - timedelta(minutes=30)
    referral = services.referral_create(
        requester=people["county_doctor"],
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛待查",
        consent=services.ConsentGiven(),
        now=now,
    )
    tokens = {
        role: {"Authorization": f"Bearer {api_token_create(user=u, name='fuzz')[1]}"} for role, u in people.items()
    }
    return {"referral": referral.pk, "patient": f"Patient/{patient['id']}", "tokens": tokens}


def test_the_api_answers_only_what_its_schema_documents_and_a_refusal_stores_nothing(world, live_hub):
    hub_server = live_hub  # the hub served by uvicorn in this process (tests/conftest.py)
    config = SchemathesisConfig.from_path(CONFIG)
    schema = schemathesis.openapi.from_url(f"{hub_server}/api/schema/", config=config)
    sql = _watched_sql()
    session = requests.Session()
    checked = {"calls": 0, "refused": 0, "operations": 0}
    failures: list[str] = []

    def fuzz(operation, role: str, headers: dict, mode) -> None:
        """``EXAMPLES`` cases of one operation, as one user, in one mode; each answer checked."""
        fixed = {"referral_id": world["referral"]} if "{referral_id}" in operation.path else None
        strategy = operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=fixed)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def call(case):
            before = _state(sql)
            response = case.call(base_url=hub_server, session=session)
            after = _state(sql)
            checked["calls"] += 1
            if response.status_code >= 400:
                checked["refused"] += 1
                assert before == after, (
                    f"{case.method} {case.formatted_path} ({role}) refused with {response.status_code} "
                    "but changed the database"
                )
            case.validate_response(response, transport_kwargs={"base_url": hub_server, "session": session})

        call()

    for result in schema.get_all_operations():
        operation = result.ok()
        checked["operations"] += 1
        for role, headers in world["tokens"].items():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, role, headers, mode)
                except Unsatisfiable:
                    continue  # e.g. no negative data for an operation without parameters
                except (Exception, BaseExceptionGroup) as error:  # gather every run's failure before failing
                    failures.append(f"{operation.label} as {role} ({mode.value}):\n{error}")

    assert not failures, "\n\n".join(failures[:10]) + f"\n\n{len(failures)} failing operation/role/mode runs"
    assert checked["operations"] >= 25 and checked["calls"] >= 100 * EXAMPLES, checked
