"""Records deleted at a site are deleted at the hub too, history and provenance kept.

A site whose CapabilityStatement offers type-level history (``history-type``) tells the hub of its
deletions: ``GET [type]/_history?_since=<cursor>`` and its ``DELETE`` entries
(http://hl7.org/fhir/R4/http.html#history). A site without it is reconciled now and then
(``SiteSync.reconcile_seconds``): the ids it lists are compared with the records the hub pulled from
it, and the hub's copies of the missing ones are deleted. A reconciliation that would delete more than
``FEDERATION_SYNC["reconcile_max_share"]`` of a type's records (a site restored from an old backup, a
misconfigured endpoint) deletes nothing and reports it; ``manage.py site_reconcile --force`` does it
once confirmed. A listing that fails part way deletes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from federation.identity.services import patient_forget
from federation.sites.sync_config import SiteSync
from federation.sync.client import RetryPolicy, SiteUnavailable, json_fetch
from federation.sync.models import SyncCursor
from federation.sync.records import hub_id
from fhir_gateway import public, services
from fhir_gateway.public import instant

logger = logging.getLogger(__name__)


@dataclass
class DeletionResult:
    deleted: int = 0
    refused: str = ""  # why a reconciliation deleted nothing


def site_offers_history(capabilities: dict, resource_type: str) -> bool:
    for rest in capabilities.get("rest") or []:
        for resource in rest.get("resource") or []:
            if resource.get("type") == resource_type:
                return any(i.get("code") == "history-type" for i in resource.get("interaction") or [])
    return False


def capabilities_fetch(client, sync: SiteSync, policy: RetryPolicy) -> dict:
    """The site's CapabilityStatement, or ``{}`` when it has none to give."""
    try:
        fetched = json_fetch(client, f"{sync.base_url.rstrip('/')}/metadata", policy=policy)
    except SiteUnavailable:
        return {}
    body = fetched.body
    return body if isinstance(body, dict) and body.get("resourceType") == "CapabilityStatement" else {}


def _max_share() -> float:
    return float((getattr(settings, "FEDERATION_SYNC", {}) or {}).get("reconcile_max_share", 0.2))


def records_delete(*, sync: SiteSync, resource_type: str, source_ids: list[str], reason: str) -> int:
    """Delete the hub's copies of ``source_ids`` with one Provenance naming the site; the number deleted."""
    from federation.sync.intake import hub_base_url, sync_actor

    site = sync.site.code
    ids = [hub_id(site, source_id) for source_id in source_ids]
    present = public.current_ids_owned(resource_type=resource_type, owner=site, fhir_ids=ids)
    if not present:
        return 0
    entries = [{"request": {"method": "DELETE", "url": f"{resource_type}/{fhir_id}"}} for fhir_id in present]
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": f"{resource_type}/{fhir_id}"} for fhir_id in present],
        "recorded": datetime.now(UTC).isoformat(),
        "activity": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "DELETE"}]
        },
        "reason": [{"text": reason}],
        "agent": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                     "code": "author"}]},
                "who": {"display": site},
            }
        ],
        "entity": [{"role": "source", "what": {"display": sync.base_url}}],
    }  # fmt: skip
    entries.append({"resource": provenance, "request": {"method": "POST", "url": "Provenance"}})
    with transaction.atomic():
        services.bundle_process(
            bundle={"resourceType": "Bundle", "type": "transaction", "entry": entries},
            actor=sync_actor(site),
            base_url=hub_base_url(),
        )
        if resource_type == "Patient":
            for fhir_id in present:
                patient_forget(patient_id=fhir_id, actor=f"sync:{site}", reason=reason)
    return len(present)


