"""The signed opinion is written back to the county site's own FHIR endpoint over real HTTP.

The endpoint and its credentials are the site's federation configuration (``SiteSync``); the county site is the
federation's simulator, which files Compositions with conditional create and fails on demand.
"""

from __future__ import annotations

import json

import pytest

from federation.simulator.server import SiteSimulator
from federation.sites.sync_config import SiteSync
from hub.referrals import services
from hub.referrals.models import Opinion
from hub.referrals.models.opinion import DeliveryStatus
from hub.referrals.services.delivery import opinion_deliver

COUNTY_A_TOKEN = "county-a-his-token"


@pytest.fixture
def county_a_site():
    """County A's FHIR server, which asks for its bearer token."""
    sim = SiteSimulator(site="county-a", token=COUNTY_A_TOKEN).start()
    yield sim
    sim.stop()


@pytest.fixture
def county_a_endpoint(county_a, county_a_site):
    return SiteSync.objects.create(site=county_a, base_url=county_a_site.base_url, bearer_token=COUNTY_A_TOKEN)


def signed_opinion(doctor, specialist, patient, capture):
    referral = services.referral_create(
        requester=doctor,
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛",
        consent=services.ConsentGiven(),
    )
    services.task_accept(referral_id=referral.pk, actor=specialist)
    with capture(execute=True):
        opinion = services.opinion_sign(referral_id=referral.pk, actor=specialist, conclusion="建议急诊PCI")
    opinion.refresh_from_db()
    return opinion


def compositions(sim: SiteSimulator) -> list[dict]:
    return list(sim.store.resources.get("Composition", {}).values())


def test_the_opinion_reaches_the_county_site_with_the_sites_own_patient_identifier(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "delivered" and opinion.delivery_attempts == 1
    [body] = compositions(county_a_site)
    assert opinion.delivered_location == f"{county_a_site.base_url}/Composition/{body['id']}"
    assert body["resourceType"] == "Composition" and body["status"] == "final"
    assert body["identifier"] == {"system": "urn:alliance-hub:opinion", "value": str(opinion.uid)}
    assert body["subject"]["identifier"] == {"system": "urn:site:county-a:mrn", "value": "MRN000001"}
    assert body["attester"][0]["mode"] == "legal"
    assert "建议急诊PCI" in json.dumps(body, ensure_ascii=False)


def test_a_delivery_whose_answer_was_lost_files_the_opinion_once(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )
    Opinion.objects.filter(pk=opinion.pk).update(delivery_status=DeliveryStatus.PENDING)  # as if never answered

    assert opinion_deliver(opinion_id=opinion.pk) is True

    opinion.refresh_from_db()
    assert (opinion.delivery_status, opinion.delivery_attempts) == ("delivered", 2)
    assert len(compositions(county_a_site)) == 1


def test_a_site_that_fails_then_recovers_gets_the_opinion_once(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    county_a_site.failures.errors = 2

    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "delivered" and opinion.delivery_attempts == 3
    assert len(compositions(county_a_site)) == 1


def test_a_site_that_stays_down_is_marked_failed(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    county_a_site.failures.down = True

    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "failed" and opinion.delivery_attempts == 7
    assert "RemoteProtocolError" in opinion.delivery_error
    assert Opinion.objects.get(pk=opinion.pk).composition_id  # still visible at the hub
    assert compositions(county_a_site) == []


def test_the_sites_credentials_are_required_and_sent(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    county_a_endpoint.bearer_token = "stale-token"
    county_a_endpoint.save(update_fields=["bearer_token"])

    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "failed" and "HTTP 401" in opinion.delivery_error
    assert compositions(county_a_site) == []


def test_a_site_without_an_endpoint_keeps_the_opinion_at_the_hub(
    dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
):
    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "n/a" and opinion.delivery_attempts == 0


def test_a_site_whose_federation_endpoint_is_disabled_keeps_the_opinion_at_the_hub(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    county_a_endpoint.enabled = False
    county_a_endpoint.save(update_fields=["enabled"])

    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )

    assert opinion.delivery_status == "n/a" and compositions(county_a_site) == []
