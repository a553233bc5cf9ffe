"""The on-demand record view (调阅): a patient's record fetched live from their site, or the synced copy.

The site is asked for ``Patient/[id]/$everything`` with a short timeout; when it is slow, down or
refuses, the hub answers with the copy it last synced and says how old that is. Answers are cached
briefly so that a specialist paging through a referral does not call the county site each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from federation.sites.sync_config import SiteSync
from federation.sync.client import RetryPolicy, SiteUnavailable, json_fetch, site_client
from federation.sync.records import hub_copy
from fhir_gateway import services
from fhir_gateway.context import Actor
from fhir_gateway.models import Resource

CACHE_SECONDS = 60
LIVE, CACHED, SYNCED = "live", "cache", "synced"


@dataclass
class RecordView:
    source: str  # live | cache | synced
    as_of: datetime
    resources: list[dict]
    note: str = ""

    def age_seconds(self, now: datetime | None = None) -> float:
        return round(((now or timezone.now()) - self.as_of).total_seconds(), 1)

    def bundle(self) -> dict:
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": self.as_of.isoformat(),
            "meta": {"tag": [{"system": "https://alliance.example/fhir/CodeSystem/record-view", "code": self.source}]},
            "entry": [{"resource": r} for r in self.resources],
        }


def _source_id(patient: dict) -> str | None:
    """The Patient's id at its site, read back from ``meta.source``."""
    source = (patient.get("meta") or {}).get("source") or ""
    tail = source.split("#", 1)[1] if "#" in source else source
    parts = tail.split("/_history/")[0].split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == "Patient" else None


def _synced(patient: dict, site: str, sync: SiteSync | None) -> RecordView:
    reference = {"reference": f"Patient/{patient['id']}"}
    rows = Resource.objects.filter(owner=site, deleted=False, content__subject=reference).order_by("resource_type")
    newest = Resource.objects.filter(resource_type="Patient", fhir_id=patient["id"]).values_list(
        "last_updated", flat=True
    )
    as_of = sync.last_success_at if sync and sync.last_success_at else newest.first() or timezone.now()
    return RecordView(source=SYNCED, as_of=as_of, resources=[patient] + [r.content for r in rows])


def patient_record_view(*, patient_id: str, actor: Actor, timeout: float | None = None) -> RecordView:
    # Reading the hub's copy first runs the gateway's access policies: no record view for those who may not see it.
    patient = services.resource_read(resource_type="Patient", fhir_id=patient_id, actor=actor)
    key = f"federation:record-view:{patient_id}"
    cached = cache.get(key)
    if cached is not None:
        return RecordView(source=CACHED, as_of=cached["as_of"], resources=cached["resources"], note=cached["source"])
    site = next(
        (
            t["code"]
            for t in (patient.get("meta") or {}).get("tag") or []
            if t.get("system", "").endswith("source-site")
        ),
        "",
    )
    sync = SiteSync.objects.filter(site__code=site).first() if site else None
    source_id = _source_id(patient)
    if sync is None or source_id is None:
        return _synced(patient, site, sync)
    timeout = timeout if timeout is not None else getattr(settings, "FEDERATION_RECORD_VIEW_TIMEOUT", 5.0)
    url = f"{sync.base_url.rstrip('/')}/Patient/{source_id}/$everything"
    try:
        with site_client(token=sync.bearer_token, timeout=timeout) as client:
            body = json_fetch(client, url, policy=RetryPolicy(retries=0)).body
        resources = [e["resource"] for e in body.get("entry") or [] if isinstance(e.get("resource"), dict)]
        if not resources:
            raise SiteUnavailable("the site does not know this patient any more")
    except SiteUnavailable as error:
        view = _synced(patient, site, sync)
        view.note = str(error)
        return view
    view = RecordView(
        source=LIVE, as_of=timezone.now(), resources=[hub_copy(r, site=site, base_url=sync.base_url) for r in resources]
    )
    cache.set(key, {"as_of": view.as_of, "resources": view.resources, "source": LIVE}, CACHE_SECONDS)
    return view
