"""The signed opinion is written back to the county site's own FHIR endpoint over real HTTP.

The endpoint and its credentials are the site's federation configuration (``SiteSync``); the county site is the
federation's simulator, which files Compositions with conditional create and fails on demand.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from federation.outbox.models import Breaker, OutboxMessage
from federation.outbox.services import outbox_deliver, outbox_resend, outbox_sweep
from federation.simulator.server import SiteSimulator
from federation.sites.sync_config import SiteSync
from hub.referrals import services
from hub.referrals.models import Opinion
from hub.referrals.services.delivery import OUTBOX_KIND
from tests.factories import with_signing_pin

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
        opinion = services.opinion_sign(
            referral_id=referral.pk, actor=specialist, conclusion="建议急诊PCI", pin=with_signing_pin(specialist)
        )
    opinion.refresh_from_db()
    return opinion


def message_of(opinion) -> OutboxMessage:
    return OutboxMessage.objects.get(kind=OUTBOX_KIND, subject=f"opinion:{opinion.pk}")


def retry_due(opinion, *, times: int = 1) -> None:
    """As the sweeper does once each retry's time has come (the waits themselves are not the point here)."""
    for _ in range(times):
        OutboxMessage.objects.filter(kind=OUTBOX_KIND, state="pending").update(next_attempt_at=timezone.now())
        outbox_sweep()


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
    # as if the worker died before it recorded the answer: the lease runs out and the sweeper sends it again
    OutboxMessage.objects.filter(pk=message_of(opinion).pk).update(state="sending", locked_until=timezone.now())

    assert outbox_sweep() == 1

    opinion.refresh_from_db()
    assert (opinion.delivery_status, opinion.delivery_attempts) == ("delivered", 2)
    assert len(compositions(county_a_site)) == 1
    assert county_a_site.store.resources["Composition"]


def test_a_site_that_fails_then_recovers_gets_the_opinion_once(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    county_a_site.failures.errors = 2

    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )
    assert (opinion.delivery_status, opinion.delivery_attempts) == ("pending", 1)
    assert opinion.delivery_error.startswith("HTTP 500")  # the hub says what went wrong while it retries
    retry_due(opinion, times=2)

    opinion.refresh_from_db()
    assert opinion.delivery_status == "delivered" and opinion.delivery_attempts == 3
    assert opinion.delivery_error == ""
    assert len(compositions(county_a_site)) == 1


def test_a_site_that_stays_down_is_marked_failed_after_the_retry_window_and_can_be_sent_again(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    county_a_site.failures.down = True
    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )
    message = message_of(opinion)
    OutboxMessage.objects.filter(pk=message.pk).update(retry_from=timezone.now() - timedelta(hours=49))
    Breaker.objects.all().delete()  # the site's breaker opened after three failures; its probe is due
    retry_due(opinion)

    opinion.refresh_from_db()
    assert opinion.delivery_status == "failed" and opinion.delivery_attempts == 2
    assert "gave up after 2 attempts" in opinion.delivery_error
    # the site drops the connection: closed before an answer, or reset, as the timing falls
    assert "RemoteProtocolError" in opinion.delivery_error or "Connection reset" in opinion.delivery_error
    assert Opinion.objects.get(pk=opinion.pk).composition_id  # still visible at the hub
    assert compositions(county_a_site) == []

    county_a_site.failures.down = False
    with django_capture_on_commit_callbacks(execute=True):
        outbox_resend(message_id=message.pk)
    opinion.refresh_from_db()
    assert (opinion.delivery_status, opinion.delivery_attempts) == ("delivered", 3)
    assert len(compositions(county_a_site)) == 1


def test_the_post_carries_the_opinions_event_id_as_its_idempotency_key(
    county_a_site, county_a_endpoint, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    opinion = signed_opinion(
        dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, django_capture_on_commit_callbacks
    )
    assert message_of(opinion).event_id == opinion.uid
    assert outbox_deliver(message_id=message_of(opinion).pk) == "delivered"  # confirmed once: nothing more sent
    assert len(compositions(county_a_site)) == 1