def deletions_from_history(*, client, sync: SiteSync, cursor: SyncCursor, policy: RetryPolicy) -> int:
    """Follow the site's history of one type from the deletion cursor; delete what it deleted."""
    resource_type = cursor.resource_type
    if not cursor.deletions_since:
        # The first sync copied what exists; only later deletions matter. Start from the newest change it saw
        # (the site's own clock), else a little before now; a deletion seen twice deletes nothing twice.
        cursor.deletions_since = cursor.since or instant(timezone.now() - timedelta(minutes=5))
        cursor.save(update_fields=["deletions_since", "updated_at"])
    query = {"_since": cursor.deletions_since, "_count": str(sync.page_size)}
    url: str | None = f"{sync.base_url.rstrip('/')}/{resource_type}/_history?{urlencode(query)}"
    deleted = 0
    while url:
        fetched = json_fetch(client, url, policy=policy)
        bundle = fetched.body
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise SiteUnavailable("the site answered a history request with something other than a Bundle")
        gone, newest = [], cursor.deletions_since
        for entry in bundle.get("entry") or []:
            if not isinstance(entry, dict):
                continue
            request = entry.get("request") or {}
            moment = (entry.get("response") or {}).get("lastModified") or ""
            if isinstance(moment, str) and moment > newest:
                newest = moment
            if request.get("method") == "DELETE" and isinstance(request.get("url"), str):
                rtype, _sep, source_id = request["url"].partition("/")
                if rtype == resource_type and source_id:
                    gone.append(source_id.split("/", 1)[0])
        with transaction.atomic():
            if gone:
                deleted += records_delete(
                    sync=sync, resource_type=resource_type, source_ids=gone, reason="deleted at the site"
                )
            if newest != cursor.deletions_since:
                cursor.deletions_since = newest
                cursor.save(update_fields=["deletions_since", "updated_at"])
        url = _next(bundle, sync.base_url)
    return deleted


def _next(bundle: dict, base_url: str) -> str | None:
    for link in bundle.get("link") or []:
        if link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"] if link["url"].startswith(base_url.rstrip("/") + "/") else None
    return None


def site_ids_list(*, client, sync: SiteSync, resource_type: str, policy: RetryPolicy) -> set[str]:
    """Every id of ``resource_type`` the site holds now (raises ``SiteUnavailable`` when the listing fails)."""
    query = {"_elements": "id", "_count": str(sync.page_size)}
    url: str | None = f"{sync.base_url.rstrip('/')}/{resource_type}?{urlencode(query)}"
    ids: set[str] = set()
    while url:
        bundle = json_fetch(client, url, policy=policy).body
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise SiteUnavailable("the site answered a search with something other than a Bundle")
        for entry in bundle.get("entry") or []:
            resource = (entry or {}).get("resource") or {}
            if resource.get("resourceType") == resource_type and isinstance(resource.get("id"), str):
                ids.add(resource["id"])
        url = _next(bundle, sync.base_url)
    return ids


def reconcile(
    *, client, sync: SiteSync, resource_type: str, policy: RetryPolicy, force: bool = False
) -> DeletionResult:
    """Delete the hub's copies of records of ``resource_type`` the site no longer lists."""
    at_site = site_ids_list(client=client, sync=sync, resource_type=resource_type, policy=policy)
    prefix = f"{sync.base_url.rstrip('/')}/{resource_type}/"
    pulled = {}
    for source in public.sources_owned(resource_type=resource_type, owner=sync.site.code, source_prefix=prefix):
        source_id = source[len(prefix) :].split("/", 1)[0]
        pulled[source_id] = source
    missing = sorted(set(pulled) - at_site)
    result = DeletionResult()
    if not missing:
        return result
    share = len(missing) / max(len(pulled), 1)
    if share > _max_share() and not force:
        result.refused = (
            f"reconciliation of {resource_type} would delete {len(missing)} of {len(pulled)} records "
            f"({share:.0%}); nothing deleted: confirm with manage.py site_reconcile --site {sync.site.code} "
            f"--type {resource_type} --force"
        )
        logger.warning("site %s: %s", sync.site.code, result.refused)
        return result
    result.deleted = records_delete(
        sync=sync, resource_type=resource_type, source_ids=missing, reason="no longer held by the site"
    )
    return result


def reconcile_due(sync: SiteSync) -> bool:
    if not sync.reconcile_seconds:
        return False
    return (
        sync.last_reconciled_at is None
        or sync.last_reconciled_at + timedelta(seconds=sync.reconcile_seconds) <= timezone.now()
    )
