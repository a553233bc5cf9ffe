"""Writing a signed opinion back to the requesting site's own FHIR endpoint, over HTTP.

The endpoint and its credentials are the site's in the federation (``federation.sites.sync_config.SiteSync``:
base URL, bearer token, timeout; a site whose sync is disabled gets nothing), reached with the federation's
site client. The site does not know the hub's ids, so the patient is referenced by the site's own identifier
(its record number), and the POST is a conditional create on the opinion's identifier
(http://hl7.org/fhir/R4/http.html#ccreate): a retry after a lost response never files the opinion twice.

The POST goes through the outbox (``federation.outbox``): ``opinion_delivery_enqueue`` writes the message in
the signing transaction, a worker sends it after commit with no row lock held (``opinion_send``), and each
claim and outcome is mirrored on the opinion (``opinion_delivery_recorded``: attempts, last error, delivered
or failed), so the hub says truthfully where the delivery stands. The opinion's uid is the event id (the
``Idempotency-Key``); an addendum waits for the opinion it amends (one ordering key per referral).
"""

from __future__ import annotations

import logging

import httpx
from django.utils import timezone

from federation.outbox.breaker import site_destination
from federation.outbox.idempotency import idempotency_headers
from federation.outbox.models import MessageState, OutboxMessage
from federation.outbox.registry import GiveUp, Retry
from federation.outbox.services import outbox_enqueue
from federation.sites.sync_config import SiteSync
from federation.sync.client import RETRYABLE_STATUS, site_client
from hub.referrals.constants import OPINION_ID_SYSTEM
from hub.referrals.fhir.opinion import composition_build
from hub.referrals.fhir.store import fhir_read
from hub.referrals.models import Opinion
from hub.referrals.models.opinion import DeliveryStatus

logger = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
OUTBOX_KIND = "referrals.opinion"


def site_endpoint(*, site_id: int) -> SiteSync | None:
    """Where (and with which credentials) the hub reaches a member site's FHIR endpoint, if it does."""
    return SiteSync.objects.filter(site_id=site_id, enabled=True).first()


def _site_identifier(patient: dict | None, site_code: str) -> dict | None:
    identifiers = (patient or {}).get("identifier") or []
    for identifier in identifiers:  # the site's medical record number first
        if any(c.get("code") == "MR" for c in (identifier.get("type") or {}).get("coding") or []):
            return {"system": identifier.get("system"), "value": identifier.get("value")}
    if identifiers:
        return {"system": identifiers[0].get("system"), "value": identifiers[0].get("value")}
    return None


def opinion_for_site(*, opinion: Opinion) -> dict:
    """The opinion as the site stores it: the signed content with hub-local references made logical."""
    referral = opinion.referral
    appends_ref = f"Composition/{opinion.appends.composition_id}" if opinion.appends_id else None
    content = composition_build(opinion, appends_ref=appends_ref)
    stored = fhir_read(reference=referral.patient_ref)
    subject = {"display": referral.patient_display}
    identifier = _site_identifier(stored.resource if stored else None, referral.requesting_site.code)
    if identifier:
        subject["identifier"] = identifier
    content["subject"] = subject
    content.pop("event", None)
    if opinion.appends_id:
        content["relatesTo"] = [
            {"code": "appends", "targetIdentifier": {"system": OPINION_ID_SYSTEM, "value": str(opinion.appends.uid)}}
        ]
    content["extension"] = [
        {"url": "urn:alliance-hub:signature", "valueString": opinion.signature},
    ]
    return content


def opinion_delivery_enqueue(*, opinion: Opinion) -> OutboxMessage:
    """In the signing transaction: the opinion goes to the requesting site once it commits."""
    referral = opinion.referral
    return outbox_enqueue(
        kind=OUTBOX_KIND,
        destination=site_destination(referral.requesting_site.code),
        payload={"opinion_id": opinion.pk},
        ordering_key=f"referral:{referral.pk}",
        event_id=opinion.uid,
        site_code=referral.requesting_site.code,
        subject=f"opinion:{opinion.pk}",
    )


def opinion_send(message: OutboxMessage) -> dict:
    """The outbox's handler: one POST of the opinion to its site (no transaction, no lock held)."""
    opinion = (
        Opinion.objects.select_related("referral", "referral__requesting_site", "author", "appends")
        .filter(pk=message.payload["opinion_id"])
        .first()
    )
    if opinion is None:
        raise GiveUp("the opinion no longer exists")
    endpoint = site_endpoint(site_id=opinion.referral.requesting_site_id)
    if endpoint is None:
        return {"not_applicable": True}  # the site's endpoint was removed or disabled meanwhile
    body = opinion_for_site(opinion=opinion)
    url = endpoint.base_url.rstrip("/") + "/Composition"
    headers = {
        "Content-Type": FHIR_JSON,
        "If-None-Exist": f"identifier={OPINION_ID_SYSTEM}|{opinion.uid}",
        **idempotency_headers(message),
    }
    try:
        with site_client(token=endpoint.bearer_token, timeout=endpoint.timeout_seconds) as client:
            response = client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise Retry(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code in (200, 201):
        return {"location": response.headers.get("Location", "")[:500]}
    error = f"HTTP {response.status_code}: {response.text[:500]}"
    if response.status_code in RETRYABLE_STATUS or response.status_code in (401, 403, 408):
        raise Retry(error)  # the site is unwell or its credentials are being fixed: retried
    raise GiveUp(error)  # the site refuses this content: retrying cannot help


def opinion_delivery_recorded(message: OutboxMessage) -> None:
    """The outbox's claim or outcome, mirrored on the opinion (inside the outbox's transaction)."""
    opinion = Opinion.objects.select_for_update(of=("self",)).filter(pk=message.payload.get("opinion_id")).first()
    if opinion is None:
        return
    opinion.delivery_attempts = min(message.attempts, 32767)
    if message.state == MessageState.DELIVERED:
        if message.result.get("not_applicable"):
            opinion.delivery_status = DeliveryStatus.NOT_APPLICABLE
        else:
            opinion.delivery_status = DeliveryStatus.DELIVERED
            opinion.delivered_at = message.delivered_at or timezone.now()
            opinion.delivered_location = message.result.get("location", "")
        opinion.delivery_error = ""
    elif message.state == MessageState.DEAD:
        opinion.delivery_status = DeliveryStatus.FAILED
        opinion.delivery_error = message.dead_reason or message.last_error
    else:
        opinion.delivery_status = DeliveryStatus.PENDING
        opinion.delivery_error = message.last_error
    opinion.save(
        update_fields=["delivery_status", "delivery_attempts", "delivery_error", "delivered_at", "delivered_location"]
    )
