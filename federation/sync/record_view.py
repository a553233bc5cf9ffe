"""The on-demand record view (调阅): a patient's record fetched live from their site, or the synced copy.

The site is asked for ``Patient/[id]/$everything`` with a short timeout; when it is slow, down or
refuses, the hub answers with the copy it last synced and says how old that is. Answers are cached
briefly so that a specialist paging through a referral does not call the county site each time.

Which site is called, and for which of its patients, comes only from the hub's own records: the site that
owns the hub's copy and the source its own feed (the sync engine, or the site's system pushing) stamped on
it. What the Patient's content says of its origin (``meta.source``, a source-site tag) is never trusted: a
user could have written it. Everything is read as the caller, through the gateway: its access rules decide,
and the view (the live fetch included) is audited as a ``$record-view`` of the Patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from federation.sites.sync_config import SiteSync
from federation.sync.client import RetryPolicy, SiteUnavailable, json_fetch, site_client
from federation.sync.records import hub_copy, hub_id
from fhir_gateway import services
from fhir_gateway.context import REQUEST, SYNC, SYSTEM, Actor, Interaction
from fhir_gateway.interactions import interaction_scope
from fhir_gateway.public import feed_origin, owner_of
from fhir_gateway.visibility import COMPARTMENT_EXCLUDED

CACHE_SECONDS = 60
LIVE, CACHED, SYNCED = "live", "cache", "synced"
OPERATION = "$record-view"


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


def cache_key(site: str, source_id: str) -> str:
    """Where a live answer is cached (reached only after the gateway let the caller read the Patient)."""
    return f"federation:record-view:{site}:{source_id}"


def source_id_of(*, patient_id: str, site: str, source: str, sync: SiteSync) -> str | None:
    """The Patient's id at ``site``, from the source the site's own feed stamped (pulled: ``<base>/Patient/<id>
    [/_history/<v>]``; pushed: ``urn:alliance:site:<site>#Patient/<id>``), when it names this very record."""
    pulled = f"{sync.base_url.rstrip('/')}/Patient/"
    pushed = f"urn:alliance:site:{site}#Patient/"
    for prefix in (pulled, pushed):
        if source.startswith(prefix):
            candidate = source[len(prefix) :].split("/_history/")[0]
            if candidate and "/" not in candidate and hub_id(site, candidate) == patient_id:
                return candidate
    return None


def _synced(*, patient_id: str, actor: Actor, sync: SiteSync | None) -> RecordView:
    """The hub's copy, as the caller may see it (every record of the patient's compartment it may read)."""
    bundle = services.patient_everything(
        fhir_id=patient_id, params=[("_count", "1000")], actor=actor, base_url=settings.FEDERATION_HUB_BASE_URL
    )
    resources = [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") not in COMPARTMENT_EXCLUDED
    ]
    patient = next((r for r in resources if r.get("resourceType") == "Patient" and r.get("id") == patient_id), None)
    others = [r for r in resources if r is not patient]
    as_of = sync.last_success_at if sync and sync.last_success_at else timezone.now()
    if patient is not None and not (sync and sync.last_success_at):
        as_of = datetime.fromisoformat(patient["meta"]["lastUpdated"].replace("Z", "+00:00"))
    return RecordView(source=SYNCED, as_of=as_of, resources=([patient] if patient else []) + others)


def patient_record_view(*, patient_id: str, actor: Actor, timeout: float | None = None) -> RecordView:
    interaction = Interaction(
        actor=actor, action="operation", resource_type="Patient", fhir_id=patient_id, operation=OPERATION
    )
    with interaction_scope(interaction) as scope:
        scope.authorize(None, REQUEST)
        # Reading the hub's copy first runs the gateway's access rules: no view for those who may not see it.
        patient = services.resource_read(resource_type="Patient", fhir_id=patient_id, actor=actor)
        view = _view(patient_id=patient_id, actor=actor, timeout=timeout)
        interaction.detail["record_source"] = view.source
        # Whose patient it is, for the audit trail (the site's administrators review who viewed it).
        interaction.detail["owner"] = owner_of(resource_type="Patient", fhir_id=patient_id) or ""
        scope.done(200, patient)
        return view


def _view(*, patient_id: str, actor: Actor, timeout: float | None) -> RecordView:
    origin = feed_origin(resource_type="Patient", fhir_id=patient_id, kinds=(SYNC, SYSTEM))
    site, source = origin if origin is not None else ("", "")
    sync = SiteSync.objects.filter(site__code=site).first() if site else None
    source_id = source_id_of(patient_id=patient_id, site=site, source=source, sync=sync) if sync else None
    if sync is None or source_id is None:
        return _synced(patient_id=patient_id, actor=actor, sync=sync)
    key = cache_key(site, source_id)
    cached = cache.get(key)
    if cached is not None:
        return RecordView(source=CACHED, as_of=cached["as_of"], resources=cached["resources"], note=cached["source"])
    timeout = timeout if timeout is not None else getattr(settings, "FEDERATION_RECORD_VIEW_TIMEOUT", 5.0)
    url = f"{sync.base_url.rstrip('/')}/Patient/{source_id}/$everything"
    try:
        with site_client(token=sync.bearer_token, timeout=timeout) as client:
            body = json_fetch(client, url, policy=RetryPolicy(retries=0)).body
        resources = [e["resource"] for e in body.get("entry") or [] if isinstance(e.get("resource"), dict)]
        if not resources:
            raise SiteUnavailable("the site does not know this patient any more")
    except SiteUnavailable as error:
        view = _synced(patient_id=patient_id, actor=actor, sync=sync)
        view.note = str(error)
        return view
    view = RecordView(
        source=LIVE, as_of=timezone.now(), resources=[hub_copy(r, site=site, base_url=sync.base_url) for r in resources]
    )
    cache.set(key, {"as_of": view.as_of, "resources": view.resources, "source": LIVE}, CACHE_SECONDS)
    return view
