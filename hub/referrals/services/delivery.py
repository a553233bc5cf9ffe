"""Writing a signed opinion back to the requesting site's own FHIR endpoint, over HTTP.

The endpoint and its credentials are the site's in the federation (``federation.sites.sync_config.SiteSync``:
base URL, bearer token, timeout; a site whose sync is disabled gets nothing), reached with the federation's
site client. The site does not know the hub's ids, so the patient is referenced by the site's own identifier
(its record number), and the POST is a conditional create on the opinion's identifier
(http://hl7.org/fhir/R4/http.html#ccreate): a retry after a lost response never files the opinion twice.
"""

from __future__ import annotations

import logging

import httpx
from django.db import transaction
from django.utils import timezone

from federation.sites.sync_config import SiteSync
from federation.sync.client import site_client
from hub.referrals.constants import OPINION_ID_SYSTEM
from hub.referrals.fhir.opinion import composition_build
from hub.referrals.fhir.store import fhir_read
from hub.referrals.models import Opinion
from hub.referrals.models.opinion import DeliveryStatus
from hub.signatures.services import opinion_signature_extensions

logger = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"


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
    content["extension"] = opinion_signature_extensions(opinion=opinion)  # verifiable with the published key
    return content


def opinion_deliver(*, opinion_id: int, final: bool = False) -> bool:
    """One delivery attempt; returns whether the site has the opinion. ``final`` marks a failure permanent."""
    with transaction.atomic():
        opinion = (
            Opinion.objects.select_for_update(of=("self",))
            .select_related("referral", "referral__requesting_site", "referral__target_site", "author", "appends")
            .get(pk=opinion_id)
        )
        if opinion.delivery_status == DeliveryStatus.DELIVERED:
            return True
        endpoint = site_endpoint(site_id=opinion.referral.requesting_site_id)
        if endpoint is None:
            opinion.delivery_status = DeliveryStatus.NOT_APPLICABLE
            opinion.save(update_fields=["delivery_status"])
            return True
        body = opinion_for_site(opinion=opinion)
        opinion.delivery_attempts += 1
        url = endpoint.base_url.rstrip("/") + "/Composition"
        headers = {"Content-Type": FHIR_JSON, "If-None-Exist": f"identifier={OPINION_ID_SYSTEM}|{opinion.uid}"}
        try:
            with site_client(token=endpoint.bearer_token, timeout=endpoint.timeout_seconds) as client:
                response = client.post(url, json=body, headers=headers)
            error = "" if response.status_code in (200, 201) else f"HTTP {response.status_code}: {response.text[:500]}"
        except httpx.HTTPError as exc:
            response, error = None, f"{type(exc).__name__}: {exc}"
        if not error:
            opinion.delivery_status = DeliveryStatus.DELIVERED
            opinion.delivered_at = timezone.now()
            opinion.delivered_location = response.headers.get("Location", "")[:500]
            opinion.delivery_error = ""
        else:
            logger.warning("opinion %s not delivered to %s: %s", opinion.pk, url, error)
            opinion.delivery_error = error
            opinion.delivery_status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
        opinion.save(
            update_fields=[
                "delivery_status",
                "delivery_attempts",
                "delivery_error",
                "delivered_at",
                "delivered_location",
            ]
        )
        return not error
